/* The model interface: dispatch by kind, batched prediction, config JSON and checkpoints. */
#include "nn/model_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const eb__model_arch *const archs[] = {&eb__arch_mlp, &eb__arch_small_cnn,   &eb__arch_resnet,
                                              &eb__arch_wrn, &eb__arch_radial_flow, &eb__arch_wrn_ebm};

#define N_ARCHS (int)(sizeof archs / sizeof archs[0])

/* archs[] is in eb_model_kind order; a model never holds an out-of-range kind. */
const eb__model_arch *eb__model_arch_of(eb_model_kind kind) {
    return archs[(unsigned)kind < N_ARCHS ? kind : 0];
}

const char *eb_model_kind_name(eb_model_kind kind) {
    return (unsigned)kind < N_ARCHS ? archs[kind]->name : "?";
}

bool eb_model_kind_is_image(eb_model_kind kind) {
    return kind == EB_MODEL_SMALL_CNN || kind == EB_MODEL_RESNET || kind == EB_MODEL_WRN ||
           kind == EB_MODEL_WRN_EBM;
}

eb_status eb_model_kind_parse(const char *name, eb_model_kind *out, eb_error *err) {
    for (int i = 0; i < N_ARCHS; i++)
        if (strcmp(name, archs[i]->name) == 0) {
            *out = archs[i]->kind;
            return EB_OK;
        }
    return eb_error_set(err, EB_ERR_ARG,
                        "unknown model '%s' (mlp, small_cnn, resnet, wrn, radial_flow, wrn_ebm)", name);
}

eb_model *eb__model_alloc(eb_model_kind kind, const eb_allocator *a, eb_error *err) {
    if (!a) a = eb_allocator_default();
    eb_model *m = eb_alloc_zero(a, sizeof *m);
    if (!m) {
        eb_error_set(err, EB_ERR_NOMEM, "model: out of memory");
        return NULL;
    }
    m->kind = kind;
    m->params.allocator = *a;
    m->buffers.allocator = *a;
    return m;
}

/* The flat parameter and buffer blocks of a built model (layout registered). */
static eb_status alloc_params(eb_model *m, eb_error *err) {
    eb_status st = eb_params_alloc(&m->params, err);
    return st ? st : eb_params_alloc(&m->buffers, err);
}

eb_status eb__model_finish(eb_model *m, eb_rng *init_rng, eb_error *err) {
    const eb__model_arch *arch = eb__model_arch_of(m->kind);
    eb_status st = arch->build(m, err);
    if (!st) st = alloc_params(m, err);
    if (!st) arch->init(m, init_rng);
    return st;
}

void eb_model_free(eb_model *m) {
    if (!m) return;
    eb_allocator a = m->params.allocator;
    eb_params_free(&m->params);
    eb_params_free(&m->buffers);
    eb__layers *layers = m->layers;
    if (layers) free(layers->items);
    free(layers);
    eb_free(&a, m);
}

int64_t eb_model_in_dim(const eb_model *m) {
    if (m->kind == EB_MODEL_RADIAL_FLOW) return m->flow.dim;
    return m->kind == EB_MODEL_MLP ? m->mlp.in_dim : m->image.channels * m->image.height * m->image.width;
}
int64_t eb_model_out_dim(const eb_model *m) {
    if (m->kind == EB_MODEL_RADIAL_FLOW) return 1; /* log p(x) */
    return m->kind == EB_MODEL_MLP ? m->mlp.out_dim : m->image.num_classes;
}
int64_t eb_model_feature_dim(const eb_model *m) { return eb__model_arch_of(m->kind)->feature_dim(m); }

eb_status eb_model_set_feature_pool(eb_model *m, eb_feature_pool p, eb_error *err) {
    if (p != EB_FEATURE_POOL_MEAN && p != EB_FEATURE_POOL_STD)
        return eb_error_set(err, EB_ERR_ARG, "feature pooling: unknown value %d (mean or std)", (int)p);
    /* the architectures whose forward pools through eb__image_features */
    if (p == EB_FEATURE_POOL_STD && !eb_model_kind_is_image(m->kind))
        return eb_error_set(err, EB_ERR_ARG,
                            "feature pooling 'std' needs an image model with a spatial feature map "
                            "(small_cnn, resnet, wrn, wrn_ebm); this model is '%s'",
                            eb_model_kind_name(m->kind));
    m->feature_pool = p;
    return EB_OK;
}

eb_tensor *eb_model_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                            eb_tensor **features) {
    return eb__model_arch_of(m->kind)->forward(m, g, x, train, rng, features);
}

eb_image_config eb_image_default_config(eb_model_kind kind, int64_t channels, int64_t height, int64_t width,
                                        int64_t num_classes) {
    eb_image_config c = {channels, height, width, num_classes, 0, 0, 0.0f, 0.0f, EB_RESNET_STEM_CIFAR};
    if (kind == EB_MODEL_RESNET) c.depth = 18;
    if (kind == EB_MODEL_WRN || kind == EB_MODEL_WRN_EBM) {
        c.depth = kind == EB_MODEL_WRN ? 40 : 10; /* the energy paper's WRN-40-2; the EBM paper's WRN-10-2 */
        c.widen = 2;
    }
    return c;
}

eb_status eb_image_config_check(eb_model_kind kind, const eb_image_config *c, eb_error *err) {
    const char *name = eb_model_kind_name(kind);
    if (!eb_model_kind_is_image(kind))
        return eb_error_set(err, EB_ERR_ARG, "image model: '%s' is not an image architecture", name);
    if (c->channels < 1 || c->channels > 4096 || c->height < 4 || c->width < 4 || c->height > 4096 ||
        c->width > 4096 || c->num_classes < 1 || c->num_classes > 100000)
        return eb_error_set(err, EB_ERR_ARG, "%s: bad input/class sizes %lld×%lld×%lld, %lld classes", name,
                            (long long)c->channels, (long long)c->height, (long long)c->width,
                            (long long)c->num_classes);
    if (kind == EB_MODEL_RESNET && c->depth != 18 && c->depth != 34)
        return eb_error_set(err, EB_ERR_ARG, "resnet: depth must be 18 or 34, got %d", c->depth);
    if ((kind == EB_MODEL_WRN || kind == EB_MODEL_WRN_EBM) &&
        (c->depth < 10 || (c->depth - 4) % 6 != 0 || c->widen < 1 || c->widen > 16))
        return eb_error_set(err, EB_ERR_ARG, "%s: depth must be 6k+4 ≥ 10 and widen in [1, 16] (got %d, %d)",
                            name, c->depth, c->widen);
    if (!(c->bottleneck >= 0.0f && c->bottleneck <= 1.0f) ||
        (c->bottleneck > 0.0f && kind != EB_MODEL_WRN_EBM))
        return eb_error_set(err, EB_ERR_ARG, "%s: bottleneck %g (only wrn_ebm has one, in (0, 1])", name,
                            (double)c->bottleneck);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return eb_error_set(err, EB_ERR_ARG, "%s: dropout %g outside [0, 1)", name, (double)c->dropout);
    if (c->stem != EB_RESNET_STEM_CIFAR && (kind != EB_MODEL_RESNET || c->stem != EB_RESNET_STEM_IMAGENET))
        return eb_error_set(err, EB_ERR_ARG, "%s: stem %d (only resnet has the imagenet stem)", name,
                            (int)c->stem);
    return EB_OK;
}

eb_status eb_image_model_new(eb_model_kind kind, const eb_image_config *c, eb_rng *init_rng,
                             const eb_allocator *a, eb_model **out, eb_error *err) {
    *out = NULL;
    eb_status st = eb_image_config_check(kind, c, err);
    if (st) return st;
    eb_model *m = eb__model_alloc(kind, a, err);
    if (!m) return EB_ERR_NOMEM;
    m->image = *c;
    if ((st = eb__model_finish(m, init_rng, err))) {
        eb_model_free(m);
        return st;
    }
    *out = m;
    return EB_OK;
}

eb_status eb_model_predict(eb_model *m, const float *x, int64_t n, int64_t batch_size, float *logits,
                           float *features, eb_error *err) {
    if (batch_size < 1) return eb_error_set(err, EB_ERR_ARG, "predict: batch size must be >= 1");
    if (!logits && !features)
        return eb_error_set(err, EB_ERR_ARG, "predict: neither logits nor features asked for");
    eb_graph *g = eb_graph_new(0, &m->params.allocator);
    if (!g) return eb_error_set(err, EB_ERR_NOMEM, "predict: out of memory");
    int64_t din = eb_model_in_dim(m), dout = eb_model_out_dim(m), dfeat = eb_model_feature_dim(m);
    eb_status st = EB_OK;
    for (int64_t start = 0; start < n && !st; start += batch_size) {
        int64_t b = n - start < batch_size ? n - start : batch_size;
        eb_graph_reset(g);
        eb_tensor *xb = eb_tensor_input(g, (float *)(x + start * din), 2, EB_SHAPE(b, din), false);
        eb_tensor *feat = NULL;
        /* tape-free: intermediates reuse one buffer by liveness; only out and feat are kept */
        eb_graph_defer(g);
        eb_tensor *out = eb_model_forward(m, g, xb, false, NULL, features ? &feat : NULL);
        eb_tensor *keep[2] = {logits ? out : feat, feat};
        if ((st = eb_graph_run(g, keep, logits && features ? 2 : 1))) {
            eb_error_set(err, st, "predict: %s", eb_graph_error(g));
            break;
        }
        if (logits) memcpy(logits + start * dout, out->data, (size_t)(b * dout) * sizeof(float));
        if (features) memcpy(features + start * dfeat, feat->data, (size_t)(b * dfeat) * sizeof(float));
    }
    eb_graph_free(g);
    return st;
}

char *eb_model_config_json(const eb_model *m) {
    cJSON *o = cJSON_CreateObject();
    if (m->kind == EB_MODEL_MLP) {
        const eb_mlp_config *c = &m->mlp;
        cJSON_AddNumberToObject(o, "in_dim", (double)c->in_dim);
        cJSON_AddNumberToObject(o, "out_dim", (double)c->out_dim);
        cJSON *h = cJSON_AddArrayToObject(o, "hidden");
        for (int i = 0; i < c->n_hidden; i++)
            cJSON_AddItemToArray(h, cJSON_CreateNumber((double)c->hidden[i]));
        cJSON_AddStringToObject(o, "activation", eb_activation_name(c->activation));
        cJSON_AddNumberToObject(o, "activation_param", (double)c->activation_param);
        cJSON_AddNumberToObject(o, "dropout", (double)c->dropout);
    } else if (m->kind == EB_MODEL_RADIAL_FLOW) {
        cJSON_AddNumberToObject(o, "dim", (double)m->flow.dim);
        cJSON_AddNumberToObject(o, "n_layers", m->flow.n_layers);
    } else {
        const eb_image_config *c = &m->image;
        cJSON_AddNumberToObject(o, "channels", (double)c->channels);
        cJSON_AddNumberToObject(o, "height", (double)c->height);
        cJSON_AddNumberToObject(o, "width", (double)c->width);
        cJSON_AddNumberToObject(o, "num_classes", (double)c->num_classes);
        cJSON_AddNumberToObject(o, "depth", c->depth);
        cJSON_AddNumberToObject(o, "widen", c->widen);
        cJSON_AddNumberToObject(o, "dropout", (double)c->dropout);
        if (m->kind == EB_MODEL_WRN_EBM) cJSON_AddNumberToObject(o, "bottleneck", (double)c->bottleneck);
        if (c->stem == EB_RESNET_STEM_IMAGENET)
            cJSON_AddStringToObject(o, "stem", "imagenet"); /* cifar: absent */
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Reads an integer field of a config object; false if absent, not integral, or out of [lo, hi]. */
static bool json_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi)
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

/* The first key of object o that is not one of the NULL-terminated `keys`, or NULL. */
static const char *unknown_key(const cJSON *o, const char *const *keys) {
    const cJSON *item;
    cJSON_ArrayForEach(item, o) {
        bool known = false;
        for (int i = 0; keys[i] && !known; i++) known = strcmp(item->string, keys[i]) == 0;
        if (!known) return item->string;
    }
    return NULL;
}

static eb_status mlp_config_from_json(const char *path, const char *json, eb_mlp_config *c, eb_error *err) {
    static const char *const keys[] = {"in_dim",           "out_dim", "hidden", "activation",
                                       "activation_param", "dropout", NULL};
    memset(c, 0, sizeof *c);
    cJSON *o = cJSON_Parse(json);
    const char *extra = cJSON_IsObject(o) ? unknown_key(o, keys) : NULL;
    if (extra) {
        eb_status st = eb_error_set(err, EB_ERR_FORMAT, "%s: unknown key '%s' in ebood.config", path, extra);
        cJSON_Delete(o);
        return st;
    }
    eb_status st = EB_OK;
    const cJSON *hidden = o ? cJSON_GetObjectItemCaseSensitive(o, "hidden") : NULL;
    const cJSON *act = o ? cJSON_GetObjectItemCaseSensitive(o, "activation") : NULL;
    const cJSON *act_param = o ? cJSON_GetObjectItemCaseSensitive(o, "activation_param") : NULL;
    const cJSON *dropout = o ? cJSON_GetObjectItemCaseSensitive(o, "dropout") : NULL;
    if (!cJSON_IsObject(o) || !json_int(o, "in_dim", 1, INT32_MAX, &c->in_dim) ||
        !json_int(o, "out_dim", 1, INT32_MAX, &c->out_dim) || !cJSON_IsArray(hidden) ||
        !cJSON_IsString(act) || !cJSON_IsNumber(act_param) || !cJSON_IsNumber(dropout) ||
        strchr(act->valuestring, ':') || cJSON_GetArraySize(hidden) > EB_MLP_MAX_HIDDEN) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: malformed ebood.config for an mlp", path);
    } else {
        c->n_hidden = cJSON_GetArraySize(hidden);
        int i = 0;
        const cJSON *w;
        cJSON_ArrayForEach(w, hidden) {
            if (!cJSON_IsNumber(w) || w->valuedouble < 1 || w->valuedouble > (1 << 20)) {
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: bad hidden width in ebood.config", path);
                break;
            }
            c->hidden[i++] = (int64_t)w->valuedouble;
        }
        float default_param;
        if (!st && eb_activation_parse(act->valuestring, &c->activation, &default_param, NULL))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: unknown activation '%s' in ebood.config", path,
                              act->valuestring);
        c->activation_param = (float)act_param->valuedouble;
        c->dropout = (float)dropout->valuedouble;
        if (!st && eb_mlp_config_check(c, NULL))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: ebood.config out of range", path);
    }
    cJSON_Delete(o);
    return st;
}

static eb_status image_config_from_json(const char *path, eb_model_kind kind, const char *json,
                                        eb_image_config *c, eb_error *err) {
    static const char *const keys[] = {"channels", "height",  "width",      "num_classes", "depth",
                                       "widen",    "dropout", "bottleneck", "stem",        NULL};
    memset(c, 0, sizeof *c);
    cJSON *o = cJSON_Parse(json);
    const char *extra = cJSON_IsObject(o) ? unknown_key(o, keys) : NULL;
    if (extra) {
        eb_status st = eb_error_set(err, EB_ERR_FORMAT, "%s: unknown key '%s' in ebood.config", path, extra);
        cJSON_Delete(o);
        return st;
    }
    int64_t depth = 0, widen = 0;
    const cJSON *dropout = o ? cJSON_GetObjectItemCaseSensitive(o, "dropout") : NULL;
    eb_status st = EB_OK;
    if (!cJSON_IsObject(o) || !json_int(o, "channels", 1, 4096, &c->channels) ||
        !json_int(o, "height", 1, 4096, &c->height) || !json_int(o, "width", 1, 4096, &c->width) ||
        !json_int(o, "num_classes", 1, 100000, &c->num_classes) || !json_int(o, "depth", 0, 1000, &depth) ||
        !json_int(o, "widen", 0, 64, &widen) || !cJSON_IsNumber(dropout)) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: malformed ebood.config for a %s", path,
                          eb_model_kind_name(kind));
    } else {
        c->depth = (int)depth;
        c->widen = (int)widen;
        c->dropout = (float)dropout->valuedouble;
        const cJSON *bottleneck = cJSON_GetObjectItemCaseSensitive(o, "bottleneck"); /* wrn_ebm only */
        if (cJSON_IsNumber(bottleneck)) c->bottleneck = (float)bottleneck->valuedouble;
        const cJSON *stem = cJSON_GetObjectItemCaseSensitive(o, "stem"); /* resnet: "cifar" or "imagenet" */
        bool stem_ok = !stem || (cJSON_IsString(stem) && (strcmp(stem->valuestring, "cifar") == 0 ||
                                                          strcmp(stem->valuestring, "imagenet") == 0));
        if (stem_ok && stem && strcmp(stem->valuestring, "imagenet") == 0) c->stem = EB_RESNET_STEM_IMAGENET;
        if ((bottleneck && !cJSON_IsNumber(bottleneck)) || !stem_ok || eb_image_config_check(kind, c, NULL))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: ebood.config out of range", path);
    }
    cJSON_Delete(o);
    return st;
}

static eb_status flow_config_from_json(const char *path, const char *json, eb_radial_flow_config *c,
                                       eb_error *err) {
    static const char *const keys[] = {"dim", "n_layers", NULL};
    memset(c, 0, sizeof *c);
    cJSON *o = cJSON_Parse(json);
    const char *extra = cJSON_IsObject(o) ? unknown_key(o, keys) : NULL;
    int64_t n_layers = 0;
    eb_status st = EB_OK;
    if (extra)
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: unknown key '%s' in ebood.config", path, extra);
    else if (!cJSON_IsObject(o) || !json_int(o, "dim", 1, 1 << 20, &c->dim) ||
             !json_int(o, "n_layers", 1, EB_RADIAL_FLOW_MAX_LAYERS, &n_layers))
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: malformed ebood.config for a radial_flow", path);
    c->n_layers = (int)n_layers;
    cJSON_Delete(o);
    return st;
}

/* The checkpoint's tensors: every parameter, then every buffer (room for `spare` more after them). */
static eb_st_tensor *checkpoint_tensors(const eb_model *m, int spare, int *n) {
    *n = m->params.count + m->buffers.count;
    eb_st_tensor *t = calloc((size_t)(*n + spare + 1), sizeof *t);
    if (!t) return NULL;
    for (int i = 0; i < *n; i++) {
        const eb_params *p = i < m->params.count ? &m->params : &m->buffers;
        const eb_param_info *e = &p->info[i < m->params.count ? i : i - m->params.count];
        t[i] = (eb_st_tensor){.name = e->name,
                              .dtype = EB_ST_F32,
                              .ndim = e->ndim,
                              .data = p->data + e->offset,
                              .nbytes = (size_t)e->size * sizeof(float)};
        memcpy(t[i].shape, e->shape, (size_t)e->ndim * sizeof(int64_t));
    }
    return t;
}

eb_status eb_model_save_with(const eb_model *m, const char *path, const eb_st_meta *extra, int n_extra,
                             const eb_st_tensor *more, int n_more, eb_error *err) {
    int n_tensors;
    eb_st_tensor *tensors = checkpoint_tensors(m, n_more, &n_tensors);
    eb_st_meta *meta = calloc((size_t)n_extra + 4, sizeof *meta);
    char *config = eb_model_config_json(m);
    eb_status st = EB_OK;
    if (!tensors || !meta || !config) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    } else {
        for (int i = 0; i < n_more; i++) tensors[n_tensors++] = more[i];
        char version[16];
        snprintf(version, sizeof version, "%d", EB_CHECKPOINT_FORMAT_VERSION);
        meta[0] = (eb_st_meta){"ebood.format_version", version};
        meta[1] = (eb_st_meta){"ebood.model", eb_model_kind_name(m->kind)};
        meta[2] = (eb_st_meta){"ebood.config", config};
        for (int i = 0; i < n_extra; i++) meta[3 + i] = extra[i];
        char head[48];
        snprintf(head, sizeof head, "%lld,%lld", (long long)m->head_hidden, (long long)m->head_dim);
        if (m->head_dim) meta[3 + n_extra] = (eb_st_meta){"ebood.projection_head", head};
        st = eb_safetensors_write(path, tensors, n_tensors, meta, n_extra + 3 + (m->head_dim > 0), err);
    }
    free(tensors);
    free(meta);
    free(config);
    return st;
}

eb_status eb_model_save(const eb_model *m, const char *path, const eb_st_meta *extra, int n_extra,
                        eb_error *err) {
    return eb_model_save_with(m, path, extra, n_extra, NULL, 0, err);
}

static bool params_has(const eb_params *p, const char *name) {
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->info[i].name, name) == 0) return true;
    return false;
}

/* The model a checkpoint's config declares, laid out (parameter names and shapes registered) but
 * not allocated: *out is NULL on failure. */
static eb_status declared_model(const char *path, eb_model_kind kind, const char *config,
                                const eb_allocator *a, eb_model **out, eb_error *err) {
    *out = NULL;
    eb_mlp_config mlp;
    eb_radial_flow_config flow;
    eb_image_config image;
    eb_status st = kind == EB_MODEL_MLP           ? mlp_config_from_json(path, config, &mlp, err)
                   : kind == EB_MODEL_RADIAL_FLOW ? flow_config_from_json(path, config, &flow, err)
                                                  : image_config_from_json(path, kind, config, &image, err);
    if (!st && kind == EB_MODEL_RADIAL_FLOW && eb_radial_flow_config_check(&flow, NULL))
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: ebood.config out of range", path);
    if (st) return st;
    eb_model *m = eb__model_alloc(kind, a, err);
    if (!m) return EB_ERR_NOMEM;
    if (kind == EB_MODEL_MLP)
        m->mlp = mlp;
    else if (kind == EB_MODEL_RADIAL_FLOW)
        m->flow = flow;
    else
        m->image = image;
    if ((st = eb__model_arch_of(kind)->build(m, err))) {
        eb_model_free(m);
        return st;
    }
    *out = m;
    return EB_OK;
}

eb_status eb_model_load_with_file(const char *path, const eb_allocator *a, eb_model **out,
                                  eb_safetensors **file, eb_error *err) {
    *out = NULL;
    if (file) *file = NULL;
    eb_safetensors *st_file = NULL;
    eb_status st = eb_safetensors_read(path, &st_file, err);
    if (st) return st;
    const char *version = eb_safetensors_meta(st_file, "ebood.format_version");
    const char *kind = eb_safetensors_meta(st_file, "ebood.model");
    const char *config = eb_safetensors_meta(st_file, "ebood.config");
    eb_model *m = NULL;
    eb_model_kind model_kind;
    if (!version || !kind || !config) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: not an ebood checkpoint (no ebood.* metadata)", path);
    } else if (strspn(version, "0123456789") != strlen(version) || strlen(version) > 6 || atoi(version) < 1 ||
               atoi(version) > EB_CHECKPOINT_FORMAT_VERSION) {
        st = eb_error_set(err, EB_ERR_UNSUPPORTED,
                          "%s: checkpoint format version %s (this ebood reads up to %d)", path, version,
                          EB_CHECKPOINT_FORMAT_VERSION);
    } else if (eb_model_kind_parse(kind, &model_kind, NULL)) {
        st = eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: unknown model kind '%s'", path, kind);
    } else {
        st = declared_model(path, model_kind, config, a, &m, err);
        /* every declared tensor is checked against the file before anything is allocated, so a
         * config that declares a huge architecture costs nothing: the file must hold its tensors */
        for (int b = 0; b < 2 && !st; b++) {
            const eb_params *p = b == 0 ? &m->params : &m->buffers;
            for (int i = 0; i < p->count && !st; i++)
                st = eb_safetensors_check_f32(st_file, p->info[i].name, p->info[i].ndim, p->info[i].shape,
                                              err);
        }
        eb_error alloc_err;
        if (!st && (st = alloc_params(m, &alloc_err)))
            eb_error_set(err, st, "%s: %s", path, alloc_err.message);
        /* a projection head (HamOS/CIDER) is bounded by its own width limit; its tensors are checked
         * with the rest below */
        const char *head = eb_safetensors_meta(st_file, "ebood.projection_head");
        if (head && !st) {
            long long hidden = 0, dim = 0;
            char tail;
            eb_rng rng;
            eb_rng_seed(&rng, 0);
            if (sscanf(head, "%lld,%lld%c", &hidden, &dim, &tail) != 2 ||
                eb_model_add_projection_head(m, hidden, dim, &rng, NULL))
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: malformed ebood.projection_head '%s'", path, head);
        }
        for (int b = 0; b < 2 && !st; b++) {
            eb_params *p = b == 0 ? &m->params : &m->buffers;
            for (int i = 0; i < p->count && !st; i++) {
                const eb_param_info *e = &p->info[i];
                st = eb_safetensors_get_f32(st_file, e->name, e->ndim, e->shape, p->data + e->offset, err);
            }
            for (int64_t i = 0; i < p->size && !st; i++)
                if (!isfinite(p->data[i]))
                    st = eb_error_set(err, EB_ERR_NUMERIC, "%s: non-finite value in %s", path,
                                      b == 0 ? "the parameters" : "the buffers");
        }
        /* like torch's load_state_dict(strict=True): a tensor the model does not have is an error
         * (the trainer's state excepted: "optimizer.state", and "objective.*", e.g. a CD replay buffer) */
        for (int i = 0; i < eb_safetensors_count(st_file) && !st; i++) {
            const char *name = eb_safetensors_at(st_file, i)->name;
            if (strcmp(name, "optimizer.state") != 0 && strncmp(name, "objective.", 10) != 0 &&
                !params_has(&m->params, name) && !params_has(&m->buffers, name))
                st =
                    eb_error_set(err, EB_ERR_FORMAT, "%s: unexpected tensor '%s' for a %s", path, name, kind);
        }
    }
    if (st) {
        eb_model_free(m);
        eb_safetensors_free(st_file);
        return st;
    }
    *out = m;
    if (file)
        *file = st_file;
    else
        eb_safetensors_free(st_file);
    return EB_OK;
}

eb_status eb_model_load(const char *path, const eb_allocator *a, eb_model **out, eb_error *err) {
    return eb_model_load_with_file(path, a, out, NULL, err);
}
