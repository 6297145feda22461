/* The picture of HamOS's synthesis (004_6bc3f0c56840d9ea.txt Fig. 1/2 in spirit, issue 13 item 8): three ID
 * classes on the unit sphere S², the chains of eb_hamos_synthesize between them and the outliers they emit,
 * drawn over the vMF-KDE's −log max_c P_c (Eq. 11–12: dark = ID-like, light = OOD-like) in the Lambert
 * azimuthal equal-area projection centred on the north pole,
 *   (x, y) = √(2 / (1 + z₂)) · (z₀, z₁)   (the whole sphere but the south pole onto the disc of radius 2),
 * inverted for the background as z = (√(1 − ρ²/4)·x, √(1 − ρ²/4)·y, 1 − ρ²/2), ρ = ‖(x, y)‖.
 * The toy: class c's centre at polar angle 55°, azimuth 120°·c; rows = normalise(centre + σ·N(0, I)).
 * Written as SVG through the plot layer (include/ebood/plot.h) or as a PNG rasterised here (dots and
 * lines on the background image) through eb_png_write_rgb. */
#include <ebood/hamos.h>
#include <ebood/plot.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EB_PI 3.14159265358979323846

eb_hamos_picture_params eb_hamos_picture_default_params(void) {
    eb_hamos_picture_params p = {0};
    p.n_per_class = 300;
    p.spread = 0.25f;
    p.synth = eb_hamos_synthesis_default_params();
    p.synth.k = 30;
    p.synth.rounds = 12;
    p.synth.kappa = 10.0f;
    p.synth.n_adj = 2;
    p.synth.keep_start = true; /* the chains' paths start at the midpoints */
    p.seed = 0;
    p.size = 560;
    return p;
}

static void lambert(const float *z, double *xy) {
    double s = sqrt(2.0 / fmax(1.0 + (double)z[2], 1e-12));
    xy[0] = s * (double)z[0];
    xy[1] = s * (double)z[1];
}

/* The ID buffer of the toy. */
static eb_status toy_buffer(const eb_hamos_picture_params *p, eb_class_buffer *buf, eb_rng *rng,
                            eb_error *err) {
    eb_status st = eb_class_buffer_init(buf, 3, p->n_per_class, 3, err);
    float *z = malloc((size_t)p->n_per_class * 3 * sizeof *z);
    int32_t *y = malloc((size_t)p->n_per_class * sizeof *y);
    if (!st && (!z || !y)) st = eb_error_set(err, EB_ERR_NOMEM, "hamos picture: out of memory");
    const double polar = 55.0 * EB_PI / 180.0;
    for (int c = 0; c < 3 && !st; c++) {
        double az = 2.0 * EB_PI * c / 3.0, mu[3] = {sin(polar) * cos(az), sin(polar) * sin(az), cos(polar)};
        for (int64_t i = 0; i < p->n_per_class; i++) {
            double v[3], n = 0.0;
            for (int j = 0; j < 3; j++) {
                v[j] = mu[j] + (double)p->spread * eb_rng_normal(rng);
                n += v[j] * v[j];
            }
            for (int j = 0; j < 3; j++) z[i * 3 + j] = (float)(v[j] / sqrt(n));
            y[i] = c;
        }
        st = eb_class_buffer_push(buf, z, y, p->n_per_class, err);
    }
    free(z);
    free(y);
    return st;
}

/* −log max_c P_c on a grid × grid raster of [−2, 2]² (top row = y = 2), NaN outside the disc. */
static eb_status background(const eb_hamos_picture_params *p, const eb_class_buffer *buf, int64_t grid,
                            double *field, eb_error *err) {
    float *z = malloc((size_t)(grid * grid) * 3 * sizeof *z);
    double *v = malloc((size_t)(grid * grid) * sizeof *v);
    int64_t *at = malloc((size_t)(grid * grid) * sizeof *at), n = 0;
    eb_status st = !z || !v || !at ? eb_error_set(err, EB_ERR_NOMEM, "hamos picture: out of memory") : EB_OK;
    for (int64_t r = 0; r < grid && !st; r++)
        for (int64_t c = 0; c < grid; c++) {
            double x = -2.0 + 4.0 * ((double)c + 0.5) / (double)grid,
                   yy = 2.0 - 4.0 * ((double)r + 0.5) / (double)grid;
            double rho2 = x * x + yy * yy;
            field[r * grid + c] = NAN;
            if (rho2 >= 4.0) continue;
            double s = sqrt(1.0 - rho2 / 4.0);
            z[n * 3] = (float)(s * x);
            z[n * 3 + 1] = (float)(s * yy);
            z[n * 3 + 2] = (float)(1.0 - rho2 / 2.0);
            at[n++] = r * grid + c;
        }
    if (!st) st = eb_vmf_kde_neg_log_max_prob(buf, p->synth.kde, p->synth.kappa, p->synth.k, z, n, v, err);
    for (int64_t i = 0; i < n && !st; i++) field[at[i]] = v[i];
    free(z);
    free(v);
    free(at);
    return st;
}

static void colour_rgb(const char *hex, uint8_t rgb[3]) {
    unsigned r = 0, g = 0, b = 0;
    sscanf(hex, "#%02x%02x%02x", &r, &g, &b);
    rgb[0] = (uint8_t)r;
    rgb[1] = (uint8_t)g;
    rgb[2] = (uint8_t)b;
}

/* Raster helpers on an rgb[size, size] image of [−2, 2]². */
typedef struct raster {
    uint8_t *rgb;
    int64_t size;
} raster;

static void to_px(const raster *r, const double *xy, double *px) {
    px[0] = (xy[0] + 2.0) / 4.0 * (double)r->size;
    px[1] = (2.0 - xy[1]) / 4.0 * (double)r->size;
}

static void disc(raster *r, const double *px, double rad, const uint8_t *col) {
    for (int64_t y = (int64_t)floor(px[1] - rad); y <= (int64_t)ceil(px[1] + rad); y++)
        for (int64_t x = (int64_t)floor(px[0] - rad); x <= (int64_t)ceil(px[0] + rad); x++) {
            if (x < 0 || y < 0 || x >= r->size || y >= r->size) continue;
            double dx = (double)x + 0.5 - px[0], dy = (double)y + 0.5 - px[1];
            if (dx * dx + dy * dy <= rad * rad) memcpy(r->rgb + (y * r->size + x) * 3, col, 3);
        }
}

static void segment(raster *r, const double *a, const double *b, double width, const uint8_t *col) {
    double len = hypot(b[0] - a[0], b[1] - a[1]);
    int64_t steps = (int64_t)ceil(len * 2.0) + 1;
    for (int64_t s = 0; s <= steps; s++) {
        double t = (double)s / (double)steps, q[2] = {a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])};
        disc(r, q, width / 2.0, col);
    }
}

static const int class_colour[3] = {0, 2, 5};      /* blue, bluish green, reddish purple */
enum { OUTLIER_COLOUR = 1 };                       /* vermillion */
static const char *const chain_colour = "#ffffff"; /* white: visible on the dark ID regions */

/* The parameters in range; *png / *svg from the path's extension. */
static eb_status picture_check(const eb_hamos_picture_params *p, const char *path, bool *png, bool *svg,
                               eb_error *err) {
    size_t len = strlen(path);
    *png = len > 4 && strcmp(path + len - 4, ".png") == 0;
    *svg = len > 4 && strcmp(path + len - 4, ".svg") == 0;
    if (!*png && !*svg) return eb_error_set(err, EB_ERR_ARG, "%s: unknown extension (.png, .svg)", path);
    if (p->n_per_class < 2 || p->n_per_class > 100000)
        return eb_error_set(err, EB_ERR_ARG, "hamos picture: %lld rows per class outside [2, 100000]",
                            (long long)p->n_per_class);
    if (!(isfinite(p->spread) && p->spread > 0.0f && p->spread <= 10.0f))
        return eb_error_set(err, EB_ERR_ARG, "hamos picture: spread %g outside (0, 10]", (double)p->spread);
    if (p->size < 120 || p->size > 4096)
        return eb_error_set(err, EB_ERR_ARG, "hamos picture: size %lld outside [120, 4096]",
                            (long long)p->size);
    eb_status st = eb_hamos_synthesis_params_check(&p->synth, err);
    if (st) return st;
    if (p->synth.k > p->n_per_class)
        return eb_error_set(err, EB_ERR_ARG, "hamos picture: k %lld larger than the %lld rows per class",
                            (long long)p->synth.k, (long long)p->n_per_class);
    return EB_OK;
}

/* Colours of the field: min .. max of its finite values (the disc); white outside. */
static void colour_field(const double *field, int64_t grid, uint8_t *bg) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < grid * grid; i++)
        if (isfinite(field[i])) {
            lo = fmin(lo, field[i]);
            hi = fmax(hi, field[i]);
        }
    for (int64_t i = 0; i < grid * grid; i++) {
        if (isfinite(field[i]))
            eb_colormap(hi > lo ? (field[i] - lo) / (hi - lo) : 0.5, bg + i * 3);
        else
            memset(bg + i * 3, 255, 3);
    }
}

/* What the picture draws: the ID rows, the synthesised outliers out[n_out] (blocks of `chains`, one
 * per chain), the background bg[grid, grid]. */
typedef struct picture {
    const eb_hamos_picture_params *p;
    const eb_class_buffer *buf;
    const float *out;
    int64_t n_out, chains, blocks;
    uint8_t *bg;
    int64_t grid;
} picture;

static eb_status write_svg(const picture *f, const char *title, const char *path, eb_error *err) {
    const eb_hamos_picture_params *p = f->p;
    const int64_t n_out = f->n_out, chains = f->chains, blocks = f->blocks;
    eb_plot_spec spec = eb_plot_default_spec();
    spec.width = spec.height = (double)p->size;
    spec.xlim[0] = spec.ylim[0] = -2.0;
    spec.xlim[1] = spec.ylim[1] = 2.0;
    spec.title = title;
    spec.id = "hamos";
    spec.legend = EB_PLOT_LEGEND_BOTTOM_LEFT;
    eb_plot *pl = NULL;
    eb_status st = eb_plot_new(&spec, &pl, err);
    float *xy = malloc((size_t)((p->n_per_class > n_out ? p->n_per_class : n_out) * 2) * sizeof *xy);
    double *cx = malloc((size_t)blocks * sizeof *cx), *cy = malloc((size_t)blocks * sizeof *cy);
    if (!st && (!xy || !cx || !cy)) st = eb_error_set(err, EB_ERR_NOMEM, "hamos picture: out of memory");
    if (!st) {
        eb_plot_image(pl, f->bg, f->grid, f->grid, -2.0, 2.0, -2.0, 2.0);
        for (int c = 0; c < 3; c++) {
            for (int64_t i = 0; i < p->n_per_class; i++) {
                double q[2];
                lambert(f->buf->data + (c * f->buf->capacity + i) * 3, q);
                xy[i * 2] = (float)q[0];
                xy[i * 2 + 1] = (float)q[1];
            }
            char label[32];
            snprintf(label, sizeof label, "ID class %d", c);
            eb_plot_points(pl, xy, p->n_per_class, 1.6, eb_plot_colour(class_colour[c]), label);
        }
        for (int64_t ch = 0; ch < chains; ch++) {
            for (int64_t b = 0; b < blocks; b++) {
                double q[2];
                lambert(f->out + (b * chains + ch) * 3, q);
                cx[b] = q[0];
                cy[b] = q[1];
            }
            eb_plot_line(pl, cx, cy, blocks, chain_colour, false, ch == 0 ? "chains" : NULL);
        }
        for (int64_t i = 0; i < n_out; i++) {
            double q[2];
            lambert(f->out + i * 3, q);
            xy[i * 2] = (float)q[0];
            xy[i * 2 + 1] = (float)q[1];
        }
        eb_plot_points(pl, xy, n_out, 3.0, eb_plot_colour(OUTLIER_COLOUR), "synthesised outliers");
        st = eb_plot_write_svg(pl, path, err);
    }
    free(xy);
    free(cx);
    free(cy);
    eb_plot_free(pl);
    return st;
}

static eb_status write_png(const picture *f, const char *path, eb_error *err) {
    const eb_hamos_picture_params *p = f->p;
    const int64_t chains = f->chains;
    raster r = {f->bg, f->grid};
    uint8_t col[3];
    double scale = (double)f->grid / 560.0;
    for (int c = 0; c < 3; c++) {
        colour_rgb(eb_plot_colour(class_colour[c]), col);
        for (int64_t i = 0; i < p->n_per_class; i++) {
            double q[2], px[2];
            lambert(f->buf->data + (c * f->buf->capacity + i) * 3, q);
            to_px(&r, q, px);
            disc(&r, px, 2.0 * scale, col);
        }
    }
    colour_rgb(chain_colour, col);
    for (int64_t ch = 0; ch < chains; ch++)
        for (int64_t b = 0; b + 1 < f->blocks; b++) {
            double q0[2], q1[2], a[2], e[2];
            lambert(f->out + (b * chains + ch) * 3, q0);
            lambert(f->out + ((b + 1) * chains + ch) * 3, q1);
            to_px(&r, q0, a);
            to_px(&r, q1, e);
            segment(&r, a, e, 1.6 * scale, col);
        }
    colour_rgb(eb_plot_colour(OUTLIER_COLOUR), col);
    for (int64_t i = 0; i < f->n_out; i++) {
        double q[2], px[2];
        lambert(f->out + i * 3, q);
        to_px(&r, q, px);
        disc(&r, px, 3.5 * scale, col);
    }
    return eb_png_write_rgb(path, f->bg, f->grid, f->grid, err);
}

eb_status eb_hamos_picture_write(const eb_hamos_picture_params *p, const char *path,
                                 eb_hamos_synthesis_stats *stats, eb_error *err) {
    bool png, svg;
    eb_status st = picture_check(p, path, &png, &svg, err);
    if (st) return st;
    eb_rng rng;
    eb_rng_seed(&rng, p->seed);
    eb_class_buffer buf;
    if ((st = toy_buffer(p, &buf, &rng, err))) return st;
    eb_hamos_synthesis_stats s;
    const int64_t n_out = eb_hamos_synthesis_count(&p->synth, 3),
                  chains = 3 * (p->synth.n_adj < 2 ? p->synth.n_adj : 2), grid = png ? p->size : 240;
    float *out = malloc((size_t)n_out * 3 * sizeof *out);
    double *field = malloc((size_t)(grid * grid) * sizeof *field);
    uint8_t *bg = malloc((size_t)(grid * grid) * 3);
    if (!out || !field || !bg) st = eb_error_set(err, EB_ERR_NOMEM, "hamos picture: out of memory");
    if (!st) st = eb_hamos_synthesize(&p->synth, &buf, out, &s, &rng, err);
    if (!st) st = background(p, &buf, grid, field, err);
    if (!st) colour_field(field, grid, bg);
    char title[160];
    snprintf(title, sizeof title, "HamOS %s chains on S2 (Lambert projection), acceptance %.2f",
             eb_sphere_sampler_name(p->synth.sampler.kind), st ? 0.0 : s.acceptance);
    const picture f = {p, &buf, out, n_out, chains, n_out / chains, bg, grid};
    if (!st) st = svg ? write_svg(&f, title, path, err) : write_png(&f, path, err);
    if (!st && stats) *stats = s;
    free(out);
    free(field);
    free(bg);
    eb_class_buffer_free(&buf);
    return st;
}
