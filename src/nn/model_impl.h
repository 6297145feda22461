/* Internals shared by the model files (src/nn/model.c and one file per architecture). */
#ifndef EBOOD_MODEL_IMPL_H
#define EBOOD_MODEL_IMPL_H

#include <ebood/nn.h>

/* A zeroed model of `kind` with the allocator set; NULL (and err filled) on OOM. */
eb_model *eb__model_alloc(eb_model_kind kind, const eb_allocator *a, eb_error *err);

eb_tensor *eb__mlp_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                           eb_tensor **features);
int64_t eb__mlp_feature_dim(const eb_mlp_config *c);

#endif
