/* Gradient checks for every differentiable op of EB_OP_LIST and for composed losses.
 *
 * For each case: build the op on a fresh graph from random float32 inputs, take a fixed random
 * projection r (loss L = Σ r ⊙ out, i.e. eb_graph_backward(g, out, r)) and compare every analytic
 * input gradient with the central difference
 *     (L(x + h e_i) − L(x − h e_i)) / ((x_i + h) − (x_i − h)),
 * re-running the forward for each perturbed coordinate. L is accumulated in float64 from the
 * float32 outputs, and the denominator uses the float32-rounded perturbed inputs, so the only
 * errors left are the truncation error (h²/6 · f''') and float32 rounding of the affected outputs
 * (≈ 6e-8 · |r_k · out_k| / h per output). A mismatch counts when
 *     |analytic − numeric| > atol + rtol · max(|analytic|, |numeric|).
 * Kinks (relu, leaky_relu, abs, clamp, elu with α ≠ 1, max ties, max_pool2d window ties, l2_normalize
 * at ‖x‖ = eps) are kept at least 10·h away from every input; log/sqrt/div denominators stay positive
 * and away from 0; batch_norm's batch variances and spatial_std_pool's plane variances stay away from 0.
 *
 * Coverage: every check marks the op of the node it differentiated (out->op) in gc_covered; the
 * test gradcheck.every_op_has_a_gradient_check runs all checks in one process (Criterion forks
 * one process per Test) and fails naming each op of EB_OP_LIST that no check reached. */
#include <criterion/criterion.h>

#include <ebood/tensor.h>

#include "tensor/graph_impl.h" /* eb__grad_poison */

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Every check here runs with the backward sweep's given-back gradient buffers poisoned (NaN): a kernel
 * that read a gradient after the sweep released it would fail its check (graph.c, issue 16). */
__attribute__((constructor)) static void poison_released_gradients(void) { eb__grad_poison = true; }

#define GC_MAX_ARGS 6

typedef enum gc_kind {
    GC_CONST, /* eb_tensor_input(..., false): must get no gradient */
    GC_INPUT, /* eb_tensor_input(..., true): gradient in t->grad */
    GC_PARAM, /* eb_tensor_param: gradient accumulated in the caller's buffer */
} gc_kind;

typedef struct gc_arg {
    gc_kind kind;
    int ndim;
    int64_t shape[EB_MAX_DIMS];
    int64_t size;
    float lo, hi; /* inputs are drawn uniformly from [lo, hi) */
    float *data;
    float *grad; /* GC_PARAM: the caller-owned gradient buffer */
} gc_arg;

/* Step and tolerances of one check. */
typedef struct gc_tol {
    double h, rtol, atol;
} gc_tol;

/* Piecewise-linear ops (reshape, add/sub/mul per coordinate, scalar ops, matmul, linear, sum, mean,
 * max, relu, leaky_relu, abs, clamp, concat, gather_rows, dropout): the loss is linear in each
 * coordinate away from kinks, so there is no truncation error and only float32 rounding remains:
 * ≤ ~12 affected outputs of |r·out| ≲ 10 give ≲ 1e-6 in L, i.e. ≲ 1e-4 after dividing by 2h = 0.02;
 * atol = 5e-4, rtol = 1e-3 leave a 5× margin while a wrong formula (missing broadcast reduction,
 * transposed operand, wrong slope) is off by O(|gradient|) ~ 0.1–10. */
static const gc_tol GC_TOL_LINEAR = {1e-2, 1e-3, 5e-4};
/* Smooth nonlinear ops (exp, log, sqrt, square, elu, softplus, tanh, sigmoid, swish, div, logsumexp,
 * softmax, log_softmax, cross_entropy, l2_normalize): the truncation error relative to the gradient is
 * h²/6 · |f'''/f'| ≤ 1.7e-5 · 24 ≈ 4e-4 in the worst case (a/b at b = 0.5: f'''/f' = 6/b²; log at
 * 0.5: 2/x² = 8), plus the rounding above; rtol = 2e-3 leaves a 5× margin. */
static const gc_tol GC_TOL_SMOOTH = {1e-2, 2e-3, 5e-4};
/* Composed losses (MLP + cross-entropy, energy-bounded loss): a smaller step because a weight
 * perturbation moves each pre-activation by up to h·|x| ≤ 2h and the leaky_relu kinks are kept only
 * 10·h away; the loss is a mean over the batch (|L| ~ 1), so rounding stays ≲ 1e-5 after /2h. */
static const gc_tol GC_TOL_COMPOSED = {5e-3, 3e-3, 5e-4};

typedef struct gc_case gc_case;
typedef eb_tensor *(*gc_build_fn)(eb_graph *g, eb_tensor *const *in, const gc_case *c);
/* Resamples inputs that lie too close to a kink; returns how many it touched (0 = all good). */
typedef int (*gc_fix_fn)(gc_case *c, eb_rng *rng);

struct gc_case {
    char name[160];
    int nargs;
    gc_arg arg[GC_MAX_ARGS];
    gc_build_fn build;
    gc_fix_fn fix;
    gc_tol tol;
    /* op parameters */
    int axis;
    bool keepdim, trans_a, trans_b;
    float f0, f1; /* scalar, slope, alpha, beta, lo/hi, eps, p, margins... */
    int new_ndim;
    int64_t new_shape[EB_MAX_DIMS];
    int32_t labels[32];
    int64_t index[32];
    int64_t n_index;
    uint64_t seed; /* dropout mask seed */
    float kinks[2];
    int n_kinks;
    eb_conv2d_params conv;
    eb_pool2d_params pool;
    eb_batch_norm_params bn;
    bool affine; /* batch_norm: gamma, beta are args 1, 2; running mean/var (constants) follow if present */
};

static bool gc_covered[EB_OP_COUNT];

/* ---- case construction ---------------------------------------------------------------------- */

EB_PRINTF(3, 4) static void gc_init(gc_case *c, gc_tol tol, const char *fmt, ...) {
    memset(c, 0, sizeof *c);
    c->tol = tol;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->name, sizeof c->name, fmt, ap);
    va_end(ap);
}

static int64_t shape_size(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

static gc_arg *gc_add(gc_case *c, gc_kind kind, int ndim, const int64_t *shape, float lo, float hi) {
    cr_assert(c->nargs < GC_MAX_ARGS);
    gc_arg *a = &c->arg[c->nargs++];
    a->kind = kind;
    a->ndim = ndim;
    for (int d = 0; d < ndim; d++) a->shape[d] = shape[d];
    a->size = shape_size(ndim, shape);
    a->lo = lo;
    a->hi = hi;
    a->data = calloc((size_t)a->size, sizeof(float));
    cr_assert_not_null(a->data);
    if (kind == GC_PARAM) {
        a->grad = calloc((size_t)a->size, sizeof(float));
        cr_assert_not_null(a->grad);
    }
    return a;
}

static void gc_free(gc_case *c) {
    for (int i = 0; i < c->nargs; i++) {
        free(c->arg[i].data);
        free(c->arg[i].grad);
    }
    c->nargs = 0;
}

static float gc_uniform(eb_rng *rng, const gc_arg *a) {
    return (float)eb_rng_uniform_range(rng, (double)a->lo, (double)a->hi);
}

/* A random shape with ndim dims, each in [1, max_dim]. */
static void rand_shape(eb_rng *rng, int ndim, int64_t max_dim, int64_t *shape) {
    for (int d = 0; d < ndim; d++) shape[d] = 1 + (int64_t)eb_rng_below(rng, (uint64_t)max_dim);
}

/* Largest dim that keeps random tensors small: 4-D shapes use dims ≤ 3. */
static int64_t max_dim_for(int ndim) { return ndim >= 4 ? 3 : 4; }

static const char *shape_name(int ndim, const int64_t *shape, char *buf, size_t size) {
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && k < size; d++)
        k += (size_t)snprintf(buf + k, size - k, d ? ",%ld" : "%ld", (long)shape[d]);
    if (k < size) snprintf(buf + k, size - k, "]");
    return buf;
}

/* ---- kink avoidance -------------------------------------------------------------------------- */

/* Elementwise kinks at c->kinks[]: resample every element of arg 0 within 10·h of one. */
static int fix_pointwise_kinks(gc_case *c, eb_rng *rng) {
    gc_arg *a = &c->arg[0];
    double dist = 10.0 * c->tol.h;
    int touched = 0;
    for (int64_t i = 0; i < a->size; i++)
        for (int k = 0; k < c->n_kinks; k++)
            if (fabs((double)a->data[i] - (double)c->kinks[k]) <= dist) {
                a->data[i] = gc_uniform(rng, a);
                touched++;
            }
    return touched;
}

/* max over c->axis: the largest element of every slice leads the runner-up by more than 10·h, so
 * no perturbation changes the argmax. */
static int fix_max_ties(gc_case *c, eb_rng *rng) {
    gc_arg *a = &c->arg[0];
    int axis = c->axis < 0 ? c->axis + a->ndim : c->axis;
    int64_t outer = shape_size(axis, a->shape), n = a->shape[axis];
    int64_t inner = shape_size(a->ndim - axis - 1, a->shape + axis + 1);
    int touched = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            float *base = a->data + o * n * inner + in;
            double top = -INFINITY, second = -INFINITY;
            for (int64_t j = 0; j < n; j++) {
                double v = base[j * inner];
                if (v > top) {
                    second = top;
                    top = v;
                } else if (v > second) {
                    second = v;
                }
            }
            if (n > 1 && top - second <= 10.0 * c->tol.h) {
                for (int64_t j = 0; j < n; j++) base[j * inner] = gc_uniform(rng, a);
                touched++;
            }
        }
    return touched;
}

/* l2_normalize(x[N,D], eps): each row norm stays 10·h away from eps (the max(‖x‖, eps) kink). */
static int fix_l2_kink(gc_case *c, eb_rng *rng) {
    gc_arg *a = &c->arg[0];
    int64_t n = a->shape[0], d = a->shape[1];
    int touched = 0;
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) s += (double)a->data[i * d + j] * (double)a->data[i * d + j];
        if (fabs(sqrt(s) - (double)c->f0) <= 10.0 * c->tol.h) {
            for (int64_t j = 0; j < d; j++) a->data[i * d + j] = gc_uniform(rng, a);
            touched++;
        }
    }
    return touched;
}

/* max_pool2d(x[N,C,H,W], c->pool): in every window the largest pixel leads the runner-up by more than
 * 10·h (padding is −∞ and never wins), so no perturbation moves an argmax; a plane with a tie is
 * resampled whole (windows overlap). */
static int fix_pool_ties(gc_case *c, eb_rng *rng) {
    gc_arg *a = &c->arg[0];
    const eb_pool2d_params *p = &c->pool;
    int64_t h = a->shape[2], w = a->shape[3];
    int64_t oh = (h + 2 * p->pad_h - p->kernel_h) / p->stride_h + 1;
    int64_t ow = (w + 2 * p->pad_w - p->kernel_w) / p->stride_w + 1;
    int touched = 0;
    for (int64_t pl = 0; pl < a->shape[0] * a->shape[1]; pl++) {
        float *x = a->data + pl * h * w;
        bool tie = false;
        for (int64_t i = 0; i < oh && !tie; i++)
            for (int64_t j = 0; j < ow && !tie; j++) {
                double top = -INFINITY, second = -INFINITY;
                for (int64_t u = 0; u < p->kernel_h; u++)
                    for (int64_t v = 0; v < p->kernel_w; v++) {
                        int64_t y = i * p->stride_h - p->pad_h + u, z = j * p->stride_w - p->pad_w + v;
                        if (y < 0 || y >= h || z < 0 || z >= w) continue;
                        double val = x[y * w + z];
                        if (val > top) {
                            second = top;
                            top = val;
                        } else if (val > second) {
                            second = val;
                        }
                    }
                tie = top - second <= 10.0 * c->tol.h;
            }
        if (tie) {
            for (int64_t k = 0; k < h * w; k++) x[k] = gc_uniform(rng, a);
            touched++;
        }
    }
    return touched;
}

/* batch_norm in training mode: every channel's biased batch variance is at least 0.5, which bounds
 * 1/σ and with it the curvature (|f'''/f'| ~ 1/σ²) and float32 rounding of x̂. */
static int fix_bn_variance(gc_case *c, eb_rng *rng) {
    if (!c->bn.training) return 0;
    gc_arg *a = &c->arg[0];
    int64_t n = a->shape[0], ch = a->shape[1], s = a->ndim == 4 ? a->shape[2] * a->shape[3] : 1;
    int touched = 0;
    for (int64_t k = 0; k < ch; k++) {
        double sum = 0.0, sq = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < s; j++) sum += (double)a->data[(i * ch + k) * s + j];
        double mean = sum / (double)(n * s);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < s; j++) {
                double d = (double)a->data[(i * ch + k) * s + j] - mean;
                sq += d * d;
            }
        if (sq / (double)(n * s) < 0.5) {
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < s; j++) a->data[(i * ch + k) * s + j] = gc_uniform(rng, a);
            touched++;
        }
    }
    return touched;
}

/* batch_norm with the fused ReLU (eb_batch_norm_params.relu): fix_bn_variance, and every y = γ·x̂ + β at least
 * 10·h from the ReLU's kink at 0 (a step h of one input moves y by ≲ γ·r·h·(1 + 1/M) + h·|x̂| ≲ 3h; the
 * running statistics of eval mode are args 3, 4 with γ/β, else 1, 2). A channel too close is redrawn. */
static int fix_bn_relu(gc_case *c, eb_rng *rng) {
    int touched = fix_bn_variance(c, rng);
    gc_arg *a = &c->arg[0];
    const int64_t n = a->shape[0], ch = a->shape[1], s = a->ndim == 4 ? a->shape[2] * a->shape[3] : 1,
                  m = n * s, run = c->affine ? 3 : 1;
    for (int64_t k = 0; k < ch; k++) {
        double mean = 0.0, var = 0.0;
        for (int64_t i = 0; i < m; i++) mean += (double)a->data[(i / s * ch + k) * s + i % s] / (double)m;
        for (int64_t i = 0; i < m; i++) {
            double d = (double)a->data[(i / s * ch + k) * s + i % s] - mean;
            var += d * d / (double)m;
        }
        if (!c->bn.training) mean = (double)c->arg[run].data[k], var = (double)c->arg[run + 1].data[k];
        const double r = 1.0 / sqrt(var + (double)c->bn.eps),
                     gam = c->affine ? (double)c->arg[1].data[k] : 1.0,
                     bet = c->affine ? (double)c->arg[2].data[k] : 0.0;
        bool near = false;
        for (int64_t i = 0; i < m; i++)
            near |= fabs(gam * ((double)a->data[(i / s * ch + k) * s + i % s] - mean) * r + bet) <
                    10.0 * c->tol.h;
        if (near) {
            for (int64_t i = 0; i < m; i++) a->data[(i / s * ch + k) * s + i % s] = gc_uniform(rng, a);
            touched++;
        }
    }
    return touched;
}

/* spatial_std_pool: y = ‖x − μ‖/√(M − 1) per (n, c) plane has its kink (a cone's apex) at a constant
 * plane and |f'''/f'| ~ 1/y²; every plane is redrawn until its unbiased variance is ≥ 0.5. */
static int fix_std_planes(gc_case *c, eb_rng *rng) {
    gc_arg *a = &c->arg[0];
    int64_t m = a->shape[2] * a->shape[3], planes = a->size / m;
    int touched = 0;
    for (int64_t pl = 0; pl < planes; pl++) {
        float *p = a->data + pl * m;
        double mean = 0.0, sq = 0.0;
        for (int64_t k = 0; k < m; k++) mean += (double)p[k] / (double)m;
        for (int64_t k = 0; k < m; k++) sq += ((double)p[k] - mean) * ((double)p[k] - mean);
        if (sq / (double)(m - 1) < 0.5) {
            for (int64_t k = 0; k < m; k++) p[k] = gc_uniform(rng, a);
            touched++;
        }
    }
    return touched;
}

/* ---- the check -------------------------------------------------------------------------------- */

/* Builds the case on g. With param_bufs, every differentiable argument i is passed as an
 * eb_tensor_param whose gradient goes to param_bufs[i]. */
static eb_tensor *gc_build(eb_graph *g, const gc_case *c, eb_tensor **in, float *const *param_bufs) {
    eb_graph_reset(g);
    for (int i = 0; i < c->nargs; i++) {
        const gc_arg *a = &c->arg[i];
        if (param_bufs && a->kind != GC_CONST)
            in[i] = eb_tensor_param(g, a->data, param_bufs[i], a->ndim, a->shape);
        else if (a->kind == GC_PARAM)
            in[i] = eb_tensor_param(g, a->data, a->grad, a->ndim, a->shape);
        else
            in[i] = eb_tensor_input(g, a->data, a->ndim, a->shape, a->kind == GC_INPUT);
    }
    return c->build(g, in, c);
}

static eb_tensor *gc_forward(eb_graph *g, const gc_case *c, eb_tensor **in) {
    return gc_build(g, c, in, NULL);
}

/* Backward must ACCUMULATE (+=) into gradient buffers: rebuild the case with every differentiable
 * argument as an eb_tensor_param whose buffer already holds g0 != 0, and require buffer - g0 to equal
 * the analytic gradient of the first pass (a kernel that overwrites, e.g. a GEMM with beta = 0,
 * fails here even when each input has a single consumer). */
static void gc_check_accumulates(const gc_case *c, const float *r, float *const *ana) {
    float *bufs[GC_MAX_ARGS] = {0};
    for (int i = 0; i < c->nargs; i++) {
        if (c->arg[i].kind == GC_CONST) continue;
        bufs[i] = malloc(sizeof(float) * (size_t)c->arg[i].size);
        cr_assert_not_null(bufs[i]);
        for (int64_t j = 0; j < c->arg[i].size; j++) bufs[i][j] = 0.5f + 0.25f * (float)(j % 5);
    }
    eb_graph *g = eb_graph_new(0, NULL);
    cr_assert_not_null(g);
    eb_tensor *in[GC_MAX_ARGS];
    eb_tensor *out = gc_build(g, c, in, bufs);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s (as params): %s", c->name, eb_graph_error(g));
    cr_assert_eq(eb_graph_backward(g, out, r), EB_OK, "%s (as params): backward: %s", c->name,
                 eb_graph_error(g));
    int bad = 0;
    for (int i = 0; i < c->nargs; i++) {
        if (!bufs[i]) continue;
        for (int64_t j = 0; j < c->arg[i].size; j++) {
            double g0 = 0.5 + 0.25 * (double)(j % 5), got = (double)bufs[i][j] - g0, want = (double)ana[i][j];
            /* float32 rounding of g0 + gradient: ~1e-7 * (|g0| + |want|) */
            if (!(fabs(got - want) <= 1e-5 * (g0 + fabs(want)) + 1e-6)) {
                if (bad < 5)
                    cr_log_error("%s: param buffer of arg %d [%ld] changed by %.7g, expected += %.7g (not "
                                 "accumulated?)",
                                 c->name, i, (long)j, got, want);
                bad++;
            }
        }
    }
    cr_expect_eq(bad, 0, "%s: backward did not accumulate into %d pre-filled gradient entries", c->name, bad);
    eb_graph_free(g);
    for (int i = 0; i < c->nargs; i++) free(bufs[i]);
}

/* L = Σ r ⊙ out in float64 for the current input values. */
static double gc_loss(eb_graph *g, const gc_case *c, const float *r, int64_t n_out) {
    eb_tensor *in[GC_MAX_ARGS];
    eb_tensor *out = gc_forward(g, c, in);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s: forward failed: %s", c->name, eb_graph_error(g));
    cr_assert_eq(out->size, n_out, "%s: output size changed under perturbation", c->name);
    double l = 0.0;
    for (int64_t k = 0; k < n_out; k++) l += (double)r[k] * (double)out->data[k];
    return l;
}

typedef struct gc_result {
    double worst_ratio; /* max |a − n| / (atol + rtol·max(|a|,|n|)) over all coordinates */
    int checked, bad;
} gc_result;

/* Runs the gradient check of c (inputs already sampled). Marks out->op in gc_covered. */
static gc_result gc_run(gc_case *c, eb_rng *rng) {
    gc_result res = {0};
    eb_graph *g = eb_graph_new(0, NULL);
    cr_assert_not_null(g);
    eb_tensor *in[GC_MAX_ARGS];
    eb_tensor *out = gc_forward(g, c, in);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s: %s", c->name, eb_graph_error(g));
    cr_assert_not_null(out, "%s: op returned NULL", c->name);
    cr_assert(out->op > EB_OP_LEAF && out->op < EB_OP_COUNT, "%s: output op %d", c->name, (int)out->op);
    cr_assert(out->requires_grad, "%s: output does not require grad", c->name);
    gc_covered[out->op] = true;

    int64_t n_out = out->size;
    float *r = malloc(sizeof(float) * (size_t)n_out);
    cr_assert_not_null(r);
    eb_rng_fill_normal(rng, r, n_out, 0.0f, 1.0f);
    for (int i = 0; i < c->nargs; i++)
        if (c->arg[i].kind == GC_PARAM) memset(c->arg[i].grad, 0, sizeof(float) * (size_t)c->arg[i].size);
    cr_assert_eq(eb_graph_backward(g, out, r), EB_OK, "%s: backward: %s", c->name, eb_graph_error(g));

    /* Analytic gradients, copied out before the graph is reused for the perturbed forwards. */
    float *ana[GC_MAX_ARGS] = {0};
    for (int i = 0; i < c->nargs; i++) {
        const gc_arg *a = &c->arg[i];
        if (a->kind == GC_CONST) {
            cr_expect_null(in[i]->grad, "%s: constant input %d got a gradient buffer", c->name, i);
            continue;
        }
        const float *src = a->kind == GC_PARAM ? a->grad : in[i]->grad;
        cr_assert_not_null(src, "%s: input %d requires grad but has no gradient", c->name, i);
        ana[i] = malloc(sizeof(float) * (size_t)a->size);
        cr_assert_not_null(ana[i]);
        memcpy(ana[i], src, sizeof(float) * (size_t)a->size);
    }

    const double h = c->tol.h;
    for (int i = 0; i < c->nargs; i++) {
        gc_arg *a = &c->arg[i];
        if (a->kind == GC_CONST) continue;
        for (int64_t j = 0; j < a->size; j++) {
            const float x0 = a->data[j];
            const float xp = (float)((double)x0 + h), xm = (float)((double)x0 - h);
            a->data[j] = xp;
            double lp = gc_loss(g, c, r, n_out);
            a->data[j] = xm;
            double lm = gc_loss(g, c, r, n_out);
            a->data[j] = x0;
            double num = (lp - lm) / ((double)xp - (double)xm);
            double an = ana[i][j];
            double tol = c->tol.atol + c->tol.rtol * fmax(fabs(an), fabs(num));
            double ratio = fabs(an - num) / tol;
            res.checked++;
            if (!(ratio <= 1.0)) { /* NaN fails too */
                if (res.bad < 5)
                    cr_log_error("%s: d/d(arg %d)[%ld]: analytic %.7g, numeric %.7g (|diff| %.3g > tol %.3g)",
                                 c->name, i, (long)j, an, num, fabs(an - num), tol);
                res.bad++;
            }
            if (!(ratio <= res.worst_ratio)) res.worst_ratio = ratio;
        }
    }
    cr_expect_eq(res.bad, 0, "%s: %d of %d gradient entries disagree with central differences", c->name,
                 res.bad, res.checked);
    cr_expect_gt(res.checked, 0, "%s: nothing was checked", c->name);
    gc_check_accumulates(c, r, ana);
    for (int i = 0; i < c->nargs; i++) free(ana[i]);
    free(r);
    eb_graph_free(g);
    return res;
}

/* Samples the inputs (honouring c->fix), runs the check, frees the case. */
static double gc_check(gc_case *c, eb_rng *rng) {
    for (int i = 0; i < c->nargs; i++)
        for (int64_t j = 0; j < c->arg[i].size; j++) c->arg[i].data[j] = gc_uniform(rng, &c->arg[i]);
    if (c->fix) {
        int rounds = 0;
        while (c->fix(c, rng) > 0)
            cr_assert_lt(++rounds, 10000, "%s: cannot sample inputs away from kinks", c->name);
    }
    gc_result res = gc_run(c, rng);
    gc_free(c);
    return res.worst_ratio;
}

/* One summary line per group: the worst error as a fraction of its tolerance. */
static void gc_report(const char *group, double worst, int cases) {
    cr_log_info("gradcheck %-16s %3d cases, worst |analytic - numeric| = %.3f x tolerance", group, cases,
                worst);
}

/* ---- builders ----------------------------------------------------------------------------------- */

static eb_tensor *b_reshape(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    /* square() after the reshape so the reshape's own gradient is not just the seed copied back */
    return eb_reshape(g, eb_square(g, in[0]), c->new_ndim, c->new_shape);
}
static eb_tensor *b_matmul(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_matmul(g, in[0], in[1], c->trans_a, c->trans_b);
}
static eb_tensor *b_linear(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_linear(g, in[0], in[1], c->nargs > 2 ? in[2] : NULL);
}
static eb_tensor *b_add(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_add(g, in[0], in[1]);
}
static eb_tensor *b_sub(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_sub(g, in[0], in[1]);
}
static eb_tensor *b_mul(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_mul(g, in[0], in[1]);
}
static eb_tensor *b_div(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_div(g, in[0], in[1]);
}
static eb_tensor *b_add_scalar(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_add_scalar(g, in[0], c->f0);
}
static eb_tensor *b_mul_scalar(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_mul_scalar(g, in[0], c->f0);
}
static eb_tensor *b_exp(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_exp(g, in[0]);
}
static eb_tensor *b_log(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_log(g, in[0]);
}
static eb_tensor *b_sqrt(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_sqrt(g, in[0]);
}
static eb_tensor *b_square(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_square(g, in[0]);
}
static eb_tensor *b_abs(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_abs(g, in[0]);
}
static eb_tensor *b_clamp(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_clamp(g, in[0], c->f0, c->f1);
}
static eb_tensor *b_relu(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_relu(g, in[0]);
}
static eb_tensor *b_leaky_relu(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_leaky_relu(g, in[0], c->f0);
}
static eb_tensor *b_elu(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_elu(g, in[0], c->f0);
}
static eb_tensor *b_softplus(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_softplus(g, in[0], c->f0);
}
static eb_tensor *b_tanh(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_tanh(g, in[0]);
}
static eb_tensor *b_sigmoid(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_sigmoid(g, in[0]);
}
static eb_tensor *b_swish(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_swish(g, in[0]);
}
static eb_tensor *b_sum(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_sum(g, in[0], c->axis, c->keepdim);
}
static eb_tensor *b_mean(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_mean(g, in[0], c->axis, c->keepdim);
}
static eb_tensor *b_max(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_max(g, in[0], c->axis, c->keepdim);
}
static eb_tensor *b_logsumexp(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_logsumexp(g, in[0], c->axis, c->keepdim);
}
static eb_tensor *b_sum_all(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_sum_all(g, in[0]);
}
static eb_tensor *b_mean_all(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_mean_all(g, in[0]);
}
static eb_tensor *b_softmax(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_softmax(g, in[0], c->axis);
}
static eb_tensor *b_log_softmax(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_log_softmax(g, in[0], c->axis);
}
static eb_tensor *b_cross_entropy(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_cross_entropy(g, in[0], c->labels);
}
static eb_tensor *b_l2_normalize(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_l2_normalize(g, in[0], c->f0);
}
static eb_tensor *b_concat(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_concat(g, in[0], in[1], c->axis);
}
static eb_tensor *b_gather_rows(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_gather_rows(g, in[0], c->index, c->n_index);
}
/* The rng is re-seeded identically before every forward, so each one draws the same mask. */
static eb_tensor *b_dropout(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    eb_rng rng;
    eb_rng_seed(&rng, c->seed);
    return eb_dropout(g, in[0], c->f0, &rng);
}
/* A tensor used twice: both contributions must add up. */
static eb_tensor *b_mul_self(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_mul(g, in[0], in[0]);
}
static eb_tensor *b_add_self(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_add(g, eb_tanh(g, in[0]), in[0]);
}
static eb_tensor *b_linear_shared(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_linear(g, eb_tanh(g, eb_linear(g, in[0], in[1], NULL)), in[1], NULL);
}

static eb_tensor *b_conv2d(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_conv2d(g, in[0], in[1], c->nargs > 2 ? in[2] : NULL, &c->conv);
}
/* Running statistics are constant args whose data the op reads (eval) or updates (training: the
 * update never feeds back into the output). */
static eb_tensor *b_batch_norm(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    int k = c->affine ? 3 : 1;
    float *rm = c->nargs > k ? in[k]->data : NULL, *rv = c->nargs > k ? in[k + 1]->data : NULL;
    return eb_batch_norm(g, in[0], c->affine ? in[1] : NULL, c->affine ? in[2] : NULL, rm, rv, &c->bn);
}
static eb_tensor *b_max_pool2d(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_max_pool2d(g, in[0], &c->pool);
}
static eb_tensor *b_avg_pool2d(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_avg_pool2d(g, in[0], &c->pool);
}
static eb_tensor *b_global_avg_pool(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_global_avg_pool(g, in[0]);
}
static eb_tensor *b_spatial_std_pool(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    (void)c;
    return eb_spatial_std_pool(g, in[0]);
}

/* ---- per-op checks ------------------------------------------------------------------------------ */

static void check_reshape(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 101);
    double worst = 0.0;
    int n = 0;
    for (int nd = 1; nd <= EB_MAX_DIMS; nd++) {
        gc_case c;
        gc_init(&c, GC_TOL_SMOOTH, "reshape %dD", nd);
        int64_t shape[EB_MAX_DIMS];
        rand_shape(&rng, nd, max_dim_for(nd), shape);
        gc_add(&c, GC_INPUT, nd, shape, -2.0f, 2.0f);
        int64_t size = shape_size(nd, shape);
        /* to [size] for nd > 1, to [1, size, 1, 1]-style 4-D for nd == 1, else reversed dims */
        if (nd == 1) {
            c.new_ndim = 4;
            c.new_shape[0] = 1, c.new_shape[1] = size, c.new_shape[2] = 1, c.new_shape[3] = 1;
        } else if (nd == 2) {
            c.new_ndim = 1;
            c.new_shape[0] = size;
        } else {
            c.new_ndim = nd;
            for (int d = 0; d < nd; d++) c.new_shape[d] = shape[nd - 1 - d];
        }
        c.build = b_reshape;
        worst = fmax(worst, gc_check(&c, &rng));
        n++;
    }
    gc_report("reshape", worst, n);
}

static void check_matmul(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 102);
    double worst = 0.0;
    int n = 0;
    for (int rep = 0; rep < 3; rep++)
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = (t >> 1) & 1;
            int64_t m = 1 + (int64_t)eb_rng_below(&rng, 4), k = 1 + (int64_t)eb_rng_below(&rng, 4),
                    nn = 1 + (int64_t)eb_rng_below(&rng, 4);
            if (rep == 0) m = 3, k = 4, nn = 2; /* distinct sizes: a transposition bug cannot hide */
            gc_case c;
            gc_init(&c, GC_TOL_LINEAR, "matmul ta=%d tb=%d M=%ld K=%ld N=%ld%s", ta, tb, (long)m, (long)k,
                    (long)nn, rep == 2 ? " (b constant)" : "");
            gc_add(&c, GC_INPUT, 2, ta ? EB_SHAPE(k, m) : EB_SHAPE(m, k), -2.0f, 2.0f);
            gc_add(&c, rep == 2 ? GC_CONST : GC_INPUT, 2, tb ? EB_SHAPE(nn, k) : EB_SHAPE(k, nn), -2.0f,
                   2.0f);
            c.trans_a = ta;
            c.trans_b = tb;
            c.build = b_matmul;
            worst = fmax(worst, gc_check(&c, &rng));
            n++;
        }
    gc_report("matmul", worst, n);
}

static void check_linear(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 103);
    double worst = 0.0;
    int n = 0;
    for (int rep = 0; rep < 3; rep++)
        for (int bias = 0; bias < 2; bias++) {
            int64_t nb = 1 + (int64_t)eb_rng_below(&rng, 4), din = 1 + (int64_t)eb_rng_below(&rng, 5),
                    dout = 1 + (int64_t)eb_rng_below(&rng, 4);
            if (rep == 0) nb = 3, din = 4, dout = 2;
            gc_kind wk = rep == 1 ? GC_PARAM : GC_INPUT;
            gc_case c;
            gc_init(&c, GC_TOL_LINEAR, "linear N=%ld in=%ld out=%ld %s%s", (long)nb, (long)din, (long)dout,
                    bias ? "with bias" : "without bias", wk == GC_PARAM ? " (params)" : "");
            gc_add(&c, GC_INPUT, 2, EB_SHAPE(nb, din), -2.0f, 2.0f);
            gc_add(&c, wk, 2, EB_SHAPE(dout, din), -1.0f, 1.0f);
            if (bias) gc_add(&c, wk, 1, EB_SHAPE(dout), -1.0f, 1.0f);
            c.build = b_linear;
            worst = fmax(worst, gc_check(&c, &rng));
            n++;
        }
    gc_report("linear", worst, n);
}

/* Broadcasting binaries: fixed shape pairs (from the brief) plus random equal shapes 1-D..4-D. */
static void check_binary(const char *name, gc_build_fn build, gc_tol tol, float blo, float bhi,
                         uint64_t seed) {
    static const struct {
        int na, nb;
        int64_t a[EB_MAX_DIMS], b[EB_MAX_DIMS];
    } pairs[] = {
        {2, 1, {3, 4}, {4}},       {1, 2, {4}, {3, 4}},
        {3, 2, {2, 1, 4}, {3, 1}}, {0, 2, {0}, {2, 3}},
        {2, 0, {2, 3}, {0}},       {0, 0, {0}, {0}},
        {1, 2, {1}, {3, 2}},       {4, 4, {2, 3, 1, 2}, {1, 3, 2, 1}},
        {2, 3, {3, 1}, {2, 1, 4}},
    };
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    double worst = 0.0;
    int n = 0;
    char sa[64], sb[64];
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        gc_case c;
        gc_init(&c, tol, "%s %s %s", name, shape_name(pairs[p].na, pairs[p].a, sa, sizeof sa),
                shape_name(pairs[p].nb, pairs[p].b, sb, sizeof sb));
        gc_add(&c, GC_INPUT, pairs[p].na, pairs[p].a, -2.0f, 2.0f);
        gc_add(&c, GC_INPUT, pairs[p].nb, pairs[p].b, blo, bhi);
        c.build = build;
        worst = fmax(worst, gc_check(&c, &rng));
        n++;
    }
    for (int nd = 1; nd <= EB_MAX_DIMS; nd++)
        for (int constant = 0; constant < 2; constant++) {
            int64_t shape[EB_MAX_DIMS];
            rand_shape(&rng, nd, max_dim_for(nd), shape);
            gc_case c;
            gc_init(&c, tol, "%s %s (same shape%s)", name, shape_name(nd, shape, sa, sizeof sa),
                    constant ? ", a constant" : "");
            gc_add(&c, constant ? GC_CONST : GC_INPUT, nd, shape, -2.0f, 2.0f);
            gc_add(&c, GC_INPUT, nd, shape, blo, bhi);
            c.build = build;
            worst = fmax(worst, gc_check(&c, &rng));
            n++;
        }
    gc_report(name, worst, n);
}

static void check_add(void) { check_binary("add", b_add, GC_TOL_LINEAR, -2.0f, 2.0f, 104); }
static void check_sub(void) { check_binary("sub", b_sub, GC_TOL_LINEAR, -2.0f, 2.0f, 105); }
/* mul is linear in each coordinate separately (perturbations touch one coordinate at a time). */
static void check_mul(void) { check_binary("mul", b_mul, GC_TOL_LINEAR, -2.0f, 2.0f, 106); }
/* Denominators in [0.5, 2): d(a/b)/db = −a/b², d³/db³ = −6a/b⁴, so h²/6 · |f'''/f'| = h²/b² ≤ 4e-4. */
static void check_div(void) { check_binary("div", b_div, GC_TOL_SMOOTH, 0.5f, 2.0f, 107); }

/* Elementwise unary op over random shapes 1-D..4-D. */
static void check_unary(const char *name, gc_build_fn build, gc_tol tol, float lo, float hi, float f0,
                        float f1, const float *kinks, int n_kinks, uint64_t seed) {
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    double worst = 0.0;
    int n = 0;
    for (int nd = 0; nd <= EB_MAX_DIMS; nd++) {
        int64_t shape[EB_MAX_DIMS];
        rand_shape(&rng, nd, max_dim_for(nd), shape);
        char s[64];
        gc_case c;
        gc_init(&c, tol, "%s %s", name, shape_name(nd, shape, s, sizeof s));
        gc_add(&c, GC_INPUT, nd, shape, lo, hi);
        c.f0 = f0;
        c.f1 = f1;
        for (int k = 0; k < n_kinks; k++) c.kinks[k] = kinks[k];
        c.n_kinks = n_kinks;
        if (n_kinks) c.fix = fix_pointwise_kinks;
        c.build = build;
        worst = fmax(worst, gc_check(&c, &rng));
        n++;
    }
    gc_report(name, worst, n);
}

static const float kink0[] = {0.0f};

static void check_add_scalar(void) {
    check_unary("add_scalar", b_add_scalar, GC_TOL_LINEAR, -2.0f, 2.0f, 0.75f, 0, NULL, 0, 201);
}
static void check_mul_scalar(void) {
    check_unary("mul_scalar", b_mul_scalar, GC_TOL_LINEAR, -2.0f, 2.0f, -1.5f, 0, NULL, 0, 202);
}
/* exp on [-2, 2): |f'''/f'| = 1. */
static void check_exp(void) { check_unary("exp", b_exp, GC_TOL_SMOOTH, -2.0f, 2.0f, 0, 0, NULL, 0, 203); }
/* log on [0.5, 3): |f'''/f'| = 2/x² ≤ 8. */
static void check_log(void) { check_unary("log", b_log, GC_TOL_SMOOTH, 0.5f, 3.0f, 0, 0, NULL, 0, 204); }
/* sqrt on [0.5, 3): |f'''/f'| = 3/(4x²) ≤ 3. */
static void check_sqrt(void) { check_unary("sqrt", b_sqrt, GC_TOL_SMOOTH, 0.5f, 3.0f, 0, 0, NULL, 0, 205); }
/* square: f''' = 0, central differences are exact up to rounding. */
static void check_square(void) {
    check_unary("square", b_square, GC_TOL_LINEAR, -2.0f, 2.0f, 0, 0, NULL, 0, 206);
}
static void check_abs(void) { check_unary("abs", b_abs, GC_TOL_LINEAR, -2.0f, 2.0f, 0, 0, kink0, 1, 207); }
static void check_clamp(void) {
    static const float k[] = {-0.5f, 0.7f};
    check_unary("clamp", b_clamp, GC_TOL_LINEAR, -2.0f, 2.0f, -0.5f, 0.7f, k, 2, 208);
}
static void check_relu(void) { check_unary("relu", b_relu, GC_TOL_LINEAR, -2.0f, 2.0f, 0, 0, kink0, 1, 209); }
static void check_leaky_relu(void) {
    check_unary("leaky_relu 0.1", b_leaky_relu, GC_TOL_LINEAR, -2.0f, 2.0f, 0.1f, 0, kink0, 1, 210);
    check_unary("leaky_relu 0.01", b_leaky_relu, GC_TOL_LINEAR, -2.0f, 2.0f, 0.01f, 0, kink0, 1, 211);
}
/* elu: |f'''/f'| = 1 for x < 0; α ≠ 1 puts a kink in f' at 0, which is avoided for both α. */
static void check_elu(void) {
    check_unary("elu 1.0", b_elu, GC_TOL_SMOOTH, -3.0f, 2.0f, 1.0f, 0, kink0, 1, 212);
    check_unary("elu 0.5", b_elu, GC_TOL_SMOOTH, -3.0f, 2.0f, 0.5f, 0, kink0, 1, 213);
}
/* softplus: |f'''/f'| ≤ β² ≤ 4 on [-3, 3). */
static void check_softplus(void) {
    check_unary("softplus 1", b_softplus, GC_TOL_SMOOTH, -3.0f, 3.0f, 1.0f, 0, NULL, 0, 214);
    check_unary("softplus 2", b_softplus, GC_TOL_SMOOTH, -3.0f, 3.0f, 2.0f, 0, NULL, 0, 215);
}
static void check_tanh(void) { check_unary("tanh", b_tanh, GC_TOL_SMOOTH, -2.0f, 2.0f, 0, 0, NULL, 0, 216); }
static void check_sigmoid(void) {
    check_unary("sigmoid", b_sigmoid, GC_TOL_SMOOTH, -3.0f, 3.0f, 0, 0, NULL, 0, 217);
}
static void check_swish(void) {
    check_unary("swish", b_swish, GC_TOL_SMOOTH, -3.0f, 3.0f, 0, 0, NULL, 0, 218);
}

/* Reductions over every axis (positive and negative spelling) with and without keepdim. */
static void check_reduce(const char *name, gc_build_fn build, gc_tol tol, gc_fix_fn fix, uint64_t seed) {
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    double worst = 0.0;
    int n = 0;
    for (int nd = 1; nd <= EB_MAX_DIMS; nd++) {
        int64_t shape[EB_MAX_DIMS];
        rand_shape(&rng, nd, max_dim_for(nd), shape);
        if (nd >= 2) shape[nd - 1] = 3; /* at least one axis with several entries */
        for (int axis = -nd; axis < nd; axis++)
            for (int keep = 0; keep < 2; keep++) {
                /* negative axes only once (keepdim alternating) to keep the run short */
                if (axis < 0 && keep != ((-axis) & 1)) continue;
                char s[64];
                gc_case c;
                gc_init(&c, tol, "%s %s axis=%d keepdim=%d", name, shape_name(nd, shape, s, sizeof s), axis,
                        keep);
                gc_add(&c, GC_INPUT, nd, shape, -2.0f, 2.0f);
                c.axis = axis;
                c.keepdim = keep;
                c.fix = fix;
                c.build = build;
                worst = fmax(worst, gc_check(&c, &rng));
                n++;
            }
    }
    gc_report(name, worst, n);
}

static void check_sum(void) {
    check_reduce("sum", b_sum, GC_TOL_LINEAR, NULL, 301);
    eb_rng rng;
    eb_rng_seed(&rng, 311);
    double worst = 0.0;
    for (int nd = 0; nd <= EB_MAX_DIMS; nd++) {
        int64_t shape[EB_MAX_DIMS];
        rand_shape(&rng, nd, max_dim_for(nd), shape);
        char s[64];
        gc_case c;
        gc_init(&c, GC_TOL_LINEAR, "sum_all %s", shape_name(nd, shape, s, sizeof s));
        gc_add(&c, GC_INPUT, nd, shape, -2.0f, 2.0f);
        c.build = b_sum_all;
        worst = fmax(worst, gc_check(&c, &rng));
    }
    gc_report("sum_all", worst, EB_MAX_DIMS + 1);
}

static void check_mean(void) {
    check_reduce("mean", b_mean, GC_TOL_LINEAR, NULL, 302);
    eb_rng rng;
    eb_rng_seed(&rng, 312);
    double worst = 0.0;
    for (int nd = 0; nd <= EB_MAX_DIMS; nd++) {
        int64_t shape[EB_MAX_DIMS];
        rand_shape(&rng, nd, max_dim_for(nd), shape);
        char s[64];
        gc_case c;
        gc_init(&c, GC_TOL_LINEAR, "mean_all %s", shape_name(nd, shape, s, sizeof s));
        gc_add(&c, GC_INPUT, nd, shape, -2.0f, 2.0f);
        c.build = b_mean_all;
        worst = fmax(worst, gc_check(&c, &rng));
    }
    gc_report("mean_all", worst, EB_MAX_DIMS + 1);
}

static void check_max(void) { check_reduce("max", b_max, GC_TOL_LINEAR, fix_max_ties, 303); }
/* logsumexp: derivatives of softmax weights, |f'''/f'| ≤ 1. */
static void check_logsumexp(void) { check_reduce("logsumexp", b_logsumexp, GC_TOL_SMOOTH, NULL, 304); }

/* Softmax family over every axis of random 1-D..4-D shapes. */
static void check_softmax_family(const char *name, gc_build_fn build, uint64_t seed) {
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    double worst = 0.0;
    int n = 0;
    for (int nd = 1; nd <= EB_MAX_DIMS; nd++) {
        int64_t shape[EB_MAX_DIMS];
        rand_shape(&rng, nd, max_dim_for(nd), shape);
        for (int axis = -1; axis < nd; axis++) {
            char s[64];
            gc_case c;
            gc_init(&c, GC_TOL_SMOOTH, "%s %s axis=%d", name, shape_name(nd, shape, s, sizeof s), axis);
            gc_add(&c, GC_INPUT, nd, shape, -2.0f, 2.0f);
            c.axis = axis;
            c.build = build;
            worst = fmax(worst, gc_check(&c, &rng));
            n++;
        }
    }
    gc_report(name, worst, n);
}

static void check_softmax(void) { check_softmax_family("softmax", b_softmax, 401); }
static void check_log_softmax(void) { check_softmax_family("log_softmax", b_log_softmax, 402); }

static void check_cross_entropy(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 403);
    double worst = 0.0;
    int n = 0;
    for (int rep = 0; rep < 4; rep++) {
        int64_t nb = 1 + (int64_t)eb_rng_below(&rng, 6), nc = 2 + (int64_t)eb_rng_below(&rng, 4);
        gc_case c;
        gc_init(&c, GC_TOL_SMOOTH, "cross_entropy N=%ld C=%ld", (long)nb, (long)nc);
        gc_add(&c, GC_INPUT, 2, EB_SHAPE(nb, nc), -3.0f, 3.0f);
        for (int64_t i = 0; i < nb; i++)
            c.labels[i] = rep == 3 ? 1 : (int32_t)eb_rng_below(&rng, (uint64_t)nc);
        c.build = b_cross_entropy;
        worst = fmax(worst, gc_check(&c, &rng));
        n++;
    }
    gc_report("cross_entropy", worst, n);
}

/* Rows with ‖x‖ > eps (the usual case), every row below eps (x/eps, linear), and a mix. */
static void check_l2_normalize(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 404);
    double worst = 0.0;
    int n = 0;
    const struct {
        float eps, lo, hi;
    } v[] = {{1e-6f, -2.0f, 2.0f}, {1e-12f, -1.0f, 1.0f}, {10.0f, -2.0f, 2.0f}, {1.2f, -1.0f, 1.0f}};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        int64_t nb = 1 + (int64_t)eb_rng_below(&rng, 4), d = 2 + (int64_t)eb_rng_below(&rng, 4);
        gc_case c;
        gc_init(&c, GC_TOL_SMOOTH, "l2_normalize [%ld,%ld] eps=%g", (long)nb, (long)d, (double)v[k].eps);
        gc_add(&c, GC_INPUT, 2, EB_SHAPE(nb, d), v[k].lo, v[k].hi);
        c.f0 = v[k].eps;
        c.fix = fix_l2_kink;
        c.build = b_l2_normalize;
        worst = fmax(worst, gc_check(&c, &rng));
        n++;
    }
    gc_report("l2_normalize", worst, n);
}

static void check_concat(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 501);
    double worst = 0.0;
    int n = 0;
    for (int nd = 1; nd <= EB_MAX_DIMS; nd++)
        for (int axis = -1; axis < nd; axis++) {
            int64_t sa[EB_MAX_DIMS], sb[EB_MAX_DIMS];
            rand_shape(&rng, nd, max_dim_for(nd), sa);
            memcpy(sb, sa, sizeof sa);
            int ax = axis < 0 ? axis + nd : axis;
            sb[ax] = 1 + (int64_t)eb_rng_below(&rng, 3);
            char s1[64], s2[64];
            gc_case c;
            gc_init(&c, GC_TOL_LINEAR, "concat %s %s axis=%d", shape_name(nd, sa, s1, sizeof s1),
                    shape_name(nd, sb, s2, sizeof s2), axis);
            gc_add(&c, GC_INPUT, nd, sa, -2.0f, 2.0f);
            gc_add(&c, axis == 0 && nd == 2 ? GC_CONST : GC_INPUT, nd, sb, -2.0f, 2.0f);
            c.axis = axis;
            c.build = b_concat;
            worst = fmax(worst, gc_check(&c, &rng));
            n++;
        }
    gc_report("concat", worst, n);
}

/* Repeated indices: the gradient must scatter-add. */
static void check_gather_rows(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 502);
    double worst = 0.0;
    int n = 0;
    for (int nd = 1; nd <= 3; nd++) {
        int64_t shape[EB_MAX_DIMS];
        rand_shape(&rng, nd, 3, shape);
        shape[0] = 4;
        char s[64];
        gc_case c;
        gc_init(&c, GC_TOL_LINEAR, "gather_rows %s", shape_name(nd, shape, s, sizeof s));
        gc_add(&c, GC_INPUT, nd, shape, -2.0f, 2.0f);
        static const int64_t idx[] = {2, 0, 2, 3, 2, 0, 1};
        c.n_index = (int64_t)(sizeof idx / sizeof idx[0]) - nd;
        memcpy(c.index, idx, sizeof idx);
        c.build = b_gather_rows;
        worst = fmax(worst, gc_check(&c, &rng));
        n++;
    }
    gc_report("gather_rows", worst, n);
}

static void check_dropout(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 503);
    double worst = 0.0;
    int n = 0;
    const float ps[] = {0.3f, 0.5f};
    for (int nd = 1; nd <= EB_MAX_DIMS; nd++)
        for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
            int64_t shape[EB_MAX_DIMS];
            rand_shape(&rng, nd, max_dim_for(nd), shape);
            char s[64];
            gc_case c;
            gc_init(&c, GC_TOL_LINEAR, "dropout %s p=%g", shape_name(nd, shape, s, sizeof s), (double)ps[k]);
            gc_add(&c, GC_INPUT, nd, shape, -2.0f, 2.0f);
            c.f0 = ps[k];
            c.seed = 9000 + (uint64_t)n;
            c.build = b_dropout;
            worst = fmax(worst, gc_check(&c, &rng));
            n++;
        }
    gc_report("dropout", worst, n);
}

/* A tensor used twice (mul(x, x), tanh(x) + x, a weight shared by two layers). */
static void check_reuse(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 504);
    double worst = 0.0;
    gc_case c;
    gc_init(&c, GC_TOL_LINEAR, "mul(x, x) [3,2]");
    gc_add(&c, GC_INPUT, 2, EB_SHAPE(3, 2), -2.0f, 2.0f);
    c.build = b_mul_self;
    worst = fmax(worst, gc_check(&c, &rng));
    gc_init(&c, GC_TOL_SMOOTH, "add(tanh(x), x) [4]");
    gc_add(&c, GC_INPUT, 1, EB_SHAPE(4), -2.0f, 2.0f);
    c.build = b_add_self;
    worst = fmax(worst, gc_check(&c, &rng));
    gc_init(&c, GC_TOL_SMOOTH, "linear(tanh(linear(x, w)), w), w shared");
    gc_add(&c, GC_INPUT, 2, EB_SHAPE(2, 3), -2.0f, 2.0f);
    gc_add(&c, GC_PARAM, 2, EB_SHAPE(3, 3), -1.0f, 1.0f);
    c.build = b_linear_shared;
    worst = fmax(worst, gc_check(&c, &rng));
    gc_report("reuse", worst, 3);
}

/* conv2d is linear in x for fixed w and in w for fixed x (one coordinate moves at a time): stride 1 and
 * 2, padding, a 1×1 kernel, a non-square kernel with unequal strides, a kernel that covers the whole
 * padded input, weights as params and as inputs, and a constant x (a first layer: no input gradient). */
static void check_conv2d(void) {
    static const struct {
        int64_t n, c, h, w, o, kh, kw;
        eb_conv2d_params p;
        bool bias;
        gc_kind xk, wk;
    } v[] = {
        {2, 2, 5, 4, 3, 3, 3, {1, 1, 1, 1}, true, GC_INPUT, GC_PARAM},
        {1, 3, 5, 5, 2, 3, 3, {2, 2, 1, 1}, false, GC_INPUT, GC_INPUT},
        {2, 3, 3, 4, 2, 1, 1, {1, 1, 0, 0}, true, GC_INPUT, GC_PARAM},
        {1, 1, 6, 5, 2, 2, 3, {2, 1, 1, 0}, true, GC_INPUT, GC_INPUT},
        {2, 2, 4, 4, 2, 3, 3, {1, 1, 1, 1}, true, GC_CONST, GC_PARAM},
        {1, 2, 3, 3, 2, 5, 5, {1, 1, 1, 1}, false, GC_INPUT, GC_PARAM},
    };
    eb_rng rng;
    eb_rng_seed(&rng, 701);
    double worst = 0.0;
    int n = 0;
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        char sx[64], sw[64];
        gc_case c;
        gc_init(&c, GC_TOL_LINEAR, "conv2d x%s w%s stride (%d,%d) pad (%d,%d)%s%s",
                shape_name(4, EB_SHAPE(v[k].n, v[k].c, v[k].h, v[k].w), sx, sizeof sx),
                shape_name(4, EB_SHAPE(v[k].o, v[k].c, v[k].kh, v[k].kw), sw, sizeof sw), v[k].p.stride_h,
                v[k].p.stride_w, v[k].p.pad_h, v[k].p.pad_w, v[k].bias ? " with bias" : "",
                v[k].xk == GC_CONST ? " (x constant)" : "");
        gc_add(&c, v[k].xk, 4, EB_SHAPE(v[k].n, v[k].c, v[k].h, v[k].w), -2.0f, 2.0f);
        gc_add(&c, v[k].wk, 4, EB_SHAPE(v[k].o, v[k].c, v[k].kh, v[k].kw), -1.0f, 1.0f);
        if (v[k].bias) gc_add(&c, v[k].wk, 1, EB_SHAPE(v[k].o), -1.0f, 1.0f);
        c.conv = v[k].p;
        c.build = b_conv2d;
        worst = fmax(worst, gc_check(&c, &rng));
        n++;
    }
    gc_report("conv2d", worst, n);
}

/* batch_norm in training mode (through the batch statistics) and eval mode (affine), 4-D and 2-D, with
 * and without γ/β and running statistics, and with the fused ReLU (its kink kept away: fix_bn_relu).
 * Smooth: |f'''/f'| ~ 1/σ² ≤ 2 with σ² ≥ 0.5 (fix_bn_variance). */
static void check_batch_norm(void) {
    static const struct {
        int nd;
        int64_t shape[4];
        bool training, affine, running;
        float momentum, eps;
        bool relu;
    } v[] = {
        {4, {3, 2, 2, 3}, true, true, true, 0.1f, 1e-5f, false},
        {4, {2, 3, 3, 2}, true, false, false, 0.1f, 1e-5f, false},
        {4, {2, 2, 2, 2}, true, true, false, 0.3f, 1e-3f, false},
        {2, {4, 3}, true, true, true, 0.1f, 1e-5f, false},
        {4, {2, 3, 2, 2}, false, true, true, 0.1f, 1e-5f, false},
        {2, {3, 4}, false, true, true, 0.1f, 1e-3f, false},
        {4, {2, 2, 1, 3}, false, false, true, 0.1f, 1e-5f, false},
        {4, {3, 2, 2, 3}, true, true, true, 0.1f, 1e-5f, true},
        {4, {2, 3, 3, 2}, true, false, false, 0.1f, 1e-5f, true},
        {2, {5, 3}, true, true, true, 0.1f, 1e-5f, true},
        {4, {2, 3, 2, 2}, false, true, true, 0.1f, 1e-5f, true},
        {2, {3, 4}, false, false, true, 0.1f, 1e-3f, true},
    };
    eb_rng rng;
    eb_rng_seed(&rng, 702);
    double worst = 0.0;
    int n = 0;
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        char s[64];
        gc_case c;
        gc_init(&c, GC_TOL_SMOOTH, "batch_norm %s %s%s%s%s", shape_name(v[k].nd, v[k].shape, s, sizeof s),
                v[k].training ? "train" : "eval", v[k].relu ? " relu" : "", v[k].affine ? " affine" : "",
                v[k].running ? " with running stats" : "");
        int64_t ch = v[k].shape[1];
        gc_add(&c, GC_INPUT, v[k].nd, v[k].shape, -2.0f, 3.0f);
        if (v[k].affine) {
            gc_add(&c, GC_PARAM, 1, EB_SHAPE(ch), 0.5f, 1.5f);
            gc_add(&c, GC_PARAM, 1, EB_SHAPE(ch), -0.5f, 0.5f);
        }
        if (v[k].running) {
            gc_add(&c, GC_CONST, 1, EB_SHAPE(ch), -0.5f, 0.5f);
            gc_add(&c, GC_CONST, 1, EB_SHAPE(ch), 0.5f, 2.0f);
        }
        c.affine = v[k].affine;
        c.bn = (eb_batch_norm_params){
            .momentum = v[k].momentum, .eps = v[k].eps, .training = v[k].training, .relu = v[k].relu};
        c.fix = v[k].relu ? fix_bn_relu : fix_bn_variance;
        c.build = b_batch_norm;
        worst = fmax(worst, gc_check(&c, &rng));
        n++;
    }
    gc_report("batch_norm", worst, n);
}

/* Pooling windows: square and non-square, stride < kernel (overlaps), padding, stride = kernel. */
static const struct {
    int64_t shape[4];
    eb_pool2d_params p;
} gc_pools[] = {
    {{2, 2, 5, 5}, {3, 3, 1, 1, 1, 1}}, {{1, 2, 4, 6}, {2, 2, 2, 2, 0, 0}},
    {{2, 1, 5, 7}, {3, 3, 2, 2, 1, 1}}, {{1, 2, 6, 5}, {3, 2, 2, 1, 1, 0}},
    {{1, 1, 8, 8}, {4, 4, 4, 4, 2, 1}},
};

static void check_pool(const char *name, gc_build_fn build, gc_fix_fn fix, uint64_t seed) {
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    double worst = 0.0;
    int n = 0;
    for (size_t k = 0; k < sizeof gc_pools / sizeof gc_pools[0]; k++) {
        const eb_pool2d_params *p = &gc_pools[k].p;
        char s[64];
        gc_case c;
        gc_init(&c, GC_TOL_LINEAR, "%s %s kernel (%d,%d) stride (%d,%d) pad (%d,%d)", name,
                shape_name(4, gc_pools[k].shape, s, sizeof s), p->kernel_h, p->kernel_w, p->stride_h,
                p->stride_w, p->pad_h, p->pad_w);
        gc_add(&c, GC_INPUT, 4, gc_pools[k].shape, -2.0f, 2.0f);
        c.pool = *p;
        c.fix = fix;
        c.build = build;
        worst = fmax(worst, gc_check(&c, &rng));
        n++;
    }
    gc_report(name, worst, n);
}

static void check_max_pool2d(void) { check_pool("max_pool2d", b_max_pool2d, fix_pool_ties, 703); }
static void check_avg_pool2d(void) { check_pool("avg_pool2d", b_avg_pool2d, NULL, 704); }

static void check_global_avg_pool(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 705);
    static const int64_t shapes[][4] = {{2, 3, 4, 5}, {3, 2, 1, 1}, {1, 4, 3, 1}};
    double worst = 0.0;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        char s[64];
        gc_case c;
        gc_init(&c, GC_TOL_LINEAR, "global_avg_pool %s", shape_name(4, shapes[k], s, sizeof s));
        gc_add(&c, GC_INPUT, 4, shapes[k], -2.0f, 2.0f);
        c.build = b_global_avg_pool;
        worst = fmax(worst, gc_check(&c, &rng));
    }
    gc_report("global_avg_pool", worst, (int)(sizeof shapes / sizeof shapes[0]));
}

/* M = H·W from 2 (y = |x₁ − x₂|/√2, the smallest plane) to 20. Smooth away from constant planes
 * (fix_std_planes): truncation h²/6 · |f'''/f'| ≲ 1.7e-5 · 3/y² ≤ 1e-4 for y² ≥ 0.5. */
static void check_spatial_std_pool(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 706);
    static const int64_t shapes[][4] = {{2, 3, 4, 5}, {3, 2, 1, 2}, {1, 4, 3, 1}, {2, 2, 3, 3}};
    double worst = 0.0;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        char s[64];
        gc_case c;
        gc_init(&c, GC_TOL_SMOOTH, "spatial_std_pool %s", shape_name(4, shapes[k], s, sizeof s));
        gc_add(&c, GC_INPUT, 4, shapes[k], -2.0f, 2.0f);
        c.fix = fix_std_planes;
        c.build = b_spatial_std_pool;
        worst = fmax(worst, gc_check(&c, &rng));
    }
    gc_report("spatial_std_pool", worst, (int)(sizeof shapes / sizeof shapes[0]));
}

/* ---- composed losses ------------------------------------------------------------------------------ */

enum { MLP_N = 5, MLP_D = 4, MLP_H = 6, MLP_C = 3, EN_IN = 4, EN_OUT = 4, EN_N = EN_IN + EN_OUT };
static const float MLP_SLOPE = 0.1f;

/* f = W2 · leaky_relu(W1 x + b1) + b2 (PyTorch layout: x[N,D], W1[H,D], W2[C,H]). */
static eb_tensor *mlp(eb_graph *g, eb_tensor *x, eb_tensor *const *p) {
    return eb_linear(g, eb_leaky_relu(g, eb_linear(g, x, p[0], p[1]), MLP_SLOPE), p[2], p[3]);
}

/* The same MLP in float64 (reference for the composed losses); z1 = pre-activations [n, H]. */
static void mlp_ref(const float *x, int64_t n, const gc_arg *p, double *z1, double *f) {
    for (int64_t i = 0; i < n; i++) {
        double a[MLP_H];
        for (int j = 0; j < MLP_H; j++) {
            double s = p[1].data[j];
            for (int k = 0; k < MLP_D; k++) s += (double)p[0].data[j * MLP_D + k] * (double)x[i * MLP_D + k];
            z1[i * MLP_H + j] = s;
            a[j] = s > 0 ? s : (double)MLP_SLOPE * s;
        }
        for (int c = 0; c < MLP_C; c++) {
            double s = p[3].data[c];
            for (int j = 0; j < MLP_H; j++) s += (double)p[2].data[c * MLP_H + j] * a[j];
            f[i * MLP_C + c] = s;
        }
    }
}

static double lse_ref(const double *f) {
    double m = f[0];
    for (int c = 1; c < MLP_C; c++) m = fmax(m, f[c]);
    double s = 0.0;
    for (int c = 0; c < MLP_C; c++) s += exp(f[c] - m);
    return m + log(s);
}

static double ce_ref(const double *f, int64_t n, const int32_t *labels) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += lse_ref(f + i * MLP_C) - f[i * MLP_C + labels[i]];
    return s / (double)n;
}

/* (a) cross-entropy of the MLP: args x[N,D] (input), W1, b1, W2, b2 (eb_tensor_param). */
static eb_tensor *b_mlp_ce(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    return eb_cross_entropy(g, mlp(g, in[0], in + 1), c->labels);
}

/* Pre-activations of the whole batch stay 10·h·(1 + max|x|) away from the leaky_relu kink (a
 * perturbation of x_k or W1_jk moves z1 by at most h·max(|W1|, |x|, 1)). */
static int fix_mlp_kinks(gc_case *c, eb_rng *rng) {
    double z1[EN_N * MLP_H], f[EN_N * MLP_C];
    int64_t n = c->arg[0].shape[0];
    cr_assert_leq(n, EN_N);
    mlp_ref(c->arg[0].data, n, c->arg + 1, z1, f);
    for (int64_t i = 0; i < n * MLP_H; i++)
        if (fabs(z1[i]) <= 10.0 * c->tol.h * 3.0) {
            for (int a = 0; a < c->nargs; a++)
                for (int64_t j = 0; j < c->arg[a].size; j++) c->arg[a].data[j] = gc_uniform(rng, &c->arg[a]);
            return 1;
        }
    return 0;
}

static void check_mlp_cross_entropy(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 601);
    gc_case c;
    gc_init(&c, GC_TOL_COMPOSED, "cross_entropy(linear(leaky_relu(linear(x)))) params+input");
    gc_add(&c, GC_INPUT, 2, EB_SHAPE(MLP_N, MLP_D), -2.0f, 2.0f);
    gc_add(&c, GC_PARAM, 2, EB_SHAPE(MLP_H, MLP_D), -1.0f, 1.0f);
    gc_add(&c, GC_PARAM, 1, EB_SHAPE(MLP_H), -0.5f, 0.5f);
    gc_add(&c, GC_PARAM, 2, EB_SHAPE(MLP_C, MLP_H), -1.0f, 1.0f);
    gc_add(&c, GC_PARAM, 1, EB_SHAPE(MLP_C), -0.5f, 0.5f);
    for (int i = 0; i < MLP_N; i++) c.labels[i] = (int32_t)eb_rng_below(&rng, MLP_C);
    c.fix = fix_mlp_kinks;
    c.build = b_mlp_ce;

    /* sample once here to also check the forward value against the float64 reference */
    for (int a = 0; a < c.nargs; a++)
        for (int64_t j = 0; j < c.arg[a].size; j++) c.arg[a].data[j] = gc_uniform(&rng, &c.arg[a]);
    while (fix_mlp_kinks(&c, &rng)) {
    }
    double z1[MLP_N * MLP_H], f[MLP_N * MLP_C];
    mlp_ref(c.arg[0].data, MLP_N, c.arg + 1, z1, f);
    double want = ce_ref(f, MLP_N, c.labels);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *in[GC_MAX_ARGS];
    eb_tensor *out = gc_forward(g, &c, in);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_expect_eq(out->ndim, 0, "cross_entropy must return a scalar");
    cr_expect(fabs((double)out->data[0] - want) <= 1e-5 * fmax(1.0, fabs(want)),
              "MLP CE forward %.7g, expected %.7g", (double)out->data[0], want);
    eb_graph_free(g);

    c.fix = NULL; /* already away from kinks; keep this sample */
    gc_result res = gc_run(&c, &rng);
    gc_free(&c);
    gc_report("mlp_ce", res.worst_ratio, 1);
}

/* (b) energy-bounded loss (Liu et al. 2020, seed-code-specs.md §1(a)), one concatenated batch:
 *   f = mlp(concat(x_in, x_out)),  E = −logsumexp_c f
 *   L = CE(f_in, y) + 0.1 · [mean_in relu(E_in − m_in)² + mean_out relu(m_out − E_out)²].
 * args: x_in[EN_IN,D], x_out[EN_OUT,D] (inputs), W1, b1, W2, b2 (params); m_in = f0, m_out = f1. */
static eb_tensor *b_energy_loss(eb_graph *g, eb_tensor *const *in, const gc_case *c) {
    static const int64_t idx_in[EN_IN] = {0, 1, 2, 3}, idx_out[EN_OUT] = {4, 5, 6, 7};
    eb_tensor *f = mlp(g, eb_concat(g, in[0], in[1], 0), in + 2);
    eb_tensor *f_in = eb_gather_rows(g, f, idx_in, EN_IN);
    eb_tensor *f_out = eb_gather_rows(g, f, idx_out, EN_OUT);
    eb_tensor *ce = eb_cross_entropy(g, f_in, c->labels);
    eb_tensor *e_in = eb_mul_scalar(g, eb_logsumexp(g, f_in, 1, false), -1.0f);
    eb_tensor *e_out = eb_mul_scalar(g, eb_logsumexp(g, f_out, 1, false), -1.0f);
    eb_tensor *hinge_in = eb_mean_all(g, eb_square(g, eb_relu(g, eb_add_scalar(g, e_in, -c->f0))));
    eb_tensor *hinge_out =
        eb_mean_all(g, eb_square(g, eb_relu(g, eb_add_scalar(g, eb_mul_scalar(g, e_out, -1.0f), c->f1))));
    return eb_add(g, ce, eb_mul_scalar(g, eb_add(g, hinge_in, hinge_out), 0.1f));
}

/* Energies of the batch in float64: e[0..EN_IN) for x_in, e[EN_IN..EN_N) for x_out. */
static void energy_ref(const gc_case *c, double *e, double *f) {
    float x[EN_N * MLP_D];
    memcpy(x, c->arg[0].data, sizeof(float) * EN_IN * MLP_D);
    memcpy(x + EN_IN * MLP_D, c->arg[1].data, sizeof(float) * EN_OUT * MLP_D);
    double z1[EN_N * MLP_H];
    mlp_ref(x, EN_N, c->arg + 2, z1, f);
    for (int i = 0; i < EN_N; i++) e[i] = -lse_ref(f + i * MLP_C);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A margin in the widest gap between sorted energies (not past either end), so the hinge is active
 * for some samples and inactive for others. Returns the gap's half-width. */
static double margin_in_widest_gap(const double *e, int n, float *margin) {
    double s[EN_N];
    memcpy(s, e, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    double best = -1.0;
    for (int i = 0; i + 1 < n; i++)
        if (s[i + 1] - s[i] > best) {
            best = s[i + 1] - s[i];
            *margin = (float)(0.5 * (s[i] + s[i + 1]));
        }
    return 0.5 * best;
}

/* Leaky_relu kinks avoided over the concatenated batch; margins placed between energies at least
 * 10·h·2 from each (|dE/dθ| ≲ 2). */
static int fix_energy(gc_case *c, eb_rng *rng) {
    float x[EN_N * MLP_D];
    memcpy(x, c->arg[0].data, sizeof(float) * EN_IN * MLP_D);
    memcpy(x + EN_IN * MLP_D, c->arg[1].data, sizeof(float) * EN_OUT * MLP_D);
    double z1[EN_N * MLP_H], f[EN_N * MLP_C], e[EN_N];
    mlp_ref(x, EN_N, c->arg + 2, z1, f);
    bool ok = true;
    for (int i = 0; i < EN_N * MLP_H; i++) ok = ok && fabs(z1[i]) > 10.0 * c->tol.h * 3.0;
    energy_ref(c, e, f);
    ok = ok && margin_in_widest_gap(e, EN_IN, &c->f0) > 20.0 * c->tol.h;
    ok = ok && margin_in_widest_gap(e + EN_IN, EN_OUT, &c->f1) > 20.0 * c->tol.h;
    if (ok) return 0;
    for (int a = 0; a < c->nargs; a++)
        for (int64_t j = 0; j < c->arg[a].size; j++) c->arg[a].data[j] = gc_uniform(rng, &c->arg[a]);
    return 1;
}

static void check_energy_loss(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 602);
    gc_case c;
    gc_init(&c, GC_TOL_COMPOSED, "energy-bounded loss (Liu et al. 2020)");
    gc_add(&c, GC_INPUT, 2, EB_SHAPE(EN_IN, MLP_D), -2.0f, 2.0f);
    gc_add(&c, GC_INPUT, 2, EB_SHAPE(EN_OUT, MLP_D), -2.0f, 2.0f);
    gc_add(&c, GC_PARAM, 2, EB_SHAPE(MLP_H, MLP_D), -1.0f, 1.0f);
    gc_add(&c, GC_PARAM, 1, EB_SHAPE(MLP_H), -0.5f, 0.5f);
    gc_add(&c, GC_PARAM, 2, EB_SHAPE(MLP_C, MLP_H), -1.5f, 1.5f);
    gc_add(&c, GC_PARAM, 1, EB_SHAPE(MLP_C), -0.5f, 0.5f);
    for (int i = 0; i < EN_IN; i++) c.labels[i] = (int32_t)eb_rng_below(&rng, MLP_C);
    c.build = b_energy_loss;
    for (int a = 0; a < c.nargs; a++)
        for (int64_t j = 0; j < c.arg[a].size; j++) c.arg[a].data[j] = gc_uniform(&rng, &c.arg[a]);
    int rounds = 0;
    while (fix_energy(&c, &rng)) cr_assert_lt(++rounds, 100000, "cannot place the energy margins");

    /* Forward value against float64, and both hinges active for some samples. */
    double e[EN_N], f[EN_N * MLP_C];
    energy_ref(&c, e, f);
    double hin = 0.0, hout = 0.0;
    int active_in = 0, active_out = 0;
    for (int i = 0; i < EN_IN; i++) {
        double z = fmax(e[i] - (double)c.f0, 0.0);
        hin += z * z / EN_IN;
        active_in += z > 0;
    }
    for (int i = EN_IN; i < EN_N; i++) {
        double z = fmax((double)c.f1 - e[i], 0.0);
        hout += z * z / EN_OUT;
        active_out += z > 0;
    }
    cr_assert(active_in > 0 && active_in < EN_IN && active_out > 0 && active_out < EN_OUT,
              "margins must split both hinges (%d in, %d out active)", active_in, active_out);
    double want = ce_ref(f, EN_IN, c.labels) + 0.1 * (hin + hout);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *in[GC_MAX_ARGS];
    eb_tensor *out = gc_forward(g, &c, in);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_expect(fabs((double)out->data[0] - want) <= 1e-5 * fmax(1.0, fabs(want)),
              "energy loss forward %.7g, expected %.7g", (double)out->data[0], want);
    eb_graph_free(g);

    gc_result res = gc_run(&c, &rng);
    gc_free(&c);
    cr_log_info("energy loss: m_in=%.3f (%d/%d active), m_out=%.3f (%d/%d active)", (double)c.f0, active_in,
                EN_IN, (double)c.f1, active_out, EN_OUT);
    gc_report("energy_loss", res.worst_ratio, 1);
}

/* ---- the tests ----------------------------------------------------------------------------------- */

typedef void (*check_fn)(void);
static const struct {
    const char *name;
    check_fn fn;
} all_checks[] = {
    {"reshape", check_reshape},
    {"matmul", check_matmul},
    {"linear", check_linear},
    {"add", check_add},
    {"sub", check_sub},
    {"mul", check_mul},
    {"div", check_div},
    {"add_scalar", check_add_scalar},
    {"mul_scalar", check_mul_scalar},
    {"exp", check_exp},
    {"log", check_log},
    {"sqrt", check_sqrt},
    {"square", check_square},
    {"abs", check_abs},
    {"clamp", check_clamp},
    {"relu", check_relu},
    {"leaky_relu", check_leaky_relu},
    {"elu", check_elu},
    {"softplus", check_softplus},
    {"tanh", check_tanh},
    {"sigmoid", check_sigmoid},
    {"swish", check_swish},
    {"sum", check_sum},
    {"mean", check_mean},
    {"max", check_max},
    {"logsumexp", check_logsumexp},
    {"softmax", check_softmax},
    {"log_softmax", check_log_softmax},
    {"cross_entropy", check_cross_entropy},
    {"l2_normalize", check_l2_normalize},
    {"concat", check_concat},
    {"gather_rows", check_gather_rows},
    {"dropout", check_dropout},
    {"conv2d", check_conv2d},
    {"batch_norm", check_batch_norm},
    {"max_pool2d", check_max_pool2d},
    {"avg_pool2d", check_avg_pool2d},
    {"global_avg_pool", check_global_avg_pool},
    {"spatial_std_pool", check_spatial_std_pool},
    {"reuse", check_reuse},
    {"mlp_cross_entropy", check_mlp_cross_entropy},
    {"energy_loss", check_energy_loss},
};

#define GC_TEST(fn)                                                                                          \
    Test(gradcheck, fn) { check_##fn(); }

GC_TEST(reshape)
GC_TEST(matmul)
GC_TEST(linear)
GC_TEST(add)
GC_TEST(sub)
GC_TEST(mul)
GC_TEST(div)
GC_TEST(add_scalar)
GC_TEST(mul_scalar)
GC_TEST(exp)
GC_TEST(log)
GC_TEST(sqrt)
GC_TEST(square)
GC_TEST(abs)
GC_TEST(clamp)
GC_TEST(relu)
GC_TEST(leaky_relu)
GC_TEST(elu)
GC_TEST(softplus)
GC_TEST(tanh)
GC_TEST(sigmoid)
GC_TEST(swish)
GC_TEST(sum)
GC_TEST(mean)
GC_TEST(max)
GC_TEST(logsumexp)
GC_TEST(softmax)
GC_TEST(log_softmax)
GC_TEST(cross_entropy)
GC_TEST(l2_normalize)
GC_TEST(concat)
GC_TEST(gather_rows)
GC_TEST(dropout)
GC_TEST(conv2d)
GC_TEST(batch_norm)
GC_TEST(max_pool2d)
GC_TEST(avg_pool2d)
GC_TEST(global_avg_pool)
GC_TEST(spatial_std_pool)
GC_TEST(reuse)
GC_TEST(mlp_cross_entropy)
GC_TEST(energy_loss)

/* Runs every check in this process and fails for each op of EB_OP_LIST that none of them reached. */
Test(gradcheck, every_op_has_a_gradient_check, .timeout = 600) {
    memset(gc_covered, 0, sizeof gc_covered);
    for (size_t i = 0; i < sizeof all_checks / sizeof all_checks[0]; i++) all_checks[i].fn();
    int missing = 0;
    for (int op = 1; op < EB_OP_COUNT; op++)
        if (!gc_covered[op]) {
            cr_log_error("op %s (EB_OP_LIST row %d) has no gradient check in tests/test_gradcheck.c",
                         eb_op_name((eb_op)op), op);
            missing++;
        }
    cr_assert_eq(missing, 0, "%d ops of EB_OP_LIST have no gradient check", missing);
}

/* ---- backward semantics ---------------------------------------------------------------------------- */

/* loss = Σ (x wᵀ)²  ⇒  dL/dw = 2 (x wᵀ)ᵀ x, dL/dx = 2 (x wᵀ) w. */
static eb_tensor *quad_loss(eb_graph *g, eb_tensor *x, eb_tensor *w) {
    return eb_sum_all(g, eb_square(g, eb_linear(g, x, w, NULL)));
}

Test(gradcheck_semantics, param_grads_accumulate_across_builds) {
    float x[2 * 3] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};
    float w[2 * 3] = {0.1f, 0.2f, -0.3f, -0.4f, 0.5f, 0.6f};
    float gw[2 * 3], gw0[2 * 3];
    for (int i = 0; i < 6; i++) gw[i] = gw0[i] = 0.01f * (float)(i + 1); /* existing content is kept */
    double y[2][2], dw[6] = {0}, dx[6] = {0};
    for (int n = 0; n < 2; n++)
        for (int o = 0; o < 2; o++) {
            y[n][o] = 0.0;
            for (int k = 0; k < 3; k++) y[n][o] += (double)x[n * 3 + k] * (double)w[o * 3 + k];
        }
    for (int n = 0; n < 2; n++)
        for (int o = 0; o < 2; o++)
            for (int k = 0; k < 3; k++) {
                dw[o * 3 + k] += 2.0 * y[n][o] * (double)x[n * 3 + k];
                dx[n * 3 + k] += 2.0 * y[n][o] * (double)w[o * 3 + k];
            }
    eb_graph *g = eb_graph_new(0, NULL);
    for (int pass = 1; pass <= 2; pass++) {
        eb_graph_reset(g);
        eb_tensor *tx = eb_tensor_input(g, x, 2, EB_SHAPE(2, 3), true);
        eb_tensor *tw = eb_tensor_param(g, w, gw, 2, EB_SHAPE(2, 3));
        eb_tensor *l = quad_loss(g, tx, tw);
        cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
        cr_assert_eq(eb_graph_backward(g, l, NULL), EB_OK);
        for (int i = 0; i < 6; i++) {
            double want = (double)gw0[i] + pass * dw[i];
            cr_expect(fabs((double)gw[i] - want) <= 1e-5 * fmax(1.0, fabs(want)),
                      "pass %d: param grad[%d] = %.7g, expected initial + %d x %.7g = %.7g", pass, i,
                      (double)gw[i], pass, dw[i], want);
            /* input gradients live in the arena: fresh (zeroed) on each build, not accumulated */
            cr_expect(fabs((double)tx->grad[i] - dx[i]) <= 1e-5 * fmax(1.0, fabs(dx[i])),
                      "pass %d: input grad[%d] = %.7g, expected %.7g", pass, i, (double)tx->grad[i], dx[i]);
        }
    }
    eb_graph_free(g);
}

Test(gradcheck_semantics, null_seed_is_all_ones) {
    float x[5] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f};
    eb_graph *g = eb_graph_new(0, NULL);
    /* scalar loss, NULL seed */
    eb_tensor *tx = eb_tensor_input(g, x, 1, EB_SHAPE(5), true);
    eb_tensor *l = eb_sum_all(g, eb_exp(g, tx));
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(l->ndim, 0);
    cr_assert_eq(eb_graph_backward(g, l, NULL), EB_OK);
    float g_null[5];
    for (int i = 0; i < 5; i++) {
        g_null[i] = tx->grad[i];
        cr_expect(fabsf(tx->grad[i] - expf(x[i])) <= 1e-6f * expf(x[i]), "grad[%d] = %g, expected e^x = %g",
                  i, (double)tx->grad[i], (double)expf(x[i]));
    }
    /* the same with an explicit seed of 1, and a seed of 2.5 scales it */
    const float seeds[2] = {1.0f, 2.5f};
    for (int s = 0; s < 2; s++) {
        eb_graph_reset(g);
        tx = eb_tensor_input(g, x, 1, EB_SHAPE(5), true);
        l = eb_sum_all(g, eb_exp(g, tx));
        cr_assert_eq(eb_graph_backward(g, l, &seeds[s]), EB_OK);
        for (int i = 0; i < 5; i++)
            cr_expect(fabsf(tx->grad[i] - seeds[s] * g_null[i]) <= 1e-6f * fabsf(seeds[s] * g_null[i]),
                      "seed %g: grad[%d] = %g, expected %g", (double)seeds[s], i, (double)tx->grad[i],
                      (double)(seeds[s] * g_null[i]));
    }
    /* non-scalar output with NULL seed: d(Σ out)/dx */
    eb_graph_reset(g);
    tx = eb_tensor_input(g, x, 1, EB_SHAPE(5), true);
    eb_tensor *y = eb_mul_scalar(g, eb_square(g, tx), 3.0f);
    cr_assert_eq(eb_graph_backward(g, y, NULL), EB_OK);
    for (int i = 0; i < 5; i++)
        cr_expect(fabsf(tx->grad[i] - 6.0f * x[i]) <= 1e-6f,
                  "vector out, NULL seed: grad[%d] = %g, expected %g", i, (double)tx->grad[i],
                  (double)(6.0f * x[i]));
    eb_graph_free(g);
}

Test(gradcheck_semantics, tensor_used_twice_gets_both_contributions) {
    float x[4] = {-1.5f, -0.25f, 0.5f, 2.0f};
    eb_graph *g = eb_graph_new(0, NULL);
    /* L = Σ (h² + h), h = tanh(x): dL/dx = (2h + 1)(1 − h²); h feeds two ops and mul uses it twice */
    eb_tensor *tx = eb_tensor_input(g, x, 1, EB_SHAPE(4), true);
    eb_tensor *h = eb_tanh(g, tx);
    eb_tensor *l = eb_sum_all(g, eb_add(g, eb_mul(g, h, h), h));
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(eb_graph_backward(g, l, NULL), EB_OK);
    for (int i = 0; i < 4; i++) {
        double th = tanh((double)x[i]), want = (2.0 * th + 1.0) * (1.0 - th * th);
        cr_expect(fabs((double)tx->grad[i] - want) <= 1e-5, "grad[%d] = %.7g, expected %.7g", i,
                  (double)tx->grad[i], want);
    }
    /* x added to itself: d(Σ (x + x))/dx = 2 */
    eb_graph_reset(g);
    tx = eb_tensor_input(g, x, 1, EB_SHAPE(4), true);
    l = eb_sum_all(g, eb_add(g, tx, tx));
    cr_assert_eq(eb_graph_backward(g, l, NULL), EB_OK);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(tx->grad[i], 2.0f, "x + x: grad[%d] = %g", i, (double)tx->grad[i]);
    eb_graph_free(g);
}

Test(gradcheck_semantics, constants_get_no_gradient) {
    float x[3] = {1, 2, 3}, c[3] = {4, 5, 6};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *tx = eb_tensor_input(g, x, 1, EB_SHAPE(3), true);
    eb_tensor *tc = eb_tensor_input(g, c, 1, EB_SHAPE(3), false);
    eb_tensor *k = eb_tensor_copy(g, c, 1, EB_SHAPE(3));
    eb_tensor *l = eb_sum_all(g, eb_mul(g, eb_mul(g, tx, tc), k));
    /* an output that depends on constants only does not require grad */
    eb_tensor *cc = eb_mul(g, tc, k);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_expect(!cc->requires_grad, "constant * constant must not require grad");
    cr_assert(l->requires_grad);
    cr_assert_eq(eb_graph_backward(g, l, NULL), EB_OK);
    cr_expect_null(tc->grad);
    cr_expect_null(k->grad);
    for (int i = 0; i < 3; i++) cr_expect_eq(tx->grad[i], c[i] * c[i]);
    eb_graph_free(g);
}
