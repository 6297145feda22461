/* NPOS-style outliers from the class buffers (Tao et al. 2023, "Non-parametric outlier synthesis", the
 * synthesis baseline of 004_6bc3f0c56840d9ea.txt Table 1), class by class as its trainer does:
 *   d_k(z) = distance to the k-th nearest other row of the class buffer (eb_knn_kth_distance, k + 1 with the
 *   row itself); the ⌈per_class/2⌉ rows of largest d_k are the boundary; around each, `samples` candidates
 *   normalise(z_b + σ ε), ε ~ N(0, I), of which the 2 of largest d_k to the class are kept (NPOS's
 *   ID_points_num = 2), the first per_class of them written to out[c·per_class …].
 * NPOS picks its boundary points at random among the `select` farthest; here the farthest themselves.
 * Single-threaded draws: the result depends only on the rng state (the k-NN kernel is deterministic). */
#include "ood/samplers/sphere_sampler_impl.h"
#include <ebood/ood.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_status eb_npos_synthesize(const eb_class_buffer *buf, int64_t k, int64_t samples, float sigma,
                             int64_t per_class, float *out, eb_rng *rng, eb_error *err) {
    if (!buf || !buf->data || buf->n_classes < 1)
        return eb_error_set(err, EB_ERR_ARG, "npos: empty class buffer");
    if (per_class < 1 || samples < 2 || samples > 1000000 || !(isfinite(sigma) && sigma > 0.0f))
        return eb_error_set(err, EB_ERR_ARG,
                            "npos: %lld outliers per class, %lld candidates, sigma %g (need >= 1, "
                            "2..1e6, > 0)",
                            (long long)per_class, (long long)samples, (double)sigma);
    int64_t C = buf->n_classes, d = buf->dim, cap = buf->capacity, nb = (per_class + 1) / 2;
    for (int64_t c = 0; c < C; c++)
        if (buf->count[c] < k + 1 || buf->count[c] < nb)
            return eb_error_set(err, EB_ERR_STATE,
                                "npos: class %lld holds %lld rows, fewer than k + 1 = %lld or "
                                "the %lld boundary points",
                                (long long)c, (long long)buf->count[c], (long long)(k + 1), (long long)nb);
    float *dk = malloc((size_t)cap * sizeof *dk), *cand = malloc((size_t)(samples * d) * sizeof *cand);
    float *cd = malloc((size_t)samples * sizeof *cd);
    double *dd = malloc((size_t)(cap > samples ? cap : samples) * sizeof *dd); /* the selections' keys */
    int64_t *bidx = malloc((size_t)nb * sizeof *bidx), best[2];
    bool *taken = malloc((size_t)(cap > samples ? cap : samples) * sizeof *taken);
    eb_status st = !dk || !cand || !cd || !dd || !bidx || !taken
                       ? eb_error_set(err, EB_ERR_NOMEM, "npos: out of memory")
                       : EB_OK;
    for (int64_t c = 0; c < C && !st; c++) {
        const float *zc = buf->data + c * cap * d;
        int64_t m = buf->count[c], written = 0;
        if ((st = eb_knn_kth_distance(zc, m, zc, m, d, k + 1, dk, err))) break;
        for (int64_t i = 0; i < m; i++) dd[i] = (double)dk[i];
        eb__top_indices(dd, m, nb, bidx, taken);
        for (int64_t b = 0; b < nb && !st; b++) {
            const float *zb = zc + bidx[b] * d;
            for (int64_t i = 0; i < samples; i++) {
                double n = 0.0;
                for (int64_t j = 0; j < d; j++) {
                    cand[i * d + j] = zb[j] + sigma * (float)eb_rng_normal(rng);
                    n += (double)cand[i * d + j] * (double)cand[i * d + j];
                }
                n = sqrt(n) > 1e-30 ? sqrt(n) : 1.0;
                for (int64_t j = 0; j < d; j++) cand[i * d + j] = (float)((double)cand[i * d + j] / n);
            }
            if ((st = eb_knn_kth_distance(cand, samples, zc, m, d, k, cd, err))) break;
            for (int64_t i = 0; i < samples; i++) dd[i] = (double)cd[i];
            eb__top_indices(dd, samples, 2, best, taken);
            for (int s = 0; s < 2 && written < per_class; s++, written++)
                memcpy(out + (c * per_class + written) * d, cand + best[s] * d, (size_t)d * sizeof *out);
        }
    }
    free(dk);
    free(cand);
    free(cd);
    free(dd);
    free(bidx);
    free(taken);
    return st;
}
