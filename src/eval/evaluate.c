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

/* Logits and features of a set of rows, computed once. */
typedef struct predictions {
    float *logits, *features;
} predictions;

static eb_status predict_rows(eb_model *m, const eb_row_set *r, predictions *p, eb_error *err) {
    p->logits = malloc((size_t)(r->n * eb_model_out_dim(m) + 1) * sizeof(float));
    p->features = malloc((size_t)(r->n * eb_model_feature_dim(m) + 1) * sizeof(float));
    if (!p->logits || !p->features) return eb_error_set(err, EB_ERR_NOMEM, "eval: out of memory");
    return eb_model_predict(m, r->x, r->n, 256, p->logits, p->features, err);
}

static eb_detector_data detector_data(eb_model *m, const eb_row_set *r, const predictions *p,
                                      const float *input_std, int64_t n_input_std) {
    return (eb_detector_data){.n = r->n,
                              .features = p->features,
                              .dim = eb_model_feature_dim(m),
                              .logits = p->logits,
                              .n_classes = eb_model_out_dim(m),
                              .labels = r->labels,
                              .inputs = r->x,
                              .input_dim = eb_model_in_dim(m),
                              .input_std = input_std,
                              .n_input_std = input_std ? n_input_std : 0,
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
    if (n_ood < 1 || n_ood > EB_EVAL_MAX_SETS || n_kinds < 1 || n_kinds > EB_EVAL_MAX_SCORES)
        return eb_error_set(err, EB_ERR_ARG, "eval: need 1..%d OOD sets and 1..%d detectors (got %d and %d)",
                            EB_EVAL_MAX_SETS, EB_EVAL_MAX_SCORES, n_ood, n_kinds);
    out->n_id = id->n;
    out->id_acc = NAN;
    predictions pred[2 + EB_EVAL_MAX_SETS];
    memset(pred, 0, sizeof pred);
    const eb_row_set *sets[2 + EB_EVAL_MAX_SETS] = {train, id};
    for (int s = 0; s < n_ood; s++) sets[2 + s] = &ood[s];
    eb_status st = EB_OK;
    for (int s = 0; s < 2 + n_ood && !st; s++) st = predict_rows(m, sets[s], &pred[s], err);
    if (!st && id->labels && eb_model_out_dim(m) > 1) /* a one-output density model has no accuracy */
        st = eb_accuracy(pred[1].logits, id->n, eb_model_out_dim(m), id->labels, &out->id_acc, err);
    int64_t max_n = id->n;
    for (int s = 0; s < n_ood; s++) max_n = ood[s].n > max_n ? ood[s].n : max_n;
    float *s_id = malloc((size_t)(id->n + 1) * sizeof *s_id),
          *s_ood = malloc((size_t)(max_n + 1) * sizeof *s_ood);
    if (!st && (!s_id || !s_ood)) st = eb_error_set(err, EB_ERR_NOMEM, "eval: out of memory");
    for (int k = 0; k < n_kinds && !st; k++) {
        eb_detector *det = NULL;
        eb_detector_params dp = params ? params[k] : eb_detector_default_params(kinds[k]);
        eb_detector_data fit = detector_data(m, train, &pred[0], input_std, n_input_std);
        st = eb_detector_new(kinds[k], &dp, &det, err);
        if (!st) st = eb_detector_fit(det, &fit, NULL, err);
        eb_eval_score_result *sr = &out->scores[out->n_scores++];
        snprintf(sr->score, sizeof sr->score, "%s", eb_detector_kind_name(kinds[k]));
        if (!st) {
            eb_detector_data d = detector_data(m, id, &pred[1], input_std, n_input_std);
            d.labels = NULL;
            st = eb_detector_score(det, &d, s_id, err);
        }
        for (int s = 0; s < n_ood && !st; s++) {
            eb_eval_set_result *r = &sr->sets[sr->n_sets++];
            snprintf(r->name, sizeof r->name, "%s", ood[s].name);
            r->n_ood = ood[s].n;
            eb_detector_data d = detector_data(m, &ood[s], &pred[2 + s], input_std, n_input_std);
            d.labels = NULL;
            st = eb_detector_score(det, &d, s_ood, err);
            if (!st) st = eb_ood_metrics_compute(s_id, id->n, s_ood, ood[s].n, &r->metrics, err);
            if (!st) st = eb_ebm_paper_aupr(s_id, id->n, s_ood, ood[s].n, &r->ebm_paper_aupr, err);
        }
        eb_detector_free(det);
    }
    free(s_id);
    free(s_ood);
    for (int s = 0; s < 2 + n_ood; s++) {
        free(pred[s].logits);
        free(pred[s].features);
    }
    return st;
}
