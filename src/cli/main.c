/* ebood command-line entry point: dispatches to the subcommands. Only src/cli exits the process. */
#include "cli/cli_detector_impl.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"train", cmd_train, "train an MLP classifier on tabular data, write a checkpoint"},
    {"fit", cmd_fit, "fit a post-hoc detector on ID features/logits, calibrate its threshold"},
    {"score", cmd_score, "score samples with a detector file (and predict ID/OOD)"},
    {"eval", cmd_eval, "evaluate detectors (or score files) against OOD sets"},
    {"bench", cmd_bench, "run a benchmark suite of the papers (segment)"},
    {"extract", cmd_extract, "write a dataset's logits, features and labels as .npy"},
    {"info", cmd_info, "version, BLAS, threads, build flags"},
};

static void print_usage(FILE *fp) {
    fprintf(fp, "usage: ebood <command> [options]   (ebood <command> --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ebood %s\n", EB_VERSION_STRING);
        return CLI_OK;
    }
    eb_error err = {0};
    if (eb_threads_from_env(&err)) {
        fprintf(stderr, "ebood: %s\n", err.message);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc, argv);
    fprintf(stderr, "ebood: unknown command '%s' (see ebood --help)\n", argv[1]);
    return CLI_USAGE;
}
