/* perf_allreduce: the cost of data-parallel training's one collective per step — eb_dist_sum_f32 (an
 * in-place MPI allreduce) over a flat gradient buffer — as ranks, floats, median seconds and the bus
 * bandwidth 2·(N−1)/N·bytes/s (a ring allreduce moves that much through each rank), one JSON line from
 * rank 0. Run it under mpirun with the MPI build (make mpi); the default size is ResNet-18's 11.2 M
 * parameters (docs/distributed.md). Benchmarks are programs, not tests (DESIGN.md §4).
 *   mpirun -np 2 build-mpi/perf/perf_allreduce [--floats N] [--reps R] [--warmup W] */
#include <ebood/ebood.h>

#include "perf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    int64_t floats = 11200000, reps = 20, warmup = 3;
    for (int i = 1; i < argc; i++) {
        int64_t *dst = !strcmp(argv[i], "--floats")   ? &floats
                       : !strcmp(argv[i], "--reps")   ? &reps
                       : !strcmp(argv[i], "--warmup") ? &warmup
                                                      : NULL;
        if (!dst || i + 1 >= argc || !perf_parse_i64(argv[++i], dst == &floats ? 1 : 0, 1ll << 34, dst) ||
            (dst == &reps && reps < 1) || reps > 10000) {
            fprintf(stderr, "perf_allreduce: bad argument '%s' (--floats N --reps R --warmup W)\n", argv[i]);
            return 2;
        }
    }
    eb_dist *d = NULL;
    eb_error err = {0};
    if (eb_dist_open(&d, &err)) {
        fprintf(stderr, "perf_allreduce: %s\n", err.message);
        return 1;
    }
    float *buf = malloc((size_t)floats * sizeof *buf);
    double *t = malloc((size_t)reps * sizeof *t);
    int rc = 0;
    if (!buf || !t) {
        fprintf(stderr, "perf_allreduce: out of memory (%lld floats)\n", (long long)floats);
        eb_dist_abort(d, 1);
        rc = 1;
    }
    for (int64_t i = 0; !rc && i < floats; i++) buf[i] = 1e-6f * (float)(i % 1000);
    for (int64_t r = 0; !rc && r < warmup + reps; r++) {
        const double t0 = now();
        if (eb_dist_sum_f32(d, buf, floats, &err)) {
            fprintf(stderr, "perf_allreduce: %s\n", err.message);
            eb_dist_abort(d, 1);
            rc = 1;
        }
        if (r >= warmup) t[r - warmup] = now() - t0;
    }
    if (!rc && eb_dist_rank(d) == 0) {
        const int n = eb_dist_size(d);
        const double med = perf_median(t, (int)reps), bytes = 4.0 * (double)floats;
        printf(
            "{\"bench\": \"allreduce\", \"ranks\": %d, \"floats\": %lld, \"reps\": %lld, \"median_s\": %.6g, "
            "\"bus_gbit_s\": %.4g}\n",
            n, (long long)floats, (long long)reps, med,
            med > 0 ? 2.0 * (n - 1) / n * bytes * 8e-9 / med : 0.0);
    }
    free(buf);
    free(t);
    eb_dist_close(d);
    return rc;
}
