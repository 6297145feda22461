/* Class means, tied covariance and a ridge-guarded Cholesky factor (gaussian_impl.h), shared by
 * the mahalanobis/ssd, gmm and heat detectors. */
#include "ood/detectors/gaussian_impl.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIT_BLOCK 1024  /* training rows per DSYRK block */
#define MIN_RCOND 1e-10 /* below this Σ counts as singular */

eb_status eb__class_gaussian(const float *z, const int32_t *y, int64_t n, int64_t dim, int64_t nc,
                             double *means, int64_t *counts, double *sigma) {
    int64_t *count = calloc((size_t)nc, sizeof *count);
    double *block = malloc((size_t)(FIT_BLOCK * dim) * sizeof *block);
    if (!count || !block) {
        free(count);
        free(block);
        return EB_ERR_NOMEM;
    }
    memset(means, 0, (size_t)(nc * dim) * sizeof *means);
    memset(sigma, 0, (size_t)(dim * dim) * sizeof *sigma);
    /* class means */
    for (int64_t i = 0; i < n; i++) {
        const int32_t c = y[i];
        count[c]++;
        for (int64_t j = 0; j < dim; j++) means[c * dim + j] += (double)z[i * dim + j];
    }
    for (int64_t c = 0; c < nc; c++)
        for (int64_t j = 0; j < dim; j++) means[c * dim + j] /= (double)count[c];
    /* Σ = (1/N) Σ_i (z_i − μ_y)(z_i − μ_y)ᵀ, accumulated block by block (upper triangle) */
    for (int64_t start = 0; start < n; start += FIT_BLOCK) {
        const int64_t b = n - start < FIT_BLOCK ? n - start : FIT_BLOCK;
        for (int64_t i = 0; i < b; i++) {
            const int32_t c = y[start + i];
            for (int64_t j = 0; j < dim; j++)
                block[i * dim + j] = (double)z[(start + i) * dim + j] - means[c * dim + j];
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (blasint)dim, (blasint)b, 1.0, block, (blasint)dim,
                    1.0, sigma, (blasint)dim);
    }
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = i; j < dim; j++) {
            sigma[i * dim + j] /= (double)n;
            sigma[j * dim + i] = sigma[i * dim + j];
        }
    if (counts) memcpy(counts, count, (size_t)nc * sizeof *counts);
    free(count);
    free(block);
    return EB_OK;
}

/* Cholesky of Σ + λI into chol (lower, zeros above); true if it works and rcond ≥ MIN_RCOND. */
static bool try_cholesky(const double *sigma, int64_t dim, double lambda, double *chol, double *rcond_out) {
    const lapack_int n = (lapack_int)dim;
    memcpy(chol, sigma, (size_t)(dim * dim) * sizeof *chol);
    for (int64_t i = 0; i < dim; i++) chol[i * dim + i] += lambda;
    const double anorm = LAPACKE_dlansy(LAPACK_ROW_MAJOR, '1', 'L', n, chol, n);
    *rcond_out = 0.0;
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, chol, n) != 0) return false;
    double rcond = 0.0;
    if (LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'L', n, chol, n, anorm, &rcond) != 0) return false;
    *rcond_out = rcond;
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = i + 1; j < dim; j++) chol[i * dim + j] = 0.0;
    return rcond >= MIN_RCOND;
}

eb_status eb__covariance_check(const double *sigma, int64_t dim, int64_t n, int64_t nc, const char *name,
                               eb_error *err) {
    double trace = 0.0;
    for (int64_t i = 0; i < dim; i++) trace += sigma[i * dim + i];
    if (!isfinite(trace))
        return eb_error_set(err, EB_ERR_NUMERIC, "%s: the covariance of the training features is not finite",
                            name);
    if (trace <= 0.0)
        return eb_error_set(
            err, EB_ERR_NUMERIC,
            "%s: the training features have zero variance within their classes (%lld samples, "
            "%lld classes, dim %lld: every feature constant, or one sample per class); no "
            "Gaussian fits them",
            name, (long long)n, (long long)nc, (long long)dim);
    return EB_OK;
}

eb_status eb__cholesky_ridge(const double *sigma, int64_t dim, double base_ridge, double *chol,
                             double *lambda, double *rcond0) {
    double trace = 0.0, rcond = 0.0;
    bool constant_feature = false; /* a zero variance: Σ is singular whatever base_ridge hides */
    for (int64_t i = 0; i < dim; i++) {
        trace += sigma[i * dim + i];
        constant_feature |= !(sigma[i * dim + i] > 0.0);
    }
    const double scale = trace > 0.0 ? trace / (double)dim : 1.0;
    *lambda = 0.0;
    *rcond0 = 0.0;
    if (!constant_feature && try_cholesky(sigma, dim, base_ridge, chol, rcond0)) return EB_OK;
    for (int k = 0; k <= 6; k++) {
        *lambda = scale * 1e-6 * pow(10.0, k);
        if (try_cholesky(sigma, dim, base_ridge + *lambda, chol, &rcond)) return EB_OK;
    }
    return EB_ERR_NUMERIC;
}
