/* Spherical Hamiltonian Monte Carlo (Lan et al. 2013; 004_6bc3f0c56840d9ea.txt Eq. (3), Alg. 1 lines 7–18):
 * leapfrog with tangent-projected half kicks and an exact geodesic drift, so every position stays on the
 * sphere and H = U + ½‖q‖² is conserved to O(ε²) over a fixed time Lε. Chains are batched: each leapfrog
 * position is one potential call for all of them. */
#include "ood/samplers/sphere_sampler_impl.h"

#include <math.h>
#include <stdlib.h>

/* q ← q − (ε/2)·(I − zzᵀ)·g for every chain. */
static void half_kick(double *q, const double *z, const float *g, int64_t n, int64_t d, double eps) {
    for (int64_t i = 0; i < n; i++) {
        const double *zi = z + i * d;
        const float *gi = g + i * d;
        double dot = 0.0;
        for (int64_t j = 0; j < d; j++) dot += zi[j] * (double)gi[j];
        for (int64_t j = 0; j < d; j++) q[i * d + j] -= 0.5 * eps * ((double)gi[j] - dot * zi[j]);
    }
}

static double kinetic(const double *q, int64_t d) {
    double k = 0.0;
    for (int64_t j = 0; j < d; j++) k += q[j] * q[j];
    return 0.5 * k;
}

eb_status eb__spherical_hmc_propose(int64_t leapfrog_steps, double eps, const eb_sphere_potential *pot,
                                    const float *z0, int64_t n, int64_t d, float *z_new, double *log_alpha,
                                    eb_rng *rng, eb_error *err) {
    size_t nd = (size_t)(n * d);
    double *z = malloc(nd * sizeof *z), *q = malloc(nd * sizeof *q), *u = malloc((size_t)n * sizeof *u);
    eb__sphere_eval e = {
        pot, n, d, malloc(nd * sizeof(float)), malloc(nd * sizeof(float)), "spherical hmc (or mala)"};
    eb_status st = EB_OK;
    if (!z || !q || !u || !e.zf || !e.grad)
        st = eb_error_set(err, EB_ERR_NOMEM, "spherical hmc: out of memory");
    if (!st) {
        for (size_t i = 0; i < nd; i++) z[i] = z0[i];
        eb__sphere_tangent_normal(q, z, n, d, rng);
        st = eb__sphere_eval_at(&e, z, u, true, 0, leapfrog_steps, err);
    }
    if (!st)
        for (int64_t i = 0; i < n; i++) log_alpha[i] = u[i] + kinetic(q + i * d, d); /* H(start) */
    for (int64_t l = 0; l < leapfrog_steps && !st; l++) {
        half_kick(q, z, e.grad, n, d, eps);
        for (int64_t i = 0; i < n; i++) eb__sphere_geodesic(z + i * d, q + i * d, d, eps);
        if ((st = eb__sphere_eval_at(&e, z, u, true, l + 1, leapfrog_steps, err))) break;
        half_kick(q, z, e.grad, n, d, eps);
    }
    if (!st)
        for (int64_t i = 0; i < n; i++) {
            log_alpha[i] -= u[i] + kinetic(q + i * d, d); /* H(start) − H(end) */
            for (int64_t j = 0; j < d; j++) z_new[i * d + j] = (float)z[i * d + j];
        }
    free(z);
    free(q);
    free(u);
    free(e.zf);
    free(e.grad);
    return st;
}
