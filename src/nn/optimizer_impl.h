/* Internals shared by src/nn/optimizer*.c: the optimizer object and the per-kind step kernels. */
#ifndef EBOOD_NN_OPTIMIZER_IMPL_H
#define EBOOD_NN_OPTIMIZER_IMPL_H

#include <ebood/optim.h>

struct eb_optimizer {
    eb_optimizer_params params;
    int64_t n;          /* parameters */
    int64_t t;          /* steps taken */
    int64_t state_size; /* floats in state */
    float *state;       /* layout: see optim.h */
    eb_allocator alloc; /* copy of the creation allocator (default when NULL was given) */
};

/* Runs fn(ctx, lo, hi) over [0, n): one call when n ≤ EB_OPTIM_PARALLEL_MIN, otherwise fixed
 * chunks spread over the OpenMP threads (the split never changes a result: elements are
 * independent). */
void eb__optim_for(int64_t n, void (*fn)(void *ctx, int64_t lo, int64_t hi), void *ctx);

/* Kernels on plain arrays. Each updates params[0, n) in place and moves the state; t is the step
 * count BEFORE this step. Serial below EB_OPTIM_PARALLEL_MIN, OpenMP above. */

/* buf[n] (NULL when momentum == 0). */
void eb__sgd_step(const eb_optimizer_params *hp, int64_t n, int64_t t, float *params, const float *grads,
                  float *buf, float lr);
/* m[n], v[n]; decoupled selects AdamW. */
void eb__adam_step(const eb_optimizer_params *hp, int64_t n, int64_t t, float *params, const float *grads,
                   float *m, float *v, float lr, bool decoupled);

#endif
