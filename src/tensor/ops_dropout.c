/* Inverted dropout: y = x·m, m_i = 0 with probability p, else 1/(1−p). The mask is drawn from the
 * caller's eb_rng when the op is built and kept in the arena for backward. */
#include "tensor/graph_impl.h"

eb_tensor *eb_dropout(eb_graph *g, eb_tensor *x, float p, eb_rng *rng) {
    if (!eb__inputs_ok(g, "dropout", x, NULL)) return eb__poison(g);
    if (!(p >= 0.0f && p < 1.0f) || !rng) {
        eb_graph_fail(g, EB_ERR_ARG, "dropout: p must be in [0, 1) with an rng, got p=%g", (double)p);
        return eb__poison(g);
    }
    float *mask = eb__arena_alloc(g, (size_t)(x->size ? x->size : 1) * sizeof(float));
    eb_tensor *out = mask ? eb__node(g, EB_OP_DROPOUT, x->ndim, x->shape, x, NULL, NULL) : NULL;
    if (!out) return eb__poison(g);
    float keep_scale = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < x->size; i++) mask[i] = eb_rng_uniform(rng) < (double)p ? 0.0f : keep_scale;
    out->aux = mask;
    out->fparam[0] = p;
    eb__forward(out);
    return out;
}

void eb__forward_dropout(eb_tensor *out) {
    const float *x = out->src[0]->data, *m = out->aux;
    for (int64_t i = 0; i < out->size; i++) out->data[i] = x[i] * m[i];
}
void eb__backward_dropout(eb_tensor *out) {
    float *gx = eb__src_grad(out, 0);
    const float *m = out->aux;
    if (gx)
        for (int64_t i = 0; i < out->size; i++) gx[i] += out->grad[i] * m[i];
}
