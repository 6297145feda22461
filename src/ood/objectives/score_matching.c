/* Sliced score matching with variance reduction (SSM-VR) and its supervised (JEM-style) variant.
 *
 * 002_39b8670b82235277.txt §3 "Sliced score matching" (Song et al. 2019) and App. C: Rademacher
 * projections v ∈ {±1}^D, one per sample, so E_v[(vᵀs)²] = ‖s‖² is integrated analytically:
 *   L(θ) = (1/B)·Σ_i [ ½‖g_i‖² + v_iᵀ H_i v_i ] + γ·CE,   g_i = ∇ₓf(x_i), H_i = ∇ₓ²f(x_i),
 * f = logsumexp of the logits (specs §4 "SSM"). The released code differentiates g with create_graph
 * (double backprop); our tape is first-order, so both second-order pieces are central differences of
 * first-order quantities, with one step length s along unit directions (w_i = v_i/‖v_i‖, u_i = g_i/‖g_i‖):
 *
 *   trace term   T_i = ‖v_i‖²·(f(x_i + s w_i) − 2 f(x_i) + f(x_i − s w_i)) / s²
 *                = v_iᵀH_iv_i + ‖v_i‖²·(s²/12)·∂⁴_w f + O(s⁴)
 *     Its θ-gradient is the same combination of ∇θf, exactly what the tape gives for the three passes.
 *   score term   ∇θ ½‖g_i‖² = (∂g_i/∂θ)ᵀ g_i = ‖g_i‖·∂/∂θ (u_iᵀ∇ₓf)(x_i)
 *                ≈ ‖g_i‖·∇θ(f(x_i + s u_i) − f(x_i − s u_i)) / (2s)  + O(s²)   (u_i, ‖g_i‖ held fixed)
 *     so S_i = ‖g_i‖·(f(x_i + s u_i) − f(x_i − s u_i))/(2s) goes on the tape as a surrogate (its value is
 *     ≈ ‖g_i‖², not ½‖g_i‖²) and the loss's value is corrected by a constant (eb_add_scalar) to the
 *     estimator's value mean_i(½‖g_i‖² + T_i), with ½‖g_i‖² from an input-gradient sweep.
 *
 * Error order. Truncation: O(s²) for both (the s²/12 and s²/6 Taylor remainders). Rounding: every f
 * (and ∇θf) evaluated in float32 carries a relative error of a few ε (ε = 2⁻²⁴), and the second
 * difference divides it by s²: ~ε·‖v‖²·(|f| + |x|·|g|)/s² for the value (the x±s·w inputs are rounded
 * too), ~ε·‖v‖²·Σ|∇θf|/s² for the gradient; the score surrogate's rounding is only ~ε·‖g‖·|∇θf|/s.
 * Balancing s²/12·|∂⁴f| against 4ε|f|/s² gives s* = (48ε|f|/|∂⁴f|)^{1/4} ≈ 0.04 for |f| ~ |∂⁴f| ~ 1,
 * i.e. an error ~ √ε relative: h = 0.02 (a little below s*, because the truncation error is a bias that
 * SGD does not average away, while rounding errors are independent from step to step).
 * Scale: s = h·max(1, rms(x)). The input-rounding term ε|x|/s needs s ∝ |x| for large inputs; the
 * forward-rounding term ε|f|/s² does not shrink with x, so small inputs keep s = h.
 *
 * Evaluation mode: the 5B shifted/centre rows go through ONE eval-mode forward (a concatenated batch),
 * so all passes see the same function of x (no dropout masks, no batch statistics). */
#include "ood/objectives/ebm_method_impl.h"

#include <ebood/ebm.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eb_ssm_config eb_ssm_default_config(void) {
    eb_ssm_config c = {0};
    c.h = 0.02;
    c.ce_weight = 0.0;
    return c;
}

eb_ssm_config eb_ssm_supervised_default_config(void) {
    eb_ssm_config c = eb_ssm_default_config();
    c.ce_weight = 1.0;
    return c;
}

eb_status eb_ssm_config_check(const eb_ssm_config *c, eb_error *err) {
    if (!c) return eb_error_set(err, EB_ERR_ARG, "ssm: config is NULL");
    if (!(c->h > 0.0 && c->h <= 1.0))
        return eb_error_set(err, EB_ERR_ARG, "ssm: h = %g, must be in (0, 1]", c->h);
    if (!(c->ce_weight >= 0.0 && isfinite(c->ce_weight)))
        return eb_error_set(err, EB_ERR_ARG, "ssm: ce_weight = %g, must be finite and >= 0", c->ce_weight);
    return EB_OK;
}

char *eb_ssm_config_json(const eb_ssm_config *c) {
    char buf[128];
    int n = snprintf(buf, sizeof buf, "{\"objective\":\"ssm\",\"h\":%.17g,\"ce_weight\":%.17g}", c->h,
                     c->ce_weight);
    if (n < 0 || (size_t)n >= sizeof buf) return NULL;
    char *out = malloc((size_t)n + 1);
    if (out) memcpy(out, buf, (size_t)n + 1);
    return out;
}

/* v = sign(N(0, I)): each sign is a fair coin, so take one bit of the stream per entry. */
static void draw_rademacher(float *v, int64_t n, eb_rng *rng) {
    uint64_t bits = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((i & 63) == 0) bits = eb_rng_u64(rng);
        v[i] = (bits & 1u) ? 1.0f : -1.0f;
        bits >>= 1;
    }
}

static bool all_finite(const float *a, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(a[i])) return false;
    return true;
}

/* The arguments' checks: false (and g failed, naming the problem) if one does not hold. */
static bool ssm_args_ok(eb_graph *g, eb_model *m, const eb_tensor *x, const int32_t *labels, const float *v,
                        const eb_ssm_config *c, const eb_rng *rng) {
    eb_error cerr = {0};
    if (eb_ssm_config_check(c, &cerr)) {
        eb_graph_fail(g, EB_ERR_ARG, "%s", cerr.message);
        return false;
    }
    const int64_t dim = eb_model_in_dim(m);
    if (x->ndim != 2 || x->shape[1] != dim || x->shape[0] < 1) {
        char s[96];
        eb_graph_fail(g, EB_ERR_SHAPE, "ssm: input shape %s, expected [B, %lld] with B >= 1",
                      eb_tensor_shape_str(x, s, sizeof s), (long long)dim);
        return false;
    }
    if (c->ce_weight > 0.0 && !labels) {
        eb_graph_fail(g, EB_ERR_ARG, "ssm: ce_weight %g > 0 (supervised) but the data has no labels",
                      c->ce_weight);
        return false;
    }
    if (!v && !rng) {
        eb_graph_fail(g, EB_ERR_ARG, "ssm: no projections v and no rng to draw them");
        return false;
    }
    return true;
}

/* The projections v_i, [B, D] on the arena: a copy of the caller's v, or Rademacher draws from rng. */
static eb_tensor *ssm_projections(eb_graph *g, int64_t B, int64_t D, const float *v, eb_rng *rng) {
    eb_tensor *vt = eb_tensor_zeros(g, 2, EB_SHAPE(B, D));
    if (eb_graph_status(g) != EB_OK) return vt;
    if (v)
        memcpy(vt->data, v, (size_t)(B * D) * sizeof(float));
    else
        draw_rademacher(vt->data, B * D, rng);
    return vt;
}

/* The step length s = h·max(1, rms(x)) of x[n]. */
static double ssm_step(const float *x, int64_t n, double h) {
    double sq = 0.0;
    for (int64_t i = 0; i < n; i++) sq += (double)x[i] * (double)x[i];
    const double rms = sqrt(sq / (double)n);
    return h * (rms > 1.0 ? rms : 1.0);
}

/* Step 1: g_i = ∇ₓf(x_i) for x [B, D]: eval-mode forward with frozen parameters, backward from Σ_i f(x_i).
 * Sets *grad to g [B, D] (x0->grad) and returns f(x) [B]; on failure *grad stays NULL (g failed, or the
 * status of the backward pass is not EB_OK). */
static eb_tensor *ssm_input_gradient(eb_graph *g, eb_model *m, const eb_tensor *x, const float **grad) {
    const int64_t B = x->shape[0], D = x->shape[1];
    eb_tensor *xbuf = eb_tensor_zeros(g, 2, EB_SHAPE(B, D));
    if (eb_graph_status(g) != EB_OK) return xbuf;
    memcpy(xbuf->data, x->data, (size_t)(B * D) * sizeof(float));
    eb_graph_freeze_params(g, true);
    eb_tensor *x0 = eb_tensor_input(g, xbuf->data, 2, EB_SHAPE(B, D), true);
    eb_tensor *f0 = eb_logits_log_density(g, eb_model_forward(m, g, x0, false, NULL, NULL));
    eb_status st = eb_graph_status(g);
    if (st == EB_OK) st = eb_graph_backward(g, f0, NULL);
    eb_graph_freeze_params(g, false);
    if (st != EB_OK) return f0;
    if (!all_finite(f0->data, B) || !all_finite(x0->grad, B * D)) {
        eb_graph_fail(g, EB_ERR_NUMERIC, "ssm: the log-density or its input gradient is not finite");
        return f0;
    }
    *grad = x0->grad;
    return f0;
}

/* Step 2: rows [x + s·u | x − s·u | x + s·w | x − s·w | x] into xs [5B, D] and their coefficients c_r into
 * coef [5B]: ±‖g_i‖/(2sB) for the score surrogate, ‖v_i‖²/(s²B)·(1, 1, −2) for the trace term.
 * x, grad, v [B, D]. Returns the score term's value mean_i ½‖g_i‖². */
static double ssm_shifted_rows(const eb_tensor *x, const float *grad, const float *v, double s, eb_tensor *xs,
                               eb_tensor *coef) {
    const int64_t B = x->shape[0], D = x->shape[1];
    double score = 0.0;
    for (int64_t i = 0; i < B; i++) {
        const float *xi = x->data + i * D, *gi = grad + i * D, *vi = v + i * D;
        double gn2 = 0.0, vn2 = 0.0;
        for (int64_t j = 0; j < D; j++) {
            gn2 += (double)gi[j] * (double)gi[j];
            vn2 += (double)vi[j] * (double)vi[j];
        }
        const double gn = sqrt(gn2), vn = sqrt(vn2);
        score += 0.5 * gn2;
        /* a zero g_i or v_i has no direction: its term is 0 (coefficient 0, rows = x_i) */
        const double su = gn > 0.0 ? s / gn : 0.0, sw = vn > 0.0 ? s / vn : 0.0;
        float *r0 = xs->data + (0 * B + i) * D, *r1 = xs->data + (1 * B + i) * D,
              *r2 = xs->data + (2 * B + i) * D, *r3 = xs->data + (3 * B + i) * D,
              *r4 = xs->data + (4 * B + i) * D;
        for (int64_t j = 0; j < D; j++) {
            r0[j] = (float)((double)xi[j] + su * (double)gi[j]);
            r1[j] = (float)((double)xi[j] - su * (double)gi[j]);
            r2[j] = (float)((double)xi[j] + sw * (double)vi[j]);
            r3[j] = (float)((double)xi[j] - sw * (double)vi[j]);
            r4[j] = xi[j];
        }
        const double cs = gn / (2.0 * s * (double)B), ct = vn > 0.0 ? vn2 / (s * s * (double)B) : 0.0;
        coef->data[0 * B + i] = (float)cs;
        coef->data[1 * B + i] = (float)-cs;
        coef->data[2 * B + i] = (float)ct;
        coef->data[3 * B + i] = (float)ct;
        coef->data[4 * B + i] = (float)(-2.0 * ct);
    }
    return score / (double)B;
}

/* The trace term's value mean_i T_i in double from the float32 f [5B] (the differences are the estimate),
 * with the coefficients ‖v_i‖²/(s²B) of coef [5B] as on the tape. */
static double ssm_trace_value(const float *f, const float *coef, int64_t B) {
    double trace = 0.0;
    for (int64_t i = 0; i < B; i++) {
        double c2 = (double)coef[2 * B + i];
        trace += c2 * (((double)f[2 * B + i] - (double)f[4 * B + i]) +
                       ((double)f[3 * B + i] - (double)f[4 * B + i]));
    }
    return trace;
}

/* loss + γ·CE(model(x) in train mode, labels); *ce_value and *correct (of B rows) when g has not failed. */
static eb_tensor *ssm_add_ce(eb_graph *g, eb_model *m, eb_tensor *x, const int32_t *labels, double gamma,
                             eb_rng *rng, eb_tensor *loss, double *ce_value, int64_t *correct) {
    eb_tensor *logits = eb_model_forward(m, g, x, true, rng, NULL);
    eb_tensor *ce = eb_cross_entropy(g, logits, labels);
    loss = eb_add(g, loss, eb_mul_scalar(g, ce, (float)gamma));
    if (eb_graph_status(g) != EB_OK) return loss;
    *ce_value = ce->data[0];
    *correct = eb__count_correct(logits, labels, x->shape[0]);
    return loss;
}

eb_tensor *eb_ssm_loss(eb_graph *g, eb_model *m, eb_tensor *x, const int32_t *labels, const float *v,
                       const eb_ssm_config *c, eb_rng *rng, eb_ssm_terms *terms) {
    if (terms) *terms = (eb_ssm_terms){NAN, NAN, NAN, NAN, NAN, -1};
    if (eb_graph_status(g) != EB_OK || !ssm_args_ok(g, m, x, labels, v, c, rng)) return x;
    const int64_t B = x->shape[0], D = x->shape[1];

    eb_tensor *vt = ssm_projections(g, B, D, v, rng);
    if (eb_graph_status(g) != EB_OK) return vt;
    const double s = ssm_step(x->data, B * D, c->h);
    const float *grad = NULL;
    eb_tensor *f0 = ssm_input_gradient(g, m, x, &grad);
    if (!grad) return f0;

    eb_tensor *xs = eb_tensor_zeros(g, 2, EB_SHAPE(5 * B, D));
    eb_tensor *coef = eb_tensor_zeros(g, 1, EB_SHAPE(5 * B));
    if (eb_graph_status(g) != EB_OK) return xs;
    const double score = ssm_shifted_rows(x, grad, vt->data, s, xs, coef);

    /* Step 3: one eval-mode forward of the 5B rows; the surrogate Σ_r c_r·f_r on the tape. */
    eb_tensor *f = eb_logits_log_density(g, eb_model_forward(m, g, xs, false, NULL, NULL)); /* [5B] */
    eb_tensor *surrogate = eb_sum_all(g, eb_mul(g, f, coef));
    if (eb_graph_status(g) != EB_OK) return surrogate;
    if (!all_finite(f->data, 5 * B)) {
        eb_graph_fail(g, EB_ERR_NUMERIC, "ssm: the log-density is not finite at the shifted inputs");
        return surrogate;
    }
    const double trace = ssm_trace_value(f->data, coef->data, B), value = score + trace;
    eb_tensor *loss = eb_add_scalar(g, surrogate, (float)(value - (double)surrogate->data[0]));

    double ce_value = NAN;
    int64_t correct = -1;
    if (c->ce_weight > 0.0) loss = ssm_add_ce(g, m, x, labels, c->ce_weight, rng, loss, &ce_value, &correct);
    if (eb_graph_status(g) != EB_OK) return loss;
    if (terms) *terms = (eb_ssm_terms){loss->data[0], score, trace, ce_value, s, correct};
    return loss;
}

eb_status eb_ssm_loss_grad(eb_model *m, const float *x, const int32_t *labels, int64_t n, const float *v,
                           const eb_ssm_config *c, eb_rng *rng, eb_ssm_terms *terms, eb_error *err) {
    if (!m || !x || n < 1)
        return eb_error_set(err, EB_ERR_ARG, "ssm: model or x missing, or n = %lld < 1", (long long)n);
    eb_status st = eb_ssm_config_check(c, err);
    if (st) return st;
    eb_graph *g = eb_graph_new(0, &m->params.allocator);
    if (!g) return eb_error_set(err, EB_ERR_NOMEM, "ssm: out of memory");
    eb_tensor *xt = eb_tensor_input(g, (float *)x, 2, EB_SHAPE(n, eb_model_in_dim(m)), false);
    eb_ssm_terms t;
    eb_tensor *loss = eb_ssm_loss(g, m, xt, labels, v, c, rng, &t);
    eb_params_zero_grad(&m->params);
    if ((st = eb_graph_status(g)) == EB_OK) st = eb_graph_backward(g, loss, NULL);
    if (st)
        eb_error_set(err, st, "%s", eb_graph_error(g));
    else if (terms)
        *terms = t;
    eb_graph_free(g);
    return st;
}

eb_tensor *eb_objective_ssm(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                            int64_t *n_correct) {
    eb_ssm_terms t;
    eb_tensor *loss = eb_ssm_loss(g, m, batch->x, batch->labels, NULL, (const eb_ssm_config *)ctx, rng, &t);
    if (n_correct) *n_correct = t.n_correct;
    return loss;
}

/* ---- registry rows: ssm, ssm-s (objective_impl.h; parameters in eb_ebm_method) ----------------------------
 */
static const eb_param_desc ssm_rows[] = {
    {"h", "ssm-h", EB_PARAM_TYPE_F64, offsetof(eb_ebm_method, ssm.h), 0, 1, false, false, NULL, "H",
     "relative finite-difference step, in (0, 1]"},
    EB__EBM_CE_WEIGHT_ROW(ssm.ce_weight),
};

static void ssm_defaults(void *p) { eb_ebm_method_parse("ssm", p, NULL); }
static void ssm_s_defaults(void *p) { eb_ebm_method_parse("ssm-s", p, NULL); }

const eb__objective_method eb__objective_ssm = EB__EBM_OBJECTIVE(
    "ssm", "sliced score matching (SSM-VR, 002 §3)", ssm_defaults, ssm_rows, eb__ebm_use_code, NULL, NULL);
const eb__objective_method eb__objective_ssm_s = EB__EBM_OBJECTIVE(
    "ssm-s", "supervised SSM: + gamma*CE", ssm_s_defaults, ssm_rows, eb__ebm_use_code, NULL, NULL);
