/* The benchmark suites' EBM rows (src/suites/bench_ebm.c, eval.h): a budget replaces the paper's steps and
 * scales the schedule in proportion, per-kind steps win over the common count, the paper budget changes
 * nothing; row names follow 002_39b8670b82235277.txt's tables; eb_eval_add_scores gives exactly the metrics
 * of eb_ood_metrics_compute / eb_ebm_paper_aupr and refuses a full report or a NaN score. */
#include <criterion/criterion.h>
#include <ebood/suites.h>

#include <math.h>
#include <string.h>

static eb_ebm_method parse_ok(const char *name) {
    eb_ebm_method m;
    eb_error err = {0};
    cr_assert_eq(eb_ebm_method_parse(name, &m, &err), EB_OK, "%s: %s", name, err.message);
    return m;
}

Test(bench_ebm, paper_budget_changes_nothing) {
    const char *names[] = {"cd", "cd-s", "ssm", "vera", "flow"};
    for (int i = 0; i < 5; i++) {
        eb_ebm_method m = parse_ok(names[i]), m0 = m;
        eb_train_params tp = eb_ebm_train_params(&m, 3), tp0 = tp;
        eb_bench_ebm_budget b = eb_bench_ebm_paper_budget();
        eb_bench_ebm_apply_budget(&b, &m, &tp);
        cr_expect_eq(tp.steps, tp0.steps, "%s", names[i]);
        cr_expect_eq(tp.schedule.warmup_steps, tp0.schedule.warmup_steps, "%s", names[i]);
        cr_expect_eq(tp.schedule.step_size, tp0.schedule.step_size, "%s", names[i]);
        cr_expect_eq(m.cd.sgld.steps, m0.cd.sgld.steps, "%s", names[i]);
    }
}

Test(bench_ebm, reduced_budget_scales_the_schedule) {
    eb_ebm_method m = parse_ok("cd");
    eb_train_params tp = eb_ebm_train_params(&m, 3); /* Segment: 3 batches per epoch */
    cr_assert_eq(tp.steps, 10000);
    int64_t warm = tp.schedule.warmup_steps, period = tp.schedule.step_size;
    eb_bench_ebm_budget b = eb_bench_ebm_paper_budget();
    b.steps = 1000;
    b.sgld_steps = 7;
    eb_bench_ebm_apply_budget(&b, &m, &tp);
    cr_expect_eq(tp.steps, 1000);
    cr_expect_eq(tp.schedule.warmup_steps, (warm + 5) / 10, "warm-up %lld",
                 (long long)tp.schedule.warmup_steps);
    cr_expect_eq(tp.schedule.step_size, (period + 5) / 10, "period %lld", (long long)tp.schedule.step_size);
    cr_expect_eq(m.cd.sgld.steps, 7);

    /* per-kind steps override the common count; other kinds keep it */
    b.steps_by_kind[EB_EBM_SSM] = 40;
    eb_ebm_method s = parse_ok("ssm"), f = parse_ok("flow");
    eb_train_params ts = eb_ebm_train_params(&s, 3), tf = eb_ebm_train_params(&f, 3);
    eb_bench_ebm_apply_budget(&b, &s, &ts);
    eb_bench_ebm_apply_budget(&b, &f, &tf);
    cr_expect_eq(ts.steps, 40);
    cr_expect_eq(tf.steps, 1000);
    /* a tiny budget never makes a zero-length warm-up or period out of a positive one */
    cr_expect_geq(ts.schedule.warmup_steps, 1);
}

Test(bench_ebm, row_names) {
    const char *names[] = {"cd", "cd-s", "ssm-s", "vera-s", "flow"};
    const char *rows[] = {"CD", "CD-S", "SSM-S", "VERA-S", "NF"};
    char out[32];
    for (int i = 0; i < 5; i++) {
        eb_ebm_method m = parse_ok(names[i]);
        eb_bench_ebm_row_name(&m, NULL, out, sizeof out);
        cr_expect_str_eq(out, rows[i]);
    }
    eb_ebm_method m = parse_ok("ssm");
    eb_bench_ebm_row_name(&m, "-E", out, sizeof out);
    cr_expect_str_eq(out, "SSM-E");
}

Test(bench_ebm, add_scores_matches_the_metrics) {
    float s_id[50], a[30], c[70];
    for (int i = 0; i < 50; i++) s_id[i] = (float)sin(0.7 * i) + 1.0f;
    for (int i = 0; i < 30; i++) a[i] = (float)cos(1.3 * i) - 0.5f;
    for (int i = 0; i < 70; i++) c[i] = (float)(i % 7) * 0.3f;
    const float *sets[2] = {a, c};
    const int64_t n[2] = {30, 70};
    const char *names[2] = {"a", "c"};
    eb_eval_report r;
    memset(&r, 0, sizeof r);
    r.n_scores = 3;
    eb_error err = {0};
    cr_assert_eq(eb_eval_add_scores(&r, "CD", s_id, 50, sets, n, names, 2, &err), EB_OK, "%s", err.message);
    cr_assert_eq(r.n_scores, 4);
    const eb_eval_score_result *sr = &r.scores[3];
    cr_expect_str_eq(sr->score, "CD");
    cr_assert_eq(sr->n_sets, 2);
    for (int k = 0; k < 2; k++) {
        eb_ood_metrics want;
        double aupr;
        cr_assert_eq(eb_ood_metrics_compute(s_id, 50, sets[k], n[k], &want, &err), EB_OK);
        cr_assert_eq(eb_ebm_paper_aupr(s_id, 50, sets[k], n[k], &aupr, &err), EB_OK);
        cr_expect_str_eq(sr->sets[k].name, names[k]);
        cr_expect_eq(sr->sets[k].n_ood, n[k]);
        cr_expect_eq(sr->sets[k].metrics.auroc, want.auroc);
        cr_expect_eq(sr->sets[k].metrics.aupr_out, want.aupr_out);
        cr_expect_eq(sr->sets[k].metrics.fpr95_id, want.fpr95_id);
        cr_expect_eq(sr->sets[k].ebm_paper_aupr, aupr);
    }
}

Test(bench_ebm, add_scores_errors) {
    float s_id[4] = {1, 2, 3, 4}, o[3] = {0, 1, NAN};
    const float *sets[1] = {o};
    int64_t n[1] = {3};
    const char *names[1] = {"o"};
    eb_eval_report r;
    memset(&r, 0, sizeof r);
    eb_error err = {0};
    cr_expect_eq(eb_eval_add_scores(&r, "X", s_id, 4, sets, n, names, 1, &err), EB_ERR_NUMERIC);
    cr_expect_eq(r.n_scores, 0);
    n[0] = 2; /* without the NaN */
    cr_expect_eq(eb_eval_add_scores(&r, "X", s_id, 4, sets, n, names, 0, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "OOD sets") != NULL, "%s", err.message);
    r.n_scores = EB_EVAL_MAX_SCORES;
    cr_expect_eq(eb_eval_add_scores(&r, "X", s_id, 4, sets, n, names, 1, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "X") != NULL, "%s", err.message);
    cr_expect_eq(r.n_scores, EB_EVAL_MAX_SCORES);
}
