/* perf_knn: throughput of ebood's exact k-NN and Hopfield kernels, one JSON line on stdout.
 *
 * perf/compare_knn.py runs it alternately with FAISS (IndexFlatL2 / IndexFlatIP), NumPy and
 * PyTorch on the same .npy files and reports the ratios (perf/RESULTS.md). Benchmarks are
 * programs, not tests (DESIGN.md §4).
 *
 * Cases (queries [nq, dim] against a bank [nb, dim], float32):
 *   knn-ip     eb_knn_kth_inner_product: the k-th largest q·b (FAISS IndexFlatIP's D[:, k−1])
 *   knn-l2     eb_knn_kth_distance: the k-th smallest ‖q − b‖ (sqrt of IndexFlatL2's D[:, k−1])
 *   hopfield   eb_hopfield_lse: (1/β)·log Σ_j exp(β·q·b_j) (torch.logsumexp(β·Q@Xᵀ, 1)/β)
 *   mahalanobis  the mahalanobis detector fitted on the bank with labels j mod --classes (fit timed
 *              once, outside the runs: "fit_s"), then eb_detector_score on the queries
 * Data: --queries/--bank .npy files, or L2-normalised Gaussian rows from --seed.
 * Timing: --warmup untimed runs, then --reps timed runs of the whole batch; queries/s of the
 * median wall time, and queries per CPU-second (process CPU time, all threads: robust when other
 * processes share the cores). Threads: EBOOD_THREADS (or --threads). Memory: VmRSS once the data are in
 * memory, and VmHWM (peak) at exit, reset after loading (/proc/self/status, /proc/self/clear_refs).
 * --out writes the results (float32 .npy). */
#include <ebood/ebood.h>

#include "perf_util.h"

#include "ood/detectors/gemm_stream_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct perf_args {
    const char *kase; /* knn-ip | knn-l2 | hopfield */
    const char *queries, *bank, *out;
    int64_t nq, nb, dim, k, classes;
    double beta;
    int reps, warmup, threads;
    uint64_t seed;
} perf_args;

static void usage(FILE *f) {
    fprintf(f, "usage: perf_knn [--case knn-ip|knn-l2|hopfield|mahalanobis] [--queries Q.npy --bank B.npy]\n"
               "                 [--nq N] [--nb N] [--dim D] [--k K] [--beta B] [--classes C] [--reps R]\n"
               "                 [--warmup W]\n"
               "                 [--threads N] [--seed N] [--out results.npy]\n"
               "Prints one JSON line: queries/s of the median of R timed runs, memory.\n");
}

/* Returns 0 on success, 1 on a usage error (message printed), -1 for --help. */
static int parse_args(int argc, char **argv, perf_args *a) {
    *a = (perf_args){.kase = "knn-ip",
                     .nq = 10000,
                     .nb = 50000,
                     .dim = 512,
                     .k = 50,
                     .classes = 10,
                     .beta = 1.0,
                     .reps = 3,
                     .warmup = 1,
                     .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *key = argv[i];
        if (!strcmp(key, "--help") || !strcmp(key, "-h")) return -1;
        if (i + 1 >= argc) {
            fprintf(stderr, "perf_knn: %s: missing value\n", key);
            return 1;
        }
        const char *v = argv[++i];
        int64_t x = 0;
        bool ok = true;
        if (!strcmp(key, "--case")) {
            a->kase = v;
            ok = !strcmp(v, "knn-ip") || !strcmp(v, "knn-l2") || !strcmp(v, "hopfield") ||
                 !strcmp(v, "mahalanobis");
        } else if (!strcmp(key, "--queries")) {
            a->queries = v;
        } else if (!strcmp(key, "--bank")) {
            a->bank = v;
        } else if (!strcmp(key, "--out")) {
            a->out = v;
        } else if (!strcmp(key, "--nq")) {
            ok = perf_parse_i64(v, 1, INT64_C(1) << 40, &a->nq);
        } else if (!strcmp(key, "--nb")) {
            ok = perf_parse_i64(v, 1, INT64_C(1) << 40, &a->nb);
        } else if (!strcmp(key, "--dim")) {
            ok = perf_parse_i64(v, 1, INT64_C(1) << 20, &a->dim);
        } else if (!strcmp(key, "--k")) {
            ok = perf_parse_i64(v, 1, INT64_C(1) << 40, &a->k);
        } else if (!strcmp(key, "--classes")) {
            ok = perf_parse_i64(v, 1, 1 << 20, &a->classes);
        } else if (!strcmp(key, "--beta")) {
            char *end;
            a->beta = strtod(v, &end);
            ok = *v && !*end && isfinite(a->beta) && a->beta > 0.0;
        } else if (!strcmp(key, "--reps")) {
            ok = perf_parse_i64(v, 1, 1000, &x);
            a->reps = (int)x;
        } else if (!strcmp(key, "--warmup")) {
            ok = perf_parse_i64(v, 0, 1000, &x);
            a->warmup = (int)x;
        } else if (!strcmp(key, "--threads")) {
            ok = perf_parse_i64(v, 1, 4096, &x);
            a->threads = (int)x;
        } else if (!strcmp(key, "--seed")) {
            ok = perf_parse_i64(v, 0, INT64_MAX, &x);
            a->seed = (uint64_t)x;
        } else {
            fprintf(stderr, "perf_knn: unknown option %s\n", key);
            return 1;
        }
        if (!ok) {
            fprintf(stderr, "perf_knn: %s: bad value '%s'\n", key, v);
            return 1;
        }
    }
    if (!a->queries != !a->bank) {
        fprintf(stderr, "perf_knn: give both --queries and --bank, or neither\n");
        return 1;
    }
    return 0;
}

static float *gaussian_rows(eb_rng *rng, int64_t n, int64_t d) {
    float *x = malloc((size_t)(n * d) * sizeof *x);
    if (!x) return NULL;
    eb_rng_fill_normal(rng, x, n * d, 0.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) {
        double ss = 0.0;
        for (int64_t c = 0; c < d; c++) ss += (double)x[i * d + c] * (double)x[i * d + c];
        const double inv = 1.0 / sqrt(ss);
        for (int64_t c = 0; c < d; c++) x[i * d + c] = (float)((double)x[i * d + c] * inv);
    }
    return x;
}

static float *load(const char *path, int64_t *rows, int64_t *cols) {
    float *x = NULL;
    int64_t shape[8];
    eb_error err = {0};
    if (eb_npy_read_f32(path, &x, 2, shape, NULL, &err)) {
        fprintf(stderr, "perf_knn: %s\n", err.message);
        return NULL;
    }
    *rows = shape[0];
    *cols = shape[1];
    return x;
}

/* The mahalanobis case: the detector fitted on the bank (labels j mod classes); NULL for the others. */
static eb_detector *fit_mahalanobis(const perf_args *a, const float *b, double *fit_s, eb_error *err) {
    int32_t *labels = malloc((size_t)a->nb * sizeof *labels);
    eb_detector *d = NULL;
    if (!labels || eb_detector_new(EB_DETECTOR_MAHALANOBIS, NULL, &d, err)) {
        free(labels);
        return NULL;
    }
    for (int64_t j = 0; j < a->nb; j++) labels[j] = (int32_t)(j % a->classes);
    eb_detector_data train = {
        .n = a->nb, .features = b, .dim = a->dim, .labels = labels, .n_classes = a->classes};
    const double t0 = eb_time_seconds();
    eb_status s = eb_detector_fit(d, &train, NULL, err);
    *fit_s = eb_time_seconds() - t0;
    free(labels);
    if (s) {
        eb_detector_free(d);
        return NULL;
    }
    return d;
}

static eb_status run(const perf_args *a, eb_detector *maha, const float *q, const float *b, float *out,
                     eb_error *err) {
    if (maha) {
        eb_detector_data data = {.n = a->nq, .features = q, .dim = a->dim};
        return eb_detector_score(maha, &data, out, err);
    }
    if (!strcmp(a->kase, "knn-ip"))
        return eb_knn_kth_inner_product(q, a->nq, b, a->nb, a->dim, a->k, out, err);
    if (!strcmp(a->kase, "knn-l2")) return eb_knn_kth_distance(q, a->nq, b, a->nb, a->dim, a->k, out, err);
    return eb_hopfield_lse(q, a->nq, b, a->nb, a->dim, (float)a->beta, out, err);
}

int main(int argc, char **argv) {
    perf_args a;
    const int pa = parse_args(argc, argv, &a);
    if (pa) {
        usage(pa < 0 ? stdout : stderr);
        return pa < 0 ? 0 : 2;
    }
    eb_error err = {0};
    if (eb_threads_from_env(&err)) {
        fprintf(stderr, "perf_knn: %s\n", err.message);
        return 2;
    }
    if (a.threads > 0) eb_threads_set(a.threads);
    float *q, *b;
    if (a.queries) {
        int64_t dq, db;
        q = load(a.queries, &a.nq, &dq);
        b = load(a.bank, &a.nb, &db);
        if (!q || !b) return 1;
        if (dq != db) {
            fprintf(stderr, "perf_knn: %s has dim %lld, %s has %lld\n", a.queries, (long long)dq, a.bank,
                    (long long)db);
            return 1;
        }
        a.dim = dq;
    } else {
        eb_rng rng;
        eb_rng_seed(&rng, a.seed);
        b = gaussian_rows(&rng, a.nb, a.dim);
        q = gaussian_rows(&rng, a.nq, a.dim);
        if (!q || !b) {
            fprintf(stderr, "perf_knn: out of memory\n");
            return 1;
        }
    }
    float *out = malloc((size_t)a.nq * sizeof *out);
    double *times = malloc((size_t)a.reps * sizeof *times), *cpu = malloc((size_t)a.reps * sizeof *cpu);
    if (!out || !times || !cpu) {
        fprintf(stderr, "perf_knn: out of memory\n");
        return 1;
    }
    double fit_s = 0.0;
    eb_detector *maha = NULL;
    if (!strcmp(a.kase, "mahalanobis") && !(maha = fit_mahalanobis(&a, b, &fit_s, &err))) {
        fprintf(stderr, "perf_knn: mahalanobis fit: %s\n", err.message[0] ? err.message : "out of memory");
        return 1;
    }
    const long rss_data_kb = perf_status_kb("VmRSS:"); /* after the fit (the references fit before too) */
    perf_reset_peak();
    for (int r = 0; r < a.warmup + a.reps; r++) {
        const double t0 = eb_time_seconds(), c0 = perf_cpu_seconds();
        if (run(&a, maha, q, b, out, &err)) {
            fprintf(stderr, "perf_knn: %s\n", err.message);
            return 1;
        }
        if (r >= a.warmup) {
            times[r - a.warmup] = eb_time_seconds() - t0;
            cpu[r - a.warmup] = perf_cpu_seconds() - c0;
        }
    }
    if (a.out) {
        const int64_t shape[1] = {a.nq};
        if (eb_npy_write(a.out, EB_DTYPE_F32, 1, shape, out, &err)) {
            fprintf(stderr, "perf_knn: %s\n", err.message);
            return 1;
        }
    }
    printf(
        "{\"impl\": \"ebood\", \"case\": \"%s\", \"nq\": %lld, \"nb\": %lld, \"dim\": %lld, \"k\": %lld, "
        "\"beta\": %g, \"classes\": %lld, \"fit_s\": %.6f, \"threads\": %d, \"isa\": \"%s\", \"times_s\": [",
        a.kase, (long long)a.nq, (long long)a.nb, (long long)a.dim, (long long)a.k, a.beta,
        (long long)a.classes, fit_s, eb_threads_get(),
        eb__gemm_isa_name(eb__gemm_isa_resolve(EB__GEMM_ISA_AUTO)));
    for (int r = 0; r < a.reps; r++) printf("%s%.6f", r ? ", " : "", times[r]);
    const double med = perf_median(times, a.reps), med_cpu = perf_median(cpu, a.reps);
    printf("], \"median_s\": %.6f, \"qps\": %.1f, \"cpu_s\": %.6f, \"q_per_cpu_s\": %.1f, \"rss_data_mb\": "
           "%.1f, "
           "\"peak_rss_mb\": %.1f}\n",
           med, (double)a.nq / med, med_cpu, (double)a.nq / med_cpu, (double)rss_data_kb / 1024.0,
           (double)perf_status_kb("VmHWM:") / 1024.0);
    eb_detector_free(maha);
    free(q);
    free(b);
    free(out);
    free(times);
    free(cpu);
    return 0;
}
