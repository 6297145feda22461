/* The sampler interface on the unit sphere: names, the shared geometry, dispatch and the MH test. */
#include "ood/samplers/sphere_sampler_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[EB_SPHERE_KIND_COUNT] = {"hmc", "rw", "mala"};

const char *eb_sphere_sampler_name(eb_sphere_sampler_kind kind) {
    return (unsigned)kind < EB_SPHERE_KIND_COUNT ? names[kind] : "unknown";
}

eb_status eb_sphere_sampler_parse(const char *name, eb_sphere_sampler_kind *out, eb_error *err) {
    for (int i = 0; i < EB_SPHERE_KIND_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (eb_sphere_sampler_kind)i;
            return EB_OK;
        }
    return eb_error_set(err, EB_ERR_ARG, "unknown sampler '%s' (hmc, rw, mala)", name);
}

void eb__sphere_tangent(double *v, const double *z, int64_t d) {
    double dot = 0.0;
    for (int64_t j = 0; j < d; j++) dot += z[j] * v[j];
    for (int64_t j = 0; j < d; j++) v[j] -= dot * z[j];
}

void eb__sphere_geodesic(double *z, double *q, int64_t d, double eps) {
    double r = 0.0;
    for (int64_t j = 0; j < d; j++) r += q[j] * q[j];
    r = sqrt(r);
    if (!(r > 0.0)) return;
    double c = cos(r * eps), s = sin(r * eps), norm = 0.0;
    for (int64_t j = 0; j < d; j++) {
        double zj = z[j], qj = q[j];
        z[j] = zj * c + qj / r * s;
        q[j] = -zj * r * s + qj * c;
        norm += z[j] * z[j];
    }
    norm = sqrt(norm);
    for (int64_t j = 0; j < d; j++) z[j] /= norm;
}

void eb__sphere_tangent_normal(double *q, const double *z, int64_t n, int64_t d, eb_rng *rng) {
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < d; j++) q[i * d + j] = eb_rng_normal(rng);
        eb__sphere_tangent(q + i * d, z + i * d, d);
    }
}

eb_status eb__sphere_eval_at(eb__sphere_eval *e, const double *z, double *u, bool want_grad, int64_t step,
                             int64_t steps, eb_error *err) {
    for (int64_t i = 0; i < e->n * e->d; i++) e->zf[i] = (float)z[i];
    eb_status st = e->pot->eval(e->pot->ctx, e->zf, e->n, e->d, u, want_grad ? e->grad : NULL, err);
    for (int64_t i = 0; i < e->n && !st; i++) {
        bool grad_ok = true;
        for (int64_t j = 0; want_grad && j < e->d; j++) grad_ok &= isfinite(e->grad[i * e->d + j]) != 0;
        if (!isfinite(u[i]) || !grad_ok)
            st = eb_error_set(err, EB_ERR_NUMERIC,
                              "%s sampler: chain %lld diverged at step %lld of %lld: %s (a NaN/Inf in the "
                              "potential's input, or a step size too large for it)",
                              e->sampler, (long long)i, (long long)step, (long long)steps,
                              !isfinite(u[i]) ? "non-finite potential U" : "non-finite gradient of U");
    }
    return st;
}

eb_status eb_sphere_propose(const eb_sphere_sampler_params *p, const eb_sphere_potential *pot, const float *z,
                            int64_t n, int64_t d, float *z_new, double *log_alpha, eb_rng *rng,
                            eb_error *err) {
    if (!p || !pot || !pot->eval || (n > 0 && (!z || !z_new || !log_alpha)))
        return eb_error_set(err, EB_ERR_ARG, "sphere sampler: NULL argument");
    if (n < 0 || d < 2)
        return eb_error_set(err, EB_ERR_ARG, "sphere sampler: n %lld, d %lld (need d ≥ 2)", (long long)n,
                            (long long)d);
    if (!(isfinite(p->step_size) && p->step_size > 0.0f))
        return eb_error_set(err, EB_ERR_ARG, "sphere sampler: step size %g (need a finite value > 0)",
                            (double)p->step_size);
    if (n == 0) return EB_OK;
    switch (p->kind) {
    case EB_SPHERE_HMC:
        if (p->leapfrog_steps < 1 || p->leapfrog_steps > 10000)
            return eb_error_set(err, EB_ERR_ARG, "sphere sampler: leapfrog steps %lld outside [1, 10000]",
                                (long long)p->leapfrog_steps);
        return eb__spherical_hmc_propose(p->leapfrog_steps, p->step_size, pot, z, n, d, z_new, log_alpha, rng,
                                         err);
    case EB_SPHERE_RANDOM_WALK:
        return eb__random_walk_propose(p->step_size, pot, z, n, d, z_new, log_alpha, rng, err);
    case EB_SPHERE_MALA: return eb__mala_propose(p->step_size, pot, z, n, d, z_new, log_alpha, rng, err);
    default: return eb_error_set(err, EB_ERR_ARG, "sphere sampler: unknown kind %d", (int)p->kind);
    }
}

bool eb_mh_accept(double log_alpha, eb_rng *rng) {
    double u = eb_rng_uniform(rng);
    return log_alpha >= 0.0 || u < exp(log_alpha); /* NaN fails both */
}

void eb__top_indices(const double *v, int64_t n, int64_t keep, int64_t *idx, bool *taken) {
    memset(taken, 0, (size_t)n * sizeof *taken);
    for (int64_t s = 0; s < keep; s++) {
        int64_t best = -1;
        for (int64_t i = 0; i < n; i++)
            if (!taken[i] && (best < 0 || v[i] > v[best])) best = i;
        taken[best] = true;
        idx[s] = best;
    }
}
