/* ebood/plot.h — a small plotting layer for reports and landscapes (src/eval/plot_svg.c, plot_png.c).
 *
 * One eb_plot is one SVG figure with one set of linear axes: a frame, "nice" ticks (1, 2, 5 × 10^k) with
 * labels, axis labels, a title, and what the caller adds in data coordinates — lines, step histograms,
 * points, vertical markers, text, a raster image (embedded as a PNG data URI) and a colour bar. A legend
 * lists every element added with a label. The SVG is text written directly (no external resource, no
 * script, no font file): it can stand alone (eb_plot_write_svg) or be inlined in an HTML page
 * (eb_plot_svg), where the figure's `id` keeps its internal ids (clip path, gradient) unique.
 *
 * Colours: eb_plot_colour(k) is the Okabe–Ito palette (distinguishable under the common colour-vision
 * deficiencies); eb_colormap is a ramp with monotonic lightness for fields.
 * Raster output: eb_png_encode_rgb / eb_png_write_rgb through libpng.
 *
 * Errors: drawing calls never fail; an allocation failure is remembered (sticky, like cairo) and reported
 * by eb_plot_svg (NULL) / eb_plot_write_svg (EB_ERR_NOMEM). Non-finite data points are skipped (a line
 * breaks there). Not thread-safe for one plot; different plots are independent. */
#ifndef EBOOD_PLOT_H
#define EBOOD_PLOT_H

#include <ebood/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where the legend goes (inside the axes). */
typedef enum eb_plot_legend {
    EB_PLOT_LEGEND_TOP_RIGHT,
    EB_PLOT_LEGEND_TOP_LEFT,
    EB_PLOT_LEGEND_BOTTOM_RIGHT,
    EB_PLOT_LEGEND_BOTTOM_LEFT,
    EB_PLOT_LEGEND_NONE,
} eb_plot_legend;

typedef struct eb_plot_spec {
    double width, height;                /* the whole figure in px, each in [120, 4096] (480 × 320) */
    double xlim[2], ylim[2];             /* the data box shown: finite, lo < hi (required) */
    const char *title, *xlabel, *ylabel; /* or NULL; escaped when written */
    const char *id;                      /* [A-Za-z0-9_-]{1,40}, unique within one page ("plot") */
    eb_plot_legend legend;               /* (top right) */
    bool colorbar;                       /* reserve room on the right for eb_plot_colorbar (false) */
    /* Categorical y axis (n_ycats > 0): ticks at y = 0 … n_ycats − 1 labelled ycats[i] (not copied: valid
     * until the last eb_plot_svg), the left margin widened for the names. (NULL, 0) */
    const char *const *ycats;
    int n_ycats;
} eb_plot_spec;
/* 480 × 320, no limits (NaN: must be set), no labels, id "plot", legend top right, no colour bar, numeric
 * y axis. */
EB_API eb_plot_spec eb_plot_default_spec(void);

typedef struct eb_plot eb_plot;
/* Errors: EB_ERR_ARG (size outside [120, 4096], limits not finite or lo ≥ hi, a bad id), EB_ERR_NOMEM. */
EB_API eb_status eb_plot_new(const eb_plot_spec *spec, eb_plot **out, eb_error *err);
EB_API void eb_plot_free(eb_plot *p); /* NULL-safe */

/* The Okabe–Ito palette without black: blue, vermillion, bluish green, orange, sky blue, reddish purple,
 * yellow; k wraps around. "#rrggbb". */
EB_API const char *eb_plot_colour(int k);
/* The field colormap: t ∈ [0, 1] (clamped; NaN → grey) → sRGB. Our own 5-stop ramp, dark navy → blue →
 * teal → green → pale yellow, linearly interpolated, lightness increasing monotonically (so the order
 * survives greyscale printing and colour-vision deficiency). */
EB_API void eb_colormap(double t, uint8_t rgb[3]);

/* Nice tick positions inside [lo, hi]: multiples of step = {1, 2, 5}·10^k, the smallest such step that
 * gives at most max_ticks ticks (max_ticks in [2, 32]). Writes ticks[0..n) ascending and returns n (≥ 1
 * for finite lo < hi; 0 for a bad range). *step_out (may be NULL) receives the step. */
EB_API int eb_plot_nice_ticks(double lo, double hi, int max_ticks, double *ticks, double *step_out);
/* A tick label: the value with as many decimals as the step needs ("0.25", "1e+06" for huge values). */
EB_API void eb_plot_tick_label(double v, double step, char *out, size_t size);

/* A polyline through (x[i], y[i]), i < n; dashed if `dashed`. */
EB_API void eb_plot_line(eb_plot *p, const double *x, const double *y, int64_t n, const char *colour,
                         bool dashed, const char *label);
/* A histogram as a filled step outline: bin i spans [edges[i], edges[i+1]] with height heights[i], i < n. */
EB_API void eb_plot_histogram(eb_plot *p, const double *edges, const double *heights, int64_t n,
                              const char *colour, const char *label);
/* Dots of radius r px at the rows (xy[2i], xy[2i+1]), i < n (float rows, as datasets hold them). */
EB_API void eb_plot_points(eb_plot *p, const float *xy, int64_t n, double r, const char *colour,
                           const char *label);
/* A vertical dashed line at x over the whole height, with `note` written beside its top (or NULL). */
EB_API void eb_plot_vline(eb_plot *p, double x, const char *colour, const char *note, const char *label);
/* Text at data point (x, y), anchored at its start. */
EB_API void eb_plot_text(eb_plot *p, double x, double y, const char *text);
/* An RGB image rgb[h, w, 3] (top row first) stretched over the data box [x0, x1] × [y0, y1], embedded
 * as a PNG data URI and drawn with square pixels. */
EB_API void eb_plot_image(eb_plot *p, const uint8_t *rgb, int64_t w, int64_t h, double x0, double x1,
                          double y0, double y1);
/* The colour bar of eb_colormap from lo (bottom) to hi (top), with nice ticks and a label; needs
 * spec.colorbar. */
EB_API void eb_plot_colorbar(eb_plot *p, double lo, double hi, const char *label);

/* The finished figure as one <svg> element (no XML declaration), malloc'd; NULL if an allocation failed.
 * The plot stays usable (more calls, another eb_plot_svg). */
EB_API char *eb_plot_svg(const eb_plot *p);
/* A standalone .svg file (XML declaration + the figure), atomically. Errors: EB_ERR_NOMEM, EB_ERR_IO. */
EB_API eb_status eb_plot_write_svg(const eb_plot *p, const char *path, eb_error *err);

/* ---- raster (libpng) ----------------------------------------------------------------------------- */
/* rgb[h, w, 3] (top row first) as an 8-bit RGB PNG file in memory (*out malloc'd, *len bytes).
 * Errors: EB_ERR_ARG (w or h outside [1, 65535]), EB_ERR_NOMEM (libpng's errors included). */
EB_API eb_status eb_png_encode_rgb(const uint8_t *rgb, int64_t w, int64_t h, uint8_t **out, size_t *len,
                                   eb_error *err);
/* The same written to path atomically (nothing left behind on failure). Errors: as above, EB_ERR_IO. */
EB_API eb_status eb_png_write_rgb(const char *path, const uint8_t *rgb, int64_t w, int64_t h, eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_PLOT_H */
