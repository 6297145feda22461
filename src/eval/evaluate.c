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
