/* libFuzzer target: CSV tables (eb_csv_read_dataset), labelled by the last column and unlabelled. */
#include <ebood/ebood.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".csv");
    eb_dataset d;
    if (eb_csv_read_dataset(path, -1, &d, NULL) == EB_OK) eb_dataset_free(&d);
    if (eb_csv_read_dataset(path, EB_CSV_NO_LABEL, &d, NULL) == EB_OK) eb_dataset_free(&d);
    return 0;
}
