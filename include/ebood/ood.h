/* ebood/ood.h — OOD detectors, objectives and samplers.
 *
 * Score convention everywhere (DESIGN.md §1, §7): one score per sample, HIGHER = MORE
 * IN-DISTRIBUTION. A detector never sees OOD test data. */
#ifndef EBOOD_OOD_H
#define EBOOD_OOD_H

#include <ebood/base.h>
#include <ebood/nn.h>
#include <ebood/params.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- post-hoc scores from logits (no fitting) --------------------------------------------------
 * For a row of logits f[c] and a temperature T > 0 (computed in double, written as float):
 *   EB_SCORE_MSP        max_k softmax(f/T)_k = 1 / Σ_k exp((f_k − max f)/T)   (Hendrycks & Gimpel;
 *                       with T ≠ 1 the temperature-scaled MSP of ODIN, without input perturbation)
 *   EB_SCORE_MAX_LOGIT  max_k f_k — the temperature is validated but not used (scaling by 1/T
 *                       would not change any ranking)
 *   EB_SCORE_ENERGY     +T·logsumexp(f/T) = max f + T·log Σ_k exp((f_k − max f)/T), the negative
 *                       free energy −E(x; f) of paper 003 (Liu et al. 2020) Eq. (4),
 *                       E(x; f) = −T·log Σ_k exp(f_k(x)/T).
 * All are max-shifted, so logits of any finite magnitude (e.g. ±1000) are safe. */
typedef enum eb_logit_score {
    EB_SCORE_MSP = 0,
    EB_SCORE_MAX_LOGIT = 1,
    EB_SCORE_ENERGY = 2,
} eb_logit_score;

/* scores[i] = score of row i of logits[n, c] (row-major). n ≥ 0 (n = 0 does nothing), c ≥ 1.
 * Rows are processed in parallel with OpenMP when n·c is large; results do not depend on the
 * thread count. Errors: EB_ERR_ARG for an unknown kind, c < 1, n < 0, NULL arrays, or a
 * temperature that is not a finite number > 0; EB_ERR_NUMERIC for a NaN/±Inf logit (the message
 * names the first bad row and column). On error the contents of scores are unspecified.
 * Thread-safety: reentrant; logits are only read. */
EB_API eb_status eb_logit_scores(eb_logit_score kind, const float *logits, int64_t n, int64_t c,
                                 float temperature, float *scores, eb_error *err);

/* "msp", "maxlogit", "energy"; "unknown" for a value outside the enum. Static string. */
EB_API const char *eb_logit_score_name(eb_logit_score kind);

/* Inverse of eb_logit_score_name (exact, case-sensitive match). EB_ERR_ARG naming the string and
 * the accepted names otherwise; *out unchanged on error. */
EB_API eb_status eb_logit_score_parse(const char *name, eb_logit_score *out, eb_error *err);

/* ---- detectors: fit on ID data, score, threshold, save/load -------------------------------------
 * A detector is fitted on ID training data — penultimate features [n, dim], labels [n], logits
 * [n, n_classes], raw inputs + the model, whichever the method needs — and maps new samples to one
 * score each (higher = more ID). It never sees OOD test data. fit() may also take ID *validation*
 * data; then it stores a calibrated threshold (eb_detector_calibrate) and eb_detector_predict()
 * answers ID/OOD per sample: the deployment question.
 *
 * Methods (docs/methods.md has the math and sources); the parameters each reads, with defaults:
 *   msp           logits: max_k softmax(f/T)_k                                 temperature 1
 *   maxlogit      logits: max_k f_k                                            -
 *   energy        logits: T·logsumexp(f/T) (003_… Eq. 4)                       temperature 1
 *   odin          inputs + model: max_k softmax(f(x̃)/T)_k,                    temperature 1000,
 *                 x̃ = x − eps·sign(∇ₓ CE(f(x)/T, argmax f(x)))/std            eps 0.0014
 *   mahalanobis   features + labels: max_c −½ (z−μ_c)ᵀ P (z−μ_c), P = Σ⁻¹ of   shrinkage 0, eps 0
 *                 one tied covariance (class-centred, divisor N); eps > 0 adds
 *                 the input pre-processing of specs §1 (scoring then needs
 *                 inputs + model)
 *   ssd           mahalanobis on L2-normalised features                        shrinkage 0, eps 0
 *   knn           features: −(k-th nearest distance), L2-normalised            k 50
 *   hopfield      features: Hopfield energy score (000_… Eq. 8)                beta 4
 *   hopfield_aux  features + aux: lme_β(ξᵀX_id) − lme_β(ξᵀO_aux) (specs §2)    beta 4
 *   gmm           features + labels: log Σ_c π_c N(z; μ_c, Σ), z L2-normalised   heat.ridge 1e-12,
 *                 (heat.normalize; off: raw z, e.g. 2-D toys),                 heat.normalize
 *                 tied Σ (class-centred, divisor N) + ridge (001_… Eq. (9), (10))
 *   heat          features (+ labels for the gmm prior, + the model for el):   heat (eb_heat_params)
 *                 −E(z), E = E_θ/T + E_prior/T_prior, E_θ an MLP trained by
 *                 contrastive divergence with SGLD (001_…, specs §5)
 *   heat_combined features + labels + model (+ inputs with std_block): −Σ_k  heat
 *                 (E_k − m_k)/s_k over the HEAT energies gmm, el and (std_block,
 *                 the default) gmm_std — a GMM prior on the spatial-std-pooled
 *                 feature map the detector extracts from the model and inputs
 *                 (image models) — standardised on ID training data
 *   react         features (+ the model at fit: its last linear layer W, b is   percentile 90
 *                 copied): T·logsumexp((W·min(z, c) + b)/T), c = the percentile of
 *                 all ID training activations (Sun et al. 2021; 004_… baseline)
 *   ash_s         features (+ model at fit): energy of W·a(z) + b where a zeroes percentile 65
 *                 each row's values below its own percentile and scales the rest
 *                 by exp(Σz / Σkept) (ASH, Djurisic et al. 2023; 004_… uses ASH-S)
 *   ash_p, ash_b  as ash_s, keeping the rest (p) or setting each kept value to  percentile 65
 *                 Σz / #kept (b)
 *   scale         features (+ model at fit): energy of W·(z·exp(Σz / Σ_{z ≥ q} z)) percentile 85
 *                 + b, q = each row's percentile (SCALE, Xu et al. 2024)
 * react, ash_* and scale also read the temperature T (1).
 * Every method also reads `tpr` (threshold calibration).
 *
 * Files: safetensors (include/ebood/safetensors.h) with the method's arrays as F32 tensors and
 * __metadata__: "ebood.format_version" (EB_DETECTOR_FORMAT_VERSION), "ebood.detector" (method
 * name), "ebood.params" (JSON object of the method's hyperparameters and tpr), "ebood.threshold"
 * ("none" or a decimal that round-trips), "ebood.dim", "ebood.n_classes", "ebood.input_dim",
 * "ebood.note" (may be empty), plus the caller's provenance entries.
 *
 * Thread-safety: a detector object is not thread-safe (scoring may use scratch state, and odin /
 * mahalanobis pre-processing run the model, whose gradient buffer they overwrite); distinct
 * detectors may be used from distinct threads. Loaded detectors are independent objects. */
#define EB_DETECTOR_FORMAT_VERSION 1

/* The detector registry: one row X(ENUM, id) per method, in this order. ENUM names the kind
 * EB_DETECTOR_<ENUM>; the method's vtable is eb__detector_<id> in src/ood/detectors/ (its name, needs,
 * the parameters it reads and their defaults live there). Adding a detector = its file, one row here. */
#define EB_DETECTOR_LIST(X)                                                                                  \
    X(MSP, msp)                                                                                              \
    X(MAX_LOGIT, max_logit)                                                                                  \
    X(ENERGY, energy)                                                                                        \
    X(ODIN, odin)                                                                                            \
    X(MAHALANOBIS, mahalanobis)                                                                              \
    X(SSD, ssd)                                                                                              \
    X(KNN, knn)                                                                                              \
    X(HOPFIELD, hopfield)                                                                                    \
    X(HOPFIELD_AUX, hopfield_aux)                                                                            \
    X(GMM, gmm)                     /* HEAT's Gaussian-mixture prior alone (001_… Table 2 "w/o energy") */ \
    X(HEAT, heat)                   /* HEAT: residual EBM on a prior (gmm, el or none) */                    \
    X(HEAT_COMBINED, heat_combined) /* HEAT: standardised HEAT-GMM + HEAT-EL energies, summed */             \
    X(REACT, react)                 /* ReAct: energy of the head on clipped features */                      \
    X(ASH_S, ash_s)                 /* ASH-S: prune + scale, then energy */                                  \
    X(ASH_P, ash_p)                 /* ASH-P: prune, then energy */                                          \
    X(ASH_B, ash_b)                 /* ASH-B: prune + binarise, then energy */                               \
    X(SCALE, scale)                 /* SCALE: scale by the top activations' share, then energy */

#define EB__DETECTOR_ENUM(e, id) EB_DETECTOR_##e,
typedef enum eb_detector_kind { EB_DETECTOR_LIST(EB__DETECTOR_ENUM) EB_DETECTOR_KIND_COUNT } eb_detector_kind;
#undef EB__DETECTOR_ENUM

/* "msp", "maxlogit", "energy", "odin", "mahalanobis", "ssd", "knn", "hopfield", "hopfield_aux", "gmm",
 * "heat", "heat_combined"; "unknown" outside the enum. Static string. */
EB_API const char *eb_detector_kind_name(eb_detector_kind kind);
/* Inverse of eb_detector_kind_name (exact match). EB_ERR_ARG naming the string and listing the
 * accepted names; *out unchanged on error. */
EB_API eb_status eb_detector_kind_parse(const char *name, eb_detector_kind *out, eb_error *err);
/* "msp, maxlogit, …, scale": every name in the registry's order, into buf. */
EB_API void eb_detector_kind_names(char *buf, size_t size);

/* ---- HEAT (001_8dfeaa911d9afebd.txt; specs §5): a residual energy E_θ on a prior energy ----------
 * E(z) = E_θ(z)/T + E_prior(z)/T_prior, score = −E(z). docs/methods.md has the math. */
typedef enum eb_heat_prior {
    EB_HEAT_PRIOR_GMM,  /* E = −log Σ_c π_c N(z; μ_c, Σ) on L2-normalised z (labels needed) */
    EB_HEAT_PRIOR_EL,   /* E = −logsumexp(W z + b), the classifier's last layer (the model needed) */
    EB_HEAT_PRIOR_NONE, /* no prior: a plain EBM on L2-normalised z (001_… Table 2 "w/o MoG") */
} eb_heat_prior;
/* gmm and none use L2-normalised z unless eb_heat_params.normalize is off (2-D toys, Figs. 1–2). */
/* "gmm", "el", "none"; "unknown" outside the enum. */
EB_API const char *eb_heat_prior_name(eb_heat_prior prior);
/* Inverse of eb_heat_prior_name. EB_ERR_ARG naming the string and the accepted names. */
EB_API eb_status eb_heat_prior_parse(const char *name, eb_heat_prior *out, eb_error *err);

/* Training of one residual EBM by contrastive divergence (specs §5 steps 1–4). Defaults
 * (eb_heat_default_params): for gmm the paper's appendix A.5.1 "HEAT training" (K 20, η 1e-6 → 1e-7 and
 * σ 1e-3 → 1e-4 linear, input noise 1e-3, lr 5e-6; batch 1024 from the code, the paper gives none); for
 * el the released code's CIFAR-10 settings (the paper has no el prior); for none the paper's A.5.1 "EBM
 * training". eb_heat_code_params: the released code's table for all (the values in brackets below
 * marked "code"). */
typedef struct eb_heat_ebm {
    float temperature;       /* T > 0 dividing E_θ (1; none 0.01) */
    float prior_temperature; /* T_prior > 0 dividing E_prior (gmm 1000, el 1; none: unused) */
    int64_t steps;           /* SGLD steps K ≥ 0 (gmm 20 [code 40], el 50, none 200) */
    float step_size;         /* η₀ ≥ 0 (gmm 1e-6 [code 1e-4], el 0.1, none 0.01) */
    float noise;             /* σ₀ ≥ 0 (gmm 1e-3 [code 5e-3], el 0.1, none 0.01) */
    float decay_end;         /* η and σ decay to decay_end·η₀, decay_end·σ₀, in [0, 1] (0.1) */
    int decay;          /* eb_decay_kind of ebm.h (gmm, none: linear, the paper; el and code: quadratic) */
    float l2;           /* λ ≥ 0 of the L2 term on E_θ (gmm 10, el 0.1, none 0.1) */
    float lr;           /* Adam learning rate > 0 (gmm 5e-6 [code 1e-5], el 1e-5, none 5e-5), β (0, 0.999) */
    int64_t epochs;     /* ≥ 1 (20); lr ×0.1 after epochs/2 (MultiStepLR) */
    int64_t batch_size; /* ≥ 1 (gmm 1024, el 256, none 1024); drop_last unless n < batch */
    float input_noise; /* std ≥ 0 of N(0, s²) added to real and negative z (gmm, none 1e-3; el, code 1e-4) */
} eb_heat_ebm;

typedef struct eb_heat_params {
    eb_heat_prior prior; /* heat: which prior (gmm); heat_combined trains gmm and el */
    int64_t width;       /* hidden width of E_θ ≥ 1 (1024) */
    int64_t depth;       /* hidden width×width layers, 0..14 (4): in→w, depth×(w→w), w→1 */
    bool tied;           /* the released code: the depth hidden layers are ONE shared layer (false) */
    bool relu;           /* project proposals and SGLD steps with ReLU (true: features ≥ 0) */
    bool stats_batch;    /* heat_combined: ID mean/std from one random batch of 256 (the code) instead
                            of all training features (false) */
    uint64_t seed;       /* initialisation, shuffling, proposals, SGLD noise (0); < 2^53 */
    float ridge;         /* gmm prior: absolute ridge ≥ 0 added to Σ (1e-12, the code) */
    bool normalize;      /* gmm, heat (gmm, none priors), heat_combined's gmm blocks: L2-normalise z (true,
                            the paper and code); false for raw low-dimensional features (2-D toys) */
    bool std_block;      /* heat_combined: the third block of the code's CombineScorer, HEAT-GMM-std: a GMM
                            prior + E_θ on the unbiased spatial std of the model's final feature map
                            (eb_model_set_feature_pool STD), which the detector extracts from the model and
                            the inputs at fit and score; needs an image model (true) */

    /* each prior's EBM (only the used ones are read and saved); gmm_std: heat_combined's std block */
    eb_heat_ebm gmm, el, none, gmm_std;
} eb_heat_params;
/* The defaults above (the paper's where it gives them). */
EB_API eb_heat_params eb_heat_default_params(void);
/* The released code's settings for every prior (specs §5's table, CIFAR-10). */
EB_API eb_heat_params eb_heat_code_params(void);

/* Hyperparameters of every method; each method reads its own (see the list above). */
typedef struct eb_detector_params {
    float temperature; /* msp, energy: T > 0 (1); odin: T > 0 (1000) */
    float eps;         /* odin: input perturbation ≥ 0 (0.0014); mahalanobis/ssd: input
                          pre-processing magnitude ≥ 0 (0 = off) */
    int64_t k;         /* knn: neighbours ≥ 1 (50) */
    float beta;        /* hopfield, hopfield_aux: inverse temperature > 0 (4, specs §2) */
    float shrinkage;   /* mahalanobis/ssd: s ∈ [0, 1], Σ ← (1−s)·Σ + s·(tr Σ/dim)·I (sklearn
                          ShrunkCovariance); 0 = the empirical covariance */
    double tpr;        /* threshold calibration: fraction of ID validation kept, in (0, 1] (0.95) */

    /* gmm (ridge), heat, heat_combined */
    eb_heat_params heat;

    float percentile; /* react: clip at this percentile of the ID activations (90); ash_s/p/b: prune each
                         sample's activations below it (65, 004_…'s ASH-S); scale: 85. In [0, 100). */
} eb_detector_params;

/* The defaults above for `kind` (unused scalar fields hold their generic defaults, the nested parameters of
 * a method zeros unless `kind` reads them). Unknown kind: msp's. */
EB_API eb_detector_params eb_detector_default_params(eb_detector_kind kind);
/* Validates the fields `kind` reads (ranges above; every value finite). EB_ERR_ARG naming the
 * parameter and the value. */
EB_API eb_status eb_detector_params_check(eb_detector_kind kind, const eb_detector_params *p, eb_error *err);

/* Parameter bits: which hyperparameters a method reads (eb_detector_params_used). */
enum {
    EB_PARAM_TEMPERATURE = 1,
    EB_PARAM_EPS = 2,
    EB_PARAM_K = 4,
    EB_PARAM_BETA = 8,
    EB_PARAM_SHRINKAGE = 16,
    EB_PARAM_TPR = 32,
    EB_PARAM_HEAT = 64, /* the nested eb_heat_params */
    EB_PARAM_PERCENTILE = 128,
};

/* The scalar hyperparameters of eb_detector_params as descriptors (params.h: JSON key, CLI flag, type,
 * offset in eb_detector_params, range, help) with their EB_PARAM_* bit: the detector files' JSON and the
 * command line's flags, ranges and "does not apply" errors come from this table. Defaults per kind:
 * eb_detector_default_params. Which kinds read a row: eb_detector_params_used(kind) & bit. */
typedef struct eb_detector_param_row {
    eb_param_desc desc;
    unsigned bit;
} eb_detector_param_row;
EB_API int eb_detector_param_table(const eb_detector_param_row **out);
EB_API unsigned eb_detector_params_used(eb_detector_kind kind);

/* The flags of a method's nested parameters (HEAT's eb_heat_params: its prior, preset and residual EBMs'
 * blocks), defined in the method's own file: the command line generates its flag rows, ranges, help and
 * "does not apply" errors from them and hands the values given to eb_detector_params_apply_flags. A flag
 * shared by several methods (gmm, heat, heat_combined) is one row. */
typedef enum eb_detector_flag_type {
    EB_DETECTOR_FLAG_BOOL,  /* --name (no value) */
    EB_DETECTOR_FLAG_INT,   /* an integer in [min, max] */
    EB_DETECTOR_FLAG_FLOAT, /* a finite number in [min, max] */
    EB_DETECTOR_FLAG_NAME,  /* a name the method parses */
} eb_detector_flag_type;
typedef struct eb_detector_flag {
    const char *flag; /* without "--" */
    eb_detector_flag_type type;
    double min, max;
    const char *metavar; /* NULL for BOOL */
    const char *help;
} eb_detector_flag;
/* A flag's value as given: i (INT), f (FLOAT), b (BOOL) or name (NAME). */
typedef struct eb_detector_flag_value {
    const char *flag;
    int64_t i;
    double f;
    bool b;
    const char *name;
} eb_detector_flag_value;
/* The distinct flags of every method, in registry order. */
EB_API int eb_detector_flag_count(void);
EB_API const eb_detector_flag *eb_detector_flag_at(int i);
/* Whether `kind` reads the flag. */
EB_API bool eb_detector_reads_flag(eb_detector_kind kind, const char *flag);
/* Applies the values given (every one of them; those `kind` does not read are ignored) to p, which holds
 * kind's defaults (and any scalar rows set). EB_ERR_ARG naming the flag for a bad name ("--prior: …"). */
EB_API eb_status eb_detector_params_apply_flags(eb_detector_kind kind, const eb_detector_flag_value *given,
                                                int n_given, eb_detector_params *p, eb_error *err);

/* What fit() and score() receive. Arrays are row-major, caller-owned, only read; NULL / 0 where
 * not available. Fields a method does not need are ignored (not read, not checked). */
typedef struct eb_detector_data {
    int64_t n;             /* samples (rows of every per-sample array) */
    const float *features; /* [n, dim] penultimate features */
    int64_t dim;
    const float *logits;   /* [n, n_classes] */
    int64_t n_classes;     /* columns of logits; labels lie in [0, n_classes) */
    const int32_t *labels; /* [n] class of each row (fit only) */
    const float *inputs;   /* [n, input_dim] model inputs, for methods that perturb them */
    int64_t input_dim;
    /* The normalisation std the inputs were divided by; the perturbation sign is divided by it
     * (odin, mahalanobis pre-processing; specs §1). n_input_std values, n_input_std dividing
     * input_dim: input element j of a row uses input_std[j / (input_dim / n_input_std)]. So
     * n_input_std = input_dim gives one std per element, = C one per channel of NCHW images
     * (e.g. CIFAR's 3 values), = 1 one for all. input_std NULL (n_input_std 0) = 1 everywhere. */
    const float *input_std;
    int64_t n_input_std;
    eb_model *model;           /* the network (odin; mahalanobis/ssd with eps > 0) */
    const float *aux_features; /* [n_aux, dim] auxiliary outliers (hopfield_aux, fit only) */
    int64_t n_aux;
} eb_detector_data;

/* Bits of what a method needs in eb_detector_data (eb_detector_fit_needs / _score_needs). */
enum {
    EB_NEEDS_FEATURES = 1,
    EB_NEEDS_LOGITS = 2,
    EB_NEEDS_LABELS = 4,
    EB_NEEDS_MODEL = 8,
    EB_NEEDS_AUX = 16,
    EB_NEEDS_INPUTS = 32,
};

typedef struct eb_detector eb_detector;

/* A new, unfitted detector. Its parameters: the fields of *p that `kind` reads
 * (eb_detector_params_used), the others at their defaults — so eb_detector_get_params() is
 * canonical and survives save/load unchanged. p NULL = eb_detector_default_params(kind).
 * Errors: EB_ERR_ARG (unknown kind, parameters failing eb_detector_params_check), EB_ERR_NOMEM. */
EB_API eb_status eb_detector_new(eb_detector_kind kind, const eb_detector_params *p, eb_detector **out,
                                 eb_error *err);
/* Frees the detector and everything it owns. NULL is a no-op. */
EB_API void eb_detector_free(eb_detector *d);

EB_API eb_detector_kind eb_detector_kind_of(const eb_detector *d);
EB_API const eb_detector_params *eb_detector_get_params(const eb_detector *d);
EB_API bool eb_detector_is_fitted(const eb_detector *d);
/* The shapes it was fitted on (0 where the method does not use them): feature dim, classes of
 * logits/labels, model input dim. */
EB_API int64_t eb_detector_dim(const eb_detector *d);
EB_API int64_t eb_detector_n_classes(const eb_detector *d);
EB_API int64_t eb_detector_input_dim(const eb_detector *d);
/* A note from fitting ("" if none), e.g. that a singular covariance got a ridge. Valid until the
 * next fit/free. Saved in the file. */
EB_API const char *eb_detector_note(const eb_detector *d);

/* EB_NEEDS_* bits the detector's fit() / score() require, given its kind and parameters:
 *   msp, maxlogit, energy   fit: LOGITS (the class count is recorded)   score: LOGITS
 *   odin                    fit: MODEL (its dims are recorded)          score: INPUTS | MODEL
 *   mahalanobis, ssd        fit: FEATURES | LABELS                      score: FEATURES, or with
 *                                                                       eps > 0: INPUTS | MODEL
 *   knn, hopfield           fit: FEATURES                               score: FEATURES
 *   hopfield_aux            fit: FEATURES | AUX                         score: FEATURES
 *   gmm                     fit: FEATURES | LABELS                      score: FEATURES
 *   heat                    fit: FEATURES, + LABELS (prior gmm),        score: FEATURES
 *                           + MODEL (prior el: its last linear layer,
 *                           the last two parameters, is copied)
 *   heat_combined           fit: FEATURES | LABELS | MODEL              score: FEATURES
 *   react, ash_*, scale     fit: FEATURES | MODEL (its head is copied)  score: FEATURES
 * Validation data (fit's `val`) needs what score() needs. */
EB_API unsigned eb_detector_fit_needs(const eb_detector *d);
EB_API unsigned eb_detector_score_needs(const eb_detector *d);

/* Fits on ID training data (refitting replaces the previous state and clears the threshold). If
 * val != NULL (ID validation data, what score() needs), then calibrates the threshold on its
 * scores with the detector's tpr (eb_detector_calibrate).
 * Errors (one line naming the argument): EB_ERR_ARG for something the method needs being NULL/0
 * (e.g. "train.labels: NULL (mahalanobis needs labels)"), n < 1, k larger than the bank (knn);
 * EB_ERR_SHAPE for mismatched dims (aux dim ≠ dim, model dims ≠ data dims, val dims ≠ train dims);
 * EB_ERR_NUMERIC for a NaN/±Inf value (names the array, row and column); EB_ERR_ARG for a label
 * outside [0, n_classes) (names the row) or a class without samples (names the class).
 * A singular or near-singular covariance (mahalanobis/ssd/gmm/heat) is not an error: a ridge is
 * added and eb_detector_note() says so. heat / heat_combined train an EBM here (long: progress on a
 * terminal); a diverging training (NaN/Inf loss, gradient or SGLD chain) is EB_ERR_NUMERIC naming the
 * prior, epoch, step and last finite loss; the model's last layer not matching the features or classes
 * (el prior) is EB_ERR_SHAPE. On error the detector is left unfitted. */
EB_API eb_status eb_detector_fit(eb_detector *d, const eb_detector_data *train, const eb_detector_data *val,
                                 eb_error *err);

/* scores[data->n], higher = more ID. n = 0 does nothing. Errors: EB_ERR_STATE if not fitted;
 * EB_ERR_ARG for a missing input (what eb_detector_score_needs names); EB_ERR_SHAPE for a
 * dimension different from the fitted one ("features: dim 7, the detector was fitted on dim 6");
 * EB_ERR_NUMERIC for NaN/±Inf input values. Contents of scores unspecified on error. */
EB_API eb_status eb_detector_score(eb_detector *d, const eb_detector_data *data, float *scores,
                                   eb_error *err);

/* Splits the scoring of d across the ranks of dist (dist.h; NULL or one rank: one process, no change).
 * knn, hopfield and hopfield_aux then scan only this rank's share (eb_dist_share) of their memory bank
 * and merge the ranks' partial results exactly — the k-th largest similarity over the union of every
 * rank's top-k list; log Σ exp over the ranks' log-sum-exps — so every rank gets every score, equal to
 * one process's up to float reassociation; the fit's calibration (val) is split alike. heat and
 * heat_combined (whose score is a function of each row alone) split the QUERIES instead: each rank
 * scores its share of the rows and the scores are gathered (eb_dist_gather_shares), and their fit trains
 * E_θ data-parallel (each rank its share of every batch and of its SGLD negatives, drawn from the common
 * stream; the gradients allreduced: one process's E_θ up to float reassociation). Other kinds
 * score everything on every rank. Every rank must then make the same score/fit calls with the same
 * data. release (on a fitted detector): free the rows of the other ranks, so each rank holds about
 * 1/N of the bank; such a detector cannot be saved (EB_ERR_STATE) or given another context. */
EB_API eb_status eb_detector_distribute(eb_detector *d, const eb_dist *dist, bool release, eb_error *err);

/* Sets the threshold from ID scores s[n] (n ≥ 1, finite) and stores tpr in the params:
 *   m = the smallest integer with m/n ≥ tpr (compared in double, as eval's fpr95_id does),
 *   threshold = the m-th largest score.
 * So at least m = ⌈tpr·n⌉ of the given scores satisfy score ≥ threshold (more when scores tie),
 * and it is the highest threshold that does: with tpr = 0.95 the operating point of the fpr95_id
 * metric. Needs a fitted detector (EB_ERR_STATE); EB_ERR_ARG for n < 1 or tpr outside (0, 1];
 * EB_ERR_NUMERIC for a NaN/Inf score. */
EB_API eb_status eb_detector_calibrate(eb_detector *d, const float *id_scores, int64_t n, double tpr,
                                       eb_error *err);
/* The calibrated threshold; NaN if not calibrated. */
EB_API double eb_detector_threshold(const eb_detector *d);

/* Scores data (scores may be NULL if not wanted) and sets is_id[i] = 1 if scores[i] ≥ threshold,
 * else 0. EB_ERR_STATE if not calibrated; other errors as eb_detector_score. */
EB_API eb_status eb_detector_predict(eb_detector *d, const eb_detector_data *data, float *scores,
                                     uint8_t *is_id, eb_error *err);

/* Model inputs to fit a detector on (eb_detector_fit_inputs). */
typedef struct eb_detector_inputs {
    eb_model *model;
    const float *x;        /* ID training rows [n, in_dim] */
    const int32_t *labels; /* [n] their classes (methods that read labels) */
    int64_t n;
    const float *val_x; /* ID validation rows [n_val, in_dim] (calibrate the threshold), or NULL */
    int64_t n_val;
    const float *aux_x; /* auxiliary outlier rows [n_aux, in_dim] (EB_NEEDS_AUX), or NULL */
    int64_t n_aux;
    const float *input_std; /* as in eb_detector_data (NULL = 1) */
    int64_t n_input_std;
    int64_t batch; /* rows per forward pass (0 = 256) */
} eb_detector_inputs;
/* Fits d on rows of model inputs (what `ebood fit --model` runs; src/ood/detector_inputs.c): one forward
 * pass over each set of rows, only for what the detector reads (logits, penultimate features; none for a
 * method that reads the model alone), then eb_detector_fit with the validation rows when given. Errors:
 * EB_ERR_NOMEM, eb_model_predict's and eb_detector_fit's. */
EB_API eb_status eb_detector_fit_inputs(eb_detector *d, const eb_detector_inputs *in, eb_error *err);

/* The detector on n model inputs x[n, in_dim] through the network m (src/ood/detector_inputs.c): m's
 * logits — and its penultimate features when the detector reads them — `batch` rows at a time (0 = 256),
 * then eb_detector_predict when the detector is calibrated and is_id[n] is given, else eb_detector_score.
 * input_std as in eb_detector_data. Errors: EB_ERR_SHAPE (m's feature dim differs from the detector's),
 * EB_ERR_NOMEM, eb_model_predict's and the detector's errors. */
EB_API eb_status eb_detector_score_inputs(eb_detector *d, eb_model *m, const float *x, int64_t n,
                                          const float *input_std, int64_t n_input_std, int64_t batch,
                                          float *scores, uint8_t *is_id, eb_error *err);

/* Writes the fitted detector to `path` atomically (complete or not at all), with `extra`
 * metadata entries (provenance, e.g. the data it was fitted on; extra may be NULL when n_extra is
 * 0; a key equal to one of the detector's own is EB_ERR_ARG). EB_ERR_STATE if not fitted;
 * EB_ERR_IO naming the path. */
EB_API eb_status eb_detector_save(const eb_detector *d, const char *path, const eb_st_meta *extra,
                                  int n_extra, eb_error *err);
/* Loads a file written by eb_detector_save. Errors name the file: EB_ERR_IO / EB_ERR_FORMAT from
 * the safetensors reader; EB_ERR_FORMAT for a file that is not an ebood detector (no metadata),
 * malformed params/threshold/dims, missing or mis-shaped tensors, non-finite values;
 * EB_ERR_UNSUPPORTED for an unknown method or a format version newer than
 * EB_DETECTOR_FORMAT_VERSION. On failure *out is NULL. */
EB_API eb_status eb_detector_load(const char *path, eb_detector **out, eb_error *err);

/* ---- similarity kernels: exact k-NN distances and Hopfield log-sum-exp over a bank ---------------
 * The work of the knn / hopfield / hopfield_aux detectors, usable on their own. Shapes: queries
 * [n_q, dim] and bank [n_bank, dim], row-major float32, caller-owned and only read; outputs
 * [n_q], caller-owned.
 *
 * Computation: queries × bankᵀ as a blocked GEMM whose tiles (16 queries × 6 bank rows, in
 * registers) are reduced on the fly — a bounded top-k selection or a streaming, max-shifted
 * log-sum-exp — so memory is O(threads · block · (dim + k)), never an n_q × n_bank matrix.
 * Exact: no approximation, only float rounding of the dot products (each accumulated over dim in
 * one fixed order). OpenMP over blocks of queries (eb_threads_set); every output depends only on
 * its own query, so results are bitwise identical at any thread count. Queries go 16 at a time
 * (one SIMD tile): a batch of fewer than 16 costs as much as 16 and runs on one thread. x86-64
 * CPUs with AVX2+FMA get a vectorised kernel (runtime dispatch), others a portable one (rounding
 * may differ in the last bits between the two).
 *
 * Errors (one line naming the function and the argument): EB_ERR_ARG for a NULL array (queries
 * and the output may be NULL when n_q = 0), n_q < 0, n_bank < 1, dim < 1, a bad k or β;
 * EB_ERR_NUMERIC for a NaN/±Inf in queries or bank (names the array, row and column) or values so
 * large that a dot product could overflow float (max|q|·max|b|·dim·max(β, 1) ≥ 1e37);
 * EB_ERR_NOMEM. n_q = 0 does nothing. On error the output is unspecified.
 * Thread-safety: reentrant. */

/* kth_dist[i] = the Euclidean distance ‖q_i − b‖₂ (NOT squared) from query i to its k-th nearest
 * bank row, 1 ≤ k ≤ n_bank (EB_ERR_ARG otherwise). Neighbours count with multiplicity: a row
 * repeated r times is r neighbours at the same distance. Computed as
 *   sqrt(max(0, ‖q‖² − 2·v_k)),  v_k = k-th largest of q·b_j − ½‖b_j‖²,
 * the GEMM expansion FAISS IndexFlatL2 uses too (q·b in float, the norms here summed in double),
 * so the same cancellation for near-duplicates (absolute error ~1e-7·(‖q‖² + ‖b‖²) on the squared
 * distance). FAISS IndexFlatL2 returns SQUARED distances (kth_dist² = its D[:, k−1]). For L2-normalised rows
 * the distance is sqrt(2 − 2·cos), the k-NN OOD score of Sun et al. 2022 (used by 001_… and 004_…) being
 * −kth_dist (the knn detector). */
EB_API eb_status eb_knn_kth_distance(const float *queries, int64_t n_q, const float *bank, int64_t n_bank,
                                     int64_t dim, int64_t k, float *kth_dist, eb_error *err);

/* kth_ip[i] = the k-th largest inner product q_i·b_j over the bank rows, 1 ≤ k ≤ n_bank (FAISS
 * IndexFlatIP's D[:, k−1]). With L2-normalised rows this is the cosine similarity s_k of the k-th
 * nearest neighbour, and the distance is sqrt(max(0, 2 − 2·s_k)) — how the knn detector uses it. */
EB_API eb_status eb_knn_kth_inner_product(const float *queries, int64_t n_q, const float *bank,
                                          int64_t n_bank, int64_t dim, int64_t k, float *kth_ip,
                                          eb_error *err);

/* out[i] = lse(β, Xᵀξ_i) = (1/β)·log Σ_j exp(β·ξ_iᵀx_j) over the bank rows x_j (000_… Eq. 3), for a
 * finite β > 0 (EB_ERR_ARG otherwise). Streaming and max-shifted (m = running max of β·ξᵀx_j,
 * sum of exp(β·ξᵀx_j − m) accumulated in double), so no exponential overflows, however large
 * β·ξᵀx (within the bound above): out = (m + log Σ_j exp(β·ξᵀx_j − m))/β, rounded to float once. */
EB_API eb_status eb_hopfield_lse(const float *queries, int64_t n_q, const float *bank, int64_t n_bank,
                                 int64_t dim, float beta, float *out, eb_error *err);

/* out[i] = lme_β(Xᵀξ_i) = lse(β, Xᵀξ_i) − (1/β)·log n_bank, the log-mean-exp of the Hopfield
 * Boosting code (specs §2); hopfield_aux scores lme_β(ξᵀX_id) − lme_β(ξᵀO_aux) with it. Same
 * arguments and errors as eb_hopfield_lse. */
EB_API eb_status eb_hopfield_lme(const float *queries, int64_t n_q, const float *bank, int64_t n_bank,
                                 int64_t dim, float beta, float *out, eb_error *err);

/* ---- objectives (training losses on the tape; see eb_objective_fn in nn.h) -------------------- */
/* The plain classifier objective: mean cross-entropy of the model's logits against the batch's labels
 * (the "CE" baseline of 002_39b8670b82235277.txt and the pre-training of 003_77034dadf9bef685.txt).
 * ctx unused. Reports the number of correctly classified samples in *n_correct. */
EB_API eb_tensor *eb_objective_cross_entropy(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch,
                                             eb_rng *rng, int64_t *n_correct);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_OOD_H */
