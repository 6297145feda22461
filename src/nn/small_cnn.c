/* The small CNN of shared/specs/performance-anchors.md, for 28×28 (or any H, W divisible by 4) images:
 *   conv1 3×3 C→32 – bn1 – relu – conv2 3×3 32→64 – bn2 – relu – maxpool 2
 *   – conv3 3×3 64→128 – bn3 – relu – maxpool 2 – flatten – fc (128·H/4·W/4 → classes)
 * (≈ 58 MFLOP per 1×28×28 sample). Convolutions have no bias (BatchNorm follows). The penultimate
 * features are the flattened 128·H/4·W/4 activations (m->feature_pool STD: the 128 channels' spatial
 * std of that map). PyTorch default initialisation. */
#include "nn/model_impl.h"

enum { CONV1, BN1, CONV2, BN2, CONV3, BN3, FC };

static int64_t flat_dim(const eb_model *m) { return 128 * (m->image.height / 4) * (m->image.width / 4); }

static eb_status small_cnn_build(eb_model *m, eb_error *err) {
    if (m->image.height % 4 || m->image.width % 4)
        return eb_error_set(err, EB_ERR_ARG,
                            "small_cnn: height and width must be multiples of 4 (got %lld×%lld)",
                            (long long)m->image.height, (long long)m->image.width);
    bool ok = eb__add_conv(m, "conv1", m->image.channels, 32, 3, 1, 1, false, err) == CONV1 &&
              eb__add_bn(m, "bn1", 32, err) == BN1 &&
              eb__add_conv(m, "conv2", 32, 64, 3, 1, 1, false, err) == CONV2 &&
              eb__add_bn(m, "bn2", 64, err) == BN2 &&
              eb__add_conv(m, "conv3", 64, 128, 3, 1, 1, false, err) == CONV3 &&
              eb__add_bn(m, "bn3", 128, err) == BN3 &&
              eb__add_linear(m, "fc", flat_dim(m), m->image.num_classes, true, err) == FC;
    return ok ? EB_OK : (err ? err->status : EB_ERR_NOMEM);
}

static void small_cnn_init(eb_model *m, eb_rng *rng) {
    for (int l = CONV1; l <= CONV3; l += 2) {
        eb__init_conv_default(m, l, rng);
        eb__init_bn(m, l + 1);
    }
    eb__init_linear_default(m, FC, rng);
}

static eb_tensor *small_cnn_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                                    eb_tensor **features) {
    (void)rng;
    const eb_pool2d_params pool = eb_pool2d_params_square(2, 2, 0);
    eb_tensor *h = eb__image_input(m, g, x);
    for (int l = CONV1; l <= CONV3; l += 2) {
        h = eb__bn_relu_forward(m, g, eb__conv_forward(m, g, h, l), l + 1, train);
        if (l != CONV1) h = eb_max_pool2d(g, h, &pool);
    }
    eb_tensor *map = h;
    h = eb_reshape(g, map, 2, EB_SHAPE(map->shape[0], flat_dim(m)));
    if (features) *features = eb__image_features(m, g, map, h);
    return eb__linear_forward(m, g, h, FC);
}

/* The flattened map, or its 128 channels' spatial std (EB_FEATURE_POOL_STD). */
static int64_t small_cnn_feature_dim(const eb_model *m) {
    return m->feature_pool == EB_FEATURE_POOL_STD ? 128 : flat_dim(m);
}

const eb__model_arch eb__arch_small_cnn = {"small_cnn",    EB_MODEL_SMALL_CNN, small_cnn_build,
                                           small_cnn_init, small_cnn_forward,  small_cnn_feature_dim};
