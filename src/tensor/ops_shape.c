/* Data movement: reshape (a view), concat along an axis, gather rows by index. */
#include "tensor/graph_impl.h"

#include <stdio.h>
#include <string.h>

eb_tensor *eb_reshape(eb_graph *g, eb_tensor *x, int ndim, const int64_t *shape) {
    if (!eb__inputs_ok(g, "reshape", x, NULL)) return eb__poison(g);
    int64_t size = 1;
    for (int d = 0; d < ndim; d++) size *= shape[d];
    if (ndim < 0 || ndim > EB_MAX_DIMS || size != x->size) {
        char from[96], to[96] = "[";
        size_t used = 1;
        for (int d = 0; d < ndim && d < EB_MAX_DIMS && used < sizeof to; d++)
            used += (size_t)snprintf(to + used, sizeof to - used, d ? ", %lld" : "%lld", (long long)shape[d]);
        if (used < sizeof to) snprintf(to + used, sizeof to - used, "]");
        eb_graph_fail(g, EB_ERR_SHAPE, "reshape: shape %s to %s (%d dims): the number of elements differs",
                      eb_tensor_shape_str(x, from, sizeof from), to, ndim);
        return eb__poison(g);
    }
    eb_tensor *out = eb__node(g, EB_OP_RESHAPE, ndim, shape, x, NULL, NULL);
    if (!out) return eb__poison(g);
    eb__forward(out);
    return out;
}
/* A reshape copies (the arena makes the copy cheap and keeps every node's data its own). */
void eb__forward_reshape(eb_tensor *out) {
    memcpy(out->data, out->src[0]->data, (size_t)out->size * sizeof(float));
}
void eb__backward_reshape(eb_tensor *out) {
    float *gx = eb__src_grad(out, 0);
    if (gx && (eb__grad_fresh & 1u))
        memcpy(gx, out->grad, (size_t)out->size * sizeof(float)); /* first writer */
    else if (gx)
        for (int64_t i = 0; i < out->size; i++) gx[i] += out->grad[i];
}

eb_tensor *eb_concat(eb_graph *g, eb_tensor *a, eb_tensor *b, int axis) {
    if (!eb__inputs_ok(g, "concat", a, b)) return eb__poison(g);
    if (!b) {
        eb_graph_fail(g, EB_ERR_ARG, "concat: input tensor is NULL");
        return eb__poison(g);
    }
    int ax = eb__axis(axis, a->ndim);
    bool ok = ax >= 0 && a->ndim == b->ndim;
    for (int d = 0; ok && d < a->ndim; d++) ok = d == ax || a->shape[d] == b->shape[d];
    if (!ok) {
        eb__fail_shapes(g, "concat", a, b, "shapes differ outside the concatenation axis");
        return eb__poison(g);
    }
    int64_t shape[EB_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[ax] = a->shape[ax] + b->shape[ax];
    eb_tensor *out = eb__node(g, EB_OP_CONCAT, a->ndim, shape, a, b, NULL);
    if (!out) return eb__poison(g);
    out->iparam[0] = ax;
    eb__forward(out);
    return out;
}

/* Per outer index o, out holds a's block (na·inner floats) then b's block (nb·inner floats). */
static void concat_blocks(const eb_tensor *out, int64_t *outer, int64_t *block_a, int64_t *block_b) {
    int64_t n, inner;
    eb__axis_split(out->src[0], (int)out->iparam[0], outer, &n, &inner);
    *block_a = n * inner;
    *block_b = out->src[1]->shape[out->iparam[0]] * inner;
}

void eb__forward_concat(eb_tensor *out) {
    int64_t outer, ba, bb;
    concat_blocks(out, &outer, &ba, &bb);
    for (int64_t o = 0; o < outer; o++) {
        memcpy(out->data + o * (ba + bb), out->src[0]->data + o * ba, (size_t)ba * sizeof(float));
        memcpy(out->data + o * (ba + bb) + ba, out->src[1]->data + o * bb, (size_t)bb * sizeof(float));
    }
}
void eb__backward_concat(eb_tensor *out) {
    int64_t outer, ba, bb;
    concat_blocks(out, &outer, &ba, &bb);
    float *ga = eb__src_grad(out, 0), *gb = eb__src_grad(out, 1);
    for (int64_t o = 0; o < outer; o++) {
        const float *go = out->grad + o * (ba + bb);
        if (ga)
            for (int64_t j = 0; j < ba; j++) ga[o * ba + j] += go[j];
        if (gb)
            for (int64_t j = 0; j < bb; j++) gb[o * bb + j] += go[ba + j];
    }
}

eb_tensor *eb_gather_rows(eb_graph *g, eb_tensor *x, const int64_t *index, int64_t n) {
    if (!eb__inputs_ok(g, "gather_rows", x, NULL)) return eb__poison(g);
    if (x->ndim < 1 || n < 0) {
        eb__fail_shapes(g, "gather_rows", x, NULL, "needs at least 1 dimension and n >= 0");
        return eb__poison(g);
    }
    for (int64_t i = 0; i < n; i++)
        if (index[i] < 0 || index[i] >= x->shape[0]) {
            eb_graph_fail(g, EB_ERR_ARG, "gather_rows: index %lld at position %lld outside [0, %lld)",
                          (long long)index[i], (long long)i, (long long)x->shape[0]);
            return eb__poison(g);
        }
    int64_t shape[EB_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[0] = n;
    int64_t *copy = eb__arena_alloc(g, (size_t)(n ? n : 1) * sizeof *copy);
    eb_tensor *out = copy ? eb__node(g, EB_OP_GATHER_ROWS, x->ndim, shape, x, NULL, NULL) : NULL;
    if (!out) return eb__poison(g);
    memcpy(copy, index, (size_t)n * sizeof *copy);
    out->aux = copy;
    eb__forward(out);
    return out;
}

void eb__forward_gather_rows(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    const int64_t *idx = out->aux;
    int64_t row = x->shape[0] ? x->size / x->shape[0] : 0;
    for (int64_t i = 0; i < out->shape[0]; i++)
        memcpy(out->data + i * row, x->data + idx[i] * row, (size_t)row * sizeof(float));
}
/* Scatter-add: repeated indices accumulate. */
void eb__backward_gather_rows(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
    const int64_t *idx = out->aux;
    int64_t row = x->shape[0] ? x->size / x->shape[0] : 0;
    for (int64_t i = 0; i < out->shape[0]; i++)
        for (int64_t j = 0; j < row; j++) gx[idx[i] * row + j] += out->grad[i * row + j];
}
