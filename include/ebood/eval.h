/* ebood/eval.h — OOD detection metrics, classification accuracy, aggregation across seeds.
 *
 * Score convention everywhere (DESIGN.md §7): a score is higher for inputs that look more
 * in-distribution (ID). A metric takes the ID test scores s_id[n_id] and the OOD test scores
 * s_ood[n_ood] as two plain float arrays; the order inside each array does not matter (except for
 * eb_ebm_paper_aupr, which truncates).
 *
 * Thresholds and ties. Every curve is swept over the DISTINCT score values, as scikit-learn's
 * _binary_clf_curve does: all samples with the same score enter at the same threshold, so results
 * never depend on how tied samples happen to be ordered. Scores are compared as exact float values
 * (+0.0 and -0.0 are one value). Everything is computed in double precision with integer counts;
 * one call sorts copies of the two arrays once (O(n log n)) and sweeps the thresholds once in each
 * direction.
 *
 * Notation used below, for a "positive" class with P samples and a "negative" class with N samples,
 * and a threshold t running over the distinct scores from the highest down:
 *   TP(t) = #{positive with score ≥ t},  FP(t) = #{negative with score ≥ t},
 *   R(t) = TP(t)/P (recall = TPR),  Pr(t) = TP(t)/(TP(t)+FP(t)) (precision),  FPR(t) = FP(t)/N.
 * "ID positive" uses the score s; "OOD positive" uses the score −s (so its thresholds run from the
 * lowest s up).
 *
 * Errors (the metric functions up to eb_mean_std): EB_ERR_ARG for an empty array, a NULL
 * pointer or a negative length (message names the argument); EB_ERR_NUMERIC for a NaN or ±Inf
 * score (message names the array and the index); EB_ERR_NOMEM if the sorted copies cannot be
 * allocated. On error *out is left unchanged.
 * Thread-safety: all functions are reentrant (no shared state); inputs are only read. */
#ifndef EBOOD_EVAL_H
#define EBOOD_EVAL_H

#include <ebood/base.h>
#include <stdio.h>
#include <ebood/ood.h>
#include <ebood/data.h>
#include <ebood/nn.h>
#include <ebood/ebm.h>
#include <ebood/outliers.h>
#include <ebood/plot.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The standard metric set (fractions in [0, 1], not percentages). */
typedef struct eb_ood_metrics {
    /* AUROC, ID positive, ties counted ½: the Mann–Whitney U statistic / (n_id·n_ood)
     * = P(s_id > s_ood) + ½·P(s_id = s_ood). Equals sklearn roc_auc_score(y_id, s), and (by
     * symmetry) roc_auc_score(y_ood, −s). Papers 000, 001, 002, 003, 004. */
    double auroc;
    /* AUPR-In: average precision, ID positive, score s — sklearn average_precision_score:
     * AP = Σ_t (R(t) − R(t_prev))·Pr(t), the step-wise sum over the distinct thresholds
     * (t_prev = the next-higher threshold, R = 0 above the highest). Papers 000, 003. */
    double aupr_in;
    /* AUPR-Out: the same average precision with OOD positive and score −s. Paper 002 reports
     * this (on truncated arrays: eb_ebm_paper_aupr). */
    double aupr_out;
    /* Trapezoidal AUPR-In / AUPR-Out, OpenOOD v1.5 style (paper 004):
     * sklearn.metrics.auc(recall, precision) on precision_recall_curve, i.e. the trapezoid rule
     * through (R=0, Pr=1) and the points (R(t), Pr(t)) of every distinct threshold. */
    double aupr_in_trapz;
    double aupr_out_trapz;
    /* FPR@95 with ID positive ("fraction of OOD accepted when ≥95% of ID is kept"; our column
     * fpr95_id, DESIGN.md §7): FPR(t*) with t* the highest threshold whose TPR R(t) ≥ 0.95,
     * i.e. the smallest-FPR point with TPR ≥ 0.95 of
     *   fpr, tpr, _ = sklearn.metrics.roc_curve(y_id, s, drop_intermediate=False)
     *   fpr[np.argmax(tpr >= 0.95)]
     * The comparison is done in double on TP/P exactly as numpy does (so 95/100 counts).
     * Note: sklearn's default drop_intermediate=True can drop the tied-score vertex that first
     * reaches 95% when it lies between two equal ROC steps, and then reports the FPR of the next
     * kept vertex (larger). That only happens with tied scores; we always use every threshold. */
    double fpr95_id;
    /* FPR@95 with OOD positive, OpenOOD v1.5 (paper 004; our column fpr95_ood): the fraction of ID
     * rejected at the first threshold (score −s, from the lowest s up) where ≥95% of OOD is
     * caught: roc_curve(y_ood, −s, drop_intermediate=False), fpr[argmax(tpr >= 0.95)]. */
    double fpr95_ood;
    /* Paper 003/000 code's FPR95 (eb_fpr95_hendrycks), and paper 001's (eb_fpr95_heat); see there. */
    double fpr95_hendrycks;
    double fpr95_heat;
} eb_ood_metrics;

/* All fields of eb_ood_metrics in one sort + sweep. Shapes: s_id[n_id], s_ood[n_ood], n_* ≥ 1.
 * Allocates (and frees) sorted copies of both arrays, 4·(n_id+n_ood) bytes. */
EB_API eb_status eb_ood_metrics_compute(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood,
                                        eb_ood_metrics *out, eb_error *err);

/* AUROC alone (same definition as eb_ood_metrics.auroc). */
EB_API eb_status eb_auroc(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood, double *out,
                          eb_error *err);

/* Generic sklearn average_precision_score(labels, scores) for binary labels: labels[i] is 1 for a
 * positive, 0 for a negative (any other value: EB_ERR_ARG naming the index); higher score = more
 * positive. Needs at least one positive and one negative (else EB_ERR_ARG). Shapes: scores[n],
 * labels[n], n ≥ 2. */
EB_API eb_status eb_average_precision(const float *scores, const uint8_t *labels, int64_t n, double *out,
                                      eb_error *err);

/* FPR95 as in the hendrycks `fpr_and_fdr_at_recall` evaluation code used by paper 003 (energy OOD,
 * utils/display_results.py) and paper 000 (Hopfield Boosting): ID positive, score s. Over the
 * thresholds t from the highest down to the first one where R(t) = 1, pick the one minimising
 * |R(t) − 0.95| (R computed as TP/P in double); among equally close thresholds the one with the
 * larger recall (lower t) wins — numpy argmin over the list ordered by decreasing recall.
 * Result FP(t)/N = FPR of OOD at that threshold. Unlike fpr95_id this may pick a point with
 * recall slightly BELOW 0.95. */
EB_API eb_status eb_fpr95_hendrycks(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood,
                                    double *out, eb_error *err);

/* FPR95 as in paper 001's code (HEAT, heat/lib/ood_metrics.py get_fpr), which works on energies
 * E = −s (high = OOD):  q = numpy.percentile(E_id, 95) (default "linear" method, computed in
 * double: h = (n_id−1)·0.95, lo = ⌊h⌋, g = h − lo, q = e[lo] + g·(e[lo+1]−e[lo]) for g < 0.5 and
 * e[lo+1] − (1−g)·(e[lo+1]−e[lo]) otherwise, e = E_id sorted ascending), and
 *   fpr95_heat = #{ j : −s_ood[j] < q } / n_ood     (STRICT inequality on energies).
 * In our sign convention this is the share of OOD scored strictly ABOVE the ID 5% quantile
 * (−q); an OOD score equal to the quantile is not counted. */
EB_API eb_status eb_fpr95_heat(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood,
                               double *out, eb_error *err);

/* Paper 002's (EBM OOD, selflein/EBM-OOD-Detection ood_detection_model.py) AUPR column: both
 * arrays truncated to their FIRST m = min(n_id, n_ood) elements (so chance level is 0.5), then
 * average precision with OOD positive and score −s, i.e. AUPR-Out on the truncated arrays.
 * (That code's AUROC column is eb_auroc(s_id, m, s_ood, m).) */
EB_API eb_status eb_ebm_paper_aupr(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood,
                                   double *out, eb_error *err);

/* Classification accuracy: the fraction of rows i with argmax_k logits[i·c + k] == labels[i],
 * where argmax takes the FIRST maximal index on ties (numpy/torch argmax). Shapes: logits[n, c]
 * row-major, labels[n]; n ≥ 1, c ≥ 1. Errors: EB_ERR_ARG for bad sizes / NULL / a label outside
 * [0, c) (names the index); EB_ERR_NUMERIC for a NaN or ±Inf logit (names row and column). */
EB_API eb_status eb_accuracy(const float *logits, int64_t n, int64_t c, const int32_t *labels, double *out,
                             eb_error *err);

/* Mean and sample standard deviation (ddof = 1) of x[n], for aggregating a metric over seeds.
 * n = 1 gives std = 0; n ≤ 0 (or x == NULL) gives NaN for both. Two-pass, in double. Never fails. */
EB_API void eb_mean_std(const double *x, int64_t n, double *mean, double *std);

/* ---- evaluations: detectors' scores against named OOD sets ---------------------------------- */
#define EB_EVAL_MAX_SETS   16
#define EB_EVAL_MAX_SCORES 24

/* One OOD set under one score: our standard metrics plus the EBM paper's AUPR column. */
typedef struct eb_eval_set_result {
    char name[48];
    int64_t n_ood;
    eb_ood_metrics metrics;
    double ebm_paper_aupr; /* eb_ebm_paper_aupr: OOD positive, arrays truncated to equal length */
} eb_eval_set_result;

typedef struct eb_eval_score_result {
    char score[32]; /* "msp", "maxlogit", "energy", ... */
    int n_sets;
    eb_eval_set_result sets[EB_EVAL_MAX_SETS];
} eb_eval_score_result;

/* Everything one evaluation of one model produced. */
typedef struct eb_eval_report {
    double id_acc; /* ID test accuracy, or NaN when the ID set has no labels */
    int64_t n_id;
    int n_scores;
    eb_eval_score_result scores[EB_EVAL_MAX_SCORES];
} eb_eval_report;

/* A named set of logits to evaluate (rows × classes, row-major; not owned). */
typedef struct eb_logit_set {
    const char *name;
    const float *logits;
    int64_t n;
} eb_logit_set;

/* Scores the ID logits and every OOD set with each logit score (temperature T), and fills `out`.
 * id_labels may be NULL (then id_acc is NaN). Errors: too many sets/scores, NaN/Inf logits, an empty set. */
EB_API eb_status eb_eval_logit_scores(const eb_logit_set *id, const int32_t *id_labels,
                                      const eb_logit_set *ood, int n_ood, int64_t n_classes,
                                      const eb_logit_score *kinds, int n_kinds, float temperature,
                                      eb_eval_report *out, eb_error *err);

/* Rows of model inputs (not owned). */
typedef struct eb_row_set {
    const char *name;
    const float *x;        /* [n, in_dim] */
    const int32_t *labels; /* [n] or NULL */
    int64_t n;
} eb_row_set;

/* Detectors on one model: features and logits of every set are computed once; each detector (default
 * hyperparameters, eb_detector_default_params; `input_std` for odin's perturbation, NULL = 1) is fitted
 * on `train` (ID training rows with labels) and scores `id` and every OOD set. The report has one score
 * entry per detector, named after it. */
EB_API eb_status eb_eval_detectors(eb_model *m, const eb_row_set *train, const eb_row_set *id,
                                   const eb_row_set *ood, int n_ood, const eb_detector_kind *kinds,
                                   int n_kinds, const float *input_std, int64_t n_input_std,
                                   eb_eval_report *out, eb_error *err);

/* The same with each detector's hyperparameters: params[n_kinds] (params[k] for kinds[k]), or NULL for
 * the defaults. */
EB_API eb_status eb_eval_detectors_params(eb_model *m, const eb_row_set *train, const eb_row_set *id,
                                          const eb_row_set *ood, int n_ood, const eb_detector_kind *kinds,
                                          const eb_detector_params *params, int n_kinds,
                                          const float *input_std, int64_t n_input_std, eb_eval_report *out,
                                          eb_error *err);

/* One evaluation as one call (what `ebood eval --model` runs): the logits (and the penultimate features
 * when a detector needs them) of every set of rows are computed once, `batch` rows per forward pass;
 * each detector is fitted — on `train` when it learns from features, labels or auxiliary outliers, else on
 * the ID rows (it only records dimensions) — then scores `id` and every OOD set (labels are never passed
 * to scoring), and the report gets one entry per detector, named after its kind, with every metric and the
 * EBM paper's AUPR per set; id_acc from id's labels (NaN without them or for a one-output model). */
typedef void (*eb_eval_scores_fn)(void *ctx, int detector, int set, const float *scores, int64_t n);
typedef struct eb_eval_spec {
    eb_model *model;
    const eb_row_set *id;  /* ID test rows */
    const eb_row_set *ood; /* ood[n_ood], 1..EB_EVAL_MAX_SETS */
    int n_ood;
    const eb_row_set *train; /* ID training rows (with labels), or NULL when no detector learns */
    const eb_row_set *aux;   /* auxiliary outlier rows for EB_NEEDS_AUX (hopfield_aux), or NULL */
    eb_detector *const
        *detectors; /* [n_detectors], 1..EB_EVAL_MAX_SCORES, unfitted; fitted here, not freed */
    int n_detectors;
    const float *input_std; /* eb_detector_data.input_std (odin's perturbation), NULL = 1 */
    int64_t n_input_std;
    int64_t batch; /* rows per forward pass (0 = 256) */
    /* Optional: called with every score array as it is computed (set −1 = the ID rows), e.g. to keep them
     * for figures; the array is valid during the call only. */
    eb_eval_scores_fn on_scores;
    void *ctx;
    /* Optional: under mpirun, k-NN/Hopfield banks are split across the ranks (eb_detector_distribute);
     * NULL = one process. */
    const eb_dist *dist;
} eb_eval_spec;
/* Errors: EB_ERR_ARG (counts out of range; a learning detector without `train`), a detector's fit/score
 * errors (then *detector_failed, if given, is true: the data, not the call, was wrong), the metrics'
 * errors, EB_ERR_NOMEM. */
EB_API eb_status eb_eval_run(const eb_eval_spec *spec, eb_eval_report *out, bool *detector_failed,
                             eb_error *err);

/* Appends one score entry named `name` to r (r->n_scores < EB_EVAL_MAX_SCORES) from precomputed scores
 * (higher = more ID): s_id[n_id] and, per OOD set k, s_ood[k][n_ood[k]] named ood_names[k]; every metric
 * and the EBM paper's AUPR as eb_eval_detectors does. For models evaluated outside eb_eval_detectors
 * (the benchmark suites' EBM rows). Errors: EB_ERR_ARG (a full report, n_sets outside 1..EB_EVAL_MAX_SETS),
 * the metrics' errors (a NaN/Inf score: EB_ERR_NUMERIC). On error r->n_scores is unchanged. */
EB_API eb_status eb_eval_add_scores(eb_eval_report *r, const char *name, const float *s_id, int64_t n_id,
                                    const float *const *s_ood, const int64_t *n_ood,
                                    const char *const *ood_names, int n_sets, eb_error *err);

/* ---- reports ---------------------------------------------------------------------------------------- */
/* Per score, a table of the OOD sets (FPR@95 (ID-positive convention), AUROC, AUPR-In, AUPR-Out, in
 * percent) with a mean row, then the ID accuracy. */
EB_API void eb_report_print_table(FILE *fp, const eb_eval_report *r);
/* The same as one JSON object; metrics are fractions in [0, 1] under the keys auroc, aupr_in, aupr_out,
 * fpr95_id, fpr95_ood (+ aupr_in_trapz, aupr_out_trapz, ebm_paper_aupr), and id_acc. malloc'd string. */
EB_API char *eb_report_json(const eb_eval_report *r);

/* A paper's published value for one (score, OOD set) cell of a suite, in percent; NaN if none. */
typedef struct eb_paper_value {
    const char *score, *set;
    double mean, std;
} eb_paper_value;

/* Across runs (seeds) of the same evaluation: mean ± std per metric. Prints, per score, the OOD sets
 * with our metrics and the paper column (`paper_metric` names it, e.g. "EBM-paper AUPR-Out"; the
 * paper's values come from `paper`, n_paper entries) beside our value of the same convention. */
EB_API void eb_report_print_runs(FILE *fp, const eb_eval_report *runs, int n_runs, const char *paper_metric,
                                 const eb_paper_value *paper, int n_paper);
EB_API char *eb_report_runs_json(const eb_eval_report *runs, int n_runs, const eb_paper_value *paper,
                                 int n_paper);

/* The paper suites (segment, fmnist, outliers, hamos) are a layer above this one: ebood/suites.h. */

/* ---- landscapes: a 2-D model's log-density on a grid, as data and pictures (src/eval/landscape.c) ---- */
/* The pictures of HEAT's Figs. 1–2 (001_8dfeaa911d9afebd.txt) and the EBM paper code's p(x) plots.
 * f(x) = logsumexp_k g_k(x) of the model's outputs (ebm.h's convention: f = −E, higher = more
 * in-distribution; for a radial flow f = log p(x) exactly). */
#define EB_LANDSCAPE_MAX_GRID 2048

typedef struct eb_landscape {
    int64_t width, height; /* grid points along x and along y, each in [2, EB_LANDSCAPE_MAX_GRID] */
    double box[4];         /* xmin, xmax, ymin, ymax: the grid's outer points lie on the box's edges */
    /* values[i·width + j] = f(x_j, y_i), x_j = xmin + j·(xmax − xmin)/(width − 1),
     * y_i = ymin + i·(ymax − ymin)/(height − 1): row 0 is the BOTTOM (y = ymin), as numpy's
     * meshgrid(indexing="xy") and matplotlib's origin="lower". malloc'd. */
    float *values;
} eb_landscape;

/* Evaluates f on the grid with eb_model_predict (eval mode, no gradients), rows in batches.
 * Errors: EB_ERR_SHAPE (the model's input is not 2-D: "the model takes 3 features, a landscape needs
 * 2"), EB_ERR_ARG (width/height outside [2, EB_LANDSCAPE_MAX_GRID], a box that is not finite with
 * xmin < xmax and ymin < ymax), EB_ERR_NOMEM, the model's errors. Not thread-safe for one model. */
EB_API eb_status eb_landscape_compute(eb_model *m, const double box[4], int64_t width, int64_t height,
                                      eb_landscape *out, eb_error *err);
/* The same with f = a fitted detector's score of the grid points taken as 2-D features (higher = more
 * ID; for gmm / heat the negative energy −E(z), so mode ENERGY draws HEAT's Figs. 1–2: fit it on the
 * 2-D toy points with heat.normalize off). Errors: EB_ERR_SHAPE (the detector was not fitted on 2-D
 * features, or its scoring needs more than features: logits, a model or inputs), the detector's
 * errors, the others as above. */
EB_API eb_status eb_landscape_compute_detector(eb_detector *d, const double box[4], int64_t width,
                                               int64_t height, eb_landscape *out, eb_error *err);
EB_API void eb_landscape_free(eb_landscape *l); /* NULL-safe; zeroes the struct */

/* What the colours show. */
typedef enum eb_landscape_mode {
    EB_LANDSCAPE_LOG_DENSITY, /* f (auto range: 2nd percentile to max) */
    EB_LANDSCAPE_DENSITY,     /* exp(f − max f) ∈ (0, 1] (auto range [0, 1]): the EBM code's p(x) plot */
    EB_LANDSCAPE_ENERGY,      /* E = −f (auto range: min to 98th percentile): HEAT's figures */
} eb_landscape_mode;
EB_API const char *eb_landscape_mode_name(eb_landscape_mode mode); /* "logp", "p", "energy" */
EB_API eb_status eb_landscape_mode_parse(const char *s, eb_landscape_mode *out, eb_error *err);

typedef struct eb_landscape_style {
    eb_landscape_mode mode;
    double vmin, vmax;   /* colour range of the shown quantity; NaN = auto (see the modes) */
    int scale;           /* PNG: pixels per grid cell, 1..64 */
    const float *points; /* overlay: n_points rows (x, y) drawn as dots (SVG circles), or NULL */
    int64_t n_points;
    const char *title;     /* SVG caption, or NULL */
    const float *points_b; /* a second overlay set (x, y) in blue (e.g. the AUX points), or NULL */
    int64_t n_points_b;
} eb_landscape_style;
/* log-density, auto range, scale 1, no points, no title. */
EB_API eb_landscape_style eb_landscape_default_style(void);

/* ---- border energy of two 2-D point sets (000_d95ac7511efbaafc.txt Eq. 5, App. B.4 / Fig. 6) -------------
 * The Euclidean form of the paper's toy example (its Eq. 12): similarities s(ξ, x) = −½‖ξ − x‖², and with
 * lse_β(X; ξ) = β⁻¹ log Σ_{x∈X} exp(β s(ξ, x)), for ID points I and AUX points O,
 *   L_OOD(ξ) = lse_β(I; ξ) + lse_β(O; ξ) − 2 lse_β(I ∥ O; ξ)   (Eq. 5; ≤ 0, −2 log 2/β midway between two
 *   single points, highest on the border). The training loss J = mean over the queries ξ ∈ I ∪ O of
 *   L_OOD(ξ), with the points as memories AND queries (nothing detached, as Eq. 6 in a batch). */
/* values = β·L_OOD on a grid (so mode "p" shows exp(β L_OOD)/max, the paper's picture); pts = n_id ID
 * rows then n_aux AUX rows, (x, y) each. Errors: EB_ERR_ARG (n_id, n_aux < 1, β ≤ 0, the grid/box as
 * eb_landscape_compute), EB_ERR_NOMEM. */
EB_API eb_status eb_border_landscape(const float *pts, int64_t n_id, int64_t n_aux, double beta,
                                     const double box[4], int64_t width, int64_t height, eb_landscape *out,
                                     eb_error *err);
/* J and its gradient with respect to every point (grad[2·(n_id + n_aux)], may be NULL), in double. */
EB_API eb_status eb_border_loss(const float *pts, int64_t n_id, int64_t n_aux, double beta, double *loss,
                                double *grad, eb_error *err);
/* `steps` steps of gradient descent on J moving the points themselves (Fig. 6: lr 0.1, β 2); *loss =
 * J before the last step (may be NULL). */
EB_API eb_status eb_border_descend(float *pts, int64_t n_id, int64_t n_aux, double beta, double lr,
                                   int64_t steps, double *loss, eb_error *err);

/* The colormap is eb_colormap (ebood/plot.h). */

/* Writers; all atomic (temporary file + rename: nothing is left behind on failure).
 * NPY: float32 [height, width] = values. CSV: header "x,y,f", one row per grid point in value order.
 * PNG: 8-bit RGB, (width·scale) × (height·scale) pixels, top row = ymax, overlay points as dots.
 * SVG: the PNG (scale 1) embedded as a data URI in a framed plot with axis ticks, a colour bar with
 * its range, the overlay points as circles, and the title.
 * Errors: EB_ERR_ARG (bad style: scale, vmin ≥ vmax, non-finite explicit range; a PNG over 16384 pixels
 * per side), EB_ERR_IO (naming path), EB_ERR_NOMEM. */
EB_API eb_status eb_landscape_write_npy(const eb_landscape *l, const char *path, eb_error *err);
EB_API eb_status eb_landscape_write_csv(const eb_landscape *l, const char *path, eb_error *err);
EB_API eb_status eb_landscape_write_png(const eb_landscape *l, const eb_landscape_style *s, const char *path,
                                        eb_error *err);
EB_API eb_status eb_landscape_write_svg(const eb_landscape *l, const eb_landscape_style *s, const char *path,
                                        eb_error *err);
/* Chooses the writer by the extension of path (.npy, .csv, .png, .svg; case-sensitive); anything else
 * is EB_ERR_ARG ("out.jpg: unknown extension (.png, .svg, .npy, .csv)") before any file is touched.
 * s may be NULL (the default style). */
EB_API eb_status eb_landscape_write(const eb_landscape *l, const eb_landscape_style *s, const char *path,
                                    eb_error *err);
/* EB_OK if path has one of the four extensions (the CLI checks before computing). */
EB_API eb_status eb_landscape_check_path(const char *path, eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_EVAL_H */
