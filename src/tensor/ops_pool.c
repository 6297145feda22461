/* Pooling over the spatial dimensions of x[N,C,H,W]: max and average windows (F.max_pool2d,
 * F.avg_pool2d with floor mode and count_include_pad=True), the global average and the global unbiased
 * standard deviation (→ [N,C]).
 * Window (i, j) covers rows i·sh − ph .. i·sh − ph + kh − 1 and columns likewise; the part outside
 * the image is padding (−∞ for max, 0 for average). Every (n, c) plane is independent: OpenMP runs
 * over planes. */
#include "tensor/graph_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The AVX-512 row kernel of the 2×2 max-pool (GCC or clang on x86-64; chosen at run time). */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define EB_POOL_AVX512 1
#include <immintrin.h>
#else
#define EB_POOL_AVX512 0
#endif

/* The node's aux data (arena). */
typedef struct pool_aux {
    eb_pool2d_params p;
    int32_t *argmax; /* max: offset in its H·W plane of each output's winner */
} pool_aux;

eb_pool2d_params eb_pool2d_params_square(int kernel, int stride, int pad) {
    return (eb_pool2d_params){.kernel_h = kernel,
                              .kernel_w = kernel,
                              .stride_h = stride,
                              .stride_w = stride,
                              .pad_h = pad,
                              .pad_w = pad};
}

static eb_tensor *pool_node(eb_graph *g, eb_op op, eb_tensor *x, const eb_pool2d_params *p) {
    const char *name = eb_op_name(op);
    if (!eb__inputs_ok(g, name, x, NULL)) return eb__poison(g);
    if (!p) {
        eb_graph_fail(g, EB_ERR_ARG, "%s: pooling parameters are NULL", name);
        return eb__poison(g);
    }
    if (p->kernel_h < 1 || p->kernel_w < 1 || p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 ||
        p->pad_w < 0 || p->pad_h > p->kernel_h / 2 || p->pad_w > p->kernel_w / 2) {
        eb_graph_fail(
            g, EB_ERR_ARG,
            "%s: kernel (%d, %d) and stride (%d, %d) must be >= 1 and padding (%d, %d) in [0, kernel/2]",
            name, p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->pad_h, p->pad_w);
        return eb__poison(g);
    }
    if (x->ndim != 4) {
        eb__fail_shapes(g, name, x, NULL, "expected x[N,C,H,W]");
        return eb__poison(g);
    }
    const int64_t hp = x->shape[2] + 2 * (int64_t)p->pad_h, wp = x->shape[3] + 2 * (int64_t)p->pad_w;
    if (p->kernel_h > hp || p->kernel_w > wp || x->shape[2] * x->shape[3] > INT32_MAX) {
        char why[160];
        snprintf(why, sizeof why, "window %dx%d larger than the padded input %lldx%lld (padding %d, %d)",
                 p->kernel_h, p->kernel_w, (long long)hp, (long long)wp, p->pad_h, p->pad_w);
        eb__fail_shapes(g, name, x, NULL, x->shape[2] * x->shape[3] > INT32_MAX ? "plane too large" : why);
        return eb__poison(g);
    }
    const int64_t oh = (hp - p->kernel_h) / p->stride_h + 1, ow = (wp - p->kernel_w) / p->stride_w + 1;
    const int64_t out_size = x->shape[0] * x->shape[1] * oh * ow;
    pool_aux *a = eb__arena_alloc(g, sizeof *a);
    if (!a) return eb__poison(g);
    a->p = *p;
    a->argmax = NULL;
    /* the argmax indices serve only the backward: none when no gradient reaches x (inference) */
    if (op == EB_OP_MAX_POOL2D && x->requires_grad &&
        !(a->argmax = eb__arena_alloc(g, (size_t)(out_size ? out_size : 1) * sizeof(int32_t))))
        return eb__poison(g);
    eb_tensor *out = eb__node(g, op, 4, EB_SHAPE(x->shape[0], x->shape[1], oh, ow), x, NULL, NULL);
    if (!out) return eb__poison(g);
    out->aux = a;
    eb__forward(out);
    return out;
}

eb_tensor *eb_max_pool2d(eb_graph *g, eb_tensor *x, const eb_pool2d_params *p) {
    return pool_node(g, EB_OP_MAX_POOL2D, x, p);
}
eb_tensor *eb_avg_pool2d(eb_graph *g, eb_tensor *x, const eb_pool2d_params *p) {
    return pool_node(g, EB_OP_AVG_POOL2D, x, p);
}

/* Image and output sizes of a pooling node; planes = N·C. */
typedef struct pool_geom {
    int64_t h, w, oh, ow, planes;
} pool_geom;

bool eb__pool_force_general = false;

static pool_geom geom_of(const eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    return (pool_geom){.h = x->shape[2],
                       .w = x->shape[3],
                       .oh = out->shape[2],
                       .ow = out->shape[3],
                       .planes = x->shape[0] * x->shape[1]};
}

/* The window of output (i, j) clipped to the image: rows [*h0, *h1), columns [*w0, *w1). */
static void window(const eb_pool2d_params *p, const pool_geom *s, int64_t i, int64_t j, int64_t *h0,
                   int64_t *h1, int64_t *w0, int64_t *w1) {
    int64_t hs = i * p->stride_h - p->pad_h, ws = j * p->stride_w - p->pad_w;
    *h0 = hs > 0 ? hs : 0;
    *h1 = hs + p->kernel_h < s->h ? hs + p->kernel_h : s->h;
    *w0 = ws > 0 ? ws : 0;
    *w1 = ws + p->kernel_w < s->w ? ws + p->kernel_w : s->w;
}

/* One step of the scan: v wins if strictly greater than the running maximum, or NaN. */
static inline void max_step(float v, int64_t at, float *m, int64_t *best) {
    if (v > *m || isnan(v)) {
        *m = v;
        *best = at;
    }
}

/* 2×2 windows, stride 2, no padding (the small CNN's pooling: 11 % of its training step and 19 % of its
 * inference as a scalar loop, perf record, issue 16): the same four steps in the same order as the general
 * loop, written without branches (a step takes v where v > m or v is NaN). The first step always takes the
 * window's first pixel (m starts at −∞, and −∞ > −∞ is false, but then m = −∞ = that pixel either way).
 * The values and the argmax are the general loop's (tests/test_tensor_fastpaths.c). One output row at a
 * time: with AVX-512, 16 outputs per step from masked loads of both input rows split into even and odd
 * columns (rows of 7 or 14 outputs are shorter than one vector, so the compiler's loop would run its
 * scalar remainder); otherwise an omp simd loop (EB_CLONES). */
EB_CLONES static void pool_2x2_row(const float *r0, const float *r1, int64_t ow, int32_t at0, int32_t at1,
                                   float *y, int32_t *argmax) {
    if (!argmax) {
#pragma omp simd
        for (int64_t j = 0; j < ow; j++) {
            float m = r0[2 * j], v;
            v = r0[2 * j + 1];
            m = (v > m || v != v) ? v : m;
            v = r1[2 * j];
            m = (v > m || v != v) ? v : m;
            v = r1[2 * j + 1];
            m = (v > m || v != v) ? v : m;
            y[j] = m;
        }
        return;
    }
#pragma omp simd
    for (int64_t j = 0; j < ow; j++) {
        const int32_t c0 = at0 + 2 * (int32_t)j, c1 = at1 + 2 * (int32_t)j;
        float m = r0[2 * j], v;
        int32_t best = c0;
        bool take;
        v = r0[2 * j + 1];
        take = v > m || v != v;
        m = take ? v : m;
        best = take ? c0 + 1 : best;
        v = r1[2 * j];
        take = v > m || v != v;
        m = take ? v : m;
        best = take ? c1 : best;
        v = r1[2 * j + 1];
        take = v > m || v != v;
        m = take ? v : m;
        best = take ? c1 + 1 : best;
        y[j] = m;
        argmax[j] = best;
    }
}

#if EB_POOL_AVX512
/* The row kernel above with AVX-512 intrinsics, 16 outputs (32 input columns of each row) per step. */
__attribute__((target("avx512f"))) static void pool_2x2_row_avx512(const float *r0, const float *r1,
                                                                   int64_t ow, int32_t at0, int32_t at1,
                                                                   float *y, int32_t *argmax) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i one = _mm512_set1_epi32(1), odd = _mm512_add_epi32(even, one);
    for (int64_t j = 0; j < ow; j += 16) {
        const int64_t n = ow - j < 16 ? ow - j : 16, n2 = 2 * n; /* outputs, input columns */
        const __mmask16 out_m = (__mmask16)((1u << n) - 1u);
        const __mmask16 lo_m = (__mmask16)(n2 >= 16 ? 0xffffu : (1u << n2) - 1u);
        const __mmask16 hi_m = (__mmask16)(n2 > 16 ? (1u << (n2 - 16)) - 1u : 0u);
        const float *p0 = r0 + 2 * j, *p1 = r1 + 2 * j;
        const __m512 zero = _mm512_setzero_ps(), a_lo = _mm512_maskz_loadu_ps(lo_m, p0),
                     b_lo = _mm512_maskz_loadu_ps(lo_m, p1);
        const __m512 a_hi = hi_m ? _mm512_maskz_loadu_ps(hi_m, p0 + 16) : zero,
                     b_hi = hi_m ? _mm512_maskz_loadu_ps(hi_m, p1 + 16) : zero;
        const __m512 v1 = _mm512_permutex2var_ps(a_lo, odd, a_hi),
                     v2 = _mm512_permutex2var_ps(b_lo, even, b_hi);
        const __m512 v3 = _mm512_permutex2var_ps(b_lo, odd, b_hi);
        __m512 m = _mm512_permutex2var_ps(a_lo, even, a_hi);
        const __mmask16 t1 = _mm512_cmp_ps_mask(v1, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q);
        m = _mm512_mask_mov_ps(m, t1, v1);
        const __mmask16 t2 = _mm512_cmp_ps_mask(v2, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v2, v2, _CMP_UNORD_Q);
        m = _mm512_mask_mov_ps(m, t2, v2);
        const __mmask16 t3 = _mm512_cmp_ps_mask(v3, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v3, v3, _CMP_UNORD_Q);
        m = _mm512_mask_mov_ps(m, t3, v3);
        _mm512_mask_storeu_ps(y + j, out_m, m);
        if (argmax) {
            const __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32(at0 + 2 * (int32_t)j), even);
            const __m512i c1 = _mm512_add_epi32(_mm512_set1_epi32(at1 + 2 * (int32_t)j), even);
            __m512i best = _mm512_mask_mov_epi32(c0, t1, _mm512_add_epi32(c0, one));
            best = _mm512_mask_mov_epi32(best, t2, c1);
            best = _mm512_mask_mov_epi32(best, t3, _mm512_add_epi32(c1, one));
            _mm512_mask_storeu_epi32(argmax + j, out_m, best);
        }
    }
}
#endif

bool eb__pool_force_portable = false;

static void max_pool_2x2(const pool_aux *a, const pool_geom *s, const float *x, float *y, int64_t n_in) {
    void (*row)(const float *, const float *, int64_t, int32_t, int32_t, float *, int32_t *) = pool_2x2_row;
#if EB_POOL_AVX512
    if (!eb__pool_force_portable && __builtin_cpu_supports("avx512f")) row = pool_2x2_row_avx512;
#endif
#pragma omp parallel for if (n_in > EB_PARALLEL_MIN)
    for (int64_t pl = 0; pl < s->planes; pl++) {
        const float *xp = x + pl * s->h * s->w;
        for (int64_t i = 0; i < s->oh; i++) {
            const float *r0 = xp + 2 * i * s->w;
            const int64_t k0 = (pl * s->oh + i) * s->ow;
            row(r0, r0 + s->w, s->ow, (int32_t)(2 * i * s->w), (int32_t)((2 * i + 1) * s->w), y + k0,
                a->argmax ? a->argmax + k0 : NULL);
        }
    }
}

/* Scan order row-major; a later value wins only if strictly greater (or NaN), as PyTorch's CPU kernel.
 * pad ≤ kernel/2 guarantees every window holds at least one pixel. */
void eb__forward_max_pool2d(eb_tensor *out) {
    const pool_aux *a = out->aux;
    const pool_geom s = geom_of(out);
    const float *x = out->src[0]->data;
    const eb_pool2d_params *p = &a->p;
    if (p->kernel_h == 2 && p->kernel_w == 2 && p->stride_h == 2 && p->stride_w == 2 && !p->pad_h &&
        !p->pad_w && !eb__pool_force_general) {
        max_pool_2x2(a, &s, x, out->data, out->src[0]->size);
        return;
    }
#pragma omp parallel for if (out->src[0]->size > EB_PARALLEL_MIN)
    for (int64_t pl = 0; pl < s.planes; pl++) {
        const float *xp = x + pl * s.h * s.w;
        for (int64_t i = 0; i < s.oh; i++)
            for (int64_t j = 0; j < s.ow; j++) {
                int64_t h0, h1, w0, w1;
                window(&a->p, &s, i, j, &h0, &h1, &w0, &w1);
                float m = -INFINITY;
                int64_t best = h0 * s.w + w0;
                for (int64_t y = h0; y < h1; y++)
                    for (int64_t z = w0; z < w1; z++) max_step(xp[y * s.w + z], y * s.w + z, &m, &best);
                int64_t k = (pl * s.oh + i) * s.ow + j;
                out->data[k] = m;
                if (a->argmax) a->argmax[k] = (int32_t)best;
            }
    }
}

/* Each output's gradient goes to its window's argmax. As the first writer of gx (eb__grad_fresh: the sweep
 * did not zero it) each plane is zeroed here just before its scatter, while it is in cache, instead of the
 * whole tensor in a separate pass: the same additions onto the same zeros. */
void eb__backward_max_pool2d(eb_tensor *out) {
    const pool_aux *a = out->aux;
    const pool_geom s = geom_of(out);
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
    const int64_t per_plane = s.oh * s.ow;
    const bool fresh = eb__grad_fresh & 1u;
#pragma omp parallel for if (out->src[0]->size > EB_PARALLEL_MIN)
    for (int64_t pl = 0; pl < s.planes; pl++) {
        float *gp = gx + pl * s.h * s.w;
        if (fresh) memset(gp, 0, (size_t)(s.h * s.w) * sizeof(float));
        for (int64_t k = pl * per_plane; k < (pl + 1) * per_plane; k++) gp[a->argmax[k]] += out->grad[k];
    }
}

/* y = (Σ of the window's pixels) / (kh·kw): padding counts as zeros in the divisor. */
void eb__forward_avg_pool2d(eb_tensor *out) {
    const pool_aux *a = out->aux;
    const pool_geom s = geom_of(out);
    const float *x = out->src[0]->data;
    const double inv = 1.0 / ((double)a->p.kernel_h * (double)a->p.kernel_w);
#pragma omp parallel for if (out->src[0]->size > EB_PARALLEL_MIN)
    for (int64_t pl = 0; pl < s.planes; pl++) {
        const float *xp = x + pl * s.h * s.w;
        for (int64_t i = 0; i < s.oh; i++)
            for (int64_t j = 0; j < s.ow; j++) {
                int64_t h0, h1, w0, w1;
                window(&a->p, &s, i, j, &h0, &h1, &w0, &w1);
                double sum = 0.0;
                for (int64_t y = h0; y < h1; y++)
                    for (int64_t z = w0; z < w1; z++) sum += (double)xp[y * s.w + z];
                out->data[(pl * s.oh + i) * s.ow + j] = (float)(sum * inv);
            }
    }
}

void eb__backward_avg_pool2d(eb_tensor *out) {
    const pool_aux *a = out->aux;
    const pool_geom s = geom_of(out);
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
    const float inv = (float)(1.0 / ((double)a->p.kernel_h * (double)a->p.kernel_w));
#pragma omp parallel for if (out->src[0]->size > EB_PARALLEL_MIN)
    for (int64_t pl = 0; pl < s.planes; pl++) {
        float *gp = gx + pl * s.h * s.w;
        for (int64_t i = 0; i < s.oh; i++)
            for (int64_t j = 0; j < s.ow; j++) {
                int64_t h0, h1, w0, w1;
                window(&a->p, &s, i, j, &h0, &h1, &w0, &w1);
                float g = out->grad[(pl * s.oh + i) * s.ow + j] * inv;
                for (int64_t y = h0; y < h1; y++)
                    for (int64_t z = w0; z < w1; z++) gp[y * s.w + z] += g;
            }
    }
}

eb_tensor *eb_global_avg_pool(eb_graph *g, eb_tensor *x) {
    if (!eb__inputs_ok(g, "global_avg_pool", x, NULL)) return eb__poison(g);
    if (x->ndim != 4 || x->shape[2] * x->shape[3] == 0) {
        eb__fail_shapes(g, "global_avg_pool", x, NULL, "expected x[N,C,H,W] with H·W >= 1");
        return eb__poison(g);
    }
    eb_tensor *out = eb__node(g, EB_OP_GLOBAL_AVG_POOL, 2, EB_SHAPE(x->shape[0], x->shape[1]), x, NULL, NULL);
    if (!out) return eb__poison(g);
    eb__forward(out);
    return out;
}

/* y[n,c] = mean over the H·W plane (in double) */
void eb__forward_global_avg_pool(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    const int64_t hw = x->shape[2] * x->shape[3];
#pragma omp parallel for if (x->size > EB_PARALLEL_MIN)
    for (int64_t pl = 0; pl < out->size; pl++) {
        double sum = 0.0;
        for (int64_t k = 0; k < hw; k++) sum += (double)x->data[pl * hw + k];
        out->data[pl] = (float)(sum / (double)hw);
    }
}

void eb__backward_global_avg_pool(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
    const int64_t hw = x->shape[2] * x->shape[3];
    const float inv = (float)(1.0 / (double)hw);
#pragma omp parallel for if (x->size > EB_PARALLEL_MIN)
    for (int64_t pl = 0; pl < out->size; pl++) {
        float g = out->grad[pl] * inv;
        for (int64_t k = 0; k < hw; k++) gx[pl * hw + k] += g;
    }
}

eb_tensor *eb_spatial_std_pool(eb_graph *g, eb_tensor *x) {
    if (!eb__inputs_ok(g, "spatial_std_pool", x, NULL)) return eb__poison(g);
    if (x->ndim != 4 || x->shape[2] * x->shape[3] < 2) {
        eb__fail_shapes(g, "spatial_std_pool", x, NULL,
                        "expected x[N,C,H,W] with H·W >= 2 (the unbiased std divides by H·W − 1)");
        return eb__poison(g);
    }
    eb_tensor *out =
        eb__node(g, EB_OP_SPATIAL_STD_POOL, 2, EB_SHAPE(x->shape[0], x->shape[1]), x, NULL, NULL);
    if (!out) return eb__poison(g);
    eb__forward(out);
    return out;
}

/* Mean μ and Σ_k (x_k − μ)² of one plane of M values, two passes in double. */
static void plane_moments(const float *p, int64_t m, double *mean, double *ss) {
    double sum = 0.0;
    for (int64_t k = 0; k < m; k++) sum += (double)p[k];
    const double mu = sum / (double)m;
    double acc = 0.0;
    for (int64_t k = 0; k < m; k++) {
        double d = (double)p[k] - mu;
        acc += d * d;
    }
    *mean = mu;
    *ss = acc;
}

/* y[n,c] = √(Σ_k (x_k − μ)² / (M − 1)) over the M = H·W plane (in double) */
void eb__forward_spatial_std_pool(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    const int64_t hw = x->shape[2] * x->shape[3];
#pragma omp parallel for if (x->size > EB_PARALLEL_MIN)
    for (int64_t pl = 0; pl < out->size; pl++) {
        double mu, ss;
        plane_moments(x->data + pl * hw, hw, &mu, &ss);
        out->data[pl] = (float)sqrt(ss / (double)(hw - 1));
    }
}

/* y = ‖x − μ1‖ / √(M − 1), and Σ_k (x_k − μ) = 0, so
 *   ∂y/∂x_k = (x_k − μ) / ((M − 1)·y),  |∂y/∂x_k| ≤ 1/√(M − 1):
 * bounded as y → 0, so no eps is added. On a constant plane (Σ(x − μ)² = 0 exactly, in double) y is a
 * cone's apex (a norm at 0, like |t| at t = 0) and the gradient is defined as 0, a subgradient. μ and y
 * are recomputed in double from x rather than read back from the float output. */
void eb__backward_spatial_std_pool(eb_tensor *out) {
    const eb_tensor *x = out->src[0];
    float *gx = eb__src_grad(out, 0);
    if (!gx) return;
    const int64_t hw = x->shape[2] * x->shape[3];
#pragma omp parallel for if (x->size > EB_PARALLEL_MIN)
    for (int64_t pl = 0; pl < out->size; pl++) {
        const float *p = x->data + pl * hw;
        double mu, ss;
        plane_moments(p, hw, &mu, &ss);
        if (ss == 0.0) continue;
        /* (M − 1)·y = √((M − 1)·ss) */
        const double scale = (double)out->grad[pl] / sqrt((double)(hw - 1) * ss);
        for (int64_t k = 0; k < hw; k++) gx[pl * hw + k] += (float)(((double)p[k] - mu) * scale);
    }
}
