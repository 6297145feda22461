/* Parameter descriptors (include/ebood/params.h): reading, parsing and formatting one field of a method's
 * params struct by its row. */
#include <ebood/ebm.h>
#include <ebood/params.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *field(const eb_param_desc *d, void *params) { return (char *)params + d->offset; }

double eb_param_get(const eb_param_desc *d, const void *params) {
    const void *f = (const char *)params + d->offset;
    switch (d->type) {
    case EB_PARAM_TYPE_I64: return (double)*(const int64_t *)f;
    case EB_PARAM_TYPE_INT: return (double)*(const int *)f;
    case EB_PARAM_TYPE_F32: return (double)*(const float *)f;
    case EB_PARAM_TYPE_F64: return *(const double *)f;
    case EB_PARAM_TYPE_BOOL: return *(const bool *)f ? 1.0 : 0.0;
    case EB_PARAM_TYPE_DECAY: return ((const eb_decay *)f)->start;
    }
    return NAN;
}

static void set(const eb_param_desc *d, void *params, double v) {
    void *f = field(d, params);
    switch (d->type) {
    case EB_PARAM_TYPE_I64: *(int64_t *)f = (int64_t)v; break;
    case EB_PARAM_TYPE_INT: *(int *)f = (int)v; break;
    case EB_PARAM_TYPE_F32: *(float *)f = (float)v; break;
    case EB_PARAM_TYPE_F64: *(double *)f = v; break;
    case EB_PARAM_TYPE_BOOL: *(bool *)f = v != 0.0; break;
    case EB_PARAM_TYPE_DECAY: *(eb_decay *)f = (eb_decay){v, v, EB_DECAY_CONSTANT}; break;
    }
}

static bool integral(const eb_param_desc *d) {
    return d->type == EB_PARAM_TYPE_I64 || d->type == EB_PARAM_TYPE_INT;
}

void eb_param_describe_range(const eb_param_desc *d, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    int n_sym = 0;
    while (d->symbols && d->symbols[n_sym].name) n_sym++;
    for (int i = 0; i < n_sym; i++) {
        bool last = i == n_sym - 1 && d->symbols_only;
        used += (size_t)snprintf(buf + used, used < size ? size - used : 0, "%s%s",
                                 i == 0 ? ""
                                 : last ? " or "
                                        : ", ",
                                 d->symbols[i].name);
    }
    if (d->symbols_only || used >= size) return;
    if (d->type == EB_PARAM_TYPE_BOOL) {
        snprintf(buf + used, size - used, "%strue or false", n_sym ? ", " : "");
        return;
    }
    snprintf(buf + used, size - used, "%s%s in %c%.10g, %.10g]", n_sym ? " or " : "",
             integral(d) ? "an integer" : "a finite number", d->min_open ? '(' : '[', d->min, d->max);
}

eb_status eb_param_parse(const eb_param_desc *d, const char *text, void *params, eb_error *err) {
    for (int i = 0; text && d->symbols && d->symbols[i].name; i++)
        if (strcmp(text, d->symbols[i].name) == 0) {
            set(d, params, d->symbols[i].value);
            return EB_OK;
        }
    char range[160];
    eb_param_describe_range(d, range, sizeof range);
    double v = NAN;
    bool ok = text && *text && !d->symbols_only;
    if (ok && d->type == EB_PARAM_TYPE_BOOL) {
        ok = !strcmp(text, "true") || !strcmp(text, "false") || !strcmp(text, "1") || !strcmp(text, "0");
        v = !strcmp(text, "true") || !strcmp(text, "1");
    } else if (ok) {
        char *end;
        errno = 0;
        if (integral(d)) {
            long long i = strtoll(text, &end, 10);
            v = (double)i;
        } else {
            v = strtod(text, &end);
        }
        ok = errno == 0 && end != text && *end == 0 && isfinite(v);
    }
    if (!ok)
        return eb_error_set(err, EB_ERR_ARG, "--%s: expected %s, got '%s'", d->flag, range, text ? text : "");
    if (d->type != EB_PARAM_TYPE_BOOL && (v < d->min || v > d->max || (d->min_open && v <= d->min)))
        return eb_error_set(err, EB_ERR_ARG, "--%s: %s is out of range (expected %s)", d->flag, text, range);
    set(d, params, v);
    return EB_OK;
}

void eb_param_format(const eb_param_desc *d, const void *params, char *buf, size_t size) {
    double v = eb_param_get(d, params);
    for (int i = 0; d->symbols && d->symbols[i].name; i++)
        if (d->symbols[i].value == v) {
            snprintf(buf, size, "%s", d->symbols[i].name);
            return;
        }
    if (d->type == EB_PARAM_TYPE_BOOL)
        snprintf(buf, size, "%s", v != 0.0 ? "true" : "false");
    else if (integral(d))
        snprintf(buf, size, "%lld", (long long)v);
    else
        snprintf(buf, size, "%.6g", v);
}
