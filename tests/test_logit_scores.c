/* MSP / max-logit / energy scores against PyTorch references (tests/fixtures/metrics/
 * logit_scores.json, made by scripts/make_metrics_fixture.py), the parallel path, bad input. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <ebood/ood.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_json.h"
#include "test_util.h"

#define SCORE_RTOL 1e-5

static double rel_diff(double got, double want) { return fabs(got - want) / fmax(fabs(want), 1e-30); }

Test(logit_scores, matches_torch_fixture) {
    cJSON *root = load_json("metrics/logit_scores.json");
    const eb_logit_score kinds[3] = {EB_SCORE_MSP, EB_SCORE_MAX_LOGIT, EB_SCORE_ENERGY};
    double max_rel = 0.0;
    int n_cases = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        int64_t n = (int64_t)cJSON_GetObjectItemCaseSensitive(c, "n")->valuedouble;
        int64_t cc = (int64_t)cJSON_GetObjectItemCaseSensitive(c, "c")->valuedouble;
        float T = (float)cJSON_GetObjectItemCaseSensitive(c, "temperature")->valuedouble;
        int64_t nl;
        float *logits = NULL;
        nl = read_floats(item(c, "logits"), &logits);
        cr_assert_eq(nl, n * cc, "%s: logits size", name);
        float *scores = malloc((size_t)n * sizeof *scores);
        for (int k = 0; k < 3; k++) {
            int64_t nr;
            float *ref = NULL;
            nr = read_floats(item(c, eb_logit_score_name(kinds[k])), &ref);
            cr_assert_eq(nr, n);
            eb_error err = {0};
            cr_assert_eq(eb_logit_scores(kinds[k], logits, n, cc, T, scores, &err), EB_OK, "%s", err.message);
            double worst = 0.0;
            for (int64_t i = 0; i < n; i++) {
                double d = rel_diff(scores[i], ref[i]);
                cr_expect(d <= SCORE_RTOL, "%s %s row %lld: %.9g vs torch %.9g", name,
                          eb_logit_score_name(kinds[k]), (long long)i, (double)scores[i], (double)ref[i]);
                worst = fmax(worst, d);
            }
            cr_log_info("logit fixture %-14s %-8s max rel diff %.3g", name, eb_logit_score_name(kinds[k]),
                        worst);
            max_rel = fmax(max_rel, worst);
            free(ref);
        }
        free(scores);
        free(logits);
        n_cases++;
    }
    cr_assert_geq(n_cases, 5);
    printf("test_logit_scores: max relative |ebood - torch| = %.3g (tol %.0e)\n", max_rel, SCORE_RTOL);
    cJSON_Delete(root);
}

/* Rows enough for the OpenMP path; reference by the textbook formulas without max-shift (the
 * logits are small here), in long double. */
Test(logit_scores, parallel_path_and_bounds) {
    enum { N = 6000, C = 7 };
    float *logits = malloc(sizeof(float) * N * C), *msp = malloc(sizeof(float) * N),
          *mlog = malloc(sizeof(float) * N), *energy = malloc(sizeof(float) * N);
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    eb_rng_fill_normal(&rng, logits, N * C, 0.0f, 3.0f);
    const float T = 1.7f;
    cr_assert_eq(eb_logit_scores(EB_SCORE_MSP, logits, N, C, T, msp, NULL), EB_OK);
    cr_assert_eq(eb_logit_scores(EB_SCORE_MAX_LOGIT, logits, N, C, T, mlog, NULL), EB_OK);
    cr_assert_eq(eb_logit_scores(EB_SCORE_ENERGY, logits, N, C, T, energy, NULL), EB_OK);
    for (int i = 0; i < N; i++) {
        long double z = 0.0L, zmax = 0.0L, fmax_ = logits[i * C];
        for (int k = 0; k < C; k++) {
            long double e = expl((long double)logits[i * C + k] / T);
            z += e;
            if (logits[i * C + k] > fmax_) fmax_ = logits[i * C + k];
        }
        zmax = expl(fmax_ / T);
        cr_assert_leq(rel_diff(msp[i], (double)(zmax / z)), SCORE_RTOL, "row %d msp", i);
        cr_assert_eq((long double)mlog[i], fmax_, "row %d max-logit", i);
        cr_assert_leq(rel_diff(energy[i], (double)(T * logl(z))), SCORE_RTOL, "row %d energy", i);
        /* 1/C ≤ MSP ≤ 1; max f ≤ energy ≤ max f + T log C */
        cr_assert(msp[i] >= 1.0f / C - 1e-6f && msp[i] <= 1.0f, "row %d msp %g", i, (double)msp[i]);
        cr_assert(energy[i] >= mlog[i] - 1e-5f && energy[i] <= mlog[i] + T * logf((float)C) + 1e-5f);
    }
    /* the first bad logit is reported even when another thread meets a later one first */
    logits[5000 * C + 3] = NAN;
    logits[1235 * C + 0] = NAN;
    logits[1234 * C + 6] = INFINITY;
    eb_error err = {0};
    cr_assert_eq(eb_logit_scores(EB_SCORE_ENERGY, logits, N, C, T, energy, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "logits[1234, 6]") && strstr(err.message, "+Inf"), "message: %s",
              err.message);
    free(logits);
    free(msp);
    free(mlog);
    free(energy);
}

Test(logit_scores, names_round_trip) {
    const eb_logit_score kinds[3] = {EB_SCORE_MSP, EB_SCORE_MAX_LOGIT, EB_SCORE_ENERGY};
    const char *names[3] = {"msp", "maxlogit", "energy"};
    for (int k = 0; k < 3; k++) {
        cr_assert_str_eq(eb_logit_score_name(kinds[k]), names[k]);
        eb_logit_score parsed = (eb_logit_score)-1;
        cr_assert_eq(eb_logit_score_parse(names[k], &parsed, NULL), EB_OK);
        cr_assert_eq(parsed, kinds[k]);
    }
    cr_assert_str_eq(eb_logit_score_name((eb_logit_score)42), "unknown");
    eb_logit_score out = EB_SCORE_ENERGY;
    eb_error err = {0};
    cr_assert_eq(eb_logit_score_parse("Energy", &out, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "'Energy'") && strstr(err.message, "maxlogit"), "message: %s", err.message);
    cr_assert_eq(out, EB_SCORE_ENERGY, "output written on error");
    cr_assert_eq(eb_logit_score_parse(NULL, &out, &err), EB_ERR_ARG);
}

Test(logit_scores, bad_temperature) {
    const float logits[4] = {1, 2, 3, 4};
    float scores[2] = {0, 0};
    const float bad[4] = {0.0f, -1.0f, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        eb_error err = {0};
        cr_assert_eq(eb_logit_scores(EB_SCORE_ENERGY, logits, 2, 2, bad[i], scores, &err), EB_ERR_ARG);
        cr_assert(strstr(err.message, "temperature"), "message: %s", err.message);
    }
    /* max-logit ignores T but still validates it */
    eb_error err = {0};
    cr_assert_eq(eb_logit_scores(EB_SCORE_MAX_LOGIT, logits, 2, 2, 0.0f, scores, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "temperature"), "message: %s", err.message);
}

Test(logit_scores, bad_shapes_and_values) {
    const float logits[6] = {1, 2, 3, 4, NAN, 6};
    float scores[3] = {0, 0, 0};
    eb_error err = {0};
    cr_assert_eq(eb_logit_scores(EB_SCORE_MSP, logits, 3, 2, 1.0f, scores, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "logits[2, 0]") && strstr(err.message, "NaN"), "message: %s", err.message);
    cr_assert_eq(eb_logit_scores(EB_SCORE_MSP, logits, 2, 0, 1.0f, scores, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "logits"), "message: %s", err.message);
    cr_assert_eq(eb_logit_scores(EB_SCORE_MSP, logits, -1, 2, 1.0f, scores, &err), EB_ERR_ARG);
    cr_assert_eq(eb_logit_scores(EB_SCORE_MSP, NULL, 2, 2, 1.0f, scores, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "logits"), "message: %s", err.message);
    cr_assert_eq(eb_logit_scores(EB_SCORE_MSP, logits, 2, 2, 1.0f, NULL, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "scores"), "message: %s", err.message);
    cr_assert_eq(eb_logit_scores((eb_logit_score)7, logits, 2, 2, 1.0f, scores, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "kind"), "message: %s", err.message);
    /* n = 0 is a no-op */
    cr_assert_eq(eb_logit_scores(EB_SCORE_ENERGY, NULL, 0, 2, 1.0f, NULL, &err), EB_OK);
}
