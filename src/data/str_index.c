/* The string → id hash index of the text readers (str_index_impl.h). */
#include "data/str_index_impl.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot holding key, or the empty slot where it would go (capacity > 0). */
static size_t slot_of(const eb__str_index *ix, const char *key) {
    size_t k = (size_t)hash_str(key) & ix->mask;
    while (ix->keys[k] && strcmp(ix->keys[k], key) != 0) k = (k + 1) & ix->mask;
    return k;
}

int32_t eb__str_index_find(const eb__str_index *ix, const char *key) {
    if (!ix->keys) return -1;
    size_t k = slot_of(ix, key);
    return ix->keys[k] ? ix->ids[k] : -1;
}

int eb__str_index_add(eb__str_index *ix, const char *key, int32_t id) {
    if (!ix->keys || 2 * (ix->count + 1) > ix->mask + 1) {
        size_t cap = ix->keys ? 2 * (ix->mask + 1) : 16;
        eb__str_index grown = {calloc(cap, sizeof *grown.keys), malloc(cap * sizeof *grown.ids), cap - 1, 0};
        if (!grown.keys || !grown.ids) {
            eb__str_index_free(&grown);
            return -1;
        }
        for (size_t i = 0; ix->keys && i <= ix->mask; i++)
            if (ix->keys[i]) {
                size_t k = slot_of(&grown, ix->keys[i]);
                grown.keys[k] = ix->keys[i];
                grown.ids[k] = ix->ids[i];
            }
        grown.count = ix->count;
        eb__str_index_free(ix);
        *ix = grown;
    }
    size_t k = slot_of(ix, key);
    ix->keys[k] = key;
    ix->ids[k] = id;
    ix->count++;
    return 0;
}

void eb__str_index_free(eb__str_index *ix) {
    free(ix->keys);
    free(ix->ids);
    memset(ix, 0, sizeof *ix);
}
