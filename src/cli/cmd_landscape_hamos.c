/* ebood landscape --hamos: the picture of HamOS's synthesis on a 3-class toy on the sphere
 * (src/eval/hamos_picture.c; docs/hamos_chains.png is its default output). */
#include "cli/cli_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "--hamos -o OUT.{png,svg} [--sampler hmc|rw|mala] [--seed N] [options]";

int cli_landscape_hamos(int argc, char **argv) {
    const char *cmd = "landscape --hamos", *output = NULL, *sampler = "hmc";
    eb_hamos_picture_params p = eb_hamos_picture_default_params();
    int64_t seed = 0, rounds = p.synth.rounds, n = p.n_per_class, size = p.size,
            steps = p.synth.sampler.leapfrog_steps;
    double eps = p.synth.sampler.step_size, spread = p.spread;
    bool hamos = false, json = false;
    cli_flag flags[] = {
        {"hamos", 0, CLI_FLAG_BOOL, &hamos, 0, 0, NULL, "this picture (required)", false},
        {"output", 'o', CLI_FLAG_STRING, &output, 0, 0, "FILE", ".png or .svg (atomic)", false},
        {"sampler", 0, CLI_FLAG_STRING, &sampler, 0, 0, "KIND", "hmc (default), rw or mala", false},
        {"seed", 0, CLI_FLAG_INT, &seed, 0, 9.2e18, "N", "seed of the toy data and the chains (0)", false},
        {"rounds", 0, CLI_FLAG_INT, &rounds, 1, 1000, "R", "sampling rounds: points per chain path (12)",
         false},
        {"leapfrog-steps", 0, CLI_FLAG_INT, &steps, 1, 10000, "L", "leapfrog steps per proposal (3)", false},
        {"hmc-step-size", 0, CLI_FLAG_FLOAT, &eps, 1e-6, 10, "EPS", "the sampler's step size (0.1)", false},
        {"n", 0, CLI_FLAG_INT, &n, 30, 100000, "N", "ID rows per class (300)", false},
        {"spread", 0, CLI_FLAG_FLOAT, &spread, 1e-3, 10, "S", "sigma of the ID clusters (0.25)", false},
        {"size", 0, CLI_FLAG_INT, &size, 120, 4096, "PX", "picture side in pixels (560)", false},
        {"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print a JSON summary on stdout", false},
    };
    int n_pos;
    const char *pos[1];
    int rc =
        cli_parse(cmd, usage, argc, argv, 2, flags, (int)(sizeof flags / sizeof flags[0]), pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    eb_error err = {0};
    if (!output) {
        fprintf(stderr, "ebood %s: --output is required (see ebood landscape --hamos --help)\n", cmd);
        return CLI_USAGE;
    }
    if (eb_sphere_sampler_parse(sampler, &p.synth.sampler.kind, &err)) {
        fprintf(stderr, "ebood %s: --sampler: %s\n", cmd, err.message);
        return CLI_USAGE;
    }
    p.seed = (uint64_t)seed;
    p.synth.rounds = rounds;
    p.synth.sampler.leapfrog_steps = steps;
    p.synth.sampler.step_size = (float)eps;
    p.n_per_class = n;
    p.spread = (float)spread;
    p.size = size;
    eb_hamos_synthesis_stats s;
    if (eb_hamos_picture_write(&p, output, &s, &err)) return cli_fail(cmd, &err);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", output);
        cJSON_AddStringToObject(o, "sampler", eb_sphere_sampler_name(p.synth.sampler.kind));
        cJSON_AddNumberToObject(o, "outliers", (double)eb_hamos_synthesis_count(&p.synth, 3));
        cJSON_AddNumberToObject(o, "acceptance", s.acceptance);
        cJSON_AddNumberToObject(o, "diversity", s.diversity);
        char *text = cJSON_Print(o);
        printf("%s\n", text ? text : "{}");
        free(text);
        cJSON_Delete(o);
    } else {
        printf("wrote %s: %s, %lld outliers, acceptance %.3f\n", output,
               eb_sphere_sampler_name(p.synth.sampler.kind), (long long)eb_hamos_synthesis_count(&p.synth, 3),
               s.acceptance);
    }
    return CLI_OK;
}
