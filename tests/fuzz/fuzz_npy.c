/* libFuzzer target: NPY arrays (eb_npy_read, and the float conversion of eb_npy_read_f32). */
#include <ebood/ebood.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".npy");
    eb_npy_array a;
    if (eb_npy_read(path, &a, NULL) == EB_OK) eb_npy_array_free(&a);
    float *f = NULL;
    int64_t shape[8];
    int ndim = 0;
    if (eb_npy_read_f32(path, &f, 0, shape, &ndim, NULL) == EB_OK) free(f);
    return 0;
}
