/* The loss terms of CIDER (Ming et al. 2023, as HamOS's released code computes them; specs §3 "Losses per
 * step") on the tape, shared by the cider / hamos objective (hamos.c) and its tests. z are unit embeddings
 * [n, d], P prototypes [C, d]. */
#ifndef EB_CIDER_IMPL_H
#define EB_CIDER_IMPL_H

#include <ebood/hamos.h>

/* The EMA prototypes after the batch: for j = 0..n−1 in order, P[y_j] ← normalise(α·P[y_j] + (1 − α)·z_j),
 * starting from the constant proto[C, d]; gradients flow into z. [C, d]. */
eb_tensor *eb__cider_prototypes(eb_graph *g, eb_tensor *z, const int32_t *labels, const float *proto,
                                int64_t n_classes, float momentum);
/* −(τ/τ_b)·mean_i log softmax_c(z_iᵀP_c/τ)[y_i] → scalar. */
eb_tensor *eb__cider_compactness(eb_graph *g, eb_tensor *z, const int32_t *labels, eb_tensor *P, float tau,
                                 float base_tau);
/* mean_c log((1/(C−1)) Σ_{c'≠c} exp(P_cᵀP_c'/τ)) → scalar (C ≥ 2). */
eb_tensor *eb__cider_dispersion(eb_graph *g, eb_tensor *P, float tau);
/* (τ/τ_b)·mean_i mean_c[ℓ_ic + log Σ_c' exp(−ℓ_ic')], ℓ = zPᵀ/τ → scalar: the OOD-discernment loss in the
 * released code's form (cross-entropy of softmax(−ℓ) to uniform). */
eb_tensor *eb__ood_discernment(eb_graph *g, eb_tensor *z, eb_tensor *P, float tau, float base_tau);

/* The run's hooks (hamos_rows.c): the inputs' normalisation for the augmentation (c channels), and the
 * prototypes restored from a checkpoint ([C, head_dim]). */
void eb__hamos_objective_set_normalization(eb_hamos_objective *o, int c, const float *mean, const float *std);
void eb__hamos_objective_set_prototypes(eb_hamos_objective *o, const float *proto);
int64_t eb__hamos_objective_classes(const eb_hamos_objective *o);
int64_t eb__hamos_objective_dim(const eb_hamos_objective *o);
/* The objective's class buffers (perf/perf_hamos.c fills them to time a synthesising step). */
eb_class_buffer *eb__hamos_objective_buffer(eb_hamos_objective *o);

#endif
