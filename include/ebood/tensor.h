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
#include <ebood/dist.h>

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
    X(DROPOUT, dropout, 1)                                                                                   \
    X(CONV2D, conv2d, 3)                                                                                     \
    X(BATCH_NORM, batch_norm, 3)                                                                             \
    X(MAX_POOL2D, max_pool2d, 1)                                                                             \
    X(AVG_POOL2D, avg_pool2d, 1)                                                                             \
    X(GLOBAL_AVG_POOL, global_avg_pool, 1)                                                                   \
    X(SPATIAL_STD_POOL, spatial_std_pool, 1)

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
 * gradients start from zero in every sweep, so a second call on the same graph (e.g. with
 * another seed) adds its leaf gradients to the first's. Memory: an intermediate's gradient is given back
 * as soon as its own backward kernel ran (nothing else reads it) and its bytes serve the gradients
 * allocated later in the sweep; afterwards only the leaves and `out` have a grad buffer (an intermediate's
 * grad is NULL). Returns the graph's status: a graph that
 * has already failed is not swept and its first error is returned. */
EB_API eb_status eb_graph_backward(eb_graph *g, eb_tensor *out, const float *seed);

/* ---- inference without a tape (deferred execution; src/tensor/graph_plan.c) ------------------------
 * After eb_graph_defer(g), ops check their inputs and record their nodes (shapes, parameters) but
 * allocate no output and compute nothing; parameters are constants (as eb_graph_freeze_params) and no
 * node requires a gradient. eb_graph_run(g, outputs, n) then computes the recorded nodes in order, with
 * every intermediate placed in ONE arena buffer by liveness: a tensor's bytes are reused as soon as its
 * last reader has run, so the buffer holds the largest set of tensors alive at one time instead of the
 * whole tape (eb_graph_planned_bytes reports its size). Afterwards the `outputs` (and every tensor made
 * before eb_graph_defer, and leaves) hold their values; the data of the other deferred nodes is
 * undefined (reused). The values are bitwise the eager ones (the same kernels on the same inputs).
 * eb_graph_run ends the deferred region: later ops run eagerly again (e.g. a score on the logits).
 * Errors: the graph's first error (a shape error while recording: nothing is computed then);
 * EB_ERR_STATE if eb_graph_defer was not called; batch_norm in training mode fails while deferring
 * (EB_ERR_STATE: its running statistics need the batch's values at once). eb_graph_reset ends a
 * deferred region without computing it. outputs may be NULL when n_outputs is 0. */
EB_API void eb_graph_defer(eb_graph *g);
EB_API eb_status eb_graph_run(eb_graph *g, eb_tensor *const *outputs, int n_outputs);
/* Size in bytes of the buffer the last eb_graph_run planned (0 before any, or if it failed). */
EB_API size_t eb_graph_planned_bytes(const eb_graph *g);

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

/* While frozen, eb_tensor_param() returns constants: a backward sweep then reaches only inputs, never
 * a parameter's gradient buffer. For d(f)/d(x) without touching the model's gradients, as SGLD
 * sampling and input pre-processing need. Not cleared by eb_graph_reset(). New graphs: not frozen. */
EB_API void eb_graph_freeze_params(eb_graph *g, bool frozen);

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
/* ReLU written over x's buffer (training memory: one activation fewer per conv–BN–ReLU) when that is
 * safe for the backward: x is the output of conv2d, batch_norm, add or linear (whose backward never reads
 * its own output) and the graph is not deferring; otherwise the same as eb_relu. The caller promises that
 * nothing reads x afterwards (x->data holds y then). Values and gradients equal eb_relu's. */
EB_API eb_tensor *eb_relu_inplace(eb_graph *g, eb_tensor *x);
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

/* ---- convolution, batch normalisation, pooling (NCHW float32, PyTorch semantics) ------------------ */
/* Images are x[N,C,H,W] (batch, channels, height, width), row-major. Thread-safety: as every op (one
 * graph per thread); eb_batch_norm also writes the caller's running-statistics buffers. */

typedef struct eb_conv2d_params {
    int stride_h, stride_w; /* ≥ 1 */
    int pad_h, pad_w;       /* ≥ 0: zeros added on both sides of each spatial dimension */
} eb_conv2d_params;
/* stride 1, pad 0 */
EB_API eb_conv2d_params eb_conv2d_default_params(void);

/* 2-D convolution (cross-correlation, as F.conv2d; dilation 1, groups 1):
 *   x[N,C,H,W], w[O,C,kh,kw], b[O] or NULL  →  y[N,O,H',W'],
 *   H' = ⌊(H + 2·pad_h − kh) / stride_h⌋ + 1,  W' = ⌊(W + 2·pad_w − kw) / stride_w⌋ + 1,
 *   y[n,o,i,j] = b[o] + Σ_{c,u,v} w[o,c,u,v] · x[n, c, i·stride_h − pad_h + u, j·stride_w − pad_w + v]
 * (x is zero outside its bounds). p NULL = eb_conv2d_default_params(). Gradients flow to x, w and b.
 * Errors (sticky): EB_ERR_SHAPE for x or w not 4-D, w's C ≠ x's C, b not [O], or a kernel larger than
 * the padded input; EB_ERR_ARG for stride < 1 or pad < 0. Scratch memory comes from the graph arena.
 * The reference kernel is im2col + OpenBLAS sgemm; results do not depend on the thread count. */
EB_API eb_tensor *eb_conv2d(eb_graph *g, eb_tensor *x, eb_tensor *w, eb_tensor *b, const eb_conv2d_params *p);

/* SyncBN: batch statistics over the rows of every rank of a data-parallel step (dist.h). The global loss
 * is Σ_r weight_r · L_r, L_r the loss of rank r's graph (data parallel with batch means: weight_r =
 * b_r / B, its share of the global batch's rows); each rank's gradients are kept in units of its own L_r
 * (the training loop scales them by weight_r before summing), so the backward's channel sums are
 * all-reduced weighted by weight_r and divided by this rank's weight_r (> 0). */
typedef struct eb_bn_sync {
    const eb_dist *dist;
    double weight;
} eb_bn_sync;

typedef struct eb_batch_norm_params {
    float momentum; /* in [0, 1]: running = (1 − momentum)·running + momentum·batch statistic */
    float eps;      /* > 0, added to the variance */
    bool training;  /* true: normalise with batch statistics and update the running ones */
    /* Training only, optional (NULL, or a context of one rank: this graph's batch alone): the batch
     * statistics of the rows of EVERY rank (SyncBN, eb_bn_sync). The forward all-reduces the channel
     * sums (then the squared deviations around the global mean: two passes, as one process), the
     * backward Σ g and Σ g·x̂; every rank must build the same BatchNorm ops in the same order. */
    const eb_bn_sync *sync;
    /* true: the op's output is max(0, y) (BatchNorm then ReLU in one op: one pass forward, and the backward
     * recomputes the ReLU mask from x instead of storing or reading it); values and gradients are bitwise
     * those of eb_relu on the BatchNorm's output (except the sign of an exact zero gradient). */
    bool relu;
} eb_batch_norm_params;
/* momentum 0.1, eps 1e-5, training = true, relu = false (nn.BatchNorm2d's defaults) */
EB_API eb_batch_norm_params eb_batch_norm_default_params(void);

/* Batch normalisation over channel axis 1 of x[N,C,H,W] (BatchNorm2d) or x[N,C] (BatchNorm1d):
 *   y = γ[c] · (x − μ[c]) / √(σ²[c] + eps) + β[c]
 * Training: μ, σ² are the batch mean and biased variance over the N·H·W values of each channel (needs
 * N·H·W ≥ 2); running_mean/running_var (C floats each, owned by the caller, e.g. model buffers) are
 * updated in place, PyTorch's rule: running_mean ← (1 − m)·running_mean + m·μ and
 * running_var ← (1 − m)·running_var + m·σ²·M/(M − 1) (the UNBIASED batch variance), M = N·H·W. They
 * may both be NULL in training (no running statistics, as track_running_stats=False). The update
 * happens when the op is built (on a failed graph, nothing is touched). The backward pass
 * differentiates through the batch statistics.
 * Eval (training = false): μ, σ² are read from running_mean/running_var (both required); y is affine
 * in x. gamma[C] and beta[C] may be NULL (γ = 1, β = 0, affine=False). p NULL = the defaults.
 * With p->sync (SyncBN) μ, σ² and M are those of the rows of every rank (M ≥ 2 over all of them).
 * Errors (sticky): EB_ERR_SHAPE for x not 2-D/4-D, gamma/beta not [C], training with M < 2;
 * EB_ERR_ARG for momentum outside [0, 1], eps ≤ 0, eval without running statistics, or only one of
 * running_mean/running_var given. */
EB_API eb_tensor *eb_batch_norm(eb_graph *g, eb_tensor *x, eb_tensor *gamma, eb_tensor *beta,
                                float *running_mean, float *running_var, const eb_batch_norm_params *p);

typedef struct eb_pool2d_params {
    int kernel_h, kernel_w; /* ≥ 1 */
    int stride_h, stride_w; /* ≥ 1 */
    int pad_h, pad_w;       /* 0 ≤ pad ≤ kernel / 2 (PyTorch's limit) */
} eb_pool2d_params;
/* A square window: kernel × kernel, stride and pad in both dimensions (nn.MaxPool2d(k, s, p)). */
EB_API eb_pool2d_params eb_pool2d_params_square(int kernel, int stride, int pad);

/* Pooling windows of x[N,C,H,W] → y[N,C,H',W'], H' = ⌊(H + 2·pad_h − kernel_h) / stride_h⌋ + 1 (floor
 * mode), W' likewise. max: padding counts as −∞; the gradient goes to the first maximum of each window
 * in row-major order (PyTorch's choice; NaN wins). avg: padding counts as 0 and every window divides by
 * kernel_h·kernel_w (count_include_pad=True, PyTorch's default). p is required.
 * Errors (sticky): EB_ERR_SHAPE for x not 4-D or a window larger than the padded input; EB_ERR_ARG for
 * p NULL, kernel < 1, stride < 1, or pad outside [0, kernel/2]. */
EB_API eb_tensor *eb_max_pool2d(eb_graph *g, eb_tensor *x, const eb_pool2d_params *p);
EB_API eb_tensor *eb_avg_pool2d(eb_graph *g, eb_tensor *x, const eb_pool2d_params *p);
/* Mean over the spatial dimensions: x[N,C,H,W] → [N,C] (EB_ERR_SHAPE unless x is 4-D with H·W ≥ 1). */
EB_API eb_tensor *eb_global_avg_pool(eb_graph *g, eb_tensor *x);
/* Unbiased standard deviation over the spatial dimensions: x[N,C,H,W] → y[N,C] with M = H·W,
 *   μ = (1/M) Σ_k x_k,  y = √( Σ_k (x_k − μ)² / (M − 1) )   (torch.std(x, dim=(2, 3)), Bessel's divisor)
 * over the M values x_k of each (n, c) plane; the pooling of HEAT's "GMM-std" features. Its gradient is
 * ∂y/∂x_k = (x_k − μ) / ((M − 1)·y), and 0 on a constant plane (y = 0, where y is not differentiable).
 * Errors (sticky): EB_ERR_SHAPE unless x is 4-D with H·W ≥ 2. */
EB_API eb_tensor *eb_spatial_std_pool(eb_graph *g, eb_tensor *x);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_TENSOR_H */
