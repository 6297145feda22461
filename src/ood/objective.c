/* The objective registry (include/ebood/objective.h): the rows of EB__OBJECTIVE_LIST and everything generic
 * about them — lookup, assembling a spec from a preset and flag values, its JSON, the model and training
 * profile queries and the run (context, epoch end, checkpoint state). Names no method: each method's hooks
 * and parameter rows live in its own file (src/ood/objectives/, how to add one: objective_impl.h). */
#include "ood/objectives/objective_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EB__OBJECTIVE_ROW(id) &eb__objective_##id,
static const eb__objective_method *const registry[] = {EB__OBJECTIVE_LIST(EB__OBJECTIVE_ROW)};
#undef EB__OBJECTIVE_ROW
enum { N_OBJECTIVES = (int)(sizeof registry / sizeof registry[0]) };

int eb_objective_count(void) { return N_OBJECTIVES; }

const eb_objective_method *eb_objective_at(int i) { return i >= 0 && i < N_OBJECTIVES ? registry[i] : NULL; }

const eb_objective_method *eb_objective_find(const char *name) {
    for (int i = 0; name && i < N_OBJECTIVES; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

void eb_objective_names(char *buf, size_t size) {
    size_t used = 0;
    if (size) buf[0] = 0;
    for (int i = 0; i < N_OBJECTIVES && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", registry[i]->name);
}

const char *eb_objective_name(const eb_objective_method *m) { return m ? m->name : "unknown"; }
const char *eb_objective_help(const eb_objective_method *m) { return m ? m->help : ""; }

int eb_objective_params(const eb_objective_method *m, const eb_param_desc **out) {
    *out = m->params;
    return m->n_params;
}

bool eb_objective_has_code_preset(const eb_objective_method *m) { return m->use_code != NULL; }

/* The method's defaults under a preset into s. */
static void spec_defaults(const eb_objective_method *m, bool code, eb_objective_spec *s) {
    memset(s, 0, sizeof *s);
    s->method = m;
    m->defaults(s->params);
    if (code && m->use_code) {
        m->use_code(s->params);
        s->code_defaults = true;
    }
}

void eb_objective_param_default(const eb_objective_method *m, const eb_param_desc *d, bool code, char *buf,
                                size_t size) {
    eb_objective_spec *s = malloc(sizeof *s);
    if (!s) {
        snprintf(buf, size, "?");
        return;
    }
    spec_defaults(m, code, s);
    eb_param_format(d, s->params, buf, size);
    free(s);
}

/* The method's row for `flag`, or NULL. */
static const eb_param_desc *row_of(const eb_objective_method *m, const char *flag) {
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].flag, flag) == 0) return &m->params[i];
    return NULL;
}

void eb_objective_flag_readers(const char *flag, char *buf, size_t size) {
    size_t used = 0;
    if (size) buf[0] = 0;
    for (int i = 0; i < N_OBJECTIVES && used < size; i++)
        if (row_of(registry[i], flag))
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", registry[i]->name);
}

/* The names of the objectives with a code preset. */
static void preset_readers(char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < N_OBJECTIVES && used < size; i++)
        if (registry[i]->use_code)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", registry[i]->name);
}

/* Defaults of m under the preset, then the values (each must be one of m's rows). */
static eb_status apply(const eb_objective_method *m, bool code, const eb_objective_value *given, int n_given,
                       eb_objective_spec *s, eb_error *err) {
    spec_defaults(m, code, s);
    for (int i = 0; i < n_given; i++) {
        const eb_param_desc *d = row_of(m, given[i].flag);
        if (!d) {
            char readers[256];
            eb_objective_flag_readers(given[i].flag, readers, sizeof readers);
            return eb_error_set(err, EB_ERR_ARG, "--%s is read only by --objective %s (this run trains %s)",
                                given[i].flag, readers[0] ? readers : "(none)", m->name);
        }
        eb_status st = eb_param_parse(d, given[i].text, s->params, err);
        if (st) return st;
    }
    return EB_OK;
}

eb_status eb_objective_spec_build(const char *name, const char *preset, const eb_objective_value *given,
                                  int n_given, eb_objective_spec *out, eb_error *err) {
    const eb_objective_method *m = eb_objective_find(name);
    if (!m) {
        char names[256];
        eb_objective_names(names, sizeof names);
        return eb_error_set(err, EB_ERR_ARG, "--objective: unknown objective '%s' (%s)",
                            name ? name : "(null)", names);
    }
    bool code = false;
    if (preset) {
        char readers[256];
        preset_readers(readers, sizeof readers);
        if (!m->use_code)
            return eb_error_set(err, EB_ERR_ARG,
                                "--ebm-preset is read only by --objective %s (this run trains %s)", readers,
                                m->name);
        if (strcmp(preset, "code") != 0 && strcmp(preset, "paper") != 0)
            return eb_error_set(err, EB_ERR_ARG, "--ebm-preset: expected paper or code, got '%s'", preset);
        code = strcmp(preset, "code") == 0;
    }
    eb_status st = apply(m, code, given, n_given, out, err);
    if (!st && m->resolve) { /* a value selects a sibling: its defaults, then the same values */
        const eb_objective_method *sibling = eb_objective_find(m->resolve(out->params));
        if (sibling && sibling != m) st = apply(sibling, code, given, n_given, out, err);
    }
    if (!st && out->method->check) st = out->method->check(out->params, err);
    return st;
}

const char *eb_objective_spec_name(const eb_objective_spec *s) { return s->method->name; }

char *eb_objective_spec_json(const eb_objective_spec *s) {
    const eb_objective_method *m = s->method;
    if (m->json) return m->json(s->params, s->code_defaults);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "objective", m->name);
    if (m->use_code) cJSON_AddStringToObject(o, "defaults", s->code_defaults ? "code" : "paper");
    for (int i = 0; i < m->n_params; i++) {
        const eb_param_desc *d = &m->params[i];
        char text[64];
        eb_param_format(d, s->params, text, sizeof text);
        if (d->symbols_only || d->type == EB_PARAM_TYPE_BOOL)
            cJSON_AddStringToObject(o, d->key, text);
        else
            cJSON_AddNumberToObject(o, d->key, eb_param_get(d, s->params));
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* ---- the model --------------------------------------------------------------------------------------------
 */
int64_t eb_objective_out_dim(const eb_objective_spec *s, int64_t n_classes) {
    return s->method->out_dim ? s->method->out_dim(s->params, n_classes) : n_classes;
}

eb_model_kind eb_objective_default_model(const eb_objective_spec *s, bool images) {
    if (s->method->default_model) return s->method->default_model(s->params, images);
    return images ? EB_MODEL_SMALL_CNN : EB_MODEL_MLP;
}

void eb_objective_default_activation(const eb_objective_spec *s, eb_activation *act, float *param) {
    *act = EB_ACT_LEAKY_RELU;
    *param = 0.01f;
    if (s->method->default_activation) s->method->default_activation(s->params, act, param);
}

eb_status eb_objective_model_check(const eb_objective_spec *s, eb_model_kind kind, bool images,
                                   eb_error *err) {
    return s->method->model_check ? s->method->model_check(s->params, kind, images, err) : EB_OK;
}

bool eb_objective_builds_model(const eb_objective_spec *s) { return s->method->model_new != NULL; }

eb_status eb_objective_model_new(const eb_objective_spec *s, int64_t in_dim, int64_t n_classes, eb_rng *init,
                                 eb_model **out, eb_error *err) {
    *out = NULL;
    if (!s->method->model_new)
        return eb_error_set(err, EB_ERR_ARG, "--objective %s builds no model of its own", s->method->name);
    return s->method->model_new(s->params, in_dim, n_classes, init, out, err);
}

void eb_objective_model_note(const eb_objective_spec *s, eb_model_kind kind, eb_activation act, char *buf,
                             size_t size) {
    if (size) buf[0] = 0;
    if (s->method->model_note) s->method->model_note(s->params, kind, act, buf, size);
}

eb_status eb_objective_model_adjust(const eb_objective_spec *s, eb_model **model, eb_error *err) {
    return s->method->model_adjust ? s->method->model_adjust(s->params, model, err) : EB_OK;
}

/* ---- training ---------------------------------------------------------------------------------------------
 */
void eb_objective_train_profile(const eb_objective_spec *s, bool images, int64_t batches_per_epoch,
                                eb_train_profile *out) {
    memset(out, 0, sizeof *out);
    eb_train_params *p = &out->train;
    *p = eb_train_default_params();
    p->drop_last = true;
    if (images) { /* Adam, cosine, 5 epochs of 128 */
        p->steps = 0;
        p->epochs = 5;
        p->batch_size = 128;
        p->optimizer = eb_adam_default_params();
        p->schedule = eb_schedule_default(p->optimizer.lr);
        p->schedule.kind = EB_SCHEDULE_COSINE;
        p->schedule.step_size = 3000;
        p->schedule.gamma = 0.5f;
    } else { /* the EBM paper's common training for a classifier too: AdamW, warm-up 2500, ×0.5 every 3000 */
        p->steps = 10000;
        p->epochs = 0;
        p->batch_size = 512;
        p->optimizer = eb_adamw_default_params();
        p->optimizer.weight_decay = 0.0f;
        p->schedule = eb_schedule_default(p->optimizer.lr);
        p->schedule.kind = EB_SCHEDULE_STEP;
        p->schedule.warmup_steps = 2500;
        p->schedule.step_size = 3000;
        p->schedule.gamma = 0.5f;
    }
    if (s->method->train_profile) s->method->train_profile(s->params, images, batches_per_epoch, out);
}

eb_status eb_objective_run_new(const eb_objective_spec *s, const eb_model *model, const eb_schedule *schedule,
                               uint64_t seed, eb_objective_run **out, eb_error *err) {
    *out = NULL;
    eb_objective_run *r = calloc(1, sizeof *r);
    if (!r) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    r->spec = *s;
    const eb_objective_method *m = s->method;
    r->fn = m->fn;
    r->ctx = r->spec.params;
    r->needs_labels = m->needs_labels ? m->needs_labels(s->params) : true;
    eb_status st = m->run_new ? m->run_new(r->spec.params, model, schedule, seed, &r->ctx, err) : EB_OK;
    if (!st && !(r->settings_json = eb_objective_spec_json(&r->spec)))
        st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (st) {
        if (m->run_new && m->run_free && r->ctx != r->spec.params) m->run_free(r->ctx);
        free(r->settings_json);
        free(r);
        return st;
    }
    *out = r;
    return EB_OK;
}

void eb_objective_run_free(eb_objective_run *r) {
    if (!r) return;
    if (r->spec.method->run_free) r->spec.method->run_free(r->ctx);
    free(r->settings_json);
    free(r);
}

eb_status eb_objective_run_epoch_end(eb_objective_run *r, eb_model *model, const eb_train_epoch_info *info,
                                     eb_error *err) {
    return r->spec.method->epoch_end ? r->spec.method->epoch_end(r->ctx, model, info, err) : EB_OK;
}

/* The state tensor into *t (*owned its data) on a rank that writes; collective: through the method's
 * state_gather (every rank calls it), otherwise its state_get. */
static eb_status run_state(const eb_objective_run *r, bool collective, bool writes, eb_st_tensor *t,
                           float **owned, bool *has, eb_error *err) {
    const eb_objective_method *m = r->spec.method;
    int64_t shape[2] = {0, 0};
    *owned = NULL;
    int ndim = m->state_name && m->state_shape ? m->state_shape(r->ctx, shape) : 0;
    *has = ndim > 0 && writes;
    if (ndim == 0) return EB_OK;
    int64_t n = ndim == 2 ? shape[0] * shape[1] : shape[0];
    if (writes &&
        !(*owned = calloc((size_t)(n > 0 ? n : 1), sizeof(float)))) /* zeros: a share fills its rows */
        return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (collective && m->state_gather) {
        eb_status st = m->state_gather(r->ctx, *owned, err);
        if (st) {
            free(*owned);
            *owned = NULL;
            *has = false;
            return st;
        }
    } else if (writes) {
        m->state_get(r->ctx, *owned);
    }
    if (!writes) return EB_OK;
    memset(t, 0, sizeof *t);
    t->name = m->state_name;
    t->dtype = EB_ST_F32;
    t->ndim = ndim;
    t->shape[0] = shape[0];
    t->shape[1] = shape[1];
    t->data = *owned;
    t->nbytes = (size_t)n * sizeof(float);
    return EB_OK;
}

eb_status eb_objective_run_state(const eb_objective_run *r, eb_st_tensor *t, float **owned, bool *has,
                                 eb_error *err) {
    return run_state(r, false, true, t, owned, has, err);
}

eb_status eb_objective_run_state_collect(const eb_objective_run *r, bool writes, eb_st_tensor *t,
                                         float **owned, bool *has, eb_error *err) {
    return run_state(r, true, writes, t, owned, has, err);
}

eb_status eb_objective_run_restore(eb_objective_run *r, const eb_safetensors *file, const char *path,
                                   eb_error *err) {
    const eb_objective_method *m = r->spec.method;
    int64_t shape[2];
    if (!m->state_name || !m->state_shape || m->state_shape(r->ctx, shape) == 0) return EB_OK;
    const eb_st_tensor *t = eb_safetensors_find(file, m->state_name);
    if (!t || t->ndim < 1 || t->ndim > 2)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: cannot resume: no tensor %s in the checkpoint", path,
                            m->state_name);
    int64_t n = t->ndim == 2 ? t->shape[0] * t->shape[1] : t->shape[0];
    float *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!buf) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_status st = eb_safetensors_get_f32(file, m->state_name, t->ndim, t->shape, buf, err);
    if (!st) st = m->state_set(r->ctx, buf, t->ndim, t->shape, err);
    if (st) eb_error_set(err, st, "%s: cannot resume: %s", path, err->message);
    free(buf);
    return st;
}

eb_status eb_objective_run_distribute(eb_objective_run *r, const eb_dist *dist, uint64_t seed,
                                      eb_error *err) {
    if (eb_dist_size(dist) < 2 || !r->spec.method->distribute) return EB_OK;
    return r->spec.method->distribute(r->ctx, dist, seed, err);
}

bool eb_objective_uses_aux(const eb_objective_spec *s) { return s->method->aux_setup != NULL; }

eb_status eb_objective_run_aux_setup(eb_objective_run *r, eb_model *model, const eb_image_set *id,
                                     const eb_image_set *aux, const eb_image_transforms *norm,
                                     int64_t batches_per_epoch, eb_aux_params *ap, eb_error *err) {
    if (!r->spec.method->aux_setup)
        return eb_error_set(err, EB_ERR_ARG, "--objective %s trains without auxiliary outliers",
                            r->spec.method->name);
    return r->spec.method->aux_setup(r->ctx, model, id, aux, norm, batches_per_epoch, ap, err);
}

eb_status eb_objective_run_data_setup(eb_objective_run *r, eb_model *model, const eb_image_set *id,
                                      const eb_image_transforms *norm, eb_error *err) {
    return r->spec.method->data_setup ? r->spec.method->data_setup(r->ctx, model, id, norm, err) : EB_OK;
}

void eb_objective_run_summary(const eb_objective_run *r, void *cjson_object) {
    if (r->spec.method->summary) r->spec.method->summary(r->ctx, cjson_object);
}
