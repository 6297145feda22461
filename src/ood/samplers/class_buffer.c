/* Class-conditional FIFO buffers of detached unit embeddings (004_6bc3f0c56840d9ea.txt App. D.1: "a
 * class-conditional dynamic buffer of ID feature embeddings … eliminating the oldest ones"; specs §3:
 * 1000 rows per class). HamOS's k-NN potential and vMF KDE read them. */
#include <ebood/hamos.h>

#include <stdlib.h>
#include <string.h>

eb_status eb_class_buffer_init(eb_class_buffer *b, int64_t n_classes, int64_t capacity, int64_t dim,
                               eb_error *err) {
    memset(b, 0, sizeof *b);
    if (n_classes < 1 || capacity < 1 || dim < 1 || n_classes > (1 << 20) || capacity > (1 << 24) ||
        dim > (1 << 16) || n_classes * capacity * dim > ((int64_t)1 << 31))
        return eb_error_set(err, EB_ERR_ARG, "class buffer: bad sizes %lld classes × %lld rows × %lld dims",
                            (long long)n_classes, (long long)capacity, (long long)dim);
    b->data = calloc((size_t)(n_classes * capacity * dim), sizeof(float));
    b->count = calloc((size_t)n_classes, sizeof(int64_t));
    b->next = calloc((size_t)n_classes, sizeof(int64_t));
    if (!b->data || !b->count || !b->next) {
        eb_class_buffer_free(b);
        return eb_error_set(err, EB_ERR_NOMEM, "class buffer: out of memory");
    }
    b->n_classes = n_classes;
    b->capacity = capacity;
    b->dim = dim;
    return EB_OK;
}

void eb_class_buffer_free(eb_class_buffer *b) {
    if (!b) return;
    free(b->data);
    free(b->count);
    free(b->next);
    memset(b, 0, sizeof *b);
}

eb_status eb_class_buffer_push(eb_class_buffer *b, const float *z, const int32_t *labels, int64_t n,
                               eb_error *err) {
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= b->n_classes)
            return eb_error_set(err, EB_ERR_ARG, "class buffer: label %d of row %lld outside [0, %lld)",
                                (int)labels[i], (long long)i, (long long)b->n_classes);
    for (int64_t i = 0; i < n; i++) {
        int64_t c = labels[i], slot;
        if (b->count[c] < b->capacity) {
            slot = b->count[c]++;
        } else {
            slot = b->next[c];
            b->next[c] = (slot + 1) % b->capacity;
        }
        memcpy(b->data + (c * b->capacity + slot) * b->dim, z + i * b->dim, (size_t)b->dim * sizeof(float));
    }
    return EB_OK;
}

bool eb_class_buffer_full(const eb_class_buffer *b) {
    for (int64_t c = 0; c < b->n_classes; c++)
        if (b->count[c] < b->capacity) return false;
    return b->n_classes > 0;
}
