/* ebood/tensor.h — float32 tensors, the tape (eb_graph) and the ops.
 *
 * Define-by-run: each op computes its output at once and records a node on the graph's tape.
 * eb_graph_backward() walks the tape in reverse and accumulates gradients into every tensor that
 * requires them — parameters (into their external gradient buffers) and inputs (for d(score)/dx,
 * as ODIN and SGLD need). All intermediates live in the graph's arena and are freed together by
 * eb_graph_reset(); never free a tensor yourself.
 *
 * Sticky status: a bad shape never aborts. The first error is recorded on the graph (op name and
 * shapes); every later op returns the graph's "poison" tensor, and the caller checks
 * eb_graph_status() once after building the loss. Thread-safety: one graph per thread. */
#ifndef EBOOD_TENSOR_H
#define EBOOD_TENSOR_H

#include <ebood/base.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EB_MAX_DIMS 4

/* The op table: X(ENUM_SUFFIX, name, arity). One row per op; src/tensor/op_table.c builds the
 * forward/backward function tables from this list, and tests/test_gradcheck.c must check each
 * differentiable row (a coverage test enforces it). */
#define EB_OP_LIST(X)                                                                                        \
    X(LEAF, leaf, 0)                                                                                         \
    X(RESHAPE, reshape, 1)                                                                                   \
    X(MATMUL, matmul, 2)                                                                                     \
    X(LINEAR, linear, 3)                                                                                     \
    X(ADD, add, 2)                                                                                           \
    X(SUB, sub, 2)                                                                                           \
    X(MUL, mul, 2)                                                                                           \
    X(DIV, div, 2)                                                                                           \
    X(ADD_SCALAR, add_scalar, 1)                                                                             \
    X(MUL_SCALAR, mul_scalar, 1)                                                                             \
    X(EXP, exp, 1)                                                                                           \
    X(LOG, log, 1)                                                                                           \
    X(SQRT, sqrt, 1)                                                                                         \
    X(SQUARE, square, 1)                                                                                     \
    X(ABS, abs, 1)                                                                                           \
    X(CLAMP, clamp, 1)                                                                                       \
    X(RELU, relu, 1)                                                                                         \
    X(LEAKY_RELU, leaky_relu, 1)                                                                             \
    X(ELU, elu, 1)                                                                                           \
    X(SOFTPLUS, softplus, 1)                                                                                 \
    X(TANH, tanh, 1)                                                                                         \
    X(SIGMOID, sigmoid, 1)                                                                                   \
    X(SWISH, swish, 1)                                                                                       \
    X(SUM, sum, 1)                                                                                           \
    X(MEAN, mean, 1)                                                                                         \
    X(MAX, max, 1)                                                                                           \
    X(LOGSUMEXP, logsumexp, 1)                                                                               \
    X(SOFTMAX, softmax, 1)                                                                                   \
    X(LOG_SOFTMAX, log_softmax, 1)                                                                           \
    X(CROSS_ENTROPY, cross_entropy, 1)                                                                       \
    X(L2_NORMALIZE, l2_normalize, 1)                                                                         \
    X(CONCAT, concat, 2)                                                                                     \
    X(GATHER_ROWS, gather_rows, 1)                                                                           \
    X(DROPOUT, dropout, 1)

typedef enum eb_op {
#define EB_OP_ENUM(NAME, name, arity) EB_OP_##NAME,
    EB_OP_LIST(EB_OP_ENUM)
#undef EB_OP_ENUM
        EB_OP_COUNT
} eb_op;

EB_API const char *eb_op_name(eb_op op);
EB_API int eb_op_arity(eb_op op);

typedef struct eb_graph eb_graph;

/* A tensor: float32, row-major, 0..4 dimensions (ndim 0 = scalar, size 1). Created only through a
 * graph; the struct is public so kernels and callers can read data/shape directly. */
typedef struct eb_tensor {
    float *data; /* `size` floats, row-major */
    float *grad; /* d(loss)/d(this) after backward; NULL if not required */
    int64_t shape[EB_MAX_DIMS];
    int64_t size; /* product of shape[0..ndim) */
    int ndim;
    eb_op op;
    bool requires_grad;
    struct eb_tensor *src[3]; /* inputs of the op (NULL past its arity) */
    float fparam[2];          /* op parameters: scalar, slope, clamp bounds, p, ... */
    int64_t iparam[2];        /* op parameters: axis, keepdim, transposes, ... */
    const void *aux;          /* op data: labels, row indices, dropout mask (arena-owned) */
} eb_tensor;

/* ---- graph lifetime -------------------------------------------------------------------------- */
/* arena_block_bytes: size of each arena block (0 = 4 MiB). a: allocator (NULL = malloc). */
EB_API eb_graph *eb_graph_new(size_t arena_block_bytes, const eb_allocator *a);
EB_API void eb_graph_free(eb_graph *g);
/* Forget every tensor of the graph and clear its status; arena blocks are kept for reuse. */
EB_API void eb_graph_reset(eb_graph *g);
EB_API eb_status eb_graph_status(const eb_graph *g);
EB_API const char *eb_graph_error(const eb_graph *g); /* "" when ok */
EB_API size_t eb_graph_arena_bytes(const eb_graph *g);
/* Record an error from outside an op (e.g. a model's config check); first error wins. */
EB_API void eb_graph_fail(eb_graph *g, eb_status status, const char *fmt, ...) EB_PRINTF(3, 4);

/* Reverse-mode sweep from `out`. seed: d(loss)/d(out), `out->size` floats, or NULL for all ones
 * (so for a scalar loss, NULL gives d(loss)/d(everything)). Gradients accumulate (+=) into the
 * grad buffers of the leaves on the path that require grad (parameters and inputs); intermediate
 * gradients are cleared at the start of every sweep, so a second call on the same graph (e.g. with
 * another seed) adds its leaf gradients to the first's. Returns the graph's status: a graph that
 * has already failed is not swept and its first error is returned. */
EB_API eb_status eb_graph_backward(eb_graph *g, eb_tensor *out, const float *seed);

/* ---- leaves ------------------------------------------------------------------------------------ */
/* A zero-filled constant (no gradient). */
EB_API eb_tensor *eb_tensor_zeros(eb_graph *g, int ndim, const int64_t *shape);
/* A copy of `data` (no gradient). */
EB_API eb_tensor *eb_tensor_copy(eb_graph *g, const float *data, int ndim, const int64_t *shape);
EB_API eb_tensor *eb_tensor_scalar(eb_graph *g, float value);
/* Wraps caller memory without copying (it must outlive the graph's use). If requires_grad, a zeroed
 * gradient buffer is allocated in the arena, readable as t->grad after backward (input gradients). */
EB_API eb_tensor *eb_tensor_input(eb_graph *g, float *data, int ndim, const int64_t *shape,
                                  bool requires_grad);
/* A parameter: wraps data and accumulates its gradient into the caller's `grad` buffer (same size),
 * e.g. views into a model's flat parameter/gradient buffers. */
EB_API eb_tensor *eb_tensor_param(eb_graph *g, float *data, float *grad, int ndim, const int64_t *shape);

/* Shape helpers. */
#define EB_SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define EB_NDIM(...)  ((int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
EB_API bool eb_tensor_same_shape(const eb_tensor *a, const eb_tensor *b);
/* Writes "[2, 3]" into buf (always NUL-terminated); returns buf. */
EB_API char *eb_tensor_shape_str(const eb_tensor *t, char *buf, size_t buf_size);

/* ---- ops (each returns a new tensor on g; on error the graph's poison tensor) -------------------- */
/* Same data viewed with another shape (sizes must match). */
EB_API eb_tensor *eb_reshape(eb_graph *g, eb_tensor *x, int ndim, const int64_t *shape);

/* Matrix product of 2-D tensors: op(a)[M,K] · op(b)[K,N] → [M,N], op = transpose if trans_*. */
EB_API eb_tensor *eb_matmul(eb_graph *g, eb_tensor *a, eb_tensor *b, bool trans_a, bool trans_b);
/* Affine layer: x[N,in] · wᵀ (w[out,in]) + b[out] → [N,out]. b may be NULL. (PyTorch's layout.) */
EB_API eb_tensor *eb_linear(eb_graph *g, eb_tensor *x, eb_tensor *w, eb_tensor *b);

/* Elementwise binary ops with NumPy broadcasting (shapes aligned from the right). */
EB_API eb_tensor *eb_add(eb_graph *g, eb_tensor *a, eb_tensor *b);
EB_API eb_tensor *eb_sub(eb_graph *g, eb_tensor *a, eb_tensor *b);
EB_API eb_tensor *eb_mul(eb_graph *g, eb_tensor *a, eb_tensor *b);
EB_API eb_tensor *eb_div(eb_graph *g, eb_tensor *a, eb_tensor *b);

/* Scalar ops: x + c, x · c. */
EB_API eb_tensor *eb_add_scalar(eb_graph *g, eb_tensor *x, float c);
EB_API eb_tensor *eb_mul_scalar(eb_graph *g, eb_tensor *x, float c);

/* Elementwise unary ops. */
EB_API eb_tensor *eb_exp(eb_graph *g, eb_tensor *x);
EB_API eb_tensor *eb_log(eb_graph *g, eb_tensor *x);
EB_API eb_tensor *eb_sqrt(eb_graph *g, eb_tensor *x);
EB_API eb_tensor *eb_square(eb_graph *g, eb_tensor *x);
EB_API eb_tensor *eb_abs(eb_graph *g, eb_tensor *x);
EB_API eb_tensor *eb_clamp(eb_graph *g, eb_tensor *x, float lo, float hi); /* gradient 0 outside */

/* Activations (PyTorch definitions). */
EB_API eb_tensor *eb_relu(eb_graph *g, eb_tensor *x);
EB_API eb_tensor *eb_leaky_relu(eb_graph *g, eb_tensor *x, float negative_slope);
EB_API eb_tensor *eb_elu(eb_graph *g, eb_tensor *x, float alpha);
EB_API eb_tensor *eb_softplus(eb_graph *g, eb_tensor *x, float beta); /* (1/β)·log(1 + e^{βx}) */
EB_API eb_tensor *eb_tanh(eb_graph *g, eb_tensor *x);
EB_API eb_tensor *eb_sigmoid(eb_graph *g, eb_tensor *x);
EB_API eb_tensor *eb_swish(eb_graph *g, eb_tensor *x); /* x·σ(x) (SiLU) */

/* Reductions over one axis (negative = from the end); keepdim keeps it as size 1. */
EB_API eb_tensor *eb_sum(eb_graph *g, eb_tensor *x, int axis, bool keepdim);
EB_API eb_tensor *eb_mean(eb_graph *g, eb_tensor *x, int axis, bool keepdim);
EB_API eb_tensor *eb_max(eb_graph *g, eb_tensor *x, int axis, bool keepdim); /* grad to first argmax */
EB_API eb_tensor *eb_logsumexp(eb_graph *g, eb_tensor *x, int axis, bool keepdim);
/* Reductions over all elements → scalar (ndim 0). */
EB_API eb_tensor *eb_sum_all(eb_graph *g, eb_tensor *x);
EB_API eb_tensor *eb_mean_all(eb_graph *g, eb_tensor *x);

/* Softmax family over one axis. */
EB_API eb_tensor *eb_softmax(eb_graph *g, eb_tensor *x, int axis);
EB_API eb_tensor *eb_log_softmax(eb_graph *g, eb_tensor *x, int axis);
/* Mean cross-entropy of logits[N,C] against integer labels (N values in [0,C), copied) → scalar. */
EB_API eb_tensor *eb_cross_entropy(eb_graph *g, eb_tensor *logits, const int32_t *labels);

/* L2-normalisation over the last axis (rows of x[N,D]; any tensor with ≥ 1 dims): x / max(‖x‖₂, eps). */
EB_API eb_tensor *eb_l2_normalize(eb_graph *g, eb_tensor *x, float eps);
/* Concatenation along `axis` (all other dims equal). */
EB_API eb_tensor *eb_concat(eb_graph *g, eb_tensor *a, eb_tensor *b, int axis);
/* out[i] = x[index[i]] along axis 0 (index copied; gradient scatter-adds). */
EB_API eb_tensor *eb_gather_rows(eb_graph *g, eb_tensor *x, const int64_t *index, int64_t n);
/* Inverted dropout: zero with probability p, scale survivors by 1/(1−p). p in [0, 1). */
EB_API eb_tensor *eb_dropout(eb_graph *g, eb_tensor *x, float p, eb_rng *rng);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_TENSOR_H */
