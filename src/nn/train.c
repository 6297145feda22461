/* The generic training loop: shuffled mini-batches, objective → loss on the tape, backward,
 * optional clipping, one optimizer step on the flat buffer. It knows nothing about the method. */
#include <ebood/nn.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static bool all_finite(const float *v, int64_t n) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n; i++) acc += v[i] * 0.0f; /* NaN·0 = NaN, Inf·0 = NaN */
    return acc == 0.0f;
}

eb_status eb_train(eb_model *m, const float *x, const int32_t *labels, int64_t n, int64_t dim,
                   eb_objective_fn objective, void *objective_ctx, const eb_train_params *p,
                   eb_train_result *result, eb_error *err) {
    memset(result, 0, sizeof *result);
    if (dim != eb_model_in_dim(m))
        return eb_error_set(err, EB_ERR_SHAPE, "train: data has %lld features, the model expects %lld",
                            (long long)dim, (long long)eb_model_in_dim(m));
    if (n < 1 || p->batch_size < 1)
        return eb_error_set(err, EB_ERR_ARG, "train: need at least one sample and batch size >= 1");
    int64_t batch = p->batch_size < n ? p->batch_size : n;
    int64_t per_epoch = p->drop_last ? n / batch : (n + batch - 1) / batch;
    int64_t total = p->steps > 0 ? p->steps : p->epochs * per_epoch;
    if (total < 1) return eb_error_set(err, EB_ERR_ARG, "train: nothing to do (0 steps)");
    eb_status st = eb_optimizer_params_check(&p->optimizer, err);
    if (!st) st = eb_schedule_check(&p->schedule, err);
    if (st) return st;

    eb_optimizer *opt = NULL;
    if ((st = eb_optimizer_new(&p->optimizer, m->params.size, &m->params.allocator, &opt, err))) return st;
    eb_graph *g = eb_graph_new(0, &m->params.allocator);
    float *xb = malloc((size_t)(batch * dim) * sizeof *xb);
    int32_t *yb = labels ? malloc((size_t)batch * sizeof *yb) : NULL;
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    if (!g || !xb || (labels && !yb) || !perm) {
        st = eb_error_set(err, EB_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    eb_rng rng;
    eb_rng_seed(&rng, p->seed);
    eb_rng shuffle_rng = eb_rng_split(&rng), dropout_rng = eb_rng_split(&rng);

    eb_progress progress;
    eb_progress_begin(&progress, "train", total, p->progress);
    double t0 = eb_time_seconds(), last_finite = NAN, epoch_loss = 0.0;
    int64_t pos = n, epoch = 0, epoch_batches = 0, epoch_correct = 0, epoch_seen = 0;
    int64_t total_epochs = (total + per_epoch - 1) / per_epoch;
    bool counts_correct = true;
    for (int64_t step = 0; step < total; step++) {
        if (pos + (p->drop_last ? batch : 1) > n) { /* new epoch */
            if (epoch_batches) {
                result->final_loss = epoch_loss / (double)epoch_batches;
                result->final_accuracy = counts_correct ? (double)epoch_correct / (double)epoch_seen : -1.0;
            }
            eb_rng_permutation(&shuffle_rng, n, perm);
            pos = 0;
            epoch++;
            epoch_loss = 0.0;
            epoch_batches = epoch_correct = epoch_seen = 0;
        }
        int64_t b = n - pos < batch ? n - pos : batch;
        for (int64_t i = 0; i < b; i++) {
            memcpy(xb + i * dim, x + perm[pos + i] * dim, (size_t)dim * sizeof *xb);
            if (yb) yb[i] = labels[perm[pos + i]];
        }
        pos += b;

        eb_graph_reset(g);
        eb_batch bt = {eb_tensor_input(g, xb, 2, EB_SHAPE(b, dim), false), yb, b};
        int64_t correct = -1;
        eb_tensor *loss = objective(objective_ctx, m, g, &bt, &dropout_rng, &correct);
        if ((st = eb_graph_status(g))) {
            eb_error_set(err, st, "train: step %lld: %s", (long long)step, eb_graph_error(g));
            break;
        }
        double lv = loss->data[0];
        eb_params_zero_grad(&m->params);
        st = eb_graph_backward(g, loss, NULL);
        if (st) {
            eb_error_set(err, st, "train: step %lld: backward: %s", (long long)step, eb_graph_error(g));
            break;
        }
        if (!isfinite(lv) || !all_finite(m->params.grad, m->params.size)) {
            st = eb_error_set(err, EB_ERR_NUMERIC,
                              "train: diverged at step %lld: %s is not finite (last finite loss %g)",
                              (long long)step, isfinite(lv) ? "a gradient" : "the loss", last_finite);
            break;
        }
        last_finite = lv;
        if (p->clip_grad_norm > 0) eb_params_clip_grad_norm(&m->params, p->clip_grad_norm);
        eb_optimizer_step(opt, m->params.data, m->params.grad, eb_schedule_lr(&p->schedule, step));

        epoch_loss += lv;
        epoch_batches++;
        epoch_seen += b;
        if (correct < 0)
            counts_correct = false;
        else
            epoch_correct += correct;
        result->steps = step + 1;
        eb_progress_update(&progress, step + 1, epoch, total_epochs, epoch_loss / (double)epoch_batches,
                           counts_correct ? (double)epoch_correct / (double)epoch_seen : -1.0,
                           (step + 1) * batch);
    }
    eb_progress_end(&progress);
    if (!st && epoch_batches) {
        result->final_loss = epoch_loss / (double)epoch_batches;
        result->final_accuracy = counts_correct ? (double)epoch_correct / (double)epoch_seen : -1.0;
    }
    result->epochs = epoch;
    result->seconds = eb_time_seconds() - t0;
done:
    free(xb);
    free(yb);
    free(perm);
    eb_graph_free(g);
    eb_optimizer_free(opt);
    return st;
}
