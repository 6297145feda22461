/* libFuzzer target: the image decoders of image folders and rendered sets — PNG (libpng), JPEG
 * (libjpeg-turbo), by content (eb__raster_read), and GIMP .pat patterns. */
#include <ebood/ebood.h>

#include "data/render_impl.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".img");
    eb__raster r = {0};
    if (eb__raster_read(path, &r, NULL) == EB_OK) {
        eb__canvas c = {0};
        if (eb__raster_to_canvas(&r, &c, NULL) == EB_OK) eb__canvas_free(&c);
        eb__raster_free(&r);
    }
    if (eb__gimp_pattern_read(path, &r, NULL) == EB_OK) eb__raster_free(&r);
    return 0;
}
