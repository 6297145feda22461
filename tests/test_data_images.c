/* Image sets, transforms (against naive references and PyTorch fixtures), the prefetching loader
 * (coverage, shuffling, determinism with and without the thread, resume), and the non-natural OOD
 * image sets of the EBM paper. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <ebood/data.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_util.h"

/* ---- helpers ---------------------------------------------------------------------------------- */

/* A u8 set of n images c × h × w, pixel = (37·k + 11·i) mod 256 at flat index k of image i,
 * label = i mod classes. */
static void make_u8_set(eb_image_set *s, int64_t n, int c, int h, int w, int classes) {
    cr_assert_eq(eb_image_set_alloc(n, c, h, w, EB_DTYPE_U8, classes, s, NULL), EB_OK);
    int64_t per = (int64_t)c * h * w;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t k = 0; k < per; k++) s->u8[i * per + k] = (uint8_t)((37 * k + 11 * i) % 256);
        if (classes) s->labels[i] = (int32_t)(i % classes);
    }
}

static float *load_fixture(const char *name, int64_t *count) {
    char rel[256], path[1024];
    snprintf(rel, sizeof rel, "images/%s", name);
    float *data = NULL;
    int64_t shape[8];
    int ndim = 0;
    eb_error err = {0};
    cr_assert_eq(eb_npy_read_f32(eb_fixture_path(path, sizeof path, rel), &data, 4, shape, &ndim, &err),
                 EB_OK, "%s", err.message);
    *count = shape[0] * shape[1] * shape[2] * shape[3];
    return data;
}

static void sleep_us(long us) {
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* ---- image sets -------------------------------------------------------------------------------- */

Test(image_set, alloc_subset_stats) {
    eb_image_set s, sub;
    make_u8_set(&s, 6, 2, 3, 4, 3);
    cr_assert_eq(eb_image_set_image_size(&s), 24);
    int64_t rows[4] = {5, 0, 5, 2};
    cr_assert_eq(eb_image_set_subset(&s, rows, 4, &sub, NULL), EB_OK);
    cr_assert_eq(sub.n, 4);
    cr_assert_eq(sub.num_classes, 3);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(memcmp(sub.u8 + i * 24, s.u8 + rows[i] * 24, 24), 0);
        cr_assert_eq(sub.labels[i], s.labels[rows[i]]);
    }
    eb_image_set_free(&sub);
    int64_t bad[1] = {6};
    eb_error err = {0};
    cr_assert_eq(eb_image_set_subset(&s, bad, 1, &sub, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "row index 6") != NULL, "%s", err.message);
    cr_assert(sub.u8 == NULL);

    /* channel statistics against a direct two-pass computation */
    double mean[2], std[2];
    cr_assert_eq(eb_image_set_channel_stats(&s, mean, std, NULL), EB_OK);
    for (int ch = 0; ch < 2; ch++) {
        double sum = 0, ss = 0;
        for (int i = 0; i < 6; i++)
            for (int k = 0; k < 12; k++) sum += s.u8[(i * 2 + ch) * 12 + k] / 255.0;
        double m = sum / 72;
        for (int i = 0; i < 6; i++)
            for (int k = 0; k < 12; k++) ss += pow(s.u8[(i * 2 + ch) * 12 + k] / 255.0 - m, 2);
        cr_assert_float_eq(mean[ch], m, 1e-12);
        cr_assert_float_eq(std[ch], sqrt(ss / 72), 1e-12);
    }
    eb_image_set_free(&s);

    cr_assert_eq(eb_image_set_alloc(1, 5, 2, 2, EB_DTYPE_U8, 0, &s, &err), EB_ERR_ARG, "5 channels");
    cr_assert_eq(eb_image_set_alloc(1, 1, 2, 2, EB_DTYPE_I32, 0, &s, &err), EB_ERR_ARG, "int32 pixels");
    cr_assert_eq(eb_image_set_alloc(0, 1, 2, 2, EB_DTYPE_F32, 0, &s, &err), EB_OK);
    cr_assert(s.f32 != NULL, "an empty set still has its pixel array");
    eb_image_set_free(&s);
}

Test(image_set, to_dataset) {
    eb_image_set s;
    make_u8_set(&s, 3, 2, 2, 2, 4);
    eb_dataset d;
    float mean[2] = {0.25f, 0.5f}, std[2] = {0.5f, 0.25f};
    cr_assert_eq(eb_image_set_to_dataset(&s, mean, std, &d, NULL), EB_OK);
    cr_assert_eq(d.n, 3);
    cr_assert_eq(d.dim, 8);
    cr_assert_eq(d.num_classes, 4);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(d.y[i], s.labels[i]);
        for (int k = 0; k < 8; k++) {
            int ch = k / 4;
            double ref = ((double)s.u8[i * 8 + k] / 255.0 - (double)mean[ch]) / (double)std[ch];
            cr_assert_float_eq(d.x[i * 8 + k], ref, 1e-6);
        }
    }
    eb_dataset_free(&d);
    float zero_std[2] = {0.5f, 0.0f};
    eb_error err = {0};
    cr_assert_eq(eb_image_set_to_dataset(&s, mean, zero_std, &d, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "channel 1") != NULL, "%s", err.message);
    eb_image_set_free(&s);
}

/* ---- transforms -------------------------------------------------------------------------------- */

Test(transforms, normalize) {
    float x[2 * 2 * 3];
    for (int k = 0; k < 12; k++) x[k] = (float)k / 11.0f;
    float mean[2] = {0.5f, -1.0f}, std[2] = {0.5f, 2.0f};
    float ref[12];
    for (int k = 0; k < 12; k++) ref[k] = (x[k] - mean[(k / 3) % 2]) / std[(k / 3) % 2];
    eb_image_normalize(x, 2, 2, 3, mean, std);
    for (int k = 0; k < 12; k++) cr_assert_float_eq(x[k], ref[k], 1e-7);
}

/* Naive crop: pad into a (h + 2p) × (w + 2p) canvas of zeros, take the window at (oy, ox). */
static void crop_ref(const float *in, float *out, int c, int h, int w, int p, int oy, int ox) {
    int ph = h + 2 * p, pw = w + 2 * p;
    float *canvas = calloc((size_t)(c * ph * pw), sizeof *canvas);
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) canvas[(ch * ph + y + p) * pw + x + p] = in[(ch * h + y) * w + x];
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) out[(ch * h + y) * w + x] = canvas[(ch * ph + y + oy) * pw + x + ox];
    free(canvas);
}

Test(transforms, random_crop_matches_pad_and_slice) {
    enum { N = 60, C = 2, H = 5, W = 7, P = 3 };
    static float x[N * C * H * W], orig[N * C * H * W], ref[C * H * W];
    for (int k = 0; k < N * C * H * W; k++) x[k] = orig[k] = (float)(k % 97) + 1.0f;
    eb_rng rng, replay;
    eb_rng_seed(&rng, 7);
    replay = rng;
    eb_image_random_crop(x, N, C, H, W, P, &rng);
    int seen[2 * P + 1] = {0};
    for (int i = 0; i < N; i++) {
        int oy = (int)eb_rng_below(&replay, 2 * P + 1), ox = (int)eb_rng_below(&replay, 2 * P + 1);
        seen[oy]++;
        crop_ref(orig + i * C * H * W, ref, C, H, W, P, oy, ox);
        for (int k = 0; k < C * H * W; k++)
            cr_assert_eq(x[i * C * H * W + k], ref[k], "image %d (oy %d ox %d) value %d", i, oy, ox, k);
    }
    cr_assert_eq(memcmp(&rng, &replay, sizeof rng), 0, "two draws per image");
    for (int o = 0; o <= 2 * P; o++) cr_assert(seen[o] > 0, "offset %d never drawn in %d images", o, N);

    /* pad 0: nothing changes, nothing drawn */
    eb_rng before = rng;
    memcpy(x, orig, sizeof x);
    eb_image_random_crop(x, N, C, H, W, 0, &rng);
    cr_assert_eq(memcmp(x, orig, sizeof x), 0);
    cr_assert_eq(memcmp(&rng, &before, sizeof rng), 0);
}

Test(transforms, random_hflip) {
    enum { N = 400, C = 3, H = 2, W = 5 };
    static float x[N * C * H * W], orig[N * C * H * W];
    for (int k = 0; k < N * C * H * W; k++) x[k] = orig[k] = (float)k;
    eb_rng rng, replay;
    eb_rng_seed(&rng, 3);
    replay = rng;
    eb_image_random_hflip(x, N, C, H, W, &rng);
    int flips = 0;
    for (int i = 0; i < N; i++) {
        bool flip = eb_rng_uniform(&replay) < 0.5;
        flips += flip;
        for (int r = 0; r < C * H; r++)
            for (int col = 0; col < W; col++) {
                float want = orig[(i * C * H + r) * W + (flip ? W - 1 - col : col)];
                cr_assert_eq(x[(i * C * H + r) * W + col], want);
            }
    }
    cr_assert(flips > 150 && flips < 250, "%d flips in %d", flips, N);
}

Test(transforms, gaussian_noise) {
    enum { N = 200000 };
    float *x = calloc(N, sizeof *x);
    eb_rng rng;
    eb_rng_seed(&rng, 11);
    eb_image_add_noise(x, N, 0.1f, &rng);
    double sum = 0, ss = 0;
    for (int k = 0; k < N; k++) sum += (double)x[k];
    double m = sum / N;
    for (int k = 0; k < N; k++) ss += ((double)x[k] - m) * ((double)x[k] - m);
    cr_assert(fabs(m) < 0.002, "mean %g", m);
    cr_assert(fabs(sqrt(ss / N) - 0.1) < 0.002, "std %g", sqrt(ss / N));
    eb_rng before = rng;
    float y[4] = {1, 2, 3, 4};
    eb_image_add_noise(y, 4, 0.0f, &rng);
    cr_assert(y[0] == 1 && y[3] == 4);
    cr_assert_eq(memcmp(&rng, &before, sizeof rng), 0);
    free(x);
}

/* avg_pool2d(k) + nearest resize back, against PyTorch (scripts/make_image_fixtures.py). */
static void check_smooth(const char *in_name, const char *out_name, int n, int c, int h, int w, int k) {
    int64_t cnt_in, cnt_out;
    float *in = load_fixture(in_name, &cnt_in), *ref = load_fixture(out_name, &cnt_out);
    cr_assert_eq(cnt_in, (int64_t)n * c * h * w);
    cr_assert_eq(cnt_out, cnt_in);
    float *out = malloc((size_t)cnt_in * sizeof *out);
    eb_image_smooth(out, in, n, c, h, w, k);
    double maxdiff = 0;
    for (int64_t i = 0; i < cnt_in; i++) maxdiff = fmax(maxdiff, fabs((double)out[i] - (double)ref[i]));
    cr_assert(maxdiff < 1e-6, "%s: max |diff| %g", out_name, maxdiff);
    free(in);
    free(ref);
    free(out);
}

Test(transforms, smooth_matches_torch) {
    check_smooth("smooth_a_in.npy", "smooth_a_k2.npy", 1, 2, 28, 28, 2);
    check_smooth("smooth_a_in.npy", "smooth_a_k3.npy", 1, 2, 28, 28, 3);
    check_smooth("smooth_a_in.npy", "smooth_a_k4.npy", 1, 2, 28, 28, 4);
    check_smooth("smooth_a_in.npy", "smooth_a_k16.npy", 1, 2, 28, 28, 16);
    check_smooth("smooth_b_in.npy", "smooth_b_k3.npy", 2, 1, 10, 9, 3);
    check_smooth("smooth_b_in.npy", "smooth_b_k4.npy", 2, 1, 10, 9, 4);
}

Test(transforms, check_rejects_bad_values) {
    eb_image_transforms t = eb_image_transforms_ebm(0.1f);
    eb_error err = {0};
    cr_assert_eq(eb_image_transforms_check(&t, 3, &err), EB_OK, "%s", err.message);
    t.std[1] = 0.0f;
    cr_assert_eq(eb_image_transforms_check(&t, 3, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "std[1]") != NULL, "%s", err.message);
    t = eb_image_transforms_default();
    t.noise_std = -0.5f;
    cr_assert_eq(eb_image_transforms_check(&t, 1, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "noise_std") != NULL, "%s", err.message);
    t = eb_image_transforms_default();
    t.crop_padding = -1;
    cr_assert_eq(eb_image_transforms_check(&t, 1, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "crop_padding") != NULL, "%s", err.message);
    t = eb_image_transforms_default();
    t.normalize = true;
    t.mean[0] = NAN;
    cr_assert_eq(eb_image_transforms_check(&t, 1, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "mean[0]") != NULL, "%s", err.message);
}

Test(transforms, apply_pipeline) {
    eb_image_set s;
    make_u8_set(&s, 4, 1, 6, 6, 2);
    int64_t rows[2] = {3, 1};
    float out[2 * 36];
    eb_rng rng;
    eb_rng_seed(&rng, 5);

    /* all off: pixel/255 */
    eb_image_transforms t = eb_image_transforms_default();
    eb_image_transforms_apply(&t, &s, rows, 2, out, &rng);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 36; k++) cr_assert_eq(out[i * 36 + k], (float)s.u8[rows[i] * 36 + k] / 255.0f);

    /* the EBM paper's pipeline without noise: [0, 255] → [−1, 1] */
    t = eb_image_transforms_ebm(0.0f);
    eb_image_transforms_apply(&t, &s, rows, 2, out, &rng);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 36; k++) {
            double ref = ((double)s.u8[rows[i] * 36 + k] / 255.0 - 0.5) / 0.5;
            cr_assert_float_eq(out[i * 36 + k], ref, 1e-6);
            cr_assert(out[i * 36 + k] >= -1.0f && out[i * 36 + k] <= 1.0f);
        }

    /* crop on u8 sets pads with black: after normalisation the padding is (0 − 0.5)/0.5 = −1 */
    t.crop_padding = 6; /* as wide as the image: some offsets shift it entirely out */
    int saw_black = 0;
    for (int rep = 0; rep < 20; rep++) {
        eb_image_transforms_apply(&t, &s, rows, 2, out, &rng);
        for (int k = 0; k < 72; k++) {
            cr_assert(out[k] >= -1.0f && out[k] <= 1.0f);
            saw_black += out[k] == -1.0f;
        }
    }
    cr_assert(saw_black > 0);

    /* f32 sets are in input space: no /255, no normalisation; crop pads with 0 */
    eb_image_set f;
    cr_assert_eq(eb_image_set_alloc(2, 1, 6, 6, EB_DTYPE_F32, 0, &f, NULL), EB_OK);
    for (int k = 0; k < 72; k++) f.f32[k] = 100.0f + (float)k;
    int64_t frows[2] = {1, 0};
    t = eb_image_transforms_ebm(0.0f);
    eb_image_transforms_apply(&t, &f, frows, 2, out, &rng);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 36; k++) cr_assert_eq(out[i * 36 + k], f.f32[frows[i] * 36 + k]);
    /* noise is applied to both kinds: the mean shift is ~0, values change */
    t.noise_std = 0.1f;
    eb_image_transforms_apply(&t, &f, frows, 2, out, &rng);
    int changed = 0;
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 36; k++) {
            float d = out[i * 36 + k] - f.f32[frows[i] * 36 + k];
            changed += d != 0.0f;
            cr_assert(fabsf(d) < 0.7f);
        }
    cr_assert(changed > 60);
    eb_image_set_free(&f);
    eb_image_set_free(&s);
}

/* Random resized crop (torchvision RandomResizedCrop's defaults): on a horizontal ramp every output row
 * is the same non-decreasing ramp inside the source's range; u8 and f32 copies of one image give the same
 * output from the same rng; over many draws some crops zoom in (the output differs from the source). */
Test(transforms, resized_crop) {
    enum { H = 8, W = 8, P = 2 * H * W };
    eb_image_set u, f;
    cr_assert_eq(eb_image_set_alloc(1, 2, H, W, EB_DTYPE_U8, 0, &u, NULL), EB_OK);
    cr_assert_eq(eb_image_set_alloc(1, 2, H, W, EB_DTYPE_F32, 0, &f, NULL), EB_OK);
    for (int k = 0; k < P; k++) {
        u.u8[k] = (uint8_t)(30 * (k % W) + (k >= H * W ? 5 : 0)); /* channel 1 is shifted by 5 */
        f.f32[k] = (float)u.u8[k] / 255.0f;
    }
    eb_image_transforms t = eb_image_transforms_default();
    t.resized_crop = true;
    int64_t row = 0;
    float a[P], b[P];
    int zoomed = 0;
    for (int rep = 0; rep < 40; rep++) {
        eb_rng r1, r2;
        eb_rng_seed(&r1, (uint64_t)rep);
        eb_rng_seed(&r2, (uint64_t)rep);
        eb_image_transforms_apply(&t, &u, &row, 1, a, &r1);
        eb_image_transforms_apply(&t, &f, &row, 1, b, &r2);
        bool same_as_source = true;
        for (int k = 0; k < P; k++) {
            cr_assert_float_eq(a[k], b[k], 1e-6f, "rep %d k %d", rep, k);
            const int x = k % W, ch = k / (H * W);
            const float lo = (float)(ch ? 5 : 0) / 255.0f, hi = (float)(30 * (W - 1) + (ch ? 5 : 0)) / 255.0f;
            cr_assert(a[k] >= lo - 1e-6f && a[k] <= hi + 1e-6f, "rep %d k %d: %g", rep, k, (double)a[k]);
            if (x > 0) cr_assert(a[k] >= a[k - 1] - 1e-6f, "rep %d: not a ramp at k %d", rep, k);
            cr_assert_float_eq(a[k], a[ch * H * W + x], 1e-6f, "rep %d: rows differ at k %d", rep, k);
            same_as_source = same_as_source && fabsf(a[k] - f.f32[k]) < 1e-6f;
        }
        zoomed += !same_as_source;
    }
    cr_assert(zoomed > 20, "only %d of 40 crops changed the image", zoomed);
    eb_image_set_free(&u);
    eb_image_set_free(&f);
}

/* ---- the loader ---------------------------------------------------------------------------------- */

typedef struct recorded {
    int64_t n, per;
    float *x;
    int64_t *idx, *size, *epoch, *index;
    int32_t *labels;
} recorded;

/* Records `count` batches of a loader (copies, since batch memory is reused). */
static void record(eb_image_loader *l, int64_t count, int64_t bs, int64_t per, recorded *r,
                   long sleep_max_us) {
    r->n = count;
    r->per = per;
    r->x = calloc((size_t)(count * bs * per), sizeof *r->x);
    r->idx = calloc((size_t)(count * bs), sizeof *r->idx);
    r->labels = calloc((size_t)(count * bs), sizeof *r->labels);
    r->size = calloc((size_t)count, sizeof *r->size);
    r->epoch = calloc((size_t)count, sizeof *r->epoch);
    r->index = calloc((size_t)count, sizeof *r->index);
    unsigned seed = 1;
    for (int64_t t = 0; t < count; t++) {
        if (sleep_max_us) {
            seed = seed * 1103515245u + 12345u;
            sleep_us((long)(seed >> 16) % sleep_max_us);
        }
        eb_image_batch b;
        eb_error err = {0};
        cr_assert_eq(eb_image_loader_next(l, &b, &err), EB_OK, "%s", err.message);
        r->size[t] = b.size;
        r->epoch[t] = b.epoch;
        r->index[t] = b.index;
        memcpy(r->x + t * bs * per, b.x, (size_t)(b.size * per) * sizeof *r->x);
        memcpy(r->idx + t * bs, b.indices, (size_t)b.size * sizeof *r->idx);
        if (b.labels) memcpy(r->labels + t * bs, b.labels, (size_t)b.size * sizeof *r->labels);
    }
}

static void free_recorded(recorded *r) {
    free(r->x);
    free(r->idx);
    free(r->labels);
    free(r->size);
    free(r->epoch);
    free(r->index);
}

/* Batches [a0, a0 + count) of a equal batches [b0, b0 + count) of b, bit for bit. */
static void assert_same(const recorded *a, int64_t a0, const recorded *b, int64_t b0, int64_t count,
                        int64_t bs) {
    for (int64_t t = 0; t < count; t++) {
        int64_t ta = a0 + t, tb = b0 + t;
        cr_assert_eq(a->size[ta], b->size[tb], "batch %lld", (long long)t);
        cr_assert_eq(a->epoch[ta], b->epoch[tb]);
        cr_assert_eq(a->index[ta], b->index[tb]);
        cr_assert_eq(memcmp(a->idx + ta * bs, b->idx + tb * bs, (size_t)a->size[ta] * sizeof(int64_t)), 0,
                     "indices of batch %lld", (long long)t);
        cr_assert_eq(memcmp(a->x + ta * bs * a->per, b->x + tb * bs * b->per,
                            (size_t)(a->size[ta] * a->per) * sizeof(float)),
                     0, "pixels of batch %lld", (long long)t);
    }
}

Test(loader, order_sizes_and_epochs_without_shuffle) {
    eb_image_set s;
    make_u8_set(&s, 10, 1, 3, 3, 4);
    eb_image_loader_params p = eb_image_loader_default_params();
    p.batch_size = 4;
    p.shuffle = false;
    eb_image_loader *l;
    eb_error err = {0};
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_image_loader_batches_per_epoch(l), 3);
    int64_t expect_size[7] = {4, 4, 2, 4, 4, 2, 4};
    for (int t = 0; t < 7; t++) {
        eb_image_loader_state st = eb_image_loader_tell(l);
        cr_assert_eq(st.epoch, t / 3);
        cr_assert_eq(st.batch, t % 3);
        eb_image_batch b;
        cr_assert_eq(eb_image_loader_next(l, &b, &err), EB_OK);
        cr_assert_eq(b.size, expect_size[t]);
        cr_assert_eq(b.epoch, t / 3);
        cr_assert_eq(b.index, t % 3);
        for (int64_t i = 0; i < b.size; i++) {
            int64_t row = (t % 3) * 4 + i;
            cr_assert_eq(b.indices[i], row);
            cr_assert_eq(b.labels[i], s.labels[row]);
            for (int k = 0; k < 9; k++) cr_assert_eq(b.x[i * 9 + k], (float)s.u8[row * 9 + k] / 255.0f);
        }
    }
    eb_image_loader_free(l);

    /* drop_last: 2 batches per epoch, always full */
    p.drop_last = true;
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_image_loader_batches_per_epoch(l), 2);
    for (int t = 0; t < 5; t++) {
        eb_image_batch b;
        cr_assert_eq(eb_image_loader_next(l, &b, &err), EB_OK);
        cr_assert_eq(b.size, 4);
        cr_assert_eq(b.index, t % 2);
        cr_assert_eq(b.indices[0], (t % 2) * 4);
    }
    eb_image_loader_free(l);
    eb_image_set_free(&s);
}

Test(loader, shuffle_is_a_permutation_per_epoch) {
    eb_image_set s;
    make_u8_set(&s, 50, 1, 2, 2, 5);
    eb_image_loader_params p = eb_image_loader_default_params();
    p.batch_size = 8;
    p.seed = 99;
    eb_image_loader *l;
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, NULL), EB_OK);
    int64_t order[3][50];
    for (int e = 0; e < 3; e++) {
        int seen[50] = {0}, pos = 0;
        for (int t = 0; t < 7; t++) {
            eb_image_batch b;
            cr_assert_eq(eb_image_loader_next(l, &b, NULL), EB_OK);
            cr_assert_eq(b.epoch, e);
            for (int64_t i = 0; i < b.size; i++) {
                seen[b.indices[i]]++;
                order[e][pos++] = b.indices[i];
                cr_assert_eq(b.labels[i], s.labels[b.indices[i]]);
            }
        }
        cr_assert_eq(pos, 50);
        for (int i = 0; i < 50; i++)
            cr_assert_eq(seen[i], 1, "epoch %d: row %d seen %d times", e, i, seen[i]);
    }
    cr_assert(memcmp(order[0], order[1], sizeof order[0]) != 0, "epochs 0 and 1 have the same order");
    int identity = 1;
    for (int i = 0; i < 50; i++) identity &= order[0][i] == i;
    cr_assert(!identity);
    eb_image_loader_free(l);
    eb_image_set_free(&s);
}

static eb_image_loader_params augmenting_params(bool prefetch) {
    eb_image_loader_params p = eb_image_loader_default_params();
    p.batch_size = 16;
    p.seed = 2024;
    p.prefetch = prefetch;
    p.transforms = eb_image_transforms_ebm(0.1f);
    p.transforms.crop_padding = 2;
    p.transforms.hflip = true;
    return p;
}

/* Same seed ⇒ same batches with the thread or without, and whatever the consumer's timing. */
Test(loader, deterministic_with_and_without_prefetch) {
    eb_image_set s;
    make_u8_set(&s, 70, 3, 8, 8, 10);
    int64_t per = 3 * 8 * 8, count = 13; /* 5 batches per epoch: 2.6 epochs */
    recorded r_sync, r_thread, r_slow;
    eb_image_loader *l;
    eb_image_loader_params p = augmenting_params(false);
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, NULL), EB_OK);
    record(l, count, 16, per, &r_sync, 0);
    eb_image_loader_free(l);
    p = augmenting_params(true);
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, NULL), EB_OK);
    record(l, count, 16, per, &r_thread, 0);
    eb_image_loader_free(l);
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, NULL), EB_OK);
    record(l, count, 16, per, &r_slow, 3000); /* the producer runs ahead while we sleep */
    eb_image_loader_free(l);
    assert_same(&r_sync, 0, &r_thread, 0, count, 16);
    assert_same(&r_sync, 0, &r_slow, 0, count, 16);
    /* and the augmentation did something: batch 0 is not plain normalised pixels */
    int differs = 0;
    for (int64_t k = 0; k < 16 * per; k++) {
        int64_t i = k / per;
        float plain = ((float)s.u8[r_sync.idx[i] * per + k % per] / 255.0f - 0.5f) / 0.5f;
        differs += fabsf(r_sync.x[k] - plain) > 1e-6f;
    }
    cr_assert(differs > 16 * per / 2);
    /* a different seed gives different batches */
    p.seed = 2025;
    recorded r_other;
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, NULL), EB_OK);
    record(l, 1, 16, per, &r_other, 0);
    eb_image_loader_free(l);
    cr_assert(memcmp(r_other.idx, r_sync.idx, 16 * sizeof(int64_t)) != 0);
    free_recorded(&r_sync);
    free_recorded(&r_thread);
    free_recorded(&r_slow);
    free_recorded(&r_other);
    eb_image_set_free(&s);
}

/* A loader moved to a saved tell() continues exactly as the uninterrupted one. */
Test(loader, resume_from_saved_state) {
    eb_image_set s;
    make_u8_set(&s, 45, 1, 6, 6, 3);
    int64_t per = 36, count = 17, cut = 7; /* 3 batches per epoch (16, 16, 13) */
    eb_image_loader_params p = augmenting_params(true);
    eb_image_loader *a, *b;
    recorded full, head, tail;
    cr_assert_eq(eb_image_loader_new(&s, &p, &a, NULL), EB_OK);
    record(a, count, 16, per, &full, 0);
    eb_image_loader_free(a);

    cr_assert_eq(eb_image_loader_new(&s, &p, &a, NULL), EB_OK);
    record(a, cut, 16, per, &head, 0);
    eb_image_loader_state st = eb_image_loader_tell(a);
    cr_assert_eq(st.epoch, 2);
    cr_assert_eq(st.batch, 1);
    eb_image_loader_free(a); /* the "crash" */

    cr_assert_eq(eb_image_loader_new(&s, &p, &b, NULL), EB_OK);
    eb_image_batch junk;
    cr_assert_eq(eb_image_loader_next(b, &junk, NULL), EB_OK); /* a fresh loader, already used */
    cr_assert_eq(eb_image_loader_seek(b, st, NULL), EB_OK);
    record(b, count - cut, 16, per, &tail, 0);
    assert_same(&full, 0, &head, 0, cut, 16);
    assert_same(&full, cut, &tail, 0, count - cut, 16);

    /* seeking back to the start replays epoch 0 (synchronous loader: same answer) */
    eb_image_loader_free(b);
    p.prefetch = false;
    cr_assert_eq(eb_image_loader_new(&s, &p, &b, NULL), EB_OK);
    recorded again;
    record(b, 2, 16, per, &again, 0);
    eb_image_loader_state zero = {0, 0};
    cr_assert_eq(eb_image_loader_seek(b, zero, NULL), EB_OK);
    free_recorded(&again);
    record(b, 2, 16, per, &again, 0);
    assert_same(&full, 0, &again, 0, 2, 16);

    eb_error err = {0};
    eb_image_loader_state bad = {0, 3};
    cr_assert_eq(eb_image_loader_seek(b, bad, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "batch 3") != NULL, "%s", err.message);
    bad.epoch = -1;
    bad.batch = 0;
    cr_assert_eq(eb_image_loader_seek(b, bad, &err), EB_ERR_ARG);
    eb_image_loader_free(b);
    free_recorded(&full);
    free_recorded(&head);
    free_recorded(&tail);
    free_recorded(&again);
    eb_image_set_free(&s);
}

/* The loader and eb_image_set_to_dataset agree bit for bit (same arithmetic). */
Test(loader, agrees_with_to_dataset) {
    eb_image_set s;
    make_u8_set(&s, 9, 3, 4, 4, 2);
    eb_image_loader_params p = eb_image_loader_default_params();
    p.shuffle = false;
    p.batch_size = 9;
    p.transforms = eb_image_transforms_ebm(0.0f);
    p.transforms.mean[1] = 0.3f;
    p.transforms.std[2] = 0.7f;
    eb_image_loader *l;
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, NULL), EB_OK);
    eb_image_batch b;
    cr_assert_eq(eb_image_loader_next(l, &b, NULL), EB_OK);
    eb_dataset d;
    cr_assert_eq(eb_image_set_to_dataset(&s, p.transforms.mean, p.transforms.std, &d, NULL), EB_OK);
    cr_assert_eq(memcmp(d.x, b.x, 9 * 48 * sizeof(float)), 0);
    eb_dataset_free(&d);
    eb_image_loader_free(l);
    eb_image_set_free(&s);
}

Test(loader, f32_sets_and_unlabelled) {
    eb_image_set f;
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    cr_assert_eq(eb_image_ood_constant(5, 1, 4, 4, &rng, &f, NULL), EB_OK);
    eb_image_loader_params p = eb_image_loader_default_params();
    p.shuffle = false;
    p.batch_size = 5;
    p.transforms = eb_image_transforms_ebm(0.0f); /* normalisation does not apply to f32 sets */
    eb_image_loader *l;
    cr_assert_eq(eb_image_loader_new(&f, &p, &l, NULL), EB_OK);
    eb_image_batch b;
    cr_assert_eq(eb_image_loader_next(l, &b, NULL), EB_OK);
    cr_assert(b.labels == NULL);
    cr_assert_eq(memcmp(b.x, f.f32, 5 * 16 * sizeof(float)), 0);
    eb_image_loader_free(l);
    eb_image_set_free(&f);
}

Test(loader, bad_arguments) {
    eb_image_set s;
    make_u8_set(&s, 5, 1, 2, 2, 2);
    eb_image_loader_params p = eb_image_loader_default_params();
    eb_image_loader *l = (eb_image_loader *)&s;
    eb_error err = {0};
    p.batch_size = 0;
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, &err), EB_ERR_ARG);
    cr_assert(l == NULL);
    cr_assert(strstr(err.message, "batch size") != NULL, "%s", err.message);
    p.batch_size = 8;
    p.drop_last = true;
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "drop_last") != NULL, "%s", err.message);
    p.drop_last = false;
    p.transforms.normalize = true;
    p.transforms.std[0] = 0.0f;
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "std[0]") != NULL, "%s", err.message);
    p = eb_image_loader_default_params();
    eb_image_set empty;
    cr_assert_eq(eb_image_set_alloc(0, 1, 2, 2, EB_DTYPE_U8, 0, &empty, NULL), EB_OK);
    cr_assert_eq(eb_image_loader_new(&empty, &p, &l, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "empty") != NULL, "%s", err.message);
    eb_image_set_free(&empty);
    eb_image_set both = s;
    both.f32 = (float *)s.u8; /* never read: rejected first */
    cr_assert_eq(eb_image_loader_new(&both, &p, &l, &err), EB_ERR_ARG);
    /* batch larger than the set without drop_last: one batch of everything */
    p.batch_size = 100;
    cr_assert_eq(eb_image_loader_new(&s, &p, &l, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_image_loader_batches_per_epoch(l), 1);
    eb_image_batch b;
    cr_assert_eq(eb_image_loader_next(l, &b, NULL), EB_OK);
    cr_assert_eq(b.size, 5);
    cr_assert_eq(eb_image_loader_next(NULL, &b, &err), EB_ERR_ARG);
    eb_image_loader_free(l);
    eb_image_loader_free(NULL);
    eb_image_set_free(&s);
}

/* Freeing while the producer is blocked on a full buffer, or right after creation, is clean
 * (ASan/LSan check the rest). */
Test(loader, shutdown_at_any_point) {
    eb_image_set s;
    make_u8_set(&s, 200, 3, 16, 16, 10);
    eb_image_loader_params p = augmenting_params(true);
    for (int rep = 0; rep < 20; rep++) {
        eb_image_loader *l;
        cr_assert_eq(eb_image_loader_new(&s, &p, &l, NULL), EB_OK);
        for (int t = 0; t < rep % 4; t++) {
            eb_image_batch b;
            cr_assert_eq(eb_image_loader_next(l, &b, NULL), EB_OK);
        }
        if (rep % 2) sleep_us(2000);
        eb_image_loader_free(l);
    }
    eb_image_set_free(&s);
}

/* ---- non-natural OOD sets ------------------------------------------------------------------------ */

static void moments(const float *x, int64_t n, double *mean, double *std, float *lo, float *hi) {
    double sum = 0, ss = 0;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int64_t k = 0; k < n; k++) {
        sum += (double)x[k];
        *lo = fminf(*lo, x[k]);
        *hi = fmaxf(*hi, x[k]);
    }
    *mean = sum / (double)n;
    for (int64_t k = 0; k < n; k++) ss += ((double)x[k] - *mean) * ((double)x[k] - *mean);
    *std = sqrt(ss / (double)n);
}

Test(image_ood, noise_alternates_gaussian_and_uniform) {
    eb_image_set s;
    eb_rng rng;
    eb_rng_seed(&rng, 42);
    cr_assert_eq(eb_image_ood_noise(200, 1, 28, 28, &rng, &s, NULL), EB_OK);
    cr_assert(s.f32 && !s.u8 && !s.labels && s.n == 200);
    /* gather the even (Gaussian) and odd (uniform) images */
    int64_t per = 784, half = 100 * per;
    float *g = malloc((size_t)half * sizeof *g), *u = malloc((size_t)half * sizeof *u);
    for (int i = 0; i < 200; i++)
        memcpy((i % 2 ? u : g) + (i / 2) * per, s.f32 + i * per, per * sizeof(float));
    double m, sd;
    float lo, hi;
    moments(g, half, &m, &sd, &lo, &hi);
    cr_assert(fabs(m) < 0.01 && fabs(sd - 1.0) < 0.01, "gaussian mean %g std %g", m, sd);
    cr_assert(lo < -3.0f && hi > 3.0f);
    moments(u, half, &m, &sd, &lo, &hi);
    cr_assert(fabs(m) < 0.01 && fabs(sd - 1.0 / sqrt(3.0)) < 0.01, "uniform mean %g std %g", m, sd);
    cr_assert(lo >= -1.0f && hi < 1.0f);
    free(g);
    free(u);
    eb_image_set_free(&s);
}

Test(image_ood, constant) {
    eb_image_set s;
    eb_rng rng;
    eb_rng_seed(&rng, 42);
    cr_assert_eq(eb_image_ood_constant(500, 3, 4, 5, &rng, &s, NULL), EB_OK);
    float v[500];
    for (int i = 0; i < 500; i++) {
        v[i] = s.f32[i * 60];
        for (int k = 1; k < 60; k++) cr_assert_eq(s.f32[i * 60 + k], v[i], "image %d not constant", i);
    }
    double m, sd;
    float lo, hi;
    moments(v, 500, &m, &sd, &lo, &hi);
    cr_assert(lo >= -1.0f && hi < 1.0f && lo < -0.9f && hi > 0.9f, "range [%g, %g]", (double)lo, (double)hi);
    cr_assert(fabs(sd - 1.0 / sqrt(3.0)) < 0.05, "std %g", sd);
    eb_image_set_free(&s);
}

Test(image_ood, smoothed_noise) {
    for (int kk = 0; kk < 4; kk++) {
        const int k = (int[]){2, 3, 4, 16}[kk];
        eb_image_set s;
        eb_rng rng, replay;
        eb_rng_seed(&rng, 8);
        replay = rng;
        cr_assert_eq(eb_image_ood_smoothed(30, 1, 28, 28, k, &rng, &s, NULL), EB_OK);
        /* = U(−1, 1) noise drawn image by image, then eb_image_smooth (checked against torch above) */
        float noise[784], ref[784];
        for (int i = 0; i < 30; i++) {
            eb_rng_fill_uniform(&replay, noise, 784, -1.0f, 1.0f);
            eb_image_smooth(ref, noise, 1, 1, 28, 28, k);
            cr_assert_eq(memcmp(ref, s.f32 + i * 784, sizeof ref), 0, "k %d image %d", k, i);
        }
        double m, sd;
        float lo, hi;
        moments(s.f32, 30 * 784, &m, &sd, &lo, &hi);
        cr_assert(lo >= -1.0f && hi <= 1.0f);
        /* the mean of k² uniforms has std (1/√3)/k; nearest resizing repeats blocks unevenly, and
         * for k = 16 there is one block per image (30 values): loose bounds */
        double want = 1.0 / sqrt(3.0) / k;
        cr_assert(sd > 0.6 * want && sd < 1.4 * want, "k %d: std %g, expected about %g", k, sd, want);
        if (k == 16)
            for (int i = 0; i < 30; i++)
                for (int p = 1; p < 784; p++) cr_assert_eq(s.f32[i * 784 + p], s.f32[i * 784]);
        eb_image_set_free(&s);
    }
    eb_image_set s;
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_error err = {0};
    cr_assert_eq(eb_image_ood_smoothed(3, 1, 8, 8, 9, &rng, &s, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "pool size 9") != NULL, "%s", err.message);
    cr_assert_eq(eb_image_ood_smoothed(3, 1, 8, 8, 0, &rng, &s, &err), EB_ERR_ARG);
    cr_assert(s.f32 == NULL);
}

Test(image_ood, oodomain_is_unnormalised_pixels) {
    eb_image_set src, out;
    make_u8_set(&src, 4, 1, 5, 5, 10);
    cr_assert_eq(eb_image_ood_oodomain(&src, &out, NULL), EB_OK);
    cr_assert(out.f32 && !out.u8 && !out.labels && out.num_classes == 0);
    for (int k = 0; k < 100; k++) cr_assert_eq(out.f32[k], (float)src.u8[k]);
    eb_error err = {0};
    eb_image_set again;
    cr_assert_eq(eb_image_ood_oodomain(&out, &again, &err), EB_ERR_ARG, "f32 source");
    cr_assert(strstr(err.message, "uint8") != NULL, "%s", err.message);
    eb_image_set_free(&out);
    eb_image_set_free(&src);
}

Test(image_ood, nonnatural_bundle) {
    eb_image_set a[EB_IMAGE_OOD_COUNT], b[EB_IMAGE_OOD_COUNT], c[EB_IMAGE_OOD_COUNT];
    cr_assert_eq(eb_image_ood_nonnatural(10, 1, 28, 28, 5, a, NULL), EB_OK);
    cr_assert_eq(eb_image_ood_nonnatural(10, 1, 28, 28, 5, b, NULL), EB_OK);
    cr_assert_eq(eb_image_ood_nonnatural(10, 1, 28, 28, 6, c, NULL), EB_OK);
    const char *names[EB_IMAGE_OOD_COUNT] = {"noise",   "constant", "smooth2",
                                             "smooth3", "smooth4",  "smooth16"};
    for (int i = 0; i < EB_IMAGE_OOD_COUNT; i++) {
        cr_assert_str_eq(eb_image_ood_names[i], names[i]);
        cr_assert_eq(a[i].n, 10);
        cr_assert_eq(memcmp(a[i].f32, b[i].f32, 10 * 784 * sizeof(float)), 0, "%s: same seed differs",
                     names[i]);
        cr_assert(memcmp(a[i].f32, c[i].f32, 10 * 784 * sizeof(float)) != 0, "%s: seed ignored", names[i]);
        eb_image_set_free(&a[i]);
        eb_image_set_free(&b[i]);
        eb_image_set_free(&c[i]);
    }
    /* 8 × 8 images cannot be pooled with 16: an error, every output zeroed */
    eb_error err = {0};
    cr_assert_eq(eb_image_ood_nonnatural(10, 1, 8, 8, 5, a, &err), EB_ERR_ARG);
    for (int i = 0; i < EB_IMAGE_OOD_COUNT; i++) cr_assert(a[i].f32 == NULL && a[i].n == 0);
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    cr_assert_eq(eb_image_ood_noise(-1, 1, 2, 2, &rng, a, &err), EB_ERR_ARG);
    cr_assert_eq(eb_image_ood_constant(1, 0, 2, 2, &rng, a, &err), EB_ERR_ARG);
}
