/* ebood landscape: a 2-D model's log-density f(x) = logsumexp g(x), or a detector's score fitted on 2-D
 * points (gmm, heat: f = −E), on a grid, written as a picture (.png, .svg) or as data (.npy, .csv),
 * optionally with a dataset's points drawn over it (HEAT's Figs. 1–2, 001_8dfeaa911d9afebd.txt); or, with
 * --border, Hopfield Boosting's border energy of two 2-D point sets before and after gradient steps of
 * L_OOD on the points (000_d95ac7511efbaafc.txt Fig. 6); or, with --hamos, HamOS's chains on a toy. */
#include "cli/cli_report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage = "(--model CKPT | --detector DET | --border toy|FILE) -o "
                                 "OUT.{png,svg,npy,csv} [--range xmin,xmax,ymin,ymax] "
                                 "[--grid N] "
                                 "[--data NAME|FILE (overlay)] [options]";

/* "xmin,xmax,ymin,ymax": four finite numbers with xmin < xmax, ymin < ymax. */
static bool parse_range(const char *s, double box[4]) {
    const char *p = s;
    for (int k = 0; k < 4; k++) {
        char *end;
        box[k] = strtod(p, &end);
        if (end == p || !isfinite(box[k]) || *end != (k < 3 ? ',' : '\0')) return false;
        p = end + 1;
    }
    return box[0] < box[1] && box[2] < box[3];
}

/* The two point sets of --border: "toy" = 60 ID points around (-1, 0) and 60 AUX points around (1, 0),
 * N(., 0.6²) per coordinate (the shape of 000's Fig. 6); a .csv of x,y,set rows (set 0 or the first
 * class = ID, the other = AUX). pts: ID rows then AUX rows (malloc'd). */
static eb_status border_points(const char *spec, uint64_t seed, float **pts, int64_t *n_id, int64_t *n_aux,
                               eb_error *err) {
    if (strcmp(spec, "toy") == 0) {
        *n_id = *n_aux = 60;
        *pts = malloc(sizeof(float) * 2 * 120);
        if (!*pts) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
        eb_rng r;
        eb_rng_seed(&r, seed);
        for (int64_t i = 0; i < 120; i++) {
            (*pts)[2 * i] = (float)((i < 60 ? -1.0 : 1.0) + 0.6 * eb_rng_normal(&r));
            (*pts)[2 * i + 1] = (float)(0.6 * eb_rng_normal(&r));
        }
        return EB_OK;
    }
    eb_dataset d;
    eb_status st = eb_csv_read_dataset(spec, -1, &d, err);
    if (st) return eb_error_set(err, st, "--border: %s", err->message);
    if (d.dim != 2 || d.num_classes != 2)
        st = eb_error_set(err, EB_ERR_FORMAT,
                          "--border %s: need rows x,y,set with 2 features and 2 sets (got %lld features, %d "
                          "sets)",
                          spec, (long long)d.dim, d.num_classes);
    *n_id = *n_aux = 0;
    for (int64_t i = 0; !st && i < d.n; i++) *(d.y[i] == 0 ? n_id : n_aux) += 1;
    *pts = st ? NULL : malloc(sizeof(float) * (size_t)(2 * d.n));
    if (!st && !*pts) st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    for (int64_t i = 0, a = 0, b = *n_id; !st && i < d.n; i++) {
        int64_t k = d.y[i] == 0 ? a++ : b++;
        memcpy(*pts + 2 * k, d.x + 2 * i, 2 * sizeof(float));
    }
    eb_dataset_free(&d);
    return st;
}

/* --border: the picture before (--before) and after `steps` steps on the points (-o). */
static int border_main(const char *cmd, const char *spec, const char *output, const char *before,
                       const double *range_box, int64_t grid, eb_landscape_style style, int64_t steps,
                       double beta, double lr, uint64_t seed, bool json) {
    eb_error err = {0};
    float *pts = NULL;
    int64_t n_id = 0, n_aux = 0;
    eb_status st = border_points(spec, seed, &pts, &n_id, &n_aux, &err);
    if (!st && before) st = eb_landscape_check_path(before, &err);
    double box[4] = {-3, 3, -3, 3};
    if (range_box)
        memcpy(box, range_box, sizeof box);
    else if (!st)
        cli_points_box(pts, n_id + n_aux, box);
    eb_landscape l;
    memset(&l, 0, sizeof l);
    double j0 = NAN, j1 = NAN;
    for (int pass = before ? 0 : 1; pass < 2 && !st; pass++) {
        if (pass == 1) st = eb_border_descend(pts, n_id, n_aux, beta, lr, steps, NULL, &err);
        if (!st) st = eb_border_loss(pts, n_id, n_aux, beta, pass ? &j1 : &j0, NULL, &err);
        style.points = pts, style.n_points = n_id;
        style.points_b = pts + 2 * n_id, style.n_points_b = n_aux;
        if (!st) st = eb_border_landscape(pts, n_id, n_aux, beta, box, grid, grid, &l, &err);
        if (!st) st = eb_landscape_write(&l, &style, pass ? output : before, &err);
        eb_landscape_free(&l);
    }
    free(pts);
    if (st) return cli_fail(cmd, &err);
    if (json)
        printf("{\"output\": \"%s\", \"steps\": %lld, \"beta\": %g, \"lr\": %g, \"n_id\": %lld, \"n_aux\": "
               "%lld, \"loss_before\": %.9g, \"loss_after\": %.9g}\n",
               output, (long long)steps, beta, lr, (long long)n_id, (long long)n_aux, j0, j1);
    else
        printf(
            "wrote %s: border energy of %lld ID and %lld AUX points after %lld steps (J = mean L_OOD %.4g)\n",
            output, (long long)n_id, (long long)n_aux, (long long)steps, j1);
    return CLI_OK;
}

/* The command line. */
typedef struct landscape_args {
    const char *model_path, *det_path, *output, *range, *data, *split, *mode_name, *title, *border, *before;
    int64_t grid, split_seed, scale, steps, seed;
    double vmin, vmax, beta, lr;
    bool json, hamos;
} landscape_args;

static int landscape_flags(landscape_args *a, cli_flag *out) {
    const cli_flag rows[] = {
        {"hamos", 0, CLI_FLAG_BOOL, &a->hamos, 0, 0, NULL,
         "instead: HamOS's chains and outliers on a 3-class toy on the sphere (no --model; flags: ebood "
         "landscape "
         "--hamos --help)",
         false},
        CLI_MODEL_FLAG(&a->model_path, "CKPT", "checkpoint of a model with 2 inputs"),
        {"detector", 0, CLI_FLAG_STRING, &a->det_path, 0, 0, "DET",
         "instead of --model: a detector fitted on 2-D features (gmm, heat --no-normalize; f = its score)",
         false},
        CLI_OUTPUT_FLAG(&a->output, "FILE",
                        ".png / .svg picture, .npy [grid, grid] float32, or .csv x,y,f (atomic)"),
        {"range", 0, CLI_FLAG_STRING, &a->range, 0, 0, "X0,X1,Y0,Y1",
         "the box (default: the toy data's box, else the --data points' box + 10%, else -3,3,-3,3)", false},
        {"grid", 0, CLI_FLAG_INT, &a->grid, 2, EB_LANDSCAPE_MAX_GRID, "N", "grid points per axis (200)",
         false},
        CLI_DATA_FLAG(
            &a->data,
            "draw this dataset's points over the picture (toy:cross, toy:crosses, a 2-column .csv/.arff)"),
        {"split", 0, CLI_FLAG_STRING, &a->split, 0, 0, "NAME", "which split of --data to draw (train)",
         false},
        CLI_SPLIT_SEED_FLAG(&a->split_seed, "split seed of a built-in --data (default: the checkpoint's)"),
        {"mode", 0, CLI_FLAG_STRING, &a->mode_name, 0, 0, "NAME",
         "colours show logp (f, default), p (exp(f - max f)) or energy (-f)", false},
        {"vmin", 0, CLI_FLAG_FLOAT, &a->vmin, -1e30, 1e30, "V", "colour range start (default: auto)", false},
        {"vmax", 0, CLI_FLAG_FLOAT, &a->vmax, -1e30, 1e30, "V", "colour range end (default: auto)", false},
        {"scale", 0, CLI_FLAG_INT, &a->scale, 1, 64, "K", "PNG pixels per grid cell (default: about 512 px)",
         false},
        {"title", 0, CLI_FLAG_STRING, &a->title, 0, 0, "TEXT", "SVG caption (default: model kind and mode)",
         false},
        {"border", 0, CLI_FLAG_STRING, &a->border, 0, 0, "toy|FILE",
         "instead of --model: Hopfield Boosting's border energy beta L_OOD of two 2-D point sets (000 Eq. 5, "
         "Fig. 6; toy = two Gaussian clouds, or a .csv of x,y,set with set 0 = ID), after --steps gradient "
         "steps of the mean L_OOD on the points themselves; colours default to p = exp(beta L_OOD)/max",
         false},
        {"before", 0, CLI_FLAG_STRING, &a->before, 0, 0, "FILE",
         "--border: also write the state before the steps", false},
        {"steps", 0, CLI_FLAG_INT, &a->steps, 0, 100000, "N", "--border: gradient steps on the points (25)",
         false},
        {"beta", 0, CLI_FLAG_FLOAT, &a->beta, 1e-6, 1e6, "B", "--border: inverse temperature (2, as Fig. 6)",
         false},
        {"lr", 0, CLI_FLAG_FLOAT, &a->lr, 1e-9, 1e3, "LR", "--border: step size (0.1, as Fig. 6)", false},
        {"seed", 0, CLI_FLAG_INT, &a->seed, 0, 9.2e18, "N", "--border toy: seed of the points (0)", false},
        CLI_JSON_FLAG(&a->json, "print a JSON summary on stdout"),
    };
    memcpy(out, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

/* One of --model, --detector, --border, and the flags only one of them reads. Returns 0 or CLI_USAGE. */
static int check_source(const landscape_args *a, const cli_flag *flags, int n_flags) {
    const int n_sources = !!a->model_path + !!a->det_path + !!a->border;
    if (n_sources != 1 || !a->output) {
        fprintf(stderr, "ebood landscape: %s (see ebood landscape --help)\n",
                !a->output      ? "--output is required"
                : n_sources > 1 ? "give one of --model, --detector, --border"
                                : "--model, --detector or --border is required");
        return CLI_USAGE;
    }
    static const char *const border_only[] = {"before", "steps", "beta", "lr", "seed"},
                             *const model_only[] = {"data", "split", "split-seed"};
    for (int k = 0; k < (a->border ? 3 : 5); k++) {
        const char *f = a->border ? model_only[k] : border_only[k];
        if (cli_flag_seen(flags, n_flags, f)) {
            fprintf(stderr, "ebood landscape: --%s is read only %s\n", f,
                    a->border ? "with --model" : "with --border");
            return CLI_USAGE;
        }
    }
    return 0;
}

/* The picture's style and --range's box from the flags. Returns 0 or an exit code (printed). */
static int make_style(const landscape_args *a, eb_landscape_style *style, double box[4]) {
    eb_error err = {0};
    *style = eb_landscape_default_style();
    if (eb_landscape_check_path(a->output, &err)) return cli_fail("landscape", &err);
    if (eb_landscape_mode_parse(a->mode_name ? a->mode_name : a->border ? "p" : "logp", &style->mode, &err)) {
        fprintf(stderr, "ebood landscape: --mode: %s\n", err.message);
        return CLI_USAGE;
    }
    if (a->range && !parse_range(a->range, box)) {
        fprintf(stderr,
                "ebood landscape: --range: expected xmin,xmax,ymin,ymax (finite, xmin < xmax, ymin < ymax), "
                "got '%s'\n",
                a->range);
        return CLI_USAGE;
    }
    if (!isnan(a->vmin) && !isnan(a->vmax) && !(a->vmin < a->vmax)) {
        fprintf(stderr, "ebood landscape: --vmin %g must be below --vmax %g\n", a->vmin, a->vmax);
        return CLI_USAGE;
    }
    style->vmin = a->vmin;
    style->vmax = a->vmax;
    int64_t auto_scale = (512 + a->grid - 1) / a->grid; /* about 512 px */
    style->scale = (int)(a->scale ? a->scale : auto_scale > 64 ? 64 : auto_scale);
    if (a->grid * style->scale > 16384) {
        fprintf(stderr, "ebood landscape: --scale %d: a %lld-pixel picture is too large (16384 per side)\n",
                style->scale, (long long)(a->grid * style->scale));
        return CLI_USAGE;
    }
    return 0;
}

/* What the picture is of: a model (with its checkpoint) or a detector. */
typedef struct field {
    eb_model *model;
    eb_safetensors *file;
    eb_detector *det;
} field;

static void field_free(field *f) {
    eb_model_free(f->model);
    eb_detector_free(f->det);
    eb_safetensors_free(f->file);
}

/* --model: a checkpoint of a model with 2 inputs. */
static eb_status load_model(const char *path, field *f, eb_error *err) {
    eb_status st = eb_model_load_with_file(path, NULL, &f->model, &f->file, err);
    if (!st && eb_model_in_dim(f->model) != 2)
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: the model takes %lld features, a landscape needs 2", path,
                          (long long)eb_model_in_dim(f->model));
    return st;
}

/* --detector: a detector fitted on 2-D features; its scores on the grid (the file named on a shape error). */
static eb_status detector_values(const char *path, eb_detector *det, const double box[4], int64_t grid,
                                 eb_landscape *l, eb_error *err) {
    eb_status st = eb_landscape_compute_detector(det, box, grid, grid, l, err);
    if (st == EB_ERR_SHAPE) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        eb_error_set(err, st, "%s: %s", path, msg);
    }
    return st;
}

/* --data's points to draw and the default box: the toy data's, else the points', else [-3, 3]². */
static eb_status overlay(landscape_args *a, const field *f, eb_dataset *pts, double box[4], eb_error *err) {
    const char *trained_on = f->file ? eb_safetensors_meta(f->file, "ebood.data") : NULL;
    if (a->split_seed < 0) {
        const char *s = f->file ? eb_safetensors_meta(f->file, "ebood.split_seed") : NULL;
        a->split_seed = s ? strtoll(s, NULL, 10) : 0;
    }
    eb_status st = EB_OK;
    if (a->data) {
        st = cli_load_rows(a->data, a->split, (uint64_t)a->split_seed, f->model, f->file, NULL, NULL, pts,
                           err);
        if (!st && pts->dim != 2)
            st = eb_error_set(err, EB_ERR_SHAPE, "--data %s has %lld features, a landscape needs 2", a->data,
                              (long long)pts->dim);
    }
    if (!st && !a->range) {
        const char *toy = a->data
                              ? (strncmp(a->data, "toy:", 4) == 0 ? a->data + 4 : NULL)
                              : (trained_on && strncmp(trained_on, "toy:", 4) == 0 ? trained_on + 4 : NULL);
        if (toy)
            st = eb_toy2d_box(toy, box, err);
        else if (pts->n > 0)
            cli_points_box(pts->x, pts->n, box);
    }
    return st;
}

/* The summary of a written landscape: JSON or one line. */
static void print_summary(const landscape_args *a, const eb_landscape *l, const double box[4],
                          int64_t n_points) {
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t k = 0; k < l->width * l->height; k++) {
        lo = l->values[k] < lo ? l->values[k] : lo;
        hi = l->values[k] > hi ? l->values[k] : hi;
    }
    if (!a->json) {
        printf("wrote %s: %lld x %lld grid over [%g, %g] x [%g, %g], f from %.4g to %.4g\n", a->output,
               (long long)a->grid, (long long)a->grid, box[0], box[1], box[2], box[3], (double)lo,
               (double)hi);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output", a->output);
    cJSON_AddNumberToObject(o, "grid", (double)a->grid);
    cJSON_AddItemToObject(o, "range", cJSON_CreateDoubleArray(box, 4));
    cJSON_AddNumberToObject(o, "f_min", (double)lo);
    cJSON_AddNumberToObject(o, "f_max", (double)hi);
    cJSON_AddNumberToObject(o, "points", (double)n_points);
    char *text = cJSON_Print(o);
    printf("%s\n", text ? text : "{}");
    free(text);
    cJSON_Delete(o);
}

/* --model or --detector: f on the grid, with --data's points over it. */
static int field_main(landscape_args *a, eb_landscape_style style, double box[4]) {
    eb_error err = {0};
    field f = {0};
    if (a->model_path ? load_model(a->model_path, &f, &err) : eb_detector_load(a->det_path, &f.det, &err)) {
        field_free(&f);
        return cli_fail("landscape", &err);
    }
    eb_dataset pts;
    memset(&pts, 0, sizeof pts);
    eb_status st = overlay(a, &f, &pts, box, &err);
    const char *trained_on = f.file ? eb_safetensors_meta(f.file, "ebood.data") : NULL;
    char title_buf[256];
    snprintf(title_buf, sizeof title_buf, "%s%s%s: %s",
             f.model ? eb_model_kind_name(f.model->kind) : eb_detector_kind_name(eb_detector_kind_of(f.det)),
             trained_on ? " on " : "", trained_on ? trained_on : "",
             style.mode == EB_LANDSCAPE_ENERGY    ? "energy E(x) = -f(x)"
             : style.mode == EB_LANDSCAPE_DENSITY ? "p(x) / max p"
                                                  : "log-density f(x)");
    style.title = a->title ? a->title : title_buf;
    style.points = pts.n > 0 ? pts.x : NULL;
    style.n_points = pts.n;
    eb_landscape l;
    memset(&l, 0, sizeof l);
    if (!st)
        st = f.det ? detector_values(a->det_path, f.det, box, a->grid, &l, &err)
                   : eb_landscape_compute(f.model, box, a->grid, a->grid, &l, &err);
    if (!st) st = eb_landscape_write(&l, &style, a->output, &err);
    if (!st) print_summary(a, &l, box, pts.n);
    eb_landscape_free(&l);
    eb_dataset_free(&pts);
    field_free(&f);
    return st ? cli_fail("landscape", &err) : CLI_OK;
}

int cmd_landscape(int argc, char **argv) {
    for (int i = 2; i < argc; i++) /* another picture with its own flags */
        if (strcmp(argv[i], "--hamos") == 0) return cli_landscape_hamos(argc, argv);
    landscape_args a = {.split = "train",
                        .grid = 200,
                        .split_seed = -1,
                        .steps = 25,
                        .vmin = NAN,
                        .vmax = NAN,
                        .beta = 2.0,
                        .lr = 0.1};
    cli_flag flags[32];
    const int n_flags = landscape_flags(&a, flags);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse("landscape", usage, argc, argv, 2, flags, n_flags, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    eb_landscape_style style;
    double box[4] = {-3, 3, -3, 3};
    if ((rc = check_source(&a, flags, n_flags)) || (rc = make_style(&a, &style, box))) return rc;
    if (a.border)
        return border_main("landscape", a.border, a.output, a.before, a.range ? box : NULL, a.grid, style,
                           a.steps, a.beta, a.lr, (uint64_t)a.seed, a.json);
    return field_main(&a, style, box);
}
