/* Class-conditional Gaussians with one tied covariance, shared by the mahalanobis/ssd detectors
 * (mahalanobis.c), the gmm detector and HEAT's GMM prior (gmm.c, heat.c). */
#ifndef EBOOD_GAUSSIAN_IMPL_H
#define EBOOD_GAUSSIAN_IMPL_H

#include "ood/detector_impl.h"

#include <ebood/tensor.h>

/* Class statistics of features z[n, dim] with labels y[n] ∈ [0, nc), every class non-empty:
 *   means[c, :] = μ_c = (1/N_c) Σ_{i: y_i = c} z_i                      (double [nc, dim])
 *   counts[c]   = N_c                                                      (may be NULL)
 *   sigma       = Σ = (1/N) Σ_i (z_i − μ_{y_i})(z_i − μ_{y_i})ᵀ           (double [dim, dim], symmetric)
 * (001_8dfeaa911d9afebd.txt Eq. (10); sklearn EmpiricalCovariance of class-centred features, divisor
 * N). Σ is accumulated in double by DSYRK over blocks of rows. EB_ERR_NOMEM only. */
eb_status eb__class_gaussian(const float *z, const int32_t *y, int64_t n, int64_t dim, int64_t nc,
                             double *means, int64_t *counts, double *sigma);

/* EB_ERR_NUMERIC (message names the detector) when Σ [dim, dim] is not finite or its trace is 0 (every
 * feature constant within its class, e.g. one sample per class): no ridge makes such a fit mean
 * anything, as the scores of every input but the training point would be ≈ −1/ridge. */
eb_status eb__covariance_check(const double *sigma, int64_t dim, int64_t n, int64_t nc, const char *name,
                               eb_error *err);

/* Lower Cholesky factor L of Σ + λI (Σ = LLᵀ), in double, row-major [dim, dim] with zeros above the
 * diagonal. λ starts at base_ridge; if the factorisation fails or the reciprocal condition number
 * is below 1e-10 (or a diagonal entry of Σ is 0: a constant feature), λ = base_ridge + 10^k·1e-6·tr(Σ)/dim
 * for k = 0, 1, …, 6 (the ladder of the mahalanobis detector), the first that works. *lambda = the extra
 * ridge used (0 if none beyond base_ridge), *rcond0 = the reciprocal condition number without it.
 * EB_ERR_NUMERIC if none works, EB_ERR_NOMEM. */
eb_status eb__cholesky_ridge(const double *sigma, int64_t dim, double base_ridge, double *chol,
                             double *lambda, double *rcond0);

/* A Gaussian mixture with tied covariance, q(z) = Σ_c π_c N(z; μ_c, Σ) (001_… Eq. (9)). The saved
 * arrays are means, cholesky (the lower Cholesky factor L of Σ including any ridge, rounded to
 * float) and weights; the rest is derived from them by eb__gmm_derive, in double, identically after
 * fit and after load. */
typedef struct eb__gmm {
    int64_t dim, nc;
    float *means;    /* [nc, dim] μ_c */
    float *cholesky; /* [dim, dim] L, Σ + ridge = LLᵀ, lower triangular (zeros above) */
    float *weights;  /* [nc] π_c > 0, Σ π_c = 1 */
    /* derived */
    double *chol;    /* [dim, dim] L in double (from cholesky) */
    double *wmeans;  /* [nc, dim] ν_c = L⁻¹ μ_c */
    double *log_w;   /* [nc] log π_c */
    double log_norm; /* −½·dim·log 2π − ½·log|Σ|, log|Σ| = 2 Σ_j log L_jj */
    float *whiten_f; /* [dim, dim] W = L⁻¹ rounded to float (the tape's energy) */
    float *wmeans_f; /* [nc, dim] ν_c as float */
    float *offset_f; /* [nc] log π_c − ½‖ν_c‖² as float */
} eb__gmm;

/* Allocates the saved arrays (means, cholesky, weights) of an empty mixture. EB_ERR_NOMEM. */
eb_status eb__gmm_alloc(eb__gmm *g, int64_t dim, int64_t nc);
void eb__gmm_free(eb__gmm *g);
/* Fits means, the Cholesky factor of Σ (Eq. (10) + base_ridge·I, or the ridge ladder of eb__cholesky_ridge)
 * and weights π_c = N_c/N on z[n, dim] (already normalised if wanted), then derives. A ridge beyond
 * base_ridge is reported in note (one line, "" otherwise). Errors: EB_ERR_NUMERIC (Σ not invertible
 * even with the ridge), EB_ERR_NOMEM; `name` prefixes messages. */
eb_status eb__gmm_fit(eb__gmm *g, const float *z, const int32_t *y, int64_t n, int64_t dim, int64_t nc,
                      double base_ridge, const char *name, char *note, size_t note_size, eb_error *err);
/* The derived arrays from the saved ones. EB_ERR_NUMERIC if a diagonal entry of cholesky is ≤ 0. */
eb_status eb__gmm_derive(eb__gmm *g);
/* out[i] = log q(z_i) for z[n, dim], in double: u = L⁻¹z by a triangular solve (DTRSM), then
 * log q = log_norm + logsumexp_c(log π_c − ½‖u − ν_c‖²), max-shifted. EB_ERR_NOMEM. */
eb_status eb__gmm_log_density(const eb__gmm *g, const float *z, int64_t n, double *out);
/* E_G(z) = −log q(z) of z[B, dim] on the tape → [B] (float; differentiable in z):
 *   u = z Wᵀ,  E = ½‖u‖² − logsumexp_c(u·ν_c + log π_c − ½‖ν_c‖²) − log_norm. */
eb_tensor *eb__gmm_energy_tape(const eb__gmm *g, eb_graph *gr, eb_tensor *z);
/* Reads the F32 tensors "<prefix>means" [nc, dim], "<prefix>cholesky" [dim, dim] (lower triangular,
 * positive diagonal) and "<prefix>weights" [nc] (a probability vector) of a detector file into an
 * empty g, and derives. Errors name the file and tensor (EB_ERR_FORMAT). */
eb_status eb__gmm_load_tensors(eb__gmm *g, const eb_safetensors *file, const char *prefix, int64_t dim,
                               int64_t nc, eb_error *err);

#endif
