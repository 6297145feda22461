/* The tape: graph lifetime, leaves, sticky errors, and the reverse-mode sweep. */
#include "tensor/graph_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eb_graph *eb_graph_new(size_t arena_block_bytes, const eb_allocator *a) {
    if (!a) a = eb_allocator_default();
    eb_graph *g = eb_alloc_zero(a, sizeof *g);
    if (!g) return NULL;
    g->allocator = *a;
    g->arena = eb_arena_new(arena_block_bytes ? arena_block_bytes : (size_t)4 << 20, a);
    if (!g->arena) {
        eb_free(a, g);
        return NULL;
    }
    g->poison.data = g->poison_data;
    g->poison.ndim = 1;
    g->poison.shape[0] = 1;
    g->poison.size = 1;
    g->poison.op = EB_OP_LEAF;
    return g;
}

void eb_graph_free(eb_graph *g) {
    if (!g) return;
    eb_arena_free(g->arena);
    free(g->nodes);
    eb_free(&g->allocator, g);
}

void eb_graph_reset(eb_graph *g) {
    eb_arena_reset(g->arena);
    g->n_nodes = 0;
    g->deferring = false;
    g->status = EB_OK;
    g->error[0] = '\0';
    g->poison_data[0] = 0.0f;
}

eb_status eb_graph_status(const eb_graph *g) { return g->status; }
const char *eb_graph_error(const eb_graph *g) { return g->error; }
size_t eb_graph_arena_bytes(const eb_graph *g) { return eb_arena_used(g->arena); }

void eb_graph_fail(eb_graph *g, eb_status status, const char *fmt, ...) {
    if (g->status != EB_OK) return; /* the first error wins */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->error, sizeof g->error, fmt, ap);
    va_end(ap);
    g->status = status;
}

eb_tensor *eb__poison(eb_graph *g) { return &g->poison; }

void *eb__arena_alloc(eb_graph *g, size_t bytes) {
    void *p = eb_arena_alloc(g->arena, bytes);
    if (!p) eb_graph_fail(g, EB_ERR_NOMEM, "graph arena: out of memory allocating %zu bytes", bytes);
    return p;
}

char *eb_tensor_shape_str(const eb_tensor *t, char *buf, size_t buf_size) {
    size_t used = 0;
    used += (size_t)snprintf(buf, buf_size, "[");
    for (int d = 0; d < t->ndim && used < buf_size; d++)
        used += (size_t)snprintf(buf + used, buf_size - used, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    if (used < buf_size) snprintf(buf + used, buf_size - used, "]");
    return buf;
}

bool eb_tensor_same_shape(const eb_tensor *a, const eb_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

void eb__fail_shapes(eb_graph *g, const char *op, const eb_tensor *a, const eb_tensor *b, const char *why) {
    char sa[96], sb[96];
    eb_tensor_shape_str(a, sa, sizeof sa);
    if (b)
        eb_graph_fail(g, EB_ERR_SHAPE, "%s: shapes %s and %s: %s", op, sa,
                      eb_tensor_shape_str(b, sb, sizeof sb), why);
    else
        eb_graph_fail(g, EB_ERR_SHAPE, "%s: shape %s: %s", op, sa, why);
}

bool eb__inputs_ok(eb_graph *g, const char *op, eb_tensor *a, eb_tensor *b) {
    if (g->status != EB_OK) return false;
    if (!a) {
        eb_graph_fail(g, EB_ERR_ARG, "%s: input tensor is NULL", op);
        return false;
    }
    (void)b;
    return true;
}

int eb__axis(int axis, int ndim) {
    if (axis < 0) axis += ndim;
    return (axis >= 0 && axis < ndim) ? axis : -1;
}

void eb__axis_split(const eb_tensor *x, int axis, int64_t *outer, int64_t *n, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= x->shape[d];
    for (int d = axis + 1; d < x->ndim; d++) *inner *= x->shape[d];
    *n = x->shape[axis];
}

static bool push_node(eb_graph *g, eb_tensor *t) {
    if (g->n_nodes == g->cap_nodes) {
        int64_t cap = g->cap_nodes ? 2 * g->cap_nodes : 256;
        eb_tensor **nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            eb_graph_fail(g, EB_ERR_NOMEM, "graph: out of memory growing the tape");
            return false;
        }
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    g->nodes[g->n_nodes++] = t;
    return true;
}

static eb_tensor *new_tensor(eb_graph *g, eb_op op, int ndim, const int64_t *shape, bool alloc_data) {
    if (g->status != EB_OK) return NULL;
    if (ndim < 0 || ndim > EB_MAX_DIMS) {
        eb_graph_fail(g, EB_ERR_SHAPE, "%s: %d dimensions (at most %d)", eb_op_name(op), ndim, EB_MAX_DIMS);
        return NULL;
    }
    int64_t size = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) {
            eb_graph_fail(g, EB_ERR_SHAPE, "%s: negative dimension %lld", eb_op_name(op),
                          (long long)shape[d]);
            return NULL;
        }
        size *= shape[d];
    }
    eb_tensor *t = eb__arena_alloc(g, sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->size = size;
    t->op = op;
    if (alloc_data && !(t->data = eb__arena_alloc(g, (size_t)size * sizeof(float)))) return NULL;
    return push_node(g, t) ? t : NULL;
}

eb_tensor *eb__node(eb_graph *g, eb_op op, int ndim, const int64_t *shape, eb_tensor *a, eb_tensor *b,
                    eb_tensor *c) {
    /* deferred: no data yet (eb__forward skips the node; eb_graph_run places and computes it) */
    eb_tensor *t = new_tensor(g, op, ndim, shape, !g->deferring);
    if (!t) return NULL;
    t->src[0] = a;
    t->src[1] = b;
    t->src[2] = c;
    t->requires_grad =
        !g->deferring && ((a && a->requires_grad) || (b && b->requires_grad) || (c && c->requires_grad));
    return t;
}

eb_tensor *eb__node_nodata(eb_graph *g, eb_op op, int ndim, const int64_t *shape, eb_tensor *a) {
    eb_tensor *t = new_tensor(g, op, ndim, shape, false);
    if (!t) return NULL;
    t->src[0] = a;
    t->requires_grad = a->requires_grad;
    return t;
}

eb_tensor *eb_tensor_zeros(eb_graph *g, int ndim, const int64_t *shape) {
    eb_tensor *t = new_tensor(g, EB_OP_LEAF, ndim, shape, true);
    if (!t) return eb__poison(g);
    memset(t->data, 0, (size_t)t->size * sizeof(float));
    return t;
}

eb_tensor *eb_tensor_copy(eb_graph *g, const float *data, int ndim, const int64_t *shape) {
    eb_tensor *t = new_tensor(g, EB_OP_LEAF, ndim, shape, true);
    if (!t) return eb__poison(g);
    memcpy(t->data, data, (size_t)t->size * sizeof(float));
    return t;
}

eb_tensor *eb_tensor_scalar(eb_graph *g, float value) {
    eb_tensor *t = new_tensor(g, EB_OP_LEAF, 0, NULL, true);
    if (!t) return eb__poison(g);
    t->data[0] = value;
    return t;
}

eb_tensor *eb_tensor_input(eb_graph *g, float *data, int ndim, const int64_t *shape, bool requires_grad) {
    eb_tensor *t = new_tensor(g, EB_OP_LEAF, ndim, shape, false);
    if (!t) return eb__poison(g);
    t->data = data;
    t->requires_grad = requires_grad;
    if (requires_grad && !(t->grad = eb__arena_alloc(g, (size_t)t->size * sizeof(float))))
        return eb__poison(g);
    if (requires_grad) memset(t->grad, 0, (size_t)t->size * sizeof(float));
    return t;
}

eb_tensor *eb_tensor_param(eb_graph *g, float *data, float *grad, int ndim, const int64_t *shape) {
    eb_tensor *t = new_tensor(g, EB_OP_LEAF, ndim, shape, false);
    if (!t) return eb__poison(g);
    t->data = data;
    t->grad = g->params_frozen || g->deferring ? NULL : grad;
    t->requires_grad = t->grad != NULL;
    return t;
}

void eb_graph_freeze_params(eb_graph *g, bool frozen) { g->params_frozen = frozen; }

void eb__forward_leaf(eb_tensor *out) { (void)out; }
void eb__backward_leaf(eb_tensor *out) { (void)out; }

_Thread_local unsigned eb__grad_fresh = 0;

/* Ops whose backward kernels store into a source gradient flagged in eb__grad_fresh (and write every
 * element of it): reshape, the elementwise unary ops, batch_norm (x's gradient; it zeroes fresh γ, β) and
 * conv2d (x's gradient: oneDNN's output reorder without its sum post-op; it zeroes fresh w, b) and max_pool2d
 * (zeroes each plane before its scatter). Not
 * linear/matmul: OpenBLAS's β = 0 zeroes C with a slower loop than memset (measured: sgemm_beta 4.4 % of a CD
 * step against memset's ≈ 3 %). */
static bool backward_overwrites(eb_op op) {
    switch (op) {
    case EB_OP_RESHAPE:
    case EB_OP_ADD_SCALAR:
    case EB_OP_MUL_SCALAR:
    case EB_OP_EXP:
    case EB_OP_LOG:
    case EB_OP_SQRT:
    case EB_OP_SQUARE:
    case EB_OP_ABS:
    case EB_OP_CLAMP:
    case EB_OP_RELU:
    case EB_OP_LEAKY_RELU:
    case EB_OP_ELU:
    case EB_OP_SOFTPLUS:
    case EB_OP_TANH:
    case EB_OP_SIGMOID:
    case EB_OP_SWISH:
    case EB_OP_BATCH_NORM:
    case EB_OP_CONV2D:
    case EB_OP_MAX_POOL2D: return true;
    default: return false;
    }
}

bool eb__grad_reuse_off = false;
bool eb__grad_poison = false;

/* Training memory: an intermediate's gradient is read by its own backward kernel only (every kernel
 * reads out->grad and writes its sources' gradients), so once that kernel ran the buffer is dead for the
 * rest of the sweep. The sweep gives it back here and takes the gradients it allocates later from these
 * spans first (best fit, the rest of a span stays available), so the gradients of a deep network occupy
 * the few alive at one time, not one per node. Spans live in the arena, valid until eb_graph_reset. */
typedef struct grad_pool {
    float **ptr;
    size_t *bytes;
    int64_t n, cap;
} grad_pool;

static size_t grad_bytes(const eb_tensor *t) {
    size_t b = (size_t)t->size * sizeof(float);
    return b ? (b + 63) / 64 * 64 : 64;
}

static void pool_give(grad_pool *p, float *ptr, size_t bytes) {
    if (eb__grad_poison) /* test hook: a reader of a given-back buffer sees NaN */
        for (size_t i = 0; i < bytes / sizeof(float); i++) ptr[i] = NAN;
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 64;
        float **np = realloc(p->ptr, (size_t)cap * sizeof *np);
        if (np) p->ptr = np;
        size_t *nb = np ? realloc(p->bytes, (size_t)cap * sizeof *nb) : NULL;
        if (!nb) return; /* out of memory: the span is simply not reused */
        p->bytes = nb;
        p->cap = cap;
    }
    p->ptr[p->n] = ptr;
    p->bytes[p->n++] = bytes;
}

/* A gradient buffer for t: the smallest given-back span that holds it, else new arena memory. */
static float *grad_take(eb_graph *g, grad_pool *p, const eb_tensor *t) {
    const size_t need = grad_bytes(t);
    int64_t best = -1;
    for (int64_t i = 0; i < p->n; i++)
        if (p->bytes[i] >= need && (best < 0 || p->bytes[i] < p->bytes[best])) best = i;
    if (best < 0) return eb__arena_alloc(g, need);
    float *ptr = p->ptr[best];
    p->ptr[best] += need / sizeof(float);
    p->bytes[best] -= need;
    if (!p->bytes[best]) {
        p->ptr[best] = p->ptr[p->n - 1];
        p->bytes[best] = p->bytes[--p->n];
    }
    return ptr;
}

eb_status eb_graph_backward(eb_graph *g, eb_tensor *out, const float *seed) {
    if (g->status != EB_OK) return g->status;
    if (!out || out == &g->poison) {
        eb_graph_fail(g, EB_ERR_ARG, "backward: no output tensor");
        return g->status;
    }
    if (!out->requires_grad) return EB_OK; /* nothing on the path needs a gradient */
    /* Intermediate gradients start at zero on every sweep, so calling backward again after a new
     * seed accumulates only into the leaves (parameters and inputs). */
    for (int64_t i = 0; i < g->n_nodes; i++) {
        eb_tensor *t = g->nodes[i];
        if (t->op != EB_OP_LEAF && t->grad) memset(t->grad, 0, (size_t)t->size * sizeof(float));
    }
    if (!out->grad) {
        if (!(out->grad = eb__arena_alloc(g, (size_t)out->size * sizeof(float)))) return g->status;
        memset(out->grad, 0, (size_t)out->size * sizeof(float));
    }
    for (int64_t i = 0; i < out->size; i++) out->grad[i] += seed ? seed[i] : 1.0f;

    grad_pool pool = {0};
    for (int64_t i = g->n_nodes - 1; i >= 0 && g->status == EB_OK; i--) {
        eb_tensor *t = g->nodes[i];
        if (t->op == EB_OP_LEAF || !t->requires_grad || !t->grad) continue;
        const bool overwrites = backward_overwrites(t->op);
        unsigned fresh = 0;
        for (int s = 0; s < 3; s++) {
            eb_tensor *src = t->src[s];
            if (src && src->requires_grad && !src->grad) {
                src->grad = src->op == EB_OP_LEAF || eb__grad_reuse_off ? eb__arena_alloc(g, grad_bytes(src))
                                                                        : grad_take(g, &pool, src);
                if (!src->grad) break;
                /* a source appearing twice in one node is zeroed (its second use accumulates) */
                bool twice = false;
                for (int o = 0; o < 3; o++) twice |= o != s && t->src[o] == src;
                if (overwrites && !twice)
                    fresh |= 1u << s;
                else
                    memset(src->grad, 0, (size_t)src->size * sizeof(float));
            }
        }
        if (g->status != EB_OK) break;
        eb__grad_fresh = fresh;
        eb__backward(t);
        eb__grad_fresh = 0;
        if (t != out && !eb__grad_reuse_off) { /* t's gradient is dead: give it back */
            pool_give(&pool, t->grad, grad_bytes(t));
            t->grad = NULL;
        }
    }
    free(pool.ptr);
    free(pool.bytes);
    return g->status;
}
