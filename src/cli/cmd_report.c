/* ebood report: one page a person can open (self-contained HTML, or Markdown + SVG) from score files
 * (--id S.npy --ood NAME=S.npy), a suite's JSON (--suite FILE, as `ebood bench NAME --json -o FILE`
 * writes it) and/or a training log (--train-log CKPT|LOG.json); or from a model + data exactly as
 * `ebood eval` takes them (--model …: runs ebood eval with --report). Library: src/eval/report_html.c. */
#include "cli/cli_detector_impl.h"
#include "cli/cli_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage =
    "-o OUT.html [--id S_ID.npy --ood NAME=S_OOD.npy ...] [--suite BENCH.json] [--train-log CKPT|LOG.json] "
    "[--format html|md] [--title TEXT]\n"
    "       ebood report -o OUT.html --model CKPT [ebood eval's flags]   (= ebood eval ... --report "
    "OUT.html)";

/* --model: ebood eval with the same flags writes the page (-o/--output becomes --report). */
static int report_from_model(int argc, char **argv) {
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        fprintf(stderr, "ebood report: out of memory\n");
        return CLI_FAIL;
    }
    int n = 0, rc = -1;
    args[n++] = argv[0];
    args[n++] = "eval";
    for (int i = 2; i < argc && rc < 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            args[n++] = "--report";
        } else if (strcmp(a, "--format") == 0 || strcmp(a, "--title") == 0 || strcmp(a, "--id") == 0 ||
                   strcmp(a, "--suite") == 0 || strcmp(a, "--train-log") == 0) {
            fprintf(
                stderr,
                "ebood report: %s does not apply with --model (the page's format follows -o: .html or .md)\n",
                a);
            rc = CLI_USAGE;
        } else {
            args[n++] = argv[i];
        }
    }
    if (rc < 0) rc = cmd_eval(n, args);
    free(args);
    return rc;
}

/* A training log: a checkpoint's "ebood.train_log" metadata, or a JSON file holding the array. */
static eb_status add_train_log(eb_html_report *r, const char *path, eb_error *err) {
    size_t len = strlen(path);
    if (len > 5 && strcmp(path + len - 5, ".json") == 0) {
        char *text = NULL;
        size_t n;
        eb_status st = eb_file_read_all(path, &text, &n, err);
        if (!st) st = eb_html_report_add_training_log(r, text, path, err);
        free(text);
        return st;
    }
    eb_safetensors *f = NULL;
    eb_status st = eb_safetensors_read(path, &f, err);
    if (st) return st;
    const char *log = eb_safetensors_meta(f, "ebood.train_log");
    if (!log)
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: the checkpoint keeps no training log (ebood.train_log)",
                          path);
    else
        st = eb_html_report_add_training_log(r, log, path, err);
    eb_safetensors_free(f);
    return st;
}

int cmd_report(int argc, char **argv) {
    const char *cmd = "report";
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--model") == 0) return report_from_model(argc, argv);
    const char *output = NULL, *id_path = NULL, *suite = NULL, *train_log = NULL, *format = "html",
               *title = NULL, *score_name = "scores",
               *model_for_help = NULL; /* --model is dispatched above */
    cli_list ood = {0};
    cli_flag flags[] = {
        {"output", 'o', CLI_FLAG_STRING, &output, 0, 0, "FILE",
         "the report (.html; with --format md a .md file "
         "and one SVG per figure beside it; atomic)",
         false},
        {"id", 0, CLI_FLAG_STRING, &id_path, 0, 0, "S_ID.npy", "ID scores [n] (higher = more ID)", false},
        {"ood", 0, CLI_FLAG_MULTI, &ood, 0, 0, "NAME=S.npy", "OOD scores of one set (repeatable; with --id)",
         false},
        {"score", 0, CLI_FLAG_STRING, &score_name, 0, 0, "NAME", "name of the score files' detector (scores)",
         false},
        {"suite", 0, CLI_FLAG_STRING, &suite, 0, 0, "FILE.json",
         "a suite's JSON (ebood bench NAME --json -o FILE)", false},
        {"train-log", 0, CLI_FLAG_STRING, &train_log, 0, 0, "CKPT|LOG.json",
         "training curves: a checkpoint's per-epoch log, or that log as a JSON file", false},
        {"format", 0, CLI_FLAG_STRING, &format, 0, 0, "html|md",
         "page format (default: md for a .md output, else html)", false},
        {"title", 0, CLI_FLAG_STRING, &title, 0, 0, "TEXT", "page title (ebood report)", false},
        {"model", 0, CLI_FLAG_STRING, &model_for_help, 0, 0, "CKPT",
         "a model + data as ebood eval takes them (all of eval's flags; see ebood eval --help)", false},
    };
    int n_flags = (int)(sizeof flags / sizeof flags[0]), n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, usage, argc, argv, 2, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!output) {
        fprintf(stderr, "ebood report: --output is required (see ebood report --help)\n");
        return CLI_USAGE;
    }
    eb_report_format fmt = cli_report_format(output);
    if (format && strcmp(format, "html") == 0) {
        fmt = EB_REPORT_HTML;
    } else if (format && strcmp(format, "md") == 0) {
        fmt = EB_REPORT_MD;
    } else if (format) {
        fprintf(stderr, "ebood report: --format: expected html or md, got '%s'\n", format);
        return CLI_USAGE;
    }
    if (!id_path && ood.count > 0) {
        fprintf(stderr, "ebood report: --ood needs --id (the ID scores)\n");
        return CLI_USAGE;
    }
    if (!id_path && !suite && !train_log) {
        fprintf(stderr,
                "ebood report: nothing to report: give --id/--ood, --suite, --train-log or --model\n");
        return CLI_USAGE;
    }
    if (id_path && ood.count == 0) {
        fprintf(stderr, "ebood report: --id needs at least one --ood NAME=SCORES.npy\n");
        return CLI_USAGE;
    }
    if (ood.count > EB_EVAL_MAX_SETS) {
        fprintf(stderr, "ebood report: --ood: at most %d sets\n", EB_EVAL_MAX_SETS);
        return CLI_USAGE;
    }
    for (int i = 0; i < ood.count; i++) {
        const char *eq = strchr(ood.items[i], '=');
        if (!eq || eq == ood.items[i] || eq - ood.items[i] >= 48 || !eq[1]) {
            fprintf(stderr, "ebood report: --ood: expected NAME=FILE (NAME up to 47 characters), got '%s'\n",
                    ood.items[i]);
            return CLI_USAGE;
        }
    }
    eb_error err = {0};
    eb_html_report *r = NULL;
    eb_status st = eb_html_report_new(title ? title : "ebood report", &r, &err);
    char scores_desc[1024] = "";
    if (!st && id_path) {
        int n = snprintf(scores_desc, sizeof scores_desc, "ID %s", id_path);
        for (int i = 0; i < ood.count && n < (int)sizeof scores_desc; i++)
            n += snprintf(scores_desc + n, sizeof scores_desc - (size_t)n, "; %s", ood.items[i]);
        st = eb_html_report_add_provenance(r, "score files", scores_desc, &err);
    }
    if (!st && suite) st = eb_html_report_add_provenance(r, "suite", suite, &err);
    if (!st && train_log) st = eb_html_report_add_provenance(r, "training log", train_log, &err);
    if (!st && id_path) st = cli_report_add_score_files(r, score_name, id_path, &ood, &err);
    if (!st && suite) {
        char *text = NULL;
        size_t n;
        st = eb_file_read_all(suite, &text, &n, &err);
        if (!st) st = eb_html_report_add_suite_json(r, text, suite, &err);
        free(text);
    }
    if (!st && train_log) st = add_train_log(r, train_log, &err);
    if (!st) st = eb_html_report_write(r, output, fmt, &err);
    eb_html_report_free(r);
    if (st) return cli_fail_data(cmd, &err);
    printf("wrote %s\n", output);
    return CLI_OK;
}
