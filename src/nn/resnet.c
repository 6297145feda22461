/* ResNet-18/34, CIFAR variant (OpenOOD's resnet18_32x32, used by 000_…, 001_…, 004_…): a 3×3 stem
 * conv (64 channels, stride 1) with BatchNorm and ReLU, no max-pool (m->image.stem IMAGENET: torchvision's
 * 7×7 stride-2 conv, BN, ReLU and 3×3 stride-2 max-pool instead); four stages of BasicBlocks
 * (64, 128, 256, 512 channels; strides 1, 2, 2, 2; [2,2,2,2] blocks for depth 18, [3,4,6,3] for 34);
 * global average pool → 512-d penultimate features → fc (m->feature_pool STD: features = the spatial std
 * of the last block's map, 512-d). A BasicBlock is
 *   y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
 * shortcut = conv1×1(stride) + bn when the stride or the width changes, else identity.
 * Names as OpenOOD's state_dict ("layer2.0.shortcut.0.weight"). PyTorch default initialisation. */
#include "nn/model_impl.h"

#include <stdio.h>

static const int planes[4] = {64, 128, 256, 512};

static int blocks_in_stage(const eb_model *m, int stage) {
    static const int d18[4] = {2, 2, 2, 2}, d34[4] = {3, 4, 6, 3};
    return m->image.depth == 34 ? d34[stage] : d18[stage];
}

/* Walks the architecture in build order, calling `visit` for each block; shared by build, init and
 * forward so the layer indices always agree. */
typedef struct block_walk {
    int stage, index, in, out, stride;
    bool shortcut;
} block_walk;

static int next_block(const eb_model *m, block_walk *w) {
    if (w->stage < 0) { /* first call */
        w->stage = 0;
        w->index = 0;
        w->in = 64;
    } else if (++w->index == blocks_in_stage(m, w->stage)) {
        if (++w->stage == 4) return 0;
        w->index = 0;
    }
    w->out = planes[w->stage];
    w->stride = (w->index == 0 && w->stage > 0) ? 2 : 1;
    w->shortcut = w->stride != 1 || w->in != w->out;
    return 1;
}

static eb_status resnet_build(eb_model *m, eb_error *err) {
    char name[48];
    const bool imagenet = m->image.stem == EB_RESNET_STEM_IMAGENET;
    bool ok = eb__add_conv(m, "conv1", m->image.channels, 64, imagenet ? 7 : 3, imagenet ? 2 : 1,
                           imagenet ? 3 : 1, false, err) >= 0 &&
              eb__add_bn(m, "bn1", 64, err) >= 0;
    block_walk w = {.stage = -1};
    while (ok && next_block(m, &w)) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "layer%d.%d", w.stage + 1, w.index);
        snprintf(name, sizeof name, "%s.conv1", prefix);
        ok = eb__add_conv(m, name, w.in, w.out, 3, w.stride, 1, false, err) >= 0;
        snprintf(name, sizeof name, "%s.bn1", prefix);
        ok = ok && eb__add_bn(m, name, w.out, err) >= 0;
        snprintf(name, sizeof name, "%s.conv2", prefix);
        ok = ok && eb__add_conv(m, name, w.out, w.out, 3, 1, 1, false, err) >= 0;
        snprintf(name, sizeof name, "%s.bn2", prefix);
        ok = ok && eb__add_bn(m, name, w.out, err) >= 0;
        if (ok && w.shortcut) {
            snprintf(name, sizeof name, "%s.shortcut.0", prefix);
            ok = eb__add_conv(m, name, w.in, w.out, 1, w.stride, 0, false, err) >= 0;
            snprintf(name, sizeof name, "%s.shortcut.1", prefix);
            ok = ok && eb__add_bn(m, name, w.out, err) >= 0;
        }
        w.in = w.out;
    }
    ok = ok && eb__add_linear(m, "fc", 512, m->image.num_classes, true, err) >= 0;
    return ok ? EB_OK : (err ? err->status : EB_ERR_NOMEM);
}

/* Layers alternate conv, bn, …, and end with fc. */
static void resnet_init(eb_model *m, eb_rng *rng) {
    int n = ((eb__layers *)m->layers)->count;
    for (int l = 0; l + 1 < n; l += 2) {
        eb__init_conv_default(m, l, rng);
        eb__init_bn(m, l + 1);
    }
    eb__init_linear_default(m, n - 1, rng);
}

static eb_tensor *resnet_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                                 eb_tensor **features) {
    (void)rng;
    int l = 0;
    eb_tensor *h = eb__image_input(m, g, x);
    h = eb__bn_relu_forward(m, g, eb__conv_forward(m, g, h, l), l + 1, train);
    if (m->image.stem == EB_RESNET_STEM_IMAGENET) {
        const eb_pool2d_params pool = eb_pool2d_params_square(3, 2, 1);
        h = eb_max_pool2d(g, h, &pool);
    }
    l += 2;
    block_walk w = {.stage = -1};
    while (next_block(m, &w)) {
        eb_tensor *y = eb__bn_relu_forward(m, g, eb__conv_forward(m, g, h, l), l + 1, train);
        y = eb__bn_forward(m, g, eb__conv_forward(m, g, y, l + 2), l + 3, train);
        l += 4;
        eb_tensor *skip = h;
        if (w.shortcut) {
            skip = eb__bn_forward(m, g, eb__conv_forward(m, g, h, l), l + 1, train);
            l += 2;
        }
        h = eb_relu_inplace(g, eb_add(g, y, skip));
        w.in = w.out;
    }
    eb_tensor *map = h;
    h = eb_global_avg_pool(g, map);
    if (features) *features = eb__image_features(m, g, map, h);
    return eb__linear_forward(m, g, h, l);
}

static int64_t resnet_feature_dim(const eb_model *m) {
    (void)m;
    return 512;
}

const eb__model_arch eb__arch_resnet = {"resnet",    EB_MODEL_RESNET, resnet_build,
                                        resnet_init, resnet_forward,  resnet_feature_dim};
