/* ebood/ebm.h — energy-based models: the log-density of a model, SGLD sampling, the replay buffer,
 * and the generative training objectives (contrastive divergence, sliced score matching, VERA,
 * their JEM-style supervised variants) of 002_39b8670b82235277.txt and 001_8dfeaa911d9afebd.txt.
 *
 * Sign convention: an EBM is written through its log-density up to a constant,
 *   f(x) = −E(x)   (higher = more likely = more in-distribution),
 * so samplers ASCEND f and f is directly an OOD score (ood.h's convention). For a classifier with
 * logits g(x), f(x) = logsumexp_k g_k(x) (JEM; 002_… §3), and f = g for a single output. */
#ifndef EBOOD_EBM_H
#define EBOOD_EBM_H

#include <ebood/base.h>
#include <ebood/nn.h>
#include <ebood/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- log-densities on the tape ------------------------------------------------------------------ */
/* f(x) of a batch x[B, dim] → [B], recorded on g so that eb_graph_backward gives ∇ₓf and/or ∇θf.
 * Errors are recorded on g (sticky). */
typedef eb_tensor *(*eb_log_density_fn)(void *ctx, eb_graph *g, eb_tensor *x);

/* The log-density of a classifier: f(x) = logsumexp_k g_k(x), or the class logit g_y(x) when labels
 * is set (class-conditional sampling, specs §4). `train` selects BatchNorm batch statistics / dropout
 * (the EBM paper's code samples in eval mode: train = false). */
typedef struct eb_model_density {
    eb_model *model;
    const int32_t *labels; /* B labels, or NULL for logsumexp */
    bool train;
    eb_rng *rng; /* dropout stream when train (may be NULL otherwise) */
} eb_model_density;
/* ctx is an eb_model_density. */
EB_API eb_tensor *eb_model_log_density(void *ctx, eb_graph *g, eb_tensor *x);
/* logsumexp over axis 1 of logits[B, C] (→ [B]); for C = 1 the logit itself. */
EB_API eb_tensor *eb_logits_log_density(eb_graph *g, eb_tensor *logits);

/* ---- decay schedules (HEAT's SGLD step size and noise; 001_… Appendix, specs §5) ---------------- */
typedef enum eb_decay_kind {
    EB_DECAY_CONSTANT,  /* v_t = start */
    EB_DECAY_LINEAR,    /* v_t = (start − end)(1 − t/K) + end */
    EB_DECAY_QUADRATIC, /* v_t = (start − end)(1 − t/K)² + end   (HEAT's code) */
} eb_decay_kind;
typedef struct eb_decay {
    double start, end;
    eb_decay_kind kind;
} eb_decay;
/* v_t for step t of K (0 ≤ t < K). */
EB_API double eb_decay_value(const eb_decay *d, int64_t t, int64_t steps);
/* "constant", "linear", "quadratic". */
EB_API const char *eb_decay_kind_name(eb_decay_kind k);
EB_API eb_status eb_decay_kind_parse(const char *s, eb_decay_kind *out, eb_error *err);

/* ---- SGLD ---------------------------------------------------------------------------------------- */
/* Projections applied after every step (and to the start points): ReLU (features are non-negative),
 * then the unit sphere (features are L2-normalised). HEAT uses both (specs §5). */
enum { EB_PROJECT_NONE = 0, EB_PROJECT_RELU = 1, EB_PROJECT_SPHERE = 2 };

typedef struct eb_sgld_params {
    int64_t steps;      /* K ≥ 0 */
    eb_decay step_size; /* η_t ≥ 0 */
    eb_decay noise;     /* σ_t ≥ 0, independent of η_t (the released codes; not √(2η)) */
    unsigned projection;
    /* Divergence guard: a step whose mean |f| exceeds this, or with any NaN/Inf in f, ∇ₓf or x, stops
     * sampling with EB_ERR_NUMERIC naming the step. ≤ 0 = only the NaN/Inf check. */
    double max_abs_log_density;
} eb_sgld_params;
/* The EBM paper's code (specs §4): 100 steps, η = 1, σ = 0.01, constant, no projection, guard 1e8. */
EB_API eb_sgld_params eb_sgld_default_params(void);
EB_API eb_status eb_sgld_params_check(const eb_sgld_params *p, eb_error *err);

typedef struct eb_sgld_stats {
    int64_t steps;                /* steps completed */
    double first_mean, last_mean; /* mean f over the chains at the first / the last step taken (NaN if
                                     none): the sampler evaluates f there anyway, so they cost nothing */
} eb_sgld_stats;

/* Runs K steps of Langevin dynamics on x[n, dim] in place:
 *   x ← P(x + η_t·∇ₓf(x) + σ_t·ε),  ε ~ N(0, I),  P = the projection,
 * the gradient being of Σ_i f(x_i) (each chain its own). The model's parameters are frozen while
 * sampling (eb_graph_freeze_params on `scratch`; their gradient buffers are not touched). scratch is
 * a graph the sampler resets at every step (its arena is reused). stats may be NULL.
 * Errors: EB_ERR_ARG (bad params, n < 1, dim < 1), EB_ERR_NUMERIC (divergence: "SGLD step 12 of 100:
 * non-finite gradient (last finite mean log-density −3.2)"), or f's graph error. On error x holds
 * the last finite state. */
EB_API eb_status eb_sgld_sample(eb_log_density_fn f, void *ctx, float *x, int64_t n, int64_t dim,
                                const eb_sgld_params *p, eb_rng *rng, eb_graph *scratch, eb_sgld_stats *stats,
                                eb_error *err);
/* Applies the projection to rows of x[n, dim] in place (ReLU, then L2 normalise with eps 1e-12). */
EB_API void eb_project_rows(float *x, int64_t n, int64_t dim, unsigned projection);

/* ---- persistent replay buffer (PCD; specs §4) ------------------------------------------------------ */
/* `size` chains of `dim` values, initialised U(lo, hi). Class-conditional buffers (n_classes ≥ 1)
 * are trimmed to a multiple of n_classes and split into n_classes contiguous blocks; chain r of
 * class y is index y·(size/n_classes) + r. */
typedef struct eb_replay_buffer {
    float *x; /* [size, dim] */
    int64_t size, dim, n_classes;
    float lo, hi;
    double restart_prob; /* a drawn chain restarts from U(lo, hi) with this probability (0.05) */
} eb_replay_buffer;
/* n_classes 0 = unconditional. Errors: EB_ERR_ARG (size < 1, dim < 1, size < n_classes, lo ≥ hi,
 * restart_prob outside [0, 1]), EB_ERR_NOMEM. */
EB_API eb_status eb_replay_buffer_init(eb_replay_buffer *b, int64_t size, int64_t dim, int64_t n_classes,
                                       float lo, float hi, double restart_prob, eb_rng *rng, eb_error *err);
EB_API void eb_replay_buffer_free(eb_replay_buffer *b);
/* Draws n chains uniformly (with replacement) into x[n, dim] and their indices into index[n]; each is
 * replaced by fresh U(lo, hi) noise with probability restart_prob. For a class-conditional buffer,
 * labels[n] (required) picks the block of each chain. */
EB_API eb_status eb_replay_buffer_draw(eb_replay_buffer *b, int64_t n, const int32_t *labels, eb_rng *rng,
                                       int64_t *index, float *x, eb_error *err);
/* Writes n sampled chains back to their slots. */
EB_API void eb_replay_buffer_store(eb_replay_buffer *b, int64_t n, const int64_t *index, const float *x);

/* ---- sliced score matching (SSM-VR; src/ood/objectives/score_matching.c) ------------------------- */
/* 002_39b8670b82235277.txt §3 "Sliced score matching" and App. C (Song et al. 2019's variance-reduced
 * SSM with Rademacher projections, one per sample; specs §4 "SSM"). With f = the model's log-density
 * (logsumexp of the logits), g_i = ∇ₓf(x_i), v_i ∈ {±1}^D:
 *   L = (1/B)·Σ_i [ ½‖g_i‖² + v_iᵀ ∇ₓ(v_iᵀ∇ₓf)(x_i) ]  + γ·CE(logits(x), y)
 * The tape is first-order, so the second-order pieces are central finite differences (the released
 * code uses create_graph double backprop instead). Step length s = h·max(1, rms(x)) (rms over the
 * batch's entries), along unit directions w_i = v_i/‖v_i‖ and u_i = g_i/‖g_i‖:
 *   v_iᵀH_iv_i ≈ ‖v_i‖²·(f(x_i + s·w_i) − 2f(x_i) + f(x_i − s·w_i))/s²           (on the tape: ∇θ exact
 *                                                                                 of the FD value)
 *   ∇θ ½‖g_i‖² = (∂g_i/∂θ)ᵀg_i ≈ ‖g_i‖·∇θ(f(x_i + s·u_i) − f(x_i − s·u_i))/(2s)    (g_i held fixed)
 * ½‖g_i‖² itself comes from an input-gradient sweep with the parameters frozen; the second surrogate's
 * value is replaced by it (eb_add_scalar), so the reported loss is exactly the estimator's value.
 * Error: O(s²) truncation + float32 rounding ≈ ε·‖v‖²·|f|/s² (docs/methods.md "SSM"; h = 0.02 balances
 * them for data of unit scale). All f evaluations run in eval mode (no dropout, BatchNorm running
 * statistics): f must be the same function of x in the shifted passes. The γ·CE term uses a train-mode
 * forward, as eb_objective_cross_entropy. Piecewise-linear activations (relu, leaky_relu) make the
 * finite differences see the kinks that double backprop ignores: prefer smooth ones (softplus, elu,
 * swish) with SSM. */
typedef struct eb_ssm_config {
    double h;         /* relative finite-difference step, in (0, 1] (0.02) */
    double ce_weight; /* γ ≥ 0: 0 = unsupervised SSM (default), 1 = the supervised variant (needs labels) */
} eb_ssm_config;
/* h 0.02, γ = 0. */
EB_API eb_ssm_config eb_ssm_default_config(void);
/* h 0.02, γ = 1 (the released code's pyxce = 1). */
EB_API eb_ssm_config eb_ssm_supervised_default_config(void);
/* Errors (EB_ERR_ARG, naming the field): h not in (0, 1], γ negative or not finite. */
EB_API eb_status eb_ssm_config_check(const eb_ssm_config *c, eb_error *err);
/* {"objective":"ssm","h":0.02,"ce_weight":0} (malloc'd; free with free()). */
EB_API char *eb_ssm_config_json(const eb_ssm_config *c);

typedef struct eb_ssm_terms {
    double loss;       /* the value of the returned loss */
    double score;      /* mean ½‖∇ₓf‖² */
    double trace;      /* mean finite-difference estimate of vᵀ∇ₓ(vᵀ∇ₓf) */
    double ce;         /* unweighted mean CE, NAN when γ = 0 */
    double step;       /* s = h·max(1, rms(x)) */
    int64_t n_correct; /* of the CE forward when γ > 0, else −1 */
} eb_ssm_terms;

/* The SSM loss of x[B, D] (D = the model's in_dim) on g for GIVEN projections v[B·D] (any real vectors;
 * Rademacher in training), or v = NULL to draw v = sign(N(0, I)) from rng. rng also drives dropout in the
 * CE forward (may be NULL without dropout). Runs one input-gradient sweep on g itself, with the
 * parameters frozen (their gradient buffers are untouched; the freeze is lifted before returning).
 * terms may be NULL. Cost: one forward of 6B rows (B frozen + 5B on the tape) and one of B for γ > 0.
 * Errors on g: x not [B, D] (EB_ERR_SHAPE), a bad config, γ > 0 without labels, v = NULL without rng
 * (EB_ERR_ARG), a non-finite f or ∇ₓf (EB_ERR_NUMERIC). */
EB_API eb_tensor *eb_ssm_loss(eb_graph *g, eb_model *m, eb_tensor *x, const int32_t *labels, const float *v,
                              const eb_ssm_config *c, eb_rng *rng, eb_ssm_terms *terms);
/* Loss and parameter gradient (into m->params.grad, zeroed first) of n rows of x with given v, on a
 * graph of its own: what one training step would use. For tests and gradient checks. */
EB_API eb_status eb_ssm_loss_grad(eb_model *m, const float *x, const int32_t *labels, int64_t n,
                                  const float *v, const eb_ssm_config *c, eb_rng *rng, eb_ssm_terms *terms,
                                  eb_error *err);
/* eb_objective_fn with ctx = const eb_ssm_config*: v drawn from the trainer's rng (then dropout of the
 * CE forward from the same stream). *n_correct as terms.n_correct. */
EB_API eb_tensor *eb_objective_ssm(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                   int64_t *n_correct);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_EBM_H */
