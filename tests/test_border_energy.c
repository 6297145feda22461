/* Border energy of two 2-D point sets (src/eval/border_landscape.c; 000_d95ac7511efbaafc.txt Eq. 5, App.
 * B.4): the closed form midway between two single points, J against a direct sum without max-shifting, its
 * gradient against central differences, descent lowering J, the grid's values, bad input. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>
#include <math.h>
#include <stdlib.h>

/* β⁻¹ log Σ exp(−β/2 ‖q − x‖²) over pts[lo, hi), summed directly. */
static double lse_direct(const double q[2], const float *pts, int lo, int hi, double beta) {
    double s = 0;
    for (int i = lo; i < hi; i++) {
        double dx = q[0] - (double)pts[2 * i], dy = q[1] - (double)pts[2 * i + 1];
        s += exp(-0.5 * beta * (dx * dx + dy * dy));
    }
    return log(s) / beta;
}

static double j_direct(const float *pts, int n_id, int n_aux, double beta) {
    const int n = n_id + n_aux;
    double j = 0;
    for (int k = 0; k < n; k++) {
        const double q[2] = {(double)pts[2 * k], (double)pts[2 * k + 1]};
        j += lse_direct(q, pts, 0, n_id, beta) + lse_direct(q, pts, n_id, n, beta) -
             2 * lse_direct(q, pts, 0, n, beta);
    }
    return j / n;
}

Test(border_energy, midway_between_two_points_is_minus_two_log_two) {
    const float pts[4] = {-1, 0, 1, 0};
    eb_landscape l;
    cr_assert_eq(eb_border_landscape(pts, 1, 1, 3.0, (const double[]){-1, 1, -1, 1}, 3, 3, &l, NULL), EB_OK);
    cr_assert_float_eq(l.values[4], -2 * log(2.0), 1e-6, "β·L_OOD at (0, 0) = %g", (double)l.values[4]);
    cr_assert_lt(l.values[3], l.values[4], "lower at the ID point than on the border");
    cr_assert_lt(l.values[5], l.values[4]);
    cr_assert_float_eq(l.values[1], l.values[7], 1e-6, "symmetric in y");
    eb_landscape_free(&l);
}

Test(border_energy, loss_and_gradient) {
    eb_rng r;
    eb_rng_seed(&r, 7);
    enum { N_ID = 5, N_AUX = 4, N = N_ID + N_AUX };
    float pts[2 * N];
    for (int i = 0; i < 2 * N; i++) pts[i] = (float)eb_rng_normal(&r);
    for (int k = 0; k < 3; k++) {
        const double beta = (double[]){0.5, 2.0, 8.0}[k];
        double j, grad[2 * N];
        cr_assert_eq(eb_border_loss(pts, N_ID, N_AUX, beta, &j, grad, NULL), EB_OK);
        cr_assert_float_eq(j, j_direct(pts, N_ID, N_AUX, beta), 1e-9 * (1 + fabs(j)));
        double j_only;
        cr_assert_eq(eb_border_loss(pts, N_ID, N_AUX, beta, &j_only, NULL, NULL), EB_OK);
        cr_assert_float_eq(j_only, j, 1e-12 * (1 + fabs(j)));
        for (int i = 0; i < 2 * N; i++) { /* central differences on a float step the points can hold */
            const float keep = pts[i], h = 1.0f / 512;
            pts[i] = keep + h;
            const double up = j_direct(pts, N_ID, N_AUX, beta);
            pts[i] = keep - h;
            const double down = j_direct(pts, N_ID, N_AUX, beta);
            pts[i] = keep;
            const double fd = (up - down) / (2.0 * (double)h);
            cr_assert(fabs(fd - grad[i]) <= 1e-4 * (1 + fabs(fd)), "β %g, coordinate %d: %g vs %g", beta, i,
                      grad[i], fd);
        }
    }
}

Test(border_energy, descent_lowers_the_loss) {
    eb_rng r;
    eb_rng_seed(&r, 3);
    float pts[2 * 40];
    for (int i = 0; i < 40; i++) {
        pts[2 * i] = (float)((i < 20 ? -0.5 : 0.5) + 0.6 * eb_rng_normal(&r));
        pts[2 * i + 1] = (float)(0.6 * eb_rng_normal(&r));
    }
    double j0, j1;
    cr_assert_eq(eb_border_loss(pts, 20, 20, 2.0, &j0, NULL, NULL), EB_OK);
    cr_assert_eq(eb_border_descend(pts, 20, 20, 2.0, 0.1, 25, NULL, NULL), EB_OK);
    cr_assert_eq(eb_border_loss(pts, 20, 20, 2.0, &j1, NULL, NULL), EB_OK);
    cr_assert_lt(j1, j0, "J %g -> %g", j0, j1);
}

Test(border_energy, bad_input) {
    float pts[4] = {0, 0, 1, 1};
    double j;
    eb_landscape l;
    eb_error err = {0};
    cr_assert_eq(eb_border_loss(pts, 0, 2, 2.0, &j, NULL, &err), EB_ERR_ARG);
    cr_assert_eq(eb_border_loss(pts, 1, 1, 0.0, &j, NULL, &err), EB_ERR_ARG);
    cr_assert_eq(eb_border_descend(pts, 1, 1, 2.0, -1.0, 3, NULL, &err), EB_ERR_ARG);
    cr_assert_eq(eb_border_landscape(pts, 1, 1, 2.0, (const double[]){1, 0, 0, 1}, 10, 10, &l, &err),
                 EB_ERR_ARG);
    cr_assert_null(l.values);
    cr_assert_eq(eb_border_landscape(pts, 1, 1, 2.0, (const double[]){0, 1, 0, 1}, 1, 10, &l, &err),
                 EB_ERR_ARG);
}
