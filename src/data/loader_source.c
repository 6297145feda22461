/* An image loader as the training loop's batch source (include/ebood/nn.h). */
#include <ebood/data.h>

static eb_status loader_next(void *ctx, eb_batch_data *out, eb_error *err) {
    eb_image_batch b;
    eb_status st = eb_image_loader_next(ctx, &b, err);
    if (!st) *out = (eb_batch_data){b.x, b.labels, b.size};
    return st;
}

static eb_status loader_seek_epoch(void *ctx, int64_t epoch, eb_error *err) {
    eb_image_loader_state s = {epoch, 0};
    return eb_image_loader_seek(ctx, s, err);
}

eb_batch_source eb_image_loader_as_source(eb_image_loader *l, int64_t dim) {
    return (eb_batch_source){l, dim, eb_image_loader_batches_per_epoch(l), loader_next, loader_seek_epoch};
}
