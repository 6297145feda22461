/* Landscapes (src/eval/landscape.c): grid values against the model's f at the grid points, the PNG
 * (read back through libpng: signature, IHDR, pixel colours), the SVG (well-formed,
 * overlay circles, embedded PNG, escaped title), NPY/CSV round trips, the colormap, bad input. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

#include "test_util.h"
#include "xml_check.h"

/* A scratch path whose extension comes last (eb_test_path appends the pid). */
static const char *tpath(char *buf, size_t size, const char *stem, const char *ext) {
    eb_test_path(buf, size, stem);
    strncat(buf, ext, size - strlen(buf) - 1);
    return buf;
}

static eb_model *mlp2(int64_t in_dim, int64_t out_dim, uint64_t seed) {
    eb_mlp_config c = eb_mlp_default_config(in_dim, out_dim);
    c.n_hidden = 2;
    c.hidden[0] = 16;
    c.hidden[1] = 8;
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_model *m = NULL;
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, NULL), EB_OK);
    return m;
}

/* f(x, y) = logsumexp of the model's outputs at one point, in double. */
static double f_at(eb_model *m, double x, double y) {
    float in[2] = {(float)x, (float)y}, out[16];
    cr_assert_eq(eb_model_predict(m, in, 1, 1, out, NULL, NULL), EB_OK);
    int64_t c = eb_model_out_dim(m);
    double mx = out[0], s = 0;
    for (int64_t k = 1; k < c; k++) mx = fmax(mx, (double)out[k]);
    for (int64_t k = 0; k < c; k++) s += exp((double)out[k] - mx);
    return mx + log(s);
}

static void check_grid(eb_model *m, const double box[4], int64_t w, int64_t h) {
    eb_landscape l;
    eb_error err = {0};
    cr_assert_eq(eb_landscape_compute(m, box, w, h, &l, &err), EB_OK, "%s", err.message);
    cr_assert_eq(l.width, w);
    cr_assert_eq(l.height, h);
    double worst = 0;
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            double x = box[0] + (double)j * (box[1] - box[0]) / (double)(w - 1),
                   y = box[2] + (double)i * (box[3] - box[2]) / (double)(h - 1);
            double want = f_at(m, (double)(float)x, (double)(float)y), got = (double)l.values[i * w + j];
            worst = fmax(worst, fabs(got - want));
            cr_assert(fabs(got - want) <= 1e-5 * (1 + fabs(want)),
                      "(%lld, %lld) = (%g, %g): got %.9g, want %.9g", (long long)i, (long long)j, x, y, got,
                      want);
        }
    cr_log_info("%s grid %lldx%lld: max |diff| %.3g", eb_model_kind_name(m->kind), (long long)w, (long long)h,
                worst);
    eb_landscape_free(&l);
    cr_assert_null(l.values);
}

Test(landscape, grid_values_are_f_at_grid_points) {
    eb_model *m = mlp2(2, 3, 1);
    check_grid(m, (double[]){-2, 3, -1, 0.5}, 7, 5); /* row 0 = ymin, column 0 = xmin, edges included */
    check_grid(m, (double[]){-1, 1, -1, 1}, 2, 2);
    eb_model_free(m);
    eb_model *one = mlp2(2, 1, 2); /* a single output: f = g */
    check_grid(one, (double[]){-4, 4, -4, 4}, 9, 11);
    eb_model_free(one);
    eb_radial_flow_config fc = eb_radial_flow_default_config(2);
    eb_rng rng;
    eb_rng_seed(&rng, 3);
    eb_model *flow = NULL;
    cr_assert_eq(eb_radial_flow_new(&fc, &rng, NULL, &flow, NULL), EB_OK);
    check_grid(flow, (double[]){-3, 3, -3, 3}, 6, 6); /* f = log p(x) */
    eb_model_free(flow);
}

Test(landscape, bad_arguments) {
    eb_error err = {0};
    eb_landscape l;
    eb_model *m3 = mlp2(3, 2, 1), *m = mlp2(2, 2, 1);
    cr_assert_eq(eb_landscape_compute(m3, (double[]){-1, 1, -1, 1}, 4, 4, &l, &err), EB_ERR_SHAPE);
    cr_assert(strstr(err.message, "takes 3 features, a landscape needs 2"), "%s", err.message);
    cr_assert_null(l.values);
    cr_assert_eq(eb_landscape_compute(m, (double[]){-1, 1, -1, 1}, 1, 4, &l, &err), EB_ERR_ARG);
    cr_assert_eq(eb_landscape_compute(m, (double[]){-1, 1, -1, 1}, 4, EB_LANDSCAPE_MAX_GRID + 1, &l, &err),
                 EB_ERR_ARG);
    cr_assert_eq(eb_landscape_compute(m, (double[]){1, -1, -1, 1}, 4, 4, &l, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "xmin < xmax"), "%s", err.message);
    cr_assert_eq(eb_landscape_compute(m, (double[]){-1, 1, 2, 2}, 4, 4, &l, &err), EB_ERR_ARG);
    cr_assert_eq(eb_landscape_compute(m, (double[]){-1, NAN, -1, 1}, 4, 4, &l, &err), EB_ERR_ARG);
    eb_landscape_mode mode;
    cr_assert_eq(eb_landscape_mode_parse("energy", &mode, NULL), EB_OK);
    cr_assert_eq(mode, EB_LANDSCAPE_ENERGY);
    cr_assert_str_eq(eb_landscape_mode_name(EB_LANDSCAPE_DENSITY), "p");
    cr_assert_eq(eb_landscape_mode_parse("heat", &mode, &err), EB_ERR_ARG);
    eb_model_free(m3);
    eb_model_free(m);
}

Test(landscape, colormap_is_ordered) {
    uint8_t c[3];
    double prev = -1;
    for (int k = 0; k <= 256; k++) {
        eb_colormap(k / 256.0, c);
        double luma = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
        cr_assert(luma > prev, "luma not increasing at t = %g (%g after %g)", k / 256.0, luma, prev);
        prev = luma;
    }
    uint8_t lo[3], hi[3], below[3], above[3];
    eb_colormap(0, lo);
    eb_colormap(1, hi);
    eb_colormap(-5, below);
    eb_colormap(7, above);
    cr_assert_eq(memcmp(lo, below, 3), 0, "clamped below");
    cr_assert_eq(memcmp(hi, above, 3), 0, "clamped above");
    eb_colormap(NAN, c);
    cr_assert(c[0] == 128 && c[1] == 128 && c[2] == 128, "NaN is grey");
}

/* A landscape with known values: f(i, j) = i + 10 j on a 6 × 4 grid. */
static eb_landscape known(void) {
    eb_landscape l = {.width = 6, .height = 4, .box = {0, 5, 0, 3}};
    l.values = malloc(sizeof(float) * 24);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++) l.values[i * 6 + j] = (float)(i + 10 * j);
    return l;
}

/* Reads a PNG file back with libpng's simplified API: checks the signature and that it is 8-bit RGB;
 * returns the pixels [h, w, 3] (libpng validates every chunk's CRC and the zlib stream). */
static uint8_t *read_png(const char *path, uint32_t *w, uint32_t *h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img, path), "libpng: %s", img.message);
    cr_assert_eq(img.format & PNG_FORMAT_FLAG_COLOR, PNG_FORMAT_FLAG_COLOR, "colour image");
    cr_assert_eq(img.format & PNG_FORMAT_FLAG_ALPHA, 0u, "no alpha");
    img.format = PNG_FORMAT_RGB;
    *w = img.width;
    *h = img.height;
    uint8_t *rgb = malloc(PNG_IMAGE_SIZE(img));
    cr_assert(png_image_finish_read(&img, NULL, rgb, 0, NULL), "libpng: %s", img.message);
    FILE *fp = fopen(path, "rb");
    uint8_t head[16];
    cr_assert_eq(fread(head, 1, 16, fp), 16u);
    fclose(fp);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cr_assert(memcmp(head, sig, 8) == 0 && memcmp(head + 12, "IHDR", 4) == 0, "signature, IHDR first");
    return rgb;
}

Test(landscape, png_is_valid_and_coloured_by_value) {
    eb_landscape l = known();
    eb_landscape_style s = eb_landscape_default_style();
    s.scale = 3;
    s.vmin = 0;
    s.vmax = 53; /* the values' range: t = f / 53 */
    char path[4096];
    tpath(path, sizeof path, "land", ".png");
    eb_error err = {0};
    cr_assert_eq(eb_landscape_write(&l, &s, path, &err), EB_OK, "%s", err.message);
    uint32_t w, h;
    uint8_t *raw = read_png(path, &w, &h);
    cr_assert_eq(w, 18);
    cr_assert_eq(h, 12);
    size_t row = (size_t)w * 3;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            int i = 3 - (int)(y / 3), j = (int)(x / 3); /* top row = ymax = grid row 3 */
            uint8_t c[3];
            eb_colormap((double)l.values[i * 6 + j] / 53.0, c);
            cr_assert_eq(memcmp(raw + y * row + x * 3, c, 3), 0, "pixel (%u, %u)", x, y);
        }
    }
    free(raw);
    /* overlay points become dots of their own colour */
    float pts[2] = {2.0f, 1.0f};
    s.points = pts;
    s.n_points = 1;
    cr_assert_eq(eb_landscape_write_png(&l, &s, path, &err), EB_OK, "%s", err.message);
    raw = read_png(path, &w, &h);
    /* (2, 1) is grid cell (i = 1, j = 2): pixel centre x = 2·3 + 1.5, y = (3 − 1)·3 + 1.5 */
    const uint8_t *dot = raw + 7 * row + 7 * 3;
    cr_assert(dot[0] == 228 && dot[1] == 87 && dot[2] == 46, "dot colour %d %d %d", dot[0], dot[1], dot[2]);
    free(raw);
    remove(path);
    eb_landscape_free(&l);
}

Test(landscape, svg_is_well_formed_with_points_and_image) {
    eb_landscape l = known();
    eb_landscape_style s = eb_landscape_default_style();
    float pts[8] = {1, 1, 4.5f, 2.5f, 100, 100, 0, 0}; /* (100, 100) is outside: no circle */
    s.points = pts;
    s.n_points = 4;
    s.title = "f <\"x\"> & y";
    s.mode = EB_LANDSCAPE_ENERGY;
    char path[4096];
    tpath(path, sizeof path, "land", ".svg");
    eb_error err = {0};
    cr_assert_eq(eb_landscape_write(&l, &s, path, &err), EB_OK, "%s", err.message);
    char *text;
    size_t len;
    cr_assert_eq(eb_file_read_all(path, &text, &len, NULL), EB_OK);
    cr_assert(strncmp(text, "<?xml", 5) == 0, "XML declaration first");
    check_xml(text);
    int circles = 0;
    for (const char *q = text; (q = strstr(q, "<circle")); q++) circles++;
    cr_assert_eq(circles, 3);
    cr_assert(strstr(text, "f &lt;&quot;x&quot;&gt; &amp; y"), "escaped title");
    const char *b64 = strstr(text, "data:image/png;base64,");
    cr_assert_not_null(b64);
    cr_assert(strncmp(b64 + 22, "iVBORw0KGgo", 11) == 0, "the embedded image is a PNG");
    cr_assert(strstr(text, "E(x)"), "energy mode labels the colour bar");
    free(text);
    remove(path);
    eb_landscape_free(&l);
}

Test(landscape, npy_and_csv_round_trip) {
    eb_landscape l = known();
    char npy[4096], csv[4096];
    tpath(npy, sizeof npy, "land", ".npy");
    tpath(csv, sizeof csv, "land", ".csv");
    eb_error err = {0};
    cr_assert_eq(eb_landscape_write(&l, NULL, npy, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_landscape_write(&l, NULL, csv, &err), EB_OK, "%s", err.message);
    float *v;
    int64_t shape[8];
    int nd;
    cr_assert_eq(eb_npy_read_f32(npy, &v, 2, shape, &nd, &err), EB_OK, "%s", err.message);
    cr_assert(shape[0] == 4 && shape[1] == 6);
    cr_assert_eq(memcmp(v, l.values, sizeof(float) * 24), 0);
    free(v);
    char *text;
    size_t len;
    cr_assert_eq(eb_file_read_all(csv, &text, &len, NULL), EB_OK);
    cr_assert(strncmp(text, "x,y,f\n0,0,0\n1,0,10\n", 19) == 0, "%.40s", text);
    int lines = 0;
    for (size_t k = 0; k < len; k++) lines += text[k] == '\n';
    cr_assert_eq(lines, 25);
    cr_assert(strstr(text, "\n5,3,53\n"), "last point (xmax, ymax)");
    free(text);
    remove(npy);
    remove(csv);
    eb_landscape_free(&l);
}

Test(landscape, bad_output_leaves_nothing) {
    eb_landscape l = known();
    char path[4096];
    tpath(path, sizeof path, "land", ".jpg");
    eb_error err = {0};
    cr_assert_eq(eb_landscape_write(&l, NULL, path, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "unknown extension"), "%s", err.message);
    cr_assert(!eb_test_file_exists(path));
    cr_assert_eq(eb_landscape_check_path("a/b.png", NULL), EB_OK);
    cr_assert_eq(eb_landscape_check_path("a.png/b", NULL), EB_ERR_ARG);
    cr_assert_eq(eb_landscape_write(&l, NULL, "/nonexistent-dir/x.png", &err), EB_ERR_IO);
    eb_landscape_style s = eb_landscape_default_style();
    s.scale = 0;
    tpath(path, sizeof path, "land2", ".png");
    cr_assert_eq(eb_landscape_write(&l, &s, path, &err), EB_ERR_ARG);
    eb_landscape big = {.width = 2048, .height = 2, .box = {0, 1, 0, 1}, .values = NULL};
    s.scale = 9; /* 18432 pixels wide: refused before any allocation */
    cr_assert_eq(eb_landscape_write_png(&big, &s, path, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "too large"), "%s", err.message);
    s.scale = 1;
    s.vmin = 3;
    s.vmax = 1;
    cr_assert_eq(eb_landscape_write(&l, &s, path, &err), EB_ERR_ARG);
    cr_assert(!eb_test_file_exists(path));
    eb_landscape_free(&l);
}
