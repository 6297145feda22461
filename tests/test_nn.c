/* nn: the flat parameter buffer, PyTorch initialisation, the MLP (against PyTorch itself, through
 * scripts/torch_mlp_check.py, and against a torch-written fixture made by the same script),
 * checkpoints and their bad-input cases, forward/predict, activations, and the training loop. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <ebood/data.h>
#include <ebood/nn.h>
#include <ebood/ood.h>
#include <ebood/safetensors.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test_util.h"

#define SCRIPTS_DIR EB_FIXTURES_DIR "/../../scripts"
#define PYTHON      "/usr/bin/python3"

/* ---- helpers ----------------------------------------------------------------------------------- */

static eb_mlp_config mlp_config(int64_t in, int64_t out, int n_hidden, const int64_t *hidden,
                                eb_activation act, float param) {
    eb_mlp_config c = {0};
    c.in_dim = in;
    c.out_dim = out;
    c.n_hidden = n_hidden;
    for (int i = 0; i < n_hidden; i++) c.hidden[i] = hidden[i];
    c.activation = act;
    c.activation_param = param;
    return c;
}

static eb_model *new_mlp(const eb_mlp_config *c, uint64_t seed) {
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_model *m = NULL;
    eb_error err = {0};
    eb_status st = eb_mlp_new(c, &rng, NULL, &m, &err);
    cr_assert_eq(st, EB_OK, "eb_mlp_new: %s", err.message);
    cr_assert_not_null(m);
    return m;
}

static float *random_rows(int64_t n, int64_t dim, float scale, uint64_t seed) {
    float *x = malloc((size_t)(n * dim) * sizeof *x);
    cr_assert_not_null(x);
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_rng_fill_normal(&rng, x, n * dim, 0.0f, scale);
    return x;
}

static const float *param_data(const eb_model *m, int i) { return m->params.data + m->params.info[i].offset; }

/* Bitwise equality of every parameter (padding between parameters is not compared). */
static bool same_params(const eb_model *a, const eb_model *b) {
    if (a->params.count != b->params.count) return false;
    for (int i = 0; i < a->params.count; i++)
        if (a->params.info[i].size != b->params.info[i].size ||
            memcmp(param_data(a, i), param_data(b, i), (size_t)a->params.info[i].size * sizeof(float)) != 0)
            return false;
    return true;
}

static void assert_no_file(const char *path) {
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert(!eb_test_file_exists(path), "%s exists", path);
    cr_assert(!eb_test_file_exists(tmp), "temporary %s left behind", tmp);
}

/* Activations as PyTorch defines them, in double. */
static double act_ref(eb_activation a, double p, double x) {
    switch (a) {
    case EB_ACT_RELU: return x > 0 ? x : 0;
    case EB_ACT_LEAKY_RELU: return x > 0 ? x : p * x;
    case EB_ACT_ELU: return x > 0 ? x : p * (exp(x) - 1);
    case EB_ACT_SOFTPLUS: return log1p(exp(p * x)) / p;
    case EB_ACT_TANH: return tanh(x);
    case EB_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case EB_ACT_SWISH: return x / (1 + exp(-x));
    }
    return NAN;
}

/* Reference forward pass in double straight from the raw parameter buffer:
 * logits[n, out], features[n, feature_dim] (the last hidden activation, or x when n_hidden = 0). */
static void manual_forward(const eb_model *m, const float *x, int64_t n, double *logits, double *features) {
    const eb_mlp_config *c = &m->mlp;
    int64_t widest = c->in_dim;
    for (int i = 0; i < c->n_hidden; i++) widest = c->hidden[i] > widest ? c->hidden[i] : widest;
    double *h = malloc((size_t)widest * sizeof *h), *t = malloc((size_t)widest * sizeof *t);
    cr_assert(h && t);
    for (int64_t r = 0; r < n; r++) {
        int64_t dim = c->in_dim;
        for (int64_t j = 0; j < dim; j++) h[j] = x[r * dim + j];
        for (int l = 0; l <= c->n_hidden; l++) {
            const eb_param_info *wi = &m->params.info[2 * l], *bi = &m->params.info[2 * l + 1];
            const float *w = m->params.data + wi->offset, *b = m->params.data + bi->offset;
            int64_t out = wi->shape[0];
            cr_assert_eq(wi->shape[1], dim);
            for (int64_t o = 0; o < out; o++) {
                double s = b[o];
                for (int64_t j = 0; j < dim; j++) s += (double)w[o * dim + j] * h[j];
                t[o] = l < c->n_hidden ? act_ref(c->activation, c->activation_param, s) : s;
            }
            if (l == c->n_hidden) {
                for (int64_t o = 0; o < out; o++) logits[r * out + o] = t[o];
            } else {
                memcpy(h, t, (size_t)out * sizeof *h);
            }
            if (l == c->n_hidden - 1 || (c->n_hidden == 0 && l == 0)) {
                int64_t fd = eb_model_feature_dim(m);
                for (int64_t j = 0; j < fd; j++) features[r * fd + j] = h[j];
            }
            dim = out;
        }
    }
    free(h);
    free(t);
}

static double max_abs(const double *v, int64_t n) {
    double mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs(v[i]));
    return mx;
}

/* ---- 1. initialisation -------------------------------------------------------------------------- */

Test(init, names_shapes_and_layout) {
    const int64_t hidden[] = {5, 4, 3};
    eb_mlp_config c = mlp_config(7, 2, 3, hidden, EB_ACT_RELU, 0);
    eb_model *m = new_mlp(&c, 1);
    const int64_t dims[] = {7, 5, 4, 3, 2};
    cr_assert_eq(m->params.count, 8);
    int64_t total = 0, end = 0;
    for (int l = 0; l < 4; l++) {
        char wname[32], bname[32];
        snprintf(wname, sizeof wname, "layers.%d.weight", l);
        snprintf(bname, sizeof bname, "layers.%d.bias", l);
        const eb_param_info *w = &m->params.info[2 * l], *b = &m->params.info[2 * l + 1];
        cr_assert_str_eq(w->name, wname);
        cr_assert_str_eq(b->name, bname);
        cr_assert_eq(w->ndim, 2);
        cr_assert_eq(w->shape[0], dims[l + 1], "%s is [out, in]", wname);
        cr_assert_eq(w->shape[1], dims[l]);
        cr_assert_eq(w->size, dims[l + 1] * dims[l]);
        cr_assert_eq(b->ndim, 1);
        cr_assert_eq(b->shape[0], dims[l + 1]);
        cr_assert_eq(b->size, dims[l + 1]);
        /* views in registration order, inside the buffer, not overlapping */
        cr_assert_geq(w->offset, end);
        cr_assert_geq(b->offset, w->offset + w->size);
        end = b->offset + b->size;
        total += w->size + b->size;
    }
    cr_assert_leq(end, m->params.size);
    cr_assert_eq(total, 7 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3 + 3 * 2 + 2);
    cr_assert_eq(eb_model_in_dim(m), 7);
    cr_assert_eq(eb_model_out_dim(m), 2);
    cr_assert_eq(eb_model_feature_dim(m), 3);
    eb_model_free(m);

    eb_mlp_config lin = mlp_config(6, 4, 0, NULL, EB_ACT_TANH, 0);
    m = new_mlp(&lin, 1);
    cr_assert_eq(m->params.count, 2);
    cr_assert_str_eq(m->params.info[0].name, "layers.0.weight");
    cr_assert_eq(m->params.info[0].shape[0], 4);
    cr_assert_eq(m->params.info[0].shape[1], 6);
    cr_assert_eq(eb_model_feature_dim(m), 6, "no hidden layer: features are the input");
    eb_model_free(m);
}

/* Values of v[n] lie in [-bound, bound], fill it (min/max near the ends), and have the moments of
 * U(-bound, bound): mean 0, variance bound²/3, and a flat 10-bin histogram (chi-square). */
static void assert_uniform(const float *v, int64_t n, double bound, const char *what) {
    double s = 0, ss = 0, lo = INFINITY, hi = -INFINITY;
    int64_t bins[10] = {0};
    for (int64_t i = 0; i < n; i++) {
        double x = v[i];
        cr_assert(x >= -bound && x <= bound, "%s[%lld] = %g outside ±%g", what, (long long)i, x, bound);
        s += x;
        ss += x * x;
        lo = fmin(lo, x);
        hi = fmax(hi, x);
        int k = (int)((x + bound) / (2 * bound) * 10);
        bins[k > 9 ? 9 : k]++;
    }
    double mean = s / (double)n, var = ss / (double)n - mean * mean, want = bound * bound / 3;
    /* sd of the sample mean: bound/√(3n); of the sample variance: want·√(0.8/n) */
    cr_assert_lt(fabs(mean), 5 * bound / sqrt(3.0 * (double)n), "%s: mean %g", what, mean);
    cr_assert_lt(fabs(var - want), 6 * want * sqrt(0.8 / (double)n), "%s: variance %g, want %g", what, var,
                 want);
    cr_assert_lt(lo, -bound * (1 - 20.0 / (double)n), "%s: min %g does not reach -%g", what, lo, bound);
    cr_assert_gt(hi, bound * (1 - 20.0 / (double)n), "%s: max %g does not reach %g", what, hi, bound);
    double chi2 = 0, e = (double)n / 10;
    for (int k = 0; k < 10; k++) chi2 += ((double)bins[k] - e) * ((double)bins[k] - e) / e;
    cr_assert_lt(chi2, 40.0, "%s: histogram not flat (chi2 %g, 9 dof)", what, chi2); /* p ≈ 1e-5 */
}

Test(init, linear_init_bound_and_spread) {
    enum { OUT = 256, IN = 400 };
    float *w = malloc(OUT * IN * sizeof *w), *b = malloc(OUT * sizeof *b);
    cr_assert(w && b);
    eb_rng rng;
    eb_rng_seed(&rng, 77);
    eb_linear_init(w, b, OUT, IN, &rng);
    double bound = 1.0 / sqrt((double)IN); /* fan_in, not fan_out: 1/√256 would be wider */
    assert_uniform(w, OUT * IN, bound, "weight");
    for (int i = 0; i < OUT; i++)
        cr_assert(fabs((double)b[i]) <= bound, "bias[%d] = %g outside ±%g", i, (double)b[i], bound);
    /* 256 draws from U(±0.05): extremes beyond ±0.04 with probability 1 − 0.9^256 each */
    float blo = b[0], bhi = b[0];
    for (int i = 1; i < OUT; i++) blo = fminf(blo, b[i]), bhi = fmaxf(bhi, b[i]);
    cr_assert((double)blo < -0.8 * bound && (double)bhi > 0.8 * bound,
              "bias range [%g, %g] does not fill ±%g", (double)blo, (double)bhi, bound);
    /* b == NULL initialises only the weight, consuming the same stream */
    float *w2 = malloc(OUT * IN * sizeof *w2);
    cr_assert_not_null(w2);
    eb_rng_seed(&rng, 77);
    eb_linear_init(w2, NULL, OUT, IN, &rng);
    cr_assert_eq(memcmp(w, w2, OUT * IN * sizeof *w), 0);
    free(w);
    free(w2);
    free(b);
}

Test(init, mlp_every_layer_within_its_fan_in_bound) {
    const int64_t hidden[] = {200, 300};
    eb_mlp_config c = mlp_config(300, 10, 2, hidden, EB_ACT_LEAKY_RELU, 0.01f);
    eb_model *m = new_mlp(&c, 5);
    for (int i = 0; i < m->params.count; i++) {
        const eb_param_info *e = &m->params.info[i];
        int64_t fan_in = m->params.info[i - i % 2].shape[1];
        double bound = 1.0 / sqrt((double)fan_in);
        if (e->size >= 2000) {
            assert_uniform(param_data(m, i), e->size, bound, e->name);
        } else {
            const float *v = param_data(m, i);
            float lo = v[0], hi = v[0];
            for (int64_t j = 0; j < e->size; j++) {
                cr_assert(fabs((double)v[j]) <= bound, "%s[%lld] = %g outside ±%g", e->name, (long long)j,
                          (double)v[j], bound);
                lo = fminf(lo, v[j]), hi = fmaxf(hi, v[j]);
            }
            cr_assert((double)lo < -0.5 * bound && (double)hi > 0.5 * bound, "%s spans only [%g, %g] of ±%g",
                      e->name, (double)lo, (double)hi, bound);
        }
    }
    eb_model_free(m);
}

Test(init, seeds) {
    const int64_t hidden[] = {32, 16};
    eb_mlp_config c = mlp_config(20, 5, 2, hidden, EB_ACT_ELU, 1);
    eb_model *a = new_mlp(&c, 42), *b = new_mlp(&c, 42), *d = new_mlp(&c, 43);
    cr_assert(same_params(a, b), "same seed must give identical parameters");
    int64_t differ = 0, total = 0;
    for (int i = 0; i < a->params.count; i++)
        for (int64_t j = 0; j < a->params.info[i].size; j++, total++)
            differ += param_data(a, i)[j] != param_data(d, i)[j];
    cr_assert_gt(differ, total * 99 / 100, "seeds 42 and 43 differ in only %lld of %lld values",
                 (long long)differ, (long long)total);

    /* documented order: eb_linear_init layer by layer, weight then bias, on one stream */
    eb_rng rng;
    eb_rng_seed(&rng, 42);
    for (int l = 0; l <= c.n_hidden; l++) {
        const eb_param_info *w = &d->params.info[2 * l], *bb = &d->params.info[2 * l + 1];
        eb_linear_init(d->params.data + w->offset, d->params.data + bb->offset, w->shape[0], w->shape[1],
                       &rng);
    }
    cr_assert(same_params(a, d));
    eb_model_free(a);
    eb_model_free(b);
    eb_model_free(d);
}

Test(init, bad_configs) {
    const int64_t hidden[] = {4};
    eb_mlp_config good = mlp_config(3, 2, 1, hidden, EB_ACT_RELU, 0);
    eb_mlp_config bad[8];
    for (int i = 0; i < 8; i++) bad[i] = good;
    bad[0].in_dim = 0;
    bad[1].out_dim = -1;
    bad[2].n_hidden = EB_MLP_MAX_HIDDEN + 1;
    bad[3].n_hidden = -1;
    bad[4].hidden[0] = 0;
    bad[5].dropout = 1.0f;
    bad[6].dropout = -0.1f;
    bad[7].dropout = NAN;
    for (int i = 0; i < 8; i++) {
        eb_rng rng;
        eb_rng_seed(&rng, 1);
        eb_model *m = (eb_model *)&rng; /* must be reset */
        eb_error err = {0};
        cr_assert_eq(eb_mlp_new(&bad[i], &rng, NULL, &m, &err), EB_ERR_ARG, "case %d", i);
        cr_assert_null(m, "case %d", i);
        cr_assert_not_null(strstr(err.message, "mlp"), "case %d: '%s'", i, err.message);
        cr_assert_eq(eb_mlp_config_check(&bad[i], NULL), EB_ERR_ARG);
    }
    cr_assert_eq(eb_mlp_config_check(&good, NULL), EB_OK);
    eb_mlp_config def = eb_mlp_default_config(18, 7);
    cr_assert_eq(eb_mlp_config_check(&def, NULL), EB_OK);
    cr_assert_eq(def.n_hidden, 5);
    cr_assert_eq(def.activation, EB_ACT_LEAKY_RELU);
}

/* ---- 2. PyTorch compatibility ------------------------------------------------------------------- */

/* Runs scripts/torch_mlp_check.py; returns its exit status (or -1 if it did not exit normally). */
static int run_torch_check(const char *model, const char *input, const char *logits) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s %s/torch_mlp_check.py '%s' '%s' '%s'", PYTHON, SCRIPTS_DIR, model, input,
             logits);
    fflush(NULL);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Saves an MLP with the given activation, its logits for a fixed batch, and runs the torch check.
 * perturb != 0 adds that much to one logit before writing (the check must then fail). */
static int torch_check_activation(const char *activation, int n_hidden, float dropout, float perturb) {
    const int64_t hidden[] = {16, 12, 8};
    eb_mlp_config c = mlp_config(6, 4, n_hidden, hidden, EB_ACT_RELU, 0);
    eb_error err = {0};
    cr_assert_eq(eb_activation_parse(activation, &c.activation, &c.activation_param, &err), EB_OK, "%s",
                 err.message);
    c.dropout = dropout;
    eb_model *m = new_mlp(&c, 2024);
    enum { N = 9 };
    float *x = random_rows(N, 6, 2.0f, 99);
    float logits[N * 4];
    cr_assert_eq(eb_model_predict(m, x, N, 4, logits, NULL, &err), EB_OK, "%s", err.message);
    logits[5] += perturb;

    char mpath[4096], xpath[4096], lpath[4096], tag[64];
    snprintf(tag, sizeof tag, "nn_torch_%.10s", activation);
    for (char *p = tag; *p; p++)
        if (*p == ':' || *p == '.') *p = '_';
    eb_test_path(mpath, sizeof mpath, tag);
    strcat(mpath, ".safetensors");
    eb_test_path(xpath, sizeof xpath, tag);
    strcat(xpath, ".x.npy");
    eb_test_path(lpath, sizeof lpath, tag);
    strcat(lpath, ".logits.npy");
    eb_st_meta extra[] = {{"dataset", "synthetic"}};
    cr_assert_eq(eb_model_save(m, mpath, extra, 1, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_npy_write(xpath, EB_DTYPE_F32, 2, EB_SHAPE(N, 6), x, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_npy_write(lpath, EB_DTYPE_F32, 2, EB_SHAPE(N, 4), logits, &err), EB_OK, "%s",
                 err.message);
    int rc = run_torch_check(mpath, xpath, lpath);
    remove(mpath);
    remove(xpath);
    remove(lpath);
    free(x);
    eb_model_free(m);
    return rc;
}

Test(torch, relu) { cr_assert_eq(torch_check_activation("relu", 3, 0, 0), 0); }
Test(torch, leaky_relu) { cr_assert_eq(torch_check_activation("leaky_relu:0.2", 3, 0, 0), 0); }
Test(torch, elu) { cr_assert_eq(torch_check_activation("elu", 3, 0, 0), 0); }
Test(torch, elu_alpha) { cr_assert_eq(torch_check_activation("elu:0.5", 2, 0, 0), 0); }
Test(torch, softplus) { cr_assert_eq(torch_check_activation("softplus:2", 3, 0, 0), 0); }
Test(torch, tanh) { cr_assert_eq(torch_check_activation("tanh", 3, 0, 0), 0); }
Test(torch, sigmoid) { cr_assert_eq(torch_check_activation("sigmoid", 3, 0, 0), 0); }
Test(torch, swish) { cr_assert_eq(torch_check_activation("swish", 3, 0, 0), 0); }
Test(torch, dropout_is_identity_in_eval) { cr_assert_eq(torch_check_activation("relu", 2, 0.5f, 0), 0); }
Test(torch, no_hidden_layer) { cr_assert_eq(torch_check_activation("relu", 0, 0, 0), 0); }

Test(torch, check_detects_a_wrong_logit) {
    cr_assert_eq(torch_check_activation("tanh", 2, 0, 1e-3f), 1, "a logit off by 1e-3 must fail the check");
    cr_assert_eq(torch_check_activation("softplus:2", 2, 0, -1e-3f), 1);
}

Test(torch, check_refuses_unusable_input) {
    char missing[4096];
    eb_test_path(missing, sizeof missing, "nn_torch_missing.safetensors");
    cr_assert_eq(run_torch_check(missing, missing, missing), 2);
}

/* The other direction: a checkpoint written from a torch.nn module's state_dict (torch's own init)
 * by the script's numpy-only writer; its float64 torch logits are the reference. */
Test(torch, torch_written_checkpoint_loads) {
    char path[4096], xpath[4096], lpath[4096];
    eb_fixture_path(path, sizeof path, "nn/torch_mlp.safetensors");
    eb_fixture_path(xpath, sizeof xpath, "nn/torch_input.npy");
    eb_fixture_path(lpath, sizeof lpath, "nn/torch_logits.npy");
    eb_error err = {0};
    eb_model *m = NULL;
    eb_safetensors *file = NULL;
    cr_assert_eq(eb_model_load_with_file(path, NULL, &m, &file, &err), EB_OK, "%s", err.message);
    cr_assert_eq(m->mlp.in_dim, 5);
    cr_assert_eq(m->mlp.out_dim, 3);
    cr_assert_eq(m->mlp.n_hidden, 2);
    cr_assert_eq(m->mlp.hidden[0], 8);
    cr_assert_eq(m->mlp.hidden[1], 6);
    cr_assert_eq(m->mlp.activation, EB_ACT_LEAKY_RELU);
    cr_assert_float_eq(m->mlp.activation_param, 0.2f, 0);
    cr_assert_float_eq(m->mlp.dropout, 0.1f, 0);
    cr_assert_str_eq(eb_safetensors_meta(file, "ebood.provenance"),
                     "scripts/torch_mlp_check.py --make-fixture");
    eb_safetensors_free(file);

    float *x = NULL, *ref32 = NULL;
    int64_t xs[8], ls[8];
    cr_assert_eq(eb_npy_read_f32(xpath, &x, 2, xs, NULL, &err), EB_OK, "%s", err.message);
    eb_npy_array ref = {0};
    cr_assert_eq(eb_npy_read(lpath, &ref, &err), EB_OK, "%s", err.message);
    cr_assert_eq(ref.dtype, EB_DTYPE_F64);
    memcpy(ls, ref.shape, sizeof ls);
    cr_assert_eq(xs[1], 5);
    cr_assert_eq(ls[0], xs[0]);
    cr_assert_eq(ls[1], 3);
    int64_t n = xs[0];
    ref32 = malloc((size_t)(n * 3) * sizeof *ref32);
    cr_assert_not_null(ref32);
    cr_assert_eq(eb_model_predict(m, x, n, 3, ref32, NULL, &err), EB_OK, "%s", err.message);
    const double *want = ref.data;
    double scale = fmax(1.0, max_abs(want, n * 3)), worst = 0;
    for (int64_t i = 0; i < n * 3; i++) worst = fmax(worst, fabs((double)ref32[i] - want[i]));
    cr_log_info("torch-written checkpoint: max |logit diff| %.3e", worst);
    cr_assert_leq(worst, 1e-5 * scale, "max |logit diff| %g vs torch float64", worst);
    eb_npy_array_free(&ref);
    free(ref32);
    free(x);
    eb_model_free(m);
}

/* ---- 3. checkpoints ----------------------------------------------------------------------------- */

static void scratch(char *buf, size_t size, const char *name) {
    eb_test_path(buf, size, name);
    remove(buf);
}

Test(checkpoint, round_trip) {
    const int64_t hidden[] = {9, 7};
    eb_mlp_config c = mlp_config(4, 3, 2, hidden, EB_ACT_ELU, 0.7f);
    c.dropout = 0.25f;
    eb_model *m = new_mlp(&c, 8);
    char path[4096];
    scratch(path, sizeof path, "nn_ckpt_round_trip.safetensors");
    eb_st_meta extra[] = {{"dataset", "segment"}, {"seed", "7"}, {"note", "{\"json\": [1, 2]}"}};
    eb_error err = {0};
    cr_assert_eq(eb_model_save(m, path, extra, 3, &err), EB_OK, "%s", err.message);

    eb_model *l = NULL;
    eb_safetensors *file = NULL;
    cr_assert_eq(eb_model_load_with_file(path, NULL, &l, &file, &err), EB_OK, "%s", err.message);
    cr_assert_eq(l->kind, EB_MODEL_MLP);
    cr_assert_eq(l->mlp.in_dim, 4);
    cr_assert_eq(l->mlp.out_dim, 3);
    cr_assert_eq(l->mlp.n_hidden, 2);
    cr_assert_eq(l->mlp.hidden[0], 9);
    cr_assert_eq(l->mlp.hidden[1], 7);
    cr_assert_eq(l->mlp.activation, EB_ACT_ELU);
    cr_assert(l->mlp.activation_param == 0.7f, "activation_param %.9g", (double)l->mlp.activation_param);
    cr_assert(l->mlp.dropout == 0.25f);
    cr_assert_eq(l->params.count, m->params.count);
    for (int i = 0; i < m->params.count; i++) {
        cr_assert_str_eq(l->params.info[i].name, m->params.info[i].name);
        cr_assert_eq(l->params.info[i].ndim, m->params.info[i].ndim);
        cr_assert_eq(memcmp(l->params.info[i].shape, m->params.info[i].shape, sizeof m->params.info[i].shape),
                     0);
    }
    cr_assert(same_params(m, l), "parameters must round-trip bitwise");

    /* the file itself: PyTorch names, F32, shapes, metadata */
    cr_assert_eq(eb_safetensors_count(file), m->params.count);
    for (int i = 0; i < m->params.count; i++) {
        const eb_st_tensor *t = eb_safetensors_find(file, m->params.info[i].name);
        cr_assert_not_null(t, "%s missing from the file", m->params.info[i].name);
        cr_assert_eq(t->dtype, EB_ST_F32);
        cr_assert_eq(t->ndim, m->params.info[i].ndim);
        cr_assert_eq(memcmp(t->data, param_data(m, i), t->nbytes), 0);
    }
    cr_assert_str_eq(eb_safetensors_meta(file, "dataset"), "segment");
    cr_assert_str_eq(eb_safetensors_meta(file, "seed"), "7");
    cr_assert_str_eq(eb_safetensors_meta(file, "note"), "{\"json\": [1, 2]}");
    cr_assert_str_eq(eb_safetensors_meta(file, "ebood.format_version"), "1");
    cr_assert_str_eq(eb_safetensors_meta(file, "ebood.model"), "mlp");
    char *config = eb_model_config_json(m);
    cr_assert_str_eq(eb_safetensors_meta(file, "ebood.config"), config);
    free(config);
    eb_safetensors_free(file);

    enum { N = 13 };
    float *x = random_rows(N, 4, 1.5f, 3);
    float a[N * 3], b[N * 3], fa[N * 7], fb[N * 7];
    cr_assert_eq(eb_model_predict(m, x, N, 5, a, fa, &err), EB_OK);
    cr_assert_eq(eb_model_predict(l, x, N, 5, b, fb, &err), EB_OK);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "predictions after loading must be identical");
    cr_assert_eq(memcmp(fa, fb, sizeof fa), 0);
    /* features alone (logits NULL) are the same; asking for neither is refused */
    memset(fb, 0, sizeof fb);
    cr_assert_eq(eb_model_predict(l, x, N, 5, NULL, fb, &err), EB_OK, "%s", err.message);
    cr_assert_eq(memcmp(fa, fb, sizeof fa), 0, "features without logits must be the same");
    cr_assert_eq(eb_model_predict(l, x, N, 5, NULL, NULL, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "neither logits nor features"), "%s", err.message);
    eb_model_free(l);

    /* eb_model_load, and eb_model_load_with_file without the file */
    l = NULL;
    cr_assert_eq(eb_model_load(path, NULL, &l, &err), EB_OK, "%s", err.message);
    cr_assert(same_params(m, l));
    eb_model_free(l);
    l = NULL;
    cr_assert_eq(eb_model_load_with_file(path, NULL, &l, NULL, &err), EB_OK, "%s", err.message);
    cr_assert(same_params(m, l));
    eb_model_free(l);
    free(x);
    eb_model_free(m);
    remove(path);
}

Test(checkpoint, round_trip_every_activation) {
    const char *acts[] = {"relu", "leaky_relu:0.3", "elu:1.5", "softplus:2", "tanh", "sigmoid", "swish"};
    for (int k = 0; k < 7; k++) {
        eb_mlp_config c = mlp_config(3, 2, 1, (const int64_t[]){4}, EB_ACT_RELU, 0);
        cr_assert_eq(eb_activation_parse(acts[k], &c.activation, &c.activation_param, NULL), EB_OK);
        eb_model *m = new_mlp(&c, (uint64_t)k);
        char path[4096];
        scratch(path, sizeof path, "nn_ckpt_acts.safetensors");
        eb_error err = {0};
        cr_assert_eq(eb_model_save(m, path, NULL, 0, &err), EB_OK, "%s", err.message);
        eb_model *l = NULL;
        cr_assert_eq(eb_model_load(path, NULL, &l, &err), EB_OK, "%s: %s", acts[k], err.message);
        cr_assert_eq(l->mlp.activation, c.activation, "%s", acts[k]);
        cr_assert(l->mlp.activation_param == c.activation_param, "%s", acts[k]);
        cr_assert(same_params(m, l));
        eb_model_free(l);
        eb_model_free(m);
        remove(path);
    }
}

Test(checkpoint, save_into_missing_directory) {
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 2, .out_dim = 2}, 1);
    char path[4096];
    eb_test_path(path, sizeof path, "nn_no_such_dir");
    strcat(path, "/model.safetensors");
    eb_error err = {0};
    cr_assert_eq(eb_model_save(m, path, NULL, 0, &err), EB_ERR_IO);
    cr_assert_not_null(strstr(err.message, path), "'%s' does not name the file", err.message);
    assert_no_file(path);
    eb_model_free(m);
}

/* The tensors of m as eb_st_tensor entries (data pointing into m). */
static int model_tensors(const eb_model *m, eb_st_tensor *t) {
    for (int i = 0; i < m->params.count; i++) {
        const eb_param_info *e = &m->params.info[i];
        t[i] = (eb_st_tensor){.name = e->name,
                              .dtype = EB_ST_F32,
                              .ndim = e->ndim,
                              .data = param_data(m, i),
                              .nbytes = (size_t)e->size * sizeof(float)};
        for (int d = 0; d < e->ndim; d++) t[i].shape[d] = e->shape[d];
    }
    return m->params.count;
}

typedef struct bad_ckpt {
    const char *version, *kind, *config; /* NULL: the correct value */
    bool no_meta;
    const char *drop_tensor;  /* leave this tensor out */
    const char *transpose;    /* store this [out, in] weight as [in, out] */
    const char *extra_tensor; /* add this (unexpected) tensor */
    bool f64;                 /* store layers.0.bias as F64 */
    float poison;             /* if non-zero: value written into layers.1.weight[3] */
} bad_ckpt;

static eb_model *bad_ckpt_model(void) {
    eb_mlp_config c = mlp_config(4, 3, 1, (const int64_t[]){5}, EB_ACT_TANH, 0);
    return new_mlp(&c, 11);
}

static void write_bad_ckpt(const char *path, const bad_ckpt *b) {
    eb_model *m = bad_ckpt_model();
    if (b->poison != 0.0f) m->params.data[m->params.info[2].offset + 3] = b->poison;
    eb_st_tensor t[8];
    int n = model_tensors(m, t), k = 0;
    eb_st_tensor kept[9];
    double bias64[5];
    float extra[2] = {1, 2};
    for (int i = 0; i < n; i++) {
        if (b->drop_tensor && strcmp(t[i].name, b->drop_tensor) == 0) continue;
        kept[k] = t[i];
        if (b->transpose && strcmp(t[i].name, b->transpose) == 0) {
            kept[k].shape[0] = t[i].shape[1];
            kept[k].shape[1] = t[i].shape[0];
        }
        if (b->f64 && strcmp(t[i].name, "layers.0.bias") == 0) {
            for (int j = 0; j < 5; j++) bias64[j] = ((const float *)t[i].data)[j];
            kept[k].dtype = EB_ST_F64;
            kept[k].data = bias64;
            kept[k].nbytes = sizeof bias64;
        }
        k++;
    }
    if (b->extra_tensor)
        kept[k++] = (eb_st_tensor){.name = b->extra_tensor,
                                   .dtype = EB_ST_F32,
                                   .ndim = 1,
                                   .shape = {2},
                                   .data = extra,
                                   .nbytes = sizeof extra};
    char *config = eb_model_config_json(m);
    eb_st_meta meta[3];
    int nm = 0;
    if (!b->no_meta) {
        meta[nm++] = (eb_st_meta){"ebood.format_version", b->version ? b->version : "1"};
        meta[nm++] = (eb_st_meta){"ebood.model", b->kind ? b->kind : "mlp"};
        meta[nm++] = (eb_st_meta){"ebood.config", b->config ? b->config : config};
    }
    eb_error err = {0};
    cr_assert_eq(eb_safetensors_write(path, kept, k, nm ? meta : NULL, nm, &err), EB_OK, "%s", err.message);
    free(config);
    eb_model_free(m);
}

/* Loading must fail with `want`, name the file and contain `fragment` (and, if given, `fragment2`). */
static void expect_load_fails(const bad_ckpt *b, eb_status want, const char *fragment,
                              const char *fragment2) {
    char path[4096];
    scratch(path, sizeof path, "nn_bad_ckpt.safetensors");
    write_bad_ckpt(path, b);
    eb_model *m = (eb_model *)path; /* must be reset to NULL */
    eb_safetensors *file = (eb_safetensors *)path;
    eb_error err = {0};
    eb_status st = eb_model_load_with_file(path, NULL, &m, &file, &err);
    cr_assert_eq(st, want, "status %d (%s), want %d; message: %s", st, eb_status_str(st), want, err.message);
    cr_assert_eq(err.status, want);
    cr_assert_null(m);
    cr_assert_null(file);
    cr_assert_not_null(strstr(err.message, path), "message '%s' does not name the file", err.message);
    cr_assert_not_null(strstr(err.message, fragment), "message '%s' lacks '%s'", err.message, fragment);
    if (fragment2)
        cr_assert_not_null(strstr(err.message, fragment2), "message '%s' lacks '%s'", err.message, fragment2);
    cr_assert_null(strchr(err.message, '\n'));
    m = NULL;
    cr_assert_eq(eb_model_load(path, NULL, &m, NULL), want, "without err");
    cr_assert_null(m);
    remove(path);
}

Test(checkpoint, control_good_file_loads) {
    /* the writer used by the bad cases produces a loadable file when nothing is broken */
    char path[4096];
    scratch(path, sizeof path, "nn_good_ckpt.safetensors");
    write_bad_ckpt(path, &(bad_ckpt){0});
    eb_model *m = NULL, *ref = bad_ckpt_model();
    eb_error err = {0};
    cr_assert_eq(eb_model_load(path, NULL, &m, &err), EB_OK, "%s", err.message);
    cr_assert(same_params(m, ref));
    eb_model_free(m);
    eb_model_free(ref);
    remove(path);
}

Test(checkpoint, missing_file) {
    char path[4096];
    scratch(path, sizeof path, "nn_no_such_ckpt.safetensors");
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_model_load(path, NULL, &m, &err), EB_ERR_IO);
    cr_assert_null(m);
    cr_assert_not_null(strstr(err.message, path), "%s", err.message);
}

Test(checkpoint, no_ebood_metadata) {
    expect_load_fails(&(bad_ckpt){.no_meta = true}, EB_ERR_FORMAT, "ebood", NULL);
}
Test(checkpoint, newer_format_version) {
    expect_load_fails(&(bad_ckpt){.version = "99"}, EB_ERR_UNSUPPORTED, "99", NULL);
    expect_load_fails(&(bad_ckpt){.version = "2"}, EB_ERR_UNSUPPORTED, "version", NULL);
}
Test(checkpoint, bad_format_version) {
    expect_load_fails(&(bad_ckpt){.version = "0"}, EB_ERR_UNSUPPORTED, "version", NULL);
    expect_load_fails(&(bad_ckpt){.version = "abc"}, EB_ERR_UNSUPPORTED, "version", NULL);
}
Test(checkpoint, unknown_model_kind) {
    expect_load_fails(&(bad_ckpt){.kind = "transformer"}, EB_ERR_UNSUPPORTED, "transformer", NULL);
}
Test(checkpoint, malformed_config_json) {
    expect_load_fails(&(bad_ckpt){.config = "{\"in_dim\": 4, \"out_dim\""}, EB_ERR_FORMAT, "config", NULL);
    expect_load_fails(&(bad_ckpt){.config = "[4, 3]"}, EB_ERR_FORMAT, "config", NULL);
    expect_load_fails(&(bad_ckpt){.config = ""}, EB_ERR_FORMAT, "config", NULL);
}
Test(checkpoint, config_missing_or_bad_fields) {
    /* valid JSON, but a field missing, of the wrong type or out of range */
    expect_load_fails(&(bad_ckpt){.config =
                                      "{\"in_dim\":4,\"out_dim\":3,\"hidden\":[5],\"activation\":\"tanh\","
                                      "\"activation_param\":0}"},
                      EB_ERR_FORMAT, "config", NULL);
    expect_load_fails(&(bad_ckpt){.config =
                                      "{\"in_dim\":4.5,\"out_dim\":3,\"hidden\":[5],\"activation\":\"tanh\","
                                      "\"activation_param\":0,\"dropout\":0}"},
                      EB_ERR_FORMAT, "config", NULL);
    expect_load_fails(&(bad_ckpt){.config =
                                      "{\"in_dim\":4,\"out_dim\":3,\"hidden\":[0],\"activation\":\"tanh\","
                                      "\"activation_param\":0,\"dropout\":0}"},
                      EB_ERR_FORMAT, "config", NULL);
    expect_load_fails(&(bad_ckpt){.config =
                                      "{\"in_dim\":4,\"out_dim\":3,\"hidden\":[5],\"activation\":\"gelu\","
                                      "\"activation_param\":0,\"dropout\":0}"},
                      EB_ERR_FORMAT, "gelu", NULL);
    expect_load_fails(&(bad_ckpt){.config =
                                      "{\"in_dim\":4,\"out_dim\":3,\"hidden\":[5],\"activation\":\"tanh\","
                                      "\"activation_param\":0,\"dropout\":1.5}"},
                      EB_ERR_FORMAT, "config", NULL);
}
Test(checkpoint, config_disagrees_with_tensors) {
    /* the config says hidden [6]: every stored tensor of layer 0/1 has the wrong shape */
    expect_load_fails(&(bad_ckpt){.config =
                                      "{\"in_dim\":4,\"out_dim\":3,\"hidden\":[6],\"activation\":\"tanh\","
                                      "\"activation_param\":0,\"dropout\":0}"},
                      EB_ERR_SHAPE, "layers.0.weight", NULL);
}
Test(checkpoint, missing_tensor) {
    expect_load_fails(&(bad_ckpt){.drop_tensor = "layers.1.bias"}, EB_ERR_FORMAT, "layers.1.bias", NULL);
    expect_load_fails(&(bad_ckpt){.drop_tensor = "layers.0.weight"}, EB_ERR_FORMAT, "layers.0.weight", NULL);
}
Test(checkpoint, wrong_shape) {
    expect_load_fails(&(bad_ckpt){.transpose = "layers.0.weight"}, EB_ERR_SHAPE, "layers.0.weight", NULL);
    expect_load_fails(&(bad_ckpt){.transpose = "layers.1.weight"}, EB_ERR_SHAPE, "layers.1.weight", NULL);
}
Test(checkpoint, wrong_dtype) {
    expect_load_fails(&(bad_ckpt){.f64 = true}, EB_ERR_FORMAT, "layers.0.bias", NULL);
}
Test(checkpoint, non_finite_parameter) {
    expect_load_fails(&(bad_ckpt){.poison = NAN}, EB_ERR_NUMERIC, "non-finite", NULL);
    expect_load_fails(&(bad_ckpt){.poison = -INFINITY}, EB_ERR_NUMERIC, "non-finite", NULL);
}

/* ---- 4. forward and predict ---------------------------------------------------------------------- */

static void check_forward_against_manual(eb_activation act, float param, int n_hidden) {
    const int64_t hidden[] = {7, 6};
    eb_mlp_config c = mlp_config(5, 3, n_hidden, hidden, act, param);
    eb_model *m = new_mlp(&c, 31);
    enum { N = 6 };
    float *x = random_rows(N, 5, 2.0f, 4);
    int64_t fd = eb_model_feature_dim(m);
    double want[N * 3], wfeat[N * 7];
    manual_forward(m, x, N, want, wfeat);

    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(N, 5), false), *feat = NULL;
    eb_tensor *out = eb_model_forward(m, g, xt, false, NULL, &feat);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_not_null(feat);
    cr_assert_eq(out->ndim, 2);
    cr_assert_eq(out->shape[0], N);
    cr_assert_eq(out->shape[1], 3);
    cr_assert_eq(feat->shape[0], N);
    cr_assert_eq(feat->shape[1], fd);
    double ls = fmax(1, max_abs(want, N * 3)), fs = fmax(1, max_abs(wfeat, N * fd));
    for (int64_t i = 0; i < N * 3; i++)
        cr_assert_leq(fabs((double)out->data[i] - want[i]), 1e-5 * ls, "%s logit %lld: %g vs %g",
                      eb_activation_name(act), (long long)i, (double)out->data[i], want[i]);
    for (int64_t i = 0; i < N * fd; i++)
        cr_assert_leq(fabs((double)feat->data[i] - wfeat[i]), 1e-5 * fs, "%s feature %lld: %g vs %g",
                      eb_activation_name(act), (long long)i, (double)feat->data[i], wfeat[i]);
    eb_graph_free(g);
    free(x);
    eb_model_free(m);
}

Test(forward, one_hidden_layer_matches_manual) {
    check_forward_against_manual(EB_ACT_LEAKY_RELU, 0.2f, 1);
    check_forward_against_manual(EB_ACT_ELU, 0.5f, 1);
    check_forward_against_manual(EB_ACT_SOFTPLUS, 3.0f, 1);
    check_forward_against_manual(EB_ACT_SWISH, 0, 1);
}

Test(forward, two_hidden_layers_and_none) {
    check_forward_against_manual(EB_ACT_SIGMOID, 0, 2);
    check_forward_against_manual(EB_ACT_TANH, 0, 2);
    check_forward_against_manual(EB_ACT_RELU, 0, 0); /* logistic regression: features = x */
}

Test(forward, shape_mismatch_is_sticky) {
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 4, .out_dim = 2, .n_hidden = 1, .hidden = {3}}, 1);
    float x[3 * 5] = {0};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(3, 5), false);
    eb_model_forward(m, g, xt, false, NULL, NULL);
    cr_assert_eq(eb_graph_status(g), EB_ERR_SHAPE);
    cr_assert_not_null(strstr(eb_graph_error(g), "mlp"), "%s", eb_graph_error(g));
    eb_graph_free(g);

    float logits[3 * 2];
    eb_error err = {0};
    cr_assert_eq(eb_model_predict(m, x, 3, 2, logits, NULL, &err), EB_OK,
                 "x has 4 columns to predict: valid");
    cr_assert_eq(eb_model_predict(m, x, 3, 0, logits, NULL, &err), EB_ERR_ARG);
    eb_model_free(m);
}

Test(forward, dropout_only_in_train_mode) {
    /* one hidden layer of sigmoid units (never 0) and an identity output layer:
     * logits = dropout(features), so the mask is visible */
    enum { H = 64, N = 50 };
    eb_mlp_config c = mlp_config(3, H, 1, (const int64_t[]){H}, EB_ACT_SIGMOID, 0);
    c.dropout = 0.3f;
    eb_model *m = new_mlp(&c, 6);
    float *w = m->params.data + m->params.info[2].offset, *b = m->params.data + m->params.info[3].offset;
    for (int i = 0; i < H; i++) {
        b[i] = 0;
        for (int j = 0; j < H; j++) w[i * H + j] = i == j ? 1.0f : 0.0f;
    }
    float *x = random_rows(N, 3, 1, 2);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(N, 3), false), *fe = NULL, *ft = NULL, *fe2 = NULL;
    eb_tensor *eval = eb_model_forward(m, g, xt, false, NULL, &fe);
    eb_tensor *eval2 = eb_model_forward(m, g, xt, false, NULL, &fe2);
    eb_rng rng;
    eb_rng_seed(&rng, 3);
    eb_tensor *train = eb_model_forward(m, g, xt, true, &rng, &ft);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(memcmp(eval->data, eval2->data, N * H * sizeof(float)), 0, "eval mode is deterministic");
    cr_assert_eq(memcmp(fe->data, ft->data, N * H * sizeof(float)), 0, "features are taken before dropout");
    int64_t zeros = 0;
    for (int64_t i = 0; i < N * H; i++) {
        cr_assert_float_eq(eval->data[i], fe->data[i], 1e-6, "eval: no dropout");
        if (train->data[i] == 0.0f)
            zeros++;
        else
            cr_assert_float_eq(train->data[i], fe->data[i] / 0.7f, 1e-5, "survivors scaled by 1/(1-p)");
    }
    double rate = (double)zeros / (N * H), sd = sqrt(0.3 * 0.7 / (N * H));
    cr_assert_lt(fabs(rate - 0.3), 5 * sd, "dropped fraction %g, want 0.3", rate);

    /* train mode with dropout needs an rng: a graph error, not a crash */
    eb_graph_reset(g);
    xt = eb_tensor_input(g, x, 2, EB_SHAPE(N, 3), false);
    eb_model_forward(m, g, xt, true, NULL, NULL);
    cr_assert_eq(eb_graph_status(g), EB_ERR_ARG);
    eb_graph_free(g);

    /* dropout 0: train mode equals eval mode, no rng needed */
    m->mlp.dropout = 0;
    g = eb_graph_new(0, NULL);
    xt = eb_tensor_input(g, x, 2, EB_SHAPE(N, 3), false);
    eval = eb_model_forward(m, g, xt, false, NULL, NULL);
    train = eb_model_forward(m, g, xt, true, NULL, NULL);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(memcmp(eval->data, train->data, N * H * sizeof(float)), 0);
    eb_graph_free(g);
    free(x);
    eb_model_free(m);
}

/* eb_model_predict at batch sizes 1, 7, 16, n and > n against one eb_model_forward over all n rows.
 * Equal within `rel` (relative to the largest value); bitwise at batch size n and above (one GEMM call
 * of the same shape). rel = 0 asks for bitwise equality at every batch size. */
static void check_predict_vs_forward(double rel) {
    const int64_t hidden[] = {40, 24};
    eb_mlp_config c = mlp_config(12, 5, 2, hidden, EB_ACT_SWISH, 0);
    c.dropout = 0.5f; /* must be off in predict */
    eb_model *m = new_mlp(&c, 17);
    enum { N = 23 };
    float *x = random_rows(N, 12, 1, 8);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(N, 12), false), *feat = NULL;
    eb_tensor *out = eb_model_forward(m, g, xt, false, NULL, &feat);
    cr_assert_eq(eb_graph_status(g), EB_OK);
    double lscale = 0, fscale = 0;
    for (int i = 0; i < N * 5; i++) lscale = fmax(lscale, fabs((double)out->data[i]));
    for (int i = 0; i < N * 24; i++) fscale = fmax(fscale, fabs((double)feat->data[i]));
    const int64_t batches[] = {1, 7, 16, N, 100};
    for (int k = 0; k < 5; k++) {
        float logits[N * 5], features[N * 24];
        memset(logits, 0xff, sizeof logits);
        eb_error err = {0};
        cr_assert_eq(eb_model_predict(m, x, N, batches[k], logits, features, &err), EB_OK, "%s", err.message);
        if (rel == 0 || batches[k] >= N) {
            cr_assert_eq(memcmp(logits, out->data, sizeof logits), 0, "logits at batch size %lld",
                         (long long)batches[k]);
            cr_assert_eq(memcmp(features, feat->data, sizeof features), 0, "features at batch size %lld",
                         (long long)batches[k]);
        } else {
            for (int i = 0; i < N * 5; i++)
                cr_assert_leq(fabs((double)logits[i] - (double)out->data[i]), rel * lscale,
                              "logit %d at batch size %lld: %.9g vs %.9g", i, (long long)batches[k],
                              (double)logits[i], (double)out->data[i]);
            for (int i = 0; i < N * 24; i++)
                cr_assert_leq(fabs((double)features[i] - (double)feat->data[i]), rel * fscale,
                              "feature %d at batch size %lld", i, (long long)batches[k]);
        }
        float again[N * 5];
        cr_assert_eq(eb_model_predict(m, x, N, batches[k], again, NULL, &err), EB_OK);
        cr_assert_eq(memcmp(logits, again, sizeof again), 0,
                     "deterministic; features == NULL changes nothing");
    }
    float untouched = 123.0f;
    eb_error err = {0};
    cr_assert_eq(eb_model_predict(m, x, 0, 4, &untouched, NULL, &err), EB_OK, "n = 0 does nothing");
    cr_assert(untouched == 123.0f);
    eb_graph_free(g);
    free(x);
    eb_model_free(m);
}

Test(forward, predict_equals_forward_at_every_batch_size) {
    /* a few float32 ulps: a misplaced row or a dropout left on would be off by far more */
    check_predict_vs_forward(4 * FLT_EPSILON);
}

/* Bitwise equality across batch sizes is not promised (nn.h): OpenBLAS sums an M-tail block of a GEMM
 * in another order than full blocks, by ~1 ulp. */

/* ---- 5. the training loop ------------------------------------------------------------------------- */

/* Three Gaussian blobs in 4-D (centres 4 apart on separate axes, sd 0.5): separable. */
static void blobs(int64_t n, float **x, int32_t **y, uint64_t seed) {
    *x = malloc((size_t)(n * 4) * sizeof **x);
    *y = malloc((size_t)n * sizeof **y);
    cr_assert(*x && *y);
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++) {
        int32_t k = (int32_t)(i % 3);
        (*y)[i] = k;
        for (int j = 0; j < 4; j++)
            (*x)[i * 4 + j] = (float)(0.5 * eb_rng_normal(&rng)) + (j == k ? 4.0f : 0.0f);
    }
}

static eb_train_params quiet_params(void) {
    eb_train_params p = eb_train_default_params();
    p.progress = false;
    return p;
}

/* An objective wrapping cross-entropy that records every loss value. */
typedef struct loss_log {
    float loss[4096];
    int64_t calls;
} loss_log;

static eb_tensor *logging_ce(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                             int64_t *n_correct) {
    loss_log *log = ctx;
    eb_tensor *loss = eb_objective_cross_entropy(NULL, m, g, batch, rng, n_correct);
    if (eb_graph_status(g) == EB_OK && log->calls < 4096) log->loss[log->calls] = loss->data[0];
    log->calls++;
    return loss;
}

static double accuracy(eb_model *m, const float *x, const int32_t *y, int64_t n) {
    float *logits = malloc((size_t)(n * 3) * sizeof *logits);
    cr_assert_not_null(logits);
    cr_assert_eq(eb_model_predict(m, x, n, 64, logits, NULL, NULL), EB_OK);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < 3; k++)
            if (logits[i * 3 + k] > logits[i * 3 + best]) best = k;
        correct += best == y[i];
    }
    free(logits);
    return (double)correct / (double)n;
}

Test(train, separable_problem) {
    enum { N = 300 };
    float *x;
    int32_t *y;
    blobs(N, &x, &y, 1);
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 4, .out_dim = 3, .n_hidden = 1, .hidden = {16}}, 2);
    double before = accuracy(m, x, y, N);
    eb_train_params p = quiet_params();
    p.epochs = 20;
    p.batch_size = 32;
    p.optimizer.lr = 0.01f;
    p.schedule = eb_schedule_default(0.01f);
    p.seed = 3;
    loss_log *log = calloc(1, sizeof *log);
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, y, N, 4, logging_ce, log, &p, &r, &err), EB_OK, "%s", err.message);
    cr_assert_eq(r.steps, 20 * 10);
    cr_assert_eq(r.epochs, 20);
    cr_assert_eq(log->calls, r.steps);
    double first = 0, last = 0;
    for (int i = 0; i < 10; i++)
        first += (double)log->loss[i] / 10.0, last += (double)log->loss[r.steps - 10 + i] / 10.0;
    cr_log_info("loss %.4f -> %.4f, accuracy %.3f -> %.3f", first, last, before, r.final_accuracy);
    cr_assert_lt(last, 0.25 * first, "loss did not decrease: %g -> %g", first, last);
    cr_assert_gt(r.final_accuracy, 0.95, "training accuracy %g", r.final_accuracy);
    double last_epoch = 0;
    for (int64_t i = r.steps - 10; i < r.steps; i++) last_epoch += (double)log->loss[i] / 10.0;
    cr_assert_float_eq(r.final_loss, last_epoch, 1e-6, "final_loss is the last epoch's mean");
    double after = accuracy(m, x, y, N);
    cr_assert_gt(after, 0.95, "accuracy by predict: %g (before training %g)", after, before);
    cr_assert_geq(r.seconds, 0);
    free(log);
    free(x);
    free(y);
    eb_model_free(m);
}

static eb_model *train_once(uint64_t seed, float dropout) {
    enum { N = 90 };
    float *x;
    int32_t *y;
    blobs(N, &x, &y, 4);
    eb_mlp_config c = {.in_dim = 4, .out_dim = 3, .n_hidden = 2, .hidden = {12, 8}, .dropout = dropout};
    eb_model *m = new_mlp(&c, 5);
    eb_train_params p = quiet_params();
    p.epochs = 3;
    p.batch_size = 16;
    p.seed = seed;
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, y, N, 4, eb_objective_cross_entropy, NULL, &p, &r, &err), EB_OK, "%s",
                 err.message);
    free(x);
    free(y);
    return m;
}

Test(train, same_seed_same_parameters) {
    eb_model *a = train_once(9, 0.3f), *b = train_once(9, 0.3f), *c = train_once(10, 0.3f);
    eb_model *init =
        new_mlp(&(eb_mlp_config){.in_dim = 4, .out_dim = 3, .n_hidden = 2, .hidden = {12, 8}}, 5);
    cr_assert(!same_params(a, init), "training must move the parameters");
    cr_assert(same_params(a, b), "same seed must give bitwise identical parameters");
    cr_assert(!same_params(a, c), "another seed shuffles (and drops) differently");
    eb_model_free(a);
    eb_model_free(b);
    eb_model_free(c);
    eb_model_free(init);
}

/* An objective that records what the loop hands it. x[i, 0] holds the row index i. Its loss is
 * the call number (1, 2, ...) plus 0·Σ logits, so the loop's loss bookkeeping is checkable. */
typedef struct probe {
    int64_t calls;
    int64_t sizes[256];
    int64_t rows[256][16];
    int64_t label_errors, null_rng, null_labels;
    bool report_correct;
} probe;

static eb_tensor *probe_objective(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                  int64_t *n_correct) {
    probe *p = ctx;
    eb_tensor *logits = eb_model_forward(m, g, batch->x, true, rng, NULL);
    int64_t k = p->calls++;
    cr_assert_lt(k, 256);
    p->sizes[k] = batch->size;
    cr_assert_eq(batch->x->shape[0], batch->size);
    p->null_rng += rng == NULL;
    for (int64_t i = 0; i < batch->size && i < 16; i++) {
        int64_t row = (int64_t)batch->x->data[i * batch->x->shape[1]];
        p->rows[k][i] = row;
        if (!batch->labels)
            p->null_labels++;
        else if (batch->labels[i] != (int32_t)(row % 3 + 10))
            p->label_errors++;
    }
    *n_correct = p->report_correct ? batch->size : -1;
    return eb_add_scalar(g, eb_mul_scalar(g, eb_sum_all(g, logits), 0.0f), (float)(k + 1));
}

static void indexed_rows(int64_t n, float *x, int32_t *y) {
    for (int64_t i = 0; i < n; i++) {
        x[i * 2] = (float)i;
        x[i * 2 + 1] = 1.0f;
        y[i] = (int32_t)(i % 3 + 10);
    }
}

static probe *run_probe(int64_t n, int64_t batch, int64_t epochs, int64_t steps, bool drop_last, bool correct,
                        eb_train_result *r) {
    float x[64];
    int32_t y[32];
    cr_assert_leq(n, 32);
    indexed_rows(n, x, y);
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 2, .out_dim = 3}, 1);
    eb_train_params p = quiet_params();
    p.optimizer = eb_sgd_default_params();
    p.schedule = eb_schedule_default(0.1f);
    p.batch_size = batch;
    p.epochs = epochs;
    p.steps = steps;
    p.drop_last = drop_last;
    probe *pr = calloc(1, sizeof *pr);
    pr->report_correct = correct;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, y, n, 2, probe_objective, pr, &p, r, &err), EB_OK, "%s", err.message);
    cr_assert_eq(pr->calls, r->steps, "one objective call per step");
    cr_assert_eq(pr->label_errors, 0, "labels must travel with their rows");
    cr_assert_eq(pr->null_labels, 0);
    cr_assert_eq(pr->null_rng, 0);
    eb_model_free(m);
    return pr;
}

/* Steps [from, to) cover each row of [0, n) at most once (exactly once if `all`). */
static void assert_epoch_rows(const probe *pr, int64_t from, int64_t to, int64_t n, bool all) {
    int seen[32] = {0};
    int64_t count = 0;
    for (int64_t s = from; s < to; s++)
        for (int64_t i = 0; i < pr->sizes[s]; i++) {
            int64_t row = pr->rows[s][i];
            cr_assert(row >= 0 && row < n);
            cr_assert_eq(seen[row]++, 0, "row %lld twice in one epoch", (long long)row);
            count++;
        }
    if (all) cr_assert_eq(count, n);
}

Test(train, epochs_without_drop_last) {
    eb_train_result r;
    probe *pr = run_probe(10, 4, 3, 0, false, true, &r);
    cr_assert_eq(r.steps, 9, "3 epochs of ⌈10/4⌉ batches");
    cr_assert_eq(r.epochs, 3);
    const int64_t sizes[] = {4, 4, 2, 4, 4, 2, 4, 4, 2};
    for (int i = 0; i < 9; i++) cr_assert_eq(pr->sizes[i], sizes[i], "step %d", i);
    for (int e = 0; e < 3; e++) assert_epoch_rows(pr, 3 * e, 3 * e + 3, 10, true);
    bool reshuffled = false;
    for (int i = 0; i < 4; i++) reshuffled |= pr->rows[0][i] != pr->rows[3][i];
    cr_assert(reshuffled, "each epoch has its own order");
    cr_assert_float_eq(r.final_loss, (7 + 8 + 9) / 3.0, 1e-9, "mean loss of the last epoch");
    cr_assert_float_eq(r.final_accuracy, 1.0, 1e-12);
    free(pr);
}

Test(train, epochs_with_drop_last) {
    eb_train_result r;
    probe *pr = run_probe(10, 4, 3, 0, true, false, &r);
    cr_assert_eq(r.steps, 6, "3 epochs of ⌊10/4⌋ batches");
    cr_assert_eq(r.epochs, 3);
    for (int i = 0; i < 6; i++) cr_assert_eq(pr->sizes[i], 4, "step %d: no partial batch", i);
    for (int e = 0; e < 3; e++) assert_epoch_rows(pr, 2 * e, 2 * e + 2, 10, false);
    cr_assert_float_eq(r.final_loss, (5 + 6) / 2.0, 1e-9);
    cr_assert_float_eq(r.final_accuracy, -1.0, 0, "the objective reported no accuracy");
    free(pr);
}

Test(train, explicit_steps) {
    eb_train_result r;
    probe *pr = run_probe(10, 4, 100, 5, false, true, &r); /* steps wins over epochs */
    cr_assert_eq(r.steps, 5);
    cr_assert_eq(r.epochs, 1, "5 steps of 3 per epoch complete 1 epoch");
    cr_assert_eq(pr->sizes[2], 2);
    cr_assert_eq(pr->sizes[3], 4);
    cr_assert_float_eq(r.final_loss, (4 + 5) / 2.0, 1e-9, "the last (partial) epoch");
    free(pr);

    pr = run_probe(10, 4, 1, 7, true, true, &r);
    cr_assert_eq(r.steps, 7);
    cr_assert_eq(r.epochs, 3, "7 steps of 2 per epoch complete 3 epochs");
    for (int i = 0; i < 7; i++) cr_assert_eq(pr->sizes[i], 4);
    for (int e = 0; e < 3; e++) assert_epoch_rows(pr, 2 * e, 2 * e + 2, 10, false);
    cr_assert_float_eq(r.final_loss, 7.0, 1e-9);
    free(pr);
}

Test(train, batch_larger_than_data) {
    eb_train_result r;
    probe *pr = run_probe(10, 32, 2, 0, false, true, &r);
    cr_assert_eq(r.steps, 2);
    cr_assert_eq(r.epochs, 2);
    cr_assert_eq(pr->sizes[0], 10);
    cr_assert_eq(pr->sizes[1], 10);
    assert_epoch_rows(pr, 0, 1, 10, true);
    free(pr);
    pr = run_probe(10, 32, 2, 0, true, true, &r);
    cr_assert_eq(r.steps, 2, "the batch is clamped to n, so drop_last drops nothing");
    cr_assert_eq(pr->sizes[1], 10);
    free(pr);
}

Test(train, bad_arguments) {
    float x[20 * 2];
    int32_t y[20];
    indexed_rows(20, x, y);
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 2, .out_dim = 3}, 1);
    eb_model *ref = new_mlp(&(eb_mlp_config){.in_dim = 2, .out_dim = 3}, 1);
    eb_train_params p = quiet_params();
    p.batch_size = 4;
    p.epochs = 1;
    eb_train_result r;
    eb_error err = {0};
    probe pr = {0};
    cr_assert_eq(eb_train(m, x, y, 10, 4, probe_objective, &pr, &p, &r, &err), EB_ERR_SHAPE);
    cr_assert_not_null(strstr(err.message, "4"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "2"), "%s", err.message);
    cr_assert_eq(eb_train(m, x, y, 0, 2, probe_objective, &pr, &p, &r, &err), EB_ERR_ARG);
    p.batch_size = 0;
    cr_assert_eq(eb_train(m, x, y, 10, 2, probe_objective, &pr, &p, &r, &err), EB_ERR_ARG);
    p.batch_size = 4;
    p.epochs = 0;
    cr_assert_eq(eb_train(m, x, y, 10, 2, probe_objective, &pr, &p, &r, &err), EB_ERR_ARG);
    p.epochs = 1;
    p.optimizer.beta1 = 1.5f;
    cr_assert_eq(eb_train(m, x, y, 10, 2, probe_objective, &pr, &p, &r, &err), EB_ERR_ARG);
    p.optimizer = eb_adam_default_params();
    p.schedule.base_lr = -1;
    cr_assert_eq(eb_train(m, x, y, 10, 2, probe_objective, &pr, &p, &r, &err), EB_ERR_ARG);
    cr_assert_eq(pr.calls, 0, "no step on bad arguments");
    cr_assert(same_params(m, ref));
    cr_assert_eq(r.steps, 0);
    eb_model_free(m);
    eb_model_free(ref);
}

Test(train, objective_needs_labels) {
    float *x;
    int32_t *y;
    blobs(30, &x, &y, 2);
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 4, .out_dim = 3}, 1);
    eb_train_params p = quiet_params();
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, NULL, 30, 4, eb_objective_cross_entropy, NULL, &p, &r, &err), EB_ERR_ARG);
    cr_assert_not_null(strstr(err.message, "step 0"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "labels"), "%s", err.message);

    /* a custom objective without labels is fine: it gets NULL labels */
    float xi[10 * 2];
    int32_t yi[10];
    indexed_rows(10, xi, yi);
    eb_model *m2 = new_mlp(&(eb_mlp_config){.in_dim = 2, .out_dim = 3}, 1);
    probe pr = {0};
    p.batch_size = 5;
    p.epochs = 1;
    cr_assert_eq(eb_train(m2, xi, NULL, 10, 2, probe_objective, &pr, &p, &r, &err), EB_OK, "%s", err.message);
    cr_assert_eq(pr.calls, 2);
    cr_assert_eq(pr.null_labels, 10);
    free(x);
    free(y);
    eb_model_free(m);
    eb_model_free(m2);
}

/* A custom objective that pulls every logit towards 1 (mean squared error), counting its calls. */
typedef struct mse_ctx {
    int64_t calls;
} mse_ctx;

static eb_tensor *mse_to_one(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                             int64_t *n_correct) {
    ((mse_ctx *)ctx)->calls++;
    (void)n_correct;
    eb_tensor *logits = eb_model_forward(m, g, batch->x, true, rng, NULL);
    return eb_mean_all(g, eb_square(g, eb_add_scalar(g, logits, -1.0f)));
}

Test(train, custom_objective_drives_the_loop) {
    float *x;
    int32_t *y;
    blobs(60, &x, &y, 5);
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 4, .out_dim = 3, .n_hidden = 1, .hidden = {8}}, 1);
    eb_train_params p = quiet_params();
    p.epochs = 30;
    p.batch_size = 20;
    p.optimizer.lr = 0.02f;
    p.schedule = eb_schedule_default(0.02f);
    mse_ctx ctx = {0};
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, NULL, 60, 4, mse_to_one, &ctx, &p, &r, &err), EB_OK, "%s", err.message);
    cr_assert_eq(ctx.calls, 90);
    cr_assert_eq(r.steps, 90);
    cr_assert_float_eq(r.final_accuracy, -1.0, 0);
    float logits[60 * 3];
    cr_assert_eq(eb_model_predict(m, x, 60, 60, logits, NULL, NULL), EB_OK);
    double mse = 0;
    for (int i = 0; i < 180; i++) mse += ((double)logits[i] - 1.0) * ((double)logits[i] - 1.0) / 180;
    cr_assert_lt(mse, 0.05, "the custom loss was minimised: mse %g", mse);
    cr_assert_lt(fabs(r.final_loss - mse), 0.05, "final_loss %g vs mse %g", r.final_loss, mse);
    free(x);
    free(y);
    eb_model_free(m);
}

Test(train, diverges_with_a_huge_learning_rate) {
    float *x;
    int32_t *y;
    blobs(64, &x, &y, 6);
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 4, .out_dim = 3, .n_hidden = 1, .hidden = {8}}, 1);
    eb_train_params p = quiet_params();
    p.optimizer = eb_sgd_default_params();
    p.schedule = eb_schedule_default(1e30f);
    p.batch_size = 16;
    p.epochs = 10;
    loss_log *log = calloc(1, sizeof *log);
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, y, 64, 4, logging_ce, log, &p, &r, &err), EB_ERR_NUMERIC, "%s", err.message);
    cr_assert_geq(log->calls, 2, "step 0 is finite");
    cr_assert_lt(r.steps, 40, "stopped early");
    cr_assert_eq(r.steps, log->calls - 1, "the diverged step is not counted");
    char want[96];
    snprintf(want, sizeof want, "step %lld", (long long)(log->calls - 1));
    cr_assert_not_null(strstr(err.message, want), "'%s' lacks '%s'", err.message, want);
    snprintf(want, sizeof want, "last finite loss %g", (double)log->loss[log->calls - 2]);
    cr_assert_not_null(strstr(err.message, want), "'%s' lacks '%s'", err.message, want);
    free(log);
    free(x);
    free(y);
    eb_model_free(m);
}

Test(train, diverges_on_huge_inputs) {
    /* inputs of 1e30: step 0 is finite (loss ~1e29), its SGD step gives weights ~1e29, so the
     * logits of step 1 overflow */
    float *x;
    int32_t *y;
    blobs(32, &x, &y, 6);
    for (int i = 0; i < 32 * 4; i++) x[i] *= 1e30f;
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 4, .out_dim = 3, .n_hidden = 1, .hidden = {16}}, 1);
    eb_train_params p = quiet_params();
    p.optimizer = eb_sgd_default_params();
    p.schedule = eb_schedule_default(0.1f);
    p.batch_size = 8;
    p.epochs = 3;
    loss_log *log = calloc(1, sizeof *log);
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, y, 32, 4, logging_ce, log, &p, &r, &err), EB_ERR_NUMERIC, "%s", err.message);
    cr_assert_geq(log->calls, 2);
    cr_assert_gt(log->loss[0], 1e20f, "huge but finite first loss");
    cr_assert_eq(r.steps, log->calls - 1);
    char want[96];
    snprintf(want, sizeof want, "step %lld", (long long)(log->calls - 1));
    cr_assert_not_null(strstr(err.message, want), "'%s' lacks '%s'", err.message, want);
    snprintf(want, sizeof want, "last finite loss %g", (double)log->loss[log->calls - 2]);
    cr_assert_not_null(strstr(err.message, want), "'%s' lacks '%s'", err.message, want);
    free(log);
    free(x);
    free(y);
    eb_model_free(m);
}

Test(train, stops_on_a_nan_input) {
    /* relu maps NaN to 0 in the forward pass, so only the weight gradient shows it */
    float *x;
    int32_t *y;
    blobs(32, &x, &y, 6);
    x[5 * 4 + 2] = NAN;
    eb_model *m = new_mlp(&(eb_mlp_config){.in_dim = 4, .out_dim = 3, .n_hidden = 1, .hidden = {16}}, 1);
    eb_train_params p = quiet_params();
    p.batch_size = 8;
    p.epochs = 2;
    loss_log *log = calloc(1, sizeof *log);
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, y, 32, 4, logging_ce, log, &p, &r, &err), EB_ERR_NUMERIC, "%s", err.message);
    cr_assert_lt(log->calls, 5, "the row's batch comes within the first epoch");
    cr_assert_not_null(strstr(err.message, "step"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "last finite loss"), "%s", err.message);
    for (int64_t i = 0; i < m->params.size; i++)
        cr_assert(isfinite(m->params.data[i]), "no NaN step was taken");
    free(log);
    free(x);
    free(y);
    eb_model_free(m);
}

Test(train, schedule_base_lr_overrides_optimizer_lr) {
    float *x;
    int32_t *y;
    blobs(40, &x, &y, 7);
    eb_mlp_config c = {.in_dim = 4, .out_dim = 3, .n_hidden = 1, .hidden = {8}};
    eb_model *m = new_mlp(&c, 1), *ref = new_mlp(&c, 1);
    eb_train_params p = quiet_params();
    p.optimizer = eb_sgd_default_params();
    p.optimizer.lr = 1.0f; /* ignored */
    p.schedule = eb_schedule_default(0.0f);
    p.batch_size = 8;
    p.epochs = 2;
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, y, 40, 4, eb_objective_cross_entropy, NULL, &p, &r, &err), EB_OK, "%s",
                 err.message);
    cr_assert(same_params(m, ref), "lr 0 from the schedule: no change");
    p.optimizer.lr = 0.0f;
    p.schedule = eb_schedule_default(0.1f);
    cr_assert_eq(eb_train(m, x, y, 40, 4, eb_objective_cross_entropy, NULL, &p, &r, &err), EB_OK);
    cr_assert(!same_params(m, ref), "lr 0.1 from the schedule: the parameters move");
    free(x);
    free(y);
    eb_model_free(m);
    eb_model_free(ref);
}

static double param_distance(const eb_model *a, const eb_model *b) {
    double ss = 0;
    for (int64_t i = 0; i < a->params.size; i++) {
        double d = (double)a->params.data[i] - (double)b->params.data[i];
        ss += d * d;
    }
    return sqrt(ss);
}

Test(train, clip_grad_norm_bounds_each_step) {
    float *x;
    int32_t *y;
    blobs(40, &x, &y, 8);
    eb_mlp_config c = {.in_dim = 4, .out_dim = 3, .n_hidden = 1, .hidden = {8}};
    eb_model *m = new_mlp(&c, 1), *ref = new_mlp(&c, 1), *free_run = new_mlp(&c, 1);
    eb_train_params p = quiet_params();
    p.optimizer = eb_sgd_default_params();
    p.schedule = eb_schedule_default(1.0f);
    p.batch_size = 8;
    p.steps = 5;
    p.clip_grad_norm = 1e-3;
    eb_train_result r;
    eb_error err = {0};
    cr_assert_eq(eb_train(m, x, y, 40, 4, eb_objective_cross_entropy, NULL, &p, &r, &err), EB_OK, "%s",
                 err.message);
    double moved = param_distance(m, ref);
    cr_assert_gt(moved, 0);
    cr_assert_leq(moved, 5 * 1e-3 * (1 + 1e-5), "5 SGD steps of lr 1 with ‖g‖ ≤ 1e-3 moved %g", moved);
    p.clip_grad_norm = 0;
    cr_assert_eq(eb_train(free_run, x, y, 40, 4, eb_objective_cross_entropy, NULL, &p, &r, &err), EB_OK);
    cr_assert_gt(param_distance(free_run, ref), 10 * moved, "without clipping the steps are larger");
    free(x);
    free(y);
    eb_model_free(m);
    eb_model_free(ref);
    eb_model_free(free_run);
}

/* ---- 6. the parameter buffer and activations ------------------------------------------------------ */

static void two_params(eb_params *p) {
    memset(p, 0, sizeof *p);
    p->allocator = *eb_allocator_default();
    cr_assert_eq(eb_params_add(p, "a", 1, EB_SHAPE(3), NULL), EB_OK);
    cr_assert_eq(eb_params_add(p, "b", 2, EB_SHAPE(2, 2), NULL), EB_OK);
    cr_assert_eq(eb_params_alloc(p, NULL), EB_OK);
}

Test(params, layout_and_errors) {
    eb_params p;
    memset(&p, 0, sizeof p);
    p.allocator = *eb_allocator_default();
    eb_error err = {0};
    cr_assert_eq(eb_params_add(&p, "w", 2, EB_SHAPE(3, 5), &err), EB_OK);
    cr_assert_eq(eb_params_add(&p, "b", 1, EB_SHAPE(3), &err), EB_OK);
    cr_assert_eq(eb_params_add(&p, "scalar-ish", 0, EB_SHAPE(1), &err), EB_ERR_ARG);
    cr_assert_eq(eb_params_add(&p, "too-many", EB_MAX_DIMS + 1, EB_SHAPE(1, 1, 1, 1, 1), &err), EB_ERR_ARG);
    char longname[80];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    cr_assert_eq(eb_params_add(&p, longname, 1, EB_SHAPE(2), &err), EB_ERR_ARG);
    cr_assert_eq(p.count, 2);
    cr_assert_eq(eb_params_alloc(&p, &err), EB_OK);
    cr_assert_eq(p.info[0].size, 15);
    cr_assert_eq(p.info[1].size, 3);
    cr_assert_geq(p.info[1].offset, 15);
    cr_assert_eq(p.info[1].offset % 16, 0, "parameters stay 64-byte aligned in the buffer");
    cr_assert_geq(p.size, p.info[1].offset + 3);
    for (int64_t i = 0; i < p.size; i++) cr_assert(p.data[i] == 0.0f && p.grad[i] == 0.0f, "zero-filled");
    cr_assert_eq(eb_params_add(&p, "late", 1, EB_SHAPE(2), &err), EB_ERR_STATE);
    cr_assert_not_null(strstr(err.message, "late"), "%s", err.message);
    eb_params_free(&p);
    cr_assert_null(p.data);
    cr_assert_eq(p.count, 0);
}

Test(params, tensor_accumulates_into_the_flat_gradient) {
    eb_params p;
    two_params(&p);
    for (int64_t i = 0; i < p.size; i++) p.data[i] = (float)i;
    for (int round = 1; round <= 2; round++) {
        eb_graph *g = eb_graph_new(0, NULL);
        eb_tensor *b = eb_params_tensor(&p, g, 1);
        cr_assert_eq(b->ndim, 2);
        cr_assert_eq(b->shape[0], 2);
        cr_assert(b->data == p.data + p.info[1].offset, "a view, not a copy");
        eb_tensor *loss = eb_sum_all(g, eb_mul_scalar(g, b, 3.0f));
        cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK);
        for (int i = 0; i < 4; i++) cr_assert_float_eq(p.grad[p.info[1].offset + i], 3.0f * (float)round, 0);
        for (int i = 0; i < 3; i++) cr_assert_float_eq(p.grad[p.info[0].offset + i], 0.0f, 0);
        eb_graph_free(g);
    }
    eb_params_free(&p);
}

Test(params, zero_grad) {
    eb_params p;
    two_params(&p);
    for (int64_t i = 0; i < p.size; i++) p.grad[i] = (float)(i + 1), p.data[i] = 2.0f;
    eb_params_zero_grad(&p);
    for (int64_t i = 0; i < p.size; i++) {
        cr_assert(p.grad[i] == 0.0f, "grad[%lld] = %g", (long long)i, (double)p.grad[i]);
        cr_assert(p.data[i] == 2.0f, "data untouched");
    }
    eb_params_free(&p);
}

Test(params, clip_grad_norm) {
    eb_params p;
    two_params(&p);
    float *ga = p.grad + p.info[0].offset, *gb = p.grad + p.info[1].offset;
    ga[0] = 3.0f;
    gb[1] = -4.0f;
    cr_assert_float_eq(eb_params_clip_grad_norm(&p, 0), 5.0, 1e-12, "max_norm 0: only the norm");
    cr_assert(ga[0] == 3.0f && gb[1] == -4.0f);
    cr_assert_float_eq(eb_params_clip_grad_norm(&p, 7), 5.0, 1e-12);
    cr_assert(ga[0] == 3.0f && gb[1] == -4.0f, "below the limit: unchanged");
    cr_assert_float_eq(eb_params_clip_grad_norm(&p, 1), 5.0, 1e-12, "returns the norm before clipping");
    cr_assert_float_eq(ga[0], 0.6f, 1e-6);
    cr_assert_float_eq(gb[1], -0.8f, 1e-6);
    cr_assert_float_eq(eb_params_clip_grad_norm(&p, 0), 1.0, 1e-6, "clipped norm = max_norm");
    eb_params_free(&p);

    /* a long vector: the norm is accumulated in double */
    memset(&p, 0, sizeof p);
    p.allocator = *eb_allocator_default();
    cr_assert_eq(eb_params_add(&p, "big", 1, EB_SHAPE(1000003), NULL), EB_OK);
    cr_assert_eq(eb_params_alloc(&p, NULL), EB_OK);
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_rng_fill_normal(&rng, p.grad, 1000003, 0.0f, 1e-3f);
    double ss = 0;
    for (int64_t i = 0; i < 1000003; i++) ss += (double)p.grad[i] * (double)p.grad[i];
    double norm = eb_params_clip_grad_norm(&p, 0.25);
    cr_assert_float_eq(norm, sqrt(ss), 1e-9 * sqrt(ss));
    ss = 0;
    for (int64_t i = 0; i < 1000003; i++) ss += (double)p.grad[i] * (double)p.grad[i];
    cr_assert_float_eq(sqrt(ss), 0.25, 1e-5);
    eb_params_free(&p);
}

Test(activation, parse_every_name) {
    const struct {
        const char *s;
        eb_activation a;
        float param;
    } cases[] = {
        {"relu", EB_ACT_RELU, 0},
        {"leaky_relu", EB_ACT_LEAKY_RELU, 0.01f},
        {"leaky_relu:0.2", EB_ACT_LEAKY_RELU, 0.2f},
        {"elu", EB_ACT_ELU, 1.0f},
        {"elu:1.0", EB_ACT_ELU, 1.0f},
        {"elu:0.5", EB_ACT_ELU, 0.5f},
        {"softplus", EB_ACT_SOFTPLUS, 1.0f},
        {"softplus:2", EB_ACT_SOFTPLUS, 2.0f},
        {"tanh", EB_ACT_TANH, 0},
        {"sigmoid", EB_ACT_SIGMOID, 0},
        {"swish", EB_ACT_SWISH, 0},
        {"leaky_relu:1e-3", EB_ACT_LEAKY_RELU, 1e-3f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eb_activation a = (eb_activation)-1;
        float param = -99;
        eb_error err = {0};
        cr_assert_eq(eb_activation_parse(cases[i].s, &a, &param, &err), EB_OK, "'%s': %s", cases[i].s,
                     err.message);
        cr_assert_eq(a, cases[i].a, "'%s'", cases[i].s);
        cr_assert(param == cases[i].param, "'%s': param %g, want %g", cases[i].s, (double)param,
                  (double)cases[i].param);
        /* the name round-trips */
        size_t len = strcspn(cases[i].s, ":");
        cr_assert_eq(strlen(eb_activation_name(a)), len);
        cr_assert_eq(strncmp(eb_activation_name(a), cases[i].s, len), 0);
    }
    cr_assert_str_eq(eb_activation_name((eb_activation)42), "?");
}

Test(activation, parse_rejects_bad_names_and_parameters) {
    const char *bad[] = {"",
                         "RELU",
                         "relu6",
                         "leaky",
                         "gelu",
                         ":0.2",
                         "leaky_relu:",
                         "leaky_relu:abc",
                         "leaky_relu:0.2x",
                         "leaky_relu:nan",
                         "elu:inf",
                         "softplus:-inf",
                         "leaky relu",
                         "relu "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_activation a;
        float param;
        eb_error err = {0};
        cr_assert_eq(eb_activation_parse(bad[i], &a, &param, &err), EB_ERR_ARG, "'%s' accepted", bad[i]);
        cr_assert_not_null(strstr(err.message, bad[i]), "message '%s' does not name '%s'", err.message,
                           bad[i]);
    }
}

/* ---- bugs found while writing these tests (reported to the lead; enable each when fixed) ----------
 * Each asserts what the headers and DESIGN.md §3.13 ("strict configs": out-of-range values and unknown
 * keys are errors, never silently ignored) ask for, and fails on the current code. */

/* Was a bug: "softplus:0" / "softplus:-1" parse, but eb_softplus rejects beta <= 0 at the first forward pass;
 * "leaky_relu:1e39" parses to +Inf (the finiteness check runs on the double, before the float cast). */
Test(activation, parse_rejects_params_the_ops_cannot_use) {
    const char *bad[] = {"softplus:0", "softplus:-1", "leaky_relu:1e39", "elu:1e39"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_activation a;
        float param = 0;
        eb_error err = {0};
        cr_expect_eq(eb_activation_parse(bad[i], &a, &param, &err), EB_ERR_ARG, "'%s' accepted, param %g",
                     bad[i], (double)param);
    }
}

/* Was a bug: a parameter given to an activation without one ("relu:5") is silently ignored. */
Test(activation, parse_rejects_a_param_for_parameterless_activations) {
    const char *bad[] = {"relu:5", "tanh:1", "sigmoid:0", "swish:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_activation a;
        float param = 0;
        cr_expect_eq(eb_activation_parse(bad[i], &a, &param, NULL), EB_ERR_ARG, "'%s' accepted", bad[i]);
    }
}

/* Was a bug: eb_mlp_config_check validates neither the activation kind nor its parameter, so eb_mlp_new
 * (and eb_model_load) accept models whose first forward pass fails or computes with Inf/NaN. */
Test(init, config_check_validates_the_activation) {
    eb_mlp_config c = mlp_config(3, 2, 1, (const int64_t[]){4}, EB_ACT_SOFTPLUS, 0.0f);
    cr_expect_eq(eb_mlp_config_check(&c, NULL), EB_ERR_ARG, "softplus beta 0");
    c.activation_param = NAN;
    cr_expect_eq(eb_mlp_config_check(&c, NULL), EB_ERR_ARG, "softplus beta NaN");
    c.activation = EB_ACT_LEAKY_RELU;
    c.activation_param = INFINITY;
    cr_expect_eq(eb_mlp_config_check(&c, NULL), EB_ERR_ARG, "leaky_relu slope Inf");
    c.activation = (eb_activation)99;
    c.activation_param = 0;
    cr_expect_eq(eb_mlp_config_check(&c, NULL), EB_ERR_ARG, "activation kind 99");
}

/* Was a bug: a checkpoint tensor that the model does not have is ignored (torch's
 * load_state_dict(strict=True) reports it as an unexpected key). */
Test(checkpoint, unexpected_tensor_is_an_error) {
    expect_load_fails(&(bad_ckpt){.extra_tensor = "layers.7.weight"}, EB_ERR_FORMAT, "layers.7.weight", NULL);
}

/* Was a bug: the version is read with atoi, so "1abc", "1.9" and " 1" load as version 1. */
Test(checkpoint, malformed_format_version_is_an_error) {
    const char *versions[] = {"1abc", "1.9", " 1", "+1"};
    for (int i = 0; i < 4; i++) {
        char path[4096];
        scratch(path, sizeof path, "nn_bad_version.safetensors");
        write_bad_ckpt(path, &(bad_ckpt){.version = versions[i]});
        eb_model *m = NULL;
        eb_error err = {0};
        eb_status st = eb_model_load(path, NULL, &m, &err);
        cr_expect_neq(st, EB_OK, "format version '%s' accepted", versions[i]);
        eb_model_free(m);
        remove(path);
    }
}

/* Was a bug: unknown config keys, a parameter inside "activation", and an activation_param that does not
 * fit a float are accepted. */
Test(checkpoint, strict_config) {
    expect_load_fails(&(bad_ckpt){.config =
                                      "{\"in_dim\":4,\"out_dim\":3,\"hidden\":[5],\"activation\":\"tanh\","
                                      "\"activation_param\":0,\"dropout\":0,\"batchnorm\":true}"},
                      EB_ERR_FORMAT, "batchnorm", NULL);
    expect_load_fails(&(bad_ckpt){.config =
                                      "{\"in_dim\":4,\"out_dim\":3,\"hidden\":[5],\"activation\":\"leaky_"
                                      "relu:0.5\",\"activation_param\":0.1,\"dropout\":0}"},
                      EB_ERR_FORMAT, "config", NULL);
    expect_load_fails(&(bad_ckpt){.config =
                                      "{\"in_dim\":4,\"out_dim\":3,\"hidden\":[5],\"activation\":\"leaky_"
                                      "relu\",\"activation_param\":1e39,\"dropout\":0}"},
                      EB_ERR_FORMAT, "config", NULL);
    expect_load_fails(
        &(bad_ckpt){.config = "{\"in_dim\":4,\"out_dim\":3,\"hidden\":[5],\"activation\":\"softplus\","
                              "\"activation_param\":0,\"dropout\":0}"},
        EB_ERR_FORMAT, "config", NULL);
}

/* ---- ResNet's ImageNet stem (torchvision's; scripts/torch_import.py checks it against PyTorch) ------ */

Test(resnet_stem, imagenet_shapes_forward_and_round_trip) {
    eb_image_config c = eb_image_default_config(EB_MODEL_RESNET, 3, 64, 48, 5);
    c.stem = EB_RESNET_STEM_IMAGENET;
    eb_rng rng;
    eb_rng_seed(&rng, 4);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_image_model_new(EB_MODEL_RESNET, &c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    cr_assert_str_eq(m->params.info[0].name, "conv1.weight");
    cr_assert_eq(m->params.info[0].shape[2], 7, "a 7x7 stem conv");
    cr_assert_eq(m->params.info[0].shape[3], 7);
    char *config = eb_model_config_json(m);
    cr_assert(strstr(config, "\"stem\":\"imagenet\""), "%s", config);
    free(config);

    enum { N = 2 };
    float *x = random_rows(N, 3 * 64 * 48, 1.0f, 5);
    float logits[N * 5], feats[N * 512], back[N * 5];
    cr_assert_eq(eb_model_predict(m, x, N, N, logits, feats, &err), EB_OK, "%s", err.message);
    char path[4096];
    scratch(path, sizeof path, "nn_resnet_imagenet_stem.safetensors");
    cr_assert_eq(eb_model_save(m, path, NULL, 0, &err), EB_OK, "%s", err.message);
    eb_model *l = NULL;
    cr_assert_eq(eb_model_load(path, NULL, &l, &err), EB_OK, "%s", err.message);
    cr_assert_eq(l->image.stem, EB_RESNET_STEM_IMAGENET);
    cr_assert_eq(eb_model_predict(l, x, N, N, back, NULL, &err), EB_OK, "%s", err.message);
    cr_assert_eq(memcmp(logits, back, sizeof back), 0, "the stem must survive the checkpoint");
    eb_model_free(l);
    eb_model_free(m);
    free(x);
    remove(path);
}

Test(resnet_stem, bad_configs) {
    eb_error err = {0};
    eb_image_config c = eb_image_default_config(EB_MODEL_WRN, 3, 32, 32, 10);
    c.stem = EB_RESNET_STEM_IMAGENET;
    cr_assert_eq(eb_image_config_check(EB_MODEL_WRN, &c, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "only resnet has the imagenet stem"), "%s", err.message);
    c = eb_image_default_config(EB_MODEL_RESNET, 3, 32, 32, 10);
    c.stem = (eb_resnet_stem)7;
    cr_assert_eq(eb_image_config_check(EB_MODEL_RESNET, &c, &err), EB_ERR_ARG);
    cr_assert_eq(eb_image_config_check(EB_MODEL_RESNET,
                                       &(eb_image_config){3, 32, 32, 10, 18, 0, 0, 0, EB_RESNET_STEM_CIFAR},
                                       &err),
                 EB_OK);
}
