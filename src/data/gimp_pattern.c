/* GIMP pattern files (.pat, the texture tiles of Debian's gimp-data). Layout, all integers 32-bit
 * big-endian: header_size, version (1), width, height, bytes per pixel (1 gray, 2 gray+alpha,
 * 3 RGB, 4 RGBA), the magic "GPAT", then the NUL-terminated UTF-8 name filling the header up to
 * header_size bytes; then width × height × bpp pixel bytes, row-major. */
#include "data/render_impl.h"

#include <stdlib.h>
#include <string.h>

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

eb_status eb__gimp_pattern_read(const char *path, eb__raster *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    char *data;
    size_t len;
    eb_status st = eb_file_read_all(path, &data, &len, err);
    if (st) return st;
    const unsigned char *p = (const unsigned char *)data;
    if (len < 24 || memcmp(p + 20, "GPAT", 4) != 0) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: not a GIMP pattern (no GPAT magic)", path);
    } else {
        uint32_t header = be32(p), version = be32(p + 4), w = be32(p + 8), h = be32(p + 12),
                 bpp = be32(p + 16);
        if (version != 1) {
            st = eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: pattern version %u (only 1 is read)", path,
                              version);
        } else if (header < 24 || header > len || bpp < 1 || bpp > 4 || w < 1 || h < 1 || w > 65536 ||
                   h > 65536) {
            st = eb_error_set(err, EB_ERR_FORMAT,
                              "%s: malformed pattern header (%u x %u x %u, header %u bytes)", path, w, h, bpp,
                              header);
        } else if ((uint64_t)w * h * bpp != len - header) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: %zu pixel bytes, expected %llu for %u x %u x %u", path,
                              len - header, (unsigned long long)w * h * bpp, w, h, bpp);
        } else if (!(out->px = malloc(len - header))) {
            st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
        } else {
            memcpy(out->px, p + header, len - header);
            out->w = (int)w;
            out->h = (int)h;
            out->c = (int)bpp;
        }
    }
    free(data);
    return st;
}
