/* perf_outliers: throughput of the outlier objectives' training step and of Hopfield Boosting's candidate
 * scoring, one JSON line on stdout. Its twin is perf/outliers_torch.py (the same network, batches,
 * optimizer and sizes in PyTorch); run both with the same arguments and divide (perf/README.md).
 * Benchmarks are programs, not tests (DESIGN.md §4).
 *
 * Cases:
 *   oe | energy-ft | hopfield-boost   one training step on small_cnn (1×28×28, 10 classes): --batch ID rows
 *          + --aux AUX rows (default 128 + 256; 128 + 128 for hopfield-boost) concatenated, forward(train),
 *          the objective, zero-grad, backward, SGD step (lr 0.01, momentum 0.9, Nesterov) — the body of
 *          eb_train_source; batches cycle through --pool synthetic batches. Result: steps/s.
 *   hb-score   the border energy L_OOD (Eq. 5) of --nq L2-normalised queries against two memories of --nb
 *          rows each, d = --dim (default 100,000 against 2 × 50,000, d 128): eb_hopfield_border_energy,
 *          streaming, no nq × nb matrix. Result: queries/s; peak RSS beside the data's size.
 *   poem   POEM's mining step after the features (outliers.h's eb_poem_*): the Bayesian linear regression
 *          on --nb feature rows of d = --dim (half ID, target −3, half outliers, +3; σ 20, σ_n 0.5), its
 *          Cholesky, one Thompson draw, and the --k of --nq candidate rows closest to the boundary
 *          (default 100,000 candidates, 50,000 regression rows, d 128, k = nq / 8: the code's 400k → 50k).
 *          The forward passes that make the features are the network's and are not part of it. Result:
 *          mining steps/s.
 * Synthetic data: splitmix64 from --seed (perf_util.h; the twin draws the same numbers).
 * Timing: --warmup untimed runs, then --reps timed runs; the median wall time. Threads: EBOOD_THREADS. */
#include <ebood/ebood.h>

#include "perf_train.h"
#include "perf_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct perf_args {
    const char *kase;
    int64_t batch, aux, pool, nq, nb, dim, k, reps, warmup, seed;
} perf_args;

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: perf_outliers [--case oe|energy-ft|hopfield-boost|hb-score|poem] [--batch B] [--aux A]\n"
        "                      [--pool P] [--nq N] [--nb N] [--dim D] [--k K] [--reps R] [--warmup W]\n"
        "                      [--seed S]\n"
        "Prints one JSON line: steps/s (training cases, poem) or queries/s (hb-score), median of R runs.\n");
}

static int parse_args(int argc, char **argv, perf_args *a) {
    *a = (perf_args){.kase = "oe",
                     .batch = 128,
                     .aux = -1,
                     .pool = 2,
                     .nq = 100000,
                     .nb = 50000,
                     .dim = 128,
                     .k = -1,
                     .reps = 5,
                     .warmup = 1,
                     .seed = 1};
    const perf_opt opts[] = {
        {"--case", 0, 0, NULL, "oe|energy-ft|hopfield-boost|hb-score|poem", &a->kase},
        {"--batch", 1, 1 << 20, &a->batch, NULL, NULL},
        {"--aux", 1, 1 << 20, &a->aux, NULL, NULL},
        {"--pool", 1, 1000, &a->pool, NULL, NULL},
        {"--nq", 1, INT64_C(1) << 32, &a->nq, NULL, NULL},
        {"--nb", 1, INT64_C(1) << 32, &a->nb, NULL, NULL},
        {"--dim", 1, 1 << 16, &a->dim, NULL, NULL},
        {"--k", 1, INT64_C(1) << 32, &a->k, NULL, NULL},
        {"--reps", 1, 1000, &a->reps, NULL, NULL},
        {"--warmup", 0, 1000, &a->warmup, NULL, NULL},
        {"--seed", 0, INT64_MAX, &a->seed, NULL, NULL},
    };
    const int rc = perf_parse_opts("perf_outliers", argc, argv, opts, (int)(sizeof opts / sizeof opts[0]));
    if (rc) return rc;
    if (a->aux < 0) a->aux = strcmp(a->kase, "hopfield-boost") == 0 ? 128 : 256;
    if (a->k < 0) a->k = a->nq / 8 > 0 ? a->nq / 8 : 1;
    if (a->k > a->nq)
        return fprintf(stderr, "perf_outliers: --k %lld > --nq %lld\n", (long long)a->k, (long long)a->nq), 1;
    return 0;
}

/* x[n, dim] from the stream, rows L2-normalised (as the twin). */
static float *unit_rows(uint64_t *s, int64_t n, int64_t dim) {
    float *x = malloc((size_t)(n * dim) * sizeof *x);
    if (!x) return NULL;
    for (int64_t i = 0; i < n; i++) {
        double ss = 0.0;
        for (int64_t c = 0; c < dim; c++) {
            x[i * dim + c] = perf_uniform(s);
            ss += (double)x[i * dim + c] * (double)x[i * dim + c];
        }
        const float inv = (float)(1.0 / sqrt(ss));
        for (int64_t c = 0; c < dim; c++) x[i * dim + c] *= inv;
    }
    return x;
}

typedef struct score_run {
    const perf_args *a;
    const float *q, *mi, *mo;
    float *out;
} score_run;

static int score_once(void *ctx, int r) {
    (void)r;
    const score_run *c = ctx;
    eb_error err = {0};
    if (eb_hopfield_border_energy(c->q, c->a->nq, c->mi, c->a->nb, c->mo, c->a->nb, c->a->dim, 4.0f, c->out,
                                  &err))
        return fprintf(stderr, "perf_outliers: %s\n", err.message), 2;
    return 0;
}

static int perf_score(const perf_args *a) {
    uint64_t s = (uint64_t)a->seed;
    float *q = unit_rows(&s, a->nq, a->dim), *mi = unit_rows(&s, a->nb, a->dim),
          *mo = unit_rows(&s, a->nb, a->dim);
    float *out = malloc((size_t)a->nq * sizeof *out);
    double *t = malloc((size_t)a->reps * sizeof *t);
    if (!q || !mi || !mo || !out || !t) return fprintf(stderr, "perf_outliers: out of memory\n"), 2;
    perf_reset_peak();
    int rc = perf_time_runs(a->warmup, a->reps, score_once, &(score_run){a, q, mi, mo, out}, t);
    if (rc) return rc;
    double sum = 0.0;
    for (int64_t i = 0; i < a->nq; i++) sum += (double)out[i];
    const double med = perf_median(t, (int)a->reps);
    printf("{\"impl\": \"ebood\", \"case\": \"hb-score\", \"nq\": %lld, \"nb\": %lld, \"dim\": %lld, "
           "\"threads\": %d, "
           "\"queries_per_s\": %.1f, \"seconds\": %.4f, \"peak_rss_kb\": %ld, \"data_kb\": %lld, "
           "\"checksum\": %.6g}\n",
           (long long)a->nq, (long long)a->nb, (long long)a->dim, eb_threads_get(), (double)a->nq / med, med,
           perf_status_kb("VmHWM:"), (long long)((a->nq + 2 * a->nb) * a->dim * 4 / 1024),
           sum / (double)a->nq);
    free(t);
    free(q);
    free(mi);
    free(mo);
    free(out);
    return 0;
}

typedef struct step_run {
    const perf_args *a;
    perf_train t;
    const float *x;
    const int32_t *y;
} step_run;

static int step_once(void *ctx, int r) {
    step_run *c = ctx;
    const perf_args *a = c->a;
    const int64_t b = (r + a->warmup) % a->pool;
    return perf_train_step(&c->t, c->x + b * (a->batch + a->aux) * 28 * 28, c->y + b * a->batch, a->batch,
                           a->aux);
}

static int perf_step(const perf_args *a) {
    eb_error err = {0};
    eb_rng init;
    eb_model *m = NULL;
    if (perf_small_cnn("perf_outliers", a->seed, &init, &m)) return 2;
    const int64_t rows = a->batch + a->aux, dim = 28 * 28;
    float *x = malloc((size_t)(a->pool * rows * dim) * sizeof *x);
    int32_t *y = malloc((size_t)(a->pool * a->batch) * sizeof *y);
    double *t = malloc((size_t)a->reps * sizeof *t);
    if (!x || !y || !t) return fprintf(stderr, "perf_outliers: out of memory\n"), 2;
    uint64_t s = (uint64_t)a->seed;
    for (int64_t b = 0; b < a->pool; b++)
        for (int64_t i = 0; i < rows * dim; i++) x[b * rows * dim + i] = perf_uniform(&s);
    for (int64_t i = 0; i < a->pool * a->batch; i++) y[i] = (int32_t)(perf_splitmix64(&s) % 10);
    eb_oe_config oe = eb_oe_default_config();
    eb_energy_ft_config ef = eb_energy_ft_default_config();
    eb_hopfield_boost_config hc = eb_hopfield_boost_default_config();
    eb_hopfield_boost *hb = NULL;
    if (eb_hopfield_boost_new(&hc, m, &hb, &err))
        return fprintf(stderr, "perf_outliers: %s\n", err.message), 2;
    eb_objective_fn fn = !strcmp(a->kase, "oe")          ? eb_objective_oe
                         : !strcmp(a->kase, "energy-ft") ? eb_objective_energy_ft
                                                         : eb_objective_hopfield_boost;
    void *ctx = !strcmp(a->kase, "oe")          ? (void *)&oe
                : !strcmp(a->kase, "energy-ft") ? (void *)&ef
                                                : (void *)hb;
    step_run run = {.a = a, .x = x, .y = y};
    if (perf_train_init(&run.t, "perf_outliers", m, 0.01f, 0.0f, fn, ctx, 7)) return 2;
    const int rc = perf_time_runs(a->warmup, a->reps, step_once, &run, t);
    if (rc) return rc;
    const double med = perf_median(t, (int)a->reps);
    printf("{\"impl\": \"ebood\", \"case\": \"%s\", \"batch\": %lld, \"aux\": %lld, \"threads\": %d, "
           "\"steps_per_s\": %.3f, \"seconds\": %.4f, \"last_loss\": %.6g}\n",
           a->kase, (long long)a->batch, (long long)a->aux, eb_threads_get(), 1.0 / med, med, run.t.loss);
    free(t);
    free(x);
    free(y);
    perf_train_free(&run.t);
    eb_hopfield_boost_free(hb);
    eb_model_free(m);
    return 0;
}

/* POEM's mining after the features: regression rows h[nb, d] (the first half ID, target −3; the rest mined
 * outliers, +3) and candidates c[nq, d], both U[−1, 1) from the stream (the ID half shifted by +0.25 so the
 * two differ); one step = accumulate, posterior, draw, select. */
typedef struct poem_run {
    const perf_args *a;
    const float *h, *c;
    double *prec, *mu, *w;
    int64_t *rows;
    eb_rng rng;
} poem_run;

static int poem_once(void *ctx, int r) {
    (void)r;
    poem_run *p = ctx;
    const perf_args *a = p->a;
    const int64_t d = a->dim, n_id = a->nb / 2;
    eb_error err = {0};
    memset(p->prec, 0, (size_t)(d * d) * sizeof *p->prec);
    memset(p->mu, 0, (size_t)d * sizeof *p->mu);
    eb_poem_accumulate(p->prec, p->mu, p->h, n_id, d, -3.0, 1.0, 0.5);
    eb_poem_accumulate(p->prec, p->mu, p->h + n_id * d, a->nb - n_id, d, 3.0, 1.0, 0.5);
    if (eb_poem_posterior(p->prec, p->mu, d, 20.0, &err))
        return fprintf(stderr, "perf_outliers: %s\n", err.message), 2;
    for (int64_t i = 0; i < d; i++) p->w[i] = eb_rng_normal(&p->rng);
    eb_poem_draw(p->prec, p->mu, d, 20.0, p->w);
    if (eb_poem_select(p->c, a->nq, d, p->w, a->k, p->rows, &err))
        return fprintf(stderr, "perf_outliers: %s\n", err.message), 2;
    return 0;
}

static int perf_poem(const perf_args *a) {
    const int64_t d = a->dim;
    float *h = malloc((size_t)(a->nb * d) * sizeof *h), *c = malloc((size_t)(a->nq * d) * sizeof *c);
    poem_run p = {.a = a,
                  .h = h,
                  .c = c,
                  .prec = malloc((size_t)(d * d) * sizeof(double)),
                  .mu = malloc((size_t)d * sizeof(double)),
                  .w = malloc((size_t)d * sizeof(double)),
                  .rows = malloc((size_t)a->k * sizeof(int64_t))};
    double *t = malloc((size_t)a->reps * sizeof *t);
    if (!h || !c || !p.prec || !p.mu || !p.w || !p.rows || !t)
        return fprintf(stderr, "perf_outliers: out of memory\n"), 2;
    uint64_t s = (uint64_t)a->seed;
    for (int64_t i = 0; i < a->nb * d; i++) h[i] = perf_uniform(&s) + (i < a->nb / 2 * d ? 0.25f : 0.0f);
    for (int64_t i = 0; i < a->nq * d; i++) c[i] = perf_uniform(&s);
    eb_rng_seed(&p.rng, (uint64_t)a->seed);
    perf_reset_peak();
    const int rc = perf_time_runs(a->warmup, a->reps, poem_once, &p, t);
    if (rc) return rc;
    const double med = perf_median(t, (int)a->reps);
    double mean_row = 0.0; /* a checksum: the mean selected row */
    for (int64_t i = 0; i < a->k; i++) mean_row += (double)p.rows[i] / (double)a->k;
    printf(
        "{\"impl\": \"ebood\", \"case\": \"poem\", \"nq\": %lld, \"nb\": %lld, \"dim\": %lld, \"k\": %lld, "
        "\"threads\": %d, \"steps_per_s\": %.4f, \"seconds\": %.4f, \"peak_rss_kb\": %ld, \"mean_row\": "
        "%.1f}\n",
        (long long)a->nq, (long long)a->nb, (long long)d, (long long)a->k, eb_threads_get(), 1.0 / med, med,
        perf_status_kb("VmHWM:"), mean_row);
    free(h);
    free(c);
    free(p.prec);
    free(p.mu);
    free(p.w);
    free(p.rows);
    free(t);
    return 0;
}

int main(int argc, char **argv) {
    perf_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        usage(rc < 0 ? stdout : stderr);
        return rc < 0 ? 0 : 1;
    }
    eb_error err = {0};
    if (eb_threads_from_env(&err)) return fprintf(stderr, "perf_outliers: %s\n", err.message), 1;
    return !strcmp(a.kase, "hb-score") ? perf_score(&a)
           : !strcmp(a.kase, "poem")   ? perf_poem(&a)
                                       : perf_step(&a);
}
