/* A detector on model inputs (what `ebood fit --model` and `ebood score --model` run): the network's logits
 * — and its penultimate features when the detector reads them — computed once per set of rows, then the
 * detector's fit or scores. */
#include <ebood/ood.h>

#include <math.h>
#include <stdlib.h>

/* Logits (always; freed at once when not wanted) and features (when want_f) of n rows. */
static eb_status forward(eb_model *m, const float *x, int64_t n, int64_t batch, bool want_l, bool want_f,
                         float **logits, float **feat, eb_error *err) {
    const int64_t rows = n > 0 ? n : 1;
    float *l = malloc((size_t)(rows * eb_model_out_dim(m)) * sizeof *l);
    float *f = want_f ? malloc((size_t)(rows * eb_model_feature_dim(m)) * sizeof *f) : NULL;
    eb_status st = (!l || (want_f && !f)) ? eb_error_set(err, EB_ERR_NOMEM, "detector: out of memory")
                                          : eb_model_predict(m, x, n, batch > 0 ? batch : 256, l, f, err);
    if (st || !want_l) free(l);
    if (st) free(f);
    *logits = st || !want_l ? NULL : l;
    *feat = st ? NULL : f;
    return st;
}

static eb_detector_data rows_data(eb_model *m, const float *x, int64_t n, const float *logits,
                                  const float *feat, const float *input_std, int64_t n_input_std) {
    return (eb_detector_data){.n = n,
                              .features = feat,
                              .dim = eb_model_feature_dim(m),
                              .logits = logits,
                              .n_classes = eb_model_out_dim(m),
                              .inputs = x,
                              .input_dim = eb_model_in_dim(m),
                              .input_std = input_std,
                              .n_input_std = input_std ? n_input_std : 0,
                              .model = m};
}

eb_status eb_detector_fit_inputs(eb_detector *d, const eb_detector_inputs *in, eb_error *err) {
    const unsigned fit = eb_detector_fit_needs(d), score = eb_detector_score_needs(d);
    const unsigned out = EB_NEEDS_FEATURES | EB_NEEDS_LOGITS;
    float *l = NULL, *f = NULL, *vl = NULL, *vf = NULL, *af = NULL, *skip_l = NULL;
    eb_model *m = in->model;
    eb_status st = EB_OK;
    /* one forward pass over the rows, only if fit reads its outputs (odin reads the model alone) */
    if (fit & out)
        st = forward(m, in->x, in->n, in->batch, true, (fit & EB_NEEDS_FEATURES) != 0, &l, &f, err);
    if (!st && in->aux_x) st = forward(m, in->aux_x, in->n_aux, in->batch, false, true, &skip_l, &af, err);
    if (!st && in->val_x && (score & out))
        st = forward(m, in->val_x, in->n_val, in->batch, true, (score & EB_NEEDS_FEATURES) != 0, &vl, &vf,
                     err);
    eb_detector_data t = rows_data(m, in->x, in->n, l, f, in->input_std, in->n_input_std);
    t.labels = in->labels;
    t.aux_features = af;
    t.n_aux = in->aux_x ? in->n_aux : 0;
    const eb_detector_data v = rows_data(m, in->val_x, in->n_val, vl, vf, in->input_std, in->n_input_std);
    if (!st) st = eb_detector_fit(d, &t, in->val_x ? &v : NULL, err);
    free(l);
    free(f);
    free(vl);
    free(vf);
    free(af);
    return st;
}

eb_status eb_detector_score_inputs(eb_detector *d, eb_model *m, const float *x, int64_t n,
                                   const float *input_std, int64_t n_input_std, int64_t batch, float *scores,
                                   uint8_t *is_id, eb_error *err) {
    const bool want_f = (eb_detector_score_needs(d) & EB_NEEDS_FEATURES) != 0;
    if (want_f && eb_model_feature_dim(m) != eb_detector_dim(d))
        return eb_error_set(err, EB_ERR_SHAPE,
                            "model: %lld penultimate features, the detector was fitted on %lld",
                            (long long)eb_model_feature_dim(m), (long long)eb_detector_dim(d));
    float *logits = NULL, *feat = NULL;
    eb_status st = forward(m, x, n, batch, true, want_f, &logits, &feat, err);
    const eb_detector_data data = rows_data(m, x, n, logits, feat, input_std, n_input_std);
    if (!st)
        st = !isnan(eb_detector_threshold(d)) && is_id ? eb_detector_predict(d, &data, scores, is_id, err)
                                                       : eb_detector_score(d, &data, scores, err);
    free(logits);
    free(feat);
    return st;
}
