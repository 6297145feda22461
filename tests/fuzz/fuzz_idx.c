/* libFuzzer target: IDX files, plain or gzip (by content): images, labels and the header-only
 * shape reader. */
#include <ebood/ebood.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".idx");
    eb_image_set s;
    if (eb_idx_read_images(path, &s, NULL) == EB_OK) eb_image_set_free(&s);
    int32_t *labels = NULL;
    int64_t n = 0;
    if (eb_idx_read_labels(path, &labels, &n, NULL) == EB_OK) eb_free(NULL, labels);
    int h = 0, w = 0;
    eb_idx_read_image_shape(path, &n, &h, &w, NULL);
    return 0;
}
