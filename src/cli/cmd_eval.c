/* ebood eval: detectors on a checkpoint's features/logits (extracted once) + ID test data + OOD sets
 * → one table per detector; or metrics of score files made anywhere (--id S.npy --ood NAME=S.npy). */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli_detector_impl.h"
#include "cli/cli_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage =
    "--model CKPT [--data NAME|FILE] [--ood NAME=FILE ...] [--detectors LIST] [options]\n"
    "       ebood eval --id S_ID.npy --ood NAME=S_OOD.npy [...] [--json] [-o FILE]";

enum { MAX_SETS = EB_EVAL_MAX_SETS };

/* Prints the report (table or JSON) and writes it to `output` if given. */
static eb_status emit(const eb_eval_report *report, bool json, const char *output, const char *title,
                      eb_error *err) {
    char *text = eb_report_json(report);
    if (!text) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_status st = output ? cli_write_text(output, text, err) : EB_OK;
    if (!st) {
        if (json) {
            printf("%s\n", text);
        } else {
            printf("%s\n", title);
            eb_report_print_table(stdout, report);
        }
    }
    free(text);
    return st;
}

/* Metrics of one OOD set against the ID scores. */
static eb_status set_metrics(const char *name, const float *s_id, int64_t n_id, const float *s_ood,
                             int64_t n_ood, eb_eval_set_result *r, eb_error *err) {
    snprintf(r->name, sizeof r->name, "%s", name);
    r->n_ood = n_ood;
    eb_status st = eb_ood_metrics_compute(s_id, n_id, s_ood, n_ood, &r->metrics, err);
    if (!st) st = eb_ebm_paper_aupr(s_id, n_id, s_ood, n_ood, &r->ebm_paper_aupr, err);
    return st;
}

/* ---- score files --------------------------------------------------------------------------------- */

static int eval_score_files(const char *id_path, const cli_list *ood_specs, bool json, const char *output,
                            const char *report_path) {
    const char *cmd = "eval";
    eb_error err = {0};
    if (ood_specs->count == 0) {
        fprintf(stderr, "ebood eval: --id needs at least one --ood NAME=SCORES.npy\n");
        return CLI_USAGE;
    }
    if (ood_specs->count > MAX_SETS) {
        fprintf(stderr, "ebood eval: --ood: at most %d sets\n", MAX_SETS);
        return CLI_USAGE;
    }
    static eb_eval_report report;
    memset(&report, 0, sizeof report);
    report.id_acc = NAN;
    report.n_scores = 1;
    eb_eval_score_result *sr = &report.scores[0];
    snprintf(sr->score, sizeof sr->score, "scores");
    float *s_id = NULL;
    int64_t n_id = 0, cols = 0;
    eb_status st = cli_read_matrix(id_path, true, &s_id, &n_id, &cols, &err);
    if (!st && cols != 1)
        st = eb_error_set(&err, EB_ERR_SHAPE, "%s: expected one score per row, got %lld columns", id_path,
                          (long long)cols);
    report.n_id = n_id;
    for (int i = 0; i < ood_specs->count && !st; i++) {
        const char *spec = ood_specs->items[i], *eq = strchr(spec, '=');
        char name[48];
        snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
        float *s_ood = NULL;
        int64_t n_ood = 0;
        st = cli_read_matrix(eq + 1, true, &s_ood, &n_ood, &cols, &err);
        if (!st && cols != 1)
            st = eb_error_set(&err, EB_ERR_SHAPE, "%s: expected one score per row, got %lld columns", eq + 1,
                              (long long)cols);
        if (!st) st = set_metrics(name, s_id, n_id, s_ood, n_ood, &sr->sets[sr->n_sets++], &err);
        free(s_ood);
    }
    if (!st) {
        char title[600];
        snprintf(title, sizeof title, "scores from %s (%lld ID samples)", id_path, (long long)n_id);
        st = emit(&report, json, output, title, &err);
    }
    if (!st && report_path) { /* the page reads the files again: one code path with ebood report */
        eb_html_report *page = NULL;
        st = eb_html_report_new("ebood eval: score files", &page, &err);
        if (!st) st = eb_html_report_add_provenance(page, "ID scores", id_path, &err);
        if (!st) st = cli_report_add_score_files(page, "scores", id_path, ood_specs, &err);
        if (!st) st = eb_html_report_write(page, report_path, cli_report_format(report_path), &err);
        eb_html_report_free(page);
    }
    free(s_id);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}

/* ---- detectors on a checkpoint ------------------------------------------------------------------------- */

/* One evaluated set of rows with what the detectors may need. */
typedef struct eval_rows {
    const char *name;
    const eb_dataset *d;
    float *logits, *features;
} eval_rows;

static eb_detector_data rows_data(const eval_rows *r, eb_model *m, const float *std, int n_std) {
    return (eb_detector_data){.n = r->d->n,
                              .features = r->features,
                              .dim = eb_model_feature_dim(m),
                              .logits = r->logits,
                              .n_classes = eb_model_out_dim(m),
                              .labels = r->d->y,
                              .inputs = r->d->x,
                              .input_dim = r->d->dim,
                              .input_std = n_std ? std : NULL,
                              .n_input_std = n_std,
                              .model = m};
}

int cmd_eval(int argc, char **argv) {
    const char *cmd = "eval";
    const char *model_path = NULL, *data = NULL, *scores = NULL, *detectors = NULL, *output = NULL;
    const char *id_scores = NULL, *train_data = NULL, *aux_data = NULL, *input_std = NULL,
               *report_path = NULL;
    int64_t split_seed = -1, n_synthetic = 2000, seed = 0;
    bool json = false, no_synthetic = false;
    cli_list ood_specs = {0};
    cli_detector_flags hv = {0};
    char detector_help[600] = "comma-separated: ";
    eb_detector_kind_names(detector_help + strlen(detector_help),
                           sizeof detector_help - strlen(detector_help));
    strcat(detector_help, " (default msp,maxlogit,energy)");
    cli_flag base_flags[] = {
        {"model", 0, CLI_FLAG_STRING, &model_path, 0, 0, "CKPT", "checkpoint written by ebood train", false},
        {"data", 0, CLI_FLAG_STRING, &data, 0, 0, "NAME|FILE",
         "ID test data: segment (its test split), an .arff/.csv file, or an image dataset (fmnist, mnist, "
         "cifar10:DIR, cifar100:DIR: its test split) (default: the checkpoint's training data)",
         false},
        {"split-seed", 0, CLI_FLAG_INT, &split_seed, 0, 9.2e18, "N",
         "split of a built-in dataset (default: the checkpoint's)", false},
        {"ood", 0, CLI_FLAG_MULTI, &ood_specs, 0, 0, "NAME=FILE",
         "an OOD set (repeatable): a data file; for image data an image dataset (its test split) or "
         "idx:FILE; with --id a score file",
         false},
        {"no-synthetic", 0, CLI_FLAG_BOOL, &no_synthetic, 0, 0, NULL,
         "skip the synthetic sets (tabular uniform/gaussian/constant; images oodomain, noise, constant, "
         "smooth2/3/4/16)",
         false},
        {"n-synthetic", 0, CLI_FLAG_INT, &n_synthetic, 1, 1e7, "N", "samples per synthetic OOD set (2000)",
         false},
        {"seed", 0, CLI_FLAG_INT, &seed, 0, 9.2e18, "N", "seed of the synthetic OOD sets (0)", false},
        {"detectors", 0, CLI_FLAG_STRING, &detectors, 0, 0, "LIST", detector_help, false},
        {"scores", 0, CLI_FLAG_STRING, &scores, 0, 0, "LIST", "the logit scores only: msp, maxlogit, energy",
         false},
        {"train-data", 0, CLI_FLAG_STRING, &train_data, 0, 0, "NAME|FILE",
         "ID training data the detectors are fitted on (default: the built-in split's train part, else the "
         "checkpoint's data)",
         false},
        {"aux-data", 0, CLI_FLAG_STRING, &aux_data, 0, 0, "FILE",
         "auxiliary outlier rows for hopfield_aux (.arff/.csv)", false},
        {"input-std", 0, CLI_FLAG_STRING, &input_std, 0, 0, "S1,S2,..",
         "std the inputs were divided by (odin, mahalanobis --eps)", false},
        {"id", 0, CLI_FLAG_STRING, &id_scores, 0, 0, "S_ID.npy",
         "evaluate score files instead: ID scores [n] (higher = more ID)", false},
        CLI_REPORT_FLAGS(&json, &output),
        {"report", 0, CLI_FLAG_STRING, &report_path, 0, 0, "FILE",
         "also write a page with figures (.html; .md: Markdown + SVG files; see ebood report)", false},
    };
    enum { N_BASE = (int)(sizeof base_flags / sizeof base_flags[0]) };
    cli_flag flags[N_BASE + CLI_DETECTOR_MAX_FLAGS];
    memcpy(flags, base_flags, sizeof base_flags);
    const int n = N_BASE + cli_detector_flag_rows(&hv, false, flags + N_BASE);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, usage, argc, argv, 2, flags, n, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    for (int i = 0; i < ood_specs.count; i++)
        if (!strchr(ood_specs.items[i], '=') || strchr(ood_specs.items[i], '=') == ood_specs.items[i]) {
            fprintf(stderr, "ebood eval: --ood: expected NAME=FILE, got '%s'\n", ood_specs.items[i]);
            return CLI_USAGE;
        }
    if (id_scores) {
        for (int i = 0; i < n; i++) {
            const char *f = flags[i].name;
            if (flags[i].seen && strcmp(f, "id") && strcmp(f, "ood") && strcmp(f, "json") &&
                strcmp(f, "output") && strcmp(f, "report")) {
                fprintf(stderr, "ebood eval: --%s does not apply to score files (--id)\n", f);
                return CLI_USAGE;
            }
        }
        return eval_score_files(id_scores, &ood_specs, json, output, report_path);
    }
    if (!model_path) {
        fprintf(stderr,
                "ebood eval: --model (or --id with score files) is required (see ebood eval --help)\n");
        return CLI_USAGE;
    }
    if (scores && detectors) {
        fprintf(stderr, "ebood eval: give --detectors or --scores, not both\n");
        return CLI_USAGE;
    }

    /* the detectors */
    eb_detector_kind kinds[EB_EVAL_MAX_SCORES];
    int n_kinds = 0;
    eb_error err = {0};
    {
        const char *list_flag = scores ? "scores" : "detectors";
        char list[512];
        snprintf(list, sizeof list, "%s", scores ? scores : detectors ? detectors : "msp,maxlogit,energy");
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (n_kinds == EB_EVAL_MAX_SCORES) {
                fprintf(stderr, "ebood eval: --%s: at most %d\n", list_flag, EB_EVAL_MAX_SCORES);
                return CLI_USAGE;
            }
            eb_logit_score ls;
            if (scores && eb_logit_score_parse(tok, &ls, &err)) {
                fprintf(stderr, "ebood eval: --scores: %s (use --detectors for the others)\n", err.message);
                return CLI_USAGE;
            }
            if (eb_detector_kind_parse(tok, &kinds[n_kinds], &err)) {
                fprintf(stderr, "ebood eval: --%s: %s\n", list_flag, err.message);
                return CLI_USAGE;
            }
            for (int i = 0; i < n_kinds; i++)
                if (kinds[i] == kinds[n_kinds]) {
                    fprintf(stderr, "ebood eval: --%s: '%s' listed twice\n", list_flag, tok);
                    return CLI_USAGE;
                }
            n_kinds++;
        }
        if (n_kinds == 0) {
            fprintf(stderr, "ebood eval: --%s: empty list\n", list_flag);
            return CLI_USAGE;
        }
    }
    eb_detector_params params[EB_EVAL_MAX_SCORES];
    if (!cli_detector_params(cmd, flags, n, &hv, kinds, n_kinds, params)) return CLI_USAGE;
    eb_detector *dets[EB_EVAL_MAX_SCORES] = {0};
    unsigned fit_needs = 0, score_needs = 0;
    for (int k = 0; k < n_kinds; k++) {
        if (eb_detector_new(kinds[k], &params[k], &dets[k], &err)) {
            for (int j = 0; j < k; j++) eb_detector_free(dets[j]);
            return cli_fail(cmd, &err);
        }
        fit_needs |= eb_detector_fit_needs(dets[k]);
        score_needs |= eb_detector_score_needs(dets[k]);
    }
    /* fitting learns something only for these; the others are fitted on the test rows (dims only) */
    const unsigned learn = EB_NEEDS_FEATURES | EB_NEEDS_LABELS | EB_NEEDS_AUX;
    const bool need_train = (fit_needs & learn) != 0;
    int bad = 0;
    if (aux_data && !(fit_needs & EB_NEEDS_AUX)) {
        fprintf(stderr,
                "ebood eval: --aux-data: no listed detector uses auxiliary data (hopfield_aux does)\n");
        bad = 1;
    } else if (!aux_data && (fit_needs & EB_NEEDS_AUX)) {
        fprintf(stderr, "ebood eval: --aux-data is required for hopfield_aux\n");
        bad = 1;
    } else if (input_std && !(score_needs & EB_NEEDS_INPUTS)) {
        fprintf(stderr, "ebood eval: --input-std: no listed detector perturbs inputs\n");
        bad = 1;
    } else if (train_data && !need_train) {
        fprintf(stderr, "ebood eval: --train-data: no listed detector is fitted on training data\n");
        bad = 1;
    }
    float std_values[4096];
    int n_std = 0;
    if (!bad && input_std && !cli_parse_float_list(cmd, "input-std", input_std, std_values, 4096, &n_std))
        bad = 1;
    if (bad) {
        for (int k = 0; k < n_kinds; k++) eb_detector_free(dets[k]);
        return CLI_USAGE;
    }

    /* model, ID test data, OOD sets */
    eb_model *model = NULL;
    eb_safetensors *file = NULL;
    eb_status st = eb_model_load_with_file(model_path, NULL, &model, &file, &err);
    if (st) {
        for (int k = 0; k < n_kinds; k++) eb_detector_free(dets[k]);
        return cli_fail(cmd, &err);
    }
    /* a one-output model (unsupervised EBM, flow) has no classes for a detector's labels to index */
    for (int k = 0; k < n_kinds && !st && eb_model_out_dim(model) == 1; k++)
        if (eb_detector_fit_needs(dets[k]) & EB_NEEDS_LABELS)
            st = eb_error_set(&err, EB_ERR_ARG,
                              "--detectors: %s needs class labels, but %s has one output (a density model, "
                              "not a classifier); use energy (its log-density) or knn/hopfield",
                              eb_detector_kind_name(kinds[k]), model_path);
    const char *ckpt_data = eb_safetensors_meta(file, "ebood.data");
    if (!data) data = ckpt_data;
    if (split_seed < 0) {
        const char *s = eb_safetensors_meta(file, "ebood.split_seed");
        split_seed = s ? strtoll(s, NULL, 10) : 0;
    }
    if (!data)
        st = eb_error_set(&err, EB_ERR_ARG, "--data is required: %s does not name its training data",
                          model_path);
    cli_tabular tab = cli_tabular_plain((uint64_t)split_seed); /* a table's split and recipe */
    if (!st) st = cli_tabular_from_checkpoint(file, model_path, (uint64_t)split_seed, &tab, &err);
    cli_tabular whole = tab; /* --ood and --aux-data files: all their rows (a view: not freed) */
    whole.data = NULL;

    eb_tabular_split split, train_split, aux_split;
    memset(&split, 0, sizeof split);
    memset(&train_split, 0, sizeof train_split);
    memset(&aux_split, 0, sizeof aux_split);
    bool builtin = false;
    eb_dataset extra[MAX_SETS];
    memset(extra, 0, sizeof extra);
    eval_rows sets[MAX_SETS];
    memset(sets, 0, sizeof sets);
    char name_buf[MAX_SETS][48];
    int n_sets = 0, n_extra = 0;
    /* image data (fmnist, mnist, cifar10:DIR, cifar100:DIR): ID test rows, OOD sets (cmd_eval_images.c) */
    const bool images = !st && cli_is_image_spec(data);
    static cli_eval_images img;
    memset(&img, 0, sizeof img);
    if (images) {
        st = cli_eval_images_load(model, file, model_path, data, (uint64_t)split_seed, &ood_specs, train_data,
                                  need_train, !no_synthetic, n_synthetic, (uint64_t)seed, &img, &err);
        split.test = img.test;
        split.train = img.train;
        memset(&img.test, 0, sizeof img.test);
        memset(&img.train, 0, sizeof img.train);
        for (int i = 0; i < img.n_ood; i++)
            sets[n_sets++] = (eval_rows){img.names[i], &img.ood[i], NULL, NULL};
        if (!st && !input_std && (score_needs & EB_NEEDS_INPUTS)) { /* the normalisation's std per channel */
            n_std = img.channels;
            memcpy(std_values, img.std, (size_t)n_std * sizeof *std_values);
        }
    } else if (!st) {
        st = cli_load_tabular(data, &tab, true, &split, &builtin, &err);
    }
    if (!st && split.test.dim != eb_model_in_dim(model))
        st = eb_error_set(&err, EB_ERR_SHAPE, "%s: the model expects %lld features, %s has %lld", model_path,
                          (long long)eb_model_in_dim(model), data, (long long)split.test.dim);
    /* a one-output model is a scalar EBM (ebood train --objective cd): no classes to match */
    if (!st && eb_model_out_dim(model) > 1 && split.test.num_classes != eb_model_out_dim(model))
        st = eb_error_set(&err, EB_ERR_SHAPE, "%s: the model has %lld classes, %s has %d", model_path,
                          (long long)eb_model_out_dim(model), data, split.test.num_classes);
    /* the split's held-out OOD rows: Segment's class sky or a file's --ood-class (named after the class),
     * or the toy data's background points (uniform on the plotting box; src/data/toy2d.c), named after
     * the dataset ("cross_ood") */
    char builtin_ood[48];
    snprintf(builtin_ood, sizeof builtin_ood, "%.47s", split.ood_class ? split.ood_class : "sky");
    if (data && strncmp(data, "toy:", 4) == 0)
        snprintf(builtin_ood, sizeof builtin_ood, "%.40s_ood", data + 4);
    if (!st && builtin && split.ood.n > 0) sets[n_sets++] = (eval_rows){builtin_ood, &split.ood, NULL, NULL};
    for (int i = 0; i < ood_specs.count && !st && !images; i++) {
        const char *eq = strchr(ood_specs.items[i], '=');
        if (n_sets >= MAX_SETS - EB_TABULAR_OOD_COUNT) {
            st = eb_error_set(&err, EB_ERR_ARG, "--ood: at most %d sets", MAX_SETS - EB_TABULAR_OOD_COUNT);
            break;
        }
        snprintf(name_buf[n_sets], sizeof name_buf[n_sets], "%.*s", (int)(eq - ood_specs.items[i]),
                 ood_specs.items[i]);
        eb_tabular_split one;
        bool b;
        st = cli_load_tabular(eq + 1, &whole, true, &one, &b, &err);
        if (!st && b) st = eb_error_set(&err, EB_ERR_ARG, "--ood: '%s' must be a file", eq + 1);
        if (!st) {
            extra[n_extra] = one.test;
            memset(&one.test, 0, sizeof one.test);
            if (extra[n_extra].dim != eb_model_in_dim(model))
                st = eb_error_set(&err, EB_ERR_SHAPE, "%s: the model expects %lld features, %s has %lld",
                                  model_path, (long long)eb_model_in_dim(model), eq + 1,
                                  (long long)extra[n_extra].dim);
            sets[n_sets] = (eval_rows){name_buf[n_sets], &extra[n_extra++], NULL, NULL};
            n_sets++;
        }
        eb_tabular_split_free(&one);
    }
    if (!st && !no_synthetic && !images) {
        st = eb_tabular_ood_nonnatural(n_synthetic, split.test.dim, (uint64_t)seed, &extra[n_extra], &err);
        for (int i = 0; i < EB_TABULAR_OOD_COUNT && !st; i++)
            sets[n_sets++] = (eval_rows){eb_tabular_ood_names[i], &extra[n_extra++], NULL, NULL};
    }
    if (!st && n_sets == 0) st = eb_error_set(&err, EB_ERR_ARG, "no OOD sets: give --ood NAME=FILE");

    /* training rows (only when some detector learns from them) and auxiliary rows */
    eval_rows train = {"train", NULL, NULL, NULL}, aux = {"aux", NULL, NULL, NULL};
    const char *train_spec = train_data ? train_data : builtin ? NULL : ckpt_data;
    if (!st && need_train) {
        if (images) { /* loaded above */
            train.d = &split.train;
        } else if (!train_spec) {
            train.d = &split.train;
        } else {
            bool b;
            st = cli_load_tabular(train_spec, &tab, false, &train_split, &b, &err);
            train.d = &train_split.train;
            train.name = train_spec;
        }
        if (!st && train.d->n < 1)
            st = eb_error_set(&err, EB_ERR_ARG, "--train-data: %s has no training rows",
                              train_spec ? train_spec : data);
    }
    if (!st && aux_data) {
        bool b;
        st = cli_load_tabular(aux_data, &whole, true, &aux_split, &b, &err);
        if (!st && b) st = eb_error_set(&err, EB_ERR_ARG, "--aux-data: '%s' must be a file", aux_data);
        aux.d = &aux_split.test;
        aux.name = aux_data;
    }

    /* one extraction per set of rows */
    const bool want_f = ((fit_needs | score_needs) & EB_NEEDS_FEATURES) != 0;
    eval_rows test = {"test", &split.test, NULL, NULL};
    if (!st)
        st = cli_extract(model, model_path, test.d, data, &test.logits, want_f ? &test.features : NULL, &err);
    for (int i = 0; i < n_sets && !st; i++)
        st = cli_extract(model, model_path, sets[i].d, sets[i].name, &sets[i].logits,
                         want_f ? &sets[i].features : NULL, &err);
    if (!st && train.d)
        st = cli_extract(model, model_path, train.d, train.name, &train.logits,
                         want_f ? &train.features : NULL, &err);
    if (!st && aux.d) st = cli_extract(model, model_path, aux.d, aux.name, NULL, &aux.features, &err);

    /* fit, score, metrics */
    static eb_eval_report report;
    memset(&report, 0, sizeof report);
    report.id_acc = NAN;
    report.n_id = split.test.n;
    if (!st && split.test.y && eb_model_out_dim(model) > 1)
        st = eb_accuracy(test.logits, split.test.n, eb_model_out_dim(model), split.test.y, &report.id_acc,
                         &err);
    int64_t max_n = split.test.n;
    for (int i = 0; i < n_sets; i++) max_n = sets[i].d->n > max_n ? sets[i].d->n : max_n;
    float *s_id = malloc((size_t)(split.test.n > 0 ? split.test.n : 1) * sizeof *s_id);
    float *s_ood = malloc((size_t)(max_n > 0 ? max_n : 1) * sizeof *s_ood);
    if (!st && (!s_id || !s_ood)) st = eb_error_set(&err, EB_ERR_NOMEM, "out of memory");
    const eb_detector_data test_d = rows_data(&test, model, std_values, n_std);
    bool data_error = false;
    static cli_report_scores kept;
    memset(&kept, 0, sizeof kept);
    for (int k = 0; k < n_kinds && !st; k++) {
        eb_detector_data fit_d =
            (eb_detector_fit_needs(dets[k]) & learn) ? rows_data(&train, model, std_values, n_std) : test_d;
        if (aux.d) {
            fit_d.aux_features = aux.features;
            fit_d.n_aux = aux.d->n;
        }
        if ((st = eb_detector_fit(dets[k], &fit_d, NULL, &err))) {
            data_error = true;
            break;
        }
        if (eb_detector_note(dets[k])[0])
            fprintf(stderr, "ebood eval: note: %s\n", eb_detector_note(dets[k]));
        eb_eval_score_result *sr = &report.scores[report.n_scores++];
        snprintf(sr->score, sizeof sr->score, "%s", eb_detector_kind_name(kinds[k]));
        if ((st = eb_detector_score(dets[k], &test_d, s_id, &err))) {
            data_error = true;
            break;
        }
        if (report_path) cli_report_keep(&kept, k, -1, s_id, split.test.n);
        for (int i = 0; i < n_sets && !st; i++) {
            const eb_detector_data od = rows_data(&sets[i], model, std_values, n_std);
            data_error = (st = eb_detector_score(dets[k], &od, s_ood, &err)) != EB_OK;
            if (!st && report_path) cli_report_keep(&kept, k, i, s_ood, sets[i].d->n);
            if (!st)
                st = set_metrics(sets[i].name, s_id, split.test.n, s_ood, sets[i].d->n,
                                 &sr->sets[sr->n_sets++], &err);
        }
    }
    if (!st) {
        char title[600];
        snprintf(title, sizeof title, "model %s on %s (%lld ID test samples)", model_path, data,
                 (long long)split.test.n);
        st = emit(&report, json, output, title, &err);
    }
    if (!st && report_path)
        st = cli_report_eval(report_path, &report, &kept, model, file, model_path, data, split.test.x,
                             split.test.dim == 2 ? split.test.n : 0, &err);
    cli_report_scores_free(&kept);
    free(s_id);
    free(s_ood);
    free(test.logits);
    free(test.features);
    free(train.logits);
    free(train.features);
    free(aux.features);
    for (int i = 0; i < n_sets; i++) {
        free(sets[i].logits);
        free(sets[i].features);
    }
    for (int i = 0; i < n_extra; i++) eb_dataset_free(&extra[i]);
    for (int k = 0; k < n_kinds; k++) eb_detector_free(dets[k]);
    eb_tabular_split_free(&split);
    eb_tabular_split_free(&train_split);
    eb_tabular_split_free(&aux_split);
    cli_tabular_free(&tab);
    cli_eval_images_free(&img);
    eb_safetensors_free(file);
    eb_model_free(model);
    return !st ? CLI_OK : data_error ? cli_fail_data(cmd, &err) : cli_fail(cmd, &err);
}
