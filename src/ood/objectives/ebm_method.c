/* The EBM methods of 002_39b8670b82235277.txt by name (ebm.h "EBM methods by name"): one value per row of
 * the paper's tables — the model it trains, its training parameters (seed-code-specs.md §4) and its
 * objective — so that `ebood train --objective NAME` and the benchmark suites build the same thing.
 * Paper values by default; eb_ebm_method_use_code gives the released code's where they differ. */
/* clang-format off */
/*   name    objective                          model (tabular)        training
 *   cd      PCD, 100 SGLD steps (§3, App. B)   MLP in→100×5→1, ReLU   AdamW 1e-3, warm-up 2500,
 *   cd-s    + γ·CE, class-cond. SGLD (Eq. 2)   MLP in→100×5→C         ×0.5 every 1000 epochs
 *   ssm     SSM-VR (§3, App. B)                MLP in→100×5→1         as cd
 *   ssm-s   + γ·CE                             MLP in→100×5→C         as cd
 *   vera    VERA (§3, App. B "VERA")           MLP in→100×5→1         AdamW β (0, 0.9), lr 3e-4, warm-up
 *   vera-s  + γ·CE                             MLP in→100×5→C         2500, ×0.3 at epoch 3000
 *   flow    maximum likelihood (App. C)        20 radial layers       AdamW 1e-3, no schedule
 */
/* clang-format on */
#include <ebood/ebm.h>
#include <ebood/ood.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ood/objectives/ebm_method_impl.h"
#include "ood/objectives/vera_impl.h"

static const char *const method_names[] = {"cd", "cd-s", "ssm", "ssm-s", "vera", "vera-s", "flow"};
enum { N_METHODS = (int)(sizeof method_names / sizeof method_names[0]) };

eb_status eb_ebm_method_parse(const char *name, eb_ebm_method *out, eb_error *err) {
    int i = 0;
    while (name && i < N_METHODS && strcmp(name, method_names[i]) != 0) i++;
    if (!name || i == N_METHODS)
        return eb_error_set(
            err, EB_ERR_ARG,
            "EBM method: unknown name '%s' (expected cd, cd-s, ssm, ssm-s, vera, vera-s or flow)",
            name ? name : "(null)");
    eb_ebm_method m;
    memset(&m, 0, sizeof m);
    m.kind = (eb_ebm_kind)(i / 2); /* the table's order: cd, ssm, vera in pairs, then flow */
    m.supervised = i < 6 && i % 2 == 1;
    m.cd = m.supervised ? eb_cd_supervised_default_config() : eb_cd_default_config();
    m.ssm = m.supervised ? eb_ssm_supervised_default_config() : eb_ssm_default_config();
    m.vera = m.supervised ? eb_vera_supervised_default_config() : eb_vera_default_config();
    m.flow = eb_radial_flow_default_config(0);
    m.activation = EB_ACT_RELU;
    *out = m;
    return EB_OK;
}

void eb_ebm_method_use_code(eb_ebm_method *m) {
    if (m->kind == EB_EBM_FLOW) return;
    m->code_defaults = true;
    m->activation = EB_ACT_LEAKY_RELU; /* fc.py's default; fc_vera.yaml passes 0.2 for VERA's EBM */
    m->activation_param = m->kind == EB_EBM_VERA ? 0.2f : 0.01f;
    m->cd.buffer_size = 9000;
    if (m->supervised) m->cd.cond_steps = EB_CD_CODE_COND_STEPS;
    double ce = m->vera.ce_weight;
    m->vera = eb_vera_code_config(m->supervised);
    m->vera.ce_weight = ce;
}

void eb_ebm_method_share_schedule(eb_ebm_method *m, const eb_schedule *ebm_schedule) {
    if (m->kind != EB_EBM_VERA) return;
    float lr = m->vera.gen_optimizer.lr, ratio = ebm_schedule->base_lr > 0 ? lr / ebm_schedule->base_lr : 1;
    m->vera.gen_schedule = *ebm_schedule;
    m->vera.gen_schedule.base_lr = lr;
    m->vera.gen_schedule.min_lr = ebm_schedule->min_lr * ratio;
}

const char *eb_ebm_method_name(const eb_ebm_method *m) {
    if (!m || (unsigned)m->kind >= (unsigned)EB_EBM_KIND_COUNT) return "unknown";
    if (m->kind == EB_EBM_FLOW) return "flow";
    return method_names[2 * (int)m->kind + (m->supervised ? 1 : 0)];
}

/* The method's own config check (EB_ERR_ARG naming the field). */
static eb_status method_check(const eb_ebm_method *m, eb_error *err) {
    switch (m->kind) {
    case EB_EBM_CD: return eb_cd_config_check(&m->cd, err);
    case EB_EBM_SSM: return eb_ssm_config_check(&m->ssm, err);
    case EB_EBM_VERA: return eb_vera_config_check(&m->vera, err);
    case EB_EBM_FLOW: {
        eb_radial_flow_config c = m->flow;
        c.dim = 1; /* filled by the model */
        return eb_radial_flow_config_check(&c, err);
    }
    default: return eb_error_set(err, EB_ERR_ARG, "EBM method: unknown kind %d", (int)m->kind);
    }
}

eb_status eb_ebm_model_new(const eb_ebm_method *m, int64_t in_dim, int64_t n_classes, eb_rng *init_rng,
                           eb_model **out, eb_error *err) {
    *out = NULL;
    eb_status st = method_check(m, err);
    if (st) return st;
    if (in_dim < 1)
        return eb_error_set(err, EB_ERR_SHAPE, "%s: in_dim must be >= 1 (got %lld)", eb_ebm_method_name(m),
                            (long long)in_dim);
    if (m->kind == EB_EBM_FLOW) {
        eb_radial_flow_config c = m->flow;
        c.dim = in_dim;
        return eb_radial_flow_new(&c, init_rng, NULL, out, err);
    }
    if (m->supervised && n_classes < 2)
        return eb_error_set(err, EB_ERR_SHAPE, "%s: a supervised EBM needs >= 2 classes (got %lld)",
                            eb_ebm_method_name(m), (long long)n_classes);
    /* 002_… App. C: d → 100×5 → 1 (unsupervised) or C (supervised), m's activation */
    eb_mlp_config c = eb_mlp_default_config(in_dim, m->supervised ? n_classes : 1);
    c.activation = m->activation;
    c.activation_param = m->activation_param;
    return eb_mlp_new(&c, init_rng, NULL, out, err);
}

eb_train_params eb_ebm_train_params(const eb_ebm_method *m, int64_t batches_per_epoch) {
    eb_train_params p = eb_train_default_params();
    p.steps = 10000; /* max_steps */
    p.epochs = 0;
    p.batch_size = 512;
    p.drop_last = true;
    p.optimizer = eb_adamw_default_params(); /* lr 1e-3, β (0.9, 0.999), eps 1e-8 */
    p.optimizer.weight_decay = 0.0f;
    p.schedule = eb_schedule_default(p.optimizer.lr);
    switch (m->kind) {
    case EB_EBM_CD:
    case EB_EBM_SSM:
        /* "Common training": linear warm-up over 2500 steps, StepLR(1000 epochs, γ 0.5) */
        p.schedule.warmup_steps = 2500;
        if (batches_per_epoch > 0) {
            p.schedule.kind = EB_SCHEDULE_STEP;
            p.schedule.step_size = 1000 * batches_per_epoch;
            p.schedule.gamma = 0.5f;
        }
        break;
    case EB_EBM_VERA:
        /* its own optimizers (manual optimisation skips the warm-up hook), MultiStepLR ×0.3 at epochs
         * [3000, 4000]. eb_schedule has no multi-step kind: STEP with step_size 3000·B, γ 0.3 equals it for
         * every step < 4000·B (and past it lacks the second ×0.3 until 6000·B); with 10,000 steps that is
         * all of training whenever B ≥ 3 (Segment: B = 3). */
        p.optimizer = m->vera.ebm_optimizer;
        p.schedule = eb_schedule_default(p.optimizer.lr);
        p.schedule.warmup_steps = m->vera.ebm_warmup_steps;
        if (batches_per_epoch > 0) {
            p.schedule.kind = EB_SCHEDULE_STEP;
            p.schedule.step_size = 3000 * batches_per_epoch;
            p.schedule.gamma = 0.3f;
        }
        break;
    default: break; /* flow: AdamW 1e-3, no scheduler */
    }
    p.schedule.base_lr = p.optimizer.lr;
    return p;
}

/* The model must be the method's: a radial flow for flow, anything else (an MLP or an image classifier)
 * for the EBMs, whose supervised variants need ≥ 2 outputs (checked again by eb_cd_new / eb_vera_new). */
static eb_status model_check(const eb_ebm_method *m, const eb_model *model, eb_error *err) {
    const char *name = eb_ebm_method_name(m);
    if ((m->kind == EB_EBM_FLOW) != (model->kind == EB_MODEL_RADIAL_FLOW))
        return eb_error_set(err, EB_ERR_SHAPE, "%s: cannot train a %s model (%s)", name,
                            eb_model_kind_name(model->kind),
                            m->kind == EB_EBM_FLOW ? "maximum likelihood needs a radial_flow"
                                                   : "a flow is trained by --objective flow");
    if (m->kind != EB_EBM_FLOW && m->supervised && eb_model_out_dim(model) < 2)
        return eb_error_set(err, EB_ERR_SHAPE, "%s: the model has %lld output, a supervised EBM needs >= 2",
                            name, (long long)eb_model_out_dim(model));
    return EB_OK;
}

eb_status eb_ebm_objective_new(const eb_ebm_method *m, const eb_model *model, uint64_t seed,
                               eb_ebm_objective **out, eb_error *err) {
    *out = NULL;
    eb_status st = method_check(m, err);
    if (!st) st = model_check(m, model, err);
    if (st) return st;
    eb_ebm_objective *o = calloc(1, sizeof *o);
    if (!o) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    o->method = *m;
    int64_t in = eb_model_in_dim(model), outd = eb_model_out_dim(model);
    switch (m->kind) {
    case EB_EBM_CD: {
        o->method.cd.seed = seed;
        eb_cd *cd = NULL;
        st = eb_cd_new(&o->method.cd, in, outd, &cd, err);
        o->fn = eb_objective_cd;
        o->ctx = cd;
        break;
    }
    case EB_EBM_SSM:
        o->fn = eb_objective_ssm;
        o->ctx = &o->method.ssm; /* lives as long as o */
        break;
    case EB_EBM_VERA: {
        o->method.vera.seed = seed;
        eb_vera *v = NULL;
        st = eb_vera_new(&o->method.vera, in, outd, &v, err);
        o->fn = eb_objective_vera;
        o->ctx = v;
        break;
    }
    default:
        o->method.flow.dim = in;
        o->fn = eb_objective_max_likelihood;
        o->ctx = NULL;
        break;
    }
    if (st) {
        free(o);
        return st;
    }
    *out = o;
    return EB_OK;
}

void eb_ebm_objective_free(eb_ebm_objective *o) {
    if (!o) return;
    if (o->method.kind == EB_EBM_CD) eb_cd_free(o->ctx);
    if (o->method.kind == EB_EBM_VERA) eb_vera_free(o->ctx);
    free(o);
}

char *eb_ebm_method_json(const eb_ebm_method *m) {
    char *inner = NULL;
    switch (m->kind) {
    case EB_EBM_CD: inner = eb_cd_config_json(&m->cd); break;
    case EB_EBM_SSM: inner = eb_ssm_config_json(&m->ssm); break;
    case EB_EBM_VERA: inner = eb_vera_config_json(&m->vera); break;
    default: break;
    }
    cJSON *cfg = inner ? cJSON_Parse(inner) : NULL, *o = cJSON_CreateObject();
    free(inner);
    if (!o || (m->kind != EB_EBM_FLOW && !cfg)) {
        cJSON_Delete(cfg);
        cJSON_Delete(o);
        return NULL;
    }
    /* "objective" (the method's name) first, then the config's fields (its own "objective" dropped) */
    cJSON_AddStringToObject(o, "objective", eb_ebm_method_name(m));
    cJSON_AddStringToObject(o, "defaults", m->code_defaults ? "code" : "paper");
    while (cfg && cfg->child) {
        cJSON *it = cJSON_DetachItemViaPointer(cfg, cfg->child);
        if (it->string && strcmp(it->string, "objective") != 0)
            cJSON_AddItemToObject(o, it->string, it);
        else
            cJSON_Delete(it);
    }
    cJSON_Delete(cfg);
    if (m->kind == EB_EBM_FLOW) cJSON_AddNumberToObject(o, "n_layers", (double)m->flow.n_layers);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---- state for exact resume --------------------------------------------------------------------------- */
enum { VERA_HEADER = 5 }; /* generator steps, the two optimizers' step counts, n pending, parameter count */

static int64_t vera_state_size(const eb_vera *v, int64_t pending) {
    return VERA_HEADER + v->gen.size + eb_optimizer_state_size(v->gen_opt) + v->c.noise_dim +
           eb_optimizer_state_size(v->post_opt) + pending * (v->c.noise_dim + v->dim);
}

int64_t eb_ebm_objective_state_size(const eb_ebm_objective *o) {
    if (!o) return 0;
    if (o->method.kind == EB_EBM_CD) {
        const eb_replay_buffer *b = eb_cd_buffer(o->ctx);
        return b->total * b->dim; /* the whole buffer, also when this rank holds a share */
    }
    if (o->method.kind == EB_EBM_VERA) {
        const eb_vera *v = o->ctx;
        return vera_state_size(v, v->pending);
    }
    return 0;
}

/* Appends n floats of src at *at. */
static void put(float **at, const float *src, int64_t n) {
    if (n > 0) memcpy(*at, src, (size_t)n * sizeof(float));
    *at += n;
}

void eb_ebm_objective_state_get(const eb_ebm_objective *o, float *out) {
    if (!o) return;
    if (o->method.kind == EB_EBM_CD) {
        eb_replay_buffer_copy_share(eb_cd_buffer(o->ctx), out);
    } else if (o->method.kind == EB_EBM_VERA) {
        eb_vera *v = o->ctx;
        const float header[VERA_HEADER] = {(float)v->gen_steps, (float)eb_optimizer_step_count(v->gen_opt),
                                           (float)eb_optimizer_step_count(v->post_opt), (float)v->pending,
                                           (float)v->gen.size};
        float *at = out;
        put(&at, header, VERA_HEADER);
        put(&at, v->gen.data, v->gen.size);
        put(&at, eb_optimizer_state(v->gen_opt), eb_optimizer_state_size(v->gen_opt));
        put(&at, v->post_log_sigma, v->c.noise_dim);
        put(&at, eb_optimizer_state(v->post_opt), eb_optimizer_state_size(v->post_opt));
        put(&at, v->h, v->pending * v->c.noise_dim);
        put(&at, v->eps, v->pending * v->dim);
    }
}

/* A count stored as a float: a finite integer in [0, 2²⁴]. */
static bool count_of(float f, int64_t *out) {
    if (!(f >= 0.0f && f <= 16777216.0f) || floorf(f) != f) return false;
    *out = (int64_t)f;
    return true;
}

/* Copies n floats from *at to dst and advances. */
static void take(const float **at, float *dst, int64_t n) {
    if (n > 0) memcpy(dst, *at, (size_t)n * sizeof(float));
    *at += n;
}

eb_status eb_ebm_objective_state_gather(const eb_ebm_objective *o, float *out, eb_error *err) {
    if (o->method.kind == EB_EBM_CD) return eb_replay_buffer_gather(eb_cd_buffer(o->ctx), out, err);
    if (out) eb_ebm_objective_state_get(o, out);
    return EB_OK;
}

eb_status eb_ebm_objective_state_set(eb_ebm_objective *o, const float *in, int64_t n, eb_error *err) {
    const char *name = eb_ebm_method_name(&o->method);
    int64_t want = eb_ebm_objective_state_size(o);
    if (o->method.kind == EB_EBM_CD) {
        if (n != want)
            return eb_error_set(err, EB_ERR_FORMAT, "%s: state of %lld floats, the replay buffer holds %lld",
                                name, (long long)n, (long long)want);
        eb_replay_buffer_set_share(eb_cd_buffer(o->ctx), in);
        return EB_OK;
    }
    if (o->method.kind != EB_EBM_VERA) {
        if (n != 0)
            return eb_error_set(err, EB_ERR_FORMAT, "%s: has no state (got %lld floats)", name, (long long)n);
        return EB_OK;
    }
    eb_vera *v = o->ctx;
    int64_t steps, gen_t, post_t, pending, n_params;
    if (n < VERA_HEADER || !count_of(in[0], &steps) || !count_of(in[1], &gen_t) ||
        !count_of(in[2], &post_t) || !count_of(in[3], &pending) || !count_of(in[4], &n_params) ||
        n_params != v->gen.size || (pending > 0 && pending < (v->c.batch_norm ? 2 : 1)) ||
        n != vera_state_size(v, pending))
        return eb_error_set(
            err, EB_ERR_FORMAT,
            "%s: the generator state (%lld floats) does not fit this generator (%lld parameters)", name,
            (long long)n, (long long)v->gen.size);
    if (pending > v->cap) { /* room for the pending samples (as vera.c's reserve) */
        float *h = realloc(v->h, (size_t)(pending * v->c.noise_dim) * sizeof(float));
        if (h) v->h = h;
        float *e = h ? realloc(v->eps, (size_t)(pending * v->dim) * sizeof(float)) : NULL;
        if (e) v->eps = e;
        float *x = e ? realloc(v->xg, (size_t)(pending * v->dim) * sizeof(float)) : NULL;
        if (x) v->xg = x;
        if (!x)
            return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory for %lld samples", name,
                                (long long)pending);
        v->cap = pending;
    }
    const float *at = in + VERA_HEADER;
    take(&at, v->gen.data, v->gen.size);
    take(&at, eb_optimizer_state(v->gen_opt), eb_optimizer_state_size(v->gen_opt));
    take(&at, v->post_log_sigma, v->c.noise_dim);
    take(&at, eb_optimizer_state(v->post_opt), eb_optimizer_state_size(v->post_opt));
    take(&at, v->h, pending * v->c.noise_dim);
    take(&at, v->eps, pending * v->dim);
    v->gen_steps = steps;
    eb_optimizer_set_step_count(v->gen_opt, gen_t);
    eb_optimizer_set_step_count(v->post_opt, post_t);
    v->pending = pending;
    v->last.gen_steps = steps;
    v->last.sigma = eb_vera_sigma(v);
    return EB_OK;
}

/* ---- the registry hooks of the EBM objectives (ebm_method_impl.h; p an eb_ebm_method) -------------------
 */
void eb__ebm_use_code(void *p) { eb_ebm_method_use_code(p); }

/* γ of the method's config: > 0 selects the supervised sibling. */
static double ce_weight_of(const eb_ebm_method *m) {
    return m->kind == EB_EBM_CD    ? m->cd.ce_weight
           : m->kind == EB_EBM_SSM ? m->ssm.ce_weight
                                   : m->vera.ce_weight;
}

const char *eb__ebm_resolve(const void *p) {
    const eb_ebm_method *m = p;
    if (m->kind == EB_EBM_FLOW || (ce_weight_of(m) > 0.0) == m->supervised) return eb_ebm_method_name(m);
    eb_ebm_method other = {.kind = m->kind, .supervised = !m->supervised};
    return eb_ebm_method_name(&other);
}

eb_status eb__ebm_check(const void *p, eb_error *err) {
    const eb_ebm_method *m = p;
    if (m->kind == EB_EBM_CD && m->cd.class_conditional && !m->supervised)
        return eb_error_set(err, EB_ERR_ARG,
                            "--sampling class needs a classifier: give --ce-weight > 0 or --objective cd-s "
                            "(unsupervised cd trains a scalar energy)");
    if (m->kind == EB_EBM_CD && !m->cd.class_conditional && m->cd.cond_steps != -1)
        return eb_error_set(err, EB_ERR_ARG,
                            "--cond-sgld-steps is read only with class-conditional sampling (--ce-weight > 0 "
                            "or cd-s)");
    eb_status st = method_check(m, err);
    if (st) eb_error_set(err, st, "--objective %s: %s", eb_ebm_method_name(m), err->message);
    return st;
}

char *eb__ebm_json(const void *p, bool code_defaults) {
    (void)code_defaults; /* recorded by eb_ebm_method_use_code in the method */
    return eb_ebm_method_json(p);
}

int64_t eb__ebm_out_dim(const void *p, int64_t n_classes) {
    const eb_ebm_method *m = p;
    return m->supervised && m->kind != EB_EBM_FLOW ? n_classes : 1;
}

eb_model_kind eb__ebm_default_model(const void *p, bool images) {
    const eb_ebm_method *m = p;
    return images ? EB_MODEL_WRN_EBM : m->kind == EB_EBM_FLOW ? EB_MODEL_RADIAL_FLOW : EB_MODEL_MLP;
}

void eb__ebm_default_activation(const void *p, eb_activation *act, float *param) {
    const eb_ebm_method *m = p;
    *act = m->activation;
    *param = m->activation_param;
}

eb_status eb__ebm_model_check(const void *p, eb_model_kind kind, bool images, eb_error *err) {
    const eb_ebm_method *m = p;
    bool flow = m->kind == EB_EBM_FLOW;
    if (flow && images)
        return eb_error_set(
            err, EB_ERR_ARG,
            "--objective flow: tabular data only (the paper's image flow, Glow, is not built)");
    if ((kind == EB_MODEL_RADIAL_FLOW) != flow)
        return eb_error_set(err, EB_ERR_ARG, "--model %s: %s", eb_model_kind_name(kind),
                            flow ? "--objective flow trains a radial_flow"
                                 : "a radial_flow is a normalised density: train it with --objective flow");
    return EB_OK;
}

eb_status eb__ebm_model_new(const void *p, int64_t in_dim, int64_t n_classes, eb_rng *init, eb_model **out,
                            eb_error *err) {
    return eb_ebm_model_new(p, in_dim, n_classes, init, out, err);
}

void eb__ebm_model_note(const void *p, eb_model_kind kind, eb_activation act, char *buf, size_t size) {
    const eb_ebm_method *m = p;
    if (m->kind == EB_EBM_SSM && kind == EB_MODEL_MLP && (act == EB_ACT_RELU || act == EB_ACT_LEAKY_RELU))
        snprintf(buf, size,
                 "--objective %s with %s: the finite differences see its kinks (docs/methods.md \"SSM\"); "
                 "softplus, elu or swish are smooth",
                 eb_ebm_method_name(m), eb_activation_name(act));
}

/* eb_ebm_train_params (specs §4) over the generic profile; on images (002_… App. B) 50 epochs, batch 64
 * (JEM's; the paper gives none) and CD's "additive Gaussian noise with variance 0.1 to the inputs" as the
 * code's σ = 0.1 (specs §4). */
void eb__ebm_train_profile(const void *p, bool images, int64_t batches_per_epoch, eb_train_profile *out) {
    out->train = eb_ebm_train_params(p, batches_per_epoch);
    if (images) {
        out->train.steps = 0;
        out->train.epochs = 50;
        out->train.batch_size = 64;
        out->input_noise_std = 0.1;
    }
}

bool eb__ebm_needs_labels(const void *p) {
    const eb_ebm_method *m = p;
    return m->supervised && m->kind != EB_EBM_FLOW;
}

eb_tensor *eb__ebm_loss(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                        int64_t *n_correct) {
    eb_ebm_objective *o = ctx;
    return o->fn(o->ctx, m, g, batch, rng, n_correct);
}

eb_status eb__ebm_run_new(void *p, const eb_model *model, const eb_schedule *schedule, uint64_t seed,
                          void **ctx, eb_error *err) {
    if (schedule) eb_ebm_method_share_schedule(p, schedule); /* VERA's generator */
    return eb_ebm_objective_new(p, model, seed, (eb_ebm_objective **)ctx, err);
}

void eb__ebm_run_free(void *ctx) { eb_ebm_objective_free(ctx); }

int eb__ebm_state_shape(const void *ctx, int64_t shape[2]) {
    const eb_ebm_objective *o = ctx;
    if (o->method.kind == EB_EBM_CD) {
        const eb_replay_buffer *b = eb_cd_buffer(o->ctx);
        shape[0] = b->total;
        shape[1] = b->dim;
        return 2;
    }
    shape[0] = eb_ebm_objective_state_size(o);
    return o->method.kind == EB_EBM_VERA ? 1 : 0;
}

void eb__ebm_state_get(const void *ctx, float *out) { eb_ebm_objective_state_get(ctx, out); }

eb_status eb__ebm_state_gather(const void *ctx, float *out, eb_error *err) {
    return eb_ebm_objective_state_gather(ctx, out, err);
}

/* cd: each rank keeps its share of the one replay buffer, drawn from the common seed (eb_cd_distribute);
 * vera's generator and ssm's noise stay per rank (their own streams). */
eb_status eb__ebm_distribute(void *ctx, const eb_dist *dist, uint64_t seed, eb_error *err) {
    eb_ebm_objective *o = ctx;
    return o->method.kind == EB_EBM_CD ? eb_cd_distribute(o->ctx, dist, seed, err) : EB_OK;
}

eb_status eb__ebm_state_set(void *ctx, const float *in, int ndim, const int64_t *shape, eb_error *err) {
    eb_ebm_objective *o = ctx;
    int64_t want[2] = {0, 0};
    int want_ndim = eb__ebm_state_shape(o, want);
    if (ndim != want_ndim || (want_ndim == 2 && (shape[0] != want[0] || shape[1] != want[1])))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: the state tensor has %d dimensions, expected %d of %lld",
                            eb_ebm_method_name(&o->method), ndim, want_ndim, (long long)want[0]);
    return eb_ebm_objective_state_set(o, in, ndim == 2 ? shape[0] * shape[1] : shape[0], err);
}
