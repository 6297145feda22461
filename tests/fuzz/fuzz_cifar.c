/* libFuzzer target: CIFAR binary batches, read as CIFAR-10 and as CIFAR-100 (fine labels). */
#include <ebood/ebood.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".bin");
    const eb_cifar_kind kinds[2] = {EB_CIFAR10, EB_CIFAR100_FINE};
    for (int k = 0; k < 2; k++) {
        eb_image_set s;
        if (eb_cifar_read(&path, 1, kinds[k], &s, NULL) == EB_OK) eb_image_set_free(&s);
    }
    return 0;
}
