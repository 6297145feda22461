/* ebood/nn.h — models on one flat parameter buffer: layers, the MLP, checkpoints, the training loop.
 *
 * Every model keeps all its parameters in ONE float buffer (and its gradients in a mirror buffer),
 * so zero-grad, clipping, the optimizer step and checkpoint I/O are single loops over one array.
 * Layers are views (offset, shape) into that buffer, named as PyTorch names them
 * ("layers.0.weight"), so a checkpoint loads into the equivalent torch module by name. */
#ifndef EBOOD_NN_H
#define EBOOD_NN_H

#include <ebood/base.h>
#include <ebood/optim.h>
#include <ebood/safetensors.h>
#include <ebood/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Checkpoint format version written in __metadata__["ebood.format_version"]; readers refuse newer. */
#define EB_CHECKPOINT_FORMAT_VERSION 1

/* ---- the flat parameter buffer -------------------------------------------------------------------- */
typedef struct eb_param_info {
    char name[64]; /* PyTorch-style name, e.g. "layers.2.bias" */
    int ndim;
    int64_t shape[EB_MAX_DIMS];
    int64_t offset; /* into eb_params.data / .grad */
    int64_t size;
} eb_param_info;

typedef struct eb_params {
    float *data; /* all parameters, `size` floats */
    float *grad; /* their gradients, same layout */
    int64_t size;
    eb_param_info *info; /* `count` entries in registration order */
    int count;
    eb_allocator allocator;
} eb_params;

/* Registers the layout (names + shapes) first, then allocates both buffers at once. */
EB_API eb_status eb_params_add(eb_params *p, const char *name, int ndim, const int64_t *shape, eb_error *err);
EB_API eb_status eb_params_alloc(eb_params *p, eb_error *err); /* zero-filled data and grad */
EB_API void eb_params_free(eb_params *p);
EB_API void eb_params_zero_grad(eb_params *p);
/* The i-th parameter as a graph leaf whose gradient accumulates into p->grad. */
EB_API eb_tensor *eb_params_tensor(eb_params *p, eb_graph *g, int i);
/* Global L2 norm of the gradient; if max_norm > 0 and the norm exceeds it, scales grads down. */
EB_API double eb_params_clip_grad_norm(eb_params *p, double max_norm);

/* PyTorch's nn.Linear initialisation: weight and bias ~ U(−1/√fan_in, 1/√fan_in)
 * (kaiming_uniform with a = √5 reduces to this bound for the weight). w is [out, in]. */
EB_API void eb_linear_init(float *w, float *b, int64_t out_dim, int64_t in_dim, eb_rng *rng);

/* ---- activations ---------------------------------------------------------------------------------- */
typedef enum eb_activation {
    EB_ACT_RELU,
    EB_ACT_LEAKY_RELU, /* param: negative slope (default 0.01) */
    EB_ACT_ELU,        /* param: alpha (default 1) */
    EB_ACT_SOFTPLUS,   /* param: beta (default 1) */
    EB_ACT_TANH,
    EB_ACT_SIGMOID,
    EB_ACT_SWISH,
} eb_activation;
EB_API const char *eb_activation_name(eb_activation a);
/* Parses "relu", "leaky_relu", "leaky_relu:0.2", "elu:1.0", "softplus", "tanh", "sigmoid", "swish";
 * *param gets the value after ':' or the activation's default. */
EB_API eb_status eb_activation_parse(const char *s, eb_activation *out, float *param, eb_error *err);
EB_API eb_tensor *eb_activation_apply(eb_graph *g, eb_tensor *x, eb_activation a, float param);

/* ---- models ---------------------------------------------------------------------------------------- */
#define EB_MLP_MAX_HIDDEN 16

typedef struct eb_mlp_config {
    int64_t in_dim;
    int64_t out_dim; /* classes (or 1 for a scalar energy) */
    int n_hidden;    /* hidden layers: in → hidden[0] → … → hidden[n−1] → out */
    int64_t hidden[EB_MLP_MAX_HIDDEN];
    eb_activation activation;
    float activation_param;
    float dropout; /* after each hidden activation, training only; 0 = off */
} eb_mlp_config;

/* The EBM paper's tabular network (002_39b8670b82235277.txt; specs §4): in → 100×5 → out, LeakyReLU(0.01). */
EB_API eb_mlp_config eb_mlp_default_config(int64_t in_dim, int64_t out_dim);
EB_API eb_status eb_mlp_config_check(const eb_mlp_config *c, eb_error *err);

typedef enum eb_model_kind { EB_MODEL_MLP } eb_model_kind;

/* A classifier with logits and penultimate features. Owns its parameters. Not thread-safe. */
typedef struct eb_model {
    eb_model_kind kind;
    eb_params params;
    eb_mlp_config mlp; /* kind == EB_MODEL_MLP */
} eb_model;

/* A new MLP, initialised as PyTorch would (eb_linear_init, layer by layer, from init_rng). */
EB_API eb_status eb_mlp_new(const eb_mlp_config *c, eb_rng *init_rng, const eb_allocator *a, eb_model **out,
                            eb_error *err);
EB_API void eb_model_free(eb_model *m);
EB_API int64_t eb_model_in_dim(const eb_model *m);
EB_API int64_t eb_model_out_dim(const eb_model *m);
EB_API int64_t eb_model_feature_dim(const eb_model *m);

/* Forward pass of x[N, in_dim] → logits [N, out_dim]. If features != NULL it receives the
 * penultimate activations [N, feature_dim] (after the last hidden activation, before dropout).
 * train enables dropout (rng required then). Errors are recorded on g (sticky). */
EB_API eb_tensor *eb_model_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                                   eb_tensor **features);

/* Logits (and optionally features) of n rows of x, in batches, without gradients.
 * logits: n·out_dim floats; features: n·feature_dim floats or NULL. */
EB_API eb_status eb_model_predict(eb_model *m, const float *x, int64_t n, int64_t batch_size, float *logits,
                                  float *features, eb_error *err);

/* The model's config as a JSON object string (malloc'd; free with free()). */
EB_API char *eb_model_config_json(const eb_model *m);

/* Checkpoint: safetensors with one F32 tensor per parameter (PyTorch names) and __metadata__ holding
 * "ebood.format_version", "ebood.model" (kind), "ebood.config" (JSON), plus the caller's `extra`
 * entries (provenance: dataset, seed, steps, ...). Written atomically. */
EB_API eb_status eb_model_save(const eb_model *m, const char *path, const eb_st_meta *extra, int n_extra,
                               eb_error *err);
/* Loads any checkpoint written by eb_model_save; the architecture comes from the metadata. Errors name
 * the file: unknown model kind, newer format version, missing tensor, shape mismatch. */
EB_API eb_status eb_model_load(const char *path, const eb_allocator *a, eb_model **out, eb_error *err);
/* Same, also returning the opened file so the caller can read its other metadata (free it). */
EB_API eb_status eb_model_load_with_file(const char *path, const eb_allocator *a, eb_model **out,
                                         eb_safetensors **file, eb_error *err);

/* ---- the training loop ------------------------------------------------------------------------ */
/* An objective maps a batch and the model to a scalar loss on the tape (DESIGN.md §1). It may also
 * report how many of the batch's samples it classified correctly (for progress), or -1. */
typedef struct eb_batch {
    eb_tensor *x;          /* [B, dim] on the step's graph */
    const int32_t *labels; /* B labels or NULL */
    int64_t size;
} eb_batch;
typedef eb_tensor *(*eb_objective_fn)(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                      int64_t *n_correct);

typedef struct eb_train_params {
    int64_t steps;  /* optimizer steps; if 0, epochs·⌊n/batch⌋ */
    int64_t epochs; /* used when steps == 0 */
    int64_t batch_size;
    bool drop_last; /* skip the last partial batch of each epoch (as the EBM paper's code) */
    eb_optimizer_params optimizer;
    eb_schedule schedule;  /* base_lr overrides optimizer.lr */
    double clip_grad_norm; /* 0 = off */
    uint64_t seed;         /* shuffling and dropout */
    bool progress;         /* draw progress on a terminal */
} eb_train_params;
EB_API eb_train_params eb_train_default_params(void);

typedef struct eb_train_result {
    int64_t steps, epochs;
    double final_loss;     /* mean loss over the last epoch */
    double final_accuracy; /* training accuracy over the last epoch, or -1 */
    double seconds;
} eb_train_result;

/* Trains m on rows of x[n, dim] (+ labels) with the objective. Stops with EB_ERR_NUMERIC (message
 * names the step and the last finite loss) if the loss or a gradient becomes NaN/Inf. */
EB_API eb_status eb_train(eb_model *m, const float *x, const int32_t *labels, int64_t n, int64_t dim,
                          eb_objective_fn objective, void *objective_ctx, const eb_train_params *p,
                          eb_train_result *result, eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_NN_H */
