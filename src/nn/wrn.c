/* WideResNet-d-k (Zagoruyko & Komodakis), as the energy paper's code defines it (wrn.py; specs §1):
 * conv1 3×3 → 16 channels; three groups of n = (d − 4)/6 pre-activation blocks with 16k, 32k, 64k
 * channels and strides 1, 2, 2; then bn – relu – global average pool → 64k-d features → fc
 * (m->feature_pool STD: features = the spatial std of the bn – relu map instead, still 64k-d).
 * A block:  a = relu(bn1(x));  y = conv2(dropout(relu(bn2(conv1(a)))));
 *           out = y + (x if the width is unchanged else convShortcut(a)).
 * Names as wrn.py's state_dict ("block2.layer.0.convShortcut.weight"). Initialisation as wrn.py:
 * convolutions N(0, 2/(k·k·out)), BatchNorm γ = 1, β = 0, fc bias 0 (weight: PyTorch default). */
#include "nn/model_impl.h"

#include <stdio.h>
#include <string.h>

static int blocks_per_group(const eb_model *m) { return (m->image.depth - 4) / 6; }
static int64_t width_of(const eb_model *m, int group) { return (int64_t)(16 << group) * m->image.widen; }

static eb_status wrn_build(eb_model *m, eb_error *err) {
    char name[48];
    bool ok = eb__add_conv(m, "conv1", m->image.channels, 16, 3, 1, 1, false, err) >= 0;
    int64_t in = 16;
    for (int gi = 0; gi < 3 && ok; gi++)
        for (int b = 0; b < blocks_per_group(m) && ok; b++) {
            int64_t out = width_of(m, gi);
            int stride = (b == 0 && gi > 0) ? 2 : 1;
            char prefix[32];
            snprintf(prefix, sizeof prefix, "block%d.layer.%d", gi + 1, b);
            snprintf(name, sizeof name, "%s.bn1", prefix);
            ok = eb__add_bn(m, name, in, err) >= 0;
            snprintf(name, sizeof name, "%s.conv1", prefix);
            ok = ok && eb__add_conv(m, name, in, out, 3, stride, 1, false, err) >= 0;
            snprintf(name, sizeof name, "%s.bn2", prefix);
            ok = ok && eb__add_bn(m, name, out, err) >= 0;
            snprintf(name, sizeof name, "%s.conv2", prefix);
            ok = ok && eb__add_conv(m, name, out, out, 3, 1, 1, false, err) >= 0;
            if (ok && in != out) {
                snprintf(name, sizeof name, "%s.convShortcut", prefix);
                ok = eb__add_conv(m, name, in, out, 1, stride, 0, false, err) >= 0;
            }
            in = out;
        }
    ok = ok && eb__add_bn(m, "bn1", in, err) >= 0 &&
         eb__add_linear(m, "fc", in, m->image.num_classes, true, err) >= 0;
    return ok ? EB_OK : (err ? err->status : EB_ERR_NOMEM);
}

static void wrn_init(eb_model *m, eb_rng *rng) {
    const eb__layers *t = m->layers;
    for (int l = 0; l < t->count; l++) {
        switch (t->items[l].type) {
        case EB__CONV: eb__init_conv_kaiming_out(m, l, rng); break;
        case EB__BN: eb__init_bn(m, l); break;
        case EB__LINEAR: {
            eb__init_linear_default(m, l, rng);
            const eb_param_info *b = &m->params.info[t->items[l].u.linear.b];
            memset(m->params.data + b->offset, 0, (size_t)b->size * sizeof(float));
        } break;
        }
    }
}

static eb_tensor *wrn_forward(eb_model *m, eb_graph *g, eb_tensor *x, bool train, eb_rng *rng,
                              eb_tensor **features) {
    int l = 0;
    eb_tensor *h = eb__conv_forward(m, g, eb__image_input(m, g, x), l++);
    int64_t in = 16;
    for (int gi = 0; gi < 3; gi++)
        for (int b = 0; b < blocks_per_group(m); b++) {
            int64_t out = width_of(m, gi);
            eb_tensor *a = eb__bn_relu_forward(m, g, h, l, train);
            eb_tensor *y = eb__bn_relu_forward(m, g, eb__conv_forward(m, g, a, l + 1), l + 2, train);
            if (train && m->image.dropout > 0.0f) y = eb_dropout(g, y, m->image.dropout, rng);
            y = eb__conv_forward(m, g, y, l + 3);
            l += 4;
            eb_tensor *skip = h;
            if (in != out) skip = eb__conv_forward(m, g, a, l++);
            h = eb_add(g, y, skip);
            in = out;
        }
    eb_tensor *map = eb__bn_relu_forward(m, g, h, l++, train);
    h = eb_global_avg_pool(g, map);
    if (features) *features = eb__image_features(m, g, map, h);
    return eb__linear_forward(m, g, h, l);
}

static int64_t wrn_feature_dim(const eb_model *m) { return width_of(m, 2); }

const eb__model_arch eb__arch_wrn = {"wrn", EB_MODEL_WRN, wrn_build, wrn_init, wrn_forward, wrn_feature_dim};
