/* Fast paths of the tape against the general code they replace:
 *  - batch_norm on x[N, C]: the row-major 2-D kernels vs the general [N, C, S] kernels (bitwise:
 *    both add the same doubles in the same order), training and eval, with and without γ/β, a
 *    channel count that is not a multiple of the 64-channel block, sizes below and above the
 *    parallel threshold;
 *  - the backward sweep's "first writer stores" rule (graph.c, eb__grad_fresh): gradients through
 *    linear / unary / reshape chains, a tensor consumed by several nodes (the first writer stores,
 *    the others accumulate), a source used twice by one node, and a second sweep on the same
 *    graph, all against gradients written out by hand in double; batch_norm, conv2d and max_pool2d as first
 *    writers;
 *  - max_pool2d with 2×2 windows, stride 2, no padding: the fast loops (AVX-512 and portable) vs the general
 * one (bitwise values and argmax, i.e. gradients), with ties, NaNs, −∞ and odd sizes (floor mode);
 *  - batch_norm with the fused ReLU (eb_batch_norm_params.relu) vs eb_relu on the BatchNorm's output (bitwise
 *    values, gradients and running statistics), 4-D and 2-D, training and eval, with and without γ/β, exact
 *    zeros and a NaN at the ReLU's kink, its input gradient stored (first writer) and accumulated. */
#include <criterion/criterion.h>

#include <ebood/tensor.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/graph_impl.h"

static float urand(uint64_t *s) { /* splitmix64 → U[−1, 1) */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 40) * 0x1.0p-23 - 1.0);
}

static void fill(float *v, int64_t n, uint64_t seed, float scale, float shift) {
    for (int64_t i = 0; i < n; i++) v[i] = urand(&seed) * scale + shift;
}

typedef struct bn_result {
    float *y, *gx, *ggamma, *gbeta, *rm, *rv;
} bn_result;

/* The inputs of one batch_norm test run on `size` values of c channels: x (mean ≈ 0.5, far from 0: exercises
 * the centring), the backward seed r, γ, β, and the result's buffers with its running statistics filled;
 * seeds seed .. seed + 5. */
typedef struct bn_inputs {
    float *x, *r, *gamma, *beta;
} bn_inputs;

static bn_inputs bn_inputs_make(int64_t size, int64_t c, uint64_t seed, bn_result *res) {
    *res = (bn_result){malloc((size_t)size * sizeof(float)), malloc((size_t)size * sizeof(float)),
                       calloc((size_t)c, sizeof(float)),     calloc((size_t)c, sizeof(float)),
                       malloc((size_t)c * sizeof(float)),    malloc((size_t)c * sizeof(float))};
    bn_inputs in = {malloc((size_t)size * sizeof(float)), malloc((size_t)size * sizeof(float)),
                    malloc((size_t)c * sizeof(float)), malloc((size_t)c * sizeof(float))};
    cr_assert(res->y && res->gx && res->ggamma && res->gbeta && res->rm && res->rv && in.x && in.r &&
              in.gamma && in.beta);
    fill(in.x, size, seed, 3.0f, 0.5f);
    fill(in.r, size, seed + 1, 1.0f, 0.0f);
    fill(in.gamma, c, seed + 2, 0.5f, 1.0f);
    fill(in.beta, c, seed + 3, 0.5f, 0.0f);
    fill(res->rm, c, seed + 4, 0.2f, 0.0f);
    fill(res->rv, c, seed + 5, 0.2f, 1.0f);
    return in;
}

static void bn_inputs_free(bn_inputs *in) {
    free(in->x);
    free(in->r);
    free(in->gamma);
    free(in->beta);
}

/* One batch_norm forward + backward with seed r on x[n, c]; general path if `general`. */
static bn_result run_bn(int64_t n, int64_t c, bool training, bool affine, bool general) {
    const int64_t size = n * c;
    bn_result res;
    bn_inputs in = bn_inputs_make(size, c, 11, &res);
    float *x = in.x, *r = in.r, *gamma = in.gamma, *beta = in.beta;
    eb_graph *g = eb_graph_new(0, NULL);
    cr_assert_not_null(g);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(n, c), true);
    eb_tensor *gt = affine ? eb_tensor_param(g, gamma, res.ggamma, 1, EB_SHAPE(c)) : NULL;
    eb_tensor *bt = affine ? eb_tensor_param(g, beta, res.gbeta, 1, EB_SHAPE(c)) : NULL;
    eb_batch_norm_params p = eb_batch_norm_default_params();
    p.training = training;
    eb__bn_force_general = general;
    eb_tensor *y = eb_batch_norm(g, xt, gt, bt, res.rm, res.rv, &p);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(eb_graph_backward(g, y, r), EB_OK, "%s", eb_graph_error(g));
    eb__bn_force_general = false;
    memcpy(res.y, y->data, (size_t)size * sizeof(float));
    memcpy(res.gx, xt->grad, (size_t)size * sizeof(float));
    eb_graph_free(g);
    bn_inputs_free(&in);
    return res;
}

static void bn_free(bn_result *r) {
    free(r->y);
    free(r->gx);
    free(r->ggamma);
    free(r->gbeta);
    free(r->rm);
    free(r->rv);
}

static void check_bn_same(int64_t n, int64_t c, bool training, bool affine) {
    bn_result fast = run_bn(n, c, training, affine, false), ref = run_bn(n, c, training, affine, true);
    const char *what[] = {"y", "dx", "dgamma", "dbeta", "running_mean", "running_var"};
    float *a[] = {fast.y, fast.gx, fast.ggamma, fast.gbeta, fast.rm, fast.rv};
    float *b[] = {ref.y, ref.gx, ref.ggamma, ref.gbeta, ref.rm, ref.rv};
    int64_t len[] = {n * c, n * c, c, c, c, c};
    for (int k = 0; k < 6; k++)
        for (int64_t i = 0; i < len[k]; i++)
            cr_assert(a[k][i] == b[k][i] || (isnan(a[k][i]) && isnan(b[k][i])),
                      "batch_norm [%lld, %lld] %s %s: %s[%lld] fast %.9g general %.9g", (long long)n,
                      (long long)c, training ? "train" : "eval", affine ? "affine" : "plain", what[k],
                      (long long)i, (double)a[k][i], (double)b[k][i]);
    /* the general path itself is right: dx sums to ~0 per channel in training (Σ over the batch of
     * ∂/∂x of a normalised quantity), which a wrong fast path copied into both would not fix */
    if (training)
        for (int64_t ch = 0; ch < c; ch++) {
            double s = 0.0, m = 0.0;
            for (int64_t i = 0; i < n; i++)
                s += (double)fast.gx[i * c + ch], m += fabs((double)fast.gx[i * c + ch]);
            cr_assert(fabs(s) <= 1e-4 * (m + 1e-3), "batch_norm dx of channel %lld sums to %g", (long long)ch,
                      s);
        }
    bn_free(&fast);
    bn_free(&ref);
}

Test(batch_norm_2d, fast_path_matches_general_bitwise) {
    const int64_t shapes[][2] = {{2, 1}, {5, 3}, {37, 64}, {64, 130}, {300, 130}, {1024, 40}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int mode = 0; mode < 4; mode++) check_bn_same(shapes[k][0], shapes[k][1], mode & 1, mode & 2);
}

/* ---- first-writer stores ----------------------------------------------------------------------------- */

static double leaky(double v, double s) { return v > 0 ? v : s * v; }
static double dleaky(double v, double s) { return v > 0 ? 1.0 : s; }

/* L = Σ_ij r_ij·leaky(x·Wᵀ + b)_ij reshaped, plus Σ tanh(h) + Σ σ(h) on h = x·Wᵀ + b (h has three
 * consumers), plus Σ (u ⊙ u) with u = exp(x) (one node using a source twice). */
Test(backward_fresh, gradients_match_hand_derivation) {
    const int64_t n = 7, in = 5, out = 4;
    float x[7 * 5], w[4 * 5], b[4], r[7 * 4], gw[4 * 5] = {0}, gb[4] = {0};
    fill(x, n * in, 1, 1.0f, 0.0f);
    fill(w, out * in, 2, 0.7f, 0.0f);
    fill(b, out, 3, 0.3f, 0.0f);
    fill(r, n * out, 4, 1.0f, 0.0f);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(n, in), true);
    eb_tensor *wt = eb_tensor_param(g, w, gw, 2, EB_SHAPE(out, in));
    eb_tensor *bt = eb_tensor_param(g, b, gb, 1, EB_SHAPE(out));
    eb_tensor *h = eb_linear(g, xt, wt, bt);
    eb_tensor *a = eb_reshape(g, eb_leaky_relu(g, h, 0.1f), 1, EB_SHAPE(n * out));
    eb_tensor *ra = eb_sum_all(g, eb_mul(g, a, eb_tensor_copy(g, r, 1, EB_SHAPE(n * out))));
    eb_tensor *t = eb_add(g, eb_sum_all(g, eb_tanh(g, h)), eb_sum_all(g, eb_sigmoid(g, h)));
    eb_tensor *u = eb_exp(g, xt);
    eb_tensor *loss = eb_add(g, eb_add(g, ra, t), eb_sum_all(g, eb_mul(g, u, u)));
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    for (int sweep = 1; sweep <= 2; sweep++) {
        cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "%s", eb_graph_error(g));
        /* by hand: dL/dh_ij = r_ij·leaky'(h_ij) + (1 − tanh²) + σ(1 − σ); dx = dh·W + 2e^{2x}; dW = dhᵀx */
        double dh[7 * 4], dx[7 * 5] = {0}, dw[4 * 5] = {0}, db[4] = {0};
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < out; j++) {
                double hv = (double)b[j];
                for (int64_t k = 0; k < in; k++) hv += (double)x[i * in + k] * (double)w[j * in + k];
                double th = tanh(hv), sg = 1.0 / (1.0 + exp(-hv));
                dh[i * out + j] =
                    (double)r[i * out + j] * dleaky(hv, 0.1) + (1.0 - th * th) + sg * (1.0 - sg);
                (void)leaky;
            }
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < in; k++) {
                dx[i * in + k] = 2.0 * exp(2.0 * (double)x[i * in + k]);
                for (int64_t j = 0; j < out; j++) dx[i * in + k] += dh[i * out + j] * (double)w[j * in + k];
            }
        for (int64_t j = 0; j < out; j++)
            for (int64_t i = 0; i < n; i++) {
                db[j] += dh[i * out + j];
                for (int64_t k = 0; k < in; k++) dw[j * in + k] += dh[i * out + j] * (double)x[i * in + k];
            }
        /* leaves accumulate over sweeps: after sweep s they hold s times the gradient */
        for (int64_t i = 0; i < n * in; i++)
            cr_assert(fabs((double)xt->grad[i] - sweep * dx[i]) <= 1e-5 * (1.0 + fabs(sweep * dx[i])),
                      "sweep %d dx[%lld] %.8g expected %.8g", sweep, (long long)i, (double)xt->grad[i],
                      sweep * dx[i]);
        for (int64_t i = 0; i < out * in; i++)
            cr_assert(fabs((double)gw[i] - sweep * dw[i]) <= 1e-5 * (1.0 + fabs(sweep * dw[i])),
                      "sweep %d dW[%lld] %.8g expected %.8g", sweep, (long long)i, (double)gw[i],
                      sweep * dw[i]);
        for (int64_t j = 0; j < out; j++)
            cr_assert(fabs((double)gb[j] - sweep * db[j]) <= 1e-5 * (1.0 + fabs(sweep * db[j])),
                      "sweep %d db[%lld] %.8g expected %.8g", sweep, (long long)j, (double)gb[j],
                      sweep * db[j]);
    }
    eb_graph_free(g);
}

/* A computed (non-leaf) weight and bias: linear's dW / db are then first-written intermediates. */
Test(backward_fresh, computed_weight_and_bias) {
    const int64_t n = 6, in = 3, out = 2;
    float x[6 * 3], w[2 * 3], b[2];
    fill(x, n * in, 5, 1.0f, 0.0f);
    fill(w, out * in, 6, 1.0f, 0.0f);
    fill(b, out, 7, 1.0f, 0.0f);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(n, in), false);
    eb_tensor *wt = eb_tensor_input(g, w, 2, EB_SHAPE(out, in), true);
    eb_tensor *bt = eb_tensor_input(g, b, 1, EB_SHAPE(out), true);
    /* W' = 2W, b' = 3b: their gradients are intermediate buffers written first by linear */
    eb_tensor *y = eb_linear(g, xt, eb_mul_scalar(g, wt, 2.0f), eb_mul_scalar(g, bt, 3.0f));
    eb_tensor *loss = eb_sum_all(g, y);
    cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "%s", eb_graph_error(g));
    for (int64_t j = 0; j < out; j++) {
        cr_assert_float_eq(bt->grad[j], 3.0f * (float)n, 1e-5f);
        for (int64_t k = 0; k < in; k++) {
            double s = 0.0;
            for (int64_t i = 0; i < n; i++) s += (double)x[i * in + k];
            cr_assert_float_eq(wt->grad[j * in + k], (float)(2.0 * s), 1e-5f);
        }
    }
    eb_graph_free(g);
}

/* y and dx of a 2×2 / stride-2 max-pool of x[n, c, h, w] (seeded backward) by one of the loops: 0 the fast
 * path as dispatched (AVX-512 where the CPU has it), 1 the general loop, 2 the fast path's portable row
 * kernel; with grad false, no backward (the inference path: no argmax) and gx is not written. */
static void run_pool(const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int loop, bool grad,
                     float *y, float *gx) {
    const int64_t size = n * c * h * w, oh = h / 2, ow = w / 2, osize = n * c * oh * ow;
    float *seed = malloc((size_t)osize * sizeof(float));
    cr_assert_not_null(seed);
    for (int64_t i = 0; i < osize; i++) seed[i] = 1.0f + (float)(i % 7);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xt = eb_tensor_input(g, (float *)x, 4, EB_SHAPE(n, c, h, w), grad);
    eb_pool2d_params p = eb_pool2d_params_square(2, 2, 0);
    eb__pool_force_general = loop == 1;
    eb__pool_force_portable = loop == 2;
    eb_tensor *yt = eb_max_pool2d(g, xt, &p);
    eb__pool_force_general = eb__pool_force_portable = false;
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(yt->shape[2] * yt->shape[3], oh * ow);
    memcpy(y, yt->data, (size_t)osize * sizeof(float));
    if (grad) {
        cr_assert_eq(eb_graph_backward(g, yt, seed), EB_OK, "%s", eb_graph_error(g));
        memcpy(gx, xt->grad, (size_t)size * sizeof(float));
    }
    eb_graph_free(g);
    free(seed);
}

Test(pool_fast_path, max_pool_2x2_matches_general_loop) {
    /* the third above the threshold; ow = 33 and 16: whole and partial 16-output steps of the AVX-512 kernel
     */
    const int64_t shapes[][4] = {{2, 3, 6, 8}, {1, 2, 5, 7}, {3, 70, 28, 28}, {2, 3, 4, 66}, {1, 2, 4, 32}};
    for (int k = 0; k < 5; k++) {
        const int64_t n = shapes[k][0], c = shapes[k][1], h = shapes[k][2], w = shapes[k][3];
        const int64_t size = n * c * h * w, osize = n * c * (h / 2) * (w / 2);
        float *x = malloc((size_t)size * sizeof(float));
        float *y[3], *gx[3];
        for (int l = 0; l < 3; l++) {
            y[l] = malloc((size_t)osize * sizeof(float));
            gx[l] = malloc((size_t)size * sizeof(float));
            cr_assert(y[l] && gx[l]);
        }
        cr_assert(x);
        uint64_t st = 99 + (uint64_t)k;
        for (int64_t i = 0; i < size; i++) {
            float u = urand(&st);
            /* coarse values (many ties), some NaN and −∞ */
            x[i] = i % 53 == 0 ? NAN : i % 41 == 0 ? -INFINITY : roundf(u * 3.0f);
        }
        for (int grad = 1; grad >= 0; grad--) {
            for (int loop = 0; loop < 3; loop++) run_pool(x, n, c, h, w, loop, grad, y[loop], gx[loop]);
            for (int loop = 0; loop < 3; loop += 2) {
                for (int64_t i = 0; i < osize; i++)
                    cr_assert(y[loop][i] == y[1][i] || (isnan(y[loop][i]) && isnan(y[1][i])),
                              "shape %d, loop %d, grad %d: y[%lld] %g vs %g", k, loop, grad, (long long)i,
                              (double)y[loop][i], (double)y[1][i]);
                if (grad)
                    cr_assert_eq(memcmp(gx[loop], gx[1], (size_t)size * sizeof(float)), 0,
                                 "shape %d, loop %d: the argmax differs", k, loop);
            }
        }
        free(x);
        for (int l = 0; l < 3; l++) {
            free(y[l]);
            free(gx[l]);
        }
    }
}

/* batch_norm as the first writer of its input's gradient (eb__grad_fresh: stored, not accumulated) and of
 * computed γ, β (zeroed by the kernel): BN(2x; 2γ, 3β) through intermediates against BN(y; γ', β') on leaves
 * holding the same values, whose gradients take the accumulate path. 4-D (general path) and 2-D. */
static void bn_fresh_case(int nd, const int64_t *shape) {
    int64_t size = 1;
    for (int d = 0; d < nd; d++) size *= shape[d];
    const int64_t c = shape[1];
    float *x = malloc((size_t)size * sizeof(float)), *y = malloc((size_t)size * sizeof(float));
    float *w = malloc((size_t)size * sizeof(float));
    float gam[8], bet[8], gam2[8], bet3[8];
    cr_assert(x && y && w && c <= 8);
    fill(x, size, 11, 1.0f, 0.5f);
    fill(w, size, 12, 1.0f, 0.0f);
    fill(gam, c, 13, 0.5f, 1.0f);
    fill(bet, c, 14, 1.0f, 0.0f);
    for (int64_t i = 0; i < size; i++) y[i] = 2.0f * x[i];
    for (int64_t j = 0; j < c; j++) gam2[j] = 2.0f * gam[j], bet3[j] = 3.0f * bet[j];
    eb_graph *g = eb_graph_new(0, NULL), *h = eb_graph_new(0, NULL);
    eb_tensor *xt = eb_tensor_input(g, x, nd, shape, true),
              *gt = eb_tensor_input(g, gam, 1, EB_SHAPE(c), true);
    eb_tensor *bt = eb_tensor_input(g, bet, 1, EB_SHAPE(c), true);
    eb_tensor *out = eb_batch_norm(g, eb_mul_scalar(g, xt, 2.0f), eb_mul_scalar(g, gt, 2.0f),
                                   eb_mul_scalar(g, bt, 3.0f), NULL, NULL, NULL);
    eb_tensor *loss = eb_sum_all(g, eb_mul(g, out, eb_tensor_copy(g, w, nd, shape)));
    eb_tensor *yt = eb_tensor_input(h, y, nd, shape, true),
              *g2 = eb_tensor_input(h, gam2, 1, EB_SHAPE(c), true);
    eb_tensor *b3 = eb_tensor_input(h, bet3, 1, EB_SHAPE(c), true);
    eb_tensor *loss2 = eb_sum_all(
        h, eb_mul(h, eb_batch_norm(h, yt, g2, b3, NULL, NULL, NULL), eb_tensor_copy(h, w, nd, shape)));
    eb__grad_poison = true; /* BN's input gradient reuses a given-back span: NaN unless stored over */
    cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "%s", eb_graph_error(g));
    eb__grad_poison = false;
    cr_assert_eq(eb_graph_backward(h, loss2, NULL), EB_OK, "%s", eb_graph_error(h));
    for (int64_t i = 0; i < size; i++)
        cr_assert(xt->grad[i] == 2.0f * yt->grad[i], "%dD: dx[%lld] %g vs %g", nd, (long long)i,
                  (double)xt->grad[i], (double)(2.0f * yt->grad[i]));
    for (int64_t j = 0; j < c; j++) {
        cr_assert(gt->grad[j] == 2.0f * g2->grad[j], "%dD: dgamma[%lld]", nd, (long long)j);
        cr_assert(bt->grad[j] == 3.0f * b3->grad[j], "%dD: dbeta[%lld]", nd, (long long)j);
    }
    eb_graph_free(g);
    eb_graph_free(h);
    free(x);
    free(y);
    free(w);
}

/* Σ out·r + Σ 1·1·side for a side input of `spare` floats built after out: the sweep runs the side chain
 * first and gives back two gradient spans of `spare` floats, which (poisoned with NaN) then serve the
 * gradients of out and of its sources, so a kernel that reads a fresh gradient before writing it shows NaN.
 */
static eb_tensor *with_spare_spans(eb_graph *g, eb_tensor *out, const float *r, int64_t spare, float *side) {
    eb_tensor *rt = eb_tensor_copy(g, r, out->ndim, out->shape);
    eb_tensor *st = eb_tensor_input(g, side, 1, EB_SHAPE(spare), true);
    eb_tensor *chain = eb_mul_scalar(g, eb_mul_scalar(g, st, 1.0f), 1.0f);
    return eb_add(g, eb_sum_all(g, eb_mul(g, out, rt)), eb_sum_all(g, chain));
}

/* conv2d as the first writer of its input's gradient (stored by the backend: oneDNN's plain reorder, or
 * conv_bwd_data into gx itself) and of computed w, b (zeroed by the kernel): conv(2x; 2w, 3b) through
 * intermediates against conv(y; w', b') on leaves holding the same values (accumulated). C = 1 and C = 8
 * give oneDNN a plain and a blocked input-gradient layout. */
static void conv_fresh_case(int64_t n, int64_t c, int64_t hw, int64_t o) {
    const int64_t nx = n * c * hw * hw, nw = o * c * 9, ny = n * o * hw * hw;
    float *x = malloc((size_t)nx * sizeof(float)), *y = malloc((size_t)nx * sizeof(float));
    float *w = malloc((size_t)nw * sizeof(float)), *w2 = malloc((size_t)nw * sizeof(float));
    float *r = malloc((size_t)ny * sizeof(float)), b[16], b3[16];
    float *side = calloc((size_t)(nx + ny), sizeof(float));
    cr_assert(x && y && w && w2 && r && side && o <= 16);
    fill(x, nx, 31, 1.0f, 0.0f);
    fill(w, nw, 32, 0.5f, 0.0f);
    fill(r, ny, 33, 1.0f, 0.0f);
    fill(b, o, 34, 1.0f, 0.0f);
    for (int64_t i = 0; i < nx; i++) y[i] = 2.0f * x[i];
    for (int64_t i = 0; i < nw; i++) w2[i] = 2.0f * w[i];
    for (int64_t i = 0; i < o; i++) b3[i] = 3.0f * b[i];
    eb_conv2d_params p = eb_conv2d_default_params();
    p.pad_h = p.pad_w = 1;
    eb_graph *g = eb_graph_new(0, NULL), *h = eb_graph_new(0, NULL);
    const int64_t *xs = EB_SHAPE(n, c, hw, hw), *ws = EB_SHAPE(o, c, 3, 3);
    eb_tensor *xt = eb_tensor_input(g, x, 4, xs, true), *wt = eb_tensor_input(g, w, 4, ws, true);
    eb_tensor *bt = eb_tensor_input(g, b, 1, EB_SHAPE(o), true);
    eb_tensor *out =
        eb_conv2d(g, eb_mul_scalar(g, xt, 2.0f), eb_mul_scalar(g, wt, 2.0f), eb_mul_scalar(g, bt, 3.0f), &p);
    eb_tensor *yt = eb_tensor_input(h, y, 4, xs, true), *w2t = eb_tensor_input(h, w2, 4, ws, true);
    eb_tensor *b3t = eb_tensor_input(h, b3, 1, EB_SHAPE(o), true);
    eb_tensor *out2 = eb_conv2d(h, yt, w2t, b3t, &p), *loss = with_spare_spans(g, out, r, nx + ny, side);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    eb__grad_poison = true; /* the input gradient reuses a given-back span: NaN unless stored over */
    cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "%s", eb_graph_error(g));
    eb__grad_poison = false;
    cr_assert_eq(eb_graph_backward(h, out2, r), EB_OK, "%s", eb_graph_error(h));
    for (int64_t i = 0; i < nx; i++)
        cr_assert(xt->grad[i] == 2.0f * yt->grad[i], "conv C=%lld: dx[%lld] %g vs %g", (long long)c,
                  (long long)i, (double)xt->grad[i], (double)(2.0f * yt->grad[i]));
    for (int64_t i = 0; i < nw; i++)
        cr_assert(wt->grad[i] == 2.0f * w2t->grad[i], "conv C=%lld: dw[%lld]", (long long)c, (long long)i);
    for (int64_t i = 0; i < o; i++)
        cr_assert(bt->grad[i] == 3.0f * b3t->grad[i], "conv C=%lld: db[%lld]", (long long)c, (long long)i);
    eb_graph_free(g);
    eb_graph_free(h);
    free(x);
    free(y);
    free(w);
    free(w2);
    free(r);
    free(side);
}

Test(backward_fresh, conv2d_first_writer) {
    conv_fresh_case(2, 1, 6, 4);
    conv_fresh_case(3, 8, 7, 16);
}

/* max_pool2d as the first writer of its input's gradient (each plane zeroed just before its scatter):
 * pool(2x) through an intermediate, with NaN in the given-back span, against pool(y) on a leaf; 2×2 / stride
 * 2 (the fast path) and overlapping 3×3 / stride 1 windows with padding. */
static void pool_fresh_case(const eb_pool2d_params *p) {
    const int64_t n = 2, c = 3, hw = 9, nx = n * c * hw * hw;
    float *x = malloc((size_t)nx * sizeof(float)), *y = malloc((size_t)nx * sizeof(float));
    cr_assert(x && y);
    fill(x, nx, 41, 1.0f, 0.0f);
    for (int64_t i = 0; i < nx; i++) y[i] = 2.0f * x[i];
    eb_graph *g = eb_graph_new(0, NULL), *h = eb_graph_new(0, NULL);
    const int64_t *xs = EB_SHAPE(n, c, hw, hw);
    eb_tensor *xt = eb_tensor_input(g, x, 4, xs, true), *yt = eb_tensor_input(h, y, 4, xs, true);
    eb_tensor *out = eb_max_pool2d(g, eb_mul_scalar(g, xt, 2.0f), p), *out2 = eb_max_pool2d(h, yt, p);
    float *r = malloc((size_t)out->size * sizeof(float)), *side = calloc((size_t)(2 * nx), sizeof(float));
    cr_assert(r && side);
    fill(r, out->size, 42, 1.0f, 0.0f);
    eb_tensor *loss = with_spare_spans(g, out, r, 2 * nx, side);
    eb__grad_poison = true;
    cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "%s", eb_graph_error(g));
    eb__grad_poison = false;
    cr_assert_eq(eb_graph_backward(h, out2, r), EB_OK, "%s", eb_graph_error(h));
    for (int64_t i = 0; i < nx; i++)
        cr_assert(xt->grad[i] == 2.0f * yt->grad[i], "max_pool kernel %d: dx[%lld] %g vs %g", p->kernel_h,
                  (long long)i, (double)xt->grad[i], (double)(2.0f * yt->grad[i]));
    eb_graph_free(g);
    eb_graph_free(h);
    free(x);
    free(y);
    free(r);
    free(side);
}

Test(backward_fresh, max_pool2d_first_writer) {
    const eb_pool2d_params p2 = eb_pool2d_params_square(2, 2, 0), p3 = eb_pool2d_params_square(3, 1, 1);
    pool_fresh_case(&p2);
    pool_fresh_case(&p3);
}

Test(backward_fresh, batch_norm_first_writer) {
    bn_fresh_case(4, EB_SHAPE(3, 5, 4, 3));
    bn_fresh_case(2, EB_SHAPE(9, 6));
}

/* ---- batch_norm with the fused ReLU ------------------------------------------------------------------ */

typedef struct bnr_case {
    int nd;
    int64_t shape[4];
    bool training, affine, general, through; /* through: x enters as 2·x (BN stores its input gradient) */
} bnr_case;

/* y = relu(BN(x)) fused (relu) or as two ops, then backward with seed r: y, dx, dγ, dβ, running stats. */
static bn_result run_bn_relu(const bnr_case *k, bool fused) {
    int64_t size = 1;
    for (int d = 0; d < k->nd; d++) size *= k->shape[d];
    const int64_t c = k->shape[1], s = size / (k->shape[0] * c);
    bn_result res;
    bn_inputs bi = bn_inputs_make(size, c, 21, &res);
    float *x = bi.x, *r = bi.r, *gamma = bi.gamma, *beta = bi.beta;
    if (!k->affine && !k->training) /* eval, β = 0: y = (x − rm)·r is an exact 0 where x = rm */
        for (int64_t i = 0; i < size; i += 3) x[i] = res.rm[(i / s) % c] / (k->through ? 2.0f : 1.0f);
    if (!k->training) x[size / 2] = NAN; /* NaN in the output: relu gives 0, its derivative 0 */
    eb_graph *g = eb_graph_new(0, NULL);
    cr_assert_not_null(g);
    eb_tensor *xt = eb_tensor_input(g, x, k->nd, k->shape, true);
    eb_tensor *in = k->through ? eb_mul_scalar(g, xt, 2.0f) : xt;
    eb_tensor *gt = k->affine ? eb_tensor_param(g, gamma, res.ggamma, 1, EB_SHAPE(c)) : NULL;
    eb_tensor *bt = k->affine ? eb_tensor_param(g, beta, res.gbeta, 1, EB_SHAPE(c)) : NULL;
    eb_batch_norm_params p = eb_batch_norm_default_params();
    p.training = k->training;
    p.relu = fused;
    eb__bn_force_general = k->general;
    eb_tensor *y = eb_batch_norm(g, in, gt, bt, res.rm, res.rv, &p);
    if (!fused) y = eb_relu(g, y);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    eb__grad_poison = true; /* a stored input gradient lands on a NaN-filled given-back span */
    cr_assert_eq(eb_graph_backward(g, y, r), EB_OK, "%s", eb_graph_error(g));
    eb__grad_poison = false;
    eb__bn_force_general = false;
    memcpy(res.y, y->data, (size_t)size * sizeof(float));
    memcpy(res.gx, xt->grad, (size_t)size * sizeof(float));
    eb_graph_free(g);
    bn_inputs_free(&bi);
    return res;
}

Test(batch_norm_relu, fused_matches_unfused_bitwise) {
    const bnr_case cases[] = {
        {4, {4, 5, 7, 6}, true, true, false, false}, /* rows of 42: the 4-lane loop and its tail */
        {4, {4, 5, 7, 6}, true, false, false, true},     {4, {3, 4, 5, 5}, false, true, false, true},
        {4, {3, 4, 5, 5}, false, false, false, false},   {4, {16, 8, 28, 28}, true, true, false, true},
        {4, {16, 8, 28, 28}, false, true, false, false}, /* above the parallel threshold */
        {2, {37, 70}, true, true, false, false},         {2, {37, 70}, false, false, false, true},
        {2, {300, 130}, true, false, false, true},       {2, {37, 70}, true, true, true, true},
        {2, {37, 70}, false, false, true, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const bnr_case *bc = &cases[k];
        bn_result f = run_bn_relu(bc, true), u = run_bn_relu(bc, false);
        int64_t size = 1, zeros = 0, positive = 0;
        for (int d = 0; d < bc->nd; d++) size *= bc->shape[d];
        const int64_t c = bc->shape[1];
        const char *what[] = {"y", "dx", "dgamma", "dbeta", "running_mean", "running_var"};
        float *a[] = {f.y, f.gx, f.ggamma, f.gbeta, f.rm, f.rv},
              *b[] = {u.y, u.gx, u.ggamma, u.gbeta, u.rm, u.rv};
        const int64_t len[] = {size, size, c, c, c, c};
        for (int w = 0; w < 6; w++)
            for (int64_t i = 0; i < len[w]; i++)
                cr_assert((a[w][i] == b[w][i] && signbit(a[w][i]) == signbit(b[w][i])) ||
                              (isnan(a[w][i]) && isnan(b[w][i])),
                          "batch_norm relu case %zu: %s[%lld] fused %.9g unfused %.9g", k, what[w],
                          (long long)i, (double)a[w][i], (double)b[w][i]);
        for (int64_t i = 0; i < size; i++) zeros += f.y[i] == 0.0f, positive += f.y[i] > 0.0f;
        cr_assert(zeros > size / 10 && positive > size / 10, "case %zu: the mask is trivial (%lld zeros)", k,
                  (long long)zeros);
        bn_free(&f);
        bn_free(&u);
    }
}
