/* The VERA objective (002_39b8670b82235277.txt §3 "VERA" and Appendix; specs §4 "VERA"): configuration,
 * the generator's construction, and the per-batch objective. The EBM loss is in vera_loss.c, the
 * generator's entropy estimator and step in vera_generator.c. */
#include "ood/objectives/ebm_method_impl.h"
#include "ood/objectives/vera_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *eb_vera_penalty_name(eb_vera_penalty p) {
    switch (p) {
    case EB_VERA_PENALTY_PER_SAMPLE: return "per_sample";
    case EB_VERA_PENALTY_BATCH_MEAN: return "batch_mean";
    }
    return "unknown";
}

eb_status eb_vera_penalty_parse(const char *s, eb_vera_penalty *out, eb_error *err) {
    if (s && !strcmp(s, "per_sample"))
        *out = EB_VERA_PENALTY_PER_SAMPLE;
    else if (s && !strcmp(s, "batch_mean"))
        *out = EB_VERA_PENALTY_BATCH_MEAN;
    else
        return eb_error_set(err, EB_ERR_ARG, "vera: unknown penalty '%s' (expected per_sample or batch_mean)",
                            s ? s : "(null)");
    return EB_OK;
}

static eb_optimizer_params adamw_0_09(float lr) {
    eb_optimizer_params p = eb_adamw_default_params();
    p.lr = lr;
    p.beta1 = 0.0f;
    p.beta2 = 0.9f;
    p.weight_decay = 0.0f;
    return p;
}

/* The paper's values (002_… App. B "VERA"): EBM lr 3e-4, generator lr 6e-4, generator LeakyReLU(0.2),
 * σ ("the variance of the variational approximation η") initialised to 0.1 and clamped to [0.01, 0.3],
 * the 2,500-step warm-up "across all models" on both optimizers. eb_vera_code_config gives the released
 * configs' values where they differ. */
eb_vera_config eb_vera_default_config(void) {
    eb_vera_config c;
    memset(&c, 0, sizeof c);
    c.noise_dim = 16;
    c.n_hidden = 5;
    for (int i = 0; i < 5; i++) c.hidden[i] = 100;
    c.activation = EB_ACT_LEAKY_RELU;
    c.activation_param = 0.2f;
    c.batch_norm = true;
    c.bias = false;
    c.sigma_init = 0.1;
    c.sigma_min = 0.01;
    c.sigma_max = 0.3;
    c.post_sigma_init = 0.1;
    c.post_lr = 3e-5;
    c.n_posterior = 20;
    c.entropy_weight = 1e-4;
    c.pg_weight = 0.1;
    c.penalty = EB_VERA_PENALTY_PER_SAMPLE;
    c.fd_step = 1e-3;
    c.ce_weight = 0.0;
    c.gen_optimizer = adamw_0_09(6e-4f);
    c.gen_schedule = eb_schedule_default(6e-4f);
    c.gen_schedule.warmup_steps = 2500;
    c.ebm_optimizer = adamw_0_09(3e-4f);
    c.ebm_warmup_steps = 2500;
    c.seed = 0;
    return c;
}

/* The paper gives one set of VERA values; the supervised variant differs only by γ_ce = 1. */
eb_vera_config eb_vera_supervised_default_config(void) {
    eb_vera_config c = eb_vera_default_config();
    c.ce_weight = 1.0;
    return c;
}

/* The released configs (specs §4): fc_vera.yaml lr 3e-5 / 6e-5, the generator's make_mlp default slope
 * 0.01, σ initialised to 0.01, no warm-up (PL 1.3 skips optimizer_step under manual optimisation);
 * fc_vera_supervised.yaml lr 1e-3 / 1e-3 and a ReLU generator. */
eb_vera_config eb_vera_code_config(bool supervised) {
    eb_vera_config c = supervised ? eb_vera_supervised_default_config() : eb_vera_default_config();
    float lr_ebm = supervised ? 1e-3f : 3e-5f, lr_gen = supervised ? 1e-3f : 6e-5f;
    c.activation = supervised ? EB_ACT_RELU : EB_ACT_LEAKY_RELU;
    c.activation_param = supervised ? 0.0f : 0.01f;
    c.sigma_init = 0.01;
    c.gen_optimizer = adamw_0_09(lr_gen);
    c.gen_schedule = eb_schedule_default(lr_gen);
    c.ebm_optimizer = adamw_0_09(lr_ebm);
    c.ebm_warmup_steps = 0;
    return c;
}

static bool nonneg(double x) { return isfinite(x) && x >= 0; }

eb_status eb_vera_config_check(const eb_vera_config *c, eb_error *err) {
    if (!c) return eb_error_set(err, EB_ERR_ARG, "vera: no config");
    if (c->noise_dim < 1)
        return eb_error_set(err, EB_ERR_ARG, "vera: noise_dim must be >= 1 (got %lld)",
                            (long long)c->noise_dim);
    if (c->n_hidden < 0 || c->n_hidden > EB_MLP_MAX_HIDDEN)
        return eb_error_set(err, EB_ERR_ARG, "vera: generator n_hidden must be in [0, %d] (got %d)",
                            EB_MLP_MAX_HIDDEN, c->n_hidden);
    for (int i = 0; i < c->n_hidden; i++)
        if (c->hidden[i] < 1 || c->hidden[i] > (1 << 20))
            return eb_error_set(err, EB_ERR_ARG,
                                "vera: generator hidden width %lld out of range [1, 1048576]",
                                (long long)c->hidden[i]);
    eb_error why = {0};
    if (eb_activation_param_check(c->activation, c->activation_param, false, &why))
        return eb_error_set(err, EB_ERR_ARG, "vera: generator activation: %s", why.message);
    if (!(isfinite(c->sigma_min) && isfinite(c->sigma_max) && isfinite(c->sigma_init) && c->sigma_min > 0 &&
          c->sigma_min <= c->sigma_init && c->sigma_init <= c->sigma_max))
        return eb_error_set(err, EB_ERR_ARG,
                            "vera: sigma needs 0 < sigma_min <= sigma_init <= sigma_max (got %g, %g, %g)",
                            c->sigma_min, c->sigma_init, c->sigma_max);
    if (!(isfinite(c->post_sigma_init) && c->post_sigma_init > 0))
        return eb_error_set(err, EB_ERR_ARG, "vera: post_sigma_init must be > 0 (got %g)",
                            c->post_sigma_init);
    if (!nonneg(c->post_lr))
        return eb_error_set(err, EB_ERR_ARG, "vera: post_lr must be >= 0 (got %g)", c->post_lr);
    if (c->n_posterior < 1)
        return eb_error_set(err, EB_ERR_ARG, "vera: n_posterior must be >= 1 (got %lld)",
                            (long long)c->n_posterior);
    if (!nonneg(c->entropy_weight))
        return eb_error_set(err, EB_ERR_ARG, "vera: entropy_weight must be >= 0 (got %g)", c->entropy_weight);
    if (!nonneg(c->pg_weight))
        return eb_error_set(err, EB_ERR_ARG, "vera: pg_weight must be >= 0 (got %g)", c->pg_weight);
    if (c->penalty != EB_VERA_PENALTY_PER_SAMPLE && c->penalty != EB_VERA_PENALTY_BATCH_MEAN)
        return eb_error_set(err, EB_ERR_ARG, "vera: unknown penalty kind %d", (int)c->penalty);
    if (!(isfinite(c->fd_step) && c->fd_step > 0))
        return eb_error_set(err, EB_ERR_ARG, "vera: fd_step must be > 0 (got %g)", c->fd_step);
    if (!nonneg(c->ce_weight))
        return eb_error_set(err, EB_ERR_ARG, "vera: ce_weight must be >= 0 (got %g)", c->ce_weight);
    eb_status st;
    if ((st = eb_optimizer_params_check(&c->gen_optimizer, &why)))
        return eb_error_set(err, st, "vera: gen_optimizer: %s", why.message);
    if ((st = eb_schedule_check(&c->gen_schedule, &why)))
        return eb_error_set(err, st, "vera: gen_schedule: %s", why.message);
    if ((st = eb_optimizer_params_check(&c->ebm_optimizer, &why)))
        return eb_error_set(err, st, "vera: ebm_optimizer: %s", why.message);
    if (c->ebm_warmup_steps < 0)
        return eb_error_set(err, EB_ERR_ARG, "vera: ebm_warmup_steps must be >= 0 (got %lld)",
                            (long long)c->ebm_warmup_steps);
    return EB_OK;
}

char *eb_vera_config_json(const eb_vera_config *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char buf[160];
    cJSON_AddNumberToObject(o, "noise_dim", (double)c->noise_dim);
    cJSON *h = cJSON_AddArrayToObject(o, "hidden");
    for (int i = 0; i < c->n_hidden && h; i++)
        cJSON_AddItemToArray(h, cJSON_CreateNumber((double)c->hidden[i]));
    cJSON_AddStringToObject(o, "activation", eb_activation_name(c->activation));
    cJSON_AddNumberToObject(o, "activation_param", (double)c->activation_param);
    cJSON_AddBoolToObject(o, "batch_norm", c->batch_norm);
    cJSON_AddBoolToObject(o, "bias", c->bias);
    cJSON_AddNumberToObject(o, "sigma_init", c->sigma_init);
    cJSON_AddNumberToObject(o, "sigma_min", c->sigma_min);
    cJSON_AddNumberToObject(o, "sigma_max", c->sigma_max);
    cJSON_AddNumberToObject(o, "post_sigma_init", c->post_sigma_init);
    cJSON_AddNumberToObject(o, "post_lr", c->post_lr);
    cJSON_AddNumberToObject(o, "n_posterior", (double)c->n_posterior);
    cJSON_AddNumberToObject(o, "entropy_weight", c->entropy_weight);
    cJSON_AddNumberToObject(o, "pg_weight", c->pg_weight);
    cJSON_AddStringToObject(o, "penalty", eb_vera_penalty_name(c->penalty));
    cJSON_AddNumberToObject(o, "fd_step", c->fd_step);
    cJSON_AddNumberToObject(o, "ce_weight", c->ce_weight);
    eb_optimizer_params_format(&c->gen_optimizer, buf, sizeof buf);
    cJSON_AddStringToObject(o, "gen_optimizer", buf);
    eb_schedule_format(&c->gen_schedule, buf, sizeof buf);
    cJSON_AddStringToObject(o, "gen_schedule", buf);
    eb_optimizer_params_format(&c->ebm_optimizer, buf, sizeof buf);
    cJSON_AddStringToObject(o, "ebm_optimizer", buf);
    cJSON_AddNumberToObject(o, "ebm_warmup_steps", (double)c->ebm_warmup_steps);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(o, "seed", buf);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The generator's parameters, named as the released VERAGenerator's state dict (g = SynthModel with
 * net = nn.Sequential(Linear, [BatchNorm1d], act, …, Linear)). */
static eb_status build_generator(eb_vera *v, eb_error *err) {
    const eb_vera_config *c = &v->c;
    v->gen.allocator = *eb_allocator_default();
    char name[64];
    int stride = c->batch_norm ? 3 : 2, idx = 0;
    eb_status st;
    for (int i = 0; i <= c->n_hidden; i++) {
        int64_t in = i == 0 ? c->noise_dim : c->hidden[i - 1], out = i == c->n_hidden ? v->dim : c->hidden[i];
        snprintf(name, sizeof name, "g.net.%d.weight", i * stride);
        v->lin_w[i] = idx++;
        if ((st = eb_params_add(&v->gen, name, 2, EB_SHAPE(out, in), err))) return st;
        v->lin_b[i] = -1;
        if (c->bias) {
            snprintf(name, sizeof name, "g.net.%d.bias", i * stride);
            v->lin_b[i] = idx++;
            if ((st = eb_params_add(&v->gen, name, 1, EB_SHAPE(out), err))) return st;
        }
        if (i < c->n_hidden && c->batch_norm) {
            snprintf(name, sizeof name, "g.net.%d.weight", i * stride + 1);
            v->bn_w[i] = idx++;
            if ((st = eb_params_add(&v->gen, name, 1, EB_SHAPE(out), err))) return st;
            snprintf(name, sizeof name, "g.net.%d.bias", i * stride + 1);
            v->bn_b[i] = idx++;
            if ((st = eb_params_add(&v->gen, name, 1, EB_SHAPE(out), err))) return st;
        }
    }
    v->logsigma = idx++;
    if ((st = eb_params_add(&v->gen, "logsigma", 1, EB_SHAPE(1), err))) return st;
    if ((st = eb_params_alloc(&v->gen, err))) return st;

    eb_rng rng;
    eb_rng_seed(&rng, c->seed);
    for (int i = 0; i <= c->n_hidden; i++) {
        const eb_param_info *w = &v->gen.info[v->lin_w[i]];
        eb_linear_init(v->gen.data + w->offset,
                       v->lin_b[i] >= 0 ? v->gen.data + v->gen.info[v->lin_b[i]].offset : NULL, w->shape[0],
                       w->shape[1], &rng);
        if (i < c->n_hidden && c->batch_norm) {
            const eb_param_info *gm = &v->gen.info[v->bn_w[i]];
            for (int64_t j = 0; j < gm->size; j++) v->gen.data[gm->offset + j] = 1.0f; /* β stays 0 */
        }
    }
    v->gen.data[v->gen.info[v->logsigma].offset] = (float)log(c->sigma_init);
    return EB_OK;
}

eb_status eb_vera_new(const eb_vera_config *c, int64_t in_dim, int64_t out_dim, eb_vera **out,
                      eb_error *err) {
    if (!out) return eb_error_set(err, EB_ERR_ARG, "vera: no output pointer");
    *out = NULL;
    eb_status st = eb_vera_config_check(c, err);
    if (st) return st;
    if (in_dim < 1 || out_dim < 1)
        return eb_error_set(err, EB_ERR_ARG, "vera: in_dim and out_dim must be >= 1 (got %lld, %lld)",
                            (long long)in_dim, (long long)out_dim);
    if (c->ce_weight > 0 && out_dim < 2)
        return eb_error_set(err, EB_ERR_ARG, "vera: ce_weight %g needs a model with >= 2 outputs (got %lld)",
                            c->ce_weight, (long long)out_dim);
    eb_vera *v = calloc(1, sizeof *v);
    if (!v) return eb_error_set(err, EB_ERR_NOMEM, "vera: out of memory");
    v->c = *c;
    v->dim = in_dim;
    v->out_dim = out_dim;
    if ((st = build_generator(v, err))) goto fail;
    eb_optimizer_params post = eb_adam_default_params(); /* torch.optim.Adam([post_logsigma], lr=post_lr) */
    post.lr = (float)c->post_lr;
    if ((st = eb_optimizer_new(&c->gen_optimizer, v->gen.size, NULL, &v->gen_opt, err))) goto fail;
    if ((st = eb_optimizer_new(&post, c->noise_dim, NULL, &v->post_opt, err))) goto fail;
    v->post_log_sigma = malloc((size_t)c->noise_dim * sizeof(float));
    v->post_grad = calloc((size_t)c->noise_dim, sizeof(float));
    v->scratch = eb_graph_new(0, NULL);
    if (!v->post_log_sigma || !v->post_grad || !v->scratch) {
        st = eb_error_set(err, EB_ERR_NOMEM, "vera: out of memory");
        goto fail;
    }
    for (int64_t j = 0; j < c->noise_dim; j++) v->post_log_sigma[j] = (float)log(c->post_sigma_init);
    v->last.sigma = c->sigma_init;
    v->last.post_sigma = c->post_sigma_init;
    *out = v;
    return EB_OK;
fail:
    eb_vera_free(v);
    return st;
}

void eb_vera_free(eb_vera *v) {
    if (!v) return;
    eb_params_free(&v->gen);
    eb_optimizer_free(v->gen_opt);
    eb_optimizer_free(v->post_opt);
    eb_graph_free(v->scratch);
    free(v->post_log_sigma);
    free(v->post_grad);
    free(v->h);
    free(v->eps);
    free(v->xg);
    free(v->work);
    free(v);
}

const eb_vera_config *eb_vera_config_of(const eb_vera *v) { return &v->c; }
eb_params *eb_vera_generator_params(eb_vera *v) { return &v->gen; }
double eb_vera_sigma(const eb_vera *v) { return exp((double)v->gen.data[v->gen.info[v->logsigma].offset]); }
const float *eb_vera_post_log_sigma(const eb_vera *v) { return v->post_log_sigma; }
eb_vera_step_info eb_vera_last_step(const eb_vera *v) { return v->last; }

static eb_status reserve(eb_vera *v, int64_t n, eb_error *err) {
    if (n <= v->cap) return EB_OK;
    float *h = realloc(v->h, (size_t)(n * v->c.noise_dim) * sizeof(float));
    if (h) v->h = h;
    float *e = realloc(v->eps, (size_t)(n * v->dim) * sizeof(float));
    if (e) v->eps = e;
    float *x = realloc(v->xg, (size_t)(n * v->dim) * sizeof(float));
    if (x) v->xg = x;
    if (!h || !e || !x)
        return eb_error_set(err, EB_ERR_NOMEM, "vera: out of memory for %lld samples", (long long)n);
    v->cap = n;
    return EB_OK;
}

/* n new samples h ~ N(0, I), ε ~ N(0, I), x̃ = G(h) + σε into v->h, v->eps, v->xg. */
static eb_status draw(eb_vera *v, int64_t n, eb_rng *rng, eb_error *err) {
    if (n < (v->c.batch_norm ? 2 : 1))
        return eb_error_set(err, EB_ERR_ARG, "vera: the generator's BatchNorm needs >= 2 samples (got %lld)",
                            (long long)n);
    eb_status st = reserve(v, n, err);
    if (st) return st;
    eb_rng_fill_normal(rng, v->h, n * v->c.noise_dim, 0.0f, 1.0f);
    eb_rng_fill_normal(rng, v->eps, n * v->dim, 0.0f, 1.0f);
    return eb__vera_generate(v, v->h, v->eps, n, v->xg, err);
}

eb_status eb_vera_sample(eb_vera *v, int64_t n, eb_rng *rng, float *x, eb_error *err) {
    if (!x || !rng) return eb_error_set(err, EB_ERR_ARG, "vera: sample: no output or rng");
    if (n < (v->c.batch_norm ? 2 : 1))
        return eb_error_set(err, EB_ERR_ARG,
                            "vera: sample: the generator's BatchNorm needs n >= 2 (got %lld)", (long long)n);
    float *h = malloc((size_t)(n * v->c.noise_dim) * sizeof(float)),
          *e = malloc((size_t)(n * v->dim) * sizeof(float));
    eb_status st;
    if (!h || !e) {
        st = eb_error_set(err, EB_ERR_NOMEM, "vera: sample: out of memory");
    } else {
        eb_rng_fill_normal(rng, h, n * v->c.noise_dim, 0.0f, 1.0f);
        eb_rng_fill_normal(rng, e, n * v->dim, 0.0f, 1.0f);
        st = eb__vera_generate(v, h, e, n, x, err);
    }
    free(h);
    free(e);
    return st;
}

eb_tensor *eb_objective_vera(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                             int64_t *n_correct) {
    eb_vera *v = ctx;
    if (n_correct) *n_correct = -1;
    if (eb_model_in_dim(m) != v->dim || eb_model_out_dim(m) != v->out_dim) {
        eb_graph_fail(g, EB_ERR_SHAPE,
                      "vera: the model maps %lld -> %lld, the objective was made for %lld -> %lld",
                      (long long)eb_model_in_dim(m), (long long)eb_model_out_dim(m), (long long)v->dim,
                      (long long)v->out_dim);
        return eb_tensor_scalar(g, 0.0f);
    }
    if (v->c.ce_weight > 0 && !batch->labels) {
        eb_graph_fail(g, EB_ERR_ARG, "vera: ce_weight %g needs labels, the data has none", v->c.ce_weight);
        return eb_tensor_scalar(g, 0.0f);
    }
    eb_error err = {0};
    eb_vera_step_info info = v->last;
    info.gen_stepped = false;
    /* (1) the generator step of the previous batch's samples, against the EBM just updated */
    if (v->pending > 0) {
        if (eb__vera_generator_grad(v, m, v->h, v->eps, v->pending, rng, true, &info, &err)) {
            eb_graph_fail(g, err.status, "%s", err.message);
            return eb_tensor_scalar(g, 0.0f);
        }
        eb__vera_generator_apply(v);
        info.gen_stepped = true;
        info.gen_steps = v->gen_steps;
        info.sigma = eb_vera_sigma(v);
        double s = 0.0;
        for (int64_t j = 0; j < v->c.noise_dim; j++) s += exp((double)v->post_log_sigma[j]);
        info.post_sigma = s / (double)v->c.noise_dim;
        v->pending = 0;
    }
    /* (2) this batch's samples x̃ ~ q */
    if (draw(v, batch->size, rng, &err)) {
        eb_graph_fail(g, err.status, "%s", err.message);
        return eb_tensor_scalar(g, 0.0f);
    }
    v->pending = batch->size;
    /* (3) the EBM loss against them (x̃ detached) */
    eb_tensor *xg = eb_tensor_copy(g, v->xg, 2, EB_SHAPE(batch->size, v->dim));
    eb_tensor *loss =
        eb_vera_ebm_loss(g, v->scratch, m, batch->x, batch->labels, xg, &v->c, true, rng, &info.terms);
    if (n_correct && v->c.ce_weight > 0) *n_correct = info.terms.n_correct;
    v->last = info;
    return loss;
}

/* ---- registry rows: vera, vera-s (objective_impl.h; parameters in eb_ebm_method) --------------------------
 */
static const eb_param_symbol penalty_names[] = {
    {"per_sample", EB_VERA_PENALTY_PER_SAMPLE}, {"batch_mean", EB_VERA_PENALTY_BATCH_MEAN}, {NULL, 0}};
static const eb_param_desc vera_rows[] = {
    {"penalty", "vera-penalty", EB_PARAM_TYPE_INT, offsetof(eb_ebm_method, vera.penalty), 0, 1, false, true,
     penalty_names, "MODE", "gradient penalty per_sample (VERA's code) or batch_mean (the EBM paper's code)"},
    {"entropy_weight", "entropy-weight", EB_PARAM_TYPE_F64, offsetof(eb_ebm_method, vera.entropy_weight), 0,
     1e6, false, false, NULL, "L", "weight of the generator's entropy"},
    {"pg_weight", "pg-weight", EB_PARAM_TYPE_F64, offsetof(eb_ebm_method, vera.pg_weight), 0, 1e6, false,
     false, NULL, "G", "weight of the gradient penalty; 0 = off"},
    EB__EBM_CE_WEIGHT_ROW(vera.ce_weight),
};
_Static_assert(sizeof(eb_vera_penalty) == sizeof(int), "vera-penalty is stored as an int");

static void vera_defaults(void *p) { eb_ebm_method_parse("vera", p, NULL); }
static void vera_s_defaults(void *p) { eb_ebm_method_parse("vera-s", p, NULL); }

const eb__objective_method eb__objective_vera =
    EB__EBM_OBJECTIVE("vera", "VERA: an amortised generator instead of MCMC (002 §3)", vera_defaults,
                      vera_rows, eb__ebm_use_code, "objective.vera_state", NULL);
const eb__objective_method eb__objective_vera_s =
    EB__EBM_OBJECTIVE("vera-s", "supervised VERA: + gamma*CE", vera_s_defaults, vera_rows, eb__ebm_use_code,
                      "objective.vera_state", NULL);
