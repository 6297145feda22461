/* The plain classifier objective: mean cross-entropy of the model's logits against the labels. */
#include "ood/objectives/objective_impl.h"

#include <ebood/ood.h>

eb_tensor *eb_objective_cross_entropy(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                      int64_t *n_correct) {
    (void)ctx;
    eb_tensor *logits = eb_model_forward(m, g, batch->x, true, rng, NULL);
    if (!batch->labels) {
        eb_graph_fail(g, EB_ERR_ARG, "cross-entropy objective: the data has no labels");
        return logits;
    }
    if (n_correct && eb_graph_status(g) == EB_OK)
        *n_correct = eb__count_correct(logits, batch->labels, batch->size);
    return eb_cross_entropy(g, logits, batch->labels);
}

/* ---- registry row: ce (objective_impl.h): no parameters, the generic model and training profile ----------
 */
static void ce_defaults(void *p) { (void)p; }

const eb__objective_method eb__objective_ce = {
    .name = "ce",
    .help = "cross-entropy classifier (the CE baseline of 002, the pre-training of 003)",
    .defaults = ce_defaults,
    .fn = eb_objective_cross_entropy,
};
