/* libFuzzer target: the image decoders of image folders and rendered sets — PNG (libpng), JPEG
 * (libjpeg-turbo), by content (eb__raster_read), and GIMP .pat patterns — and the image-folder reader
 * (eb_image_folder_read) on a folder holding the input, at its own shape and converted to a shape
 * derived from the input's size (gray/RGB, 1–13 × 1–17: the channel conversion and the resampling). */
#include <ebood/ebood.h>
#include <string.h>
#include <sys/stat.h>

#include "data/render_impl.h"
#include "fuzz_util.h"

static char folder[600], folder_file[700];
static void remove_folder(void) {
    remove(folder_file);
    rmdir(folder);
}

/* A folder holding one file, the input (written again for every input). */
static const char *fuzz_folder(const uint8_t *data, size_t size) {
    if (!folder[0]) {
        snprintf(folder, sizeof folder, "%s.d", fuzz_path);
        snprintf(folder_file, sizeof folder_file, "%s/image", folder);
        if (mkdir(folder, 0700) != 0) abort();
        atexit(remove_folder);
    }
    FILE *fp = fopen(folder_file, "wb");
    if (!fp) abort();
    if (size && fwrite(data, 1, size, fp) != size) abort();
    if (fclose(fp) != 0) abort();
    return folder;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".img");
    eb__raster r = {0};
    if (eb__raster_read(path, &r, NULL) == EB_OK) {
        eb__canvas c = {0};
        if (eb__raster_to_canvas(&r, &c, NULL) == EB_OK) eb__canvas_free(&c);
        eb__raster_free(&r);
    }
    if (eb__gimp_pattern_read(path, &r, NULL) == EB_OK) eb__raster_free(&r);
    const char *dir = fuzz_folder(data, size);
    const int shapes[2][3] = {{0, 0, 0}, {size % 2 ? 3 : 1, 1 + (int)(size % 13), 1 + (int)(size / 13 % 17)}};
    for (int k = 0; k < 2; k++) {
        eb_image_set s;
        if (eb_image_folder_read(dir, shapes[k][0], shapes[k][1], shapes[k][2], &s, NULL, NULL, NULL) ==
            EB_OK)
            eb_image_set_free(&s);
    }
    return 0;
}
