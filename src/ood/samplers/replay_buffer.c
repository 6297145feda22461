/* The persistent replay buffer of PCD/JEM training (specs §4; Du & Mordatch 2019, Grathwohl et al. 2020):
 * `size` SGLD chains kept between training steps; each draw restarts a chain from U(lo, hi) with
 * probability restart_prob, so the buffer mixes long-run chains with fresh noise. A class-conditional
 * buffer holds n_classes contiguous blocks of size/n_classes chains each. */
#include <ebood/ebm.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_status eb_replay_buffer_init(eb_replay_buffer *b, int64_t size, int64_t dim, int64_t n_classes, float lo,
                                float hi, double restart_prob, eb_rng *rng, eb_error *err) {
    memset(b, 0, sizeof *b);
    if (n_classes > 0) size -= size % n_classes; /* trimmed to whole blocks, as the released code */
    if (size < 1 || dim < 1 || n_classes < 0)
        return eb_error_set(err, EB_ERR_ARG,
                            "replay buffer: need size >= max(1, classes) and dim >= 1 "
                            "(got size %lld, dim %lld, classes %lld)",
                            (long long)size, (long long)dim, (long long)n_classes);
    if (!(lo < hi) || !isfinite(lo) || !isfinite(hi))
        return eb_error_set(err, EB_ERR_ARG, "replay buffer: init range [%g, %g) is empty or not finite",
                            (double)lo, (double)hi);
    if (!(restart_prob >= 0.0 && restart_prob <= 1.0))
        return eb_error_set(err, EB_ERR_ARG, "replay buffer: restart probability %g outside [0, 1]",
                            restart_prob);
    b->x = malloc((size_t)(size * dim) * sizeof(float));
    if (!b->x)
        return eb_error_set(err, EB_ERR_NOMEM, "replay buffer: out of memory for %lld x %lld",
                            (long long)size, (long long)dim);
    b->size = size;
    b->dim = dim;
    b->n_classes = n_classes;
    b->lo = lo;
    b->hi = hi;
    b->restart_prob = restart_prob;
    eb_rng_fill_uniform(rng, b->x, size * dim, lo, hi);
    return EB_OK;
}

void eb_replay_buffer_free(eb_replay_buffer *b) {
    if (!b) return;
    free(b->x);
    memset(b, 0, sizeof *b);
}

eb_status eb_replay_buffer_draw(eb_replay_buffer *b, int64_t n, const int32_t *labels, eb_rng *rng,
                                int64_t *index, float *x, eb_error *err) {
    if (!b->x) return eb_error_set(err, EB_ERR_STATE, "replay buffer: not initialised");
    if (b->n_classes > 0 && !labels)
        return eb_error_set(err, EB_ERR_ARG, "replay buffer: class-conditional draw needs labels");
    int64_t block = b->n_classes > 0 ? b->size / b->n_classes : b->size;
    for (int64_t i = 0; i < n; i++) {
        int64_t base = 0;
        if (b->n_classes > 0) {
            if (labels[i] < 0 || labels[i] >= b->n_classes)
                return eb_error_set(err, EB_ERR_ARG, "replay buffer: label %d of draw %lld outside [0, %lld)",
                                    labels[i], (long long)i, (long long)b->n_classes);
            base = (int64_t)labels[i] * block;
        }
        index[i] = base + (int64_t)eb_rng_below(rng, (uint64_t)block);
        float *row = x + i * b->dim;
        if (eb_rng_uniform(rng) < b->restart_prob)
            eb_rng_fill_uniform(rng, row, b->dim, b->lo, b->hi);
        else
            memcpy(row, b->x + index[i] * b->dim, (size_t)b->dim * sizeof(float));
    }
    return EB_OK;
}

void eb_replay_buffer_store(eb_replay_buffer *b, int64_t n, const int64_t *index, const float *x) {
    for (int64_t i = 0; i < n; i++)
        memcpy(b->x + index[i] * b->dim, x + i * b->dim, (size_t)b->dim * sizeof(float));
}
