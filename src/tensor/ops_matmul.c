/* Matrix products on OpenBLAS sgemm: matmul (with transposes) and the affine layer. */
#include "tensor/graph_impl.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

/* Products below this many multiply-adds run on one thread. OpenBLAS's OpenMP build splits every
 * product above 64 Ki multiply-adds over omp_get_max_threads() threads; for the MLPs of the EBM loops
 * (512 × 100 × 100 ≈ 5 M, a thousand per CD step) the fork/join and the sleeping-thread wake-ups
 * under OMP_WAIT_POLICY=PASSIVE cost more than the split gains (perf/RESULTS.md). */
#define GEMM_SERIAL_MAX ((int64_t)1 << 23)

/* C[M,N] (+)= op(A)[M,K] · op(B)[K,N]; row-major; A is [M,K] or [K,M] (ta), B is [K,N] or [N,K] (tb). */
static void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                 float beta, float *c) {
    const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    const bool serial = nt > 1 && m * n * k < GEMM_SERIAL_MAX;
    if (serial) omp_set_num_threads(1); /* OpenBLAS (OpenMP build) follows the caller's thread count */
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m,
                (blasint)n, (blasint)k, 1.0f, a, (blasint)(ta ? m : k), b, (blasint)(tb ? k : n), beta, c,
                (blasint)n);
    if (serial) omp_set_num_threads(nt);
}

eb_tensor *eb_matmul(eb_graph *g, eb_tensor *a, eb_tensor *b, bool trans_a, bool trans_b) {
    if (!eb__inputs_ok(g, "matmul", a, b) || !b) return eb__poison(g);
    if (a->ndim != 2 || b->ndim != 2) {
        eb__fail_shapes(g, "matmul", a, b, "both operands must be 2-D");
        return eb__poison(g);
    }
    int64_t m = trans_a ? a->shape[1] : a->shape[0], k = trans_a ? a->shape[0] : a->shape[1];
    int64_t kb = trans_b ? b->shape[1] : b->shape[0], n = trans_b ? b->shape[0] : b->shape[1];
    if (k != kb) {
        eb__fail_shapes(g, "matmul", a, b, "inner dimensions differ");
        return eb__poison(g);
    }
    eb_tensor *out = eb__node(g, EB_OP_MATMUL, 2, EB_SHAPE(m, n), a, b, NULL);
    if (!out) return eb__poison(g);
    out->iparam[0] = trans_a;
    out->iparam[1] = trans_b;
    eb__forward(out);
    return out;
}

void eb__forward_matmul(eb_tensor *out) {
    const eb_tensor *a = out->src[0], *b = out->src[1];
    bool ta = out->iparam[0], tb = out->iparam[1];
    int64_t k = ta ? a->shape[0] : a->shape[1];
    gemm(ta, tb, out->shape[0], out->shape[1], k, a->data, b->data, 0.0f, out->data);
}

/* C = op(A)·op(B): dA = dC·op(B)ᵀ (stored as A is), dB = op(A)ᵀ·dC (stored as B is). */
void eb__backward_matmul(eb_tensor *out) {
    const eb_tensor *a = out->src[0], *b = out->src[1];
    bool ta = out->iparam[0], tb = out->iparam[1];
    int64_t m = out->shape[0], n = out->shape[1], k = ta ? a->shape[0] : a->shape[1];
    float *ga = eb__src_grad(out, 0), *gb = eb__src_grad(out, 1);
    if (ga) {
        if (!ta)
            gemm(false, !tb, m, k, n, out->grad, b->data, 1.0f, ga); /* [M,K] = dC[M,N]·op(B)ᵀ */
        else
            gemm(tb, true, k, m, n, b->data, out->grad, 1.0f, ga); /* [K,M] = op(B)[K,N]·dCᵀ */
    }
    if (gb) {
        if (!tb)
            gemm(!ta, false, k, n, m, a->data, out->grad, 1.0f, gb); /* [K,N] = op(A)ᵀ·dC */
        else
            gemm(true, ta, n, k, m, out->grad, a->data, 1.0f, gb); /* [N,K] = dCᵀ·op(A) */
    }
}

eb_tensor *eb_linear(eb_graph *g, eb_tensor *x, eb_tensor *w, eb_tensor *b) {
    if (!eb__inputs_ok(g, "linear", x, w) || !w) return eb__poison(g);
    if (x->ndim != 2 || w->ndim != 2 || x->shape[1] != w->shape[1]) {
        eb__fail_shapes(g, "linear", x, w, "expected x[N,in] and w[out,in]");
        return eb__poison(g);
    }
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) {
        eb__fail_shapes(g, "linear", w, b, "bias must be [out]");
        return eb__poison(g);
    }
    eb_tensor *out = eb__node(g, EB_OP_LINEAR, 2, EB_SHAPE(x->shape[0], w->shape[0]), x, w, b);
    if (!out) return eb__poison(g);
    eb__forward(out);
    return out;
}

/* y[N,out] = x[N,in]·wᵀ + b */
void eb__forward_linear(eb_tensor *out) {
    const eb_tensor *x = out->src[0], *w = out->src[1], *b = out->src[2];
    int64_t n = out->shape[0], o = out->shape[1], in = x->shape[1];
    if (b)
        for (int64_t i = 0; i < n; i++) memcpy(out->data + i * o, b->data, (size_t)o * sizeof(float));
    gemm(false, true, n, o, in, x->data, w->data, b ? 1.0f : 0.0f, out->data);
}

/* dx = dy·w, dw = dyᵀ·x, db = Σ_rows dy */
void eb__backward_linear(eb_tensor *out) {
    const eb_tensor *x = out->src[0], *w = out->src[1];
    int64_t n = out->shape[0], o = out->shape[1], in = x->shape[1];
    float *gx = eb__src_grad(out, 0), *gw = eb__src_grad(out, 1), *gb = eb__src_grad(out, 2);
    if (gx) gemm(false, false, n, in, o, out->grad, w->data, 1.0f, gx);
    if (gw) gemm(true, false, o, in, n, out->grad, x->data, 1.0f, gw);
    if (gb)
        for (int64_t i = 0; i < n; i++) {
            const float *gy = out->grad + i * o;
            for (int64_t j = 0; j < o; j++) gb[j] += gy[j];
        }
}
