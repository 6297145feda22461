/* SGLD, its schedules and projections, the replay buffer, and a classifier's log-density. */
#include <criterion/criterion.h>
#include <ebood/ebm.h>
#include <math.h>
#include <stdlib.h>

/* f(x) = −½‖x − μ‖²/s² per row: the log-density of N(μ, s²I) up to a constant. ctx = {μ[dim], s}. */
typedef struct gaussian {
    float mu[4];
    float s;
    int64_t dim;
} gaussian;

static eb_tensor *gaussian_log_density(void *ctx, eb_graph *g, eb_tensor *x) {
    const gaussian *q = ctx;
    eb_tensor *mu = eb_tensor_copy(g, q->mu, 2, EB_SHAPE(1, q->dim));
    eb_tensor *d = eb_sub(g, x, mu);
    eb_tensor *sq = eb_sum(g, eb_square(g, d), 1, false);
    return eb_mul_scalar(g, sq, -0.5f / (q->s * q->s));
}

Test(sgld, samples_a_gaussian_with_tied_noise) {
    /* With σ = √(2η), SGLD is the unadjusted Langevin algorithm: for N(μ, I) and small η its stationary
     * law is N(μ, I/(1 − η/2)). 2000 chains × 400 steps from 0: mean ≈ μ, variance ≈ 1/(1−η/2). */
    gaussian q = {.mu = {2.0f, -1.0f}, .s = 1.0f, .dim = 2};
    int64_t n = 2000;
    float *x = calloc((size_t)n * 2, sizeof(float));
    eb_graph *g = eb_graph_new(0, NULL);
    eb_rng rng;
    eb_rng_seed(&rng, 7);
    eb_sgld_params p = eb_sgld_default_params();
    double eta = 0.05;
    p.steps = 400;
    p.step_size = (eb_decay){eta, eta, EB_DECAY_CONSTANT};
    p.noise = (eb_decay){sqrt(2 * eta), sqrt(2 * eta), EB_DECAY_CONSTANT};
    eb_sgld_stats st;
    eb_error err = {0};
    cr_assert_eq(eb_sgld_sample(gaussian_log_density, &q, x, n, 2, &p, &rng, g, &st, &err), EB_OK, "%s",
                 err.message);
    cr_assert_eq(st.steps, 400);
    cr_assert_lt(st.first_mean, st.last_mean, "chains should climb the density");
    for (int j = 0; j < 2; j++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < n; i++) m += (double)x[i * 2 + j];
        m /= (double)n;
        for (int64_t i = 0; i < n; i++) v += ((double)x[i * 2 + j] - m) * ((double)x[i * 2 + j] - m);
        v /= (double)(n - 1);
        /* standard errors: mean 0.023, variance 0.032 */
        cr_assert_lt(fabs(m - (double)q.mu[j]), 0.1, "dim %d mean %g", j, m);
        cr_assert_lt(fabs(v - 1.0 / (1.0 - eta / 2)), 0.15, "dim %d variance %g", j, v);
    }
    free(x);
    eb_graph_free(g);
}

Test(sgld, zero_noise_is_gradient_ascent_and_deterministic) {
    gaussian q = {.mu = {1.0f, 1.0f, 1.0f}, .s = 1.0f, .dim = 3};
    float x[6] = {0, 0, 0, 3, 3, 3};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_sgld_params p = eb_sgld_default_params();
    p.steps = 1;
    p.step_size = (eb_decay){0.5, 0.5, EB_DECAY_CONSTANT};
    p.noise = (eb_decay){0, 0, EB_DECAY_CONSTANT};
    eb_error err = {0};
    cr_assert_eq(eb_sgld_sample(gaussian_log_density, &q, x, 2, 3, &p, &rng, g, NULL, &err), EB_OK);
    /* x + 0.5·(μ − x) */
    for (int j = 0; j < 3; j++) {
        cr_assert_float_eq(x[j], 0.5f, 1e-6f);
        cr_assert_float_eq(x[3 + j], 2.0f, 1e-6f);
    }
    eb_graph_free(g);
}

Test(sgld, projection_relu_then_sphere) {
    float x[4] = {3, -1, 0, 0};
    eb_project_rows(x, 2, 2, EB_PROJECT_RELU | EB_PROJECT_SPHERE);
    cr_assert_float_eq(x[0], 1.0f, 1e-7f);
    cr_assert_float_eq(x[1], 0.0f, 0.0f);
    cr_assert(x[2] == 0.0f && x[3] == 0.0f, "a zero row stays zero (eps guard), no NaN");
    /* every SGLD iterate is projected: all rows stay on the sphere's positive orthant */
    gaussian q = {.mu = {2.0f, 0.5f}, .s = 1.0f, .dim = 2};
    float y[20];
    eb_rng rng;
    eb_rng_seed(&rng, 3);
    eb_rng_fill_uniform(&rng, y, 20, 0.1f, 1); /* positive start points (ReLU of an all-negative row is 0) */
    eb_graph *g = eb_graph_new(0, NULL);
    eb_sgld_params p = eb_sgld_default_params();
    p.steps = 5;
    p.step_size = (eb_decay){0.1, 0.01, EB_DECAY_QUADRATIC};
    p.noise = (eb_decay){0.1, 0.01, EB_DECAY_QUADRATIC};
    p.projection = EB_PROJECT_RELU | EB_PROJECT_SPHERE;
    eb_error err = {0};
    cr_assert_eq(eb_sgld_sample(gaussian_log_density, &q, y, 10, 2, &p, &rng, g, NULL, &err), EB_OK);
    for (int i = 0; i < 10; i++) {
        cr_assert_geq(y[2 * i], 0.0f);
        cr_assert_geq(y[2 * i + 1], 0.0f);
        cr_assert_float_eq(hypotf(y[2 * i], y[2 * i + 1]), 1.0f, 1e-5f);
    }
    eb_graph_free(g);
}

Test(sgld, decay_schedules) {
    eb_decay c = {2, 1, EB_DECAY_CONSTANT}, l = {2, 1, EB_DECAY_LINEAR}, q = {2, 1, EB_DECAY_QUADRATIC};
    cr_assert_float_eq(eb_decay_value(&c, 7, 10), 2.0, 1e-12);
    cr_assert_float_eq(eb_decay_value(&l, 0, 10), 2.0, 1e-12);
    cr_assert_float_eq(eb_decay_value(&l, 5, 10), 1.5, 1e-12);
    cr_assert_float_eq(eb_decay_value(&q, 5, 10), 1.25, 1e-12);
    cr_assert_float_eq(eb_decay_value(&q, 10, 10), 1.0, 1e-12);
    eb_decay_kind k;
    eb_error err = {0};
    cr_assert_eq(eb_decay_kind_parse("quadratic", &k, &err), EB_OK);
    cr_assert_eq(k, EB_DECAY_QUADRATIC);
    cr_assert_eq(eb_decay_kind_parse("cubic", &k, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "cubic"));
}

/* f(x) = −c·‖x‖² with c huge: the first step overshoots and the energy explodes. */
static eb_tensor *steep(void *ctx, eb_graph *g, eb_tensor *x) {
    (void)ctx;
    return eb_mul_scalar(g, eb_sum(g, eb_square(g, x), 1, false), -1e4f);
}

Test(sgld, divergence_names_the_step) {
    float x[4] = {1, 1, -1, 1};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_sgld_params p = eb_sgld_default_params(); /* η = 1: x ← x − 2e4·x every step */
    eb_error err = {0};
    cr_assert_eq(eb_sgld_sample(steep, NULL, x, 2, 2, &p, &rng, g, NULL, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "SGLD step "), "%s", err.message);
    cr_assert(strstr(err.message, "of 100"), "%s", err.message);
    for (int i = 0; i < 4; i++) cr_assert(isfinite(x[i]), "x keeps its last finite state");
    eb_graph_free(g);
}

Test(sgld, bad_params) {
    eb_sgld_params p = eb_sgld_default_params();
    eb_error err = {0};
    p.steps = -1;
    cr_assert_eq(eb_sgld_params_check(&p, &err), EB_ERR_ARG);
    p = eb_sgld_default_params();
    p.noise.start = NAN;
    cr_assert_eq(eb_sgld_params_check(&p, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "noise"));
    p = eb_sgld_default_params();
    p.step_size.end = -1;
    cr_assert_eq(eb_sgld_params_check(&p, &err), EB_ERR_ARG);
}

Test(sgld, model_parameters_are_frozen_while_sampling) {
    eb_mlp_config c = eb_mlp_default_config(3, 4);
    c.n_hidden = 1;
    c.hidden[0] = 8;
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK);
    for (int64_t i = 0; i < m->params.size; i++) m->params.grad[i] = 0.25f;
    eb_model_density d = {.model = m};
    float x[12];
    eb_rng_fill_uniform(&rng, x, 12, -1, 1);
    float x0[12];
    memcpy(x0, x, sizeof x);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_sgld_params p = eb_sgld_default_params();
    p.steps = 3;
    cr_assert_eq(eb_sgld_sample(eb_model_log_density, &d, x, 4, 3, &p, &rng, g, NULL, &err), EB_OK, "%s",
                 err.message);
    for (int64_t i = 0; i < m->params.size; i++) cr_assert_eq(m->params.grad[i], 0.25f);
    cr_assert_neq(memcmp(x, x0, sizeof x), 0, "the chains moved");
    eb_graph_free(g);
    eb_model_free(m);
}

Test(model_density, logsumexp_and_class_logit) {
    eb_mlp_config c = eb_mlp_default_config(2, 3);
    c.n_hidden = 1;
    c.hidden[0] = 4;
    eb_rng rng;
    eb_rng_seed(&rng, 2);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK);
    float x[4] = {0.5f, -1, 2, 0.25f}, logits[6];
    cr_assert_eq(eb_model_predict(m, x, 2, 2, logits, NULL, &err), EB_OK);
    eb_graph *g = eb_graph_new(0, NULL);
    int32_t labels[2] = {2, 0};
    eb_model_density lse = {.model = m}, cls = {.model = m, .labels = labels};
    eb_tensor *xt = eb_tensor_copy(g, x, 2, EB_SHAPE(2, 2));
    eb_tensor *f = eb_model_log_density(&lse, g, xt), *fy = eb_model_log_density(&cls, g, xt);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    for (int i = 0; i < 2; i++) {
        double mx = fmax(fmax((double)logits[3 * i], (double)logits[3 * i + 1]), (double)logits[3 * i + 2]),
               s = 0;
        for (int k = 0; k < 3; k++) s += exp((double)logits[3 * i + k] - mx);
        cr_assert_float_eq(f->data[i], mx + log(s), 1e-5);
        cr_assert_float_eq(fy->data[i], logits[3 * i + labels[i]], 1e-6);
    }
    int32_t bad[2] = {0, 3};
    cls.labels = bad;
    eb_model_log_density(&cls, g, xt);
    cr_assert_eq(eb_graph_status(g), EB_ERR_ARG);
    cr_assert(strstr(eb_graph_error(g), "label 3 of row 1"), "%s", eb_graph_error(g));
    eb_graph_free(g);
    eb_model_free(m);
}

Test(replay_buffer, draw_restart_store_and_class_blocks) {
    eb_replay_buffer b;
    eb_rng rng;
    eb_rng_seed(&rng, 11);
    eb_error err = {0};
    cr_assert_eq(eb_replay_buffer_init(&b, 1003, 2, 10, -1, 1, 0.05, &rng, &err), EB_OK);
    cr_assert_eq(b.size, 1000, "trimmed to a multiple of the class count");
    for (int64_t i = 0; i < b.size * 2; i++) cr_assert(b.x[i] >= -1 && b.x[i] < 1);
    /* mark every chain so restarts are recognisable: stored values are 5, fresh ones are in [−1, 1) */
    for (int64_t i = 0; i < b.size * 2; i++) b.x[i] = 5.0f;
    enum { N = 4000 };
    static int32_t labels[N];
    static int64_t index[N];
    static float x[2 * N];
    for (int i = 0; i < N; i++) labels[i] = i % 10;
    cr_assert_eq(eb_replay_buffer_draw(&b, N, labels, &rng, index, x, &err), EB_OK);
    int restarted = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(index[i] / 100 == labels[i], "chain %lld is in class %d's block", (long long)index[i],
                  labels[i]);
        restarted += x[2 * i] != 5.0f;
    }
    /* Binomial(4000, 0.05): mean 200, sd 13.8 */
    cr_assert(restarted > 140 && restarted < 260, "restarts %d", restarted);
    x[0] = -7.0f;
    eb_replay_buffer_store(&b, 1, index, x);
    cr_assert_eq(b.x[index[0] * 2], -7.0f);
    cr_assert_eq(eb_replay_buffer_draw(&b, 1, NULL, &rng, index, x, &err), EB_ERR_ARG);
    labels[0] = 10;
    cr_assert_eq(eb_replay_buffer_draw(&b, 1, labels, &rng, index, x, &err), EB_ERR_ARG);
    eb_replay_buffer_free(&b);
    cr_assert_eq(eb_replay_buffer_init(&b, 10, 2, 0, 1, 1, 0.05, &rng, &err), EB_ERR_ARG);
    cr_assert_eq(eb_replay_buffer_init(&b, 10, 2, 0, -1, 1, 1.5, &rng, &err), EB_ERR_ARG);
}

/* f(x) = 1e9·x₀: chains at ±1 have f = ±1e9, whose MEAN is 0 — the guard must look at mean |f|. */
static eb_tensor *huge_linear(void *ctx, eb_graph *g, eb_tensor *x) {
    (void)ctx;
    eb_tensor *w = eb_tensor_copy(g, (const float[]){1e9f, 0.0f}, 2, EB_SHAPE(2, 1));
    return eb_reshape(g, eb_matmul(g, x, w, false, false), 1, EB_SHAPE(x->shape[0]));
}

Test(sgld, guard_sees_magnitude_not_the_signed_mean) {
    float x[4] = {1, 0, -1, 0};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_sgld_params p = eb_sgld_default_params();
    p.step_size = (eb_decay){0, 0, EB_DECAY_CONSTANT};
    eb_error err = {0};
    cr_assert_eq(eb_sgld_sample(huge_linear, NULL, x, 2, 2, &p, &rng, g, NULL, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "SGLD step 1 of 100: log-density exploded"), "%s", err.message);
    eb_graph_free(g);
}
