/* VERA's generator q(x, h) = N(h; 0, I) · N(x; G(h), σ²I), its entropy-gradient estimator and the
 * generator step (Grathwohl et al. 2021 as released in VERA's utils/vera_utils.py "VERAGenerator" and
 * reused by the EBM paper's code; specs §4 "VERA").
 *
 * Entropy gradient. H(q) = −E_q[log q(x)] and, with x = G_ψ(h) + σε reparameterised,
 *   ∇ψ H = −E[∇ₓ log q(x) · ∂x/∂ψ],   ∇ₓ log q(x) = E_{q(h|x)}[∇ₓ log q(x|h)] = −E_{q(h|x)}[(x − G(h))/σ²].
 * The posterior expectation is estimated by self-normalised importance sampling with the proposal
 * ξ(h'|h) = N(h, diag σ_post²) around the latent that produced x:
 *   c(x) = Σ_k w_k (x − G(h_k))/σ²,   w = softmax_k(log q(x, h_k) − log ξ(h_k|h)),   h_k ~ ξ(·|h),
 * so that, with c held fixed, ∇ψ Ĥ with Ĥ = Σ_d mean_j (c ⊙ x)_{jd} is the estimate of ∇ψ H (also for σ,
 * through x = μ + σε). σ_post is fitted by Adam on the ELBO of ξ:
 *   ELBO(σ_post) = E_{h'~ξ}[log q(x, h')] + H(ξ),   h' = h + σ_post ⊙ ε' (one reparameterised draw),
 *   ∂ELBO/∂log σ_post,j = mean_i (∂ Σ_i' log q(x_i', h'_i')/∂h'_ij) σ_post,j ε'_ij + 1.
 * Constants common to all k (−D log σ, the 2π terms) cancel in the softmax and are left out. */
#include "ood/objectives/vera_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_tensor *eb__vera_generator_forward(eb_vera *v, eb_graph *g, eb_tensor *h) {
    const eb_vera_config *c = &v->c;
    eb_batch_norm_params bnp = eb_batch_norm_default_params(); /* training: batch statistics */
    eb_tensor *x = h;
    for (int i = 0; i <= c->n_hidden; i++) {
        eb_tensor *w = eb_params_tensor(&v->gen, g, v->lin_w[i]);
        eb_tensor *b = v->lin_b[i] >= 0 ? eb_params_tensor(&v->gen, g, v->lin_b[i]) : NULL;
        x = eb_linear(g, x, w, b);
        if (i == c->n_hidden) break;
        if (c->batch_norm)
            x = eb_batch_norm(g, x, eb_params_tensor(&v->gen, g, v->bn_w[i]),
                              eb_params_tensor(&v->gen, g, v->bn_b[i]), NULL, NULL, &bnp);
        x = eb_activation_apply(g, x, c->activation, c->activation_param);
    }
    return x;
}

static float *work(eb_vera *v, int64_t n) {
    if (n > v->work_cap) {
        float *w = realloc(v->work, (size_t)n * sizeof(float));
        if (!w) return NULL;
        v->work = w;
        v->work_cap = n;
    }
    return v->work;
}

/* G(h) of n rows as values, computed on v->scratch with the generator frozen. */
static eb_tensor *generator_values(eb_vera *v, const float *h, int64_t n) {
    eb_graph *g = v->scratch;
    eb_graph_freeze_params(g, true);
    eb_tensor *ht = eb_tensor_copy(g, h, 2, EB_SHAPE(n, v->c.noise_dim));
    eb_tensor *mu = eb__vera_generator_forward(v, g, ht);
    eb_graph_freeze_params(g, false);
    return mu;
}

/* The importance samples h_k = h + σ_post ⊙ z, k < K, row k·n + i of hk [K·n, kz], and their log weights
 * logw [K, n] = log N(h_k; 0, I) − log ξ(h_k|h), log ξ(h_k|h) = Σ_j −½ z_j² − log σ_post,j (+ const). */
static void importance_samples(const eb_vera *v, const float *h, int64_t n, eb_rng *rng, float *hk,
                               float *logw) {
    const int64_t kz = v->c.noise_dim, kk = v->c.n_posterior;
    for (int64_t k = 0; k < kk; k++)
        for (int64_t i = 0; i < n; i++) {
            double lxi = 0.0, lph = 0.0;
            float *row = hk + (k * n + i) * kz;
            for (int64_t j = 0; j < kz; j++) {
                double z = v->fixed_zk ? (double)v->fixed_zk[(k * n + i) * kz + j] : eb_rng_normal(rng);
                double sp = exp((double)v->post_log_sigma[j]);
                row[j] = (float)((double)h[i * kz + j] + sp * z);
                lxi += -0.5 * z * z - (double)v->post_log_sigma[j];
                lph += -0.5 * (double)row[j] * (double)row[j];
            }
            logw[k * n + i] = (float)(lph - lxi); /* log N(h_k; 0, I) − log ξ; log q(x|h_k) added below */
        }
}

/* c[i] = Σ_k w_ik (x_i − G(h_k))/σ², w_i = softmax_k(logw_k + log q(x_i|h_k)), the generator's values
 * mu [K·n, d] (logw [K, n] gets the log q terms added). */
static void self_normalized_score(const float *x, const float *mu, int64_t n, int64_t d, int64_t kk,
                                  double inv_var, float *logw, float *c) {
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        double mx = -INFINITY;
        for (int64_t k = 0; k < kk; k++) {
            const float *m = mu + (k * n + i) * d;
            double sq = 0.0;
            for (int64_t e = 0; e < d; e++)
                sq += ((double)xi[e] - (double)m[e]) * ((double)xi[e] - (double)m[e]);
            double lw = (double)logw[k * n + i] - 0.5 * sq * inv_var;
            logw[k * n + i] = (float)lw;
            if (lw > mx) mx = lw;
        }
        double z = 0.0;
        for (int64_t k = 0; k < kk; k++) z += exp((double)logw[k * n + i] - mx);
        for (int64_t e = 0; e < d; e++) c[i * d + e] = 0.0f;
        for (int64_t k = 0; k < kk; k++) {
            double w = exp((double)logw[k * n + i] - mx) / z;
            const float *m = mu + (k * n + i) * d;
            for (int64_t e = 0; e < d; e++)
                c[i * d + e] += (float)(w * ((double)xi[e] - (double)m[e]) * inv_var);
        }
    }
}

/* σ_post: one Adam step on −ELBO (code: post_loss = −(log q(x, h') + H(ξ)).mean()), h' = h + σ_post ⊙ z'. */
static eb_status learn_posterior(eb_vera *v, const float *x, const float *h, int64_t n, double inv_var,
                                 eb_rng *rng) {
    const int64_t kz = v->c.noise_dim, d = v->dim;
    eb_graph *g = v->scratch;
    eb_tensor *hp = eb_tensor_zeros(g, 2, EB_SHAPE(n, kz)), *zp = eb_tensor_zeros(g, 2, EB_SHAPE(n, kz));
    if (eb_graph_status(g) != EB_OK) return eb_graph_status(g);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < kz; j++) {
            float z = v->fixed_zp ? v->fixed_zp[i * kz + j] : (float)eb_rng_normal(rng);
            zp->data[i * kz + j] = z;
            hp->data[i * kz + j] =
                (float)((double)h[i * kz + j] + exp((double)v->post_log_sigma[j]) * (double)z);
        }
    eb_tensor *hin = eb_tensor_input(g, hp->data, 2, hp->shape, true);
    eb_graph_freeze_params(g, true);
    eb_tensor *mup = eb__vera_generator_forward(v, g, hin);
    eb_graph_freeze_params(g, false);
    eb_tensor *xt = eb_tensor_copy(g, x, 2, EB_SHAPE(n, d));
    /* Σ_i log q(x_i, h'_i) up to constants = Σ_i [−½‖x_i − G(h'_i)‖²/σ² − ½‖h'_i‖²] */
    eb_tensor *joint =
        eb_add(g, eb_mul_scalar(g, eb_sum_all(g, eb_square(g, eb_sub(g, xt, mup))), (float)(-0.5 * inv_var)),
               eb_mul_scalar(g, eb_sum_all(g, eb_square(g, hin)), -0.5f));
    if (eb_graph_backward(g, joint, NULL) != EB_OK) return eb_graph_status(g);
    for (int64_t j = 0; j < kz; j++) {
        double s = 0.0, sp = exp((double)v->post_log_sigma[j]);
        for (int64_t i = 0; i < n; i++)
            s += (double)hin->grad[i * kz + j] * sp * (double)zp->data[i * kz + j];
        v->post_grad[j] = (float)(-(s / (double)n + 1.0)); /* d(−ELBO)/d log σ_post,j */
    }
    eb_optimizer_step(v->post_opt, v->post_log_sigma, v->post_grad, (float)v->c.post_lr);
    return EB_OK;
}

eb_status eb__vera_entropy_score(eb_vera *v, const float *x, const float *h, int64_t n, eb_rng *rng, float *c,
                                 bool learn_post) {
    const int64_t kz = v->c.noise_dim, kk = v->c.n_posterior;
    eb_graph *g = v->scratch;
    float *hk = work(v, kk * n * kz + kk * n);
    if (!hk) {
        eb_graph_fail(g, EB_ERR_NOMEM, "vera: out of memory");
        return EB_ERR_NOMEM;
    }
    float *logw = hk + kk * n * kz; /* [K, n] */
    const double sigma = exp((double)v->gen.data[v->gen.info[v->logsigma].offset]);
    const double inv_var = 1.0 / (sigma * sigma);
    importance_samples(v, h, n, rng, hk, logw);
    /* G(h_k) for all K·n rows in one batch (BatchNorm statistics over the K·n rows, as the code's
     * logq_joint call on h_given_x.view(-1, k)) */
    eb_tensor *mu = generator_values(v, hk, kk * n);
    if (eb_graph_status(g) != EB_OK) return eb_graph_status(g);
    self_normalized_score(x, mu->data, n, v->dim, kk, inv_var, logw, c);
    return learn_post ? learn_posterior(v, x, h, n, inv_var, rng) : EB_OK;
}

eb_status eb__vera_generator_grad(eb_vera *v, eb_model *m, const float *h, const float *eps, int64_t n,
                                  eb_rng *rng, bool learn_post, eb_vera_step_info *info, eb_error *err) {
    const int64_t kz = v->c.noise_dim, d = v->dim;
    eb_graph *g = v->scratch;
    eb_graph_reset(g);
    eb_params_zero_grad(&v->gen);
    /* x̃ = G(h) + exp(logsigma)·ε with the generator's parameters on the tape */
    eb_tensor *ht = eb_tensor_copy(g, h, 2, EB_SHAPE(n, kz));
    eb_tensor *mu = eb__vera_generator_forward(v, g, ht);
    eb_tensor *sigma = eb_exp(g, eb_params_tensor(&v->gen, g, v->logsigma));
    eb_tensor *xg = eb_add(g, mu, eb_mul(g, eb_tensor_copy(g, eps, 2, EB_SHAPE(n, d)), sigma));
    eb_tensor *loss = NULL;
    double f_mean = 0.0, ent = 0.0;
    if (m) {
        /* −mean f(x̃) with the EBM's parameters frozen: only ∇ₓf flows, into the generator */
        eb_graph_freeze_params(g, true);
        eb_tensor *f = eb_logits_log_density(g, eb_model_forward(m, g, xg, true, rng, NULL));
        eb_graph_freeze_params(g, false);
        eb_tensor *fm = eb_mean_all(g, f);
        if (eb_graph_status(g) == EB_OK) f_mean = fm->data[0];
        loss = eb_mul_scalar(g, fm, -1.0f);
    }
    if (v->c.entropy_weight > 0 && eb_graph_status(g) == EB_OK) {
        eb_tensor *ct = eb_tensor_zeros(g, 2, EB_SHAPE(n, d));
        if (eb_graph_status(g) == EB_OK &&
            eb__vera_entropy_score(v, xg->data, h, n, rng, ct->data, learn_post) == EB_OK) {
            /* Ĥ = Σ_d mean_j c_jd x̃_jd, c a constant */
            eb_tensor *hh = eb_mul_scalar(g, eb_sum_all(g, eb_mul(g, ct, xg)), (float)(1.0 / (double)n));
            if (eb_graph_status(g) == EB_OK) ent = hh->data[0];
            eb_tensor *term = eb_mul_scalar(g, hh, (float)-v->c.entropy_weight);
            loss = loss ? eb_add(g, loss, term) : term;
        }
    }
    if (eb_graph_status(g) != EB_OK)
        return eb_error_set(err, eb_graph_status(g), "vera: generator step %lld: %s", (long long)v->gen_steps,
                            eb_graph_error(g));
    if (!loss) return EB_OK; /* nothing to train (no EBM term, λ = 0) */
    double lv = loss->data[0];
    if (!isfinite(lv))
        return eb_error_set(err, EB_ERR_NUMERIC,
                            "vera: generator step %lld: the generator loss is not finite",
                            (long long)v->gen_steps);
    if (eb_graph_backward(g, loss, NULL) != EB_OK)
        return eb_error_set(err, eb_graph_status(g), "vera: generator step %lld: backward: %s",
                            (long long)v->gen_steps, eb_graph_error(g));
    if (info) {
        info->gen_loss = lv;
        info->f_gen_step = m ? f_mean : (double)NAN;
        info->entropy = v->c.entropy_weight > 0 ? ent : (double)NAN;
    }
    return EB_OK;
}

void eb__vera_generator_apply(eb_vera *v) {
    eb_optimizer_step(v->gen_opt, v->gen.data, v->gen.grad, eb_schedule_lr(&v->c.gen_schedule, v->gen_steps));
    v->gen_steps++;
    /* clamp σ to [σ_min, σ_max] (code: logsigma.data.clamp_(log σ_min, log σ_max)) */
    float *ls = v->gen.data + v->gen.info[v->logsigma].offset;
    float lo = (float)log(v->c.sigma_min), hi = (float)log(v->c.sigma_max);
    if (!(*ls >= lo)) *ls = lo; /* NaN goes to the lower bound */
    if (*ls > hi) *ls = hi;
}

eb_status eb__vera_generate(eb_vera *v, const float *h, const float *eps, int64_t n, float *x,
                            eb_error *err) {
    eb_graph_reset(v->scratch);
    eb_tensor *mu = generator_values(v, h, n);
    if (eb_graph_status(v->scratch) != EB_OK)
        return eb_error_set(err, eb_graph_status(v->scratch), "vera: generator: %s",
                            eb_graph_error(v->scratch));
    double sigma = exp((double)v->gen.data[v->gen.info[v->logsigma].offset]);
    for (int64_t i = 0; i < n * v->dim; i++) x[i] = (float)((double)mu->data[i] + sigma * (double)eps[i]);
    return EB_OK;
}
