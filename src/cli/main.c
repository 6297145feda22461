/* ebood command-line entry point: dispatches to the subcommands. Only src/cli exits the process. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli_detector_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libgomp's default is to spin while waiting at a barrier. On a machine whose cores are shared (CI,
 * laptops, the 2-core boxes this project runs on) a spinning thread that loses its core stalls every
 * parallel region: we measured 10× slower CNN training at 2 threads. Unless the user chose a policy,
 * re-run ourselves once with OMP_WAIT_POLICY=PASSIVE (libgomp reads it only at load time). */
static void prefer_passive_openmp(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    /* The path /proc/self/exe points to, not the link itself: under valgrind the link is valgrind's
     * tool, which refuses to run without its launcher; readlink there answers with ebood's path. */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return;
    self[len] = '\0';
    execv(self, argv); /* returns only on failure: then carry on as we are */
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"train", cmd_train, "train a classifier or an EBM (tabular, images, toy 2-D), write a checkpoint"},
    {"fit", cmd_fit, "fit a post-hoc detector on ID features/logits, calibrate its threshold"},
    {"score", cmd_score, "score samples with a detector file (and predict ID/OOD)"},
    {"eval", cmd_eval, "evaluate detectors (or score files) against OOD sets"},
    {"bench", cmd_bench, "run a benchmark suite of the papers (segment, fmnist)"},
    {"extract", cmd_extract, "write a dataset's logits, features and labels as .npy"},
    {"report", cmd_report, "an HTML (or Markdown) report with figures: score files, a suite's JSON, a model"},
    {"landscape", cmd_landscape, "a 2-D model's log-density on a grid as .png/.svg/.npy/.csv"},
    {"data", cmd_data, "build, list and show the rendered image sets (aux, notmnist, kmnist, ...)"},
    {"info", cmd_info, "version, BLAS, threads, build flags"},
};

static void print_usage(FILE *fp) {
    fprintf(fp, "usage: ebood <command> [options]   (ebood <command> --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    prefer_passive_openmp(argv);
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
