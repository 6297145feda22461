/* wrn_ebm: the EBM paper's WideResNet (src/nn/wrn_ebm.c) against an independent PyTorch definition
 * (scripts/make_wrn_ebm_fixture.py → tests/fixtures/nn/wrn_ebm*): a torch-written checkpoint loads,
 * its logits and the input gradient of Σ_i logsumexp_k g_k(x_i) (what the SGLD samplers follow) match
 * torch's float64 values; the parameter names and shapes of WRN-10-2 with a bottleneck are PyTorch's;
 * the bottleneck survives a checkpoint round trip; bad bottleneck configs are refused. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <ebood/data.h>
#include <ebood/ebm.h>
#include <ebood/nn.h>
#include <ebood/safetensors.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ---- helpers ----------------------------------------------------------------------------------- */

static eb_image_config wrn_ebm_config(int64_t channels, int64_t side, int64_t classes, int depth, int widen,
                                      float bottleneck) {
    eb_image_config c = eb_image_default_config(EB_MODEL_WRN_EBM, channels, side, side, classes);
    c.depth = depth;
    c.widen = widen;
    c.bottleneck = bottleneck;
    return c;
}

static eb_model *new_wrn_ebm(const eb_image_config *c, uint64_t seed) {
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_image_model_new(EB_MODEL_WRN_EBM, c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    cr_assert_not_null(m);
    return m;
}

static const eb_param_info *find_param(const eb_model *m, const char *name) {
    for (int i = 0; i < m->params.count; i++)
        if (strcmp(m->params.info[i].name, name) == 0) return &m->params.info[i];
    return NULL;
}

static int64_t param_total(const eb_model *m) {
    int64_t n = 0;
    for (int i = 0; i < m->params.count; i++) n += m->params.info[i].size;
    return n;
}

static double max_abs(const double *v, int64_t n) {
    double mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs(v[i]));
    return mx;
}

/* The torch fixture: the model, x[n, 64] (float32) and one float64 reference array of n rows × cols. */
typedef struct fixture {
    eb_model *model;
    float *x;
    int64_t n;
    eb_npy_array ref;
} fixture;

static fixture load_fixture(const char *ref_name, int64_t cols) {
    char path[4096], xpath[4096], rpath[4096];
    eb_fixture_path(path, sizeof path, "nn/wrn_ebm.safetensors");
    eb_fixture_path(xpath, sizeof xpath, "nn/wrn_ebm_input.npy");
    eb_fixture_path(rpath, sizeof rpath, ref_name);
    fixture f = {0};
    eb_error err = {0};
    cr_assert_eq(eb_model_load(path, NULL, &f.model, &err), EB_OK, "%s", err.message);
    int64_t xs[8];
    cr_assert_eq(eb_npy_read_f32(xpath, &f.x, 2, xs, NULL, &err), EB_OK, "%s", err.message);
    cr_assert_eq(xs[1], 64, "input rows are 1×8×8 images");
    f.n = xs[0];
    cr_assert_geq(f.n, 2);
    cr_assert_eq(eb_npy_read(rpath, &f.ref, &err), EB_OK, "%s", err.message);
    cr_assert_eq(f.ref.dtype, EB_DTYPE_F64);
    cr_assert_eq(f.ref.ndim, 2);
    cr_assert_eq(f.ref.shape[0], f.n);
    cr_assert_eq(f.ref.shape[1], cols);
    return f;
}

static void free_fixture(fixture *f) {
    eb_model_free(f->model);
    free(f->x);
    eb_npy_array_free(&f->ref);
}

/* ---- 1. the torch-written checkpoint -------------------------------------------------------------- */

Test(torch, checkpoint_config_and_tensors) {
    char path[4096];
    eb_fixture_path(path, sizeof path, "nn/wrn_ebm.safetensors");
    eb_error err = {0};
    eb_model *m = NULL;
    eb_safetensors *file = NULL;
    cr_assert_eq(eb_model_load_with_file(path, NULL, &m, &file, &err), EB_OK, "%s", err.message);
    cr_assert_eq(m->kind, EB_MODEL_WRN_EBM);
    cr_assert_eq(m->image.channels, 1);
    cr_assert_eq(m->image.height, 8);
    cr_assert_eq(m->image.width, 8);
    cr_assert_eq(m->image.num_classes, 3);
    cr_assert_eq(m->image.depth, 10);
    cr_assert_eq(m->image.widen, 1);
    cr_assert(m->image.dropout == 0.3f, "dropout %.9g", (double)m->image.dropout);
    cr_assert(m->image.bottleneck == 0.2f, "bottleneck %.9g", (double)m->image.bottleneck);
    cr_assert_str_eq(eb_safetensors_meta(file, "ebood.provenance"), "scripts/make_wrn_ebm_fixture.py");
    /* every tensor of torch's state_dict is a parameter of the C model and vice versa (32 = 16 convs and
     * the linear layer, weight + bias each; 79112 floats is the torch module's count) */
    cr_assert_eq(eb_safetensors_count(file), 32);
    cr_assert_eq(m->params.count, 32);
    cr_assert_eq(param_total(m), 79112);
    for (int i = 0; i < m->params.count; i++) {
        const eb_st_tensor *t = eb_safetensors_find(file, m->params.info[i].name);
        cr_assert_not_null(t, "%s is not in torch's state_dict", m->params.info[i].name);
        cr_assert_eq(memcmp(t->data, m->params.data + m->params.info[i].offset, t->nbytes), 0);
    }
    /* the biases were drawn non-zero, so a model that ignored them could not match the logits below */
    const eb_param_info *b = find_param(m, "layer2.1.bias");
    cr_assert_not_null(b);
    cr_assert_eq(b->shape[0], 6, "int(0.2 · 32) = 6");
    cr_assert_neq(m->params.data[b->offset], 0.0f);
    eb_safetensors_free(file);
    eb_model_free(m);
}

/* Float32 against torch's float64 on the same (float32) parameters and inputs. Every logit is a chain of
 * 8 convolutions (fan-in ≤ 576) and a linear layer, each adding relative rounding of a few ×1e-7 per
 * output (√fan-in growth), with residual sums that do not amplify it: the expected error is ~1e-6 of
 * the logit scale (measured: 1.8e-7 = 5e-7 of max|logit| 0.36). 1e-4 · max|logit| leaves two orders of
 * margin, and still sits far below any structural error: a 0.1 % change of conv1's weights alone moves these
 * logits by 2e-3 of max|logit|, zeroing one bias vector by 4–33 %. */
Test(torch, logits_match_pytorch) {
    fixture f = load_fixture("nn/wrn_ebm_logits.npy", 3);
    const double *want = f.ref.data;
    double scale = max_abs(want, f.n * 3);
    cr_assert_gt(scale, 0.05, "the fixture's logits are not degenerate");
    float *got = malloc((size_t)(f.n * 3) * sizeof *got);
    cr_assert_not_null(got);
    eb_error err = {0};
    /* batch sizes n (one GEMM over all rows) and 1 (row by row): both must match */
    const int64_t batches[] = {f.n, 1};
    for (int b = 0; b < 2; b++) {
        cr_assert_eq(eb_model_predict(f.model, f.x, f.n, batches[b], got, NULL, &err), EB_OK, "%s",
                     err.message);
        double worst = 0;
        for (int64_t i = 0; i < f.n * 3; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
        cr_log_info("wrn_ebm logits (batch %lld): max |diff| %.3e, max |logit| %.3e", (long long)batches[b],
                    worst, scale);
        cr_assert_leq(worst, 1e-4 * scale,
                      "batch %lld: max |logit diff| %g vs torch float64 (max |logit| %g)",
                      (long long)batches[b], worst, scale);
    }
    free(got);
    free_fixture(&f);
}

/* ∇ₓ Σ_i f(x_i), f = logsumexp_k g_k, on the tape with frozen parameters, exactly as SGLD asks for it
 * (eb_model_log_density, eval mode). The backward pass retraces the forward convolutions transposed,
 * so its rounding is of the same kind; a LeakyReLU whose input sits within float32 rounding of 0 could
 * take the other slope, but none of the fixture's does (the smallest |input| of the 7 LeakyReLUs is 4.6e-6
 * of that layer's max, ~10× the float32 error). Measured: 6.6e-8 = 6e-7 of max|grad| 0.11; the same
 * 1e-4 · max|grad| bound as the logits. */
Test(torch, input_gradient_of_logsumexp_matches_pytorch) {
    fixture f = load_fixture("nn/wrn_ebm_input_grad.npy", 64);
    char lpath[4096];
    eb_fixture_path(lpath, sizeof lpath, "nn/wrn_ebm_logits.npy");
    eb_npy_array logits = {0};
    eb_error err = {0};
    cr_assert_eq(eb_npy_read(lpath, &logits, &err), EB_OK, "%s", err.message);
    const double *lg = logits.data, *want = f.ref.data;

    eb_graph *g = eb_graph_new(0, NULL);
    cr_assert_not_null(g);
    eb_graph_freeze_params(g, true);
    eb_tensor *x = eb_tensor_input(g, f.x, 2, EB_SHAPE(f.n, 64), true);
    eb_model_density d = {.model = f.model, .labels = NULL, .train = false, .rng = NULL};
    eb_tensor *fx = eb_model_log_density(&d, g, x);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(fx->size, f.n);
    /* f itself: logsumexp of torch's logits */
    for (int64_t i = 0; i < f.n; i++) {
        double mx = fmax(fmax(lg[3 * i], lg[3 * i + 1]), lg[3 * i + 2]), s = 0;
        for (int k = 0; k < 3; k++) s += exp(lg[3 * i + k] - mx);
        double lse = mx + log(s);
        cr_assert_leq(fabs((double)fx->data[i] - lse), 1e-4 * fabs(lse), "f[%lld] = %.9g, torch %.9g",
                      (long long)i, (double)fx->data[i], lse);
    }
    cr_assert_eq(eb_graph_backward(g, fx, NULL), EB_OK, "%s", eb_graph_error(g));
    double scale = max_abs(want, f.n * 64), worst = 0;
    cr_assert_gt(scale, 1e-3, "the fixture's gradient is not degenerate");
    for (int64_t i = 0; i < f.n * 64; i++) worst = fmax(worst, fabs((double)x->grad[i] - want[i]));
    cr_log_info("wrn_ebm input gradient: max |diff| %.3e, max |grad| %.3e", worst, scale);
    cr_assert_leq(worst, 1e-4 * scale, "max |grad diff| %g vs torch float64 (max |grad| %g)", worst, scale);
    /* frozen parameters: the model's gradient buffer is untouched */
    for (int64_t i = 0; i < f.model->params.size; i++)
        cr_assert_eq(f.model->params.grad[i], 0.0f, "parameter gradient %lld touched", (long long)i);
    eb_graph_free(g);
    eb_npy_array_free(&logits);
    free_fixture(&f);
}

/* ---- 2. names, shapes and initialisation of WRN-10-2 with a bottleneck ------------------------------ */

typedef struct expected_param {
    const char *name;
    int ndim;
    int64_t shape[4];
} expected_param;

/* WRN-10-2 (n = 1 block per group, widths 32, 64, 128), bottleneck 0.2, 1×28×28, 10 classes, in the
 * torch module's state_dict order. Bottleneck widths int(0.2·c): int(6.4) = 6, int(12.8) = 12,
 * int(25.6) = 25. Every group's first block changes the width (16 → 32, 32 → 64, 64 → 128), so each has a
 * shortcut. The torch module of scripts/make_wrn_ebm_fixture.py prints the same list and 311765
 * parameters: 160 (conv1) + 4640 + 9248 + 544 + 198 + 224 (layer1) + 18496 + 36928 + 2112 + 780 + 832
 * (layer2) + 73856 + 147584 + 8320 + 3225 + 3328 (layer3) + 1290 (linear). */
static const expected_param WRN_10_2[] = {
    {"conv1.weight", 4, {16, 1, 3, 3}},
    {"conv1.bias", 1, {16}},
    {"layer1.0.conv1.weight", 4, {32, 16, 3, 3}},
    {"layer1.0.conv1.bias", 1, {32}},
    {"layer1.0.conv2.weight", 4, {32, 32, 3, 3}},
    {"layer1.0.conv2.bias", 1, {32}},
    {"layer1.0.shortcut.0.weight", 4, {32, 16, 1, 1}},
    {"layer1.0.shortcut.0.bias", 1, {32}},
    {"layer1.1.weight", 4, {6, 32, 1, 1}},
    {"layer1.1.bias", 1, {6}},
    {"layer1.2.weight", 4, {32, 6, 1, 1}},
    {"layer1.2.bias", 1, {32}},
    {"layer2.0.conv1.weight", 4, {64, 32, 3, 3}},
    {"layer2.0.conv1.bias", 1, {64}},
    {"layer2.0.conv2.weight", 4, {64, 64, 3, 3}},
    {"layer2.0.conv2.bias", 1, {64}},
    {"layer2.0.shortcut.0.weight", 4, {64, 32, 1, 1}},
    {"layer2.0.shortcut.0.bias", 1, {64}},
    {"layer2.1.weight", 4, {12, 64, 1, 1}},
    {"layer2.1.bias", 1, {12}},
    {"layer2.2.weight", 4, {64, 12, 1, 1}},
    {"layer2.2.bias", 1, {64}},
    {"layer3.0.conv1.weight", 4, {128, 64, 3, 3}},
    {"layer3.0.conv1.bias", 1, {128}},
    {"layer3.0.conv2.weight", 4, {128, 128, 3, 3}},
    {"layer3.0.conv2.bias", 1, {128}},
    {"layer3.0.shortcut.0.weight", 4, {128, 64, 1, 1}},
    {"layer3.0.shortcut.0.bias", 1, {128}},
    {"layer3.1.weight", 4, {25, 128, 1, 1}},
    {"layer3.1.bias", 1, {25}},
    {"layer3.2.weight", 4, {128, 25, 1, 1}},
    {"layer3.2.bias", 1, {128}},
    {"linear.weight", 2, {10, 128}},
    {"linear.bias", 1, {10}},
};
#define N_WRN_10_2 ((int)(sizeof WRN_10_2 / sizeof WRN_10_2[0]))

Test(architecture, wrn_10_2_bottleneck_names_and_shapes) {
    eb_image_config c = wrn_ebm_config(1, 28, 10, 10, 2, 0.2f);
    eb_model *m = new_wrn_ebm(&c, 3);
    cr_assert_eq(m->params.count, N_WRN_10_2);
    int64_t table_total = 0;
    for (int i = 0; i < N_WRN_10_2; i++) {
        const eb_param_info *p = &m->params.info[i];
        const expected_param *e = &WRN_10_2[i];
        cr_assert_str_eq(p->name, e->name, "parameter %d", i);
        cr_assert_eq(p->ndim, e->ndim, "%s", e->name);
        int64_t size = 1;
        for (int k = 0; k < e->ndim; k++) {
            cr_assert_eq(p->shape[k], e->shape[k], "%s: dim %d is %lld, torch %lld", e->name, k,
                         (long long)p->shape[k], (long long)e->shape[k]);
            size *= e->shape[k];
        }
        cr_assert_eq(p->size, size, "%s", e->name);
        table_total += size;
    }
    cr_assert_eq(table_total, 311765, "the table disagrees with torch's parameter count");
    cr_assert_eq(param_total(m), 311765);
    cr_assert_eq(m->buffers.count, 0, "no normalisation, so no running statistics");
    cr_assert_eq(eb_model_in_dim(m), 784);
    cr_assert_eq(eb_model_out_dim(m), 10);
    cr_assert_eq(eb_model_feature_dim(m), 128);

    /* 28 → 28 → 14 → 7: the odd final map must run (stride 2 on conv2 and on the shortcut agree) */
    float x[2 * 784], logits[2 * 10], feat[2 * 128];
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    eb_rng_fill_uniform(&rng, x, 2 * 784, -1.0f, 1.0f);
    eb_error err = {0};
    cr_assert_eq(eb_model_predict(m, x, 2, 2, logits, feat, &err), EB_OK, "%s", err.message);
    for (int i = 0; i < 20; i++) cr_assert(isfinite(logits[i]));
    /* the features are the mean of a LeakyReLU(0.2) map: not all equal, and not the logits' input size */
    bool varied = false;
    for (int i = 1; i < 256; i++) varied |= feat[i] != feat[0];
    cr_assert(varied, "features are constant");
    eb_model_free(m);
}

/* wrn.py's conv_init: every convolution xavier_uniform_ with gain √2 — bound √2·√(6 / ((in + out)·k²))
 * — and bias 0; the linear layer PyTorch's default, U(±1/√128) for weight and bias. */
Test(architecture, initialisation_as_conv_init) {
    eb_image_config c = wrn_ebm_config(1, 28, 10, 10, 2, 0.2f);
    eb_model *m = new_wrn_ebm(&c, 11);
    for (int i = 0; i < m->params.count; i++) {
        const eb_param_info *p = &m->params.info[i];
        const float *v = m->params.data + p->offset;
        bool is_linear = strncmp(p->name, "linear.", 7) == 0;
        if (!is_linear && p->ndim == 1) {
            for (int64_t j = 0; j < p->size; j++) cr_assert_eq(v[j], 0.0f, "%s[%lld]", p->name, (long long)j);
            continue;
        }
        double bound =
            is_linear
                ? 1.0 / sqrt(128.0)
                : sqrt(2.0) * sqrt(6.0 / (double)((p->shape[0] + p->shape[1]) * p->shape[2] * p->shape[3]));
        double mx = 0;
        for (int64_t j = 0; j < p->size; j++) mx = fmax(mx, fabs(v[j]));
        cr_assert_leq(mx, bound * (1 + 1e-6), "%s: max |w| %g beyond the bound %g", p->name, mx, bound);
        /* n uniform draws: the largest |w| misses the bound by more than 20/n of it with prob. ~e^-20 */
        if (p->size >= 100)
            cr_assert_geq(mx, bound * (1 - 20.0 / (double)p->size), "%s: max |w| %g, bound %g", p->name, mx,
                          bound);
    }
    eb_model_free(m);
}

/* The bottleneck widths of 002_… Table 7's factors for WRN-10-2 are wrn.py's int(r·c). */
Test(architecture, table_7_bottleneck_widths) {
    const float factors[] = {0.05f, 0.1f, 0.2f};
    const int64_t want[3][3] = {{1, 3, 6}, {3, 6, 12}, {6, 12, 25}}; /* c = 32, 64, 128 */
    for (int f = 0; f < 3; f++) {
        eb_image_config c = wrn_ebm_config(3, 8, 10, 10, 2, factors[f]);
        eb_model *m = new_wrn_ebm(&c, 1);
        for (int gi = 0; gi < 3; gi++) {
            char down[32], up[32];
            snprintf(down, sizeof down, "layer%d.1.weight", gi + 1);
            snprintf(up, sizeof up, "layer%d.2.weight", gi + 1);
            const eb_param_info *d = find_param(m, down), *u = find_param(m, up);
            cr_assert(d && u, "r = %g: %s / %s missing", (double)factors[f], down, up);
            int64_t width = 32 << gi;
            cr_assert_eq(d->shape[0], want[f][gi], "r = %g, c = %lld: %lld channels, wrn.py %lld",
                         (double)factors[f], (long long)width, (long long)d->shape[0],
                         (long long)want[f][gi]);
            cr_assert_eq(d->shape[1], width);
            cr_assert_eq(u->shape[0], width);
            cr_assert_eq(u->shape[1], want[f][gi]);
        }
        eb_model_free(m);
    }
    /* a factor whose float is a hair below the decimal: int(0.7 · 80) = 56 in wrn.py (0.7f · 80 = 55.99999)
     */
    eb_image_config w5 = wrn_ebm_config(1, 8, 10, 10, 5, 0.7f);
    eb_model *m5 = new_wrn_ebm(&w5, 1);
    const eb_param_info *d1 = find_param(m5, "layer1.1.weight"), *d3 = find_param(m5, "layer3.1.weight");
    cr_assert(d1 && d3);
    cr_assert_eq(d1->shape[0], 56);
    cr_assert_eq(d3->shape[0], 224);
    eb_model_free(m5);
    /* no bottleneck: no layerN.1 / layerN.2 at all (depth 10 has one block per group) */
    eb_image_config c = wrn_ebm_config(3, 8, 10, 10, 2, 0.0f);
    eb_model *m = new_wrn_ebm(&c, 1);
    cr_assert_null(find_param(m, "layer1.1.weight"));
    cr_assert_null(find_param(m, "layer3.2.bias"));
    cr_assert_eq(m->params.count, 34 - 12);
    eb_model_free(m);
}

/* ---- 3. checkpoints --------------------------------------------------------------------------------- */

static void round_trip(float bottleneck, const char *scratch_name) {
    eb_image_config c = wrn_ebm_config(3, 8, 5, 10, 2, bottleneck);
    c.dropout = 0.25f;
    eb_model *m = new_wrn_ebm(&c, 21);
    /* make the biases non-zero so that a mix-up of tensors would show in the logits */
    eb_rng rng;
    eb_rng_seed(&rng, 22);
    for (int i = 0; i < m->params.count; i++)
        if (m->params.info[i].ndim == 1)
            eb_rng_fill_uniform(&rng, m->params.data + m->params.info[i].offset, m->params.info[i].size,
                                -0.1f, 0.1f);
    char path[4096];
    eb_test_path(path, sizeof path, scratch_name);
    remove(path);
    eb_error err = {0};
    cr_assert_eq(eb_model_save(m, path, NULL, 0, &err), EB_OK, "%s", err.message);

    eb_model *l = NULL;
    eb_safetensors *file = NULL;
    cr_assert_eq(eb_model_load_with_file(path, NULL, &l, &file, &err), EB_OK, "%s", err.message);
    cr_assert_eq(l->kind, EB_MODEL_WRN_EBM);
    cr_assert_str_eq(eb_safetensors_meta(file, "ebood.model"), "wrn_ebm");
    cr_assert_not_null(strstr(eb_safetensors_meta(file, "ebood.config"), "\"bottleneck\":"));
    cr_assert(l->image.bottleneck == bottleneck, "bottleneck %.9g after the round trip, saved %.9g",
              (double)l->image.bottleneck, (double)bottleneck);
    cr_assert(l->image.dropout == 0.25f);
    cr_assert_eq(l->image.depth, 10);
    cr_assert_eq(l->image.widen, 2);
    cr_assert_eq(l->image.channels, 3);
    cr_assert_eq(l->image.height, 8);
    cr_assert_eq(l->image.width, 8);
    cr_assert_eq(l->image.num_classes, 5);
    cr_assert_eq(l->params.count, m->params.count);
    for (int i = 0; i < m->params.count; i++) {
        const eb_param_info *a = &m->params.info[i], *b = &l->params.info[i];
        cr_assert_str_eq(b->name, a->name);
        cr_assert_eq(b->ndim, a->ndim);
        cr_assert_eq(memcmp(b->shape, a->shape, sizeof a->shape), 0, "%s", a->name);
        cr_assert_eq(
            memcmp(l->params.data + b->offset, m->params.data + a->offset, (size_t)a->size * sizeof(float)),
            0, "%s", a->name);
    }
    float x[3 * 192], y0[3 * 5], y1[3 * 5];
    eb_rng_fill_uniform(&rng, x, 3 * 192, -1.0f, 1.0f);
    cr_assert_eq(eb_model_predict(m, x, 3, 3, y0, NULL, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_model_predict(l, x, 3, 3, y1, NULL, &err), EB_OK, "%s", err.message);
    cr_assert_eq(memcmp(y0, y1, sizeof y0), 0, "the loaded model computes other logits");
    eb_safetensors_free(file);
    eb_model_free(l);
    eb_model_free(m);
    remove(path);
}

Test(checkpoint, round_trip_keeps_the_bottleneck) {
    round_trip(0.1f, "wrn_ebm_rt_010.safetensors");
    round_trip(0.05f, "wrn_ebm_rt_005.safetensors");
    round_trip(0.0f, "wrn_ebm_rt_000.safetensors");
}

/* ---- 4. bad configs --------------------------------------------------------------------------------- */

static void assert_bottleneck_refused(eb_model_kind kind, float bottleneck) {
    eb_image_config c = eb_image_default_config(kind, 3, 8, 8, 10);
    c.bottleneck = bottleneck;
    eb_error err = {0};
    cr_assert_eq(eb_image_config_check(kind, &c, &err), EB_ERR_ARG, "%s, bottleneck %g accepted",
                 eb_model_kind_name(kind), (double)bottleneck);
    cr_assert_not_null(strstr(err.message, "bottleneck"), "message: %s", err.message);
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    static eb_model sentinel;
    eb_model *m = &sentinel; /* must be reset to NULL */
    eb_error err2 = {0};
    cr_assert_eq(eb_image_model_new(kind, &c, &rng, NULL, &m, &err2), EB_ERR_ARG);
    cr_assert_null(m);
    cr_assert_not_null(strstr(err2.message, "bottleneck"), "message: %s", err2.message);
}

Test(config, bad_bottleneck_is_refused) {
    assert_bottleneck_refused(EB_MODEL_WRN_EBM, 1.5f);
    assert_bottleneck_refused(EB_MODEL_WRN_EBM, -0.1f);
    assert_bottleneck_refused(EB_MODEL_WRN_EBM, NAN);
    assert_bottleneck_refused(EB_MODEL_WRN_EBM, INFINITY);
    assert_bottleneck_refused(EB_MODEL_WRN, 0.2f); /* only wrn_ebm has a bottleneck */
    assert_bottleneck_refused(EB_MODEL_RESNET, 0.1f);
    assert_bottleneck_refused(EB_MODEL_SMALL_CNN, 1.0f);

    /* the same configs inside the range are accepted: the refusals above are about the bottleneck */
    eb_error err = {0};
    eb_image_config c = eb_image_default_config(EB_MODEL_WRN_EBM, 3, 8, 8, 10);
    c.bottleneck = 1.0f;
    cr_assert_eq(eb_image_config_check(EB_MODEL_WRN_EBM, &c, &err), EB_OK, "%s", err.message);
    c.bottleneck = 0.05f;
    cr_assert_eq(eb_image_config_check(EB_MODEL_WRN_EBM, &c, &err), EB_OK, "%s", err.message);
    eb_image_config w = eb_image_default_config(EB_MODEL_WRN, 3, 8, 8, 10);
    cr_assert_eq(eb_image_config_check(EB_MODEL_WRN, &w, &err), EB_OK, "%s", err.message);
}
