/* eb_dataset: allocation, freeing, row subsets, finiteness check. */
#include <ebood/data.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void free_names(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void eb_dataset_free(eb_dataset *d) {
    if (!d) return;
    eb_free(NULL, d->x);
    eb_free(NULL, d->y);
    free_names(d->class_names, d->num_classes);
    memset(d, 0, sizeof *d);
}

eb_status eb_dataset_alloc(int64_t n, int64_t dim, int num_classes, bool labelled, eb_dataset *out,
                           eb_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 0 || dim < 1 || num_classes < 0 || (labelled && num_classes < 1))
        return eb_error_set(err, EB_ERR_ARG,
                            "eb_dataset_alloc: invalid sizes (n=%lld, dim=%lld, num_classes=%d, labelled=%d)",
                            (long long)n, (long long)dim, num_classes, (int)labelled);
    if ((uint64_t)n > SIZE_MAX / sizeof(float) / (uint64_t)dim)
        return eb_error_set(err, EB_ERR_NOMEM, "eb_dataset_alloc: %lld x %lld floats do not fit in memory",
                            (long long)n, (long long)dim);
    out->x = eb_alloc(NULL, (size_t)n * (size_t)dim * sizeof(float));
    out->y = labelled ? eb_alloc(NULL, (size_t)n * sizeof(int32_t)) : NULL;
    if (!out->x || (labelled && !out->y)) {
        eb_free(NULL, out->x);
        eb_free(NULL, out->y);
        memset(out, 0, sizeof *out);
        return eb_error_set(err, EB_ERR_NOMEM, "eb_dataset_alloc: out of memory (%lld x %lld)", (long long)n,
                            (long long)dim);
    }
    out->n = n;
    out->dim = dim;
    out->num_classes = num_classes;
    return EB_OK;
}

eb_status eb_dataset_set_class_names(eb_dataset *d, const char *const *names, eb_error *err) {
    char **copy = NULL;
    if (names && d->num_classes > 0) {
        copy = calloc((size_t)d->num_classes, sizeof *copy);
        if (!copy) return eb_error_set(err, EB_ERR_NOMEM, "eb_dataset_set_class_names: out of memory");
        for (int i = 0; i < d->num_classes; i++) {
            const char *s = names[i] ? names[i] : "";
            size_t len = strlen(s);
            copy[i] = malloc(len + 1);
            if (!copy[i]) {
                free_names(copy, i);
                return eb_error_set(err, EB_ERR_NOMEM, "eb_dataset_set_class_names: out of memory");
            }
            memcpy(copy[i], s, len + 1);
        }
    }
    free_names(d->class_names, d->num_classes);
    d->class_names = copy;
    return EB_OK;
}

eb_status eb_dataset_subset(const eb_dataset *src, const int64_t *rows, int64_t n, eb_dataset *out,
                            eb_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 0)
        return eb_error_set(err, EB_ERR_ARG, "eb_dataset_subset: negative row count %lld", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= src->n)
            return eb_error_set(err, EB_ERR_ARG, "eb_dataset_subset: row index %lld outside [0, %lld)",
                                (long long)rows[i], (long long)src->n);
    eb_status st = eb_dataset_alloc(n, src->dim, src->num_classes, src->y != NULL, out, err);
    if (st != EB_OK) return st;
    size_t row_bytes = (size_t)src->dim * sizeof(float);
    for (int64_t i = 0; i < n; i++) {
        memcpy(out->x + i * src->dim, src->x + rows[i] * src->dim, row_bytes);
        if (src->y) out->y[i] = src->y[rows[i]];
    }
    st = eb_dataset_set_class_names(out, (const char *const *)src->class_names, err);
    if (st != EB_OK) eb_dataset_free(out);
    return st;
}

eb_status eb_dataset_check_finite(const eb_dataset *d, const char *what, eb_error *err) {
    for (int64_t i = 0; i < d->n; i++)
        for (int64_t j = 0; j < d->dim; j++) {
            float v = d->x[i * d->dim + j];
            if (!isfinite(v))
                return eb_error_set(err, EB_ERR_NUMERIC, "%s: row %lld, column %lld: non-finite value %g",
                                    what ? what : "dataset", (long long)(i + 1), (long long)(j + 1),
                                    (double)v);
        }
    return EB_OK;
}
