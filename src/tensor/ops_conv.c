/* conv2d: x[N,C,H,W] * w[O,C,kh,kw] (+ b[O]) → y[N,O,H',W'] (F.conv2d, dilation 1, groups 1).
 * The op validates shapes and owns the node's data (geometry, backend, workspace); the arithmetic
 * is a backend's (conv_impl.h), the im2col + sgemm reference for now. */
#include "tensor/conv_dnnl_impl.h" /* dnnl hook: eb__conv2d_select */
#include "tensor/conv_impl.h"
#include "tensor/graph_impl.h"

#include <stdio.h>
#include <string.h>

/* The node's aux data (arena). */
typedef struct conv_aux {
    eb__conv2d_geom geom;
    const eb__conv2d_backend *backend;
    float *ws; /* backend workspace, shared by the node's forward and backward kernels */
} conv_aux;

eb_conv2d_params eb_conv2d_default_params(void) {
    return (eb_conv2d_params){.stride_h = 1, .stride_w = 1, .pad_h = 0, .pad_w = 0};
}

static eb_tensor *fail(eb_graph *g, const eb_tensor *a, const eb_tensor *b, const char *why) {
    eb__fail_shapes(g, "conv2d", a, b, why);
    return eb__poison(g);
}

eb_tensor *eb_conv2d(eb_graph *g, eb_tensor *x, eb_tensor *w, eb_tensor *b, const eb_conv2d_params *p) {
    if (!eb__inputs_ok(g, "conv2d", x, w)) return eb__poison(g);
    if (!w) {
        eb_graph_fail(g, EB_ERR_ARG, "conv2d: weight tensor is NULL");
        return eb__poison(g);
    }
    const eb_conv2d_params q = p ? *p : eb_conv2d_default_params();
    if (q.stride_h < 1 || q.stride_w < 1 || q.pad_h < 0 || q.pad_w < 0) {
        eb_graph_fail(g, EB_ERR_ARG, "conv2d: stride (%d, %d) must be >= 1 and padding (%d, %d) >= 0",
                      q.stride_h, q.stride_w, q.pad_h, q.pad_w);
        return eb__poison(g);
    }
    if (x->ndim != 4 || w->ndim != 4) return fail(g, x, w, "expected x[N,C,H,W] and w[O,C,kh,kw]");
    char why[160];
    if (x->shape[1] != w->shape[1]) {
        snprintf(why, sizeof why, "input channels differ (x has %lld, w expects %lld)",
                 (long long)x->shape[1], (long long)w->shape[1]);
        return fail(g, x, w, why);
    }
    for (int d = 1; d < 4; d++)
        if (x->shape[d] == 0 || w->shape[d == 1 ? 0 : d] == 0) return fail(g, x, w, "empty dimension");
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) return fail(g, w, b, "bias must be [O]");
    const int64_t hp = x->shape[2] + 2 * (int64_t)q.pad_h, wp = x->shape[3] + 2 * (int64_t)q.pad_w;
    if (w->shape[2] > hp || w->shape[3] > wp) {
        snprintf(why, sizeof why, "kernel %lldx%lld larger than the padded input %lldx%lld (padding %d, %d)",
                 (long long)w->shape[2], (long long)w->shape[3], (long long)hp, (long long)wp, q.pad_h,
                 q.pad_w);
        return fail(g, x, w, why);
    }

    conv_aux *a = eb__arena_alloc(g, sizeof *a);
    if (!a) return eb__poison(g);
    eb__conv2d_geom *s = &a->geom;
    *s = (eb__conv2d_geom){.n = x->shape[0],
                           .c = x->shape[1],
                           .h = x->shape[2],
                           .w = x->shape[3],
                           .o = w->shape[0],
                           .kh = w->shape[2],
                           .kw = w->shape[3],
                           .sh = q.stride_h,
                           .sw = q.stride_w,
                           .ph = q.pad_h,
                           .pw = q.pad_w};
    s->oh = (hp - s->kh) / s->sh + 1;
    s->ow = (wp - s->kw) / s->sw + 1;
    /* dnnl hook (src/tensor/conv_dnnl.c): oneDNN when built in, unless EBOOD_CONV=ref; NULL = bad
     * EBOOD_CONV value. The plan only matters to the im2col backend. */
    a->backend = eb__conv2d_select(s, why, sizeof why);
    if (!a->backend) {
        eb_graph_fail(g, EB_ERR_ARG, "conv2d: %s", why);
        return eb__poison(g);
    }
    eb__conv2d_im2col_plan(s, EB__CONV_IM2COL_WORKSPACE);
    size_t ws_bytes = a->backend->workspace_bytes(s);
    a->ws = NULL;
    if (ws_bytes && !(a->ws = eb__arena_alloc(g, ws_bytes))) return eb__poison(g);

    eb_tensor *out = eb__node(g, EB_OP_CONV2D, 4, EB_SHAPE(s->n, s->o, s->oh, s->ow), x, w, b);
    if (!out) return eb__poison(g);
    out->aux = a;
    eb__forward(out);
    return out;
}

void eb__forward_conv2d(eb_tensor *out) {
    const conv_aux *a = out->aux;
    const eb_tensor *b = out->src[2];
    a->backend->forward(&a->geom, out->src[0]->data, out->src[1]->data, b ? b->data : NULL, out->data, a->ws);
}

/* A fresh (not zeroed) source gradient (graph.c, eb__grad_fresh): x's is stored by the backend, w's and b's
 * (intermediates only; parameters never are) zeroed here. */
void eb__backward_conv2d(eb_tensor *out) {
    const conv_aux *a = out->aux;
    float *gx = eb__src_grad(out, 0), *gw = eb__src_grad(out, 1), *gb = eb__src_grad(out, 2);
    if (gw && (eb__grad_fresh & 2u)) memset(gw, 0, (size_t)out->src[1]->size * sizeof(float));
    if (gb && (eb__grad_fresh & 4u)) memset(gb, 0, (size_t)out->src[2]->size * sizeof(float));
    if (gx || gw || gb)
        a->backend->backward(&a->geom, out->src[0]->data, out->src[1]->data, out->grad, gx,
                             gx && (eb__grad_fresh & 1u), gw, gb, a->ws);
}
