/* The objective flags of `ebood train` from the registry (cli_objective.h). */
#include "cli/cli_objective.h"

#include <stdio.h>
#include <string.h>

/* " (paper X; code Y)" or " (X)" for the first reader, then "; NAME: V" for readers whose default differs. */
static void defaults_text(const eb_param_desc *d, char *buf, size_t size) {
    char first[64] = "", text[64], code[64];
    size_t used = (size_t)snprintf(buf, size, " (");
    for (int i = 0; i < eb_objective_count() && used < size; i++) {
        const eb_objective_method *m = eb_objective_at(i);
        const eb_param_desc *rows;
        int n = eb_objective_params(m, &rows), j = 0;
        while (j < n && strcmp(rows[j].flag, d->flag) != 0) j++;
        if (j == n) continue;
        eb_objective_param_default(m, &rows[j], false, text, sizeof text);
        eb_objective_param_default(m, &rows[j], true, code, sizeof code);
        bool code_differs = strcmp(text, code) != 0;
        if (!first[0]) {
            snprintf(first, sizeof first, "%s", text);
            used += (size_t)snprintf(buf + used, size - used, "%s", text);
        } else if (strcmp(text, first) != 0) {
            used += (size_t)snprintf(buf + used, size - used, "; %s: %s", eb_objective_name(m), text);
        } else if (!code_differs) {
            continue;
        }
        if (code_differs)
            used +=
                (size_t)snprintf(buf + used, size - used, "; %s code preset: %s", eb_objective_name(m), code);
    }
    if (used < size) snprintf(buf + used, size - used, ")");
}

void cli_objective_args_init(cli_objective_args *a) {
    memset(a, 0, sizeof *a);
    a->name = "ce";
    for (int i = 0; i < eb_objective_count(); i++) {
        const eb_param_desc *rows;
        int n = eb_objective_params(eb_objective_at(i), &rows);
        for (int j = 0; j < n; j++) {
            int k = 0;
            while (k < a->n_params && strcmp(a->rows[k]->flag, rows[j].flag) != 0) k++;
            if (k < a->n_params) continue;
            if (a->n_params == CLI_OBJECTIVE_MAX_FLAGS - 2) { /* loud: a dropped flag would be unparseable */
                fprintf(stderr, "ebood: internal: more than %d objective flags, --%s dropped\n",
                        CLI_OBJECTIVE_MAX_FLAGS - 2, rows[j].flag);
                continue;
            }
            a->rows[a->n_params++] = &rows[j];
            char readers[160], defaults[200];
            eb_objective_flag_readers(rows[j].flag, readers, sizeof readers);
            defaults_text(&rows[j], defaults, sizeof defaults);
            snprintf(a->help[k], sizeof a->help[k], "%s: %s%s", readers, rows[j].help, defaults);
        }
    }
}

int cli_objective_flags(cli_objective_args *a, cli_flag *out) {
    char names[256], presets[256] = "";
    eb_objective_names(names, sizeof names);
    snprintf(a->help[a->n_params], sizeof a->help[0], "%s (default ce)", names);
    for (int i = 0; i < eb_objective_count(); i++)
        if (eb_objective_has_code_preset(eb_objective_at(i)))
            snprintf(presets + strlen(presets), sizeof presets - strlen(presets), "%s%s",
                     presets[0] ? ", " : "", eb_objective_name(eb_objective_at(i)));
    snprintf(a->help[a->n_params + 1], sizeof a->help[0],
             "%s: the paper's values (default) or the released code's where they differ (docs/methods.md); "
             "other flags override either",
             presets);
    int n = 0;
    out[n++] =
        (cli_flag){"objective", 0, CLI_FLAG_STRING, &a->name, 0, 0, "NAME", a->help[a->n_params], false};
    out[n++] = (cli_flag){
        "ebm-preset", 0, CLI_FLAG_STRING, &a->preset, 0, 0, "paper|code", a->help[a->n_params + 1], false};
    for (int k = 0; k < a->n_params; k++)
        out[n++] = (cli_flag){a->rows[k]->flag, 0,    CLI_FLAG_STRING, &a->text[k], 0, 0, a->rows[k]->metavar,
                              a->help[k],       false};
    return n;
}

int cli_objective_check(const char *command, cli_objective_args *a, const cli_flag *flags, int n_flags) {
    eb_objective_value given[CLI_OBJECTIVE_MAX_FLAGS];
    int n_given = 0;
    for (int k = 0; k < a->n_params; k++)
        if (cli_flag_seen(flags, n_flags, a->rows[k]->flag))
            given[n_given++] = (eb_objective_value){a->rows[k]->flag, a->text[k]};
    eb_error err = {0};
    if (eb_objective_spec_build(a->name, a->preset, given, n_given, &a->spec, &err)) {
        fprintf(stderr, "ebood %s: %s\n", command, err.message);
        return CLI_USAGE;
    }
    return CLI_OK;
}
