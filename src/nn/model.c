/* The model interface: dispatch by kind, batched prediction, config JSON and checkpoints. */
#include "nn/model_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const model_kind_names[] = {"mlp"};

eb_model *eb__model_alloc(eb_model_kind kind, const eb_allocator *a, eb_error *err) {
    if (!a) a = eb_allocator_default();
    eb_model *m = eb_alloc_zero(a, sizeof *m);
    if (!m) {
        eb_error_set(err, EB_ERR_NOMEM, "model: out of memory");
        return NULL;
    }
    m->kind = kind;
    m->params.allocator = *a;
    return m;
}

void eb_model_free(eb_model *m) {
    if (!m) return;
    eb_allocator a = m->params.allocator;
    eb_params_free(&m->params);
    eb_free(&a, m);
}

int64_t eb_model_in_dim(const eb_model *m) { return m->mlp.in_dim; }
int64_t eb_model_out_dim(const eb_model *m) { return m->mlp.out_dim; }
int64_t eb_model_feature_dim(const eb_model *m) { return eb__mlp_feature_dim(&m->mlp); }

eb_tensor *eb_model_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                            eb_tensor **features) {
    switch (m->kind) {
    case EB_MODEL_MLP: return eb__mlp_forward(m, g, x, train, rng, features);
    }
    eb_graph_fail(g, EB_ERR_ARG, "model: unknown kind %d", (int)m->kind);
    return x;
}

eb_status eb_model_predict(eb_model *m, const float *x, int64_t n, int64_t batch_size, float *logits,
                           float *features, eb_error *err) {
    if (batch_size < 1) return eb_error_set(err, EB_ERR_ARG, "predict: batch size must be >= 1");
    eb_graph *g = eb_graph_new(0, &m->params.allocator);
    if (!g) return eb_error_set(err, EB_ERR_NOMEM, "predict: out of memory");
    int64_t din = eb_model_in_dim(m), dout = eb_model_out_dim(m), dfeat = eb_model_feature_dim(m);
    eb_status st = EB_OK;
    for (int64_t start = 0; start < n && !st; start += batch_size) {
        int64_t b = n - start < batch_size ? n - start : batch_size;
        eb_graph_reset(g);
        eb_tensor *xb = eb_tensor_input(g, (float *)(x + start * din), 2, EB_SHAPE(b, din), false);
        eb_tensor *feat = NULL;
        eb_tensor *out = eb_model_forward(m, g, xb, false, NULL, features ? &feat : NULL);
        if ((st = eb_graph_status(g))) {
            eb_error_set(err, st, "predict: %s", eb_graph_error(g));
            break;
        }
        memcpy(logits + start * dout, out->data, (size_t)(b * dout) * sizeof(float));
        if (features) memcpy(features + start * dfeat, feat->data, (size_t)(b * dfeat) * sizeof(float));
    }
    eb_graph_free(g);
    return st;
}

char *eb_model_config_json(const eb_model *m) {
    const eb_mlp_config *c = &m->mlp;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "in_dim", (double)c->in_dim);
    cJSON_AddNumberToObject(o, "out_dim", (double)c->out_dim);
    cJSON *h = cJSON_AddArrayToObject(o, "hidden");
    for (int i = 0; i < c->n_hidden; i++) cJSON_AddItemToArray(h, cJSON_CreateNumber((double)c->hidden[i]));
    cJSON_AddStringToObject(o, "activation", eb_activation_name(c->activation));
    cJSON_AddNumberToObject(o, "activation_param", (double)c->activation_param);
    cJSON_AddNumberToObject(o, "dropout", (double)c->dropout);
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

static eb_status mlp_config_from_json(const char *path, const char *json, eb_mlp_config *c, eb_error *err) {
    memset(c, 0, sizeof *c);
    cJSON *o = cJSON_Parse(json);
    eb_status st = EB_OK;
    const cJSON *hidden = o ? cJSON_GetObjectItemCaseSensitive(o, "hidden") : NULL;
    const cJSON *act = o ? cJSON_GetObjectItemCaseSensitive(o, "activation") : NULL;
    const cJSON *act_param = o ? cJSON_GetObjectItemCaseSensitive(o, "activation_param") : NULL;
    const cJSON *dropout = o ? cJSON_GetObjectItemCaseSensitive(o, "dropout") : NULL;
    if (!cJSON_IsObject(o) || !json_int(o, "in_dim", 1, INT32_MAX, &c->in_dim) ||
        !json_int(o, "out_dim", 1, INT32_MAX, &c->out_dim) || !cJSON_IsArray(hidden) ||
        !cJSON_IsString(act) || !cJSON_IsNumber(act_param) || !cJSON_IsNumber(dropout) ||
        cJSON_GetArraySize(hidden) > EB_MLP_MAX_HIDDEN) {
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
        float param;
        if (!st && eb_activation_parse(act->valuestring, &c->activation, &param, NULL))
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

eb_status eb_model_save(const eb_model *m, const char *path, const eb_st_meta *extra, int n_extra,
                        eb_error *err) {
    const eb_params *p = &m->params;
    eb_st_tensor *tensors = calloc((size_t)p->count, sizeof *tensors);
    eb_st_meta *meta = calloc((size_t)n_extra + 3, sizeof *meta);
    char *config = eb_model_config_json(m);
    eb_status st = EB_OK;
    if (!tensors || !meta || !config) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    } else {
        for (int i = 0; i < p->count; i++) {
            const eb_param_info *e = &p->info[i];
            tensors[i] = (eb_st_tensor){.name = e->name,
                                        .dtype = EB_ST_F32,
                                        .ndim = e->ndim,
                                        .data = p->data + e->offset,
                                        .nbytes = (size_t)e->size * sizeof(float)};
            memcpy(tensors[i].shape, e->shape, (size_t)e->ndim * sizeof(int64_t));
        }
        char version[16];
        snprintf(version, sizeof version, "%d", EB_CHECKPOINT_FORMAT_VERSION);
        meta[0] = (eb_st_meta){"ebood.format_version", version};
        meta[1] = (eb_st_meta){"ebood.model", model_kind_names[m->kind]};
        meta[2] = (eb_st_meta){"ebood.config", config};
        for (int i = 0; i < n_extra; i++) meta[3 + i] = extra[i];
        st = eb_safetensors_write(path, tensors, p->count, meta, n_extra + 3, err);
    }
    free(tensors);
    free(meta);
    free(config);
    return st;
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
    if (!version || !kind || !config) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: not an ebood checkpoint (no ebood.* metadata)", path);
    } else if (atoi(version) < 1 || atoi(version) > EB_CHECKPOINT_FORMAT_VERSION) {
        st = eb_error_set(err, EB_ERR_UNSUPPORTED,
                          "%s: checkpoint format version %s (this ebood reads up to %d)", path, version,
                          EB_CHECKPOINT_FORMAT_VERSION);
    } else if (strcmp(kind, "mlp") != 0) {
        st = eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: unknown model kind '%s'", path, kind);
    } else {
        eb_mlp_config c;
        eb_rng rng;
        eb_rng_seed(&rng, 0);
        if (!(st = mlp_config_from_json(path, config, &c, err)) && !(st = eb_mlp_new(&c, &rng, a, &m, err))) {
            for (int i = 0; i < m->params.count && !st; i++) {
                const eb_param_info *e = &m->params.info[i];
                st = eb_safetensors_get_f32(st_file, e->name, e->ndim, e->shape, m->params.data + e->offset,
                                            err);
            }
            for (int64_t i = 0; i < m->params.size && !st; i++)
                if (!isfinite(m->params.data[i]))
                    st = eb_error_set(err, EB_ERR_NUMERIC, "%s: non-finite parameter value", path);
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
