/* Data and output helpers shared by the subcommands. */
#include "cli/cli_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_data_dir(char *buf, size_t size) {
    const char *env = getenv("EBOOD_DATA");
    if (env && *env)
        snprintf(buf, size, "%s", env);
    else
        snprintf(buf, size, "%s/.cache/ebood", getenv("HOME") ? getenv("HOME") : ".");
    return buf;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

eb_status cli_load_tabular(const char *spec, uint64_t split_seed, bool as_test, eb_tabular_split *out,
                           bool *is_builtin, eb_error *err) {
    memset(out, 0, sizeof *out);
    *is_builtin = false;
    if (strcmp(spec, "segment") == 0) {
        char dir[4096], seg[4200];
        snprintf(seg, sizeof seg, "%s/segment", cli_data_dir(dir, sizeof dir));
        eb_segment_params p = eb_segment_default_params();
        p.seed = split_seed;
        *is_builtin = true;
        eb_status st = eb_segment_load(seg, &p, out, err);
        if (st == EB_ERR_IO)
            eb_error_set(err, st, "%s (fetch it with: bash scripts/fetch-data.sh, or set EBOOD_DATA)",
                         err->message);
        return st;
    }
    eb_dataset *d = as_test ? &out->test : &out->train;
    eb_status st;
    if (ends_with(spec, ".arff")) {
        eb_arff arff;
        if ((st = eb_arff_read(spec, &arff, err))) return st;
        st = eb_arff_to_dataset(&arff, NULL, d, err);
        eb_arff_free(&arff);
    } else if (ends_with(spec, ".csv")) {
        st = eb_csv_read_dataset(spec, -1, d, err);
    } else {
        return eb_error_set(err, EB_ERR_ARG,
                            "--data: '%s' is neither a built-in dataset (segment) nor an .arff/.csv file",
                            spec);
    }
    if (!st && !d->y) st = eb_error_set(err, EB_ERR_FORMAT, "%s: no label column", spec);
    if (!st) st = eb_dataset_check_finite(d, spec, err);
    if (!st) out->dim = d->dim;
    if (st) eb_dataset_free(d);
    return st;
}

eb_status cli_write_text(const char *path, const char *text, eb_error *err) {
    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (st) return st;
    if (fputs(text, af.fp) < 0 || fputc('\n', af.fp) < 0) {
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    }
    return eb_atomic_commit(&af, err);
}
