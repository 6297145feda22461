/* The oneDNN conv2d backend (conv_dnnl_impl.h; the seam is conv_impl.h).
 *
 * Per geometry, oneDNN's convolution primitives are created with format_tag `any`, so each picks its
 * preferred (usually channel-blocked, e.g. nChw8c / OIhw8i8o on AVX2) layout, and reorders move our
 * plain NCHW / OIHW arrays in and out:
 *   forward          x →(reorder) src', w → w',   conv_fwd(src', w', b) → dst',  dst' → y
 *   weight gradient  x → src'', gy → gy'',        conv_bwd_weights → gw', gb';   gw += gw', gb += gb'
 *   input gradient   gy → gy''', w → w''',        conv_bwd_data → gx';           gx += gx'
 * A reorder whose two layouts are equal is skipped. The accumulations into gx and gw are the final
 * reorders themselves, with oneDNN's `sum` post-op (dst = dst + reorder(src)), so they cost no extra
 * pass. When gx is the backward sweep's fresh buffer (gx_store: not zeroed), gx = gx' instead: a plain
 * reorder, or none (conv_bwd_data writes gx itself) when gx' would be plain NCHW already; this spares the
 * sweep's memset and the sum's read of gx. All blocked copies and the primitives' scratchpads live in one
 * per-thread scratch buffer (scratchpad mode "user"); the backward runs the weight gradient first and reuses
 * the region of src'' for gx'. Forward uses prop_kind forward_training and the direct algorithm.
 *
 * oneDNN (Debian's libdnnl 2.6) runs on OpenMP, i.e. on the calling thread's libgomp team, the same
 * pool as our kernels and OpenBLAS's OpenMP build. Its results are deterministic for a given thread
 * count, but may differ in the last bits between thread counts (the weight gradient's batch reduction
 * is split by thread). */
#include "tensor/conv_dnnl_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool eb__conv2d_dnnl_available(void) {
#ifdef EB_HAVE_DNNL
    return true;
#else
    return false;
#endif
}

const eb__conv2d_backend *eb__conv2d_select(const eb__conv2d_geom *s, char *why, size_t why_size) {
    const char *v = getenv("EBOOD_CONV");
    bool want_dnnl;
    if (!v || !*v) {
        want_dnnl = eb__conv2d_dnnl_available();
    } else if (!strcmp(v, "ref")) {
        want_dnnl = false;
    } else if (!strcmp(v, "dnnl")) {
        if (!eb__conv2d_dnnl_available()) {
            snprintf(why, why_size, "EBOOD_CONV=dnnl, but this build of ebood has no oneDNN (libdnnl)");
            return NULL;
        }
        want_dnnl = true;
    } else {
        snprintf(why, why_size, "EBOOD_CONV: unknown value '%.40s' (expected ref or dnnl)", v);
        return NULL;
    }
    /* An empty batch, or a geometry oneDNN cannot run (or no memory for its primitives): the reference.
     * The bias flag does not change which implementations oneDNN can run: prepare without it. */
    if (want_dnnl && s->n > 0 && eb__conv2d_dnnl_prepare(s, false)) return eb__conv2d_dnnl();
    return &eb__conv2d_im2col;
}

#ifndef EB_HAVE_DNNL

bool eb__conv2d_dnnl_prepare(const eb__conv2d_geom *s, bool has_bias) {
    (void)s;
    (void)has_bias;
    return false;
}
const char *eb__conv2d_dnnl_impl(const eb__conv2d_geom *s, bool has_bias, int which) {
    (void)s;
    (void)has_bias;
    (void)which;
    return "";
}
void eb__conv2d_dnnl_release(void) {}
const eb__conv2d_backend *eb__conv2d_dnnl(void) { return NULL; }

#else /* EB_HAVE_DNNL */

#include <dnnl.h>
#include <omp.h>
#include <pthread.h>

/* ---- the cache key and entries ------------------------------------------------------------------ */
typedef struct conv_key {
    int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw;
    int64_t bias;    /* the primitive has a bias (forward) / a bias gradient (backward) */
    int64_t threads; /* omp_get_max_threads() when the primitives were created */
} conv_key;

/* A primitive (NULL = not needed, e.g. a reorder between equal layouts) and its scratchpad bytes. */
typedef struct prim {
    dnnl_primitive_t p;
    size_t pad;
    dnnl_memory_desc_t pad_md;
} prim;

/* Offsets into the thread's scratch buffer (bytes, 64-aligned) and its total size for one pass. */
typedef struct fwd_part {
    bool ready;
    prim conv, x_in, w_in, y_out;
    dnnl_memory_desc_t src, wei, dst;
    size_t o_src, o_wei, o_dst, o_pad, bytes;
} fwd_part;

typedef struct bwd_part {
    bool ready;
    /* weight gradient */
    prim conv_w, x_in, gyw_in, gw_out;
    dnnl_memory_desc_t w_src, w_diff_wei, w_diff_dst, w_diff_bias;
    /* input gradient */
    prim conv_d, gyd_in, w_in, gx_out,
        gx_set; /* gx_out adds gx' to gx, gx_set stores it (NULL: same layout) */
    dnnl_memory_desc_t d_diff_src, d_wei, d_diff_dst;
    bool share_gy; /* both primitives want gy in the same layout: reorder it once */
    size_t o_gyw, o_gyd, o_src /* = o_gx' */, o_dw, o_db, o_wd, o_pad, bytes;
} bwd_part;

typedef struct entry {
    conv_key key;
    uint64_t last_used; /* 0 = empty slot */
    fwd_part f;
    bwd_part b;
    char impl[3][64]; /* implementation names (forward, backward data, backward weights) */
} entry;

typedef struct thread_ctx {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    entry cache[EB__DNNL_CACHE_SIZE];
    uint64_t clock;
    void *scratch;
    size_t scratch_bytes;
} thread_ctx;

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static bool ctx_key_ok;

static void prim_free(prim *p) {
    if (p->p) dnnl_primitive_destroy(p->p);
    p->p = NULL;
    p->pad = 0;
}

static void entry_free(entry *e) {
    prim *all[] = {&e->f.conv, &e->f.x_in,   &e->f.w_in,   &e->f.y_out,  &e->b.conv_w,
                   &e->b.x_in, &e->b.gyw_in, &e->b.gw_out, &e->b.conv_d, &e->b.gyd_in,
                   &e->b.w_in, &e->b.gx_out, &e->b.gx_set};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) prim_free(all[i]);
    memset(e, 0, sizeof *e);
}

static void ctx_free(void *p) {
    thread_ctx *t = p;
    if (!t) return;
    for (int i = 0; i < EB__DNNL_CACHE_SIZE; i++)
        if (t->cache[i].last_used) entry_free(&t->cache[i]);
    if (t->stream) dnnl_stream_destroy(t->stream);
    if (t->engine) dnnl_engine_destroy(t->engine);
    free(t->scratch);
    free(t);
}

static void ctx_key_init(void) { ctx_key_ok = pthread_key_create(&ctx_key, ctx_free) == 0; }

static thread_ctx *ctx_get(void) {
    pthread_once(&ctx_once, ctx_key_init);
    if (!ctx_key_ok) return NULL;
    thread_ctx *t = pthread_getspecific(ctx_key);
    if (t) return t;
    if (!(t = calloc(1, sizeof *t))) return NULL;
    if (dnnl_engine_create(&t->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&t->stream, t->engine, dnnl_stream_default_flags) != dnnl_success ||
        pthread_setspecific(ctx_key, t) != 0) {
        ctx_free(t);
        return NULL;
    }
    return t;
}

void eb__conv2d_dnnl_release(void) {
    pthread_once(&ctx_once, ctx_key_init);
    if (!ctx_key_ok) return;
    thread_ctx *t = pthread_getspecific(ctx_key);
    if (!t) return;
    pthread_setspecific(ctx_key, NULL);
    ctx_free(t);
}

/* Grows the scratch buffer to at least `bytes` (its contents are not kept). */
static bool scratch_reserve(thread_ctx *t, size_t bytes) {
    if (bytes <= t->scratch_bytes) return true;
    free(t->scratch);
    size_t size = (bytes + 4095) / 4096 * 4096;
    t->scratch = aligned_alloc(4096, size);
    t->scratch_bytes = t->scratch ? size : 0;
    return t->scratch != NULL;
}

/* ---- building primitives ------------------------------------------------------------------------- */
static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* Appends a region of `bytes` at *top; returns its offset. */
static size_t carve(size_t *top, size_t bytes) {
    size_t at = *top;
    *top = align64(at + bytes);
    return at;
}

/* An attribute with the user-provided scratchpad and, if sum, the `sum` post-op (accumulate). */
static dnnl_primitive_attr_t make_attr(bool sum) {
    dnnl_primitive_attr_t attr = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    bool ok = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
    if (ok && sum) {
        dnnl_post_ops_t po = NULL;
        ok = dnnl_post_ops_create(&po) == dnnl_success &&
             dnnl_post_ops_append_sum(po, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
        if (po) dnnl_post_ops_destroy(po);
    }
    if (!ok) {
        dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
    return attr;
}

/* Primitive from pd (pd is destroyed either way). */
static bool prim_from_pd(dnnl_primitive_desc_t pd, prim *out) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    out->pad = md ? dnnl_memory_desc_get_size(md) : 0;
    if (out->pad) out->pad_md = *md;
    bool ok = dnnl_primitive_create(&out->p, pd) == dnnl_success;
    if (!ok) out->p = NULL;
    dnnl_primitive_desc_destroy(pd);
    return ok;
}

/* A reorder from → to (accumulating into `to` when sum); none when the layouts are equal and !sum. */
static bool reorder_new(thread_ctx *t, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, bool sum,
                        prim *out) {
    out->p = NULL;
    out->pad = 0;
    if (!sum && dnnl_memory_desc_equal(from, to)) return true;
    dnnl_primitive_attr_t attr = make_attr(sum);
    if (!attr) return false;
    dnnl_primitive_desc_t pd = NULL;
    bool ok = dnnl_reorder_primitive_desc_create(&pd, from, t->engine, to, t->engine, attr) == dnnl_success;
    dnnl_primitive_attr_destroy(attr);
    return ok && prim_from_pd(pd, out);
}

/* The plain descriptors of our arrays: x NCHW, w OIHW, y NCHW, b [O]; `any` versions for the primitives. */
typedef struct plain_mds {
    dnnl_memory_desc_t x, w, y, b, x_any, w_any, y_any;
    dnnl_dims_t strides, pad_l, pad_r;
} plain_mds;

static bool plain_init(const conv_key *k, plain_mds *m) {
    dnnl_dims_t xd = {k->n, k->c, k->h, k->w}, wd = {k->o, k->c, k->kh, k->kw}, bd = {k->o};
    const int64_t oh = (k->h + 2 * k->ph - k->kh) / k->sh + 1, ow = (k->w + 2 * k->pw - k->kw) / k->sw + 1;
    dnnl_dims_t yd = {k->n, k->o, oh, ow};
    m->strides[0] = k->sh;
    m->strides[1] = k->sw;
    /* oneDNN's rule oh = (h + pad_l + pad_r − kh) / sh + 1 (floor), with pad_r = pad_l, is ours */
    m->pad_l[0] = m->pad_r[0] = k->ph;
    m->pad_l[1] = m->pad_r[1] = k->pw;
    return dnnl_memory_desc_init_by_tag(&m->x, 4, xd, dnnl_f32, dnnl_nchw) == dnnl_success &&
           dnnl_memory_desc_init_by_tag(&m->w, 4, wd, dnnl_f32, dnnl_oihw) == dnnl_success &&
           dnnl_memory_desc_init_by_tag(&m->y, 4, yd, dnnl_f32, dnnl_nchw) == dnnl_success &&
           dnnl_memory_desc_init_by_tag(&m->b, 1, bd, dnnl_f32, dnnl_x) == dnnl_success &&
           dnnl_memory_desc_init_by_tag(&m->x_any, 4, xd, dnnl_f32, dnnl_format_tag_any) == dnnl_success &&
           dnnl_memory_desc_init_by_tag(&m->w_any, 4, wd, dnnl_f32, dnnl_format_tag_any) == dnnl_success &&
           dnnl_memory_desc_init_by_tag(&m->y_any, 4, yd, dnnl_f32, dnnl_format_tag_any) == dnnl_success;
}

static void impl_name(const_dnnl_primitive_desc_t pd, char *dst, size_t size) {
    const char *name = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, (void *)&name) != dnnl_success || !name)
        name = "?";
    snprintf(dst, size, "%s", name);
}

/* The forward primitive descriptor (also the hint of the backward ones). */
static dnnl_primitive_desc_t fwd_pd_new(thread_ctx *t, const conv_key *k, const plain_mds *m) {
    dnnl_convolution_desc_t cd;
    if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &m->x_any,
                                           &m->w_any, k->bias ? &m->b : NULL, &m->y_any, m->strides, m->pad_l,
                                           m->pad_r) != dnnl_success)
        return NULL;
    dnnl_primitive_attr_t attr = make_attr(false);
    if (!attr) return NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_primitive_desc_create(&pd, &cd, attr, t->engine, NULL) != dnnl_success) pd = NULL;
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

static const dnnl_memory_desc_t *query(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static bool fwd_build(thread_ctx *t, entry *e) {
    fwd_part *f = &e->f;
    plain_mds m;
    if (!plain_init(&e->key, &m)) return false;
    dnnl_primitive_desc_t pd = fwd_pd_new(t, &e->key, &m);
    if (!pd) return false;
    f->src = *query(pd, dnnl_query_src_md);
    f->wei = *query(pd, dnnl_query_weights_md);
    f->dst = *query(pd, dnnl_query_dst_md);
    impl_name(pd, e->impl[0], sizeof e->impl[0]);
    if (!prim_from_pd(pd, &f->conv)) return false;
    if (!reorder_new(t, &m.x, &f->src, false, &f->x_in) || !reorder_new(t, &m.w, &f->wei, false, &f->w_in) ||
        !reorder_new(t, &f->dst, &m.y, false, &f->y_out))
        return false;
    size_t top = 0;
    f->o_src = f->x_in.p ? carve(&top, dnnl_memory_desc_get_size(&f->src)) : 0;
    f->o_wei = f->w_in.p ? carve(&top, dnnl_memory_desc_get_size(&f->wei)) : 0;
    f->o_dst = f->y_out.p ? carve(&top, dnnl_memory_desc_get_size(&f->dst)) : 0;
    size_t pad = max_size(max_size(f->conv.pad, f->x_in.pad), max_size(f->w_in.pad, f->y_out.pad));
    f->o_pad = carve(&top, pad);
    f->bytes = top;
    f->ready = true;
    return true;
}

static bool bwd_build(thread_ctx *t, entry *e) {
    bwd_part *b = &e->b;
    plain_mds m;
    if (!plain_init(&e->key, &m)) return false;
    dnnl_primitive_desc_t hint = fwd_pd_new(t, &e->key, &m);
    if (!hint) return false;
    dnnl_primitive_attr_t attr = make_attr(false);
    dnnl_convolution_desc_t wd, dd;
    dnnl_primitive_desc_t wpd = NULL, dpd = NULL;
    bool ok = attr &&
              dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &m.x_any, &m.w_any,
                                                          e->key.bias ? &m.b : NULL, &m.y_any, m.strides,
                                                          m.pad_l, m.pad_r) == dnnl_success &&
              dnnl_primitive_desc_create(&wpd, &wd, attr, t->engine, hint) == dnnl_success;
    if (!ok) wpd = NULL;
    ok = ok &&
         dnnl_convolution_backward_data_desc_init(&dd, dnnl_convolution_direct, &m.x_any, &m.w_any, &m.y_any,
                                                  m.strides, m.pad_l, m.pad_r) == dnnl_success &&
         dnnl_primitive_desc_create(&dpd, &dd, attr, t->engine, hint) == dnnl_success;
    if (!ok) dpd = NULL;
    if (attr) dnnl_primitive_attr_destroy(attr);
    dnnl_primitive_desc_destroy(hint);
    if (!ok) {
        if (wpd) dnnl_primitive_desc_destroy(wpd);
        if (dpd) dnnl_primitive_desc_destroy(dpd);
        return false;
    }
    b->w_src = *query(wpd, dnnl_query_src_md);
    b->w_diff_wei = *query(wpd, dnnl_query_diff_weights_md);
    b->w_diff_dst = *query(wpd, dnnl_query_diff_dst_md);
    b->w_diff_bias = m.b;
    b->d_diff_src = *query(dpd, dnnl_query_diff_src_md);
    b->d_wei = *query(dpd, dnnl_query_weights_md);
    b->d_diff_dst = *query(dpd, dnnl_query_diff_dst_md);
    impl_name(dpd, e->impl[1], sizeof e->impl[1]);
    impl_name(wpd, e->impl[2], sizeof e->impl[2]);
    ok = prim_from_pd(wpd, &b->conv_w);
    ok = prim_from_pd(dpd, &b->conv_d) && ok;
    b->share_gy = dnnl_memory_desc_equal(&b->w_diff_dst, &b->d_diff_dst);
    ok = ok && reorder_new(t, &m.x, &b->w_src, false, &b->x_in) &&
         reorder_new(t, &m.y, &b->w_diff_dst, false, &b->gyw_in) &&
         reorder_new(t, &b->w_diff_wei, &m.w, true, &b->gw_out) &&
         reorder_new(t, &m.y, &b->d_diff_dst, false, &b->gyd_in) &&
         reorder_new(t, &m.w, &b->d_wei, false, &b->w_in) &&
         reorder_new(t, &b->d_diff_src, &m.x, true, &b->gx_out) &&
         reorder_new(t, &b->d_diff_src, &m.x, false, &b->gx_set);
    if (!ok) return false;
    size_t top = 0;
    b->o_gyw = b->gyw_in.p ? carve(&top, dnnl_memory_desc_get_size(&b->w_diff_dst)) : 0;
    b->o_gyd =
        b->gyd_in.p && !b->share_gy ? carve(&top, dnnl_memory_desc_get_size(&b->d_diff_dst)) : b->o_gyw;
    /* src'' (weight gradient) and then gx' (input gradient) share one region */
    b->o_src = carve(
        &top, max_size(dnnl_memory_desc_get_size(&b->w_src), dnnl_memory_desc_get_size(&b->d_diff_src)));
    b->o_dw = carve(&top, dnnl_memory_desc_get_size(&b->w_diff_wei));
    b->o_db = carve(&top, (size_t)e->key.o * sizeof(float));
    b->o_wd = b->w_in.p ? carve(&top, dnnl_memory_desc_get_size(&b->d_wei)) : 0;
    size_t pad = 0;
    const prim *all[] = {&b->conv_w, &b->x_in, &b->gyw_in, &b->gw_out, &b->conv_d,
                         &b->gyd_in, &b->w_in, &b->gx_out, &b->gx_set};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) pad = max_size(pad, all[i]->pad);
    b->o_pad = carve(&top, pad);
    b->bytes = top;
    b->ready = true;
    return true;
}

static conv_key key_of(const eb__conv2d_geom *s, bool bias) {
    return (conv_key){s->n,
                      s->c,
                      s->h,
                      s->w,
                      s->o,
                      s->kh,
                      s->kw,
                      s->sh,
                      s->sw,
                      s->ph,
                      s->pw,
                      bias ? 1 : 0,
                      omp_in_parallel() ? 1 : omp_get_max_threads()};
}

/* The cache entry of key (least recently used slot replaced on a miss), with its forward (want_bwd =
 * false) or backward part built and the scratch buffer grown for it; NULL on failure. */
static entry *lookup(thread_ctx *t, const conv_key *k, bool want_bwd) {
    entry *e = NULL, *victim = &t->cache[0];
    for (int i = 0; i < EB__DNNL_CACHE_SIZE; i++) {
        entry *c = &t->cache[i];
        if (c->last_used && !memcmp(&c->key, k, sizeof *k)) {
            e = c;
            break;
        }
        if (c->last_used < victim->last_used) victim = c;
    }
    if (!e) {
        e = victim;
        if (e->last_used) entry_free(e);
        e->key = *k;
    }
    e->last_used = ++t->clock;
    bool ok = want_bwd ? (e->b.ready || bwd_build(t, e)) : (e->f.ready || fwd_build(t, e));
    if (ok) ok = scratch_reserve(t, want_bwd ? e->b.bytes : e->f.bytes);
    if (!ok) {
        entry_free(e); /* a half-built entry is not kept */
        return NULL;
    }
    return e;
}

bool eb__conv2d_dnnl_prepare(const eb__conv2d_geom *s, bool has_bias) {
    thread_ctx *t = ctx_get();
    conv_key k = key_of(s, has_bias);
    return t && lookup(t, &k, false) != NULL;
}

const char *eb__conv2d_dnnl_impl(const eb__conv2d_geom *s, bool has_bias, int which) {
    thread_ctx *t = ctx_get();
    if (!t || which < 0 || which > 2) return "";
    conv_key k = key_of(s, has_bias);
    entry *e = lookup(t, &k, which > 0);
    return e ? e->impl[which] : "";
}

/* ---- running them -------------------------------------------------------------------------------- */
/* A memory object of md over ptr (NULL on failure). */
static dnnl_memory_t mem(thread_ctx *t, const dnnl_memory_desc_t *md, const void *ptr) {
    dnnl_memory_t m = NULL;
    if (dnnl_memory_create(&m, md, t->engine, (void *)ptr) != dnnl_success) return NULL;
    return m;
}

/* Executes p with (src arg, src) → (dst arg, dst) plus its scratchpad; a reorder is SRC→DST. */
typedef struct arg {
    int arg;
    const dnnl_memory_desc_t *md;
    const void *ptr;
} arg;

static bool run(thread_ctx *t, const prim *p, void *pad, const arg *args, int nargs) {
    dnnl_exec_arg_t ex[8];
    int n = 0;
    bool ok = true;
    for (int i = 0; i < nargs && ok; i++) {
        ex[n] = (dnnl_exec_arg_t){args[i].arg, mem(t, args[i].md, args[i].ptr)};
        ok = ex[n++].memory != NULL;
    }
    if (ok && p->pad) {
        ex[n] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mem(t, &p->pad_md, pad)};
        ok = ex[n++].memory != NULL;
    }
    ok = ok && dnnl_primitive_execute(p->p, t->stream, n, ex) == dnnl_success &&
         dnnl_stream_wait(t->stream) == dnnl_success;
    for (int i = 0; i < n; i++)
        if (ex[i].memory) dnnl_memory_destroy(ex[i].memory);
    return ok;
}

static bool reorder(thread_ctx *t, const prim *p, void *pad, const dnnl_memory_desc_t *from_md,
                    const void *from, const dnnl_memory_desc_t *to_md, void *to) {
    arg a[2] = {{DNNL_ARG_FROM, from_md, from}, {DNNL_ARG_TO, to_md, to}};
    return run(t, p, pad, a, 2);
}

static bool run_fwd(thread_ctx *t, const eb__conv2d_geom *s, const float *x, const float *w, const float *b,
                    float *y) {
    conv_key k = key_of(s, b != NULL);
    entry *e = lookup(t, &k, false);
    if (!e) return false;
    const fwd_part *f = &e->f;
    plain_mds m;
    if (!plain_init(&k, &m)) return false;
    char *base = t->scratch, *pad = base + f->o_pad;
    const void *src = x, *wei = w;
    void *dst = y;
    if (f->x_in.p) {
        if (!reorder(t, &f->x_in, pad, &m.x, x, &f->src, base + f->o_src)) return false;
        src = base + f->o_src;
    }
    if (f->w_in.p) {
        if (!reorder(t, &f->w_in, pad, &m.w, w, &f->wei, base + f->o_wei)) return false;
        wei = base + f->o_wei;
    }
    if (f->y_out.p) dst = base + f->o_dst;
    arg a[4] = {{DNNL_ARG_SRC, &f->src, src},
                {DNNL_ARG_WEIGHTS, &f->wei, wei},
                {DNNL_ARG_DST, &f->dst, dst},
                {DNNL_ARG_BIAS, &m.b, b}};
    if (!run(t, &f->conv, pad, a, b ? 4 : 3)) return false;
    return !f->y_out.p || reorder(t, &f->y_out, pad, &f->dst, dst, &m.y, y);
}

/* Accumulates the wanted gradients (stores gx when gx_store); each of *gx, *gw, *gb is set to NULL once it
 * has been added, so after a failure the caller knows what is left to do. */
static bool run_bwd(thread_ctx *t, const eb__conv2d_geom *s, const float *x, const float *w, const float *gy,
                    float **gx, bool gx_store, float **gw, float **gb) {
    conv_key k = key_of(s, *gb != NULL);
    entry *e = lookup(t, &k, true);
    if (!e) return false;
    const bwd_part *b = &e->b;
    plain_mds m;
    if (!plain_init(&k, &m)) return false;
    char *base = t->scratch, *pad = base + b->o_pad;
    const void *gyw = gy, *gyd = gy;
    const bool weights = *gw || *gb;
    if (weights && b->gyw_in.p) {
        if (!reorder(t, &b->gyw_in, pad, &m.y, gy, &b->w_diff_dst, base + b->o_gyw)) return false;
        gyw = base + b->o_gyw;
    }
    if (weights) {
        const void *src = x;
        if (b->x_in.p) {
            if (!reorder(t, &b->x_in, pad, &m.x, x, &b->w_src, base + b->o_src)) return false;
            src = base + b->o_src;
        }
        float *db = (float *)(void *)(base + b->o_db);
        arg a[4] = {{DNNL_ARG_SRC, &b->w_src, src},
                    {DNNL_ARG_DIFF_DST, &b->w_diff_dst, gyw},
                    {DNNL_ARG_DIFF_WEIGHTS, &b->w_diff_wei, base + b->o_dw},
                    {DNNL_ARG_DIFF_BIAS, &b->w_diff_bias, db}};
        if (!run(t, &b->conv_w, pad, a, k.bias ? 4 : 3)) return false;
        if (*gw) {
            if (!reorder(t, &b->gw_out, pad, &b->w_diff_wei, base + b->o_dw, &m.w, *gw)) return false;
            *gw = NULL;
        }
        if (*gb) {
            for (int64_t o = 0; o < s->o; o++) (*gb)[o] += db[o];
            *gb = NULL;
        }
    }
    if (*gx) {
        if (b->gyd_in.p) {
            if (b->share_gy && weights && b->gyw_in.p) {
                gyd = gyw; /* already reordered for the weight gradient */
            } else {
                if (!reorder(t, &b->gyd_in, pad, &m.y, gy, &b->d_diff_dst, base + b->o_gyd)) return false;
                gyd = base + b->o_gyd;
            }
        }
        const void *wei = w;
        if (b->w_in.p) {
            if (!reorder(t, &b->w_in, pad, &m.w, w, &b->d_wei, base + b->o_wd)) return false;
            wei = base + b->o_wd;
        }
        const bool direct = gx_store && !b->gx_set.p; /* gx' is plain NCHW: written into gx itself */
        void *dsrc = direct ? (void *)*gx : base + b->o_src;
        arg a[3] = {{DNNL_ARG_DIFF_SRC, &b->d_diff_src, dsrc},
                    {DNNL_ARG_WEIGHTS, &b->d_wei, wei},
                    {DNNL_ARG_DIFF_DST, &b->d_diff_dst, gyd}};
        if (!run(t, &b->conv_d, pad, a, 3)) return false;
        if (!direct && !reorder(t, gx_store ? &b->gx_set : &b->gx_out, pad, &b->d_diff_src, dsrc, &m.x, *gx))
            return false;
        *gx = NULL;
    }
    return true;
}

/* ---- the backend --------------------------------------------------------------------------------- */
static size_t be_workspace(const eb__conv2d_geom *s) {
    (void)s;
    return 0;
}

/* When oneDNN fails at run time (out of memory): the reference on a malloc'd workspace; *r is s planned
 * for it. False if even that workspace cannot be allocated. */
static bool ref_fallback(const eb__conv2d_geom *s, eb__conv2d_geom *r, void **ws) {
    *r = *s;
    eb__conv2d_im2col_plan(r, EB__CONV_IM2COL_WORKSPACE);
    size_t bytes = eb__conv2d_im2col.workspace_bytes(r);
    *ws = bytes ? malloc(bytes) : NULL;
    return !bytes || *ws;
}

/* Last resort: NaN in every value (add: v + NaN), so the failure cannot pass for a result. */
static void fill_nan(float *v, int64_t n, bool add) {
    if (!v) return;
    for (int64_t i = 0; i < n; i++) v[i] = add ? v[i] + NAN : NAN;
}

static void be_forward(const eb__conv2d_geom *s, const float *x, const float *w, const float *b, float *y,
                       float *ws) {
    (void)ws;
    thread_ctx *t = ctx_get();
    if (t && run_fwd(t, s, x, w, b, y)) return;
    eb__conv2d_geom r;
    void *buf = NULL;
    if (ref_fallback(s, &r, &buf))
        eb__conv2d_im2col.forward(&r, x, w, b, y, buf);
    else
        fill_nan(y, s->n * s->o * s->oh * s->ow, false);
    free(buf);
}

static void be_backward(const eb__conv2d_geom *s, const float *x, const float *w, const float *gy, float *gx,
                        bool gx_store, float *gw, float *gb, float *ws) {
    (void)ws;
    thread_ctx *t = ctx_get();
    if ((!gx && !gw && !gb) || (t && run_bwd(t, s, x, w, gy, &gx, gx_store, &gw, &gb))) return;
    /* what run_bwd did not finish (gx, gw, gb still non-NULL) */
    eb__conv2d_geom r;
    void *buf = NULL;
    if (ref_fallback(s, &r, &buf)) {
        eb__conv2d_im2col.backward(&r, x, w, gy, gx, gx_store, gw, gb, buf);
    } else {
        fill_nan(gx, s->n * s->c * s->h * s->w, !gx_store);
        fill_nan(gw, s->o * s->c * s->kh * s->kw, true);
        fill_nan(gb, s->o, true);
    }
    free(buf);
}

static const eb__conv2d_backend dnnl_backend = {
    .name = "onednn",
    .workspace_bytes = be_workspace,
    .forward = be_forward,
    .backward = be_backward,
};

const eb__conv2d_backend *eb__conv2d_dnnl(void) { return &dnnl_backend; }

#endif /* EB_HAVE_DNNL */
