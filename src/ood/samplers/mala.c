/* The Metropolis-adjusted Langevin algorithm on the sphere: spherical HMC with a single leapfrog step
 * (004_6bc3f0c56840d9ea.txt App. C.3, "when setting the Leapfrog step to 1, HMC reduces to MALA"; Table 9).
 */
#include "ood/samplers/sphere_sampler_impl.h"

eb_status eb__mala_propose(double eps, const eb_sphere_potential *pot, const float *z, int64_t n, int64_t d,
                           float *z_new, double *log_alpha, eb_rng *rng, eb_error *err) {
    return eb__spherical_hmc_propose(1, eps, pot, z, n, d, z_new, log_alpha, rng, err);
}
