/* ebood bench segment: the EBM paper's tabular suite (eb_bench_segment_run, src/suites/bench_segment.c) —
 * the CE baseline with every detector and the EBM rows on UCI Segment, sky held out, beside 002_… Tables
 * 5–6; resumable with --resume DIR. */
#include "cli/cli_bench.h"
#include "cli/cli_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `ebood bench segment`'s command line. */
typedef struct segment_args {
    const char *output, *report, *detectors, *protocol, *ebm, *preset, *activation, *ce_preset, *resume;
    int64_t seeds, steps, split_seed, n_synthetic, ebm_steps, sgld_steps, max_units;
    bool json, ood_val;
} segment_args;

static int segment_flags(segment_args *a, cli_flag *flags) {
    *a = (segment_args){.protocol = "quick",
                        .ebm = "cd,cd-s,ssm,ssm-s,vera,vera-s,flow",
                        .preset = "paper",
                        .ce_preset = "paper",
                        .seeds = 5,
                        .steps = 10000,
                        .split_seed = -1,
                        .n_synthetic = 2000,
                        .ebm_steps = -1,
                        .sgld_steps = -1};
    const cli_flag rows[] = {
        {"ebm", 0, CLI_FLAG_STRING, &a->ebm, 0, 0, "LIST",
         "EBM rows: comma list of cd, cd-s, ssm, ssm-s, vera, vera-s, flow, or none (all)", false},
        EBM_VALUE_FLAGS(a->activation, a->preset),
        {"protocol", 0, CLI_FLAG_STRING, &a->protocol, 0, 0, "quick|paper",
         "EBM budget: quick (default; 150-1000 steps, 10 SGLD steps) or paper (10000 steps, 100 SGLD)",
         false},
        {"ebm-steps", 0, CLI_FLAG_INT, &a->ebm_steps, 1, 1e9, "N",
         "training steps of every EBM (the protocol's)", false},
        {"sgld-steps", 0, CLI_FLAG_INT, &a->sgld_steps, 0, 1e6, "K",
         "SGLD steps of cd / cd-s (the protocol's)", false},
        {"ood-val", 0, CLI_FLAG_BOOL, &a->ood_val, 0, 0, NULL,
         "also each EBM row at the checkpoint the released code selects: best AUROC on 10% of sky held out "
         "as "
         "OOD validation (rows NAME@oodval; sky's test set is then the other 90% for every row)",
         false},
        {"ce-preset", 0, CLI_FLAG_STRING, &a->ce_preset, 0, 0, "paper|code",
         "CE baseline: paper (default: Adam, weight decay 5e-4, best ID validation accuracy) or code (AdamW, "
         "wd 0, final parameters)",
         false},
        {"seeds", 0, CLI_FLAG_INT, &a->seeds, 1, 16, "N", "number of seeds (5; the EBM paper's seeds first)",
         false},
        {"steps", 0, CLI_FLAG_INT, &a->steps, 1, 1e9, "N", "classifier (CE) training steps per seed (10000)",
         false},
        {"split-seed", 0, CLI_FLAG_INT, &a->split_seed, 0, 9.2e18, "N",
         "one fixed ID split for all seeds (default: split with each seed)", false},
        {"n-synthetic", 0, CLI_FLAG_INT, &a->n_synthetic, 1, 1e7, "N",
         "samples per non-natural OOD set (2000)", false},
        BENCH_TAIL_FLAGS(a),
    };
    memcpy(flags, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

/* The suite's parameters from the command line (data under `dir`). Returns 0 or CLI_USAGE (printed). */
static int segment_params(const segment_args *a, const char *dir, eb_bench_segment_params *p) {
    const char *cmd = "bench segment";
    *p = eb_bench_segment_default_params(dir);
    p->n_seeds = (int)a->seeds;
    p->train.steps = a->steps;
    p->split_seed = a->split_seed;
    p->n_synthetic = a->n_synthetic;
    p->progress = !a->json;
    p->ood_val_frac = a->ood_val ? 0.1 : 0.0; /* App. B: "10% of the data of the removed classes" */
    if (strcmp(a->ce_preset, "code") == 0)
        eb_bench_segment_use_code_ce(p);
    else if (strcmp(a->ce_preset, "paper") != 0) {
        fprintf(stderr, "ebood %s: --ce-preset: expected paper or code, got '%s'\n", cmd, a->ce_preset);
        return CLI_USAGE;
    }
    if (a->detectors && !bench_parse_detectors(cmd, a->detectors, p->detectors, &p->n_detectors))
        return CLI_USAGE;
    if (!bench_parse_ebm(cmd, a->ebm, a->preset, a->activation, p->ebm, &p->n_ebm) ||
        !bench_ebm_budget(cmd, a->protocol, a->ebm_steps, a->sgld_steps, &p->ebm_budget))
        return CLI_USAGE;
    const int rows = p->n_detectors + p->n_ebm * (a->ood_val ? 2 : 1);
    if (rows > EB_EVAL_MAX_SCORES) {
        fprintf(stderr, "ebood %s: %d detectors + %d EBM rows%s: at most %d rows\n", cmd, p->n_detectors,
                p->n_ebm, a->ood_val ? " (twice with --ood-val)" : "", EB_EVAL_MAX_SCORES);
        return CLI_USAGE;
    }
    return 0;
}

/* How the CE baseline and the EBM rows chose their checkpoints, with the selected steps of every seed. */
static const char *ce_selection(const eb_bench_segment_params *p) {
    return p->ce_select_val
               ? "paper (App. B): Adam lr 1e-3, weight decay 5e-4; the checkpoint of the best ID "
                 "validation accuracy (checked every 10 epochs = 30 steps)"
               : "code: AdamW lr 1e-3, weight decay 0; final parameters";
}
static const char *const ood_val_selection =
    "final parameters; NAME@oodval: the checkpoint of the best AUROC of f on the ID validation\n"
    "split against 10% of sky held out as OOD validation (the released code's selection; sky test = the "
    "other\n"
    "90%, never used for selection)";

static cJSON *steps_json(const int64_t *steps, int n_seeds, int stride, int k) {
    cJSON *a = cJSON_CreateArray();
    for (int s = 0; s < n_seeds; s++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)steps[s * stride + k]));
    return a;
}

static void print_steps(const int64_t *steps, int n_seeds, int stride, int k) {
    for (int s = 0; s < n_seeds; s++) printf("%s%lld", s ? ", " : "", (long long)steps[s * stride + k]);
}

/* The tables (or JSON) of a finished run. */
static eb_status segment_print(const segment_args *a, const eb_bench_segment_params *p,
                               const eb_eval_report *runs, const double *seconds, const row_budget *budgets,
                               eb_error *err) {
    const char *sel = a->ood_val ? ood_val_selection : NULL;
    cJSON *extra = cJSON_CreateObject(), *ce = cJSON_AddObjectToObject(extra, "ce");
    cJSON_AddStringToObject(ce, "preset", a->ce_preset);
    cJSON_AddStringToObject(ce, "model_selection", ce_selection(p));
    if (p->ce_select_val)
        cJSON_AddItemToObject(ce, "selected_steps", steps_json(p->ce_selected_step, p->n_seeds, 1, 0));
    if (p->n_ebm) {
        cJSON *ebm = bench_budgets_json(budgets, p->n_ebm, a->protocol, sel);
        cJSON_AddItemToObject(extra, "ebm", ebm);
        cJSON *rows = cJSON_GetObjectItemCaseSensitive(ebm, "rows");
        for (int k = 0; k < p->n_ebm && a->ood_val; k++)
            cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(rows, budgets[k].name),
                                  "oodval_selected_steps",
                                  steps_json(p->ebm_selected_step, p->n_seeds, p->n_ebm, k));
    }
    int n_paper;
    const eb_paper_value *paper = eb_bench_segment_paper_values(&n_paper);
    if (!a->json)
        printf("ebood bench segment — UCI Segment (weka), sky held out; ID test split vs OOD sets\n");
    eb_status st = bench_print_runs(runs, p->n_seeds, paper, n_paper, a->json, a->output, extra, "segment",
                                    a->report, err);
    if (st || a->json) return st;
    double total = 0;
    for (int s = 0; s < p->n_seeds; s++) total += seconds[s];
    printf(
        "\nEBM-paper AUPR-Out: OOD positive, score -f, ID and OOD truncated to equal length (chance 50%%).\n"
        "paper: 002_39b8670b82235277.txt Tables 5-6: CE row (energy score of a classifier) and the\n"
        "EBM rows (CD, CD-S, SSM, SSM-S, VERA, VERA-S; NF = the radial flow, one run in the paper; the "
        "paper\n"
        "selected its checkpoints on OOD validation data, so its values sit beside NAME@oodval too);\n"
        "the paper's tabular 'Noise' column is shown beside our uniform U(-5,5) set.\n"
        "CE baseline (--ce-preset %s): %s%s",
        a->ce_preset, ce_selection(p), p->ce_select_val ? "; selected steps: " : "");
    if (p->ce_select_val) print_steps(p->ce_selected_step, p->n_seeds, 1, 0);
    printf(".\nClassifier training: %.1f s per seed.\n", total / p->n_seeds);
    bench_print_budgets(stdout, "EBM rows", budgets, p->n_ebm, a->protocol, sel);
    for (int k = 0; k < p->n_ebm && a->ood_val; k++) {
        printf("  %s%s selected at steps ", budgets[k].name, EB_BENCH_OOD_VAL_SUFFIX);
        print_steps(p->ebm_selected_step, p->n_seeds, p->n_ebm, k);
        printf(" (one per seed)\n");
    }
    return EB_OK;
}

int cmd_bench_segment(int argc, char **argv) {
    const char *cmd = "bench segment";
    segment_args a;
    cli_flag flags[32];
    const int n_flags = segment_flags(&a, flags);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, bench_suite_usage, argc, argv, 3, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!cli_resume_check(cmd, a.resume, flags, n_flags)) return CLI_USAGE;
    char dir[4096], seg[4200];
    snprintf(seg, sizeof seg, "%s/segment", cli_data_dir(dir, sizeof dir));
    static eb_bench_segment_params p;
    if ((rc = segment_params(&a, seg, &p))) return rc;
    static eb_eval_report runs[16];
    double seconds[16] = {0}, ebm_seconds[16 * EB_BENCH_MAX_EBM] = {0};
    int64_t ce_steps[16], ebm_steps[16 * EB_BENCH_MAX_EBM];
    p.ebm_seconds = ebm_seconds;
    p.ce_selected_step = ce_steps;
    p.ebm_selected_step = ebm_steps;
    row_budget budgets[EB_BENCH_MAX_EBM];
    if (!a.json) {
        fprintf(stderr,
                "segment: MLP 18→100×5→6 LeakyReLU(0.01), %d seeds × %lld steps (CE: --ce-preset %s)\n",
                p.n_seeds, (long long)a.steps, a.ce_preset);
        bench_row_budgets(p.ebm, p.n_ebm, NULL, &p.ebm_budget, 3, 0, ebm_seconds, 1, budgets);
        if (p.n_ebm) fprintf(stderr, "segment: %d EBM rows, --protocol %s:", p.n_ebm, a.protocol);
        for (int k = 0; k < p.n_ebm; k++)
            fprintf(stderr, " %s %lld steps%s", budgets[k].name, (long long)budgets[k].steps,
                    k + 1 == p.n_ebm ? "\n" : "");
    }
    bool stopped;
    char *spec;
    p.resume = cli_resume_params(a.resume, a.max_units, flags, n_flags, a.json, &stopped, &spec);
    eb_error err = {0};
    eb_status st = eb_bench_segment_run(&p, runs, seconds, &err);
    free(spec);
    if (!st && stopped) return cli_resume_stopped(cmd, &p.resume);
    /* Segment's 1,584 training rows: 3 batches of 512 per epoch */
    bench_row_budgets(p.ebm, p.n_ebm, NULL, &p.ebm_budget, 3, 0, ebm_seconds, p.n_seeds, budgets);
    if (!st) st = segment_print(&a, &p, runs, seconds, budgets, &err);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}
