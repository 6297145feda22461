/* The checkpoint of eb_train_run (train_impl.h): the settings it records for --resume, the per-epoch log,
 * the periodic and final writes (atomic, with the optimizer's and the objective's state) and the resume. */
#include "eval/train_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *eb__train_args_json(const eb_train_spec *s, const eb_train_plan *plan, const char *objective_json) {
    const eb_train_settings *a = &plan->settings;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "data", s->data.name);
    cJSON_AddStringToObject(o, "optimizer", a->optimizer);
    cJSON_AddStringToObject(o, "schedule", a->schedule);
    if (strcmp(a->schedule, "multistep") == 0) cJSON_AddStringToObject(o, "milestones", a->milestones);
    const struct {
        const char *k;
        double v;
    } nums[] = {{"seed", (double)a->seed},
                {"split_seed", (double)a->split_seed},
                {"steps", (double)a->steps},
                {"epochs", (double)a->epochs},
                {"batch_size", (double)a->batch},
                {"warmup", (double)a->warmup},
                {"step_size", (double)a->step_size},
                {"crop_padding", (double)a->crop_padding},
                {"lr", a->lr},
                {"weight_decay", a->wd},
                {"momentum", a->momentum},
                {"beta1", a->beta1},
                {"beta2", a->beta2},
                {"eps", a->eps},
                {"gamma", a->gamma},
                {"min_lr", a->min_lr},
                {"clip_grad_norm", a->clip},
                {"noise_std", a->noise_std},
                {"nesterov", a->nesterov},
                {"keep_last_batch", a->keep_last},
                {"hflip", a->hflip},
                {"resized_crop", a->resized_crop}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        cJSON_AddNumberToObject(o, nums[i].k, nums[i].v);
    if (objective_json) cJSON_AddItemToObject(o, "objective", cJSON_Parse(objective_json));
    if (s->init_path) cJSON_AddStringToObject(o, "init", s->init_path);
    if (s->data.aux_name) cJSON_AddStringToObject(o, "aux_data", s->data.aux_name);
    if (a->sync_bn) cJSON_AddBoolToObject(o, "sync_bn", true); /* absent when off: older checkpoints resume */
    if (plan->margin_grid) cJSON_AddStringToObject(o, "margin_grid", plan->margin_grid);
    const eb_tabular_params *table = s->data.table;
    if (table) {
        cJSON *t = cJSON_AddObjectToObject(o, "table");
        cJSON_AddNumberToObject(t, "val_split", table->val_frac);
        cJSON_AddNumberToObject(t, "test_split", table->test_frac);
        if (table->ood_class) cJSON_AddStringToObject(t, "ood_class", table->ood_class);
        cJSON_AddBoolToObject(t, "standardize", table->standardize);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* Called on every rank (the objective's state may have to be gathered); rank 0 writes. */
static eb_status save_checkpoint(const eb__checkpoint *c, eb_model *m, int64_t epoch, int64_t step,
                                 const eb_optimizer *opt, eb_error *err) {
    float *owned = NULL;
    bool has = false;
    eb_st_tensor objective_state;
    memset(&objective_state, 0, sizeof objective_state);
    eb_status st =
        eb_objective_run_state_collect(c->objective, c->writes, &objective_state, &owned, &has, err);
    if (st || !c->writes) return st;
    char epoch_s[32], step_s[32], opt_step_s[32];
    snprintf(epoch_s, sizeof epoch_s, "%lld", (long long)epoch);
    snprintf(step_s, sizeof step_s, "%lld", (long long)step);
    snprintf(opt_step_s, sizeof opt_step_s, "%lld", (long long)(opt ? eb_optimizer_step_count(opt) : 0));
    eb_st_meta meta[33];
    int n = 0;
    for (int i = 0; i < c->n_meta && n < 29; i++) meta[n++] = c->meta[i];
    meta[n++] = (eb_st_meta){"ebood.epoch", epoch_s};
    meta[n++] = (eb_st_meta){"ebood.steps", step_s};
    meta[n++] = (eb_st_meta){"ebood.optimizer_step", opt_step_s};
    char *log = c->log ? cJSON_PrintUnformatted(c->log) : NULL;
    if (log) meta[n++] = (eb_st_meta){"ebood.train_log", log};
    eb_st_tensor state[2];
    memset(state, 0, sizeof state);
    int n_tensors = 0;
    if (opt && eb_optimizer_state_size(opt) > 0)
        state[n_tensors++] = (eb_st_tensor){.name = "optimizer.state",
                                            .dtype = EB_ST_F32,
                                            .ndim = 1,
                                            .shape = {eb_optimizer_state_size(opt)},
                                            .data = eb_optimizer_state((eb_optimizer *)opt),
                                            .nbytes = (size_t)eb_optimizer_state_size(opt) * sizeof(float)};
    if (has) state[n_tensors++] = objective_state;
    st = eb_model_save_with(m, c->path, meta, n, state, n_tensors, err);
    free(owned);
    free(log);
    return st;
}

/* Every `every` epochs, and always at the end of the run (with the optimizer state, so that --resume
 * can continue a stopped run or extend a finished one). */
eb_status eb__checkpoint_on_epoch_end(void *ctx, eb_model *m, const eb_train_epoch_info *info,
                                      eb_error *err) {
    eb__checkpoint *c = ctx;
    eb_status st = eb_objective_run_epoch_end(c->objective, m, info, err);
    if (st) return st;
    cJSON *last = c->log ? cJSON_GetArrayItem(c->log, cJSON_GetArraySize(c->log) - 1) : NULL;
    bool partial = last && cJSON_GetNumberValue(cJSON_GetObjectItem(last, "epoch")) == (double)info->epoch;
    cJSON *e = c->log && !partial ? cJSON_CreateObject() : NULL; /* completed epochs only */
    if (e) {
        cJSON_AddNumberToObject(e, "epoch", (double)info->epoch);
        cJSON_AddNumberToObject(e, "step", (double)info->step);
        cJSON_AddNumberToObject(e, "loss", info->loss);
        if (info->accuracy >= 0) cJSON_AddNumberToObject(e, "accuracy", info->accuracy);
        cJSON_AddNumberToObject(e, "lr", (double)eb_schedule_lr(c->schedule, info->step));
        cJSON_AddItemToArray(c->log, e);
    }
    if (!info->final && (c->every <= 0 || info->epoch % c->every != 0)) return EB_OK;
    return save_checkpoint(c, m, info->epoch, info->step, info->optimizer, err);
}

/* The checkpoint's training state into r and the model; the caller checked that it has one. */
static eb_status restore(const eb__checkpoint *c, eb_model *m, const eb_model *saved,
                         const eb_safetensors *file, eb_train_resume *r, float **state, eb_error *err) {
    const eb_st_tensor *t = eb_safetensors_find(file, "optimizer.state");
    r->epoch = strtoll(eb_safetensors_meta(file, "ebood.epoch"), NULL, 10);
    r->optimizer_step = strtoll(eb_safetensors_meta(file, "ebood.optimizer_step"), NULL, 10);
    r->optimizer_state_size = t ? t->shape[0] : 0;
    *state = NULL;
    eb_status st = EB_OK;
    if (t && !(*state = malloc(t->nbytes))) st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st && t) st = eb_safetensors_get_f32(file, "optimizer.state", 1, t->shape, *state, err);
    if (!st) st = eb_objective_run_restore(c->objective, file, c->path, err);
    r->optimizer_state = *state;
    if (st) return st;
    memcpy(m->params.data, saved->params.data, (size_t)m->params.size * sizeof(float));
    memcpy(m->buffers.data, saved->buffers.data, (size_t)m->buffers.size * sizeof(float));
    /* the log goes on from the checkpoint's, up to the resumed epoch */
    cJSON *prev_log = cJSON_Parse(eb_safetensors_meta(file, "ebood.train_log"));
    for (cJSON *e = cJSON_IsArray(prev_log) ? prev_log->child : NULL; e && c->log; e = e->next)
        if (cJSON_GetNumberValue(cJSON_GetObjectItem(e, "epoch")) <= (double)r->epoch)
            cJSON_AddItemToArray(c->log, cJSON_Duplicate(e, true));
    cJSON_Delete(prev_log);
    return EB_OK;
}

eb_status eb__checkpoint_resume(eb__checkpoint *c, eb_model *m, const char *args_json, eb_train_resume *r,
                                float **state, bool *resumed, eb_error *err) {
    *resumed = false;
    const char *path = c->path;
    if (access(path, F_OK) != 0) return EB_OK;
    eb_model *saved = NULL;
    eb_safetensors *file = NULL;
    eb_status st = eb_model_load_with_file(path, NULL, &saved, &file, err);
    if (st) return st;
    char *want = eb_model_config_json(m), *have = eb_model_config_json(saved);
    const char *saved_args = eb_safetensors_meta(file, "ebood.train_args");
    if (saved->kind != m->kind || !want || !have || strcmp(want, have) != 0) {
        st = eb_error_set(err, EB_ERR_ARG, "%s: cannot resume: it holds a %s %s, this run builds a %s %s",
                          path, eb_model_kind_name(saved->kind), have ? have : "",
                          eb_model_kind_name(m->kind), want ? want : "");
    } else if (!saved_args || !eb_safetensors_meta(file, "ebood.epoch") ||
               !eb_safetensors_meta(file, "ebood.optimizer_step")) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: cannot resume: no training state in the checkpoint", path);
    } else if (strcmp(saved_args, args_json) != 0) {
        st = eb_error_set(err, EB_ERR_ARG, "%s: cannot resume: it was trained with other settings: %s", path,
                          saved_args);
    } else {
        st = restore(c, m, saved, file, r, state, err);
        *resumed = !st;
    }
    free(want);
    free(have);
    eb_model_free(saved);
    eb_safetensors_free(file);
    return st;
}
