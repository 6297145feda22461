/* Image transforms on float NCHW batches, in place, with an explicit eb_rng: per-channel
 * normalisation, random crop with zero padding, horizontal flip, Gaussian input noise, the
 * average-pool + nearest-upsample smoothing of the EBM paper's Experiment 5, and the per-image
 * pipeline the loader runs. */
#include "data/image_crop_impl.h"

#include <math.h>
#include <string.h>

void eb_image_normalize(float *x, int64_t n, int c, int64_t hw, const float *mean, const float *std) {
    for (int64_t i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            float *p = x + (i * c + ch) * hw;
            const float m = mean[ch], s = std[ch];
            for (int64_t k = 0; k < hw; k++) p[k] = (p[k] - m) / s;
        }
}

/* Shifts one h × w plane by (dy, dx) in place: out[y][x] = in[y + dy][x + dx], 0 outside.
 * Rows are visited so that a source row is read before it is overwritten (ascending when the
 * source lies below, dy ≥ 0; descending otherwise); memmove handles the overlap within a row. */
static void shift_plane(float *p, int h, int w, int dy, int dx) {
    int adx = dx < 0 ? -dx : dx;
    for (int t = 0; t < h; t++) {
        int y = dy >= 0 ? t : h - 1 - t;
        int sy = y + dy;
        float *row = p + (int64_t)y * w;
        if (sy < 0 || sy >= h || adx >= w) {
            memset(row, 0, (size_t)w * sizeof *row);
            continue;
        }
        const float *src = p + (int64_t)sy * w;
        size_t keep = (size_t)(w - adx);
        if (dx >= 0) { /* out[x] = src[x + dx] for x < w − dx */
            memmove(row, src + dx, keep * sizeof *row);
            memset(row + keep, 0, (size_t)adx * sizeof *row);
        } else { /* out[x] = src[x − |dx|] for x ≥ |dx| */
            memmove(row + adx, src, keep * sizeof *row);
            memset(row, 0, (size_t)adx * sizeof *row);
        }
    }
}

/* One image's crop: offsets oy then ox uniform in [0, 2·pad], shift by (oy − pad, ox − pad). */
static void crop_one(float *img, int c, int h, int w, int pad, eb_rng *rng) {
    int oy = (int)eb_rng_below(rng, (uint64_t)(2 * pad + 1));
    int ox = (int)eb_rng_below(rng, (uint64_t)(2 * pad + 1));
    if (oy == pad && ox == pad) return;
    for (int ch = 0; ch < c; ch++) shift_plane(img + (int64_t)ch * h * w, h, w, oy - pad, ox - pad);
}

static void flip_one(float *img, int c, int h, int w, eb_rng *rng) {
    if (!(eb_rng_uniform(rng) < 0.5)) return;
    for (int64_t r = 0; r < (int64_t)c * h; r++) {
        float *row = img + r * w;
        for (int a = 0, b = w - 1; a < b; a++, b--) {
            float t = row[a];
            row[a] = row[b];
            row[b] = t;
        }
    }
}

void eb_image_random_crop(float *x, int64_t n, int c, int h, int w, int pad, eb_rng *rng) {
    if (pad <= 0) return;
    for (int64_t i = 0; i < n; i++) crop_one(x + i * c * h * w, c, h, w, pad, rng);
}

void eb_image_random_hflip(float *x, int64_t n, int c, int h, int w, eb_rng *rng) {
    for (int64_t i = 0; i < n; i++) flip_one(x + i * c * h * w, c, h, w, rng);
}

void eb_image_add_noise(float *x, int64_t count, float sigma, eb_rng *rng) {
    if (!(sigma > 0.0f)) return;
    for (int64_t k = 0; k < count; k++) x[k] += sigma * (float)eb_rng_normal(rng);
}

void eb_image_smooth(float *out, const float *in, int64_t n, int c, int h, int w, int k) {
    const int hp = h / k, wp = w / k; /* floor: partial windows at the bottom/right are dropped */
    const float inv = 1.0f / (float)(k * k);
    for (int64_t plane = 0; plane < n * c; plane++) {
        const float *src = in + plane * h * w;
        float *dst = out + plane * h * w;
        /* block means into dst[0 .. hp·wp) */
        for (int py = 0; py < hp; py++)
            for (int px = 0; px < wp; px++) {
                float s = 0.0f;
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++) s += src[(int64_t)(py * k + a) * w + px * k + b];
                dst[py * wp + px] = s * inv;
            }
        /* nearest upsampling in place, last pixel first: the source index ⌊y·hp/h⌋·wp + ⌊x·wp/w⌋
         * never exceeds the destination index y·w + x, so it is read before it is overwritten */
        for (int y = h - 1; y >= 0; y--) {
            int64_t py = (int64_t)y * hp / h;
            for (int x = w - 1; x >= 0; x--) dst[(int64_t)y * w + x] = dst[py * wp + (int64_t)x * wp / w];
        }
    }
}

eb_image_transforms eb_image_transforms_default(void) {
    eb_image_transforms t;
    memset(&t, 0, sizeof t);
    for (int ch = 0; ch < EB_IMAGE_MAX_CHANNELS; ch++) t.std[ch] = 1.0f;
    return t;
}

eb_image_transforms eb_image_transforms_ebm(float noise_std) {
    eb_image_transforms t = eb_image_transforms_default();
    t.normalize = true;
    for (int ch = 0; ch < EB_IMAGE_MAX_CHANNELS; ch++) t.mean[ch] = t.std[ch] = 0.5f;
    t.noise_std = noise_std;
    return t;
}

eb_status eb_image_transforms_check(const eb_image_transforms *t, int c, eb_error *err) {
    if (c < 1 || c > EB_IMAGE_MAX_CHANNELS)
        return eb_error_set(err, EB_ERR_ARG, "transforms: %d channels outside [1, %d]", c,
                            EB_IMAGE_MAX_CHANNELS);
    if (t->normalize)
        for (int ch = 0; ch < c; ch++) {
            if (!isfinite(t->mean[ch]))
                return eb_error_set(err, EB_ERR_ARG, "transforms: mean[%d] = %g is not finite", ch,
                                    (double)t->mean[ch]);
            if (!isfinite(t->std[ch]) || !(t->std[ch] > 0.0f))
                return eb_error_set(err, EB_ERR_ARG, "transforms: std[%d] = %g must be finite and > 0", ch,
                                    (double)t->std[ch]);
        }
    if (t->crop_padding < 0 || t->crop_padding > 1024)
        return eb_error_set(err, EB_ERR_ARG, "transforms: crop_padding %d outside [0, 1024]",
                            t->crop_padding);
    if (!isfinite(t->noise_std) || t->noise_std < 0.0f)
        return eb_error_set(err, EB_ERR_ARG, "transforms: noise_std %g must be finite and >= 0",
                            (double)t->noise_std);
    return EB_OK;
}

void eb_image_transforms_apply(const eb_image_transforms *t, const eb_image_set *set, const int64_t *rows,
                               int64_t n, float *out, eb_rng *rng) {
    const int c = set->c, h = set->h, w = set->w;
    const int64_t per = (int64_t)c * h * w;
    const int64_t hw = (int64_t)h * w;
    for (int64_t i = 0; i < n; i++) {
        float *img = out + i * per;
        if (t->resized_crop) { /* RandomResizedCrop(scale (0.08, 1)) read straight from the stored image */
            int top, left, ch, cw;
            eb__image_crop_window(0.08f, 1.0f, h, w, rng, &top, &left, &ch, &cw);
            for (int k = 0; k < c; k++)
                eb__image_resize_window(img + k * hw, set->u8 ? NULL : set->f32 + rows[i] * per + k * hw,
                                        set->u8 ? set->u8 + rows[i] * per + k * hw : NULL, w, top, left, ch,
                                        cw, h, w);
        } else if (set->u8) {
            const uint8_t *src = set->u8 + rows[i] * per;
            for (int64_t k = 0; k < per; k++) img[k] = (float)src[k] / 255.0f;
        } else {
            memcpy(img, set->f32 + rows[i] * per, (size_t)per * sizeof *img);
        }
        if (t->crop_padding > 0) crop_one(img, c, h, w, t->crop_padding, rng);
        if (t->hflip) flip_one(img, c, h, w, rng);
        if (set->u8 && t->normalize) eb_image_normalize(img, 1, c, (int64_t)h * w, t->mean, t->std);
    }
    eb_image_add_noise(out, n * per, t->noise_std, rng);
}
