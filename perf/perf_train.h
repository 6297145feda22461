/* The training step the objective benchmarks time (perf_outliers.c, perf_hamos.c): small_cnn (1×28×28,
 * 10 classes), then per step graph reset → the objective's loss on one batch → zero-grad → backward →
 * optimizer step, the body of eb_train_source. Header-only, on top of the library (perf_util.h is not). */
#ifndef EBOOD_PERF_TRAIN_H
#define EBOOD_PERF_TRAIN_H

#include <ebood/ebood.h>

#include <stdio.h>

typedef struct perf_train {
    const char *prog; /* for messages: "perf_outliers: …" */
    eb_model *m;
    eb_graph *g;
    eb_optimizer *opt;
    float lr;
    eb_objective_fn fn;
    void *ctx;
    eb_rng rng;  /* the objective's draws (dropout, synthesis) */
    double loss; /* of the last step */
} perf_train;

/* small_cnn initialised from `seed` through *init (left as the model's initialisation leaves it); 0, or 2
 * after printing the error. */
static inline int perf_small_cnn(const char *prog, int64_t seed, eb_rng *init, eb_model **m) {
    eb_error err = {0};
    eb_image_config ic = eb_image_default_config(EB_MODEL_SMALL_CNN, 1, 28, 28, 10);
    eb_rng_seed(init, (uint64_t)seed);
    *m = NULL;
    if (eb_image_model_new(EB_MODEL_SMALL_CNN, &ic, init, NULL, m, &err))
        return fprintf(stderr, "%s: %s\n", prog, err.message), 2;
    return 0;
}

/* The step's graph and optimizer (SGD with momentum 0.9, Nesterov, lr and weight decay as given) for m. */
static inline int perf_train_init(perf_train *t, const char *prog, eb_model *m, float lr, float weight_decay,
                                  eb_objective_fn fn, void *ctx, uint64_t rng_seed) {
    *t = (perf_train){.prog = prog, .m = m, .lr = lr, .fn = fn, .ctx = ctx};
    eb_rng_seed(&t->rng, rng_seed);
    eb_optimizer_params op = eb_sgd_default_params();
    op.lr = lr;
    op.momentum = 0.9f;
    op.nesterov = true;
    op.weight_decay = weight_decay;
    eb_error err = {0};
    t->g = eb_graph_new(0, NULL);
    if (!t->g || eb_optimizer_new(&op, m->params.size, NULL, &t->opt, &err))
        return fprintf(stderr, "%s: optimizer: %s\n", prog, err.message), 2;
    return 0;
}

/* One step on x[n_id + n_aux, 784] (labels y[n_id]); 0, or 2 after printing the graph's error. */
static inline int perf_train_step(perf_train *t, const float *x, const int32_t *y, int64_t n_id,
                                  int64_t n_aux) {
    eb_graph_reset(t->g);
    eb_batch batch = {eb_tensor_input(t->g, (float *)x, 2, EB_SHAPE(n_id + n_aux, 28 * 28), false), y, n_id,
                      n_aux};
    eb_tensor *l = t->fn(t->ctx, t->m, t->g, &batch, &t->rng, NULL);
    eb_params_zero_grad(&t->m->params);
    if (eb_graph_status(t->g) || eb_graph_backward(t->g, l, NULL))
        return fprintf(stderr, "%s: %s\n", t->prog, eb_graph_error(t->g)), 2;
    eb_optimizer_step(t->opt, t->m->params.data, t->m->params.grad, t->lr);
    t->loss = l->data[0];
    return 0;
}

static inline void perf_train_free(perf_train *t) {
    eb_graph_free(t->g);
    eb_optimizer_free(t->opt);
}

#endif
