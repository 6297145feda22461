/* Float canvases and the raster operations the rendered sets use: affine warping with bilinear
 * supersampling, disc dilation/erosion, Gaussian blur (src/data/render_impl.h). */
#include "data/render_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_status eb__canvas_alloc(eb__canvas *c, int w, int h, eb_error *err) {
    memset(c, 0, sizeof *c);
    if (w < 1 || h < 1 || (int64_t)w * h > EB__RASTER_MAX_PIXELS)
        return eb_error_set(err, EB_ERR_ARG, "canvas of %d x %d pixels", w, h);
    c->px = calloc((size_t)w * (size_t)h, sizeof *c->px);
    if (!c->px) return eb_error_set(err, EB_ERR_NOMEM, "out of memory (canvas %d x %d)", w, h);
    c->w = w;
    c->h = h;
    return EB_OK;
}

void eb__canvas_free(eb__canvas *c) {
    if (!c) return;
    free(c->px);
    memset(c, 0, sizeof *c);
}

bool eb__canvas_ink_box(const eb__canvas *c, int box[4]) {
    int x0 = c->w, x1 = 0, y0 = c->h, y1 = 0;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++)
            if (c->px[(size_t)y * c->w + x] > 1.0f / 255) {
                if (x < x0) x0 = x;
                if (x + 1 > x1) x1 = x + 1;
                if (y < y0) y0 = y;
                if (y + 1 > y1) y1 = y + 1;
            }
    if (x1 == 0) return false;
    box[0] = x0, box[1] = y0, box[2] = x1, box[3] = y1;
    return true;
}

/* Bilinear sample at (x, y) in pixel-centre coordinates (pixel i covers [i, i + 1), centre i + ½). */
static float sample(const eb__canvas *c, double x, double y, bool wrap, bool clamp) {
    x -= 0.5;
    y -= 0.5;
    double fx = floor(x), fy = floor(y);
    long ix = (long)fx, iy = (long)fy;
    float ax = (float)(x - fx), ay = (float)(y - fy), v[4];
    for (int k = 0; k < 4; k++) {
        long px = ix + (k & 1), py = iy + (k >> 1);
        if (wrap) {
            px %= c->w;
            py %= c->h;
            if (px < 0) px += c->w;
            if (py < 0) py += c->h;
        } else if (clamp) {
            px = px < 0 ? 0 : px >= c->w ? c->w - 1 : px;
            py = py < 0 ? 0 : py >= c->h ? c->h - 1 : py;
        } else if (px < 0 || py < 0 || px >= c->w || py >= c->h) {
            v[k] = 0;
            continue;
        }
        v[k] = c->px[(size_t)py * (size_t)c->w + (size_t)px];
    }
    return (1 - ay) * ((1 - ax) * v[0] + ax * v[1]) + ay * ((1 - ax) * v[2] + ax * v[3]);
}

void eb__canvas_warp(const eb__canvas *src, const eb__warp *wp, float *out, int w, int h) {
    int s = wp->supersample < 1 ? 1 : wp->supersample;
    double ca = cos(wp->angle), sa = sin(wp->angle), inv = 1.0 / wp->scale;
    double inv_y = wp->scale_y > 0 ? 1.0 / wp->scale_y : inv;
    double cx = w / 2.0 + wp->shift_x, cy = h / 2.0 + wp->shift_y;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float acc = 0;
            for (int sy = 0; sy < s; sy++)
                for (int sx = 0; sx < s; sx++) {
                    double dx = x + (sx + 0.5) / s - cx, dy = y + (sy + 0.5) / s - cy;
                    /* u = R(−angle)·d / scale */
                    double ux = (ca * dx + sa * dy) * inv, uy = (ca * dy - sa * dx) * inv_y;
                    if (wp->flip) ux = -ux;
                    acc += sample(src, wp->src_cx + ux, wp->src_cy + uy, wp->wrap, wp->clamp);
                }
            out[(size_t)y * w + x] = acc / (float)(s * s);
        }
}

void eb__canvas_morph(eb__canvas *c, int radius) {
    if (radius == 0) return;
    int r = abs(radius);
    float *tmp = malloc((size_t)c->w * (size_t)c->h * sizeof *tmp);
    if (!tmp) return;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            float best = radius > 0 ? 0.0f : 1.0f;
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++) {
                    if (dx * dx + dy * dy > r * r) continue;
                    int px = x + dx, py = y + dy;
                    float v =
                        (px < 0 || py < 0 || px >= c->w || py >= c->h) ? 0.0f : c->px[(size_t)py * c->w + px];
                    best = radius > 0 ? fmaxf(best, v) : fminf(best, v);
                }
            tmp[(size_t)y * c->w + x] = best;
        }
    memcpy(c->px, tmp, (size_t)c->w * (size_t)c->h * sizeof *tmp);
    free(tmp);
}

/* One pass along rows (stride 1, length n, count lines of step `line`) or columns. */
static void blur_pass(float *px, float *tmp, int n, int lines, int stride, int line, const float *k, int r) {
    for (int l = 0; l < lines; l++) {
        float *p = px + (size_t)l * line;
        for (int i = 0; i < n; i++) {
            float acc = 0, norm = 0;
            for (int j = -r; j <= r; j++) {
                int t = i + j;
                if (t < 0 || t >= n) continue;
                acc += k[j + r] * p[(size_t)t * stride];
                norm += k[j + r];
            }
            tmp[i] = acc / norm;
        }
        for (int i = 0; i < n; i++) p[(size_t)i * stride] = tmp[i];
    }
}

void eb__blur(float *px, int w, int h, double sigma) {
    if (sigma <= 0) return;
    int r = (int)ceil(3 * sigma);
    if (r > 32) r = 32;
    float k[65], tmp[4096];
    if (w > 4096 || h > 4096) return;
    for (int j = -r; j <= r; j++) k[j + r] = (float)exp(-0.5 * j * j / (sigma * sigma));
    blur_pass(px, tmp, w, h, 1, w, k, r); /* rows */
    blur_pass(px, tmp, h, w, w, 1, k, r); /* columns */
}

void eb__normalize_max(float *px, int64_t n) {
    float m = 0;
    for (int64_t i = 0; i < n; i++) m = fmaxf(m, px[i]);
    if (m <= 0) return;
    for (int64_t i = 0; i < n; i++) px[i] /= m;
}
