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

/* f(x) and ∇ₓ Σ f on a reset scratch graph; returns the mean of f, or NaN with *bad set on failure. */
static eb_status log_density_and_grad(eb_log_density_fn f, void *ctx, eb_graph *g, float *x, int64_t n,
                                      int64_t dim, float *grad, double *mean_f, double *mean_abs_f,
                                      eb_error *err) {
    eb_graph_reset(g);
    eb_graph_freeze_params(g, true);
    eb_tensor *xt = eb_tensor_input(g, x, 2, EB_SHAPE(n, dim), true);
    eb_tensor *fx = f(ctx, g, xt);
    eb_status s = eb_graph_status(g);
    if (s == EB_OK && fx->size != n)
        eb_graph_fail(g, EB_ERR_SHAPE, "log-density returned %lld values for %lld chains",
                      (long long)fx->size, (long long)n);
    if (s == EB_OK) s = eb_graph_backward(g, fx, NULL);
    if (s != EB_OK) {
        eb_status st = eb_error_set(err, eb_graph_status(g), "%s", eb_graph_error(g));
        eb_graph_freeze_params(g, false);
        return st;
    }
    double sum = 0.0, sum_abs = 0.0;
    for (int64_t i = 0; i < n; i++) {
        sum += (double)fx->data[i];
        sum_abs += fabs((double)fx->data[i]);
    }
    *mean_f = sum / (double)n;
    *mean_abs_f = sum_abs / (double)n;
    memcpy(grad, xt->grad, (size_t)(n * dim) * sizeof(float));
    eb_graph_freeze_params(g, false);
    return EB_OK;
}

static bool all_finite(const float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return false;
    return true;
}

eb_status eb_sgld_sample(eb_log_density_fn f, void *ctx, float *x, int64_t n, int64_t dim,
                         const eb_sgld_params *p, eb_rng *rng, eb_graph *scratch, eb_sgld_stats *stats,
                         eb_error *err) {
    eb_status s = eb_sgld_params_check(p, err);
    if (s != EB_OK) return s;
    if (!f || !x || !rng || !scratch) return eb_error_set(err, EB_ERR_ARG, "SGLD: NULL argument");
    if (n < 1 || dim < 1)
        return eb_error_set(err, EB_ERR_ARG, "SGLD: need n >= 1 chains of dim >= 1 (got %lld x %lld)",
                            (long long)n, (long long)dim);
    size_t bytes = (size_t)(n * dim) * sizeof(float);
    float *grad = malloc(bytes), *next = malloc(bytes);
    if (!grad || !next) {
        free(grad);
        free(next);
        return eb_error_set(err, EB_ERR_NOMEM, "SGLD: out of memory for %lld x %lld chains", (long long)n,
                            (long long)dim);
    }
    eb_project_rows(x, n, dim, p->projection);
    double mean_f = NAN, mean_abs_f = NAN, last_finite = NAN;
    int64_t t = 0;
    for (; t < p->steps && s == EB_OK; t++) {
        s = log_density_and_grad(f, ctx, scratch, x, n, dim, grad, &mean_f, &mean_abs_f, err);
        if (s != EB_OK) break;
        if (t == 0 && stats) stats->first_mean = mean_f;
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
        eb_rng_fill_normal(rng, next, n * dim, 0.0f, sigma);
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
    free(grad);
    free(next);
    return s;
}
