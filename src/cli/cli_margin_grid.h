/* energy-ft's margin selection as 003_77034dadf9bef685.txt §4 does it ("Training details": m_in and m_out
 * chosen from a grid by the FPR95 on a validation set): `ebood train --objective energy-ft --m-in grid
 * --m-out grid [--margin-grid paper|auto|LIST:LIST]`. Each pair m_in < m_out of the grid fine-tunes the
 * starting model with the run's own settings (data, seed, optimiser, schedule, sampler); the validation set
 * is the ID validation split (positives) against a held-out slice of the AUX pool (negatives), never test
 * OOD data; the score is the energy score −E and the pair with the lowest FPR95 (the papers' code,
 * eb_fpr95_hendrycks) wins, ties broken by the higher AUROC, then by the grid order. The run then trains
 * from the same start with the chosen numbers (so its checkpoint is what a run given them would write).
 * Also the auxiliary sampler's setup shared with the ordinary run. */
#ifndef EBOOD_CLI_MARGIN_GRID_H
#define EBOOD_CLI_MARGIN_GRID_H

#include "cli/cli_impl.h"

#include <ebood/objective.h>

/* The objective asks for the search (--m-in grid). */
bool cli_margins_grid(const eb_objective_spec *spec);

/* Holds out a random slice of the pool for validation: *val = min(⌊n/10⌋, 5000) rows (at least 1) drawn
 * with seed, *pool = the other rows (replaced in place). EB_ERR_ARG when the pool has fewer than 2 rows. */
eb_status cli_aux_holdout(eb_image_set *pool, uint64_t seed, eb_image_set *val, eb_error *err);

/* The run's auxiliary sampler: the method's setup (eb_objective_run_aux_setup) on model, id and pool with
 * norm (normalisation only), the ID augmentation (images; NULL for tabular rows), the seed's stream. */
eb_status cli_aux_sampler_setup(eb_objective_run *obj, eb_model *model, const eb_image_set *id,
                                const eb_image_set *pool, const eb_image_transforms *norm,
                                const eb_image_transforms *augment, int64_t per_epoch, uint64_t seed,
                                eb_aux_sampler **out, eb_error *err);

typedef struct cli_margin_search {
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
    bool quiet;
} cli_margin_search;

/* Runs the search and writes the chosen m_in, m_out into spec; appends one object per pair tried
 * ({m_in, m_out, val_fpr95, val_auroc, chosen}) to results (a cJSON array, may be NULL). */
eb_status cli_margin_search_run(const cli_margin_search *s, eb_objective_spec *spec, void *results,
                                eb_error *err);

#endif
