/* HEAT's 2-D toy data (src/data/toy2d.c): shapes, labels, geometry (each point lies near its arm of
 * its cross), reproducibility from the seed, the built-in split, bad parameters. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>
#include <math.h>
#include <string.h>

/* Distance of (x, y) − centre to arm `arm` (0: along (1, 1), 1: along (1, −1)) and the position t
 * along it. */
static void arm_coords(double x, double y, int arm, double *along, double *across) {
    const double s = 0.70710678118654752440;
    double ux = s, uy = arm == 0 ? s : -s;
    *along = x * ux + y * uy;
    *across = fabs(-x * uy + y * ux);
}

Test(toy2d, cross_geometry_and_labels) {
    enum { N = 4000 };
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_dataset d;
    eb_error err = {0};
    cr_assert_eq(eb_toy2d_cross(N, NULL, &rng, &d, &err), EB_OK, "%s", err.message);
    eb_toy2d_params p = eb_toy2d_default_params("cross");
    cr_assert(p.half_length == 2.0 && p.noise == 0.15);
    cr_assert_eq(d.n, N);
    cr_assert_eq(d.dim, 2);
    cr_assert_eq(d.num_classes, 2);
    cr_assert_str_eq(d.class_names[0], "arm0");
    cr_assert_str_eq(d.class_names[1], "arm1");
    int count[2] = {0, 0};
    double across_sq = 0, max_along = 0;
    for (int i = 0; i < N; i++) {
        int y = d.y[i];
        cr_assert(y == 0 || y == 1);
        count[y]++;
        double along, across;
        arm_coords((double)d.x[2 * i], (double)d.x[2 * i + 1], y, &along, &across);
        across_sq += across * across;
        max_along = fmax(max_along, fabs(along));
        cr_assert(across < 6 * p.noise, "point %d is %.3f off its arm", i, across);
    }
    /* the noise across the arm is N(0, σ²): its RMS is σ; along the arm U(−L, L) (+ noise) */
    double rms = sqrt(across_sq / N);
    cr_assert(fabs(rms - p.noise) < 0.01, "RMS distance to the arm %.4f, σ = %.2f", rms, p.noise);
    cr_assert(max_along > p.half_length - 0.1 && max_along < p.half_length + 6 * p.noise, "max |t| %.3f",
              max_along);
    cr_assert(abs(count[0] - count[1]) < 300, "arms %d / %d", count[0], count[1]);
    eb_dataset_free(&d);
}

Test(toy2d, crosses_on_a_grid) {
    enum { N = 9000 };
    eb_rng rng;
    eb_rng_seed(&rng, 2);
    eb_dataset d;
    eb_error err = {0};
    cr_assert_eq(eb_toy2d_crosses(N, NULL, &rng, &d, &err), EB_OK, "%s", err.message);
    eb_toy2d_params p = eb_toy2d_default_params("crosses");
    cr_assert_eq(d.num_classes, 9);
    cr_assert_str_eq(d.class_names[8], "cross8");
    int count[9] = {0};
    for (int i = 0; i < N; i++) {
        int k = d.y[i];
        cr_assert(k >= 0 && k < 9);
        count[k]++;
        double cx = (k / 3 - 1) * p.spacing, cy = (k % 3 - 1) * p.spacing;
        double x = (double)d.x[2 * i] - cx, y = (double)d.x[2 * i + 1] - cy;
        double a0, c0, a1, c1;
        arm_coords(x, y, 0, &a0, &c0);
        arm_coords(x, y, 1, &a1, &c1);
        cr_assert(fmin(c0, c1) < 6 * p.noise && fmax(fabs(a0), fabs(a1)) < p.half_length + 6 * p.noise,
                  "point %d (%.2f, %.2f) is not on cross %d", i, (double)d.x[2 * i], (double)d.x[2 * i + 1],
                  k);
    }
    for (int k = 0; k < 9; k++)
        cr_assert(count[k] > 850 && count[k] < 1150, "cross %d: %d points", k, count[k]);
    eb_dataset_free(&d);
}

Test(toy2d, same_seed_same_data) {
    eb_rng a, b, c;
    eb_rng_seed(&a, 7);
    eb_rng_seed(&b, 7);
    eb_rng_seed(&c, 8);
    eb_dataset da, db, dc;
    cr_assert_eq(eb_toy2d_crosses(100, NULL, &a, &da, NULL), EB_OK);
    cr_assert_eq(eb_toy2d_crosses(100, NULL, &b, &db, NULL), EB_OK);
    cr_assert_eq(eb_toy2d_crosses(100, NULL, &c, &dc, NULL), EB_OK);
    cr_assert_eq(memcmp(da.x, db.x, sizeof(float) * 200), 0);
    cr_assert_eq(memcmp(da.y, db.y, sizeof(int32_t) * 100), 0);
    cr_assert_neq(memcmp(da.x, dc.x, sizeof(float) * 200), 0);
    eb_dataset_free(&da);
    eb_dataset_free(&db);
    eb_dataset_free(&dc);
}

Test(toy2d, builtin_split) {
    eb_tabular_split s;
    eb_error err = {0};
    cr_assert_eq(eb_toy2d_split("crosses", 3, &s, &err), EB_OK, "%s", err.message);
    cr_assert_eq(s.train.n, 4500);
    cr_assert_eq(s.val.n, 500);
    cr_assert_eq(s.test.n, 500);
    cr_assert_eq(s.ood.n, 500);
    cr_assert_null(s.ood.y);
    cr_assert_eq(s.dim, 2);
    cr_assert_null(s.mean, "not z-scored");
    cr_assert_str_eq(s.feature_names[1], "y");
    double box[4];
    cr_assert_eq(eb_toy2d_box("crosses", box, NULL), EB_OK);
    for (int64_t i = 0; i < s.ood.n; i++)
        cr_assert((double)s.ood.x[2 * i] >= box[0] && (double)s.ood.x[2 * i] < box[1] &&
                  (double)s.ood.x[2 * i + 1] >= box[2] && (double)s.ood.x[2 * i + 1] < box[3]);
    for (int64_t i = 0; i < s.train.n; i++) /* the box holds the data */
        cr_assert(fabs((double)s.train.x[2 * i]) < box[1] && fabs((double)s.train.x[2 * i + 1]) < box[3]);
    eb_tabular_split t;
    cr_assert_eq(eb_toy2d_split("crosses", 3, &t, NULL), EB_OK);
    cr_assert_eq(memcmp(s.test.x, t.test.x, sizeof(float) * 1000), 0, "seeded");
    eb_tabular_split_free(&t);
    eb_tabular_split_free(&s);
    cr_assert_eq(eb_toy2d_split("cross", 3, &s, NULL), EB_OK);
    cr_assert_eq(s.train.n, 2000);
    cr_assert_eq(s.train.num_classes, 2);
    eb_tabular_split_free(&s);
}

Test(toy2d, bad_parameters) {
    eb_rng rng;
    eb_rng_seed(&rng, 0);
    eb_dataset d;
    eb_error err = {0};
    cr_assert_eq(eb_toy2d_cross(-1, NULL, &rng, &d, &err), EB_ERR_ARG);
    cr_assert_null(d.x);
    cr_assert_eq(eb_toy2d_cross(10, NULL, NULL, &d, &err), EB_ERR_ARG);
    eb_toy2d_params p = {0, 0.1, 0};
    cr_assert_eq(eb_toy2d_cross(10, &p, &rng, &d, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "half_length"), "%s", err.message);
    p = (eb_toy2d_params){1, NAN, 1};
    cr_assert_eq(eb_toy2d_cross(10, &p, &rng, &d, &err), EB_ERR_ARG);
    p = (eb_toy2d_params){1, 0.1, 0};
    cr_assert_eq(eb_toy2d_crosses(10, &p, &rng, &d, &err), EB_ERR_ARG, "crosses need a spacing");
    cr_assert_eq(eb_toy2d_cross(10, &p, &rng, &d, &err), EB_OK, "a cross does not");
    eb_dataset_free(&d);
    cr_assert_eq(eb_toy2d_cross(0, NULL, &rng, &d, &err), EB_OK);
    cr_assert_eq(d.n, 0);
    eb_dataset_free(&d);
    eb_tabular_split s;
    cr_assert_eq(eb_toy2d_split("moons", 1, &s, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "moons"), "%s", err.message);
    double box[4];
    cr_assert_eq(eb_toy2d_box(NULL, box, NULL), EB_ERR_ARG);
}
