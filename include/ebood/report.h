/* ebood/report.h — a page a person can read: one self-contained HTML file (inline SVG figures, inline CSS,
 * no script, no font, no external resource; opens from a file:// URL), or Markdown + SVG files
 * (src/eval/report_html.c).
 *
 * A report is built section by section, then written once:
 *   - provenance rows (model, data, seeds, settings; ebood's version and the date are added by the writer);
 *   - an evaluation (eb_eval_report): per score the metric table in every convention, ID accuracy, and with
 *     the raw scores per OOD set the histogram of ID vs OOD scores with the threshold that keeps 95 % of
 *     the ID test scores and FPR@95 marked, and ROC and PR curves with AUROC / AUPR in the legend;
 *   - a suite's JSON (`ebood bench … --json`): per score mean ± std over the runs beside the paper's value,
 *     differences beyond the noise highlighted;
 *   - a training log (per-epoch loss, accuracy, learning rate) as curves;
 *   - a 2-D landscape with the data on top;
 *   - notes, shown in a visible box (used for inputs whose numbers are not meaningful, e.g. one sample).
 * Every table cell that shows a number from JSON carries data-json="[path]" (the JSON path of the value in
 * eb_report_json / the suite's JSON) so a test can compare the page with the data it came from.
 *
 * Errors: EB_ERR_ARG (bad arguments), EB_ERR_FORMAT (a suite JSON that is not one, naming the source),
 * EB_ERR_NUMERIC (NaN/Inf scores), EB_ERR_NOMEM, EB_ERR_IO (writing). Adding calls that fail leave the
 * report as it was. Not thread-safe for one report. */
#ifndef EBOOD_REPORT_H
#define EBOOD_REPORT_H

#include <ebood/eval.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eb_html_report eb_html_report;

EB_API eb_status eb_html_report_new(const char *title, eb_html_report **out, eb_error *err);
EB_API void eb_html_report_free(eb_html_report *r); /* NULL-safe */

/* A provenance row (key, value), e.g. ("model", "m.st"); shown in the order added. */
EB_API eb_status eb_html_report_add_provenance(eb_html_report *r, const char *key, const char *value,
                                               eb_error *err);
/* A visible note (a warning box) at the current position. */
EB_API eb_status eb_html_report_add_note(eb_html_report *r, const char *text, eb_error *err);

/* The raw scores of one score entry of an evaluation: id[n_id] and ood[s][sets[s].n_ood]. */
typedef struct eb_report_scores {
    const float *id;
    const float *ood[EB_EVAL_MAX_SETS];
} eb_report_scores;

/* One evaluation. raw: raw[k] for e->scores[k] (k < e->n_scores), or NULL for tables only. Sets with fewer
 * than 10 samples (ID or OOD), and sets whose ID and OOD raw scores are all one value, get a visible note.
 * Errors: EB_ERR_ARG (an empty set), EB_ERR_NUMERIC (a non-finite raw score, naming score, set and index). */
EB_API eb_status eb_html_report_add_eval(eb_html_report *r, const eb_eval_report *e,
                                         const eb_report_scores *raw, eb_error *err);

/* A suite's JSON as `ebood bench NAME --json` prints it (runs + summary with mean/std per metric and the
 * paper's values). source names the input in errors and in the page. A difference to the paper is
 * highlighted when |ours − paper| > max(2 points, 2·sqrt(std_ours² + std_paper²)). */
EB_API eb_status eb_html_report_add_suite_json(eb_html_report *r, const char *json, const char *source,
                                               eb_error *err);

/* A per-epoch training log: a JSON array of objects {"epoch", "loss", "accuracy"?, "lr"?} (the
 * "ebood.train_log" metadata of a checkpoint). Errors: EB_ERR_FORMAT naming source. */
EB_API eb_status eb_html_report_add_training_log(eb_html_report *r, const char *json, const char *source,
                                                 eb_error *err);

/* A landscape figure (as `ebood landscape -o X.svg` draws it) with an optional caption. */
EB_API eb_status eb_html_report_add_landscape(eb_html_report *r, const eb_landscape *l,
                                              const eb_landscape_style *s, const char *caption,
                                              eb_error *err);

typedef enum eb_report_format {
    EB_REPORT_HTML, /* one self-contained .html file */
    EB_REPORT_MD,   /* path.md plus one SVG file per figure beside it (path stem + "-<figure id>.svg") */
} eb_report_format;
/* Writes the page atomically (every file through a temporary; on failure nothing is left behind). */
EB_API eb_status eb_html_report_write(const eb_html_report *r, const char *path, eb_report_format format,
                                      eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_REPORT_H */
