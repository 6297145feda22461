/* base layer: errors, arenas, the RNG (uniform, normal, categorical, with replacement, permutation),
 * whole-file reads and atomic writes. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <ebood/base.h>
#include <math.h>
#include <string.h>

#include "test_util.h"

Test(errors, set_formats_one_line_and_returns_status) {
    eb_error err = {0};
    eb_status st = eb_error_set(&err, EB_ERR_FORMAT, "%s: bad\nheader %d", "f.npy", 3);
    cr_assert_eq(st, EB_ERR_FORMAT);
    cr_assert_eq(err.status, EB_ERR_FORMAT);
    cr_assert_str_eq(err.message, "f.npy: bad header 3");
    cr_assert_eq(eb_error_set(NULL, EB_ERR_IO, "x"), EB_ERR_IO); /* NULL err is allowed */
    eb_error_clear(&err);
    cr_assert_eq(err.status, EB_OK);
    cr_assert_str_eq(err.message, "");
}

/* callers add a hint to an error they got: the message may be an argument of its own rewrite */
Test(errors, set_may_reuse_its_own_message) {
    eb_error err = {0};
    eb_error_set(&err, EB_ERR_IO, "%s: cannot open", "data/x.gz");
    cr_assert_eq(eb_error_set(&err, err.status, "%s (fetch it)", err.message), EB_ERR_IO);
    cr_assert_str_eq(err.message, "data/x.gz: cannot open (fetch it)");
}

Test(errors, every_status_has_a_distinct_description) {
    const eb_status all[] = {EB_OK,         EB_ERR_NOMEM,   EB_ERR_ARG,         EB_ERR_SHAPE, EB_ERR_IO,
                             EB_ERR_FORMAT, EB_ERR_NUMERIC, EB_ERR_UNSUPPORTED, EB_ERR_STATE};
    int n = (int)(sizeof all / sizeof all[0]);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) cr_assert_str_neq(eb_status_str(all[i]), eb_status_str(all[j]));
    cr_assert_str_eq(eb_status_str((eb_status)-999), "unknown status");
}

Test(arena, alignment_reuse_and_large_blocks) {
    eb_arena *a = eb_arena_new(1024, NULL);
    cr_assert_not_null(a);
    char *p = eb_arena_alloc(a, 3), *q = eb_arena_alloc(a, 100);
    cr_assert_eq((uintptr_t)p % 64, 0);
    cr_assert_eq((uintptr_t)q % 64, 0);
    cr_assert(q >= p + 64, "allocations overlap");
    char *big = eb_arena_alloc(a, 10000); /* larger than a block: gets its own */
    cr_assert_not_null(big);
    memset(big, 1, 10000);
    size_t used = eb_arena_used(a);
    cr_assert_geq(used, 10000 + 64 + 128);
    eb_arena_reset(a);
    cr_assert_eq(eb_arena_used(a), 0);
    for (int round = 0; round < 50; round++) { /* same pattern after reset reuses the blocks */
        eb_arena_alloc(a, 3);
        eb_arena_alloc(a, 100);
        eb_arena_alloc(a, 10000);
        cr_assert_eq(eb_arena_used(a), used);
        eb_arena_reset(a);
    }
    float *z = eb_arena_alloc_zero(a, 256 * sizeof(float));
    for (int i = 0; i < 256; i++) cr_assert_eq(z[i], 0.0f);
    eb_arena_free(a);
}

static size_t counted_bytes;
static void *counting_alloc(size_t size, void *ctx) {
    (void)ctx;
    counted_bytes += size;
    return aligned_alloc(64, (size + 63) / 64 * 64);
}
static void counting_free(void *p, void *ctx) {
    (void)ctx;
    free(p);
}

Test(arena, uses_the_allocator_hook) {
    eb_allocator hook = {counting_alloc, counting_free, NULL};
    counted_bytes = 0;
    eb_arena *a = eb_arena_new(4096, &hook);
    eb_arena_alloc(a, 100);
    cr_assert_geq(counted_bytes, 4096);
    eb_arena_free(a);
}

Test(rng, same_seed_same_stream_split_differs) {
    eb_rng a, b;
    eb_rng_seed(&a, 42);
    eb_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) cr_assert_eq(eb_rng_u64(&a), eb_rng_u64(&b));
    eb_rng c = eb_rng_split(&a);
    int same = 0;
    for (int i = 0; i < 100; i++) same += eb_rng_u64(&a) == eb_rng_u64(&c);
    cr_assert_lt(same, 2);
    eb_rng_seed(&b, 43);
    eb_rng_seed(&a, 42);
    cr_assert_neq(eb_rng_u64(&a), eb_rng_u64(&b));
}

Test(rng, uniform_and_normal_moments) {
    eb_rng r;
    eb_rng_seed(&r, 1);
    const int n = 200000;
    double s = 0, s2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        double u = eb_rng_uniform(&r);
        s += u;
        s2 += u * u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    cr_assert(lo >= 0.0 && hi < 1.0);
    cr_assert_float_eq(s / n, 0.5, 0.005);
    cr_assert_float_eq(s2 / n - (s / n) * (s / n), 1.0 / 12.0, 0.002);
    double m = 0, v = 0, m4 = 0;
    for (int i = 0; i < n; i++) {
        double z = eb_rng_normal(&r);
        m += z;
        v += z * z;
        m4 += z * z * z * z;
    }
    cr_assert_float_eq(m / n, 0.0, 0.01);
    cr_assert_float_eq(v / n, 1.0, 0.015);
    cr_assert_float_eq(m4 / n, 3.0, 0.1); /* kurtosis of a Gaussian */
    float f[1000];
    eb_rng_fill_uniform(&r, f, 1000, -5.0f, 5.0f);
    for (int i = 0; i < 1000; i++) cr_assert(f[i] >= -5.0f && f[i] < 5.0f);
}

Test(rng, below_is_unbiased_and_in_range) {
    eb_rng r;
    eb_rng_seed(&r, 2);
    int counts[7] = {0};
    const int n = 70000;
    for (int i = 0; i < n; i++) {
        uint64_t k = eb_rng_below(&r, 7);
        cr_assert_lt(k, 7);
        counts[k]++;
    }
    for (int k = 0; k < 7; k++) cr_assert_float_eq(counts[k], n / 7.0, 5 * sqrt(n / 7.0));
    cr_assert_eq(eb_rng_below(&r, 1), 0);
}

Test(rng, categorical_follows_the_weights) {
    eb_rng r;
    eb_rng_seed(&r, 3);
    const double w[4] = {1.0, 0.0, 3.0, 6.0};
    int counts[4] = {0};
    const int n = 100000;
    for (int i = 0; i < n; i++) counts[eb_rng_categorical(&r, w, 4)]++;
    cr_assert_eq(counts[1], 0, "a zero weight was drawn");
    cr_assert_float_eq(counts[0] / (double)n, 0.1, 0.01);
    cr_assert_float_eq(counts[2] / (double)n, 0.3, 0.01);
    cr_assert_float_eq(counts[3] / (double)n, 0.6, 0.01);
    const double none[2] = {0.0, -1.0};
    cr_assert_eq(eb_rng_categorical(&r, none, 2), -1);
}

Test(rng, choice_with_replacement_and_permutation) {
    eb_rng r;
    eb_rng_seed(&r, 4);
    int64_t idx[5000];
    eb_rng_choice_with_replacement(&r, 10, 5000, idx);
    int seen[10] = {0}, repeats = 0;
    for (int i = 0; i < 5000; i++) {
        cr_assert(idx[i] >= 0 && idx[i] < 10);
        repeats += seen[idx[i]]++ > 0;
    }
    for (int k = 0; k < 10; k++) cr_assert_gt(seen[k], 400);
    cr_assert_gt(repeats, 4000);
    int64_t perm[1000];
    eb_rng_permutation(&r, 1000, perm);
    char hit[1000] = {0};
    int fixed = 0;
    for (int i = 0; i < 1000; i++) {
        cr_assert(perm[i] >= 0 && perm[i] < 1000 && !hit[perm[i]], "not a permutation");
        hit[perm[i]] = 1;
        fixed += perm[i] == i;
    }
    cr_assert_lt(fixed, 10, "permutation looks like the identity");
}

Test(files, read_all_and_missing_file) {
    char path[512];
    eb_test_path(path, sizeof path, "read_all.txt");
    cr_assert_eq(eb_test_write_file(path, "hello\0world", 11), 0);
    char *data;
    size_t len;
    eb_error err = {0};
    cr_assert_eq(eb_file_read_all(path, &data, &len, &err), EB_OK);
    cr_assert_eq(len, 11);
    cr_assert_eq(memcmp(data, "hello\0world", 11), 0);
    cr_assert_eq(data[11], '\0');
    free(data);
    remove(path);
    cr_assert_eq(eb_file_read_all(path, &data, &len, &err), EB_ERR_IO);
    cr_assert_not_null(strstr(err.message, path));
    cr_assert_null(data);
}

Test(files, atomic_commit_and_abort) {
    char path[512], tmp[4200];
    eb_test_path(path, sizeof path, "atomic.txt");
    eb_test_write_file(path, "old", 3);
    eb_atomic_file af;
    eb_error err = {0};
    cr_assert_eq(eb_atomic_open(&af, path, &err), EB_OK);
    snprintf(tmp, sizeof tmp, "%s", af.tmp_path);
    fputs("new content", af.fp);
    char *data;
    size_t len;
    eb_file_read_all(path, &data, &len, &err); /* not visible before the commit */
    cr_assert_str_eq(data, "old");
    free(data);
    cr_assert_eq(eb_atomic_commit(&af, &err), EB_OK);
    eb_file_read_all(path, &data, &len, &err);
    cr_assert_str_eq(data, "new content");
    free(data);
    cr_assert(!eb_test_file_exists(tmp));

    cr_assert_eq(eb_atomic_open(&af, path, &err), EB_OK);
    fputs("half-writ", af.fp);
    eb_atomic_abort(&af);
    cr_assert(!eb_test_file_exists(af.tmp_path), "temporary file left behind");
    eb_file_read_all(path, &data, &len, &err);
    cr_assert_str_eq(data, "new content");
    free(data);
    remove(path);

    char missing[600];
    snprintf(missing, sizeof missing, "%s.d/no/such/file", path);
    cr_assert_eq(eb_atomic_open(&af, missing, &err), EB_ERR_IO);
    cr_assert_not_null(strstr(err.message, missing));
}

Test(threads, env_value_is_validated) {
    eb_error err = {0};
    setenv("EBOOD_THREADS", "2", 1);
    cr_assert_eq(eb_threads_from_env(&err), EB_OK);
    cr_assert_eq(eb_threads_get(), 2);
    setenv("EBOOD_THREADS", "two", 1);
    cr_assert_eq(eb_threads_from_env(&err), EB_ERR_ARG);
    cr_assert_not_null(strstr(err.message, "EBOOD_THREADS"));
    setenv("EBOOD_THREADS", "-3", 1);
    cr_assert_eq(eb_threads_from_env(&err), EB_ERR_ARG);
}
