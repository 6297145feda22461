/* ebood fit: fit a post-hoc detector on ID training data (feature/logit files, or a checkpoint +
 * its data), optionally calibrate its threshold on ID validation data, write a detector file. */
#include "cli/cli_detector_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage =
    "--detector NAME [--temperature T|--eps E|--k K|--beta B|--shrinkage S|--tpr P|--prior NAME|--ridge R|"
    "--ebm-*|--sgld-*] "
    "(--features F.npy [--labels L.npy] [--logits G.npy] [--aux-features A.npy] [--val-features V.npy] "
    "[--val-logits VG.npy] | --model CKPT [--data NAME|FILE] [--val-data FILE] [--aux-data FILE]) -o DET";

/* Everything fit reads, owned. */
typedef struct fit_inputs {
    float *train_f, *train_l, *val_f, *val_l, *aux_f;
    int32_t *labels;
    eb_detector_data train, val;
    bool has_val;
    eb_model *model;
    eb_safetensors *model_file;
    eb_dataset train_rows, val_rows, aux_rows;
    float input_std[4096];
} fit_inputs;

static void fit_inputs_free(fit_inputs *in) {
    free(in->train_f);
    free(in->train_l);
    free(in->val_f);
    free(in->val_l);
    free(in->aux_f);
    free(in->labels);
    eb_model_free(in->model);
    eb_safetensors_free(in->model_file);
    eb_dataset_free(&in->train_rows);
    eb_dataset_free(&in->val_rows);
    eb_dataset_free(&in->aux_rows);
}

/* Rows of a second file must match the first. */
static eb_status same_rows(const char *a, int64_t na, const char *b, int64_t nb, eb_error *err) {
    if (na == nb) return EB_OK;
    return eb_error_set(err, EB_ERR_SHAPE, "%s: %lld rows, but %s has %lld", b, (long long)nb, a,
                        (long long)na);
}

typedef struct file_flags {
    const char *features, *labels, *logits, *aux, *val_features, *val_logits;
    int64_t n_classes;
} file_flags;

/* File mode: reads what the flags name (their use was checked by the caller). */
static eb_status read_files(const file_flags *ff, unsigned needs, fit_inputs *in, eb_error *err) {
    eb_detector_data *t = &in->train, *v = &in->val;
    int64_t rows = 0, cols = 0, n = 0;
    const char *first = NULL;
    eb_status st = EB_OK;
    if (ff->features && !(st = cli_read_matrix(ff->features, false, &in->train_f, &rows, &cols, err))) {
        t->features = in->train_f;
        t->n = rows;
        t->dim = cols;
        first = ff->features;
    }
    if (!st && ff->logits && !(st = cli_read_matrix(ff->logits, false, &in->train_l, &rows, &cols, err))) {
        if (first) st = same_rows(first, t->n, ff->logits, rows, err);
        t->logits = in->train_l;
        t->n = rows;
        t->n_classes = cols;
        if (!first) first = ff->logits;
        if (!st && ff->n_classes && ff->n_classes != cols)
            st = eb_error_set(err, EB_ERR_SHAPE, "%s: %lld classes, but --n-classes is %lld", ff->logits,
                              (long long)cols, (long long)ff->n_classes);
    }
    if (!st && ff->labels && !(st = cli_read_labels(ff->labels, &in->labels, &n, err))) {
        if (first) st = same_rows(first, t->n, ff->labels, n, err);
        t->labels = in->labels;
        if (!t->n_classes) {
            int32_t max = 0;
            for (int64_t i = 0; i < n; i++) max = in->labels[i] > max ? in->labels[i] : max;
            t->n_classes = ff->n_classes ? ff->n_classes : (int64_t)max + 1;
        }
        for (int64_t i = 0; !st && i < n; i++)
            if (in->labels[i] >= t->n_classes)
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: label [%lld] = %d outside [0, %lld) (%s)",
                                  ff->labels, (long long)i, (int)in->labels[i], (long long)t->n_classes,
                                  ff->logits ? "the logits' classes" : "--n-classes");
    }
    if (!st && ff->labels && (needs & EB_NEEDS_LABELS)) {
        int64_t *count = calloc((size_t)t->n_classes, sizeof *count);
        if (!count) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", ff->labels);
        for (int64_t i = 0; i < n; i++) count[in->labels[i]]++;
        for (int64_t c = 0; c < t->n_classes && !st; c++)
            if (!count[c])
                st = eb_error_set(err, EB_ERR_FORMAT,
                                  "%s: class %lld has no samples (every one of the %lld classes needs some)",
                                  ff->labels, (long long)c, (long long)t->n_classes);
        free(count);
    }
    if (!st && ff->aux && !(st = cli_read_matrix(ff->aux, false, &in->aux_f, &rows, &cols, err))) {
        t->aux_features = in->aux_f;
        t->n_aux = rows;
        if (cols != t->dim)
            st = eb_error_set(err, EB_ERR_SHAPE, "%s: %lld features per row, but %s has %lld", ff->aux,
                              (long long)cols, ff->features, (long long)t->dim);
    }
    first = NULL;
    if (!st && ff->val_features &&
        !(st = cli_read_matrix(ff->val_features, false, &in->val_f, &rows, &cols, err))) {
        in->has_val = true;
        v->features = in->val_f;
        v->n = rows;
        v->dim = cols;
        first = ff->val_features;
        if (cols != t->dim)
            st = eb_error_set(err, EB_ERR_SHAPE, "%s: %lld features per row, but %s has %lld",
                              ff->val_features, (long long)cols, ff->features, (long long)t->dim);
    }
    if (!st && ff->val_logits &&
        !(st = cli_read_matrix(ff->val_logits, false, &in->val_l, &rows, &cols, err))) {
        if (first) st = same_rows(first, v->n, ff->val_logits, rows, err);
        in->has_val = true;
        v->logits = in->val_l;
        v->n = rows;
        v->n_classes = cols;
        if (!st && cols != t->n_classes)
            st = eb_error_set(err, EB_ERR_SHAPE, "%s: %lld classes, but %s has %lld", ff->val_logits,
                              (long long)cols, ff->logits, (long long)t->n_classes);
    }
    return st;
}

typedef struct model_flags {
    const char *model, *data, *val_data, *aux_data, *input_std;
    int64_t split_seed;
} model_flags;

/* A built-in dataset (its own train/val split) rather than a file. */
static bool builtin_spec(const char *spec) { return strcmp(spec, "segment") == 0 || cli_is_image_spec(spec); }

/* Model mode: the checkpoint; the train (and val) rows of its data in the model's input space
 * (images normalised as the checkpoint records); their features/logits. */
static eb_status read_model(const char *cmd, const model_flags *mf, unsigned fit_needs, unsigned score_needs,
                            fit_inputs *in, const char **data_used, eb_error *err) {
    eb_status st = eb_model_load_with_file(mf->model, NULL, &in->model, &in->model_file, err);
    if (st) return st;
    const char *data = mf->data ? mf->data : eb_safetensors_meta(in->model_file, "ebood.data");
    *data_used = data;
    if (!data)
        return eb_error_set(err, EB_ERR_ARG, "--data is required: %s does not name its training data",
                            mf->model);
    int64_t split_seed = mf->split_seed;
    if (split_seed < 0) {
        const char *s = eb_safetensors_meta(in->model_file, "ebood.split_seed");
        split_seed = s ? strtoll(s, NULL, 10) : 0;
    }
    float mean[EB_IMAGE_MAX_CHANNELS], std[EB_IMAGE_MAX_CHANNELS];
    const bool norm = cli_checkpoint_normalization(in->model_file, mean, std, EB_IMAGE_MAX_CHANNELS);
    const float *m = norm ? mean : NULL, *sd = norm ? std : NULL;
    const bool own_val = builtin_spec(data) || cli_tabular_has_val(in->model_file, data);
    if (own_val && mf->val_data)
        return eb_error_set(err, EB_ERR_ARG, "--val-data: %s already has a validation split", data);
    if (mf->val_data && builtin_spec(mf->val_data))
        return eb_error_set(err, EB_ERR_ARG, "--val-data: '%s' must be a file", mf->val_data);
    if (mf->aux_data && builtin_spec(mf->aux_data))
        return eb_error_set(err, EB_ERR_ARG, "--aux-data: '%s' must be a file", mf->aux_data);
    if ((st =
             cli_load_rows(data, "train", (uint64_t)split_seed, in->model_file, m, sd, &in->train_rows, err)))
        return st;
    const eb_dataset *train = &in->train_rows, *val = NULL;
    if (!train->y) return eb_error_set(err, EB_ERR_FORMAT, "%s: no labels", data);
    if (own_val) {
        if ((st =
                 cli_load_rows(data, "val", (uint64_t)split_seed, in->model_file, m, sd, &in->val_rows, err)))
            return st;
        val = &in->val_rows;
    } else if (mf->val_data) {
        if ((st = cli_load_rows(mf->val_data, "test", 0, in->model_file, m, sd, &in->val_rows, err)))
            return st;
        val = &in->val_rows;
    }
    const eb_dataset *all[2] = {train, val};
    for (int i = 0; i < 2; i++)
        if (all[i] && all[i]->dim != eb_model_in_dim(in->model))
            return eb_error_set(err, EB_ERR_SHAPE, "%s: the model expects %lld features, %s has %lld",
                                mf->model, (long long)eb_model_in_dim(in->model),
                                i ? (mf->val_data ? mf->val_data : data) : data, (long long)all[i]->dim);
    /* one forward pass over the rows, only if fit reads its outputs (odin reads the model alone) */
    if ((fit_needs & (EB_NEEDS_FEATURES | EB_NEEDS_LOGITS)) &&
        (st = cli_extract(in->model, mf->model, train, data, &in->train_l,
                          (fit_needs & EB_NEEDS_FEATURES) ? &in->train_f : NULL, err)))
        return st;
    eb_detector_data *t = &in->train;
    *t = (eb_detector_data){.n = train->n,
                            .features = in->train_f,
                            .dim = eb_model_feature_dim(in->model),
                            .logits = in->train_l,
                            .n_classes = eb_model_out_dim(in->model),
                            .labels = train->y,
                            .inputs = train->x,
                            .input_dim = train->dim,
                            .model = in->model};
    if (train->num_classes > t->n_classes)
        return eb_error_set(err, EB_ERR_SHAPE, "%s: the model has %lld classes, %s has %d", mf->model,
                            (long long)t->n_classes, data, train->num_classes);
    int n_std = 0;
    if (mf->input_std) {
        if (!cli_parse_float_list(cmd, "input-std", mf->input_std, in->input_std, 4096, &n_std))
            return eb_error_set(err, EB_ERR_ARG, "--input-std: bad list");
        if (train->dim % n_std != 0)
            return eb_error_set(err, EB_ERR_ARG, "--input-std: %d values do not divide the %lld inputs",
                                n_std, (long long)train->dim);
    } else if (norm && in->model->kind != EB_MODEL_MLP) {
        /* images: perturbations are divided by the normalisation std of each channel (specs §1) */
        n_std = (int)in->model->image.channels;
        for (int c = 0; c < n_std; c++) in->input_std[c] = std[c];
    }
    if (n_std) {
        t->input_std = in->input_std;
        t->n_input_std = n_std;
    }
    if (mf->aux_data) {
        if ((st = cli_load_rows(mf->aux_data, "test", 0, in->model_file, m, sd, &in->aux_rows, err)))
            return st;
        if ((st = cli_extract(in->model, mf->model, &in->aux_rows, mf->aux_data, NULL, &in->aux_f, err)))
            return st;
        t->aux_features = in->aux_f;
        t->n_aux = in->aux_rows.n;
    }
    if (val) {
        if ((score_needs & (EB_NEEDS_FEATURES | EB_NEEDS_LOGITS)) &&
            (st = cli_extract(in->model, mf->model, val, mf->val_data ? mf->val_data : "the validation split",
                              &in->val_l, (score_needs & EB_NEEDS_FEATURES) ? &in->val_f : NULL, err)))
            return st;
        in->has_val = true;
        in->val = *t;
        in->val.n = val->n;
        in->val.features = in->val_f;
        in->val.logits = in->val_l;
        in->val.labels = NULL;
        in->val.inputs = val->x;
        in->val.aux_features = NULL;
        in->val.n_aux = 0;
    }
    return EB_OK;
}

int cmd_fit(int argc, char **argv) {
    const char *cmd = "fit";
    const char *detector = NULL, *output = NULL;
    file_flags ff = {0};
    model_flags mf = {0};
    mf.split_seed = -1;
    bool json = false;
    cli_detector_flags hv = {0};
    char detector_help[512];
    eb_detector_kind_names(detector_help, sizeof detector_help);
    cli_flag base_flags[] = {
        {"detector", 0, CLI_FLAG_STRING, &detector, 0, 0, "NAME", detector_help, false},
        {"features", 0, CLI_FLAG_STRING, &ff.features, 0, 0, "F.npy",
         "ID training features [n, dim] (float .npy)", false},
        {"labels", 0, CLI_FLAG_STRING, &ff.labels, 0, 0, "L.npy", "their class labels [n] (integer .npy)",
         false},
        {"logits", 0, CLI_FLAG_STRING, &ff.logits, 0, 0, "G.npy", "their logits [n, classes]", false},
        {"n-classes", 0, CLI_FLAG_INT, &ff.n_classes, 1, 1e7, "C",
         "number of classes when there are labels but no logits (default: max label + 1)", false},
        {"aux-features", 0, CLI_FLAG_STRING, &ff.aux, 0, 0, "A.npy",
         "auxiliary outlier features [m, dim] (hopfield_aux)", false},
        {"val-features", 0, CLI_FLAG_STRING, &ff.val_features, 0, 0, "V.npy",
         "ID validation features: calibrate the threshold", false},
        {"val-logits", 0, CLI_FLAG_STRING, &ff.val_logits, 0, 0, "VG.npy",
         "ID validation logits: calibrate the threshold", false},
        {"model", 0, CLI_FLAG_STRING, &mf.model, 0, 0, "CKPT",
         "extract features/logits with this checkpoint instead of reading files", false},
        {"data", 0, CLI_FLAG_STRING, &mf.data, 0, 0, "NAME|FILE",
         "with --model: segment, fmnist, cifar10:DIR, ... (train split; the val split calibrates) or an "
         ".arff/.csv file (default: the checkpoint's)",
         false},
        {"split-seed", 0, CLI_FLAG_INT, &mf.split_seed, 0, 9.2e18, "N",
         "with --model: split of a built-in dataset (default: the checkpoint's)", false},
        {"val-data", 0, CLI_FLAG_STRING, &mf.val_data, 0, 0, "FILE",
         "with --model and a data file: ID validation rows (.arff/.csv)", false},
        {"aux-data", 0, CLI_FLAG_STRING, &mf.aux_data, 0, 0, "FILE",
         "with --model: auxiliary outlier rows (.arff/.csv; hopfield_aux)", false},
        {"input-std", 0, CLI_FLAG_STRING, &mf.input_std, 0, 0, "S1,S2,..",
         "with --model: std the inputs were divided by, per input or per channel (odin, mahalanobis --eps; "
         "default: the checkpoint's image normalisation, else 1)",
         false},
        {"output", 'o', CLI_FLAG_STRING, &output, 0, 0, "DET",
         "detector file to write (.safetensors, atomic)", false},
        {"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print a JSON summary", false},
    };
    enum { N_BASE = (int)(sizeof base_flags / sizeof base_flags[0]) };
    cli_flag flags[N_BASE + CLI_DETECTOR_MAX_FLAGS];
    memcpy(flags, base_flags, sizeof base_flags);
    const int n = N_BASE + cli_detector_flag_rows(&hv, true, flags + N_BASE);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, usage, argc, argv, 2, flags, n, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!detector || !output) {
        fprintf(stderr, "ebood fit: --%s is required (see ebood fit --help)\n",
                !detector ? "detector" : "output");
        return CLI_USAGE;
    }
    eb_error err = {0};
    eb_detector_kind kind;
    if (eb_detector_kind_parse(detector, &kind, &err)) {
        fprintf(stderr, "ebood fit: --detector: %s\n", err.message);
        return CLI_USAGE;
    }
    eb_detector_params params;
    if (!cli_detector_params(cmd, flags, n, &hv, &kind, 1, &params)) return CLI_USAGE;
    eb_detector *d = NULL;
    if (eb_detector_new(kind, &params, &d, &err)) return cli_fail(cmd, &err);
    const unsigned fit_needs = eb_detector_fit_needs(d), score_needs = eb_detector_score_needs(d);
    const unsigned all_needs = fit_needs | score_needs;
    char needs_buf[128];
    cli_needs_text(fit_needs, needs_buf, sizeof needs_buf);

    /* which flags make sense: strict, one line per problem */
    const bool file_mode = ff.features || ff.labels || ff.logits || ff.aux || ff.val_features ||
                           ff.val_logits || cli_flag_seen(flags, n, "n-classes");
    const bool model_mode = mf.model != NULL;
    int bad = 0;
    if (file_mode && model_mode) {
        fprintf(stderr,
                "ebood fit: --model extracts features itself: do not also give feature/logit files\n");
        bad = 1;
    } else if (!file_mode && !model_mode) {
        fprintf(stderr, "ebood fit: give --model CKPT or the files %s needs (%s)\n", detector, needs_buf);
        bad = 1;
    } else if (model_mode) {
        if (mf.aux_data && !(fit_needs & EB_NEEDS_AUX)) {
            fprintf(stderr, "ebood fit: --aux-data: the %s detector uses no auxiliary data\n", detector);
            bad = 1;
        } else if (!mf.aux_data && (fit_needs & EB_NEEDS_AUX)) {
            fprintf(stderr, "ebood fit: --aux-data is required for %s\n", detector);
            bad = 1;
        } else if (mf.input_std && !(score_needs & EB_NEEDS_INPUTS)) {
            fprintf(stderr,
                    "ebood fit: --input-std: the %s detector does not perturb inputs (odin does, and "
                    "mahalanobis/ssd with --eps > 0)\n",
                    detector);
            bad = 1;
        }
    } else {
        if (fit_needs & EB_NEEDS_MODEL) {
            fprintf(stderr, "ebood fit: %s needs --model CKPT (%s)\n", detector,
                    (score_needs & EB_NEEDS_MODEL) ? "it runs the network on the inputs"
                                                   : "its fit reads the classifier's last layer");
            bad = 1;
        } else if ((score_needs & EB_NEEDS_MODEL) && (ff.val_features || ff.val_logits)) {
            fprintf(
                stderr,
                "ebood fit: --val-features: %s with --eps > 0 scores inputs through the network: calibrate "
                "with --model\n",
                detector);
            bad = 1;
        } else {
            static const struct {
                const char *flag;
                unsigned bit;
                bool val;
            } file_needs[] = {
                {"features", EB_NEEDS_FEATURES, false},    {"logits", EB_NEEDS_LOGITS, false},
                {"labels", EB_NEEDS_LABELS, false},        {"aux-features", EB_NEEDS_AUX, false},
                {"val-features", EB_NEEDS_FEATURES, true}, {"val-logits", EB_NEEDS_LOGITS, true}};
            const char **given[] = {&ff.features, &ff.logits,       &ff.labels,
                                    &ff.aux,      &ff.val_features, &ff.val_logits};
            for (int i = 0; i < 6 && !bad; i++) {
                const unsigned have = file_needs[i].val ? score_needs : all_needs;
                if (*given[i] && !(have & file_needs[i].bit)) {
                    /* data a method does not read is not an error (scikit-learn's and PyOD's `y`): one script
                     * can give every detector the same inputs. Not read, so not checked. */
                    fprintf(stderr,
                            "ebood fit: note: --%s: the %s detector does not use it (it needs %s); ignored\n",
                            file_needs[i].flag, detector, needs_buf);
                    *given[i] = NULL;
                } else if (!*given[i] && !file_needs[i].val && (fit_needs & file_needs[i].bit)) {
                    fprintf(stderr, "ebood fit: --%s is required for %s (it needs %s)\n", file_needs[i].flag,
                            detector, needs_buf);
                    bad = 1;
                }
            }
            if (!bad && (ff.val_features || ff.val_logits)) {
                if ((score_needs & EB_NEEDS_FEATURES) && !ff.val_features) {
                    fprintf(stderr, "ebood fit: --val-features is required to calibrate %s\n", detector);
                    bad = 1;
                } else if ((score_needs & EB_NEEDS_LOGITS) && !ff.val_logits) {
                    fprintf(stderr, "ebood fit: --val-logits is required to calibrate %s\n", detector);
                    bad = 1;
                }
            }
            if (!bad && cli_flag_seen(flags, n, "n-classes") && !(fit_needs & EB_NEEDS_LABELS)) {
                fprintf(stderr, "ebood fit: --n-classes: the %s detector uses no labels\n", detector);
                bad = 1;
            }
        }
    }
    if (!bad && !model_mode) {
        const char *model_only[] = {mf.data, mf.val_data, mf.aux_data, mf.input_std};
        const char *names[] = {"data", "val-data", "aux-data", "input-std"};
        for (int i = 0; i < 4 && !bad; i++)
            if (model_only[i]) {
                fprintf(stderr, "ebood fit: --%s needs --model\n", names[i]);
                bad = 1;
            }
        if (!bad && cli_flag_seen(flags, n, "split-seed")) {
            fprintf(stderr, "ebood fit: --split-seed needs --model\n");
            bad = 1;
        }
    }
    if (bad) {
        eb_detector_free(d);
        return CLI_USAGE;
    }

    fit_inputs in;
    memset(&in, 0, sizeof in);
    const char *data_used = NULL;
    eb_status st = model_mode ? read_model(cmd, &mf, fit_needs, score_needs, &in, &data_used, &err)
                              : read_files(&ff, all_needs, &in, &err);
    bool data_error = false;
    if (!st) data_error = (st = eb_detector_fit(d, &in.train, in.has_val ? &in.val : NULL, &err)) != EB_OK;
    if (!st) {
        cJSON *src = cJSON_CreateObject();
        if (model_mode) {
            cJSON_AddStringToObject(src, "model", mf.model);
            cJSON_AddStringToObject(src, "data", data_used);
            if (mf.val_data) cJSON_AddStringToObject(src, "val_data", mf.val_data);
            if (mf.aux_data) cJSON_AddStringToObject(src, "aux_data", mf.aux_data);
        } else {
            const char *keys[] = {"features",     "labels",       "logits",
                                  "aux_features", "val_features", "val_logits"};
            const char *vals[] = {ff.features, ff.labels, ff.logits, ff.aux, ff.val_features, ff.val_logits};
            for (int i = 0; i < 6; i++)
                if (vals[i]) cJSON_AddStringToObject(src, keys[i], vals[i]);
        }
        cJSON_AddNumberToObject(src, "n_train", (double)in.train.n);
        cJSON_AddNumberToObject(src, "n_val", in.has_val ? (double)in.val.n : 0.0);
        char *src_s = cJSON_PrintUnformatted(src);
        cJSON_Delete(src);
        const eb_st_meta meta[] = {{"ebood.fit_inputs", src_s ? src_s : "{}"}};
        st = eb_detector_save(d, output, meta, 1, &err);
        free(src_s);
    }
    if (!st) {
        const double t = eb_detector_threshold(d);
        if (eb_detector_note(d)[0]) fprintf(stderr, "ebood fit: note: %s\n", eb_detector_note(d));
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "detector", detector);
            cJSON_AddStringToObject(o, "output", output);
            cJSON_AddNumberToObject(o, "n_train", (double)in.train.n);
            cJSON_AddNumberToObject(o, "dim", (double)eb_detector_dim(d));
            cJSON_AddNumberToObject(o, "n_classes", (double)eb_detector_n_classes(d));
            if (in.has_val) {
                cJSON_AddNumberToObject(o, "n_val", (double)in.val.n);
                cJSON_AddNumberToObject(o, "threshold", t);
                cJSON_AddNumberToObject(o, "tpr", eb_detector_get_params(d)->tpr);
            } else {
                cJSON_AddNullToObject(o, "threshold");
            }
            cJSON_AddStringToObject(o, "note", eb_detector_note(d));
            char *text = cJSON_Print(o);
            printf("%s\n", text);
            free(text);
            cJSON_Delete(o);
        } else {
            printf("fitted %s on %lld ID samples", detector, (long long)in.train.n);
            if (eb_detector_dim(d)) printf(" (dim %lld)", (long long)eb_detector_dim(d));
            if (in.has_val)
                printf("; threshold %.6g keeps %.1f%% of %lld ID validation samples", t,
                       100.0 * eb_detector_get_params(d)->tpr, (long long)in.val.n);
            printf("\nwrote %s\n", output);
        }
    }
    fit_inputs_free(&in);
    eb_detector_free(d);
    return !st ? CLI_OK : data_error ? cli_fail_data(cmd, &err) : cli_fail(cmd, &err);
}
