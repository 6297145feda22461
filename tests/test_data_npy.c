/* NPY reader/writer: fixtures written by numpy (scripts/make_npy_fixtures.py), C round trips,
 * numpy loading C-written files, and every kind of bad input. */
#include <criterion/criterion.h>
#include <ebood/data.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* The value formulas of scripts/make_npy_fixtures.py, by dtype, of the flat index i. */
static double formula(eb_dtype dtype, int64_t i) {
    switch (dtype) {
    case EB_DTYPE_F32: return 0.5 * (double)i - 1.25;
    case EB_DTYPE_F64: return ((double)i - 5.0) / 8.0;
    case EB_DTYPE_I32: return 3.0 * (double)i - 10.0;
    case EB_DTYPE_I64: return 8589934592.0 * (double)(i - 128);
    case EB_DTYPE_U8: return (double)((37 * i) % 256);
    }
    return NAN;
}

static double element(eb_dtype dtype, const void *data, int64_t i) {
    switch (dtype) {
    case EB_DTYPE_F32: return (double)((const float *)data)[i];
    case EB_DTYPE_F64: return ((const double *)data)[i];
    case EB_DTYPE_I32: return (double)((const int32_t *)data)[i];
    case EB_DTYPE_I64: return (double)((const int64_t *)data)[i];
    case EB_DTYPE_U8: return (double)((const uint8_t *)data)[i];
    }
    return NAN;
}

static void fill(eb_dtype dtype, void *data, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double v = formula(dtype, i);
        switch (dtype) {
        case EB_DTYPE_F32: ((float *)data)[i] = (float)v; break;
        case EB_DTYPE_F64: ((double *)data)[i] = v; break;
        case EB_DTYPE_I32: ((int32_t *)data)[i] = (int32_t)v; break;
        case EB_DTYPE_I64: ((int64_t *)data)[i] = (int64_t)(i - 128) * ((int64_t)1 << 33); break;
        case EB_DTYPE_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
        }
    }
}

static const char *fixture(char *buf, size_t size, const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "npy/%s", name);
    return eb_fixture_path(buf, size, rel);
}

/* Reads a fixture and checks dtype, shape, and every value against the formula. */
static void check_fixture(const char *name, eb_dtype dtype, int ndim, const int64_t *shape) {
    char path[1024];
    eb_npy_array a;
    eb_error err = {0};
    eb_status st = eb_npy_read(fixture(path, sizeof path, name), &a, &err);
    cr_assert_eq(st, EB_OK, "%s: %s", name, err.message);
    cr_assert_eq(a.dtype, dtype, "%s: dtype %s", name, eb_dtype_name(a.dtype));
    cr_assert_eq(a.ndim, ndim, "%s: ndim %d", name, a.ndim);
    for (int d = 0; d < ndim; d++)
        cr_assert_eq(a.shape[d], shape[d], "%s: shape[%d] = %lld", name, d, (long long)a.shape[d]);
    int64_t n = eb_npy_array_numel(&a);
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(element(dtype, a.data, i), formula(dtype, i), "%s: element %lld = %g, expected %g", name,
                     (long long)i, element(dtype, a.data, i), formula(dtype, i));
    eb_npy_array_free(&a);
    cr_assert_null(a.data);
}

Test(npy, reads_numpy_fixtures_v1) {
    check_fixture("f32_1d_v1.npy", EB_DTYPE_F32, 1, (int64_t[]){7});
    check_fixture("f64_2d_v1.npy", EB_DTYPE_F64, 2, (int64_t[]){3, 4});
    check_fixture("i32_3d_v1.npy", EB_DTYPE_I32, 3, (int64_t[]){2, 3, 4});
}

Test(npy, reads_numpy_fixtures_v2_v3) {
    check_fixture("i64_2d_v2.npy", EB_DTYPE_I64, 2, (int64_t[]){4, 5});
    check_fixture("u8_1d_v2.npy", EB_DTYPE_U8, 1, (int64_t[]){10});
    check_fixture("f32_2d_v2.npy", EB_DTYPE_F32, 2, (int64_t[]){2, 3});
    check_fixture("f32_2d_v3.npy", EB_DTYPE_F32, 2, (int64_t[]){2, 3});
}

Test(npy, big_endian_is_converted) {
    char path[1024];
    eb_npy_array a;
    eb_error err = {0};
    cr_assert_eq(eb_npy_read(fixture(path, sizeof path, "f32_be.npy"), &a, &err), EB_OK, "%s", err.message);
    cr_assert_eq(a.dtype, EB_DTYPE_F32);
    cr_assert_eq(a.ndim, 1);
    cr_assert_eq(a.shape[0], 5);
    for (int i = 0; i < 5; i++) cr_assert_eq(((float *)a.data)[i], 1.5f * (float)i - 2.0f, "element %d", i);
    eb_npy_array_free(&a);
}

Test(npy, scalar_and_empty) {
    char path[1024];
    eb_npy_array a;
    eb_error err = {0};
    cr_assert_eq(eb_npy_read(fixture(path, sizeof path, "f64_scalar.npy"), &a, &err), EB_OK, "%s",
                 err.message);
    cr_assert_eq(a.ndim, 0);
    cr_assert_eq(eb_npy_array_numel(&a), 1);
    cr_assert_eq(((double *)a.data)[0], 3.25);
    eb_npy_array_free(&a);

    cr_assert_eq(eb_npy_read(fixture(path, sizeof path, "f32_empty.npy"), &a, &err), EB_OK, "%s",
                 err.message);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 0);
    cr_assert_eq(a.shape[1], 3);
    cr_assert_eq(eb_npy_array_numel(&a), 0);
    cr_assert_not_null(a.data);
    eb_npy_array_free(&a);

    /* Empty, with other dims whose product overflows 64 bits (fuzz_npy's crash input, UBSan: signed
     * overflow in eb_npy_array_numel); eb_npy_read_f32 counts its elements the same way. */
    eb_test_path(path, sizeof path, "npy_empty_huge.npy");
    const char *dict =
        "{'descr': '|u1', 'fortran_order': False, 'shape': (12222222222, 730, 710, 7, 2, 710, 0, 2), }";
    unsigned char header[128];
    size_t dlen = strlen(dict), total = (10 + dlen + 1 + 63) / 64 * 64;
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    header[8] = (unsigned char)(total - 10);
    header[9] = 0;
    memcpy(header + 10, dict, dlen);
    memset(header + 10 + dlen, ' ', total - 10 - dlen - 1);
    header[total - 1] = '\n';
    cr_assert_eq(eb_test_write_file(path, header, total), 0);
    cr_assert_eq(eb_npy_read(path, &a, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_npy_array_numel(&a), 0);
    eb_npy_array_free(&a);
    float *x = NULL;
    int64_t shape[8];
    cr_assert_eq(eb_npy_read_f32(path, &x, 0, shape, NULL, &err), EB_OK, "%s", err.message);
    cr_assert_eq(shape[6], 0);
    eb_free(NULL, x);
    remove(path);
}

Test(npy, read_f32_converts_every_dtype) {
    static const struct {
        const char *name;
        eb_dtype dtype;
        int ndim;
    } cases[] = {{"f64_2d_v1.npy", EB_DTYPE_F64, 2},
                 {"i32_3d_v1.npy", EB_DTYPE_I32, 3},
                 {"i64_2d_v2.npy", EB_DTYPE_I64, 2},
                 {"u8_1d_v2.npy", EB_DTYPE_U8, 1},
                 {"f32_1d_v1.npy", EB_DTYPE_F32, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[1024];
        float *x = NULL;
        int64_t shape[8];
        int ndim = -1;
        eb_error err = {0};
        eb_status st =
            eb_npy_read_f32(fixture(path, sizeof path, cases[c].name), &x, cases[c].ndim, shape, &ndim, &err);
        cr_assert_eq(st, EB_OK, "%s: %s", cases[c].name, err.message);
        cr_assert_eq(ndim, cases[c].ndim);
        int64_t n = 1;
        for (int d = 0; d < ndim; d++) n *= shape[d];
        for (int d = ndim; d < 8; d++) cr_assert_eq(shape[d], 0);
        for (int64_t i = 0; i < n; i++)
            cr_assert_eq(x[i], (float)formula(cases[c].dtype, i), "%s: element %lld", cases[c].name,
                         (long long)i);
        eb_free(NULL, x);
    }
}

Test(npy, read_f32_rank_mismatch_is_shape_error) {
    char path[1024];
    float *x = (float *)1;
    eb_error err = {0};
    fixture(path, sizeof path, "f64_2d_v1.npy");
    cr_assert_eq(eb_npy_read_f32(path, &x, 3, NULL, NULL, &err), EB_ERR_SHAPE);
    cr_assert_null(x);
    cr_assert(strstr(err.message, path), "message: %s", err.message);
    cr_assert(strstr(err.message, "(3, 4)"), "message: %s", err.message);
}

Test(npy, read_f32_rejects_nan_and_inf_naming_the_index) {
    char path[1024];
    float *x = NULL;
    eb_error err = {0};
    fixture(path, sizeof path, "f64_nan.npy");
    eb_npy_array a;
    cr_assert_eq(eb_npy_read(path, &a, &err), EB_OK, "raw read accepts NaN: %s", err.message);
    cr_assert(isnan(((double *)a.data)[5]));
    eb_npy_array_free(&a);
    cr_assert_eq(eb_npy_read_f32(path, &x, 0, NULL, NULL, &err), EB_ERR_NUMERIC);
    cr_assert_null(x);
    cr_assert(strstr(err.message, path) && strstr(err.message, "(1, 2)"), "message: %s", err.message);

    fixture(path, sizeof path, "f32_inf.npy");
    cr_assert_eq(eb_npy_read_f32(path, &x, 1, NULL, NULL, &err), EB_ERR_NUMERIC);
    cr_assert_null(x);
    cr_assert(strstr(err.message, path) && strstr(err.message, "(2,)"), "message: %s", err.message);
}

Test(npy, read_f32_rejects_float64_beyond_float32_range) {
    char path[1024];
    eb_test_path(path, sizeof path, "npy_big.npy");
    double v[2] = {1.0, 1e300};
    eb_error err = {0};
    cr_assert_eq(eb_npy_write(path, EB_DTYPE_F64, 1, (int64_t[]){2}, v, &err), EB_OK, "%s", err.message);
    float *x = NULL;
    cr_assert_eq(eb_npy_read_f32(path, &x, 0, NULL, NULL, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, path) && strstr(err.message, "(1,)"), "message: %s", err.message);
    remove(path);
}

/* ---- round trips ---------------------------------------------------------------------------- */

static void write_formula(const char *path, eb_dtype dtype, int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    void *buf = malloc((size_t)(n ? n : 1) * eb_dtype_size(dtype));
    fill(dtype, buf, n);
    eb_error err = {0};
    cr_assert_eq(eb_npy_write(path, dtype, ndim, shape, buf, &err), EB_OK, "%s", err.message);
    free(buf);
}

static const struct {
    eb_dtype dtype;
    int ndim;
    int64_t shape[3];
} roundtrip_cases[] = {{EB_DTYPE_F32, 2, {3, 5}}, {EB_DTYPE_F64, 1, {9}},  {EB_DTYPE_I32, 3, {2, 3, 4}},
                       {EB_DTYPE_I64, 2, {4, 5}}, {EB_DTYPE_U8, 1, {300}}, {EB_DTYPE_F32, 0, {0}},
                       {EB_DTYPE_F64, 2, {0, 4}}};

Test(npy, c_write_c_read_round_trip) {
    for (size_t c = 0; c < sizeof roundtrip_cases / sizeof roundtrip_cases[0]; c++) {
        char path[1024], name[64];
        snprintf(name, sizeof name, "npy_rt_%zu.npy", c);
        eb_test_path(path, sizeof path, name);
        eb_dtype dt = roundtrip_cases[c].dtype;
        int ndim = roundtrip_cases[c].ndim;
        write_formula(path, dt, ndim, roundtrip_cases[c].shape);
        eb_npy_array a;
        eb_error err = {0};
        cr_assert_eq(eb_npy_read(path, &a, &err), EB_OK, "%s", err.message);
        cr_assert_eq(a.dtype, dt);
        cr_assert_eq(a.ndim, ndim);
        for (int d = 0; d < ndim; d++) cr_assert_eq(a.shape[d], roundtrip_cases[c].shape[d]);
        int64_t n = eb_npy_array_numel(&a);
        for (int64_t i = 0; i < n; i++)
            cr_assert_eq(element(dt, a.data, i), formula(dt, i), "case %zu, element %lld", c, (long long)i);
        /* numpy's layout: data starts at a multiple of 64 bytes */
        FILE *fp = fopen(path, "rb");
        fseek(fp, 0, SEEK_END);
        long size = ftell(fp);
        fclose(fp);
        cr_assert_eq((size - (long)((size_t)n * eb_dtype_size(dt))) % 64, 0,
                     "case %zu: header not 64-aligned", c);
        eb_npy_array_free(&a);
        remove(path);
    }
}

Test(npy, numpy_loads_c_written_files) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
        cr_skip_test("/usr/bin/python3 has no numpy");
    char script[1024];
    eb_test_path(script, sizeof script, "npy_check.py");
    const char *py = "import sys, numpy as np\n"
                     "a = np.load(sys.argv[1])\n"
                     "dt = sys.argv[2]\n"
                     "shape = tuple(int(s) for s in sys.argv[3:])\n"
                     "i = np.arange(int(np.prod(shape)), dtype=np.int64)\n"
                     "e = {'float32': 0.5 * i - 1.25, 'float64': (i - 5) / 8, 'int32': 3 * i - 10,\n"
                     "     'int64': 2**33 * (i - 128), 'uint8': (37 * i) % 256}[dt].astype(dt)\n"
                     "ok = a.dtype == np.dtype(dt) and a.shape == shape and np.array_equal(a.ravel(), e)\n"
                     "sys.exit(0 if ok else 1)\n";
    cr_assert_eq(eb_test_write_file(script, py, strlen(py)), 0);
    for (size_t c = 0; c < sizeof roundtrip_cases / sizeof roundtrip_cases[0]; c++) {
        char path[1024], name[64], cmd[4096];
        snprintf(name, sizeof name, "npy_np_%zu.npy", c);
        eb_test_path(path, sizeof path, name);
        write_formula(path, roundtrip_cases[c].dtype, roundtrip_cases[c].ndim, roundtrip_cases[c].shape);
        int len = snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' %s", script, path,
                           eb_dtype_name(roundtrip_cases[c].dtype));
        for (int d = 0; d < roundtrip_cases[c].ndim; d++)
            len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %lld",
                            (long long)roundtrip_cases[c].shape[d]);
        cr_assert_eq(system(cmd), 0, "numpy rejected %s (case %zu)", path, c);
        remove(path);
    }
    remove(script);
}

/* ---- bad input ----------------------------------------------------------------------------- */

/* Reads `path` expecting `want` and a message that names the file (and contains `needle`). */
static void expect_read_error(const char *path, eb_status want, const char *needle) {
    eb_npy_array a;
    memset(&a, 0xAB, sizeof a);
    eb_error err = {0};
    eb_status st = eb_npy_read(path, &a, &err);
    cr_assert_eq(st, want, "%s: got %d (%s), want %d", path, st, err.message, want);
    cr_assert_eq(err.status, want);
    cr_assert(strstr(err.message, path), "message does not name the file: %s", err.message);
    if (needle) cr_assert(strstr(err.message, needle), "message lacks '%s': %s", needle, err.message);
    cr_assert_null(a.data);
    float *x = (float *)1;
    cr_assert_eq(eb_npy_read_f32(path, &x, 0, NULL, NULL, &err), want);
    cr_assert_null(x);
}

/* Writes a hand-made NPY file: magic, version, header length, the dict padded to 64, data. */
static void write_raw_npy(const char *path, int major, const char *dict, const void *data, size_t len) {
    unsigned char buf[4096];
    size_t pre = major == 1 ? 10 : 12, dlen = strlen(dict);
    size_t total = (pre + dlen + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    if (major != 1) buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, dlen);
    memset(buf + pre + dlen, ' ', hlen - dlen - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, len);
    cr_assert_eq(eb_test_write_file(path, buf, total + len), 0);
}

Test(npy_bad, missing_file) {
    char path[1024];
    eb_test_path(path, sizeof path, "npy_does_not_exist.npy");
    expect_read_error(path, EB_ERR_IO, NULL);
}

Test(npy_bad, empty_file_and_bad_magic) {
    char path[1024];
    eb_test_path(path, sizeof path, "npy_empty.npy");
    cr_assert_eq(eb_test_write_file(path, "", 0), 0);
    expect_read_error(path, EB_ERR_FORMAT, NULL);
    remove(path);
    eb_test_path(path, sizeof path, "npy_magic.npy");
    const char text[] = "this is not an npy file at all, just some text\n";
    cr_assert_eq(eb_test_write_file(path, text, sizeof text - 1), 0);
    expect_read_error(path, EB_ERR_FORMAT, "magic");
    remove(path);
}

Test(npy_bad, truncated_header) {
    char src[1024], path[1024], *buf;
    size_t len;
    cr_assert_eq(eb_file_read_all(fixture(src, sizeof src, "f64_2d_v1.npy"), &buf, &len, NULL), EB_OK);
    eb_test_path(path, sizeof path, "npy_trunc_header.npy");
    cr_assert_eq(eb_test_write_file(path, buf, 40), 0);
    expect_read_error(path, EB_ERR_FORMAT, "truncated");
    cr_assert_eq(eb_test_write_file(path, buf, 8), 0); /* magic + version only */
    expect_read_error(path, EB_ERR_FORMAT, "truncated");
    free(buf);
    remove(path);
}

Test(npy_bad, truncated_data_and_extra_bytes) {
    char src[1024], path[1024], *buf;
    size_t len;
    cr_assert_eq(eb_file_read_all(fixture(src, sizeof src, "f64_2d_v1.npy"), &buf, &len, NULL), EB_OK);
    eb_test_path(path, sizeof path, "npy_trunc_data.npy");
    cr_assert_eq(eb_test_write_file(path, buf, len - 4), 0);
    expect_read_error(path, EB_ERR_FORMAT, "(3, 4)");
    char *more = malloc(len + 8);
    memcpy(more, buf, len);
    memset(more + len, 0, 8);
    cr_assert_eq(eb_test_write_file(path, more, len + 8), 0);
    expect_read_error(path, EB_ERR_FORMAT, "disagrees");
    free(more);
    free(buf);
    remove(path);
}

Test(npy_bad, shape_disagrees_with_file_size) {
    char path[1024];
    eb_test_path(path, sizeof path, "npy_shape.npy");
    float data[6] = {0};
    write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", data, sizeof data);
    expect_read_error(path, EB_ERR_FORMAT, "(2, 4)");
    /* a shape whose byte count overflows 64 bits */
    write_raw_npy(path, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                  data, sizeof data);
    expect_read_error(path, EB_ERR_FORMAT, "disagrees");
    remove(path);
}

Test(npy_bad, unsupported_dtypes) {
    char path[1024];
    expect_read_error(fixture(path, sizeof path, "bool_1d.npy"), EB_ERR_UNSUPPORTED, "|b1");
    expect_read_error(fixture(path, sizeof path, "i16_1d.npy"), EB_ERR_UNSUPPORTED, "<i2");
    eb_test_path(path, sizeof path, "npy_struct.npy");
    write_raw_npy(path, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "\0\0\0\0",
                  4);
    expect_read_error(path, EB_ERR_UNSUPPORTED, "structured");
    remove(path);
}

Test(npy_bad, fortran_order) {
    char path[1024];
    expect_read_error(fixture(path, sizeof path, "f32_fortran.npy"), EB_ERR_UNSUPPORTED, "fortran");
}

Test(npy_bad, unknown_version_and_too_many_dims) {
    char path[1024];
    eb_test_path(path, sizeof path, "npy_version.npy");
    float data[1] = {0};
    write_raw_npy(path, 4, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data, sizeof data);
    expect_read_error(path, EB_ERR_UNSUPPORTED, "version 4.0");
    write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }",
                  data, sizeof data);
    expect_read_error(path, EB_ERR_UNSUPPORTED, "dimensions");
    remove(path);
}

Test(npy_bad, malformed_header_dicts) {
    static const char *dicts[] = {
        "not a dict",
        "{'descr': '<f4', 'fortran_order': False}",                        /* no shape */
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",       /* bad bool */
        "{'descr': '<f4', 'fortran_order': False, 'shape': [1], }",        /* not a tuple */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", /* unknown key */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",      /* negative dim */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) } junk",   /* trailing text */
        "{'descr: '<f4', 'fortran_order': False, 'shape': (1,), }",        /* broken quote */
    };
    char path[1024];
    eb_test_path(path, sizeof path, "npy_dict.npy");
    float data[1] = {0};
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        write_raw_npy(path, 1, dicts[i], data, sizeof data);
        expect_read_error(path, EB_ERR_FORMAT, "header");
    }
    /* the same layout with a good dict reads (so the cases above fail for their dict alone) */
    write_raw_npy(path, 2, "{'shape': (1,), 'fortran_order': False, 'descr': '<f4'}", data, sizeof data);
    eb_npy_array a;
    eb_error err = {0};
    cr_assert_eq(eb_npy_read(path, &a, &err), EB_OK, "%s", err.message);
    eb_npy_array_free(&a);
    remove(path);
}

Test(npy_bad, write_errors_leave_no_file) {
    char path[1024];
    eb_error err = {0};
    float v[4] = {0};
    eb_test_path(path, sizeof path, "npy_write_bad.npy");
    cr_assert_eq(eb_npy_write(path, EB_DTYPE_F32, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, v, &err),
                 EB_ERR_ARG);
    cr_assert(strstr(err.message, path), "%s", err.message);
    cr_assert_eq(eb_npy_write(path, EB_DTYPE_F32, 1, (int64_t[]){-4}, v, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, path), "%s", err.message);
    cr_assert_eq(eb_npy_write(path, (eb_dtype)42, 1, (int64_t[]){4}, v, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, path), "%s", err.message);
    cr_assert(!eb_test_file_exists(path));

    char nodir[1024];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/x.npy", EB_TEST_TMPDIR);
    cr_assert_eq(eb_npy_write(nodir, EB_DTYPE_F32, 1, (int64_t[]){4}, v, &err), EB_ERR_IO);
    cr_assert(strstr(err.message, nodir), "%s", err.message);
    cr_assert(!eb_test_file_exists(nodir));
}

Test(npy, write_replaces_atomically) {
    char path[1024], tmp[1100];
    eb_test_path(path, sizeof path, "npy_replace.npy");
    write_formula(path, EB_DTYPE_F32, 1, (int64_t[]){3});
    write_formula(path, EB_DTYPE_I32, 2, (int64_t[]){2, 2});
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert(!eb_test_file_exists(tmp), "temporary file left behind");
    eb_npy_array a;
    cr_assert_eq(eb_npy_read(path, &a, NULL), EB_OK);
    cr_assert_eq(a.dtype, EB_DTYPE_I32);
    cr_assert_eq(a.shape[1], 2);
    eb_npy_array_free(&a);
    remove(path);
}
