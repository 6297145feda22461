/* Post-hoc OOD scores computed from logits alone: MSP, max-logit, energy (include/ebood/ood.h). */
#include <ebood/ood.h>

#include <math.h>
#include <string.h>

/* Below this many logits a parallel region costs more than it saves. */
#define EB_LOGIT_SCORES_PARALLEL_MIN 32768

static const char *const score_names[] = {
    [EB_SCORE_MSP] = "msp",
    [EB_SCORE_MAX_LOGIT] = "maxlogit",
    [EB_SCORE_ENERGY] = "energy",
};
#define EB_N_LOGIT_SCORES ((int)(sizeof score_names / sizeof score_names[0]))

const char *eb_logit_score_name(eb_logit_score kind) {
    return (int)kind >= 0 && (int)kind < EB_N_LOGIT_SCORES ? score_names[kind] : "unknown";
}

eb_status eb_logit_score_parse(const char *name, eb_logit_score *out, eb_error *err) {
    if (!out) return eb_error_set(err, EB_ERR_ARG, "out: NULL pointer");
    if (!name) return eb_error_set(err, EB_ERR_ARG, "score name: NULL pointer");
    for (int k = 0; k < EB_N_LOGIT_SCORES; k++) {
        if (strcmp(name, score_names[k]) == 0) {
            *out = (eb_logit_score)k;
            return EB_OK;
        }
    }
    return eb_error_set(err, EB_ERR_ARG, "score '%s': unknown logit score (expected msp, maxlogit or energy)",
                        name);
}

/* One row f[c] → score, in double; T > 0. The row is already known to be finite. */
static double row_score(eb_logit_score kind, const float *f, int64_t c, double T) {
    float fmax = f[0];
    for (int64_t k = 1; k < c; k++) fmax = f[k] > fmax ? f[k] : fmax;
    const double m = fmax;
    if (kind == EB_SCORE_MAX_LOGIT) return m;
    double sum = 0.0; /* Σ exp((f_k − m)/T) ∈ [1, c] */
    for (int64_t k = 0; k < c; k++) sum += exp(((double)f[k] - m) / T);
    return kind == EB_SCORE_MSP ? 1.0 / sum : m + T * log(sum);
}

eb_status eb_logit_scores(eb_logit_score kind, const float *logits, int64_t n, int64_t c, float temperature,
                          float *scores, eb_error *err) {
    if ((int)kind < 0 || (int)kind >= EB_N_LOGIT_SCORES)
        return eb_error_set(err, EB_ERR_ARG, "score kind %d: unknown logit score", (int)kind);
    if (n < 0 || c < 1)
        return eb_error_set(err, EB_ERR_ARG,
                            "logits: need n >= 0 rows and c >= 1 classes (got n = %lld, c = %lld)",
                            (long long)n, (long long)c);
    if (!(temperature > 0.0f) || !isfinite(temperature))
        return eb_error_set(err, EB_ERR_ARG, "temperature: must be a finite number > 0 (got %g)",
                            (double)temperature);
    if (n == 0) return EB_OK;
    if (!logits || !scores)
        return eb_error_set(err, EB_ERR_ARG, "%s: NULL pointer with n = %lld", logits ? "scores" : "logits",
                            (long long)n);
    const double T = temperature;
    int64_t first_bad = n * c; /* flat index of the first non-finite logit */
#pragma omp parallel for schedule(static) reduction(min                                                      \
                                                    : first_bad) if (n * c >= EB_LOGIT_SCORES_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        const float *row = logits + i * c;
        int64_t bad = -1;
        for (int64_t k = 0; k < c && bad < 0; k++)
            if (!isfinite(row[k])) bad = k;
        if (bad >= 0) {
            if (i * c + bad < first_bad) first_bad = i * c + bad;
            continue;
        }
        scores[i] = (float)row_score(kind, row, c, T);
    }
    if (first_bad < n * c)
        return eb_error_set(err, EB_ERR_NUMERIC, "logits[%lld, %lld]: logit is %s (logits must be finite)",
                            (long long)(first_bad / c), (long long)(first_bad % c),
                            isnan(logits[first_bad]) ? "NaN" : (logits[first_bad] > 0 ? "+Inf" : "-Inf"));
    return EB_OK;
}
