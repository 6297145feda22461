/* perf_ebm: training throughput of ebood's energy-based models, one JSON line on stdout.
 *
 * Its twin is perf/ebm_torch.py (the same models, optimizers, batches, buffers, SGLD steps and
 * synthetic data in PyTorch); perf/compare_ebm.py runs the two alternately and reports the ratios
 * (perf/RESULTS.md). Benchmarks are programs, not tests (DESIGN.md §4).
 *
 * Cases (a "step" = one optimizer step, including the SGLD chains that produce its negatives):
 *   cd-segment    persistent contrastive divergence as the EBM paper trains it on Segment
 *                 (002_39b8670b82235277.txt §3 "Contrastive divergence", App. B; specs §4 "CD / JEM"):
 *                 MLP 18 → 100×5 → 6, LeakyReLU(0.01) (eb_mlp_default_config), AdamW(lr 1e-3, wd 0),
 *                 batch 512, replay buffer of 9000 chains U(−1, 1), 5 % restarts, 100 SGLD steps
 *                 x ← x + 1·∇ₓf + 0.01·ε on f = logsumexp of the logits, 512 negatives, loss
 *                 −(mean f(x⁺) − mean f(x⁻)) + 1·(mean f(x⁺)² + mean f(x⁻)²).
 *                 Through the public API: eb_train(eb_objective_cd, eb_cd_new(eb_cd_default_config())),
 *                 each timed window one eb_train call (shuffling, batch gathering, NaN checks included).
 *   cd-s-segment  the supervised variant (eb_cd_supervised_default_config: γ = 1 cross-entropy on the
 *                 data logits, class-conditional sampling on g_{y⁻}(x), y⁻ ~ U{0..5}, from a
 *                 class-conditional buffer), 100 SGLD steps (the paper; the released code's 20 with
 *                 --sgld-steps 20).
 *   heat          HEAT's residual-EBM training (001_8dfeaa911d9afebd.txt Eq. (1)–(3); specs §5) on 512-d
 *                 features with a 10-class GMM prior: E_θ = MLP 512 → 1024, 4 × (1024 → 1024) untied, → 1,
 *                 LeakyReLU(0.2); per step proposals z₀ = μ_c + Lε projected by ReLU and onto the sphere,
 *                 K = 40 SGLD steps on E_θ(z) + E_GMM(z)/1000 with η 1e-4 → 1e-5 and σ 5e-3 → 5e-4
 *                 (quadratic decay), negatives [z_K; z₀] (2B rows), N(0, (1e-4)²) input noise, loss
 *                 mean E_θ(z⁺) − mean E_θ(z⁻) + 10·(mean E_θ(z⁺)² + mean E_θ(z⁻)²), Adam(1e-5, β (0, 0.999)).
 *                 Batch 256 by default (the released code's 1024 is slow on 2 cores: --batch 1024).
 *                 Through the public API: each window fits a "heat" detector (eb_detector_fit) for one
 *                 epoch on n = batch × iters synthetic features and, separately, a "gmm" detector on the
 *                 same features; steps/s = iters / (heat fit time − gmm fit time), i.e. the fit minus
 *                 its L2 normalisation and GMM estimation (E_θ's initialisation and the Adam state's
 *                 allocation stay in: well under 1 % of a fit). The warm-up is one fit with K = 1.
 * Synthetic data: splitmix64 from --seed, as perf_mlp.c (ebm_torch.py generates bit-identical data).
 *   cd-*  x = U[−1, 1) from the top 24 bits of each draw, then labels (draw mod 6); pool of 1584 rows
 *         (Segment's training split), i.e. 3 batches of 512 per epoch (drop_last).
 *   heat  x = U[0, 1) per entry (from the same U[−1, 1) draw: (u + 1)/2), plus 2 on the dimensions
 *         j ≡ y (mod 10), y = i mod 10: non-negative features with a class structure, so that the GMM's
 *         tied covariance is well-conditioned once n ≥ 2·dim. Speed does not depend on the data.
 *
 * Timing: cd-* as perf_mlp's loop mode: a warm-up of --warmup seconds (≥ 2 steps), then --windows
 * windows of about --seconds each (or --iters steps each), each one eb_train call sized from the
 * current rate; heat: --windows fits of --iters steps (--seconds and --warmup are not used). steps/s per
 * window, the median is the result; CPU time (CLOCK_PROCESS_CPUTIME_ID, all threads) likewise gives steps per
 * CPU-second. Threads: EBOOD_THREADS (or --threads), as the library reads it. */
#include <ebood/ebood.h>

#include "perf_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

char *openblas_get_corename(void); /* from OpenBLAS */
int openblas_get_parallel(void);   /* 0 serial, 1 pthreads, 2 OpenMP */

typedef enum { CASE_CD, CASE_CD_S, CASE_HEAT } perf_case;

typedef struct perf_args {
    const char *case_s; /* cd-segment | cd-s-segment | heat */
    perf_case kind;
    int64_t batch;      /* 512 (cd), 256 (heat) */
    int64_t n_samples;  /* cd pool (1584) */
    int64_t sgld_steps; /* 100 (cd), 40 (heat) */
    int64_t buffer;     /* cd replay buffer (9000) */
    int64_t width, depth;
    bool tied;
    int windows;
    double seconds, warmup;
    int64_t iters; /* per window; cd 0 = time-based; heat default 4 */
    int threads;   /* 0 = EBOOD_THREADS / library default */
    uint64_t seed;
} perf_args;

static void usage(FILE *f) {
    fprintf(f,
            "usage: perf_ebm [--case cd-segment|cd-s-segment|heat] [--batch B] [--sgld-steps K]\n"
            "                 [--samples N] [--buffer N] [--width W] [--depth D] [--tied]\n"
            "                 [--windows K] [--seconds S] [--warmup S] [--iters N] [--threads N] [--seed N]\n"
            "Prints one JSON line: optimizer steps/s (median of K timed windows after the warm-up).\n");
}

/* Returns 0 on success, 1 on a usage error (message printed), -1 for --help. */
static int parse_args(int argc, char **argv, perf_args *a) {
    *a = (perf_args){.case_s = "cd-segment",
                     .sgld_steps = -1,
                     .buffer = 9000,
                     .width = 1024,
                     .depth = 4,
                     .windows = 5,
                     .seconds = 2.0,
                     .warmup = 1.0,
                     .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            usage(stdout);
            return -1;
        }
        if (!strcmp(k, "--tied")) {
            a->tied = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "perf_ebm: %s: missing value (or unknown flag)\n", k);
            return 1;
        }
        const char *v = argv[++i];
        int64_t n = 0;
        bool ok = true;
        if (!strcmp(k, "--case"))
            a->case_s = v;
        else if (!strcmp(k, "--batch"))
            ok = perf_parse_i64(v, 1, 1 << 20, &a->batch);
        else if (!strcmp(k, "--samples"))
            ok = perf_parse_i64(v, 1, 1 << 26, &a->n_samples);
        else if (!strcmp(k, "--sgld-steps"))
            ok = perf_parse_i64(v, 0, 1 << 20, &a->sgld_steps);
        else if (!strcmp(k, "--buffer"))
            ok = perf_parse_i64(v, 1, 1 << 26, &a->buffer);
        else if (!strcmp(k, "--width"))
            ok = perf_parse_i64(v, 1, 1 << 16, &a->width);
        else if (!strcmp(k, "--depth"))
            ok = perf_parse_i64(v, 0, 14, &a->depth);
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
            fprintf(stderr, "perf_ebm: unknown flag %s\n", k);
            return 1;
        }
        if (!ok) {
            fprintf(stderr, "perf_ebm: %s: bad value '%s'\n", k, v);
            return 1;
        }
    }
    if (!strcmp(a->case_s, "cd-segment"))
        a->kind = CASE_CD;
    else if (!strcmp(a->case_s, "cd-s-segment"))
        a->kind = CASE_CD_S;
    else if (!strcmp(a->case_s, "heat"))
        a->kind = CASE_HEAT;
    else {
        fprintf(stderr, "perf_ebm: --case: expected cd-segment, cd-s-segment or heat, got '%s'\n", a->case_s);
        return 1;
    }
    const bool heat = a->kind == CASE_HEAT;
    if (!a->batch) a->batch = heat ? 256 : 512;
    if (a->sgld_steps < 0) a->sgld_steps = heat ? 40 : 100;
    if (heat && !a->iters) a->iters = 4;
    /* Segment: the 1,584 training rows of weka's segment-challenge minus the held-out class (specs §4). */
    if (!a->n_samples) a->n_samples = 1584;
    if (a->n_samples < a->batch) a->n_samples = a->batch;
    return 0;
}

/* HEAT's features: y_i = i mod C, x_ij = (u_ij + 1)/2 + 2·[j ≡ y_i (mod C)], u ~ U[−1, 1) as above. */
static void make_features(uint64_t seed, int64_t n, int64_t dim, int64_t classes, float *x, int32_t *y) {
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % classes);
        for (int64_t j = 0; j < dim; j++) {
            float u = perf_uniform(&s);
            x[i * dim + j] = 0.5f * (u + 1.0f) + (j % classes == y[i] ? 2.0f : 0.0f);
        }
    }
}

/* What one window measured. */
typedef struct window {
    double rate, cpu_rate; /* steps per wall second, per CPU second */
} window;

/* ---- contrastive divergence ---------------------------------------------------------------------- */

typedef struct cd_state {
    const perf_args *a;
    eb_model *model;
    eb_cd *cd;
    eb_optimizer_params op;
    float *x;
    int32_t *y;
    int64_t steps;
    double loss_first, loss_last;
} cd_state;

/* One eb_train call of `steps` optimizer steps: the "real loop" (shuffling, gathering, the objective's
 * SGLD and replay buffer, backward, NaN check, AdamW). */
static eb_status cd_run(cd_state *s, int64_t steps, window *w, eb_error *err) {
    eb_train_params p = eb_train_default_params();
    p.steps = steps;
    p.batch_size = s->a->batch;
    p.drop_last = true;
    p.optimizer = s->op;
    p.schedule = eb_schedule_default(s->op.lr);
    p.seed = s->a->seed + (uint64_t)s->steps;
    p.progress = false;
    eb_train_result r;
    const double t0 = eb_time_seconds(), c0 = perf_cpu_seconds();
    eb_status st = eb_train(s->model, s->x, s->y, s->a->n_samples, 18, eb_objective_cd, s->cd, &p, &r, err);
    const double dt = eb_time_seconds() - t0, dc = perf_cpu_seconds() - c0;
    if (st) return st;
    if (s->steps == 0) s->loss_first = r.final_loss;
    s->loss_last = r.final_loss;
    s->steps += steps;
    w->rate = (double)steps / dt;
    w->cpu_rate = (double)steps / dc;
    return EB_OK;
}

static eb_status cd_window(cd_state *s, double seconds, int64_t iters, window *w, eb_error *err) {
    if (!iters) { /* size the eb_train call from the current rate estimate */
        double r0 = w->rate > 0 ? w->rate : 10.0;
        iters = (int64_t)(seconds * r0);
        if (iters < 2) iters = 2;
    }
    return cd_run(s, iters, w, err);
}

static eb_status run_cd(const perf_args *a, window *wins, cd_state *s, char *arch, size_t arch_len,
                        eb_error *err) {
    eb_mlp_config cfg = eb_mlp_default_config(18, 6); /* 18 → 100×5 → 6, LeakyReLU(0.01) */
    int len = snprintf(arch, arch_len, "%lld", (long long)cfg.in_dim);
    for (int i = 0; i < cfg.n_hidden; i++)
        len += snprintf(arch + len, arch_len - (size_t)len, "-%lld", (long long)cfg.hidden[i]);
    snprintf(arch + len, arch_len - (size_t)len, "-%lld %s", (long long)cfg.out_dim,
             eb_activation_name(cfg.activation));
    s->a = a;
    eb_rng init_rng;
    eb_rng_seed(&init_rng, a->seed);
    eb_status st = eb_mlp_new(&cfg, &init_rng, NULL, &s->model, err);
    if (st) return st;
    s->op = eb_adamw_default_params();
    s->op.lr = 1e-3f;
    s->op.weight_decay = 0.0f; /* the EBM paper's setting (specs §4) */
    eb_cd_config c = a->kind == CASE_CD_S ? eb_cd_supervised_default_config() : eb_cd_default_config();
    c.sgld.steps = a->sgld_steps;
    c.buffer_size = a->buffer;
    c.seed = a->seed;
    if ((st = eb_cd_new(&c, cfg.in_dim, cfg.out_dim, &s->cd, err))) return st;
    s->x = malloc((size_t)(a->n_samples * 18) * sizeof *s->x);
    s->y = malloc((size_t)a->n_samples * sizeof *s->y);
    if (!s->x || !s->y) return eb_error_set(err, EB_ERR_NOMEM, "perf_ebm: out of memory");
    perf_make_data(a->seed, a->n_samples, 18, 6, s->x, s->y);
    window w = {0};
    /* warm-up: at least 2 steps (first touch of the arenas, OpenBLAS buffers, the thread team) */
    st = cd_run(s, 2, &w, err);
    if (!st && a->warmup > 0) st = cd_window(s, a->warmup, 0, &w, err);
    for (int k = 0; k < a->windows && !st; k++) {
        st = cd_window(s, a->seconds, a->iters, &w, err);
        wins[k] = w;
    }
    return st;
}

/* ---- HEAT -------------------------------------------------------------------------------------------- */

typedef struct heat_times {
    double wall, cpu;
} heat_times;

static eb_status fit_once(eb_detector_kind kind, const eb_detector_params *p, const eb_detector_data *data,
                          heat_times *t, eb_error *err) {
    eb_detector *d = NULL;
    eb_status st = eb_detector_new(kind, p, &d, err);
    if (st) return st;
    const double t0 = eb_time_seconds(), c0 = perf_cpu_seconds();
    st = eb_detector_fit(d, data, NULL, err);
    t->wall = eb_time_seconds() - t0;
    t->cpu = perf_cpu_seconds() - c0;
    eb_detector_free(d);
    return st;
}

static eb_status run_heat(const perf_args *a, window *wins, double *gmm_s, int64_t *steps, char *arch,
                          size_t arch_len, eb_error *err) {
    const int64_t dim = 512, classes = 10, n = a->batch * a->iters;
    int len = snprintf(arch, arch_len, "%lld", (long long)dim);
    for (int64_t i = 0; i <= a->depth; i++)
        len += snprintf(arch + len, arch_len - (size_t)len, "-%lld", (long long)a->width);
    snprintf(arch + len, arch_len - (size_t)len, "-1 leaky_relu(0.2)%s, gmm prior (%lld classes)",
             a->tied ? " tied" : "", (long long)classes);
    if (n < 2 * dim)
        fprintf(stderr,
                "perf_ebm: warning: %lld features in %lld dims: the GMM's covariance may be singular "
                "(use batch x iters >= %lld)\n",
                (long long)n, (long long)dim, (long long)(2 * dim));
    float *x = malloc((size_t)(n * dim) * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return eb_error_set(err, EB_ERR_NOMEM, "perf_ebm: out of memory");
    }
    make_features(a->seed, n, dim, classes, x, y);
    eb_detector_data data = {.n = n, .features = x, .dim = dim, .labels = y, .n_classes = classes};
    eb_detector_params hp = eb_detector_default_params(EB_DETECTOR_HEAT);
    hp.heat.prior = EB_HEAT_PRIOR_GMM;
    hp.heat.gmm = eb_heat_code_params().gmm; /* the released code's settings, as perf/ebm_torch.py */
    hp.heat.width = a->width;
    hp.heat.depth = a->depth;
    hp.heat.tied = a->tied;
    hp.heat.seed = a->seed;
    hp.heat.gmm.batch_size = a->batch;
    hp.heat.gmm.epochs = 1;
    eb_detector_params gp = eb_detector_default_params(EB_DETECTOR_GMM);
    gp.heat.ridge = hp.heat.ridge;
    /* warm-up: one fit with one SGLD step per training step */
    hp.heat.gmm.steps = a->sgld_steps < 1 ? a->sgld_steps : 1;
    heat_times th, tg;
    eb_status st = fit_once(EB_DETECTOR_HEAT, &hp, &data, &th, err);
    hp.heat.gmm.steps = a->sgld_steps;
    double *g = malloc((size_t)a->windows * sizeof *g);
    if (!st && !g) st = eb_error_set(err, EB_ERR_NOMEM, "perf_ebm: out of memory");
    for (int k = 0; k < a->windows && !st; k++) {
        if ((st = fit_once(EB_DETECTOR_GMM, &gp, &data, &tg, err))) break;
        if ((st = fit_once(EB_DETECTOR_HEAT, &hp, &data, &th, err))) break;
        const double dw = th.wall - tg.wall, dc = th.cpu - tg.cpu;
        wins[k].rate = (double)a->iters / (dw > 0 ? dw : th.wall);
        wins[k].cpu_rate = (double)a->iters / (dc > 0 ? dc : th.cpu);
        g[k] = tg.wall;
        *steps += a->iters;
    }
    if (!st) *gmm_s = perf_median(g, a->windows);
    free(g);
    free(x);
    free(y);
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
        fprintf(stderr, "perf_ebm: %s\n", err.message);
        return 2;
    }
    window *wins = calloc((size_t)a.windows, sizeof *wins);
    if (!wins) return 1;
    char arch[256] = "";
    cd_state cs = {0};
    double gmm_s = NAN;
    int64_t heat_steps = 0;
    eb_status st = a.kind == CASE_HEAT ? run_heat(&a, wins, &gmm_s, &heat_steps, arch, sizeof arch, &err)
                                       : run_cd(&a, wins, &cs, arch, sizeof arch, &err);
    if (st) {
        fprintf(stderr, "perf_ebm: %s\n", err.message);
    } else {
        double *r = malloc((size_t)a.windows * sizeof *r), *rc2 = malloc((size_t)a.windows * sizeof *rc2);
        if (!r || !rc2) return 1;
        for (int k = 0; k < a.windows; k++) {
            r[k] = wins[k].rate;
            rc2[k] = wins[k].cpu_rate;
        }
        const double med = perf_median(r, a.windows), med_cpu = perf_median(rc2, a.windows);
        double lo = r[0], hi = r[0];
        for (int k = 1; k < a.windows; k++) {
            lo = r[k] < lo ? r[k] : lo;
            hi = r[k] > hi ? r[k] : hi;
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        static const char *const par[] = {"serial", "pthreads", "openmp"};
        const int p = openblas_get_parallel();
        const bool heat = a.kind == CASE_HEAT;
        printf(
            "{\"impl\": \"ebood\", \"case\": \"%s\", \"arch\": \"%s\", \"batch\": %lld, \"sgld_steps\": "
            "%lld, "
            "\"optimizer\": \"%s\", \"threads\": %d, \"blas\": \"OpenBLAS %s (%s)\", \"steps_per_s\": %.4g, "
            "\"steps_per_cpu_s\": %.4g, \"min\": %.4g, \"max\": %.4g, \"windows\": [",
            a.case_s, arch, (long long)a.batch, (long long)a.sgld_steps, heat ? "adam" : "adamw",
            eb_threads_get(), openblas_get_corename(), p >= 0 && p <= 2 ? par[p] : "?", med, med_cpu, lo, hi);
        for (int k = 0; k < a.windows; k++) printf(k ? ", %.4g" : "%.4g", r[k]);
        printf("], \"steps\": %lld", (long long)(heat ? heat_steps : cs.steps));
        if (heat) {
            printf(", \"iters_per_fit\": %lld, \"gmm_fit_s\": %.4g", (long long)a.iters, gmm_s);
        } else {
            eb_cd_step_info info = eb_cd_last_step(cs.cd);
            printf(", \"buffer\": %lld, \"loss_first\": %.6g, \"loss_last\": %.6g, \"f_pos\": %.6g, "
                   "\"f_neg\": %.6g",
                   (long long)a.buffer, cs.loss_first, cs.loss_last, info.terms.f_pos, info.terms.f_neg);
        }
        printf(", \"maxrss_kb\": %ld}\n", ru.ru_maxrss);
        free(r);
        free(rc2);
    }
    free(wins);
    free(cs.x);
    free(cs.y);
    eb_cd_free(cs.cd);
    eb_model_free(cs.model);
    return st ? 1 : 0;
}
