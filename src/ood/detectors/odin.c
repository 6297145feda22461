/* ODIN (Liang et al. 2018) as the energy paper's code runs it (specs §1, utils/score_calculation.py):
 *   ŷ = argmax_k f_k(x);  L(x) = CE(f(x)/T, ŷ) = −log softmax(f(x)/T)_ŷ;
 *   x̃ = x − eps · sign(∇ₓ L(x)) / std,  sign(g) = +1 for g ≥ 0, −1 otherwise (torch.ge(grad, 0));
 *   score = max_k softmax(f(x̃)/T)_k   (higher = more ID; the code reports its negative).
 * Defaults T = 1000, eps = 0.0014 (ODIN's). `std` comes from eb_detector_data.input_std (the
 * inputs' normalisation std; NULL = 1). The gradient is taken on the tape through eb_model_forward, in
 * batches; each sample's gradient is its own (the batch loss is a sum over samples). Nothing is
 * fitted: fit() records the model's input and output dims. The model's gradient buffer is zeroed
 * after scoring. */
#include "ood/detector_impl.h"

#include <stdlib.h>
#include <string.h>

#define ODIN_BATCH 128

static eb_status odin_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    eb_model *m = x->model;
    const int64_t din = d->input_dim, nc = d->n_classes;
    if (eb_model_out_dim(m) != nc)
        return eb_error_set(err, EB_ERR_SHAPE, "model: %lld classes, the odin detector was fitted on %lld",
                            (long long)eb_model_out_dim(m), (long long)nc);
    const float T = d->params.temperature, eps = d->params.eps;
    const int64_t bmax = x->n < ODIN_BATCH ? x->n : ODIN_BATCH;
    float *xb = malloc((size_t)(bmax * din) * sizeof *xb);
    float *logits = malloc((size_t)(bmax * nc) * sizeof *logits);
    int32_t *labels = malloc((size_t)bmax * sizeof *labels);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_status st = EB_OK;
    if (!xb || !logits || !labels || !g) st = eb_error_set(err, EB_ERR_NOMEM, "odin: out of memory");
    for (int64_t start = 0; start < x->n && !st; start += ODIN_BATCH) {
        const int64_t b = x->n - start < ODIN_BATCH ? x->n - start : ODIN_BATCH;
        memcpy(xb, x->inputs + start * din, (size_t)(b * din) * sizeof *xb);
        eb_graph_reset(g);
        eb_tensor *xt = eb_tensor_input(g, xb, 2, EB_SHAPE(b, din), true);
        eb_tensor *out = eb_model_forward(m, g, xt, false, NULL, NULL);
        if ((st = eb_graph_status(g))) {
            eb_error_set(err, st, "odin: %s", eb_graph_error(g));
            break;
        }
        for (int64_t i = 0; i < b; i++) { /* first maximal index, as numpy argmax */
            const float *row = out->data + i * nc;
            int32_t arg = 0;
            for (int64_t k = 1; k < nc; k++)
                if (row[k] > row[arg]) arg = (int32_t)k;
            labels[i] = arg;
        }
        /* mean CE over the batch, seeded with b so that each row gets its own sample's gradient */
        eb_tensor *loss = eb_cross_entropy(g, eb_mul_scalar(g, out, 1.0f / T), labels);
        const float seed = (float)b;
        if ((st = eb_graph_backward(g, loss, &seed))) {
            eb_error_set(err, st, "odin: %s", eb_graph_error(g));
            break;
        }
        eb__perturb_inputs(xb, x->inputs + start * din, xt->grad, b, x, eps);
        if ((st = eb_model_predict(m, xb, b, b, logits, NULL, err))) break;
        st = eb_logit_scores(EB_SCORE_MSP, logits, b, nc, T, scores + start, err);
    }
    eb_params_zero_grad(&m->params);
    eb_graph_free(g);
    free(xb);
    free(logits);
    free(labels);
    return st;
}

static unsigned odin_score_needs(const eb_detector *d) {
    (void)d;
    return EB_NEEDS_INPUTS | EB_NEEDS_MODEL;
}

/* ODIN's defaults (specs §1): T = 1000, ε = 0.0014. */
static void odin_defaults(eb_detector_params *p) {
    p->temperature = 1000.0f;
    p->eps = 0.0014f;
}

const eb__detector_method eb__detector_odin = {
    .name = "odin",
    .params_used = EB_PARAM_TEMPERATURE | EB_PARAM_EPS,
    .defaults = odin_defaults,
    .needs = EB_NEEDS_MODEL,
    .score = odin_score,
    .score_needs = odin_score_needs,
};
