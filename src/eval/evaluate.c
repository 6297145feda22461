/* Evaluations: score ID and OOD logits with each logit score, then compute every metric per set. */
#include <ebood/eval.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eb_status eb_eval_logit_scores(const eb_logit_set *id, const int32_t *id_labels, const eb_logit_set *ood,
                               int n_ood, int64_t n_classes, const eb_logit_score *kinds, int n_kinds,
                               float temperature, eb_eval_report *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (n_ood < 1 || n_ood > EB_EVAL_MAX_SETS || n_kinds < 1 || n_kinds > EB_EVAL_MAX_SCORES)
        return eb_error_set(err, EB_ERR_ARG, "eval: need 1..%d OOD sets and 1..%d scores (got %d and %d)",
                            EB_EVAL_MAX_SETS, EB_EVAL_MAX_SCORES, n_ood, n_kinds);
    out->n_id = id->n;
    out->id_acc = NAN;
    eb_status st = EB_OK;
    if (id_labels && (st = eb_accuracy(id->logits, id->n, n_classes, id_labels, &out->id_acc, err)))
        return st;

    int64_t max_n = id->n;
    for (int s = 0; s < n_ood; s++) max_n = ood[s].n > max_n ? ood[s].n : max_n;
    float *s_id = malloc((size_t)(id->n ? id->n : 1) * sizeof *s_id);
    float *s_ood = malloc((size_t)(max_n ? max_n : 1) * sizeof *s_ood);
    if (!s_id || !s_ood) st = eb_error_set(err, EB_ERR_NOMEM, "eval: out of memory");
    for (int k = 0; k < n_kinds && !st; k++) {
        eb_eval_score_result *sr = &out->scores[out->n_scores++];
        snprintf(sr->score, sizeof sr->score, "%s", eb_logit_score_name(kinds[k]));
        if ((st = eb_logit_scores(kinds[k], id->logits, id->n, n_classes, temperature, s_id, err))) break;
        for (int s = 0; s < n_ood && !st; s++) {
            eb_eval_set_result *r = &sr->sets[sr->n_sets++];
            snprintf(r->name, sizeof r->name, "%s", ood[s].name);
            r->n_ood = ood[s].n;
            st = eb_logit_scores(kinds[k], ood[s].logits, ood[s].n, n_classes, temperature, s_ood, err);
            if (!st) st = eb_ood_metrics_compute(s_id, id->n, s_ood, ood[s].n, &r->metrics, err);
            if (!st) st = eb_ebm_paper_aupr(s_id, id->n, s_ood, ood[s].n, &r->ebm_paper_aupr, err);
        }
    }
    free(s_id);
    free(s_ood);
    return st;
}

/* Logits (when `logits`) and features (when `features`) of a set of rows, computed once. */
typedef struct predictions {
    float *logits, *features;
} predictions;

static eb_status predict_rows(eb_model *m, const eb_row_set *r, bool logits, bool features, int64_t batch,
                              predictions *p, eb_error *err) {
    const int64_t n = r->n > 0 ? r->n : 1;
    p->logits = logits ? malloc((size_t)(n * eb_model_out_dim(m)) * sizeof(float)) : NULL;
    p->features = features ? malloc((size_t)(n * eb_model_feature_dim(m)) * sizeof(float)) : NULL;
    if ((logits && !p->logits) || (features && !p->features))
        return eb_error_set(err, EB_ERR_NOMEM, "eval: out of memory");
    float *l = p->logits ? p->logits : malloc((size_t)(n * eb_model_out_dim(m)) * sizeof(float));
    eb_status st = l ? eb_model_predict(m, r->x, r->n, batch, l, p->features, err)
                     : eb_error_set(err, EB_ERR_NOMEM, "eval: out of memory");
    if (l != p->logits) free(l);
    return st;
}

static eb_detector_data detector_data(const eb_eval_spec *s, const eb_row_set *r, const predictions *p) {
    eb_model *m = s->model;
    return (eb_detector_data){.n = r->n,
                              .features = p->features,
                              .dim = eb_model_feature_dim(m),
                              .logits = p->logits,
                              .n_classes = eb_model_out_dim(m),
                              .labels = r->labels,
                              .inputs = r->x,
                              .input_dim = eb_model_in_dim(m),
                              .input_std = s->input_std,
                              .n_input_std = s->input_std ? s->n_input_std : 0,
                              .model = m};
}

eb_status eb_eval_detectors(eb_model *m, const eb_row_set *train, const eb_row_set *id, const eb_row_set *ood,
                            int n_ood, const eb_detector_kind *kinds, int n_kinds, const float *input_std,
                            int64_t n_input_std, eb_eval_report *out, eb_error *err) {
    return eb_eval_detectors_params(m, train, id, ood, n_ood, kinds, NULL, n_kinds, input_std, n_input_std,
                                    out, err);
}

eb_status eb_eval_add_scores(eb_eval_report *r, const char *name, const float *s_id, int64_t n_id,
                             const float *const *s_ood, const int64_t *n_ood, const char *const *ood_names,
                             int n_sets, eb_error *err) {
    if (r->n_scores >= EB_EVAL_MAX_SCORES)
        return eb_error_set(err, EB_ERR_ARG, "eval: %s: the report already holds %d scores", name,
                            EB_EVAL_MAX_SCORES);
    if (n_sets < 1 || n_sets > EB_EVAL_MAX_SETS)
        return eb_error_set(err, EB_ERR_ARG, "eval: %s: need 1..%d OOD sets, got %d", name, EB_EVAL_MAX_SETS,
                            n_sets);
    eb_eval_score_result *sr = &r->scores[r->n_scores];
    memset(sr, 0, sizeof *sr);
    snprintf(sr->score, sizeof sr->score, "%s", name);
    for (int s = 0; s < n_sets; s++) {
        eb_eval_set_result *res = &sr->sets[sr->n_sets++];
        snprintf(res->name, sizeof res->name, "%s", ood_names[s]);
        res->n_ood = n_ood[s];
        eb_status st = eb_ood_metrics_compute(s_id, n_id, s_ood[s], n_ood[s], &res->metrics, err);
        if (!st) st = eb_ebm_paper_aupr(s_id, n_id, s_ood[s], n_ood[s], &res->ebm_paper_aupr, err);
        if (st) return st;
    }
    r->n_scores++;
    return EB_OK;
}

eb_status eb_eval_detectors_params(eb_model *m, const eb_row_set *train, const eb_row_set *id,
                                   const eb_row_set *ood, int n_ood, const eb_detector_kind *kinds,
                                   const eb_detector_params *params, int n_kinds, const float *input_std,
                                   int64_t n_input_std, eb_eval_report *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (n_kinds < 1 || n_kinds > EB_EVAL_MAX_SCORES)
        return eb_error_set(err, EB_ERR_ARG, "eval: need 1..%d OOD sets and 1..%d detectors (got %d and %d)",
                            EB_EVAL_MAX_SETS, EB_EVAL_MAX_SCORES, n_ood, n_kinds);
    eb_detector *dets[EB_EVAL_MAX_SCORES] = {0};
    eb_status st = EB_OK;
    for (int k = 0; k < n_kinds && !st; k++) {
        eb_detector_params dp = params ? params[k] : eb_detector_default_params(kinds[k]);
        st = eb_detector_new(kinds[k], &dp, &dets[k], err);
    }
    const eb_eval_spec spec = {.model = m,
                               .id = id,
                               .ood = ood,
                               .n_ood = n_ood,
                               .train = train,
                               .detectors = dets,
                               .n_detectors = n_kinds,
                               .input_std = input_std,
                               .n_input_std = n_input_std};
    if (!st) st = eb_eval_run(&spec, out, NULL, err);
    for (int k = 0; k < n_kinds; k++) eb_detector_free(dets[k]);
    return st;
}

/* What fitting learns from: training features, labels or auxiliary outliers. A detector that needs none of
 * them only records dimensions, so it is fitted on the ID rows when no training rows are given. */
static const unsigned learn_needs = EB_NEEDS_FEATURES | EB_NEEDS_LABELS | EB_NEEDS_AUX;

/* Fits detector k (on the training rows if it learns, else on the ID rows), scores the ID rows and every
 * OOD set, and fills the report's entry sr. pred[0] train, [1] id, [2] aux, [3 + s] OOD set s. */
static eb_status eval_one(const eb_eval_spec *s, int k, const predictions *pred, float *s_id, float *s_ood,
                          eb_eval_score_result *sr, bool *detector_failed, eb_error *err) {
    eb_detector *det = s->detectors[k];
    const bool learns = (eb_detector_fit_needs(det) & learn_needs) != 0;
    if (learns && !s->train)
        return eb_error_set(err, EB_ERR_ARG, "eval: %s is fitted on training rows, but none were given",
                            eb_detector_kind_name(eb_detector_kind_of(det)));
    eb_detector_data fit = learns ? detector_data(s, s->train, &pred[0]) : detector_data(s, s->id, &pred[1]);
    if (s->aux) {
        fit.aux_features = pred[2].features;
        fit.n_aux = s->aux->n;
    }
    snprintf(sr->score, sizeof sr->score, "%s", eb_detector_kind_name(eb_detector_kind_of(det)));
    eb_status st = eb_detector_distribute(det, s->dist, false, err); /* mpirun: 1/N of a bank each */
    if (!st) st = eb_detector_fit(det, &fit, NULL, err);
    if (!st) st = eb_detector_distribute(det, s->dist, true, err);
    if (!st) {
        eb_detector_data d = detector_data(s, s->id, &pred[1]);
        d.labels = NULL; /* scores never see labels */
        st = eb_detector_score(det, &d, s_id, err);
    }
    if (!st && s->on_scores) s->on_scores(s->ctx, k, -1, s_id, s->id->n);
    for (int o = 0; o < s->n_ood && !st; o++) {
        eb_detector_data d = detector_data(s, &s->ood[o], &pred[3 + o]);
        d.labels = NULL;
        st = eb_detector_score(det, &d, s_ood, err);
        if (!st && s->on_scores) s->on_scores(s->ctx, k, o, s_ood, s->ood[o].n);
        if (st) break;
        eb_eval_set_result *r = &sr->sets[sr->n_sets++];
        snprintf(r->name, sizeof r->name, "%s", s->ood[o].name);
        r->n_ood = s->ood[o].n;
        st = eb_ood_metrics_compute(s_id, s->id->n, s_ood, s->ood[o].n, &r->metrics, err);
        if (!st) st = eb_ebm_paper_aupr(s_id, s->id->n, s_ood, s->ood[o].n, &r->ebm_paper_aupr, err);
        if (st) return st; /* a metric's error is not the detector's */
    }
    if (st && detector_failed) *detector_failed = true;
    return st;
}

eb_status eb_eval_run(const eb_eval_spec *s, eb_eval_report *out, bool *detector_failed, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (detector_failed) *detector_failed = false;
    if (!s->model || !s->id || s->n_ood < 1 || s->n_ood > EB_EVAL_MAX_SETS || s->n_detectors < 1 ||
        s->n_detectors > EB_EVAL_MAX_SCORES)
        return eb_error_set(err, EB_ERR_ARG, "eval: need 1..%d OOD sets and 1..%d detectors (got %d and %d)",
                            EB_EVAL_MAX_SETS, EB_EVAL_MAX_SCORES, s->n_ood, s->n_detectors);
    out->n_id = s->id->n;
    out->id_acc = NAN;
    unsigned needs = 0;
    bool need_train = false;
    for (int k = 0; k < s->n_detectors; k++) {
        needs |= eb_detector_fit_needs(s->detectors[k]) | eb_detector_score_needs(s->detectors[k]);
        need_train |= (eb_detector_fit_needs(s->detectors[k]) & learn_needs) != 0;
    }
    const bool feats = (needs & EB_NEEDS_FEATURES) != 0;
    const int64_t batch = s->batch > 0 ? s->batch : 256;
    predictions pred[3 + EB_EVAL_MAX_SETS];
    memset(pred, 0, sizeof pred);
    eb_status st = EB_OK;
    if (need_train && s->train) st = predict_rows(s->model, s->train, true, feats, batch, &pred[0], err);
    if (!st) st = predict_rows(s->model, s->id, true, feats, batch, &pred[1], err);
    if (!st && s->aux) st = predict_rows(s->model, s->aux, false, true, batch, &pred[2], err);
    for (int o = 0; o < s->n_ood && !st; o++)
        st = predict_rows(s->model, &s->ood[o], true, feats, batch, &pred[3 + o], err);
    if (!st && s->id->labels && eb_model_out_dim(s->model) > 1) /* a density model has no accuracy */
        st = eb_accuracy(pred[1].logits, s->id->n, eb_model_out_dim(s->model), s->id->labels, &out->id_acc,
                         err);
    int64_t max_n = s->id->n;
    for (int o = 0; o < s->n_ood; o++) max_n = s->ood[o].n > max_n ? s->ood[o].n : max_n;
    float *s_id = malloc((size_t)(s->id->n + 1) * sizeof *s_id),
          *s_ood = malloc((size_t)(max_n + 1) * sizeof *s_ood);
    if (!st && (!s_id || !s_ood)) st = eb_error_set(err, EB_ERR_NOMEM, "eval: out of memory");
    for (int k = 0; k < s->n_detectors && !st; k++)
        st = eval_one(s, k, pred, s_id, s_ood, &out->scores[out->n_scores++], detector_failed, err);
    free(s_id);
    free(s_ood);
    for (size_t i = 0; i < sizeof pred / sizeof pred[0]; i++) {
        free(pred[i].logits);
        free(pred[i].features);
    }
    return st;
}
