/* ROC and precision–recall vertices for figures (report_impl.h): both score arrays sorted descending, one
 * merged sweep over the distinct thresholds, ties entering together (as ebood/eval.h's metrics do). */
#include "eval/report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int descending(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

static eb_status sorted_copy(const float *s, int64_t n, const char *what, float **out, eb_error *err) {
    *out = NULL;
    if (!s || n < 1) return eb_error_set(err, EB_ERR_ARG, "roc curve: %s is empty", what);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(s[i]))
            return eb_error_set(err, EB_ERR_NUMERIC, "roc curve: %s[%lld] is %g", what, (long long)i,
                                (double)s[i]);
    *out = malloc((size_t)n * sizeof **out);
    if (!*out) return eb_error_set(err, EB_ERR_NOMEM, "roc curve: out of memory");
    for (int64_t i = 0; i < n; i++) (*out)[i] = s[i];
    qsort(*out, (size_t)n, sizeof **out, descending);
    return EB_OK;
}

eb_status eb__roc_curve(const float *s_id, int64_t n_id, const float *s_ood, int64_t n_ood, double **fpr,
                        double **tpr, double **precision, int64_t *n, eb_error *err) {
    *fpr = *tpr = *precision = NULL;
    *n = 0;
    float *a = NULL, *b = NULL;
    eb_status st = sorted_copy(s_id, n_id, "ID scores", &a, err);
    if (!st) st = sorted_copy(s_ood, n_ood, "OOD scores", &b, err);
    size_t cap = (size_t)(n_id + n_ood + 1);
    if (!st) {
        *fpr = malloc(cap * sizeof(double));
        *tpr = malloc(cap * sizeof(double));
        *precision = malloc(cap * sizeof(double));
        if (!*fpr || !*tpr || !*precision) st = eb_error_set(err, EB_ERR_NOMEM, "roc curve: out of memory");
    }
    if (!st) {
        int64_t i = 0, j = 0, k = 0;
        (*fpr)[0] = 0, (*tpr)[0] = 0, (*precision)[0] = 1;
        while (i < n_id || j < n_ood) {
            float t = i < n_id && (j >= n_ood || a[i] >= b[j]) ? a[i] : b[j];
            while (i < n_id && a[i] == t) i++;
            while (j < n_ood && b[j] == t) j++;
            k++;
            (*fpr)[k] = (double)j / (double)n_ood;
            (*tpr)[k] = (double)i / (double)n_id;
            (*precision)[k] = (double)i / (double)(i + j);
        }
        *n = k + 1;
    }
    free(a);
    free(b);
    if (st) {
        free(*fpr), free(*tpr), free(*precision);
        *fpr = *tpr = *precision = NULL;
    }
    return st;
}

double eb__threshold_95(const float *s, int64_t n) {
    float *c = malloc((size_t)n * sizeof *c);
    if (!c) return NAN;
    memcpy(c, s, (size_t)n * sizeof *c);
    int64_t k =
        (int64_t)ceil(0.95 * (double)n); /* the smallest k with k/n ≥ 0.95, compared as metrics.c does */
    while (k > 1 && (double)(k - 1) / (double)n >= 0.95) k--;
    while ((double)k / (double)n < 0.95) k++;
    qsort(c, (size_t)n, sizeof *c, descending);
    double t = (double)c[k - 1];
    free(c);
    return t;
}
