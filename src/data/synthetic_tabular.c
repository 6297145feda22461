/* Non-natural tabular OOD sets of the EBM paper's code (seed-code-specs.md §4), generated in the
 * already-normalised feature space: uniform U(lo, hi) per feature, Gaussian N(0, 1), and
 * "constant" (one U(lo, hi) value repeated over all features of a row). */
#include <ebood/data.h>

#include <math.h>
#include <string.h>

static eb_status check_args(const char *what, int64_t n, int64_t dim, float lo, float hi, const eb_rng *rng,
                            eb_dataset *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 0 || dim < 1)
        return eb_error_set(err, EB_ERR_ARG, "%s: invalid size %lld x %lld", what, (long long)n,
                            (long long)dim);
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
        return eb_error_set(err, EB_ERR_ARG, "%s: need finite lo < hi, got [%g, %g)", what, (double)lo,
                            (double)hi);
    if (!rng) return eb_error_set(err, EB_ERR_ARG, "%s: rng is NULL", what);
    return EB_OK;
}

eb_status eb_tabular_ood_uniform(int64_t n, int64_t dim, float lo, float hi, eb_rng *rng, eb_dataset *out,
                                 eb_error *err) {
    eb_status st = check_args("eb_tabular_ood_uniform", n, dim, lo, hi, rng, out, err);
    if (st == EB_OK) st = eb_dataset_alloc(n, dim, 0, false, out, err);
    if (st != EB_OK) return st;
    eb_rng_fill_uniform(rng, out->x, n * dim, lo, hi);
    return EB_OK;
}

eb_status eb_tabular_ood_gaussian(int64_t n, int64_t dim, eb_rng *rng, eb_dataset *out, eb_error *err) {
    eb_status st = check_args("eb_tabular_ood_gaussian", n, dim, 0.0f, 1.0f, rng, out, err);
    if (st == EB_OK) st = eb_dataset_alloc(n, dim, 0, false, out, err);
    if (st != EB_OK) return st;
    eb_rng_fill_normal(rng, out->x, n * dim, 0.0f, 1.0f);
    return EB_OK;
}

eb_status eb_tabular_ood_constant(int64_t n, int64_t dim, float lo, float hi, eb_rng *rng, eb_dataset *out,
                                  eb_error *err) {
    eb_status st = check_args("eb_tabular_ood_constant", n, dim, lo, hi, rng, out, err);
    if (st == EB_OK) st = eb_dataset_alloc(n, dim, 0, false, out, err);
    if (st != EB_OK) return st;
    for (int64_t i = 0; i < n; i++) {
        float c = (float)eb_rng_uniform_range(rng, lo, hi);
        for (int64_t j = 0; j < dim; j++) out->x[i * dim + j] = c;
    }
    return EB_OK;
}

const char *const eb_tabular_ood_names[EB_TABULAR_OOD_COUNT] = {"uniform", "gaussian", "constant"};

eb_status eb_tabular_ood_nonnatural(int64_t n, int64_t dim, uint64_t seed,
                                    eb_dataset out[EB_TABULAR_OOD_COUNT], eb_error *err) {
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_status st = eb_tabular_ood_uniform(n, dim, -5.0f, 5.0f, &rng, &out[0], err);
    if (!st) st = eb_tabular_ood_gaussian(n, dim, &rng, &out[1], err);
    if (!st) st = eb_tabular_ood_constant(n, dim, -5.0f, 5.0f, &rng, &out[2], err);
    if (st)
        for (int i = 0; i < EB_TABULAR_OOD_COUNT; i++) eb_dataset_free(&out[i]);
    return st;
}
