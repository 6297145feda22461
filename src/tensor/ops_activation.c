/* Activations with PyTorch's definitions: relu, leaky_relu, elu, softplus, tanh, sigmoid, swish (SiLU). */
#include "tensor/unary_impl.h"

#include <math.h>

eb_tensor *eb_relu(eb_graph *g, eb_tensor *x) { return eb__unary(g, EB_OP_RELU, x, 0, 0); }
/* Safe when x's op never reads its own output in backward (conv2d, batch_norm, add, linear: checked) and
 * relu's backward reads y (below). Not while deferring: the planner places every node itself. */
eb_tensor *eb_relu_inplace(eb_graph *g, eb_tensor *x) {
    if (!eb__inputs_ok(g, "relu", x, NULL)) return eb__poison(g);
    const bool safe =
        x->op == EB_OP_CONV2D || x->op == EB_OP_BATCH_NORM || x->op == EB_OP_ADD || x->op == EB_OP_LINEAR;
    if (!safe || g->deferring || !x->data) return eb_relu(g, x);
    eb_tensor *out = eb__node_nodata(g, EB_OP_RELU, x->ndim, x->shape, x);
    if (!out) return eb__poison(g);
    out->data = x->data; /* y over x */
    eb__forward(out);
    return out;
}
eb_tensor *eb_leaky_relu(eb_graph *g, eb_tensor *x, float negative_slope) {
    return eb__unary(g, EB_OP_LEAKY_RELU, x, negative_slope, 0);
}
eb_tensor *eb_elu(eb_graph *g, eb_tensor *x, float alpha) { return eb__unary(g, EB_OP_ELU, x, alpha, 0); }
eb_tensor *eb_softplus(eb_graph *g, eb_tensor *x, float beta) {
    if (g->status == EB_OK && !(beta > 0.0f)) {
        eb_graph_fail(g, EB_ERR_ARG, "softplus: beta must be > 0, got %g", (double)beta);
        return eb__poison(g);
    }
    return eb__unary(g, EB_OP_SOFTPLUS, x, beta, 0);
}
eb_tensor *eb_tanh(eb_graph *g, eb_tensor *x) { return eb__unary(g, EB_OP_TANH, x, 0, 0); }
eb_tensor *eb_sigmoid(eb_graph *g, eb_tensor *x) { return eb__unary(g, EB_OP_SIGMOID, x, 0, 0); }
eb_tensor *eb_swish(eb_graph *g, eb_tensor *x) { return eb__unary(g, EB_OP_SWISH, x, 0, 0); }

/* σ(x) without overflow for large |x| */
static inline float sigmoidf(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* softplus_β(x) = (1/β)·log(1 + e^{βx}) = max(x, 0) + (1/β)·log1p(e^{−β|x|}); d/dx = σ(βx) */
static inline float softplusf(float x, float beta) {
    return fmaxf(x, 0.0f) + log1pf(expf(-beta * fabsf(x))) / beta;
}

/*                 name         y = f(x)                                  dy/dx */
/* relu's derivative from y (y > 0 ⇔ x > 0, NaN included): eb_relu_inplace overwrites x with y */
EB_DEFINE_UNARY(relu, x > 0.0f ? x : 0.0f, y > 0.0f ? 1.0f : 0.0f)
EB_DEFINE_UNARY(leaky_relu, x > 0.0f ? x : P0 * x, x > 0.0f ? 1.0f : P0)
EB_DEFINE_UNARY(elu, x > 0.0f ? x : P0 * expm1f(x), x > 0.0f ? 1.0f : y + P0)
EB_DEFINE_UNARY(softplus, softplusf(x, P0), sigmoidf(P0 *x))
EB_DEFINE_UNARY(tanh, tanhf(x), 1.0f - y * y)
EB_DEFINE_UNARY(sigmoid, sigmoidf(x), y *(1.0f - y))
EB_DEFINE_UNARY(swish, x *sigmoidf(x), sigmoidf(x) * (1.0f + x * (1.0f - sigmoidf(x))))
