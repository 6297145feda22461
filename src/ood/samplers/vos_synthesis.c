/* VOS-style virtual outliers from the class buffers (Du et al. 2022, "VOS: learning what you don't know by
 * virtual outlier synthesis", the synthesis baseline of 004_6bc3f0c56840d9ea.txt Table 1), on the
 * hyperspherical embeddings HamOS's machinery keeps:
 *   μ_c = mean of class c's buffer rows,  Σ = (1/N) Σ_c Σ_i (z_ci − μ_c)(z_ci − μ_c)ᵀ + 10⁻⁴ I  (shared,
 * VOS), per class: m draws x = μ_c + L ε, ε ~ N(0, I), L Lᵀ = Σ (Cholesky); keep the `per_class` draws of
 * lowest likelihood under N(μ_c, Σ) — the largest ‖ε‖², since (x − μ)ᵀΣ⁻¹(x − μ) = ‖ε‖² — and normalise them
 *   onto the sphere (the embeddings' space; VOS itself works in the unnormalised penultimate space).
 * Only the kept draws are mapped through L. Single-threaded, so the result depends only on the rng state. */
#include "ood/samplers/sphere_sampler_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* In-place lower Cholesky of a[d, d] (row-major, symmetric); false if not positive definite. */
static bool cholesky(double *a, int64_t d) {
    for (int64_t j = 0; j < d; j++) {
        double s = a[j * d + j];
        for (int64_t k = 0; k < j; k++) s -= a[j * d + k] * a[j * d + k];
        if (!(s > 0.0)) return false;
        a[j * d + j] = sqrt(s);
        for (int64_t i = j + 1; i < d; i++) {
            double t = a[i * d + j];
            for (int64_t k = 0; k < j; k++) t -= a[i * d + k] * a[j * d + k];
            a[i * d + j] = t / a[j * d + j];
        }
        for (int64_t k = j + 1; k < d; k++) a[j * d + k] = 0.0;
    }
    return true;
}

eb_status eb_vos_synthesize(const eb_class_buffer *buf, int64_t samples, int64_t per_class, float *out,
                            eb_rng *rng, eb_error *err) {
    if (!buf || !buf->data || buf->n_classes < 1)
        return eb_error_set(err, EB_ERR_ARG, "vos: empty class buffer");
    if (per_class < 1 || samples < per_class || samples > 10000000)
        return eb_error_set(err, EB_ERR_ARG,
                            "vos: keeping %lld of %lld draws per class (need 1 <= keep <= draws "
                            "<= 1e7)",
                            (long long)per_class, (long long)samples);
    int64_t C = buf->n_classes, d = buf->dim, cap = buf->capacity, total = 0;
    for (int64_t c = 0; c < C; c++) {
        if (buf->count[c] < 1)
            return eb_error_set(err, EB_ERR_STATE, "vos: class %lld's buffer is empty", (long long)c);
        total += buf->count[c];
    }
    double *mu = calloc((size_t)(C * d), sizeof *mu), *cov = calloc((size_t)(d * d), sizeof *cov);
    double *eps = malloc((size_t)(samples * d) * sizeof *eps),
           *norm2 = malloc((size_t)samples * sizeof *norm2);
    int64_t *idx = malloc((size_t)per_class * sizeof *idx);
    bool *taken = malloc((size_t)samples * sizeof *taken);
    double *row = malloc((size_t)d * sizeof *row);
    eb_status st = EB_OK;
    if (!mu || !cov || !eps || !norm2 || !idx || !taken || !row)
        st = eb_error_set(err, EB_ERR_NOMEM, "vos: out of memory");
    for (int64_t c = 0; c < C && !st; c++) {
        for (int64_t r = 0; r < buf->count[c]; r++)
            for (int64_t j = 0; j < d; j++) mu[c * d + j] += (double)buf->data[(c * cap + r) * d + j];
        for (int64_t j = 0; j < d; j++) mu[c * d + j] /= (double)buf->count[c];
        for (int64_t r = 0; r < buf->count[c]; r++) {
            const float *z = buf->data + (c * cap + r) * d;
            for (int64_t j = 0; j < d; j++) row[j] = (double)z[j] - mu[c * d + j];
            for (int64_t a = 0; a < d; a++)
                for (int64_t b = 0; b <= a; b++) cov[a * d + b] += row[a] * row[b];
        }
    }
    if (!st) {
        for (int64_t a = 0; a < d; a++)
            for (int64_t b = 0; b <= a; b++) {
                cov[a * d + b] = cov[a * d + b] / (double)total + (a == b ? 1e-4 : 0.0);
                cov[b * d + a] = cov[a * d + b];
            }
        if (!cholesky(cov, d))
            st = eb_error_set(err, EB_ERR_NUMERIC, "vos: the covariance is not positive definite");
    }
    for (int64_t c = 0; c < C && !st; c++) {
        for (int64_t i = 0; i < samples; i++) {
            double s = 0.0;
            for (int64_t j = 0; j < d; j++) {
                eps[i * d + j] = eb_rng_normal(rng);
                s += eps[i * d + j] * eps[i * d + j];
            }
            norm2[i] = s;
        }
        eb__top_indices(norm2, samples, per_class, idx, taken);
        for (int64_t s = 0; s < per_class; s++) {
            const double *e = eps + idx[s] * d;
            double n = 0.0;
            for (int64_t a = 0; a < d; a++) {
                double x = mu[c * d + a];
                for (int64_t b = 0; b <= a; b++) x += cov[a * d + b] * e[b];
                row[a] = x;
                n += x * x;
            }
            n = sqrt(n) > 1e-30 ? sqrt(n) : 1.0;
            for (int64_t a = 0; a < d; a++) out[(c * per_class + s) * d + a] = (float)(row[a] / n);
        }
    }
    free(mu);
    free(cov);
    free(eps);
    free(norm2);
    free(idx);
    free(taken);
    free(row);
    return st;
}
