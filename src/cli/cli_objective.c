/* `ebood train --objective NAME`: "ce" (eb_objective_cross_entropy) or an EBM method of ebm.h's registry
 * (src/ood/objectives/ebm_method.c). Each objective flag lists the method kinds that read it; a flag given
 * for an objective that does not read it is an error (DESIGN.md §3.13), never silently ignored.
 *   cd, cd-s      contrastive divergence (eb_objective_cd): SGLD negatives from a replay buffer
 *   ssm, ssm-s    sliced score matching (eb_objective_ssm), finite-difference second derivatives
 *   vera, vera-s  VERA (eb_objective_vera): an amortised generator instead of MCMC
 *   flow          a radial flow by maximum likelihood (eb_objective_max_likelihood)
 * --ce-weight γ (cd, ssm, vera) picks the variant: γ > 0 the supervised one (C outputs, γ·CE), γ = 0 the
 * unsupervised one, whatever the name's suffix; so `--objective cd --ce-weight 1` trains cd-s. */
#include "cli/cli_objective.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_CD = 1 << EB_EBM_CD, R_SSM = 1 << EB_EBM_SSM, R_VERA = 1 << EB_EBM_VERA, R_FLOW = 1 << EB_EBM_FLOW };

/* Flag names in cli_objective_flags' order (after --objective) and the kinds that read them. */
static const struct {
    const char *name;
    unsigned readers;
} obj_flags[] = {
    {"sgld-steps", R_CD},
    {"sgld-step-size", R_CD},
    {"sgld-noise", R_CD},
    {"buffer-size", R_CD},
    {"restart-prob", R_CD},
    {"l2", R_CD},
    {"ce-weight", R_CD | R_SSM | R_VERA},
    {"n-negatives", R_CD},
    {"sampling", R_CD},
    {"cond-sgld-steps", R_CD},
    {"ssm-h", R_SSM},
    {"vera-penalty", R_VERA},
    {"entropy-weight", R_VERA},
    {"pg-weight", R_VERA},
    {"flow-layers", R_FLOW},
    {"ebm-preset", R_CD | R_SSM | R_VERA},
};
enum { N_OBJ_FLAGS = (int)(sizeof obj_flags / sizeof obj_flags[0]) };
_Static_assert(N_OBJ_FLAGS + 1 == CLI_OBJECTIVE_N_FLAGS, "one --objective flag plus the method flags");

static const char *const all_names = "ce, cd, cd-s, ssm, ssm-s, vera, vera-s, flow";

void cli_objective_args_init(cli_objective_args *a) {
    eb_cd_config c = eb_cd_default_config();
    eb_vera_config v = eb_vera_default_config();
    memset(a, 0, sizeof *a);
    a->name = "ce";
    a->sgld_steps = c.sgld.steps;
    a->sgld_step_size = c.sgld.step_size.start;
    a->sgld_noise = c.sgld.noise.start;
    a->buffer_size = c.buffer_size;
    a->restart_prob = c.restart_prob;
    a->l2 = c.l2;
    a->ce_weight = c.ce_weight;
    a->n_negatives = c.n_negatives;
    a->sampling = NULL;
    a->cond_steps = "paper";
    a->ssm_h = eb_ssm_default_config().h;
    a->vera_penalty = eb_vera_penalty_name(v.penalty);
    a->entropy_weight = v.entropy_weight;
    a->pg_weight = v.pg_weight;
    a->flow_layers = eb_radial_flow_default_config(1).n_layers;
    a->preset = "paper";
}

int cli_objective_flags(cli_objective_args *a, cli_flag *out) {
    const cli_flag f[CLI_OBJECTIVE_N_FLAGS] = {
        {"objective", 0, CLI_FLAG_STRING, &a->name, 0, 0, "NAME",
         "ce (cross-entropy classifier, default); EBMs: cd, cd-s (contrastive divergence), ssm, ssm-s "
         "(sliced "
         "score matching), vera, vera-s, flow (radial flow, maximum likelihood); -s = supervised",
         false},
        {"sgld-steps", 0, CLI_FLAG_INT, &a->sgld_steps, 0, 1e6, "K", "cd: SGLD steps per training step (100)",
         false},
        {"sgld-step-size", 0, CLI_FLAG_FLOAT, &a->sgld_step_size, 0, 1e30, "ETA",
         "cd: SGLD step size on grad f (1)", false},
        {"sgld-noise", 0, CLI_FLAG_FLOAT, &a->sgld_noise, 0, 1e6, "SIGMA",
         "cd: SGLD noise std, independent of the step size (0.01)", false},
        {"buffer-size", 0, CLI_FLAG_INT, &a->buffer_size, 1, 1e8, "N",
         "cd: replay-buffer chains, trimmed to a multiple of the classes (10000; the released code 9000)",
         false},
        {"restart-prob", 0, CLI_FLAG_FLOAT, &a->restart_prob, 0, 1, "P",
         "cd: probability that a drawn chain restarts from U(-1, 1) (0.05)", false},
        {"l2", 0, CLI_FLAG_FLOAT, &a->l2, 0, 1e6, "W", "cd: weight of mean f(x+)^2 + mean f(x-)^2 (1)",
         false},
        {"ce-weight", 0, CLI_FLAG_FLOAT, &a->ce_weight, 0, 1e6, "G",
         "cd, ssm, vera: weight of the cross-entropy term; 0 = unsupervised scalar EBM, > 0 = supervised "
         "(JEM-style, the -s variant) (0; -s: 1)",
         false},
        {"n-negatives", 0, CLI_FLAG_INT, &a->n_negatives, 0, 1e7, "N",
         "cd: SGLD chains per step; 0 = the batch size (0)", false},
        {"sampling", 0, CLI_FLAG_STRING, &a->sampling, 0, 0, "MODE",
         "cd: marginal (SGLD on logsumexp) or class (on the logit of y ~ U{classes}); default class when "
         "supervised",
         false},
        {"cond-sgld-steps", 0, CLI_FLAG_STRING, &a->cond_steps, 0, 0, "paper|code|K",
         "cd, class sampling: paper = --sgld-steps (default), code = 20 (the released code), or K", false},
        {"ssm-h", 0, CLI_FLAG_FLOAT, &a->ssm_h, 0, 1, "H",
         "ssm: relative finite-difference step, in (0, 1] (0.02)", false},
        {"vera-penalty", 0, CLI_FLAG_STRING, &a->vera_penalty, 0, 0, "MODE",
         "vera: gradient penalty per_sample (VERA's code, default) or batch_mean (the EBM paper's code)",
         false},
        {"entropy-weight", 0, CLI_FLAG_FLOAT, &a->entropy_weight, 0, 1e6, "L",
         "vera: weight of the generator's entropy (1e-4)", false},
        {"pg-weight", 0, CLI_FLAG_FLOAT, &a->pg_weight, 0, 1e6, "G",
         "vera: weight of the gradient penalty; 0 = off (0.1)", false},
        {"flow-layers", 0, CLI_FLAG_INT, &a->flow_layers, 1, EB_RADIAL_FLOW_MAX_LAYERS, "N",
         "flow: radial layers (20)", false},
        {"ebm-preset", 0, CLI_FLAG_STRING, &a->preset, 0, 0, "paper|code",
         "cd, ssm, vera: the paper's values (default) or the released code's where they differ (MLP "
         "LeakyReLU, 9000 chains, CD-S 20 steps, VERA lrs; docs/methods.md); other flags override either",
         false},
    };
    memcpy(out, f, sizeof f);
    return CLI_OBJECTIVE_N_FLAGS;
}

/* "paper" → -1, "code" → EB_CD_CODE_COND_STEPS, an integer in [0, 1e6] → itself; false if malformed. */
static bool parse_cond_steps(const char *s, int64_t *out) {
    if (strcmp(s, "paper") == 0) {
        *out = -1;
        return true;
    }
    if (strcmp(s, "code") == 0) {
        *out = EB_CD_CODE_COND_STEPS;
        return true;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1000000) return false;
    *out = v;
    return true;
}

/* "cd, cd-s, ssm, ssm-s" for the kinds in `readers`. */
static void reader_names(unsigned readers, char *buf, size_t size) {
    static const char *const names[EB_EBM_KIND_COUNT] = {"cd, cd-s", "ssm, ssm-s", "vera, vera-s", "flow"};
    buf[0] = 0;
    for (int k = 0; k < EB_EBM_KIND_COUNT; k++)
        if (readers & (1u << k))
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? ", " : "", names[k]);
}

int cli_objective_check(const char *command, cli_objective_args *a, const cli_flag *flags, int n_flags) {
    eb_error err = {0};
    a->ebm = strcmp(a->name, "ce") != 0;
    if (a->ebm && eb_ebm_method_parse(a->name, &a->method, &err)) {
        fprintf(stderr, "ebood %s: --objective: unknown objective '%s' (%s)\n", command, a->name, all_names);
        return CLI_USAGE;
    }
    unsigned kind_bit = a->ebm ? 1u << a->method.kind : 0u;
    for (int i = 0; i < N_OBJ_FLAGS; i++)
        if (!(obj_flags[i].readers & kind_bit) && cli_flag_seen(flags, n_flags, obj_flags[i].name)) {
            char names[64];
            reader_names(obj_flags[i].readers, names, sizeof names);
            fprintf(stderr, "ebood %s: --%s is read only by --objective %s (this run trains %s)\n", command,
                    obj_flags[i].name, names, a->name);
            return CLI_USAGE;
        }
    if (!a->ebm) return CLI_OK;
#define SEEN(f) cli_flag_seen(flags, n_flags, f)
    eb_ebm_method *m = &a->method;
    if (SEEN("ce-weight") && (a->ce_weight > 0.0) != m->supervised) { /* the other variant */
        char name[16];
        snprintf(name, sizeof name, "%s%s", eb_ebm_method_name(&(eb_ebm_method){.kind = m->kind}),
                 a->ce_weight > 0.0 ? "-s" : "");
        eb_ebm_method_parse(name, m, &err);
    }
    if (strcmp(a->preset, "code") == 0)
        eb_ebm_method_use_code(m);
    else if (strcmp(a->preset, "paper") != 0) {
        fprintf(stderr, "ebood %s: --ebm-preset: expected paper or code, got '%s'\n", command, a->preset);
        return CLI_USAGE;
    }
    if (SEEN("ce-weight")) m->cd.ce_weight = m->ssm.ce_weight = m->vera.ce_weight = a->ce_weight;
    if (m->kind == EB_EBM_CD) {
        eb_cd_config *c = &m->cd;
        if (SEEN("sgld-steps")) c->sgld.steps = a->sgld_steps;
        if (SEEN("sgld-step-size"))
            c->sgld.step_size = (eb_decay){a->sgld_step_size, a->sgld_step_size, EB_DECAY_CONSTANT};
        if (SEEN("sgld-noise")) c->sgld.noise = (eb_decay){a->sgld_noise, a->sgld_noise, EB_DECAY_CONSTANT};
        if (SEEN("buffer-size")) c->buffer_size = a->buffer_size;
        if (SEEN("restart-prob")) c->restart_prob = a->restart_prob;
        if (SEEN("l2")) c->l2 = a->l2;
        if (SEEN("n-negatives")) c->n_negatives = a->n_negatives;
        if (a->sampling && strcmp(a->sampling, "class") != 0 && strcmp(a->sampling, "marginal") != 0) {
            fprintf(stderr, "ebood %s: --sampling: expected marginal or class, got '%s'\n", command,
                    a->sampling);
            return CLI_USAGE;
        }
        if (a->sampling) c->class_conditional = strcmp(a->sampling, "class") == 0;
        if (c->class_conditional && !m->supervised) {
            fprintf(stderr,
                    "ebood %s: --sampling class needs a classifier: give --ce-weight > 0 or --objective cd-s "
                    "(unsupervised cd trains a scalar energy)\n",
                    command);
            return CLI_USAGE;
        }
        if (SEEN("cond-sgld-steps") && !parse_cond_steps(a->cond_steps, &c->cond_steps)) {
            fprintf(stderr,
                    "ebood %s: --cond-sgld-steps: expected paper, code or an integer in [0, 1000000], got "
                    "'%s'\n",
                    command, a->cond_steps);
            return CLI_USAGE;
        }
        if (SEEN("cond-sgld-steps") && !c->class_conditional) {
            fprintf(
                stderr,
                "ebood %s: --cond-sgld-steps is read only with class-conditional sampling (--ce-weight > 0 "
                "or cd-s)\n",
                command);
            return CLI_USAGE;
        }
    }
    if (SEEN("ssm-h")) m->ssm.h = a->ssm_h;
    if (SEEN("vera-penalty") && eb_vera_penalty_parse(a->vera_penalty, &m->vera.penalty, &err)) {
        fprintf(stderr, "ebood %s: --vera-penalty: %s\n", command, err.message);
        return CLI_USAGE;
    }
    if (SEEN("entropy-weight")) m->vera.entropy_weight = a->entropy_weight;
    if (SEEN("pg-weight")) m->vera.pg_weight = a->pg_weight;
    if (SEEN("flow-layers")) m->flow.n_layers = (int)a->flow_layers;
#undef SEEN
    eb_status st = EB_OK;
    switch (m->kind) {
    case EB_EBM_CD: st = eb_cd_config_check(&m->cd, &err); break;
    case EB_EBM_SSM: st = eb_ssm_config_check(&m->ssm, &err); break;
    case EB_EBM_VERA: st = eb_vera_config_check(&m->vera, &err); break;
    default: break; /* flow: --flow-layers' range is the config's */
    }
    if (st) {
        fprintf(stderr, "ebood %s: --objective %s: %s\n", command, a->name, err.message);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int64_t cli_objective_out_dim(const cli_objective_args *a, int64_t n_classes) {
    return !a->ebm || (a->method.supervised && a->method.kind != EB_EBM_FLOW) ? n_classes : 1;
}

eb_status cli_objective_new(const cli_objective_args *a, const eb_model *m, uint64_t seed, cli_objective *out,
                            eb_error *err) {
    memset(out, 0, sizeof *out);
    if (!a->ebm) {
        out->name = "ce";
        out->fn = eb_objective_cross_entropy;
        out->needs_labels = true;
        const char *json = "{\"objective\":\"ce\"}";
        out->settings_json = malloc(strlen(json) + 1);
        if (out->settings_json) memcpy(out->settings_json, json, strlen(json) + 1);
        return out->settings_json ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    }
    eb_status st = eb_ebm_objective_new(&a->method, m, seed, &out->ebm, err);
    if (st) return st;
    out->name = eb_ebm_method_name(&out->ebm->method);
    out->fn = out->ebm->fn;
    out->ctx = out->ebm->ctx;
    out->needs_labels = out->ebm->method.supervised;
    if (out->ebm->method.kind == EB_EBM_CD) {
        eb_replay_buffer *buffer = eb_cd_buffer(out->ctx);
        out->state_name = "objective.replay_buffer";
        out->state = buffer->x;
        out->state_rows = buffer->size;
        out->state_cols = buffer->dim;
    }
    if (out->ebm->method.kind == EB_EBM_VERA) out->state_name = "objective.vera_state";
    out->settings_json = eb_ebm_method_json(&out->ebm->method);
    if (!out->settings_json) {
        cli_objective_free(out);
        return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    }
    return EB_OK;
}

void cli_objective_free(cli_objective *o) {
    if (!o) return;
    eb_ebm_objective_free(o->ebm);
    free(o->settings_json);
    memset(o, 0, sizeof *o);
}

eb_status cli_objective_state_tensor(const cli_objective *o, eb_st_tensor *t, float **owned, bool *has,
                                     eb_error *err) {
    *owned = NULL;
    *has = o && o->state_name;
    if (!*has) return EB_OK;
    memset(t, 0, sizeof *t);
    t->name = o->state_name;
    t->dtype = EB_ST_F32;
    if (o->state) { /* a live array (the replay buffer) */
        t->ndim = 2;
        t->shape[0] = o->state_rows;
        t->shape[1] = o->state_cols;
        t->data = o->state;
        t->nbytes = (size_t)(o->state_rows * o->state_cols) * sizeof(float);
        return EB_OK;
    }
    int64_t n = eb_ebm_objective_state_size(o->ebm);
    if (!(*owned = malloc((size_t)(n > 0 ? n : 1) * sizeof(float))))
        return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_ebm_objective_state_get(o->ebm, *owned);
    t->ndim = 1;
    t->shape[0] = n;
    t->data = *owned;
    t->nbytes = (size_t)n * sizeof(float);
    return EB_OK;
}

eb_status cli_objective_state_restore(cli_objective *o, const eb_safetensors *file, const char *path,
                                      eb_error *err) {
    if (!o->state_name) return EB_OK;
    if (o->state)
        return eb_safetensors_get_f32(file, o->state_name, 2, EB_SHAPE(o->state_rows, o->state_cols),
                                      o->state, err);
    const eb_st_tensor *t = eb_safetensors_find(file, o->state_name);
    if (!t || t->ndim != 1)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: cannot resume: no 1-D tensor %s in the checkpoint", path,
                            o->state_name);
    float *buf = malloc((size_t)(t->shape[0] > 0 ? t->shape[0] : 1) * sizeof(float));
    if (!buf) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_status st = eb_safetensors_get_f32(file, o->state_name, 1, t->shape, buf, err);
    if (!st) st = eb_ebm_objective_state_set(o->ebm, buf, t->shape[0], err);
    if (st) eb_error_set(err, st, "%s: cannot resume: %s", path, err->message);
    free(buf);
    return st;
}
