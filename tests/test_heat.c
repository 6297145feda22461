/* HEAT (001_8dfeaa911d9afebd.txt; specs §5): the gmm detector against scikit-learn's tied
 * GaussianMixture (tests/fixtures/heat/gmm.json, made by scripts/make_heat_fixture.py), its ridge
 * fallback, the heat / heat_combined detectors on a small synthetic feature set (every prior, tied
 * and untied E_θ), save/load round trips, parameter handling and bad input. */
#include <criterion/criterion.h>

#include <ebood/ebm.h>
#include <ebood/eval.h>
#include <ebood/nn.h>
#include <ebood/ood.h>
#include <ebood/safetensors.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_json.h"
#include "ood/detectors/gaussian_impl.h"
#include "test_util.h"

/* ---- the gmm detector vs scikit-learn ---------------------------------------------------------------- */

/* (fixture_json.h helpers this program does not need) */
static void unused_helpers(void) {
    (void)flag;
    (void)read_shape;
}

Test(heat, gmm_log_density_matches_sklearn) {
    unused_helpers();
    cJSON *doc = load_fixture_json("heat/gmm.json");
    const cJSON *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        const char *name = cJSON_GetStringValue(item(c, "name"));
        const int64_t n = (int64_t)num(c, "n"), dim = (int64_t)num(c, "dim"),
                      nc = (int64_t)num(c, "n_classes");
        const int64_t nq = (int64_t)num(c, "n_query");
        float *x, *q, *ref, *lab;
        cr_assert_eq(read_floats(item(c, "features"), &x), n * dim);
        cr_assert_eq(read_floats(item(c, "queries"), &q), nq * dim);
        cr_assert_eq(read_floats(item(c, "log_density"), &ref), nq);
        cr_assert_eq(read_floats(item(c, "labels"), &lab), n);
        int32_t *y = malloc((size_t)n * sizeof *y);
        for (int64_t i = 0; i < n; i++) y[i] = (int32_t)lab[i];

        eb_detector_params p = eb_detector_default_params(EB_DETECTOR_GMM);
        p.heat.ridge = (float)num(c, "ridge");
        p.heat.normalize = cJSON_IsTrue(item(c, "normalize"));
        eb_detector *d = NULL;
        eb_error err = {0};
        cr_assert_eq(eb_detector_new(EB_DETECTOR_GMM, &p, &d, &err), EB_OK, "%s", err.message);
        eb_detector_data train = {.n = n, .features = x, .dim = dim, .labels = y, .n_classes = nc};
        cr_assert_eq(eb_detector_fit(d, &train, NULL, &err), EB_OK, "%s: %s", name, err.message);
        cr_assert_str_empty(eb_detector_note(d), "%s: unexpected note %s", name, eb_detector_note(d));
        float *s = malloc((size_t)nq * sizeof *s);
        eb_detector_data query = {.n = nq, .features = q, .dim = dim};
        cr_assert_eq(eb_detector_score(d, &query, s, &err), EB_OK, "%s", err.message);
        /* Σ and μ are kept (and saved) in float32, so the log-density carries their rounding:
         * relative ~1e-6 of the Mahalanobis term */
        double worst = 0.0;
        for (int64_t i = 0; i < nq; i++) {
            const double diff = fabs((double)s[i] - (double)ref[i]) / fmax(1.0, fabs((double)ref[i]));
            worst = fmax(worst, diff);
            cr_expect(diff < 1e-5, "%s: query %lld: %.9g vs sklearn %.9g", name, (long long)i, (double)s[i],
                      (double)ref[i]);
        }
        cr_log_info("gmm %-12s max rel diff vs sklearn %.3g", name, worst);
        /* higher = more ID: the in-class queries (first half) have a higher mean density */
        eb_detector_free(d);
        free(x);
        free(q);
        free(ref);
        free(lab);
        free(y);
        free(s);
        n_cases++;
    }
    cr_assert_eq(n_cases, 4);
    cJSON_Delete(doc);
}

/* The float tape energy E_G (used by SGLD) against the double log-density, and its gradient against
 * the analytic ∇E_G(z) = Σ_c r_c(z) Σ⁻¹(z − μ_c), r = the class posteriors, on the d16_c4 case. */
Test(heat, gmm_tape_energy_and_gradient) {
    cJSON *doc = load_fixture_json("heat/gmm.json");
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "cases"), 1);
    const int64_t n = (int64_t)num(c, "n"), dim = (int64_t)num(c, "dim"), nc = (int64_t)num(c, "n_classes");
    const int64_t nq = (int64_t)num(c, "n_query");
    float *x, *q, *lab;
    read_floats(item(c, "features"), &x);
    read_floats(item(c, "queries"), &q);
    read_floats(item(c, "labels"), &lab);
    int32_t *y = malloc((size_t)n * sizeof *y);
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)lab[i];
    float *z = malloc((size_t)(n * dim) * sizeof *z), *zq = malloc((size_t)(nq * dim) * sizeof *zq);
    eb__l2_normalize_rows(z, x, n, dim);
    eb__l2_normalize_rows(zq, q, nq, dim);
    eb__gmm g;
    eb_error err = {0};
    char note[256];
    cr_assert_eq(eb__gmm_fit(&g, z, y, n, dim, nc, 1e-12, "test", note, sizeof note, &err), EB_OK, "%s",
                 err.message);
    double *lq = malloc((size_t)nq * sizeof *lq);
    cr_assert_eq(eb__gmm_log_density(&g, zq, nq, lq), EB_OK);
    eb_graph *gr = eb_graph_new(0, NULL);
    eb_tensor *zt = eb_tensor_input(gr, zq, 2, EB_SHAPE(nq, dim), true);
    eb_tensor *e = eb__gmm_energy_tape(&g, gr, zt);
    cr_assert_eq(eb_graph_backward(gr, eb_sum_all(gr, e), NULL), EB_OK, "%s", eb_graph_error(gr));
    double worst_e = 0.0, worst_g = 0.0;
    double *u = malloc((size_t)dim * sizeof *u), *t = malloc((size_t)nc * sizeof *t);
    double *v = malloc((size_t)dim * sizeof *v);
    for (int64_t i = 0; i < nq; i++) {
        worst_e = fmax(worst_e, fabs((double)e->data[i] + lq[i]) / fmax(1.0, fabs(lq[i])));
        /* u = L⁻¹z (forward substitution), r_c, v = Σ_c r_c (u − ν_c), grad = L⁻ᵀ v (back substitution) */
        for (int64_t r = 0; r < dim; r++) {
            double acc = (double)zq[i * dim + r];
            for (int64_t k = 0; k < r; k++) acc -= g.chol[r * dim + k] * u[k];
            u[r] = acc / g.chol[r * dim + r];
        }
        double m = -INFINITY, sum = 0.0;
        for (int64_t cc = 0; cc < nc; cc++) {
            double sq = 0.0;
            for (int64_t j = 0; j < dim; j++)
                sq += (u[j] - g.wmeans[cc * dim + j]) * (u[j] - g.wmeans[cc * dim + j]);
            t[cc] = g.log_w[cc] - 0.5 * sq;
            m = fmax(m, t[cc]);
        }
        for (int64_t cc = 0; cc < nc; cc++) sum += exp(t[cc] - m);
        for (int64_t j = 0; j < dim; j++) {
            v[j] = 0.0;
            for (int64_t cc = 0; cc < nc; cc++)
                v[j] += exp(t[cc] - m) / sum * (u[j] - g.wmeans[cc * dim + j]);
        }
        double gnorm = 0.0;
        for (int64_t r = dim - 1; r >= 0; r--) {
            double acc = v[r];
            for (int64_t k = r + 1; k < dim; k++) acc -= g.chol[k * dim + r] * v[k];
            v[r] = acc / g.chol[r * dim + r];
            gnorm = fmax(gnorm, fabs(v[r]));
        }
        for (int64_t j = 0; j < dim; j++)
            worst_g = fmax(worst_g, fabs((double)zt->grad[i * dim + j] - v[j]) / fmax(1.0, gnorm));
    }
    cr_log_info("tape E_G: max rel diff %.3g; gradient max rel diff %.3g", worst_e, worst_g);
    cr_expect(worst_e < 1e-4, "tape energy: %g", worst_e);
    cr_expect(worst_g < 1e-3, "tape gradient: %g", worst_g);
    eb_graph_free(gr);
    eb__gmm_free(&g);
    free(x);
    free(q);
    free(lab);
    free(y);
    free(z);
    free(zq);
    free(lq);
    free(u);
    free(t);
    free(v);
    cJSON_Delete(doc);
}

/* ---- synthetic data ----------------------------------------------------------------------------- */

#define DIM 8
#define NC  3

/* n rows from NC well separated non-negative Gaussian classes (ID), labels round robin. */
static void make_id(eb_rng *rng, int64_t n, float *x, int32_t *y) {
    for (int64_t i = 0; i < n; i++) {
        const int c = (int)(i % NC);
        y[i] = c;
        for (int j = 0; j < DIM; j++) {
            const double centre = (j % NC == c) ? 3.0 : 0.5;
            x[i * DIM + j] = (float)fabs(centre + 0.3 * eb_rng_normal(rng));
        }
    }
}

/* Far-away OOD: mass on the coordinates no class uses much, in a different pattern. */
static void make_ood(eb_rng *rng, int64_t n, float *x) {
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < DIM; j++) {
            const double centre = (j == DIM - 1 || j == DIM - 2) ? 3.0 : 0.2;
            x[i * DIM + j] = (float)fabs(centre + 0.3 * eb_rng_normal(rng));
        }
}

/* A small classifier whose penultimate features are DIM-d and which has NC classes: only its last
 * layer is used (the el prior). */
static eb_model *make_model(void) {
    eb_mlp_config mc = eb_mlp_default_config(5, NC);
    mc.n_hidden = 1;
    mc.hidden[0] = DIM;
    eb_rng r;
    eb_rng_seed(&r, 7);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&mc, &r, NULL, &m, &err), EB_OK, "%s", err.message);
    /* make the logits informative about the classes: w_c = e_c-ish */
    const eb_params *p = &m->params;
    float *w = p->data + p->info[p->count - 2].offset, *b = p->data + p->info[p->count - 1].offset;
    for (int c = 0; c < NC; c++) {
        b[c] = 0.0f;
        for (int j = 0; j < DIM; j++) w[c * DIM + j] = (j % NC == c) ? 1.0f : -0.2f;
    }
    return m;
}

static eb_detector_params tiny_params(eb_detector_kind kind, eb_heat_prior prior) {
    eb_detector_params p = eb_detector_default_params(kind);
    p.heat.prior = prior;
    p.heat.width = 16;
    p.heat.depth = 1;
    p.heat.seed = 3;
    p.heat.std_block = false; /* the fixture's model is an MLP: no spatial map */
    eb_heat_ebm *blocks[4] = {&p.heat.gmm, &p.heat.el, &p.heat.none, &p.heat.gmm_std};
    for (int i = 0; i < 4; i++) {
        blocks[i]->epochs = 2;
        blocks[i]->batch_size = 64;
        blocks[i]->steps = 5;
        blocks[i]->lr = 1e-3f;
    }
    return p;
}

typedef struct fixture {
    float x[300 * DIM], xid[90 * DIM], xood[90 * DIM];
    int32_t y[300], yid[90];
    eb_model *model;
} fixture;

static void fixture_init(fixture *f) {
    eb_rng r;
    eb_rng_seed(&r, 11);
    make_id(&r, 300, f->x, f->y);
    make_id(&r, 90, f->xid, f->yid);
    make_ood(&r, 90, f->xood);
    f->model = make_model();
}

static eb_detector *fit_heat(fixture *f, eb_detector_kind kind, const eb_detector_params *p) {
    eb_detector *d = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_detector_new(kind, p, &d, &err), EB_OK, "%s", err.message);
    eb_detector_data train = {
        .n = 300, .features = f->x, .dim = DIM, .labels = f->y, .n_classes = NC, .model = f->model};
    /* the model's input dim matters only for odin-like methods; heat reads its last layer */
    train.input_dim = 5;
    cr_assert_eq(eb_detector_fit(d, &train, NULL, &err), EB_OK, "%s", err.message);
    return d;
}

static float *score(eb_detector *d, const float *x, int64_t n) {
    float *s = malloc((size_t)n * sizeof *s);
    eb_error err = {0};
    eb_detector_data data = {.n = n, .features = x, .dim = DIM};
    cr_assert_eq(eb_detector_score(d, &data, s, &err), EB_OK, "%s", err.message);
    for (int64_t i = 0; i < n; i++) cr_assert(isfinite(s[i]));
    return s;
}

static double auroc(eb_detector *d, fixture *f) {
    float *sid = score(d, f->xid, 90), *sood = score(d, f->xood, 90);
    double a = 0.0;
    eb_error err = {0};
    cr_assert_eq(eb_auroc(sid, 90, sood, 90, &a, &err), EB_OK, "%s", err.message);
    free(sid);
    free(sood);
    return a;
}

/* Field by field (the structs have padding). */
static bool same_ebm(const eb_heat_ebm *a, const eb_heat_ebm *b) {
    return a->temperature == b->temperature && a->prior_temperature == b->prior_temperature &&
           a->steps == b->steps && a->step_size == b->step_size && a->noise == b->noise &&
           a->decay_end == b->decay_end && a->decay == b->decay && a->l2 == b->l2 && a->lr == b->lr &&
           a->epochs == b->epochs && a->batch_size == b->batch_size && a->input_noise == b->input_noise;
}
static bool same_heat(const eb_heat_params *a, const eb_heat_params *b) {
    return a->prior == b->prior && a->width == b->width && a->depth == b->depth && a->tied == b->tied &&
           a->relu == b->relu && a->stats_batch == b->stats_batch && a->seed == b->seed &&
           a->ridge == b->ridge && a->normalize == b->normalize && a->std_block == b->std_block &&
           same_ebm(&a->gmm, &b->gmm) && same_ebm(&a->el, &b->el) && same_ebm(&a->none, &b->none) &&
           same_ebm(&a->gmm_std, &b->gmm_std);
}

/* save → load → bitwise the same scores, the same parameters */
static void check_round_trip(eb_detector *d, fixture *f, const char *tag) {
    char path[512];
    eb_test_path(path, sizeof path, tag);
    eb_error err = {0};
    cr_assert_eq(eb_detector_save(d, path, NULL, 0, &err), EB_OK, "%s", err.message);
    eb_detector *l = NULL;
    cr_assert_eq(eb_detector_load(path, &l, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_detector_kind_of(l), eb_detector_kind_of(d));
    cr_assert(same_heat(&eb_detector_get_params(l)->heat, &eb_detector_get_params(d)->heat),
              "%s: params differ after load", tag);
    float *a = score(d, f->xood, 90), *b = score(l, f->xood, 90);
    cr_assert_eq(memcmp(a, b, 90 * sizeof *a), 0, "%s: scores differ after load", tag);
    free(a);
    free(b);
    eb_detector_free(l);
    remove(path);
}

Test(heat, gmm_prior_fit_separates_far_ood_and_round_trips) {
    fixture *f = calloc(1, sizeof *f);
    fixture_init(f);
    eb_detector_params p = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_GMM);
    eb_detector *d = fit_heat(f, EB_DETECTOR_HEAT, &p);
    const double a = auroc(d, f);
    cr_log_info("heat gmm: AUROC %.3f", a);
    cr_expect(a >= 0.5, "heat gmm: AUROC %.3f below chance", a);

    /* the residual: score = −E_θ/T − E_G/T_prior, so E_θ = −score + log q/T_prior with log q the gmm
     * detector's score; it must vary across samples (not zero, not a constant) */
    eb_detector_params gp = eb_detector_default_params(EB_DETECTOR_GMM);
    eb_detector *g = fit_heat(f, EB_DETECTOR_GMM, &gp);
    float *s = score(d, f->xid, 90), *lq = score(g, f->xid, 90);
    double mean = 0.0, ss = 0.0;
    double e[90];
    for (int i = 0; i < 90; i++) {
        e[i] = -(double)s[i] + (double)lq[i] / (double)p.heat.gmm.prior_temperature;
        mean += e[i] / 90.0;
    }
    for (int i = 0; i < 90; i++) ss += (e[i] - mean) * (e[i] - mean);
    cr_log_info("heat gmm: E_theta mean %.4g std %.4g", mean, sqrt(ss / 89.0));
    cr_expect(sqrt(ss / 89.0) > 1e-5, "E_theta does not move the scores");
    check_round_trip(d, f, "heat_gmm.safetensors");
    free(s);
    free(lq);
    eb_detector_free(g);
    eb_detector_free(d);
    eb_model_free(f->model);
    free(f);
}

Test(heat, el_and_none_priors_and_tied_mlp) {
    fixture *f = calloc(1, sizeof *f);
    fixture_init(f);
    const eb_heat_prior priors[2] = {EB_HEAT_PRIOR_EL, EB_HEAT_PRIOR_NONE};
    for (int i = 0; i < 2; i++) {
        eb_detector_params p = tiny_params(EB_DETECTOR_HEAT, priors[i]);
        p.heat.depth = 3;
        p.heat.tied = i == 0;
        eb_detector *d = fit_heat(f, EB_DETECTOR_HEAT, &p);
        const unsigned needs = eb_detector_fit_needs(d);
        cr_expect_eq(needs, priors[i] == EB_HEAT_PRIOR_EL ? (unsigned)(EB_NEEDS_FEATURES | EB_NEEDS_MODEL)
                                                          : (unsigned)EB_NEEDS_FEATURES);
        cr_expect_eq(eb_detector_score_needs(d), (unsigned)EB_NEEDS_FEATURES);
        const double a = auroc(d, f);
        cr_log_info("heat %s (tied %d): AUROC %.3f", eb_heat_prior_name(priors[i]), (int)p.heat.tied, a);
        if (priors[i] == EB_HEAT_PRIOR_EL) cr_expect(a >= 0.5, "heat el: AUROC %.3f below chance", a);
        check_round_trip(d, f,
                         priors[i] == EB_HEAT_PRIOR_EL ? "heat_el.safetensors" : "heat_none.safetensors");
        eb_detector_free(d);
    }
    eb_model_free(f->model);
    free(f);
}

/* E_θ trains through the generic loop (eb_train_params_source) from one seed: two fits give the same
 * detector bit for bit, another ebm seed another one. */
Test(heat, training_is_reproducible_from_the_seed) {
    fixture *f = calloc(1, sizeof *f);
    fixture_init(f);
    float *s[3];
    for (int k = 0; k < 3; k++) {
        eb_detector_params p = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_NONE);
        p.heat.seed = k == 2 ? 4 : 3;
        eb_detector *d = fit_heat(f, EB_DETECTOR_HEAT, &p);
        s[k] = score(d, f->xood, 90);
        eb_detector_free(d);
    }
    cr_expect_eq(memcmp(s[0], s[1], 90 * sizeof *s[0]), 0, "same seed, different scores");
    cr_expect_neq(memcmp(s[0], s[2], 90 * sizeof *s[0]), 0, "another seed, the same scores");
    for (int k = 0; k < 3; k++) free(s[k]);
    eb_model_free(f->model);
    free(f);
}

Test(heat, tied_layers_share_parameters) {
    fixture *f = calloc(1, sizeof *f);
    fixture_init(f);
    int64_t sizes[2];
    for (int tied = 0; tied < 2; tied++) {
        eb_detector_params p = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_NONE);
        p.heat.depth = 4;
        p.heat.tied = tied;
        p.heat.none.epochs = 1;
        eb_detector *d = fit_heat(f, EB_DETECTOR_HEAT, &p);
        char path[512];
        eb_test_path(path, sizeof path, "heat_tied.safetensors");
        eb_error err = {0};
        cr_assert_eq(eb_detector_save(d, path, NULL, 0, &err), EB_OK, "%s", err.message);
        eb_safetensors *file = NULL;
        cr_assert_eq(eb_safetensors_read(path, &file, &err), EB_OK, "%s", err.message);
        const eb_st_tensor *t = NULL;
        for (int i = 0; i < eb_safetensors_count(file); i++)
            if (strcmp(eb_safetensors_at(file, i)->name, "ebm") == 0) t = eb_safetensors_at(file, i);
        cr_assert_not_null(t);
        sizes[tied] = t->shape[0];
        eb_safetensors_free(file);
        remove(path);
        eb_detector_free(d);
    }
    /* in→16, 4 × (16→16), 16→1; tied: one 16→16; every parameter padded to 16 floats (eb_params) */
    const int64_t w = 16, in = DIM;
    cr_expect_eq(sizes[0], in * w + w + 4 * (w * w + w) + w + 16);
    cr_expect_eq(sizes[1], in * w + w + (w * w + w) + w + 16);
    eb_model_free(f->model);
    free(f);
}

Test(heat, combined_standardises_and_round_trips) {
    fixture *f = calloc(1, sizeof *f);
    fixture_init(f);
    for (int batch = 0; batch < 2; batch++) {
        eb_detector_params p = tiny_params(EB_DETECTOR_HEAT_COMBINED, EB_HEAT_PRIOR_GMM);
        p.heat.stats_batch = batch;
        eb_detector *d = fit_heat(f, EB_DETECTOR_HEAT_COMBINED, &p);
        /* standardised energies: on the full training set the sum has mean 0 */
        float *s = score(d, f->x, 300);
        double mean = 0.0;
        for (int i = 0; i < 300; i++) mean += (double)s[i] / 300.0;
        cr_log_info("heat_combined (stats_batch %d): mean training score %.3g", batch, mean);
        if (!batch) cr_expect(fabs(mean) < 1e-3, "mean standardised training score %g", mean);
        const double a = auroc(d, f);
        cr_log_info("heat_combined: AUROC %.3f", a);
        cr_expect(a >= 0.5);
        check_round_trip(d, f, "heat_combined.safetensors");
        free(s);
        eb_detector_free(d);
    }
    eb_model_free(f->model);
    free(f);
}

/* heat_combined as released: three blocks, the third (gmm_std) on the spatial std of a small CNN's final
 * map, which the detector extracts from the model and the inputs. The energies are standardised (mean
 * training score 0), the file holds the std block's GMM and id_stats [3, 2], save → load scores the same,
 * scoring needs the inputs, and an MLP is refused with a message naming std_block. */
Test(heat, combined_three_blocks_with_the_std_block) {
    enum { N = 96, H = 8, W = 8, C = 3 };
    eb_image_config ic = eb_image_default_config(EB_MODEL_SMALL_CNN, 1, H, W, C);
    eb_rng r;
    eb_rng_seed(&r, 5);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_image_model_new(EB_MODEL_SMALL_CNN, &ic, &r, NULL, &m, &err), EB_OK, "%s", err.message);
    float *in = malloc(sizeof(float) * N * H * W), *feat = malloc(sizeof(float) * N * 512);
    float *logits = malloc(sizeof(float) * N * C);
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % C;
        for (int k = 0; k < H * W; k++) /* class c: a stripe pattern of period c + 2, plus noise */
            in[i * H * W + k] = (float)(((k % W) % (y[i] + 2)) == 0) + 0.3f * (float)eb_rng_normal(&r);
    }
    cr_assert_eq(eb_model_feature_dim(m), 512);
    cr_assert_eq(eb_model_predict(m, in, N, N, logits, feat, &err), EB_OK, "%s", err.message);
    eb_detector_params p = tiny_params(EB_DETECTOR_HEAT_COMBINED, EB_HEAT_PRIOR_GMM);
    p.heat.std_block = true;
    p.heat.relu = true;
    eb_detector *d = NULL;
    cr_assert_eq(eb_detector_new(EB_DETECTOR_HEAT_COMBINED, &p, &d, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_detector_score_needs(d), EB_NEEDS_FEATURES | EB_NEEDS_MODEL | EB_NEEDS_INPUTS);
    eb_detector_data train = {.n = N,
                              .features = feat,
                              .dim = 512,
                              .labels = y,
                              .n_classes = C,
                              .model = m,
                              .inputs = in,
                              .input_dim = H * W};
    cr_assert_eq(eb_detector_fit(d, &train, NULL, &err), EB_OK, "%s", err.message);
    float s[N];
    cr_assert_eq(eb_detector_score(d, &train, s, &err), EB_OK, "%s", err.message);
    double mean = 0.0;
    for (int i = 0; i < N; i++) mean += (double)s[i] / N;
    cr_expect(fabs(mean) < 1e-3, "mean standardised training score %g", mean);
    /* the model's feature pool is left as it was */
    cr_assert_eq(m->feature_pool, EB_FEATURE_POOL_MEAN);
    char path[512];
    eb_test_path(path, sizeof path, "heat_combined3.safetensors");
    cr_assert_eq(eb_detector_save(d, path, NULL, 0, &err), EB_OK, "%s", err.message);
    eb_safetensors *file = NULL;
    cr_assert_eq(eb_safetensors_read(path, &file, &err), EB_OK, "%s", err.message);
    const eb_st_tensor *st = eb_safetensors_find(file, "id_stats"),
                       *gm = eb_safetensors_find(file, "gmm_std.means");
    cr_assert(st && st->shape[0] == 3 && st->shape[1] == 2);
    cr_assert(gm && gm->shape[0] == C && gm->shape[1] == 128, "the std block works on the 128 channels");
    cr_assert_not_null(eb_safetensors_find(file, "gmm_std.ebm"));
    eb_safetensors_free(file);
    eb_detector *l = NULL;
    cr_assert_eq(eb_detector_load(path, &l, &err), EB_OK, "%s", err.message);
    cr_assert(eb_detector_get_params(l)->heat.std_block);
    float s2[N];
    cr_assert_eq(eb_detector_score(l, &train, s2, &err), EB_OK, "%s", err.message);
    cr_assert_eq(memcmp(s, s2, sizeof s), 0, "scores differ after load");
    eb_detector_data no_inputs = {.n = N, .features = feat, .dim = 512, .model = m};
    cr_assert_eq(eb_detector_score(l, &no_inputs, s2, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "input"), "%s", err.message);
    remove(path);
    eb_detector_free(l);
    eb_detector_free(d);
    /* an MLP has no spatial map: refused, naming the way out */
    fixture *f = calloc(1, sizeof *f);
    fixture_init(f);
    float mlp_in[300 * 5] = {0};
    eb_detector_data mtrain = {.n = 300,
                               .features = f->x,
                               .dim = DIM,
                               .labels = f->y,
                               .n_classes = NC,
                               .model = f->model,
                               .inputs = mlp_in,
                               .input_dim = 5};
    cr_assert_eq(eb_detector_new(EB_DETECTOR_HEAT_COMBINED, &p, &d, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_detector_fit(d, &mtrain, NULL, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "image model") && strstr(err.message, "std_block"), "%s", err.message);
    eb_detector_free(d);
    eb_model_free(f->model);
    free(f);
    eb_model_free(m);
    free(in);
    free(feat);
    free(logits);
}

/* ---- singular covariance
 * ----------------------------------------------------------------------------------- */

Test(heat, gmm_singular_covariance_gets_a_ridge) {
    /* the last feature repeats the first: Σ of the normalised features is singular */
    enum { N = 60, D = 5 };
    float x[N * D];
    int32_t y[N];
    eb_rng r;
    eb_rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        y[i] = i % 2;
        for (int j = 0; j < D - 1; j++)
            x[i * D + j] = (float)fabs(1.0 + (j == y[i]) + 0.3 * eb_rng_normal(&r));
        x[i * D + D - 1] = x[i * D];
    }
    eb_detector *d = NULL;
    eb_error err = {0};
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_GMM);
    p.heat.ridge = 0.0f; /* exactly singular (the default 1e-12 may sit at the condition threshold) */
    cr_assert_eq(eb_detector_new(EB_DETECTOR_GMM, &p, &d, &err), EB_OK);
    eb_detector_data train = {.n = N, .features = x, .dim = D, .labels = y, .n_classes = 2};
    cr_assert_eq(eb_detector_fit(d, &train, NULL, &err), EB_OK, "%s", err.message);
    cr_log_info("note: %s", eb_detector_note(d));
    cr_expect(strstr(eb_detector_note(d), "ridge") != NULL, "no ridge note: '%s'", eb_detector_note(d));
    float s[N];
    eb_detector_data q = {.n = N, .features = x, .dim = D};
    cr_assert_eq(eb_detector_score(d, &q, s, &err), EB_OK, "%s", err.message);
    for (int i = 0; i < N; i++) cr_expect(isfinite(s[i]));
    eb_detector_free(d);
}

/* ---- bad input --------------------------------------------------------------------------------------------
 */

Test(heat, bad_input) {
    fixture *f = calloc(1, sizeof *f);
    fixture_init(f);
    eb_detector_params p = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_GMM);
    p.heat.gmm.epochs = 1;
    eb_detector *d = fit_heat(f, EB_DETECTOR_HEAT, &p);
    eb_error err = {0};
    float s[4], bad[4 * 7] = {0};
    /* dimension mismatch */
    eb_detector_data q = {.n = 4, .features = bad, .dim = 7};
    cr_expect_eq(eb_detector_score(d, &q, s, &err), EB_ERR_SHAPE);
    cr_expect_str_eq(err.message, "features: dim 7, the heat detector was fitted on dim 8");
    /* NaN */
    float nanrows[2 * DIM] = {0};
    nanrows[DIM + 3] = NAN;
    eb_detector_data qn = {.n = 2, .features = nanrows, .dim = DIM};
    cr_expect_eq(eb_detector_score(d, &qn, s, &err), EB_ERR_NUMERIC);
    cr_log_info("%s", err.message);
    cr_expect(strstr(err.message, "NaN") != NULL);
    eb_detector_free(d);

    /* unknown prior name; bad parameters */
    eb_heat_prior pr = EB_HEAT_PRIOR_EL;
    cr_expect_eq(eb_heat_prior_parse("mog", &pr, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "mog") != NULL && strstr(err.message, "gmm") != NULL, "%s", err.message);
    cr_expect_eq(pr, EB_HEAT_PRIOR_EL);
    eb_detector_params bp = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_GMM);
    bp.heat.width = 0;
    cr_expect_eq(eb_detector_new(EB_DETECTOR_HEAT, &bp, &d, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "width") != NULL, "%s", err.message);
    bp = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_EL);
    bp.heat.el.lr = 0.0f;
    cr_expect_eq(eb_detector_new(EB_DETECTOR_HEAT, &bp, &d, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "heat.el.lr") != NULL, "%s", err.message);
    bp = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_EL);
    bp.heat.prior = (eb_heat_prior)7;
    cr_expect_eq(eb_detector_new(EB_DETECTOR_HEAT, &bp, &d, &err), EB_ERR_ARG);

    /* missing labels (gmm prior) / model (el prior) */
    cr_assert_eq(eb_detector_new(EB_DETECTOR_HEAT, &p, &d, &err), EB_OK);
    eb_detector_data nolabels = {.n = 300, .features = f->x, .dim = DIM, .n_classes = NC};
    cr_expect_eq(eb_detector_fit(d, &nolabels, NULL, &err), EB_ERR_ARG);
    cr_log_info("%s", err.message);
    eb_detector_free(d);
    bp = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_EL);
    cr_assert_eq(eb_detector_new(EB_DETECTOR_HEAT, &bp, &d, &err), EB_OK);
    cr_expect_eq(eb_detector_fit(d, &nolabels, NULL, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "model") != NULL, "%s", err.message);
    /* a model whose features do not match */
    eb_detector_data wrongdim = {.n = 300, .features = f->x, .dim = DIM, .model = f->model};
    float x6[300 * 6] = {0};
    for (int i = 0; i < 300 * 6; i++) x6[i] = 0.1f * (float)(i % 7);
    wrongdim.features = x6;
    wrongdim.dim = 6;
    cr_expect_eq(eb_detector_fit(d, &wrongdim, NULL, &err), EB_ERR_SHAPE);
    cr_log_info("%s", err.message);
    eb_detector_free(d);
    eb_model_free(f->model);
    free(f);
}

Test(heat, divergence_is_a_numeric_error_naming_the_epoch) {
    fixture *f = calloc(1, sizeof *f);
    fixture_init(f);
    eb_detector_params p = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_EL);
    p.heat.el.temperature = 1e-30f; /* ∇(E_θ/T) ~ 1e30: SGLD leaves the finite range */
    p.heat.el.step_size = 1e10f;
    eb_detector *d = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_detector_new(EB_DETECTOR_HEAT, &p, &d, &err), EB_OK);
    eb_detector_data train = {.n = 300, .features = f->x, .dim = DIM, .model = f->model};
    cr_expect_eq(eb_detector_fit(d, &train, NULL, &err), EB_ERR_NUMERIC);
    cr_log_info("%s", err.message);
    cr_expect(strstr(err.message, "epoch 1") != NULL, "%s", err.message);
    cr_expect(!eb_detector_is_fitted(d));
    eb_detector_free(d);
    /* a learning rate that blows E_θ up: the loss of the second step is not finite */
    p = tiny_params(EB_DETECTOR_HEAT, EB_HEAT_PRIOR_NONE);
    p.heat.none.steps = 0;
    p.heat.none.lr = 1e29f;
    cr_assert_eq(eb_detector_new(EB_DETECTOR_HEAT, &p, &d, &err), EB_OK);
    cr_expect_eq(eb_detector_fit(d, &train, NULL, &err), EB_ERR_NUMERIC);
    cr_log_info("%s", err.message);
    /* the generic loop's check (eb_train_params_source): steps count from 0, so step 1 is the second */
    cr_expect(strstr(err.message, "heat (none prior): train: diverged at step 1") != NULL &&
                  strstr(err.message, "last finite loss"),
              "%s", err.message);
    eb_detector_free(d);
    eb_model_free(f->model);
    free(f);
}

Test(heat, default_and_canonical_params) {
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_HEAT);
    /* defaults: the paper's App. A.5.1 for gmm, the released code's CIFAR-10 settings for el */
    cr_expect_eq(p.heat.prior, EB_HEAT_PRIOR_GMM);
    cr_expect_eq(p.heat.gmm.steps, 20);
    cr_expect_eq(p.heat.gmm.decay, (int)EB_DECAY_LINEAR);
    cr_expect_float_eq(p.heat.gmm.step_size, 1e-6f, 1e-12f);
    cr_expect_float_eq(p.heat.gmm.lr, 5e-6f, 1e-12f);
    const eb_heat_params code = eb_heat_code_params();
    cr_expect_eq(code.gmm.steps, 40);
    cr_expect_eq(code.gmm.decay, (int)EB_DECAY_QUADRATIC);
    cr_expect_float_eq(code.gmm.step_size, 1e-4f, 1e-12f);
    cr_expect_eq(p.heat.gmm.batch_size, 1024);
    cr_expect_eq(p.heat.el.steps, 50);
    cr_expect_eq(p.heat.el.batch_size, 256);
    cr_expect_eq(p.heat.width, 1024);
    cr_expect_eq(p.heat.depth, 4);
    cr_expect(!p.heat.tied);
    /* blocks the kind does not read are reset to their defaults (canonical params) */
    p.heat.el.steps = 3;
    p.heat.gmm.steps = 7;
    eb_detector *d = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_detector_new(EB_DETECTOR_HEAT, &p, &d, &err), EB_OK, "%s", err.message);
    cr_expect_eq(eb_detector_get_params(d)->heat.gmm.steps, 7);
    cr_expect_eq(eb_detector_get_params(d)->heat.el.steps, 50);
    eb_detector_free(d);
}
