/* CIFAR-10/100 binary batches: small files the tests write (layout, labels, concatenation, the
 * standard directory names) and bad input (truncated, empty, label out of range, missing). */
#include <criterion/criterion.h>
#include <ebood/data.h>

#include <stdlib.h>
#include <string.h>

#include "test_util.h"

enum { PIX = 3072 };

/* Pixel (record r, channel ch, y, x): a formula distinct enough to catch plane/row mix-ups. */
static uint8_t pix(int r, int ch, int y, int x) { return (uint8_t)(r * 31 + ch * 101 + y * 7 + x * 3); }

/* Writes n records; label bytes: CIFAR-10 {labels[r]}, CIFAR-100 {coarse[r], labels[r]}. */
static void write_batch(const char *path, int n, bool cifar100, const uint8_t *labels, const uint8_t *coarse,
                        int record_offset) {
    size_t rec = (cifar100 ? 2 : 1) + PIX;
    unsigned char *buf = malloc(rec * (size_t)n);
    for (int r = 0; r < n; r++) {
        unsigned char *p = buf + rec * (size_t)r;
        if (cifar100) {
            *p++ = coarse[r];
            *p++ = labels[r];
        } else {
            *p++ = labels[r];
        }
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) *p++ = pix(r + record_offset, ch, y, x);
    }
    cr_assert_eq(eb_test_write_file(path, buf, rec * (size_t)n), 0);
    free(buf);
}

static void check_pixels(const eb_image_set *s, int n) {
    cr_assert_eq(s->n, n);
    cr_assert_eq(s->c, 3);
    cr_assert_eq(s->h, 32);
    cr_assert_eq(s->w, 32);
    cr_assert(s->u8 && !s->f32);
    for (int r = 0; r < n; r++)
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    cr_assert_eq(s->u8[((r * 3 + ch) * 32 + y) * 32 + x], pix(r, ch, y, x), "r%d c%d (%d,%d)",
                                 r, ch, y, x);
}

static void expect_error(const char *path, eb_cifar_kind kind, eb_status status, const char *word) {
    eb_image_set s;
    eb_error err = {0};
    const char *paths[1] = {path};
    eb_status st = eb_cifar_read(paths, 1, kind, &s, &err);
    cr_assert_eq(st, status, "status %d, message: %s", st, err.message);
    cr_assert(strstr(err.message, path) != NULL, "message does not name the file: %s", err.message);
    if (word) cr_assert(strstr(err.message, word) != NULL, "expected '%s' in: %s", word, err.message);
    cr_assert(s.u8 == NULL && s.labels == NULL && s.n == 0);
}

Test(cifar, cifar10_two_batches_concatenated) {
    char p1[512], p2[512];
    uint8_t l1[3] = {3, 9, 0}, l2[2] = {5, 1};
    write_batch(eb_test_path(p1, sizeof p1, "c10-a.bin"), 3, false, l1, NULL, 0);
    write_batch(eb_test_path(p2, sizeof p2, "c10-b.bin"), 2, false, l2, NULL, 3);
    const char *paths[2] = {p1, p2};
    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_cifar_read(paths, 2, EB_CIFAR10, &s, &err), EB_OK, "%s", err.message);
    check_pixels(&s, 5);
    int expect[5] = {3, 9, 0, 5, 1};
    for (int i = 0; i < 5; i++) cr_assert_eq(s.labels[i], expect[i]);
    cr_assert_eq(s.num_classes, 10);
    eb_image_set_free(&s);
    remove(p1);
    remove(p2);
}

Test(cifar, cifar100_fine_and_coarse) {
    char p[512];
    uint8_t fine[4] = {99, 0, 42, 7}, coarse[4] = {19, 0, 3, 11};
    write_batch(eb_test_path(p, sizeof p, "c100.bin"), 4, true, fine, coarse, 0);
    const char *paths[1] = {p};
    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_cifar_read(paths, 1, EB_CIFAR100_FINE, &s, &err), EB_OK, "%s", err.message);
    check_pixels(&s, 4);
    for (int i = 0; i < 4; i++) cr_assert_eq(s.labels[i], fine[i]);
    cr_assert_eq(s.num_classes, 100);
    eb_image_set_free(&s);
    cr_assert_eq(eb_cifar_read(paths, 1, EB_CIFAR100_COARSE, &s, &err), EB_OK, "%s", err.message);
    check_pixels(&s, 4);
    for (int i = 0; i < 4; i++) cr_assert_eq(s.labels[i], coarse[i]);
    cr_assert_eq(s.num_classes, 20);
    eb_image_set_free(&s);
    remove(p);
}

Test(cifar, standard_directory_layouts) {
    char dir[512], p[700];
    eb_test_path(dir, sizeof dir, "cifar-dir");
    mkdir(dir, 0755);
    uint8_t labels[2] = {1, 2}, coarse[2] = {0, 0};
    for (int b = 1; b <= 5; b++) {
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, b);
        write_batch(p, 2, false, labels, NULL, 0);
    }
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    write_batch(p, 1, false, labels, NULL, 0);
    snprintf(p, sizeof p, "%s/train.bin", dir);
    write_batch(p, 2, true, labels, coarse, 0);
    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_cifar_load_dir(dir, EB_CIFAR10, true, &s, &err), EB_OK, "%s", err.message);
    cr_assert_eq(s.n, 10);
    eb_image_set_free(&s);
    cr_assert_eq(eb_cifar_load_dir(dir, EB_CIFAR10, false, &s, &err), EB_OK, "%s", err.message);
    cr_assert_eq(s.n, 1);
    eb_image_set_free(&s);
    cr_assert_eq(eb_cifar_load_dir(dir, EB_CIFAR100_FINE, true, &s, &err), EB_OK, "%s", err.message);
    cr_assert_eq(s.n, 2);
    eb_image_set_free(&s);
    /* CIFAR-100 test.bin is missing: the message names it */
    cr_assert_eq(eb_cifar_load_dir(dir, EB_CIFAR100_FINE, false, &s, &err), EB_ERR_IO);
    cr_assert(strstr(err.message, "test.bin") != NULL, "%s", err.message);
    /* one missing training batch fails the whole load */
    snprintf(p, sizeof p, "%s/data_batch_4.bin", dir);
    remove(p);
    cr_assert_eq(eb_cifar_load_dir(dir, EB_CIFAR10, true, &s, &err), EB_ERR_IO);
    cr_assert(strstr(err.message, "data_batch_4.bin") != NULL, "%s", err.message);
    cr_assert(s.u8 == NULL);
    const char *names[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                           "data_batch_5.bin", "test_batch.bin",   "train.bin"};
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        remove(p);
    }
    rmdir(dir);
}

Test(cifar, truncated_file) {
    char p[512];
    uint8_t labels[3] = {1, 2, 3};
    write_batch(eb_test_path(p, sizeof p, "trunc.bin"), 3, false, labels, NULL, 0);
    /* cut the last record short */
    FILE *fp = fopen(p, "rb");
    unsigned char *buf = malloc(3 * 3073);
    cr_assert_eq(fread(buf, 1, 3 * 3073, fp), 3 * 3073);
    fclose(fp);
    cr_assert_eq(eb_test_write_file(p, buf, 3 * 3073 - 100), 0);
    expect_error(p, EB_CIFAR10, EB_ERR_FORMAT, "truncated");
    /* a CIFAR-100 file (3074-byte records) read as CIFAR-10 does not divide into records either */
    uint8_t coarse[3] = {0, 0, 0};
    write_batch(p, 3, true, labels, coarse, 0);
    expect_error(p, EB_CIFAR10, EB_ERR_FORMAT, "3073");
    free(buf);
    remove(p);
}

Test(cifar, empty_file) {
    char p[512];
    cr_assert_eq(eb_test_write_file(eb_test_path(p, sizeof p, "empty.bin"), "", 0), 0);
    expect_error(p, EB_CIFAR10, EB_ERR_FORMAT, "empty");
    remove(p);
}

Test(cifar, label_out_of_range) {
    char p[512];
    uint8_t labels[3] = {1, 10, 3};
    write_batch(eb_test_path(p, sizeof p, "badlabel.bin"), 3, false, labels, NULL, 0);
    expect_error(p, EB_CIFAR10, EB_ERR_FORMAT, "record 2");
    uint8_t fine[2] = {5, 100}, coarse[2] = {20, 1};
    write_batch(p, 2, true, fine, coarse, 0);
    expect_error(p, EB_CIFAR100_FINE, EB_ERR_FORMAT, "record 2: label 100");
    expect_error(p, EB_CIFAR100_COARSE, EB_ERR_FORMAT, "record 1: label 20");
    remove(p);
}

Test(cifar, missing_file_and_bad_arguments) {
    char p[512];
    eb_test_path(p, sizeof p, "no-such-batch.bin");
    expect_error(p, EB_CIFAR10, EB_ERR_IO, "cannot open");
    eb_image_set s;
    eb_error err = {0};
    const char *paths[1] = {p};
    cr_assert_eq(eb_cifar_read(paths, 0, EB_CIFAR10, &s, &err), EB_ERR_ARG);
    cr_assert_eq(eb_cifar_read(paths, 1, (eb_cifar_kind)7, &s, &err), EB_ERR_ARG);
}
