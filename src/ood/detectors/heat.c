/* HEAT: a hybrid energy-based model in the feature space (001_8dfeaa911d9afebd.txt; specs §5, the
 * released code MarcLafon/heatood). Detectors "heat" (one prior) and "heat_combined".
 *
 * Model (Eq. (1)): p_θ(z) ∝ exp(−E(z)),  E(z) = E_θ(z)/T + E_prior(z)/T_prior, with
 *   gmm   E_prior = E_G = −log Σ_c π_c N(z; μ_c, Σ) on L2-normalised z (gmm.c; full log-density)
 *   el    E_prior = E_EL = −logsumexp(W z + b) on raw z, W, b = the classifier's last linear layer
 *   none  no prior (Table 2 "HEAT w/o MoG": a plain EBM on normalised z)
 * and E_θ the MLP of heat_energy_mlp.c. Score (higher = more ID) = −E(z) (A.2).
 *
 * Training (Eq. (2), (3); specs §5 steps 1–4), per shuffled batch z⁺ of B training features (the
 * last partial batch dropped; a training set smaller than B is one batch):
 *   1. proposals z₀: gmm c ~ π, z₀ = μ_c + Lε (Σ = LLᵀ); el/none z₀ ~ N(0, I); projected by ReLU
 *      (relu param) and, for the normalised priors, onto the unit sphere;
 *   2. K SGLD steps on the FULL energy, z ← P(z − η_t∇E(z) + σ_t ε) (eb_sgld_sample on f = −E), η_t
 *      and σ_t decaying (quadratic in the code) from η₀, σ₀ to decay_end·η₀, decay_end·σ₀; E_θ frozen;
 *   3. negatives z⁻ = [SGLD output; projected z₀] (2B rows), detached;
 *   4. z⁺, z⁻ += N(0, input_noise²); loss = mean E_θ(z⁺) − mean E_θ(z⁻) + λ(mean E_θ(z⁺)² +
 *      mean E_θ(z⁻)²) — E_θ alone (not /T, not the prior: it does not depend on θ); Adam(lr,
 *      β = (0, 0.999)), lr ×0.1 from epoch ⌊epochs/2⌋ on (MultiStepLR at epoch 10 of 20).
 *   A non-finite loss or gradient, or a diverging SGLD chain, stops with EB_ERR_NUMERIC naming the
 *   epoch, step and last finite loss.
 *
 * heat_combined (the code's CombineScorer over HEAT-GMM and HEAT-EL; HEAT-GMM-std is left out: it
 * needs spatially std-pooled feature maps, which a penultimate feature vector does not carry):
 *   score = −Σ_k (E_k(z) − m_k)/s_k, m_k and s_k (unbiased) of E_k on the ID training features —
 *   all of them by default, or one random batch of 256 as the code (stats_batch).
 *
 * Saved tensors (F32): "ebm" (heat) or "gmm.ebm" + "el.ebm" (heat_combined): the flat parameter
 * buffer of E_θ (layout in heat_impl.h, given by width/depth/tied); with a gmm prior "gmm.means",
 * "gmm.cholesky", "gmm.weights" (gmm.c); with el "fc.weight" [C, d], "fc.bias" [C]; heat_combined
 * "id_stats" [2, 2] = [[m_gmm, s_gmm], [m_el, s_el]]. */
#include "ood/detectors/gaussian_impl.h"
#include "ood/detectors/heat_impl.h"

#include <ebood/ebm.h>
#include <ebood/optim.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATS_BATCH 256 /* the code's standardisation batch */

typedef struct heat_ebm {
    eb_heat_prior prior;
    eb_heat_ebm cfg;
    eb__energy_mlp mlp;
    bool has_mlp;
} heat_ebm;

typedef struct heat_state {
    int n_ebm; /* heat: 1; heat_combined: 2 ([0] gmm, [1] el) */
    heat_ebm ebm[2];
    eb__gmm gmm;
    bool has_gmm;
    float *fc_w, *fc_b; /* [C, d], [C] */
    float id_stats[4];  /* heat_combined: m_gmm, s_gmm, m_el, s_el */
} heat_state;

static bool normalised(eb_heat_prior prior) { return prior != EB_HEAT_PRIOR_EL; }

static const eb_heat_ebm *block_of(const eb_heat_params *p, eb_heat_prior prior) {
    return prior == EB_HEAT_PRIOR_GMM ? &p->gmm : prior == EB_HEAT_PRIOR_EL ? &p->el : &p->none;
}

static void heat_free_state(eb_detector *d) {
    heat_state *s = d->state;
    if (s) {
        for (int k = 0; k < 2; k++)
            if (s->ebm[k].has_mlp) eb__energy_mlp_free(&s->ebm[k].mlp);
        if (s->has_gmm) eb__gmm_free(&s->gmm);
        free(s->fc_w);
        free(s->fc_b);
        free(s);
    }
    d->state = NULL;
}

/* Sets up s->n_ebm and the priors/configs of the EBMs from the parameters. */
static void layout(const eb_detector *d, heat_state *s) {
    const eb_heat_params *p = &d->params.heat;
    if (d->kind == EB_DETECTOR_HEAT_COMBINED) {
        s->n_ebm = 2;
        s->ebm[0].prior = EB_HEAT_PRIOR_GMM;
        s->ebm[1].prior = EB_HEAT_PRIOR_EL;
    } else {
        s->n_ebm = 1;
        s->ebm[0].prior = p->prior;
    }
    for (int k = 0; k < s->n_ebm; k++) s->ebm[k].cfg = *block_of(p, s->ebm[k].prior);
}

static bool uses_prior(const heat_state *s, eb_heat_prior prior) {
    for (int k = 0; k < s->n_ebm; k++)
        if (s->ebm[k].prior == prior) return true;
    return false;
}

/* ---- energies ------------------------------------------------------------------------------------ */

typedef struct energy_ctx {
    heat_state *s;
    heat_ebm *e;
    int64_t dim, nc;
} energy_ctx;

/* f(z) = −E(z) = −(E_θ(z)/T + E_prior(z)/T_prior), the log-density eb_sgld_sample ascends. */
static eb_tensor *neg_energy(void *ctx, eb_graph *g, eb_tensor *z) {
    energy_ctx *c = ctx;
    heat_ebm *e = c->e;
    eb_tensor *energy = eb_mul_scalar(g, eb__energy_mlp_forward(&e->mlp, g, z), 1.0f / e->cfg.temperature);
    eb_tensor *prior = NULL;
    if (e->prior == EB_HEAT_PRIOR_GMM) {
        prior = eb__gmm_energy_tape(&c->s->gmm, g, z);
    } else if (e->prior == EB_HEAT_PRIOR_EL) {
        eb_tensor *w = eb_tensor_input(g, c->s->fc_w, 2, EB_SHAPE(c->nc, c->dim), false);
        eb_tensor *b = eb_tensor_input(g, c->s->fc_b, 1, EB_SHAPE(c->nc), false);
        prior = eb_mul_scalar(g, eb_logsumexp(g, eb_linear(g, z, w, b), 1, false), -1.0f);
    }
    if (prior) energy = eb_add(g, energy, eb_mul_scalar(g, prior, 1.0f / e->cfg.prior_temperature));
    return eb_mul_scalar(g, energy, -1.0f);
}

/* The same on a block of the chains (every term is per row): eb_sgld_sample_rows runs the blocks in
 * parallel, one per thread. */
static eb_tensor *neg_energy_rows(void *ctx, eb_graph *g, eb_tensor *z, int64_t row0) {
    (void)row0;
    return neg_energy(ctx, g, z);
}

/* E(z_i) for raw features x[n, dim], in double for the prior: E_θ(z)/T + E_prior(z)/T_prior. */
static eb_status total_energy(heat_state *s, heat_ebm *e, const float *x, int64_t n, int64_t dim, int64_t nc,
                              double *out, eb_error *err) {
    float *z = malloc((size_t)(n * dim) * sizeof *z);
    float *eth = malloc((size_t)n * sizeof *eth);
    double *prior = malloc((size_t)n * sizeof *prior);
    eb_status st = (!z || !eth || !prior) ? eb_error_set(err, EB_ERR_NOMEM, "heat: out of memory") : EB_OK;
    if (!st) {
        if (normalised(e->prior))
            eb__l2_normalize_rows(z, x, n, dim);
        else
            memcpy(z, x, (size_t)(n * dim) * sizeof *z);
        st = eb__energy_mlp_eval(&e->mlp, z, n, eth, err);
    }
    if (!st && e->prior == EB_HEAT_PRIOR_GMM) {
        if ((st = eb__gmm_log_density(&s->gmm, z, n, prior))) eb_error_set(err, st, "heat: out of memory");
        for (int64_t i = 0; !st && i < n; i++) prior[i] = -prior[i];
    } else if (!st && e->prior == EB_HEAT_PRIOR_EL) {
        /* −logsumexp_c(w_c·z + b_c), max-shifted, in double */
        double *l = malloc((size_t)nc * sizeof *l);
        if (!l) st = eb_error_set(err, EB_ERR_NOMEM, "heat: out of memory");
        for (int64_t i = 0; !st && i < n; i++) {
            double m = -INFINITY, sum = 0.0;
            for (int64_t c = 0; c < nc; c++) {
                double acc = (double)s->fc_b[c];
                for (int64_t j = 0; j < dim; j++)
                    acc += (double)s->fc_w[c * dim + j] * (double)z[i * dim + j];
                l[c] = acc;
                if (acc > m) m = acc;
            }
            for (int64_t c = 0; c < nc; c++) sum += exp(l[c] - m);
            prior[i] = -(m + log(sum));
        }
        free(l);
    } else if (!st) {
        for (int64_t i = 0; i < n; i++) prior[i] = 0.0;
    }
    const double t = (double)e->cfg.temperature, tp = (double)e->cfg.prior_temperature;
    for (int64_t i = 0; !st && i < n; i++) out[i] = (double)eth[i] / t + prior[i] / tp;
    free(z);
    free(eth);
    free(prior);
    return st;
}

/* ---- training ---------------------------------------------------------------------------------------- */

static bool all_finite(const float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return false;
    return true;
}

/* Proposals z₀[b, dim] (step 1 of specs §5), before projection. eps: dim doubles of scratch; weights:
 * the nc mixture weights π_c as doubles (gmm). */
static void propose(const heat_state *s, eb_heat_prior prior, float *z0, int64_t b, int64_t dim, eb_rng *rng,
                    double *eps, const double *weights) {
    if (prior != EB_HEAT_PRIOR_GMM) {
        eb_rng_fill_normal(rng, z0, b * dim, 0.0f, 1.0f);
        return;
    }
    const eb__gmm *g = &s->gmm;
    for (int64_t i = 0; i < b; i++) {
        int64_t c = eb_rng_categorical(rng, weights, g->nc);
        if (c < 0) c = 0;
        for (int64_t j = 0; j < dim; j++) eps[j] = eb_rng_normal(rng);
        /* z₀ = μ_c + L ε, L lower triangular */
        for (int64_t r = 0; r < dim; r++) {
            double acc = (double)g->means[c * dim + r];
            for (int64_t k = 0; k <= r; k++) acc += g->chol[r * dim + k] * eps[k];
            z0[i * dim + r] = (float)acc;
        }
    }
}

static eb_status train_ebm(heat_state *s, heat_ebm *e, const eb_heat_params *hp, const float *z, int64_t n,
                           int64_t dim, int64_t nc, eb_rng *rng, eb_error *err) {
    const eb_heat_ebm *cfg = &e->cfg;
    const char *pname = eb_heat_prior_name(e->prior);
    const int64_t bsz = cfg->batch_size < n ? cfg->batch_size : n;
    const int64_t n_batches = n / bsz; /* drop_last */
    const unsigned proj = (hp->relu ? (unsigned)EB_PROJECT_RELU : 0u) |
                          (normalised(e->prior) ? (unsigned)EB_PROJECT_SPHERE : 0u);
    eb_optimizer_params op = eb_adam_default_params();
    op.lr = cfg->lr;
    op.beta1 = 0.0f;
    op.beta2 = 0.999f;
    eb_optimizer *opt = NULL;
    eb_status st = eb_optimizer_new(&op, e->mlp.params.size, NULL, &opt, err);
    if (st) return st;
    float *zpos = malloc((size_t)(bsz * dim) * sizeof *zpos);
    float *neg = malloc((size_t)(2 * bsz * dim) * sizeof *neg);
    float *noise = malloc((size_t)(3 * bsz * dim) * sizeof *noise);
    double *eps = malloc((size_t)dim * sizeof *eps);
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    double *weights = malloc((size_t)(nc > 0 ? nc : 1) * sizeof *weights);
    eb_graph *g = eb_graph_new(0, NULL), *scratch = eb_graph_new(0, NULL);
    if (!zpos || !neg || !noise || !eps || !perm || !weights || !g || !scratch)
        st = eb_error_set(err, EB_ERR_NOMEM, "heat (%s prior): out of memory", pname);
    eb_sgld_params sp = {
        .steps = cfg->steps,
        .step_size = {(double)cfg->step_size, (double)cfg->decay_end * (double)cfg->step_size,
                      (eb_decay_kind)cfg->decay},
        .noise = {(double)cfg->noise, (double)cfg->decay_end * (double)cfg->noise, (eb_decay_kind)cfg->decay},
        .projection = proj,
        .max_abs_log_density = 0.0, /* the NaN/Inf check only */
    };
    energy_ctx ctx = {s, e, dim, nc};
    for (int64_t c = 0; !st && s->has_gmm && c < nc; c++) weights[c] = (double)s->gmm.weights[c];
    const int64_t milestone = cfg->epochs / 2 >= 1 ? cfg->epochs / 2 : cfg->epochs + 1;
    char label[64];
    snprintf(label, sizeof label, "heat %s", pname);
    eb_progress pr;
    eb_progress_begin(&pr, label, cfg->epochs * n_batches, true);
    double last_finite = NAN;
    int64_t step = 0;
    for (int64_t ep = 0; ep < cfg->epochs && !st; ep++) {
        const float lr = ep >= milestone ? cfg->lr * 0.1f : cfg->lr;
        eb_rng_permutation(rng, n, perm);
        for (int64_t bi = 0; bi < n_batches && !st; bi++, step++) {
            for (int64_t i = 0; i < bsz; i++)
                memcpy(zpos + i * dim, z + perm[bi * bsz + i] * dim, (size_t)dim * sizeof *zpos);
            /* 1. proposals, projected; 2. SGLD on the full energy; 3. negatives = [SGLD; z₀] */
            propose(s, e->prior, neg, bsz, dim, rng, eps, weights);
            eb_project_rows(neg, bsz, dim, proj);
            memcpy(neg + bsz * dim, neg, (size_t)(bsz * dim) * sizeof *neg);
            eb_error serr = {0};
            char lastbuf[48] = "no update yet";
            if (!isnan(last_finite)) snprintf(lastbuf, sizeof lastbuf, "last finite loss %g", last_finite);
            if (cfg->steps > 0 &&
                eb_sgld_sample_rows(neg_energy_rows, &ctx, neg, bsz, dim, &sp, rng, scratch, NULL, &serr)) {
                st = eb_error_set(err, serr.status, "heat (%s prior): epoch %lld, step %lld: %s (%s)", pname,
                                  (long long)ep + 1, (long long)step + 1, serr.message, lastbuf);
                break;
            }
            /* 4. input noise, the loss on E_θ alone */
            if (cfg->input_noise > 0.0f) {
                eb_rng_fill_normal(rng, noise, 3 * bsz * dim, 0.0f, cfg->input_noise);
                for (int64_t i = 0; i < bsz * dim; i++) zpos[i] += noise[i];
                for (int64_t i = 0; i < 2 * bsz * dim; i++) neg[i] += noise[bsz * dim + i];
            }
            eb_graph_reset(g);
            eb_tensor *ep_t =
                eb__energy_mlp_forward(&e->mlp, g, eb_tensor_input(g, zpos, 2, EB_SHAPE(bsz, dim), false));
            eb_tensor *en_t =
                eb__energy_mlp_forward(&e->mlp, g, eb_tensor_input(g, neg, 2, EB_SHAPE(2 * bsz, dim), false));
            eb_tensor *reg =
                eb_add(g, eb_mean_all(g, eb_square(g, ep_t)), eb_mean_all(g, eb_square(g, en_t)));
            eb_tensor *loss = eb_add(g, eb_sub(g, eb_mean_all(g, ep_t), eb_mean_all(g, en_t)),
                                     eb_mul_scalar(g, reg, cfg->l2));
            eb_params_zero_grad(&e->mlp.params);
            if ((st = eb_graph_backward(g, loss, NULL))) {
                eb_error_set(err, st, "heat (%s prior): %s", pname, eb_graph_error(g));
                break;
            }
            const double lv = (double)loss->data[0];
            if (!isfinite(lv) || !all_finite(e->mlp.params.grad, e->mlp.params.size)) {
                st = eb_error_set(err, EB_ERR_NUMERIC,
                                  "heat (%s prior): training diverged at epoch %lld, step %lld: %s (%s)",
                                  pname, (long long)ep + 1, (long long)step + 1,
                                  isfinite(lv) ? "non-finite gradient" : "non-finite loss", lastbuf);
                break;
            }
            last_finite = lv;
            eb_optimizer_step(opt, e->mlp.params.data, e->mlp.params.grad, lr);
            eb_progress_update(&pr, step + 1, ep + 1, cfg->epochs, lv, -1.0, (step + 1) * bsz);
        }
    }
    eb_progress_end(&pr);
    eb_optimizer_free(opt);
    eb_graph_free(g);
    eb_graph_free(scratch);
    free(zpos);
    free(neg);
    free(noise);
    free(eps);
    free(perm);
    free(weights);
    return st;
}

/* ---- fit / score ----------------------------------------------------------------------------------------
 */

/* The classifier's last linear layer: the model's last two parameters, weight [C, d] and bias [C]. */
static eb_status take_fc(eb_detector *d, heat_state *s, const eb_model *m, eb_error *err) {
    const eb_params *p = &m->params;
    const char *name = eb_detector_kind_name(d->kind);
    const int64_t c = eb_model_out_dim(m), dim = d->dim;
    if (eb_model_feature_dim(m) != dim)
        return eb_error_set(err, EB_ERR_SHAPE,
                            "model: %lld penultimate features, the training features have dim %lld",
                            (long long)eb_model_feature_dim(m), (long long)dim);
    if (c != d->n_classes)
        return eb_error_set(err, EB_ERR_SHAPE, "model: %lld classes, the labels have %lld", (long long)c,
                            (long long)d->n_classes);
    const eb_param_info *w = p->count >= 2 ? &p->info[p->count - 2] : NULL, *b = w ? w + 1 : NULL;
    if (!w || w->ndim != 2 || w->shape[0] != c || w->shape[1] != dim || b->ndim != 1 || b->shape[0] != c)
        return eb_error_set(
            err, EB_ERR_SHAPE,
            "model: its last layer is not a linear layer [%lld, %lld] with a bias (%s el prior)",
            (long long)c, (long long)dim, name);
    s->fc_w = malloc((size_t)(c * dim) * sizeof *s->fc_w);
    s->fc_b = malloc((size_t)c * sizeof *s->fc_b);
    if (!s->fc_w || !s->fc_b) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", name);
    memcpy(s->fc_w, p->data + w->offset, (size_t)(c * dim) * sizeof *s->fc_w);
    memcpy(s->fc_b, p->data + b->offset, (size_t)c * sizeof *s->fc_b);
    return EB_OK;
}

static eb_status alloc_mlps(eb_detector *d, heat_state *s, eb_error *err) {
    const eb_heat_params *hp = &d->params.heat;
    for (int k = 0; k < s->n_ebm; k++) {
        eb_status st = eb__energy_mlp_init(&s->ebm[k].mlp, d->dim, hp->width, hp->depth, hp->tied, err);
        if (st) return st;
        s->ebm[k].has_mlp = true;
    }
    return EB_OK;
}

/* ID statistics of heat_combined: mean and unbiased std of each E_k over the training features (all,
 * or one random batch of 256). */
static eb_status id_stats(eb_detector *d, heat_state *s, const float *x, int64_t n, eb_rng *rng,
                          eb_error *err) {
    const int64_t dim = d->dim;
    int64_t m = n;
    float *rows = NULL;
    if (d->params.heat.stats_batch && n > STATS_BATCH) {
        int64_t *perm = malloc((size_t)n * sizeof *perm);
        rows = malloc((size_t)(STATS_BATCH * dim) * sizeof *rows);
        if (!perm || !rows) {
            free(perm);
            free(rows);
            return eb_error_set(err, EB_ERR_NOMEM, "heat_combined: out of memory");
        }
        eb_rng_permutation(rng, n, perm);
        for (int64_t i = 0; i < STATS_BATCH; i++)
            memcpy(rows + i * dim, x + perm[i] * dim, (size_t)dim * sizeof *rows);
        free(perm);
        m = STATS_BATCH;
        x = rows;
    }
    double *e = malloc((size_t)m * sizeof *e);
    eb_status st = e ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "heat_combined: out of memory");
    bool flat = false;
    for (int k = 0; k < 2 && !st; k++) {
        if ((st = total_energy(s, &s->ebm[k], x, m, dim, d->n_classes, e, err))) break;
        double mean = 0.0, ss = 0.0;
        for (int64_t i = 0; i < m; i++) mean += e[i];
        mean /= (double)m;
        for (int64_t i = 0; i < m; i++) ss += (e[i] - mean) * (e[i] - mean);
        double sd = m > 1 ? sqrt(ss / (double)(m - 1)) : 0.0;
        if (!(sd > 0.0) || !isfinite(sd)) {
            sd = 1.0;
            flat = true;
        }
        s->id_stats[2 * k] = (float)mean;
        s->id_stats[2 * k + 1] = (float)sd;
        if (!isfinite(s->id_stats[2 * k]) || !isfinite(s->id_stats[2 * k + 1]))
            st = eb_error_set(err, EB_ERR_NUMERIC,
                              "heat_combined: the %s energy of the training features is not finite",
                              k ? "el" : "gmm");
    }
    if (!st && flat)
        eb__detector_note(
            d, "heat_combined: an energy is constant on the ID statistics' features; its std is taken as 1");
    free(e);
    free(rows);
    return st;
}

static eb_status heat_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    const eb_heat_params *hp = &d->params.heat;
    const int64_t n = x->n, dim = d->dim;
    const char *name = eb_detector_kind_name(d->kind);
    heat_state *s = calloc(1, sizeof *s);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", name);
    d->state = s;
    layout(d, s);
    float *zn = malloc((size_t)(n * dim) * sizeof *zn);
    if (!zn)
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%lld x %lld features)", name, (long long)n,
                            (long long)dim);
    eb__l2_normalize_rows(zn, x->features, n, dim);
    eb_status st = EB_OK;
    char note[256] = "";
    if (uses_prior(s, EB_HEAT_PRIOR_GMM)) {
        s->has_gmm = true;
        st = eb__gmm_fit(&s->gmm, zn, x->labels, n, dim, d->n_classes, (double)hp->ridge, name, note,
                         sizeof note, err);
    }
    if (!st && uses_prior(s, EB_HEAT_PRIOR_EL)) st = take_fc(d, s, x->model, err);
    if (!st) st = alloc_mlps(d, s, err);
    eb_rng rng;
    eb_rng_seed(&rng, hp->seed);
    for (int k = 0; k < s->n_ebm && !st; k++) {
        heat_ebm *e = &s->ebm[k];
        eb_rng init = eb_rng_split(&rng), train = eb_rng_split(&rng);
        eb__energy_mlp_reset(&e->mlp, &init);
        st = train_ebm(s, e, hp, normalised(e->prior) ? zn : x->features, n, dim, d->n_classes, &train, err);
    }
    if (!st && d->kind == EB_DETECTOR_HEAT_COMBINED) {
        eb_rng srng = eb_rng_split(&rng);
        st = id_stats(d, s, x->features, n, &srng, err);
    }
    if (!st && !d->note[0]) {
        bool negative = false;
        for (int64_t i = 0; i < n * dim && !negative; i++) negative = x->features[i] < 0.0f;
        if (note[0])
            eb__detector_note(d, "%s", note);
        else if (negative && hp->relu)
            eb__detector_note(d,
                              "%s: some training features are negative, but the SGLD samples are projected "
                              "onto z >= 0 (relu); consider relu=false",
                              name);
    }
    free(zn);
    return st;
}

static eb_status heat_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    heat_state *s = d->state;
    double *e = malloc((size_t)x->n * sizeof *e), *acc = calloc((size_t)x->n, sizeof *acc);
    eb_status st = (!e || !acc)
                       ? eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", eb_detector_kind_name(d->kind))
                       : EB_OK;
    const bool combined = d->kind == EB_DETECTOR_HEAT_COMBINED;
    for (int k = 0; k < s->n_ebm && !st; k++) {
        if ((st = total_energy(s, &s->ebm[k], x->features, x->n, d->dim, d->n_classes, e, err))) break;
        const double m = combined ? (double)s->id_stats[2 * k] : 0.0;
        const double sd = combined ? (double)s->id_stats[2 * k + 1] : 1.0;
        for (int64_t i = 0; i < x->n; i++) acc[i] += (e[i] - m) / sd;
    }
    for (int64_t i = 0; !st && i < x->n; i++) {
        scores[i] = (float)-acc[i];
        if (!isfinite(scores[i]))
            st = eb_error_set(err, EB_ERR_NUMERIC, "%s: the energy of row %lld is not finite",
                              eb_detector_kind_name(d->kind), (long long)i);
    }
    free(e);
    free(acc);
    return st;
}

/* ---- save / load ------------------------------------------------------------------------------------------
 */

static const char *ebm_tensor_name(const eb_detector *d, int k) {
    if (d->kind != EB_DETECTOR_HEAT_COMBINED) return "ebm";
    return k == 0 ? "gmm.ebm" : "el.ebm";
}

static int heat_tensors(const eb_detector *d, eb_st_tensor *out, int max) {
    const heat_state *s = d->state;
    if (!s || max < 10) return 0;
    int n = 0;
    for (int k = 0; k < s->n_ebm; k++)
        out[n++] =
            eb__f32_tensor(ebm_tensor_name(d, k), s->ebm[k].mlp.params.data, s->ebm[k].mlp.params.size, 0);
    if (s->has_gmm) {
        const eb__gmm *g = &s->gmm;
        out[n++] = eb__f32_tensor("gmm.means", g->means, g->nc, g->dim);
        out[n++] = eb__f32_tensor("gmm.cholesky", g->cholesky, g->dim, g->dim);
        out[n++] = eb__f32_tensor("gmm.weights", g->weights, g->nc, 0);
    }
    if (s->fc_w) {
        out[n++] = eb__f32_tensor("fc.weight", s->fc_w, d->n_classes, d->dim);
        out[n++] = eb__f32_tensor("fc.bias", s->fc_b, d->n_classes, 0);
    }
    if (d->kind == EB_DETECTOR_HEAT_COMBINED) out[n++] = eb__f32_tensor("id_stats", s->id_stats, 2, 2);
    return n;
}

static eb_status heat_load(eb_detector *d, const eb_safetensors *file, eb_error *err) {
    const char *path = eb_safetensors_path(file);
    heat_state *s = calloc(1, sizeof *s);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    d->state = s;
    layout(d, s);
    /* the declared dim must fit the file before the energy MLPs are allocated: each holds at least
     * dim × width weights (its first layer) */
    eb_status st = EB_OK;
    for (int k = 0; k < s->n_ebm && !st; k++) {
        const eb_st_tensor *t = eb_safetensors_find(file, ebm_tensor_name(d, k));
        if (!t || t->ndim != 1 || t->shape[0] / d->params.heat.width < d->dim)
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s' is missing or too small for dim %lld",
                              path, ebm_tensor_name(d, k), (long long)d->dim);
    }
    if (!st) st = alloc_mlps(d, s, err);
    for (int k = 0; k < s->n_ebm && !st; k++) {
        float *buf = NULL;
        const eb__energy_mlp *m = &s->ebm[k].mlp;
        if ((st = eb__detector_get_f32(file, ebm_tensor_name(d, k), 1, EB_SHAPE(m->params.size), &buf, err)))
            break;
        memcpy(m->params.data, buf, (size_t)m->params.size * sizeof(float));
        free(buf);
    }
    if (!st && uses_prior(s, EB_HEAT_PRIOR_GMM)) {
        s->has_gmm = true;
        st = eb__gmm_load_tensors(&s->gmm, file, "gmm.", d->dim, d->n_classes, err);
    }
    if (!st && uses_prior(s, EB_HEAT_PRIOR_EL)) {
        st = eb__detector_get_f32(file, "fc.weight", 2, EB_SHAPE(d->n_classes, d->dim), &s->fc_w, err);
        if (!st) st = eb__detector_get_f32(file, "fc.bias", 1, EB_SHAPE(d->n_classes), &s->fc_b, err);
    }
    if (!st && d->kind == EB_DETECTOR_HEAT_COMBINED) {
        float *buf = NULL;
        if (!(st = eb__detector_get_f32(file, "id_stats", 2, EB_SHAPE(2, 2), &buf, err))) {
            memcpy(s->id_stats, buf, sizeof s->id_stats);
            free(buf);
            if (!(s->id_stats[1] > 0.0f && s->id_stats[3] > 0.0f))
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: tensor 'id_stats': the stds must be > 0", path);
        }
    }
    return st;
}

/* gmm needs labels (class means), el the model (its last layer); scoring needs the features only. */
static unsigned heat_fit_needs(const eb_detector *d) {
    if (d->kind == EB_DETECTOR_HEAT_COMBINED) return EB_NEEDS_FEATURES | EB_NEEDS_LABELS | EB_NEEDS_MODEL;
    switch (d->params.heat.prior) {
    case EB_HEAT_PRIOR_GMM: return EB_NEEDS_FEATURES | EB_NEEDS_LABELS;
    case EB_HEAT_PRIOR_EL: return EB_NEEDS_FEATURES | EB_NEEDS_MODEL;
    default: return EB_NEEDS_FEATURES;
    }
}

static unsigned heat_score_needs(const eb_detector *d) {
    (void)d;
    return EB_NEEDS_FEATURES;
}

const eb__detector_method eb__detector_heat = {
    .name = "heat",
    .params_used = EB_PARAM_HEAT,
    EB__HEAT_PARAM_HOOKS,
    .needs = EB_NEEDS_FEATURES | EB_NEEDS_LABELS,
    .fit = heat_fit,
    .score = heat_score,
    .tensors = heat_tensors,
    .load = heat_load,
    .free_state = heat_free_state,
    .score_needs = heat_score_needs,
    .fit_needs = heat_fit_needs,
};

const eb__detector_method eb__detector_heat_combined = {
    .name = "heat_combined",
    .params_used = EB_PARAM_HEAT,
    EB__HEAT_PARAM_HOOKS,
    .needs = EB_NEEDS_FEATURES | EB_NEEDS_LABELS | EB_NEEDS_MODEL,
    .fit = heat_fit,
    .score = heat_score,
    .tensors = heat_tensors,
    .load = heat_load,
    .free_state = heat_free_state,
    .score_needs = heat_score_needs,
    .fit_needs = heat_fit_needs,
};
