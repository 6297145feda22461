/* Blocked GEMM with the top-k selection / streaming log-sum-exp fused per register tile
 * (gemm_stream_impl.h has the contract).
 *
 * Layout. A block of mq = 16·S queries is packed k-major per sliver of 16 queries:
 * qp[s][c][l] = q[16s + l][c] (zero rows pad the last sliver). The bank is read in place, 6 rows
 * at a time (the last n_bank mod 6 rows from a zero-padded copy). One tile = 16 queries × 6 bank
 * rows = 12 AVX2 accumulators,
 *     acc[j][l] = Σ_c qp[s][c][l] · bank[j0 + j][c]     (c ascending, one FMA chain per output),
 * so each dot product has the same rounding wherever and by whichever thread it is computed.
 * Loop order per thread: for each group of 6 bank rows (12 KiB at dim 512, stays in L1), for each
 * sliver of the packed block (streams from L2): tile, then reduce. The bank is streamed from
 * memory once per query block.
 *
 * Reductions, per query lane l:
 *   top-k  thr[l] = a lower bound of the k-th largest value (−∞ until 2k values were seen; +∞ on
 *          padding lanes). A tile is dismissed with one compare of its per-lane max against thr
 *          (the usual case once thr is warm); otherwise the lane's values v > thr[l] are appended
 *          to its candidates. 2k candidates are cut to their k largest by quickselect, and thr
 *          becomes the k-th largest so far. At the end, quickselect again.
 *   lse    m[l] = running max of t = β·acc, s[l] = Σ exp(t − m[l]) in double. When a tile raises
 *          m, s is first rescaled by exp(m_old − m_new) (exactly 1 where m did not change). The 6
 *          exponentials of a lane are summed in float, then added to s in double.
 *          Result: log Σ_j exp(t_j) = m + log s. */
#include "ood/detectors/gemm_stream_impl.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define EB_GEMM_X86 1
#include <immintrin.h>
#else
#define EB_GEMM_X86 0
#endif

enum { MR = 16, NR = 6 };
#define DEFAULT_BLOCK_BYTES ((int64_t)512 * 1024)
#define CAND_BUDGET_BYTES   ((int64_t)64 << 20) /* per thread, for the top-k candidates */
#define RANGE_LIMIT         1e37

typedef void (*tile_fn)(const float *qp, const float *b, int64_t ld, int64_t dim, float *tile);
typedef void (*topk_fn)(const float *tile, int nr, const float *bias, float *thr, float *cands, int64_t *cnt,
                        int64_t k);
typedef void (*lse_fn)(const float *tile, int nr, float beta, float *m, double *s);

/* ---- ISA selection ---------------------------------------------------------------------------- */

static bool cpu_has_avx2(void) {
#if EB_GEMM_X86
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

eb__gemm_isa eb__gemm_isa_resolve(eb__gemm_isa isa) {
    if (isa == EB__GEMM_ISA_GENERIC) return EB__GEMM_ISA_GENERIC;
    return cpu_has_avx2() ? EB__GEMM_ISA_AVX2 : EB__GEMM_ISA_GENERIC;
}

const char *eb__gemm_isa_name(eb__gemm_isa isa) {
    switch (isa) {
    case EB__GEMM_ISA_GENERIC: return "generic";
    case EB__GEMM_ISA_AVX2: return "avx2";
    default: return "auto";
    }
}

/* ---- packing and the portable kernels ------------------------------------------------------------ */

/* qp[s][c][l] = q[16s + l][c] for rows < `rows`, 0 beyond; `slivers` slivers. */
static void pack_queries(const float *q, int64_t rows, int64_t dim, int64_t slivers, float *qp) {
    for (int64_t s = 0; s < slivers; s++) {
        float *dst = qp + s * dim * MR;
        for (int64_t l = 0; l < MR; l++) {
            const int64_t r = s * MR + l;
            if (r < rows) {
                const float *src = q + r * dim;
                for (int64_t c = 0; c < dim; c++) dst[c * MR + l] = src[c];
            } else {
                for (int64_t c = 0; c < dim; c++) dst[c * MR + l] = 0.0f;
            }
        }
    }
}

/* tile[j][l] = Σ_c qp[c][l] · b[j·ld + c], j < NR, l < MR. */
static void tile_generic(const float *qp, const float *b, int64_t ld, int64_t dim, float *tile) {
    float acc[NR][MR];
    memset(acc, 0, sizeof acc);
    for (int64_t c = 0; c < dim; c++) {
        const float *a = qp + c * MR;
        for (int j = 0; j < NR; j++) {
            const float bj = b[j * ld + c];
            for (int l = 0; l < MR; l++) acc[j][l] += a[l] * bj;
        }
    }
    memcpy(tile, acc, sizeof acc);
}

/* Rearranges a[0..n) so that a[0..t] holds the t+1 largest values and returns the (t+1)-th
 * largest, 0 ≤ t < n (quickselect). Partitions are branch-free (Lomuto passes that always swap and
 * advance by a comparison, no mispredictions), three-way so that ties with the pivot end the
 * search at once; median-of-three pivots; insertion sort below 16 elements. */
static float select_desc(float *a, int64_t n, int64_t t) {
    int64_t lo = 0, hi = n - 1;
    while (hi - lo >= 16) {
        const float x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi];
        const float p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int64_t s = lo; /* a[lo..s) > p */
        for (int64_t i = lo; i <= hi; i++) {
            const float v = a[i];
            a[i] = a[s];
            a[s] = v;
            s += v > p;
        }
        if (t < s) {
            hi = s - 1;
            continue;
        }
        int64_t e = s; /* a[s..e) == p, a[e..hi] < p */
        for (int64_t i = s; i <= hi; i++) {
            const float v = a[i];
            a[i] = a[e];
            a[e] = v;
            e += v == p;
        }
        if (t < e) return p;
        lo = e;
    }
    for (int64_t i = lo + 1; i <= hi; i++) {
        const float v = a[i];
        int64_t j = i;
        while (j > lo && a[j - 1] < v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
    return a[t];
}

/* Room per query lane for candidates: 2k, plus one tile's values of overflow. */
#define CAND_STRIDE(k) (2 * (k) + NR)

static const float zero_bias[NR];

/* Adds the nr values col[j·MR] − bias[j] of one query lane that exceed *thr to its candidates
 * c[0..cnt) (branch-free: every value is written, the count advances only for those above). Once
 * there are 2k or more, keeps the k largest (quickselect) and raises *thr to the k-th largest so
 * far: later values ≤ *thr cannot change the k-th largest. Amortised O(1) per candidate. */
static inline void lane_add(const float *col, int nr, const float *bias, float *c, int64_t *cnt, int64_t k,
                            float *thr) {
    int64_t n = *cnt;
    const float t = *thr;
    for (int j = 0; j < nr; j++) {
        const float v = col[j * MR] - bias[j];
        c[n] = v;
        n += v > t;
    }
    if (n >= 2 * k) {
        *thr = select_desc(c, n, k - 1);
        n = k;
    }
    *cnt = n;
}

/* cands: lane l's candidates at cands + l·CAND_STRIDE(k). */
static void topk_generic(const float *tile, int nr, const float *bias, float *thr, float *cands, int64_t *cnt,
                         int64_t k) {
    if (!bias) bias = zero_bias;
    for (int l = 0; l < MR; l++) {
        bool any = false;
        for (int j = 0; j < nr; j++) any |= tile[j * MR + l] - bias[j] > thr[l];
        if (any) lane_add(tile + l, nr, bias, cands + l * CAND_STRIDE(k), cnt + l, k, thr + l);
    }
}

static void lse_generic(const float *tile, int nr, float beta, float *m, double *s) {
    for (int l = 0; l < MR; l++) {
        float tmax = m[l];
        for (int j = 0; j < nr; j++) {
            const float t = beta * tile[j * MR + l];
            if (!(t <= tmax)) tmax = t; /* NaN propagates */
        }
        if (tmax != m[l]) {
            s[l] *= exp((double)m[l] - (double)tmax);
            m[l] = tmax;
        }
        double acc = 0.0;
        for (int j = 0; j < nr; j++) acc += exp((double)(beta * tile[j * MR + l]) - (double)m[l]);
        s[l] += acc;
    }
}

/* ---- AVX2 + FMA kernels ------------------------------------------------------------------------ */
#if EB_GEMM_X86
#define EB_AVX2 __attribute__((target("avx2,fma")))

/* The same tile as tile_generic, with FMAs (qp and tile 32-byte aligned). Rows j = 0..5 are
 * read through two pointers and the stride (b0 + j·ld for j < 3, b3 + (j−3)·ld), so the loop
 * needs few registers: 12 accumulators, 2 query vectors, 1 broadcast. */
EB_AVX2 static void tile_avx2(const float *qp, const float *b, int64_t ld, int64_t dim, float *tile) {
    const float *b0 = b, *b3 = b + 3 * ld;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
           c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t c = 0; c < dim; c++) {
        const __m256 a0 = _mm256_load_ps(qp), a1 = _mm256_load_ps(qp + 8);
        __m256 v = _mm256_broadcast_ss(b0);
        c00 = _mm256_fmadd_ps(a0, v, c00);
        c01 = _mm256_fmadd_ps(a1, v, c01);
        v = _mm256_broadcast_ss(b0 + ld);
        c10 = _mm256_fmadd_ps(a0, v, c10);
        c11 = _mm256_fmadd_ps(a1, v, c11);
        v = _mm256_broadcast_ss(b0 + 2 * ld);
        c20 = _mm256_fmadd_ps(a0, v, c20);
        c21 = _mm256_fmadd_ps(a1, v, c21);
        v = _mm256_broadcast_ss(b3);
        c30 = _mm256_fmadd_ps(a0, v, c30);
        c31 = _mm256_fmadd_ps(a1, v, c31);
        v = _mm256_broadcast_ss(b3 + ld);
        c40 = _mm256_fmadd_ps(a0, v, c40);
        c41 = _mm256_fmadd_ps(a1, v, c41);
        v = _mm256_broadcast_ss(b3 + 2 * ld);
        c50 = _mm256_fmadd_ps(a0, v, c50);
        c51 = _mm256_fmadd_ps(a1, v, c51);
        qp += MR;
        b0++;
        b3++;
    }
    _mm256_store_ps(tile + 0 * MR, c00);
    _mm256_store_ps(tile + 0 * MR + 8, c01);
    _mm256_store_ps(tile + 1 * MR, c10);
    _mm256_store_ps(tile + 1 * MR + 8, c11);
    _mm256_store_ps(tile + 2 * MR, c20);
    _mm256_store_ps(tile + 2 * MR + 8, c21);
    _mm256_store_ps(tile + 3 * MR, c30);
    _mm256_store_ps(tile + 3 * MR + 8, c31);
    _mm256_store_ps(tile + 4 * MR, c40);
    _mm256_store_ps(tile + 4 * MR + 8, c41);
    _mm256_store_ps(tile + 5 * MR, c50);
    _mm256_store_ps(tile + 5 * MR + 8, c51);
}

EB_AVX2 static void topk_avx2(const float *tile, int nr, const float *bias, float *thr, float *cands,
                              int64_t *cnt, int64_t k) {
    if (nr != NR) {
        topk_generic(tile, nr, bias, thr, cands, cnt, k);
        return;
    }
    __m256 mx0, mx1;
    if (bias) {
        __m256 b = _mm256_set1_ps(bias[0]);
        mx0 = _mm256_sub_ps(_mm256_load_ps(tile), b);
        mx1 = _mm256_sub_ps(_mm256_load_ps(tile + 8), b);
        for (int j = 1; j < NR; j++) {
            b = _mm256_set1_ps(bias[j]);
            mx0 = _mm256_max_ps(mx0, _mm256_sub_ps(_mm256_load_ps(tile + j * MR), b));
            mx1 = _mm256_max_ps(mx1, _mm256_sub_ps(_mm256_load_ps(tile + j * MR + 8), b));
        }
    } else {
        mx0 = _mm256_load_ps(tile);
        mx1 = _mm256_load_ps(tile + 8);
        for (int j = 1; j < NR; j++) {
            mx0 = _mm256_max_ps(mx0, _mm256_load_ps(tile + j * MR));
            mx1 = _mm256_max_ps(mx1, _mm256_load_ps(tile + j * MR + 8));
        }
    }
    unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(mx0, _mm256_load_ps(thr), _CMP_GT_OQ)) |
                    (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(mx1, _mm256_load_ps(thr + 8), _CMP_GT_OQ))
                        << 8;
    if (!bias) bias = zero_bias;
    while (mask) {
        const int l = __builtin_ctz(mask);
        mask &= mask - 1;
        lane_add(tile + l, NR, bias, cands + l * CAND_STRIDE(k), cnt + l, k, thr + l);
    }
}

/* exp(x) for x ≤ 88 (x < −87 gives exp(−87) ≈ 1.6e−38 instead of less): x = n·ln2 + r with
 * |r| ≤ ln2/2 (Cody–Waite split of ln2), exp(r) by its degree-7 Taylor polynomial (truncation
 * < 6e−9 relative), times 2ⁿ built in the exponent field. exp(0) = 1 exactly. */
EB_AVX2 static inline __m256 exp_avx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440054690583e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* s[l..l+8) += (double) of the 8 floats of e (s 32-byte aligned). */
EB_AVX2 static inline void add_to_double(double *s, __m256 e) {
    _mm256_store_pd(s, _mm256_add_pd(_mm256_load_pd(s), _mm256_cvtps_pd(_mm256_castps256_ps128(e))));
    _mm256_store_pd(s + 4,
                    _mm256_add_pd(_mm256_load_pd(s + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1))));
}

/* s[0..8) *= (double) f (s 32-byte aligned). */
EB_AVX2 static inline void scale_double(double *s, __m256 f) {
    _mm256_store_pd(s, _mm256_mul_pd(_mm256_load_pd(s), _mm256_cvtps_pd(_mm256_castps256_ps128(f))));
    _mm256_store_pd(s + 4,
                    _mm256_mul_pd(_mm256_load_pd(s + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1))));
}

EB_AVX2 static void lse_avx2(const float *tile, int nr, float beta, float *m, double *s) {
    if (nr != NR) {
        lse_generic(tile, nr, beta, m, s);
        return;
    }
    const __m256 vb = _mm256_set1_ps(beta);
    __m256 t0[NR], t1[NR];
    for (int j = 0; j < NR; j++) {
        t0[j] = _mm256_mul_ps(_mm256_load_ps(tile + j * MR), vb);
        t1[j] = _mm256_mul_ps(_mm256_load_ps(tile + j * MR + 8), vb);
    }
    __m256 m0 = _mm256_load_ps(m), m1 = _mm256_load_ps(m + 8);
    __m256 n0 = m0, n1 = m1;
    for (int j = 0; j < NR; j++) {
        n0 = _mm256_max_ps(n0, t0[j]);
        n1 = _mm256_max_ps(n1, t1[j]);
    }
    const int grow = _mm256_movemask_ps(_mm256_cmp_ps(n0, m0, _CMP_NEQ_UQ)) |
                     _mm256_movemask_ps(_mm256_cmp_ps(n1, m1, _CMP_NEQ_UQ));
    if (grow) {
        scale_double(s, exp_avx2(_mm256_sub_ps(m0, n0)));
        scale_double(s + 8, exp_avx2(_mm256_sub_ps(m1, n1)));
        _mm256_store_ps(m, n0);
        _mm256_store_ps(m + 8, n1);
        m0 = n0;
        m1 = n1;
    }
    __m256 e0 = exp_avx2(_mm256_sub_ps(t0[0], m0)), e1 = exp_avx2(_mm256_sub_ps(t1[0], m1));
    for (int j = 1; j < NR; j++) {
        e0 = _mm256_add_ps(e0, exp_avx2(_mm256_sub_ps(t0[j], m0)));
        e1 = _mm256_add_ps(e1, exp_avx2(_mm256_sub_ps(t1[j], m1)));
    }
    add_to_double(s, e0);
    add_to_double(s + 8, e1);
}
#endif

/* ---- the drivers --------------------------------------------------------------------------------- */

typedef struct plan {
    int64_t slivers_per_block;
    int64_t n_blocks;
    int threads;
} plan;

/* Block size: the packed block ≈ block_bytes (re-read from L2/L3 for every group of 6 bank rows;
 * larger blocks stream the bank from memory fewer times), its top-k candidates within the budget;
 * then the number of blocks is rounded up to a multiple of the thread count and the slivers are
 * spread evenly over them, so no thread idles at the end. */
static plan make_plan(int64_t n_q, int64_t dim, int64_t k, const eb__gemm_opts *o) {
    plan p;
    int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
    if (threads < 1) threads = 1;
    const int64_t bytes = o->block_bytes > 0 ? o->block_bytes : DEFAULT_BLOCK_BYTES;
    const int64_t n_slivers = (n_q + MR - 1) / MR;
    int64_t spb = bytes / (MR * dim * (int64_t)sizeof(float));
    if (k > 0) {
        const int64_t cap = CAND_BUDGET_BYTES / (MR * CAND_STRIDE(k) * (int64_t)sizeof(float));
        if (spb > cap) spb = cap;
    }
    if (spb < 1) spb = 1;
    int64_t n_blocks = (n_slivers + spb - 1) / spb;
    n_blocks = (n_blocks + threads - 1) / threads * threads;
    if (n_blocks > n_slivers) n_blocks = n_slivers;
    p.slivers_per_block = (n_slivers + n_blocks - 1) / n_blocks;
    p.n_blocks = (n_slivers + p.slivers_per_block - 1) / p.slivers_per_block;
    p.threads = p.n_blocks < threads ? (int)p.n_blocks : threads;
    return p;
}

/* The tail group: the last n_bank mod 6 rows followed by zero rows, so every group is 6 rows at
 * stride dim (the zero rows' results are never used: reductions take the first nr). NULL if
 * n_bank is a multiple of 6; *nomem set on allocation failure. */
static float *make_tail(const float *bank, int64_t n_bank, int64_t dim, bool *nomem) {
    const int64_t nr = n_bank % NR;
    *nomem = false;
    if (nr == 0) return NULL;
    float *t = eb_alloc_zero(NULL, (size_t)(NR * dim) * sizeof(float));
    if (!t) {
        *nomem = true;
        return NULL;
    }
    memcpy(t, bank + (n_bank - nr) * dim, (size_t)(nr * dim) * sizeof(float));
    return t;
}

/* The first row of the group starting at j0, and its number of valid rows. */
static const float *group_base(const float *bank, const float *tail, int64_t n_bank, int64_t dim, int64_t j0,
                               int *nr) {
    if (n_bank - j0 >= NR) {
        *nr = NR;
        return bank + j0 * dim;
    }
    *nr = (int)(n_bank - j0);
    return tail;
}

static void resolve_kernels(const eb__gemm_opts *o, tile_fn *tile, topk_fn *topk, lse_fn *lse) {
    *tile = tile_generic;
    *topk = topk_generic;
    *lse = lse_generic;
#if EB_GEMM_X86
    if (eb__gemm_isa_resolve(o->isa) == EB__GEMM_ISA_AVX2) {
        *tile = tile_avx2;
        *topk = topk_avx2;
        *lse = lse_avx2;
    }
#else
    (void)o;
#endif
}

/* eb__gemm_topk, and with list != NULL also the k largest of each query (unordered) in list[i·k ..]. */
static eb_status topk_stream(const float *q, int64_t n_q, const float *bank, int64_t n_bank, int64_t dim,
                             const float *bias, int64_t k, float *kth, float *list, const eb__gemm_opts *opts,
                             const char *what, eb_error *err) {
    if (n_q <= 0) return EB_OK;
    const eb__gemm_opts o = opts ? *opts : (eb__gemm_opts){0};
    tile_fn tile;
    topk_fn reduce;
    lse_fn unused;
    resolve_kernels(&o, &tile, &reduce, &unused);
    const plan p = make_plan(n_q, dim, k, &o);
    const int64_t mq = p.slivers_per_block * MR;
    bool nomem;
    float *tail = make_tail(bank, n_bank, dim, &nomem);
    if (nomem)
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (bank tail of dim %lld)", what,
                            (long long)dim);
    int failed = 0;
#pragma omp parallel num_threads(p.threads) reduction(| : failed)
    {
        float *qp = eb_alloc(NULL, (size_t)(mq * dim) * sizeof(float));
        float *thr = eb_alloc(NULL, (size_t)mq * sizeof(float));
        float *cands = eb_alloc(NULL, (size_t)(mq * CAND_STRIDE(k)) * sizeof(float));
        int64_t *cnt = eb_alloc(NULL, (size_t)mq * sizeof(int64_t));
        const bool ok = qp && thr && cands && cnt;
        if (!ok) failed = 1;
        _Alignas(32) float t[NR * MR];
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < p.n_blocks; b++) {
            if (!ok) continue;
            const int64_t q0 = b * mq, rows = n_q - q0 < mq ? n_q - q0 : mq;
            const int64_t sl = (rows + MR - 1) / MR;
            pack_queries(q + q0 * dim, rows, dim, sl, qp);
            for (int64_t i = 0; i < sl * MR; i++) {
                cnt[i] = 0;
                thr[i] = i < rows ? -INFINITY : INFINITY;
            }
            for (int64_t j0 = 0; j0 < n_bank; j0 += NR) {
                int nr;
                const float *g = group_base(bank, tail, n_bank, dim, j0, &nr);
                const float *bj = bias ? bias + j0 : NULL;
                for (int64_t s = 0; s < sl; s++) {
                    tile(qp + s * dim * MR, g, dim, dim, t);
                    reduce(t, nr, bj, thr + s * MR, cands + s * MR * CAND_STRIDE(k), cnt + s * MR, k);
                }
            }
            for (int64_t i = 0; i < rows; i++) {
                kth[q0 + i] = cnt[i] >= k ? select_desc(cands + i * CAND_STRIDE(k), cnt[i], k - 1) : NAN;
                if (list) /* select_desc left the k largest in front */
                    memcpy(list + (q0 + i) * k, cands + i * CAND_STRIDE(k), (size_t)k * sizeof(float));
            }
        }
        eb_free(NULL, qp);
        eb_free(NULL, thr);
        eb_free(NULL, cands);
        eb_free(NULL, cnt);
    }
    eb_free(NULL, tail);
    if (failed)
        return eb_error_set(err, EB_ERR_NOMEM,
                            "%s: out of memory (query block of %lld × (dim %lld + 2k + 6 = %lld) floats)",
                            what, (long long)mq, (long long)dim, (long long)CAND_STRIDE(k));
    return EB_OK;
}

eb_status eb__gemm_topk(const float *q, int64_t n_q, const float *bank, int64_t n_bank, int64_t dim,
                        const float *bias, int64_t k, float *kth, const eb__gemm_opts *opts, const char *what,
                        eb_error *err) {
    return topk_stream(q, n_q, bank, n_bank, dim, bias, k, kth, NULL, opts, what, err);
}

eb_status eb__gemm_topk_list(const float *q, int64_t n_q, const float *bank, int64_t n_bank, int64_t dim,
                             int64_t k, float *kth, float *list, const char *what, eb_error *err) {
    return topk_stream(q, n_q, bank, n_bank, dim, NULL, k, kth, list, NULL, what, err);
}

eb_status eb__gemm_lse(const float *q, int64_t n_q, const float *bank, int64_t n_bank, int64_t dim,
                       float beta, double *lse, const eb__gemm_opts *opts, const char *what, eb_error *err) {
    if (n_q <= 0) return EB_OK;
    const eb__gemm_opts o = opts ? *opts : (eb__gemm_opts){0};
    tile_fn tile;
    topk_fn unused;
    lse_fn reduce;
    resolve_kernels(&o, &tile, &unused, &reduce);
    const plan p = make_plan(n_q, dim, 0, &o);
    const int64_t mq = p.slivers_per_block * MR;
    bool nomem;
    float *tail = make_tail(bank, n_bank, dim, &nomem);
    if (nomem)
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (bank tail of dim %lld)", what,
                            (long long)dim);
    int failed = 0;
#pragma omp parallel num_threads(p.threads) reduction(| : failed)
    {
        float *qp = eb_alloc(NULL, (size_t)(mq * dim) * sizeof(float));
        float *m = eb_alloc(NULL, (size_t)mq * sizeof(float));
        double *s = eb_alloc(NULL, (size_t)mq * sizeof(double));
        const bool ok = qp && m && s;
        if (!ok) failed = 1;
        _Alignas(32) float t[NR * MR];
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < p.n_blocks; b++) {
            if (!ok) continue;
            const int64_t q0 = b * mq, rows = n_q - q0 < mq ? n_q - q0 : mq;
            const int64_t sl = (rows + MR - 1) / MR;
            pack_queries(q + q0 * dim, rows, dim, sl, qp);
            for (int64_t i = 0; i < sl * MR; i++) {
                m[i] = -INFINITY;
                s[i] = 0.0;
            }
            for (int64_t j0 = 0; j0 < n_bank; j0 += NR) {
                int nr;
                const float *g = group_base(bank, tail, n_bank, dim, j0, &nr);
                for (int64_t sv = 0; sv < sl; sv++) {
                    tile(qp + sv * dim * MR, g, dim, dim, t);
                    reduce(t, nr, beta, m + sv * MR, s + sv * MR);
                }
            }
            for (int64_t i = 0; i < rows; i++) lse[q0 + i] = (double)m[i] + log(s[i]);
        }
        eb_free(NULL, qp);
        eb_free(NULL, m);
        eb_free(NULL, s);
    }
    eb_free(NULL, tail);
    if (failed)
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (query block of %lld × dim %lld floats)",
                            what, (long long)mq, (long long)dim);
    return EB_OK;
}

/* ---- argument checks ----------------------------------------------------------------------------- */

float eb__gemm_max_abs(const float *x, int64_t n, int64_t dim) {
    const int64_t total = n * dim;
    float mx = 0.0f;
#pragma omp parallel for schedule(static) reduction(max : mx) if (total >= (1 << 18))
    for (int64_t i = 0; i < total; i++) {
        float a = fabsf(x[i]);
        a = a <= FLT_MAX ? a : INFINITY; /* NaN and ±Inf count as +Inf */
        mx = a > mx ? a : mx;
    }
    return mx;
}

eb_status eb__gemm_check_range(const char *fn, float max_q, float max_b, int64_t dim, double scale,
                               eb_error *err) {
    const double mx = max_q > max_b ? (double)max_q : (double)max_b;
    const double bound = mx * mx * (double)dim * (scale > 1.0 ? scale : 1.0);
    if (!(bound < RANGE_LIMIT))
        return eb_error_set(
            err, EB_ERR_NUMERIC,
            "%s: values too large (max |x| = %g, dim %lld): dot products could overflow float", fn, mx,
            (long long)dim);
    return EB_OK;
}

/* EB_ERR_NUMERIC naming the first non-finite value of x[n, dim]; *max_abs = max |x| otherwise.
 * One parallel pass; the element is located by a second pass only on failure. */
static eb_status check_finite(const char *fn, const char *what, const float *x, int64_t n, int64_t dim,
                              float *max_abs, eb_error *err) {
    *max_abs = eb__gemm_max_abs(x, n, dim);
    if (*max_abs <= FLT_MAX) return EB_OK;
    const int64_t total = n * dim;
    for (int64_t i = 0; i < total; i++)
        if (!isfinite(x[i]))
            return eb_error_set(err, EB_ERR_NUMERIC, "%s: %s[%lld, %lld] is %s (values must be finite)", fn,
                                what, (long long)(i / dim), (long long)(i % dim),
                                isnan(x[i]) ? "NaN" : (x[i] > 0 ? "+Inf" : "-Inf"));
    return EB_OK;
}

eb_status eb__gemm_check_args(const char *fn, const float *q, int64_t n_q, const float *bank, int64_t n_bank,
                              int64_t dim, const void *out, double scale, eb_error *err) {
    if (n_q < 0) return eb_error_set(err, EB_ERR_ARG, "%s: n_q must be >= 0 (got %lld)", fn, (long long)n_q);
    if (n_bank < 1)
        return eb_error_set(err, EB_ERR_ARG, "%s: n_bank must be >= 1 (got %lld)", fn, (long long)n_bank);
    if (dim < 1) return eb_error_set(err, EB_ERR_ARG, "%s: dim must be >= 1 (got %lld)", fn, (long long)dim);
    if (n_q > INT64_MAX / dim / 16 || n_bank > INT64_MAX / dim / 16)
        return eb_error_set(err, EB_ERR_ARG, "%s: arrays too large (n_q %lld, n_bank %lld, dim %lld)", fn,
                            (long long)n_q, (long long)n_bank, (long long)dim);
    if (!bank) return eb_error_set(err, EB_ERR_ARG, "%s: bank is NULL", fn);
    if (n_q > 0 && !q) return eb_error_set(err, EB_ERR_ARG, "%s: queries is NULL", fn);
    if (n_q > 0 && !out) return eb_error_set(err, EB_ERR_ARG, "%s: output array is NULL", fn);
    float max_q = 0.0f, max_b = 0.0f;
    eb_status st = check_finite(fn, "queries", q, n_q, dim, &max_q, err);
    if (!st) st = check_finite(fn, "bank", bank, n_bank, dim, &max_b, err);
    if (!st && n_q > 0) st = eb__gemm_check_range(fn, max_q, max_b, dim, scale, err);
    return st;
}
