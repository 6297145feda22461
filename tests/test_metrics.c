/* OOD metrics against scikit-learn / NumPy references (tests/fixtures/metrics/metrics_cases.json,
 * made by scripts/make_metrics_fixture.py), symmetry and invariance properties, bad input. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <ebood/eval.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_json.h"
#include "test_util.h"

#define METRIC_TOL 1e-9

/* ---- fixture helpers --------------------------------------------------------------------------- */

/* ---- fixture comparison ------------------------------------------------------------------------- */

static double check_value(const char *case_name, const char *what, double got, double want) {
    double d = fabs(got - want);
    cr_expect(d <= METRIC_TOL, "%s: %s = %.17g, sklearn/numpy %.17g (diff %.3g)", case_name, what, got, want,
              d);
    return d;
}

Test(metrics, matches_sklearn_fixture) {
    cJSON *root = load_json("metrics/metrics_cases.json");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    cr_assert(cJSON_IsArray(cases) && cJSON_GetArraySize(cases) >= 10);
    double max_diff = 0.0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        int64_t n_id, n_ood;
        float *s_id = NULL;
        n_id = read_floats(item(c, "s_id"), &s_id);
        float *s_ood = NULL;
        n_ood = read_floats(item(c, "s_ood"), &s_ood);
        eb_error err = {0};
        eb_ood_metrics m;
        cr_assert_eq(eb_ood_metrics_compute(s_id, n_id, s_ood, n_ood, &m, &err), EB_OK, "%s", err.message);
        double d = 0.0;
        d = fmax(d, check_value(name, "auroc", m.auroc, num(c, "auroc")));
        d = fmax(d, check_value(name, "aupr_in", m.aupr_in, num(c, "aupr_in")));
        d = fmax(d, check_value(name, "aupr_out", m.aupr_out, num(c, "aupr_out")));
        d = fmax(d, check_value(name, "aupr_in_trapz", m.aupr_in_trapz, num(c, "aupr_in_trapz")));
        d = fmax(d, check_value(name, "aupr_out_trapz", m.aupr_out_trapz, num(c, "aupr_out_trapz")));
        d = fmax(d, check_value(name, "fpr95_id", m.fpr95_id, num(c, "fpr95_id")));
        d = fmax(d, check_value(name, "fpr95_ood", m.fpr95_ood, num(c, "fpr95_ood")));
        d = fmax(d, check_value(name, "fpr95_hendrycks", m.fpr95_hendrycks, num(c, "fpr95_hendrycks")));
        d = fmax(d, check_value(name, "fpr95_heat", m.fpr95_heat, num(c, "fpr95_heat")));

        /* the single-metric entry points */
        double v;
        cr_assert_eq(eb_auroc(s_id, n_id, s_ood, n_ood, &v, &err), EB_OK, "%s", err.message);
        d = fmax(d, check_value(name, "eb_auroc", v, num(c, "auroc")));
        cr_assert_eq(eb_fpr95_hendrycks(s_id, n_id, s_ood, n_ood, &v, &err), EB_OK, "%s", err.message);
        d = fmax(d, check_value(name, "eb_fpr95_hendrycks", v, num(c, "fpr95_hendrycks")));
        cr_assert_eq(eb_fpr95_heat(s_id, n_id, s_ood, n_ood, &v, &err), EB_OK, "%s", err.message);
        d = fmax(d, check_value(name, "eb_fpr95_heat", v, num(c, "fpr95_heat")));
        cr_assert_eq(eb_ebm_paper_aupr(s_id, n_id, s_ood, n_ood, &v, &err), EB_OK, "%s", err.message);
        d = fmax(d, check_value(name, "eb_ebm_paper_aupr", v, num(c, "ebm_paper_aupr")));

        /* generic average precision: ID positive with s, and OOD positive with −s */
        int64_t n = n_id + n_ood;
        float *scores = malloc((size_t)n * sizeof *scores);
        uint8_t *labels = malloc((size_t)n);
        for (int64_t i = 0; i < n; i++) {
            scores[i] = i < n_id ? s_id[i] : s_ood[i - n_id];
            labels[i] = i < n_id;
        }
        cr_assert_eq(eb_average_precision(scores, labels, n, &v, &err), EB_OK, "%s", err.message);
        d = fmax(d, check_value(name, "eb_average_precision(id)", v, num(c, "aupr_in")));
        for (int64_t i = 0; i < n; i++) scores[i] = -scores[i], labels[i] = !labels[i];
        cr_assert_eq(eb_average_precision(scores, labels, n, &v, &err), EB_OK, "%s", err.message);
        d = fmax(d, check_value(name, "eb_average_precision(ood)", v, num(c, "aupr_out")));

        cr_log_info("metrics fixture %-18s n_id=%-5lld n_ood=%-5lld max |diff| = %.3g", name, (long long)n_id,
                    (long long)n_ood, d);
        max_diff = fmax(max_diff, d);
        free(scores);
        free(labels);
        free(s_id);
        free(s_ood);
    }
    printf("test_metrics: max |ebood - sklearn/numpy| over all fixture metrics = %.3g (tol %.0e)\n", max_diff,
           METRIC_TOL);
    cJSON_Delete(root);
}

/* The fixture's equal_steps case documents the one place we deliberately differ from sklearn's
 * default roc_curve(drop_intermediate=True): make sure the fixture still shows the difference and
 * that we give the full-threshold answer. */
Test(metrics, fpr95_uses_every_threshold) {
    cJSON *root = load_json("metrics/metrics_cases.json");
    const cJSON *c, *found = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, "equal_steps") == 0) found = c;
    }
    cr_assert_not_null(found);
    cr_assert_float_eq(num(found, "fpr95_id_sklearn_default"), 1.0, 1e-12);
    int64_t n_id, n_ood;
    float *s_id = NULL;
    n_id = read_floats(item(found, "s_id"), &s_id);
    float *s_ood = NULL;
    n_ood = read_floats(item(found, "s_ood"), &s_ood);
    eb_ood_metrics m;
    cr_assert_eq(eb_ood_metrics_compute(s_id, n_id, s_ood, n_ood, &m, NULL), EB_OK);
    cr_assert_float_eq(m.fpr95_id, 0.95, 1e-12);
    cr_assert_float_eq(m.fpr95_ood, 0.95, 1e-12);
    free(s_id);
    free(s_ood);
    cJSON_Delete(root);
}

/* ---- properties --------------------------------------------------------------------------------- */

/* Scores on a coarse grid (k/16, |k| ≤ 200) so that ties are common and the transforms below are
 * exact in float. */
static void grid_scores(eb_rng *rng, float *s, int64_t n, int shift) {
    for (int64_t i = 0; i < n; i++) s[i] = (float)((int)eb_rng_below(rng, 321) - 160 + shift) / 16.0f;
}

static void negate(float *dst, const float *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = -src[i];
}

Test(metrics, auroc_equals_pairwise_count) {
    eb_rng rng;
    eb_rng_seed(&rng, 11);
    enum { N_ID = 173, N_OOD = 241 };
    float s_id[N_ID], s_ood[N_OOD];
    grid_scores(&rng, s_id, N_ID, 20);
    grid_scores(&rng, s_ood, N_OOD, 0);
    double u = 0.0; /* the O(n²) definition: wins + ½ ties */
    for (int i = 0; i < N_ID; i++)
        for (int j = 0; j < N_OOD; j++) u += s_id[i] > s_ood[j] ? 1.0 : s_id[i] == s_ood[j] ? 0.5 : 0.0;
    double auroc;
    cr_assert_eq(eb_auroc(s_id, N_ID, s_ood, N_OOD, &auroc, NULL), EB_OK);
    cr_assert_float_eq(auroc, u / (N_ID * N_OOD), 1e-14);
}

Test(metrics, symmetry_of_negation_and_swap) {
    eb_rng rng;
    eb_rng_seed(&rng, 12);
    enum { N_ID = 300, N_OOD = 117 };
    float s_id[N_ID], s_ood[N_OOD], ns_id[N_ID], ns_ood[N_OOD];
    grid_scores(&rng, s_id, N_ID, 15);
    grid_scores(&rng, s_ood, N_OOD, 0);
    negate(ns_id, s_id, N_ID);
    negate(ns_ood, s_ood, N_OOD);
    eb_ood_metrics m, neg, swap, roles;
    cr_assert_eq(eb_ood_metrics_compute(s_id, N_ID, s_ood, N_OOD, &m, NULL), EB_OK);
    cr_assert(m.auroc > 0.55 && m.auroc < 0.95, "setup: auroc %g", m.auroc);
    /* AUROC(s) + AUROC(−s) = 1 */
    cr_assert_eq(eb_ood_metrics_compute(ns_id, N_ID, ns_ood, N_OOD, &neg, NULL), EB_OK);
    cr_assert_float_eq(m.auroc + neg.auroc, 1.0, 1e-14);
    /* swapping which set is ID: AUROC → 1 − AUROC */
    cr_assert_eq(eb_ood_metrics_compute(s_ood, N_OOD, s_id, N_ID, &swap, NULL), EB_OK);
    cr_assert_float_eq(swap.auroc, 1.0 - m.auroc, 1e-14);
    /* swapping the roles completely (OOD becomes ID with score −s): every "in" quantity becomes the
     * matching "out" one */
    cr_assert_eq(eb_ood_metrics_compute(ns_ood, N_OOD, ns_id, N_ID, &roles, NULL), EB_OK);
    cr_assert_float_eq(roles.auroc, m.auroc, 1e-14);
    cr_assert_float_eq(roles.aupr_in, m.aupr_out, 1e-14);
    cr_assert_float_eq(roles.aupr_out, m.aupr_in, 1e-14);
    cr_assert_float_eq(roles.aupr_in_trapz, m.aupr_out_trapz, 1e-14);
    cr_assert_float_eq(roles.aupr_out_trapz, m.aupr_in_trapz, 1e-14);
    cr_assert_float_eq(roles.fpr95_id, m.fpr95_ood, 1e-14);
    cr_assert_float_eq(roles.fpr95_ood, m.fpr95_id, 1e-14);
}

Test(metrics, invariant_to_monotone_transform_and_order) {
    eb_rng rng;
    eb_rng_seed(&rng, 13);
    enum { N_ID = 257, N_OOD = 190 };
    float s_id[N_ID], s_ood[N_OOD], t_id[N_ID], t_ood[N_OOD];
    grid_scores(&rng, s_id, N_ID, 25);
    grid_scores(&rng, s_ood, N_OOD, 0);
    /* t = s³ + 4s: strictly increasing, exact in float on this grid */
    for (int i = 0; i < N_ID; i++) t_id[i] = s_id[i] * s_id[i] * s_id[i] + 4.0f * s_id[i];
    for (int i = 0; i < N_OOD; i++) t_ood[i] = s_ood[i] * s_ood[i] * s_ood[i] + 4.0f * s_ood[i];
    /* and a different order of the samples (reverse) */
    for (int i = 0; i < N_ID / 2; i++) {
        float tmp = t_id[i];
        t_id[i] = t_id[N_ID - 1 - i];
        t_id[N_ID - 1 - i] = tmp;
    }
    eb_ood_metrics a, b;
    cr_assert_eq(eb_ood_metrics_compute(s_id, N_ID, s_ood, N_OOD, &a, NULL), EB_OK);
    cr_assert_eq(eb_ood_metrics_compute(t_id, N_ID, t_ood, N_OOD, &b, NULL), EB_OK);
    cr_assert_float_eq(a.auroc, b.auroc, 1e-15);
    cr_assert_float_eq(a.aupr_in, b.aupr_in, 1e-15);
    cr_assert_float_eq(a.aupr_out, b.aupr_out, 1e-15);
    cr_assert_float_eq(a.aupr_in_trapz, b.aupr_in_trapz, 1e-15);
    cr_assert_float_eq(a.aupr_out_trapz, b.aupr_out_trapz, 1e-15);
    cr_assert_float_eq(a.fpr95_id, b.fpr95_id, 1e-15);
    cr_assert_float_eq(a.fpr95_ood, b.fpr95_ood, 1e-15);
    cr_assert_float_eq(a.fpr95_hendrycks, b.fpr95_hendrycks, 1e-15);
}

Test(metrics, ebm_paper_aupr_uses_first_elements) {
    /* n_id = 3, n_ood = 5: only s_ood[0..2] count. With them, OOD is perfectly below ID. */
    const float s_id[3] = {1.0f, 2.0f, 3.0f};
    const float s_ood[5] = {-1.0f, -2.0f, 0.5f, 10.0f, 11.0f};
    double v;
    cr_assert_eq(eb_ebm_paper_aupr(s_id, 3, s_ood, 5, &v, NULL), EB_OK);
    cr_assert_float_eq(v, 1.0, 1e-15);
    /* the full arrays are not separated */
    eb_ood_metrics m;
    cr_assert_eq(eb_ood_metrics_compute(s_id, 3, s_ood, 5, &m, NULL), EB_OK);
    cr_assert_lt(m.aupr_out, 0.99);
}

Test(metrics, heat_counts_strictly_above_quantile) {
    /* ID {0,1,...,20}: E = −s, 95th percentile of E at h = 19 → E = −1, i.e. s-quantile 1.
     * OOD at exactly 1 is not counted; OOD at 1.5 is. */
    float s_id[21];
    for (int i = 0; i < 21; i++) s_id[i] = (float)i;
    const float s_ood[4] = {1.0f, 1.0f, 1.5f, 0.0f};
    double v;
    cr_assert_eq(eb_fpr95_heat(s_id, 21, s_ood, 4, &v, NULL), EB_OK);
    cr_assert_float_eq(v, 0.25, 1e-15);
}

/* ---- accuracy, mean/std ------------------------------------------------------------------------- */

Test(metrics, accuracy_matches_numpy_argmax) {
    cJSON *root = load_json("metrics/logit_scores.json");
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(root, "accuracy");
    /* ties: first maximum wins */
    const cJSON *ties = cJSON_GetObjectItemCaseSensitive(acc, "ties");
    int64_t nl;
    float *logits = NULL;
    nl = read_floats(item(ties, "logits"), &logits);
    int32_t labels_t[4];
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(ties, "labels")) labels_t[i++] = v->valueint;
    cr_assert_eq(i, 4);
    double a;
    eb_error err = {0};
    cr_assert_eq(eb_accuracy(logits, 4, 3, labels_t, &a, &err), EB_OK, "%s", err.message);
    cr_assert_float_eq(a, num(ties, "accuracy"), 1e-15);
    free(logits);
    /* the random logits of the logit-score fixture */
    const cJSON *rnd = cJSON_GetObjectItemCaseSensitive(acc, "random");
    const char *case_name = cJSON_GetObjectItemCaseSensitive(rnd, "logits_case")->valuestring;
    const cJSON *c, *found = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, case_name) == 0) found = c;
    }
    cr_assert_not_null(found);
    int64_t n = (int64_t)num(rnd, "n"), cc = (int64_t)num(rnd, "c");
    nl = read_floats(item(found, "logits"), &logits);
    cr_assert_eq(nl, n * cc);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    i = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(rnd, "labels")) labels[i++] = v->valueint;
    cr_assert_eq(eb_accuracy(logits, n, cc, labels, &a, &err), EB_OK, "%s", err.message);
    cr_assert_float_eq(a, num(rnd, "accuracy"), 1e-15);
    free(labels);
    free(logits);
    cJSON_Delete(root);
}

Test(metrics, mean_std_sample) {
    const double x[4] = {1.0, 2.0, 3.0, 4.0};
    double m, s;
    eb_mean_std(x, 4, &m, &s);
    cr_assert_float_eq(m, 2.5, 1e-15);
    cr_assert_float_eq(s, sqrt(5.0 / 3.0), 1e-15); /* ddof = 1 */
    eb_mean_std(x + 2, 1, &m, &s);
    cr_assert_float_eq(m, 3.0, 1e-15);
    cr_assert_eq(s, 0.0);
    eb_mean_std(x, 0, &m, &s);
    cr_assert(isnan(m) && isnan(s));
}

/* ---- bad input ---------------------------------------------------------------------------------- */

Test(metrics, nan_and_inf_scores_are_numeric_errors) {
    float s_id[5] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
    float s_ood[4] = {0.0f, 0.1f, 0.2f, 0.3f};
    eb_ood_metrics m = {.auroc = -7.0};
    eb_error err = {0};
    s_id[3] = NAN;
    cr_assert_eq(eb_ood_metrics_compute(s_id, 5, s_ood, 4, &m, &err), EB_ERR_NUMERIC);
    cr_assert_eq(err.status, EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "s_id[3]") && strstr(err.message, "NaN"), "message: %s", err.message);
    cr_assert_eq(m.auroc, -7.0, "output written on error");
    s_id[3] = 0.4f;
    s_ood[2] = -INFINITY;
    double v = -7.0;
    cr_assert_eq(eb_auroc(s_id, 5, s_ood, 4, &v, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "s_ood[2]") && strstr(err.message, "-Inf"), "message: %s", err.message);
    cr_assert_eq(v, -7.0);
    /* a bad value past the paper-002 truncation is still an error */
    float long_ood[8] = {0, 0, 0, 0, 0, 0, 0, INFINITY};
    cr_assert_eq(eb_ebm_paper_aupr(s_id, 5, long_ood, 8, &v, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "s_ood[7]"), "message: %s", err.message);
    float scores[3] = {1.0f, NAN, 0.0f};
    const uint8_t labels[3] = {1, 0, 0};
    cr_assert_eq(eb_average_precision(scores, labels, 3, &v, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "scores[1]"), "message: %s", err.message);
}

Test(metrics, empty_and_null_are_argument_errors) {
    const float s[3] = {0.0f, 1.0f, 2.0f};
    eb_ood_metrics m;
    eb_error err = {0};
    cr_assert_eq(eb_ood_metrics_compute(s, 0, s, 3, &m, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "s_id") && strstr(err.message, "empty"), "message: %s", err.message);
    cr_assert_eq(eb_ood_metrics_compute(s, 3, s, 0, &m, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "s_ood") && strstr(err.message, "empty"), "message: %s", err.message);
    cr_assert_eq(eb_ood_metrics_compute(s, 3, NULL, 2, &m, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "s_ood"), "message: %s", err.message);
    cr_assert_eq(eb_ood_metrics_compute(s, 3, s, 3, NULL, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "out"), "message: %s", err.message);
    double v;
    cr_assert_eq(eb_fpr95_heat(s, -1, s, 3, &v, &err), EB_ERR_ARG);
    cr_assert_eq(eb_fpr95_hendrycks(s, 3, s, 0, &v, &err), EB_ERR_ARG);
    cr_assert_eq(eb_ebm_paper_aupr(s, 0, s, 3, &v, &err), EB_ERR_ARG);
    cr_assert_eq(eb_auroc(s, 3, s, 3, &v, NULL), EB_OK); /* err is optional */
}

Test(metrics, average_precision_label_errors) {
    const float s[3] = {0.0f, 1.0f, 2.0f};
    const uint8_t bad[3] = {0, 2, 1}, one_class[3] = {1, 1, 1};
    double v;
    eb_error err = {0};
    cr_assert_eq(eb_average_precision(s, bad, 3, &v, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "labels[1]"), "message: %s", err.message);
    cr_assert_eq(eb_average_precision(s, one_class, 3, &v, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "labels") && strstr(err.message, "both classes"), "message: %s",
              err.message);
    cr_assert_eq(eb_average_precision(s, NULL, 3, &v, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "labels"), "message: %s", err.message);
}

Test(metrics, accuracy_errors) {
    const float logits[6] = {1, 2, 3, 4, 5, NAN};
    const int32_t ok_labels[2] = {2, 0}, bad_labels[2] = {2, 3};
    double v = -1.0;
    eb_error err = {0};
    cr_assert_eq(eb_accuracy(logits, 2, 3, bad_labels, &v, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "labels[1]"), "message: %s", err.message);
    cr_assert_eq(eb_accuracy(logits, 2, 3, ok_labels, &v, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "logits[1, 2]"), "message: %s", err.message);
    cr_assert_eq(eb_accuracy(logits, 0, 3, ok_labels, &v, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "logits"), "message: %s", err.message);
    cr_assert_eq(v, -1.0);
    cr_assert_eq(eb_accuracy(logits, 1, 3, ok_labels, &v, &err), EB_OK);
    cr_assert_float_eq(v, 1.0, 1e-15);
}

/* 9 positives ranked above every negative: Σ (1/9)·1 rounds to 1 + 2⁻⁵² in double; AP stays in [0, 1]. */
Test(metrics, average_precision_never_exceeds_one) {
    float s[12];
    uint8_t y[12];
    for (int i = 0; i < 12; i++) {
        s[i] = (float)(12 - i);
        y[i] = i < 9;
    }
    double ap;
    cr_assert_eq(eb_average_precision(s, y, 12, &ap, NULL), EB_OK);
    cr_assert(ap <= 1.0 && ap > 1.0 - 1e-15, "ap = %.17g", ap);
    eb_ood_metrics m;
    cr_assert_eq(eb_ood_metrics_compute(s, 9, s + 9, 3, &m, NULL), EB_OK);
    cr_assert(m.aupr_in <= 1.0 && m.aupr_in_trapz <= 1.0, "%.17g %.17g", m.aupr_in, m.aupr_in_trapz);
}
