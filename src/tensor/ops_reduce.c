/* Reductions over one axis: sum, mean, max, logsumexp; and over all elements (via reshape).
 * x is viewed as [outer, n, inner] around the axis; the output is [outer, inner] (axis removed,
 * or kept as size 1 with keepdim). */
#include "tensor/graph_impl.h"

#include <math.h>

static eb_tensor *reduce(eb_graph *g, eb_op op, eb_tensor *x, int axis, bool keepdim) {
    const char *name = eb_op_name(op);
    if (!eb__inputs_ok(g, name, x, NULL)) return eb__poison(g);
    int ax = eb__axis(axis, x->ndim);
    if (ax < 0) {
        eb_graph_fail(g, EB_ERR_ARG, "%s: axis %d out of range for a %d-D tensor", name, axis, x->ndim);
        return eb__poison(g);
    }
    if (x->shape[ax] == 0 && (op == EB_OP_MAX || op == EB_OP_MEAN || op == EB_OP_LOGSUMEXP)) {
        eb__fail_shapes(g, name, x, NULL, "reduction over an empty axis");
        return eb__poison(g);
    }
    int64_t shape[EB_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d != ax)
            shape[nd++] = x->shape[d];
        else if (keepdim)
            shape[nd++] = 1;
    }
    eb_tensor *out = eb__node(g, op, nd, shape, x, NULL, NULL);
    if (!out) return eb__poison(g);
    out->iparam[0] = ax;
    out->iparam[1] = keepdim;
    eb__forward(out);
    return out;
}

eb_tensor *eb_sum(eb_graph *g, eb_tensor *x, int axis, bool keepdim) {
    return reduce(g, EB_OP_SUM, x, axis, keepdim);
}
eb_tensor *eb_mean(eb_graph *g, eb_tensor *x, int axis, bool keepdim) {
    return reduce(g, EB_OP_MEAN, x, axis, keepdim);
}
eb_tensor *eb_max(eb_graph *g, eb_tensor *x, int axis, bool keepdim) {
    return reduce(g, EB_OP_MAX, x, axis, keepdim);
}
eb_tensor *eb_logsumexp(eb_graph *g, eb_tensor *x, int axis, bool keepdim) {
    return reduce(g, EB_OP_LOGSUMEXP, x, axis, keepdim);
}

static eb_tensor *flatten(eb_graph *g, eb_tensor *x) {
    if (!eb__inputs_ok(g, "reshape", x, NULL)) return eb__poison(g);
    return eb_reshape(g, x, 1, EB_SHAPE(x->size));
}
eb_tensor *eb_sum_all(eb_graph *g, eb_tensor *x) { return eb_sum(g, flatten(g, x), 0, false); }
eb_tensor *eb_mean_all(eb_graph *g, eb_tensor *x) { return eb_mean(g, flatten(g, x), 0, false); }

#define SPLIT(out)                                                                                           \
    const eb_tensor *x_ = (out)->src[0];                                                                     \
    int64_t outer, n, inner;                                                                                 \
    eb__axis_split(x_, (int)(out)->iparam[0], &outer, &n, &inner);                                           \
    const float *X = x_->data;                                                                               \
    (void)X

/* Accumulate in double: reductions over long axes lose float precision quickly. */
void eb__forward_sum(eb_tensor *out) {
    SPLIT(out);
#pragma omp parallel for collapse(2) if (out->size > 256 && x_->size > EB_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double s = 0.0;
            for (int64_t k = 0; k < n; k++) s += (double)X[(o * n + k) * inner + i];
            out->data[o * inner + i] = (float)s;
        }
}
void eb__forward_mean(eb_tensor *out) {
    eb__forward_sum(out);
    SPLIT(out);
    for (int64_t j = 0; j < out->size; j++) out->data[j] /= (float)n;
}

/* d/dx Σ = 1, d/dx mean = 1/n: gx[o,k,i] += g[o,i]·scale */
static void spread(eb_tensor *out, float scale) {
    SPLIT(out);
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
#pragma omp parallel for if (x_->size > EB_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < n; k++)
            for (int64_t i = 0; i < inner; i++)
                gx[(o * n + k) * inner + i] += out->grad[o * inner + i] * scale;
}
void eb__backward_sum(eb_tensor *out) { spread(out, 1.0f); }
void eb__backward_mean(eb_tensor *out) { spread(out, 1.0f / (float)out->src[0]->shape[out->iparam[0]]); }

void eb__forward_max(eb_tensor *out) {
    SPLIT(out);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            float m = X[o * n * inner + i];
            for (int64_t k = 1; k < n; k++) m = fmaxf(m, X[(o * n + k) * inner + i]);
            out->data[o * inner + i] = m;
        }
}
/* The gradient goes to the first position holding the maximum. */
void eb__backward_max(eb_tensor *out) {
    SPLIT(out);
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            float m = out->data[o * inner + i];
            for (int64_t k = 0; k < n; k++)
                if (X[(o * n + k) * inner + i] == m) {
                    gx[(o * n + k) * inner + i] += out->grad[o * inner + i];
                    break;
                }
        }
}

/* lse(x) = m + log Σ_k exp(x_k − m), m = max_k x_k */
void eb__forward_logsumexp(eb_tensor *out) {
    SPLIT(out);
#pragma omp parallel for if (x_->size > EB_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xi = X + o * n * inner + i;
            float m = xi[0];
            for (int64_t k = 1; k < n; k++) m = fmaxf(m, xi[k * inner]);
            double s = 0.0;
            for (int64_t k = 0; k < n; k++) s += exp((double)(xi[k * inner] - m));
            out->data[o * inner + i] = isinf(m) ? m : m + (float)log(s);
        }
}
/* ∂lse/∂x_k = softmax_k = exp(x_k − lse) */
void eb__backward_logsumexp(eb_tensor *out) {
    SPLIT(out);
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
#pragma omp parallel for if (x_->size > EB_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < n; k++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t j = o * inner + i, xi = (o * n + k) * inner + i;
                gx[xi] += out->grad[j] * expf(X[xi] - out->data[j]);
            }
}
