/* The one thread-count setting, shared by our OpenMP kernels and OpenBLAS (OpenMP build). */
#include <ebood/base.h>

#include <errno.h>
#include <omp.h>
#include <stdlib.h>

void openblas_set_num_threads(int num_threads); /* from OpenBLAS */

void eb_threads_set(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int eb_threads_get(void) { return omp_get_max_threads(); }

eb_status eb_threads_from_env(eb_error *err) {
    const char *s = getenv("EBOOD_THREADS");
    if (!s || !*s) return EB_OK;
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || *end || n < 0 || n > 4096)
        return eb_error_set(err, EB_ERR_ARG, "EBOOD_THREADS: expected an integer in [0, 4096], got '%s'", s);
    eb_threads_set((int)n);
    return EB_OK;
}
