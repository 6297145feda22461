/* The generic detector layer (include/ebood/ood.h, "detectors"): kinds and parameters, checks of
 * the data a method needs, fit/score dispatch, threshold calibration, prediction, save/load as
 * safetensors. The methods themselves live in src/ood/detectors/, one file each. */
#include "ood/detector_impl.h"

#include <cjson/cJSON.h>
#include <ebood/ebm.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static eb_status method_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err);

/* ---- the registry (ood.h's EB_DETECTOR_LIST) --------------------------------------------------- */

#define EB__DETECTOR_ROW(e, id) [EB_DETECTOR_##e] = &eb__detector_##id,
static const eb__detector_method *const methods[EB_DETECTOR_KIND_COUNT] = {
    EB_DETECTOR_LIST(EB__DETECTOR_ROW)};
#undef EB__DETECTOR_ROW

/* The scalar parameters (nested ones, with their flags, are the method files' own: the vtable's hooks). */
#define FIELD(f) offsetof(eb_detector_params, f)
static const eb_detector_param_row param_rows[] = {
    {{"temperature", "temperature", EB_PARAM_TYPE_F32, FIELD(temperature), 0, 1e6, true, false, NULL, "T",
      "temperature"},
     EB_PARAM_TEMPERATURE},
    {{"eps", "eps", EB_PARAM_TYPE_F32, FIELD(eps), 0, 1e3, false, false, NULL, "E",
      "odin: input perturbation; mahalanobis, ssd: input pre-processing (0 = off)"},
     EB_PARAM_EPS},
    {{"k", "k", EB_PARAM_TYPE_I64, FIELD(k), 1, 9.0e15, false, false, NULL, "K", "neighbours"}, EB_PARAM_K},
    {{"beta", "beta", EB_PARAM_TYPE_F32, FIELD(beta), 0, 1e6, true, false, NULL, "B", "inverse temperature"},
     EB_PARAM_BETA},
    {{"shrinkage", "shrinkage", EB_PARAM_TYPE_F32, FIELD(shrinkage), 0, 1, false, false, NULL, "S",
      "covariance shrinkage towards (tr/d)*I"},
     EB_PARAM_SHRINKAGE},
    {{"tpr", "tpr", EB_PARAM_TYPE_F64, FIELD(tpr), 0, 1, true, false, NULL, "P",
      "the threshold keeps this fraction of the ID validation data"},
     EB_PARAM_TPR},
    {{"percentile", "percentile", EB_PARAM_TYPE_F32, FIELD(percentile), 0, 99.999, false, false, NULL, "P",
      "activation percentile: react clips above it, ash prunes below it, scale sums above it"},
     EB_PARAM_PERCENTILE},
};
#undef FIELD
enum { N_PARAM_ROWS = (int)(sizeof param_rows / sizeof param_rows[0]) };

int eb_detector_param_table(const eb_detector_param_row **out) {
    *out = param_rows;
    return N_PARAM_ROWS;
}

/* Bytes of the field a row sets. */
static size_t param_size(const eb_param_desc *d) {
    switch (d->type) {
    case EB_PARAM_TYPE_I64: return sizeof(int64_t);
    case EB_PARAM_TYPE_INT: return sizeof(int);
    case EB_PARAM_TYPE_F32: return sizeof(float);
    case EB_PARAM_TYPE_F64: return sizeof(double);
    case EB_PARAM_TYPE_BOOL: return sizeof(bool);
    case EB_PARAM_TYPE_DECAY: return sizeof(eb_decay);
    }
    return 0;
}

static bool kind_valid(eb_detector_kind kind) { return (int)kind >= 0 && kind < EB_DETECTOR_KIND_COUNT; }

const char *eb_detector_kind_name(eb_detector_kind kind) {
    return kind_valid(kind) ? methods[kind]->name : "unknown";
}

void eb_detector_kind_names(char *buf, size_t size) {
    size_t used = 0;
    if (size) buf[0] = 0;
    for (int k = 0; k < EB_DETECTOR_KIND_COUNT && used < size; k++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", k ? ", " : "", methods[k]->name);
}

static const char *kind_list(char *buf, size_t size) {
    eb_detector_kind_names(buf, size);
    return buf;
}

eb_status eb_detector_kind_parse(const char *name, eb_detector_kind *out, eb_error *err) {
    if (!name || !out) return eb_error_set(err, EB_ERR_ARG, "detector name: NULL pointer");
    for (int k = 0; k < EB_DETECTOR_KIND_COUNT; k++)
        if (strcmp(name, methods[k]->name) == 0) {
            *out = (eb_detector_kind)k;
            return EB_OK;
        }
    char names[512];
    return eb_error_set(err, EB_ERR_ARG, "detector '%s': unknown method (expected one of %s)", name,
                        kind_list(names, sizeof names));
}

unsigned eb_detector_params_used(eb_detector_kind kind) {
    return kind_valid(kind) ? methods[kind]->params_used | EB_PARAM_TPR : 0;
}

eb_detector_params eb_detector_default_params(eb_detector_kind kind) {
    eb_detector_params p;
    memset(&p, 0, sizeof p);
    p.temperature = 1.0f;
    p.eps = 0.0f;
    p.k = 50;
    p.beta = 4.0f;
    p.shrinkage = 0.0f;
    p.tpr = 0.95;
    p.percentile = 90.0f;
    if (kind_valid(kind) && methods[kind]->defaults) methods[kind]->defaults(&p);
    return p;
}

/* ---- the methods' flags of nested parameters (ood.h's eb_detector_flag) ----------------------------------
 */

/* The method and row of distinct flag i (the first method that has a flag of its name). */
static bool flag_row(int i, const eb__detector_method **m, int *row) {
    int seen = 0;
    for (int k = 0; k < EB_DETECTOR_KIND_COUNT; k++)
        for (int r = 0; r < methods[k]->n_flags; r++) {
            const char *name = methods[k]->flags[r].flag;
            bool dup = false;
            for (int j = 0; j < k && !dup; j++)
                for (int q = 0; q < methods[j]->n_flags && !dup; q++)
                    dup = !strcmp(methods[j]->flags[q].flag, name);
            if (dup) continue;
            if (seen++ == i) {
                *m = methods[k];
                *row = r;
                return true;
            }
        }
    return false;
}

int eb_detector_flag_count(void) {
    int n = 0;
    const eb__detector_method *m;
    int row;
    while (flag_row(n, &m, &row)) n++;
    return n;
}

const eb_detector_flag *eb_detector_flag_at(int i) {
    const eb__detector_method *m;
    int row;
    return i >= 0 && flag_row(i, &m, &row) ? &m->flags[row] : NULL;
}

bool eb_detector_reads_flag(eb_detector_kind kind, const char *flag) {
    if (!kind_valid(kind) || !methods[kind]->reads_flag) return false;
    for (int r = 0; r < methods[kind]->n_flags; r++)
        if (!strcmp(methods[kind]->flags[r].flag, flag)) return methods[kind]->reads_flag(kind, r);
    return false;
}

eb_status eb_detector_params_apply_flags(eb_detector_kind kind, const eb_detector_flag_value *given,
                                         int n_given, eb_detector_params *p, eb_error *err) {
    if (!kind_valid(kind)) return eb_error_set(err, EB_ERR_ARG, "detector kind %d: unknown", (int)kind);
    return methods[kind]->apply_flags ? methods[kind]->apply_flags(kind, given, n_given, p, err) : EB_OK;
}

eb_status eb_detector_params_check(eb_detector_kind kind, const eb_detector_params *p, eb_error *err) {
    if (!kind_valid(kind)) return eb_error_set(err, EB_ERR_ARG, "detector kind %d: unknown", (int)kind);
    if (!p) return eb_error_set(err, EB_ERR_ARG, "params: NULL pointer");
    const unsigned used = eb_detector_params_used(kind);
    for (int i = 0; i < N_PARAM_ROWS; i++) {
        const eb_param_desc *d = &param_rows[i].desc;
        double v = eb_param_get(d, p);
        if ((used & param_rows[i].bit) &&
            !(isfinite(v) && v >= d->min && v <= d->max && (!d->min_open || v > d->min))) {
            char range[160];
            eb_param_describe_range(d, range, sizeof range);
            return eb_error_set(err, EB_ERR_ARG, "%s: must be %s for %s (got %g)", d->key, range,
                                methods[kind]->name, v);
        }
    }
    return methods[kind]->params_check ? methods[kind]->params_check(kind, p, err) : EB_OK;
}

/* ---- lifetime and accessors ---------------------------------------------------------------------- */

static void clear_fit(eb_detector *d) {
    if (d->method->free_state) d->method->free_state(d);
    d->state = NULL;
    d->fitted = false;
    d->dim = d->n_classes = d->input_dim = 0;
    d->threshold = NAN;
    d->note[0] = '\0';
    d->released = false;
}

eb_status eb_detector_new(eb_detector_kind kind, const eb_detector_params *p, eb_detector **out,
                          eb_error *err) {
    if (!out) return eb_error_set(err, EB_ERR_ARG, "out: NULL pointer");
    *out = NULL;
    if (!kind_valid(kind)) return eb_error_set(err, EB_ERR_ARG, "detector kind %d: unknown", (int)kind);
    eb_detector_params params = eb_detector_default_params(kind);
    if (p) { /* copy what the method reads; the rest keeps its defaults, so params are canonical */
        eb_status st = eb_detector_params_check(kind, p, err);
        if (st) return st;
        for (int i = 0; i < N_PARAM_ROWS; i++)
            if (eb_detector_params_used(kind) & param_rows[i].bit) {
                const size_t at = param_rows[i].desc.offset;
                memcpy((char *)&params + at, (const char *)p + at, param_size(&param_rows[i].desc));
            }
        if (methods[kind]->params_canonical) methods[kind]->params_canonical(kind, p, &params);
    }
    eb_detector *d = calloc(1, sizeof *d);
    if (!d) return eb_error_set(err, EB_ERR_NOMEM, "detector: out of memory");
    d->kind = kind;
    d->params = params;
    d->method = methods[kind];
    d->threshold = NAN;
    *out = d;
    return EB_OK;
}

void eb_detector_free(eb_detector *d) {
    if (!d) return;
    clear_fit(d);
    free(d);
}

eb_detector_kind eb_detector_kind_of(const eb_detector *d) { return d->kind; }
const eb_detector_params *eb_detector_get_params(const eb_detector *d) { return &d->params; }
bool eb_detector_is_fitted(const eb_detector *d) { return d->fitted; }
int64_t eb_detector_dim(const eb_detector *d) { return d->dim; }
int64_t eb_detector_n_classes(const eb_detector *d) { return d->n_classes; }
int64_t eb_detector_input_dim(const eb_detector *d) { return d->input_dim; }
const char *eb_detector_note(const eb_detector *d) { return d->note; }
double eb_detector_threshold(const eb_detector *d) { return d->threshold; }

/* What fit() needs: the method's hook when its needs depend on the parameters, else `needs`. */
static unsigned method_fit_needs(const eb_detector *d) {
    return d->method->fit_needs ? d->method->fit_needs(d) : d->method->needs;
}
unsigned eb_detector_fit_needs(const eb_detector *d) { return method_fit_needs(d); }
unsigned eb_detector_score_needs(const eb_detector *d) {
    return d->method->score_needs ? d->method->score_needs(d)
                                  : method_fit_needs(d) & ~(unsigned)(EB_NEEDS_LABELS | EB_NEEDS_AUX);
}

void eb__detector_note(eb_detector *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->note, sizeof d->note, fmt, ap);
    va_end(ap);
}

void eb__perturb_inputs(float *out, const float *x, const float *grad, int64_t rows,
                        const eb_detector_data *data, float eps) {
    const int64_t din = data->input_dim;
    const int64_t group = data->input_std ? din / data->n_input_std : din;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < din; j++) {
            const float std = data->input_std ? data->input_std[j / group] : 1.0f;
            out[i * din + j] = x[i * din + j] - eps * (eb__grad_sign(grad[i * din + j]) / std);
        }
}

void eb__l2_normalize_rows(float *out, const float *in, int64_t n, int64_t d) {
#pragma omp parallel for schedule(static) if (n * d >= 65536)
    for (int64_t i = 0; i < n; i++) {
        const float *x = in + i * d;
        double ss = 0.0;
        for (int64_t j = 0; j < d; j++) ss += (double)x[j] * (double)x[j];
        double norm = sqrt(ss);
        double inv = 1.0 / (norm > 1e-12 ? norm : 1e-12);
        float *y = out + i * d;
        for (int64_t j = 0; j < d; j++) y[j] = (float)((double)x[j] * inv);
    }
}

/* ---- data checks ------------------------------------------------------------------------------------ */

static const char *nonfinite_name(float v) { return isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"); }

/* EB_ERR_NUMERIC naming "<prefix><what>[row, col]" for the first non-finite value of x[n, d]. */
static eb_status check_finite(const char *prefix, const char *what, const float *x, int64_t n, int64_t d,
                              eb_error *err) {
    int64_t total = n * d;
    for (int64_t i = 0; i < total; i++)
        if (!isfinite(x[i]))
            return eb_error_set(err, EB_ERR_NUMERIC, "%s%s[%lld, %lld]: value is %s (%s must be finite)",
                                prefix, what, (long long)(i / d), (long long)(i % d), nonfinite_name(x[i]),
                                what);
    return EB_OK;
}

static eb_status missing(const char *prefix, const char *what, const eb_detector *d, eb_error *err) {
    return eb_error_set(err, EB_ERR_ARG, "%s%s: missing (%s needs it)", prefix, what, methods[d->kind]->name);
}

/* EB_NEEDS_LABELS: x->labels[n] in [0, n_classes), every class present. */
static eb_status check_labels(const eb_detector *d, const eb_detector_data *x, const char *prefix,
                              eb_error *err) {
    if (!x->labels) return missing(prefix, "labels", d, err);
    int64_t *count = calloc((size_t)x->n_classes, sizeof *count);
    if (!count) return eb_error_set(err, EB_ERR_NOMEM, "labels: out of memory");
    eb_status st = EB_OK;
    for (int64_t i = 0; i < x->n && !st; i++) {
        int32_t y = x->labels[i];
        if (y < 0 || y >= x->n_classes)
            st = eb_error_set(err, EB_ERR_ARG, "%slabels[%lld]: label %d outside [0, %lld)", prefix,
                              (long long)i, (int)y, (long long)x->n_classes);
        else
            count[y]++;
    }
    for (int64_t c = 0; c < x->n_classes && !st; c++)
        if (count[c] == 0)
            st = eb_error_set(err, EB_ERR_ARG,
                              "%slabels: class %lld has no samples (%s needs every one of the %lld classes)",
                              prefix, (long long)c, methods[d->kind]->name, (long long)x->n_classes);
    free(count);
    return st;
}

/* EB_NEEDS_INPUTS: x->inputs[n, input_dim] finite, input_dim the model's, input_std[n_input_std] > 0
 * dividing input_dim (or none). */
static eb_status check_inputs(const eb_detector *d, const eb_detector_data *x, const char *prefix,
                              eb_error *err) {
    if (x->input_dim < 1)
        return eb_error_set(err, EB_ERR_ARG, "%sinput_dim: must be >= 1 (got %lld)", prefix,
                            (long long)x->input_dim);
    if (x->model && x->input_dim != eb_model_in_dim(x->model))
        return eb_error_set(err, EB_ERR_SHAPE, "%sinputs: dim %lld, the model expects %lld", prefix,
                            (long long)x->input_dim, (long long)eb_model_in_dim(x->model));
    if (x->n > 0 && !x->inputs) return missing(prefix, "inputs", d, err);
    eb_status st = check_finite(prefix, "inputs", x->inputs, x->n, x->input_dim, err);
    if (st || (!x->input_std && !x->n_input_std)) return st;
    if (!x->input_std || x->n_input_std < 1 || x->input_dim % x->n_input_std != 0)
        return eb_error_set(
            err, EB_ERR_ARG, "%sinput_std: need n_input_std >= 1 values dividing input_dim %lld (got %lld%s)",
            prefix, (long long)x->input_dim, (long long)x->n_input_std, x->input_std ? "" : ", NULL array");
    for (int64_t j = 0; j < x->n_input_std; j++)
        if (!(isfinite(x->input_std[j]) && x->input_std[j] > 0.0f))
            return eb_error_set(err, EB_ERR_ARG, "%sinput_std[%lld]: must be a finite number > 0 (got %g)",
                                prefix, (long long)j, (double)x->input_std[j]);
    return EB_OK;
}

/* Checks what `needs` names in x. fitting: the shapes are free and get recorded on d (train data);
 * otherwise they must equal d's fitted shapes. prefix: "train.", "val." or "". */
static eb_status check_data(eb_detector *d, const eb_detector_data *x, unsigned needs, bool fitting,
                            const char *prefix, eb_error *err) {
    if (!x) return eb_error_set(err, EB_ERR_ARG, "%sdata: NULL pointer", prefix);
    if (x->n < (fitting ? 1 : 0))
        return eb_error_set(err, EB_ERR_ARG, "%sn: need at least %d sample%s (got %lld)", prefix,
                            fitting ? 1 : 0, fitting ? "" : "s", (long long)x->n);
    const int64_t n = x->n;
    eb_status st;
    if (needs & EB_NEEDS_FEATURES) {
        if (x->dim < 1)
            return eb_error_set(err, EB_ERR_ARG, "%sdim: must be >= 1 (got %lld)", prefix, (long long)x->dim);
        if (!fitting && x->dim != d->dim)
            return eb_error_set(err, EB_ERR_SHAPE,
                                "%sfeatures: dim %lld, the %s detector was fitted on dim %lld", prefix,
                                (long long)x->dim, methods[d->kind]->name, (long long)d->dim);
        if (n > 0 && !x->features) return missing(prefix, "features", d, err);
        if ((st = check_finite(prefix, "features", x->features, n, x->dim, err))) return st;
    }
    if (needs & (EB_NEEDS_LOGITS | EB_NEEDS_LABELS)) {
        if (x->n_classes < 1)
            return eb_error_set(err, EB_ERR_ARG, "%sn_classes: must be >= 1 (got %lld)", prefix,
                                (long long)x->n_classes);
        if (!fitting && x->n_classes != d->n_classes)
            return eb_error_set(err, EB_ERR_SHAPE,
                                "%slogits: %lld classes, the %s detector was fitted on %lld", prefix,
                                (long long)x->n_classes, methods[d->kind]->name, (long long)d->n_classes);
    }
    if (needs & EB_NEEDS_LOGITS) {
        if (n > 0 && !x->logits) return missing(prefix, "logits", d, err);
        if ((st = check_finite(prefix, "logits", x->logits, n, x->n_classes, err))) return st;
    }
    if ((needs & EB_NEEDS_LABELS) && (st = check_labels(d, x, prefix, err))) return st;
    if (needs & EB_NEEDS_MODEL) {
        if (!x->model) return missing(prefix, "model", d, err);
        if (!fitting && d->input_dim > 0 && eb_model_in_dim(x->model) != d->input_dim)
            return eb_error_set(
                err, EB_ERR_SHAPE, "%smodel: input dim %lld, the %s detector was fitted on %lld", prefix,
                (long long)eb_model_in_dim(x->model), methods[d->kind]->name, (long long)d->input_dim);
    }
    if ((needs & EB_NEEDS_INPUTS) && (st = check_inputs(d, x, prefix, err))) return st;
    if (needs & EB_NEEDS_AUX) {
        if (x->n_aux < 1 || !x->aux_features) return missing(prefix, "aux_features", d, err);
        if ((st = check_finite(prefix, "aux_features", x->aux_features, x->n_aux, x->dim, err))) return st;
    }
    return EB_OK;
}

/* ---- fit / score / calibrate / predict ------------------------------------------------------------ */

eb_status eb_detector_fit(eb_detector *d, const eb_detector_data *train, const eb_detector_data *val,
                          eb_error *err) {
    if (!d) return eb_error_set(err, EB_ERR_ARG, "detector: NULL pointer");
    clear_fit(d);
    const unsigned needs = method_fit_needs(d);
    eb_status st = check_data(d, train, needs, true, "train.", err);
    if (st) return st;
    if (needs & EB_NEEDS_FEATURES) d->dim = train->dim;
    if (needs & (EB_NEEDS_LOGITS | EB_NEEDS_LABELS)) d->n_classes = train->n_classes;
    if (needs & EB_NEEDS_MODEL) {
        d->input_dim = eb_model_in_dim(train->model);
        if (!(needs & (EB_NEEDS_LOGITS | EB_NEEDS_LABELS))) d->n_classes = eb_model_out_dim(train->model);
    }
    if (d->method->fit && (st = d->method->fit(d, train, err))) {
        clear_fit(d);
        return st;
    }
    d->fitted = true;
    if (!val) return EB_OK;

    /* calibrate on the ID validation data */
    if ((st = check_data(d, val, eb_detector_score_needs(d), false, "val.", err))) {
        clear_fit(d);
        return st;
    }
    if (val->n < 1) {
        clear_fit(d);
        return eb_error_set(err, EB_ERR_ARG, "val.n: need at least 1 sample to calibrate (got 0)");
    }
    float *s = malloc((size_t)val->n * sizeof *s);
    if (!s) st = eb_error_set(err, EB_ERR_NOMEM, "val: out of memory");
    if (!st) st = method_score(d, val, s, err);
    if (!st) st = eb_detector_calibrate(d, s, val->n, d->params.tpr, err);
    free(s);
    if (st) clear_fit(d);
    return st;
}

/* d->method->score, split by rows across d->dist's ranks for a row_parallel method: each rank scores its
 * share and the shares are gathered. A rank that fails still takes part in the collectives (with NaN
 * scores) and a flag summed over the ranks makes every rank fail, so none waits or writes half a result. */
static eb_status method_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    if (!d->method->row_parallel || eb_dist_size(d->dist) < 2) return d->method->score(d, x, scores, err);
    int64_t lo, hi;
    eb_dist_share(x->n, eb_dist_rank(d->dist), eb_dist_size(d->dist), &lo, &hi);
    eb_detector_data part = *x;
    part.n = hi - lo;
    if (x->features) part.features += lo * x->dim;
    if (x->logits) part.logits += lo * x->n_classes;
    if (x->labels) part.labels += lo;
    if (x->inputs) part.inputs += lo * x->input_dim;
    float *mine = malloc((size_t)(hi > lo ? hi - lo : 1) * sizeof *mine);
    eb_status st = mine ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "scores: out of memory");
    if (!st && hi > lo) st = d->method->score(d, &part, mine, err);
    for (int64_t i = 0; st && mine && i < hi - lo; i++) mine[i] = NAN;
    eb_status gst = mine ? eb_dist_gather_shares_f32(d->dist, mine, x->n, 1, scores, err) : EB_OK;
    double failed = st || gst ? 1.0 : 0.0;
    if (!gst) gst = eb_dist_sum_f64(d->dist, &failed, 1, err);
    free(mine);
    if (st) return st;
    if (gst) return gst;
    if (failed > 0.0)
        return eb_error_set(err, EB_ERR_STATE, "%s detector: scoring failed on another rank",
                            d->method->name);
    return EB_OK;
}

eb_status eb_detector_distribute(eb_detector *d, const eb_dist *dist, bool release, eb_error *err) {
    if (!d) return eb_error_set(err, EB_ERR_ARG, "detector: NULL pointer");
    if (d->released && dist != d->dist)
        return eb_error_set(err, EB_ERR_STATE, "%s detector: already holds only one rank's share of its bank",
                            methods[d->kind]->name);
    d->dist = dist;
    if (release && d->fitted && !d->released && eb_dist_size(dist) > 1 && d->method->release_share) {
        d->method->release_share(d);
        d->released = true;
    }
    return EB_OK;
}

eb_status eb_detector_score(eb_detector *d, const eb_detector_data *data, float *scores, eb_error *err) {
    if (!d) return eb_error_set(err, EB_ERR_ARG, "detector: NULL pointer");
    if (!d->fitted)
        return eb_error_set(err, EB_ERR_STATE, "%s detector: not fitted (call eb_detector_fit or load one)",
                            methods[d->kind]->name);
    eb_status st = check_data(d, data, eb_detector_score_needs(d), false, "", err);
    if (st) return st;
    if (data->n == 0) return EB_OK;
    if (!scores) return eb_error_set(err, EB_ERR_ARG, "scores: NULL pointer");
    return method_score(d, data, scores, err);
}

static int cmp_float_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

eb_status eb_detector_calibrate(eb_detector *d, const float *id_scores, int64_t n, double tpr,
                                eb_error *err) {
    if (!d) return eb_error_set(err, EB_ERR_ARG, "detector: NULL pointer");
    if (!d->fitted) return eb_error_set(err, EB_ERR_STATE, "%s detector: not fitted", methods[d->kind]->name);
    if (n < 1 || !id_scores)
        return eb_error_set(err, EB_ERR_ARG, "calibrate: need at least 1 ID score (got %lld)", (long long)n);
    if (!(tpr > 0.0 && tpr <= 1.0))
        return eb_error_set(err, EB_ERR_ARG, "tpr: must be in (0, 1] (got %g)", tpr);
    eb_status st = check_finite("", "id_scores", id_scores, n, 1, err);
    if (st) return st;
    float *s = malloc((size_t)n * sizeof *s);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "calibrate: out of memory");
    memcpy(s, id_scores, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_float_desc);
    /* m = the smallest count with m/n >= tpr, compared in double as eval's fpr95_id does */
    int64_t m = (int64_t)ceil(tpr * (double)n);
    if (m < 1) m = 1;
    if (m > n) m = n;
    while (m > 1 && (double)(m - 1) / (double)n >= tpr) m--;
    while (m < n && (double)m / (double)n < tpr) m++;
    d->threshold = (double)s[m - 1];
    d->params.tpr = tpr;
    free(s);
    return EB_OK;
}

eb_status eb_detector_predict(eb_detector *d, const eb_detector_data *data, float *scores, uint8_t *is_id,
                              eb_error *err) {
    if (!d) return eb_error_set(err, EB_ERR_ARG, "detector: NULL pointer");
    if (d->fitted && isnan(d->threshold))
        return eb_error_set(
            err, EB_ERR_STATE,
            "%s detector: no threshold (fit with ID validation data or call eb_detector_calibrate)",
            methods[d->kind]->name);
    if (!data) return eb_error_set(err, EB_ERR_ARG, "data: NULL pointer");
    if (data->n > 0 && !is_id) return eb_error_set(err, EB_ERR_ARG, "is_id: NULL pointer");
    float *own = NULL;
    if (!scores && data->n > 0) {
        own = malloc((size_t)data->n * sizeof *own);
        if (!own) return eb_error_set(err, EB_ERR_NOMEM, "predict: out of memory");
        scores = own;
    }
    eb_status st = eb_detector_score(d, data, scores, err);
    for (int64_t i = 0; !st && i < data->n; i++) is_id[i] = (double)scores[i] >= d->threshold ? 1 : 0;
    free(own);
    return st;
}

/* ---- save / load ------------------------------------------------------------------------------------ */

/* JSON object of the parameters the kind uses (malloc'd). */
static char *params_json(eb_detector_kind kind, const eb_detector_params *p) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    for (int i = 0; i < N_PARAM_ROWS; i++)
        if (eb_detector_params_used(kind) & param_rows[i].bit)
            cJSON_AddNumberToObject(o, param_rows[i].desc.key, eb_param_get(&param_rows[i].desc, p));
    if (methods[kind]->params_to_json && !methods[kind]->params_to_json(kind, p, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

eb_status eb_detector_save(const eb_detector *d, const char *path, const eb_st_meta *extra, int n_extra,
                           eb_error *err) {
    if (!d || !path) return eb_error_set(err, EB_ERR_ARG, "save: NULL pointer");
    if (!d->fitted)
        return eb_error_set(err, EB_ERR_STATE, "%s: the %s detector is not fitted", path,
                            methods[d->kind]->name);
    if (n_extra < 0 || (n_extra > 0 && !extra))
        return eb_error_set(err, EB_ERR_ARG, "%s: invalid extra metadata (n_extra = %d)", path, n_extra);
    if (d->released)
        return eb_error_set(err, EB_ERR_STATE, "%s: the %s detector holds only one rank's share of its bank",
                            path, methods[d->kind]->name);
    eb_st_tensor tensors[EB__DETECTOR_MAX_TENSORS];
    int n_tensors = d->method->tensors ? d->method->tensors(d, tensors, EB__DETECTOR_MAX_TENSORS) : 0;
    enum { N_OWN = 8 };
    eb_st_meta *meta = calloc((size_t)n_extra + N_OWN, sizeof *meta);
    char *params = params_json(d->kind, &d->params);
    if (!meta || !params) {
        free(meta);
        free(params);
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    char version[16], threshold[40], dim[24], n_classes[24], input_dim[24];
    snprintf(version, sizeof version, "%d", EB_DETECTOR_FORMAT_VERSION);
    if (isnan(d->threshold))
        snprintf(threshold, sizeof threshold, "none");
    else
        snprintf(threshold, sizeof threshold, "%.17g", d->threshold);
    snprintf(dim, sizeof dim, "%lld", (long long)d->dim);
    snprintf(n_classes, sizeof n_classes, "%lld", (long long)d->n_classes);
    snprintf(input_dim, sizeof input_dim, "%lld", (long long)d->input_dim);
    meta[0] = (eb_st_meta){"ebood.format_version", version};
    meta[1] = (eb_st_meta){"ebood.detector", methods[d->kind]->name};
    meta[2] = (eb_st_meta){"ebood.params", params};
    meta[3] = (eb_st_meta){"ebood.threshold", threshold};
    meta[4] = (eb_st_meta){"ebood.dim", dim};
    meta[5] = (eb_st_meta){"ebood.n_classes", n_classes};
    meta[6] = (eb_st_meta){"ebood.input_dim", input_dim};
    meta[7] = (eb_st_meta){"ebood.note", d->note};
    for (int i = 0; i < n_extra; i++) meta[N_OWN + i] = extra[i];
    eb_status st = eb_safetensors_write(path, tensors, n_tensors, meta, N_OWN + n_extra, err);
    free(meta);
    free(params);
    return st;
}

eb_status eb__detector_check_f32(const eb_safetensors *file, const char *name, int ndim, const int64_t *shape,
                                 eb_error *err) {
    eb_status st = eb_safetensors_check_f32(file, name, ndim, shape, err);
    if (st == EB_ERR_SHAPE) { /* a mis-shaped tensor is a malformed file */
        st = EB_ERR_FORMAT;
        if (err) err->status = st;
    }
    return st;
}

eb_status eb__detector_get_f32(const eb_safetensors *file, const char *name, int ndim, const int64_t *shape,
                               float **out, eb_error *err) {
    *out = NULL;
    eb_status st = eb__detector_check_f32(file, name, ndim, shape, err); /* before allocating */
    if (st) return st;
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) count *= shape[i];
    float *buf = malloc((size_t)(count > 0 ? count : 1) * sizeof *buf);
    if (!buf) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", eb_safetensors_path(file));
    st = eb_safetensors_get_f32(file, name, ndim, shape, buf, err);
    for (int64_t i = 0; !st && i < count; i++)
        if (!isfinite(buf[i]))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': element %lld is %s",
                              eb_safetensors_path(file), name, (long long)i, nonfinite_name(buf[i]));
    if (st) {
        free(buf);
        return st;
    }
    *out = buf;
    return EB_OK;
}

/* Parses a whole-string decimal integer in [lo, hi]. */
static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static eb_status load_params(const char *path, eb_detector_kind kind, const char *json, eb_detector_params *p,
                             eb_error *err) {
    *p = eb_detector_default_params(kind);
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return eb_error_set(err, EB_ERR_FORMAT, "%s: ebood.params is not a JSON object", path);
    }
    eb_status st = EB_OK;
    const cJSON *item;
    cJSON_ArrayForEach(item, o) {
        const char *nested = methods[kind]->params_json_key;
        if (nested && strcmp(item->string, nested) == 0) {
            eb_error herr = {0};
            if (methods[kind]->params_from_json(kind, item, p, &herr)) {
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: ebood.params: %s: %s", path, nested, herr.message);
                break;
            }
            continue;
        }
        int i = 0;
        while (i < N_PARAM_ROWS && strcmp(param_rows[i].desc.key, item->string) != 0) i++;
        if (i == N_PARAM_ROWS || !(eb_detector_params_used(kind) & param_rows[i].bit)) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: ebood.params: unknown key '%s' for %s", path,
                              item->string, methods[kind]->name);
            break;
        }
        const eb_param_desc *d = &param_rows[i].desc;
        double v = item->valuedouble;
        char text[64];
        snprintf(text, sizeof text, "%.17g", v);
        eb_error perr = {0};
        if (!cJSON_IsNumber(item) || !isfinite(v) || eb_param_parse(d, text, p, &perr)) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: ebood.params: bad value for '%s'", path, item->string);
            break;
        }
    }
    cJSON_Delete(o);
    eb_error perr = {0};
    if (!st && eb_detector_params_check(kind, p, &perr))
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: ebood.params: %s", path, perr.message);
    return st;
}

/* The metadata of a detector file: its method (kind, name *method), dimensions dims = (dim, n_classes,
 * input_dim), parameters and threshold (NaN for "none"), each checked. */
static eb_status read_metadata(const char *path, const eb_safetensors *file, eb_detector_kind *kind,
                               const char **method, int64_t dims[3], eb_detector_params *params,
                               double *threshold, eb_error *err) {
    char names[512];
    const char *version = eb_safetensors_meta(file, "ebood.format_version");
    const char *params_s = eb_safetensors_meta(file, "ebood.params");
    const char *threshold_s = eb_safetensors_meta(file, "ebood.threshold");
    const char *dim_keys[3] = {"ebood.dim", "ebood.n_classes", "ebood.input_dim"};
    int64_t v = 0;
    eb_status st = EB_OK;
    *method = eb_safetensors_meta(file, "ebood.detector");
    if (!version || !*method)
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: not an ebood detector file (no ebood.detector metadata)",
                          path);
    else if (!parse_int(version, 1, INT32_MAX, &v))
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: malformed ebood.format_version '%s'", path, version);
    else if (v > EB_DETECTOR_FORMAT_VERSION)
        st = eb_error_set(err, EB_ERR_UNSUPPORTED,
                          "%s: detector format version %lld (this ebood reads up to %d)", path, (long long)v,
                          EB_DETECTOR_FORMAT_VERSION);
    else if (eb_detector_kind_parse(*method, kind, NULL))
        st = eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: unknown detector method '%s' (this ebood knows %s)",
                          path, *method, kind_list(names, sizeof names));
    else if (!params_s || !threshold_s)
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: missing ebood.%s metadata", path,
                          !params_s ? "params" : "threshold");
    for (int i = 0; i < 3 && !st; i++)
        if (!parse_int(eb_safetensors_meta(file, dim_keys[i]), 0, INT32_MAX, &dims[i]))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: missing or malformed %s metadata", path, dim_keys[i]);
    if (!st) st = load_params(path, *kind, params_s, params, err);
    if (!st && strcmp(threshold_s, "none") != 0) {
        char *end;
        errno = 0;
        *threshold = strtod(threshold_s, &end);
        if (errno || *end || !*threshold_s || !isfinite(*threshold))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: malformed ebood.threshold '%s'", path, threshold_s);
    }
    return st;
}

/* The dimensions dims of the file on d, each one d's method needs at least 1. */
static eb_status set_dims(eb_detector *d, const int64_t dims[3], const char *path, const char *method,
                          eb_error *err) {
    const unsigned needs = method_fit_needs(d) | eb_detector_score_needs(d);
    d->dim = dims[0];
    d->n_classes = dims[1];
    d->input_dim = dims[2];
    if (((needs & EB_NEEDS_FEATURES) && d->dim < 1) ||
        ((needs & (EB_NEEDS_LOGITS | EB_NEEDS_LABELS)) && d->n_classes < 1) ||
        ((method_fit_needs(d) & EB_NEEDS_MODEL) && d->input_dim < 1))
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: ebood.dim/n_classes/input_dim (%lld/%lld/%lld) do not fit %s", path,
                            (long long)d->dim, (long long)d->n_classes, (long long)d->input_dim, method);
    return EB_OK;
}

/* Every tensor in the file must be one that d's method reads. */
static eb_status check_tensors(const eb_detector *d, const eb_safetensors *file, const char *path,
                               const char *method, eb_error *err) {
    eb_st_tensor expected[EB__DETECTOR_MAX_TENSORS];
    int n_expected = d->method->tensors ? d->method->tensors(d, expected, EB__DETECTOR_MAX_TENSORS) : 0;
    for (int i = 0; i < eb_safetensors_count(file); i++) {
        const char *name = eb_safetensors_at(file, i)->name;
        bool known = false;
        for (int j = 0; j < n_expected && !known; j++) known = strcmp(expected[j].name, name) == 0;
        if (!known)
            return eb_error_set(err, EB_ERR_FORMAT, "%s: unexpected tensor '%s' in a %s detector", path, name,
                                method);
    }
    return EB_OK;
}

eb_status eb_detector_load(const char *path, eb_detector **out, eb_error *err) {
    if (!out || !path) return eb_error_set(err, EB_ERR_ARG, "load: NULL pointer");
    *out = NULL;
    eb_safetensors *file = NULL;
    eb_status st = eb_safetensors_read(path, &file, err);
    if (st) return st;
    const char *method = NULL;
    int64_t dims[3] = {0, 0, 0};
    eb_detector_kind kind = EB_DETECTOR_MSP;
    eb_detector_params params;
    double threshold = NAN;
    eb_detector *d = NULL;
    st = read_metadata(path, file, &kind, &method, dims, &params, &threshold, err);
    if (!st) st = eb_detector_new(kind, &params, &d, err);
    if (!st) st = set_dims(d, dims, path, method, err);
    if (!st && d->method->load) st = d->method->load(d, file, err);
    if (!st) st = check_tensors(d, file, path, method, err);
    if (!st) {
        const char *note = eb_safetensors_meta(file, "ebood.note");
        d->fitted = true;
        d->threshold = threshold;
        snprintf(d->note, sizeof d->note, "%s", note ? note : "");
        *out = d;
    } else {
        eb_detector_free(d);
    }
    eb_safetensors_free(file);
    return st;
}
