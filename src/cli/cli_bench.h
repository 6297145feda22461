/* Shared by the bench commands of the EBM paper's suites (cmd_bench.c: fmnist and the helpers;
 * cmd_bench_segment.c). */
#ifndef EBOOD_CLI_BENCH_H
#define EBOOD_CLI_BENCH_H

#include "cli/cli_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>

extern const char *const bench_suite_usage;

/* The last flags of the segment and fmnist suites, for an args struct `a` with the members detectors,
 * json, output, report, resume and max_units. */
#define BENCH_TAIL_FLAGS(a)                                                                                  \
    {"detectors", 0, CLI_FLAG_STRING, &(a)->detectors,                                                       \
     0,           0, "LIST",          "comma-separated detectors (default: all that apply)",                 \
     false},                                                                                                 \
        CLI_REPORT_FLAGS(&(a)->json, &(a)->output),                                                          \
        {"report",                                                                                           \
         0,                                                                                                  \
         CLI_FLAG_STRING,                                                                                    \
         &(a)->report,                                                                                       \
         0,                                                                                                  \
         0,                                                                                                  \
         "FILE",                                                                                             \
         "also write a page with the tables beside the paper (.html; .md: Markdown; see ebood report)",      \
         false},                                                                                             \
        CLI_RESUME_FLAGS(&(a)->resume, &(a)->max_units)

/* The two flags both suites give their EBM rows: --ebm-activation and --ebm-preset (parse_ebm reads them). */
#define EBM_VALUE_FLAGS(activation, preset)                                                                  \
    {"ebm-activation",                                                                                       \
     0,                                                                                                      \
     CLI_FLAG_STRING,                                                                                        \
     &(activation),                                                                                          \
     0,                                                                                                      \
     0,                                                                                                      \
     "NAME[:P]",                                                                                             \
     "the MLP EBMs' activation (the preset's: relu; code leaky_relu): e.g. softplus for ssm "                \
     "(docs/methods.md)",                                                                                    \
     false},                                                                                                 \
    {                                                                                                        \
        "ebm-preset", 0, CLI_FLAG_STRING, &(preset), 0, 0, "paper|code",                                     \
            "EBM values: the paper's (default) or the released code's where they differ (docs/methods.md)",  \
            false                                                                                            \
    }

/* One EBM row's effective budget against the paper's. */
typedef struct row_budget {
    char name[32];
    int64_t steps, paper_steps, sgld, paper_sgld; /* sgld −1: the method does not sample */
    double seconds;                               /* mean training time over seeds */
} row_budget;

/* "--detectors a,b,c" → kinds; false (after printing) on an unknown name or too many. */
bool bench_parse_detectors(const char *cmd, const char *list, eb_detector_kind *kinds, int *n);
/* "--ebm a,b,c" or "none" → methods with --ebm-preset's values and --ebm-activation's (NULL: the preset's);
 * false (after printing) on an unknown name, preset or activation, a repeat or too many. */
bool bench_parse_ebm(const char *cmd, const char *list, const char *preset, const char *activation,
                     eb_ebm_method *methods, int *n);
/* The EBM budget of --protocol quick|paper with --ebm-steps / --sgld-steps (−1 = not given) on top. */
bool bench_ebm_budget(const char *cmd, const char *protocol, int64_t steps, int64_t sgld,
                      eb_bench_ebm_budget *out);
/* Each row's budget against the paper's; seconds[n_seeds·n] seed-major (their mean goes to the rows). */
void bench_row_budgets(const eb_ebm_method *methods, int n, const char *suffix, const eb_bench_ebm_budget *b,
                       int64_t batches_per_epoch, int64_t paper_steps, const double *seconds, int n_seeds,
                       row_budget *out);
bool bench_row_is_paper(const row_budget *r);
/* The rows' budgets as text (selection: how the rows' checkpoints were chosen, one or two lines) / JSON. */
void bench_print_budgets(FILE *fp, const char *what, const row_budget *rows, int n, const char *protocol,
                         const char *selection);
cJSON *bench_budgets_json(const row_budget *rows, int n, const char *protocol, const char *selection);
/* The final report: JSON (stdout and/or output) or tables, and the page of `report`; extra's members
 * (an object, owned, may be NULL) are added to the JSON. */
eb_status bench_print_runs(const eb_eval_report *runs, int n_runs, const eb_paper_value *paper, int n_paper,
                           bool json, const char *output, cJSON *extra, const char *suite, const char *report,
                           eb_error *err);

#endif
