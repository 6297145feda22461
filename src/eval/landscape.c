/* Landscapes: a 2-D model's log-density f(x) = logsumexp_k g_k(x) on a W × H grid over a box, written
 * as data (NPY, CSV) or pictures (PNG, SVG) — HEAT's Figs. 1–2 (001_8dfeaa911d9afebd.txt) and the
 * EBM paper code's p(x) plots (norm_flow.py, validation_epoch_end).
 *
 * Pictures go through the plotting layer (ebood/plot.h): the PNG through libpng, the SVG as a figure
 * with nice ticks, axis labels, a colour bar and the title, the field embedded as a PNG data URI. */
#include "eval/report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the grid ------------------------------------------------------------------------------------ */
static double grid_x(const eb_landscape *l, int64_t j) {
    return l->box[0] + (double)j * (l->box[1] - l->box[0]) / (double)(l->width - 1);
}
static double grid_y(const eb_landscape *l, int64_t i) {
    return l->box[2] + (double)i * (l->box[3] - l->box[2]) / (double)(l->height - 1);
}

void eb_landscape_free(eb_landscape *l) {
    if (!l) return;
    free(l->values);
    memset(l, 0, sizeof *l);
}

static eb_status check_box(const double box[4], eb_error *err) {
    for (int k = 0; k < 4; k++)
        if (!isfinite(box[k])) return eb_error_set(err, EB_ERR_ARG, "landscape: the box must be finite");
    if (!(box[0] < box[1]) || !(box[2] < box[3]))
        return eb_error_set(err, EB_ERR_ARG,
                            "landscape: need xmin < xmax and ymin < ymax, got [%g, %g] x [%g, %g]", box[0],
                            box[1], box[2], box[3]);
    return EB_OK;
}

/* f on the grid, CHUNK points at a time through values(ctx, xy[b, 2], b, out[b]). */
typedef eb_status (*grid_fn)(void *ctx, const float *xy, int64_t b, float *out, eb_error *err);

eb_status eb__landscape_alloc(const double box[4], int64_t width, int64_t height, eb_landscape *out,
                              eb_error *err) {
    memset(out, 0, sizeof *out);
    if (width < 2 || height < 2 || width > EB_LANDSCAPE_MAX_GRID || height > EB_LANDSCAPE_MAX_GRID)
        return eb_error_set(err, EB_ERR_ARG, "landscape: grid %lld x %lld outside [2, %d]", (long long)width,
                            (long long)height, EB_LANDSCAPE_MAX_GRID);
    eb_status st = check_box(box, err);
    if (st) return st;
    out->values = malloc((size_t)(width * height) * sizeof(float));
    if (!out->values) return eb_error_set(err, EB_ERR_NOMEM, "landscape: out of memory");
    out->width = width;
    out->height = height;
    memcpy(out->box, box, sizeof out->box);
    return EB_OK;
}

static eb_status compute(grid_fn values, void *ctx, const double box[4], int64_t width, int64_t height,
                         eb_landscape *out, eb_error *err) {
    eb_status st = eb__landscape_alloc(box, width, height, out, err);
    if (st) return st;
    enum { CHUNK = 4096 };
    const int64_t n = width * height;
    float *xy = malloc(sizeof(float) * 2 * CHUNK);
    if (!xy) st = eb_error_set(err, EB_ERR_NOMEM, "landscape: out of memory");
    for (int64_t start = 0; start < n && !st; start += CHUNK) {
        int64_t b = n - start < CHUNK ? n - start : CHUNK;
        for (int64_t k = 0; k < b; k++) {
            xy[2 * k] = (float)grid_x(out, (start + k) % width);
            xy[2 * k + 1] = (float)grid_y(out, (start + k) / width);
        }
        st = values(ctx, xy, b, out->values + start, err);
    }
    free(xy);
    if (st) eb_landscape_free(out);
    return st;
}

typedef struct model_ctx {
    eb_model *m;
    float *logits; /* [CHUNK, classes] */
} model_ctx;

/* f = logsumexp_k g_k of the model's outputs, in double. */
static eb_status model_values(void *ctx, const float *xy, int64_t b, float *out, eb_error *err) {
    model_ctx *c = ctx;
    const int64_t nc = eb_model_out_dim(c->m);
    eb_status st = eb_model_predict(c->m, xy, b, 1024, c->logits, NULL, err);
    for (int64_t k = 0; k < b && !st; k++) {
        const float *g = c->logits + k * nc;
        double mx = g[0], s = 0;
        for (int64_t q = 1; q < nc; q++) mx = (double)g[q] > mx ? (double)g[q] : mx;
        if (isinf(mx)) {
            out[k] = (float)mx;
            continue;
        }
        for (int64_t q = 0; q < nc; q++) s += exp((double)g[q] - mx);
        out[k] = (float)(mx + log(s));
    }
    return st;
}

eb_status eb_landscape_compute(eb_model *m, const double box[4], int64_t width, int64_t height,
                               eb_landscape *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (eb_model_in_dim(m) != 2)
        return eb_error_set(err, EB_ERR_SHAPE,
                            "landscape: the model takes %lld features, a landscape needs 2",
                            (long long)eb_model_in_dim(m));
    model_ctx c = {m, malloc(sizeof(float) * 4096 * (size_t)eb_model_out_dim(m))};
    eb_status st = c.logits ? compute(model_values, &c, box, width, height, out, err)
                            : eb_error_set(err, EB_ERR_NOMEM, "landscape: out of memory");
    free(c.logits);
    return st;
}

static eb_status detector_values(void *ctx, const float *xy, int64_t b, float *out, eb_error *err) {
    eb_detector_data data = {.n = b, .features = xy, .dim = 2};
    return eb_detector_score(ctx, &data, out, err);
}

eb_status eb_landscape_compute_detector(eb_detector *d, const double box[4], int64_t width, int64_t height,
                                        eb_landscape *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    const char *kind = eb_detector_kind_name(eb_detector_kind_of(d));
    if (eb_detector_score_needs(d) != EB_NEEDS_FEATURES)
        return eb_error_set(
            err, EB_ERR_SHAPE,
            "landscape: the %s detector scores more than features (logits, a model or inputs); "
            "a landscape draws feature detectors fitted on 2-D points",
            kind);
    if (eb_detector_dim(d) != 2)
        return eb_error_set(err, EB_ERR_SHAPE,
                            "landscape: the %s detector was fitted on %lld features, a landscape needs 2",
                            kind, (long long)eb_detector_dim(d));
    return compute(detector_values, d, box, width, height, out, err);
}

/* ---- modes, style, colours ---------------------------------------------------------------------- */
static const char *const mode_names[] = {"logp", "p", "energy"};

const char *eb_landscape_mode_name(eb_landscape_mode mode) {
    return (unsigned)mode < 3 ? mode_names[mode] : "?";
}

eb_status eb_landscape_mode_parse(const char *s, eb_landscape_mode *out, eb_error *err) {
    for (int k = 0; k < 3; k++)
        if (strcmp(s, mode_names[k]) == 0) {
            *out = (eb_landscape_mode)k;
            return EB_OK;
        }
    return eb_error_set(err, EB_ERR_ARG, "unknown landscape mode '%s' (logp, p, energy)", s);
}

eb_landscape_style eb_landscape_default_style(void) {
    eb_landscape_style s = {EB_LANDSCAPE_LOG_DENSITY, NAN, NAN, 1, NULL, 0, NULL, NULL, 0};
    return s;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The shown quantity (per mode) in q[n] and its colour range [*lo, *hi]. */
static eb_status shown_values(const eb_landscape *l, const eb_landscape_style *s, float *q, double *lo,
                              double *hi, eb_error *err) {
    if (!(s->scale >= 1 && s->scale <= 64))
        return eb_error_set(err, EB_ERR_ARG, "landscape: scale %d outside [1, 64]", s->scale);
    if ((unsigned)s->mode > EB_LANDSCAPE_ENERGY)
        return eb_error_set(err, EB_ERR_ARG, "landscape: unknown mode %d", (int)s->mode);
    bool auto_lo = isnan(s->vmin), auto_hi = isnan(s->vmax);
    if ((!auto_lo && !isfinite(s->vmin)) || (!auto_hi && !isfinite(s->vmax)) ||
        (!auto_lo && !auto_hi && !(s->vmin < s->vmax)))
        return eb_error_set(err, EB_ERR_ARG, "landscape: need finite vmin < vmax, got %g, %g", s->vmin,
                            s->vmax);
    int64_t n = l->width * l->height, n_fin = 0;
    double fmax = -INFINITY;
    for (int64_t k = 0; k < n; k++)
        if (isfinite(l->values[k]) && (double)l->values[k] > fmax) fmax = (double)l->values[k];
    for (int64_t k = 0; k < n; k++) {
        double f = (double)l->values[k];
        q[k] = (float)(s->mode == EB_LANDSCAPE_LOG_DENSITY ? f
                       : s->mode == EB_LANDSCAPE_ENERGY    ? -f
                                                           : (isfinite(fmax) ? exp(f - fmax) : (double)NAN));
    }
    float *sorted = malloc((size_t)n * sizeof(float));
    if (!sorted) return eb_error_set(err, EB_ERR_NOMEM, "landscape: out of memory");
    for (int64_t k = 0; k < n; k++)
        if (isfinite(q[k])) sorted[n_fin++] = q[k];
    double a = 0, b = 1;
    if (n_fin > 0) {
        qsort(sorted, (size_t)n_fin, sizeof(float), cmp_float);
        double p_lo = s->mode == EB_LANDSCAPE_LOG_DENSITY ? 0.02 : 0.0;
        double p_hi = s->mode == EB_LANDSCAPE_ENERGY ? 0.98 : 1.0;
        a = (double)sorted[(int64_t)floor(p_lo * (double)(n_fin - 1))];
        b = (double)sorted[(int64_t)floor(p_hi * (double)(n_fin - 1))];
    }
    if (s->mode == EB_LANDSCAPE_DENSITY) a = 0, b = 1;
    free(sorted);
    *lo = auto_lo ? a : s->vmin;
    *hi = auto_hi ? b : s->vmax;
    if (!(*lo < *hi)) { /* a flat landscape (or a one-sided explicit range): centre it */
        double mid = auto_lo ? *hi : *lo;
        *lo = auto_lo ? mid - 0.5 : *lo;
        *hi = auto_hi ? mid + 0.5 : *hi;
        if (!(*lo < *hi)) *lo = *hi - 1.0;
    }
    return EB_OK;
}

/* The picture: rgb[(H·scale) × (W·scale) × 3], top row = ymax; overlay dots in orange-red. */
static eb_status render(const eb_landscape *l, const eb_landscape_style *s, int scale, bool dots,
                        uint8_t **out, double range[2], eb_error *err) {
    int64_t n = l->width * l->height, pw = l->width * scale, ph = l->height * scale;
    if (pw > 16384 || ph > 16384)
        return eb_error_set(err, EB_ERR_ARG,
                            "landscape: a %lld x %lld pixel picture is too large (16384 per side)",
                            (long long)pw, (long long)ph);
    float *q = malloc((size_t)n * sizeof(float));
    uint8_t *rgb = malloc((size_t)(pw * ph * 3));
    eb_status st = q && rgb ? shown_values(l, s, q, &range[0], &range[1], err)
                            : eb_error_set(err, EB_ERR_NOMEM, "landscape: out of memory");
    for (int64_t i = 0; i < l->height && !st; i++)
        for (int64_t j = 0; j < l->width; j++) {
            uint8_t c[3];
            eb_colormap(((double)q[i * l->width + j] - range[0]) / (range[1] - range[0]), c);
            for (int64_t dy = 0; dy < scale; dy++)
                for (int64_t dx = 0; dx < scale; dx++)
                    memcpy(rgb + (((l->height - 1 - i) * scale + dy) * pw + j * scale + dx) * 3, c, 3);
        }
    for (int set = 0; !st && dots && set < 2; set++) { /* the overlays: orange-red, then blue */
        const float *pts = set ? s->points_b : s->points;
        const int64_t n_pts = set ? s->n_points_b : s->n_points;
        const uint8_t colour[2][3] = {{228, 87, 46}, {41, 98, 255}};
        double cw = (l->box[1] - l->box[0]) / (double)(l->width - 1),
               chh = (l->box[3] - l->box[2]) / (double)(l->height - 1), r = 1.5;
        for (int64_t k = 0; pts && k < n_pts; k++) {
            double px = (((double)pts[2 * k] - l->box[0]) / cw + 0.5) * scale,
                   py = ((l->box[3] - (double)pts[2 * k + 1]) / chh + 0.5) * scale;
            if (!(px >= 0 && px < (double)pw && py >= 0 && py < (double)ph)) continue;
            for (int64_t y = (int64_t)floor(py - r); y <= (int64_t)(py + r); y++)
                for (int64_t x = (int64_t)floor(px - r); x <= (int64_t)(px + r); x++) {
                    double ddx = (double)x + 0.5 - px, ddy = (double)y + 0.5 - py;
                    if (x < 0 || y < 0 || x >= pw || y >= ph || ddx * ddx + ddy * ddy > r * r) continue;
                    memcpy(rgb + (y * pw + x) * 3, colour[set], 3);
                }
        }
    }
    free(q);
    if (st) {
        free(rgb);
        rgb = NULL;
    }
    *out = rgb;
    return st;
}

/* ---- PNG ------------------------------------------------------------------------------------------ */
eb_status eb_landscape_write_png(const eb_landscape *l, const eb_landscape_style *s, const char *path,
                                 eb_error *err) {
    eb_landscape_style def = eb_landscape_default_style();
    if (!s) s = &def;
    uint8_t *rgb = NULL;
    double range[2];
    eb_status st = render(l, s, s->scale, true, &rgb, range, err);
    if (!st) st = eb_png_write_rgb(path, rgb, l->width * s->scale, l->height * s->scale, err);
    free(rgb);
    return st;
}

/* ---- NPY, CSV ----------------------------------------------------------------------------------- */
eb_status eb_landscape_write_npy(const eb_landscape *l, const char *path, eb_error *err) {
    return eb_npy_write(path, EB_DTYPE_F32, 2, (const int64_t[]){l->height, l->width}, l->values, err);
}

eb_status eb_landscape_write_csv(const eb_landscape *l, const char *path, eb_error *err) {
    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (st) return st;
    fputs("x,y,f\n", af.fp);
    for (int64_t i = 0; i < l->height; i++)
        for (int64_t j = 0; j < l->width; j++)
            fprintf(af.fp, "%.9g,%.9g,%.9g\n", grid_x(l, j), grid_y(l, i),
                    (double)l->values[i * l->width + j]);
    if (ferror(af.fp)) {
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    }
    return eb_atomic_commit(&af, err);
}

/* ---- SVG ------------------------------------------------------------------------------------------ */
eb_status eb__landscape_plot(const eb_landscape *l, const eb_landscape_style *s, const char *id,
                             eb_plot **out, eb_error *err) {
    *out = NULL;
    eb_landscape_style def = eb_landscape_default_style();
    if (!s) s = &def;
    uint8_t *rgb = NULL;
    double range[2];
    eb_status st = render(l, s, 1, false, &rgb, range, err); /* points become circles, not pixels */
    if (st) return st;
    /* The image spans the grid cells: [xmin − dx/2, xmax + dx/2] × [ymin − dy/2, ymax + dy/2]. */
    double dx = (l->box[1] - l->box[0]) / (double)(l->width - 1),
           dy = (l->box[3] - l->box[2]) / (double)(l->height - 1);
    double x0 = l->box[0] - dx / 2, x1 = l->box[1] + dx / 2, y0 = l->box[2] - dy / 2, y1 = l->box[3] + dy / 2;
    double ph = 480 * (y1 - y0) / (x1 - x0); /* square data units for the 480-px wide field */
    ph = ph < 120 ? 120 : ph > 960 ? 960 : ph;
    eb_plot_spec spec = eb_plot_default_spec();
    spec.width = 62 + 480 + 14 + 78;
    spec.height = 30 + ph + 44;
    spec.xlim[0] = x0, spec.xlim[1] = x1, spec.ylim[0] = y0, spec.ylim[1] = y1;
    spec.title = s->title;
    spec.xlabel = "x1";
    spec.ylabel = "x2";
    spec.id = id;
    spec.colorbar = true;
    spec.legend = EB_PLOT_LEGEND_NONE;
    st = eb_plot_new(&spec, out, err);
    if (!st) {
        eb_plot_image(*out, rgb, l->width, l->height, x0, x1, y0, y1);
        if (s->points && s->n_points > 0) eb_plot_points(*out, s->points, s->n_points, 1.6, "#e4572e", NULL);
        if (s->points_b && s->n_points_b > 0)
            eb_plot_points(*out, s->points_b, s->n_points_b, 1.6, "#2962ff", NULL);
        eb_plot_colorbar(*out, range[0], range[1],
                         s->mode == EB_LANDSCAPE_ENERGY    ? "E(x)"
                         : s->mode == EB_LANDSCAPE_DENSITY ? "p(x)/max"
                                                           : "log p(x)");
    }
    free(rgb);
    return st;
}

eb_status eb_landscape_write_svg(const eb_landscape *l, const eb_landscape_style *s, const char *path,
                                 eb_error *err) {
    eb_plot *p = NULL;
    eb_status st = eb__landscape_plot(l, s, "landscape", &p, err);
    if (!st) st = eb_plot_write_svg(p, path, err);
    eb_plot_free(p);
    return st;
}

/* ---- dispatch -------------------------------------------------------------------------------------- */
static const char *extension(const char *path) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot : "";
}

eb_status eb_landscape_check_path(const char *path, eb_error *err) {
    const char *e = extension(path);
    if (strcmp(e, ".png") && strcmp(e, ".svg") && strcmp(e, ".npy") && strcmp(e, ".csv"))
        return eb_error_set(err, EB_ERR_ARG, "%s: unknown extension (.png, .svg, .npy, .csv)", path);
    return EB_OK;
}

eb_status eb_landscape_write(const eb_landscape *l, const eb_landscape_style *s, const char *path,
                             eb_error *err) {
    eb_status st = eb_landscape_check_path(path, err);
    if (st) return st;
    const char *e = extension(path);
    if (!strcmp(e, ".npy")) return eb_landscape_write_npy(l, path, err);
    if (!strcmp(e, ".csv")) return eb_landscape_write_csv(l, path, err);
    if (!strcmp(e, ".png")) return eb_landscape_write_png(l, s, path, err);
    return eb_landscape_write_svg(l, s, path, err);
}
