/* Softmax family over one axis, and the fused mean cross-entropy with integer labels. */
#include "tensor/graph_impl.h"

#include <math.h>
#include <string.h>

static eb_tensor *softmax_like(eb_graph *g, eb_op op, eb_tensor *x, int axis) {
    const char *name = eb_op_name(op);
    if (!eb__inputs_ok(g, name, x, NULL)) return eb__poison(g);
    int ax = eb__axis(axis, x->ndim);
    if (ax < 0) {
        eb_graph_fail(g, EB_ERR_ARG, "%s: axis %d out of range for a %d-D tensor", name, axis, x->ndim);
        return eb__poison(g);
    }
    eb_tensor *out = eb__node(g, op, x->ndim, x->shape, x, NULL, NULL);
    if (!out) return eb__poison(g);
    out->iparam[0] = ax;
    eb__forward(out);
    return out;
}

eb_tensor *eb_softmax(eb_graph *g, eb_tensor *x, int axis) { return softmax_like(g, EB_OP_SOFTMAX, x, axis); }
eb_tensor *eb_log_softmax(eb_graph *g, eb_tensor *x, int axis) {
    return softmax_like(g, EB_OP_LOG_SOFTMAX, x, axis);
}

/* y = x − lse(x) along the axis ([outer, n, inner] view); softmax = exp of it. */
static void log_softmax_kernel(float *y, const float *x, int64_t outer, int64_t n, int64_t inner) {
#pragma omp parallel for if (outer * n * inner > EB_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xi = x + o * n * inner + i;
            float *yi = y + o * n * inner + i;
            float m = xi[0];
            for (int64_t k = 1; k < n; k++) m = fmaxf(m, xi[k * inner]);
            double s = 0.0;
            for (int64_t k = 0; k < n; k++) s += exp((double)(xi[k * inner] - m));
            float lse = m + (float)log(s);
            for (int64_t k = 0; k < n; k++) yi[k * inner] = xi[k * inner] - lse;
        }
}

#define SPLIT(out)                                                                                           \
    int64_t outer, n, inner;                                                                                 \
    eb__axis_split((out)->src[0], (int)(out)->iparam[0], &outer, &n, &inner)

void eb__forward_log_softmax(eb_tensor *out) {
    SPLIT(out);
    log_softmax_kernel(out->data, out->src[0]->data, outer, n, inner);
}
void eb__forward_softmax(eb_tensor *out) {
    SPLIT(out);
    log_softmax_kernel(out->data, out->src[0]->data, outer, n, inner);
    for (int64_t j = 0; j < out->size; j++) out->data[j] = expf(out->data[j]);
}

/* softmax:     gx_k += y_k·(g_k − Σ_j g_j y_j)
 * log_softmax: gx_k += g_k − exp(y_k)·Σ_j g_j */
static void softmax_backward(eb_tensor *out, bool log_space) {
    SPLIT(out);
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
    const float *y = out->data, *gy = out->grad;
#pragma omp parallel for if (out->size > EB_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i;
            double dot = 0.0;
            for (int64_t k = 0; k < n; k++)
                dot += (double)gy[base + k * inner] * (log_space ? 1.0 : (double)y[base + k * inner]);
            for (int64_t k = 0; k < n; k++) {
                int64_t j = base + k * inner;
                gx[j] += log_space ? gy[j] - expf(y[j]) * (float)dot : y[j] * (gy[j] - (float)dot);
            }
        }
}
void eb__backward_softmax(eb_tensor *out) { softmax_backward(out, false); }
void eb__backward_log_softmax(eb_tensor *out) { softmax_backward(out, true); }

/* L = (1/N) Σ_i [lse(x_i) − x_i,y_i] for logits x[N,C]. aux holds the N labels. */
eb_tensor *eb_cross_entropy(eb_graph *g, eb_tensor *logits, const int32_t *labels) {
    if (!eb__inputs_ok(g, "cross_entropy", logits, NULL)) return eb__poison(g);
    if (logits->ndim != 2 || logits->shape[0] == 0) {
        eb__fail_shapes(g, "cross_entropy", logits, NULL, "expected non-empty logits [N,C]");
        return eb__poison(g);
    }
    int64_t n = logits->shape[0], c = logits->shape[1];
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= c) {
            eb_graph_fail(g, EB_ERR_ARG, "cross_entropy: label %d of row %lld outside [0, %lld)", labels[i],
                          (long long)i, (long long)c);
            return eb__poison(g);
        }
    int32_t *copy = eb__arena_alloc(g, (size_t)n * sizeof *copy);
    eb_tensor *out = copy ? eb__node(g, EB_OP_CROSS_ENTROPY, 0, NULL, logits, NULL, NULL) : NULL;
    if (!out) return eb__poison(g);
    memcpy(copy, labels, (size_t)n * sizeof *copy);
    out->aux = copy;
    eb__forward(out);
    return out;
}

static float row_lse(const float *x, int64_t c) {
    float m = x[0];
    for (int64_t k = 1; k < c; k++) m = fmaxf(m, x[k]);
    double s = 0.0;
    for (int64_t k = 0; k < c; k++) s += exp((double)(x[k] - m));
    return m + (float)log(s);
}

void eb__forward_cross_entropy(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    const int32_t *y = out->aux;
    int64_t n = x->shape[0], c = x->shape[1];
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) total += (double)(row_lse(x->data + i * c, c) - x->data[i * c + y[i]]);
    out->data[0] = (float)(total / (double)n);
}

/* ∂L/∂x_ic = (softmax_ic − [c = y_i]) / N */
void eb__backward_cross_entropy(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
    const int32_t *y = out->aux;
    int64_t n = x->shape[0], c = x->shape[1];
    float scale = out->grad[0] / (float)n;
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x->data + i * c;
        float lse = row_lse(xi, c);
        for (int64_t k = 0; k < c; k++)
            gx[i * c + k] += scale * (expf(xi[k] - lse) - (k == y[i] ? 1.0f : 0.0f));
    }
}
