/* ASH (Djurisic et al. 2023, "Extremely simple activation shaping"; 004_6bc3f0c56840d9ea.txt compares with
 * ASH-S at p = 65): per feature row z[D], keep its k = D − round(D·p/100) largest values (the released
 * ash.py's torch.topk), zero the rest, then
 *   ash_p  a = the kept values
 *   ash_b  a = s₁/k at every kept position, s₁ = Σ z (binarised, the row's total preserved)
 *   ash_s  a = the kept values · exp(s₁/s₂), s₂ = Σ kept
 * and score the energy T·logsumexp((W·a + b)/T) of the classifier head. */
#include "ood/detectors/feature_head_impl.h"

#include <math.h>

typedef enum { ASH_S, ASH_P, ASH_B } ash_kind;

static void ash_defaults(eb_detector_params *p) { p->percentile = 65.0f; }

static bool ash_row(ash_kind kind, const eb_detector *d, const float *z, int64_t dim, float *a, float *work) {
    const int64_t k = eb__feature_keep_count(dim, d->params.percentile);
    float *keep = work + dim;
    const double kept_sum = eb__feature_top_k(z, dim, k, work, keep);
    double s1 = 0.0;
    for (int64_t j = 0; j < dim; j++) s1 += (double)z[j];
    double factor = 1.0;
    if (kind == ASH_S && kept_sum != 0.0) factor = exp(s1 / kept_sum);
    if (kind == ASH_B) factor = k > 0 ? s1 / (double)k : 0.0;
    if (!isfinite(factor)) return false;
    for (int64_t j = 0; j < dim; j++)
        a[j] = keep[j] == 0.0f ? 0.0f : kind == ASH_B ? (float)factor : (float)((double)z[j] * factor);
    return true;
}

static bool ash_s_row(const eb_detector *d, const float *z, int64_t dim, float *a, float *w) {
    return ash_row(ASH_S, d, z, dim, a, w);
}
static bool ash_p_row(const eb_detector *d, const float *z, int64_t dim, float *a, float *w) {
    return ash_row(ASH_P, d, z, dim, a, w);
}
static bool ash_b_row(const eb_detector *d, const float *z, int64_t dim, float *a, float *w) {
    return ash_row(ASH_B, d, z, dim, a, w);
}

static eb_status ash_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    return eb__feature_head_fit(d, x->model, err);
}

static eb_status ash_s_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    return eb__feature_head_score(d, x, ash_s_row, scores, err);
}
static eb_status ash_p_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    return eb__feature_head_score(d, x, ash_p_row, scores, err);
}
static eb_status ash_b_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    return eb__feature_head_score(d, x, ash_b_row, scores, err);
}

const eb__detector_method eb__detector_ash_s = {
    .name = "ash_s",
    .fit = ash_fit,
    .score = ash_s_score,
    .defaults = ash_defaults,
    EB__FEATURE_HEAD_METHOD,
};
const eb__detector_method eb__detector_ash_p = {
    .name = "ash_p",
    .fit = ash_fit,
    .score = ash_p_score,
    .defaults = ash_defaults,
    EB__FEATURE_HEAD_METHOD,
};
const eb__detector_method eb__detector_ash_b = {
    .name = "ash_b",
    .fit = ash_fit,
    .score = ash_b_score,
    .defaults = ash_defaults,
    EB__FEATURE_HEAD_METHOD,
};
