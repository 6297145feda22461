/* Layers as views into a model's flat buffers: registration, initialisation and forward helpers
 * for linear, conv2d and batch-norm layers, shared by every architecture. */
#include "nn/model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int push_layer(eb_model *m, eb__layer layer, eb_error *err) {
    eb__layers *t = m->layers;
    if (!t) {
        t = m->layers = calloc(1, sizeof *t);
        if (!t) return eb_error_set(err, EB_ERR_NOMEM, "model: out of memory"), -1;
    }
    if (t->count == t->cap) {
        int cap = t->cap ? 2 * t->cap : 32;
        eb__layer *items = realloc(t->items, (size_t)cap * sizeof *items);
        if (!items) return eb_error_set(err, EB_ERR_NOMEM, "model: out of memory"), -1;
        t->items = items;
        t->cap = cap;
    }
    t->items[t->count] = layer;
    return t->count++;
}

static const eb__layer *layer_at(const eb_model *m, int i) {
    return &((const eb__layers *)m->layers)->items[i];
}

/* Adds "<prefix>.<suffix>" to p and returns its index (or -1). */
static int add_named(eb_params *p, const char *prefix, const char *suffix, int ndim, const int64_t *shape,
                     eb_error *err) {
    char name[64];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    return eb_params_add(p, name, ndim, shape, err) ? -1 : p->count - 1;
}

int eb__add_linear(eb_model *m, const char *name, int64_t in, int64_t out, bool bias, eb_error *err) {
    eb__layer l = {.type = EB__LINEAR};
    l.u.linear.w = add_named(&m->params, name, "weight", 2, EB_SHAPE(out, in), err);
    l.u.linear.b = bias ? add_named(&m->params, name, "bias", 1, EB_SHAPE(out), err) : -1;
    if (l.u.linear.w < 0 || (bias && l.u.linear.b < 0)) return -1;
    return push_layer(m, l, err);
}

int eb__add_conv(eb_model *m, const char *name, int64_t in, int64_t out, int k, int stride, int pad,
                 bool bias, eb_error *err) {
    eb__layer l = {.type = EB__CONV};
    l.u.conv.w = add_named(&m->params, name, "weight", 4, EB_SHAPE(out, in, k, k), err);
    l.u.conv.b = bias ? add_named(&m->params, name, "bias", 1, EB_SHAPE(out), err) : -1;
    l.u.conv.p = (eb_conv2d_params){stride, stride, pad, pad};
    if (l.u.conv.w < 0 || (bias && l.u.conv.b < 0)) return -1;
    return push_layer(m, l, err);
}

int eb__add_bn(eb_model *m, const char *name, int64_t channels, eb_error *err) {
    eb__layer l = {.type = EB__BN};
    l.u.bn.gamma = add_named(&m->params, name, "weight", 1, EB_SHAPE(channels), err);
    l.u.bn.beta = add_named(&m->params, name, "bias", 1, EB_SHAPE(channels), err);
    l.u.bn.running_mean = add_named(&m->buffers, name, "running_mean", 1, EB_SHAPE(channels), err);
    l.u.bn.running_var = add_named(&m->buffers, name, "running_var", 1, EB_SHAPE(channels), err);
    if (l.u.bn.gamma < 0 || l.u.bn.beta < 0 || l.u.bn.running_mean < 0 || l.u.bn.running_var < 0) return -1;
    return push_layer(m, l, err);
}

static float *param_data(eb_model *m, int i) { return m->params.data + m->params.info[i].offset; }
static float *buffer_data(eb_model *m, int i) { return m->buffers.data + m->buffers.info[i].offset; }

void eb__init_linear_default(eb_model *m, int layer, eb_rng *rng) {
    const eb__linear *l = &layer_at(m, layer)->u.linear;
    const eb_param_info *w = &m->params.info[l->w];
    eb_linear_init(param_data(m, l->w), l->b >= 0 ? param_data(m, l->b) : NULL, w->shape[0], w->shape[1],
                   rng);
}

/* torch.nn.Conv2d.reset_parameters: weight and bias ~ U(−1/√fan_in, 1/√fan_in), fan_in = C·kh·kw. */
void eb__init_conv_default(eb_model *m, int layer, eb_rng *rng) {
    const eb__conv *l = &layer_at(m, layer)->u.conv;
    const eb_param_info *w = &m->params.info[l->w];
    int64_t fan_in = w->shape[1] * w->shape[2] * w->shape[3];
    eb_linear_init(param_data(m, l->w), l->b >= 0 ? param_data(m, l->b) : NULL, w->shape[0], fan_in, rng);
}

/* wrn.py: w ~ N(0, 2/n), n = kh·kw·out_channels (He et al. with fan_out); bias 0. */
void eb__init_conv_kaiming_out(eb_model *m, int layer, eb_rng *rng) {
    const eb__conv *l = &layer_at(m, layer)->u.conv;
    const eb_param_info *w = &m->params.info[l->w];
    float std = sqrtf(2.0f / (float)(w->shape[0] * w->shape[2] * w->shape[3]));
    eb_rng_fill_normal(rng, param_data(m, l->w), w->size, 0.0f, std);
    if (l->b >= 0)
        for (int64_t i = 0; i < m->params.info[l->b].size; i++) param_data(m, l->b)[i] = 0.0f;
}

void eb__init_conv_xavier(eb_model *m, int layer, float gain, eb_rng *rng) {
    const eb__conv *l = &layer_at(m, layer)->u.conv;
    const eb_param_info *w = &m->params.info[l->w];
    int64_t kk = w->shape[2] * w->shape[3];
    float bound = gain * sqrtf(6.0f / (float)((w->shape[0] + w->shape[1]) * kk));
    eb_rng_fill_uniform(rng, param_data(m, l->w), w->size, -bound, bound);
    if (l->b >= 0)
        for (int64_t i = 0; i < m->params.info[l->b].size; i++) param_data(m, l->b)[i] = 0.0f;
}

void eb__init_bn(eb_model *m, int layer) {
    const eb__bn *l = &layer_at(m, layer)->u.bn;
    int64_t c = m->params.info[l->gamma].size;
    for (int64_t i = 0; i < c; i++) {
        param_data(m, l->gamma)[i] = 1.0f;
        param_data(m, l->beta)[i] = 0.0f;
        buffer_data(m, l->running_mean)[i] = 0.0f;
        buffer_data(m, l->running_var)[i] = 1.0f;
    }
}

eb_tensor *eb__linear_forward(eb_model *m, eb_graph *g, eb_tensor *x, int layer) {
    const eb__linear *l = &layer_at(m, layer)->u.linear;
    return eb_linear(g, x, eb_params_tensor(&m->params, g, l->w),
                     l->b >= 0 ? eb_params_tensor(&m->params, g, l->b) : NULL);
}

eb_tensor *eb__conv_forward(eb_model *m, eb_graph *g, eb_tensor *x, int layer) {
    const eb__conv *l = &layer_at(m, layer)->u.conv;
    return eb_conv2d(g, x, eb_params_tensor(&m->params, g, l->w),
                     l->b >= 0 ? eb_params_tensor(&m->params, g, l->b) : NULL, &l->p);
}

static eb_tensor *bn_forward(eb_model *m, eb_graph *g, eb_tensor *x, int layer, bool train, bool relu) {
    const eb__bn *l = &layer_at(m, layer)->u.bn;
    eb_batch_norm_params p = eb_batch_norm_default_params();
    p.training = train;
    p.relu = relu;
    if (train) p.sync = m->bn_sync;
    return eb_batch_norm(g, x, eb_params_tensor(&m->params, g, l->gamma),
                         eb_params_tensor(&m->params, g, l->beta), buffer_data(m, l->running_mean),
                         buffer_data(m, l->running_var), &p);
}

eb_tensor *eb__bn_forward(eb_model *m, eb_graph *g, eb_tensor *x, int layer, bool train) {
    return bn_forward(m, g, x, layer, train, false);
}

eb_tensor *eb__bn_relu_forward(eb_model *m, eb_graph *g, eb_tensor *x, int layer, bool train) {
    return bn_forward(m, g, x, layer, train, true);
}

eb_tensor *eb__image_input(eb_model *m, eb_graph *g, eb_tensor *x) {
    const eb_image_config *c = &m->image;
    int64_t d = c->channels * c->height * c->width;
    if (eb_graph_status(g) == EB_OK && (x->ndim != 2 || x->shape[1] != d)) {
        char s[96];
        eb_graph_fail(g, EB_ERR_SHAPE, "%s: input shape %s, expected [N, %lld] (%lld×%lld×%lld images)",
                      eb_model_kind_name(m->kind), eb_tensor_shape_str(x, s, sizeof s), (long long)d,
                      (long long)c->channels, (long long)c->height, (long long)c->width);
        return x;
    }
    return eb_reshape(g, x, 4, EB_SHAPE(x->shape[0], c->channels, c->height, c->width));
}

eb_tensor *eb__image_features(const eb_model *m, eb_graph *g, eb_tensor *map, eb_tensor *pooled) {
    return m->feature_pool == EB_FEATURE_POOL_STD ? eb_spatial_std_pool(g, map) : pooled;
}
