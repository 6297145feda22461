/* Non-natural OOD image sets of the EBM paper (Elflein et al., appendix D and Experiment 5 of
 * appendix A.1), generated in input space — the space after normalisation with mean = std = 0.5,
 * where the ID pixels [0, 255] lie in [−1, 1]:
 *   Noise     half the images N(0, 1) per value, half U(−1, 1) per value (alternating);
 *   Constant  one U(−1, 1) scalar per image;
 *   Smoothed  U(−1, 1) per value (= uniform pixel intensities, normalised), average-pooled with
 *             kernel = stride = k and resized back with nearest neighbours (k = 2, 3, 4, 16);
 *   OODomain  the raw pixels 0–255 of a natural set, not normalised ("_unscaled" in its code). */
#include <ebood/data.h>

#include <string.h>

static eb_status check_sizes(const char *what, int64_t n, int c, int h, int w, const eb_rng *rng,
                             eb_image_set *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 0 || c < 1 || c > EB_IMAGE_MAX_CHANNELS || h < 1 || w < 1)
        return eb_error_set(err, EB_ERR_ARG, "%s: invalid size n=%lld, %d x %d x %d", what, (long long)n, c,
                            h, w);
    if (!rng) return eb_error_set(err, EB_ERR_ARG, "%s: rng is NULL", what);
    return EB_OK;
}

eb_status eb_image_ood_noise(int64_t n, int c, int h, int w, eb_rng *rng, eb_image_set *out, eb_error *err) {
    eb_status st = check_sizes("eb_image_ood_noise", n, c, h, w, rng, out, err);
    if (!st) st = eb_image_set_alloc(n, c, h, w, EB_DTYPE_F32, 0, out, err);
    if (st) return st;
    int64_t per = eb_image_set_image_size(out);
    for (int64_t i = 0; i < n; i++) {
        float *img = out->f32 + i * per;
        if (i % 2 == 0)
            eb_rng_fill_normal(rng, img, per, 0.0f, 1.0f);
        else
            eb_rng_fill_uniform(rng, img, per, -1.0f, 1.0f);
    }
    return EB_OK;
}

eb_status eb_image_ood_constant(int64_t n, int c, int h, int w, eb_rng *rng, eb_image_set *out,
                                eb_error *err) {
    eb_status st = check_sizes("eb_image_ood_constant", n, c, h, w, rng, out, err);
    if (!st) st = eb_image_set_alloc(n, c, h, w, EB_DTYPE_F32, 0, out, err);
    if (st) return st;
    int64_t per = eb_image_set_image_size(out);
    for (int64_t i = 0; i < n; i++) {
        float v = (float)eb_rng_uniform_range(rng, -1.0, 1.0);
        for (int64_t k = 0; k < per; k++) out->f32[i * per + k] = v;
    }
    return EB_OK;
}

eb_status eb_image_ood_smoothed(int64_t n, int c, int h, int w, int k, eb_rng *rng, eb_image_set *out,
                                eb_error *err) {
    eb_status st = check_sizes("eb_image_ood_smoothed", n, c, h, w, rng, out, err);
    if (st) return st;
    if (k < 1 || k > h || k > w)
        return eb_error_set(err, EB_ERR_ARG, "eb_image_ood_smoothed: pool size %d outside [1, min(%d, %d)]",
                            k, h, w);
    if ((st = eb_image_set_alloc(n, c, h, w, EB_DTYPE_F32, 0, out, err))) return st;
    int64_t per = eb_image_set_image_size(out);
    float *noise = eb_alloc(NULL, (size_t)per * sizeof *noise);
    if (!noise) {
        eb_image_set_free(out);
        return eb_error_set(err, EB_ERR_NOMEM, "eb_image_ood_smoothed: out of memory");
    }
    for (int64_t i = 0; i < n; i++) { /* image by image: one image of scratch */
        eb_rng_fill_uniform(rng, noise, per, -1.0f, 1.0f);
        eb_image_smooth(out->f32 + i * per, noise, 1, c, h, w, k);
    }
    eb_free(NULL, noise);
    return EB_OK;
}

eb_status eb_image_ood_oodomain(const eb_image_set *src, eb_image_set *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (!src || !src->u8)
        return eb_error_set(err, EB_ERR_ARG,
                            "eb_image_ood_oodomain: the source must be a set of raw uint8 pixels");
    eb_status st = eb_image_set_alloc(src->n, src->c, src->h, src->w, EB_DTYPE_F32, 0, out, err);
    if (st) return st;
    int64_t count = src->n * eb_image_set_image_size(src);
    for (int64_t k = 0; k < count; k++) out->f32[k] = (float)src->u8[k];
    return EB_OK;
}

const char *const eb_image_ood_names[EB_IMAGE_OOD_COUNT] = {"noise",   "constant", "smooth2",
                                                            "smooth3", "smooth4",  "smooth16"};

eb_status eb_image_ood_nonnatural(int64_t n, int c, int h, int w, uint64_t seed,
                                  eb_image_set out[EB_IMAGE_OOD_COUNT], eb_error *err) {
    static const int pools[4] = {2, 3, 4, 16};
    for (int i = 0; i < EB_IMAGE_OOD_COUNT; i++) memset(&out[i], 0, sizeof out[i]);
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_status st = eb_image_ood_noise(n, c, h, w, &rng, &out[0], err);
    if (!st) st = eb_image_ood_constant(n, c, h, w, &rng, &out[1], err);
    for (int j = 0; j < 4 && !st; j++)
        st = eb_image_ood_smoothed(n, c, h, w, pools[j], &rng, &out[2 + j], err);
    if (st)
        for (int i = 0; i < EB_IMAGE_OOD_COUNT; i++) eb_image_set_free(&out[i]);
    return st;
}
