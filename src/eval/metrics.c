/* OOD detection metrics (AUROC, AUPR, FPR@95 in its several conventions), accuracy, mean ± std.
 * Definitions and the papers that use each one: include/ebood/eval.h. */
#include <ebood/eval.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EB_RECALL_LEVEL 0.95

/* ---- input checks and sorted copies ----------------------------------------------------------- */

static eb_status check_scores(const float *s, int64_t n, const char *name, eb_error *err) {
    if (n <= 0) return eb_error_set(err, EB_ERR_ARG, "%s: empty score array (n = %lld)", name, (long long)n);
    if (!s) return eb_error_set(err, EB_ERR_ARG, "%s: NULL pointer with n = %lld", name, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(s[i]))
            return eb_error_set(err, EB_ERR_NUMERIC, "%s[%lld]: score is %s (scores must be finite)", name,
                                (long long)i, isnan(s[i]) ? "NaN" : (s[i] > 0 ? "+Inf" : "-Inf"));
    }
    return EB_OK;
}

static int cmp_float_asc(const void *pa, const void *pb) {
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b); /* +0.0 and -0.0 compare equal: one threshold, as in numpy */
}

/* Ascending sorted copies of the ID and OOD scores, in one allocation. */
typedef struct sorted_scores {
    float *id, *ood;
    int64_t n_id, n_ood;
} sorted_scores;

static eb_status check_pair(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood,
                            eb_error *err) {
    eb_status st = check_scores(s_id, n_id, "s_id", err);
    return st != EB_OK ? st : check_scores(s_ood, n_ood, "s_ood", err);
}

/* Sorted copies of s_id[n_id], s_ood[n_ood] (already checked). */
static eb_status sorted_scores_make(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood,
                                    sorted_scores *ss, eb_error *err) {
    float *buf = malloc((size_t)(n_id + n_ood) * sizeof *buf);
    if (!buf)
        return eb_error_set(err, EB_ERR_NOMEM, "metrics: cannot allocate %lld sorted scores",
                            (long long)(n_id + n_ood));
    memcpy(buf, s_id, (size_t)n_id * sizeof *buf);
    memcpy(buf + n_id, s_ood, (size_t)n_ood * sizeof *buf);
    qsort(buf, (size_t)n_id, sizeof *buf, cmp_float_asc);
    qsort(buf + n_id, (size_t)n_ood, sizeof *buf, cmp_float_asc);
    *ss = (sorted_scores){.id = buf, .ood = buf + n_id, .n_id = n_id, .n_ood = n_ood};
    return EB_OK;
}

static void sorted_scores_free(sorted_scores *ss) { free(ss->id); }

/* ---- the threshold sweep ---------------------------------------------------------------------- */

/* Walks the distinct values of two ascending arrays a[na], b[nb] together, from the highest value
 * down (desc) or from the lowest up, reporting how many elements of each equal the value: one step
 * per threshold of sklearn's _binary_clf_curve. */
typedef struct group_walk {
    const float *a, *b;
    int64_t na, nb, ia, ib; /* ia, ib: elements already consumed from the walking end */
    bool desc;
} group_walk;

static float walk_at(const float *x, int64_t n, int64_t consumed, bool desc) {
    return desc ? x[n - 1 - consumed] : x[consumed];
}

static bool group_next(group_walk *w, int64_t *ca, int64_t *cb) {
    bool has_a = w->ia < w->na, has_b = w->ib < w->nb;
    if (!has_a && !has_b) return false;
    float va = has_a ? walk_at(w->a, w->na, w->ia, w->desc) : 0.0f;
    float vb = has_b ? walk_at(w->b, w->nb, w->ib, w->desc) : 0.0f;
    float v = !has_a ? vb : !has_b ? va : (w->desc ? (va > vb ? va : vb) : (va < vb ? va : vb));
    *ca = *cb = 0;
    while (w->ia < w->na && walk_at(w->a, w->na, w->ia, w->desc) == v) w->ia++, (*ca)++;
    while (w->ib < w->nb && walk_at(w->b, w->nb, w->ib, w->desc) == v) w->ib++, (*cb)++;
    return true;
}

/* Quantities of one precision/recall/ROC curve (see eval.h for the notation). */
typedef struct curve_stats {
    double auroc;         /* positives ranked above negatives, ties ½ */
    double ap;            /* Σ ΔR·Pr (sklearn average precision) */
    double ap_trapz;      /* trapezoid through (0, 1) and every (R, Pr) */
    double fpr_at_recall; /* FPR at the first threshold with R ≥ 0.95 */
    double fpr_hendrycks; /* FPR at the threshold minimising |R − 0.95| (ties: larger R) */
} curve_stats;

/* One sweep over the thresholds of a curve whose positives pos[P] and negatives neg[N] (both
 * sorted ascending) rank higher = more positive when desc, or lower = more positive otherwise
 * (i.e. the score −s). */
static curve_stats curve_sweep(const float *pos, int64_t P, const float *neg, int64_t N, bool desc) {
    group_walk w = {.a = pos, .b = neg, .na = P, .nb = N, .desc = desc};
    const double dP = (double)P, dN = (double)N;
    int64_t tp = 0, fp = 0, cp, cn;
    double u2 = 0.0, ap = 0.0, trapz = 0.0, pr_prev = 1.0;
    double fpr_at = -1.0, best_d = INFINITY, fpr_h = 0.0;
    bool full_recall = false;
    while (group_next(&w, &cp, &cn)) {
        tp += cp;
        fp += cn;
        /* 2U: each positive of this group beats the N − fp negatives below it, ties with cn */
        u2 += (double)cp * (double)(2 * (N - fp) + cn);
        double recall = (double)tp / dP, precision = (double)tp / (double)(tp + fp);
        if (cp > 0) {
            double d_recall = (double)cp / dP;
            ap += d_recall * precision;
            trapz += d_recall * 0.5 * (precision + pr_prev);
        }
        pr_prev = precision;
        if (fpr_at < 0.0 && recall >= EB_RECALL_LEVEL) fpr_at = (double)fp / dN;
        if (!full_recall) { /* hendrycks: thresholds up to the first with R = 1 */
            double d = fabs(recall - EB_RECALL_LEVEL);
            if (d <= best_d) best_d = d, fpr_h = (double)fp / dN;
            full_recall = tp == P;
        }
    }
    /* a sum of P terms ≤ 1/P can round a few ulps past 1 (e.g. perfectly separated sets): clamp */
    return (curve_stats){.auroc = u2 / (2.0 * dP * dN),
                         .ap = fmin(ap, 1.0),
                         .ap_trapz = fmin(trapz, 1.0),
                         .fpr_at_recall = fpr_at,
                         .fpr_hendrycks = fpr_h};
}

/* ID positive, score s: thresholds from the highest s down. */
static curve_stats curve_id_positive(const sorted_scores *ss) {
    return curve_sweep(ss->id, ss->n_id, ss->ood, ss->n_ood, true);
}

/* OOD positive, score −s: thresholds from the lowest s up. */
static curve_stats curve_ood_positive(const sorted_scores *ss) {
    return curve_sweep(ss->ood, ss->n_ood, ss->id, ss->n_id, false);
}

/* e[j]: the j-th smallest ID energy E = −s, i.e. minus the j-th largest ID score. */
static double id_energy_at(const sorted_scores *ss, int64_t j) { return -(double)ss->id[ss->n_id - 1 - j]; }

/* numpy.percentile(E_id, 95) with the default "linear" method, step by step as numpy does it. */
static double heat_energy_p95(const sorted_scores *ss) {
    const int64_t n = ss->n_id;
    double h = (double)(n - 1) * EB_RECALL_LEVEL;
    if (h >= (double)(n - 1)) return id_energy_at(ss, n - 1);
    int64_t lo = (int64_t)floor(h);
    double g = h - (double)lo, a = id_energy_at(ss, lo), b = id_energy_at(ss, lo + 1), diff = b - a;
    return g >= 0.5 ? b - diff * (1.0 - g) : a + diff * g;
}

static double heat_fpr(const sorted_scores *ss, const float *s_ood) {
    double q = heat_energy_p95(ss);
    int64_t count = 0;
    for (int64_t j = 0; j < ss->n_ood; j++) count += -(double)s_ood[j] < q;
    return (double)count / (double)ss->n_ood;
}

/* ---- public entry points ---------------------------------------------------------------------- */

eb_status eb_ood_metrics_compute(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood,
                                 eb_ood_metrics *out, eb_error *err) {
    if (!out) return eb_error_set(err, EB_ERR_ARG, "out: NULL pointer");
    sorted_scores ss;
    eb_status st = check_pair(s_id, n_id, s_ood, n_ood, err);
    if (st == EB_OK) st = sorted_scores_make(s_id, n_id, s_ood, n_ood, &ss, err);
    if (st != EB_OK) return st;
    curve_stats in = curve_id_positive(&ss), on = curve_ood_positive(&ss);
    *out = (eb_ood_metrics){.auroc = in.auroc,
                            .aupr_in = in.ap,
                            .aupr_out = on.ap,
                            .aupr_in_trapz = in.ap_trapz,
                            .aupr_out_trapz = on.ap_trapz,
                            .fpr95_id = in.fpr_at_recall,
                            .fpr95_ood = on.fpr_at_recall,
                            .fpr95_hendrycks = in.fpr_hendrycks,
                            .fpr95_heat = heat_fpr(&ss, s_ood)};
    sorted_scores_free(&ss);
    return EB_OK;
}

/* The single-metric entry points share eb_ood_metrics_compute: the sort dominates the cost. */
#define EB_ONE_METRIC(field)                                                                                 \
    do {                                                                                                     \
        if (!out) return eb_error_set(err, EB_ERR_ARG, "out: NULL pointer");                                 \
        eb_ood_metrics m;                                                                                    \
        eb_status st = eb_ood_metrics_compute(s_id, n_id, s_ood, n_ood, &m, err);                            \
        if (st == EB_OK) *out = m.field;                                                                     \
        return st;                                                                                           \
    } while (0)

eb_status eb_auroc(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood, double *out,
                   eb_error *err) {
    EB_ONE_METRIC(auroc);
}

eb_status eb_fpr95_hendrycks(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood, double *out,
                             eb_error *err) {
    EB_ONE_METRIC(fpr95_hendrycks);
}

eb_status eb_fpr95_heat(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood, double *out,
                        eb_error *err) {
    EB_ONE_METRIC(fpr95_heat);
}

eb_status eb_ebm_paper_aupr(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood, double *out,
                            eb_error *err) {
    if (!out) return eb_error_set(err, EB_ERR_ARG, "out: NULL pointer");
    /* check the full arrays, so a bad value past the cut is still reported */
    eb_status st = check_pair(s_id, n_id, s_ood, n_ood, err);
    if (st != EB_OK) return st;
    int64_t m = n_id < n_ood ? n_id : n_ood;
    sorted_scores ss;
    st = sorted_scores_make(s_id, m, s_ood, m, &ss, err);
    if (st != EB_OK) return st;
    *out = curve_ood_positive(&ss).ap;
    sorted_scores_free(&ss);
    return EB_OK;
}

eb_status eb_average_precision(const float *scores, const uint8_t *labels, int64_t n, double *out,
                               eb_error *err) {
    if (!out) return eb_error_set(err, EB_ERR_ARG, "out: NULL pointer");
    eb_status st = check_scores(scores, n, "scores", err);
    if (st != EB_OK) return st;
    if (!labels) return eb_error_set(err, EB_ERR_ARG, "labels: NULL pointer with n = %lld", (long long)n);
    int64_t n_pos = 0;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] > 1)
            return eb_error_set(err, EB_ERR_ARG, "labels[%lld]: %u is not a binary label (expected 0 or 1)",
                                (long long)i, (unsigned)labels[i]);
        n_pos += labels[i];
    }
    if (n_pos == 0 || n_pos == n)
        return eb_error_set(err, EB_ERR_ARG, "labels: need both classes (%lld positives of %lld)",
                            (long long)n_pos, (long long)n);
    float *split = malloc((size_t)n * sizeof *split);
    if (!split) return eb_error_set(err, EB_ERR_NOMEM, "scores: cannot allocate %lld floats", (long long)n);
    int64_t ip = 0, in = n_pos;
    for (int64_t i = 0; i < n; i++) split[labels[i] ? ip++ : in++] = scores[i];
    qsort(split, (size_t)n_pos, sizeof *split, cmp_float_asc);
    qsort(split + n_pos, (size_t)(n - n_pos), sizeof *split, cmp_float_asc);
    *out = curve_sweep(split, n_pos, split + n_pos, n - n_pos, true).ap;
    free(split);
    return EB_OK;
}

eb_status eb_accuracy(const float *logits, int64_t n, int64_t c, const int32_t *labels, double *out,
                      eb_error *err) {
    if (!out) return eb_error_set(err, EB_ERR_ARG, "out: NULL pointer");
    if (n <= 0 || c <= 0)
        return eb_error_set(err, EB_ERR_ARG,
                            "logits: need n >= 1 rows and c >= 1 classes (got n = %lld, c = %lld)",
                            (long long)n, (long long)c);
    if (!logits || !labels)
        return eb_error_set(err, EB_ERR_ARG, "%s: NULL pointer", logits ? "labels" : "logits");
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = logits + i * c;
        if (labels[i] < 0 || labels[i] >= c)
            return eb_error_set(err, EB_ERR_ARG, "labels[%lld]: class %d outside [0, %lld)", (long long)i,
                                (int)labels[i], (long long)c);
        int64_t best = 0;
        for (int64_t k = 0; k < c; k++) {
            if (!isfinite(row[k]))
                return eb_error_set(err, EB_ERR_NUMERIC, "logits[%lld, %lld]: non-finite logit", (long long)i,
                                    (long long)k);
            if (row[k] > row[best]) best = k; /* strict: the first maximum wins */
        }
        correct += best == labels[i];
    }
    *out = (double)correct / (double)n;
    return EB_OK;
}

void eb_mean_std(const double *x, int64_t n, double *mean, double *std) {
    double m = NAN, s = NAN;
    if (x && n > 0) {
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) sum += x[i];
        m = sum / (double)n;
        double ss = 0.0;
        for (int64_t i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
        s = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    }
    if (mean) *mean = m;
    if (std) *std = s;
}
