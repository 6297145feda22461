/* Memory banks split across the ranks of a distributed context (dist.h): the k-NN and Hopfield
 * detectors' scoring when eb_detector_distribute gave them more than one rank. Each rank holds (or
 * scans) the contiguous share eb_dist_share of the bank's rows; the partial results of the ranks are
 * merged exactly, so every rank ends with every query's full-bank value. */
#ifndef EBOOD_BANK_SHARD_IMPL_H
#define EBOOD_BANK_SHARD_IMPL_H

#include "ood/detector_impl.h"

/* True when d's scoring is split across more than one rank. */
bool eb__bank_split(const eb_detector *d);

/* The rows [*lo, *hi) of a bank of n_total rows that this rank scans, of the n_held rows its state
 * holds: its share of all n_total (n_held == n_total), or all it holds (after release, n_held is
 * already its share). */
void eb__bank_rows(const eb_detector *d, int64_t n_held, int64_t n_total, int64_t *lo, int64_t *hi);

/* Keeps this rank's share of the n_total rows of dim floats at *rows (shrunk in place; *rows may
 * become NULL for an empty share; if shrinking the block fails, the share stays at its front). */
void eb__bank_keep_share(const eb_detector *d, float **rows, int64_t *n_held, int64_t n_total, int64_t dim);

/* The top-k merge: kth[i] = the k-th largest z_i·b_j over the WHOLE bank, from this rank's share
 * share[n_share, dim] (n_share ≥ 0): each rank's k largest (fewer if its share is smaller, padded
 * with −Inf) are gathered and the k-th largest of their union taken. z [rows, dim]. */
eb_status eb__bank_kth(const eb_detector *d, const float *z, int64_t rows, const float *share,
                       int64_t n_share, int64_t k, float *kth, const char *what, eb_error *err);

/* The log-sum-exp merge: lse[i] = log Σ_j exp(β·q_i·b_j) over the WHOLE bank (natural log, as
 * eb__gemm_lse), from this rank's share: m = max_r lse_r, lse = m + log Σ_r exp(lse_r − m). */
eb_status eb__bank_lse(const eb_detector *d, const float *q, int64_t rows, const float *share,
                       int64_t n_share, float beta, double *lse, const char *what, eb_error *err);

#endif
