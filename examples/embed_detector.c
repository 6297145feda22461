/* Embedding a detector: the deployment path of include/ebood/ood.h.
 *
 * Part 1 stands in for your training pipeline: it fits a Mahalanobis detector on the penultimate
 * features of ID training data (here: synthetic 3-class Gaussian features), calibrates its
 * threshold on ID validation features (keep 95 %), and saves it as a .safetensors file — what
 * `ebood fit --detector mahalanobis --features F.npy --labels L.npy --val-features V.npy -o det`
 * does from the command line.
 * Part 2 is what you embed in the application: load the file, score a batch of feature vectors,
 * and apply the calibrated threshold to answer ID/OOD per sample. Exits non-zero on any failure. */
#include <ebood/ebood.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define DIM     16
#define CLASSES 3
#define N_TRAIN 600
#define N_VAL   300
#define N_QUERY 8

static int fail(const char *what, const eb_error *err) {
    fprintf(stderr, "embed_detector: %s: %s\n", what, err->message);
    return 1;
}

/* Features of class c: a class-specific mean plus correlated noise. */
static void sample(eb_rng *rng, int c, float *z) {
    float noise[DIM];
    for (int j = 0; j < DIM; j++) noise[j] = (float)eb_rng_normal(rng);
    for (int j = 0; j < DIM; j++)
        z[j] = 3.0f * (float)((j % CLASSES) == c) + noise[j] + 0.5f * noise[(j + 1) % DIM];
}

/* ---- part 1: fit, calibrate, save ---------------------------------------------------------- */
static int fit_and_save(const char *path) {
    static float train[N_TRAIN * DIM], val[N_VAL * DIM];
    static int32_t labels[N_TRAIN];
    eb_rng rng;
    eb_rng_seed(&rng, 2024);
    for (int i = 0; i < N_TRAIN; i++) {
        labels[i] = i % CLASSES;
        sample(&rng, labels[i], train + i * DIM);
    }
    for (int i = 0; i < N_VAL; i++) sample(&rng, i % CLASSES, val + i * DIM);

    eb_error err = {0};
    eb_detector_params p = eb_detector_default_params(EB_DETECTOR_MAHALANOBIS);
    p.tpr = 0.95; /* the threshold keeps 95 % of the ID validation samples */
    eb_detector *det = NULL;
    if (eb_detector_new(EB_DETECTOR_MAHALANOBIS, &p, &det, &err)) return fail("new", &err);
    eb_detector_data train_data = {
        .n = N_TRAIN, .features = train, .dim = DIM, .labels = labels, .n_classes = CLASSES};
    eb_detector_data val_data = {.n = N_VAL, .features = val, .dim = DIM};
    eb_status st = eb_detector_fit(det, &train_data, &val_data, &err);
    const eb_st_meta provenance[] = {{"example.data", "synthetic gaussians, seed 2024"}};
    if (!st) st = eb_detector_save(det, path, provenance, 1, &err);
    eb_detector_free(det);
    return st ? fail("fit/save", &err) : 0;
}

/* ---- part 2: load, score, threshold -------------------------------------------------------- */
int main(void) {
    const char *path = "example_detector.safetensors";
    if (fit_and_save(path)) return 1;

    eb_error err = {0};
    eb_detector *det = NULL;
    if (eb_detector_load(path, &det, &err)) return fail("load", &err);
    remove(path);
    printf("loaded a %s detector: dim %lld, %lld classes, threshold %.4f (keeps %.0f%% of ID validation)\n",
           eb_detector_kind_name(eb_detector_kind_of(det)), (long long)eb_detector_dim(det),
           (long long)eb_detector_n_classes(det), eb_detector_threshold(det),
           100.0 * eb_detector_get_params(det)->tpr);

    /* a batch: the first half from the ID classes, the second half far from all of them */
    float batch[N_QUERY * DIM], scores[N_QUERY];
    uint8_t is_id[N_QUERY];
    eb_rng rng;
    eb_rng_seed(&rng, 7);
    for (int i = 0; i < N_QUERY; i++) {
        sample(&rng, i % CLASSES, batch + i * DIM);
        if (i >= N_QUERY / 2)
            for (int j = 0; j < DIM; j++) batch[i * DIM + j] = 4.0f * batch[i * DIM + j] - 6.0f;
    }
    eb_detector_data query = {.n = N_QUERY, .features = batch, .dim = DIM};
    if (eb_detector_predict(det, &query, scores, is_id, &err)) return fail("predict", &err);
    int ok = 1;
    for (int i = 0; i < N_QUERY; i++) {
        const int want_id = i < N_QUERY / 2;
        printf("sample %d (%s): score %10.3f -> %s%s\n", i, want_id ? "drawn from ID" : "far away",
               (double)scores[i], is_id[i] ? "ID" : "OOD",
               want_id && !is_id[i] ? "  (at tpr 0.95, ~5% of ID is rejected)" : "");
        if (!isfinite(scores[i]) || (!want_id && is_id[i])) ok = 0; /* far points must be rejected */
    }

    /* bad input is an error value, never a crash: features of the wrong width */
    eb_detector_data wrong = {.n = 1, .features = batch, .dim = DIM - 1};
    if (eb_detector_score(det, &wrong, scores, &err) != EB_ERR_SHAPE) ok = 0;
    printf("wrong width -> %s: %s\n", eb_status_str(err.status), err.message);
    eb_detector_free(det);
    if (!ok) fprintf(stderr, "embed_detector: unexpected result\n");
    return ok ? 0 : 1;
}
