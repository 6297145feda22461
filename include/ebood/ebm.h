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
    /* Divergence guard: a step whose mean |f| over the chains exceeds this, or with any NaN/Inf in f, ∇ₓf or
     * x, stops sampling with EB_ERR_NUMERIC naming the step. ≤ 0 = only the NaN/Inf check. */
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
/* A log-density given rows [row0, row0 + x.shape[0]) of the chains (x holds only those rows). It must
 * treat rows independently (no batch statistics, no dropout) and be safe to call from several threads
 * at once on different graphs (read-only ctx). */
typedef eb_tensor *(*eb_log_density_rows_fn)(void *ctx, eb_graph *g, eb_tensor *x, int64_t row0);
/* eb_sgld_sample with the chains split into one row block per thread (EBOOD_THREADS; blocks of at least 32
 * rows), evaluated in parallel on per-block graphs with serial kernels: one fork/join per step instead of
 * one per op. The split starts at the second step, and only if the first step's graph took ≥ 1 MiB (less
 * work per step is not worth a fork/join; the test depends on shapes only, so results are reproducible).
 * Same noise stream and update; the result differs from one block only by the float rounding of the
 * blocked products. With one thread it is eb_sgld_sample. f must not draw from `rng`. */
EB_API eb_status eb_sgld_sample_rows(eb_log_density_rows_fn f, void *ctx, float *x, int64_t n, int64_t dim,
                                     const eb_sgld_params *p, eb_rng *rng, eb_graph *scratch,
                                     eb_sgld_stats *stats, eb_error *err);
/* eb_sgld_sample_rows on the share [lo, hi) of n_all chains that x[hi − lo, dim] holds (a data-parallel
 * rank's, eb_dist_share): every step draws the noise of all n_all chains from rng, as one process sampling
 * all of them would, and uses rows [lo, hi) of it — so with the same rng on every rank each rank's chains
 * are one process's rows up to the float rounding of f's gradients. The noise costs n_all/(hi − lo) times
 * one share's. lo = 0, hi = n_all: eb_sgld_sample_rows. EB_ERR_ARG when [lo, hi) is empty or outside. */
EB_API eb_status eb_sgld_sample_rows_share(eb_log_density_rows_fn f, void *ctx, float *x, int64_t n_all,
                                           int64_t lo, int64_t hi, int64_t dim, const eb_sgld_params *p,
                                           eb_rng *rng, eb_graph *scratch, eb_sgld_stats *stats,
                                           eb_error *err);
/* eb_model_log_density on rows [row0, …): labels (if any) are read from labels[row0 …]. Row-independent
 * only with train = false (BatchNorm running statistics, no dropout); ctx is an eb_model_density. */
EB_API eb_tensor *eb_model_log_density_rows(void *ctx, eb_graph *g, eb_tensor *x, int64_t row0);
/* Applies the projection to rows of x[n, dim] in place (ReLU, then L2 normalise with eps 1e-12). */
EB_API void eb_project_rows(float *x, int64_t n, int64_t dim, unsigned projection);

/* ---- persistent replay buffer (PCD; specs §4) ------------------------------------------------------ */
/* `size` chains of `dim` values, initialised U(lo, hi). Class-conditional buffers (n_classes ≥ 1)
 * are trimmed to a multiple of n_classes and split into n_classes contiguous blocks; chain r of
 * class y is index y·(size/n_classes) + r. */
typedef struct eb_replay_buffer {
    float *x; /* [size, dim]: this rank's chains (all of them on one process) */
    int64_t size, dim, n_classes;
    float lo, hi;
    double restart_prob; /* a drawn chain restarts from U(lo, hi) with this probability (0.05) */
    /* sharded over dist's ranks (eb_replay_buffer_init_share): the whole buffer has `total` chains, this
     * rank holds chains [first, first + size/blocks) of each of its blocks (n_classes, or 1); one process:
     * total = size, first = 0 */
    int64_t total, first;
    const eb_dist *dist;
} eb_replay_buffer;
/* n_classes 0 = unconditional. Errors: EB_ERR_ARG (size < 1, dim < 1, size < n_classes, lo ≥ hi,
 * restart_prob outside [0, 1]), EB_ERR_NOMEM. */
EB_API eb_status eb_replay_buffer_init(eb_replay_buffer *b, int64_t size, int64_t dim, int64_t n_classes,
                                       float lo, float hi, double restart_prob, eb_rng *rng, eb_error *err);
/* This rank's share of the buffer eb_replay_buffer_init would make (the same values: the whole buffer's
 * stream is drawn, the rank keeps its rows): of each block of B = size/blocks chains (blocks = n_classes,
 * or 1) the chains eb_dist_share(B, rank, ranks), so N ranks hold one buffer of `size` chains, 1/N each
 * (NULL or one rank: the whole buffer, as eb_replay_buffer_init). EB_ERR_ARG as that, and when a block
 * has fewer chains than ranks (every rank needs a chain of every class). */
EB_API eb_status eb_replay_buffer_init_share(eb_replay_buffer *b, int64_t size, int64_t dim,
                                             int64_t n_classes, float lo, float hi, double restart_prob,
                                             const eb_dist *dist, eb_rng *rng, eb_error *err);
/* The whole buffer [total, dim] (every chain at its index of one process's buffer) on rank 0, from every
 * rank's share (collective: every rank calls it; all is read only on rank 0 and may be NULL elsewhere). */
EB_API eb_status eb_replay_buffer_gather(const eb_replay_buffer *b, float *all, eb_error *err);
/* Copies this rank's chains into (copy_share) or from (set_share) their rows of a whole buffer all[total,
 * dim]; no communication (every rank restoring a checkpoint reads the whole tensor and takes its rows). */
EB_API void eb_replay_buffer_copy_share(const eb_replay_buffer *b, float *all);
EB_API void eb_replay_buffer_set_share(eb_replay_buffer *b, const float *all);
EB_API void eb_replay_buffer_free(eb_replay_buffer *b);
/* Draws n chains uniformly (with replacement) into x[n, dim] and their indices into index[n]; each is
 * replaced by fresh U(lo, hi) noise with probability restart_prob. For a class-conditional buffer,
 * labels[n] (required) picks the block of each chain. */
EB_API eb_status eb_replay_buffer_draw(eb_replay_buffer *b, int64_t n, const int32_t *labels, eb_rng *rng,
                                       int64_t *index, float *x, eb_error *err);
/* Writes n sampled chains back to their slots. */
EB_API void eb_replay_buffer_store(eb_replay_buffer *b, int64_t n, const int64_t *index, const float *x);

/* ---- contrastive divergence (CD) and its JEM-style supervised variant ------------------------------ */
/* Persistent contrastive divergence (002_39b8670b82235277.txt §3 "Contrastive divergence", App. B;
 * Grathwohl et al.'s JEM, 002_… Eq. 2–3; specs §4 "CD / JEM"). With f = log-density of the model
 * (logsumexp of the logits; the logit itself for one output), data x⁺[B], negatives x⁻[N]:
 *   L = −(mean_i f(x⁺_i) − mean_j f(x⁻_j)) + l2·(mean_i f(x⁺_i)² + mean_j f(x⁻_j)²) + γ·CE(g(x⁺), y)
 * ∇θ of the first term is the CD estimate of −∇θ log p(x⁺) (002_… §3: E_{p_θ}[∇θE] − ∇θE(x⁺), E = −f);
 * the l2 term keeps f near 0 (the released code's hard-coded weight 1); γ·CE trains p(y|x) (Eq. 2).
 * x⁻ are not differentiated: they come from SGLD (eb_sgld_sample, ascending f with the model in eval
 * mode and its parameters frozen), started from a persistent replay buffer (eb_replay_buffer) to which
 * the final samples are written back.
 *   Unconditional sampling: f = logsumexp_k g_k, unconditional buffer.
 *   Class-conditional sampling (the released code's supervised setting): y⁻ ~ U{0..C−1} and SGLD on the
 *   class logit g_{y⁻}(x) from the class-conditional buffer; the loss still uses f = logsumexp. */
typedef struct eb_cd_config {
    eb_sgld_params sgld; /* eb_sgld_default_params(): 100 steps, η = 1, σ = 0.01, no projection */
    /* Steps of class-conditional sampling. −1 = sgld.steps: the paper's "100 SGLD steps" for every CD model
     * (default). EB_CD_CODE_COND_STEPS (20) = the released code, whose class-conditional call of sample_q
     * does not pass sgld_steps and gets its default of 20. */
    int64_t cond_steps;
    int64_t buffer_size;    /* replay-buffer chains (10000, the paper's App. B; the released configs: 9000) */
    double restart_prob;    /* a drawn chain restarts from U(init_lo, init_hi) with this probability (0.05) */
    float init_lo, init_hi; /* buffer initialisation and restarts: U(−1, 1) */
    int64_t n_negatives;    /* chains per step; 0 = the batch size (default, the code's sgld_batch_size) */
    double l2;              /* weight of mean f(x⁺)² + mean f(x⁻)² (1), ≥ 0 */
    double ce_weight;       /* γ ≥ 0; 0 = unsupervised CD, > 0 = supervised (JEM-style), needs labels */
    bool class_conditional; /* sample x⁻ | y⁻ (needs ≥ 2 model outputs); see above */
    uint64_t seed;          /* the buffer's initialisation */
} eb_cd_config;
#define EB_CD_CODE_COND_STEPS 20

/* Unsupervised CD as the EBM paper trains it (specs §4): γ = 0, unconditional sampling, 100 steps. */
EB_API eb_cd_config eb_cd_default_config(void);
/* Supervised CD ("CD-S", JEM-style): γ = 1, class-conditional sampling, cond_steps −1 (= 100, the
 * paper). Set cond_steps = EB_CD_CODE_COND_STEPS for the released code's 20 steps. */
EB_API eb_cd_config eb_cd_supervised_default_config(void);
/* Errors (EB_ERR_ARG, naming the field): bad SGLD params, cond_steps < −1, buffer_size < 1, restart_prob
 * outside [0, 1], init range empty or not finite, n_negatives < 0, l2 or γ negative or not finite. */
EB_API eb_status eb_cd_config_check(const eb_cd_config *c, eb_error *err);
/* The config as a JSON object string, e.g. for a checkpoint's metadata (malloc'd; free with free()). */
EB_API char *eb_cd_config_json(const eb_cd_config *c);

/* The loss on the tape for GIVEN negatives (no sampling; used by the objective and by gradient checks):
 * logits of x_pos[B, dim] and x_neg[N, dim] from two forward passes of m (train selects dropout /
 * BatchNorm batch statistics, as eb_model_forward), then L above. labels[B] are needed when γ > 0.
 * terms (may be NULL) receives mean f(x⁺), mean f(x⁻) and the unweighted CE (NAN when γ = 0) and the
 * number of x⁺ classified correctly (−1 without labels or with one output). Errors are recorded on g. */
typedef struct eb_cd_terms {
    double f_pos, f_neg, ce;
    int64_t n_correct;
} eb_cd_terms;
EB_API eb_tensor *eb_cd_loss(eb_graph *g, eb_model *m, eb_tensor *x_pos, const int32_t *labels,
                             eb_tensor *x_neg, double l2, double ce_weight, bool train, eb_rng *rng,
                             eb_cd_terms *terms);

/* The CD objective: owns the replay buffer, a scratch graph for SGLD, and the negatives' arrays.
 * Not thread-safe (one per training run). */
typedef struct eb_cd eb_cd;
/* For models with in_dim inputs and out_dim outputs (the buffer's dim; class-conditional blocks per
 * output). Errors: a bad config (EB_ERR_ARG), γ > 0 or class_conditional with out_dim < 2 (EB_ERR_ARG),
 * EB_ERR_NOMEM. */
EB_API eb_status eb_cd_new(const eb_cd_config *c, int64_t in_dim, int64_t out_dim, eb_cd **out,
                           eb_error *err);
EB_API void eb_cd_free(eb_cd *cd);
EB_API const eb_cd_config *eb_cd_config_of(const eb_cd *cd);
/* The replay buffer (for inspection and tests; the objective keeps using it). It is made when first used
 * (here, the first step, a restore, eb_cd_distribute) from the stream eb_cd_new split off the seed, so a
 * sharded run never holds the whole buffer; its x is NULL if that ran out of memory (the step then fails). */
EB_API eb_replay_buffer *eb_cd_buffer(eb_cd *cd);
/* One of eb_dist_size(dist) > 1 data-parallel ranks: the replay buffer becomes this rank's share
 * (eb_replay_buffer_init_share) of the buffer eb_cd_new makes with `seed` (the run's common seed), so the
 * ranks hold one buffer of buffer_size chains together; the rank's draws and restarts use its share only.
 * One rank: nothing changes. EB_ERR_ARG when a (class) block has fewer chains than ranks. */
EB_API eb_status eb_cd_distribute(eb_cd *cd, const eb_dist *dist, uint64_t seed, eb_error *err);

/* What the last objective call did (pointers valid until the next call or eb_cd_free). */
typedef struct eb_cd_step_info {
    const float *negatives; /* [n, dim]: the SGLD samples (also written to the buffer) */
    const int64_t *index;   /* [n]: their buffer slots */
    const int32_t *labels;  /* [n]: their classes y⁻ (class-conditional), else NULL */
    int64_t n;
    eb_cd_terms terms;
    eb_sgld_stats sgld;
} eb_cd_step_info;
EB_API eb_cd_step_info eb_cd_last_step(const eb_cd *cd);

/* eb_objective_fn with ctx = eb_cd*: draws n_negatives chains (y⁻ ~ U{0..C−1} when class-conditional),
 * runs SGLD with the model in eval mode (rng: the trainer's stream; the chains, labels, restarts and
 * Langevin noise all come from it), writes the samples back, and returns eb_cd_loss in train mode.
 * *n_correct = correct classifications of x⁺ when γ > 0, else −1. Errors on g: a model whose shape is
 * not the objective's (EB_ERR_SHAPE), γ > 0 without labels (EB_ERR_ARG), SGLD divergence
 * (EB_ERR_NUMERIC, "contrastive divergence: SGLD step 7 of 100: non-finite gradient …"; the buffer is
 * left as it was). */
EB_API eb_tensor *eb_objective_cd(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                  int64_t *n_correct);

/* ---- maximum likelihood (normalizing flows; src/ood/objectives/max_likelihood.c) ---------------- */
/* Loss = −(1/B)·Σ_i log p(x_i) with log p(x) = logsumexp of the model's output, for a model whose
 * output IS a normalised log-density (EB_MODEL_RADIAL_FLOW: one output = log p(x)); the EBM paper's
 * flow baseline (002_39b8670b82235277.txt App. C: "maximum likelihood", specs §4). ctx is unused
 * (NULL); labels are ignored; *n_correct = −1. Errors on g: EB_ERR_ARG for a model kind that is not
 * a normalised density (an MLP's logsumexp has no normaliser: its "likelihood" grows without bound). */
EB_API eb_tensor *eb_objective_max_likelihood(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch,
                                              eb_rng *rng, int64_t *n_correct);

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

/* ---- VERA (variational entropy-regularised approximate maximum likelihood) ------------------------ */
/* Grathwohl et al. 2021 ("No MCMC for me"), as the EBM paper trains it (002_39b8670b82235277.txt §3 "VERA"
 * and Appendix "VERA"; specs §4 "VERA"; docs/methods.md). log Z(θ) = max_q E_q[f(x)] + H(q) (002_… §3), so
 * the EBM is trained against samples of an amortised generator q instead of MCMC:
 *   generator   h ~ N(0, I_k),  μ = G_ψ(h) (MLP, BatchNorm, no bias),  x = μ + σ·ε,  ε ~ N(0, I_D);
 *   EBM loss    L(θ) = −(mean_i f(x_i) − mean_j f(x̃_j)) + γ_pg·P(θ) + γ_ce·CE(g(x), y),  x̃ ~ q detached,
 *               P = mean_i ½‖∇ₓ f(x_i)‖² (per sample, VERA's code) or mean_i ½‖∇_{x_i} mean_j f(x_j)‖²
 *               (EB_VERA_PENALTY_BATCH_MEAN: the EBM paper's code, 1/B² of the former);
 *   generator   L(ψ, σ) = −(mean_j f(x̃_j) + λ·Ĥ),  Ĥ = Σ_d mean_j (c ⊙ x̃)_{jd},
 *               c_j = Σ_k w_jk (x̃_j − G(h_jk))/σ² (detached; ≈ −∇ₓ log q(x̃_j)),  h_jk ~ N(h_j, diag σ_post²),
 *               w_j· = softmax_k(log q(x̃_j, h_jk) − log N(h_jk; h_j, σ_post²)),  k = 1..K;
 *   posterior   log σ_post ascends the ELBO E_{h'~N(h,σ_post²)}[log q(x̃, h')] + H(N(h, σ_post²)) (own Adam);
 *   σ           clamped to [σ_min, σ_max] after every generator step.
 * The gradient penalty needs ∇θ of a gradient; ebood's tape is first-order, so its θ-gradient is the
 * central difference of the directional derivative along G = ∇ₓF (held fixed, F = Σ_i f or mean_i f):
 *   ∇θ P ≈ (1/B)·∇θ [F(x + hG) − F(x − hG)] / (2h),   h = fd_step / rms_i ‖G_i‖,
 * which is exact for f quadratic in x and O(h²) otherwise; the loss VALUE carries the exact P (computed
 * from G). The EBM's own optimizer is the trainer's (eb_train, with config.ebm_optimizer); the objective
 * owns the generator, σ, σ_post, their optimizers, and does one generator step per call. Order: the
 * generator step for the samples of call t runs at the start of call t+1, i.e. after the trainer's EBM
 * step, with the updated EBM, exactly as the released code (EBM step, then generator step, per batch). */
typedef enum eb_vera_penalty {
    EB_VERA_PENALTY_PER_SAMPLE, /* γ_pg·mean_i ½‖∇ₓf(x_i)‖² (VERA's train.py: grad of ld.sum()); default */
    EB_VERA_PENALTY_BATCH_MEAN, /* γ_pg·mean_i ½‖∇_{x_i} mean_j f(x_j)‖² (EBM-OOD code: grad of ld.mean()) */
} eb_vera_penalty;
EB_API const char *eb_vera_penalty_name(eb_vera_penalty p); /* "per_sample", "batch_mean" */
EB_API eb_status eb_vera_penalty_parse(const char *s, eb_vera_penalty *out, eb_error *err);

typedef struct eb_vera_config {
    /* generator G: noise_dim → hidden[0] → … → hidden[n−1] → data dim; each hidden layer is
     * Linear (bias if `bias`) → BatchNorm1d (if batch_norm; batch statistics always, as the code trains it) →
     * activation */
    int64_t noise_dim;                       /* 16 */
    int n_hidden;                            /* 5 (0 = a linear generator) */
    int64_t hidden[EB_MLP_MAX_HIDDEN];       /* 100 each */
    eb_activation activation;                /* leaky_relu */
    float activation_param;                  /* 0.2 (paper; code: 0.01, VERA-S relu) */
    bool batch_norm;                         /* true (needs batches of ≥ 2) */
    bool bias;                               /* false */
    double sigma_init, sigma_min, sigma_max; /* σ: 0.1 (code: 0.01), clamped to [0.01, 0.3] */
    double post_sigma_init;                  /* σ_post per latent dimension: 0.1 */
    double post_lr;                          /* σ_post's Adam (β 0.9, 0.999, eps 1e-8): 3e-5 */
    int64_t n_posterior;                     /* K importance samples: 20 */
    double entropy_weight;                   /* λ: 1e-4 */
    double pg_weight;                        /* γ_pg: 0.1 (0 = no penalty) */
    eb_vera_penalty penalty; /* per_sample (VERA's code; default) or batch_mean (EBM-OOD code) */
    double fd_step;          /* rms input perturbation of the penalty's difference: 1e-3 */
    double ce_weight;        /* γ_ce: 0 unsupervised, 1 supervised (needs labels, ≥ 2 outputs) */
    eb_optimizer_params
        gen_optimizer;        /* AdamW, β (0, 0.9), eps 1e-8, wd 0; lr 6e-4 (code: 6e-5, VERA-S 1e-3) */
    eb_schedule gen_schedule; /* generator lr by generator step (base_lr overrides gen_optimizer.lr): the
                               * paper's 2,500-step warm-up (code: none), then constant */
    /* Not used by the objective: the EBM optimizer the trainer should get (eb_train_params.optimizer):
     * AdamW, β (0, 0.9), eps 1e-8, wd 0; lr 3e-4 (code: 3e-5, VERA-S 1e-3), and its warm-up steps
     * (eb_train_params.schedule.warmup_steps): 2,500 (code: 0). */
    eb_optimizer_params ebm_optimizer;
    int64_t ebm_warmup_steps;
    uint64_t seed; /* the generator's initialisation (PyTorch's: Linear U(±1/√fan_in), BN γ=1 β=0) */
} eb_vera_config;

/* Unsupervised VERA with the EBM paper's values (002_… App. B "VERA"; docs/methods.md has the table of
 * paper vs released code): EBM lr 3e-4, generator lr 6e-4, generator LeakyReLU(0.2), σ initialised to 0.1,
 * 2,500 warm-up steps on both optimizers. */
EB_API eb_vera_config eb_vera_default_config(void);
/* Supervised VERA ("VERA-S", JEM-style): the same with γ_ce = 1. */
EB_API eb_vera_config eb_vera_supervised_default_config(void);
/* The released configs' values (specs §4): unsupervised lr 3e-5 / 6e-5 and generator slope 0.01,
 * supervised lr 1e-3 / 1e-3 and a ReLU generator; σ initialised to 0.01; no warm-up. */
EB_API eb_vera_config eb_vera_code_config(bool supervised);
/* Errors (EB_ERR_ARG, naming the field): noise_dim < 1, n_hidden outside [0, 16], a width < 1, a bad
 * activation parameter, σ bounds not 0 < σ_min ≤ σ_init ≤ σ_max finite, σ_post ≤ 0, post_lr < 0,
 * n_posterior < 1, λ, γ_pg, γ_ce negative or not finite, fd_step ≤ 0, bad optimizer params or schedule. */
EB_API eb_status eb_vera_config_check(const eb_vera_config *c, eb_error *err);
/* The config as a JSON object string (malloc'd; free with free()). */
EB_API char *eb_vera_config_json(const eb_vera_config *c);

/* The EBM loss L(θ) above on the tape for GIVEN generator samples (used by the objective and by gradient
 * checks): x_data[B, dim] (no gradient needed), x_gen[N, dim]; labels[B] when γ_ce > 0. Forward passes of
 * m with `train` (dropout / BatchNorm batch statistics; the penalty's passes replay the rng so their
 * dropout masks equal the data pass's). scratch: a graph for the ∇ₓf sweep (required when γ_pg > 0;
 * reset here; m's parameters are frozen on it, so their gradient buffers are not touched). terms may be
 * NULL. Errors on g. */
typedef struct eb_vera_terms {
    double f_data, f_gen; /* mean f over x_data and x_gen */
    double penalty;       /* P (unweighted; the loss holds γ_pg·P) */
    double grad_norm;     /* rms_i ‖G_i‖ of the penalty's input gradient */
    double fd_h;          /* the difference's h (0 if no penalty) */
    double ce;            /* unweighted CE, NAN when γ_ce = 0 */
    int64_t n_correct;    /* x_data classified correctly, −1 without labels / with one output */
} eb_vera_terms;
EB_API eb_tensor *eb_vera_ebm_loss(eb_graph *g, eb_graph *scratch, eb_model *m, eb_tensor *x_data,
                                   const int32_t *labels, eb_tensor *x_gen, const eb_vera_config *c,
                                   bool train, eb_rng *rng, eb_vera_terms *terms);

/* The VERA objective: owns the generator (its parameters, σ, σ_post), their optimizers, a scratch graph
 * and the pending samples. Not thread-safe (one per training run). */
typedef struct eb_vera eb_vera;
/* For EBMs with in_dim inputs and out_dim outputs. Errors: a bad config (EB_ERR_ARG), in_dim < 1,
 * γ_ce > 0 with out_dim < 2 (EB_ERR_ARG), EB_ERR_NOMEM. */
EB_API eb_status eb_vera_new(const eb_vera_config *c, int64_t in_dim, int64_t out_dim, eb_vera **out,
                             eb_error *err);
EB_API void eb_vera_free(eb_vera *v);
EB_API const eb_vera_config *eb_vera_config_of(const eb_vera *v);
/* The generator's parameters (PyTorch names of VERAGenerator: "g.net.<i>.weight|bias", "logsigma"). */
EB_API eb_params *eb_vera_generator_params(eb_vera *v);
EB_API double eb_vera_sigma(const eb_vera *v);                /* exp(logsigma) */
EB_API const float *eb_vera_post_log_sigma(const eb_vera *v); /* log σ_post, noise_dim floats */
/* n ≥ 2 (1 without BatchNorm) samples x ~ q into x[n, in_dim] (the generator in training mode, as the
 * code samples). Errors: EB_ERR_ARG, EB_ERR_NOMEM. */
EB_API eb_status eb_vera_sample(eb_vera *v, int64_t n, eb_rng *rng, float *x, eb_error *err);

/* What the last objective call did. */
typedef struct eb_vera_step_info {
    eb_vera_terms terms; /* of the EBM loss */
    bool gen_stepped;    /* a generator step ran (not on the first call) */
    double gen_loss;     /* −(mean f(x̃) + λ·Ĥ) of that step */
    double f_gen_step;   /* mean f(x̃) there (with the updated EBM) */
    double entropy;      /* Ĥ there (its value is a surrogate; only its gradient is the entropy's) */
    double sigma;        /* σ after the step and clamp */
    double post_sigma;   /* mean σ_post after its update */
    int64_t gen_steps;   /* generator steps so far */
} eb_vera_step_info;
EB_API eb_vera_step_info eb_vera_last_step(const eb_vera *v);

/* eb_objective_fn with ctx = eb_vera*: (1) the generator step for the previous call's samples (with the
 * EBM the trainer has just updated), (2) B new samples x̃ ~ q (rng: the trainer's stream; h, ε and the
 * posterior draws all come from it), (3) returns eb_vera_ebm_loss(x, x̃) in train mode. *n_correct as
 * eb_vera_terms when γ_ce > 0, else −1. Errors on g: a model whose shape is not the objective's
 * (EB_ERR_SHAPE), γ_ce > 0 without labels (EB_ERR_ARG), a non-finite generator loss (EB_ERR_NUMERIC,
 * "vera: generator step 12: ..."). */
EB_API eb_tensor *eb_objective_vera(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                    int64_t *n_correct);

/* ---- EBM methods by name (src/ood/objectives/ebm_method.c) ---------------------------------------------
 * The rows of 002_39b8670b82235277.txt's tables as one value each — what `ebood train --objective` and the
 * benchmark suites train: the model the paper uses for the method, its training parameters (specs §4
 * "Common training" / the VERA and flow sections), and its objective.
 *   "cd"      contrastive divergence (eb_cd_default_config), scalar-energy MLP (1 output)
 *   "cd-s"    supervised CD (eb_cd_supervised_default_config), C outputs
 *   "ssm"     sliced score matching (eb_ssm_default_config), 1 output
 *   "ssm-s"   supervised SSM, C outputs
 *   "vera"    VERA (eb_vera_default_config), 1 output, EBM LeakyReLU(0.2)
 *   "vera-s"  supervised VERA, C outputs
 *   "flow"    radial flow, 20 layers (eb_radial_flow_default_config), maximum likelihood
 * The MLP for cd/ssm/vera: in → 100×5 → out with ReLU (App. C: "a 5-layer MLP with ReLU activations");
 * eb_ebm_method_use_code switches every value where the released code differs from the paper to the
 * code's (LeakyReLU(0.01), VERA's EBM 0.2; the 9000-chain buffer; CD-S's 20 SGLD steps; VERA's lrs). */
typedef enum eb_ebm_kind { EB_EBM_CD, EB_EBM_SSM, EB_EBM_VERA, EB_EBM_FLOW, EB_EBM_KIND_COUNT } eb_ebm_kind;

typedef struct eb_ebm_method {
    eb_ebm_kind kind;
    bool supervised;            /* the -S variants (γ·CE); not for flow */
    bool code_defaults;         /* set by eb_ebm_method_use_code (recorded in the JSON) */
    eb_activation activation;   /* the EBM MLP's (cd/ssm/vera): relu (paper); code: leaky_relu */
    float activation_param;     /* 0 (paper); code: 0.01, VERA's EBM 0.2 */
    eb_cd_config cd;            /* kind == EB_EBM_CD */
    eb_ssm_config ssm;          /* kind == EB_EBM_SSM */
    eb_vera_config vera;        /* kind == EB_EBM_VERA */
    eb_radial_flow_config flow; /* kind == EB_EBM_FLOW (dim filled by eb_ebm_model_new) */
} eb_ebm_method;

/* The method named `name` (list above) with the paper's defaults. EB_ERR_ARG naming the string and the
 * accepted names otherwise. */
EB_API eb_status eb_ebm_method_parse(const char *name, eb_ebm_method *out, eb_error *err);
/* Every value where the released code (specs §4) differs from the paper to the code's: the MLP's
 * LeakyReLU(0.01) (VERA's EBM 0.2), CD's 9000-chain buffer and CD-S's 20 class-conditional SGLD steps,
 * eb_vera_code_config. Nothing changes for flow. */
EB_API void eb_ebm_method_use_code(eb_ebm_method *m);
/* VERA: the generator's lr schedule takes the shape of the EBM's training schedule (kind, warm-up, decay
 * steps, γ) at the generator's own base lr — the released code steps both optimizers' MultiStepLR together
 * and the paper warms "all models" up. Call with the EBM's final schedule before eb_ebm_objective_new.
 * Nothing for the other methods. */
EB_API void eb_ebm_method_share_schedule(eb_ebm_method *m, const eb_schedule *ebm_schedule);
/* "cd", "cd-s", …, "flow" (static string). */
EB_API const char *eb_ebm_method_name(const eb_ebm_method *m);
/* The model the method trains on rows of in_dim features with n_classes classes (outputs: 1 unsupervised,
 * n_classes supervised; flow: eb_radial_flow_new), initialised from init_rng. */
EB_API eb_status eb_ebm_model_new(const eb_ebm_method *m, int64_t in_dim, int64_t n_classes, eb_rng *init_rng,
                                  eb_model **out, eb_error *err);
/* The paper's training parameters for the method (specs §4): AdamW, batch 512, drop_last, 10,000 steps;
 * cd/ssm: lr 1e-3, β (0.9, 0.999), warm-up 2,500 steps, the lr halved every 3,000 steps (StepLR of 1,000
 * epochs of Segment's 3 batches); vera: its ebm_optimizer, no warm-up, ×0.3 at 3,000·B and 4,000·B steps
 * where B = batches_per_epoch (pass 0 when unknown: then the decay is off); flow: lr 1e-3, no schedule. */
EB_API eb_train_params eb_ebm_train_params(const eb_ebm_method *m, int64_t batches_per_epoch);

/* A built objective: eb_train(model, …, obj->fn, obj->ctx, …). Holds the method's state (cd: the replay
 * buffer; vera: the generator and its optimizers). Not thread-safe. */
typedef struct eb_ebm_objective {
    eb_objective_fn fn;
    void *ctx;
    eb_ebm_method method;
} eb_ebm_objective;
/* For model `model` (made by eb_ebm_model_new or shaped alike); seed: the objective's own initialisation
 * (buffer, generator). Errors: a bad config (EB_ERR_ARG naming the field), a model of the wrong kind/shape
 * (EB_ERR_SHAPE), EB_ERR_NOMEM. */
EB_API eb_status eb_ebm_objective_new(const eb_ebm_method *m, const eb_model *model, uint64_t seed,
                                      eb_ebm_objective **out, eb_error *err);
EB_API void eb_ebm_objective_free(eb_ebm_objective *o);
/* The method and its settings as a JSON object string ({"objective": "cd-s", …}; malloc'd, free()). */
EB_API char *eb_ebm_method_json(const eb_ebm_method *m);
/* The objective's state that an exact resume needs besides the model and the trainer's optimizer, as one
 * flat float vector (for a checkpoint tensor; counts are stored as floats, exact below 2²⁴):
 *   cd    the replay buffer's chains [buffer size · dim];
 *   vera  [generator steps, generator optimizer's step count, σ_post optimizer's step count, n pending,
 *          generator parameter count], the generator's parameters (log σ included), its optimizer state,
 *          log σ_post [k], its optimizer state, and the n samples awaiting their generator step (h [n·k],
 *          ε [n·D]);
 *   ssm, flow  nothing (size 0).
 * eb_ebm_objective_state_set restores what _get wrote for an objective of the same method and shapes;
 * EB_ERR_FORMAT naming the method if n or the counts do not fit (nothing is changed then), EB_ERR_NOMEM. */
EB_API int64_t eb_ebm_objective_state_size(const eb_ebm_objective *o);
EB_API void eb_ebm_objective_state_get(const eb_ebm_objective *o, float *out);
/* cd sharded over ranks (eb_cd_distribute): _size is the WHOLE buffer's, _get writes only this rank's chains
 * at their rows of it, _set takes this rank's rows from a whole buffer (so a checkpoint's state is the same
 * whatever the rank count), and _gather (collective: every rank calls it) writes the whole state on rank 0
 * (out may be NULL elsewhere). For every other objective, and one process, _gather is _get. */
EB_API eb_status eb_ebm_objective_state_gather(const eb_ebm_objective *o, float *out, eb_error *err);
EB_API eb_status eb_ebm_objective_state_set(eb_ebm_objective *o, const float *in, int64_t n, eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_EBM_H */
