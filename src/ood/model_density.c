/* The log-density of a classifier seen as an EBM (JEM; 002_39b8670b82235277.txt §3):
 *   f(x) = log Σ_k exp g_k(x) = −E(x),   or the class logit f(x) = g_y(x) for class-conditional sampling. */
#include <ebood/ebm.h>

eb_tensor *eb_logits_log_density(eb_graph *g, eb_tensor *logits) {
    if (eb_graph_status(g) != EB_OK) return logits;
    if (logits->ndim != 2) {
        eb_graph_fail(g, EB_ERR_SHAPE, "log-density: logits must be [B, C], got %d dims", logits->ndim);
        return logits;
    }
    if (logits->shape[1] == 1) return eb_reshape(g, logits, 1, EB_SHAPE(logits->shape[0]));
    return eb_logsumexp(g, logits, 1, false);
}

eb_tensor *eb_model_log_density(void *ctx, eb_graph *g, eb_tensor *x) {
    const eb_model_density *d = ctx;
    eb_tensor *logits = eb_model_forward(d->model, g, x, d->train, d->rng, NULL);
    if (!d->labels) return eb_logits_log_density(g, logits);
    if (eb_graph_status(g) != EB_OK) return logits;
    /* g_y(x): row i's logit of class labels[i], gathered from the flattened logits */
    int64_t b = logits->shape[0], c = logits->shape[1];
    int64_t *index = eb_alloc(NULL, (size_t)b * sizeof *index);
    if (!index) {
        eb_graph_fail(g, EB_ERR_NOMEM, "log-density: out of memory");
        return logits;
    }
    for (int64_t i = 0; i < b; i++) {
        if (d->labels[i] < 0 || d->labels[i] >= c) {
            eb_free(NULL, index);
            eb_graph_fail(g, EB_ERR_ARG, "log-density: label %d of row %lld outside [0, %lld)", d->labels[i],
                          (long long)i, (long long)c);
            return logits;
        }
        index[i] = i * c + d->labels[i];
    }
    eb_tensor *flat = eb_reshape(g, logits, 2, EB_SHAPE(b * c, 1));
    eb_tensor *picked = eb_gather_rows(g, flat, index, b);
    eb_free(NULL, index);
    return eb_reshape(g, picked, 1, EB_SHAPE(b));
}

eb_tensor *eb_model_log_density_rows(void *ctx, eb_graph *g, eb_tensor *x, int64_t row0) {
    const eb_model_density *d = ctx;
    if (row0 == 0 || !d->labels) return eb_model_log_density(ctx, g, x);
    eb_model_density block = *d;
    block.labels = d->labels + row0;
    return eb_model_log_density(&block, g, x);
}
