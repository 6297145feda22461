/* Sliced score matching (src/ood/objectives/score_matching.c) against the exact SSM-VR loss and gradient of
 * PyTorch's double backprop (tests/fixtures/ssm/ssm.json, scripts/make_ssm_fixture.py), the tolerance
 * derived from the estimator's error analysis, tests that the tolerance can fail, the supervised
 * variant, the objective's use of the rng, errors, and a short training run on a Gaussian blob.
 *
 * Tolerance (per gradient entry j; the value likewise with A):
 *   |C_j − exact_j| ≤ |fd_j − exact_j| + K·ε·(A_j + mean_j A_j)
 * fd = the same finite-difference estimator in float64 (the fixture), so fd − exact is its truncation
 * error alone (O(s²), checked by the script); C − fd is float32 rounding: Σ_r c_r ∂f_r/∂θ_j over the
 * 5B rows with every ∂f_r/∂θ_j off by a few ε relative, bounded by K·ε·A_j, A_j = Σ_r |c_r ∂f_r/∂θ_j|
 * (plus the mean A: rounding also reaches θ_j through the other layers' values). K = 16 ≈ Σ√n over the
 * forward and backward dot products of length n (3, 12, 12, 4 each way) of this MLP, the typical
 * accumulation of float32 errors; PyTorch's float32 run of the same estimator needs K ≤ 2.7. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <ebood/ebm.h>
#include <ebood/nn.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function" /* flag() and read_shape() are not needed here */
#include "fixture_json.h"
#pragma GCC diagnostic pop

#define EPS32   5.9604644775390625e-08 /* 2⁻²⁴ */
#define K_ROUND 16.0

/* ---- the fixture -------------------------------------------------------------------------------- */

typedef struct fd_ref {
    double h, step, loss, a_value;
    float *grad, *a_grad;
} fd_ref;

typedef struct ssm_case {
    char name[32];
    int64_t batch, dim, n_params;
    float *x, *v;
    int32_t *labels;
    double loss, score, trace, ce;
    float *grad_score, *grad_trace, *grad_ce;
    fd_ref fd[2];
    int n_fd;
} ssm_case;

typedef struct fixture {
    cJSON *doc;
    eb_model *model;
    ssm_case cases[2];
    int n_cases;
} fixture;

/* The gradient without the flat buffer's alignment padding: the parameters' values one after another, in
 * registration order (the fixture's layout). */
static int64_t packed_size(const eb_model *m) {
    int64_t n = 0;
    for (int i = 0; i < m->params.count; i++) n += m->params.info[i].size;
    return n;
}

static float *packed_grad(const eb_model *m) {
    float *g = malloc((size_t)packed_size(m) * sizeof(float));
    int64_t at = 0;
    for (int i = 0; i < m->params.count; i++) {
        const eb_param_info *pi = &m->params.info[i];
        memcpy(g + at, m->params.grad + pi->offset, (size_t)pi->size * sizeof(float));
        at += pi->size;
    }
    return g;
}

static int64_t floats_of(const cJSON *c, const char *key, float **out) {
    return read_floats(item(c, key), out);
}

/* The fixture's gradient arrays follow its "param_names"; check they are the model's, in its order. */
static void check_param_order(const cJSON *doc, const eb_model *m) {
    const cJSON *names = item(doc, "param_names");
    cr_assert_eq(cJSON_GetArraySize(names), m->params.count, "fixture has %d parameters, the model %d",
                 cJSON_GetArraySize(names), m->params.count);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, names) {
        cr_assert_str_eq(cJSON_GetStringValue(e), m->params.info[i].name);
        i++;
    }
}

/* The MLP 3 → 12 → 12 → 4, softplus(β = 1), with the fixture's weights (copied by name). */
static eb_model *fixture_model(const cJSON *doc) {
    const cJSON *model = item(doc, "model");
    const cJSON *dims = item(model, "dims");
    cr_assert_eq(cJSON_GetArraySize(dims), 4);
    eb_mlp_config c = {0};
    c.in_dim = (int64_t)cJSON_GetArrayItem(dims, 0)->valuedouble;
    c.n_hidden = 2;
    c.hidden[0] = (int64_t)cJSON_GetArrayItem(dims, 1)->valuedouble;
    c.hidden[1] = (int64_t)cJSON_GetArrayItem(dims, 2)->valuedouble;
    c.out_dim = (int64_t)cJSON_GetArrayItem(dims, 3)->valuedouble;
    c.activation = EB_ACT_SOFTPLUS;
    c.activation_param = (float)num(model, "beta");
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    const cJSON *params = item(doc, "params");
    for (int i = 0; i < m->params.count; i++) {
        const eb_param_info *pi = &m->params.info[i];
        float *w = NULL;
        int64_t n = floats_of(params, pi->name, &w);
        cr_assert_eq(n, pi->size, "%s: %lld values in the fixture, %lld in the model", pi->name, (long long)n,
                     (long long)pi->size);
        memcpy(m->params.data + pi->offset, w, (size_t)n * sizeof(float));
        free(w);
    }
    check_param_order(doc, m);
    return m;
}

static void load_case(const cJSON *c, int64_t n_params, ssm_case *k) {
    snprintf(k->name, sizeof k->name, "%s", cJSON_GetStringValue(item(c, "name")));
    k->batch = (int64_t)num(c, "batch");
    k->dim = (int64_t)num(c, "dim");
    k->n_params = n_params;
    cr_assert_eq(floats_of(c, "x", &k->x), k->batch * k->dim);
    cr_assert_eq(floats_of(c, "v", &k->v), k->batch * k->dim);
    float *lab = NULL;
    cr_assert_eq(floats_of(c, "labels", &lab), k->batch);
    k->labels = malloc((size_t)k->batch * sizeof(int32_t));
    for (int64_t i = 0; i < k->batch; i++) k->labels[i] = (int32_t)lab[i];
    free(lab);
    const cJSON *ex = item(c, "exact");
    k->loss = num(ex, "loss");
    k->score = num(ex, "score");
    k->trace = num(ex, "trace");
    cr_assert_eq(floats_of(ex, "grad_score", &k->grad_score), n_params);
    cr_assert_eq(floats_of(ex, "grad_trace", &k->grad_trace), n_params);
    const cJSON *ce = item(c, "ce");
    k->ce = num(ce, "value");
    cr_assert_eq(floats_of(ce, "grad", &k->grad_ce), n_params);
    const cJSON *fds = item(c, "fd");
    k->n_fd = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, fds) {
        cr_assert_lt(k->n_fd, 2);
        fd_ref *r = &k->fd[k->n_fd++];
        r->h = num(e, "h");
        r->step = num(e, "step");
        r->loss = num(e, "loss");
        r->a_value = num(e, "a_value");
        cr_assert_eq(floats_of(e, "grad", &r->grad), n_params);
        cr_assert_eq(floats_of(e, "a_grad", &r->a_grad), n_params);
    }
    cr_assert_eq(k->n_fd, 2);
}

static fixture load_fixture(void) {
    fixture f = {0};
    f.doc = load_fixture_json("ssm/ssm.json");
    f.model = fixture_model(f.doc);
    const cJSON *e;
    cJSON_ArrayForEach(e, item(f.doc, "cases")) {
        cr_assert_lt(f.n_cases, 2);
        load_case(e, packed_size(f.model), &f.cases[f.n_cases++]);
    }
    cr_assert_eq(f.n_cases, 2);
    return f;
}

static void free_fixture(fixture *f) {
    for (int i = 0; i < f->n_cases; i++) {
        ssm_case *k = &f->cases[i];
        free(k->x);
        free(k->v);
        free(k->labels);
        free(k->grad_score);
        free(k->grad_trace);
        free(k->grad_ce);
        for (int j = 0; j < k->n_fd; j++) {
            free(k->fd[j].grad);
            free(k->fd[j].a_grad);
        }
    }
    eb_model_free(f->model);
    cJSON_Delete(f->doc);
}

/* ---- running the C estimator ---------------------------------------------------------------------- */

/* Loss terms and a malloc'd copy of the parameter gradient for case k at step h, weight γ. */
static float *run_ssm(eb_model *m, const ssm_case *k, double h, double ce_weight, eb_ssm_terms *t) {
    eb_ssm_config c = eb_ssm_default_config();
    c.h = h;
    c.ce_weight = ce_weight;
    eb_error err = {0};
    eb_status st = eb_ssm_loss_grad(m, k->x, k->labels, k->batch, k->v, &c, NULL, t, &err);
    cr_assert_eq(st, EB_OK, "eb_ssm_loss_grad: %s", err.message);
    return packed_grad(m);
}

static double mean_of(const float *a, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i];
    return s / (double)n;
}

/* tol_j = |fd_j − exact_j|·with_truncation + K·ε·(A_j + mean A), into tol[n]. */
static void grad_tolerance(const ssm_case *k, const fd_ref *r, bool with_truncation, double *tol) {
    const double abar = mean_of(r->a_grad, k->n_params);
    for (int64_t j = 0; j < k->n_params; j++) {
        const double exact = (double)k->grad_score[j] + (double)k->grad_trace[j];
        tol[j] = K_ROUND * EPS32 * ((double)r->a_grad[j] + abar) +
                 (with_truncation ? fabs((double)r->grad[j] - exact) : 0.0);
    }
}

typedef struct cmp {
    int64_t violations;
    double max_err, max_tol, max_ratio, max_ref;
} cmp;

/* Compares got[j] with ref[j] = a·grad_score + b·grad_trace (+ offset), j < n, within tol[j]. */
static cmp compare(const float *got, const float *ref, int64_t n, const double *tol) {
    cmp c = {0, 0, 0, 0, 0};
    for (int64_t j = 0; j < n; j++) {
        double e = fabs((double)got[j] - (double)ref[j]);
        if (e > tol[j]) c.violations++;
        c.max_err = fmax(c.max_err, e);
        c.max_tol = fmax(c.max_tol, tol[j]);
        c.max_ratio = fmax(c.max_ratio, e / tol[j]);
        c.max_ref = fmax(c.max_ref, fabs((double)ref[j]));
    }
    return c;
}

static float *combine(const ssm_case *k, double a, double b) {
    float *out = malloc((size_t)k->n_params * sizeof(float));
    for (int64_t j = 0; j < k->n_params; j++)
        out[j] = (float)(a * (double)k->grad_score[j] + b * (double)k->grad_trace[j]);
    return out;
}

/* ---- tests ----------------------------------------------------------------------------------------- */

Test(ssm, config_defaults_check_and_json) {
    eb_ssm_config c = eb_ssm_default_config();
    cr_expect_eq(c.h, 0.02);
    cr_expect_eq(c.ce_weight, 0.0);
    cr_expect_eq(eb_ssm_supervised_default_config().ce_weight, 1.0);
    eb_error err = {0};
    cr_expect_eq(eb_ssm_config_check(&c, &err), EB_OK);
    const double bad_h[] = {0.0, -0.1, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_h / sizeof *bad_h; i++) {
        eb_ssm_config b = c;
        b.h = bad_h[i];
        cr_expect_eq(eb_ssm_config_check(&b, &err), EB_ERR_ARG, "h = %g accepted", bad_h[i]);
        cr_expect(strstr(err.message, "h = ") != NULL, "%s", err.message);
    }
    const double bad_w[] = {-1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_w / sizeof *bad_w; i++) {
        eb_ssm_config b = c;
        b.ce_weight = bad_w[i];
        cr_expect_eq(eb_ssm_config_check(&b, &err), EB_ERR_ARG, "ce_weight = %g accepted", bad_w[i]);
        cr_expect(strstr(err.message, "ce_weight") != NULL, "%s", err.message);
    }
    cr_expect_eq(eb_ssm_config_check(NULL, &err), EB_ERR_ARG);
    char *js = eb_ssm_config_json(&c);
    cr_assert_not_null(js);
    cJSON *doc = cJSON_Parse(js);
    cr_assert_not_null(doc, "not JSON: %s", js);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "objective")), "ssm");
    cr_expect_eq(cJSON_GetObjectItem(doc, "h")->valuedouble, 0.02);
    cr_expect_eq(cJSON_GetObjectItem(doc, "ce_weight")->valuedouble, 0.0);
    cJSON_Delete(doc);
    free(js);
}

Test(ssm, matches_exact_double_backprop_at_the_default_h) {
    fixture f = load_fixture();
    for (int ci = 0; ci < f.n_cases; ci++) {
        const ssm_case *k = &f.cases[ci];
        const fd_ref *r = &k->fd[0];
        cr_assert_eq(r->h, eb_ssm_default_config().h, "the fixture's first h is the default");
        eb_ssm_terms t;
        float *g = run_ssm(f.model, k, r->h, 0.0, &t);
        /* the step rule s = h·max(1, rms(x)) */
        cr_expect(fabs(t.step - r->step) <= 1e-6 * r->step, "%s: step %.9g, expected %.9g", k->name, t.step,
                  r->step);
        /* value */
        double tol_v = fabs(r->loss - k->loss) + K_ROUND * EPS32 * r->a_value;
        cr_log_info("%s h=%g: loss %.7f exact %.7f (|err| %.2e, tol %.2e); score %.7f (exact %.7f), trace "
                    "%.7f (exact %.7f)",
                    k->name, r->h, t.loss, k->loss, fabs(t.loss - k->loss), tol_v, t.score, k->score, t.trace,
                    k->trace);
        cr_expect(fabs(t.loss - k->loss) <= tol_v, "%s: loss %.7f vs exact %.7f (tol %.2e)", k->name, t.loss,
                  k->loss, tol_v);
        cr_expect(fabs(t.loss - (t.score + t.trace)) <= 1e-6 * (1.0 + fabs(t.loss)),
                  "the returned loss is the estimator's value");
        cr_expect(fabs(t.score - k->score) <= 1e-5 * (1.0 + k->score), "%s: score %.8f vs %.8f", k->name,
                  t.score, k->score);
        /* gradient */
        double *tol = malloc((size_t)k->n_params * sizeof(double));
        grad_tolerance(k, r, true, tol);
        float *exact = combine(k, 1.0, 1.0);
        cmp c = compare(g, exact, k->n_params, tol);
        cr_log_info("%s h=%g: max|grad err| %.2e, max tol %.2e, max err/tol %.2f, max|grad| %.3f", k->name,
                    r->h, c.max_err, c.max_tol, c.max_ratio, c.max_ref);
        cr_expect_eq(c.violations, 0,
                     "%s: %lld of %lld gradient entries outside the tolerance (max err/tol %.2f)", k->name,
                     (long long)c.violations, (long long)k->n_params, c.max_ratio);
        /* the tolerance resolves the gradient: at most 5% of its largest entry */
        cr_expect_lt(c.max_tol, 0.05 * c.max_ref, "%s: tolerance %.3g too loose for max|grad| %.3g", k->name,
                     c.max_tol, c.max_ref);
        free(exact);
        free(tol);
        free(g);
    }
    free_fixture(&f);
}

/* At h = 0.1 the rounding bound is 25× smaller than at 0.02 while the truncation error is 25× larger: the
 * C estimator equals the float64 estimator within the rounding bound ALONE, and it is several times closer
 * to that estimator than to the exact gradient — the comparison sees the O(s²) truncation. */
Test(ssm, equals_the_float64_estimator_and_resolves_its_truncation) {
    fixture f = load_fixture();
    for (int ci = 0; ci < f.n_cases; ci++) {
        const ssm_case *k = &f.cases[ci];
        const fd_ref *r = &k->fd[1];
        eb_ssm_terms t;
        float *g = run_ssm(f.model, k, r->h, 0.0, &t);
        cr_expect(fabs(t.step - r->step) <= 1e-6 * r->step);
        double tol_v = K_ROUND * EPS32 * r->a_value;
        cr_expect(fabs(t.loss - r->loss) <= tol_v, "%s h=%g: loss %.8f vs float64 estimator %.8f (tol %.2e)",
                  k->name, r->h, t.loss, r->loss, tol_v);
        double *tol = malloc((size_t)k->n_params * sizeof(double));
        grad_tolerance(k, r, false, tol);
        cmp c = compare(g, r->grad, k->n_params, tol);
        cr_log_info("%s h=%g: vs float64 estimator max|err| %.2e, max tol %.2e (max err/tol %.2f)", k->name,
                    r->h, c.max_err, c.max_tol, c.max_ratio);
        cr_expect_eq(c.violations, 0,
                     "%s h=%g: %lld entries differ from the float64 estimator beyond rounding", k->name, r->h,
                     (long long)c.violations);
        float *exact = combine(k, 1.0, 1.0);
        cmp e = compare(g, exact, k->n_params, tol);
        cr_log_info("%s h=%g: vs exact max|err| %.2e (truncation), entries beyond the rounding bound: %lld",
                    k->name, r->h, e.max_err, (long long)e.violations);
        cr_expect_gt(e.max_err, 4.0 * c.max_err, "%s: the truncation error should be visible at h=%g",
                     k->name, r->h);
        free(exact);
        free(tol);
        free(g);
    }
    free_fixture(&f);
}

/* The same comparison rejects a wrong estimator: the trace term with the wrong sign, the score term missing,
 * or a step far too large (h = 1: truncation ~ s²). */
Test(ssm, the_tolerance_rejects_wrong_estimators) {
    fixture f = load_fixture();
    for (int ci = 0; ci < f.n_cases; ci++) {
        const ssm_case *k = &f.cases[ci];
        const fd_ref *r = &k->fd[0];
        eb_ssm_terms t;
        float *g = run_ssm(f.model, k, r->h, 0.0, &t);
        double *tol = malloc((size_t)k->n_params * sizeof(double));
        grad_tolerance(k, r, true, tol);
        float *wrong_sign = combine(k, 1.0, -1.0), *no_score = combine(k, 0.0, 1.0),
              *no_trace = combine(k, 1.0, 0.0);
        cmp a = compare(g, wrong_sign, k->n_params, tol), b = compare(g, no_score, k->n_params, tol),
            c = compare(g, no_trace, k->n_params, tol);
        cr_log_info(
            "%s: entries outside the tolerance against: −trace %lld, no score %lld, no trace %lld (of %lld)",
            k->name, (long long)a.violations, (long long)b.violations, (long long)c.violations,
            (long long)k->n_params);
        cr_expect_gt(a.violations, k->n_params / 2, "%s: a wrong-sign trace term would pass", k->name);
        cr_expect_gt(b.violations, k->n_params / 4, "%s: a missing score term would pass", k->name);
        cr_expect_gt(c.violations, k->n_params / 4, "%s: a missing trace term would pass", k->name);
        cr_expect(fabs(t.loss - (k->score - k->trace)) >
                      10.0 * (fabs(r->loss - k->loss) + K_ROUND * EPS32 * r->a_value),
                  "%s: the value check would not see a wrong-sign trace", k->name);

        eb_ssm_terms tl;
        float *gl = run_ssm(f.model, k, 1.0, 0.0, &tl);
        float *exact = combine(k, 1.0, 1.0);
        cmp d = compare(gl, exact, k->n_params, tol);
        cr_log_info("%s: h = 1: max|err| %.3g vs max tol %.3g at the default h; %lld entries outside",
                    k->name, d.max_err, d.max_tol, (long long)d.violations);
        cr_expect_gt(d.violations, k->n_params / 10, "%s: h = 1 should be visibly worse", k->name);
        cr_expect_gt(d.max_err, d.max_tol, "%s: h = 1 should be visibly worse", k->name);
        free(exact);
        free(gl);
        free(wrong_sign);
        free(no_score);
        free(no_trace);
        free(tol);
        free(g);
    }
    free_fixture(&f);
}

Test(ssm, supervised_variant_adds_gamma_times_cross_entropy) {
    fixture f = load_fixture();
    for (int ci = 0; ci < f.n_cases; ci++) {
        const ssm_case *k = &f.cases[ci];
        eb_ssm_terms t0, t1, t2;
        float *g0 = run_ssm(f.model, k, 0.02, 0.0, &t0);
        float *g1 = run_ssm(f.model, k, 0.02, 1.0, &t1);
        float *g2 = run_ssm(f.model, k, 0.02, 0.5, &t2);
        cr_expect(isnan(t0.ce) && t0.n_correct == -1, "unsupervised: no CE term");
        cr_expect(fabs(t1.ce - k->ce) <= 1e-5 * (1.0 + k->ce), "%s: CE %.8f vs torch %.8f", k->name, t1.ce,
                  k->ce);
        cr_expect(t1.n_correct >= 0 && t1.n_correct <= k->batch);
        cr_expect(fabs((t1.loss - t0.loss) - k->ce) <= 1e-5 * (1.0 + fabs(t1.loss)),
                  "%s: L(γ=1) − L(γ=0) = %.8f, CE %.8f", k->name, t1.loss - t0.loss, k->ce);
        cr_expect(fabs((t2.loss - t0.loss) - 0.5 * k->ce) <= 1e-5 * (1.0 + fabs(t2.loss)), "γ = 0.5");
        /* ∇L(γ) − ∇L(0) = γ·∇CE up to the rounding of the two finite-difference gradients: the FD rows' terms
         * (~A_j) are summed into a buffer that starts at 0 in one run and at ∇CE in the other, so their
         * rounding differs by up to twice the bound. And ∇L(1) against the exact gradient + ∇CE. */
        const fd_ref *r = &k->fd[0];
        double *tol = malloc((size_t)k->n_params * sizeof(double)),
               *tol_exact = malloc((size_t)k->n_params * sizeof(double));
        grad_tolerance(k, r, false, tol);
        grad_tolerance(k, r, true, tol_exact);
        float *exact = combine(k, 1.0, 1.0);
        int64_t bad1 = 0, bad2 = 0, bad_exact = 0;
        double max_err1 = 0.0, max_ce = 0.0;
        for (int64_t j = 0; j < k->n_params; j++) {
            const double gce = (double)k->grad_ce[j], e1 = fabs((double)g1[j] - (double)g0[j] - gce),
                         e2 = fabs((double)g2[j] - (double)g0[j] - 0.5 * gce),
                         slack = 1e-5 * (1.0 + fabs(gce));
            bad1 += e1 > 2.0 * tol[j] + slack;
            bad2 += e2 > 2.0 * tol[j] + slack;
            bad_exact += fabs((double)g1[j] - ((double)exact[j] + gce)) > tol_exact[j] + slack;
            max_err1 = fmax(max_err1, e1);
            max_ce = fmax(max_ce, fabs(gce));
        }
        cr_log_info("%s: max|∇(L(γ=1) − L(γ=0)) − ∇CE| %.2e (max|∇CE| %.3f)", k->name, max_err1, max_ce);
        cr_expect_eq(bad1, 0, "%s: γ = 1: %lld entries of ∇L(1) − ∇L(0) differ from ∇CE", k->name,
                     (long long)bad1);
        cr_expect_eq(bad2, 0, "%s: γ = 0.5: %lld entries of ∇L(½) − ∇L(0) differ from ½∇CE", k->name,
                     (long long)bad2);
        cr_expect_eq(bad_exact, 0, "%s: γ = 1: %lld entries differ from the exact ∇(SSM + CE)", k->name,
                     (long long)bad_exact);
        free(exact);
        free(tol);
        free(tol_exact);
        free(g0);
        free(g1);
        free(g2);
    }
    free_fixture(&f);
}

/* The objective draws v = sign(N(0, I)) from the trainer's rng: reproducible per stream, different between
 * streams, and distributed as Rademacher — for D = 3 the 8 sign patterns are equally likely, so the mean
 * trace term over many draws approaches the mean over the 8 patterns (given explicitly). */
Test(ssm, objective_draws_rademacher_projections_from_the_rng) {
    fixture f = load_fixture();
    const ssm_case *k = &f.cases[0];
    eb_ssm_config c = eb_ssm_default_config();
    const int64_t B = k->batch, D = k->dim;
    cr_assert_eq(D, 3);

    /* the expectation: every row with each of the 8 patterns */
    double expect = 0.0;
    float *v = malloc((size_t)(B * D) * sizeof(float));
    for (int p = 0; p < 8; p++) {
        for (int64_t i = 0; i < B; i++)
            for (int64_t d = 0; d < D; d++) v[i * D + d] = (p >> d) & 1 ? 1.0f : -1.0f;
        eb_ssm_terms t;
        eb_error err = {0};
        cr_assert_eq(eb_ssm_loss_grad(f.model, k->x, NULL, B, v, &c, NULL, &t, &err), EB_OK, "%s",
                     err.message);
        expect += t.trace / 8.0;
    }
    free(v);

    eb_graph *g = eb_graph_new(0, NULL);
    enum { DRAWS = 300 };
    double sum = 0.0, sum2 = 0.0, first = NAN;
    eb_rng rng;
    eb_rng_seed(&rng, 77);
    for (int d = 0; d < DRAWS; d++) {
        eb_graph_reset(g);
        eb_batch batch = {eb_tensor_input(g, k->x, 2, EB_SHAPE(B, D), false), NULL, B, 0};
        int64_t correct = 5;
        eb_tensor *loss = eb_objective_ssm(&c, f.model, g, &batch, &rng, &correct);
        cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
        cr_expect_eq(correct, -1);
        const double value = (double)loss->data[0]; /* score term (the same every draw) + trace term */
        if (d == 0) first = value;
        sum += value;
        sum2 += value * value;
    }
    /* the score term, to subtract: it does not depend on v */
    eb_ssm_terms t0;
    eb_error err = {0};
    float ones[24];
    for (int i = 0; i < 24; i++) ones[i] = 1.0f;
    cr_assert_leq(B * D, 24);
    cr_assert_eq(eb_ssm_loss_grad(f.model, k->x, NULL, B, ones, &c, NULL, &t0, &err), EB_OK);
    const double mean = sum / DRAWS - t0.score, var = sum2 / DRAWS - (sum / DRAWS) * (sum / DRAWS),
                 se = sqrt(var / DRAWS);
    cr_log_info("mean trace over %d draws %.5f ± %.5f, expectation over the sign patterns %.5f", DRAWS, mean,
                se, expect);
    cr_expect_gt(se, 0.0, "the projections should vary between draws");
    cr_expect(fabs(mean - expect) <= 4.0 * se + 1e-6, "mean trace %.5f vs %.5f (se %.5f)", mean, expect, se);

    /* reproducible per stream */
    eb_rng_seed(&rng, 77);
    eb_graph_reset(g);
    eb_batch batch = {eb_tensor_input(g, k->x, 2, EB_SHAPE(B, D), false), NULL, B, 0};
    eb_tensor *loss = eb_objective_ssm(&c, f.model, g, &batch, &rng, NULL);
    cr_expect_eq((double)loss->data[0], first, "same stream, same projections");
    eb_graph_free(g);
    free_fixture(&f);
}

Test(ssm, parameter_gradients_come_only_from_the_loss) {
    fixture f = load_fixture();
    const ssm_case *k = &f.cases[0];
    eb_ssm_config c = eb_ssm_default_config();
    eb_graph *g = eb_graph_new(0, NULL);
    eb_params_zero_grad(&f.model->params);
    eb_tensor *x = eb_tensor_input(g, k->x, 2, EB_SHAPE(k->batch, k->dim), false);
    eb_tensor *loss = eb_ssm_loss(g, f.model, x, NULL, k->v, &c, NULL, NULL);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    for (int64_t j = 0; j < f.model->params.size; j++)
        cr_assert_eq(f.model->params.grad[j], 0.0f,
                     "the input-gradient sweep touched parameter gradient %lld", (long long)j);
    cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK);
    double n2 = 0.0;
    for (int64_t j = 0; j < f.model->params.size; j++)
        n2 += (double)f.model->params.grad[j] * (double)f.model->params.grad[j];
    cr_expect_gt(n2, 0.0, "the freeze must be lifted after the input-gradient sweep");
    eb_graph_free(g);
    free_fixture(&f);
}

Test(ssm, bad_input_is_an_error_on_the_graph) {
    fixture f = load_fixture();
    const ssm_case *k = &f.cases[0];
    eb_ssm_config c = eb_ssm_supervised_default_config();
    eb_graph *g = eb_graph_new(0, NULL);

    /* wrong input width */
    eb_tensor *x2 = eb_tensor_input(g, k->x, 2, EB_SHAPE(k->batch, 2), false);
    eb_ssm_loss(g, f.model, x2, k->labels, k->v, &c, NULL, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_SHAPE);
    cr_expect(strstr(eb_graph_error(g), "ssm: input shape [8, 2], expected [B, 3]") != NULL, "%s",
              eb_graph_error(g));

    /* supervised without labels */
    eb_graph_reset(g);
    eb_tensor *x = eb_tensor_input(g, k->x, 2, EB_SHAPE(k->batch, k->dim), false);
    eb_ssm_loss(g, f.model, x, NULL, k->v, &c, NULL, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);
    cr_expect(strstr(eb_graph_error(g), "no labels") != NULL, "%s", eb_graph_error(g));

    /* no v and no rng */
    eb_graph_reset(g);
    x = eb_tensor_input(g, k->x, 2, EB_SHAPE(k->batch, k->dim), false);
    eb_ssm_loss(g, f.model, x, k->labels, NULL, &c, NULL, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);

    /* the objective with a NULL or bad config */
    eb_graph_reset(g);
    x = eb_tensor_input(g, k->x, 2, EB_SHAPE(k->batch, k->dim), false);
    eb_batch batch = {x, k->labels, k->batch, 0};
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_objective_ssm(NULL, f.model, g, &batch, &rng, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);
    eb_graph_reset(g);
    x = eb_tensor_input(g, k->x, 2, EB_SHAPE(k->batch, k->dim), false);
    batch.x = x;
    eb_ssm_config bad = c;
    bad.h = -1.0;
    eb_objective_ssm(&bad, f.model, g, &batch, &rng, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);
    cr_expect(strstr(eb_graph_error(g), "h = -1") != NULL, "%s", eb_graph_error(g));

    /* non-finite input */
    eb_graph_reset(g);
    float xn[24];
    memcpy(xn, k->x, sizeof xn);
    xn[4] = NAN;
    x = eb_tensor_input(g, xn, 2, EB_SHAPE(k->batch, k->dim), false);
    eb_ssm_loss(g, f.model, x, k->labels, k->v, &c, NULL, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_NUMERIC, "%s", eb_graph_error(g));

    /* the helper: errors as values */
    eb_error err = {0};
    eb_ssm_terms t;
    cr_expect_eq(eb_ssm_loss_grad(f.model, k->x, k->labels, 0, k->v, &c, NULL, &t, &err), EB_ERR_ARG);
    cr_expect_eq(eb_ssm_loss_grad(f.model, k->x, NULL, k->batch, k->v, &c, NULL, &t, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "no labels") != NULL, "%s", err.message);
    eb_graph_free(g);
    free_fixture(&f);
}

/* ---- end to end: SSM on a 2-D Gaussian blob ------------------------------------------------------- */
/* Score matching fits ∇ₓf to the data's score −(x − μ)/σ², so f(μ) − f(μ + 4σ·e) → 8 (½·4²). After 200
 * Adam steps (lr 5e-3) data/init/shuffle seeds 1–6 gave a gap to the ring's maximum of 5.8–6.9; the test
 * asks for 2. */
Test(ssm, training_on_a_gaussian_blob_puts_the_mode_at_the_mean) {
    enum { N = 512, D = 2 };
    const float mu[D] = {1.0f, -2.0f}, sigma = 0.5f;
    eb_threads_set(1); /* 64-row GEMMs: an OpenMP team only spins (10× slower on the shared machine) */
    float *x = malloc(sizeof(float) * N * D);
    eb_rng r;
    eb_rng_seed(&r, 2025);
    for (int i = 0; i < N; i++)
        for (int d = 0; d < D; d++) x[i * D + d] = mu[d] + sigma * (float)eb_rng_normal(&r);
    eb_mlp_config mc = eb_mlp_default_config(D, 1);
    mc.n_hidden = 2;
    mc.hidden[0] = mc.hidden[1] = 32;
    mc.activation = EB_ACT_SOFTPLUS;
    mc.activation_param = 1.0f;
    eb_model *m = NULL;
    eb_error err = {0};
    eb_rng init;
    eb_rng_seed(&init, 1);
    cr_assert_eq(eb_mlp_new(&mc, &init, NULL, &m, &err), EB_OK, "%s", err.message);
    eb_ssm_config c = eb_ssm_default_config();
    eb_train_params tp = eb_train_default_params();
    tp.steps = 200;
    tp.batch_size = 64;
    tp.progress = false;
    tp.seed = 1;
    tp.optimizer = eb_adam_default_params();
    tp.schedule = eb_schedule_default(5e-3f);
    eb_train_result res;
    cr_assert_eq(eb_train(m, x, NULL, N, D, eb_objective_ssm, &c, &tp, &res, &err), EB_OK, "%s", err.message);
    float probe[9 * D];
    memcpy(probe, mu, sizeof mu);
    for (int k = 0; k < 8; k++) {
        double a = 2.0 * 3.14159265358979323846 * k / 8.0;
        probe[(k + 1) * D] = mu[0] + 4.0f * sigma * (float)cos(a);
        probe[(k + 1) * D + 1] = mu[1] + 4.0f * sigma * (float)sin(a);
    }
    float f[9];
    cr_assert_eq(eb_model_predict(m, probe, 9, 9, f, NULL, &err), EB_OK, "%s", err.message);
    float ring_max = f[1];
    for (int k = 2; k < 9; k++) ring_max = fmaxf(ring_max, f[k]);
    cr_log_info("SSM blob: f(mu) = %.3f, max f on the 4-sigma ring = %.3f (ideal gap 8), final loss %.3f",
                (double)f[0], (double)ring_max, res.final_loss);
    cr_expect_gt(f[0], ring_max + 2.0f, "f(mu) %.3f should clearly exceed f on the ring (max %.3f)",
                 (double)f[0], (double)ring_max);
    eb_model_free(m);
    free(x);
}
