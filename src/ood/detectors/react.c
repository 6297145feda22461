/* ReAct (Sun, Guo & Li 2021; a baseline of 004_6bc3f0c56840d9ea.txt): clip the penultimate activations at
 * c, the p-th percentile (p = 90) of all ID training activations (np.percentile: linear interpolation
 * between the sorted values), then the energy score of the classifier head:
 *   score(z) = T·logsumexp((W·min(z, c) + b)/T). */
#include "ood/detectors/feature_head_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void react_defaults(eb_detector_params *p) { p->percentile = 90.0f; }

/* Floats as unsigned keys in the same order (negative values bit-flipped, the others with the sign set). */
static uint32_t order_key(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

static float key_value(uint32_t k) {
    uint32_t u = (k & 0x80000000u) ? k & 0x7fffffffu : ~k;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The value of 0-based rank r among x[n] sorted ascending, exactly and without a copy of x: a radix select
 * on the keys' high 16 bits, then on the low 16 bits within that bucket (two passes; counts[65536]). */
static float rank_value(const float *x, int64_t n, int64_t r, int64_t *counts) {
    uint32_t prefix = 0;
    for (int shift = 16; shift >= 0; shift -= 16) {
        memset(counts, 0, 65536 * sizeof *counts);
        for (int64_t i = 0; i < n; i++) {
            const uint32_t k = order_key(x[i]);
            if (shift == 0 && (k >> 16) != prefix >> 16) continue;
            counts[(k >> shift) & 0xffffu]++;
        }
        uint32_t b = 0;
        while (r >= counts[b]) r -= counts[b++];
        prefix |= b << shift;
    }
    return key_value(prefix);
}

static eb_status react_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    eb_status st = eb__feature_head_fit(d, x->model, err);
    if (st) return st;
    int64_t *counts = malloc(65536 * sizeof *counts);
    if (!counts) return eb_error_set(err, EB_ERR_NOMEM, "react: out of memory");
    /* np.percentile's default: linear interpolation at position p/100·(N − 1) of the sorted values */
    const int64_t n = x->n * d->dim;
    const double pos = (double)d->params.percentile / 100.0 * (double)(n - 1);
    const int64_t lo = (int64_t)pos;
    const double v_lo = (double)rank_value(x->features, n, lo, counts);
    const double v_hi = lo + 1 < n ? (double)rank_value(x->features, n, lo + 1, counts) : v_lo;
    ((eb__feature_head *)d->state)->clip = (float)(v_lo + (pos - (double)lo) * (v_hi - v_lo));
    free(counts);
    return EB_OK;
}

static bool clip_row(const eb_detector *d, const float *z, int64_t dim, float *a, float *work) {
    (void)work;
    const float c = ((const eb__feature_head *)d->state)->clip;
    for (int64_t j = 0; j < dim; j++) a[j] = z[j] < c ? z[j] : c;
    return true;
}

static eb_status react_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    return eb__feature_head_score(d, x, clip_row, scores, err);
}

const eb__detector_method eb__detector_react = {
    .name = "react",
    .fit = react_fit,
    .score = react_score,
    .defaults = react_defaults,
    EB__FEATURE_HEAD_METHOD,
};
