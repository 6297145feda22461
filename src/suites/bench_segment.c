/* The `segment` suite (shared/specs/protocols.md): the EBM paper's tabular experiment.
 * Per seed: split UCI Segment (sky held out), train the MLP with cross-entropy, and score the ID
 * test split against sky, uniform U(−5,5), Gaussian N(0,1) and constant inputs with every detector
 * that applies; then train each requested EBM (CD, CD-S, SSM, SSM-S, VERA, VERA-S, radial flow "NF")
 * on the same training rows and score the same sets with its log-density (bench_ebm.c). */
#include "suites/bench_impl.h"

#include <ebood/data.h>
#include <ebood/suites.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* seeds of the EBM paper's released code (seed-code-specs.md §4) */
static const uint64_t ebm_paper_seeds[] = {2525, 2123, 293993, 2324234, 6566634};

/* 002_39b8670b82235277.txt, CE row: Table 5 (Segment OOD = sky) and Table 6 (Constant, Noise);
 * AUC-PR with OOD positive, percent. The released code generates both U(−5,5) and N(0,1) sets and
 * the paper does not say which one its tabular "Noise" column is; we show it beside the uniform
 * set, where our CE numbers agree with it (33.4 vs 33.8) and the Gaussian set's do not (≈ 61). */
static const eb_paper_value segment_paper_values[] = {
    {"energy", "sky", 33.35, 1.82},
    {"energy", "constant", 42.57, 18.3},
    {"energy", "uniform", 33.82, 3.14},
    /* the EBM rows, same tables and columns (Segment OOD | Constant | Noise); NF has one run, no std */
    {"NF", "sky", 99.12, NAN},
    {"NF", "constant", 99.97, NAN},
    {"NF", "uniform", 100.0, NAN},
    {"CD", "sky", 98.18, 2.18},
    {"CD", "constant", 96.13, 2.55},
    {"CD", "uniform", 95.43, 3.58},
    {"CD-S", "sky", 100.0, 0.0},
    {"CD-S", "constant", 94.57, 2.11},
    {"CD-S", "uniform", 98.68, 1.9},
    {"SSM", "sky", 79.43, 24.29},
    {"SSM", "constant", 74.86, 23.37},
    {"SSM", "uniform", 80.35, 17.38},
    {"SSM-S", "sky", 100.0, 0.0},
    {"SSM-S", "constant", 51.57, 25.04},
    {"SSM-S", "uniform", 70.09, 17.57},
    {"VERA", "sky", 94.63, 7.22},
    {"VERA", "constant", 100.0, 0.0},
    {"VERA", "uniform", 100.0, 0.0},
    {"VERA-S", "sky", 99.35, 1.08},
    {"VERA-S", "constant", 99.01, 1.45},
    {"VERA-S", "uniform", 99.9, 0.3},
};

const eb_paper_value *eb_bench_segment_paper_values(int *n) {
    *n = (int)(sizeof segment_paper_values / sizeof segment_paper_values[0]);
    return segment_paper_values;
}

/* every detector that applies to a classifier's logits and penultimate features */
static const eb_detector_kind default_detectors[] = {
    EB_DETECTOR_MSP,         EB_DETECTOR_MAX_LOGIT, EB_DETECTOR_ENERGY, EB_DETECTOR_ODIN,
    EB_DETECTOR_MAHALANOBIS, EB_DETECTOR_SSD,       EB_DETECTOR_KNN,    EB_DETECTOR_HOPFIELD};

eb_bench_segment_params eb_bench_segment_default_params(const char *data_dir) {
    eb_bench_segment_params p;
    memset(&p, 0, sizeof p);
    p.data_dir = data_dir;
    p.n_seeds = 5;
    p.split_seed = -1;
    p.n_synthetic = 2000;
    p.model = eb_mlp_default_config(0, 0); /* 5×100, LeakyReLU(0.01) */
    p.n_detectors = (int)(sizeof default_detectors / sizeof default_detectors[0]);
    memcpy(p.detectors, default_detectors, sizeof default_detectors);
    /* specs §4 "Common training": AdamW(1e-3, β=(0.9, 0.999), wd 0), 10,000 steps of batch 512 with
     * drop_last, linear warm-up over 2,500 steps, StepLR(1000 epochs, γ=0.5): Segment's 1,584
     * training rows give 3 steps per epoch, so the rate halves every 3,000 steps. */
    p.train = eb_train_default_params();
    p.train.steps = 10000;
    p.train.batch_size = 512;
    p.train.drop_last = true;
    p.train.optimizer = eb_adamw_default_params();
    p.train.optimizer.weight_decay = 0.0f;
    p.train.schedule = eb_schedule_default(1e-3f);
    p.train.schedule.kind = EB_SCHEDULE_STEP;
    p.train.schedule.step_size = 3000;
    p.train.schedule.gamma = 0.5f;
    p.train.schedule.warmup_steps = 2500;
    p.n_ebm = 0; /* EBM rows on request (the CLI's --ebm) */
    p.ebm_budget = eb_bench_ebm_paper_budget();
    return p;
}

static eb_status run_one(const eb_bench_segment_params *p, uint64_t seed, eb_eval_report *report,
                         double *seconds, double *ebm_seconds, eb_error *err) {
    eb_segment_params sp = eb_segment_default_params();
    sp.seed = p->split_seed >= 0 ? (uint64_t)p->split_seed : seed;
    eb_tabular_split split;
    memset(&split, 0, sizeof split);
    eb_status st = eb_segment_load(p->data_dir, &sp, &split, err);
    if (st) return st;

    enum { N_OOD = 1 + EB_TABULAR_OOD_COUNT };
    eb_dataset synthetic[EB_TABULAR_OOD_COUNT];
    memset(synthetic, 0, sizeof synthetic);
    /* a stream of its own: the model initialisation below is seeded with `seed` itself */
    st = eb_tabular_ood_nonnatural(p->n_synthetic, split.dim, seed ^ 0x5eedda7aull, synthetic, err);

    eb_model *model = NULL;
    if (!st) {
        eb_mlp_config c = p->model;
        c.in_dim = split.dim;
        c.out_dim = split.train.num_classes;
        eb_rng init;
        eb_rng_seed(&init, seed);
        st = eb_mlp_new(&c, &init, NULL, &model, err);
    }
    if (!st) {
        eb_train_params tp = p->train;
        tp.seed = seed;
        tp.progress = p->progress;
        eb_train_result tr;
        st = eb_train(model, split.train.x, split.train.y, split.train.n, split.dim,
                      eb_objective_cross_entropy, NULL, &tp, &tr, err);
        if (seconds) *seconds = tr.seconds;
    }
    if (!st) {
        eb_row_set train = {"train", split.train.x, split.train.y, split.train.n};
        eb_row_set id = {"test", split.test.x, split.test.y, split.test.n}, ood[N_OOD];
        ood[0] = (eb_row_set){"sky", split.ood.x, NULL, split.ood.n};
        for (int i = 0; i < EB_TABULAR_OOD_COUNT; i++)
            ood[1 + i] = (eb_row_set){eb_tabular_ood_names[i], synthetic[i].x, NULL, synthetic[i].n};
        st = eb_eval_detectors(model, &train, &id, ood, N_OOD, p->detectors, p->n_detectors, NULL, 0, report,
                               err);
        /* the EBM rows: same training rows, same ID test and OOD sets; seed as the classifier's */
        for (int k = 0; k < p->n_ebm && !st; k++) {
            char name[32];
            eb_bench_ebm_row_name(&p->ebm[k], NULL, name, sizeof name);
            st = eb_bench_ebm_row(&p->ebm[k], &p->ebm_budget, name, split.train.x, split.train.y,
                                  split.train.n, split.dim, split.train.num_classes, &id, ood, N_OOD, seed,
                                  p->progress, report, ebm_seconds ? &ebm_seconds[k] : NULL, err);
        }
    }
    eb_model_free(model);
    for (int i = 0; i < EB_TABULAR_OOD_COUNT; i++) eb_dataset_free(&synthetic[i]);
    eb_tabular_split_free(&split);
    return st;
}

eb_status eb_bench_segment_run(const eb_bench_segment_params *p, eb_eval_report *runs, double *train_seconds,
                               eb_error *err) {
    if (p->n_seeds < 1 || p->n_seeds > 16)
        return eb_error_set(err, EB_ERR_ARG, "segment: --seeds must be in [1, 16], got %d", p->n_seeds);
    if (p->n_synthetic < 1) return eb_error_set(err, EB_ERR_ARG, "segment: n_synthetic must be >= 1");
    if (p->n_ebm < 0 || p->n_ebm > EB_BENCH_MAX_EBM || p->n_detectors + p->n_ebm > EB_EVAL_MAX_SCORES)
        return eb_error_set(err, EB_ERR_ARG, "segment: %d EBMs and %d detectors: at most %d EBMs and %d rows",
                            p->n_ebm, p->n_detectors, EB_BENCH_MAX_EBM, EB_EVAL_MAX_SCORES);
    for (int s = 0; s < p->n_seeds; s++) {
        uint64_t seed = p->seeds ? p->seeds[s] : (s < 5 ? ebm_paper_seeds[s] : (uint64_t)s + 1);
        eb_status st = run_one(p, seed, &runs[s], train_seconds ? &train_seconds[s] : NULL,
                               p->ebm_seconds ? &p->ebm_seconds[s * p->n_ebm] : NULL, err);
        if (st) return st;
    }
    return EB_OK;
}
