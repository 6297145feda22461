/* The plotting layer (src/eval/plot_svg.c, plot_png.c): nice ticks and their labels, a figure's SVG
 * (well-formed, each element where the data says, escaping, NaN breaks a line, ids), the PNG encoder read
 * back by libpng, bad arguments. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "xml_check.h"

static void expect_ticks(double lo, double hi, int max_ticks, const double *want, int n_want,
                         double want_step) {
    double t[32], step;
    int n = eb_plot_nice_ticks(lo, hi, max_ticks, t, &step);
    cr_assert_eq(n, n_want, "[%g, %g] max %d: %d ticks, expected %d", lo, hi, max_ticks, n, n_want);
    cr_assert(fabs(step - want_step) < 1e-12 * want_step, "step %g, expected %g", step, want_step);
    for (int i = 0; i < n; i++)
        cr_assert(fabs(t[i] - want[i]) < 1e-9 * want_step, "tick %d: %.17g, expected %g", i, t[i], want[i]);
}

Test(plot, nice_ticks) {
    expect_ticks(0, 1, 6, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1}, 6, 0.2);
    expect_ticks(0, 1, 11, (double[]){0, .1, .2, .3, .4, .5, .6, .7, .8, .9, 1}, 11, 0.1);
    expect_ticks(-3, 3, 7, (double[]){-3, -2, -1, 0, 1, 2, 3}, 7, 1);
    expect_ticks(-3, 3, 5, (double[]){-2, 0, 2}, 3, 2);
    expect_ticks(0.13, 0.87, 4, (double[]){0.2, 0.4, 0.6, 0.8}, 4, 0.2);
    expect_ticks(-1.05, 21.3, 6, (double[]){0, 5, 10, 15, 20}, 5, 5);
    expect_ticks(1234, 1250, 5, (double[]){1235, 1240, 1245, 1250}, 4, 5);
    expect_ticks(-0.3, 0.3, 7, (double[]){-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3}, 7, 0.1);
    double t[32];
    cr_assert_eq(eb_plot_nice_ticks(1, 1, 5, t, NULL), 0, "empty range");
    cr_assert_eq(eb_plot_nice_ticks(2, 1, 5, t, NULL), 0, "reversed range");
    cr_assert_eq(eb_plot_nice_ticks(0, NAN, 5, t, NULL), 0, "NaN");
    cr_assert_eq(eb_plot_nice_ticks(0, 1, 1, t, NULL), 0, "max_ticks < 2");
    cr_assert_eq(eb_plot_nice_ticks(0, 1, 33, t, NULL), 0, "max_ticks > 32");
    /* a tiny range far from zero and a huge one still give ticks inside the range */
    int n = eb_plot_nice_ticks(1e6, 1e6 + 1e-3, 5, t, NULL);
    cr_assert(n >= 2 && t[0] >= 1e6 && t[n - 1] <= 1e6 + 1e-3);
    n = eb_plot_nice_ticks(-1e30, 1e30, 5, t, NULL);
    cr_assert(n >= 2 && t[0] >= -1e30 && t[n - 1] <= 1e30);
}

Test(plot, tick_labels) {
    char s[32];
    eb_plot_tick_label(0.2, 0.2, s, sizeof s);
    cr_assert_str_eq(s, "0.2");
    eb_plot_tick_label(0.25, 0.05, s, sizeof s);
    cr_assert_str_eq(s, "0.25");
    eb_plot_tick_label(15, 5, s, sizeof s);
    cr_assert_str_eq(s, "15");
    eb_plot_tick_label(-0.0, 0.1, s, sizeof s);
    cr_assert_str_eq(s, "0.0", "no minus zero");
    eb_plot_tick_label(2e7, 1e7, s, sizeof s);
    cr_assert_str_eq(s, "2e+07");
}

Test(plot, palette_and_colormap) {
    cr_assert_str_eq(eb_plot_colour(0), "#0072B2");
    cr_assert_str_eq(eb_plot_colour(1), "#D55E00");
    cr_assert_str_eq(eb_plot_colour(7), eb_plot_colour(0), "wraps around");
    cr_assert_str_eq(eb_plot_colour(-1), eb_plot_colour(6));
    uint8_t a[3], b[3];
    eb_colormap(0, a);
    eb_colormap(-5, b);
    cr_assert(memcmp(a, b, 3) == 0, "clamped below");
    eb_colormap(NAN, a);
    cr_assert(a[0] == 128 && a[1] == 128 && a[2] == 128, "NaN is grey");
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *q = text; (q = strstr(q, needle)); q++) n++;
    return n;
}

static eb_plot *unit_plot(const char *id) {
    eb_plot_spec s = eb_plot_default_spec();
    s.width = 400, s.height = 300;
    s.xlim[0] = 0, s.xlim[1] = 1, s.ylim[0] = 0, s.ylim[1] = 1;
    s.title = "ROC <test> & \"more\"";
    s.xlabel = "FPR";
    s.ylabel = "TPR";
    s.id = id;
    s.colorbar = true;
    eb_plot *p = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_plot_new(&s, &p, &err), EB_OK, "%s", err.message);
    return p;
}

Test(plot, figure_svg) {
    eb_plot *p = unit_plot("roc-1");
    /* the axes' box: left 62, top 30, 400 − 62 − 92 = 246 wide, 300 − 30 − 44 = 226 high */
    double x[4] = {0, 0.5, NAN, 1}, y[4] = {0, 0.5, 0.7, 1};
    eb_plot_line(p, x, y, 4, eb_plot_colour(0), false, "curve");
    double edges[3] = {0, 0.5, 1}, h[2] = {0.25, 0.75};
    eb_plot_histogram(p, edges, h, 2, eb_plot_colour(1), "hist");
    float pts[6] = {0.5f, 0.5f, 2.0f, 0.5f, NAN, 0.1f}; /* only the first is inside */
    eb_plot_points(p, pts, 3, 2.0, "#000000", NULL);
    eb_plot_vline(p, 0.25, eb_plot_colour(2), "t = 0.25", "threshold");
    eb_plot_text(p, 0.1, 0.9, "a<b");
    uint8_t rgb[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
    eb_plot_image(p, rgb, 2, 2, 0, 1, 0, 1);
    eb_plot_colorbar(p, -1, 1, "E(x)");
    char *svg = eb_plot_svg(p);
    cr_assert_not_null(svg);
    check_xml(svg);
    cr_assert(strncmp(svg, "<svg ", 5) == 0, "no XML declaration when inlined");
    cr_assert(strstr(svg, "ROC &lt;test&gt; &amp; &quot;more&quot;"), "escaped title");
    cr_assert(strstr(svg, ">a&lt;b</text>"), "escaped text");
    cr_assert(strstr(svg, "id=\"roc-1-clip\"") && strstr(svg, "url(#roc-1-clip)"),
              "clip id from the plot id");
    cr_assert(strstr(svg, "url(#roc-1-ramp)"), "colour bar gradient id");
    /* the line: (0,0) → (62, 256), (0.5, 0.5) → (185, 143); NaN breaks it: (1, 1) starts a new piece */
    cr_assert(strstr(svg, "d=\"M62.00 256.00 L185.00 143.00 M308.00 30.00 \""), "line path: %s",
              strstr(svg, "<path"));
    /* the histogram from the baseline y = 0 */
    cr_assert(
        strstr(svg,
               "M62.00 256.00 L62.00 199.50 L185.00 199.50 L185.00 86.50 L308.00 86.50 L308.00 256.00 Z"),
        "histogram path");
    cr_assert(strstr(svg, "<circle cx=\"185.00\" cy=\"143.00\" r=\"2\"/>"), "point inside");
    cr_assert_eq(count(svg, "<circle"), 1,
                 "outside and NaN points are skipped, no legend swatch for NULL label");
    cr_assert(strstr(svg, "x1=\"123.50\" y1=\"30.00\" x2=\"123.50\" y2=\"256.00\""),
              "threshold line at x = 0.25");
    cr_assert(strstr(svg, ">t = 0.25</text>"));
    cr_assert(strstr(svg, "data:image/png;base64,iVBORw0KGgo"), "embedded PNG");
    cr_assert(strstr(svg, "<g class=\"legend\">") && strstr(svg, ">curve</text>") &&
                  strstr(svg, ">hist</text>") && strstr(svg, ">threshold</text>"),
              "legend entries");
    cr_assert(strstr(svg, ">E(x)</text>"), "colour bar label");
    cr_assert(strstr(svg, ">0.0<"), "axis tick 0.0");
    cr_assert(strstr(svg, ">1.0<"), "axis tick 1.0");
    cr_assert(strstr(svg, ">-1.0<"), "colour bar tick -1.0");
    cr_assert(!strstr(svg, "http://") || count(svg, "http://") == 2, "only the two namespace URIs");
    free(svg);

    char path[4096];
    eb_test_path(path, sizeof path, "plot.svg");
    eb_error err = {0};
    cr_assert_eq(eb_plot_write_svg(p, path, &err), EB_OK, "%s", err.message);
    char *text;
    size_t len;
    cr_assert_eq(eb_file_read_all(path, &text, &len, NULL), EB_OK);
    cr_assert(strncmp(text, "<?xml", 5) == 0);
    check_xml(text);
    free(text);
    remove(path);
    cr_assert_eq(eb_plot_write_svg(p, "/nonexistent-dir/x.svg", &err), EB_ERR_IO);
    eb_plot_free(p);
}

Test(plot, bad_specs) {
    eb_plot *p = NULL;
    eb_error err = {0};
    eb_plot_spec s = eb_plot_default_spec();
    cr_assert_eq(eb_plot_new(&s, &p, &err), EB_ERR_ARG, "limits unset (NaN)");
    cr_assert(strstr(err.message, "x limits"), "%s", err.message);
    s.xlim[0] = 0, s.xlim[1] = 1, s.ylim[0] = 1, s.ylim[1] = 1;
    cr_assert_eq(eb_plot_new(&s, &p, &err), EB_ERR_ARG, "empty y range");
    s.ylim[1] = INFINITY;
    cr_assert_eq(eb_plot_new(&s, &p, &err), EB_ERR_ARG, "infinite limit");
    s.ylim[1] = 2;
    s.id = "bad id";
    cr_assert_eq(eb_plot_new(&s, &p, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "bad id"), "%s", err.message);
    s.id = "";
    cr_assert_eq(eb_plot_new(&s, &p, &err), EB_ERR_ARG, "empty id");
    s.id = "ok";
    s.width = 100;
    cr_assert_eq(eb_plot_new(&s, &p, &err), EB_ERR_ARG, "too narrow");
    s.width = 130, s.colorbar = true, s.ylabel = "y";
    cr_assert_eq(eb_plot_new(&s, &p, &err), EB_ERR_ARG, "no room for the axes");
    cr_assert_null(p);
    eb_plot_free(NULL);
}

Test(plot, png_round_trip) {
    enum { W = 37, H = 11 };
    uint8_t rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t)(i * 7 + i / 5);
    uint8_t *png = NULL;
    size_t len = 0;
    eb_error err = {0};
    cr_assert_eq(eb_png_encode_rgb(rgb, W, H, &png, &len, &err), EB_OK, "%s", err.message);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_memory(&img, png, len), "%s", img.message);
    cr_assert_eq(img.width, (unsigned)W);
    cr_assert_eq(img.height, (unsigned)H);
    img.format = PNG_FORMAT_RGB;
    uint8_t back[W * H * 3];
    cr_assert(png_image_finish_read(&img, NULL, back, 0, NULL), "%s", img.message);
    cr_assert(memcmp(back, rgb, sizeof rgb) == 0, "pixels survive the round trip");
    free(png);

    char path[4096];
    eb_test_path(path, sizeof path, "plot.png");
    cr_assert_eq(eb_png_write_rgb(path, rgb, W, H, &err), EB_OK, "%s", err.message);
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img, path), "%s", img.message);
    png_image_free(&img);
    remove(path);
    cr_assert_eq(eb_png_encode_rgb(rgb, 0, H, &png, &len, &err), EB_ERR_ARG);
    cr_assert_eq(eb_png_encode_rgb(rgb, 70000, 1, &png, &len, &err), EB_ERR_ARG);
    cr_assert_eq(eb_png_write_rgb("/nonexistent-dir/x.png", rgb, W, H, &err), EB_ERR_IO);
}

Test(plot, categorical_y_axis) {
    const char *const cats[3] = {"msp", "energy <T>", "mahalanobis"};
    eb_plot_spec s = eb_plot_default_spec();
    s.xlim[0] = 0, s.xlim[1] = 100, s.ylim[0] = -0.5, s.ylim[1] = 2.5;
    s.ycats = cats, s.n_ycats = 3;
    eb_plot *p = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_plot_new(&s, &p, &err), EB_OK, "%s", err.message);
    char *svg = eb_plot_svg(p);
    check_xml(svg);
    /* left margin 46 + 6.2·11 − 30 = 84.2: the names end at 78.2, one tick per category */
    cr_assert(strstr(svg, "text-anchor=\"end\">msp</text>") && strstr(svg, ">energy &lt;T&gt;</text>") &&
                  strstr(svg, ">mahalanobis</text>"),
              "category labels");
    cr_assert(strstr(svg, "<text x=\"78.20\""), "labels right-aligned before the widened axes");
    cr_assert(!strstr(svg, ">0.5</text>"), "no numeric y ticks");
    free(svg);
    eb_plot_free(p);
}
