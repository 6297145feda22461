/* Elementwise binary ops with NumPy broadcasting: add, sub, mul, div.
 *
 * Shapes are aligned from the right and padded to 4-D; a dimension of size 1 broadcasts (stride 0).
 * Backward reduces the output gradient over the broadcast dimensions of each operand. */
#include "tensor/graph_impl.h"

typedef struct broadcast {
    int64_t shape[4];     /* output shape, padded to 4-D */
    int64_t sa[4], sb[4]; /* element strides of a and b in the output index space (0 = broadcast) */
} broadcast;

/* Fills bc for a ∘ b; returns false if the shapes do not broadcast. */
static bool broadcast_plan(const eb_tensor *a, const eb_tensor *b, broadcast *bc, int *ndim_out) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t pa[4], pb[4];
    for (int d = 0; d < 4; d++) {
        int ia = d - (4 - a->ndim), ib = d - (4 - b->ndim);
        pa[d] = ia >= 0 ? a->shape[ia] : 1;
        pb[d] = ib >= 0 ? b->shape[ib] : 1;
        if (pa[d] != pb[d] && pa[d] != 1 && pb[d] != 1) return false;
        bc->shape[d] = pa[d] == 1 ? pb[d] : pa[d];
    }
    int64_t stride_a = 1, stride_b = 1;
    for (int d = 3; d >= 0; d--) {
        bc->sa[d] = pa[d] == 1 ? 0 : stride_a;
        bc->sb[d] = pb[d] == 1 ? 0 : stride_b;
        stride_a *= pa[d];
        stride_b *= pb[d];
    }
    *ndim_out = nd;
    return true;
}

static eb_tensor *binary(eb_graph *g, eb_op op, eb_tensor *a, eb_tensor *b) {
    const char *name = eb_op_name(op);
    if (!eb__inputs_ok(g, name, a, b)) return eb__poison(g);
    if (!b) {
        eb_graph_fail(g, EB_ERR_ARG, "%s: input tensor is NULL", name);
        return eb__poison(g);
    }
    broadcast bc;
    int nd;
    if (!broadcast_plan(a, b, &bc, &nd)) {
        eb__fail_shapes(g, name, a, b, "shapes do not broadcast");
        return eb__poison(g);
    }
    eb_tensor *out = eb__node(g, op, nd, bc.shape + (4 - nd), a, b, NULL);
    if (!out) return eb__poison(g);
    eb__forward(out);
    return out;
}

eb_tensor *eb_add(eb_graph *g, eb_tensor *a, eb_tensor *b) { return binary(g, EB_OP_ADD, a, b); }
eb_tensor *eb_sub(eb_graph *g, eb_tensor *a, eb_tensor *b) { return binary(g, EB_OP_SUB, a, b); }
eb_tensor *eb_mul(eb_graph *g, eb_tensor *a, eb_tensor *b) { return binary(g, EB_OP_MUL, a, b); }
eb_tensor *eb_div(eb_graph *g, eb_tensor *a, eb_tensor *b) { return binary(g, EB_OP_DIV, a, b); }

/* Visits every output element o with its operand offsets ia, ib. Same-shape operands take a flat,
 * parallel loop; otherwise a 4-D loop over the broadcast plan (serial: a reduction may write the
 * same operand element from many output elements). */
#define FOR_EACH_BROADCAST(out, BODY)                                                                        \
    do {                                                                                                     \
        const eb_tensor *a_ = (out)->src[0], *b_ = (out)->src[1];                                            \
        if (a_->size == (out)->size && b_->size == (out)->size) {                                            \
            int64_t n_ = (out)->size;                                                                        \
            _Pragma("omp parallel for if (n_ > EB_PARALLEL_MIN)") for (int64_t o = 0; o < n_; o++) {         \
                int64_t ia = o, ib = o;                                                                      \
                (void)ia;                                                                                    \
                (void)ib;                                                                                    \
                BODY;                                                                                        \
            }                                                                                                \
        } else {                                                                                             \
            broadcast bc_;                                                                                   \
            int nd_;                                                                                         \
            broadcast_plan(a_, b_, &bc_, &nd_);                                                              \
            int64_t o = 0;                                                                                   \
            for (int64_t i0 = 0; i0 < bc_.shape[0]; i0++)                                                    \
                for (int64_t i1 = 0; i1 < bc_.shape[1]; i1++)                                                \
                    for (int64_t i2 = 0; i2 < bc_.shape[2]; i2++) {                                          \
                        int64_t ia = i0 * bc_.sa[0] + i1 * bc_.sa[1] + i2 * bc_.sa[2];                       \
                        int64_t ib = i0 * bc_.sb[0] + i1 * bc_.sb[1] + i2 * bc_.sb[2];                       \
                        for (int64_t i3 = 0; i3 < bc_.shape[3];                                              \
                             i3++, o++, ia += bc_.sa[3], ib += bc_.sb[3]) {                                  \
                            (void)ia;                                                                        \
                            (void)ib;                                                                        \
                            BODY;                                                                            \
                        }                                                                                    \
                    }                                                                                        \
        }                                                                                                    \
    } while (0)

#define DEFINE_BINARY_FORWARD(name, EXPR)                                                                    \
    void eb__forward_##name(eb_tensor *out) {                                                                \
        const float *A = out->src[0]->data, *B = out->src[1]->data;                                          \
        float *Y = out->data;                                                                                \
        FOR_EACH_BROADCAST(out, Y[o] = (EXPR));                                                              \
    }
DEFINE_BINARY_FORWARD(add, A[ia] + B[ib])
DEFINE_BINARY_FORWARD(sub, A[ia] - B[ib])
DEFINE_BINARY_FORWARD(mul, A[ia] * B[ib])
DEFINE_BINARY_FORWARD(div, A[ia] / B[ib])

/* Backward: ga[ia] += G[o]·∂y/∂a, gb[ib] += G[o]·∂y/∂b. The flat loop only runs in parallel when
 * neither operand broadcasts, so no two iterations write the same element. */
#define DEFINE_BINARY_BACKWARD(name, DA, DB)                                                                 \
    void eb__backward_##name(eb_tensor *out) {                                                               \
        const float *A = out->src[0]->data, *B = out->src[1]->data, *G = out->grad;                          \
        float *ga = eb__src_grad(out, 0), *gb = eb__src_grad(out, 1);                                        \
        (void)A;                                                                                             \
        (void)B;                                                                                             \
        if (ga) FOR_EACH_BROADCAST(out, ga[ia] += (DA));                                                     \
        if (gb) FOR_EACH_BROADCAST(out, gb[ib] += (DB));                                                     \
    }
DEFINE_BINARY_BACKWARD(add, G[o], G[o])
DEFINE_BINARY_BACKWARD(sub, G[o], -G[o])
DEFINE_BINARY_BACKWARD(mul, G[o] * B[ib], G[o] * A[ia])
DEFINE_BINARY_BACKWARD(div, G[o] / B[ib], -G[o] * A[ia] / (B[ib] * B[ib]))
