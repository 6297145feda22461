/* SGD with momentum, dampening, Nesterov and L2 weight decay — torch.optim.SGD (PyTorch 1.13,
 * _single_tensor_sgd). Math in include/ebood/optim.h. Per element, in float32, in torch's order:
 *   d = g + wd·p;  b = d (first step) | (b·μ) + (1−τ)·d;  d = d + μ·b (nesterov) | b;  p = p + (−lr)·d
 * Scalars (1−τ, −lr) are formed in double and rounded to float, as torch's kernels receive them. */
#include "nn/optimizer_impl.h"

typedef struct sgd_ctx {
    float *params;
    const float *grads;
    float *buf;
    float wd, momentum, one_minus_dampening, neg_lr;
    bool has_wd, has_momentum, first, nesterov;
} sgd_ctx;

/* No momentum: p ← p − lr·(g + wd·p). */
static void sgd_plain(const sgd_ctx *c, int64_t lo, int64_t hi) {
    float *restrict p = c->params;
    const float *restrict g = c->grads;
    const float wd = c->wd, neg_lr = c->neg_lr;
    if (c->has_wd) {
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) p[i] = p[i] + neg_lr * (g[i] + wd * p[i]);
    } else {
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) p[i] = p[i] + neg_lr * g[i];
    }
}

/* With momentum. The flags are compile-time constants at every call site below, so each of the 8
 * variants is its own branch-free (vectorisable) loop. */
static inline __attribute__((always_inline)) void sgd_momentum_loop(const sgd_ctx *c, int64_t lo, int64_t hi,
                                                                    bool has_wd, bool first, bool nesterov) {
    float *restrict p = c->params;
    const float *restrict g = c->grads;
    float *restrict b = c->buf;
    const float wd = c->wd, mu = c->momentum, keep = c->one_minus_dampening, neg_lr = c->neg_lr;
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) {
        float d = has_wd ? g[i] + wd * p[i] : g[i];
        const float bi = first ? d : b[i] * mu + keep * d;
        b[i] = bi;
        d = nesterov ? d + mu * bi : bi;
        p[i] = p[i] + neg_lr * d;
    }
}

static void sgd_momentum(const sgd_ctx *c, int64_t lo, int64_t hi) {
    switch ((c->has_wd ? 4 : 0) | (c->first ? 2 : 0) | (c->nesterov ? 1 : 0)) {
    case 0: sgd_momentum_loop(c, lo, hi, false, false, false); break;
    case 1: sgd_momentum_loop(c, lo, hi, false, false, true); break;
    case 2: sgd_momentum_loop(c, lo, hi, false, true, false); break;
    case 3: sgd_momentum_loop(c, lo, hi, false, true, true); break;
    case 4: sgd_momentum_loop(c, lo, hi, true, false, false); break;
    case 5: sgd_momentum_loop(c, lo, hi, true, false, true); break;
    case 6: sgd_momentum_loop(c, lo, hi, true, true, false); break;
    default: sgd_momentum_loop(c, lo, hi, true, true, true); break;
    }
}

static void sgd_range(void *ctx, int64_t lo, int64_t hi) {
    const sgd_ctx *c = ctx;
    if (c->has_momentum)
        sgd_momentum(c, lo, hi);
    else
        sgd_plain(c, lo, hi);
}

void eb__sgd_step(const eb_optimizer_params *hp, int64_t n, int64_t t, float *params, const float *grads,
                  float *buf, float lr) {
    sgd_ctx c = {
        .params = params,
        .grads = grads,
        .buf = buf,
        .wd = hp->weight_decay,
        .momentum = hp->momentum,
        .one_minus_dampening = (float)(1.0 - (double)hp->dampening),
        .neg_lr = -lr,
        .has_wd = hp->weight_decay != 0.0f,
        .has_momentum = hp->momentum != 0.0f && buf != NULL,
        .first = t == 0,
        .nesterov = hp->nesterov,
    };
    eb__optim_for(n, sgd_range, &c);
}
