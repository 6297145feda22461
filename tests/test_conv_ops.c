/* conv2d, batch_norm, max_pool2d, avg_pool2d, global_avg_pool and spatial_std_pool: against PyTorch,
 * against a direct float64 convolution (and a direct spatial std) at 1 and 2 threads, their bad-shape
 * errors, and BatchNorm's running statistics.
 *
 * Everything through the ops runs on whichever conv2d backend the op picks; the tests that name the
 * im2col backend call the reference directly (its exact thread-count invariance is its own property).
 *
 * The reference fixture tests/fixtures/conv/conv.json is written by scripts/make_conv_fixture.py
 * (Debian's torch 1.13, float64 from float32 inputs): for every case, the op's output, the input
 * gradients of L = Σ r ⊙ out for a fixed random r, and for batch_norm the running statistics after
 * the call. Here the op runs in float32 and is compared at ~1e-5 relative tolerance (fixture_tol).
 * Gradient checks (central differences) for these ops live in tests/test_gradcheck.c. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <ebood/tensor.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_json.h"
#include "tensor/conv_impl.h"
#include "test_util.h"

/* ---- fixture access --------------------------------------------------------------------------- */

static cJSON *load_fixture(void) { return load_fixture_json("conv/conv.json"); }

/* A [h, w] pair of a case. */
static void read_pair(const cJSON *c, const char *key, int *h, int *w) {
    const cJSON *v = item(c, key);
    cr_assert(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2, "fixture key \"%s\" is not [h, w]", key);
    *h = (int)cJSON_GetArrayItem(v, 0)->valuedouble;
    *w = (int)cJSON_GetArrayItem(v, 1)->valuedouble;
}

/* Running statistics of a batch_norm case (NULL when the fixture has null). */
typedef struct bn_running {
    float *mean, *var;
} bn_running;

/* Builds the case's op on g from the tensors `in`; batch_norm's running buffers go to *run. */
static eb_tensor *build_case(eb_graph *g, const cJSON *c, eb_tensor **in, int n_in, bn_running *run) {
    const char *op = cJSON_GetStringValue(item(c, "op"));
    cr_assert_not_null(op);
    if (!strcmp(op, "conv2d")) {
        eb_conv2d_params p;
        read_pair(c, "stride", &p.stride_h, &p.stride_w);
        read_pair(c, "pad", &p.pad_h, &p.pad_w);
        return eb_conv2d(g, in[0], in[1], n_in > 2 ? in[2] : NULL, &p);
    }
    if (!strcmp(op, "batch_norm")) {
        eb_batch_norm_params p = {.momentum = (float)num(c, "momentum"),
                                  .eps = (float)num(c, "eps"),
                                  .training = flag(c, "training")};
        const cJSON *rm = item(c, "running_mean"), *rv = item(c, "running_var");
        run->mean = cJSON_IsNull(rm) ? NULL : (read_floats(rm, &run->mean), run->mean);
        run->var = cJSON_IsNull(rv) ? NULL : (read_floats(rv, &run->var), run->var);
        bool affine = flag(c, "affine");
        cr_assert_eq(n_in, affine ? 3 : 1);
        return eb_batch_norm(g, in[0], affine ? in[1] : NULL, affine ? in[2] : NULL, run->mean, run->var, &p);
    }
    if (!strcmp(op, "max_pool2d") || !strcmp(op, "avg_pool2d")) {
        eb_pool2d_params p;
        read_pair(c, "kernel", &p.kernel_h, &p.kernel_w);
        read_pair(c, "stride", &p.stride_h, &p.stride_w);
        read_pair(c, "pad", &p.pad_h, &p.pad_w);
        return op[0] == 'm' ? eb_max_pool2d(g, in[0], &p) : eb_avg_pool2d(g, in[0], &p);
    }
    if (!strcmp(op, "global_avg_pool")) return eb_global_avg_pool(g, in[0]);
    if (!strcmp(op, "spatial_std_pool")) return eb_spatial_std_pool(g, in[0]);
    cr_assert_fail("fixture: unknown op \"%s\"", op);
    return NULL;
}

/* Tolerance for a float32 result against a float64 reference: 1e-5 relative, plus an absolute
 * floor of 2e-6 · max(1, max|ref|) for entries that come out near zero by cancellation (a float32
 * sum of ~50 terms as large as the array's largest value carries a few 1e-7 of that value). */
static double fixture_tol(double ref, double scale) { return 1e-5 * fabs(ref) + 2e-6 * fmax(1.0, scale); }

typedef struct op_stats {
    int cases;
    double max_out_err, max_grad_err;
} op_stats;

/* Compares got[0..n) with the reference; returns the number of entries outside fixture_tol and the
 * largest |difference| in *max_err. */
static int compare(const float *got, const float *ref, int64_t n, double *max_err) {
    double scale = 0.0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs((double)ref[i]));
    int bad = 0;
    *max_err = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= fixture_tol(ref[i], scale))) bad++; /* NaN counts as bad */
        if (!(d <= *max_err)) *max_err = d;
    }
    return bad;
}

/* Compares a running-statistics buffer with the fixture's value after the call. */
static void check_running(const char *name, const char *key, const float *got, const cJSON *want, int64_t c) {
    if (cJSON_IsNull(want)) {
        cr_expect_null(got, "%s: %s expected null", name, key);
        return;
    }
    float *ref = NULL;
    cr_assert_eq(read_floats(want, &ref), c, "%s: %s size", name, key);
    double err = 0.0;
    int bad = compare(got, ref, c, &err);
    cr_expect_eq(bad, 0, "%s: %d of %ld %s entries differ from PyTorch (max |diff| %.3g)", name, bad, (long)c,
                 key, err);
    free(ref);
}

/* Runs one fixture case; records the op and errors in stats (indexed by eb_op). */
static void run_case(eb_graph *g, const cJSON *c, op_stats *stats) {
    const char *name = cJSON_GetStringValue(item(c, "name"));
    const cJSON *inputs = item(c, "inputs");
    int n_in = cJSON_GetArraySize(inputs);
    cr_assert(n_in >= 1 && n_in <= 3, "%s: bad input count", name);
    float *data[3] = {0};
    bool wants_grad[3] = {0};
    eb_tensor *in[3] = {0};
    bn_running run = {0};
    eb_graph_reset(g);
    for (int i = 0; i < n_in; i++) {
        const cJSON *inp = cJSON_GetArrayItem(inputs, i);
        int64_t shape[EB_MAX_DIMS];
        int nd = read_shape(item(inp, "shape"), shape);
        read_floats(item(inp, "data"), &data[i]);
        wants_grad[i] = flag(inp, "grad");
        in[i] = eb_tensor_input(g, data[i], nd, shape, wants_grad[i]);
    }
    eb_tensor *out = build_case(g, c, in, n_in, &run);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s: %s", name, eb_graph_error(g));
    cr_assert_not_null(out, "%s: op returned NULL", name);

    int64_t shape[EB_MAX_DIMS];
    int nd = read_shape(item(c, "out_shape"), shape);
    char buf[64];
    cr_assert_eq(out->ndim, nd, "%s: output shape %s, expected ndim %d", name,
                 eb_tensor_shape_str(out, buf, sizeof buf), nd);
    for (int d = 0; d < nd; d++)
        cr_assert_eq(out->shape[d], shape[d], "%s: output shape %s differs from PyTorch's in dim %d", name,
                     eb_tensor_shape_str(out, buf, sizeof buf), d);

    float *ref = NULL, *r = NULL;
    int64_t n = read_floats(item(c, "out"), &ref);
    cr_assert_eq(n, out->size, "%s: output size", name);
    double err = 0.0;
    int bad = compare(out->data, ref, n, &err);
    cr_expect_eq(bad, 0, "%s: %d of %ld outputs differ from PyTorch (max |diff| %.3g)", name, bad, (long)n,
                 err);
    op_stats *s = &stats[out->op];
    s->cases++;
    s->max_out_err = fmax(s->max_out_err, err);

    if (out->op == EB_OP_BATCH_NORM) {
        check_running(name, "running_mean", run.mean, item(c, "running_mean_after"), in[0]->shape[1]);
        check_running(name, "running_var", run.var, item(c, "running_var_after"), in[0]->shape[1]);
    }

    int64_t nr = read_floats(item(c, "r"), &r);
    cr_assert_eq(nr, out->size);
    cr_assert_eq(eb_graph_backward(g, out, r), EB_OK, "%s: backward: %s", name, eb_graph_error(g));
    const cJSON *grads = item(c, "grads");
    for (int i = 0; i < n_in; i++) {
        if (!wants_grad[i]) {
            cr_expect_null(in[i]->grad, "%s: input %d was created without requires_grad but has a gradient",
                           name, i);
            continue;
        }
        cr_assert_not_null(in[i]->grad, "%s: input %d has no gradient buffer", name, i);
        float *gref = NULL;
        int64_t ng = read_floats(cJSON_GetArrayItem(grads, i), &gref);
        cr_assert_eq(ng, in[i]->size);
        bad = compare(in[i]->grad, gref, ng, &err);
        cr_expect_eq(bad, 0,
                     "%s: %d of %ld gradient entries of input %d differ from PyTorch (max |diff| %.3g)", name,
                     bad, (long)ng, i, err);
        s->max_grad_err = fmax(s->max_grad_err, err);
        free(gref);
    }
    free(ref);
    free(r);
    free(run.mean);
    free(run.var);
    for (int i = 0; i < n_in; i++) free(data[i]);
}

static void run_fixture(op_stats *stats) {
    cJSON *doc = load_fixture();
    eb_graph *g = eb_graph_new(0, NULL);
    cr_assert_not_null(g);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) run_case(g, c, stats);
    eb_graph_free(g);
    cJSON_Delete(doc);
}

static const eb_op conv_family[] = {EB_OP_CONV2D,     EB_OP_BATCH_NORM,      EB_OP_MAX_POOL2D,
                                    EB_OP_AVG_POOL2D, EB_OP_GLOBAL_AVG_POOL, EB_OP_SPATIAL_STD_POOL};

Test(conv_ops, forward_and_gradients_match_pytorch) {
    op_stats stats[EB_OP_COUNT];
    memset(stats, 0, sizeof stats);
    run_fixture(stats);
    for (size_t k = 0; k < sizeof conv_family / sizeof conv_family[0]; k++) {
        const op_stats *s = &stats[conv_family[k]];
        cr_log_info("%-16s %2d cases  max |out - torch| %.2e  max |grad - torch| %.2e",
                    eb_op_name(conv_family[k]), s->cases, s->max_out_err, s->max_grad_err);
        cr_expect_gt(s->cases, 0, "op %s has no PyTorch fixture case (scripts/make_conv_fixture.py)",
                     eb_op_name(conv_family[k]));
    }
}

/* ---- a direct float64 convolution (the serial reference) ---------------------------------------------- */

typedef struct conv_case {
    int64_t n, c, h, w, o, kh, kw;
    eb_conv2d_params p;
    bool bias;
} conv_case;

static int64_t out_dim(int64_t in, int64_t k, int s, int pad) { return (in + 2 * pad - k) / s + 1; }

/* y, and for the seed gy: gx, gw, gb, all in float64 by the definition in tensor.h. */
static void conv_ref(const conv_case *k, const float *x, const float *w, const float *b, const float *gy,
                     double *y, double *gx, double *gw, double *gb) {
    int64_t oh = out_dim(k->h, k->kh, k->p.stride_h, k->p.pad_h),
            ow = out_dim(k->w, k->kw, k->p.stride_w, k->p.pad_w);
    memset(gx, 0, sizeof(double) * (size_t)(k->n * k->c * k->h * k->w));
    memset(gw, 0, sizeof(double) * (size_t)(k->o * k->c * k->kh * k->kw));
    memset(gb, 0, sizeof(double) * (size_t)k->o);
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t o = 0; o < k->o; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    int64_t yi = ((n * k->o + o) * oh + i) * ow + j;
                    double s = b ? (double)b[o] : 0.0, g = (double)gy[yi];
                    gb[o] += g;
                    for (int64_t c = 0; c < k->c; c++)
                        for (int64_t u = 0; u < k->kh; u++)
                            for (int64_t v = 0; v < k->kw; v++) {
                                int64_t yy = i * k->p.stride_h - k->p.pad_h + u,
                                        xx = j * k->p.stride_w - k->p.pad_w + v;
                                if (yy < 0 || yy >= k->h || xx < 0 || xx >= k->w) continue;
                                int64_t xi = ((n * k->c + c) * k->h + yy) * k->w + xx;
                                int64_t wi = ((o * k->c + c) * k->kh + u) * k->kw + v;
                                s += (double)w[wi] * (double)x[xi];
                                gx[xi] += (double)w[wi] * g;
                                gw[wi] += (double)x[xi] * g;
                            }
                    y[yi] = s;
                }
}

/* max |got − ref| / (1e-5·max|ref| + 1e-6) ≤ 1: float32 GEMM sums of up to a few hundred terms. */
static void expect_close(const char *what, const float *got, const double *ref, int64_t n) {
    double scale = 0.0, worst = 0.0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= worst)) worst = d;
    }
    cr_expect(worst <= 1e-5 * scale + 1e-6, "%s: max |float32 - float64 reference| %.3g (scale %.3g)", what,
              worst, scale);
}

typedef struct conv_run {
    float *y, *gx, *gw, *gb;
} conv_run;

static void conv_run_free(conv_run *r) {
    free(r->y);
    free(r->gx);
    free(r->gw);
    free(r->gb);
}

static float *dup_floats(const float *src, int64_t n) {
    float *d = malloc(sizeof(float) * (size_t)n);
    cr_assert_not_null(d);
    memcpy(d, src, sizeof(float) * (size_t)n);
    return d;
}

/* Forward + backward of the op (x input, w and b params), outputs copied out. */
static conv_run conv_op(const conv_case *k, float *x, float *w, float *b, const float *gy) {
    int64_t nw = k->o * k->c * k->kh * k->kw;
    conv_run r = {0};
    r.gw = calloc((size_t)nw, sizeof(float));
    r.gb = calloc((size_t)k->o, sizeof(float));
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *tx = eb_tensor_input(g, x, 4, EB_SHAPE(k->n, k->c, k->h, k->w), true);
    eb_tensor *tw = eb_tensor_param(g, w, r.gw, 4, EB_SHAPE(k->o, k->c, k->kh, k->kw));
    eb_tensor *tb = k->bias ? eb_tensor_param(g, b, r.gb, 1, EB_SHAPE(k->o)) : NULL;
    eb_tensor *y = eb_conv2d(g, tx, tw, tb, &k->p);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(eb_graph_backward(g, y, gy), EB_OK, "%s", eb_graph_error(g));
    r.y = dup_floats(y->data, y->size);
    r.gx = dup_floats(tx->grad, tx->size);
    eb_graph_free(g);
    return r;
}

/* The im2col reference backend called directly (the op may pick another backend). */
static conv_run conv_im2col(const conv_case *k, const float *x, const float *w, const float *b,
                            const float *gy) {
    eb__conv2d_geom s = {.n = k->n,
                         .c = k->c,
                         .h = k->h,
                         .w = k->w,
                         .o = k->o,
                         .kh = k->kh,
                         .kw = k->kw,
                         .oh = out_dim(k->h, k->kh, k->p.stride_h, k->p.pad_h),
                         .ow = out_dim(k->w, k->kw, k->p.stride_w, k->p.pad_w),
                         .sh = k->p.stride_h,
                         .sw = k->p.stride_w,
                         .ph = k->p.pad_h,
                         .pw = k->p.pad_w};
    eb__conv2d_im2col_plan(&s, EB__CONV_IM2COL_WORKSPACE);
    int64_t nx = k->n * k->c * k->h * k->w, nw = k->o * k->c * k->kh * k->kw, ny = k->n * k->o * s.oh * s.ow;
    conv_run r = {malloc(sizeof(float) * (size_t)ny), calloc((size_t)nx, sizeof(float)),
                  calloc((size_t)nw, sizeof(float)), calloc((size_t)k->o, sizeof(float))};
    float *ws = malloc(eb__conv2d_im2col.workspace_bytes(&s) + 64);
    cr_assert(r.y && r.gx && r.gw && r.gb && ws);
    eb__conv2d_im2col.forward(&s, x, w, k->bias ? b : NULL, r.y, ws);
    eb__conv2d_im2col.backward(&s, x, w, gy, r.gx, false, r.gw, k->bias ? r.gb : NULL, ws);
    free(ws);
    return r;
}

/* At 1 and 2 threads, the op and the im2col reference backend against the float64 reference; and the
 * reference backend's two thread counts bit for bit (it sums in an order fixed by the geometry). The
 * sizes make every OpenMP loop of the backend take its parallel branch. */
static void check_conv_threads(const conv_case *k, uint64_t seed) {
    int64_t oh = out_dim(k->h, k->kh, k->p.stride_h, k->p.pad_h),
            ow = out_dim(k->w, k->kw, k->p.stride_w, k->p.pad_w);
    int64_t nx = k->n * k->c * k->h * k->w, nw = k->o * k->c * k->kh * k->kw, ny = k->n * k->o * oh * ow;
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)k->o), *gy = malloc(sizeof(float) * (size_t)ny);
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_rng_fill_uniform(&rng, x, nx, -2.0f, 2.0f);
    eb_rng_fill_uniform(&rng, w, nw, -1.0f, 1.0f);
    eb_rng_fill_uniform(&rng, b, k->o, -1.0f, 1.0f);
    eb_rng_fill_normal(&rng, gy, ny, 0.0f, 1.0f);
    double *y = malloc(sizeof(double) * (size_t)ny), *gx = malloc(sizeof(double) * (size_t)nx);
    double *gw = malloc(sizeof(double) * (size_t)nw), *gb = malloc(sizeof(double) * (size_t)k->o);
    conv_ref(k, x, w, k->bias ? b : NULL, gy, y, gx, gw, gb);

    conv_run ref_runs[2];
    for (int t = 0; t < 2; t++) {
        eb_threads_set(t + 1);
        conv_run runs[2] = {conv_op(k, x, w, b, gy), conv_im2col(k, x, w, b, gy)};
        for (int v = 0; v < 2; v++) {
            const char *who = v ? "im2col backend" : "conv2d op";
            char what[96];
            snprintf(what, sizeof what, "%s y (%d threads)", who, t + 1);
            expect_close(what, runs[v].y, y, ny);
            snprintf(what, sizeof what, "%s dL/dx (%d threads)", who, t + 1);
            expect_close(what, runs[v].gx, gx, nx);
            snprintf(what, sizeof what, "%s dL/dw (%d threads)", who, t + 1);
            expect_close(what, runs[v].gw, gw, nw);
            if (k->bias) {
                snprintf(what, sizeof what, "%s dL/db (%d threads)", who, t + 1);
                expect_close(what, runs[v].gb, gb, k->o);
            }
        }
        conv_run_free(&runs[0]);
        ref_runs[t] = runs[1];
    }
    cr_expect_eq(memcmp(ref_runs[0].y, ref_runs[1].y, sizeof(float) * (size_t)ny), 0,
                 "im2col backend: y differs between 1 and 2 threads");
    cr_expect_eq(memcmp(ref_runs[0].gx, ref_runs[1].gx, sizeof(float) * (size_t)nx), 0,
                 "im2col backend: dL/dx differs between 1 and 2 threads");
    cr_expect_eq(memcmp(ref_runs[0].gw, ref_runs[1].gw, sizeof(float) * (size_t)nw), 0,
                 "im2col backend: dL/dw differs between 1 and 2 threads");
    cr_expect_eq(memcmp(ref_runs[0].gb, ref_runs[1].gb, sizeof(float) * (size_t)k->o), 0,
                 "im2col backend: dL/db differs between 1 and 2 threads");
    conv_run_free(&ref_runs[0]);
    conv_run_free(&ref_runs[1]);
    free(x), free(w), free(b), free(gy), free(y), free(gx), free(gw), free(gb);
}

Test(conv_ops, conv2d_parallel_matches_serial_reference_3x3) {
    check_conv_threads(&(conv_case){6, 16, 16, 16, 32, 3, 3, {1, 1, 1, 1}, true}, 11);
}
Test(conv_ops, conv2d_parallel_matches_serial_reference_stride2) {
    check_conv_threads(&(conv_case){6, 16, 15, 13, 24, 3, 3, {2, 2, 1, 1}, true}, 12);
}
Test(conv_ops, conv2d_parallel_matches_serial_reference_pointwise) {
    check_conv_threads(&(conv_case){6, 32, 16, 16, 16, 1, 1, {1, 1, 0, 0}, false}, 13);
}

/* The im2col backend with 1, 2 (a partial last group), 3 and all 5 images per GEMM. */
Test(conv_ops, im2col_backend_group_sizes_agree_with_reference) {
    const conv_case k = {5, 3, 7, 6, 4, 3, 2, {2, 1, 1, 1}, true};
    int64_t oh = out_dim(k.h, k.kh, 2, 1), ow = out_dim(k.w, k.kw, 1, 1);
    int64_t nx = k.n * k.c * k.h * k.w, nw = k.o * k.c * k.kh * k.kw, ny = k.n * k.o * oh * ow;
    float x[5 * 3 * 7 * 6], w[4 * 3 * 3 * 2], b[4], gyv[5 * 4 * 8 * 7];
    cr_assert_leq(ny, (int64_t)(sizeof gyv / sizeof gyv[0]));
    eb_rng rng;
    eb_rng_seed(&rng, 21);
    eb_rng_fill_uniform(&rng, x, nx, -2.0f, 2.0f);
    eb_rng_fill_uniform(&rng, w, nw, -1.0f, 1.0f);
    eb_rng_fill_uniform(&rng, b, k.o, -1.0f, 1.0f);
    eb_rng_fill_normal(&rng, gyv, ny, 0.0f, 1.0f);
    double y[5 * 4 * 8 * 7], gx[5 * 3 * 7 * 6], gw[4 * 3 * 3 * 2], gb[4];
    conv_ref(&k, x, w, b, gyv, y, gx, gw, gb);
    for (int64_t group = 1; group <= 5; group += group < 3 ? 1 : 2) {
        eb__conv2d_geom s = {.n = k.n,
                             .c = k.c,
                             .h = k.h,
                             .w = k.w,
                             .o = k.o,
                             .kh = k.kh,
                             .kw = k.kw,
                             .oh = oh,
                             .ow = ow,
                             .sh = 2,
                             .sw = 1,
                             .ph = 1,
                             .pw = 1,
                             .group = group};
        float *ws = malloc(eb__conv2d_im2col.workspace_bytes(&s) + 1);
        float out[5 * 4 * 8 * 7], fgx[5 * 3 * 7 * 6], fgw[4 * 3 * 3 * 2], fgb[4];
        memset(fgx, 0, sizeof fgx), memset(fgw, 0, sizeof fgw), memset(fgb, 0, sizeof fgb);
        eb__conv2d_im2col.forward(&s, x, w, b, out, ws);
        eb__conv2d_im2col.backward(&s, x, w, gyv, fgx, false, fgw, fgb, ws);
        cr_log_info("group %ld", (long)group);
        expect_close("y", out, y, ny);
        expect_close("dL/dx", fgx, gx, nx);
        expect_close("dL/dw", fgw, gw, nw);
        expect_close("dL/db", fgb, gb, k.o);
        free(ws);
    }
}

/* ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩: col2im is im2col's adjoint (what the input gradient relies on). */
Test(conv_ops, col2im_is_the_adjoint_of_im2col) {
    eb__conv2d_geom s = {
        .n = 1, .c = 2, .h = 5, .w = 7, .o = 1, .kh = 3, .kw = 4, .sh = 2, .sw = 3, .ph = 1, .pw = 2};
    s.oh = out_dim(s.h, s.kh, 2, 1);
    s.ow = out_dim(s.w, s.kw, 3, 2);
    const int64_t K = s.c * s.kh * s.kw, P = s.oh * s.ow, ld = P + 3; /* a wider row stride, as in a group */
    float x[2 * 5 * 7], cols[2 * 3 * 4 * 32], c[2 * 3 * 4 * 32], gx[2 * 5 * 7] = {0};
    cr_assert_leq(K * ld, (int64_t)(sizeof cols / sizeof cols[0]));
    eb_rng rng;
    eb_rng_seed(&rng, 22);
    eb_rng_fill_uniform(&rng, x, 70, -1.0f, 1.0f);
    eb_rng_fill_uniform(&rng, c, K * ld, -1.0f, 1.0f);
    eb__im2col(&s, x, cols, ld);
    eb__col2im(&s, c, ld, gx);
    double lhs = 0.0, rhs = 0.0;
    for (int64_t r = 0; r < K; r++)
        for (int64_t p = 0; p < P; p++) lhs += (double)cols[r * ld + p] * (double)c[r * ld + p];
    for (int i = 0; i < 70; i++) rhs += (double)x[i] * (double)gx[i];
    cr_expect(fabs(lhs - rhs) <= 1e-5 * fmax(1.0, fabs(lhs)),
              "<im2col(x), c> = %.9g but <x, col2im(c)> = %.9g", lhs, rhs);
    /* spot check of the layout: row (c=1, u=1, v=2), output (i=1, j=1) reads x[1, 1·2−1+1, 1·3−2+2] */
    cr_expect_eq(cols[((1 * s.kh + 1) * s.kw + 2) * ld + 1 * s.ow + 1], x[(1 * 5 + 2) * 7 + 3]);
}

/* ---- BatchNorm / pools: the parallel kernels agree bit for bit with their 1-thread runs ----------- */

typedef eb_tensor *(*unary_build)(eb_graph *g, eb_tensor *x, float *rm, float *rv);

static eb_tensor *build_bn_train(eb_graph *g, eb_tensor *x, float *rm, float *rv) {
    eb_batch_norm_params p = eb_batch_norm_default_params();
    return eb_batch_norm(g, x, NULL, NULL, rm, rv, &p);
}
static eb_tensor *build_bn_eval(eb_graph *g, eb_tensor *x, float *rm, float *rv) {
    eb_batch_norm_params p = eb_batch_norm_default_params();
    p.training = false;
    return eb_batch_norm(g, x, NULL, NULL, rm, rv, &p);
}
static eb_tensor *build_maxpool(eb_graph *g, eb_tensor *x, float *rm, float *rv) {
    (void)rm, (void)rv;
    eb_pool2d_params p = eb_pool2d_params_square(3, 2, 1);
    return eb_max_pool2d(g, x, &p);
}
static eb_tensor *build_avgpool(eb_graph *g, eb_tensor *x, float *rm, float *rv) {
    (void)rm, (void)rv;
    eb_pool2d_params p = eb_pool2d_params_square(3, 2, 1);
    return eb_avg_pool2d(g, x, &p);
}
static eb_tensor *build_gap(eb_graph *g, eb_tensor *x, float *rm, float *rv) {
    (void)rm, (void)rv;
    return eb_global_avg_pool(g, x);
}
static eb_tensor *build_std(eb_graph *g, eb_tensor *x, float *rm, float *rv) {
    (void)rm, (void)rv;
    return eb_spatial_std_pool(g, x);
}

/* x[8,16,36,36] (165,888 values: above EB_PARALLEL_MIN, so the kernels run on the OpenMP team). */
static void check_threads_bitwise(const char *name, unary_build build) {
    enum { N = 8, C = 16, H = 36, W = 36, SIZE = N * C * H * W };
    float *x = malloc(sizeof(float) * SIZE), *seed = malloc(sizeof(float) * SIZE);
    eb_rng rng;
    eb_rng_seed(&rng, 31);
    eb_rng_fill_uniform(&rng, x, SIZE, -2.0f, 3.0f);
    eb_rng_fill_normal(&rng, seed, SIZE, 0.0f, 1.0f);
    float *out[2] = {0}, *gx[2] = {0}, rm[2][C], rv[2][C];
    int64_t n_out = 0;
    for (int t = 0; t < 2; t++) {
        eb_threads_set(t + 1);
        for (int c = 0; c < C; c++) rm[t][c] = 0.1f * (float)c, rv[t][c] = 1.0f + 0.05f * (float)c;
        eb_graph *g = eb_graph_new(0, NULL);
        eb_tensor *tx = eb_tensor_input(g, x, 4, EB_SHAPE(N, C, H, W), true);
        eb_tensor *y = build(g, tx, rm[t], rv[t]);
        cr_assert_eq(eb_graph_status(g), EB_OK, "%s: %s", name, eb_graph_error(g));
        cr_assert_eq(eb_graph_backward(g, y, seed), EB_OK);
        n_out = y->size;
        out[t] = dup_floats(y->data, y->size);
        gx[t] = dup_floats(tx->grad, SIZE);
        eb_graph_free(g);
    }
    cr_expect_eq(memcmp(out[0], out[1], sizeof(float) * (size_t)n_out), 0,
                 "%s: output differs at 1 and 2 threads", name);
    cr_expect_eq(memcmp(gx[0], gx[1], sizeof(float) * SIZE), 0, "%s: gradient differs at 1 and 2 threads",
                 name);
    cr_expect_eq(memcmp(rm[0], rm[1], sizeof rm[0]), 0, "%s: running mean differs at 1 and 2 threads", name);
    cr_expect_eq(memcmp(rv[0], rv[1], sizeof rv[0]), 0, "%s: running var differs at 1 and 2 threads", name);
    for (int t = 0; t < 2; t++) free(out[t]), free(gx[t]);
    free(x), free(seed);
}

Test(conv_ops, batch_norm_train_same_at_1_and_2_threads) {
    check_threads_bitwise("batch_norm train", build_bn_train);
}
Test(conv_ops, batch_norm_eval_same_at_1_and_2_threads) {
    check_threads_bitwise("batch_norm eval", build_bn_eval);
}
Test(conv_ops, max_pool2d_same_at_1_and_2_threads) { check_threads_bitwise("max_pool2d", build_maxpool); }
Test(conv_ops, avg_pool2d_same_at_1_and_2_threads) { check_threads_bitwise("avg_pool2d", build_avgpool); }
Test(conv_ops, global_avg_pool_same_at_1_and_2_threads) {
    check_threads_bitwise("global_avg_pool", build_gap);
}
Test(conv_ops, spatial_std_pool_same_at_1_and_2_threads) {
    check_threads_bitwise("spatial_std_pool", build_std);
}

/* ---- semantics not covered by the fixture -------------------------------------------------------- */

Test(conv_ops, max_pool2d_gradient_goes_to_first_maximum_and_nan_wins) {
    /* one 2x4 plane, 2x2 windows with stride 2: window 0 = {3, 3, 1, 3} (tie), window 1 = {0, NaN, 5, 9} */
    float x[8] = {3, 3, 0, NAN, /* row 1 */ 1, 3, 5, 9};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *t = eb_tensor_input(g, x, 4, EB_SHAPE(1, 1, 2, 4), true);
    eb_pool2d_params p = eb_pool2d_params_square(2, 2, 0);
    eb_tensor *y = eb_max_pool2d(g, t, &p);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_expect_eq(y->data[0], 3.0f);
    cr_expect(isnan(y->data[1]), "a NaN in the window must propagate (PyTorch), got %g", (double)y->data[1]);
    cr_assert_eq(eb_graph_backward(g, y, (const float[]){2.0f, -1.0f}), EB_OK);
    const float expect[8] = {2, 0, 0, -1, 0, 0, 0, 0};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(t->grad[i], expect[i], "grad[%d] = %g, expected %g", i, (double)t->grad[i],
                     (double)expect[i]);
    eb_graph_free(g);
}

Test(conv_ops, max_pool2d_padding_is_minus_infinity) {
    /* all-negative input: a padded window's max is the largest real value, never the padding 0 */
    float x[4] = {-4, -3, -2, -1};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *t = eb_tensor_input(g, x, 4, EB_SHAPE(1, 1, 2, 2), false);
    eb_pool2d_params p = eb_pool2d_params_square(2, 1, 1);
    eb_tensor *y = eb_max_pool2d(g, t, &p);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(y->size, 9);
    const float expect[9] = {-4, -3, -3, -2, -1, -1, -2, -1, -1};
    for (int i = 0; i < 9; i++) cr_expect_eq(y->data[i], expect[i], "y[%d] = %g", i, (double)y->data[i]);
    /* avg pool with the same window counts the padding as zeros in a divisor of 4 */
    eb_tensor *a = eb_avg_pool2d(g, t, &p);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_expect_eq(a->data[0], -1.0f, "corner window {pad, pad, pad, -4} / 4 = -1, got %g", (double)a->data[0]);
    cr_expect_eq(a->data[4], -2.5f, "centre window = mean of all four, got %g", (double)a->data[4]);
    eb_graph_free(g);
}

/* Two training steps then eval: the running statistics follow PyTorch's rule step by step, and eval
 * normalises with them. */
Test(conv_ops, batch_norm_running_statistics_and_eval) {
    enum { N = 4, C = 2, S = 3 };
    float x[2][N * C * S];
    eb_rng rng;
    eb_rng_seed(&rng, 41);
    eb_rng_fill_uniform(&rng, x[0], N * C * S, -1.0f, 3.0f);
    eb_rng_fill_uniform(&rng, x[1], N * C * S, 0.0f, 5.0f);
    float rm[C] = {0.0f, 0.5f}, rv[C] = {1.0f, 2.0f};
    double erm[C] = {0.0, 0.5}, erv[C] = {1.0, 2.0};
    eb_batch_norm_params p = {.momentum = 0.25f, .eps = 1e-3f, .training = true};
    eb_graph *g = eb_graph_new(0, NULL);
    for (int step = 0; step < 2; step++) {
        eb_graph_reset(g);
        eb_tensor *tx = eb_tensor_input(g, x[step], 4, EB_SHAPE(N, C, S, 1), false);
        eb_batch_norm(g, tx, NULL, NULL, rm, rv, &p);
        cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
        for (int c = 0; c < C; c++) {
            double m = 0.0, v = 0.0;
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) m += (double)x[step][(n * C + c) * S + s] / (N * S);
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) {
                    double d = (double)x[step][(n * C + c) * S + s] - m;
                    v += d * d / (N * S - 1); /* unbiased */
                }
            erm[c] = 0.75 * erm[c] + 0.25 * m;
            erv[c] = 0.75 * erv[c] + 0.25 * v;
            cr_expect(fabs((double)rm[c] - erm[c]) <= 1e-6 * fmax(1.0, fabs(erm[c])),
                      "step %d: running_mean[%d] = %.7g, expected %.7g", step, c, (double)rm[c], erm[c]);
            cr_expect(fabs((double)rv[c] - erv[c]) <= 1e-6 * fmax(1.0, erv[c]),
                      "step %d: running_var[%d] = %.7g, expected %.7g (unbiased variance)", step, c,
                      (double)rv[c], erv[c]);
        }
    }
    /* eval: y = (x − running_mean)/√(running_var + eps); running stats untouched */
    float rm_before[C], rv_before[C];
    memcpy(rm_before, rm, sizeof rm);
    memcpy(rv_before, rv, sizeof rv);
    p.training = false;
    eb_graph_reset(g);
    eb_tensor *tx = eb_tensor_input(g, x[0], 4, EB_SHAPE(N, C, S, 1), false);
    eb_tensor *y = eb_batch_norm(g, tx, NULL, NULL, rm, rv, &p);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    for (int i = 0; i < N * C * S; i++) {
        int c = (i / S) % C;
        double want = ((double)x[0][i] - (double)rm[c]) / sqrt((double)rv[c] + 1e-3);
        cr_expect(fabs((double)y->data[i] - want) <= 1e-5 * fmax(1.0, fabs(want)),
                  "eval y[%d] = %.7g, expected %.7g", i, (double)y->data[i], want);
    }
    cr_expect_eq(memcmp(rm, rm_before, sizeof rm), 0, "eval changed running_mean");
    cr_expect_eq(memcmp(rv, rv_before, sizeof rv), 0, "eval changed running_var");
    /* momentum 0 keeps the running statistics; momentum 1 replaces them by the batch's */
    p.training = true;
    p.momentum = 0.0f;
    eb_batch_norm(g, tx, NULL, NULL, rm, rv, &p);
    cr_expect_eq(memcmp(rm, rm_before, sizeof rm), 0, "momentum 0 changed running_mean");
    p.momentum = 1.0f;
    eb_batch_norm(g, tx, NULL, NULL, rm, rv, &p);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    for (int c = 0; c < C; c++) {
        double m = 0.0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) m += (double)x[0][(n * C + c) * S + s] / (N * S);
        cr_expect(fabs((double)rm[c] - m) <= 1e-6, "momentum 1: running_mean[%d] = %g, batch mean %g", c,
                  (double)rm[c], m);
    }
    eb_graph_free(g);
}

/* spatial_std_pool against a direct float64 computation on x[3,4,5,6] with planes of different offsets
 * and scales (a large offset tests the two-pass variance), and against hand values:
 *   plane {1, 2, 3, 4}: μ = 2.5, Σ(x − μ)² = 5, y = √(5/3);  ∂y/∂x_k = (x_k − μ)/(3y)
 *   constant plane {7, 7, 7, 7}: y = 0, gradient 0 (the defined subgradient, no NaN). */
Test(conv_ops, spatial_std_pool_matches_a_direct_unbiased_std) {
    enum { N = 3, C = 4, H = 5, W = 6, M = H * W, SIZE = N * C * M };
    float *x = malloc(sizeof(float) * SIZE);
    eb_rng rng;
    eb_rng_seed(&rng, 77);
    eb_rng_fill_normal(&rng, x, SIZE, 0.0f, 1.0f);
    for (int pl = 0; pl < N * C; pl++)
        for (int k = 0; k < M; k++)
            x[pl * M + k] = 1000.0f * (float)(pl % 3) + (0.5f + (float)pl) * x[pl * M + k];
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *tx = eb_tensor_input(g, x, 4, EB_SHAPE(N, C, H, W), true);
    eb_tensor *y = eb_spatial_std_pool(g, tx);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    char buf[64];
    cr_expect_str_eq(eb_tensor_shape_str(y, buf, sizeof buf), "[3, 4]");
    double worst = 0.0;
    for (int pl = 0; pl < N * C; pl++) {
        double mu = 0.0, ss = 0.0;
        for (int k = 0; k < M; k++) mu += (double)x[pl * M + k];
        mu /= M;
        for (int k = 0; k < M; k++) ss += ((double)x[pl * M + k] - mu) * ((double)x[pl * M + k] - mu);
        double want = sqrt(ss / (M - 1));
        double rel = fabs((double)y->data[pl] - want) / want;
        worst = fmax(worst, rel);
        cr_expect(rel <= 1e-6, "plane %d: std %.9g, direct %.9g", pl, (double)y->data[pl], want);
    }
    cr_log_info("spatial_std_pool: max relative error vs direct float64 %.2e", worst);
    eb_graph_free(g);
    free(x);

    float v[8] = {1, 2, 3, 4, 7, 7, 7, 7};
    g = eb_graph_new(0, NULL);
    tx = eb_tensor_input(g, v, 4, EB_SHAPE(1, 2, 2, 2), true);
    y = eb_spatial_std_pool(g, tx);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    const double s = sqrt(5.0 / 3.0);
    cr_expect(fabs((double)y->data[0] - s) <= 1e-6, "std{1,2,3,4} = %.9g, expected %.9g", (double)y->data[0],
              s);
    cr_expect_eq(y->data[1], 0.0f, "std of a constant plane = %g", (double)y->data[1]);
    cr_assert_eq(eb_graph_backward(g, y, (const float[]){2.0f, 5.0f}), EB_OK);
    for (int k = 0; k < 4; k++) {
        double want = 2.0 * ((double)v[k] - 2.5) / (3.0 * s);
        cr_expect(fabs((double)tx->grad[k] - want) <= 1e-6, "grad[%d] = %.9g, expected %.9g", k,
                  (double)tx->grad[k], want);
        cr_expect_eq(tx->grad[4 + k], 0.0f, "constant plane: grad[%d] = %g, expected 0", 4 + k,
                     (double)tx->grad[4 + k]);
    }
    eb_graph_free(g);
}

/* The output of the small CNN block shapes: conv(pad 1) keeps 28x28, pooling halves it. */
Test(conv_ops, output_shapes_follow_the_formulas) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *x = eb_tensor_zeros(g, 4, EB_SHAPE(2, 1, 28, 28));
    eb_tensor *w = eb_tensor_zeros(g, 4, EB_SHAPE(32, 1, 3, 3));
    eb_conv2d_params cp = {1, 1, 1, 1};
    eb_tensor *y = eb_conv2d(g, x, w, NULL, &cp);
    eb_pool2d_params pp = eb_pool2d_params_square(2, 2, 0);
    eb_tensor *z = eb_max_pool2d(g, y, &pp);
    cp = (eb_conv2d_params){2, 3, 0, 2};
    eb_tensor *u = eb_conv2d(g, z, eb_tensor_zeros(g, 4, EB_SHAPE(5, 32, 3, 4)), NULL, &cp);
    eb_tensor *v = eb_global_avg_pool(g, u);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    char buf[64];
    cr_expect_str_eq(eb_tensor_shape_str(y, buf, sizeof buf), "[2, 32, 28, 28]");
    cr_expect_str_eq(eb_tensor_shape_str(z, buf, sizeof buf), "[2, 32, 14, 14]");
    /* H' = ⌊(14 − 3)/2⌋ + 1 = 6, W' = ⌊(14 + 4 − 4)/3⌋ + 1 = 5 */
    cr_expect_str_eq(eb_tensor_shape_str(u, buf, sizeof buf), "[2, 5, 6, 5]");
    cr_expect_str_eq(eb_tensor_shape_str(v, buf, sizeof buf), "[2, 5]");
    eb_graph_free(g);
}

/* An empty batch flows through forward and backward (no error, no parameter gradient). */
Test(conv_ops, empty_batch_gives_empty_outputs) {
    float w[2 * 3 * 3 * 3], gw[2 * 3 * 3 * 3] = {0}, rm[2] = {0}, rv[2] = {1, 1};
    for (int i = 0; i < 54; i++) w[i] = 0.1f * (float)(i % 7);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *x = eb_tensor_input(g, NULL, 4, EB_SHAPE(0, 3, 6, 5), true);
    eb_tensor *tw = eb_tensor_param(g, w, gw, 4, EB_SHAPE(2, 3, 3, 3));
    eb_conv2d_params cp = {1, 1, 1, 1};
    eb_batch_norm_params bp = eb_batch_norm_default_params();
    bp.training = false;
    eb_pool2d_params pp = eb_pool2d_params_square(2, 2, 0);
    eb_tensor *y = eb_batch_norm(g, eb_conv2d(g, x, tw, NULL, &cp), NULL, NULL, rm, rv, &bp);
    eb_tensor *z = eb_global_avg_pool(g, eb_avg_pool2d(g, eb_max_pool2d(g, y, &pp), &pp));
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    char buf[64];
    cr_expect_str_eq(eb_tensor_shape_str(y, buf, sizeof buf), "[0, 2, 6, 5]");
    cr_expect_str_eq(eb_tensor_shape_str(z, buf, sizeof buf), "[0, 2]");
    cr_assert_eq(eb_graph_backward(g, z, NULL), EB_OK, "%s", eb_graph_error(g));
    for (int i = 0; i < 54; i++) cr_expect_eq(gw[i], 0.0f);
    eb_graph_free(g);
}

/* ---- bad shapes and arguments: sticky errors naming the op and the shapes ---------------------------- */

/* The graph failed with `status`, its message holds every needle, and a later op passes the poison
 * through without replacing the first error. */
static void expect_failed(eb_graph *g, eb_status status, const char *needles[], int n_needles) {
    cr_assert_eq(eb_graph_status(g), status, "expected status %s, got %s (%s)", eb_status_str(status),
                 eb_status_str(eb_graph_status(g)), eb_graph_error(g));
    for (int i = 0; i < n_needles; i++)
        cr_expect_not_null(strstr(eb_graph_error(g), needles[i]), "error \"%s\" does not mention \"%s\"",
                           eb_graph_error(g), needles[i]);
    char first[512];
    snprintf(first, sizeof first, "%s", eb_graph_error(g));
    eb_tensor *later = eb_relu(g, eb_tensor_zeros(g, 1, EB_SHAPE(3)));
    cr_expect_eq(later->size, 1, "a later op must return the poison tensor");
    cr_expect_str_eq(eb_graph_error(g), first, "the first error must stick");
}

#define NEEDLES(...)                                                                                         \
    ((const char *[]){__VA_ARGS__}), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *))

Test(conv_ops_errors, conv2d_channel_mismatch) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *y = eb_conv2d(g, eb_tensor_zeros(g, 4, EB_SHAPE(2, 3, 5, 5)),
                             eb_tensor_zeros(g, 4, EB_SHAPE(4, 2, 3, 3)), NULL, NULL);
    cr_expect_eq(y->size, 1, "a failed op returns the poison tensor");
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("conv2d", "[2, 3, 5, 5]", "[4, 2, 3, 3]", "channels"));
    eb_graph_free(g);
}

Test(conv_ops_errors, conv2d_kernel_larger_than_padded_input) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_conv2d_params p = {1, 1, 1, 0};
    eb_conv2d(g, eb_tensor_zeros(g, 4, EB_SHAPE(1, 2, 4, 3)), eb_tensor_zeros(g, 4, EB_SHAPE(3, 2, 5, 4)),
              NULL, &p);
    expect_failed(g, EB_ERR_SHAPE,
                  NEEDLES("conv2d", "[1, 2, 4, 3]", "[3, 2, 5, 4]", "larger than the padded input"));
    eb_graph_free(g);
}

Test(conv_ops_errors, conv2d_bias_and_rank) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_conv2d(g, eb_tensor_zeros(g, 4, EB_SHAPE(1, 2, 4, 4)), eb_tensor_zeros(g, 4, EB_SHAPE(3, 2, 3, 3)),
              eb_tensor_zeros(g, 1, EB_SHAPE(2)), NULL);
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("conv2d", "[3, 2, 3, 3]", "[2]", "bias"));
    eb_graph_reset(g);
    eb_conv2d(g, eb_tensor_zeros(g, 3, EB_SHAPE(2, 4, 4)), eb_tensor_zeros(g, 4, EB_SHAPE(3, 2, 3, 3)), NULL,
              NULL);
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("conv2d", "[2, 4, 4]", "x[N,C,H,W]"));
    eb_graph_free(g);
}

Test(conv_ops_errors, conv2d_bad_stride_or_padding) {
    const eb_conv2d_params bad[] = {{0, 1, 0, 0}, {1, -1, 0, 0}, {1, 1, -1, 0}, {1, 1, 0, -2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_graph *g = eb_graph_new(0, NULL);
        eb_conv2d(g, eb_tensor_zeros(g, 4, EB_SHAPE(1, 1, 4, 4)), eb_tensor_zeros(g, 4, EB_SHAPE(1, 1, 3, 3)),
                  NULL, &bad[i]);
        expect_failed(g, EB_ERR_ARG, NEEDLES("conv2d", "stride"));
        eb_graph_free(g);
    }
}

Test(conv_ops_errors, batch_norm_wrong_gamma_or_beta_size) {
    eb_graph *g = eb_graph_new(0, NULL);
    float rm[3] = {0}, rv[3] = {1, 1, 1};
    eb_tensor *x = eb_tensor_zeros(g, 4, EB_SHAPE(2, 3, 2, 2));
    eb_batch_norm(g, x, eb_tensor_zeros(g, 1, EB_SHAPE(4)), eb_tensor_zeros(g, 1, EB_SHAPE(3)), rm, rv, NULL);
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("batch_norm", "[2, 3, 2, 2]", "[4]", "gamma"));
    cr_expect(rm[0] == 0.0f && rv[0] == 1.0f, "a failed batch_norm must not touch the running statistics");
    eb_graph_reset(g);
    x = eb_tensor_zeros(g, 2, EB_SHAPE(5, 3));
    eb_batch_norm(g, x, NULL, eb_tensor_zeros(g, 2, EB_SHAPE(1, 3)), rm, rv, NULL);
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("batch_norm", "[5, 3]", "[1, 3]", "beta"));
    eb_graph_free(g);
}

Test(conv_ops_errors, batch_norm_rank_and_single_value_per_channel) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_batch_norm(g, eb_tensor_zeros(g, 3, EB_SHAPE(2, 3, 4)), NULL, NULL, NULL, NULL, NULL);
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("batch_norm", "[2, 3, 4]"));
    eb_graph_reset(g);
    float rm[3] = {0}, rv[3] = {1, 1, 1};
    eb_batch_norm(g, eb_tensor_zeros(g, 4, EB_SHAPE(1, 3, 1, 1)), NULL, NULL, rm, rv, NULL);
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("batch_norm", "[1, 3, 1, 1]", "more than 1 value"));
    cr_expect(rm[0] == 0.0f && rv[0] == 1.0f, "a failed batch_norm must not touch the running statistics");
    /* ... but eval mode normalises a single sample */
    eb_graph_reset(g);
    eb_batch_norm_params p = eb_batch_norm_default_params();
    p.training = false;
    eb_batch_norm(g, eb_tensor_zeros(g, 4, EB_SHAPE(1, 3, 1, 1)), NULL, NULL, rm, rv, &p);
    cr_expect_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    eb_graph_free(g);
}

Test(conv_ops_errors, batch_norm_bad_arguments) {
    float rm[2] = {0}, rv[2] = {1, 1};
    const eb_batch_norm_params bad[] = {
        {-0.1f, 1e-5f, true, NULL, false}, {1.5f, 1e-5f, true, NULL, false},
        {NAN, 1e-5f, true, NULL, false},   {0.1f, 0.0f, true, NULL, false},
        {0.1f, -1.0f, true, NULL, false},  {0.1f, INFINITY, false, NULL, false}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_graph *g = eb_graph_new(0, NULL);
        eb_batch_norm(g, eb_tensor_zeros(g, 2, EB_SHAPE(4, 2)), NULL, NULL, rm, rv, &bad[i]);
        expect_failed(g, EB_ERR_ARG, NEEDLES("batch_norm", "momentum"));
        eb_graph_free(g);
    }
    eb_batch_norm_params eval = eb_batch_norm_default_params();
    eval.training = false;
    eb_graph *g = eb_graph_new(0, NULL);
    eb_batch_norm(g, eb_tensor_zeros(g, 2, EB_SHAPE(4, 2)), NULL, NULL, NULL, NULL, &eval);
    expect_failed(g, EB_ERR_ARG, NEEDLES("batch_norm", "eval", "running"));
    eb_graph_reset(g);
    eb_batch_norm(g, eb_tensor_zeros(g, 2, EB_SHAPE(4, 2)), NULL, NULL, rm, NULL, NULL);
    expect_failed(g, EB_ERR_ARG, NEEDLES("batch_norm", "running_var"));
    cr_expect(rm[0] == 0.0f, "a failed batch_norm must not touch the running statistics");
    eb_graph_free(g);
}

Test(conv_ops_errors, pool_window_larger_than_padded_input) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_pool2d_params p = eb_pool2d_params_square(3, 1, 0);
    eb_max_pool2d(g, eb_tensor_zeros(g, 4, EB_SHAPE(1, 2, 2, 5)), &p);
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("max_pool2d", "[1, 2, 2, 5]", "larger than the padded input"));
    eb_graph_reset(g);
    p = (eb_pool2d_params){
        .kernel_h = 2, .kernel_w = 6, .stride_h = 1, .stride_w = 1, .pad_h = 0, .pad_w = 0};
    eb_avg_pool2d(g, eb_tensor_zeros(g, 4, EB_SHAPE(1, 2, 2, 5)), &p);
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("avg_pool2d", "[1, 2, 2, 5]", "larger than the padded input"));
    eb_graph_free(g);
}

Test(conv_ops_errors, pool_bad_parameters_and_rank) {
    const eb_pool2d_params bad[] = {eb_pool2d_params_square(0, 1, 0), eb_pool2d_params_square(2, 0, 0),
                                    eb_pool2d_params_square(3, 1, 2), eb_pool2d_params_square(2, 2, -1)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_graph *g = eb_graph_new(0, NULL);
        eb_max_pool2d(g, eb_tensor_zeros(g, 4, EB_SHAPE(1, 1, 6, 6)), &bad[i]);
        expect_failed(g, EB_ERR_ARG, NEEDLES("max_pool2d", "kernel"));
        eb_graph_free(g);
    }
    eb_graph *g = eb_graph_new(0, NULL);
    eb_avg_pool2d(g, eb_tensor_zeros(g, 4, EB_SHAPE(1, 1, 6, 6)), NULL);
    expect_failed(g, EB_ERR_ARG, NEEDLES("avg_pool2d", "NULL"));
    eb_graph_reset(g);
    eb_pool2d_params p = eb_pool2d_params_square(2, 2, 0);
    eb_max_pool2d(g, eb_tensor_zeros(g, 2, EB_SHAPE(4, 4)), &p);
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("max_pool2d", "[4, 4]", "x[N,C,H,W]"));
    eb_graph_reset(g);
    eb_global_avg_pool(g, eb_tensor_zeros(g, 3, EB_SHAPE(2, 3, 4)));
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("global_avg_pool", "[2, 3, 4]"));
    eb_graph_reset(g);
    eb_spatial_std_pool(g, eb_tensor_zeros(g, 2, EB_SHAPE(2, 3)));
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("spatial_std_pool", "[2, 3]", "x[N,C,H,W]"));
    eb_graph_reset(g);
    /* one value per plane: the unbiased std would divide by H·W − 1 = 0 */
    eb_spatial_std_pool(g, eb_tensor_zeros(g, 4, EB_SHAPE(2, 3, 1, 1)));
    expect_failed(g, EB_ERR_SHAPE, NEEDLES("spatial_std_pool", "[2, 3, 1, 1]", "H·W >= 2"));
    eb_graph_free(g);
}

/* A graph that has already failed: the ops return the poison without touching anything. */
Test(conv_ops_errors, failed_graph_passes_poison_through) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_graph_fail(g, EB_ERR_ARG, "earlier failure");
    float rm[2] = {0}, rv[2] = {1, 1};
    eb_tensor *x = eb_tensor_zeros(g, 4, EB_SHAPE(2, 2, 4, 4));
    eb_pool2d_params p = eb_pool2d_params_square(2, 2, 0);
    eb_tensor *outs[] = {eb_conv2d(g, x, x, NULL, NULL), eb_batch_norm(g, x, NULL, NULL, rm, rv, NULL),
                         eb_max_pool2d(g, x, &p),        eb_avg_pool2d(g, x, &p),
                         eb_global_avg_pool(g, x),       eb_spatial_std_pool(g, x)};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) cr_expect_eq(outs[i], outs[0], "op %zu", i);
    cr_expect_eq(outs[0]->size, 1);
    cr_expect_str_eq(eb_graph_error(g), "earlier failure");
    cr_expect(rm[0] == 0.0f && rv[0] == 1.0f);
    eb_graph_free(g);
}
