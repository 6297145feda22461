/* safetensors reader/writer: round trips, a fixture written by an independent Python writer
 * (scripts/make_safetensors_fixture.py), a C-written file checked by an independent Python reader
 * (scripts/safetensors_check.py, numpy + torch), one test per validation rule, write failures. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <ebood/safetensors.h>

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "test_util.h"

#define SCRIPTS_DIR EB_FIXTURES_DIR "/../../scripts"
#define PYTHON      "/usr/bin/python3"

/* ---- helpers ----------------------------------------------------------------------------------- */

static void assert_no_file(const char *path) {
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert(!eb_test_file_exists(path), "%s exists", path);
    cr_assert(!eb_test_file_exists(tmp), "temporary %s left behind", tmp);
}

/* Writes <u64 LE hlen><header bytes><data bytes> to path. */
static void craft_len(const char *path, uint64_t hlen, const char *header, size_t header_bytes,
                      const void *data, size_t ndata) {
    size_t total = 8 + header_bytes + ndata;
    unsigned char *buf = malloc(total);
    cr_assert_not_null(buf);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hlen >> (8 * i));
    if (header_bytes) memcpy(buf + 8, header, header_bytes);
    if (ndata) memcpy(buf + 8 + header_bytes, data, ndata);
    cr_assert_eq(eb_test_write_file(path, buf, total), 0);
    free(buf);
}

static void craft(const char *path, const char *json, const void *data, size_t ndata) {
    craft_len(path, strlen(json), json, strlen(json), data, ndata);
}

/* Reading `path` must fail with `want`; the message must name the file and contain `fragment`. */
static void expect_read_fails(const char *path, eb_status want, const char *fragment) {
    eb_safetensors *st = (eb_safetensors *)&st; /* not NULL: the call must reset it */
    eb_error err = {0};
    eb_status s = eb_safetensors_read(path, &st, &err);
    cr_assert_eq(s, want, "status %d (%s), want %d; message: %s", s, eb_status_str(s), want, err.message);
    cr_assert_eq(err.status, want);
    cr_assert_null(st, "output must be NULL on failure");
    cr_assert_not_null(strstr(err.message, path), "message '%s' does not name the file", err.message);
    cr_assert_not_null(strstr(err.message, fragment), "message '%s' lacks '%s'", err.message, fragment);
    cr_assert_null(strchr(err.message, '\n'));
}

/* A header + zero-filled data buffer of ndata bytes that must be rejected. */
static void bad_header(const char *tag, const char *json, size_t ndata, eb_status want,
                       const char *fragment) {
    char path[512];
    unsigned char zeros[256] = {0};
    cr_assert(ndata <= sizeof zeros);
    eb_test_path(path, sizeof path, tag);
    craft(path, json, zeros, ndata);
    expect_read_fails(path, want, fragment);
    remove(path);
}

static eb_safetensors *read_ok(const char *path) {
    eb_safetensors *st = NULL;
    eb_error err = {0};
    eb_status s = eb_safetensors_read(path, &st, &err);
    cr_assert_eq(s, EB_OK, "read %s: %s", path, err.message);
    cr_assert_not_null(st);
    return st;
}

static void assert_shape(const eb_st_tensor *t, int ndim, const int64_t *shape) {
    cr_assert_eq(t->ndim, ndim, "%s: ndim %d, want %d", t->name, t->ndim, ndim);
    for (int d = 0; d < ndim; d++)
        cr_assert_eq(t->shape[d], shape[d], "%s: dim %d is %lld, want %lld", t->name, d,
                     (long long)t->shape[d], (long long)shape[d]);
}

static int64_t numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

/* IEEE binary16 -> float (normals, subnormals, zeros; no inf/nan needed here). */
static float half_to_float(uint16_t h) {
    int sign = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v = e == 0 ? ldexpf((float)m, -24) : ldexpf((float)(m | 0x400), e - 25);
    return sign ? -v : v;
}

/* ---- the tensors the C side writes (formulas shared with scripts/safetensors_check.py) -------- */

typedef struct c_set {
    float f32[24];
    double f64[5];
    int32_t i32[6];
    int64_t i64[4];
    uint8_t u8[10];
    int16_t i16[3];
    uint16_t bf16[2];
    float scalar;
    eb_st_tensor t[9];
    eb_st_meta meta[2];
} c_set;

static const char *const NOTE =
    "quote \" backslash \\ newline \n tab \t unicode \xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80";
static const char *const CONFIG = "{\"widths\":[100,100]}";

static void make_c_set(c_set *c) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < 24; i++) c->f32[i] = (float)i * 0.5f - 3.0f;
    for (int i = 0; i < 5; i++) c->f64[i] = (double)i / 3.0;
    for (int i = 0; i < 6; i++) c->i32[i] = i * 7 - 20;
    for (int i = 0; i < 4; i++) c->i64[i] = (int64_t)i * ((int64_t)1 << 40) - 5;
    for (int i = 0; i < 10; i++) c->u8[i] = (uint8_t)((i * 37) % 256);
    for (int i = 0; i < 3; i++) c->i16[i] = (int16_t)(i * 1000 - 1000);
    for (int i = 0; i < 2; i++) {
        float v = 1.0f - 3.0f * (float)i; /* 1, -2: exact in bfloat16 */
        uint32_t bits;
        memcpy(&bits, &v, 4);
        c->bf16[i] = (uint16_t)(bits >> 16);
    }
    c->scalar = 3.25f;
    c->t[0] = (eb_st_tensor){"f32", EB_ST_F32, 3, {2, 3, 4}, c->f32, sizeof c->f32};
    c->t[1] = (eb_st_tensor){"f64", EB_ST_F64, 1, {5}, c->f64, sizeof c->f64};
    c->t[2] = (eb_st_tensor){"i32", EB_ST_I32, 2, {3, 2}, c->i32, sizeof c->i32};
    c->t[3] = (eb_st_tensor){"i64", EB_ST_I64, 1, {4}, c->i64, sizeof c->i64};
    c->t[4] = (eb_st_tensor){"u8", EB_ST_U8, 1, {10}, c->u8, sizeof c->u8};
    c->t[5] = (eb_st_tensor){"i16", EB_ST_I16, 1, {3}, c->i16, sizeof c->i16};
    c->t[6] = (eb_st_tensor){"bf16", EB_ST_BF16, 1, {2}, c->bf16, sizeof c->bf16};
    c->t[7] = (eb_st_tensor){"scalar", EB_ST_F32, 0, {0}, &c->scalar, sizeof c->scalar};
    c->t[8] = (eb_st_tensor){"empty", EB_ST_F32, 2, {0, 4}, NULL, 0};
    c->meta[0] = (eb_st_meta){"config", CONFIG};
    c->meta[1] = (eb_st_meta){"note", NOTE};
}

static void write_c_set(const char *path, const c_set *c) {
    eb_error err = {0};
    eb_status s = eb_safetensors_write(path, c->t, 9, c->meta, 2, &err);
    cr_assert_eq(s, EB_OK, "write: %s", err.message);
}

/* Runs the independent Python reader on path; returns its exit code (or -1 if it did not exit). */
static int python_check(const char *path, int quiet) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s '%s/safetensors_check.py' '%s' > /dev/null%s", PYTHON, SCRIPTS_DIR, path,
             quiet ? " 2>&1" : "");
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* ---- round trips ------------------------------------------------------------------------------- */

Test(roundtrip, dtypes_shapes_scalar_empty_metadata) {
    char path[512];
    eb_test_path(path, sizeof path, "rt.safetensors");
    c_set c;
    make_c_set(&c);
    write_c_set(path, &c);

    /* the header length is padded to a multiple of 8 */
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    unsigned char pre[8];
    cr_assert_eq(fread(pre, 1, 8, fp), 8u);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | pre[i];
    cr_assert_eq(hlen % 8, 0u, "header length %llu not padded", (unsigned long long)hlen);

    eb_safetensors *st = read_ok(path);
    cr_assert_str_eq(eb_safetensors_path(st), path);
    cr_assert_eq(eb_safetensors_count(st), 9);
    for (int i = 0; i < 9; i++) {
        const eb_st_tensor *t = eb_safetensors_at(st, i), *w = &c.t[i];
        cr_assert_not_null(t);
        cr_assert_str_eq(t->name, w->name, "tensor %d is '%s', want '%s' (write order)", i, t->name, w->name);
        cr_assert_eq(t->dtype, w->dtype, "%s dtype", w->name);
        assert_shape(t, w->ndim, w->shape);
        cr_assert_eq(t->nbytes, w->nbytes, "%s nbytes", w->name);
        cr_assert_eq((uintptr_t)t->data % 64, 0u, "%s data not 64-aligned", w->name);
        if (w->nbytes) cr_assert_eq(memcmp(t->data, w->data, w->nbytes), 0, "%s bytes differ", w->name);
        cr_assert_eq(eb_safetensors_find(st, w->name), t, "find(%s)", w->name);
    }
    cr_assert_null(eb_safetensors_at(st, 9));
    cr_assert_null(eb_safetensors_at(st, -1));
    cr_assert_null(eb_safetensors_find(st, "nope"));
    cr_assert_null(eb_safetensors_find(st, "f3"));
    cr_assert_str_eq(eb_safetensors_meta(st, "config"), CONFIG);
    cr_assert_str_eq(eb_safetensors_meta(st, "note"), NOTE);
    cr_assert_null(eb_safetensors_meta(st, "absent"));
    cr_assert_eq(eb_safetensors_meta_count(st), 2);
    cr_assert_str_eq(eb_safetensors_meta_at(st, 0)->key, "config");
    cr_assert_str_eq(eb_safetensors_meta_at(st, 1)->key, "note");
    cr_assert_null(eb_safetensors_meta_at(st, 2));
    eb_safetensors_free(st);
    remove(path);
}

Test(roundtrip, python_numpy_and_torch_read_c_file) {
    if (access(PYTHON, X_OK) != 0) cr_skip_test("%s not installed", PYTHON);
    char path[512];
    eb_test_path(path, sizeof path, "rt_py.safetensors");
    c_set c;
    make_c_set(&c);
    write_c_set(path, &c);
    int rc = python_check(path, 0);
    cr_assert_eq(rc, 0, "scripts/safetensors_check.py exited %d on %s", rc, path);
    remove(path);
}

/* The Python check must be able to fail: one wrong value is a mismatch (exit 1). */
Test(roundtrip, python_check_detects_a_wrong_value) {
    if (access(PYTHON, X_OK) != 0) cr_skip_test("%s not installed", PYTHON);
    char path[512];
    eb_test_path(path, sizeof path, "rt_py_bad.safetensors");
    c_set c;
    make_c_set(&c);
    c.i64[2] += 1;
    write_c_set(path, &c);
    int rc = python_check(path, 1);
    cr_assert_eq(rc, 1, "scripts/safetensors_check.py exited %d, want 1 (mismatch)", rc);
    remove(path);
}

Test(roundtrip, get_f32) {
    char path[512];
    eb_test_path(path, sizeof path, "rt_get.safetensors");
    c_set c;
    make_c_set(&c);
    write_c_set(path, &c);
    eb_safetensors *st = read_ok(path);
    eb_error err = {0};

    float dst[24];
    const int64_t good[3] = {2, 3, 4}, bad[3] = {4, 3, 2};
    cr_assert_eq(eb_safetensors_get_f32(st, "f32", 3, good, dst, &err), EB_OK, "%s", err.message);
    for (int i = 0; i < 24; i++)
        cr_assert_eq(dst[i], (float)i * 0.5f - 3.0f, "f32[%d] = %g", i, (double)dst[i]);

    float s = 0;
    cr_assert_eq(eb_safetensors_get_f32(st, "scalar", 0, NULL, &s, &err), EB_OK, "%s", err.message);
    cr_assert_eq(s, 3.25f);

    for (int i = 0; i < 24; i++) dst[i] = -1.0f;
    cr_assert_eq(eb_safetensors_get_f32(st, "f32", 3, bad, dst, &err), EB_ERR_SHAPE);
    cr_assert_not_null(strstr(err.message, path), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "'f32'"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "[2, 3, 4]"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "[4, 3, 2]"), "%s", err.message);
    cr_assert_eq(dst[0], -1.0f, "dst written on failure");

    const int64_t two[2] = {2, 3};
    cr_assert_eq(eb_safetensors_get_f32(st, "f32", 2, two, dst, &err), EB_ERR_SHAPE);
    cr_assert_not_null(strstr(err.message, "[2, 3]"), "%s", err.message);

    const int64_t five[1] = {5};
    cr_assert_eq(eb_safetensors_get_f32(st, "f64", 1, five, dst, &err), EB_ERR_FORMAT);
    cr_assert_not_null(strstr(err.message, path), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "F64"), "%s", err.message);

    cr_assert_eq(eb_safetensors_get_f32(st, "missing", 1, five, dst, &err), EB_ERR_FORMAT);
    cr_assert_not_null(strstr(err.message, path), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "'missing'"), "%s", err.message);
    eb_safetensors_free(st);
    remove(path);
}

Test(roundtrip, no_tensors_no_metadata) {
    char path[512];
    eb_test_path(path, sizeof path, "rt_empty.safetensors");
    eb_error err = {0};
    cr_assert_eq(eb_safetensors_write(path, NULL, 0, NULL, 0, &err), EB_OK, "%s", err.message);
    eb_safetensors *st = read_ok(path);
    cr_assert_eq(eb_safetensors_count(st), 0);
    cr_assert_eq(eb_safetensors_meta_count(st), 0);
    cr_assert_null(eb_safetensors_find(st, "x"));
    cr_assert_null(eb_safetensors_meta(st, "x"));
    eb_safetensors_free(st);
    remove(path);
}

Test(roundtrip, names_needing_escapes) {
    char path[512];
    eb_test_path(path, sizeof path, "rt_names.safetensors");
    const char *names[4] = {"a \"quoted\" name", "back\\slash", "\xc3\xbcn\xc3\xaf-\xc3\xb6-name",
                            "layer.0/w"};
    int32_t v[4] = {1, -2, 3, -4};
    eb_st_tensor t[4];
    for (int i = 0; i < 4; i++) t[i] = (eb_st_tensor){names[i], EB_ST_I32, 1, {1}, &v[i], 4};
    eb_st_meta m = {"key \"with\" quotes", "{\"nested\": {\"a\": [1, 2]}}"};
    eb_error err = {0};
    cr_assert_eq(eb_safetensors_write(path, t, 4, &m, 1, &err), EB_OK, "%s", err.message);
    eb_safetensors *st = read_ok(path);
    cr_assert_eq(eb_safetensors_count(st), 4);
    for (int i = 0; i < 4; i++) {
        const eb_st_tensor *r = eb_safetensors_find(st, names[i]);
        cr_assert_not_null(r, "'%s' not found", names[i]);
        int32_t got;
        memcpy(&got, r->data, 4);
        cr_assert_eq(got, v[i]);
    }
    cr_assert_str_eq(eb_safetensors_meta(st, m.key), m.value);
    eb_safetensors_free(st);
    remove(path);
}

/* Files from other writers: header not padded, trailing whitespace, header order != data order,
 * zero-size tensors sharing an offset, unaligned offsets. */
Test(roundtrip, foreign_layout_accepted) {
    char path[512];
    eb_test_path(path, sizeof path, "foreign.safetensors");
    const char *json = "{\"z\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                       "\"e2\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[3,3]},"
                       "\"y\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[3,7]},"
                       "\"e1\":{\"dtype\":\"I64\",\"shape\":[5,0,2],\"data_offsets\":[3,3]},"
                       "\"e3\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[7,7]}}  \n";
    cr_assert_neq(strlen(json) % 8, 0u, "test wants an unpadded header");
    const unsigned char data[7] = {9, 8, 7, 0x34, 0x12, 0xfe, 0xff};
    craft(path, json, data, sizeof data);
    eb_safetensors *st = read_ok(path);
    cr_assert_eq(eb_safetensors_count(st), 5);
    const char *order[5] = {"z", "e2", "e1", "y", "e3"}; /* by offset, ties in header order */
    for (int i = 0; i < 5; i++) cr_assert_str_eq(eb_safetensors_at(st, i)->name, order[i]);
    const eb_st_tensor *y = eb_safetensors_find(st, "y");
    cr_assert_eq((uintptr_t)y->data % 64, 0u);
    int16_t yv[2];
    memcpy(yv, y->data, 4);
    cr_assert_eq(yv[0], 0x1234);
    cr_assert_eq(yv[1], -2);
    cr_assert_eq(((const uint8_t *)eb_safetensors_find(st, "z")->data)[2], 7);
    cr_assert_eq(eb_safetensors_find(st, "e1")->nbytes, 0u);
    assert_shape(eb_safetensors_find(st, "e1"), 3, (const int64_t[]){5, 0, 2});
    eb_safetensors_free(st);
    remove(path);
}

/* ---- the committed fixture from the independent Python writer ------------------------------------ */

Test(fixture, reference_from_python_writer) {
    char path[512];
    eb_fixture_path(path, sizeof path, "safetensors/reference.safetensors");
    eb_safetensors *st = read_ok(path);

    static const struct {
        const char *name;
        eb_st_dtype dtype;
        int ndim;
        int64_t shape[3];
    } want[9] = {
        {"bytes", EB_ST_U8, 1, {5}},   {"weight", EB_ST_F32, 2, {3, 4}},
        {"scalar", EB_ST_F32, 0, {0}}, {"empty", EB_ST_I32, 2, {2, 0}},
        {"counts", EB_ST_I64, 1, {3}}, {"double", EB_ST_F64, 3, {2, 2, 2}},
        {"half", EB_ST_F16, 1, {4}},   {"ints", EB_ST_I32, 1, {4}},
        {"flags", EB_ST_BOOL, 1, {3}},
    };
    cr_assert_eq(eb_safetensors_count(st), 9);
    for (int k = 0; k < 9; k++) {
        const eb_st_tensor *t = eb_safetensors_at(st, k);
        cr_assert_str_eq(t->name, want[k].name, "tensor %d (data order)", k);
        cr_assert_eq(t->dtype, want[k].dtype, "%s dtype %s", t->name, eb_st_dtype_name(t->dtype));
        assert_shape(t, want[k].ndim, want[k].shape);
        int64_t n = numel(t->ndim, t->shape);
        cr_assert_eq(t->nbytes, (size_t)n * eb_st_dtype_size(t->dtype));
        cr_assert_eq((uintptr_t)t->data % 64, 0u, "%s data not aligned", t->name);
        const unsigned char *p = t->data;
        for (int64_t i = 0; i < n; i++) {
            switch (k) {
            case 0: cr_assert_eq(p[i], (i * 51 + 7) % 256, "bytes[%lld]", (long long)i); break;
            case 1:
            case 2: {
                float v, w = k == 1 ? (float)(i - 5) * 0.25f : 42.5f;
                memcpy(&v, p + 4 * i, 4);
                cr_assert_eq(v, w, "%s[%lld] = %g, want %g", t->name, (long long)i, (double)v, (double)w);
                break;
            }
            case 4: {
                int64_t v;
                memcpy(&v, p + 8 * i, 8);
                cr_assert_eq(v, (i - 1) * ((int64_t)1 << 40) + 3, "counts[%lld] = %lld", (long long)i,
                             (long long)v);
                break;
            }
            case 5: {
                double v;
                memcpy(&v, p + 8 * i, 8);
                cr_assert_eq(v, (double)i / 7.0, "double[%lld] = %.17g", (long long)i, v);
                break;
            }
            case 6: {
                uint16_t h;
                memcpy(&h, p + 2 * i, 2);
                float v = half_to_float(h), w = (float)i * 0.5f - 1.0f;
                cr_assert_eq(v, w, "half[%lld] = %g (0x%04x), want %g", (long long)i, (double)v, h,
                             (double)w);
                break;
            }
            case 7: {
                int32_t v;
                memcpy(&v, p + 4 * i, 4);
                cr_assert_eq(v, (int32_t)(-(i * i) - 1), "ints[%lld] = %d", (long long)i, v);
                break;
            }
            case 8: cr_assert_eq(p[i], i % 2 == 0 ? 1 : 0, "flags[%lld] = %d", (long long)i, p[i]); break;
            default: cr_assert_fail("tensor %d should be empty", k);
            }
        }
    }
    cr_assert_eq(eb_safetensors_meta_count(st), 5);
    cr_assert_str_eq(eb_safetensors_meta(st, "format"), "pt");
    cr_assert_str_eq(eb_safetensors_meta(st, "config"), "{\"widths\":[100,100]}");
    cr_assert_str_eq(eb_safetensors_meta(st, "quotes"), "say \"hi\" \\ back");
    /* arrives as \u00ef \u2713 \ud83d\ude00 escapes (json.dumps ensure_ascii) */
    cr_assert_str_eq(eb_safetensors_meta(st, "unicode"), "na\xc3\xafve \xe2\x9c\x93 \xf0\x9f\x98\x80");
    cr_assert_str_eq(eb_safetensors_meta(st, "empty"), "");

    float w[12];
    eb_error err = {0};
    cr_assert_eq(eb_safetensors_get_f32(st, "weight", 2, (const int64_t[]){3, 4}, w, &err), EB_OK, "%s",
                 err.message);
    cr_assert_eq(w[11], 1.5f);
    eb_safetensors_free(st);
}

/* ---- bad input: one test per validation rule ----------------------------------------------------- */

Test(bad, missing_file) {
    char path[512];
    eb_test_path(path, sizeof path, "does_not_exist.safetensors");
    expect_read_fails(path, EB_ERR_IO, "cannot open");
}

Test(bad, directory) {
    char path[512];
    eb_test_path(path, sizeof path, "a_directory");
    mkdir(path, 0755);
    expect_read_fails(path, EB_ERR_IO, "not a regular file");
    rmdir(path);
}

Test(bad, shorter_than_8_bytes) {
    char path[512];
    eb_test_path(path, sizeof path, "short.safetensors");
    cr_assert_eq(eb_test_write_file(path, "\x10\0\0\0\0", 5), 0);
    expect_read_fails(path, EB_ERR_FORMAT, "too short");
    cr_assert_eq(eb_test_write_file(path, "", 0), 0);
    expect_read_fails(path, EB_ERR_FORMAT, "too short");
    remove(path);
}

Test(bad, header_longer_than_file) {
    char path[512];
    eb_test_path(path, sizeof path, "hlen.safetensors");
    craft_len(path, 100, "{}", 2, NULL, 0);
    expect_read_fails(path, EB_ERR_FORMAT, "exceeds");
    remove(path);
}

Test(bad, header_length_absurd) {
    char path[512];
    eb_test_path(path, sizeof path, "absurd.safetensors");
    craft_len(path, (uint64_t)200 * 1000 * 1000, "{}", 2, NULL, 0);
    expect_read_fails(path, EB_ERR_FORMAT, "absurd");
    craft_len(path, UINT64_MAX, "{}", 2, NULL, 0);
    expect_read_fails(path, EB_ERR_FORMAT, "absurd");
    remove(path);
}

Test(bad, header_not_json) {
    bad_header("nojson", "{\"a\": {\"dtype\": ", 0, EB_ERR_FORMAT, "not valid JSON");
}
Test(bad, header_empty) { bad_header("emptyhdr", "", 0, EB_ERR_FORMAT, "not valid JSON"); }
Test(bad, header_not_object) { bad_header("array", "[1, 2]", 0, EB_ERR_FORMAT, "not a JSON object"); }
Test(bad, header_trailing_text) { bad_header("trail", "{}  x", 0, EB_ERR_FORMAT, "text after"); }
Test(bad, header_not_utf8) {
    /* a stray byte, an overlong '/', an overlong 3-byte form, a UTF-16 surrogate, a truncated sequence */
    const char *bad[] = {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xe2\x9c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"__metadata__\":{\"k\":\"%s\"}}", bad[i]);
        bad_header("utf8", json, 0, EB_ERR_FORMAT, "not valid UTF-8");
    }
}
Test(bad, entry_not_object) { bad_header("entry", "{\"a\": [1, 2]}", 0, EB_ERR_FORMAT, "not a JSON object"); }
Test(bad, missing_dtype) {
    bad_header("nodtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, EB_ERR_FORMAT,
               "missing \"dtype\"");
}
Test(bad, missing_shape) {
    bad_header("noshape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, EB_ERR_FORMAT,
               "missing \"shape\"");
}
Test(bad, missing_data_offsets) {
    bad_header("nooffs", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, EB_ERR_FORMAT,
               "missing \"data_offsets\"");
}
Test(bad, dtype_not_string) {
    bad_header("dtypenum", "{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, EB_ERR_FORMAT,
               "\"dtype\" is not a string");
}
Test(bad, shape_not_array) {
    bad_header("shapestr", "{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8,
               EB_ERR_FORMAT, "\"shape\" is not an array");
}
Test(bad, shape_element_not_number) {
    bad_header("shapeel", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8,
               EB_ERR_FORMAT, "not a number");
}
Test(bad, shape_not_integer) {
    bad_header("shapefrac", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8,
               EB_ERR_FORMAT, "not an integer");
}
Test(bad, data_offsets_wrong_arity) {
    bad_header("offs3", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 16,
               EB_ERR_FORMAT, "not an array of 2");
}
Test(bad, unknown_dtype) {
    bad_header("f128", "{\"a\":{\"dtype\":\"F128\",\"shape\":[2],\"data_offsets\":[0,32]}}", 32,
               EB_ERR_UNSUPPORTED, "unknown dtype 'F128'");
}
Test(bad, too_many_dims) {
    bad_header("ndim9", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
               EB_ERR_UNSUPPORTED, "9 dimensions");
}
Test(bad, negative_dim) {
    bad_header("negdim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,0]}}", 0,
               EB_ERR_FORMAT, "negative");
}
Test(bad, negative_offset) {
    bad_header("negoff", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[-4,-4]}}", 0,
               EB_ERR_FORMAT, "negative");
}
Test(bad, integer_beyond_2_pow_53) {
    bad_header("huge", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1e300],\"data_offsets\":[0,1]}}", 1,
               EB_ERR_FORMAT, "too large");
}
Test(bad, size_product_overflows) {
    /* 2^52 * 2^52 elements: every factor is a valid integer, the product wraps a u64 */
    bad_header(
        "overflow",
        "{\"a\":{\"dtype\":\"F64\",\"shape\":[4503599627370496,4503599627370496],\"data_offsets\":[0,8]}}", 8,
        EB_ERR_FORMAT, "overflows");
}
Test(bad, offsets_do_not_match_size) {
    bad_header("sizemis", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
               EB_ERR_FORMAT, "needs 12");
}
Test(bad, offsets_reversed) {
    bad_header("reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
               EB_ERR_FORMAT, "end before");
}
Test(bad, offsets_beyond_buffer) {
    bad_header("beyond", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, EB_ERR_FORMAT,
               "beyond the 4-byte data buffer");
}
Test(bad, overlapping_tensors) {
    bad_header("overlap",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, EB_ERR_FORMAT, "'a' and 'b' overlap");
}
Test(bad, same_offsets_twice) {
    bad_header("sameoffs",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               8, EB_ERR_FORMAT, "overlap");
}
Test(bad, duplicate_names) {
    bad_header("dupname",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
               16, EB_ERR_FORMAT, "duplicate tensor name 'a'");
}
Test(bad, gap_between_tensors) {
    bad_header("gap",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
               20, EB_ERR_FORMAT, "bytes [8, 12) of the data buffer belong to no tensor");
}
Test(bad, leading_bytes_uncovered) {
    bad_header("lead", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, EB_ERR_FORMAT,
               "bytes [0, 4)");
}
Test(bad, trailing_bytes_uncovered) {
    bad_header("tail", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, EB_ERR_FORMAT,
               "bytes [8, 12)");
}
Test(bad, data_without_tensors) { bad_header("nodata", "{}", 4, EB_ERR_FORMAT, "bytes [0, 4)"); }
Test(bad, metadata_value_not_string) {
    bad_header("metaint", "{\"__metadata__\":{\"epochs\":10}}", 0, EB_ERR_FORMAT,
               "metadata value for key 'epochs' is not a string");
}
Test(bad, metadata_not_object) {
    bad_header("metastr", "{\"__metadata__\":\"v1\"}", 0, EB_ERR_FORMAT,
               "\"__metadata__\" is not a JSON object");
}
Test(bad, metadata_duplicate_key) {
    bad_header("metadup", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, EB_ERR_FORMAT,
               "duplicate metadata key 'k'");
}
Test(bad, metadata_twice) {
    bad_header("meta2", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, EB_ERR_FORMAT,
               "duplicate \"__metadata__\"");
}

/* ---- write failures: clean error, no file, no temporary, an existing file untouched -------------- */

Test(write_errors, into_missing_directory) {
    char dir[512], path[600];
    eb_test_path(dir, sizeof dir, "no_such_dir");
    snprintf(path, sizeof path, "%s/out.safetensors", dir);
    float v = 1.0f;
    eb_st_tensor t = {"v", EB_ST_F32, 1, {1}, &v, 4};
    eb_error err = {0};
    eb_status s = eb_safetensors_write(path, &t, 1, NULL, 0, &err);
    cr_assert_eq(s, EB_ERR_IO, "status %d: %s", s, err.message);
    cr_assert_not_null(strstr(err.message, path), "%s", err.message);
    assert_no_file(path);
    cr_assert(!eb_test_file_exists(dir));
}

/* Each invalid argument is refused before anything is written; a previous file survives. */
Test(write_errors, bad_arguments_leave_existing_file) {
    char path[512];
    eb_test_path(path, sizeof path, "wargs.safetensors");
    float v[4] = {1, 2, 3, 4};
    eb_st_tensor good = {"w", EB_ST_F32, 1, {4}, v, sizeof v};
    eb_error err = {0};
    cr_assert_eq(eb_safetensors_write(path, &good, 1, NULL, 0, &err), EB_OK, "%s", err.message);

    struct {
        eb_st_tensor t[2];
        int n;
        eb_st_meta m[2];
        int n_meta;
        const char *fragment;
    } cases[] = {
        {{{"a", EB_ST_F32, 1, {4}, v, 16}, {"a", EB_ST_F32, 1, {4}, v, 16}},
         2,
         {{0}},
         0,
         "duplicate tensor name 'a'"},
        {{{"a", EB_ST_F32, 1, {4}, v, 12}}, 1, {{0}}, 0, "needs 16"},
        {{{"a", EB_ST_F32, 1, {-4}, v, 16}}, 1, {{0}}, 0, "negative"},
        {{{"a", EB_ST_F32, 9, {1}, v, 4}}, 1, {{0}}, 0, "ndim 9"},
        {{{"a", (eb_st_dtype)99, 1, {4}, v, 16}}, 1, {{0}}, 0, "invalid dtype"},
        {{{"a", EB_ST_F32, 1, {4}, NULL, 16}}, 1, {{0}}, 0, "data is NULL"},
        {{{NULL, EB_ST_F32, 1, {4}, v, 16}}, 1, {{0}}, 0, "no name"},
        {{{"__metadata__", EB_ST_F32, 1, {4}, v, 16}}, 1, {{0}}, 0, "reserved"},
        {{{"bad\xc3", EB_ST_F32, 1, {4}, v, 16}}, 1, {{0}}, 0, "UTF-8"},
        {{{"a", EB_ST_F64, 2, {INT64_MAX, 4}, v, 16}}, 1, {{0}}, 0, "too large"},
        {{{"a", EB_ST_F32, 1, {4}, v, 16}}, 1, {{"k", "1"}, {"k", "2"}}, 2, "duplicate metadata key 'k'"},
        {{{"a", EB_ST_F32, 1, {4}, v, 16}}, 1, {{"k", NULL}}, 1, "NULL value"},
        {{{"a", EB_ST_F32, 1, {4}, v, 16}}, 1, {{"k", "\xff"}}, 1, "UTF-8"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        eb_error_clear(&err);
        eb_status s = eb_safetensors_write(path, cases[c].t, cases[c].n, cases[c].m, cases[c].n_meta, &err);
        cr_assert_eq(s, EB_ERR_ARG, "case %zu: status %d: %s", c, s, err.message);
        cr_assert_not_null(strstr(err.message, path), "case %zu: %s", c, err.message);
        cr_assert_not_null(strstr(err.message, cases[c].fragment), "case %zu: '%s' lacks '%s'", c,
                           err.message, cases[c].fragment);
    }
    cr_assert_eq(eb_safetensors_write(path, NULL, 1, NULL, 0, &err), EB_ERR_ARG);
    cr_assert_eq(eb_safetensors_write(path, NULL, -1, NULL, 0, &err), EB_ERR_ARG);
    cr_assert_eq(eb_safetensors_write(NULL, NULL, 0, NULL, 0, &err), EB_ERR_ARG);

    eb_safetensors *st = read_ok(path);
    float back[4];
    cr_assert_eq(eb_safetensors_get_f32(st, "w", 1, (const int64_t[]){4}, back, &err), EB_OK, "%s",
                 err.message);
    cr_assert_eq(memcmp(back, v, sizeof v), 0);
    eb_safetensors_free(st);
    remove(path);
    assert_no_file(path);
}

/* A write that fails halfway (file size limit → EFBIG) removes its temporary and keeps the old file. */
Test(write_errors, failure_mid_write_is_atomic) {
    char path[512];
    eb_test_path(path, sizeof path, "wfull.safetensors");
    float small = 7.0f;
    eb_st_tensor t0 = {"old", EB_ST_F32, 0, {0}, &small, 4};
    eb_error err = {0};
    cr_assert_eq(eb_safetensors_write(path, &t0, 1, NULL, 0, &err), EB_OK, "%s", err.message);

    static float big[64 * 1024];
    eb_st_tensor t1 = {"big", EB_ST_F32, 1, {64 * 1024}, big, sizeof big};
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {16 * 1024, 16 * 1024};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    eb_status s = eb_safetensors_write(path, &t1, 1, NULL, 0, &err);
    cr_assert_eq(s, EB_ERR_IO, "status %d: %s", s, err.message);
    cr_assert_not_null(strstr(err.message, path), "%s", err.message);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert(!eb_test_file_exists(tmp), "temporary %s left behind", tmp);

    eb_safetensors *st = read_ok(path);
    cr_assert_eq(eb_safetensors_count(st), 1);
    cr_assert_str_eq(eb_safetensors_at(st, 0)->name, "old");
    eb_safetensors_free(st);
    remove(path);
}

/* ---- dtype table ----------------------------------------------------------------------------------- */

Test(dtype, names_and_sizes) {
    static const struct {
        const char *name;
        size_t size;
    } spec[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
                {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
                {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};
    cr_assert_eq(sizeof spec / sizeof spec[0], (size_t)EB_ST_DTYPE_COUNT);
    for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
        eb_st_dtype d;
        cr_assert_eq(eb_st_dtype_from_name(spec[i].name, &d, NULL), EB_OK, "%s", spec[i].name);
        cr_assert_str_eq(eb_st_dtype_name(d), spec[i].name);
        cr_assert_eq(eb_st_dtype_size(d), spec[i].size, "%s", spec[i].name);
    }
    eb_st_dtype d;
    eb_error err = {0};
    cr_assert_eq(eb_st_dtype_from_name("f32", &d, &err), EB_ERR_UNSUPPORTED);
    cr_assert_not_null(strstr(err.message, "'f32'"));
    cr_assert_str_eq(eb_st_dtype_name((eb_st_dtype)99), "?");
    cr_assert_eq(eb_st_dtype_size((eb_st_dtype)-1), 0u);
}
