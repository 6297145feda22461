/* MSP, max-logit and energy as detectors: thin wrappers over eb_logit_scores (logit_scores.c).
 * Nothing to fit: fit() records the class count (so scoring logits of another width is an error)
 * and, with validation logits, calibrates the threshold. The temperature is a detector parameter. */
#include "ood/detector_impl.h"

static eb_status score_with(eb_logit_score kind, const eb_detector *d, const eb_detector_data *x,
                            float *scores, eb_error *err) {
    return eb_logit_scores(kind, x->logits, x->n, x->n_classes, d->params.temperature, scores, err);
}

static eb_status msp_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    return score_with(EB_SCORE_MSP, d, x, scores, err);
}

/* max-logit ignores the temperature (eb_logit_scores only validates it), so pass 1. */
static eb_status max_logit_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    (void)d;
    return eb_logit_scores(EB_SCORE_MAX_LOGIT, x->logits, x->n, x->n_classes, 1.0f, scores, err);
}

static eb_status energy_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    return score_with(EB_SCORE_ENERGY, d, x, scores, err);
}

const eb__detector_method eb__detector_msp = {
    .name = "msp",
    .params_used = EB_PARAM_TEMPERATURE,
    .needs = EB_NEEDS_LOGITS,
    .score = msp_score,
};

const eb__detector_method eb__detector_max_logit = {
    .name = "maxlogit",
    .needs = EB_NEEDS_LOGITS,
    .score = max_logit_score,
};

const eb__detector_method eb__detector_energy = {
    .name = "energy",
    .params_used = EB_PARAM_TEMPERATURE,
    .needs = EB_NEEDS_LOGITS,
    .score = energy_score,
};
