/* PNG through libpng's simplified API (png_image): decode to 8-bit gray/gray+alpha/RGB/RGBA,
 * encode gray or RGB atomically; plus the content sniffer and the luma conversion shared by the
 * raster readers (src/data/render_impl.h). */
#include "data/render_impl.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eb__raster_free(eb__raster *r) {
    if (!r) return;
    free(r->px);
    memset(r, 0, sizeof *r);
}

eb_status eb__png_read(const char *path, eb__raster *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) return eb_error_set(err, EB_ERR_IO, "%s: cannot open", path);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    eb_status st = EB_OK;
    if (!png_image_begin_read_from_stdio(&img, fp)) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: not a readable PNG (%s)", path, img.message);
    } else if ((int64_t)img.width * img.height > EB__RASTER_MAX_PIXELS) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: %u x %u pixels is too large", path, img.width, img.height);
    } else {
        bool color = img.format & PNG_FORMAT_FLAG_COLOR, alpha = img.format & PNG_FORMAT_FLAG_ALPHA;
        img.format =
            color ? (alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB) : (alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY);
        out->c = (color ? 3 : 1) + (alpha ? 1 : 0);
        out->w = (int)img.width;
        out->h = (int)img.height;
        out->px = malloc(PNG_IMAGE_SIZE(img));
        if (!out->px)
            st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%u x %u)", path, img.width, img.height);
        else if (!png_image_finish_read(&img, NULL, out->px, 0, NULL))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: corrupt or truncated PNG (%s)", path, img.message);
    }
    png_image_free(&img);
    fclose(fp);
    if (st) eb__raster_free(out);
    return st;
}

eb_status eb__png_write(const char *path, const uint8_t *px, int w, int h, int c, eb_error *err) {
    if ((c != 1 && c != 3) || w < 1 || h < 1)
        return eb_error_set(err, EB_ERR_ARG, "%s: cannot write a %dx%d image of %d channels", path, w, h, c);
    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (st) return st;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = c == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    if (!png_image_write_to_stdio(&img, af.fp, 0, px, 0, NULL)) {
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: PNG write failed (%s)", path, img.message);
    }
    return eb_atomic_commit(&af, err);
}

eb_status eb__raster_read(const char *path, eb__raster *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    unsigned char magic[8] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp) return eb_error_set(err, EB_ERR_IO, "%s: cannot open", path);
    size_t got = fread(magic, 1, sizeof magic, fp);
    fclose(fp);
    if (got == 8 && png_sig_cmp(magic, 0, 8) == 0) return eb__png_read(path, out, err);
    if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF)
        return eb__jpeg_read(path, out, err);
    return eb_error_set(err, EB_ERR_FORMAT, "%s: neither a PNG nor a JPEG file", path);
}

eb_status eb__raster_to_canvas(const eb__raster *r, eb__canvas *out, eb_error *err) {
    eb_status st = eb__canvas_alloc(out, r->w, r->h, err);
    if (st) return st;
    bool color = r->c >= 3;
    for (size_t i = 0, n = (size_t)r->w * (size_t)r->h; i < n; i++) {
        const uint8_t *p = r->px + i * (size_t)r->c;
        float v = color ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : p[0];
        out->px[i] = v / 255.0f;
    }
    return EB_OK;
}
