/* JPEG decoding through libjpeg(-turbo): gray or RGB output, 8 bits per channel. libjpeg reports a
 * truncated or damaged stream only as a *warning* (and pads the image with gray); we treat every
 * warning as an error, so a corrupt file is rejected instead of silently repaired. */
#include "data/render_impl.h"

#include <jpeglib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void on_error(j_common_ptr cinfo) {
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, f->message);
    longjmp(f->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0) on_error(cinfo); /* a warning: corrupt data */
}

eb_status eb__jpeg_read(const char *path, eb__raster *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) return eb_error_set(err, EB_ERR_IO, "%s: cannot open", path);
    struct jpeg_decompress_struct cinfo;
    jpeg_failure fail;
    memset(&fail, 0, sizeof fail);
    cinfo.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = on_error;
    fail.mgr.emit_message = on_message;
    /* volatile: modified between setjmp and a possible longjmp */
    uint8_t *volatile px = NULL;
    if (setjmp(fail.jump)) {
        jpeg_destroy_decompress(&cinfo);
        fclose(fp);
        free(px);
        return eb_error_set(err, EB_ERR_FORMAT, "%s: corrupt or truncated JPEG (%s)", path, fail.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, fp);
    jpeg_read_header(&cinfo, TRUE);
    eb_status st = EB_OK;
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        st = eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: CMYK JPEG (only gray and RGB are read)", path);
    } else if ((int64_t)cinfo.image_width * cinfo.image_height > EB__RASTER_MAX_PIXELS) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: %u x %u pixels is too large", path, cinfo.image_width,
                          cinfo.image_height);
    }
    if (st) {
        jpeg_destroy_decompress(&cinfo);
        fclose(fp);
        return st;
    }
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, c = cinfo.output_components;
    px = malloc((size_t)w * (size_t)h * (size_t)c);
    if (!px) {
        jpeg_destroy_decompress(&cinfo);
        fclose(fp);
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%d x %d)", path, w, h);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = px + (size_t)cinfo.output_scanline * (size_t)w * (size_t)c;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(fp);
    out->px = px;
    out->w = w;
    out->h = h;
    out->c = c;
    return EB_OK;
}
