/* Raster output through libpng: 8-bit RGB, no interlace, libpng's default filters and zlib level 6.
 * libpng reports errors by longjmp; each call keeps its own jmp_buf and frees everything on that path. */
#include "eval/plot_impl.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static void buffer_write(png_structp png, png_bytep bytes, size_t n) {
    eb__buf_put(png_get_io_ptr(png), bytes, n);
}

static void buffer_flush(png_structp png) { (void)png; }

/* libpng's warnings (none expected for what we write) are not the user's business. */
static void quiet_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* The libpng calls; false if libpng failed. Everything it touches lives in the caller's frame, so no
 * local of this function changes between setjmp and a longjmp. */
static bool encode(png_structp png, png_infop info, png_bytep *rows, eb__buf *buf, const uint8_t *rgb,
                   int64_t w, int64_t h) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_write_fn(png, buf, buffer_write, buffer_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 6);
    for (int64_t y = 0; y < h; y++) rows[y] = (png_bytep)(uintptr_t)(rgb + (size_t)y * (size_t)w * 3);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    return true;
}

eb_status eb_png_encode_rgb(const uint8_t *rgb, int64_t w, int64_t h, uint8_t **out, size_t *len,
                            eb_error *err) {
    *out = NULL;
    *len = 0;
    if (w < 1 || h < 1 || w > 65535 || h > 65535)
        return eb_error_set(err, EB_ERR_ARG, "png: %lld x %lld pixels outside [1, 65535]", (long long)w,
                            (long long)h);
    eb__buf buf = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, quiet_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = malloc((size_t)h * sizeof *rows);
    bool ok = png && info && rows && encode(png, info, rows, &buf, rgb, w, h) && !buf.oom;
    png_destroy_write_struct(&png, &info);
    free(rows);
    if (!ok) {
        free(buf.s);
        return eb_error_set(err, EB_ERR_NOMEM, "png: out of memory encoding a %lld x %lld image",
                            (long long)w, (long long)h);
    }
    *out = (uint8_t *)buf.s;
    *len = buf.len;
    return EB_OK;
}

eb_status eb_png_write_rgb(const char *path, const uint8_t *rgb, int64_t w, int64_t h, eb_error *err) {
    uint8_t *png = NULL;
    size_t len = 0;
    eb_status st = eb_png_encode_rgb(rgb, w, h, &png, &len, err);
    eb_atomic_file af;
    if (!st) st = eb_atomic_open(&af, path, err);
    if (!st && fwrite(png, 1, len, af.fp) != len) {
        eb_atomic_abort(&af);
        st = eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    } else if (!st) {
        st = eb_atomic_commit(&af, err);
    }
    free(png);
    return st;
}
