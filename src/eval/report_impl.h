/* Internals shared by the report files (src/eval/report.c, report_html.c, landscape.c). */
#ifndef EBOOD_REPORT_IMPL_H
#define EBOOD_REPORT_IMPL_H

#include <ebood/eval.h>

/* Every metric of an OOD set, in report order (report.c): JSON key, column title, offset of the double in
 * eb_eval_set_result. The first four are the text table's columns; the last is the EBM paper's AUPR. */
enum { EB__N_METRICS = 10 };
typedef struct eb__metric_column {
    const char *key, *title;
    size_t offset;
} eb__metric_column;
extern const eb__metric_column eb__metric_columns[EB__N_METRICS];
double eb__metric(const eb_eval_set_result *r, int m);

/* The ROC / precision–recall vertices with ID positive over the distinct thresholds t, from the highest
 * down (the sweep of ebood/eval.h): vertex 0 is (FPR, TPR) = (0, 0) with precision 1; vertex k ≥ 1 has
 * fpr[k] = FP(t_k)/n_ood, tpr[k] = TP(t_k)/n_id = recall, precision[k] = TP/(TP + FP). The trapezoid
 * area under (fpr, tpr) is the AUROC, Σ_k (tpr[k] − tpr[k−1])·precision[k] the average precision
 * (AUPR-In). Arrays malloc'd, *n vertices. Errors: EB_ERR_ARG (empty), EB_ERR_NUMERIC (NaN/Inf),
 * EB_ERR_NOMEM. */
eb_status eb__roc_curve(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood, double **fpr,
                        double **tpr, double **precision, int64_t *n, eb_error *err);

/* The highest threshold t with TPR(t) = #{s ≥ t}/n ≥ 0.95 (compared in double, as fpr95_id's sweep does):
 * the k-th largest score for the smallest k with k/n ≥ 0.95. The share of OOD scores ≥ t is fpr95_id.
 * NaN when out of memory. s[n], n ≥ 1, finite. */
double eb__threshold_95(const float *s, int64_t n);

/* Checks a landscape's grid and box (the errors of eb_landscape_compute) and allocates out->values. */
eb_status eb__landscape_alloc(const double box[4], int64_t width, int64_t height, eb_landscape *out,
                              eb_error *err);
/* The landscape figure as ebood landscape's SVG draws it (landscape.c); *out to eb_plot_free. */
eb_status eb__landscape_plot(const eb_landscape *l, const eb_landscape_style *s, const char *id,
                             eb_plot **out, eb_error *err);

#endif
