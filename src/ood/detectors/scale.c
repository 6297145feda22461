/* SCALE (Xu et al. 2024, "Scaling for training time and post-hoc OOD detection enhancement"): no pruning;
 * each feature row z[D] is scaled by exp(s₁/s₂), s₁ = Σ z, s₂ = the sum of its k = D − round(D·p/100)
 * largest values (p = 85), and scored with the energy T·logsumexp((W·a + b)/T) of the classifier head. */
#include "ood/detectors/feature_head_impl.h"

#include <math.h>

static void scale_defaults(eb_detector_params *p) { p->percentile = 85.0f; }

static bool scale_row(const eb_detector *d, const float *z, int64_t dim, float *a, float *work) {
    const double top =
        eb__feature_top_k(z, dim, eb__feature_keep_count(dim, d->params.percentile), work, work + dim);
    double s1 = 0.0;
    for (int64_t j = 0; j < dim; j++) s1 += (double)z[j];
    const double factor = top != 0.0 ? exp(s1 / top) : 1.0;
    if (!isfinite(factor)) return false;
    for (int64_t j = 0; j < dim; j++) a[j] = (float)((double)z[j] * factor);
    return true;
}

static eb_status scale_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    return eb__feature_head_fit(d, x->model, err);
}

static eb_status scale_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    return eb__feature_head_score(d, x, scale_row, scores, err);
}

const eb__detector_method eb__detector_scale = {
    .name = "scale",
    .fit = scale_fit,
    .score = scale_score,
    .defaults = scale_defaults,
    EB__FEATURE_HEAD_METHOD,
};
