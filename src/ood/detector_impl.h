/* The detector vtable: one implementation per method, each in its own file under
 * src/ood/detectors/, registered in src/ood/detector.c (which does everything generic: parameter
 * checks, presence/shape/finiteness checks of the data, threshold calibration, save/load). */
#ifndef EBOOD_DETECTOR_IMPL_H
#define EBOOD_DETECTOR_IMPL_H

#include <ebood/ood.h>
#include <ebood/safetensors.h>

#define EB__DETECTOR_MAX_TENSORS 16

typedef struct eb__detector_method {
    const char *name;
    /* EB_NEEDS_* bits fit() needs. Unless score_needs is set, score() needs the same bits minus
     * EB_NEEDS_LABELS and EB_NEEDS_AUX (fit-only inputs). */
    unsigned needs;
    /* Fits d->state from ID training data. Before the call the generic layer has freed any old
     * state, checked that every array `needs` names is present, finite and consistently shaped
     * (labels in range, every class non-empty), and set d->dim (train->dim when FEATURES is
     * needed), d->n_classes (when LOGITS or LABELS), d->input_dim (when MODEL). On failure the
     * method frees what it allocated (or leaves it in d->state for free_state). NULL = nothing to
     * fit. */
    eb_status (*fit)(eb_detector *d, const eb_detector_data *train, eb_error *err);
    /* scores[data->n], n ≥ 1; the generic layer has checked presence, finiteness and dims against
     * d->dim / d->n_classes / d->input_dim of what score_needs names. */
    eb_status (*score)(eb_detector *d, const eb_detector_data *data, float *scores, eb_error *err);
    /* The fitted arrays as safetensors tensors, at most `max` (EB__DETECTOR_MAX_TENSORS); pointers
     * into d->state, valid until the next fit/free. Returns the count. NULL = no arrays. */
    int (*tensors)(const eb_detector *d, eb_st_tensor *out, int max);
    /* Rebuilds d->state from a loaded file. d->params, d->dim, d->n_classes, d->input_dim are
     * already set from the metadata; check every tensor's shape against them (eb__detector_get_f32
     * does) and name the file in errors. NULL = no arrays. */
    eb_status (*load)(eb_detector *d, const eb_safetensors *file, eb_error *err);
    /* Frees d->state (may be called on a partially built state) and sets it to NULL. */
    void (*free_state)(eb_detector *d);
    /* Optional: score() needs, when they depend on the parameters (see needs). */
    unsigned (*score_needs)(const eb_detector *d);
    /* Optional: fit() needs, when they depend on the parameters (replaces `needs`; heat's prior). */
    unsigned (*fit_needs)(const eb_detector *d);
    /* Optional: the method splits its memory bank across d->dist's ranks (bank_shard_impl.h: score()
     * scans this rank's share and merges exactly). release_share frees the rows of the other ranks of a
     * fitted state (eb_detector_distribute with release). NULL: every rank scores everything. */
    void (*release_share)(eb_detector *d);

    /* ---- parameters ---- */
    /* EB_PARAM_* bits of the eb_detector_params fields it reads (tpr is read by every method). */
    unsigned params_used;
    /* Optional: its defaults over the generic ones (temperature 1, k 50, beta 4, percentile 90, …). */
    void (*defaults)(eb_detector_params *p);
    /* Optional: nested parameters beyond the scalar rows (heat's eb_heat_params): the method's check,
     * copying what it reads from `given` into `out` in canonical form, and the JSON object under
     * params_json_key in ebood.params (to_json returns false when out of memory). */
    eb_status (*params_check)(eb_detector_kind kind, const eb_detector_params *p, eb_error *err);
    void (*params_canonical)(eb_detector_kind kind, const eb_detector_params *given, eb_detector_params *out);
    const char *params_json_key;
    bool (*params_to_json)(eb_detector_kind kind, const eb_detector_params *p, void *cjson_object);
    eb_status (*params_from_json)(eb_detector_kind kind, const void *cjson_item, eb_detector_params *p,
                                  eb_error *err);
    /* Optional: the flags of the nested parameters (ood.h's eb_detector_flag), which of them `kind` reads,
     * and applying the values given (eb_detector_params_apply_flags). */
    const eb_detector_flag *flags;
    int n_flags;
    bool (*reads_flag)(eb_detector_kind kind, int row);
    eb_status (*apply_flags)(eb_detector_kind kind, const eb_detector_flag_value *given, int n_given,
                             eb_detector_params *p, eb_error *err);
} eb__detector_method;

struct eb_detector {
    eb_detector_kind kind;
    eb_detector_params params;
    const eb__detector_method *method;
    bool fitted;
    int64_t dim;         /* feature dimension fitted on (0 if unused) */
    int64_t n_classes;   /* classes of logits/labels fitted on (0 if unused) */
    int64_t input_dim;   /* model input dimension (0 if unused) */
    double threshold;    /* NaN until calibrated */
    char note[256];      /* "" or one line from fit (e.g. a covariance ridge) */
    const eb_dist *dist; /* eb_detector_distribute's context (NULL: one process) */
    bool released;       /* the state holds only this rank's share of the bank (cannot be saved) */
    void *state;         /* method-specific, owned */
};

/* One per method file (ood.h's EB_DETECTOR_LIST). */
#define EB__DETECTOR_DECLARE(e, id) extern const eb__detector_method eb__detector_##id;
EB_DETECTOR_LIST(EB__DETECTOR_DECLARE)
#undef EB__DETECTOR_DECLARE

/* The nested eb_heat_params of gmm / heat / heat_combined (src/ood/detectors/heat_params.c), as the
 * vtable's parameter hooks: EB__HEAT_PARAM_HOOKS in their rows (defaults, check, canonical form, JSON,
 * flags). */
void eb__heat_params_defaults(eb_detector_params *p);
eb_status eb__heat_params_check(eb_detector_kind kind, const eb_detector_params *p, eb_error *err);
void eb__heat_params_canonical(eb_detector_kind kind, const eb_detector_params *given,
                               eb_detector_params *out);
bool eb__heat_params_to_json(eb_detector_kind kind, const eb_detector_params *p, void *cjson_object);
eb_status eb__heat_params_from_json(eb_detector_kind kind, const void *cjson_object, eb_detector_params *p,
                                    eb_error *err);
extern const eb_detector_flag eb__heat_flags[];
#define EB__HEAT_N_FLAGS 23 /* rows of eb__heat_flags (checked in heat_params.c) */
bool eb__heat_reads_flag(eb_detector_kind kind, int row);
eb_status eb__heat_apply_flags(eb_detector_kind kind, const eb_detector_flag_value *given, int n_given,
                               eb_detector_params *p, eb_error *err);
#define EB__HEAT_PARAM_HOOKS                                                                                 \
    .defaults = eb__heat_params_defaults, .params_check = eb__heat_params_check,                             \
    .params_canonical = eb__heat_params_canonical, .params_json_key = "heat",                                \
    .params_to_json = eb__heat_params_to_json, .params_from_json = eb__heat_params_from_json,                \
    .flags = eb__heat_flags, .n_flags = EB__HEAT_N_FLAGS, .reads_flag = eb__heat_reads_flag,                 \
    .apply_flags = eb__heat_apply_flags

/* ---- helpers for method files (src/ood/detector.c) ---------------------------------------------- */

/* The descriptor of an F32 tensor of rows × cols floats at data (cols = 0: a 1-D tensor of rows), for a
 * method's tensors(). */
static inline eb_st_tensor eb__f32_tensor(const char *name, const float *data, int64_t rows, int64_t cols) {
    return (eb_st_tensor){.name = name,
                          .dtype = EB_ST_F32,
                          .ndim = cols ? 2 : 1,
                          .shape = {rows, cols},
                          .data = data,
                          .nbytes = (size_t)(rows * (cols ? cols : 1)) * sizeof(float)};
}

/* Records a note on d (printf-style, one line, truncated to fit). */
void eb__detector_note(eb_detector *d, const char *fmt, ...) EB_PRINTF(2, 3);

/* EB_ERR_FORMAT unless the loaded file has the F32 tensor `name` of exactly shape[0..ndim): what a
 * load checks before allocating state whose size the metadata declares. */
eb_status eb__detector_check_f32(const eb_safetensors *file, const char *name, int ndim, const int64_t *shape,
                                 eb_error *err);
/* Allocates (malloc) and fills *out with the F32 tensor `name` of the loaded file, checking its
 * shape is exactly shape[0..ndim) (before allocating) and every value finite. Errors name the file
 * and tensor. */
eb_status eb__detector_get_f32(const eb_safetensors *file, const char *name, int ndim, const int64_t *shape,
                               float **out, eb_error *err);

/* out[i, :] = in[i, :] / max(‖in[i, :]‖₂, 1e-12) for n rows of dim d (torch F.normalize's eps);
 * computed in double, in place allowed (out == in). */
void eb__l2_normalize_rows(float *out, const float *in, int64_t n, int64_t d);

/* The sign used by ODIN/Mahalanobis pre-processing (torch.ge(grad, 0) mapped to ±1): +1 for g ≥ 0
 * (including +0 and −0), −1 otherwise. */
static inline float eb__grad_sign(float g) { return g >= 0.0f ? 1.0f : -1.0f; }

/* The input perturbation of ODIN and the Mahalanobis pre-processing (specs §1), for `rows` rows of
 * data->input_dim values: out = x − eps · sign(grad) / std, with std from data->input_std (see
 * eb_detector_data; NULL = 1). out may not alias grad. */
void eb__perturb_inputs(float *out, const float *x, const float *grad, int64_t rows,
                        const eb_detector_data *data, float eps);

#endif
