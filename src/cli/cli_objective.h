/* `ebood train --objective NAME` and each objective's flags, generated from the library's objective
 * registry (include/ebood/objective.h): one flag per distinct parameter row across the objectives (its help
 * lists the objectives that read it and their paper/code defaults), --ebm-preset, and the check that
 * assembles an eb_objective_spec (ranges, "does not apply" errors and the method's checks come from the
 * library). Nothing here names a method. */
#ifndef EBOOD_CLI_OBJECTIVE_H
#define EBOOD_CLI_OBJECTIVE_H

#include "cli/cli_impl.h"

#define CLI_OBJECTIVE_MAX_FLAGS 80 /* --objective, --ebm-preset and the distinct parameter flags */

typedef struct cli_objective_args {
    const char *name;   /* --objective (default ce) */
    const char *preset; /* --ebm-preset (NULL: not given = the paper's) */
    int n_params;       /* distinct parameter flags */
    const eb_param_desc *rows[CLI_OBJECTIVE_MAX_FLAGS];
    const char *text[CLI_OBJECTIVE_MAX_FLAGS]; /* the values given */
    char help[CLI_OBJECTIVE_MAX_FLAGS][512];
    eb_objective_spec spec; /* filled by cli_objective_check */
} cli_objective_args;

/* Collects the flags from the registry. */
void cli_objective_args_init(cli_objective_args *a);
/* Writes the flag rows (at most CLI_OBJECTIVE_MAX_FLAGS) to out; returns their count. */
int cli_objective_flags(cli_objective_args *a, cli_flag *out);
/* After parsing: a->spec from --objective, --ebm-preset and the given flags (eb_objective_spec_build);
 * prints one line and returns CLI_USAGE on an error. */
int cli_objective_check(const char *command, cli_objective_args *a, const cli_flag *flags, int n_flags);

#endif
