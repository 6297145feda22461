/* ebood bench NAME: the benchmark suites of shared/specs/protocols.md. */
#include "cli/cli_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "NAME [--seeds N] [--json] [options]   (suites: segment)";

static int bench_segment(int argc, char **argv) {
    const char *cmd = "bench segment", *output = NULL;
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
        char *text = eb_report_runs_json(runs, p.n_seeds, paper, n_paper);
        if (output) st = cli_write_text(output, text, &err);
        if (!st && json) printf("%s\n", text);
        if (!st && !json) {
            printf("ebood bench segment — UCI Segment (weka), sky held out; ID test split vs OOD sets\n");
            eb_report_print_runs(stdout, runs, p.n_seeds, "EBM-paper AUPR-Out", paper, n_paper);
            double total = 0;
            for (int s = 0; s < p.n_seeds; s++) total += seconds[s];
            printf("\nEBM-paper AUPR-Out: OOD positive, score -f, ID and OOD truncated to equal length "
                   "(chance 50%%).\n"
                   "paper: 002_39b8670b82235277.txt Tables 5-6, CE row (energy score of a classifier); the\n"
                   "paper's tabular 'Noise' column is shown beside our uniform U(-5,5) set.\n"
                   "Training: %.1f s per seed.\n",
                   total / p.n_seeds);
        }
        free(text);
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
    fprintf(stderr, "ebood bench: unknown suite '%s' (available: segment)\n", argv[2]);
    return CLI_USAGE;
}
