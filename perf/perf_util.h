/* Helpers shared by the benchmark programs (perf_*.c): strict number parsing, the synthetic data the
 * PyTorch twins regenerate bit for bit, medians, process CPU time and memory. Header-only. */
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

#endif
