/* The image batch loader: per-epoch permutations, batches gathered through
 * eb_image_transforms_apply, the next batch prepared on a background thread (double buffering).
 *
 * Determinism does not depend on the thread: batch (epoch e, index b) draws only from streams
 * seeded by (seed, e) for the permutation and (seed, e, b) for the transforms, so who computes a
 * batch and when cannot change it, and seeking to (e, b) reproduces an uninterrupted run.
 *
 * Threading: two slots. The producer fills slot j % 2 with the j-th batch after the last (re)start
 * as soon as that slot is FREE; next() releases the slot it returned last time (HELD → FREE) and
 * waits for the next one to become READY. So the producer works on batch j + 1 while the caller
 * uses batch j. Seeking joins the thread and starts a new one at the new position. */
#define _POSIX_C_SOURCE 200809L
#include <ebood/data.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE, SLOT_READY, SLOT_HELD };

typedef struct slot {
    float *x;
    int32_t *labels;
    int64_t *indices;
    int64_t size, epoch, index;
    int state;
} slot;

struct eb_image_loader {
    const eb_image_set *set;
    eb_image_loader_params p;
    int64_t per_epoch; /* batches per epoch */
    slot slots[2];

    /* producer position and its epoch's order (touched only by whoever produces) */
    int64_t prod_epoch, prod_batch, perm_epoch;
    int64_t *perm;

    /* consumer side */
    int64_t cons_epoch, cons_batch; /* the batch the next next() returns */
    int64_t seq;                    /* batches consumed since the last (re)start */
    int held;                       /* slot returned last, or −1 */

    bool threaded, running, stop;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t ready, freed;
};

/* splitmix64 finaliser: a well-mixed 64-bit function of its input. */
static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The stream of (seed, epoch, batch); batch = −1 is the epoch's permutation stream. */
static void stream(eb_rng *rng, uint64_t seed, int64_t epoch, int64_t batch) {
    uint64_t h = mix64(seed ^ 0x5bd1e9955bd1e995ull);
    h = mix64(h ^ (uint64_t)epoch);
    h = mix64(h ^ (uint64_t)(batch + 1));
    eb_rng_seed(rng, h);
}

eb_image_loader_params eb_image_loader_default_params(void) {
    eb_image_loader_params p;
    memset(&p, 0, sizeof p);
    p.batch_size = 128;
    p.shuffle = true;
    p.transforms = eb_image_transforms_default();
    p.prefetch = true;
    return p;
}

/* Fills s with batch (prod_epoch, prod_batch) and advances the producer position. */
static void produce(eb_image_loader *l, slot *s) {
    const int64_t n = l->set->n, bs = l->p.batch_size;
    if (l->perm_epoch != l->prod_epoch) {
        if (l->p.shuffle) {
            eb_rng r;
            stream(&r, l->p.seed, l->prod_epoch, -1);
            eb_rng_permutation(&r, n, l->perm);
        } else {
            for (int64_t i = 0; i < n; i++) l->perm[i] = i;
        }
        l->perm_epoch = l->prod_epoch;
    }
    int64_t start = l->prod_batch * bs;
    int64_t size = n - start < bs ? n - start : bs;
    memcpy(s->indices, l->perm + start, (size_t)size * sizeof *s->indices);
    if (s->labels)
        for (int64_t i = 0; i < size; i++) s->labels[i] = l->set->labels[s->indices[i]];
    eb_rng r;
    stream(&r, l->p.seed, l->prod_epoch, l->prod_batch);
    eb_image_transforms_apply(&l->p.transforms, l->set, s->indices, size, s->x, &r);
    s->size = size;
    s->epoch = l->prod_epoch;
    s->index = l->prod_batch;
    if (++l->prod_batch == l->per_epoch) {
        l->prod_batch = 0;
        l->prod_epoch++;
    }
}

static void *producer_main(void *arg) {
    eb_image_loader *l = arg;
    for (int64_t j = 0;; j++) {
        slot *s = &l->slots[j % 2];
        pthread_mutex_lock(&l->mu);
        while (!l->stop && s->state != SLOT_FREE) pthread_cond_wait(&l->freed, &l->mu);
        bool stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop) break;
        produce(l, s); /* the slot is FREE: the consumer does not touch it */
        pthread_mutex_lock(&l->mu);
        s->state = SLOT_READY;
        pthread_cond_signal(&l->ready);
        pthread_mutex_unlock(&l->mu);
    }
    return NULL;
}

static void stop_thread(eb_image_loader *l) {
    if (!l->running) return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->freed);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    l->running = false;
    l->stop = false;
}

/* (Re)starts production at the consumer's position with both slots free. */
static eb_status start(eb_image_loader *l, eb_error *err) {
    l->prod_epoch = l->cons_epoch;
    l->prod_batch = l->cons_batch;
    l->seq = 0;
    l->held = -1;
    l->slots[0].state = l->slots[1].state = SLOT_FREE;
    if (!l->threaded) return EB_OK;
    if (pthread_create(&l->thread, NULL, producer_main, l) != 0)
        return eb_error_set(err, EB_ERR_STATE, "image loader: cannot start the prefetch thread");
    l->running = true;
    return EB_OK;
}

void eb_image_loader_free(eb_image_loader *l) {
    if (!l) return;
    stop_thread(l);
    if (l->threaded) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->ready);
        pthread_cond_destroy(&l->freed);
    }
    for (int k = 0; k < 2; k++) {
        eb_free(NULL, l->slots[k].x);
        free(l->slots[k].labels);
        free(l->slots[k].indices);
    }
    free(l->perm);
    free(l);
}

eb_status eb_image_loader_new(const eb_image_set *set, const eb_image_loader_params *params,
                              eb_image_loader **out, eb_error *err) {
    *out = NULL;
    eb_image_loader_params p = params ? *params : eb_image_loader_default_params();
    if (!set) return eb_error_set(err, EB_ERR_ARG, "image loader: set is NULL");
    if (!set->u8 == !set->f32)
        return eb_error_set(err, EB_ERR_ARG,
                            "image loader: the set must hold exactly one of u8 and f32 pixels");
    if (set->c < 1 || set->c > EB_IMAGE_MAX_CHANNELS || set->h < 1 || set->w < 1)
        return eb_error_set(err, EB_ERR_ARG, "image loader: invalid image size %d x %d x %d", set->c, set->h,
                            set->w);
    if (set->n < 1) return eb_error_set(err, EB_ERR_ARG, "image loader: the set is empty");
    if (p.batch_size < 1)
        return eb_error_set(err, EB_ERR_ARG, "image loader: batch size %lld < 1", (long long)p.batch_size);
    if (p.drop_last && set->n < p.batch_size)
        return eb_error_set(err, EB_ERR_ARG,
                            "image loader: %lld images are fewer than one batch of %lld with drop_last",
                            (long long)set->n, (long long)p.batch_size);
    eb_status st = eb_image_transforms_check(&p.transforms, set->c, err);
    if (st) return st;

    eb_image_loader *l = calloc(1, sizeof *l);
    if (!l) return eb_error_set(err, EB_ERR_NOMEM, "image loader: out of memory");
    l->set = set;
    l->p = p;
    int64_t bs = p.batch_size < set->n ? p.batch_size : set->n;
    l->p.batch_size = bs;
    l->per_epoch = p.drop_last ? set->n / bs : (set->n + bs - 1) / bs;
    l->perm_epoch = -1;
    l->held = -1;
    l->perm = malloc((size_t)set->n * sizeof *l->perm);
    bool ok = l->perm != NULL;
    size_t per = (size_t)eb_image_set_image_size(set);
    for (int k = 0; k < 2 && ok; k++) {
        slot *s = &l->slots[k];
        s->x = eb_alloc(NULL, (size_t)bs * per * sizeof *s->x);
        s->indices = malloc((size_t)bs * sizeof *s->indices);
        s->labels = set->labels ? malloc((size_t)bs * sizeof *s->labels) : NULL;
        ok = s->x && s->indices && (!set->labels || s->labels);
    }
    if (!ok) {
        eb_image_loader_free(l);
        return eb_error_set(err, EB_ERR_NOMEM, "image loader: out of memory (batch of %lld)", (long long)bs);
    }
    if (p.prefetch) {
        bool mu = pthread_mutex_init(&l->mu, NULL) == 0;
        bool c1 = pthread_cond_init(&l->ready, NULL) == 0;
        bool c2 = pthread_cond_init(&l->freed, NULL) == 0;
        if (!mu || !c1 || !c2) {
            if (mu) pthread_mutex_destroy(&l->mu);
            if (c1) pthread_cond_destroy(&l->ready);
            if (c2) pthread_cond_destroy(&l->freed);
            eb_image_loader_free(l);
            return eb_error_set(err, EB_ERR_STATE, "image loader: cannot create the thread's locks");
        }
        l->threaded = true;
    }
    if ((st = start(l, err))) {
        eb_image_loader_free(l);
        return st;
    }
    *out = l;
    return EB_OK;
}

eb_status eb_image_loader_next(eb_image_loader *l, eb_image_batch *batch, eb_error *err) {
    if (!l || !batch) return eb_error_set(err, EB_ERR_ARG, "eb_image_loader_next: NULL argument");
    slot *s;
    if (l->threaded) {
        if (!l->running)
            return eb_error_set(err, EB_ERR_STATE, "image loader: the prefetch thread is not running");
        s = &l->slots[l->seq % 2];
        pthread_mutex_lock(&l->mu);
        if (l->held >= 0) {
            l->slots[l->held].state = SLOT_FREE;
            pthread_cond_signal(&l->freed);
        }
        while (s->state != SLOT_READY) pthread_cond_wait(&l->ready, &l->mu);
        s->state = SLOT_HELD;
        l->held = (int)(l->seq % 2);
        pthread_mutex_unlock(&l->mu);
    } else {
        s = &l->slots[0];
        produce(l, s);
    }
    l->seq++;
    batch->x = s->x;
    batch->labels = s->labels;
    batch->indices = s->indices;
    batch->size = s->size;
    batch->epoch = s->epoch;
    batch->index = s->index;
    l->cons_epoch = s->epoch;
    l->cons_batch = s->index + 1;
    if (l->cons_batch == l->per_epoch) {
        l->cons_batch = 0;
        l->cons_epoch++;
    }
    return EB_OK;
}

int64_t eb_image_loader_batches_per_epoch(const eb_image_loader *l) { return l->per_epoch; }

eb_image_loader_state eb_image_loader_tell(const eb_image_loader *l) {
    eb_image_loader_state s = {l->cons_epoch, l->cons_batch};
    return s;
}

eb_status eb_image_loader_seek(eb_image_loader *l, eb_image_loader_state state, eb_error *err) {
    if (state.epoch < 0 || state.batch < 0 || state.batch >= l->per_epoch)
        return eb_error_set(err, EB_ERR_ARG,
                            "image loader: cannot seek to epoch %lld batch %lld (%lld per epoch)",
                            (long long)state.epoch, (long long)state.batch, (long long)l->per_epoch);
    stop_thread(l);
    l->cons_epoch = state.epoch;
    l->cons_batch = state.batch;
    return start(l, err);
}
