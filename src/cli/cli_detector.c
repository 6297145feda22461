/* Helpers shared by ebood fit / score / eval (src/cli/cli_detector_impl.h). */
#include "cli/cli_detector_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "msp, energy, …: HELP (DEFAULT; odin: 1000)": the kinds reading row r, its help and their defaults. */
static void row_help(const eb_detector_param_row *r, char *buf, size_t size) {
    char readers[256] = "", defaults[160] = "", first[32] = "";
    for (int k = 0; k < EB_DETECTOR_KIND_COUNT; k++) {
        if (!(eb_detector_params_used((eb_detector_kind)k) & r->bit)) continue;
        const char *name = eb_detector_kind_name((eb_detector_kind)k);
        snprintf(readers + strlen(readers), sizeof readers - strlen(readers), "%s%s", readers[0] ? ", " : "",
                 name);
        eb_detector_params p = eb_detector_default_params((eb_detector_kind)k);
        char value[32];
        eb_param_format(&r->desc, &p, value, sizeof value);
        if (!first[0])
            snprintf(first, sizeof first, "%s", value);
        else if (strcmp(value, first) != 0)
            snprintf(defaults + strlen(defaults), sizeof defaults - strlen(defaults), "; %s: %s", name,
                     value);
    }
    if (r->bit == EB_PARAM_TPR) snprintf(readers, sizeof readers, "all");
    snprintf(buf, size, "%s: %s (%s%s)", readers, r->desc.help, first, defaults);
}

int cli_detector_flag_rows(cli_detector_flags *v, bool with_tpr, cli_flag *out) {
    const eb_detector_param_row *rows;
    int n_rows = eb_detector_param_table(&rows), n = 0;
    for (int r = 0; r < n_rows && r < CLI_DETECTOR_MAX_PARAMS; r++) {
        if (rows[r].bit == EB_PARAM_TPR && !with_tpr) continue;
        row_help(&rows[r], v->help[r], sizeof v->help[r]);
        out[n++] =
            (cli_flag){rows[r].desc.flag, 0,    CLI_FLAG_STRING, &v->text[r], 0, 0, rows[r].desc.metavar,
                       v->help[r],        false};
    }
    v->n_extra = 0;
    for (int k = 0; k < eb_detector_flag_count() && k < CLI_DETECTOR_MAX_EXTRA; k++, v->n_extra++) {
        const eb_detector_flag *f = eb_detector_flag_at(k);
        static const cli_flag_type types[] = {[EB_DETECTOR_FLAG_BOOL] = CLI_FLAG_BOOL,
                                              [EB_DETECTOR_FLAG_INT] = CLI_FLAG_INT,
                                              [EB_DETECTOR_FLAG_FLOAT] = CLI_FLAG_FLOAT,
                                              [EB_DETECTOR_FLAG_NAME] = CLI_FLAG_STRING};
        void *dest = f->type == EB_DETECTOR_FLAG_BOOL    ? (void *)&v->bval[k]
                     : f->type == EB_DETECTOR_FLAG_INT   ? (void *)&v->ival[k]
                     : f->type == EB_DETECTOR_FLAG_FLOAT ? (void *)&v->fval[k]
                                                         : (void *)&v->sval[k];
        out[n++] = (cli_flag){f->flag, 0, types[f->type], dest, f->min, f->max, f->metavar, f->help, false};
    }
    return n;
}

/* The methods' flags that were given, as values for eb_detector_params_apply_flags; returns the count. */
static int given_extra(const cli_flag *flags, int n_flags, const cli_detector_flags *v,
                       eb_detector_flag_value *out) {
    int n = 0;
    for (int k = 0; k < v->n_extra; k++) {
        const eb_detector_flag *f = eb_detector_flag_at(k);
        if (cli_flag_seen(flags, n_flags, f->flag))
            out[n++] = (eb_detector_flag_value){f->flag, v->ival[k], v->fval[k], v->bval[k], v->sval[k]};
    }
    return n;
}

/* Prints "--FLAG does not apply to KIND, KIND" and returns false. */
static bool not_applicable(const char *cmd, const char *flag, const eb_detector_kind *kinds, int n_kinds) {
    char names[256] = "";
    for (int i = 0; i < n_kinds; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                 eb_detector_kind_name(kinds[i]));
    fprintf(stderr, "ebood %s: --%s does not apply to %s\n", cmd, flag, names);
    return false;
}

bool cli_detector_params(const char *cmd, const cli_flag *flags, int n_flags, const cli_detector_flags *v,
                         const eb_detector_kind *kinds, int n_kinds, eb_detector_params *params) {
    eb_detector_flag_value given[CLI_DETECTOR_MAX_EXTRA];
    const int n_given = given_extra(flags, n_flags, v, given);
    for (int g = 0; g < n_given; g++) {
        bool used = false;
        for (int i = 0; i < n_kinds; i++) used |= eb_detector_reads_flag(kinds[i], given[g].flag);
        if (!used) return not_applicable(cmd, given[g].flag, kinds, n_kinds);
    }
    const eb_detector_param_row *rows;
    const int n_rows = eb_detector_param_table(&rows);
    for (int r = 0; r < n_rows; r++) {
        if (!cli_flag_seen(flags, n_flags, rows[r].desc.flag)) continue;
        bool used = false;
        for (int i = 0; i < n_kinds; i++) used |= (eb_detector_params_used(kinds[i]) & rows[r].bit) != 0;
        if (!used) return not_applicable(cmd, rows[r].desc.flag, kinds, n_kinds);
    }
    for (int i = 0; i < n_kinds; i++) {
        eb_detector_params *p = &params[i];
        *p = eb_detector_default_params(kinds[i]);
        const unsigned used = eb_detector_params_used(kinds[i]);
        eb_error err = {0};
        for (int r = 0; r < n_rows; r++)
            if ((used & rows[r].bit) && cli_flag_seen(flags, n_flags, rows[r].desc.flag) &&
                eb_param_parse(&rows[r].desc, v->text[r], p, &err)) {
                fprintf(stderr, "ebood %s: %s\n", cmd, err.message);
                return false;
            }
        if (eb_detector_params_apply_flags(kinds[i], given, n_given, p, &err) ||
            eb_detector_params_check(kinds[i], p, &err)) {
            fprintf(stderr, "ebood %s: %s\n", cmd, err.message);
            return false;
        }
    }
    return true;
}

eb_status cli_read_matrix(const char *path, bool allow_1d, float **data, int64_t *rows, int64_t *cols,
                          eb_error *err) {
    int64_t shape[8];
    int ndim = 0;
    *data = NULL;
    eb_status st = eb_npy_read_f32(path, data, 0, shape, &ndim, err);
    if (st) return st;
    if (ndim == 2 || (allow_1d && ndim == 1)) {
        *rows = shape[0];
        *cols = ndim == 2 ? shape[1] : 1;
        if (*rows >= 1 && *cols >= 1) return EB_OK;
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: empty array (shape %lld x %lld)", path, (long long)*rows,
                          (long long)*cols);
    } else {
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: expected a %s array, got %d dimensions", path,
                          allow_1d ? "1-D or 2-D" : "2-D [rows, dim]", ndim);
    }
    free(*data);
    *data = NULL;
    return st;
}

eb_status cli_read_labels(const char *path, int32_t **labels, int64_t *n, eb_error *err) {
    eb_npy_array a;
    *labels = NULL;
    eb_status st = eb_npy_read(path, &a, err);
    if (st) return st;
    if (a.ndim != 1) {
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: labels must be a 1-D array, got %d dimensions", path,
                          a.ndim);
    } else if (a.shape[0] < 1) {
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: no labels", path);
    } else if (a.dtype == EB_DTYPE_F32 || a.dtype == EB_DTYPE_F64) {
        st = eb_error_set(err, EB_ERR_FORMAT,
                          "%s: labels must be an integer array (int32, int64 or uint8), got %s", path,
                          eb_dtype_name(a.dtype));
    } else if (!(*labels = malloc((size_t)a.shape[0] * sizeof **labels))) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int64_t i = 0; !st && i < a.shape[0]; i++) {
        int64_t v = a.dtype == EB_DTYPE_I32   ? ((const int32_t *)a.data)[i]
                    : a.dtype == EB_DTYPE_I64 ? ((const int64_t *)a.data)[i]
                                              : ((const uint8_t *)a.data)[i];
        if (v < 0 || v >= EB_MAX_CLASSES)
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: label [%lld] = %lld is not a class index in [0, %d)",
                              path, (long long)i, (long long)v, EB_MAX_CLASSES);
        else
            (*labels)[i] = (int32_t)v;
    }
    if (st) {
        free(*labels);
        *labels = NULL;
    } else {
        *n = a.shape[0];
    }
    eb_npy_array_free(&a);
    return st;
}

bool cli_parse_float_list(const char *cmd, const char *flag, const char *s, float *out, int max, int *n_out) {
    *n_out = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (errno || end == p || (*end && *end != ',') || !isfinite(v) || v <= 0 || *n_out >= max ||
            (*end == ',' && !end[1])) {
            fprintf(stderr, "ebood %s: --%s: expected up to %d comma-separated numbers > 0, got '%s'\n", cmd,
                    flag, max, s);
            return false;
        }
        out[(*n_out)++] = (float)v;
        p = *end ? end + 1 : end;
    }
    if (*n_out == 0) {
        fprintf(stderr, "ebood %s: --%s: empty list\n", cmd, flag);
        return false;
    }
    return true;
}

const char *cli_needs_text(unsigned needs, char *buf, size_t size) {
    static const struct {
        unsigned bit;
        const char *text;
    } parts[] = {{EB_NEEDS_FEATURES, "features"}, {EB_NEEDS_LOGITS, "logits"},
                 {EB_NEEDS_LABELS, "labels"},     {EB_NEEDS_AUX, "auxiliary features"},
                 {EB_NEEDS_INPUTS, "inputs"},     {EB_NEEDS_MODEL, "the model"}};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (needs & parts[i].bit)
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? ", " : "", parts[i].text);
    if (!buf[0]) snprintf(buf, size, "nothing");
    return buf;
}

int cli_fail_data(const char *cmd, const eb_error *err) {
    fprintf(stderr, "ebood %s: %s\n", cmd, err->message[0] ? err->message : eb_status_str(err->status));
    return CLI_FAIL;
}
