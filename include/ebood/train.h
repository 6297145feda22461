/* One training run as one call: what `ebood train` runs (src/eval/train_spec.c, train_run.c,
 * train_checkpoint.c).
 *
 * The caller loads the data (training rows or images, their validation part, the auxiliary outlier pool)
 * and fills an eb_train_spec with the objective and the settings as given; every setting left unset takes
 * the training profile's value in ONE place, eb_train_spec_resolve: the generic tabular/image profile, then
 * the objective's (the EBM paper's App. B for cd/ssm/vera/flow, HamOS/CIDER's SGD on images, …), the
 * model the objective trains by default and its MLP activation, the checkpoint interval. eb_train_run then
 * builds the model (or adopts --init's), runs the objective's setups (energy-ft's margin search, the
 * auxiliary sampler, CIDER's prototypes), resumes from and writes the checkpoint (atomically, every
 * checkpoint_every epochs and at the end, with the training settings for an exact --resume) and reports.
 *
 * Use:  eb_train_spec s = eb_train_spec_default();  s.objective = …; s.settings.lr = 0.1; s.data = …;
 *       eb_train_outcome out;  eb_train_run(&s, &out, &err);  …  eb_train_outcome_free(&out); */
#ifndef EBOOD_TRAIN_H
#define EBOOD_TRAIN_H

#include <ebood/data.h>
#include <ebood/dist.h>
#include <ebood/nn.h>
#include <ebood/objective.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The loop's settings, one field per `ebood train` flag (the types are the flags'). Unset — −1 for the
 * counts, NAN for the reals, NULL for the names — takes the training profile's value; the others have
 * fixed defaults (eb_train_spec_default). Resolved, they are what the checkpoint records ("ebood.train_args")
 * and --resume compares. */
typedef struct eb_train_settings {
    const char *optimizer, *schedule; /* "sgd", "adam", "adamw"; "constant", "step", "cosine", "multistep" */
    const char *milestones;           /* multistep: fractions of the run ("0.5,0.75"); NULL = that */
    int64_t seed;                     /* initialisation, shuffling, dropout, augmentation (0) */
    int64_t split_seed;               /* the data's split (−1 = seed) */
    int64_t steps, epochs, batch, warmup, step_size;    /* profile */
    int64_t crop_padding;                               /* images (0) */
    double lr, wd, beta1, beta2, eps, gamma, noise_std; /* profile (noise_std: the images' input noise σ) */
    double momentum, min_lr, clip;                      /* 0.9, 0, 0 */
    bool nesterov, keep_last, hflip, resized_crop;
} eb_train_settings;

/* The model as given (ignored with an init model). */
typedef struct eb_train_model_args {
    const char *kind;                  /* eb_model_kind_parse name; NULL = the objective's default */
    int64_t depth;                     /* resnet/wrn/wrn_ebm depth; 0 = the kind's */
    int64_t widen;                     /* wrn, wrn_ebm; 0 = 2 */
    double dropout, bottleneck;        /* NAN = 0 */
    int64_t widths[EB_MLP_MAX_HIDDEN]; /* mlp hidden widths */
    int n_widths;                      /* 0 = 5 × 100 */
    const char *activation;            /* mlp, eb_activation_parse; NULL = the objective's */
} eb_train_model_args;

/* The loaded data. Exactly one of images / rows. */
typedef struct eb_train_data {
    const char *name;                                              /* as given (provenance: "ebood.data") */
    const eb_image_set *images;                                    /* training images, or NULL */
    const eb_image_set *images_val;                                /* their validation split (may be empty) */
    float mean[EB_IMAGE_MAX_CHANNELS], std[EB_IMAGE_MAX_CHANNELS]; /* images: the input normalisation */
    const eb_dataset *rows;         /* tabular training rows with labels, or NULL */
    const eb_dataset *rows_val;     /* their validation split (may be empty), or NULL */
    const eb_tabular_params *table; /* a .csv/.arff's split (provenance), or NULL */
    const char *recipe_json;        /* its eb_tabular_split_recipe_json, or NULL */
    const char *aux_name;           /* the auxiliary outliers as given, or NULL */
    eb_image_set *aux;              /* their pool (tabular: c = h = 1); may be split in place */
} eb_train_data;

/* A progress line for the user (the CLI prints "ebood train: LINE"). */
typedef void (*eb_train_note_fn)(void *ctx, const char *line);

typedef struct eb_train_spec {
    eb_objective_spec objective;
    eb_train_settings settings;
    eb_train_model_args model;
    eb_train_data data;
    eb_model *init;        /* start from this model (its architecture and weights); taken over by the run */
    const char *init_path; /* its file (provenance, messages) */
    const char *output;    /* the checkpoint */
    int64_t checkpoint_every; /* epochs between checkpoints; −1 = images 1, tabular 0 (only at the end) */
    int64_t stop_after;       /* end the run after this many epochs (0 = no) */
    const char *margin_grid;  /* energy-ft --m-in grid: the grid (NULL = "auto") */
    bool resume;              /* continue from the checkpoint at output if there is one */
    bool quiet;               /* no progress output, no notes */
    const eb_dist *dist;      /* data-parallel training (NULL = one process) */
    eb_train_note_fn note;    /* NULL = no notes */
    void *note_ctx;
} eb_train_spec;

/* Fixed defaults; every profile setting unset. */
EB_API eb_train_spec eb_train_spec_default(void);

/* The run's plan: the spec with the training profile applied. */
typedef struct eb_train_plan {
    eb_train_settings settings; /* every field set */
    eb_train_params train;      /* optimizer, schedule, loop (no hooks, no data-dependent schedule length
                                   when n_train is 0) */
    eb_model_kind kind;         /* the model trained (an init model's kind) */
    eb_mlp_config mlp;          /* kind mlp: widths, activation, dropout (in/out dims unset) */
    int64_t checkpoint_every;
    int64_t batches_per_epoch; /* 0 when n_train is 0 */
    bool margin_search;        /* energy-ft's --m-in grid */
    const char *margin_grid;   /* its grid */
} eb_train_plan;

/* Resolves s for training on images (or rows) with n_train training samples (0: not known yet — the
 * settings that depend on the batches per epoch, the step schedule's epoch-level step size and the
 * schedule's length, are then provisional). EB_ERR_ARG with one line naming the flag for settings that do
 * not fit together: a flag the objective or model does not read, --steps 0 without --epochs, an unknown
 * model/optimizer/schedule/activation, a model that does not fit the data or the objective, …. */
EB_API eb_status eb_train_spec_resolve(const eb_train_spec *s, bool images, int64_t n_train,
                                       eb_train_plan *out, eb_error *err);

typedef struct eb_train_outcome {
    eb_train_result result;
    eb_model_kind kind;
    char objective[32]; /* the objective trained (a sibling it resolved to: cd-s) */
    double val_acc;     /* on the validation split (−1: none, or a one-output model) */
    bool resumed;       /* continued from the checkpoint */
    void *summary;      /* a cJSON object: the method's summary fields, energy-ft's margin_grid trials */
} eb_train_outcome;

/* Resolves the spec with the data's size (eb_train_spec_resolve), trains, checkpoints, and measures the
 * validation accuracy. s->init is freed (also on error); the caller frees the data. Errors: the resolve's,
 * the model's, the data's (shapes), --resume's (a checkpoint of another model or other settings),
 * training's (divergence), I/O. */
EB_API eb_status eb_train_run(eb_train_spec *s, eb_train_outcome *out, eb_error *err);
/* Adds out->summary's fields to a cJSON object. */
EB_API void eb_train_outcome_summary(const eb_train_outcome *o, void *cjson_object);
EB_API void eb_train_outcome_free(eb_train_outcome *o);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_TRAIN_H */
