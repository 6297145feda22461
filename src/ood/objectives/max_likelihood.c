/* Maximum likelihood for a normalised density model: loss = −mean_i log p(x_i), the EBM paper's
 * normalizing-flow objective (002_39b8670b82235277.txt App. C; the code's norm_flow.py:
 * loss = −log_p.mean()). log p(x) = logsumexp over the model's output, which for a radial flow (one
 * output) is its exact log-likelihood. */
#include "ood/objectives/ebm_method_impl.h"

#include <ebood/ebm.h>

eb_tensor *eb_objective_max_likelihood(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch,
                                       eb_rng *rng, int64_t *n_correct) {
    (void)ctx;
    if (n_correct) *n_correct = -1;
    if (m->kind != EB_MODEL_RADIAL_FLOW)
        eb_graph_fail(g, EB_ERR_ARG,
                      "max-likelihood objective: a %s is not a normalised density (use radial_flow)",
                      eb_model_kind_name(m->kind));
    eb_tensor *out = eb_model_forward(m, g, batch->x, true, rng, NULL); /* [B, 1] */
    eb_tensor *log_p = eb_logsumexp(g, out, 1, false);                  /* [B] */
    return eb_mul_scalar(g, eb_mean_all(g, log_p), -1.0f);
}

/* ---- registry row: flow (objective_impl.h; parameters in eb_ebm_method) -----------------------------------
 */
static const eb_param_desc flow_rows[] = {
    {"n_layers", "flow-layers", EB_PARAM_TYPE_INT, offsetof(eb_ebm_method, flow.n_layers), 1,
     EB_RADIAL_FLOW_MAX_LAYERS, false, false, NULL, "N", "radial layers"},
};

static void flow_defaults(void *p) { eb_ebm_method_parse("flow", p, NULL); }

/* no code preset (the paper's and the code's agree); builds its own model, a radial flow */
const eb__objective_method eb__objective_flow =
    EB__EBM_OBJECTIVE("flow", "radial flow by maximum likelihood (002 App. C)", flow_defaults, flow_rows,
                      NULL, NULL, eb__ebm_model_new);
