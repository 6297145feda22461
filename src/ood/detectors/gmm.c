/* The Gaussian-mixture prior of HEAT (001_8dfeaa911d9afebd.txt §2.1, Eqs. (1), (9), (10); specs §5:
 * the released code's SSDScorer) and the "gmm" detector, which scores with it alone — the "HEAT w/o
 * energy" ablation of Table 2.
 *
 * Fit, on L2-normalised ID features z_i = φ(x_i)/‖φ(x_i)‖ with labels y_i (Eq. (10)):
 *   π_c = N_c/N,  μ_c = (1/N_c) Σ_{y_i=c} z_i,  Σ = (1/N) Σ_i (z_i − μ_{y_i})(z_i − μ_{y_i})ᵀ + r·I,
 * r = the ridge parameter (1e-12, the code's), Cholesky Σ = LLᵀ in double. A Σ that is singular or
 * nearly so (reciprocal condition < 1e-10) gets the ridge ladder of the mahalanobis detector and a
 * note (gaussian.c). L is kept (and saved) in float32 and everything else is derived from that float
 * L in double: a rounded Cholesky factor is always a valid factor, and its relative error in the
 * density is ~√cond(Σ)·6e-8, where rounding Σ itself could make a near-singular Σ indefinite.
 * Score (higher = more ID): the full log-density
 *   log q(z) = log Σ_c π_c N(z; μ_c, Σ)
 *            = −½·d·log 2π − ½·log|Σ| + logsumexp_c(log π_c − ½‖L⁻¹(z − μ_c)‖²),
 * computed in double with one triangular solve per row (u = L⁻¹z, ν_c = L⁻¹μ_c) and a max-shifted
 * log-sum-exp, so no exponential overflows however small Σ is (on the unit sphere it is tiny and
 * log q is large and positive). The paper's E_G (§2.1) drops π_c, the ½ and the constant; the code,
 * and we, keep them: E_G = −log q.
 * Saved tensors: "means" [C, d], "cholesky" [d, d] (L of Σ + ridge, lower), "weights" [C] (F32). */
#include "ood/detectors/gaussian_impl.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCORE_BLOCK 512 /* rows per triangular solve */

static const double LOG_2PI = 1.8378770664093454836;

/* ---- the mixture ------------------------------------------------------------------------------------ */

eb_status eb__gmm_alloc(eb__gmm *g, int64_t dim, int64_t nc) {
    memset(g, 0, sizeof *g);
    g->dim = dim;
    g->nc = nc;
    g->means = malloc((size_t)(nc * dim) * sizeof(float));
    g->cholesky = malloc((size_t)(dim * dim) * sizeof(float));
    g->weights = malloc((size_t)nc * sizeof(float));
    return g->means && g->cholesky && g->weights ? EB_OK : EB_ERR_NOMEM;
}

static void free_derived(eb__gmm *g) {
    free(g->chol);
    free(g->wmeans);
    free(g->log_w);
    free(g->whiten_f);
    free(g->wmeans_f);
    free(g->offset_f);
    g->chol = g->wmeans = g->log_w = NULL;
    g->whiten_f = g->wmeans_f = g->offset_f = NULL;
}

void eb__gmm_free(eb__gmm *g) {
    if (!g) return;
    free_derived(g);
    free(g->means);
    free(g->cholesky);
    free(g->weights);
    g->means = g->cholesky = g->weights = NULL;
}

eb_status eb__gmm_derive(eb__gmm *g) {
    const int64_t d = g->dim, nc = g->nc;
    free_derived(g);
    g->chol = malloc((size_t)(d * d) * sizeof(double));
    g->wmeans = malloc((size_t)(nc * d) * sizeof(double));
    g->log_w = malloc((size_t)nc * sizeof(double));
    g->whiten_f = calloc((size_t)(d * d), sizeof(float));
    g->wmeans_f = malloc((size_t)(nc * d) * sizeof(float));
    g->offset_f = malloc((size_t)nc * sizeof(float));
    double *inv = malloc((size_t)(d * d) * sizeof(double));
    if (!g->chol || !g->wmeans || !g->log_w || !g->whiten_f || !g->wmeans_f || !g->offset_f || !inv) {
        free(inv);
        return EB_ERR_NOMEM;
    }
    const lapack_int n = (lapack_int)d;
    eb_status st = EB_OK;
    double logdet = 0.0;
    for (int64_t j = 0; j < d; j++) {
        for (int64_t k = 0; k < d; k++) g->chol[j * d + k] = k <= j ? (double)g->cholesky[j * d + k] : 0.0;
        if (!(g->chol[j * d + j] > 0.0))
            st = EB_ERR_NUMERIC;
        else
            logdet += 2.0 * log(g->chol[j * d + j]);
    }
    g->log_norm = -0.5 * (double)d * LOG_2PI - 0.5 * logdet;
    /* ν_c = L⁻¹ μ_c: rows of means solved against Lᵀ from the right */
    if (!st) {
        for (int64_t i = 0; i < nc * d; i++) g->wmeans[i] = (double)g->means[i];
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (blasint)nc, (blasint)d,
                    1.0, g->chol, (blasint)d, g->wmeans, (blasint)d);
        memcpy(inv, g->chol, (size_t)(d * d) * sizeof *inv);
        if (LAPACKE_dtrtri(LAPACK_ROW_MAJOR, 'L', 'N', n, inv, n) != 0) st = EB_ERR_NUMERIC;
    }
    for (int64_t i = 0; !st && i < d; i++)
        for (int64_t j = 0; j <= i; j++) {
            g->whiten_f[i * d + j] = (float)inv[i * d + j];
            if (!isfinite(g->whiten_f[i * d + j])) st = EB_ERR_NUMERIC;
        }
    for (int64_t c = 0; !st && c < nc; c++) {
        double sq = 0.0;
        for (int64_t j = 0; j < d; j++) {
            sq += g->wmeans[c * d + j] * g->wmeans[c * d + j];
            g->wmeans_f[c * d + j] = (float)g->wmeans[c * d + j];
        }
        if (!(g->weights[c] > 0.0f)) st = EB_ERR_NUMERIC;
        g->log_w[c] = log((double)g->weights[c]);
        g->offset_f[c] = (float)(g->log_w[c] - 0.5 * sq);
        if (!isfinite(g->offset_f[c])) st = EB_ERR_NUMERIC;
    }
    free(inv);
    return st;
}

eb_status eb__gmm_fit(eb__gmm *g, const float *z, const int32_t *y, int64_t n, int64_t dim, int64_t nc,
                      double base_ridge, const char *name, char *note, size_t note_size, eb_error *err) {
    eb_status st = eb__gmm_alloc(g, dim, nc);
    double *means = malloc((size_t)(nc * dim) * sizeof *means);
    double *sigma = malloc((size_t)(dim * dim) * sizeof *sigma);
    double *chol = malloc((size_t)(dim * dim) * sizeof *chol);
    int64_t *counts = malloc((size_t)nc * sizeof *counts);
    if (st || !means || !sigma || !chol || !counts ||
        eb__class_gaussian(z, y, n, dim, nc, means, counts, sigma) != EB_OK) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (dim %lld)", name, (long long)dim);
        goto done;
    }
    if ((st = eb__covariance_check(sigma, dim, n, nc, name, err))) goto done;
    double lambda = 0.0, rcond0 = 0.0;
    if (eb__cholesky_ridge(sigma, dim, base_ridge, chol, &lambda, &rcond0) != EB_OK) {
        st = eb_error_set(err, EB_ERR_NUMERIC,
                          "%s: the covariance of the training features cannot be factorised even with a "
                          "ridge of %g",
                          name, lambda);
        goto done;
    }
    if (note && note_size) note[0] = '\0';
    if (lambda > 0.0 && note)
        snprintf(note, note_size,
                 "%s: the covariance is singular or nearly so (reciprocal condition %.2g with %lld samples, "
                 "dim %lld); added a ridge %.3g*I",
                 name, rcond0, (long long)n, (long long)dim, lambda);
    for (int64_t i = 0; i < nc * dim; i++) g->means[i] = (float)means[i];
    for (int64_t i = 0; i < dim * dim; i++) g->cholesky[i] = (float)chol[i];
    for (int64_t c = 0; c < nc; c++) g->weights[c] = (float)((double)counts[c] / (double)n);
    st = eb__gmm_derive(g);
    if (st == EB_ERR_NOMEM)
        st = eb_error_set(err, st, "%s: out of memory", name);
    else if (st)
        st = eb_error_set(err, st, "%s: the Cholesky factor of the covariance underflows float", name);
done:
    free(means);
    free(sigma);
    free(chol);
    free(counts);
    return st;
}

eb_status eb__gmm_log_density(const eb__gmm *g, const float *z, int64_t n, double *out) {
    const int64_t d = g->dim, nc = g->nc;
    const int64_t bmax = n < SCORE_BLOCK ? n : SCORE_BLOCK;
    double *u = malloc((size_t)((bmax > 0 ? bmax : 1) * d) * sizeof *u);
    double *t = malloc((size_t)((bmax > 0 ? bmax : 1) * nc) * sizeof *t);
    if (!u || !t) {
        free(u);
        free(t);
        return EB_ERR_NOMEM;
    }
    for (int64_t start = 0; start < n; start += SCORE_BLOCK) {
        const int64_t b = n - start < SCORE_BLOCK ? n - start : SCORE_BLOCK;
        for (int64_t i = 0; i < b * d; i++) u[i] = (double)z[start * d + i];
        /* rows u_i ← L⁻¹ z_i, i.e. U ← Z L⁻ᵀ */
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (blasint)b, (blasint)d,
                    1.0, g->chol, (blasint)d, u, (blasint)d);
        for (int64_t i = 0; i < b; i++) {
            double m = -INFINITY;
            for (int64_t c = 0; c < nc; c++) {
                double sq = 0.0;
                for (int64_t j = 0; j < d; j++) {
                    const double diff = u[i * d + j] - g->wmeans[c * d + j];
                    sq += diff * diff;
                }
                t[i * nc + c] = g->log_w[c] - 0.5 * sq;
                if (t[i * nc + c] > m) m = t[i * nc + c];
            }
            double s = 0.0;
            for (int64_t c = 0; c < nc; c++) s += exp(t[i * nc + c] - m);
            out[start + i] = g->log_norm + m + log(s);
        }
    }
    free(u);
    free(t);
    return EB_OK;
}

eb_tensor *eb__gmm_energy_tape(const eb__gmm *g, eb_graph *gr, eb_tensor *z) {
    const int64_t d = g->dim, nc = g->nc;
    eb_tensor *w = eb_tensor_input(gr, g->whiten_f, 2, EB_SHAPE(d, d), false);
    eb_tensor *nu = eb_tensor_input(gr, g->wmeans_f, 2, EB_SHAPE(nc, d), false);
    eb_tensor *off = eb_tensor_input(gr, g->offset_f, 1, EB_SHAPE(nc), false);
    eb_tensor *u = eb_matmul(gr, z, w, false, true);                       /* [B, d] = z Wᵀ */
    eb_tensor *logit = eb_add(gr, eb_matmul(gr, u, nu, false, true), off); /* [B, C] */
    eb_tensor *half_sq = eb_mul_scalar(gr, eb_sum(gr, eb_square(gr, u), 1, false), 0.5f);
    eb_tensor *e = eb_sub(gr, half_sq, eb_logsumexp(gr, logit, 1, false));
    return eb_add_scalar(gr, e, (float)-g->log_norm);
}

/* ---- the gmm detector ----------------------------------------------------------------------------- */

static void gmm_free_state(eb_detector *d) {
    eb__gmm *g = d->state;
    if (g) {
        eb__gmm_free(g);
        free(g);
    }
    d->state = NULL;
}

/* z = x/max(‖x‖, 1e-12) per row, or x itself with normalize off (raw 2-D toys). */
static void prepare(const eb_detector *d, float *z, const float *x, int64_t n) {
    if (d->params.heat.normalize)
        eb__l2_normalize_rows(z, x, n, d->dim);
    else
        memcpy(z, x, (size_t)(n * d->dim) * sizeof *z);
}

static eb_status gmm_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    const int64_t n = x->n, dim = d->dim;
    eb__gmm *g = calloc(1, sizeof *g);
    float *z = malloc((size_t)(n * dim) * sizeof *z);
    if (!g || !z) {
        free(g);
        free(z);
        return eb_error_set(err, EB_ERR_NOMEM, "gmm: out of memory");
    }
    d->state = g;
    prepare(d, z, x->features, n);
    eb_status st = eb__gmm_fit(g, z, x->labels, n, dim, d->n_classes, (double)d->params.heat.ridge, "gmm",
                               d->note, sizeof d->note, err);
    free(z);
    return st;
}

static eb_status gmm_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    const eb__gmm *g = d->state;
    float *z = malloc((size_t)(x->n * d->dim) * sizeof *z);
    double *lq = malloc((size_t)x->n * sizeof *lq);
    eb_status st = (!z || !lq) ? EB_ERR_NOMEM : EB_OK;
    if (!st) {
        prepare(d, z, x->features, x->n);
        st = eb__gmm_log_density(g, z, x->n, lq);
    }
    for (int64_t i = 0; !st && i < x->n; i++) scores[i] = (float)lq[i];
    free(z);
    free(lq);
    return st ? eb_error_set(err, st, "gmm: out of memory") : EB_OK;
}

static int gmm_tensors(const eb_detector *d, eb_st_tensor *out, int max) {
    const eb__gmm *g = d->state;
    if (max < 3 || !g) return 0;
    out[0] = eb__f32_tensor("means", g->means, g->nc, g->dim);
    out[1] = eb__f32_tensor("cholesky", g->cholesky, g->dim, g->dim);
    out[2] = eb__f32_tensor("weights", g->weights, g->nc, 0);
    return 3;
}

eb_status eb__gmm_load_tensors(eb__gmm *g, const eb_safetensors *file, const char *prefix, int64_t dim,
                               int64_t nc, eb_error *err) {
    const char *path = eb_safetensors_path(file);
    memset(g, 0, sizeof *g);
    g->dim = dim;
    g->nc = nc;
    char name[64];
    snprintf(name, sizeof name, "%smeans", prefix);
    eb_status st = eb__detector_get_f32(file, name, 2, EB_SHAPE(nc, dim), &g->means, err);
    snprintf(name, sizeof name, "%scholesky", prefix);
    if (!st) st = eb__detector_get_f32(file, name, 2, EB_SHAPE(dim, dim), &g->cholesky, err);
    snprintf(name, sizeof name, "%sweights", prefix);
    if (!st) st = eb__detector_get_f32(file, name, 1, EB_SHAPE(nc), &g->weights, err);
    for (int64_t i = 0; !st && i < dim; i++)
        for (int64_t j = i + 1; j < dim && !st; j++)
            if (g->cholesky[i * dim + j] != 0.0f)
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%scholesky' is not lower triangular", path,
                                  prefix);
    if (!st) {
        double sum = 0.0;
        for (int64_t c = 0; c < nc; c++) sum += (double)g->weights[c];
        for (int64_t c = 0; c < nc && !st; c++)
            if (!(g->weights[c] > 0.0f) || fabs(sum - 1.0) > 1e-4)
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%sweights' is not a probability vector",
                                  path, prefix);
    }
    if (!st && (st = eb__gmm_derive(g)))
        st = st == EB_ERR_NOMEM
                 ? eb_error_set(err, st, "%s: out of memory", path)
                 : eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%scholesky' has a diagonal entry <= 0", path,
                                prefix);
    return st;
}

static eb_status gmm_load(eb_detector *d, const eb_safetensors *file, eb_error *err) {
    eb__gmm *g = calloc(1, sizeof *g);
    if (!g) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", eb_safetensors_path(file));
    d->state = g;
    return eb__gmm_load_tensors(g, file, "", d->dim, d->n_classes, err);
}

const eb__detector_method eb__detector_gmm = {
    .name = "gmm",
    .params_used = EB_PARAM_HEAT,
    EB__HEAT_PARAM_HOOKS,
    .needs = EB_NEEDS_FEATURES | EB_NEEDS_LABELS,
    .fit = gmm_fit,
    .score = gmm_score,
    .tensors = gmm_tensors,
    .load = gmm_load,
    .free_state = gmm_free_state,
};
