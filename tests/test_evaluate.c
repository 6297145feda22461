/* One evaluation as one call (eb_eval_run, src/eval/evaluate.c; what `ebood eval --model` runs): its
 * report against the same steps done by hand (eb_model_predict, eb_detector_fit/score,
 * eb_ood_metrics_compute), which rows each detector is fitted on, the score callback, and its errors. */
#include <criterion/criterion.h>

#include <ebood/eval.h>
#include <ebood/nn.h>
#include <ebood/ood.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { DIM = 4, CLASSES = 3, N_TRAIN = 60, N_ID = 20, N_OOD = 15 };

typedef struct world {
    eb_model *m;
    float train_x[N_TRAIN * DIM], id_x[N_ID * DIM], ood_x[2][N_OOD * DIM];
    int32_t train_y[N_TRAIN], id_y[N_ID];
    eb_row_set train, id, ood[2];
} world;

static float u(eb_rng *rng) { return (float)eb_rng_uniform(rng); }

static void make_world(world *w) {
    memset(w, 0, sizeof *w);
    eb_rng rng;
    eb_rng_seed(&rng, 7);
    eb_mlp_config c = eb_mlp_default_config(DIM, CLASSES);
    eb_error err = {0};
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &w->m, &err), EB_OK, "%s", err.message);
    /* class k sits around k along every axis; the OOD sets are far away (+6) and spread wide (×4) */
    for (int i = 0; i < N_TRAIN; i++) w->train_y[i] = i % CLASSES;
    for (int i = 0; i < N_ID; i++) w->id_y[i] = (i * 2) % CLASSES;
    for (int i = 0; i < N_TRAIN * DIM; i++)
        w->train_x[i] = (float)w->train_y[i / DIM] + 0.3f * (u(&rng) - 0.5f);
    for (int i = 0; i < N_ID * DIM; i++) w->id_x[i] = (float)w->id_y[i / DIM] + 0.3f * (u(&rng) - 0.5f);
    for (int i = 0; i < N_OOD * DIM; i++) {
        w->ood_x[0][i] = 6.0f + u(&rng);
        w->ood_x[1][i] = 4.0f * (u(&rng) - 0.5f);
    }
    w->train = (eb_row_set){"train", w->train_x, w->train_y, N_TRAIN};
    w->id = (eb_row_set){"test", w->id_x, w->id_y, N_ID};
    w->ood[0] = (eb_row_set){"far", w->ood_x[0], NULL, N_OOD};
    w->ood[1] = (eb_row_set){"wide", w->ood_x[1], NULL, N_OOD};
}

/* Scores of one set of rows by a fitted detector, computed by hand. */
static void score_by_hand(world *w, eb_detector *d, const float *x, int64_t n, float *out) {
    float logits[N_TRAIN * CLASSES], feats[N_TRAIN * 256];
    const int64_t fdim = eb_model_feature_dim(w->m);
    cr_assert_leq(fdim, 256);
    eb_error err = {0};
    cr_assert_eq(eb_model_predict(w->m, x, n, 256, logits, feats, &err), EB_OK, "%s", err.message);
    eb_detector_data dd = {.n = n,
                           .features = feats,
                           .dim = fdim,
                           .logits = logits,
                           .n_classes = CLASSES,
                           .inputs = x,
                           .input_dim = DIM,
                           .model = w->m};
    cr_assert_eq(eb_detector_score(d, &dd, out, &err), EB_OK, "%s", err.message);
}

/* A detector fitted by hand on the given rows (with their labels). */
static eb_detector *fit_by_hand(world *w, eb_detector_kind kind, const float *x, const int32_t *y,
                                int64_t n) {
    float logits[N_TRAIN * CLASSES], feats[N_TRAIN * 256];
    cr_assert_leq(eb_model_feature_dim(w->m), 256);
    eb_error err = {0};
    cr_assert_eq(eb_model_predict(w->m, x, n, 256, logits, feats, &err), EB_OK, "%s", err.message);
    eb_detector *d = NULL;
    cr_assert_eq(eb_detector_new(kind, NULL, &d, &err), EB_OK, "%s", err.message);
    eb_detector_data dd = {.n = n,
                           .features = feats,
                           .dim = eb_model_feature_dim(w->m),
                           .logits = logits,
                           .n_classes = CLASSES,
                           .labels = y,
                           .inputs = x,
                           .input_dim = DIM,
                           .model = w->m};
    cr_assert_eq(eb_detector_fit(d, &dd, NULL, &err), EB_OK, "%s", err.message);
    return d;
}

typedef struct kept {
    int calls;
    float id[2][N_ID];
    int64_t n_last;
} kept;

static void keep(void *ctx, int detector, int set, const float *s, int64_t n) {
    kept *k = ctx;
    k->calls++;
    k->n_last = n;
    if (set == -1 && detector < 2) memcpy(k->id[detector], s, (size_t)n * sizeof *s);
}

Test(evaluate, run_equals_the_steps_by_hand) {
    static world w;
    make_world(&w);
    const eb_detector_kind kinds[2] = {EB_DETECTOR_ENERGY, EB_DETECTOR_KNN};
    eb_detector *dets[2] = {0};
    eb_error err = {0};
    for (int k = 0; k < 2; k++) cr_assert_eq(eb_detector_new(kinds[k], NULL, &dets[k], &err), EB_OK);
    kept kp = {0};
    const eb_eval_spec spec = {.model = w.m,
                               .id = &w.id,
                               .ood = w.ood,
                               .n_ood = 2,
                               .train = &w.train,
                               .detectors = dets,
                               .n_detectors = 2,
                               .batch = 7, /* several forward passes per set */
                               .on_scores = keep,
                               .ctx = &kp};
    static eb_eval_report r;
    bool failed = true;
    cr_assert_eq(eb_eval_run(&spec, &r, &failed, &err), EB_OK, "%s", err.message);
    cr_expect_not(failed);
    cr_expect_eq(r.n_scores, 2);
    cr_expect_eq(r.n_id, N_ID);
    cr_expect_eq(kp.calls, 2 * 3);
    cr_expect_str_eq(r.scores[0].score, "energy");
    cr_expect_str_eq(r.scores[1].score, "knn");

    float logits[N_ID * CLASSES];
    double acc;
    cr_assert_eq(eb_model_predict(w.m, w.id_x, N_ID, 256, logits, NULL, &err), EB_OK);
    cr_assert_eq(eb_accuracy(logits, N_ID, CLASSES, w.id_y, &acc, &err), EB_OK);
    cr_expect_float_eq(r.id_acc, acc, 1e-12);

    /* energy learns nothing (fitted on the ID rows), knn learns the training features */
    for (int k = 0; k < 2; k++) {
        eb_detector *d = k == 0 ? fit_by_hand(&w, kinds[k], w.id_x, w.id_y, N_ID)
                                : fit_by_hand(&w, kinds[k], w.train_x, w.train_y, N_TRAIN);
        float s_id[N_ID], s_ood[N_OOD];
        score_by_hand(&w, d, w.id_x, N_ID, s_id);
        for (int i = 0; i < N_ID; i++)
            cr_expect_float_eq(kp.id[k][i], s_id[i], 1e-5f, "detector %d row %d", k, i);
        cr_expect_eq(r.scores[k].n_sets, 2);
        for (int o = 0; o < 2; o++) {
            score_by_hand(&w, d, w.ood_x[o], N_OOD, s_ood);
            eb_ood_metrics mm;
            cr_assert_eq(eb_ood_metrics_compute(s_id, N_ID, s_ood, N_OOD, &mm, &err), EB_OK);
            const eb_eval_set_result *sr = &r.scores[k].sets[o];
            cr_expect_str_eq(sr->name, w.ood[o].name);
            cr_expect_eq(sr->n_ood, N_OOD);
            cr_expect_float_eq(sr->metrics.auroc, mm.auroc, 1e-9, "detector %d set %d", k, o);
            cr_expect_float_eq(sr->metrics.aupr_in, mm.aupr_in, 1e-9);
        }
        eb_detector_free(d);
    }
    /* the far set is easy for a model trained on nothing: the test checks sameness, not quality */
    for (int k = 0; k < 2; k++) eb_detector_free(dets[k]);
    eb_model_free(w.m);
}

Test(evaluate, no_training_rows_needed_unless_a_detector_learns) {
    static world w;
    make_world(&w);
    eb_detector *d = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_detector_new(EB_DETECTOR_ENERGY, NULL, &d, &err), EB_OK);
    eb_eval_spec spec = {
        .model = w.m, .id = &w.id, .ood = w.ood, .n_ood = 2, .detectors = &d, .n_detectors = 1};
    static eb_eval_report without, with;
    cr_assert_eq(eb_eval_run(&spec, &without, NULL, &err), EB_OK, "%s", err.message);
    spec.train = &w.train;
    cr_assert_eq(eb_eval_run(&spec, &with, NULL, &err), EB_OK, "%s", err.message);
    for (int o = 0; o < 2; o++)
        cr_expect_eq(without.scores[0].sets[o].metrics.auroc, with.scores[0].sets[o].metrics.auroc);
    eb_detector_free(d);

    /* knn learns from training features: without them the call refuses */
    cr_assert_eq(eb_detector_new(EB_DETECTOR_KNN, NULL, &d, &err), EB_OK);
    spec.train = NULL;
    bool failed = true;
    cr_expect_eq(eb_eval_run(&spec, &with, &failed, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "knn is fitted on training rows") != NULL, "%s", err.message);
    cr_expect_not(failed);
    eb_detector_free(d);
    eb_model_free(w.m);
}

Test(evaluate, errors) {
    static world w;
    make_world(&w);
    eb_detector *d = NULL;
    eb_error err = {0};
    static eb_eval_report r;
    /* a label outside the model's classes: the detector's fit fails, and the call says so */
    cr_assert_eq(eb_detector_new(EB_DETECTOR_MAHALANOBIS, NULL, &d, &err), EB_OK);
    w.train_y[5] = 7;
    eb_eval_spec spec = {.model = w.m,
                         .id = &w.id,
                         .ood = w.ood,
                         .n_ood = 2,
                         .train = &w.train,
                         .detectors = &d,
                         .n_detectors = 1};
    bool failed = false;
    cr_expect_neq(eb_eval_run(&spec, &r, &failed, &err), EB_OK);
    cr_expect(failed, "a fit error is the detector's: %s", err.message);
    /* counts out of range */
    spec.n_ood = 0;
    failed = true;
    cr_expect_eq(eb_eval_run(&spec, &r, &failed, &err), EB_ERR_ARG);
    cr_expect_not(failed);
    spec.n_ood = EB_EVAL_MAX_SETS + 1;
    cr_expect_eq(eb_eval_run(&spec, &r, NULL, &err), EB_ERR_ARG);
    spec.n_ood = 2;
    spec.n_detectors = 0;
    cr_expect_eq(eb_eval_run(&spec, &r, NULL, &err), EB_ERR_ARG);
    eb_detector_free(d);
    eb_model_free(w.m);
}

/* eb_detector_fit_inputs / eb_detector_score_inputs (src/ood/detector_inputs.c; `ebood fit/score --model`)
 * against fitting and scoring the network's outputs by hand, with a calibrated threshold. */
Test(evaluate, detector_on_model_inputs_equals_the_steps_by_hand) {
    static world w;
    make_world(&w);
    eb_error err = {0};
    eb_detector *lib = NULL, *hand = NULL;
    cr_assert_eq(eb_detector_new(EB_DETECTOR_KNN, NULL, &lib, &err), EB_OK);
    cr_assert_eq(eb_detector_new(EB_DETECTOR_KNN, NULL, &hand, &err), EB_OK);
    const eb_detector_inputs in = {.model = w.m,
                                   .x = w.train_x,
                                   .labels = w.train_y,
                                   .n = N_TRAIN,
                                   .val_x = w.id_x,
                                   .n_val = N_ID,
                                   .batch = 9};
    cr_assert_eq(eb_detector_fit_inputs(lib, &in, &err), EB_OK, "%s", err.message);

    static float tl[N_TRAIN * CLASSES], tf[N_TRAIN * 256], vl[N_ID * CLASSES], vf[N_ID * 256];
    cr_assert_leq(eb_model_feature_dim(w.m), 256);
    cr_assert_eq(eb_model_predict(w.m, w.train_x, N_TRAIN, 256, tl, tf, &err), EB_OK);
    cr_assert_eq(eb_model_predict(w.m, w.id_x, N_ID, 256, vl, vf, &err), EB_OK);
    const eb_detector_data t = {.n = N_TRAIN,
                                .features = tf,
                                .dim = eb_model_feature_dim(w.m),
                                .logits = tl,
                                .n_classes = CLASSES,
                                .labels = w.train_y};
    const eb_detector_data v = {
        .n = N_ID, .features = vf, .dim = eb_model_feature_dim(w.m), .logits = vl, .n_classes = CLASSES};
    cr_assert_eq(eb_detector_fit(hand, &t, &v, &err), EB_OK, "%s", err.message);
    cr_assert(!isnan(eb_detector_threshold(lib)), "the validation rows calibrate a threshold");
    cr_expect_float_eq(eb_detector_threshold(lib), eb_detector_threshold(hand), 1e-5);

    float s_lib[N_OOD], s_hand[N_OOD];
    uint8_t id_lib[N_OOD], id_hand[N_OOD];
    cr_assert_eq(eb_detector_score_inputs(lib, w.m, w.ood_x[1], N_OOD, NULL, 0, 4, s_lib, id_lib, &err),
                 EB_OK, "%s", err.message);
    float ol[N_OOD * CLASSES], of[N_OOD * 256];
    cr_assert_eq(eb_model_predict(w.m, w.ood_x[1], N_OOD, 256, ol, of, &err), EB_OK);
    const eb_detector_data o = {
        .n = N_OOD, .features = of, .dim = eb_model_feature_dim(w.m), .logits = ol, .n_classes = CLASSES};
    cr_assert_eq(eb_detector_predict(hand, &o, s_hand, id_hand, &err), EB_OK);
    for (int i = 0; i < N_OOD; i++) {
        cr_expect_float_eq(s_lib[i], s_hand[i], 1e-5f, "row %d", i);
        cr_expect_eq(id_lib[i], id_hand[i], "row %d", i);
    }
    /* a model whose features differ from the fitted ones is refused */
    eb_mlp_config c = eb_mlp_default_config(DIM, CLASSES);
    c.hidden[c.n_hidden - 1] += 1;
    eb_model *other = NULL;
    eb_rng rng;
    eb_rng_seed(&rng, 3);
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &other, &err), EB_OK, "%s", err.message);
    cr_assert_neq(eb_model_feature_dim(other), eb_detector_dim(lib));
    cr_expect_eq(eb_detector_score_inputs(lib, other, w.ood_x[1], N_OOD, NULL, 0, 0, s_lib, NULL, &err),
                 EB_ERR_SHAPE);
    eb_model_free(other);
    eb_detector_free(lib);
    eb_detector_free(hand);
    eb_model_free(w.m);
}
