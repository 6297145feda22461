/* Outlier Exposure (Hendrycks et al. 2019; the baseline of 003_77034dadf9bef685.txt Table 2 and "MSP-OE"
 * of 000_d95ac7511efbaafc.txt Table 1; specs §1, outlier-training-notes.md):
 *   L = CE(f(x_id), y) + λ · mean_out [ lse_k f_k(x_out) − (1/C) Σ_k f_k(x_out) ],   λ = 0.5,
 * the second term the cross-entropy from softmax f(x_out) to the uniform distribution. One forward pass
 * over [x_id; x_out] (eb_batch). */
#include "ood/objectives/outliers_impl.h"

#include <math.h>

eb_oe_config eb_oe_default_config(void) { return (eb_oe_config){0.5f}; }

eb_status eb_oe_config_check(const eb_oe_config *c, eb_error *err) {
    if (!(isfinite(c->lambda) && c->lambda >= 0.0f))
        return eb_error_set(err, EB_ERR_ARG, "oe: lambda must be a finite number >= 0 (got %g)",
                            (double)c->lambda);
    return EB_OK;
}

eb_tensor *eb_objective_oe(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                           int64_t *n_correct) {
    const eb_oe_config *c = ctx;
    eb_tensor *logits = eb_model_forward(m, g, batch->x, true, rng, NULL), *ce = NULL, *out = NULL;
    if (!eb__outlier_split(g, "oe", logits, batch, &ce, &out, n_correct)) return logits;
    /* [n_aux]: lse f − mean f = −(1/C) Σ_k log softmax_k f, the CE to uniform */
    eb_tensor *to_uniform = eb_sub(g, eb_logsumexp(g, out, 1, false), eb_mean(g, out, 1, false));
    return eb_add(g, ce, eb_mul_scalar(g, eb_mean_all(g, to_uniform), c->lambda));
}
