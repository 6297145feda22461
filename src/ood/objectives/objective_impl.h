/* Helpers shared by the training objectives (src/ood/objectives/). */
#ifndef EBOOD_OBJECTIVE_IMPL_H
#define EBOOD_OBJECTIVE_IMPL_H

#include <ebood/tensor.h>

/* How many of the first n rows of logits[·, c] have their largest logit (the first on ties) at the label. */
int64_t eb__count_correct(const eb_tensor *logits, const int32_t *labels, int64_t n);

#endif
