/* The strict flag parser: unknown flags, missing or malformed values and out-of-range numbers are
 * errors (DESIGN.md §3.13), reported as one line naming the flag. */
#include "cli/cli_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_print_help(const char *command, const char *usage, const cli_flag *flags, int n) {
    printf("usage: ebood %s %s\n\noptions:\n", command, usage);
    for (int i = 0; i < n; i++) {
        char left[64];
        char short_part[8] = "";
        if (flags[i].short_name) snprintf(short_part, sizeof short_part, "-%c, ", flags[i].short_name);
        snprintf(left, sizeof left, "%s--%s%s%s", short_part, flags[i].name, flags[i].metavar ? " " : "",
                 flags[i].metavar ? flags[i].metavar : "");
        printf("  %-28s %s\n", left, flags[i].help);
    }
    printf("  %-28s %s\n", "--help", "show this help");
}

bool cli_flag_seen(const cli_flag *flags, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(flags[i].name, name) == 0) return flags[i].seen;
    return false;
}

static int bad_value(const char *command, const cli_flag *f, const char *value, const char *why) {
    fprintf(stderr, "ebood %s: --%s: %s '%s'\n", command, f->name, why, value);
    return CLI_USAGE;
}

static int set_value(const char *command, cli_flag *f, const char *value) {
    char *end;
    errno = 0;
    switch (f->type) {
    case CLI_FLAG_INT: {
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end) return bad_value(command, f, value, "expected an integer, got");
        if ((double)v < f->min || (double)v > f->max) {
            fprintf(stderr, "ebood %s: --%s: %lld is out of range [%.17g, %.17g]\n", command, f->name, v,
                    f->min, f->max);
            return CLI_USAGE;
        }
        *(int64_t *)f->dest = v;
        return CLI_OK;
    }
    case CLI_FLAG_FLOAT: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return bad_value(command, f, value, "expected a finite number, got");
        if (v < f->min || v > f->max) {
            fprintf(stderr, "ebood %s: --%s: %g is out of range [%g, %g]\n", command, f->name, v, f->min,
                    f->max);
            return CLI_USAGE;
        }
        *(double *)f->dest = v;
        return CLI_OK;
    }
    case CLI_FLAG_STRING:
        if (!*value) return bad_value(command, f, value, "expected a non-empty value, got");
        *(const char **)f->dest = value;
        return CLI_OK;
    case CLI_FLAG_MULTI: {
        cli_list *list = f->dest;
        if (list->count == (int)(sizeof list->items / sizeof list->items[0]))
            return bad_value(command, f, value, "given too many times at");
        list->items[list->count++] = value;
        return CLI_OK;
    }
    case CLI_FLAG_BOOL: break;
    }
    return CLI_USAGE;
}

int cli_parse(const char *command, const char *usage, int argc, char **argv, int first, cli_flag *flags,
              int n, const char **positional, int max_positional, int *n_positional) {
    *n_positional = 0;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        cli_flag *short_flag = NULL;
        if (arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[2])
            for (int k = 0; k < n && !short_flag; k++)
                if (flags[k].short_name == arg[1]) short_flag = &flags[k];
        if (arg[0] == '-' && arg[1] && arg[1] != '-' && !short_flag && !(arg[1] >= '0' && arg[1] <= '9')) {
            fprintf(stderr, "ebood %s: unknown flag '%s' (see ebood %s --help)\n", command, arg, command);
            return CLI_USAGE;
        }
        if (short_flag) {
            if (short_flag->seen) {
                fprintf(stderr, "ebood %s: --%s given twice\n", command, short_flag->name);
                return CLI_USAGE;
            }
            short_flag->seen = true;
            if (short_flag->type == CLI_FLAG_BOOL) {
                *(bool *)short_flag->dest = true;
                continue;
            }
            if (i + 1 >= argc) {
                fprintf(stderr, "ebood %s: -%c needs a value\n", command, short_flag->short_name);
                return CLI_USAGE;
            }
            int rc = set_value(command, short_flag, argv[++i]);
            if (rc) return rc;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
            if (*n_positional >= max_positional) {
                fprintf(stderr, "ebood %s: unexpected argument '%s' (see ebood %s --help)\n", command, arg,
                        command);
                return CLI_USAGE;
            }
            positional[(*n_positional)++] = arg;
            continue;
        }
        if (strcmp(arg, "--help") == 0) {
            cli_print_help(command, usage, flags, n);
            return -1;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        cli_flag *f = NULL;
        for (int k = 0; k < n && !f; k++)
            if (strlen(flags[k].name) == len && strncmp(flags[k].name, name, len) == 0) f = &flags[k];
        if (!f) {
            fprintf(stderr, "ebood %s: unknown flag '--%.*s' (see ebood %s --help)\n", command, (int)len,
                    name, command);
            return CLI_USAGE;
        }
        if (f->seen && f->type != CLI_FLAG_MULTI) {
            fprintf(stderr, "ebood %s: --%s given twice\n", command, f->name);
            return CLI_USAGE;
        }
        f->seen = true;
        if (f->type == CLI_FLAG_BOOL) {
            if (eq) {
                fprintf(stderr, "ebood %s: --%s takes no value\n", command, f->name);
                return CLI_USAGE;
            }
            *(bool *)f->dest = true;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            fprintf(stderr, "ebood %s: --%s needs a value (%s)\n", command, f->name,
                    f->metavar ? f->metavar : "");
            return CLI_USAGE;
        }
        int rc = set_value(command, f, value);
        if (rc) return rc;
    }
    return CLI_OK;
}

int cli_fail(const char *command, const eb_error *err) {
    fprintf(stderr, "ebood %s: %s\n", command, err->message[0] ? err->message : eb_status_str(err->status));
    return err->status == EB_ERR_ARG ? CLI_USAGE : CLI_FAIL;
}

bool cli_parse_int_list(const char *command, const char *flag, const char *s, int64_t min, int64_t max,
                        int64_t *out, int max_items, int *n_out) {
    *n_out = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || v < min || v > max || *n_out >= max_items) {
            fprintf(stderr,
                    "ebood %s: --%s: expected up to %d comma-separated integers in [%lld, %lld], got '%s'\n",
                    command, flag, max_items, (long long)min, (long long)max, s);
            return false;
        }
        out[(*n_out)++] = v;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) {
            fprintf(stderr, "ebood %s: --%s: trailing comma in '%s'\n", command, flag, s);
            return false;
        }
    }
    return true;
}
