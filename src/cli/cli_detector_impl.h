/* Pieces shared by the detector subcommands (fit, score, eval): hyperparameter flags, reading
 * .npy arrays, extracting logits/features through a model, and describing a detector's inputs. */
#ifndef EBOOD_CLI_DETECTOR_IMPL_H
#define EBOOD_CLI_DETECTOR_IMPL_H

#include "cli/cli_impl.h"

int cmd_fit(int argc, char **argv);
int cmd_score(int argc, char **argv);

/* The detector hyperparameter flags: one per row of the library's table (eb_detector_param_table:
 * --temperature, --eps, --k, --beta, --shrinkage, --percentile, --tpr (fit only)), generated with their help
 * (the methods that read each and their defaults) by cli_detector_flag_rows, then the methods' flags of
 * nested parameters (eb_detector_flag_at: HEAT's --prior, --ebm-*, --sgld-*, …), writing into a
 * cli_detector_flags. */
#define CLI_DETECTOR_MAX_PARAMS 16
#define CLI_DETECTOR_MAX_EXTRA  32
typedef struct cli_detector_flags {
    const char *text[CLI_DETECTOR_MAX_PARAMS]; /* the values given, per table row */
    char help[CLI_DETECTOR_MAX_PARAMS][384];
    /* the methods' flags (eb_detector_flag_at(k)): the value given, by the flag's type */
    int n_extra;
    int64_t ival[CLI_DETECTOR_MAX_EXTRA];
    double fval[CLI_DETECTOR_MAX_EXTRA];
    bool bval[CLI_DETECTOR_MAX_EXTRA];
    const char *sval[CLI_DETECTOR_MAX_EXTRA];
} cli_detector_flags;

/* Writes the table's flag rows to out (--tpr only if with_tpr; at most CLI_DETECTOR_MAX_PARAMS), then the
 * methods' flags; returns the count (at most CLI_DETECTOR_MAX_FLAGS). */
#define CLI_DETECTOR_MAX_FLAGS (CLI_DETECTOR_MAX_PARAMS + CLI_DETECTOR_MAX_EXTRA)
int cli_detector_flag_rows(cli_detector_flags *v, bool with_tpr, cli_flag *out);

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
