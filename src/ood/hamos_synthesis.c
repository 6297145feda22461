/* HamOS outlier synthesis (004_6bc3f0c56840d9ea.txt §3.2, Alg. 1; specs §3 "Synthesis"): Markov chains
 * between neighbouring ID clusters on the unit sphere, driven by the k-NN OOD-ness potential (Eq. 2, 4)
 * and kept out of the clusters by a hard margin on the vMF-KDE ID probability (Eq. 5, 11, 12).
 *
 * Every evaluation starts with one GEMM of the chains against the whole buffer, G = Z·Yᵀ
 * [chains, C·capacity]; the k-th neighbour of a chain in a class is then a selection in its row of G
 * (‖z − y‖² = ‖z‖² + ‖y‖² − 2 zᵀy), and the KDE sums exp(κ G) per class. Per-chain work runs in parallel
 * over chains; every output depends only on its own row, so results do not depend on the thread count. */
#include <ebood/hamos.h>

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_hamos_synthesis_params eb_hamos_synthesis_default_params(void) {
    eb_hamos_synthesis_params p = {{EB_SPHERE_HMC, 3, 0.1f}, 200, 2.0f, 0.1f, 4, 5, EB_VMF_KDE_PAPER, false};
    return p;
}

eb_status eb_hamos_synthesis_params_check(const eb_hamos_synthesis_params *p, eb_error *err) {
    const eb_sphere_sampler_params *s = &p->sampler;
    if ((unsigned)s->kind >= EB_SPHERE_KIND_COUNT)
        return eb_error_set(err, EB_ERR_ARG, "synthesis: unknown sampler %d", (int)s->kind);
    if (s->leapfrog_steps < 1 || s->leapfrog_steps > 10000)
        return eb_error_set(err, EB_ERR_ARG, "synthesis: leapfrog steps %lld outside [1, 10000]",
                            (long long)s->leapfrog_steps);
    if (!(isfinite(s->step_size) && s->step_size > 0.0f && s->step_size <= 10.0f))
        return eb_error_set(err, EB_ERR_ARG, "synthesis: step size %g outside (0, 10]", (double)s->step_size);
    if (p->k < 1) return eb_error_set(err, EB_ERR_ARG, "synthesis: k %lld (need ≥ 1)", (long long)p->k);
    if (!(isfinite(p->kappa) && p->kappa > 0.0f && p->kappa <= 1000.0f))
        return eb_error_set(err, EB_ERR_ARG, "synthesis: kappa %g outside (0, 1000]", (double)p->kappa);
    if (!(isfinite(p->margin) && p->margin >= 0.0f))
        return eb_error_set(err, EB_ERR_ARG, "synthesis: margin %g (need a finite value ≥ 0)",
                            (double)p->margin);
    if (p->n_adj < 1 || p->n_adj > 1000)
        return eb_error_set(err, EB_ERR_ARG, "synthesis: n_adj %lld outside [1, 1000]", (long long)p->n_adj);
    if (p->rounds < 1 || p->rounds > 1000)
        return eb_error_set(err, EB_ERR_ARG, "synthesis: rounds %lld outside [1, 1000]",
                            (long long)p->rounds);
    if (p->kde != EB_VMF_KDE_PAPER && p->kde != EB_VMF_KDE_CODE)
        return eb_error_set(err, EB_ERR_ARG, "synthesis: unknown kde %d", (int)p->kde);
    return EB_OK;
}

static int64_t n_adjacent(const eb_hamos_synthesis_params *p, int64_t n_classes) {
    return p->n_adj < n_classes - 1 ? p->n_adj : n_classes - 1;
}

int64_t eb_hamos_synthesis_count(const eb_hamos_synthesis_params *p, int64_t n_classes) {
    if (n_classes < 2) return 0;
    return n_classes * n_adjacent(p, n_classes) * (p->rounds + (p->keep_start ? 1 : 0));
}

/* G = Z·Yᵀ [n, C·capacity] and the squared row norms of Y; NULL on OOM. */
static float *gram(const eb_class_buffer *buf, const float *z, int64_t n, float **ynorm2) {
    int64_t rows = buf->n_classes * buf->capacity, d = buf->dim;
    float *g = malloc((size_t)(n * rows) * sizeof *g);
    *ynorm2 = malloc((size_t)rows * sizeof **ynorm2);
    if (!g || !*ynorm2) {
        free(g);
        free(*ynorm2);
        *ynorm2 = NULL;
        return NULL;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)rows, (blasint)d, 1.0f, z,
                (blasint)d, buf->data, (blasint)d, 0.0f, g, (blasint)rows);
    for (int64_t r = 0; r < rows; r++) {
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) s += (double)buf->data[r * d + j] * (double)buf->data[r * d + j];
        (*ynorm2)[r] = (float)s;
    }
    return g;
}

/* Rearranges (val, idx)[0, m) so that position k−1 holds the k-th largest value and [0, k) the k largest
 * (Hoare-style quickselect, middle pivot: deterministic). Returns that position's index. */
static int64_t select_kth_largest(float *val, int64_t *idx, int64_t m, int64_t k) {
    int64_t lo = 0, hi = m - 1, target = k - 1;
    while (lo < hi) {
        float pivot = val[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (val[i] > pivot) i++;
            while (val[j] < pivot) j--;
            if (i <= j) {
                float tv = val[i];
                val[i] = val[j];
                val[j] = tv;
                int64_t ti = idx[i];
                idx[i] = idx[j];
                idx[j] = ti;
                i++;
                j--;
            }
        }
        if (target <= j)
            hi = j;
        else if (target >= i)
            lo = i;
        else
            break;
    }
    return idx[target];
}

/* The k-th nearest row of class c to chain row i of G: its row index in the buffer and the distance. */
static int64_t kth_neighbour(const eb_class_buffer *buf, const float *g_row, const float *ynorm2,
                             double znorm2, int64_t c, int64_t k, float *val, int64_t *idx, double *dist) {
    int64_t cap = buf->capacity, base = c * cap, m = buf->count[c];
    for (int64_t j = 0; j < m; j++) { /* larger zᵀy − ½‖y‖² = nearer */
        val[j] = g_row[base + j] - 0.5f * ynorm2[base + j];
        idx[j] = base + j;
    }
    int64_t r = select_kth_largest(val, idx, m, k);
    double d2 = znorm2 - 2.0 * ((double)g_row[r] - 0.5 * (double)ynorm2[r]);
    *dist = sqrt(d2 > 1e-12 ? d2 : 1e-12);
    return r;
}

static eb_status check_buffer(const eb_class_buffer *buf, int64_t k, const char *who, eb_error *err) {
    if (!buf || !buf->data || buf->n_classes < 1)
        return eb_error_set(err, EB_ERR_ARG, "%s: empty class buffer", who);
    for (int64_t c = 0; c < buf->n_classes; c++)
        if (buf->count[c] < k)
            return eb_error_set(err, EB_ERR_STATE, "%s: class %lld holds %lld rows, fewer than k = %lld", who,
                                (long long)c, (long long)buf->count[c], (long long)k);
    return EB_OK;
}

eb_status eb_hamos_potential(const eb_class_buffer *buf, int64_t k, const int32_t *u, const int32_t *v,
                             const float *z, int64_t n, double *pot, float *grad, eb_error *err) {
    eb_status st = check_buffer(buf, k, "hamos potential", err);
    if (st || n == 0) return st;
    for (int64_t i = 0; i < n; i++)
        if (u[i] < 0 || u[i] >= buf->n_classes || v[i] < 0 || v[i] >= buf->n_classes)
            return eb_error_set(err, EB_ERR_ARG,
                                "hamos potential: chain %lld's classes (%d, %d) out of range", (long long)i,
                                (int)u[i], (int)v[i]);
    int64_t d = buf->dim, cap = buf->capacity, rows = buf->n_classes * cap;
    float *ynorm2 = NULL, *g = gram(buf, z, n, &ynorm2);
    float *val = malloc((size_t)(n * cap) * sizeof *val);
    int64_t *idx = malloc((size_t)(n * cap) * sizeof *idx);
    if (!g || !val || !idx) {
        st = eb_error_set(err, EB_ERR_NOMEM, "hamos potential: out of memory");
    } else {
#pragma omp parallel for schedule(static) if (n * cap * d >= (1 << 18))
        for (int64_t i = 0; i < n; i++) {
            const float *zi = z + i * d;
            double zn = 0.0;
            for (int64_t j = 0; j < d; j++) zn += (double)zi[j] * (double)zi[j];
            double du, dv;
            int64_t ru =
                kth_neighbour(buf, g + i * rows, ynorm2, zn, u[i], k, val + i * cap, idx + i * cap, &du);
            int64_t rv =
                kth_neighbour(buf, g + i * rows, ynorm2, zn, v[i], k, val + i * cap, idx + i * cap, &dv);
            pot[i] = -log(0.5 * (du + dv)); /* Eq. (2) */
            if (grad) {                     /* ∇U = −(∇d_u + ∇d_v)/(d_u + d_v), ∇d = (z − y)/d */
                const float *yu = buf->data + ru * d, *yv = buf->data + rv * d;
                for (int64_t j = 0; j < d; j++)
                    grad[i * d + j] =
                        (float)(-((double)(zi[j] - yu[j]) / du + (double)(zi[j] - yv[j]) / dv) / (du + dv));
            }
        }
    }
    free(g);
    free(ynorm2);
    free(val);
    free(idx);
    return st;
}

eb_status eb_vmf_kde_neg_log_max_prob(const eb_class_buffer *buf, eb_vmf_kde_kind kde, float kappa, int64_t k,
                                      const float *z, int64_t n, double *out, eb_error *err) {
    eb_status st = check_buffer(buf, kde == EB_VMF_KDE_CODE ? k : 1, "vmf kde", err);
    if (st || n == 0) return st;
    int64_t C = buf->n_classes, cap = buf->capacity, rows = C * cap;
    float *ynorm2 = NULL, *g = gram(buf, z, n, &ynorm2);
    float *val = malloc((size_t)(n * cap) * sizeof *val);
    int64_t *idx = malloc((size_t)(n * cap) * sizeof *idx);
    double *lp = malloc((size_t)(n * C) * sizeof *lp);
    if (!g || !val || !idx || !lp) {
        st = eb_error_set(err, EB_ERR_NOMEM, "vmf kde: out of memory");
    } else {
#pragma omp parallel for schedule(static) if (n * rows >= (1 << 16))
        for (int64_t i = 0; i < n; i++) {
            const float *gi = g + i * rows;
            double *l = lp + i * C; /* paper: log p̂_c (Eq. 11, without Z_d(κ)); code: p_c itself */
            for (int64_t c = 0; c < C; c++) {
                const float *gc = gi + c * cap;
                int64_t m = buf->count[c];
                if (kde == EB_VMF_KDE_PAPER) {
                    double mx = -INFINITY, s = 0.0;
                    for (int64_t j = 0; j < m; j++) mx = fmax(mx, (double)kappa * (double)gc[j]);
                    for (int64_t j = 0; j < m; j++) s += exp((double)kappa * (double)gc[j] - mx);
                    l[c] = mx + log(s) - log((double)m);
                } else { /* mean over the k largest inner products of exp(κ(zᵀy − max zᵀy)) */
                    float *vv = val + i * cap;
                    int64_t *ii = idx + i * cap;
                    for (int64_t j = 0; j < m; j++) {
                        vv[j] = gc[j];
                        ii[j] = j;
                    }
                    select_kth_largest(vv, ii, m, k);
                    double mx = -INFINITY, s = 0.0;
                    for (int64_t j = 0; j < k; j++) mx = fmax(mx, (double)vv[j]);
                    for (int64_t j = 0; j < k; j++) s += exp((double)kappa * ((double)vv[j] - mx));
                    l[c] = s / (double)k; /* the code's softmax is over these pdf values, not their logs */
                }
            }
            /* −log max_c softmax_c(l) = logsumexp(l) − max l, for both forms */
            double mx = -INFINITY, s = 0.0;
            for (int64_t c = 0; c < C; c++) mx = fmax(mx, l[c]);
            for (int64_t c = 0; c < C; c++) s += exp(l[c] - mx);
            out[i] = log(s);
        }
    }
    free(g);
    free(ynorm2);
    free(val);
    free(idx);
    free(lp);
    return st;
}

typedef struct potential_ctx {
    const eb_class_buffer *buf;
    int64_t k;
    const int32_t *u, *v;
} potential_ctx;

static eb_status potential_eval(void *ctx, const float *z, int64_t n, int64_t d, double *u, float *grad,
                                eb_error *err) {
    (void)d;
    const potential_ctx *c = ctx;
    return eb_hamos_potential(c->buf, c->k, c->u, c->v, z, n, u, grad, err);
}

/* The chains' classes (u: the class, v: one of its n_adj nearest by cosine of the means, Alg. 1 l. 2–3) and
 * start points normalise(μ_u + μ_v) into z[chains, d]. */
static void chain_starts(const eb_class_buffer *buf, int64_t na, int32_t *u, int32_t *v, float *z,
                         double *mean) {
    int64_t C = buf->n_classes, d = buf->dim, cap = buf->capacity;
    for (int64_t c = 0; c < C; c++) {
        double *mc = mean + c * (d + 1), norm = 0.0;
        for (int64_t j = 0; j < d; j++) mc[j] = 0.0;
        for (int64_t r = 0; r < buf->count[c]; r++)
            for (int64_t j = 0; j < d; j++) mc[j] += (double)buf->data[(c * cap + r) * d + j];
        for (int64_t j = 0; j < d; j++) mc[j] /= (double)buf->count[c];
        for (int64_t j = 0; j < d; j++) norm += mc[j] * mc[j];
        mc[d] = sqrt(norm); /* d + 1 slots per class: the mean, then its norm */
    }
    int64_t chain = 0;
    for (int64_t c = 0; c < C; c++) {
        bool *taken = calloc((size_t)C, sizeof *taken);
        for (int64_t a = 0; a < na; a++) {
            int64_t best = -1;
            double best_cos = -INFINITY;
            for (int64_t o = 0; o < C; o++) {
                if (o == c || (taken && taken[o])) continue;
                double dot = 0.0;
                for (int64_t j = 0; j < d; j++) dot += mean[c * (d + 1) + j] * mean[o * (d + 1) + j];
                double cosv = dot / fmax(mean[c * (d + 1) + d] * mean[o * (d + 1) + d], 1e-300);
                if (cosv > best_cos) {
                    best_cos = cosv;
                    best = o;
                }
            }
            if (taken) taken[best] = true;
            u[chain] = (int32_t)c;
            v[chain] = (int32_t)best;
            double norm = 0.0;
            for (int64_t j = 0; j < d; j++) {
                double s = mean[c * (d + 1) + j] + mean[best * (d + 1) + j];
                norm += s * s;
            }
            norm = sqrt(norm) > 1e-30 ? sqrt(norm) : 1.0;
            for (int64_t j = 0; j < d; j++)
                z[chain * d + j] = (float)((mean[c * (d + 1) + j] + mean[best * (d + 1) + j]) / norm);
            chain++;
        }
        free(taken);
    }
}

static bool row_finite(const float *z, int64_t d) {
    for (int64_t j = 0; j < d; j++)
        if (!isfinite(z[j])) return false;
    return true;
}

eb_status eb_hamos_synthesize(const eb_hamos_synthesis_params *p, const eb_class_buffer *buf, float *out,
                              eb_hamos_synthesis_stats *stats, eb_rng *rng, eb_error *err) {
    double t0 = eb_time_seconds();
    eb_status st = eb_hamos_synthesis_params_check(p, err);
    if (st) return st;
    if (!buf || buf->n_classes < 2)
        return eb_error_set(err, EB_ERR_ARG, "synthesis: needs at least 2 classes");
    if ((st = check_buffer(buf, p->k, "synthesis", err))) return st;
    int64_t C = buf->n_classes, d = buf->dim, na = n_adjacent(p, C), n = C * na;
    int32_t *u = malloc((size_t)n * sizeof *u), *v = malloc((size_t)n * sizeof *v);
    float *z = malloc((size_t)(n * d) * sizeof *z), *prop = malloc((size_t)(n * d) * sizeof *prop);
    double *mean = malloc((size_t)(C * (d + 1)) * sizeof *mean), *thr = malloc((size_t)n * sizeof *thr);
    double *la = malloc((size_t)n * sizeof *la), *nl = malloc((size_t)n * sizeof *nl);
    if (!u || !v || !z || !prop || !mean || !thr || !la || !nl)
        st = eb_error_set(err, EB_ERR_NOMEM, "synthesis: out of memory");
    int64_t accepted = 0, written = 0;
    if (!st) {
        chain_starts(buf, na, u, v, z, mean);
        st = eb_vmf_kde_neg_log_max_prob(buf, p->kde, p->kappa, p->k, z, n, thr, err);
    }
    if (!st) {
        for (int64_t i = 0; i < n; i++) thr[i] -= (double)p->margin; /* t₋ of Eq. (5), fixed for the call */
        if (p->keep_start) {
            memcpy(out, z, (size_t)(n * d) * sizeof *z);
            written = n;
        }
    }
    potential_ctx pc = {buf, p->k, u, v};
    eb_sphere_potential pot = {potential_eval, &pc};
    for (int64_t r = 0; r < p->rounds && !st; r++) {
        if ((st = eb_sphere_propose(&p->sampler, &pot, z, n, d, prop, la, rng, err))) break;
        if ((st = eb_vmf_kde_neg_log_max_prob(buf, p->kde, p->kappa, p->k, prop, n, nl, err))) break;
        for (int64_t i = 0; i < n; i++) {
            bool mh = eb_mh_accept(la[i], rng); /* one draw per chain, always */
            if (mh && nl[i] > thr[i] && row_finite(prop + i * d, d)) {
                memcpy(z + i * d, prop + i * d, (size_t)d * sizeof *z);
                accepted++;
            }
        }
        memcpy(out + written * d, z, (size_t)(n * d) * sizeof *z);
        written += n;
    }
    if (!st && stats) {
        double norm = 0.0;
        for (int64_t j = 0; j < d; j++) {
            double s = 0.0;
            for (int64_t i = 0; i < written; i++) s += (double)out[i * d + j];
            norm += (s / (double)written) * (s / (double)written);
        }
        stats->acceptance = (double)accepted / (double)(n * p->rounds);
        stats->diversity = 1.0 - sqrt(norm);
        stats->seconds = eb_time_seconds() - t0;
    }
    free(u);
    free(v);
    free(z);
    free(prop);
    free(mean);
    free(thr);
    free(la);
    free(nl);
    return st;
}
