/* Hershey vector fonts (Debian package hershey-fonts-data, /usr/share/hershey-fonts/NAME.jhf) drawn as
 * strokes of a round anti-aliased pen. A record: columns 1–5 the glyph number, 6–8 the number of
 * coordinate pairs (including the first, the left/right margins), then the pairs; each character
 * minus 'R' is a coordinate (x right, y down); the pair " R" lifts the pen. A record may continue
 * over several lines (line breaks inside the pairs are skipped). */
#include "data/render_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct hershey_glyph {
    int64_t first; /* index of its first point in the font's points */
    int count;     /* points, pen-ups included */
    int record;    /* 0-based record number in the file (ASCII code − 32 in the 96-glyph fonts) */
} hershey_glyph;

typedef struct hershey_point {
    signed char x, y;
    bool pen_up; /* this entry only lifts the pen */
} hershey_point;

struct eb__hershey_font {
    hershey_glyph *glyphs; /* glyphs with at least one stroke, in file order */
    int n;
    hershey_point *points;
};

void eb__hershey_free(eb__hershey_font *f) {
    if (!f) return;
    free(f->glyphs);
    free(f->points);
    free(f);
}

int eb__hershey_count(const eb__hershey_font *f) { return f->n; }

int eb__hershey_record(const eb__hershey_font *f, int i) { return f->glyphs[i].record; }

eb_status eb__hershey_read(const char *path, eb__hershey_font **out, eb_error *err) {
    *out = NULL;
    char *data;
    size_t len;
    eb_status st = eb_file_read_all(path, &data, &len, err);
    if (st) return st;
    eb__hershey_font *f = calloc(1, sizeof *f);
    if (f) f->glyphs = malloc((len / 8 + 1) * sizeof *f->glyphs);
    if (f) f->points = malloc((len / 2 + 1) * sizeof *f->points);
    if (!f || !f->glyphs || !f->points) {
        free(data);
        eb__hershey_free(f);
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t pos = 0;
    int64_t n_points = 0, line = 1;
    int record = 0;
    while (pos < len && !st) {
        if (data[pos] == '\n' || data[pos] == '\r') {
            line += data[pos++] == '\n';
            continue;
        }
        char count_field[4] = {0};
        if (len - pos < 8) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: line %lld: truncated glyph header", path,
                              (long long)line);
            break;
        }
        memcpy(count_field, data + pos + 5, 3);
        char *endp;
        long count = strtol(count_field, &endp, 10);
        if (count < 1 || *endp != 0) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: line %lld: bad vertex count '%s'", path,
                              (long long)line, count_field);
            break;
        }
        pos += 8;
        hershey_glyph g = {n_points, 0, record++};
        char pair[2];
        int have = 0, pen_down = 0; /* pen-down points: a glyph of pen-ups only has nothing to draw */
        for (long k = 0; k < count && !st;) {
            if (pos >= len) {
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: line %lld: truncated glyph (%ld of %ld pairs)",
                                  path, (long long)line, k, count);
                break;
            }
            char ch = data[pos++];
            if (ch == '\n' || ch == '\r') {
                line += ch == '\n';
                continue;
            }
            if (ch < ' ' || ch > '~') {
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: line %lld: bad coordinate character", path,
                                  (long long)line);
                break;
            }
            pair[have++] = ch;
            if (have < 2) continue;
            have = 0;
            if (k++ == 0) continue; /* the margins */
            hershey_point p = {(signed char)(pair[0] - 'R'), (signed char)(pair[1] - 'R'),
                               pair[0] == ' ' && pair[1] == 'R'};
            f->points[n_points++] = p;
            g.count++;
            pen_down += !p.pen_up;
        }
        if (!st && g.count > 1 && pen_down > 0) f->glyphs[f->n++] = g;
    }
    free(data);
    if (!st && f->n == 0) st = eb_error_set(err, EB_ERR_FORMAT, "%s: no glyphs with strokes", path);
    if (st) {
        eb__hershey_free(f);
        return st;
    }
    *out = f;
    return EB_OK;
}

/* Distance from (px, py) to the segment a–b. */
static double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = ax + t * dx - px, ey = ay + t * dy - py;
    return sqrt(ex * ex + ey * ey);
}

eb_status eb__hershey_glyph(const eb__hershey_font *f, int i, double zoom, double pen_width, double jitter,
                            eb_rng *rng, eb__canvas *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (i < 0 || i >= f->n) return eb_error_set(err, EB_ERR_ARG, "hershey glyph %d of %d", i, f->n);
    const hershey_glyph *g = &f->glyphs[i];
    const hershey_point *pts = f->points + g->first;
    double *xy = malloc((size_t)g->count * 2 * sizeof *xy);
    if (!xy) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int k = 0; k < g->count; k++) {
        xy[2 * k] = pts[k].x + (jitter > 0 ? jitter * eb_rng_normal(rng) : 0);
        xy[2 * k + 1] = pts[k].y + (jitter > 0 ? jitter * eb_rng_normal(rng) : 0);
        if (pts[k].pen_up) continue;
        x0 = fmin(x0, xy[2 * k]), x1 = fmax(x1, xy[2 * k]);
        y0 = fmin(y0, xy[2 * k + 1]), y1 = fmax(y1, xy[2 * k + 1]);
    }
    double pad = pen_width + 2;
    eb_status st = eb__canvas_alloc(out, (int)ceil((x1 - x0) * zoom + 2 * pad),
                                    (int)ceil((y1 - y0) * zoom + 2 * pad), err);
    if (st) {
        free(xy);
        return st;
    }
    double r = pen_width / 2;
    for (int k = 1; k < g->count; k++) {
        if (pts[k].pen_up || pts[k - 1].pen_up) continue;
        double ax = (xy[2 * k - 2] - x0) * zoom + pad, ay = (xy[2 * k - 1] - y0) * zoom + pad;
        double bx = (xy[2 * k] - x0) * zoom + pad, by = (xy[2 * k + 1] - y0) * zoom + pad;
        int lx = (int)floor(fmin(ax, bx) - r - 1), hx = (int)ceil(fmax(ax, bx) + r + 1);
        int ly = (int)floor(fmin(ay, by) - r - 1), hy = (int)ceil(fmax(ay, by) + r + 1);
        for (int y = ly < 0 ? 0 : ly; y < out->h && y <= hy; y++)
            for (int x = lx < 0 ? 0 : lx; x < out->w && x <= hx; x++) {
                /* coverage of a pixel by a pen of radius r: 1 inside, linear ramp over one pixel */
                double d = segment_distance(x + 0.5, y + 0.5, ax, ay, bx, by);
                float cov = (float)fmin(1.0, fmax(0.0, r + 0.5 - d));
                float *p = &out->px[(size_t)y * out->w + x];
                if (cov > *p) *p = cov;
            }
    }
    free(xy);
    return EB_OK;
}
