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
    "[--val-logits VG.npy] | --model CKPT [--data NAME|FILE] [--val-data FILE] [--aux-data FILE] | "
    "--data toy:cross|toy:crosses|FILE (the rows as features)) -o DET";

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
    eb_detector_inputs rows; /* model mode: what eb_detector_fit_inputs runs on */
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

/* Rows mode (--data without --model): the train split's rows themselves are the features, with their
 * labels — HEAT's 2-D toys (gmm / heat --no-normalize, drawn by ebood landscape --detector). */
static eb_status read_rows(const model_flags *mf, fit_inputs *in, eb_error *err) {
    eb_status st = cli_load_rows(mf->data, "train", (uint64_t)(mf->split_seed < 0 ? 0 : mf->split_seed), NULL,
                                 NULL, NULL, NULL, &in->train_rows, err);
    if (st) return st;
    const eb_dataset *r = &in->train_rows;
    in->train = (eb_detector_data){
        .n = r->n, .features = r->x, .dim = r->dim, .labels = r->y, .n_classes = r->y ? r->num_classes : 0};
    return EB_OK;
}

/* A built-in dataset (its own train/val split) rather than a file. */
static bool builtin_spec(const char *spec) { return strcmp(spec, "segment") == 0 || cli_is_image_spec(spec); }

/* The --input-std list, or the checkpoint's image normalisation std per channel; the count. */
static eb_status input_std(const char *cmd, const model_flags *mf, const fit_inputs *in,
                           const float *norm_std, float *out, int *n_std, eb_error *err) {
    *n_std = 0;
    if (mf->input_std) {
        if (!cli_parse_float_list(cmd, "input-std", mf->input_std, out, 4096, n_std))
            return eb_error_set(err, EB_ERR_ARG, "--input-std: bad list");
        if (in->train_rows.dim % *n_std != 0)
            return eb_error_set(err, EB_ERR_ARG, "--input-std: %d values do not divide the %lld inputs",
                                *n_std, (long long)in->train_rows.dim);
    } else if (norm_std && in->model->kind != EB_MODEL_MLP) {
        /* images: perturbations are divided by the normalisation std of each channel (specs §1) */
        *n_std = (int)in->model->image.channels;
        for (int c = 0; c < *n_std; c++) out[c] = norm_std[c];
    }
    return EB_OK;
}

/* Model mode: the checkpoint; the train (and val, aux) rows of its data in the model's input space
 * (images normalised as the checkpoint records), checked against the model, into in->rows. */
static eb_status read_model(const char *cmd, const model_flags *mf, fit_inputs *in, const char **data_used,
                            eb_error *err) {
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
    /* a file, or an image set (all of its images: a folder:DIR, a rendered set, a dataset's test split) */
    if (mf->aux_data && strcmp(mf->aux_data, "segment") == 0)
        return eb_error_set(err, EB_ERR_ARG, "--aux-data: '%s' must be a file or an image set", mf->aux_data);
    if ((st = cli_load_rows(data, "train", (uint64_t)split_seed, in->model, in->model_file, m, sd,
                            &in->train_rows, err)))
        return st;
    const eb_dataset *train = &in->train_rows, *val = NULL;
    if (!train->y) return eb_error_set(err, EB_ERR_FORMAT, "%s: no labels", data);
    if (own_val || mf->val_data) {
        st = own_val ? cli_load_rows(data, "val", (uint64_t)split_seed, in->model, in->model_file, m, sd,
                                     &in->val_rows, err)
                     : cli_load_rows(mf->val_data, "test", 0, in->model, in->model_file, m, sd, &in->val_rows,
                                     err);
        if (st) return st;
        val = &in->val_rows;
    }
    if (mf->aux_data &&
        (st = cli_load_rows(mf->aux_data, "test", 0, in->model, in->model_file, m, sd, &in->aux_rows, err)))
        return st;
    const eb_dataset *all[3] = {train, val, mf->aux_data ? &in->aux_rows : NULL};
    const char *names[3] = {data, mf->val_data ? mf->val_data : data, mf->aux_data};
    for (int i = 0; i < 3; i++)
        if (all[i] && all[i]->dim != eb_model_in_dim(in->model))
            return eb_error_set(err, EB_ERR_SHAPE, "%s: the model expects %lld features, %s has %lld",
                                mf->model, (long long)eb_model_in_dim(in->model), names[i],
                                (long long)all[i]->dim);
    if (train->num_classes > eb_model_out_dim(in->model))
        return eb_error_set(err, EB_ERR_SHAPE, "%s: the model has %lld classes, %s has %d", mf->model,
                            (long long)eb_model_out_dim(in->model), data, train->num_classes);
    int n_std = 0;
    if ((st = input_std(cmd, mf, in, norm ? std : NULL, in->input_std, &n_std, err))) return st;
    in->rows = (eb_detector_inputs){.model = in->model,
                                    .x = train->x,
                                    .labels = train->y,
                                    .n = train->n,
                                    .val_x = val ? val->x : NULL,
                                    .n_val = val ? val->n : 0,
                                    .aux_x = mf->aux_data ? in->aux_rows.x : NULL,
                                    .n_aux = mf->aux_data ? in->aux_rows.n : 0,
                                    .input_std = n_std ? in->input_std : NULL,
                                    .n_input_std = n_std,
                                    .batch = 1024};
    in->train.n = train->n;
    in->has_val = val != NULL;
    in->val.n = val ? val->n : 0;
    return EB_OK;
}

/* The command line. */
typedef struct fit_args {
    const char *detector, *output;
    file_flags ff;
    model_flags mf;
    bool json;
    int ranks; /* processes under mpirun (1 otherwise) */
    cli_detector_flags hv;
    char detector_help[512];
} fit_args;

static int fit_flags(fit_args *a, cli_flag *flags) {
    eb_detector_kind_names(a->detector_help, sizeof a->detector_help);
    file_flags *ff = &a->ff;
    model_flags *mf = &a->mf;
    const cli_flag base[] = {
        {"detector", 0, CLI_FLAG_STRING, &a->detector, 0, 0, "NAME", a->detector_help, false},
        {"features", 0, CLI_FLAG_STRING, &ff->features, 0, 0, "F.npy",
         "ID training features [n, dim] (float .npy)", false},
        {"labels", 0, CLI_FLAG_STRING, &ff->labels, 0, 0, "L.npy", "their class labels [n] (integer .npy)",
         false},
        {"logits", 0, CLI_FLAG_STRING, &ff->logits, 0, 0, "G.npy", "their logits [n, classes]", false},
        {"n-classes", 0, CLI_FLAG_INT, &ff->n_classes, 1, 1e7, "C",
         "number of classes when there are labels but no logits (default: max label + 1)", false},
        {"aux-features", 0, CLI_FLAG_STRING, &ff->aux, 0, 0, "A.npy",
         "auxiliary outlier features [m, dim] (hopfield_aux)", false},
        {"val-features", 0, CLI_FLAG_STRING, &ff->val_features, 0, 0, "V.npy",
         "ID validation features: calibrate the threshold", false},
        {"val-logits", 0, CLI_FLAG_STRING, &ff->val_logits, 0, 0, "VG.npy",
         "ID validation logits: calibrate the threshold", false},
        CLI_MODEL_FLAG(&mf->model, "CKPT",
                       "extract features/logits with this checkpoint instead of reading files"),
        CLI_DATA_FLAG(&mf->data,
                      "with --model: segment, fmnist, cifar10:DIR, ... (train split; the val split "
                      "calibrates) or an .arff/.csv file (default: the checkpoint's); without: the train "
                      "rows themselves are the features (toy:cross, toy:crosses, a labelled .csv/.arff)"),
        CLI_SPLIT_SEED_FLAG(&mf->split_seed,
                            "with --model: split of a built-in dataset (default: the checkpoint's)"),
        {"val-data", 0, CLI_FLAG_STRING, &mf->val_data, 0, 0, "FILE",
         "with --model and a data file: ID validation rows (.arff/.csv)", false},
        {"aux-data", 0, CLI_FLAG_STRING, &mf->aux_data, 0, 0, "FILE",
         "with --model: auxiliary outlier rows (.arff/.csv; image models: folder:DIR, a rendered set; "
         "hopfield_aux)",
         false},
        {"input-std", 0, CLI_FLAG_STRING, &mf->input_std, 0, 0, "S1,S2,..",
         "with --model: std the inputs were divided by, per input or per channel (odin, mahalanobis --eps; "
         "default: the checkpoint's image normalisation, else 1)",
         false},
        CLI_OUTPUT_FLAG(&a->output, "DET", "detector file to write (.safetensors, atomic)"),
        CLI_JSON_FLAG(&a->json, "print a JSON summary"),
    };
    const int n_base = (int)(sizeof base / sizeof base[0]);
    memcpy(flags, base, sizeof base);
    return n_base + cli_detector_flag_rows(&a->hv, true, flags + n_base);
}

/* File mode: the files against what the detector reads. Notes (and drops) a file it does not read; returns
 * false after printing a problem. */
static bool check_files(fit_args *a, const cli_flag *flags, int n, unsigned fit_needs, unsigned score_needs,
                        const char *needs_buf) {
    file_flags *ff = &a->ff;
    const char *det = a->detector;
    if (fit_needs & EB_NEEDS_MODEL) {
        fprintf(stderr, "ebood fit: %s needs --model CKPT (%s)\n", det,
                (score_needs & EB_NEEDS_MODEL) ? "it runs the network on the inputs"
                                               : "its fit reads the classifier's last layer");
        return false;
    }
    if ((score_needs & EB_NEEDS_MODEL) && (ff->val_features || ff->val_logits)) {
        fprintf(stderr,
                "ebood fit: --val-features: %s with --eps > 0 scores inputs through the network: calibrate "
                "with --model\n",
                det);
        return false;
    }
    static const struct {
        const char *flag;
        unsigned bit;
        bool val;
    } file_needs[] = {{"features", EB_NEEDS_FEATURES, false},    {"logits", EB_NEEDS_LOGITS, false},
                      {"labels", EB_NEEDS_LABELS, false},        {"aux-features", EB_NEEDS_AUX, false},
                      {"val-features", EB_NEEDS_FEATURES, true}, {"val-logits", EB_NEEDS_LOGITS, true}};
    const char **given[] = {&ff->features, &ff->logits,       &ff->labels,
                            &ff->aux,      &ff->val_features, &ff->val_logits};
    for (int i = 0; i < 6; i++) {
        const unsigned have = file_needs[i].val ? score_needs : fit_needs | score_needs;
        if (*given[i] && !(have & file_needs[i].bit)) {
            /* data a method does not read is not an error (scikit-learn's and PyOD's `y`): one script can
             * give every detector the same inputs. Not read, so not checked. */
            fprintf(stderr, "ebood fit: note: --%s: the %s detector does not use it (it needs %s); ignored\n",
                    file_needs[i].flag, det, needs_buf);
            *given[i] = NULL;
        } else if (!*given[i] && !file_needs[i].val && (fit_needs & file_needs[i].bit)) {
            fprintf(stderr, "ebood fit: --%s is required for %s (it needs %s)\n", file_needs[i].flag, det,
                    needs_buf);
            return false;
        }
    }
    const bool val = ff->val_features || ff->val_logits;
    if (val && (score_needs & EB_NEEDS_FEATURES) && !ff->val_features)
        fprintf(stderr, "ebood fit: --val-features is required to calibrate %s\n", det);
    else if (val && (score_needs & EB_NEEDS_LOGITS) && !ff->val_logits)
        fprintf(stderr, "ebood fit: --val-logits is required to calibrate %s\n", det);
    else if (cli_flag_seen(flags, n, "n-classes") && !(fit_needs & EB_NEEDS_LABELS))
        fprintf(stderr, "ebood fit: --n-classes: the %s detector uses no labels\n", det);
    else
        return true;
    return false;
}

/* Which flags make sense together: strict, one line per problem. Returns 0 or CLI_USAGE (printed). */
static int check_flags(fit_args *a, const cli_flag *flags, int n, const eb_detector *d) {
    const file_flags *ff = &a->ff;
    const model_flags *mf = &a->mf;
    const unsigned fit_needs = eb_detector_fit_needs(d), score_needs = eb_detector_score_needs(d);
    char needs_buf[128];
    cli_needs_text(fit_needs, needs_buf, sizeof needs_buf);
    const bool file_mode = ff->features || ff->labels || ff->logits || ff->aux || ff->val_features ||
                           ff->val_logits || cli_flag_seen(flags, n, "n-classes");
    const bool rows_mode = !file_mode && !mf->model && mf->data;
    const char *det = a->detector;
    if (file_mode && mf->model)
        fprintf(stderr,
                "ebood fit: --model extracts features itself: do not also give feature/logit files\n");
    else if (!file_mode && !mf->model && !rows_mode)
        fprintf(stderr, "ebood fit: give --model CKPT or the files %s needs (%s)\n", det, needs_buf);
    else if (rows_mode && ((fit_needs | score_needs) & ~(unsigned)(EB_NEEDS_FEATURES | EB_NEEDS_LABELS)))
        fprintf(stderr,
                "ebood fit: --data without --model fits on the rows themselves; %s needs %s: give --model\n",
                det, needs_buf);
    else if (mf->model && mf->aux_data && !(fit_needs & EB_NEEDS_AUX))
        fprintf(stderr, "ebood fit: --aux-data: the %s detector uses no auxiliary data\n", det);
    else if (mf->model && !mf->aux_data && (fit_needs & EB_NEEDS_AUX))
        fprintf(stderr, "ebood fit: --aux-data is required for %s\n", det);
    else if (mf->model && mf->input_std && !(score_needs & EB_NEEDS_INPUTS))
        fprintf(stderr,
                "ebood fit: --input-std: the %s detector does not perturb inputs (odin does, and "
                "mahalanobis/ssd with --eps > 0)\n",
                det);
    else if (mf->model || rows_mode || check_files(a, flags, n, fit_needs, score_needs, needs_buf)) {
        const char *model_only[] = {rows_mode ? NULL : mf->data, mf->val_data, mf->aux_data, mf->input_std};
        const char *names[] = {"data", "val-data", "aux-data", "input-std"};
        for (int i = 0; i < 4 && !mf->model; i++)
            if (model_only[i]) {
                fprintf(stderr, "ebood fit: --%s needs --model\n", names[i]);
                return CLI_USAGE;
            }
        if (mf->model || rows_mode || !cli_flag_seen(flags, n, "split-seed")) return 0;
        fprintf(stderr, "ebood fit: --split-seed needs --model\n");
    }
    return CLI_USAGE;
}

/* The detector file, with what it was fitted on in "ebood.fit_inputs". */
static eb_status save_detector(const fit_args *a, const fit_inputs *in, const eb_detector *d,
                               const char *data_used, eb_error *err) {
    cJSON *src = cJSON_CreateObject();
    if (a->mf.model) {
        cJSON_AddStringToObject(src, "model", a->mf.model);
        cJSON_AddStringToObject(src, "data", data_used);
        if (a->mf.val_data) cJSON_AddStringToObject(src, "val_data", a->mf.val_data);
        if (a->mf.aux_data) cJSON_AddStringToObject(src, "aux_data", a->mf.aux_data);
    } else if (a->mf.data) { /* rows mode */
        cJSON_AddStringToObject(src, "data", a->mf.data);
    } else {
        const file_flags *ff = &a->ff;
        const char *keys[] = {"features", "labels", "logits", "aux_features", "val_features", "val_logits"};
        const char *vals[] = {ff->features, ff->labels,       ff->logits,
                              ff->aux,      ff->val_features, ff->val_logits};
        for (int i = 0; i < 6; i++)
            if (vals[i]) cJSON_AddStringToObject(src, keys[i], vals[i]);
    }
    cJSON_AddNumberToObject(src, "n_train", (double)in->train.n);
    cJSON_AddNumberToObject(src, "n_val", in->has_val ? (double)in->val.n : 0.0);
    char *src_s = cJSON_PrintUnformatted(src);
    cJSON_Delete(src);
    const eb_st_meta meta[] = {{"ebood.fit_inputs", src_s ? src_s : "{}"}};
    eb_status st = eb_detector_save(d, a->output, meta, 1, err);
    free(src_s);
    return st;
}

static void print_fit_summary(const fit_args *a, const fit_inputs *in, eb_detector *d) {
    const double t = eb_detector_threshold(d);
    if (eb_detector_note(d)[0]) fprintf(stderr, "ebood fit: note: %s\n", eb_detector_note(d));
    if (!a->json) {
        printf("fitted %s on %lld ID samples", a->detector, (long long)in->train.n);
        if (eb_detector_dim(d)) printf(" (dim %lld)", (long long)eb_detector_dim(d));
        if (in->has_val)
            printf("; threshold %.6g keeps %.1f%% of %lld ID validation samples", t,
                   100.0 * eb_detector_get_params(d)->tpr, (long long)in->val.n);
        printf("\nwrote %s\n", a->output);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detector", a->detector);
    cJSON_AddStringToObject(o, "output", a->output);
    cJSON_AddNumberToObject(o, "n_train", (double)in->train.n);
    cJSON_AddNumberToObject(o, "dim", (double)eb_detector_dim(d));
    cJSON_AddNumberToObject(o, "n_classes", (double)eb_detector_n_classes(d));
    if (in->has_val) {
        cJSON_AddNumberToObject(o, "n_val", (double)in->val.n);
        cJSON_AddNumberToObject(o, "threshold", t);
        cJSON_AddNumberToObject(o, "tpr", eb_detector_get_params(d)->tpr);
    } else {
        cJSON_AddNullToObject(o, "threshold");
    }
    cJSON_AddStringToObject(o, "note", eb_detector_note(d));
    cJSON_AddNumberToObject(o, "ranks", (double)a->ranks);
    char *text = cJSON_Print(o);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
}

/* Reads the inputs, fits (one library call: eb_detector_fit_inputs with --model, else eb_detector_fit),
 * saves, prints. */
static int run_fit(const fit_args *a, eb_detector *d, const eb_dist *dist) {
    static fit_inputs in;
    memset(&in, 0, sizeof in);
    eb_error err = {0};
    const char *data_used = NULL;
    const unsigned all_needs = eb_detector_fit_needs(d) | eb_detector_score_needs(d);
    const bool rows_mode = !a->mf.model && a->mf.data;
    eb_status st = a->mf.model ? read_model("fit", &a->mf, &in, &data_used, &err)
                   : rows_mode ? read_rows(&a->mf, &in, &err)
                               : read_files(&a->ff, all_needs, &in, &err);
    bool data_error = false;
    if (!st)
        data_error =
            (st = a->mf.model ? eb_detector_fit_inputs(d, &in.rows, &err)
                              : eb_detector_fit(d, &in.train, in.has_val ? &in.val : NULL, &err)) != EB_OK;
    if (!st && eb_dist_rank(dist) == 0) st = save_detector(a, &in, d, data_used, &err); /* rank 0 writes */
    if (!st) print_fit_summary(a, &in, d);
    fit_inputs_free(&in);
    return !st ? CLI_OK : data_error ? cli_fail_data("fit", &err) : cli_fail("fit", &err);
}

static int fit_run(int argc, char **argv, const eb_dist *dist) {
    static fit_args a;
    memset(&a, 0, sizeof a);
    a.mf.split_seed = -1;
    cli_flag flags[32 + CLI_DETECTOR_MAX_FLAGS];
    const int n = fit_flags(&a, flags);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse("fit", usage, argc, argv, 2, flags, n, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!a.detector || !a.output) {
        fprintf(stderr, "ebood fit: --%s is required (see ebood fit --help)\n",
                !a.detector ? "detector" : "output");
        return CLI_USAGE;
    }
    eb_error err = {0};
    eb_detector_kind kind;
    if (eb_detector_kind_parse(a.detector, &kind, &err)) {
        fprintf(stderr, "ebood fit: --detector: %s\n", err.message);
        return CLI_USAGE;
    }
    eb_detector_params params;
    if (!cli_detector_params("fit", flags, n, &a.hv, &kind, 1, &params)) return CLI_USAGE;
    eb_detector *d = NULL;
    if (eb_detector_new(kind, &params, &d, &err)) return cli_fail("fit", &err);
    eb_detector_distribute(d, dist, false,
                           NULL); /* under mpirun: the calibration splits k-NN/Hopfield banks */
    a.ranks = eb_dist_size(dist);
    rc = check_flags(&a, flags, n, d);
    if (!rc) rc = run_fit(&a, d, dist);
    eb_detector_free(d);
    return rc;
}

int cmd_fit(int argc, char **argv) { return cli_dist_run("fit", argc, argv, fit_run); }
