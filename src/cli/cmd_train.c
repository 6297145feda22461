/* ebood train: train a classifier (MLP on tabular data, CNN/ResNet/WRN on images) or, with --objective cd,
 * an energy-based model, writing a checkpoint atomically (every --checkpoint-every epochs and at the end)
 * and resuming from it. Flags → an eb_train_spec (include/ebood/train.h) → eb_train_run: the training
 * profile, the model, the objective's setups and the checkpoint are the library's; the command loads the
 * data named by --data and --aux-data and prints the summary. The objectives and their flags come from the
 * library registry (objective.h, cli_objective.h). */
#include "cli/cli_impl.h"
#include "cli/cli_objective.h"

#include <ebood/train.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "--data NAME|FILE -o CKPT [options]";

/* The command line: the spec the flags fill, and what the command itself reads. */
typedef struct train_cli {
    eb_train_spec spec;
    eb_tabular_params table; /* a .csv/.arff's split */
    const char *widths;
    bool json, no_standardize;
    bool init_normalize; /* --init's checkpoint gave the image normalisation (spec.data.mean/std) */
    cli_objective_args oa;
} train_cli;

/* What the command loads (freed by loaded_free). */
typedef struct train_loaded {
    cli_images im;
    eb_tabular_split split;
    eb_image_set aux;
    char *recipe;
} train_loaded;

/* The data flags, the model's kind and size, seeds and a table's split. */
static int data_flags(train_cli *v, cli_flag *out) {
    eb_train_settings *t = &v->spec.settings;
    const cli_flag rows[] = {
        CLI_DATA_FLAG(
            &v->spec.data.name,
            "segment, toy:cross, toy:crosses (HEAT's 2-D toy data), fmnist, cifar10:DIR, cifar100:DIR, "
            "or a labelled .arff/.csv file"),
        CLI_OUTPUT_FLAG(&v->spec.output, "CKPT", "checkpoint to write (.safetensors, atomic)"),
        CLI_MODEL_FLAG(
            &v->spec.model.kind, "NAME",
            "mlp (tabular default), radial_flow (--objective flow, its default), small_cnn (image "
            "default), resnet, wrn, wrn_ebm (the EBM paper's WRN: image default of cd, ssm, vera)"),
        {"depth", 0, CLI_FLAG_INT, &v->spec.model.depth, 10, 1000, "N",
         "resnet: 18 or 34 (18); wrn: 6k+4 (40); wrn_ebm: 6k+4 (10)", false},
        {"widen", 0, CLI_FLAG_INT, &v->spec.model.widen, 1, 16, "K", "wrn, wrn_ebm widening factor (2)",
         false},
        {"bottleneck", 0, CLI_FLAG_FLOAT, &v->spec.model.bottleneck, 0, 1, "R",
         "wrn_ebm: 1x1 bottleneck to R of the channels after each group (0 = none; Table 7: 0.05-0.2)",
         false},
        {"seed", 0, CLI_FLAG_INT, &t->seed, 0, 9.2e18, "N",
         "seed of initialisation, shuffling, dropout, augmentation (0)", false},
        CLI_SPLIT_SEED_FLAG(
            &t->split_seed,
            "seed of the built-in train/val split and of --val-split/--test-split (default: --seed)"),
        {"val-split", 0, CLI_FLAG_FLOAT, &v->table.val_frac, 0, 0.99, "F",
         "a .csv/.arff: hold out this fraction of its ID rows for validation (0)", false},
        {"test-split", 0, CLI_FLAG_FLOAT, &v->table.test_frac, 0, 0.99, "F",
         "a .csv/.arff: hold out this fraction of its ID rows as eval's test rows (0)", false},
        {"ood-class", 0, CLI_FLAG_STRING, &v->table.ood_class, 0, 0, "NAME",
         "a .csv/.arff: hold this class out as OOD (eval scores it, as Segment's sky)", false},
        {"no-standardize", 0, CLI_FLAG_BOOL, &v->no_standardize, 0, 0, NULL,
         "a .csv/.arff: use its columns as they are (default: drop constant columns and z-score with the "
         "train rows' statistics, stored in the checkpoint for eval/extract/fit/score)",
         false},
    };
    memcpy(out, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

/* The MLP's flags and the loop's: optimizer, schedule, augmentation. */
static int loop_flags(train_cli *v, cli_flag *out) {
    eb_train_settings *t = &v->spec.settings;
    const cli_flag rows[] = {
        {"widths", 0, CLI_FLAG_STRING, &v->widths, 0, 0, "W1,W2,..",
         "mlp hidden widths (100,100,100,100,100)", false},
        {"activation", 0, CLI_FLAG_STRING, &v->spec.model.activation, 0, 0, "NAME[:P]",
         "mlp: relu, leaky_relu[:slope], elu[:alpha], softplus[:beta], tanh, sigmoid, swish "
         "(the objective's: ce leaky_relu:0.01; cd, ssm, vera relu, --ebm-preset code the code's leaky_relu)",
         false},
        {"dropout", 0, CLI_FLAG_FLOAT, &v->spec.model.dropout, 0, 0.99, "P",
         "mlp: after the last hidden layer; wrn: inside each block (0)", false},
        {"steps", 0, CLI_FLAG_INT, &t->steps, 0, 1e9, "N",
         "optimizer steps (tabular 10000); 0 = use --epochs", false},
        {"epochs", 0, CLI_FLAG_INT, &t->epochs, 0, 1e7, "N", "epochs, when --steps is 0 (images: 5)", false},
        {"batch-size", 0, CLI_FLAG_INT, &t->batch, 1, 1e7, "N", "mini-batch size (tabular 512, images 128)",
         false},
        {"keep-last-batch", 0, CLI_FLAG_BOOL, &t->keep_last, 0, 0, NULL,
         "train on each epoch's last partial batch (dropped by default)", false},
        {"optimizer", 0, CLI_FLAG_STRING, &t->optimizer, 0, 0, "NAME",
         "sgd, adam or adamw (tabular adamw, images adam)", false},
        {"lr", 0, CLI_FLAG_FLOAT, &t->lr, 0, 10, "LR", "base learning rate (1e-3)", false},
        {"weight-decay", 0, CLI_FLAG_FLOAT, &t->wd, 0, 10, "WD",
         "weight decay: L2 for sgd/adam, decoupled for adamw (0)", false},
        {"momentum", 0, CLI_FLAG_FLOAT, &t->momentum, 0, 0.999999, "M", "sgd momentum (0.9)", false},
        {"nesterov", 0, CLI_FLAG_BOOL, &t->nesterov, 0, 0, NULL, "sgd: Nesterov momentum", false},
        {"beta1", 0, CLI_FLAG_FLOAT, &t->beta1, 0, 0.999999, "B1", "adam/adamw beta1 (0.9)", false},
        {"beta2", 0, CLI_FLAG_FLOAT, &t->beta2, 0, 0.999999, "B2", "adam/adamw beta2 (0.999)", false},
        {"eps", 0, CLI_FLAG_FLOAT, &t->eps, 1e-30, 1, "EPS", "adam/adamw epsilon (1e-8)", false},
        {"schedule", 0, CLI_FLAG_STRING, &t->schedule, 0, 0, "NAME",
         "constant, step, cosine or multistep (tabular step, images cosine)", false},
        {"warmup", 0, CLI_FLAG_INT, &t->warmup, 0, 1e9, "N", "linear warm-up steps (tabular 2500, images 0)",
         false},
        {"step-size", 0, CLI_FLAG_INT, &t->step_size, 1, 1e9, "N",
         "step schedule: steps between decays (3000)", false},
        {"gamma", 0, CLI_FLAG_FLOAT, &t->gamma, 1e-9, 1, "G", "step, multistep schedule: decay factor (0.5)",
         false},
        {"milestones", 0, CLI_FLAG_STRING, &t->milestones, 0, 0, "F1,F2",
         "multistep schedule: decay at these fractions of the run (0.5,0.75)", false},
        {"min-lr", 0, CLI_FLAG_FLOAT, &t->min_lr, 0, 10, "LR", "cosine schedule: final learning rate (0)",
         false},
        {"clip-grad-norm", 0, CLI_FLAG_FLOAT, &t->clip, 0, 1e9, "N",
         "clip the global gradient norm (0 = off)", false},
        {"crop-padding", 0, CLI_FLAG_INT, &t->crop_padding, 0, 64, "P",
         "images: random crop with zero padding P (0)", false},
        {"hflip", 0, CLI_FLAG_BOOL, &t->hflip, 0, 0, NULL, "images: random horizontal flips", false},
        {"resized-crop", 0, CLI_FLAG_BOOL, &t->resized_crop, 0, 0, NULL,
         "images: random resized crops (torchvision's defaults: area 8-100 %, aspect 3/4-4/3)", false},
        {"noise-std", 0, CLI_FLAG_FLOAT, &t->noise_std, 0, 10, "S",
         "images: Gaussian input noise std (0; image EBMs 0.1, the EBM paper's code)", false},
    };
    memcpy(out, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

/* Checkpoints, auxiliary data, --init, --resume, --json. */
static int run_flags(train_cli *v, cli_flag *out) {
    const cli_flag rows[] = {
        {"checkpoint-every", 0, CLI_FLAG_INT, &v->spec.checkpoint_every, 0, 1e9, "E",
         "write the checkpoint every E epochs (images 1, tabular 0 = only at the end)", false},
        {"aux-data", 0, CLI_FLAG_STRING, &v->spec.data.aux_name, 0, 0, "SPEC",
         "auxiliary outliers of oe, energy-ft, hopfield-boost, poem: an image data name (aux), an IDX file, "
         "a .npy, or a .csv of rows (tabular)",
         false},
        {"margin-grid", 0, CLI_FLAG_STRING, &v->spec.margin_grid, 0, 0, "SPEC",
         "energy-ft with --m-in grid --m-out grid: the margins tried, chosen by FPR95 on the ID validation "
         "split vs a held-out AUX slice: auto (3 x 3 around the start's mean energies), paper, or "
         "M_IN,..:M_OUT,..",
         false},
        {"init", 0, CLI_FLAG_STRING, &v->spec.init_path, 0, 0, "CKPT",
         "start from this checkpoint's model (its architecture and weights; e.g. scripts/torch_import.py's)",
         false},
        {"resume", 0, CLI_FLAG_BOOL, &v->spec.resume, 0, 0, NULL,
         "continue from the checkpoint at -o if there is one (same settings required)", false},
        {"stop-after", 0, CLI_FLAG_INT, &v->spec.stop_after, 1, 1e9, "E",
         "end this run after E epochs (checkpointed; continue with --resume)", false},
        CLI_JSON_FLAG(&v->json, "print a JSON summary on stdout"),
    };
    memcpy(out, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

/* Every flag of the command, the objectives' last; returns the count. */
static int train_flags(train_cli *v, cli_flag *out) {
    int n = data_flags(v, out);
    n += loop_flags(v, out + n);
    n += run_flags(v, out + n);
    return n + cli_objective_flags(&v->oa, out + n);
}

static void print_note(void *ctx, const char *line) {
    (void)ctx;
    fprintf(stderr, "ebood train: %s\n", line);
}

/* A .csv/.arff's split flags (the built-in data have their own protocol). Returns 0 or CLI_USAGE. */
static int table_flags(train_cli *v, bool images, const cli_flag *flags, int n_flags, int64_t split_seed) {
    const char *data = v->spec.data.name;
    const bool table_file = !images && strcmp(data, "segment") != 0 && strncmp(data, "toy:", 4) != 0;
    static const char *const names[] = {"val-split", "test-split", "ood-class", "no-standardize"};
    for (size_t i = 0; !table_file && i < sizeof names / sizeof names[0]; i++)
        if (cli_flag_seen(flags, n_flags, names[i])) {
            fprintf(stderr,
                    "ebood train: --%s applies to a .csv/.arff file (--data %s has its own protocol)\n",
                    names[i], data);
            return CLI_USAGE;
        }
    if (v->table.val_frac + v->table.test_frac >= 1) {
        fprintf(stderr, "ebood train: --val-split %g + --test-split %g leaves no training rows\n",
                v->table.val_frac, v->table.test_frac);
        return CLI_USAGE;
    }
    v->table.seed = (uint64_t)split_seed;
    v->table.standardize = !v->no_standardize;
    if (table_file) v->spec.data.table = &v->table;
    return 0;
}

/* The parsed flags into v->spec (objective, widths, quiet, notes). Returns 0 or CLI_USAGE (printed). */
static int make_spec(train_cli *v, const cli_flag *flags, int n_flags, const eb_dist *dist) {
    int rc = cli_objective_check("train", &v->oa, flags, n_flags);
    if (rc) return rc;
    eb_train_spec *s = &v->spec;
    if (!s->data.name || !s->output) {
        fprintf(stderr, "ebood train: --%s is required (see ebood train --help)\n",
                !s->data.name ? "data" : "output");
        return CLI_USAGE;
    }
    s->objective = v->oa.spec;
    if (v->widths && !cli_parse_int_list("train", "widths", v->widths, 1, 1 << 20, s->model.widths,
                                         EB_MLP_MAX_HIDDEN, &s->model.n_widths))
        return CLI_USAGE;
    s->quiet = v->json;
    s->dist = dist;
    s->note = print_note;
    return 0;
}

/* --init's model and, for images, the input normalisation it was trained with. */
static eb_status load_init(train_cli *v, bool images, eb_error *err) {
    eb_train_spec *s = &v->spec;
    eb_safetensors *file = NULL;
    eb_status st = eb_model_load_with_file(s->init_path, NULL, &s->init, &file, err);
    float mean[EB_IMAGE_MAX_CHANNELS], std[EB_IMAGE_MAX_CHANNELS];
    if (!st && images && cli_checkpoint_normalization(file, mean, std, EB_IMAGE_MAX_CHANNELS)) {
        memcpy(s->data.mean, mean, sizeof mean);
        memcpy(s->data.std, std, sizeof std);
        v->init_normalize = true;
    }
    eb_safetensors_free(file);
    return st;
}

/* --data (and --aux-data) into s->data. */
static eb_status load_data(train_cli *v, bool images, const eb_train_plan *plan, train_loaded *d,
                           eb_error *err) {
    eb_train_spec *s = &v->spec;
    eb_train_data *td = &s->data;
    const uint64_t split_seed = (uint64_t)plan->settings.split_seed;
    eb_status st;
    if (images) {
        st = cli_load_images(td->name, split_seed, &d->im, err);
        if (!st && d->im.train.n == 0)
            st = eb_error_set(err, EB_ERR_ARG, "--data %s has no training split", td->name);
        if (!st && !v->init_normalize) { /* else --init's (load_init) */
            memcpy(td->mean, d->im.mean, sizeof td->mean);
            memcpy(td->std, d->im.std, sizeof td->std);
        }
        td->images = &d->im.train;
        td->images_val = &d->im.val;
    } else {
        cli_tabular tab = cli_tabular_plain(split_seed);
        tab.split = v->table;
        tab.data = td->name;
        bool builtin;
        st = cli_load_tabular(td->name, &tab, false, &d->split, &builtin, err);
        if (!st && td->table && d->split.dropped && !v->json)
            fprintf(stderr, "ebood train: note: %s: dropped the constant column%s %s\n", td->name,
                    strchr(d->split.dropped, ',') ? "s" : "", d->split.dropped);
        d->recipe = !st && td->table ? eb_tabular_split_recipe_json(&d->split) : NULL;
        td->recipe_json = d->recipe;
        td->rows = &d->split.train;
        td->rows_val = &d->split.val;
    }
    if (!st && td->aux_name) {
        const eb_image_set *im = &d->im.train;
        st = cli_load_aux(td->aux_name, images ? im->c : 0, images ? im->h : 0, images ? im->w : 0,
                          images ? (int64_t)im->c * im->h * im->w : d->split.train.dim,
                          images ? NULL : &d->split, &d->aux, err);
        td->aux = &d->aux;
    }
    return st;
}

static void loaded_free(train_loaded *d) {
    eb_image_set_free(&d->aux);
    free(d->recipe);
    eb_tabular_split_free(&d->split);
    cli_images_free(&d->im);
}

/* The summary: JSON on stdout, or two lines. */
static void report(const train_cli *v, const eb_train_outcome *o) {
    const eb_train_result *tr = &o->result;
    if (v->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "output", v->spec.output);
        cJSON_AddStringToObject(j, "model", eb_model_kind_name(o->kind));
        cJSON_AddStringToObject(j, "objective", o->objective);
        cJSON_AddNumberToObject(j, "steps", (double)tr->steps);
        cJSON_AddNumberToObject(j, "epochs", (double)tr->epochs);
        cJSON_AddNumberToObject(j, "final_loss", tr->final_loss);
        if (tr->final_accuracy >= 0)
            cJSON_AddNumberToObject(j, "train_acc", tr->final_accuracy);
        else
            cJSON_AddNullToObject(j, "train_acc");
        if (o->val_acc >= 0)
            cJSON_AddNumberToObject(j, "val_acc", o->val_acc);
        else
            cJSON_AddNullToObject(j, "val_acc");
        cJSON_AddNumberToObject(j, "seconds", tr->seconds);
        cJSON_AddBoolToObject(j, "resumed", o->resumed);
        cJSON_AddNumberToObject(j, "ranks", (double)tr->ranks);
        eb_train_outcome_summary(o, j);
        char *text = cJSON_Print(j);
        printf("%s\n", text);
        free(text);
        cJSON_Delete(j);
        return;
    }
    printf("trained %s (%s): %lld steps (%lld epochs) in %.1f s: loss %.4f", eb_model_kind_name(o->kind),
           o->objective, (long long)tr->steps, (long long)tr->epochs, tr->seconds, tr->final_loss);
    if (tr->final_accuracy >= 0) printf(", train accuracy %.2f%%", 100.0 * tr->final_accuracy);
    if (o->val_acc >= 0) printf(", validation accuracy %.2f%%", 100.0 * o->val_acc);
    if (tr->ranks > 1) printf(" (%d ranks)", tr->ranks);
    printf("\nwrote %s\n", v->spec.output);
}

static int train_run(int argc, char **argv, const eb_dist *dist) {
    static train_cli v;
    memset(&v, 0, sizeof v);
    v.spec = eb_train_spec_default();
    v.table = eb_tabular_default_params();
    cli_objective_args_init(&v.oa);
    cli_flag flags[64 + CLI_OBJECTIVE_MAX_FLAGS];
    const int n_flags = train_flags(&v, flags);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse("train", usage, argc, argv, 2, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if ((rc = make_spec(&v, flags, n_flags, dist))) return rc;
    eb_train_spec *s = &v.spec;
    const bool images = cli_is_image_spec(s->data.name);
    eb_error err = {0};
    eb_train_plan plan; /* the settings' early check (usage errors before loading anything) */
    if (eb_train_spec_resolve(s, images, 0, &plan, &err)) return cli_fail("train", &err);
    if ((rc = table_flags(&v, images, flags, n_flags, plan.settings.split_seed))) return rc;
    static train_loaded d;
    memset(&d, 0, sizeof d);
    eb_train_outcome out = {0};
    eb_status st = s->init_path ? load_init(&v, images, &err) : EB_OK;
    if (!st) st = load_data(&v, images, &plan, &d, &err);
    if (!st)
        st = eb_train_run(s, &out, &err);
    else
        eb_model_free(s->init);
    if (!st) report(&v, &out);
    eb_train_outcome_free(&out);
    loaded_free(&d);
    return st ? cli_fail("train", &err) : CLI_OK;
}

int cmd_train(int argc, char **argv) { return cli_dist_run("train", argc, argv, train_run); }
