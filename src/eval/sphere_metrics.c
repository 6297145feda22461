/* The hyperspherical embedding metrics of 004_6bc3f0c56840d9ea.txt App. C.4 Eq. (14) (after CIDER): ID–OOD
 * separation, inter-class dispersion and intra-class compactness as mean cosines, with μ_c the normalised
 * class means of the given ID embeddings. */
#include <ebood/hamos.h>

#include <math.h>
#include <stdlib.h>

eb_status eb_sphere_metrics_compute(const float *id_z, const int32_t *id_labels, int64_t n_id,
                                    const float *ood_z, int64_t n_ood, int64_t dim, int64_t n_classes,
                                    eb_sphere_metrics *out, eb_error *err) {
    if (!id_z || !id_labels || !ood_z || !out || n_id < 1 || n_ood < 1 || dim < 1 || n_classes < 2)
        return eb_error_set(err, EB_ERR_ARG,
                            "sphere metrics: need ID and OOD embeddings, dim ≥ 1, ≥ 2 classes");
    double *mu = calloc((size_t)(n_classes * dim), sizeof *mu);
    int64_t *count = calloc((size_t)n_classes, sizeof *count);
    if (!mu || !count) {
        free(mu);
        free(count);
        return eb_error_set(err, EB_ERR_NOMEM, "sphere metrics: out of memory");
    }
    eb_status st = EB_OK;
    for (int64_t i = 0; i < n_id && !st; i++) {
        int32_t y = id_labels[i];
        if (y < 0 || y >= n_classes) {
            st = eb_error_set(err, EB_ERR_ARG, "sphere metrics: label %d of row %lld outside [0, %lld)",
                              (int)y, (long long)i, (long long)n_classes);
            break;
        }
        count[y]++;
        for (int64_t j = 0; j < dim; j++) mu[y * dim + j] += (double)id_z[i * dim + j];
    }
    for (int64_t c = 0; c < n_classes && !st; c++) {
        double norm = 0.0;
        for (int64_t j = 0; j < dim; j++) norm += mu[c * dim + j] * mu[c * dim + j];
        if (count[c] == 0 || !(norm > 0)) {
            st = eb_error_set(err, EB_ERR_ARG, "sphere metrics: class %lld has no ID rows", (long long)c);
            break;
        }
        for (int64_t j = 0; j < dim; j++) mu[c * dim + j] /= sqrt(norm);
    }
    if (!st) {
        double sep = 0.0, disp = 0.0, comp = 0.0;
        for (int64_t i = 0; i < n_ood; i++) {
            double best = -INFINITY;
            for (int64_t c = 0; c < n_classes; c++) {
                double dot = 0.0;
                for (int64_t j = 0; j < dim; j++) dot += (double)ood_z[i * dim + j] * mu[c * dim + j];
                best = fmax(best, dot);
            }
            sep += best;
        }
        for (int64_t a = 0; a < n_classes; a++)
            for (int64_t b = 0; b < n_classes; b++) {
                if (a == b) continue;
                double dot = 0.0;
                for (int64_t j = 0; j < dim; j++) dot += mu[a * dim + j] * mu[b * dim + j];
                disp += dot;
            }
        for (int64_t i = 0; i < n_id; i++) {
            double dot = 0.0;
            for (int64_t j = 0; j < dim; j++) dot += (double)id_z[i * dim + j] * mu[id_labels[i] * dim + j];
            comp += dot;
        }
        out->cos_separation = sep / (double)n_ood;
        out->cos_dispersion = disp / (double)(n_classes * (n_classes - 1));
        out->cos_compactness = comp / (double)n_id;
    }
    free(mu);
    free(count);
    return st;
}
