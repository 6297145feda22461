/* The VERA objective (src/ood/objectives/vera*.c; 002_39b8670b82235277.txt §3 "VERA", specs §4):
 * (a) the EBM loss's parameter gradient — with the gradient penalty's θ-gradient from a finite difference
 *     of first-order gradients — against central differences of the loss VALUE (which holds the exact
 *     penalty, from autograd's ∇ₓf); exactly for a linear f; per-sample vs batch-mean penalty;
 * (b) the entropy-gradient estimator for a linear generator, where ∇H is known in closed form, and the
 *     σ_post fit against the ELBO optimum;
 * (c) the generator step's gradient (EBM term) against finite differences, with the EBM's gradient
 *     buffer untouched;
 * (d) σ clamping, the supervised term = γ·CE, bad configs and batches;
 * (e) end to end on a 2-D Gaussian blob;
 * (f) PyTorch references (scripts/make_vera_fixture.py): the EBM loss with the exact penalty gradient by
 *     double backprop, and one generator step computed as the released code does, with the same draws. */
#include <criterion/criterion.h>

#include <ebood/ebm.h>

#include "fixture_json.h"
#include "ood/objectives/vera_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static eb_model *tiny_mlp(int64_t in, int n_hidden, int64_t hidden, int64_t out, eb_activation act,
                          uint64_t seed) {
    eb_mlp_config c = eb_mlp_default_config(in, out);
    c.n_hidden = n_hidden;
    for (int i = 0; i < n_hidden; i++) c.hidden[i] = hidden;
    c.activation = act;
    c.activation_param = act == EB_ACT_LEAKY_RELU ? 0.2f : 0.0f;
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    return m;
}

static float *randn(int64_t n, float scale, uint64_t seed) {
    float *x = malloc((size_t)n * sizeof *x);
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_rng_fill_normal(&rng, x, n, 0.0f, scale);
    return x;
}

/* The EBM loss for fixed data and generator samples on a reset graph; optionally its gradient. */
static double ebm_loss(eb_graph *g, eb_graph *scratch, eb_model *m, float *xd, const int32_t *y, int64_t b,
                       float *xg, int64_t n, int64_t dim, const eb_vera_config *c, eb_vera_terms *terms,
                       bool backward) {
    eb_graph_reset(g);
    eb_tensor *td = eb_tensor_input(g, xd, 2, EB_SHAPE(b, dim), false);
    eb_tensor *tg = eb_tensor_input(g, xg, 2, EB_SHAPE(n, dim), false);
    eb_tensor *loss = eb_vera_ebm_loss(g, scratch, m, td, y, tg, c, false, NULL, terms);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(loss->size, 1);
    if (backward) {
        eb_params_zero_grad(&m->params);
        cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK);
    }
    return (double)loss->data[0];
}

/* Central differences of the loss value on every parameter: |a − n| ≤ atol + rtol·max(|a|, |n|).
 * The value's penalty is exact (½‖∇ₓf‖² from autograd), so this checks the finite-difference
 * θ-gradient of the penalty against the true one. tanh is smooth: h = 5e-3 gives truncation ≲ 1e-5;
 * float32 rounding of a loss |L| ≲ 10 is ≲ 1e-6·10/(2h) ≈ 1e-3 → atol 2e-3, rtol 1e-2. The penalty
 * estimator's own error (fd_step 1e-3: O(1e-6) truncation, float32 rounding of ∇θF(x ± hG) divided by
 * 2h) is ≲ 1e-3 here. A wrong factor (a missing 1/B, ½ or γ) is off by O(the penalty gradient), which
 * the test makes large (γ_pg = 2) and checks to be large. */
static void grad_check(eb_model *m, float *xd, const int32_t *y, int64_t b, float *xg, int64_t n, int64_t dim,
                       const eb_vera_config *c) {
    eb_graph *g = eb_graph_new(0, NULL), *s = eb_graph_new(0, NULL);
    ebm_loss(g, s, m, xd, y, b, xg, n, dim, c, NULL, true);
    int64_t P = m->params.size;
    double *analytic = malloc((size_t)P * sizeof *analytic);
    for (int64_t i = 0; i < P; i++) analytic[i] = (double)m->params.grad[i];
    /* the same without the penalty: the penalty's share of the gradient must be substantial */
    eb_vera_config c0 = *c;
    c0.pg_weight = 0.0;
    ebm_loss(g, s, m, xd, y, b, xg, n, dim, &c0, NULL, true);
    double share = 0.0, total = 0.0;
    for (int64_t i = 0; i < P; i++) {
        share += fabs(analytic[i] - (double)m->params.grad[i]);
        total += fabs(analytic[i]);
    }
    cr_assert(share > 0.2 * total, "penalty share of the gradient too small (%g of %g)", share, total);

    const double h = 5e-3, rtol = 1e-2, atol = 2e-3;
    int bad = 0;
    double worst = 0.0;
    for (int64_t i = 0; i < P; i++) {
        float keep = m->params.data[i];
        m->params.data[i] = keep + (float)h;
        double hi = (double)m->params.data[i], lp = ebm_loss(g, s, m, xd, y, b, xg, n, dim, c, NULL, false);
        m->params.data[i] = keep - (float)h;
        double lo = (double)m->params.data[i], lm = ebm_loss(g, s, m, xd, y, b, xg, n, dim, c, NULL, false);
        m->params.data[i] = keep;
        double numeric = (lp - lm) / (hi - lo), a = analytic[i];
        double err = fabs(a - numeric), tol = atol + rtol * fmax(fabs(a), fabs(numeric));
        if (err - tol > worst) worst = err - tol;
        if (err > tol && bad++ < 5)
            cr_log_error("param %lld: analytic %.6g numeric %.6g", (long long)i, a, numeric);
    }
    cr_log_info("vera grad check (%s penalty): %lld params, worst excess %.3g",
                eb_vera_penalty_name(c->penalty), (long long)P, worst);
    cr_expect_eq(bad, 0, "%d of %lld parameter gradients differ", bad, (long long)P);
    free(analytic);
    eb_graph_free(g);
    eb_graph_free(s);
}

Test(vera_loss, gradient_matches_finite_differences_per_sample) {
    eb_model *m = tiny_mlp(3, 2, 8, 1, EB_ACT_TANH, 11);
    float *xd = randn(6 * 3, 1.0f, 1), *xg = randn(5 * 3, 1.5f, 2);
    eb_vera_config c = eb_vera_default_config();
    c.pg_weight = 2.0;
    grad_check(m, xd, NULL, 6, xg, 5, 3, &c);
    free(xd);
    free(xg);
    eb_model_free(m);
}

Test(vera_loss, gradient_matches_finite_differences_batch_mean_supervised) {
    /* batch-mean penalty (1/B² smaller: γ scaled up to keep it visible) + γ_ce·CE with 3 classes */
    eb_model *m = tiny_mlp(3, 2, 8, 3, EB_ACT_TANH, 12);
    float *xd = randn(4 * 3, 1.0f, 3), *xg = randn(4 * 3, 1.5f, 4);
    int32_t y[4] = {0, 2, 1, 2};
    eb_vera_config c = eb_vera_supervised_default_config();
    c.penalty = EB_VERA_PENALTY_BATCH_MEAN;
    c.pg_weight = 8.0 * 16;
    grad_check(m, xd, y, 4, xg, 4, 3, &c);
    free(xd);
    free(xg);
    eb_model_free(m);
}

Test(vera_loss, linear_energy_is_exact) {
    /* f(x) = w·x + b: ∇ₓf = w, P = ½‖w‖² (per sample) or ½‖w‖²/B² (batch mean), and the finite
     * difference of a linear function is exact, so ∇w L = −(mean x − mean x̃) + γ·w (÷B²), ∇b L = 0. */
    eb_model *m = tiny_mlp(4, 0, 0, 1, EB_ACT_RELU, 13);
    const int64_t b = 5, n = 3, d = 4;
    float *xd = randn(b * d, 1.0f, 5), *xg = randn(n * d, 2.0f, 6);
    eb_graph *g = eb_graph_new(0, NULL), *s = eb_graph_new(0, NULL);
    for (int pen = 0; pen < 2; pen++) {
        eb_vera_config c = eb_vera_default_config();
        c.pg_weight = 0.7;
        c.penalty = pen ? EB_VERA_PENALTY_BATCH_MEAN : EB_VERA_PENALTY_PER_SAMPLE;
        double scale = pen ? 1.0 / (double)(b * b) : 1.0;
        eb_vera_terms t;
        double lv = ebm_loss(g, s, m, xd, NULL, b, xg, n, d, &c, &t, true);
        const float *w = m->params.data; /* layers.0.weight [1, 4], then the bias */
        double ww = 0.0, fd = 0.0, fg = 0.0;
        for (int64_t j = 0; j < d; j++) ww += (double)w[j] * (double)w[j];
        cr_expect_float_eq(t.penalty, 0.5 * ww * scale, 1e-6 * ww, "penalty %g", t.penalty);
        for (int64_t j = 0; j < d; j++) {
            double md = 0.0, mg = 0.0;
            for (int64_t i = 0; i < b; i++) md += (double)xd[i * d + j] / (double)b;
            for (int64_t i = 0; i < n; i++) mg += (double)xg[i * d + j] / (double)n;
            fd += (double)w[j] * md;
            fg += (double)w[j] * mg;
            double expect = -(md - mg) + c.pg_weight * scale * (double)w[j];
            cr_expect(fabs((double)m->params.grad[j] - expect) < 2e-4, "%s: dL/dw%lld = %.7g, expected %.7g",
                      eb_vera_penalty_name(c.penalty), (long long)j, (double)m->params.grad[j], expect);
        }
        const eb_param_info *bi = &m->params.info[1];
        cr_expect(fabs((double)m->params.grad[bi->offset]) < 1e-5, "dL/db = %g",
                  (double)m->params.grad[bi->offset]);
        double expect_l = -(fd - fg) + c.pg_weight * 0.5 * ww * scale;
        cr_expect(fabs(lv - expect_l) < 1e-5, "loss %.7g, expected %.7g", lv, expect_l);
    }
    free(xd);
    free(xg);
    eb_graph_free(g);
    eb_graph_free(s);
    eb_model_free(m);
}

Test(vera_loss, batch_mean_penalty_is_per_sample_over_b_squared) {
    eb_model *m = tiny_mlp(3, 2, 16, 1, EB_ACT_LEAKY_RELU, 14);
    const int64_t b = 8;
    float *xd = randn(b * 3, 1.0f, 7), *xg = randn(b * 3, 1.0f, 8);
    eb_graph *g = eb_graph_new(0, NULL), *s = eb_graph_new(0, NULL);
    eb_vera_config c = eb_vera_default_config();
    eb_vera_terms per, mean;
    ebm_loss(g, s, m, xd, NULL, b, xg, b, 3, &c, &per, false);
    c.penalty = EB_VERA_PENALTY_BATCH_MEAN;
    ebm_loss(g, s, m, xd, NULL, b, xg, b, 3, &c, &mean, false);
    cr_assert(per.penalty > 0);
    cr_expect(fabs(mean.penalty * (double)(b * b) - per.penalty) < 1e-5 * per.penalty, "%g·B² vs %g",
              mean.penalty, per.penalty);
    cr_expect(per.fd_h > 0 && per.grad_norm > 0);
    free(xd);
    free(xg);
    eb_graph_free(g);
    eb_graph_free(s);
    eb_model_free(m);
}

Test(vera_loss, supervised_adds_gamma_ce) {
    eb_model *m = tiny_mlp(3, 1, 8, 4, EB_ACT_LEAKY_RELU, 15);
    const int64_t b = 6;
    float *xd = randn(b * 3, 1.0f, 9), *xg = randn(b * 3, 1.0f, 10);
    int32_t y[6] = {0, 1, 2, 3, 1, 0};
    eb_graph *g = eb_graph_new(0, NULL), *s = eb_graph_new(0, NULL);
    eb_vera_config c = eb_vera_default_config();
    eb_vera_terms t0, t2;
    double l0 = ebm_loss(g, s, m, xd, y, b, xg, b, 3, &c, &t0, false);
    cr_expect(isnan(t0.ce));
    c.ce_weight = 2.0;
    double l2 = ebm_loss(g, s, m, xd, y, b, xg, b, 3, &c, &t2, false);
    /* the reference CE and accuracy from a plain forward pass */
    eb_graph_reset(g);
    eb_tensor *logits =
        eb_model_forward(m, g, eb_tensor_input(g, xd, 2, EB_SHAPE(b, 3), false), false, NULL, NULL);
    double ce = (double)eb_cross_entropy(g, logits, y)->data[0];
    int64_t correct = 0;
    for (int64_t i = 0; i < b; i++) {
        int64_t best = 0;
        for (int64_t k = 1; k < 4; k++)
            if (logits->data[i * 4 + k] > logits->data[i * 4 + best]) best = k;
        correct += best == y[i];
    }
    cr_expect(fabs((l2 - l0) - 2.0 * ce) < 1e-5, "loss difference %.7g, expected 2·CE = %.7g", l2 - l0,
              2 * ce);
    cr_expect(fabs(t2.ce - ce) < 1e-6);
    cr_expect_eq(t2.n_correct, correct);
    /* labels missing: a named error */
    eb_graph_reset(g);
    eb_vera_ebm_loss(g, s, m, eb_tensor_input(g, xd, 2, EB_SHAPE(b, 3), false), NULL,
                     eb_tensor_input(g, xg, 2, EB_SHAPE(b, 3), false), &c, false, NULL, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);
    cr_expect(strstr(eb_graph_error(g), "labels") != NULL, "%s", eb_graph_error(g));
    free(xd);
    free(xg);
    eb_graph_free(g);
    eb_graph_free(s);
    eb_model_free(m);
}

/* ---- the generator ----------------------------------------------------------------------------------- */
static eb_vera *linear_generator(double sigma, double post_sigma, double post_lr, int64_t k) {
    eb_vera_config c = eb_vera_default_config();
    c.noise_dim = 2;
    c.n_hidden = 0;
    c.batch_norm = false;
    c.sigma_init = sigma;
    c.post_sigma_init = post_sigma;
    c.post_lr = post_lr;
    c.entropy_weight = 1.0;
    c.n_posterior = k;
    eb_vera *v = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_vera_new(&c, 2, 1, &v, &err), EB_OK, "%s", err.message);
    /* μ = W h with W = [[1, 0.3], [−0.2, 0.8]] ("g.net.0.weight" [D, k]) */
    const float w[4] = {1.0f, 0.3f, -0.2f, 0.8f};
    cr_assert_str_eq(v->gen.info[v->lin_w[0]].name, "g.net.0.weight");
    memcpy(v->gen.data + v->gen.info[v->lin_w[0]].offset, w, sizeof w);
    return v;
}

/* 2×2 helpers: Σ = WWᵀ + σ²I, Σ⁻¹ */
static void inv2(const double a[4], double out[4]) {
    double det = a[0] * a[3] - a[1] * a[2];
    out[0] = a[3] / det;
    out[1] = -a[1] / det;
    out[2] = -a[2] / det;
    out[3] = a[0] / det;
}

Test(vera_generator, entropy_gradient_of_a_linear_gaussian) {
    /* q(x) = N(0, Σ), Σ = WWᵀ + σ²I, H = ½ log det(2πeΣ): ∇W H = Σ⁻¹W, ∂H/∂log σ = σ² tr Σ⁻¹. The
     * generator loss is −λĤ (no EBM, λ = 1), so its gradient should be −Σ⁻¹W and −σ² tr Σ⁻¹ on average.
     * The estimator without the posterior correction (c = (x − Wh)/σ² = ε/σ) would give 0 for W and −2
     * for log σ instead. Self-normalised importance sampling is consistent but biased toward that naive
     * estimate for finite K, strongly so when the proposal N(h, σ_post²) is narrower than the posterior
     * (std ≈ 0.28–0.34 here; a NumPy replica gives logσ 0.92 at σ_post = 0.25, K = 20, vs exact 0.19).
     * With a wide proposal (σ_post = 0.7) and K = 100 the replica is within 0.015 of the exact values;
     * n = 20000 samples add a Monte-Carlo std ≈ 0.015 → tolerance 0.05. */
    const double sigma = 0.3;
    eb_vera *v = linear_generator(sigma, 0.7, 0.0, 100);
    const int64_t n = 20000;
    float *h = randn(n * 2, 1.0f, 21), *e = randn(n * 2, 1.0f, 22);
    eb_rng rng;
    eb_rng_seed(&rng, 23);
    eb_error err = {0};
    eb_vera_step_info info = {0};
    cr_assert_eq(eb__vera_generator_grad(v, NULL, h, e, n, &rng, false, &info, &err), EB_OK, "%s",
                 err.message);
    const float *W = v->gen.data + v->gen.info[v->lin_w[0]].offset;
    double S[4] = {0}, Si[4], expect[4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            for (int k = 0; k < 2; k++) S[i * 2 + j] += (double)W[i * 2 + k] * (double)W[j * 2 + k];
            if (i == j) S[i * 2 + j] += sigma * sigma;
        }
    inv2(S, Si);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            expect[i * 2 + j] = Si[i * 2] * (double)W[j] + Si[i * 2 + 1] * (double)W[2 + j];
    const float *gw = v->gen.grad + v->gen.info[v->lin_w[0]].offset;
    for (int i = 0; i < 4; i++)
        cr_expect(fabs(-(double)gw[i] - expect[i]) < 0.05, "dH/dW[%d]: estimate %.4f, exact %.4f", i,
                  -(double)gw[i], expect[i]);
    double gs = -(double)v->gen.grad[v->gen.info[v->logsigma].offset], es = sigma * sigma * (Si[0] + Si[3]);
    cr_expect(fabs(gs - es) < 0.05, "dH/dlogσ: estimate %.4f, exact %.4f", gs, es);
    cr_log_info("entropy gradient: W %.4f %.4f %.4f %.4f (exact %.4f %.4f %.4f %.4f), logσ %.4f (exact %.4f)",
                -(double)gw[0], -(double)gw[1], -(double)gw[2], -(double)gw[3], expect[0], expect[1],
                expect[2], expect[3], gs, es);
    free(h);
    free(e);
    eb_vera_free(v);
}

Test(vera_generator, posterior_sigma_fits_the_elbo_optimum) {
    /* ξ = N(h, diag σ_post²) around the generating latent: the ELBO is maximal at
     * σ_post,j = 1/√((I + WᵀW/σ²)_jj). Adam (lr 0.02) from 0.1 over 400 steps of 256 samples. */
    const double sigma = 0.3;
    eb_vera *v = linear_generator(sigma, 0.1, 0.02, 20);
    const int64_t n = 256;
    float *c = malloc((size_t)n * 2 * sizeof *c), *x = malloc((size_t)n * 2 * sizeof *x);
    eb_rng rng;
    eb_rng_seed(&rng, 31);
    eb_error err = {0};
    float *h = malloc((size_t)n * 2 * sizeof *h), *e = malloc((size_t)n * 2 * sizeof *e);
    for (int step = 0; step < 400; step++) {
        eb_rng_fill_normal(&rng, h, n * 2, 0.0f, 1.0f);
        eb_rng_fill_normal(&rng, e, n * 2, 0.0f, 1.0f);
        cr_assert_eq(eb__vera_generate(v, h, e, n, x, &err), EB_OK, "%s", err.message);
        eb_graph_reset(v->scratch);
        cr_assert_eq(eb__vera_entropy_score(v, x, h, n, &rng, c, true), EB_OK, "%s",
                     eb_graph_error(v->scratch));
    }
    const float *W = v->gen.data + v->gen.info[v->lin_w[0]].offset;
    for (int j = 0; j < 2; j++) {
        double wtw = (double)W[j] * (double)W[j] + (double)W[2 + j] * (double)W[2 + j];
        double opt = 1.0 / sqrt(1.0 + wtw / (sigma * sigma)), got = exp((double)eb_vera_post_log_sigma(v)[j]);
        cr_expect(fabs(got - opt) < 0.1 * opt, "σ_post[%d] = %.4f, ELBO optimum %.4f", j, got, opt);
    }
    free(c);
    free(x);
    free(h);
    free(e);
    eb_vera_free(v);
}

/* −mean f(G(h) + σε) for the generator's current parameters (the generator step's EBM term). */
static double gen_f_loss(eb_vera *v, eb_model *m, const float *h, const float *e, int64_t n, float *x) {
    eb_error err = {0};
    cr_assert_eq(eb__vera_generate(v, h, e, n, x, &err), EB_OK, "%s", err.message);
    float *logits = malloc((size_t)n * sizeof *logits);
    cr_assert_eq(eb_model_predict(m, x, n, n, logits, NULL, &err), EB_OK, "%s", err.message);
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)logits[i];
    free(logits);
    return -s / (double)n;
}

Test(vera_generator, step_gradient_matches_finite_differences) {
    /* generator with BatchNorm (batch statistics) and tanh, λ = 0: the gradient of −mean f(x̃) w.r.t. the
     * generator's parameters through x̃, against central differences; the EBM's gradient buffer keeps
     * its contents (its parameters are frozen during the sweep). */
    eb_vera_config c = eb_vera_default_config();
    c.noise_dim = 3;
    c.n_hidden = 2;
    c.hidden[0] = c.hidden[1] = 6;
    c.activation = EB_ACT_TANH;
    c.activation_param = 0.0f;
    c.entropy_weight = 0.0;
    c.sigma_init = 0.2;
    c.seed = 5;
    eb_vera *v = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_vera_new(&c, 2, 1, &v, &err), EB_OK, "%s", err.message);
    eb_model *m = tiny_mlp(2, 1, 8, 1, EB_ACT_TANH, 16);
    for (int64_t i = 0; i < m->params.size; i++) m->params.grad[i] = 42.0f;
    const int64_t n = 8;
    float *h = randn(n * 3, 1.0f, 41), *e = randn(n * 2, 1.0f, 42), *x = malloc((size_t)n * 2 * sizeof *x);
    eb_rng rng;
    eb_rng_seed(&rng, 43);
    eb_vera_step_info info = {0};
    cr_assert_eq(eb__vera_generator_grad(v, m, h, e, n, &rng, false, &info, &err), EB_OK, "%s", err.message);
    for (int64_t i = 0; i < m->params.size; i++)
        cr_assert_eq(m->params.grad[i], 42.0f, "EBM grad %lld touched", (long long)i);
    cr_expect(fabs(info.gen_loss - gen_f_loss(v, m, h, e, n, x)) < 1e-5);
    eb_params *gp = &v->gen;
    float *analytic = malloc((size_t)gp->size * sizeof *analytic);
    memcpy(analytic, gp->grad, (size_t)gp->size * sizeof *analytic);
    const double step = 5e-3, rtol = 1e-2, atol = 5e-4;
    int bad = 0, checked = 0;
    for (int p = 0; p < gp->count; p++)
        for (int64_t k = 0; k < gp->info[p].size; k++) {
            int64_t i = gp->info[p].offset + k;
            float keep = gp->data[i];
            gp->data[i] = keep + (float)step;
            double hi = (double)gp->data[i], lp = gen_f_loss(v, m, h, e, n, x);
            gp->data[i] = keep - (float)step;
            double lo = (double)gp->data[i], lm = gen_f_loss(v, m, h, e, n, x);
            gp->data[i] = keep;
            double num = (lp - lm) / (hi - lo), a = (double)analytic[i];
            checked++;
            if (fabs(a - num) > atol + rtol * fmax(fabs(a), fabs(num)) && bad++ < 5)
                cr_log_error("%s[%lld]: analytic %.6g numeric %.6g", gp->info[p].name, (long long)k, a, num);
        }
    cr_expect_eq(bad, 0, "%d of %d generator gradients differ", bad, checked);
    free(analytic);
    free(h);
    free(e);
    free(x);
    eb_model_free(m);
    eb_vera_free(v);
}

Test(vera_generator, parameter_names_and_init) {
    eb_vera_config c = eb_vera_default_config();
    eb_vera *v = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_vera_new(&c, 18, 1, &v, &err), EB_OK, "%s", err.message);
    eb_params *p = eb_vera_generator_params(v);
    /* 6 linears without bias + 5 BatchNorms (γ, β) + logsigma */
    cr_assert_eq(p->count, 6 + 10 + 1);
    cr_expect_str_eq(p->info[0].name, "g.net.0.weight");
    cr_expect_eq(p->info[0].shape[0], 100);
    cr_expect_eq(p->info[0].shape[1], 16);
    cr_expect_str_eq(p->info[1].name, "g.net.1.weight");
    cr_expect_str_eq(p->info[2].name, "g.net.1.bias");
    cr_expect_str_eq(p->info[15].name, "g.net.15.weight");
    cr_expect_eq(p->info[15].shape[0], 18);
    cr_expect_str_eq(p->info[16].name, "logsigma");
    cr_expect(fabs(eb_vera_sigma(v) - 0.1) < 1e-7, "the paper's σ₀");
    cr_expect(fabs(exp((double)eb_vera_post_log_sigma(v)[15]) - 0.1) < 1e-7);
    cr_expect_eq(p->data[p->info[1].offset], 1.0f);
    cr_expect_eq(p->data[p->info[2].offset], 0.0f);
    float bound = 1.0f / 4.0f, mx = 0.0f; /* 1/√16 */
    for (int64_t i = 0; i < p->info[0].size; i++) mx = fmaxf(mx, fabsf(p->data[p->info[0].offset + i]));
    cr_expect(mx <= bound && mx > 0.9f * bound, "first layer max |w| %g", (double)mx);
    /* samples: finite, batch ≥ 2 required */
    float x[4 * 18];
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    cr_expect_eq(eb_vera_sample(v, 4, &rng, x, &err), EB_OK, "%s", err.message);
    for (int i = 0; i < 4 * 18; i++) cr_assert(isfinite(x[i]));
    cr_expect_eq(eb_vera_sample(v, 1, &rng, x, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "BatchNorm") != NULL, "%s", err.message);
    eb_vera_free(v);
}

Test(vera_generator, sigma_is_clamped_after_every_step) {
    eb_vera_config c = eb_vera_default_config();
    c.gen_optimizer.lr = 1.0f;
    c.gen_schedule = eb_schedule_default(1.0f);
    c.sigma_init = c.sigma_min;
    eb_vera *v = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_vera_new(&c, 3, 1, &v, &err), EB_OK, "%s", err.message);
    float *g = v->gen.grad + v->gen.info[v->logsigma].offset;
    /* pushed down (positive gradient): stays at σ_min; pushed up: reaches and stays at σ_max */
    for (int s = 0; s < 3; s++) {
        eb_params_zero_grad(&v->gen);
        *g = 1.0f;
        eb__vera_generator_apply(v);
        cr_expect(fabs(eb_vera_sigma(v) - 0.01) < 1e-6, "σ = %g after a downward step", eb_vera_sigma(v));
    }
    double prev = eb_vera_sigma(v);
    for (int s = 0; s < 20; s++) {
        eb_params_zero_grad(&v->gen);
        *g = -1.0f;
        eb__vera_generator_apply(v);
        double sg = eb_vera_sigma(v);
        cr_expect(sg >= prev - 1e-9 && sg <= 0.3 + 1e-6, "σ = %g at step %d", sg, s);
        prev = sg;
    }
    cr_expect(fabs(eb_vera_sigma(v) - 0.3) < 1e-6, "σ = %g, expected the upper bound 0.3", eb_vera_sigma(v));
    eb_vera_free(v);
}

/* ---- config, API, bad input -------------------------------------------------------------------------- */
Test(vera_config, defaults_and_checks) {
    eb_vera_config c = eb_vera_default_config();
    eb_error err = {0};
    cr_assert_eq(eb_vera_config_check(&c, &err), EB_OK, "%s", err.message);
    cr_expect_eq(c.noise_dim, 16);
    cr_expect_eq(c.n_hidden, 5);
    cr_expect_eq(c.hidden[4], 100);
    cr_expect_eq(c.activation, EB_ACT_LEAKY_RELU);
    cr_expect_eq(c.activation_param, 0.2f);
    cr_expect(c.batch_norm && !c.bias);
    cr_expect_eq(c.n_posterior, 20);
    cr_expect_eq(c.penalty, EB_VERA_PENALTY_PER_SAMPLE);
    cr_expect_eq(c.gen_optimizer.kind, EB_OPTIM_ADAMW);
    cr_expect_eq(c.gen_optimizer.beta1, 0.0f);
    cr_expect_eq(c.gen_optimizer.beta2, 0.9f);
    cr_expect_eq(c.gen_optimizer.weight_decay, 0.0f);
    /* 002_… App. B: lr 3e-4 / 6e-4, σ₀ 0.1, 2500 warm-up steps; the supervised variant only adds γ_ce */
    cr_expect_eq(c.gen_schedule.base_lr, 6e-4f);
    cr_expect_eq(c.gen_schedule.warmup_steps, 2500);
    cr_expect_eq(c.ebm_optimizer.lr, 3e-4f);
    cr_expect_eq(c.ebm_warmup_steps, 2500);
    cr_expect_eq(c.sigma_init, 0.1);
    eb_vera_config s = eb_vera_supervised_default_config();
    cr_assert_eq(eb_vera_config_check(&s, &err), EB_OK, "%s", err.message);
    cr_expect_eq(s.ce_weight, 1.0);
    cr_expect_eq(s.ebm_optimizer.lr, 3e-4f);
    /* the released configs: fc_vera.yaml 3e-5 / 6e-5, slope 0.01; fc_vera_supervised.yaml 1e-3, ReLU */
    eb_vera_config cc = eb_vera_code_config(false), cs = eb_vera_code_config(true);
    cr_assert_eq(eb_vera_config_check(&cc, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_vera_config_check(&cs, &err), EB_OK, "%s", err.message);
    cr_expect_eq(cc.activation_param, 0.01f);
    cr_expect_eq(cc.gen_schedule.base_lr, 6e-5f);
    cr_expect_eq(cc.ebm_optimizer.lr, 3e-5f);
    cr_expect_eq(cc.sigma_init, 0.01);
    cr_expect_eq(cc.ebm_warmup_steps + cc.gen_schedule.warmup_steps, 0);
    cr_expect_eq(cs.activation, EB_ACT_RELU);
    cr_expect_eq(cs.ce_weight, 1.0);
    cr_expect_eq(cs.gen_schedule.base_lr, 1e-3f);
    cr_expect_eq(cs.ebm_optimizer.lr, 1e-3f);

    /* each bad field is refused with a message naming it */
#define EXPECT_BAD(stmt, word)                                                                               \
    do {                                                                                                     \
        eb_vera_config b = eb_vera_default_config();                                                         \
        stmt;                                                                                                \
        eb_error e = {0};                                                                                    \
        cr_expect_eq(eb_vera_config_check(&b, &e), EB_ERR_ARG, "%s accepted", #stmt);                        \
        cr_expect(strstr(e.message, word) != NULL, "%s: message '%s' lacks '%s'", #stmt, e.message, word);   \
    } while (0)
    EXPECT_BAD(b.noise_dim = 0, "noise_dim");
    EXPECT_BAD(b.n_hidden = 17, "n_hidden");
    EXPECT_BAD(b.hidden[2] = 0, "width");
    EXPECT_BAD(b.activation_param = NAN, "activation");
    EXPECT_BAD(b.sigma_min = 0, "sigma");
    EXPECT_BAD(b.sigma_init = 0.5, "sigma");
    EXPECT_BAD(b.post_sigma_init = -1, "post_sigma_init");
    EXPECT_BAD(b.post_lr = -1, "post_lr");
    EXPECT_BAD(b.n_posterior = 0, "n_posterior");
    EXPECT_BAD(b.entropy_weight = INFINITY, "entropy_weight");
    EXPECT_BAD(b.pg_weight = -0.1, "pg_weight");
    EXPECT_BAD(b.penalty = (eb_vera_penalty)7, "penalty");
    EXPECT_BAD(b.fd_step = 0, "fd_step");
    EXPECT_BAD(b.ce_weight = -1, "ce_weight");
    EXPECT_BAD(b.gen_optimizer.beta2 = 1.0f, "gen_optimizer");
    EXPECT_BAD(b.gen_schedule.warmup_steps = -1, "gen_schedule");
    EXPECT_BAD(b.ebm_optimizer.lr = -1.0f, "ebm_optimizer");
#undef EXPECT_BAD

    eb_vera_penalty p;
    cr_expect_eq(eb_vera_penalty_parse("batch_mean", &p, &err), EB_OK);
    cr_expect_eq(p, EB_VERA_PENALTY_BATCH_MEAN);
    cr_expect_eq(eb_vera_penalty_parse("per_sample", &p, &err), EB_OK);
    cr_expect_eq(p, EB_VERA_PENALTY_PER_SAMPLE);
    cr_expect_eq(eb_vera_penalty_parse("mean", &p, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "'mean'") != NULL, "%s", err.message);
    char *json = eb_vera_config_json(&c);
    cr_assert(json);
    cr_expect(strstr(json, "\"penalty\":\"per_sample\"") && strstr(json, "\"n_posterior\":20") &&
                  strstr(json, "\"activation\":\"leaky_relu\""),
              "%s", json);
    free(json);

    eb_vera *v = NULL;
    cr_expect_eq(eb_vera_new(&s, 4, 1, &v, &err), EB_ERR_ARG, "supervised VERA with one output accepted");
    cr_expect(v == NULL);
    cr_expect(strstr(err.message, "outputs") != NULL, "%s", err.message);
    c.n_posterior = -3;
    cr_expect_eq(eb_vera_new(&c, 4, 1, &v, &err), EB_ERR_ARG);
}

static eb_status array_source_train(eb_model *m, const float *x, const int32_t *y, int64_t n, int64_t dim,
                                    eb_vera *v, int64_t steps, int64_t batch, eb_train_result *res,
                                    eb_error *err) {
    eb_train_params p = eb_train_default_params();
    p.steps = steps;
    p.batch_size = batch;
    p.drop_last = true;
    p.optimizer = eb_vera_config_of(v)->ebm_optimizer;
    p.schedule = eb_schedule_default(p.optimizer.lr);
    p.progress = false;
    p.seed = 3;
    return eb_train(m, x, y, n, dim, eb_objective_vera, v, &p, res, err);
}

Test(vera_objective, bad_batches_are_named_errors) {
    eb_vera_config c = eb_vera_supervised_default_config();
    eb_vera *v = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_vera_new(&c, 3, 4, &v, &err), EB_OK, "%s", err.message);
    eb_model *m = tiny_mlp(3, 1, 8, 4, EB_ACT_LEAKY_RELU, 17);
    float *x = randn(16 * 3, 1.0f, 51);
    eb_train_result res;
    /* no labels for the supervised variant */
    cr_expect_eq(array_source_train(m, x, NULL, 16, 3, v, 2, 8, &res, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "labels") != NULL, "%s", err.message);
    /* a model of another shape */
    eb_model *m2 = tiny_mlp(3, 1, 8, 2, EB_ACT_LEAKY_RELU, 17);
    int32_t y[16] = {0};
    cr_expect_eq(array_source_train(m2, x, y, 16, 3, v, 2, 8, &res, &err), EB_ERR_SHAPE);
    cr_expect(strstr(err.message, "vera") != NULL, "%s", err.message);
    /* a batch of one cannot go through the generator's BatchNorm */
    cr_expect_eq(array_source_train(m, x, y, 16, 3, v, 2, 1, &res, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "BatchNorm") != NULL, "%s", err.message);
    free(x);
    eb_model_free(m);
    eb_model_free(m2);
    eb_vera_free(v);
}

Test(vera_objective, supervised_training_counts_and_steps_the_generator) {
    eb_vera_config c = eb_vera_code_config(true); /* lr 1e-3 without warm-up: learns in 60 steps */
    c.n_hidden = 2;
    c.hidden[0] = c.hidden[1] = 16;
    c.noise_dim = 4;
    eb_threads_set(1);
    eb_vera *v = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_vera_new(&c, 3, 3, &v, &err), EB_OK, "%s", err.message);
    eb_model *m = tiny_mlp(3, 2, 16, 3, EB_ACT_LEAKY_RELU, 18);
    const int64_t n = 96;
    float *x = randn(n * 3, 1.0f, 52);
    int32_t y[96];
    for (int64_t i = 0; i < n; i++) y[i] = x[i * 3] > 0.5f ? 2 : x[i * 3] < -0.5f ? 0 : 1;
    eb_train_result res;
    cr_assert_eq(array_source_train(m, x, y, n, 3, v, 60, 32, &res, &err), EB_OK, "%s", err.message);
    eb_vera_step_info info = eb_vera_last_step(v);
    cr_expect(info.gen_stepped);
    cr_expect_eq(info.gen_steps, 59); /* one per call after the first */
    cr_expect(info.sigma >= 0.01 - 1e-9 && info.sigma <= 0.3 + 1e-9);
    cr_expect(isfinite(info.gen_loss) && isfinite(info.entropy) && isfinite(info.terms.penalty));
    cr_expect(info.terms.n_correct >= 0);
    cr_expect(res.final_accuracy > 0.5,
              "training accuracy %g after 60 steps of a 3-band problem (chance 1/3)", res.final_accuracy);
    free(x);
    eb_model_free(m);
    eb_vera_free(v);
}

Test(vera_objective, gaussian_blob_end_to_end) {
    /* data N(μ, s²I) in 2-D, μ = (2, −1), s = 0.3; an MLP EBM and a small generator, both at lr 3e-3,
     * entropy weight λ = 1 (the maximum-likelihood VERA bound; with the released 1e-4 the generator
     * collapses onto the data and the EBM goes flat), 600 steps of 64. Then f is higher at μ than
     * anywhere on the ring 4s away, and the generator's samples have moved from around the origin to
     * near μ. Deterministic (fixed seeds, one thread); over 8 other seeds the margin f(μ) − max f(ring)
     * was 0.7–2.5 and the samples' mean distance to μ 0.5–0.6 (the data's own: 0.38). */
    const int64_t n = 1024, d = 2;
    const float mu[2] = {2.0f, -1.0f}, s = 0.3f;
    float *x = randn(n * d, s, 61);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) x[i * d + j] += mu[j];
    eb_vera_config c = eb_vera_default_config();
    c.noise_dim = 4;
    c.n_hidden = 2;
    c.hidden[0] = c.hidden[1] = 32;
    c.gen_optimizer.lr = 3e-3f;
    c.gen_schedule = eb_schedule_default(3e-3f);
    c.ebm_optimizer.lr = 3e-3f;
    c.entropy_weight = 1.0;
    c.seed = 2;
    eb_threads_set(1); /* tiny ops: an OpenMP team only waits on the shared machine */
    eb_vera *v = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_vera_new(&c, d, 1, &v, &err), EB_OK, "%s", err.message);
    eb_model *m = tiny_mlp(d, 2, 32, 1, EB_ACT_LEAKY_RELU, 21);

    eb_rng rng;
    eb_rng_seed(&rng, 62);
    const int64_t ns = 512;
    float *xs = malloc((size_t)(ns * d) * sizeof *xs);
    cr_assert_eq(eb_vera_sample(v, ns, &rng, xs, &err), EB_OK);
    double dist0 = 0.0;
    for (int64_t i = 0; i < ns; i++) dist0 += hypot(xs[i * d] - mu[0], xs[i * d + 1] - mu[1]) / (double)ns;

    eb_train_result res;
    cr_assert_eq(array_source_train(m, x, NULL, n, d, v, 600, 64, &res, &err), EB_OK, "%s", err.message);

    cr_assert_eq(eb_vera_sample(v, ns, &rng, xs, &err), EB_OK);
    double dist1 = 0.0;
    for (int64_t i = 0; i < ns; i++) dist1 += hypot(xs[i * d] - mu[0], xs[i * d + 1] - mu[1]) / (double)ns;
    float pts[9 * 2];
    pts[0] = mu[0];
    pts[1] = mu[1];
    for (int k = 0; k < 8; k++) {
        double a = 6.283185307179586 * k / 8.0;
        pts[2 + 2 * k] = mu[0] + 4.0f * s * (float)cos(a);
        pts[3 + 2 * k] = mu[1] + 4.0f * s * (float)sin(a);
    }
    float f[9];
    cr_assert_eq(eb_model_predict(m, pts, 9, 9, f, NULL, &err), EB_OK);
    double ring_max = -INFINITY;
    for (int k = 1; k < 9; k++) ring_max = fmax(ring_max, (double)f[k]);
    cr_log_info(
        "blob: f(μ) %.3f, max f on the 4σ ring %.3f; generator mean distance to μ %.3f -> %.3f, σ %.3f",
        (double)f[0], ring_max, dist0, dist1, eb_vera_sigma(v));
    cr_expect((double)f[0] > ring_max, "f(μ) = %g not above the ring's max %g", (double)f[0], ring_max);
    cr_expect(dist0 > 1.5, "the generator started near μ already (%g)", dist0);
    cr_expect(dist1 < 0.5 * dist0 && dist1 < 1.0, "generator samples did not move toward the data: %g -> %g",
              dist0, dist1);
    free(x);
    free(xs);
    eb_model_free(m);
    eb_vera_free(v);
}

/* ---- PyTorch reference (scripts/make_vera_fixture.py → tests/fixtures/vera/vera.json) ------------------ */
/* fixture_json.h helpers this program does not need (they are static) */
static void fixture_helpers_unused(void) __attribute__((unused));
static void fixture_helpers_unused(void) {
    (void)flag;
    (void)read_shape;
}

/* Copies a flat array in registration order into a parameter buffer (which pads each tensor to 16 floats);
 * returns the number of floats consumed. */
static int64_t load_params(eb_params *p, const float *src) {
    int64_t k = 0;
    for (int i = 0; i < p->count; i++) {
        memcpy(p->data + p->info[i].offset, src + k, (size_t)p->info[i].size * sizeof(float));
        k += p->info[i].size;
    }
    return k;
}

static double max_rel_err(const float *got, const float *want, int64_t n, double atol, int64_t *where) {
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]) / (atol + fabs((double)want[i]));
        if (e > worst) {
            worst = e;
            if (where) *where = i;
        }
    }
    return worst;
}

Test(vera_fixture, ebm_loss_matches_pytorch_double_backprop) {
    /* The reference penalty gradient is exact (create_graph); ebood's is the central difference along
     * G with rms step 1e-3, evaluated in float32. tanh: truncation ~1e-6 relative; float32 rounding of
     * the perturbed inputs (≈ 6e-8·|x|/1e-3) and of ∇θF(x ± hG) ÷ 2h give ≲ 1e-3 relative on the
     * penalty's gradient → |Δ| ≤ 2e-3·(|g| + 0.05). The loss value holds the exact penalty: 1e-5. */
    cJSON *doc = load_fixture_json("vera/vera.json");
    const cJSON *c;
    int checked = 0;
    cJSON_ArrayForEach(c, item(doc, "cases")) {
        if (num(c, "kind") != 0) continue;
        eb_model *m = tiny_mlp(3, 2, 8, 3, EB_ACT_TANH, 1);
        float *params, *x, *xg, *grad;
        int64_t np = read_floats(item(c, "params"), &params);
        cr_assert_eq(load_params(&m->params, params), np);
        int64_t nx = read_floats(item(c, "x"), &x) / 3, ng = read_floats(item(c, "x_gen"), &xg) / 3;
        int32_t y[8];
        int64_t ny = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, item(c, "labels")) { y[ny++] = (int32_t)e->valuedouble; }
        cr_assert_eq(ny, nx);
        eb_vera_config cfg = eb_vera_code_config(false); /* the fixture is the released code */
        cfg.pg_weight = num(c, "pg_weight");
        cfg.ce_weight = num(c, "ce_weight");
        eb_error err = {0};
        cr_assert_eq(eb_vera_penalty_parse(cJSON_GetStringValue(item(c, "penalty")), &cfg.penalty, &err),
                     EB_OK);
        eb_graph *g = eb_graph_new(0, NULL), *s = eb_graph_new(0, NULL);
        eb_vera_terms t;
        double lv = ebm_loss(g, s, m, x, y, nx, xg, ng, 3, &cfg, &t, true);
        double want = num(c, "loss");
        cr_expect(fabs(lv - want) < 1e-5 * (1 + fabs(want)), "%s: loss %.8g, PyTorch %.8g",
                  cJSON_GetStringValue(item(c, "name")), lv, want);
        cr_expect(fabs(t.penalty - num(c, "penalty_value")) < 1e-5 * (1 + num(c, "penalty_value")));
        int64_t ngr = read_floats(item(c, "grad"), &grad), k = 0, bad = 0;
        double worst = 0.0;
        for (int i = 0; i < m->params.count; i++)
            for (int64_t j = 0; j < m->params.info[i].size; j++, k++) {
                double a = (double)m->params.grad[m->params.info[i].offset + j], r = (double)grad[k];
                double rel = fabs(a - r) / (fabs(r) + 0.05);
                if (rel > worst) worst = rel;
                if (rel > 2e-3 && bad++ < 5)
                    cr_log_error("%s %s[%lld]: %.7g, PyTorch %.7g", cJSON_GetStringValue(item(c, "name")),
                                 m->params.info[i].name, (long long)j, a, r);
            }
        cr_assert_eq(k, ngr);
        cr_log_info("%s: loss |Δ| %.2g, worst gradient error %.2g (of |g| + 0.05)",
                    cJSON_GetStringValue(item(c, "name")), fabs(lv - want), worst);
        cr_expect_eq(bad, 0);
        checked++;
        free(params);
        free(x);
        free(xg);
        free(grad);
        eb_graph_free(g);
        eb_graph_free(s);
        eb_model_free(m);
    }
    cr_expect_eq(checked, 2);
    cJSON_Delete(doc);
}

Test(vera_fixture, generator_step_matches_pytorch) {
    /* One generator step as the released code computes it (float64 PyTorch, same draws): x̃, the score c,
     * the posterior-σ gradient and its Adam step, Ĥ, mean f and the generator loss and gradient. ebood runs
     * in float32 (accumulating the weights in double): 1e-4 relative (atol 1e-3 relative to the entries'
     * scale for the gradients; c is ~1/σ² = 25 large). */
    cJSON *doc = load_fixture_json("vera/vera.json");
    const cJSON *c = NULL, *e;
    cJSON_ArrayForEach(e, item(doc, "cases")) {
        if (num(e, "kind") == 1) c = e;
    }
    cr_assert_not_null(c);
    const int64_t n = (int64_t)num(c, "n"), kz = (int64_t)num(c, "noise_dim"), d = (int64_t)num(c, "dim");
    eb_vera_config cfg = eb_vera_code_config(false); /* the fixture is the released code */
    cfg.noise_dim = kz;
    cfg.n_hidden = 2;
    cfg.hidden[0] = cfg.hidden[1] = 5;
    cfg.sigma_init = 0.2;
    cfg.post_sigma_init = 0.3;
    cfg.post_lr = num(c, "post_lr");
    cfg.n_posterior = (int64_t)num(c, "K");
    cfg.entropy_weight = num(c, "entropy_weight");
    eb_vera *v = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_vera_new(&cfg, d, 1, &v, &err), EB_OK, "%s", err.message);
    eb_model *m = tiny_mlp(d, 1, 6, 1, EB_ACT_LEAKY_RELU, 1);
    float *gp, *post, *ep, *h, *eps, *zk, *zp, *want_x, *want_c, *want_pg, *want_post, *want_g;
    int64_t ngp = read_floats(item(c, "gen_params"), &gp);
    cr_assert_eq(load_params(&v->gen, gp), ngp);
    cr_assert_eq(read_floats(item(c, "post_log_sigma"), &post), kz);
    memcpy(v->post_log_sigma, post, (size_t)kz * sizeof(float));
    int64_t nep = read_floats(item(c, "ebm_params"), &ep);
    cr_assert_eq(load_params(&m->params, ep), nep);
    read_floats(item(c, "h"), &h);
    read_floats(item(c, "eps"), &eps);
    cr_assert_eq(read_floats(item(c, "zk"), &zk), cfg.n_posterior * n * kz);
    read_floats(item(c, "zp"), &zp);
    read_floats(item(c, "x_gen"), &want_x);
    read_floats(item(c, "c"), &want_c);
    read_floats(item(c, "post_grad"), &want_pg);
    read_floats(item(c, "post_log_sigma_after"), &want_post);
    cr_assert_eq(read_floats(item(c, "gen_grad"), &want_g), ngp);
    v->fixed_zk = zk;
    v->fixed_zp = zp;

    float *x = malloc((size_t)(n * d) * sizeof *x), *cs = malloc((size_t)(n * d) * sizeof *cs);
    cr_assert_eq(eb__vera_generate(v, h, eps, n, x, &err), EB_OK, "%s", err.message);
    double ex = max_rel_err(x, want_x, n * d, 1e-3, NULL);
    cr_expect(ex < 1e-4, "x̃ differs from PyTorch's by %.3g (relative)", ex);
    eb_graph_reset(v->scratch);
    cr_assert_eq(eb__vera_entropy_score(v, want_x, h, n, NULL, cs, false), EB_OK);
    double ec = max_rel_err(cs, want_c, n * d, 1e-1, NULL);
    cr_expect(ec < 1e-4, "c differs from PyTorch's by %.3g (relative)", ec);

    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_vera_step_info info = {0};
    cr_assert_eq(eb__vera_generator_grad(v, m, h, eps, n, &rng, true, &info, &err), EB_OK, "%s", err.message);
    cr_expect(fabs(info.gen_loss - num(c, "gen_loss")) < 1e-4 * (1 + fabs(num(c, "gen_loss"))),
              "gen loss %.7g vs %.7g", info.gen_loss, num(c, "gen_loss"));
    cr_expect(fabs(info.f_gen_step - num(c, "f_mean")) < 1e-5 * (1 + fabs(num(c, "f_mean"))));
    cr_expect(fabs(info.entropy - num(c, "entropy")) < 1e-4 * (1 + fabs(num(c, "entropy"))), "Ĥ %.7g vs %.7g",
              info.entropy, num(c, "entropy"));
    double epg = max_rel_err(v->post_grad, want_pg, kz, 1e-2, NULL);
    cr_expect(epg < 1e-4, "σ_post gradient differs by %.3g (relative)", epg);
    double epost = max_rel_err(v->post_log_sigma, want_post, kz, 1e-2, NULL);
    cr_expect(epost < 1e-5, "σ_post after Adam differs by %.3g", epost);
    /* the generator gradient, unpadded */
    float *g = malloc((size_t)ngp * sizeof *g);
    int64_t k = 0;
    double scale = 0.0;
    for (int i = 0; i < v->gen.count; i++)
        for (int64_t j = 0; j < v->gen.info[i].size; j++) g[k++] = v->gen.grad[v->gen.info[i].offset + j];
    for (int64_t i = 0; i < ngp; i++) scale = fmax(scale, fabs((double)want_g[i]));
    int64_t where = 0;
    double eg = max_rel_err(g, want_g, ngp, 1e-3 * scale, &where);
    cr_expect(eg < 1e-3, "generator gradient differs by %.3g (relative) at %lld: %.7g vs %.7g", eg,
              (long long)where, (double)g[where], (double)want_g[where]);
    cr_log_info("generator step vs PyTorch: x %.2g, c %.2g, σ_post grad %.2g, gen grad %.2g (relative)", ex,
                ec, epg, eg);
    free(g);
    free(x);
    free(cs);
    free(gp);
    free(post);
    free(ep);
    free(h);
    free(eps);
    free(zk);
    free(zp);
    free(want_x);
    free(want_c);
    free(want_pg);
    free(want_post);
    free(want_g);
    eb_model_free(m);
    eb_vera_free(v);
    cJSON_Delete(doc);
}
