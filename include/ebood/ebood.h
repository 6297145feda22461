/* ebood/ebood.h — the umbrella header: everything public. Layers, bottom to top:
 * base → tensor → nn (optim, safetensors), data → ood (ebm) → eval (DESIGN.md §1). */
#ifndef EBOOD_EBOOD_H
#define EBOOD_EBOOD_H

#include <ebood/base.h>
#include <ebood/tensor.h>
#include <ebood/optim.h>
#include <ebood/safetensors.h>
#include <ebood/batch.h>
#include <ebood/nn.h>
#include <ebood/data.h>
#include <ebood/ood.h>
#include <ebood/ebm.h>
#include <ebood/params.h>
#include <ebood/objective.h>
#include <ebood/hamos.h>
#include <ebood/outliers.h>
#include <ebood/eval.h>
#include <ebood/train.h>
#include <ebood/suites.h>
#include <ebood/plot.h>
#include <ebood/report.h>

#endif
