/* Data and output helpers shared by the subcommands. */
#define _XOPEN_SOURCE 700 /* realpath, strdup */
#include "cli/cli_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *cli_data_dir(char *buf, size_t size) {
    const char *env = getenv("EBOOD_DATA");
    if (env && *env)
        snprintf(buf, size, "%s", env);
    else
        snprintf(buf, size, "%s/.cache/ebood", getenv("HOME") ? getenv("HOME") : ".");
    return buf;
}

const char *cli_rendered_dir(char *buf, size_t size) {
    char dir[4096];
    snprintf(buf, size, "%s/rendered", cli_data_dir(dir, sizeof dir));
    return buf;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

cli_tabular cli_tabular_plain(uint64_t split_seed) {
    cli_tabular t;
    memset(&t, 0, sizeof t);
    t.split.seed = split_seed;
    return t;
}

eb_status cli_tabular_from_checkpoint(const eb_safetensors *file, const char *path, uint64_t split_seed,
                                      cli_tabular *out, eb_error *err) {
    *out = cli_tabular_plain(split_seed);
    const char *recipe = file ? eb_safetensors_meta(file, "ebood.tabular") : NULL;
    if (!recipe) return EB_OK;
    eb_status st = eb_tabular_split_recipe_parse(recipe, path, &out->recipe, err);
    if (st) return st;
    out->data = eb_safetensors_meta(file, "ebood.data");
    out->split.val_frac = out->recipe.val_frac;
    out->split.test_frac = out->recipe.test_frac;
    out->split.ood_class = out->recipe.ood_class;
    out->split.standardize = out->recipe.mean != NULL;
    return EB_OK;
}

void cli_tabular_free(cli_tabular *t) { eb_tabular_split_free(&t->recipe); }

/* The same file: equal names, or the same resolved path. */
static bool same_file(const char *a, const char *b) {
    if (strcmp(a, b) == 0) return true;
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    bool same = ra && rb && strcmp(ra, rb) == 0;
    free(ra);
    free(rb);
    return same;
}

static void free_names(char **names, int64_t n) {
    for (int64_t j = 0; names && j < n; j++) free(names[j]);
    free(names);
}

bool cli_tabular_has_val(const eb_safetensors *file, const char *spec) {
    cli_tabular t;
    eb_error ignored = {0};
    if (cli_tabular_from_checkpoint(file, "", 0, &t, &ignored)) return false;
    bool has = t.data && t.split.val_frac > 0 && same_file(spec, t.data);
    cli_tabular_free(&t);
    return has;
}

/* A labelled .arff/.csv file, whole, with its feature names (ARFF attributes; NULL for CSV). */
static eb_status read_table(const char *spec, eb_dataset *d, char ***names, eb_error *err) {
    eb_status st;
    *names = NULL;
    if (ends_with(spec, ".arff")) {
        eb_arff arff;
        if ((st = eb_arff_read(spec, &arff, err))) return st;
        st = eb_arff_to_dataset(&arff, NULL, d, err);
        /* the features: every attribute but the class (the last nominal one), in file order */
        int cls = -1;
        for (int j = 0; j < arff.num_attributes; j++)
            if (arff.attributes[j].type == EB_ARFF_NOMINAL) cls = j;
        if (!st && arff.num_attributes - 1 == d->dim && (*names = calloc((size_t)d->dim, sizeof **names)))
            for (int j = 0, k = 0; j < arff.num_attributes; j++)
                if (j != cls && !((*names)[k++] = strdup(arff.attributes[j].name)))
                    st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", spec);
        eb_arff_free(&arff);
    } else if (ends_with(spec, ".csv")) {
        st = eb_csv_read_dataset(spec, -1, d, err);
    } else {
        return eb_error_set(err, EB_ERR_ARG,
                            "--data: '%s' is neither a built-in dataset (segment, toy:cross, toy:crosses) "
                            "nor an .arff/.csv file",
                            spec);
    }
    if (!st && !d->y) st = eb_error_set(err, EB_ERR_FORMAT, "%s: no label column", spec);
    if (!st) st = eb_dataset_check_finite(d, spec, err);
    if (st) {
        free_names(*names, d->dim);
        *names = NULL;
        eb_dataset_free(d);
    }
    return st;
}

/* Whether d has a class called `name` (its number for unnamed labels). */
static bool has_class(const eb_dataset *d, const char *name) {
    for (int k = 0; k < d->num_classes; k++) {
        char num[16];
        snprintf(num, sizeof num, "%d", k);
        if (strcmp(d->class_names ? d->class_names[k] : num, name) == 0) return true;
    }
    return false;
}

eb_status cli_load_tabular(const char *spec, const cli_tabular *t, bool as_test, eb_tabular_split *out,
                           bool *is_builtin, eb_error *err) {
    memset(out, 0, sizeof *out);
    *is_builtin = false;
    if (strcmp(spec, "segment") == 0) {
        char dir[4096], seg[4200];
        snprintf(seg, sizeof seg, "%s/segment", cli_data_dir(dir, sizeof dir));
        eb_segment_params p = eb_segment_default_params();
        p.seed = t->split.seed;
        *is_builtin = true;
        eb_status st = eb_segment_load(seg, &p, out, err);
        if (st == EB_ERR_IO)
            eb_error_set(err, st, "%s (fetch it with: bash scripts/fetch-data.sh, or set EBOOD_DATA)",
                         err->message);
        return st;
    }
    if (strncmp(spec, "toy:", 4) == 0) { /* HEAT's 2-D toy data (src/data/toy2d.c), drawn from split_seed */
        *is_builtin = true;
        eb_status st = eb_toy2d_split(spec + 4, t->split.seed, out, err);
        if (st == EB_ERR_ARG)
            eb_error_set(err, st, "--data %s: unknown toy dataset (toy:cross, toy:crosses)", spec);
        return st;
    }
    eb_dataset all;
    char **names;
    eb_status st = read_table(spec, &all, &names, err);
    if (st) return st;
    const int64_t n_names = all.dim;
    const bool recipe = t->recipe.n_columns > 0;
    if (t->data && same_file(spec, t->data)) { /* the table the model was trained on: its split */
        st = eb_tabular_split_make(&all, (const char *const *)names, &t->split, spec, out, err);
        if (!st && recipe && out->dim != t->recipe.dim)
            st = eb_error_set(err, EB_ERR_SHAPE, "%s now gives %lld features, the model was trained on %lld",
                              spec, (long long)out->dim, (long long)t->recipe.dim);
        *is_builtin = !st && (t->split.val_frac > 0 || t->split.test_frac > 0 || t->split.ood_class);
        if (!st && as_test && out->test.n == 0) { /* no test split: its ID rows are the test rows */
            int64_t *rows = malloc((size_t)(out->train.n ? out->train.n : 1) * sizeof *rows);
            for (int64_t i = 0; rows && i < out->train.n; i++) rows[i] = i;
            eb_dataset_free(&out->test);
            st = rows ? eb_dataset_subset(&out->train, rows, out->train.n, &out->test, err)
                      : eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", spec);
            free(rows);
        }
    } else if (t->data && t->split.ood_class && has_class(&all, t->split.ood_class)) {
        /* another table with the held-out class (e.g. the test file of a train/test pair): its rows of
         * that class are the OOD split, the others train (test when as_test), in the model's input space */
        const eb_tabular_params p = {.seed = t->split.seed, .ood_class = t->split.ood_class};
        st = eb_tabular_split_make(&all, NULL, &p, spec, out, err);
        free_names(out->feature_names, out->dim); /* of the file's columns: not the model's */
        out->feature_names = NULL;
        if (!st && recipe) st = eb_tabular_split_apply(&t->recipe, &out->train, spec, err);
        if (!st && recipe) st = eb_tabular_split_apply(&t->recipe, &out->ood, spec, err);
        if (!st && as_test) {
            eb_dataset_free(&out->test); /* empty */
            out->test = out->train;
            memset(&out->train, 0, sizeof out->train);
        }
        out->dim = out->ood.dim;
        *is_builtin = !st;
    } else { /* another file: all its rows, in the model's input space */
        eb_dataset *d = as_test ? &out->test : &out->train;
        *d = all;
        memset(&all, 0, sizeof all);
        if (recipe) st = eb_tabular_split_apply(&t->recipe, d, spec, err);
        out->dim = d->dim;
    }
    free_names(names, n_names);
    eb_dataset_free(&all);
    if (st) eb_tabular_split_free(out);
    return st;
}

eb_status cli_write_text(const char *path, const char *text, eb_error *err) {
    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (st) return st;
    if (fputs(text, af.fp) < 0 || fputc('\n', af.fp) < 0) {
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    }
    return eb_atomic_commit(&af, err);
}

/* A rendered set's name, alone ("aux": the built file) or with a count ("aux:300000": rendered in
 * memory with the default seed; the built file is its prefix). */
static const eb_rendered_set_info *rendered_spec(const char *spec, int64_t *count) {
    char name[64];
    size_t len = strcspn(spec, ":");
    if (len >= sizeof name) return NULL;
    memcpy(name, spec, len);
    name[len] = 0;
    const eb_rendered_set_info *info = eb_rendered_set_find(name);
    *count = 0;
    if (info && spec[len] == ':') {
        char *end;
        *count = strtoll(spec + len + 1, &end, 10);
        if (*end || *count < 1) *count = -1; /* malformed: reported by the loader */
    }
    return info;
}

bool cli_is_image_spec(const char *spec) {
    int64_t count;
    return strcmp(spec, "fmnist") == 0 || strcmp(spec, "mnist") == 0 || strncmp(spec, "cifar10:", 8) == 0 ||
           strncmp(spec, "cifar100:", 9) == 0 || strncmp(spec, "folder:", 7) == 0 ||
           rendered_spec(spec, &count) != NULL;
}

void cli_images_free(cli_images *im) {
    eb_image_set_free(&im->train);
    eb_image_set_free(&im->val);
    eb_image_set_free(&im->test);
}

/* Splits `all` into train (n − n_val rows) and val (n_val rows) with a seeded permutation. */
static eb_status split_val(eb_image_set *all, int64_t n_val, uint64_t seed, cli_images *out, eb_error *err) {
    int64_t n = all->n, *perm = malloc((size_t)n * sizeof *perm);
    if (!perm) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_rng_permutation(&rng, n, perm);
    eb_status st = eb_image_set_subset(all, perm, n - n_val, &out->train, err);
    if (!st) st = eb_image_set_subset(all, perm + (n - n_val), n_val, &out->val, err);
    free(perm);
    return st;
}

/* Copies `set` into out->test and splits it into train/val (90/10, seeded). */
static eb_status one_split(eb_image_set *set, uint64_t seed, cli_images *out, eb_error *err) {
    eb_status st = split_val(set, set->n / 10, seed, out, err);
    out->test = *set;
    memset(set, 0, sizeof *set);
    return st;
}

static bool is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* folder:DIR — DIR/train and DIR/test when both exist (train split 90/10 into train/val), else DIR itself
 * as one split (test = all images, train/val = a 90/10 split of the same images). */
static eb_status load_folder(const char *dir, int c, int h, int w, uint64_t seed, cli_images *out,
                             eb_error *err) {
    char train[4096], test[4096];
    snprintf(train, sizeof train, "%s/train", dir);
    snprintf(test, sizeof test, "%s/test", dir);
    eb_image_set all;
    if (!is_dir(train) || !is_dir(test)) {
        eb_status st = eb_image_folder_read(dir, c, h, w, &all, NULL, NULL, err);
        return st ? st : one_split(&all, seed, out, err);
    }
    eb_status st = eb_image_folder_read(train, c, h, w, &all, NULL, NULL, err);
    if (!st) st = eb_image_folder_read(test, all.c, all.h, all.w, &out->test, NULL, NULL, err);
    if (!st && out->test.num_classes != all.num_classes)
        st = eb_error_set(err, EB_ERR_FORMAT, "%s has %d class folders, but %s has %d", test,
                          out->test.num_classes, train, all.num_classes);
    if (!st) st = split_val(&all, all.n / 10, seed, out, err);
    eb_image_set_free(&all);
    return st;
}

eb_status cli_load_images(const char *spec, uint64_t split_seed, cli_images *out, eb_error *err) {
    return cli_load_images_shaped(spec, split_seed, 0, 0, 0, out, err);
}

eb_status cli_load_images_shaped(const char *spec, uint64_t split_seed, int channels, int height, int width,
                                 cli_images *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    char dir[4096], path[4200];
    cli_data_dir(dir, sizeof dir);
    eb_image_set all;
    memset(&all, 0, sizeof all);
    eb_status st;
    for (int c = 0; c < EB_IMAGE_MAX_CHANNELS; c++) out->mean[c] = out->std[c] = 0.5f;
    int64_t count;
    const eb_rendered_set_info *rendered = rendered_spec(spec, &count);
    if (strncmp(spec, "folder:", 7) == 0) {
        st = load_folder(spec + 7, channels, height, width, split_seed, out, err);
    } else if (rendered) { /* one split: the same images are `train` and `test` */
        if (count < 0) {
            st = eb_error_set(err, EB_ERR_ARG, "'%s': expected %s or %s:COUNT (COUNT >= 1)", spec,
                              rendered->name, rendered->name);
        } else if (count > 0) {
            eb_render_params p = eb_render_default_params();
            p.count = count;
            st = eb_rendered_set_render(rendered->name, &p, &out->test, NULL, err);
        } else {
            st = eb_rendered_set_load(cli_rendered_dir(path, sizeof path), rendered->name, &out->test, err);
            if (st == EB_ERR_IO)
                eb_error_set(err, st, "%s (build it with: ebood data build %s, or make data)", err->message,
                             rendered->name);
        }
        int64_t *rows = st ? NULL : malloc((size_t)(out->test.n ? out->test.n : 1) * sizeof *rows);
        if (!st && !rows) st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; !st && i < out->test.n; i++) rows[i] = i;
        if (!st) st = eb_image_set_subset(&out->test, rows, out->test.n, &out->train, err);
        free(rows);
    } else if (strcmp(spec, "fmnist") == 0 || strcmp(spec, "mnist") == 0) {
        bool fashion = spec[0] == 'f';
        snprintf(path, sizeof path, "%s/%s", dir, fashion ? "fashion-mnist" : "mnist");
        st = eb_idx_load_dir(path, fashion ? "t10k" : "npm", 10, &out->test, err);
        if (!st && fashion) st = eb_idx_load_dir(path, "train", 10, &all, err);
        if (!st && fashion) st = split_val(&all, 5000, split_seed, out, err);
        if (st == EB_ERR_IO)
            eb_error_set(err, st, "%s (fetch it with: bash scripts/fetch-data.sh, or set EBOOD_DATA)",
                         err->message);
    } else {
        bool c100 = strncmp(spec, "cifar100:", 9) == 0;
        const char *cdir = strchr(spec, ':') + 1;
        eb_cifar_kind kind = c100 ? EB_CIFAR100_FINE : EB_CIFAR10;
        st = eb_cifar_load_dir(cdir, kind, false, &out->test, err);
        if (!st) st = eb_cifar_load_dir(cdir, kind, true, &all, err);
        if (!st) st = split_val(&all, 5000 < all.n / 2 ? 5000 : all.n / 10, split_seed, out, err);
        /* the energy paper's CIFAR normalisation (specs §1) */
        static const float mean[3] = {125.3f / 255, 123.0f / 255, 113.9f / 255},
                           std[3] = {63.0f / 255, 62.1f / 255, 66.7f / 255};
        for (int c = 0; c < 3; c++) {
            out->mean[c] = mean[c];
            out->std[c] = std[c];
        }
    }
    eb_image_set_free(&all);
    if (st) cli_images_free(out);
    return st;
}

eb_status cli_load_rows(const char *spec, const char *split, uint64_t split_seed, const eb_model *model,
                        const eb_safetensors *ckpt, const float *mean, const float *std, eb_dataset *out,
                        eb_error *err) {
    memset(out, 0, sizeof *out);
    bool is_train = strcmp(split, "train") == 0, is_val = strcmp(split, "val") == 0,
         is_test = strcmp(split, "test") == 0, is_ood = strcmp(split, "ood") == 0;
    if (!is_train && !is_val && !is_test && !is_ood)
        return eb_error_set(err, EB_ERR_ARG, "--split: expected train, val, test or ood, got '%s'", split);
    eb_status st;
    if (cli_is_image_spec(spec)) {
        cli_images im;
        bool image_model = model && eb_model_kind_is_image(model->kind);
        if ((st = cli_load_images_shaped(spec, split_seed, image_model ? (int)model->image.channels : 0,
                                         image_model ? (int)model->image.height : 0,
                                         image_model ? (int)model->image.width : 0, &im, err)))
            return st;
        const eb_image_set *s = is_train ? &im.train : is_val ? &im.val : is_test ? &im.test : NULL;
        if (!s || s->n == 0)
            st = eb_error_set(err, EB_ERR_ARG, "--data %s has no '%s' split", spec, split);
        else
            st = eb_image_set_to_dataset(s, mean ? mean : im.mean, std ? std : im.std, out, err);
        cli_images_free(&im);
        return st;
    }
    eb_tabular_split t;
    bool builtin;
    cli_tabular tab;
    if ((st = cli_tabular_from_checkpoint(ckpt, "the checkpoint", split_seed, &tab, err))) return st;
    st = cli_load_tabular(spec, &tab, !is_train, &t, &builtin, err);
    cli_tabular_free(&tab);
    if (st) return st;
    eb_dataset *d = is_train ? &t.train : is_val ? &t.val : is_test ? &t.test : &t.ood;
    if (!builtin && (is_val || is_ood)) {
        st = eb_error_set(
            err, EB_ERR_ARG,
            "--split %s: a file has only its rows (use --split test, or train with --val-split / "
            "--ood-class)",
            split);
    } else if (d->n == 0) {
        st = eb_error_set(err, EB_ERR_ARG, "--data %s has no '%s' split", spec, split);
    } else {
        *out = *d;
        memset(d, 0, sizeof *d);
    }
    eb_tabular_split_free(&t);
    return st;
}

bool cli_checkpoint_normalization(const eb_safetensors *file, float *mean, float *std, int max_channels) {
    const char *text = eb_safetensors_meta(file, "ebood.normalize");
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    const cJSON *m = o ? cJSON_GetObjectItemCaseSensitive(o, "mean") : NULL;
    const cJSON *s = o ? cJSON_GetObjectItemCaseSensitive(o, "std") : NULL;
    int n = cJSON_IsArray(m) && cJSON_IsArray(s) ? cJSON_GetArraySize(m) : 0;
    bool ok = n >= 1 && n <= max_channels && cJSON_GetArraySize(s) == n;
    for (int c = 0; ok && c < n; c++) {
        const cJSON *mc = cJSON_GetArrayItem(m, c), *sc = cJSON_GetArrayItem(s, c);
        ok = cJSON_IsNumber(mc) && cJSON_IsNumber(sc) && sc->valuedouble > 0;
        if (ok) {
            mean[c] = (float)mc->valuedouble;
            std[c] = (float)sc->valuedouble;
        }
    }
    cJSON_Delete(o);
    return ok;
}
