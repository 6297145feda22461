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
    return eb_activation_param_check(c->activation, c->activation_param, false, err);
}

static eb_status mlp_build(eb_model *m, eb_error *err) {
    const eb_mlp_config *c = &m->mlp;
    char name[32];
    for (int i = 0; i <= c->n_hidden; i++) { /* layer i is linear i */
        int64_t in = i == 0 ? c->in_dim : c->hidden[i - 1],
                out = i == c->n_hidden ? c->out_dim : c->hidden[i];
        snprintf(name, sizeof name, "layers.%d", i);
        if (eb__add_linear(m, name, in, out, true, err) < 0) return err ? err->status : EB_ERR_NOMEM;
    }
    return EB_OK;
}

static void mlp_init(eb_model *m, eb_rng *rng) {
    for (int i = 0; i <= m->mlp.n_hidden; i++) eb__init_linear_default(m, i, rng);
}

static eb_tensor *mlp_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                              eb_tensor **features) {
    const eb_mlp_config *c = &m->mlp;
    if (eb_graph_status(g) == EB_OK && (x->ndim != 2 || x->shape[1] != c->in_dim)) {
        char s[96];
        eb_graph_fail(g, EB_ERR_SHAPE, "mlp: input shape %s, expected [N, %lld]",
                      eb_tensor_shape_str(x, s, sizeof s), (long long)c->in_dim);
    }
    eb_tensor *h = x;
    for (int i = 0; i < c->n_hidden; i++)
        h = eb_activation_apply(g, eb__linear_forward(m, g, h, i), c->activation, c->activation_param);
    if (features) *features = h;
    if (train && c->dropout > 0.0f && c->n_hidden > 0) h = eb_dropout(g, h, c->dropout, rng);
    return eb__linear_forward(m, g, h, c->n_hidden);
}

static int64_t mlp_feature_dim(const eb_model *m) {
    return m->mlp.n_hidden ? m->mlp.hidden[m->mlp.n_hidden - 1] : m->mlp.in_dim;
}

const eb__model_arch eb__arch_mlp = {"mlp", EB_MODEL_MLP, mlp_build, mlp_init, mlp_forward, mlp_feature_dim};

eb_status eb_mlp_new(const eb_mlp_config *c, eb_rng *init_rng, const eb_allocator *a, eb_model **out,
                     eb_error *err) {
    *out = NULL;
    eb_status st = eb_mlp_config_check(c, err);
    if (st) return st;
    eb_model *m = eb__model_alloc(EB_MODEL_MLP, a, err);
    if (!m) return EB_ERR_NOMEM;
    m->mlp = *c;
    if ((st = eb__model_finish(m, init_rng, err))) {
        eb_model_free(m);
        return st;
    }
    *out = m;
    return EB_OK;
}
