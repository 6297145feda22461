/* perf_cnn: training and inference throughput of ebood's convolutional networks, one JSON line.
 *
 * Its twin is perf/cnn_torch.py (the same architectures, optimizer, batches and synthetic data in
 * PyTorch); perf/compare_cnn.py runs the two alternately and reports the ratios (perf/RESULTS.md).
 * Benchmarks are programs, not tests (DESIGN.md §4).
 *
 * Models (src/nn/small_cnn.c, resnet.c, wrn.c; 10 classes):
 *   small_cnn  1×28×28, conv32-bn-relu, conv64-bn-relu, maxpool, conv128-bn-relu, maxpool, fc
 *   resnet18   3×32×32, ResNet-18 CIFAR variant (OpenOOD's resnet18_32x32)
 *   wrn40_2    3×32×32, WideResNet-40-2 (the energy paper's wrn.py), dropout 0
 * Modes:
 *   train  one step = graph reset, input, forward(train), cross-entropy, zero-grad, backward, SGD step
 *          (lr 0.01, momentum 0.9) — the body of eb_train (src/nn/train.c) without its batch gathering
 *          and NaN check; batches cycle through a fixed synthetic pool of --pool batches.
 *   infer  graph reset, input, forward(train=false); no gradients. Tape-free as eb_model_predict
 *          (eb_graph_defer / eb_graph_run: intermediates share one buffer by liveness); --taped records
 *          the whole forward on the tape instead (the path before issue 16, for memory comparisons).
 * Synthetic data: splitmix64 from --seed; x uniform [−1, 1) from the top 24 bits of each draw, then
 * the labels (draw mod 10); cnn_torch.py generates bit-identical data.
 *
 * Timing: --warmup steps, then --windows windows of --iters steps each; samples/s per window, the
 * median is the result. Threads: EBOOD_THREADS (or --threads). The conv2d backend follows EBOOD_CONV
 * (ref | dnnl; default oneDNN when built in); the JSON names it. --phases also times forward,
 * backward and the optimizer step.
 *
 * --check DIR (no timing): saves the initialised model to DIR/<model>.safetensors, then writes the
 * logits of one train-mode forward on batch 0 (batch statistics; it also moves the running statistics)
 * and of one eval-mode forward on batch 1 to DIR/<model>.logits.f32 (raw float32, [2, B, 10]);
 * `cnn_torch.py --check DIR` loads the same weights into its model, repeats both passes and compares:
 * the two definitions of each architecture compute the same function. */
#include <ebood/ebood.h>

#include "perf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tensor/conv_dnnl_impl.h"

typedef struct perf_args {
    const char *model, *mode, *check;
    bool train, phases, taped;
    int64_t batch, iters, warmup, pool;
    int windows, threads;
    uint64_t seed;
} perf_args;

static void usage(FILE *f) {
    fprintf(f, "usage: perf_cnn [--model small_cnn|resnet18|wrn40_2] [--mode train|infer] [--batch B]\n"
               "                 [--windows K] [--iters N] [--warmup N] [--pool P] [--threads N] [--seed N]\n"
               "                 [--phases] [--taped] [--check DIR]\n"
               "Prints one JSON line: samples/s (median of K windows of N steps after N warm-up steps).\n");
}

/* 0 on success, 1 on a usage error (printed), -1 for --help. */
static int parse_args(int argc, char **argv, perf_args *a) {
    *a = (perf_args){.model = "small_cnn", .mode = "train", .batch = 128, .windows = 5, .seed = 1, .pool = 2};
    int64_t iters = 0, warmup = -1;
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
        if (!strcmp(k, "--taped")) {
            a->taped = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "perf_cnn: %s: missing value (or unknown flag)\n", k);
            return 1;
        }
        const char *v = argv[++i];
        int64_t n = 0;
        bool ok = true;
        if (!strcmp(k, "--model"))
            a->model = v;
        else if (!strcmp(k, "--mode"))
            a->mode = v;
        else if (!strcmp(k, "--check"))
            a->check = v;
        else if (!strcmp(k, "--batch"))
            ok = perf_parse_i64(v, 1, 1 << 16, &a->batch);
        else if (!strcmp(k, "--windows")) {
            ok = perf_parse_i64(v, 1, 1000, &n);
            a->windows = (int)n;
        } else if (!strcmp(k, "--iters"))
            ok = perf_parse_i64(v, 1, 1 << 20, &iters);
        else if (!strcmp(k, "--warmup"))
            ok = perf_parse_i64(v, 0, 1 << 20, &warmup);
        else if (!strcmp(k, "--pool"))
            ok = perf_parse_i64(v, 1, 64, &a->pool);
        else if (!strcmp(k, "--threads")) {
            ok = perf_parse_i64(v, 1, 4096, &n);
            a->threads = (int)n;
        } else if (!strcmp(k, "--seed")) {
            ok = perf_parse_i64(v, 0, INT64_MAX, &n);
            a->seed = (uint64_t)n;
        } else {
            fprintf(stderr, "perf_cnn: unknown flag %s\n", k);
            return 1;
        }
        if (!ok) {
            fprintf(stderr, "perf_cnn: %s: bad value '%s'\n", k, v);
            return 1;
        }
    }
    if (strcmp(a->mode, "train") && strcmp(a->mode, "infer")) {
        fprintf(stderr, "perf_cnn: --mode: expected train or infer, got '%s'\n", a->mode);
        return 1;
    }
    a->train = !strcmp(a->mode, "train");
    if (a->check && a->pool < 2) a->pool = 2; /* the check uses batches 0 and 1 */
    bool small = !strcmp(a->model, "small_cnn");
    if (!small && strcmp(a->model, "resnet18") && strcmp(a->model, "wrn40_2")) {
        fprintf(stderr, "perf_cnn: --model: expected small_cnn, resnet18 or wrn40_2, got '%s'\n", a->model);
        return 1;
    }
    /* defaults: a window of ~1-3 s at the expected speeds */
    a->iters = iters ? iters : small ? (a->train ? 8 : 16) : (a->train ? 2 : 4);
    a->warmup = warmup >= 0 ? warmup : small ? 3 : 1;
    return 0;
}

enum { PH_FORWARD, PH_BACKWARD, PH_OPTIMIZER, PH_OTHER, N_PHASES };
static const char *const phase_names[N_PHASES] = {"forward", "backward", "optimizer", "other"};

typedef struct perf_state {
    const perf_args *a;
    eb_model *model;
    eb_optimizer *opt;
    eb_graph *g;
    eb_rng rng;
    float *x;
    int32_t *y;
    int64_t dim, next, steps;
    double loss_first, loss_last, sink;
    double phase[N_PHASES];
    int64_t phase_steps;
} perf_state;

static eb_status step(perf_state *s, eb_error *err) {
    const int64_t B = s->a->batch, k = s->next;
    s->next = (k + 1) % s->a->pool;
    double t0 = eb_time_seconds();
    eb_graph *g = s->g;
    eb_graph_reset(g);
    const bool planned = !s->a->train && !s->a->taped;
    if (planned) eb_graph_defer(g);
    eb_tensor *x = eb_tensor_input(g, s->x + k * B * s->dim, 2, EB_SHAPE(B, s->dim), false);
    double t1 = eb_time_seconds();
    eb_tensor *logits = eb_model_forward(s->model, g, x, s->a->train, &s->rng, NULL);
    if (!s->a->train) {
        eb_status st = planned ? eb_graph_run(g, &logits, 1) : eb_graph_status(g);
        if (st) return eb_error_set(err, st, "inference: %s", eb_graph_error(g));
        s->sink += (double)logits->data[0];
        s->steps++;
        return EB_OK;
    }
    eb_tensor *loss = eb_cross_entropy(g, logits, s->y + k * B);
    eb_status st = eb_graph_status(g);
    if (st) return eb_error_set(err, st, "train step: %s", eb_graph_error(g));
    double t2 = eb_time_seconds();
    eb_params_zero_grad(&s->model->params);
    if ((st = eb_graph_backward(g, loss, NULL)))
        return eb_error_set(err, st, "backward: %s", eb_graph_error(g));
    double t3 = eb_time_seconds();
    eb_optimizer_step(s->opt, s->model->params.data, s->model->params.grad, 0.01f);
    double t4 = eb_time_seconds();
    s->phase[PH_OTHER] += t1 - t0;
    s->phase[PH_FORWARD] += t2 - t1;
    s->phase[PH_BACKWARD] += t3 - t2;
    s->phase[PH_OPTIMIZER] += t4 - t3;
    s->phase_steps++;
    if (s->steps == 0) s->loss_first = loss->data[0];
    s->loss_last = loss->data[0];
    s->steps++;
    return EB_OK;
}

static eb_status window(perf_state *s, int64_t iters, double *rate, eb_error *err) {
    double t0 = eb_time_seconds();
    for (int64_t i = 0; i < iters; i++) {
        eb_status st = step(s, err);
        if (st) return st;
    }
    *rate = (double)(iters * s->a->batch) / (eb_time_seconds() - t0);
    return EB_OK;
}

/* --check: see the header comment. */
static eb_status check_dump(perf_state *s, eb_error *err) {
    const perf_args *a = s->a;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", a->check, a->model);
    eb_status st = eb_model_save(s->model, path, NULL, 0, err);
    if (st) return st;
    snprintf(path, sizeof path, "%s/%s.logits.f32", a->check, a->model);
    FILE *fp = fopen(path, "wb");
    if (!fp) return eb_error_set(err, EB_ERR_IO, "%s: cannot create", path);
    for (int pass = 0; pass < 2 && !st; pass++) {
        eb_graph_reset(s->g);
        eb_tensor *x =
            eb_tensor_input(s->g, s->x + pass * a->batch * s->dim, 2, EB_SHAPE(a->batch, s->dim), false);
        eb_tensor *logits = eb_model_forward(s->model, s->g, x, pass == 0, &s->rng, NULL);
        if ((st = eb_graph_status(s->g))) {
            eb_error_set(err, st, "check: %s", eb_graph_error(s->g));
        } else if (fwrite(logits->data, sizeof(float), (size_t)logits->size, fp) != (size_t)logits->size) {
            st = eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
        }
    }
    if (fclose(fp) && !st) st = eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    return st;
}

int main(int argc, char **argv) {
    perf_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : 2;
    eb_error err = {0};
    if (a.threads)
        eb_threads_set(a.threads);
    else if (eb_threads_from_env(&err)) {
        fprintf(stderr, "perf_cnn: %s\n", err.message);
        return 2;
    }
    eb_model_kind kind = !strcmp(a.model, "small_cnn")  ? EB_MODEL_SMALL_CNN
                         : !strcmp(a.model, "resnet18") ? EB_MODEL_RESNET
                                                        : EB_MODEL_WRN;
    const int64_t ch = kind == EB_MODEL_SMALL_CNN ? 1 : 3, hw = kind == EB_MODEL_SMALL_CNN ? 28 : 32;
    eb_image_config cfg = eb_image_default_config(kind, ch, hw, hw, 10); /* resnet 18; wrn 40-2, dropout 0 */
    perf_state s = {.a = &a, .dim = ch * hw * hw};
    eb_rng init_rng;
    eb_rng_seed(&init_rng, a.seed);
    eb_rng_seed(&s.rng, a.seed + 1);
    eb_status st = eb_image_model_new(kind, &cfg, &init_rng, NULL, &s.model, &err);
    eb_optimizer_params op = eb_sgd_default_params();
    op.momentum = 0.9f;
    if (!st && a.train) st = eb_optimizer_new(&op, s.model->params.size, NULL, &s.opt, &err);
    s.g = eb_graph_new(0, NULL);
    s.x = malloc((size_t)(a.pool * a.batch * s.dim) * sizeof *s.x);
    s.y = malloc((size_t)(a.pool * a.batch) * sizeof *s.y);
    double *rates = calloc((size_t)a.windows, sizeof *rates),
           *sorted = calloc((size_t)a.windows, sizeof *sorted);
    if (!st && (!s.g || !s.x || !s.y || !rates || !sorted))
        st = eb_error_set(&err, EB_ERR_NOMEM, "perf_cnn: out of memory");
    if (!st) {
        perf_make_data(a.seed, a.pool * a.batch, s.dim, 10, s.x, s.y);
        if (a.check) {
            st = check_dump(&s, &err);
            if (st) fprintf(stderr, "perf_cnn: %s\n", err.message);
            free(rates);
            free(sorted);
            free(s.x);
            free(s.y);
            eb_graph_free(s.g);
            eb_optimizer_free(s.opt);
            eb_model_free(s.model);
            return st ? 1 : 0;
        }
        double rate = 0.0;
        if (a.warmup) st = window(&s, a.warmup, &rate, &err);
        memset(s.phase, 0, sizeof s.phase);
        s.phase_steps = 0;
        for (int w = 0; w < a.windows && !st; w++) st = window(&s, a.iters, &rates[w], &err);
    }
    if (st) {
        fprintf(stderr, "perf_cnn: %s\n", err.message);
    } else {
        memcpy(sorted, rates, (size_t)a.windows * sizeof *sorted);
        qsort(sorted, (size_t)a.windows, sizeof *sorted, perf_cmp_double);
        double median =
            a.windows % 2 ? sorted[a.windows / 2] : 0.5 * (sorted[a.windows / 2 - 1] + sorted[a.windows / 2]);
        /* the backend of the model's first convolution (as eb_conv2d picks it) */
        eb__conv2d_geom g0 = {.n = a.batch,
                              .c = ch,
                              .h = hw,
                              .w = hw,
                              .o = kind == EB_MODEL_WRN      ? 16
                                   : kind == EB_MODEL_RESNET ? 64
                                                             : 32,
                              .kh = 3,
                              .kw = 3,
                              .oh = hw,
                              .ow = hw,
                              .sh = 1,
                              .sw = 1,
                              .ph = 1,
                              .pw = 1};
        char why[160] = "";
        const eb__conv2d_backend *be = eb__conv2d_select(&g0, why, sizeof why);
        const char *impl = be == eb__conv2d_dnnl() ? eb__conv2d_dnnl_impl(&g0, false, 0) : "";
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("{\"impl\": \"ebood\", \"model\": \"%s\", \"mode\": \"%s\", \"batch\": %lld, \"threads\": %d, "
               "\"conv\": \"%s%s%s\", \"samples_per_s\": %.2f, \"min\": %.2f, \"max\": %.2f, \"windows\": [",
               a.model, a.mode, (long long)a.batch, eb_threads_get(), be ? be->name : why, *impl ? " " : "",
               impl, median, sorted[0], sorted[a.windows - 1]);
        for (int w = 0; w < a.windows; w++) printf(w ? ", %.2f" : "%.2f", rates[w]);
        int64_t n_params = 0; /* Σ tensor sizes (params.size includes alignment padding) */
        for (int i = 0; i < s.model->params.count; i++) n_params += s.model->params.info[i].size;
        printf("], \"steps\": %lld, \"params\": %lld", (long long)s.steps, (long long)n_params);
        if (!a.train) printf(", \"infer\": \"%s\"", a.taped ? "taped" : "planned");
        if (a.train) printf(", \"loss_first\": %.6g, \"loss_last\": %.6g", s.loss_first, s.loss_last);
        if (a.phases && s.phase_steps > 0) {
            printf(", \"phases_ms\": {");
            for (int i = 0; i < N_PHASES; i++)
                printf("%s\"%s\": %.2f", i ? ", " : "", phase_names[i],
                       1e3 * s.phase[i] / (double)s.phase_steps);
            printf("}");
        }
        printf(", \"maxrss_kb\": %ld}\n", ru.ru_maxrss);
    }
    free(rates);
    free(sorted);
    free(s.x);
    free(s.y);
    eb_graph_free(s.g);
    eb_optimizer_free(s.opt);
    eb_model_free(s.model);
    return st ? 1 : 0;
}
