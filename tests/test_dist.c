/* The distributed layer in one process (include/ebood/dist.h): row shares, per-rank seeds, a context
 * outside mpirun (one rank, collectives the identity, no MPI call), and eb_detector_distribute with one
 * rank (nothing changes: the detector still saves). The multi-rank behaviour is tests/mpi (make mpi-check).
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <ebood/ebood.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

Test(dist, shares_cover_every_row_once_in_rank_order) {
    const int64_t ns[] = {0, 1, 2, 5, 12, 13, 1000003};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int size = 1; size <= 7; size++) {
            int64_t next = 0;
            for (int r = 0; r < size; r++) {
                int64_t lo, hi;
                eb_dist_share(ns[i], r, size, &lo, &hi);
                cr_assert_eq(lo, next, "n %lld size %d rank %d: starts at %lld", (long long)ns[i], size, r,
                             (long long)lo);
                const int64_t rows = hi - lo, base = ns[i] / size;
                cr_assert(rows == base || rows == base + 1, "n %lld size %d rank %d: %lld rows",
                          (long long)ns[i], size, r, (long long)rows);
                cr_assert_eq(rows, base + (r < ns[i] % size), "the first n mod size ranks hold one more");
                next = hi;
            }
            cr_assert_eq(next, ns[i]);
        }
}

Test(dist, outside_mpirun_one_rank_and_identity_collectives) {
    unsetenv("OMPI_COMM_WORLD_SIZE");
    unsetenv("PMIX_RANK");
    unsetenv("PMI_SIZE");
    eb_dist *d = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_dist_open(&d, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_dist_rank(d), 0);
    cr_assert_eq(eb_dist_size(d), 1);
    cr_assert_eq(eb_dist_rank(NULL), 0);
    cr_assert_eq(eb_dist_size(NULL), 1);
    float v[3] = {1.5f, -2.0f, 3.25f}, g[3];
    double w[2] = {0.1, 7.0}, gw[2];
    cr_assert_eq(eb_dist_sum_f32(d, v, 3, &err), EB_OK);
    cr_assert_eq(eb_dist_sum_f64(d, w, 2, &err), EB_OK);
    cr_assert_eq(eb_dist_bcast_f32(d, v, 3, 0, &err), EB_OK);
    cr_assert(v[0] == 1.5f && v[1] == -2.0f && v[2] == 3.25f && w[0] == 0.1 && w[1] == 7.0);
    cr_assert_eq(eb_dist_allgather_f32(d, v, 3, g, &err), EB_OK);
    cr_assert_eq(eb_dist_allgather_f64(d, w, 2, gw, &err), EB_OK);
    cr_assert(memcmp(g, v, sizeof v) == 0 && memcmp(gw, w, sizeof w) == 0);
    eb_dist_abort(d, 3); /* one process: returns */
    eb_dist_close(d);
    eb_dist_close(NULL);
}

/* a plain build started by mpirun on 2 ranks must not run (each rank would redo the whole job) */
Test(dist, plain_build_refuses_several_ranks) {
    if (eb_dist_compiled()) cr_skip_test("built with MPI: the refusal is the plain build's");
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    eb_dist *d = (eb_dist *)1;
    eb_error err = {0};
    cr_assert_eq(eb_dist_open(&d, &err), EB_ERR_UNSUPPORTED);
    cr_assert_null(d);
    cr_assert(strstr(err.message, "built without MPI") && strstr(err.message, "2 ranks"), "%s", err.message);
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1); /* mpirun -np 1: one process, fine */
    cr_assert_eq(eb_dist_open(&d, &err), EB_OK);
    cr_assert_eq(eb_dist_size(d), 1);
    eb_dist_close(d);
    unsetenv("OMPI_COMM_WORLD_SIZE");
}

Test(dist, seeds_rank_zero_is_the_run_seed_others_differ) {
    cr_assert_eq(eb_dist_seed(NULL, 42), 42u);
    eb_dist *d = NULL;
    cr_assert_eq(eb_dist_open(&d, NULL), EB_OK);
    cr_assert_eq(eb_dist_seed(d, 42), 42u);
    eb_dist_close(d);
}

Test(dist, distribute_on_one_rank_changes_nothing) {
    const int64_t n = 40, dim = 5;
    float *x = malloc((size_t)(n * dim) * sizeof *x), s1[40], s2[40];
    eb_rng rng;
    eb_rng_seed(&rng, 7);
    for (int64_t i = 0; i < n * dim; i++) x[i] = (float)eb_rng_normal(&rng);
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_KNN);
    p.k = 3;
    eb_detector *d = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_detector_new(EB_DETECTOR_KNN, &p, &d, &err), EB_OK);
    eb_detector_data data = {.n = n, .features = x, .dim = dim};
    cr_assert_eq(eb_detector_fit(d, &data, NULL, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_detector_score(d, &data, s1, &err), EB_OK);
    eb_dist *one = NULL;
    cr_assert_eq(eb_dist_open(&one, &err), EB_OK);
    cr_assert_eq(eb_detector_distribute(d, one, true, &err), EB_OK);
    cr_assert_eq(eb_detector_score(d, &data, s2, &err), EB_OK);
    cr_assert(memcmp(s1, s2, sizeof s1) == 0);
    char path[512];
    eb_test_path(path, sizeof path, "dist_one_rank.safetensors");
    cr_assert_eq(eb_detector_save(d, path, NULL, 0, &err), EB_OK, "not released on one rank: %s",
                 err.message);
    cr_assert_eq(eb_detector_distribute(NULL, one, false, &err), EB_ERR_ARG);
    remove(path);
    eb_dist_close(one);
    eb_detector_free(d);
    free(x);
}
