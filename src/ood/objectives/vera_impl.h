/* Internals of the VERA objective shared by vera.c, vera_generator.c and the tests. */
#ifndef EBOOD_VERA_IMPL_H
#define EBOOD_VERA_IMPL_H

#include <ebood/ebm.h>

struct eb_vera {
    eb_vera_config c;
    int64_t dim, out_dim;
    /* the generator: linear i has weight lin_w[i] (and bias lin_b[i] or −1); hidden layer i has BatchNorm
     * γ bn_w[i], β bn_b[i] (or −1); logsigma is the scalar log σ */
    eb_params gen;
    int lin_w[EB_MLP_MAX_HIDDEN + 1], lin_b[EB_MLP_MAX_HIDDEN + 1];
    int bn_w[EB_MLP_MAX_HIDDEN], bn_b[EB_MLP_MAX_HIDDEN];
    int logsigma;
    float *post_log_sigma, *post_grad; /* [noise_dim] */
    eb_optimizer *gen_opt, *post_opt;
    int64_t gen_steps;
    eb_graph *scratch;
    /* the samples of the last call, waiting for their generator step: h[n, k], ε[n, D], x̃[n, D] */
    float *h, *eps, *xg;
    int64_t pending, cap;
    /* work arrays of the entropy estimator, grown on demand */
    float *work;
    int64_t work_cap;
    eb_vera_step_info last;
    /* Reference tests only: standard-normal draws to use instead of the rng's, z_k[K, n, k] for the
     * importance samples h_k = h + σ_post ⊙ z_k and z'[n, k] for the ELBO's h' (NULL = draw). */
    const float *fixed_zk, *fixed_zp;
};

/* μ = G(h) for h[N, noise_dim] on g (the generator's parameters as graph parameters unless g is frozen). */
eb_tensor *eb__vera_generator_forward(eb_vera *v, eb_graph *g, eb_tensor *h);

/* The entropy estimator's score c[n, D] (≈ −∇ₓ log q(x̃)) for samples x[n, D] drawn from latents h[n, k]
 * (importance sampling with n_posterior draws from N(h, σ_post²)), then, if learn_post, one Adam step of
 * log σ_post on the ELBO. Builds on v->scratch without resetting it (the caller's tape stays valid);
 * returns its status (a failure is recorded on v->scratch). */
eb_status eb__vera_entropy_score(eb_vera *v, const float *x, const float *h, int64_t n, eb_rng *rng, float *c,
                                 bool learn_post);

/* The generator loss −(mean f(x̃) + λ·Ĥ) of the samples x̃ = G(h) + σ·ε (h[n, k], ε[n, D]), its gradient
 * written into v->gen.grad (zeroed first; m's gradient buffers are not touched). m NULL = leave out the
 * f term (tests of the entropy estimator). info (may be NULL) receives the loss, mean f and Ĥ. Runs the
 * σ_post update when learn_post. Errors: EB_ERR_NUMERIC for a non-finite loss, a graph error. */
eb_status eb__vera_generator_grad(eb_vera *v, eb_model *m, const float *h, const float *eps, int64_t n,
                                  eb_rng *rng, bool learn_post, eb_vera_step_info *info, eb_error *err);
/* One AdamW step of the generator with its gradient at the scheduled lr, then the σ clamp. */
void eb__vera_generator_apply(eb_vera *v);
/* x̃ = G(h) + σ·ε as values (n rows). */
eb_status eb__vera_generate(eb_vera *v, const float *h, const float *eps, int64_t n, float *x, eb_error *err);

#endif
