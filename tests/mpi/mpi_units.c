/* Unit checks of the distributed layer, run under mpirun by tests/mpi/test_mpi_units.sh with -np 1, 2
 * and 3 (the MPI build only). Every rank computes the single-process reference itself and compares:
 *  1. eb_dist_gather_shares_f32/f64: every rank's share lands at its rows, for n below, at and above
 *     the rank count (empty shares included).
 *  2. SyncBN (eb_batch_norm_params.sync, ops_batchnorm.c): rank r normalises its rows [lo, hi) of a
 *     batch with the statistics of all ranks; its output rows, the running statistics, its input
 *     gradient ×w_r (w_r = its share of the rows, the training loop's weight) and the ranks' Σ w_r·∂γ,
 *     Σ w_r·∂β equal the one-process graph on the whole batch up to float reassociation (4-D and 2-D).
 *  3. Hopfield Boosting's boosting step split across the ranks (eb_hopfield_boost_distribute): made
 *     with a per-rank seed (as ebood train does) and given the common one, the frozen head is the
 *     one-process head bitwise; the weights of epochs 1 and 2 equal one process's up to float rounding
 *     (HB_TOL) and are bitwise the same on every rank (so every rank draws the same outliers).
 *  4. The sharded replay buffer: each rank's share of every class block, gathered on rank 0 in rank order,
 *     is the one-process buffer bitwise (eb_replay_buffer_init_share, eb_replay_buffer_gather, and cd's
 *     eb_cd_distribute from the common seed); set_share/copy_share move the rank's rows of a whole buffer.
 * A check passes only if it passes on every rank (a summed flag); rank 0 prints one line per check with
 * the largest difference measured. Exit 1 if any failed. */
#include <ebood/data.h>
#include <ebood/dist.h>
#include <ebood/ebm.h>
#include <ebood/nn.h>
#include <ebood/outliers.h>
#include <ebood/tensor.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 2e-5 /* max |Δ| / max(1, max |ref|) of the SyncBN comparisons (float reassociation) */
/* max |Δw| of HB's weights exp(β·L_OOD − max) ≤ 1: a row's embedding and border energy depend in the last
 * bits on the rows it shares a GEMM block with, and the ranks' blocks start elsewhere (measured ≤ 7e-9) */
#define HB_TOL 1e-6

static int failures;
static const eb_dist *D;

static void check(bool ok, const char *fmt, ...) {
    double bad = ok ? 0.0 : 1.0;
    eb_error err = {0};
    if (eb_dist_sum_f64(D, &bad, 1, &err)) {
        fprintf(stderr, "allreduce failed: %s\n", err.message);
        exit(1);
    }
    if (bad > 0.0) failures++;
    if (eb_dist_rank(D) != 0) return;
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", bad > 0.0 ? "FAIL" : "ok  ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* max |a − b| / max(1, max |b|) */
static double rel_diff(const float *a, const float *b, int64_t n) {
    double d = 0.0, m = 1.0;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return d / m;
}

/* The largest rel_diff over the ranks (each rank's own comparison). */
static double max_over_ranks(double v) {
    const int n = eb_dist_size(D);
    double *all = malloc((size_t)n * sizeof *all), m = 0.0;
    eb_error err = {0};
    if (!all || eb_dist_allgather_f64(D, &v, 1, all, &err)) exit(1);
    for (int r = 0; r < n; r++) m = fmax(m, all[r]);
    free(all);
    return m;
}

/* ---- 1. gather_shares ------------------------------------------------------------------------------ */
static void test_gather(void) {
    const int64_t sizes[] = {0, 1, 2, 5, 17}, width = 3;
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        const int64_t n = sizes[t];
        int64_t lo, hi;
        eb_dist_share(n, eb_dist_rank(D), eb_dist_size(D), &lo, &hi);
        float *mine = malloc((size_t)((hi - lo) * width + 1) * sizeof *mine);
        float *all = malloc((size_t)(n * width + 1) * sizeof *all);
        double *mine64 = malloc((size_t)((hi - lo) * width + 1) * sizeof *mine64);
        double *all64 = malloc((size_t)(n * width + 1) * sizeof *all64);
        for (int64_t i = 0; i < (hi - lo) * width; i++)
            mine64[i] = (double)(mine[i] = (float)(lo * width + i));
        eb_error err = {0};
        bool ok = eb_dist_gather_shares_f32(D, mine, n, width, all, &err) == EB_OK &&
                  eb_dist_gather_shares_f64(D, mine64, n, width, all64, &err) == EB_OK;
        for (int64_t i = 0; ok && i < n * width; i++) ok = all[i] == (float)i && all64[i] == (double)i;
        check(ok, "gather_shares of %lld rows x %lld on %d ranks", (long long)n, (long long)width,
              eb_dist_size(D));
        free(mine);
        free(all);
        free(mine64);
        free(all64);
    }
}

/* ---- 2. SyncBN --------------------------------------------------------------------------------------- */
typedef struct bn_out {
    float *y, *dx, *dgamma, *dbeta, *rmean, *rvar;
} bn_out;

static void bn_out_free(bn_out *o) {
    free(o->y), free(o->dx), free(o->dgamma), free(o->dbeta), free(o->rmean), free(o->rvar);
}

/* loss = mean over the rows' elements of k ⊙ y² (a batch mean of per-row terms) for
 * y = BN(x[rows lo..hi)); sync NULL: plain BatchNorm. */
static bn_out bn_run(const float *x, const float *k, const float *gamma, const float *beta, int ndim,
                     const int64_t *shape, int64_t lo, int64_t hi, const eb_bn_sync *sync) {
    const int64_t c = shape[1], per_row = shape[1] * (ndim == 4 ? shape[2] * shape[3] : 1);
    const int64_t rows = hi - lo, size = rows * per_row;
    int64_t sh[4] = {rows, shape[1], ndim == 4 ? shape[2] : 0, ndim == 4 ? shape[3] : 0};
    bn_out o = {malloc((size_t)size * sizeof(float)), malloc((size_t)size * sizeof(float)),
                calloc((size_t)c, sizeof(float)),     calloc((size_t)c, sizeof(float)),
                calloc((size_t)c, sizeof(float)),     malloc((size_t)c * sizeof(float))};
    for (int64_t j = 0; j < c; j++) o.rvar[j] = 1.0f;
    float *xc = malloc((size_t)size * sizeof *xc), *g = malloc((size_t)c * sizeof *g),
          *b = malloc((size_t)c * sizeof *b);
    memcpy(xc, x + lo * per_row, (size_t)size * sizeof *xc);
    memcpy(g, gamma, (size_t)c * sizeof *g);
    memcpy(b, beta, (size_t)c * sizeof *b);
    eb_graph *gr = eb_graph_new(0, NULL);
    eb_tensor *xt = eb_tensor_input(gr, xc, ndim, sh, true);
    eb_tensor *gt = eb_tensor_param(gr, g, o.dgamma, 1, EB_SHAPE(c));
    eb_tensor *bt = eb_tensor_param(gr, b, o.dbeta, 1, EB_SHAPE(c));
    eb_batch_norm_params p = eb_batch_norm_default_params();
    p.sync = sync;
    eb_tensor *y = eb_batch_norm(gr, xt, gt, bt, o.rmean, o.rvar, &p);
    eb_tensor *kt = eb_tensor_copy(gr, k + lo * per_row, ndim, sh);
    eb_tensor *loss = eb_mean_all(gr, eb_mul(gr, kt, eb_square(gr, y)));
    if (eb_graph_status(gr) || eb_graph_backward(gr, loss, NULL)) {
        fprintf(stderr, "rank %d: SyncBN graph: %s\n", eb_dist_rank(D), eb_graph_error(gr));
        exit(1);
    }
    memcpy(o.y, y->data, (size_t)size * sizeof(float));
    memcpy(o.dx, xt->grad, (size_t)size * sizeof(float));
    eb_graph_free(gr);
    free(xc), free(g), free(b);
    return o;
}

static void test_sync_bn(int ndim, const int64_t *shape) {
    const int64_t n = shape[0], c = shape[1], per_row = c * (ndim == 4 ? shape[2] * shape[3] : 1);
    float *x = malloc((size_t)(n * per_row) * sizeof *x), *k = malloc((size_t)(n * per_row) * sizeof *k);
    float *gamma = malloc((size_t)c * sizeof *gamma), *beta = malloc((size_t)c * sizeof *beta);
    eb_rng r;
    eb_rng_seed(&r, 42); /* the same batch on every rank */
    for (int64_t i = 0; i < n * per_row; i++) {
        x[i] = (float)(eb_rng_normal(&r) * 2.0 + 0.5 * (double)(i % c));
        k[i] = (float)eb_rng_normal(&r);
    }
    for (int64_t j = 0; j < c; j++) {
        gamma[j] = (float)(1.0 + 0.3 * eb_rng_normal(&r));
        beta[j] = (float)(0.2 * eb_rng_normal(&r));
    }
    bn_out ref = bn_run(x, k, gamma, beta, ndim, shape, 0, n, NULL);
    int64_t lo, hi;
    eb_dist_share(n, eb_dist_rank(D), eb_dist_size(D), &lo, &hi);
    const float w = (float)(hi - lo) / (float)n; /* the training loop's weight of this rank */
    eb_bn_sync sync = {D, (double)w};
    bn_out mine = bn_run(x, k, gamma, beta, ndim, shape, lo, hi, &sync);
    for (int64_t i = 0; i < (hi - lo) * per_row; i++) mine.dx[i] *= w;
    for (int64_t j = 0; j < c; j++) mine.dgamma[j] *= w, mine.dbeta[j] *= w;
    eb_error err = {0};
    if (eb_dist_sum_f32(D, mine.dgamma, c, &err) || eb_dist_sum_f32(D, mine.dbeta, c, &err)) exit(1);
    const char *what = ndim == 4 ? "4-D" : "2-D";
    const int ranks = eb_dist_size(D);
    double dy = max_over_ranks(rel_diff(mine.y, ref.y + lo * per_row, (hi - lo) * per_row));
    double dx = max_over_ranks(rel_diff(mine.dx, ref.dx + lo * per_row, (hi - lo) * per_row));
    double dg =
        max_over_ranks(fmax(rel_diff(mine.dgamma, ref.dgamma, c), rel_diff(mine.dbeta, ref.dbeta, c)));
    double ds = max_over_ranks(fmax(rel_diff(mine.rmean, ref.rmean, c), rel_diff(mine.rvar, ref.rvar, c)));
    check(dy <= TOL, "SyncBN %s, %d ranks: output rows = one process's (max rel diff %.2g)", what, ranks, dy);
    check(dx <= TOL, "SyncBN %s, %d ranks: w_r * input gradient = one process's (%.2g)", what, ranks, dx);
    check(dg <= TOL, "SyncBN %s, %d ranks: sum_r w_r * d(gamma, beta) = one process's (%.2g)", what, ranks,
          dg);
    check(ds <= TOL, "SyncBN %s, %d ranks: running statistics = one process's (%.2g)", what, ranks, ds);
    bn_out_free(&ref);
    bn_out_free(&mine);
    free(x), free(k), free(gamma), free(beta);
}

/* ---- 3. Hopfield Boosting's boosting step ---------------------------------------------------------- */
static eb_hopfield_boost *hb_make(eb_model *m, const eb_image_set *id, const eb_image_set *aux,
                                  uint64_t seed) {
    eb_hopfield_boost_config c = eb_hopfield_boost_default_config();
    c.proj_hidden = 8;
    c.proj_dim = 6;
    c.candidates = 250;
    c.memory = 40;
    c.seed = seed;
    eb_hopfield_boost *hb = NULL;
    eb_error err = {0};
    eb_image_transforms tr = eb_image_transforms_default();
    if (eb_hopfield_boost_new(&c, m, &hb, &err) || eb_hopfield_boost_attach(hb, m, id, aux, &tr, &err)) {
        fprintf(stderr, "hopfield-boost: %s\n", err.message);
        exit(1);
    }
    return hb;
}

static void test_hb(void) {
    eb_error err = {0};
    eb_image_set id, aux;
    const int64_t n_id = 96, n_aux = 300;
    if (eb_image_set_alloc(n_id, 1, 1, 4, EB_DTYPE_F32, 2, &id, &err) ||
        eb_image_set_alloc(n_aux, 1, 1, 4, EB_DTYPE_F32, 0, &aux, &err))
        exit(1);
    eb_rng r;
    eb_rng_seed(&r, 5);
    for (int64_t i = 0; i < n_id; i++) {
        id.labels[i] = (int32_t)(i % 2);
        for (int d = 0; d < 4; d++)
            id.f32[i * 4 + d] = (float)eb_rng_normal(&r) * 0.5f + (i % 2 ? 1.0f : -1.0f);
    }
    for (int64_t i = 0; i < n_aux * 4; i++) aux.f32[i] = (float)eb_rng_normal(&r) * 2.0f + 1.0f;
    eb_mlp_config mc = eb_mlp_default_config(4, 2);
    mc.n_hidden = 2;
    mc.hidden[0] = mc.hidden[1] = 16;
    eb_model *m = NULL;
    if (eb_mlp_new(&mc, &r, NULL, &m, &err)) exit(1);
    const uint64_t seed = 7;
    eb_hopfield_boost *one = hb_make(m, &id, &aux, seed);
    eb_hopfield_boost *split = hb_make(m, &id, &aux, eb_dist_seed(D, seed)); /* per rank, as ebood train */
    bool ok = eb_hopfield_boost_distribute(split, D, seed, &err) == EB_OK;
    int64_t n1, n2;
    const float *h1 = eb_hopfield_boost_head(one, &n1), *h2 = eb_hopfield_boost_head(split, &n2);
    ok = ok && n1 == n2 && memcmp(h1, h2, (size_t)n1 * sizeof *h1) == 0;
    check(ok, "hopfield-boost, %d ranks: the frozen head from the common seed = one process's",
          eb_dist_size(D));
    double *w1 = malloc((size_t)n_aux * sizeof *w1), *w2 = malloc((size_t)n_aux * sizeof *w2);
    double *all = malloc((size_t)(n_aux * eb_dist_size(D)) * sizeof *all);
    for (int64_t epoch = 1; epoch <= 2; epoch++) {
        ok = eb_hopfield_boost_weights(one, epoch, w1, &err) == EB_OK &&
             eb_hopfield_boost_weights(split, epoch, w2, &err) == EB_OK;
        double d = 0.0;
        int64_t nonzero = 0;
        for (int64_t i = 0; ok && i < n_aux; i++) {
            d = fmax(d, fabs(w1[i] - w2[i]));
            nonzero += w2[i] > 0.0;
        }
        d = max_over_ranks(d);
        check(ok && d <= HB_TOL && nonzero == 250,
              "hopfield-boost, %d ranks, epoch %lld: weights of the 250 candidates = one process's (max |dw| "
              "%.2g, "
              "weights <= 1)",
              eb_dist_size(D), (long long)epoch, d);
        ok = eb_dist_allgather_f64(D, w2, n_aux, all, &err) == EB_OK;
        for (int rk = 1; ok && rk < eb_dist_size(D); rk++)
            ok = memcmp(all, all + rk * n_aux, (size_t)n_aux * sizeof *all) == 0;
        check(ok, "hopfield-boost, %d ranks, epoch %lld: every rank holds the same weights", eb_dist_size(D),
              (long long)epoch);
        for (int64_t i = 0; i < m->params.size; i++) m->params.data[i] *= 1.1f; /* a new model each epoch */
    }
    free(w1), free(w2), free(all);
    eb_hopfield_boost_free(one);
    eb_hopfield_boost_free(split);
    eb_model_free(m);
    eb_image_set_free(&id);
    eb_image_set_free(&aux);
}

/* ---- 4. the sharded replay buffer (eb_replay_buffer_init_share, eb_cd_distribute) -------------------- */
/* A buffer of `size` chains (n_classes blocks, or one) made whole by one process and shared by the ranks:
 * each rank holds its share of every block (no more than ⌈block/ranks⌉ rows of each), the gather on rank
 * 0 is the one-process buffer bitwise, and set_share/copy_share move this rank's rows of a whole buffer. */
static void test_replay_share(int64_t size, int64_t dim, int64_t n_classes) {
    const int ranks = eb_dist_size(D);
    eb_error err = {0};
    eb_rng r1, r2;
    eb_rng_seed(&r1, 11);
    eb_rng_seed(&r2, 11);
    eb_replay_buffer one, mine;
    if (eb_replay_buffer_init(&one, size, dim, n_classes, -1.0f, 1.0f, 0.05, &r1, &err) ||
        eb_replay_buffer_init_share(&mine, size, dim, n_classes, -1.0f, 1.0f, 0.05, D, &r2, &err)) {
        fprintf(stderr, "replay buffer: %s\n", err.message);
        exit(1);
    }
    const int64_t blocks = n_classes > 0 ? n_classes : 1, block = one.size / blocks;
    const bool sized = mine.total == one.size && mine.size <= blocks * ((block + ranks - 1) / ranks) &&
                       mine.size >= blocks * (block / ranks);
    float *all = eb_dist_rank(D) == 0 ? malloc((size_t)(one.size * dim) * sizeof *all) : NULL;
    bool ok = eb_replay_buffer_gather(&mine, all, &err) == EB_OK;
    ok = ok && (!all || memcmp(all, one.x, (size_t)(one.size * dim) * sizeof *all) == 0);
    check(
        sized && ok,
        "replay buffer of %lld chains (%lld classes), %d ranks: this rank holds %lld, the gather on rank 0 = "
        "one process's buffer bitwise",
        (long long)one.size, (long long)n_classes, ranks, (long long)mine.size);
    /* restore from a whole buffer (a checkpoint's), then this rank's rows back out */
    for (int64_t i = 0; i < one.size * dim; i++) one.x[i] = (float)(i + 1); /* 0: a row not written */
    eb_replay_buffer_set_share(&mine, one.x);
    float *back = calloc((size_t)(one.size * dim), sizeof *back);
    eb_replay_buffer_copy_share(&mine, back);
    int64_t held = 0;
    ok = back != NULL;
    for (int64_t i = 0; ok && i < one.size; i++) {
        const bool written = back[i * dim] != 0.0f;
        held += written;
        if (written) ok = memcmp(back + i * dim, one.x + i * dim, (size_t)dim * sizeof *back) == 0;
    }
    double total = (double)held;
    ok = ok && held == mine.size && eb_dist_sum_f64(D, &total, 1, &err) == EB_OK && total == (double)one.size;
    check(
        ok,
        "replay buffer of %lld chains (%lld classes), %d ranks: set_share/copy_share move this rank's rows, "
        "the ranks' rows partition the buffer",
        (long long)one.size, (long long)n_classes, ranks);
    free(back);
    free(all);
    eb_replay_buffer_free(&one);
    eb_replay_buffer_free(&mine);
}

/* cd made with a per-rank seed (as ebood train) and distributed with the common one: the ranks' shares
 * gather to the buffer one process makes with the common seed; too small a buffer is refused. */
static void test_cd_distribute(void) {
    const int ranks = eb_dist_size(D);
    eb_error err = {0};
    eb_cd_config c = eb_cd_supervised_default_config();
    c.buffer_size = 40;
    c.seed = 9;
    eb_cd *one = NULL, *split = NULL;
    if (eb_cd_new(&c, 3, 4, &one, &err)) exit(1);
    c.seed = eb_dist_seed(D, 9);
    if (eb_cd_new(&c, 3, 4, &split, &err) || eb_cd_distribute(split, D, 9, &err)) {
        fprintf(stderr, "cd: %s\n", err.message);
        exit(1);
    }
    const eb_replay_buffer *b1 = eb_cd_buffer(one), *b2 = eb_cd_buffer(split);
    float *all = eb_dist_rank(D) == 0 ? malloc((size_t)(b1->size * 3) * sizeof *all) : NULL;
    bool ok = eb_replay_buffer_gather(b2, all, &err) == EB_OK && b2->total == 40 &&
              (ranks == 1 || b2->size < 40) &&
              (!all || memcmp(all, b1->x, (size_t)(40 * 3) * sizeof *all) == 0);
    check(ok,
          "cd-s, %d ranks: the shares of a per-rank cd, distributed with the common seed, gather to one "
          "process's buffer (40 chains, 4 classes; this rank %lld)",
          ranks, (long long)b2->size);
    free(all);
    eb_cd_free(split);
    split = NULL;
    c.buffer_size = 4 * ranks - 1; /* a class block of ranks − 1 chains (trimmed to whole blocks) */
    if (ranks > 1) {
        if (eb_cd_new(&c, 3, 4, &split, &err)) exit(1);
        eb_status st = eb_cd_distribute(split, D, 9, &err);
        check(st == EB_ERR_ARG && strstr(err.message, "cannot be split over"),
              "cd-s, %d ranks: a buffer of %lld chains (fewer than ranks per class) is refused: %s", ranks,
              (long long)c.buffer_size, err.message);
        eb_cd_free(split);
    }
    eb_cd_free(one);
}

int main(void) {
    eb_dist *d = NULL;
    eb_error err = {0};
    if (eb_dist_open(&d, &err)) {
        fprintf(stderr, "mpi_units: %s\n", err.message);
        return 1;
    }
    D = d;
    test_gather();
    test_sync_bn(4, (const int64_t[]){7, 3, 3, 2});
    test_sync_bn(2, (const int64_t[]){11, 5});
    test_hb();
    test_replay_share(7, 2, 0);
    test_replay_share(31, 3, 3);
    test_cd_distribute();
    const int rc = failures ? 1 : 0;
    if (eb_dist_rank(D) == 0) printf("%d failed\n", failures);
    eb_dist_close(d);
    return rc;
}
