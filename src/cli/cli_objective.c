/* `ebood train --objective NAME`: the objective table. Each objective lists the flags it reads; a flag
 * given for an objective that does not read it is an error (DESIGN.md §3.13), never silently ignored.
 *   ce  cross-entropy classifier (eb_objective_cross_entropy)
 *   cd  contrastive divergence with SGLD negatives from a replay buffer (eb_objective_cd; ebm.h),
 *       unsupervised (a scalar energy) or, with --ce-weight γ > 0, supervised JEM-style (a classifier). */
#include "cli/cli_objective.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Flag names, in cli_objective_flags' order. */
static const char *const cd_flags[] = {
    "sgld-steps", "sgld-step-size", "sgld-noise",  "buffer-size", "restart-prob",
    "l2",         "ce-weight",      "n-negatives", "sampling",    "cond-sgld-steps"};
enum { N_CD_FLAGS = (int)(sizeof cd_flags / sizeof cd_flags[0]) };
_Static_assert(N_CD_FLAGS + 1 == CLI_OBJECTIVE_N_FLAGS, "one --objective flag plus the cd flags");

void cli_objective_args_init(cli_objective_args *a) {
    eb_cd_config c = eb_cd_default_config();
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
}

int cli_objective_flags(cli_objective_args *a, cli_flag *out) {
    const cli_flag f[CLI_OBJECTIVE_N_FLAGS] = {
        {"objective", 0, CLI_FLAG_STRING, &a->name, 0, 0, "NAME",
         "ce (cross-entropy classifier, default) or cd (EBM by contrastive divergence)", false},
        {"sgld-steps", 0, CLI_FLAG_INT, &a->sgld_steps, 0, 1e6, "K", "cd: SGLD steps per training step (100)",
         false},
        {"sgld-step-size", 0, CLI_FLAG_FLOAT, &a->sgld_step_size, 0, 1e30, "ETA",
         "cd: SGLD step size on grad f (1)", false},
        {"sgld-noise", 0, CLI_FLAG_FLOAT, &a->sgld_noise, 0, 1e6, "SIGMA",
         "cd: SGLD noise std, independent of the step size (0.01)", false},
        {"buffer-size", 0, CLI_FLAG_INT, &a->buffer_size, 1, 1e8, "N",
         "cd: replay-buffer chains, trimmed to a multiple of the classes (9000)", false},
        {"restart-prob", 0, CLI_FLAG_FLOAT, &a->restart_prob, 0, 1, "P",
         "cd: probability that a drawn chain restarts from U(-1, 1) (0.05)", false},
        {"l2", 0, CLI_FLAG_FLOAT, &a->l2, 0, 1e6, "W", "cd: weight of mean f(x+)^2 + mean f(x-)^2 (1)",
         false},
        {"ce-weight", 0, CLI_FLAG_FLOAT, &a->ce_weight, 0, 1e6, "G",
         "cd: weight of the cross-entropy term; 0 = unsupervised scalar EBM, > 0 = supervised (JEM) (0)",
         false},
        {"n-negatives", 0, CLI_FLAG_INT, &a->n_negatives, 0, 1e7, "N",
         "cd: SGLD chains per step; 0 = the batch size (0)", false},
        {"sampling", 0, CLI_FLAG_STRING, &a->sampling, 0, 0, "MODE",
         "cd: marginal (SGLD on logsumexp) or class (on the logit of y ~ U{classes}); default class when "
         "--ce-weight > 0",
         false},
        {"cond-sgld-steps", 0, CLI_FLAG_STRING, &a->cond_steps, 0, 0, "paper|code|K",
         "cd, class sampling: paper = --sgld-steps (default), code = 20 (the released code), or K", false},
    };
    memcpy(out, f, sizeof f);
    return CLI_OBJECTIVE_N_FLAGS;
}

static bool is_class_sampling(const cli_objective_args *a) {
    return a->sampling ? strcmp(a->sampling, "class") == 0 : a->ce_weight > 0.0;
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

int cli_objective_check(const char *command, const cli_objective_args *a, const cli_flag *flags,
                        int n_flags) {
    bool cd = strcmp(a->name, "cd") == 0;
    if (!cd && strcmp(a->name, "ce") != 0) {
        fprintf(stderr, "ebood %s: --objective: unknown objective '%s' (ce, cd)\n", command, a->name);
        return CLI_USAGE;
    }
    for (int i = 0; i < N_CD_FLAGS; i++)
        if (!cd && cli_flag_seen(flags, n_flags, cd_flags[i])) {
            fprintf(stderr, "ebood %s: --%s is read only by --objective cd (this run trains %s)\n", command,
                    cd_flags[i], a->name);
            return CLI_USAGE;
        }
    if (!cd) return CLI_OK;
    if (a->sampling && strcmp(a->sampling, "class") != 0 && strcmp(a->sampling, "marginal") != 0) {
        fprintf(stderr, "ebood %s: --sampling: expected marginal or class, got '%s'\n", command, a->sampling);
        return CLI_USAGE;
    }
    if (is_class_sampling(a) && !(a->ce_weight > 0.0)) {
        fprintf(
            stderr,
            "ebood %s: --sampling class needs a classifier: give --ce-weight > 0 (unsupervised cd trains a "
            "scalar energy)\n",
            command);
        return CLI_USAGE;
    }
    int64_t k;
    if (!parse_cond_steps(a->cond_steps, &k)) {
        fprintf(stderr,
                "ebood %s: --cond-sgld-steps: expected paper, code or an integer in [0, 1000000], got '%s'\n",
                command, a->cond_steps);
        return CLI_USAGE;
    }
    if (cli_flag_seen(flags, n_flags, "cond-sgld-steps") && !is_class_sampling(a)) {
        fprintf(
            stderr,
            "ebood %s: --cond-sgld-steps is read only with class-conditional sampling (--ce-weight > 0)\n",
            command);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int64_t cli_objective_out_dim(const cli_objective_args *a, int64_t n_classes) {
    return strcmp(a->name, "cd") == 0 && !(a->ce_weight > 0.0) ? 1 : n_classes;
}

static void free_cd(void *ctx) { eb_cd_free(ctx); }

eb_status cli_objective_new(const cli_objective_args *a, const eb_model *m, uint64_t seed, cli_objective *out,
                            eb_error *err) {
    memset(out, 0, sizeof *out);
    out->name = a->name;
    if (strcmp(a->name, "ce") == 0) {
        out->fn = eb_objective_cross_entropy;
        out->needs_labels = true;
        const char *json = "{\"objective\":\"ce\"}";
        out->settings_json = malloc(strlen(json) + 1);
        if (out->settings_json) memcpy(out->settings_json, json, strlen(json) + 1);
        return out->settings_json ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    }
    eb_cd_config c = eb_cd_default_config();
    c.sgld.steps = a->sgld_steps;
    c.sgld.step_size = (eb_decay){a->sgld_step_size, a->sgld_step_size, EB_DECAY_CONSTANT};
    c.sgld.noise = (eb_decay){a->sgld_noise, a->sgld_noise, EB_DECAY_CONSTANT};
    c.buffer_size = a->buffer_size;
    c.restart_prob = a->restart_prob;
    c.l2 = a->l2;
    c.ce_weight = a->ce_weight;
    c.n_negatives = a->n_negatives;
    c.class_conditional = is_class_sampling(a);
    c.seed = seed;
    if (!parse_cond_steps(a->cond_steps, &c.cond_steps))
        return eb_error_set(err, EB_ERR_ARG, "--cond-sgld-steps: bad value '%s'", a->cond_steps);
    eb_cd *cd = NULL;
    eb_status st = eb_cd_new(&c, eb_model_in_dim(m), eb_model_out_dim(m), &cd, err);
    if (st) return st;
    out->fn = eb_objective_cd;
    out->ctx = cd;
    out->free_ctx = free_cd;
    out->needs_labels = c.ce_weight > 0.0;
    eb_replay_buffer *buffer = eb_cd_buffer(cd);
    out->state_name = "objective.replay_buffer";
    out->state = buffer->x;
    out->state_rows = buffer->size;
    out->state_cols = buffer->dim;
    out->settings_json = eb_cd_config_json(&c);
    if (!out->settings_json) {
        cli_objective_free(out);
        return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    }
    return EB_OK;
}

void cli_objective_free(cli_objective *o) {
    if (!o) return;
    if (o->free_ctx) o->free_ctx(o->ctx);
    free(o->settings_json);
    memset(o, 0, sizeof *o);
}
