/* The distributed layer (include/ebood/dist.h): an MPI communicator in a context object. Built with
 * Open MPI when EB_HAVE_MPI is defined (-DEBOOD_MPI=ON); otherwise every context is one process and
 * every collective the identity. A context of one rank never calls MPI in a collective, so -np 1 runs
 * exactly the single-process arithmetic. */
#include <ebood/dist.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifdef EB_HAVE_MPI
#include <mpi.h>
#endif

struct eb_dist {
    int rank, size;
#ifdef EB_HAVE_MPI
    MPI_Comm comm;
    bool initialised; /* this context called MPI_Init_thread (so it finalises) */
#endif
};

/* Started by a launcher: Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; PMIx/PMI launchers (srun) the others.
 */
static bool launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

bool eb_dist_compiled(void) {
#ifdef EB_HAVE_MPI
    return true;
#else
    return false;
#endif
}

int eb_dist_rank(const eb_dist *d) { return d ? d->rank : 0; }
int eb_dist_size(const eb_dist *d) { return d ? d->size : 1; }

uint64_t eb_dist_seed(const eb_dist *d, uint64_t seed) {
    const uint64_t r = (uint64_t)eb_dist_rank(d);
    if (r == 0) return seed;
    uint64_t z = seed ^ (0xd1b54a32d192ed03ull * r); /* splitmix64 finaliser of the rank-mixed seed */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void eb_dist_share(int64_t n, int rank, int size, int64_t *lo, int64_t *hi) {
    if (size < 1) size = 1;
    const int64_t base = n / size, extra = n % size; /* the first `extra` ranks hold one row more */
    *lo = rank * base + (rank < extra ? rank : extra);
    *hi = *lo + base + (rank < extra ? 1 : 0);
}

#ifdef EB_HAVE_MPI

#define CHUNK ((int64_t)1 << 28) /* elements per MPI call: counts are int */

static eb_status mpi_failed(eb_error *err, const char *what, int code) {
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(code, msg, &len);
    return eb_error_set(err, EB_ERR_IO, "mpi: %s failed: %s", what, msg);
}

eb_status eb_dist_open(eb_dist **out, eb_error *err) {
    *out = NULL;
    eb_dist *d = calloc(1, sizeof *d);
    if (!d) return eb_error_set(err, EB_ERR_NOMEM, "mpi: out of memory");
    d->size = 1;
    d->comm = MPI_COMM_NULL;
    if (launched()) {
        int inited = 0, provided = 0, rc = MPI_SUCCESS;
        MPI_Initialized(&inited);
        if (!inited) {
            rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
            d->initialised = rc == MPI_SUCCESS;
        }
        if (rc == MPI_SUCCESS) rc = MPI_Comm_dup(MPI_COMM_WORLD, &d->comm);
        if (rc == MPI_SUCCESS) rc = MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
        if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(d->comm, &d->rank);
        if (rc == MPI_SUCCESS) rc = MPI_Comm_size(d->comm, &d->size);
        if (rc != MPI_SUCCESS) {
            eb_status st = mpi_failed(err, "initialisation", rc);
            eb_dist_close(d);
            return st;
        }
    }
    *out = d;
    return EB_OK;
}

void eb_dist_close(eb_dist *d) {
    if (!d) return;
    if (d->comm != MPI_COMM_NULL) MPI_Comm_free(&d->comm);
    if (d->initialised) MPI_Finalize();
    free(d);
}

void eb_dist_abort(const eb_dist *d, int code) {
    if (d && d->size > 1) MPI_Abort(d->comm, code);
}

static eb_status sum(const eb_dist *d, void *buf, int64_t n, size_t elem, MPI_Datatype type, eb_error *err) {
    if (!d || d->size == 1) return EB_OK;
    for (int64_t i = 0; i < n; i += CHUNK) {
        const int c = (int)(n - i < CHUNK ? n - i : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + (size_t)i * elem, c, type, MPI_SUM, d->comm);
        if (rc != MPI_SUCCESS) return mpi_failed(err, "allreduce", rc);
    }
    return EB_OK;
}

eb_status eb_dist_sum_f32(const eb_dist *d, float *buf, int64_t n, eb_error *err) {
    return sum(d, buf, n, sizeof *buf, MPI_FLOAT, err);
}

eb_status eb_dist_sum_f64(const eb_dist *d, double *buf, int64_t n, eb_error *err) {
    return sum(d, buf, n, sizeof *buf, MPI_DOUBLE, err);
}

eb_status eb_dist_bcast_f32(const eb_dist *d, float *buf, int64_t n, int root, eb_error *err) {
    if (!d || d->size == 1) return EB_OK;
    for (int64_t i = 0; i < n; i += CHUNK) {
        const int c = (int)(n - i < CHUNK ? n - i : CHUNK);
        int rc = MPI_Bcast(buf + i, c, MPI_FLOAT, root, d->comm);
        if (rc != MPI_SUCCESS) return mpi_failed(err, "broadcast", rc);
    }
    return EB_OK;
}

static eb_status allgather(const eb_dist *d, const void *send, int64_t n, void *recv, size_t elem,
                           MPI_Datatype type, eb_error *err) {
    if (!d || d->size == 1) {
        if (n) memmove(recv, send, (size_t)n * elem);
        return EB_OK;
    }
    if (n * d->size > CHUNK)
        return eb_error_set(err, EB_ERR_ARG, "mpi: allgather of %lld values per rank is too large",
                            (long long)n);
    int rc = MPI_Allgather(send, (int)n, type, recv, (int)n, type, d->comm);
    return rc == MPI_SUCCESS ? EB_OK : mpi_failed(err, "allgather", rc);
}

/* counts[r], counts[size + r] = the number of values and the displacement of rank r's share of n rows
 * of width values (malloc'd, 2·size ints; NULL when out of memory). */
static int *share_counts(const eb_dist *d, int64_t n, int64_t width) {
    int *counts = malloc((size_t)d->size * 2 * sizeof *counts);
    for (int r = 0; counts && r < d->size; r++) {
        int64_t l, h;
        eb_dist_share(n, r, d->size, &l, &h);
        counts[r] = (int)((h - l) * width);
        counts[d->size + r] = (int)(l * width); /* displacements */
    }
    return counts;
}

/* Rank `root`'s all ← every rank's share (root < 0: every rank's, MPI_Allgatherv). */
static eb_status gather_shares(const eb_dist *d, const void *mine, int64_t n, int64_t width, void *all,
                               size_t elem, MPI_Datatype type, int root, eb_error *err) {
    int64_t lo, hi;
    eb_dist_share(n, d ? d->rank : 0, d ? d->size : 1, &lo, &hi);
    if (!d || d->size == 1) {
        if (n * width > 0) memmove(all, mine, (size_t)(n * width) * elem);
        return EB_OK;
    }
    if (n * width > INT_MAX)
        return eb_error_set(err, EB_ERR_ARG, "mpi: gathering %lld values is too large",
                            (long long)(n * width));
    int *counts = share_counts(d, n, width);
    if (!counts) return eb_error_set(err, EB_ERR_NOMEM, "mpi: out of memory");
    static const char dummy[sizeof(double)];
    const void *send = mine && hi > lo ? mine : dummy;
    const int count = (int)((hi - lo) * width);
    int rc = root < 0 ? MPI_Allgatherv(send, count, type, all, counts, counts + d->size, type, d->comm)
                      : MPI_Gatherv(send, count, type, all, counts, counts + d->size, type, root, d->comm);
    free(counts);
    return rc == MPI_SUCCESS ? EB_OK : mpi_failed(err, root < 0 ? "allgatherv" : "gatherv", rc);
}

#else /* one process */

eb_status eb_dist_open(eb_dist **out, eb_error *err) {
    *out = NULL;
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if (launched() && n && atoi(n) > 1)
        return eb_error_set(err, EB_ERR_UNSUPPORTED,
                            "started by mpirun with %s ranks, but this ebood was built without MPI "
                            "(configure with -DEBOOD_MPI=ON: make mpi)",
                            n);
    eb_dist *d = calloc(1, sizeof *d);
    if (!d) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    d->size = 1;
    *out = d;
    return EB_OK;
}

void eb_dist_close(eb_dist *d) { free(d); }

void eb_dist_abort(const eb_dist *d, int code) {
    (void)d;
    (void)code;
}

eb_status eb_dist_sum_f32(const eb_dist *d, float *buf, int64_t n, eb_error *err) {
    (void)d, (void)buf, (void)n, (void)err;
    return EB_OK;
}

eb_status eb_dist_sum_f64(const eb_dist *d, double *buf, int64_t n, eb_error *err) {
    (void)d, (void)buf, (void)n, (void)err;
    return EB_OK;
}

eb_status eb_dist_bcast_f32(const eb_dist *d, float *buf, int64_t n, int root, eb_error *err) {
    (void)d, (void)buf, (void)n, (void)root, (void)err;
    return EB_OK;
}

static eb_status allgather(const eb_dist *d, const void *send, int64_t n, void *recv, size_t elem, int type,
                           eb_error *err) {
    (void)d, (void)type, (void)err;
    if (n) memmove(recv, send, (size_t)n * elem);
    return EB_OK;
}
static eb_status gather_shares(const eb_dist *d, const void *mine, int64_t n, int64_t width, void *all,
                               size_t elem, int type, int root, eb_error *err) {
    (void)d, (void)type, (void)root, (void)err;
    if (n * width > 0) memmove(all, mine, (size_t)(n * width) * elem);
    return EB_OK;
}
#define MPI_FLOAT  0
#define MPI_DOUBLE 0

#endif

eb_status eb_dist_allgather_f32(const eb_dist *d, const float *send, int64_t n, float *recv, eb_error *err) {
    return allgather(d, send, n, recv, sizeof *send, MPI_FLOAT, err);
}

eb_status eb_dist_allgather_f64(const eb_dist *d, const double *send, int64_t n, double *recv,
                                eb_error *err) {
    return allgather(d, send, n, recv, sizeof *send, MPI_DOUBLE, err);
}

eb_status eb_dist_gather_shares_f32(const eb_dist *d, const float *mine, int64_t n, int64_t width, float *all,
                                    eb_error *err) {
    return gather_shares(d, mine, n, width, all, sizeof *all, MPI_FLOAT, -1, err);
}

eb_status eb_dist_gather_shares_f64(const eb_dist *d, const double *mine, int64_t n, int64_t width,
                                    double *all, eb_error *err) {
    return gather_shares(d, mine, n, width, all, sizeof *all, MPI_DOUBLE, -1, err);
}

eb_status eb_dist_gather_shares_to_f32(const eb_dist *d, const float *mine, int64_t n, int64_t width,
                                       int root, float *all, eb_error *err) {
    if (root < 0 || root >= eb_dist_size(d))
        return eb_error_set(err, EB_ERR_ARG, "mpi: gather to rank %d of %d", root, eb_dist_size(d));
    return gather_shares(d, mine, n, width, all, sizeof *mine, MPI_FLOAT, root, err);
}
