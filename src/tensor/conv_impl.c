/* The reference conv2d backend: im2col + OpenBLAS sgemm (see conv_impl.h for the seam).
 *
 * With P = oh·ow output pixels per image, K = C·kh·kw and a group of G images whose columns sit side by
 * side (cols[K, G·P], row stride ld = G·P):
 *   forward          Y[O, G·P]  = W[O, K] · cols                    then scattered to y[n, o, :] (+ b)
 *   weight gradient  gW[O, K]  += gY[O, G·P] · colsᵀ                (the batch sum happens inside the GEMM)
 *   input gradient   dcols[K, G·P] = Wᵀ · gY,  gx += col2im(dcols)
 * where gY gathers gy[n, o, :] of the group's images into rows. im2col, col2im and the gathers run on
 * OpenMP over (image, channel) pairs, which write disjoint memory. Each GEMM is cut into fixed tiles of
 * its output, and the OpenMP team runs one single-threaded sgemm per tile (OpenBLAS's OpenMP build
 * stays single-threaded inside a parallel region). OpenBLAS's own threading would change the last bits
 * of the result with the thread count; fixed tiles make every value depend only on the geometry and
 * the group size. */
#include "tensor/conv_impl.h"
#include "tensor/graph_impl.h"

#include <cblas.h>
#include <string.h>

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Output tile of one sgemm call: big enough to amortise packing, small enough to balance 2+ threads. */
enum { TILE_M = 128, TILE_N = 256 };

/* C[M,N] = op(A)·op(B) + β·C, row-major with explicit leading dimensions (A is [M,K] or, with ta, [K,M];
 * B is [K,N] or, with tb, [N,K]), computed tile by tile (TILE_M × TILE_N blocks of C) on the OpenMP
 * team. No `if` clause: a team of one is not an active parallel region, and OpenBLAS would then thread
 * the call itself (with eb_threads_set(1) both are single-threaded anyway). */
static void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    const int64_t mt = (m + TILE_M - 1) / TILE_M, nt = (n + TILE_N - 1) / TILE_N;
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int64_t i = 0; i < mt; i++)
        for (int64_t j = 0; j < nt; j++) {
            const int64_t r0 = i * TILE_M, c0 = j * TILE_N;
            const float *ai = ta ? a + r0 : a + r0 * lda, *bj = tb ? b + c0 * ldb : b + c0;
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                        (blasint)min64(TILE_M, m - r0), (blasint)min64(TILE_N, n - c0), (blasint)k, 1.0f, ai,
                        (blasint)lda, bj, (blasint)ldb, beta, c + r0 * ldc + c0, (blasint)ldc);
        }
}

/* 1×1 kernel, stride 1, no padding: an image x[C, H·W] is its own column matrix. */
static bool is_pointwise(const eb__conv2d_geom *s) {
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->ph == 0 && s->pw == 0;
}

/* Output columns j whose input column j·sw − pw + v lies inside [0, W): [*j0, *j1). */
static void valid_cols(const eb__conv2d_geom *s, int64_t v, int64_t *j0, int64_t *j1) {
    int64_t lo = s->pw - v > 0 ? (s->pw - v + s->sw - 1) / s->sw : 0;
    int64_t last = s->w - 1 + s->pw - v; /* j·sw ≤ last */
    int64_t hi = last >= 0 ? min64(s->ow, last / s->sw + 1) : 0;
    *j0 = min64(lo, s->ow);
    *j1 = max64(hi, *j0);
}

/* The kh·kw rows of channel plane x[H,W] (rows start at cols, stride ld). */
static void im2col_channel(const eb__conv2d_geom *s, const float *x, float *cols, int64_t ld) {
    for (int64_t u = 0; u < s->kh; u++)
        for (int64_t v = 0; v < s->kw; v++) {
            float *row = cols + (u * s->kw + v) * ld;
            int64_t j0, j1;
            valid_cols(s, v, &j0, &j1);
            for (int64_t i = 0; i < s->oh; i++) {
                float *d = row + i * s->ow;
                int64_t y = i * s->sh - s->ph + u;
                if (y < 0 || y >= s->h) {
                    memset(d, 0, (size_t)s->ow * sizeof(float));
                    continue;
                }
                const float *xr = x + y * s->w - s->pw + v; /* xr[j·sw] = x[y, j·sw − pw + v] */
                for (int64_t j = 0; j < j0; j++) d[j] = 0.0f;
                if (s->sw == 1)
                    memcpy(d + j0, xr + j0, (size_t)(j1 - j0) * sizeof(float));
                else
                    for (int64_t j = j0; j < j1; j++) d[j] = xr[j * s->sw];
                for (int64_t j = j1; j < s->ow; j++) d[j] = 0.0f;
            }
        }
}

/* Adjoint of im2col_channel: gx[H,W] += the kh·kw rows scattered back to their pixels. */
static void col2im_channel(const eb__conv2d_geom *s, const float *cols, int64_t ld, float *gx) {
    for (int64_t u = 0; u < s->kh; u++)
        for (int64_t v = 0; v < s->kw; v++) {
            const float *row = cols + (u * s->kw + v) * ld;
            int64_t j0, j1;
            valid_cols(s, v, &j0, &j1);
            for (int64_t i = 0; i < s->oh; i++) {
                int64_t y = i * s->sh - s->ph + u;
                if (y < 0 || y >= s->h) continue;
                const float *d = row + i * s->ow;
                float *gr = gx + y * s->w - s->pw + v;
                for (int64_t j = j0; j < j1; j++) gr[j * s->sw] += d[j];
            }
        }
}

void eb__im2col(const eb__conv2d_geom *s, const float *x, float *cols, int64_t ld) {
    for (int64_t c = 0; c < s->c; c++)
        im2col_channel(s, x + c * s->h * s->w, cols + c * s->kh * s->kw * ld, ld);
}

void eb__col2im(const eb__conv2d_geom *s, const float *cols, int64_t ld, float *gx) {
    for (int64_t c = 0; c < s->c; c++)
        col2im_channel(s, cols + c * s->kh * s->kw * ld, ld, gx + c * s->h * s->w);
}

/* Workspace layout: cols[K, G·P] then the gathered output/gradient rows [O, G·P] (both 64-byte aligned
 * relative to the start). */
static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }
static int64_t cols_floats(const eb__conv2d_geom *s) {
    return round16(s->c * s->kh * s->kw * s->group * s->oh * s->ow);
}

void eb__conv2d_im2col_plan(eb__conv2d_geom *s, size_t workspace_budget) {
    if (is_pointwise(s)) {
        s->group = 1;
        return;
    }
    int64_t per_image = (s->c * s->kh * s->kw + s->o) * s->oh * s->ow * (int64_t)sizeof(float);
    int64_t g = per_image > 0 ? (int64_t)workspace_budget / per_image : s->n;
    s->group = max64(1, min64(g, s->n));
}

static size_t im2col_workspace(const eb__conv2d_geom *s) {
    if (is_pointwise(s)) return 0;
    return (size_t)(cols_floats(s) + round16(s->o * s->group * s->oh * s->ow)) * sizeof(float);
}

/* OpenMP only when a loop moves enough memory to pay for waking the team. */
#define BIG(n) ((n) > EB_PARALLEL_MIN)

static void im2col_forward(const eb__conv2d_geom *s, const float *x, const float *w, const float *b, float *y,
                           float *ws) {
    const int64_t P = s->oh * s->ow, K = s->c * s->kh * s->kw, chw = s->c * s->h * s->w, O = s->o;
    const bool pointwise = is_pointwise(s);
    const int64_t step = pointwise ? 1 : s->group;
    float *cols = ws, *yg = pointwise ? NULL : ws + cols_floats(s);
    for (int64_t n0 = 0; n0 < s->n; n0 += step) {
        const int64_t gc = min64(step, s->n - n0), ld = gc * P;
        const float *bmat = x + n0 * chw; /* pointwise: the image itself, [C, P] */
        if (!pointwise) {
#pragma omp parallel for collapse(2) if (BIG(K * ld))
            for (int64_t g = 0; g < gc; g++)
                for (int64_t c = 0; c < s->c; c++)
                    im2col_channel(s, x + (n0 + g) * chw + c * s->h * s->w,
                                   cols + c * s->kh * s->kw * ld + g * P, ld);
            bmat = cols;
        }
        if (gc == 1) { /* [O, P] is exactly y[n0] */
            float *yn = y + n0 * O * P;
            sgemm(false, false, O, P, K, w, K, bmat, P, 0.0f, yn, P);
            if (b)
                for (int64_t o = 0; o < O; o++)
                    for (int64_t p = 0; p < P; p++) yn[o * P + p] += b[o];
            continue;
        }
        sgemm(false, false, O, ld, K, w, K, bmat, ld, 0.0f, yg, ld);
#pragma omp parallel for collapse(2) if (BIG(O * ld))
        for (int64_t g = 0; g < gc; g++)
            for (int64_t o = 0; o < O; o++) {
                float *dst = y + ((n0 + g) * O + o) * P;
                const float *src = yg + o * ld + g * P;
                float bias = b ? b[o] : 0.0f;
                for (int64_t p = 0; p < P; p++) dst[p] = src[p] + bias;
            }
    }
}

static void im2col_backward(const eb__conv2d_geom *s, const float *x, const float *w, const float *gy,
                            float *gx, bool gx_store, float *gw, float *gb, float *ws) {
    if (gx && gx_store) memset(gx, 0, (size_t)(s->n * s->c * s->h * s->w) * sizeof(float)); /* col2im adds */
    const int64_t P = s->oh * s->ow, K = s->c * s->kh * s->kw, chw = s->c * s->h * s->w, O = s->o;
    const bool pointwise = is_pointwise(s);
    const int64_t step = pointwise ? 1 : s->group;
    float *cols = ws, *gyg = pointwise ? NULL : ws + cols_floats(s);
    for (int64_t n0 = 0; (gx || gw) && n0 < s->n; n0 += step) {
        const int64_t gc = min64(step, s->n - n0), ld = gc * P;
        const float *gmat = gy + n0 * O * P; /* gY[O, ld]: gy[n0] itself when the group is one image */
        if (gc > 1) {
#pragma omp parallel for collapse(2) if (BIG(O * ld))
            for (int64_t g = 0; g < gc; g++)
                for (int64_t o = 0; o < O; o++)
                    memcpy(gyg + o * ld + g * P, gy + ((n0 + g) * O + o) * P, (size_t)P * sizeof(float));
            gmat = gyg;
        }
        if (gw) {
            const float *bmat = x + n0 * chw;
            if (!pointwise) {
#pragma omp parallel for collapse(2) if (BIG(K * ld))
                for (int64_t g = 0; g < gc; g++)
                    for (int64_t c = 0; c < s->c; c++)
                        im2col_channel(s, x + (n0 + g) * chw + c * s->h * s->w,
                                       cols + c * s->kh * s->kw * ld + g * P, ld);
                bmat = cols;
            }
            sgemm(false, true, O, K, ld, gmat, ld, bmat, ld, 1.0f, gw, K); /* gW += gY · colsᵀ */
        }
        if (gx) {
            if (pointwise) { /* gx[n0][C, P] += Wᵀ · gY */
                sgemm(true, false, K, P, O, w, K, gmat, P, 1.0f, gx + n0 * chw, P);
                continue;
            }
            sgemm(true, false, K, ld, O, w, K, gmat, ld, 0.0f, cols, ld); /* dcols = Wᵀ · gY */
#pragma omp parallel for collapse(2) if (BIG(K * ld))
            for (int64_t g = 0; g < gc; g++)
                for (int64_t c = 0; c < s->c; c++)
                    col2im_channel(s, cols + c * s->kh * s->kw * ld + g * P, ld,
                                   gx + (n0 + g) * chw + c * s->h * s->w);
        }
    }
    if (gb) {
#pragma omp parallel for if (BIG(s->n * O * P))
        for (int64_t o = 0; o < O; o++) {
            double sum = 0.0;
            for (int64_t n = 0; n < s->n; n++) {
                const float *g = gy + (n * O + o) * P;
                for (int64_t p = 0; p < P; p++) sum += (double)g[p];
            }
            gb[o] += (float)sum;
        }
    }
}

const eb__conv2d_backend eb__conv2d_im2col = {
    .name = "im2col+sgemm",
    .workspace_bytes = im2col_workspace,
    .forward = im2col_forward,
    .backward = im2col_backward,
};
