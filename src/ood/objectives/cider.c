/* CIDER's hyperspherical losses (Ming et al. 2023, "How to exploit hyperspherical embeddings for OOD
 * detection?"; the ID-contrastive term of 004_6bc3f0c56840d9ea.txt Eq. (8)) and HamOS's OOD-discernment
 * loss (Eq. (7)), composed from tape ops so their gradients are the ops' (checked in test_hamos.c). The
 * temperatures and the sample-by-sample EMA follow the released code (specs §3). */
#include "ood/objectives/cider_impl.h"

#include <math.h>

eb_tensor *eb__cider_prototypes(eb_graph *g, eb_tensor *z, const int32_t *labels, const float *proto,
                                int64_t n_classes, float momentum) {
    int64_t n = z->shape[0], d = z->ndim == 2 ? z->shape[1] : 0;
    eb_tensor *P = NULL;
    for (int64_t c = 0; c < n_classes; c++) {
        eb_tensor *p = eb_tensor_copy(g, proto + c * d, 2, EB_SHAPE(1, d));
        for (int64_t j = 0; j < n; j++) {
            if (labels[j] != c) continue;
            eb_tensor *zj = eb_gather_rows(g, z, &j, 1);
            p = eb_l2_normalize(
                g, eb_add(g, eb_mul_scalar(g, p, momentum), eb_mul_scalar(g, zj, 1.0f - momentum)), 1e-12f);
        }
        P = P ? eb_concat(g, P, p, 0) : p;
    }
    return P;
}

eb_tensor *eb__cider_compactness(eb_graph *g, eb_tensor *z, const int32_t *labels, eb_tensor *P, float tau,
                                 float base_tau) {
    eb_tensor *logits = eb_mul_scalar(g, eb_matmul(g, z, P, false, true), 1.0f / tau);
    return eb_mul_scalar(g, eb_cross_entropy(g, logits, labels), tau / base_tau);
}

eb_tensor *eb__cider_dispersion(eb_graph *g, eb_tensor *P, float tau) {
    int64_t C = P->shape[0];
    eb_tensor *mask = eb_tensor_zeros(g, 2, EB_SHAPE(C, C));
    for (int64_t c = 0; c < C && mask->data; c++) mask->data[c * C + c] = -1e30f; /* leave out c' = c */
    eb_tensor *sim = eb_add(g, eb_mul_scalar(g, eb_matmul(g, P, P, false, true), 1.0f / tau), mask);
    eb_tensor *per_class = eb_add_scalar(g, eb_logsumexp(g, sim, 1, false), -logf((float)(C - 1)));
    return eb_mean_all(g, per_class);
}

eb_tensor *eb__ood_discernment(eb_graph *g, eb_tensor *z, eb_tensor *P, float tau, float base_tau) {
    eb_tensor *l = eb_mul_scalar(g, eb_matmul(g, z, P, false, true), 1.0f / tau);
    eb_tensor *per_row =
        eb_add(g, eb_mean(g, l, 1, false), eb_logsumexp(g, eb_mul_scalar(g, l, -1.0f), 1, false));
    return eb_mul_scalar(g, eb_mean_all(g, per_row), tau / base_tau);
}
