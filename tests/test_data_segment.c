/* The Segment protocol split (real weka files; missing data is a failure, not a skip), the
 * non-natural tabular OOD sets, and eb_dataset helpers. */
#include <criterion/criterion.h>
#include <ebood/data.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const char *segment_dir(char *buf, size_t size) {
    const char *root = getenv("EBOOD_DATA");
    if (root && root[0])
        snprintf(buf, size, "%s/segment", root);
    else
        snprintf(buf, size, "%s/.cache/ebood/segment", getenv("HOME") ? getenv("HOME") : ".");
    return buf;
}

static void load(uint64_t seed, const char *ood_class, eb_tabular_split *s) {
    char dir[1024];
    eb_segment_params p = eb_segment_default_params();
    p.seed = seed;
    if (ood_class) p.ood_class = ood_class;
    eb_error err = {0};
    eb_status st = eb_segment_load(segment_dir(dir, sizeof dir), &p, s, &err);
    cr_assert_eq(st, EB_OK, "%s (the data comes from scripts/fetch-data.sh)", err.message);
}

/* The raw rows of both files, in order, via the ARFF reader (tested in test_data_arff.c). */
static void load_raw(eb_dataset *all) {
    char dir[1024], path[1100];
    segment_dir(dir, sizeof dir);
    eb_dataset parts[2];
    const char *files[2] = {"segment-challenge.arff", "segment-test.arff"};
    for (int f = 0; f < 2; f++) {
        eb_arff a;
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        cr_assert_eq(eb_arff_read(path, &a, NULL), EB_OK, "%s", path);
        cr_assert_eq(eb_arff_to_dataset(&a, "class", &parts[f], NULL), EB_OK);
        eb_arff_free(&a);
    }
    int64_t rows[2310];
    cr_assert_eq(parts[0].n + parts[1].n, 2310);
    for (int64_t i = 0; i < 2310; i++) rows[i] = i;
    /* concatenate through subset of a stacked copy */
    eb_dataset stacked;
    cr_assert_eq(eb_dataset_alloc(2310, parts[0].dim, 7, true, &stacked, NULL), EB_OK);
    memcpy(stacked.x, parts[0].x, (size_t)(parts[0].n * parts[0].dim) * sizeof(float));
    memcpy(stacked.x + parts[0].n * parts[0].dim, parts[1].x,
           (size_t)(parts[1].n * parts[1].dim) * sizeof(float));
    memcpy(stacked.y, parts[0].y, (size_t)parts[0].n * sizeof(int32_t));
    memcpy(stacked.y + parts[0].n, parts[1].y, (size_t)parts[1].n * sizeof(int32_t));
    cr_assert_eq(eb_dataset_set_class_names(&stacked, (const char *const *)parts[0].class_names, NULL),
                 EB_OK);
    cr_assert_eq(eb_dataset_subset(&stacked, rows, 2310, all, NULL), EB_OK);
    eb_dataset_free(&stacked);
    eb_dataset_free(&parts[0]);
    eb_dataset_free(&parts[1]);
}

Test(segment, split_sizes_features_and_classes) {
    eb_tabular_split s;
    load(1, NULL, &s);
    cr_assert_eq(s.train.n, 1584);
    cr_assert_eq(s.val.n, 198);
    cr_assert_eq(s.test.n, 198);
    cr_assert_eq(s.ood.n, 330);
    cr_assert_eq(s.dim, 18);
    const eb_dataset *parts[4] = {&s.train, &s.val, &s.test, &s.ood};
    for (int k = 0; k < 4; k++) cr_assert_eq(parts[k]->dim, 18);

    /* only region-pixel-count (constant 9) is dropped */
    cr_assert_str_eq(s.feature_names[0], "region-centroid-col");
    cr_assert_str_eq(s.feature_names[1], "region-centroid-row");
    cr_assert_str_eq(s.feature_names[2], "short-line-density-5");
    cr_assert_str_eq(s.feature_names[17], "hue-mean");
    for (int j = 0; j < 18; j++) cr_assert_str_neq(s.feature_names[j], "region-pixel-count");

    const char *id_names[6] = {"brickface", "foliage", "cement", "window", "path", "grass"};
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(parts[k]->num_classes, 6);
        cr_assert_not_null(parts[k]->y);
        for (int c = 0; c < 6; c++) cr_assert_str_eq(parts[k]->class_names[c], id_names[c]);
    }
    cr_assert_null(s.ood.y);
    cr_assert_eq(s.ood.num_classes, 0);

    /* every ID class has 330 rows in the files; no sky among them */
    int64_t counts[6] = {0};
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; i < parts[k]->n; i++) {
            cr_assert(parts[k]->y[i] >= 0 && parts[k]->y[i] < 6);
            counts[parts[k]->y[i]]++;
        }
    for (int c = 0; c < 6; c++)
        cr_assert_eq(counts[c], 330, "class %s: %lld", id_names[c], (long long)counts[c]);
    for (int k = 0; k < 4; k++)
        for (int64_t i = 0; i < parts[k]->n * 18; i++) cr_assert(isfinite(parts[k]->x[i]));
    eb_tabular_split_free(&s);
    cr_assert_null(s.mean);
    eb_tabular_split_free(&s);
}

Test(segment, train_is_standardised_with_its_own_statistics) {
    eb_tabular_split s;
    load(7, NULL, &s);
    double max_mean = 0, max_std_err = 0;
    for (int64_t j = 0; j < 18; j++) {
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < s.train.n; i++) sum += (double)s.train.x[i * 18 + j];
        double m = sum / (double)s.train.n;
        for (int64_t i = 0; i < s.train.n; i++) sq += pow((double)s.train.x[i * 18 + j] - m, 2);
        double sd = sqrt(sq / (double)s.train.n);
        max_mean = fmax(max_mean, fabs(m));
        max_std_err = fmax(max_std_err, fabs(sd - 1));
        cr_assert_gt(s.std[j], 0.0f);
    }
    cr_log_info("train: max |mean| %.3g, max |std - 1| %.3g", max_mean, max_std_err);
    cr_assert_lt(max_mean, 1e-4);
    cr_assert_lt(max_std_err, 1e-4);
    /* val is transformed with train statistics, so it is not exactly standardised itself */
    double val_mean0 = 0;
    for (int64_t i = 0; i < s.val.n; i++) val_mean0 += (double)s.val.x[i * 18];
    cr_assert_gt(fabs(val_mean0 / (double)s.val.n), 1e-4);
    eb_tabular_split_free(&s);
}

Test(segment, ood_rows_are_the_sky_rows_and_id_rows_the_rest) {
    eb_tabular_split s;
    load(3, NULL, &s);
    eb_dataset raw;
    load_raw(&raw);
    const int sky = 1; /* declared order: brickface, sky, foliage, ... */
    cr_assert_str_eq(raw.class_names[sky], "sky");
    /* undo the z-score; raw columns are all but column 2 (region-pixel-count) */
    double max_err = 0;
    int64_t k = 0;
    double id_sum[18] = {0}, raw_id_sum[18] = {0};
    for (int64_t i = 0; i < raw.n; i++) {
        const float *r = raw.x + i * 19;
        if (raw.y[i] == sky) {
            for (int j = 0, c = 0; c < 19; c++) {
                if (c == 2) continue;
                double back = (double)s.ood.x[k * 18 + j] * (double)s.std[j] + (double)s.mean[j];
                /* float rounding of z scales with |x| + |mean| */
                double scale = fabs((double)r[c]) + fabs((double)s.mean[j]) + (double)s.std[j];
                max_err = fmax(max_err, fabs(back - (double)r[c]) / scale);
                j++;
            }
            k++;
        } else {
            for (int j = 0, c = 0; c < 19; c++)
                if (c != 2) raw_id_sum[j++] += (double)r[c];
        }
    }
    cr_assert_eq(k, 330);
    cr_log_info("sky rows: max relative error after undoing the z-score %.3g", max_err);
    cr_assert_lt(max_err, 1e-6);
    const eb_dataset *parts[3] = {&s.train, &s.val, &s.test};
    for (int p = 0; p < 3; p++)
        for (int64_t i = 0; i < parts[p]->n; i++)
            for (int j = 0; j < 18; j++)
                id_sum[j] += (double)parts[p]->x[i * 18 + j] * (double)s.std[j] + (double)s.mean[j];
    for (int j = 0; j < 18; j++)
        cr_assert(fabs(id_sum[j] - raw_id_sum[j]) <= 1e-4 * fmax(1.0, fabs(raw_id_sum[j])),
                  "column %d: %g vs %g", j, id_sum[j], raw_id_sum[j]);
    eb_dataset_free(&raw);
    eb_tabular_split_free(&s);
}

Test(segment, seed_determines_the_split) {
    eb_tabular_split a, b, c;
    load(42, NULL, &a);
    load(42, NULL, &b);
    load(43, NULL, &c);
    size_t bytes = (size_t)(a.train.n * a.dim) * sizeof(float);
    cr_assert_eq(memcmp(a.train.x, b.train.x, bytes), 0, "same seed, different train split");
    cr_assert_eq(memcmp(a.train.y, b.train.y, (size_t)a.train.n * sizeof(int32_t)), 0);
    cr_assert_eq(memcmp(a.test.x, b.test.x, (size_t)(a.test.n * a.dim) * sizeof(float)), 0);
    cr_assert_eq(memcmp(a.mean, b.mean, (size_t)a.dim * sizeof(float)), 0);
    cr_assert_neq(memcmp(a.train.x, c.train.x, bytes), 0, "different seeds gave the same split");
    cr_assert_neq(memcmp(a.mean, c.mean, (size_t)a.dim * sizeof(float)), 0);
    eb_tabular_split_free(&a);
    eb_tabular_split_free(&b);
    eb_tabular_split_free(&c);
}

Test(segment, another_held_out_class) {
    eb_tabular_split s;
    load(1, "grass", &s);
    cr_assert_eq(s.ood.n, 330);
    cr_assert_eq(s.train.num_classes, 6);
    cr_assert_str_eq(s.train.class_names[1], "sky");
    for (int c = 0; c < 6; c++) cr_assert_str_neq(s.train.class_names[c], "grass");
    eb_tabular_split_free(&s);
}

Test(segment_bad, unknown_class_and_missing_files) {
    char dir[1024];
    eb_tabular_split s;
    eb_error err = {0};
    eb_segment_params p = eb_segment_default_params();
    p.ood_class = "lava";
    cr_assert_eq(eb_segment_load(segment_dir(dir, sizeof dir), &p, &s, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, dir) && strstr(err.message, "lava"), "%s", err.message);
    cr_assert_null(s.train.x);

    char empty[1024];
    eb_test_path(empty, sizeof empty, "segment_empty_dir");
    mkdir(empty, 0755);
    cr_assert_eq(eb_segment_load(empty, NULL, &s, &err), EB_ERR_IO);
    cr_assert(strstr(err.message, empty) && strstr(err.message, "segment-challenge.arff"), "%s", err.message);
    cr_assert_null(s.train.x);
    rmdir(empty);
}

Test(segment_bad, files_that_disagree) {
    char dir[1024], path[1100];
    eb_test_path(dir, sizeof dir, "segment_bad_dir");
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/segment-challenge.arff", dir);
    const char *a = "@relation s\n@attribute x numeric\n@attribute class {p,q,sky}\n@data\n1,p\n2,q\n3,sky\n";
    cr_assert_eq(eb_test_write_file(path, a, strlen(a)), 0);
    snprintf(path, sizeof path, "%s/segment-test.arff", dir);
    const char *b = "@relation s\n@attribute y numeric\n@attribute class {p,q,sky}\n@data\n1,p\n";
    cr_assert_eq(eb_test_write_file(path, b, strlen(b)), 0);
    eb_tabular_split s;
    eb_error err = {0};
    cr_assert_eq(eb_segment_load(dir, NULL, &s, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, path) && strstr(err.message, "attributes differ"), "%s", err.message);
    cr_assert_null(s.train.x);
    /* same attributes but too few rows for a 80/10/10 split */
    cr_assert_eq(eb_test_write_file(path, a, strlen(a)), 0);
    cr_assert_eq(eb_segment_load(dir, NULL, &s, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, dir) && strstr(err.message, "too few rows"), "%s", err.message);
    remove(path);
    snprintf(path, sizeof path, "%s/segment-challenge.arff", dir);
    remove(path);
    rmdir(dir);
}

/* ---- non-natural tabular OOD sets --------------------------------------------------------- */

static void moments(const eb_dataset *d, double *mean, double *var, float *lo, float *hi) {
    double s = 0, q = 0;
    int64_t n = d->n * d->dim;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        s += (double)d->x[i];
        *lo = fminf(*lo, d->x[i]);
        *hi = fmaxf(*hi, d->x[i]);
    }
    *mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) q += pow((double)d->x[i] - *mean, 2);
    *var = q / (double)n;
}

Test(tabular_ood, uniform) {
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    eb_dataset d;
    cr_assert_eq(eb_tabular_ood_uniform(10000, 18, -5.0f, 5.0f, &rng, &d, NULL), EB_OK);
    cr_assert_eq(d.n, 10000);
    cr_assert_eq(d.dim, 18);
    cr_assert_null(d.y);
    cr_assert_eq(d.num_classes, 0);
    double m, v;
    float lo, hi;
    moments(&d, &m, &v, &lo, &hi);
    cr_log_info("uniform: mean %.4f var %.4f range [%g, %g]", m, v, (double)lo, (double)hi);
    cr_assert(fabs(m) < 0.05 && fabs(v - 100.0 / 12.0) < 0.1, "mean %g var %g", m, v);
    cr_assert(lo >= -5.0f && hi <= 5.0f && lo < -4.99f && hi > 4.99f);
    eb_dataset_free(&d);
}

Test(tabular_ood, gaussian) {
    eb_rng rng;
    eb_rng_seed(&rng, 6);
    eb_dataset d;
    cr_assert_eq(eb_tabular_ood_gaussian(10000, 18, &rng, &d, NULL), EB_OK);
    double m, v;
    float lo, hi;
    moments(&d, &m, &v, &lo, &hi);
    cr_log_info("gaussian: mean %.4f var %.4f", m, v);
    cr_assert(fabs(m) < 0.02 && fabs(v - 1.0) < 0.03, "mean %g var %g", m, v);
    cr_assert_null(d.y);
    eb_dataset_free(&d);
}

Test(tabular_ood, constant_rows) {
    eb_rng rng;
    eb_rng_seed(&rng, 7);
    eb_dataset d;
    cr_assert_eq(eb_tabular_ood_constant(2000, 18, -5.0f, 5.0f, &rng, &d, NULL), EB_OK);
    double s = 0;
    int distinct = 0;
    for (int64_t i = 0; i < d.n; i++) {
        float c = d.x[i * 18];
        cr_assert(c >= -5.0f && c <= 5.0f);
        for (int j = 1; j < 18; j++) cr_assert_eq(d.x[i * 18 + j], c, "row %lld not constant", (long long)i);
        if (i > 0 && c != d.x[(i - 1) * 18]) distinct++;
        s += (double)c;
    }
    cr_assert_gt(distinct, 1990);
    cr_assert_lt(fabs(s / 2000.0), 0.3); /* sd of the mean ≈ 0.065 */
    eb_dataset_free(&d);
}

Test(tabular_ood, reproducible_and_bad_arguments) {
    eb_rng r1, r2;
    eb_rng_seed(&r1, 9);
    eb_rng_seed(&r2, 9);
    eb_dataset a, b;
    cr_assert_eq(eb_tabular_ood_uniform(100, 4, -5.0f, 5.0f, &r1, &a, NULL), EB_OK);
    cr_assert_eq(eb_tabular_ood_uniform(100, 4, -5.0f, 5.0f, &r2, &b, NULL), EB_OK);
    cr_assert_eq(memcmp(a.x, b.x, 400 * sizeof(float)), 0);
    eb_dataset_free(&a);
    eb_dataset_free(&b);
    eb_error err = {0};
    cr_assert_eq(eb_tabular_ood_uniform(10, 0, -5.0f, 5.0f, &r1, &a, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "eb_tabular_ood_uniform"), "%s", err.message);
    cr_assert_eq(eb_tabular_ood_constant(10, 3, 5.0f, -5.0f, &r1, &a, &err), EB_ERR_ARG);
    cr_assert_eq(eb_tabular_ood_constant(10, 3, -5.0f, NAN, &r1, &a, &err), EB_ERR_ARG);
    cr_assert_eq(eb_tabular_ood_gaussian(-1, 3, &r1, &a, &err), EB_ERR_ARG);
    cr_assert_eq(eb_tabular_ood_gaussian(1, 3, NULL, &a, &err), EB_ERR_ARG);
    cr_assert_null(a.x);
    cr_assert_eq(eb_tabular_ood_gaussian(0, 3, &r1, &a, &err), EB_OK); /* empty set is fine */
    cr_assert_eq(a.n, 0);
    eb_dataset_free(&a);
}

/* ---- eb_dataset helpers ------------------------------------------------------------------- */

Test(dataset, subset_copies_rows_labels_and_names) {
    eb_dataset d;
    cr_assert_eq(eb_dataset_alloc(4, 2, 3, true, &d, NULL), EB_OK);
    for (int i = 0; i < 8; i++) d.x[i] = (float)i;
    for (int i = 0; i < 4; i++) d.y[i] = i % 3;
    const char *names[3] = {"a", "b", "c"};
    cr_assert_eq(eb_dataset_set_class_names(&d, names, NULL), EB_OK);
    eb_dataset s;
    cr_assert_eq(eb_dataset_subset(&d, (int64_t[]){3, 0, 3}, 3, &s, NULL), EB_OK);
    cr_assert_eq(s.n, 3);
    const float x[6] = {6, 7, 0, 1, 6, 7};
    for (int i = 0; i < 6; i++) cr_assert_eq(s.x[i], x[i]);
    cr_assert_eq(s.y[0], 0);
    cr_assert_eq(s.y[1], 0);
    cr_assert_eq(s.num_classes, 3);
    cr_assert_str_eq(s.class_names[2], "c");
    cr_assert_neq((void *)s.class_names, (void *)d.class_names);
    eb_error err = {0};
    eb_dataset t;
    cr_assert_eq(eb_dataset_subset(&d, (int64_t[]){4}, 1, &t, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "row index 4"), "%s", err.message);
    cr_assert_null(t.x);
    d.x[5] = NAN;
    cr_assert_eq(eb_dataset_check_finite(&d, "thing.csv", &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "thing.csv: row 3, column 2"), "%s", err.message);
    eb_dataset_free(&s);
    eb_dataset_free(&d);
    eb_dataset_free(&d);
    eb_dataset_free(NULL);
}
