/* Stochastic gradient Langevin dynamics on a log-density f = −E given on the tape.
 *
 *   x_{t+1} = P(x_t + η_t ∇ₓ f(x_t) + σ_t ε_t),   ε_t ~ N(0, I)
 *
 * η_t and σ_t are independent (the released codes of 002_39b8670b82235277.txt and
 * 001_8dfeaa911d9afebd.txt; Welling & Teh's SGLD would tie σ = √(2η)); P projects onto the feasible set
 * (HEAT: ReLU then the unit sphere). The gradient is of Σ_i f(x_i): every chain follows its own
 * ∇ₓ f(x_i). Parameters are frozen on the scratch graph, so sampling never touches a model's
 * gradient buffer. */
#include <ebood/ebm.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

eb_sgld_params eb_sgld_default_params(void) {
    return (eb_sgld_params){
        .steps = 100,
        .step_size = {1.0, 1.0, EB_DECAY_CONSTANT},
        .noise = {0.01, 0.01, EB_DECAY_CONSTANT},
        .projection = EB_PROJECT_NONE,
        .max_abs_log_density = 1e8,
    };
}

static bool decay_ok(const eb_decay *d) {
    return isfinite(d->start) && isfinite(d->end) && d->start >= 0.0 && d->end >= 0.0 &&
           (unsigned)d->kind <= EB_DECAY_QUADRATIC;
}

eb_status eb_sgld_params_check(const eb_sgld_params *p, eb_error *err) {
    if (!p) return eb_error_set(err, EB_ERR_ARG, "SGLD: no parameters");
    if (p->steps < 0) return eb_error_set(err, EB_ERR_ARG, "SGLD: steps %lld < 0", (long long)p->steps);
    if (!decay_ok(&p->step_size))
        return eb_error_set(err, EB_ERR_ARG, "SGLD: step size must be finite and >= 0 (got %g -> %g)",
                            p->step_size.start, p->step_size.end);
    if (!decay_ok(&p->noise))
        return eb_error_set(err, EB_ERR_ARG, "SGLD: noise must be finite and >= 0 (got %g -> %g)",
                            p->noise.start, p->noise.end);
    if (p->projection & ~(unsigned)(EB_PROJECT_RELU | EB_PROJECT_SPHERE))
        return eb_error_set(err, EB_ERR_ARG, "SGLD: unknown projection bits 0x%x", p->projection);
    if (isnan(p->max_abs_log_density))
        return eb_error_set(err, EB_ERR_ARG, "SGLD: max_abs_log_density is NaN");
    return EB_OK;
}

void eb_project_rows(float *x, int64_t n, int64_t dim, unsigned projection) {
    if (projection & EB_PROJECT_RELU)
        for (int64_t i = 0; i < n * dim; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    if (projection & EB_PROJECT_SPHERE)
        for (int64_t i = 0; i < n; i++) {
            float *row = x + i * dim;
            double ss = 0.0;
            for (int64_t j = 0; j < dim; j++) ss += (double)row[j] * (double)row[j];
            double norm = sqrt(ss);
            float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
            for (int64_t j = 0; j < dim; j++) row[j] *= inv;
        }
}

/* The log-density and where to evaluate it: f on all chains at once, or rows(…, row0) on n_blocks
 * contiguous row blocks in parallel, block b on graphs[b] (graphs[0] = the caller's scratch graph).
 * The first step always runs as one block; the blocks start at the second step if the first step's
 * tape took at least SGLD_PARALLEL_MIN_BYTES (a measure of the work per step that depends only on the
 * shapes, so the split, and with it the rounding, is reproducible). */
typedef struct sgld_density {
    eb_log_density_fn f;
    eb_log_density_rows_fn rows;
    void *ctx;
    eb_graph **graphs;
    int n_blocks, max_blocks;
    eb_error *block_err; /* [max_blocks] */
} sgld_density;

#define SGLD_PARALLEL_MIN_BYTES ((size_t)1 << 20)

#define SGLD_MIN_BLOCK_ROWS 32 /* below this, a block's GEMMs are too thin to be worth a thread */
#define SGLD_MAX_BLOCKS     64

/* f and ∇ₓ Σ f for rows [r0, r0 + m) on a reset graph: f to fval[r0 ..], the gradient to grad's rows. */
static eb_status block_grad(const sgld_density *d, eb_graph *g, float *x, int64_t r0, int64_t m, int64_t dim,
                            float *grad, float *fval, eb_error *err) {
    eb_graph_reset(g);
    eb_graph_freeze_params(g, true);
    eb_tensor *xt = eb_tensor_input(g, x + r0 * dim, 2, EB_SHAPE(m, dim), true);
    eb_tensor *fx = d->rows ? d->rows(d->ctx, g, xt, r0) : d->f(d->ctx, g, xt);
    eb_status s = eb_graph_status(g);
    if (s == EB_OK && fx->size != m)
        eb_graph_fail(g, EB_ERR_SHAPE, "log-density returned %lld values for %lld chains",
                      (long long)fx->size, (long long)m);
    if (s == EB_OK) s = eb_graph_backward(g, fx, NULL);
    if (s != EB_OK) {
        eb_status st = eb_error_set(err, eb_graph_status(g), "%s", eb_graph_error(g));
        eb_graph_freeze_params(g, false);
        return st;
    }
    memcpy(fval + r0, fx->data, (size_t)m * sizeof(float));
    memcpy(grad + r0 * dim, xt->grad, (size_t)(m * dim) * sizeof(float));
    eb_graph_freeze_params(g, false);
    return EB_OK;
}

/* f(x) and ∇ₓ Σ f (fval[n], grad[n, dim]); the mean of f and of |f| over the chains, summed in row
 * order whatever the blocks (the same sums as one block). */
static eb_status log_density_and_grad(const sgld_density *d, float *x, int64_t n, int64_t dim, float *grad,
                                      float *fval, double *mean_f, double *mean_abs_f, eb_error *err) {
    eb_status s = EB_OK;
    if (d->n_blocks <= 1) {
        s = block_grad(d, d->graphs[0], x, 0, n, dim, grad, fval, err);
    } else {
        const int nb = d->n_blocks;
        eb_status bs[SGLD_MAX_BLOCKS];
        /* one block per thread; the kernels inside see omp_in_parallel() and stay serial */
#pragma omp parallel for num_threads(nb) schedule(static, 1)
        for (int b = 0; b < nb; b++) {
            const int64_t r0 = n * b / nb, r1 = n * (b + 1) / nb;
            bs[b] = block_grad(d, d->graphs[b], x, r0, r1 - r0, dim, grad, fval, &d->block_err[b]);
        }
        for (int b = 0; b < nb && s == EB_OK; b++)
            if ((s = bs[b]) != EB_OK) eb_error_set(err, s, "%s", d->block_err[b].message);
    }
    if (s != EB_OK) return s;
    double sum = 0.0, sum_abs = 0.0;
    for (int64_t i = 0; i < n; i++) {
        sum += (double)fval[i];
        sum_abs += fabs((double)fval[i]);
    }
    *mean_f = sum / (double)n;
    *mean_abs_f = sum_abs / (double)n;
    return EB_OK;
}

static bool all_finite(const float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return false;
    return true;
}

/* x holds rows [lo, lo + n) of n_all chains (all of them: lo = 0, n_all = n): every step draws the noise of
 * all n_all chains, in order, and uses its rows (so a share of the chains moves as in one process). */
static eb_status sample(sgld_density *d, float *x, int64_t n, int64_t lo, int64_t n_all, int64_t dim,
                        const eb_sgld_params *p, eb_rng *rng, eb_sgld_stats *stats, eb_error *err) {
    eb_status s = EB_OK;
    size_t bytes = (size_t)(n * dim) * sizeof(float);
    float *grad = malloc(bytes), *next = malloc(bytes), *fval = malloc((size_t)n * sizeof(float));
    float *noise = n_all > n ? malloc((size_t)(n_all * dim) * sizeof(float)) : next;
    if (!grad || !next || !fval || !noise) {
        if (noise != next) free(noise);
        free(grad);
        free(next);
        free(fval);
        return eb_error_set(err, EB_ERR_NOMEM, "SGLD: out of memory for %lld x %lld chains", (long long)n,
                            (long long)dim);
    }
    eb_project_rows(x, n, dim, p->projection);
    double mean_f = NAN, mean_abs_f = NAN, last_finite = NAN;
    int64_t t = 0;
    for (; t < p->steps && s == EB_OK; t++) {
        s = log_density_and_grad(d, x, n, dim, grad, fval, &mean_f, &mean_abs_f, err);
        if (s != EB_OK) break;
        if (t == 0 && stats) stats->first_mean = mean_f;
        if (t == 0 && d->max_blocks > 1 && eb_graph_arena_bytes(d->graphs[0]) >= SGLD_PARALLEL_MIN_BYTES) {
            int b = 1;
            while (b < d->max_blocks && (d->graphs[b] || (d->graphs[b] = eb_graph_new(0, NULL)))) b++;
            d->n_blocks = b; /* fewer blocks if out of memory */
        }
        bool exploded = p->max_abs_log_density > 0.0 && mean_abs_f > p->max_abs_log_density;
        if (!isfinite(mean_f) || exploded || !all_finite(grad, n * dim)) {
            s = eb_error_set(err, EB_ERR_NUMERIC,
                             "SGLD step %lld of %lld: %s (last finite mean log-density %g)", (long long)t + 1,
                             (long long)p->steps,
                             !isfinite(mean_f) ? "non-finite log-density"
                             : exploded        ? "log-density exploded past the guard"
                                               : "non-finite gradient",
                             last_finite);
            break;
        }
        last_finite = mean_f;
        float eta = (float)eb_decay_value(&p->step_size, t, p->steps);
        float sigma = (float)eb_decay_value(&p->noise, t, p->steps);
        eb_rng_fill_normal(rng, noise, n_all * dim, 0.0f, sigma);
        if (noise != next) memcpy(next, noise + lo * dim, bytes);
        for (int64_t i = 0; i < n * dim; i++) next[i] += x[i] + eta * grad[i];
        eb_project_rows(next, n, dim, p->projection);
        if (!all_finite(next, n * dim)) {
            s = eb_error_set(err, EB_ERR_NUMERIC,
                             "SGLD step %lld of %lld: the chains left the finite range (last finite mean "
                             "log-density %g)",
                             (long long)t + 1, (long long)p->steps, last_finite);
            break;
        }
        memcpy(x, next, bytes);
    }
    if (stats) {
        stats->steps = t;
        stats->last_mean = last_finite;
        if (t == 0) stats->first_mean = NAN;
    }
    if (noise != next) free(noise);
    free(grad);
    free(next);
    free(fval);
    return s;
}

static eb_status check_args(bool have_f, const float *x, int64_t n, int64_t dim, const eb_sgld_params *p,
                            const eb_rng *rng, const eb_graph *scratch, eb_error *err) {
    eb_status s = eb_sgld_params_check(p, err);
    if (s != EB_OK) return s;
    if (!have_f || !x || !rng || !scratch) return eb_error_set(err, EB_ERR_ARG, "SGLD: NULL argument");
    if (n < 1 || dim < 1)
        return eb_error_set(err, EB_ERR_ARG, "SGLD: need n >= 1 chains of dim >= 1 (got %lld x %lld)",
                            (long long)n, (long long)dim);
    return EB_OK;
}

eb_status eb_sgld_sample(eb_log_density_fn f, void *ctx, float *x, int64_t n, int64_t dim,
                         const eb_sgld_params *p, eb_rng *rng, eb_graph *scratch, eb_sgld_stats *stats,
                         eb_error *err) {
    eb_status s = check_args(f != NULL, x, n, dim, p, rng, scratch, err);
    if (s != EB_OK) return s;
    sgld_density d = {f, NULL, ctx, &scratch, 1, 1, NULL};
    return sample(&d, x, n, 0, n, dim, p, rng, stats, err);
}

/* As eb_sgld_sample, with the chains split into one contiguous row block per thread (at least
 * SGLD_MIN_BLOCK_ROWS rows each): every SGLD step evaluates the blocks in parallel, each on its own
 * graph with serial kernels, instead of splitting each small GEMM over the threads (one fork/join per
 * step instead of one per op). The noise, the update and the means stay serial and in row order, so the
 * chains depend on the block split only through the float rounding of the blocked GEMMs. */
eb_status eb_sgld_sample_rows(eb_log_density_rows_fn f, void *ctx, float *x, int64_t n, int64_t dim,
                              const eb_sgld_params *p, eb_rng *rng, eb_graph *scratch, eb_sgld_stats *stats,
                              eb_error *err) {
    return eb_sgld_sample_rows_share(f, ctx, x, n, 0, n, dim, p, rng, scratch, stats, err);
}

eb_status eb_sgld_sample_rows_share(eb_log_density_rows_fn f, void *ctx, float *x, int64_t n_all, int64_t lo,
                                    int64_t hi, int64_t dim, const eb_sgld_params *p, eb_rng *rng,
                                    eb_graph *scratch, eb_sgld_stats *stats, eb_error *err) {
    const int64_t n = hi - lo;
    eb_status s = check_args(f != NULL, x, n, dim, p, rng, scratch, err);
    if (s != EB_OK) return s;
    if (lo < 0 || hi > n_all)
        return eb_error_set(err, EB_ERR_ARG, "SGLD: rows [%lld, %lld) are not a share of %lld chains",
                            (long long)lo, (long long)hi, (long long)n_all);
    int64_t nb = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nb > n / SGLD_MIN_BLOCK_ROWS) nb = n / SGLD_MIN_BLOCK_ROWS;
    if (nb > SGLD_MAX_BLOCKS) nb = SGLD_MAX_BLOCKS;
    if (nb < 1 || p->steps == 0) nb = 1;
    eb_graph *graphs[SGLD_MAX_BLOCKS] = {scratch};
    eb_error *block_err = nb > 1 ? calloc((size_t)nb, sizeof *block_err) : NULL;
    if (nb > 1 && !block_err) nb = 1;
    sgld_density d = {NULL, f, ctx, graphs, 1, (int)nb, block_err};
    s = sample(&d, x, n, lo, n_all, dim, p, rng, stats, err);
    for (int64_t b = 1; b < nb; b++) eb_graph_free(graphs[b]); /* NULL if never made */
    free(block_err);
    return s;
}
