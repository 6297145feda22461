/* HEAT's residual energy network E_θ (heat_impl.h; 001_8dfeaa911d9afebd.txt A.5.1, specs §5). */
#include "ood/detectors/heat_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_BATCH 1024
#define SLOPE      0.2f /* LeakyReLU negative slope */

static int add_param(eb__energy_mlp *m, int seq_index, const char *what, int ndim, const int64_t *shape,
                     eb_error *err) {
    char name[64];
    snprintf(name, sizeof name, "layers.%d.%s", seq_index, what);
    return eb_params_add(&m->params, name, ndim, shape, err) ? -1 : m->params.count - 1;
}

eb_status eb__energy_mlp_init(eb__energy_mlp *m, int64_t in_dim, int64_t width, int64_t depth, bool tied,
                              eb_error *err) {
    memset(m, 0, sizeof *m);
    if (depth < 0 || depth + 2 > EB__ENERGY_MLP_MAX_LAYERS || in_dim < 1 || width < 1)
        return eb_error_set(err, EB_ERR_ARG,
                            "energy MLP: need in_dim, width >= 1 and depth in [0, %d] (got %lld, %lld, %lld)",
                            EB__ENERGY_MLP_MAX_LAYERS - 2, (long long)in_dim, (long long)width,
                            (long long)depth);
    m->params.allocator = *eb_allocator_default();
    m->in_dim = in_dim;
    m->width = width;
    m->depth = depth;
    m->tied = tied;
    m->n_layers = (int)depth + 2;
    /* Sequential indices: Linear at 0, 2, 4, …; activations between */
    m->w[0] = add_param(m, 0, "weight", 2, EB_SHAPE(width, in_dim), err);
    m->b[0] = add_param(m, 0, "bias", 1, EB_SHAPE(width), err);
    for (int l = 1; l <= depth; l++) {
        if (tied && l > 1) {
            m->w[l] = m->w[1];
            m->b[l] = m->b[1];
            continue;
        }
        m->w[l] = add_param(m, 2 * l, "weight", 2, EB_SHAPE(width, width), err);
        m->b[l] = add_param(m, 2 * l, "bias", 1, EB_SHAPE(width), err);
    }
    const int last = m->n_layers - 1;
    m->w[last] = add_param(m, 2 * last, "weight", 2, EB_SHAPE(1, width), err);
    m->b[last] = add_param(m, 2 * last, "bias", 1, EB_SHAPE(1), err);
    for (int l = 0; l < m->n_layers; l++)
        if (m->w[l] < 0 || m->b[l] < 0) {
            eb_params_free(&m->params);
            return err ? err->status : EB_ERR_ARG;
        }
    eb_status st = eb_params_alloc(&m->params, err);
    if (st) eb_params_free(&m->params);
    return st;
}

void eb__energy_mlp_reset(eb__energy_mlp *m, eb_rng *rng) {
    for (int l = 0; l < m->n_layers; l++) {
        if (m->tied && l > 1 && l <= m->depth) continue; /* the shared layer is initialised once */
        const eb_param_info *w = &m->params.info[m->w[l]];
        eb_linear_init(m->params.data + w->offset, m->params.data + m->params.info[m->b[l]].offset,
                       w->shape[0], w->shape[1], rng);
    }
}

void eb__energy_mlp_free(eb__energy_mlp *m) {
    if (m) eb_params_free(&m->params);
}

eb_tensor *eb__energy_mlp_forward(eb__energy_mlp *m, eb_graph *g, eb_tensor *z) {
    eb_tensor *leaf_w[EB__ENERGY_MLP_MAX_LAYERS] = {0}, *leaf_b[EB__ENERGY_MLP_MAX_LAYERS] = {0};
    eb_tensor *h = z;
    for (int l = 0; l < m->n_layers; l++) {
        /* one leaf per parameter, reused by the tied layers (their gradients add up) */
        int src = l;
        for (int k = 0; k < l; k++)
            if (m->w[k] == m->w[l]) {
                src = k;
                break;
            }
        if (!leaf_w[src]) {
            leaf_w[src] = eb_params_tensor(&m->params, g, m->w[l]);
            leaf_b[src] = eb_params_tensor(&m->params, g, m->b[l]);
        }
        h = eb_linear(g, h, leaf_w[src], leaf_b[src]);
        if (l + 1 < m->n_layers) h = eb_leaky_relu(g, h, SLOPE);
    }
    return eb_reshape(g, h, 1, EB_SHAPE(z->shape[0]));
}

eb_status eb__energy_mlp_eval(eb__energy_mlp *m, const float *z, int64_t n, float *out, eb_error *err) {
    eb_graph *g = eb_graph_new(0, NULL);
    if (!g) return eb_error_set(err, EB_ERR_NOMEM, "energy MLP: out of memory");
    eb_graph_freeze_params(g, true);
    eb_status st = EB_OK;
    for (int64_t start = 0; start < n && !st; start += EVAL_BATCH) {
        const int64_t b = n - start < EVAL_BATCH ? n - start : EVAL_BATCH;
        eb_graph_reset(g);
        eb_tensor *x = eb_tensor_input(g, (float *)(z + start * m->in_dim), 2, EB_SHAPE(b, m->in_dim), false);
        eb_tensor *e = eb__energy_mlp_forward(m, g, x);
        if ((st = eb_graph_status(g))) {
            eb_error_set(err, st, "energy MLP: %s", eb_graph_error(g));
            break;
        }
        memcpy(out + start, e->data, (size_t)b * sizeof *out);
    }
    eb_graph_free(g);
    return st;
}
