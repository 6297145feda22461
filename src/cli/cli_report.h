/* The report pages the commands write (`ebood report`, `ebood eval --report`, `ebood bench … --report`):
 * src/cli/cli_report.c on top of ebood/report.h. The page's format follows the path: ".md" is Markdown +
 * SVG files, anything else one HTML file. */
#ifndef EBOOD_CLI_REPORT_H
#define EBOOD_CLI_REPORT_H

#include "cli/cli_impl.h"

eb_report_format cli_report_format(const char *path);

/* The section of score files: ID scores id_path [n] and ood->items "NAME=FILE" (checked NAME=FILE by the
 * caller), one score entry named `name`. Errors name the file (empty, NaN, more than one column) or the
 * duplicate name. */
eb_status cli_report_add_score_files(eb_html_report *r, const char *name, const char *id_path,
                                     const cli_list *ood, eb_error *err);

/* The raw scores of an evaluation, kept for the figures: copies of score k's ID scores and of its scores on
 * OOD set s (all malloc'd; on an allocation failure oom is set and the page gets tables only). */
typedef struct cli_report_scores {
    eb_report_scores raw[EB_EVAL_MAX_SCORES];
    bool oom;
} cli_report_scores;
void cli_report_keep(cli_report_scores *k, int score, int set, const float *s, int64_t n); /* set −1: ID */
void cli_report_scores_free(cli_report_scores *k);

/* The page of `ebood eval --report`: provenance (model, data), the evaluation with its figures, the
 * checkpoint's training log if it keeps one, and for a model with 2 inputs its landscape with the ID test
 * rows xy[n_xy, 2] on top. */
eb_status cli_report_eval(const char *path, const eb_eval_report *e, const cli_report_scores *k, eb_model *m,
                          const eb_safetensors *file, const char *model_path, const char *data,
                          const float *xy, int64_t n_xy, eb_error *err);

/* The bounding box (xmin, xmax, ymin, ymax) of n 2-D points, padded by 10 % (by 1 where flat). */
void cli_points_box(const float *xy, int64_t n, double box[4]);

/* The page of `ebood bench NAME --report`: the suite's JSON beside the paper. */
eb_status cli_report_suite(const char *path, const char *suite, const char *json, eb_error *err);

#endif
