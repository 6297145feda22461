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
 * Synthetic data: splitmix64 from --seed (perf_util.h; the twin draws the same numbers).
 * Timing: --warmup untimed runs, then --reps timed runs; the median wall time. Threads: EBOOD_THREADS. */
#include <ebood/ebood.h>

#include "perf_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct perf_args {
    const char *kase;
    int64_t batch, aux, pool, nq, nb, dim;
    int reps, warmup;
    uint64_t seed;
} perf_args;

static void usage(FILE *f) {
    fprintf(
        f, "usage: perf_outliers [--case oe|energy-ft|hopfield-boost|hb-score] [--batch B] [--aux A]\n"
           "                      [--pool P] [--nq N] [--nb N] [--dim D] [--reps R] [--warmup W] [--seed S]\n"
           "Prints one JSON line: steps/s (training cases) or queries/s (hb-score), median of R runs.\n");
}

static int parse_args(int argc, char **argv, perf_args *a) {
    *a = (perf_args){.kase = "oe",
                     .batch = 128,
                     .aux = -1,
                     .pool = 2,
                     .nq = 100000,
                     .nb = 50000,
                     .dim = 128,
                     .reps = 5,
                     .warmup = 1,
                     .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *key = argv[i];
        if (!strcmp(key, "--help") || !strcmp(key, "-h")) return -1;
        if (i + 1 >= argc) {
            fprintf(stderr, "perf_outliers: %s: missing value\n", key);
            return 1;
        }
        const char *v = argv[++i];
        int64_t x = 0;
        bool ok = true;
        if (!strcmp(key, "--case")) {
            a->kase = v;
            ok = !strcmp(v, "oe") || !strcmp(v, "energy-ft") || !strcmp(v, "hopfield-boost") ||
                 !strcmp(v, "hb-score");
        } else if (!strcmp(key, "--batch")) {
            ok = perf_parse_i64(v, 1, 1 << 20, &a->batch);
        } else if (!strcmp(key, "--aux")) {
            ok = perf_parse_i64(v, 1, 1 << 20, &a->aux);
        } else if (!strcmp(key, "--pool")) {
            ok = perf_parse_i64(v, 1, 1000, &a->pool);
        } else if (!strcmp(key, "--nq")) {
            ok = perf_parse_i64(v, 1, INT64_C(1) << 32, &a->nq);
        } else if (!strcmp(key, "--nb")) {
            ok = perf_parse_i64(v, 1, INT64_C(1) << 32, &a->nb);
        } else if (!strcmp(key, "--dim")) {
            ok = perf_parse_i64(v, 1, 1 << 16, &a->dim);
        } else if (!strcmp(key, "--reps")) {
            ok = perf_parse_i64(v, 1, 1000, &x);
            a->reps = (int)x;
        } else if (!strcmp(key, "--warmup")) {
            ok = perf_parse_i64(v, 0, 1000, &x);
            a->warmup = (int)x;
        } else if (!strcmp(key, "--seed")) {
            ok = perf_parse_i64(v, 0, INT64_MAX, &x);
            a->seed = (uint64_t)x;
        } else {
            fprintf(stderr, "perf_outliers: unknown option %s\n", key);
            return 1;
        }
        if (!ok) {
            fprintf(stderr, "perf_outliers: %s: bad value '%s'\n", key, v);
            return 1;
        }
    }
    if (a->aux < 0) a->aux = strcmp(a->kase, "hopfield-boost") == 0 ? 128 : 256;
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

static int perf_score(const perf_args *a) {
    uint64_t s = a->seed;
    float *q = unit_rows(&s, a->nq, a->dim), *mi = unit_rows(&s, a->nb, a->dim),
          *mo = unit_rows(&s, a->nb, a->dim);
    float *out = malloc((size_t)a->nq * sizeof *out);
    if (!q || !mi || !mo || !out) return fprintf(stderr, "perf_outliers: out of memory\n"), 2;
    perf_reset_peak();
    double *t = malloc((size_t)a->reps * sizeof *t);
    eb_error err = {0};
    for (int r = -a->warmup; r < a->reps; r++) {
        const double t0 = eb_time_seconds();
        if (eb_hopfield_border_energy(q, a->nq, mi, a->nb, mo, a->nb, a->dim, 4.0f, out, &err))
            return fprintf(stderr, "perf_outliers: %s\n", err.message), 2;
        if (r >= 0) t[r] = eb_time_seconds() - t0;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < a->nq; i++) sum += (double)out[i];
    const double med = perf_median(t, a->reps);
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

static int perf_step(const perf_args *a) {
    eb_error err = {0};
    eb_image_config ic = eb_image_default_config(EB_MODEL_SMALL_CNN, 1, 28, 28, 10);
    eb_rng init;
    eb_rng_seed(&init, a->seed);
    eb_model *m = NULL;
    if (eb_image_model_new(EB_MODEL_SMALL_CNN, &ic, &init, NULL, &m, &err))
        return fprintf(stderr, "perf_outliers: %s\n", err.message), 2;
    const int64_t rows = a->batch + a->aux, dim = 28 * 28;
    float *x = malloc((size_t)(a->pool * rows * dim) * sizeof *x);
    int32_t *y = malloc((size_t)(a->pool * a->batch) * sizeof *y);
    if (!x || !y) return fprintf(stderr, "perf_outliers: out of memory\n"), 2;
    uint64_t s = a->seed;
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
    eb_optimizer_params op = eb_sgd_default_params();
    op.lr = 0.01f;
    op.momentum = 0.9f;
    op.nesterov = true;
    eb_optimizer *opt = NULL;
    eb_graph *g = eb_graph_new(0, NULL);
    if (!g || eb_optimizer_new(&op, m->params.size, NULL, &opt, &err))
        return fprintf(stderr, "perf_outliers: optimizer\n"), 2;
    eb_rng drop;
    eb_rng_seed(&drop, 7);
    double *t = malloc((size_t)a->reps * sizeof *t), loss = 0.0;
    for (int r = -a->warmup; r < a->reps; r++) {
        const int64_t b = (r + a->warmup) % a->pool;
        const double t0 = eb_time_seconds();
        eb_graph_reset(g);
        eb_batch batch = {eb_tensor_input(g, x + b * rows * dim, 2, EB_SHAPE(rows, dim), false),
                          y + b * a->batch, a->batch, a->aux};
        eb_tensor *l = fn(ctx, m, g, &batch, &drop, NULL);
        eb_params_zero_grad(&m->params);
        if (eb_graph_status(g) || eb_graph_backward(g, l, NULL))
            return fprintf(stderr, "perf_outliers: %s\n", eb_graph_error(g)), 2;
        eb_optimizer_step(opt, m->params.data, m->params.grad, op.lr);
        if (r >= 0) t[r] = eb_time_seconds() - t0;
        loss = l->data[0];
    }
    const double med = perf_median(t, a->reps);
    printf("{\"impl\": \"ebood\", \"case\": \"%s\", \"batch\": %lld, \"aux\": %lld, \"threads\": %d, "
           "\"steps_per_s\": %.3f, \"seconds\": %.4f, \"last_loss\": %.6g}\n",
           a->kase, (long long)a->batch, (long long)a->aux, eb_threads_get(), 1.0 / med, med, loss);
    free(t);
    free(x);
    free(y);
    eb_graph_free(g);
    eb_optimizer_free(opt);
    eb_hopfield_boost_free(hb);
    eb_model_free(m);
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
    return !strcmp(a.kase, "hb-score") ? perf_score(&a) : perf_step(&a);
}
