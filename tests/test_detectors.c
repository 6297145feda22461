/* The detector interface (include/ebood/ood.h): every detector through the generic layer (MSP,
 * max-logit, energy, ODIN, Mahalanobis, SSD, k-NN, Hopfield) against NumPy / scikit-learn / PyTorch
 * references (tests/fixtures/detectors/, made by scripts/make_detector_fixture.py), threshold
 * calibration, save/load round trips, and bad input. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <ebood/data.h>
#include <ebood/eval.h>
#include <ebood/ood.h>
#include <ebood/safetensors.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ---- fixture helpers --------------------------------------------------------------------------- */

static char *fixture(char *buf, size_t size, const char *name) {
    char rel[512];
    snprintf(rel, sizeof rel, "detectors/%s", name);
    eb_fixture_path(buf, size, rel);
    return buf;
}

/* float32 array of a fixture file; rows and cols from its shape (cols 1 for 1-D). */
static float *load_f32(const char *name, int64_t *rows, int64_t *cols) {
    char path[1024];
    int64_t shape[8];
    int ndim;
    float *data = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_npy_read_f32(fixture(path, sizeof path, name), &data, 0, shape, &ndim, &err), EB_OK, "%s",
                 err.message);
    if (rows) *rows = shape[0];
    if (cols) *cols = ndim > 1 ? shape[1] : 1;
    return data;
}

static double *load_f64(const char *name, int64_t *n) {
    char path[1024];
    eb_npy_array a;
    eb_error err = {0};
    cr_assert_eq(eb_npy_read(fixture(path, sizeof path, name), &a, &err), EB_OK, "%s", err.message);
    cr_assert_eq(a.dtype, EB_DTYPE_F64, "%s: expected float64", name);
    *n = eb_npy_array_numel(&a);
    return a.data;
}

static int32_t *load_labels(const char *name, int64_t *n) {
    char path[1024];
    eb_npy_array a;
    eb_error err = {0};
    cr_assert_eq(eb_npy_read(fixture(path, sizeof path, name), &a, &err), EB_OK, "%s", err.message);
    *n = eb_npy_array_numel(&a);
    int32_t *y = malloc((size_t)*n * sizeof *y);
    for (int64_t i = 0; i < *n; i++)
        y[i] = a.dtype == EB_DTYPE_I64   ? (int32_t)((int64_t *)a.data)[i]
               : a.dtype == EB_DTYPE_I32 ? ((int32_t *)a.data)[i]
                                         : ((uint8_t *)a.data)[i];
    eb_npy_array_free(&a);
    return y;
}

static uint8_t *load_u8(const char *name, int64_t *n) {
    char path[1024];
    eb_npy_array a;
    eb_error err = {0};
    cr_assert_eq(eb_npy_read(fixture(path, sizeof path, name), &a, &err), EB_OK, "%s", err.message);
    cr_assert_eq(a.dtype, EB_DTYPE_U8);
    *n = eb_npy_array_numel(&a);
    return a.data;
}

static cJSON *load_cases(void) {
    char path[1024];
    char *text = NULL;
    size_t len = 0;
    eb_error err = {0};
    cr_assert_eq(eb_file_read_all(fixture(path, sizeof path, "cases.json"), &text, &len, &err), EB_OK, "%s",
                 err.message);
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    cr_assert_not_null(root);
    return root;
}

/* The "features" part of the fixture: 80 train rows, 40 val rows, 30 test rows, dim 6, 3 classes. */
typedef struct feature_set {
    float *train_f, *train_l, *val_f, *val_l, *test_f, *test_l, *aux_f;
    int32_t *train_y;
    int64_t n_train, n_val, n_test, n_aux, dim, n_classes;
} feature_set;

static feature_set load_feature_set(void) {
    feature_set s;
    int64_t c, ny;
    s.train_f = load_f32("train_features.npy", &s.n_train, &s.dim);
    s.train_l = load_f32("train_logits.npy", NULL, &s.n_classes);
    s.val_f = load_f32("val_features.npy", &s.n_val, &c);
    s.val_l = load_f32("val_logits.npy", NULL, &c);
    s.test_f = load_f32("test_features.npy", &s.n_test, &c);
    s.test_l = load_f32("test_logits.npy", NULL, &c);
    s.aux_f = load_f32("aux_features.npy", &s.n_aux, &c);
    s.train_y = load_labels("train_labels.npy", &ny);
    cr_assert_eq(ny, s.n_train);
    cr_assert_eq(s.n_classes, 3);
    return s;
}

static void free_feature_set(feature_set *s) {
    free(s->train_f);
    free(s->train_l);
    free(s->val_f);
    free(s->val_l);
    free(s->test_f);
    free(s->test_l);
    free(s->aux_f);
    free(s->train_y);
}

static eb_detector_data train_data(const feature_set *s) {
    return (eb_detector_data){.n = s->n_train,
                              .features = s->train_f,
                              .dim = s->dim,
                              .logits = s->train_l,
                              .n_classes = s->n_classes,
                              .labels = s->train_y,
                              .aux_features = s->aux_f,
                              .n_aux = s->n_aux};
}
static eb_detector_data val_data(const feature_set *s) {
    return (eb_detector_data){
        .n = s->n_val, .features = s->val_f, .dim = s->dim, .logits = s->val_l, .n_classes = s->n_classes};
}
static eb_detector_data test_data(const feature_set *s) {
    return (eb_detector_data){
        .n = s->n_test, .features = s->test_f, .dim = s->dim, .logits = s->test_l, .n_classes = s->n_classes};
}

static eb_detector *new_detector(eb_detector_kind kind, const eb_detector_params *p) {
    eb_detector *d = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_detector_new(kind, p, &d, &err), EB_OK, "%s", err.message);
    return d;
}

/* Parameters of a case: the method's defaults with the case's "params" applied. */
static eb_detector_params case_params(eb_detector_kind kind, const cJSON *params) {
    eb_detector_params p = eb_detector_default_params(kind);
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(params, "temperature"))) p.temperature = (float)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(params, "eps"))) p.eps = (float)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(params, "shrinkage"))) p.shrinkage = (float)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(params, "k"))) p.k = (int64_t)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(params, "beta"))) p.beta = (float)v->valuedouble;
    return p;
}

/* Tolerance |got − want| ≤ atol + rtol·|want| per method (float32 kernels vs float64 references). */
static void tolerance(eb_detector_kind kind, double *atol, double *rtol) {
    switch (kind) {
    case EB_DETECTOR_MAHALANOBIS:
    case EB_DETECTOR_SSD:
        *atol = 2e-4;
        *rtol = 2e-5;
        break;
    case EB_DETECTOR_ODIN: /* tight enough that the T = 1000 case sees its perturbation */
        *atol = 1e-7;
        *rtol = 0;
        break;
    case EB_DETECTOR_KNN:
        *atol = 1e-5;
        *rtol = 0;
        break;
    case EB_DETECTOR_HOPFIELD:
    case EB_DETECTOR_HOPFIELD_AUX:
        *atol = 1e-4;
        *rtol = 1e-5;
        break;
    default:
        *atol = 1e-6;
        *rtol = 1e-5;
        break;
    }
}

static double max_excess(const float *got, const double *want, int64_t n, double atol, double rtol,
                         double *max_diff) {
    double worst = -INFINITY;
    *max_diff = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - want[i]);
        *max_diff = fmax(*max_diff, diff);
        worst = fmax(worst, diff - (atol + rtol * fabs(want[i])));
    }
    return worst;
}

/* The model part of the fixture. */
typedef struct model_set {
    eb_model *model;
    float *train_x, *train_f, *test_x, *test_f;
    int32_t *train_y;
    int64_t n_train, n_test, din, dim;
} model_set;

static model_set load_model_set(void) {
    model_set s;
    char path[1024];
    eb_error err = {0};
    int64_t c, ny;
    cr_assert_eq(eb_model_load(fixture(path, sizeof path, "mlp.safetensors"), NULL, &s.model, &err), EB_OK,
                 "%s", err.message);
    s.train_x = load_f32("mlp_train_inputs.npy", &s.n_train, &s.din);
    s.train_f = load_f32("mlp_train_features.npy", &c, &s.dim);
    s.test_x = load_f32("mlp_test_inputs.npy", &s.n_test, &c);
    s.train_y = load_labels("mlp_train_labels.npy", &ny);
    cr_assert_eq(s.dim, eb_model_feature_dim(s.model));
    s.test_f = malloc((size_t)(s.n_test * s.dim) * sizeof *s.test_f);
    float *logits = malloc((size_t)(s.n_test * eb_model_out_dim(s.model)) * sizeof *logits);
    cr_assert_eq(eb_model_predict(s.model, s.test_x, s.n_test, 7, logits, s.test_f, &err), EB_OK, "%s",
                 err.message);
    free(logits);
    return s;
}

static void free_model_set(model_set *s) {
    eb_model_free(s->model);
    free(s->train_x);
    free(s->train_f);
    free(s->test_x);
    free(s->test_f);
    free(s->train_y);
}

/* The fixture's "knn_sqdist_*" cases hold −(squared distance), the FAISS IndexFlatL2 form; the knn
 * detector reports −distance (the "knn_k*" cases). Same ranking. */
static bool checked_here(const char *case_name) { return strncmp(case_name, "knn_sqdist", 10) != 0; }

/* Scores, save, load, score again: bit-identical, same threshold and parameters. */
static void check_round_trip(eb_detector *d, const eb_detector_data *test, const char *name) {
    char path[1024];
    eb_error err = {0};
    eb_test_path(path, sizeof path, name);
    float *a = malloc((size_t)test->n * sizeof *a), *b = malloc((size_t)test->n * sizeof *b);
    cr_assert_eq(eb_detector_score(d, test, a, &err), EB_OK, "%s: %s", name, err.message);
    const eb_st_meta extra[] = {{"provenance.data", "fixture"}};
    cr_assert_eq(eb_detector_save(d, path, extra, 1, &err), EB_OK, "%s: %s", name, err.message);
    eb_detector *e = NULL;
    cr_assert_eq(eb_detector_load(path, &e, &err), EB_OK, "%s: %s", name, err.message);
    cr_assert_eq(eb_detector_kind_of(e), eb_detector_kind_of(d));
    cr_assert_eq(memcmp(eb_detector_get_params(e), eb_detector_get_params(d), sizeof(eb_detector_params)), 0,
                 "%s: params differ after load", name);
    cr_assert(isnan(eb_detector_threshold(d)) ? isnan(eb_detector_threshold(e))
                                              : eb_detector_threshold(e) == eb_detector_threshold(d),
              "%s: threshold %.17g -> %.17g", name, eb_detector_threshold(d), eb_detector_threshold(e));
    cr_assert_eq(eb_detector_dim(e), eb_detector_dim(d));
    cr_assert_eq(eb_detector_n_classes(e), eb_detector_n_classes(d));
    cr_assert_eq(eb_detector_input_dim(e), eb_detector_input_dim(d));
    cr_assert_str_eq(eb_detector_note(e), eb_detector_note(d));
    cr_assert_eq(eb_detector_score(e, test, b, &err), EB_OK, "%s: %s", name, err.message);
    cr_assert_eq(memcmp(a, b, (size_t)test->n * sizeof *a), 0, "%s: scores differ after save/load", name);
    eb_safetensors *st = NULL;
    cr_assert_eq(eb_safetensors_read(path, &st, &err), EB_OK, "%s", err.message);
    cr_assert_str_eq(eb_safetensors_meta(st, "provenance.data"), "fixture");
    eb_safetensors_free(st);
    eb_detector_free(e);
    remove(path);
    free(a);
    free(b);
}

/* ---- reference fixtures ----------------------------------------------------------------------- */

Test(detectors, match_references) {
    cJSON *root = load_cases();
    feature_set fs = load_feature_set();
    model_set ms = load_model_set();
    int n_checked = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        eb_detector_kind kind;
        eb_error err = {0};
        cr_assert_eq(
            eb_detector_kind_parse(cJSON_GetObjectItemCaseSensitive(c, "detector")->valuestring, &kind, &err),
            EB_OK, "%s", err.message);
        if (!checked_here(name)) continue;
        eb_detector_params p = case_params(kind, cJSON_GetObjectItemCaseSensitive(c, "params"));
        const cJSON *ths = cJSON_GetObjectItemCaseSensitive(c, "thresholds");
        if (ths) p.tpr = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ths, 0), "tpr")->valuedouble;
        eb_detector *d = new_detector(kind, &p);
        int64_t n_ref;
        double *ref = load_f64(cJSON_GetObjectItemCaseSensitive(c, "expected")->valuestring, &n_ref);
        const bool on_model = strcmp(cJSON_GetObjectItemCaseSensitive(c, "train")->valuestring, "model") == 0;
        float std[8];
        int64_t n_std = 0;
        const cJSON *sv;
        cJSON_ArrayForEach(sv, cJSON_GetObjectItemCaseSensitive(c, "input_std")) std[n_std++] =
            (float)sv->valuedouble;
        eb_detector_data train, test, val = val_data(&fs);
        if (on_model) {
            train = (eb_detector_data){.n = ms.n_train,
                                       .features = ms.train_f,
                                       .dim = ms.dim,
                                       .n_classes = 3,
                                       .labels = ms.train_y,
                                       .model = ms.model};
            test = (eb_detector_data){.n = ms.n_test,
                                      .features = ms.test_f,
                                      .dim = ms.dim,
                                      .n_classes = 3,
                                      .inputs = ms.test_x,
                                      .input_dim = ms.din,
                                      .input_std = n_std ? std : NULL,
                                      .n_input_std = n_std,
                                      .model = ms.model};
        } else {
            train = train_data(&fs);
            test = test_data(&fs);
        }
        cr_assert_eq(n_ref, test.n, "%s: reference length", name);
        cr_assert_eq(eb_detector_fit(d, &train, ths ? &val : NULL, &err), EB_OK, "%s: %s", name, err.message);
        float *got = malloc((size_t)test.n * sizeof *got);
        cr_assert_eq(eb_detector_score(d, &test, got, &err), EB_OK, "%s: %s", name, err.message);
        double atol, rtol, max_diff;
        tolerance(kind, &atol, &rtol);
        double excess = max_excess(got, ref, test.n, atol, rtol, &max_diff);
        cr_log_info("%-28s max |diff| %.3g", name, max_diff);
        cr_expect(excess <= 0, "%s: max |diff| %.3g exceeds atol %g + rtol %g", name, max_diff, atol, rtol);
        cr_expect_str_eq(eb_detector_note(d), "", "%s: unexpected note: %s", name, eb_detector_note(d));

        /* thresholds: the first via fit(val), the others via eb_detector_calibrate on the val scores */
        const cJSON *th;
        int ti = 0;
        cJSON_ArrayForEach(th, ths) {
            double tpr = cJSON_GetObjectItemCaseSensitive(th, "tpr")->valuedouble;
            double want = cJSON_GetObjectItemCaseSensitive(th, "value")->valuedouble;
            if (ti++ > 0) {
                float *vs = malloc((size_t)val.n * sizeof *vs);
                cr_assert_eq(eb_detector_score(d, &val, vs, &err), EB_OK, "%s", err.message);
                cr_assert_eq(eb_detector_calibrate(d, vs, val.n, tpr, &err), EB_OK, "%s", err.message);
                free(vs);
            }
            double t = eb_detector_threshold(d);
            cr_expect(fabs(t - want) <= atol + rtol * fabs(want), "%s tpr %g: threshold %.9g, want %.9g",
                      name, tpr, t, want);
            cr_expect_eq(eb_detector_get_params(d)->tpr, tpr);
            int64_t n_id;
            uint8_t *want_id =
                load_u8(cJSON_GetObjectItemCaseSensitive(th, "expected_is_id")->valuestring, &n_id);
            uint8_t *is_id = malloc((size_t)test.n);
            cr_assert_eq(eb_detector_predict(d, &test, NULL, is_id, &err), EB_OK, "%s", err.message);
            cr_expect_eq(memcmp(is_id, want_id, (size_t)test.n), 0, "%s tpr %g: predictions differ", name,
                         tpr);
            free(is_id);
            free(want_id);
        }
        check_round_trip(d, &test, name);
        free(got);
        free(ref);
        eb_detector_free(d);
        n_checked++;
    }
    cr_assert_geq(n_checked, 23, "only %d cases checked", n_checked);
    free_feature_set(&fs);
    free_model_set(&ms);
    cJSON_Delete(root);
}

/* Mahalanobis on more rows than one scoring block, against a direct double-precision
 * (z−μ)ᵀP(z−μ) with the saved means and precision. */
Test(detectors, mahalanobis_blocked_scoring_matches_direct_formula) {
    enum { D = 12, C = 4, N = 600, Q = 2500 };
    eb_rng rng;
    eb_rng_seed(&rng, 11);
    float *x = malloc(sizeof(float) * N * D), *q = malloc(sizeof(float) * Q * D);
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % C;
        for (int j = 0; j < D; j++)
            x[i * D + j] = 50.0f + (float)(y[i] * (j % 3)) + (float)eb_rng_normal(&rng);
    }
    for (int i = 0; i < Q * D; i++) q[i] = 50.0f + 3.0f * (float)eb_rng_normal(&rng);
    eb_detector *d = new_detector(EB_DETECTOR_MAHALANOBIS, NULL);
    eb_error err = {0};
    eb_detector_data train = {.n = N, .features = x, .dim = D, .n_classes = C, .labels = y};
    cr_assert_eq(eb_detector_fit(d, &train, NULL, &err), EB_OK, "%s", err.message);
    char path[1024];
    eb_test_path(path, sizeof path, "maha_blocked.safetensors");
    cr_assert_eq(eb_detector_save(d, path, NULL, 0, &err), EB_OK, "%s", err.message);
    eb_safetensors *st = NULL;
    cr_assert_eq(eb_safetensors_read(path, &st, &err), EB_OK, "%s", err.message);
    float means[C * D], prec[D * D];
    cr_assert_eq(eb_safetensors_get_f32(st, "means", 2, (int64_t[]){C, D}, means, &err), EB_OK, "%s",
                 err.message);
    cr_assert_eq(eb_safetensors_get_f32(st, "precision", 2, (int64_t[]){D, D}, prec, &err), EB_OK, "%s",
                 err.message);
    eb_safetensors_free(st);
    remove(path);
    float *got = malloc(sizeof(float) * Q);
    eb_detector_data test = {.n = Q, .features = q, .dim = D};
    cr_assert_eq(eb_detector_score(d, &test, got, &err), EB_OK, "%s", err.message);
    double worst = 0.0;
    for (int i = 0; i < Q; i++) {
        double best = -INFINITY;
        for (int c = 0; c < C; c++) {
            double acc = 0.0;
            for (int a = 0; a < D; a++)
                for (int b = 0; b < D; b++)
                    acc += ((double)q[i * D + a] - (double)means[c * D + a]) * (double)prec[a * D + b] *
                           ((double)q[i * D + b] - (double)means[c * D + b]);
            best = fmax(best, -0.5 * acc);
        }
        worst = fmax(worst, fabs((double)got[i] - best) / fmax(1.0, fabs(best)));
    }
    cr_log_info("blocked mahalanobis: max rel diff %.3g", worst);
    cr_expect_lt(worst, 1e-4, "max rel diff %.3g", worst);
    free(x);
    free(q);
    free(got);
    eb_detector_free(d);
}

/* A covariance that cannot be inverted (more dims than samples; a constant feature) gets a ridge
 * and a note, and still scores finitely; shrinkage > 0 needs no ridge. */
Test(detectors, singular_covariance_gets_a_ridge_and_a_note) {
    enum { D = 10, N = 6 };
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    float x[N * D];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % 2;
        for (int j = 0; j < D; j++) x[i * D + j] = j == 3 ? 1.0f : (float)eb_rng_normal(&rng);
    }
    eb_detector_data train = {.n = N, .features = x, .dim = D, .n_classes = 2, .labels = y};
    eb_error err = {0};
    for (int kind = EB_DETECTOR_MAHALANOBIS; kind <= EB_DETECTOR_SSD; kind++) {
        eb_detector *d = new_detector((eb_detector_kind)kind, NULL);
        cr_assert_eq(eb_detector_fit(d, &train, NULL, &err), EB_OK, "%s", err.message);
        cr_expect(strstr(eb_detector_note(d), "ridge") != NULL, "note: '%s'", eb_detector_note(d));
        cr_expect(strstr(eb_detector_note(d), eb_detector_kind_name((eb_detector_kind)kind)) != NULL);
        float s[N];
        eb_detector_data test = {.n = N, .features = x, .dim = D};
        cr_assert_eq(eb_detector_score(d, &test, s, &err), EB_OK, "%s", err.message);
        for (int i = 0; i < N; i++) cr_expect(isfinite(s[i]));
        check_round_trip(d, &test, "singular");
        eb_detector_free(d);
    }
    /* only the constant column: shrinkage makes Σ positive definite, no ridge needed */
    float x2[40 * D];
    int32_t y2[40];
    for (int i = 0; i < 40; i++) {
        y2[i] = i % 2;
        for (int j = 0; j < D; j++) x2[i * D + j] = j == 3 ? 1.0f : (float)eb_rng_normal(&rng);
    }
    eb_detector_data train2 = {.n = 40, .features = x2, .dim = D, .n_classes = 2, .labels = y2};
    eb_detector *plain = new_detector(EB_DETECTOR_MAHALANOBIS, NULL);
    cr_assert_eq(eb_detector_fit(plain, &train2, NULL, &err), EB_OK, "%s", err.message);
    cr_expect_neq(eb_detector_note(plain)[0], '\0', "a constant feature must trigger the ridge");
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_MAHALANOBIS);
    p.shrinkage = 0.5f;
    eb_detector *shrunk = new_detector(EB_DETECTOR_MAHALANOBIS, &p);
    cr_assert_eq(eb_detector_fit(shrunk, &train2, NULL, &err), EB_OK, "%s", err.message);
    cr_expect_str_eq(eb_detector_note(shrunk), "");
    eb_detector_free(plain);
    eb_detector_free(shrunk);
}

/* ---- threshold calibration ------------------------------------------------------------------------ */

static eb_detector *fitted_energy(void) {
    static const float logits[2] = {0.0f, 1.0f};
    eb_detector *d = new_detector(EB_DETECTOR_ENERGY, NULL);
    eb_error err = {0};
    eb_detector_data train = {.n = 1, .logits = logits, .n_classes = 2};
    cr_assert_eq(eb_detector_fit(d, &train, NULL, &err), EB_OK, "%s", err.message);
    return d;
}

Test(calibrate, quantile_rule) {
    eb_detector *d = fitted_energy();
    eb_error err = {0};
    float s[20];
    for (int i = 0; i < 20; i++) s[i] = (float)(20 - i); /* 20 … 1, any order */
    cr_assert_eq(eb_detector_calibrate(d, s, 20, 0.95, &err), EB_OK, "%s", err.message);
    cr_expect_eq(eb_detector_threshold(d), 2.0, "19 of 20 kept: threshold = 19th largest = 2");
    cr_assert_eq(eb_detector_calibrate(d, s, 20, 1.0, &err), EB_OK);
    cr_expect_eq(eb_detector_threshold(d), 1.0);
    cr_assert_eq(eb_detector_calibrate(d, s, 20, 0.01, &err), EB_OK);
    cr_expect_eq(eb_detector_threshold(d), 20.0);
    cr_assert_eq(eb_detector_calibrate(d, s, 3, 0.5, &err), EB_OK); /* 20, 19, 18: keep 2 */
    cr_expect_eq(eb_detector_threshold(d), 19.0);
    float ties[5] = {3, 1, 1, 1, 1};
    cr_assert_eq(eb_detector_calibrate(d, ties, 5, 0.5, &err), EB_OK);
    cr_expect_eq(eb_detector_threshold(d), 1.0, "ties keep more than asked");
    cr_expect_eq(eb_detector_get_params(d)->tpr, 0.5);
    eb_detector_free(d);
}

/* At tpr 0.95 the calibrated threshold is the operating point of eval's fpr95_id: the share of OOD
 * scores ≥ threshold equals fpr95_id computed with the same ID scores. */
Test(calibrate, agrees_with_fpr95_id) {
    eb_rng rng;
    eb_rng_seed(&rng, 99);
    for (int trial = 0; trial < 20; trial++) {
        int64_t n_id = 37 + trial * 13, n_ood = 50 + trial * 7;
        float *id = malloc((size_t)n_id * sizeof *id), *ood = malloc((size_t)n_ood * sizeof *ood);
        for (int64_t i = 0; i < n_id; i++) id[i] = (float)(int)(eb_rng_normal(&rng) * 8.0 + 4.0) / 4.0f;
        for (int64_t i = 0; i < n_ood; i++) ood[i] = (float)(int)(eb_rng_normal(&rng) * 8.0) / 4.0f;
        eb_detector *d = fitted_energy();
        eb_error err = {0};
        cr_assert_eq(eb_detector_calibrate(d, id, n_id, 0.95, &err), EB_OK, "%s", err.message);
        eb_ood_metrics m;
        cr_assert_eq(eb_ood_metrics_compute(id, n_id, ood, n_ood, &m, &err), EB_OK, "%s", err.message);
        int64_t accepted = 0, kept = 0;
        for (int64_t i = 0; i < n_ood; i++) accepted += (double)ood[i] >= eb_detector_threshold(d);
        for (int64_t i = 0; i < n_id; i++) kept += (double)id[i] >= eb_detector_threshold(d);
        cr_expect_eq((double)accepted / (double)n_ood, m.fpr95_id, "trial %d", trial);
        cr_expect_geq((double)kept / (double)n_id, 0.95);
        eb_detector_free(d);
        free(id);
        free(ood);
    }
}

Test(calibrate, bad_calls) {
    eb_error err = {0};
    eb_detector *d = new_detector(EB_DETECTOR_ENERGY, NULL);
    float s[3] = {1, 2, 3};
    cr_expect_eq(eb_detector_calibrate(d, s, 3, 0.95, &err), EB_ERR_STATE, "unfitted");
    eb_detector_free(d);
    d = fitted_energy();
    cr_expect_eq(eb_detector_calibrate(d, s, 0, 0.95, &err), EB_ERR_ARG);
    cr_expect_eq(eb_detector_calibrate(d, s, 3, 0.0, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "tpr") != NULL, "%s", err.message);
    cr_expect_eq(eb_detector_calibrate(d, s, 3, 1.5, &err), EB_ERR_ARG);
    s[1] = NAN;
    cr_expect_eq(eb_detector_calibrate(d, s, 3, 0.95, &err), EB_ERR_NUMERIC);
    cr_expect(strstr(err.message, "id_scores[1, 0]") != NULL, "%s", err.message);
    const float logits[2] = {1, 2};
    uint8_t is_id[1];
    eb_detector_data one = {.n = 1, .logits = logits, .n_classes = 2};
    cr_expect_eq(eb_detector_predict(d, &one, NULL, is_id, &err), EB_ERR_STATE, "not calibrated");
    cr_expect(strstr(err.message, "threshold") != NULL, "%s", err.message);
    eb_detector_free(d);
}

Test(calibrate, refit_clears_the_threshold) {
    feature_set fs = load_feature_set();
    eb_detector *d = new_detector(EB_DETECTOR_MSP, NULL);
    eb_error err = {0};
    eb_detector_data train = train_data(&fs), val = val_data(&fs);
    cr_assert_eq(eb_detector_fit(d, &train, &val, &err), EB_OK, "%s", err.message);
    cr_assert(!isnan(eb_detector_threshold(d)));
    cr_assert_eq(eb_detector_fit(d, &train, NULL, &err), EB_OK, "%s", err.message);
    cr_expect(isnan(eb_detector_threshold(d)));
    eb_detector_free(d);
    free_feature_set(&fs);
}

/* ---- names, parameters, needs ----------------------------------------------------------------------- */

Test(detectors, names_round_trip) {
    for (int k = 0; k < EB_DETECTOR_KIND_COUNT; k++) {
        eb_detector_kind out;
        cr_assert_eq(eb_detector_kind_parse(eb_detector_kind_name((eb_detector_kind)k), &out, NULL), EB_OK);
        cr_expect_eq((int)out, k);
    }
    cr_expect_str_eq(eb_detector_kind_name(EB_DETECTOR_HOPFIELD_AUX), "hopfield_aux");
    cr_expect_str_eq(eb_detector_kind_name((eb_detector_kind)99), "unknown");
    eb_error err = {0};
    eb_detector_kind out = EB_DETECTOR_SSD;
    cr_expect_eq(eb_detector_kind_parse("Mahalanobis", &out, &err), EB_ERR_ARG);
    cr_expect_eq(out, EB_DETECTOR_SSD, "unchanged on error");
    cr_expect(strstr(err.message, "'Mahalanobis'") && strstr(err.message, "mahalanobis"), "%s", err.message);
}

Test(detectors, parameters) {
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_ODIN);
    cr_expect_eq(p.temperature, 1000.0f);
    cr_expect_eq(p.eps, 0.0014f);
    cr_expect_eq(eb_detector_default_params(EB_DETECTOR_ENERGY).temperature, 1.0f);
    cr_expect_eq(eb_detector_default_params(EB_DETECTOR_KNN).k, 50);
    cr_expect_eq(eb_detector_default_params(EB_DETECTOR_HOPFIELD).beta, 4.0f);
    cr_expect_eq(eb_detector_default_params(EB_DETECTOR_MAHALANOBIS).eps, 0.0f);
    cr_expect_eq(eb_detector_default_params(EB_DETECTOR_MSP).tpr, 0.95);
    cr_expect_eq(eb_detector_params_used(EB_DETECTOR_MAX_LOGIT), (unsigned)EB_PARAM_TPR);
    cr_expect_eq(eb_detector_params_used(EB_DETECTOR_KNN), (unsigned)(EB_PARAM_K | EB_PARAM_TPR));
    static const struct {
        eb_detector_kind kind;
        const char *field, *needle;
    } bad[] = {
        {EB_DETECTOR_ENERGY, "temperature", "temperature"},
        {EB_DETECTOR_ODIN, "eps", "eps"},
        {EB_DETECTOR_KNN, "k", "k:"},
        {EB_DETECTOR_HOPFIELD, "beta", "beta"},
        {EB_DETECTOR_SSD, "shrinkage", "shrinkage"},
        {EB_DETECTOR_MSP, "tpr", "tpr"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_detector_params q = eb_detector_default_params(bad[i].kind);
        if (!strcmp(bad[i].field, "temperature")) q.temperature = 0.0f;
        if (!strcmp(bad[i].field, "eps")) q.eps = -0.1f;
        if (!strcmp(bad[i].field, "k")) q.k = 0;
        if (!strcmp(bad[i].field, "beta")) q.beta = NAN;
        if (!strcmp(bad[i].field, "shrinkage")) q.shrinkage = 1.5f;
        if (!strcmp(bad[i].field, "tpr")) q.tpr = 0.0;
        eb_error err = {0};
        eb_detector *d = (eb_detector *)&err; /* must be reset to NULL */
        cr_expect_eq(eb_detector_new(bad[i].kind, &q, &d, &err), EB_ERR_ARG, "%s", bad[i].field);
        cr_expect_null(d);
        cr_expect(strstr(err.message, bad[i].needle) != NULL, "%s: %s", bad[i].field, err.message);
    }
    /* a parameter the method does not read is not checked */
    eb_detector_params q = eb_detector_default_params(EB_DETECTOR_MAX_LOGIT);
    q.temperature = -1.0f;
    cr_expect_eq(eb_detector_params_check(EB_DETECTOR_MAX_LOGIT, &q, NULL), EB_OK);
}

Test(detectors, needs) {
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_MAHALANOBIS);
    eb_detector *d = new_detector(EB_DETECTOR_MAHALANOBIS, &p);
    cr_expect_eq(eb_detector_fit_needs(d), (unsigned)(EB_NEEDS_FEATURES | EB_NEEDS_LABELS));
    cr_expect_eq(eb_detector_score_needs(d), (unsigned)EB_NEEDS_FEATURES);
    eb_detector_free(d);
    p.eps = 0.01f;
    d = new_detector(EB_DETECTOR_SSD, &p);
    cr_expect_eq(eb_detector_score_needs(d), (unsigned)(EB_NEEDS_INPUTS | EB_NEEDS_MODEL));
    eb_detector_free(d);
    d = new_detector(EB_DETECTOR_ODIN, NULL);
    cr_expect_eq(eb_detector_fit_needs(d), (unsigned)EB_NEEDS_MODEL);
    cr_expect_eq(eb_detector_score_needs(d), (unsigned)(EB_NEEDS_INPUTS | EB_NEEDS_MODEL));
    eb_detector_free(d);
    d = new_detector(EB_DETECTOR_ENERGY, NULL);
    cr_expect_eq(eb_detector_score_needs(d), (unsigned)EB_NEEDS_LOGITS);
    eb_detector_free(d);
    d = new_detector(EB_DETECTOR_HOPFIELD_AUX, NULL);
    cr_expect_eq(eb_detector_fit_needs(d), (unsigned)(EB_NEEDS_FEATURES | EB_NEEDS_AUX));
    cr_expect_eq(eb_detector_score_needs(d), (unsigned)EB_NEEDS_FEATURES);
    eb_detector_free(d);
}

/* ---- bad input: fit and score ------------------------------------------------------------------------- */

/* Asserts status and that the message contains `needle`; the detector must be left unfitted. */
#define EXPECT_FIT_FAILS(d, train, val, status, needle)                                                      \
    do {                                                                                                     \
        eb_error e_ = {0};                                                                                   \
        cr_expect_eq(eb_detector_fit((d), (train), (val), &e_), (status), "%s", e_.message);                 \
        cr_expect(strstr(e_.message, (needle)) != NULL, "message '%s' lacks '%s'", e_.message, (needle));    \
        cr_expect(!eb_detector_is_fitted(d));                                                                \
    } while (0)

Test(bad_input, fit) {
    feature_set fs = load_feature_set();
    eb_detector *m = new_detector(EB_DETECTOR_MAHALANOBIS, NULL);
    eb_detector_data t = train_data(&fs);

    t.labels = NULL;
    EXPECT_FIT_FAILS(m, &t, NULL, EB_ERR_ARG, "train.labels: missing (mahalanobis needs it)");
    t = train_data(&fs);
    t.features = NULL;
    EXPECT_FIT_FAILS(m, &t, NULL, EB_ERR_ARG, "train.features: missing");
    t = train_data(&fs);
    t.n = 0;
    EXPECT_FIT_FAILS(m, &t, NULL, EB_ERR_ARG, "train.n");

    int32_t *y = malloc((size_t)fs.n_train * sizeof *y);
    memcpy(y, fs.train_y, (size_t)fs.n_train * sizeof *y);
    t = train_data(&fs);
    t.labels = y;
    y[5] = 3;
    EXPECT_FIT_FAILS(m, &t, NULL, EB_ERR_ARG, "train.labels[5]: label 3 outside [0, 3)");
    y[5] = -1;
    EXPECT_FIT_FAILS(m, &t, NULL, EB_ERR_ARG, "train.labels[5]");
    y[5] = fs.train_y[5];
    for (int64_t i = 0; i < fs.n_train; i++) y[i] = y[i] == 2 ? 1 : y[i];
    EXPECT_FIT_FAILS(m, &t, NULL, EB_ERR_ARG, "class 2 has no samples");
    free(y);

    float *f = malloc((size_t)(fs.n_train * fs.dim) * sizeof *f);
    memcpy(f, fs.train_f, (size_t)(fs.n_train * fs.dim) * sizeof *f);
    t = train_data(&fs);
    t.features = f;
    f[3 * fs.dim + 2] = NAN;
    EXPECT_FIT_FAILS(m, &t, NULL, EB_ERR_NUMERIC, "train.features[3, 2]: value is NaN");
    f[3 * fs.dim + 2] = -INFINITY;
    EXPECT_FIT_FAILS(m, &t, NULL, EB_ERR_NUMERIC, "train.features[3, 2]: value is -Inf");
    free(f);

    /* validation data of another width */
    t = train_data(&fs);
    eb_detector_data v = val_data(&fs);
    v.dim = fs.dim - 1;
    EXPECT_FIT_FAILS(m, &t, &v, EB_ERR_SHAPE,
                     "val.features: dim 5, the mahalanobis detector was fitted on dim 6");
    eb_detector_free(m);

    /* logits */
    eb_detector *e = new_detector(EB_DETECTOR_ENERGY, NULL);
    t = train_data(&fs);
    t.logits = NULL;
    EXPECT_FIT_FAILS(e, &t, NULL, EB_ERR_ARG, "train.logits: missing (energy needs it)");
    float *l = malloc((size_t)(fs.n_train * 3) * sizeof *l);
    memcpy(l, fs.train_l, (size_t)(fs.n_train * 3) * sizeof *l);
    l[7 * 3 + 1] = INFINITY;
    t = train_data(&fs);
    t.logits = l;
    EXPECT_FIT_FAILS(e, &t, NULL, EB_ERR_NUMERIC, "train.logits[7, 1]: value is +Inf");
    free(l);
    eb_detector_free(e);

    /* k larger than the bank */
    eb_detector_params kp = eb_detector_default_params(EB_DETECTOR_KNN);
    kp.k = fs.n_train + 1;
    eb_detector *k = new_detector(EB_DETECTOR_KNN, &kp);
    t = train_data(&fs);
    EXPECT_FIT_FAILS(k, &t, NULL, EB_ERR_ARG, "k: 81 is larger than the bank (80 training features)");
    eb_detector_free(k);

    /* aux features missing / NaN */
    eb_detector *h = new_detector(EB_DETECTOR_HOPFIELD_AUX, NULL);
    t = train_data(&fs);
    t.aux_features = NULL;
    EXPECT_FIT_FAILS(h, &t, NULL, EB_ERR_ARG, "train.aux_features: missing");
    eb_detector_free(h);

    /* odin without a model */
    eb_detector *o = new_detector(EB_DETECTOR_ODIN, NULL);
    t = train_data(&fs);
    EXPECT_FIT_FAILS(o, &t, NULL, EB_ERR_ARG, "train.model: missing (odin needs it)");
    eb_detector_free(o);
    free_feature_set(&fs);
}

#define EXPECT_SCORE_FAILS(d, data, status, needle)                                                          \
    do {                                                                                                     \
        eb_error e_ = {0};                                                                                   \
        float s_[64];                                                                                        \
        cr_expect_eq(eb_detector_score((d), (data), s_, &e_), (status), "%s", e_.message);                   \
        cr_expect(strstr(e_.message, (needle)) != NULL, "message '%s' lacks '%s'", e_.message, (needle));    \
    } while (0)

Test(bad_input, score) {
    feature_set fs = load_feature_set();
    model_set ms = load_model_set();
    eb_error err = {0};
    eb_detector *m = new_detector(EB_DETECTOR_MAHALANOBIS, NULL);
    eb_detector_data t = train_data(&fs), x = test_data(&fs);
    EXPECT_SCORE_FAILS(m, &x, EB_ERR_STATE, "not fitted");
    cr_assert_eq(eb_detector_fit(m, &t, NULL, &err), EB_OK, "%s", err.message);
    x.dim = 7;
    EXPECT_SCORE_FAILS(m, &x, EB_ERR_SHAPE, "features: dim 7, the mahalanobis detector was fitted on dim 6");
    x = test_data(&fs);
    float *f = malloc((size_t)(fs.n_test * fs.dim) * sizeof *f);
    memcpy(f, fs.test_f, (size_t)(fs.n_test * fs.dim) * sizeof *f);
    f[4 * fs.dim] = INFINITY;
    x.features = f;
    EXPECT_SCORE_FAILS(m, &x, EB_ERR_NUMERIC, "features[4, 0]: value is +Inf");
    free(f);
    x = test_data(&fs);
    x.n = 0;
    cr_expect_eq(eb_detector_score(m, &x, NULL, &err), EB_OK, "n = 0 is a no-op");
    eb_detector_free(m);

    eb_detector *e = new_detector(EB_DETECTOR_MSP, NULL);
    cr_assert_eq(eb_detector_fit(e, &t, NULL, &err), EB_OK, "%s", err.message);
    x = test_data(&fs);
    x.n_classes = 2;
    EXPECT_SCORE_FAILS(e, &x, EB_ERR_SHAPE, "logits: 2 classes, the msp detector was fitted on 3");
    eb_detector_free(e);

    /* odin: model with other dims, inputs of another width, bad std */
    eb_detector *o = new_detector(EB_DETECTOR_ODIN, NULL);
    eb_detector_data mt = {.n = ms.n_train, .model = ms.model};
    cr_assert_eq(eb_detector_fit(o, &mt, NULL, &err), EB_OK, "%s", err.message);
    cr_expect_eq(eb_detector_input_dim(o), 4);
    cr_expect_eq(eb_detector_n_classes(o), 3);
    eb_detector_data mx = {.n = 4, .inputs = ms.test_x, .input_dim = 4, .model = ms.model};
    mx.input_dim = 3;
    EXPECT_SCORE_FAILS(o, &mx, EB_ERR_SHAPE, "inputs: dim 3, the model expects 4");
    mx.input_dim = 4;
    mx.model = NULL;
    EXPECT_SCORE_FAILS(o, &mx, EB_ERR_ARG, "model: missing (odin needs it)");
    mx.model = ms.model;
    const float bad_std[2] = {1.0f, 0.0f};
    mx.input_std = bad_std;
    mx.n_input_std = 2;
    EXPECT_SCORE_FAILS(o, &mx, EB_ERR_ARG, "input_std[1]: must be a finite number > 0");
    mx.n_input_std = 3;
    EXPECT_SCORE_FAILS(o, &mx, EB_ERR_ARG, "input_std: need n_input_std >= 1 values dividing input_dim 4");
    mx.input_std = NULL;
    mx.n_input_std = 0;
    eb_mlp_config other = eb_mlp_default_config(5, 3);
    eb_model *m5 = NULL;
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    cr_assert_eq(eb_mlp_new(&other, &rng, NULL, &m5, &err), EB_OK);
    mx.model = m5;
    EXPECT_SCORE_FAILS(o, &mx, EB_ERR_SHAPE, "model: input dim 5, the odin detector was fitted on 4");
    eb_model_free(m5);
    eb_detector_free(o);

    /* mahalanobis pre-processing: needs the model, and the model's feature dim must match */
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_MAHALANOBIS);
    p.eps = 0.01f;
    eb_detector *mp = new_detector(EB_DETECTOR_MAHALANOBIS, &p);
    eb_detector_data ft = {
        .n = ms.n_train, .features = ms.train_f, .dim = ms.dim, .n_classes = 3, .labels = ms.train_y};
    cr_assert_eq(eb_detector_fit(mp, &ft, NULL, &err), EB_OK, "%s", err.message);
    eb_detector_data fx = {.n = 4, .features = ms.test_f, .dim = ms.dim};
    EXPECT_SCORE_FAILS(mp, &fx, EB_ERR_ARG, "model: missing (mahalanobis needs it)");
    eb_detector_free(mp);
    /* fitted on features of another width than the model's penultimate layer */
    mp = new_detector(EB_DETECTOR_MAHALANOBIS, &p);
    t = train_data(&fs);
    cr_assert_eq(eb_detector_fit(mp, &t, NULL, &err), EB_OK, "%s", err.message);
    mx = (eb_detector_data){.n = 4, .inputs = ms.test_x, .input_dim = 4, .model = ms.model};
    cr_assert_eq(fs.dim, ms.dim, "the fixture's two feature sets both have dim 6");
    mx.model = ms.model;
    eb_mlp_config c7 = eb_mlp_default_config(4, 3);
    c7.n_hidden = 1;
    c7.hidden[0] = 7;
    cr_assert_eq(eb_mlp_new(&c7, &rng, NULL, &m5, &err), EB_OK);
    mx.model = m5;
    EXPECT_SCORE_FAILS(mp, &mx, EB_ERR_SHAPE,
                       "model: 7 penultimate features, the mahalanobis detector was fitted on 6");
    eb_model_free(m5);
    eb_detector_free(mp);
    free_model_set(&ms);
    free_feature_set(&fs);
}

/* ---- bad input: files -----------------------------------------------------------------------------------
 */

/* A fitted Mahalanobis detector saved to a scratch file; returns the path in buf. */
static eb_detector *saved_maha(char *buf, size_t size, const char *name) {
    feature_set fs = load_feature_set();
    eb_detector *d = new_detector(EB_DETECTOR_MAHALANOBIS, NULL);
    eb_error err = {0};
    eb_detector_data t = train_data(&fs), v = val_data(&fs);
    cr_assert_eq(eb_detector_fit(d, &t, &v, &err), EB_OK, "%s", err.message);
    eb_test_path(buf, size, name);
    cr_assert_eq(eb_detector_save(d, buf, NULL, 0, &err), EB_OK, "%s", err.message);
    free_feature_set(&fs);
    return d;
}

/* Rewrites src's tensors with `meta` overrides (key → value; value NULL removes the key) and an
 * optional replacement for one tensor, into dst. */
static void rewrite(const char *src, const char *dst, const char *key, const char *value,
                    const eb_st_tensor *replace_tensor, const eb_st_tensor *add_tensor) {
    eb_safetensors *st = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_safetensors_read(src, &st, &err), EB_OK, "%s", err.message);
    eb_st_tensor t[20];
    int n = 0;
    for (int i = 0; i < eb_safetensors_count(st); i++) {
        t[n] = *eb_safetensors_at(st, i);
        if (replace_tensor && !strcmp(t[n].name, replace_tensor->name)) t[n] = *replace_tensor;
        n++;
    }
    if (add_tensor) t[n++] = *add_tensor;
    eb_st_meta m[20];
    int k = 0;
    bool seen = false;
    for (int i = 0; i < eb_safetensors_meta_count(st); i++) {
        m[k] = *eb_safetensors_meta_at(st, i);
        if (key && !strcmp(m[k].key, key)) {
            seen = true;
            if (!value) continue;
            m[k].value = value;
        }
        k++;
    }
    if (key && value && !seen) m[k++] = (eb_st_meta){key, value};
    cr_assert_eq(eb_safetensors_write(dst, t, n, m, k, &err), EB_OK, "%s", err.message);
    eb_safetensors_free(st);
}

#define EXPECT_LOAD_FAILS(path, status, needle)                                                              \
    do {                                                                                                     \
        eb_error e_ = {0};                                                                                   \
        eb_detector *d_ = (eb_detector *)&e_;                                                                \
        cr_expect_eq(eb_detector_load((path), &d_, &e_), (status), "%s", e_.message);                        \
        cr_expect_null(d_);                                                                                  \
        cr_expect(strstr(e_.message, (path)) != NULL, "message '%s' does not name the file", e_.message);    \
        cr_expect(strstr(e_.message, (needle)) != NULL, "message '%s' lacks '%s'", e_.message, (needle));    \
    } while (0)

Test(bad_input, files) {
    char good[1024], bad[1024];
    eb_detector *d = saved_maha(good, sizeof good, "good.safetensors");
    eb_test_path(bad, sizeof bad, "bad.safetensors");

    rewrite(good, bad, "ebood.detector", "frobnicate", NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_UNSUPPORTED, "unknown detector method 'frobnicate'");
    rewrite(good, bad, "ebood.format_version", "2", NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_UNSUPPORTED, "detector format version 2 (this ebood reads up to 1)");
    rewrite(good, bad, "ebood.format_version", "1x", NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "malformed ebood.format_version");
    rewrite(good, bad, "ebood.detector", NULL, NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "not an ebood detector file");
    rewrite(good, bad, "ebood.params", "{\"shrinkage\":0,\"k\":5,\"tpr\":0.95}", NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "unknown key 'k' for mahalanobis");
    rewrite(good, bad, "ebood.params", "{\"shrinkage\":2}", NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "shrinkage");
    rewrite(good, bad, "ebood.params", "[1]", NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "ebood.params is not a JSON object");
    rewrite(good, bad, "ebood.threshold", "abc", NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "malformed ebood.threshold 'abc'");
    rewrite(good, bad, "ebood.dim", "7", NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "means");
    rewrite(good, bad, "ebood.dim", "-1", NULL, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "ebood.dim");

    float prec[36] = {0}; /* all zero: symmetric, not positive definite */
    eb_st_tensor p = {.name = "precision",
                      .dtype = EB_ST_F32,
                      .ndim = 2,
                      .shape = {6, 6},
                      .data = prec,
                      .nbytes = sizeof prec};
    rewrite(good, bad, NULL, NULL, &p, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "'precision' is not positive definite");
    prec[1] = 1.0f;
    rewrite(good, bad, NULL, NULL, &p, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "'precision' is not symmetric");
    prec[1] = NAN;
    rewrite(good, bad, NULL, NULL, &p, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "'precision': element 1 is NaN");
    eb_st_tensor extra = {
        .name = "bonus", .dtype = EB_ST_F32, .ndim = 1, .shape = {1}, .data = prec + 2, .nbytes = 4};
    rewrite(good, bad, NULL, NULL, NULL, &extra);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "unexpected tensor 'bonus'");
    eb_st_tensor small = {
        .name = "means", .dtype = EB_ST_F32, .ndim = 2, .shape = {2, 6}, .data = prec, .nbytes = 48};
    rewrite(good, bad, NULL, NULL, &small, NULL);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "means");

    /* truncated / garbage / missing */
    char *text = NULL;
    size_t len = 0;
    eb_error err = {0};
    cr_assert_eq(eb_file_read_all(good, &text, &len, &err), EB_OK);
    cr_assert_eq(eb_test_write_file(bad, text, len / 2), 0);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "");
    free(text);
    cr_assert_eq(eb_test_write_file(bad, "garbage", 7), 0);
    EXPECT_LOAD_FAILS(bad, EB_ERR_FORMAT, "");
    remove(bad);
    EXPECT_LOAD_FAILS(bad, EB_ERR_IO, "");

    /* a model checkpoint is not a detector */
    char ckpt[1024];
    EXPECT_LOAD_FAILS(fixture(ckpt, sizeof ckpt, "mlp.safetensors"), EB_ERR_FORMAT,
                      "not an ebood detector file");

    /* saving: unfitted, missing directory (nothing left behind), clashing metadata key */
    char dir_path[1100];
    snprintf(dir_path, sizeof dir_path, "%s.nodir/out.safetensors", bad);
    cr_expect_eq(eb_detector_save(d, dir_path, NULL, 0, &err), EB_ERR_IO, "%s", err.message);
    cr_expect(strstr(err.message, dir_path) != NULL, "%s", err.message);
    cr_expect(!eb_test_file_exists(dir_path));
    const eb_st_meta clash[] = {{"ebood.detector", "knn"}};
    cr_expect_eq(eb_detector_save(d, bad, clash, 1, &err), EB_ERR_ARG, "%s", err.message);
    cr_expect(!eb_test_file_exists(bad), "no output after a failed save");
    eb_detector *u = new_detector(EB_DETECTOR_SSD, NULL);
    cr_expect_eq(eb_detector_save(u, bad, NULL, 0, &err), EB_ERR_STATE);
    cr_expect(strstr(err.message, bad) != NULL, "%s", err.message);
    cr_expect(!eb_test_file_exists(bad));
    eb_detector_free(u);
    eb_detector_free(d);
    remove(good);
}

/* Logit detectors and odin have no tensors; their files still round-trip (incl. the threshold). */
Test(detectors, tensorless_files_round_trip) {
    feature_set fs = load_feature_set();
    model_set ms = load_model_set();
    eb_error err = {0};
    for (int k = EB_DETECTOR_MSP; k <= EB_DETECTOR_ENERGY; k++) {
        eb_detector_params p = eb_detector_default_params((eb_detector_kind)k);
        p.temperature = 1.5f;
        p.tpr = 0.9;
        eb_detector *d = new_detector((eb_detector_kind)k, &p);
        eb_detector_data t = train_data(&fs), v = val_data(&fs), x = test_data(&fs);
        cr_assert_eq(eb_detector_fit(d, &t, &v, &err), EB_OK, "%s", err.message);
        check_round_trip(d, &x, eb_detector_kind_name((eb_detector_kind)k));
        eb_detector_free(d);
    }
    eb_detector *o = new_detector(EB_DETECTOR_ODIN, NULL);
    eb_detector_data mt = {.n = 1, .model = ms.model};
    cr_assert_eq(eb_detector_fit(o, &mt, NULL, &err), EB_OK, "%s", err.message);
    eb_detector_data mx = {.n = ms.n_test, .inputs = ms.test_x, .input_dim = ms.din, .model = ms.model};
    check_round_trip(o, &mx, "odin");
    eb_detector_free(o);
    free_model_set(&ms);
    free_feature_set(&fs);
}
