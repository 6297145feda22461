/* The flat parameter buffer: layout registration, allocation, zero-grad, gradient clipping. */
#include <ebood/nn.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_status eb_params_add(eb_params *p, const char *name, int ndim, const int64_t *shape, eb_error *err) {
    if (p->data) return eb_error_set(err, EB_ERR_STATE, "params: '%s' added after allocation", name);
    if (ndim < 1 || ndim > EB_MAX_DIMS || strlen(name) >= sizeof p->info[0].name)
        return eb_error_set(err, EB_ERR_ARG, "params: bad parameter '%s'", name);
    eb_param_info *info = realloc(p->info, (size_t)(p->count + 1) * sizeof *info);
    if (!info) return eb_error_set(err, EB_ERR_NOMEM, "params: out of memory");
    p->info = info;
    eb_param_info *e = &info[p->count++];
    memset(e, 0, sizeof *e);
    strcpy(e->name, name);
    e->ndim = ndim;
    e->size = 1;
    for (int d = 0; d < ndim; d++) {
        e->shape[d] = shape[d];
        e->size *= shape[d];
    }
    /* keep every parameter 16-float (64-byte) aligned inside the buffer */
    e->offset = p->size;
    p->size += (e->size + 15) / 16 * 16;
    return EB_OK;
}

eb_status eb_params_alloc(eb_params *p, eb_error *err) {
    size_t bytes = (size_t)(p->size ? p->size : 1) * sizeof(float);
    p->data = eb_alloc_zero(&p->allocator, bytes);
    p->grad = eb_alloc_zero(&p->allocator, bytes);
    if (!p->data || !p->grad) {
        const long long floats = (long long)p->size; /* eb_params_free zeroes p->size */
        eb_params_free(p);
        return eb_error_set(err, EB_ERR_NOMEM, "params: out of memory for 2 x %lld floats (%.4g MB)", floats,
                            2.0 * (double)bytes / 1e6);
    }
    return EB_OK;
}

void eb_params_free(eb_params *p) {
    eb_free(&p->allocator, p->data);
    eb_free(&p->allocator, p->grad);
    free(p->info);
    p->data = p->grad = NULL;
    p->info = NULL;
    p->count = 0;
    p->size = 0;
}

void eb_params_zero_grad(eb_params *p) { memset(p->grad, 0, (size_t)p->size * sizeof(float)); }

eb_tensor *eb_params_tensor(eb_params *p, eb_graph *g, int i) {
    const eb_param_info *e = &p->info[i];
    return eb_tensor_param(g, p->data + e->offset, p->grad + e->offset, e->ndim, e->shape);
}

double eb_params_clip_grad_norm(eb_params *p, double max_norm) {
    double ss = 0.0;
    for (int64_t i = 0; i < p->size; i++) ss += (double)p->grad[i] * (double)p->grad[i];
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        float scale = (float)(max_norm / (norm + 1e-6));
        for (int64_t i = 0; i < p->size; i++) p->grad[i] *= scale;
    }
    return norm;
}

void eb_linear_init(float *w, float *b, int64_t out_dim, int64_t in_dim, eb_rng *rng) {
    float bound = 1.0f / sqrtf((float)in_dim);
    eb_rng_fill_uniform(rng, w, out_dim * in_dim, -bound, bound);
    if (b) eb_rng_fill_uniform(rng, b, out_dim, -bound, bound);
}
