/* The radial normalizing flow (src/nn/radial_flow.c) and the max-likelihood objective: log-likelihood,
 * final z and parameter/input gradients against a float64 PyTorch reference
 * (scripts/make_flow_fixture.py → tests/fixtures/flow/radial_flow.json), central differences,
 * normalisation (∫p = 1 in 2-D), checkpoints, bad input, and training on a Gaussian blob. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_json.h"
#include "test_util.h"

static eb_model *new_flow(int64_t dim, int n_layers, uint64_t seed) {
    eb_radial_flow_config c = {dim, n_layers};
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_radial_flow_new(&c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    return m;
}

/* log p of rows x[n, dim] (no gradients). */
static void log_p_of(eb_model *m, const float *x, int64_t n, float *out) {
    eb_error err = {0};
    cr_assert_eq(eb_model_predict(m, x, n, 1024, out, NULL, &err), EB_OK, "%s", err.message);
}

/* The parameters without the buffer's alignment padding: Σ sizes. */
static int64_t packed_size(const eb_model *m) {
    int64_t n = 0;
    for (int i = 0; i < m->params.count; i++) n += m->params.info[i].size;
    return n;
}
/* packed[Σ sizes] ↔ the flat buffer buf (params.data or params.grad layout). */
static void unpack(const eb_model *m, const float *packed, float *buf) {
    for (int i = 0; i < m->params.count; i++, packed += m->params.info[i - 1].size)
        memcpy(buf + m->params.info[i].offset, packed, (size_t)m->params.info[i].size * sizeof(float));
}
static void pack(const eb_model *m, const float *buf, float *packed) {
    for (int i = 0; i < m->params.count; i++, packed += m->params.info[i - 1].size)
        memcpy(packed, buf + m->params.info[i].offset, (size_t)m->params.info[i].size * sizeof(float));
}

Test(radial_flow, config_and_layout) {
    eb_radial_flow_config d = eb_radial_flow_default_config(7);
    cr_assert_eq(d.n_layers, 20, "the paper's 20 layers");
    cr_assert_eq(d.dim, 7);
    eb_model *m = new_flow(3, 4, 1);
    cr_assert_eq(m->kind, EB_MODEL_RADIAL_FLOW);
    cr_assert_str_eq(eb_model_kind_name(m->kind), "radial_flow");
    eb_model_kind k;
    cr_assert_eq(eb_model_kind_parse("radial_flow", &k, NULL), EB_OK);
    cr_assert_eq(k, EB_MODEL_RADIAL_FLOW);
    cr_assert_eq(eb_model_in_dim(m), 3);
    cr_assert_eq(eb_model_out_dim(m), 1);
    cr_assert_eq(eb_model_feature_dim(m), 3);
    cr_assert_eq(m->params.count, 12);
    cr_assert_eq(packed_size(m), 4 * (3 + 2));
    cr_assert_str_eq(m->params.info[0].name, "transforms.0.x0");
    cr_assert_str_eq(m->params.info[1].name, "transforms.0.alpha_prime");
    cr_assert_str_eq(m->params.info[11].name, "transforms.3.beta_prime");
    /* pyro's init: U(−1/√d, 1/√d), not all equal */
    float bound = 1.0f / sqrtf(3.0f);
    bool varied = false;
    for (int64_t i = 0; i < m->params.size; i++) {
        cr_assert(fabsf(m->params.data[i]) <= bound, "param %lld = %g", (long long)i,
                  (double)m->params.data[i]);
        varied |= m->params.data[i] != m->params.data[0];
    }
    cr_assert(varied);
    eb_model_free(m);

    eb_error err = {0};
    eb_model *bad = NULL;
    eb_rng rng;
    eb_rng_seed(&rng, 0);
    cr_assert_eq(eb_radial_flow_new(&(eb_radial_flow_config){2, 0}, &rng, NULL, &bad, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "layers"), "%s", err.message);
    cr_assert_eq(eb_radial_flow_new(&(eb_radial_flow_config){0, 3}, &rng, NULL, &bad, &err), EB_ERR_ARG);
    cr_assert_null(bad);
    /* not an image architecture */
    eb_image_config ic = eb_image_default_config(EB_MODEL_RADIAL_FLOW, 1, 8, 8, 2);
    cr_assert_eq(eb_image_model_new(EB_MODEL_RADIAL_FLOW, &ic, &rng, NULL, &bad, &err), EB_ERR_ARG);
}

static void check_close(const char *what, const char *name, const float *got, const float *want, int64_t n,
                        double rtol, double atol) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        double excess = d - (atol + rtol * fabs((double)want[i]));
        if (d > worst) worst = d;
        cr_assert(excess <= 0, "%s %s[%lld]: got %.9g, want %.9g", name, what, (long long)i, (double)got[i],
                  (double)want[i]);
    }
    cr_log_info("%s %s: max |diff| %.3g", name, what, worst);
}

Test(radial_flow, matches_pytorch_fixture) {
    (void)flag, (void)read_shape; /* fixture_json.h helpers this fixture does not need */
    cJSON *doc = load_fixture_json("flow/radial_flow.json");
    const cJSON *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        const char *name = cJSON_GetStringValue(item(c, "name"));
        int64_t dim = (int64_t)num(c, "dim"), n = (int64_t)num(c, "n");
        eb_model *m = new_flow(dim, (int)num(c, "n_layers"), 0);
        float *params, *x, *log_p, *z, *grad, *x_grad;
        int64_t np = packed_size(m);
        float *got = malloc((size_t)np * sizeof(float));
        cr_assert_eq(read_floats(item(c, "params"), &params), np);
        cr_assert_eq(read_floats(item(c, "x"), &x), n * dim);
        cr_assert_eq(read_floats(item(c, "log_p"), &log_p), n);
        cr_assert_eq(read_floats(item(c, "z"), &z), n * dim);
        cr_assert_eq(read_floats(item(c, "grad"), &grad), np);
        cr_assert_eq(read_floats(item(c, "x_grad"), &x_grad), n * dim);
        unpack(m, params, m->params.data);
        eb_params_zero_grad(&m->params);

        eb_graph *g = eb_graph_new(0, NULL);
        eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(n, dim), true);
        eb_tensor *feat = NULL;
        eb_tensor *out = eb_model_forward(m, g, xt, true, NULL, &feat);
        eb_tensor *loss = eb_mul_scalar(g, eb_mean_all(g, eb_logsumexp(g, out, 1, false)), -1.0f);
        cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
        cr_assert_eq(out->ndim, 2);
        cr_assert_eq(out->shape[0], n);
        cr_assert_eq(out->shape[1], 1);
        check_close("log p", name, out->data, log_p, n, 1e-5, 2e-4);
        check_close("z", name, feat->data, z, n * dim, 1e-5, 1e-4);
        cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK);
        pack(m, m->params.grad, got);
        check_close("d(-mean log p)/dθ", name, got, grad, np, 1e-3, 2e-4);
        for (int64_t i = 0; i < n * dim; i++) x_grad[i] = -x_grad[i] / (float)n; /* Σ log p → −mean */
        check_close("d(-mean log p)/dx", name, xt->grad, x_grad, n * dim, 1e-3, 2e-4);

        /* the max-likelihood objective gives the same loss and gradient */
        eb_graph_reset(g);
        eb_params_zero_grad(&m->params);
        xt = eb_tensor_input(g, x, 2, EB_SHAPE(n, dim), false);
        eb_batch b = {xt, NULL, n, 0};
        int64_t n_correct = 7;
        eb_tensor *l2 = eb_objective_max_likelihood(NULL, m, g, &b, NULL, &n_correct);
        cr_assert_eq(eb_graph_backward(g, l2, NULL), EB_OK, "%s", eb_graph_error(g));
        cr_assert_eq(n_correct, -1);
        double want = 0;
        for (int64_t i = 0; i < n; i++) want -= (double)log_p[i] / (double)n;
        cr_assert(fabs((double)l2->data[0] - want) <= 1e-4 * (1 + fabs(want)), "%s loss %g want %g", name,
                  (double)l2->data[0], want);
        pack(m, m->params.grad, got);
        check_close("objective grad", name, got, grad, np, 1e-3, 2e-4);

        eb_graph_free(g);
        free(got), free(params), free(x), free(log_p), free(z), free(grad), free(x_grad);
        eb_model_free(m);
        n_cases++;
    }
    cr_assert_eq(n_cases, 3);
    cJSON_Delete(doc);
}

/* Central differences of L(θ) = −mean log p in double around float parameters: checks the tape's
 * gradient independently of the fixture (with parameters where β changes sign across layers). */
Test(radial_flow, gradient_central_differences) {
    enum { N = 6, D = 3, L = 4 };
    eb_model *m = new_flow(D, L, 11);
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    for (int i = 0; i < L; i++) { /* spread the parameters out: strong layers, β of both signs */
        m->params.data[m->params.info[3 * i + 1].offset] = (float)eb_rng_uniform_range(&rng, -1, 1);
        m->params.data[m->params.info[3 * i + 2].offset] = (float)eb_rng_uniform_range(&rng, -1, 2);
    }
    float x[N * D];
    eb_rng_fill_normal(&rng, x, N * D, 0.0f, 1.2f);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_params_zero_grad(&m->params);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(N, D), false);
    eb_batch b = {xt, NULL, N, 0};
    eb_tensor *loss = eb_objective_max_likelihood(NULL, m, g, &b, NULL, NULL);
    cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "%s", eb_graph_error(g));
    float *analytic = malloc((size_t)m->params.size * sizeof(float));
    memcpy(analytic, m->params.grad, (size_t)m->params.size * sizeof(float));
    float lp[N];
    for (int64_t k = 0; k < m->params.size; k++) {
        float keep = m->params.data[k];
        double h = 1e-2, f[2];
        for (int s = 0; s < 2; s++) {
            m->params.data[k] = keep + (float)(s ? -h : h);
            log_p_of(m, x, N, lp);
            f[s] = 0;
            for (int i = 0; i < N; i++) f[s] -= (double)lp[i] / N;
        }
        double hh = (double)(keep + (float)h) - (double)(keep - (float)h); /* the step actually taken */
        m->params.data[k] = keep;
        double fd = (f[0] - f[1]) / hh;
        int owner = 0;
        while (owner + 1 < m->params.count && m->params.info[owner + 1].offset <= k) owner++;
        cr_assert(fabs(fd - (double)analytic[k]) <= 2e-3 + 2e-2 * fabs(fd), "%s: analytic %g, numeric %g",
                  m->params.info[owner].name, (double)analytic[k], fd);
    }
    free(analytic);
    eb_graph_free(g);
    eb_model_free(m);
}

/* p(x) is a density: ∫p dx = 1 (midpoint rule on [−12, 12]², the tails are Gaussian). */
Test(radial_flow, density_integrates_to_one) {
    enum { G = 480 };
    eb_model *m = new_flow(2, 5, 3);
    for (int i = 0; i < 5; i++) /* strong radial layers: expansions and contractions */
        m->params.data[m->params.info[3 * i + 2].offset] = i % 2 ? 2.0f : -0.3f;
    float *x = malloc(sizeof(float) * 2 * G * G), *lp = malloc(sizeof(float) * G * G);
    double lo = -12, step = 24.0 / G;
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            x[2 * (i * G + j)] = (float)(lo + (i + 0.5) * step);
            x[2 * (i * G + j) + 1] = (float)(lo + (j + 0.5) * step);
        }
    log_p_of(m, x, G * G, lp);
    double total = 0;
    for (int i = 0; i < G * G; i++) total += exp((double)lp[i]) * step * step;
    cr_log_info("integral of p: %.6f", total);
    cr_assert(fabs(total - 1.0) < 5e-3, "∫p = %.6f", total);
    free(x);
    free(lp);
    eb_model_free(m);
}

Test(radial_flow, checkpoint_round_trip) {
    eb_model *m = new_flow(3, 6, 4);
    char path[4096];
    eb_test_path(path, sizeof path, "flow.safetensors");
    eb_error err = {0};
    eb_st_meta extra[] = {{"ebood.data", "blob"}};
    cr_assert_eq(eb_model_save(m, path, extra, 1, &err), EB_OK, "%s", err.message);
    eb_model *l = NULL;
    cr_assert_eq(eb_model_load(path, NULL, &l, &err), EB_OK, "%s", err.message);
    cr_assert_eq(l->kind, EB_MODEL_RADIAL_FLOW);
    cr_assert_eq(l->flow.dim, 3);
    cr_assert_eq(l->flow.n_layers, 6);
    cr_assert_eq(memcmp(l->params.data, m->params.data, (size_t)m->params.size * sizeof(float)), 0);
    char *cfg = eb_model_config_json(l);
    cr_assert_str_eq(cfg, "{\"dim\":3,\"n_layers\":6}");
    free(cfg);
    float x[9] = {0.1f, -2, 0.5f, 1, 1, 1, -0.3f, 0.2f, 3}, a[3], b[3];
    log_p_of(m, x, 3, a);
    log_p_of(l, x, 3, b);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    eb_model_free(l);
    eb_model_free(m);
    remove(path);
}

Test(radial_flow, bad_input) {
    eb_model *m = new_flow(2, 3, 1);
    eb_graph *g = eb_graph_new(0, NULL);
    float x[6] = {0};
    eb_tensor *out =
        eb_model_forward(m, g, eb_tensor_input(g, x, 2, EB_SHAPE(2, 3), false), false, NULL, NULL);
    (void)out;
    cr_assert_eq(eb_graph_status(g), EB_ERR_SHAPE);
    cr_assert(strstr(eb_graph_error(g), "radial_flow"), "%s", eb_graph_error(g));
    /* the objective refuses an unnormalised model */
    eb_mlp_config mc = eb_mlp_default_config(2, 3);
    eb_rng rng;
    eb_rng_seed(&rng, 0);
    eb_model *mlp = NULL;
    cr_assert_eq(eb_mlp_new(&mc, &rng, NULL, &mlp, NULL), EB_OK);
    eb_graph_reset(g);
    eb_batch b = {eb_tensor_input(g, x, 2, EB_SHAPE(3, 2), false), NULL, 3, 0};
    eb_objective_max_likelihood(NULL, mlp, g, &b, NULL, NULL);
    cr_assert_eq(eb_graph_status(g), EB_ERR_ARG);
    cr_assert(strstr(eb_graph_error(g), "not a normalised density"), "%s", eb_graph_error(g));
    eb_model_free(mlp);
    eb_graph_free(g);
    eb_model_free(m);
}

/* −mean log p training (AdamW, lr 1e-2, 300 steps: a short test) raises the mean log-likelihood of a 2-D
 * Gaussian blob N((1.5, −1), diag(0.3², 0.8²)) far above the untrained flow's and close to the blob's
 * own entropy bound (−H = −(1 + log 2π + log(0.3·0.8)) ≈ −1.41). */
Test(radial_flow, training_raises_log_likelihood) {
    enum { N = 512 };
    float *x = malloc(sizeof(float) * 2 * N);
    eb_rng rng;
    eb_rng_seed(&rng, 21);
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)(1.5 + 0.3 * eb_rng_normal(&rng));
        x[2 * i + 1] = (float)(-1.0 + 0.8 * eb_rng_normal(&rng));
    }
    eb_model *m = new_flow(2, 20, 7);
    float *lp = malloc(sizeof(float) * N);
    log_p_of(m, x, N, lp);
    double before = 0, after = 0;
    for (int i = 0; i < N; i++) before += (double)lp[i] / N;
    eb_train_params p = eb_train_default_params();
    p.progress = false;
    p.steps = 300;
    p.batch_size = 128;
    p.optimizer = eb_adamw_default_params();
    p.optimizer.lr = 1e-2f;
    p.optimizer.weight_decay = 0.0f;
    p.schedule = eb_schedule_default(1e-2f);
    p.seed = 3;
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, NULL, N, 2, eb_objective_max_likelihood, NULL, &p, &r, &err), EB_OK, "%s",
                 err.message);
    log_p_of(m, x, N, lp);
    for (int i = 0; i < N; i++) after += (double)lp[i] / N;
    double bound = -(1.0 + log(2 * 3.14159265358979323846) + log(0.3 * 0.8));
    cr_log_info("mean log p: %.3f before, %.3f after (entropy bound %.3f), final loss %.3f", before, after,
                bound, r.final_loss);
    cr_assert(after > before + 1.0, "mean log p %.3f → %.3f", before, after);
    cr_assert(after > bound - 0.6 && after < bound + 0.3, "mean log p %.3f, the blob allows ≈ %.3f", after,
              bound);
    cr_assert(fabs(r.final_loss + after) < 0.5, "final loss %.3f vs −mean log p %.3f", r.final_loss, -after);
    free(lp);
    free(x);
    eb_model_free(m);
}
