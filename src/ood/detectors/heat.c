/* HEAT: a hybrid energy-based model in the feature space (001_8dfeaa911d9afebd.txt; specs §5, the
 * released code MarcLafon/heatood). Detectors "heat" (one prior) and "heat_combined".
 *
 * Model (Eq. (1)): p_θ(z) ∝ exp(−E(z)),  E(z) = E_θ(z)/T + E_prior(z)/T_prior, with
 *   gmm   E_prior = E_G = −log Σ_c π_c N(z; μ_c, Σ) on L2-normalised z (gmm.c; full log-density)
 *   el    E_prior = E_EL = −logsumexp(W z + b) on raw z, W, b = the classifier's last linear layer
 *   none  no prior (Table 2 "HEAT w/o MoG": a plain EBM on normalised z)
 * (normalize off: gmm and none work on the raw z, for the 2-D toys of Figs. 1–2)
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
 *   The loop is the generic one (eb_train_params_source, src/nn/train.c) on E_θ's flat buffer, with
 *   eb_row_source batches and the objective heat_loss below; shuffling and the per-step draws come from
 *   eb_train's per-epoch streams of one seed per block. A non-finite loss or gradient (the loop's check:
 *   step and last finite loss), or a diverging SGLD chain (epoch), stops with EB_ERR_NUMERIC.
 *
 * heat_combined (the code's CombineScorer over HEAT-GMM, HEAT-EL and HEAT-GMM-std):
 *   score = −Σ_k (E_k(z_k) − m_k)/s_k, m_k and s_k (unbiased) of E_k on the ID training features —
 *   all of them by default, or one random batch of 256 as the code (stats_batch). z_k is the penultimate
 *   feature vector for gmm and el; for gmm_std (std_block, default on) the unbiased spatial std of the
 *   model's final feature map per channel (eb_model_set_feature_pool STD; docs/methods.md (H5)), which
 *   this file extracts from the model and the inputs, at fit and at score, and which gets its own GMM
 *   prior (L2-normalised, as the code's SSD scorers) and its own E_θ (input dim = the map's channels).
 *
 * Saved tensors (F32): "ebm" (heat) or "gmm.ebm" + "el.ebm" (+ "gmm_std.ebm") (heat_combined): the flat
 * parameter buffer of E_θ (layout in heat_impl.h, given by width/depth/tied); with a gmm prior
 * "gmm.means", "gmm.cholesky", "gmm.weights" (gmm.c); the std block "gmm_std.means", … likewise; with el
 * "fc.weight" [C, d], "fc.bias" [C]; heat_combined "id_stats" [blocks, 2] = [[m_gmm, s_gmm], [m_el,
 * s_el](, [m_std, s_std])]. */
#include "ood/detectors/gaussian_impl.h"
#include "ood/detectors/heat_impl.h"

#include <ebood/ebm.h>
#include <ebood/optim.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATS_BATCH 256 /* the code's standardisation batch */
#define MAX_EBM     3

typedef struct heat_ebm {
    eb_heat_prior prior;
    bool std_block; /* heat_combined's gmm_std block: gmm prior on the std-pooled features */
    bool normalise; /* L2-normalise z (gmm, none unless normalize is off; never el) */
    eb_heat_ebm cfg;
    eb__energy_mlp mlp;
    bool has_mlp;
    const char *name;   /* "gmm", "el", "none", "gmm_std" */
    const char *tensor; /* its E_θ's tensor */
} heat_ebm;

typedef struct heat_state {
    int n_ebm; /* heat: 1; heat_combined: 2 or 3 ([0] gmm, [1] el, [2] gmm_std) */
    heat_ebm ebm[MAX_EBM];
    eb__gmm gmm, gmm_std;
    bool has_gmm, has_gmm_std;
    int64_t std_dim;             /* channels of the std-pooled map (gmm_std) */
    float *fc_w, *fc_b;          /* [C, d], [C] */
    float id_stats[2 * MAX_EBM]; /* heat_combined: m_k, s_k per block */
} heat_state;

static const eb__gmm *gmm_of(const heat_state *s, const heat_ebm *e) {
    return e->std_block ? &s->gmm_std : &s->gmm;
}

static void heat_free_state(eb_detector *d) {
    heat_state *s = d->state;
    if (s) {
        for (int k = 0; k < MAX_EBM; k++)
            if (s->ebm[k].has_mlp) eb__energy_mlp_free(&s->ebm[k].mlp);
        if (s->has_gmm) eb__gmm_free(&s->gmm);
        if (s->has_gmm_std) eb__gmm_free(&s->gmm_std);
        free(s->fc_w);
        free(s->fc_b);
        free(s);
    }
    d->state = NULL;
}

/* Sets up s->n_ebm and the priors/configs of the EBMs from the parameters. */
static void layout(const eb_detector *d, heat_state *s) {
    const eb_heat_params *p = &d->params.heat;
    const bool combined = d->kind == EB_DETECTOR_HEAT_COMBINED;
    if (combined) {
        s->n_ebm = p->std_block ? 3 : 2;
        s->ebm[0].prior = EB_HEAT_PRIOR_GMM;
        s->ebm[1].prior = EB_HEAT_PRIOR_EL;
        s->ebm[2].prior = EB_HEAT_PRIOR_GMM;
        s->ebm[2].std_block = true;
    } else {
        s->n_ebm = 1;
        s->ebm[0].prior = p->prior;
    }
    for (int k = 0; k < s->n_ebm; k++) {
        heat_ebm *e = &s->ebm[k];
        e->normalise = e->prior != EB_HEAT_PRIOR_EL && p->normalize;
        e->name = e->std_block ? "gmm_std" : eb_heat_prior_name(e->prior);
        e->cfg = e->std_block                    ? p->gmm_std
                 : e->prior == EB_HEAT_PRIOR_GMM ? p->gmm
                 : e->prior == EB_HEAT_PRIOR_EL  ? p->el
                                                 : p->none;
        e->tensor = !combined ? "ebm" : k == 0 ? "gmm.ebm" : k == 1 ? "el.ebm" : "gmm_std.ebm";
    }
}

static bool uses_prior(const heat_state *s, eb_heat_prior prior) {
    for (int k = 0; k < s->n_ebm; k++)
        if (s->ebm[k].prior == prior && !s->ebm[k].std_block) return true;
    return false;
}

/* The unbiased spatial std per channel of the model's final feature map for n inputs
 * ([n, *dim], malloc'd): the model's feature pool is switched to STD and back. */
static eb_status std_features(eb_model *m, const float *inputs, int64_t n, float **out, int64_t *dim,
                              eb_error *err) {
    const eb_feature_pool old = m->feature_pool;
    *out = NULL;
    if (!eb_model_kind_is_image(m->kind))
        return eb_error_set(err, EB_ERR_ARG,
                            "heat_combined: its gmm_std block needs an image model (a spatial feature map), "
                            "not %s; std_block=false combines the gmm and el blocks only",
                            eb_model_kind_name(m->kind));
    eb_status st = eb_model_set_feature_pool(m, EB_FEATURE_POOL_STD, err);
    if (st) return st;
    enum { CHUNK = 256 };
    const int64_t c = eb_model_feature_dim(m), in = eb_model_in_dim(m);
    float *f = malloc((size_t)(n * c) * sizeof *f);
    float *logits = malloc((size_t)(CHUNK * eb_model_out_dim(m)) * sizeof *logits);
    if (!f || !logits) st = eb_error_set(err, EB_ERR_NOMEM, "heat_combined: out of memory (std features)");
    for (int64_t i = 0; !st && i < n; i += CHUNK) {
        const int64_t b = n - i < CHUNK ? n - i : CHUNK;
        st = eb_model_predict(m, inputs + i * in, b, b, logits, f + i * c, err);
    }
    eb_model_set_feature_pool(m, old, NULL);
    free(logits);
    if (st) {
        free(f);
        return st;
    }
    *out = f;
    *dim = c;
    return EB_OK;
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
        prior = eb__gmm_energy_tape(gmm_of(c->s, e), g, z);
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
        if (e->normalise)
            eb__l2_normalize_rows(z, x, n, dim);
        else
            memcpy(z, x, (size_t)(n * dim) * sizeof *z);
        st = eb__energy_mlp_eval(&e->mlp, z, n, eth, err);
    }
    if (!st && e->prior == EB_HEAT_PRIOR_GMM) {
        if ((st = eb__gmm_log_density(gmm_of(s, e), z, n, prior)))
            eb_error_set(err, st, "heat: out of memory");
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

/* Proposals z₀[b, dim] (step 1 of specs §5), before projection. eps: dim doubles of scratch; weights:
 * the nc mixture weights π_c as doubles (gmm). */
static void propose(const heat_state *s, const heat_ebm *e, float *z0, int64_t b, int64_t dim, eb_rng *rng,
                    double *eps, const double *weights) {
    if (e->prior != EB_HEAT_PRIOR_GMM) {
        eb_rng_fill_normal(rng, z0, b * dim, 0.0f, 1.0f);
        return;
    }
    const eb__gmm *g = gmm_of(s, e);
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

/* The HEAT objective (steps 1–4 above) for eb_train_params_source: the batch is z⁺; proposals, SGLD and
 * input noise draw from the step's rng (eb_train's per-epoch stream).
 *
 * Data-parallel (d->dist over N ranks; docs/distributed.md): the loop hands rank r its share [lo, hi) of
 * each global batch of B rows and the run's common stream (eb_train_params.common_rng), so every rank draws
 * the randomness of the WHOLE batch — B proposals, the SGLD noise of B chains (eb_sgld_sample_rows_share),
 * the 3B·dim input noise — exactly as one process does, and keeps the rows of its share: the proposals
 * z₀[lo, hi), their chains, and the matching noise rows. Its loss is the same expression over its b rows
 * and 2b negatives; every term is a mean of per-row terms, so Σ_r (b/B)·L_r — what the loop's allreduce
 * of the b/B-weighted gradients computes — is one process's loss on the batch: the N ranks train one
 * process's E_θ up to float reassociation. Each rank does 1/N of the SGLD and E_θ passes; the draws (B·dim
 * normals per SGLD step, the proposals' B·dim² Cholesky products with the gmm prior) are not split. One
 * process: lo = 0, b = B, the same arithmetic as before. */
typedef struct heat_objective {
    heat_state *s;
    heat_ebm *e;
    int64_t dim, nc, per_epoch, step;
    int64_t batch; /* B, the global batch's rows (every batch is full: drop_last) */
    const eb_dist *dist;
    eb_sgld_params sgld;
    unsigned proj;
    float *zpos, *prop, *neg, *noise; /* [b, dim], [B, dim], [2b, dim], [3B, dim] */
    double *eps, *weights;            /* [dim], [nc] */
    eb_graph *scratch;                /* SGLD's graph */
} heat_objective;

static eb_tensor *heat_loss(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                            int64_t *n_correct) {
    (void)m;
    heat_objective *o = ctx;
    heat_ebm *e = o->e;
    const eb_heat_ebm *cfg = &e->cfg;
    const int64_t B = o->batch, bsz = batch->size, dim = o->dim;
    const int64_t step = o->step++;
    int64_t lo, hi; /* this rank's rows of the global batch (the loop's keep_share) */
    eb_dist_share(B, eb_dist_rank(o->dist), eb_dist_size(o->dist), &lo, &hi);
    *n_correct = -1;
    if (hi - lo != bsz) {
        eb_graph_fail(g, EB_ERR_STATE, "heat: a batch of %lld rows, expected %lld of %lld", (long long)bsz,
                      (long long)(hi - lo), (long long)B);
        return batch->x;
    }
    memcpy(o->zpos, batch->x->data, (size_t)(bsz * dim) * sizeof *o->zpos);
    /* 1. proposals (the whole batch's), projected; 2. SGLD on the full energy; 3. negatives = [SGLD; z₀] */
    propose(o->s, e, o->prop, B, dim, rng, o->eps, o->weights);
    eb_project_rows(o->prop + lo * dim, bsz, dim, o->proj);
    memcpy(o->neg, o->prop + lo * dim, (size_t)(bsz * dim) * sizeof *o->neg);
    memcpy(o->neg + bsz * dim, o->neg, (size_t)(bsz * dim) * sizeof *o->neg);
    energy_ctx ectx = {o->s, e, dim, o->nc};
    eb_error serr = {0};
    if (cfg->steps > 0 && eb_sgld_sample_rows_share(neg_energy_rows, &ectx, o->neg, B, lo, hi, dim, &o->sgld,
                                                    rng, o->scratch, NULL, &serr)) {
        eb_graph_fail(g, serr.status, "epoch %lld: SGLD: %s", (long long)(step / o->per_epoch + 1),
                      serr.message);
        return batch->x;
    }
    /* 4. input noise (the whole batch's [z⁺; SGLD; z₀] rows, this rank's of each), the loss on E_θ alone */
    if (cfg->input_noise > 0.0f) {
        eb_rng_fill_normal(rng, o->noise, 3 * B * dim, 0.0f, cfg->input_noise);
        const float *np = o->noise + lo * dim, *ns = np + B * dim, *n0 = ns + B * dim;
        for (int64_t i = 0; i < bsz * dim; i++) {
            o->zpos[i] += np[i];
            o->neg[i] += ns[i];
            o->neg[bsz * dim + i] += n0[i];
        }
    }
    eb_tensor *ep =
        eb__energy_mlp_forward(&e->mlp, g, eb_tensor_input(g, o->zpos, 2, EB_SHAPE(bsz, dim), false));
    eb_tensor *en =
        eb__energy_mlp_forward(&e->mlp, g, eb_tensor_input(g, o->neg, 2, EB_SHAPE(2 * bsz, dim), false));
    eb_tensor *reg = eb_add(g, eb_mean_all(g, eb_square(g, ep)), eb_mean_all(g, eb_square(g, en)));
    return eb_add(g, eb_sub(g, eb_mean_all(g, ep), eb_mean_all(g, en)), eb_mul_scalar(g, reg, cfg->l2));
}

/* Trains block e's E_θ on z[n, dim] through eb_train_params_source: batches of B (drop_last; a set
 * smaller than B is one batch) shuffled by eb_train's per-epoch streams from `seed`, Adam(lr, β (0,
 * 0.999)), lr × 0.1 from epoch ⌊epochs/2⌋ on (a MULTISTEP schedule with that one milestone). */
static eb_status train_ebm(heat_state *s, heat_ebm *e, const eb_heat_params *hp, const float *z, int64_t n,
                           int64_t dim, int64_t nc, uint64_t seed, const eb_dist *dist, eb_error *err) {
    const eb_heat_ebm *cfg = &e->cfg;
    heat_objective o = {.s = s, .e = e, .dim = dim, .nc = nc, .dist = dist};
    o.proj = (hp->relu ? (unsigned)EB_PROJECT_RELU : 0u) | (e->normalise ? (unsigned)EB_PROJECT_SPHERE : 0u);
    o.sgld = (eb_sgld_params){
        .steps = cfg->steps,
        .step_size = {(double)cfg->step_size, (double)cfg->decay_end * (double)cfg->step_size,
                      (eb_decay_kind)cfg->decay},
        .noise = {(double)cfg->noise, (double)cfg->decay_end * (double)cfg->noise, (eb_decay_kind)cfg->decay},
        .projection = o.proj,
        .max_abs_log_density = 0.0, /* the NaN/Inf check only */
    };
    eb_batch_source src;
    eb_status st = eb_row_source_new(z, NULL, n, dim, cfg->batch_size, true, seed, &src, err);
    if (st) return st;
    const int64_t bsz = cfg->batch_size < n ? cfg->batch_size : n;
    int64_t lo, hi; /* this rank's rows of each batch */
    eb_dist_share(bsz, eb_dist_rank(dist), eb_dist_size(dist), &lo, &hi);
    const int64_t mine = hi - lo > 0 ? hi - lo : 1;
    o.batch = bsz;
    o.per_epoch = src.batches_per_epoch;
    o.zpos = malloc((size_t)(mine * dim) * sizeof *o.zpos);
    o.prop = malloc((size_t)(bsz * dim) * sizeof *o.prop);
    o.neg = malloc((size_t)(2 * mine * dim) * sizeof *o.neg);
    o.noise = malloc((size_t)(3 * bsz * dim) * sizeof *o.noise);
    o.eps = malloc((size_t)dim * sizeof *o.eps);
    o.weights = malloc((size_t)(nc > 0 ? nc : 1) * sizeof *o.weights);
    o.scratch = eb_graph_new(0, NULL);
    if (!o.zpos || !o.prop || !o.neg || !o.noise || !o.eps || !o.weights || !o.scratch)
        st = eb_error_set(err, EB_ERR_NOMEM, "heat (%s prior): out of memory", e->name);
    for (int64_t c = 0; !st && e->prior == EB_HEAT_PRIOR_GMM && c < nc; c++)
        o.weights[c] = (double)gmm_of(s, e)->weights[c];
    eb_train_params tp = eb_train_default_params();
    tp.epochs = cfg->epochs;
    tp.batch_size = bsz;
    tp.drop_last = true;
    tp.seed = seed;
    tp.dist = dist;       /* data-parallel over the ranks: the global batch split, gradients allreduced */
    tp.common_rng = true; /* every rank draws the whole batch's randomness (heat_loss keeps its rows) */
    tp.optimizer = eb_adam_default_params();
    tp.optimizer.lr = cfg->lr;
    tp.optimizer.beta1 = 0.0f;
    tp.optimizer.beta2 = 0.999f;
    tp.schedule = eb_schedule_default(cfg->lr);
    const int64_t milestone = cfg->epochs / 2; /* the code's MultiStepLR at epoch 10 of 20 */
    if (milestone >= 1) {
        const int64_t total = cfg->epochs * o.per_epoch;
        tp.schedule.kind = EB_SCHEDULE_MULTISTEP;
        tp.schedule.total_steps = total;
        tp.schedule.gamma = 0.1f;
        tp.schedule.n_milestones = 1;
        /* a fraction whose ⌊f·total⌋ is exactly the milestone epoch's first step */
        tp.schedule.milestones[0] = (float)(((double)(milestone * o.per_epoch) + 0.5) / (double)total);
    }
    eb_train_result res;
    if (!st) st = eb_train_params_source(&e->mlp.params, dim, &src, heat_loss, &o, &tp, &res, err);
    if (st && err) { /* name the block */
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        eb_error_set(err, st, "heat (%s prior): %s", e->name, msg);
    }
    eb_row_source_free(&src);
    eb_graph_free(o.scratch);
    free(o.zpos);
    free(o.prop);
    free(o.neg);
    free(o.noise);
    free(o.eps);
    free(o.weights);
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

/* Input dim of block k's E_θ: the feature dim, or the std-pooled map's channels. */
static int64_t block_dim(const eb_detector *d, const heat_state *s, const heat_ebm *e) {
    return e->std_block ? s->std_dim : d->dim;
}

static eb_status alloc_mlps(eb_detector *d, heat_state *s, eb_error *err) {
    const eb_heat_params *hp = &d->params.heat;
    for (int k = 0; k < s->n_ebm; k++) {
        heat_ebm *e = &s->ebm[k];
        eb_status st = eb__energy_mlp_init(&e->mlp, block_dim(d, s, e), hp->width, hp->depth, hp->tied, err);
        if (st) return st;
        e->has_mlp = true;
    }
    return EB_OK;
}

/* The features block e works on: the given ones, or the std-pooled ones. */
static const float *block_features(const heat_ebm *e, const float *features, const float *std_feats) {
    return e->std_block ? std_feats : features;
}

/* Rows rows[0..m) of x[·, dim] into a new array. */
static float *gather(const float *x, int64_t dim, const int64_t *rows, int64_t m) {
    float *out = malloc((size_t)(m * dim) * sizeof *out);
    for (int64_t i = 0; out && i < m; i++)
        memcpy(out + i * dim, x + rows[i] * dim, (size_t)dim * sizeof *out);
    return out;
}

/* ID statistics of heat_combined: mean and unbiased std of each E_k over the training features (all,
 * or one random batch of 256 — the same rows for every block). */
static eb_status id_stats(eb_detector *d, heat_state *s, const float *x, const float *xs, int64_t n,
                          eb_rng *rng, eb_error *err) {
    int64_t m = n;
    float *rows = NULL, *rows_std = NULL;
    int64_t *perm = NULL;
    eb_status st = EB_OK;
    if (d->params.heat.stats_batch && n > STATS_BATCH) {
        perm = malloc((size_t)n * sizeof *perm);
        if (perm) {
            eb_rng_permutation(rng, n, perm);
            m = STATS_BATCH;
            rows = gather(x, d->dim, perm, m);
            rows_std = xs ? gather(xs, s->std_dim, perm, m) : NULL;
        }
        if (!perm || !rows || (xs && !rows_std))
            st = eb_error_set(err, EB_ERR_NOMEM, "heat_combined: out of memory");
        x = rows;
        xs = rows_std;
    }
    double *e = malloc((size_t)m * sizeof *e);
    if (!st && !e) st = eb_error_set(err, EB_ERR_NOMEM, "heat_combined: out of memory");
    bool flat = false;
    for (int k = 0; k < s->n_ebm && !st; k++) {
        heat_ebm *b = &s->ebm[k];
        if ((st = total_energy(s, b, block_features(b, x, xs), m, block_dim(d, s, b), d->n_classes, e, err)))
            break;
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
                              "heat_combined: the %s energy of the training features is not finite", b->name);
    }
    if (!st && flat)
        eb__detector_note(
            d, "heat_combined: an energy is constant on the ID statistics' features; its std is taken as 1");
    free(e);
    free(perm);
    free(rows);
    free(rows_std);
    return st;
}

/* z/‖z‖ per row into a new array when normalise, else NULL (the caller uses the raw features). */
static eb_status normalised_copy(const float *x, int64_t n, int64_t dim, bool normalise, float **out,
                                 const char *name, eb_error *err) {
    *out = NULL;
    if (!normalise) return EB_OK;
    if (!(*out = malloc((size_t)(n * dim) * sizeof **out)))
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%lld x %lld features)", name, (long long)n,
                            (long long)dim);
    eb__l2_normalize_rows(*out, x, n, dim);
    return EB_OK;
}

static eb_status heat_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    const eb_heat_params *hp = &d->params.heat;
    const int64_t n = x->n, dim = d->dim;
    const char *name = eb_detector_kind_name(d->kind);
    heat_state *s = calloc(1, sizeof *s);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", name);
    d->state = s;
    layout(d, s);
    const bool with_std = s->n_ebm == 3;
    float *zn = NULL, *xs = NULL, *zs = NULL;
    eb_status st = normalised_copy(x->features, n, dim, hp->normalize, &zn, name, err);
    if (!st && with_std) st = std_features(x->model, x->inputs, n, &xs, &s->std_dim, err);
    if (!st && with_std) st = normalised_copy(xs, n, s->std_dim, hp->normalize, &zs, name, err);
    char note[256] = "", note_std[256] = "";
    if (!st && uses_prior(s, EB_HEAT_PRIOR_GMM)) {
        s->has_gmm = true;
        st = eb__gmm_fit(&s->gmm, zn ? zn : x->features, x->labels, n, dim, d->n_classes, (double)hp->ridge,
                         name, note, sizeof note, err);
    }
    if (!st && with_std) {
        s->has_gmm_std = true;
        st = eb__gmm_fit(&s->gmm_std, zs ? zs : xs, x->labels, n, s->std_dim, d->n_classes, (double)hp->ridge,
                         "heat_combined (gmm_std)", note_std, sizeof note_std, err);
    }
    if (!st && uses_prior(s, EB_HEAT_PRIOR_EL)) st = take_fc(d, s, x->model, err);
    if (!st) st = alloc_mlps(d, s, err);
    eb_rng rng;
    eb_rng_seed(&rng, hp->seed);
    for (int k = 0; k < s->n_ebm && !st; k++) {
        heat_ebm *e = &s->ebm[k];
        eb_rng init = eb_rng_split(&rng), train = eb_rng_split(&rng);
        eb__energy_mlp_reset(&e->mlp, &init);
        const uint64_t train_seed = eb_rng_u64(&train);
        const float *z = e->std_block ? (zs ? zs : xs) : e->normalise && zn ? zn : x->features;
        st = train_ebm(s, e, hp, z, n, block_dim(d, s, e), d->n_classes, train_seed, d->dist, err);
    }
    if (!st && d->kind == EB_DETECTOR_HEAT_COMBINED) {
        eb_rng srng = eb_rng_split(&rng);
        st = id_stats(d, s, x->features, xs, n, &srng, err);
    }
    if (!st && !d->note[0]) {
        bool negative = false;
        for (int64_t i = 0; i < n * dim && !negative; i++) negative = x->features[i] < 0.0f;
        if (note[0] || note_std[0])
            eb__detector_note(d, "%s%s%s", note, note[0] && note_std[0] ? "; " : "", note_std);
        else if (negative && hp->relu)
            eb__detector_note(d,
                              "%s: some training features are negative, but the SGLD samples are projected "
                              "onto z >= 0 (relu); consider relu=false",
                              name);
    }
    free(zn);
    free(xs);
    free(zs);
    return st;
}

static eb_status heat_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    heat_state *s = d->state;
    double *e = malloc((size_t)x->n * sizeof *e), *acc = calloc((size_t)x->n, sizeof *acc);
    eb_status st = (!e || !acc)
                       ? eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", eb_detector_kind_name(d->kind))
                       : EB_OK;
    float *xs = NULL;
    int64_t std_dim = 0;
    if (!st && s->n_ebm == 3 && x->n > 0) {
        st = std_features(x->model, x->inputs, x->n, &xs, &std_dim, err);
        if (!st && std_dim != s->std_dim)
            st = eb_error_set(err, EB_ERR_SHAPE,
                              "heat_combined: the model's std-pooled map has %lld channels, "
                              "the detector was fitted on %lld",
                              (long long)std_dim, (long long)s->std_dim);
    }
    const bool combined = d->kind == EB_DETECTOR_HEAT_COMBINED;
    for (int k = 0; k < s->n_ebm && !st; k++) {
        heat_ebm *b = &s->ebm[k];
        if ((st = total_energy(s, b, block_features(b, x->features, xs), x->n, block_dim(d, s, b),
                               d->n_classes, e, err)))
            break;
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
    free(xs);
    free(e);
    free(acc);
    return st;
}

/* ---- save / load ------------------------------------------------------------------------------------------
 */

static int heat_tensors(const eb_detector *d, eb_st_tensor *out, int max) {
    const heat_state *s = d->state;
    if (!s || max < 13) return 0;
    int n = 0;
    for (int k = 0; k < s->n_ebm; k++)
        out[n++] = eb__f32_tensor(s->ebm[k].tensor, s->ebm[k].mlp.params.data, s->ebm[k].mlp.params.size, 0);
    const struct {
        const eb__gmm *g;
        bool has;
        const char *means, *chol, *weights;
    } gmms[2] = {{&s->gmm, s->has_gmm, "gmm.means", "gmm.cholesky", "gmm.weights"},
                 {&s->gmm_std, s->has_gmm_std, "gmm_std.means", "gmm_std.cholesky", "gmm_std.weights"}};
    for (int k = 0; k < 2; k++) {
        if (!gmms[k].has) continue;
        const eb__gmm *g = gmms[k].g;
        out[n++] = eb__f32_tensor(gmms[k].means, g->means, g->nc, g->dim);
        out[n++] = eb__f32_tensor(gmms[k].chol, g->cholesky, g->dim, g->dim);
        out[n++] = eb__f32_tensor(gmms[k].weights, g->weights, g->nc, 0);
    }
    if (s->fc_w) {
        out[n++] = eb__f32_tensor("fc.weight", s->fc_w, d->n_classes, d->dim);
        out[n++] = eb__f32_tensor("fc.bias", s->fc_b, d->n_classes, 0);
    }
    if (d->kind == EB_DETECTOR_HEAT_COMBINED) out[n++] = eb__f32_tensor("id_stats", s->id_stats, s->n_ebm, 2);
    return n;
}

static eb_status heat_load(eb_detector *d, const eb_safetensors *file, eb_error *err) {
    const char *path = eb_safetensors_path(file);
    heat_state *s = calloc(1, sizeof *s);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    d->state = s;
    layout(d, s);
    eb_status st = EB_OK;
    if (s->n_ebm == 3) { /* the std block's dim: its GMM's means [C, std_dim] */
        const eb_st_tensor *t = eb_safetensors_find(file, "gmm_std.means");
        if (!t || t->ndim != 2 || t->shape[0] != d->n_classes || t->shape[1] < 1 || t->shape[1] > 1000000)
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: tensor 'gmm_std.means' is missing or not [%lld, dim]",
                              path, (long long)d->n_classes);
        else
            s->std_dim = t->shape[1];
    }
    /* the declared dims must fit the file before the energy MLPs are allocated: each holds at least
     * dim × width weights (its first layer) */
    for (int k = 0; k < s->n_ebm && !st; k++) {
        const eb_st_tensor *t = eb_safetensors_find(file, s->ebm[k].tensor);
        if (!t || t->ndim != 1 || t->shape[0] / d->params.heat.width < block_dim(d, s, &s->ebm[k]))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s' is missing or too small for dim %lld",
                              path, s->ebm[k].tensor, (long long)block_dim(d, s, &s->ebm[k]));
    }
    if (!st) st = alloc_mlps(d, s, err);
    for (int k = 0; k < s->n_ebm && !st; k++) {
        float *buf = NULL;
        const eb__energy_mlp *m = &s->ebm[k].mlp;
        if ((st = eb__detector_get_f32(file, s->ebm[k].tensor, 1, EB_SHAPE(m->params.size), &buf, err)))
            break;
        memcpy(m->params.data, buf, (size_t)m->params.size * sizeof(float));
        free(buf);
    }
    if (!st && uses_prior(s, EB_HEAT_PRIOR_GMM)) {
        s->has_gmm = true;
        st = eb__gmm_load_tensors(&s->gmm, file, "gmm.", d->dim, d->n_classes, err);
    }
    if (!st && s->n_ebm == 3) {
        s->has_gmm_std = true;
        st = eb__gmm_load_tensors(&s->gmm_std, file, "gmm_std.", s->std_dim, d->n_classes, err);
    }
    if (!st && uses_prior(s, EB_HEAT_PRIOR_EL)) {
        st = eb__detector_get_f32(file, "fc.weight", 2, EB_SHAPE(d->n_classes, d->dim), &s->fc_w, err);
        if (!st) st = eb__detector_get_f32(file, "fc.bias", 1, EB_SHAPE(d->n_classes), &s->fc_b, err);
    }
    if (!st && d->kind == EB_DETECTOR_HEAT_COMBINED) {
        float *buf = NULL;
        if (!(st = eb__detector_get_f32(file, "id_stats", 2, EB_SHAPE(s->n_ebm, 2), &buf, err))) {
            memcpy(s->id_stats, buf, (size_t)(2 * s->n_ebm) * sizeof *buf);
            free(buf);
            for (int k = 0; k < s->n_ebm && !st; k++)
                if (!(s->id_stats[2 * k + 1] > 0.0f))
                    st =
                        eb_error_set(err, EB_ERR_FORMAT, "%s: tensor 'id_stats': the stds must be > 0", path);
        }
    }
    return st;
}

/* gmm needs labels (class means), el the model (its last layer), the std block the model and the inputs
 * (at fit and score); otherwise scoring needs the features only. */
static unsigned heat_fit_needs(const eb_detector *d) {
    if (d->kind == EB_DETECTOR_HEAT_COMBINED)
        return EB_NEEDS_FEATURES | EB_NEEDS_LABELS | EB_NEEDS_MODEL |
               (d->params.heat.std_block ? (unsigned)EB_NEEDS_INPUTS : 0u);
    switch (d->params.heat.prior) {
    case EB_HEAT_PRIOR_GMM: return EB_NEEDS_FEATURES | EB_NEEDS_LABELS;
    case EB_HEAT_PRIOR_EL: return EB_NEEDS_FEATURES | EB_NEEDS_MODEL;
    default: return EB_NEEDS_FEATURES;
    }
}

static unsigned heat_score_needs(const eb_detector *d) {
    if (d->kind == EB_DETECTOR_HEAT_COMBINED && d->params.heat.std_block)
        return EB_NEEDS_FEATURES | EB_NEEDS_MODEL | EB_NEEDS_INPUTS;
    return EB_NEEDS_FEATURES;
}

const eb__detector_method eb__detector_heat = {
    .name = "heat",
    .params_used = EB_PARAM_HEAT,
    EB__HEAT_PARAM_HOOKS,
    .needs = EB_NEEDS_FEATURES | EB_NEEDS_LABELS,
    .fit = heat_fit,
    .score = heat_score,
    .row_parallel = true,
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
    .row_parallel = true,
    .tensors = heat_tensors,
    .load = heat_load,
    .free_state = heat_free_state,
    .score_needs = heat_score_needs,
    .fit_needs = heat_fit_needs,
};
