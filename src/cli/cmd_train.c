/* ebood train: train a classifier (MLP on tabular data, CNN/ResNet/WRN on images) or, with --objective cd,
 * an energy-based model on tabular data, writing a checkpoint atomically (every --checkpoint-every epochs
 * and at the end) and resuming from it. The objectives, their flags and training profiles come from the
 * library registry (objective.h). */
#include "cli/cli_impl.h"
#include "cli/cli_margin_grid.h"
#include "cli/cli_objective.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const usage = "--data NAME|FILE -o CKPT [options]";

/* Everything a run depends on besides the model config; stored in the checkpoint as
 * "ebood.train_args" so that --resume can refuse a checkpoint made with other settings. */
typedef struct train_args {
    const char *data, *optimizer, *schedule;
    const char *objective_json;     /* the objective's settings */
    const char *init;               /* --init checkpoint, or NULL */
    const char *aux_data;           /* --aux-data SPEC, or NULL */
    const char *milestones;         /* --milestones (multistep schedule) */
    const char *margin_grid;        /* energy-ft --m-in grid: --margin-grid SPEC, else NULL */
    const eb_tabular_params *table; /* a .csv/.arff's split and standardisation, or NULL (built-in data) */
    int64_t seed, split_seed, steps, epochs, batch, warmup, step_size, crop_padding;
    double lr, wd, momentum, beta1, beta2, eps, gamma, min_lr, clip, noise_std;
    bool nesterov, keep_last, hflip, resized_crop;
} train_args;

static char *train_args_json(const train_args *a) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "data", a->data);
    cJSON_AddStringToObject(o, "optimizer", a->optimizer);
    cJSON_AddStringToObject(o, "schedule", a->schedule);
    if (strcmp(a->schedule, "multistep") == 0) cJSON_AddStringToObject(o, "milestones", a->milestones);
    const struct {
        const char *k;
        double v;
    } nums[] = {{"seed", (double)a->seed},
                {"split_seed", (double)a->split_seed},
                {"steps", (double)a->steps},
                {"epochs", (double)a->epochs},
                {"batch_size", (double)a->batch},
                {"warmup", (double)a->warmup},
                {"step_size", (double)a->step_size},
                {"crop_padding", (double)a->crop_padding},
                {"lr", a->lr},
                {"weight_decay", a->wd},
                {"momentum", a->momentum},
                {"beta1", a->beta1},
                {"beta2", a->beta2},
                {"eps", a->eps},
                {"gamma", a->gamma},
                {"min_lr", a->min_lr},
                {"clip_grad_norm", a->clip},
                {"noise_std", a->noise_std},
                {"nesterov", a->nesterov},
                {"keep_last_batch", a->keep_last},
                {"hflip", a->hflip},
                {"resized_crop", a->resized_crop}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        cJSON_AddNumberToObject(o, nums[i].k, nums[i].v);
    if (a->objective_json) cJSON_AddItemToObject(o, "objective", cJSON_Parse(a->objective_json));
    if (a->init) cJSON_AddStringToObject(o, "init", a->init);
    if (a->aux_data) cJSON_AddStringToObject(o, "aux_data", a->aux_data);
    if (a->margin_grid) cJSON_AddStringToObject(o, "margin_grid", a->margin_grid);
    if (a->table) {
        cJSON *t = cJSON_AddObjectToObject(o, "table");
        cJSON_AddNumberToObject(t, "val_split", a->table->val_frac);
        cJSON_AddNumberToObject(t, "test_split", a->table->test_frac);
        if (a->table->ood_class) cJSON_AddStringToObject(t, "ood_class", a->table->ood_class);
        cJSON_AddBoolToObject(t, "standardize", a->table->standardize);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---- checkpoints ---------------------------------------------------------------------------------- */
typedef struct checkpoint_ctx {
    const char *path;
    const eb_st_meta *meta; /* run metadata; the epoch entries are added per save */
    int n_meta;
    int64_t every;               /* epochs between checkpoints (0 = only at the end) */
    eb_objective_run *objective; /* its epoch-end hook runs, and its state (a replay buffer) is saved too */
    const eb_schedule *schedule;
    cJSON
        *log; /* per epoch {epoch, step, loss, accuracy (if counted), lr}: "ebood.train_log" (ebood report) */
    bool writes; /* rank 0 (or the only process) writes the checkpoint */
} checkpoint_ctx;

static eb_status save_checkpoint(const checkpoint_ctx *c, eb_model *m, int64_t epoch, int64_t step,
                                 const eb_optimizer *opt, eb_error *err) {
    char epoch_s[32], step_s[32], opt_step_s[32];
    snprintf(epoch_s, sizeof epoch_s, "%lld", (long long)epoch);
    snprintf(step_s, sizeof step_s, "%lld", (long long)step);
    snprintf(opt_step_s, sizeof opt_step_s, "%lld", (long long)(opt ? eb_optimizer_step_count(opt) : 0));
    eb_st_meta meta[33];
    int n = 0;
    for (int i = 0; i < c->n_meta && n < 29; i++) meta[n++] = c->meta[i];
    meta[n++] = (eb_st_meta){"ebood.epoch", epoch_s};
    meta[n++] = (eb_st_meta){"ebood.steps", step_s};
    meta[n++] = (eb_st_meta){"ebood.optimizer_step", opt_step_s};
    char *log = c->log ? cJSON_PrintUnformatted(c->log) : NULL;
    if (log) meta[n++] = (eb_st_meta){"ebood.train_log", log};
    eb_st_tensor state[2];
    memset(state, 0, sizeof state);
    int n_tensors = 0;
    if (opt && eb_optimizer_state_size(opt) > 0)
        state[n_tensors++] = (eb_st_tensor){.name = "optimizer.state",
                                            .dtype = EB_ST_F32,
                                            .ndim = 1,
                                            .shape = {eb_optimizer_state_size(opt)},
                                            .data = eb_optimizer_state((eb_optimizer *)opt),
                                            .nbytes = (size_t)eb_optimizer_state_size(opt) * sizeof(float)};
    float *owned = NULL;
    bool has = false;
    eb_status st = eb_objective_run_state(c->objective, &state[n_tensors], &owned, &has, err);
    if (st) {
        free(log);
        return st;
    }
    n_tensors += has;
    st = eb_model_save_with(m, c->path, meta, n, state, n_tensors, err);
    free(owned);
    free(log);
    return st;
}

/* Every `every` epochs, and always at the end of the run (with the optimizer state, so that --resume
 * can continue a stopped run or extend a finished one). */
static eb_status on_epoch_end(void *ctx, eb_model *m, const eb_train_epoch_info *info, eb_error *err) {
    checkpoint_ctx *c = ctx;
    eb_status st = eb_objective_run_epoch_end(c->objective, m, info, err);
    if (st) return st;
    cJSON *last = c->log ? cJSON_GetArrayItem(c->log, cJSON_GetArraySize(c->log) - 1) : NULL;
    bool partial = last && cJSON_GetNumberValue(cJSON_GetObjectItem(last, "epoch")) == (double)info->epoch;
    cJSON *e = c->log && !partial ? cJSON_CreateObject() : NULL; /* completed epochs only */
    if (e) {
        cJSON_AddNumberToObject(e, "epoch", (double)info->epoch);
        cJSON_AddNumberToObject(e, "step", (double)info->step);
        cJSON_AddNumberToObject(e, "loss", info->loss);
        if (info->accuracy >= 0) cJSON_AddNumberToObject(e, "accuracy", info->accuracy);
        cJSON_AddNumberToObject(e, "lr", (double)eb_schedule_lr(c->schedule, info->step));
        cJSON_AddItemToArray(c->log, e);
    }
    if (!c->writes || (!info->final && (c->every <= 0 || info->epoch % c->every != 0))) return EB_OK;
    return save_checkpoint(c, m, info->epoch, info->step, info->optimizer, err);
}

/* Loads --resume state from an existing checkpoint; *resumed = false if there is none. The model's
 * config and the training settings must be the checkpoint's; the objective's state (if any) is restored. */
static eb_status load_resume(const char *path, eb_model *m, eb_objective_run *obj, const char *args_json,
                             eb_train_resume *r, float **state, bool *resumed, eb_error *err) {
    *resumed = false;
    if (access(path, F_OK) != 0) return EB_OK;
    eb_model *saved = NULL;
    eb_safetensors *file = NULL;
    eb_status st = eb_model_load_with_file(path, NULL, &saved, &file, err);
    if (st) return st;
    char *want = eb_model_config_json(m), *have = eb_model_config_json(saved);
    const char *saved_args = eb_safetensors_meta(file, "ebood.train_args");
    const char *epoch = eb_safetensors_meta(file, "ebood.epoch");
    const char *opt_step = eb_safetensors_meta(file, "ebood.optimizer_step");
    if (saved->kind != m->kind || !want || !have || strcmp(want, have) != 0) {
        st = eb_error_set(err, EB_ERR_ARG, "%s: cannot resume: it holds a %s %s, this run builds a %s %s",
                          path, eb_model_kind_name(saved->kind), have ? have : "",
                          eb_model_kind_name(m->kind), want ? want : "");
    } else if (!saved_args || !epoch || !opt_step) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: cannot resume: no training state in the checkpoint", path);
    } else if (strcmp(saved_args, args_json) != 0) {
        st = eb_error_set(err, EB_ERR_ARG, "%s: cannot resume: it was trained with other settings: %s", path,
                          saved_args);
    } else {
        const eb_st_tensor *t = eb_safetensors_find(file, "optimizer.state");
        r->epoch = strtoll(epoch, NULL, 10);
        r->optimizer_step = strtoll(opt_step, NULL, 10);
        r->optimizer_state_size = t ? t->shape[0] : 0;
        *state = NULL;
        if (t && !(*state = malloc(t->nbytes))) st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
        if (!st && t) st = eb_safetensors_get_f32(file, "optimizer.state", 1, t->shape, *state, err);
        if (!st) st = eb_objective_run_restore(obj, file, path, err);
        r->optimizer_state = *state;
        if (!st) {
            memcpy(m->params.data, saved->params.data, (size_t)m->params.size * sizeof(float));
            memcpy(m->buffers.data, saved->buffers.data, (size_t)m->buffers.size * sizeof(float));
            *resumed = true;
        }
    }
    free(want);
    free(have);
    eb_model_free(saved);
    eb_safetensors_free(file);
    return st;
}

/* --init: the checkpoint's model (architecture, parameters and buffers; e.g. one imported from PyTorch by
 * scripts/torch_import.py) becomes this run's, if it takes the data's in_dim inputs and gives the out_dim
 * outputs the objective needs; ownership moves from *init to *out. */
static eb_status adopt_init(const char *path, eb_model **init, int64_t in_dim, int64_t out_dim,
                            eb_model **out, eb_error *err) {
    if (eb_model_in_dim(*init) != in_dim || eb_model_out_dim(*init) != out_dim)
        return eb_error_set(err, EB_ERR_SHAPE,
                            "--init %s: the model takes %lld inputs and gives %lld outputs, this data and "
                            "objective need %lld and %lld",
                            path, (long long)eb_model_in_dim(*init), (long long)eb_model_out_dim(*init),
                            (long long)in_dim, (long long)out_dim);
    *out = *init;
    *init = NULL;
    return EB_OK;
}

/* Accuracy of m on rows x[n, dim] with labels. */
static eb_status accuracy_of(eb_model *m, const float *x, const int32_t *y, int64_t n, double *acc,
                             eb_error *err) {
    float *logits = malloc((size_t)(n * eb_model_out_dim(m)) * sizeof *logits);
    eb_status st = logits ? eb_model_predict(m, x, n, 256, logits, NULL, err)
                          : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st) st = eb_accuracy(logits, n, eb_model_out_dim(m), y, acc, err);
    free(logits);
    return st;
}

/* Every training flag not given takes the profile's value (eb_objective_train_profile). */
static void profile_defaults(const eb_train_profile *profile, const cli_flag *flags, int n_flags,
                             train_args *a) {
    const eb_train_params *p = &profile->train;
    const struct {
        const char *flag;
        int64_t *i;
        double *d;
        const char **s;
        double v;
        const char *text;
    } rows[] = {
        {"steps", &a->steps, NULL, NULL, (double)p->steps, NULL},
        {"epochs", &a->epochs, NULL, NULL, (double)p->epochs, NULL},
        {"batch-size", &a->batch, NULL, NULL, (double)p->batch_size, NULL},
        {"optimizer", NULL, NULL, &a->optimizer, 0, eb_optimizer_kind_name(p->optimizer.kind)},
        {"lr", NULL, &a->lr, NULL, (double)p->optimizer.lr, NULL},
        {"weight-decay", NULL, &a->wd, NULL, (double)p->optimizer.weight_decay, NULL},
        {"beta1", NULL, &a->beta1, NULL, (double)p->optimizer.beta1, NULL},
        {"beta2", NULL, &a->beta2, NULL, (double)p->optimizer.beta2, NULL},
        {"eps", NULL, &a->eps, NULL, (double)p->optimizer.eps, NULL},
        {"schedule", NULL, NULL, &a->schedule, 0, eb_schedule_kind_name(p->schedule.kind)},
        {"warmup", &a->warmup, NULL, NULL, (double)p->schedule.warmup_steps, NULL},
        {"step-size", &a->step_size, NULL, NULL, (double)p->schedule.step_size, NULL},
        {"gamma", NULL, &a->gamma, NULL, (double)p->schedule.gamma, NULL},
        {"noise-std", NULL, &a->noise_std, NULL, (double)profile->input_noise_std, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (cli_flag_seen(flags, n_flags, rows[i].flag)) continue;
        if (rows[i].i) *rows[i].i = (int64_t)rows[i].v;
        if (rows[i].d) *rows[i].d = rows[i].v;
        if (rows[i].s) *rows[i].s = rows[i].text;
    }
}

static int train_run(int argc, char **argv, const eb_dist *dist) {
    const char *cmd = "train";
    const char *output = NULL, *widths = "100,100,100,100,100", *activation = "leaky_relu:0.01",
               *model_name = NULL;
    train_args a = {.data = NULL,
                    .optimizer = "adamw",
                    .schedule = "step",
                    .milestones = "0.5,0.75",
                    .seed = 0,
                    .split_seed = -1,
                    .steps = 10000,
                    .epochs = 0,
                    .batch = 512,
                    .warmup = 2500,
                    .step_size = 3000,
                    .lr = 1e-3,
                    .momentum = 0.9,
                    .beta1 = 0.9,
                    .beta2 = 0.999,
                    .eps = 1e-8,
                    .gamma = 0.5};
    int64_t depth = 0, widen = 2, checkpoint_every = -1, stop_after = 0;
    double dropout = 0.0, bottleneck = 0.0;
    bool json = false, resume = false, no_standardize = false;
    eb_tabular_params table = eb_tabular_default_params();
    cli_objective_args oa;
    cli_objective_args_init(&oa);
    cli_flag base_flags[] = {
        {"data", 0, CLI_FLAG_STRING, &a.data, 0, 0, "NAME|FILE",
         "segment, toy:cross, toy:crosses (HEAT's 2-D toy data), fmnist, cifar10:DIR, cifar100:DIR, or a "
         "labelled .arff/.csv file",
         false},
        {"output", 'o', CLI_FLAG_STRING, &output, 0, 0, "CKPT", "checkpoint to write (.safetensors, atomic)",
         false},
        {"model", 0, CLI_FLAG_STRING, &model_name, 0, 0, "NAME",
         "mlp (tabular default), radial_flow (--objective flow, its default), small_cnn (image default), "
         "resnet, wrn, wrn_ebm (the EBM paper's WRN: image default of cd, ssm, vera)",
         false},
        {"depth", 0, CLI_FLAG_INT, &depth, 10, 1000, "N",
         "resnet: 18 or 34 (18); wrn: 6k+4 (40); wrn_ebm: 6k+4 (10)", false},
        {"widen", 0, CLI_FLAG_INT, &widen, 1, 16, "K", "wrn, wrn_ebm widening factor (2)", false},
        {"bottleneck", 0, CLI_FLAG_FLOAT, &bottleneck, 0, 1, "R",
         "wrn_ebm: 1x1 bottleneck to R of the channels after each group (0 = none; Table 7: 0.05-0.2)",
         false},
        {"seed", 0, CLI_FLAG_INT, &a.seed, 0, 9.2e18, "N",
         "seed of initialisation, shuffling, dropout, augmentation (0)", false},
        {"split-seed", 0, CLI_FLAG_INT, &a.split_seed, 0, 9.2e18, "N",
         "seed of the built-in train/val split and of --val-split/--test-split (default: --seed)", false},
        {"val-split", 0, CLI_FLAG_FLOAT, &table.val_frac, 0, 0.99, "F",
         "a .csv/.arff: hold out this fraction of its ID rows for validation (0)", false},
        {"test-split", 0, CLI_FLAG_FLOAT, &table.test_frac, 0, 0.99, "F",
         "a .csv/.arff: hold out this fraction of its ID rows as eval's test rows (0)", false},
        {"ood-class", 0, CLI_FLAG_STRING, &table.ood_class, 0, 0, "NAME",
         "a .csv/.arff: hold this class out as OOD (eval scores it, as Segment's sky)", false},
        {"no-standardize", 0, CLI_FLAG_BOOL, &no_standardize, 0, 0, NULL,
         "a .csv/.arff: use its columns as they are (default: drop constant columns and z-score with the "
         "train rows' statistics, stored in the checkpoint for eval/extract/fit/score)",
         false},
        {"widths", 0, CLI_FLAG_STRING, &widths, 0, 0, "W1,W2,..", "mlp hidden widths (100,100,100,100,100)",
         false},
        {"activation", 0, CLI_FLAG_STRING, &activation, 0, 0, "NAME[:P]",
         "mlp: relu, leaky_relu[:slope], elu[:alpha], softplus[:beta], tanh, sigmoid, swish "
         "(the objective's: ce leaky_relu:0.01; cd, ssm, vera relu, --ebm-preset code the code's leaky_relu)",
         false},
        {"dropout", 0, CLI_FLAG_FLOAT, &dropout, 0, 0.99, "P",
         "mlp: after the last hidden layer; wrn: inside each block (0)", false},
        {"steps", 0, CLI_FLAG_INT, &a.steps, 0, 1e9, "N", "optimizer steps (tabular 10000); 0 = use --epochs",
         false},
        {"epochs", 0, CLI_FLAG_INT, &a.epochs, 0, 1e7, "N", "epochs, when --steps is 0 (images: 5)", false},
        {"batch-size", 0, CLI_FLAG_INT, &a.batch, 1, 1e7, "N", "mini-batch size (tabular 512, images 128)",
         false},
        {"keep-last-batch", 0, CLI_FLAG_BOOL, &a.keep_last, 0, 0, NULL,
         "train on each epoch's last partial batch (dropped by default)", false},
        {"optimizer", 0, CLI_FLAG_STRING, &a.optimizer, 0, 0, "NAME",
         "sgd, adam or adamw (tabular adamw, images adam)", false},
        {"lr", 0, CLI_FLAG_FLOAT, &a.lr, 0, 10, "LR", "base learning rate (1e-3)", false},
        {"weight-decay", 0, CLI_FLAG_FLOAT, &a.wd, 0, 10, "WD",
         "weight decay: L2 for sgd/adam, decoupled for adamw (0)", false},
        {"momentum", 0, CLI_FLAG_FLOAT, &a.momentum, 0, 0.999999, "M", "sgd momentum (0.9)", false},
        {"nesterov", 0, CLI_FLAG_BOOL, &a.nesterov, 0, 0, NULL, "sgd: Nesterov momentum", false},
        {"beta1", 0, CLI_FLAG_FLOAT, &a.beta1, 0, 0.999999, "B1", "adam/adamw beta1 (0.9)", false},
        {"beta2", 0, CLI_FLAG_FLOAT, &a.beta2, 0, 0.999999, "B2", "adam/adamw beta2 (0.999)", false},
        {"eps", 0, CLI_FLAG_FLOAT, &a.eps, 1e-30, 1, "EPS", "adam/adamw epsilon (1e-8)", false},
        {"schedule", 0, CLI_FLAG_STRING, &a.schedule, 0, 0, "NAME",
         "constant, step, cosine or multistep (tabular step, images cosine)", false},
        {"warmup", 0, CLI_FLAG_INT, &a.warmup, 0, 1e9, "N", "linear warm-up steps (tabular 2500, images 0)",
         false},
        {"step-size", 0, CLI_FLAG_INT, &a.step_size, 1, 1e9, "N",
         "step schedule: steps between decays (3000)", false},
        {"gamma", 0, CLI_FLAG_FLOAT, &a.gamma, 1e-9, 1, "G", "step, multistep schedule: decay factor (0.5)",
         false},
        {"milestones", 0, CLI_FLAG_STRING, &a.milestones, 0, 0, "F1,F2",
         "multistep schedule: decay at these fractions of the run (0.5,0.75)", false},
        {"min-lr", 0, CLI_FLAG_FLOAT, &a.min_lr, 0, 10, "LR", "cosine schedule: final learning rate (0)",
         false},
        {"clip-grad-norm", 0, CLI_FLAG_FLOAT, &a.clip, 0, 1e9, "N", "clip the global gradient norm (0 = off)",
         false},
        {"crop-padding", 0, CLI_FLAG_INT, &a.crop_padding, 0, 64, "P",
         "images: random crop with zero padding P (0)", false},
        {"hflip", 0, CLI_FLAG_BOOL, &a.hflip, 0, 0, NULL, "images: random horizontal flips", false},
        {"resized-crop", 0, CLI_FLAG_BOOL, &a.resized_crop, 0, 0, NULL,
         "images: random resized crops (torchvision's defaults: area 8-100 %, aspect 3/4-4/3)", false},
        {"noise-std", 0, CLI_FLAG_FLOAT, &a.noise_std, 0, 10, "S",
         "images: Gaussian input noise std (0; image EBMs 0.1, the EBM paper's code)", false},
        {"checkpoint-every", 0, CLI_FLAG_INT, &checkpoint_every, 0, 1e9, "E",
         "write the checkpoint every E epochs (images 1, tabular 0 = only at the end)", false},
        {"aux-data", 0, CLI_FLAG_STRING, &a.aux_data, 0, 0, "SPEC",
         "auxiliary outliers of oe, energy-ft, hopfield-boost, poem: an image data name (aux), an IDX file, "
         "a "
         ".npy, "
         "or a .csv of rows (tabular)",
         false},
        {"margin-grid", 0, CLI_FLAG_STRING, &a.margin_grid, 0, 0, "SPEC",
         "energy-ft with --m-in grid --m-out grid: the margins tried, chosen by FPR95 on the ID validation "
         "split vs a held-out AUX slice: auto (3 x 3 around the start's mean energies), paper, or "
         "M_IN,..:M_OUT,..",
         false},
        {"init", 0, CLI_FLAG_STRING, &a.init, 0, 0, "CKPT",
         "start from this checkpoint's model (its architecture and weights; e.g. scripts/torch_import.py's)",
         false},
        {"resume", 0, CLI_FLAG_BOOL, &resume, 0, 0, NULL,
         "continue from the checkpoint at -o if there is one (same settings required)", false},
        {"stop-after", 0, CLI_FLAG_INT, &stop_after, 1, 1e9, "E",
         "end this run after E epochs (checkpointed; continue with --resume)", false},
        {"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print a JSON summary on stdout", false},
    };
    enum { N_BASE_FLAGS = (int)(sizeof base_flags / sizeof base_flags[0]) };
    cli_flag flags[N_BASE_FLAGS + CLI_OBJECTIVE_MAX_FLAGS];
    memcpy(flags, base_flags, sizeof base_flags);
    int n_flags = N_BASE_FLAGS + cli_objective_flags(&oa, flags + N_BASE_FLAGS), n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, usage, argc, argv, 2, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if ((rc = cli_objective_check(cmd, &oa, flags, n_flags))) return rc;
    if (!a.data || !output) {
        fprintf(stderr, "ebood train: --%s is required (see ebood train --help)\n",
                !a.data ? "data" : "output");
        return CLI_USAGE;
    }
    const eb_objective_spec *spec = &oa.spec;
    bool images = cli_is_image_spec(a.data);
    const bool margin_search = cli_margins_grid(spec);
    if (a.margin_grid && !margin_search) {
        fprintf(stderr, "ebood train: --margin-grid is read only with --objective energy-ft --m-in grid "
                        "--m-out grid\n");
        return CLI_USAGE;
    }
    if (margin_search && !a.margin_grid) a.margin_grid = "auto";
    if (eb_objective_uses_aux(spec) != (a.aux_data != NULL)) {
        if (a.aux_data)
            fprintf(
                stderr,
                "ebood train: --aux-data is read only by --objective oe, energy-ft, hopfield-boost, poem\n");
        else
            fprintf(stderr, "ebood train: --objective %s needs --aux-data SPEC (the auxiliary outliers)\n",
                    eb_objective_spec_name(spec));
        return CLI_USAGE;
    }
    /* the training profile (generic, then the objective's) for every training flag not given; the step
     * schedule's step size may depend on the batches per epoch and is set again once the data is loaded */
    eb_train_profile profile;
    eb_objective_train_profile(spec, images, 1, &profile);
    profile_defaults(&profile, flags, n_flags, &a);
    if (checkpoint_every < 0) checkpoint_every = images ? 1 : 0;
    if (a.steps == 0 && a.epochs == 0) {
        fprintf(stderr, "ebood train: --steps 0 needs --epochs N\n");
        return CLI_USAGE;
    }
    if (a.split_seed < 0) a.split_seed = a.seed;
    eb_error err = {0};
    /* a .csv/.arff: split and standardised by tabular_split.c; the built-in data have their protocol */
    const bool table_file = !images && strcmp(a.data, "segment") != 0 && strncmp(a.data, "toy:", 4) != 0;
    static const char *const table_flags[] = {"val-split", "test-split", "ood-class", "no-standardize"};
    for (size_t i = 0; !table_file && i < sizeof table_flags / sizeof table_flags[0]; i++)
        if (cli_flag_seen(flags, n_flags, table_flags[i])) {
            fprintf(stderr,
                    "ebood train: --%s applies to a .csv/.arff file (--data %s has its own protocol)\n",
                    table_flags[i], a.data);
            return CLI_USAGE;
        }
    if (table.val_frac + table.test_frac >= 1) {
        fprintf(stderr, "ebood train: --val-split %g + --test-split %g leaves no training rows\n",
                table.val_frac, table.test_frac);
        return CLI_USAGE;
    }
    table.seed = (uint64_t)a.split_seed;
    table.standardize = !no_standardize;
    if (table_file) a.table = &table;
    const bool own_model = eb_objective_builds_model(spec);
    eb_model_kind kind = eb_objective_default_model(spec, images);
    if (model_name && eb_model_kind_parse(model_name, &kind, &err)) {
        fprintf(stderr, "ebood train: --model: %s\n", err.message);
        return CLI_USAGE;
    }
    static const char *const arch_flags[] = {"model",  "depth",      "widen",  "bottleneck",
                                             "widths", "activation", "dropout"};
    for (size_t i = 0; a.init && i < sizeof arch_flags / sizeof arch_flags[0]; i++)
        if (cli_flag_seen(flags, n_flags, arch_flags[i])) {
            fprintf(stderr,
                    "ebood train: --%s does not apply with --init (the architecture is the checkpoint's)\n",
                    arch_flags[i]);
            return CLI_USAGE;
        }
    bool tabular_kind = kind == EB_MODEL_MLP || kind == EB_MODEL_RADIAL_FLOW;
    if (tabular_kind == images) {
        fprintf(stderr, "ebood train: --model %s does not fit %s data\n", eb_model_kind_name(kind),
                images ? "image" : "tabular");
        return CLI_USAGE;
    }
    if (cli_flag_seen(flags, n_flags, "bottleneck") && kind != EB_MODEL_WRN_EBM) {
        fprintf(stderr, "ebood train: --bottleneck is read only by --model wrn_ebm (this run trains %s)\n",
                eb_model_kind_name(kind));
        return CLI_USAGE;
    }
    if (eb_objective_model_check(spec, kind, images, &err)) {
        fprintf(stderr, "ebood train: %s\n", err.message);
        return CLI_USAGE;
    }
    if (own_model) /* the MLP's flags are not read by a model the objective builds */
        for (size_t i = 0; i < 3; i++) {
            const char *mlp_flag = (const char *[]){"widths", "activation", "dropout"}[i];
            if (cli_flag_seen(flags, n_flags, mlp_flag)) {
                fprintf(stderr, "ebood train: --%s is read only by mlp models (this run trains a %s)\n",
                        mlp_flag, eb_model_kind_name(kind));
                return CLI_USAGE;
            }
        }

    eb_mlp_config mc = eb_mlp_default_config(1, 1);
    int n_hidden = 0;
    if (!cli_parse_int_list(cmd, "widths", widths, 1, 1 << 20, mc.hidden, EB_MLP_MAX_HIDDEN, &n_hidden))
        return CLI_USAGE;
    mc.n_hidden = n_hidden;
    mc.dropout = (float)dropout;
    if (eb_activation_parse(activation, &mc.activation, &mc.activation_param, &err)) {
        fprintf(stderr, "ebood train: --activation: %s\n", err.message);
        return CLI_USAGE;
    }
    if (!cli_flag_seen(flags, n_flags, "activation"))
        eb_objective_default_activation(spec, &mc.activation, &mc.activation_param);
    eb_train_params tp = eb_train_default_params();
    if (eb_optimizer_kind_parse(a.optimizer, &tp.optimizer.kind, &err) ||
        eb_schedule_kind_parse(a.schedule, &tp.schedule.kind, &err)) {
        fprintf(stderr, "ebood train: %s\n", err.message);
        return CLI_USAGE;
    }
    eb_optimizer_kind ok = tp.optimizer.kind;
    tp.optimizer = ok == EB_OPTIM_SGD    ? eb_sgd_default_params()
                   : ok == EB_OPTIM_ADAM ? eb_adam_default_params()
                                         : eb_adamw_default_params();
    tp.optimizer.lr = (float)a.lr;
    tp.optimizer.weight_decay = (float)a.wd;
    if (ok == EB_OPTIM_SGD) {
        tp.optimizer.momentum = (float)a.momentum;
        tp.optimizer.nesterov = a.nesterov;
    } else {
        tp.optimizer.beta1 = (float)a.beta1;
        tp.optimizer.beta2 = (float)a.beta2;
        tp.optimizer.eps = (float)a.eps;
    }
    eb_schedule_kind sk = tp.schedule.kind;
    tp.schedule = eb_schedule_default((float)a.lr);
    tp.schedule.kind = sk;
    tp.schedule.warmup_steps = a.warmup;
    tp.schedule.step_size = a.step_size;
    tp.schedule.gamma = (float)a.gamma;
    tp.schedule.min_lr = (float)a.min_lr;
    if (cli_flag_seen(flags, n_flags, "milestones") && sk != EB_SCHEDULE_MULTISTEP) {
        fprintf(stderr, "ebood train: --milestones applies to --schedule multistep only\n");
        return CLI_USAGE;
    }
    if (sk == EB_SCHEDULE_MULTISTEP && eb_schedule_milestones_parse(a.milestones, &tp.schedule, &err)) {
        fprintf(stderr, "ebood train: --milestones: %s\n", err.message);
        return CLI_USAGE;
    }
    tp.steps = a.steps;
    tp.epochs = a.epochs;
    tp.batch_size = a.batch;
    tp.drop_last = !a.keep_last;
    tp.clip_grad_norm = a.clip;
    tp.seed = (uint64_t)a.seed;
    tp.progress = !json;
    tp.dist = dist;
    if (eb_optimizer_params_check(&tp.optimizer, &err)) return cli_fail(cmd, &err);
    eb_model *init_model = NULL; /* --init: the architecture, weights and input normalisation are its */
    float init_mean[EB_IMAGE_MAX_CHANNELS], init_std[EB_IMAGE_MAX_CHANNELS];
    bool init_normalize = false;
    if (a.init) {
        eb_safetensors *file = NULL;
        if (eb_model_load_with_file(a.init, NULL, &init_model, &file, &err)) return cli_fail(cmd, &err);
        init_normalize = cli_checkpoint_normalization(file, init_mean, init_std, EB_IMAGE_MAX_CHANNELS);
        eb_safetensors_free(file);
        kind = init_model->kind;
        eb_status st = EB_OK;
        if ((kind == EB_MODEL_MLP || kind == EB_MODEL_RADIAL_FLOW) == images)
            st = eb_error_set(&err, EB_ERR_ARG, "--init %s holds a %s, which does not fit %s data", a.init,
                              eb_model_kind_name(kind), images ? "image" : "tabular");
        if (!st) st = eb_objective_model_check(spec, kind, images, &err);
        if (st) {
            eb_model_free(init_model);
            return cli_fail(cmd, &err);
        }
    }

    /* data and model */
    eb_tabular_split split;
    cli_images im;
    memset(&split, 0, sizeof split);
    memset(&im, 0, sizeof im);
    eb_model *model = NULL;
    eb_image_loader *loader = NULL;
    eb_dataset val;
    memset(&val, 0, sizeof val);
    eb_batch_source src = {0};
    bool builtin = images;
    eb_status st;
    eb_rng init;
    eb_rng_seed(&init, (uint64_t)a.seed);
    eb_image_transforms id_transforms = eb_image_transforms_default();
    eb_image_loader_params lp = eb_image_loader_default_params();
    if (images) {
        st = cli_load_images(a.data, (uint64_t)a.split_seed, &im, &err);
        if (!st && im.train.n == 0)
            st = eb_error_set(&err, EB_ERR_ARG, "--data %s has no training split", a.data);
        if (!st && init_model) {
            st = adopt_init(a.init, &init_model, im.train.c * im.train.h * im.train.w,
                            eb_objective_out_dim(spec, im.train.num_classes), &model, &err);
            if (!st && init_normalize) { /* the inputs the model was trained on */
                memcpy(im.mean, init_mean, sizeof im.mean);
                memcpy(im.std, init_std, sizeof im.std);
            }
        } else if (!st) {
            eb_image_config ic = eb_image_default_config(kind, im.train.c, im.train.h, im.train.w,
                                                         eb_objective_out_dim(spec, im.train.num_classes));
            if (depth) ic.depth = (int)depth;
            bool wide = kind == EB_MODEL_WRN || kind == EB_MODEL_WRN_EBM;
            ic.widen = wide ? (int)widen : 0;
            ic.dropout = wide ? (float)dropout : 0.0f;
            ic.bottleneck = (float)bottleneck;
            st = eb_image_model_new(kind, &ic, &init, NULL, &model, &err);
        }
        if (!st) {
            lp.batch_size = a.batch;
            lp.drop_last = !a.keep_last;
            lp.seed = (uint64_t)a.seed;
            lp.transforms.normalize = true;
            memcpy(lp.transforms.mean, im.mean, sizeof im.mean);
            memcpy(lp.transforms.std, im.std, sizeof im.std);
            lp.transforms.crop_padding = (int)a.crop_padding;
            lp.transforms.hflip = a.hflip;
            lp.transforms.resized_crop = a.resized_crop;
            lp.transforms.noise_std = (float)a.noise_std;
            id_transforms = lp.transforms;
            st = eb_image_loader_new(&im.train, &lp, &loader, &err);
        }
        if (!st) {
            src = eb_image_loader_as_source(loader, eb_model_in_dim(model));
            st = eb_image_set_to_dataset(&im.val, im.mean, im.std, &val, &err);
        }
    } else {
        cli_tabular tab = cli_tabular_plain((uint64_t)a.split_seed);
        tab.split = table;
        tab.data = a.data;
        st = cli_load_tabular(a.data, &tab, false, &split, &builtin, &err);
        if (!st && a.table && split.dropped && !json)
            fprintf(stderr, "ebood train: note: %s: dropped the constant column%s %s\n", a.data,
                    strchr(split.dropped, ',') ? "s" : "", split.dropped);
        if (!st && init_model) {
            st = adopt_init(a.init, &init_model, split.train.dim,
                            eb_objective_out_dim(spec, split.train.num_classes), &model, &err);
        } else if (!st && own_model) {
            st = eb_objective_model_new(spec, split.train.dim, split.train.num_classes, &init, &model, &err);
        } else if (!st) {
            mc.in_dim = split.train.dim;
            mc.out_dim = eb_objective_out_dim(spec, split.train.num_classes);
            st = eb_mlp_new(&mc, &init, NULL, &model, &err);
            char note[256];
            eb_objective_model_note(spec, kind, mc.activation, note, sizeof note);
            if (!st && note[0]) fprintf(stderr, "ebood train: warning: %s\n", note);
        }
    }
    if (!st) st = eb_objective_model_adjust(spec, &model, &err);
    /* auxiliary outliers: the pool (less a validation slice for the margin search), the views */
    eb_image_set aux_pool, aux_val, id_view, id_val_view;
    memset(&aux_pool, 0, sizeof aux_pool);
    memset(&aux_val, 0, sizeof aux_val);
    memset(&id_view, 0, sizeof id_view);
    memset(&id_val_view, 0, sizeof id_val_view);
    eb_image_transforms norm = eb_image_transforms_default(); /* input space of the ID data */
    if (images) {
        norm.normalize = true;
        memcpy(norm.mean, im.mean, sizeof im.mean);
        memcpy(norm.std, im.std, sizeof im.std);
    }
    if (!st && a.aux_data) {
        if (images) {
            id_view = im.train;
            id_val_view = im.val;
        } else { /* the ID rows as f32 sets of c = h = 1 (views: not freed) */
            id_view = (eb_image_set){NULL, split.train.x, NULL, split.train.n, 1, 1, (int)split.train.dim, 0};
            id_val_view = (eb_image_set){NULL, split.val.x, NULL, split.val.n, 1, 1, (int)split.val.dim, 0};
        }
        st = cli_load_aux(a.aux_data, images ? im.train.c : 0, images ? im.train.h : 0,
                          images ? im.train.w : 0, eb_model_in_dim(model), images ? NULL : &split, &aux_pool,
                          &err);
        if (!st && margin_search) st = cli_aux_holdout(&aux_pool, (uint64_t)a.seed, &aux_val, &err);
    }
    /* the schedule's length and epoch-level decay need the batches per epoch of the loaded data */
    eb_objective_run *obj = NULL;
    int64_t per_epoch = 0;
    cJSON *grid_results = margin_search ? cJSON_CreateArray() : NULL;
    if (!st) {
        int64_t n_train = images ? im.train.n : split.train.n;
        int64_t b = a.batch < n_train ? a.batch : n_train;
        per_epoch = images ? src.batches_per_epoch : (tp.drop_last ? n_train / b : (n_train + b - 1) / b);
        if (sk == EB_SCHEDULE_COSINE || sk == EB_SCHEDULE_MULTISTEP)
            tp.schedule.total_steps = a.steps ? a.steps : a.epochs * per_epoch;
        if (!cli_flag_seen(flags, n_flags,
                           "step-size")) { /* an epoch-level decay: e.g. 1000 epochs of this data */
            eb_objective_train_profile(spec, images, per_epoch, &profile);
            a.step_size = profile.train.schedule.step_size;
            tp.schedule.step_size = a.step_size;
        }
        if (margin_search) { /* 003 §4: the margins from a grid, on validation data only */
            const cli_margin_search ms = {.grid = a.margin_grid,
                                          .model = model,
                                          .tp = tp,
                                          .id = &id_view,
                                          .loader = images ? &lp : NULL,
                                          .labels = images ? NULL : split.train.y,
                                          .id_val = &id_val_view,
                                          .aux_pool = &aux_pool,
                                          .aux_val = &aux_val,
                                          .norm = norm,
                                          .augment = images ? &id_transforms : NULL,
                                          .per_epoch = per_epoch,
                                          .seed = (uint64_t)a.seed,
                                          .quiet = json};
            st = cli_margin_search_run(&ms, &oa.spec, grid_results, &err);
        }
        /* each rank's sampler chains and replay buffer draw from its own streams (rank 0: the seed's) */
        if (!st)
            st = eb_objective_run_new(spec, model, &tp.schedule, eb_dist_seed(dist, (uint64_t)a.seed), &obj,
                                      &err);
    }
    if (!st) { /* the method's setup on the ID training set (CIDER's prototypes …) */
        eb_image_set id_set = im.train;
        if (!images) /* a view of the rows: not freed */
            id_set = (eb_image_set){NULL, split.train.x,        split.train.y,          split.train.n, 1,
                                    1,    (int)split.train.dim, split.train.num_classes};
        st = eb_objective_run_data_setup(obj, model, &id_set, &norm, &err);
    }
    eb_aux_sampler *aux_sampler = NULL;
    eb_batch_source aux_src = {0};
    if (!st && a.aux_data) {
        st = cli_aux_sampler_setup(obj, model, &id_view, &aux_pool, &norm, images ? &id_transforms : NULL,
                                   per_epoch, (uint64_t)a.seed, &aux_sampler, &err);
        if (!st) {
            aux_src = eb_aux_sampler_as_source(aux_sampler);
            tp.aux = &aux_src;
        }
    }
    if (st) {
        cJSON_Delete(grid_results);
        eb_aux_sampler_free(aux_sampler);
        eb_image_set_free(&aux_pool);
        eb_image_set_free(&aux_val);
        eb_objective_run_free(obj);
        eb_model_free(init_model);
        eb_model_free(model);
        eb_image_loader_free(loader);
        eb_dataset_free(&val);
        eb_tabular_split_free(&split);
        cli_images_free(&im);
        return cli_fail(cmd, &err);
    }

    /* provenance, resume and checkpoints */
    char seed_s[32], split_s[32], opt_s[256], sched_s[256];
    snprintf(seed_s, sizeof seed_s, "%lld", (long long)a.seed);
    snprintf(split_s, sizeof split_s, "%lld", (long long)a.split_seed);
    eb_optimizer_params_format(&tp.optimizer, opt_s, sizeof opt_s);
    eb_schedule_format(&tp.schedule, sched_s, sizeof sched_s);
    a.objective_json = obj->settings_json;
    char *args_json = train_args_json(&a);
    const eb_dataset *class_src = images ? NULL : &split.train;
    cJSON *classes = cJSON_CreateArray();
    int n_classes = eb_model_out_dim(model) > 1 ? (int)eb_model_out_dim(model) : 0; /* none: a scalar EBM */
    for (int c = 0; c < n_classes; c++) {
        char name[16];
        snprintf(name, sizeof name, "%d", c);
        cJSON_AddItemToArray(
            classes,
            cJSON_CreateString(class_src && class_src->class_names ? class_src->class_names[c] : name));
    }
    char *classes_s = cJSON_PrintUnformatted(classes);
    cJSON_Delete(classes);
    /* image inputs: the normalisation the model was trained with, for eval/extract/fit */
    char norm_s[256] = "";
    if (images) {
        int used = snprintf(norm_s, sizeof norm_s, "{\"mean\": [");
        for (int c = 0; c < im.train.c; c++)
            used += snprintf(norm_s + used, sizeof norm_s - (size_t)used, "%s%.9g", c ? ", " : "",
                             (double)im.mean[c]);
        used += snprintf(norm_s + used, sizeof norm_s - (size_t)used, "], \"std\": [");
        for (int c = 0; c < im.train.c; c++)
            used += snprintf(norm_s + used, sizeof norm_s - (size_t)used, "%s%.9g", c ? ", " : "",
                             (double)im.std[c]);
        snprintf(norm_s + used, sizeof norm_s - (size_t)used, "]}");
    }
    char *recipe_s = a.table ? eb_tabular_split_recipe_json(&split) : NULL;
    const eb_st_meta meta[] = {
        {"ebood.data", a.data},
        {"ebood.seed", seed_s},
        {"ebood.split_seed", split_s},
        {"ebood.optimizer", opt_s},
        {"ebood.schedule", sched_s},
        {"ebood.classes", classes_s ? classes_s : "[]"},
        {"ebood.train_args", args_json ? args_json : "{}"},
        {"ebood.objective", eb_objective_spec_name(&obj->spec)},
        {"ebood.objective_config", obj->settings_json},
        /* last: how inputs enter the model — images: the normalisation; a .csv/.arff: the recipe of its
         * split (kept columns, z-score, fractions, held-out class); built-in tabular data: nothing */
        images ? (eb_st_meta){"ebood.normalize", norm_s} : (eb_st_meta){"ebood.tabular", recipe_s},
    };
    checkpoint_ctx ck = {output,
                         meta,
                         (int)(sizeof meta / sizeof meta[0]) - (images || recipe_s ? 0 : 1),
                         checkpoint_every,
                         obj,
                         &tp.schedule,
                         cJSON_CreateArray(),
                         eb_dist_rank(dist) == 0};
    tp.on_epoch_end = on_epoch_end;
    tp.stop_after_epochs = stop_after;
    tp.on_epoch_end_ctx = &ck;
    eb_train_resume resume_state = {0};
    float *opt_state = NULL;
    bool resumed = false;
    if (resume) {
        st = load_resume(output, model, obj, args_json ? args_json : "", &resume_state, &opt_state, &resumed,
                         &err);
        if (!st && resumed) tp.resume = &resume_state;
        eb_safetensors *prev = NULL; /* the log goes on from the checkpoint's, up to the resumed epoch */
        cJSON *prev_log = !st && resumed && !eb_safetensors_read(output, &prev, NULL)
                              ? cJSON_Parse(eb_safetensors_meta(prev, "ebood.train_log"))
                              : NULL;
        for (cJSON *e = cJSON_IsArray(prev_log) ? prev_log->child : NULL; e; e = e->next)
            if (cJSON_GetNumberValue(cJSON_GetObjectItem(e, "epoch")) <= (double)resume_state.epoch)
                cJSON_AddItemToArray(ck.log, cJSON_Duplicate(e, true));
        cJSON_Delete(prev_log);
        eb_safetensors_free(prev);
        if (!st && !resumed && !json && eb_dist_rank(dist) == 0)
            fprintf(stderr, "ebood train: no checkpoint at %s: starting from scratch\n", output);
        if (!st && resumed && !json && eb_dist_rank(dist) == 0)
            fprintf(stderr, "ebood train: resuming %s after epoch %lld\n", output,
                    (long long)resume_state.epoch);
    }

    eb_train_result tr = {0};
    if (!st) {
        if (images)
            st = eb_train_source(model, &src, obj->fn, obj->ctx, &tp, &tr, &err);
        else
            st = eb_train(model, split.train.x, split.train.y, split.train.n, split.train.dim, obj->fn,
                          obj->ctx, &tp, &tr, &err);
    }
    double val_acc = -1.0;
    const eb_dataset *vset = images ? &val : (builtin ? &split.val : NULL);
    if (!st && vset && vset->n > 0 && eb_model_out_dim(model) > 1)
        st = accuracy_of(model, vset->x, vset->y, vset->n, &val_acc, &err);
    if (!st) {
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "output", output);
            cJSON_AddStringToObject(o, "model", eb_model_kind_name(model->kind));
            cJSON_AddStringToObject(o, "objective", eb_objective_spec_name(&obj->spec));
            cJSON_AddNumberToObject(o, "steps", (double)tr.steps);
            cJSON_AddNumberToObject(o, "epochs", (double)tr.epochs);
            cJSON_AddNumberToObject(o, "final_loss", tr.final_loss);
            if (tr.final_accuracy >= 0)
                cJSON_AddNumberToObject(o, "train_acc", tr.final_accuracy);
            else
                cJSON_AddNullToObject(o, "train_acc");
            if (val_acc >= 0)
                cJSON_AddNumberToObject(o, "val_acc", val_acc);
            else
                cJSON_AddNullToObject(o, "val_acc");
            cJSON_AddNumberToObject(o, "seconds", tr.seconds);
            cJSON_AddBoolToObject(o, "resumed", resumed);
            cJSON_AddNumberToObject(o, "ranks", (double)tr.ranks);
            eb_objective_run_summary(obj, o);
            if (grid_results) {
                cJSON_AddItemToObject(o, "margin_grid", grid_results);
                grid_results = NULL;
            }
            char *text = cJSON_Print(o);
            printf("%s\n", text);
            free(text);
            cJSON_Delete(o);
        } else {
            printf("trained %s (%s): %lld steps (%lld epochs) in %.1f s: loss %.4f",
                   eb_model_kind_name(model->kind), eb_objective_spec_name(&obj->spec), (long long)tr.steps,
                   (long long)tr.epochs, tr.seconds, tr.final_loss);
            if (tr.final_accuracy >= 0) printf(", train accuracy %.2f%%", 100.0 * tr.final_accuracy);
            if (val_acc >= 0) printf(", validation accuracy %.2f%%", 100.0 * val_acc);
            if (tr.ranks > 1) printf(" (%d ranks)", tr.ranks);
            printf("\nwrote %s\n", output);
        }
    }
    eb_objective_run_free(obj);
    eb_aux_sampler_free(aux_sampler);
    eb_image_set_free(&aux_pool);
    eb_image_set_free(&aux_val);
    cJSON_Delete(grid_results);
    cJSON_Delete(ck.log);
    free(opt_state);
    free(classes_s);
    free(recipe_s);
    free(args_json);
    eb_image_loader_free(loader);
    eb_dataset_free(&val);
    eb_model_free(model);
    eb_tabular_split_free(&split);
    cli_images_free(&im);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}

int cmd_train(int argc, char **argv) { return cli_dist_run("train", argc, argv, train_run); }
