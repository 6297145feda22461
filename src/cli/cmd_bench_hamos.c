/* ebood bench hamos: the HamOS suite (src/suites/bench_hamos.c) — CE+KNN, CIDER and HamOS with three samplers
 * on Fashion-MNIST, in OpenOOD's metric convention (FPR@95 with OOD positive, trapezoid AUPR), beside
 * 004_6bc3f0c56840d9ea.txt's CIFAR-10 numbers (Table 1, Table 9, Table 3). */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "cli/cli_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "[--protocol quick|paper] [--seeds N] [--init CKPT] [--json] [options]";

/* 004_… CIFAR-10, percent: FPR95, AUROC, AUPR, ID-ACC (Table 1; RW and MALA from Table 9). */
static const struct {
    const char *row;
    double fpr95, auroc, aupr, acc;
} paper[EB_BENCH_HAMOS_ROWS] = {
    {"CE+KNN", 22.86, 92.98, 88.74, 95.17},     {"CIDER", 16.28, 95.76, 92.36, 93.98},
    {"HamOS-HMC", 10.48, 97.11, 94.94, 94.67},  {"HamOS-RW", 18.90, 95.08, 91.35, 92.68},
    {"HamOS-MALA", 11.06, 96.74, 94.29, 94.51},
};

/* Mean over the OOD sets of one metric of score entry `k` of a run. */
static double set_mean(const eb_eval_score_result *s, int metric) {
    double sum = 0.0;
    for (int i = 0; i < s->n_sets; i++) {
        const eb_ood_metrics *m = &s->sets[i].metrics;
        const double v[4] = {m->fpr95_ood, m->auroc, m->aupr_in_trapz, m->aupr_out_trapz};
        sum += v[metric];
    }
    return sum / s->n_sets;
}

enum { N_COLS = 10 };
static const char *const col_names[N_COLS] = {
    "fpr95_ood",  "auroc",        "aupr_in_trapz",  "aupr_out_trapz", "id_acc",
    "acceptance", "synthesis_ms", "separation_deg", "dispersion_deg", "compactness_deg"};

static double degrees(double cosv) {
    return acos(fmax(-1.0, fmin(1.0, cosv))) * 180.0 / 3.14159265358979323846;
}

/* Column c of row r in run s. */
static double cell(const eb_bench_hamos_result *run, int r, int c) {
    const eb_bench_hamos_row *row = &run->rows[r];
    if (c < 4) return set_mean(&run->report.scores[r], c);
    const double v[6] = {row->id_acc,
                         row->acceptance,
                         row->synthesis_ms,
                         degrees(row->sphere.cos_separation),
                         degrees(row->sphere.cos_dispersion),
                         degrees(row->sphere.cos_compactness)};
    return v[c - 4];
}

static cJSON *runs_json(const eb_bench_hamos_result *runs, int n_seeds, const char *protocol) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "suite", "hamos");
    cJSON_AddStringToObject(o, "protocol", protocol);
    cJSON_AddNumberToObject(o, "seeds", n_seeds);
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    for (int r = 0; r < runs[0].n_rows; r++) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "name", runs[0].rows[r].name);
        for (int c = 0; c < N_COLS; c++) {
            double v[16], mean, std;
            for (int s = 0; s < n_seeds; s++) v[s] = cell(&runs[s], r, c);
            eb_mean_std(v, n_seeds, &mean, &std);
            cJSON *m = cJSON_AddObjectToObject(row, col_names[c]);
            if (isfinite(mean)) {
                cJSON_AddNumberToObject(m, "mean", mean);
                cJSON_AddNumberToObject(m, "std", std);
            }
        }
        cJSON *sets = cJSON_AddArrayToObject(row, "sets"); /* per OOD set, first seed's metrics */
        const eb_eval_score_result *sc = &runs[0].report.scores[r];
        for (int i = 0; i < sc->n_sets; i++) {
            cJSON *st = cJSON_CreateObject();
            cJSON_AddStringToObject(st, "name", sc->sets[i].name);
            cJSON_AddNumberToObject(st, "fpr95_ood", sc->sets[i].metrics.fpr95_ood);
            cJSON_AddNumberToObject(st, "auroc", sc->sets[i].metrics.auroc);
            cJSON_AddNumberToObject(st, "aupr_in_trapz", sc->sets[i].metrics.aupr_in_trapz);
            cJSON_AddItemToArray(sets, st);
        }
        cJSON_AddItemToArray(rows, row);
    }
    return o;
}

static void print_table(const eb_bench_hamos_result *runs, int n_seeds) {
    printf("%-11s %14s %14s %14s %14s %14s %8s %8s | %-23s\n", "row", "FPR95 (OOD+)", "AUROC",
           "AUPR-In trapz", "AUPR-Out trapz", "ID-ACC", "accept", "synth ms", "004 CIFAR-10 FPR/AUROC/ACC");
    for (int r = 0; r < runs[0].n_rows; r++) {
        printf("%-11s", runs[0].rows[r].name);
        for (int c = 0; c < 7; c++) {
            double v[16], mean, std;
            for (int s = 0; s < n_seeds; s++) v[s] = cell(&runs[s], r, c);
            eb_mean_std(v, n_seeds, &mean, &std);
            double scale = c < 5 ? 100.0 : 1.0;
            if (c < 5)
                printf(" %7.2f ± %4.2f", scale * mean, scale * std);
            else
                printf(c == 5 ? " %8.3f" : " %8.2f", mean);
        }
        for (int k = 0; k < EB_BENCH_HAMOS_ROWS; k++)
            if (strcmp(paper[k].row, runs[0].rows[r].name) == 0)
                printf(" | %5.2f / %5.2f / %5.2f", paper[k].fpr95, paper[k].auroc, paper[k].acc);
        printf("\n");
    }
    printf("\nEq. (14), degrees (arccos of the mean cosine; first seed): separation ↑ / dispersion ↑ / "
           "compactness ↓\n");
    for (int r = 0; r < runs[0].n_rows; r++)
        if (isfinite(runs[0].rows[r].sphere.cos_separation))
            printf("  %-11s %6.2f / %6.2f / %6.2f\n", runs[0].rows[r].name, cell(&runs[0], r, 7),
                   cell(&runs[0], r, 8), cell(&runs[0], r, 9));
    printf("\nPer OOD set, FPR95 (OOD positive, %%; first seed):\n%-11s", "row");
    const eb_eval_score_result *s0 = &runs[0].report.scores[0];
    for (int i = 0; i < s0->n_sets; i++) printf(" %9s", s0->sets[i].name);
    printf("\n");
    for (int r = 0; r < runs[0].n_rows; r++) {
        printf("%-11s", runs[0].rows[r].name);
        for (int i = 0; i < runs[0].report.scores[r].n_sets; i++)
            printf(" %9.2f", 100.0 * runs[0].report.scores[r].sets[i].metrics.fpr95_ood);
        printf("\n");
    }
}

/* `ebood bench hamos`'s command line (−1: the protocol's value). */
typedef struct hamos_args {
    const char *protocol, *init, *output, *preset, *rows, *resume;
    int64_t seeds, n_train, pre_epochs, ft_epochs, n_synthetic, n_eval, buffer, max_units;
    bool json;
} hamos_args;

static int hamos_flags(hamos_args *a, cli_flag *flags) {
    *a = (hamos_args){.protocol = "quick",
                      .preset = "paper",
                      .seeds = 1,
                      .n_train = -1,
                      .pre_epochs = -1,
                      .ft_epochs = -1,
                      .n_synthetic = -1,
                      .n_eval = -1,
                      .buffer = -1};
    const cli_flag rows[] = {
        {"protocol", 0, CLI_FLAG_STRING, &a->protocol, 0, 0, "quick|paper",
         "quick (default: 5,000 training images, 2 + 2 epochs, smaller evaluation sets and buffers) or paper "
         "(55,000 images, 20 + 20 epochs, all test images)",
         false},
        {"seeds", 0, CLI_FLAG_INT, &a->seeds, 1, 16, "N", "number of seeds (1)", false},
        {"init", 0, CLI_FLAG_STRING, &a->init, 0, 0, "CKPT",
         "fine-tune this CE-pretrained 1×28×28 10-class checkpoint instead of pretraining one", false},
        {"hamos-preset", 0, CLI_FLAG_STRING, &a->preset, 0, 0, "paper|code",
         "HamOS values: the paper's (default) or the released code's (docs/methods.md)", false},
        {"rows", 0, CLI_FLAG_STRING, &a->rows, 0, 0, "LIST",
         "comma list of ce-knn, cider, hmc, rw, mala (default: all)", false},
        {"n-train", 0, CLI_FLAG_INT, &a->n_train, 1, 1e9, "N", "training images (quick 5,000; paper 55,000)",
         false},
        {"pretrain-epochs", 0, CLI_FLAG_INT, &a->pre_epochs, 1, 1000, "N", "CE pretraining epochs", false},
        {"epochs", 0, CLI_FLAG_INT, &a->ft_epochs, 1, 1000, "N", "fine-tuning epochs per row", false},
        {"n-synthetic", 0, CLI_FLAG_INT, &a->n_synthetic, 1, 1e7, "N",
         "images per generated OOD set (quick 1000, paper 2000)", false},
        {"n-eval", 0, CLI_FLAG_INT, &a->n_eval, 0, 1e7, "N",
         "evaluate on the first N images of the ID test, MNIST and OODomain sets (quick 2000; 0 = all)",
         false},
        {"buffer-size", 0, CLI_FLAG_INT, &a->buffer, 1, 1e6, "N",
         "rows per class buffer (quick 500, paper 1000)", false},
        CLI_REPORT_FLAGS(&a->json, &a->output),
        CLI_RESUME_FLAGS(&a->resume, &a->max_units),
    };
    memcpy(flags, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

/* --rows LIST → p->rows; false (printed) on an unknown row. */
static bool parse_rows(const char *cmd, const char *list, eb_bench_hamos_params *p) {
    static const char *const keys[EB_BENCH_HAMOS_ROWS] = {"ce-knn", "cider", "hmc", "rw", "mala"};
    memset(p->rows, 0, sizeof p->rows);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k = 0;
        while (k < EB_BENCH_HAMOS_ROWS && strcmp(tok, keys[k]) != 0) k++;
        if (k == EB_BENCH_HAMOS_ROWS) {
            fprintf(stderr, "ebood %s: --rows: unknown row '%s' (ce-knn, cider, hmc, rw, mala)\n", cmd, tok);
            return false;
        }
        p->rows[k] = true;
    }
    return true;
}

/* The suite's parameters (data in fm, mn, rd) with the protocol's values where a flag was not given; 0 or
 * CLI_USAGE (printed). */
static int hamos_params(const char *cmd, const hamos_args *a, const char *fm, const char *mn, const char *rd,
                        eb_bench_hamos_params *p) {
    const bool quick = strcmp(a->protocol, "quick") == 0;
    if (!quick && strcmp(a->protocol, "paper") != 0) {
        fprintf(stderr, "ebood %s: --protocol: expected quick or paper, got '%s'\n", cmd, a->protocol);
        return CLI_USAGE;
    }
    if (strcmp(a->preset, "paper") != 0 && strcmp(a->preset, "code") != 0) {
        fprintf(stderr, "ebood %s: --hamos-preset: expected paper or code, got '%s'\n", cmd, a->preset);
        return CLI_USAGE;
    }
    *p = eb_bench_hamos_default_params(fm, mn, rd);
    if (a->rows && !parse_rows(cmd, a->rows, p)) return CLI_USAGE;
    p->init = a->init;
    p->n_seeds = (int)a->seeds;
    p->n_train = a->n_train > 0 ? a->n_train : quick ? 5000 : 0;
    p->pretrain_epochs = a->pre_epochs > 0 ? a->pre_epochs : quick ? 2 : 20;
    p->finetune_epochs = a->ft_epochs > 0 ? a->ft_epochs : quick ? 2 : 20;
    p->n_synthetic = a->n_synthetic > 0 ? a->n_synthetic : quick ? 1000 : 2000;
    p->n_eval = a->n_eval >= 0 ? a->n_eval : quick ? 2000 : 0;
    p->hamos.buffer_size = a->buffer > 0 ? a->buffer : quick ? 500 : 1000;
    p->progress = !a->json;
    if (strcmp(a->preset, "code") == 0) eb_hamos_use_code(&p->hamos);
    return 0;
}

/* JSON (stdout and/or -o) or the table of a finished run. */
static eb_status hamos_print(const hamos_args *a, const eb_bench_hamos_result *runs, int n_seeds,
                             eb_error *err) {
    cJSON *o = runs_json(runs, n_seeds, a->protocol);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    eb_status st = text ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st && a->output) st = cli_write_text(a->output, text, err);
    if (!st && a->json) printf("%s\n", text);
    if (!st && !a->json) print_table(runs, n_seeds);
    free(text);
    return st;
}

int cli_bench_hamos(int argc, char **argv) {
    const char *cmd = "bench hamos";
    hamos_args a;
    cli_flag flags[24];
    const int n_flags = hamos_flags(&a, flags);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, usage, argc, argv, 3, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!cli_resume_check(cmd, a.resume, flags, n_flags)) return CLI_USAGE;
    char dir[4096], fm[4200], mn[4200], rd[4200];
    cli_data_dir(dir, sizeof dir);
    snprintf(fm, sizeof fm, "%s/fashion-mnist", dir);
    snprintf(mn, sizeof mn, "%s/mnist", dir);
    snprintf(rd, sizeof rd, "%s/rendered", dir);
    eb_bench_hamos_params p;
    if ((rc = hamos_params(cmd, &a, fm, mn, rd, &p))) return rc;
    eb_error err = {0};
    if (eb_hamos_params_check(&p.hamos, &err)) return cli_fail(cmd, &err);
    if (!a.json)
        fprintf(stderr,
                "hamos: %s protocol, %d seed(s), %lld training images, %s%lld + %lld epochs, preset %s\n",
                a.protocol, p.n_seeds, (long long)(p.n_train ? p.n_train : 55000), a.init ? "--init, " : "",
                (long long)p.pretrain_epochs, (long long)p.finetune_epochs, a.preset);
    bool stopped;
    char *spec;
    p.resume = cli_resume_params(a.resume, a.max_units, flags, n_flags, a.json, &stopped, &spec);
    eb_bench_hamos_result *runs = calloc((size_t)a.seeds, sizeof *runs);
    eb_status st =
        runs ? eb_bench_hamos_run(&p, runs, &err) : eb_error_set(&err, EB_ERR_NOMEM, "out of memory");
    if (st == EB_ERR_IO && !(a.init && strstr(err.message, a.init)))
        eb_error_set(&err, st,
                     "%s (fetch it with: bash scripts/fetch-data.sh and ebood data build, or set EBOOD_DATA)",
                     err.message);
    if (!st && !stopped) st = hamos_print(&a, runs, p.n_seeds, &err);
    free(spec);
    free(runs);
    if (!st && stopped) return cli_resume_stopped(cmd, &p.resume);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}
