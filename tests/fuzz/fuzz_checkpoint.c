/* libFuzzer target: model checkpoints (eb_model_load); a model that loads also predicts one row. */
#include <ebood/ebood.h>

#include <stdlib.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eb_model *m = NULL;
    if (eb_model_load(fuzz_file(data, size, ".st"), NULL, &m, NULL) != EB_OK) return 0;
    int64_t din = eb_model_in_dim(m), dout = eb_model_out_dim(m), dfeat = eb_model_feature_dim(m);
    if (din <= 4096 && dout <= 4096 && dfeat <= 65536) {
        float *x = calloc((size_t)din, sizeof *x), *logits = malloc((size_t)dout * sizeof *logits),
              *feat = malloc((size_t)dfeat * sizeof *feat);
        eb_model_predict(m, x, 1, 1, logits, feat, NULL);
        free(x);
        free(logits);
        free(feat);
    }
    eb_model_free(m);
    return 0;
}
