/* Persistent contrastive divergence (CD) for EBMs and its JEM-style supervised variant
 * (002_39b8670b82235277.txt §3 "Contrastive divergence" and "Joint Energy model", Eq. 2–3, App. B
 * "Contrastive Divergence"; shared/specs/seed-code-specs.md §4 "CD / JEM").
 *
 * With f(x) = log Σ_k exp g_k(x) = −E(x) (the logit itself for a one-output model):
 *   L(θ) = −(mean_i f(x⁺_i) − mean_j f(x⁻_j)) + l2·(mean_i f(x⁺_i)² + mean_j f(x⁻_j)²) + γ·CE(g(x⁺), y).
 * Since ∇θ log p(x) = ∇θ f(x) − E_{x'~p_θ}[∇θ f(x')] (002_… §3, with E = −f), the gradient of the first
 * term is the negative CD estimate of the log-likelihood gradient when x⁻ ~ p_θ; x⁻ are constants on the
 * tape (only ∇θ flows, through f(x⁻) at fixed x⁻). The l2 term is the released code's
 * (fp ** 2).mean() + (fq ** 2).mean() with weight 1: it keeps f near 0 so that the data and sample
 * energies cannot drift apart without bound.
 *
 * x⁻ come from SGLD (eb_sgld_sample: x ← x + η∇ₓf + σε, η = 1, σ = 0.01, 100 steps) started from a
 * persistent replay buffer (Tieleman's PCD; 002_… App. B): each step draws n chains, restarts 5 % of them
 * from U(−1, 1), samples with the model in eval mode (BatchNorm running statistics, no dropout; the
 * parameters frozen on a scratch graph), and writes the samples back. In a data-parallel run each rank
 * holds only its share of the buffer (eb_cd_distribute) and draws its chains from it. */
#include "ood/objectives/objective_impl.h"

#include <ebood/ebm.h>

#include "ood/objectives/ebm_method_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_cd_config eb_cd_default_config(void) {
    eb_cd_config c;
    memset(&c, 0, sizeof c);
    c.sgld = eb_sgld_default_params();
    c.cond_steps = -1;
    c.buffer_size = 10000; /* the paper (App. B); the released configs use 9000 (--buffer-size 9000) */
    c.restart_prob = 0.05;
    c.init_lo = -1.0f;
    c.init_hi = 1.0f;
    c.n_negatives = 0;
    c.l2 = 1.0;
    c.ce_weight = 0.0;
    c.class_conditional = false;
    c.seed = 0;
    return c;
}

eb_cd_config eb_cd_supervised_default_config(void) {
    eb_cd_config c = eb_cd_default_config();
    c.ce_weight = 1.0;
    c.class_conditional = true;
    return c;
}

eb_status eb_cd_config_check(const eb_cd_config *c, eb_error *err) {
    if (!c) return eb_error_set(err, EB_ERR_ARG, "contrastive divergence: no config");
    eb_error sgld_err = {0};
    eb_status st = eb_sgld_params_check(&c->sgld, &sgld_err);
    if (st) return eb_error_set(err, st, "contrastive divergence: %s", sgld_err.message);
    if (c->cond_steps < -1)
        return eb_error_set(err, EB_ERR_ARG,
                            "contrastive divergence: cond_steps %lld (need >= 0, or -1 for the SGLD steps)",
                            (long long)c->cond_steps);
    if (c->buffer_size < 1)
        return eb_error_set(err, EB_ERR_ARG, "contrastive divergence: buffer_size %lld < 1",
                            (long long)c->buffer_size);
    if (!(c->restart_prob >= 0.0 && c->restart_prob <= 1.0))
        return eb_error_set(err, EB_ERR_ARG, "contrastive divergence: restart_prob %g outside [0, 1]",
                            c->restart_prob);
    if (!isfinite(c->init_lo) || !isfinite(c->init_hi) || !(c->init_lo < c->init_hi))
        return eb_error_set(err, EB_ERR_ARG,
                            "contrastive divergence: init range [%g, %g) is empty or not finite",
                            (double)c->init_lo, (double)c->init_hi);
    if (c->n_negatives < 0)
        return eb_error_set(err, EB_ERR_ARG, "contrastive divergence: n_negatives %lld < 0",
                            (long long)c->n_negatives);
    if (!isfinite(c->l2) || c->l2 < 0.0)
        return eb_error_set(err, EB_ERR_ARG, "contrastive divergence: l2 weight %g must be finite and >= 0",
                            c->l2);
    if (!isfinite(c->ce_weight) || c->ce_weight < 0.0)
        return eb_error_set(err, EB_ERR_ARG, "contrastive divergence: ce_weight %g must be finite and >= 0",
                            c->ce_weight);
    return EB_OK;
}

static void add_decay(cJSON *o, const char *key, const eb_decay *d) {
    if (d->kind == EB_DECAY_CONSTANT) {
        cJSON_AddNumberToObject(o, key, d->start);
        return;
    }
    cJSON *v = cJSON_AddObjectToObject(o, key);
    cJSON_AddNumberToObject(v, "start", d->start);
    cJSON_AddNumberToObject(v, "end", d->end);
    cJSON_AddStringToObject(v, "decay", eb_decay_kind_name(d->kind));
}

char *eb_cd_config_json(const eb_cd_config *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "objective", "cd");
    cJSON_AddNumberToObject(o, "sgld_steps", (double)c->sgld.steps);
    add_decay(o, "sgld_step_size", &c->sgld.step_size);
    add_decay(o, "sgld_noise", &c->sgld.noise);
    cJSON_AddNumberToObject(o, "sgld_projection", (double)c->sgld.projection);
    cJSON_AddNumberToObject(o, "sgld_max_abs_log_density", c->sgld.max_abs_log_density);
    cJSON_AddNumberToObject(o, "cond_sgld_steps", (double)c->cond_steps);
    cJSON_AddNumberToObject(o, "buffer_size", (double)c->buffer_size);
    cJSON_AddNumberToObject(o, "restart_prob", c->restart_prob);
    cJSON_AddNumberToObject(o, "init_lo", (double)c->init_lo);
    cJSON_AddNumberToObject(o, "init_hi", (double)c->init_hi);
    cJSON_AddNumberToObject(o, "n_negatives", (double)c->n_negatives);
    cJSON_AddNumberToObject(o, "l2", c->l2);
    cJSON_AddNumberToObject(o, "ce_weight", c->ce_weight);
    cJSON_AddBoolToObject(o, "class_conditional", c->class_conditional);
    cJSON_AddNumberToObject(o, "seed", (double)c->seed);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---- the loss for given negatives ------------------------------------------------------------------ */

eb_tensor *eb_cd_loss(eb_graph *g, eb_model *m, eb_tensor *x_pos, const int32_t *labels, eb_tensor *x_neg,
                      double l2, double ce_weight, bool train, eb_rng *rng, eb_cd_terms *terms) {
    if (terms) *terms = (eb_cd_terms){NAN, NAN, NAN, -1};
    int64_t n_out = eb_model_out_dim(m);
    if (ce_weight > 0.0 && !labels) {
        eb_graph_fail(g, EB_ERR_ARG, "contrastive divergence: ce_weight %g needs labels, the data has none",
                      ce_weight);
        return x_pos;
    }
    if (ce_weight > 0.0 && n_out < 2) {
        eb_graph_fail(g, EB_ERR_ARG,
                      "contrastive divergence: ce_weight %g needs a classifier, the model has %lld output",
                      ce_weight, (long long)n_out);
        return x_pos;
    }
    /* Two forward passes, as the released code (fp = model(x⁺), fq = model(x⁻)): BatchNorm batch
     * statistics of data and samples are not mixed. The CE term reuses the logits of x⁺. */
    eb_tensor *logits_pos = eb_model_forward(m, g, x_pos, train, rng, NULL);
    eb_tensor *logits_neg = eb_model_forward(m, g, x_neg, train, rng, NULL);
    eb_tensor *f_pos = eb_logits_log_density(g, logits_pos); /* [B] */
    eb_tensor *f_neg = eb_logits_log_density(g, logits_neg); /* [N] */
    eb_tensor *mean_pos = eb_mean_all(g, f_pos), *mean_neg = eb_mean_all(g, f_neg);
    eb_tensor *loss = eb_sub(g, mean_neg, mean_pos); /* −(mean f(x⁺) − mean f(x⁻)) */
    if (l2 != 0.0) {
        eb_tensor *reg = eb_add(g, eb_mean_all(g, eb_square(g, f_pos)), eb_mean_all(g, eb_square(g, f_neg)));
        loss = eb_add(g, loss, eb_mul_scalar(g, reg, (float)l2));
    }
    eb_tensor *ce = NULL;
    if (ce_weight > 0.0) {
        ce = eb_cross_entropy(g, logits_pos, labels);
        loss = eb_add(g, loss, eb_mul_scalar(g, ce, (float)ce_weight));
    }
    if (terms && eb_graph_status(g) == EB_OK) {
        terms->f_pos = (double)mean_pos->data[0];
        terms->f_neg = (double)mean_neg->data[0];
        if (ce) terms->ce = (double)ce->data[0];
        if (labels && n_out >= 2)
            terms->n_correct = eb__count_correct(logits_pos, labels, logits_pos->shape[0]);
    }
    return loss;
}

/* ---- the objective object ---------------------------------------------------------------------------- */

struct eb_cd {
    eb_cd_config config;
    int64_t dim, n_out;
    eb_replay_buffer buffer;
    eb_graph *scratch; /* SGLD's graph, reset at every Langevin step */
    eb_rng rng;        /* used when the trainer passes no stream */
    eb_rng init;       /* the replay buffer's stream: the buffer is made when first used (make_buffer) */
    /* the negatives of the last step: capacity `cap` chains */
    int64_t cap, n;
    float *x_neg;
    int64_t *index;
    int32_t *y_neg;
    eb_cd_terms terms;
    eb_sgld_stats sgld;
};

eb_status eb_cd_new(const eb_cd_config *c, int64_t in_dim, int64_t out_dim, eb_cd **out, eb_error *err) {
    *out = NULL;
    eb_status st = eb_cd_config_check(c, err);
    if (st) return st;
    if (in_dim < 1 || out_dim < 1)
        return eb_error_set(err, EB_ERR_ARG, "contrastive divergence: model dims %lld -> %lld",
                            (long long)in_dim, (long long)out_dim);
    if (c->ce_weight > 0.0 && out_dim < 2)
        return eb_error_set(
            err, EB_ERR_ARG,
            "contrastive divergence: ce_weight %g needs a classifier with >= 2 outputs (got %lld)",
            c->ce_weight, (long long)out_dim);
    if (c->class_conditional && out_dim < 2)
        return eb_error_set(
            err, EB_ERR_ARG,
            "contrastive divergence: class-conditional sampling needs >= 2 outputs (got %lld)",
            (long long)out_dim);
    if (c->class_conditional && c->buffer_size < out_dim)
        return eb_error_set(err, EB_ERR_ARG,
                            "contrastive divergence: buffer_size %lld is smaller than the %lld classes",
                            (long long)c->buffer_size, (long long)out_dim);
    eb_cd *cd = calloc(1, sizeof *cd);
    if (!cd) return eb_error_set(err, EB_ERR_NOMEM, "contrastive divergence: out of memory");
    cd->config = *c;
    cd->dim = in_dim;
    cd->n_out = out_dim;
    eb_rng_seed(&cd->rng, c->seed);
    cd->init = eb_rng_split(&cd->rng);
    if (!(cd->scratch = eb_graph_new(0, NULL)))
        st = eb_error_set(err, EB_ERR_NOMEM, "contrastive divergence: out of memory");
    if (st) {
        eb_cd_free(cd);
        return st;
    }
    *out = cd;
    return EB_OK;
}

void eb_cd_free(eb_cd *cd) {
    if (!cd) return;
    eb_replay_buffer_free(&cd->buffer);
    eb_graph_free(cd->scratch);
    free(cd->x_neg);
    free(cd->index);
    free(cd->y_neg);
    free(cd);
}

const eb_cd_config *eb_cd_config_of(const eb_cd *cd) { return &cd->config; }

/* The replay buffer drawn from `init` — whole (dist NULL), or this rank's share of it — replacing any
 * before. Made when first used, not by eb_cd_new, so that a sharded run never holds the whole buffer. */
static eb_status make_buffer(eb_cd *cd, const eb_dist *dist, eb_rng init, eb_error *err) {
    const eb_cd_config *c = &cd->config;
    eb_replay_buffer b;
    eb_status st =
        eb_replay_buffer_init_share(&b, c->buffer_size, cd->dim, c->class_conditional ? cd->n_out : 0,
                                    c->init_lo, c->init_hi, c->restart_prob, dist, &init, err);
    if (st) return st;
    eb_replay_buffer_free(&cd->buffer);
    cd->buffer = b;
    return EB_OK;
}

eb_replay_buffer *eb_cd_buffer(eb_cd *cd) {
    if (!cd->buffer.x) make_buffer(cd, NULL, cd->init, NULL); /* out of memory: x stays NULL */
    return &cd->buffer;
}

eb_status eb_cd_distribute(eb_cd *cd, const eb_dist *dist, uint64_t seed, eb_error *err) {
    if (eb_dist_size(dist) < 2) return EB_OK;
    const eb_cd_config *c = &cd->config;
    if (c->n_negatives > 0 && c->n_negatives < eb_dist_size(dist))
        return eb_error_set(err, EB_ERR_ARG,
                            "contrastive divergence: --n-negatives %lld cannot be split over %d ranks (each "
                            "rank samples its share of the chains)",
                            (long long)c->n_negatives, eb_dist_size(dist));
    eb_rng common;
    eb_rng_seed(&common, seed);
    eb_status st = make_buffer(cd, dist, eb_rng_split(&common), err); /* eb_cd_new's stream, common seed */
    if (st)
        return eb_error_set(err, st, "contrastive divergence: --buffer-size %lld: %s",
                            (long long)c->buffer_size, err->message);
    return EB_OK;
}

eb_cd_step_info eb_cd_last_step(const eb_cd *cd) {
    return (eb_cd_step_info){cd->x_neg, cd->index, cd->config.class_conditional ? cd->y_neg : NULL,
                             cd->n,     cd->terms, cd->sgld};
}

static bool reserve(eb_cd *cd, int64_t n) {
    if (n <= cd->cap) return true;
    float *x = realloc(cd->x_neg, (size_t)(n * cd->dim) * sizeof *x);
    if (x) cd->x_neg = x;
    int64_t *idx = realloc(cd->index, (size_t)n * sizeof *idx);
    if (idx) cd->index = idx;
    int32_t *y = realloc(cd->y_neg, (size_t)n * sizeof *y);
    if (y) cd->y_neg = y;
    if (!x || !idx || !y) return false;
    cd->cap = n;
    return true;
}

eb_tensor *eb_objective_cd(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                           int64_t *n_correct) {
    eb_cd *cd = ctx;
    const eb_cd_config *c = &cd->config;
    if (n_correct) *n_correct = -1;
    cd->n = 0;
    cd->terms = (eb_cd_terms){NAN, NAN, NAN, -1};
    if (eb_graph_status(g) != EB_OK) return batch->x;
    if (eb_model_in_dim(m) != cd->dim || eb_model_out_dim(m) != cd->n_out) {
        eb_graph_fail(
            g, EB_ERR_SHAPE,
            "contrastive divergence: the objective was made for a %lld -> %lld model, got %lld -> %lld",
            (long long)cd->dim, (long long)cd->n_out, (long long)eb_model_in_dim(m),
            (long long)eb_model_out_dim(m));
        return batch->x;
    }
    if (c->ce_weight > 0.0 && !batch->labels) {
        eb_graph_fail(g, EB_ERR_ARG, "contrastive divergence: ce_weight %g needs labels, the data has none",
                      c->ce_weight);
        return batch->x;
    }
    /* n_negatives chains a step in all: this rank's share of them when sharded (eb_cd_distribute) */
    int64_t n = batch->size;
    if (c->n_negatives > 0) {
        int64_t lo, hi;
        eb_dist_share(c->n_negatives, eb_dist_rank(cd->buffer.dist), eb_dist_size(cd->buffer.dist), &lo, &hi);
        n = hi - lo;
    }
    if (n < 1 || !reserve(cd, n)) {
        eb_graph_fail(g, n < 1 ? EB_ERR_ARG : EB_ERR_NOMEM, "contrastive divergence: %s",
                      n < 1 ? "empty batch" : "out of memory for the negatives");
        return batch->x;
    }
    eb_rng *r = rng ? rng : &cd->rng;

    /* x⁻ ← buffer (y⁻ ~ U{0..C−1} picks the block when class-conditional), restarts with prob. 0.05 */
    if (c->class_conditional)
        for (int64_t i = 0; i < n; i++) cd->y_neg[i] = (int32_t)eb_rng_below(r, (uint64_t)cd->n_out);
    const int32_t *y = c->class_conditional ? cd->y_neg : NULL;
    eb_error err = {0};
    eb_status st = cd->buffer.x ? EB_OK : make_buffer(cd, NULL, cd->init, &err);
    if (!st) st = eb_replay_buffer_draw(&cd->buffer, n, y, r, cd->index, cd->x_neg, &err);

    /* SGLD on f (or g_{y⁻}) with the model in eval mode; steps: the paper's unless cond_steps says */
    eb_sgld_params p = c->sgld;
    if (c->class_conditional && c->cond_steps >= 0) p.steps = c->cond_steps;
    eb_model_density density = {m, y, false, NULL};
    memset(&cd->sgld, 0, sizeof cd->sgld);
    if (!st)
        st = eb_sgld_sample_rows(eb_model_log_density_rows, &density, cd->x_neg, n, cd->dim, &p, r,
                                 cd->scratch, &cd->sgld, &err); /* eval mode: rows are independent */
    if (st) {
        eb_graph_fail(g, st, "contrastive divergence: %s", err.message);
        return batch->x;
    }
    eb_replay_buffer_store(&cd->buffer, n, cd->index, cd->x_neg);
    cd->n = n;

    eb_tensor *x_neg = eb_tensor_input(g, cd->x_neg, 2, EB_SHAPE(n, cd->dim), false);
    eb_tensor *loss =
        eb_cd_loss(g, m, batch->x, batch->labels, x_neg, c->l2, c->ce_weight, true, r, &cd->terms);
    if (n_correct && c->ce_weight > 0.0) *n_correct = cd->terms.n_correct;
    return loss;
}

/* ---- registry rows: cd, cd-s (objective_impl.h; parameters in eb_ebm_method) ------------------------------
 */
static const eb_param_symbol sampling_modes[] = {{"marginal", 0}, {"class", 1}, {NULL, 0}};
static const eb_param_symbol cond_steps_names[] = {{"paper", -1}, {"code", EB_CD_CODE_COND_STEPS}, {NULL, 0}};
#define CD_FIELD(f) offsetof(eb_ebm_method, cd.f)
static const eb_param_desc cd_rows[] = {
    {"sgld_steps", "sgld-steps", EB_PARAM_TYPE_I64, CD_FIELD(sgld.steps), 0, 1e6, false, false, NULL, "K",
     "SGLD steps per training step"},
    {"sgld_step_size", "sgld-step-size", EB_PARAM_TYPE_DECAY, CD_FIELD(sgld.step_size), 0, 1e30, false, false,
     NULL, "ETA", "SGLD step size on grad f, constant over the chain"},
    {"sgld_noise", "sgld-noise", EB_PARAM_TYPE_DECAY, CD_FIELD(sgld.noise), 0, 1e6, false, false, NULL,
     "SIGMA", "SGLD noise std, constant, independent of the step size"},
    {"buffer_size", "buffer-size", EB_PARAM_TYPE_I64, CD_FIELD(buffer_size), 1, 1e8, false, false, NULL, "N",
     "replay-buffer chains, trimmed to a multiple of the classes"},
    {"restart_prob", "restart-prob", EB_PARAM_TYPE_F64, CD_FIELD(restart_prob), 0, 1, false, false, NULL, "P",
     "probability that a drawn chain restarts from U(-1, 1)"},
    {"l2", "l2", EB_PARAM_TYPE_F64, CD_FIELD(l2), 0, 1e6, false, false, NULL, "W",
     "weight of mean f(x+)^2 + mean f(x-)^2"},
    EB__EBM_CE_WEIGHT_ROW(cd.ce_weight),
    {"n_negatives", "n-negatives", EB_PARAM_TYPE_I64, CD_FIELD(n_negatives), 0, 1e7, false, false, NULL, "N",
     "SGLD chains per step; 0 = the batch size"},
    {"class_conditional", "sampling", EB_PARAM_TYPE_BOOL, CD_FIELD(class_conditional), 0, 1, false, true,
     sampling_modes, "MODE", "marginal (SGLD on logsumexp) or class (on the logit of y ~ U{classes})"},
    {"cond_steps", "cond-sgld-steps", EB_PARAM_TYPE_I64, CD_FIELD(cond_steps), 0, 1e6, false, false,
     cond_steps_names, "paper|code|K",
     "class sampling: paper = --sgld-steps, code = 20 (the released code), or K"},
};
#undef CD_FIELD

static void cd_defaults(void *p) { eb_ebm_method_parse("cd", p, NULL); }
static void cd_s_defaults(void *p) { eb_ebm_method_parse("cd-s", p, NULL); }

const eb__objective_method eb__objective_cd =
    EB__EBM_OBJECTIVE("cd", "contrastive divergence: SGLD negatives from a replay buffer (002 §3)",
                      cd_defaults, cd_rows, eb__ebm_use_code, "objective.replay_buffer", NULL);
const eb__objective_method eb__objective_cd_s =
    EB__EBM_OBJECTIVE("cd-s", "supervised CD (JEM-style): + gamma*CE, class-conditional SGLD (002 Eq. 2)",
                      cd_s_defaults, cd_rows, eb__ebm_use_code, "objective.replay_buffer", NULL);
