/* Fault injection (issue 17, item 3), sqlite's OOM loop: every malloc/calloc/realloc of the library is
 * wrapped (linked with -Wl,--wrap=…, tests/CMakeLists.txt); for N = 1, 2, … the N-th call fails, and the
 * whole path — read data, train steps, save, load, fit a detector, save, load, score — must return
 * EB_ERR_NOMEM with a message (no crash, no other status), leave no output file behind, and leak
 * nothing (LeakSanitizer in the ASan build). The loop ends at the first N the path no longer reaches.
 * Write failures: a write to /dev/full (ENOSPC on every write) must fail with EB_ERR_IO and leave the
 * old file intact. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <ebood/ebood.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ---- the failing allocator -------------------------------------------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static long calls, fail_at; /* fail_at = 0: never */
static int failed;

static bool inject(void) {
    if (fail_at && ++calls == fail_at) {
        failed++;
        return true;
    }
    return false;
}
void *__wrap_malloc(size_t size) { return inject() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t n, size_t size) { return inject() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t size) { return inject() ? NULL : __real_realloc(p, size); }

/* Fails the n-th allocation from now on (0: none); returns how many were failed since the last arm. */
static int arm(long n) {
    int was = failed;
    calls = 0;
    failed = 0;
    fail_at = n;
    return was;
}

/* ---- the paths --------------------------------------------------------------------------------- */

enum { ROWS = 48, DIM = 4, CLASSES = 3 };

static void make_data(float *x, int32_t *y) {
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    for (int i = 0; i < ROWS; i++) {
        y[i] = i % CLASSES;
        for (int j = 0; j < DIM; j++) x[i * DIM + j] = (float)eb_rng_normal(&rng) + (j == y[i] ? 2.0f : 0.0f);
    }
}

/* CSV → MLP → 3 training steps → save → load → predict. */
static eb_status model_path(const char *csv, const char *out, eb_error *err) {
    eb_dataset d;
    eb_status st = eb_csv_read_dataset(csv, -1, &d, err);
    if (st) return st;
    eb_mlp_config c = eb_mlp_default_config(d.dim, d.num_classes);
    c.n_hidden = 1;
    c.hidden[0] = 8;
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_model *m = NULL, *back = NULL;
    st = eb_mlp_new(&c, &rng, NULL, &m, err);
    eb_train_params p = eb_train_default_params();
    p.steps = 3;
    p.batch_size = 16;
    eb_train_result r;
    if (!st) st = eb_train(m, d.x, d.y, d.n, d.dim, eb_objective_cross_entropy, NULL, &p, &r, err);
    if (!st) st = eb_model_save(m, out, NULL, 0, err);
    if (!st) st = eb_model_load(out, NULL, &back, err);
    float logits[ROWS * CLASSES];
    if (!st) st = eb_model_predict(back, d.x, d.n, 16, logits, NULL, err);
    eb_model_free(m);
    eb_model_free(back);
    eb_dataset_free(&d);
    return st;
}

/* fit → save → load → score, for one detector kind on features + labels. */
static eb_status detector_path(eb_detector_kind kind, const float *x, const int32_t *y, const char *out,
                               eb_error *err) {
    eb_detector_params p = eb_detector_default_params(kind);
    if (kind == EB_DETECTOR_KNN) p.k = 3;
    eb_detector *d = NULL, *back = NULL;
    eb_status st = eb_detector_new(kind, &p, &d, err);
    eb_detector_data train = {.n = ROWS, .features = x, .dim = DIM, .labels = y, .n_classes = CLASSES};
    if (!st) st = eb_detector_fit(d, &train, NULL, err);
    if (!st) st = eb_detector_save(d, out, NULL, 0, err);
    if (!st) st = eb_detector_load(out, &back, err);
    float scores[ROWS];
    eb_detector_data test = {.n = ROWS, .features = x, .dim = DIM};
    if (!st) st = eb_detector_score(back, &test, scores, err);
    eb_detector_free(d);
    eb_detector_free(back);
    return st;
}

/* True if a "<out>.tmp.<pid>" file exists (a partial output). */
static bool temporary_left(const char *out) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    const char *name = out + (slash - dir) + 1;
    const size_t len = strlen(name);
    DIR *d = opendir(dir);
    bool found = false;
    for (const struct dirent *e; d && (e = readdir(d)) != NULL;)
        found |= strncmp(e->d_name, name, len) == 0 && strncmp(e->d_name + len, ".tmp.", 5) == 0;
    if (d) closedir(d);
    return found;
}

/* Runs `call` with the N-th allocation failing for N = 1, 2, … until a run needs fewer allocations.
 * A failed run may leave `out` only complete (`loads` succeeds on it: the failure came after the save),
 * never a temporary file. */
#define OOM_LOOP(out, call, loads)                                                                           \
    do {                                                                                                     \
        long n = 1;                                                                                          \
        for (;; n++) {                                                                                       \
            remove(out);                                                                                     \
            eb_error err = {0};                                                                              \
            arm(n);                                                                                          \
            eb_status st = (call);                                                                           \
            if (!arm(0)) {                                                                                   \
                cr_assert_eq(st, EB_OK, "with no failure injected: %s", err.message);                        \
                break;                                                                                       \
            }                                                                                                \
            if (st == EB_OK) continue; /* a failure the code may absorb (e.g. an optional cache) */          \
            cr_assert_eq(st, EB_ERR_NOMEM, "allocation %ld failed: status %d (%s), expected EB_ERR_NOMEM",   \
                         n, (int)st, err.message);                                                           \
            cr_assert(err.message[0], "allocation %ld failed: no message", n);                               \
            cr_assert(!eb_test_file_exists(out) || (loads) == EB_OK, "allocation %ld: partial %s", n, out);  \
            cr_assert(!temporary_left(out), "allocation %ld failed: a temporary file is left", n);           \
        }                                                                                                    \
        cr_assert_gt(n, 10, "the path made only %ld allocations: the wrapper is not active", n);             \
        remove(out);                                                                                         \
    } while (0)

Test(oom, model_train_save_load_predict) {
    char csv[512], out[512];
    eb_test_path(csv, sizeof csv, "oom.csv");
    eb_test_path(out, sizeof out, "oom_model.st");
    float x[ROWS * DIM];
    int32_t y[ROWS];
    make_data(x, y);
    FILE *fp = fopen(csv, "w");
    for (int i = 0; i < ROWS; i++)
        fprintf(fp, "%g,%g,%g,%g,%d\n", (double)x[i * DIM], (double)x[i * DIM + 1], (double)x[i * DIM + 2],
                (double)x[i * DIM + 3], y[i]);
    fclose(fp);
    eb_model *m = NULL;
    OOM_LOOP(out, model_path(csv, out, &err), (eb_model_load(out, NULL, &m, NULL) || (eb_model_free(m), 0)));
    remove(csv);
}

Test(oom, detectors_fit_save_load_score) {
    char out[512];
    eb_test_path(out, sizeof out, "oom_detector.st");
    float x[ROWS * DIM];
    int32_t y[ROWS];
    make_data(x, y);
    const eb_detector_kind kinds[] = {EB_DETECTOR_MAHALANOBIS, EB_DETECTOR_GMM, EB_DETECTOR_KNN};
    eb_detector *d = NULL;
    for (int k = 0; k < 3; k++)
        OOM_LOOP(out, detector_path(kinds[k], x, y, out, &err),
                 (eb_detector_load(out, &d, NULL) || (eb_detector_free(d), 0)));
}

/* ---- a full disk --------------------------------------------------------------------------------- */

Test(enospc, failed_write_keeps_the_old_file) {
    /* the atomic writer's temporary file is "<path>.tmp.<pid>": a symlink there to /dev/full makes every
     * write fail with ENOSPC, as on a full disk */
    char out[512], tmp[600];
    eb_test_path(out, sizeof out, "full.npy");
    const float old[3] = {1, 2, 3}, new_[3] = {4, 5, 6};
    cr_assert_eq(eb_npy_write(out, EB_DTYPE_F32, 1, (int64_t[]){3}, old, NULL), EB_OK);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    cr_assert_eq(symlink("/dev/full", tmp), 0, "symlink: %s", strerror(errno));
    eb_error err = {0};
    cr_assert_eq(eb_npy_write(out, EB_DTYPE_F32, 1, (int64_t[]){3}, new_, &err), EB_ERR_IO);
    cr_assert(strstr(err.message, out) && strstr(err.message, "No space left"), "%s", err.message);
    float *back = NULL;
    int64_t shape[8];
    int ndim = 0;
    cr_assert_eq(eb_npy_read_f32(out, &back, 1, shape, &ndim, NULL), EB_OK);
    cr_assert(shape[0] == 3 && back[0] == 1.0f && back[2] == 3.0f, "the old file changed");
    free(back);
    cr_assert(!eb_test_file_exists(tmp), "the temporary file is left behind");
    remove(out);
}
