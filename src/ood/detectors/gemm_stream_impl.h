/* Blocked GEMM (queries × bankᵀ) with the reduction fused per tile: the engine of the k-NN and
 * Hopfield kernels (include/ebood/ood.h, "similarity kernels") and of their detectors.
 *
 * Shapes: q [n_q, dim], bank [n_bank, dim], row-major. Each thread takes a block of queries,
 * packs it (k-major slivers of 16 queries), and sweeps the bank 6 rows at a time: one register
 * tile of 16 × 6 dot products, each accumulated over dim in order, is reduced at once — compared
 * against the 16 queries' current k-th best (a candidate buffer of 2k per query behind it, cut by
 * quickselect), or folded into their running max and sum of exponentials. Nothing of size
 * n_q × n_bank is ever stored.
 *
 * No argument checking here (the public kernels and the detectors do it): inputs are finite,
 * n_q ≥ 0, n_bank ≥ 1, dim ≥ 1, 1 ≤ k ≤ n_bank. Results depend only on the ISA, never on the
 * thread count or the block size. */
#ifndef EBOOD_GEMM_STREAM_IMPL_H
#define EBOOD_GEMM_STREAM_IMPL_H

#include <ebood/base.h>

typedef enum eb__gemm_isa {
    EB__GEMM_ISA_AUTO = 0, /* the best the CPU supports */
    EB__GEMM_ISA_GENERIC,  /* portable C */
    EB__GEMM_ISA_AVX2,     /* x86-64 AVX2 + FMA */
} eb__gemm_isa;

typedef struct eb__gemm_opts {
    eb__gemm_isa isa;    /* AUTO, or a forced kernel (tests; an unsupported one falls back to GENERIC) */
    int64_t block_bytes; /* target size of one packed query block; 0 = default (512 KiB) */
    int threads;         /* 0 = omp_get_max_threads() */
} eb__gemm_opts;

/* The kernel `isa` resolves to on this CPU. */
eb__gemm_isa eb__gemm_isa_resolve(eb__gemm_isa isa);
const char *eb__gemm_isa_name(eb__gemm_isa isa);

/* kth[i] = k-th largest of { q_i·b_j − bias_j : 0 ≤ j < n_bank } (bias [n_bank] or NULL = 0).
 * opts NULL = defaults. EB_ERR_NOMEM only (message names `what`). */
eb_status eb__gemm_topk(const float *q, int64_t n_q, const float *bank, int64_t n_bank, int64_t dim,
                        const float *bias, int64_t k, float *kth, const eb__gemm_opts *opts, const char *what,
                        eb_error *err);

/* eb__gemm_topk without bias, also writing the k largest q_i·b_j of each query, unordered, to
 * list[i·k .. (i+1)·k) (what a sharded bank's ranks exchange to merge their k-NN exactly). */
eb_status eb__gemm_topk_list(const float *q, int64_t n_q, const float *bank, int64_t n_bank, int64_t dim,
                             int64_t k, float *kth, float *list, const char *what, eb_error *err);

/* lse[i] = log Σ_j exp(β·q_i·b_j) (natural log, NOT divided by β), in double. β > 0 finite.
 * EB_ERR_NOMEM only. */
eb_status eb__gemm_lse(const float *q, int64_t n_q, const float *bank, int64_t n_bank, int64_t dim,
                       float beta, double *lse, const eb__gemm_opts *opts, const char *what, eb_error *err);

/* Argument checks shared by the public kernels: non-NULL arrays, n_q ≥ 0, n_bank ≥ 1, dim ≥ 1,
 * finite values, and max|q|·max|b|·dim·max(scale, 1) < 1e37 so no dot product (times β) can
 * overflow float. Messages start with `fn`. */
eb_status eb__gemm_check_args(const char *fn, const float *q, int64_t n_q, const float *bank, int64_t n_bank,
                              int64_t dim, const void *out, double scale, eb_error *err);

/* max |x| over n·dim values (+Inf if any is NaN or ±Inf); OpenMP for large arrays. */
float eb__gemm_max_abs(const float *x, int64_t n, int64_t dim);

/* The overflow bound: EB_OK if max_q·max_b·dim·max(scale, 1) < 1e37, else EB_ERR_NUMERIC naming `fn`. */
eb_status eb__gemm_check_range(const char *fn, float max_q, float max_b, int64_t dim, double scale,
                               eb_error *err);

#endif
