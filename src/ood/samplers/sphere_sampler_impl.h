/* Internals shared by the samplers on the unit sphere (sphere_sampler.c, spherical_hmc.c, random_walk.c,
 * mala.c): the geometry of Lan et al. 2013 / 004_6bc3f0c56840d9ea.txt Eq. (3) on double rows. */
#ifndef EB_SPHERE_SAMPLER_IMPL_H
#define EB_SPHERE_SAMPLER_IMPL_H

#include <ebood/hamos.h>

/* v ← v − z (zᵀv): the projection onto the tangent plane at the unit row z (d values). */
void eb__sphere_tangent(double *v, const double *z, int64_t d);
/* Geodesic flow for time ε: with r = ‖q‖, z ← z cos(rε) + (q/r) sin(rε), q ← −z r sin(rε) + q cos(rε)
 * (both from the old z); nothing when r = 0. z is renormalised to cancel rounding drift. */
void eb__sphere_geodesic(double *z, double *q, int64_t d, double eps);
/* Tangent standard normals: n·d draws from rng chain by chain, each row projected at z. */
void eb__sphere_tangent_normal(double *q, const double *z, int64_t n, int64_t d, eb_rng *rng);

/* Scratch for evaluating a potential on double rows. */
typedef struct eb__sphere_eval {
    const eb_sphere_potential *pot;
    int64_t n, d;
    float *zf, *grad;    /* [n, d] */
    const char *sampler; /* names a diverging chain in errors */
} eb__sphere_eval;
/* u[n] (and grad into e->grad if want_grad) at the double rows z, the position after `step` of `steps`
 * moves (0 = the start). A non-finite U or ∇U of any chain is a divergence: EB_ERR_NUMERIC naming the
 * sampler, the step and the chain. */
eb_status eb__sphere_eval_at(eb__sphere_eval *e, const double *z, double *u, bool want_grad, int64_t step,
                             int64_t steps, eb_error *err);

/* The spherical leapfrog integrator (spherical_hmc.c): L steps of size ε from (z, fresh momentum), writing
 * the end point to z_new and H(start) − H(end) to log_alpha. */
eb_status eb__spherical_hmc_propose(int64_t leapfrog_steps, double eps, const eb_sphere_potential *pot,
                                    const float *z, int64_t n, int64_t d, float *z_new, double *log_alpha,
                                    eb_rng *rng, eb_error *err);
/* The geodesic random walk (random_walk.c). */
eb_status eb__random_walk_propose(double eps, const eb_sphere_potential *pot, const float *z, int64_t n,
                                  int64_t d, float *z_new, double *log_alpha, eb_rng *rng, eb_error *err);
/* MALA = one leapfrog step (mala.c). */
eb_status eb__mala_propose(double eps, const eb_sphere_potential *pot, const float *z, int64_t n, int64_t d,
                           float *z_new, double *log_alpha, eb_rng *rng, eb_error *err);

/* Indices of the `keep` largest values of v[n] into idx[keep], largest first (partial selection for
 * keep ≪ n; taken[n] is scratch): the VOS and NPOS baselines' selections. */
void eb__top_indices(const double *v, int64_t n, int64_t keep, int64_t *idx, bool *taken);

#endif
