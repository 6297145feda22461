/* Parameter descriptors: one row per hyperparameter of a method (objective or detector), naming the field
 * of the method's params struct it sets, its JSON key and CLI flag, its type and range, and its help line.
 * Method registries (objective.h) export these rows; the command line generates its flags, --help, range
 * checks and "does not apply" errors from them, and the JSON written to checkpoints uses the same keys.
 * A new parameter is one row. Defaults are not restated here: they are the values the method's defaults
 * function (paper or released-code preset) puts in the field, read through the row's offset. */
#ifndef EBOOD_PARAMS_H
#define EBOOD_PARAMS_H

#include <ebood/base.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The C type of the field a row sets. */
typedef enum eb_param_type {
    EB_PARAM_TYPE_I64,   /* int64_t */
    EB_PARAM_TYPE_INT,   /* int, or an enum stored as int (with symbols: one of the names) */
    EB_PARAM_TYPE_F32,   /* float, finite */
    EB_PARAM_TYPE_F64,   /* double, finite */
    EB_PARAM_TYPE_BOOL,  /* bool: with symbols their names, else true/false/1/0 */
    EB_PARAM_TYPE_DECAY, /* eb_decay (ebm.h): set to the constant {v, v, EB_DECAY_CONSTANT} */
} eb_param_type;

/* A named value: "paper" = −1, "code" = 20, "class" = 1 … (a NULL name ends a list). */
typedef struct eb_param_symbol {
    const char *name;
    double value;
} eb_param_symbol;

typedef struct eb_param_desc {
    const char *key;  /* JSON key of the field ("sgld_steps") */
    const char *flag; /* CLI flag without "--" ("sgld-steps") */
    eb_param_type type;
    size_t offset;                  /* of the field in the method's params struct */
    double min, max;                /* inclusive numeric range (min exclusive when min_open) */
    bool min_open;                  /* value must be > min */
    bool symbols_only;              /* only the symbols' names are accepted (no numbers) */
    const eb_param_symbol *symbols; /* NULL, or names accepted besides numbers */
    const char *metavar;            /* "K", "ETA", "MODE" */
    const char *help;               /* one line, without the default (generated from the presets) */
} eb_param_desc;

/* The field's value as a double (bool 0/1, enum its int, decay its start). */
EB_API double eb_param_get(const eb_param_desc *d, const void *params);

/* Parses `text` by the row (a symbol name, or a number of the row's type within its range) and stores it
 * in params. EB_ERR_ARG naming the flag: "--sgld-steps: expected an integer in [0, 1000000], got 'x'",
 * "--restart-prob: 2 is out of range [0, 1]", "--sampling: expected marginal or class, got 'foo'". */
EB_API eb_status eb_param_parse(const eb_param_desc *d, const char *text, void *params, eb_error *err);

/* The field's value as text: a symbol's name if it has one, else the number ("%.6g"; integers exactly). */
EB_API void eb_param_format(const eb_param_desc *d, const void *params, char *buf, size_t size);

/* The accepted values as text: "paper, code or an integer in [0, 1000000]", "a number in (0, 1]". */
EB_API void eb_param_describe_range(const eb_param_desc *d, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_PARAMS_H */
