/* The classifier head of the activation-shaping detectors (feature_head_impl.h): copying W, b from the
 * model at fit, scoring the energy of W·a(z) + b for reshaped rows a(z), saving and loading W, b (and
 * ReAct's clip), and the top-k selection ASH and SCALE share. */
#include "ood/detectors/feature_head_impl.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { HEAD_CHUNK = 1024 }; /* rows scored per GEMM */

void eb__feature_head_free(eb_detector *d) {
    eb__feature_head *h = d->state;
    if (h) {
        free(h->w);
        free(h->b);
        free(h);
    }
    d->state = NULL;
}

unsigned eb__feature_head_score_needs(const eb_detector *d) {
    (void)d;
    return EB_NEEDS_FEATURES;
}

/* The model's last two parameters: weight [C, D] and bias [C] (eb_model's penultimate → logits layer). */
eb_status eb__feature_head_fit(eb_detector *d, const eb_model *m, eb_error *err) {
    const eb_params *p = &m->params;
    const char *name = eb_detector_kind_name(d->kind);
    const int64_t c = d->n_classes, dim = d->dim;
    if (eb_model_feature_dim(m) != dim)
        return eb_error_set(err, EB_ERR_SHAPE,
                            "model: %lld penultimate features, the training features have dim %lld",
                            (long long)eb_model_feature_dim(m), (long long)dim);
    const eb_param_info *w = p->count >= 2 ? &p->info[p->count - 2] : NULL, *b = w ? w + 1 : NULL;
    if (!w || w->ndim != 2 || w->shape[0] != c || w->shape[1] != dim || b->ndim != 1 || b->shape[0] != c)
        return eb_error_set(err, EB_ERR_SHAPE,
                            "model: its last layer is not a linear layer [%lld, %lld] with a bias (%s)",
                            (long long)c, (long long)dim, name);
    eb__feature_head *h = calloc(1, sizeof *h);
    if (h) {
        h->w = malloc((size_t)(c * dim) * sizeof *h->w);
        h->b = malloc((size_t)c * sizeof *h->b);
        h->clip = NAN;
    }
    d->state = h;
    if (!h || !h->w || !h->b) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", name);
    memcpy(h->w, p->data + w->offset, (size_t)(c * dim) * sizeof *h->w);
    memcpy(h->b, p->data + b->offset, (size_t)c * sizeof *h->b);
    return EB_OK;
}

eb_status eb__feature_head_score(eb_detector *d, const eb_detector_data *x, eb__feature_shape_fn shape,
                                 float *scores, eb_error *err) {
    const eb__feature_head *h = d->state;
    const int64_t dim = d->dim, c = d->n_classes, n = x->n;
    const int64_t chunk = n < HEAD_CHUNK ? n : HEAD_CHUNK;
    float *a = malloc((size_t)(chunk * dim) * sizeof *a),
          *logits = malloc((size_t)(chunk * c) * sizeof *logits);
    float *work = malloc((size_t)(2 * dim) * sizeof *work);
    eb_status st = a && logits && work ? EB_OK
                                       : eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%lld rows)",
                                                      eb_detector_kind_name(d->kind), (long long)chunk);
    for (int64_t i0 = 0; i0 < n && !st; i0 += chunk) {
        const int64_t rows = n - i0 < chunk ? n - i0 : chunk;
        for (int64_t i = 0; i < rows && !st; i++)
            if (!shape(d, x->features + (i0 + i) * dim, dim, a + i * dim, work))
                st = eb_error_set(err, EB_ERR_NUMERIC,
                                  "%s: features row %lld: the activation scale is not finite",
                                  eb_detector_kind_name(d->kind), (long long)(i0 + i));
        if (st) break;
        for (int64_t i = 0; i < rows; i++) memcpy(logits + i * c, h->b, (size_t)c * sizeof *logits);
        /* logits[rows, C] += a[rows, D] · Wᵀ */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)rows, (blasint)c, (blasint)dim, 1.0f, a,
                    (blasint)dim, h->w, (blasint)dim, 1.0f, logits, (blasint)c);
        st = eb_logit_scores(EB_SCORE_ENERGY, logits, rows, c, d->params.temperature, scores + i0, err);
    }
    free(a);
    free(logits);
    free(work);
    return st;
}

int eb__feature_head_tensors(const eb_detector *d, eb_st_tensor *out, int max) {
    const eb__feature_head *h = d->state;
    if (!h || max < 3) return 0;
    out[0] = eb__f32_tensor("head.weight", h->w, d->n_classes, d->dim);
    out[1] = eb__f32_tensor("head.bias", h->b, d->n_classes, 0);
    if (isnan(h->clip)) return 2;
    out[2] = eb__f32_tensor("head.clip", &h->clip, 1, 0);
    return 3;
}

eb_status eb__feature_head_load(eb_detector *d, const eb_safetensors *file, eb_error *err) {
    eb__feature_head *h = calloc(1, sizeof *h);
    if (!h) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", eb_safetensors_path(file));
    h->clip = NAN;
    d->state = h;
    const int64_t wshape[2] = {d->n_classes, d->dim}, one = 1;
    eb_status st = eb__detector_get_f32(file, "head.weight", 2, wshape, &h->w, err);
    if (!st) st = eb__detector_get_f32(file, "head.bias", 1, &d->n_classes, &h->b, err);
    if (!st && eb_safetensors_find(file, "head.clip")) {
        float *clip = NULL;
        st = eb__detector_get_f32(file, "head.clip", 1, &one, &clip, err);
        if (!st) h->clip = clip[0];
        free(clip);
    }
    return st;
}

int64_t eb__feature_keep_count(int64_t dim, float percentile) {
    return dim - (int64_t)nearbyint((double)dim * (double)percentile / 100.0);
}

static int descending(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

double eb__feature_top_k(const float *z, int64_t dim, int64_t k, float *sorted, float *keep) {
    memcpy(sorted, z, (size_t)dim * sizeof *sorted);
    qsort(sorted, (size_t)dim, sizeof *sorted, descending);
    const float t = k > 0 ? sorted[k - 1] : INFINITY; /* the k-th largest */
    int64_t above = 0;
    for (int64_t j = 0; j < dim; j++) above += z[j] > t;
    int64_t ties = k - above; /* how many values equal to t are kept, lowest indices first */
    double sum = 0.0;
    for (int64_t j = 0; j < dim; j++) {
        bool kept = z[j] > t || (z[j] == t && ties-- > 0);
        keep[j] = kept ? 1.0f : 0.0f;
        if (kept) sum += (double)z[j];
    }
    return sum;
}
