/* ebood score: load a detector file, score feature/logit files (or data through a checkpoint),
 * write the scores (and, with a calibrated threshold, ID/OOD predictions) as .npy. */
#include "cli/cli_detector_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "DET (--features X.npy | --logits G.npy | --model CKPT [--data NAME|FILE] "
                                 "[--split train|val|test|ood]) -o SCORES.npy [--predictions P.npy]";

int cmd_score(int argc, char **argv) {
    const char *cmd = "score";
    const char *features = NULL, *logits_path = NULL, *model_path = NULL, *data = NULL, *split_name = NULL;
    const char *input_std = NULL, *output = NULL, *predictions = NULL;
    int64_t split_seed = -1;
    bool json = false;
    cli_flag flags[] = {
        {"features", 0, CLI_FLAG_STRING, &features, 0, 0, "X.npy", "features to score [n, dim] (float .npy)",
         false},
        {"logits", 0, CLI_FLAG_STRING, &logits_path, 0, 0, "G.npy", "logits to score [n, classes]", false},
        {"model", 0, CLI_FLAG_STRING, &model_path, 0, 0, "CKPT",
         "extract features/logits (and inputs) with this checkpoint", false},
        {"data", 0, CLI_FLAG_STRING, &data, 0, 0, "NAME|FILE",
         "with --model: segment or an .arff/.csv file (default: the checkpoint's)", false},
        {"split", 0, CLI_FLAG_STRING, &split_name, 0, 0, "NAME",
         "with --model and a built-in dataset or a split table: train, val, test (default) or ood", false},
        {"split-seed", 0, CLI_FLAG_INT, &split_seed, 0, 9.2e18, "N",
         "with --model: split of a built-in dataset (default: the checkpoint's)", false},
        {"input-std", 0, CLI_FLAG_STRING, &input_std, 0, 0, "S1,S2,..",
         "with --model: std the inputs were divided by (odin, mahalanobis --eps)", false},
        {"output", 'o', CLI_FLAG_STRING, &output, 0, 0, "SCORES.npy", "scores [n] float32 (higher = more ID)",
         false},
        {"predictions", 0, CLI_FLAG_STRING, &predictions, 0, 0, "P.npy",
         "1 = ID (score >= the detector's threshold), 0 = OOD, uint8 [n]", false},
        {"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print a JSON summary", false},
    };
    int n_flags = (int)(sizeof flags / sizeof flags[0]), n_pos;
    const char *pos[2];
    int rc = cli_parse(cmd, usage, argc, argv, 2, flags, n_flags, pos, 2, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (n_pos != 1) {
        fprintf(stderr, "ebood score: %s\n",
                n_pos ? "give one detector file" : "the detector file is required");
        return CLI_USAGE;
    }
    if (!output) {
        fprintf(stderr, "ebood score: --output is required (see ebood score --help)\n");
        return CLI_USAGE;
    }
    const bool model_mode = model_path != NULL;
    if (model_mode && (features || logits_path)) {
        fprintf(stderr, "ebood score: --model extracts features itself: do not also give --%s\n",
                features ? "features" : "logits");
        return CLI_USAGE;
    }
    if (!model_mode && (data || split_name || input_std || cli_flag_seen(flags, n_flags, "split-seed"))) {
        fprintf(stderr, "ebood score: --%s needs --model\n",
                data         ? "data"
                : split_name ? "split"
                : input_std  ? "input-std"
                             : "split-seed");
        return CLI_USAGE;
    }
    const char *det_path = pos[0];
    eb_error err = {0};
    eb_detector *d = NULL;
    if (eb_detector_load(det_path, &d, &err)) return cli_fail(cmd, &err);
    const char *name = eb_detector_kind_name(eb_detector_kind_of(d));
    const unsigned needs = eb_detector_score_needs(d);
    char needs_buf[128];
    cli_needs_text(needs, needs_buf, sizeof needs_buf);
    int bad = 0;
    if (!model_mode && features && logits_path && !(needs & (EB_NEEDS_INPUTS | EB_NEEDS_MODEL)) &&
        (needs & (EB_NEEDS_FEATURES | EB_NEEDS_LOGITS)) != (EB_NEEDS_FEATURES | EB_NEEDS_LOGITS)) {
        /* both given (one loop over detectors, the same inputs): the one this detector does not read is
         * noted and not read */
        const bool drop_features = !(needs & EB_NEEDS_FEATURES);
        fprintf(stderr, "ebood score: note: --%s: the %s detector does not use them (it needs %s); ignored\n",
                drop_features ? "features" : "logits", name, needs_buf);
        if (drop_features)
            features = NULL;
        else
            logits_path = NULL;
    }
    if (!model_mode) {
        if (needs & (EB_NEEDS_INPUTS | EB_NEEDS_MODEL)) {
            fprintf(stderr,
                    "ebood score: %s: the %s detector needs --model CKPT (it scores inputs through the "
                    "network)\n",
                    det_path, name);
            bad = 1;
        } else if (features && !(needs & EB_NEEDS_FEATURES)) {
            fprintf(stderr, "ebood score: --features: the %s detector does not use them (it needs %s)\n",
                    name, needs_buf);
            bad = 1;
        } else if (logits_path && !(needs & EB_NEEDS_LOGITS)) {
            fprintf(stderr, "ebood score: --logits: the %s detector does not use them (it needs %s)\n", name,
                    needs_buf);
            bad = 1;
        } else if ((needs & EB_NEEDS_FEATURES) && !features) {
            fprintf(stderr, "ebood score: --features is required for %s (or --model)\n", name);
            bad = 1;
        } else if ((needs & EB_NEEDS_LOGITS) && !logits_path) {
            fprintf(stderr, "ebood score: --logits is required for %s (or --model)\n", name);
            bad = 1;
        }
    } else if (input_std && !(needs & EB_NEEDS_INPUTS)) {
        fprintf(stderr, "ebood score: --input-std: the %s detector does not perturb inputs\n", name);
        bad = 1;
    }
    if (!bad && predictions && isnan(eb_detector_threshold(d))) {
        eb_error e = {0};
        eb_error_set(&e, EB_ERR_STATE,
                     "%s: no threshold for --predictions (fit with --val-features/--val-logits or --model)",
                     det_path);
        eb_detector_free(d);
        return cli_fail(cmd, &e);
    }
    if (bad) {
        eb_detector_free(d);
        return CLI_USAGE;
    }

    float *feat = NULL, *logits = NULL, *scores = NULL, std_values[4096];
    uint8_t *is_id = NULL;
    eb_model *model = NULL;
    eb_safetensors *model_file = NULL;
    eb_dataset rows_ds;
    memset(&rows_ds, 0, sizeof rows_ds);
    int default_std = 0;
    eb_detector_data x = {0};
    eb_status st = EB_OK;
    const char *what = features ? features : logits_path;
    if (!model_mode) {
        int64_t rows = 0, cols = 0;
        if (features && !(st = cli_read_matrix(features, false, &feat, &rows, &cols, &err))) {
            x.features = feat;
            x.n = rows;
            x.dim = cols;
            if (cols != eb_detector_dim(d))
                st = eb_error_set(&err, EB_ERR_SHAPE, "%s: %lld features per row, but %s was fitted on %lld",
                                  features, (long long)cols, det_path, (long long)eb_detector_dim(d));
        }
        if (!st && logits_path && !(st = cli_read_matrix(logits_path, false, &logits, &rows, &cols, &err))) {
            if (features && rows != x.n)
                st = eb_error_set(&err, EB_ERR_SHAPE, "%s: %lld rows, but %s has %lld", logits_path,
                                  (long long)rows, features, (long long)x.n);
            x.logits = logits;
            x.n = rows;
            x.n_classes = cols;
            if (!st && cols != eb_detector_n_classes(d))
                st =
                    eb_error_set(&err, EB_ERR_SHAPE, "%s: %lld classes, but %s was fitted on %lld",
                                 logits_path, (long long)cols, det_path, (long long)eb_detector_n_classes(d));
        }
    } else {
        st = eb_model_load_with_file(model_path, NULL, &model, &model_file, &err);
        if (!st && !data) data = eb_safetensors_meta(model_file, "ebood.data");
        if (!st && !data)
            st = eb_error_set(&err, EB_ERR_ARG, "--data is required: %s does not name its training data",
                              model_path);
        if (!st && split_seed < 0) {
            const char *s = eb_safetensors_meta(model_file, "ebood.split_seed");
            split_seed = s ? strtoll(s, NULL, 10) : 0;
        }
        float mean[EB_IMAGE_MAX_CHANNELS], std[EB_IMAGE_MAX_CHANNELS];
        const bool norm = !st && cli_checkpoint_normalization(model_file, mean, std, EB_IMAGE_MAX_CHANNELS);
        if (!st)
            st = cli_load_rows(data, split_name ? split_name : "test", (uint64_t)split_seed, model_file,
                               norm ? mean : NULL, norm ? std : NULL, &rows_ds, &err);
        const eb_dataset *rows = &rows_ds;
        if (!st && !input_std && norm && model->kind != EB_MODEL_MLP) {
            /* images: perturbations are divided by each channel's normalisation std (specs §1) */
            for (int c = 0; c < (int)model->image.channels; c++) std_values[c] = std[c];
            default_std = (int)model->image.channels;
        }
        what = data;
        const bool want_f = (needs & EB_NEEDS_FEATURES) != 0;
        if (!st) st = cli_extract(model, model_path, rows, data, &logits, want_f ? &feat : NULL, &err);
        if (!st) {
            x = (eb_detector_data){.n = rows->n,
                                   .features = feat,
                                   .dim = eb_model_feature_dim(model),
                                   .logits = logits,
                                   .n_classes = eb_model_out_dim(model),
                                   .inputs = rows->x,
                                   .input_dim = rows->dim,
                                   .model = model};
            if (want_f && x.dim != eb_detector_dim(d))
                st = eb_error_set(&err, EB_ERR_SHAPE,
                                  "%s: %lld penultimate features, but %s was fitted on %lld", model_path,
                                  (long long)x.dim, det_path, (long long)eb_detector_dim(d));
        }
        int n_std = 0;
        if (!st && default_std) {
            x.input_std = std_values;
            x.n_input_std = default_std;
        }
        if (!st && input_std) {
            if (!cli_parse_float_list(cmd, "input-std", input_std, std_values, 4096, &n_std))
                st = eb_error_set(&err, EB_ERR_ARG, "--input-std: bad list");
            else {
                x.input_std = std_values;
                x.n_input_std = n_std;
            }
        }
    }
    if (!st) {
        scores = malloc((size_t)(x.n > 0 ? x.n : 1) * sizeof *scores);
        is_id = malloc((size_t)(x.n > 0 ? x.n : 1));
        if (!scores || !is_id) st = eb_error_set(&err, EB_ERR_NOMEM, "out of memory");
    }
    const bool calibrated = !isnan(eb_detector_threshold(d));
    bool data_error = false;
    if (!st)
        data_error = (st = calibrated ? eb_detector_predict(d, &x, scores, is_id, &err)
                                      : eb_detector_score(d, &x, scores, &err)) != EB_OK;
    if (!st) st = eb_npy_write(output, EB_DTYPE_F32, 1, (int64_t[]){x.n}, scores, &err);
    if (!st && predictions) {
        st = eb_npy_write(predictions, EB_DTYPE_U8, 1, (int64_t[]){x.n}, is_id, &err);
        if (st) remove(output); /* all outputs or none */
    }
    if (!st) {
        double mean = 0.0, lo = INFINITY, hi = -INFINITY;
        int64_t n_id = 0;
        for (int64_t i = 0; i < x.n; i++) {
            mean += (double)scores[i] / (double)x.n;
            lo = fmin(lo, (double)scores[i]);
            hi = fmax(hi, (double)scores[i]);
            if (calibrated) n_id += is_id[i];
        }
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "detector", name);
            cJSON_AddStringToObject(o, "output", output);
            cJSON_AddNumberToObject(o, "n", (double)x.n);
            cJSON_AddNumberToObject(o, "mean", mean);
            cJSON_AddNumberToObject(o, "min", lo);
            cJSON_AddNumberToObject(o, "max", hi);
            if (calibrated) {
                cJSON_AddNumberToObject(o, "threshold", eb_detector_threshold(d));
                cJSON_AddNumberToObject(o, "n_id", (double)n_id);
            } else {
                cJSON_AddNullToObject(o, "threshold");
                cJSON_AddNullToObject(o, "n_id");
            }
            char *text = cJSON_Print(o);
            printf("%s\n", text);
            free(text);
            cJSON_Delete(o);
        } else {
            printf("scored %lld samples of %s with %s: mean %.6g, min %.6g, max %.6g\n", (long long)x.n, what,
                   name, mean, lo, hi);
            if (calibrated)
                printf("%lld of %lld (%.1f%%) are ID at threshold %.6g\n", (long long)n_id, (long long)x.n,
                       x.n ? 100.0 * (double)n_id / (double)x.n : 0.0, eb_detector_threshold(d));
            printf("wrote %s%s%s\n", output, predictions ? " and " : "", predictions ? predictions : "");
        }
    }
    free(feat);
    free(logits);
    free(scores);
    free(is_id);
    eb_model_free(model);
    eb_safetensors_free(model_file);
    eb_dataset_free(&rows_ds);
    eb_detector_free(d);
    return !st ? CLI_OK : data_error ? cli_fail_data(cmd, &err) : cli_fail(cmd, &err);
}
