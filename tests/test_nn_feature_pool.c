/* eb_model_set_feature_pool: an image model's features pooled by the unbiased spatial std of its final
 * map (HEAT's "GMM-std") instead of the mean.
 *
 * For each of small_cnn, wrn, wrn_ebm and resnet on a few random images (eval mode), with m the final map
 * [N, C, H, W] and M = H·W:
 *   - feature_dim is C under STD (small_cnn: 128; its MEAN features are the flattened map, C·M);
 *   - the logits are bitwise the same under MEAN and STD;
 *   - STD features = √(Σ_k (m_k − μ)² / (M − 1)) computed here in float64 from the map (small_cnn: from
 *     its MEAN features, which are the map; the others: from the std node's input on the tape, whose
 *     spatial mean must equal the MEAN features, i.e. it is the map the logits are computed from);
 *   - STD features are ≥ 0 and differ from the MEAN features; eb_model_predict gives the same.
 * And: MLP / radial flow refuse STD (EB_ERR_ARG naming the kind), a bad enum value is refused, the
 * setting is not saved in checkpoints, and a 1×1 final map fails the forward with EB_ERR_SHAPE. */
#include <criterion/criterion.h>
#include <ebood/nn.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

enum { N = 3 };

static eb_model *image_model(eb_model_kind kind, int64_t ch, int64_t hw, int depth, int widen) {
    eb_image_config c = eb_image_default_config(kind, ch, hw, hw, 4);
    if (depth) c.depth = depth;
    if (widen) c.widen = widen;
    eb_rng rng;
    eb_rng_seed(&rng, 11);
    eb_error err = {0};
    eb_model *m = NULL;
    cr_assert_eq(eb_image_model_new(kind, &c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    return m;
}

static float *random_images(const eb_model *m, uint64_t seed) {
    int64_t n = N * eb_model_in_dim(m);
    float *x = malloc(sizeof(float) * (size_t)n);
    cr_assert_not_null(x);
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_rng_fill_normal(&rng, x, n, 0.0f, 1.0f);
    return x;
}

static float *dup_floats(const float *p, int64_t n) {
    float *q = malloc(sizeof(float) * (size_t)n);
    cr_assert_not_null(q);
    memcpy(q, p, sizeof(float) * (size_t)n);
    return q;
}

/* got[n·c] against the float64 unbiased std of each of the n·c planes of `map` (M values each). */
static void expect_std_of(const char *name, const float *got, const float *map, int64_t planes, int64_t m) {
    double worst = 0.0;
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *p = map + pl * m;
        double mu = 0.0, ss = 0.0;
        for (int64_t k = 0; k < m; k++) mu += (double)p[k];
        mu /= (double)m;
        for (int64_t k = 0; k < m; k++) ss += ((double)p[k] - mu) * ((double)p[k] - mu);
        double want = sqrt(ss / (double)(m - 1)), d = fabs((double)got[pl] - want);
        worst = fmax(worst, d);
        cr_expect(d <= 1e-6 + 1e-5 * want, "%s: std feature %lld = %.9g, direct %.9g", name, (long long)pl,
                  (double)got[pl], want);
        cr_expect(got[pl] >= 0.0f, "%s: std feature %lld = %g < 0", name, (long long)pl, (double)got[pl]);
    }
    cr_log_info("%s: std features vs direct float64 std: max |diff| %.2e", name, worst);
}

/* got[n·c] against the float64 mean of each plane of `map`. */
static void expect_mean_of(const char *name, const float *got, const float *map, int64_t planes, int64_t m) {
    for (int64_t pl = 0; pl < planes; pl++) {
        double mu = 0.0;
        for (int64_t k = 0; k < m; k++) mu += (double)map[pl * m + k];
        mu /= (double)m;
        cr_expect(fabs((double)got[pl] - mu) <= 1e-6 + 1e-5 * fabs(mu),
                  "%s: mean feature %lld = %.9g, but the std node's map has mean %.9g", name, (long long)pl,
                  (double)got[pl], mu);
    }
}

static bool any_differs(const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (fabs((double)a[i] - (double)b[i]) > 1e-3) return true;
    return false;
}

/* The checks of the header for one image model whose final map has `channels` channels. */
static void check_model(const char *name, eb_model *m, int64_t channels) {
    eb_error err = {0};
    const int64_t mean_dim = eb_model_feature_dim(m), out = eb_model_out_dim(m);
    float *x = random_images(m, 5);
    eb_graph *g = eb_graph_new(0, NULL);

    eb_tensor *xin = eb_tensor_input(g, x, 2, EB_SHAPE(N, eb_model_in_dim(m)), false);
    eb_tensor *feat = NULL, *logits = eb_model_forward(m, g, xin, false, NULL, &feat);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s: %s", name, eb_graph_error(g));
    cr_assert_eq(feat->size, N * mean_dim);
    float *mean_feat = dup_floats(feat->data, feat->size),
          *mean_logits = dup_floats(logits->data, logits->size);

    cr_assert_eq(eb_model_set_feature_pool(m, EB_FEATURE_POOL_STD, &err), EB_OK, "%s", err.message);
    cr_assert_eq(m->feature_pool, EB_FEATURE_POOL_STD);
    cr_expect_eq(eb_model_feature_dim(m), channels, "%s: std feature_dim %lld, expected %lld", name,
                 (long long)eb_model_feature_dim(m), (long long)channels);
    eb_graph_reset(g);
    xin = eb_tensor_input(g, x, 2, EB_SHAPE(N, eb_model_in_dim(m)), false);
    logits = eb_model_forward(m, g, xin, false, NULL, &feat);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s: %s", name, eb_graph_error(g));
    char buf[64];
    cr_assert_eq(feat->ndim, 2, "%s: std features %s", name, eb_tensor_shape_str(feat, buf, sizeof buf));
    cr_assert(feat->shape[0] == N && feat->shape[1] == channels, "%s: std features %s", name,
              eb_tensor_shape_str(feat, buf, sizeof buf));
    cr_expect_eq(memcmp(logits->data, mean_logits, sizeof(float) * (size_t)(N * out)), 0,
                 "%s: the logits changed with the feature pooling", name);
    cr_assert_eq(feat->op, EB_OP_SPATIAL_STD_POOL, "%s: std features come from op %s", name,
                 eb_op_name(feat->op));
    const eb_tensor *map = feat->src[0];
    cr_assert(map->ndim == 4 && map->shape[0] == N && map->shape[1] == channels, "%s: map %s", name,
              eb_tensor_shape_str(map, buf, sizeof buf));
    const int64_t hw = map->shape[2] * map->shape[3];
    expect_std_of(name, feat->data, map->data, N * channels, hw);
    if (mean_dim == channels) /* wrn, resnet: the mean features are the map's spatial mean */
        expect_mean_of(name, mean_feat, map->data, N * channels, hw);
    else /* small_cnn: the mean features are the flattened map itself */
        expect_std_of(name, feat->data, mean_feat, N * channels, mean_dim / channels);
    cr_expect(any_differs(feat->data, mean_feat, N * channels), "%s: std features equal the mean features",
              name);

    /* eb_model_predict (batches of 2) sizes and fills the std features alike */
    float *pl = malloc(sizeof(float) * (size_t)(N * out)),
          *pf = malloc(sizeof(float) * (size_t)(N * channels));
    cr_assert_eq(eb_model_predict(m, x, N, 2, pl, pf, &err), EB_OK, "%s", err.message);
    for (int64_t i = 0; i < N * channels; i++)
        cr_expect(fabs((double)pf[i] - (double)feat->data[i]) <=
                      1e-5 * fmax(1.0, fabs((double)feat->data[i])),
                  "%s: predict std feature %lld = %g, forward %g", name, (long long)i, (double)pf[i],
                  (double)feat->data[i]);

    /* back to the default */
    cr_assert_eq(eb_model_set_feature_pool(m, EB_FEATURE_POOL_MEAN, &err), EB_OK);
    cr_expect_eq(eb_model_feature_dim(m), mean_dim);
    free(pl), free(pf), free(mean_feat), free(mean_logits), free(x);
    eb_graph_free(g);
}

Test(feature_pool, small_cnn_std_of_the_last_map) {
    eb_model *m = image_model(EB_MODEL_SMALL_CNN, 1, 12, 0, 0); /* map 128×3×3 */
    cr_assert_eq(eb_model_feature_dim(m), 128 * 3 * 3);
    check_model("small_cnn", m, 128);
    eb_model_free(m);
}

Test(feature_pool, wrn_std_of_the_final_bn_relu_map) {
    eb_model *m = image_model(EB_MODEL_WRN, 3, 8, 10, 1); /* map 64×2×2 */
    cr_assert_eq(eb_model_feature_dim(m), 64);
    check_model("wrn-10-1", m, 64);
    eb_model_free(m);
}

Test(feature_pool, wrn_ebm_std_of_the_final_lrelu_map) {
    eb_model *m = image_model(EB_MODEL_WRN_EBM, 3, 8, 10, 1); /* map 64×2×2 */
    cr_assert_eq(eb_model_feature_dim(m), 64);
    check_model("wrn_ebm-10-1", m, 64);
    eb_model_free(m);
}

Test(feature_pool, resnet_std_of_the_last_block_map) {
    eb_model *m = image_model(EB_MODEL_RESNET, 3, 16, 18, 0); /* map 512×2×2 */
    cr_assert_eq(eb_model_feature_dim(m), 512);
    check_model("resnet-18", m, 512);
    eb_model_free(m);
}

Test(feature_pool, models_without_a_spatial_map_refuse_std) {
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_error err = {0};
    eb_model *mlp = NULL, *flow = NULL;
    eb_mlp_config mc = eb_mlp_default_config(4, 3);
    cr_assert_eq(eb_mlp_new(&mc, &rng, NULL, &mlp, &err), EB_OK, "%s", err.message);
    eb_radial_flow_config fc = eb_radial_flow_default_config(4);
    cr_assert_eq(eb_radial_flow_new(&fc, &rng, NULL, &flow, &err), EB_OK, "%s", err.message);
    eb_model *models[] = {mlp, flow};
    const char *names[] = {"mlp", "radial_flow"};
    for (int i = 0; i < 2; i++) {
        int64_t d = eb_model_feature_dim(models[i]);
        cr_expect_eq(eb_model_set_feature_pool(models[i], EB_FEATURE_POOL_STD, &err), EB_ERR_ARG);
        cr_expect(strstr(err.message, names[i]) && strstr(err.message, "std"), "message: %s", err.message);
        cr_expect_eq(models[i]->feature_pool, EB_FEATURE_POOL_MEAN);
        cr_expect_eq(eb_model_feature_dim(models[i]), d);
        /* MEAN is the default and always accepted */
        cr_expect_eq(eb_model_set_feature_pool(models[i], EB_FEATURE_POOL_MEAN, &err), EB_OK);
    }
    cr_expect_eq(eb_model_set_feature_pool(mlp, (eb_feature_pool)7, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "unknown"), "message: %s", err.message);
    eb_model_free(mlp);
    eb_model_free(flow);
}

Test(feature_pool, not_saved_in_checkpoints) {
    eb_model *m = image_model(EB_MODEL_SMALL_CNN, 1, 8, 0, 0);
    eb_error err = {0};
    cr_assert_eq(eb_model_set_feature_pool(m, EB_FEATURE_POOL_STD, &err), EB_OK);
    char path[512];
    eb_test_path(path, sizeof path, "feature_pool.st");
    cr_assert_eq(eb_model_save(m, path, NULL, 0, &err), EB_OK, "%s", err.message);
    eb_model *back = NULL;
    cr_assert_eq(eb_model_load(path, NULL, &back, &err), EB_OK, "%s", err.message);
    cr_expect_eq(back->feature_pool, EB_FEATURE_POOL_MEAN);
    cr_expect_eq(eb_model_feature_dim(back), 128 * 2 * 2);
    remove(path);
    eb_model_free(back);
    eb_model_free(m);
}

/* small_cnn on 4×4 images: a 128×1×1 final map has no spread to measure (M − 1 = 0). */
Test(feature_pool, one_position_map_is_a_shape_error) {
    eb_model *m = image_model(EB_MODEL_SMALL_CNN, 1, 4, 0, 0);
    eb_error err = {0};
    cr_assert_eq(eb_model_set_feature_pool(m, EB_FEATURE_POOL_STD, &err), EB_OK);
    float x[2 * 16] = {0}, logits[2 * 4], feat[2 * 128];
    cr_expect_eq(eb_model_predict(m, x, 2, 2, logits, feat, &err), EB_ERR_SHAPE);
    cr_expect(strstr(err.message, "spatial_std_pool") && strstr(err.message, "[2, 128, 1, 1]"), "message: %s",
              err.message);
    /* without features the logits need no std */
    cr_expect_eq(eb_model_predict(m, x, 2, 2, logits, NULL, &err), EB_OK, "%s", err.message);
    eb_model_free(m);
}
