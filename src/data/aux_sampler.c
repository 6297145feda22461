/* Batches of an auxiliary outlier pool for the training loop (include/ebood/data.h, "auxiliary outliers
 * for training"): stored order from a random offset (OE / energy codes), a fresh permutation, rows
 * drawn with replacement from weights (Hopfield Boosting's resampling, 000_d95ac7511efbaafc.txt Eq. 7), or
 * a permutation of the selected rows (POEM's mined outliers). */
#include <ebood/data.h>
#include <ebood/nn.h> /* eb_train_epoch_rng: the trainer's per-epoch stream */

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* eb_train_epoch_rng purposes of the sampler's streams (the trainer uses 1 and 2). */
enum { PURPOSE_ORDER = 11, PURPOSE_TRANSFORM = 12 };

struct eb_aux_sampler {
    const eb_image_set *pool;
    eb_aux_params p;
    int64_t dim;
    int64_t *rows, n_rows; /* this epoch's order: n_rows = pool->n, or p.draws when WEIGHTED/SELECTED */
    int64_t pos;           /* next entry of rows */
    int64_t *batch_rows;   /* [batch_size] */
    double *weights;       /* [pool->n] when WEIGHTED/SELECTED */
    int64_t *chosen;       /* [2 · pool->n] when SELECTED: the selected rows, then their permutation */
    float *x;              /* [batch_size, dim] */
    eb_rng transform_rng;
};

eb_aux_params eb_aux_default_params(void) {
    eb_aux_params p;
    memset(&p, 0, sizeof p);
    p.batch_size = 256;
    p.order = EB_AUX_OFFSET;
    p.transforms = eb_image_transforms_default();
    return p;
}

eb_status eb_sample_weighted(const double *w, int64_t n, int64_t draws, eb_rng *rng, int64_t *out,
                             eb_error *err) {
    if (n < 1 || draws < 0)
        return eb_error_set(err, EB_ERR_ARG, "weighted sampling: need n >= 1 and draws >= 0 (got %lld, %lld)",
                            (long long)n, (long long)draws);
    double *cdf = malloc((size_t)n * sizeof *cdf);
    if (!cdf) return eb_error_set(err, EB_ERR_NOMEM, "weighted sampling: out of memory (%lld)", (long long)n);
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (!(w[i] >= 0.0) || !isfinite(w[i])) {
            free(cdf);
            return eb_error_set(err, EB_ERR_ARG, "weighted sampling: weight %lld is %g (need finite >= 0)",
                                (long long)i, w[i]);
        }
        total += w[i];
        cdf[i] = total;
    }
    if (!(total > 0.0)) {
        free(cdf);
        return eb_error_set(err, EB_ERR_ARG, "weighted sampling: all %lld weights are 0", (long long)n);
    }
    for (int64_t k = 0; k < draws; k++) {
        /* the first i with cdf[i] > u; rows of weight 0 have cdf[i] == cdf[i-1] and are never chosen */
        const double u = eb_rng_uniform(rng) * total;
        int64_t lo = 0, hi = n - 1;
        while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            if (cdf[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        while (lo > 0 && w[lo] == 0.0) lo--; /* u rounded onto the total: the last positive row */
        out[k] = lo;
    }
    free(cdf);
    return EB_OK;
}

void eb_aux_sampler_free(eb_aux_sampler *s) {
    if (!s) return;
    free(s->rows);
    free(s->batch_rows);
    free(s->weights);
    free(s->chosen);
    free(s->x);
    free(s);
}

eb_status eb_aux_sampler_new(const eb_image_set *pool, const eb_aux_params *p, eb_aux_sampler **out,
                             eb_error *err) {
    *out = NULL;
    if (!pool || pool->n < 1 || (pool->u8 == NULL) == (pool->f32 == NULL))
        return eb_error_set(err, EB_ERR_ARG, "auxiliary data: the pool is empty or has no (or two) storages");
    if (p->batch_size < 1) return eb_error_set(err, EB_ERR_ARG, "auxiliary data: batch size must be >= 1");
    const bool weighted = p->order == EB_AUX_WEIGHTED || p->order == EB_AUX_SELECTED;
    if (weighted && (!p->weights || p->draws < 1))
        return eb_error_set(err, EB_ERR_ARG,
                            "auxiliary data: weighted sampling needs a weights callback and "
                            "draws >= 1");
    if (p->order != EB_AUX_OFFSET && p->order != EB_AUX_SHUFFLE && !weighted)
        return eb_error_set(err, EB_ERR_ARG, "auxiliary data: unknown order %d", (int)p->order);
    eb_status st = eb_image_transforms_check(&p->transforms, pool->c, err);
    if (st) return st;
    eb_aux_sampler *s = calloc(1, sizeof *s);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "auxiliary data: out of memory");
    s->pool = pool;
    s->p = *p;
    s->dim = eb_image_set_image_size(pool);
    s->n_rows = weighted ? p->draws : pool->n;
    s->rows = malloc((size_t)s->n_rows * sizeof *s->rows);
    s->batch_rows = malloc((size_t)p->batch_size * sizeof *s->batch_rows);
    s->x = malloc((size_t)(p->batch_size * s->dim) * sizeof *s->x);
    if (weighted) s->weights = malloc((size_t)pool->n * sizeof *s->weights);
    if (p->order == EB_AUX_SELECTED) s->chosen = malloc((size_t)(2 * pool->n) * sizeof *s->chosen);
    if (!s->rows || !s->batch_rows || !s->x || (weighted && !s->weights) ||
        (p->order == EB_AUX_SELECTED && !s->chosen)) {
        eb_aux_sampler_free(s);
        return eb_error_set(err, EB_ERR_NOMEM, "auxiliary data: out of memory (batch %lld of %lld values)",
                            (long long)p->batch_size, (long long)s->dim);
    }
    *out = s;
    return EB_OK;
}

static eb_status aux_seek_epoch(void *ctx, int64_t epoch, eb_error *err) {
    eb_aux_sampler *s = ctx;
    eb_rng order = eb_train_epoch_rng(s->p.seed, epoch, PURPOSE_ORDER);
    s->transform_rng = eb_train_epoch_rng(s->p.seed, epoch, PURPOSE_TRANSFORM);
    s->pos = 0;
    const int64_t n = s->pool->n;
    switch (s->p.order) {
    case EB_AUX_OFFSET: {
        const int64_t offset = (int64_t)eb_rng_below(&order, (uint64_t)n);
        for (int64_t i = 0; i < n; i++) s->rows[i] = (offset + i) % n;
        return EB_OK;
    }
    case EB_AUX_SHUFFLE: eb_rng_permutation(&order, n, s->rows); return EB_OK;
    case EB_AUX_WEIGHTED: {
        eb_status st = s->p.weights(s->p.weights_ctx, epoch, s->weights, err);
        if (!st) st = eb_sample_weighted(s->weights, n, s->n_rows, &order, s->rows, err);
        return st;
    }
    case EB_AUX_SELECTED: {
        eb_status st = s->p.weights(s->p.weights_ctx, epoch, s->weights, err);
        if (st) return st;
        int64_t m = 0, *perm = s->chosen + n;
        for (int64_t i = 0; i < n; i++) {
            if (!(s->weights[i] >= 0.0) || !isfinite(s->weights[i]))
                return eb_error_set(err, EB_ERR_ARG, "auxiliary data: weight %lld is %g (need finite >= 0)",
                                    (long long)i, s->weights[i]);
            if (s->weights[i] > 0.0) s->chosen[m++] = i;
        }
        if (m == 0) return eb_error_set(err, EB_ERR_ARG, "auxiliary data: no row is selected");
        eb_rng_permutation(&order, m, perm);
        for (int64_t k = 0; k < s->n_rows; k++) s->rows[k] = s->chosen[perm[k % m]];
        return EB_OK;
    }
    }
    return eb_error_set(err, EB_ERR_ARG, "auxiliary data: unknown order");
}

static eb_status aux_next(void *ctx, eb_batch_data *out, eb_error *err) {
    (void)err;
    eb_aux_sampler *s = ctx;
    const int64_t b = s->p.batch_size;
    for (int64_t i = 0; i < b; i++) {
        s->batch_rows[i] = s->rows[s->pos];
        s->pos = (s->pos + 1) % s->n_rows;
    }
    eb_image_transforms_apply(&s->p.transforms, s->pool, s->batch_rows, b, s->x, &s->transform_rng);
    *out = (eb_batch_data){s->x, NULL, b};
    return EB_OK;
}

eb_batch_source eb_aux_sampler_as_source(eb_aux_sampler *s) {
    const int64_t b = s->p.batch_size;
    return (eb_batch_source){s, s->dim, (s->pool->n + b - 1) / b, aux_next, aux_seek_epoch};
}

const int64_t *eb_aux_sampler_rows(const eb_aux_sampler *s, int64_t *n) {
    *n = s->n_rows;
    return s->rows;
}
