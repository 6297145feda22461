/* VERA's EBM loss with the gradient penalty by a finite difference of first-order gradients.
 *
 *   L(θ) = −(mean_i f(x_i) − mean_j f(x̃_j)) + γ_pg·P(θ) + γ_ce·CE(g(x), y)         (specs §4 "VERA")
 *   P(θ) = (1/B) Σ_i ½‖G_i‖²,   G = ∇ₓF(x; θ),   F = Σ_i f(x_i)  (per sample)  or  mean_i f(x_i)  (batch
 * mean)
 *
 * ∇θ P = (1/B) Σ_i (∂G_i/∂θ)ᵀ G_i needs a second derivative. With G held fixed,
 *   (1/B) Σ_i (∂G_i/∂θ)ᵀ G_i = ∇θ [ (1/B) Gᵀ ∇ₓF(x; θ) ] = ∇θ [ (1/B) d/dh F(x + hG; θ) |_{h=0} ],
 * and the directional derivative is replaced by its central difference,
 *   T(θ) = (1/B) · (F(x + hG; θ) − F(x − hG; θ)) / (2h),
 * which is first-order on the tape. Its error is O(h²·∂³F) (zero when f is quadratic in x; for piecewise-
 * linear nets, only the samples whose ±hG segment crosses a kink are off). h is chosen so that the rms
 * per-sample perturbation ‖hG_i‖ is fd_step. T's value (≈ 2P) is replaced by P's, computed from G, with
 * eb_add_scalar, so the loss value is exact and its θ-gradient is the difference's. */
#include "ood/objectives/objective_impl.h"
#include "ood/objectives/vera_impl.h"

#include <math.h>
#include <string.h>

/* f = log-density of m's logits (logsumexp; the logit itself for one output). */
static eb_tensor *log_density(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                              eb_tensor **logits) {
    eb_tensor *l = eb_model_forward(m, g, x, train, rng, NULL);
    if (logits) *logits = l;
    return eb_logits_log_density(g, l);
}

static eb_tensor *reduce_f(eb_graph *g, eb_tensor *f, eb_vera_penalty p) {
    return p == EB_VERA_PENALTY_BATCH_MEAN ? eb_mean_all(g, f) : eb_sum_all(g, f);
}

/* x + s·G as a constant [B, D] on g. */
static eb_tensor *shifted(eb_graph *g, const eb_tensor *x, const float *grad, double s) {
    eb_tensor *t = eb_tensor_zeros(g, 2, x->shape);
    if (eb_graph_status(g) != EB_OK) return t;
    for (int64_t i = 0; i < x->size; i++) t->data[i] = (float)((double)x->data[i] + s * (double)grad[i]);
    return t;
}

/* The arguments' checks: false (and g failed, naming the problem) if one does not hold. */
static bool vera_args_ok(eb_graph *g, const eb_graph *scratch, const eb_tensor *x_data, const int32_t *labels,
                         const eb_tensor *x_gen, const eb_vera_config *c) {
    if (x_data->ndim != 2 || x_gen->ndim != 2 || x_data->shape[1] != x_gen->shape[1] ||
        x_data->shape[0] < 1) {
        char a[96], b[96];
        eb_graph_fail(g, EB_ERR_SHAPE, "vera: data %s and generator samples %s must be [B, D] and [N, D]",
                      eb_tensor_shape_str(x_data, a, sizeof a), eb_tensor_shape_str(x_gen, b, sizeof b));
        return false;
    }
    if (c->pg_weight > 0 && !scratch) {
        eb_graph_fail(g, EB_ERR_ARG, "vera: the gradient penalty needs a scratch graph");
        return false;
    }
    if (c->ce_weight > 0 && !labels) {
        eb_graph_fail(g, EB_ERR_ARG, "vera: ce_weight %g needs labels", c->ce_weight);
        return false;
    }
    return true;
}

/* The rng of one penalty pass: *r = *r0 (the data pass's stream, replayed), or NULL without an rng. */
static eb_rng *replay(const eb_rng *r0, eb_rng *r) {
    if (!r0) return NULL;
    *r = *r0;
    return r;
}

/* G = ∇ₓF(x_data) [B, D] on the scratch graph, the model's parameters frozen; NULL (g failed) if the
 * backward pass fails. */
static const float *penalty_input_gradient(eb_graph *g, eb_graph *scratch, eb_model *m,
                                           const eb_tensor *x_data, const eb_vera_config *c, bool train,
                                           const eb_rng *r0) {
    eb_graph_reset(scratch);
    eb_graph_freeze_params(scratch, true);
    eb_tensor *xs = eb_tensor_zeros(scratch, 2, x_data->shape);
    eb_tensor *xin = xs;
    if (eb_graph_status(scratch) == EB_OK) {
        memcpy(xs->data, x_data->data, (size_t)x_data->size * sizeof(float));
        xin = eb_tensor_input(scratch, xs->data, 2, x_data->shape, true);
    }
    eb_rng r;
    eb_tensor *big_f =
        reduce_f(scratch, log_density(m, scratch, xin, train, replay(r0, &r), NULL), c->penalty);
    eb_graph_freeze_params(scratch, false);
    if (eb_graph_backward(scratch, big_f, NULL) != EB_OK) {
        eb_graph_fail(g, eb_graph_status(scratch), "vera: gradient penalty: %s", eb_graph_error(scratch));
        return NULL;
    }
    return xin->grad;
}

/* loss + γ_pg·T(θ), T's value replaced by P's (the comment at the top); t->penalty, grad_norm and fd_h
 * set. NULL (g failed) if G or P is not available or finite. */
static eb_tensor *add_penalty(eb_graph *g, eb_graph *scratch, eb_model *m, const eb_tensor *x_data,
                              const eb_vera_config *c, bool train, const eb_rng *r0, eb_tensor *loss,
                              eb_vera_terms *t) {
    const int64_t b = x_data->shape[0], d = x_data->shape[1];
    const float *grad = penalty_input_gradient(g, scratch, m, x_data, c, train, r0);
    if (!grad) return NULL;
    double sq = 0.0;
    for (int64_t i = 0; i < b * d; i++) sq += (double)grad[i] * (double)grad[i];
    const double penalty = 0.5 * sq / (double)b;
    if (!isfinite(penalty)) {
        eb_graph_fail(g, EB_ERR_NUMERIC, "vera: gradient penalty: non-finite input gradient");
        return NULL;
    }
    t->penalty = penalty;
    t->grad_norm = sqrt(sq / (double)b);
    if (!(sq > 0)) return loss; /* ∇ₓf = 0 everywhere on the batch: P = 0 and ∇θ P = 0 */
    const double h = c->fd_step / t->grad_norm;
    t->fd_h = h;
    eb_tensor *xp = shifted(g, x_data, grad, h), *xm = shifted(g, x_data, grad, -h);
    eb_rng r;
    eb_tensor *fp = reduce_f(g, log_density(m, g, xp, train, replay(r0, &r), NULL), c->penalty);
    eb_tensor *fm = reduce_f(g, log_density(m, g, xm, train, replay(r0, &r), NULL), c->penalty);
    const double scale = c->pg_weight / (2.0 * h * (double)b);
    eb_tensor *diff = eb_mul_scalar(g, eb_sub(g, fp, fm), (float)scale);
    if (eb_graph_status(g) != EB_OK) return NULL;
    /* value γ·P exactly, gradient of the difference */
    diff = eb_add_scalar(g, diff, (float)(c->pg_weight * penalty - (double)diff->data[0]));
    return eb_add(g, loss, diff);
}

eb_tensor *eb_vera_ebm_loss(eb_graph *g, eb_graph *scratch, eb_model *m, eb_tensor *x_data,
                            const int32_t *labels, eb_tensor *x_gen, const eb_vera_config *c, bool train,
                            eb_rng *rng, eb_vera_terms *terms) {
    eb_vera_terms t = {NAN, NAN, 0.0, 0.0, 0.0, NAN, -1};
    if (terms) *terms = t;
    if (eb_graph_status(g) != EB_OK || !vera_args_ok(g, scratch, x_data, labels, x_gen, c))
        return eb_tensor_scalar(g, 0.0f);
    /* the penalty's passes replay this stream, so that dropout masks match the data pass's */
    eb_rng r0;
    memset(&r0, 0, sizeof r0);
    if (rng) r0 = *rng;

    eb_tensor *logits = NULL;
    eb_tensor *f_data = log_density(m, g, x_data, train, rng, &logits);
    eb_tensor *f_gen = log_density(m, g, x_gen, train, rng, NULL);
    eb_tensor *mean_data = eb_mean_all(g, f_data), *mean_gen = eb_mean_all(g, f_gen);
    eb_tensor *loss = eb_sub(g, mean_gen, mean_data); /* −(mean f(x) − mean f(x̃)) */
    if (eb_graph_status(g) != EB_OK) return loss;
    t.f_data = mean_data->data[0];
    t.f_gen = mean_gen->data[0];

    if (c->pg_weight > 0) {
        eb_tensor *with_penalty = add_penalty(g, scratch, m, x_data, c, train, rng ? &r0 : NULL, loss, &t);
        if (!with_penalty) return loss;
        loss = with_penalty;
    }
    if (c->ce_weight > 0) {
        eb_tensor *ce = eb_cross_entropy(g, logits, labels);
        if (eb_graph_status(g) != EB_OK) return loss;
        t.ce = ce->data[0];
        loss = eb_add(g, loss, eb_mul_scalar(g, ce, (float)c->ce_weight));
    }
    if (labels && eb_graph_status(g) == EB_OK && logits->shape[1] > 1)
        t.n_correct = eb__count_correct(logits, labels, logits->shape[0]);
    if (terms) *terms = t;
    return loss;
}
