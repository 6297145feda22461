/* Image folders (src/data/image_folder.c) on PNG/JPEG files the test writes (PNG through libpng,
 * JPEG through libjpeg's encoder): ImageFolder and flat layouts, conversion and resizing, and strict
 * errors — corrupt, truncated and foreign files (naming the file), wrong channel kinds, empty and
 * mixed layouts. */
#include <criterion/criterion.h>
#include <ebood/data.h>
#include <jpeglib.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/render_impl.h"
#include "test_util.h"

static void write_png(const char *path, const uint8_t *px, int w, int h, int c) {
    eb_error err = {0};
    cr_assert_eq(eb__png_write(path, px, w, h, c, &err), EB_OK, "%s", err.message);
}

static void write_jpeg(const char *path, const uint8_t *px, int w, int h, int c) {
    FILE *fp = fopen(path, "wb");
    cr_assert(fp != NULL);
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, fp);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 100, TRUE);
    jpeg_start_compress(&ci, TRUE);
    for (int y = 0; y < h; y++) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)y * w * c);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(fp);
}

static const char *sub(char *buf, const char *dir, const char *name) {
    snprintf(buf, 4200, "%s/%s", dir, name);
    return buf;
}

static void truncate_copy(const char *from, const char *to, double keep) {
    char *data;
    size_t len;
    cr_assert_eq(eb_file_read_all(from, &data, &len, NULL), EB_OK);
    cr_assert_eq(eb_test_write_file(to, data, (size_t)((double)len * keep)), 0);
    free(data);
}

Test(folder, imagefolder_layout_labels_pixels_and_sorted_order) {
    char dir[4096], p[4200];
    eb_test_path(dir, sizeof dir, "folder_classes");
    mkdir(dir, 0755);
    mkdir(sub(p, dir, "cat"), 0755);
    mkdir(sub(p, dir, "ant"), 0755);
    uint8_t px[20];
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 20; i++) px[i] = (uint8_t)(10 * k + i);
        char name[64];
        snprintf(name, sizeof name, "cat/%d.png", 2 - k); /* written in reverse name order */
        write_png(sub(p, dir, name), px, 5, 4, 1);
        snprintf(name, sizeof name, "ant/img%d.png", k);
        write_png(sub(p, dir, name), px, 5, 4, 1);
    }
    eb_image_set s;
    char **names;
    int n_classes;
    eb_error err = {0};
    cr_assert_eq(eb_image_folder_read(dir, 0, 0, 0, &s, &names, &n_classes, &err), EB_OK, "%s", err.message);
    cr_assert(s.n == 6 && s.c == 1 && s.h == 4 && s.w == 5 && s.num_classes == 2 && n_classes == 2);
    cr_assert_str_eq(names[0], "ant");
    cr_assert_str_eq(names[1], "cat");
    int32_t want[6] = {0, 0, 0, 1, 1, 1};
    for (int i = 0; i < 6; i++) cr_assert_eq(s.labels[i], want[i]);
    /* ant/img0 (k = 0) first; cat/0.png is k = 2, so the 4th image starts at 20 */
    cr_assert_eq(s.u8[0], 0);
    cr_assert_eq(s.u8[19], 19);
    cr_assert_eq(s.u8[3 * 20], 20);
    for (int i = 0; i < n_classes; i++) free(names[i]);
    free(names);
    eb_image_set_free(&s);
}

Test(folder, flat_png_and_jpeg_converted_and_resized) {
    char dir[4096], p[4200];
    eb_test_path(dir, sizeof dir, "folder_flat");
    mkdir(dir, 0755);
    uint8_t gray[16 * 12], rgb[10 * 10 * 3];
    memset(gray, 200, sizeof gray);
    for (int i = 0; i < 100; i++) rgb[3 * i] = 255, rgb[3 * i + 1] = 0, rgb[3 * i + 2] = 0; /* pure red */
    write_png(sub(p, dir, "a.png"), gray, 16, 12, 1);
    write_jpeg(sub(p, dir, "b.jpg"), rgb, 10, 10, 3);
    eb_image_set s;
    eb_error err = {0};
    /* into 1 × 8 × 8: the flat gray image stays 200 (edge pixels clamped), red becomes its luma 0.299·255 */
    cr_assert_eq(eb_image_folder_read(dir, 1, 8, 8, &s, NULL, NULL, &err), EB_OK, "%s", err.message);
    cr_assert(s.n == 2 && s.c == 1 && s.h == 8 && s.labels == NULL && s.num_classes == 0);
    for (int i = 0; i < 64; i++) cr_assert_eq(s.u8[i], 200, "pixel %d", i);
    for (int i = 64; i < 128; i++)
        cr_assert(abs(s.u8[i] - 76) <= 3, "pixel %d: %d", i, s.u8[i]); /* JPEG loss */
    eb_image_set_free(&s);
    /* into 3 channels: gray copied into R, G and B */
    cr_assert_eq(eb_image_folder_read(dir, 3, 12, 16, &s, NULL, NULL, &err), EB_OK, "%s", err.message);
    for (int ch = 0; ch < 3; ch++) cr_assert_eq(s.u8[ch * 192 + 5], 200);
    cr_assert(s.u8[576 + 5] > 240 && s.u8[576 + 192 + 5] < 15, "red stays red");
    eb_image_set_free(&s);
    /* left to the images: the first is gray, the JPEG is color → an error naming the JPEG */
    cr_assert_eq(eb_image_folder_read(dir, 0, 0, 0, &s, NULL, NULL, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "b.jpg") && strstr(err.message, "a.png"), "%s", err.message);
    cr_assert(s.u8 == NULL);
}

/* A folder holding one good PNG and one bad file; the error must name the bad file. */
static void expect_bad_file(const char *tag, const char *bad_name, const void *bytes, size_t len,
                            const char *what) {
    char dir[4096], p[4200];
    eb_test_path(dir, sizeof dir, tag);
    mkdir(dir, 0755);
    uint8_t px[36] = {0};
    write_png(sub(p, dir, "a.png"), px, 6, 6, 1);
    cr_assert_eq(eb_test_write_file(sub(p, dir, bad_name), bytes, len), 0);
    eb_image_set s;
    eb_error err = {0};
    eb_status st = eb_image_folder_read(dir, 0, 0, 0, &s, NULL, NULL, &err);
    cr_assert(st == EB_ERR_FORMAT || st == EB_ERR_UNSUPPORTED, "%s: status %d", tag, st);
    cr_assert(strstr(err.message, bad_name) && strstr(err.message, what), "%s: %s", tag, err.message);
    cr_assert(s.u8 == NULL);
}

Test(folder, corrupt_truncated_and_foreign_files_name_the_file) {
    char dir[4096], good_png[4200], good_jpg[4200], tmp[4200];
    eb_test_path(dir, sizeof dir, "folder_sources");
    mkdir(dir, 0755);
    uint8_t px[32 * 32 * 3];
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * 7);
    write_png(sub(good_png, dir, "g.png"), px, 32, 32, 3);
    write_jpeg(sub(good_jpg, dir, "g.jpg"), px, 32, 32, 3);
    char *data;
    size_t len;
    /* truncated PNG and JPEG */
    truncate_copy(good_png, sub(tmp, dir, "t.png"), 0.5);
    cr_assert_eq(eb_file_read_all(tmp, &data, &len, NULL), EB_OK);
    expect_bad_file("folder_trunc_png", "x.png", data, len, "PNG");
    free(data);
    truncate_copy(good_jpg, sub(tmp, dir, "t.jpg"), 0.5);
    cr_assert_eq(eb_file_read_all(tmp, &data, &len, NULL), EB_OK);
    expect_bad_file("folder_trunc_jpg", "x.jpg", data, len, "JPEG");
    free(data);
    /* corrupt PNG: a valid signature and header, then garbage */
    cr_assert_eq(eb_file_read_all(good_png, &data, &len, NULL), EB_OK);
    for (size_t i = 40; i < len; i++) data[i] = (char)(i * 13);
    expect_bad_file("folder_corrupt_png", "c.png", data, len, "PNG");
    free(data);
    expect_bad_file("folder_text", "notes.txt", "hello", 5, "neither a PNG nor a JPEG");
    expect_bad_file("folder_empty_file", "zero.png", "", 0, "neither a PNG nor a JPEG");
}

Test(folder, layout_errors) {
    char dir[4096], p[4200];
    eb_image_set s;
    eb_error err = {0};
    eb_test_path(dir, sizeof dir, "folder_empty");
    mkdir(dir, 0755);
    cr_assert_eq(eb_image_folder_read(dir, 0, 0, 0, &s, NULL, NULL, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "no images"), "%s", err.message);
    cr_assert_eq(eb_image_folder_read(sub(p, dir, "missing"), 0, 0, 0, &s, NULL, NULL, &err), EB_ERR_IO);
    cr_assert(strstr(err.message, "missing"), "%s", err.message);
    cr_assert_eq(eb_image_folder_read(dir, 2, 0, 0, &s, NULL, NULL, &err), EB_ERR_ARG);
    /* an empty class folder, then files beside class folders */
    mkdir(sub(p, dir, "class0"), 0755);
    cr_assert_eq(eb_image_folder_read(dir, 0, 0, 0, &s, NULL, NULL, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "class0: empty class folder"), "%s", err.message);
    uint8_t px[4] = {1, 2, 3, 4};
    write_png(sub(p, dir, "class0/a.png"), px, 2, 2, 1);
    write_png(sub(p, dir, "loose.png"), px, 2, 2, 1);
    cr_assert_eq(eb_image_folder_read(dir, 0, 0, 0, &s, NULL, NULL, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "loose.png") && strstr(err.message, "class0"), "%s", err.message);
    cr_assert(s.u8 == NULL);
}
