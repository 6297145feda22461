/* Hopfield Boosting (000_d95ac7511efbaafc.txt §3, Eq. 4–7, Alg. 1; specs §2): the border-energy loss on
 * one concatenated batch, and the boosting step that reweights the auxiliary pool after every epoch.
 *
 * Loss (Eq. 4–6). z = the L2-normalised projection of the features (a frozen random MLP F → 256 → ReLU →
 * 128 as the code, or the features themselves), rows [z_I; z_O] of the batch's ID and auxiliary rows,
 * queries ξ = all rows. With a = β·z z_Iᵀ [Q, N_I] and b = β·z z_Oᵀ [Q, N_O] (natural-log lse over columns):
 *   L_OOD(ξ) = (lse a + lse b − 2·lse [a ∥ b]) / β                      (Eq. 5)
 *   L = CE(f(x_id), y) + λ · mean_ξ L_OOD(ξ)                             (Eq. 4, 6)
 * Nothing detached, the diagonal (ξ against itself) kept, as the code.
 *
 * Boosting (Eq. 7). Memories: I = the ID training set (or `memory` random rows of it), O = as many random
 * AUX pool rows; candidates = `candidates` random pool rows; all embedded in eval mode and projected. Each
 * candidate's L_OOD streams through the blocked GEMM (eb__gemm_lse: a query block against the memory, the
 * log-sum-exp reduced per register tile; no candidates × memory matrix), then
 *   w_i = softmax_i(β·L_OOD(ξ_i)) = softmax_i(lse_I + lse_O − 2·logaddexp(lse_I, lse_O))
 * over the candidates (0 elsewhere). The sampler draws the epoch's outliers from w with replacement.
 *
 * Distributed (eb_hopfield_boost_distribute): every rank draws the same memories and candidates, embeds
 * its share of the memory rows and scores its share of the candidates (each against the WHOLE memories,
 * so β·L_OOD of a candidate is the number one process computes); allgathers of the embeddings and of the
 * β·L_OOD give every rank the same softmax weights. Cost per rank: 1/N of the embedding and scoring. */
#include "ood/detectors/gemm_stream_impl.h"
#include "ood/objectives/outliers_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define L2_EPS        1e-12f /* torch.nn.functional.normalize's eps */
#define SCORE_CHUNK   4096   /* candidates embedded and scored per round */
#define PURPOSE_BOOST 21     /* eb_train_epoch_rng purpose of the candidate / memory draws */

struct eb_hopfield_boost {
    eb_hopfield_boost_config c;
    int64_t feat_dim, dim;
    float *head; /* W1 [hidden, F], b1 [hidden], W2 [proj, hidden], b2 [proj] */
    int64_t head_size;
    /* attached for boosting */
    eb_model *model;
    const eb_image_set *id, *aux;
    eb_image_transforms t;
    const eb_dist *dist; /* eb_hopfield_boost_distribute's (NULL: one process) */
};

static const char *const head_names[] = {"frozen", "none", "trainable"};

const char *eb_hb_head_name(eb_hb_head h) { return (unsigned)h < 3 ? head_names[h] : "invalid"; }

eb_status eb_hb_head_parse(const char *s, eb_hb_head *out, eb_error *err) {
    for (int i = 0; i < 3; i++)
        if (strcmp(s, head_names[i]) == 0) {
            *out = (eb_hb_head)i;
            return EB_OK;
        }
    return eb_error_set(err, EB_ERR_ARG, "unknown projection head '%s' (frozen, none or trainable)", s);
}

eb_hopfield_boost_config eb_hopfield_boost_default_config(void) {
    eb_hopfield_boost_config c;
    memset(&c, 0, sizeof c);
    c.lambda = 1.0f;
    c.beta = 4.0f;
    c.head = EB_HB_HEAD_FROZEN;
    c.proj_dim = 128;
    c.proj_hidden = 256;
    c.candidates = 500000;
    return c;
}

void eb_hopfield_boost_use_code(eb_hopfield_boost_config *c) {
    c->lambda = 0.5f;
    c->candidates = 400000;
    c->boost_first = true;
}

eb_status eb_hopfield_boost_config_check(const eb_hopfield_boost_config *c, eb_error *err) {
    if (!(isfinite(c->lambda) && c->lambda >= 0.0f))
        return eb_error_set(err, EB_ERR_ARG, "hopfield-boost: lambda must be a finite number >= 0 (got %g)",
                            (double)c->lambda);
    if (!(isfinite(c->beta) && c->beta > 0.0f && c->beta <= 1e4f))
        return eb_error_set(err, EB_ERR_ARG, "hopfield-boost: beta must be in (0, 1e4] (got %g)",
                            (double)c->beta);
    if (c->head != EB_HB_HEAD_FROZEN && c->head != EB_HB_HEAD_NONE && c->head != EB_HB_HEAD_TRAINABLE)
        return eb_error_set(err, EB_ERR_ARG, "hopfield-boost: unknown head %d", (int)c->head);
    if (c->head == EB_HB_HEAD_FROZEN &&
        (c->proj_dim < 1 || c->proj_dim > 65536 || c->proj_hidden < 1 || c->proj_hidden > 65536))
        return eb_error_set(err, EB_ERR_ARG, "hopfield-boost: projection sizes must be in [1, 65536]");
    if (c->candidates < 1 || c->memory < 0)
        return eb_error_set(err, EB_ERR_ARG, "hopfield-boost: candidates must be >= 1 and memory >= 0");
    return EB_OK;
}

/* The frozen head's initialisation from the config's seed (nn.Linear's default init, W1 then W2). */
static void init_head(eb_hopfield_boost *hb) {
    const int64_t f = hb->feat_dim, h = hb->c.proj_hidden, p = hb->c.proj_dim;
    eb_rng r;
    eb_rng_seed(&r, hb->c.seed ^ 0x68656164ull); /* "head" */
    eb_linear_init(hb->head, hb->head + h * f, h, f, &r);
    eb_linear_init(hb->head + h * f + h, hb->head + h * f + h + p * h, p, h, &r);
}

eb_status eb_hopfield_boost_new(const eb_hopfield_boost_config *c, const eb_model *m, eb_hopfield_boost **out,
                                eb_error *err) {
    *out = NULL;
    eb_status st = eb_hopfield_boost_config_check(c, err);
    if (st) return st;
    eb_hopfield_boost *hb = calloc(1, sizeof *hb);
    if (!hb) return eb_error_set(err, EB_ERR_NOMEM, "hopfield-boost: out of memory");
    if (c->head == EB_HB_HEAD_TRAINABLE && m->head_dim < 1) {
        free(hb);
        return eb_error_set(err, EB_ERR_ARG,
                            "hopfield-boost: a trainable head needs a model with a projection "
                            "head (eb_model_add_projection_head)");
    }
    hb->c = *c;
    hb->feat_dim = eb_model_feature_dim(m);
    hb->dim = c->head == EB_HB_HEAD_FROZEN      ? c->proj_dim
              : c->head == EB_HB_HEAD_TRAINABLE ? m->head_dim
                                                : hb->feat_dim;
    if (c->head == EB_HB_HEAD_FROZEN) {
        const int64_t f = hb->feat_dim, h = c->proj_hidden, p = c->proj_dim;
        hb->head_size = h * f + h + p * h + p;
        hb->head = malloc((size_t)hb->head_size * sizeof *hb->head);
        if (!hb->head) {
            free(hb);
            return eb_error_set(err, EB_ERR_NOMEM, "hopfield-boost: out of memory (head of %lld floats)",
                                (long long)(h * f + h + p * h + p));
        }
        init_head(hb);
    }
    *out = hb;
    return EB_OK;
}

eb_status eb_hopfield_boost_distribute(eb_hopfield_boost *hb, const eb_dist *dist, uint64_t seed,
                                       eb_error *err) {
    (void)err;
    hb->dist = dist;
    if (eb_dist_size(dist) < 2) return EB_OK;
    hb->c.seed = seed;
    if (hb->head) init_head(hb);
    return EB_OK;
}

void eb_hopfield_boost_free(eb_hopfield_boost *hb) {
    if (!hb) return;
    free(hb->head);
    free(hb);
}

float *eb_hopfield_boost_head(eb_hopfield_boost *hb, int64_t *size) {
    *size = hb->head_size;
    return hb->head;
}

int64_t eb_hopfield_boost_dim(const eb_hopfield_boost *hb) { return hb->dim; }

/* z = normalize(head(features)) on g: the frozen head's weights are constants (never trained), the
 * trainable head is the model's (eb_model_project normalises). */
static eb_tensor *project(eb_hopfield_boost *hb, eb_model *m, eb_graph *g, eb_tensor *features) {
    if (hb->c.head == EB_HB_HEAD_TRAINABLE) return eb_model_project(m, g, features);
    if (hb->c.head == EB_HB_HEAD_FROZEN) {
        const int64_t f = hb->feat_dim, h = hb->c.proj_hidden, p = hb->c.proj_dim;
        float *w1 = hb->head, *b1 = w1 + h * f, *w2 = b1 + h, *b2 = w2 + p * h;
        eb_tensor *hidden =
            eb_relu(g, eb_linear(g, features, eb_tensor_input(g, w1, 2, EB_SHAPE(h, f), false),
                                 eb_tensor_input(g, b1, 1, EB_SHAPE(h), false)));
        features = eb_linear(g, hidden, eb_tensor_input(g, w2, 2, EB_SHAPE(p, h), false),
                             eb_tensor_input(g, b2, 1, EB_SHAPE(p), false));
    }
    return eb_l2_normalize(g, features, L2_EPS);
}

eb_status eb_hopfield_boost_project(eb_hopfield_boost *hb, const float *features, int64_t n, float *z,
                                    eb_error *err) {
    if (hb->c.head == EB_HB_HEAD_TRAINABLE && !hb->model)
        return eb_error_set(err, EB_ERR_STATE,
                            "hopfield-boost: projecting with the model's head needs attach");
    eb_graph *g = eb_graph_new(0, NULL);
    if (!g) return eb_error_set(err, EB_ERR_NOMEM, "hopfield-boost: out of memory");
    eb_tensor *out =
        project(hb, hb->model, g, eb_tensor_input(g, (float *)features, 2, EB_SHAPE(n, hb->feat_dim), false));
    eb_status st = eb_graph_status(g);
    if (st)
        eb_error_set(err, st, "hopfield-boost: projection: %s", eb_graph_error(g));
    else
        memcpy(z, out->data, (size_t)(n * hb->dim) * sizeof *z);
    eb_graph_free(g);
    return st;
}

eb_tensor *eb_objective_hopfield_boost(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch,
                                       eb_rng *rng, int64_t *n_correct) {
    eb_hopfield_boost *hb = ctx;
    eb_tensor *features = NULL, *ce = NULL, *aux_logits = NULL;
    eb_tensor *logits = eb_model_forward(m, g, batch->x, true, rng, &features);
    if (!eb__outlier_split(g, "hopfield-boost", logits, batch, &ce, &aux_logits, n_correct)) return logits;
    if (features->shape[1] != hb->feat_dim) {
        eb_graph_fail(g, EB_ERR_SHAPE, "hopfield-boost: the model has %lld features, the head expects %lld",
                      (long long)features->shape[1], (long long)hb->feat_dim);
        return logits;
    }
    const float beta = hb->c.beta;
    eb_tensor *z = project(hb, m, g, features);
    eb_tensor *z_id = eb__rows(g, z, 0, batch->size), *z_aux = eb__rows(g, z, batch->size, batch->n_aux);
    eb_tensor *a = eb_mul_scalar(g, eb_matmul(g, z, z_id, false, true), beta);  /* [Q, N_I] */
    eb_tensor *b = eb_mul_scalar(g, eb_matmul(g, z, z_aux, false, true), beta); /* [Q, N_O] */
    eb_tensor *lse_union = eb_logsumexp(g, eb_concat(g, a, b, 1), 1, false);
    eb_tensor *border = eb_sub(g, eb_add(g, eb_logsumexp(g, a, 1, false), eb_logsumexp(g, b, 1, false)),
                               eb_mul_scalar(g, lse_union, 2.0f));            /* β·L_OOD(ξ), [Q] */
    eb_tensor *l_ood = eb_mul_scalar(g, eb_mean_all(g, border), 1.0f / beta); /* Eq. 6 */
    return eb_add(g, ce, eb_mul_scalar(g, l_ood, hb->c.lambda));
}

/* ---- the streaming border energy and the boosting step ------------------------------------------- */

/* Natural-log lse of β·q·I and β·q·O for a block of queries, then β·L_OOD = lse_I + lse_O − 2 lse_U. */
static eb_status border_block(const float *q, int64_t n_q, const float *mem_id, int64_t n_id,
                              const float *mem_aux, int64_t n_aux, int64_t dim, float beta, double *lse_id,
                              double *lse_aux, double *beta_l, eb_error *err) {
    eb_status st = eb__gemm_lse(q, n_q, mem_id, n_id, dim, beta, lse_id, NULL, "hopfield border energy", err);
    if (!st)
        st = eb__gemm_lse(q, n_q, mem_aux, n_aux, dim, beta, lse_aux, NULL, "hopfield border energy", err);
    for (int64_t i = 0; !st && i < n_q; i++) {
        const double hi = fmax(lse_id[i], lse_aux[i]), lo = fmin(lse_id[i], lse_aux[i]);
        const double lse_union = hi + log1p(exp(lo - hi));
        beta_l[i] = lse_id[i] + lse_aux[i] - 2.0 * lse_union;
    }
    return st;
}

eb_status eb_hopfield_border_energy(const float *q, int64_t n_q, const float *mem_id, int64_t n_id,
                                    const float *mem_aux, int64_t n_aux, int64_t dim, float beta,
                                    float *l_ood, eb_error *err) {
    static const char fn[] = "eb_hopfield_border_energy";
    if (!(isfinite(beta) && beta > 0.0f))
        return eb_error_set(err, EB_ERR_ARG, "%s: beta must be a finite number > 0 (got %g)", fn,
                            (double)beta);
    eb_status st = eb__gemm_check_args(fn, q, n_q, mem_id, n_id, dim, l_ood, (double)beta, err);
    if (!st) st = eb__gemm_check_args(fn, q, n_q, mem_aux, n_aux, dim, l_ood, (double)beta, err);
    if (st || n_q == 0) return st;
    const int64_t chunk = n_q < SCORE_CHUNK ? n_q : SCORE_CHUNK;
    double *buf = malloc((size_t)(3 * chunk) * sizeof *buf);
    if (!buf) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", fn);
    for (int64_t i0 = 0; i0 < n_q && !st; i0 += chunk) {
        const int64_t rows = n_q - i0 < chunk ? n_q - i0 : chunk;
        st = border_block(q + i0 * dim, rows, mem_id, n_id, mem_aux, n_aux, dim, beta, buf, buf + chunk,
                          buf + 2 * chunk, err);
        for (int64_t i = 0; !st && i < rows; i++) l_ood[i0 + i] = (float)(buf[2 * chunk + i] / (double)beta);
    }
    free(buf);
    return st;
}

eb_status eb_hopfield_boost_attach(eb_hopfield_boost *hb, eb_model *m, const eb_image_set *id,
                                   const eb_image_set *aux, const eb_image_transforms *t, eb_error *err) {
    if (!id || !aux || id->n < 1 || aux->n < 1)
        return eb_error_set(err, EB_ERR_ARG,
                            "hopfield-boost: boosting needs a non-empty ID set and AUX pool");
    if (eb_image_set_image_size(id) != eb_model_in_dim(m) ||
        eb_image_set_image_size(aux) != eb_model_in_dim(m))
        return eb_error_set(err, EB_ERR_SHAPE,
                            "hopfield-boost: ID (%lld) and AUX (%lld) rows must have the "
                            "model's %lld values",
                            (long long)eb_image_set_image_size(id), (long long)eb_image_set_image_size(aux),
                            (long long)eb_model_in_dim(m));
    if (eb_model_feature_dim(m) != hb->feat_dim)
        return eb_error_set(err, EB_ERR_SHAPE, "hopfield-boost: the model has %lld features, the head %lld",
                            (long long)eb_model_feature_dim(m), (long long)hb->feat_dim);
    if (t->crop_padding > 0 || t->hflip || t->noise_std > 0)
        return eb_error_set(err, EB_ERR_ARG, "hopfield-boost: the boosting transform must only normalise");
    hb->model = m;
    hb->id = id;
    hb->aux = aux;
    hb->t = *t;
    return EB_OK;
}

/* z[n, dim] of rows[0..n) of set: features in eval mode, projected and normalised. */
static eb_status embed_rows(eb_hopfield_boost *hb, const eb_image_set *set, const int64_t *rows, int64_t n,
                            float *z, eb_error *err) {
    float *features = malloc((size_t)((n > 0 ? n : 1) * hb->feat_dim) * sizeof *features);
    if (!features)
        return eb_error_set(err, EB_ERR_NOMEM, "hopfield-boost: out of memory (%lld features)", (long long)n);
    eb_status st = eb__predict_set_rows(hb->model, set, rows, n, &hb->t, NULL, features, err);
    if (!st) st = eb_hopfield_boost_project(hb, features, n, z, err);
    free(features);
    return st;
}

/* z[n, dim] of rows[0..n) of set, split across the ranks: each embeds its share, the shares gathered. */
static eb_status embed_shared(eb_hopfield_boost *hb, const eb_image_set *set, const int64_t *rows, int64_t n,
                              float *z, eb_error *err) {
    if (eb_dist_size(hb->dist) < 2) return embed_rows(hb, set, rows, n, z, err);
    int64_t lo, hi;
    eb_dist_share(n, eb_dist_rank(hb->dist), eb_dist_size(hb->dist), &lo, &hi);
    float *mine = malloc((size_t)((hi > lo ? hi - lo : 1) * hb->dim) * sizeof *mine);
    eb_status st = mine ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "hopfield-boost: out of memory");
    if (!st && hi > lo) st = embed_rows(hb, set, rows + lo, hi - lo, mine, err);
    if (!st) st = eb_dist_gather_shares_f32(hb->dist, mine, n, hb->dim, z, err);
    free(mine);
    return st;
}

/* A random permutation of [0, n) from r (its first k entries: k rows without repeats), or NULL. */
static int64_t *random_order(eb_rng *r, int64_t n) {
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    if (perm) eb_rng_permutation(r, n, perm);
    return perm;
}

eb_status eb_hopfield_boost_weights(void *ctx, int64_t epoch, double *weights, eb_error *err) {
    eb_hopfield_boost *hb = ctx;
    if (!hb->model)
        return eb_error_set(err, EB_ERR_STATE, "hopfield-boost: boosting needs eb_hopfield_boost_attach");
    const int64_t n_pool = hb->aux->n;
    if (epoch == 0 && !hb->c.boost_first) { /* Alg. 1: w₁ = 1/|O| */
        for (int64_t i = 0; i < n_pool; i++) weights[i] = 1.0;
        return EB_OK;
    }
    eb_rng r = eb_train_epoch_rng(hb->c.seed, epoch, PURPOSE_BOOST);
    const int64_t n_id = hb->c.memory > 0 && hb->c.memory < hb->id->n ? hb->c.memory : hb->id->n;
    const int64_t n_mem_aux = n_id < n_pool ? n_id : n_pool;
    const int64_t n_cand = hb->c.candidates < n_pool ? hb->c.candidates : n_pool;
    const int64_t dim = hb->dim;
    int64_t *id_rows = random_order(&r, hb->id->n), *aux_mem_rows = random_order(&r, n_pool),
            *cand_rows = random_order(&r, n_pool);
    float *mem_id = malloc((size_t)(n_id * dim) * sizeof *mem_id),
          *mem_aux = malloc((size_t)(n_mem_aux * dim) * sizeof *mem_aux),
          *zc = malloc((size_t)(SCORE_CHUNK * dim) * sizeof *zc);
    const bool split = eb_dist_size(hb->dist) > 1;
    int64_t lo = 0, hi = n_cand; /* this rank's candidates */
    if (split) eb_dist_share(n_cand, eb_dist_rank(hb->dist), eb_dist_size(hb->dist), &lo, &hi);
    double *buf = malloc((size_t)(3 * SCORE_CHUNK) * sizeof *buf),
           *beta_l = malloc((size_t)n_cand * sizeof *beta_l),
           *mine = split ? malloc((size_t)(hi > lo ? hi - lo : 1) * sizeof *mine) : beta_l;
    eb_status st = EB_OK;
    if (!id_rows || !aux_mem_rows || !cand_rows || !mem_id || !mem_aux || !zc || !buf || !beta_l || !mine)
        st = eb_error_set(err, EB_ERR_NOMEM, "hopfield-boost: out of memory (memories of %lld rows)",
                          (long long)n_id);
    if (!st) st = embed_shared(hb, hb->id, id_rows, n_id, mem_id, err);
    if (!st) st = embed_shared(hb, hb->aux, aux_mem_rows, n_mem_aux, mem_aux, err);
    for (int64_t i0 = lo; i0 < hi && !st; i0 += SCORE_CHUNK) {
        const int64_t rows = hi - i0 < SCORE_CHUNK ? hi - i0 : SCORE_CHUNK;
        st = embed_rows(hb, hb->aux, cand_rows + i0, rows, zc, err);
        if (!st)
            st = border_block(zc, rows, mem_id, n_id, mem_aux, n_mem_aux, dim, hb->c.beta, buf,
                              buf + SCORE_CHUNK, mine + (i0 - lo), err);
    }
    if (split && !st) st = eb_dist_gather_shares_f64(hb->dist, mine, n_cand, 1, beta_l, err);
    if (!st) { /* softmax over the candidates, max-shifted */
        double mx = -INFINITY;
        for (int64_t i = 0; i < n_cand; i++) mx = beta_l[i] > mx ? beta_l[i] : mx;
        for (int64_t i = 0; i < n_pool; i++) weights[i] = 0.0;
        for (int64_t i = 0; i < n_cand; i++) weights[cand_rows[i]] = exp(beta_l[i] - mx);
        if (!isfinite(mx)) st = eb_error_set(err, EB_ERR_NUMERIC, "hopfield-boost: non-finite border energy");
    }
    free(id_rows);
    free(aux_mem_rows);
    free(cand_rows);
    free(mem_id);
    free(mem_aux);
    free(zc);
    free(buf);
    if (mine != beta_l) free(mine);
    free(beta_l);
    return st;
}

/* ---- registry row: hopfield-boost (objective_impl.h) -------------------------------------------------- */
typedef struct hb_params {
    eb_hopfield_boost_config c;
    int64_t aux_batch;
} hb_params;

typedef struct hb_run { /* the run's context */
    eb_hopfield_boost *hb;
    int64_t aux_batch;
} hb_run;

static void hb_defaults(void *p) { *(hb_params *)p = (hb_params){eb_hopfield_boost_default_config(), 128}; }
static void hb_use_code(void *p) { eb_hopfield_boost_use_code(&((hb_params *)p)->c); }
static eb_status hb_check(const void *p, eb_error *err) {
    return eb_hopfield_boost_config_check(&((const hb_params *)p)->c, err);
}

static const eb_param_symbol head_symbols[] = {
    {"frozen", EB_HB_HEAD_FROZEN}, {"none", EB_HB_HEAD_NONE}, {"trainable", EB_HB_HEAD_TRAINABLE}, {NULL, 0}};

#define HB_FIELD(f) offsetof(hb_params, c.f)
static const eb_param_desc hb_rows[] = {
    {"lambda", "hb-lambda", EB_PARAM_TYPE_F32, HB_FIELD(lambda), 0, 1e6, false, false, NULL, "W",
     "hopfield-boost: weight of the border-energy loss L_OOD (Eq. 4)"},
    {"beta", "hb-beta", EB_PARAM_TYPE_F32, HB_FIELD(beta), 0, 1e4, true, false, NULL, "B",
     "hopfield-boost: inverse temperature of the Hopfield energies and of the boosting softmax"},
    {"head", "hb-head", EB_PARAM_TYPE_INT, HB_FIELD(head), 0, 2, false, true, head_symbols, "HEAD",
     "hopfield-boost: projection of the features: a frozen random MLP, none, or a trainable head in the "
     "model"},
    {"proj_dim", "hb-proj-dim", EB_PARAM_TYPE_I64, HB_FIELD(proj_dim), 1, 65536, false, false, NULL, "D",
     "hopfield-boost: width of the projection"},
    {"proj_hidden", "hb-proj-hidden", EB_PARAM_TYPE_I64, HB_FIELD(proj_hidden), 1, 65536, false, false, NULL,
     "H", "hopfield-boost: hidden width of the projection head"},
    {"candidates", "hb-candidates", EB_PARAM_TYPE_I64, HB_FIELD(candidates), 1, 1e10, false, false, NULL, "N",
     "hopfield-boost: AUX pool rows scored per boosting step (capped at the pool)"},
    {"memory", "hb-memory", EB_PARAM_TYPE_I64, HB_FIELD(memory), 0, 1e10, false, false, NULL, "N",
     "hopfield-boost: ID rows in the boosting memory (0 = the whole ID set)"},
    {"boost_first", "boost-first", EB_PARAM_TYPE_BOOL, HB_FIELD(boost_first), 0, 1, false, false, NULL,
     "BOOL", "hopfield-boost: also boost before the first epoch (else uniform weights)"},
    EB__AUX_BATCH_ROW(hb_params, aux_batch),
};

static eb_status hb_model_adjust(const void *p, eb_model **model, eb_error *err) {
    const hb_params *h = p;
    if (h->c.head != EB_HB_HEAD_TRAINABLE || (*model)->head_dim > 0) return EB_OK;
    eb_rng r;
    eb_rng_seed(&r, 0x68656164ull); /* "head" */
    return eb_model_add_projection_head(*model, h->c.proj_hidden, h->c.proj_dim, &r, err);
}

static eb_status hb_run_new(void *p, const eb_model *model, const eb_schedule *schedule, uint64_t seed,
                            void **ctx, eb_error *err) {
    (void)schedule;
    hb_params *h = p;
    hb_run *r = calloc(1, sizeof *r);
    if (!r) return eb_error_set(err, EB_ERR_NOMEM, "hopfield-boost: out of memory");
    h->c.seed = seed;
    r->aux_batch = h->aux_batch;
    eb_status st = eb_hopfield_boost_new(&h->c, model, &r->hb, err);
    if (st) free(r);
    if (!st) *ctx = r;
    return st;
}

static void hb_run_free(void *ctx) {
    hb_run *r = ctx;
    if (r) eb_hopfield_boost_free(r->hb);
    free(r);
}

static eb_tensor *hb_loss(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                          int64_t *n_correct) {
    return eb_objective_hopfield_boost(((hb_run *)ctx)->hb, m, g, batch, rng, n_correct);
}

static eb_status hb_aux_setup(void *ctx, eb_model *model, const eb_image_set *id, const eb_image_set *aux,
                              const eb_image_transforms *norm, int64_t batches_per_epoch, eb_aux_params *ap,
                              eb_error *err) {
    hb_run *r = ctx;
    ap->batch_size = r->aux_batch;
    ap->order = EB_AUX_WEIGHTED; /* Alg. 1: the epoch's outliers drawn with replacement from the weights */
    ap->draws = (batches_per_epoch > 0 ? batches_per_epoch : 1) * r->aux_batch;
    ap->weights = eb_hopfield_boost_weights;
    ap->weights_ctx = r->hb;
    return eb_hopfield_boost_attach(r->hb, model, id, aux, norm, err);
}

static eb_status hb_distribute(void *ctx, const eb_dist *dist, uint64_t seed, eb_error *err) {
    return eb_hopfield_boost_distribute(((hb_run *)ctx)->hb, dist, seed, err);
}

const eb__objective_method eb__objective_hopfield_boost = {
    .name = "hopfield-boost",
    .help =
        "Hopfield Boosting: CE + lambda x border energy on ID + resampled --aux-data outliers (000 Eq. 4-7)",
    .params_size = sizeof(hb_params),
    .params = hb_rows,
    .n_params = (int)(sizeof hb_rows / sizeof hb_rows[0]),
    .defaults = hb_defaults,
    .use_code = hb_use_code,
    .check = hb_check,
    .model_adjust = hb_model_adjust,
    .fn = hb_loss,
    .run_new = hb_run_new,
    .run_free = hb_run_free,
    .aux_setup = hb_aux_setup,
    .distribute = hb_distribute,
};
