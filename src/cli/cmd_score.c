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

/* The command line. */
typedef struct score_args {
    const char *features, *logits, *model, *data, *split, *input_std, *output, *predictions, *det_path;
    int64_t split_seed;
    bool json;
    int ranks; /* processes under mpirun (1 otherwise) */
} score_args;

/* What is scored: the rows' features/logits (and inputs), and what owns them. */
typedef struct score_job {
    eb_detector *d;
    const char *name, *what;
    unsigned needs;
    eb_detector_data x;
    float *feat, *logits, *scores, std_values[4096];
    uint8_t *is_id;
    eb_model *model;
    eb_safetensors *model_file;
    eb_dataset rows;
} score_job;

static int score_flags(score_args *a, cli_flag *flags) {
    const cli_flag rows[] = {
        {"features", 0, CLI_FLAG_STRING, &a->features, 0, 0, "X.npy",
         "features to score [n, dim] (float .npy)", false},
        {"logits", 0, CLI_FLAG_STRING, &a->logits, 0, 0, "G.npy", "logits to score [n, classes]", false},
        CLI_MODEL_FLAG(&a->model, "CKPT", "extract features/logits (and inputs) with this checkpoint"),
        CLI_DATA_FLAG(&a->data, "with --model: segment or an .arff/.csv file (default: the checkpoint's)"),
        {"split", 0, CLI_FLAG_STRING, &a->split, 0, 0, "NAME",
         "with --model and a built-in dataset or a split table: train, val, test (default) or ood", false},
        CLI_SPLIT_SEED_FLAG(&a->split_seed,
                            "with --model: split of a built-in dataset (default: the checkpoint's)"),
        {"input-std", 0, CLI_FLAG_STRING, &a->input_std, 0, 0, "S1,S2,..",
         "with --model: std the inputs were divided by (odin, mahalanobis --eps)", false},
        CLI_OUTPUT_FLAG(&a->output, "SCORES.npy", "scores [n] float32 (higher = more ID)"),
        {"predictions", 0, CLI_FLAG_STRING, &a->predictions, 0, 0, "P.npy",
         "1 = ID (score >= the detector's threshold), 0 = OOD, uint8 [n]", false},
        CLI_JSON_FLAG(&a->json, "print a JSON summary"),
    };
    memcpy(flags, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

/* The flags against each other. Returns 0 or CLI_USAGE (printed). */
static int check_flags(const score_args *a, const cli_flag *flags, int n_flags, int n_pos) {
    const char *problem = NULL;
    char buf[128];
    if (n_pos != 1)
        problem = n_pos ? "give one detector file" : "the detector file is required";
    else if (!a->output)
        problem = "--output is required (see ebood score --help)";
    else if (a->model && (a->features || a->logits)) {
        snprintf(buf, sizeof buf, "--model extracts features itself: do not also give --%s",
                 a->features ? "features" : "logits");
        problem = buf;
    } else if (!a->model &&
               (a->data || a->split || a->input_std || cli_flag_seen(flags, n_flags, "split-seed"))) {
        snprintf(buf, sizeof buf, "--%s needs --model",
                 a->data        ? "data"
                 : a->split     ? "split"
                 : a->input_std ? "input-std"
                                : "split-seed");
        problem = buf;
    }
    if (!problem) return 0;
    fprintf(stderr, "ebood score: %s\n", problem);
    return CLI_USAGE;
}

/* What the detector needs against what was given. Returns 0 or an exit code (printed). */
static int check_needs(score_args *a, score_job *job) {
    const unsigned needs = job->needs;
    char nb[128];
    cli_needs_text(needs, nb, sizeof nb);
    if (!a->model && a->features && a->logits && !(needs & (EB_NEEDS_INPUTS | EB_NEEDS_MODEL)) &&
        (needs & (EB_NEEDS_FEATURES | EB_NEEDS_LOGITS)) != (EB_NEEDS_FEATURES | EB_NEEDS_LOGITS)) {
        /* both given (one loop over detectors, the same inputs): the one this detector does not read is
         * noted and not read */
        const bool drop_features = !(needs & EB_NEEDS_FEATURES);
        fprintf(stderr, "ebood score: note: --%s: the %s detector does not use them (it needs %s); ignored\n",
                drop_features ? "features" : "logits", job->name, nb);
        *(drop_features ? &a->features : &a->logits) = NULL;
    }
    if (!a->model) {
        if (needs & (EB_NEEDS_INPUTS | EB_NEEDS_MODEL))
            fprintf(stderr,
                    "ebood score: %s: the %s detector needs --model CKPT (it scores inputs through the "
                    "network)\n",
                    a->det_path, job->name);
        else if (a->features && !(needs & EB_NEEDS_FEATURES))
            fprintf(stderr, "ebood score: --features: the %s detector does not use them (it needs %s)\n",
                    job->name, nb);
        else if (a->logits && !(needs & EB_NEEDS_LOGITS))
            fprintf(stderr, "ebood score: --logits: the %s detector does not use them (it needs %s)\n",
                    job->name, nb);
        else if ((needs & EB_NEEDS_FEATURES) && !a->features)
            fprintf(stderr, "ebood score: --features is required for %s (or --model)\n", job->name);
        else if ((needs & EB_NEEDS_LOGITS) && !a->logits)
            fprintf(stderr, "ebood score: --logits is required for %s (or --model)\n", job->name);
        else
            return 0;
        return CLI_USAGE;
    } else if (a->input_std && !(needs & EB_NEEDS_INPUTS)) {
        fprintf(stderr, "ebood score: --input-std: the %s detector does not perturb inputs\n", job->name);
        return CLI_USAGE;
    }
    return 0;
}

/* --features / --logits files into job->x. */
static eb_status read_files(const score_args *a, score_job *job, eb_error *err) {
    int64_t rows = 0, cols = 0;
    eb_detector_data *x = &job->x;
    eb_status st = EB_OK;
    if (a->features && !(st = cli_read_matrix(a->features, false, &job->feat, &rows, &cols, err))) {
        *x = (eb_detector_data){.features = job->feat, .n = rows, .dim = cols};
        if (cols != eb_detector_dim(job->d))
            st = eb_error_set(err, EB_ERR_SHAPE, "%s: %lld features per row, but %s was fitted on %lld",
                              a->features, (long long)cols, a->det_path, (long long)eb_detector_dim(job->d));
    }
    if (!st && a->logits && !(st = cli_read_matrix(a->logits, false, &job->logits, &rows, &cols, err))) {
        if (a->features && rows != x->n)
            st = eb_error_set(err, EB_ERR_SHAPE, "%s: %lld rows, but %s has %lld", a->logits, (long long)rows,
                              a->features, (long long)x->n);
        x->logits = job->logits;
        x->n = rows;
        x->n_classes = cols;
        if (!st && cols != eb_detector_n_classes(job->d))
            st = eb_error_set(err, EB_ERR_SHAPE, "%s: %lld classes, but %s was fitted on %lld", a->logits,
                              (long long)cols, a->det_path, (long long)eb_detector_n_classes(job->d));
    }
    job->what = a->features ? a->features : a->logits;
    return st;
}

/* --model: the checkpoint, the rows of --data's --split in its input space, and the inputs' std. */
static eb_status load_model_rows(score_args *a, score_job *job, eb_error *err) {
    eb_status st = eb_model_load_with_file(a->model, NULL, &job->model, &job->model_file, err);
    if (!st && !a->data) a->data = eb_safetensors_meta(job->model_file, "ebood.data");
    if (!st && !a->data)
        st =
            eb_error_set(err, EB_ERR_ARG, "--data is required: %s does not name its training data", a->model);
    if (!st && a->split_seed < 0) {
        const char *s = eb_safetensors_meta(job->model_file, "ebood.split_seed");
        a->split_seed = s ? strtoll(s, NULL, 10) : 0;
    }
    float mean[EB_IMAGE_MAX_CHANNELS], std[EB_IMAGE_MAX_CHANNELS];
    const bool norm = !st && cli_checkpoint_normalization(job->model_file, mean, std, EB_IMAGE_MAX_CHANNELS);
    if (!st)
        st = cli_load_rows(a->data, a->split ? a->split : "test", (uint64_t)a->split_seed, job->model,
                           job->model_file, norm ? mean : NULL, norm ? std : NULL, &job->rows, err);
    job->what = a->data;
    eb_model *m = job->model;
    if (!st && job->rows.dim != eb_model_in_dim(m))
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: the model expects %lld features, %s has %lld", a->model,
                          (long long)eb_model_in_dim(m), a->data, (long long)job->rows.dim);
    if (!st && (job->needs & EB_NEEDS_FEATURES) && eb_model_feature_dim(m) != eb_detector_dim(job->d))
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: %lld penultimate features, but %s was fitted on %lld",
                          a->model, (long long)eb_model_feature_dim(m), a->det_path,
                          (long long)eb_detector_dim(job->d));
    job->x.n = job->rows.n;
    int n_std = 0;
    if (!st && a->input_std) {
        if (!cli_parse_float_list("score", "input-std", a->input_std, job->std_values, 4096, &n_std))
            st = eb_error_set(err, EB_ERR_ARG, "--input-std: bad list");
    } else if (!st && norm && m->kind != EB_MODEL_MLP) {
        /* images: perturbations are divided by each channel's normalisation std (specs §1) */
        for (int c = 0; c < (int)m->image.channels; c++) job->std_values[c] = std[c];
        n_std = (int)m->image.channels;
    }
    job->x.input_std = n_std ? job->std_values : NULL;
    job->x.n_input_std = n_std;
    return st;
}

/* The summary line(s) or JSON. */
static void print_summary(const score_args *a, const score_job *job) {
    const int64_t n = job->x.n;
    const double threshold = eb_detector_threshold(job->d);
    const bool calibrated = !isnan(threshold);
    double mean = 0.0, lo = INFINITY, hi = -INFINITY;
    int64_t n_id = 0;
    for (int64_t i = 0; i < n; i++) {
        mean += (double)job->scores[i] / (double)n;
        lo = fmin(lo, (double)job->scores[i]);
        hi = fmax(hi, (double)job->scores[i]);
        if (calibrated) n_id += job->is_id[i];
    }
    if (!a->json) {
        printf("scored %lld samples of %s with %s: mean %.6g, min %.6g, max %.6g\n", (long long)n, job->what,
               job->name, mean, lo, hi);
        if (calibrated)
            printf("%lld of %lld (%.1f%%) are ID at threshold %.6g\n", (long long)n_id, (long long)n,
                   n ? 100.0 * (double)n_id / (double)n : 0.0, threshold);
        printf("wrote %s%s%s\n", a->output, a->predictions ? " and " : "",
               a->predictions ? a->predictions : "");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detector", job->name);
    cJSON_AddStringToObject(o, "output", a->output);
    cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddNumberToObject(o, "mean", mean);
    cJSON_AddNumberToObject(o, "min", lo);
    cJSON_AddNumberToObject(o, "max", hi);
    cJSON_AddNumberToObject(o, "ranks", (double)a->ranks);
    cJSON_AddItemToObject(o, "threshold", calibrated ? cJSON_CreateNumber(threshold) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "n_id", calibrated ? cJSON_CreateNumber((double)n_id) : cJSON_CreateNull());
    char *text = cJSON_Print(o);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
}

/* Scores (one library call: eb_detector_score_inputs with --model, else eb_detector_predict/score), then
 * the output files, all or none. */
static int run_score(score_args *a, score_job *job, const eb_dist *dist) {
    eb_error err = {0};
    eb_status st = a->model ? load_model_rows(a, job, &err) : read_files(a, job, &err);
    if (st) return cli_fail("score", &err);
    const int64_t n = job->x.n > 0 ? job->x.n : 1;
    job->scores = malloc((size_t)n * sizeof *job->scores);
    job->is_id = malloc((size_t)n);
    if (!job->scores || !job->is_id) {
        eb_error_set(&err, EB_ERR_NOMEM, "out of memory");
        return cli_fail("score", &err);
    }
    const bool calibrated = !isnan(eb_detector_threshold(job->d));
    if (a->model)
        st = eb_detector_score_inputs(job->d, job->model, job->rows.x, job->rows.n, job->x.input_std,
                                      job->x.n_input_std, 1024, job->scores, job->is_id, &err);
    else
        st = calibrated ? eb_detector_predict(job->d, &job->x, job->scores, job->is_id, &err)
                        : eb_detector_score(job->d, &job->x, job->scores, &err);
    if (st) return cli_fail_data("score", &err);
    if (eb_dist_rank(dist) > 0) return CLI_OK; /* every rank has every score; rank 0 writes them */
    st = eb_npy_write(a->output, EB_DTYPE_F32, 1, (int64_t[]){job->x.n}, job->scores, &err);
    if (!st && a->predictions) {
        st = eb_npy_write(a->predictions, EB_DTYPE_U8, 1, (int64_t[]){job->x.n}, job->is_id, &err);
        if (st) remove(a->output); /* all outputs or none */
    }
    if (st) return cli_fail("score", &err);
    print_summary(a, job);
    return CLI_OK;
}

static int score_run(int argc, char **argv, const eb_dist *dist) {
    static score_args a;
    static score_job job;
    memset(&a, 0, sizeof a);
    memset(&job, 0, sizeof job);
    a.split_seed = -1;
    cli_flag flags[16];
    const int n_flags = score_flags(&a, flags);
    int n_pos;
    const char *pos[2];
    int rc = cli_parse("score", usage, argc, argv, 2, flags, n_flags, pos, 2, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if ((rc = check_flags(&a, flags, n_flags, n_pos))) return rc;
    a.det_path = pos[0];
    eb_error err = {0};
    if (eb_detector_load(a.det_path, &job.d, &err)) return cli_fail("score", &err);
    eb_detector_distribute(job.d, dist, true,
                           NULL); /* under mpirun: each rank holds 1/N of a k-NN/Hopfield bank */
    a.ranks = eb_dist_size(dist);
    job.name = eb_detector_kind_name(eb_detector_kind_of(job.d));
    job.needs = eb_detector_score_needs(job.d);
    rc = check_needs(&a, &job);
    if (!rc && a.predictions && isnan(eb_detector_threshold(job.d))) {
        eb_error_set(&err, EB_ERR_STATE,
                     "%s: no threshold for --predictions (fit with --val-features/--val-logits or --model)",
                     a.det_path);
        rc = cli_fail("score", &err);
    }
    if (!rc) rc = run_score(&a, &job, dist);
    free(job.feat);
    free(job.logits);
    free(job.scores);
    free(job.is_id);
    eb_model_free(job.model);
    eb_safetensors_free(job.model_file);
    eb_dataset_free(&job.rows);
    eb_detector_free(job.d);
    return rc;
}

int cmd_score(int argc, char **argv) { return cli_dist_run("score", argc, argv, score_run); }
