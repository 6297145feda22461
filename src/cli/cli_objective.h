/* Training objectives of `ebood train` by name: the --objective flag and each objective's flags, mapped
 * to an eb_objective_fn with its context, the model's output count, and the settings recorded in the
 * checkpoint. Adding an objective = one row in cli_objective.c's table (its flags, a builder). */
#ifndef EBOOD_CLI_OBJECTIVE_H
#define EBOOD_CLI_OBJECTIVE_H

#include "cli/cli_impl.h"

/* Every objective flag's value; defaults set by cli_objective_args_init. */
typedef struct cli_objective_args {
    const char *name; /* --objective: "ce" (default) or "cd" */
    /* cd (ebm.h's eb_cd_config; defaults from eb_cd_default_config / the supervised one) */
    int64_t sgld_steps, buffer_size, n_negatives;
    double sgld_step_size, sgld_noise, restart_prob, l2, ce_weight;
    const char *sampling;   /* "marginal" | "class"; NULL = class when --ce-weight > 0, else marginal */
    const char *cond_steps; /* class-conditional SGLD steps: "paper" (= sgld_steps), "code" (20), or N */
} cli_objective_args;

/* The objective flags (CLI_OBJECTIVE_N_FLAGS entries) pointing into *a, to append to a command's table. */
enum { CLI_OBJECTIVE_N_FLAGS = 11 };
void cli_objective_args_init(cli_objective_args *a);
int cli_objective_flags(cli_objective_args *a, cli_flag *out);

/* A built objective. */
typedef struct cli_objective {
    const char *name;
    eb_objective_fn fn;
    void *ctx;
    char *settings_json; /* {"objective": name, ...}: the checkpoint's "ebood.objective_config" */
    bool needs_labels;   /* the objective reads the batch's labels */
    /* State carried across training steps, checkpointed beside the model as the F32 tensor
     * state_name[state_rows, state_cols] so that --resume continues it (cd: the replay buffer).
     * state_name NULL = stateless. */
    const char *state_name;
    float *state;
    int64_t state_rows, state_cols;
    void (*free_ctx)(void *ctx);
} cli_objective;

/* After parsing: checks the name and that every objective flag given is read by that objective (an unread
 * flag is an error, DESIGN.md §3.13). Prints one line and returns CLI_USAGE on a problem, CLI_OK else. */
int cli_objective_check(const char *command, const cli_objective_args *a, const cli_flag *flags, int n_flags);
/* The model's output count the objective trains: the classes for ce and supervised cd, 1 for unsupervised
 * cd (a scalar energy, as the EBM paper's code). */
int64_t cli_objective_out_dim(const cli_objective_args *a, int64_t n_classes);
/* Builds the objective for model m (checked args). seed: the replay buffer's initialisation. */
eb_status cli_objective_new(const cli_objective_args *a, const eb_model *m, uint64_t seed, cli_objective *out,
                            eb_error *err);
void cli_objective_free(cli_objective *o);

#endif
