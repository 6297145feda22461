/* --aux-data SPEC: the auxiliary outlier pool of `ebood train --objective oe|energy-ft|hopfield-boost` and
 * `ebood bench outliers`, as an eb_image_set (data.h; a tabular pool is a set of c = h = 1, w = dim). */
#include "cli/cli_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Moves rows x[n, dim] (malloc'd; changed in place) into an f32 set of c = h = 1, w = the model's inputs:
 * rows of all of tab's source columns through its recipe (kept columns, z-score), rows of its kept
 * columns z-scored with its mean/std (when standardised), or as they are (tab NULL). */
static eb_status rows_to_set(float *x, int64_t n, int64_t dim, const eb_tabular_split *tab, const char *path,
                             eb_image_set *out, eb_error *err) {
    const float *mean = tab && tab->mean ? tab->mean : NULL, *std = mean ? tab->std : NULL;
    if (tab && tab->keep && tab->dim < tab->n_columns && dim == tab->n_columns) {
        eb_dataset d = {.x = x, .n = n, .dim = dim};
        eb_status st = eb_tabular_split_apply(tab, &d, path, err);
        if (st) return st;
        dim = d.dim;
        mean = std = NULL; /* done */
    }
    eb_status st = eb_image_set_alloc(n, 1, 1, (int)dim, EB_DTYPE_F32, 0, out, err);
    for (int64_t i = 0; !st && i < n * dim; i++) {
        const int64_t c = i % dim;
        out->f32[i] = mean ? (x[i] - mean[c]) / std[c] : x[i];
    }
    return st;
}

static eb_status load_npy(const char *path, const eb_tabular_split *tab, eb_image_set *out, eb_error *err) {
    eb_npy_array a;
    eb_status st = eb_npy_read(path, &a, err);
    if (st) return st;
    const int64_t n = a.ndim >= 1 ? a.shape[0] : 0;
    if (a.ndim == 3 || a.ndim == 4) { /* images: uint8 pixels, or float input-space values */
        const int c = a.ndim == 4 ? (int)a.shape[1] : 1, h = (int)a.shape[a.ndim - 2],
                  w = (int)a.shape[a.ndim - 1];
        if (a.dtype != EB_DTYPE_U8 && a.dtype != EB_DTYPE_F32) {
            st =
                eb_error_set(err, EB_ERR_FORMAT, "%s: images must be uint8 pixels or float32 values (got %s)",
                             path, eb_dtype_name(a.dtype));
        } else {
            st = eb_image_set_alloc(n, c, h, w, a.dtype, 0, out, err);
            if (!st)
                memcpy(a.dtype == EB_DTYPE_U8 ? (void *)out->u8 : (void *)out->f32, a.data,
                       (size_t)eb_npy_array_numel(&a) * eb_dtype_size(a.dtype));
            if (!st && out->f32)
                for (int64_t i = 0; i < eb_npy_array_numel(&a) && !st; i++)
                    if (!isfinite(out->f32[i]))
                        st = eb_error_set(err, EB_ERR_NUMERIC, "%s: value %lld is not finite", path,
                                          (long long)i);
        }
        eb_npy_array_free(&a);
        return st;
    }
    const int ndim = a.ndim;
    eb_npy_array_free(&a);
    if (ndim != 2)
        return eb_error_set(err, EB_ERR_SHAPE, "%s: expected rows [n, dim] or images [n, (c,) h, w]", path);
    float *x = NULL;
    int64_t shape[8];
    if ((st = eb_npy_read_f32(path, &x, 2, shape, NULL, err))) return st;
    st = rows_to_set(x, shape[0], shape[1], tab, path, out, err);
    free(x);
    return st;
}

eb_status cli_load_aux(const char *spec, int c, int h, int w, int64_t want_dim, const eb_tabular_split *tab,
                       eb_image_set *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    eb_status st;
    if (cli_is_image_spec(spec)) {
        cli_images im;
        if ((st = cli_load_images_shaped(spec, 0, c, h, w, &im, err))) return st;
        eb_image_set *s = im.train.n > 0 ? &im.train : &im.test;
        *out = *s;
        memset(s, 0, sizeof *s);
        cli_images_free(&im);
    } else if (has_suffix(spec, ".npy")) {
        st = load_npy(spec, tab, out, err);
    } else if (has_suffix(spec, ".csv")) {
        eb_dataset d;
        if (!(st = eb_csv_read_dataset(spec, EB_CSV_NO_LABEL, &d, err))) {
            st = rows_to_set(d.x, d.n, d.dim, tab, spec, out, err);
            eb_dataset_free(&d);
        }
    } else {
        st = eb_idx_read_images(spec, out, err);
    }
    if (!st && out->n < 1) st = eb_error_set(err, EB_ERR_ARG, "--aux-data %s: no samples", spec);
    if (!st && eb_image_set_image_size(out) != want_dim)
        st = eb_error_set(
            err, EB_ERR_SHAPE, "--aux-data %s: %d x %d x %d = %lld values per sample, the model takes %lld",
            spec, out->c, out->h, out->w, (long long)eb_image_set_image_size(out), (long long)want_dim);
    if (st) eb_image_set_free(out);
    return st;
}
