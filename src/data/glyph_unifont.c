/* GNU Unifont's .hex bitmaps (Debian package unifont, /usr/share/unifont/unifont.hex): one glyph per
 * line, "XXXX:" (the code point, 4–6 hex digits) then 32 hex digits (8 × 16 pixels, one byte per
 * row) or 64 (16 × 16, two bytes per row), most significant bit leftmost. Only the Basic
 * Multilingual Plane (U+0000–U+FFFF) is kept. */
#include "data/render_impl.h"

#include <stdlib.h>
#include <string.h>

#define UNIFONT_CODES 0x10000

struct eb__unifont {
    uint32_t slot[UNIFONT_CODES]; /* 1 + glyph index, 0 = absent */
    uint8_t wide[UNIFONT_CODES];  /* 1 = 16 columns, 0 = 8 */
    uint8_t *bits;                /* 32 bytes per glyph: 16 rows × 2 bytes (8-column glyphs use byte 0) */
    int64_t count;
};

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

eb_status eb__unifont_read(const char *path, eb__unifont **out, eb_error *err) {
    *out = NULL;
    char *data;
    size_t len;
    eb_status st = eb_file_read_all(path, &data, &len, err);
    if (st) return st;
    eb__unifont *u = calloc(1, sizeof *u);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    if (u) u->bits = malloc(lines * 32);
    if (!u || !u->bits) {
        free(data);
        eb__unifont_free(u);
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    const char *p = data, *end = data + len;
    for (int64_t line = 1; p < end && !st; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        size_t ndigits = colon ? (size_t)(eol - colon - 1) : 0;
        if (eol > p && eol[-1] == '\r') ndigits--;
        uint32_t cp = 0;
        bool ok = colon && colon - p >= 4 && colon - p <= 6 && (ndigits == 32 || ndigits == 64);
        for (const char *q = p; ok && q < colon; q++) {
            int v = hexval(*q);
            ok = v >= 0;
            cp = cp * 16 + (uint32_t)(ok ? v : 0);
        }
        uint8_t glyph[32] = {0};
        for (size_t k = 0; ok && k < ndigits; k += 2) {
            int hi = hexval(colon[1 + k]), lo = hexval(colon[2 + k]);
            ok = hi >= 0 && lo >= 0;
            size_t byte = k / 2, row = ndigits == 32 ? byte : byte / 2, col = ndigits == 32 ? 0 : byte % 2;
            if (ok) glyph[row * 2 + col] = (uint8_t)(hi * 16 + lo);
        }
        if (!ok && eol > p) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: line %lld: expected XXXX: and 32 or 64 hex digits",
                              path, (long long)line);
        } else if (ok && cp < UNIFONT_CODES && !u->slot[cp]) {
            memcpy(u->bits + u->count * 32, glyph, 32);
            u->wide[cp] = ndigits == 64;
            u->slot[cp] = (uint32_t)++u->count;
        }
        p = eol + 1;
    }
    free(data);
    if (!st && u->count == 0) st = eb_error_set(err, EB_ERR_FORMAT, "%s: no glyphs", path);
    if (st) {
        eb__unifont_free(u);
        return st;
    }
    *out = u;
    return EB_OK;
}

void eb__unifont_free(eb__unifont *u) {
    if (!u) return;
    free(u->bits);
    free(u);
}

bool eb__unifont_has(const eb__unifont *u, uint32_t cp) { return cp < UNIFONT_CODES && u->slot[cp]; }

eb_status eb__unifont_glyph(const eb__unifont *u, uint32_t cp, int zoom, eb__canvas *out, eb_error *err) {
    if (!eb__unifont_has(u, cp)) return eb_error_set(err, EB_ERR_ARG, "unifont: no glyph for U+%04X", cp);
    int cols = u->wide[cp] ? 16 : 8;
    eb_status st = eb__canvas_alloc(out, cols * zoom, 16 * zoom, err);
    if (st) return st;
    const uint8_t *g = u->bits + (size_t)(u->slot[cp] - 1) * 32;
    for (int y = 0; y < 16 * zoom; y++)
        for (int x = 0; x < cols * zoom; x++) {
            int row = y / zoom, col = x / zoom;
            out->px[(size_t)y * out->w + x] = (float)((g[row * 2 + col / 8] >> (7 - col % 8)) & 1);
        }
    return EB_OK;
}
