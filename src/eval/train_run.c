/* eb_train_run (include/ebood/train.h): one training run from a resolved spec — the model (built or
 * adopted from --init), the auxiliary outliers (energy-ft's margin search on a held-out slice, the sampler),
 * the objective's setups, the checkpoint with --resume (train_checkpoint.c), the loop (eb_train /
 * eb_train_source) and the validation accuracy. */
#include "eval/train_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a run owns besides the caller's data. */
typedef struct train_job {
    eb_train_spec *s;
    eb_objective_spec objective; /* the spec's, with energy-ft's chosen margins */
    eb_train_plan plan;
    bool images;
    int64_t n_train;
    eb_model *model;
    eb_image_loader_params lp;
    eb_image_loader *loader;
    eb_batch_source src;
    eb_image_transforms id_transforms, norm; /* the ID augmentation; the mapping to input space */
    eb_dataset val;                          /* images: the validation split as rows */
    eb_image_set id_view, id_val_view, aux_val;
    eb_objective_run *obj;
    eb_aux_sampler *aux_sampler;
    eb_batch_source aux_src;
    cJSON *grid_results;
} train_job;

static void job_free(train_job *j) {
    eb_objective_run_free(j->obj);
    eb_aux_sampler_free(j->aux_sampler);
    eb_image_set_free(&j->aux_val);
    cJSON_Delete(j->grid_results);
    eb_image_loader_free(j->loader);
    eb_dataset_free(&j->val);
    eb_model_free(j->model);
    eb_model_free(j->s->init);
    j->s->init = NULL;
}

static void note(const eb_train_spec *s, const char *line) {
    if (s->note) s->note(s->note_ctx, line);
}

/* --init: the checkpoint's model (architecture, parameters and buffers; e.g. one imported from PyTorch by
 * scripts/torch_import.py) becomes this run's, if it takes the data's in_dim inputs and gives the out_dim
 * outputs the objective needs. */
static eb_status adopt_init(train_job *j, int64_t in_dim, int64_t out_dim, eb_error *err) {
    eb_train_spec *s = j->s;
    if (eb_model_in_dim(s->init) != in_dim || eb_model_out_dim(s->init) != out_dim)
        return eb_error_set(err, EB_ERR_SHAPE,
                            "--init %s: the model takes %lld inputs and gives %lld outputs, this data and "
                            "objective need %lld and %lld",
                            s->init_path, (long long)eb_model_in_dim(s->init),
                            (long long)eb_model_out_dim(s->init), (long long)in_dim, (long long)out_dim);
    j->model = s->init;
    s->init = NULL;
    return EB_OK;
}

/* Images: the model (built or adopted), the augmenting loader, the validation rows. */
static eb_status image_model(train_job *j, eb_rng *init, eb_error *err) {
    const eb_train_spec *s = j->s;
    const eb_image_set *im = s->data.images;
    const eb_train_settings *a = &j->plan.settings;
    const int64_t out_dim = eb_objective_out_dim(&j->objective, im->num_classes);
    eb_status st;
    if (s->init) {
        st = adopt_init(j, (int64_t)im->c * im->h * im->w, out_dim, err);
    } else {
        const eb_model_kind kind = j->plan.kind;
        eb_image_config ic = eb_image_default_config(kind, im->c, im->h, im->w, out_dim);
        if (s->model.depth) ic.depth = (int)s->model.depth;
        const bool wide = kind == EB_MODEL_WRN || kind == EB_MODEL_WRN_EBM;
        ic.widen = wide ? (int)(s->model.widen ? s->model.widen : 2) : 0;
        ic.dropout = wide ? j->plan.mlp.dropout : 0.0f;
        ic.bottleneck = isnan(s->model.bottleneck) ? 0.0f : (float)s->model.bottleneck;
        st = eb_image_model_new(kind, &ic, init, NULL, &j->model, err);
    }
    if (st) return st;
    eb_image_loader_params *lp = &j->lp;
    lp->batch_size = a->batch;
    lp->drop_last = !a->keep_last;
    lp->seed = (uint64_t)a->seed;
    lp->transforms.normalize = true;
    memcpy(lp->transforms.mean, s->data.mean, sizeof s->data.mean);
    memcpy(lp->transforms.std, s->data.std, sizeof s->data.std);
    lp->transforms.crop_padding = (int)a->crop_padding;
    lp->transforms.hflip = a->hflip;
    lp->transforms.resized_crop = a->resized_crop;
    lp->transforms.noise_std = (float)a->noise_std;
    j->id_transforms = lp->transforms;
    st = eb_image_loader_new(im, lp, &j->loader, err);
    if (st) return st;
    j->src = eb_image_loader_as_source(j->loader, eb_model_in_dim(j->model));
    return eb_image_set_to_dataset(s->data.images_val, s->data.mean, s->data.std, &j->val, err);
}

/* Tabular rows: the model (adopted, the objective's own, or an MLP). */
static eb_status rows_model(train_job *j, eb_rng *init, eb_error *err) {
    const eb_train_spec *s = j->s;
    const eb_dataset *d = s->data.rows;
    if (s->init) return adopt_init(j, d->dim, eb_objective_out_dim(&j->objective, d->num_classes), err);
    if (eb_objective_builds_model(&j->objective))
        return eb_objective_model_new(&j->objective, d->dim, d->num_classes, init, &j->model, err);
    eb_mlp_config mc = j->plan.mlp;
    mc.in_dim = d->dim;
    mc.out_dim = eb_objective_out_dim(&j->objective, d->num_classes);
    eb_status st = eb_mlp_new(&mc, init, NULL, &j->model, err);
    char text[256], line[300];
    eb_objective_model_note(&j->objective, j->plan.kind, mc.activation, text, sizeof text);
    if (!st && text[0]) {
        snprintf(line, sizeof line, "warning: %s", text);
        note(s, line);
    }
    return st;
}

/* The ID rows as views for the auxiliary sampler and the margin search (tabular: f32 sets of c = h = 1,
 * not freed), the input-space mapping, and energy-ft's held-out AUX slice. */
static eb_status aux_views(train_job *j, eb_error *err) {
    const eb_train_data *d = &j->s->data;
    j->norm = eb_image_transforms_default();
    if (j->images) {
        j->norm.normalize = true;
        memcpy(j->norm.mean, d->mean, sizeof d->mean);
        memcpy(j->norm.std, d->std, sizeof d->std);
    }
    if (!d->aux) return EB_OK;
    if (j->images) {
        j->id_view = *d->images;
        j->id_val_view = *d->images_val;
    } else {
        const eb_dataset *t = d->rows, *v = d->rows_val;
        j->id_view = (eb_image_set){NULL, t->x, NULL, t->n, 1, 1, (int)t->dim, 0};
        if (v) j->id_val_view = (eb_image_set){NULL, v->x, NULL, v->n, 1, 1, (int)v->dim, 0};
    }
    return j->plan.margin_search ? eb__aux_holdout(d->aux, (uint64_t)j->plan.settings.seed, &j->aux_val, err)
                                 : EB_OK;
}

/* energy-ft's margins from a grid, on validation data only (003 §4). */
static eb_status margin_search(train_job *j, eb_error *err) {
    const eb_train_spec *s = j->s;
    j->grid_results = cJSON_CreateArray();
    const eb__margin_search ms = {.grid = j->plan.margin_grid,
                                  .model = j->model,
                                  .tp = j->plan.train,
                                  .id = &j->id_view,
                                  .loader = j->images ? &j->lp : NULL,
                                  .labels = j->images ? NULL : s->data.rows->y,
                                  .id_val = &j->id_val_view,
                                  .aux_pool = s->data.aux,
                                  .aux_val = &j->aux_val,
                                  .norm = j->norm,
                                  .augment = j->images ? &j->id_transforms : NULL,
                                  .per_epoch = j->plan.batches_per_epoch,
                                  .seed = (uint64_t)j->plan.settings.seed,
                                  .note = s->quiet ? NULL : s->note,
                                  .note_ctx = s->note_ctx};
    return eb__margin_search_run(&ms, &j->objective, j->grid_results, err);
}

/* The model, the objective's run and its setups on the data, the auxiliary sampler. */
static eb_status setup(train_job *j, eb_error *err) {
    const eb_train_spec *s = j->s;
    eb_rng init;
    eb_rng_seed(&init, (uint64_t)j->plan.settings.seed);
    j->id_transforms = eb_image_transforms_default();
    j->lp = eb_image_loader_default_params();
    eb_status st = j->images ? image_model(j, &init, err) : rows_model(j, &init, err);
    if (!st) st = eb_objective_model_adjust(&j->objective, &j->model, err);
    if (!st) st = aux_views(j, err);
    if (!st && j->plan.margin_search) st = margin_search(j, err);
    /* each rank's sampler chains and replay buffer draw from its own streams (rank 0: the seed's) */
    if (!st)
        st = eb_objective_run_new(&j->objective, j->model, &j->plan.train.schedule,
                                  eb_dist_seed(s->dist, (uint64_t)j->plan.settings.seed), &j->obj, err);
    if (!st) { /* the method's setup on the ID training set (CIDER's prototypes …) */
        const eb_dataset *r = s->data.rows;
        const eb_image_set id_set =
            j->images ? *s->data.images
                      : (eb_image_set){NULL, r->x, r->y,        r->n,
                                       1,    1,    (int)r->dim, r->num_classes}; /* a view: not freed */
        st = eb_objective_run_data_setup(j->obj, j->model, &id_set, &j->norm, err);
    }
    if (!st && s->data.aux) {
        st = eb__aux_sampler_setup(j->obj, j->model, &j->id_view, s->data.aux, &j->norm,
                                   j->images ? &j->id_transforms : NULL, j->plan.batches_per_epoch,
                                   (uint64_t)j->plan.settings.seed, &j->aux_sampler, err);
        if (!st) {
            j->aux_src = eb_aux_sampler_as_source(j->aux_sampler);
            j->plan.train.aux = &j->aux_src;
        }
    }
    return st;
}

/* The class names as a JSON array (none for a scalar EBM), malloc'd. */
static char *classes_json(const train_job *j) {
    const eb_dataset *class_src = j->images ? NULL : j->s->data.rows;
    cJSON *classes = cJSON_CreateArray();
    int n_classes = eb_model_out_dim(j->model) > 1 ? (int)eb_model_out_dim(j->model) : 0;
    for (int c = 0; c < n_classes; c++) {
        char name[16];
        snprintf(name, sizeof name, "%d", c);
        cJSON_AddItemToArray(
            classes,
            cJSON_CreateString(class_src && class_src->class_names ? class_src->class_names[c] : name));
    }
    char *text = cJSON_PrintUnformatted(classes);
    cJSON_Delete(classes);
    return text;
}

/* Image inputs: the normalisation the model was trained with, for eval/extract/fit. */
static void normalization_json(const eb_train_data *d, char *buf, size_t size) {
    int used = snprintf(buf, size, "{\"mean\": [");
    for (int c = 0; c < d->images->c; c++)
        used += snprintf(buf + used, size - (size_t)used, "%s%.9g", c ? ", " : "", (double)d->mean[c]);
    used += snprintf(buf + used, size - (size_t)used, "], \"std\": [");
    for (int c = 0; c < d->images->c; c++)
        used += snprintf(buf + used, size - (size_t)used, "%s%.9g", c ? ", " : "", (double)d->std[c]);
    snprintf(buf + used, size - (size_t)used, "]}");
}

/* Accuracy of m on rows x[n, dim] with labels. */
static eb_status accuracy_of(eb_model *m, const eb_dataset *d, double *acc, eb_error *err) {
    float *logits = malloc((size_t)(d->n * eb_model_out_dim(m)) * sizeof *logits);
    eb_status st = logits ? eb_model_predict(m, d->x, d->n, 256, logits, NULL, err)
                          : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st) st = eb_accuracy(logits, d->n, eb_model_out_dim(m), d->y, acc, err);
    free(logits);
    return st;
}

/* --resume: the checkpoint's state into the model and tp (the notes on rank 0 unless quiet). */
static eb_status resume(train_job *j, eb__checkpoint *ck, const char *args_json, eb_train_resume *r,
                        float **state, bool *resumed, eb_error *err) {
    const eb_train_spec *s = j->s;
    eb_status st = eb__checkpoint_resume(ck, j->model, args_json ? args_json : "", r, state, resumed, err);
    if (!st && *resumed) j->plan.train.resume = r;
    char line[4200];
    if (st || s->quiet || eb_dist_rank(s->dist) != 0) return st;
    if (!*resumed)
        snprintf(line, sizeof line, "no checkpoint at %s: starting from scratch", s->output);
    else
        snprintf(line, sizeof line, "resuming %s after epoch %lld", s->output, (long long)r->epoch);
    note(s, line);
    return EB_OK;
}

/* Provenance, --resume, the loop with its checkpoints, the validation accuracy. */
static eb_status train(train_job *j, eb_train_outcome *out, eb_error *err) {
    const eb_train_spec *s = j->s;
    eb_train_params *tp = &j->plan.train;
    char seed_s[32], split_s[32], opt_s[256], sched_s[256], norm_s[256] = "";
    snprintf(seed_s, sizeof seed_s, "%lld", (long long)j->plan.settings.seed);
    snprintf(split_s, sizeof split_s, "%lld", (long long)j->plan.settings.split_seed);
    eb_optimizer_params_format(&tp->optimizer, opt_s, sizeof opt_s);
    eb_schedule_format(&tp->schedule, sched_s, sizeof sched_s);
    if (j->images) normalization_json(&s->data, norm_s, sizeof norm_s);
    char *args_json = eb__train_args_json(s, &j->plan, j->obj->settings_json), *classes_s = classes_json(j);
    const char *recipe_s = s->data.recipe_json;
    const eb_st_meta meta[] = {
        {"ebood.data", s->data.name},
        {"ebood.seed", seed_s},
        {"ebood.split_seed", split_s},
        {"ebood.optimizer", opt_s},
        {"ebood.schedule", sched_s},
        {"ebood.classes", classes_s ? classes_s : "[]"},
        {"ebood.train_args", args_json ? args_json : "{}"},
        {"ebood.objective", eb_objective_spec_name(&j->obj->spec)},
        {"ebood.objective_config", j->obj->settings_json},
        /* last: how inputs enter the model — images: the normalisation; a .csv/.arff: the recipe of its
         * split (kept columns, z-score, fractions, held-out class); built-in tabular data: nothing */
        j->images ? (eb_st_meta){"ebood.normalize", norm_s} : (eb_st_meta){"ebood.tabular", recipe_s},
    };
    eb__checkpoint ck = {s->output,
                         meta,
                         (int)(sizeof meta / sizeof meta[0]) - (j->images || recipe_s ? 0 : 1),
                         j->plan.checkpoint_every,
                         j->obj,
                         &tp->schedule,
                         cJSON_CreateArray(),
                         eb_dist_rank(s->dist) == 0};
    tp->on_epoch_end = eb__checkpoint_on_epoch_end;
    tp->stop_after_epochs = s->stop_after;
    tp->on_epoch_end_ctx = &ck;
    eb_train_resume resume_state = {0};
    float *opt_state = NULL;
    eb_status st =
        s->resume ? resume(j, &ck, args_json, &resume_state, &opt_state, &out->resumed, err) : EB_OK;
    const eb_dataset *r = s->data.rows;
    if (!st && j->images)
        st = eb_train_source(j->model, &j->src, j->obj->fn, j->obj->ctx, tp, &out->result, err);
    else if (!st)
        st = eb_train(j->model, r->x, r->y, r->n, r->dim, j->obj->fn, j->obj->ctx, tp, &out->result, err);
    const eb_dataset *vset = j->images ? &j->val : s->data.rows_val;
    if (!st && vset && vset->n > 0 && eb_model_out_dim(j->model) > 1)
        st = accuracy_of(j->model, vset, &out->val_acc, err);
    cJSON_Delete(ck.log);
    free(opt_state);
    free(classes_s);
    free(args_json);
    return st;
}

eb_status eb_train_run(eb_train_spec *s, eb_train_outcome *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    out->val_acc = -1.0;
    train_job j;
    memset(&j, 0, sizeof j);
    j.s = s;
    j.objective = s->objective;
    j.images = s->data.images != NULL;
    j.n_train = j.images ? s->data.images->n : s->data.rows ? s->data.rows->n : 0;
    eb_status st = j.images || s->data.rows ? EB_OK : eb_error_set(err, EB_ERR_ARG, "no training data");
    if (!st) st = eb_train_spec_resolve(s, j.images, j.n_train, &j.plan, err);
    if (!st) st = setup(&j, err);
    if (!st) st = train(&j, out, err);
    if (!st) {
        out->kind = j.model->kind;
        snprintf(out->objective, sizeof out->objective, "%s", eb_objective_spec_name(&j.obj->spec));
        cJSON *summary = cJSON_CreateObject();
        eb_objective_run_summary(j.obj, summary);
        if (j.grid_results) {
            cJSON_AddItemToObject(summary, "margin_grid", j.grid_results);
            j.grid_results = NULL;
        }
        out->summary = summary;
    }
    job_free(&j);
    return st;
}

void eb_train_outcome_summary(const eb_train_outcome *o, void *cjson_object) {
    for (const cJSON *e = o->summary ? ((const cJSON *)o->summary)->child : NULL; e; e = e->next)
        cJSON_AddItemToObject(cjson_object, e->string, cJSON_Duplicate(e, true));
}

void eb_train_outcome_free(eb_train_outcome *o) {
    cJSON_Delete(o->summary);
    o->summary = NULL;
}
