/* Seeded RNG: xoshiro256** (Blackman & Vigna) seeded through splitmix64. */
#include <ebood/base.h>

#include <math.h>
#include <omp.h>
#include <stdlib.h>

__extension__ typedef unsigned __int128 u128;
static const double two_pi = 6.283185307179586476925286766559;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void eb_rng_seed(eb_rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
    rng->has_cached_normal = 0;
    rng->cached_normal = 0.0;
}

uint64_t eb_rng_u64(eb_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

eb_rng eb_rng_split(eb_rng *rng) {
    eb_rng child;
    eb_rng_seed(&child, eb_rng_u64(rng) ^ 0x6a09e667f3bcc909ull);
    return child;
}

double eb_rng_uniform(eb_rng *rng) { return (double)(eb_rng_u64(rng) >> 11) * 0x1.0p-53; }

double eb_rng_uniform_range(eb_rng *rng, double lo, double hi) {
    return lo + (hi - lo) * eb_rng_uniform(rng);
}

/* Box–Muller; the second value of each pair is cached. */
double eb_rng_normal(eb_rng *rng) {
    if (rng->has_cached_normal) {
        rng->has_cached_normal = 0;
        return rng->cached_normal;
    }
    double u1;
    do u1 = eb_rng_uniform(rng);
    while (u1 <= 0.0);
    double u2 = eb_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    double theta = two_pi * u2;
    rng->cached_normal = r * sin(theta);
    rng->has_cached_normal = 1;
    return r * cos(theta);
}

/* Lemire's nearly-divisionless unbiased bounded integer. */
uint64_t eb_rng_below(eb_rng *rng, uint64_t n) {
    if (n <= 1) return 0;
    uint64_t x = eb_rng_u64(rng);
    u128 m = (u128)x * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            x = eb_rng_u64(rng);
            m = (u128)x * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

int64_t eb_rng_categorical(eb_rng *rng, const double *weights, int64_t n) {
    double total = 0.0;
    int64_t last_positive = -1;
    for (int64_t i = 0; i < n; i++)
        if (weights[i] > 0.0) {
            total += weights[i];
            last_positive = i;
        }
    if (last_positive < 0) return -1;
    double u = eb_rng_uniform(rng) * total, acc = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (weights[i] <= 0.0) continue;
        acc += weights[i];
        if (u < acc) return i;
    }
    return last_positive; /* rounding: u landed on the total */
}

void eb_rng_choice_with_replacement(eb_rng *rng, int64_t n, int64_t k, int64_t *out) {
    for (int64_t i = 0; i < k; i++) out[i] = (int64_t)eb_rng_below(rng, (uint64_t)n);
}

void eb_rng_permutation(eb_rng *rng, int64_t n, int64_t *out) {
    for (int64_t i = 0; i < n; i++) out[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)eb_rng_below(rng, (uint64_t)i + 1);
        int64_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

void eb_rng_fill_uniform(eb_rng *rng, float *out, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) out[i] = (float)eb_rng_uniform_range(rng, lo, hi);
}

/* Below this many values (or on one thread) the fill is serial. */
#define FILL_NORMAL_PARALLEL_MIN 8192

/* The same values as n calls of eb_rng_normal, in the same order, leaving the same state (cached
 * second value included): the uniforms are drawn serially (the stream), the Box–Muller transforms
 * (log, sqrt, sincos: ≈ 90 % of the cost) run in parallel, each pair as eb_rng_normal computes it.
 * SGLD's noise is ≈ 10 % of a CD step on one thread and was serial at 2 (tests/test_sgld_rows.c
 * checks the values bitwise). */
void eb_rng_fill_normal(eb_rng *rng, float *out, int64_t n, float mean, float std) {
    int64_t i = 0;
    double *u = NULL;
    if (n >= FILL_NORMAL_PARALLEL_MIN && !omp_in_parallel() && omp_get_max_threads() > 1)
        u = malloc((size_t)n * sizeof *u);
    if (u) {
        if (rng->has_cached_normal) out[i++] = mean + std * (float)eb_rng_normal(rng);
        const int64_t pairs = (n - i) / 2;
        for (int64_t p = 0; p < pairs; p++) { /* eb_rng_normal's draws: u1 ∈ (0, 1), then u2 */
            double u1;
            do u1 = eb_rng_uniform(rng);
            while (u1 <= 0.0);
            u[2 * p] = u1;
            u[2 * p + 1] = eb_rng_uniform(rng);
        }
        float *o = out + i;
#pragma omp parallel for
        for (int64_t p = 0; p < pairs; p++) {
            double r = sqrt(-2.0 * log(u[2 * p]));
            double theta = two_pi * u[2 * p + 1];
            o[2 * p] = mean + std * (float)(r * cos(theta));
            o[2 * p + 1] = mean + std * (float)(r * sin(theta));
        }
        free(u);
        i += 2 * pairs;
    }
    for (; i < n; i++) out[i] = mean + std * (float)eb_rng_normal(rng);
}
