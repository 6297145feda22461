/* Allocator hook and arenas (bump allocation from a chain of blocks, freed all at once). */
#include <ebood/base.h>

#include <stdlib.h>
#include <string.h>

#define EB_ALIGN 64u

static void *default_alloc(size_t size, void *ctx) {
    (void)ctx;
    size_t rounded = (size + EB_ALIGN - 1) / EB_ALIGN * EB_ALIGN;
    return aligned_alloc(EB_ALIGN, rounded ? rounded : EB_ALIGN);
}
static void default_free(void *ptr, void *ctx) {
    (void)ctx;
    free(ptr);
}
static const eb_allocator default_allocator = {default_alloc, default_free, NULL};

const eb_allocator *eb_allocator_default(void) { return &default_allocator; }

void *eb_alloc(const eb_allocator *a, size_t size) {
    if (!a) a = &default_allocator;
    return a->alloc(size, a->ctx);
}
void *eb_alloc_zero(const eb_allocator *a, size_t size) {
    void *p = eb_alloc(a, size);
    if (p) memset(p, 0, size);
    return p;
}
void eb_free(const eb_allocator *a, void *ptr) {
    if (!ptr) return;
    if (!a) a = &default_allocator;
    a->free(ptr, a->ctx);
}

typedef struct arena_block {
    struct arena_block *next;
    size_t capacity; /* usable bytes after the header */
    size_t used;
} arena_block;

#define BLOCK_HEADER ((sizeof(arena_block) + EB_ALIGN - 1) / EB_ALIGN * EB_ALIGN)

struct eb_arena {
    eb_allocator allocator;
    size_t block_bytes;
    arena_block *head;    /* first block; blocks before `current` are full */
    arena_block *current; /* block being filled */
};

eb_arena *eb_arena_new(size_t block_bytes, const eb_allocator *a) {
    if (!a) a = &default_allocator;
    eb_arena *arena = a->alloc(sizeof *arena, a->ctx);
    if (!arena) return NULL;
    arena->allocator = *a;
    arena->block_bytes = block_bytes ? block_bytes : (size_t)1 << 20;
    arena->head = arena->current = NULL;
    return arena;
}

static arena_block *block_new(eb_arena *arena, size_t min_bytes) {
    size_t cap = arena->block_bytes > min_bytes ? arena->block_bytes : min_bytes;
    arena_block *b = arena->allocator.alloc(BLOCK_HEADER + cap, arena->allocator.ctx);
    if (!b) return NULL;
    b->next = NULL;
    b->capacity = cap;
    b->used = 0;
    return b;
}

void *eb_arena_alloc(eb_arena *arena, size_t bytes) {
    size_t need = (bytes + EB_ALIGN - 1) / EB_ALIGN * EB_ALIGN;
    if (need == 0) need = EB_ALIGN;
    /* walk forward through kept blocks (after a reset) until one has room */
    while (arena->current && arena->current->capacity - arena->current->used < need) {
        if (arena->current->next) {
            arena->current = arena->current->next;
            arena->current->used = 0;
        } else {
            break;
        }
    }
    arena_block *b = arena->current;
    if (!b || b->capacity - b->used < need) {
        arena_block *nb = block_new(arena, need);
        if (!nb) return NULL;
        if (b) {
            nb->next = b->next;
            b->next = nb;
        } else {
            arena->head = nb;
        }
        arena->current = b = nb;
    }
    void *p = (char *)b + BLOCK_HEADER + b->used;
    b->used += need;
    return p;
}

void *eb_arena_alloc_zero(eb_arena *arena, size_t bytes) {
    void *p = eb_arena_alloc(arena, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void eb_arena_reset(eb_arena *arena) {
    arena->current = arena->head;
    if (arena->head) arena->head->used = 0;
}

size_t eb_arena_used(const eb_arena *arena) {
    size_t total = 0;
    for (const arena_block *b = arena->head; b; b = b->next) {
        total += b->used;
        if (b == arena->current) break;
    }
    return total;
}

void eb_arena_free(eb_arena *arena) {
    if (!arena) return;
    eb_allocator a = arena->allocator;
    for (arena_block *b = arena->head; b;) {
        arena_block *next = b->next;
        a.free(b, a.ctx);
        b = next;
    }
    a.free(arena, a.ctx);
}
