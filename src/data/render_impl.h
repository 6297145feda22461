/* Internals shared by the readers, renderers and builders of the rendered image sets
 * (src/data/rendered_sets.c): a float canvas, the warp that maps any canvas into a small image,
 * and one reader/renderer per source format (each in its own file). */
#ifndef EBOOD_DATA_RENDER_IMPL_H
#define EBOOD_DATA_RENDER_IMPL_H

#include <ebood/data.h>

#include <stdbool.h>
#include <stdint.h>

/* ---- canvas and warp (src/data/image_warp.c) ------------------------------------------------- */

/* A grayscale image of w × h floats in [0, 1], row-major; px from malloc (eb__canvas_free). */
typedef struct eb__canvas {
    float *px;
    int w, h;
} eb__canvas;

eb_status eb__canvas_alloc(eb__canvas *c, int w, int h, eb_error *err); /* zeroed */
void eb__canvas_free(eb__canvas *c);

/* The ink bounding box of c: the smallest [x0, x1) × [y0, y1) holding every pixel > 1/255.
 * Returns false (box untouched) when the canvas has no ink. */
bool eb__canvas_ink_box(const eb__canvas *c, int box[4]);

/* How a source canvas lands in the output image: output pixel (x, y) (centre x + ½, y + ½)
 * samples the source at  src = centre_src + R(−angle)·((x + ½, y + ½) − centre_out − shift) / scale
 * i.e. the source point centre_src goes to centre_out + shift, distances are multiplied by
 * `scale` and the picture is turned by `angle` (radians; clockwise on screen, y pointing down). */
typedef struct eb__warp {
    double src_cx, src_cy; /* source centre (pixels) */
    double scale;          /* output pixels per source pixel, > 0 */
    double scale_y;        /* vertical scale when it differs (resizing to another aspect); 0 = scale */
    double angle;          /* radians */
    double shift_x, shift_y;
    bool flip;       /* mirror the source left–right about src_cx */
    bool wrap;       /* periodic source (texture tiles); else outside = 0 …  */
    bool clamp;      /* … or, with clamp, the nearest edge pixel (resizing whole images) */
    int supersample; /* s × s bilinear samples per output pixel, averaged (anti-aliasing), ≥ 1 */
} eb__warp;

/* out (w × h floats) ← the warped source, as above. */
void eb__canvas_warp(const eb__canvas *src, const eb__warp *wp, float *out, int w, int h);

/* Dilation (radius > 0) or erosion (radius < 0) with a disc of |radius| pixels: max/min over the
 * disc. Thickens/thins strokes. radius 0: no change. Allocation failure leaves c unchanged. */
void eb__canvas_morph(eb__canvas *c, int radius);

/* Separable Gaussian blur of a w × h image with std sigma pixels (sigma ≤ 0: no change); the
 * kernel is cut at 3σ and renormalised at the borders. */
void eb__blur(float *px, int w, int h, double sigma);

/* Rescales values to [0, 1] by the image's maximum (all-zero images stay zero). */
void eb__normalize_max(float *px, int64_t n);

/* ---- raster images (src/data/image_png.c, image_jpeg.c) ------------------------------------- */

/* A decoded raster: w × h pixels of c channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA), u8,
 * interleaved, row-major; px from malloc. */
typedef struct eb__raster {
    uint8_t *px;
    int w, h, c;
} eb__raster;
void eb__raster_free(eb__raster *r);

/* Decoders: 8-bit output (16-bit PNG reduced, palette expanded, tRNS to alpha; JPEG gray or RGB,
 * CMYK rejected). Errors name the file: EB_ERR_IO (missing), EB_ERR_FORMAT (not a PNG/JPEG,
 * corrupt or truncated data), EB_ERR_UNSUPPORTED, EB_ERR_NOMEM. Sizes are capped at
 * EB__RASTER_MAX_PIXELS (EB_ERR_FORMAT beyond). */
#define EB__RASTER_MAX_PIXELS (1LL << 28)
eb_status eb__png_read(const char *path, eb__raster *out, eb_error *err);
eb_status eb__jpeg_read(const char *path, eb__raster *out, eb_error *err);
/* By content: PNG signature or JPEG SOI marker; anything else is EB_ERR_FORMAT naming path. */
eb_status eb__raster_read(const char *path, eb__raster *out, eb_error *err);

/* Writes a gray (c = 1) or RGB (c = 3) u8 image as PNG, atomically. */
eb_status eb__png_write(const char *path, const uint8_t *px, int w, int h, int c, eb_error *err);

/* Gray canvas of a raster: ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B, /255; alpha ignored. */
eb_status eb__raster_to_canvas(const eb__raster *r, eb__canvas *out, eb_error *err);

/* ---- GIMP patterns (src/data/gimp_pattern.c) ------------------------------------------------- */
/* GIMP's .pat format: a big-endian header {header_size, version 1, width, height, bytes per pixel
 * (1–4), magic "GPAT", spacing} followed by the UTF-8 name up to header_size, then width × height ×
 * bpp bytes. Read into a raster (c = bpp). Errors name the file (EB_ERR_FORMAT for a bad magic,
 * version, size, or truncated data). */
eb_status eb__gimp_pattern_read(const char *path, eb__raster *out, eb_error *err);

/* ---- Unifont (src/data/glyph_unifont.c) ------------------------------------------------------ */
/* GNU Unifont's .hex: one glyph per line, "XXXX:" + 32 hex digits (8 × 16) or 64 (16 × 16). */
typedef struct eb__unifont eb__unifont;
eb_status eb__unifont_read(const char *path, eb__unifont **out, eb_error *err);
void eb__unifont_free(eb__unifont *u);
bool eb__unifont_has(const eb__unifont *u, uint32_t cp);
/* The glyph of cp as a canvas of 16 rows × 8 or 16 columns (0/1 values), upsampled by `zoom`
 * (nearest neighbour, so later dilation/warping works at a finer grid). */
eb_status eb__unifont_glyph(const eb__unifont *u, uint32_t cp, int zoom, eb__canvas *out, eb_error *err);

/* ---- outline fonts through FreeType (src/data/glyph_freetype.c) ------------------------------ */
typedef struct eb__outline_font eb__outline_font;
eb_status eb__outline_font_open(const char *path, eb__outline_font **out, eb_error *err);
void eb__outline_font_close(eb__outline_font *f);
/* Code points of the font's Unicode charmap inside [lo, hi], ascending; *cps from malloc. */
eb_status eb__outline_font_chars(eb__outline_font *f, uint32_t lo, uint32_t hi, uint32_t **cps, int64_t *n,
                                 eb_error *err);
/* Renders cp at `pixel_size` px (anti-aliased, 8-bit coverage) into a canvas holding exactly the
 * glyph's bitmap, its outline first emboldened by `embolden` px (negative thins; FT_Outline_Embolden).
 * Errors: EB_ERR_ARG (cp not in the font), EB_ERR_FORMAT (FreeType failed, naming the font). */
eb_status eb__outline_font_glyph(eb__outline_font *f, uint32_t cp, int pixel_size, double embolden,
                                 eb__canvas *out, eb_error *err);

/* ---- Hershey stroke fonts (src/data/glyph_hershey.c) ----------------------------------------- */
/* The .jhf format: per glyph a 5-column number, a 3-column vertex count, then count pairs of
 * characters (coordinate = char − 'R'); the first pair is the left/right margin, " R" lifts the pen.
 * A record may continue over several lines. */
typedef struct eb__hershey_font eb__hershey_font;
eb_status eb__hershey_read(const char *path, eb__hershey_font **out, eb_error *err);
void eb__hershey_free(eb__hershey_font *f);
int eb__hershey_count(const eb__hershey_font *f); /* glyphs with at least one stroke */
/* The 0-based record number of glyph i in its file (ASCII code − 32 in the 96-glyph fonts). */
int eb__hershey_record(const eb__hershey_font *f, int i);
/* Draws glyph i's strokes (anti-aliased round pen of `pen_width` canvas pixels) on a canvas, at
 * `zoom` canvas pixels per Hershey unit, with `jitter` (Hershey units) of random displacement of
 * each vertex drawn from rng (0: none). */
eb_status eb__hershey_glyph(const eb__hershey_font *f, int i, double zoom, double pen_width, double jitter,
                            eb_rng *rng, eb__canvas *out, eb_error *err);

#endif
