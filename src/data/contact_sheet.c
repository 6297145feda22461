/* Contact sheets: the first rows × cols images of a set on a grid under a title line drawn with
 * GNU Unifont, written as PNG (include/ebood/data.h). Layout, in sheet pixels: a margin of 4, the
 * title 16·2 px high (Unifont at ×2), a gap of 4, then the cells of zoom·h × zoom·w with 2-px gaps;
 * black background (the sets are white ink on black), light-gray title. */
#include "data/render_impl.h"

#include <stdlib.h>
#include <string.h>

#define MARGIN     4
#define GAP        2
#define TITLE_ZOOM 2

eb_status eb_image_set_contact_sheet(const eb_image_set *s, int rows, int cols, int zoom, const char *title,
                                     const char *unifont_path, const char *path, eb_error *err) {
    if (!s->u8 || (s->c != 1 && s->c != 3))
        return eb_error_set(err, EB_ERR_ARG, "%s: contact sheets show u8 images with 1 or 3 channels", path);
    if (rows < 1 || cols < 1 || zoom < 1 || rows > 256 || cols > 256 || zoom > 16)
        return eb_error_set(err, EB_ERR_ARG, "%s: rows, cols in [1, 256] and zoom in [1, 16]", path);
    eb__unifont *font;
    eb_status st =
        eb__unifont_read(unifont_path ? unifont_path : "/usr/share/unifont/unifont.hex", &font, err);
    if (st) return st;
    int cell_w = s->w * zoom, cell_h = s->h * zoom, title_h = 16 * TITLE_ZOOM;
    int grid_w = cols * cell_w + (cols - 1) * GAP, title_w = 0;
    for (const char *t = title ? title : ""; *t; t++) title_w += 8 * TITLE_ZOOM;
    int w = 2 * MARGIN + (grid_w > title_w ? grid_w : title_w);
    int h = 2 * MARGIN + title_h + MARGIN + rows * cell_h + (rows - 1) * GAP, c = s->c;
    uint8_t *px = calloc((size_t)w * (size_t)h * (size_t)c, 1);
    if (!px) {
        eb__unifont_free(font);
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    /* title: each byte is looked up as a code point (ASCII titles) */
    int x0 = MARGIN;
    for (const char *t = title ? title : ""; *t && !st; t++, x0 += 8 * TITLE_ZOOM) {
        eb__canvas g;
        if (!eb__unifont_has(font, (unsigned char)*t)) continue;
        if ((st = eb__unifont_glyph(font, (unsigned char)*t, TITLE_ZOOM, &g, err))) break;
        for (int y = 0; y < g.h; y++)
            for (int x = 0; x < g.w && x0 + x < w; x++)
                if (g.px[(size_t)y * g.w + x] > 0)
                    for (int ch = 0; ch < c; ch++) px[((size_t)(MARGIN + y) * w + x0 + x) * c + ch] = 210;
        eb__canvas_free(&g);
    }
    int64_t image = 0, per = eb_image_set_image_size(s), plane = (int64_t)s->h * s->w;
    for (int r = 0; r < rows && !st; r++)
        for (int k = 0; k < cols && image < s->n; k++, image++) {
            const uint8_t *src = s->u8 + image * per;
            int top = 2 * MARGIN + title_h + r * (cell_h + GAP), left = MARGIN + k * (cell_w + GAP);
            for (int y = 0; y < cell_h; y++)
                for (int x = 0; x < cell_w; x++)
                    for (int ch = 0; ch < c; ch++) /* NCHW source, interleaved sheet */
                        px[((size_t)(top + y) * w + left + x) * c + ch] =
                            src[ch * plane + (int64_t)(y / zoom) * s->w + x / zoom];
        }
    if (!st) st = eb__png_write(path, px, w, h, c, err);
    free(px);
    eb__unifont_free(font);
    return st;
}
