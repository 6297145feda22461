/* ebood/nn.h — models on one flat parameter buffer: layers, the MLP, checkpoints, the training loop.
 *
 * Every model keeps all its parameters in ONE float buffer (and its gradients in a mirror buffer),
 * so zero-grad, clipping, the optimizer step and checkpoint I/O are single loops over one array.
 * Layers are views (offset, shape) into that buffer, named as PyTorch names them
 * ("layers.0.weight"), so a checkpoint loads into the equivalent torch module by name. */
#ifndef EBOOD_NN_H
#define EBOOD_NN_H

#include <ebood/base.h>
#include <ebood/batch.h>
#include <ebood/dist.h>
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
/* Validates a kind and its parameter: a finite float for leaky_relu/elu, > 0 for softplus; param_given
 * must be false for the activations without a parameter. */
EB_API eb_status eb_activation_param_check(eb_activation a, float param, bool param_given, eb_error *err);

/* ---- models ---------------------------------------------------------------------------------------- */
#define EB_MLP_MAX_HIDDEN 16

typedef struct eb_mlp_config {
    int64_t in_dim;
    int64_t out_dim; /* classes (or 1 for a scalar energy) */
    int n_hidden;    /* hidden layers: in → hidden[0] → … → hidden[n−1] → out */
    int64_t hidden[EB_MLP_MAX_HIDDEN];
    eb_activation activation;
    float activation_param;
    float
        dropout; /* after the last hidden activation (on the penultimate features), training only; 0 = off */
} eb_mlp_config;

/* The EBM paper's tabular network (002_39b8670b82235277.txt; specs §4): in → 100×5 → out, LeakyReLU(0.01). */
EB_API eb_mlp_config eb_mlp_default_config(int64_t in_dim, int64_t out_dim);
EB_API eb_status eb_mlp_config_check(const eb_mlp_config *c, eb_error *err);

typedef enum eb_model_kind {
    EB_MODEL_MLP,         /* eb_mlp_config */
    EB_MODEL_SMALL_CNN,   /* conv32-bn-relu, conv64-bn-relu, maxpool2, conv128-bn-relu, maxpool2, fc */
    EB_MODEL_RESNET,      /* ResNet-18/34, CIFAR variant: 3×3 stem, no max-pool (OpenOOD's resnet18_32x32) */
    EB_MODEL_WRN,         /* WideResNet-depth-widen (Zagoruyko & Komodakis; the energy paper's wrn.py) */
    EB_MODEL_RADIAL_FLOW, /* eb_radial_flow_config: radial normalizing flow (src/nn/radial_flow.c) */
    EB_MODEL_WRN_EBM,     /* the EBM paper's WRN (no BN, LeakyReLU(0.2), biases; src/nn/wrn_ebm.c) */
} eb_model_kind;

/* ResNet's first layers. CIFAR: a 3×3 conv, stride 1, padding 1, BN, ReLU and no max-pool (OpenOOD's
 * resnet18_32x32). IMAGENET: torchvision's resnet18/34 — a 7×7 conv, stride 2, padding 3, BN, ReLU, then a
 * 3×3 max-pool, stride 2, padding 1 (a 224×224 input reaches layer1 as 56×56). */
typedef enum eb_resnet_stem {
    EB_RESNET_STEM_CIFAR = 0,
    EB_RESNET_STEM_IMAGENET = 1,
} eb_resnet_stem;

/* Image classifiers take rows of x[N, C·H·W] (NCHW images flattened) and view them as [N, C, H, W]. */
typedef struct eb_image_config {
    int64_t channels, height, width;
    int64_t num_classes;
    int depth;           /* resnet: 18 or 34; wrn, wrn_ebm: 6k + 4 (10, 16, 28, 40, …) */
    int widen;           /* wrn, wrn_ebm: widening factor k (2) */
    float dropout;       /* wrn, wrn_ebm: dropout between the convolutions of a block (0) */
    float bottleneck;    /* wrn_ebm: 1×1 bottleneck to this fraction of the channels after each group, in
                          * (0, 1]; 0 = none (002_… Table 7: 0.05, 0.1, 0.2) */
    eb_resnet_stem stem; /* resnet: CIFAR (default) or IMAGENET; the other kinds: CIFAR */
} eb_image_config;
EB_API eb_image_config eb_image_default_config(eb_model_kind kind, int64_t channels, int64_t height,
                                               int64_t width, int64_t num_classes);
EB_API eb_status eb_image_config_check(eb_model_kind kind, const eb_image_config *c, eb_error *err);
/* The EBM paper's flow baseline (002_39b8670b82235277.txt §4 and App. C; specs §4 "Radial-flow baseline"):
 * n_layers radial transforms (Rezende & Mohamed 2015, Eq. 14) applied to x, base N(0, I). Its forward
 * pass returns the exact log-likelihood log p(x) as a single "logit" [N, 1], so logsumexp of the output
 * (the energy score f(x), ebm.h) is log p(x); features = the final z [N, dim]. */
typedef struct eb_radial_flow_config {
    int64_t dim;  /* input dimension, ≥ 1 */
    int n_layers; /* radial layers, 1..EB_RADIAL_FLOW_MAX_LAYERS (default 20) */
} eb_radial_flow_config;
#define EB_RADIAL_FLOW_MAX_LAYERS 1024
EB_API eb_radial_flow_config eb_radial_flow_default_config(int64_t dim); /* 20 layers */
EB_API eb_status eb_radial_flow_config_check(const eb_radial_flow_config *c, eb_error *err);

/* "mlp", "small_cnn", "resnet", "wrn", "radial_flow", "wrn_ebm" */
EB_API const char *eb_model_kind_name(eb_model_kind kind);
EB_API eb_status eb_model_kind_parse(const char *name, eb_model_kind *out, eb_error *err);
/* true for the image architectures (eb_image_config): small_cnn, resnet, wrn, wrn_ebm */
EB_API bool eb_model_kind_is_image(eb_model_kind kind);

/* What an image model's `features` are (eb_model_forward, eb_model_predict). Both pool the same final
 * feature map h[N, C, H, W] (small_cnn: after the last max-pool; resnet: the last block's output; wrn:
 * after the final bn – relu; wrn_ebm: after the final lrelu), per (n, c) over its M = H·W positions:
 *   MEAN: (1/M) Σ_k h_k, the input of the final linear layer (small_cnn: the flattened map instead);
 *   STD:  √(Σ_k (h_k − μ)² / (M − 1)), the unbiased std (eb_spatial_std_pool; HEAT's "GMM-std").
 * The logits always come from the default path, whatever the setting. */
typedef enum eb_feature_pool {
    EB_FEATURE_POOL_MEAN, /* default */
    EB_FEATURE_POOL_STD,
} eb_feature_pool;

/* A classifier with logits and penultimate features. Owns its parameters (trained) and buffers (not
 * trained: BatchNorm running statistics), both flat. Not thread-safe. */
typedef struct eb_model {
    eb_model_kind kind;
    eb_params params;
    eb_params buffers;
    eb_mlp_config mlp;            /* kind == EB_MODEL_MLP */
    eb_image_config image;        /* the image kinds */
    eb_radial_flow_config flow;   /* kind == EB_MODEL_RADIAL_FLOW */
    void *layers;                 /* the architecture's layer table (internal) */
    eb_feature_pool feature_pool; /* runtime setting, not saved: EB_FEATURE_POOL_MEAN after new/load */
    /* Runtime, not saved (NULL after new/load): SyncBN for the BatchNorm layers in training mode
     * (eb_batch_norm_params.sync); the training loop sets it for eb_train_params.sync_bn. */
    const eb_bn_sync *bn_sync;
    /* Optional projection head on the penultimate features (eb_model_add_projection_head); 0 = none. */
    int64_t head_hidden, head_dim;
    int head_param; /* index of "head.0.weight" in params */
} eb_model;

/* A new MLP, initialised as PyTorch would (eb_linear_init, layer by layer, from init_rng). */
EB_API eb_status eb_mlp_new(const eb_mlp_config *c, eb_rng *init_rng, const eb_allocator *a, eb_model **out,
                            eb_error *err);
/* A new image classifier of `kind` (not EB_MODEL_MLP), initialised as PyTorch / the paper's code would. */
EB_API eb_status eb_image_model_new(eb_model_kind kind, const eb_image_config *c, eb_rng *init_rng,
                                    const eb_allocator *a, eb_model **out, eb_error *err);
/* A new radial flow; parameters "transforms.<i>.x0" [dim], "transforms.<i>.alpha_prime" [1],
 * "transforms.<i>.beta_prime" [1] (the names of the paper code's nn.ModuleList of pyro Radial layers),
 * each U(−1/√dim, 1/√dim) as pyro's Radial.reset_parameters. */
EB_API eb_status eb_radial_flow_new(const eb_radial_flow_config *c, eb_rng *init_rng, const eb_allocator *a,
                                    eb_model **out, eb_error *err);
EB_API void eb_model_free(eb_model *m);
EB_API int64_t eb_model_in_dim(const eb_model *m);
EB_API int64_t eb_model_out_dim(const eb_model *m);
/* The width of `features`: with EB_FEATURE_POOL_STD the final map's channel count C (small_cnn: 128,
 * resnet: 512, wrn and wrn_ebm: 64·widen); otherwise the penultimate layer's width. */
EB_API int64_t eb_model_feature_dim(const eb_model *m);
/* Chooses what the image models' `features` are (eb_feature_pool); logits are unaffected. MEAN (the
 * default) is accepted for every model; STD needs an image model (eb_model_kind_is_image; EB_ERR_ARG
 * for the others: an MLP or a radial flow has no spatial map) and a map of H·W ≥ 2 at forward time
 * (else the graph fails with EB_ERR_SHAPE). EB_ERR_ARG for an unknown value. Not saved in checkpoints. */
EB_API eb_status eb_model_set_feature_pool(eb_model *m, eb_feature_pool p, eb_error *err);

/* Forward pass of x[N, in_dim] → logits [N, out_dim]. If features != NULL it receives the
 * penultimate activations [N, feature_dim] (MLP: after the last hidden activation, before dropout;
 * CNNs: the input of the final linear layer, or the pooling m->feature_pool chooses). train enables dropout
 * (rng required then) and BatchNorm's batch statistics (updating the running statistics in m->buffers).
 * Errors are recorded on g (sticky). */
EB_API eb_tensor *eb_model_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                                   eb_tensor **features);

/* ---- projection head (004_6bc3f0c56840d9ea.txt §3.3, CIDER; specs §3 "Network") ------------------------
 * z = normalise(W₂·relu(W₁·h + b₁) + b₂): Linear(feature_dim → hidden)–ReLU–Linear(hidden → dim) on the
 * penultimate features h (eb_model_forward's `features`), L2-normalised onto the unit sphere S^{dim−1}.
 * The classifier head is kept: logits are unchanged. Parameters "head.0.weight" [hidden, feature_dim],
 * "head.0.bias", "head.2.weight" [dim, hidden], "head.2.bias" (PyTorch's nn.Sequential names), appended
 * after the model's own, initialised as torch.nn.Linear from rng. Checkpoints record the head in
 * "ebood.projection_head" ("hidden,dim") and eb_model_load restores it.
 * Errors: EB_ERR_STATE if the model already has a head; EB_ERR_ARG for hidden or dim outside
 * [1, 65536], or a model without features (radial_flow); EB_ERR_NOMEM (the model is unchanged then). */
EB_API eb_status eb_model_add_projection_head(eb_model *m, int64_t hidden, int64_t dim, eb_rng *rng,
                                              eb_error *err);
/* The head's output z [N, head_dim] on g for features [N, feature_dim] (a shape error on g if the model
 * has no head or the width differs). Gradients reach the head's parameters and the features. */
EB_API eb_tensor *eb_model_project(eb_model *m, eb_graph *g, eb_tensor *features);
/* The unit-norm embeddings z of n rows of x (eval mode, in batches, no gradients): out[n, head_dim].
 * EB_ERR_STATE if the model has no head; errors of eb_model_predict otherwise. */
EB_API eb_status eb_model_predict_embeddings(eb_model *m, const float *x, int64_t n, int64_t batch_size,
                                             float *out, eb_error *err);

/* Logits (and optionally features) of n rows of x, in batches, without gradients (eval mode).
 * Without a tape (eb_graph_defer / eb_graph_run): each batch's intermediates share one buffer reused by
 * liveness, so memory is the largest set of activations alive at once, not the whole forward; the values
 * are bitwise those of eb_model_forward(train = false) on the same batch.
 * logits: n·out_dim floats or NULL; features: n·feature_dim floats or NULL (not both NULL: EB_ERR_ARG).
 * Results can differ in the last
 * bit between batch sizes: OpenBLAS sums a GEMM's rows in an order that depends on the row count. */
EB_API eb_status eb_model_predict(eb_model *m, const float *x, int64_t n, int64_t batch_size, float *logits,
                                  float *features, eb_error *err);

/* The model's config as a JSON object string (malloc'd; free with free()). */
EB_API char *eb_model_config_json(const eb_model *m);

/* Checkpoint: safetensors with one F32 tensor per parameter and buffer (PyTorch names) and __metadata__
 * holding "ebood.format_version", "ebood.model" (kind), "ebood.config" (JSON), plus the caller's `extra`
 * entries (provenance: dataset, seed, steps, ...). Written atomically. */
EB_API eb_status eb_model_save(const eb_model *m, const char *path, const eb_st_meta *extra, int n_extra,
                               eb_error *err);
/* The same, with extra tensors stored beside the model's (e.g. "optimizer.state" for resuming). */
EB_API eb_status eb_model_save_with(const eb_model *m, const char *path, const eb_st_meta *extra, int n_extra,
                                    const eb_st_tensor *tensors, int n_tensors, eb_error *err);
/* Loads any checkpoint written by eb_model_save; the architecture comes from the metadata. Errors name
 * the file: unknown model kind, newer format version, missing tensor, shape mismatch. */
EB_API eb_status eb_model_load(const char *path, const eb_allocator *a, eb_model **out, eb_error *err);
/* Same, also returning the opened file so the caller can read its other metadata (free it). */
EB_API eb_status eb_model_load_with_file(const char *path, const eb_allocator *a, eb_model **out,
                                         eb_safetensors **file, eb_error *err);

/* ---- the training loop ------------------------------------------------------------------------ */
/* An objective maps a batch and the model to a scalar loss on the tape (DESIGN.md §1). It may also
 * report how many of the batch's samples it classified correctly (for progress), or -1.
 * With auxiliary outliers (eb_train_params.aux) the batch is ONE concatenation, ID rows first:
 * x = [x_id; x_aux] of size + n_aux rows, so the objective runs one forward pass over both and
 * BatchNorm sees one set of batch statistics (DESIGN.md §7, as the OE, energy and Hopfield Boosting
 * codes do). */
typedef struct eb_batch {
    eb_tensor *x;          /* [size + n_aux, dim] on the step's graph */
    const int32_t *labels; /* `size` labels of the ID rows, or NULL */
    int64_t size;          /* ID rows */
    int64_t n_aux;         /* auxiliary rows after them (0 without eb_train_params.aux) */
} eb_batch;
typedef eb_tensor *(*eb_objective_fn)(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                      int64_t *n_correct);

/* Where batches come from: eb_batch_source (ebood/batch.h). */

/* After every completed epoch and once at the end (e.g. to write a checkpoint); a non-OK status stops
 * training with it. */
typedef struct eb_train_epoch_info {
    int64_t epoch;         /* epochs completed so far (1 after the first) */
    int64_t step;          /* optimizer steps so far */
    double loss, accuracy; /* means over the epoch; accuracy -1 if the objective does not count */
    const eb_optimizer *optimizer;
    bool final; /* the last call of this run (training done, or stopped by stop_after_epochs); if the run
                   ended inside an epoch, `epoch` counts only the completed ones */
} eb_train_epoch_info;
typedef eb_status (*eb_epoch_end_fn)(void *ctx, eb_model *m, const eb_train_epoch_info *info, eb_error *err);

/* Resuming at an epoch boundary: what a checkpoint written by an eb_epoch_end_fn holds. */
typedef struct eb_train_resume {
    int64_t epoch;                /* epochs already completed */
    const float *optimizer_state; /* eb_optimizer_state_size floats (NULL if the optimizer has none) */
    int64_t optimizer_state_size;
    int64_t optimizer_step; /* eb_optimizer_step_count at that point */
} eb_train_resume;

typedef struct eb_train_params {
    int64_t steps;  /* optimizer steps; if 0, epochs·batches_per_epoch */
    int64_t epochs; /* used when steps == 0 */
    int64_t batch_size;
    bool drop_last; /* skip the last partial batch of each epoch (as the EBM paper's code) */
    eb_optimizer_params optimizer;
    eb_schedule schedule;  /* base_lr overrides optimizer.lr */
    double clip_grad_norm; /* 0 = off */
    uint64_t seed; /* shuffling (array sources) and dropout: epoch e uses streams derived from (seed, e) */
    bool progress; /* draw progress on a terminal */
    eb_epoch_end_fn on_epoch_end; /* optional */
    void *on_epoch_end_ctx;
    const eb_train_resume *resume; /* optional: continue from a checkpoint */
    int64_t stop_after_epochs;     /* > 0: end this run after that many epochs (resumable later); 0 = off */
    /* Optional auxiliary outliers: one batch of `aux` per step, appended after the ID rows (eb_batch);
     * its labels are ignored and its batches_per_epoch unused (the ID source sets the epoch). The loop
     * calls aux->seek_epoch(epoch) at the start of EVERY epoch (also the first and a resumed one), so the
     * source may restart at a new offset or redraw its rows there (eb_aux_sampler, data.h). dim must be
     * the ID source's. */
    const eb_batch_source *aux;
    /* Optional data parallelism (dist.h; NULL or one rank = the single-process loop, bitwise). Every rank
     * runs the same sources (same seeds) and keeps its share (eb_dist_share) of each global batch's ID
     * rows and of its auxiliary rows; it runs the objective on that share, scales its gradients by its
     * fraction of the global ID rows (the objectives' losses are means over the batch) and one
     * allreduce over the flat gradient buffer sums them, so every rank takes the same optimizer step.
     * Parameters and buffers start from rank 0's; buffers (BatchNorm running statistics, computed per
     * rank from its share, as PyTorch DDP) are broadcast from rank 0 after every step. Rank r > 0 draws
     * its dropout (and the objective's) randomness from streams of its own (unless common_rng). The loss and
     * accuracy reported are the global batch's. Every rank must call with the same settings; on_epoch_end
     * runs on every rank (write files on rank 0 only). */
    const eb_dist *dist;
    /* With dist over more than one rank: SyncBN (eb_bn_sync) — the model's BatchNorm layers normalise
     * with the statistics of the whole global batch (ID + auxiliary rows of every rank) and the backward
     * reduces through them, so with batch-mean losses N ranks give one process's step up to float
     * reassociation even with BatchNorm. Needs every rank to hold rows of every batch (batch size ≥
     * ranks: EB_ERR_ARG otherwise). Off (false): per-rank statistics, as PyTorch DDP's default. */
    bool sync_bn;
    /* With dist over more than one rank: every rank passes the objective (and dropout) the run's common
     * streams, rank 0's — one process's — instead of its own: for an objective that splits its per-row
     * randomness itself (HEAT's negatives: each rank draws the global batch's and keeps its rows), so that
     * N ranks draw what one process draws. Off: per-rank streams (eb_dist_seed). */
    bool common_rng;
} eb_train_params;
EB_API eb_train_params eb_train_default_params(void);

typedef struct eb_train_result {
    int64_t steps;         /* optimizer steps done (including those before a resume) */
    int64_t epochs;        /* epochs completed */
    double final_loss;     /* mean loss over the last epoch */
    double final_accuracy; /* training accuracy over the last epoch, or -1 */
    double seconds;
    int ranks; /* processes that trained together (eb_dist_size of eb_train_params.dist) */
} eb_train_result;

/* Trains m on the batches of `source` with the objective. Stops with EB_ERR_NUMERIC (message names
 * the step and the last finite loss) if the loss or a gradient becomes NaN/Inf; the model then holds
 * the parameters of the last finite step. */
EB_API eb_status eb_train_source(eb_model *m, const eb_batch_source *source, eb_objective_fn objective,
                                 void *objective_ctx, const eb_train_params *p, eb_train_result *result,
                                 eb_error *err);
/* The same on rows of x[n, dim] (+ labels), shuffled each epoch with a stream derived from (seed, epoch). */
EB_API eb_status eb_train(eb_model *m, const float *x, const int32_t *labels, int64_t n, int64_t dim,
                          eb_objective_fn objective, void *objective_ctx, const eb_train_params *p,
                          eb_train_result *result, eb_error *err);
/* The same loop on a flat parameter buffer that is not an eb_model (HEAT's residual energy network,
 * src/ood/detectors/heat.c): `params` is stepped, the source's dim must be in_dim, and the objective is
 * called with m = NULL (it finds its network through its ctx); on_epoch_end gets m = NULL too. */
EB_API eb_status eb_train_params_source(eb_params *params, int64_t in_dim, const eb_batch_source *source,
                                        eb_objective_fn objective, void *objective_ctx,
                                        const eb_train_params *p, eb_train_result *result, eb_error *err);
/* A batch source over rows x[n, dim] (+ labels, or NULL) in batches of min(batch, n), shuffled each epoch
 * from (seed, epoch) exactly as eb_train shuffles; drop_last skips each epoch's last partial batch. x and
 * labels must outlive it. EB_ERR_ARG for n < 1 or batch < 1, EB_ERR_NOMEM. Free with eb_row_source_free. */
EB_API eb_status eb_row_source_new(const float *x, const int32_t *labels, int64_t n, int64_t dim,
                                   int64_t batch, bool drop_last, uint64_t seed, eb_batch_source *out,
                                   eb_error *err);
EB_API void eb_row_source_free(eb_batch_source *s); /* NULL-safe; zeroes the struct */
/* The stream of purpose `purpose` for epoch `epoch` of a run seeded with `seed`. */
EB_API eb_rng eb_train_epoch_rng(uint64_t seed, int64_t epoch, uint64_t purpose);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_NN_H */
