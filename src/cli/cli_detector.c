/* Helpers shared by ebood fit / score / eval (src/cli/cli_detector_impl.h). */
#include "cli/cli_detector_impl.h"

#include <ebood/ebm.h>

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
    const cli_flag heat[] = {CLI_HEAT_FLAGS(*v)};
    memcpy(out + n, heat, sizeof heat);
    return n + (int)(sizeof heat / sizeof heat[0]);
}

/* HEAT's flags (CLI_HEAT_FLAGS) and the kinds that read them. */
enum { HK_GMM = 1, HK_HEAT = 2, HK_COMBINED = 4, HK_EBM = HK_HEAT | HK_COMBINED };
static const struct {
    const char *name;
    unsigned kinds;
} heat_flags[] = {
    {"prior", HK_HEAT},
    {"heat-preset", HK_EBM},
    {"ridge", HK_GMM | HK_EBM},
    {"ebm-width", HK_EBM},
    {"ebm-depth", HK_EBM},
    {"ebm-tied", HK_EBM},
    {"ebm-no-relu", HK_EBM},
    {"ebm-seed", HK_EBM},
    {"ebm-epochs", HK_EBM},
    {"ebm-batch-size", HK_EBM},
    {"ebm-lr", HK_EBM},
    {"ebm-l2", HK_EBM},
    {"ebm-temperature", HK_EBM},
    {"prior-temperature", HK_EBM},
    {"ebm-input-noise", HK_EBM},
    {"sgld-steps", HK_EBM},
    {"sgld-step-size", HK_EBM},
    {"sgld-noise", HK_EBM},
    {"sgld-decay", HK_EBM},
    {"sgld-decay-end", HK_EBM},
    {"stats-batch", HK_COMBINED},
    {"no-normalize", HK_GMM | HK_EBM},
    {"no-std-block", HK_COMBINED},
};

static unsigned heat_kind_bit(eb_detector_kind k) {
    return k == EB_DETECTOR_GMM             ? HK_GMM
           : k == EB_DETECTOR_HEAT          ? HK_HEAT
           : k == EB_DETECTOR_HEAT_COMBINED ? HK_COMBINED
                                            : 0;
}

/* Applies the HEAT flags to p (a heat kind). false after printing on a bad name. */
static bool apply_heat_flags(const char *cmd, const cli_flag *flags, int n_flags, const cli_detector_flags *v,
                             eb_detector_kind kind, eb_heat_params *p) {
#define SEEN(name) cli_flag_seen(flags, n_flags, name)
    eb_error err = {0};
    if (kind == EB_DETECTOR_HEAT && SEEN("prior") && eb_heat_prior_parse(v->prior, &p->prior, &err)) {
        fprintf(stderr, "ebood %s: --prior: %s\n", cmd, err.message);
        return false;
    }
    if (kind != EB_DETECTOR_GMM && SEEN("heat-preset")) {
        if (strcmp(v->heat_preset, "paper") && strcmp(v->heat_preset, "code")) {
            fprintf(stderr, "ebood %s: --heat-preset: unknown preset '%s' (paper or code)\n", cmd,
                    v->heat_preset);
            return false;
        }
        const eb_heat_params base =
            !strcmp(v->heat_preset, "code") ? eb_heat_code_params() : eb_heat_default_params();
        p->gmm = base.gmm;
        p->el = base.el;
        p->none = base.none;
        p->gmm_std = base.gmm_std;
    }
    eb_decay_kind decay = EB_DECAY_QUADRATIC;
    if (SEEN("sgld-decay") && eb_decay_kind_parse(v->sgld_decay, &decay, &err)) {
        fprintf(stderr, "ebood %s: --sgld-decay: %s\n", cmd, err.message);
        return false;
    }
    if (SEEN("ridge")) p->ridge = (float)v->ridge;
    if (SEEN("no-normalize")) p->normalize = !v->no_normalize;
    if (kind == EB_DETECTOR_GMM) return true;
    if (SEEN("ebm-width")) p->width = v->ebm_width;
    if (SEEN("ebm-depth")) p->depth = v->ebm_depth;
    if (SEEN("ebm-tied")) p->tied = v->ebm_tied;
    if (SEEN("ebm-no-relu")) p->relu = !v->ebm_no_relu;
    if (SEEN("ebm-seed")) p->seed = (uint64_t)v->ebm_seed;
    if (SEEN("stats-batch")) p->stats_batch = v->stats_batch;
    if (SEEN("no-std-block")) p->std_block = !v->no_std_block;
    /* the block(s) of the EBM(s) this kind trains */
    eb_heat_ebm *blocks[3] = {NULL, NULL, NULL};
    if (kind == EB_DETECTOR_HEAT_COMBINED) {
        blocks[0] = &p->gmm;
        blocks[1] = &p->el;
        blocks[2] = p->std_block ? &p->gmm_std : NULL;
    } else {
        blocks[0] = p->prior == EB_HEAT_PRIOR_GMM  ? &p->gmm
                    : p->prior == EB_HEAT_PRIOR_EL ? &p->el
                                                   : &p->none;
    }
    for (int b = 0; b < 3 && blocks[b]; b++) {
        eb_heat_ebm *e = blocks[b];
        if (SEEN("ebm-epochs")) e->epochs = v->ebm_epochs;
        if (SEEN("ebm-batch-size")) e->batch_size = v->ebm_batch_size;
        if (SEEN("ebm-lr")) e->lr = (float)v->ebm_lr;
        if (SEEN("ebm-l2")) e->l2 = (float)v->ebm_l2;
        if (SEEN("ebm-temperature")) e->temperature = (float)v->ebm_temperature;
        if (SEEN("prior-temperature")) e->prior_temperature = (float)v->prior_temperature;
        if (SEEN("ebm-input-noise")) e->input_noise = (float)v->ebm_input_noise;
        if (SEEN("sgld-steps")) e->steps = v->sgld_steps;
        if (SEEN("sgld-step-size")) e->step_size = (float)v->sgld_step_size;
        if (SEEN("sgld-noise")) e->noise = (float)v->sgld_noise;
        if (SEEN("sgld-decay")) e->decay = (int)decay;
        if (SEEN("sgld-decay-end")) e->decay_end = (float)v->sgld_decay_end;
    }
#undef SEEN
    return true;
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
    for (int h = 0; h < (int)(sizeof heat_flags / sizeof heat_flags[0]); h++) {
        if (!cli_flag_seen(flags, n_flags, heat_flags[h].name)) continue;
        bool used = false;
        for (int i = 0; i < n_kinds; i++) used |= (heat_kind_bit(kinds[i]) & heat_flags[h].kinds) != 0;
        if (!used) return not_applicable(cmd, heat_flags[h].name, kinds, n_kinds);
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
        if ((used & EB_PARAM_HEAT) && !apply_heat_flags(cmd, flags, n_flags, v, kinds[i], &p->heat))
            return false;
        if (eb_detector_params_check(kinds[i], p, &err)) {
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
