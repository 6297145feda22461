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
