/* Inference without a tape: deferred recording, a liveness plan and execution (eb_graph_defer /
 * eb_graph_run, include/ebood/tensor.h).
 *
 * While deferring, ops record their nodes with shapes and parameters but no data (eb__node), and
 * eb__forward skips a node without data. eb_graph_run then
 *   1. numbers the deferred nodes k = 0..n−1 in tape order (the order they were built, a topological
 *      order: every source precedes its readers);
 *   2. computes each node's last reader: last[k] = max{ j : node j reads node k } (k itself if none;
 *      +∞ for an output the caller keeps);
 *   3. places the nodes in one buffer, in order: node k takes the smallest free span that holds it
 *      (best fit; else the end of the buffer), and only then are the spans of the nodes whose last
 *      reader is k given back (merged with free neighbours), so an output never overlaps an input it
 *      is computed from and a buffer is reused only after its last reader ran. The buffer's size is
 *      the high-water mark of that walk — the largest set of tensors alive at one time (plus
 *      fragmentation), not the sum over the tape (ggml's graph allocator works the same way);
 *   4. takes that buffer from the arena and runs the forward kernels in tape order.
 * The kernels and their inputs are the eager ones, so the outputs are bitwise the eager outputs.
 * Sizes are rounded up to 64 bytes (the arena's alignment, which some kernels' vector paths like). */
#include "tensor/graph_impl.h"

#include <stdint.h>
#include <stdlib.h>

#define PLAN_ALIGN ((size_t)64)

void eb_graph_defer(eb_graph *g) {
    if (g->deferring) return;
    g->deferring = true;
    g->defer_start = g->n_nodes;
}

size_t eb_graph_planned_bytes(const eb_graph *g) { return g->planned_bytes; }

typedef struct node_key {
    const eb_tensor *t;
    int64_t k;
} node_key;

static int key_cmp(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)((const node_key *)a)->t, y = (uintptr_t)((const node_key *)b)->t;
    return (x > y) - (x < y);
}

/* The deferred index of t, or −1 (a leaf, a tensor made before the region, or NULL). */
static int64_t index_of(const node_key *keys, int64_t n, const eb_tensor *t) {
    if (!t) return -1;
    node_key probe = {t, 0};
    const node_key *hit = bsearch(&probe, keys, (size_t)n, sizeof *keys, key_cmp);
    return hit ? hit->k : -1;
}

/* Free spans of the buffer, sorted by offset, never adjacent (merged). */
typedef struct span {
    size_t off, size;
} span;

typedef struct planner {
    span *free_spans;
    int64_t n_free;
    size_t top; /* high-water mark: the buffer's size so far */
} planner;

static void remove_span(planner *p, int64_t i) {
    for (int64_t j = i; j + 1 < p->n_free; j++) p->free_spans[j] = p->free_spans[j + 1];
    p->n_free--;
}

/* Best fit among the free spans; else the free span touching the end (grown), else the end. */
static size_t place(planner *p, size_t bytes) {
    int64_t best = -1;
    for (int64_t i = 0; i < p->n_free; i++)
        if (p->free_spans[i].size >= bytes && (best < 0 || p->free_spans[i].size < p->free_spans[best].size))
            best = i;
    if (best >= 0) {
        span *s = &p->free_spans[best];
        size_t off = s->off;
        s->off += bytes;
        s->size -= bytes;
        if (!s->size) remove_span(p, best);
        return off;
    }
    if (p->n_free && p->free_spans[p->n_free - 1].off + p->free_spans[p->n_free - 1].size == p->top) {
        size_t off = p->free_spans[p->n_free - 1].off;
        p->n_free--;
        p->top = off + bytes;
        return off;
    }
    size_t off = p->top;
    p->top += bytes;
    return off;
}

static void release(planner *p, size_t off, size_t bytes) {
    int64_t i = 0;
    while (i < p->n_free && p->free_spans[i].off < off) i++;
    for (int64_t j = p->n_free; j > i; j--) p->free_spans[j] = p->free_spans[j - 1];
    p->free_spans[i] = (span){off, bytes};
    p->n_free++;
    if (i + 1 < p->n_free && off + bytes == p->free_spans[i + 1].off) { /* merge with the next */
        p->free_spans[i].size += p->free_spans[i + 1].size;
        remove_span(p, i + 1);
    }
    if (i > 0 && p->free_spans[i - 1].off + p->free_spans[i - 1].size == off) { /* and the previous */
        p->free_spans[i - 1].size += p->free_spans[i].size;
        remove_span(p, i);
    }
}

static size_t node_bytes(const eb_tensor *t) {
    size_t b = (size_t)t->size * sizeof(float);
    return b ? (b + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN : PLAN_ALIGN;
}

eb_status eb_graph_run(eb_graph *g, eb_tensor *const *outputs, int n_outputs) {
    if (!g->deferring) {
        eb_graph_fail(g, EB_ERR_STATE, "graph run: eb_graph_defer was not called");
        return g->status;
    }
    g->deferring = false;
    g->planned_bytes = 0;
    if (g->status != EB_OK) return g->status;

    /* the deferred nodes (non-leaves without data) of the region, in tape order */
    int64_t n = 0;
    for (int64_t i = g->defer_start; i < g->n_nodes; i++)
        n += g->nodes[i]->op != EB_OP_LEAF && !g->nodes[i]->data;
    if (n == 0) return EB_OK;
    eb_tensor **nodes = malloc((size_t)n * sizeof *nodes);
    node_key *keys = malloc((size_t)n * sizeof *keys);
    int64_t *last = malloc((size_t)n * sizeof *last);
    size_t *off = malloc((size_t)n * sizeof *off);
    planner p = {malloc((size_t)(n + 1) * sizeof(span)), 0, 0};
    if (!nodes || !keys || !last || !off || !p.free_spans) {
        eb_graph_fail(g, EB_ERR_NOMEM, "graph run: out of memory planning %lld nodes", (long long)n);
        goto done;
    }
    for (int64_t i = g->defer_start, k = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op != EB_OP_LEAF && !g->nodes[i]->data) {
            nodes[k] = g->nodes[i];
            keys[k] = (node_key){g->nodes[i], k};
            k++;
        }
    qsort(keys, (size_t)n, sizeof *keys, key_cmp);

    /* 2. last readers */
    for (int64_t k = 0; k < n; k++) last[k] = k;
    for (int64_t k = 0; k < n; k++)
        for (int s = 0; s < 3; s++) {
            int64_t j = index_of(keys, n, nodes[k]->src[s]);
            if (j >= 0 && last[j] < k) last[j] = k;
        }
    for (int o = 0; o < n_outputs; o++) {
        int64_t j = outputs ? index_of(keys, n, outputs[o]) : -1;
        if (j >= 0) last[j] = INT64_MAX;
    }

    /* 3. placement: take node k's span, then give back the spans whose last reader is k */
    for (int64_t k = 0; k < n; k++) {
        off[k] = place(&p, node_bytes(nodes[k]));
        for (int s = 0; s < 3; s++) {
            int64_t j = index_of(keys, n, nodes[k]->src[s]);
            bool seen = false; /* a source read twice by node k is given back once */
            for (int o = 0; o < s; o++) seen |= nodes[k]->src[o] == nodes[k]->src[s];
            if (j >= 0 && last[j] == k && !seen) release(&p, off[j], node_bytes(nodes[j]));
        }
        if (last[k] == k) release(&p, off[k], node_bytes(nodes[k])); /* read by nobody */
    }

    /* 4. one buffer, then the kernels in tape order */
    char *base = eb__arena_alloc(g, p.top);
    if (!base) goto done;
    g->planned_bytes = p.top;
    for (int64_t k = 0; k < n; k++) nodes[k]->data = (float *)(void *)(base + off[k]);
    for (int64_t k = 0; k < n; k++) eb__forward(nodes[k]);
done:
    free(nodes);
    free(keys);
    free(last);
    free(off);
    free(p.free_spans);
    return g->status;
}
