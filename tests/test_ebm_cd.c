/* The contrastive-divergence objective and its JEM-style supervised variant (src/ood/objectives/
 * contrastive_divergence.c; 002_39b8670b82235277.txt §3, specs §4):
 * (a) gradient check of the composed loss w.r.t. the parameters, with fixed negatives;
 * (b) the replay buffer: samples written back to their slots, restarts at the configured rate;
 * (c) the supervised term is exactly γ·CE;
 * (d) end to end: CD on a 2-D Gaussian blob makes f higher at the mean than on a ring 4σ away;
 * (e) divergence surfaces as EB_ERR_NUMERIC naming the SGLD step, with finite parameters;
 * plus bad configs and bad batches. */
#include <criterion/criterion.h>

#include <ebood/ebm.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A small smooth MLP (tanh: no kinks for the finite differences). */
static eb_model *tiny_mlp(int64_t in, int64_t hidden, int64_t out, eb_activation act, uint64_t seed) {
    eb_mlp_config c = eb_mlp_default_config(in, out);
    c.n_hidden = 1;
    c.hidden[0] = hidden;
    c.activation = act;
    c.activation_param = act == EB_ACT_LEAKY_RELU ? 0.2f : 0.0f;
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    return m;
}

/* The loss for fixed x⁺ (with labels) and x⁻ on a reset graph. */
static double loss_value(eb_graph *g, eb_model *m, float *xp, const int32_t *y, int64_t b, float *xn,
                         int64_t n, int64_t dim, double l2, double gamma, eb_cd_terms *terms, bool backward) {
    eb_graph_reset(g);
    eb_tensor *tp = eb_tensor_input(g, xp, 2, EB_SHAPE(b, dim), false);
    eb_tensor *tn = eb_tensor_input(g, xn, 2, EB_SHAPE(n, dim), false);
    eb_tensor *loss = eb_cd_loss(g, m, tp, y, tn, l2, gamma, false, NULL, terms);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(loss->size, 1);
    if (backward) {
        eb_params_zero_grad(&m->params);
        cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK);
    }
    return (double)loss->data[0];
}

/* Central differences on every parameter: |analytic − numeric| ≤ atol + rtol·max(|a|, |n|).
 * h = 5e-3 (tests/test_gradcheck.c's composed-loss step): tanh is smooth, so the truncation error is
 * h²/6·|f'''| ≲ 1e-5; the loss (|L| ≲ 5) is a float32 scalar, rounding ≲ 3e-7·5/(2h) ≈ 1.5e-4 → atol 5e-4,
 * rtol 3e-3, while a missing term (l2, γ·CE, the 1/N of a mean) is off by O(|gradient|). */
static void grad_check(eb_model *m, float *xp, const int32_t *y, int64_t b, float *xn, int64_t n, int64_t dim,
                       double l2, double gamma) {
    eb_graph *g = eb_graph_new(0, NULL);
    loss_value(g, m, xp, y, b, xn, n, dim, l2, gamma, NULL, true);
    int64_t P = m->params.size;
    double *analytic = malloc((size_t)P * sizeof *analytic);
    for (int64_t i = 0; i < P; i++) analytic[i] = (double)m->params.grad[i];
    const double h = 5e-3, rtol = 3e-3, atol = 5e-4;
    int bad = 0;
    double max_diff = 0.0, max_grad = 0.0;
    for (int64_t i = 0; i < P; i++) {
        float keep = m->params.data[i];
        float up = keep + (float)h, down = keep - (float)h;
        m->params.data[i] = up;
        double lu = loss_value(g, m, xp, y, b, xn, n, dim, l2, gamma, NULL, false);
        m->params.data[i] = down;
        double ld = loss_value(g, m, xp, y, b, xn, n, dim, l2, gamma, NULL, false);
        m->params.data[i] = keep;
        double numeric = (lu - ld) / ((double)up - (double)down);
        double diff = fabs(analytic[i] - numeric);
        max_diff = fmax(max_diff, diff);
        max_grad = fmax(max_grad, fabs(analytic[i]));
        if (diff > atol + rtol * fmax(fabs(analytic[i]), fabs(numeric))) {
            if (bad < 5)
                cr_log_error("param %lld: analytic %.6g numeric %.6g", (long long)i, analytic[i], numeric);
            bad++;
        }
    }
    cr_log_info("CD gradcheck (l2 %g, gamma %g): %lld params, max |diff| %.3g, max |grad| %.3g", l2, gamma,
                (long long)P, max_diff, max_grad);
    cr_expect_eq(bad, 0, "%d of %lld parameter gradients disagree", bad, (long long)P);
    cr_expect_gt(max_grad, 1e-2, "the gradients should not all vanish");
    free(analytic);
    eb_graph_free(g);
}

static void fill_uniform(float *x, int64_t n, float lo, float hi, uint64_t seed) {
    eb_rng r;
    eb_rng_seed(&r, seed);
    eb_rng_fill_uniform(&r, x, n, lo, hi);
}

Test(cd, gradient_check_supervised_fixed_negatives) {
    enum { B = 5, N = 4, D = 3, C = 3 };
    eb_model *m = tiny_mlp(D, 6, C, EB_ACT_TANH, 11);
    float xp[B * D], xn[N * D];
    fill_uniform(xp, B * D, -1.5f, 1.5f, 1);
    fill_uniform(xn, N * D, -1.5f, 1.5f, 2);
    int32_t y[B] = {0, 2, 1, 1, 0};
    grad_check(m, xp, y, B, xn, N, D, 0.5, 0.7);
    grad_check(m, xp, y, B, xn, N, D, 1.0, 0.0); /* the unsupervised loss on a classifier: f = logsumexp */
    eb_model_free(m);
}

Test(cd, gradient_check_scalar_energy) {
    /* one output: f = g (the released code's unsupervised model) */
    enum { B = 6, N = 6, D = 2 };
    eb_model *m = tiny_mlp(D, 5, 1, EB_ACT_TANH, 12);
    float xp[B * D], xn[N * D];
    fill_uniform(xp, B * D, -1.0f, 1.0f, 3);
    fill_uniform(xn, N * D, -1.0f, 1.0f, 4);
    grad_check(m, xp, NULL, B, xn, N, D, 1.0, 0.0);
    eb_model_free(m);
}

/* f of rows x[n, dim] in double from the model's logits (logsumexp, or the logit). */
static void log_density_of(eb_model *m, const float *x, int64_t n, double *f, float *logits_out) {
    int64_t c = eb_model_out_dim(m);
    float *logits = malloc((size_t)(n * c) * sizeof *logits);
    eb_error err = {0};
    cr_assert_eq(eb_model_predict(m, x, n, 64, logits, NULL, &err), EB_OK, "%s", err.message);
    for (int64_t i = 0; i < n; i++) {
        const float *row = logits + i * c;
        double mx = row[0];
        for (int64_t k = 1; k < c; k++) mx = fmax(mx, (double)row[k]);
        double s = 0.0;
        for (int64_t k = 0; k < c; k++) s += exp((double)row[k] - mx);
        f[i] = c == 1 ? (double)row[0] : mx + log(s);
    }
    if (logits_out) memcpy(logits_out, logits, (size_t)(n * c) * sizeof *logits);
    free(logits);
}

Test(cd, loss_matches_a_double_reference) {
    enum { B = 7, N = 5, D = 3, C = 4 };
    eb_model *m = tiny_mlp(D, 8, C, EB_ACT_LEAKY_RELU, 5);
    float xp[B * D], xn[N * D], logits[B * C];
    fill_uniform(xp, B * D, -2.0f, 2.0f, 5);
    fill_uniform(xn, N * D, -2.0f, 2.0f, 6);
    int32_t y[B] = {0, 1, 2, 3, 3, 2, 1};
    double fp[B], fn[N];
    log_density_of(m, xp, B, fp, logits);
    log_density_of(m, xn, N, fn, NULL);
    double mp = 0, mn = 0, sp = 0, sn = 0, ce = 0;
    int64_t correct = 0;
    for (int i = 0; i < B; i++) {
        mp += fp[i] / B;
        sp += fp[i] * fp[i] / B;
        ce += (fp[i] - (double)logits[i * C + y[i]]) / B; /* −log softmax_y = lse − g_y */
        int best = 0;
        for (int k = 1; k < C; k++)
            if (logits[i * C + k] > logits[i * C + best]) best = k;
        correct += best == y[i];
    }
    for (int j = 0; j < N; j++) {
        mn += fn[j] / N;
        sn += fn[j] * fn[j] / N;
    }
    const double l2 = 0.3, gamma = 1.7;
    double want = -(mp - mn) + l2 * (sp + sn) + gamma * ce;
    eb_graph *g = eb_graph_new(0, NULL);
    eb_cd_terms t;
    double got = loss_value(g, m, xp, y, B, xn, N, D, l2, gamma, &t, false);
    cr_log_info("CD loss %.7g, reference %.7g", got, want);
    cr_expect_float_eq(got, want, 1e-5 * (1 + fabs(want)));
    cr_expect_float_eq(t.f_pos, mp, 1e-5 * (1 + fabs(mp)));
    cr_expect_float_eq(t.f_neg, mn, 1e-5 * (1 + fabs(mn)));
    cr_expect_float_eq(t.ce, ce, 1e-5 * (1 + ce));
    cr_expect_eq(t.n_correct, correct);
    /* (c) the supervised term is γ·CE exactly: the same loss without it differs by γ·CE */
    double without = loss_value(g, m, xp, y, B, xn, N, D, l2, 0.0, &t, false);
    cr_expect_float_eq(got - without, gamma * ce, 1e-5 * (1 + gamma * ce));
    cr_expect(isnan(t.ce));
    eb_graph_free(g);
    eb_model_free(m);
}

/* One objective call on a fresh graph with batch x[b, dim] (labels may be NULL). */
static eb_status objective_call(eb_cd *cd, eb_model *m, eb_graph *g, float *x, const int32_t *y, int64_t b,
                                uint64_t rng_seed, double *loss, int64_t *correct) {
    eb_graph_reset(g);
    eb_batch batch = {eb_tensor_input(g, x, 2, EB_SHAPE(b, eb_model_in_dim(m)), false), y, b, 0};
    eb_rng rng;
    eb_rng_seed(&rng, rng_seed);
    int64_t c = -2;
    eb_tensor *l = eb_objective_cd(cd, m, g, &batch, &rng, &c);
    if (correct) *correct = c;
    eb_status st = eb_graph_status(g);
    if (!st && loss) *loss = (double)l->data[0];
    return st;
}

Test(cd, objective_supervised_term_and_accuracy) {
    enum { B = 16, D = 3, C = 3 };
    eb_model *m = tiny_mlp(D, 8, C, EB_ACT_LEAKY_RELU, 21);
    float x[B * D];
    fill_uniform(x, B * D, -1.0f, 1.0f, 9);
    int32_t y[B];
    for (int i = 0; i < B; i++) y[i] = i % C;
    eb_cd_config c0 = eb_cd_default_config(), c1 = eb_cd_supervised_default_config();
    c0.sgld.steps = c1.sgld.steps = 5;
    c0.buffer_size = c1.buffer_size = 300;
    c1.class_conditional = false; /* same sampling as c0: the negatives must be identical */
    c1.ce_weight = 2.5;
    eb_cd *cd0 = NULL, *cd1 = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_cd_new(&c0, D, C, &cd0, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_cd_new(&c1, D, C, &cd1, &err), EB_OK, "%s", err.message);
    eb_graph *g = eb_graph_new(0, NULL);
    double l0, l1;
    int64_t k0, k1;
    cr_assert_eq(objective_call(cd0, m, g, x, y, B, 77, &l0, &k0), EB_OK, "%s", eb_graph_error(g));
    eb_cd_step_info s0 = eb_cd_last_step(cd0);
    cr_assert_eq(objective_call(cd1, m, g, x, y, B, 77, &l1, &k1), EB_OK, "%s", eb_graph_error(g));
    eb_cd_step_info s1 = eb_cd_last_step(cd1);
    cr_assert_eq(s0.n, B, "n_negatives 0 = the batch size");
    cr_assert_eq(s1.n, B);
    cr_expect_eq(memcmp(s0.negatives, s1.negatives, sizeof(float) * B * D), 0, "same seeds, same negatives");
    cr_expect(isfinite(s1.terms.ce) && s1.terms.ce > 0);
    cr_expect_float_eq(l1 - l0, 2.5 * s1.terms.ce, 1e-5 * (1 + l1));
    cr_expect_eq(k0, -1, "unsupervised: no accuracy");
    cr_expect_eq(k1, s1.terms.n_correct);
    cr_expect(k1 >= 0 && k1 <= B);
    cr_expect_eq(s0.sgld.steps, 5);
    eb_graph_free(g);
    eb_cd_free(cd0);
    eb_cd_free(cd1);
    eb_model_free(m);
}

Test(cd, class_conditional_steps_paper_default_and_code_option) {
    enum { B = 12, D = 2, C = 3 };
    eb_model *m = tiny_mlp(D, 6, C, EB_ACT_LEAKY_RELU, 2);
    float x[B * D];
    fill_uniform(x, B * D, -1.0f, 1.0f, 3);
    int32_t y[B];
    for (int i = 0; i < B; i++) y[i] = (i * 7) % C;
    eb_cd_config c = eb_cd_supervised_default_config();
    c.buffer_size = 100; /* trimmed to 99 = 3 blocks of 33 */
    c.sgld.steps = 7;
    eb_cd *cd = NULL;
    eb_error err = {0};
    eb_graph *g = eb_graph_new(0, NULL);
    cr_assert_eq(eb_cd_new(&c, D, C, &cd, &err), EB_OK, "%s", err.message);
    cr_expect_eq(eb_cd_buffer(cd)->size, 99);
    cr_assert_eq(objective_call(cd, m, g, x, y, B, 1, NULL, NULL), EB_OK, "%s", eb_graph_error(g));
    eb_cd_step_info s = eb_cd_last_step(cd);
    cr_expect_eq(s.sgld.steps, 7, "paper: the class-conditional sampler runs sgld.steps");
    cr_assert_not_null(s.labels);
    for (int64_t i = 0; i < s.n; i++) {
        cr_assert(s.labels[i] >= 0 && s.labels[i] < C);
        cr_expect_eq(s.index[i] / 33, s.labels[i], "chain %lld of class %d outside its block", (long long)i,
                     s.labels[i]);
    }
    eb_cd_free(cd);
    c.cond_steps = EB_CD_CODE_COND_STEPS;
    cr_assert_eq(eb_cd_new(&c, D, C, &cd, &err), EB_OK, "%s", err.message);
    cr_assert_eq(objective_call(cd, m, g, x, y, B, 1, NULL, NULL), EB_OK, "%s", eb_graph_error(g));
    cr_expect_eq(eb_cd_last_step(cd).sgld.steps, 20, "the released code's option: 20 steps");
    eb_cd_free(cd);
    eb_graph_free(g);
    eb_model_free(m);
}

Test(cd, replay_buffer_written_back_and_restarts) {
    enum { B = 8, D = 2, SIZE = 40 };
    eb_model *m = tiny_mlp(D, 6, 1, EB_ACT_LEAKY_RELU, 8);
    float x[B * D];
    fill_uniform(x, B * D, -1.0f, 1.0f, 4);
    eb_cd_config c = eb_cd_default_config();
    c.buffer_size = SIZE;
    c.sgld.steps = 3;
    c.sgld.step_size = (eb_decay){0.1, 0.1, EB_DECAY_CONSTANT};
    eb_cd *cd = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_cd_new(&c, D, 1, &cd, &err), EB_OK, "%s", err.message);
    eb_replay_buffer *buf = eb_cd_buffer(cd);
    cr_assert_eq(buf->size, SIZE);
    for (int64_t i = 0; i < SIZE * D; i++) cr_assert(buf->x[i] >= -1.0f && buf->x[i] < 1.0f, "init U(-1, 1)");
    float before[SIZE * D];
    memcpy(before, buf->x, sizeof before);
    eb_graph *g = eb_graph_new(0, NULL);
    cr_assert_eq(objective_call(cd, m, g, x, NULL, B, 5, NULL, NULL), EB_OK, "%s", eb_graph_error(g));
    eb_cd_step_info s = eb_cd_last_step(cd);
    cr_assert_eq(s.n, B);
    bool touched[SIZE] = {false};
    for (int64_t i = 0; i < s.n; i++) touched[s.index[i]] = true;
    /* each slot holds the last sample drawn for it (a slot drawn twice keeps the later one) */
    for (int64_t i = 0; i < s.n; i++) {
        bool later = false;
        for (int64_t j = i + 1; j < s.n; j++) later |= s.index[j] == s.index[i];
        if (!later)
            cr_expect_eq(memcmp(buf->x + s.index[i] * D, s.negatives + i * D, sizeof(float) * D), 0,
                         "sample %lld not written back to slot %lld", (long long)i, (long long)s.index[i]);
    }
    int changed = 0, n_touched = 0;
    for (int64_t r = 0; r < SIZE; r++) {
        bool diff = memcmp(buf->x + r * D, before + r * D, sizeof(float) * D) != 0;
        changed += diff;
        n_touched += touched[r];
        if (!touched[r]) cr_expect(!diff, "slot %lld changed without being drawn", (long long)r);
    }
    cr_expect_eq(changed, n_touched, "every drawn slot moved (SGLD noise)");

    /* Restarts: fill the buffer with a value outside U(−1, 1) before each step and run 0 SGLD steps, so
     * a negative inside [−1, 1) was restarted. 200 steps × 64 draws: the rate is 0.05 ± 0.0019 (1σ). */
    eb_cd_free(cd);
    c.sgld.steps = 0;
    c.n_negatives = 64;
    cr_assert_eq(eb_cd_new(&c, D, 1, &cd, &err), EB_OK, "%s", err.message);
    buf = eb_cd_buffer(cd);
    int64_t restarted = 0, total = 0;
    for (int step = 0; step < 200; step++) {
        for (int64_t i = 0; i < SIZE * D; i++) buf->x[i] = 7.0f;
        cr_assert_eq(objective_call(cd, m, g, x, NULL, B, 100 + (uint64_t)step, NULL, NULL), EB_OK, "%s",
                     eb_graph_error(g));
        s = eb_cd_last_step(cd);
        cr_assert_eq(s.n, 64, "n_negatives overrides the batch size");
        for (int64_t i = 0; i < s.n; i++) {
            bool fresh = s.negatives[i * D] >= -1.0f && s.negatives[i * D] < 1.0f;
            cr_assert(fresh || s.negatives[i * D] == 7.0f);
            restarted += fresh;
            total++;
        }
    }
    double rate = (double)restarted / (double)total;
    cr_log_info("restart rate %.4f over %lld draws (want 0.05)", rate, (long long)total);
    cr_expect(fabs(rate - 0.05) < 0.01, "restart rate %.4f, want 0.05", rate);
    eb_graph_free(g);
    eb_cd_free(cd);
    eb_model_free(m);
}

Test(cd, learns_a_gaussian_blob) {
    /* 2-D data N(μ, σ²I), μ = (0.3, −0.2), σ = 0.15: after CD training f(μ) must exceed f on the ring
     * |x − μ| = 4σ (inside the buffer's U(−1, 1)² start region, so restarted chains explore it). */
    enum { N = 512, D = 2 };
    const float mu[D] = {0.3f, -0.2f}, sigma = 0.15f;
    float *x = malloc(sizeof(float) * N * D);
    eb_rng r;
    eb_rng_seed(&r, 2025);
    for (int i = 0; i < N; i++)
        for (int d = 0; d < D; d++) x[i * D + d] = mu[d] + sigma * (float)eb_rng_normal(&r);
    eb_mlp_config mc = eb_mlp_default_config(D, 1);
    mc.n_hidden = 2;
    mc.hidden[0] = mc.hidden[1] = 32;
    eb_model *m = NULL;
    eb_error err = {0};
    eb_rng init;
    eb_rng_seed(&init, 1);
    cr_assert_eq(eb_mlp_new(&mc, &init, NULL, &m, &err), EB_OK, "%s", err.message);
    /* A sampler at temperature 1: σ = √(2η) (the paper's η = 1, σ = 0.01 samples exp(f/T) at
     * T = σ²/2η = 5e-5, so on a toy problem it learns an f that is almost flat: f(μ) − f(ring) ~ 1e-3 and
     * its sign depends on the seed). With η = 0.005, σ = 0.1, l2 = 0.1, seeds 1–8 of this setup gave
     * f(μ) − max f(ring) between 3.2 and 4.1; the test asks for 1. */
    eb_cd_config c = eb_cd_default_config();
    c.sgld.steps = 10;
    c.sgld.step_size = (eb_decay){0.005, 0.005, EB_DECAY_CONSTANT};
    c.sgld.noise = (eb_decay){0.1, 0.1, EB_DECAY_CONSTANT};
    c.l2 = 0.1;
    c.buffer_size = 1000;
    c.seed = 1;
    eb_cd *cd = NULL;
    cr_assert_eq(eb_cd_new(&c, D, 1, &cd, &err), EB_OK, "%s", err.message);
    eb_train_params tp = eb_train_default_params();
    tp.steps = 300;
    tp.batch_size = 64;
    tp.progress = false;
    tp.seed = 1;
    eb_train_result res;
    cr_assert_eq(eb_train(m, x, NULL, N, D, eb_objective_cd, cd, &tp, &res, &err), EB_OK, "%s", err.message);
    cr_expect_eq(res.final_accuracy, -1.0);
    float probe[9 * D];
    memcpy(probe, mu, sizeof mu);
    for (int k = 0; k < 8; k++) {
        double a = 2.0 * 3.14159265358979323846 * k / 8.0;
        probe[(k + 1) * D] = mu[0] + 4.0f * sigma * (float)cos(a);
        probe[(k + 1) * D + 1] = mu[1] + 4.0f * sigma * (float)sin(a);
    }
    double f[9];
    log_density_of(m, probe, 9, f, NULL);
    double ring_max = f[1];
    for (int k = 2; k < 9; k++) ring_max = fmax(ring_max, f[k]);
    cr_log_info("f(mu) = %.4f, max f on the 4-sigma ring = %.4f, loss %.4f", f[0], ring_max, res.final_loss);
    cr_expect_gt(f[0], ring_max + 1.0, "f(mu) %.4f should clearly exceed f on the ring (max %.4f)", f[0],
                 ring_max);
    eb_cd_free(cd);
    eb_model_free(m);
    free(x);
}

Test(cd, divergence_is_an_error_naming_the_sgld_step) {
    enum { N = 64, D = 2 };
    float x[N * D];
    fill_uniform(x, N * D, -1.0f, 1.0f, 6);
    eb_model *m = tiny_mlp(D, 8, 1, EB_ACT_LEAKY_RELU, 4);
    float *before = malloc(sizeof(float) * (size_t)m->params.size);
    memcpy(before, m->params.data, sizeof(float) * (size_t)m->params.size);
    eb_cd_config c = eb_cd_default_config();
    c.sgld.steps = 10;
    c.sgld.step_size = (eb_decay){1e30, 1e30, EB_DECAY_CONSTANT};
    c.buffer_size = 200;
    eb_cd *cd = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_cd_new(&c, D, 1, &cd, &err), EB_OK, "%s", err.message);
    float replay_before[200 * D];
    memcpy(replay_before, eb_cd_buffer(cd)->x, sizeof replay_before);
    eb_train_params tp = eb_train_default_params();
    tp.steps = 5;
    tp.batch_size = 16;
    tp.progress = false;
    eb_train_result res;
    eb_status st = eb_train(m, x, NULL, N, D, eb_objective_cd, cd, &tp, &res, &err);
    cr_log_info("%s", err.message);
    cr_expect_eq(st, EB_ERR_NUMERIC, "status %d: %s", st, err.message);
    cr_expect(strstr(err.message, "SGLD step") != NULL, "message should name the SGLD step: %s", err.message);
    cr_expect(strstr(err.message, "contrastive divergence") != NULL, "%s", err.message);
    for (int64_t i = 0; i < m->params.size; i++) cr_assert(isfinite(m->params.data[i]));
    cr_expect_eq(memcmp(before, m->params.data, sizeof(float) * (size_t)m->params.size), 0,
                 "no optimizer step was taken");
    cr_expect_eq(memcmp(replay_before, eb_cd_buffer(cd)->x, sizeof replay_before), 0,
                 "a failed step leaves the buffer as it was");
    eb_cd_free(cd);
    free(before);
    eb_model_free(m);
}

Test(cd, bad_configs_and_batches) {
    eb_error err = {0};
    eb_cd *cd = NULL;
    eb_cd_config c = eb_cd_default_config();
    c.l2 = NAN;
    cr_expect_eq(eb_cd_new(&c, 2, 1, &cd, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "l2") != NULL, "%s", err.message);
    c = eb_cd_default_config();
    c.ce_weight = -1;
    cr_expect_eq(eb_cd_config_check(&c, &err), EB_ERR_ARG);
    c = eb_cd_default_config();
    c.sgld.steps = -3;
    cr_expect_eq(eb_cd_config_check(&c, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "steps") != NULL, "%s", err.message);
    c = eb_cd_default_config();
    c.sgld.step_size.start = NAN;
    cr_expect_eq(eb_cd_config_check(&c, &err), EB_ERR_ARG);
    c = eb_cd_default_config();
    c.restart_prob = 1.5;
    cr_expect_eq(eb_cd_config_check(&c, &err), EB_ERR_ARG);
    c = eb_cd_default_config();
    c.cond_steps = -2;
    cr_expect_eq(eb_cd_config_check(&c, &err), EB_ERR_ARG);
    c = eb_cd_default_config();
    c.buffer_size = 0;
    cr_expect_eq(eb_cd_config_check(&c, &err), EB_ERR_ARG);
    c = eb_cd_supervised_default_config();
    cr_expect_eq(eb_cd_new(&c, 2, 1, &cd, &err), EB_ERR_ARG, "supervised CD needs >= 2 outputs");
    cr_expect_null(cd);
    c = eb_cd_default_config();
    c.class_conditional = true;
    cr_expect_eq(eb_cd_new(&c, 2, 1, &cd, &err), EB_ERR_ARG);

    /* γ > 0 without labels; a model of another shape */
    c = eb_cd_supervised_default_config();
    c.sgld.steps = 2;
    c.buffer_size = 30;
    cr_assert_eq(eb_cd_new(&c, 2, 3, &cd, &err), EB_OK, "%s", err.message);
    eb_model *m = tiny_mlp(2, 4, 3, EB_ACT_LEAKY_RELU, 1), *other = tiny_mlp(3, 4, 3, EB_ACT_LEAKY_RELU, 1);
    float x[4 * 3] = {0};
    eb_graph *g = eb_graph_new(0, NULL);
    cr_expect_eq(objective_call(cd, m, g, x, NULL, 4, 1, NULL, NULL), EB_ERR_ARG);
    cr_expect(strstr(eb_graph_error(g), "labels") != NULL, "%s", eb_graph_error(g));
    int32_t y[4] = {0, 1, 2, 0};
    cr_expect_eq(objective_call(cd, other, g, x, y, 4, 1, NULL, NULL), EB_ERR_SHAPE);
    int32_t bad[4] = {0, 1, 5, 0};
    cr_expect_neq(objective_call(cd, m, g, x, bad, 4, 1, NULL, NULL), EB_OK, "label 5 of 3 classes");
    cr_expect_eq(objective_call(cd, m, g, x, y, 4, 1, NULL, NULL), EB_OK, "%s", eb_graph_error(g));
    char *json = eb_cd_config_json(eb_cd_config_of(cd));
    cr_assert_not_null(json);
    cr_expect(strstr(json, "\"ce_weight\":1") != NULL && strstr(json, "\"class_conditional\":true") != NULL,
              "%s", json);
    free(json);
    eb_graph_free(g);
    eb_model_free(m);
    eb_model_free(other);
    eb_cd_free(cd);
}
