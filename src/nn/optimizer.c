/* The optimizer object: parameters and their checks, state ownership, dispatch to the kernels of
 * optimizer_sgd.c / optimizer_adam.c. Math and state layout: include/ebood/optim.h. */
#include "nn/optimizer_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Elements per parallel chunk: a multiple of every vector width, large enough to amortise the
 * scheduling, small enough to balance 2–64 threads over EB_OPTIM_PARALLEL_MIN floats. */
#define OPTIM_CHUNK 4096

eb_optimizer_params eb_sgd_default_params(void) {
    eb_optimizer_params p;
    memset(&p, 0, sizeof p);
    p.kind = EB_OPTIM_SGD;
    p.lr = 0.01f;
    p.momentum = 0.0f;
    p.dampening = 0.0f;
    p.nesterov = false;
    p.weight_decay = 0.0f;
    return p;
}

eb_optimizer_params eb_adam_default_params(void) {
    eb_optimizer_params p;
    memset(&p, 0, sizeof p);
    p.kind = EB_OPTIM_ADAM;
    p.lr = 1e-3f;
    p.beta1 = 0.9f;
    p.beta2 = 0.999f;
    p.eps = 1e-8f;
    p.weight_decay = 0.0f;
    return p;
}

eb_optimizer_params eb_adamw_default_params(void) {
    eb_optimizer_params p = eb_adam_default_params();
    p.kind = EB_OPTIM_ADAMW;
    p.weight_decay = 1e-2f;
    return p;
}

const char *eb_optimizer_kind_name(eb_optimizer_kind kind) {
    switch (kind) {
    case EB_OPTIM_SGD: return "sgd";
    case EB_OPTIM_ADAM: return "adam";
    case EB_OPTIM_ADAMW: return "adamw";
    }
    return "unknown";
}

eb_status eb_optimizer_kind_parse(const char *s, eb_optimizer_kind *out, eb_error *err) {
    static const eb_optimizer_kind kinds[] = {EB_OPTIM_SGD, EB_OPTIM_ADAM, EB_OPTIM_ADAMW};
    if (!out) return eb_error_set(err, EB_ERR_ARG, "optimizer: kind_parse called with out == NULL");
    for (size_t i = 0; s && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(s, eb_optimizer_kind_name(kinds[i])) == 0) {
            *out = kinds[i];
            return EB_OK;
        }
    }
    return eb_error_set(err, EB_ERR_ARG, "optimizer: unknown kind '%s' (expected sgd, adam or adamw)",
                        s ? s : "(null)");
}

/* lo ≤ x (lo_open: lo < x) and x ≤ hi (hi_open: x < hi), x finite. NaN fails every comparison. */
static bool in_range(float x, double lo, bool lo_open, double hi, bool hi_open) {
    double d = (double)x;
    if (!isfinite(d)) return false;
    if (lo_open ? !(d > lo) : !(d >= lo)) return false;
    if (hi_open ? !(d < hi) : !(d <= hi)) return false;
    return true;
}

static eb_status bad_field(eb_error *err, const eb_optimizer_params *p, const char *field, const char *rule,
                           float value) {
    return eb_error_set(err, EB_ERR_ARG, "optimizer %s: %s must be %s (got %g)",
                        eb_optimizer_kind_name(p->kind), field, rule, (double)value);
}

eb_status eb_optimizer_params_check(const eb_optimizer_params *p, eb_error *err) {
    if (!p) return eb_error_set(err, EB_ERR_ARG, "optimizer: params is NULL");
    if (p->kind != EB_OPTIM_SGD && p->kind != EB_OPTIM_ADAM && p->kind != EB_OPTIM_ADAMW)
        return eb_error_set(err, EB_ERR_ARG, "optimizer: kind must be sgd, adam or adamw (got enum value %d)",
                            (int)p->kind);
    if (!in_range(p->lr, 0.0, false, INFINITY, true))
        return bad_field(err, p, "lr", "finite and >= 0", p->lr);
    if (!in_range(p->weight_decay, 0.0, false, INFINITY, true))
        return bad_field(err, p, "weight_decay", "finite and >= 0", p->weight_decay);
    if (p->kind == EB_OPTIM_SGD) {
        if (!in_range(p->momentum, 0.0, false, 1.0, true))
            return bad_field(err, p, "momentum", "in [0, 1)", p->momentum);
        if (!in_range(p->dampening, 0.0, false, 1.0, false))
            return bad_field(err, p, "dampening", "in [0, 1]", p->dampening);
        if (p->nesterov && !(p->momentum > 0.0f))
            return bad_field(err, p, "momentum", "> 0 with nesterov", p->momentum);
        if (p->nesterov && p->dampening != 0.0f)
            return bad_field(err, p, "dampening", "0 with nesterov", p->dampening);
    } else {
        if (!in_range(p->beta1, 0.0, false, 1.0, true))
            return bad_field(err, p, "beta1", "in [0, 1)", p->beta1);
        if (!in_range(p->beta2, 0.0, false, 1.0, true))
            return bad_field(err, p, "beta2", "in [0, 1)", p->beta2);
        if (!in_range(p->eps, 0.0, true, INFINITY, true))
            return bad_field(err, p, "eps", "finite and > 0", p->eps);
    }
    return EB_OK;
}

int eb_optimizer_params_format(const eb_optimizer_params *p, char *buf, size_t size) {
    if (!p) return snprintf(buf, size, "(null)");
    if (p->kind == EB_OPTIM_SGD)
        return snprintf(buf, size, "sgd(lr=%g, momentum=%g, dampening=%g, nesterov=%s, weight_decay=%g)",
                        (double)p->lr, (double)p->momentum, (double)p->dampening,
                        p->nesterov ? "true" : "false", (double)p->weight_decay);
    return snprintf(buf, size, "%s(lr=%g, betas=(%g, %g), eps=%g, weight_decay=%g)",
                    eb_optimizer_kind_name(p->kind), (double)p->lr, (double)p->beta1, (double)p->beta2,
                    (double)p->eps, (double)p->weight_decay);
}

static int64_t state_floats(const eb_optimizer_params *p, int64_t n) {
    if (p->kind == EB_OPTIM_SGD) return p->momentum != 0.0f ? n : 0;
    return 2 * n;
}

eb_status eb_optimizer_new(const eb_optimizer_params *p, int64_t n_params, const eb_allocator *a,
                           eb_optimizer **out, eb_error *err) {
    if (!out) return eb_error_set(err, EB_ERR_ARG, "optimizer: out is NULL");
    *out = NULL;
    eb_status st = eb_optimizer_params_check(p, err);
    if (st != EB_OK) return st;
    /* 2n floats must fit a size_t byte count. */
    if (n_params <= 0 || n_params > (int64_t)(SIZE_MAX / (2 * sizeof(float))))
        return eb_error_set(err, EB_ERR_ARG, "optimizer %s: n_params must be in [1, %zu] (got %lld)",
                            eb_optimizer_kind_name(p->kind), SIZE_MAX / (2 * sizeof(float)),
                            (long long)n_params);
    if (!a) a = eb_allocator_default();
    eb_optimizer *opt = eb_alloc_zero(a, sizeof *opt);
    if (!opt) return eb_error_set(err, EB_ERR_NOMEM, "optimizer: out of memory allocating the object");
    opt->params = *p;
    opt->n = n_params;
    opt->t = 0;
    opt->alloc = *a;
    opt->state_size = state_floats(p, n_params);
    if (opt->state_size > 0) {
        opt->state = eb_alloc_zero(a, (size_t)opt->state_size * sizeof(float));
        if (!opt->state) {
            eb_free(a, opt);
            return eb_error_set(err, EB_ERR_NOMEM,
                                "optimizer %s: out of memory allocating the state (%lld floats)",
                                eb_optimizer_kind_name(p->kind), (long long)state_floats(p, n_params));
        }
    }
    *out = opt;
    return EB_OK;
}

void eb_optimizer_free(eb_optimizer *opt) {
    if (!opt) return;
    eb_allocator a = opt->alloc;
    eb_free(&a, opt->state);
    eb_free(&a, opt);
}

void eb_optimizer_step(eb_optimizer *opt, float *params, const float *grads, float lr) {
    const int64_t n = opt->n;
    switch (opt->params.kind) {
    case EB_OPTIM_SGD: eb__sgd_step(&opt->params, n, opt->t, params, grads, opt->state, lr); break;
    case EB_OPTIM_ADAM:
        eb__adam_step(&opt->params, n, opt->t, params, grads, opt->state, opt->state + n, lr, false);
        break;
    case EB_OPTIM_ADAMW:
        eb__adam_step(&opt->params, n, opt->t, params, grads, opt->state, opt->state + n, lr, true);
        break;
    }
    opt->t++;
}

void eb__optim_for(int64_t n, void (*fn)(void *ctx, int64_t lo, int64_t hi), void *ctx) {
    if (n <= EB_OPTIM_PARALLEL_MIN) {
        fn(ctx, 0, n);
        return;
    }
    const int64_t chunks = (n + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t lo = c * OPTIM_CHUNK;
        const int64_t hi = lo + OPTIM_CHUNK < n ? lo + OPTIM_CHUNK : n;
        fn(ctx, lo, hi);
    }
}

int64_t eb_optimizer_n_params(const eb_optimizer *opt) { return opt->n; }
int64_t eb_optimizer_state_size(const eb_optimizer *opt) { return opt->state_size; }
float *eb_optimizer_state(eb_optimizer *opt) { return opt->state; }
int64_t eb_optimizer_step_count(const eb_optimizer *opt) { return opt->t; }
void eb_optimizer_set_step_count(eb_optimizer *opt, int64_t t) { opt->t = t < 0 ? 0 : t; }
const eb_optimizer_params *eb_optimizer_get_params(const eb_optimizer *opt) { return &opt->params; }
