/* The Segment OOD protocol (shared/specs/protocols.md "segment"; seed-code-specs.md §4):
 * UCI Image Segmentation from weka's segment-challenge.arff + segment-test.arff, constant columns
 * dropped, one class ("sky") held out as the natural OOD set, the ID rows split 80/10/10 with
 * int() lengths as the EBM paper's code does, and z-scored with the train split's statistics. */
#include <ebood/data.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SEGMENT_FILES 2
static const char *const segment_files[SEGMENT_FILES] = {"segment-challenge.arff", "segment-test.arff"};

eb_segment_params eb_segment_default_params(void) {
    eb_segment_params p = {.seed = 1, .ood_class = "sky"};
    return p;
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
    memset(s, 0, sizeof *s);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The two files must declare the same attributes (names, types, nominal values). */
static eb_status check_same_attributes(const eb_arff *a, const eb_arff *b, eb_error *err) {
    int same = a->num_attributes == b->num_attributes;
    for (int j = 0; same && j < a->num_attributes; j++) {
        const eb_arff_attribute *x = &a->attributes[j], *y = &b->attributes[j];
        same = strcmp(x->name, y->name) == 0 && x->type == y->type && x->num_values == y->num_values;
        for (int k = 0; same && k < x->num_values; k++) same = strcmp(x->values[k], y->values[k]) == 0;
    }
    if (!same)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: attributes differ from those of %s", b->path, a->path);
    return EB_OK;
}

/* Builds the split from the concatenated rows `all` (labels = the declared class indices). */
static eb_status build_split(const eb_dataset *all, const char *const *feature_names,
                             const eb_segment_params *p, const char *dir, eb_tabular_split *out,
                             eb_error *err) {
    int64_t n = all->n, d_all = all->dim;
    int ood = -1;
    for (int k = 0; k < all->num_classes; k++)
        if (strcmp(all->class_names[k], p->ood_class) == 0) ood = k;
    if (ood < 0)
        return eb_error_set(err, EB_ERR_ARG, "%s: no class named '%s' to hold out", dir, p->ood_class);
    if (all->num_classes < 2)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: need at least 2 classes besides the held-out one", dir);

    eb_status st = EB_ERR_NOMEM;
    int64_t *keep = malloc((size_t)d_all * sizeof *keep);
    int64_t *id_rows = malloc((size_t)n * sizeof *id_rows);
    int64_t *ood_rows = malloc((size_t)n * sizeof *ood_rows);
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    int64_t *order = malloc((size_t)n * sizeof *order);
    double *acc = calloc((size_t)d_all * 2, sizeof *acc);
    if (!keep || !id_rows || !ood_rows || !perm || !order || !acc) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", dir);
        goto done;
    }

    /* 1. columns constant over all rows are dropped */
    int64_t dim = 0;
    for (int64_t j = 0; j < d_all; j++) {
        int constant = 1;
        for (int64_t i = 1; i < n && constant; i++) constant = all->x[i * d_all + j] == all->x[j];
        if (!constant) keep[dim++] = j;
    }
    if (dim == 0) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: every feature column is constant", dir);
        goto done;
    }

    /* 2. ID rows and OOD rows, in file order */
    int64_t n_id = 0, n_ood = 0;
    for (int64_t i = 0; i < n; i++) {
        if (all->y[i] == ood)
            ood_rows[n_ood++] = i;
        else
            id_rows[n_id++] = i;
    }

    /* 3. seeded permutation, 80/10/10 with int() lengths */
    eb_rng rng;
    eb_rng_seed(&rng, p->seed);
    eb_rng_permutation(&rng, n_id, perm);
    for (int64_t i = 0; i < n_id; i++) order[i] = id_rows[perm[i]];
    int64_t n_train = (int64_t)(0.8 * (double)n_id), n_val = (int64_t)(0.1 * (double)n_id);
    int64_t n_test = n_id - n_train - n_val;
    if (n_train < 1 || n_val < 1 || n_test < 1 || n_ood < 1) {
        st = eb_error_set(
            err, EB_ERR_FORMAT, "%s: too few rows for the split (ID %lld → %lld/%lld/%lld, OOD %lld)", dir,
            (long long)n_id, (long long)n_train, (long long)n_val, (long long)n_test, (long long)n_ood);
        goto done;
    }

    /* labels: the declared classes without the held-out one, in order */
    int num_classes = all->num_classes - 1;
    const char *names[256];
    int32_t remap[256];
    if (all->num_classes > 256) {
        st = eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: more than 256 classes", dir);
        goto done;
    }
    for (int k = 0, c = 0; k < all->num_classes; k++) {
        remap[k] = k == ood ? -1 : c;
        if (k != ood) names[c++] = all->class_names[k];
    }

    eb_dataset *parts[4] = {&out->train, &out->val, &out->test, &out->ood};
    const int64_t *rows[4] = {order, order + n_train, order + n_train + n_val, ood_rows};
    const int64_t counts[4] = {n_train, n_val, n_test, n_ood};
    for (int s = 0; s < 4; s++) {
        int labelled = s < 3;
        if ((st = eb_dataset_alloc(counts[s], dim, labelled ? num_classes : 0, labelled, parts[s], err)) !=
            EB_OK)
            goto done;
        for (int64_t i = 0; i < counts[s]; i++) {
            int64_t src = rows[s][i];
            for (int64_t j = 0; j < dim; j++) parts[s]->x[i * dim + j] = all->x[src * d_all + keep[j]];
            if (labelled) parts[s]->y[i] = remap[all->y[src]];
        }
        if (labelled && (st = eb_dataset_set_class_names(parts[s], names, err)) != EB_OK) goto done;
    }

    /* 4. z-score with the train split's mean and population std (std 0 → 1) */
    out->dim = dim;
    out->mean = malloc((size_t)dim * sizeof *out->mean);
    out->std = malloc((size_t)dim * sizeof *out->std);
    out->feature_names = calloc((size_t)dim, sizeof *out->feature_names);
    if (!out->mean || !out->std || !out->feature_names) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", dir);
        goto done;
    }
    double *sum = acc, *sq = acc + d_all;
    for (int64_t i = 0; i < n_train; i++)
        for (int64_t j = 0; j < dim; j++) sum[j] += (double)out->train.x[i * dim + j];
    for (int64_t j = 0; j < dim; j++) sum[j] /= (double)n_train;
    for (int64_t i = 0; i < n_train; i++)
        for (int64_t j = 0; j < dim; j++) {
            double c = (double)out->train.x[i * dim + j] - sum[j];
            sq[j] += c * c;
        }
    for (int64_t j = 0; j < dim; j++) {
        double sd = sqrt(sq[j] / (double)n_train);
        out->mean[j] = (float)sum[j];
        out->std[j] = sd > 0 ? (float)sd : 1.0f;
        if (!(out->feature_names[j] = dup_str(feature_names[keep[j]]))) {
            st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", dir);
            goto done;
        }
    }
    for (int s = 0; s < 4; s++)
        for (int64_t i = 0; i < parts[s]->n; i++)
            for (int64_t j = 0; j < dim; j++) {
                float *v = &parts[s]->x[i * dim + j];
                *v = (float)(((double)*v - sum[j]) / (double)out->std[j]);
            }
    st = EB_OK;
done:
    free(keep);
    free(id_rows);
    free(ood_rows);
    free(perm);
    free(order);
    free(acc);
    return st;
}

eb_status eb_segment_load(const char *dir, const eb_segment_params *p, eb_tabular_split *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    eb_segment_params defaults = eb_segment_default_params();
    if (!p) p = &defaults;
    if (!dir || !p->ood_class)
        return eb_error_set(err, EB_ERR_ARG, "eb_segment_load: dir and ood_class are required");

    eb_arff arff[SEGMENT_FILES];
    eb_dataset parts[SEGMENT_FILES], all;
    memset(arff, 0, sizeof arff);
    memset(parts, 0, sizeof parts);
    memset(&all, 0, sizeof all);
    eb_status st = EB_OK;
    for (int f = 0; f < SEGMENT_FILES && st == EB_OK; f++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, segment_files[f]) >= (int)sizeof path) {
            st = eb_error_set(err, EB_ERR_ARG, "%s: path too long", dir);
            break;
        }
        if ((st = eb_arff_read(path, &arff[f], err)) != EB_OK) break;
        if (f > 0 && (st = check_same_attributes(&arff[0], &arff[f], err)) != EB_OK) break;
        int cls = eb_arff_find_attribute(&arff[f], "class");
        if (cls < 0 || arff[f].attributes[cls].type != EB_ARFF_NOMINAL) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: no nominal attribute 'class'", path);
            break;
        }
        st = eb_arff_to_dataset(&arff[f], "class", &parts[f], err);
    }
    if (st != EB_OK) goto done;

    /* concatenate challenge + test */
    int64_t n = parts[0].n + parts[1].n, dim = parts[0].dim;
    if ((st = eb_dataset_alloc(n, dim, parts[0].num_classes, true, &all, err)) != EB_OK) goto done;
    memcpy(all.x, parts[0].x, (size_t)(parts[0].n * dim) * sizeof(float));
    memcpy(all.x + parts[0].n * dim, parts[1].x, (size_t)(parts[1].n * dim) * sizeof(float));
    memcpy(all.y, parts[0].y, (size_t)parts[0].n * sizeof(int32_t));
    memcpy(all.y + parts[0].n, parts[1].y, (size_t)parts[1].n * sizeof(int32_t));
    if ((st = eb_dataset_set_class_names(&all, (const char *const *)parts[0].class_names, err)) != EB_OK)
        goto done;

    /* feature names: the attributes other than the class, in file order */
    const char *names[512];
    if (arff[0].num_attributes - 1 > 512) {
        st = eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: more than 512 features", arff[0].path);
        goto done;
    }
    int cls = eb_arff_find_attribute(&arff[0], "class");
    for (int j = 0, k = 0; j < arff[0].num_attributes; j++)
        if (j != cls) names[k++] = arff[0].attributes[j].name;

    st = build_split(&all, names, p, dir, out, err);
done:
    if (st != EB_OK) eb_tabular_split_free(out);
    for (int f = 0; f < SEGMENT_FILES; f++) {
        eb_arff_free(&arff[f]);
        eb_dataset_free(&parts[f]);
    }
    eb_dataset_free(&all);
    return st;
}
