/* Shared scaffolding for elementwise unary ops (ops_unary.c, ops_activation.c). */
#ifndef EBOOD_UNARY_IMPL_H
#define EBOOD_UNARY_IMPL_H

#include "tensor/graph_impl.h"

/* Creates the node of an elementwise op y = f(x; p0, p1) and runs its forward kernel. */
eb_tensor *eb__unary(eb_graph *g, eb_op op, eb_tensor *x, float p0, float p1);

/* Forward: Y[i] = EXPR(X[i], P0, P1). Backward: GX[i] += G[i] · DEXPR(X[i], Y[i], P0, P1). */
#define EB_DEFINE_UNARY(name, EXPR, DEXPR)                                                                   \
    void eb__forward_##name(eb_tensor *out) {                                                                \
        const float *X = out->src[0]->data;                                                                  \
        float *Y = out->data;                                                                                \
        const float P0 = out->fparam[0], P1 = out->fparam[1];                                                \
        (void)P0;                                                                                            \
        (void)P1;                                                                                            \
        int64_t n = out->size;                                                                               \
        _Pragma("omp parallel for simd if (parallel : n > EB_PARALLEL_MIN)") for (int64_t i = 0; i < n;      \
                                                                                  i++) {                     \
            const float x = X[i];                                                                            \
            Y[i] = (EXPR);                                                                                   \
        }                                                                                                    \
    }                                                                                                        \
    void eb__backward_##name(eb_tensor *out) {                                                               \
        const float *X = out->src[0]->data, *Y = out->data, *G = out->grad;                                  \
        float *GX = eb__src_grad(out, 0);                                                                    \
        const float P0 = out->fparam[0], P1 = out->fparam[1];                                                \
        (void)P0;                                                                                            \
        (void)P1;                                                                                            \
        int64_t n = out->size;                                                                               \
        if (!GX) return;                                                                                     \
        if (eb__grad_fresh & 1u) { /* first writer of GX (uninitialised): store */                           \
            _Pragma("omp parallel for simd if (parallel : n > EB_PARALLEL_MIN)") for (int64_t i = 0; i < n;  \
                                                                                      i++) {                 \
                const float x = X[i], y = Y[i];                                                              \
                (void)x;                                                                                     \
                (void)y;                                                                                     \
                GX[i] = G[i] * (DEXPR);                                                                      \
            }                                                                                                \
            return;                                                                                          \
        }                                                                                                    \
        _Pragma("omp parallel for simd if (parallel : n > EB_PARALLEL_MIN)") for (int64_t i = 0; i < n;      \
                                                                                  i++) {                     \
            const float x = X[i], y = Y[i];                                                                  \
            (void)x;                                                                                         \
            (void)y;                                                                                         \
            GX[i] += G[i] * (DEXPR);                                                                         \
        }                                                                                                    \
    }

#endif
