/* Helpers shared by the objectives that train on [ID rows; auxiliary rows] (include/ebood/outliers.h). */
#ifndef EBOOD_OUTLIERS_IMPL_H
#define EBOOD_OUTLIERS_IMPL_H

#include "ood/objectives/objective_impl.h"

#include <ebood/outliers.h>

#include <stddef.h>

/* The registry row of --aux-batch-size, shared by oe, energy-ft and hopfield-boost (same flag and help). */
#define EB__AUX_BATCH_ROW(type_, field_)                                                                     \
    {                                                                                                        \
        "aux_batch_size", "aux-batch-size", EB_PARAM_TYPE_I64, offsetof(type_, field_), 1, 1e6, false,       \
            false, NULL, "N", "auxiliary outliers per step, appended to the ID batch (one forward pass)"     \
    }

/* energy-ft's margins, shared by poem: the symbols "auto" (the start's mean energies) and "grid" (ebood
 * train's margin search sets numbers before the run), the rows of --energy-lambda, --m-in, --m-out for an
 * eb_energy_ft_config field, its check, and the setup that resolves "auto" (and refuses an unresolved
 * "grid") on the model being trained. */
#define EB__MARGIN_AUTO 1e9 /* exact in float */
#define EB__MARGIN_GRID 2e9
extern const eb_param_symbol eb__margin_symbols[];
#define EB__ENERGY_ROWS(type_, field_)                                                                       \
    {"lambda",                                                                                               \
     "energy-lambda",                                                                                        \
     EB_PARAM_TYPE_F32,                                                                                      \
     offsetof(type_, field_.lambda),                                                                         \
     0,                                                                                                      \
     1e6,                                                                                                    \
     false,                                                                                                  \
     false,                                                                                                  \
     NULL,                                                                                                   \
     "W",                                                                                                    \
     "energy-ft, poem: weight of the two squared hinges on the energy"},                                     \
        {"m_in",                                                                                             \
         "m-in",                                                                                             \
         EB_PARAM_TYPE_F32,                                                                                  \
         offsetof(type_, field_.m_in),                                                                       \
         -1e4,                                                                                               \
         1e4,                                                                                                \
         false,                                                                                              \
         false,                                                                                              \
         eb__margin_symbols,                                                                                 \
         "E",                                                                                                \
         "energy-ft, poem: ID energies above m_in are penalised (E = -logsumexp f; auto: the model's mean "  \
         "ID "                                                                                               \
         "energy; grid: chosen by --margin-grid on validation data)"},                                       \
    {                                                                                                        \
        "m_out", "m-out", EB_PARAM_TYPE_F32, offsetof(type_, field_.m_out), -1e4, 1e4, false, false,         \
            eb__margin_symbols, "E",                                                                         \
            "energy-ft, poem: outlier energies below m_out are penalised (auto: the mean AUX energy)"        \
    }
eb_status eb__energy_margins_check(const eb_energy_ft_config *c, eb_error *err);
eb_status eb__energy_margins_setup(const char *who, eb_energy_ft_config *c, eb_model *model,
                                   const eb_image_set *id, const eb_image_set *aux,
                                   const eb_image_transforms *norm, eb_error *err);

/* Rows [begin, begin + n) of x (axis 0) on the tape. */
eb_tensor *eb__rows(eb_graph *g, eb_tensor *x, int64_t begin, int64_t n);

/* The common start of an outlier objective: checks the batch has labels and auxiliary rows (else records
 * an EB_ERR_ARG naming `who` on g and returns false), and splits logits [size + n_aux, C] into the ID
 * rows' mean cross-entropy *ce and the auxiliary rows *aux_logits; counts the correct ID rows. */
bool eb__outlier_split(eb_graph *g, const char *who, eb_tensor *logits, const eb_batch *batch, eb_tensor **ce,
                       eb_tensor **aux_logits, int64_t *n_correct);

/* logits[n, C] and/or features[n, F] (either may be NULL) of rows[0..n) of `set` mapped to input space by
 * t (normalisation only), in eval mode, in chunks. */
eb_status eb__predict_set_rows(eb_model *m, const eb_image_set *set, const int64_t *rows, int64_t n,
                               const eb_image_transforms *t, float *logits, float *features, eb_error *err);

#endif
