/* eb_sgld_sample_rows (the chains split into one row block per thread) against eb_sgld_sample on all
 * chains at once: the same noise stream and update, so the chains agree up to the float rounding of the
 * blocked products; labels of class-conditional sampling follow their rows into the blocks; every row is
 * evaluated exactly once per step; a block's error is reported; one thread, or a step too small to be
 * worth splitting, is eb_sgld_sample exactly; a share of the chains (eb_sgld_sample_rows_share) moves as
 * its rows of all of them. Also: the parallel normal fill (the SGLD noise) is the serial stream bitwise. */
#include <criterion/criterion.h>

#include <ebood/ebm.h>
#include <ebood/nn.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static eb_model *small_mlp(void) {
    eb_mlp_config c = eb_mlp_default_config(6, 3); /* wide enough that a step's graph passes 1 MiB */
    c.n_hidden = 2;
    c.hidden[0] = 128;
    c.hidden[1] = 128;
    eb_rng rng;
    eb_rng_seed(&rng, 3);
    eb_model *m = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    return m;
}

/* Runs both samplers from the same start and seed with `threads` threads; max relative difference. */
static double compare(eb_model *m, const int32_t *labels, int64_t n, int threads, bool expect_exact) {
    const int64_t dim = 6;
    float *x0 = malloc((size_t)(n * dim) * sizeof *x0), *xa = malloc((size_t)(n * dim) * sizeof *xa),
          *xb = malloc((size_t)(n * dim) * sizeof *xb);
    eb_rng init;
    eb_rng_seed(&init, 9);
    eb_rng_fill_uniform(&init, x0, n * dim, -1, 1);
    memcpy(xa, x0, (size_t)(n * dim) * sizeof *xa);
    memcpy(xb, x0, (size_t)(n * dim) * sizeof *xb);
    eb_sgld_params p = eb_sgld_default_params();
    p.steps = 6;
    p.step_size = (eb_decay){0.1, 0.1, EB_DECAY_CONSTANT};
    eb_model_density d = {.model = m, .labels = labels};
    eb_graph *ga = eb_graph_new(0, NULL), *gb = eb_graph_new(0, NULL);
    eb_rng ra, rb;
    eb_rng_seed(&ra, 21);
    eb_rng_seed(&rb, 21);
    eb_sgld_stats sa, sb;
    eb_error err = {0};
    const int saved = eb_threads_get();
    eb_threads_set(threads);
    cr_assert_eq(eb_sgld_sample(eb_model_log_density, &d, xa, n, dim, &p, &ra, ga, &sa, &err), EB_OK, "%s",
                 err.message);
    cr_assert_eq(eb_sgld_sample_rows(eb_model_log_density_rows, &d, xb, n, dim, &p, &rb, gb, &sb, &err),
                 EB_OK, "%s", err.message);
    eb_threads_set(saved);
    cr_assert_eq(sa.steps, sb.steps);
    double worst = 0.0, moved = 0.0;
    for (int64_t i = 0; i < n * dim; i++) {
        double diff = fabs((double)xa[i] - (double)xb[i]) / (1.0 + fabs((double)xa[i]));
        if (diff > worst) worst = diff;
        moved += fabs((double)xa[i] - (double)x0[i]);
    }
    cr_assert_gt(moved, 1e-3, "the chains did not move");
    cr_assert_leq(fabs(sa.last_mean - sb.last_mean), 1e-5 * (1.0 + fabs(sa.last_mean)), "last mean %g vs %g",
                  sa.last_mean, sb.last_mean);
    if (expect_exact)
        cr_assert_eq(memcmp(xa, xb, (size_t)(n * dim) * sizeof *xa), 0, "one block is not exact");
    eb_graph_free(ga);
    eb_graph_free(gb);
    free(x0);
    free(xa);
    free(xb);
    return worst;
}

Test(sgld_rows, matches_one_block_logsumexp) {
    eb_model *m = small_mlp();
    cr_assert_leq(compare(m, NULL, 603, 3, false), 1e-5);
    compare(m, NULL, 603, 1, true);
    compare(m, NULL, 40, 4, true);  /* 40 rows: one block (< 2 × 32 rows) */
    compare(m, NULL, 200, 2, true); /* 200 rows: a step's graph under 1 MiB, one block */
    eb_model_free(m);
}

Test(sgld_rows, labels_follow_their_rows) {
    eb_model *m = small_mlp();
    const int64_t n = 500;
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    for (int64_t i = 0; i < n; i++) labels[i] = (int32_t)((i * 7 + i / 150) % 3); /* differ between blocks */
    cr_assert_leq(compare(m, labels, n, 2, false), 1e-5);
    cr_assert_leq(compare(m, labels, n, 4, false), 1e-5);
    free(labels);
    eb_model_free(m);
}

/* f(x) = −½‖x‖² per row, recording which rows it saw; fails when asked (for row blocks past the first). */
typedef struct probe {
    int *seen; /* per row: evaluations */
    bool fail_later_blocks;
} probe;

static eb_tensor *probe_density(void *ctx, eb_graph *g, eb_tensor *x, int64_t row0) {
    probe *q = ctx;
    for (int64_t i = 0; i < x->shape[0]; i++) q->seen[row0 + i]++;
    eb_tensor_zeros(g, 1, EB_SHAPE(1 << 18)); /* 1 MiB on the tape: enough "work" for the split */
    if (q->fail_later_blocks && row0 > 0) {
        eb_graph_fail(g, EB_ERR_ARG, "probe: block at row %lld refuses", (long long)row0);
        return x;
    }
    return eb_mul_scalar(g, eb_sum(g, eb_square(g, x), 1, false), -0.5f);
}

Test(sgld_rows, every_row_once_per_step_and_block_errors) {
    const int64_t n = 130, dim = 3, steps = 4;
    float *x = calloc((size_t)(n * dim), sizeof *x);
    probe q = {calloc((size_t)n, sizeof(int)), false};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_sgld_params p = eb_sgld_default_params();
    p.steps = steps;
    eb_error err = {0};
    const int saved = eb_threads_get();
    eb_threads_set(4); /* 130 rows → 4 blocks of 32–33 */
    cr_assert_eq(eb_sgld_sample_rows(probe_density, &q, x, n, dim, &p, &rng, g, NULL, &err), EB_OK, "%s",
                 err.message);
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(q.seen[i], steps, "row %lld seen %d times", (long long)i, q.seen[i]);
    q.fail_later_blocks = true;
    eb_status st = eb_sgld_sample_rows(probe_density, &q, x, n, dim, &p, &rng, g, NULL, &err);
    eb_threads_set(saved);
    cr_assert_eq(st, EB_ERR_ARG);
    cr_assert(strstr(err.message, "refuses") != NULL, "message: %s", err.message);
    cr_assert_eq(eb_sgld_sample_rows(NULL, &q, x, n, dim, &p, &rng, g, NULL, &err), EB_ERR_ARG);
    eb_graph_free(g);
    free(q.seen);
    free(x);
}

/* eb_sgld_sample_rows_share (a data-parallel rank's chains): shares [0, 4), [4, 7), [7, 10) of 10 chains
 * sampled from the same stream are, bitwise, the rows of the 10 chains sampled at once (each step draws
 * the noise of all of them and takes its rows); a share outside the chains is refused. */
Test(sgld_rows, a_share_moves_as_its_rows_of_all_chains) {
    const int64_t n = 10, dim = 3, cuts[] = {0, 4, 7, 10};
    float *x0 = malloc((size_t)(n * dim) * sizeof *x0), *all = malloc((size_t)(n * dim) * sizeof *all),
          *part = malloc((size_t)(n * dim) * sizeof *part);
    probe q = {calloc((size_t)n, sizeof(int)), false};
    eb_rng rng;
    eb_rng_seed(&rng, 4);
    eb_rng_fill_uniform(&rng, x0, n * dim, -2, 2);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_sgld_params p = eb_sgld_default_params();
    p.steps = 5;
    p.step_size = (eb_decay){0.1, 0.1, EB_DECAY_CONSTANT};
    p.noise = (eb_decay){0.3, 0.3, EB_DECAY_CONSTANT};
    eb_error err = {0};
    memcpy(all, x0, (size_t)(n * dim) * sizeof *all);
    memcpy(part, x0, (size_t)(n * dim) * sizeof *part);
    eb_rng_seed(&rng, 8);
    cr_assert_eq(eb_sgld_sample_rows(probe_density, &q, all, n, dim, &p, &rng, g, NULL, &err), EB_OK, "%s",
                 err.message);
    for (int k = 0; k < 3; k++) {
        eb_rng_seed(&rng, 8); /* every rank the same stream */
        cr_assert_eq(eb_sgld_sample_rows_share(probe_density, &q, part + cuts[k] * dim, n, cuts[k],
                                               cuts[k + 1], dim, &p, &rng, g, NULL, &err),
                     EB_OK, "%s", err.message);
    }
    cr_assert_eq(memcmp(all, part, (size_t)(n * dim) * sizeof *all), 0,
                 "the shares are not the whole's rows");
    cr_assert_neq(memcmp(all, x0, (size_t)(n * dim) * sizeof *all), 0, "the chains did not move");
    cr_assert_eq(eb_sgld_sample_rows_share(probe_density, &q, part, n, 8, 12, dim, &p, &rng, g, NULL, &err),
                 EB_ERR_ARG);
    cr_assert(strstr(err.message, "not a share of 10 chains") != NULL, "message: %s", err.message);
    eb_graph_free(g);
    free(q.seen);
    free(x0);
    free(all);
    free(part);
}

/* eb_rng_fill_normal's parallel transform gives eb_rng_normal's values bitwise, in order, and leaves the
 * same state (cached second value included), from an empty or a filled cache, odd and even n. */
Test(sgld_rows, parallel_normal_fill_is_the_serial_stream) {
    const int64_t sizes[] = {8192, 20001, 3};
    const int saved = eb_threads_get();
    eb_threads_set(2);
    for (int cached = 0; cached < 2; cached++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            const int64_t n = sizes[k];
            float *fill = malloc((size_t)n * sizeof *fill);
            eb_rng a, b;
            eb_rng_seed(&a, 77);
            if (cached) (void)eb_rng_normal(&a); /* leaves a second value cached */
            b = a;
            eb_rng_fill_normal(&a, fill, n, 0.5f, 0.01f);
            for (int64_t i = 0; i < n; i++) {
                float ref = 0.5f + 0.01f * (float)eb_rng_normal(&b);
                cr_assert(fill[i] == ref, "n %lld cached %d: value %lld %.9g vs %.9g", (long long)n, cached,
                          (long long)i, (double)fill[i], (double)ref);
            }
            cr_assert_eq(eb_rng_normal(&a), eb_rng_normal(&b), "state after the fill differs");
            cr_assert_eq(eb_rng_u64(&a), eb_rng_u64(&b));
            free(fill);
        }
    eb_threads_set(saved);
}
