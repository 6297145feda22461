/* energy-ft's margin search (train_impl.h; 003_77034dadf9bef685.txt §4 "Training details") and the
 * auxiliary sampler's setup shared with the ordinary run of eb_train_run. */
#include "eval/train_impl.h"

#include <ebood/eval.h>
#include <ebood/outliers.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registry rows of --m-in and --m-out (NULL when the objective has none). */
static const eb_param_desc *margin_row(const eb_objective_spec *spec, const char *key) {
    const eb_param_desc *rows = NULL;
    const int n = eb_objective_params(spec->method, &rows);
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].key, key) == 0) return &rows[i];
    return NULL;
}

bool eb__margins_grid(const eb_objective_spec *spec) {
    const eb_param_desc *d = margin_row(spec, "m_in");
    char buf[32] = "";
    if (d) eb_param_format(d, spec->params, buf, sizeof buf);
    return strcmp(buf, "grid") == 0;
}

eb_status eb__aux_holdout(eb_image_set *pool, uint64_t seed, eb_image_set *val, eb_error *err) {
    memset(val, 0, sizeof *val);
    if (pool->n < 2)
        return eb_error_set(err, EB_ERR_ARG,
                            "--m-in grid: the AUX pool needs at least 2 rows (a slice is held out for "
                            "validation), it has %lld",
                            (long long)pool->n);
    int64_t n_val = pool->n / 10 < 5000 ? pool->n / 10 : 5000;
    if (n_val < 1) n_val = 1;
    int64_t *perm = malloc((size_t)pool->n * sizeof *perm);
    if (!perm) return eb_error_set(err, EB_ERR_NOMEM, "out of memory (AUX hold-out)");
    eb_rng r;
    eb_rng_seed(&r, seed ^ 0x686f6c64ull); /* "hold" */
    eb_rng_permutation(&r, pool->n, perm);
    eb_image_set rest;
    memset(&rest, 0, sizeof rest);
    eb_status st = eb_image_set_subset(pool, perm, n_val, val, err);
    if (!st) st = eb_image_set_subset(pool, perm + n_val, pool->n - n_val, &rest, err);
    free(perm);
    if (st) {
        eb_image_set_free(val);
        return st;
    }
    eb_image_set_free(pool);
    *pool = rest;
    return EB_OK;
}

eb_status eb__aux_sampler_setup(eb_objective_run *obj, eb_model *model, const eb_image_set *id,
                                const eb_image_set *pool, const eb_image_transforms *norm,
                                const eb_image_transforms *augment, int64_t per_epoch, uint64_t seed,
                                eb_aux_sampler **out, eb_error *err) {
    eb_aux_params ap = eb_aux_default_params();
    if (augment) ap.transforms = *augment; /* the ID batches' augmentation (the codes augment outliers too) */
    eb_status st = eb_objective_run_aux_setup(obj, model, id, pool, norm, per_epoch, &ap, err);
    ap.seed = seed ^ 0xa0c5eedull;
    if (!st) st = eb_aux_sampler_new(pool, &ap, out, err);
    return st;
}

/* Energy scores −E of every row of set (the validation score of the search). */
static eb_status energy_scores(eb_model *m, const eb_image_set *set, const eb_image_transforms *t,
                               float **out, eb_error *err) {
    int64_t *rows = malloc((size_t)set->n * sizeof *rows);
    float *s = malloc((size_t)set->n * sizeof *s);
    eb_status st = rows && s ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory (validation scores)");
    for (int64_t i = 0; !st && i < set->n; i++) rows[i] = i;
    if (!st) st = eb_energy_rows(m, set, rows, set->n, t, s, err);
    for (int64_t i = 0; !st && i < set->n; i++) s[i] = -s[i];
    free(rows);
    if (st) free(s);
    *out = st ? NULL : s;
    return st;
}

/* One fine-tune of s->model (already at the start) with margins (m_in, m_out), then its validation
 * FPR95 and AUROC. */
static eb_status trial(const eb__margin_search *s, const eb_objective_spec *base, float m_in, float m_out,
                       double *fpr95, double *auroc, eb_error *err) {
    eb_objective_spec spec = *base;
    char text[32];
    snprintf(text, sizeof text, "%.9g", (double)m_in);
    eb_status st = eb_param_parse(margin_row(&spec, "m_in"), text, spec.params, err);
    snprintf(text, sizeof text, "%.9g", (double)m_out);
    if (!st) st = eb_param_parse(margin_row(&spec, "m_out"), text, spec.params, err);
    eb_objective_run *obj = NULL;
    eb_aux_sampler *sampler = NULL;
    eb_image_loader *loader = NULL;
    if (!st) st = eb_objective_run_new(&spec, s->model, &s->tp.schedule, s->seed, &obj, err);
    if (!st)
        st = eb__aux_sampler_setup(obj, s->model, s->id, s->aux_pool, &s->norm, s->augment, s->per_epoch,
                                   s->seed, &sampler, err);
    eb_train_params tp = s->tp;
    eb_batch_source aux = {0};
    if (!st) {
        aux = eb_aux_sampler_as_source(sampler);
        tp.aux = &aux;
        tp.progress = false;
    }
    eb_train_result tr;
    if (!st && s->loader) {
        st = eb_image_loader_new(s->id, s->loader, &loader, err);
        eb_batch_source src = {0};
        if (!st) src = eb_image_loader_as_source(loader, eb_model_in_dim(s->model));
        if (!st) st = eb_train_source(s->model, &src, obj->fn, obj->ctx, &tp, &tr, err);
    } else if (!st) {
        st = eb_train(s->model, s->id->f32, s->labels, s->id->n, eb_image_set_image_size(s->id), obj->fn,
                      obj->ctx, &tp, &tr, err);
    }
    float *s_id = NULL, *s_aux = NULL;
    if (!st) st = energy_scores(s->model, s->id_val, &s->norm, &s_id, err);
    if (!st) st = energy_scores(s->model, s->aux_val, &s->norm, &s_aux, err);
    if (!st) st = eb_fpr95_hendrycks(s_id, s->id_val->n, s_aux, s->aux_val->n, fpr95, err);
    if (!st) st = eb_auroc(s_id, s->id_val->n, s_aux, s->aux_val->n, auroc, err);
    free(s_id);
    free(s_aux);
    eb_image_loader_free(loader);
    eb_aux_sampler_free(sampler);
    eb_objective_run_free(obj);
    return st;
}

/* The starting model's mean energies on the first 10,000 ID-train and AUX rows (as --m-in auto), for a
 * grid given relative to them; eb_mean_energy's errors prefixed "--margin-grid: ". */
static eb_status starting_means(const eb__margin_search *s, double *mean_id, double *mean_aux,
                                eb_error *err) {
    const int64_t n_id = s->id->n < 10000 ? s->id->n : 10000,
                  n_aux = s->aux_pool->n < 10000 ? s->aux_pool->n : 10000;
    int64_t *rows = malloc((size_t)(n_id > n_aux ? n_id : n_aux) * sizeof *rows);
    if (!rows) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < (n_id > n_aux ? n_id : n_aux); i++) rows[i] = i;
    eb_status st = eb_mean_energy(s->model, s->id, rows, n_id, &s->norm, mean_id, err);
    if (!st) st = eb_mean_energy(s->model, s->aux_pool, rows, n_aux, &s->norm, mean_aux, err);
    free(rows);
    return st ? eb_error_set(err, st, "--margin-grid: %s", err->message) : EB_OK;
}

/* One trial's line (s->note) and its JSON entry appended to results (if given; returned, else NULL). */
static cJSON *report_trial(const eb__margin_search *s, void *results, float m_in, float m_out, double fpr,
                           double auroc) {
    if (s->note) {
        char line[160];
        snprintf(line, sizeof line, "margins m_in %g, m_out %g: validation FPR95 %.2f%%, AUROC %.2f%%",
                 (double)m_in, (double)m_out, 100.0 * fpr, 100.0 * auroc);
        s->note(s->note_ctx, line);
    }
    cJSON *o = results ? cJSON_CreateObject() : NULL;
    if (o) {
        cJSON_AddNumberToObject(o, "m_in", (double)m_in);
        cJSON_AddNumberToObject(o, "m_out", (double)m_out);
        cJSON_AddNumberToObject(o, "val_fpr95", fpr);
        cJSON_AddNumberToObject(o, "val_auroc", auroc);
        cJSON_AddBoolToObject(o, "chosen", false);
        cJSON_AddItemToArray(results, o);
    }
    return o;
}

/* The chosen margins into spec's parameters (as --m-in/--m-out would give them). */
static eb_status set_margins(const eb__margin_search *s, eb_objective_spec *spec, float m_in, float m_out,
                             double fpr, eb_error *err) {
    char text[32];
    snprintf(text, sizeof text, "%.9g", (double)m_in);
    eb_status st = eb_param_parse(margin_row(spec, "m_in"), text, spec->params, err);
    snprintf(text, sizeof text, "%.9g", (double)m_out);
    if (!st) st = eb_param_parse(margin_row(spec, "m_out"), text, spec->params, err);
    if (!st && s->note) {
        char line[128];
        snprintf(line, sizeof line, "chose m_in %g, m_out %g (validation FPR95 %.2f%%)", (double)m_in,
                 (double)m_out, 100.0 * fpr);
        s->note(s->note_ctx, line);
    }
    return st;
}

eb_status eb__margin_search_run(const eb__margin_search *s, eb_objective_spec *spec, void *results,
                                eb_error *err) {
    if (!margin_row(spec, "m_in") || !margin_row(spec, "m_out"))
        return eb_error_set(err, EB_ERR_ARG, "--margin-grid: --objective %s has no margins",
                            eb_objective_spec_name(spec));
    if (!s->id_val || s->id_val->n < 1)
        return eb_error_set(err, EB_ERR_ARG,
                            "--m-in grid needs an ID validation split (built-in data sets and image data "
                            "have one; this --data has none)");
    double mean_id = NAN, mean_aux = NAN;
    eb_status st;
    if (eb_margin_grid_needs_means(s->grid) && (st = starting_means(s, &mean_id, &mean_aux, err))) return st;
    eb_margin_grid g;
    if ((st = eb_margin_grid_parse(s->grid, mean_id, mean_aux, &g, err)))
        return eb_error_set(err, st, "--margin-grid: %s", err->message);
    /* the start, restored before every pair and at the end */
    eb_model *m = s->model;
    float *params = malloc((size_t)(m->params.size + m->buffers.size + 1) * sizeof *params);
    if (!params) return eb_error_set(err, EB_ERR_NOMEM, "out of memory (the starting weights)");
    memcpy(params, m->params.data, (size_t)m->params.size * sizeof *params);
    memcpy(params + m->params.size, m->buffers.data, (size_t)m->buffers.size * sizeof *params);
    double best_fpr = INFINITY, best_auroc = -INFINITY;
    float best_in = NAN, best_out = NAN;
    cJSON *chosen = NULL;
    for (int i = 0; i < g.n_in && !st; i++)
        for (int j = 0; j < g.n_out && !st; j++) {
            if (!(g.m_in[i] < g.m_out[j])) continue;
            double fpr = NAN, auroc = NAN;
            st = trial(s, spec, g.m_in[i], g.m_out[j], &fpr, &auroc, err);
            memcpy(m->params.data, params, (size_t)m->params.size * sizeof *params);
            memcpy(m->buffers.data, params + m->params.size, (size_t)m->buffers.size * sizeof *params);
            if (st) {
                eb_error_set(err, st, "margin search (m_in %g, m_out %g): %s", (double)g.m_in[i],
                             (double)g.m_out[j], err->message);
                break;
            }
            cJSON *o = report_trial(s, results, g.m_in[i], g.m_out[j], fpr, auroc);
            if (fpr < best_fpr || (fpr == best_fpr && auroc > best_auroc)) {
                best_fpr = fpr, best_auroc = auroc;
                best_in = g.m_in[i], best_out = g.m_out[j];
                chosen = o;
            }
        }
    free(params);
    if (st) return st;
    if (chosen) cJSON_ReplaceItemInObject(chosen, "chosen", cJSON_CreateBool(true));
    return set_margins(s, spec, best_in, best_out, best_fpr, err);
}
