/* ebood/hamos.h — hyperspherical outlier synthesis: samplers on the unit sphere, class buffers, HamOS's
 * synthesis (004_6bc3f0c56840d9ea.txt Alg. 1) and the CIDER / HamOS training objectives (Eq. 8).
 * docs/methods.md "CIDER" and "HamOS" give the math; specs §3 the released code's choices. */
#ifndef EBOOD_HAMOS_H
#define EBOOD_HAMOS_H

#include <ebood/base.h>
#include <ebood/data.h>
#include <ebood/eval.h>
#include <ebood/nn.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- samplers on the unit sphere S^{d−1} (src/ood/samplers/) ----------------------------------------
 * A potential U (target density ∝ exp(−U)) evaluated on n points z[n, d] at once: U[n] and, when grad is
 * not NULL, the Euclidean gradient ∇U [n, d] (the samplers project it onto the tangent plane). */
typedef struct eb_sphere_potential {
    eb_status (*eval)(void *ctx, const float *z, int64_t n, int64_t d, double *u, float *grad, eb_error *err);
    void *ctx;
} eb_sphere_potential;

typedef enum eb_sphere_sampler_kind {
    EB_SPHERE_HMC,         /* spherical HMC (Lan et al. 2013; 004_… Eq. 3): L leapfrog steps of size ε */
    EB_SPHERE_RANDOM_WALK, /* geodesic random walk: z' = exp_z(ε·v), v ~ N(0, I) in the tangent plane */
    EB_SPHERE_MALA,        /* spherical HMC with one leapfrog step (004_… App. C.3) */
    EB_SPHERE_KIND_COUNT
} eb_sphere_sampler_kind;
/* "hmc", "rw", "mala"; "unknown" outside the enum. */
EB_API const char *eb_sphere_sampler_name(eb_sphere_sampler_kind kind);
/* Inverse of eb_sphere_sampler_name; EB_ERR_ARG naming the string and the accepted names. */
EB_API eb_status eb_sphere_sampler_parse(const char *name, eb_sphere_sampler_kind *out, eb_error *err);

typedef struct eb_sphere_sampler_params {
    eb_sphere_sampler_kind kind; /* hmc */
    int64_t leapfrog_steps;      /* L ≥ 1 (3; mala uses 1 whatever this says; rw ignores it) */
    float step_size;             /* ε > 0 (0.1) */
} eb_sphere_sampler_params;

/* One proposal per chain from the unit rows z[n, d]: z_new[n, d] (unit rows) and the log Metropolis–
 * Hastings ratio log_alpha[n]:
 *   hmc, mala  momentum q ~ N(0, I) projected on the tangent plane (q ← q − z zᵀq; n·d normals drawn from
 *              rng chain by chain), then per leapfrog step (Eq. 3): q ← q − ε/2·(I − zzᵀ)∇U(z);
 *              geodesic drift z' = z cos(‖q‖ε) + q/‖q‖ sin(‖q‖ε), q' = −z‖q‖ sin(‖q‖ε) + q cos(‖q‖ε);
 *              q ← q − ε/2·(I − z'z'ᵀ)∇U(z'). log α = H(z, q) − H(z', q'), H = U + ½‖q‖².
 *   rw         v ~ N(0, I) on the tangent plane, z' = the geodesic drift of z by εv; log α = U(z) − U(z').
 * All chains advance together (one potential call per leapfrog position). Internal state is double.
 * Errors: EB_ERR_ARG for a bad parameter (L < 1, ε not finite > 0, unknown kind), n < 0, d < 2;
 * EB_ERR_NUMERIC for a diverging chain (a NaN/Inf potential or gradient at the start or after any leapfrog
 * step: "spherical hmc (or mala) sampler: chain 3 diverged at step 2 of 5: non-finite gradient of U …");
 * the potential's own errors. Thread-safety: reentrant if the potential is. */
EB_API eb_status eb_sphere_propose(const eb_sphere_sampler_params *p, const eb_sphere_potential *pot,
                                   const float *z, int64_t n, int64_t d, float *z_new, double *log_alpha,
                                   eb_rng *rng, eb_error *err);
/* The Metropolis–Hastings test: one u ~ U[0, 1) from rng, accept iff u < exp(log_alpha) (so with
 * probability min(1, exp(log_alpha))). A NaN log_alpha is rejected (the draw is still made). */
EB_API bool eb_mh_accept(double log_alpha, eb_rng *rng);

/* ---- class buffers: per-class FIFOs of detached unit embeddings (004_… App. D.1) --------------------- */
typedef struct eb_class_buffer {
    int64_t n_classes, capacity, dim;
    float *data;    /* [n_classes, capacity, dim]: class c's rows at data + c·capacity·dim */
    int64_t *count; /* rows held per class (≤ capacity) */
    int64_t *next;  /* per class: the slot the next row overwrites once full (the oldest) */
} eb_class_buffer;
/* EB_ERR_ARG for sizes < 1 (or > 2^31 elements in all), EB_ERR_NOMEM. */
EB_API eb_status eb_class_buffer_init(eb_class_buffer *b, int64_t n_classes, int64_t capacity, int64_t dim,
                                      eb_error *err);
EB_API void eb_class_buffer_free(eb_class_buffer *b);
/* Appends rows z[n, dim] to their classes (labels in [0, n_classes): EB_ERR_ARG naming the row otherwise,
 * nothing pushed); a full class drops its oldest row. */
EB_API eb_status eb_class_buffer_push(eb_class_buffer *b, const float *z, const int32_t *labels, int64_t n,
                                      eb_error *err);
EB_API bool eb_class_buffer_full(const eb_class_buffer *b); /* every class holds `capacity` rows */

/* ---- HamOS synthesis (004_… Alg. 1) --------------------------------------------------------------------
 * Chains start at the midpoints b = normalise(μ_c + μ_j) of each class c and its n_adj nearest classes j
 * (cosine of the buffer means μ); C·n_adj chains (n_adj = min(n_adj, C − 1)). Each round: a proposal of the
 * sampler on the OOD-ness potential (Eq. 2)
 *   U(z) = −log(½ (d_k(z, Z_u) + d_k(z, Z_v))),  d_k = Euclidean distance to the k-th nearest row of the
 *   class buffer, ∇U = −(Σ_{u,v} (z − y_k)/d_k) / (d_u + d_v) (the gradient flows through ‖z − y_k‖ only;
 *   Eq. 4 as printed has exp(−U) where 1/(2·exp(−U)) belongs),
 * accepted iff the MH test passes AND the hard margin holds: −log max_c P_c(z') > −log max_c P_c(b) − δ
 * (Eq. 5), P_c the vMF-KDE ID probability (Eq. 11–12). Rejected chains (or non-finite proposals) keep
 * their position. The outliers are every chain's position after each of the R rounds (+ the start points
 * with keep_start, the code). */
typedef enum eb_vmf_kde_kind {
    EB_VMF_KDE_PAPER, /* Eq. 11–12: p̂_c = (1/n) Σ_i exp(κ zᵀz_i) over the class's whole buffer, P = p̂/Σp̂ */
    EB_VMF_KDE_CODE, /* specs §3: p_c = mean over the k nearest of exp(κ(zᵀy − max zᵀy)), P = softmax_c(p) */
} eb_vmf_kde_kind;

typedef struct eb_hamos_synthesis_params {
    eb_sphere_sampler_params sampler; /* hmc, L 3, ε 0.1 (Table 4) */
    int64_t k;                        /* k-th neighbour of the potential and the code's KDE, ≥ 1 (200) */
    float kappa;                      /* vMF bandwidth κ > 0 (2) */
    float margin;                     /* hard margin δ ≥ 0 (0.1; the code: step_size/2 = 0.05) */
    int64_t n_adj;                    /* adjacent classes per class ≥ 1 (4) */
    int64_t rounds;                   /* R ≥ 1 (5; the code's CIFAR-10 script: 2) */
    eb_vmf_kde_kind kde;              /* paper */
    bool keep_start;                  /* also emit the start points (false; the code: true) */
} eb_hamos_synthesis_params;
EB_API eb_hamos_synthesis_params eb_hamos_synthesis_default_params(void);
/* EB_ERR_ARG naming the field. */
EB_API eb_status eb_hamos_synthesis_params_check(const eb_hamos_synthesis_params *p, eb_error *err);
/* Outliers one call produces for C classes: chains·(R + keep_start), chains = C·min(n_adj, C − 1). */
EB_API int64_t eb_hamos_synthesis_count(const eb_hamos_synthesis_params *p, int64_t n_classes);

typedef struct eb_hamos_synthesis_stats {
    double acceptance; /* accepted proposals / (chains·R) */
    double diversity;  /* 1 − ‖mean of the outliers‖ (0: all equal; → 1: spread over the sphere) */
    double seconds;    /* wall time of the call */
} eb_hamos_synthesis_stats;

/* The VOS baseline on the same buffers (src/ood/samplers/vos_synthesis.c; Du et al. 2022): class means μ_c
 * and the shared covariance Σ (+ 10⁻⁴ I) of the buffer rows; per class `samples` draws from N(μ_c, Σ), the
 * `per_class` of lowest likelihood kept and normalised onto the sphere, into out[C·per_class, dim] (class
 * by class). Errors: EB_ERR_ARG (per_class < 1 or > samples), EB_ERR_STATE (an empty class), EB_ERR_NUMERIC
 * (Σ not positive definite), EB_ERR_NOMEM. */
EB_API eb_status eb_vos_synthesize(const eb_class_buffer *buf, int64_t samples, int64_t per_class, float *out,
                                   eb_rng *rng, eb_error *err);

/* The NPOS baseline on the same buffers (src/ood/samplers/npos_synthesis.c; Tao et al. 2023), class by
 * class: the ⌈per_class/2⌉ rows of largest k-th-neighbour distance within the class are the boundary;
 * around each, `samples` candidates normalise(z + σ·N(0, I)), the 2 of largest k-th distance to the class
 * kept; out[C·per_class, dim] class by class. Errors: EB_ERR_ARG (per_class < 1, samples < 2, σ ≤ 0),
 * EB_ERR_STATE (a class with fewer than k + 1 rows), EB_ERR_NOMEM. */
EB_API eb_status eb_npos_synthesize(const eb_class_buffer *buf, int64_t k, int64_t samples, float sigma,
                                    int64_t per_class, float *out, eb_rng *rng, eb_error *err);

/* Synthesises eb_hamos_synthesis_count outliers into out[count, dim] from a full buffer (every class
 * holding ≥ k rows; EB_ERR_STATE otherwise); out is ordered round by round (start points first with
 * keep_start), chains in order within a round. Same rng state and buffer ⇒ the same outliers at any thread
 * count.
 * Errors: EB_ERR_ARG (parameters, fewer than 2 classes), EB_ERR_STATE, EB_ERR_NOMEM, EB_ERR_NUMERIC (a
 * diverging chain, as eb_sphere_propose; a non-finite proposal that the potential did not see is rejected).
 */
EB_API eb_status eb_hamos_synthesize(const eb_hamos_synthesis_params *p, const eb_class_buffer *buf,
                                     float *out, eb_hamos_synthesis_stats *stats, eb_rng *rng, eb_error *err);

/* The pieces of the synthesis, for tests and pictures. For z[n, dim]:
 * −log max_c P_c(z) under the vMF KDE of the buffer (kde, κ, and k for the code's form) into out[n]. */
EB_API eb_status eb_vmf_kde_neg_log_max_prob(const eb_class_buffer *buf, eb_vmf_kde_kind kde, float kappa,
                                             int64_t k, const float *z, int64_t n, double *out,
                                             eb_error *err);
/* The OOD-ness potential U of chains between class pairs (u[i], v[i]) at z[n, dim], with ∇U (grad may be
 * NULL). */
EB_API eb_status eb_hamos_potential(const eb_class_buffer *buf, int64_t k, const int32_t *u, const int32_t *v,
                                    const float *z, int64_t n, double *pot, float *grad, eb_error *err);

/* ---- the CIDER and HamOS objectives (src/ood/objectives/cider.c, hamos.c) ---------------------------
 * Per step: two augmented views of the batch (images: eb_image_augment; tabular rows: the rows twice) in
 * one forward pass; z = the projection head's unit embeddings, labels repeated. Then
 *   prototypes: for each sample j in order, P[y_j] ← normalise(α·P[y_j] + (1 − α)·z_j) (on the tape: the
 *               dispersion and the OOD term backpropagate through z_j; stored detached afterwards);
 *   L_comp = −(τ/τ_b)·mean_i log softmax_c(z_iᵀP̂_c/τ)[y_i], P̂ the updated prototypes, detached;
 *   L_dis  = mean_c log( (1/(C−1)) Σ_{c'≠c} exp(P_cᵀP_c'/τ) ) (scale τ/τ = 1, CIDER's code);
 *   L_ood  = (τ/τ_b)·mean_i mean_c[ℓ_ic + log Σ_c' exp(−ℓ_ic')], ℓ = z_iᵀP_c/τ: cross-entropy between the
 *            uniform distribution and softmax(−ℓ), on the synthesised outliers (paper: their gradient
 *            reaches the network through P) or on the ID embeddings (the code, specs §3);
 *   cider: L = w_ce·CE + w_comp·L_comp + w_dis·L_dis;  hamos: + λ_d·L_ood once every class buffer is full.
 * Weights (Eq. 8, Table 4; the CIDER weights are the code's, the paper gives none): w_ce 1, w_comp 1,
 * w_dis 0.5, λ_d 0.1; τ 0.1, τ_b 0.07, α 0.95, buffer 1000. */
/* Where hamos's outliers come from: HamOS's chains (eb_hamos_synthesize), VOS's low-likelihood Gaussian
 * draws (eb_vos_synthesize) or NPOS's perturbed boundary points (eb_npos_synthesize, k = synth.k); the
 * baselines emit as many per class as HamOS does. */
typedef enum eb_outlier_synthesis { EB_SYNTH_HAMOS, EB_SYNTH_VOS, EB_SYNTH_NPOS } eb_outlier_synthesis;

typedef struct eb_hamos_params {
    bool synthesis;         /* false: cider; true: hamos */
    int64_t head_dim;       /* projection head width (128), added if the model has none */
    int64_t head_hidden;    /* its hidden width; 0 = the feature width (the paper: 512 → 512 → 128) */
    float temperature;      /* τ > 0 (0.1) */
    float base_temperature; /* τ_b > 0 (0.07) */
    float proto_momentum;   /* α ∈ [0, 1) (0.95) */
    float ce_weight, comp_weight, dis_weight, ood_weight; /* ≥ 0 (1, 1, 0.5, 0.1) */
    bool ood_on_id;      /* the code: L_ood on the ID embeddings instead of the outliers (false) */
    int64_t buffer_size; /* rows per class buffer ≥ k (1000) */
    eb_hamos_synthesis_params synth;
    eb_outlier_synthesis synthesis_method; /* hamos (the samplers above), or the vos / npos baselines */
    int64_t vos_samples;  /* vos: draws per class and step (1000; VOS itself: 10,000 on a GPU) */
    int64_t npos_samples; /* npos: candidates per boundary point (100) */
    float npos_sigma;     /* npos: σ of the perturbation (0.1, NPOS's cov_mat) */
    bool augment;         /* two augmented views of image batches (true) */
    eb_image_augment aug; /* eb_image_augment_simclr() */
    float mean[EB_IMAGE_MAX_CHANNELS], std[EB_IMAGE_MAX_CHANNELS]; /* the inputs' normalisation (0, 1) */
} eb_hamos_params;
/* The paper's defaults above (synthesis on for hamos). */
EB_API eb_hamos_params eb_hamos_default_params(bool synthesis);
/* The released code's choices (specs §3): L_ood on ID embeddings, R = 2, δ = step_size/2, the code's KDE,
 * start points kept. */
EB_API void eb_hamos_use_code(eb_hamos_params *p);
EB_API eb_status eb_hamos_params_check(const eb_hamos_params *p, eb_error *err);

typedef struct eb_hamos_objective eb_hamos_objective;
/* An objective for classifier m (its classes = eb_model_out_dim ≥ 2); adds the projection head to m if it
 * has none (from rng). Errors: EB_ERR_ARG (parameters; head width differing from an existing head's),
 * EB_ERR_NOMEM. */
EB_API eb_status eb_hamos_objective_new(const eb_hamos_params *p, eb_model *m, uint64_t seed, eb_rng *rng,
                                        eb_hamos_objective **out, eb_error *err);
EB_API void eb_hamos_objective_free(eb_hamos_objective *o);
/* Prototypes = normalised class means of the embeddings of x[n, in_dim] (eval mode; CIDER's / the code's
 * initialisation). A class without rows gets a random unit vector from the objective's seed. */
EB_API eb_status eb_hamos_objective_init_prototypes(eb_hamos_objective *o, eb_model *m, const float *x,
                                                    const int32_t *labels, int64_t n, eb_error *err);
/* The eb_objective_fn (ctx = the eb_hamos_objective). n_correct counts the first view's samples. */
EB_API eb_tensor *eb_hamos_objective_loss(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch,
                                          eb_rng *rng, int64_t *n_correct);

typedef struct eb_hamos_objective_stats {
    int64_t steps, synthesis_steps;                /* loss calls; calls that synthesised */
    double mean_acceptance;                        /* over the synthesising calls (NaN if none) */
    double mean_diversity;                         /* likewise */
    double synthesis_seconds;                      /* total */
    double last_ce, last_comp, last_dis, last_ood; /* the terms of the last call (ood NaN if not active) */
} eb_hamos_objective_stats;
EB_API eb_hamos_objective_stats eb_hamos_objective_get_stats(const eb_hamos_objective *o);
/* The current prototypes [C, head_dim] (valid until the next loss call). */
EB_API const float *eb_hamos_objective_prototypes(const eb_hamos_objective *o);

/* ---- App. C.4 Eq. 14: hyperspherical embedding quality ------------------------------------------------
 * From unit embeddings and the normalised class means μ_c of the ID test embeddings (CIDER's protocol):
 *   cosSeparation = mean over OOD z of max_c zᵀμ_c   (reported as the angle arccos, in degrees, by 004)
 *   cosDispersion = mean over pairs c ≠ c' of μ_cᵀμ_c'
 *   cosCompactness = mean over ID z of zᵀμ_{y}.
 * Angles in degrees (the paper's Table 3) are arccos of these. EB_ERR_ARG for empty sets, labels out of
 * range, fewer than 2 classes, or a class without ID rows. */
typedef struct eb_sphere_metrics {
    double cos_separation, cos_dispersion, cos_compactness;
} eb_sphere_metrics;
EB_API eb_status eb_sphere_metrics_compute(const float *id_z, const int32_t *id_labels, int64_t n_id,
                                           const float *ood_z, int64_t n_ood, int64_t dim, int64_t n_classes,
                                           eb_sphere_metrics *out, eb_error *err);

/* ---- a picture of the synthesis (src/eval/hamos_picture.c; `ebood landscape --hamos`) -----------------
 * Three ID classes on S² (centres at polar angle 55°, azimuths 0°, 120°, 240°; rows normalise(centre +
 * spread·N(0, I))), one eb_hamos_synthesize call on their buffer, drawn in the Lambert azimuthal equal-area
 * projection from the north pole over the vMF-KDE's −log max_c P_c: the ID rows per class, every chain's
 * path (start point, then its position after each round) and the outliers. */
typedef struct eb_hamos_picture_params {
    int64_t n_per_class;             /* rows per class in [2, 100000] (300) */
    float spread;                    /* σ of the clusters in (0, 10] (0.25) */
    eb_hamos_synthesis_params synth; /* the paper's, with k 30, κ 10, R 12, n_adj 2, keep_start */
    uint64_t seed;                   /* the toy and the chains (0) */
    int64_t size;                    /* px per side in [120, 4096] (560) */
} eb_hamos_picture_params;
EB_API eb_hamos_picture_params eb_hamos_picture_default_params(void);
/* Writes the picture to path (.png: rasterised here; .svg: the plot layer), atomically, and the synthesis'
 * stats to *stats (may be NULL). Errors: EB_ERR_ARG (extension, parameters naming the field, k above
 * n_per_class), EB_ERR_IO, EB_ERR_NOMEM. */
EB_API eb_status eb_hamos_picture_write(const eb_hamos_picture_params *p, const char *path,
                                        eb_hamos_synthesis_stats *stats, eb_error *err);

/* The `hamos` benchmark suite: ebood/suites.h. */

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_HAMOS_H */
