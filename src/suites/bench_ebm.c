/* The EBM rows of the benchmark suites: 002_39b8670b82235277.txt's generative models (CD, SSM, VERA and
 * their -S variants, the radial flow "NF") trained on a suite's ID training rows, scored with their
 * log-density f(x) = logsumexp_k g_k(x) (ebm.h; for the flow f = log p(x)), evaluated with every metric
 * beside the classifier's detectors. Model selection: the final parameters after the last step; on request
 * also the checkpoint the released code picks on a held-out OOD *validation* split (bench_select.c), as a
 * second entry "<row>@oodval" of the same training run. */
#include "suites/bench_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the paper's step count (specs §4 "Common training"), against which a reduced budget is scaled */
#define PAPER_STEPS 10000

eb_bench_ebm_budget eb_bench_ebm_paper_budget(void) {
    eb_bench_ebm_budget b;
    memset(&b, 0, sizeof b);
    b.sgld_steps = -1;
    return b;
}

/* v·num/den rounded, at least 1 for v > 0 */
static int64_t scaled(int64_t v, int64_t num, int64_t den) {
    if (v <= 0) return v;
    int64_t r = (int64_t)((double)v * (double)num / (double)den + 0.5);
    return r < 1 ? 1 : r;
}

void eb_bench_ebm_apply_budget(const eb_bench_ebm_budget *b, eb_ebm_method *m, eb_train_params *tp) {
    if (b->sgld_steps >= 0) m->cd.sgld.steps = b->sgld_steps; /* cond_steps −1 follows it */
    int64_t steps = m->kind >= 0 && m->kind < EB_EBM_KIND_COUNT && b->steps_by_kind[m->kind] > 0
                        ? b->steps_by_kind[m->kind]
                        : b->steps;
    if (steps > 0 && steps != tp->steps) {
        int64_t ref = tp->steps > 0 ? tp->steps : PAPER_STEPS;
        /* keep the schedule's shape: warm-up and decay period in proportion to the run's length */
        tp->schedule.warmup_steps = scaled(tp->schedule.warmup_steps, steps, ref);
        tp->schedule.step_size = scaled(tp->schedule.step_size, steps, ref);
        m->vera.gen_schedule.warmup_steps = scaled(m->vera.gen_schedule.warmup_steps, steps, ref);
        if (tp->schedule.total_steps > 0) tp->schedule.total_steps = steps;
        tp->steps = steps;
    }
}

void eb_bench_ebm_row_name(const eb_ebm_method *m, const char *suffix, char *out, size_t size) {
    char name[32];
    if (m->kind == EB_EBM_FLOW)
        snprintf(name, sizeof name, "NF");
    else {
        snprintf(name, sizeof name, "%s", eb_ebm_method_name(m));
        for (char *c = name; *c; c++) *c = (char)toupper((unsigned char)*c);
    }
    snprintf(out, size, "%s%s", name, suffix ? suffix : "");
}

eb_status eb_bench_ebm_row(const eb_ebm_method *method, const eb_bench_ebm_budget *b, const char *row_name,
                           const float *train_x, const int32_t *train_y, int64_t n_train, int64_t dim,
                           int64_t n_classes, const eb_row_set *id, const eb_row_set *ood, int n_ood,
                           uint64_t seed, bool progress, eb_bench_select *select, eb_eval_report *report,
                           double *seconds, eb_error *err) {
    if (n_ood < 1 || n_ood > EB_EVAL_MAX_SETS)
        return eb_error_set(err, EB_ERR_ARG, "%s: need 1..%d OOD sets", row_name, EB_EVAL_MAX_SETS);
    eb_ebm_method m = *method;
    eb_train_params tp = eb_ebm_train_params(&m, n_train / 512);
    eb_bench_ebm_apply_budget(b, &m, &tp);
    tp.seed = seed;
    tp.progress = progress;
    eb_model *model = NULL;
    eb_ebm_objective *obj = NULL;
    eb_rng init;
    eb_rng_seed(&init, seed);
    eb_status st = eb_ebm_model_new(&m, dim, n_classes, &init, &model, err);
    /* the objective's own state (replay buffer, generator) from a stream of its own */
    eb_ebm_method_share_schedule(&m, &tp.schedule);
    if (!st) st = eb_ebm_objective_new(&m, model, seed ^ 0xeb3a11ce5eedull, &obj, err);
    if (!st && select) {
        st = eb_bench_select_begin(select, model, err);
        tp.on_epoch_end = eb_bench_select_epoch_end;
        tp.on_epoch_end_ctx = select;
    }
    if (!st) {
        if (progress) fprintf(stderr, "%s: %lld steps\n", row_name, (long long)tp.steps);
        eb_train_result tr;
        st = eb_train(model, train_x, m.supervised ? train_y : NULL, n_train, dim, obj->fn, obj->ctx, &tp,
                      &tr, err);
        if (seconds) *seconds = tr.seconds;
    }
    if (!st) st = eb_bench_ebm_score(model, row_name, id, ood, n_ood, report, err);
    if (!st && select && eb_bench_select_restore(select, model)) {
        char name[64];
        snprintf(name, sizeof name, "%s" EB_BENCH_OOD_VAL_SUFFIX, row_name);
        st = eb_bench_ebm_score(model, name, id, ood, n_ood, report, err);
    }
    eb_bench_ebm_name_error(err, st, row_name);
    eb_ebm_objective_free(obj);
    eb_model_free(model);
    return st;
}

void eb_bench_ebm_name_error(eb_error *err, eb_status st, const char *row_name) {
    if (!st || !err) return;
    char msg[sizeof err->message];
    snprintf(msg, sizeof msg, "%s", err->message);
    eb_error_set(err, st, "%s: %.400s", row_name, msg);
}

eb_status eb_bench_ebm_score(eb_model *model, const char *row_name, const eb_row_set *id,
                             const eb_row_set *ood, int n_ood, eb_eval_report *report, eb_error *err) {
    float *s_id = NULL, *s_ood[EB_EVAL_MAX_SETS] = {NULL};
    int64_t n_sets[EB_EVAL_MAX_SETS];
    const char *names[EB_EVAL_MAX_SETS];
    eb_status st = EB_OK;
    if (!(s_id = malloc((size_t)(id->n + 1) * sizeof *s_id)))
        st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st) st = eb_bench_log_density(model, id, s_id, err);
    for (int k = 0; k < n_ood && !st; k++) {
        n_sets[k] = ood[k].n;
        names[k] = ood[k].name;
        if (!(s_ood[k] = malloc((size_t)(ood[k].n + 1) * sizeof *s_ood[k])))
            st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
        if (!st) st = eb_bench_log_density(model, &ood[k], s_ood[k], err);
    }
    if (!st)
        st = eb_eval_add_scores(report, row_name, s_id, id->n, (const float *const *)s_ood, n_sets, names,
                                n_ood, err);
    free(s_id);
    for (int k = 0; k < n_ood; k++) free(s_ood[k]);
    return st;
}
