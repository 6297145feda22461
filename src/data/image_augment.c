/* SimCLR-style augmentation for two contrastive views (CIDER / HamOS; specs §3): random resized crop,
 * horizontal flip, brightness/contrast jitter, random grayscale — torchvision's definitions, in pixel
 * space, on float NCHW images (see data.h). */
#include "data/image_crop_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_image_augment eb_image_augment_simclr(void) {
    return (eb_image_augment){0.2f, 1.0f, 0.8f, 0.4f, 0.4f, 0.2f};
}

static float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

/* torchvision RandomResizedCrop.get_params (ratio (¾, 4⁄3)): the window (top, left, ch, cw). */
void eb__image_crop_window(float scale_min, float scale_max, int h, int w, eb_rng *rng, int *top, int *left,
                           int *ch, int *cw) {
    double area = (double)h * w, lr0 = log(3.0 / 4.0), lr1 = log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * eb_rng_uniform_range(rng, (double)scale_min, (double)scale_max);
        double aspect = exp(eb_rng_uniform_range(rng, lr0, lr1));
        int tw = (int)lround(sqrt(target * aspect)), th = (int)lround(sqrt(target / aspect));
        if (tw > 0 && tw <= w && th > 0 && th <= h) {
            *top = (int)eb_rng_below(rng, (uint64_t)(h - th + 1));
            *left = (int)eb_rng_below(rng, (uint64_t)(w - tw + 1));
            *ch = th;
            *cw = tw;
            return;
        }
    }
    *top = *left = 0; /* fallback: the whole image (its ratio lies within [¾, 4⁄3] for square images) */
    *ch = h;
    *cw = w;
}

/* Bilinear resize (align_corners = False) of the window of one plane, f32 or u8 (read as pixel/255:
 * exactly one of in_f32, in_u8 is non-NULL), to h × w; out may not alias the input. */
void eb__image_resize_window(float *out, const float *in_f32, const uint8_t *in_u8, int w_in, int top,
                             int left, int ch, int cw, int h, int w) {
#define PIX(k) (in_u8 ? (float)in_u8[k] / 255.0f : in_f32[k])
    for (int y = 0; y < h; y++) {
        double sy = ((double)y + 0.5) * ch / h - 0.5;
        if (sy < 0) sy = 0;
        int y0 = (int)sy, y1 = y0 + 1 < ch ? y0 + 1 : ch - 1;
        float ly = (float)(sy - y0);
        for (int x = 0; x < w; x++) {
            double sx = ((double)x + 0.5) * cw / w - 0.5;
            if (sx < 0) sx = 0;
            int x0 = (int)sx, x1 = x0 + 1 < cw ? x0 + 1 : cw - 1;
            float lx = (float)(sx - x0);
            const int64_t r0 = (int64_t)(top + y0) * w_in + left, r1 = (int64_t)(top + y1) * w_in + left;
            float v0 = PIX(r0 + x0) + lx * (PIX(r0 + x1) - PIX(r0 + x0)),
                  v1 = PIX(r1 + x0) + lx * (PIX(r1 + x1) - PIX(r1 + x0));
            out[(int64_t)y * w + x] = v0 + ly * (v1 - v0);
        }
    }
#undef PIX
}

/* The grayscale value of pixel k (ITU-R 601 weights for colour, the pixel itself for one channel). */
static float gray_at(const float *img, int c, int64_t hw, int64_t k) {
    if (c < 3) return img[k];
    return 0.299f * img[k] + 0.587f * img[hw + k] + 0.114f * img[2 * hw + k];
}

static void brightness(float *img, int c, int64_t hw, float b) {
    for (int64_t k = 0; k < c * hw; k++) img[k] = clamp01(b * img[k]);
}

static void contrast(float *img, int c, int64_t hw, float f) {
    double mean = 0.0;
    for (int64_t k = 0; k < hw; k++) mean += (double)gray_at(img, c, hw, k);
    float blend = (1.0f - f) * (float)(mean / (double)hw);
    for (int64_t k = 0; k < c * hw; k++) img[k] = clamp01(f * img[k] + blend);
}

static void augment_one(const eb_image_augment *a, float *img, float *scratch, int c, int h, int w,
                        eb_rng *rng) {
    int64_t hw = (int64_t)h * w;
    int top, left, ch, cw;
    eb__image_crop_window(a->scale_min, a->scale_max, h, w, rng, &top, &left, &ch, &cw);
    memcpy(scratch, img, (size_t)(c * hw) * sizeof *img);
    for (int k = 0; k < c; k++)
        eb__image_resize_window(img + k * hw, scratch + k * hw, NULL, w, top, left, ch, cw, h, w);
    eb_image_random_hflip(img, 1, c, h, w, rng);
    if (eb_rng_uniform(rng) < (double)a->jitter_prob) {
        float b = (float)eb_rng_uniform_range(rng, fmax(0.0, 1.0 - (double)a->brightness),
                                              1.0 + (double)a->brightness);
        float f =
            (float)eb_rng_uniform_range(rng, fmax(0.0, 1.0 - (double)a->contrast), 1.0 + (double)a->contrast);
        if (eb_rng_uniform(rng) < 0.5) { /* torchvision applies the jitters in a random order */
            brightness(img, c, hw, b);
            contrast(img, c, hw, f);
        } else {
            contrast(img, c, hw, f);
            brightness(img, c, hw, b);
        }
    }
    if (c == 3 && eb_rng_uniform(rng) < (double)a->gray_prob)
        for (int64_t k = 0; k < hw; k++) img[k] = img[hw + k] = img[2 * hw + k] = gray_at(img, c, hw, k);
}

eb_status eb_image_augment_apply(const eb_image_augment *a, float *x, int64_t n, int c, int h, int w,
                                 const float *mean, const float *std, eb_rng *rng, eb_error *err) {
    int64_t hw = (int64_t)h * w, size = c * hw;
    float scratch[EB_IMAGE_MAX_CHANNELS * 64 * 64], *buf = scratch;
    float *heap = NULL;
    if (size > (int64_t)(sizeof scratch / sizeof *scratch)) {
        heap = malloc((size_t)size * sizeof *heap);
        if (!heap) return eb_error_set(err, EB_ERR_NOMEM, "augment: out of memory");
        buf = heap;
    }
    for (int64_t i = 0; i < n; i++) {
        float *img = x + i * size;
        for (int k = 0; mean && k < c; k++)
            for (int64_t p = 0; p < hw; p++) img[k * hw + p] = img[k * hw + p] * std[k] + mean[k];
        augment_one(a, img, buf, c, h, w, rng);
        for (int k = 0; mean && k < c; k++)
            for (int64_t p = 0; p < hw; p++) img[k * hw + p] = (img[k * hw + p] - mean[k]) / std[k];
    }
    free(heap);
    return EB_OK;
}
