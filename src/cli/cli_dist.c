/* The distributed context of the commands that run under mpirun (train, fit, score, eval): opened
 * once per command run, closed at its end (dist.h). Rank 0 prints and writes; the others compute. */
#include "cli/cli_impl.h"

#include <stdio.h>

int cli_dist_run(const char *cmd, int argc, char **argv, int (*run)(int, char **, const eb_dist *)) {
    eb_error err = {0};
    eb_dist *dist = NULL;
    if (eb_dist_open(&dist, &err)) return cli_fail(cmd, &err);
    /* results go to rank 0's stdout only (errors: every rank's stderr) */
    if (eb_dist_rank(dist) > 0 && !freopen("/dev/null", "w", stdout)) {
        eb_error_set(&err, EB_ERR_IO, "rank %d: cannot silence stdout", eb_dist_rank(dist));
        eb_dist_abort(dist, CLI_FAIL);
        eb_dist_close(dist);
        return cli_fail(cmd, &err);
    }
    int rc = run(argc, argv, dist);
    fflush(stdout);
    if (rc != CLI_OK) eb_dist_abort(dist, rc); /* a rank that failed alone would leave the others waiting */
    eb_dist_close(dist);
    return rc;
}
