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

/* ---- registry row: oe (objective_impl.h) ------------------------------------------------------------ */
typedef struct oe_params {
    eb_oe_config c; /* first: the loss reads the params as its eb_oe_config */
    int64_t aux_batch;
} oe_params;

static void oe_defaults(void *p) { *(oe_params *)p = (oe_params){eb_oe_default_config(), 256}; }

static eb_status oe_check(const void *p, eb_error *err) {
    return eb_oe_config_check(&((const oe_params *)p)->c, err);
}

static const eb_param_desc oe_rows[] = {
    {"lambda", "oe-lambda", EB_PARAM_TYPE_F32, offsetof(oe_params, c.lambda), 0, 1e6, false, false, NULL, "W",
     "OE: weight of the outliers' cross-entropy to the uniform distribution"},
    EB__AUX_BATCH_ROW(oe_params, aux_batch),
};

static eb_status oe_aux_setup(void *ctx, eb_model *model, const eb_image_set *id, const eb_image_set *aux,
                              const eb_image_transforms *norm, int64_t batches_per_epoch, eb_aux_params *ap,
                              eb_error *err) {
    (void)model, (void)id, (void)aux, (void)norm, (void)batches_per_epoch, (void)err;
    ap->batch_size = ((const oe_params *)ctx)->aux_batch;
    ap->order = EB_AUX_OFFSET; /* the code's unshuffled outlier loader, a random offset per epoch */
    return EB_OK;
}

const eb__objective_method eb__objective_oe = {
    .name = "oe",
    .help = "Outlier Exposure: CE + 0.5 x CE(outliers, uniform) on ID + --aux-data batches (003 Table 2)",
    .params_size = sizeof(oe_params),
    .params = oe_rows,
    .n_params = (int)(sizeof oe_rows / sizeof oe_rows[0]),
    .defaults = oe_defaults,
    .check = oe_check,
    .fn = eb_objective_oe,
    .aux_setup = oe_aux_setup,
};
