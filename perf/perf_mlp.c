/* perf_mlp: training and inference throughput of ebood's MLP, one JSON line on stdout.
 *
 * Its twin is perf/mlp_torch.py (the same models, optimizers, batches and synthetic data in
 * PyTorch); perf/compare_mlp.py runs the two alternately and reports the ratios
 * (perf/RESULTS.md). Benchmarks are programs, not tests (DESIGN.md §4).
 *
 * Models (DESIGN.md / shared/specs/performance-anchors.md):
 *   segment  18 → 100×5 → 6, LeakyReLU(0.01)   the EBM paper's Segment classifier (AdamW, batch 512)
 *   mlp256   19 → 256×3 → 7, ReLU             the anchors' MLP (SGD momentum 0.9, batch 128)
 * Modes:
 *   train    one step = graph reset, input, forward(train), cross-entropy, zero-grad, backward,
 *            optimizer step — exactly the body of eb_train (src/nn/train.c) without its batch
 *            gathering, accuracy count and NaN check; batches cycle through a fixed synthetic pool.
 *   loop     eb_train itself with eb_objective_cross_entropy on the synthetic pool (shuffling,
 *            drop_last, accuracy count, NaN check): the "real loop" number. Each window is one
 *            eb_train call (it also creates and frees its optimizer and graph).
 *   infer    graph reset, input, forward(train=false); no gradients.
 * Synthetic data: splitmix64 from --seed; x = uniform [−1, 1) from the top 24 bits of each draw,
 * then the labels (draw mod classes). mlp_torch.py generates bit-identical data.
 *
 * Timing: a warm-up of --warmup seconds, then --windows windows of --seconds each (or --iters
 * steps each); samples/s per window, the median is the result. Threads: EBOOD_THREADS (or
 * --threads), as the library reads it. */
#include <ebood/ebood.h>

#include "perf_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

char *openblas_get_corename(void); /* from OpenBLAS */
int openblas_get_parallel(void);   /* 0 serial, 1 pthreads, 2 OpenMP */

typedef enum { MODE_TRAIN, MODE_LOOP, MODE_INFER } perf_mode;

typedef struct perf_args {
    const char *model;   /* segment | mlp256 */
    const char *mode_s;  /* train | loop | infer */
    const char *optim_s; /* adamw | adam | sgd; default per model */
    perf_mode mode;
    int64_t batch;     /* default per model and mode */
    int64_t n_samples; /* synthetic pool; default per model */
    int windows;
    double seconds, warmup;
    int64_t iters; /* per window; 0 = time-based */
    bool phases;   /* train mode: also time each phase of the step */
    int threads;   /* 0 = EBOOD_THREADS / library default */
    uint64_t seed;
} perf_args;

static void usage(FILE *f) {
    fprintf(f, "usage: perf_mlp [--model segment|mlp256] [--mode train|loop|infer] [--batch B]\n"
               "                 [--optim adamw|adam|sgd] [--samples N] [--windows K] [--seconds S]\n"
               "                 [--warmup S] [--iters N] [--threads N] [--seed N] [--phases]\n"
               "Prints one JSON line: samples/s (median of K timed windows after the warm-up).\n");
}

/* Returns 0 on success, 1 on a usage error (message printed), -1 for --help. */
static int parse_args(int argc, char **argv, perf_args *a) {
    *a = (perf_args){
        .model = "segment", .mode_s = "train", .windows = 7, .seconds = 1.0, .warmup = 1.0, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            usage(stdout);
            return -1;
        }
        if (!strcmp(k, "--phases")) {
            a->phases = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "perf_mlp: %s: missing value (or unknown flag)\n", k);
            return 1;
        }
        const char *v = argv[++i];
        int64_t n = 0;
        bool ok = true;
        if (!strcmp(k, "--model"))
            a->model = v;
        else if (!strcmp(k, "--mode"))
            a->mode_s = v;
        else if (!strcmp(k, "--optim"))
            a->optim_s = v;
        else if (!strcmp(k, "--batch"))
            ok = perf_parse_i64(v, 1, 1 << 20, &a->batch);
        else if (!strcmp(k, "--samples"))
            ok = perf_parse_i64(v, 1, 1 << 26, &a->n_samples);
        else if (!strcmp(k, "--windows")) {
            ok = perf_parse_i64(v, 1, 1000, &n);
            a->windows = (int)n;
        } else if (!strcmp(k, "--seconds"))
            ok = perf_parse_f64(v, 1e-3, 3600, &a->seconds);
        else if (!strcmp(k, "--warmup"))
            ok = perf_parse_f64(v, 0, 3600, &a->warmup);
        else if (!strcmp(k, "--iters"))
            ok = perf_parse_i64(v, 1, (int64_t)1 << 40, &a->iters);
        else if (!strcmp(k, "--threads")) {
            ok = perf_parse_i64(v, 1, 4096, &n);
            a->threads = (int)n;
        } else if (!strcmp(k, "--seed")) {
            ok = perf_parse_i64(v, 0, INT64_MAX, &n);
            a->seed = (uint64_t)n;
        } else {
            fprintf(stderr, "perf_mlp: unknown flag %s\n", k);
            return 1;
        }
        if (!ok) {
            fprintf(stderr, "perf_mlp: %s: bad value '%s'\n", k, v);
            return 1;
        }
    }
    if (!strcmp(a->mode_s, "train"))
        a->mode = MODE_TRAIN;
    else if (!strcmp(a->mode_s, "loop"))
        a->mode = MODE_LOOP;
    else if (!strcmp(a->mode_s, "infer"))
        a->mode = MODE_INFER;
    else {
        fprintf(stderr, "perf_mlp: --mode: expected train, loop or infer, got '%s'\n", a->mode_s);
        return 1;
    }
    bool segment = !strcmp(a->model, "segment");
    if (!segment && strcmp(a->model, "mlp256")) {
        fprintf(stderr, "perf_mlp: --model: expected segment or mlp256, got '%s'\n", a->model);
        return 1;
    }
    if (!a->batch) a->batch = a->mode == MODE_INFER ? 256 : segment ? 512 : 128;
    if (!a->optim_s) a->optim_s = segment ? "adamw" : "sgd";
    /* Segment: the 1,584 training rows of weka's segment-challenge minus the held-out class (specs §4). */
    if (!a->n_samples) a->n_samples = segment ? 1584 : 4096;
    if (a->n_samples < a->batch) a->n_samples = a->batch;
    return 0;
}

/* --phases: wall time of each part of a training step. "nan_check" times a replica of the
 * gradient check eb_train runs after backward (src/nn/train.c all_finite; not part of the step
 * here, measured to show its cost); "other" is the graph reset, input leaf and bookkeeping. */
enum { PH_FORWARD, PH_LOSS, PH_ZERO_GRAD, PH_BACKWARD, PH_OPTIMIZER, PH_OTHER, PH_NAN_CHECK, N_PHASES };
static const char *const phase_names[N_PHASES] = {"forward",   "loss",  "zero_grad", "backward",
                                                  "optimizer", "other", "nan_check"};

/* The same loop as all_finite() in src/nn/train.c. */
static bool all_finite_replica(const float *v, int64_t n) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n; i++) acc += v[i] * 0.0f;
    return acc == 0.0f;
}

typedef struct perf_state {
    const perf_args *a;
    eb_model *model;
    eb_optimizer *opt;
    eb_optimizer_params op;
    eb_graph *g;
    eb_rng rng;
    float *x;
    int32_t *y;
    int64_t dim, n_batches, next_batch, steps;
    float lr;
    double loss_first, loss_last;
    float sink;
    double phase[N_PHASES]; /* seconds summed over phase_steps timed steps (--phases) */
    int64_t phase_steps;
} perf_state;

/* One training step on the next batch of the pool (the body of eb_train). */
static eb_status train_step(perf_state *s, eb_error *err) {
    const int64_t B = s->a->batch, k = s->next_batch;
    const bool ph = s->a->phases;
    double t[7] = {0};
    s->next_batch = (k + 1) % s->n_batches;
    eb_graph *g = s->g;
    if (ph) t[0] = eb_time_seconds();
    eb_graph_reset(g);
    eb_tensor *x = eb_tensor_input(g, s->x + k * B * s->dim, 2, EB_SHAPE(B, s->dim), false);
    if (ph) t[1] = eb_time_seconds();
    eb_tensor *logits = eb_model_forward(s->model, g, x, true, &s->rng, NULL);
    if (ph) t[2] = eb_time_seconds();
    eb_tensor *loss = eb_cross_entropy(g, logits, s->y + k * B);
    eb_status st = eb_graph_status(g);
    if (st) return eb_error_set(err, st, "train step: %s", eb_graph_error(g));
    if (ph) t[3] = eb_time_seconds();
    eb_params_zero_grad(&s->model->params);
    if (ph) t[4] = eb_time_seconds();
    if ((st = eb_graph_backward(g, loss, NULL)))
        return eb_error_set(err, st, "backward: %s", eb_graph_error(g));
    if (ph) t[5] = eb_time_seconds();
    eb_optimizer_step(s->opt, s->model->params.data, s->model->params.grad, s->lr);
    if (ph) {
        t[6] = eb_time_seconds();
        s->phase[PH_OTHER] += t[1] - t[0];
        s->phase[PH_FORWARD] += t[2] - t[1];
        s->phase[PH_LOSS] += t[3] - t[2];
        s->phase[PH_ZERO_GRAD] += t[4] - t[3];
        s->phase[PH_BACKWARD] += t[5] - t[4];
        s->phase[PH_OPTIMIZER] += t[6] - t[5];
        double t7 = eb_time_seconds();
        if (!all_finite_replica(s->model->params.grad, s->model->params.size)) s->sink += 1.0f;
        s->phase[PH_NAN_CHECK] += eb_time_seconds() - t7;
        s->phase_steps++;
    }
    if (s->steps == 0) s->loss_first = loss->data[0];
    s->loss_last = loss->data[0];
    s->steps++;
    return EB_OK;
}

static eb_status infer_step(perf_state *s, eb_error *err) {
    const int64_t B = s->a->batch, k = s->next_batch;
    s->next_batch = (k + 1) % s->n_batches;
    eb_graph *g = s->g;
    eb_graph_reset(g);
    eb_tensor *x = eb_tensor_input(g, s->x + k * B * s->dim, 2, EB_SHAPE(B, s->dim), false);
    eb_tensor *logits = eb_model_forward(s->model, g, x, false, NULL, NULL);
    eb_status st = eb_graph_status(g);
    if (st) return eb_error_set(err, st, "inference: %s", eb_graph_error(g));
    s->sink += logits->data[0];
    s->steps++;
    return EB_OK;
}

/* eb_train over the whole pool for `steps` steps; returns its samples/s via *rate. */
static eb_status loop_run(perf_state *s, int64_t steps, double *rate, eb_error *err) {
    eb_train_params p = eb_train_default_params();
    p.steps = steps;
    p.batch_size = s->a->batch;
    p.drop_last = true;
    p.optimizer = s->op;
    p.schedule = eb_schedule_default(s->lr);
    p.seed = s->a->seed + (uint64_t)s->steps;
    p.progress = false;
    eb_train_result r;
    double t0 = eb_time_seconds();
    eb_status st = eb_train(s->model, s->x, s->y, s->a->n_samples, s->dim, eb_objective_cross_entropy, NULL,
                            &p, &r, err);
    double dt = eb_time_seconds() - t0;
    if (st) return st;
    if (s->steps == 0) s->loss_first = r.final_loss;
    s->loss_last = r.final_loss;
    s->steps += steps;
    *rate = (double)(steps * s->a->batch) / dt;
    return EB_OK;
}

/* Runs steps until `seconds` have passed (or exactly `iters` steps); returns samples/s. */
static eb_status timed_window(perf_state *s, double seconds, int64_t iters, double *rate, eb_error *err) {
    eb_status st = EB_OK;
    if (s->a->mode == MODE_LOOP) {
        if (!iters) { /* size the eb_train call from the current rate estimate */
            double r0 = *rate > 0 ? *rate : 1e4;
            iters = (int64_t)(seconds * r0 / (double)s->a->batch);
            if (iters < 3) iters = 3;
        }
        return loop_run(s, iters, rate, err);
    }
    double t0 = eb_time_seconds(), t = t0;
    int64_t done = 0;
    while (iters ? done < iters : (t - t0) < seconds) {
        st = s->a->mode == MODE_TRAIN ? train_step(s, err) : infer_step(s, err);
        if (st) return st;
        done++;
        t = eb_time_seconds();
    }
    *rate = (double)(done * s->a->batch) / (t - t0);
    return EB_OK;
}

int main(int argc, char **argv) {
    perf_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : 2;
    eb_error err = {0};
    if (a.threads)
        eb_threads_set(a.threads);
    else if (eb_threads_from_env(&err)) {
        fprintf(stderr, "perf_mlp: %s\n", err.message);
        return 2;
    }

    bool segment = !strcmp(a.model, "segment");
    eb_mlp_config cfg = eb_mlp_default_config(segment ? 18 : 19, segment ? 6 : 7);
    if (!segment) {
        cfg.n_hidden = 3;
        for (int i = 0; i < 3; i++) cfg.hidden[i] = 256;
        cfg.activation = EB_ACT_RELU;
        cfg.activation_param = 0.0f;
    }
    perf_state s = {.a = &a, .dim = cfg.in_dim};
    eb_rng init_rng;
    eb_rng_seed(&init_rng, a.seed);
    eb_rng_seed(&s.rng, a.seed + 1);
    eb_status st = eb_mlp_new(&cfg, &init_rng, NULL, &s.model, &err);
    if (!st && eb_optimizer_kind_parse(a.optim_s, &s.op.kind, &err)) st = err.status;
    if (!st) {
        switch (s.op.kind) {
        case EB_OPTIM_SGD:
            s.op = eb_sgd_default_params();
            s.op.momentum = 0.9f;
            break;
        case EB_OPTIM_ADAM: s.op = eb_adam_default_params(); break;
        case EB_OPTIM_ADAMW:
            s.op = eb_adamw_default_params();
            s.op.weight_decay = 0.0f; /* the EBM paper's setting (specs §4) */
            break;
        }
        s.lr = s.op.kind == EB_OPTIM_SGD ? 0.01f : 1e-3f;
        s.op.lr = s.lr;
        st = eb_optimizer_new(&s.op, s.model->params.size, NULL, &s.opt, &err);
    }
    s.g = eb_graph_new(0, NULL);
    s.x = malloc((size_t)(a.n_samples * s.dim) * sizeof *s.x);
    s.y = malloc((size_t)a.n_samples * sizeof *s.y);
    if (!st && (!s.g || !s.x || !s.y)) st = eb_error_set(&err, EB_ERR_NOMEM, "perf_mlp: out of memory");
    double *rates = calloc((size_t)a.windows, sizeof *rates);
    if (!st && !rates) st = eb_error_set(&err, EB_ERR_NOMEM, "perf_mlp: out of memory");
    if (!st) {
        perf_make_data(a.seed, a.n_samples, s.dim, cfg.out_dim, s.x, s.y);
        s.n_batches = a.n_samples / a.batch;
        double rate = 0.0;
        /* warm-up: at least 3 steps (first-touch of the arena, OpenBLAS buffers, thread team) */
        if (a.mode == MODE_LOOP) {
            st = timed_window(&s, 0, 3, &rate, &err);
            if (!st && a.warmup > 0) st = timed_window(&s, a.warmup, 0, &rate, &err);
        } else {
            st = timed_window(&s, a.warmup, 0, &rate, &err);
            if (!st && s.steps < 3) st = timed_window(&s, 0, 3, &rate, &err);
        }
        memset(s.phase, 0, sizeof s.phase);
        s.phase_steps = 0;
        for (int w = 0; w < a.windows && !st; w++) {
            st = timed_window(&s, a.seconds, a.iters, &rate, &err);
            rates[w] = rate;
        }
    }
    if (st) {
        fprintf(stderr, "perf_mlp: %s\n", err.message);
    } else {
        double *sorted = malloc((size_t)a.windows * sizeof *sorted);
        if (!sorted) return 1;
        memcpy(sorted, rates, (size_t)a.windows * sizeof *sorted);
        qsort(sorted, (size_t)a.windows, sizeof *sorted, perf_cmp_double);
        double median =
            a.windows % 2 ? sorted[a.windows / 2] : 0.5 * (sorted[a.windows / 2 - 1] + sorted[a.windows / 2]);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        static const char *const par[] = {"serial", "pthreads", "openmp"};
        int p = openblas_get_parallel();
        char arch[128];
        int len = snprintf(arch, sizeof arch, "%lld", (long long)cfg.in_dim);
        for (int i = 0; i < cfg.n_hidden; i++)
            len += snprintf(arch + len, sizeof arch - (size_t)len, "-%lld", (long long)cfg.hidden[i]);
        snprintf(arch + len, sizeof arch - (size_t)len, "-%lld %s", (long long)cfg.out_dim,
                 eb_activation_name(cfg.activation));
        printf(
            "{\"impl\": \"ebood\", \"model\": \"%s\", \"arch\": \"%s\", \"mode\": \"%s\", \"batch\": %lld, "
            "\"optimizer\": \"%s\", \"threads\": %d, \"blas\": \"OpenBLAS %s (%s)\", \"samples_per_s\": "
            "%.1f, "
            "\"min\": %.1f, \"max\": %.1f, \"windows\": [",
            a.model, arch, a.mode_s, (long long)a.batch, a.mode == MODE_INFER ? "none" : a.optim_s,
            eb_threads_get(), openblas_get_corename(), p >= 0 && p <= 2 ? par[p] : "?", median, sorted[0],
            sorted[a.windows - 1]);
        for (int w = 0; w < a.windows; w++) printf(w ? ", %.1f" : "%.1f", rates[w]);
        printf("], \"steps\": %lld", (long long)s.steps);
        if (a.mode != MODE_INFER)
            printf(", \"loss_first\": %.6g, \"loss_last\": %.6g", s.loss_first, s.loss_last);
        if (a.phases && s.phase_steps > 0) {
            printf(", \"phases_us\": {");
            for (int i = 0; i < N_PHASES; i++)
                printf("%s\"%s\": %.1f", i ? ", " : "", phase_names[i],
                       1e6 * s.phase[i] / (double)s.phase_steps);
            printf("}");
        }
        printf(", \"maxrss_kb\": %ld}\n", ru.ru_maxrss);
        free(sorted);
    }
    free(rates);
    free(s.x);
    free(s.y);
    eb_graph_free(s.g);
    eb_optimizer_free(s.opt);
    eb_model_free(s.model);
    return st ? 1 : 0;
}
