/* Rendered image sets (src/data/rendered_sets.c) and their source readers: determinism (same seed ⇒
 * byte-identical images and manifest; image i independent of the count), disjointness of aux and
 * every test set read back from the saved manifests, save/load round trips and bad manifests, and
 * each reader (Unifont .hex, Hershey .jhf, GIMP .pat) on small good and bad files the tests write.
 * The sources are Debian packages (scripts/install-deps.sh): a missing one is a failure, not a skip. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ebood/data.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/render_impl.h"
#include "test_util.h"

static eb_image_set render(const char *name, uint64_t seed, int64_t count, char **manifest) {
    eb_render_params p = eb_render_default_params();
    p.seed = seed;
    p.count = count;
    eb_image_set s;
    eb_error err = {0};
    eb_status st = eb_rendered_set_render(name, &p, &s, manifest, &err);
    cr_assert_eq(st, EB_OK, "%s: %s", name, err.message);
    cr_assert_eq(s.n, count);
    cr_assert(s.c == 1 && s.h == EB_RENDERED_SIZE && s.w == EB_RENDERED_SIZE && s.u8);
    return s;
}

Test(rendered, every_set_same_seed_is_byte_identical_and_other_seed_differs) {
    for (int i = 0; i < eb_rendered_set_count(); i++) {
        const eb_rendered_set_info *info = eb_rendered_set_at(i);
        char *m1, *m2;
        eb_image_set a = render(info->name, 7, 120, &m1), b = render(info->name, 7, 120, &m2);
        size_t bytes = (size_t)a.n * EB_RENDERED_SIZE * EB_RENDERED_SIZE;
        cr_assert(memcmp(a.u8, b.u8, bytes) == 0, "%s: same seed, different images", info->name);
        cr_assert_str_eq(m1, m2, "%s: same seed, different manifests", info->name);
        cr_assert_eq(a.num_classes, info->num_classes);
        if (a.labels) cr_assert(memcmp(a.labels, b.labels, (size_t)a.n * sizeof *a.labels) == 0);
        /* images have ink and are not all the same */
        int64_t sum = 0;
        for (size_t k = 0; k < bytes; k++) sum += a.u8[k];
        cr_assert(sum > 0, "%s: all black", info->name);
        cr_assert(memcmp(a.u8, a.u8 + EB_RENDERED_SIZE * EB_RENDERED_SIZE,
                         EB_RENDERED_SIZE * EB_RENDERED_SIZE) != 0);
        if (strcmp(info->name, "digits8") != 0) { /* digits8 is the fixed scikit-learn set */
            eb_image_set c = render(info->name, 8, 120, NULL);
            cr_assert(memcmp(a.u8, c.u8, bytes) != 0, "%s: seed 7 and 8 give the same images", info->name);
            eb_image_set_free(&c);
        }
        if (a.labels) { /* every class occurs */
            int seen[10] = {0};
            for (int64_t k = 0; k < a.n; k++) seen[a.labels[k]]++;
            for (int k = 0; k < 10; k++) cr_assert(seen[k] > 0, "%s: class %d never drawn", info->name, k);
        }
        free(m1);
        free(m2);
        eb_image_set_free(&a);
        eb_image_set_free(&b);
    }
}

Test(rendered, image_i_depends_on_seed_and_i_only) {
    eb_image_set small = render("aux", 3, 50, NULL), large = render("aux", 3, 200, NULL);
    cr_assert(memcmp(small.u8, large.u8, (size_t)50 * EB_RENDERED_SIZE * EB_RENDERED_SIZE) == 0,
              "the first 50 of 200 differ from a 50-image render");
    eb_image_set_free(&small);
    eb_image_set_free(&large);
}

/* ---- disjointness, read from the saved manifests ------------------------------------------------- */

static cJSON *read_manifest(const char *dir, const char *name) {
    char path[4400], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    eb_error err = {0};
    cr_assert_eq(eb_file_read_all(path, &text, &len, &err), EB_OK, "%s", err.message);
    cJSON *m = cJSON_Parse(text);
    free(text);
    cr_assert(m != NULL, "%s: not JSON", path);
    return m;
}

/* Counts shared files and intersecting code-point ranges between two manifests' sources. */
static int overlaps(const cJSON *a, const cJSON *b, const char *a_name, const char *b_name, bool log) {
    int found = 0;
    const cJSON *sa, *sb;
    cJSON_ArrayForEach(sa, cJSON_GetObjectItem(a, "sources"))
        cJSON_ArrayForEach(sb, cJSON_GetObjectItem(b, "sources")) {
        const char *fa = cJSON_GetObjectItem(sa, "file")->valuestring,
                   *fb = cJSON_GetObjectItem(sb, "file")->valuestring;
        if (strcmp(fa, fb) == 0) {
            if (log) cr_log_error("%s and %s both use %s", a_name, b_name, fa);
            found++;
        }
        const cJSON *ra, *rb;
        cJSON_ArrayForEach(ra, cJSON_GetObjectItem(sa, "code_point_ranges"))
            cJSON_ArrayForEach(rb, cJSON_GetObjectItem(sb, "code_point_ranges")) {
            double alo = cJSON_GetArrayItem(ra, 0)->valuedouble, ahi = cJSON_GetArrayItem(ra, 1)->valuedouble;
            double blo = cJSON_GetArrayItem(rb, 0)->valuedouble, bhi = cJSON_GetArrayItem(rb, 1)->valuedouble;
            if (alo <= bhi && blo <= ahi) {
                if (log)
                    cr_log_error("%s and %s both use code points U+%04X-U+%04X / U+%04X-U+%04X", a_name,
                                 b_name, (unsigned)alo, (unsigned)ahi, (unsigned)blo, (unsigned)bhi);
                found++;
            }
        }
    }
    return found;
}

Test(rendered, aux_shares_no_file_and_no_code_point_block_with_any_test_set) {
    char dir[4096];
    eb_test_path(dir, sizeof dir, "rendered_manifests");
    for (int i = 0; i < eb_rendered_set_count(); i++) {
        const char *name = eb_rendered_set_at(i)->name;
        char *manifest;
        eb_image_set s = render(name, 1, 10, &manifest);
        eb_error err = {0};
        cr_assert_eq(eb_rendered_set_save(dir, name, &s, manifest, &err), EB_OK, "%s", err.message);
        free(manifest);
        eb_image_set_free(&s);
    }
    cJSON *aux = read_manifest(dir, "aux");
    cr_assert(cJSON_GetArraySize(cJSON_GetObjectItem(aux, "sources")) > 50,
              "aux should draw on many sources");
    int total = 0;
    for (int i = 0; i < eb_rendered_set_count(); i++) {
        const char *name = eb_rendered_set_at(i)->name;
        if (strcmp(name, "aux") == 0) continue;
        cJSON *m = read_manifest(dir, name);
        cr_assert_gt(cJSON_GetArraySize(cJSON_GetObjectItem(m, "sources")), 0, "%s: no sources", name);
        total += overlaps(aux, m, "aux", name, true);
        cJSON_Delete(m);
    }
    /* the check itself can fail: aux against itself overlaps everywhere */
    cr_assert_gt(overlaps(aux, aux, "aux", "aux", false), 0);
    cr_assert_eq(total, 0, "%d overlaps between aux and the test sets (see the log)", total);
    cJSON_Delete(aux);
}

Test(rendered, manifest_names_packages_versions_and_blocks) {
    char *manifest;
    eb_image_set s = render("kmnist", 1, 10, &manifest);
    cJSON *m = cJSON_Parse(manifest);
    cr_assert_eq(cJSON_GetObjectItem(m, "seed")->valuedouble, 1);
    cr_assert_eq(cJSON_GetObjectItem(m, "count")->valuedouble, 10);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "classes")), 10);
    const cJSON *src;
    cJSON_ArrayForEach(src, cJSON_GetObjectItem(m, "sources")) {
        cr_assert(cJSON_IsString(cJSON_GetObjectItem(src, "package")));
        cr_assert_str_neq(cJSON_GetObjectItem(src, "version")->valuestring, "unknown", "%s",
                          cJSON_GetObjectItem(src, "package")->valuestring);
        const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(src, "code_point_ranges"), 0);
        cr_assert_eq(cJSON_GetArrayItem(r, 0)->valuedouble, 0x3040); /* Hiragana */
    }
    cJSON_Delete(m);
    free(manifest);
    eb_image_set_free(&s);
}

/* ---- save / load ------------------------------------------------------------------------------ */

Test(rendered, save_load_round_trip_and_bad_manifests) {
    char dir[4096], path[4400];
    eb_test_path(dir, sizeof dir, "rendered_roundtrip");
    char *manifest;
    eb_image_set s = render("notmnist", 5, 40, &manifest), back;
    eb_error err = {0};
    cr_assert_eq(eb_rendered_set_save(dir, "notmnist", &s, manifest, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_rendered_set_load(dir, "notmnist", &back, &err), EB_OK, "%s", err.message);
    cr_assert(back.n == 40 && back.num_classes == 10 && memcmp(back.u8, s.u8, (size_t)40 * 784) == 0);
    cr_assert(memcmp(back.labels, s.labels, 40 * sizeof *s.labels) == 0);
    eb_image_set_free(&back);
    /* a manifest that disagrees with the files */
    snprintf(path, sizeof path, "%s/notmnist.json", dir);
    cr_assert_eq(eb_test_write_file(path, "{\"count\": 41, \"num_classes\": 10}", 32), 0);
    cr_assert_eq(eb_rendered_set_load(dir, "notmnist", &back, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "manifest says 41") != NULL, "%s", err.message);
    cr_assert_eq(eb_test_write_file(path, "not json", 8), 0);
    cr_assert_eq(eb_rendered_set_load(dir, "notmnist", &back, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "notmnist.json") != NULL, "%s", err.message);
    cr_assert(back.u8 == NULL);
    /* not built: the manifest is missing */
    cr_assert_eq(eb_rendered_set_load(dir, "kmnist", &back, &err), EB_ERR_IO);
    cr_assert(strstr(err.message, "kmnist.json") != NULL, "%s", err.message);
    cr_assert_eq(eb_rendered_set_load(dir, "nosuch", &back, &err), EB_ERR_ARG);
    free(manifest);
    eb_image_set_free(&s);
}

Test(rendered, bad_arguments_and_missing_sources) {
    eb_render_params p = eb_render_default_params();
    eb_image_set s;
    eb_error err = {0};
    cr_assert_eq(eb_rendered_set_render("cifar", &p, &s, NULL, &err), EB_ERR_ARG);
    p.count = -1;
    cr_assert_eq(eb_rendered_set_render("aux", &p, &s, NULL, &err), EB_ERR_ARG);
    p.count = 1798;
    cr_assert_eq(eb_rendered_set_render("digits8", &p, &s, NULL, &err), EB_ERR_ARG);
    p.count = 5;
    p.root = "/nonexistent-root";
    for (int i = 0; i < eb_rendered_set_count(); i++) {
        const char *name = eb_rendered_set_at(i)->name;
        cr_assert_eq(eb_rendered_set_render(name, &p, &s, NULL, &err), EB_ERR_IO, "%s", name);
        cr_assert(strstr(err.message, "/nonexistent-root/") && strstr(err.message, "Debian package"),
                  "%s: %s", name, err.message);
        cr_assert(s.u8 == NULL);
    }
}

/* ---- source readers on small files ---------------------------------------------------------------- */

Test(rendered, unifont_reader) {
    char path[4096];
    eb_test_path(path, sizeof path, "u.hex");
    char good[256]; /* 'A' (8 columns) and U+4E00 (16 columns: one horizontal bar in row 7) */
    snprintf(good, sizeof good, "0041:0000000018242442427E424242420000\n4E00:%028d%s%032d\n", 0, "FFFE", 0);
    cr_assert_eq(eb_test_write_file(path, good, strlen(good)), 0);
    eb__unifont *u;
    eb_error err = {0};
    cr_assert_eq(eb__unifont_read(path, &u, &err), EB_OK, "%s", err.message);
    cr_assert(eb__unifont_has(u, 0x41) && eb__unifont_has(u, 0x4E00) && !eb__unifont_has(u, 0x42));
    eb__canvas c;
    cr_assert_eq(eb__unifont_glyph(u, 0x41, 2, &c, &err), EB_OK);
    cr_assert(c.w == 16 && c.h == 32);
    /* row 4 of 'A' is 0x18 = 00011000: columns 3 and 4 set (×2 zoom: pixels 6–9 of rows 8–9) */
    for (int x = 0; x < 16; x++) cr_assert_eq(c.px[8 * 16 + x], (x >= 6 && x <= 9) ? 1.0f : 0.0f, "x %d", x);
    eb__canvas_free(&c);
    cr_assert_eq(eb__unifont_glyph(u, 0x42, 1, &c, &err), EB_ERR_ARG);
    eb__unifont_free(u);
    const char *bad[] = {"0041:00FF\n", "0041 0000000018242442427E424242420000\n",
                         "00G1:0000000018242442427E424242420000\n", ""};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(eb_test_write_file(path, bad[i], strlen(bad[i])), 0);
        cr_assert_eq(eb__unifont_read(path, &u, &err), EB_ERR_FORMAT, "case %d", i);
        cr_assert(strstr(err.message, path) != NULL, "%s", err.message);
    }
}

Test(rendered, hershey_reader) {
    char path[4096];
    eb_test_path(path, sizeof path, "h.jhf");
    /* glyph 1: a margin pair and a vertical stroke from (0,-5) to (0,5): 'R' = 0, 'M' = -5, 'W' = 5 */
    const char *good = "    1  3JZRMRW\n    2  1JZ\n";
    cr_assert_eq(eb_test_write_file(path, good, strlen(good)), 0);
    eb__hershey_font *f;
    eb_error err = {0};
    cr_assert_eq(eb__hershey_read(path, &f, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb__hershey_count(f), 1); /* the second glyph has no stroke */
    eb__canvas c;
    cr_assert_eq(eb__hershey_glyph(f, 0, 2.0, 3.0, 0, NULL, &c, &err), EB_OK);
    int box[4];
    cr_assert(eb__canvas_ink_box(&c, box));
    cr_assert(box[3] - box[1] > box[2] - box[0], "a vertical stroke is taller than wide");
    cr_assert_eq(c.px[(c.h / 2) * c.w + c.w / 2], 1.0f, "the pen covers the stroke's centre");
    eb__canvas_free(&c);
    eb__hershey_free(f);
    const char *bad[] = {"    1  3JZRMR", "    1  xJZRMRW\n", "    1\n", ""};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(eb_test_write_file(path, bad[i], strlen(bad[i])), 0);
        cr_assert_eq(eb__hershey_read(path, &f, &err), EB_ERR_FORMAT, "case %d", i);
        cr_assert(strstr(err.message, path) != NULL, "%s", err.message);
    }
}

Test(rendered, gimp_pattern_reader) {
    char path[4096];
    eb_test_path(path, sizeof path, "p.pat");
    unsigned char buf[64] = {0, 0, 0, 26, 0, 0, 0, 1,   0,   0,   0,   2,   0,
                             0, 0, 3, 0,  0, 0, 1, 'G', 'P', 'A', 'T', 'x', 0};
    for (int k = 0; k < 6; k++) buf[26 + k] = (unsigned char)(10 * k);
    cr_assert_eq(eb_test_write_file(path, buf, 32), 0);
    eb__raster r;
    eb_error err = {0};
    cr_assert_eq(eb__gimp_pattern_read(path, &r, &err), EB_OK, "%s", err.message);
    cr_assert(r.w == 2 && r.h == 3 && r.c == 1 && r.px[5] == 50);
    eb__raster_free(&r);
    cr_assert_eq(eb_test_write_file(path, buf, 31), 0); /* truncated */
    cr_assert_eq(eb__gimp_pattern_read(path, &r, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, path) && strstr(err.message, "pixel bytes"), "%s", err.message);
    buf[20] = 'X'; /* bad magic */
    cr_assert_eq(eb_test_write_file(path, buf, 32), 0);
    cr_assert_eq(eb__gimp_pattern_read(path, &r, &err), EB_ERR_FORMAT);
    buf[20] = 'G';
    buf[19] = 9; /* 9 bytes per pixel */
    cr_assert_eq(eb_test_write_file(path, buf, 32), 0);
    cr_assert_eq(eb__gimp_pattern_read(path, &r, &err), EB_ERR_FORMAT);
}

/* ---- the raster operations --------------------------------------------------------------------- */

Test(rendered, warp_identity_rotation_and_scale) {
    eb__canvas c;
    cr_assert_eq(eb__canvas_alloc(&c, 8, 8, NULL), EB_OK);
    for (int k = 0; k < 64; k++) c.px[k] = (float)((k * 37) % 11) / 10.0f;
    float out[64], rot[64];
    eb__warp id = {.src_cx = 4, .src_cy = 4, .scale = 1, .supersample = 1};
    eb__canvas_warp(&c, &id, out, 8, 8);
    for (int k = 0; k < 64; k++) cr_assert_float_eq(out[k], c.px[k], 1e-6, "identity at %d", k);
    /* a quarter turn maps pixel (x, y) to a permutation of the grid: same values, rotated */
    eb__warp quarter = id;
    quarter.angle = 3.14159265358979323846 / 2;
    eb__canvas_warp(&c, &quarter, rot, 8, 8);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            /* u = R(−90°)·d: source (x', y') with x' − 4 = (y − 3.5) … i.e. src x = y, src y = 7 − x */
            cr_assert_float_eq(rot[y * 8 + x], c.px[(7 - x) * 8 + y], 1e-5, "(%d, %d)", x, y);
        }
    /* a flat image stays flat under any warp inside the source; scale ½ with 2×2 supersampling
     * averages 2 × 2 blocks of a checkerboard to ½ */
    for (int k = 0; k < 64; k++) c.px[k] = (float)(((k % 8) + (k / 8)) % 2);
    eb__warp half = {.src_cx = 4, .src_cy = 4, .scale = 0.5, .supersample = 2};
    float small[16];
    eb__canvas_warp(&c, &half, small, 4, 4);
    for (int k = 0; k < 16; k++) cr_assert_float_eq(small[k], 0.5f, 1e-6, "block %d", k);
    eb__canvas_free(&c);
}

Test(rendered, blur_and_morph) {
    float px[225] = {0};
    px[112] = 1; /* centre of 15 × 15: the kernel (radius 3) never reaches a border */
    eb__blur(px, 15, 15, 1.0);
    double sum = 0;
    for (int k = 0; k < 225; k++) sum += (double)px[k];
    cr_assert_float_eq(sum, 1.0, 1e-5, "blur keeps the mass of an interior point");
    /* separable Gaussian: the centre value is (1/Σ_j e^{−j²/2})² over j = −3..3 */
    double z = 0;
    for (int j = -3; j <= 3; j++) z += exp(-0.5 * j * j);
    cr_assert_float_eq(px[112], 1 / (z * z), 1e-6);
    cr_assert_float_eq(px[113], exp(-0.5) / (z * z), 1e-6);
    eb__canvas c;
    cr_assert_eq(eb__canvas_alloc(&c, 9, 9, NULL), EB_OK);
    c.px[40] = 1;
    eb__canvas_morph(&c, 2);
    int on = 0;
    for (int k = 0; k < 81; k++) on += c.px[k] > 0;
    cr_assert_eq(on, 13, "a disc of radius 2 has 13 pixels");
    eb__canvas_morph(&c, -2);
    on = 0;
    for (int k = 0; k < 81; k++) on += c.px[k] > 0;
    cr_assert_eq(on, 1, "erosion by the same disc gives the point back");
    eb__canvas_free(&c);
}
