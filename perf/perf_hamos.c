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
#include "perf_train.h"
#include "perf_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct perf_args {
    const char *kase, *preset;
    int64_t classes, cap, dim, k, batch, reps, warmup, seed;
} perf_args;

static int parse_args(int argc, char **argv, perf_args *a) {
    *a = (perf_args){"synth", "paper", 10, 1000, 128, 200, 128, 5, 1, 1};
    const perf_opt opts[] = {
        {"--case", 0, 0, NULL, "synth|step", &a->kase},  {"--preset", 0, 0, NULL, "paper|code", &a->preset},
        {"--classes", 2, 1000, &a->classes, NULL, NULL}, {"--cap", 1, 100000, &a->cap, NULL, NULL},
        {"--dim", 2, 4096, &a->dim, NULL, NULL},         {"--k", 1, 100000, &a->k, NULL, NULL},
        {"--batch", 2, 4096, &a->batch, NULL, NULL},     {"--reps", 1, 1000, &a->reps, NULL, NULL},
        {"--warmup", 0, 1000, &a->warmup, NULL, NULL},   {"--seed", 0, INT64_MAX, &a->seed, NULL, NULL},
    };
    const int rc = perf_parse_opts("perf_hamos", argc, argv, opts, (int)(sizeof opts / sizeof opts[0]));
    if (rc) return rc;
    if (a->k > a->cap)
        return fprintf(stderr, "perf_hamos: --k %lld > --cap %lld\n", (long long)a->k, (long long)a->cap), 1;
    return 0;
}

/* The buffer rows of the header, pushed class by class. */
static int fill(eb_class_buffer *b, const perf_args *a) {
    uint64_t s = (uint64_t)a->seed;
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

typedef struct synth_run {
    const eb_hamos_params *hp;
    eb_class_buffer *b;
    float *out;
    eb_rng rng;
    double acceptance; /* summed over the timed runs */
} synth_run;

static int synth_once(void *ctx, int r) {
    synth_run *c = ctx;
    eb_hamos_synthesis_stats s;
    eb_error err = {0};
    if (eb_hamos_synthesize(&c->hp->synth, c->b, c->out, &s, &c->rng, &err))
        return fprintf(stderr, "perf_hamos: %s\n", err.message), 2;
    if (r >= 0) c->acceptance += s.acceptance;
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
    double *t = malloc((size_t)a->reps * sizeof *t);
    if (!out || !t) return fprintf(stderr, "perf_hamos: out of memory\n"), 2;
    synth_run run = {.hp = &hp, .b = &b, .out = out};
    eb_rng_seed(&run.rng, (uint64_t)a->seed);
    perf_reset_peak();
    const int rc = perf_time_runs(a->warmup, a->reps, synth_once, &run, t);
    if (rc) return rc;
    const double med = perf_median(t, (int)a->reps), acc = run.acceptance / (double)a->reps;
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

typedef struct step_run {
    perf_train t;
    eb_hamos_objective *o;
    const float *x;
    const int32_t *y;
    int64_t batch;
    double synth0; /* synthesis seconds before the first timed run */
} step_run;

static int step_once(void *ctx, int r) {
    step_run *c = ctx;
    if (r == 0) c->synth0 = eb_hamos_objective_get_stats(c->o).synthesis_seconds;
    return perf_train_step(&c->t, c->x, c->y, c->batch, 0);
}

static int perf_step(const perf_args *a) {
    eb_error err = {0};
    eb_rng init;
    eb_model *m = NULL;
    if (perf_small_cnn("perf_hamos", a->seed, &init, &m)) return 2;
    eb_hamos_params hp = eb_hamos_default_params(true);
    if (!strcmp(a->preset, "code")) eb_hamos_use_code(&hp);
    hp.head_hidden = 512;
    hp.synth.k = a->k;
    hp.buffer_size = a->cap;
    hp.augment = false;
    eb_hamos_objective *o = NULL;
    if (eb_hamos_objective_new(&hp, m, (uint64_t)a->seed, &init, &o, &err))
        return fprintf(stderr, "perf_hamos: %s\n", err.message), 2;
    eb_class_buffer *b = eb__hamos_objective_buffer(o);
    if (fill(b, &(perf_args){.seed = a->seed}) != 0) return fprintf(stderr, "perf_hamos: buffer\n"), 2;
    const int64_t dim = 28 * 28;
    float *x = malloc((size_t)(a->batch * dim) * sizeof *x);
    int32_t *y = malloc((size_t)a->batch * sizeof *y);
    double *t = malloc((size_t)a->reps * sizeof *t);
    if (!x || !y || !t) return fprintf(stderr, "perf_hamos: out of memory\n"), 2;
    perf_make_data((uint64_t)a->seed + 1, a->batch, dim, 10, x, y);
    step_run run = {.o = o, .x = x, .y = y, .batch = a->batch};
    if (perf_train_init(&run.t, "perf_hamos", m, 0.01f, 1e-4f, eb_hamos_objective_loss, o,
                        (uint64_t)a->seed + 2))
        return 2;
    const int rc = perf_time_runs(a->warmup, a->reps, step_once, &run, t);
    if (rc) return rc;
    eb_hamos_objective_stats s = eb_hamos_objective_get_stats(o);
    double med = perf_median(t, (int)a->reps), total = 0.0;
    for (int r = 0; r < a->reps; r++) total += t[r];
    printf(
        "{\"impl\": \"ebood\", \"case\": \"step\", \"preset\": \"%s\", \"batch\": %lld, \"cap\": %lld, "
        "\"k\": %lld, \"threads\": %d, \"steps_per_s\": %.3f, \"seconds\": %.4f, \"synthesis_share\": %.3f, "
        "\"acceptance\": %.4f, \"last_loss\": %.6g}\n",
        a->preset, (long long)a->batch, (long long)a->cap, (long long)a->k, eb_threads_get(), 1.0 / med, med,
        (s.synthesis_seconds - run.synth0) / total, s.mean_acceptance, run.t.loss);
    free(x);
    free(y);
    free(t);
    perf_train_free(&run.t);
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
