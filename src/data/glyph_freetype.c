/* Outline fonts (TrueType, OpenType/CFF, Type 1) rendered through FreeType: one FT_Library per
 * font so fonts are independent objects; anti-aliased 8-bit coverage bitmaps; stroke width changed
 * with FT_Outline_Embolden before rasterisation. */
#include "data/render_impl.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct eb__outline_font {
    FT_Library lib;
    FT_Face face;
    char path[1024];
};

eb_status eb__outline_font_open(const char *path, eb__outline_font **out, eb_error *err) {
    *out = NULL;
    eb__outline_font *f = calloc(1, sizeof *f);
    if (!f) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    snprintf(f->path, sizeof f->path, "%s", path);
    FT_Error e = FT_Init_FreeType(&f->lib);
    if (e) {
        free(f);
        return eb_error_set(err, EB_ERR_STATE, "FreeType: initialisation failed (error %d)", e);
    }
    e = FT_New_Face(f->lib, path, 0, &f->face);
    if (!e && FT_Select_Charmap(f->face, FT_ENCODING_UNICODE)) e = -1;
    if (e) {
        eb_status st =
            e == FT_Err_Cannot_Open_Resource
                ? eb_error_set(err, EB_ERR_IO, "%s: cannot open", path)
                : eb_error_set(err, EB_ERR_FORMAT, "%s: not an outline font with a Unicode charmap", path);
        eb__outline_font_close(f);
        return st;
    }
    *out = f;
    return EB_OK;
}

void eb__outline_font_close(eb__outline_font *f) {
    if (!f) return;
    if (f->face) FT_Done_Face(f->face);
    if (f->lib) FT_Done_FreeType(f->lib);
    free(f);
}

eb_status eb__outline_font_chars(eb__outline_font *f, uint32_t lo, uint32_t hi, uint32_t **cps, int64_t *n,
                                 eb_error *err) {
    *cps = NULL;
    *n = 0;
    int64_t cap = 0;
    FT_UInt gi;
    for (FT_ULong c = FT_Get_First_Char(f->face, &gi); gi != 0; c = FT_Get_Next_Char(f->face, c, &gi)) {
        if (c < lo || c > hi) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            uint32_t *grown = realloc(*cps, (size_t)cap * sizeof *grown);
            if (!grown) {
                free(*cps);
                *cps = NULL;
                *n = 0;
                return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", f->path);
            }
            *cps = grown;
        }
        (*cps)[(*n)++] = (uint32_t)c;
    }
    return EB_OK;
}

eb_status eb__outline_font_glyph(eb__outline_font *f, uint32_t cp, int pixel_size, double embolden,
                                 eb__canvas *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    FT_UInt gi = FT_Get_Char_Index(f->face, cp);
    if (!gi) return eb_error_set(err, EB_ERR_ARG, "%s: no glyph for U+%04X", f->path, cp);
    FT_Error e = FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)pixel_size);
    if (!e) e = FT_Load_Glyph(f->face, gi, FT_LOAD_NO_BITMAP | FT_LOAD_NO_HINTING);
    if (!e && f->face->glyph->format != FT_GLYPH_FORMAT_OUTLINE) e = -1;
    /* strength in 26.6 fixed point: the outline grows by strength/2 on each side */
    if (!e && embolden != 0) e = FT_Outline_Embolden(&f->face->glyph->outline, (FT_Pos)lround(embolden * 64));
    if (!e) e = FT_Render_Glyph(f->face->glyph, FT_RENDER_MODE_NORMAL);
    if (e)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: cannot render U+%04X (FreeType error %d)", f->path, cp,
                            e);
    const FT_Bitmap *bm = &f->face->glyph->bitmap;
    int w = (int)bm->width, h = (int)bm->rows;
    if (w == 0 || h == 0) return eb__canvas_alloc(out, 1, 1, err); /* blank glyph (space) */
    eb_status st = eb__canvas_alloc(out, w, h, err);
    if (st) return st;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            out->px[(size_t)y * w + x] = bm->buffer[(ptrdiff_t)y * bm->pitch + x] / 255.0f;
    return EB_OK;
}
