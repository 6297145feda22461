/* The activation-shaping detectors react, ash_s, ash_p, ash_b and scale (src/ood/detectors/react.c, ash.c,
 * scale.c over feature_head.c) against PyTorch references (scripts/make_activation_shaping_fixture.py):
 * fitted from features + a model whose last linear layer is the fixture's head, scored on features alone,
 * the same after save/load; wrong shapes and parameters are named errors. Also the detector registry's
 * parameter table: every kind's defaults inside the rows' ranges, and `ebood fit --help` listing each row
 * with the kinds that read it. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fixture_json.h"
#include "test_util.h"

/* An MLP 3 → dim → classes whose head (last two parameters) is w, b. */
static eb_model *model_with_head(int64_t dim, int64_t classes, const float *w, const float *b) {
    eb_mlp_config c = eb_mlp_default_config(3, classes);
    c.n_hidden = 1;
    c.hidden[0] = dim;
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    const eb_params *p = &m->params;
    memcpy(p->data + p->info[p->count - 2].offset, w, (size_t)(classes * dim) * sizeof *w);
    memcpy(p->data + p->info[p->count - 1].offset, b, (size_t)classes * sizeof *b);
    return m;
}

Test(activation_shaping, matches_pytorch_reference_and_survives_save_load) {
    cJSON *doc = load_fixture_json("activation_shaping.json");
    const cJSON *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
        const char *name = cJSON_GetStringValue(item(c, "name"));
        const int64_t n = (int64_t)num(c, "n"), m = (int64_t)num(c, "m"), dim = (int64_t)num(c, "dim"),
                      classes = (int64_t)num(c, "classes");
        float *train, *test, *w, *b, *want;
        read_floats(item(c, "train"), &train);
        read_floats(item(c, "test"), &test);
        read_floats(item(c, "weight"), &w);
        read_floats(item(c, "bias"), &b);
        cr_assert_eq(read_floats(item(c, "scores"), &want), m);
        eb_model *model = model_with_head(dim, classes, w, b);
        eb_detector_kind kind;
        eb_error err = {0};
        cr_assert_eq(eb_detector_kind_parse(cJSON_GetStringValue(item(c, "detector")), &kind, &err), EB_OK);
        eb_detector_params p = eb_detector_default_params(kind);
        p.percentile = (float)num(c, "percentile");
        p.temperature = (float)num(c, "temperature");
        eb_detector *d = NULL;
        cr_assert_eq(eb_detector_new(kind, &p, &d, &err), EB_OK, "%s: %s", name, err.message);
        cr_expect_eq(eb_detector_score_needs(d), (unsigned)EB_NEEDS_FEATURES, "%s", name);
        eb_detector_data fit = {.n = n, .features = train, .dim = dim, .model = model};
        cr_assert_eq(eb_detector_fit(d, &fit, NULL, &err), EB_OK, "%s: %s", name, err.message);
        eb_detector_data q = {.n = m, .features = test, .dim = dim};
        float *got = malloc((size_t)m * sizeof *got), *again = malloc((size_t)m * sizeof *again);
        cr_assert_eq(eb_detector_score(d, &q, got, &err), EB_OK, "%s: %s", name, err.message);
        double worst = 0.0;
        for (int64_t i = 0; i < m; i++) {
            const double diff = fabs((double)got[i] - (double)want[i]) / (1.0 + fabs((double)want[i]));
            worst = diff > worst ? diff : worst;
        }
        cr_expect_lt(worst, 1e-6, "%s: max relative difference %g", name, worst);
        char path[512];
        eb_test_path(path, sizeof path, "shaping.st");
        cr_assert_eq(eb_detector_save(d, path, NULL, 0, &err), EB_OK, "%s", err.message);
        eb_detector *loaded = NULL;
        cr_assert_eq(eb_detector_load(path, &loaded, &err), EB_OK, "%s: %s", name, err.message);
        cr_expect_eq(eb_detector_get_params(loaded)->percentile, p.percentile, "%s", name);
        cr_assert_eq(eb_detector_score(loaded, &q, again, &err), EB_OK, "%s", err.message);
        cr_expect_arr_eq(got, again, (size_t)m * sizeof *got, "%s: scores differ after save/load", name);
        printf("%-22s max relative difference %.2g\n", name, worst);
        remove(path);
        eb_detector_free(loaded);
        eb_detector_free(d);
        eb_model_free(model);
        free(got);
        free(again);
        free(train);
        free(test);
        free(w);
        free(b);
        free(want);
        n_cases++;
    }
    cr_expect_geq(n_cases, 10);
    cJSON_Delete(doc);
}

Test(activation_shaping, bad_model_and_parameters) {
    float w[3 * 4] = {0}, b[3] = {0}, feats[2 * 5] = {1, 2, 3, 4, 5, 5, 4, 3, 2, 1};
    eb_model *model = model_with_head(4, 3, w, b); /* penultimate width 4, features dim 5 */
    eb_error err = {0};
    eb_detector *d = NULL;
    cr_assert_eq(eb_detector_new(EB_DETECTOR_ASH_S, NULL, &d, &err), EB_OK);
    eb_detector_data fit = {.n = 2, .features = feats, .dim = 5, .model = model};
    cr_expect_eq(eb_detector_fit(d, &fit, NULL, &err), EB_ERR_SHAPE);
    cr_expect(strstr(err.message, "4 penultimate features") != NULL, "%s", err.message);
    fit.model = NULL;
    cr_expect_eq(eb_detector_fit(d, &fit, NULL, &err), EB_ERR_ARG, "the model is needed at fit");
    eb_detector_free(d);
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_REACT);
    cr_expect_eq(p.percentile, 90.0f);
    p.percentile = 100.0f;
    cr_expect_eq(eb_detector_new(EB_DETECTOR_REACT, &p, &d, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "percentile") != NULL, "%s", err.message);
    p.percentile = NAN;
    cr_expect_eq(eb_detector_new(EB_DETECTOR_SCALE, &p, &d, &err), EB_ERR_ARG);
    eb_model_free(model);
}

/* Every kind: its defaults pass the table's ranges, its name round-trips; --help lists each row. */
Test(detector_registry, defaults_in_range_and_help_matches_table) {
    const eb_detector_param_row *rows;
    const int n_rows = eb_detector_param_table(&rows);
    cr_assert_geq(n_rows, 7);
    for (int k = 0; k < EB_DETECTOR_KIND_COUNT; k++) {
        eb_detector_kind back;
        eb_error err = {0};
        cr_expect_eq(eb_detector_kind_parse(eb_detector_kind_name((eb_detector_kind)k), &back, &err), EB_OK);
        cr_expect_eq(back, (eb_detector_kind)k);
        eb_detector_params p = eb_detector_default_params((eb_detector_kind)k);
        cr_expect_eq(eb_detector_params_check((eb_detector_kind)k, &p, &err), EB_OK, "%s: %s",
                     eb_detector_kind_name((eb_detector_kind)k), err.message);
        cr_expect(eb_detector_params_used((eb_detector_kind)k) & EB_PARAM_TPR);
    }
    static char help[1 << 16];
    cr_assert_eq(eb_test_cli_output("fit --help", help, sizeof help), 0);
    for (int r = 0; r < n_rows; r++) {
        char head[96];
        snprintf(head, sizeof head, "--%s %s ", rows[r].desc.flag, rows[r].desc.metavar);
        const char *line = strstr(help, head);
        cr_assert_not_null(line, "fit --help lacks '%s'", head);
        char text[1024];
        snprintf(text, sizeof text, "%.*s", (int)(strchr(line, '\n') - line), line);
        cr_expect(strstr(text, rows[r].desc.help) != NULL, "'%s' lacks its help", text);
        for (int k = 0; k < EB_DETECTOR_KIND_COUNT; k++)
            if ((eb_detector_params_used((eb_detector_kind)k) & rows[r].bit) && rows[r].bit != EB_PARAM_TPR)
                cr_expect(strstr(text, eb_detector_kind_name((eb_detector_kind)k)) != NULL, "'%s' lacks %s",
                          text, eb_detector_kind_name((eb_detector_kind)k));
    }
}
