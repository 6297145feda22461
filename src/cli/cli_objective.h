/* Training objectives of `ebood train` by name: the --objective flag and each objective's flags, mapped
 * to an eb_objective_fn with its context, the model's output count, and the settings recorded in the
 * checkpoint. "ce" is the plain classifier; every other name is an EBM method of ebm.h's registry
 * (eb_ebm_method_parse: cd, cd-s, ssm, ssm-s, vera, vera-s, flow). Adding a flag = one row in
 * cli_objective.c's table (its name, the method kinds that read it) and one line applying it. */
#ifndef EBOOD_CLI_OBJECTIVE_H
#define EBOOD_CLI_OBJECTIVE_H

#include "cli/cli_impl.h"

#include <ebood/ebm.h>

/* Every objective flag's value; defaults set by cli_objective_args_init (a flag not given leaves the
 * method's default, eb_ebm_method_parse, untouched). */
typedef struct cli_objective_args {
    const char *name; /* --objective: "ce" (default) or an EBM method name */
    /* cd (ebm.h's eb_cd_config) */
    int64_t sgld_steps, buffer_size, n_negatives;
    double sgld_step_size, sgld_noise, restart_prob, l2;
    const char *sampling;   /* "marginal" | "class"; default class when supervised, else marginal */
    const char *cond_steps; /* class-conditional SGLD steps: "paper" (= sgld_steps), "code" (20), or N */
    double ce_weight;       /* cd, ssm, vera: γ of the CE term; > 0 selects the supervised variant */
    double ssm_h;           /* ssm: relative finite-difference step */
    const char *vera_penalty;
    double entropy_weight, pg_weight; /* vera: λ, γ_pg */
    int64_t flow_layers;              /* flow: radial layers */
    const char *preset;               /* --ebm-preset: "paper" (default) or "code" (eb_ebm_method_use_code) */
    /* set by cli_objective_check */
    bool ebm;             /* an EBM method (not ce) */
    eb_ebm_method method; /* when ebm: the method with the flags applied */
} cli_objective_args;

/* The objective flags (CLI_OBJECTIVE_N_FLAGS entries) pointing into *a, to append to a command's table. */
enum { CLI_OBJECTIVE_N_FLAGS = 17 };
void cli_objective_args_init(cli_objective_args *a);
int cli_objective_flags(cli_objective_args *a, cli_flag *out);

/* A built objective. */
typedef struct cli_objective {
    const char *name; /* "ce" or the method's name (eb_ebm_method_name: "cd-s" for cd with --ce-weight > 0) */
    eb_objective_fn fn;
    void *ctx;
    char *settings_json; /* {"objective": name, ...}: the checkpoint's "ebood.objective_config" */
    bool needs_labels;   /* the objective reads the batch's labels */
    /* State carried across training steps, checkpointed beside the model as the F32 tensor state_name so
     * that --resume continues it exactly: cd "objective.replay_buffer" [state_rows, state_cols] (state = the
     * live buffer); vera "objective.vera_state" [n] (eb_ebm_objective_state_get: the generator, σ_post,
     * their optimizers, the pending samples; state NULL). state_name NULL = stateless. */
    const char *state_name;
    float *state;
    int64_t state_rows, state_cols;
    eb_ebm_objective *ebm; /* the registry's objective (NULL for ce) */
} cli_objective;

/* After parsing: checks the name, that every objective flag given is read by that objective (an unread
 * flag is an error, DESIGN.md §3.13), and the resulting method's config; fills a->ebm and a->method.
 * Prints one line and returns CLI_USAGE on a problem, CLI_OK else. */
int cli_objective_check(const char *command, cli_objective_args *a, const cli_flag *flags, int n_flags);
/* The model's output count the objective trains: the classes for ce and the supervised EBMs, 1 for the
 * unsupervised ones (a scalar energy, as the EBM paper's code) and for flow (log p(x)). */
int64_t cli_objective_out_dim(const cli_objective_args *a, int64_t n_classes);
/* Builds the objective for model m (checked args). seed: the objective's own initialisation (replay
 * buffer, VERA's generator). */
eb_status cli_objective_new(const cli_objective_args *a, const eb_model *m, uint64_t seed, cli_objective *out,
                            eb_error *err);
void cli_objective_free(cli_objective *o);
/* The state tensor to write beside the model (*has = false if stateless); a packed state is copied into
 * *owned (malloc'd; free it after saving). */
eb_status cli_objective_state_tensor(const cli_objective *o, eb_st_tensor *t, float **owned, bool *has,
                                     eb_error *err);
/* Restores the state from checkpoint `file` (path: for messages). */
eb_status cli_objective_state_restore(cli_objective *o, const eb_safetensors *file, const char *path,
                                      eb_error *err);

#endif
