/* Training objectives by name: the registry behind `ebood train --objective NAME`.
 *
 * Every objective (ce, the EBM methods cd, cd-s, ssm, ssm-s, vera, vera-s, flow, …) is one row of one list
 * (src/ood/objectives/objective_impl.h, EB__OBJECTIVE_LIST) pointing at the method's vtable, which lives in
 * the method's own file with its parameter descriptors (params.h). From that list come the names, the help,
 * the flags of the command line with their ranges and "does not apply" errors, the checkpoint's JSON and
 * the dispatch: building the model, the training profile, the per-run context, the epoch-end hook and the
 * state saved for an exact resume. How to add an objective: see objective_impl.h.
 *
 * Use:  eb_objective_spec s;  eb_objective_spec_build("cd", "code", given, n_given, &s, &err);
 *       eb_objective_train_profile(&s, images, batches_per_epoch, &profile);   (training defaults)
 *       build the model (eb_objective_model_new for objectives that build their own, else the default
 *       kind eb_objective_default_model), eb_objective_model_adjust, then
 *       eb_objective_run_new(&s, model, seed, &run, &err) → run->fn, run->ctx for eb_train. */
#ifndef EBOOD_OBJECTIVE_H
#define EBOOD_OBJECTIVE_H

#include <ebood/data.h>
#include <ebood/nn.h>
#include <ebood/params.h>
#include <ebood/safetensors.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eb__objective_method eb_objective_method; /* one registry row (opaque) */

/* The registry, in its order (ce first). */
EB_API int eb_objective_count(void);
EB_API const eb_objective_method *eb_objective_at(int i);
/* NULL for an unknown name. */
EB_API const eb_objective_method *eb_objective_find(const char *name);
/* "ce, cd, cd-s, ssm, ssm-s, vera, vera-s, flow" into buf. */
EB_API void eb_objective_names(char *buf, size_t size);
EB_API const char *eb_objective_name(const eb_objective_method *m);
EB_API const char *eb_objective_help(const eb_objective_method *m); /* one line */
/* The method's parameter rows (*out NULL when none). */
EB_API int eb_objective_params(const eb_objective_method *m, const eb_param_desc **out);
/* Whether the released code's preset differs from the paper's (the preset flag applies). */
EB_API bool eb_objective_has_code_preset(const eb_objective_method *m);
/* The default value of row d under a preset (code = false: the paper's), as text (eb_param_format). */
EB_API void eb_objective_param_default(const eb_objective_method *m, const eb_param_desc *d, bool code,
                                       char *buf, size_t size);
/* The objectives that have a row with this flag, "cd, cd-s" (empty if none). */
EB_API void eb_objective_flag_readers(const char *flag, char *buf, size_t size);

/* An objective with its parameters. params holds the method's own params struct (its vtable's). */
#define EB_OBJECTIVE_PARAMS_BYTES 4096
typedef struct eb_objective_spec {
    const eb_objective_method *method;
    bool code_defaults; /* the released code's preset */
    _Alignas(16) unsigned char params[EB_OBJECTIVE_PARAMS_BYTES];
} eb_objective_spec;

/* A flag's value as given on the command line (or in a config). */
typedef struct eb_objective_value {
    const char *flag; /* without "--" */
    const char *text;
} eb_objective_value;

/* The objective `name` with the preset's defaults ("paper" or NULL = the paper's, "code" = the released
 * code's where they differ), then the given values. A method may resolve to a sibling from the values
 * (cd with --ce-weight > 0 trains cd-s: the sibling's defaults, then the values). Errors (EB_ERR_ARG, one
 * line naming the flag): unknown name (listing the names), a flag the objective does not read ("--ssm-h is
 * read only by --objective ssm, ssm-s (this run trains vera)"), the preset for an objective without one,
 * a malformed or out-of-range value, the method's own check. */
EB_API eb_status eb_objective_spec_build(const char *name, const char *preset,
                                         const eb_objective_value *given, int n_given, eb_objective_spec *out,
                                         eb_error *err);
EB_API const char *eb_objective_spec_name(const eb_objective_spec *s);
/* The settings as a JSON object string {"objective": NAME, …} (malloc'd; free()); NULL when out of memory. */
EB_API char *eb_objective_spec_json(const eb_objective_spec *s);

/* Model outputs for data with n_classes classes (1: a scalar energy; n_classes: a classifier). */
EB_API int64_t eb_objective_out_dim(const eb_objective_spec *s, int64_t n_classes);
/* The model trained when --model is not given, and the MLP activation when --activation is not given. */
EB_API eb_model_kind eb_objective_default_model(const eb_objective_spec *s, bool images);
EB_API void eb_objective_default_activation(const eb_objective_spec *s, eb_activation *act, float *param);
/* EB_ERR_ARG when the objective cannot train a `kind` model on this data ("--objective flow: tabular data
 * only", "a radial_flow is a normalised density: train it with --objective flow"). */
EB_API eb_status eb_objective_model_check(const eb_objective_spec *s, eb_model_kind kind, bool images,
                                          eb_error *err);
/* Whether the objective builds its own tabular model (eb_objective_model_new), e.g. flow's radial flow. */
EB_API bool eb_objective_builds_model(const eb_objective_spec *s);
EB_API eb_status eb_objective_model_new(const eb_objective_spec *s, int64_t in_dim, int64_t n_classes,
                                        eb_rng *init, eb_model **out, eb_error *err);
/* A warning about training a `kind` model with this MLP activation ("" if none), e.g. ssm with relu. */
EB_API void eb_objective_model_note(const eb_objective_spec *s, eb_model_kind kind, eb_activation act,
                                    char *buf, size_t size);
/* Lets the objective change the built model (e.g. add a projection head); may replace *model. */
EB_API eb_status eb_objective_model_adjust(const eb_objective_spec *s, eb_model **model, eb_error *err);

/* The training profile: what `ebood train` uses for every training flag not given. Generic defaults
 * (tabular: AdamW 1e-3, 10,000 steps of 512, warm-up 2500, ×0.5 every 3000 steps; images: Adam, cosine,
 * 5 epochs of 128), then the method's (the EBM paper's App. B for cd/ssm/vera/flow). batches_per_epoch
 * sizes epoch-level schedules (0 if not known yet). */
typedef struct eb_train_profile {
    eb_train_params train;
    double input_noise_std; /* images: Gaussian input noise σ of the loader */
} eb_train_profile;
EB_API void eb_objective_train_profile(const eb_objective_spec *s, bool images, int64_t batches_per_epoch,
                                       eb_train_profile *out);

/* One training run of an objective: its loss function and context for eb_train / eb_train_source. */
typedef struct eb_objective_run {
    eb_objective_spec spec;
    eb_objective_fn fn;
    void *ctx;
    bool needs_labels;
    char *settings_json; /* eb_objective_spec_json */
} eb_objective_run;

/* The run's context for training `model` (its shapes checked against the method's needs); schedule: the
 * model's final learning-rate schedule (methods with their own optimizers follow its shape). */
EB_API eb_status eb_objective_run_new(const eb_objective_spec *s, const eb_model *model,
                                      const eb_schedule *schedule, uint64_t seed, eb_objective_run **out,
                                      eb_error *err);
EB_API void eb_objective_run_free(eb_objective_run *r);
/* Call after every epoch (before the checkpoint): the method's epoch-end work (e.g. resampling). */
EB_API eb_status eb_objective_run_epoch_end(eb_objective_run *r, eb_model *model,
                                            const eb_train_epoch_info *info, eb_error *err);
/* The state an exact resume needs as a tensor for the checkpoint (*has false when the method has none);
 * *owned (free()) holds the data. */
EB_API eb_status eb_objective_run_state(const eb_objective_run *r, eb_st_tensor *t, float **owned, bool *has,
                                        eb_error *err);
/* The same in a data-parallel run, where a method's state may be spread over the ranks (cd's sharded
 * replay buffer, eb_objective_run_distribute): collective — every rank calls it when a checkpoint is
 * written; the rank that writes (`writes`) receives the whole state as above, the others *has false.
 * One process: eb_objective_run_state. */
EB_API eb_status eb_objective_run_state_collect(const eb_objective_run *r, bool writes, eb_st_tensor *t,
                                                float **owned, bool *has, eb_error *err);
/* Restores it from a checkpoint file (EB_ERR_FORMAT naming path when missing or not fitting). */
EB_API eb_status eb_objective_run_restore(eb_objective_run *r, const eb_safetensors *file, const char *path,
                                          eb_error *err);
/* After eb_objective_run_new(…, eb_dist_seed(dist, seed), …) on every rank of a data-parallel run
 * (eb_train_params.dist): gives the method the context and the run's common seed, so what must be equal
 * on every rank is (Hopfield Boosting's frozen head and boosting draws, POEM's mining) and what can be split
 * is (its candidate scoring, eb_hopfield_boost_distribute). A no-op for one process and for the other
 * methods. */
EB_API eb_status eb_objective_run_distribute(eb_objective_run *r, const eb_dist *dist, uint64_t seed,
                                             eb_error *err);
/* Whether the objective trains on auxiliary outliers (oe, energy-ft, hopfield-boost, poem: --aux-data). */
EB_API bool eb_objective_uses_aux(const eb_objective_spec *s);
/* Before training (and before a resume restores the model): the auxiliary sampler's parameters into *ap
 * (batch size, order, the boosting weights callback; the caller sets the transforms and the seed) and
 * the method's setup on the model and data: id = the ID training set, aux = the pool (tabular: sets of
 * c = h = 1), norm = their mapping to input space (normalisation only), batches_per_epoch of the ID data.
 * EB_ERR_ARG for an objective without auxiliary data. */
EB_API eb_status eb_objective_run_aux_setup(eb_objective_run *r, eb_model *model, const eb_image_set *id,
                                            const eb_image_set *aux, const eb_image_transforms *norm,
                                            int64_t batches_per_epoch, eb_aux_params *ap, eb_error *err);
/* Before training (and before a resume restores the model), for every objective: the method's setup on the
 * ID training set (images: as loaded, norm = their mapping to input space; tabular: an f32 set of
 * c = h = 1 with labels, norm the identity), e.g. CIDER's prototypes from class means. EB_OK when the
 * method needs none. */
EB_API eb_status eb_objective_run_data_setup(eb_objective_run *r, eb_model *model, const eb_image_set *id,
                                             const eb_image_transforms *norm, eb_error *err);
/* Adds the method's fields to a JSON summary (a cJSON object); nothing for most methods. */
EB_API void eb_objective_run_summary(const eb_objective_run *r, void *cjson_object);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_OBJECTIVE_H */
