/* Training with auxiliary outliers (include/ebood/outliers.h, data.h's eb_aux_sampler, nn.h's aux batches):
 * the OE / energy-FT / Hopfield Boosting losses and gradients against PyTorch
 * (scripts/make_outlier_fixture.py), central-difference gradient checks, the streaming border energy and
 * boosting weights, the weighted sampler (χ² tests), the offset order, the concatenated ID+AUX training loop
 * and its exact resume, bad input; POEM's posterior, Thompson draws and selection against PyTorch
 * (scripts/make_poem_fixture.py), its loss through the registry, the selected-rows order. */
#include <criterion/criterion.h>

#include <ebood/ebood.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wunused-function" /* flag() and read_shape() are not needed here */
#include "fixture_json.h"

/* ---- the fixture's network: MLP 5 → 8 → 3, tanh ------------------------------------------------- */

static eb_model *fixture_mlp(const float *params, int64_t n_params) {
    eb_mlp_config c = eb_mlp_default_config(5, 3);
    c.n_hidden = 1;
    c.hidden[0] = 8;
    c.activation = EB_ACT_TANH;
    eb_rng r;
    eb_rng_seed(&r, 1);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &r, NULL, &m, &err), EB_OK, "%s", err.message);
    int64_t used = 0;
    for (int i = 0; i < m->params.count; i++) { /* tensors may be padded apart in the flat buffer */
        const eb_param_info *p = &m->params.info[i];
        cr_assert_leq(used + p->size, n_params);
        memcpy(m->params.data + p->offset, params + used, (size_t)p->size * sizeof(float));
        used += p->size;
    }
    cr_assert_eq(used, n_params, "fixture has %lld params, the MLP %lld", (long long)n_params,
                 (long long)used);
    return m;
}

/* The parameter gradient in the fixture's packed order. */
static float *packed_grad(const eb_model *m) {
    float *out = malloc((size_t)m->params.size * sizeof *out);
    int64_t used = 0;
    for (int i = 0; i < m->params.count; i++) {
        const eb_param_info *p = &m->params.info[i];
        memcpy(out + used, m->params.grad + p->offset, (size_t)p->size * sizeof(float));
        used += p->size;
    }
    return out;
}

/* Loss and parameter gradient of objective fn on [x_id; x_aux] (4 ID rows with labels, n_aux rows). */
static double run_objective(eb_objective_fn fn, void *ctx, eb_model *m, float *x, int64_t n_id, int64_t n_aux,
                            const int32_t *labels, bool backward, int64_t *correct) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_batch b = {eb_tensor_input(g, x, 2, EB_SHAPE(n_id + n_aux, eb_model_in_dim(m)), false), labels, n_id,
                  n_aux};
    eb_rng r;
    eb_rng_seed(&r, 3);
    int64_t c = -1;
    eb_tensor *loss = fn(ctx, m, g, &b, &r, &c);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    double v = loss->data[0];
    if (backward) {
        eb_params_zero_grad(&m->params);
        cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK);
    }
    if (correct) *correct = c;
    eb_graph_free(g);
    return v;
}

static void expect_close(const char *what, const float *got, const float *want, int64_t n, double rtol,
                         double atol) {
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]), tol = atol + rtol * fabs((double)want[i]);
        if (d / tol > worst) worst = d / tol;
        cr_expect(d <= tol, "%s[%lld]: %.7g vs PyTorch %.7g", what, (long long)i, (double)got[i],
                  (double)want[i]);
    }
    cr_log_info("%s: worst |diff| = %.3f x tolerance", what, worst);
}

typedef struct loaded {
    cJSON *doc;
    const cJSON *c;
    float *params, *x, *grad;
    int64_t n_params;
    int32_t labels[4];
} loaded;

static loaded load_case(const char *name) {
    loaded l = {0};
    l.doc = load_fixture_json("outliers/outliers.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(l.doc, "cases")) {
        if (strcmp(cJSON_GetStringValue(item(c, "name")), name) == 0) l.c = c;
    }
    cr_assert_not_null(l.c, "no fixture case %s", name);
    if (num(l.c, "kind") < 3) {
        l.n_params = read_floats(item(l.c, "params"), &l.params);
        cr_assert_eq(read_floats(item(l.c, "x"), &l.x), 50);
        read_floats(item(l.c, "grad"), &l.grad);
        float *y = NULL;
        cr_assert_eq(read_floats(item(l.c, "labels"), &y), 4);
        for (int i = 0; i < 4; i++) l.labels[i] = (int32_t)y[i];
        free(y);
    }
    return l;
}

static void free_case(loaded *l) {
    free(l->params);
    free(l->x);
    free(l->grad);
    cJSON_Delete(l->doc);
}

/* Loss and gradient vs PyTorch, then central differences on every parameter (double-checked in float32:
 * h = 1e-2 on a smooth loss of size ~1; tolerances as GC_TOL_COMPOSED in test_gradcheck.c). */
static void check_against_fixture(loaded *l, eb_objective_fn fn, void *ctx) {
    eb_model *m = fixture_mlp(l->params, l->n_params);
    int64_t correct = -1;
    double loss = run_objective(fn, ctx, m, l->x, 4, 6, l->labels, true, &correct);
    cr_expect(fabs(loss - num(l->c, "loss")) <= 1e-5 + 1e-5 * fabs(num(l->c, "loss")),
              "loss %.8g vs PyTorch %.8g", loss, num(l->c, "loss"));
    cr_expect(correct >= 0 && correct <= 4, "ID rows classified correctly: %lld", (long long)correct);
    float *analytic = packed_grad(m);
    expect_close("grad", analytic, l->grad, l->n_params, 1e-4, 1e-5);
    const float h = 5e-3f;
    int64_t k = 0; /* index in the packed order */
    for (int t = 0; t < m->params.count; t++)
        for (int64_t e = 0; e < m->params.info[t].size; e++, k++) {
            float *v = m->params.data + m->params.info[t].offset + e;
            const float keep = *v;
            *v = keep + h;
            const float up = *v;
            const double lp = run_objective(fn, ctx, m, l->x, 4, 6, l->labels, false, NULL);
            *v = keep - h;
            const float down = *v;
            const double lm = run_objective(fn, ctx, m, l->x, 4, 6, l->labels, false, NULL);
            *v = keep;
            const double numeric = (lp - lm) / ((double)up - (double)down);
            cr_expect(fabs(numeric - (double)analytic[k]) <= 5e-4 + 3e-3 * fabs(numeric),
                      "%s[%lld]: analytic %g, numeric %g", m->params.info[t].name, (long long)e,
                      (double)analytic[k], numeric);
        }
    free(analytic);
    eb_model_free(m);
}

Test(outliers, oe_matches_pytorch) {
    loaded l = load_case("oe");
    eb_oe_config c = eb_oe_default_config();
    cr_assert_float_eq(c.lambda, (float)num(l.c, "lam"), 0);
    check_against_fixture(&l, eb_objective_oe, &c);
    free_case(&l);
}

Test(outliers, energy_ft_matches_pytorch) {
    loaded l = load_case("energy_ft");
    eb_energy_ft_config c = eb_energy_ft_default_config();
    cr_assert_float_eq(c.lambda, (float)num(l.c, "lam"), 0);
    c.m_in = (float)num(l.c, "m_in");
    c.m_out = (float)num(l.c, "m_out");
    check_against_fixture(&l, eb_objective_energy_ft, &c);
    free_case(&l);
}

static void check_hb(const char *name, eb_hb_head head) {
    loaded l = load_case(name);
    eb_model *m = fixture_mlp(l.params, l.n_params);
    eb_hopfield_boost_config c = eb_hopfield_boost_default_config();
    c.lambda = (float)num(l.c, "lam");
    c.beta = (float)num(l.c, "beta");
    c.head = head;
    c.proj_hidden = 6;
    c.proj_dim = 4;
    eb_hopfield_boost *hb = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_hopfield_boost_new(&c, m, &hb, &err), EB_OK, "%s", err.message);
    int64_t size = 0;
    float *head_w = eb_hopfield_boost_head(hb, &size);
    if (head == EB_HB_HEAD_FROZEN) {
        float *want = NULL;
        cr_assert_eq(read_floats(item(l.c, "head"), &want), size);
        memcpy(head_w, want, (size_t)size * sizeof *want);
        free(want);
    } else {
        cr_assert_null(head_w);
        cr_assert_eq(eb_hopfield_boost_dim(hb), 8);
    }
    eb_model_free(m);
    check_against_fixture(&l, eb_objective_hopfield_boost, hb);
    eb_hopfield_boost_free(hb);
    free_case(&l);
}

Test(outliers, hopfield_boost_frozen_head_matches_pytorch) {
    check_hb("hopfield_boost_frozen", EB_HB_HEAD_FROZEN);
}
Test(outliers, hopfield_boost_no_head_matches_pytorch) { check_hb("hopfield_boost_none", EB_HB_HEAD_NONE); }

Test(outliers, border_energy_and_boosting_weights_match_pytorch) {
    loaded l = load_case("border");
    float *q, *mi, *mo, *want, *want_w;
    int64_t nq = read_floats(item(l.c, "q"), &q) / 4, ni = read_floats(item(l.c, "mem_id"), &mi) / 4,
            no = read_floats(item(l.c, "mem_aux"), &mo) / 4;
    read_floats(item(l.c, "l_ood"), &want);
    read_floats(item(l.c, "weights"), &want_w);
    const float beta = (float)num(l.c, "beta");
    float got[7];
    eb_error err = {0};
    cr_assert_eq(eb_hopfield_border_energy(q, nq, mi, ni, mo, no, 4, beta, got, &err), EB_OK, "%s",
                 err.message);
    expect_close("l_ood", got, want, nq, 1e-5, 1e-6);
    for (int64_t i = 0; i < nq; i++)
        cr_expect(got[i] <= -2.0f * logf(2.0f) / beta + 1e-6f, "L_OOD <= -2 log 2/beta");
    double mx = -INFINITY, s = 0.0;
    for (int64_t i = 0; i < nq; i++) mx = fmax(mx, (double)beta * (double)got[i]);
    for (int64_t i = 0; i < nq; i++) s += exp((double)beta * (double)got[i] - mx);
    float w[7];
    for (int64_t i = 0; i < nq; i++) w[i] = (float)(exp((double)beta * (double)got[i] - mx) / s);
    expect_close("weights", w, want_w, nq, 1e-4, 1e-7);
    /* bad input: NaN query, β ≤ 0 */
    q[3] = NAN;
    cr_expect_eq(eb_hopfield_border_energy(q, nq, mi, ni, mo, no, 4, beta, got, &err), EB_ERR_NUMERIC);
    cr_expect_eq(eb_hopfield_border_energy(mi, ni, mi, ni, mo, no, 4, 0.0f, got, &err), EB_ERR_ARG);
    free(q);
    free(mi);
    free(mo);
    free(want);
    free(want_w);
    free_case(&l);
}

/* ---- the weighted sampler and the aux orders ----------------------------------------------------- */

/* χ² statistic of counts against probabilities w/Σw over n cells with draws draws. */
static double chi_square(const int64_t *counts, const double *w, int64_t n, int64_t draws) {
    double total = 0.0, chi = 0.0;
    for (int64_t i = 0; i < n; i++) total += w[i];
    for (int64_t i = 0; i < n; i++) {
        if (w[i] == 0.0) {
            cr_expect_eq(counts[i], 0, "cell %lld of weight 0 drawn %lld times", (long long)i,
                         (long long)counts[i]);
            continue;
        }
        const double e = (double)draws * w[i] / total;
        chi += ((double)counts[i] - e) * ((double)counts[i] - e) / e;
    }
    return chi;
}

Test(outliers, weighted_sampling_chi_square) {
    /* 10 cells, one of weight 0: 8 degrees of freedom; P(χ²₈ > 26.12) = 0.001 */
    const double w[10] = {0.5, 3.0, 1.0, 0.0, 2.0, 0.25, 1.5, 4.0, 0.75, 1.0};
    enum { DRAWS = 200000 };
    int64_t *out = malloc(DRAWS * sizeof *out), counts[10] = {0};
    eb_rng r;
    eb_rng_seed(&r, 99);
    eb_error err = {0};
    cr_assert_eq(eb_sample_weighted(w, 10, DRAWS, &r, out, &err), EB_OK);
    for (int i = 0; i < DRAWS; i++) counts[out[i]]++;
    double chi = chi_square(counts, w, 10, DRAWS);
    cr_log_info("chi2 = %.2f (8 dof)", chi);
    cr_expect(chi < 26.12, "chi2 = %.2f over the 0.001 critical value 26.12", chi);
    /* a wrong sampler fails: uniform draws against these weights */
    int64_t uniform[10] = {0};
    for (int i = 0; i < DRAWS; i++) uniform[i % 10]++;
    double w_pos[10];
    for (int i = 0; i < 10; i++) w_pos[i] = w[i] > 0 ? w[i] : 1.0;
    cr_expect(chi_square(uniform, w_pos, 10, DRAWS) > 1000.0);
    double bad[3] = {1.0, -1.0, 2.0}, zero[3] = {0, 0, 0}, nan_w[2] = {1.0, NAN};
    cr_expect_eq(eb_sample_weighted(bad, 3, 5, &r, out, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "weight 1") != NULL, "%s", err.message);
    cr_expect_eq(eb_sample_weighted(zero, 3, 5, &r, out, &err), EB_ERR_ARG);
    cr_expect_eq(eb_sample_weighted(nan_w, 2, 5, &r, out, &err), EB_ERR_ARG);
    free(out);
}

/* A tabular pool: an f32 set of n rows of dim values, row i filled with i. */
static eb_image_set row_pool(int64_t n, int dim) {
    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_image_set_alloc(n, 1, 1, dim, EB_DTYPE_F32, 0, &s, &err), EB_OK);
    for (int64_t i = 0; i < n; i++)
        for (int d = 0; d < dim; d++) s.f32[i * dim + d] = (float)i;
    return s;
}

static eb_status fixed_weights(void *ctx, int64_t epoch, double *w, eb_error *err) {
    (void)epoch;
    (void)err;
    memcpy(w, ctx, 6 * sizeof *w);
    return EB_OK;
}

/* A sampler of `order` over pool with the weights w[6] (fixed_weights). */
static eb_aux_sampler *fixed_sampler(const eb_image_set *pool, eb_aux_order order, int64_t batch,
                                     int64_t draws, double *w) {
    eb_aux_params p = eb_aux_default_params();
    p.order = order;
    p.batch_size = batch;
    p.draws = draws;
    p.weights = fixed_weights;
    p.weights_ctx = w;
    eb_aux_sampler *s = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_aux_sampler_new(pool, &p, &s, &err), EB_OK, "%s", err.message);
    return s;
}

Test(outliers, aux_sampler_weighted_draws_follow_the_weights) {
    double w[6] = {1.0, 0.0, 2.0, 3.0, 0.5, 0.5};
    eb_image_set pool = row_pool(6, 2);
    eb_aux_sampler *s = fixed_sampler(&pool, EB_AUX_WEIGHTED, 100, 60000, w);
    eb_error err = {0};
    eb_batch_source src = eb_aux_sampler_as_source(s);
    cr_assert_eq(src.seek_epoch(src.ctx, 4, &err), EB_OK);
    int64_t n = 0, counts[6] = {0};
    const int64_t *rows = eb_aux_sampler_rows(s, &n);
    cr_assert_eq(n, 60000);
    for (int64_t i = 0; i < n; i++) counts[rows[i]]++;
    double chi = chi_square(counts, w, 6, n); /* 4 dof: P(χ²₄ > 18.47) = 0.001 */
    cr_expect(chi < 18.47, "chi2 = %.2f", chi);
    /* batches are the draws in order, through the (identity) transform */
    eb_batch_data bd;
    cr_assert_eq(src.next(src.ctx, &bd, &err), EB_OK);
    cr_assert_eq(bd.size, 100);
    for (int i = 0; i < 100; i++) cr_expect_eq(bd.x[2 * i + 1], (float)rows[i]);
    eb_aux_sampler_free(s);
    eb_image_set_free(&pool);
}

Test(outliers, aux_sampler_offset_order_wraps_and_is_reproducible) {
    eb_image_set pool = row_pool(10, 3);
    eb_aux_params p = eb_aux_default_params();
    p.batch_size = 4;
    p.seed = 7;
    eb_aux_sampler *s = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_aux_sampler_new(&pool, &p, &s, &err), EB_OK);
    eb_batch_source src = eb_aux_sampler_as_source(s);
    float first[3][12];
    int offsets_seen = 0;
    for (int64_t e = 0; e < 3; e++) {
        cr_assert_eq(src.seek_epoch(src.ctx, e, &err), EB_OK);
        eb_batch_data bd;
        float start = -1.0f;
        for (int b = 0; b < 3; b++) { /* 12 rows: wraps around the 10 */
            cr_assert_eq(src.next(src.ctx, &bd, &err), EB_OK);
            if (b == 0) {
                start = bd.x[0];
                memcpy(first[e], bd.x, sizeof first[e]);
            }
            for (int i = 0; i < 4; i++)
                cr_expect_eq(bd.x[3 * i], fmodf(start + (float)(4 * b + i), 10.0f), "consecutive rows mod n");
        }
        offsets_seen += e > 0 && first[e][0] != first[e - 1][0];
    }
    cr_expect(offsets_seen >= 1, "the offset changes between epochs");
    eb_batch_data bd;
    cr_assert_eq(src.seek_epoch(src.ctx, 1, &err), EB_OK);
    cr_assert_eq(src.next(src.ctx, &bd, &err), EB_OK);
    cr_expect_arr_eq(bd.x, first[1], sizeof first[1], "seeking an epoch again repeats it");
    eb_aux_sampler_free(s);
    p.order = EB_AUX_WEIGHTED; /* no callback */
    cr_expect_eq(eb_aux_sampler_new(&pool, &p, &s, &err), EB_ERR_ARG);
    p.order = EB_AUX_OFFSET;
    p.batch_size = 0;
    cr_expect_eq(eb_aux_sampler_new(&pool, &p, &s, &err), EB_ERR_ARG);
    eb_image_set_free(&pool);
}

/* ---- the training loop with auxiliary batches ------------------------------------------------------ */

typedef struct toy {
    eb_image_set id_set, aux_set; /* f32, c = h = 1, w = 4 */
    float *x;                     /* = id_set.f32 */
    int32_t *y;
    int64_t n, n_aux;
} toy;

/* Two Gaussian classes in 4-D (ID) and a wider Gaussian far off (AUX). */
static toy make_toy(void) {
    toy t;
    eb_error err = {0};
    t.n = 96;
    t.n_aux = 80;
    cr_assert_eq(eb_image_set_alloc(t.n, 1, 1, 4, EB_DTYPE_F32, 2, &t.id_set, &err), EB_OK);
    cr_assert_eq(eb_image_set_alloc(t.n_aux, 1, 1, 4, EB_DTYPE_F32, 0, &t.aux_set, &err), EB_OK);
    eb_rng r;
    eb_rng_seed(&r, 5);
    for (int64_t i = 0; i < t.n; i++) {
        t.id_set.labels[i] = (int32_t)(i % 2);
        for (int d = 0; d < 4; d++)
            t.id_set.f32[i * 4 + d] = (float)eb_rng_normal(&r) * 0.5f + (i % 2 ? 1.0f : -1.0f);
    }
    for (int64_t i = 0; i < t.n_aux; i++)
        for (int d = 0; d < 4; d++) t.aux_set.f32[i * 4 + d] = (float)eb_rng_normal(&r) * 2.0f + 4.0f;
    t.x = t.id_set.f32;
    t.y = t.id_set.labels;
    return t;
}

static eb_model *toy_mlp(void) {
    eb_mlp_config c = eb_mlp_default_config(4, 2);
    c.n_hidden = 2;
    c.hidden[0] = c.hidden[1] = 16;
    c.activation = EB_ACT_TANH;
    eb_rng r;
    eb_rng_seed(&r, 11);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &r, NULL, &m, &err), EB_OK);
    return m;
}

typedef struct saved_state {
    float *opt;
    int64_t opt_size, opt_step, epoch;
    float *params;
} saved_state;

static eb_status keep_state(void *ctx, eb_model *m, const eb_train_epoch_info *info, eb_error *err) {
    (void)err;
    saved_state *s = ctx;
    s->epoch = info->epoch;
    s->opt_size = eb_optimizer_state_size(info->optimizer);
    s->opt_step = eb_optimizer_step_count(info->optimizer);
    free(s->opt);
    s->opt = malloc((size_t)s->opt_size * sizeof(float));
    memcpy(s->opt, eb_optimizer_state((eb_optimizer *)info->optimizer), (size_t)s->opt_size * sizeof(float));
    free(s->params);
    s->params = malloc((size_t)m->params.size * sizeof(float));
    memcpy(s->params, m->params.data, (size_t)m->params.size * sizeof(float));
    return EB_OK;
}

/* Trains a toy MLP with Hopfield Boosting (weighted aux draws, boosting before every epoch) for `epochs`
 * epochs, optionally stopping after `stop` epochs and resuming from the kept state. Returns the params. */
static float *train_hb(toy *t, int64_t epochs, int64_t stop, double *loss_out) {
    eb_model *m = toy_mlp();
    eb_hopfield_boost_config c = eb_hopfield_boost_default_config();
    c.proj_hidden = 8;
    c.proj_dim = 6;
    c.candidates = 50;
    c.memory = 40;
    c.boost_first = true;
    eb_hopfield_boost *hb = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_hopfield_boost_new(&c, m, &hb, &err), EB_OK, "%s", err.message);
    eb_image_transforms tr = eb_image_transforms_default();
    cr_assert_eq(eb_hopfield_boost_attach(hb, m, &t->id_set, &t->aux_set, &tr, &err), EB_OK, "%s",
                 err.message);
    eb_aux_params ap = eb_aux_default_params();
    ap.order = EB_AUX_WEIGHTED;
    ap.batch_size = 16;
    ap.draws = 6 * 16;
    ap.weights = eb_hopfield_boost_weights;
    ap.weights_ctx = hb;
    ap.seed = 3;
    eb_aux_sampler *s = NULL;
    cr_assert_eq(eb_aux_sampler_new(&t->aux_set, &ap, &s, &err), EB_OK);
    eb_batch_source aux = eb_aux_sampler_as_source(s);
    eb_train_params tp = eb_train_default_params();
    tp.epochs = epochs;
    tp.batch_size = 16;
    tp.progress = false;
    tp.seed = 9;
    tp.aux = &aux;
    saved_state st = {0};
    tp.on_epoch_end = keep_state;
    tp.on_epoch_end_ctx = &st;
    eb_train_result res;
    if (stop > 0) {
        tp.stop_after_epochs = stop;
        cr_assert_eq(eb_train(m, t->x, t->y, t->n, 4, eb_objective_hopfield_boost, hb, &tp, &res, &err),
                     EB_OK, "%s", err.message);
        /* a fresh model from the kept parameters: nothing else carries over */
        eb_model_free(m);
        m = toy_mlp();
        memcpy(m->params.data, st.params, (size_t)m->params.size * sizeof(float));
        cr_assert_eq(eb_hopfield_boost_attach(hb, m, &t->id_set, &t->aux_set, &tr, &err), EB_OK);
        eb_train_resume rs = {st.epoch, st.opt, st.opt_size, st.opt_step};
        tp.resume = &rs;
        tp.stop_after_epochs = 0;
        cr_assert_eq(eb_train(m, t->x, t->y, t->n, 4, eb_objective_hopfield_boost, hb, &tp, &res, &err),
                     EB_OK, "%s", err.message);
    } else {
        cr_assert_eq(eb_train(m, t->x, t->y, t->n, 4, eb_objective_hopfield_boost, hb, &tp, &res, &err),
                     EB_OK, "%s", err.message);
    }
    cr_assert_eq(res.epochs, epochs);
    if (loss_out) *loss_out = res.final_loss;
    float *out = malloc((size_t)m->params.size * sizeof(float));
    memcpy(out, m->params.data, (size_t)m->params.size * sizeof(float));
    free(st.opt);
    free(st.params);
    eb_aux_sampler_free(s);
    eb_hopfield_boost_free(hb);
    eb_model_free(m);
    return out;
}

Test(outliers, boosted_training_resumes_exactly) {
    toy t = make_toy();
    float *whole = train_hb(&t, 3, 0, NULL), *resumed = train_hb(&t, 3, 1, NULL);
    eb_model *m = toy_mlp();
    cr_expect_arr_eq(whole, resumed, (size_t)m->params.size * sizeof(float),
                     "3 epochs = 1 epoch + resume for 2 (boosting weights recomputed from the model)");
    eb_model_free(m);
    free(whole);
    free(resumed);
    eb_image_set_free(&t.id_set);
    eb_image_set_free(&t.aux_set);
}

/* The weights of the boosting step against a dense recomputation: embeddings by eb_model_predict, the
 * frozen head, then every candidate against every memory row. With 40 ID rows and a 40-row pool, the
 * memories are the whole ID set and the whole pool, and the candidates all pool rows (in the step's own
 * random order, which changes no sum beyond rounding). */
Test(outliers, boosting_weights_match_a_dense_computation) {
    toy t = make_toy();
    t.id_set.n = 40;
    t.aux_set.n = 40;
    eb_model *m = toy_mlp();
    eb_hopfield_boost_config c = eb_hopfield_boost_default_config();
    c.proj_hidden = 8;
    c.proj_dim = 6;
    eb_hopfield_boost *hb = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_hopfield_boost_new(&c, m, &hb, &err), EB_OK);
    eb_image_transforms tr = eb_image_transforms_default();
    cr_assert_eq(eb_hopfield_boost_attach(hb, m, &t.id_set, &t.aux_set, &tr, &err), EB_OK);
    double w0[40], w1[40], w2[40];
    cr_assert_eq(eb_hopfield_boost_weights(hb, 0, w0, &err), EB_OK);
    for (int i = 0; i < 40; i++) cr_expect_eq(w0[i], 1.0, "the paper's w1 is uniform");
    cr_assert_eq(eb_hopfield_boost_weights(hb, 1, w1, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_hopfield_boost_weights(hb, 1, w2, &err), EB_OK);
    cr_expect_arr_eq(w1, w2, sizeof w1, "deterministic in (model, seed, epoch)");
    float zi[40 * 6], za[40 * 6], f[40 * 16], lg[40 * 2];
    cr_assert_eq(eb_model_predict(m, t.id_set.f32, 40, 64, lg, f, &err), EB_OK);
    cr_assert_eq(eb_hopfield_boost_project(hb, f, 40, zi, &err), EB_OK);
    cr_assert_eq(eb_model_predict(m, t.aux_set.f32, 40, 64, lg, f, &err), EB_OK);
    cr_assert_eq(eb_hopfield_boost_project(hb, f, 40, za, &err), EB_OK);
    double bl[40], mx = -INFINITY;
    for (int q = 0; q < 40; q++) {
        double si = 0, so = 0;
        for (int j = 0; j < 40; j++) {
            double di = 0, d_o = 0;
            for (int d = 0; d < 6; d++) {
                di += (double)za[q * 6 + d] * (double)zi[j * 6 + d];
                d_o += (double)za[q * 6 + d] * (double)za[j * 6 + d];
            }
            si += exp((double)c.beta * di);
            so += exp((double)c.beta * d_o);
        }
        bl[q] = log(si) + log(so) - 2.0 * log(si + so);
        mx = fmax(mx, bl[q]);
    }
    double spread = 0;
    for (int q = 0; q < 40; q++) {
        const double want = exp(bl[q] - mx);
        spread = fmax(spread, 1.0 - want);
        cr_expect(fabs(w1[q] - want) <= 1e-4 * want + 1e-9, "candidate %d: weight %g, dense %g", q, w1[q],
                  want);
    }
    cr_expect(spread > 1e-3, "the weights are not all equal (spread %g)", spread);
    eb_hopfield_boost_free(hb);
    eb_model_free(m);
    t.id_set.n = 96;
    t.aux_set.n = 80;
    eb_image_set_free(&t.id_set);
    eb_image_set_free(&t.aux_set);
}

Test(outliers, energy_ft_sign_convention) {
    toy t = make_toy();
    eb_model *m = toy_mlp();
    float x[16 * 4];
    memcpy(x, t.x, 8 * 4 * sizeof(float));
    memcpy(x + 8 * 4, t.aux_set.f32, 8 * 4 * sizeof(float));
    double e_id = 0, e_aux = 0;
    eb_error err = {0};
    int64_t rows[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    eb_image_transforms tr = eb_image_transforms_default();
    cr_assert_eq(eb_mean_energy(m, &t.id_set, rows, 8, &tr, &e_id, &err), EB_OK);
    cr_assert_eq(eb_mean_energy(m, &t.aux_set, rows, 8, &tr, &e_aux, &err), EB_OK);
    cr_expect(e_id < 0 && e_aux < 0, "E = -lse f < 0 for 2 classes near 0 logits (%g, %g)", e_id, e_aux);
    eb_oe_config zero = {0.0f};
    const double ce = run_objective(eb_objective_oe, &zero, m, x, 8, 8, t.y, false, NULL);
    eb_energy_ft_config c = {0.1f, 100.0f, -100.0f};
    cr_expect_eq(eb_energy_ft_config_check(&c, &err), EB_ERR_ARG, "m_in >= m_out is rejected");
    /* in-term only: m_in below every ID energy → penalised; m_out below every AUX energy → not */
    c = (eb_energy_ft_config){0.1f, (float)e_id - 50.0f, (float)e_aux - 40.0f};
    cr_assert_eq(eb_energy_ft_config_check(&c, &err), EB_OK, "%s", err.message);
    const double with_in = run_objective(eb_objective_energy_ft, &c, m, x, 8, 8, t.y, false, NULL);
    cr_expect(with_in > ce + 0.1 * 40.0 * 40.0, "E_in above m_in is penalised: %g vs CE %g", with_in, ce);
    /* out-term only: m_out above every AUX energy → penalised; m_in above every ID energy → not */
    c = (eb_energy_ft_config){0.1f, (float)e_id + 40.0f, (float)e_aux + 50.0f};
    const double with_out = run_objective(eb_objective_energy_ft, &c, m, x, 8, 8, t.y, false, NULL);
    cr_expect(with_out > ce + 0.1 * 40.0 * 40.0, "E_out below m_out is penalised: %g vs CE %g", with_out, ce);
    /* both satisfied: exactly CE */
    c = (eb_energy_ft_config){0.1f, (float)e_id + 40.0f, (float)e_aux - 40.0f};
    if (c.m_in < c.m_out) {
        const double none = run_objective(eb_objective_energy_ft, &c, m, x, 8, 8, t.y, false, NULL);
        cr_expect_float_eq(none, ce, 1e-6, "no hinge active: the loss is the CE");
    }
    /* a gradient step on the in-term lowers the ID energies */
    c = (eb_energy_ft_config){1.0f, (float)e_id - 5.0f, (float)e_id - 4.999f}; /* the out-term: ~0 */
    run_objective(eb_objective_energy_ft, &c, m, x, 8, 8, t.y, true, NULL);
    for (int64_t i = 0; i < m->params.size; i++) m->params.data[i] -= 1e-3f * m->params.grad[i];
    double e_id2 = 0;
    cr_assert_eq(eb_mean_energy(m, &t.id_set, rows, 8, &tr, &e_id2, &err), EB_OK);
    cr_expect(e_id2 < e_id, "the hinge pushes E_in down: %g -> %g", e_id, e_id2);
    eb_model_free(m);
    eb_image_set_free(&t.id_set);
    eb_image_set_free(&t.aux_set);
}

Test(outliers, bad_input) {
    toy t = make_toy();
    eb_model *m = toy_mlp();
    eb_error err = {0};
    /* an outlier objective without auxiliary rows or without labels: a clear graph error */
    eb_graph *g = eb_graph_new(0, NULL);
    eb_batch b = {eb_tensor_input(g, t.x, 2, EB_SHAPE(8, 4), false), t.y, 8, 0};
    eb_oe_config oe = eb_oe_default_config();
    eb_objective_oe(&oe, m, g, &b, NULL, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);
    cr_expect(strstr(eb_graph_error(g), "auxiliary") != NULL, "%s", eb_graph_error(g));
    eb_graph_free(g);
    g = eb_graph_new(0, NULL);
    eb_batch nl = {eb_tensor_input(g, t.x, 2, EB_SHAPE(8, 4), false), NULL, 4, 4};
    eb_energy_ft_config ef = {0.1f, -5.0f, -1.0f};
    eb_objective_energy_ft(&ef, m, g, &nl, NULL, NULL);
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);
    eb_graph_free(g);
    /* configs */
    eb_oe_config bad_oe = {NAN};
    cr_expect_eq(eb_oe_config_check(&bad_oe, &err), EB_ERR_ARG);
    eb_hopfield_boost_config hc = eb_hopfield_boost_default_config();
    hc.beta = 0.0f;
    cr_expect_eq(eb_hopfield_boost_config_check(&hc, &err), EB_ERR_ARG);
    hc = eb_hopfield_boost_default_config();
    hc.candidates = 0;
    cr_expect_eq(eb_hopfield_boost_config_check(&hc, &err), EB_ERR_ARG);
    eb_hb_head head;
    cr_expect_eq(eb_hb_head_parse("learned", &head, &err), EB_ERR_ARG);
    cr_expect_eq(eb_hb_head_parse("none", &head, &err), EB_OK);
    cr_expect_eq(head, EB_HB_HEAD_NONE);
    /* a trainable head needs the model's projection head */
    hc = eb_hopfield_boost_default_config();
    hc.head = EB_HB_HEAD_TRAINABLE;
    eb_hopfield_boost *no_head = NULL;
    cr_expect_eq(eb_hopfield_boost_new(&hc, m, &no_head, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "projection head") != NULL, "%s", err.message);
    /* boosting without attach; attach with the wrong width */
    eb_hopfield_boost *hb = NULL;
    eb_hopfield_boost_config zero = {0};
    cr_assert_eq(eb_hopfield_boost_new(&zero, m, &hb, &err), EB_ERR_ARG);
    hc = eb_hopfield_boost_default_config();
    cr_assert_eq(eb_hopfield_boost_new(&hc, m, &hb, &err), EB_OK);
    double w[80];
    cr_expect_eq(eb_hopfield_boost_weights(hb, 1, w, &err), EB_ERR_STATE);
    eb_image_set wide;
    cr_assert_eq(eb_image_set_alloc(5, 1, 1, 7, EB_DTYPE_F32, 0, &wide, &err), EB_OK);
    eb_image_transforms tr = eb_image_transforms_default();
    cr_expect_eq(eb_hopfield_boost_attach(hb, m, &t.id_set, &wide, &tr, &err), EB_ERR_SHAPE);
    eb_hopfield_boost_free(hb);
    /* an aux source whose width differs from the ID data's */
    eb_aux_params ap = eb_aux_default_params();
    eb_aux_sampler *s = NULL;
    cr_assert_eq(eb_aux_sampler_new(&wide, &ap, &s, &err), EB_OK);
    eb_batch_source aux = eb_aux_sampler_as_source(s);
    eb_train_params tp = eb_train_default_params();
    tp.progress = false;
    tp.aux = &aux;
    eb_train_result res;
    cr_expect_eq(eb_train(m, t.x, t.y, t.n, 4, eb_objective_oe, &oe, &tp, &res, &err), EB_ERR_SHAPE);
    cr_expect(strstr(err.message, "auxiliary") != NULL, "%s", err.message);
    eb_aux_sampler_free(s);
    eb_image_set_free(&wide);
    eb_model_free(m);
    eb_image_set_free(&t.id_set);
    eb_image_set_free(&t.aux_set);
}

/* OE and energy-FT end to end on the toy data: the loss falls and the outliers' energies end above the ID's.
 */
Test(outliers, oe_and_energy_ft_separate_the_toy_outliers) {
    toy t = make_toy();
    for (int which = 0; which < 2; which++) {
        eb_model *m = toy_mlp();
        eb_aux_params ap = eb_aux_default_params();
        ap.batch_size = 32;
        eb_aux_sampler *s = NULL;
        eb_error err = {0};
        cr_assert_eq(eb_aux_sampler_new(&t.aux_set, &ap, &s, &err), EB_OK);
        eb_batch_source aux = eb_aux_sampler_as_source(s);
        eb_train_params tp = eb_train_default_params();
        tp.epochs = 40;
        tp.batch_size = 16;
        tp.progress = false;
        tp.optimizer.lr = 1e-2f;
        tp.schedule = eb_schedule_default(1e-2f);
        tp.aux = &aux;
        eb_oe_config oe = eb_oe_default_config();
        eb_energy_ft_config ef = {0.1f, -6.0f, -2.0f};
        eb_train_result res;
        cr_assert_eq(eb_train(m, t.x, t.y, t.n, 4, which ? eb_objective_energy_ft : eb_objective_oe,
                              which ? (void *)&ef : (void *)&oe, &tp, &res, &err),
                     EB_OK, "%s", err.message);
        cr_expect(res.final_accuracy > 0.9, "ID accuracy %g", res.final_accuracy);
        int64_t rows[32];
        for (int i = 0; i < 32; i++) rows[i] = i;
        double e_id = 0, e_aux = 0;
        eb_image_transforms tr = eb_image_transforms_default();
        cr_assert_eq(eb_mean_energy(m, &t.id_set, rows, 32, &tr, &e_id, &err), EB_OK);
        cr_assert_eq(eb_mean_energy(m, &t.aux_set, rows, 32, &tr, &e_aux, &err), EB_OK);
        cr_expect(e_aux > e_id + 1.0, "%s: mean energy ID %g, AUX %g", which ? "energy-ft" : "oe", e_id,
                  e_aux);
        eb_aux_sampler_free(s);
        eb_model_free(m);
    }
    eb_image_set_free(&t.id_set);
    eb_image_set_free(&t.aux_set);
}

/* ---- POEM (scripts/make_poem_fixture.py) ------------------------------------------------------------ */

Test(outliers, aux_sampler_selected_walks_each_selected_row_once) {
    double w[6] = {1.0, 0.0, 1.0, 1.0, 0.0, 1.0}; /* rows 0, 2, 3, 5 */
    eb_image_set pool = row_pool(6, 2);
    eb_aux_sampler *s = fixed_sampler(&pool, EB_AUX_SELECTED, 3, 8, w);
    eb_error err = {0};
    eb_batch_source src = eb_aux_sampler_as_source(s);
    int64_t first[8] = {0}, n = 0;
    bool differs = false;
    for (int64_t epoch = 0; epoch < 6; epoch++) {
        cr_assert_eq(src.seek_epoch(src.ctx, epoch, &err), EB_OK, "%s", err.message);
        const int64_t *rows = eb_aux_sampler_rows(s, &n);
        cr_assert_eq(n, 8);
        int counts[6] = {0};
        for (int i = 0; i < 4; i++) counts[rows[i]]++; /* one permutation of the 4 selected rows … */
        for (int r = 0; r < 6; r++)
            cr_expect_eq(counts[r], w[r] > 0 ? 1 : 0, "epoch %lld row %d", (long long)epoch, r);
        for (int i = 4; i < 8; i++) cr_expect_eq(rows[i], rows[i - 4]); /* … cycled to the draws */
        if (epoch == 0)
            memcpy(first, rows, sizeof first);
        else
            differs |= memcmp(first, rows, sizeof first) != 0;
    }
    cr_expect(differs, "each epoch has its own permutation");
    cr_assert_eq(src.seek_epoch(src.ctx, 0, &err), EB_OK);
    cr_expect_arr_eq(eb_aux_sampler_rows(s, &n), first, sizeof first, "epoch 0 again: the same order");
    memset(w, 0, sizeof w);
    cr_expect_eq(src.seek_epoch(src.ctx, 1, &err), EB_ERR_ARG, "nothing selected is an error");
    cr_expect(strstr(err.message, "no row is selected"), "%s", err.message);
    eb_aux_sampler_free(s);
    eb_image_set_free(&pool);
}

typedef struct poem_fixture {
    cJSON *doc;
    const cJSON *c; /* the one case */
    int64_t d;
    float *h_id, *h_out, *h_cand;
    double *A, *mu, *cov, *w, *eps;
} poem_fixture;

static double *read_doubles(const cJSON *arr, int64_t want) {
    double *out = malloc((size_t)want * sizeof *out);
    int64_t n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        cr_assert_lt(n, want);
        out[n++] = v->valuedouble;
    }
    cr_assert_eq(n, want);
    return out;
}

static poem_fixture load_poem(void) {
    poem_fixture f = {0};
    f.doc = load_fixture_json("outliers/poem.json");
    f.c = cJSON_GetArrayItem(item(f.doc, "cases"), 0);
    cr_assert_not_null(f.c);
    f.d = (int64_t)num(f.c, "d");
    read_floats(item(f.c, "h_id"), &f.h_id);
    read_floats(item(f.c, "h_out"), &f.h_out);
    read_floats(item(f.c, "h_cand"), &f.h_cand);
    f.A = read_doubles(item(f.c, "A"), f.d * f.d);
    f.cov = read_doubles(item(f.c, "cov"), f.d * f.d);
    f.mu = read_doubles(item(f.c, "mu"), f.d);
    f.w = read_doubles(item(f.c, "w"), f.d);
    f.eps = read_doubles(item(f.c, "eps"), f.d);
    return f;
}

static void free_poem(poem_fixture *f) {
    free(f->h_id), free(f->h_out), free(f->h_cand);
    free(f->A), free(f->mu), free(f->cov), free(f->w), free(f->eps);
    cJSON_Delete(f->doc);
}

/* The posterior of the fixture's rows: a = L, b = μ. */
static void poem_posterior(const poem_fixture *f, double *a, double *b) {
    const int64_t d = f->d;
    const double sn = num(f->c, "sigma_n"), conf = num(f->c, "conf"), shift = num(f->c, "shift");
    memset(a, 0, (size_t)(d * d) * sizeof *a);
    memset(b, 0, (size_t)d * sizeof *b);
    eb_poem_accumulate(a, b, f->h_id, 12, d, shift - conf, num(f->c, "id_count"), sn);
    eb_poem_accumulate(a, b, f->h_out, 5, d, shift + conf, 1.0, sn); /* the outliers in two calls */
    eb_poem_accumulate(a, b, f->h_out + 5 * d, 5, d, shift + conf, 1.0, sn);
    for (int64_t p = 0; p < d; p++) /* the accumulated lower triangle is A − I/σ */
        for (int64_t q = 0; q <= p; q++) {
            const double want = f->A[p * d + q] - (p == q ? 1.0 / num(f->c, "sigma") : 0.0);
            cr_expect(fabs(a[p * d + q] - want) <= 1e-9 * (1.0 + fabs(want)), "A[%lld,%lld] %.12g vs %.12g",
                      (long long)p, (long long)q, a[p * d + q], want);
        }
    eb_error err = {0};
    cr_assert_eq(eb_poem_posterior(a, b, d, num(f->c, "sigma"), &err), EB_OK, "%s", err.message);
}

Test(outliers, poem_posterior_and_fixed_draw_match_pytorch) {
    poem_fixture f = load_poem();
    const int64_t d = f.d;
    double a[16], mu[4], w[4];
    cr_assert_eq(d, 4);
    poem_posterior(&f, a, mu);
    for (int64_t p = 0; p < d; p++)
        cr_expect(fabs(mu[p] - f.mu[p]) <= 1e-9 * (1.0 + fabs(f.mu[p])), "mu[%lld] %.12g vs PyTorch %.12g",
                  (long long)p, mu[p], f.mu[p]);
    for (int64_t p = 0; p < d; p++) /* L Lᵀ = A */
        for (int64_t q = 0; q <= p; q++) {
            double s = 0.0;
            for (int64_t k = 0; k <= q; k++) s += a[p * d + k] * a[q * d + k];
            cr_expect(fabs(s - f.A[p * d + q]) <= 1e-9 * (1.0 + fabs(f.A[p * d + q])), "(LLt)[%lld,%lld]",
                      (long long)p, (long long)q);
        }
    memcpy(w, f.eps, sizeof w);
    eb_poem_draw(a, mu, d, num(f.c, "sigma"), w);
    for (int64_t p = 0; p < d; p++)
        cr_expect(fabs(w[p] - f.w[p]) <= 1e-9 * (1.0 + fabs(f.w[p])), "w[%lld] %.12g vs PyTorch %.12g",
                  (long long)p, w[p], f.w[p]);
    free_poem(&f);
}

/* Thompson draws: their empirical mean and covariance are the code's N(μ, σA⁻¹) (the PyTorch inverse),
 * which fails for the conjugate A⁻¹ (20× smaller) or a transposed factor. 40,000 draws: the standard error
 * of a covariance entry is ≤ √(2/n)·max Σ ≈ 0.7 % of the largest. */
Test(outliers, poem_thompson_draws_have_the_codes_covariance) {
    poem_fixture f = load_poem();
    const int64_t d = f.d, n = 40000;
    double a[16], mu[4], w[4], mean[4] = {0}, cov[16] = {0}, scale = 0.0;
    poem_posterior(&f, a, mu);
    eb_rng rng;
    eb_rng_seed(&rng, 77);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t p = 0; p < d; p++) w[p] = eb_rng_normal(&rng);
        eb_poem_draw(a, mu, d, num(f.c, "sigma"), w);
        for (int64_t p = 0; p < d; p++) {
            mean[p] += w[p] / (double)n;
            for (int64_t q = 0; q < d; q++) cov[p * d + q] += (w[p] - f.mu[p]) * (w[q] - f.mu[q]) / (double)n;
        }
    }
    for (int64_t p = 0; p < d; p++) scale = fmax(scale, f.cov[p * d + p]);
    for (int64_t p = 0; p < d; p++) {
        cr_expect(fabs(mean[p] - f.mu[p]) <= 5.0 * sqrt(f.cov[p * d + p] / (double)n),
                  "mean[%lld] %.5g vs %.5g", (long long)p, mean[p], f.mu[p]);
        for (int64_t q = 0; q < d; q++)
            cr_expect(fabs(cov[p * d + q] - f.cov[p * d + q]) <= 0.04 * scale,
                      "cov[%lld,%lld] %.5g vs PyTorch %.5g", (long long)p, (long long)q, cov[p * d + q],
                      f.cov[p * d + q]);
    }
    free_poem(&f);
}

Test(outliers, poem_selection_matches_pytorch) {
    poem_fixture f = load_poem();
    const int64_t k = (int64_t)num(f.c, "k");
    int64_t rows[30];
    float *want = NULL;
    cr_assert_eq(read_floats(item(f.c, "selected"), &want), k);
    eb_error err = {0};
    cr_assert_eq(eb_poem_select(f.h_cand, 30, f.d, f.w, k, rows, &err), EB_OK, "%s", err.message);
    for (int64_t i = 0; i < k; i++)
        cr_expect_eq(rows[i], (int64_t)want[i], "selected[%lld] %lld vs PyTorch %lld", (long long)i,
                     (long long)rows[i], (long long)want[i]);
    f.h_cand[3 * f.d] = NAN;
    cr_expect_eq(eb_poem_select(f.h_cand, 30, f.d, f.w, k, rows, &err), EB_ERR_NUMERIC);
    cr_expect(strstr(err.message, "candidate 3"), "%s", err.message);
    double bad[16] = {0}, b[4] = {0}; /* −I/σ·2: not positive definite after adding I/σ */
    for (int p = 0; p < 4; p++) bad[p * 4 + p] = -2.0 / num(f.c, "sigma");
    cr_expect_eq(eb_poem_posterior(bad, b, 4, num(f.c, "sigma"), &err), EB_ERR_NUMERIC);
    cr_expect(strstr(err.message, "not positive definite"), "%s", err.message);
    free(want);
    free_poem(&f);
}

/* POEM's loss is energy-FT's: through the registry (--objective poem with the fixture's margins) it matches
 * the energy_ft PyTorch case, loss and gradient. */
Test(outliers, poem_loss_matches_pytorch) {
    loaded l = load_case("energy_ft");
    char m_in[32], m_out[32];
    snprintf(m_in, sizeof m_in, "%.9g", num(l.c, "m_in"));
    snprintf(m_out, sizeof m_out, "%.9g", num(l.c, "m_out"));
    const eb_objective_value v[] = {{"m-in", m_in}, {"m-out", m_out}};
    eb_objective_spec spec;
    eb_error err = {0};
    cr_assert_eq(eb_objective_spec_build("poem", NULL, v, 2, &spec, &err), EB_OK, "%s", err.message);
    eb_model *m = fixture_mlp(l.params, l.n_params);
    eb_objective_run *run = NULL;
    eb_schedule sch = eb_schedule_default(1e-3f);
    cr_assert_eq(eb_objective_run_new(&spec, m, &sch, 1, &run, &err), EB_OK, "%s", err.message);
    eb_model_free(m);
    check_against_fixture(&l, run->fn, run->ctx);
    eb_objective_run_free(run);
    free_case(&l);
}
