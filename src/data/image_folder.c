/* Image folders (include/ebood/data.h "image folders"): torchvision's ImageFolder layout (one
 * sub-folder per class) or a flat folder of PNG/JPEG files, read into one u8 set of a common shape. */
#define _DEFAULT_SOURCE /* strdup */
#include "data/render_impl.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILES (1 << 24)
#define MAX_SIDE  4096

typedef struct name_list {
    char **items;
    int n, cap;
} name_list;

static void names_free(name_list *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The sorted visible entries of dir: sub-folders into dirs, everything else into files (either may
 * be NULL to reject that kind). */
static eb_status list_entries(const char *dir, name_list *dirs, name_list *files, eb_error *err) {
    DIR *d = opendir(dir);
    if (!d) return eb_error_set(err, EB_ERR_IO, "%s: cannot open folder", dir);
    eb_status st = EB_OK;
    for (struct dirent *e; !st && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue; /* hidden files, "." and ".." */
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) {
            st = eb_error_set(err, EB_ERR_ARG, "%s/%s: path too long", dir, e->d_name);
            break;
        }
        name_list *l = is_dir(path) ? dirs : files;
        if (!l) {
            st = eb_error_set(err, EB_ERR_FORMAT,
                              "%s: a sub-folder inside a class folder (ImageFolder layout: DIR/CLASS/IMAGE)",
                              path);
            break;
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 64;
            char **grown = l->cap > MAX_FILES ? NULL : realloc(l->items, (size_t)l->cap * sizeof *grown);
            if (!grown) {
                st = eb_error_set(err, EB_ERR_NOMEM, "%s: too many entries", dir);
                break;
            }
            l->items = grown;
        }
        if (!(l->items[l->n] = strdup(e->d_name)))
            st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
        else
            l->n++;
    }
    closedir(d);
    if (dirs && dirs->n) qsort(dirs->items, (size_t)dirs->n, sizeof *dirs->items, compare_names);
    if (files && files->n) qsort(files->items, (size_t)files->n, sizeof *files->items, compare_names);
    return st;
}

/* Writes raster r as c channels of h × w u8 into px (NCHW): gray → RGB copies, RGB → gray by luma;
 * alpha dropped; resized with area-averaging bilinear sampling when the size differs. */
static eb_status convert(const eb__raster *r, int c, int h, int w, uint8_t *px, eb_error *err) {
    bool color = r->c >= 3;
    if (r->w == w && r->h == h && (c == 1) == !color) { /* same shape: the bytes as they are */
        for (int ch = 0; ch < c; ch++)
            for (int64_t i = 0; i < (int64_t)w * h; i++) px[ch * (int64_t)w * h + i] = r->px[i * r->c + ch];
        return EB_OK;
    }
    eb__canvas src;
    eb_status st = eb__canvas_alloc(&src, r->w, r->h, err);
    if (st) return st;
    float *out = malloc((size_t)w * (size_t)h * sizeof *out);
    if (!out) {
        eb__canvas_free(&src);
        return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    }
    eb__warp wp = {.src_cx = r->w / 2.0,
                   .src_cy = r->h / 2.0,
                   .scale = (double)w / r->w,
                   .scale_y = (double)h / r->h,
                   .clamp = true};
    wp.supersample = (int)fmin(8, ceil(fmax(1, fmax(1 / wp.scale, 1 / wp.scale_y))));
    for (int ch = 0; ch < c; ch++) {
        for (int64_t i = 0; i < (int64_t)r->w * r->h; i++) {
            const uint8_t *p = r->px + i * r->c;
            src.px[i] = c == 1 && color ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : p[color ? ch : 0];
        }
        eb__canvas_warp(&src, &wp, out, w, h);
        for (int64_t i = 0; i < (int64_t)w * h; i++)
            px[ch * (int64_t)w * h + i] = (uint8_t)lrintf(fminf(255.0f, fmaxf(0.0f, out[i])));
    }
    free(out);
    eb__canvas_free(&src);
    return EB_OK;
}

/* Appends the path sub/name with class k to paths and labels (grown together). */
static eb_status push_path(name_list *paths, int32_t **labels, const char *sub, const char *name, int k,
                           const char *dir, eb_error *err) {
    if (paths->n == paths->cap) {
        paths->cap = paths->cap ? 2 * paths->cap : 256;
        char **grown =
            paths->cap > MAX_FILES ? NULL : realloc(paths->items, (size_t)paths->cap * sizeof *grown);
        int32_t *lgrown = grown ? realloc(*labels, (size_t)paths->cap * sizeof *lgrown) : NULL;
        if (grown) paths->items = grown;
        if (lgrown) *labels = lgrown;
        if (!grown || !lgrown) return eb_error_set(err, EB_ERR_NOMEM, "%s: too many files", dir);
    }
    size_t len = strlen(sub) + strlen(name) + 2;
    if (!(paths->items[paths->n] = malloc(len))) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    snprintf(paths->items[paths->n], len, "%s/%s", sub, name);
    (*labels)[paths->n++] = k;
    return EB_OK;
}

/* The image files of dir as paths with their class: one sorted sub-folder per class (names into *classes)
 * or the files of dir itself (one class, no names); each folder's files sorted. */
static eb_status collect_paths(const char *dir, name_list *classes, name_list *paths, int32_t **labels,
                               eb_error *err) {
    name_list top = {0};
    eb_status st = list_entries(dir, classes, &top, err);
    if (!st && classes->n && top.n)
        st =
            eb_error_set(err, EB_ERR_FORMAT,
                         "%s: both files (%s) and class folders (%s): use one folder per class or no folders",
                         dir, top.items[0], classes->items[0]);
    const int n_cls = classes->n;
    for (int k = 0; !st && k < (n_cls ? n_cls : 1); k++) {
        char sub[4096];
        name_list files = {0};
        if (n_cls) {
            snprintf(sub, sizeof sub, "%s/%s", dir, classes->items[k]);
            st = list_entries(sub, NULL, &files, err);
        } else {
            snprintf(sub, sizeof sub, "%s", dir);
            files = top;
            memset(&top, 0, sizeof top);
        }
        if (!st && n_cls && files.n == 0)
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: empty class folder", sub);
        for (int i = 0; !st && i < files.n; i++)
            st = push_path(paths, labels, sub, files.items[i], k, dir, err);
        names_free(&files);
    }
    names_free(&top);
    if (!st && paths->n == 0) st = eb_error_set(err, EB_ERR_FORMAT, "%s: no images (PNG or JPEG files)", dir);
    return st;
}

/* Reads and converts the images of paths into out (n_cls classes), image by image; the first fixes what
 * was left open (c, h, w = 0). */
static eb_status read_images(const name_list *paths, int c, int h, int w, int n_cls, eb_image_set *out,
                             eb_error *err) {
    bool first_color = false, channels_from_images = c == 0;
    eb_status st = EB_OK;
    for (int i = 0; !st && i < paths->n; i++) {
        eb__raster r;
        if ((st = eb__raster_read(paths->items[i], &r, err))) break;
        bool color = r.c >= 3;
        if (i == 0) {
            first_color = color;
            if (!c) c = color ? 3 : 1;
            if (!h || !w) h = r.h, w = r.w;
            if (h > MAX_SIDE || w > MAX_SIDE)
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: %d x %d pixels (at most %d a side)",
                                  paths->items[i], r.w, r.h, MAX_SIDE);
            if (!st) st = eb_image_set_alloc(paths->n, c, h, w, EB_DTYPE_U8, n_cls, out, err);
        } else if (channels_from_images && color != first_color) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: %s image, but the first image (%s) is %s",
                              paths->items[i], color ? "a color" : "a grayscale", paths->items[0],
                              first_color ? "color" : "grayscale");
        }
        if (!st) st = convert(&r, c, h, w, out->u8 + (int64_t)i * c * h * w, err);
        eb__raster_free(&r);
    }
    return st;
}

eb_status eb_image_folder_read(const char *dir, int c, int h, int w, eb_image_set *out, char ***class_names,
                               int *n_classes, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (class_names) *class_names = NULL;
    if (n_classes) *n_classes = 0;
    if (c < 0 || c == 2 || c > 3 || h < 0 || w < 0 || h > MAX_SIDE || w > MAX_SIDE)
        return eb_error_set(err, EB_ERR_ARG,
                            "%s: channels must be 0 (from the images), 1 or 3; sizes in [0, %d]", dir,
                            MAX_SIDE);
    name_list classes = {0}, paths = {0};
    int32_t *labels = NULL;
    eb_status st = collect_paths(dir, &classes, &paths, &labels, err);
    if (!st) st = read_images(&paths, c, h, w, classes.n, out, err);
    if (!st && out->labels) memcpy(out->labels, labels, (size_t)paths.n * sizeof *labels);
    if (!st && class_names && classes.n) {
        *class_names = classes.items;
        *n_classes = classes.n;
        memset(&classes, 0, sizeof classes);
    }
    names_free(&classes);
    names_free(&paths);
    free(labels);
    if (st) eb_image_set_free(out);
    return st;
}
