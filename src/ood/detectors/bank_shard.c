/* Banks split across ranks (bank_shard_impl.h): shares, the top-k merge and the log-sum-exp merge. */
#include "ood/detectors/bank_shard_impl.h"
#include "ood/detectors/gemm_stream_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool eb__bank_split(const eb_detector *d) { return eb_dist_size(d->dist) > 1; }

void eb__bank_rows(const eb_detector *d, int64_t n_held, int64_t n_total, int64_t *lo, int64_t *hi) {
    if (!eb__bank_split(d) || n_held != n_total) {
        *lo = 0;
        *hi = n_held;
        return;
    }
    eb_dist_share(n_total, eb_dist_rank(d->dist), eb_dist_size(d->dist), lo, hi);
}

void eb__bank_keep_share(const eb_detector *d, float **rows, int64_t *n_held, int64_t n_total, int64_t dim) {
    if (!eb__bank_split(d) || *n_held != n_total) return;
    int64_t lo, hi;
    eb_dist_share(n_total, eb_dist_rank(d->dist), eb_dist_size(d->dist), &lo, &hi);
    if (lo > 0) memmove(*rows, *rows + lo * dim, (size_t)((hi - lo) * dim) * sizeof(float));
    if (hi == lo) {
        free(*rows);
        *rows = NULL;
    } else {
        float *shrunk = realloc(*rows, (size_t)((hi - lo) * dim) * sizeof(float));
        if (shrunk) *rows = shrunk; /* else keep the larger block: the share is at its front */
    }
    *n_held = hi - lo;
}

static int cmp_desc(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

eb_status eb__bank_kth(const eb_detector *d, const float *z, int64_t rows, const float *share,
                       int64_t n_share, int64_t k, float *kth, const char *what, eb_error *err) {
    const int ranks = eb_dist_size(d->dist);
    const int64_t k_own = k < n_share ? k : n_share;
    float *mine = malloc((size_t)(rows * k) * sizeof *mine);
    float *all = malloc((size_t)(ranks * rows * k) * sizeof *all);
    float *merged = malloc((size_t)(ranks * k) * sizeof *merged);
    float *list = k_own > 0 ? malloc((size_t)(rows * k_own) * sizeof *list) : NULL;
    eb_status st = EB_OK;
    if (!mine || !all || !merged || (k_own > 0 && !list))
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (top-%lld lists of %lld queries)", what,
                          (long long)k, (long long)rows);
    if (!st && k_own > 0)
        st = eb__gemm_topk_list(z, rows, share, n_share, d->dim, k_own, kth, list, what, err);
    if (!st) {
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < k; j++) mine[i * k + j] = j < k_own ? list[i * k_own + j] : -INFINITY;
        st = eb_dist_allgather_f32(d->dist, mine, rows * k, all, err);
    }
    for (int64_t i = 0; !st && i < rows; i++) { /* the k-th largest of the ranks' lists for query i */
        for (int r = 0; r < ranks; r++)
            memcpy(merged + r * k, all + (r * rows + i) * k, (size_t)k * sizeof *merged);
        qsort(merged, (size_t)(ranks * k), sizeof *merged, cmp_desc);
        kth[i] = merged[k - 1];
    }
    free(list);
    free(merged);
    free(all);
    free(mine);
    return st;
}

eb_status eb__bank_lse(const eb_detector *d, const float *q, int64_t rows, const float *share,
                       int64_t n_share, float beta, double *lse, const char *what, eb_error *err) {
    const int ranks = eb_dist_size(d->dist);
    double *all = malloc((size_t)(ranks * rows) * sizeof *all);
    if (!all)
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%lld queries)", what, (long long)rows);
    eb_status st = EB_OK;
    if (n_share > 0)
        st = eb__gemm_lse(q, rows, share, n_share, d->dim, beta, lse, NULL, what, err);
    else
        for (int64_t i = 0; i < rows; i++) lse[i] = -INFINITY; /* log of an empty sum */
    if (!st) st = eb_dist_allgather_f64(d->dist, lse, rows, all, err);
    for (int64_t i = 0; !st && i < rows; i++) {
        double m = -INFINITY, sum = 0.0;
        for (int r = 0; r < ranks; r++)
            if (all[r * rows + i] > m) m = all[r * rows + i];
        for (int r = 0; r < ranks; r++) sum += exp(all[r * rows + i] - m); /* exp(−Inf) = 0 */
        lse[i] = m + log(sum);
    }
    free(all);
    return st;
}
