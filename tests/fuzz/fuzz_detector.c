/* libFuzzer target: detector files (eb_detector_load); a detector that loads and scores from
 * features and/or logits alone scores two rows. */
#include <ebood/ebood.h>

#include <stdlib.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eb_detector *d = NULL;
    if (eb_detector_load(fuzz_file(data, size, ".st"), &d, NULL) != EB_OK) return 0;
    const int64_t dim = eb_detector_dim(d), n_classes = eb_detector_n_classes(d);
    unsigned needs = eb_detector_score_needs(d);
    if (!(needs & (EB_NEEDS_INPUTS | EB_NEEDS_MODEL)) && dim <= 4096 && n_classes <= 4096) {
        float *feat = calloc((size_t)(2 * (dim > 0 ? dim : 1)), sizeof *feat);
        float *logits = calloc((size_t)(2 * (n_classes > 0 ? n_classes : 1)), sizeof *logits);
        float scores[2];
        eb_detector_data x = {.n = 2, .features = feat, .dim = dim, .logits = logits, .n_classes = n_classes};
        eb_detector_score(d, &x, scores, NULL);
        free(feat);
        free(logits);
    }
    eb_detector_free(d);
    return 0;
}
