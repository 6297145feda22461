/* ebood/batch.h — where training batches come from: the interface between the data layer's loaders
 * (eb_image_loader_as_source, eb_aux_sampler_as_source in ebood/data.h) and the training loop
 * (eb_train_source in ebood/nn.h), so neither header needs the other. */
#ifndef EBOOD_BATCH_H
#define EBOOD_BATCH_H

#include <ebood/base.h>

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where batches come from. The trainer asks for batches_per_epoch batches per epoch, in order; a
 * source must be able to restart any epoch exactly as an uninterrupted run would reach it (so a
 * resumed run equals an uninterrupted one): derive each epoch's shuffle from (seed, epoch). */
typedef struct eb_batch_data {
    const float *x;        /* [size, dim], valid until the next call */
    const int32_t *labels; /* size labels or NULL */
    int64_t size;
} eb_batch_data;
typedef struct eb_batch_source {
    void *ctx;
    int64_t dim;               /* features per sample (the model's in_dim) */
    int64_t batches_per_epoch; /* ≥ 1 */
    eb_status (*next)(void *ctx, eb_batch_data *out, eb_error *err);
    eb_status (*seek_epoch)(void *ctx, int64_t epoch, eb_error *err); /* the next batch is epoch's first */
} eb_batch_source;

#ifdef __cplusplus
}
#endif

#endif /* EBOOD_BATCH_H */
