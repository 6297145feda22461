/* ebood extract: logits, penultimate features and labels of a dataset as .npy files, for detectors
 * (`ebood fit`) or any other tool. `--pool std` makes an image model's features the unbiased spatial
 * std of its final map (eb_model_set_feature_pool; HEAT's "GMM-std" features). */
#include "cli/cli_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "--model CKPT [--data NAME|FILE] [--split test] [--logits F] [--features F] "
                                 "[--labels F] [--pool mean|std]";

int cmd_extract(int argc, char **argv) {
    const char *cmd = "extract";
    const char *model_path = NULL, *data = NULL, *split = "test", *logits_path = NULL, *features_path = NULL,
               *labels_path = NULL, *pool = NULL;
    int64_t split_seed = -1, batch = 256;
    cli_flag flags[] = {
        {"model", 0, CLI_FLAG_STRING, &model_path, 0, 0, "CKPT", "checkpoint written by ebood train", false},
        {"data", 0, CLI_FLAG_STRING, &data, 0, 0, "NAME|FILE",
         "dataset (default: the checkpoint's training data)", false},
        {"split", 0, CLI_FLAG_STRING, &split, 0, 0, "NAME",
         "train, val, test (default) or ood (a built-in's held-out class, or a table's --ood-class)", false},
        {"split-seed", 0, CLI_FLAG_INT, &split_seed, 0, 9.2e18, "N",
         "split of a built-in dataset (default: the checkpoint's)", false},
        {"batch-size", 0, CLI_FLAG_INT, &batch, 1, 1e6, "N", "inference batch size (256)", false},
        {"logits", 0, CLI_FLAG_STRING, &logits_path, 0, 0, "FILE",
         "write logits [n, classes] as float32 .npy", false},
        {"features", 0, CLI_FLAG_STRING, &features_path, 0, 0, "FILE",
         "write penultimate features [n, d] as float32 .npy", false},
        {"labels", 0, CLI_FLAG_STRING, &labels_path, 0, 0, "FILE",
         "write labels [n] as int32 .npy (labelled data only)", false},
        {"pool", 0, CLI_FLAG_STRING, &pool, 0, 0, "mean|std",
         "image models: features = the final map's spatial mean (default) or unbiased std per channel",
         false},
    };
    int n_flags = (int)(sizeof flags / sizeof flags[0]), n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, usage, argc, argv, 2, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!model_path || (!logits_path && !features_path && !labels_path)) {
        fprintf(stderr, "ebood extract: %s (see ebood extract --help)\n",
                !model_path ? "--model is required"
                            : "nothing to write: give --logits, --features and/or --labels");
        return CLI_USAGE;
    }
    eb_feature_pool feature_pool = EB_FEATURE_POOL_MEAN;
    if (pool && strcmp(pool, "mean") != 0) {
        if (strcmp(pool, "std") != 0) {
            fprintf(stderr, "ebood extract: --pool: expected mean or std, got '%s'\n", pool);
            return CLI_USAGE;
        }
        feature_pool = EB_FEATURE_POOL_STD;
    }
    eb_error err = {0};
    eb_model *model = NULL;
    eb_safetensors *file = NULL;
    if (eb_model_load_with_file(model_path, NULL, &model, &file, &err)) return cli_fail(cmd, &err);
    /* --pool (either value) is for the models whose features pool a spatial map: those that accept std */
    if (pool && (eb_model_set_feature_pool(model, EB_FEATURE_POOL_STD, &err) ||
                 eb_model_set_feature_pool(model, feature_pool, &err))) {
        fprintf(stderr,
                "ebood extract: --pool: %s is a '%s' model, which has no spatial feature map to pool "
                "(image models have)\n",
                model_path, eb_model_kind_name(model->kind));
        eb_safetensors_free(file);
        eb_model_free(model);
        return CLI_USAGE;
    }
    if (!data) data = eb_safetensors_meta(file, "ebood.data");
    if (split_seed < 0) {
        const char *s = eb_safetensors_meta(file, "ebood.split_seed");
        split_seed = s ? strtoll(s, NULL, 10) : 0;
    }
    float mean[EB_IMAGE_MAX_CHANNELS], std[EB_IMAGE_MAX_CHANNELS];
    bool have_norm = cli_checkpoint_normalization(file, mean, std, EB_IMAGE_MAX_CHANNELS);
    eb_dataset d;
    memset(&d, 0, sizeof d);
    float *logits = NULL, *features = NULL;
    eb_status st =
        data ? cli_load_rows(data, split, (uint64_t)split_seed, model, file, have_norm ? mean : NULL,
                             have_norm ? std : NULL, &d, &err)
             : eb_error_set(&err, EB_ERR_ARG, "--data is required: %s does not name its data", model_path);
    int64_t c = eb_model_out_dim(model), f = eb_model_feature_dim(model);
    if (!st && d.dim != eb_model_in_dim(model))
        st = eb_error_set(&err, EB_ERR_SHAPE, "%s: the model expects %lld features, %s has %lld", model_path,
                          (long long)eb_model_in_dim(model), data, (long long)d.dim);
    if (!st && labels_path && !d.y) st = eb_error_set(&err, EB_ERR_ARG, "--labels: %s has no labels", data);
    if (!st) {
        logits = malloc((size_t)(d.n * c) * sizeof *logits);
        features = features_path ? malloc((size_t)(d.n * f) * sizeof *features) : NULL;
        if (!logits || (features_path && !features)) st = eb_error_set(&err, EB_ERR_NOMEM, "out of memory");
    }
    if (!st) st = eb_model_predict(model, d.x, d.n, batch, logits, features, &err);
    if (!st && logits_path)
        st = eb_npy_write(logits_path, EB_DTYPE_F32, 2, (int64_t[]){d.n, c}, logits, &err);
    if (!st && features_path)
        st = eb_npy_write(features_path, EB_DTYPE_F32, 2, (int64_t[]){d.n, f}, features, &err);
    if (!st && labels_path) st = eb_npy_write(labels_path, EB_DTYPE_I32, 1, (int64_t[]){d.n}, d.y, &err);
    if (!st) fprintf(stderr, "ebood extract: %lld samples of %s (%s split)\n", (long long)d.n, data, split);
    free(logits);
    free(features);
    eb_dataset_free(&d);
    eb_safetensors_free(file);
    eb_model_free(model);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}
