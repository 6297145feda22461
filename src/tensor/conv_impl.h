/* Internals of conv2d shared by src/tensor/ops_conv.c, src/tensor/conv_impl.c and the tests:
 * the geometry of one convolution and the backend seam.
 *
 * A backend computes one conv2d on plain NCHW float arrays. The op (ops_conv.c) validates shapes, picks
 * a backend when the node is built, allocates the backend's workspace from the graph arena once per
 * node (shared by its forward and backward kernels), and stores all of it in the node's aux data.
 * The reference backend is im2col + OpenBLAS sgemm (conv_impl.c); a faster one (e.g. oneDNN) slots
 * in as another eb__conv2d_backend and is tested against it. Not installed. */
#ifndef EBOOD_CONV_IMPL_H
#define EBOOD_CONV_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* x[n,c,h,w] * w[o,c,kh,kw] → y[n,o,oh,ow], stride (sh,sw), zero padding (ph,pw). */
typedef struct eb__conv2d_geom {
    int64_t n, c, h, w;
    int64_t o, kh, kw;
    int64_t oh, ow;
    int64_t sh, sw, ph, pw;
    /* im2col backend: images per GEMM (1..n), chosen by eb__conv2d_im2col_plan */
    int64_t group;
} eb__conv2d_geom;

typedef struct eb__conv2d_backend {
    const char *name;
    /* Bytes of workspace for this geometry (0 = none); the caller passes that many to the kernels. */
    size_t (*workspace_bytes)(const eb__conv2d_geom *s);
    /* y[N,O,oh,ow] = conv(x, w) + b (b may be NULL); y is overwritten. */
    void (*forward)(const eb__conv2d_geom *s, const float *x, const float *w, const float *b, float *y,
                    float *ws);
    /* ACCUMULATES gx[N,C,H,W] += ∂L/∂x, gw[O,C,kh,kw] += ∂L/∂w, gb[O] += ∂L/∂b from gy = ∂L/∂y; any of
     * gx, gw, gb may be NULL (not wanted). gx_store: gx is overwritten instead (its old contents, which
     * may be uninitialised, are never read: the backward sweep's first writer, eb__grad_fresh). */
    void (*backward)(const eb__conv2d_geom *s, const float *x, const float *w, const float *gy, float *gx,
                     bool gx_store, float *gw, float *gb, float *ws);
} eb__conv2d_backend;

/* The reference backend: per group of `group` images, im2col into columns [C·kh·kw, group·oh·ow], one
 * GEMM for the forward (W · cols), one for the weight gradient (gY · colsᵀ, summed over the batch
 * inside the GEMM: no per-thread partial sums) and one for the input gradient (Wᵀ · gY, then col2im).
 * OpenMP runs im2col/col2im/copies over the group's images and each GEMM as fixed output tiles of
 * single-threaded OpenBLAS sgemm calls. Every value is computed in an order that depends only on the
 * geometry and the group, so results do not change with the thread count. A 1×1 kernel with stride 1
 * and no padding uses x directly as its columns. */
extern const eb__conv2d_backend eb__conv2d_im2col;

/* Default bound on the im2col workspace of one node (columns + GEMM output of one group). */
#define EB__CONV_IM2COL_WORKSPACE (4u << 20)

/* Fills s->group: as many images per GEMM as fit in workspace_budget bytes (at least 1, at most n). */
void eb__conv2d_im2col_plan(eb__conv2d_geom *s, size_t workspace_budget);

/* cols[(c·kh + u)·kw + v][i·ow + j] = x[c, i·sh − ph + u, j·sw − pw + v] (0 outside) for one image
 * x[C,H,W]; ld is the row stride of cols (≥ oh·ow, so several images can sit side by side). */
void eb__im2col(const eb__conv2d_geom *s, const float *x, float *cols, int64_t ld);
/* The adjoint of eb__im2col: gx[C,H,W] += the column gradients scattered back to their pixels. */
void eb__col2im(const eb__conv2d_geom *s, const float *cols, int64_t ld, float *gx);

#endif
