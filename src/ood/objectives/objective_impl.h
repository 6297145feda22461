/* The objective vtable and the registry list (include/ebood/objective.h).
 *
 * HOW TO ADD AN OBJECTIVE (e.g. "oe"):
 *   1. src/ood/objectives/outlier_exposure.c: its params struct (≤ EB_OBJECTIVE_PARAMS_BYTES), its
 *      parameter rows (eb_param_desc: key, flag, type, offsetof(params, field), range, metavar, help), the
 *      hooks below it needs, and `const eb__objective_method eb__objective_oe = {.name = "oe", …};`.
 *      Defaults live in .defaults (paper) and .use_code (the released code's, optional); help and JSON
 *      read them through the rows, so a default is written once.
 *   2. One row X(oe) in EB__OBJECTIVE_LIST below (the order is the CLI's and the docs').
 *   3. Its tests, and its section in docs/methods.md.
 * Nothing else: `ebood train --objective oe`, its flags, --help, range and "does not apply" errors, the
 * checkpoint's JSON and resume come from the row. A flag shared by several objectives (--ce-weight) is one
 * row in each method's table with the same flag, type and help; the CLI lists it once.
 *
 * Hooks: only name, help, params_size and defaults are required; every other NULL hook has the generic
 * behaviour named beside it. `p` is the method's params struct (eb_objective_spec.params). */
#ifndef EBOOD_OBJECTIVE_IMPL_H
#define EBOOD_OBJECTIVE_IMPL_H

#include <ebood/objective.h>

struct eb__objective_method {
    const char *name; /* "cd-s" */
    const char *help; /* one line for --help */
    size_t params_size;
    const eb_param_desc *params; /* the rows (n_params) */
    int n_params;

    /* The paper's defaults into p (params_size bytes, zeroed). */
    void (*defaults)(void *p);
    /* Optional: the released code's values where they differ (the preset flag applies only if set). */
    void (*use_code)(void *p);
    /* Optional: the registry name this configuration trains, when a value selects a sibling (cd with
     * ce_weight > 0 is cd-s); NULL or its own name = itself. */
    const char *(*resolve)(const void *p);
    /* Optional: the method's own check of the assembled params (EB_ERR_ARG naming the field). */
    eb_status (*check)(const void *p, eb_error *err);
    /* Optional: the settings JSON (malloc'd string, {"objective": name, "defaults": paper|code, …}).
     * NULL: the name, the preset and every row's key with its value. */
    char *(*json)(const void *p, bool code_defaults);

    /* ---- the model ---- */
    /* Optional: outputs for n_classes classes. NULL: n_classes (a classifier). */
    int64_t (*out_dim)(const void *p, int64_t n_classes);
    /* Optional: the model kind when --model is not given. NULL: mlp (tabular), small_cnn (images). */
    eb_model_kind (*default_model)(const void *p, bool images);
    /* Optional: the MLP activation when --activation is not given. NULL: leaky_relu 0.01. */
    void (*default_activation)(const void *p, eb_activation *act, float *param);
    /* Optional: refuse a model kind / data kind (EB_ERR_ARG). NULL: any. */
    eb_status (*model_check)(const void *p, eb_model_kind kind, bool images, eb_error *err);
    /* Optional: builds its own tabular model (flow's radial flow) instead of the generic one. */
    eb_status (*model_new)(const void *p, int64_t in_dim, int64_t n_classes, eb_rng *init, eb_model **out,
                           eb_error *err);
    /* Optional: a warning about the model (ssm on a kinked activation) into buf; "" = none. */
    void (*model_note)(const void *p, eb_model_kind kind, eb_activation act, char *buf, size_t size);
    /* Optional: changes the built model (adds a projection head …); may replace *model (freeing the old). */
    eb_status (*model_adjust)(const void *p, eb_model **model, eb_error *err);

    /* ---- training ---- */
    /* Optional: the method's training profile over the generic one in *out (see eb_train_profile). */
    void (*train_profile)(const void *p, bool images, int64_t batches_per_epoch, eb_train_profile *out);
    /* Whether the batches must carry labels (NULL: always). */
    bool (*needs_labels)(const void *p);
    /* The loss on the tape (nn.h's eb_objective_fn); ctx is what run_new made. */
    eb_objective_fn fn;
    /* Optional: the per-run context (buffers, samplers, prototypes, generators) for this model; p may be
     * adjusted for the run (it is the run's copy: seed, schedule). NULL: ctx = the run's params. */
    eb_status (*run_new)(void *p, const eb_model *model, const eb_schedule *schedule, uint64_t seed,
                         void **ctx, eb_error *err);
    void (*run_free)(void *ctx);
    /* Optional: after every epoch (HB's boosting resampling …). */
    eb_status (*epoch_end)(void *ctx, eb_model *model, const eb_train_epoch_info *info, eb_error *err);
    /* Optional: the state an exact resume needs, as one F32 tensor named state_name of state_shape
     * (returns ndim 1 or 2; 0 = nothing now); state_get copies it out; state_set restores it from the
     * checkpoint's tensor (EB_ERR_FORMAT when it does not fit). */
    const char *state_name;
    int (*state_shape)(const void *ctx, int64_t shape[2]);
    void (*state_get)(const void *ctx, float *out);
    /* Optional: the state is spread over the ranks of a distributed run (cd's replay buffer): collective,
     * every rank calls it when a checkpoint is written, and the whole state lands in out on rank 0 (NULL
     * elsewhere). NULL: state_get on the rank that writes. */
    eb_status (*state_gather)(const void *ctx, float *out, eb_error *err);
    eb_status (*state_set)(void *ctx, const float *in, int ndim, const int64_t *shape, eb_error *err);
    /* Optional: called once before training (before a resume restores the model) with the ID training set
     * (images: as loaded, norm = their mapping to input space; tabular: an f32 set of c = h = 1 with labels,
     * norm the identity): CIDER's prototypes from class means, the inputs' normalisation for augmentation. */
    eb_status (*data_setup)(void *ctx, eb_model *model, const eb_image_set *id,
                            const eb_image_transforms *norm, eb_error *err);
    /* Optional: fields for the run's JSON summary (a cJSON object). */
    void (*summary)(const void *ctx, void *cjson_object);
    /* Optional: the objective trains on auxiliary outliers (eb_train_params.aux). Called once before training
     * (before a resume restores the model): sets the sampler's batch size, order and weights callback in *ap
     * and does the work that needs the model and the data (energy-FT's automatic margins, HB's boosting
     * memories). NULL: no auxiliary data. */
    eb_status (*aux_setup)(void *ctx, eb_model *model, const eb_image_set *id, const eb_image_set *aux,
                           const eb_image_transforms *norm, int64_t batches_per_epoch, eb_aux_params *ap,
                           eb_error *err);
    /* Optional: the run is one of eb_dist_size(dist) data-parallel ranks (eb_train_params.dist); `seed` is
     * the run's common seed (rank 0's, while run_new got this rank's eb_dist_seed): what must be the same
     * on every rank (HB's frozen head and boosting draws) is redrawn from it, and work that can be split
     * across the ranks is (HB's candidate scoring). NULL: nothing to do (per-rank streams are right). */
    eb_status (*distribute)(void *ctx, const eb_dist *dist, uint64_t seed, eb_error *err);
};

/* The registry: one X(id) per objective, the vtable being eb__objective_<id>. */
#define EB__OBJECTIVE_LIST(X)                                                                                \
    X(ce)                                                                                                    \
    X(cd)                                                                                                    \
    X(cd_s)                                                                                                  \
    X(ssm)                                                                                                   \
    X(ssm_s)                                                                                                 \
    X(vera)                                                                                                  \
    X(vera_s)                                                                                                \
    X(flow)                                                                                                  \
    X(oe)                                                                                                    \
    X(energy_ft)                                                                                             \
    X(hopfield_boost)                                                                                        \
    X(poem)                                                                                                  \
    X(cider)                                                                                                 \
    X(hamos)

/* How many of the first n rows of logits[·, c] have their largest logit (the first on ties) at the label. */
int64_t eb__count_correct(const eb_tensor *logits, const int32_t *labels, int64_t n);

#define EB__OBJECTIVE_DECLARE(id) extern const eb__objective_method eb__objective_##id;
typedef struct eb__objective_method eb__objective_method;
EB__OBJECTIVE_LIST(EB__OBJECTIVE_DECLARE)
#undef EB__OBJECTIVE_DECLARE

#endif
