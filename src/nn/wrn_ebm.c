/* The WideResNet of the EBM paper's code (002_39b8670b82235277.txt App. C "WideResNet-10-2 on the image
 * datasets"; selflein/EBM-OOD-Detection archs/wrn.py, JEM's WRN): the energy network of the image EBMs.
 * It differs from wrn.c (the energy paper's classifier) in four ways: no normalisation (the configs pass
 * no `norm`, so every BatchNorm is the identity), LeakyReLU(0.2) instead of ReLU, a bias on every
 * convolution, and the stride on the block's second convolution. For depth d = 6n + 4 and width k:
 *   conv1 3×3 → 16;  three groups of n blocks with 16k, 32k, 64k channels and strides 1, 2, 2:
 *     y = conv2(lrelu(dropout(conv1(lrelu(x)))));  out = y + (x, or shortcut(x) = 1×1 conv with the
 *     stride when the width or the size changes);
 *   after each group, with bottleneck factor r > 0 (002_… §4 Experiment 4, Table 7): a 1×1 conv
 *     c → max(1, ⌊r·c⌋) and a 1×1 conv back to c, both with bias, no activation between (wrn.py's
 *     bottleneck_channels_factor; "after every block" in the paper = after every group for WRN-10, n = 1);
 *   then lrelu → global average pool → 64k-d features → fc.
 * Initialisation as wrn.py's conv_init: convolutions Xavier-uniform with gain √2, bias 0; fc PyTorch's
 * default. Names as its state_dict ("layer2.0.conv1.weight", "layer1.1.weight" for the bottleneck). */
#include "nn/model_impl.h"

#include <math.h>
#include <stdio.h>

#define LEAK 0.2f

static int blocks_per_group(const eb_model *m) { return (m->image.depth - 4) / 6; }
static int64_t width_of(const eb_model *m, int group) { return (int64_t)(16 << group) * m->image.widen; }
/* ⌊r·c⌋ as wrn.py's int(c·r) with the double r the user typed: r is stored as a float, whose rounding can
 * put an exact product a hair below the integer (0.7f·80 = 55.99999…), hence the 1e-4; at least 1 channel
 * (where torch would build an empty convolution, e.g. r = 0.05 on 16 channels). */
static int64_t bottleneck_width(const eb_model *m, int64_t c) {
    int64_t b = (int64_t)floor((double)m->image.bottleneck * (double)c + 1e-4);
    return b < 1 ? 1 : b;
}

static eb_status wrn_ebm_build(eb_model *m, eb_error *err) {
    char name[48];
    bool ok = eb__add_conv(m, "conv1", m->image.channels, 16, 3, 1, 1, true, err) >= 0;
    int64_t in = 16;
    for (int gi = 0; gi < 3 && ok; gi++) {
        int n = blocks_per_group(m);
        for (int b = 0; b < n && ok; b++) {
            int64_t out = width_of(m, gi);
            int stride = (b == 0 && gi > 0) ? 2 : 1;
            snprintf(name, sizeof name, "layer%d.%d.conv1", gi + 1, b);
            ok = eb__add_conv(m, name, in, out, 3, 1, 1, true, err) >= 0;
            snprintf(name, sizeof name, "layer%d.%d.conv2", gi + 1, b);
            ok = ok && eb__add_conv(m, name, out, out, 3, stride, 1, true, err) >= 0;
            if (ok && (stride != 1 || in != out)) {
                snprintf(name, sizeof name, "layer%d.%d.shortcut.0", gi + 1, b);
                ok = eb__add_conv(m, name, in, out, 1, stride, 0, true, err) >= 0;
            }
            in = out;
        }
        if (ok && m->image.bottleneck > 0.0f) { /* nn.Sequential indices n, n + 1 after the n blocks */
            snprintf(name, sizeof name, "layer%d.%d", gi + 1, n);
            ok = eb__add_conv(m, name, in, bottleneck_width(m, in), 1, 1, 0, true, err) >= 0;
            snprintf(name, sizeof name, "layer%d.%d", gi + 1, n + 1);
            ok = ok && eb__add_conv(m, name, bottleneck_width(m, in), in, 1, 1, 0, true, err) >= 0;
        }
    }
    ok = ok && eb__add_linear(m, "linear", in, m->image.num_classes, true, err) >= 0;
    return ok ? EB_OK : (err ? err->status : EB_ERR_NOMEM);
}

static void wrn_ebm_init(eb_model *m, eb_rng *rng) {
    const eb__layers *t = m->layers;
    for (int l = 0; l < t->count; l++) {
        if (t->items[l].type == EB__CONV) eb__init_conv_xavier(m, l, sqrtf(2.0f), rng);
        if (t->items[l].type == EB__LINEAR) eb__init_linear_default(m, l, rng);
    }
}

static eb_tensor *wrn_ebm_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                                  eb_tensor **features) {
    int l = 0;
    eb_tensor *h = eb__conv_forward(m, g, eb__image_input(m, g, x), l++);
    int64_t in = 16;
    for (int gi = 0; gi < 3; gi++) {
        for (int b = 0; b < blocks_per_group(m); b++) {
            int64_t out = width_of(m, gi);
            bool projected = (b == 0 && gi > 0) || in != out;
            eb_tensor *y = eb__conv_forward(m, g, eb_leaky_relu(g, h, LEAK), l);
            if (train && m->image.dropout > 0.0f) y = eb_dropout(g, y, m->image.dropout, rng);
            y = eb__conv_forward(m, g, eb_leaky_relu(g, y, LEAK), l + 1);
            l += 2;
            eb_tensor *skip = projected ? eb__conv_forward(m, g, h, l++) : h;
            h = eb_add(g, y, skip);
            in = out;
        }
        if (m->image.bottleneck > 0.0f) {
            h = eb__conv_forward(m, g, eb__conv_forward(m, g, h, l), l + 1);
            l += 2;
        }
    }
    eb_tensor *map = eb_leaky_relu(g, h, LEAK);
    h = eb_global_avg_pool(g, map);
    if (features) *features = eb__image_features(m, g, map, h);
    return eb__linear_forward(m, g, h, l);
}

static int64_t wrn_ebm_feature_dim(const eb_model *m) { return width_of(m, 2); }

const eb__model_arch eb__arch_wrn_ebm = {"wrn_ebm",    EB_MODEL_WRN_EBM, wrn_ebm_build,
                                         wrn_ebm_init, wrn_ebm_forward,  wrn_ebm_feature_dim};
