/* Pieces shared by the detector subcommands (fit, score, eval): hyperparameter flags, reading
 * .npy arrays, extracting logits/features through a model, and describing a detector's inputs. */
#ifndef EBOOD_CLI_DETECTOR_IMPL_H
#define EBOOD_CLI_DETECTOR_IMPL_H

#include "cli/cli_impl.h"

int cmd_fit(int argc, char **argv);
int cmd_score(int argc, char **argv);

/* The detector hyperparameter flags, named after the parameters: --temperature, --eps, --k,
 * --beta, --shrinkage (CLI_DETECTOR_FLAGS) and --tpr (CLI_DETECTOR_TPR_FLAG, fit only), as rows of
 * a cli_flag table writing into a cli_detector_flags. */
typedef struct cli_detector_flags {
    double temperature, eps, beta, shrinkage, tpr;
    int64_t k;
} cli_detector_flags;

/* clang-format off */
#define CLI_DETECTOR_FLAGS(v)                                                                               \
    {"temperature", 0, CLI_FLAG_FLOAT, &(v).temperature, 1e-6, 1e6, "T",                                    \
     "msp, energy, odin: temperature (1; odin 1000)", false},                                               \
    {"eps", 0, CLI_FLAG_FLOAT, &(v).eps, 0, 1e3, "E",                                                       \
     "odin: input perturbation (0.0014); mahalanobis/ssd: input pre-processing (0 = off)", false},          \
    {"k", 0, CLI_FLAG_INT, &(v).k, 1, 1e9, "K", "knn: neighbours (50)", false},                             \
    {"beta", 0, CLI_FLAG_FLOAT, &(v).beta, 1e-6, 1e6, "B",                                                  \
     "hopfield, hopfield_aux: inverse temperature (4)", false},                                             \
    {"shrinkage", 0, CLI_FLAG_FLOAT, &(v).shrinkage, 0, 1, "S",                                             \
     "mahalanobis, ssd: covariance shrinkage towards (tr/d)*I (0)", false}
#define CLI_DETECTOR_TPR_FLAG(v)                                                                            \
    {"tpr", 0, CLI_FLAG_FLOAT, &(v).tpr, 1e-6, 1, "P",                                                      \
     "the threshold keeps this fraction of the ID validation data (0.95)", false}
/* clang-format on */

/* Starts from kind's defaults and applies every hyperparameter flag that was given. A given flag
 * that none of kinds[0..n_kinds) reads is a usage error (printed: "--k does not apply to energy");
 * a flag is applied only to the kinds that read it. Returns false after printing. */
bool cli_detector_params(const char *cmd, const cli_flag *flags, int n_flags, const cli_detector_flags *v,
                         const eb_detector_kind *kinds, int n_kinds, eb_detector_params *params);

/* A float32 matrix from a .npy file: 2-D [rows, cols]; any numeric dtype, NaN/Inf refused (errors
 * name the file). With allow_1d a 1-D array is read as [n, 1]. */
eb_status cli_read_matrix(const char *path, bool allow_1d, float **data, int64_t *rows, int64_t *cols,
                          eb_error *err);
/* Class labels from a 1-D .npy of integers (int32/int64/uint8, or floats holding integers), each in
 * [0, 2^31 − 1). Errors name the file and the index. */
eb_status cli_read_labels(const char *path, int32_t **labels, int64_t *n, eb_error *err);

/* Logits [d->n, out_dim] and penultimate features [d->n, feature_dim] of every row (malloc'd; pass
 * NULL for what is not wanted). Checks the model's input dim against d->dim, naming `what`. */
eb_status cli_extract(eb_model *m, const char *model_path, const eb_dataset *d, const char *what,
                      float **logits, float **features, eb_error *err);

/* Parses "a,b,c" into up to max positive finite floats. false (printed) on a bad list. */
bool cli_parse_float_list(const char *cmd, const char *flag, const char *s, float *out, int max, int *n_out);

/* Prints "ebood <cmd>: <message>" and returns CLI_FAIL whatever the status: for errors of a library call
 * on the data (a label out of range is a problem of the file, not of the command line). */
int cli_fail_data(const char *cmd, const eb_error *err);

/* "features", "logits and labels", …: what the detector's fit/score needs, for messages. */
const char *cli_needs_text(unsigned needs, char *buf, size_t size);

#endif
