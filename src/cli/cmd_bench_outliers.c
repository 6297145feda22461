/* ebood bench outliers: the outlier-training suite (eb_bench_outliers_run_all, src/suites/bench_outliers.c) —
 * Fashion-MNIST ID, a baseline classifier and its fine-tunes with OE, energy-FT, Hopfield Boosting and POEM
 * on an auxiliary pool; FPR95 / AUROC / AUPR-In per OOD set in the convention of 003_… and 000_… (ID
 * positive; FPR95 = the hendrycks code's). */
#include "cli/cli_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage =
    "[--aux-data SPEC] [--ood LIST] [--seeds N] [--epochs E] [--ft-epochs F] [--json]";

/* The metrics of the table: mean ± std over runs of set i (i < 0: the mean over sets) of score k. */
static void stat(const eb_bench_outliers_run *runs, int n, int k, int i, int metric, double *mean,
                 double *std) {
    double v[16];
    for (int r = 0; r < n; r++) {
        const eb_eval_score_result *s = &runs[r].report.scores[k];
        double acc = 0;
        for (int j = i < 0 ? 0 : i; j < (i < 0 ? s->n_sets : i + 1); j++) {
            const eb_ood_metrics *m = &s->sets[j].metrics;
            acc += metric == 0 ? m->fpr95_hendrycks : metric == 1 ? m->auroc : m->aupr_in;
        }
        v[r] = acc / (i < 0 ? s->n_sets : 1);
    }
    eb_mean_std(v, n, mean, std);
}

static void print_table(const eb_bench_outliers_run *runs, int n) {
    const eb_eval_report *r0 = &runs[0].report;
    printf(
        "\nFPR95 per OOD set (%%, lower is better; ID positive, the hendrycks code's FPR95 of 003/000), then "
        "the mean over sets of FPR95 / AUROC / AUPR-In (mean ± std over %d seed(s))\n",
        n);
    printf("%-22s", "method:score");
    for (int i = 0; i < r0->scores[0].n_sets; i++) printf(" %9.9s", r0->scores[0].sets[i].name);
    printf(" %15s %15s %15s\n", "FPR95", "AUROC", "AUPR-In");
    for (int k = 0; k < r0->n_scores; k++) {
        printf("%-22s", r0->scores[k].score);
        double mean, std;
        for (int i = 0; i < r0->scores[k].n_sets; i++) {
            stat(runs, n, k, i, 0, &mean, &std);
            printf(" %9.2f", 100.0 * mean);
        }
        for (int m = 0; m < 3; m++) {
            stat(runs, n, k, -1, m, &mean, &std);
            printf(" %7.2f ± %5.2f", 100.0 * mean, 100.0 * std);
        }
        printf("\n");
    }
    printf("\nID test accuracy:");
    for (int k = 0; k < EB_BENCH_OUTLIER_METHODS; k++) {
        double v[16], mean, std;
        for (int r = 0; r < n; r++) v[r] = runs[r].id_acc[k];
        eb_mean_std(v, n, &mean, &std);
        if (!isnan(mean))
            printf("  %s %.2f ± %.2f %%", eb_bench_outlier_method_names[k], 100.0 * mean, 100.0 * std);
    }
    printf("\n");
    if (!isnan(runs[0].m_in))
        printf("energy-FT margins (--margins auto, seed 0): m_in %.3f, m_out %.3f\n", runs[0].m_in,
               runs[0].m_out);
}

static char *runs_json(const eb_bench_outliers_run *runs, int n) {
    eb_eval_report *reports = malloc((size_t)n * sizeof *reports);
    if (!reports) return NULL;
    for (int r = 0; r < n; r++) reports[r] = runs[r].report;
    char *text = eb_report_runs_json(reports, n, NULL, 0);
    free(reports);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!o) return NULL;
    cJSON *acc = cJSON_AddObjectToObject(o, "method_id_acc");
    for (int k = 0; k < EB_BENCH_OUTLIER_METHODS; k++) {
        cJSON *a = cJSON_AddArrayToObject(acc, eb_bench_outlier_method_names[k]);
        for (int r = 0; r < n; r++)
            cJSON_AddItemToArray(a, isnan(runs[r].id_acc[k]) ? cJSON_CreateNull()
                                                             : cJSON_CreateNumber(runs[r].id_acc[k]));
    }
    cJSON *mg = cJSON_AddArrayToObject(o, "energy_ft_margins");
    for (int r = 0; r < n; r++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddNumberToObject(m, "m_in", runs[r].m_in);
        cJSON_AddNumberToObject(m, "m_out", runs[r].m_out);
        cJSON_AddItemToArray(mg, m);
    }
    char *out = cJSON_Print(o);
    cJSON_Delete(o);
    return out;
}

/* "oe,energy-ft,hopfield-boost,poem" → method bits; false (printed) on an unknown name. */
static bool parse_methods(const char *cmd, const char *list, unsigned *out) {
    static const char *const names[EB_BENCH_OUTLIER_METHODS] = {NULL, "oe", "energy-ft", "hopfield-boost",
                                                                "poem"};
    *out = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int k = 1;
        while (k < EB_BENCH_OUTLIER_METHODS && strcmp(t, names[k]) != 0) k++;
        if (k == EB_BENCH_OUTLIER_METHODS) {
            fprintf(stderr,
                    "ebood %s: --methods: unknown method '%s' (oe, energy-ft, hopfield-boost, poem)\n", cmd,
                    t);
            return false;
        }
        *out |= 1u << k;
    }
    return true;
}

/* `ebood bench outliers`'s command line. */
typedef struct outliers_args {
    const char *aux_spec, *output, *methods, *ood, *resume;
    int64_t seeds, epochs, ft_epochs, ft_n_train, n_train, n_synthetic, candidates, memory, poem_candidates,
        poem_memory, n_eval, max_units;
    bool json;
} outliers_args;

static int outliers_flags(outliers_args *a, cli_flag *flags) {
    *a = (outliers_args){.aux_spec = "aux",
                         .methods = "oe,energy-ft,hopfield-boost,poem",
                         .ood = "notmnist,kmnist,omniglot,textures",
                         .seeds = 1,
                         .epochs = 3,
                         .ft_epochs = 2,
                         .ft_n_train = 12800,
                         .n_synthetic = 2000,
                         .candidates = 20000,
                         .memory = 10000,
                         .poem_candidates = 50000,
                         .poem_memory = 10000};
    const cli_flag rows[] = {
        {"aux-data", 0, CLI_FLAG_STRING, &a->aux_spec, 0, 0, "SPEC",
         "auxiliary outlier pool of 28x28 images: a data name (aux, the rendered pool), an IDX file or a "
         ".npy",
         false},
        {"ood", 0, CLI_FLAG_STRING, &a->ood, 0, 0, "LIST",
         "test OOD sets besides mnist and the generated noise sets: comma list of image data names "
         "(notmnist,kmnist,omniglot,textures; none for none)",
         false},
        {"methods", 0, CLI_FLAG_STRING, &a->methods, 0, 0, "LIST",
         "fine-tunes to run: comma list of oe, energy-ft, hopfield-boost, poem (all)", false},
        {"seeds", 0, CLI_FLAG_INT, &a->seeds, 1, 16, "N", "number of seeds (1)", false},
        {"epochs", 0, CLI_FLAG_INT, &a->epochs, 1, 1000, "N", "baseline training epochs (3)", false},
        {"ft-epochs", 0, CLI_FLAG_INT, &a->ft_epochs, 1, 1000, "N", "fine-tuning epochs of each method (2)",
         false},
        {"ft-n-train", 0, CLI_FLAG_INT, &a->ft_n_train, 0, 1e9, "N",
         "ID images per fine-tuning epoch (12800 = 100 batches; 0 = all 55,000)", false},
        {"hb-candidates", 0, CLI_FLAG_INT, &a->candidates, 1, 1e9, "N",
         "Hopfield Boosting: pool rows scored per boosting step (20000; paper 500000)", false},
        {"hb-memory", 0, CLI_FLAG_INT, &a->memory, 0, 1e9, "N",
         "Hopfield Boosting: ID rows in the boosting memory (10000; 0 = all, the paper)", false},
        {"poem-candidates", 0, CLI_FLAG_INT, &a->poem_candidates, 1, 1e9, "N",
         "POEM: pool rows scored per epoch (50000; code 400000)", false},
        {"poem-memory", 0, CLI_FLAG_INT, &a->poem_memory, 0, 1e9, "N",
         "POEM: ID rows in its Bayesian linear regression (10000; 0 = all, the code)", false},
        {"n-train", 0, CLI_FLAG_INT, &a->n_train, 0, 1e9, "N",
         "use only N training images (quick checks; 0 = all)", false},
        {"n-eval", 0, CLI_FLAG_INT, &a->n_eval, 0, 1e9, "N",
         "score only the first N images of each test set, ID and OOD (0 = all)", false},
        {"n-synthetic", 0, CLI_FLAG_INT, &a->n_synthetic, 1, 1e7, "N", "images per generated OOD set (2000)",
         false},
        CLI_REPORT_FLAGS(&a->json, &a->output),
        CLI_RESUME_FLAGS(&a->resume, &a->max_units),
    };
    memcpy(flags, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

/* The extra test OOD sets of --ood: each image spec's test split (extra[*n], names[*n] pointing into buf). */
static eb_status load_extra_ood(const outliers_args *a, char *buf, size_t size, cli_images *extra,
                                const char **names, int *n, eb_error *err) {
    snprintf(buf, size, "%s", a->ood);
    *n = 0;
    eb_status st = EB_OK;
    for (char *save = NULL, *t = strcmp(a->ood, "none") ? strtok_r(buf, ",", &save) : NULL; t && !st;
         t = strtok_r(NULL, ",", &save)) {
        if (*n == EB_EVAL_MAX_SETS - 1 - EB_IMAGE_OOD_COUNT)
            st = eb_error_set(err, EB_ERR_ARG, "--ood: at most %d sets", *n);
        else if (!cli_is_image_spec(t) || strcmp(t, a->aux_spec) == 0 || strcmp(t, "fmnist") == 0)
            st = eb_error_set(err, EB_ERR_ARG,
                              "--ood: '%s' is not an image data name (or is the ID / AUX data)", t);
        else if (!(st = cli_load_images(t, 0, &extra[*n], err)))
            names[(*n)++] = t;
    }
    return st;
}

/* The suite's parameters from the command line. */
static eb_bench_outliers_params outliers_params(const outliers_args *a, unsigned bits,
                                                const eb_image_set *aux, const char *fm, const char *mn) {
    eb_bench_outliers_params p = eb_bench_outliers_default_params(fm, mn, aux);
    p.methods = bits;
    p.n_seeds = (int)a->seeds;
    p.pretrain.epochs = a->epochs;
    p.finetune.epochs = a->ft_epochs;
    p.finetune_n_train = a->ft_n_train;
    p.n_train = a->n_train;
    p.n_synthetic = a->n_synthetic;
    p.n_eval = a->n_eval;
    p.hb.candidates = a->candidates;
    p.hb.memory = a->memory;
    p.poem_candidates = a->poem_candidates;
    p.poem_memory = a->poem_memory;
    p.progress = !a->json;
    return p;
}

/* JSON (stdout and/or -o) or the table of a finished run. */
static eb_status outliers_print(const outliers_args *a, const eb_bench_outliers_run *runs, int n,
                                eb_error *err) {
    char *text = runs_json(runs, n);
    eb_status st = text ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st && a->output) st = cli_write_text(a->output, text, err);
    if (!st && a->json) printf("%s\n", text);
    if (!st && !a->json) print_table(runs, n);
    free(text);
    return st;
}

int cmd_bench_outliers(int argc, char **argv) {
    const char *cmd = "bench outliers";
    outliers_args a;
    cli_flag flags[24];
    const int n_flags = outliers_flags(&a, flags);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, usage, argc, argv, 3, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    unsigned bits = 0;
    if (!parse_methods(cmd, a.methods, &bits) || !cli_resume_check(cmd, a.resume, flags, n_flags))
        return CLI_USAGE;
    if (strcmp(a.aux_spec, "fmnist") == 0) {
        fprintf(stderr, "ebood %s: --aux-data: the ID data (fmnist) cannot be the auxiliary outliers\n", cmd);
        return CLI_USAGE;
    }
    eb_error err = {0};
    eb_image_set aux;
    eb_status st = cli_load_aux(a.aux_spec, 1, 28, 28, 28 * 28, NULL, &aux, &err);
    if (st) return cli_fail(cmd, &err);
    cli_images extra[EB_EVAL_MAX_SETS];
    memset(extra, 0, sizeof extra);
    const char *extra_names[EB_EVAL_MAX_SETS];
    int n_extra = 0;
    char ood_buf[512];
    st = load_extra_ood(&a, ood_buf, sizeof ood_buf, extra, extra_names, &n_extra, &err);
    char dir[4096], fm[4200], mn[4200];
    cli_data_dir(dir, sizeof dir);
    snprintf(fm, sizeof fm, "%s/fashion-mnist", dir);
    snprintf(mn, sizeof mn, "%s/mnist", dir);
    eb_bench_outliers_params p = outliers_params(&a, bits, &aux, fm, mn);
    for (int i = 0; i < n_extra; i++) {
        p.extra_ood[i] = &extra[i].test;
        p.extra_ood_names[i] = extra_names[i];
    }
    p.n_extra_ood = n_extra;
    if (!st && !a.json)
        fprintf(stderr,
                "outliers: small_cnn, %d seed(s); baseline %lld epochs (Adam 1e-3 cosine), fine-tunes %lld "
                "epochs of %lld ID images (SGD 1e-3 Nesterov cosine); AUX pool %s (%lld images)\n",
                p.n_seeds, (long long)a.epochs, (long long)a.ft_epochs, (long long)a.ft_n_train, a.aux_spec,
                (long long)aux.n);
    bool stopped = false;
    char *spec = NULL;
    p.resume = cli_resume_params(a.resume, a.max_units, flags, n_flags, a.json, &stopped, &spec);
    eb_bench_outliers_run *runs = st ? NULL : calloc((size_t)a.seeds, sizeof *runs);
    if (!st && !runs) st = eb_error_set(&err, EB_ERR_NOMEM, "out of memory");
    if (!st) st = eb_bench_outliers_run_all(&p, runs, &err);
    if (st == EB_ERR_IO)
        eb_error_set(&err, st, "%s (fetch it with: bash scripts/fetch-data.sh, or set EBOOD_DATA)",
                     err.message);
    if (!st && !stopped) st = outliers_print(&a, runs, p.n_seeds, &err);
    free(spec);
    free(runs);
    for (int i = 0; i < n_extra; i++) cli_images_free(&extra[i]);
    eb_image_set_free(&aux);
    if (!st && stopped) return cli_resume_stopped(cmd, &p.resume);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}
