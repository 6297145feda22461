/* `--resume DIR` of the bench suites: the spec a results directory records (the command's flags) and the
 * line a run stopped by --max-units prints. */
#include "cli/cli_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Flags that do not change a suite's numbers: where and how results are shown, and --seeds (a seed's units
 * do not depend on how many seeds run, so a directory can grow from 3 to 5 seeds). */
static const char *const not_spec[] = {"seeds", "json", "output", "report", "resume", "max-units"};

char *cli_resume_spec(const cli_flag *flags, int n) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < n && o; i++) {
        const cli_flag *f = &flags[i];
        bool skip = false;
        for (size_t k = 0; k < sizeof not_spec / sizeof not_spec[0]; k++)
            skip |= strcmp(f->name, not_spec[k]) == 0;
        if (skip) continue;
        switch (f->type) {
        case CLI_FLAG_BOOL: cJSON_AddBoolToObject(o, f->name, *(const bool *)f->dest); break;
        case CLI_FLAG_INT: cJSON_AddNumberToObject(o, f->name, (double)*(const int64_t *)f->dest); break;
        case CLI_FLAG_FLOAT: cJSON_AddNumberToObject(o, f->name, *(const double *)f->dest); break;
        case CLI_FLAG_STRING: {
            const char *v = *(const char *const *)f->dest;
            if (v)
                cJSON_AddStringToObject(o, f->name, v);
            else
                cJSON_AddNullToObject(o, f->name);
            break;
        }
        case CLI_FLAG_MULTI: {
            const cli_list *l = f->dest;
            cJSON *a = cJSON_AddArrayToObject(o, f->name);
            for (int k = 0; k < l->count; k++) cJSON_AddItemToArray(a, cJSON_CreateString(l->items[k]));
            break;
        }
        }
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

eb_bench_resume cli_resume_params(const char *dir, int64_t max_units, const cli_flag *flags, int n, bool json,
                                  bool *stopped, char **spec) {
    eb_bench_resume r = {0};
    *spec = NULL;
    *stopped = false;
    if (!dir) return r;
    *spec = cli_resume_spec(flags, n);
    r.dir = dir;
    r.spec = *spec;
    r.max_units = max_units;
    r.progress = !json;
    r.stopped = stopped;
    return r;
}

int cli_resume_stopped(const char *cmd, const eb_bench_resume *r) {
    fprintf(stderr,
            "ebood %s: stopped after %lld new units (--max-units): rerun with --resume %s to continue\n", cmd,
            (long long)r->max_units, r->dir);
    return CLI_FAIL;
}

bool cli_resume_check(const char *cmd, const char *dir, const cli_flag *flags, int n) {
    if (dir || !cli_flag_seen(flags, n, "max-units")) return true;
    fprintf(stderr, "ebood %s: --max-units needs --resume DIR (where the finished units are kept)\n", cmd);
    return false;
}
