/* Batch normalisation over channel axis 1 of x[N,C,H,W] or x[N,C] (nn.BatchNorm2d / BatchNorm1d;
 * Ioffe & Szegedy 2015). x is viewed as [N, C, S] with S = H·W (or 1); each channel has M = N·S values.
 *   x̂ = (x − μ_c) · r_c,  r_c = 1/√(σ²_c + eps),  y = γ_c · x̂ + β_c
 * Training: μ_c, σ²_c are the batch mean and biased variance; backward through them:
 *   ∂L/∂x = γ_c · r_c · (g − mean(g) − x̂ · mean(g · x̂)),  g = ∂L/∂y, means over the channel's M values.
 * Eval: μ, σ² are the running statistics (constants), so ∂L/∂x = γ_c · r_c · g.
 * Both: ∂L/∂γ_c = Σ g · x̂, ∂L/∂β_c = Σ g.
 * SyncBN (p->sync over more than one rank, tensor.h's eb_bn_sync): μ_c, σ²_c and M are those of the rows
 * of every rank, computed when the op is built by two all-reduces (the channel sums and M, then the sums
 * of squared deviations around the global μ: the same two passes as one process). With the global loss
 * Σ_r w_r L_r and each rank's gradient g in units of its own L_r, the backward all-reduces w_r·Σ g and
 * w_r·Σ g·x̂ (one call of 2C doubles) and uses mean(g) = Σ_r w_r Σ g / (M·w_r) (likewise for g·x̂) in the
 * formula above: the global gradient divided by this rank's w_r, which the training loop multiplies
 * back. ∂L/∂γ, ∂L/∂β stay this rank's sums (summed with the other parameters' gradients).
 * Fused ReLU (p->relu): the output is z = max(0, y), and the backward uses g' = ∂L/∂z · [y > 0] in place of
 * g above. y > 0 is recomputed from x with the forward's own float operations ((x − μ)·(γ·r) + β, the scale
 * and shift the forward used are kept), so no mask is stored and no ReLU node or pass exists; each value is
 * the one eb_relu on the BatchNorm's output gives (relu's derivative is [z > 0] = [y > 0], NaN included). */
#include "tensor/graph_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The node's aux data (arena). */
typedef struct bn_aux {
    int64_t n, c, s; /* x viewed as [n, c, s] */
    bool training;
    float *mean, *invstd; /* [C]: the μ and r the forward used (kept for backward) */
    float *var;           /* [C]: the biased batch variance (training) */
    /* SyncBN: the statistics came from every rank (computed when the op was built) */
    bool synced;
    const eb_dist *dist;
    double weight, m_count; /* this rank's loss weight w_r; M over all ranks */
    double *red;            /* [2C] scratch of the backward's all-reduce */
    bool relu;              /* fused ReLU: out = max(0, y) */
    float *scale, *shift;   /* [C]: γ·r and β as the forward used them (the backward's ReLU mask) */
} bn_aux;

static bool sync_stats(eb_graph *g, bn_aux *a, const float *x, double eps);

eb_batch_norm_params eb_batch_norm_default_params(void) {
    return (eb_batch_norm_params){.momentum = 0.1f, .eps = 1e-5f, .training = true};
}

static bool is_channel_vector(const eb_tensor *t, int64_t c) { return t->ndim == 1 && t->shape[0] == c; }

eb_tensor *eb_batch_norm(eb_graph *g, eb_tensor *x, eb_tensor *gamma, eb_tensor *beta, float *running_mean,
                         float *running_var, const eb_batch_norm_params *p) {
    if (!eb__inputs_ok(g, "batch_norm", x, NULL)) return eb__poison(g);
    const eb_batch_norm_params q = p ? *p : eb_batch_norm_default_params();
    if (!(q.momentum >= 0.0f && q.momentum <= 1.0f) || !(q.eps > 0.0f) || isinf(q.eps)) {
        eb_graph_fail(g, EB_ERR_ARG, "batch_norm: momentum %g must be in [0, 1] and eps %g finite and > 0",
                      (double)q.momentum, (double)q.eps);
        return eb__poison(g);
    }
    if (!running_mean != !running_var) {
        eb_graph_fail(g, EB_ERR_ARG,
                      "batch_norm: running_mean and running_var must both be given or both NULL");
        return eb__poison(g);
    }
    if (!q.training && !running_mean) {
        eb_graph_fail(g, EB_ERR_ARG, "batch_norm: eval mode needs running_mean and running_var");
        return eb__poison(g);
    }
    if (x->ndim != 2 && x->ndim != 4) {
        eb__fail_shapes(g, "batch_norm", x, NULL, "expected x[N,C] or x[N,C,H,W]");
        return eb__poison(g);
    }
    const int64_t n = x->shape[0], c = x->shape[1], s = x->ndim == 4 ? x->shape[2] * x->shape[3] : 1;
    if (gamma && !is_channel_vector(gamma, c)) {
        eb__fail_shapes(g, "batch_norm", x, gamma, "gamma must be [C] (C = x's dim 1)");
        return eb__poison(g);
    }
    if (beta && !is_channel_vector(beta, c)) {
        eb__fail_shapes(g, "batch_norm", x, beta, "beta must be [C] (C = x's dim 1)");
        return eb__poison(g);
    }
    if (q.training && g->deferring) { /* the running statistics would need the batch's values now */
        eb_graph_fail(g, EB_ERR_STATE, "batch_norm: training mode inside a deferred (tape-free) graph");
        return eb__poison(g);
    }
    const bool synced = q.training && q.sync && eb_dist_size(q.sync->dist) > 1;
    if (synced && !(q.sync->weight > 0.0 && isfinite(q.sync->weight))) {
        eb_graph_fail(g, EB_ERR_ARG, "batch_norm: SyncBN needs a loss weight > 0 (got %g)", q.sync->weight);
        return eb__poison(g);
    }
    if (q.training && !synced && n * s < 2) {
        eb__fail_shapes(g, "batch_norm", x, NULL, "training needs more than 1 value per channel");
        return eb__poison(g);
    }

    bn_aux *a = eb__arena_alloc(g, sizeof *a);
    float *stats = a ? eb__arena_alloc(g, (size_t)(5 * c + 1) * sizeof(float)) : NULL; /* +1: C may be 0 */
    if (!stats) return eb__poison(g);
    *a = (bn_aux){.n = n,
                  .c = c,
                  .s = s,
                  .training = q.training,
                  .mean = stats,
                  .invstd = stats + c,
                  .var = stats + 2 * c,
                  .synced = synced,
                  .relu = q.relu,
                  .scale = stats + 3 * c,
                  .shift = stats + 4 * c};
    if (synced) {
        a->dist = q.sync->dist;
        a->weight = q.sync->weight;
        if (!(a->red = eb__arena_alloc(g, (size_t)(2 * c + 1) * sizeof(double))) ||
            !sync_stats(g, a, x->data, (double)q.eps))
            return eb__poison(g);
    }
    if (!q.training)
        for (int64_t j = 0; j < c; j++) {
            a->mean[j] = running_mean[j];
            a->invstd[j] = (float)(1.0 / sqrt((double)running_var[j] + (double)q.eps));
        }

    eb_tensor *out = eb__node(g, EB_OP_BATCH_NORM, x->ndim, x->shape, x, gamma, beta);
    if (!out) return eb__poison(g);
    out->aux = a;
    out->fparam[0] = q.eps;
    eb__forward(out);

    /* running ← (1 − m)·running + m·batch, with the unbiased variance (PyTorch's rule) */
    if (q.training && running_mean) {
        const double count = synced ? a->m_count : (double)(n * s);
        const double m = (double)q.momentum, unbias = count / (count - 1.0);
        for (int64_t j = 0; j < c; j++) {
            running_mean[j] = (float)((1.0 - m) * (double)running_mean[j] + m * (double)a->mean[j]);
            running_var[j] = (float)((1.0 - m) * (double)running_var[j] + m * (double)a->var[j] * unbias);
        }
    }
    return out;
}

/* Pointer to x[i, ch, 0] in the [n, c, s] view. */
#define AT(base, a, i, ch) ((base) + ((i) * (a)->c + (ch)) * (a)->s)

/* Row sums in double with sixteen interleaved accumulators: element k of a row adds into lane k mod 16 (a
 * tail of < 16 elements into lane 0, in order), and the lanes are reduced in a fixed tree (bn_reduce). A
 * fixed order, no reassociation (no fast-math), sixteen independent add chains: the four chains of the
 * former version let one chain's add latency bound the pass (≈ 1 element per cycle, perf record: the
 * moments were 5 % of a small-CNN step). The lanes are two vectors of eight doubles (GCC vector
 * extensions), so every ISA the clones run adds the same doubles in the same order: the same bits, for any
 * thread count (a channel is one thread's). */
typedef double bn_v8d __attribute__((vector_size(64)));
typedef float bn_v8f __attribute__((vector_size(32)));
typedef int32_t bn_v8i __attribute__((vector_size(32)));
typedef float bn_v8f_u __attribute__((vector_size(32), aligned(4), may_alias)); /* an unaligned load */

/* Macros, not functions: a vector argument or result of a non-inlined function would change the ABI
 * between the clones (-Wpsabi). */
#define BN_LOAD8(x)  (*(const bn_v8f_u *)(const void *)(x))
#define BN_WIDEN(f)  __builtin_convertvector((f), bn_v8d)
#define BN_SPLAT(v)  ((bn_v8d){(v), (v), (v), (v), (v), (v), (v), (v)})
#define BN_SPLATF(v) ((bn_v8f){(v), (v), (v), (v), (v), (v), (v), (v)})

/* Inlined into each clone, so compiled for its ISA (a call would run the baseline code: SSE2 pieces). */
#if defined(__GNUC__)
#define BN_INLINE static inline __attribute__((always_inline))
#else
#define BN_INLINE static inline
#endif

/* lanes 0..7 in *a, 8..15 in *b: a + b lane by lane, then pairs, then pairs of pairs */
BN_INLINE double bn_reduce(const bn_v8d *a, const bn_v8d *b) {
    const bn_v8d t = *a + *b;
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

/* Σ (x[k] − shift)^p for p = 1 (returned) and p = 2 (*sq) */
BN_INLINE double row_moments(const float *x, int64_t n, double shift, double *sq) {
    const bn_v8d sh = BN_SPLAT(shift);
    bn_v8d s0 = BN_SPLAT(0.0), s1 = s0, q0 = s0, q1 = s0;
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        const bn_v8d c0 = BN_WIDEN(BN_LOAD8(x + k)) - sh, c1 = BN_WIDEN(BN_LOAD8(x + k + 8)) - sh;
        s0 += c0, s1 += c1;
        q0 += c0 * c0, q1 += c1 * c1;
    }
    for (; k < n; k++) {
        const double d = (double)x[k] - shift;
        s0[0] += d, q0[0] += d * d;
    }
    *sq += bn_reduce(&q0, &q1);
    return bn_reduce(&s0, &s1);
}

/* Σ g[k] (returned) and Σ (x[k] − shift)·g[k] (*dot) */
BN_INLINE double row_grad_moments(const float *x, const float *g, int64_t n, double shift, double *dot) {
    const bn_v8d sh = BN_SPLAT(shift);
    bn_v8d s0 = BN_SPLAT(0.0), s1 = s0, d0 = s0, d1 = s0;
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        const bn_v8d g0 = BN_WIDEN(BN_LOAD8(g + k)), g1 = BN_WIDEN(BN_LOAD8(g + k + 8));
        s0 += g0, s1 += g1;
        d0 += (BN_WIDEN(BN_LOAD8(x + k)) - sh) * g0, d1 += (BN_WIDEN(BN_LOAD8(x + k + 8)) - sh) * g1;
    }
    for (; k < n; k++) {
        s0[0] += (double)g[k];
        d0[0] += ((double)x[k] - shift) * (double)g[k];
    }
    *dot += bn_reduce(&d0, &d1);
    return bn_reduce(&s0, &s1);
}

/* The fused ReLU's mask: 1 where the forward's y = (x − mean)·scale + shift is > 0, else 0 (the same float
 * operations as the forward, so the same y; the ReLU's derivative y > 0 ? 1 : 0, NaN → 0). */
static inline float relu_keep(float x, float mean, float scale, float shift) {
    return (x - mean) * scale + shift > 0.0f ? 1.0f : 0.0f;
}

/* g·relu_keep(x, …) on eight lanes, as doubles: the mask as a bit-and with 1.0f, so each lane is the scalar
 * product */
#define BN_MASKED(x, g, mean, scale, beta)                                                                   \
    BN_WIDEN((g) * (bn_v8f)((bn_v8i)BN_SPLATF(1.0f) & (((x) - (mean)) * (scale) + (beta) > BN_SPLATF(0.0f))))

/* row_grad_moments with g[k]·relu_keep(x[k], …) for g[k]: the ReLU's input gradient, never stored */
BN_INLINE double row_grad_moments_relu(const float *x, const float *g, int64_t n, double shift, double *dot,
                                       float mean, float scale, float beta) {
    const bn_v8d sh = BN_SPLAT(shift);
    const bn_v8f mf = BN_SPLATF(mean), sf = BN_SPLATF(scale), bf = BN_SPLATF(beta);
    bn_v8d s0 = BN_SPLAT(0.0), s1 = s0, d0 = s0, d1 = s0;
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        const bn_v8f x0 = BN_LOAD8(x + k), x1 = BN_LOAD8(x + k + 8);
        const bn_v8d g0 = BN_MASKED(x0, BN_LOAD8(g + k), mf, sf, bf),
                     g1 = BN_MASKED(x1, BN_LOAD8(g + k + 8), mf, sf, bf);
        s0 += g0, s1 += g1;
        d0 += (BN_WIDEN(x0) - sh) * g0, d1 += (BN_WIDEN(x1) - sh) * g1;
    }
    for (; k < n; k++) {
        const double gk = (double)(g[k] * relu_keep(x[k], mean, scale, beta));
        s0[0] += gk;
        d0[0] += ((double)x[k] - shift) * gk;
    }
    *dot += bn_reduce(&d0, &d1);
    return bn_reduce(&s0, &s1);
}

/* The per-channel kernels of the general [N, C, S] path, cloned for AVX-512 / AVX2 / baseline and picked
 * at run time (EB_CLONES). `#pragma omp simd` vectorises the elementwise loops (no reductions:
 * every element's arithmetic is the scalar code's). */

/* Channel ch's mean and biased variance: two passes in double (the mean, then Σ (x − μ)² around it). */
EB_CLONES static void channel_stats(const bn_aux *a, const float *x, int64_t ch, double *mean, double *var) {
    double sum = 0.0, sq = 0.0, unused = 0.0, m_count = (double)(a->n * a->s);
    for (int64_t i = 0; i < a->n; i++) sum += row_moments(AT(x, a, i, ch), a->s, 0.0, &unused);
    *mean = sum / m_count;
    for (int64_t i = 0; i < a->n; i++) row_moments(AT(x, a, i, ch), a->s, *mean, &sq);
    *var = sq / m_count;
}

/* y = (x − mean)·scale + shift over channel ch; max(0, y) with the fused ReLU (eb_relu's expression) */
EB_CLONES static void channel_normalize(const bn_aux *a, const float *x, float *y, int64_t ch, float mean,
                                        float scale, float shift) {
    for (int64_t i = 0; i < a->n; i++) {
        const float *xi = AT(x, a, i, ch);
        float *yi = AT(y, a, i, ch);
        if (a->relu) {
#pragma omp simd
            for (int64_t k = 0; k < a->s; k++) {
                const float v = (xi[k] - mean) * scale + shift;
                yi[k] = v > 0.0f ? v : 0.0f;
            }
        } else {
#pragma omp simd
            for (int64_t k = 0; k < a->s; k++) yi[k] = (xi[k] - mean) * scale + shift;
        }
    }
}

/* Σ g (returned) and Σ (x − mean)·g (*sgx) over channel ch (g' = g·mask with the fused ReLU) */
EB_CLONES static double channel_grad_sums(const bn_aux *a, const float *x, const float *gy, int64_t ch,
                                          float mean, double *sgx) {
    double sg = 0.0;
    for (int64_t i = 0; i < a->n; i++)
        sg += a->relu ? row_grad_moments_relu(AT(x, a, i, ch), AT(gy, a, i, ch), a->s, mean, sgx, mean,
                                              a->scale[ch], a->shift[ch])
                      : row_grad_moments(AT(x, a, i, ch), AT(gy, a, i, ch), a->s, mean, sgx);
    return sg;
}

/* gx += k_scale·(g − g_mean − (x − mean)·r·gx_mean) over channel ch; gx = … when store (gx's first writer:
 * eb__grad_fresh, the buffer is not zeroed); g' = g·mask for g with the fused ReLU */
EB_CLONES static void channel_input_grad(const bn_aux *a, const float *x, const float *gy, float *gx,
                                         int64_t ch, float mean, float r, float k_scale, float g_mean,
                                         float gx_mean, bool store) {
    const float scale = a->relu ? a->scale[ch] : 0.0f, shift = a->relu ? a->shift[ch] : 0.0f;
    for (int64_t i = 0; i < a->n; i++) {
        const float *xi = AT(x, a, i, ch), *gi = AT(gy, a, i, ch);
        float *gxi = AT(gx, a, i, ch);
        if (a->relu && store) {
#pragma omp simd
            for (int64_t k = 0; k < a->s; k++)
                gxi[k] = k_scale * (gi[k] * relu_keep(xi[k], mean, scale, shift) - g_mean -
                                    (xi[k] - mean) * r * gx_mean);
        } else if (a->relu) {
#pragma omp simd
            for (int64_t k = 0; k < a->s; k++)
                gxi[k] += k_scale * (gi[k] * relu_keep(xi[k], mean, scale, shift) - g_mean -
                                     (xi[k] - mean) * r * gx_mean);
        } else if (store) {
#pragma omp simd
            for (int64_t k = 0; k < a->s; k++)
                gxi[k] = k_scale * (gi[k] - g_mean - (xi[k] - mean) * r * gx_mean);
        } else {
#pragma omp simd
            for (int64_t k = 0; k < a->s; k++)
                gxi[k] += k_scale * (gi[k] - g_mean - (xi[k] - mean) * r * gx_mean);
        }
    }
}

bool eb__bn_force_general = false;

/* x[N, C] (S = 1): the same sums as the general path below (per channel, in row order, in double;
 * the general path's row_moments of length 1 adds exactly (double)x − shift), but walking x row by
 * row with C accumulators instead of one strided column at a time (which called row_moments N·C
 * times). Bitwise equal to the general path (tests/test_tensor_ops.c checks it). Channels are split
 * into blocks for the threads; each channel's additions stay in row order. */
#define BN2D_BLOCK 64
static void forward_2d(eb_tensor *out, const bn_aux *a, const float *x, const float *gamma, const float *beta,
                       double eps) {
    const int64_t n = a->n, c = a->c;
    const int64_t n_blocks = (c + BN2D_BLOCK - 1) / BN2D_BLOCK;
#pragma omp parallel for if (out->size > EB_PARALLEL_MIN)
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        const int64_t c0 = blk * BN2D_BLOCK, c1 = c0 + BN2D_BLOCK < c ? c0 + BN2D_BLOCK : c;
        float scale[BN2D_BLOCK], shift[BN2D_BLOCK], mean[BN2D_BLOCK];
        if (a->training && !a->synced) {
            double sum[BN2D_BLOCK] = {0}, sq[BN2D_BLOCK] = {0}, mu[BN2D_BLOCK];
            const double m_count = (double)n;
            for (int64_t i = 0; i < n; i++) {
                const float *xi = x + i * c;
                for (int64_t ch = c0; ch < c1; ch++) sum[ch - c0] += (double)xi[ch];
            }
            for (int64_t ch = c0; ch < c1; ch++) mu[ch - c0] = sum[ch - c0] / m_count;
            for (int64_t i = 0; i < n; i++) {
                const float *xi = x + i * c;
                for (int64_t ch = c0; ch < c1; ch++) {
                    double d = (double)xi[ch] - mu[ch - c0];
                    sq[ch - c0] += d * d;
                }
            }
            for (int64_t ch = c0; ch < c1; ch++) {
                double var = sq[ch - c0] / m_count;
                a->mean[ch] = (float)mu[ch - c0];
                a->var[ch] = (float)var;
                a->invstd[ch] = (float)(1.0 / sqrt(var + eps));
            }
        }
        for (int64_t ch = c0; ch < c1; ch++) {
            mean[ch - c0] = a->mean[ch];
            scale[ch - c0] = a->invstd[ch] * (gamma ? gamma[ch] : 1.0f);
            shift[ch - c0] = beta ? beta[ch] : 0.0f;
            a->scale[ch] = scale[ch - c0];
            a->shift[ch] = shift[ch - c0];
        }
        for (int64_t i = 0; i < n; i++) {
            const float *xi = x + i * c;
            float *yi = out->data + i * c;
            for (int64_t ch = c0; ch < c1; ch++) {
                const float v = (xi[ch] - mean[ch - c0]) * scale[ch - c0] + shift[ch - c0];
                yi[ch] = a->relu && !(v > 0.0f) ? 0.0f : v;
            }
        }
    }
}

/* g, or g·mask with the fused ReLU (the 2-D path's per-element form of the general path's masks) */
static inline float grad_at(const bn_aux *a, float g, float x, int64_t ch) {
    return a->relu ? g * relu_keep(x, a->mean[ch], a->scale[ch], a->shift[ch]) : g;
}

/* Backward of forward_2d: the general path's sums (Σ g, Σ (x − μ)·g per channel, row order, double). */
static void backward_2d(eb_tensor *out, const bn_aux *a, const float *x, const float *gy, const float *gamma,
                        float *gx, float *ggamma, float *gbeta, bool store) {
    const int64_t n = a->n, c = a->c;
    const double m_count = (double)n;
    const int64_t n_blocks = (c + BN2D_BLOCK - 1) / BN2D_BLOCK;
#pragma omp parallel for if (out->size > EB_PARALLEL_MIN)
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        const int64_t c0 = blk * BN2D_BLOCK, c1 = c0 + BN2D_BLOCK < c ? c0 + BN2D_BLOCK : c;
        double sg[BN2D_BLOCK] = {0}, sgx[BN2D_BLOCK] = {0};
        float mean[BN2D_BLOCK], r[BN2D_BLOCK], k_scale[BN2D_BLOCK], g_mean[BN2D_BLOCK], gx_mean[BN2D_BLOCK];
        for (int64_t ch = c0; ch < c1; ch++) {
            mean[ch - c0] = a->mean[ch];
            r[ch - c0] = a->invstd[ch];
        }
        for (int64_t i = 0; i < n; i++) {
            const float *xi = x + i * c, *gi = gy + i * c;
            for (int64_t ch = c0; ch < c1; ch++) {
                double g = (double)grad_at(a, gi[ch], xi[ch], ch);
                sg[ch - c0] += g;
                sgx[ch - c0] += ((double)xi[ch] - (double)mean[ch - c0]) * g;
            }
        }
        for (int64_t ch = c0; ch < c1; ch++) {
            const double sgx_r = sgx[ch - c0] * (double)r[ch - c0];
            if (ggamma) ggamma[ch] += (float)sgx_r;
            if (gbeta) gbeta[ch] += (float)sg[ch - c0];
            k_scale[ch - c0] = r[ch - c0] * (gamma ? gamma[ch] : 1.0f);
            g_mean[ch - c0] = a->training ? (float)(sg[ch - c0] / m_count) : 0.0f;
            gx_mean[ch - c0] = a->training ? (float)(sgx_r / m_count) : 0.0f;
        }
        if (!gx) continue;
        for (int64_t i = 0; i < n; i++) {
            const float *xi = x + i * c, *gi = gy + i * c;
            float *gxi = gx + i * c;
            for (int64_t ch = c0; ch < c1; ch++) {
                const int64_t j = ch - c0;
                const float v = k_scale[j] * (grad_at(a, gi[ch], xi[ch], ch) - g_mean[j] -
                                              (xi[ch] - mean[j]) * r[j] * gx_mean[j]);
                gxi[ch] = store ? v : gxi[ch] + v;
            }
        }
    }
}

/* ---- SyncBN ---------------------------------------------------------------------------------------- */

/* μ, σ², r of the rows of every rank into a (the general path's per-channel sums, in double, then summed
 * over the ranks). False (the graph failed) if a collective fails or M < 2. */
static bool sync_stats(eb_graph *g, bn_aux *a, const float *x, double eps) {
    const int64_t c = a->c;
    double *sum = a->red; /* [C + 1]: the channel sums, then M */
#pragma omp parallel for if (a->n * a->c * a->s > EB_PARALLEL_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        double acc = 0.0, unused = 0.0;
        for (int64_t i = 0; i < a->n; i++) acc += row_moments(AT(x, a, i, ch), a->s, 0.0, &unused);
        sum[ch] = acc;
    }
    sum[c] = (double)(a->n * a->s);
    eb_error err = {0};
    if (eb_dist_sum_f64(a->dist, sum, c + 1, &err)) {
        eb_graph_fail(g, EB_ERR_IO, "batch_norm: SyncBN: %s", err.message);
        return false;
    }
    a->m_count = sum[c];
    if (a->m_count < 2.0) {
        eb_graph_fail(g, EB_ERR_SHAPE,
                      "batch_norm: SyncBN needs more than 1 value per channel over all ranks");
        return false;
    }
    for (int64_t ch = 0; ch < c; ch++) sum[ch] /= a->m_count; /* μ, in double */
    double *sq = sum + c;                                     /* [C]: Σ (x − μ)² */
#pragma omp parallel for if (a->n * a->c * a->s > EB_PARALLEL_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        double acc = 0.0;
        for (int64_t i = 0; i < a->n; i++) row_moments(AT(x, a, i, ch), a->s, sum[ch], &acc);
        sq[ch] = acc;
    }
    /* sq overlaps sum[c] (M, already read) only: the means stay in sum[0..C) */
    if (eb_dist_sum_f64(a->dist, sq, c, &err)) {
        eb_graph_fail(g, EB_ERR_IO, "batch_norm: SyncBN: %s", err.message);
        return false;
    }
    for (int64_t ch = 0; ch < c; ch++) {
        const double var = sq[ch] / a->m_count;
        a->mean[ch] = (float)sum[ch];
        a->var[ch] = (float)var;
        a->invstd[ch] = (float)(1.0 / sqrt(var + eps));
    }
    return true;
}

/* The backward with the all-reduced, loss-weighted channel sums (see the top of the file); gx stored
 * rather than accumulated when store (a fresh gradient buffer). */
static void backward_sync(eb_tensor *out, const bn_aux *a, const float *x, const float *gy,
                          const float *gamma, float *gx, float *ggamma, float *gbeta, bool store) {
    const int64_t c = a->c;
    double *red = a->red; /* [Σ g per channel; Σ g·x̂ per channel] */
#pragma omp parallel for if (out->size > EB_PARALLEL_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        double sgx = 0.0;
        red[ch] = channel_grad_sums(a, x, gy, ch, a->mean[ch], &sgx);
        red[c + ch] = sgx * (double)a->invstd[ch];
    }
    for (int64_t ch = 0; ch < c; ch++) {
        if (ggamma) ggamma[ch] += (float)red[c + ch];
        if (gbeta) gbeta[ch] += (float)red[ch];
    }
    for (int64_t j = 0; j < 2 * c; j++) red[j] *= a->weight;
    eb_error err = {0};
    if (eb_dist_sum_f64(a->dist, red, 2 * c, &err)) { /* no status to return from a backward kernel */
        fprintf(stderr, "batch_norm: SyncBN backward: %s\n", err.message);
        eb_dist_abort(a->dist, 1);
        abort();
    }
    if (!gx) return;
    const double scale = 1.0 / (a->m_count * a->weight);
#pragma omp parallel for if (out->size > EB_PARALLEL_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float r = a->invstd[ch];
        channel_input_grad(a, x, gy, gx, ch, a->mean[ch], r, r * (gamma ? gamma[ch] : 1.0f),
                           (float)(red[ch] * scale), (float)(red[c + ch] * scale), store);
    }
}

void eb__forward_batch_norm(eb_tensor *out) {
    const bn_aux *a = out->aux;
    const float *x = out->src[0]->data;
    const float *gamma = out->src[1] ? out->src[1]->data : NULL,
                *beta = out->src[2] ? out->src[2]->data : NULL;
    const double eps = (double)out->fparam[0];
    if (a->s == 1 && !eb__bn_force_general) {
        forward_2d(out, a, x, gamma, beta, eps);
        return;
    }
#pragma omp parallel for if (out->size > EB_PARALLEL_MIN)
    for (int64_t ch = 0; ch < a->c; ch++) {
        if (a->training && !a->synced) {
            double mean, var;
            channel_stats(a, x, ch, &mean, &var);
            a->mean[ch] = (float)mean;
            a->var[ch] = (float)var;
            a->invstd[ch] = (float)(1.0 / sqrt(var + eps));
        }
        a->scale[ch] = a->invstd[ch] * (gamma ? gamma[ch] : 1.0f);
        a->shift[ch] = beta ? beta[ch] : 0.0f;
        channel_normalize(a, x, out->data, ch, a->mean[ch], a->scale[ch], a->shift[ch]);
    }
}

void eb__backward_batch_norm(eb_tensor *out) {
    const bn_aux *a = out->aux;
    const float *x = out->src[0]->data, *gy = out->grad;
    const float *gamma = out->src[1] ? out->src[1]->data : NULL;
    float *gx = eb__src_grad(out, 0), *ggamma = eb__src_grad(out, 1), *gbeta = eb__src_grad(out, 2);
    /* a fresh (not zeroed) source gradient (graph.c): x's is stored, γ's and β's ([C]) zeroed here */
    const bool store = gx && (eb__grad_fresh & 1u);
    if (ggamma && (eb__grad_fresh & 2u)) memset(ggamma, 0, (size_t)a->c * sizeof(float));
    if (gbeta && (eb__grad_fresh & 4u)) memset(gbeta, 0, (size_t)a->c * sizeof(float));
    const double m_count = (double)(a->n * a->s);
    if (a->synced) {
        backward_sync(out, a, x, gy, gamma, gx, ggamma, gbeta, store);
        return;
    }
    if (a->s == 1 && !eb__bn_force_general) {
        backward_2d(out, a, x, gy, gamma, gx, ggamma, gbeta, store);
        return;
    }
#pragma omp parallel for if (out->size > EB_PARALLEL_MIN)
    for (int64_t ch = 0; ch < a->c; ch++) {
        const float mean = a->mean[ch], r = a->invstd[ch];
        double sgx = 0.0; /* Σ g, then Σ g·x̂ = r·Σ g·(x − μ) */
        const double sg = channel_grad_sums(a, x, gy, ch, mean, &sgx);
        sgx *= (double)r;
        if (ggamma) ggamma[ch] += (float)sgx;
        if (gbeta) gbeta[ch] += (float)sg;
        if (!gx) continue;
        const float k_scale = r * (gamma ? gamma[ch] : 1.0f);
        const float g_mean = a->training ? (float)(sg / m_count) : 0.0f;
        const float gx_mean = a->training ? (float)(sgx / m_count) : 0.0f;
        channel_input_grad(a, x, gy, gx, ch, mean, r, k_scale, g_mean, gx_mean, store);
    }
}
