/* Pieces shared by the detector subcommands (fit, score, eval): hyperparameter flags, reading
 * .npy arrays, extracting logits/features through a model, and describing a detector's inputs. */
#ifndef EBOOD_CLI_DETECTOR_IMPL_H
#define EBOOD_CLI_DETECTOR_IMPL_H

#include "cli/cli_impl.h"

int cmd_fit(int argc, char **argv);
int cmd_score(int argc, char **argv);

/* The detector hyperparameter flags: one per row of the library's table (eb_detector_param_table:
 * --temperature, --eps, --k, --beta, --shrinkage, --percentile, --tpr (fit only)), generated with their help
 * (the methods that read each and their defaults) by cli_detector_flag_rows, and HEAT's (CLI_HEAT_FLAGS),
 * writing into a cli_detector_flags. */
#define CLI_DETECTOR_MAX_PARAMS 16
typedef struct cli_detector_flags {
    const char *text[CLI_DETECTOR_MAX_PARAMS]; /* the values given, per table row */
    char help[CLI_DETECTOR_MAX_PARAMS][384];
    /* gmm / heat / heat_combined (eb_heat_params; CLI_HEAT_FLAGS) */
    const char *prior, *sgld_decay, *heat_preset;
    int64_t ebm_width, ebm_depth, ebm_seed, ebm_epochs, ebm_batch_size, sgld_steps;
    double ebm_lr, ebm_l2, ebm_temperature, prior_temperature, sgld_step_size, sgld_noise, sgld_decay_end,
        ebm_input_noise, ridge;
    bool ebm_tied, ebm_no_relu, stats_batch, no_normalize, no_std_block;
} cli_detector_flags;

/* Writes the table's flag rows to out (--tpr only if with_tpr; at most CLI_DETECTOR_MAX_PARAMS), then
 * HEAT's; returns the count (at most CLI_DETECTOR_MAX_FLAGS). */
#define CLI_DETECTOR_MAX_FLAGS (CLI_DETECTOR_MAX_PARAMS + 26)
int cli_detector_flag_rows(cli_detector_flags *v, bool with_tpr, cli_flag *out);

/* clang-format off */
/* HEAT's flags: --prior (heat), --ridge (gmm, heat, heat_combined); the others set the residual EBM
 * of heat's prior, or both EBMs of heat_combined (defaults: each prior's, see eb_heat_params). */
#define CLI_HEAT_FLAGS(v)                                                                                   \
    {"prior", 0, CLI_FLAG_STRING, &(v).prior, 0, 0, "NAME", "heat: gmm, el or none (gmm)", false},          \
    {"heat-preset", 0, CLI_FLAG_STRING, &(v).heat_preset, 0, 0, "NAME",                                     \
     "heat: the EBM defaults of the paper (App. A.5.1) or the released code (paper)", false},               \
    {"ridge", 0, CLI_FLAG_FLOAT, &(v).ridge, 0, 1e6, "R",                                                   \
     "gmm, heat, heat_combined: ridge added to the GMM covariance (1e-12)", false},                         \
    {"ebm-width", 0, CLI_FLAG_INT, &(v).ebm_width, 1, 65536, "W", "heat: hidden width of E_theta (1024)",   \
     false},                                                                                                \
    {"ebm-depth", 0, CLI_FLAG_INT, &(v).ebm_depth, 0, 14, "D", "heat: hidden WxW layers of E_theta (4)",    \
     false},                                                                                                \
    {"ebm-tied", 0, CLI_FLAG_BOOL, &(v).ebm_tied, 0, 0, NULL,                                               \
     "heat: the hidden layers share one weight (the released code)", false},                                \
    {"ebm-no-relu", 0, CLI_FLAG_BOOL, &(v).ebm_no_relu, 0, 0, NULL,                                         \
     "heat: no ReLU projection of SGLD samples (for features that can be negative)", false},                \
    {"ebm-seed", 0, CLI_FLAG_INT, &(v).ebm_seed, 0, 9007199254740991.0, "N", "heat: random seed (0)",       \
     false},                                                                                                \
    {"ebm-epochs", 0, CLI_FLAG_INT, &(v).ebm_epochs, 1, 1e7, "N", "heat: training epochs (20)", false},     \
    {"ebm-batch-size", 0, CLI_FLAG_INT, &(v).ebm_batch_size, 1, 1e9, "B",                                   \
     "heat: batch size (gmm 1024, el 256, none 1024)", false},                                              \
    {"ebm-lr", 0, CLI_FLAG_FLOAT, &(v).ebm_lr, 1e-12, 1e3, "LR", "heat: Adam learning rate (gmm 5e-6, el 1e-5, none 5e-5)", false}, \
    {"ebm-l2", 0, CLI_FLAG_FLOAT, &(v).ebm_l2, 0, 1e12, "L",                                                \
     "heat: L2 weight on E_theta (gmm 10, el 0.1, none 0.1)", false},                                       \
    {"ebm-temperature", 0, CLI_FLAG_FLOAT, &(v).ebm_temperature, 1e-30, 1e30, "T",                          \
     "heat: temperature of E_theta (1; none 0.01)", false},                                                 \
    {"prior-temperature", 0, CLI_FLAG_FLOAT, &(v).prior_temperature, 1e-30, 1e30, "T",                      \
     "heat: temperature of the prior energy (gmm 1000, el 1)", false},                                      \
    {"ebm-input-noise", 0, CLI_FLAG_FLOAT, &(v).ebm_input_noise, 0, 1e6, "S",                               \
     "heat: std of the noise added to real and sampled features (gmm 1e-3, el 1e-4, none 1e-3)", false},                 \
    {"sgld-steps", 0, CLI_FLAG_INT, &(v).sgld_steps, 0, 1e7, "K", "heat: SGLD steps (gmm 20, el 50, none 200)", \
     false},                                                                                                \
    {"sgld-step-size", 0, CLI_FLAG_FLOAT, &(v).sgld_step_size, 0, 1e30, "ETA",                              \
     "heat: initial SGLD step size (gmm 1e-6, el 0.1, none 0.01)", false},                                  \
    {"sgld-noise", 0, CLI_FLAG_FLOAT, &(v).sgld_noise, 0, 1e30, "SIGMA",                                    \
     "heat: initial SGLD noise (gmm 1e-3, el 0.1, none 0.01)", false},                                      \
    {"sgld-decay", 0, CLI_FLAG_STRING, &(v).sgld_decay, 0, 0, "KIND",                                       \
     "heat: constant, linear or quadratic decay of step size and noise (linear; el quadratic)", false},   \
    {"sgld-decay-end", 0, CLI_FLAG_FLOAT, &(v).sgld_decay_end, 0, 1, "F",                                   \
     "heat: step size and noise decay to F times their start (0.1)", false},                                \
    {"stats-batch", 0, CLI_FLAG_BOOL, &(v).stats_batch, 0, 0, NULL,                                         \
     "heat_combined: standardise with one random batch of 256 (the code) instead of all training data",     \
     false},                                                                                                \
    {"no-normalize", 0, CLI_FLAG_BOOL, &(v).no_normalize, 0, 0, NULL,                                       \
     "gmm, heat, heat_combined: GMM / prior-free blocks on the raw features, not L2-normalised (2-D toys)", \
     false},                                                                                                \
    {"no-std-block", 0, CLI_FLAG_BOOL, &(v).no_std_block, 0, 0, NULL,                                       \
     "heat_combined: leave out the GMM-std block (combine gmm and el only; needed for non-image models)",   \
     false}
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

/* Parses "a,b,c" into up to max positive finite floats. false (printed) on a bad list. */
bool cli_parse_float_list(const char *cmd, const char *flag, const char *s, float *out, int max, int *n_out);

/* Prints "ebood <cmd>: <message>" and returns CLI_FAIL whatever the status: for errors of a library call
 * on the data (a label out of range is a problem of the file, not of the command line). */
int cli_fail_data(const char *cmd, const eb_error *err);

/* "features", "logits and labels", …: what the detector's fit/score needs, for messages. */
const char *cli_needs_text(unsigned needs, char *buf, size_t size);

#endif
