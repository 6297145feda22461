/* ebood/base.h — status codes, error values, arenas, the seeded RNG, threads, file helpers.
 *
 * Errors are values: every fallible call returns an eb_status (EB_OK == 0, failures < 0) and,
 * where it has something to say, fills an optional caller-owned eb_error with one line naming the
 * file/flag/op and the problem. The library never exits or aborts on bad input. */
#ifndef EBOOD_BASE_H
#define EBOOD_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EB_BUILDING_LIBRARY)
#define EB_API __attribute__((visibility("default")))
#else
#define EB_API
#endif

#if defined(__GNUC__)
#define EB_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#else
#define EB_PRINTF(fmt_idx, args_idx)
#endif

#define EB_VERSION_STRING "0.1.0"

/* ---- status codes ------------------------------------------------------------------------- */
typedef enum eb_status {
    EB_OK = 0,
    EB_ERR_NOMEM = -1,       /* allocation failed */
    EB_ERR_ARG = -2,         /* invalid argument or out-of-range value */
    EB_ERR_SHAPE = -3,       /* tensor/array shapes do not fit together */
    EB_ERR_IO = -4,          /* file missing, unreadable, or write/rename failed */
    EB_ERR_FORMAT = -5,      /* file present but malformed or truncated */
    EB_ERR_NUMERIC = -6,     /* NaN/Inf where a finite number is required, divergence */
    EB_ERR_UNSUPPORTED = -7, /* valid but not supported (dtype, format version, ...) */
    EB_ERR_STATE = -8,       /* call made in the wrong state (e.g. backward twice) */
} eb_status;

/* Short static description of a status ("shape mismatch", ...). Never NULL. Thread-safe. */
EB_API const char *eb_status_str(eb_status status);

/* A caller-owned error value. Functions taking `eb_error *err` fill it on failure (err may be
 * NULL when the caller only wants the status). The message is one line without a newline. */
typedef struct eb_error {
    eb_status status;
    char message[512];
} eb_error;

/* Record `status` and a printf-style message in *err (if err != NULL); returns `status` so a
 * function can `return eb_error_set(err, EB_ERR_IO, "%s: cannot open", path);`. */
EB_API eb_status eb_error_set(eb_error *err, eb_status status, const char *fmt, ...) EB_PRINTF(3, 4);
EB_API eb_status eb_error_setv(eb_error *err, eb_status status, const char *fmt, va_list ap);
EB_API void eb_error_clear(eb_error *err);

/* ---- memory --------------------------------------------------------------------------------- */
/* The allocator hook: every long-lived allocation of an object goes through the hook given at
 * its creation (NULL = the C library's malloc/free). Allocations are 64-byte aligned. */
typedef struct eb_allocator {
    void *(*alloc)(size_t size, void *ctx); /* returns 64-byte aligned memory or NULL */
    void (*free)(void *ptr, void *ctx);
    void *ctx;
} eb_allocator;

EB_API const eb_allocator *eb_allocator_default(void);
EB_API void *eb_alloc(const eb_allocator *a, size_t size);      /* a may be NULL */
EB_API void *eb_alloc_zero(const eb_allocator *a, size_t size); /* zero-filled */
EB_API void eb_free(const eb_allocator *a, void *ptr);

/* An arena: bump allocation from a chain of blocks, freed all at once by eb_arena_reset/free.
 * Not thread-safe. Every pointer returned is 64-byte aligned. */
typedef struct eb_arena eb_arena;
EB_API eb_arena *eb_arena_new(size_t block_bytes, const eb_allocator *a); /* NULL on OOM */
EB_API void *eb_arena_alloc(eb_arena *arena, size_t bytes);               /* NULL on OOM */
EB_API void *eb_arena_alloc_zero(eb_arena *arena, size_t bytes);
EB_API void eb_arena_reset(eb_arena *arena); /* keeps the blocks for reuse */
EB_API size_t eb_arena_used(const eb_arena *arena);
EB_API void eb_arena_free(eb_arena *arena);

/* ---- random numbers -------------------------------------------------------------------------- */
/* xoshiro256** seeded through splitmix64. A value type: copy it to fork a stream; same seed ⇒
 * same sequence on every platform. Not thread-safe (give each thread its own, see eb_rng_split). */
typedef struct eb_rng {
    uint64_t s[4];
    double cached_normal; /* second Box–Muller value */
    int has_cached_normal;
} eb_rng;

EB_API void eb_rng_seed(eb_rng *rng, uint64_t seed);
/* An independent stream derived from rng (advances rng); for per-thread or per-purpose streams. */
EB_API eb_rng eb_rng_split(eb_rng *rng);
EB_API uint64_t eb_rng_u64(eb_rng *rng);
EB_API double eb_rng_uniform(eb_rng *rng);                             /* [0, 1) with 53 random bits */
EB_API double eb_rng_uniform_range(eb_rng *rng, double lo, double hi); /* [lo, hi) */
EB_API double eb_rng_normal(eb_rng *rng);                              /* N(0, 1) */
EB_API uint64_t eb_rng_below(eb_rng *rng, uint64_t n); /* uniform in [0, n), unbiased; n > 0 */
/* Index i with probability weights[i] / Σ weights (weights ≥ 0, Σ > 0); -1 if no positive weight. */
EB_API int64_t eb_rng_categorical(eb_rng *rng, const double *weights, int64_t n);
/* k indices drawn uniformly from [0, n) with replacement. */
EB_API void eb_rng_choice_with_replacement(eb_rng *rng, int64_t n, int64_t k, int64_t *out);
/* A uniformly random permutation of [0, n) (Fisher–Yates). */
EB_API void eb_rng_permutation(eb_rng *rng, int64_t n, int64_t *out);
EB_API void eb_rng_fill_uniform(eb_rng *rng, float *out, int64_t n, float lo, float hi);
EB_API void eb_rng_fill_normal(eb_rng *rng, float *out, int64_t n, float mean, float std);

/* ---- threads ------------------------------------------------------------------------------- */
/* The one thread-count setting for OpenMP kernels and BLAS. n <= 0 means all cores. */
EB_API void eb_threads_set(int n);
EB_API int eb_threads_get(void);
/* Applies EBOOD_THREADS from the environment (if set); returns EB_ERR_ARG on a malformed value. */
EB_API eb_status eb_threads_from_env(eb_error *err);

/* ---- files ------------------------------------------------------------------------------------ */
/* Reads a whole file into a malloc'd buffer (NUL-terminated for convenience; *len excludes it). */
EB_API eb_status eb_file_read_all(const char *path, char **data, size_t *len, eb_error *err);

/* Atomic output: write to "<path>.tmp.<pid>", then rename over <path> on commit (fsync of the file,
 * then of its directory). On abort (or a failed commit) the temporary file is removed, so no
 * half-written output is ever left. A process killed before commit cannot remove its temporary
 * file: the next eb_atomic_open of the same path removes every "<path>.tmp.<pid>" whose pid no
 * longer runs. */
typedef struct eb_atomic_file {
    FILE *fp;
    char path[4096];
    char tmp_path[4160];
} eb_atomic_file;
EB_API eb_status eb_atomic_open(eb_atomic_file *af, const char *path, eb_error *err);
EB_API eb_status eb_atomic_commit(eb_atomic_file *af, eb_error *err); /* fflush+fsync+rename */
EB_API void eb_atomic_abort(eb_atomic_file *af);

/* ---- progress ----------------------------------------------------------------------------------- */
/* Progress lines on stderr ("epoch 3/10  step 30/100  loss 0.1234  acc 97.1%  52,000 samples/s
 * ETA 0:12"), redrawn in place, only when stderr is a terminal and `enabled`. */
typedef struct eb_progress {
    bool enabled;
    double start, last_draw;
    int64_t total_steps;
    char label[64];
} eb_progress;
EB_API void eb_progress_begin(eb_progress *p, const char *label, int64_t total_steps, bool enabled);
EB_API void eb_progress_update(eb_progress *p, int64_t step, int64_t epoch, int64_t total_epochs, double loss,
                               double accuracy, int64_t samples_done);
EB_API void eb_progress_end(eb_progress *p);

/* ---- misc ------------------------------------------------------------------------------------ */
EB_API double eb_time_seconds(void); /* monotonic clock */
/* The build type and flags the library was compiled with (static string). */
EB_API const char *eb_build_flags(void);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_BASE_H */
