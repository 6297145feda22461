/* Mahalanobis (class means + one tied covariance) and SSD (the same on L2-normalised features).
 *
 * Fit, on ID training features z_i with labels y_i ∈ [0, C) (specs §1, the energy paper's code):
 *   μ_c = mean of the class-c features;  Σ = (1/N) Σ_i (z_i − μ_{y_i})(z_i − μ_{y_i})ᵀ  (sklearn
 *   EmpiricalCovariance on class-centred features, divisor N);  optional shrinkage
 *   Σ ← (1−s)Σ + s·(tr Σ/d)·I (sklearn shrunk_covariance);  P = Σ⁻¹ by Cholesky (LAPACKE dpotrf +
 *   dpotri, in double). If Σ is not positive definite, or its reciprocal condition number (dpocon)
 *   is below 1e-10, a ridge λ·I is added, λ = 10^k · 1e-6 · tr Σ/d for k = 0, 1, …, 6, the first
 *   that works, and the detector's note says so.
 * Score (higher = more ID):  s(z) = max_c g_c(z),  g_c(z) = −½ (z − μ_c)ᵀ P (z − μ_c).
 *   Computed in the whitened space: P (rounded to float, as saved) = UᵀU by Cholesky, u = U(z − m),
 *   ν_c = U(μ_c − m) with m the mean of the class means, g_c = −½‖u − ν_c‖². One SGEMM per block
 *   of queries, then C·d per query; no N×N or per-class d×d work at scoring time.
 * SSD: z ← z/max(‖z‖₂, 1e-12) before fitting and scoring (class means of normalised features,
 *   specs §5 / HEAT's SSDScorer without the GMM constant).
 * Input pre-processing (eps > 0; specs §1): with ĉ = argmax_c g_c(f(x)) for the network's
 *   penultimate features f(x) (normalised for SSD), x̃ = x − eps·sign(∇ₓ ½ dᵀPd)/std with
 *   d = f(x) − μ_ĉ and sign(g) = +1 for g ≥ 0, −1 otherwise; score = max_c g_c(f(x̃)).
 *   The gradient goes through the model on the tape; the model's gradient buffer is zeroed after.
 * Saved tensors: "means" [C, d], "precision" [d, d] (F32). */
#include "ood/detectors/gaussian_impl.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCORE_BLOCK   1024  /* query rows per SGEMM block */
#define PREPROC_BATCH 128   /* rows per tape pass of the input pre-processing */
#define MIN_RCOND     1e-10 /* below this Σ counts as singular */

typedef struct maha_state {
    float *means;     /* [C, d] */
    float *precision; /* [d, d], symmetric */
    /* derived from means and precision (fit and load compute them the same way) */
    float *whiten; /* [d, d] U, upper triangular, P = UᵀU */
    float *center; /* [d] mean of the class means */
    float *wmeans; /* [C, d] U(μ_c − center) */
} maha_state;

static bool is_ssd(const eb_detector *d) { return d->kind == EB_DETECTOR_SSD; }

static void maha_free(eb_detector *d) {
    maha_state *s = d->state;
    if (s) {
        free(s->means);
        free(s->precision);
        free(s->whiten);
        free(s->center);
        free(s->wmeans);
        free(s);
    }
    d->state = NULL;
}

/* whiten, center, wmeans from means and precision. EB_ERR_NUMERIC if P is not positive definite. */
static eb_status derive(maha_state *s, int64_t dim, int64_t n_classes) {
    const size_t dd = (size_t)(dim * dim);
    double *u = malloc(dd * sizeof *u);
    if (!u) return EB_ERR_NOMEM;
    for (size_t i = 0; i < dd; i++) u[i] = (double)s->precision[i];
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)dim, u, (lapack_int)dim);
    if (info != 0) {
        free(u);
        return EB_ERR_NUMERIC;
    }
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = 0; j < dim; j++) s->whiten[i * dim + j] = j >= i ? (float)u[i * dim + j] : 0.0f;
    free(u);
    for (int64_t j = 0; j < dim; j++) {
        double sum = 0.0;
        for (int64_t c = 0; c < n_classes; c++) sum += (double)s->means[c * dim + j];
        s->center[j] = (float)(sum / (double)n_classes);
    }
    /* wmeans[c] = U (μ_c − center), in double */
    for (int64_t c = 0; c < n_classes; c++)
        for (int64_t i = 0; i < dim; i++) {
            double acc = 0.0;
            for (int64_t j = i; j < dim; j++)
                acc +=
                    (double)s->whiten[i * dim + j] * ((double)s->means[c * dim + j] - (double)s->center[j]);
            s->wmeans[c * dim + i] = (float)acc;
        }
    return EB_OK;
}

static maha_state *state_alloc(int64_t dim, int64_t n_classes) {
    maha_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->means = malloc((size_t)(n_classes * dim) * sizeof(float));
    s->precision = malloc((size_t)(dim * dim) * sizeof(float));
    s->whiten = malloc((size_t)(dim * dim) * sizeof(float));
    s->center = malloc((size_t)dim * sizeof(float));
    s->wmeans = malloc((size_t)(n_classes * dim) * sizeof(float));
    if (!s->means || !s->precision || !s->whiten || !s->center || !s->wmeans) {
        free(s->means);
        free(s->precision);
        free(s->whiten);
        free(s->center);
        free(s->wmeans);
        free(s);
        return NULL;
    }
    return s;
}

/* Tries Σ + λI: Cholesky, condition check, inverse, float rounding, whitening. true on success. */
static bool try_invert(maha_state *s, const double *sigma, double lambda, int64_t dim, int64_t n_classes,
                       double *work, double *rcond_out) {
    const lapack_int n = (lapack_int)dim;
    memcpy(work, sigma, (size_t)(dim * dim) * sizeof *work);
    for (int64_t i = 0; i < dim; i++) work[i * dim + i] += lambda;
    double anorm = LAPACKE_dlansy(LAPACK_ROW_MAJOR, '1', 'U', n, work, n);
    *rcond_out = 0.0;
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', n, work, n) != 0) return false;
    double rcond = 0.0;
    if (LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'U', n, work, n, anorm, &rcond) != 0) return false;
    *rcond_out = rcond;
    if (!(rcond >= MIN_RCOND)) return false;
    if (LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', n, work, n) != 0) return false;
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = i; j < dim; j++) {
            float v = (float)work[i * dim + j];
            if (!isfinite(v)) return false;
            s->precision[i * dim + j] = s->precision[j * dim + i] = v;
        }
    return derive(s, dim, n_classes) == EB_OK;
}

static eb_status maha_fit(eb_detector *d, const eb_detector_data *x, eb_error *err) {
    const int64_t n = x->n, dim = d->dim, nc = d->n_classes;
    const char *name = eb_detector_kind_name(d->kind);
    maha_state *s = state_alloc(dim, nc);
    double *mean = malloc((size_t)(nc * dim) * sizeof *mean);
    double *sigma = malloc((size_t)(dim * dim) * sizeof *sigma);
    double *work = malloc((size_t)(dim * dim) * sizeof *work);
    float *z = is_ssd(d) ? malloc((size_t)(n * dim) * sizeof *z) : NULL;
    eb_status st = EB_OK;
    if (!s || !mean || !sigma || !work || (is_ssd(d) && !z)) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (dim %lld)", name, (long long)dim);
        goto done;
    }
    d->state = s;
    const float *feat = x->features;
    if (z) {
        eb__l2_normalize_rows(z, x->features, n, dim);
        feat = z;
    }
    /* class means μ_c and Σ = (1/N) Σ_i (z_i − μ_y)(z_i − μ_y)ᵀ (gaussian.c) */
    if (eb__class_gaussian(feat, x->labels, n, dim, nc, mean, NULL, sigma) != EB_OK) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (dim %lld)", name, (long long)dim);
        goto done;
    }
    for (int64_t i = 0; i < nc * dim; i++) s->means[i] = (float)mean[i];
    if ((st = eb__covariance_check(sigma, dim, n, nc, name, err))) goto done;
    double trace = 0.0;
    for (int64_t i = 0; i < dim; i++) trace += sigma[i * dim + i];
    const double tau = trace / (double)dim, shrink = (double)d->params.shrinkage;
    if (shrink > 0.0) {
        for (int64_t i = 0; i < dim * dim; i++) sigma[i] *= 1.0 - shrink;
        for (int64_t i = 0; i < dim; i++) sigma[i * dim + i] += shrink * tau;
    }
    /* invert, with the ridge fallback */
    const double scale = tau > 0.0 ? tau : 1.0;
    double rcond0 = 0.0, rcond = 0.0, lambda = 0.0;
    bool ok = try_invert(s, sigma, 0.0, dim, nc, work, &rcond0);
    for (int k = 0; !ok && k <= 6; k++) {
        lambda = scale * 1e-6 * pow(10.0, k);
        ok = try_invert(s, sigma, lambda, dim, nc, work, &rcond);
    }
    if (!ok) {
        st = eb_error_set(
            err, EB_ERR_NUMERIC,
            "%s: the covariance of the training features cannot be inverted even with a ridge of "
            "%g (mean variance %g)",
            name, lambda, tau);
        goto done;
    }
    if (lambda > 0.0)
        eb__detector_note(d,
                          "%s: the covariance is singular or nearly so (reciprocal condition %.2g with %lld "
                          "samples, dim %lld); added a ridge %.3g*I (%.0e x mean variance)%s",
                          name, rcond0, (long long)n, (long long)dim, lambda, lambda / scale,
                          shrink > 0.0 ? "" : "; consider --shrinkage");
done:
    free(mean);
    free(sigma);
    free(work);
    free(z);
    if (!d->state) {
        /* s was never attached */
        if (s) {
            d->state = s;
            maha_free(d);
        }
    }
    return st;
}

/* ‖u − w‖² of two float vectors, in double with 8 independent accumulators so the compiler can
 * vectorise without reassociating (the same result on every code path; DESIGN.md §3.14: wide
 * vectors by runtime dispatch). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static double
sq_dist(const float *u, const float *w, int64_t dim) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= dim; j += 8)
        for (int l = 0; l < 8; l++) {
            const double diff = (double)u[j + l] - (double)w[j + l];
            acc[l] += diff * diff;
        }
    for (int l = 0; j < dim; j++, l++) {
        const double diff = (double)u[j] - (double)w[j];
        acc[l] += diff * diff;
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* scores[n] of features z[n, d] (already normalised for SSD). */
static eb_status score_features(const maha_state *s, const float *z, int64_t n, int64_t dim, int64_t nc,
                                float *scores, int32_t *closest, eb_error *err) {
    const int64_t bmax = n < SCORE_BLOCK ? n : SCORE_BLOCK;
    float *zc = malloc((size_t)(bmax * dim) * sizeof *zc);
    float *u = malloc((size_t)(bmax * dim) * sizeof *u);
    if (!zc || !u) {
        free(zc);
        free(u);
        return eb_error_set(err, EB_ERR_NOMEM, "mahalanobis: out of memory");
    }
    for (int64_t start = 0; start < n; start += SCORE_BLOCK) {
        const int64_t b = n - start < SCORE_BLOCK ? n - start : SCORE_BLOCK;
        for (int64_t i = 0; i < b; i++)
            for (int64_t j = 0; j < dim; j++) zc[i * dim + j] = z[(start + i) * dim + j] - s->center[j];
        /* u = zc · Uᵀ  ([b, d] × [d, d]) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)b, (blasint)dim, (blasint)dim, 1.0f, zc,
                    (blasint)dim, s->whiten, (blasint)dim, 0.0f, u, (blasint)dim);
#pragma omp parallel for schedule(static) if (b * nc * dim >= 65536)
        for (int64_t i = 0; i < b; i++) {
            double best = INFINITY;
            int32_t arg = 0;
            for (int64_t c = 0; c < nc; c++) {
                const double acc = sq_dist(u + i * dim, s->wmeans + c * dim, dim);
                if (acc < best) {
                    best = acc;
                    arg = (int32_t)c;
                }
            }
            scores[start + i] = (float)(-0.5 * best);
            if (closest) closest[start + i] = arg;
        }
    }
    free(zc);
    free(u);
    return EB_OK;
}

/* The input pre-processing path (eps > 0): perturb each input towards its closest class mean
 * through the model, then score the perturbed input's features. */
static eb_status score_preprocessed(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    const maha_state *s = d->state;
    eb_model *m = x->model;
    const int64_t dim = d->dim, nc = d->n_classes, din = x->input_dim, dout = eb_model_out_dim(m);
    const char *name = eb_detector_kind_name(d->kind);
    if (eb_model_feature_dim(m) != dim)
        return eb_error_set(err, EB_ERR_SHAPE,
                            "model: %lld penultimate features, the %s detector was fitted on %lld",
                            (long long)eb_model_feature_dim(m), name, (long long)dim);
    const int64_t bmax = x->n < PREPROC_BATCH ? x->n : PREPROC_BATCH;
    float *xb = malloc((size_t)(bmax * din) * sizeof *xb);
    float *feat = malloc((size_t)(bmax * dim) * sizeof *feat);
    float *logits = malloc((size_t)(bmax * dout) * sizeof *logits);
    float *sel = malloc((size_t)(bmax * dim) * sizeof *sel);
    float *tmp = malloc((size_t)bmax * sizeof *tmp);
    int32_t *closest = malloc((size_t)bmax * sizeof *closest);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_status st = EB_OK;
    if (!xb || !feat || !logits || !sel || !tmp || !closest || !g)
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", name);
    const float eps = d->params.eps;
    for (int64_t start = 0; start < x->n && !st; start += PREPROC_BATCH) {
        const int64_t b = x->n - start < PREPROC_BATCH ? x->n - start : PREPROC_BATCH;
        memcpy(xb, x->inputs + start * din, (size_t)(b * din) * sizeof *xb);
        eb_graph_reset(g);
        eb_tensor *xt = eb_tensor_input(g, xb, 2, EB_SHAPE(b, din), true);
        eb_tensor *f = NULL;
        (void)eb_model_forward(m, g, xt, false, NULL, &f);
        if (eb_graph_status(g) == EB_OK && is_ssd(d)) f = eb_l2_normalize(g, f, 1e-12f);
        if ((st = eb_graph_status(g))) {
            eb_error_set(err, st, "%s: %s", name, eb_graph_error(g));
            break;
        }
        /* closest class of each row */
        if ((st = score_features(s, f->data, b, dim, nc, tmp, closest, err))) break;
        for (int64_t i = 0; i < b; i++)
            memcpy(sel + i * dim, s->means + closest[i] * dim, (size_t)dim * sizeof *sel);
        eb_tensor *mu = eb_tensor_input(g, sel, 2, EB_SHAPE(b, dim), false);
        eb_tensor *prec = eb_tensor_input(g, s->precision, 2, EB_SHAPE(dim, dim), false);
        eb_tensor *diff = eb_sub(g, f, mu);
        eb_tensor *q = eb_sum(g, eb_mul(g, eb_matmul(g, diff, prec, false, false), diff), 1, false);
        eb_tensor *loss = eb_mul_scalar(g, eb_sum_all(g, q), 0.5f);
        if ((st = eb_graph_backward(g, loss, NULL))) {
            eb_error_set(err, st, "%s: %s", name, eb_graph_error(g));
            break;
        }
        eb__perturb_inputs(xb, x->inputs + start * din, xt->grad, b, x, eps);
        if ((st = eb_model_predict(m, xb, b, b, logits, feat, err))) break;
        if (is_ssd(d)) eb__l2_normalize_rows(feat, feat, b, dim);
        st = score_features(s, feat, b, dim, nc, scores + start, NULL, err);
    }
    eb_params_zero_grad(&m->params);
    eb_graph_free(g);
    free(xb);
    free(feat);
    free(logits);
    free(sel);
    free(tmp);
    free(closest);
    return st;
}

static eb_status maha_score(eb_detector *d, const eb_detector_data *x, float *scores, eb_error *err) {
    if (d->params.eps > 0.0f) return score_preprocessed(d, x, scores, err);
    if (!is_ssd(d))
        return score_features(d->state, x->features, x->n, d->dim, d->n_classes, scores, NULL, err);
    float *z = malloc((size_t)(x->n * d->dim) * sizeof *z);
    if (!z) return eb_error_set(err, EB_ERR_NOMEM, "ssd: out of memory");
    eb__l2_normalize_rows(z, x->features, x->n, d->dim);
    eb_status st = score_features(d->state, z, x->n, d->dim, d->n_classes, scores, NULL, err);
    free(z);
    return st;
}

static int maha_tensors(const eb_detector *d, eb_st_tensor *out, int max) {
    const maha_state *s = d->state;
    if (max < 2 || !s) return 0;
    out[0] = eb__f32_tensor("means", s->means, d->n_classes, d->dim);
    out[1] = eb__f32_tensor("precision", s->precision, d->dim, d->dim);
    return 2;
}

static eb_status maha_load(eb_detector *d, const eb_safetensors *file, eb_error *err) {
    const char *path = eb_safetensors_path(file);
    /* the declared sizes are checked against the file's tensors before the state is allocated */
    eb_status st = eb__detector_check_f32(file, "means", 2, EB_SHAPE(d->n_classes, d->dim), err);
    if (!st) st = eb__detector_check_f32(file, "precision", 2, EB_SHAPE(d->dim, d->dim), err);
    if (st) return st;
    maha_state *s = state_alloc(d->dim, d->n_classes);
    if (!s) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    free(s->means);
    free(s->precision);
    s->means = s->precision = NULL;
    d->state = s;
    st = eb__detector_get_f32(file, "means", 2, EB_SHAPE(d->n_classes, d->dim), &s->means, err);
    if (!st) st = eb__detector_get_f32(file, "precision", 2, EB_SHAPE(d->dim, d->dim), &s->precision, err);
    for (int64_t i = 0; !st && i < d->dim; i++)
        for (int64_t j = i + 1; j < d->dim && !st; j++)
            if (s->precision[i * d->dim + j] != s->precision[j * d->dim + i])
                st = eb_error_set(err, EB_ERR_FORMAT,
                                  "%s: tensor 'precision' is not symmetric (row %lld, column %lld)", path,
                                  (long long)i, (long long)j);
    eb_status derived = st ? EB_OK : derive(s, d->dim, d->n_classes);
    if (derived == EB_ERR_NOMEM)
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    else if (derived)
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: tensor 'precision' is not positive definite", path);
    return st;
}

static unsigned maha_score_needs(const eb_detector *d) {
    return d->params.eps > 0.0f ? (unsigned)(EB_NEEDS_INPUTS | EB_NEEDS_MODEL) : (unsigned)EB_NEEDS_FEATURES;
}

const eb__detector_method eb__detector_mahalanobis = {
    .name = "mahalanobis",
    .params_used = EB_PARAM_EPS | EB_PARAM_SHRINKAGE,
    .needs = EB_NEEDS_FEATURES | EB_NEEDS_LABELS,
    .fit = maha_fit,
    .score = maha_score,
    .tensors = maha_tensors,
    .load = maha_load,
    .free_state = maha_free,
    .score_needs = maha_score_needs,
};

const eb__detector_method eb__detector_ssd = {
    .name = "ssd",
    .params_used = EB_PARAM_EPS | EB_PARAM_SHRINKAGE,
    .needs = EB_NEEDS_FEATURES | EB_NEEDS_LABELS,
    .fit = maha_fit,
    .score = maha_score,
    .tensors = maha_tensors,
    .load = maha_load,
    .free_state = maha_free,
    .score_needs = maha_score_needs,
};
