/* ebood/outliers.h — training with auxiliary outliers: Outlier Exposure, energy-bounded fine-tuning and
 * Hopfield Boosting (the objectives of 003_77034dadf9bef685.txt §3.2 and 000_d95ac7511efbaafc.txt §3).
 *
 * All three train on ONE concatenated batch x = [x_id; x_aux] (eb_batch with n_aux > 0; the loop gets the
 * outliers from eb_train_params.aux, usually an eb_aux_sampler of data.h): one forward pass, so the ID and
 * outlier rows share BatchNorm's batch statistics, as the three released codes do. The cross-entropy term
 * sees only the ID rows and their labels. Each objective is an eb_objective_fn (nn.h) whose ctx is its
 * config (OE, energy) or its state (Hopfield Boosting); each reports the ID rows classified correctly.
 * Errors (no labels, no auxiliary rows, shapes) are recorded on the graph (sticky). */
#ifndef EBOOD_OUTLIERS_H
#define EBOOD_OUTLIERS_H

#include <ebood/base.h>
#include <ebood/data.h>
#include <ebood/nn.h>
#include <ebood/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Outlier Exposure (Hendrycks et al. 2019; the baseline of 003_… Table 2, "MSP-OE" of 000_… Table 1)
 *   L = CE(f(x_id), y) + λ · mean_out [ lse_k f_k(x_out) − (1/C) Σ_k f_k(x_out) ]
 * the second term being the cross-entropy from f(x_out) to the uniform distribution (specs §1). */
typedef struct eb_oe_config {
    float lambda; /* ≥ 0 (0.5, both the paper and the code) */
} eb_oe_config;
EB_API eb_oe_config eb_oe_default_config(void);
EB_API eb_status eb_oe_config_check(const eb_oe_config *c, eb_error *err);
/* ctx: const eb_oe_config *. */
EB_API eb_tensor *eb_objective_oe(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                  int64_t *n_correct);

/* ---- energy-bounded fine-tuning (003_… §3.2, Eq. 7–9)
 *   L = CE(f(x_id), y) + λ · [ mean_in relu(E(x_in) − m_in)² + mean_out relu(m_out − E(x_out))² ],
 *   E(x) = −lse_k f_k(x)   (T = 1; negative numbers for a confident model, so margins are negative)
 * Each hinge is averaged over its own rows, then the two are summed (specs §1). The in-term penalises ID
 * energies ABOVE m_in, the out-term outlier energies BELOW m_out: m_in < m_out. */
typedef struct eb_energy_ft_config {
    float lambda;      /* ≥ 0 (0.1) */
    float m_in, m_out; /* finite, m_in < m_out (the code's CIFAR-10 run.sh: −23 and −5) */
} eb_energy_ft_config;
EB_API eb_energy_ft_config eb_energy_ft_default_config(void);
EB_API eb_status eb_energy_ft_config_check(const eb_energy_ft_config *c, eb_error *err);
/* ctx: const eb_energy_ft_config *. */
EB_API eb_tensor *eb_objective_energy_ft(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch,
                                         eb_rng *rng, int64_t *n_correct);

/* Mean energy E = −lse f over rows[0..n) of an image set (or a tabular pool: c = h = 1), mapped to input
 * space by `t` (normalisation only: crop/flip/noise must be off), in eval mode. For --margins auto (the
 * authors' advice: margins near the pretrained model's mean ID and outlier energies, specs §1):
 * m_in = the ID mean, m_out = the AUX mean. Errors: EB_ERR_ARG (n < 1, a random transform on), the
 * model's, EB_ERR_NUMERIC (a non-finite energy). */
EB_API eb_status eb_mean_energy(eb_model *m, const eb_image_set *set, const int64_t *rows, int64_t n,
                                const eb_image_transforms *t, double *mean, eb_error *err);

/* Energies E = −lse f of rows[0..n) of a set (conditions and errors as eb_mean_energy; rows required). */
EB_API eb_status eb_energy_rows(eb_model *m, const eb_image_set *set, const int64_t *rows, int64_t n,
                                const eb_image_transforms *t, float *energy, eb_error *err);

/* The candidate margins of energy-ft's selection (003_… §4 "Training details": m_in, m_out chosen from a
 * grid by the FPR95 on a validation set that holds no test OOD data). spec:
 *   "paper"         m_in ∈ {−27, −23, −19, −15}, m_out ∈ {−7, −5, −3} (the paper's two lists, with its
 *                   swapped ranges put back as in the code: m_in < m_out);
 *   "auto"          3 × 3 around the model's mean ID and AUX energies μ_in < μ_out (the paper: "chosen
 *                   around the mean of energy scores from a pre-trained model"): with g = μ_out − μ_in,
 *                   m_in ∈ μ_in + {−g/4, 0, g/4}, m_out ∈ μ_out + {−g/4, 0, g/4};
 *   "A,B,..:C,D,.." explicit m_in and m_out lists (finite, at most EB_MARGIN_GRID_MAX each).
 * Pairs with m_in ≥ m_out are skipped by the search. mean_id/mean_aux are read by "auto" only.
 * Errors: EB_ERR_ARG naming the problem (a malformed list, "auto" with μ_out ≤ μ_in). */
#define EB_MARGIN_GRID_MAX 16
typedef struct eb_margin_grid {
    float m_in[EB_MARGIN_GRID_MAX], m_out[EB_MARGIN_GRID_MAX];
    int n_in, n_out;
} eb_margin_grid;
EB_API bool eb_margin_grid_needs_means(const char *spec); /* "auto" */
EB_API eb_status eb_margin_grid_parse(const char *spec, double mean_id, double mean_aux, eb_margin_grid *out,
                                      eb_error *err);

/* ---- Hopfield Boosting (000_d95ac7511efbaafc.txt Eq. 4–7, Alg. 1; specs §2)
 * Border energy of a query ξ against two memories I (ID) and O (outliers), all L2-normalised (Eq. 5):
 *   L_OOD(ξ) = lse(β, Iᵀξ) + lse(β, Oᵀξ) − 2·lse(β, (I ∥ O)ᵀξ),   lse(β, v) = β⁻¹ log Σ_i exp(β v_i)
 * (≤ −2 log 2/β, highest for ξ between the two memories; the code's border energy E_a + E_b − 2E_u is
 * −L_OOD up to a constant when |I| = |O|). Training (Eq. 4, 6): memories from the current batch itself,
 * I = z(x_id), O = z(x_aux), queries all 2N rows, z = the L2-normalised projection of the features:
 *   L = CE(f(x_id), y) + λ · (1/2N) Σ_ξ L_OOD(ξ)
 * nothing detached, the diagonal not masked (the code). Boosting (Eq. 7): before each epoch (from the
 * second on; also before the first with boost_first, as the code), candidates ⊂ AUX pool get weights
 *   w = softmax(β · L_OOD(candidates; I = the ID set, O = an AUX sample of the same size))
 * and the epoch's outliers are drawn with replacement from w (eb_aux_sampler, EB_AUX_WEIGHTED). */
typedef enum eb_hb_head {
    EB_HB_HEAD_FROZEN, /* a random MLP feature_dim → hidden → ReLU → proj_dim, never trained (the code) */
    EB_HB_HEAD_NONE,   /* the features themselves (the paper's text names no projection) */
    EB_HB_HEAD_TRAINABLE, /* the model's own projection head (eb_model_add_projection_head), trained */
} eb_hb_head;
EB_API const char *eb_hb_head_name(eb_hb_head h); /* "frozen", "none", "trainable" */
EB_API eb_status eb_hb_head_parse(const char *s, eb_hb_head *out, eb_error *err);

typedef struct eb_hopfield_boost_config {
    float lambda; /* ≥ 0: 1 (paper, App. E.1); the code 0.5 */
    float beta;   /* > 0: 4 (the code; the paper picks from {2, 4, 8} on validation) */
    eb_hb_head head;
    int64_t proj_dim, proj_hidden; /* frozen head: 128 and 256 (the code) */
    int64_t candidates;            /* AUX rows scored per boosting step: 500000 (paper), 400000 (code);
                                      capped at the pool size */
    int64_t memory;                /* ID rows in the boosting memory (0 = the whole ID set, the paper) */
    bool boost_first;              /* boost before the first epoch too (the code); paper: w₁ uniform */
    uint64_t seed;                 /* the head's initialisation, the candidate and memory draws */
} eb_hopfield_boost_config;
EB_API eb_hopfield_boost_config eb_hopfield_boost_default_config(void); /* the paper's */
EB_API void eb_hopfield_boost_use_code(eb_hopfield_boost_config *c);    /* λ 0.5, 400k, boost_first */
EB_API eb_status eb_hopfield_boost_config_check(const eb_hopfield_boost_config *c, eb_error *err);

typedef struct eb_hopfield_boost eb_hopfield_boost;
/* The objective's state for model m (the frozen head is sized from eb_model_feature_dim(m); a trainable
 * head needs a model with a projection head: EB_ERR_ARG otherwise). */
EB_API eb_status eb_hopfield_boost_new(const eb_hopfield_boost_config *c, const eb_model *m,
                                       eb_hopfield_boost **out, eb_error *err);
EB_API void eb_hopfield_boost_free(eb_hopfield_boost *hb);
/* The frozen head's parameters, flat: W1 [hidden, F], b1 [hidden], W2 [proj, hidden], b2 [proj] (NULL,
 * *size 0 for EB_HB_HEAD_NONE). Writable (tests load reference weights). */
EB_API float *eb_hopfield_boost_head(eb_hopfield_boost *hb, int64_t *size);
/* The projection's width (proj_dim, or the feature width without a head). */
EB_API int64_t eb_hopfield_boost_dim(const eb_hopfield_boost *hb);
/* ctx: eb_hopfield_boost *. */
EB_API eb_tensor *eb_objective_hopfield_boost(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch,
                                              eb_rng *rng, int64_t *n_correct);

/* z[n, dim] = the normalised projections of features[n, F] (no tape; a trainable head needs attach:
 * EB_ERR_STATE otherwise). */
EB_API eb_status eb_hopfield_boost_project(eb_hopfield_boost *hb, const float *features, int64_t n, float *z,
                                           eb_error *err);

/* l_ood[i] = L_OOD(q_i) of Eq. 5 for queries q[n_q, dim] against memories I[n_i, dim], O[n_o, dim]
 * (the caller normalises), streamed through the blocked GEMM of the hopfield detectors: memory
 * O(threads · block), never n_q × n_i; OpenMP over query blocks, bitwise identical at any thread count.
 * Errors as eb_hopfield_lse (ood.h). */
EB_API eb_status eb_hopfield_border_energy(const float *q, int64_t n_q, const float *mem_id, int64_t n_id,
                                           const float *mem_aux, int64_t n_aux, int64_t dim, float beta,
                                           float *l_ood, eb_error *err);

/* The boosting step's inputs: the model being trained, the ID training set and the AUX pool (the same
 * pool the sampler draws from), both mapped to input space by `t` (normalisation only). Must outlive
 * the training run. */
EB_API eb_status eb_hopfield_boost_attach(eb_hopfield_boost *hb, eb_model *m, const eb_image_set *id,
                                          const eb_image_set *aux, const eb_image_transforms *t,
                                          eb_error *err);
/* An eb_aux_weights_fn (ctx: eb_hopfield_boost *, attached): epoch 0 without boost_first → all 1;
 * otherwise the boosting weights of Eq. 7 on a candidate draw of (seed, epoch) (0 off the candidates).
 * Deterministic in (model, seed, epoch): a resumed run recomputes the weights it had. */
EB_API eb_status eb_hopfield_boost_weights(void *ctx, int64_t epoch, double *weights, eb_error *err);

/* ---- POEM's outlier mining (Ming, Fan, Li, ICML 2022; src/ood/objectives/poem.c, docs/methods.md) ----
 * A Bayesian linear regression y = wᵀh + ε on penultimate features h (d values), prior w ~ N(0, σ I),
 * noise variance σ_n; its posterior is N(μ, Σ) with
 *   A = Σ_i c_i h_i h_iᵀ / σ_n + I / σ,   μ = A⁻¹ Σ_i c_i y_i h_i / σ_n,   Σ = σ A⁻¹
 * (c_i a row's multiplicity; Σ = σA⁻¹ is the released code's covariance, the conjugate posterior's being
 * A⁻¹). Thompson sampling draws one w̃ ~ N(μ, Σ); the outliers mined are the candidates closest to the
 * boundary w̃ᵀh = 0, i.e. with the smallest |w̃ᵀh|. All in double; a[d·d] is row-major, lower triangle. */
/* a += c · HᵀH / σ_n (lower triangle), b += c · y · Hᵀ1 / σ_n for the rows h[n, d], all with target y. */
EB_API void eb_poem_accumulate(double *a, double *b, const float *h, int64_t n, int64_t d, double y, double c,
                               double sigma_n);
/* Adds I/σ to a, factors it in place (a = L, A = L Lᵀ) and overwrites b with μ = A⁻¹ b. EB_ERR_NUMERIC
 * when A is not positive definite (non-finite features). */
EB_API eb_status eb_poem_posterior(double *a, double *b, int64_t d, double sigma, eb_error *err);
/* w̃ = μ + √σ L⁻ᵀ ε for d standard normals in w (overwritten): covariance σ (L Lᵀ)⁻¹ = σ A⁻¹. */
EB_API void eb_poem_draw(const double *l, const double *mu, int64_t d, double sigma, double *w);
/* The k (≤ n) rows of h[n, d] with the smallest |wᵀh| (ties: the lower row), in that order, into rows[k];
 * EB_ERR_NUMERIC on a non-finite score, EB_ERR_NOMEM. */
EB_API eb_status eb_poem_select(const float *h, int64_t n, int64_t d, const double *w, int64_t k,
                                int64_t *rows, eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_OUTLIERS_H */
