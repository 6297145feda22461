/* A string → id hash index (open addressing, linear probing, FNV-1a), shared by the text readers
 * (csv.c: string labels; arff.c: attribute names and nominal values) so that a file with many
 * distinct names costs O(n) lookups rather than O(n²). Keys are borrowed: they must outlive it. */
#ifndef EBOOD_STR_INDEX_IMPL_H
#define EBOOD_STR_INDEX_IMPL_H

#include <stddef.h>
#include <stdint.h>

typedef struct eb__str_index {
    const char **keys; /* slot → key (NULL = empty) */
    int32_t *ids;      /* slot → id */
    size_t mask;       /* capacity − 1 (capacity a power of two, or 0 before the first add) */
    size_t count;
} eb__str_index;

/* The id stored for key, or -1. */
int32_t eb__str_index_find(const eb__str_index *ix, const char *key);
/* Stores key → id (key not yet present); grows to keep the load ≤ 1/2. 0, or -1 on OOM. */
int eb__str_index_add(eb__str_index *ix, const char *key, int32_t id);
void eb__str_index_free(eb__str_index *ix);

#endif
