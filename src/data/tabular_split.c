/* A labelled table → the Segment protocol's split (shared/specs/protocols.md "segment";
 * seed-code-specs.md §4) for any CSV/ARFF: constant columns dropped, one class held out as OOD, the ID
 * rows split train/val/test with a seeded permutation and int() lengths as the EBM paper's code does
 * (002_39b8670b82235277.txt, Appendix: UCI datasets), and z-scored with the train split's statistics:
 *   x'_ij = (x_ij − μ_j) / σ_j,  μ_j = (1/n_train) Σ_i x_ij,  σ_j = sqrt((1/n_train) Σ_i (x_ij − μ_j)²)
 * (population std; σ_j = 0 → 1), i over the train rows. The recipe (kept columns, μ, σ, fractions,
 * held-out class) is what a checkpoint stores to put other rows into the model's input space. */
#include <ebood/data.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eb_tabular_params eb_tabular_default_params(void) {
    return (eb_tabular_params){.seed = 1, .standardize = true};
}

static void free_strings(char **s, int64_t n) {
    if (!s) return;
    for (int64_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

void eb_tabular_split_free(eb_tabular_split *s) {
    if (!s) return;
    eb_dataset_free(&s->train);
    eb_dataset_free(&s->val);
    eb_dataset_free(&s->test);
    eb_dataset_free(&s->ood);
    free(s->mean);
    free(s->std);
    free_strings(s->feature_names, s->dim);
    free(s->keep);
    free(s->dropped);
    free(s->ood_class);
    memset(s, 0, sizeof *s);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The name of class k: its declared name, else its number. */
static const char *class_name(const eb_dataset *d, int k, char *buf, size_t size) {
    if (d->class_names && d->class_names[k]) return d->class_names[k];
    snprintf(buf, size, "%d", k);
    return buf;
}

/* The held-out class's index (-1 with no p->ood_class); EB_ERR_ARG listing the classes if unknown. */
static eb_status find_ood_class(const eb_dataset *all, const char *ood_class, const char *what, int *ood,
                                eb_error *err) {
    *ood = -1;
    if (!ood_class) return EB_OK;
    char buf[16], list[512] = "";
    size_t used = 0;
    for (int k = 0; k < all->num_classes; k++) {
        const char *name = class_name(all, k, buf, sizeof buf);
        if (strcmp(name, ood_class) == 0) *ood = k;
        if (used < sizeof list)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", name);
    }
    if (*ood < 0)
        return eb_error_set(err, EB_ERR_ARG, "%s: no class named '%s' to hold out (classes: %s)", what,
                            ood_class, list);
    if (all->num_classes < 2)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: holding out '%s' leaves no class", what, ood_class);
    return EB_OK;
}

static eb_status check_params(const eb_tabular_params *p, const char *what, eb_error *err) {
    const double v = p->val_frac, t = p->test_frac;
    if (!(v >= 0 && v < 1) || !(t >= 0 && t < 1) || !(v + t < 1))
        return eb_error_set(err, EB_ERR_ARG,
                            "%s: the val and test fractions must each be in [0, 1) and sum to less than 1 "
                            "(got %g and %g)",
                            what, v, t);
    return EB_OK;
}

/* 1. the columns kept: all, or (standardize) those not constant over all rows; s->dropped names the
 * others. */
static eb_status choose_columns(const eb_dataset *all, const char *const *names, bool drop, const char *what,
                                eb_tabular_split *s, eb_error *err) {
    const int64_t n = all->n, d = all->dim;
    s->n_columns = d;
    s->keep = malloc((size_t)d * sizeof *s->keep);
    if (!s->keep) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what);
    size_t cap = 0, len = 0;
    for (int64_t j = 0; j < d; j++) {
        bool constant = drop;
        for (int64_t i = 1; i < n && constant; i++) constant = all->x[i * d + j] == all->x[j];
        if (!constant) {
            s->keep[s->dim++] = j;
            continue;
        }
        char num[32];
        snprintf(num, sizeof num, "column %lld", (long long)j + 1);
        const char *name = names ? names[j] : num;
        size_t need = len + strlen(name) + 3;
        if (need > cap) {
            cap = need * 2;
            char *grown = realloc(s->dropped, cap);
            if (!grown) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what);
            s->dropped = grown;
        }
        len += (size_t)sprintf(s->dropped + len, "%s%s", len ? ", " : "", name);
    }
    if (s->dim == 0) return eb_error_set(err, EB_ERR_FORMAT, "%s: every feature column is constant", what);
    s->feature_names = calloc((size_t)s->dim, sizeof *s->feature_names);
    if (!s->feature_names) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what);
    for (int64_t j = 0; j < s->dim; j++) {
        char num[32];
        snprintf(num, sizeof num, "column %lld", (long long)s->keep[j] + 1);
        if (!(s->feature_names[j] = dup_str(names ? names[s->keep[j]] : num)))
            return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what);
    }
    return EB_OK;
}

/* x ← (x − μ)/σ in place, μ in double (the train split's exact mean when just computed). */
static void zscore(const eb_tabular_split *s, const double *mu, eb_dataset *d) {
    for (int64_t i = 0; i < d->n; i++)
        for (int64_t j = 0; j < s->dim; j++) {
            float *v = &d->x[i * s->dim + j];
            *v = (float)(((double)*v - mu[j]) / (double)s->std[j]);
        }
}

/* 4. μ, σ over the train split (population std; 0 → 1); every split z-scored. */
static eb_status standardize(eb_tabular_split *s, const char *what, eb_error *err) {
    const int64_t dim = s->dim, n = s->train.n;
    s->mean = malloc((size_t)dim * sizeof *s->mean);
    s->std = malloc((size_t)dim * sizeof *s->std);
    double *acc = calloc((size_t)dim * 2, sizeof *acc);
    if (!s->mean || !s->std || !acc) {
        free(acc);
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what);
    }
    double *sum = acc, *sq = acc + dim;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < dim; j++) sum[j] += (double)s->train.x[i * dim + j];
    for (int64_t j = 0; j < dim; j++) sum[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < dim; j++) {
            double c = (double)s->train.x[i * dim + j] - sum[j];
            sq[j] += c * c;
        }
    for (int64_t j = 0; j < dim; j++) {
        double sd = sqrt(sq[j] / (double)n);
        s->mean[j] = (float)sum[j];
        s->std[j] = sd > 0 ? (float)sd : 1.0f;
    }
    eb_dataset *parts[4] = {&s->train, &s->val, &s->test, &s->ood};
    for (int k = 0; k < 4; k++) zscore(s, sum, parts[k]);
    free(acc);
    return EB_OK;
}

/* Steps 2 and 3: rows[n] = the ID rows (class != ood) then the OOD rows, each in file order; the ID rows
 * permuted with the seed when the table is split (perm[n] is work space). *n_id, *n_ood: the counts. */
static void order_rows(const eb_dataset *all, int ood, bool split, uint64_t seed, int64_t *rows,
                       int64_t *perm, int64_t *n_id, int64_t *n_ood) {
    *n_id = *n_ood = 0;
    for (int64_t i = 0; i < all->n; i++)
        if (all->y[i] != ood) rows[(*n_id)++] = i;
    for (int64_t i = 0; i < all->n; i++)
        if (all->y[i] == ood) rows[*n_id + (*n_ood)++] = i;
    if (!split) return;
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_rng_permutation(&rng, *n_id, perm);
    for (int64_t i = 0; i < *n_id; i++) perm[i] = rows[perm[i]];
    memcpy(rows, perm, (size_t)*n_id * sizeof *rows);
}

/* The four parts train, val, test (labelled, without the held-out class ood, in order) and ood (unlabelled):
 * counts[s] rows of `rows` from starts[s], the kept columns out->keep[out->dim]. */
static eb_status fill_parts(const eb_dataset *all, int ood, const int64_t *rows, const int64_t *starts,
                            const int64_t *counts, const char *what, eb_tabular_split *out, eb_error *err) {
    const int num_classes = all->num_classes - (ood >= 0);
    int32_t *remap = malloc((size_t)all->num_classes * sizeof *remap);
    const char **names = calloc((size_t)all->num_classes, sizeof *names);
    char(*nums)[16] = calloc((size_t)all->num_classes, sizeof *nums);
    eb_status st =
        !remap || !names || !nums ? eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what) : EB_OK;
    for (int k = 0, c = 0; !st && k < all->num_classes; k++) {
        remap[k] = k == ood ? -1 : c;
        if (k != ood) names[c++] = class_name(all, k, nums[k], sizeof nums[k]);
    }
    eb_dataset *parts[4] = {&out->train, &out->val, &out->test, &out->ood};
    for (int s = 0; s < 4 && !st; s++) {
        const bool labelled = s < 3;
        st = eb_dataset_alloc(counts[s], out->dim, labelled ? num_classes : 0, labelled, parts[s], err);
        for (int64_t i = 0; !st && i < counts[s]; i++) {
            const int64_t src = rows[starts[s] + i];
            for (int64_t j = 0; j < out->dim; j++)
                parts[s]->x[i * out->dim + j] = all->x[src * all->dim + out->keep[j]];
            if (labelled) parts[s]->y[i] = remap[all->y[src]];
        }
        if (!st && labelled && (all->class_names || ood >= 0))
            st = eb_dataset_set_class_names(parts[s], names, err);
    }
    free(remap);
    free(names);
    free(nums);
    return st;
}

eb_status eb_tabular_split_make(const eb_dataset *all, const char *const *feature_names,
                                const eb_tabular_params *p, const char *what, eb_tabular_split *out,
                                eb_error *err) {
    memset(out, 0, sizeof *out);
    eb_tabular_params defaults = eb_tabular_default_params();
    if (!p) p = &defaults;
    if (!what) what = "table";
    eb_status st = check_params(p, what, err);
    if (st) return st;
    if (!all->y || all->num_classes < 1)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: no label column to split by", what);
    int ood;
    if ((st = find_ood_class(all, p->ood_class, what, &ood, err))) return st;
    if (p->ood_class && !(out->ood_class = dup_str(p->ood_class)))
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what);
    out->val_frac = p->val_frac;
    out->test_frac = p->test_frac;
    out->seed = p->seed;
    const int64_t n = all->n;
    int64_t *rows = malloc((size_t)(n ? n : 1) * sizeof *rows),
            *perm = malloc((size_t)(n ? n : 1) * sizeof *perm);
    if (!rows || !perm) st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what);
    if (!st) st = choose_columns(all, feature_names, p->standardize, what, out, err);
    if (st) goto done;

    const bool split = p->val_frac + p->test_frac > 0;
    int64_t n_id, n_ood;
    order_rows(all, ood, split, p->seed, rows, perm, &n_id, &n_ood);
    const int64_t n_train = split ? (int64_t)((1.0 - p->val_frac - p->test_frac) * (double)n_id) : n_id;
    const int64_t n_val = split ? (int64_t)(p->val_frac * (double)n_id) : 0;
    const int64_t n_test = n_id - n_train - n_val;
    if (n_train < 1 || (p->val_frac > 0 && n_val < 1) || (p->test_frac > 0 && n_test < 1) ||
        (p->ood_class && n_ood < 1)) {
        st = eb_error_set(
            err, EB_ERR_FORMAT,
            "%s: too few rows for the split (ID %lld → train/val/test %lld/%lld/%lld, OOD %lld)", what,
            (long long)n_id, (long long)n_train, (long long)n_val, (long long)n_test, (long long)n_ood);
        goto done;
    }
    const int64_t starts[4] = {0, n_train, n_train + n_val, n_id},
                  counts[4] = {n_train, n_val, n_test, n_ood};
    st = fill_parts(all, ood, rows, starts, counts, what, out, err);
    if (!st && p->standardize) st = standardize(out, what, err);
done:
    free(rows);
    free(perm);
    if (st) eb_tabular_split_free(out);
    return st;
}

eb_status eb_tabular_split_apply(const eb_tabular_split *tx, eb_dataset *d, const char *what, eb_error *err) {
    if (d->dim != tx->n_columns)
        return eb_error_set(err, EB_ERR_SHAPE, "the model expects %lld features, %s has %lld",
                            (long long)tx->n_columns, what, (long long)d->dim);
    if (tx->keep && tx->dim < d->dim) { /* keep[] is increasing: compact the rows in place */
        for (int64_t i = 0; i < d->n; i++)
            for (int64_t j = 0; j < tx->dim; j++) d->x[i * tx->dim + j] = d->x[i * d->dim + tx->keep[j]];
        d->dim = tx->dim;
    }
    if (!tx->mean || !tx->std) return EB_OK;
    double *mu = malloc((size_t)tx->dim * sizeof *mu);
    if (!mu) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what);
    for (int64_t j = 0; j < tx->dim; j++) mu[j] = (double)tx->mean[j];
    zscore(tx, mu, d);
    free(mu);
    return EB_OK;
}

/* ---- the recipe as JSON ------------------------------------------------------------------------ */

char *eb_tabular_split_recipe_json(const eb_tabular_split *s) {
    cJSON *o = cJSON_CreateObject(), *keep = cJSON_AddArrayToObject(o, "keep");
    cJSON_AddNumberToObject(o, "columns", (double)s->n_columns);
    for (int64_t j = 0; j < s->dim; j++)
        cJSON_AddItemToArray(keep, cJSON_CreateNumber((double)(s->keep ? s->keep[j] : j)));
    if (s->mean && s->std) {
        cJSON *m = cJSON_AddArrayToObject(o, "mean"), *sd = cJSON_AddArrayToObject(o, "std");
        for (int64_t j = 0; j < s->dim; j++) {
            char a[32], b[32]; /* %.9g: a float round-trips */
            snprintf(a, sizeof a, "%.9g", (double)s->mean[j]);
            snprintf(b, sizeof b, "%.9g", (double)s->std[j]);
            cJSON_AddItemToArray(m, cJSON_CreateRaw(a));
            cJSON_AddItemToArray(sd, cJSON_CreateRaw(b));
        }
    }
    cJSON_AddNumberToObject(o, "val_split", s->val_frac);
    cJSON_AddNumberToObject(o, "test_split", s->test_frac);
    if (s->ood_class)
        cJSON_AddStringToObject(o, "ood_class", s->ood_class);
    else
        cJSON_AddNullToObject(o, "ood_class");
    cJSON_AddNumberToObject(o, "seed", (double)s->seed);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* A JSON array of n numbers into out[n] (as float or int64). */
static bool read_numbers(const cJSON *a, int64_t n, float *f, int64_t *i) {
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) return false;
    int64_t k = 0;
    for (const cJSON *e = a->child; e; e = e->next, k++) {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) return false;
        if (f) f[k] = (float)e->valuedouble;
        if (i) i[k] = (int64_t)e->valuedouble;
    }
    return true;
}

eb_status eb_tabular_split_recipe_parse(const char *json, const char *what, eb_tabular_split *out,
                                        eb_error *err) {
    memset(out, 0, sizeof *out);
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(o, "columns"),
                *keep = cJSON_GetObjectItemCaseSensitive(o, "keep"),
                *mean = cJSON_GetObjectItemCaseSensitive(o, "mean"),
                *sd = cJSON_GetObjectItemCaseSensitive(o, "std"),
                *val = cJSON_GetObjectItemCaseSensitive(o, "val_split"),
                *test = cJSON_GetObjectItemCaseSensitive(o, "test_split"),
                *ood = cJSON_GetObjectItemCaseSensitive(o, "ood_class"),
                *seed = cJSON_GetObjectItemCaseSensitive(o, "seed");
    const int64_t dim = cJSON_IsArray(keep) ? cJSON_GetArraySize(keep) : 0;
    bool ok = cJSON_IsNumber(cols) && cols->valuedouble >= 1 && cols->valuedouble <= 1e9 && dim >= 1 &&
              cJSON_IsNumber(val) && cJSON_IsNumber(test) && cJSON_IsNumber(seed) &&
              (cJSON_IsString(ood) || cJSON_IsNull(ood)) && (!mean) == (!sd);
    eb_status st = EB_OK;
    if (ok) {
        out->n_columns = (int64_t)cols->valuedouble;
        out->dim = dim;
        out->val_frac = val->valuedouble;
        out->test_frac = test->valuedouble;
        out->seed = (uint64_t)seed->valuedouble;
        out->keep = malloc((size_t)dim * sizeof *out->keep);
        out->mean = mean ? malloc((size_t)dim * sizeof *out->mean) : NULL;
        out->std = sd ? malloc((size_t)dim * sizeof *out->std) : NULL;
        out->ood_class = cJSON_IsString(ood) ? dup_str(ood->valuestring) : NULL;
        if (!out->keep || (mean && (!out->mean || !out->std)) || (cJSON_IsString(ood) && !out->ood_class))
            st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", what);
    }
    if (ok && !st)
        ok = read_numbers(keep, dim, NULL, out->keep) &&
             (!mean || (read_numbers(mean, dim, out->mean, NULL) && read_numbers(sd, dim, out->std, NULL)));
    for (int64_t j = 0; ok && !st && j < dim; j++) /* increasing column indices; positive std */
        ok = out->keep[j] >= (j ? out->keep[j - 1] + 1 : 0) && out->keep[j] < out->n_columns &&
             (!out->std || out->std[j] > 0);
    cJSON_Delete(o);
    if (!ok && !st) st = eb_error_set(err, EB_ERR_FORMAT, "%s: malformed \"ebood.tabular\" recipe", what);
    if (st) eb_tabular_split_free(out);
    return st;
}
