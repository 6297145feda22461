/* Row L2-normalisation: y = x / max(‖x‖₂, eps) over the last axis (F.normalize(p=2, dim=-1)). */
#include "tensor/graph_impl.h"

#include <math.h>

eb_tensor *eb_l2_normalize(eb_graph *g, eb_tensor *x, float eps) {
    if (!eb__inputs_ok(g, "l2_normalize", x, NULL)) return eb__poison(g);
    if (x->ndim < 1 || !(eps > 0.0f)) {
        eb__fail_shapes(g, "l2_normalize", x, NULL, "needs at least 1 dimension and eps > 0");
        return eb__poison(g);
    }
    eb_tensor *out = eb__node(g, EB_OP_L2_NORMALIZE, x->ndim, x->shape, x, NULL, NULL);
    if (!out) return eb__poison(g);
    out->fparam[0] = eps;
    eb__forward(out);
    return out;
}

static float row_norm(const float *x, int64_t d) {
    double s = 0.0;
    for (int64_t j = 0; j < d; j++) s += (double)x[j] * (double)x[j];
    return (float)sqrt(s);
}

void eb__forward_l2_normalize(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    int64_t d = x->shape[x->ndim - 1], rows = d ? x->size / d : 0;
#pragma omp parallel for if (x->size > EB_PARALLEL_MIN)
    for (int64_t i = 0; i < rows; i++) {
        float inv = 1.0f / fmaxf(row_norm(x->data + i * d, d), out->fparam[0]);
        for (int64_t j = 0; j < d; j++) out->data[i * d + j] = x->data[i * d + j] * inv;
    }
}

/* With r = ‖x‖ > eps: ∂y/∂x = (I − y yᵀ)/r, so gx += (g − y·(yᵀg)) / r. With r ≤ eps: gx += g/eps. */
void eb__backward_l2_normalize(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
    int64_t d = x->shape[x->ndim - 1], rows = d ? x->size / d : 0;
    float eps = out->fparam[0];
#pragma omp parallel for if (x->size > EB_PARALLEL_MIN)
    for (int64_t i = 0; i < rows; i++) {
        const float *y = out->data + i * d, *gy = out->grad + i * d;
        float r = row_norm(x->data + i * d, d);
        if (r > eps) {
            double dot = 0.0;
            for (int64_t j = 0; j < d; j++) dot += (double)y[j] * (double)gy[j];
            for (int64_t j = 0; j < d; j++) gx[i * d + j] += (gy[j] - y[j] * (float)dot) / r;
        } else {
            for (int64_t j = 0; j < d; j++) gx[i * d + j] += gy[j] / eps;
        }
    }
}
