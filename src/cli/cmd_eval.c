/* ebood eval: a checkpoint + ID test data + OOD sets → one table per score. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "--model CKPT [--data NAME|FILE] [--ood NAME=FILE ...] [options]";

/* Logits of every row of d (malloc'd). */
static eb_status predict(eb_model *m, const eb_dataset *d, float **out, eb_error *err) {
    *out = malloc((size_t)(d->n * eb_model_out_dim(m) + 1) * sizeof **out);
    if (!*out) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    return eb_model_predict(m, d->x, d->n, 1024, *out, NULL, err);
}

static eb_status check_dims(const char *model_path, const eb_model *m, const char *what, const eb_dataset *d,
                            eb_error *err) {
    if (d->dim != eb_model_in_dim(m))
        return eb_error_set(err, EB_ERR_SHAPE, "%s: the model expects %lld features, %s has %lld", model_path,
                            (long long)eb_model_in_dim(m), what, (long long)d->dim);
    return EB_OK;
}

int cmd_eval(int argc, char **argv) {
    const char *cmd = "eval";
    const char *model_path = NULL, *data = NULL, *scores = "msp,maxlogit,energy", *output = NULL;
    int64_t split_seed = -1, n_synthetic = 2000, seed = 0;
    double temperature = 1.0;
    bool json = false, no_synthetic = false;
    cli_list ood_specs = {0};
    cli_flag flags[] = {
        {"model", 0, CLI_FLAG_STRING, &model_path, 0, 0, "CKPT", "checkpoint written by ebood train", false},
        {"data", 0, CLI_FLAG_STRING, &data, 0, 0, "NAME|FILE",
         "ID test data: segment (its test split) or an .arff/.csv file (default: the checkpoint's training "
         "data)",
         false},
        {"split-seed", 0, CLI_FLAG_INT, &split_seed, 0, 9.2e18, "N",
         "split of a built-in dataset (default: the checkpoint's)", false},
        {"ood", 0, CLI_FLAG_MULTI, &ood_specs, 0, 0, "NAME=FILE", "an OOD set from a file (repeatable)",
         false},
        {"no-synthetic", 0, CLI_FLAG_BOOL, &no_synthetic, 0, 0, NULL,
         "skip the uniform/gaussian/constant sets", false},
        {"n-synthetic", 0, CLI_FLAG_INT, &n_synthetic, 1, 1e7, "N", "samples per synthetic OOD set (2000)",
         false},
        {"seed", 0, CLI_FLAG_INT, &seed, 0, 9.2e18, "N", "seed of the synthetic OOD sets (0)", false},
        {"scores", 0, CLI_FLAG_STRING, &scores, 0, 0, "LIST", "comma-separated: msp, maxlogit, energy (all)",
         false},
        {"temperature", 0, CLI_FLAG_FLOAT, &temperature, 1e-6, 1e6, "T",
         "temperature of the logit scores (1)", false},
        {"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print JSON (fractions) instead of tables", false},
        {"output", 'o', CLI_FLAG_STRING, &output, 0, 0, "FILE", "also write the JSON report to FILE (atomic)",
         false},
    };
    int n_flags = (int)(sizeof flags / sizeof flags[0]), n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, usage, argc, argv, 2, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!model_path) {
        fprintf(stderr, "ebood eval: --model is required (see ebood eval --help)\n");
        return CLI_USAGE;
    }
    eb_logit_score kinds[EB_EVAL_MAX_SCORES];
    int n_kinds = 0;
    eb_error err = {0};
    char list[256];
    snprintf(list, sizeof list, "%s", scores);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n_kinds == EB_EVAL_MAX_SCORES || eb_logit_score_parse(tok, &kinds[n_kinds++], &err)) {
            fprintf(stderr, "ebood eval: --scores: %s\n", err.message[0] ? err.message : "too many scores");
            return CLI_USAGE;
        }
    }
    if (n_kinds == 0) {
        fprintf(stderr, "ebood eval: --scores: empty list\n");
        return CLI_USAGE;
    }
    for (int i = 0; i < ood_specs.count; i++)
        if (!strchr(ood_specs.items[i], '=') || strchr(ood_specs.items[i], '=') == ood_specs.items[i]) {
            fprintf(stderr, "ebood eval: --ood: expected NAME=FILE, got '%s'\n", ood_specs.items[i]);
            return CLI_USAGE;
        }

    eb_model *model = NULL;
    eb_safetensors *file = NULL;
    if (eb_model_load_with_file(model_path, NULL, &model, &file, &err)) return cli_fail(cmd, &err);
    if (!data) data = eb_safetensors_meta(file, "ebood.data");
    if (split_seed < 0) {
        const char *s = eb_safetensors_meta(file, "ebood.split_seed");
        split_seed = s ? strtoll(s, NULL, 10) : 0;
    }
    eb_status st = EB_OK;
    if (!data)
        st = eb_error_set(&err, EB_ERR_ARG, "--data is required: %s does not name its training data",
                          model_path);

    eb_tabular_split split;
    memset(&split, 0, sizeof split);
    bool builtin = false;
    enum { MAX_SETS = EB_EVAL_MAX_SETS };
    eb_dataset extra[MAX_SETS];
    memset(extra, 0, sizeof extra);
    const eb_dataset *sets[MAX_SETS];
    const char *names[MAX_SETS];
    char name_buf[MAX_SETS][48];
    int n_sets = 0, n_extra = 0;
    if (!st) st = cli_load_tabular(data, (uint64_t)split_seed, true, &split, &builtin, &err);
    if (!st) st = check_dims(model_path, model, data, &split.test, &err);
    if (!st && split.test.num_classes != eb_model_out_dim(model))
        st = eb_error_set(&err, EB_ERR_SHAPE, "%s: the model has %lld classes, %s has %d", model_path,
                          (long long)eb_model_out_dim(model), data, split.test.num_classes);
    if (!st && builtin) {
        sets[n_sets] = &split.ood;
        names[n_sets++] = "sky";
    }
    for (int i = 0; i < ood_specs.count && !st; i++) {
        const char *eq = strchr(ood_specs.items[i], '=');
        if (n_sets >= MAX_SETS - EB_TABULAR_OOD_COUNT) {
            st = eb_error_set(&err, EB_ERR_ARG, "--ood: at most %d sets", MAX_SETS - EB_TABULAR_OOD_COUNT);
            break;
        }
        snprintf(name_buf[n_sets], sizeof name_buf[n_sets], "%.*s", (int)(eq - ood_specs.items[i]),
                 ood_specs.items[i]);
        eb_tabular_split one;
        bool b;
        st = cli_load_tabular(eq + 1, 0, true, &one, &b, &err);
        if (!st && b) st = eb_error_set(&err, EB_ERR_ARG, "--ood: '%s' must be a file", eq + 1);
        if (!st) {
            extra[n_extra] = one.test;
            memset(&one.test, 0, sizeof one.test);
            st = check_dims(model_path, model, eq + 1, &extra[n_extra], &err);
            sets[n_sets] = &extra[n_extra++];
            names[n_sets] = name_buf[n_sets];
            n_sets++;
        }
        eb_tabular_split_free(&one);
    }
    if (!st && !no_synthetic) {
        st = eb_tabular_ood_nonnatural(n_synthetic, split.test.dim, (uint64_t)seed, &extra[n_extra], &err);
        for (int i = 0; i < EB_TABULAR_OOD_COUNT && !st; i++) {
            sets[n_sets] = &extra[n_extra++];
            names[n_sets++] = eb_tabular_ood_names[i];
        }
    }
    if (!st && n_sets == 0) st = eb_error_set(&err, EB_ERR_ARG, "no OOD sets: give --ood NAME=FILE");

    float *logits[1 + MAX_SETS] = {0};
    eb_eval_report report;
    if (!st) st = predict(model, &split.test, &logits[0], &err);
    for (int i = 0; i < n_sets && !st; i++) st = predict(model, sets[i], &logits[1 + i], &err);
    if (!st) {
        eb_logit_set id = {"test", logits[0], split.test.n}, ood[MAX_SETS];
        for (int i = 0; i < n_sets; i++) ood[i] = (eb_logit_set){names[i], logits[1 + i], sets[i]->n};
        st = eb_eval_logit_scores(&id, split.test.y, ood, n_sets, eb_model_out_dim(model), kinds, n_kinds,
                                  (float)temperature, &report, &err);
    }
    if (!st) {
        char *text = eb_report_json(&report);
        if (output) st = cli_write_text(output, text, &err);
        if (!st) {
            if (json)
                printf("%s\n", text);
            else {
                printf("model %s on %s (%lld ID test samples)\n", model_path, data, (long long)split.test.n);
                eb_report_print_table(stdout, &report);
            }
        }
        free(text);
    }
    for (int i = 0; i <= n_sets; i++) free(logits[i]);
    for (int i = 0; i < n_extra; i++) eb_dataset_free(&extra[i]);
    eb_tabular_split_free(&split);
    eb_safetensors_free(file);
    eb_model_free(model);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}
