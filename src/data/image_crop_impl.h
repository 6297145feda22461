/* Random resized crop (torchvision RandomResizedCrop), shared by the SimCLR augmentation
 * (image_augment.c) and the loader's per-image transforms (image_transforms.c). */
#ifndef EBOOD_IMAGE_CROP_IMPL_H
#define EBOOD_IMAGE_CROP_IMPL_H

#include <ebood/data.h>

/* The window (top, left, ch, cw) of RandomResizedCrop.get_params: area fraction ~ U(scale_min,
 * scale_max), log aspect ~ U(log ¾, log 4⁄3), 10 tries, else the whole image. */
void eb__image_crop_window(float scale_min, float scale_max, int h, int w, eb_rng *rng, int *top, int *left,
                           int *ch, int *cw);
/* Bilinear (align_corners = False) resize of that window of one plane of width w_in to h × w. The input is
 * in_f32, or in_u8 read as pixel/255 (exactly one non-NULL); out may not alias it. */
void eb__image_resize_window(float *out, const float *in_f32, const uint8_t *in_u8, int w_in, int top,
                             int left, int ch, int cw, int h, int w);

#endif
