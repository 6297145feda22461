/* The suites' results directories (src/suites/results_dir.c) and checkpoint selection (bench_select.c): a
 * unit's numbers come back bit for bit (NaN included), a unit is computed once, another spec or suite is
 * refused naming the difference, max_units stops; the selection keeps the best checkpoint of the checked
 * epochs (ties: the earlier one, and once more after the last step) and restores it. */
#include <criterion/criterion.h>
#include <ebood/suites.h>

#include "suites/bench_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fresh_dir(char *dir, size_t size, const char *name) {
    snprintf(dir, size, "%s/resume-%s-%d", EB_TEST_TMPDIR, name, (int)getpid());
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* doubles whose shortest decimal forms need 17 digits */
static void tricky_unit(eb_unit *u) {
    eb_unit_reset(u);
    u->report.n_id = 198;
    u->report.n_scores = 2;
    for (int k = 0; k < 2; k++) {
        eb_eval_score_result *s = &u->report.scores[k];
        snprintf(s->score, sizeof s->score, "%s", k ? "CD@oodval" : "energy");
        s->n_sets = 3;
        for (int i = 0; i < 3; i++) {
            eb_eval_set_result *r = &s->sets[i];
            snprintf(r->name, sizeof r->name, "set%d", i);
            r->n_ood = 2000 + i;
            r->metrics.auroc = 0.1 + 0.2 * (k + 1) / 3.0;
            r->metrics.aupr_in = 1.0 / 3.0 + i;
            r->metrics.aupr_out = nextafter(0.5, 1.0);
            r->metrics.aupr_in_trapz = 2.0 / 7.0;
            r->metrics.aupr_out_trapz = 1e-300;
            r->metrics.fpr95_id = 0.93939393939393934;
            r->metrics.fpr95_ood = 0.058831446296644574;
            r->metrics.fpr95_hendrycks = i == 2 ? (double)NAN : 0.0;
            r->metrics.fpr95_heat = 1.0;
            r->ebm_paper_aupr = 0.57863978480503053;
        }
    }
    eb_unit_set(u, "train_seconds", 12.345678901234567);
    double v[3] = {1.0 / 3.0, NAN, -2.5};
    eb_unit_set_array(u, "id_acc", v, 3);
}

typedef struct counter {
    int calls;
} counter;

static eb_status compute_tricky(void *ctx, eb_unit *u, eb_error *err) {
    (void)err;
    ((counter *)ctx)->calls++;
    tricky_unit(u);
    return EB_OK;
}

static bool same_double(double a, double b) {
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

Test(results_dir, unit_round_trip_is_exact_and_computed_once) {
    char dir[4096];
    fresh_dir(dir, sizeof dir, "exact");
    eb_bench_resume r = {.dir = dir, .spec = "{\"steps\": 60, \"ebm\": \"cd\"}"};
    eb_results *res;
    eb_error err = {0};
    cr_assert_eq(eb_results_open(&r, "segment", 1, &res, &err), EB_OK, "%s", err.message);
    static eb_unit a, b, want;
    counter c = {0};
    cr_assert_eq(eb_results_unit(res, "seed1-CE", &a, compute_tricky, &c, &err), EB_OK, "%s", err.message);
    eb_results_close(res);
    cr_assert_eq(c.calls, 1);
    /* a second sitting loads it: no computation, the same bits */
    cr_assert_eq(eb_results_open(&r, "segment", 1, &res, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_results_unit(res, "seed1-CE", &b, compute_tricky, &c, &err), EB_OK, "%s", err.message);
    eb_results_close(res);
    cr_assert_eq(c.calls, 1, "a finished unit was computed again");
    tricky_unit(&want);
    cr_assert_eq(b.report.n_scores, 2);
    cr_assert(isnan(b.report.id_acc));
    cr_assert_eq(b.report.n_id, 198);
    for (int k = 0; k < 2; k++) {
        const eb_eval_score_result *x = &b.report.scores[k], *y = &want.report.scores[k];
        cr_assert_str_eq(x->score, y->score);
        cr_assert_eq(x->n_sets, y->n_sets);
        for (int i = 0; i < 3; i++) {
            const eb_eval_set_result *p = &x->sets[i], *q = &y->sets[i];
            cr_assert_str_eq(p->name, q->name);
            cr_assert_eq(p->n_ood, q->n_ood);
            const double *pm = &p->metrics.auroc, *qm = &q->metrics.auroc;
            for (size_t m = 0; m < sizeof p->metrics / sizeof(double); m++)
                cr_assert(same_double(pm[m], qm[m]), "score %d set %d metric %zu: %.17g vs %.17g", k, i, m,
                          pm[m], qm[m]);
            cr_assert(same_double(p->ebm_paper_aupr, q->ebm_paper_aupr));
        }
    }
    cr_assert(same_double(eb_unit_get(&b, "train_seconds"), 12.345678901234567));
    double v[3];
    eb_unit_get_array(&b, "id_acc", v, 3);
    cr_assert(same_double(v[0], 1.0 / 3.0) && isnan(v[1]) && v[2] == -2.5);
    cr_assert(isnan(eb_unit_get(&b, "absent")));
}

Test(results_dir, another_spec_or_suite_is_refused) {
    char dir[4096];
    fresh_dir(dir, sizeof dir, "spec");
    eb_bench_resume r = {.dir = dir, .spec = "{\"steps\": 60, \"ebm\": \"cd\"}"};
    eb_results *res;
    eb_error err = {0};
    cr_assert_eq(eb_results_open(&r, "segment", 1, &res, &err), EB_OK, "%s", err.message);
    eb_results_close(res);
    r.spec = "{\"steps\": 61, \"ebm\": \"cd\"}";
    cr_assert_eq(eb_results_open(&r, "segment", 1, &res, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "recorded with other settings (steps: 60 there, 61 now)"), "%s",
              err.message);
    r.spec = "{\"steps\": 60, \"ebm\": \"cd\", \"ood-val\": true}"; /* a key only one side has */
    cr_assert_eq(eb_results_open(&r, "segment", 1, &res, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "ood-val: (none) there, true now"), "%s", err.message);
    r.spec = "{\"ebm\": \"cd\", \"steps\": 60}"; /* the order of the keys does not matter */
    cr_assert_eq(eb_results_open(&r, "segment", 1, &res, &err), EB_OK, "%s", err.message);
    eb_results_close(res);
    cr_assert_eq(eb_results_open(&r, "fmnist", 1, &res, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "results of the 'segment' suite, not 'fmnist'"), "%s", err.message);
    cr_assert_eq(eb_results_open(&r, "segment", 2, &res, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "revision 1"), "%s", err.message);
    r.spec = "[1]";
    cr_assert_eq(eb_results_open(&r, "segment", 1, &res, &err), EB_ERR_ARG);
    /* a setting that is not a flag (fmnist: whether the rendered sets exist) joins the spec */
    char *with = eb_results_spec_with("{\"steps\": 60, \"ebm\": \"cd\"}", "rendered-sets", true);
    cr_assert_str_eq(with, "{\"steps\":60,\"ebm\":\"cd\",\"rendered-sets\":true}");
    r.spec = with;
    cr_assert_eq(eb_results_open(&r, "segment", 1, &res, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "rendered-sets: (none) there, true now"), "%s", err.message);
    free(with);
    cr_assert_null(eb_results_spec_with("[1]", "x", true));
    cr_assert_null(eb_results_spec_with("{\"x\": 1}", "x", true));
}

Test(results_dir, max_units_stops_and_no_directory_computes) {
    char dir[4096];
    fresh_dir(dir, sizeof dir, "stop");
    bool stopped = false;
    eb_bench_resume r = {.dir = dir, .spec = "{}", .max_units = 2, .stopped = &stopped};
    eb_results *res;
    eb_error err = {0};
    static eb_unit u;
    counter c = {0};
    cr_assert_eq(eb_results_open(&r, "segment", 1, &res, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_results_unit(res, "a", &u, compute_tricky, &c, &err), EB_OK);
    cr_assert(!eb_results_stopped(res) && !stopped);
    cr_assert_eq(eb_results_unit(res, "b", &u, compute_tricky, &c, &err), EB_OK);
    cr_assert(eb_results_stopped(res) && stopped);
    eb_results_close(res);
    /* no directory: always computed, never stopped */
    cr_assert_eq(eb_results_open(NULL, "segment", 1, &res, &err), EB_OK);
    cr_assert_null(res);
    cr_assert_eq(eb_results_unit(NULL, "a", &u, compute_tricky, &c, &err), EB_OK);
    cr_assert_eq(c.calls, 3);
    cr_assert(!eb_results_stopped(NULL));
}

/* f(x) = w·x on one feature: ID validation rows at +1, OOD validation rows at −1, so AUROC is 1 for
 * w > 0, 0.5 for w = 0, 0 for w < 0. */
Test(bench_select, keeps_the_best_checked_checkpoint) {
    eb_mlp_config c = eb_mlp_default_config(1, 1);
    c.n_hidden = 0;
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    cr_assert_eq(m->params.count, 2, "%d tensors", m->params.count); /* weight, bias */
    const float xi[3] = {1, 1, 1}, xo[2] = {-1, -1};
    eb_row_set id = {"val", xi, NULL, 3}, ood = {"sky_val", xo, NULL, 2};
    eb_bench_select s = {.metric = EB_SELECT_OOD_AUROC, .val_id = &id, .val_ood = &ood, .every_epochs = 10};
    cr_assert_eq(eb_bench_select_begin(&s, m, &err), EB_OK);
    cr_assert(!eb_bench_select_restore(&s, m), "nothing checked yet");
    /* (epoch, weight, final): checked at multiples of 10 and at the end */
    const struct {
        int64_t epoch;
        float w;
        bool final;
    } calls[] = {{10, 0, false}, {15, 1, false}, {20, -1, false},
                 {30, 2, false}, {40, 3, false}, {43, -1, true}};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        m->params.data[m->params.info[0].offset] = calls[i].w;
        m->params.data[m->params.info[1].offset] = 0.25f;
        eb_train_epoch_info info = {
            .epoch = calls[i].epoch, .step = 3 * calls[i].epoch, .final = calls[i].final};
        cr_assert_eq(eb_bench_select_epoch_end(&s, m, &info, &err), EB_OK, "%s", err.message);
    }
    /* epoch 15 (AUROC 1) is not checked; epoch 40 ties epoch 30 and the earlier wins */
    cr_assert_eq(s.best_step, 90);
    cr_assert_eq(s.best_value, 1.0);
    cr_assert(eb_bench_select_restore(&s, m));
    cr_assert_eq(m->params.data[m->params.info[0].offset], 2.0f);
    eb_bench_select_free(&s);
    eb_model_free(m);
}
