/* Regression tests for the reliability findings of issue 17: every reader bounds what a header
 * declares by what the file holds before allocating (checkpoints, detector files, NPY, IDX raw and
 * gzip, safetensors, CSV class counts), the ARFF reader is linear in names and nominal values, a
 * killed writer's temporary file is cleaned up by the next write, and the Gaussian detectors name a
 * zero-variance fit. Each test crafts its bad file itself. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>
#include <ebood/safetensors.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test_util.h"

/* ---- an allocator that records the largest request and can fail from the n-th call on ---------- */

typedef struct counting_alloc {
    size_t largest;
    long calls, fail_from; /* fail_from = 0: never fail */
} counting_alloc;

static void *counting_malloc(size_t size, void *ctx) {
    counting_alloc *c = ctx;
    c->calls++;
    if (size > c->largest) c->largest = size;
    if (c->fail_from && c->calls >= c->fail_from) return NULL;
    return eb_alloc(NULL, size);
}

static void counting_free(void *ptr, void *ctx) {
    (void)ctx;
    eb_free(NULL, ptr);
}

static eb_allocator counting(counting_alloc *c) { return (eb_allocator){counting_malloc, counting_free, c}; }

/* ---- finding 1: a checkpoint's declared architecture is checked against its tensors first ------- */

/* Writes `src`'s tensors with its metadata, except ebood.config replaced by `config`. */
static void rewrite_config(const char *src, const char *dst, const char *config, bool keep_tensors) {
    eb_safetensors *f = NULL;
    cr_assert_eq(eb_safetensors_read(src, &f, NULL), EB_OK);
    int n = eb_safetensors_count(f), n_meta = eb_safetensors_meta_count(f);
    eb_st_tensor *t = calloc((size_t)n + 1, sizeof *t);
    eb_st_meta *m = calloc((size_t)n_meta, sizeof *m);
    for (int i = 0; i < n; i++) t[i] = *eb_safetensors_at(f, i);
    for (int i = 0; i < n_meta; i++) {
        m[i] = *eb_safetensors_meta_at(f, i);
        if (strcmp(m[i].key, "ebood.config") == 0) m[i].value = config;
    }
    cr_assert_eq(eb_safetensors_write(dst, t, keep_tensors ? n : 0, m, n_meta, NULL), EB_OK);
    free(t);
    free(m);
    eb_safetensors_free(f);
}

Test(checkpoint, huge_declared_mlp_fails_before_allocating) {
    char small[512], bad[512];
    eb_mlp_config c = eb_mlp_default_config(4, 2);
    c.n_hidden = 2;
    c.hidden[0] = c.hidden[1] = 8;
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_model *m = NULL;
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, NULL), EB_OK);
    cr_assert_eq(eb_model_save(m, eb_test_path(small, sizeof small, "small.st"), NULL, 0, NULL), EB_OK);
    eb_model_free(m);
    /* the probe's 3.5 KB checkpoint declaring 20000 × 20000 hidden units (3.1 GB before the error) */
    rewrite_config(small, eb_test_path(bad, sizeof bad, "huge_mlp.st"),
                   "{\"in_dim\":4,\"out_dim\":2,\"hidden\":[20000,20000],\"activation\":\"leaky_relu\","
                   "\"activation_param\":0.01,\"dropout\":0}",
                   true);
    counting_alloc ca = {0};
    eb_allocator a = counting(&ca);
    eb_error err = {0};
    eb_status st = eb_model_load(bad, &a, &m, &err);
    cr_assert_eq(st, EB_ERR_SHAPE, "%s", err.message);
    cr_assert(m == NULL);
    cr_assert(strstr(err.message, bad) && strstr(err.message, "layers.0.weight") &&
                  strstr(err.message, "[20000, 4]"),
              "%s", err.message);
    cr_assert_lt(ca.largest, (size_t)1 << 20, "allocated %zu bytes before the shape check", ca.largest);
    /* the good file still loads through the same allocator */
    cr_assert_eq(eb_model_load(small, &a, &m, &err), EB_OK, "%s", err.message);
    eb_model_free(m);
    remove(small);
    remove(bad);
}

Test(checkpoint, header_only_wide_resnet_fails_before_allocating) {
    char path[512];
    char version[16];
    snprintf(version, sizeof version, "%d", EB_CHECKPOINT_FORMAT_VERSION);
    const eb_st_meta meta[] = {
        {"ebood.format_version", version},
        {"ebood.model", "wrn"},
        {"ebood.config", "{\"channels\":3,\"height\":32,\"width\":32,\"num_classes\":10,\"depth\":100,"
                         "\"widen\":12,\"dropout\":0}"},
    };
    cr_assert_eq(
        eb_safetensors_write(eb_test_path(path, sizeof path, "wrn_header.st"), NULL, 0, meta, 3, NULL),
        EB_OK);
    counting_alloc ca = {0};
    eb_allocator a = counting(&ca);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_model_load(path, &a, &m, &err), EB_ERR_FORMAT, "%s", err.message);
    cr_assert(strstr(err.message, "no tensor named 'conv1.weight'"), "%s", err.message);
    cr_assert_lt(ca.largest, (size_t)1 << 20, "allocated %zu bytes before the tensor check", ca.largest);
    remove(path);
}

/* ---- finding 2: the out-of-memory message keeps the size, and a load names the file ------------- */

Test(checkpoint, out_of_memory_messages_name_size_and_file) {
    eb_mlp_config c = eb_mlp_default_config(4, 2);
    c.n_hidden = 1;
    c.hidden[0] = 8;
    counting_alloc ca = {.fail_from = 2}; /* the model struct succeeds, the parameter block fails */
    eb_allocator a = counting(&ca);
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, &a, &m, &err), EB_ERR_NOMEM);
    cr_assert(strstr(err.message, "out of memory for 2 x 80 floats"), "%s", err.message);

    char path[512];
    ca = (counting_alloc){0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, NULL), EB_OK);
    cr_assert_eq(eb_model_save(m, eb_test_path(path, sizeof path, "oom.st"), NULL, 0, NULL), EB_OK);
    eb_model_free(m);
    ca = (counting_alloc){.fail_from = 2};
    cr_assert_eq(eb_model_load(path, &a, &m, &err), EB_ERR_NOMEM);
    cr_assert(strstr(err.message, path) && strstr(err.message, "out of memory for 2 x 80 floats"), "%s",
              err.message);
    remove(path);
}

/* ---- finding 3: a numeric CSV label is a class index below EB_MAX_CLASSES ---------------------- */

Test(csv, huge_label_is_refused) {
    char path[512];
    eb_test_path(path, sizeof path, "huge_label.csv");
    FILE *fp = fopen(path, "w");
    fprintf(fp, "a,b,label\n");
    for (int i = 0; i < 40; i++) fprintf(fp, "%d,%d,%d\n", i, i % 3, i == 17 ? 50000000 : i % 2);
    fclose(fp);
    eb_dataset d;
    eb_error err = {0};
    cr_assert_eq(eb_csv_read_dataset(path, -1, &d, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "line 19") && strstr(err.message, "'50000000'") &&
                  strstr(err.message, "[0, 100000)"),
              "%s", err.message);
    remove(path);
}

/* ---- finding 4: ARFF names and nominal values through a hash index ------------------------------ */

/* 20000 attributes and a nominal attribute of 20000 values (the quadratic reader took seconds). */
static void write_wide_arff(const char *path, const char *last_name, const char *last_value) {
    FILE *fp = fopen(path, "w");
    fprintf(fp, "@relation wide\n");
    for (int i = 0; i < 20000; i++) fprintf(fp, "@attribute a%d numeric\n", i);
    fprintf(fp, "@attribute %s {", last_name);
    for (int i = 0; i < 20000; i++) fprintf(fp, "%sv%d", i ? "," : "", i);
    fprintf(fp, ",%s}\n@data\n", last_value);
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < 20000; i++) fprintf(fp, "%d,", r + i % 5);
        fprintf(fp, "v%d\n", 19999 - r * 7000);
    }
    fclose(fp);
}

Test(arff, many_attributes_and_nominal_values) {
    char path[512];
    eb_test_path(path, sizeof path, "wide.arff");
    write_wide_arff(path, "class", "extra");
    eb_arff a;
    eb_error err = {0};
    cr_assert_eq(eb_arff_read(path, &a, &err), EB_OK, "%s", err.message);
    cr_assert_eq(a.num_attributes, 20001);
    cr_assert_eq(a.attributes[20000].num_values, 20001);
    cr_assert_eq(eb_arff_find_attribute(&a, "a12345"), 12345);
    for (int r = 0; r < 3; r++) cr_assert_eq(a.values[r * 20001 + 20000], 19999 - r * 7000);
    cr_assert_eq(a.values[2 * 20001 + 4], 2 + 4);
    eb_arff_free(&a);

    write_wide_arff(path, "a777", "extra");
    cr_assert_eq(eb_arff_read(path, &a, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "line 20002: duplicate attribute name 'a777'"), "%s", err.message);
    write_wide_arff(path, "class", "v123");
    cr_assert_eq(eb_arff_read(path, &a, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "duplicate nominal value 'v123'"), "%s", err.message);
    remove(path);
}

/* ---- finding 5 and item 2: IDX headers are bounded by the file before reading ------------------ */

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX images header N × H × W followed by `data` bytes of zeros, optionally wrapped in a gzip
 * member of one stored deflate block (no compression; CRC and size left 0: only the header is read). */
static size_t idx_images(unsigned char *buf, uint32_t n, uint32_t h, uint32_t w, size_t data, bool gz) {
    unsigned char raw[16 + 256] = {0, 0, 0x08, 3};
    put_be32(raw + 4, n);
    put_be32(raw + 8, h);
    put_be32(raw + 12, w);
    size_t len = 16 + data;
    if (!gz) {
        memcpy(buf, raw, len);
        return len;
    }
    static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(buf, head, 10);
    buf[10] = 1; /* BFINAL, stored */
    buf[11] = (unsigned char)len;
    buf[12] = (unsigned char)(len >> 8);
    buf[13] = (unsigned char)~len;
    buf[14] = (unsigned char)(~len >> 8);
    memcpy(buf + 15, raw, len);
    memset(buf + 15 + len, 0, 8);
    return 15 + len + 8;
}

Test(idx, declared_size_is_bounded_by_the_file) {
    char path[512];
    unsigned char buf[512];
    eb_image_set s;
    eb_error err = {0};
    eb_test_path(path, sizeof path, "claims.idx");
    /* 2^40 pixels declared (65536 × 65536 × 256) in a 16-byte plain file */
    cr_assert_eq(eb_test_write_file(path, buf, idx_images(buf, 256, 65536, 65536, 0, false)), 0);
    cr_assert_eq(eb_idx_read_images(path, &s, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "expected 1099511627776 bytes, got 0"), "%s", err.message);
    /* the same in a 39-byte gzip file: refused without inflating */
    cr_assert_eq(eb_test_write_file(path, buf, idx_images(buf, 256, 65536, 65536, 0, true)), 0);
    cr_assert_eq(eb_idx_read_images(path, &s, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "declares 1099511627776 bytes, more than a 39-byte gzip file can hold"),
              "%s", err.message);
    /* a truthful gzip header: its shape is read without the data (the CLI refuses a wrong shape here) */
    cr_assert_eq(eb_test_write_file(path, buf, idx_images(buf, 3, 8, 10, 240, true)), 0);
    int64_t n = 0;
    int h = 0, w = 0;
    cr_assert_eq(eb_idx_read_image_shape(path, &n, &h, &w, &err), EB_OK, "%s", err.message);
    cr_assert(n == 3 && h == 8 && w == 10);
    remove(path);
}

/* ---- item 2: NPY and safetensors headers claiming 2^40 elements -------------------------------- */

static void write_npy_header(const char *path, const char *shape, size_t data_bytes) {
    char dict[128];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    int total = (10 + len + 1 + 63) / 64 * 64;
    FILE *fp = fopen(path, "wb");
    fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
    unsigned char hl[2] = {(unsigned char)(total - 10), (unsigned char)((total - 10) >> 8)};
    fwrite(hl, 1, 2, fp);
    fprintf(fp, "%s%*s\n", dict, total - 10 - len - 1, "");
    for (size_t i = 0; i < data_bytes; i++) fputc(0, fp);
    fclose(fp);
}

Test(npy, huge_or_overflowing_shape) {
    char path[512];
    eb_npy_array a;
    eb_error err = {0};
    write_npy_header(eb_test_path(path, sizeof path, "huge.npy"), "(1048576, 1048576)", 16);
    cr_assert_eq(eb_npy_read(path, &a, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "expected 4398046511104 bytes, got 16"), "%s", err.message);
    write_npy_header(path, "(4294967296, 4294967296)", 24);
    cr_assert_eq(eb_npy_read(path, &a, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "overflows 64 bits") && !strstr(err.message, "18446744073709551615"), "%s",
              err.message);
    remove(path);
}

Test(safetensors, huge_declared_tensor) {
    char path[512];
    const char header[] =
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[1048576,1048576],\"data_offsets\":[0,4398046511104]}}";
    unsigned char buf[256] = {0};
    buf[0] = (unsigned char)(sizeof header - 1);
    memcpy(buf + 8, header, sizeof header - 1);
    cr_assert_eq(
        eb_test_write_file(eb_test_path(path, sizeof path, "huge.st"), buf, 8 + sizeof header - 1 + 16), 0);
    eb_safetensors *f = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_safetensors_read(path, &f, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "go beyond the 16-byte data buffer"), "%s", err.message);
    remove(path);
}

/* ---- finding 6: a killed writer's temporary file is removed by the next write ------------------ */

Test(atomic, stale_temporaries_are_removed) {
    char out[512], stale[600], live[600];
    eb_test_path(out, sizeof out, "atomic.npy");
    pid_t child = fork();
    if (child == 0) _exit(0);
    cr_assert_gt(child, 0);
    waitpid(child, NULL, 0); /* a pid that no longer runs, as after kill -9 */
    snprintf(stale, sizeof stale, "%s.tmp.%ld", out, (long)child);
    snprintf(live, sizeof live, "%s.tmp.%ld", out, (long)getppid()); /* a writer still at work */
    cr_assert_eq(eb_test_write_file(stale, "half", 4), 0);
    cr_assert_eq(eb_test_write_file(live, "busy", 4), 0);
    const float x[2] = {1.0f, 2.0f};
    eb_error err = {0};
    cr_assert_eq(eb_npy_write(out, EB_DTYPE_F32, 1, (int64_t[]){2}, x, &err), EB_OK, "%s", err.message);
    cr_assert(!eb_test_file_exists(stale), "the dead writer's %s is still there", stale);
    cr_assert(eb_test_file_exists(live), "a running writer's temporary file was removed");
    cr_assert(eb_test_file_exists(out));
    remove(live);
    remove(out);
}

/* ---- finding 7: zero-variance Gaussian fits are named errors; notes say what applies ----------- */

static eb_status fit(eb_detector_kind kind, float shrinkage, const float *x, const int32_t *y, int64_t n,
                     int64_t dim, eb_detector **d, eb_error *err) {
    eb_detector_params p = eb_detector_default_params(kind);
    p.shrinkage = shrinkage;
    cr_assert_eq(eb_detector_new(kind, &p, d, NULL), EB_OK);
    eb_detector_data train = {.n = n, .features = x, .dim = dim, .labels = y, .n_classes = 2};
    return eb_detector_fit(*d, &train, NULL, err);
}

Test(gaussian, zero_variance_and_constant_features) {
    enum { N = 40, D = 3 };
    float x[N * D];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % 2;
        for (int j = 0; j < D; j++) x[i * D + j] = 0.5f;
    }
    const eb_detector_kind kinds[] = {EB_DETECTOR_GMM, EB_DETECTOR_MAHALANOBIS};
    for (int k = 0; k < 2; k++) {
        eb_detector *d = NULL;
        eb_error err = {0};
        /* every feature constant: no Gaussian fits */
        cr_assert_eq(fit(kinds[k], 0.0f, x, y, N, D, &d, &err), EB_ERR_NUMERIC);
        cr_assert(strstr(err.message, "zero variance"), "%s", err.message);
        eb_detector_free(d);
        /* one sample per class: the same */
        cr_assert_eq(fit(kinds[k], 0.0f, x, y, 2, D, &d, &err), EB_ERR_NUMERIC);
        cr_assert(strstr(err.message, "zero variance"), "%s", err.message);
        eb_detector_free(d);
    }
    /* one constant feature among varying ones (0, so that it stays constant after gmm's L2
     * normalisation): a ridge, and a note saying so (gmm's 1e-12 ridge used to hide it: scores ≈ −1e12) */
    for (int i = 0; i < N; i++) {
        x[i * D] = (float)(i % 7) + 0.25f * (float)y[i];
        x[i * D + 1] = (float)(i % 5);
        x[i * D + 2] = 0.0f;
    }
    for (int k = 0; k < 2; k++) {
        eb_detector *d = NULL;
        eb_error err = {0};
        cr_assert_eq(fit(kinds[k], 0.0f, x, y, N, D, &d, &err), EB_OK, "%s", err.message);
        cr_assert(strstr(eb_detector_note(d), "ridge"), "%s note: '%s'", eb_detector_kind_name(kinds[k]),
                  eb_detector_note(d));
        float s[N];
        eb_detector_data all = {.n = N, .features = x, .dim = D};
        cr_assert_eq(eb_detector_score(d, &all, s, &err), EB_OK, "%s", err.message);
        for (int i = 0; i < N; i++) cr_assert(isfinite(s[i]) && s[i] > -1e9f, "score %g", (double)s[i]);
        eb_detector_free(d);
    }
    /* a note never suggests --shrinkage when shrinkage was given */
    for (int i = 0; i < N; i++)
        x[i * D + 2] = x[i * D];                     /* a duplicated feature: singular Σ, no zero diagonal */
    for (int i = 0; i < N; i++) x[i * D + 1] = 0.5f; /* and a constant one */
    eb_detector *d = NULL;
    eb_error err = {0};
    cr_assert_eq(fit(EB_DETECTOR_MAHALANOBIS, 0.0f, x, y, N, D, &d, &err), EB_OK, "%s", err.message);
    cr_assert(strstr(eb_detector_note(d), "consider --shrinkage"), "note: '%s'", eb_detector_note(d));
    eb_detector_free(d);
    cr_assert_eq(fit(EB_DETECTOR_MAHALANOBIS, 1e-12f, x, y, N, D, &d, &err), EB_OK, "%s", err.message);
    cr_assert(strstr(eb_detector_note(d), "ridge") && !strstr(eb_detector_note(d), "consider --shrinkage"),
              "note: '%s'", eb_detector_note(d));
    eb_detector_free(d);
}
