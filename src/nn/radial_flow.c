/* The radial normalizing flow: the EBM paper's density baseline on tabular data
 * (002_39b8670b82235277.txt, Sec. 4 "Architectures" and App. C: "20 stacked radial transforms";
 * specs/seed-code-specs.md §4 "Radial-flow baseline"), after Rezende & Mohamed (2015), Eq. 14.
 *
 * One radial layer maps z ∈ ℝᵈ to
 *   z' = z + β·h(α, r)·(z − z₀),   r = ‖z − z₀‖₂,   h(α, r) = 1/(α + r),
 * with pyro's parametrisation (pyro.distributions.transforms.Radial): α = softplus(α̂) > 0 and
 * β = −α + softplus(β̂) > −α, which makes the layer invertible (Rezende & Mohamed, App. A.2). Its
 * log-Jacobian-determinant is
 *   log|det ∂z'/∂z| = (d − 1)·log(1 + βh) + log(1 + βh + β·h'·r),   h' = ∂h/∂r = −h²,
 * (both arguments are > 0 for β > −α: 1 + βh ≥ r/(α + r), 1 + βh − βh²r = 1 + αβh² ≥ 1 − α²h²).
 *
 * Direction. A TransformedDistribution would push base samples through the layers (base → data) and
 * needs the inverse, which has no closed form, to evaluate log p(x). The paper's code (PostNet's
 * NormalizingFlowDensity, used by uncertainty_est/models/normalizing_flow/norm_flow.py) instead
 * applies the layers' forward formula to the DATA, x = z_0 → z_1 → … → z_K, and scores
 *   log p(x) = log N(z_K; 0, I) + Σ_k log|det ∂z_k/∂z_{k−1}|,
 * the exact change-of-variables density of the bijection x ↦ z_K. We do the same: the forward pass
 * is exact and cheap, training maximises it directly, and sampling (which would need the inverse) is
 * not provided.
 *
 * The model's output is that log-likelihood as one "logit" [N, 1], so logsumexp over the output is
 * log p(x) and every energy-score path (f = lse g, ebm.h) treats the flow as a normalised EBM;
 * features are the final z_K [N, d]. Parameters, per layer i, in pyro's names inside the paper code's
 * nn.ModuleList "transforms": "transforms.<i>.x0" [d], "transforms.<i>.alpha_prime" [1],
 * "transforms.<i>.beta_prime" [1]. (The paper code's frozen base "mean"/"cov" are not stored: the
 * base is always N(0, I).) */
#include "nn/model_impl.h"

#include <math.h>
#include <stdio.h>

eb_radial_flow_config eb_radial_flow_default_config(int64_t dim) {
    eb_radial_flow_config c = {dim, 20};
    return c;
}

eb_status eb_radial_flow_config_check(const eb_radial_flow_config *c, eb_error *err) {
    if (c->dim < 1 || c->dim > (1 << 20))
        return eb_error_set(err, EB_ERR_ARG, "radial_flow: dim %lld out of range [1, 1048576]",
                            (long long)c->dim);
    if (c->n_layers < 1 || c->n_layers > EB_RADIAL_FLOW_MAX_LAYERS)
        return eb_error_set(err, EB_ERR_ARG, "radial_flow: %d layers (1 to %d allowed)", c->n_layers,
                            EB_RADIAL_FLOW_MAX_LAYERS);
    return EB_OK;
}

/* Parameter indices of layer i: x0 = 3i, alpha_prime = 3i + 1, beta_prime = 3i + 2. */
static eb_status flow_build(eb_model *m, eb_error *err) {
    char name[64];
    static const char *const suffix[3] = {"x0", "alpha_prime", "beta_prime"};
    for (int i = 0; i < m->flow.n_layers; i++)
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "transforms.%d.%s", i, suffix[k]);
            int64_t shape[1] = {k == 0 ? m->flow.dim : 1};
            eb_status st = eb_params_add(&m->params, name, 1, shape, err);
            if (st) return st;
        }
    return EB_OK;
}

/* pyro's Radial.reset_parameters: α̂, β̂, x₀ ~ U(−1/√d, 1/√d), drawn in that order per layer. */
static void flow_init(eb_model *m, eb_rng *rng) {
    float bound = (float)(1.0 / sqrt((double)m->flow.dim));
    for (int i = 0; i < m->flow.n_layers; i++) {
        const eb_param_info *x0 = &m->params.info[3 * i], *a = &m->params.info[3 * i + 1],
                            *b = &m->params.info[3 * i + 2];
        eb_rng_fill_uniform(rng, m->params.data + a->offset, 1, -bound, bound);
        eb_rng_fill_uniform(rng, m->params.data + b->offset, 1, -bound, bound);
        eb_rng_fill_uniform(rng, m->params.data + x0->offset, x0->size, -bound, bound);
    }
}

/* One radial layer on z[N, d]; adds its log|det| [N, 1] to *logdet (NULL on the first layer). */
static eb_tensor *radial_layer(eb_model *m, eb_graph *g, eb_tensor *z, int i, eb_tensor **logdet) {
    eb_tensor *x0 = eb_params_tensor(&m->params, g, 3 * i);
    eb_tensor *alpha = eb_softplus(g, eb_params_tensor(&m->params, g, 3 * i + 1), 1.0f); /* [1] */
    eb_tensor *beta = eb_sub(g, eb_softplus(g, eb_params_tensor(&m->params, g, 3 * i + 2), 1.0f), alpha);
    eb_tensor *diff = eb_sub(g, z, x0); /* [N, d] */
    /* r = ‖diff‖ [N, 1]; the 1e-30 only matters at r = 0 exactly, where it keeps the gradient finite
     * (∂r/∂diff is then 0, as torch's norm subgradient); for r² > ~1e-23 it vanishes in float32. */
    eb_tensor *r = eb_sqrt(g, eb_add_scalar(g, eb_sum(g, eb_square(g, diff), 1, true), 1e-30f));
    eb_tensor *h = eb_div(g, eb_tensor_scalar(g, 1.0f), eb_add(g, r, alpha)); /* 1/(α + r) [N, 1] */
    eb_tensor *beta_h = eb_mul(g, beta, h);                                   /* βh [N, 1] */
    /* log|det| = (d − 1)·log(1 + βh) + log(1 + βh − β·h²·r) */
    eb_tensor *t1 = eb_log(g, eb_add_scalar(g, beta_h, 1.0f));
    eb_tensor *t2 = eb_log(g, eb_add_scalar(g, eb_sub(g, beta_h, eb_mul(g, eb_mul(g, beta_h, h), r)), 1.0f));
    eb_tensor *ld = m->flow.dim > 1 ? eb_add(g, eb_mul_scalar(g, t1, (float)(m->flow.dim - 1)), t2) : t2;
    *logdet = *logdet ? eb_add(g, *logdet, ld) : ld;
    return eb_add(g, z, eb_mul(g, beta_h, diff)); /* z + βh·(z − z₀) */
}

static eb_tensor *flow_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                               eb_tensor **features) {
    (void)train;
    (void)rng;
    if (eb_graph_status(g) == EB_OK && (x->ndim != 2 || x->shape[1] != m->flow.dim)) {
        char s[96];
        eb_graph_fail(g, EB_ERR_SHAPE, "radial_flow: input shape %s, expected [N, %lld]",
                      eb_tensor_shape_str(x, s, sizeof s), (long long)m->flow.dim);
    }
    eb_tensor *z = x, *logdet = NULL;
    for (int i = 0; i < m->flow.n_layers; i++) z = radial_layer(m, g, z, i, &logdet);
    if (features) *features = z;
    /* log N(z; 0, I) = −½‖z‖² − (d/2)·log 2π   [N, 1] */
    double log_2pi = 1.8378770664093454835606594728112;
    eb_tensor *base = eb_add_scalar(g, eb_mul_scalar(g, eb_sum(g, eb_square(g, z), 1, true), -0.5f),
                                    (float)(-0.5 * (double)m->flow.dim * log_2pi));
    return eb_add(g, base, logdet);
}

static int64_t flow_feature_dim(const eb_model *m) { return m->flow.dim; }

const eb__model_arch eb__arch_radial_flow = {"radial_flow", EB_MODEL_RADIAL_FLOW, flow_build,
                                             flow_init,     flow_forward,         flow_feature_dim};

eb_status eb_radial_flow_new(const eb_radial_flow_config *c, eb_rng *init_rng, const eb_allocator *a,
                             eb_model **out, eb_error *err) {
    *out = NULL;
    eb_status st = eb_radial_flow_config_check(c, err);
    if (st) return st;
    eb_model *m = eb__model_alloc(EB_MODEL_RADIAL_FLOW, a, err);
    if (!m) return EB_ERR_NOMEM;
    m->flow = *c;
    if ((st = eb__model_finish(m, init_rng, err))) {
        eb_model_free(m);
        return st;
    }
    *out = m;
    return EB_OK;
}
