/* The projection head of CIDER / HamOS (004_6bc3f0c56840d9ea.txt §3.3; specs §3 "Network"):
 *   z = h₂ / ‖h₂‖₂,  h₂ = W₂·relu(W₁·h + b₁) + b₂,
 * h [N, feature_dim] the penultimate features, W₁ [hidden, feature_dim], W₂ [dim, hidden]. Its four
 * parameters are appended to the model's flat buffer (which is reallocated once, old values kept). */
#include "nn/model_impl.h"

#include <string.h>

#define HEAD_MAX 65536

eb_status eb_model_add_projection_head(eb_model *m, int64_t hidden, int64_t dim, eb_rng *rng, eb_error *err) {
    if (m->head_dim) return eb_error_set(err, EB_ERR_STATE, "projection head: the model already has one");
    if (hidden < 1 || hidden > HEAD_MAX || dim < 1 || dim > HEAD_MAX)
        return eb_error_set(err, EB_ERR_ARG, "projection head: widths %lld, %lld outside [1, %d]",
                            (long long)hidden, (long long)dim, HEAD_MAX);
    if (m->kind == EB_MODEL_RADIAL_FLOW)
        return eb_error_set(err, EB_ERR_ARG, "projection head: a radial_flow has no penultimate features");
    int64_t fdim = eb_model_feature_dim(m);
    eb_params *p = &m->params;
    float *old_data = p->data, *old_grad = p->grad;
    int64_t old_size = p->size;
    int old_count = p->count;
    p->data = p->grad = NULL; /* eb_params_add refuses an allocated buffer */
    eb_status st = eb_params_add(p, "head.0.weight", 2, EB_SHAPE(hidden, fdim), err);
    if (!st) st = eb_params_add(p, "head.0.bias", 1, EB_SHAPE(hidden), err);
    if (!st) st = eb_params_add(p, "head.2.weight", 2, EB_SHAPE(dim, hidden), err);
    if (!st) st = eb_params_add(p, "head.2.bias", 1, EB_SHAPE(dim), err);
    float *data = NULL, *grad = NULL;
    if (!st) {
        data = eb_alloc_zero(&p->allocator, (size_t)p->size * sizeof(float));
        grad = eb_alloc_zero(&p->allocator, (size_t)p->size * sizeof(float));
        if (!data || !grad) st = eb_error_set(err, EB_ERR_NOMEM, "projection head: out of memory");
    }
    if (st) {
        eb_free(&p->allocator, data);
        eb_free(&p->allocator, grad);
        p->data = old_data;
        p->grad = old_grad;
        p->size = old_size;
        p->count = old_count;
        return st;
    }
    memcpy(data, old_data, (size_t)old_size * sizeof(float));
    eb_free(&p->allocator, old_data);
    eb_free(&p->allocator, old_grad);
    p->data = data;
    p->grad = grad;
    m->head_param = old_count;
    m->head_hidden = hidden;
    m->head_dim = dim;
    const eb_param_info *w1 = &p->info[old_count], *b1 = w1 + 1, *w2 = w1 + 2, *b2 = w1 + 3;
    eb_linear_init(data + w1->offset, data + b1->offset, hidden, fdim, rng);
    eb_linear_init(data + w2->offset, data + b2->offset, dim, hidden, rng);
    return EB_OK;
}

eb_tensor *eb_model_project(eb_model *m, eb_graph *g, eb_tensor *features) {
    if (!m->head_dim) {
        eb_graph_fail(g, EB_ERR_STATE, "projection: the model has no projection head");
        return features;
    }
    int i = m->head_param;
    eb_tensor *h =
        eb_linear(g, features, eb_params_tensor(&m->params, g, i), eb_params_tensor(&m->params, g, i + 1));
    h = eb_linear(g, eb_relu(g, h), eb_params_tensor(&m->params, g, i + 2),
                  eb_params_tensor(&m->params, g, i + 3));
    return eb_l2_normalize(g, h, 1e-12f); /* F.normalize's eps */
}

eb_status eb_model_predict_embeddings(eb_model *m, const float *x, int64_t n, int64_t batch_size, float *out,
                                      eb_error *err) {
    if (!m->head_dim) return eb_error_set(err, EB_ERR_STATE, "embeddings: the model has no projection head");
    if (batch_size < 1) return eb_error_set(err, EB_ERR_ARG, "embeddings: batch size must be >= 1");
    eb_graph *g = eb_graph_new(0, &m->params.allocator);
    if (!g) return eb_error_set(err, EB_ERR_NOMEM, "embeddings: out of memory");
    int64_t din = eb_model_in_dim(m);
    eb_status st = EB_OK;
    for (int64_t start = 0; start < n && !st; start += batch_size) {
        int64_t b = n - start < batch_size ? n - start : batch_size;
        eb_graph_reset(g);
        eb_tensor *xb = eb_tensor_input(g, (float *)(x + start * din), 2, EB_SHAPE(b, din), false);
        eb_tensor *feat = NULL;
        eb_graph_defer(g); /* tape-free, as eb_model_predict */
        eb_model_forward(m, g, xb, false, NULL, &feat);
        eb_tensor *z = eb_model_project(m, g, feat);
        if ((st = eb_graph_run(g, &z, 1)))
            eb_error_set(err, st, "embeddings: %s", eb_graph_error(g));
        else
            memcpy(out + start * m->head_dim, z->data, (size_t)(b * m->head_dim) * sizeof(float));
    }
    eb_graph_free(g);
    return st;
}
