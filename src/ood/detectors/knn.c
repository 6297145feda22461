/* k-NN: the exact k-th-neighbour kernels (eb_knn_kth_distance, eb_knn_kth_inner_product) and the
 * knn detector (Sun et al. 2022, "Out-of-distribution detection with deep nearest neighbors", as
 * used by 001_… and 004_…).
 *
 * Detector. Fit: bank = the ID training features, each row L2-normalised (x/max(‖x‖, 1e-12)).
 * Score of a feature vector z (higher = more ID):
 *     s(z) = −‖ẑ − b_(k)‖₂ = −sqrt(max(0, 2 − 2·ẑᵀb_(k))),   ẑ = z/max(‖z‖, 1e-12),
 * with b_(k) the k-th nearest bank row (the k-th largest cosine similarity). The paper defines the
 * score as the negative k-th distance; its code (and HamOS's, specs §3) reads FAISS IndexFlatL2's
 * output, which is the SQUARED distance, i.e. scores −d². The two rank samples identically (same
 * AUROC/FPR); we report −d (the paper's definition, and sklearn's NearestNeighbors distance).
 * Saved tensor: "bank" [N, dim], the normalised rows. */
#include "ood/detector_impl.h"
#include "ood/detectors/bank_shard_impl.h"
#include "ood/detectors/gemm_stream_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCORE_CHUNK 8192 /* queries normalised at a time */

/* ---- kernels ------------------------------------------------------------------------------------- */

static eb_status check_k(const char *fn, int64_t k, int64_t n_bank, eb_error *err) {
    if (k < 1 || k > n_bank)
        return eb_error_set(err, EB_ERR_ARG, "%s: k = %lld must be in [1, n_bank = %lld]", fn, (long long)k,
                            (long long)n_bank);
    return EB_OK;
}

/* ‖x‖² in double, four partial sums (so the loop is not one long dependency chain). */
static double sq_norm(const float *x, int64_t dim) {
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t c = 0;
    for (; c + 4 <= dim; c += 4)
        for (int u = 0; u < 4; u++) s[u] += (double)x[c + u] * (double)x[c + u];
    for (; c < dim; c++) s[0] += (double)x[c] * (double)x[c];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

static eb_status check_outputs(const char *fn, const float *out, int64_t n, eb_error *err) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(out[i]))
            return eb_error_set(err, EB_ERR_NUMERIC, "%s: query %lld: result is not finite (overflow)", fn,
                                (long long)i);
    return EB_OK;
}

eb_status eb_knn_kth_inner_product(const float *queries, int64_t n_q, const float *bank, int64_t n_bank,
                                   int64_t dim, int64_t k, float *kth_ip, eb_error *err) {
    static const char fn[] = "eb_knn_kth_inner_product";
    eb_status st = eb__gemm_check_args(fn, queries, n_q, bank, n_bank, dim, kth_ip, 1.0, err);
    if (!st) st = check_k(fn, k, n_bank, err);
    if (!st) st = eb__gemm_topk(queries, n_q, bank, n_bank, dim, NULL, k, kth_ip, NULL, fn, err);
    if (!st) st = check_outputs(fn, kth_ip, n_q, err);
    return st;
}

eb_status eb_knn_kth_distance(const float *queries, int64_t n_q, const float *bank, int64_t n_bank,
                              int64_t dim, int64_t k, float *kth_dist, eb_error *err) {
    static const char fn[] = "eb_knn_kth_distance";
    eb_status st = eb__gemm_check_args(fn, queries, n_q, bank, n_bank, dim, kth_dist, 2.0, err);
    if (!st) st = check_k(fn, k, n_bank, err);
    if (st || n_q == 0) return st;
    /* ‖q − b‖² = ‖q‖² − 2·(q·b − ½‖b‖²): the nearest rows maximise q·b − ½‖b‖² */
    float *half_sq = malloc((size_t)n_bank * sizeof *half_sq);
    if (!half_sq)
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%lld bank norms)", fn, (long long)n_bank);
#pragma omp parallel for schedule(static) if (n_bank * dim >= (1 << 18))
    for (int64_t j = 0; j < n_bank; j++) half_sq[j] = (float)(0.5 * sq_norm(bank + j * dim, dim));
    st = eb__gemm_topk(queries, n_q, bank, n_bank, dim, half_sq, k, kth_dist, NULL, fn, err);
    free(half_sq);
    if (!st) st = check_outputs(fn, kth_dist, n_q, err);
    if (st) return st;
#pragma omp parallel for schedule(static) if (n_q * dim >= (1 << 18))
    for (int64_t i = 0; i < n_q; i++) {
        const double d2 = sq_norm(queries + i * dim, dim) - 2.0 * (double)kth_dist[i];
        kth_dist[i] = (float)sqrt(d2 > 0.0 ? d2 : 0.0);
    }
    return EB_OK;
}

/* ---- the detector ------------------------------------------------------------------------------- */

typedef struct knn_state {
    float *bank; /* [n, dim] L2-normalised */
    int64_t n;
    int64_t n_total; /* rows of the whole bank (n, unless eb_detector_distribute released the others') */
} knn_state;

static void knn_free(eb_detector *d) {
    knn_state *s = d->state;
    if (s) {
        free(s->bank);
        free(s);
    }
    d->state = NULL;
}

static eb_status knn_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    const int64_t n = x->n, dim = d->dim;
    if (d->params.k > n)
        return eb_error_set(err, EB_ERR_ARG, "k: %lld is larger than the bank (%lld training features)",
                            (long long)d->params.k, (long long)n);
    knn_state *s = calloc(1, sizeof *s);
    if (s) s->bank = malloc((size_t)(n * dim) * sizeof(float));
    if (!s || !s->bank) {
        free(s);
        return eb_error_set(err, EB_ERR_NOMEM, "knn: out of memory (bank of %lld × %lld)", (long long)n,
                            (long long)dim);
    }
    eb__l2_normalize_rows(s->bank, x->features, n, dim);
    s->n = s->n_total = n;
    d->state = s;
    return EB_OK;
}

static eb_status knn_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    const knn_state *s = d->state;
    const int64_t dim = d->dim, n = x->n;
    const int64_t chunk = n < SCORE_CHUNK ? n : SCORE_CHUNK;
    float *z = malloc((size_t)(chunk * dim) * sizeof *z);
    if (!z)
        return eb_error_set(err, EB_ERR_NOMEM, "knn: out of memory (%lld × %lld queries)", (long long)chunk,
                            (long long)dim);
    eb_status st = EB_OK;
    for (int64_t i0 = 0; i0 < n && !st; i0 += chunk) {
        const int64_t rows = n - i0 < chunk ? n - i0 : chunk;
        eb__l2_normalize_rows(z, x->features + i0 * dim, rows, dim);
        if (eb__bank_split(d)) { /* this rank's share of the bank, merged over the ranks */
            int64_t lo, hi;
            eb__bank_rows(d, s->n, s->n_total, &lo, &hi);
            st = eb__bank_kth(d, z, rows, hi > lo ? s->bank + lo * dim : s->bank, hi - lo, d->params.k,
                              scores + i0, "knn", err);
        } else {
            st = eb__gemm_topk(z, rows, s->bank, s->n, dim, NULL, d->params.k, scores + i0, NULL, "knn", err);
        }
        for (int64_t i = 0; !st && i < rows; i++) {
            const double c = (double)scores[i0 + i]; /* k-th largest cosine similarity */
            const double d2 = 2.0 - 2.0 * c;
            scores[i0 + i] = (float)-sqrt(d2 > 0.0 ? d2 : 0.0);
        }
    }
    free(z);
    return st;
}

static int knn_tensors(const eb_detector *d, eb_st_tensor *out, int max) {
    const knn_state *s = d->state;
    if (!s || max < 1) return 0;
    out[0] = eb__f32_tensor("bank", s->bank, s->n, d->dim);
    return 1;
}

static eb_status knn_load(eb_detector *d, const eb_safetensors *file, eb_error *err) {
    const char *path = eb_safetensors_path(file);
    const eb_st_tensor *t = eb_safetensors_find(file, "bank");
    if (!t) return eb_error_set(err, EB_ERR_FORMAT, "%s: missing tensor 'bank' (knn detector)", path);
    if (t->ndim != 2 || t->shape[0] < 1 || t->shape[1] != d->dim)
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: tensor 'bank' must have shape [n >= 1, %lld] (ebood.dim)", path,
                            (long long)d->dim);
    const int64_t n = t->shape[0];
    if (d->params.k > n)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: k = %lld is larger than the bank (%lld rows)", path,
                            (long long)d->params.k, (long long)n);
    knn_state *s = calloc(1, sizeof *s);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    const int64_t shape[2] = {n, d->dim};
    eb_status st = eb__detector_get_f32(file, "bank", 2, shape, &s->bank, err);
    if (st) {
        free(s);
        return st;
    }
    s->n = s->n_total = n;
    d->state = s;
    /* the rows were saved L2-normalised; anything else is not a file we wrote */
    for (int64_t i = 0; i < n; i++) {
        const double ss = sq_norm(s->bank + i * d->dim, d->dim);
        if (ss > 1.0 + 1e-4 || (ss < 1.0 - 1e-4 && ss != 0.0))
            return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor 'bank' row %lld has norm %g (expected 1)",
                                path, (long long)i, sqrt(ss));
    }
    return EB_OK;
}

static void knn_release_share(eb_detector *d) {
    knn_state *s = d->state;
    eb__bank_keep_share(d, &s->bank, &s->n, s->n_total, d->dim);
}

const eb__detector_method eb__detector_knn = {
    .name = "knn",
    .params_used = EB_PARAM_K,
    .needs = EB_NEEDS_FEATURES,
    .fit = knn_fit,
    .score = knn_score,
    .tensors = knn_tensors,
    .load = knn_load,
    .free_state = knn_free,
    .release_share = knn_release_share,
};
