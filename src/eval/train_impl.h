/* Internal pieces of eb_train_run (include/ebood/train.h): the checkpoint (train_checkpoint.c) and
 * energy-ft's margin search with the auxiliary sampler's setup (train_margins.c). */
#ifndef EBOOD_TRAIN_IMPL_H
#define EBOOD_TRAIN_IMPL_H

#include <ebood/ebood.h>
#include <ebood/train.h>

/* ---- checkpoints (train_checkpoint.c) ----------------------------------------------------------------- */
/* Everything a run depends on besides the model config, as a JSON object string (malloc'd): stored in the
 * checkpoint as "ebood.train_args" so that --resume can refuse a checkpoint made with other settings. */
char *eb__train_args_json(const eb_train_spec *s, const eb_train_plan *plan, const char *objective_json);

typedef struct eb__checkpoint {
    const char *path;
    const eb_st_meta *meta; /* run metadata; the epoch entries are added per save */
    int n_meta;
    int64_t every;               /* epochs between checkpoints (0 = only at the end) */
    eb_objective_run *objective; /* its epoch-end hook runs, and its state (a replay buffer) is saved too */
    const eb_schedule *schedule;
    void *log; /* cJSON array: per epoch {epoch, step, loss, accuracy (if counted), lr}: "ebood.train_log" */
    bool writes; /* rank 0 (or the only process) writes the checkpoint */
} eb__checkpoint;

/* The eb_epoch_end_fn of a run (ctx: an eb__checkpoint): the objective's epoch-end work, the log entry,
 * the checkpoint every `every` epochs and at the end. */
eb_status eb__checkpoint_on_epoch_end(void *ctx, eb_model *m, const eb_train_epoch_info *info, eb_error *err);

/* Loads --resume state from an existing checkpoint; *resumed = false if there is none. The model's config
 * and the training settings must be the checkpoint's; the objective's state (if any) is restored, and the
 * checkpoint's log up to the resumed epoch is appended to c->log. */
eb_status eb__checkpoint_resume(eb__checkpoint *c, eb_model *m, const char *args_json, eb_train_resume *r,
                                float **state, bool *resumed, eb_error *err);

/* ---- energy-ft's margin search (train_margins.c) ------------------------------------------------------
 * 003_77034dadf9bef685.txt §4 ("Training details": m_in and m_out chosen from a grid by the FPR95 on a
 * validation set): `ebood train --objective energy-ft --m-in grid --m-out grid [--margin-grid
 * paper|auto|LIST:LIST]`. Each pair m_in < m_out of the grid fine-tunes the starting model with the run's
 * own settings (data, seed, optimiser, schedule, sampler); the validation set is the ID validation split
 * (positives) against a held-out slice of the AUX pool (negatives), never test OOD data; the score is the
 * energy score −E and the pair with the lowest FPR95 (the papers' code, eb_fpr95_hendrycks) wins, ties
 * broken by the higher AUROC, then by the grid order. The run then trains from the same start with the
 * chosen numbers (so its checkpoint is what a run given them would write). */

/* The objective asks for the search (--m-in grid). */
bool eb__margins_grid(const eb_objective_spec *spec);

/* Holds out a random slice of the pool for validation: *val = min(⌊n/10⌋, 5000) rows (at least 1) drawn
 * with seed, *pool = the other rows (replaced in place). EB_ERR_ARG when the pool has fewer than 2 rows. */
eb_status eb__aux_holdout(eb_image_set *pool, uint64_t seed, eb_image_set *val, eb_error *err);

/* The run's auxiliary sampler: the method's setup (eb_objective_run_aux_setup) on model, id and pool with
 * norm (normalisation only), the ID augmentation (images; NULL for tabular rows), the seed's stream. */
eb_status eb__aux_sampler_setup(eb_objective_run *obj, eb_model *model, const eb_image_set *id,
                                const eb_image_set *pool, const eb_image_transforms *norm,
                                const eb_image_transforms *augment, int64_t per_epoch, uint64_t seed,
                                eb_aux_sampler **out, eb_error *err);

typedef struct eb__margin_search {
    const char *grid;       /* --margin-grid: paper, auto or M_IN,..:M_OUT,.. */
    eb_model *model;        /* the starting point; restored after the search */
    eb_train_params tp;     /* the run's training parameters (schedule sized; no hooks, no resume) */
    const eb_image_set *id; /* the ID training rows (images, or tabular rows as a c = h = 1 view) */
    const eb_image_loader_params *loader; /* images: the run's loader (a fresh one per pair); NULL tabular */
    const int32_t *labels;                /* tabular: the ID labels */
    const eb_image_set *id_val, *aux_pool, *aux_val;
    eb_image_transforms norm; /* normalisation only */
    const eb_image_transforms *augment;
    int64_t per_epoch;
    uint64_t seed;
    eb_train_note_fn note; /* NULL = quiet */
    void *note_ctx;
} eb__margin_search;

/* Runs the search and writes the chosen m_in, m_out into spec; appends one object per pair tried
 * ({m_in, m_out, val_fpr95, val_auroc, chosen}) to results (a cJSON array, may be NULL). */
eb_status eb__margin_search_run(const eb__margin_search *s, eb_objective_spec *spec, void *results,
                                eb_error *err);

#endif
