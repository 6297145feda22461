/* Modern Hopfield energies: the log-sum-exp kernels (eb_hopfield_lse, eb_hopfield_lme) and the
 * hopfield / hopfield_aux detectors.
 *
 * hopfield — 000_d95ac7511efbaafc.txt (Hopfield Boosting), Eq. 2 and Eq. 8. Stored patterns
 * X = the ID training features x_1..x_N, kept UNNORMALISED: the paper's inference section says
 * performance improves when I and ξ remain unnormalised (the norms learned by the cross-entropy
 * carry OOD information). Score (higher = more ID):
 *     s(ξ) = −E(ξ; X) = lse(β, Xᵀξ) − ½ξᵀξ − β⁻¹·log N − ½M²,   M = max_i ‖x_i‖,
 *     lse(β, v) = β⁻¹·log Σ_i exp(β·v_i)                             (Eq. 3)
 * β from the params (default 4, specs §2; the paper tunes it in {2, 4, 8}). The last two terms are
 * constants of the fitted memory: they change no ranking, but keep s the negative energy.
 * Saved tensor: "patterns" [N, dim].
 *
 * hopfield_aux — the inference score of the authors' code (specs §2 (a)), two memories of
 * L2-normalised vectors: X̂ = the ID training features, Ô = the auxiliary outliers (fit's
 * aux_features), ξ̂ the normalised query:
 *     s(ξ) = E_b − E_a = lme_β(ξ̂ᵀX̂) − lme_β(ξ̂ᵀÔ),   lme_β(v) = β⁻¹·log((1/N) Σ_i exp(β·v_i)).
 * Saved tensors: "patterns" [N, dim], "aux_patterns" [N_aux, dim] (normalised).
 *
 * Both stream the log-sum-exp through the blocked GEMM (gemm_stream_impl.h): no N × n matrix. */
#include "ood/detector_impl.h"
#include "ood/detectors/bank_shard_impl.h"
#include "ood/detectors/gemm_stream_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCORE_CHUNK 8192 /* queries per kernel call (bounds the temporaries) */

/* ---- kernels ------------------------------------------------------------------------------------- */

static eb_status lse_common(const char *fn, const float *queries, int64_t n_q, const float *bank,
                            int64_t n_bank, int64_t dim, float beta, bool mean, float *out, eb_error *err) {
    if (!(isfinite(beta) && beta > 0.0f))
        return eb_error_set(err, EB_ERR_ARG, "%s: beta must be a finite number > 0 (got %g)", fn,
                            (double)beta);
    eb_status st = eb__gemm_check_args(fn, queries, n_q, bank, n_bank, dim, out, (double)beta, err);
    if (st || n_q == 0) return st;
    const int64_t chunk = n_q < SCORE_CHUNK ? n_q : SCORE_CHUNK;
    double *lse = malloc((size_t)chunk * sizeof *lse);
    if (!lse) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", fn);
    const double shift = mean ? log((double)n_bank) : 0.0;
    for (int64_t i0 = 0; i0 < n_q && !st; i0 += chunk) {
        const int64_t rows = n_q - i0 < chunk ? n_q - i0 : chunk;
        st = eb__gemm_lse(queries + i0 * dim, rows, bank, n_bank, dim, beta, lse, NULL, fn, err);
        for (int64_t i = 0; !st && i < rows; i++) {
            out[i0 + i] = (float)((lse[i] - shift) / (double)beta);
            if (!isfinite(lse[i]) || !isfinite(out[i0 + i]))
                st = eb_error_set(err, EB_ERR_NUMERIC, "%s: query %lld: result is not finite (overflow)", fn,
                                  (long long)(i0 + i));
        }
    }
    free(lse);
    return st;
}

eb_status eb_hopfield_lse(const float *queries, int64_t n_q, const float *bank, int64_t n_bank, int64_t dim,
                          float beta, float *out, eb_error *err) {
    return lse_common("eb_hopfield_lse", queries, n_q, bank, n_bank, dim, beta, false, out, err);
}

eb_status eb_hopfield_lme(const float *queries, int64_t n_q, const float *bank, int64_t n_bank, int64_t dim,
                          float beta, float *out, eb_error *err) {
    return lse_common("eb_hopfield_lme", queries, n_q, bank, n_bank, dim, beta, true, out, err);
}

/* ---- shared detector state ------------------------------------------------------------------------ */

typedef struct hopfield_state {
    float *patterns; /* [n, dim]: raw (hopfield) or normalised (hopfield_aux) */
    int64_t n;
    float *aux; /* [n_aux, dim] normalised (hopfield_aux only) */
    int64_t n_aux;
    /* rows of the whole memories (n, n_aux unless eb_detector_distribute released the other ranks') */
    int64_t n_total, n_aux_total;
    /* derived (fit and load compute them the same way) */
    double max_norm_sq; /* M² = max_i ‖x_i‖² (hopfield) */
    float max_abs;      /* max |x_ic| over the memories, for the overflow check */
} hopfield_state;

static void hopfield_free(eb_detector *d) {
    hopfield_state *s = d->state;
    if (s) {
        free(s->patterns);
        free(s->aux);
        free(s);
    }
    d->state = NULL;
}

static double row_norm_sq(const float *x, int64_t dim) {
    double ss = 0.0;
    for (int64_t c = 0; c < dim; c++) ss += (double)x[c] * (double)x[c];
    return ss;
}

static void derive(hopfield_state *s, int64_t dim) {
    s->max_norm_sq = 0.0;
    for (int64_t i = 0; i < s->n; i++) {
        const double ss = row_norm_sq(s->patterns + i * dim, dim);
        if (ss > s->max_norm_sq) s->max_norm_sq = ss;
    }
    s->max_abs = eb__gemm_max_abs(s->patterns, s->n, dim);
    if (s->aux) {
        const float a = eb__gemm_max_abs(s->aux, s->n_aux, dim);
        if (a > s->max_abs) s->max_abs = a;
    }
}

static eb_status alloc_state(eb_detector *d, int64_t n, int64_t n_aux, const char *who, eb_error *err) {
    hopfield_state *s = calloc(1, sizeof *s);
    if (s) {
        s->patterns = malloc((size_t)(n * d->dim) * sizeof(float));
        s->aux = n_aux > 0 ? malloc((size_t)(n_aux * d->dim) * sizeof(float)) : NULL;
    }
    if (!s || !s->patterns || (n_aux > 0 && !s->aux)) {
        if (s) {
            free(s->patterns);
            free(s->aux);
            free(s);
        }
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%lld + %lld patterns of dim %lld)", who,
                            (long long)n, (long long)n_aux, (long long)d->dim);
    }
    s->n = s->n_total = n;
    s->n_aux = s->n_aux_total = n_aux;
    d->state = s;
    return EB_OK;
}

/* lse[i] = log Σ_j exp(β·q_i·x_j) over a memory of n_total rows of which `held` are at x: all of them in
 * one process; split across ranks, this rank's share merged over the ranks (bank_shard_impl.h). */
static eb_status memory_lse(const eb_detector *d, const float *q, int64_t rows, const float *x, int64_t held,
                            int64_t n_total, double *lse, const char *what, eb_error *err) {
    if (!eb__bank_split(d))
        return eb__gemm_lse(q, rows, x, held, d->dim, d->params.beta, lse, NULL, what, err);
    int64_t lo, hi;
    eb__bank_rows(d, held, n_total, &lo, &hi);
    return eb__bank_lse(d, q, rows, hi > lo ? x + lo * d->dim : x, hi - lo, d->params.beta, lse, what, err);
}

/* Frees the other ranks' rows of the memories (eb_detector_distribute with release); M², the overflow
 * bound and the totals stay those of the whole memories. */
static void hopfield_release_share(eb_detector *d) {
    hopfield_state *s = d->state;
    eb__bank_keep_share(d, &s->patterns, &s->n, s->n_total, d->dim);
    if (s->aux) eb__bank_keep_share(d, &s->aux, &s->n_aux, s->n_aux_total, d->dim);
}

/* ---- hopfield (000_… Eq. 8) ----------------------------------------------------------------------- */

static eb_status hopfield_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    eb_status st =
        eb__gemm_check_range("hopfield: train.features", eb__gemm_max_abs(x->features, x->n, d->dim), 0.0f,
                             d->dim, (double)d->params.beta, err);
    if (!st) st = alloc_state(d, x->n, 0, "hopfield", err);
    if (st) return st;
    hopfield_state *s = d->state;
    memcpy(s->patterns, x->features, (size_t)(x->n * d->dim) * sizeof(float));
    derive(s, d->dim);
    return EB_OK;
}

static eb_status hopfield_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    const hopfield_state *s = d->state;
    const int64_t dim = d->dim, n = x->n;
    const double beta = (double)d->params.beta;
    eb_status st = eb__gemm_check_range("hopfield: features", eb__gemm_max_abs(x->features, n, dim),
                                        s->max_abs, dim, beta, err);
    if (st) return st;
    const int64_t chunk = n < SCORE_CHUNK ? n : SCORE_CHUNK;
    double *lse = malloc((size_t)chunk * sizeof *lse);
    if (!lse) return eb_error_set(err, EB_ERR_NOMEM, "hopfield: out of memory");
    const double constant = log((double)s->n_total) / beta + 0.5 * s->max_norm_sq;
    for (int64_t i0 = 0; i0 < n && !st; i0 += chunk) {
        const int64_t rows = n - i0 < chunk ? n - i0 : chunk;
        const float *q = x->features + i0 * dim;
        st = memory_lse(d, q, rows, s->patterns, s->n, s->n_total, lse, "hopfield", err);
        for (int64_t i = 0; !st && i < rows; i++) {
            const double v = lse[i] / beta - 0.5 * row_norm_sq(q + i * dim, dim) - constant;
            scores[i0 + i] = (float)v;
            if (!isfinite(scores[i0 + i]))
                st = eb_error_set(err, EB_ERR_NUMERIC,
                                  "hopfield: features row %lld: score is not finite (overflow)",
                                  (long long)(i0 + i));
        }
    }
    free(lse);
    return st;
}

static int hopfield_tensors(const eb_detector *d, eb_st_tensor *out, int max) {
    const hopfield_state *s = d->state;
    if (!s || max < 1) return 0;
    out[0] = eb__f32_tensor("patterns", s->patterns, s->n, d->dim);
    if (!s->aux || max < 2) return 1;
    out[1] = eb__f32_tensor("aux_patterns", s->aux, s->n_aux, d->dim);
    return 2;
}

/* Rows of the [n >= 1, dim] tensor `name`, or an EB_ERR_FORMAT naming the file. */
static eb_status tensor_rows(const eb_safetensors *file, const char *name, const eb_detector *d, int64_t *n,
                             eb_error *err) {
    const char *path = eb_safetensors_path(file);
    const eb_st_tensor *t = eb_safetensors_find(file, name);
    if (!t)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: missing tensor '%s' (%s detector)", path, name,
                            eb_detector_kind_name(d->kind));
    if (t->ndim != 2 || t->shape[0] < 1 || t->shape[1] != d->dim)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s' must have shape [n >= 1, %lld] (ebood.dim)",
                            path, name, (long long)d->dim);
    *n = t->shape[0];
    return EB_OK;
}

/* Checks the saved memory rows are L2-normalised (hopfield_aux). */
static eb_status check_normalised(const eb_safetensors *file, const char *name, const float *x, int64_t n,
                                  int64_t dim, eb_error *err) {
    for (int64_t i = 0; i < n; i++) {
        const double ss = row_norm_sq(x + i * dim, dim);
        if (ss > 1.0 + 1e-4 || (ss < 1.0 - 1e-4 && ss != 0.0))
            return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s' row %lld has norm %g (expected 1)",
                                eb_safetensors_path(file), name, (long long)i, sqrt(ss));
    }
    return EB_OK;
}

static eb_status hopfield_load(eb_detector *d, const eb_safetensors *file, eb_error *err) {
    const bool aux = d->kind == EB_DETECTOR_HOPFIELD_AUX;
    int64_t n = 0, n_aux = 0;
    eb_status st = tensor_rows(file, "patterns", d, &n, err);
    if (!st && aux) st = tensor_rows(file, "aux_patterns", d, &n_aux, err);
    if (st) return st;
    hopfield_state *s = calloc(1, sizeof *s);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", eb_safetensors_path(file));
    d->state = s; /* partially built state is freed by free_state */
    const int64_t shape[2] = {n, d->dim}, shape_aux[2] = {n_aux, d->dim};
    st = eb__detector_get_f32(file, "patterns", 2, shape, &s->patterns, err);
    if (!st) s->n = s->n_total = n;
    if (!st && aux) st = eb__detector_get_f32(file, "aux_patterns", 2, shape_aux, &s->aux, err);
    if (!st && aux) s->n_aux = s->n_aux_total = n_aux;
    if (!st && aux) st = check_normalised(file, "patterns", s->patterns, n, d->dim, err);
    if (!st && aux) st = check_normalised(file, "aux_patterns", s->aux, n_aux, d->dim, err);
    if (st) return st;
    derive(s, d->dim);
    if (!aux && eb__gemm_check_range("", s->max_abs, 0.0f, d->dim, (double)d->params.beta, NULL))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor 'patterns': values too large (max |x| = %g)",
                            eb_safetensors_path(file), (double)s->max_abs);
    return EB_OK;
}

const eb__detector_method eb__detector_hopfield = {
    .name = "hopfield",
    .params_used = EB_PARAM_BETA,
    .needs = EB_NEEDS_FEATURES,
    .fit = hopfield_fit,
    .score = hopfield_score,
    .tensors = hopfield_tensors,
    .load = hopfield_load,
    .free_state = hopfield_free,
    .release_share = hopfield_release_share,
};

/* ---- hopfield_aux (specs §2: lme_β(ξᵀX_id) − lme_β(ξᵀO_aux), normalised) ---------------------------- */

static eb_status hopfield_aux_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    eb_status st = alloc_state(d, x->n, x->n_aux, "hopfield_aux", err);
    if (st) return st;
    hopfield_state *s = d->state;
    eb__l2_normalize_rows(s->patterns, x->features, x->n, d->dim);
    eb__l2_normalize_rows(s->aux, x->aux_features, x->n_aux, d->dim);
    derive(s, d->dim);
    return EB_OK;
}

static eb_status hopfield_aux_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    const hopfield_state *s = d->state;
    const int64_t dim = d->dim, n = x->n;
    const double beta = (double)d->params.beta;
    eb_status st = eb__gemm_check_range("hopfield_aux", 1.0f, s->max_abs, dim, beta, err);
    if (st) return st;
    const int64_t chunk = n < SCORE_CHUNK ? n : SCORE_CHUNK;
    float *z = malloc((size_t)(chunk * dim) * sizeof *z);
    double *lse_id = malloc((size_t)chunk * sizeof *lse_id),
           *lse_aux = malloc((size_t)chunk * sizeof *lse_aux);
    if (!z || !lse_id || !lse_aux) st = eb_error_set(err, EB_ERR_NOMEM, "hopfield_aux: out of memory");
    const double log_n = log((double)s->n_total), log_n_aux = log((double)s->n_aux_total);
    for (int64_t i0 = 0; i0 < n && !st; i0 += chunk) {
        const int64_t rows = n - i0 < chunk ? n - i0 : chunk;
        eb__l2_normalize_rows(z, x->features + i0 * dim, rows, dim);
        st = memory_lse(d, z, rows, s->patterns, s->n, s->n_total, lse_id, "hopfield_aux", err);
        if (!st) st = memory_lse(d, z, rows, s->aux, s->n_aux, s->n_aux_total, lse_aux, "hopfield_aux", err);
        for (int64_t i = 0; !st && i < rows; i++) {
            scores[i0 + i] = (float)(((lse_id[i] - log_n) - (lse_aux[i] - log_n_aux)) / beta);
            if (!isfinite(scores[i0 + i]))
                st = eb_error_set(err, EB_ERR_NUMERIC, "hopfield_aux: features row %lld: score is not finite",
                                  (long long)(i0 + i));
        }
    }
    free(z);
    free(lse_id);
    free(lse_aux);
    return st;
}

const eb__detector_method eb__detector_hopfield_aux = {
    .name = "hopfield_aux",
    .params_used = EB_PARAM_BETA,
    .needs = EB_NEEDS_FEATURES | EB_NEEDS_AUX,
    .fit = hopfield_aux_fit,
    .score = hopfield_aux_score,
    .tensors = hopfield_tensors,
    .load = hopfield_load,
    .free_state = hopfield_free,
    .release_share = hopfield_release_share,
};
