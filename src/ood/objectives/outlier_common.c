/* Helpers shared by the objectives (objective_impl.h) and by the outlier objectives (outliers_impl.h). */
#include "ood/objectives/outliers_impl.h"

#include <stdlib.h>

eb_tensor *eb__rows(eb_graph *g, eb_tensor *x, int64_t begin, int64_t n) {
    int64_t *index = malloc((size_t)(n > 0 ? n : 1) * sizeof *index);
    if (!index) {
        eb_graph_fail(g, EB_ERR_NOMEM, "out of memory (%lld row indices)", (long long)n);
        return x;
    }
    for (int64_t i = 0; i < n; i++) index[i] = begin + i;
    eb_tensor *out = eb_gather_rows(g, x, index, n); /* copies the index */
    free(index);
    return out;
}

int64_t eb__count_correct(const eb_tensor *logits, const int32_t *labels, int64_t n) {
    const int64_t c = logits->shape[1];
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = logits->data + i * c;
        int64_t best = 0;
        for (int64_t k = 1; k < c; k++)
            if (row[k] > row[best]) best = k;
        correct += best == labels[i];
    }
    return correct;
}

bool eb__outlier_split(eb_graph *g, const char *who, eb_tensor *logits, const eb_batch *batch, eb_tensor **ce,
                       eb_tensor **aux_logits, int64_t *n_correct) {
    if (!batch->labels || batch->size < 1 || batch->n_aux < 1) {
        eb_graph_fail(g, EB_ERR_ARG,
                      "%s objective: needs labelled ID rows and auxiliary outliers (got %lld "
                      "ID rows%s, %lld auxiliary)",
                      who, (long long)batch->size, batch->labels ? "" : " without labels",
                      (long long)batch->n_aux);
        return false;
    }
    if (eb_graph_status(g)) return false;
    eb_tensor *id = eb__rows(g, logits, 0, batch->size);
    *aux_logits = eb__rows(g, logits, batch->size, batch->n_aux);
    *ce = eb_cross_entropy(g, id, batch->labels);
    if (n_correct && eb_graph_status(g) == EB_OK)
        *n_correct = eb__count_correct(logits, batch->labels, batch->size);
    return eb_graph_status(g) == EB_OK;
}

eb_status eb__predict_set_rows(eb_model *m, const eb_image_set *set, const int64_t *rows, int64_t n,
                               const eb_image_transforms *t, float *logits, float *features, eb_error *err) {
    if (t->crop_padding > 0 || t->hflip || t->noise_std > 0)
        return eb_error_set(err, EB_ERR_ARG,
                            "predicting a set: only normalisation may be on (no crop, flip, noise)");
    enum { CHUNK = 1024 };
    const int64_t dim = eb_image_set_image_size(set), c = eb_model_out_dim(m), f = eb_model_feature_dim(m);
    const int64_t chunk = n < CHUNK ? n : CHUNK;
    float *x = malloc((size_t)((chunk > 0 ? chunk : 1) * dim) * sizeof *x);
    float *lg = logits ? NULL : malloc((size_t)((chunk > 0 ? chunk : 1) * c) * sizeof *lg);
    if (!x || (!logits && !lg)) {
        free(x);
        free(lg);
        return eb_error_set(err, EB_ERR_NOMEM, "predicting a set: out of memory");
    }
    eb_rng unused;
    eb_rng_seed(&unused, 0);
    eb_status st = EB_OK;
    for (int64_t i0 = 0; i0 < n && !st; i0 += chunk) {
        const int64_t k = n - i0 < chunk ? n - i0 : chunk;
        eb_image_transforms_apply(t, set, rows + i0, k, x, &unused);
        st = eb_model_predict(m, x, k, 256, logits ? logits + i0 * c : lg,
                              features ? features + i0 * f : NULL, err);
    }
    free(x);
    free(lg);
    return st;
}
