/* Train a small MLP on two Gaussian blobs with the public API, save and reload the checkpoint, and
 * score ID and far-away inputs with the energy score. Exits non-zero if anything fails. */
#include <ebood/ebood.h>

#include <stdio.h>
#include <stdlib.h>

#define N 512
#define D 2

static int fail(const char *what, const eb_error *err) {
    fprintf(stderr, "train_and_score: %s: %s\n", what, err->message);
    return 1;
}

int main(void) {
    eb_rng rng;
    eb_rng_seed(&rng, 7);
    static float x[N * D];
    static int32_t y[N];
    for (int i = 0; i < N; i++) { /* class c ~ N((±2, 0), I) */
        y[i] = i % 2;
        x[i * D] = (y[i] ? 2.0f : -2.0f) + (float)eb_rng_normal(&rng);
        x[i * D + 1] = (float)eb_rng_normal(&rng);
    }
    eb_error err = {0};
    eb_mlp_config c = eb_mlp_default_config(D, 2);
    c.n_hidden = 2;
    c.hidden[0] = c.hidden[1] = 32;
    eb_model *model = NULL;
    if (eb_mlp_new(&c, &rng, NULL, &model, &err)) return fail("mlp", &err);
    eb_train_params tp = eb_train_default_params();
    tp.epochs = 30;
    tp.batch_size = 64;
    tp.progress = false;
    eb_train_result tr;
    if (eb_train(model, x, y, N, D, eb_objective_cross_entropy, NULL, &tp, &tr, &err))
        return fail("train", &err);
    if (eb_model_save(model, "example_blobs.safetensors", NULL, 0, &err)) return fail("save", &err);
    eb_model_free(model);
    if (eb_model_load("example_blobs.safetensors", NULL, &model, &err)) return fail("load", &err);
    remove("example_blobs.safetensors");

    float logits[N * 2], scores[N];
    double acc;
    if (eb_model_predict(model, x, N, 128, logits, NULL, &err) || eb_accuracy(logits, N, 2, y, &acc, &err))
        return fail("predict", &err);
    if (eb_logit_scores(EB_SCORE_ENERGY, logits, N, 2, 1.0f, scores, &err)) return fail("score", &err);
    double id_energy = 0.0;
    for (int i = 0; i < N; i++) id_energy += (double)scores[i] / N;
    /* a point far from both blobs: a cross-entropy classifier is overconfident there, which is
     * why 003_77034dadf9bef685.txt fine-tunes with outliers and 002_39b8670b82235277.txt trains EBMs */
    float far[D] = {40.0f, 40.0f}, far_logits[2], far_score;
    if (eb_model_predict(model, far, 1, 1, far_logits, NULL, &err) ||
        eb_logit_scores(EB_SCORE_ENERGY, far_logits, 1, 2, 1.0f, &far_score, &err))
        return fail("score far point", &err);
    printf("training accuracy after reload: %.3f (final training loss %.4f)\n", acc, tr.final_loss);
    printf("energy score (higher = more ID): mean over ID %.3f, far point (40, 40) %.3f\n", id_energy,
           (double)far_score);
    eb_model_free(model);
    if (acc < 0.95) {
        fprintf(stderr, "train_and_score: accuracy %.3f below 0.95 on separable blobs\n", acc);
        return 1;
    }
    return 0;
}
