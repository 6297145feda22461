/* The registry rows of `ebood train --objective cider` and `--objective hamos` (objective_impl.h): their
 * parameter rows over eb_hamos_params (include/ebood/hamos.h; the loss is hamos.c's), the projection head
 * added to the built or --init model, the prototypes initialised from class means of the ID training set
 * (CIDER's code: its class means over a 1,000-image subset; here ≤ 1,000 evenly spaced training rows, in
 * eval mode), the prototypes as the resume state, and the mean acceptance rate and synthesis time in the
 * JSON summary (004_6bc3f0c56840d9ea.txt §3, Alg. 2, Table 4; specs §3). */
#include "ood/objectives/cider_impl.h"
#include "ood/objectives/objective_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HP(field_) offsetof(eb_hamos_params, field_)

static void cider_defaults(void *p) {
    eb_hamos_params *h = p;
    *h = eb_hamos_default_params(false);
    h->head_hidden =
        512; /* the paper's 512 → 512 → 128 (0 = the feature width: 6272² weights on small_cnn) */
}

static void hamos_defaults(void *p) {
    eb_hamos_params *h = p;
    *h = eb_hamos_default_params(true);
    h->head_hidden = 512;
}

static void hamos_code(void *p) { eb_hamos_use_code(p); }

static eb_status hamos_check(const void *p, eb_error *err) { return eb_hamos_params_check(p, err); }

static const eb_param_symbol sampler_names[] = {
    {"hmc", EB_SPHERE_HMC}, {"rw", EB_SPHERE_RANDOM_WALK}, {"mala", EB_SPHERE_MALA}, {NULL, 0}};
static const eb_param_symbol synthesis_names[] = {
    {"hamos", EB_SYNTH_HAMOS}, {"vos", EB_SYNTH_VOS}, {"npos", EB_SYNTH_NPOS}, {NULL, 0}};
static const eb_param_symbol kde_names[] = {
    {"paper", EB_VMF_KDE_PAPER}, {"code", EB_VMF_KDE_CODE}, {NULL, 0}};

/* Rows read by both objectives (the first N_SHARED of hamos_rows). */
#define SHARED_ROWS                                                                                          \
    {"head_dim",                                                                                             \
     "head-dim",                                                                                             \
     EB_PARAM_TYPE_I64,                                                                                      \
     HP(head_dim),                                                                                           \
     1,                                                                                                      \
     65536,                                                                                                  \
     false,                                                                                                  \
     false,                                                                                                  \
     NULL,                                                                                                   \
     "D",                                                                                                    \
     "width of the projection head's unit embeddings"},                                                      \
        {"head_hidden",                                                                                      \
         "head-hidden",                                                                                      \
         EB_PARAM_TYPE_I64,                                                                                  \
         HP(head_hidden),                                                                                    \
         0,                                                                                                  \
         65536,                                                                                              \
         false,                                                                                              \
         false,                                                                                              \
         NULL,                                                                                               \
         "H",                                                                                                \
         "hidden width of the projection head (0 = the backbone's feature width)"},                          \
        {"temperature",                                                                                      \
         "cider-temperature",                                                                                \
         EB_PARAM_TYPE_F32,                                                                                  \
         HP(temperature),                                                                                    \
         0,                                                                                                  \
         100,                                                                                                \
         true,                                                                                               \
         false,                                                                                              \
         NULL,                                                                                               \
         "T",                                                                                                \
         "temperature tau of the compactness, dispersion and OOD losses"},                                   \
        {"base_temperature",                                                                                 \
         "cider-base-temperature",                                                                           \
         EB_PARAM_TYPE_F32,                                                                                  \
         HP(base_temperature),                                                                               \
         0,                                                                                                  \
         100,                                                                                                \
         true,                                                                                               \
         false,                                                                                              \
         NULL,                                                                                               \
         "T",                                                                                                \
         "base temperature tau_b (the losses are scaled by tau/tau_b)"},                                     \
        {"proto_momentum",                                                                                   \
         "proto-momentum",                                                                                   \
         EB_PARAM_TYPE_F32,                                                                                  \
         HP(proto_momentum),                                                                                 \
         0,                                                                                                  \
         0.9999999,                                                                                          \
         false,                                                                                              \
         false,                                                                                              \
         NULL,                                                                                               \
         "A",                                                                                                \
         "EMA momentum alpha of the class prototypes (sample by sample)"},                                   \
        {"ce_weight",                                                                                        \
         "cider-ce-weight",                                                                                  \
         EB_PARAM_TYPE_F32,                                                                                  \
         HP(ce_weight),                                                                                      \
         0,                                                                                                  \
         1e6,                                                                                                \
         false,                                                                                              \
         false,                                                                                              \
         NULL,                                                                                               \
         "W",                                                                                                \
         "weight of the classifier head's cross-entropy"},                                                   \
        {"comp_weight",                                                                                      \
         "comp-weight",                                                                                      \
         EB_PARAM_TYPE_F32,                                                                                  \
         HP(comp_weight),                                                                                    \
         0,                                                                                                  \
         1e6,                                                                                                \
         false,                                                                                              \
         false,                                                                                              \
         NULL,                                                                                               \
         "W",                                                                                                \
         "weight of the compactness loss"},                                                                  \
        {"dis_weight",                                                                                       \
         "dis-weight",                                                                                       \
         EB_PARAM_TYPE_F32,                                                                                  \
         HP(dis_weight),                                                                                     \
         0,                                                                                                  \
         1e6,                                                                                                \
         false,                                                                                              \
         false,                                                                                              \
         NULL,                                                                                               \
         "W",                                                                                                \
         "weight of the dispersion loss"},                                                                   \
    {                                                                                                        \
        "augment", "augment", EB_PARAM_TYPE_BOOL, HP(augment), 0, 1, false, false, NULL, "BOOL",             \
            "two SimCLR-augmented views of each image (false: the image twice)"                              \
    }

static const eb_param_desc cider_rows[] = {SHARED_ROWS};

static const eb_param_desc hamos_rows[] = {
    SHARED_ROWS,
    {"ood_weight", "ood-weight", EB_PARAM_TYPE_F32, HP(ood_weight), 0, 1e6, false, false, NULL, "W",
     "weight lambda_d of the OOD-discernment loss (Eq. 8)"},
    {"ood_on_id", "ood-on-id", EB_PARAM_TYPE_BOOL, HP(ood_on_id), 0, 1, false, false, NULL, "BOOL",
     "the OOD-discernment loss on the ID embeddings (the code) instead of the outliers (the paper)"},
    {"buffer_size", "class-buffer", EB_PARAM_TYPE_I64, HP(buffer_size), 1, 1e6, false, false, NULL, "N",
     "embeddings per class buffer (synthesis starts once every class buffer is full)"},
    {"synthesis", "synthesis", EB_PARAM_TYPE_INT, HP(synthesis_method), 0, EB_SYNTH_NPOS, false, true,
     synthesis_names, "KIND",
     "where the outliers come from: hamos (the sampler's chains), vos or npos (the baselines)"},
    {"vos_samples", "vos-samples", EB_PARAM_TYPE_I64, HP(vos_samples), 1, 1e7, false, false, NULL, "N",
     "vos: Gaussian draws per class and step (the lowest-likelihood ones are kept)"},
    {"npos_samples", "npos-samples", EB_PARAM_TYPE_I64, HP(npos_samples), 2, 1e6, false, false, NULL, "N",
     "npos: candidates around each boundary point (the 2 farthest from the class are kept)"},
    {"npos_sigma", "npos-sigma", EB_PARAM_TYPE_F32, HP(npos_sigma), 0, 100, true, false, NULL, "S",
     "npos: sigma of the Gaussian perturbation of the boundary points"},
    {"sampler", "sampler", EB_PARAM_TYPE_INT, HP(synth.sampler.kind), 0, EB_SPHERE_KIND_COUNT - 1, false,
     true, sampler_names, "KIND", "the sampler on the sphere: hmc, rw (random walk) or mala (Table 9)"},
    {"leapfrog_steps", "leapfrog-steps", EB_PARAM_TYPE_I64, HP(synth.sampler.leapfrog_steps), 1, 10000, false,
     false, NULL, "L", "leapfrog steps per HMC proposal"},
    {"step_size", "hmc-step-size", EB_PARAM_TYPE_F32, HP(synth.sampler.step_size), 0, 10, true, false, NULL,
     "EPS", "the sampler's step size epsilon"},
    {"k", "synth-k", EB_PARAM_TYPE_I64, HP(synth.k), 1, 1e6, false, false, NULL, "K",
     "k of the k-NN OOD-ness potential (and of the code's KDE); <= --class-buffer"},
    {"kappa", "kappa", EB_PARAM_TYPE_F32, HP(synth.kappa), 0, 1000, true, false, NULL, "K",
     "vMF-KDE bandwidth kappa of the hard margin"},
    {"margin", "margin", EB_PARAM_TYPE_F32, HP(synth.margin), 0, 1e6, false, false, NULL, "D",
     "hard margin delta on -log max_c P_c (Eq. 5)"},
    {"n_adj", "n-adj", EB_PARAM_TYPE_I64, HP(synth.n_adj), 1, 1000, false, false, NULL, "N",
     "adjacent classes per class (chains per class)"},
    {"rounds", "rounds", EB_PARAM_TYPE_I64, HP(synth.rounds), 1, 1000, false, false, NULL, "R",
     "sampling rounds per mini-batch (outliers = chains x rounds)"},
    {"kde", "kde", EB_PARAM_TYPE_INT, HP(synth.kde), 0, 1, false, true, kde_names, "FORM",
     "the vMF KDE of the margin: paper (Eq. 11-12, whole buffer) or code (k nearest)"},
    {"keep_start", "keep-start", EB_PARAM_TYPE_BOOL, HP(synth.keep_start), 0, 1, false, false, NULL, "BOOL",
     "also emit the chains' start points as outliers (the code)"},
};

static eb_status hamos_model_check(const void *p, eb_model_kind kind, bool images, eb_error *err) {
    (void)images;
    if (kind == EB_MODEL_RADIAL_FLOW)
        return eb_error_set(err, EB_ERR_ARG, "--objective %s needs a classifier, not a radial_flow",
                            ((const eb_hamos_params *)p)->synthesis ? "hamos" : "cider");
    return EB_OK;
}

/* The projection head on the penultimate features, unless the model (an --init checkpoint) has one. */
static eb_status hamos_model_adjust(const void *p, eb_model **model, eb_error *err) {
    const eb_hamos_params *h = p;
    if ((*model)->head_dim > 0) return EB_OK; /* a differing width is refused by eb_hamos_objective_new */
    eb_rng r;
    eb_rng_seed(&r, 0x68656164ull); /* "head" */
    int64_t hidden = h->head_hidden > 0 ? h->head_hidden : eb_model_feature_dim(*model);
    return eb_model_add_projection_head(*model, hidden, h->head_dim, &r, err);
}

/* Table 4's fine-tuning for images: SGD 0.01 (momentum 0.9, weight decay 1e-4), cosine; the paper's Nesterov
 * momentum and final rate 1e-5 are `--nesterov --min-lr 1e-5` (the profile carries neither). */
static void hamos_train_profile(const void *p, bool images, int64_t batches_per_epoch,
                                eb_train_profile *out) {
    (void)p, (void)batches_per_epoch;
    if (!images) return;
    eb_train_params *t = &out->train;
    t->optimizer = eb_sgd_default_params();
    t->optimizer.lr = 0.01f;
    t->optimizer.weight_decay = 1e-4f;
    t->schedule = eb_schedule_default(0.01f);
    t->schedule.kind = EB_SCHEDULE_COSINE;
}

static eb_status hamos_run_new(void *p, const eb_model *model, const eb_schedule *schedule, uint64_t seed,
                               void **ctx, eb_error *err) {
    (void)schedule;
    if (model->head_dim <= 0) /* hamos_model_adjust runs first */
        return eb_error_set(err, EB_ERR_STATE, "cider/hamos: the model has no projection head");
    eb_rng unused;
    eb_rng_seed(&unused, seed);
    /* the model has its head, so eb_hamos_objective_new only reads it */
    return eb_hamos_objective_new(p, (eb_model *)model, seed, &unused, (eb_hamos_objective **)ctx, err);
}

static void hamos_run_free(void *ctx) { eb_hamos_objective_free(ctx); }

enum { INIT_ROWS = 1000 };

static eb_status hamos_data_setup(void *ctx, eb_model *model, const eb_image_set *id,
                                  const eb_image_transforms *norm, eb_error *err) {
    eb_hamos_objective *o = ctx;
    if (!id->labels || id->n < 1)
        return eb_error_set(err, EB_ERR_ARG, "cider/hamos: the training data has no labelled rows");
    if (norm->normalize) eb__hamos_objective_set_normalization(o, id->c, norm->mean, norm->std);
    int64_t dim = (int64_t)id->c * id->h * id->w, n = id->n < INIT_ROWS ? id->n : INIT_ROWS;
    float *x = malloc((size_t)(n * dim) * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    eb_status st = !x || !y ? eb_error_set(err, EB_ERR_NOMEM, "cider/hamos: out of memory") : EB_OK;
    for (int64_t i = 0; i < n && !st; i++) { /* evenly spaced rows (a class-sorted file still has all) */
        int64_t r = i * id->n / n, hw = (int64_t)id->h * id->w;
        y[i] = id->labels[r];
        for (int64_t j = 0; j < dim; j++) {
            float v = id->u8 ? (float)id->u8[r * dim + j] / 255.0f : id->f32[r * dim + j];
            if (id->u8 && norm->normalize) v = (v - norm->mean[j / hw]) / norm->std[j / hw];
            x[i * dim + j] = v;
        }
    }
    if (!st) st = eb_hamos_objective_init_prototypes(o, model, x, y, n, err);
    free(x);
    free(y);
    return st;
}

static eb_tensor *hamos_loss(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                             int64_t *n_correct) {
    return eb_hamos_objective_loss(ctx, m, g, batch, rng, n_correct);
}

static int hamos_state_shape(const void *ctx, int64_t shape[2]) {
    shape[0] = eb__hamos_objective_classes(ctx);
    shape[1] = eb__hamos_objective_dim(ctx);
    return 2;
}

static void hamos_state_get(const void *ctx, float *out) {
    memcpy(out, eb_hamos_objective_prototypes(ctx),
           (size_t)(eb__hamos_objective_classes(ctx) * eb__hamos_objective_dim(ctx)) * sizeof *out);
}

static eb_status hamos_state_set(void *ctx, const float *in, int ndim, const int64_t *shape, eb_error *err) {
    if (ndim != 2 || shape[0] != eb__hamos_objective_classes(ctx) || shape[1] != eb__hamos_objective_dim(ctx))
        return eb_error_set(err, EB_ERR_FORMAT, "the prototypes are not [%lld, %lld]",
                            (long long)eb__hamos_objective_classes(ctx),
                            (long long)eb__hamos_objective_dim(ctx));
    eb__hamos_objective_set_prototypes(ctx, in);
    return EB_OK;
}

static void hamos_summary(const void *ctx, void *cjson_object) {
    eb_hamos_objective_stats s = eb_hamos_objective_get_stats(ctx);
    cJSON *o = cjson_object;
    cJSON_AddNumberToObject(o, "synthesis_steps", (double)s.synthesis_steps);
    if (s.synthesis_steps > 0) {
        cJSON_AddNumberToObject(o, "mean_acceptance", s.mean_acceptance);
        cJSON_AddNumberToObject(o, "mean_diversity", s.mean_diversity);
        cJSON_AddNumberToObject(o, "synthesis_seconds", s.synthesis_seconds);
        cJSON_AddNumberToObject(o, "synthesis_ms_per_step",
                                1000.0 * s.synthesis_seconds / (double)s.synthesis_steps);
    } else { /* no class buffer filled up: say so rather than report NaN */
        cJSON_AddNullToObject(o, "mean_acceptance");
        cJSON_AddNullToObject(o, "synthesis_ms_per_step");
    }
}

#define HAMOS_COMMON_HOOKS                                                                                   \
    .params_size = sizeof(eb_hamos_params), .check = hamos_check, .model_check = hamos_model_check,          \
    .model_adjust = hamos_model_adjust, .train_profile = hamos_train_profile, .fn = hamos_loss,              \
    .run_new = hamos_run_new, .run_free = hamos_run_free, .data_setup = hamos_data_setup,                    \
    .state_name = "objective.prototypes", .state_shape = hamos_state_shape, .state_get = hamos_state_get,    \
    .state_set = hamos_state_set

const eb__objective_method eb__objective_cider = {
    .name = "cider",
    .help = "CIDER: CE + compactness + dispersion of projection-head embeddings on the sphere (004 Eq. 8)",
    .params = cider_rows,
    .n_params = (int)(sizeof cider_rows / sizeof cider_rows[0]),
    .defaults = cider_defaults,
    HAMOS_COMMON_HOOKS,
};

const eb__objective_method eb__objective_hamos = {
    .name = "hamos",
    .help = "HamOS: CIDER + OOD-discernment loss on outliers synthesised by spherical HMC (004 Alg. 1-2)",
    .params = hamos_rows,
    .n_params = (int)(sizeof hamos_rows / sizeof hamos_rows[0]),
    .defaults = hamos_defaults,
    .use_code = hamos_code,
    .summary = hamos_summary,
    HAMOS_COMMON_HOOKS,
};
