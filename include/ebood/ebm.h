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

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_EBM_H */
