/* perf_hamos: HamOS's synthesis per mini-batch and one full hamos training step, one JSON line on stdout.
 * Its twin is perf/hamos_torch.py (the released code's algorithm in PyTorch: faiss replaced by torch.cdist /
 * topk on the CPU); run both with the same arguments and divide (perf/README.md). Programs, not tests.
 *
 * Cases:
 *   synth  one eb_hamos_synthesize call on full class buffers: --classes C (10) × --cap rows (1000) of
 *          --dim (128), k = --k (200), the paper's (R 5) or the code's (R 2, its KDE, start points kept)
 *          values by --preset (code: the twin's). Buffer rows: normalise(2·centre_c + u), centre_c the
 *          normalised first C rows of the stream, u ~ U[−1, 1)^d (perf_util.h's stream). Result: ms/call.
 *   step   one hamos training step on small_cnn (1×28×28, 10 classes) + projection head 6272 → 512 → 128:
 *          --batch images (128) → two views (no augmentation on either side: a loader cost), forward(train),
 *          CE + CIDER + synthesis + OOD loss, zero-grad, backward, SGD (0.01, momentum 0.9, Nesterov, wd
 *          1e-4); the class buffers are pre-filled as above, so every timed step synthesises. Result:
 *          steps/s and the synthesis share of the step.
 * Timing: --warmup untimed runs, then --reps timed runs; the median wall time. Threads: EBOOD_THREADS. */
#include <ebood/ebood.h>

#include "ood/objectives/cider_impl.h"
#include "perf_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct perf_args {
    const char *kase, *preset;
    int64_t classes, cap, dim, k, batch;
    int reps, warmup;
    uint64_t seed;
} perf_args;

static int parse_args(int argc, char **argv, perf_args *a) {
    *a = (perf_args){"synth", "paper", 10, 1000, 128, 200, 128, 5, 1, 1};
    for (int i = 1; i < argc; i++) {
        const char *key = argv[i];
        if (!strcmp(key, "--help") || !strcmp(key, "-h")) return -1;
        if (i + 1 >= argc) return fprintf(stderr, "perf_hamos: %s: missing value\n", key), 1;
        const char *v = argv[++i];
        int64_t x = 0;
        bool ok = true;
        if (!strcmp(key, "--case")) {
            a->kase = v;
            ok = !strcmp(v, "synth") || !strcmp(v, "step");
        } else if (!strcmp(key, "--preset")) {
            a->preset = v;
            ok = !strcmp(v, "paper") || !strcmp(v, "code");
        } else if (!strcmp(key, "--classes")) {
            ok = perf_parse_i64(v, 2, 1000, &a->classes);
        } else if (!strcmp(key, "--cap")) {
            ok = perf_parse_i64(v, 1, 100000, &a->cap);
        } else if (!strcmp(key, "--dim")) {
            ok = perf_parse_i64(v, 2, 4096, &a->dim);
        } else if (!strcmp(key, "--k")) {
            ok = perf_parse_i64(v, 1, 100000, &a->k);
        } else if (!strcmp(key, "--batch")) {
            ok = perf_parse_i64(v, 2, 4096, &a->batch);
        } else if (!strcmp(key, "--reps") || !strcmp(key, "--warmup")) {
            ok = perf_parse_i64(v, !strcmp(key, "--reps") ? 1 : 0, 1000, &x);
            *(!strcmp(key, "--reps") ? &a->reps : &a->warmup) = (int)x;
        } else if (!strcmp(key, "--seed")) {
            ok = perf_parse_i64(v, 0, INT64_MAX, &x);
            a->seed = (uint64_t)x;
        } else {
            return fprintf(stderr, "perf_hamos: unknown option %s\n", key), 1;
        }
        if (!ok) return fprintf(stderr, "perf_hamos: %s: bad value '%s'\n", key, v), 1;
    }
    if (a->k > a->cap)
        return fprintf(stderr, "perf_hamos: --k %lld > --cap %lld\n", (long long)a->k, (long long)a->cap), 1;
    return 0;
}

/* The buffer rows of the header, pushed class by class. */
static int fill(eb_class_buffer *b, const perf_args *a) {
    uint64_t s = a->seed;
    int64_t C = b->n_classes, d = b->dim;
    float *centre = malloc((size_t)(C * d) * sizeof *centre), *row = malloc((size_t)d * sizeof *row);
    if (!centre || !row) return 1;
    for (int64_t c = 0; c < C; c++) {
        double n = 0.0;
        for (int64_t j = 0; j < d; j++) {
            centre[c * d + j] = perf_uniform(&s);
            n += (double)centre[c * d + j] * (double)centre[c * d + j];
        }
        for (int64_t j = 0; j < d; j++) centre[c * d + j] = (float)((double)centre[c * d + j] / sqrt(n));
    }
    for (int64_t c = 0; c < C; c++)
        for (int64_t r = 0; r < b->capacity; r++) {
            double n = 0.0;
            for (int64_t j = 0; j < d; j++) {
                row[j] = 2.0f * centre[c * d + j] + perf_uniform(&s);
                n += (double)row[j] * (double)row[j];
            }
            for (int64_t j = 0; j < d; j++) row[j] = (float)((double)row[j] / sqrt(n));
            int32_t y = (int32_t)c;
            if (eb_class_buffer_push(b, row, &y, 1, NULL)) return 1;
        }
    free(centre);
    free(row);
    return 0;
}

static int perf_synth(const perf_args *a) {
    eb_hamos_params hp = eb_hamos_default_params(true);
    if (!strcmp(a->preset, "code")) eb_hamos_use_code(&hp);
    hp.synth.k = a->k;
    eb_class_buffer b;
    eb_error err = {0};
    if (eb_class_buffer_init(&b, a->classes, a->cap, a->dim, &err) || fill(&b, a))
        return fprintf(stderr, "perf_hamos: buffer: %s\n", err.message), 2;
    int64_t n_out = eb_hamos_synthesis_count(&hp.synth, a->classes);
    float *out = malloc((size_t)(n_out * a->dim) * sizeof *out);
    double *t = malloc((size_t)a->reps * sizeof *t), acc = 0.0;
    if (!out || !t) return fprintf(stderr, "perf_hamos: out of memory\n"), 2;
    eb_rng rng;
    eb_rng_seed(&rng, a->seed);
    perf_reset_peak();
    for (int r = -a->warmup; r < a->reps; r++) {
        eb_hamos_synthesis_stats s;
        double t0 = eb_time_seconds();
        if (eb_hamos_synthesize(&hp.synth, &b, out, &s, &rng, &err))
            return fprintf(stderr, "perf_hamos: %s\n", err.message), 2;
        if (r >= 0) {
            t[r] = eb_time_seconds() - t0;
            acc += s.acceptance / a->reps;
        }
    }
    double med = perf_median(t, a->reps);
    printf("{\"impl\": \"ebood\", \"case\": \"synth\", \"preset\": \"%s\", \"classes\": %lld, \"cap\": %lld, "
           "\"dim\": %lld, \"k\": %lld, \"outliers\": %lld, \"threads\": %d, \"ms\": %.3f, \"acceptance\": "
           "%.4f, "
           "\"peak_rss_kb\": %ld}\n",
           a->preset, (long long)a->classes, (long long)a->cap, (long long)a->dim, (long long)a->k,
           (long long)n_out, eb_threads_get(), 1000.0 * med, acc, perf_status_kb("VmHWM:"));
    free(out);
    free(t);
    eb_class_buffer_free(&b);
    return 0;
}

static int perf_step(const perf_args *a) {
    eb_error err = {0};
    eb_image_config ic = eb_image_default_config(EB_MODEL_SMALL_CNN, 1, 28, 28, 10);
    eb_rng init;
    eb_rng_seed(&init, a->seed);
    eb_model *m = NULL;
    if (eb_image_model_new(EB_MODEL_SMALL_CNN, &ic, &init, NULL, &m, &err))
        return fprintf(stderr, "perf_hamos: %s\n", err.message), 2;
    eb_hamos_params hp = eb_hamos_default_params(true);
    if (!strcmp(a->preset, "code")) eb_hamos_use_code(&hp);
    hp.head_hidden = 512;
    hp.synth.k = a->k;
    hp.buffer_size = a->cap;
    hp.augment = false;
    eb_hamos_objective *o = NULL;
    if (eb_hamos_objective_new(&hp, m, a->seed, &init, &o, &err))
        return fprintf(stderr, "perf_hamos: %s\n", err.message), 2;
    eb_class_buffer *b = eb__hamos_objective_buffer(o);
    if (fill(b, &(perf_args){.seed = a->seed}) != 0) return fprintf(stderr, "perf_hamos: buffer\n"), 2;
    const int64_t dim = 28 * 28;
    float *x = malloc((size_t)(a->batch * dim) * sizeof *x);
    int32_t *y = malloc((size_t)a->batch * sizeof *y);
    double *t = malloc((size_t)a->reps * sizeof *t), loss = 0.0;
    if (!x || !y || !t) return fprintf(stderr, "perf_hamos: out of memory\n"), 2;
    perf_make_data(a->seed + 1, a->batch, dim, 10, x, y);
    eb_optimizer_params op = eb_sgd_default_params();
    op.lr = 0.01f;
    op.momentum = 0.9f;
    op.nesterov = true;
    op.weight_decay = 1e-4f;
    eb_optimizer *opt = NULL;
    eb_graph *g = eb_graph_new(0, NULL);
    if (!g || eb_optimizer_new(&op, m->params.size, NULL, &opt, &err))
        return fprintf(stderr, "perf_hamos: optimizer\n"), 2;
    eb_rng rng;
    eb_rng_seed(&rng, a->seed + 2);
    double synth0 = 0.0;
    for (int r = -a->warmup; r < a->reps; r++) {
        if (r == 0) synth0 = eb_hamos_objective_get_stats(o).synthesis_seconds;
        const double t0 = eb_time_seconds();
        eb_graph_reset(g);
        eb_batch batch = {eb_tensor_input(g, x, 2, EB_SHAPE(a->batch, dim), false), y, a->batch, 0};
        eb_tensor *l = eb_hamos_objective_loss(o, m, g, &batch, &rng, NULL);
        eb_params_zero_grad(&m->params);
        if (eb_graph_status(g) || eb_graph_backward(g, l, NULL))
            return fprintf(stderr, "perf_hamos: %s\n", eb_graph_error(g)), 2;
        eb_optimizer_step(opt, m->params.data, m->params.grad, op.lr);
        if (r >= 0) t[r] = eb_time_seconds() - t0;
        loss = l->data[0];
    }
    eb_hamos_objective_stats s = eb_hamos_objective_get_stats(o);
    double med = perf_median(t, a->reps), total = 0.0;
    for (int r = 0; r < a->reps; r++) total += t[r];
    printf(
        "{\"impl\": \"ebood\", \"case\": \"step\", \"preset\": \"%s\", \"batch\": %lld, \"cap\": %lld, "
        "\"k\": %lld, \"threads\": %d, \"steps_per_s\": %.3f, \"seconds\": %.4f, \"synthesis_share\": %.3f, "
        "\"acceptance\": %.4f, \"last_loss\": %.6g}\n",
        a->preset, (long long)a->batch, (long long)a->cap, (long long)a->k, eb_threads_get(), 1.0 / med, med,
        (s.synthesis_seconds - synth0) / total, s.mean_acceptance, loss);
    free(x);
    free(y);
    free(t);
    eb_graph_free(g);
    eb_optimizer_free(opt);
    eb_hamos_objective_free(o);
    eb_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    perf_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        fprintf(
            rc < 0 ? stdout : stderr,
            "usage: perf_hamos [--case synth|step] [--preset paper|code] [--classes C] [--cap N] [--dim D]\n"
            "                  [--k K] [--batch B] [--reps R] [--warmup W] [--seed S]\n");
        return rc < 0 ? 0 : 2;
    }
    return !strcmp(a.kase, "synth") ? perf_synth(&a) : perf_step(&a);
}
