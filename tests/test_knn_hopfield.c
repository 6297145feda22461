/* The similarity kernels (eb_knn_kth_distance, eb_knn_kth_inner_product, eb_hopfield_lse/lme,
 * and the blocked GEMM under them, src/ood/detectors/gemm_stream.c) against brute force in double,
 * and the knn / hopfield / hopfield_aux detectors against their formulas (knn.c, hopfield.c). */
#include <criterion/criterion.h>

#include <ebood/data.h>
#include <ebood/ood.h>
#include <ebood/safetensors.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ood/detectors/gemm_stream_impl.h"
#include "test_util.h"

/* ---- helpers -------------------------------------------------------------------------------------- */

static float *alloc_f(int64_t n) {
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    cr_assert_not_null(x);
    return x;
}

/* integers in [−3, 3]: every dot product (and squared norm) is exact in float */
static float *rand_int(eb_rng *rng, int64_t n, int64_t d) {
    float *x = alloc_f(n * d);
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)((int64_t)eb_rng_below(rng, 7) - 3);
    return x;
}

static float *rand_normal(eb_rng *rng, int64_t n, int64_t d, float std, bool normalise) {
    float *x = alloc_f(n * d);
    eb_rng_fill_normal(rng, x, n * d, 0.0f, std);
    if (normalise)
        for (int64_t i = 0; i < n; i++) {
            double ss = 0.0;
            for (int64_t c = 0; c < d; c++) ss += (double)x[i * d + c] * (double)x[i * d + c];
            for (int64_t c = 0; c < d; c++) x[i * d + c] = (float)((double)x[i * d + c] / sqrt(ss));
        }
    return x;
}

static double dot_d(const float *a, const float *b, int64_t d) {
    double s = 0.0;
    for (int64_t c = 0; c < d; c++) s += (double)a[c] * (double)b[c];
    return s;
}

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* k-th largest of v_j = q·b_j − bias_j (bias may be NULL), brute force in double. */
static void ref_kth(const float *q, int64_t nq, const float *b, int64_t nb, int64_t d, const double *bias,
                    int64_t k, double *out) {
    double *v = malloc((size_t)nb * sizeof *v);
    for (int64_t i = 0; i < nq; i++) {
        for (int64_t j = 0; j < nb; j++) v[j] = dot_d(q + i * d, b + j * d, d) - (bias ? bias[j] : 0.0);
        qsort(v, (size_t)nb, sizeof *v, cmp_desc);
        out[i] = v[k - 1];
    }
    free(v);
}

/* k-th smallest Euclidean distance, brute force in double. */
static void ref_kth_dist(const float *q, int64_t nq, const float *b, int64_t nb, int64_t d, int64_t k,
                         double *out) {
    double *v = malloc((size_t)nb * sizeof *v);
    for (int64_t i = 0; i < nq; i++) {
        for (int64_t j = 0; j < nb; j++) {
            double s = 0.0;
            for (int64_t c = 0; c < d; c++) {
                const double e = (double)q[i * d + c] - (double)b[j * d + c];
                s += e * e;
            }
            v[j] = -sqrt(s);
        }
        qsort(v, (size_t)nb, sizeof *v, cmp_desc);
        out[i] = -v[k - 1];
    }
    free(v);
}

/* (1/β)·log Σ_j exp(β q·b_j), max-shifted, in double. */
static void ref_lse(const float *q, int64_t nq, const float *b, int64_t nb, int64_t d, double beta,
                    double *out) {
    for (int64_t i = 0; i < nq; i++) {
        double m = -INFINITY;
        for (int64_t j = 0; j < nb; j++) m = fmax(m, beta * dot_d(q + i * d, b + j * d, d));
        double s = 0.0;
        for (int64_t j = 0; j < nb; j++) s += exp(beta * dot_d(q + i * d, b + j * d, d) - m);
        out[i] = (m + log(s)) / beta;
    }
}

/* the kernels to test on this CPU: generic always, AVX2 when available */
static int test_isas(eb__gemm_isa *isas) {
    int n = 0;
    isas[n++] = EB__GEMM_ISA_GENERIC;
    if (eb__gemm_isa_resolve(EB__GEMM_ISA_AUTO) == EB__GEMM_ISA_AVX2) isas[n++] = EB__GEMM_ISA_AVX2;
    return n;
}

/* ---- top-k: exact on integer data, ties, shapes ----------------------------------------------------- */

/* Random shapes: n_bank not a multiple of the 6-row tile, n_q not a multiple of the 16-query
 * sliver, k ∈ {1, n_bank, random}, few distinct values (many ties and duplicate rows). Integer
 * entries make every dot product exact, so the k-th value must equal brute force bit for bit. */
Test(knn_kernel, topk_exact_on_integer_data_random_shapes) {
    eb_rng rng;
    eb_rng_seed(&rng, 11);
    eb__gemm_isa isas[2];
    const int n_isa = test_isas(isas);
    for (int trial = 0; trial < 40; trial++) {
        const int64_t nq = 1 + (int64_t)eb_rng_below(&rng, 70), nb = 1 + (int64_t)eb_rng_below(&rng, 150),
                      d = 1 + (int64_t)eb_rng_below(&rng, 37);
        float *q = rand_int(&rng, nq, d), *b = rand_int(&rng, nb, d);
        if (nb > 4) memcpy(b + 3 * d, b + 1 * d, (size_t)d * sizeof *b); /* a duplicate row */
        const int64_t ks[3] = {1, nb, 1 + (int64_t)eb_rng_below(&rng, (uint64_t)nb)};
        double *bias = malloc((size_t)nb * sizeof *bias);
        float *bias_f = alloc_f(nb);
        for (int64_t j = 0; j < nb; j++) bias_f[j] = (float)(bias[j] = 0.5 * dot_d(b + j * d, b + j * d, d));
        double *want = malloc((size_t)nq * sizeof *want);
        float *got = alloc_f(nq);
        for (int ki = 0; ki < 3; ki++)
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                ref_kth(q, nq, b, nb, d, with_bias ? bias : NULL, ks[ki], want);
                for (int ii = 0; ii < n_isa; ii++) {
                    eb__gemm_opts o = {.isa = isas[ii]};
                    eb_error err = {0};
                    cr_assert_eq(
                        eb__gemm_topk(q, nq, b, nb, d, with_bias ? bias_f : NULL, ks[ki], got, &o, "t", &err),
                        EB_OK, "%s", err.message);
                    for (int64_t i = 0; i < nq; i++)
                        cr_assert_eq((double)got[i], want[i],
                                     "trial %d (nq %lld nb %lld d %lld k %lld bias %d isa %s) query %lld: "
                                     "got %.9g want %.9g",
                                     trial, (long long)nq, (long long)nb, (long long)d, (long long)ks[ki],
                                     with_bias, eb__gemm_isa_name(isas[ii]), (long long)i, (double)got[i],
                                     want[i]);
                }
            }
        free(q);
        free(b);
        free(bias);
        free(bias_f);
        free(want);
        free(got);
    }
}

/* All bank rows identical: the k-th value is the same for every k; a query equal to a row repeated
 * three times has distance exactly 0 for k = 1, 2, 3 and the next distance at k = 4. */
Test(knn_kernel, duplicates_and_ties) {
    const int64_t d = 5, nb = 13;
    float b[13 * 5];
    for (int64_t j = 0; j < nb; j++)
        for (int64_t c = 0; c < d; c++) b[j * d + c] = (float)(c + 1);
    float q[2 * 5] = {1, 0, 0, 0, 0, -1, 2, 0, 1, 3};
    float got[2];
    eb_error err = {0};
    for (int64_t k = 1; k <= nb; k++) {
        cr_assert_eq(eb_knn_kth_inner_product(q, 2, b, nb, d, k, got, &err), EB_OK, "%s", err.message);
        cr_assert_eq(got[0], 1.0f);
        cr_assert_eq(got[1], -1.0f + 4.0f + 4.0f + 15.0f);
    }
    /* rows 4, 7, 11 equal to the query; the rest at distance 1 or more */
    float b2[13 * 5];
    for (int64_t j = 0; j < nb; j++)
        for (int64_t c = 0; c < d; c++) b2[j * d + c] = (float)(j + c);
    const float target[5] = {2, -1, 0, 3, 1};
    memcpy(b2 + 4 * d, target, sizeof target);
    memcpy(b2 + 7 * d, target, sizeof target);
    memcpy(b2 + 11 * d, target, sizeof target);
    double want[1];
    for (int64_t k = 1; k <= nb; k++) {
        cr_assert_eq(eb_knn_kth_distance(target, 1, b2, nb, d, k, got, &err), EB_OK, "%s", err.message);
        ref_kth_dist(target, 1, b2, nb, d, k, want);
        if (k <= 3) cr_assert_eq(got[0], 0.0f, "k = %lld: got %g", (long long)k, (double)got[0]);
        cr_assert_float_eq((double)got[0], want[0], 1e-6 * (1.0 + want[0]), "k = %lld: got %g want %g",
                           (long long)k, (double)got[0], want[0]);
    }
    cr_assert_gt(got[0], 1.0f);
}

/* k = 1 is the maximum, k = n_bank the minimum. */
Test(knn_kernel, k_one_and_k_all) {
    eb_rng rng;
    eb_rng_seed(&rng, 3);
    const int64_t nq = 9, nb = 37, d = 11;
    float *q = rand_normal(&rng, nq, d, 1.0f, false), *b = rand_normal(&rng, nb, d, 1.0f, false);
    float lo[9], hi[9];
    cr_assert_eq(eb_knn_kth_inner_product(q, nq, b, nb, d, 1, hi, NULL), EB_OK);
    cr_assert_eq(eb_knn_kth_inner_product(q, nq, b, nb, d, nb, lo, NULL), EB_OK);
    for (int64_t i = 0; i < nq; i++) {
        double mx = -INFINITY, mn = INFINITY;
        for (int64_t j = 0; j < nb; j++) {
            const double v = dot_d(q + i * d, b + j * d, d);
            mx = fmax(mx, v);
            mn = fmin(mn, v);
        }
        cr_assert_float_eq((double)hi[i], mx, 1e-5);
        cr_assert_float_eq((double)lo[i], mn, 1e-5);
    }
    free(q);
    free(b);
}

/* Float data, sizes spanning several query blocks and tiles, both kernels, against brute force. */
Test(knn_kernel, kth_inner_product_and_distance_match_brute_force) {
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    const int64_t shapes[4][4] = {{100, 301, 64, 7}, {37, 50, 130, 50}, {5, 1000, 3, 200}, {70, 97, 1, 97}};
    eb__gemm_isa isas[2];
    const int n_isa = test_isas(isas);
    for (int s = 0; s < 4; s++) {
        const int64_t nq = shapes[s][0], nb = shapes[s][1], d = shapes[s][2], k = shapes[s][3];
        float *q = rand_normal(&rng, nq, d, 1.0f, true), *b = rand_normal(&rng, nb, d, 1.0f, true);
        double *want = malloc((size_t)nq * sizeof *want);
        float *got = alloc_f(nq);
        ref_kth(q, nq, b, nb, d, NULL, k, want);
        for (int ii = 0; ii < n_isa; ii++) {
            eb__gemm_opts o = {.isa = isas[ii], .block_bytes = 4096};
            cr_assert_eq(eb__gemm_topk(q, nq, b, nb, d, NULL, k, got, &o, "t", NULL), EB_OK);
            for (int64_t i = 0; i < nq; i++)
                cr_assert_float_eq((double)got[i], want[i], 1e-5, "shape %d isa %s query %lld: %.9g vs %.9g",
                                   s, eb__gemm_isa_name(isas[ii]), (long long)i, (double)got[i], want[i]);
        }
        /* the public kernels: inner product, and the distance on unnormalised data */
        cr_assert_eq(eb_knn_kth_inner_product(q, nq, b, nb, d, k, got, NULL), EB_OK);
        for (int64_t i = 0; i < nq; i++) cr_assert_float_eq((double)got[i], want[i], 1e-5);
        for (int64_t i = 0; i < nq * d; i++) q[i] *= 3.0f;
        for (int64_t i = 0; i < nb * d; i++) b[i] *= 2.0f;
        ref_kth_dist(q, nq, b, nb, d, k, want);
        cr_assert_eq(eb_knn_kth_distance(q, nq, b, nb, d, k, got, NULL), EB_OK);
        for (int64_t i = 0; i < nq; i++)
            cr_assert_float_eq((double)got[i], want[i], 1e-5 * (1.0 + want[i]),
                               "shape %d query %lld: %.9g vs %.9g", s, (long long)i, (double)got[i], want[i]);
        free(q);
        free(b);
        free(want);
        free(got);
    }
}

/* For L2-normalised rows the distance is sqrt(2 − 2·cos) of the k-th largest cosine. */
Test(knn_kernel, normalised_distance_is_sqrt_2_minus_2cos) {
    eb_rng rng;
    eb_rng_seed(&rng, 8);
    const int64_t nq = 20, nb = 200, d = 16, k = 10;
    float *q = rand_normal(&rng, nq, d, 1.0f, true), *b = rand_normal(&rng, nb, d, 1.0f, true);
    float dist[20], ip[20];
    cr_assert_eq(eb_knn_kth_distance(q, nq, b, nb, d, k, dist, NULL), EB_OK);
    cr_assert_eq(eb_knn_kth_inner_product(q, nq, b, nb, d, k, ip, NULL), EB_OK);
    for (int64_t i = 0; i < nq; i++)
        cr_assert_float_eq((double)dist[i], sqrt(2.0 - 2.0 * (double)ip[i]), 2e-6);
    free(q);
    free(b);
}

/* ---- results do not depend on threads or blocking ------------------------------------------------ */

Test(knn_kernel, thread_count_and_block_size_independence) {
    eb_rng rng;
    eb_rng_seed(&rng, 21);
    const int64_t nq = 333, nb = 1001, d = 40, k = 17;
    float *q = rand_normal(&rng, nq, d, 1.0f, false), *b = rand_normal(&rng, nb, d, 1.0f, false);
    float *r1 = alloc_f(nq), *r2 = alloc_f(nq), *l1 = alloc_f(nq), *l2 = alloc_f(nq), *d1 = alloc_f(nq),
          *d2 = alloc_f(nq);
    eb_threads_set(1);
    cr_assert_eq(eb_knn_kth_inner_product(q, nq, b, nb, d, k, r1, NULL), EB_OK);
    cr_assert_eq(eb_knn_kth_distance(q, nq, b, nb, d, k, d1, NULL), EB_OK);
    cr_assert_eq(eb_hopfield_lse(q, nq, b, nb, d, 2.5f, l1, NULL), EB_OK);
    eb_threads_set(2);
    cr_assert_eq(eb_knn_kth_inner_product(q, nq, b, nb, d, k, r2, NULL), EB_OK);
    cr_assert_eq(eb_knn_kth_distance(q, nq, b, nb, d, k, d2, NULL), EB_OK);
    cr_assert_eq(eb_hopfield_lse(q, nq, b, nb, d, 2.5f, l2, NULL), EB_OK);
    cr_assert_eq(memcmp(r1, r2, (size_t)nq * sizeof *r1), 0, "top-k differs between 1 and 2 threads");
    cr_assert_eq(memcmp(d1, d2, (size_t)nq * sizeof *d1), 0, "distances differ between 1 and 2 threads");
    cr_assert_eq(memcmp(l1, l2, (size_t)nq * sizeof *l1), 0, "lse differs between 1 and 2 threads");
    /* more threads than blocks, tiny blocks, odd thread counts: same bits */
    const eb__gemm_opts variants[4] = {{.threads = 3, .block_bytes = 1},
                                       {.threads = 1, .block_bytes = 1 << 20},
                                       {.threads = 2, .block_bytes = 10000},
                                       {.threads = 7}};
    double *lse_a = malloc((size_t)nq * sizeof *lse_a), *lse_b = malloc((size_t)nq * sizeof *lse_b);
    cr_assert_eq(eb__gemm_lse(q, nq, b, nb, d, 2.5f, lse_a, &variants[0], "t", NULL), EB_OK);
    for (int v = 0; v < 4; v++) {
        cr_assert_eq(eb__gemm_topk(q, nq, b, nb, d, NULL, k, r2, &variants[v], "t", NULL), EB_OK);
        cr_assert_eq(memcmp(r1, r2, (size_t)nq * sizeof *r1), 0, "top-k differs for variant %d", v);
        cr_assert_eq(eb__gemm_lse(q, nq, b, nb, d, 2.5f, lse_b, &variants[v], "t", NULL), EB_OK);
        cr_assert_eq(memcmp(lse_a, lse_b, (size_t)nq * sizeof *lse_a), 0, "lse differs for variant %d", v);
    }
    free(lse_a);
    free(lse_b);
    free(q);
    free(b);
    free(r1);
    free(r2);
    free(l1);
    free(l2);
    free(d1);
    free(d2);
}

Test(knn_kernel, zero_queries_is_a_noop) {
    float b[4] = {1, 2, 3, 4};
    cr_assert_eq(eb_knn_kth_distance(NULL, 0, b, 2, 2, 1, NULL, NULL), EB_OK);
    cr_assert_eq(eb_hopfield_lse(NULL, 0, b, 2, 2, 1.0f, NULL, NULL), EB_OK);
}

/* ---- bad input ------------------------------------------------------------------------------------ */

static void assert_err(eb_status st, eb_status want, const eb_error *err, const char *needle1,
                       const char *needle2) {
    cr_assert_eq(st, want, "status %d (%s), want %d", (int)st, err->message, (int)want);
    cr_assert(strstr(err->message, needle1), "message '%s' lacks '%s'", err->message, needle1);
    if (needle2) cr_assert(strstr(err->message, needle2), "message '%s' lacks '%s'", err->message, needle2);
}

Test(knn_kernel, bad_k) {
    float q[4] = {1, 0, 0, 1}, b[6] = {1, 0, 0, 1, 1, 1}, out[2];
    eb_error err = {0};
    assert_err(eb_knn_kth_distance(q, 2, b, 3, 2, 4, out, &err), EB_ERR_ARG, &err, "eb_knn_kth_distance",
               "k = 4");
    assert_err(eb_knn_kth_inner_product(q, 2, b, 3, 2, 0, out, &err), EB_ERR_ARG, &err,
               "eb_knn_kth_inner_product", "k = 0");
    assert_err(eb_knn_kth_inner_product(q, 2, b, 3, 2, -5, out, &err), EB_ERR_ARG, &err, "k = -5",
               "n_bank = 3");
}

Test(knn_kernel, nan_and_inf_inputs) {
    float q[6] = {1, 0, 0, 1, 2, 2}, b[6] = {1, 0, 0, 1, 1, 1}, out[3];
    eb_error err = {0};
    q[4] = NAN;
    assert_err(eb_knn_kth_distance(q, 3, b, 3, 2, 1, out, &err), EB_ERR_NUMERIC, &err, "queries[2, 0]",
               "NaN");
    assert_err(eb_hopfield_lse(q, 3, b, 3, 2, 1.0f, out, &err), EB_ERR_NUMERIC, &err, "eb_hopfield_lse",
               "queries[2, 0]");
    q[4] = 2;
    b[3] = INFINITY;
    assert_err(eb_knn_kth_inner_product(q, 3, b, 3, 2, 1, out, &err), EB_ERR_NUMERIC, &err, "bank[1, 1]",
               "+Inf");
    b[3] = -INFINITY;
    assert_err(eb_hopfield_lme(q, 3, b, 3, 2, 1.0f, out, &err), EB_ERR_NUMERIC, &err, "bank[1, 1]", "-Inf");
}

Test(knn_kernel, bad_shapes_pointers_beta_and_overflow) {
    float q[4] = {1, 0, 0, 1}, b[4] = {1, 0, 0, 1}, out[2];
    eb_error err = {0};
    assert_err(eb_knn_kth_distance(q, 2, NULL, 2, 2, 1, out, &err), EB_ERR_ARG, &err, "bank", "NULL");
    assert_err(eb_knn_kth_distance(NULL, 2, b, 2, 2, 1, out, &err), EB_ERR_ARG, &err, "queries", "NULL");
    assert_err(eb_knn_kth_distance(q, 2, b, 2, 2, 1, NULL, &err), EB_ERR_ARG, &err, "output", "NULL");
    assert_err(eb_knn_kth_distance(q, 2, b, 0, 2, 1, out, &err), EB_ERR_ARG, &err, "n_bank", NULL);
    assert_err(eb_knn_kth_distance(q, 2, b, 2, 0, 1, out, &err), EB_ERR_ARG, &err, "dim", NULL);
    assert_err(eb_knn_kth_distance(q, -1, b, 2, 2, 1, out, &err), EB_ERR_ARG, &err, "n_q", NULL);
    assert_err(eb_hopfield_lse(q, 2, b, 2, 2, 0.0f, out, &err), EB_ERR_ARG, &err, "beta", NULL);
    assert_err(eb_hopfield_lse(q, 2, b, 2, 2, NAN, out, &err), EB_ERR_ARG, &err, "beta", NULL);
    assert_err(eb_hopfield_lme(q, 2, b, 2, 2, -1.0f, out, &err), EB_ERR_ARG, &err, "eb_hopfield_lme", "beta");
    /* values whose dot products could overflow float */
    float big[4] = {3e18f, 0, 0, 3e18f};
    assert_err(eb_knn_kth_inner_product(big, 2, b, 2, 2, 1, out, &err), EB_ERR_NUMERIC, &err, "too large",
               NULL);
    assert_err(eb_hopfield_lse(q, 2, b, 2, 2, 1e37f, out, &err), EB_ERR_NUMERIC, &err, "too large", NULL);
}

/* ---- streaming log-sum-exp ------------------------------------------------------------------------ */

/* Against a direct double computation, both kernels, with β from small to large enough that
 * exp(β·s) overflows float (and double) without the max shift. */
Test(hopfield_kernel, lse_matches_double_reference) {
    eb_rng rng;
    eb_rng_seed(&rng, 9);
    eb__gemm_isa isas[2];
    const int n_isa = test_isas(isas);
    struct {
        int64_t nq, nb, d;
        float std, beta;
        bool normalise;
    } cases[] = {
        {50, 301, 32, 1.0f, 0.5f, true},  {50, 301, 32, 1.0f, 4.0f, true},   {17, 77, 8, 1.0f, 1000.0f, true},
        {40, 200, 64, 4.0f, 4.0f, false}, {33, 1000, 5, 10.0f, 2.0f, false}, {3, 7, 130, 1.0f, 1.0f, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t nq = cases[c].nq, nb = cases[c].nb, d = cases[c].d;
        const double beta = (double)cases[c].beta;
        float *q = rand_normal(&rng, nq, d, cases[c].std, cases[c].normalise),
              *b = rand_normal(&rng, nb, d, cases[c].std, cases[c].normalise);
        double *want = malloc((size_t)nq * sizeof *want), *lse = malloc((size_t)nq * sizeof *lse);
        float *got = alloc_f(nq);
        ref_lse(q, nq, b, nb, d, beta, want);
        double max_bs = 0.0; /* the largest β·s: naive float exp overflows beyond 88.7 */
        for (int64_t i = 0; i < nq; i++) max_bs = fmax(max_bs, beta * want[i]);
        if (c == 2 || c == 3 || c == 4) cr_assert_gt(max_bs, 88.8, "case %zu should overflow a naive exp", c);
        for (int ii = 0; ii < n_isa; ii++) {
            eb__gemm_opts o = {.isa = isas[ii], .block_bytes = 2048};
            cr_assert_eq(eb__gemm_lse(q, nq, b, nb, d, cases[c].beta, lse, &o, "t", NULL), EB_OK);
            for (int64_t i = 0; i < nq; i++) {
                /* the float dot products carry ~d·eps relative error, amplified by nothing else */
                double scale = 0.0;
                for (int64_t j = 0; j < nb; j++) {
                    double a = 0.0;
                    for (int64_t k = 0; k < d; k++) a += fabs((double)q[i * d + k] * (double)b[j * d + k]);
                    scale = fmax(scale, a);
                }
                const double tol = 1e-6 + 4.0 * (double)FLT_EPSILON * scale + 1e-6 / beta;
                cr_assert(isfinite(lse[i]));
                cr_assert_float_eq(lse[i] / beta, want[i], tol, "case %zu isa %s query %lld: %.12g vs %.12g",
                                   c, eb__gemm_isa_name(isas[ii]), (long long)i, lse[i] / beta, want[i]);
            }
        }
        cr_assert_eq(eb_hopfield_lse(q, nq, b, nb, d, cases[c].beta, got, NULL), EB_OK);
        for (int64_t i = 0; i < nq; i++)
            cr_assert_float_eq((double)got[i], want[i], 1e-5 * (1.0 + fabs(want[i])), "case %zu query %lld",
                               c, (long long)i);
        cr_assert_eq(eb_hopfield_lme(q, nq, b, nb, d, cases[c].beta, got, NULL), EB_OK);
        for (int64_t i = 0; i < nq; i++)
            cr_assert_float_eq((double)got[i], want[i] - log((double)nb) / beta,
                               1e-5 * (1.0 + fabs(want[i])));
        free(q);
        free(b);
        free(want);
        free(lse);
        free(got);
    }
}

/* exp(β·s) for a huge β·s: one dominant term, lse = that term exactly (up to float). */
Test(hopfield_kernel, one_dominant_pattern) {
    float q[2] = {1, 0}, b[6] = {1, 0, 0, 1, -1, 0};
    float out[1];
    cr_assert_eq(eb_hopfield_lse(q, 1, b, 3, 2, 1e4f, out, NULL), EB_OK);
    cr_assert_float_eq((double)out[0], 1.0, 1e-6);
    cr_assert_eq(eb_hopfield_lse(q, 1, b, 3, 2, 1e-3f, out, NULL), EB_OK); /* small β: ≈ log(3)/β */
    cr_assert_float_eq((double)out[0], log(exp(1e-3) + 1.0 + exp(-1e-3)) / 1e-3, 1e-2);
}

/* ---- detectors ------------------------------------------------------------------------------------ */

static eb_detector *fit_detector(eb_detector_kind kind, int64_t k, float beta, const float *x, int64_t n,
                                 int64_t d, const float *aux, int64_t n_aux) {
    eb_detector_params p = eb_detector_default_params(kind);
    p.k = k;
    p.beta = beta;
    eb_detector *det = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_detector_new(kind, &p, &det, &err), EB_OK, "%s", err.message);
    eb_detector_data train = {.n = n, .features = x, .dim = d, .aux_features = aux, .n_aux = n_aux};
    cr_assert_eq(eb_detector_fit(det, &train, NULL, &err), EB_OK, "%s", err.message);
    return det;
}

static void score(eb_detector *det, const float *x, int64_t n, int64_t d, float *out) {
    eb_detector_data data = {.n = n, .features = x, .dim = d};
    eb_error err = {0};
    cr_assert_eq(eb_detector_score(det, &data, out, &err), EB_OK, "%s", err.message);
}

static void normalise_d(const float *x, int64_t n, int64_t d, double *out) {
    for (int64_t i = 0; i < n; i++) {
        double ss = 0.0;
        for (int64_t c = 0; c < d; c++) ss += (double)x[i * d + c] * (double)x[i * d + c];
        const double inv = 1.0 / fmax(sqrt(ss), 1e-12);
        for (int64_t c = 0; c < d; c++) out[i * d + c] = (double)x[i * d + c] * inv;
    }
}

/* log-sum-exp over j of β·a_i·b_j in double (a, b double arrays). */
static double lse_dd(const double *a, const double *b, int64_t nb, int64_t d, double beta) {
    double m = -INFINITY, s = 0.0;
    for (int64_t j = 0; j < nb; j++) {
        double v = 0.0;
        for (int64_t c = 0; c < d; c++) v += a[c] * b[j * d + c];
        m = fmax(m, beta * v);
    }
    for (int64_t j = 0; j < nb; j++) {
        double v = 0.0;
        for (int64_t c = 0; c < d; c++) v += a[c] * b[j * d + c];
        s += exp(beta * v - m);
    }
    return m + log(s);
}

/* s(z) = −sqrt(2 − 2·cos_(k)) on normalised features (Sun et al. 2022). */
Test(detectors_similarity, knn_scores_match_formula) {
    eb_rng rng;
    eb_rng_seed(&rng, 31);
    const int64_t n = 500, m = 60, d = 24, k = 7;
    float *x = rand_normal(&rng, n, d, 3.0f, false), *z = rand_normal(&rng, m, d, 3.0f, false);
    eb_detector *det = fit_detector(EB_DETECTOR_KNN, k, 1.0f, x, n, d, NULL, 0);
    float *s = alloc_f(m);
    score(det, z, m, d, s);
    double *xn = malloc((size_t)(n * d) * sizeof *xn), *zn = malloc((size_t)(m * d) * sizeof *zn),
           *v = malloc((size_t)n * sizeof *v);
    normalise_d(x, n, d, xn);
    normalise_d(z, m, d, zn);
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            v[j] = 0.0;
            for (int64_t c = 0; c < d; c++) v[j] += zn[i * d + c] * xn[j * d + c];
        }
        qsort(v, (size_t)n, sizeof *v, cmp_desc);
        const double want = -sqrt(fmax(0.0, 2.0 - 2.0 * v[k - 1]));
        cr_assert_float_eq((double)s[i], want, 2e-6, "row %lld: %.9g vs %.9g", (long long)i, (double)s[i],
                           want);
    }
    eb_detector_free(det);
    free(x);
    free(z);
    free(s);
    free(xn);
    free(zn);
    free(v);
}

/* Eq. 8 of 000_…: lse(β, Xᵀξ) − ½ξᵀξ − β⁻¹log N − ½M², unnormalised. */
Test(detectors_similarity, hopfield_scores_match_eq8) {
    eb_rng rng;
    eb_rng_seed(&rng, 32);
    const int64_t n = 400, m = 50, d = 16;
    const double beta = 4.0;
    float *x = rand_normal(&rng, n, d, 2.0f, false), *z = rand_normal(&rng, m, d, 2.0f, false);
    eb_detector *det = fit_detector(EB_DETECTOR_HOPFIELD, 1, (float)beta, x, n, d, NULL, 0);
    float *s = alloc_f(m);
    score(det, z, m, d, s);
    double *xd = malloc((size_t)(n * d) * sizeof *xd), *zd = malloc((size_t)(m * d) * sizeof *zd);
    double M2 = 0.0;
    for (int64_t i = 0; i < n * d; i++) xd[i] = (double)x[i];
    for (int64_t i = 0; i < m * d; i++) zd[i] = (double)z[i];
    for (int64_t j = 0; j < n; j++) M2 = fmax(M2, dot_d(x + j * d, x + j * d, d));
    for (int64_t i = 0; i < m; i++) {
        const double want = lse_dd(zd + i * d, xd, n, d, beta) / beta - 0.5 * dot_d(z + i * d, z + i * d, d) -
                            log((double)n) / beta - 0.5 * M2;
        cr_assert_float_eq((double)s[i], want, 1e-5 * (1.0 + fabs(want)), "row %lld: %.9g vs %.9g",
                           (long long)i, (double)s[i], want);
    }
    eb_detector_free(det);
    free(x);
    free(z);
    free(s);
    free(xd);
    free(zd);
}

/* specs §2: lme_β(ξ̂ᵀX̂) − lme_β(ξ̂ᵀÔ) on normalised vectors. */
Test(detectors_similarity, hopfield_aux_scores_match_formula) {
    eb_rng rng;
    eb_rng_seed(&rng, 33);
    const int64_t n = 300, n_aux = 130, m = 40, d = 12;
    const double beta = 4.0;
    float *x = rand_normal(&rng, n, d, 1.0f, false), *o = rand_normal(&rng, n_aux, d, 1.0f, false),
          *z = rand_normal(&rng, m, d, 1.0f, false);
    for (int64_t i = 0; i < n_aux * d; i++) o[i] += (i % d == 0) ? 2.0f : 0.0f; /* shift the outliers */
    eb_detector *det = fit_detector(EB_DETECTOR_HOPFIELD_AUX, 1, (float)beta, x, n, d, o, n_aux);
    float *s = alloc_f(m);
    score(det, z, m, d, s);
    double *xn = malloc((size_t)(n * d) * sizeof *xn), *on = malloc((size_t)(n_aux * d) * sizeof *on),
           *zn = malloc((size_t)(m * d) * sizeof *zn);
    normalise_d(x, n, d, xn);
    normalise_d(o, n_aux, d, on);
    normalise_d(z, m, d, zn);
    for (int64_t i = 0; i < m; i++) {
        const double lme_x = (lse_dd(zn + i * d, xn, n, d, beta) - log((double)n)) / beta;
        const double lme_o = (lse_dd(zn + i * d, on, n_aux, d, beta) - log((double)n_aux)) / beta;
        cr_assert_float_eq((double)s[i], lme_x - lme_o, 2e-6, "row %lld: %.9g vs %.9g", (long long)i,
                           (double)s[i], lme_x - lme_o);
    }
    eb_detector_free(det);
    free(x);
    free(o);
    free(z);
    free(s);
    free(xn);
    free(on);
    free(zn);
}

/* save → load → identical scores, for the three methods */
Test(detectors_similarity, save_load_roundtrip) {
    eb_rng rng;
    eb_rng_seed(&rng, 34);
    const int64_t n = 120, n_aux = 50, m = 30, d = 9;
    float *x = rand_normal(&rng, n, d, 2.0f, false), *o = rand_normal(&rng, n_aux, d, 2.0f, false),
          *z = rand_normal(&rng, m, d, 2.0f, false);
    const eb_detector_kind kinds[3] = {EB_DETECTOR_KNN, EB_DETECTOR_HOPFIELD, EB_DETECTOR_HOPFIELD_AUX};
    for (int t = 0; t < 3; t++) {
        eb_detector *det = fit_detector(kinds[t], 5, 2.0f, x, n, d, o, n_aux);
        float *s1 = alloc_f(m), *s2 = alloc_f(m);
        score(det, z, m, d, s1);
        char path[512];
        eb_test_path(path, sizeof path, eb_detector_kind_name(kinds[t]));
        eb_error err = {0};
        cr_assert_eq(eb_detector_save(det, path, NULL, 0, &err), EB_OK, "%s", err.message);
        eb_detector *back = NULL;
        cr_assert_eq(eb_detector_load(path, &back, &err), EB_OK, "%s", err.message);
        cr_assert_eq(eb_detector_kind_of(back), kinds[t]);
        cr_assert_eq(eb_detector_get_params(back)->k, eb_detector_get_params(det)->k);
        cr_assert_eq(eb_detector_get_params(back)->beta, eb_detector_get_params(det)->beta);
        score(back, z, m, d, s2);
        cr_assert_eq(memcmp(s1, s2, (size_t)m * sizeof *s1), 0, "%s: scores changed after save/load",
                     eb_detector_kind_name(kinds[t]));
        remove(path);
        eb_detector_free(det);
        eb_detector_free(back);
        free(s1);
        free(s2);
    }
    free(x);
    free(o);
    free(z);
}

Test(detectors_similarity, knn_k_larger_than_bank) {
    float x[6] = {1, 0, 0, 1, 1, 1};
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_KNN);
    p.k = 4;
    eb_detector *det = NULL;
    cr_assert_eq(eb_detector_new(EB_DETECTOR_KNN, &p, &det, NULL), EB_OK);
    eb_detector_data train = {.n = 3, .features = x, .dim = 2};
    eb_error err = {0};
    assert_err(eb_detector_fit(det, &train, NULL, &err), EB_ERR_ARG, &err, "k", "bank");
    cr_assert(!eb_detector_is_fitted(det));
    eb_detector_free(det);
}

Test(detectors_similarity, score_errors) {
    eb_rng rng;
    eb_rng_seed(&rng, 35);
    float *x = rand_normal(&rng, 20, 4, 1.0f, false);
    eb_detector *det = fit_detector(EB_DETECTOR_HOPFIELD, 1, 4.0f, x, 20, 4, NULL, 0);
    float z[8] = {1, 2, 3, 4, 5, 6, 7, NAN}, s[2];
    eb_detector_data data = {.n = 2, .features = z, .dim = 4};
    eb_error err = {0};
    assert_err(eb_detector_score(det, &data, s, &err), EB_ERR_NUMERIC, &err, "features[1, 3]", NULL);
    data.dim = 3;
    cr_assert_eq(eb_detector_score(det, &data, s, &err), EB_ERR_SHAPE);
    /* unnormalised features so large that β·ξᵀx would overflow float */
    float big[8] = {1e19f, 0, 0, 0, 1, 1, 1, 1};
    data = (eb_detector_data){.n = 2, .features = big, .dim = 4};
    assert_err(eb_detector_score(det, &data, s, &err), EB_ERR_NUMERIC, &err, "hopfield", "too large");
    eb_detector_free(det);
    free(x);
}

/* Hand-made detector files with bad tensors: each load fails with EB_ERR_FORMAT naming the file. */
static void write_detector_file(const char *path, const char *method, const char *params, int64_t dim,
                                const eb_st_tensor *tensors, int n_tensors) {
    char dim_s[24];
    snprintf(dim_s, sizeof dim_s, "%lld", (long long)dim);
    const eb_st_meta meta[] = {
        {"ebood.format_version", "1"}, {"ebood.detector", method}, {"ebood.params", params},
        {"ebood.threshold", "none"},   {"ebood.dim", dim_s},       {"ebood.n_classes", "0"},
        {"ebood.input_dim", "0"},      {"ebood.note", ""},
    };
    eb_error err = {0};
    cr_assert_eq(eb_safetensors_write(path, tensors, n_tensors, meta, 8, &err), EB_OK, "%s", err.message);
}

static void assert_load_fails(const char *path, const char *needle) {
    eb_detector *det = (eb_detector *)(uintptr_t)1;
    eb_error err = {0};
    cr_assert_eq(eb_detector_load(path, &det, &err), EB_ERR_FORMAT, "%s", err.message);
    cr_assert_null(det);
    cr_assert(strstr(err.message, path), "message '%s' does not name the file", err.message);
    cr_assert(strstr(err.message, needle), "message '%s' lacks '%s'", err.message, needle);
    remove(path);
}

Test(detectors_similarity, load_rejects_bad_tensors) {
    char path[512];
    eb_test_path(path, sizeof path, "bad_similarity.safetensors");
    float unit[3 * 2] = {1, 0, 0, 1, 0.6f, 0.8f}, raw[3 * 2] = {3, 0, 0, 1, 1, 1}, wide[3 * 3] = {0};
    const eb_st_tensor bank_ok = {"bank", EB_ST_F32, 2, {3, 2}, unit, sizeof unit};
    const eb_st_tensor bank_raw = {"bank", EB_ST_F32, 2, {3, 2}, raw, sizeof raw};
    const eb_st_tensor bank_wide = {"bank", EB_ST_F32, 2, {3, 3}, wide, sizeof wide};
    const eb_st_tensor pat_ok = {"patterns", EB_ST_F32, 2, {3, 2}, unit, sizeof unit};
    const eb_st_tensor pat_raw = {"patterns", EB_ST_F32, 2, {3, 2}, raw, sizeof raw};
    const eb_st_tensor aux_raw = {"aux_patterns", EB_ST_F32, 2, {3, 2}, raw, sizeof raw};

    write_detector_file(path, "knn", "{\"k\":2,\"tpr\":0.95}", 2, &bank_wide, 1);
    assert_load_fails(path, "bank");
    write_detector_file(path, "knn", "{\"k\":4,\"tpr\":0.95}", 2, &bank_ok, 1);
    assert_load_fails(path, "k = 4");
    write_detector_file(path, "knn", "{\"k\":2,\"tpr\":0.95}", 2, &bank_raw, 1);
    assert_load_fails(path, "norm");
    write_detector_file(path, "knn", "{\"k\":2,\"tpr\":0.95}", 2, &pat_ok, 1);
    assert_load_fails(path, "missing tensor 'bank'");
    write_detector_file(path, "hopfield_aux", "{\"beta\":4,\"tpr\":0.95}", 2, &pat_ok, 1);
    assert_load_fails(path, "aux_patterns");
    const eb_st_tensor both[2] = {pat_ok, aux_raw};
    write_detector_file(path, "hopfield_aux", "{\"beta\":4,\"tpr\":0.95}", 2, both, 2);
    assert_load_fails(path, "aux_patterns");
    write_detector_file(path, "hopfield", "{\"beta\":4,\"tpr\":0.95}", 3, &pat_raw, 1);
    assert_load_fails(path, "patterns");

    /* the good ones load */
    write_detector_file(path, "knn", "{\"k\":3,\"tpr\":0.95}", 2, &bank_ok, 1);
    eb_detector *det = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_detector_load(path, &det, &err), EB_OK, "%s", err.message);
    float q[2] = {1, 0}, s[1];
    score(det, q, 1, 2, s);
    cr_assert_float_eq((double)s[0], -sqrt(2.0), 1e-6); /* the 3rd nearest of {e1, e2, (.6,.8)} is e2 */
    eb_detector_free(det);
    write_detector_file(path, "hopfield", "{\"beta\":4,\"tpr\":0.95}", 2, &pat_raw, 1);
    cr_assert_eq(eb_detector_load(path, &det, &err), EB_OK, "%s", err.message);
    eb_detector_free(det);
    remove(path);
}

/* ---- the shared scikit-learn / NumPy fixture (scripts/make_detector_fixture.py) ------------------- */

static float *read_f32_fixture(const char *name, int64_t *rows, int64_t *cols) {
    char path[1024];
    eb_fixture_path(path, sizeof path, name);
    float *x = NULL;
    int64_t shape[8];
    eb_error err = {0};
    cr_assert_eq(eb_npy_read_f32(path, &x, 2, shape, NULL, &err), EB_OK, "%s", err.message);
    *rows = shape[0];
    *cols = shape[1];
    return x;
}

static double *read_f64_fixture(const char *name, int64_t n) {
    char path[1024];
    eb_fixture_path(path, sizeof path, name);
    eb_npy_array a;
    eb_error err = {0};
    cr_assert_eq(eb_npy_read(path, &a, &err), EB_OK, "%s", err.message);
    cr_assert_eq(a.dtype, EB_DTYPE_F64, "%s: expected float64", path);
    cr_assert_eq(eb_npy_array_numel(&a), n, "%s: %lld values, expected %lld", path,
                 (long long)eb_npy_array_numel(&a), (long long)n);
    double *out = malloc((size_t)n * sizeof *out);
    memcpy(out, a.data, (size_t)n * sizeof *out);
    eb_npy_array_free(&a);
    return out;
}

/* rows of x divided by their norm (in double), as float */
static float *normalised_copy(const float *x, int64_t n, int64_t d) {
    double *t = malloc((size_t)(n * d) * sizeof *t);
    normalise_d(x, n, d, t);
    float *y = alloc_f(n * d);
    for (int64_t i = 0; i < n * d; i++) y[i] = (float)t[i];
    free(t);
    return y;
}

Test(detectors_similarity, match_sklearn_numpy_fixture) {
    int64_t n, d, m, dm, n_aux, da;
    float *train = read_f32_fixture("detectors/train_features.npy", &n, &d);
    float *test = read_f32_fixture("detectors/test_features.npy", &m, &dm);
    float *aux = read_f32_fixture("detectors/aux_features.npy", &n_aux, &da);
    cr_assert(dm == d && da == d);
    const struct {
        const char *file;
        eb_detector_kind kind;
        int64_t k;
        float beta;
    } cases[] = {
        {"detectors/expected_knn_k1.npy", EB_DETECTOR_KNN, 1, 4.0f},
        {"detectors/expected_knn_k5.npy", EB_DETECTOR_KNN, 5, 4.0f},
        {"detectors/expected_knn_k80.npy", EB_DETECTOR_KNN, 80, 4.0f},
        {"detectors/expected_hopfield_b4.npy", EB_DETECTOR_HOPFIELD, 1, 4.0f},
        {"detectors/expected_hopfield_b0_5.npy", EB_DETECTOR_HOPFIELD, 1, 0.5f},
        {"detectors/expected_hopfield_aux_b4.npy", EB_DETECTOR_HOPFIELD_AUX, 1, 4.0f},
    };
    float *s = alloc_f(m);
    double worst = 0.0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double *want = read_f64_fixture(cases[c].file, m);
        eb_detector *det = fit_detector(cases[c].kind, cases[c].k, cases[c].beta, train, n, d, aux, n_aux);
        score(det, test, m, d, s);
        for (int64_t i = 0; i < m; i++) {
            const double diff = fabs((double)s[i] - want[i]);
            worst = fmax(worst, diff / (1.0 + fabs(want[i])));
            cr_assert_leq(diff, 2e-6 * (1.0 + fabs(want[i])), "%s row %lld: %.9g vs %.9g", cases[c].file,
                          (long long)i, (double)s[i], want[i]);
        }
        eb_detector_free(det);
        free(want);
    }
    /* −(squared distance), the FAISS IndexFlatL2 form, from the public kernel on normalised rows */
    float *tn = normalised_copy(train, n, d), *qn = normalised_copy(test, m, d);
    const int64_t ks[3] = {1, 5, 80};
    const char *files[3] = {"detectors/expected_knn_sqdist_k1.npy", "detectors/expected_knn_sqdist_k5.npy",
                            "detectors/expected_knn_sqdist_k80.npy"};
    for (int c = 0; c < 3; c++) {
        double *want = read_f64_fixture(files[c], m);
        eb_error err = {0};
        cr_assert_eq(eb_knn_kth_distance(qn, m, tn, n, d, ks[c], s, &err), EB_OK, "%s", err.message);
        for (int64_t i = 0; i < m; i++) {
            const double got = -(double)s[i] * (double)s[i];
            worst = fmax(worst, fabs(got - want[i]) / (1.0 + fabs(want[i])));
            cr_assert_float_eq(got, want[i], 4e-6, "%s row %lld: %.9g vs %.9g", files[c], (long long)i, got,
                               want[i]);
        }
        free(want);
    }
    cr_log_info("similarity detectors vs fixture: max relative difference %.3g", worst);
    free(tn);
    free(qn);
    free(s);
    free(train);
    free(test);
    free(aux);
}
