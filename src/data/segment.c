/* The Segment OOD protocol (shared/specs/protocols.md "segment"; seed-code-specs.md §4):
 * UCI Image Segmentation from weka's segment-challenge.arff + segment-test.arff, constant columns
 * dropped, one class ("sky") held out as the natural OOD set, the ID rows split 80/10/10 with
 * int() lengths as the EBM paper's code does, and z-scored with the train split's statistics. */
#include <ebood/data.h>

#include <stdlib.h>
#include <string.h>

#define SEGMENT_FILES 2
static const char *const segment_files[SEGMENT_FILES] = {"segment-challenge.arff", "segment-test.arff"};

eb_segment_params eb_segment_default_params(void) {
    eb_segment_params p = {.seed = 1, .ood_class = "sky"};
    return p;
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

    /* the protocol: constant columns dropped, the class held out, 80/10/10, z-scored (tabular_split.c) */
    eb_tabular_params tp = {
        .seed = p->seed, .val_frac = 0.1, .test_frac = 0.1, .ood_class = p->ood_class, .standardize = true};
    st = eb_tabular_split_make(&all, names, &tp, dir, out, err);
done:
    if (st != EB_OK) eb_tabular_split_free(out);
    for (int f = 0; f < SEGMENT_FILES; f++) {
        eb_arff_free(&arff[f]);
        eb_dataset_free(&parts[f]);
    }
    eb_dataset_free(&all);
    return st;
}
