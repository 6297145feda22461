/* eb_tabular_split_make / _apply / the recipe (src/data/tabular_split.c): the Segment protocol for any
 * labelled table — sizes and seeded reproducibility of the val/test fractions, the held-out class,
 * constant columns dropped, the z-score against statistics computed here in double, the recipe's
 * round trip, and each bad input. (Segment itself goes through the same function: test_data_segment.c.) */
#include <criterion/criterion.h>
#include <ebood/data.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* n rows, 4 columns: c0 = i (scale 100s), c1 = 5 (constant), c2 = 1000 + 37·(i mod 11), c3 = (i mod 3) − 1;
 * 3 classes "a", "b", "c" = i mod 3 (or unnamed numeric labels). */
static void table(int64_t n, bool named, eb_dataset *d) {
    cr_assert_eq(eb_dataset_alloc(n, 4, 3, true, d, NULL), EB_OK);
    for (int64_t i = 0; i < n; i++) {
        float *x = d->x + i * 4;
        x[0] = (float)(100 * i);
        x[1] = 5.0f;
        x[2] = (float)(1000 + 37 * (i % 11));
        x[3] = (float)(i % 3) - 1.0f;
        d->y[i] = (int32_t)((i * 7) % 3);
    }
    const char *names[3] = {"a", "b", "c"};
    if (named) cr_assert_eq(eb_dataset_set_class_names(d, names, NULL), EB_OK);
}

static const char *const columns[4] = {"pos", "flat", "wave", "tri"};

Test(tabular_split, fractions_are_seeded_and_disjoint) {
    eb_dataset all;
    table(200, true, &all);
    eb_tabular_params p = eb_tabular_default_params();
    p.val_frac = 0.15;
    p.test_frac = 0.25;
    p.seed = 7;
    p.standardize = false;
    eb_tabular_split a, b, c;
    eb_error err = {0};
    cr_assert_eq(eb_tabular_split_make(&all, columns, &p, "t.csv", &a, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_tabular_split_make(&all, columns, &p, "t.csv", &b, &err), EB_OK);
    p.seed = 8;
    cr_assert_eq(eb_tabular_split_make(&all, columns, &p, "t.csv", &c, &err), EB_OK);
    /* int() lengths: train ⌊0.6·200⌋ = 120, val ⌊0.15·200⌋ = 30, test the rest */
    cr_assert_eq(a.train.n, 120);
    cr_assert_eq(a.val.n, 30);
    cr_assert_eq(a.test.n, 50);
    cr_assert_eq(a.ood.n, 0);
    cr_assert_eq(a.dim, 4); /* not standardised: every column kept */
    cr_assert_null(a.mean);
    cr_assert_null(a.dropped);
    /* the same seed, the same rows; another seed, another order */
    cr_assert_eq(memcmp(a.test.x, b.test.x, (size_t)(a.test.n * 4) * sizeof(float)), 0);
    cr_assert_neq(memcmp(a.test.x, c.test.x, (size_t)(a.test.n * 4) * sizeof(float)), 0);
    /* every row exactly once (column 0 is the row index × 100) with its label */
    int seen[200] = {0};
    const eb_dataset *parts[3] = {&a.train, &a.val, &a.test};
    for (int s = 0; s < 3; s++)
        for (int64_t i = 0; i < parts[s]->n; i++) {
            int row = (int)(parts[s]->x[i * 4] / 100);
            cr_assert(row >= 0 && row < 200);
            seen[row]++;
            cr_assert_eq(parts[s]->y[i], all.y[row]);
            cr_assert_str_eq(parts[s]->class_names[parts[s]->y[i]], all.class_names[all.y[row]]);
        }
    for (int i = 0; i < 200; i++) cr_assert_eq(seen[i], 1, "row %d seen %d times", i, seen[i]);
    eb_tabular_split_free(&a);
    eb_tabular_split_free(&b);
    eb_tabular_split_free(&c);
    eb_dataset_free(&all);
}

Test(tabular_split, no_fractions_keeps_the_file_order) {
    eb_dataset all;
    table(30, true, &all);
    eb_tabular_params p = eb_tabular_default_params();
    p.standardize = false;
    eb_tabular_split s;
    cr_assert_eq(eb_tabular_split_make(&all, NULL, &p, "t.csv", &s, NULL), EB_OK);
    cr_assert_eq(s.train.n, 30);
    cr_assert_eq(s.val.n + s.test.n + s.ood.n, 0);
    cr_assert_eq(memcmp(s.train.x, all.x, 30 * 4 * sizeof(float)), 0);
    eb_tabular_split_free(&s);
    eb_dataset_free(&all);
}

Test(tabular_split, held_out_class_and_remapped_labels) {
    eb_dataset all;
    table(90, true, &all);
    eb_tabular_params p = eb_tabular_default_params();
    p.ood_class = "b";
    p.test_frac = 0.2;
    p.standardize = false;
    eb_tabular_split s;
    eb_error err = {0};
    cr_assert_eq(eb_tabular_split_make(&all, columns, &p, "t.csv", &s, &err), EB_OK, "%s", err.message);
    cr_assert_eq(s.ood.n, 30);
    cr_assert_null(s.ood.y);
    cr_assert_eq(s.train.n + s.test.n, 60);
    cr_assert_eq(s.train.num_classes, 2);
    cr_assert_str_eq(s.train.class_names[0], "a");
    cr_assert_str_eq(s.train.class_names[1], "c");
    cr_assert_str_eq(s.ood_class, "b");
    for (int64_t i = 0; i < s.ood.n; i++) cr_assert_eq(all.y[(int)(s.ood.x[i * 4] / 100)], 1);
    for (int64_t i = 0; i < s.test.n; i++) {
        int row = (int)(s.test.x[i * 4] / 100);
        cr_assert_eq(s.test.y[i], all.y[row] == 0 ? 0 : 1);
    }
    eb_tabular_split_free(&s);
    /* numeric labels: the class is named by its number */
    eb_dataset num;
    table(30, false, &num);
    p.ood_class = "2";
    cr_assert_eq(eb_tabular_split_make(&num, NULL, &p, "n.csv", &s, &err), EB_OK, "%s", err.message);
    cr_assert_eq(s.ood.n, 10);
    cr_assert_str_eq(s.train.class_names[1], "1");
    eb_tabular_split_free(&s);
    eb_dataset_free(&num);
    eb_dataset_free(&all);
}

Test(tabular_split, constant_columns_dropped_and_train_statistics) {
    eb_dataset all;
    table(120, true, &all);
    eb_tabular_params p = eb_tabular_default_params(); /* standardize */
    p.val_frac = 0.1;
    p.test_frac = 0.1;
    p.seed = 3;
    eb_tabular_split s, raw;
    eb_error err = {0};
    cr_assert_eq(eb_tabular_split_make(&all, columns, &p, "t.csv", &s, &err), EB_OK, "%s", err.message);
    p.standardize = false;
    cr_assert_eq(eb_tabular_split_make(&all, columns, &p, "t.csv", &raw, &err), EB_OK);
    cr_assert_eq(s.dim, 3);
    cr_assert_eq(s.n_columns, 4);
    cr_assert_str_eq(s.dropped, "flat");
    cr_assert_str_eq(s.feature_names[1], "wave");
    int64_t want_keep[3] = {0, 2, 3};
    for (int j = 0; j < 3; j++) {
        cr_assert_eq(s.keep[j], want_keep[j]);
        /* mean and population std of the raw train rows, in double */
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < raw.train.n; i++) sum += (double)raw.train.x[i * 4 + want_keep[j]];
        double mu = sum / (double)raw.train.n;
        for (int64_t i = 0; i < raw.train.n; i++) {
            double c = (double)raw.train.x[i * 4 + want_keep[j]] - mu;
            sq += c * c;
        }
        double sd = sqrt(sq / (double)raw.train.n);
        cr_assert_float_eq(s.mean[j], mu, 1e-3 * fabs(mu) + 1e-6);
        cr_assert_float_eq(s.std[j], sd, 1e-5 * sd);
        /* every split in the same space: test rows = (raw − μ)/σ */
        for (int64_t i = 0; i < s.test.n; i++)
            cr_assert_float_eq(s.test.x[i * 3 + j], ((double)raw.test.x[i * 4 + want_keep[j]] - mu) / sd,
                               1e-4);
        /* the train rows are z-scored: mean 0, std 1 */
        double m2 = 0;
        for (int64_t i = 0; i < s.train.n; i++) m2 += (double)s.train.x[i * 3 + j];
        cr_assert_float_eq(m2 / (double)s.train.n, 0.0, 1e-5);
    }
    eb_tabular_split_free(&s);
    eb_tabular_split_free(&raw);
    eb_dataset_free(&all);
}

Test(tabular_split, recipe_round_trip_and_apply) {
    eb_dataset all, rows;
    table(100, true, &all);
    eb_tabular_params p = eb_tabular_default_params();
    p.val_frac = 0.2;
    p.ood_class = "c";
    eb_tabular_split s, back;
    eb_error err = {0};
    cr_assert_eq(eb_tabular_split_make(&all, columns, &p, "t.csv", &s, &err), EB_OK, "%s", err.message);
    char *json = eb_tabular_split_recipe_json(&s);
    cr_assert_not_null(json);
    cr_assert_eq(eb_tabular_split_recipe_parse(json, "ck", &back, &err), EB_OK, "%s: %s", err.message, json);
    cr_assert_eq(back.n_columns, 4);
    cr_assert_eq(back.dim, 3);
    cr_assert_str_eq(back.ood_class, "c");
    cr_assert_float_eq(back.val_frac, 0.2, 1e-12);
    for (int j = 0; j < 3; j++) {
        cr_assert_eq(back.keep[j], s.keep[j]);
        cr_assert_eq(back.mean[j], s.mean[j]); /* %.9g: floats round-trip exactly */
        cr_assert_eq(back.std[j], s.std[j]);
    }
    /* the recipe puts the raw file's rows where the split put them (μ as float: within rounding) */
    cr_assert_eq(eb_dataset_alloc(all.n, 4, 3, true, &rows, NULL), EB_OK);
    memcpy(rows.x, all.x, (size_t)(all.n * 4) * sizeof(float));
    cr_assert_eq(eb_tabular_split_apply(&back, &rows, "t.csv", &err), EB_OK, "%s", err.message);
    cr_assert_eq(rows.dim, 3);
    for (int64_t i = 0; i < s.train.n; i++) {
        int64_t row = -1;
        for (int64_t r = 0; r < all.n && row < 0; r++)
            if (fabsf(rows.x[r * 3] - s.train.x[i * 3]) < 1e-4f) row = r;
        cr_assert_geq(row, 0);
        for (int j = 0; j < 3; j++) cr_assert_float_eq(rows.x[row * 3 + j], s.train.x[i * 3 + j], 1e-5);
    }
    /* another column count: one message naming the file */
    eb_dataset narrow;
    cr_assert_eq(eb_dataset_alloc(2, 3, 0, false, &narrow, NULL), EB_OK);
    cr_assert_eq(eb_tabular_split_apply(&back, &narrow, "other.csv", &err), EB_ERR_SHAPE);
    cr_assert(strstr(err.message, "expects 4 features, other.csv has 3"), "%s", err.message);
    /* malformed recipes */
    const char *bad[] = {
        "{", "{\"columns\": 4}",
        "{\"columns\":4,\"keep\":[2,1],\"val_split\":0,\"test_split\":0,"
        "\"ood_class\":null,\"seed\":1}",
        "{\"columns\":2,\"keep\":[0,5],\"val_split\":0,\"test_split\":0,\"ood_class\":null,"
        "\"seed\":1}",
        "{\"columns\":2,\"keep\":[0],\"mean\":[1],\"std\":[0],\"val_split\":0,\"test_split\":0,"
        "\"ood_class\":null,\"seed\":1}"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        eb_tabular_split x;
        cr_assert_eq(eb_tabular_split_recipe_parse(bad[k], "ck.st", &x, &err), EB_ERR_FORMAT, "%s", bad[k]);
        cr_assert(strstr(err.message, "ck.st: malformed"), "%s", err.message);
    }
    free(json);
    eb_dataset_free(&narrow);
    eb_dataset_free(&rows);
    eb_tabular_split_free(&s);
    eb_tabular_split_free(&back);
    eb_dataset_free(&all);
}

static void expect(const eb_dataset *d, eb_tabular_params p, eb_status want, const char *pattern) {
    eb_tabular_split s;
    eb_error err = {0};
    cr_assert_eq(eb_tabular_split_make(d, NULL, &p, "t.csv", &s, &err), want, "%s", err.message);
    cr_assert(strstr(err.message, pattern), "'%s' lacks '%s'", err.message, pattern);
    cr_assert_eq(s.train.n + s.dim, 0); /* nothing half-made */
}

Test(tabular_split, bad_input) {
    eb_dataset all;
    table(20, true, &all);
    eb_tabular_params p = eb_tabular_default_params();
    p.val_frac = 1.0;
    expect(&all, p, EB_ERR_ARG, "[0, 1)");
    p.val_frac = -0.1;
    expect(&all, p, EB_ERR_ARG, "[0, 1)");
    p.val_frac = 0.5;
    p.test_frac = 0.5;
    expect(&all, p, EB_ERR_ARG, "sum to less than 1");
    p = eb_tabular_default_params();
    p.ood_class = "zebra";
    expect(&all, p, EB_ERR_ARG, "no class named 'zebra' to hold out (classes: a, b, c)");
    p = eb_tabular_default_params();
    p.val_frac = 0.01; /* ⌊0.01·20⌋ = 0 */
    expect(&all, p, EB_ERR_FORMAT, "too few rows");
    /* only constant columns */
    for (int64_t i = 0; i < all.n; i++) all.x[i * 4] = all.x[i * 4 + 2] = all.x[i * 4 + 3] = 2.0f;
    expect(&all, eb_tabular_default_params(), EB_ERR_FORMAT, "t.csv: every feature column is constant");
    p = eb_tabular_default_params();
    p.standardize = false; /* as is: kept */
    eb_tabular_split s;
    cr_assert_eq(eb_tabular_split_make(&all, NULL, &p, "t.csv", &s, NULL), EB_OK);
    cr_assert_eq(s.dim, 4);
    eb_tabular_split_free(&s);
    /* one class only: nothing left once it is held out */
    for (int64_t i = 0; i < all.n; i++) all.y[i] = 0;
    eb_dataset one;
    cr_assert_eq(eb_dataset_alloc(all.n, 4, 1, true, &one, NULL), EB_OK);
    memcpy(one.x, all.x, (size_t)(all.n * 4) * sizeof(float));
    memset(one.y, 0, (size_t)all.n * sizeof(int32_t));
    p.ood_class = "0";
    expect(&one, p, EB_ERR_FORMAT, "leaves no class");
    eb_dataset_free(&one);
    eb_dataset_free(&all);
}
