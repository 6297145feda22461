/* ebood info: version, BLAS, threads, build flags, MPI. */
#include "cli/cli_impl.h"

#include <omp.h>
#include <stdio.h>

char *openblas_get_config(void);   /* from OpenBLAS */
char *openblas_get_corename(void); /* from OpenBLAS */
int openblas_get_parallel(void);   /* 0 serial, 1 pthreads, 2 OpenMP */

int cmd_info(int argc, char **argv) {
    bool json = false;
    cli_flag flags[] = {{"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print JSON", false}};
    int n_pos;
    const char *pos[1];
    int rc = cli_parse("info", "[--json]", argc, argv, 2, flags, 1, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    static const char *const parallel[] = {"serial", "pthreads", "openmp"};
    int par = openblas_get_parallel();
    const char *par_s = par >= 0 && par <= 2 ? parallel[par] : "?";
    if (json) {
        printf("{\"version\": \"%s\", \"blas\": \"OpenBLAS %s\", \"blas_core\": \"%s\", \"blas_threading\": "
               "\"%s\", "
               "\"threads\": %d, \"cores\": %d, \"build\": \"%s\", \"compiler\": \"%s\", \"mpi\": %s}\n",
               EB_VERSION_STRING, openblas_get_config(), openblas_get_corename(), par_s, eb_threads_get(),
               omp_get_num_procs(), eb_build_flags(), __VERSION__, eb_dist_compiled() ? "true" : "false");
    } else {
        printf(
            "ebood %s\nBLAS: OpenBLAS %s (core %s, %s threading)\nthreads: %d of %d cores (EBOOD_THREADS)\n"
            "build: %s\ncompiler: gcc %s\nMPI: %s\n",
            EB_VERSION_STRING, openblas_get_config(), openblas_get_corename(), par_s, eb_threads_get(),
            omp_get_num_procs(), eb_build_flags(), __VERSION__,
            eb_dist_compiled() ? "Open MPI (runs under mpirun: docs/distributed.md)"
                               : "not built in (make mpi)");
    }
    return CLI_OK;
}
