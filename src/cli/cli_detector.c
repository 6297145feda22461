/* Helpers shared by ebood fit / score / eval (src/cli/cli_detector_impl.h). */
#include "cli/cli_detector_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
} hyper[] = {
    {"temperature", EB_PARAM_TEMPERATURE}, {"eps", EB_PARAM_EPS}, {"k", EB_PARAM_K}, {"beta", EB_PARAM_BETA},
    {"shrinkage", EB_PARAM_SHRINKAGE},     {"tpr", EB_PARAM_TPR},
};

bool cli_detector_params(const char *cmd, const cli_flag *flags, int n_flags, const cli_detector_flags *v,
                         const eb_detector_kind *kinds, int n_kinds, eb_detector_params *params) {
    for (int h = 0; h < (int)(sizeof hyper / sizeof hyper[0]); h++) {
        if (!cli_flag_seen(flags, n_flags, hyper[h].name)) continue;
        bool used = false;
        for (int i = 0; i < n_kinds; i++) used |= (eb_detector_params_used(kinds[i]) & hyper[h].bit) != 0;
        if (!used) {
            char names[256] = "";
            for (int i = 0; i < n_kinds; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                         eb_detector_kind_name(kinds[i]));
            fprintf(stderr, "ebood %s: --%s does not apply to %s\n", cmd, hyper[h].name, names);
            return false;
        }
    }
    for (int i = 0; i < n_kinds; i++) {
        eb_detector_params *p = &params[i];
        *p = eb_detector_default_params(kinds[i]);
        unsigned used = eb_detector_params_used(kinds[i]);
        if ((used & EB_PARAM_TEMPERATURE) && cli_flag_seen(flags, n_flags, "temperature"))
            p->temperature = (float)v->temperature;
        if ((used & EB_PARAM_EPS) && cli_flag_seen(flags, n_flags, "eps")) p->eps = (float)v->eps;
        if ((used & EB_PARAM_K) && cli_flag_seen(flags, n_flags, "k")) p->k = v->k;
        if ((used & EB_PARAM_BETA) && cli_flag_seen(flags, n_flags, "beta")) p->beta = (float)v->beta;
        if ((used & EB_PARAM_SHRINKAGE) && cli_flag_seen(flags, n_flags, "shrinkage"))
            p->shrinkage = (float)v->shrinkage;
        if (cli_flag_seen(flags, n_flags, "tpr")) p->tpr = v->tpr;
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
    } else if (!(*labels = malloc((size_t)a.shape[0] * sizeof **labels))) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int64_t i = 0; !st && i < a.shape[0]; i++) {
        double v;
        switch (a.dtype) {
        case EB_DTYPE_F32: v = (double)((const float *)a.data)[i]; break;
        case EB_DTYPE_F64: v = ((const double *)a.data)[i]; break;
        case EB_DTYPE_I32: v = ((const int32_t *)a.data)[i]; break;
        case EB_DTYPE_I64: v = (double)((const int64_t *)a.data)[i]; break;
        default: v = ((const uint8_t *)a.data)[i]; break;
        }
        if (!(v == floor(v) && v >= 0 && v < 2147483647.0))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: label [%lld] = %g is not an integer in [0, 2^31-1)",
                              path, (long long)i, v);
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

eb_status cli_extract(eb_model *m, const char *model_path, const eb_dataset *d, const char *what,
                      float **logits, float **features, eb_error *err) {
    if (logits) *logits = NULL;
    if (features) *features = NULL;
    if (d->dim != eb_model_in_dim(m))
        return eb_error_set(err, EB_ERR_SHAPE, "%s: the model expects %lld features, %s has %lld", model_path,
                            (long long)eb_model_in_dim(m), what, (long long)d->dim);
    const int64_t n = d->n > 0 ? d->n : 1;
    float *l = malloc((size_t)(n * eb_model_out_dim(m)) * sizeof *l);
    float *f = features ? malloc((size_t)(n * eb_model_feature_dim(m)) * sizeof *f) : NULL;
    eb_status st =
        (!l || (features && !f)) ? eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what) : EB_OK;
    if (!st) st = eb_model_predict(m, d->x, d->n, 1024, l, f, err);
    if (st || !logits) free(l);
    if (st || !features) free(f);
    if (st) return st;
    if (logits) *logits = l;
    if (features) *features = f;
    return EB_OK;
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
