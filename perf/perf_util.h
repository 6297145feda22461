/* Helpers shared by the benchmark programs (perf_*.c): strict number parsing, options by table, the
 * synthetic data the PyTorch twins regenerate bit for bit, timed runs, medians, process CPU time and memory.
 * Header-only. */
#ifndef EBOOD_BENCH_UTIL_H
#define EBOOD_BENCH_UTIL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A whole-string integer / float in [lo, hi]; false otherwise. */
static inline bool perf_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return false;
    *out = (int64_t)v;
    return true;
}
static inline bool perf_parse_f64(const char *s, double lo, double hi, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

/* splitmix64 (the *_torch.py twins implement the same stream in NumPy). */
static inline uint64_t perf_splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* U[−1, 1) from the top 24 bits of a draw: exact in float. */
static inline float perf_uniform(uint64_t *s) {
    return (float)(perf_splitmix64(s) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}
/* x[n, dim] = U[−1, 1), then y[n] = draw mod classes. */
static inline void perf_make_data(uint64_t seed, int64_t n, int64_t dim, int64_t classes, float *x,
                                  int32_t *y) {
    uint64_t s = seed;
    for (int64_t i = 0; i < n * dim; i++) x[i] = perf_uniform(&s);
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)(perf_splitmix64(&s) % (uint64_t)classes);
}

static inline int perf_cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
/* The median of v[n] (v is not reordered); NaN if out of memory. */
static inline double perf_median(const double *v, int n) {
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return NAN;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, perf_cmp_double);
    const double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

/* CPU time of the whole process (all threads), seconds. */
static inline double perf_cpu_seconds(void) {
    struct timespec t;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)) return NAN;
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* kB of a "VmRSS:"-style line of /proc/self/status; -1 if unavailable. */
static inline long perf_status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    const size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n)) {
            kb = strtol(line + n, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}
/* Resets VmHWM to the current RSS (Linux ≥ 4.0: "5" > /proc/self/clear_refs), so a reported peak
 * excludes what happened before (e.g. a file reader's transient buffers). */
static inline void perf_reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return;
    fputs("5", f);
    fclose(f);
}

/* ---- options by table (perf_outliers.c, perf_hamos.c) ------------------------------------------------
 * Each option takes one value: with `choices` ("synth|step") one of those words into *str, else an integer
 * in [lo, hi] into *i64. Returns 0; -1 for --help / -h; 1 after printing "<prog>: …" on stderr. */
typedef struct perf_opt {
    const char *flag; /* "--batch" */
    int64_t lo, hi;
    int64_t *i64;
    const char *choices;
    const char **str;
} perf_opt;

static inline bool perf_is_choice(const char *choices, const char *v) {
    const size_t n = strlen(v);
    for (const char *c = choices; n > 0;) {
        const char *bar = strchr(c, '|');
        const size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && !strncmp(c, v, n)) return true;
        if (!bar) return false;
        c = bar + 1;
    }
    return false;
}

static inline int perf_parse_opts(const char *prog, int argc, char **argv, const perf_opt *opts, int n_opts) {
    for (int i = 1; i < argc; i++) {
        const char *key = argv[i];
        if (!strcmp(key, "--help") || !strcmp(key, "-h")) return -1;
        const perf_opt *o = NULL;
        for (int k = 0; k < n_opts && !o; k++)
            if (!strcmp(key, opts[k].flag)) o = &opts[k];
        if (!o) return fprintf(stderr, "%s: unknown option %s\n", prog, key), 1;
        if (i + 1 >= argc) return fprintf(stderr, "%s: %s: missing value\n", prog, key), 1;
        const char *v = argv[++i];
        const bool ok = o->choices ? perf_is_choice(o->choices, v) : perf_parse_i64(v, o->lo, o->hi, o->i64);
        if (!ok) return fprintf(stderr, "%s: %s: bad value '%s'\n", prog, key, v), 1;
        if (o->choices) *o->str = v;
    }
    return 0;
}

/* ---- timed runs ------------------------------------------------------------------------------------- */
static inline double perf_wall_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
/* body(ctx, r) for r = −warmup … reps − 1; the wall time of runs r ≥ 0 into t[reps]. Returns the first
 * non-zero result of body (then stops). */
typedef int (*perf_body_fn)(void *ctx, int r);
static inline int perf_time_runs(int64_t warmup, int64_t reps, perf_body_fn body, void *ctx, double *t) {
    for (int r = -(int)warmup; r < (int)reps; r++) {
        const double t0 = perf_wall_seconds();
        const int rc = body(ctx, r);
        if (rc) return rc;
        if (r >= 0) t[r] = perf_wall_seconds() - t0;
    }
    return 0;
}

#endif
