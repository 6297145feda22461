/* ebood train: train an MLP classifier on tabular data and write a checkpoint. */
#include "cli/cli_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "--data NAME|FILE -o CKPT [options]";

int cmd_train(int argc, char **argv) {
    const char *cmd = "train";
    const char *data = NULL, *output = NULL, *widths = "100,100,100,100,100", *activation = "leaky_relu:0.01";
    const char *optimizer = "adamw", *schedule = "step";
    int64_t seed = 0, split_seed = -1, steps = 10000, epochs = 0, batch = 512, warmup = 2500,
            step_size = 3000;
    double lr = 1e-3, wd = 0.0, momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, gamma = 0.5,
           min_lr = 0.0;
    double dropout = 0.0, clip = 0.0;
    bool nesterov = false, keep_last = false, json = false;
    cli_flag flags[] = {
        {"data", 0, CLI_FLAG_STRING, &data, 0, 0, "NAME|FILE",
         "training data: segment, or an .arff/.csv file (labelled)", false},
        {"output", 'o', CLI_FLAG_STRING, &output, 0, 0, "CKPT", "checkpoint to write (.safetensors, atomic)",
         false},
        {"seed", 0, CLI_FLAG_INT, &seed, 0, 9.2e18, "N", "seed of initialisation, shuffling and dropout (0)",
         false},
        {"split-seed", 0, CLI_FLAG_INT, &split_seed, 0, 9.2e18, "N",
         "seed of the built-in train/val/test split (default: --seed)", false},
        {"widths", 0, CLI_FLAG_STRING, &widths, 0, 0, "W1,W2,..", "hidden layer widths (100,100,100,100,100)",
         false},
        {"activation", 0, CLI_FLAG_STRING, &activation, 0, 0, "NAME[:P]",
         "relu, leaky_relu[:slope], elu[:alpha], softplus[:beta], tanh, sigmoid, swish (leaky_relu:0.01)",
         false},
        {"dropout", 0, CLI_FLAG_FLOAT, &dropout, 0, 0.99, "P", "dropout after each hidden layer (0)", false},
        {"steps", 0, CLI_FLAG_INT, &steps, 0, 1e9, "N", "optimizer steps (10000); 0 = use --epochs", false},
        {"epochs", 0, CLI_FLAG_INT, &epochs, 0, 1e7, "N", "epochs, when --steps 0", false},
        {"batch-size", 0, CLI_FLAG_INT, &batch, 1, 1e7, "N", "mini-batch size (512)", false},
        {"keep-last-batch", 0, CLI_FLAG_BOOL, &keep_last, 0, 0, NULL,
         "train on each epoch's last partial batch (dropped by default)", false},
        {"optimizer", 0, CLI_FLAG_STRING, &optimizer, 0, 0, "NAME", "sgd, adam or adamw (adamw)", false},
        {"lr", 0, CLI_FLAG_FLOAT, &lr, 0, 10, "LR", "base learning rate (1e-3)", false},
        {"weight-decay", 0, CLI_FLAG_FLOAT, &wd, 0, 10, "WD",
         "weight decay: L2 for sgd/adam, decoupled for adamw (0)", false},
        {"momentum", 0, CLI_FLAG_FLOAT, &momentum, 0, 0.999999, "M", "sgd momentum (0.9)", false},
        {"nesterov", 0, CLI_FLAG_BOOL, &nesterov, 0, 0, NULL, "sgd: Nesterov momentum", false},
        {"beta1", 0, CLI_FLAG_FLOAT, &beta1, 0, 0.999999, "B1", "adam/adamw beta1 (0.9)", false},
        {"beta2", 0, CLI_FLAG_FLOAT, &beta2, 0, 0.999999, "B2", "adam/adamw beta2 (0.999)", false},
        {"eps", 0, CLI_FLAG_FLOAT, &eps, 1e-30, 1, "EPS", "adam/adamw epsilon (1e-8)", false},
        {"schedule", 0, CLI_FLAG_STRING, &schedule, 0, 0, "NAME", "constant, step or cosine (step)", false},
        {"warmup", 0, CLI_FLAG_INT, &warmup, 0, 1e9, "N", "linear warm-up steps (2500)", false},
        {"step-size", 0, CLI_FLAG_INT, &step_size, 1, 1e9, "N", "step schedule: steps between decays (3000)",
         false},
        {"gamma", 0, CLI_FLAG_FLOAT, &gamma, 1e-9, 1, "G", "step schedule: decay factor (0.5)", false},
        {"min-lr", 0, CLI_FLAG_FLOAT, &min_lr, 0, 10, "LR", "cosine schedule: final learning rate (0)",
         false},
        {"clip-grad-norm", 0, CLI_FLAG_FLOAT, &clip, 0, 1e9, "N", "clip the global gradient norm (0 = off)",
         false},
        {"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print a JSON summary on stdout", false},
    };
    int n_flags = (int)(sizeof flags / sizeof flags[0]), n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, usage, argc, argv, 2, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!data || !output) {
        fprintf(stderr, "ebood train: --%s is required (see ebood train --help)\n",
                !data ? "data" : "output");
        return CLI_USAGE;
    }
    if (steps == 0 && epochs == 0) {
        fprintf(stderr, "ebood train: --steps 0 needs --epochs N\n");
        return CLI_USAGE;
    }

    eb_error err = {0};
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
    eb_train_params tp = eb_train_default_params();
    if (eb_optimizer_kind_parse(optimizer, &tp.optimizer.kind, &err) ||
        eb_schedule_kind_parse(schedule, &tp.schedule.kind, &err)) {
        fprintf(stderr, "ebood train: %s\n", err.message);
        return CLI_USAGE;
    }
    eb_optimizer_kind kind = tp.optimizer.kind;
    tp.optimizer = kind == EB_OPTIM_SGD    ? eb_sgd_default_params()
                   : kind == EB_OPTIM_ADAM ? eb_adam_default_params()
                                           : eb_adamw_default_params();
    tp.optimizer.lr = (float)lr;
    tp.optimizer.weight_decay = (float)wd;
    if (kind == EB_OPTIM_SGD) {
        tp.optimizer.momentum = (float)momentum;
        tp.optimizer.nesterov = nesterov;
    } else {
        tp.optimizer.beta1 = (float)beta1;
        tp.optimizer.beta2 = (float)beta2;
        tp.optimizer.eps = (float)eps;
    }
    eb_schedule_kind sk = tp.schedule.kind;
    tp.schedule = eb_schedule_default((float)lr);
    tp.schedule.kind = sk;
    tp.schedule.warmup_steps = warmup;
    tp.schedule.step_size = step_size;
    tp.schedule.gamma = (float)gamma;
    tp.schedule.min_lr = (float)min_lr;
    tp.steps = steps;
    tp.epochs = epochs;
    tp.batch_size = batch;
    tp.drop_last = !keep_last;
    tp.clip_grad_norm = clip;
    tp.seed = (uint64_t)seed;
    tp.progress = !json;
    if (sk == EB_SCHEDULE_COSINE) tp.schedule.total_steps = steps; /* epochs-based: set after loading */
    if (eb_optimizer_params_check(&tp.optimizer, &err)) return cli_fail(cmd, &err);

    eb_tabular_split split;
    bool builtin;
    uint64_t split_used = (uint64_t)(split_seed >= 0 ? split_seed : seed);
    if (cli_load_tabular(data, split_used, false, &split, &builtin, &err)) return cli_fail(cmd, &err);
    mc.in_dim = split.train.dim;
    mc.out_dim = split.train.num_classes;
    if (sk == EB_SCHEDULE_COSINE && steps == 0) {
        int64_t b = batch < split.train.n ? batch : split.train.n;
        tp.schedule.total_steps = epochs * (tp.drop_last ? split.train.n / b : (split.train.n + b - 1) / b);
    }

    eb_model *model = NULL;
    eb_rng init;
    eb_rng_seed(&init, (uint64_t)seed);
    eb_train_result tr = {0};
    eb_status st = eb_mlp_new(&mc, &init, NULL, &model, &err);
    if (!st)
        st = eb_train(model, split.train.x, split.train.y, split.train.n, split.train.dim,
                      eb_objective_cross_entropy, NULL, &tp, &tr, &err);
    double val_acc = -1.0;
    if (!st && builtin && split.val.n > 0) {
        float *logits = malloc((size_t)(split.val.n * mc.out_dim) * sizeof *logits);
        st = logits ? eb_model_predict(model, split.val.x, split.val.n, 1024, logits, NULL, &err)
                    : eb_error_set(&err, EB_ERR_NOMEM, "out of memory");
        if (!st) st = eb_accuracy(logits, split.val.n, mc.out_dim, split.val.y, &val_acc, &err);
        free(logits);
    }
    if (!st) {
        char seed_s[32], split_s[32], steps_s[32], opt_s[256], sched_s[256];
        snprintf(seed_s, sizeof seed_s, "%lld", (long long)seed);
        snprintf(split_s, sizeof split_s, "%llu", (unsigned long long)split_used);
        snprintf(steps_s, sizeof steps_s, "%lld", (long long)tr.steps);
        eb_optimizer_params_format(&tp.optimizer, opt_s, sizeof opt_s);
        eb_schedule_format(&tp.schedule, sched_s, sizeof sched_s);
        cJSON *classes = cJSON_CreateArray();
        for (int c = 0; c < split.train.num_classes; c++)
            cJSON_AddItemToArray(
                classes, cJSON_CreateString(split.train.class_names ? split.train.class_names[c] : ""));
        char *classes_s = cJSON_PrintUnformatted(classes);
        cJSON_Delete(classes);
        const eb_st_meta meta[] = {
            {"ebood.data", data},
            {"ebood.seed", seed_s},
            {"ebood.split_seed", split_s},
            {"ebood.steps", steps_s},
            {"ebood.optimizer", opt_s},
            {"ebood.schedule", sched_s},
            {"ebood.classes", classes_s ? classes_s : "[]"},
        };
        st = eb_model_save(model, output, meta, (int)(sizeof meta / sizeof meta[0]), &err);
        free(classes_s);
    }
    if (!st) {
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "output", output);
            cJSON_AddNumberToObject(o, "steps", (double)tr.steps);
            cJSON_AddNumberToObject(o, "epochs", (double)tr.epochs);
            cJSON_AddNumberToObject(o, "final_loss", tr.final_loss);
            cJSON_AddNumberToObject(o, "train_acc", tr.final_accuracy);
            if (val_acc >= 0)
                cJSON_AddNumberToObject(o, "val_acc", val_acc);
            else
                cJSON_AddNullToObject(o, "val_acc");
            cJSON_AddNumberToObject(o, "seconds", tr.seconds);
            char *text = cJSON_Print(o);
            printf("%s\n", text);
            free(text);
            cJSON_Delete(o);
        } else {
            printf("trained %lld steps (%lld epochs) in %.1f s: loss %.4f, train accuracy %.2f%%",
                   (long long)tr.steps, (long long)tr.epochs, tr.seconds, tr.final_loss,
                   100.0 * tr.final_accuracy);
            if (val_acc >= 0) printf(", validation accuracy %.2f%%", 100.0 * val_acc);
            printf("\nwrote %s\n", output);
        }
    }
    eb_model_free(model);
    eb_tabular_split_free(&split);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}
