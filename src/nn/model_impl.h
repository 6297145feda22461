/* Internals shared by the model files: the architecture vtable and the layer helpers that every
 * architecture builds from (src/nn/layers.c). */
#ifndef EBOOD_MODEL_IMPL_H
#define EBOOD_MODEL_IMPL_H

#include <ebood/nn.h>

/* One per architecture file (mlp.c, small_cnn.c, resnet.c, wrn.c, radial_flow.c). */
typedef struct eb__model_arch {
    const char *name; /* "ebood.model" in checkpoints */
    eb_model_kind kind;
    /* Registers parameters and buffers (names + shapes) and fills m->layers; called before allocation. */
    eb_status (*build)(eb_model *m, eb_error *err);
    /* Initialises the allocated parameters/buffers as PyTorch (or the paper's code) would. */
    void (*init)(eb_model *m, eb_rng *rng);
    /* x[N, in_dim] → logits [N, out_dim]; *features = penultimate activations [N, feature_dim]. */
    eb_tensor *(*forward)(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                          eb_tensor **features);
    int64_t (*feature_dim)(const eb_model *m);
} eb__model_arch;

extern const eb__model_arch eb__arch_mlp, eb__arch_small_cnn, eb__arch_resnet, eb__arch_wrn,
    eb__arch_radial_flow, eb__arch_wrn_ebm;

/* ---- layers: views into the model's flat buffers ------------------------------------------------- */
typedef struct eb__linear {
    int w, b; /* parameter indices (b = -1: no bias) */
} eb__linear;
typedef struct eb__conv {
    int w, b; /* b = -1: no bias */
    eb_conv2d_params p;
} eb__conv;
typedef struct eb__bn {
    int gamma, beta;               /* parameter indices */
    int running_mean, running_var; /* buffer indices */
} eb__bn;

/* Every architecture keeps its layers in one growing table so that forward code can refer to them by
 * index; m->layers owns it. */
typedef struct eb__layer {
    enum { EB__LINEAR, EB__CONV, EB__BN } type;
    union {
        eb__linear linear;
        eb__conv conv;
        eb__bn bn;
    } u;
} eb__layer;

typedef struct eb__layers {
    eb__layer *items;
    int count, cap;
} eb__layers;

/* Registration (build phase). Names follow PyTorch's state_dict ("layer1.0.conv1.weight"). Each returns
 * the new layer's index in m->layers, or -1 with err set. */
int eb__add_linear(eb_model *m, const char *name, int64_t in, int64_t out, bool bias, eb_error *err);
int eb__add_conv(eb_model *m, const char *name, int64_t in, int64_t out, int k, int stride, int pad,
                 bool bias, eb_error *err);
int eb__add_bn(eb_model *m, const char *name, int64_t channels, eb_error *err);

/* Initialisation. */
void eb__init_linear_default(eb_model *m, int layer, eb_rng *rng);   /* torch.nn.Linear */
void eb__init_conv_default(eb_model *m, int layer, eb_rng *rng);     /* torch.nn.Conv2d: U(±1/√fan_in) */
void eb__init_conv_kaiming_out(eb_model *m, int layer, eb_rng *rng); /* N(0, 2/(k·k·out)) (WRN code) */
/* torch.nn.init.xavier_uniform_(w, gain): U(±gain·√(6/(fan_in + fan_out))), fan = channels·k·k; bias 0. */
void eb__init_conv_xavier(eb_model *m, int layer, float gain, eb_rng *rng);
void eb__init_bn(eb_model *m, int layer); /* γ = 1, β = 0, running mean 0, running var 1 */

/* Forward helpers. */
eb_tensor *eb__linear_forward(eb_model *m, eb_graph *g, eb_tensor *x, int layer);
eb_tensor *eb__conv_forward(eb_model *m, eb_graph *g, eb_tensor *x, int layer);
eb_tensor *eb__bn_forward(eb_model *m, eb_graph *g, eb_tensor *x, int layer, bool train);
/* The same followed by ReLU, fused into the BatchNorm op (eb_batch_norm_params.relu: bitwise eb_relu's). */
eb_tensor *eb__bn_relu_forward(eb_model *m, eb_graph *g, eb_tensor *x, int layer, bool train);
/* x[N, in_dim] → [N, C, H, W] of the image config (records a shape error on g otherwise). */
eb_tensor *eb__image_input(eb_model *m, eb_graph *g, eb_tensor *x);
/* The `features` of an image model (eb_feature_pool) from its final map h[N, C, H, W] and its default
 * features `pooled` (the fc input: the mean-pooled [N, C] or the flattened map): `pooled` for
 * EB_FEATURE_POOL_MEAN, the unbiased spatial std of h [N, C] for EB_FEATURE_POOL_STD. */
eb_tensor *eb__image_features(const eb_model *m, eb_graph *g, eb_tensor *map, eb_tensor *pooled);

/* A zeroed model with the allocator set; NULL (and err filled) on OOM. */
eb_model *eb__model_alloc(eb_model_kind kind, const eb_allocator *a, eb_error *err);
/* build → allocate → init, shared by every constructor. */
eb_status eb__model_finish(eb_model *m, eb_rng *init_rng, eb_error *err);
const eb__model_arch *eb__model_arch_of(eb_model_kind kind);

#endif
