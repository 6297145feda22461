/* The multilayer perceptron: in → hidden[0] → … → hidden[n−1] → out, one activation after each
 * hidden layer, optional dropout. Parameters "layers.<i>.weight" [out,in] and "layers.<i>.bias". */
#include "nn/model_impl.h"

#include <stdio.h>

eb_mlp_config eb_mlp_default_config(int64_t in_dim, int64_t out_dim) {
    eb_mlp_config c = {0};
    c.in_dim = in_dim;
    c.out_dim = out_dim;
    c.n_hidden = 5;
    for (int i = 0; i < 5; i++) c.hidden[i] = 100;
    c.activation = EB_ACT_LEAKY_RELU;
    c.activation_param = 0.01f;
    c.dropout = 0.0f;
    return c;
}

eb_status eb_mlp_config_check(const eb_mlp_config *c, eb_error *err) {
    if (c->in_dim < 1 || c->out_dim < 1)
        return eb_error_set(err, EB_ERR_ARG, "mlp: in_dim and out_dim must be >= 1 (got %lld, %lld)",
                            (long long)c->in_dim, (long long)c->out_dim);
    if (c->n_hidden < 0 || c->n_hidden > EB_MLP_MAX_HIDDEN)
        return eb_error_set(err, EB_ERR_ARG, "mlp: %d hidden layers (0 to %d allowed)", c->n_hidden,
                            EB_MLP_MAX_HIDDEN);
    for (int i = 0; i < c->n_hidden; i++)
        if (c->hidden[i] < 1 || c->hidden[i] > (1 << 20))
            return eb_error_set(err, EB_ERR_ARG, "mlp: hidden width %lld out of range [1, 1048576]",
                                (long long)c->hidden[i]);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return eb_error_set(err, EB_ERR_ARG, "mlp: dropout %g outside [0, 1)", (double)c->dropout);
    return EB_OK;
}

static int64_t layer_in(const eb_mlp_config *c, int i) { return i == 0 ? c->in_dim : c->hidden[i - 1]; }
static int64_t layer_out(const eb_mlp_config *c, int i) {
    return i == c->n_hidden ? c->out_dim : c->hidden[i];
}

eb_status eb_mlp_new(const eb_mlp_config *c, eb_rng *init_rng, const eb_allocator *a, eb_model **out,
                     eb_error *err) {
    *out = NULL;
    eb_status st = eb_mlp_config_check(c, err);
    if (st) return st;
    eb_model *m = eb__model_alloc(EB_MODEL_MLP, a, err);
    if (!m) return err ? err->status : EB_ERR_NOMEM;
    m->mlp = *c;
    char name[64];
    for (int i = 0; i <= c->n_hidden && !st; i++) {
        snprintf(name, sizeof name, "layers.%d.weight", i);
        st = eb_params_add(&m->params, name, 2, EB_SHAPE(layer_out(c, i), layer_in(c, i)), err);
        snprintf(name, sizeof name, "layers.%d.bias", i);
        if (!st) st = eb_params_add(&m->params, name, 1, EB_SHAPE(layer_out(c, i)), err);
    }
    if (!st) st = eb_params_alloc(&m->params, err);
    if (st) {
        eb_model_free(m);
        return st;
    }
    /* as torch.nn.Linear: layer by layer, weight then bias */
    for (int i = 0; i <= c->n_hidden; i++) {
        const eb_param_info *w = &m->params.info[2 * i], *b = &m->params.info[2 * i + 1];
        eb_linear_init(m->params.data + w->offset, m->params.data + b->offset, w->shape[0], w->shape[1],
                       init_rng);
    }
    *out = m;
    return EB_OK;
}

eb_tensor *eb__mlp_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                           eb_tensor **features) {
    const eb_mlp_config *c = &m->mlp;
    if (eb_graph_status(g) == EB_OK && (x->ndim != 2 || x->shape[1] != c->in_dim)) {
        char s[96];
        eb_graph_fail(g, EB_ERR_SHAPE, "mlp: input shape %s, expected [N, %lld]",
                      eb_tensor_shape_str(x, s, sizeof s), (long long)c->in_dim);
    }
    eb_tensor *h = x;
    for (int i = 0; i < c->n_hidden; i++) {
        h = eb_linear(g, h, eb_params_tensor(&m->params, g, 2 * i),
                      eb_params_tensor(&m->params, g, 2 * i + 1));
        h = eb_activation_apply(g, h, c->activation, c->activation_param);
    }
    if (features) *features = h;
    if (train && c->dropout > 0.0f && c->n_hidden > 0) h = eb_dropout(g, h, c->dropout, rng);
    int last = c->n_hidden;
    return eb_linear(g, h, eb_params_tensor(&m->params, g, 2 * last),
                     eb_params_tensor(&m->params, g, 2 * last + 1));
}

int64_t eb__mlp_feature_dim(const eb_mlp_config *c) {
    return c->n_hidden ? c->hidden[c->n_hidden - 1] : c->in_dim;
}
