/* Internal to the benchmark suites (src/suites/bench_*.c). */
#ifndef EBOOD_EVAL_BENCH_IMPL_H
#define EBOOD_EVAL_BENCH_IMPL_H

#include <ebood/suites.h>

/* One EBM row: trains method m (with budget b applied) on rows train_x[n_train, dim] (+ labels for the -S
 * variants, n_classes classes) with the trainer's seed `seed` (the model's initialisation and the
 * objective's state are derived from it), then scores id and every OOD set with f(x) = logsumexp of the
 * model's outputs and appends the entry `row_name` to report. batches_per_epoch: of the training rows
 * at batch 512 (for VERA's epoch-based decay). seconds (optional): the training time. Errors name the
 * row ("CD-S: SGLD step 7 of 100: ..."). */
eb_status eb_bench_ebm_row(const eb_ebm_method *m, const eb_bench_ebm_budget *b, const char *row_name,
                           const float *train_x, const int32_t *train_y, int64_t n_train, int64_t dim,
                           int64_t n_classes, const eb_row_set *id, const eb_row_set *ood, int n_ood,
                           uint64_t seed, bool progress, eb_eval_report *report, double *seconds,
                           eb_error *err);
/* Scores id and every OOD set with the EBM's f(x) (logsumexp of its outputs) and appends the entry
 * row_name to report. */
eb_status eb_bench_ebm_score(eb_model *model, const char *row_name, const eb_row_set *id,
                             const eb_row_set *ood, int n_ood, eb_eval_report *report, eb_error *err);
/* Prefixes err's message with the row's name when st is an error ("CD-S: ..."). */
void eb_bench_ebm_name_error(eb_error *err, eb_status st, const char *row_name);

#endif
