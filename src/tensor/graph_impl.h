/* Internals of the tape shared by the files in src/tensor/. Not installed. */
#ifndef EBOOD_GRAPH_IMPL_H
#define EBOOD_GRAPH_IMPL_H

#include <ebood/tensor.h>

/* Elementwise kernels go parallel above this many elements (below it, OpenMP overhead dominates).
 * 128 Ki floats (512 KB): ebood runs with OMP_WAIT_POLICY=PASSIVE (src/cli/main.c), so every parallel
 * region wakes a sleeping thread through a futex and waits for it at the join; an elementwise op below
 * this size is over before that pays off. At the former 32 Ki the Segment MLP (activations
 * 512 × 100 = 51,200) trained slower at 2 threads than at 1 (perf/RESULTS.md, "Small-MLP threading"). */
#define EB_PARALLEL_MIN 131072

/* Hot elementwise kernels: one clone per ISA (AVX-512, AVX2, baseline), picked at run time by the dynamic
 * loader (DESIGN.md §3.14: wide vectors by dispatch, never -march). The clones compute the same bits: no
 * fast-math, no FMA contraction (ISO C11 mode), reductions in an explicit fixed order. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define EB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define EB_CLONES
#endif

struct eb_graph {
    eb_arena *arena;
    eb_allocator allocator;
    eb_tensor **nodes; /* the tape in creation order (malloc'd, grows) */
    int64_t n_nodes, cap_nodes;
    eb_status status;     /* first error, sticky until reset */
    bool params_frozen;   /* eb_tensor_param makes constants (eb_graph_freeze_params) */
    bool deferring;       /* between eb_graph_defer and eb_graph_run: ops record, nothing computes */
    int64_t defer_start;  /* first tape index of the deferred region */
    size_t planned_bytes; /* the last eb_graph_run's buffer */
    char error[512];
    eb_tensor poison; /* returned by every op once status != EB_OK */
    float poison_data[1];
};

/* Allocates a node for `op` with the given output shape and inputs (srcs may be NULL), records it on
 * the tape, and sets requires_grad from the inputs. Returns NULL (with the graph failed) on OOM. */
eb_tensor *eb__node(eb_graph *g, eb_op op, int ndim, const int64_t *shape, eb_tensor *a, eb_tensor *b,
                    eb_tensor *c);
/* A unary node on a without data (the caller points out->data somewhere: eb_relu_inplace). */
eb_tensor *eb__node_nodata(eb_graph *g, eb_op op, int ndim, const int64_t *shape, eb_tensor *a);
/* True if the graph is healthy and every non-NULL-required input is present; else records the error. */
bool eb__inputs_ok(eb_graph *g, const char *op, eb_tensor *a, eb_tensor *b);
eb_tensor *eb__poison(eb_graph *g);
void *eb__arena_alloc(eb_graph *g, size_t bytes); /* fails the graph on OOM */
/* Records "op: shape mismatch [..] vs [..] (why)" as the graph's first error. */
void eb__fail_shapes(eb_graph *g, const char *op, const eb_tensor *a, const eb_tensor *b, const char *why);
/* Normalises a possibly negative axis; -1 if out of range. */
int eb__axis(int axis, int ndim);
/* View of x around `axis` as [outer, n, inner]. */
void eb__axis_split(const eb_tensor *x, int axis, int64_t *outer, int64_t *n, int64_t *inner);
/* Run the forward / backward kernel of out->op (the op table). */
void eb__forward(eb_tensor *out);
void eb__backward(eb_tensor *out);

/* The kernel pairs, one per op row: forward fills out->data from out->src[]; backward reads
 * out->grad and ACCUMULATES into src[i]->grad for each src that requires grad. */
#define EB_OP_DECLARE(NAME, name, arity)                                                                     \
    void eb__forward_##name(eb_tensor *out);                                                                 \
    void eb__backward_##name(eb_tensor *out);
EB_OP_LIST(EB_OP_DECLARE)
#undef EB_OP_DECLARE

/* Bit i set while a backward kernel runs: src[i]'s gradient buffer was allocated for this node and
 * is NOT zeroed (this node is its first writer), so the kernel must store, not accumulate, into it.
 * Only ops listed in eb__backward_overwrites (graph.c) see bits set; for the others the sweep zeroes
 * the buffer first. Saves one memset and one read per intermediate gradient (the SGLD loops). */
extern _Thread_local unsigned eb__grad_fresh;

/* Test hook (tests/test_tensor_fastpaths.c): true makes batch_norm on x[N, C] take the general
 * [N, C, S] path instead of its 2-D fast path. Not for library code. */
extern bool eb__bn_force_general;
/* Test hook (tests/test_tensor_fastpaths.c): true makes max_pool2d with 2×2 windows, stride 2, no padding
 * take the general loop instead of its fast path. Not for library code. */
extern bool eb__pool_force_general;
/* Test hook (tests/test_tensor_fastpaths.c): true makes that fast path use its portable row kernel even where
 * the CPU has AVX-512. Not for library code. */
extern bool eb__pool_force_portable;

/* Test hooks of the backward sweep's gradient reuse (graph.c; tests/test_graph_plan.c, test_gradcheck.c):
 * eb__grad_reuse_off keeps every gradient buffer to the end of the sweep (the behaviour before the reuse);
 * eb__grad_poison fills each given-back buffer with NaN, so a kernel that still read one would put NaN
 * into the gradients. Not for library code. */
extern bool eb__grad_reuse_off;
extern bool eb__grad_poison;

/* grad buffer of a source if it wants a gradient, else NULL */
static inline float *eb__src_grad(const eb_tensor *out, int i) {
    const eb_tensor *s = out->src[i];
    return (s && s->requires_grad) ? s->grad : NULL;
}

#endif
