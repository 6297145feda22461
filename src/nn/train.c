/* The generic training loop: batches from a source (and, optionally, auxiliary outliers appended after
 * them: one concatenated batch), objective → loss on the tape, backward, optional clipping, one optimizer
 * step on the flat buffer, a callback per epoch. It knows nothing about the method (DESIGN.md §1). */
#include <ebood/nn.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { PURPOSE_SHUFFLE = 1, PURPOSE_DROPOUT = 2 };

eb_train_params eb_train_default_params(void) {
    eb_train_params p;
    memset(&p, 0, sizeof p);
    p.epochs = 10;
    p.batch_size = 128;
    p.optimizer = eb_adam_default_params();
    p.schedule = eb_schedule_default(p.optimizer.lr);
    p.progress = true;
    return p;
}

eb_rng eb_train_epoch_rng(uint64_t seed, int64_t epoch, uint64_t purpose) {
    eb_rng r;
    eb_rng_seed(&r, seed ^ (0x9e3779b97f4a7c15ull * ((uint64_t)epoch + 1)) ^ (purpose << 56));
    return r;
}

static bool all_finite(const float *v, int64_t n) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n; i++) acc += v[i] * 0.0f; /* NaN·0 = NaN, Inf·0 = NaN */
    return acc == 0.0f;
}

/* Keeps this rank's share (eb_dist_share) of the n rows of *b (labels alongside); one process keeps all. */
static void keep_share(const eb_dist *dist, eb_batch_data *b, int64_t dim) {
    int64_t lo, hi;
    eb_dist_share(b->size, eb_dist_rank(dist), eb_dist_size(dist), &lo, &hi);
    if (b->x) b->x += lo * dim;
    if (b->labels) b->labels += lo;
    b->size = hi - lo;
}

/* Draws the step's auxiliary batch *ad (this rank's share of it) and points id->x at [id rows; aux rows]
 * in *buf (grown as needed). */
static eb_status join_aux(const eb_batch_source *aux, const eb_dist *dist, eb_batch_data *id,
                          eb_batch_data *ad, float **buf, int64_t *cap, eb_error *err) {
    eb_status st = aux->next(aux->ctx, ad, err);
    if (st) return st;
    const int64_t dim = aux->dim;
    keep_share(dist, ad, dim);
    const int64_t rows = id->size + ad->size;
    if (rows > *cap) {
        float *grown = realloc(*buf, (size_t)(rows * dim) * sizeof *grown);
        if (!grown)
            return eb_error_set(err, EB_ERR_NOMEM, "train: out of memory (%lld rows)", (long long)rows);
        *buf = grown;
        *cap = rows;
    }
    memcpy(*buf, id->x, (size_t)(id->size * dim) * sizeof(float));
    memcpy(*buf + id->size * dim, ad->x, (size_t)(ad->size * dim) * sizeof(float));
    id->x = *buf;
    return EB_OK;
}

/* Data parallelism (eb_train_params.dist), after this rank's backward on `local` of the step's `global`
 * ID rows: scales its gradient by local/global (the losses are batch means), sums the flat gradient
 * buffer over the ranks in one allreduce, and turns *loss, *correct (−1: not counted) and *finite into
 * the global batch's (the loss weighted alike; finite only if it is on every rank). */
static eb_status reduce_step(const eb_dist *dist, eb_params *params, int64_t local, int64_t global,
                             double *loss, int64_t *correct, bool *finite, eb_error *err) {
    const float w = (float)local / (float)global;
    if (local == 0) {
        eb_params_zero_grad(params);
    } else if (local != global) {
        for (int64_t i = 0; i < params->size; i++) params->grad[i] *= w;
    }
    eb_status st = eb_dist_sum_f32(dist, params->grad, params->size, err);
    double stats[4] = {local ? *loss * (double)w : 0.0, *correct > 0 ? (double)*correct : 0.0,
                       *correct < 0 ? 1.0 : 0.0, *finite ? 0.0 : 1.0};
    if (!st) st = eb_dist_sum_f64(dist, stats, 4, err);
    *loss = stats[0];
    *correct = stats[2] > 0 ? -1 : (int64_t)stats[1];
    *finite = stats[3] == 0;
    return st;
}

/* What the steps of one run share. */
typedef struct loop {
    eb_params *params;
    eb_model *m; /* or NULL: what the objective and the epoch callback receive */
    const eb_batch_source *src, *aux;
    eb_objective_fn objective;
    void *objective_ctx;
    const eb_train_params *p;
    eb_graph *g;
    eb_optimizer *opt;
    float *joined; /* [ID rows; aux rows] of the step, when aux */
    int64_t joined_cap;
    bool parallel;
    double last_finite; /* the last finite loss (for the divergence message) */
    eb_bn_sync bn_sync; /* SyncBN (eb_train_params.sync_bn): the model's bn_sync points here */
} loop;

/* The optimizer, with the state of p->resume (if any); *epoch = the epochs already done. */
static eb_status new_optimizer(const eb_train_params *p, eb_params *params, eb_optimizer **out,
                               int64_t *epoch, eb_error *err) {
    eb_status st = eb_optimizer_new(&p->optimizer, params->size, &params->allocator, out, err);
    *epoch = 0;
    if (st || !p->resume) return st;
    eb_optimizer *opt = *out;
    *epoch = p->resume->epoch;
    if (p->resume->optimizer_state_size != eb_optimizer_state_size(opt)) {
        st =
            eb_error_set(err, EB_ERR_SHAPE, "train: resume: optimizer state has %lld floats, expected %lld",
                         (long long)p->resume->optimizer_state_size, (long long)eb_optimizer_state_size(opt));
        eb_optimizer_free(opt);
        *out = NULL;
        return st;
    }
    if (p->resume->optimizer_state_size)
        memcpy(eb_optimizer_state(opt), p->resume->optimizer_state,
               (size_t)p->resume->optimizer_state_size * sizeof(float));
    eb_optimizer_set_step_count(opt, p->resume->optimizer_step);
    return EB_OK;
}

/* One optimizer step: the next batch (this rank's share, the auxiliary rows appended), the objective's
 * loss, backward, the ranks' reduction, the divergence check, clipping, the update. *loss, *correct (−1:
 * not counted) and *rows (the global batch's ID rows) describe the step. */
static eb_status train_step(loop *L, int64_t step, eb_rng *dropout_rng, double *loss, int64_t *correct,
                            int64_t *rows, eb_error *err) {
    const eb_batch_source *src = L->src;
    const eb_dist *dist = L->p->dist;
    eb_batch_data bd;
    eb_status st = src->next(src->ctx, &bd, err);
    if (st) return st;
    *rows = bd.size;
    if (L->m && L->m->bn_sync && bd.size < eb_dist_size(dist))
        return eb_error_set(err, EB_ERR_ARG,
                            "train: SyncBN: step %lld has a batch of %lld rows for %d ranks; every rank "
                            "needs one (a larger batch size, or drop the last partial batch)",
                            (long long)step, (long long)bd.size, eb_dist_size(dist));
    if (L->parallel) keep_share(dist, &bd, src->dim);
    L->bn_sync.weight = (double)((float)bd.size / (float)*rows); /* reduce_step's w */
    eb_batch_data ad = {NULL, NULL, 0};
    if (L->aux && (st = join_aux(L->aux, dist, &bd, &ad, &L->joined, &L->joined_cap, err))) return st;
    double lv = 0.0;
    *correct = 0;
    if (bd.size > 0) { /* a rank may hold no rows of a last partial batch */
        eb_graph_reset(L->g);
        eb_batch batch = {
            eb_tensor_input(L->g, (float *)bd.x, 2, EB_SHAPE(bd.size + ad.size, src->dim), false), bd.labels,
            bd.size, ad.size};
        *correct = -1;
        eb_tensor *l = L->objective(L->objective_ctx, L->m, L->g, &batch, dropout_rng, correct);
        if ((st = eb_graph_status(L->g)))
            return eb_error_set(err, st, "train: step %lld: %s", (long long)step, eb_graph_error(L->g));
        lv = l->data[0];
        eb_params_zero_grad(L->params);
        if ((st = eb_graph_backward(L->g, l, NULL)))
            return eb_error_set(err, st, "train: step %lld: backward: %s", (long long)step,
                                eb_graph_error(L->g));
    }
    bool loss_finite = isfinite(lv);
    if (L->parallel && (st = reduce_step(dist, L->params, bd.size, *rows, &lv, correct, &loss_finite, err)))
        return st;
    if (!loss_finite || !all_finite(L->params->grad, L->params->size))
        return eb_error_set(err, EB_ERR_NUMERIC,
                            "train: diverged at step %lld: %s is not finite (last finite loss %g)",
                            (long long)step, loss_finite ? "a gradient" : "the loss", L->last_finite);
    L->last_finite = lv;
    *loss = lv;
    if (L->p->clip_grad_norm > 0) eb_params_clip_grad_norm(L->params, L->p->clip_grad_norm);
    eb_optimizer_step(L->opt, L->params->data, L->params->grad, eb_schedule_lr(&L->p->schedule, step));
    if (L->parallel && L->m && L->m->buffers.size > 0)
        st = eb_dist_bcast_f32(dist, L->m->buffers.data, L->m->buffers.size, 0, err);
    return st;
}

/* The loop on `params`; m (or NULL) is what the objective and the epoch callback receive. */
static eb_status train_loop(eb_params *params, int64_t in_dim, eb_model *m, const eb_batch_source *src,
                            eb_objective_fn objective, void *objective_ctx, const eb_train_params *p,
                            eb_train_result *result, eb_error *err) {
    memset(result, 0, sizeof *result);
    if (src->dim != in_dim)
        return eb_error_set(err, EB_ERR_SHAPE, "train: data has %lld features, the model expects %lld",
                            (long long)src->dim, (long long)in_dim);
    const eb_batch_source *aux = p->aux;
    if (aux && aux->dim != src->dim)
        return eb_error_set(err, EB_ERR_SHAPE, "train: auxiliary data has %lld features, the ID data %lld",
                            (long long)aux->dim, (long long)src->dim);
    int64_t per_epoch = src->batches_per_epoch;
    int64_t total = p->steps > 0 ? p->steps : p->epochs * per_epoch;
    if (per_epoch < 1 || total < 1) return eb_error_set(err, EB_ERR_ARG, "train: nothing to do (0 steps)");
    eb_status st = eb_optimizer_params_check(&p->optimizer, err);
    if (!st) st = eb_schedule_check(&p->schedule, err);
    if (st) return st;

    loop L = {params, m,          src,  aux,  objective, objective_ctx,
              p,      NULL,       NULL, NULL, 0,         eb_dist_size(p->dist) > 1,
              NAN,    {NULL, 0.0}};
    int64_t epoch = 0;
    if ((st = new_optimizer(p, params, &L.opt, &epoch, err))) return st;
    int64_t step = epoch * per_epoch, first_epoch = epoch;
    if (!(L.g = eb_graph_new(0, &params->allocator))) {
        eb_optimizer_free(L.opt);
        return eb_error_set(err, EB_ERR_NOMEM, "train: out of memory");
    }
    if (step < total) st = src->seek_epoch(src->ctx, epoch, err);

    eb_progress progress;
    eb_progress_begin(&progress, "train", total, p->progress && eb_dist_rank(p->dist) == 0);
    double t0 = eb_time_seconds();
    int64_t total_epochs = (total + per_epoch - 1) / per_epoch, samples = 0;
    result->ranks = eb_dist_size(p->dist);
    if (L.parallel && !st) st = eb_dist_bcast_f32(p->dist, params->data, params->size, 0, err);
    if (L.parallel && m && !st) st = eb_dist_bcast_f32(p->dist, m->buffers.data, m->buffers.size, 0, err);
    const uint64_t rank_seed = p->common_rng ? p->seed : eb_dist_seed(p->dist, p->seed); /* rank 0: p->seed */
    L.bn_sync = (eb_bn_sync){p->dist, 1.0}; /* SyncBN: the weight is set per step */
    if (L.parallel && p->sync_bn && m) m->bn_sync = &L.bn_sync;
    while (!st && step < total) {
        eb_rng dropout_rng = eb_train_epoch_rng(rank_seed, epoch, PURPOSE_DROPOUT);
        if (aux && (st = aux->seek_epoch(aux->ctx, epoch, err))) break;
        double epoch_loss = 0.0;
        int64_t batches = 0, correct_total = 0, seen = 0;
        bool counts_correct = true;
        for (int64_t b = 0; b < per_epoch && step < total; b++, step++) {
            double lv = 0.0;
            int64_t correct = 0, global_rows = 0;
            if ((st = train_step(&L, step, &dropout_rng, &lv, &correct, &global_rows, err))) break;
            epoch_loss += lv;
            batches++;
            seen += global_rows;
            samples += global_rows;
            if (correct < 0)
                counts_correct = false;
            else
                correct_total += correct;
            eb_progress_update(&progress, step + 1, epoch + 1, total_epochs, epoch_loss / (double)batches,
                               counts_correct ? (double)correct_total / (double)seen : -1.0, samples);
        }
        if (batches) {
            result->final_loss = epoch_loss / (double)batches;
            result->final_accuracy = counts_correct ? (double)correct_total / (double)seen : -1.0;
        }
        result->steps = step;
        if (st) break;
        if (batches == per_epoch) epoch++;
        bool stop = p->stop_after_epochs > 0 && epoch - first_epoch >= p->stop_after_epochs;
        eb_train_epoch_info info = {
            epoch, step, result->final_loss, result->final_accuracy, L.opt, stop || step >= total};
        if (p->on_epoch_end) st = p->on_epoch_end(p->on_epoch_end_ctx, m, &info, err);
        if (stop) break;
    }
    eb_progress_end(&progress);
    if (m) m->bn_sync = NULL;
    free(L.joined);
    result->epochs = epoch;
    result->seconds = eb_time_seconds() - t0;
    eb_graph_free(L.g);
    eb_optimizer_free(L.opt);
    return st;
}

eb_status eb_train_source(eb_model *m, const eb_batch_source *src, eb_objective_fn objective,
                          void *objective_ctx, const eb_train_params *p, eb_train_result *result,
                          eb_error *err) {
    return train_loop(&m->params, eb_model_in_dim(m), m, src, objective, objective_ctx, p, result, err);
}

eb_status eb_train_params_source(eb_params *params, int64_t in_dim, const eb_batch_source *src,
                                 eb_objective_fn objective, void *objective_ctx, const eb_train_params *p,
                                 eb_train_result *result, eb_error *err) {
    return train_loop(params, in_dim, NULL, src, objective, objective_ctx, p, result, err);
}

/* ---- rows of an in-memory array, shuffled per epoch ---------------------------------------------- */
typedef struct array_source {
    const float *x;
    const int32_t *labels;
    int64_t n, dim, batch;
    bool drop_last;
    uint64_t seed;
    int64_t epoch, pos, *perm;
    float *xb;
    int32_t *yb;
} array_source;

static eb_status array_seek_epoch(void *ctx, int64_t epoch, eb_error *err) {
    (void)err;
    array_source *s = ctx;
    eb_rng r = eb_train_epoch_rng(s->seed, epoch, PURPOSE_SHUFFLE);
    eb_rng_permutation(&r, s->n, s->perm);
    s->epoch = epoch;
    s->pos = 0;
    return EB_OK;
}

static eb_status array_next(void *ctx, eb_batch_data *out, eb_error *err) {
    array_source *s = ctx;
    if (s->pos + (s->drop_last ? s->batch : 1) > s->n) array_seek_epoch(s, s->epoch + 1, err);
    int64_t b = s->n - s->pos < s->batch ? s->n - s->pos : s->batch;
    for (int64_t i = 0; i < b; i++) {
        int64_t row = s->perm[s->pos + i];
        memcpy(s->xb + i * s->dim, s->x + row * s->dim, (size_t)s->dim * sizeof(float));
        if (s->labels) s->yb[i] = s->labels[row];
    }
    s->pos += b;
    *out = (eb_batch_data){s->xb, s->labels ? s->yb : NULL, b};
    return EB_OK;
}

static void array_free(array_source *s) {
    if (!s) return;
    free(s->perm);
    free(s->xb);
    free(s->yb);
    free(s);
}

eb_status eb_row_source_new(const float *x, const int32_t *labels, int64_t n, int64_t dim, int64_t batch,
                            bool drop_last, uint64_t seed, eb_batch_source *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 1 || batch < 1)
        return eb_error_set(err, EB_ERR_ARG, "train: need at least one sample and batch size >= 1");
    array_source *s = calloc(1, sizeof *s);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "train: out of memory");
    *s = (array_source){x, labels, n, dim, batch < n ? batch : n, drop_last, seed, 0, 0, NULL, NULL, NULL};
    s->perm = malloc((size_t)n * sizeof *s->perm);
    s->xb = malloc((size_t)(s->batch * dim) * sizeof *s->xb);
    s->yb = malloc((size_t)s->batch * sizeof *s->yb);
    if (!s->perm || !s->xb || !s->yb) {
        array_free(s);
        return eb_error_set(err, EB_ERR_NOMEM, "train: out of memory");
    }
    *out = (eb_batch_source){s, dim, drop_last ? n / s->batch : (n + s->batch - 1) / s->batch, array_next,
                             array_seek_epoch};
    return EB_OK;
}

void eb_row_source_free(eb_batch_source *s) {
    if (!s) return;
    array_free(s->ctx);
    memset(s, 0, sizeof *s);
}

eb_status eb_train(eb_model *m, const float *x, const int32_t *labels, int64_t n, int64_t dim,
                   eb_objective_fn objective, void *objective_ctx, const eb_train_params *p,
                   eb_train_result *result, eb_error *err) {
    memset(result, 0, sizeof *result);
    eb_batch_source src;
    eb_status st = eb_row_source_new(x, labels, n, dim, p->batch_size, p->drop_last, p->seed, &src, err);
    if (!st) st = eb_train_source(m, &src, objective, objective_ctx, p, result, err);
    eb_row_source_free(&src);
    return st;
}
