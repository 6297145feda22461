/* Adam (L2 weight decay) and AdamW (decoupled weight decay) — torch.optim.Adam / AdamW
 * (PyTorch 1.13, _single_tensor_adam / _single_tensor_adamw, amsgrad off). Math in
 * include/ebood/optim.h. Per element, in float32, in torch's order:
 *   AdamW: p = p·(1 − lr·wd)          Adam: g = g + wd·p   (if wd ≠ 0)
 *   m = (m·β1) + (1−β1)·g;  v = (v·β2) + ((1−β2)·g)·g
 *   p = p + ((−lr/(1−β1^t))·m) / (√v / √(1−β2^t) + eps)
 * The scalars (1−β, 1−lr·wd, the bias corrections and the step size) are formed in double from
 * the float hyperparameters and rounded to float, as torch's kernels receive them. */
#include "nn/optimizer_impl.h"

#include <math.h>

typedef struct adam_ctx {
    float *params;
    const float *grads;
    float *m, *v;
    float wd;    /* Adam's L2 coefficient (0 for AdamW) */
    float decay; /* AdamW's 1 − lr·wd (1 for Adam) */
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float neg_step; /* −lr / (1 − β1^t) */
    float bc2_sqrt; /* √(1 − β2^t) */
    float eps;
    bool decoupled; /* AdamW */
} adam_ctx;

/* The flags are compile-time constants at each call site in adam_range, so each variant is its own
 * branch-free loop. (It stays scalar unless the build has -fno-math-errno: sqrtf must set errno
 * for negative inputs, which keeps GCC from vectorising it; v ≥ 0 here, so it never would.) */
static inline __attribute__((always_inline)) void adam_loop(const adam_ctx *c, int64_t lo, int64_t hi,
                                                            bool has_wd, bool decoupled) {
    float *restrict p = c->params;
    const float *restrict g = c->grads;
    float *restrict m = c->m;
    float *restrict v = c->v;
    const float wd = c->wd, decay = c->decay, b1 = c->beta1, a1 = c->one_minus_beta1, b2 = c->beta2,
                a2 = c->one_minus_beta2, neg_step = c->neg_step, bc2_sqrt = c->bc2_sqrt, eps = c->eps;
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) {
        float pi = p[i], gi = g[i];
        if (decoupled) pi = pi * decay;
        if (has_wd) gi = gi + wd * pi;
        const float mi = m[i] * b1 + a1 * gi;
        const float vi = v[i] * b2 + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = pi + neg_step * mi / denom;
    }
}

static void adam_range(void *ctx, int64_t lo, int64_t hi) {
    const adam_ctx *c = ctx;
    if (c->decoupled)
        adam_loop(c, lo, hi, false, true);
    else if (c->wd != 0.0f)
        adam_loop(c, lo, hi, true, false);
    else
        adam_loop(c, lo, hi, false, false);
}

void eb__adam_step(const eb_optimizer_params *hp, int64_t n, int64_t t, float *params, const float *grads,
                   float *m, float *v, float lr, bool decoupled) {
    const double step = (double)(t + 1);
    const double bc1 = 1.0 - pow((double)hp->beta1, step);
    const double bc2 = 1.0 - pow((double)hp->beta2, step);
    adam_ctx c = {
        .params = params,
        .grads = grads,
        .m = m,
        .v = v,
        .wd = decoupled ? 0.0f : hp->weight_decay,
        .decay = decoupled ? (float)(1.0 - (double)lr * (double)hp->weight_decay) : 1.0f,
        .beta1 = hp->beta1,
        .one_minus_beta1 = (float)(1.0 - (double)hp->beta1),
        .beta2 = hp->beta2,
        .one_minus_beta2 = (float)(1.0 - (double)hp->beta2),
        .neg_step = (float)(-((double)lr / bc1)),
        .bc2_sqrt = (float)sqrt(bc2),
        .eps = hp->eps,
        .decoupled = decoupled,
    };
    eb__optim_for(n, adam_range, &c);
}
