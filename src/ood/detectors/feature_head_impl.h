/* The classifier head shared by the activation-shaping detectors (react.c, ash.c, scale.c): at fit the
 * model's last linear layer W [C, D], b [C] is copied (so scoring needs the features only, like the other
 * feature detectors); a score is the energy T·logsumexp((W·a(z) + b)/T) of a reshaped feature row a(z).
 * Saved as the tensors "head.weight" [C, D], "head.bias" [C] and, when used, "head.clip" [1] (ReAct). */
#ifndef EBOOD_FEATURE_HEAD_IMPL_H
#define EBOOD_FEATURE_HEAD_IMPL_H

#include "ood/detector_impl.h"

typedef struct eb__feature_head {
    float *w, *b; /* [C, D], [C] */
    float clip;   /* ReAct's activation threshold (NAN when unused) */
} eb__feature_head;

/* a[D] = the reshaped row z[D] (the detector's parameters in d); work[2·D] scratch. false when the row cannot
 * be reshaped (a non-finite scale), naming nothing: the caller names the row. */
typedef bool (*eb__feature_shape_fn)(const eb_detector *d, const float *z, int64_t dim, float *a,
                                     float *work);

/* Copies the model's last linear layer into a new d->state (EB_ERR_SHAPE when the model's penultimate
 * width is not d->dim or its last layer is not a linear [C, D] layer with a bias). */
eb_status eb__feature_head_fit(eb_detector *d, const eb_model *m, eb_error *err);
/* scores of data->features reshaped by shape (chunks of rows, one GEMM each). */
eb_status eb__feature_head_score(eb_detector *d, const eb_detector_data *x, eb__feature_shape_fn shape,
                                 float *scores, eb_error *err);
int eb__feature_head_tensors(const eb_detector *d, eb_st_tensor *out, int max);
eb_status eb__feature_head_load(eb_detector *d, const eb_safetensors *file, eb_error *err);
void eb__feature_head_free(eb_detector *d);
unsigned eb__feature_head_score_needs(const eb_detector *d);

/* The k of top-k kept at percentile p of D values: D − round(D·p/100) (ASH's, np.round: half to even). */
int64_t eb__feature_keep_count(int64_t dim, float percentile);
/* keep[j] = 1 for the k largest of z[D], else 0 (ties at the k-th value: the lower indices first);
 * sorted[D] scratch. Returns the sum of the kept values (in double). */
double eb__feature_top_k(const float *z, int64_t dim, int64_t k, float *sorted, float *keep);

/* The vtable rows shared by react, ash_s/p/b and scale. */
#define EB__FEATURE_HEAD_METHOD                                                                              \
    .needs = EB_NEEDS_FEATURES | EB_NEEDS_MODEL, .score_needs = eb__feature_head_score_needs,                \
    .tensors = eb__feature_head_tensors, .load = eb__feature_head_load, .free_state = eb__feature_head_free, \
    .params_used = EB_PARAM_TEMPERATURE | EB_PARAM_PERCENTILE

#endif
