/* The random-walk Metropolis baseline of 004_6bc3f0c56840d9ea.txt Table 9 on the sphere: z' = the geodesic
 * through z in the direction of a tangent normal v, travelled for ε‖v‖ (a symmetric proposal, so the MH
 * ratio is exp(U(z) − U(z'))). No gradients. */
#include "ood/samplers/sphere_sampler_impl.h"

#include <stdlib.h>

eb_status eb__random_walk_propose(double eps, const eb_sphere_potential *pot, const float *z0, int64_t n,
                                  int64_t d, float *z_new, double *log_alpha, eb_rng *rng, eb_error *err) {
    size_t nd = (size_t)(n * d);
    double *z = malloc(nd * sizeof *z), *v = malloc(nd * sizeof *v), *u = malloc((size_t)n * sizeof *u);
    eb__sphere_eval e = {pot, n, d, malloc(nd * sizeof(float)), NULL, "rw"};
    eb_status st = EB_OK;
    if (!z || !v || !u || !e.zf) st = eb_error_set(err, EB_ERR_NOMEM, "random walk: out of memory");
    if (!st) {
        for (size_t i = 0; i < nd; i++) z[i] = z0[i];
        eb__sphere_tangent_normal(v, z, n, d, rng);
        st = eb__sphere_eval_at(&e, z, u, false, 0, 1, err);
    }
    if (!st) {
        for (int64_t i = 0; i < n; i++) {
            log_alpha[i] = u[i];
            eb__sphere_geodesic(z + i * d, v + i * d, d, eps);
        }
        st = eb__sphere_eval_at(&e, z, u, false, 1, 1, err);
    }
    if (!st)
        for (int64_t i = 0; i < n; i++) {
            log_alpha[i] -= u[i];
            for (int64_t j = 0; j < d; j++) z_new[i * d + j] = (float)z[i * d + j];
        }
    free(z);
    free(v);
    free(u);
    free(e.zf);
    return st;
}
