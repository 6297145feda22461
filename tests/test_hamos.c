/* HamOS / CIDER: projection head, augmentation, samplers on the sphere, class buffers, synthesis, the CIDER
 * losses and the vMF KDE against a PyTorch fixture (scripts/make_hamos_fixture.py), gradients by central
 * differences, the objectives end to end on a toy problem, and Eq. (14)'s metrics. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function" /* flag() and read_shape() are not needed here */
#include "fixture_json.h"
#pragma GCC diagnostic pop
#include "ood/objectives/cider_impl.h"
#include "test_util.h"

static void unit_rows(float *x, int64_t n, int64_t d, eb_rng *rng) {
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) {
            x[i * d + j] = (float)eb_rng_normal(rng);
            s += (double)x[i * d + j] * (double)x[i * d + j];
        }
        for (int64_t j = 0; j < d; j++) x[i * d + j] = (float)((double)x[i * d + j] / sqrt(s));
    }
}

static double row_norm(const float *x, int64_t d) {
    double s = 0.0;
    for (int64_t j = 0; j < d; j++) s += (double)x[j] * (double)x[j];
    return sqrt(s);
}

/* ---- projection head ------------------------------------------------------------------------------ */
Test(hamos, projection_head_unit_and_checkpoint_roundtrip) {
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_mlp_config c = eb_mlp_default_config(6, 3);
    c.n_hidden = 1;
    c.hidden[0] = 8;
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK);
    cr_assert_eq(eb_model_predict_embeddings(m, NULL, 0, 4, NULL, &err), EB_ERR_STATE);
    int64_t before = m->params.size;
    float first = m->params.data[0];
    cr_assert_eq(eb_model_add_projection_head(m, 8, 4, &rng, &err), EB_OK, "%s", err.message);
    cr_assert_gt(m->params.size, before);
    cr_assert_eq(m->params.data[0], first, "the model's own parameters are kept");
    cr_assert_eq(eb_model_add_projection_head(m, 8, 4, &rng, &err), EB_ERR_STATE);
    float x[5 * 6], z[5 * 4], z2[5 * 4];
    eb_rng_fill_normal(&rng, x, 30, 0.0f, 1.0f);
    cr_assert_eq(eb_model_predict_embeddings(m, x, 5, 2, z, &err), EB_OK, "%s", err.message);
    for (int i = 0; i < 5; i++) cr_assert_float_eq(row_norm(z + i * 4, 4), 1.0, 1e-5);
    char path[512];
    eb_test_path(path, sizeof path, "head.safetensors");
    cr_assert_eq(eb_model_save(m, path, NULL, 0, &err), EB_OK, "%s", err.message);
    eb_model *back = NULL;
    cr_assert_eq(eb_model_load(path, NULL, &back, &err), EB_OK, "%s", err.message);
    cr_assert_eq(back->head_dim, 4);
    cr_assert_eq(eb_model_predict_embeddings(back, x, 5, 5, z2, &err), EB_OK);
    for (int i = 0; i < 20; i++) cr_assert_float_eq(z[i], z2[i], 1e-6);
    eb_model_free(back);
    eb_model_free(m);
    remove(path);
}

Test(hamos, projection_head_bad_widths) {
    eb_rng rng;
    eb_rng_seed(&rng, 2);
    eb_mlp_config c = eb_mlp_default_config(3, 2);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK);
    cr_assert_eq(eb_model_add_projection_head(m, 0, 4, &rng, &err), EB_ERR_ARG);
    cr_assert_eq(eb_model_add_projection_head(m, 4, 1 << 20, &rng, &err), EB_ERR_ARG);
    cr_assert_eq(m->head_dim, 0);
    eb_model_free(m);
}

/* ---- augmentation ----------------------------------------------------------------------------------- */
Test(hamos, augment_is_seeded_and_keeps_pixel_range) {
    eb_image_augment a = eb_image_augment_simclr();
    float x[4 * 28 * 28], y[4 * 28 * 28];
    eb_rng rng;
    eb_rng_seed(&rng, 3);
    eb_rng_fill_uniform(&rng, x, 4 * 784, 0.0f, 1.0f);
    memcpy(y, x, sizeof x);
    eb_rng r1, r2;
    eb_rng_seed(&r1, 9);
    eb_rng_seed(&r2, 9);
    cr_assert_eq(eb_image_augment_apply(&a, x, 4, 1, 28, 28, NULL, NULL, &r1, NULL), EB_OK);
    cr_assert_eq(eb_image_augment_apply(&a, y, 4, 1, 28, 28, NULL, NULL, &r2, NULL), EB_OK);
    cr_assert_eq(memcmp(x, y, sizeof x), 0, "same seed, same views");
    for (int i = 0; i < 4 * 784; i++) cr_assert(x[i] >= 0.0f && x[i] <= 1.0f);
    /* a constant image stays constant through crop, flip and contrast; brightness scales it */
    float mean = 0.5f, std = 0.25f, c[784];
    for (int i = 0; i < 784; i++) c[i] = (0.4f - mean) / std;
    eb_rng_seed(&r1, 10);
    a.jitter_prob = 1.0f;
    cr_assert_eq(eb_image_augment_apply(&a, c, 1, 1, 28, 28, &mean, &std, &r1, NULL), EB_OK);
    float pix = c[0] * std + mean;
    cr_assert(pix >= 0.4f * 0.6f - 1e-5f && pix <= 0.4f * 1.4f + 1e-5f, "pixel %g", (double)pix);
    for (int i = 1; i < 784; i++) cr_assert_float_eq(c[i], c[0], 1e-5);
}

/* ---- samplers ---------------------------------------------------------------------------------------- */
/* U(z) = aᵀz + ½ zᵀAz with a symmetric A: smooth, with a known gradient a + Az. */
typedef struct quad_pot {
    int64_t d;
    double a[8], A[64];
} quad_pot;

static eb_status quad_eval(void *ctx, const float *z, int64_t n, int64_t d, double *u, float *grad,
                           eb_error *err) {
    (void)err;
    const quad_pot *q = ctx;
    for (int64_t i = 0; i < n; i++) {
        const float *zi = z + i * d;
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) {
            double az = 0.0;
            for (int64_t k = 0; k < d; k++) az += q->A[j * d + k] * (double)zi[k];
            s += q->a[j] * (double)zi[j] + 0.5 * (double)zi[j] * az;
            if (grad) grad[i * d + j] = (float)(q->a[j] + az);
        }
        u[i] = s;
    }
    return EB_OK;
}

static quad_pot make_quad(int64_t d, eb_rng *rng) {
    quad_pot q = {.d = d};
    for (int64_t j = 0; j < d; j++) q.a[j] = 2.0 * eb_rng_normal(rng);
    for (int64_t j = 0; j < d; j++)
        for (int64_t k = 0; k <= j; k++) q.A[j * d + k] = q.A[k * d + j] = eb_rng_normal(rng);
    return q;
}

Test(hamos, samplers_stay_on_the_sphere) {
    eb_rng rng;
    eb_rng_seed(&rng, 4);
    enum { N = 16, D = 6 };
    quad_pot q = make_quad(D, &rng);
    eb_sphere_potential pot = {quad_eval, &q};
    for (int kind = 0; kind < EB_SPHERE_KIND_COUNT; kind++) {
        float z[N * D], z2[N * D];
        double la[N];
        unit_rows(z, N, D, &rng);
        eb_sphere_sampler_params p = {(eb_sphere_sampler_kind)kind, 5, 0.3f};
        for (int step = 0; step < 50; step++) {
            cr_assert_eq(eb_sphere_propose(&p, &pot, z, N, D, z2, la, &rng, NULL), EB_OK);
            for (int i = 0; i < N; i++) {
                cr_assert_float_eq(row_norm(z2 + i * D, D), 1.0, 1e-6, "%s", eb_sphere_sampler_name(p.kind));
                cr_assert(isfinite(la[i]));
            }
            memcpy(z, z2, sizeof z);
        }
    }
}

/* |ΔH| over a fixed time T = Lε is O(ε²): halving ε (doubling L) divides it by ≈ 4 (same momenta). */
Test(hamos, leapfrog_energy_error_is_second_order) {
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    enum { N = 64, D = 5 };
    quad_pot q = make_quad(D, &rng);
    eb_sphere_potential pot = {quad_eval, &q};
    float z[N * D], z2[N * D];
    unit_rows(z, N, D, &rng);
    double err_at[3];
    for (int level = 0; level < 3; level++) {
        double la[N], s = 0.0;
        eb_sphere_sampler_params p = {EB_SPHERE_HMC, 4 << level, 0.1f / (float)(1 << level)};
        eb_rng mom;
        eb_rng_seed(&mom, 77); /* the same momenta at every level */
        cr_assert_eq(eb_sphere_propose(&p, &pot, z, N, D, z2, la, &mom, NULL), EB_OK);
        for (int i = 0; i < N; i++) s += fabs(la[i]);
        err_at[level] = s / N;
    }
    for (int level = 0; level < 2; level++) {
        double ratio = err_at[level] / err_at[level + 1];
        cr_log_info("mean |dH|: %g -> %g, ratio %.2f", err_at[level], err_at[level + 1], ratio);
        cr_assert(ratio > 3.5 && ratio < 4.5, "ratio %g (expected ~4)", ratio);
    }
}

Test(hamos, mh_acceptance_matches_exp_minus_dh) {
    eb_rng rng;
    eb_rng_seed(&rng, 6);
    const double dh[3] = {0.1, 0.7, 2.0};
    for (int t = 0; t < 3; t++) {
        int64_t acc = 0, trials = 200000;
        for (int64_t i = 0; i < trials; i++) acc += eb_mh_accept(-dh[t], &rng);
        double rate = (double)acc / (double)trials, want = exp(-dh[t]);
        cr_assert(fabs(rate - want) < 4.0 * sqrt(want * (1 - want) / (double)trials) + 1e-4,
                  "ΔH %g: %g vs %g", dh[t], rate, want);
    }
    for (int i = 0; i < 100; i++) cr_assert(eb_mh_accept(0.5, &rng));
    cr_assert_not(eb_mh_accept(NAN, &rng));
}

/* The HMC proposal's own acceptance on a fixed proposal equals exp(−ΔH) with ΔH recomputed here from U. */
Test(hamos, hmc_log_alpha_is_minus_delta_h) {
    eb_rng rng;
    eb_rng_seed(&rng, 7);
    enum { D = 4 };
    quad_pot q = make_quad(D, &rng);
    eb_sphere_potential pot = {quad_eval, &q};
    float z[D], z2[D];
    unit_rows(z, 1, D, &rng);
    double la, u0, u1;
    eb_sphere_sampler_params p = {EB_SPHERE_RANDOM_WALK, 1, 0.5f};
    cr_assert_eq(eb_sphere_propose(&p, &pot, z, 1, D, z2, &la, &rng, NULL), EB_OK);
    quad_eval(&q, z, 1, D, &u0, NULL, NULL);
    quad_eval(&q, z2, 1, D, &u1, NULL, NULL);
    cr_assert_float_eq(la, u0 - u1, 1e-5, "random walk: log α = U(z) − U(z')");
}

Test(hamos, sampler_bad_parameters) {
    quad_pot q = {.d = 3};
    eb_sphere_potential pot = {quad_eval, &q};
    float z[3] = {1, 0, 0}, z2[3];
    double la;
    eb_rng rng;
    eb_rng_seed(&rng, 8);
    eb_error err = {0};
    eb_sphere_sampler_params p = {EB_SPHERE_HMC, 0, 0.1f};
    cr_assert_eq(eb_sphere_propose(&p, &pot, z, 1, 3, z2, &la, &rng, &err), EB_ERR_ARG);
    p = (eb_sphere_sampler_params){EB_SPHERE_HMC, 3, NAN};
    cr_assert_eq(eb_sphere_propose(&p, &pot, z, 1, 3, z2, &la, &rng, &err), EB_ERR_ARG);
    cr_assert_eq(eb_sphere_propose(&p, &pot, z, 1, 1, z2, &la, &rng, &err), EB_ERR_ARG);
    eb_sphere_sampler_kind k;
    cr_assert_eq(eb_sphere_sampler_parse("nuts", &k, &err), EB_ERR_ARG);
    cr_assert_eq(eb_sphere_sampler_parse("mala", &k, &err), EB_OK);
    cr_assert_eq(k, EB_SPHERE_MALA);
}

/* A potential that breaks (NaN U, or an Inf gradient) for chain `bad` once z₀ of that chain leaves its start.
 */
typedef struct broken_pot {
    quad_pot q;
    int64_t bad;
    float start0;
    bool inf_grad;
} broken_pot;

static eb_status broken_eval(void *ctx, const float *z, int64_t n, int64_t d, double *u, float *grad,
                             eb_error *err) {
    broken_pot *b = ctx;
    eb_status st = quad_eval(&b->q, z, n, d, u, grad, err);
    if (b->bad < n && z[b->bad * d] != b->start0) {
        if (b->inf_grad && grad) grad[b->bad * d + 1] = INFINITY;
        if (!b->inf_grad) u[b->bad] = NAN;
    }
    return st;
}

/* Item 5 of issue 17: a chain whose potential or gradient turns NaN/Inf stops every sampler with a named
 * EB_ERR_NUMERIC (sampler, chain, step) instead of silently proposing garbage. */
Test(hamos, diverging_chain_is_a_numeric_error) {
    eb_rng rng;
    eb_rng_seed(&rng, 11);
    enum { N = 4, D = 5 };
    float z[N * D], z2[N * D];
    double la[N];
    unit_rows(z, N, D, &rng);
    for (int kind = 0; kind < EB_SPHERE_KIND_COUNT; kind++)
        for (int inf_grad = 0; inf_grad < 2; inf_grad++) {
            if (inf_grad && kind == EB_SPHERE_RANDOM_WALK) continue; /* no gradient */
            broken_pot b = {make_quad(D, &rng), 2, z[2 * D], inf_grad};
            eb_sphere_potential pot = {broken_eval, &b};
            eb_sphere_sampler_params p = {(eb_sphere_sampler_kind)kind, 3, 0.2f};
            eb_error err = {0};
            cr_assert_eq(eb_sphere_propose(&p, &pot, z, N, D, z2, la, &rng, &err), EB_ERR_NUMERIC, "%s",
                         eb_sphere_sampler_name(p.kind));
            cr_assert(strstr(err.message, "chain 2 diverged at step 1 of"), "%s", err.message);
            cr_assert(strstr(err.message, inf_grad ? "non-finite gradient" : "non-finite potential"), "%s",
                      err.message);
            /* the same potential at its start point is fine: the check is not a false alarm */
            b.bad = N;
            cr_assert_eq(eb_sphere_propose(&p, &pot, z, N, D, z2, la, &rng, &err), EB_OK, "%s", err.message);
        }
}

/* ---- buffers and synthesis ------------------------------------------------------------------------- */
/* C clusters of unit rows around random centres, every buffer full. */
static void fill_buffer(eb_class_buffer *b, int64_t C, int64_t cap, int64_t d, uint64_t seed) {
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    cr_assert_eq(eb_class_buffer_init(b, C, cap, d, NULL), EB_OK);
    float *centre = malloc((size_t)(C * d) * sizeof *centre), *row = malloc((size_t)d * sizeof *row);
    unit_rows(centre, C, d, &rng);
    for (int64_t c = 0; c < C; c++)
        for (int64_t r = 0; r < cap; r++) {
            for (int64_t j = 0; j < d; j++) row[j] = centre[c * d + j] + 0.3f * (float)eb_rng_normal(&rng);
            double nrm = row_norm(row, d);
            for (int64_t j = 0; j < d; j++) row[j] = (float)((double)row[j] / nrm);
            int32_t y = (int32_t)c;
            cr_assert_eq(eb_class_buffer_push(b, row, &y, 1, NULL), EB_OK);
        }
    free(centre);
    free(row);
}

Test(hamos, class_buffer_is_fifo) {
    eb_class_buffer b;
    eb_error err = {0};
    cr_assert_eq(eb_class_buffer_init(&b, 2, 3, 1, &err), EB_OK);
    float v[5] = {1, 2, 3, 4, 5};
    int32_t y[5] = {0, 0, 0, 0, 1};
    cr_assert_eq(eb_class_buffer_push(&b, v, y, 5, &err), EB_OK);
    cr_assert_not(eb_class_buffer_full(&b));
    cr_assert_eq(b.data[0], 4.0f, "the oldest row of class 0 was replaced");
    cr_assert_eq(b.data[1], 2.0f);
    cr_assert_eq(b.data[3], 5.0f);
    int32_t bad = 2;
    cr_assert_eq(eb_class_buffer_push(&b, v, &bad, 1, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "label 2"));
    eb_class_buffer_free(&b);
    cr_assert_eq(eb_class_buffer_init(&b, 0, 3, 1, &err), EB_ERR_ARG);
}

static void synthesize_with_threads(int threads, const eb_class_buffer *b, eb_hamos_synthesis_params *p,
                                    float *out, eb_hamos_synthesis_stats *s) {
    eb_threads_set(threads);
    eb_rng rng;
    eb_rng_seed(&rng, 1234);
    eb_error err = {0};
    cr_assert_eq(eb_hamos_synthesize(p, b, out, s, &rng, &err), EB_OK, "%s", err.message);
}

Test(hamos, synthesis_is_reproducible_and_thread_independent) {
    eb_class_buffer b;
    enum { C = 4, CAP = 300, D = 16 };
    fill_buffer(&b, C, CAP, D, 11);
    for (int kind = 0; kind < EB_SPHERE_KIND_COUNT; kind++) {
        eb_hamos_synthesis_params p = eb_hamos_synthesis_default_params();
        p.sampler.kind = (eb_sphere_sampler_kind)kind;
        p.k = 50;
        int64_t n = eb_hamos_synthesis_count(&p, C);
        cr_assert_eq(n, C * 3 * 5);
        float *a = malloc((size_t)(n * D) * sizeof *a), *bb = malloc((size_t)(n * D) * sizeof *bb);
        eb_hamos_synthesis_stats s1, s2;
        synthesize_with_threads(1, &b, &p, a, &s1);
        synthesize_with_threads(2, &b, &p, bb, &s2);
        cr_assert_eq(memcmp(a, bb, (size_t)(n * D) * sizeof *a), 0, "%s: 1 vs 2 threads",
                     eb_sphere_sampler_name(p.sampler.kind));
        cr_assert_eq(s1.acceptance, s2.acceptance);
        cr_assert(s1.acceptance >= 0.0 && s1.acceptance <= 1.0);
        cr_log_info("%s: acceptance %.3f diversity %.3f", eb_sphere_sampler_name(p.sampler.kind),
                    s1.acceptance, s1.diversity);
        if (kind == EB_SPHERE_HMC)
            cr_assert_gt(s1.acceptance, 0.5, "HMC on a smooth potential accepts most moves");
        for (int64_t i = 0; i < n; i++) cr_assert_float_eq(row_norm(a + i * D, D), 1.0, 1e-5);
        free(a);
        free(bb);
    }
    eb_threads_set(0);
    eb_class_buffer_free(&b);
}

/* The hard margin holds for every emitted point: −log max P(z) > −log max P(start) − δ. With δ = 0 and the
 * code's keep_start, the start points come first. */
Test(hamos, synthesis_respects_the_hard_margin) {
    eb_class_buffer b;
    enum { C = 3, CAP = 200, D = 8 };
    fill_buffer(&b, C, CAP, D, 12);
    eb_hamos_synthesis_params p = eb_hamos_synthesis_default_params();
    p.k = 20;
    p.margin = 0.0f;
    p.keep_start = true;
    p.sampler.step_size = 0.5f;
    int64_t n = eb_hamos_synthesis_count(&p, C), chains = C * 2;
    float *out = malloc((size_t)(n * D) * sizeof *out);
    double *nl = malloc((size_t)n * sizeof *nl);
    eb_hamos_synthesis_stats s;
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    cr_assert_eq(eb_hamos_synthesize(&p, &b, out, &s, &rng, NULL), EB_OK);
    cr_assert_eq(eb_vmf_kde_neg_log_max_prob(&b, p.kde, p.kappa, p.k, out, n, nl, NULL), EB_OK);
    for (int64_t i = chains; i < n; i++) {
        int64_t start = i % chains;
        bool moved = memcmp(out + i * D, out + (i - chains) * D, D * sizeof(float)) != 0;
        if (moved) cr_assert_gt(nl[i], nl[start] - 1e-9, "point %lld entered an ID cluster", (long long)i);
    }
    free(out);
    free(nl);
    eb_class_buffer_free(&b);
}

Test(hamos, synthesis_bad_input) {
    eb_class_buffer b;
    eb_error err = {0};
    cr_assert_eq(eb_class_buffer_init(&b, 3, 10, 4, &err), EB_OK);
    eb_hamos_synthesis_params p = eb_hamos_synthesis_default_params();
    p.k = 5;
    float out[4 * 100];
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    cr_assert_eq(eb_hamos_synthesize(&p, &b, out, NULL, &rng, &err), EB_ERR_STATE, "empty buffer");
    cr_assert(strstr(err.message, "class 0"), "%s", err.message);
    p.rounds = 0;
    cr_assert_eq(eb_hamos_synthesize(&p, &b, out, NULL, &rng, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "rounds"));
    p = eb_hamos_synthesis_default_params();
    p.kappa = INFINITY;
    cr_assert_eq(eb_hamos_synthesis_params_check(&p, &err), EB_ERR_ARG);
    eb_class_buffer_free(&b);
}

/* ---- PyTorch fixture ------------------------------------------------------------------------------- */
static float *fx(const cJSON *c, const char *key, int64_t want) {
    float *v = NULL;
    int64_t n = read_floats(item(c, key), &v);
    cr_assert_eq(n, want, "%s: %lld values, expected %lld", key, (long long)n, (long long)want);
    return v;
}

static int32_t *ints(const cJSON *c, const char *key, int64_t want) {
    float *v = fx(c, key, want);
    int32_t *out = malloc((size_t)want * sizeof *out);
    for (int64_t i = 0; i < want; i++) out[i] = (int32_t)v[i];
    free(v);
    return out;
}

static const cJSON *fixture_case(const cJSON *doc, const char *name) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name")), name) == 0) return c;
    }
    cr_assert_fail("fixture case %s missing", name);
    return NULL;
}

static void buffer_from_fixture(const cJSON *c, eb_class_buffer *b) {
    int64_t C = (int64_t)num(c, "C"), cap = (int64_t)num(c, "cap"), d = (int64_t)num(c, "d");
    cr_assert_eq(eb_class_buffer_init(b, C, cap, d, NULL), EB_OK);
    float *y = fx(c, "buffer", C * cap * d);
    for (int64_t r = 0; r < C * cap; r++) {
        int32_t label = (int32_t)(r / cap);
        cr_assert_eq(eb_class_buffer_push(b, y + r * d, &label, 1, NULL), EB_OK);
    }
    free(y);
}

Test(hamos, cider_losses_match_pytorch) {
    cJSON *doc = load_fixture_json("hamos/hamos.json");
    const cJSON *c = fixture_case(doc, "cider");
    int64_t n = (int64_t)num(c, "n"), d = (int64_t)num(c, "d"), C = (int64_t)num(c, "C");
    float tau = (float)num(c, "tau"), tau_b = (float)num(c, "tau_b");
    float *z = fx(c, "z", n * d), *p0 = fx(c, "proto0", C * d), *o = fx(c, "outliers", 4 * d);
    float *want_p = fx(c, "proto", C * d), *want_grad = fx(c, "grad", n * d);
    int32_t *y = ints(c, "labels", n);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *zt = eb_tensor_input(g, z, 2, EB_SHAPE(n, d), true);
    eb_tensor *P = eb__cider_prototypes(g, zt, y, p0, C, (float)num(c, "momentum"));
    eb_tensor *P_det = eb_tensor_copy(g, P->data, 2, P->shape);
    eb_tensor *comp = eb__cider_compactness(g, zt, y, P_det, tau, tau_b);
    eb_tensor *dis = eb__cider_dispersion(g, P, tau);
    eb_tensor *ood_id = eb__ood_discernment(g, zt, P_det, tau, tau_b);
    eb_tensor *ot = eb_tensor_copy(g, o, 2, EB_SHAPE(4, d));
    eb_tensor *ood_out = eb__ood_discernment(g, ot, P, tau, tau_b);
    eb_tensor *total =
        eb_add(g, eb_add(g, comp, eb_mul_scalar(g, dis, 0.5f)), eb_mul_scalar(g, ood_out, 0.1f));
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    double worst = 0.0;
    for (int64_t i = 0; i < C * d; i++) worst = fmax(worst, fabs((double)P->data[i] - (double)want_p[i]));
    cr_assert_lt(worst, 1e-5, "prototypes max diff %g", worst);
    cr_assert_float_eq(comp->data[0], num(c, "comp"), 1e-4);
    cr_assert_float_eq(dis->data[0], num(c, "dis"), 1e-4);
    cr_assert_float_eq(ood_id->data[0], num(c, "ood_id"), 1e-4);
    cr_assert_float_eq(ood_out->data[0], num(c, "ood_out"), 1e-4);
    cr_assert_eq(eb_graph_backward(g, total, NULL), EB_OK);
    worst = 0.0;
    for (int64_t i = 0; i < n * d; i++) worst = fmax(worst, fabs((double)zt->grad[i] - (double)want_grad[i]));
    cr_log_info("cider: |P − torch| ok, max |∂L/∂z − torch| = %g", worst);
    cr_assert_lt(worst, 1e-4, "gradient max diff %g", worst);
    eb_graph_free(g);
    free(z);
    free(p0);
    free(o);
    free(want_p);
    free(want_grad);
    free(y);
    cJSON_Delete(doc);
}

Test(hamos, vmf_kde_matches_pytorch) {
    cJSON *doc = load_fixture_json("hamos/hamos.json");
    const cJSON *c = fixture_case(doc, "kde");
    eb_class_buffer b;
    buffer_from_fixture(c, &b);
    float *q = fx(c, "q", 6 * b.dim), *paper = fx(c, "paper", 6), *code = fx(c, "code", 6);
    const struct {
        eb_vmf_kde_kind kind;
        const float *want;
    } forms[2] = {{EB_VMF_KDE_PAPER, paper}, {EB_VMF_KDE_CODE, code}};
    for (int f = 0; f < 2; f++) {
        double out[6];
        cr_assert_eq(eb_vmf_kde_neg_log_max_prob(&b, forms[f].kind, (float)num(c, "kappa"),
                                                 (int64_t)num(c, "k"), q, 6, out, NULL),
                     EB_OK);
        for (int i = 0; i < 6; i++)
            cr_assert_float_eq(out[i], forms[f].want[i], 1e-5, "form %d row %d", f, i);
    }
    free(q);
    free(paper);
    free(code);
    eb_class_buffer_free(&b);
    cJSON_Delete(doc);
}

Test(hamos, potential_matches_pytorch_and_finite_differences) {
    cJSON *doc = load_fixture_json("hamos/hamos.json");
    const cJSON *c = fixture_case(doc, "potential");
    eb_class_buffer b;
    buffer_from_fixture(c, &b);
    int64_t d = b.dim, k = (int64_t)num(c, "k");
    float *q = fx(c, "q", 4 * d), *pot = fx(c, "pot", 4), *grad = fx(c, "grad", 4 * d);
    int32_t *u = ints(c, "u", 4), *v = ints(c, "v", 4);
    double U[4];
    float G[4 * 8];
    cr_assert_eq(eb_hamos_potential(&b, k, u, v, q, 4, U, G, NULL), EB_OK);
    for (int i = 0; i < 4; i++) cr_assert_float_eq(U[i], pot[i], 1e-5, "U row %d", i);
    for (int i = 0; i < 4 * d; i++) cr_assert_float_eq(G[i], grad[i], 1e-4, "∇U element %d", i);
    /* central differences of U along each coordinate agree with ∇U (the k-th neighbour does not change) */
    for (int i = 0; i < 4; i++)
        for (int64_t j = 0; j < d; j++) {
            float zp[8], zm[8];
            memcpy(zp, q + i * d, (size_t)d * sizeof(float));
            memcpy(zm, q + i * d, (size_t)d * sizeof(float));
            zp[j] += 1e-3f;
            zm[j] -= 1e-3f;
            double up, um;
            cr_assert_eq(eb_hamos_potential(&b, k, u + i, v + i, zp, 1, &up, NULL, NULL), EB_OK);
            cr_assert_eq(eb_hamos_potential(&b, k, u + i, v + i, zm, 1, &um, NULL, NULL), EB_OK);
            cr_assert_float_eq((up - um) / 2e-3, G[i * d + j], 2e-3, "chain %d dim %lld", i, (long long)j);
        }
    free(q);
    free(pot);
    free(grad);
    free(u);
    free(v);
    eb_class_buffer_free(&b);
    cJSON_Delete(doc);
}

/* Central differences of the composed cider + OOD loss w.r.t. raw rows x (z = normalise(x)), through the
 * prototypes' EMA chain on the tape. The compactness term's detached prototypes are a stop-gradient, which
 * finite differences cannot see: they are held at the unperturbed point's value (pd). */
enum { GC_N = 9, GC_D = 4, GC_C = 3 };
static const int32_t gc_y[GC_N] = {0, 1, 2, 2, 1, 0, 0, 2, 1};

static double cider_loss_at(eb_graph *g, float *x, const float *p0, const float *o, float *pd, float *grad) {
    eb_graph_reset(g);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(GC_N, GC_D), grad != NULL);
    eb_tensor *zt = eb_l2_normalize(g, xt, 1e-12f);
    eb_tensor *P = eb__cider_prototypes(g, zt, gc_y, p0, GC_C, 0.8f);
    if (grad) memcpy(pd, P->data, GC_C * GC_D * sizeof(float));
    eb_tensor *Pd = eb_tensor_copy(g, pd, 2, P->shape);
    eb_tensor *ot = eb_tensor_copy(g, o, 2, EB_SHAPE(5, GC_D));
    eb_tensor *L = eb_add(
        g, eb_add(g, eb__cider_compactness(g, zt, gc_y, Pd, 0.5f, 0.35f), eb__cider_dispersion(g, P, 0.5f)),
        eb__ood_discernment(g, ot, P, 0.5f, 0.35f));
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    if (grad) {
        cr_assert_eq(eb_graph_backward(g, L, NULL), EB_OK);
        memcpy(grad, xt->grad, GC_N * GC_D * sizeof(float));
    }
    return L->data[0];
}

Test(hamos, cider_loss_gradient_check) {
    eb_rng rng;
    eb_rng_seed(&rng, 21);
    float x[GC_N * GC_D], p0[GC_C * GC_D], o[5 * GC_D], grad[GC_N * GC_D], pd[GC_C * GC_D];
    eb_rng_fill_normal(&rng, x, GC_N * GC_D, 0.0f, 1.0f);
    unit_rows(p0, GC_C, GC_D, &rng);
    unit_rows(o, 5, GC_D, &rng);
    eb_graph *g = eb_graph_new(0, NULL);
    cider_loss_at(g, x, p0, o, pd, grad);
    double worst = 0.0;
    for (int i = 0; i < GC_N * GC_D; i++) {
        float keep = x[i];
        x[i] = keep + 1e-2f;
        double lp = cider_loss_at(g, x, p0, o, pd, NULL);
        x[i] = keep - 1e-2f;
        double lm = cider_loss_at(g, x, p0, o, pd, NULL);
        x[i] = keep;
        double num_grad = (lp - lm) / 2e-2;
        worst = fmax(worst, fabs(num_grad - (double)grad[i]) / (1.0 + fabs(num_grad)));
    }
    cr_log_info("cider gradient check: worst relative error %g", worst);
    cr_assert_lt(worst, 5e-3);
    eb_graph_free(g);
}

/* ---- the objectives end to end --------------------------------------------------------------------- */
static void toy_data(float *x, int32_t *y, int64_t n, int64_t dim, int C, eb_rng *rng) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % C);
        for (int64_t j = 0; j < dim; j++)
            x[i * dim + j] = (float)eb_rng_normal(rng) * 0.5f + (j == y[i] ? 3.0f : 0.0f);
    }
}

static void run_objective(bool synthesis, eb_sphere_sampler_kind kind, eb_hamos_objective_stats *out,
                          double *acc) {
    enum { N = 240, DIM = 6, C = 3 };
    eb_rng rng;
    eb_rng_seed(&rng, 31);
    float *x = malloc(N * DIM * sizeof *x);
    int32_t y[N];
    toy_data(x, y, N, DIM, C, &rng);
    eb_mlp_config mc = eb_mlp_default_config(DIM, C);
    mc.n_hidden = 1;
    mc.hidden[0] = 16;
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&mc, &rng, NULL, &m, &err), EB_OK);
    eb_hamos_params p = eb_hamos_default_params(synthesis);
    p.head_dim = 8;
    p.buffer_size = 40;
    p.synth.k = 10;
    p.synth.sampler.kind = kind;
    eb_hamos_objective *o = NULL;
    cr_assert_eq(eb_hamos_objective_new(&p, m, 5, &rng, &o, &err), EB_OK, "%s", err.message);
    cr_assert_eq(m->head_dim, 8);
    cr_assert_eq(eb_hamos_objective_init_prototypes(o, m, x, y, N, &err), EB_OK, "%s", err.message);
    for (int c = 0; c < C; c++)
        cr_assert_float_eq(row_norm(eb_hamos_objective_prototypes(o) + c * 8, 8), 1.0, 1e-5);
    eb_train_params tp = eb_train_default_params();
    tp.epochs = 4;
    tp.batch_size = 32;
    tp.optimizer.kind = EB_OPTIM_SGD;
    tp.optimizer.lr = 0.05f;
    tp.schedule.base_lr = 0.05f;
    tp.seed = 3;
    eb_train_result r;
    cr_assert_eq(eb_train(m, x, y, N, DIM, eb_hamos_objective_loss, o, &tp, &r, &err), EB_OK, "%s",
                 err.message);
    *out = eb_hamos_objective_get_stats(o);
    *acc = r.final_accuracy;
    eb_hamos_objective_free(o);
    eb_model_free(m);
    free(x);
}

Test(hamos, cider_and_hamos_objectives_train) {
    eb_hamos_objective_stats s;
    double acc;
    run_objective(false, EB_SPHERE_HMC, &s, &acc);
    cr_assert_gt(acc, 0.9, "cider keeps the classifier: training accuracy %g", acc);
    cr_assert_eq(s.synthesis_steps, 0);
    cr_assert(isnan(s.last_ood));
    for (int kind = 0; kind < EB_SPHERE_KIND_COUNT; kind++) {
        run_objective(true, (eb_sphere_sampler_kind)kind, &s, &acc);
        cr_log_info("hamos %s: acc %.3f acceptance %.3f diversity %.3f ood %.4f",
                    eb_sphere_sampler_name(kind), acc, s.mean_acceptance, s.mean_diversity, s.last_ood);
        cr_assert_gt(acc, 0.9);
        cr_assert_gt(s.synthesis_steps, 0, "synthesis starts once the buffers are full");
        cr_assert(s.mean_acceptance > 0.0 && s.mean_acceptance <= 1.0);
        cr_assert(isfinite(s.last_ood));
    }
}

Test(hamos, objective_rejects_bad_setup) {
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_mlp_config mc = eb_mlp_default_config(4, 3);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&mc, &rng, NULL, &m, &err), EB_OK);
    eb_hamos_params p = eb_hamos_default_params(true);
    eb_hamos_objective *o = NULL;
    p.temperature = 0.0f;
    cr_assert_eq(eb_hamos_objective_new(&p, m, 1, &rng, &o, &err), EB_ERR_ARG);
    p = eb_hamos_default_params(true);
    p.buffer_size = 100; /* < k = 200 */
    cr_assert_eq(eb_hamos_objective_new(&p, m, 1, &rng, &o, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "buffer"), "%s", err.message);
    cr_assert_eq(m->head_dim, 0, "no head added on error");
    eb_model_free(m);
}

/* ---- Eq. (14) --------------------------------------------------------------------------------------- */
Test(hamos, sphere_metrics_by_hand) {
    /* two classes on the axes, OOD on the diagonal */
    float id[4 * 2] = {1, 0, 1, 0, 0, 1, 0, 1};
    int32_t y[4] = {0, 0, 1, 1};
    float ood[2 * 2] = {0.6f, 0.8f, -1, 0};
    eb_sphere_metrics m;
    eb_error err = {0};
    cr_assert_eq(eb_sphere_metrics_compute(id, y, 4, ood, 2, 2, 2, &m, &err), EB_OK);
    cr_assert_float_eq(m.cos_separation, (0.8 + 0.0) / 2, 1e-6);
    cr_assert_float_eq(m.cos_dispersion, 0.0, 1e-6);
    cr_assert_float_eq(m.cos_compactness, 1.0, 1e-6);
    y[3] = 0;
    y[2] = 0;
    cr_assert_eq(eb_sphere_metrics_compute(id, y, 4, ood, 2, 2, 2, &m, &err), EB_ERR_ARG, "class 1 empty");
    cr_assert(strstr(err.message, "class 1"));
}

/* ---- the picture (item 8) ------------------------------------------------------------------------- */
Test(hamos, picture_png_svg_and_bad_input) {
    eb_hamos_picture_params p = eb_hamos_picture_default_params();
    p.n_per_class = 60;
    p.synth.k = 10;
    p.synth.rounds = 4;
    p.size = 160;
    char png[512], svg[512], bad[512];
    eb_test_path(png, sizeof png, "hamos_picture"); /* "<name>.<pid>": the extension goes last */
    strcpy(svg, png);
    strcpy(bad, png);
    strcat(png, ".png");
    strcat(svg, ".svg");
    strcat(bad, ".jpg");
    eb_error err = {0};
    eb_hamos_synthesis_stats s1, s2;
    cr_assert_eq(eb_hamos_picture_write(&p, png, &s1, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_hamos_picture_write(&p, svg, &s2, &err), EB_OK, "%s", err.message);
    cr_assert(s1.acceptance >= 0.0 && s1.acceptance <= 1.0);
    cr_assert_eq(s1.acceptance, s2.acceptance, "same seed, same chains");
    FILE *f = fopen(png, "rb");
    cr_assert(f);
    unsigned char sig[8] = {0};
    cr_assert_eq(fread(sig, 1, 8, f), 8u);
    fclose(f);
    cr_assert(memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0);
    f = fopen(svg, "rb");
    cr_assert(f);
    char head[4096] = {0};
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    cr_assert(n > 0 && strstr(head, "<svg"), "an SVG");
    cr_assert_eq(eb_hamos_picture_write(&p, bad, NULL, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "unknown extension"), "%s", err.message);
    cr_assert(!eb_test_file_exists(bad));
    p.synth.k = 100; /* > 60 rows per class */
    cr_assert_eq(eb_hamos_picture_write(&p, png, NULL, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "k 100"), "%s", err.message);
    remove(png);
    remove(svg);
}

/* ---- the VOS baseline (item 5) ---------------------------------------------------------------------- */
Test(hamos, vos_keeps_the_lowest_likelihood_draws_on_the_sphere) {
    eb_class_buffer b;
    fill_buffer(&b, 3, 50, 8, 11);
    eb_rng r1, r2;
    eb_rng_seed(&r1, 5);
    eb_rng_seed(&r2, 5);
    float out1[3 * 4 * 8], out2[3 * 4 * 8];
    eb_error err = {0};
    cr_assert_eq(eb_vos_synthesize(&b, 200, 4, out1, &r1, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_vos_synthesize(&b, 200, 4, out2, &r2, &err), EB_OK);
    cr_assert(memcmp(out1, out2, sizeof out1) == 0, "reproducible from the seed");
    for (int i = 0; i < 12; i++) cr_assert_float_eq(row_norm(out1 + i * 8, 8), 1.0, 1e-5);
    /* the kept draws lie further out than the ID rows and than unselected draws: mean cosine to the class's
     * normalised mean, ID rows > 4 plain draws of N(μ_c, Σ) (keep 4 of 4) > the 4 least likely of 200 */
    float plain[3 * 4 * 8];
    eb_rng_seed(&r1, 6);
    cr_assert_eq(eb_vos_synthesize(&b, 4, 4, plain, &r1, &err), EB_OK);
    double cos_id = 0.0, cos_plain = 0.0, cos_kept = 0.0;
    for (int c = 0; c < 3; c++) {
        double mu[8] = {0}, nm = 0.0;
        for (int r = 0; r < 50; r++)
            for (int j = 0; j < 8; j++) mu[j] += (double)b.data[(c * 50 + r) * 8 + j];
        for (int j = 0; j < 8; j++) nm += mu[j] * mu[j];
        for (int r = 0; r < 50; r++)
            for (int j = 0; j < 8; j++)
                cos_id += (double)b.data[(c * 50 + r) * 8 + j] * mu[j] / sqrt(nm) / 150.0;
        for (int s = 0; s < 4; s++)
            for (int j = 0; j < 8; j++) {
                cos_plain += (double)plain[(c * 4 + s) * 8 + j] * mu[j] / sqrt(nm) / 12.0;
                cos_kept += (double)out1[(c * 4 + s) * 8 + j] * mu[j] / sqrt(nm) / 12.0;
            }
    }
    cr_assert_gt(cos_id, cos_plain - 0.1, "ID %g, plain draws %g", cos_id, cos_plain);
    cr_assert_lt(cos_kept, cos_plain, "kept %g, plain draws %g", cos_kept, cos_plain);
    cr_assert_eq(eb_vos_synthesize(&b, 3, 4, out1, &r1, &err), EB_ERR_ARG, "keep > draws");
    eb_class_buffer_free(&b);
}

/* ---- the NPOS baseline (item 5) --------------------------------------------------------------------- */
Test(hamos, npos_perturbs_the_boundary_outward) {
    eb_class_buffer b;
    fill_buffer(&b, 3, 60, 8, 12);
    eb_rng r1, r2;
    eb_rng_seed(&r1, 9);
    eb_rng_seed(&r2, 9);
    float out1[3 * 5 * 8], out2[3 * 5 * 8];
    eb_error err = {0};
    cr_assert_eq(eb_npos_synthesize(&b, 5, 50, 0.1f, 5, out1, &r1, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_npos_synthesize(&b, 5, 50, 0.1f, 5, out2, &r2, &err), EB_OK);
    cr_assert(memcmp(out1, out2, sizeof out1) == 0, "reproducible from the seed");
    for (int i = 0; i < 15; i++) cr_assert_float_eq(row_norm(out1 + i * 8, 8), 1.0, 1e-5);
    /* every outlier lies further from its class (k-th neighbour distance) than the class's median row */
    for (int c = 0; c < 3; c++) {
        const float *zc = b.data + c * 60 * 8;
        float dk_id[60], dk_out[5];
        cr_assert_eq(eb_knn_kth_distance(zc, 60, zc, 60, 8, 6, dk_id, &err), EB_OK);
        cr_assert_eq(eb_knn_kth_distance(out1 + c * 5 * 8, 5, zc, 60, 8, 5, dk_out, &err), EB_OK);
        int below = 0;
        for (int s = 0; s < 5; s++) {
            below = 0;
            for (int i = 0; i < 60; i++) below += dk_id[i] < dk_out[s];
            cr_assert_gt(below, 30, "class %d outlier %d beats only %d of 60 rows", c, s, below);
        }
    }
    cr_assert_eq(eb_npos_synthesize(&b, 60, 50, 0.1f, 5, out1, &r1, &err), EB_ERR_STATE, "k + 1 > rows");
    cr_assert_eq(eb_npos_synthesize(&b, 5, 50, 0.0f, 5, out1, &r1, &err), EB_ERR_ARG, "sigma 0");
    eb_class_buffer_free(&b);
}
