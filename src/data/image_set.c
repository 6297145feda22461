/* eb_image_set: allocation, freeing, subsets, channel statistics, and the flat eb_dataset copy. */
#include <ebood/data.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

void eb_image_set_free(eb_image_set *s) {
    if (!s) return;
    eb_free(NULL, s->u8);
    eb_free(NULL, s->f32);
    eb_free(NULL, s->labels);
    memset(s, 0, sizeof *s);
}

int64_t eb_image_set_image_size(const eb_image_set *s) { return (int64_t)s->c * s->h * s->w; }

eb_status eb_image_set_alloc(int64_t n, int c, int h, int w, eb_dtype dtype, int num_classes,
                             eb_image_set *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 0 || c < 1 || c > EB_IMAGE_MAX_CHANNELS || h < 1 || w < 1 || num_classes < 0)
        return eb_error_set(err, EB_ERR_ARG,
                            "eb_image_set_alloc: invalid sizes (n=%lld, c=%d, h=%d, w=%d, num_classes=%d)",
                            (long long)n, c, h, w, num_classes);
    if (dtype != EB_DTYPE_U8 && dtype != EB_DTYPE_F32)
        return eb_error_set(err, EB_ERR_ARG, "eb_image_set_alloc: dtype %s is neither uint8 nor float32",
                            eb_dtype_name(dtype));
    size_t elem = eb_dtype_size(dtype);
    uint64_t per_image = (uint64_t)c * (uint64_t)h * (uint64_t)w;
    if (per_image > SIZE_MAX / elem || (n > 0 && (uint64_t)n > SIZE_MAX / elem / per_image))
        return eb_error_set(err, EB_ERR_NOMEM,
                            "eb_image_set_alloc: %lld images of %dx%dx%d do not fit in memory", (long long)n,
                            c, h, w);
    size_t bytes = (size_t)n * (size_t)per_image * elem;
    void *pix = eb_alloc_zero(NULL, bytes);
    int32_t *labels = num_classes > 0 ? eb_alloc_zero(NULL, (size_t)n * sizeof *labels) : NULL;
    if (!pix || (num_classes > 0 && !labels)) {
        eb_free(NULL, pix);
        eb_free(NULL, labels);
        return eb_error_set(err, EB_ERR_NOMEM, "eb_image_set_alloc: out of memory (%lld images of %dx%dx%d)",
                            (long long)n, c, h, w);
    }
    if (dtype == EB_DTYPE_U8)
        out->u8 = pix;
    else
        out->f32 = pix;
    out->labels = labels;
    out->n = n;
    out->c = c;
    out->h = h;
    out->w = w;
    out->num_classes = num_classes;
    return EB_OK;
}

eb_status eb_image_set_subset(const eb_image_set *src, const int64_t *rows, int64_t n, eb_image_set *out,
                              eb_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 0)
        return eb_error_set(err, EB_ERR_ARG, "eb_image_set_subset: negative row count %lld", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= src->n)
            return eb_error_set(err, EB_ERR_ARG, "eb_image_set_subset: row index %lld outside [0, %lld)",
                                (long long)rows[i], (long long)src->n);
    eb_dtype dtype = src->u8 ? EB_DTYPE_U8 : EB_DTYPE_F32;
    eb_status st =
        eb_image_set_alloc(n, src->c, src->h, src->w, dtype, src->labels ? src->num_classes : 0, out, err);
    if (st) return st;
    size_t per = (size_t)eb_image_set_image_size(src);
    for (int64_t i = 0; i < n; i++) {
        if (src->u8)
            memcpy(out->u8 + (size_t)i * per, src->u8 + (size_t)rows[i] * per, per);
        else
            memcpy(out->f32 + (size_t)i * per, src->f32 + (size_t)rows[i] * per, per * sizeof(float));
        if (src->labels) out->labels[i] = src->labels[rows[i]];
    }
    return EB_OK;
}

eb_status eb_image_set_channel_stats(const eb_image_set *s, double *mean, double *std, eb_error *err) {
    if (s->n < 1) return eb_error_set(err, EB_ERR_ARG, "eb_image_set_channel_stats: empty set");
    int64_t hw = (int64_t)s->h * s->w;
    double count = (double)s->n * (double)hw;
    for (int ch = 0; ch < s->c; ch++) {
        /* two passes (mean, then squared deviations) for accuracy over millions of values */
        double sum = 0.0;
        for (int64_t i = 0; i < s->n; i++) {
            int64_t base = (i * s->c + ch) * hw;
            for (int64_t k = 0; k < hw; k++)
                sum += s->u8 ? (double)s->u8[base + k] / 255.0 : (double)s->f32[base + k];
        }
        double m = sum / count, ss = 0.0;
        for (int64_t i = 0; i < s->n; i++) {
            int64_t base = (i * s->c + ch) * hw;
            for (int64_t k = 0; k < hw; k++) {
                double d = (s->u8 ? (double)s->u8[base + k] / 255.0 : (double)s->f32[base + k]) - m;
                ss += d * d;
            }
        }
        mean[ch] = m;
        std[ch] = sqrt(ss / count);
    }
    return EB_OK;
}

eb_status eb_image_set_to_dataset(const eb_image_set *s, const float *mean, const float *std, eb_dataset *out,
                                  eb_error *err) {
    memset(out, 0, sizeof *out);
    bool norm = s->u8 && mean && std;
    if (norm)
        for (int ch = 0; ch < s->c; ch++)
            if (!isfinite(mean[ch]) || !isfinite(std[ch]) || !(std[ch] > 0.0f))
                return eb_error_set(
                    err, EB_ERR_ARG,
                    "eb_image_set_to_dataset: channel %d: need finite mean and std > 0, got %g, %g", ch,
                    (double)mean[ch], (double)std[ch]);
    int64_t dim = eb_image_set_image_size(s);
    eb_status st = eb_dataset_alloc(s->n, dim, s->labels ? s->num_classes : 0, s->labels != NULL, out, err);
    if (st) return st;
    if (s->labels) memcpy(out->y, s->labels, (size_t)s->n * sizeof *out->y);
    if (!s->u8) {
        memcpy(out->x, s->f32, (size_t)(s->n * dim) * sizeof(float));
        return EB_OK;
    }
    /* the same arithmetic as the loader (eb_image_transforms_apply): p/255, then normalise */
    int64_t count = s->n * dim;
    for (int64_t k = 0; k < count; k++) out->x[k] = (float)s->u8[k] / 255.0f;
    if (norm) eb_image_normalize(out->x, s->n, s->c, (int64_t)s->h * s->w, mean, std);
    return EB_OK;
}
