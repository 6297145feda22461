/* The oneDNN conv2d backend (src/tensor/conv_dnnl.c) against the im2col + sgemm reference
 * (src/tensor/conv_impl.c, itself checked against PyTorch and float64 in test_conv_ops.c).
 *
 * For each geometry: random x, w, b, gy (uniform [−1, 1)); forward y and the three gradients gx, gw,
 * gb, each from gradient buffers PRE-FILLED with the same random values on both sides (the backends
 * accumulate), so a backend that overwrote instead of adding fails. Tolerance: the largest absolute
 * difference must be ≤ 1e-4 · max(1, max |reference|) of that array (relative to its scale: the sums
 * have up to C·kh·kw = 3,136 (forward, input gradient) or N·oh·ow = 5,120 (weight gradient) terms, and
 * the two backends add them in different orders). Also: the backend choice (EBOOD_CONV), the op on the
 * tape with either backend, the cache across thread counts and more geometries than it holds, and two
 * threads using the backend at once. Without oneDNN in the build, the oneDNN tests are skipped. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <criterion/criterion.h>

#include <ebood/base.h>
#include <ebood/tensor.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/conv_dnnl_impl.h"
#include "tensor/conv_impl.h"

#define TOL 1e-4

typedef struct geom_case {
    int64_t n, c, h, w, o, k, stride, pad;
    int64_t kw_, sw_, pw_; /* 0 = same as k / stride / pad (non-square cases set them) */
    bool bias;
} geom_case;

static eb__conv2d_geom make_geom(const geom_case *g) {
    eb__conv2d_geom s = {.n = g->n,
                         .c = g->c,
                         .h = g->h,
                         .w = g->w,
                         .o = g->o,
                         .kh = g->k,
                         .kw = g->kw_ ? g->kw_ : g->k,
                         .sh = g->stride,
                         .sw = g->sw_ ? g->sw_ : g->stride,
                         .ph = g->pad,
                         .pw = g->kw_ || g->sw_ || g->pw_ ? g->pw_ : g->pad};
    s.oh = (s.h + 2 * s.ph - s.kh) / s.sh + 1;
    s.ow = (s.w + 2 * s.pw - s.kw) / s.sw + 1;
    return s;
}

static const eb__conv2d_backend *dnnl_or_skip(void) {
    const eb__conv2d_backend *b = eb__conv2d_dnnl();
    if (!b) cr_skip_test("this build has no oneDNN");
    return b;
}

static float *rand_floats(eb_rng *r, int64_t n) {
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    cr_assert_not_null(v);
    eb_rng_fill_uniform(r, v, n, -1.0f, 1.0f);
    return v;
}

static float *copy_floats(const float *src, int64_t n) {
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    cr_assert_not_null(v);
    memcpy(v, src, sizeof(float) * (size_t)n);
    return v;
}

/* max |a − b| ≤ TOL · max(1, max |ref|) */
static void expect_close(const float *got, const float *ref, int64_t n, const char *what,
                         const eb__conv2d_geom *s) {
    double scale = 1.0, diff = 0.0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs((double)ref[i]));
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= diff)) { /* also catches NaN */
            diff = isnan(d) ? (double)INFINITY : d;
            at = i;
        }
    }
    cr_expect(diff <= TOL * scale,
              "%s: max |dnnl - ref| = %.3g at %lld (dnnl %.8g, ref %.8g; tolerance %.3g) for "
              "x[%lld,%lld,%lld,%lld] "
              "w[%lld,%lld,%lld,%lld] stride (%lld,%lld) pad (%lld,%lld)",
              what, diff, (long long)at, (double)got[at], (double)ref[at], TOL * scale, (long long)s->n,
              (long long)s->c, (long long)s->h, (long long)s->w, (long long)s->o, (long long)s->c,
              (long long)s->kh, (long long)s->kw, (long long)s->sh, (long long)s->sw, (long long)s->ph,
              (long long)s->pw);
}

/* Which gradients a case asks for; STORE_GX: gx starts as NaN and both backends store it (gx_store). */
enum { WANT_GX = 1, WANT_GW = 2, WANT_GB = 4, WANT_ALL = 7, STORE_GX = 8 };

/* Runs the reference and `be` on the same data and compares y and the wanted gradients. */
static void check_backend(const eb__conv2d_backend *be, const geom_case *gc, uint64_t seed, int want) {
    eb__conv2d_geom s = make_geom(gc);
    eb__conv2d_im2col_plan(&s, EB__CONV_IM2COL_WORKSPACE);
    const int64_t nx = s.n * s.c * s.h * s.w, nw = s.o * s.c * s.kh * s.kw, ny = s.n * s.o * s.oh * s.ow;
    eb_rng r;
    eb_rng_seed(&r, seed);
    float *x = rand_floats(&r, nx), *w = rand_floats(&r, nw), *b = gc->bias ? rand_floats(&r, s.o) : NULL;
    float *gy = rand_floats(&r, ny);
    float *gx0 = rand_floats(&r, nx), *gw0 = rand_floats(&r, nw), *gb0 = rand_floats(&r, s.o);
    const bool store = want & STORE_GX;
    if (store) /* a stored gx never reads its old contents: NaN there would show */
        for (int64_t i = 0; i < nx; i++) gx0[i] = NAN;
    float *y_ref = rand_floats(&r, ny), *y = rand_floats(&r, ny); /* garbage: forward must overwrite */
    float *gx_ref = copy_floats(gx0, nx), *gw_ref = copy_floats(gw0, nw), *gb_ref = copy_floats(gb0, s.o);
    float *gx = copy_floats(gx0, nx), *gw = copy_floats(gw0, nw), *gb = copy_floats(gb0, s.o);

    size_t ref_bytes = eb__conv2d_im2col.workspace_bytes(&s), be_bytes = be->workspace_bytes(&s);
    float *ref_ws = ref_bytes ? malloc(ref_bytes) : NULL, *be_ws = be_bytes ? malloc(be_bytes) : NULL;
    cr_assert(!ref_bytes || ref_ws);
    cr_assert(!be_bytes || be_ws);

    eb__conv2d_im2col.forward(&s, x, w, b, y_ref, ref_ws);
    be->forward(&s, x, w, b, y, be_ws);
    expect_close(y, y_ref, ny, "y", &s);

    const bool bx = want & WANT_GX, bw = want & WANT_GW, bb = (want & WANT_GB) && gc->bias;
    eb__conv2d_im2col.backward(&s, x, w, gy, bx ? gx_ref : NULL, store, bw ? gw_ref : NULL,
                               bb ? gb_ref : NULL, ref_ws);
    be->backward(&s, x, w, gy, bx ? gx : NULL, store, bw ? gw : NULL, bb ? gb : NULL, be_ws);
    /* unwanted gradients stay exactly as they were */
    expect_close(gx, bx ? gx_ref : gx0, nx, "gx (accumulated onto random values)", &s);
    expect_close(gw, bw ? gw_ref : gw0, nw, "gw (accumulated onto random values)", &s);
    expect_close(gb, bb ? gb_ref : gb0, s.o, "gb (accumulated onto random values)", &s);
    if (!bx) cr_expect_eq(memcmp(gx, gx0, sizeof(float) * (size_t)nx), 0, "gx was not wanted but changed");
    if (!bw) cr_expect_eq(memcmp(gw, gw0, sizeof(float) * (size_t)nw), 0, "gw was not wanted but changed");

    float *all[] = {x, w, b, gy, gx0, gw0, gb0, y_ref, y, gx_ref, gw_ref, gb_ref, gx, gw, gb, ref_ws, be_ws};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
}

/* The geometries of the brief: stride 1/2, pad 0/1/3, 1×1, 3×3, 7×7, C = 1/3/64, N = 1/5, with
 * and without bias, odd sizes, and the layers of the models (small CNN, ResNet-18, WRN stems). */
static const geom_case cases[] = {
    {1, 1, 8, 8, 4, 3, 1, 1, 0, 0, 0, false},
    {5, 1, 28, 28, 32, 3, 1, 1, 0, 0, 0, false},
    {5, 3, 32, 32, 16, 3, 1, 1, 0, 0, 0, true},
    {1, 3, 17, 13, 8, 3, 2, 1, 0, 0, 0, true},
    {5, 64, 8, 8, 64, 3, 1, 1, 0, 0, 0, false},
    {5, 64, 9, 9, 32, 3, 2, 1, 0, 0, 0, true},
    {5, 64, 8, 8, 128, 1, 2, 0, 0, 0, 0, false},
    {1, 64, 7, 7, 24, 1, 1, 0, 0, 0, 0, true},
    {5, 3, 23, 23, 16, 7, 2, 3, 0, 0, 0, true},
    {1, 64, 12, 12, 8, 7, 1, 0, 0, 0, 0, false},
    {5, 1, 10, 10, 5, 7, 1, 3, 0, 0, 0, true},
    {5, 32, 14, 14, 64, 3, 1, 1, 0, 0, 0, false},
    {1, 16, 11, 6, 12, 3, 1, 0, 0, 0, 0, true},
    {5, 3, 8, 8, 7, 1, 1, 0, 0, 0, 0, true},
    {5, 64, 6, 6, 64, 3, 1, 0, 0, 0, 0, false},
    {1, 5, 9, 12, 6, 3, 2, 0, 5, 1, 2, true}, /* 3×5 kernel, stride (2,1), pad (0,2) */
    {5, 8, 16, 16, 16, 3, 2, 1, 0, 0, 0, false},
    {5, 64, 4, 4, 64, 3, 2, 1, 0, 0, 0, true},
};
#define N_CASES ((int)(sizeof cases / sizeof *cases))

Test(conv_dnnl, matches_reference_all_gradients) {
    const eb__conv2d_backend *be = dnnl_or_skip();
    for (int i = 0; i < N_CASES; i++) check_backend(be, &cases[i], 100 + (uint64_t)i, WANT_ALL);
}

Test(conv_dnnl, matches_reference_single_thread) {
    const eb__conv2d_backend *be = dnnl_or_skip();
    eb_threads_set(1);
    for (int i = 0; i < N_CASES; i += 3) check_backend(be, &cases[i], 200 + (uint64_t)i, WANT_ALL);
}

Test(conv_dnnl, partial_gradients) {
    const eb__conv2d_backend *be = dnnl_or_skip();
    const int wants[] = {WANT_GX, WANT_GW, WANT_GB, WANT_GX | WANT_GB, WANT_GW | WANT_GB};
    for (int i = 0; i < N_CASES; i += 2)
        for (size_t j = 0; j < sizeof wants / sizeof *wants; j++)
            check_backend(be, &cases[i], 300 + (uint64_t)(i * 8) + j, wants[j]);
}

/* gx as the backward sweep's first writer (gx_store): stored over NaN, with and without the other gradients;
 * the layouts where oneDNN's gx' is plain NCHW (conv_bwd_data writes gx itself) and blocked (a plain
 * reorder) both occur among the cases. */
Test(conv_dnnl, stored_input_gradient) {
    const eb__conv2d_backend *be = dnnl_or_skip();
    for (int i = 0; i < N_CASES; i++)
        check_backend(be, &cases[i], 400 + (uint64_t)i, (i % 2 ? WANT_ALL : WANT_GX) | STORE_GX);
}

/* More geometries than the per-thread cache holds (evictions), then the first ones again, and the
 * same geometry at 1 and 2 threads (the thread count is part of the key). */
Test(conv_dnnl, cache_eviction_and_thread_changes) {
    const eb__conv2d_backend *be = dnnl_or_skip();
    for (int i = 0; i < EB__DNNL_CACHE_SIZE + 6; i++) {
        geom_case g = {1 + i % 3, 2 + i % 5, 6 + i % 4, 7, 3 + i % 4, i % 2 ? 3 : 1,
                       1 + i % 2, i % 2,     0,         0, 0,         i % 3 == 0};
        check_backend(be, &g, 400 + (uint64_t)i, i % 4 ? WANT_ALL : WANT_GX);
    }
    for (int t = 1; t <= 2; t++) {
        eb_threads_set(t);
        check_backend(be, &cases[4], 500, WANT_ALL);
        check_backend(be, &cases[0], 501, WANT_ALL);
    }
    eb__conv2d_dnnl_release();
    check_backend(be, &cases[2], 502, WANT_ALL); /* rebuilt after a release */
    eb__conv2d_dnnl_release();
}

/* ---- the backend choice --------------------------------------------------------------------------- */
Test(conv_dnnl, select_follows_ebood_conv) {
    eb__conv2d_geom s = make_geom(&cases[4]);
    char why[160] = "";
    setenv("EBOOD_CONV", "ref", 1);
    cr_expect_eq(eb__conv2d_select(&s, why, sizeof why), &eb__conv2d_im2col,
                 "EBOOD_CONV=ref: not the reference");
    unsetenv("EBOOD_CONV");
    const eb__conv2d_backend *def = eb__conv2d_select(&s, why, sizeof why);
    cr_expect_eq(def, eb__conv2d_dnnl_available() ? eb__conv2d_dnnl() : &eb__conv2d_im2col,
                 "default backend: got %s", def ? def->name : "NULL");
    setenv("EBOOD_CONV", "", 1);
    cr_expect_eq(eb__conv2d_select(&s, why, sizeof why), def, "EBOOD_CONV='' is not the default");
    setenv("EBOOD_CONV", "dnnl", 1);
    const eb__conv2d_backend *d = eb__conv2d_select(&s, why, sizeof why);
    if (eb__conv2d_dnnl_available())
        cr_expect_eq(d, eb__conv2d_dnnl(), "EBOOD_CONV=dnnl: got %s", d ? d->name : "NULL");
    else
        cr_expect(!d && strstr(why, "EBOOD_CONV=dnnl"), "EBOOD_CONV=dnnl without oneDNN: %s", why);
    setenv("EBOOD_CONV", "fast", 1);
    why[0] = '\0';
    cr_expect_null(eb__conv2d_select(&s, why, sizeof why), "EBOOD_CONV=fast accepted");
    cr_expect(strstr(why, "EBOOD_CONV") && strstr(why, "'fast'"), "message: %s", why);
    unsetenv("EBOOD_CONV");
}

/* A bad EBOOD_CONV fails the graph (sticky status) with a message naming the variable. */
Test(conv_dnnl, bad_env_value_fails_the_graph) {
    setenv("EBOOD_CONV", "gpu", 1);
    eb_graph *g = eb_graph_new(0, NULL);
    float x[2 * 3 * 5 * 5] = {0}, w[4 * 3 * 3 * 3] = {0};
    eb_tensor *tx = eb_tensor_input(g, x, 4, EB_SHAPE(2, 3, 5, 5), false);
    eb_tensor *tw = eb_tensor_input(g, w, 4, EB_SHAPE(4, 3, 3, 3), false);
    eb_conv2d(g, tx, tw, NULL, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);
    cr_expect(strstr(eb_graph_error(g), "EBOOD_CONV") && strstr(eb_graph_error(g), "conv2d"), "message: %s",
              eb_graph_error(g));
    eb_graph_free(g);
    unsetenv("EBOOD_CONV");
}

/* The op on the tape: y = conv(x, w, b) used twice (y + y·y summed), gradients of x, w, b with
 * EBOOD_CONV=ref and =dnnl agree; the tape adds the two uses through the backend's accumulation. */
static void tape_run(const char *backend, const float *x0, const float *w0, const float *b0, float *y,
                     float *gx, float *gw, float *gb) {
    setenv("EBOOD_CONV", backend, 1);
    eb_graph *g = eb_graph_new(0, NULL);
    float *x = copy_floats(x0, 5 * 6 * 9 * 9);
    eb_tensor *tx = eb_tensor_input(g, x, 4, EB_SHAPE(5, 6, 9, 9), true);
    eb_tensor *tw = eb_tensor_param(g, (float *)w0, gw, 4, EB_SHAPE(8, 6, 3, 3));
    eb_tensor *tb = eb_tensor_param(g, (float *)b0, gb, 1, EB_SHAPE(8));
    eb_conv2d_params p = eb_conv2d_default_params();
    p.stride_h = p.stride_w = 2;
    p.pad_h = p.pad_w = 1;
    eb_tensor *ty = eb_conv2d(g, tx, tw, tb, &p);
    eb_tensor *loss = eb_sum_all(g, eb_add(g, ty, eb_mul(g, ty, ty)));
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "%s", eb_graph_error(g));
    memcpy(y, ty->data, sizeof(float) * (size_t)ty->size);
    memcpy(gx, tx->grad, sizeof(float) * (size_t)tx->size);
    eb_graph_free(g);
    free(x);
    unsetenv("EBOOD_CONV");
}

Test(conv_dnnl, op_on_the_tape_matches_reference) {
    dnnl_or_skip();
    enum { NX = 5 * 6 * 9 * 9, NW = 8 * 6 * 3 * 3, NY = 5 * 8 * 5 * 5 };
    eb_rng r;
    eb_rng_seed(&r, 7);
    float *x = rand_floats(&r, NX), *w = rand_floats(&r, NW), *b = rand_floats(&r, 8);
    float *y[2], *gx[2], *gw[2], *gb[2];
    for (int i = 0; i < 2; i++) {
        y[i] = calloc(NY, sizeof(float));
        gx[i] = calloc(NX, sizeof(float));
        gw[i] = calloc(NW, sizeof(float));
        gb[i] = calloc(8, sizeof(float));
        tape_run(i ? "dnnl" : "ref", x, w, b, y[i], gx[i], gw[i], gb[i]);
    }
    eb__conv2d_geom s = make_geom(&(geom_case){5, 6, 9, 9, 8, 3, 2, 1, 0, 0, 0, true});
    expect_close(y[1], y[0], NY, "tape y", &s);
    expect_close(gx[1], gx[0], NX, "tape dL/dx", &s);
    expect_close(gw[1], gw[0], NW, "tape dL/dw", &s);
    expect_close(gb[1], gb[0], 8, "tape dL/db", &s);
    for (int i = 0; i < 2; i++) {
        free(y[i]);
        free(gx[i]);
        free(gw[i]);
        free(gb[i]);
    }
    free(x);
    free(w);
    free(b);
}

/* Two threads use the backend at the same time, each on its own geometries (each thread has its own
 * cache and scratch buffer). */
typedef struct thread_job {
    int first;
    int failures;
} thread_job;

static void *thread_main(void *arg) {
    thread_job *j = arg;
    const eb__conv2d_backend *be = eb__conv2d_dnnl();
    eb_threads_set(1);
    for (int rep = 0; rep < 3; rep++)
        for (int i = j->first; i < N_CASES; i += 2) {
            eb__conv2d_geom s = make_geom(&cases[i]);
            const int64_t nx = s.n * s.c * s.h * s.w, nw = s.o * s.c * s.kh * s.kw,
                          ny = s.n * s.o * s.oh * s.ow;
            eb_rng r;
            eb_rng_seed(&r, 600 + (uint64_t)i);
            float *x = rand_floats(&r, nx), *w = rand_floats(&r, nw), *y = malloc(sizeof(float) * (size_t)ny);
            float *y_ref = malloc(sizeof(float) * (size_t)ny);
            eb__conv2d_im2col_plan(&s, EB__CONV_IM2COL_WORKSPACE);
            size_t bytes = eb__conv2d_im2col.workspace_bytes(&s);
            float *ws = bytes ? malloc(bytes) : NULL;
            eb__conv2d_im2col.forward(&s, x, w, NULL, y_ref, ws);
            be->forward(&s, x, w, NULL, y, NULL);
            double scale = 1.0, diff = 0.0;
            for (int64_t k = 0; k < ny; k++) {
                scale = fmax(scale, fabs((double)y_ref[k]));
                diff = fmax(diff, fabs((double)y[k] - (double)y_ref[k]));
            }
            if (!(diff <= TOL * scale)) j->failures++;
            free(x);
            free(w);
            free(y);
            free(y_ref);
            free(ws);
        }
    eb__conv2d_dnnl_release();
    return NULL;
}

Test(conv_dnnl, two_threads_at_once) {
    dnnl_or_skip();
    pthread_t th[2];
    thread_job jobs[2] = {{0, 0}, {1, 0}};
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    cr_expect_eq(jobs[0].failures + jobs[1].failures, 0, "%d forward results off the reference",
                 jobs[0].failures + jobs[1].failures);
}
