/* libFuzzer target: ARFF files (eb_arff_read, then eb_arff_to_dataset with the default class). */
#include <ebood/ebood.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eb_arff a;
    if (eb_arff_read(fuzz_file(data, size, ".arff"), &a, NULL) != EB_OK) return 0;
    eb_dataset d;
    if (eb_arff_to_dataset(&a, NULL, &d, NULL) == EB_OK) eb_dataset_free(&d);
    eb_arff_free(&a);
    return 0;
}
