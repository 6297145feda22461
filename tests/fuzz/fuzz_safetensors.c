/* libFuzzer target: safetensors files (eb_safetensors_read), every accessor on what loads. */
#include <ebood/ebood.h>
#include <ebood/safetensors.h>

#include <stdlib.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eb_safetensors *st = NULL;
    if (eb_safetensors_read(fuzz_file(data, size, ".safetensors"), &st, NULL) != EB_OK) return 0;
    for (int i = 0; i < eb_safetensors_count(st); i++) {
        const eb_st_tensor *t = eb_safetensors_at(st, i);
        if (eb_safetensors_find(st, t->name) != t) abort();
        if (t->dtype == EB_ST_F32 && t->nbytes <= (1u << 20)) {
            float *dst = malloc(t->nbytes + 4);
            if (eb_safetensors_get_f32(st, t->name, t->ndim, t->shape, dst, NULL) != EB_OK) abort();
            free(dst);
        }
    }
    for (int i = 0; i < eb_safetensors_meta_count(st); i++) {
        const eb_st_meta *m = eb_safetensors_meta_at(st, i);
        if (!eb_safetensors_meta(st, m->key)) abort();
    }
    eb_safetensors_free(st);
    return 0;
}
