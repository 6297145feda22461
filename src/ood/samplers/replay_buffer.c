/* The persistent replay buffer of PCD/JEM training (specs §4; Du & Mordatch 2019, Grathwohl et al. 2020):
 * `size` SGLD chains kept between training steps; each draw restarts a chain from U(lo, hi) with
 * probability restart_prob, so the buffer mixes long-run chains with fresh noise. A class-conditional
 * buffer holds n_classes contiguous blocks of size/n_classes chains each.
 *
 * Sharded over the ranks of a data-parallel run (eb_replay_buffer_init_share; docs/distributed.md): rank r
 * holds the share eb_dist_share(block, r, ranks) of every block — chains [first, first + mine) of each
 * class — so the ranks together hold the one buffer of `size` chains and each 1/ranks of it. A rank draws
 * and restarts only its own chains. The whole buffer (a checkpoint's tensor, the same whatever the rank
 * count) is gathered block by block in rank order (eb_replay_buffer_gather) and restored by every rank
 * taking its rows from it (eb_replay_buffer_set_share). */
#include <ebood/ebm.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_status eb_replay_buffer_init(eb_replay_buffer *b, int64_t size, int64_t dim, int64_t n_classes, float lo,
                                float hi, double restart_prob, eb_rng *rng, eb_error *err) {
    return eb_replay_buffer_init_share(b, size, dim, n_classes, lo, hi, restart_prob, NULL, rng, err);
}

eb_status eb_replay_buffer_init_share(eb_replay_buffer *b, int64_t size, int64_t dim, int64_t n_classes,
                                      float lo, float hi, double restart_prob, const eb_dist *dist,
                                      eb_rng *rng, eb_error *err) {
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
    /* this rank's chains [first, last) of each of the `blocks` blocks of `block` chains */
    const int64_t blocks = n_classes > 0 ? n_classes : 1, block = size / blocks;
    const int ranks = eb_dist_size(dist);
    int64_t first, last;
    eb_dist_share(block, eb_dist_rank(dist), ranks, &first, &last);
    if (block < ranks)
        return eb_error_set(err, EB_ERR_ARG,
                            "replay buffer: %lld chains%s cannot be split over %d ranks (each rank needs a "
                            "chain of every block: a buffer of at least %lld)",
                            (long long)block, n_classes > 0 ? " per class" : "", ranks,
                            (long long)(ranks * blocks));
    const int64_t mine = last - first;
    b->x = malloc((size_t)(blocks * mine * dim) * sizeof(float));
    float *skip = malloc((size_t)dim * sizeof(float));
    if (!b->x || !skip) {
        free(b->x);
        free(skip);
        b->x = NULL;
        return eb_error_set(err, EB_ERR_NOMEM, "replay buffer: out of memory for %lld x %lld",
                            (long long)(blocks * mine), (long long)dim);
    }
    b->size = blocks * mine;
    b->total = size;
    b->first = first;
    b->dim = dim;
    b->n_classes = n_classes;
    b->lo = lo;
    b->hi = hi;
    b->restart_prob = restart_prob;
    b->dist = dist;
    /* the values of the whole buffer in order (one stream), this rank keeping its rows */
    for (int64_t k = 0; k < blocks; k++)
        for (int64_t i = 0; i < block; i++) {
            const bool kept = i >= first && i < last;
            eb_rng_fill_uniform(rng, kept ? b->x + (k * mine + i - first) * dim : skip, dim, lo, hi);
        }
    free(skip);
    return EB_OK;
}

/* The rows of block k of this share as rows of the whole buffer: [k·block + first, … + mine). */
static int64_t whole_row(const eb_replay_buffer *b, int64_t k, int64_t i) {
    const int64_t blocks = b->n_classes > 0 ? b->n_classes : 1;
    return k * (b->total / blocks) + b->first + i;
}

eb_status eb_replay_buffer_gather(const eb_replay_buffer *b, float *all, eb_error *err) {
    const int64_t blocks = b->n_classes > 0 ? b->n_classes : 1, mine = b->size / blocks;
    eb_status st = EB_OK;
    for (int64_t k = 0; k < blocks && !st; k++) /* one gather per class block: its shares in rank order */
        st = eb_dist_gather_shares_to_f32(b->dist, b->x + k * mine * b->dim, b->total / blocks, b->dim, 0,
                                          all ? all + whole_row(b, k, -b->first) * b->dim : NULL, err);
    return st;
}

void eb_replay_buffer_copy_share(const eb_replay_buffer *b, float *all) {
    const int64_t blocks = b->n_classes > 0 ? b->n_classes : 1, mine = b->size / blocks;
    for (int64_t k = 0; k < blocks; k++)
        memcpy(all + whole_row(b, k, 0) * b->dim, b->x + k * mine * b->dim,
               (size_t)(mine * b->dim) * sizeof(float));
}

void eb_replay_buffer_set_share(eb_replay_buffer *b, const float *all) {
    const int64_t blocks = b->n_classes > 0 ? b->n_classes : 1, mine = b->size / blocks;
    for (int64_t k = 0; k < blocks; k++)
        memcpy(b->x + k * mine * b->dim, all + whole_row(b, k, 0) * b->dim,
               (size_t)(mine * b->dim) * sizeof(float));
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
