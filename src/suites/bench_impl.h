/* Internal to the benchmark suites (src/suites/bench_*.c). */
#ifndef EBOOD_EVAL_BENCH_IMPL_H
#define EBOOD_EVAL_BENCH_IMPL_H

#include <ebood/suites.h>

/* ---- checkpoint selection on a validation metric (bench_select.c) ------------------------------------- */
typedef enum eb_select_metric {
    EB_SELECT_ID_ACCURACY, /* accuracy on val_id (labelled) */
    EB_SELECT_OOD_AUROC,   /* AUROC of f(x) on val_id against val_ood */
} eb_select_metric;
typedef struct eb_bench_select {
    eb_select_metric metric;
    const eb_row_set *val_id, *val_ood; /* val_ood for EB_SELECT_OOD_AUROC only */
    int64_t every_epochs;               /* check every that many epochs (10), and after the last step */
    /* state and result (eb_bench_select_begin) */
    float *best; /* the best parameters, then buffers */
    double best_value;
    int64_t best_step; /* −1: nothing checked yet */
    int64_t last_step;
} eb_bench_select;
/* Allocates the copy for m's parameters and resets the result. */
eb_status eb_bench_select_begin(eb_bench_select *s, const eb_model *m, eb_error *err);
/* An eb_epoch_end_fn (ctx = the eb_bench_select). */
eb_status eb_bench_select_epoch_end(void *ctx, eb_model *m, const eb_train_epoch_info *info, eb_error *err);
/* Puts the best parameters into m; false (m unchanged) if nothing was checked. */
bool eb_bench_select_restore(const eb_bench_select *s, eb_model *m);
void eb_bench_select_free(eb_bench_select *s);
/* f(x) = logsumexp of the model's outputs on rows (energy score with T = 1): f[rows->n]. */
eb_status eb_bench_log_density(eb_model *m, const eb_row_set *rows, float *f, eb_error *err);

/* One EBM row: trains method m (with budget b applied) on rows train_x[n_train, dim] (+ labels for the -S
 * variants, n_classes classes) with the trainer's seed `seed` (the model's initialisation and the
 * objective's state are derived from it), then scores id and every OOD set with f(x) = logsumexp of the
 * model's outputs and appends the entry `row_name` to report. batches_per_epoch: of the training rows
 * at batch 512 (for VERA's epoch-based decay). seconds (optional): the training time. Errors name the
 * row ("CD-S: SGLD step 7 of 100: ..."). select (optional): also the checkpoint it selects, scored as a
 * second entry "<row_name>@oodval" (EB_BENCH_OOD_VAL_SUFFIX); its best_step / best_value say which. */
eb_status eb_bench_ebm_row(const eb_ebm_method *m, const eb_bench_ebm_budget *b, const char *row_name,
                           const float *train_x, const int32_t *train_y, int64_t n_train, int64_t dim,
                           int64_t n_classes, const eb_row_set *id, const eb_row_set *ood, int n_ood,
                           uint64_t seed, bool progress, eb_bench_select *select, eb_eval_report *report,
                           double *seconds, eb_error *err);
/* Scores id and every OOD set with the EBM's f(x) (logsumexp of its outputs) and appends the entry
 * row_name to report. */
eb_status eb_bench_ebm_score(eb_model *model, const char *row_name, const eb_row_set *id,
                             const eb_row_set *ood, int n_ood, eb_eval_report *report, eb_error *err);
/* Prefixes err's message with the row's name when st is an error ("CD-S: ..."). */
void eb_bench_ebm_name_error(eb_error *err, eb_status st, const char *row_name);

/* ---- results directories (results_dir.c): what `--resume DIR` keeps ------------------------------------ */
/* One finished unit of a suite: the score entries it produced (+ id_acc, n_id) and a few named numbers
 * (training seconds, accuracies, margins). */
#define EB_UNIT_MAX_VALUES 64
typedef struct eb_unit {
    char unit[64];
    eb_eval_report report;
    int n_values;
    char keys[EB_UNIT_MAX_VALUES][32];
    double values[EB_UNIT_MAX_VALUES];
} eb_unit;
void eb_unit_reset(eb_unit *u); /* empty, id_acc NaN */
void eb_unit_set(eb_unit *u, const char *key, double v);
double eb_unit_get(const eb_unit *u, const char *key); /* NaN if absent */
/* v[n] as the values "key.0", …, "key.<n−1>", and back (NaN where absent) */
void eb_unit_set_array(eb_unit *u, const char *key, const double *v, int n);
void eb_unit_get_array(const eb_unit *u, const char *key, double *v, int n);
/* Appends src's score entries to dst (not id_acc / n_id). EB_ERR_ARG when dst would overflow. */
eb_status eb_report_append(eb_eval_report *dst, const eb_eval_report *src, eb_error *err);

/* An open results directory; NULL stands for "no directory" (get finds nothing, put writes nothing). */
typedef struct eb_results eb_results;
/* Opens (creating if needed) p->dir for `suite` at protocol `revision` (bumped when a suite's defaults change
 * its numbers): records spec.json, or checks the recorded one against p->spec. *out NULL when p or p->dir is
 * NULL. Errors: EB_ERR_ARG (another suite, revision or spec: names the first differing flag), EB_ERR_FORMAT
 * (a corrupt spec.json), EB_ERR_IO. */
eb_status eb_results_open(const eb_bench_resume *p, const char *suite, int revision, eb_results **out,
                          eb_error *err);
void eb_results_close(eb_results *r);
/* Loads DIR/<unit>.json into u, or (not there, or no directory) computes it with compute(ctx, u, err) from
 * an empty u and writes it atomically (with the spec). Errors: EB_ERR_FORMAT naming a corrupt unit file,
 * EB_ERR_ARG for one written with another spec, EB_ERR_IO, compute's. */
typedef eb_status (*eb_unit_fn)(void *ctx, eb_unit *u, eb_error *err);
eb_status eb_results_unit(eb_results *r, const char *unit, eb_unit *u, eb_unit_fn compute, void *ctx,
                          eb_error *err);
/* The suites whose unit is a whole seed: for s = 0 … n_seeds−1 (until the directory says stop), unit
 * "seed<s>" loaded or computed by compute(ctx, s, u) and written, then unpack(ctx, s, u). Opens and closes
 * the directory of `resume` (none: every seed is computed). */
typedef eb_status (*eb_seed_fn)(void *ctx, int s, eb_unit *u, eb_error *err);
typedef void (*eb_seed_unpack_fn)(void *ctx, int s, const eb_unit *u);
eb_status eb_results_run_seeds(const eb_bench_resume *resume, const char *suite, int revision, int n_seeds,
                               eb_seed_fn compute, eb_seed_unpack_fn unpack, void *ctx, eb_error *err);
/* spec (a JSON object, NULL = {}) with {key: value} added, for settings that are not flags but change a
 * suite's units (e.g. whether optional data sets exist); malloc'd, NULL if spec is not an object, already
 * has key, or memory ran out. */
char *eb_results_spec_with(const char *spec, const char *key, bool value);
/* Whether max_units new units have been written: the suite stops (and sets *p->stopped). */
bool eb_results_stopped(const eb_results *r);

#endif
