/* ebood/optim.h — optimizers (SGD, Adam, AdamW) over one flat parameter buffer, and learning-rate
 * schedules.
 *
 * A model keeps its parameters in ONE flat float buffer (DESIGN.md §3.6); the gradients and the
 * optimizer's moments mirror that layout, so a step is one loop over n floats: a serial simd loop
 * up to EB_OPTIM_PARALLEL_MIN floats, above it fixed chunks of simd loops spread over the OpenMP
 * threads. Each element is updated independently, so the result is bitwise the same at any thread
 * count, and a step never allocates.
 *
 * Semantics are those of PyTorch 1.13's torch.optim.SGD / Adam / AdamW (single-tensor path,
 * maximize=False, amsgrad=False), in float32 with the scalar coefficients computed in double and
 * rounded to float as torch does. Test: tests/test_optim.c against tests/fixtures/optim/, made by
 * scripts/make_optim_fixture.py.
 *
 *   SGD    d = g + wd·p                                  (L2 weight decay, only if wd ≠ 0)
 *          if momentum ≠ 0:  b = d                        on the first step (t = 0),
 *                            b = momentum·b + (1 − dampening)·d   afterwards;
 *                            d = d + momentum·b  (nesterov)  or  d = b
 *          p = p − lr·d
 *   Adam   t = t + 1;  g' = g + wd·p                     (L2 weight decay, only if wd ≠ 0)
 *          m = β1·m + (1 − β1)·g';  v = β2·v + (1 − β2)·g'²
 *          p = p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)     (eps after the sqrt)
 *   AdamW  t = t + 1;  p = p·(1 − lr·wd)                 (decoupled decay, before the update)
 *          then the Adam update with g' = g.
 *
 * Thread-safety: an eb_optimizer is not thread-safe; distinct optimizers are independent.
 * eb_optimizer_step itself runs on the OpenMP threads set by eb_threads_set(). */
#ifndef EBOOD_OPTIM_H
#define EBOOD_OPTIM_H

#include <ebood/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Steps over more than this many floats run on OpenMP threads; smaller ones stay serial (a
 * training step of a small MLP should not pay for waking a thread team: the Segment MLP's 42,906
 * parameters stay serial, perf/RESULTS.md "Small-MLP threading"). */
#define EB_OPTIM_PARALLEL_MIN ((int64_t)1 << 17)

/* ---- optimizer parameters ----------------------------------------------------------------- */
typedef enum eb_optimizer_kind { EB_OPTIM_SGD, EB_OPTIM_ADAM, EB_OPTIM_ADAMW } eb_optimizer_kind;

/* Hyperparameters. Only the fields of `kind` are read (and checked): SGD reads momentum,
 * dampening, nesterov, weight_decay; Adam/AdamW read beta1, beta2, eps, weight_decay.
 * `lr` is the base learning rate a caller builds its schedule from; eb_optimizer_step takes the
 * learning rate of each step explicitly and does not read this field. */
typedef struct eb_optimizer_params {
    eb_optimizer_kind kind;
    float lr;
    float momentum;          /* SGD */
    float dampening;         /* SGD */
    bool nesterov;           /* SGD */
    float beta1, beta2, eps; /* Adam, AdamW */
    float weight_decay;      /* SGD/Adam: L2 term added to the gradient; AdamW: decoupled */
} eb_optimizer_params;

/* torch.optim defaults. torch's SGD has no default lr (it is required); ours is 0.01. */
EB_API eb_optimizer_params
eb_sgd_default_params(void); /* lr 0.01, momentum 0, dampening 0, nesterov off, wd 0 */
EB_API eb_optimizer_params eb_adam_default_params(void);  /* lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 0 */
EB_API eb_optimizer_params eb_adamw_default_params(void); /* lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 1e-2 */

/* Checks the fields `kind` reads. Every value must be finite, and:
 *   lr ≥ 0, weight_decay ≥ 0;
 *   SGD:  0 ≤ momentum < 1, 0 ≤ dampening ≤ 1, nesterov requires momentum > 0 and dampening = 0
 *         (torch's rule; torch itself accepts any momentum ≥ 0 and any dampening — we are stricter);
 *   Adam/AdamW: 0 ≤ beta1 < 1, 0 ≤ beta2 < 1, eps > 0.
 * Errors: EB_ERR_ARG, message "optimizer <kind>: <field> must be ... (got <value>)". p == NULL is
 * EB_ERR_ARG. Thread-safe. */
EB_API eb_status eb_optimizer_params_check(const eb_optimizer_params *p, eb_error *err);

/* "sgd", "adam", "adamw"; "unknown" for a value outside the enum. Static string. */
EB_API const char *eb_optimizer_kind_name(eb_optimizer_kind kind);
/* Parses exactly "sgd", "adam" or "adamw" (lower case, as the CLI spells them). Unknown or NULL
 * strings: EB_ERR_ARG, "optimizer: unknown kind 'x' (expected sgd, adam or adamw)"; *out unchanged. */
EB_API eb_status eb_optimizer_kind_parse(const char *s, eb_optimizer_kind *out, eb_error *err);
/* One line describing p, e.g. "adamw(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01)",
 * for logs and checkpoint provenance. Same contract as snprintf (returns the length it needed). */
EB_API int eb_optimizer_params_format(const eb_optimizer_params *p, char *buf, size_t size);

/* ---- the optimizer -------------------------------------------------------------------------- */
typedef struct eb_optimizer eb_optimizer;

/* Creates an optimizer for a flat buffer of n_params floats, with zeroed state and step count 0.
 * p is copied. a: allocator for the object and its state (NULL = malloc; it must outlive the
 * optimizer). Errors: EB_ERR_ARG (bad params as eb_optimizer_params_check, n_params ≤ 0,
 * out == NULL), EB_ERR_NOMEM. On error *out is NULL (when out is not NULL). */
EB_API eb_status eb_optimizer_new(const eb_optimizer_params *p, int64_t n_params, const eb_allocator *a,
                                  eb_optimizer **out, eb_error *err);
EB_API void eb_optimizer_free(eb_optimizer *opt); /* NULL is a no-op */

/* One step at learning rate lr (from a schedule; lr ≥ 0, not checked):
 * params[n_params] ← update(params, grads[n_params]), the state moves and the step count grows by
 * one. grads are read only. params and grads must not partially overlap. No allocation, no
 * failure: validation happened in eb_optimizer_new. */
EB_API void eb_optimizer_step(eb_optimizer *opt, float *params, const float *grads, float lr);

/* ---- state, for checkpoints and exact resume --------------------------------------------------
 * The state is one flat float buffer owned by the optimizer; its layout, n = n_params:
 *   SGD, momentum = 0   0 floats (eb_optimizer_state returns NULL)
 *   SGD, momentum > 0   [n]  momentum buffer (torch state['momentum_buffer'])
 *   Adam, AdamW         [2n] exp_avg (m) in [0, n), then exp_avg_sq (v) in [n, 2n)
 * Together with the step count t it is everything a step depends on besides params, grads and lr:
 * copying state and t into a fresh optimizer with the same params resumes bitwise exactly.
 * For SGD with momentum, t = 0 means "no buffer yet": the next step sets the buffer to d (torch's
 * first-step initialisation); set t ≥ 1 when loading a buffer. For Adam/AdamW, t is torch's
 * state['step'] (bias correction uses t + 1 on the next step). */
EB_API int64_t eb_optimizer_n_params(const eb_optimizer *opt);
EB_API int64_t eb_optimizer_state_size(const eb_optimizer *opt); /* in floats */
EB_API float *eb_optimizer_state(eb_optimizer *opt);             /* writable; NULL if size 0 */
EB_API int64_t eb_optimizer_step_count(const eb_optimizer *opt);
EB_API void eb_optimizer_set_step_count(eb_optimizer *opt, int64_t t);              /* t < 0 is taken as 0 */
EB_API const eb_optimizer_params *eb_optimizer_get_params(const eb_optimizer *opt); /* owned by opt */

/* ---- learning-rate schedules ------------------------------------------------------------------
 * A schedule is a pure function of the global step s = 0, 1, … (the number of optimizer steps
 * taken before this one): eb_schedule_lr(s) is the lr to pass to the step that follows.
 *
 *   CONSTANT  lr(s) = base_lr
 *   STEP      lr(s) = base_lr · gamma^⌊s / step_size⌋          (torch StepLR stepped once per
 *             optimizer step; for an epoch-level StepLR use step_size = epochs × steps_per_epoch)
 *   COSINE    lr(s) = min_lr + (base_lr − min_lr)·½(1 + cos(π·s / total_steps))
 *             (torch CosineAnnealingLR, T_max = total_steps, eta_min = min_lr; like torch it is
 *             periodic past total_steps — it rises again — so train for at most total_steps)
 *   MULTISTEP lr(s) = base_lr · gamma^#{k : s ≥ ⌊milestones[k]·total_steps⌋}  (torch MultiStepLR;
 *             milestones are fractions of the run, e.g. {0.5, 0.75} with gamma 0.1: the classifier
 *             recipe of HEAT, 001_8dfeaa911d9afebd.txt App. A.5.1 "ID classifier training". With
 *             total_steps = epochs × batches per epoch and f·epochs whole, a milestone falls on an epoch
 *             boundary, as torch's per-epoch MultiStepLR)
 *
 * Linear warm-up (warmup_steps = W > 0) OVERRIDES the lr for s < W:
 *             lr(s) = base_lr · min(1, (s + 1) / W)            for s < W,  the schedule for s ≥ W.
 * The ramp goes to base_lr, not to the scheduled lr: the EBM-OOD code (seed-code-specs.md §4,
 * OODDetectionModel.optimizer_step) sets pg['lr'] = min(1, (global_step+1)/W) · hparams.learning_rate,
 * i.e. the base lr, whatever the scheduler did. In its configs no StepLR boundary falls inside
 * the warm-up (W = 2500 steps; the first halving is near step 3000), and there both readings agree
 * with the original exactly. Where the schedule has moved during the warm-up, the original's
 * chainable torch scheduler would lose those decays (the override discards them); ebood does not
 * copy that accident: from step W on, lr(s) is the schedule's value at s. */
typedef enum eb_schedule_kind {
    EB_SCHEDULE_CONSTANT,
    EB_SCHEDULE_STEP,
    EB_SCHEDULE_COSINE,
    EB_SCHEDULE_MULTISTEP
} eb_schedule_kind;

#define EB_SCHEDULE_MAX_MILESTONES 8

typedef struct eb_schedule {
    eb_schedule_kind kind;
    float base_lr;
    int64_t total_steps;                          /* COSINE: T_max, > 0; MULTISTEP: the run's length, > 0 */
    int64_t warmup_steps;                         /* all kinds: ≥ 0, 0 = no warm-up */
    int64_t step_size;                            /* STEP: > 0 */
    float gamma;                                  /* STEP, MULTISTEP: > 0 */
    float min_lr;                                 /* COSINE: eta_min ≥ 0 */
    int n_milestones;                             /* MULTISTEP: 1 … EB_SCHEDULE_MAX_MILESTONES */
    float milestones[EB_SCHEDULE_MAX_MILESTONES]; /* MULTISTEP: increasing fractions in (0, 1] */
} eb_schedule;

/* CONSTANT at base_lr, no warm-up (total_steps 0, step_size 0, gamma 1, min_lr 0, no milestones). */
EB_API eb_schedule eb_schedule_default(float base_lr);

/* The lr for global step `step` (step < 0 is taken as 0). Computed in double, rounded to float.
 * Pure, thread-safe. s must have passed eb_schedule_check (otherwise the result is unspecified
 * but no crash: e.g. a non-positive step_size or total_steps is treated as no decay). */
EB_API float eb_schedule_lr(const eb_schedule *s, int64_t step);

/* Checks base_lr finite ≥ 0, warmup_steps ≥ 0, and what the kind reads: STEP step_size > 0 and
 * gamma finite > 0; COSINE total_steps > 0 and min_lr finite ≥ 0; MULTISTEP total_steps > 0, gamma finite
 * > 0, 1 ≤ n_milestones ≤ EB_SCHEDULE_MAX_MILESTONES, milestones strictly increasing in (0, 1]. Errors:
 * EB_ERR_ARG, "schedule <kind>: <field> must be ... (got <value>)"; s == NULL or an unknown kind also. */
EB_API eb_status eb_schedule_check(const eb_schedule *s, eb_error *err);

/* "constant", "step", "cosine", "multistep"; "unknown" outside the enum. Static string. */
EB_API const char *eb_schedule_kind_name(eb_schedule_kind kind);
/* Parses exactly "constant", "step", "cosine" or "multistep". Errors: EB_ERR_ARG,
 * "schedule: unknown kind 'x' (expected constant, step, cosine or multistep)"; *out unchanged. */
EB_API eb_status eb_schedule_kind_parse(const char *s, eb_schedule_kind *out, eb_error *err);
/* Parses "f1,f2,…" (e.g. "0.5,0.75") into s->milestones / s->n_milestones: 1 … EB_SCHEDULE_MAX_MILESTONES
 * strictly increasing fractions in (0, 1]. EB_ERR_ARG naming the problem; *s unchanged on error. */
EB_API eb_status eb_schedule_milestones_parse(const char *text, eb_schedule *s, eb_error *err);
/* One line, e.g. "cosine(base_lr=0.001, total_steps=10000, min_lr=0, warmup_steps=2500)".
 * Same contract as snprintf. */
EB_API int eb_schedule_format(const eb_schedule *s, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_OPTIM_H */
