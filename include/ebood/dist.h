/* ebood/dist.h — the distributed layer: one communicator in a context object (no globals), the
 * collectives data-parallel training and sharded scoring need, and how n rows split across ranks.
 *
 * Built with Open MPI when configured with -DEBOOD_MPI=ON (`make mpi`); otherwise, or when the
 * process was not started by mpirun, a context is one process of rank 0 and every collective is the
 * identity (so single-process code paths stay bitwise the same). eb_dist_compiled() says which.
 * A NULL context is valid everywhere and means that single process.
 *
 * Thread-safety: a context is used by one thread (MPI is initialised with MPI_THREAD_FUNNELED);
 * every rank must make the same collective calls in the same order. */
#ifndef EBOOD_DIST_H
#define EBOOD_DIST_H

#include <ebood/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eb_dist eb_dist;

/* True if this library was built with MPI (-DEBOOD_MPI=ON). */
EB_API bool eb_dist_compiled(void);

/* Opens the context: under mpirun (Open MPI's OMPI_COMM_WORLD_SIZE, or PMIX_RANK / PMI_SIZE in the
 * environment) and with MPI compiled in, initialises MPI (once per process) and duplicates
 * MPI_COMM_WORLD; otherwise a single process. EB_ERR_UNSUPPORTED if launched by mpirun with more than
 * one rank but built without MPI (every rank would silently redo the whole job). *out is freed
 * with eb_dist_close. */
EB_API eb_status eb_dist_open(eb_dist **out, eb_error *err);
/* Frees the context and finalises MPI if eb_dist_open initialised it. NULL is a no-op. */
EB_API void eb_dist_close(eb_dist *d);
/* Ends every rank of the job at once (MPI_Abort) with exit code `code` when the context has more than
 * one rank: what a rank that failed alone must do, or the others would wait in a collective forever.
 * Returns without doing anything for a single process. */
EB_API void eb_dist_abort(const eb_dist *d, int code);

EB_API int eb_dist_rank(const eb_dist *d); /* 0 for NULL */
EB_API int eb_dist_size(const eb_dist *d); /* 1 for NULL */

/* The contiguous share [*lo, *hi) of n rows that rank `rank` of `size` holds, in rank order: ⌊n/size⌋
 * rows each, and one more for each of the first n mod size ranks (ranks beyond n get none). */
EB_API void eb_dist_share(int64_t n, int rank, int size, int64_t *lo, int64_t *hi);

/* The seed of this rank's own random streams in a run seeded with `seed`: `seed` itself on rank 0 (so
 * one rank draws exactly what a single process draws), a distinct mix of (seed, rank) elsewhere. */
EB_API uint64_t eb_dist_seed(const eb_dist *d, uint64_t seed);

/* ---- collectives (every rank calls them with the same n; n ≥ 0, any size) ----------------------- */
/* buf[0..n) ← the element-wise sum over ranks, in place (MPI_SUM; float order is MPI's). */
EB_API eb_status eb_dist_sum_f32(const eb_dist *d, float *buf, int64_t n, eb_error *err);
EB_API eb_status eb_dist_sum_f64(const eb_dist *d, double *buf, int64_t n, eb_error *err);
/* buf[0..n) ← rank root's values. */
EB_API eb_status eb_dist_bcast_f32(const eb_dist *d, float *buf, int64_t n, int root, eb_error *err);
/* recv[r·n .. (r+1)·n) ← rank r's send[0..n), for every r (recv holds size·n values). */
EB_API eb_status eb_dist_allgather_f32(const eb_dist *d, const float *send, int64_t n, float *recv,
                                       eb_error *err);
EB_API eb_status eb_dist_allgather_f64(const eb_dist *d, const double *send, int64_t n, double *recv,
                                       eb_error *err);

/* all[0 .. n·width) ← the n rows of `width` values of which every rank r computed its share
 * [lo_r, hi_r) = eb_dist_share(n, r, size) in mine[(hi_r − lo_r)·width], in row order (MPI_Allgatherv):
 * what sharded per-row work (HEAT scores, Hopfield Boosting candidates) needs to give every rank every
 * row. mine may be NULL for an empty share. One process: all ← mine. EB_ERR_ARG when n·width exceeds
 * MPI's int counts. */
EB_API eb_status eb_dist_gather_shares_f32(const eb_dist *d, const float *mine, int64_t n, int64_t width,
                                           float *all, eb_error *err);
EB_API eb_status eb_dist_gather_shares_f64(const eb_dist *d, const double *mine, int64_t n, int64_t width,
                                           double *all, eb_error *err);
/* The same gathered on rank `root` only (MPI_Gatherv): all[0 .. n·width) is written there and not read
 * elsewhere (may be NULL), so only the root holds the whole n rows — what writing a sharded state (the
 * replay buffer of a checkpoint) needs. One process: all ← mine. EB_ERR_ARG for a root outside the ranks. */
EB_API eb_status eb_dist_gather_shares_to_f32(const eb_dist *d, const float *mine, int64_t n, int64_t width,
                                              int root, float *all, eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_DIST_H */
