/* Landscapes: a 2-D model's log-density f(x) = logsumexp_k g_k(x) on a W × H grid over a box, written
 * as data (NPY, CSV) or pictures (PNG, SVG) — HEAT's Figs. 1–2 (001_8dfeaa911d9afebd.txt) and the
 * EBM paper code's p(x) plots (norm_flow.py, validation_epoch_end).
 *
 * The PNG encoder is ours: signature, IHDR (8-bit RGB, no interlace), one IDAT holding the zlib
 * stream of the scanlines (each prefixed with filter type 0), IEND; every chunk carries the CRC-32 of
 * its type and data (zlib's crc32). The SVG embeds that PNG as a base64 data URI. */
#include <ebood/eval.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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

eb_status eb_landscape_compute(eb_model *m, const double box[4], int64_t width, int64_t height,
                               eb_landscape *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (eb_model_in_dim(m) != 2)
        return eb_error_set(err, EB_ERR_SHAPE,
                            "landscape: the model takes %lld features, a landscape needs 2",
                            (long long)eb_model_in_dim(m));
    if (width < 2 || height < 2 || width > EB_LANDSCAPE_MAX_GRID || height > EB_LANDSCAPE_MAX_GRID)
        return eb_error_set(err, EB_ERR_ARG, "landscape: grid %lld x %lld outside [2, %d]", (long long)width,
                            (long long)height, EB_LANDSCAPE_MAX_GRID);
    eb_status st = check_box(box, err);
    if (st) return st;
    out->width = width;
    out->height = height;
    memcpy(out->box, box, sizeof out->box);
    enum { CHUNK = 4096 };
    int64_t n = width * height, c = eb_model_out_dim(m);
    out->values = malloc((size_t)n * sizeof(float));
    float *xy = malloc(sizeof(float) * 2 * CHUNK), *logits = malloc(sizeof(float) * (size_t)(CHUNK * c));
    if (!out->values || !xy || !logits) st = eb_error_set(err, EB_ERR_NOMEM, "landscape: out of memory");
    for (int64_t start = 0; start < n && !st; start += CHUNK) {
        int64_t b = n - start < CHUNK ? n - start : CHUNK;
        for (int64_t k = 0; k < b; k++) {
            xy[2 * k] = (float)grid_x(out, (start + k) % width);
            xy[2 * k + 1] = (float)grid_y(out, (start + k) / width);
        }
        st = eb_model_predict(m, xy, b, 1024, logits, NULL, err);
        for (int64_t k = 0; k < b && !st; k++) { /* f = logsumexp_k g_k, in double */
            const float *g = logits + k * c;
            double mx = g[0], s = 0;
            for (int64_t q = 1; q < c; q++) mx = (double)g[q] > mx ? (double)g[q] : mx;
            if (isinf(mx)) {
                out->values[start + k] = (float)mx;
                continue;
            }
            for (int64_t q = 0; q < c; q++) s += exp((double)g[q] - mx);
            out->values[start + k] = (float)(mx + log(s));
        }
    }
    free(xy);
    free(logits);
    if (st) eb_landscape_free(out);
    return st;
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
    eb_landscape_style s = {EB_LANDSCAPE_LOG_DENSITY, NAN, NAN, 1, NULL, 0, NULL};
    return s;
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
    if (!st && dots && s->points) {
        double cw = (l->box[1] - l->box[0]) / (double)(l->width - 1),
               chh = (l->box[3] - l->box[2]) / (double)(l->height - 1), r = 1.5;
        for (int64_t k = 0; k < s->n_points; k++) {
            double px = (((double)s->points[2 * k] - l->box[0]) / cw + 0.5) * scale,
                   py = ((l->box[3] - (double)s->points[2 * k + 1]) / chh + 0.5) * scale;
            if (!(px >= 0 && px < (double)pw && py >= 0 && py < (double)ph)) continue;
            for (int64_t y = (int64_t)floor(py - r); y <= (int64_t)(py + r); y++)
                for (int64_t x = (int64_t)floor(px - r); x <= (int64_t)(px + r); x++) {
                    double ddx = (double)x + 0.5 - px, ddy = (double)y + 0.5 - py;
                    if (x < 0 || y < 0 || x >= pw || y >= ph || ddx * ddx + ddy * ddy > r * r) continue;
                    uint8_t *p = rgb + (y * pw + x) * 3;
                    p[0] = 228, p[1] = 87, p[2] = 46;
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
static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Appends a chunk (length, type, data, CRC-32 of type + data) at buf + *len. */
static void put_chunk(uint8_t *buf, size_t *len, const char type[4], const uint8_t *data, uint32_t n) {
    uint8_t *p = buf + *len;
    put_u32(p, n);
    memcpy(p + 4, type, 4);
    if (n) memcpy(p + 8, data, n);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, p + 4, (uInt)(n + 4));
    put_u32(p + 8 + n, (uint32_t)crc);
    *len += 12 + (size_t)n;
}

/* An RGB image [h, w, 3] as a PNG file in memory (malloc'd). */
static eb_status png_encode(const uint8_t *rgb, int64_t w, int64_t h, uint8_t **out, size_t *out_len,
                            eb_error *err) {
    *out = NULL;
    size_t row = (size_t)w * 3 + 1, raw_len = row * (size_t)h;
    uLongf zlen = compressBound((uLong)raw_len);
    uint8_t *raw = malloc(raw_len), *z = malloc(zlen), *png = malloc(zlen + 64);
    eb_status st = EB_OK;
    if (!raw || !z || !png) {
        st = eb_error_set(err, EB_ERR_NOMEM, "png: out of memory");
    } else {
        for (int64_t y = 0; y < h; y++) {
            raw[(size_t)y * row] = 0; /* filter: none */
            memcpy(raw + (size_t)y * row + 1, rgb + (size_t)y * (size_t)w * 3, (size_t)w * 3);
        }
        if (compress2(z, &zlen, raw, (uLong)raw_len, 6) != Z_OK) {
            st = eb_error_set(err, EB_ERR_NOMEM, "png: zlib compression failed");
        } else {
            static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
            uint8_t ihdr[13];
            put_u32(ihdr, (uint32_t)w);
            put_u32(ihdr + 4, (uint32_t)h);
            ihdr[8] = 8;  /* bit depth */
            ihdr[9] = 2;  /* colour type: truecolour RGB */
            ihdr[10] = 0; /* deflate */
            ihdr[11] = 0; /* adaptive filtering (every row: none) */
            ihdr[12] = 0; /* no interlace */
            size_t len = 8;
            memcpy(png, sig, 8);
            put_chunk(png, &len, "IHDR", ihdr, 13);
            put_chunk(png, &len, "IDAT", z, (uint32_t)zlen);
            put_chunk(png, &len, "IEND", NULL, 0);
            *out = png;
            *out_len = len;
            png = NULL;
        }
    }
    free(raw);
    free(z);
    free(png);
    return st;
}

/* Writes bytes atomically. */
static eb_status write_bytes(const char *path, const void *data, size_t n, eb_error *err) {
    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (st) return st;
    if (fwrite(data, 1, n, af.fp) != n) {
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    }
    return eb_atomic_commit(&af, err);
}

eb_status eb_landscape_write_png(const eb_landscape *l, const eb_landscape_style *s, const char *path,
                                 eb_error *err) {
    eb_landscape_style def = eb_landscape_default_style();
    if (!s) s = &def;
    uint8_t *rgb = NULL, *png = NULL;
    size_t len = 0;
    double range[2];
    eb_status st = render(l, s, s->scale, true, &rgb, range, err);
    if (!st) st = png_encode(rgb, l->width * s->scale, l->height * s->scale, &png, &len, err);
    if (!st) st = write_bytes(path, png, len, err);
    free(rgb);
    free(png);
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
static void put_escaped(FILE *fp, const char *s) {
    for (; *s; s++) switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp);
        }
}

static void put_base64(FILE *fp, const uint8_t *d, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v =
            (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        fputc(tab[v >> 18 & 63], fp);
        fputc(tab[v >> 12 & 63], fp);
        fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', fp);
        fputc(i + 2 < n ? tab[v & 63] : '=', fp);
    }
}

eb_status eb_landscape_write_svg(const eb_landscape *l, const eb_landscape_style *s, const char *path,
                                 eb_error *err) {
    eb_landscape_style def = eb_landscape_default_style();
    if (!s) s = &def;
    uint8_t *rgb = NULL, *png = NULL;
    size_t len = 0;
    double range[2];
    eb_status st = render(l, s, 1, false, &rgb, range, err); /* points become circles, not pixels */
    if (!st) st = png_encode(rgb, l->width, l->height, &png, &len, err);
    free(rgb);
    eb_atomic_file af;
    if (!st) st = eb_atomic_open(&af, path, err);
    if (st) {
        free(png);
        return st;
    }
    /* The image spans the grid cells: [xmin − dx/2, xmax + dx/2] × [ymin − dy/2, ymax + dy/2]. */
    double dx = (l->box[1] - l->box[0]) / (double)(l->width - 1),
           dy = (l->box[3] - l->box[2]) / (double)(l->height - 1);
    double x0 = l->box[0] - dx / 2, x1 = l->box[1] + dx / 2, y0 = l->box[2] - dy / 2, y1 = l->box[3] + dy / 2;
    double pw = 480, ph = 480 * (y1 - y0) / (x1 - x0);
    ph = ph < 120 ? 120 : ph > 960 ? 960 : ph;
    double ml = 64, mt = s->title ? 36 : 16, mr = 110, mb = 44, W = ml + pw + mr, H = mt + ph + mb;
#define SX(x) (ml + ((x)-x0) / (x1 - x0) * pw)
#define SY(y) (mt + (y1 - (y)) / (y1 - y0) * ph)
    FILE *fp = af.fp;
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(fp,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
            "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" "
            "font-size=\"11\">\n",
            W, H, W, H);
    fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    if (s->title) {
        fprintf(fp, "<text x=\"%.1f\" y=\"22\" font-size=\"14\" text-anchor=\"middle\">", ml + pw / 2);
        put_escaped(fp, s->title);
        fprintf(fp, "</text>\n");
    }
    fprintf(fp,
            "<image x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" preserveAspectRatio=\"none\" "
            "style=\"image-rendering:pixelated\" xlink:href=\"data:image/png;base64,",
            ml, mt, pw, ph);
    put_base64(fp, png, len);
    fprintf(fp, "\"/>\n");
    if (s->points && s->n_points > 0) {
        fprintf(fp, "<g fill=\"#e4572e\" fill-opacity=\"0.75\" stroke=\"none\">\n");
        for (int64_t k = 0; k < s->n_points; k++) {
            double x = (double)s->points[2 * k], y = (double)s->points[2 * k + 1];
            if (x >= x0 && x <= x1 && y >= y0 && y <= y1)
                fprintf(fp, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"1.6\"/>\n", SX(x), SY(y));
        }
        fprintf(fp, "</g>\n");
    }
    fprintf(fp,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n",
            ml, mt, pw, ph);
    for (int k = 0; k <= 4; k++) { /* five ticks per axis, on the box */
        double tx = l->box[0] + k * (l->box[1] - l->box[0]) / 4,
               ty = l->box[2] + k * (l->box[3] - l->box[2]) / 4;
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", SX(tx),
                mt + ph, SX(tx), mt + ph + 4);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>\n", SX(tx), mt + ph + 16,
                tx);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", ml - 4,
                SY(ty), ml, SY(ty));
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", ml - 6, SY(ty) + 4, ty);
    }
    /* the colour bar: the ramp's stops as an SVG gradient, bottom = range[0] */
    double cx = ml + pw + 18;
    fprintf(fp, "<defs><linearGradient id=\"ramp\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
    for (int k = 0; k < 5; k++)
        fprintf(fp, "<stop offset=\"%.2f\" stop-color=\"rgb(%d,%d,%d)\"/>", k / 4.0, ramp[k][0], ramp[k][1],
                ramp[k][2]);
    fprintf(fp, "</linearGradient></defs>\n");
    fprintf(
        fp,
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" fill=\"url(#ramp)\" stroke=\"black\"/>\n",
        cx, mt, ph);
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\">%.4g</text>\n", cx + 18, mt + 10, range[1]);
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\">%.4g</text>\n", cx + 18, mt + ph, range[0]);
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", cx + 18, mt + ph / 2,
            s->mode == EB_LANDSCAPE_ENERGY    ? "E(x)"
            : s->mode == EB_LANDSCAPE_DENSITY ? "p(x)/max"
                                              : "log p(x)");
    fprintf(fp, "</svg>\n");
#undef SX
#undef SY
    free(png);
    if (ferror(fp)) {
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    }
    return eb_atomic_commit(&af, err);
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
