/* HEAT's residual energy network E_θ (heat_energy_mlp.c), used by heat.c. */
#ifndef EBOOD_HEAT_IMPL_H
#define EBOOD_HEAT_IMPL_H

#include <ebood/nn.h>
#include <ebood/tensor.h>

#define EB__ENERGY_MLP_MAX_LAYERS 16

/* E_θ: R^in → R, an MLP on one flat parameter buffer (DESIGN.md §3.6):
 *   Linear(in, w) – LeakyReLU(0.2) – depth × [Linear(w, w) – LeakyReLU(0.2)] – Linear(w, 1)
 * (specs §5, 001_8dfeaa911d9afebd.txt A.5.1: in 512, w 1024, depth 4). tied = the released code's
 * ([layer, act] * n repeats ONE module): the depth hidden layers share one weight and bias.
 * Parameters, in buffer order, with PyTorch Sequential names: "layers.0.weight" [w, in],
 * "layers.0.bias" [w], "layers.2.weight" [w, w], … (tied: only "layers.2.*"), the output layer
 * "layers.<2·depth+2>.weight" [1, w] and ".bias" [1]. Initialised as torch.nn.Linear. */
typedef struct eb__energy_mlp {
    int64_t in_dim, width, depth;
    bool tied;
    eb_params params;
    int n_layers;                     /* Linear layers in forward order: depth + 2 */
    int w[EB__ENERGY_MLP_MAX_LAYERS]; /* parameter index of each layer's weight */
    int b[EB__ENERGY_MLP_MAX_LAYERS]; /* … and bias (tied layers repeat the same index) */
} eb__energy_mlp;

/* Registers and allocates the parameters (zero). EB_ERR_ARG for depth > 14, EB_ERR_NOMEM. */
eb_status eb__energy_mlp_init(eb__energy_mlp *m, int64_t in_dim, int64_t width, int64_t depth, bool tied,
                              eb_error *err);
/* PyTorch's default nn.Linear initialisation of every layer, in forward order. */
void eb__energy_mlp_reset(eb__energy_mlp *m, eb_rng *rng);
void eb__energy_mlp_free(eb__energy_mlp *m);
/* E_θ(z) of z[B, in] on the tape → [B]. Errors are sticky on g. */
eb_tensor *eb__energy_mlp_forward(eb__energy_mlp *m, eb_graph *g, eb_tensor *z);
/* out[i] = E_θ(z_i) for z[n, in], without gradients, in batches on a private graph. */
eb_status eb__energy_mlp_eval(eb__energy_mlp *m, const float *z, int64_t n, float *out, eb_error *err);

#endif
