/* POEM: posterior sampling-based outlier mining (Ming, Fan, Li, ICML 2022; the strongest baseline of
 * 000_d95ac7511efbaafc.txt Table 1; read from the released code deeplearning-wisc/poem, not copied; the
 * paper's own text is not in the library, so its settings are the code's).
 *   Loss: energy-bounded fine-tuning (energy_margin.c; 003_77034dadf9bef685.txt Eq. 7–9), λ = 0.1.
 *   Outliers: before every epoch e, a Bayesian linear regression on the penultimate features h(x) (d values;
 *     outliers.h's eb_poem_*): targets −c for ID rows and +c for the outliers selected in the last `buffer`
 *     epochs (c = 3; ID rows counted once per buffered epoch, as the code repeats them), prior w ~ N(0, σ I)
 *     (σ = 20), noise variance σ_n = 0.5:
 *       A = HᵀCH/σ_n + I/σ,   μ = A⁻¹ HᵀCy/σ_n,   Σ = σ A⁻¹   (the code's posterior covariance)
 *     one draw w̃ ~ N(μ, Σ) (Thompson sampling; epoch 0: μ ~ N(0, 0.01²), Σ = σ I), the candidates' scores
 *     |w̃ᵀ h(x)| (the boundary is w̃ᵀh = 0), and the `draws` = batches-per-epoch × aux-batch candidates
 *     closest to it are the epoch's outliers, each seen once in a shuffled order (EB_AUX_SELECTED).
 *   `target_noise` (--ebm-preset code): the code's one N(0, σ_n) draw added to all targets.
 *   Candidates: a random `candidates` rows of the pool (the code: 400,000 consecutive rows from a random
 *   offset of its unshuffled loader).
 * Resume: the selections of the last buffer + 1 epochs are the state; everything else is recomputed from
 * the model and streams of (seed, epoch), so a resumed run equals an uninterrupted one. */
#include "ood/objectives/outliers_impl.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PURPOSE_POEM 23 /* eb_train_epoch_rng purpose of the candidate draw and of w̃ */

typedef struct poem_params {
    eb_energy_ft_config c; /* first: the loss reads the params as its eb_energy_ft_config */
    int64_t aux_batch, candidates, memory, buffer;
    float sigma, sigma_n, conf;
    bool target_noise;
} poem_params;

typedef struct poem_run {
    poem_params p;
    eb_model *model;
    const eb_image_set *id, *aux;
    eb_image_transforms t;
    uint64_t seed;
    int64_t draws, slots; /* selected rows per epoch; buffer + 1 */
    float *sel;           /* [slots][1 + draws]: the epoch, then its selected pool rows (−1: empty) */
} poem_run;

#define BLR_BLOCK 1024 /* feature rows per DSYRK block */

void eb_poem_accumulate(double *a, double *b, const float *h, int64_t n, int64_t d, double y, double c,
                        double sigma_n) {
    const double s = sqrt(c / sigma_n); /* rows scaled by √(c/σ_n): the DSYRK adds c·hhᵀ/σ_n */
    const int64_t rows = n < BLR_BLOCK ? n : BLR_BLOCK;
    double *buf = rows > 0 ? malloc((size_t)(rows * d) * sizeof *buf) : NULL;
    for (int64_t start = 0; buf && start < n; start += rows) {
        const int64_t k = n - start < rows ? n - start : rows;
        for (int64_t i = 0; i < k * d; i++) buf[i] = s * (double)h[start * d + i];
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (blasint)d, (blasint)k, 1.0, buf, (blasint)d, 1.0,
                    a, (blasint)d);
        for (int64_t i = 0; i < k; i++) /* b += c·y·h/σ_n = s·y·(s·h) */
            for (int64_t p = 0; p < d; p++) b[p] += s * y * buf[i * d + p];
    }
    for (int64_t i = 0; !buf && i < n; i++) { /* no memory for a block: the same sums row by row */
        const float *x = h + i * d;
        for (int64_t p = 0; p < d; p++) {
            b[p] += s * y * s * (double)x[p];
            for (int64_t q = 0; q <= p; q++) a[p * d + q] += s * (double)x[p] * s * (double)x[q];
        }
    }
    free(buf);
}

eb_status eb_poem_posterior(double *a, double *b, int64_t d, double sigma, eb_error *err) {
    for (int64_t p = 0; p < d; p++) a[p * d + p] += 1.0 / sigma;
    for (int64_t p = 0; p < d; p++) /* the lower triangle */
        for (int64_t q = 0; q <= p; q++)
            if (!isfinite(a[p * d + q]))
                return eb_error_set(err, EB_ERR_NUMERIC, "poem: a non-finite feature");
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, a, (lapack_int)d) != 0)
        return eb_error_set(err, EB_ERR_NUMERIC, "poem: the posterior precision is not positive definite");
    for (int64_t p = 0; p < d; p++) /* the factor only: zeros above the diagonal */
        for (int64_t q = p + 1; q < d; q++) a[p * d + q] = 0.0;
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (blasint)d, a, (blasint)d, b, 1);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (blasint)d, a, (blasint)d, b, 1);
    return EB_OK; /* μ = (L Lᵀ)⁻¹ b */
}

void eb_poem_draw(const double *l, const double *mu, int64_t d, double sigma, double *w) {
    for (int64_t p = 0; p < d; p++) w[p] *= sqrt(sigma);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (blasint)d, l, (blasint)d, w, 1);
    for (int64_t p = 0; p < d; p++) w[p] += mu[p];
}

typedef struct scored {
    double v;
    int64_t row;
} scored;
static int by_score(const void *x, const void *y) {
    const scored *a = x, *b = y;
    return a->v < b->v ? -1 : a->v > b->v ? 1 : (a->row > b->row) - (a->row < b->row);
}

/* out[i] = {|wᵀh_i|, first + i} for the rows h[n, d]. */
static eb_status boundary_scores(const float *h, int64_t n, int64_t d, const double *w, int64_t first,
                                 scored *out, eb_error *err) {
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t p = 0; p < d; p++) s += w[p] * (double)h[i * d + p];
        if (!isfinite(s))
            return eb_error_set(err, EB_ERR_NUMERIC, "poem: a non-finite boundary score (candidate %lld)",
                                (long long)(first + i));
        out[i] = (scored){fabs(s), first + i};
    }
    return EB_OK;
}

eb_status eb_poem_select(const float *h, int64_t n, int64_t d, const double *w, int64_t k, int64_t *rows,
                         eb_error *err) {
    scored *sc = malloc((size_t)(n > 0 ? n : 1) * sizeof *sc);
    if (!sc) return eb_error_set(err, EB_ERR_NOMEM, "poem: out of memory (%lld candidates)", (long long)n);
    eb_status st = boundary_scores(h, n, d, w, 0, sc, err);
    if (st) {
        free(sc);
        return st;
    }
    qsort(sc, (size_t)n, sizeof *sc, by_score);
    for (int64_t i = 0; i < k && i < n; i++) rows[i] = sc[i].row;
    free(sc);
    return EB_OK;
}

/* The features of rows[0..n) of set, FEATURE_CHUNK rows at a time (a 6,272-d CNN's 50,000 candidates would
 * be 1.25 GB at once), each chunk h[k, d] handed to fn. */
#define FEATURE_CHUNK 2048
typedef eb_status (*chunk_fn)(void *ctx, const float *h, int64_t k, int64_t first, eb_error *err);
static eb_status feature_chunks(poem_run *r, const eb_image_set *set, const int64_t *rows, int64_t n,
                                chunk_fn fn, void *ctx, eb_error *err) {
    const int64_t d = eb_model_feature_dim(r->model), chunk = n < FEATURE_CHUNK ? n : FEATURE_CHUNK;
    float *h = malloc((size_t)((chunk > 0 ? chunk : 1) * d) * sizeof *h);
    eb_status st =
        h ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "poem: out of memory (%lld features)", (long long)chunk);
    for (int64_t s = 0; !st && s < n; s += chunk) {
        const int64_t k = n - s < chunk ? n - s : chunk;
        st = eb__predict_set_rows(r->model, set, rows + s, k, &r->t, NULL, h, err);
        if (!st) st = fn(ctx, h, k, s, err);
    }
    free(h);
    return st;
}

typedef struct accum_ctx {
    double *a, *b, y, c, sigma_n;
    int64_t d;
} accum_ctx;
static eb_status accum_chunk(void *ctx, const float *h, int64_t k, int64_t first, eb_error *err) {
    (void)first, (void)err;
    accum_ctx *c = ctx;
    eb_poem_accumulate(c->a, c->b, h, k, c->d, c->y, c->c, c->sigma_n);
    return EB_OK;
}

typedef struct score_ctx {
    const double *w;
    scored *out;
    int64_t d;
} score_ctx;
static eb_status score_chunk(void *ctx, const float *h, int64_t k, int64_t first, eb_error *err) {
    score_ctx *c = ctx;
    return boundary_scores(h, k, c->d, c->w, first, c->out + first, err);
}

static bool buffered(const poem_run *r, int64_t s, int64_t epoch) {
    const int64_t e = (int64_t)r->sel[s * (1 + r->draws)];
    return e >= 0 && e < epoch && e >= epoch - r->p.buffer;
}

/* w̃ for epoch `epoch` (see the header comment). */
static eb_status thompson_draw(poem_run *r, int64_t epoch, eb_rng *rng, double *w, eb_error *err) {
    const int64_t d = eb_model_feature_dim(r->model);
    const double sigma = r->p.sigma, sigma_n = r->p.sigma_n;
    int64_t k = 0; /* buffered epochs */
    for (int64_t s = 0; s < r->slots; s++) k += buffered(r, s, epoch);
    if (k == 0) { /* the prior: μ ~ N(0, 0.01²), Σ = σ I */
        for (int64_t p = 0; p < d; p++) w[p] = 0.01 * eb_rng_normal(rng) + sqrt(sigma) * eb_rng_normal(rng);
        return EB_OK;
    }
    double shift = 0.0; /* the code's one noise draw on all targets */
    if (r->p.target_noise) {
        eb_rng once = eb_train_epoch_rng(r->seed, 0, PURPOSE_POEM + 2);
        shift = sqrt(sigma_n) * eb_rng_normal(&once);
    }
    double *a = calloc((size_t)(d * d), sizeof *a), *b = calloc((size_t)d, sizeof *b);
    int64_t *rows = malloc((size_t)(r->draws > r->id->n ? r->draws : r->id->n) * sizeof *rows);
    eb_status st = a && b && rows ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "poem: out of memory");
    accum_ctx ac = {a, b, shift - (double)r->p.conf, (double)k, sigma_n, d};
    const int64_t n_id = r->p.memory > 0 && r->p.memory < r->id->n ? r->p.memory : r->id->n;
    if (!st) { /* the ID rows: a fixed draw of the seed (all rows by default), counted once per buffered
                  epoch as the code repeats them */
        eb_rng ids = eb_train_epoch_rng(r->seed, 0, PURPOSE_POEM + 1);
        eb_rng_permutation(&ids, r->id->n, rows);
        st = feature_chunks(r, r->id, rows, n_id, accum_chunk, &ac, err);
    }
    ac.y = shift + (double)r->p.conf, ac.c = 1.0;
    for (int64_t s = 0; s < r->slots && !st; s++) {
        if (!buffered(r, s, epoch)) continue;
        const float *slot = r->sel + s * (1 + r->draws);
        for (int64_t i = 0; i < r->draws; i++) rows[i] = (int64_t)slot[1 + i];
        st = feature_chunks(r, r->aux, rows, r->draws, accum_chunk, &ac, err);
    }
    if (!st) st = eb_poem_posterior(a, b, d, sigma, err);
    if (!st) {
        for (int64_t p = 0; p < d; p++) w[p] = eb_rng_normal(rng);
        eb_poem_draw(a, b, d, sigma, w);
    }
    free(a);
    free(b);
    free(rows);
    return st;
}

/* An eb_aux_weights_fn for EB_AUX_SELECTED: 1 on the epoch's selected rows, 0 elsewhere. */
static eb_status poem_weights(void *ctx, int64_t epoch, double *weights, eb_error *err) {
    poem_run *r = ctx;
    const int64_t d = eb_model_feature_dim(r->model), n_pool = r->aux->n;
    const int64_t n_cand = r->p.candidates < n_pool ? r->p.candidates : n_pool;
    eb_rng rng = eb_train_epoch_rng(r->seed, epoch, PURPOSE_POEM);
    double *w = malloc((size_t)d * sizeof *w);
    int64_t *cand = malloc((size_t)n_pool * sizeof *cand);
    scored *sc = malloc((size_t)n_cand * sizeof *sc);
    eb_status st = w && cand && sc ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "poem: out of memory");
    if (!st) st = thompson_draw(r, epoch, &rng, w, err);
    if (!st) {
        eb_rng_permutation(&rng, n_pool, cand);
        st = feature_chunks(r, r->aux, cand, n_cand, score_chunk, &(score_ctx){w, sc, d}, err);
    }
    const int64_t k = r->draws < n_cand ? r->draws : n_cand;
    if (!st) qsort(sc, (size_t)n_cand, sizeof *sc, by_score); /* the k closest first (ties: lower index) */
    if (!st) {
        float *slot = r->sel + (epoch % r->slots) * (1 + r->draws);
        slot[0] = (float)epoch;
        for (int64_t i = 0; i < n_pool; i++) weights[i] = 0.0;
        for (int64_t i = 0; i < r->draws; i++) { /* fewer candidates than draws: they repeat */
            const int64_t row = cand[sc[i % k].row];
            slot[1 + i] = (float)row;
            weights[row] = 1.0;
        }
    }
    free(w);
    free(cand);
    free(sc);
    return st;
}

/* ---- registry row: poem (objective_impl.h) ------------------------------------------------------ */
static void poem_defaults(void *p) {
    poem_params *q = p;
    q->c = eb_energy_ft_default_config();
    q->c.m_in = q->c.m_out = (float)EB__MARGIN_AUTO;
    q->aux_batch = 128;     /* 1:1 with the default ID batch (the code: 64 : 64, ood_factor 1) */
    q->candidates = 400000; /* the code: 200 batches of 2,000 */
    q->memory = 0;
    q->buffer = 4;
    q->sigma = 20.0f, q->sigma_n = 0.5f, q->conf = 3.0f;
    q->target_noise = false;
}

static void poem_use_code(void *p) { /* the code's argparse margins */
    poem_params *q = p;
    q->c.m_in = -25.0f, q->c.m_out = -7.0f;
    q->target_noise = true;
}

static eb_status poem_check(const void *p, eb_error *err) {
    const poem_params *q = p;
    eb_status st = eb__energy_margins_check(&q->c, err);
    if (!st && !(q->sigma > 0 && q->sigma_n > 0 && isfinite(q->sigma) && isfinite(q->sigma_n)))
        st = eb_error_set(err, EB_ERR_ARG, "poem: --poem-sigma and --poem-noise must be > 0");
    return st;
}

#define POEM_FIELD(f) offsetof(poem_params, f)
static const eb_param_desc poem_rows[] = {
    EB__ENERGY_ROWS(poem_params, c),
    EB__AUX_BATCH_ROW(poem_params, aux_batch),
    {"candidates", "poem-candidates", EB_PARAM_TYPE_I64, POEM_FIELD(candidates), 1, 1e10, false, false, NULL,
     "N", "poem: AUX pool rows scored per epoch (capped at the pool)"},
    {"memory", "poem-memory", EB_PARAM_TYPE_I64, POEM_FIELD(memory), 0, 1e10, false, false, NULL, "N",
     "poem: ID rows in the Bayesian linear regression (0 = all)"},
    {"buffer", "poem-buffer", EB_PARAM_TYPE_I64, POEM_FIELD(buffer), 1, 64, false, false, NULL, "E",
     "poem: epochs of selected outliers in the regression"},
    {"sigma", "poem-sigma", EB_PARAM_TYPE_F32, POEM_FIELD(sigma), 0, 1e6, true, false, NULL, "S",
     "poem: prior variance of the regression weights"},
    {"sigma_n", "poem-noise", EB_PARAM_TYPE_F32, POEM_FIELD(sigma_n), 0, 1e6, true, false, NULL, "S",
     "poem: noise variance of the regression"},
    {"conf", "poem-conf", EB_PARAM_TYPE_F32, POEM_FIELD(conf), 0, 1e3, true, false, NULL, "C",
     "poem: regression targets (-C for ID rows, +C for the selected outliers)"},
    {"target_noise", "poem-target-noise", EB_PARAM_TYPE_BOOL, POEM_FIELD(target_noise), 0, 1, false, false,
     NULL, "B", "poem: add one N(0, noise) draw to all regression targets (the code)"},
};

static eb_status poem_run_new(void *p, const eb_model *model, const eb_schedule *schedule, uint64_t seed,
                              void **ctx, eb_error *err) {
    (void)model, (void)schedule;
    poem_run *r = calloc(1, sizeof *r);
    if (!r) return eb_error_set(err, EB_ERR_NOMEM, "poem: out of memory");
    r->p = *(const poem_params *)p;
    r->seed = seed;
    *ctx = r;
    return EB_OK;
}

static void poem_run_free(void *ctx) {
    poem_run *r = ctx;
    if (r) free(r->sel);
    free(r);
}

static eb_tensor *poem_loss(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                            int64_t *n_correct) {
    return eb_objective_energy_ft(&((poem_run *)ctx)->p.c, m, g, batch, rng, n_correct);
}

static eb_status poem_aux_setup(void *ctx, eb_model *model, const eb_image_set *id, const eb_image_set *aux,
                                const eb_image_transforms *norm, int64_t batches_per_epoch, eb_aux_params *ap,
                                eb_error *err) {
    poem_run *r = ctx;
    if (norm->crop_padding > 0 || norm->hflip || norm->noise_std > 0)
        return eb_error_set(err, EB_ERR_ARG, "poem: the selection transform must only normalise");
    if (aux->n >= (1 << 24) || id->n < 1 || aux->n < 1)
        return eb_error_set(err, EB_ERR_ARG, "poem: needs ID rows and an AUX pool of 1 to 16,777,215 rows");
    r->model = model, r->id = id, r->aux = aux, r->t = *norm;
    r->draws = (batches_per_epoch > 0 ? batches_per_epoch : 1) * r->p.aux_batch;
    r->slots = r->p.buffer + 1;
    free(r->sel);
    r->sel = malloc((size_t)(r->slots * (1 + r->draws)) * sizeof *r->sel);
    if (!r->sel) return eb_error_set(err, EB_ERR_NOMEM, "poem: out of memory (selection buffer)");
    for (int64_t i = 0; i < r->slots * (1 + r->draws); i++) r->sel[i] = -1.0f;
    ap->batch_size = r->p.aux_batch;
    ap->order = EB_AUX_SELECTED;
    ap->draws = r->draws;
    ap->weights = poem_weights;
    ap->weights_ctx = r;
    return eb__energy_margins_setup("poem", &r->p.c, model, id, aux, norm, err);
}

static int poem_state_shape(const void *ctx, int64_t shape[2]) {
    const poem_run *r = ctx;
    if (!r->sel) return 0;
    shape[0] = r->slots, shape[1] = 1 + r->draws;
    return 2;
}
static void poem_state_get(const void *ctx, float *out) {
    const poem_run *r = ctx;
    memcpy(out, r->sel, (size_t)(r->slots * (1 + r->draws)) * sizeof *out);
}
static eb_status poem_state_set(void *ctx, const float *in, int ndim, const int64_t *shape, eb_error *err) {
    poem_run *r = ctx;
    if (ndim != 2 || shape[0] != r->slots || shape[1] != 1 + r->draws)
        return eb_error_set(err, EB_ERR_FORMAT, "poem: the selection buffer does not fit this run");
    for (int64_t i = 0; i < r->slots * (1 + r->draws); i++)
        if (!(in[i] >= -1.0f && (i % (1 + r->draws) == 0 || in[i] < (float)r->aux->n)))
            return eb_error_set(err, EB_ERR_FORMAT, "poem: a selection entry is out of range");
    memcpy(r->sel, in, (size_t)(r->slots * (1 + r->draws)) * sizeof *in);
    return EB_OK;
}

static void poem_summary(const void *ctx, void *cjson_object) {
    const poem_run *r = ctx;
    cJSON_AddNumberToObject(cjson_object, "m_in", (double)r->p.c.m_in);
    cJSON_AddNumberToObject(cjson_object, "m_out", (double)r->p.c.m_out);
}

const eb__objective_method eb__objective_poem = {
    .name = "poem",
    .help = "POEM: energy-ft's loss on outliers mined by Thompson sampling of a Bayesian linear boundary "
            "on the features (Ming et al. 2022; 000's baseline)",
    .params_size = sizeof(poem_params),
    .params = poem_rows,
    .n_params = (int)(sizeof poem_rows / sizeof poem_rows[0]),
    .defaults = poem_defaults,
    .use_code = poem_use_code,
    .check = poem_check,
    .fn = poem_loss,
    .run_new = poem_run_new,
    .run_free = poem_run_free,
    .aux_setup = poem_aux_setup,
    .state_name = "objective.poem_selection",
    .state_shape = poem_state_shape,
    .state_get = poem_state_get,
    .state_set = poem_state_set,
    .summary = poem_summary,
};
