/* SVG figures written as text (include/ebood/plot.h): one set of linear axes with nice ticks, labels,
 * a legend and an optional colour bar; the caller's elements are clipped to the axes.
 *
 * Layout (px): the axes' box is the figure minus margins — left 46 (62 with a y label), right 14 (+78 for
 * a colour bar), top 12 (30 with a title), bottom 28 (44 with an x label). A data point (x, y) maps to
 *   X = left + (x − xlim[0]) / (xlim[1] − xlim[0]) · box width,
 *   Y = top  + (ylim[1] − y) / (ylim[1] − ylim[0]) · box height   (y grows upwards). */
#include "eval/plot_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable string ------------------------------------------------------------------------- */
void eb__buf_put(eb__buf *b, const void *bytes, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, bytes, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void eb__buf_str(eb__buf *b, const char *text) { eb__buf_put(b, text, strlen(text)); }

void eb__buf_printf(eb__buf *b, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        eb__buf_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    eb__buf_put(b, big, (size_t)n);
    free(big);
}

void eb__buf_escaped(eb__buf *b, const char *text) {
    for (const char *s = text; *s; s++) switch (*s) {
        case '&': eb__buf_str(b, "&amp;"); break;
        case '<': eb__buf_str(b, "&lt;"); break;
        case '>': eb__buf_str(b, "&gt;"); break;
        case '"': eb__buf_str(b, "&quot;"); break;
        default: eb__buf_put(b, s, 1);
        }
}

static void sb_base64(eb__buf *b, const uint8_t *d, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v =
            (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        eb__buf_put(b, q, 4);
    }
}

/* ---- colours ----------------------------------------------------------------------------------- */
static const char *const okabe_ito[] = {"#0072B2", "#D55E00", "#009E73", "#E69F00",
                                        "#56B4E9", "#CC79A7", "#F0E442"};

const char *eb_plot_colour(int k) {
    int n = (int)(sizeof okabe_ito / sizeof okabe_ito[0]);
    return okabe_ito[((k % n) + n) % n];
}

/* Five stops with increasing lightness (L* ≈ 12, 32, 52, 75, 94), interpolated linearly in sRGB. */
static const uint8_t ramp[5][3] = {
    {22, 26, 68}, {70, 64, 152}, {36, 140, 146}, {142, 200, 82}, {250, 240, 165}};

void eb_colormap(double t, uint8_t rgb[3]) {
    if (isnan(t)) {
        rgb[0] = rgb[1] = rgb[2] = 128;
        return;
    }
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double u = t * 4.0;
    int k = u >= 4.0 ? 3 : (int)u;
    double w = u - k;
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)lround((1.0 - w) * ramp[k][c] + w * ramp[k + 1][c]);
}

/* ---- ticks ------------------------------------------------------------------------------------- */
int eb_plot_nice_ticks(double lo, double hi, int max_ticks, double *ticks, double *step_out) {
    if (!(isfinite(lo) && isfinite(hi) && lo < hi) || max_ticks < 2 || max_ticks > 32) return 0;
    static const double mult[3] = {1, 2, 5};
    double base = pow(10.0, floor(log10((hi - lo) / max_ticks)));
    for (int e = 0; e < 8; e++, base *= 10)
        for (int k = 0; k < 3; k++) {
            double step = mult[k] * base, first = ceil(lo / step - 1e-9), last = floor(hi / step + 1e-9);
            int n = (int)(last - first) + 1;
            if (n > max_ticks) continue;
            if (n < 1) { /* cannot happen for a step below the range; kept for safety */
                ticks[0] = lo, ticks[1] = hi;
                if (step_out) *step_out = hi - lo;
                return 2;
            }
            for (int i = 0; i < n; i++) {
                double v = (first + i) * step;
                ticks[i] = fabs(v) < step * 1e-9 ? 0.0 : v;
            }
            if (step_out) *step_out = step;
            return n;
        }
    return 0;
}

void eb_plot_tick_label(double v, double step, char *out, size_t size) {
    double a = fabs(v);
    if (a >= 1e6 || (a > 0 && a < 1e-4)) {
        snprintf(out, size, "%.3g", v);
        return;
    }
    int decimals = step >= 1 || !(step > 0) ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(out, size, "%.*f", decimals > 9 ? 9 : decimals, v == 0 ? 0.0 : v);
}

/* ---- the plot ---------------------------------------------------------------------------------- */
enum { MAX_LEGEND = 16 };
typedef enum swatch { SWATCH_LINE, SWATCH_FILL, SWATCH_POINT } swatch;

struct eb_plot {
    eb_plot_spec spec;
    char *title, *xlabel, *ylabel, *id; /* owned copies */
    double ox, oy, pw, ph;              /* the axes' box in px */
    eb__buf body;                       /* clipped to the axes */
    eb__buf outside;                    /* drawn after the frame (colour bar) */
    int n_legend;
    struct {
        swatch kind;
        char colour[32], label[96];
        bool dashed;
    } legend[MAX_LEGEND];
};

eb_plot_spec eb_plot_default_spec(void) {
    eb_plot_spec s = {480,   320,  {NAN, NAN}, {NAN, NAN}, NULL, NULL, NULL, "plot", EB_PLOT_LEGEND_TOP_RIGHT,
                      false, NULL, 0};
    return s;
}

static char *dup_or_null(const char *s, bool *oom) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (!d) *oom = true;
    return d ? memcpy(d, s, n) : NULL;
}

/* Extra left margin for category names (≈ 6.2 px per character beyond the numbers' room). */
static double category_width(const eb_plot_spec *s) {
    size_t longest = 0;
    for (int i = 0; i < s->n_ycats; i++)
        longest = strlen(s->ycats[i]) > longest ? strlen(s->ycats[i]) : longest;
    double w = 6.2 * (double)longest - 30;
    return w > 0 ? w : 0;
}

eb_status eb_plot_new(const eb_plot_spec *spec, eb_plot **out, eb_error *err) {
    *out = NULL;
    const eb_plot_spec *s = spec;
    if (!(s->width >= 120 && s->width <= 4096 && s->height >= 120 && s->height <= 4096))
        return eb_error_set(err, EB_ERR_ARG, "plot: size %g x %g outside [120, 4096]", s->width, s->height);
    for (int a = 0; a < 2; a++) {
        const double *lim = a ? s->ylim : s->xlim;
        if (!(isfinite(lim[0]) && isfinite(lim[1]) && lim[0] < lim[1]))
            return eb_error_set(err, EB_ERR_ARG, "plot: %s limits [%g, %g] must be finite with lo < hi",
                                a ? "y" : "x", lim[0], lim[1]);
    }
    const char *id = s->id ? s->id : "plot";
    size_t id_len = strlen(id);
    bool id_ok = id_len >= 1 && id_len <= 40;
    for (size_t i = 0; i < id_len && id_ok; i++)
        id_ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
                (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-';
    if (!id_ok) return eb_error_set(err, EB_ERR_ARG, "plot: id '%s' is not [A-Za-z0-9_-]{1,40}", id);
    double ml = (s->ylabel ? 62 : 46) + (s->n_ycats > 0 ? category_width(s) : 0),
           mr = 14 + (s->colorbar ? 78 : 0), mt = s->title ? 30 : 12, mb = s->xlabel ? 44 : 28;
    if (s->width - ml - mr < 40 || s->height - mt - mb < 40)
        return eb_error_set(err, EB_ERR_ARG, "plot: %g x %g leaves no room for the axes", s->width,
                            s->height);
    eb_plot *p = calloc(1, sizeof *p);
    if (!p) return eb_error_set(err, EB_ERR_NOMEM, "plot: out of memory");
    bool oom = false;
    p->spec = *s;
    p->title = dup_or_null(s->title, &oom);
    p->xlabel = dup_or_null(s->xlabel, &oom);
    p->ylabel = dup_or_null(s->ylabel, &oom);
    p->id = dup_or_null(id, &oom);
    p->spec.title = p->spec.xlabel = p->spec.ylabel = p->spec.id = NULL; /* use the copies */
    p->ox = ml, p->oy = mt, p->pw = s->width - ml - mr, p->ph = s->height - mt - mb;
    if (oom) {
        eb_plot_free(p);
        return eb_error_set(err, EB_ERR_NOMEM, "plot: out of memory");
    }
    *out = p;
    return EB_OK;
}

void eb_plot_free(eb_plot *p) {
    if (!p) return;
    free(p->title);
    free(p->xlabel);
    free(p->ylabel);
    free(p->id);
    free(p->body.s);
    free(p->outside.s);
    free(p);
}

/* Data → px, clamped far outside the figure so that huge values stay valid SVG numbers. */
static double clamp_px(double v) { return v < -1e5 ? -1e5 : v > 1e5 ? 1e5 : v; }
static double px_x(const eb_plot *p, double x) {
    return clamp_px(p->ox + (x - p->spec.xlim[0]) / (p->spec.xlim[1] - p->spec.xlim[0]) * p->pw);
}
static double px_y(const eb_plot *p, double y) {
    return clamp_px(p->oy + (p->spec.ylim[1] - y) / (p->spec.ylim[1] - p->spec.ylim[0]) * p->ph);
}

static void add_legend(eb_plot *p, swatch kind, const char *colour, bool dashed, const char *label) {
    if (!label || p->n_legend >= MAX_LEGEND) return;
    int k = p->n_legend++;
    p->legend[k].kind = kind;
    p->legend[k].dashed = dashed;
    snprintf(p->legend[k].colour, sizeof p->legend[k].colour, "%s", colour);
    snprintf(p->legend[k].label, sizeof p->legend[k].label, "%s", label);
}

static void put_colour(eb__buf *b, const char *attr, const char *colour) {
    eb__buf_printf(b, " %s=\"", attr);
    eb__buf_escaped(b, colour);
    eb__buf_str(b, "\"");
}

void eb_plot_line(eb_plot *p, const double *x, const double *y, int64_t n, const char *colour, bool dashed,
                  const char *label) {
    eb__buf_printf(&p->body, "<path fill=\"none\" stroke-width=\"1.8\"%s",
                   dashed ? " stroke-dasharray=\"5 3\"" : "");
    put_colour(&p->body, "stroke", colour);
    eb__buf_str(&p->body, " d=\"");
    bool pen_down = false;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) {
            pen_down = false;
            continue;
        }
        eb__buf_printf(&p->body, "%c%.2f %.2f ", pen_down ? 'L' : 'M', px_x(p, x[i]), px_y(p, y[i]));
        pen_down = true;
    }
    eb__buf_str(&p->body, "\"/>\n");
    add_legend(p, SWATCH_LINE, colour, dashed, label);
}

void eb_plot_histogram(eb_plot *p, const double *edges, const double *heights, int64_t n, const char *colour,
                       const char *label) {
    double base = p->spec.ylim[0] > 0 ? p->spec.ylim[0] : 0.0;
    eb__buf_str(&p->body, "<path fill-opacity=\"0.35\" stroke-width=\"1.2\"");
    put_colour(&p->body, "fill", colour);
    put_colour(&p->body, "stroke", colour);
    eb__buf_str(&p->body, " d=\"");
    if (n > 0) eb__buf_printf(&p->body, "M%.2f %.2f ", px_x(p, edges[0]), px_y(p, base));
    for (int64_t i = 0; i < n; i++) {
        double h = isfinite(heights[i]) ? heights[i] : base;
        eb__buf_printf(&p->body, "L%.2f %.2f L%.2f %.2f ", px_x(p, edges[i]), px_y(p, h),
                       px_x(p, edges[i + 1]), px_y(p, h));
    }
    if (n > 0) eb__buf_printf(&p->body, "L%.2f %.2f Z", px_x(p, edges[n]), px_y(p, base));
    eb__buf_str(&p->body, "\"/>\n");
    add_legend(p, SWATCH_FILL, colour, false, label);
}

void eb_plot_points(eb_plot *p, const float *xy, int64_t n, double r, const char *colour, const char *label) {
    eb__buf_str(&p->body, "<g fill-opacity=\"0.75\" stroke=\"none\"");
    put_colour(&p->body, "fill", colour);
    eb__buf_str(&p->body, ">\n");
    const double *xl = p->spec.xlim, *yl = p->spec.ylim;
    for (int64_t i = 0; i < n; i++) {
        double x = (double)xy[2 * i], y = (double)xy[2 * i + 1];
        if (x >= xl[0] && x <= xl[1] && y >= yl[0] && y <= yl[1]) /* also skips NaN */
            eb__buf_printf(&p->body, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2g\"/>\n", px_x(p, x), px_y(p, y),
                           r);
    }
    eb__buf_str(&p->body, "</g>\n");
    add_legend(p, SWATCH_POINT, colour, false, label);
}

void eb_plot_vline(eb_plot *p, double x, const char *colour, const char *note, const char *label) {
    if (!isfinite(x)) return;
    double X = px_x(p, x);
    eb__buf_printf(&p->body,
                   "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke-width=\"1.5\" "
                   "stroke-dasharray=\"4 3\"",
                   X, p->oy, X, p->oy + p->ph);
    put_colour(&p->body, "stroke", colour);
    eb__buf_str(&p->body, "/>\n");
    if (note) {
        bool right_half = X > p->ox + p->pw * 0.6; /* keep the note inside the axes */
        eb__buf_printf(&p->body, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\">", X + (right_half ? -4 : 4),
                       p->oy + 12, right_half ? "end" : "start");
        eb__buf_escaped(&p->body, note);
        eb__buf_str(&p->body, "</text>\n");
    }
    add_legend(p, SWATCH_LINE, colour, true, label);
}

void eb_plot_text(eb_plot *p, double x, double y, const char *text) {
    eb__buf_printf(&p->body, "<text x=\"%.2f\" y=\"%.2f\">", px_x(p, x), px_y(p, y));
    eb__buf_escaped(&p->body, text);
    eb__buf_str(&p->body, "</text>\n");
}

void eb_plot_image(eb_plot *p, const uint8_t *rgb, int64_t w, int64_t h, double x0, double x1, double y0,
                   double y1) {
    uint8_t *png = NULL;
    size_t len = 0;
    if (eb_png_encode_rgb(rgb, w, h, &png, &len, NULL)) {
        p->body.oom = true; /* the only failure left after the caller's checks */
        return;
    }
    double X0 = px_x(p, x0), X1 = px_x(p, x1), Y0 = px_y(p, y1), Y1 = px_y(p, y0);
    eb__buf_printf(&p->body,
                   "<image x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" preserveAspectRatio=\"none\" "
                   "style=\"image-rendering:pixelated\" xlink:href=\"data:image/png;base64,",
                   X0, Y0, X1 - X0, Y1 - Y0);
    sb_base64(&p->body, png, len);
    eb__buf_str(&p->body, "\"/>\n");
    free(png);
}

void eb_plot_colorbar(eb_plot *p, double lo, double hi, const char *label) {
    if (!p->spec.colorbar || !(isfinite(lo) && isfinite(hi) && lo < hi)) return;
    eb__buf *b = &p->outside;
    double cx = p->ox + p->pw + 16, top = p->oy, h = p->ph;
    eb__buf_printf(b, "<defs><linearGradient id=\"%s-ramp\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">", p->id);
    for (int k = 0; k < 5; k++)
        eb__buf_printf(b, "<stop offset=\"%.2f\" stop-color=\"rgb(%d,%d,%d)\"/>", k / 4.0, ramp[k][0],
                       ramp[k][1], ramp[k][2]);
    eb__buf_printf(b, "</linearGradient></defs>\n");
    eb__buf_printf(
        b,
        "<rect class=\"colorbar\" x=\"%.2f\" y=\"%.2f\" width=\"14\" height=\"%.2f\" fill=\"url(#%s-ramp)\" "
        "stroke=\"black\"/>\n",
        cx, top, h, p->id);
    double ticks[32], step;
    int n = eb_plot_nice_ticks(lo, hi, 6, ticks, &step);
    for (int i = 0; i < n; i++) {
        double y = top + (hi - ticks[i]) / (hi - lo) * h;
        char text[32];
        eb_plot_tick_label(ticks[i], step, text, sizeof text);
        eb__buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>", cx + 14,
                       y, cx + 18, y);
        eb__buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", cx + 20, y + 4, text);
    }
    if (label) {
        double lx = cx + 70, ly = top + h / 2;
        eb__buf_printf(
            b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" transform=\"rotate(-90 %.2f %.2f)\">", lx,
            ly, lx, ly);
        eb__buf_escaped(b, label);
        eb__buf_str(b, "</text>\n");
    }
}

/* ---- finishing --------------------------------------------------------------------------------- */
static void put_axes(const eb_plot *p, eb__buf *b) {
    const eb_plot_spec *s = &p->spec;
    double xt[32], yt[32], xs, ys;
    int nx = eb_plot_nice_ticks(s->xlim[0], s->xlim[1], (int)(p->pw / 70) + 2, xt, &xs);
    int ny = eb_plot_nice_ticks(s->ylim[0], s->ylim[1], (int)(p->ph / 45) + 2, yt, &ys);
    if (s->n_ycats > 0) { /* categories at y = 0, 1, …: labelled with their names */
        ny = 0;
        for (int i = 0; i < s->n_ycats && ny < 32; i++)
            if (i >= s->ylim[0] && i <= s->ylim[1]) yt[ny++] = i;
    }
    eb__buf_str(b, "<g stroke=\"#e6e6e6\">"); /* grid lines at the ticks */
    for (int i = 0; i < nx; i++)
        eb__buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>", px_x(p, xt[i]), p->oy,
                       px_x(p, xt[i]), p->oy + p->ph);
    for (int i = 0; i < ny; i++)
        eb__buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>", p->ox, px_y(p, yt[i]),
                       p->ox + p->pw, px_y(p, yt[i]));
    eb__buf_str(b, "</g>\n");
    eb__buf_printf(b, "<g clip-path=\"url(#%s-clip)\">\n", p->id);
    if (p->body.s) eb__buf_put(b, p->body.s, p->body.len);
    eb__buf_str(b, "</g>\n");
    eb__buf_printf(
        b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"black\"/>\n",
        p->ox, p->oy, p->pw, p->ph);
    char text[32];
    for (int i = 0; i < nx; i++) {
        double X = px_x(p, xt[i]), Y = p->oy + p->ph;
        eb_plot_tick_label(xt[i], xs, text, sizeof text);
        eb__buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>", X, Y, X,
                       Y + 4);
        eb__buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n", X, Y + 16, text);
    }
    for (int i = 0; i < ny; i++) {
        double Y = px_y(p, yt[i]);
        eb_plot_tick_label(yt[i], ys, text, sizeof text);
        eb__buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>",
                       p->ox - 4, Y, p->ox, Y);
        eb__buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">", p->ox - 6, Y + 4);
        eb__buf_escaped(b, s->n_ycats > 0 ? s->ycats[(int)yt[i]] : text);
        eb__buf_str(b, "</text>\n");
    }
    if (p->xlabel) {
        eb__buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", p->ox + p->pw / 2,
                       p->oy + p->ph + 36);
        eb__buf_escaped(b, p->xlabel);
        eb__buf_str(b, "</text>\n");
    }
    if (p->ylabel) {
        double x = p->ox - 44, y = p->oy + p->ph / 2;
        eb__buf_printf(
            b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" transform=\"rotate(-90 %.2f %.2f)\">", x,
            y, x, y);
        eb__buf_escaped(b, p->ylabel);
        eb__buf_str(b, "</text>\n");
    }
    if (p->title) {
        eb__buf_printf(
            b, "<text x=\"%.2f\" y=\"20\" font-size=\"13\" font-weight=\"bold\" text-anchor=\"middle\">",
            p->ox + p->pw / 2);
        eb__buf_escaped(b, p->title);
        eb__buf_str(b, "</text>\n");
    }
}

static void put_legend(const eb_plot *p, eb__buf *b) {
    if (p->n_legend == 0 || p->spec.legend == EB_PLOT_LEGEND_NONE) return;
    size_t longest = 0;
    for (int k = 0; k < p->n_legend; k++) {
        size_t n = strlen(p->legend[k].label);
        longest = n > longest ? n : longest;
    }
    double w = 34 + 6.2 * (double)longest, h = 8 + 16.0 * p->n_legend;
    bool right = p->spec.legend == EB_PLOT_LEGEND_TOP_RIGHT || p->spec.legend == EB_PLOT_LEGEND_BOTTOM_RIGHT;
    bool top = p->spec.legend == EB_PLOT_LEGEND_TOP_RIGHT || p->spec.legend == EB_PLOT_LEGEND_TOP_LEFT;
    double x = right ? p->ox + p->pw - w - 6 : p->ox + 6, y = top ? p->oy + 6 : p->oy + p->ph - h - 6;
    eb__buf_printf(
        b,
        "<g class=\"legend\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"white\" "
        "fill-opacity=\"0.85\" stroke=\"#999\"/>\n",
        x, y, w, h);
    for (int k = 0; k < p->n_legend; k++) {
        double cy = y + 12 + 16.0 * k;
        const char *c = p->legend[k].colour;
        if (p->legend[k].kind == SWATCH_LINE) {
            eb__buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke-width=\"2\"%s",
                           x + 6, cy, x + 24, cy, p->legend[k].dashed ? " stroke-dasharray=\"4 3\"" : "");
            put_colour(b, "stroke", c);
            eb__buf_str(b, "/>");
        } else if (p->legend[k].kind == SWATCH_FILL) {
            eb__buf_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"18\" height=\"9\" fill-opacity=\"0.35\"",
                           x + 6, cy - 4.5);
            put_colour(b, "fill", c);
            put_colour(b, "stroke", c);
            eb__buf_str(b, "/>");
        } else {
            eb__buf_printf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\"", x + 15, cy);
            put_colour(b, "fill", c);
            eb__buf_str(b, "/>");
        }
        eb__buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\">", x + 30, cy + 4);
        eb__buf_escaped(b, p->legend[k].label);
        eb__buf_str(b, "</text>\n");
    }
    eb__buf_str(b, "</g>\n");
}

char *eb_plot_svg(const eb_plot *p) {
    if (p->body.oom || p->outside.oom) return NULL;
    eb__buf b = {0};
    double W = p->spec.width, H = p->spec.height;
    eb__buf_printf(&b,
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
                   "class=\"eb-plot\" id=\"%s\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                   "font-family=\"sans-serif\" font-size=\"11\">\n",
                   p->id, W, H, W, H);
    eb__buf_printf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    eb__buf_printf(
        &b,
        "<defs><clipPath id=\"%s-clip\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>"
        "</clipPath></defs>\n",
        p->id, p->ox, p->oy, p->pw, p->ph);
    put_axes(p, &b);
    if (p->outside.s) eb__buf_put(&b, p->outside.s, p->outside.len);
    put_legend(p, &b);
    eb__buf_str(&b, "</svg>\n");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

eb_status eb_plot_write_svg(const eb_plot *p, const char *path, eb_error *err) {
    char *svg = eb_plot_svg(p);
    if (!svg) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory drawing the figure", path);
    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (!st) {
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", af.fp);
        fputs(svg, af.fp);
        if (ferror(af.fp)) {
            eb_atomic_abort(&af);
            st = eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
        } else {
            st = eb_atomic_commit(&af, err);
        }
    }
    free(svg);
    return st;
}
