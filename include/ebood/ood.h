/* ebood/ood.h — OOD detectors, objectives and samplers.
 *
 * Score convention everywhere (DESIGN.md §1, §7): one score per sample, HIGHER = MORE
 * IN-DISTRIBUTION. A detector never sees OOD test data. */
#ifndef EBOOD_OOD_H
#define EBOOD_OOD_H

#include <ebood/base.h>
#include <ebood/nn.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- post-hoc scores from logits (no fitting) --------------------------------------------------
 * For a row of logits f[c] and a temperature T > 0 (computed in double, written as float):
 *   EB_SCORE_MSP        max_k softmax(f/T)_k = 1 / Σ_k exp((f_k − max f)/T)   (Hendrycks & Gimpel;
 *                       with T ≠ 1 the temperature-scaled MSP of ODIN, without input perturbation)
 *   EB_SCORE_MAX_LOGIT  max_k f_k — the temperature is validated but not used (scaling by 1/T
 *                       would not change any ranking)
 *   EB_SCORE_ENERGY     +T·logsumexp(f/T) = max f + T·log Σ_k exp((f_k − max f)/T), the negative
 *                       free energy −E(x; f) of paper 003 (Liu et al. 2020) Eq. (4),
 *                       E(x; f) = −T·log Σ_k exp(f_k(x)/T).
 * All are max-shifted, so logits of any finite magnitude (e.g. ±1000) are safe. */
typedef enum eb_logit_score {
    EB_SCORE_MSP = 0,
    EB_SCORE_MAX_LOGIT = 1,
    EB_SCORE_ENERGY = 2,
} eb_logit_score;

/* scores[i] = score of row i of logits[n, c] (row-major). n ≥ 0 (n = 0 does nothing), c ≥ 1.
 * Rows are processed in parallel with OpenMP when n·c is large; results do not depend on the
 * thread count. Errors: EB_ERR_ARG for an unknown kind, c < 1, n < 0, NULL arrays, or a
 * temperature that is not a finite number > 0; EB_ERR_NUMERIC for a NaN/±Inf logit (the message
 * names the first bad row and column). On error the contents of scores are unspecified.
 * Thread-safety: reentrant; logits are only read. */
EB_API eb_status eb_logit_scores(eb_logit_score kind, const float *logits, int64_t n, int64_t c,
                                 float temperature, float *scores, eb_error *err);

/* "msp", "maxlogit", "energy"; "unknown" for a value outside the enum. Static string. */
EB_API const char *eb_logit_score_name(eb_logit_score kind);

/* Inverse of eb_logit_score_name (exact, case-sensitive match). EB_ERR_ARG naming the string and
 * the accepted names otherwise; *out unchanged on error. */
EB_API eb_status eb_logit_score_parse(const char *name, eb_logit_score *out, eb_error *err);

/* ---- objectives (training losses on the tape; see eb_objective_fn in nn.h) -------------------- */
/* The plain classifier objective: mean cross-entropy of the model's logits against the batch's labels
 * (the "CE" baseline of 002_39b8670b82235277.txt and the pre-training of 003_77034dadf9bef685.txt).
 * ctx unused. Reports the number of correctly classified samples in *n_correct. */
EB_API eb_tensor *eb_objective_cross_entropy(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch,
                                             eb_rng *rng, int64_t *n_correct);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_OOD_H */
