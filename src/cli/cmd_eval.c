/* ebood eval: detectors on a checkpoint's features/logits (extracted once) + ID test data + OOD sets
 * → one table per detector; or metrics of score files made anywhere (--id S.npy --ood NAME=S.npy). */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli_detector_impl.h"
#include "cli/cli_report.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage =
    "--model CKPT [--data NAME|FILE] [--ood NAME=FILE ...] [--detectors LIST] [options]\n"
    "       ebood eval --id S_ID.npy --ood NAME=S_OOD.npy [...] [--json] [-o FILE]";

enum { MAX_SETS = EB_EVAL_MAX_SETS };

/* Prints the report (table or JSON) and writes it to `output` if given; with `sphere` (a model with a
 * projection head) also its Eq. (14) metrics, under "sphere" in the JSON. */
static eb_status emit(const eb_eval_report *report, const eb_sphere_metrics *sphere, bool json,
                      const char *output, const char *title, eb_error *err) {
    char *text = eb_report_json(report);
    if (!text) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (sphere) {
        cJSON *o = cJSON_Parse(text), *sp = cJSON_CreateObject();
        free(text);
        text = NULL;
        if (o && sp) {
            cJSON_AddNumberToObject(sp, "cos_separation", sphere->cos_separation);
            cJSON_AddNumberToObject(sp, "cos_dispersion", sphere->cos_dispersion);
            cJSON_AddNumberToObject(sp, "cos_compactness", sphere->cos_compactness);
            cJSON_AddItemToObject(o, "sphere", sp);
            sp = NULL;
            text = cJSON_Print(o);
        }
        cJSON_Delete(sp);
        cJSON_Delete(o);
        if (!text) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    }
    eb_status st = output ? cli_write_text(output, text, err) : EB_OK;
    if (!st) {
        if (json) {
            printf("%s\n", text);
        } else {
            printf("%s\n", title);
            eb_report_print_table(stdout, report);
            if (sphere) /* 004 Table 3 reports the angles: separation up, dispersion up, compactness down */
                printf("projection head (004 Eq. 14): separation %.2f deg, dispersion %.2f deg, compactness "
                       "%.2f deg\n",
                       acos(sphere->cos_separation) * (180.0 / 3.14159265358979323846),
                       acos(sphere->cos_dispersion) * (180.0 / 3.14159265358979323846),
                       acos(sphere->cos_compactness) * (180.0 / 3.14159265358979323846));
        }
    }
    free(text);
    return st;
}

/* Eq. (14) of 004 for a model with a projection head: the ID test rows (labelled) against every OOD set
 * together. */
static eb_status sphere_metrics(eb_model *m, const eb_row_set *id, const eb_row_set *ood, int n_ood,
                                eb_sphere_metrics *out, eb_error *err) {
    int64_t d = m->head_dim, n_all = 0;
    for (int i = 0; i < n_ood; i++) n_all += ood[i].n;
    float *zi = malloc((size_t)(id->n * d + 1) * sizeof *zi),
          *zo = malloc((size_t)(n_all * d + 1) * sizeof *zo);
    eb_status st = !zi || !zo ? eb_error_set(err, EB_ERR_NOMEM, "out of memory") : EB_OK;
    if (!st) st = eb_model_predict_embeddings(m, id->x, id->n, 1024, zi, err);
    for (int64_t i = 0, at = 0; i < n_ood && !st; at += ood[i].n, i++)
        st = eb_model_predict_embeddings(m, ood[i].x, ood[i].n, 1024, zo + at * d, err);
    if (!st)
        st = eb_sphere_metrics_compute(zi, id->labels, id->n, zo, n_all, d, eb_model_out_dim(m), out, err);
    free(zi);
    free(zo);
    return st;
}

/* Metrics of one OOD set against the ID scores. */
static eb_status set_metrics(const char *name, const float *s_id, int64_t n_id, const float *s_ood,
                             int64_t n_ood, eb_eval_set_result *r, eb_error *err) {
    snprintf(r->name, sizeof r->name, "%s", name);
    r->n_ood = n_ood;
    eb_status st = eb_ood_metrics_compute(s_id, n_id, s_ood, n_ood, &r->metrics, err);
    if (!st) st = eb_ebm_paper_aupr(s_id, n_id, s_ood, n_ood, &r->ebm_paper_aupr, err);
    return st;
}

/* ---- score files --------------------------------------------------------------------------------- */

static int eval_score_files(const char *id_path, const cli_list *ood_specs, bool json, const char *output,
                            const char *report_path) {
    const char *cmd = "eval";
    eb_error err = {0};
    if (ood_specs->count == 0) {
        fprintf(stderr, "ebood eval: --id needs at least one --ood NAME=SCORES.npy\n");
        return CLI_USAGE;
    }
    if (ood_specs->count > MAX_SETS) {
        fprintf(stderr, "ebood eval: --ood: at most %d sets\n", MAX_SETS);
        return CLI_USAGE;
    }
    static eb_eval_report report;
    memset(&report, 0, sizeof report);
    report.id_acc = NAN;
    report.n_scores = 1;
    eb_eval_score_result *sr = &report.scores[0];
    snprintf(sr->score, sizeof sr->score, "scores");
    float *s_id = NULL;
    int64_t n_id = 0, cols = 0;
    eb_status st = cli_read_matrix(id_path, true, &s_id, &n_id, &cols, &err);
    if (!st && cols != 1)
        st = eb_error_set(&err, EB_ERR_SHAPE, "%s: expected one score per row, got %lld columns", id_path,
                          (long long)cols);
    report.n_id = n_id;
    for (int i = 0; i < ood_specs->count && !st; i++) {
        const char *spec = ood_specs->items[i], *eq = strchr(spec, '=');
        char name[48];
        snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
        float *s_ood = NULL;
        int64_t n_ood = 0;
        st = cli_read_matrix(eq + 1, true, &s_ood, &n_ood, &cols, &err);
        if (!st && cols != 1)
            st = eb_error_set(&err, EB_ERR_SHAPE, "%s: expected one score per row, got %lld columns", eq + 1,
                              (long long)cols);
        if (!st) st = set_metrics(name, s_id, n_id, s_ood, n_ood, &sr->sets[sr->n_sets++], &err);
        free(s_ood);
    }
    if (!st) {
        char title[600];
        snprintf(title, sizeof title, "scores from %s (%lld ID samples)", id_path, (long long)n_id);
        st = emit(&report, NULL, json, output, title, &err);
    }
    if (!st && report_path) { /* the page reads the files again: one code path with ebood report */
        eb_html_report *page = NULL;
        st = eb_html_report_new("ebood eval: score files", &page, &err);
        if (!st) st = eb_html_report_add_provenance(page, "ID scores", id_path, &err);
        if (!st) st = cli_report_add_score_files(page, "scores", id_path, ood_specs, &err);
        if (!st) st = eb_html_report_write(page, report_path, cli_report_format(report_path), &err);
        eb_html_report_free(page);
    }
    free(s_id);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}

/* ---- detectors on a checkpoint ------------------------------------------------------------------------- */

/* The command line. */
typedef struct eval_args {
    const char *model_path, *data, *scores, *detectors, *output, *id_scores, *train_data, *aux_data,
        *input_std, *report_path;
    int64_t split_seed, n_synthetic, seed;
    bool json, no_synthetic;
    cli_list ood_specs;
    cli_detector_flags hv;
    char detector_help[600];
} eval_args;

/* What the command loads for eb_eval_run (freed by job_free). */
typedef struct eval_job {
    eb_detector_kind kinds[EB_EVAL_MAX_SCORES];
    eb_detector *dets[EB_EVAL_MAX_SCORES];
    int n_kinds;
    unsigned fit_needs, score_needs;
    bool need_train;
    float std_values[4096];
    int n_std;
    eb_model *model;
    eb_safetensors *file;
    const char *ckpt_data;
    bool builtin, images;
    cli_tabular tab,
        whole; /* a table's split and recipe; whole: all rows of --ood/--aux-data files (a view) */
    eb_tabular_split split, train_split, aux_split;
    cli_eval_images img;
    eb_dataset extra[MAX_SETS];
    int n_extra;
    eb_row_set id, ood[MAX_SETS], train, aux;
    char names[MAX_SETS][48];
    int n_ood;
    cli_report_scores kept;
} eval_job;

static eb_row_set row_set(const char *name, const eb_dataset *d) {
    return (eb_row_set){.name = name, .x = d->x, .labels = d->y, .n = d->n};
}

/* Fills flags[] (the command's rows, then the detectors' parameter rows); returns the count. */
static int eval_flags(eval_args *a, cli_flag *flags) {
    snprintf(a->detector_help, sizeof a->detector_help, "comma-separated: ");
    eb_detector_kind_names(a->detector_help + strlen(a->detector_help),
                           sizeof a->detector_help - strlen(a->detector_help));
    strcat(a->detector_help, " (default msp,maxlogit,energy)");
    const cli_flag base[] = {
        CLI_MODEL_FLAG(&a->model_path, "CKPT", "checkpoint written by ebood train"),
        CLI_DATA_FLAG(
            &a->data,
            "ID test data: segment (its test split), an .arff/.csv file, or an image dataset (fmnist, "
            "mnist, cifar10:DIR, cifar100:DIR: its test split) (default: the checkpoint's training "
            "data)"),
        CLI_SPLIT_SEED_FLAG(&a->split_seed, "split of a built-in dataset (default: the checkpoint's)"),
        {"ood", 0, CLI_FLAG_MULTI, &a->ood_specs, 0, 0, "NAME=FILE",
         "an OOD set (repeatable): a data file; for image data an image dataset (its test split) or "
         "idx:FILE; with --id a score file",
         false},
        {"no-synthetic", 0, CLI_FLAG_BOOL, &a->no_synthetic, 0, 0, NULL,
         "skip the synthetic sets (tabular uniform/gaussian/constant; images oodomain, noise, constant, "
         "smooth2/3/4/16)",
         false},
        {"n-synthetic", 0, CLI_FLAG_INT, &a->n_synthetic, 1, 1e7, "N", "samples per synthetic OOD set (2000)",
         false},
        {"seed", 0, CLI_FLAG_INT, &a->seed, 0, 9.2e18, "N", "seed of the synthetic OOD sets (0)", false},
        {"detectors", 0, CLI_FLAG_STRING, &a->detectors, 0, 0, "LIST", a->detector_help, false},
        {"scores", 0, CLI_FLAG_STRING, &a->scores, 0, 0, "LIST",
         "the logit scores only: msp, maxlogit, energy", false},
        {"train-data", 0, CLI_FLAG_STRING, &a->train_data, 0, 0, "NAME|FILE",
         "ID training data the detectors are fitted on (default: the built-in split's train part, else the "
         "checkpoint's data)",
         false},
        {"aux-data", 0, CLI_FLAG_STRING, &a->aux_data, 0, 0, "FILE",
         "auxiliary outlier rows for hopfield_aux (.arff/.csv)", false},
        {"input-std", 0, CLI_FLAG_STRING, &a->input_std, 0, 0, "S1,S2,..",
         "std the inputs were divided by (odin, mahalanobis --eps)", false},
        {"id", 0, CLI_FLAG_STRING, &a->id_scores, 0, 0, "S_ID.npy",
         "evaluate score files instead: ID scores [n] (higher = more ID)", false},
        CLI_REPORT_FLAGS(&a->json, &a->output),
        {"report", 0, CLI_FLAG_STRING, &a->report_path, 0, 0, "FILE",
         "also write a page with figures (.html; .md: Markdown + SVG files; see ebood report)", false},
    };
    const int n_base = (int)(sizeof base / sizeof base[0]);
    memcpy(flags, base, sizeof base);
    return n_base + cli_detector_flag_rows(&a->hv, false, flags + n_base);
}

/* --detectors / --scores into job->kinds. Returns 0 or CLI_USAGE (printed). */
static int parse_kinds(const eval_args *a, eval_job *job) {
    const char *list_flag = a->scores ? "scores" : "detectors";
    char list[512];
    eb_error err = {0};
    snprintf(list, sizeof list, "%s",
             a->scores      ? a->scores
             : a->detectors ? a->detectors
                            : "msp,maxlogit,energy");
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (job->n_kinds == EB_EVAL_MAX_SCORES) {
            fprintf(stderr, "ebood eval: --%s: at most %d\n", list_flag, EB_EVAL_MAX_SCORES);
            return CLI_USAGE;
        }
        eb_logit_score ls;
        if (a->scores && eb_logit_score_parse(tok, &ls, &err)) {
            fprintf(stderr, "ebood eval: --scores: %s (use --detectors for the others)\n", err.message);
            return CLI_USAGE;
        }
        eb_detector_kind *kind = &job->kinds[job->n_kinds];
        if (eb_detector_kind_parse(tok, kind, &err)) {
            fprintf(stderr, "ebood eval: --%s: %s\n", list_flag, err.message);
            return CLI_USAGE;
        }
        for (int i = 0; i < job->n_kinds; i++)
            if (job->kinds[i] == *kind) {
                fprintf(stderr, "ebood eval: --%s: '%s' listed twice\n", list_flag, tok);
                return CLI_USAGE;
            }
        job->n_kinds++;
    }
    if (job->n_kinds == 0) {
        fprintf(stderr, "ebood eval: --%s: empty list\n", list_flag);
        return CLI_USAGE;
    }
    return 0;
}

/* The detectors with their parameters, and the flags that only some of them read. Returns 0 or an exit
 * code (printed). */
static int make_detectors(const eval_args *a, const cli_flag *flags, int n_flags, eval_job *job) {
    int rc = parse_kinds(a, job);
    if (rc) return rc;
    eb_detector_params params[EB_EVAL_MAX_SCORES];
    if (!cli_detector_params("eval", flags, n_flags, &a->hv, job->kinds, job->n_kinds, params))
        return CLI_USAGE;
    eb_error err = {0};
    for (int k = 0; k < job->n_kinds; k++) {
        if (eb_detector_new(job->kinds[k], &params[k], &job->dets[k], &err)) return cli_fail("eval", &err);
        job->fit_needs |= eb_detector_fit_needs(job->dets[k]);
        job->score_needs |= eb_detector_score_needs(job->dets[k]);
    }
    /* fitting learns something only for these; the others are fitted on the test rows (dims only) */
    job->need_train = (job->fit_needs & (EB_NEEDS_FEATURES | EB_NEEDS_LABELS | EB_NEEDS_AUX)) != 0;
    const char *problem = NULL;
    if (a->aux_data && !(job->fit_needs & EB_NEEDS_AUX))
        problem = "--aux-data: no listed detector uses auxiliary data (hopfield_aux does)";
    else if (!a->aux_data && (job->fit_needs & EB_NEEDS_AUX))
        problem = "--aux-data is required for hopfield_aux";
    else if (a->input_std && !(job->score_needs & EB_NEEDS_INPUTS))
        problem = "--input-std: no listed detector perturbs inputs";
    else if (a->train_data && !job->need_train)
        problem = "--train-data: no listed detector is fitted on training data";
    if (problem) {
        fprintf(stderr, "ebood eval: %s\n", problem);
        return CLI_USAGE;
    }
    if (a->input_std &&
        !cli_parse_float_list("eval", "input-std", a->input_std, job->std_values, 4096, &job->n_std))
        return CLI_USAGE;
    return 0;
}

/* The model and what its checkpoint says about its data (--data, --split-seed default to them). */
static eb_status load_model(eval_args *a, eval_job *job, eb_error *err) {
    eb_status st = eb_model_load_with_file(a->model_path, NULL, &job->model, &job->file, err);
    /* a one-output model (unsupervised EBM, flow) has no classes for a detector's labels to index */
    for (int k = 0; k < job->n_kinds && !st && eb_model_out_dim(job->model) == 1; k++)
        if (eb_detector_fit_needs(job->dets[k]) & EB_NEEDS_LABELS)
            st = eb_error_set(err, EB_ERR_ARG,
                              "--detectors: %s needs class labels, but %s has one output (a density model, "
                              "not a classifier); use energy (its log-density) or knn/hopfield",
                              eb_detector_kind_name(job->kinds[k]), a->model_path);
    if (st) return st;
    job->ckpt_data = eb_safetensors_meta(job->file, "ebood.data");
    if (!a->data) a->data = job->ckpt_data;
    if (a->split_seed < 0) {
        const char *s = eb_safetensors_meta(job->file, "ebood.split_seed");
        a->split_seed = s ? strtoll(s, NULL, 10) : 0;
    }
    if (!a->data)
        return eb_error_set(err, EB_ERR_ARG, "--data is required: %s does not name its training data",
                            a->model_path);
    job->tab = cli_tabular_plain((uint64_t)a->split_seed);
    st = cli_tabular_from_checkpoint(job->file, a->model_path, (uint64_t)a->split_seed, &job->tab, err);
    job->whole = job->tab;
    job->whole.data = NULL;
    return st;
}

/* `what` has the model's input width. */
static eb_status check_dim(const eval_job *job, const char *model_path, const eb_dataset *d, const char *what,
                           eb_error *err) {
    if (d->dim == eb_model_in_dim(job->model)) return EB_OK;
    return eb_error_set(err, EB_ERR_SHAPE, "%s: the model expects %lld features, %s has %lld", model_path,
                        (long long)eb_model_in_dim(job->model), what, (long long)d->dim);
}

/* Image data (fmnist, mnist, cifar10:DIR, cifar100:DIR; cmd_eval_images.c): ID test, training rows, OOD sets.
 */
static eb_status load_images(const eval_args *a, eval_job *job, eb_error *err) {
    cli_eval_images *img = &job->img;
    eb_status st = cli_eval_images_load(
        job->model, job->file, a->model_path, a->data, (uint64_t)a->split_seed, &a->ood_specs, a->train_data,
        job->need_train, !a->no_synthetic, a->n_synthetic, (uint64_t)a->seed, img, err);
    job->split.test = img->test;
    job->split.train = img->train;
    memset(&img->test, 0, sizeof img->test);
    memset(&img->train, 0, sizeof img->train);
    for (int i = 0; i < img->n_ood; i++) {
        if (!st) st = check_dim(job, a->model_path, &img->ood[i], img->names[i], err);
        job->ood[job->n_ood++] = row_set(img->names[i], &img->ood[i]);
    }
    if (!st && !a->input_std &&
        (job->score_needs & EB_NEEDS_INPUTS)) { /* the normalisation's std per channel */
        job->n_std = img->channels;
        memcpy(job->std_values, img->std, (size_t)job->n_std * sizeof *job->std_values);
    }
    return st;
}

/* Tabular --ood NAME=FILE sets, then the synthetic ones (uniform, gaussian, constant). */
static eb_status load_tabular_ood(const eval_args *a, eval_job *job, eb_error *err) {
    eb_status st = EB_OK;
    for (int i = 0; i < a->ood_specs.count && !st; i++) {
        const char *spec = a->ood_specs.items[i], *eq = strchr(spec, '=');
        if (job->n_ood >= MAX_SETS - EB_TABULAR_OOD_COUNT)
            return eb_error_set(err, EB_ERR_ARG, "--ood: at most %d sets", MAX_SETS - EB_TABULAR_OOD_COUNT);
        snprintf(job->names[job->n_ood], sizeof job->names[0], "%.*s", (int)(eq - spec), spec);
        eb_tabular_split one;
        bool b;
        st = cli_load_tabular(eq + 1, &job->whole, true, &one, &b, err);
        if (!st && b) st = eb_error_set(err, EB_ERR_ARG, "--ood: '%s' must be a file", eq + 1);
        if (!st) {
            eb_dataset *d = &job->extra[job->n_extra++];
            *d = one.test;
            memset(&one.test, 0, sizeof one.test);
            st = check_dim(job, a->model_path, d, eq + 1, err);
            job->ood[job->n_ood] = row_set(job->names[job->n_ood], d);
            job->n_ood++;
        }
        eb_tabular_split_free(&one);
    }
    if (!st && !a->no_synthetic) {
        st = eb_tabular_ood_nonnatural(a->n_synthetic, job->split.test.dim, (uint64_t)a->seed,
                                       &job->extra[job->n_extra], err);
        for (int i = 0; i < EB_TABULAR_OOD_COUNT && !st; i++)
            job->ood[job->n_ood++] = row_set(eb_tabular_ood_names[i], &job->extra[job->n_extra++]);
    }
    return st;
}

/* The ID test rows and the OOD sets (the built-in data's held-out split first). */
static eb_status load_sets(const eval_args *a, eval_job *job, eb_error *err) {
    job->images = cli_is_image_spec(a->data);
    eb_status st = job->images ? load_images(a, job, err)
                               : cli_load_tabular(a->data, &job->tab, true, &job->split, &job->builtin, err);
    const eb_dataset *test = &job->split.test;
    if (!st) st = check_dim(job, a->model_path, test, a->data, err);
    /* a one-output model is a scalar EBM (ebood train --objective cd): no classes to match */
    if (!st && eb_model_out_dim(job->model) > 1 && test->num_classes != eb_model_out_dim(job->model))
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: the model has %lld classes, %s has %d", a->model_path,
                          (long long)eb_model_out_dim(job->model), a->data, test->num_classes);
    /* the split's held-out OOD rows: Segment's class sky or a file's --ood-class (named after the class),
     * or the toy data's background points (uniform on the plotting box; src/data/toy2d.c), named after
     * the dataset ("cross_ood") */
    if (!st && job->builtin && job->split.ood.n > 0) {
        snprintf(job->names[job->n_ood], sizeof job->names[0], "%.47s",
                 job->split.ood_class ? job->split.ood_class : "sky");
        if (strncmp(a->data, "toy:", 4) == 0)
            snprintf(job->names[job->n_ood], sizeof job->names[0], "%.40s_ood", a->data + 4);
        job->ood[job->n_ood] = row_set(job->names[job->n_ood], &job->split.ood);
        job->n_ood++;
    }
    if (!st && !job->images) st = load_tabular_ood(a, job, err);
    if (!st && job->n_ood == 0) st = eb_error_set(err, EB_ERR_ARG, "no OOD sets: give --ood NAME=FILE");
    job->id = row_set("test", test);
    return st;
}

/* Training rows (only when some detector learns from them) and auxiliary rows. */
static eb_status load_train_aux(const eval_args *a, eval_job *job, eb_error *err) {
    const char *train_spec = a->train_data                            ? a->train_data
                             : job->builtin && job->split.train.n > 0 ? NULL
                                                                      : job->ckpt_data;
    eb_status st = EB_OK;
    if (job->need_train) {
        const eb_dataset *d = &job->split.train;
        if (!job->images && train_spec) {
            bool b;
            st = cli_load_tabular(train_spec, &job->tab, false, &job->train_split, &b, err);
            d = &job->train_split.train;
        }
        if (!st && d->n < 1)
            st = eb_error_set(err, EB_ERR_ARG, "--train-data: %s has no training rows",
                              train_spec ? train_spec : a->data);
        if (!st)
            st = check_dim(job, a->model_path, d, job->images || !train_spec ? "train" : train_spec, err);
        job->train = row_set("train", d);
    }
    if (!st && a->aux_data) {
        bool b;
        st = cli_load_tabular(a->aux_data, &job->whole, true, &job->aux_split, &b, err);
        if (!st && b) st = eb_error_set(err, EB_ERR_ARG, "--aux-data: '%s' must be a file", a->aux_data);
        if (!st) st = check_dim(job, a->model_path, &job->aux_split.test, a->aux_data, err);
        job->aux = row_set("aux", &job->aux_split.test);
    }
    return st;
}

static void keep_scores(void *ctx, int detector, int set, const float *s, int64_t n) {
    cli_report_keep(ctx, detector, set, s, n);
}

/* eb_eval_run, then the table/JSON and the page. */
static int run_eval(const eval_args *a, eval_job *job, const eb_dist *dist) {
    static eb_eval_report report;
    eb_error err = {0};
    const eb_eval_spec spec = {.model = job->model,
                               .id = &job->id,
                               .ood = job->ood,
                               .n_ood = job->n_ood,
                               .train = job->need_train ? &job->train : NULL,
                               .aux = a->aux_data ? &job->aux : NULL,
                               .detectors = job->dets,
                               .n_detectors = job->n_kinds,
                               .input_std = job->n_std ? job->std_values : NULL,
                               .n_input_std = job->n_std,
                               .batch = 1024,
                               .on_scores = a->report_path ? keep_scores : NULL,
                               .ctx = &job->kept,
                               .dist = dist};
    bool data_error = false;
    eb_status st = eb_eval_run(&spec, &report, &data_error, &err);
    for (int k = 0; k < job->n_kinds; k++)
        if (eb_detector_note(job->dets[k])[0])
            fprintf(stderr, "ebood eval: note: %s\n", eb_detector_note(job->dets[k]));
    eb_sphere_metrics sphere;
    const bool have_sphere =
        !st && job->model->head_dim > 0 && job->id.labels && eb_model_out_dim(job->model) > 1;
    if (have_sphere) st = sphere_metrics(job->model, &job->id, job->ood, job->n_ood, &sphere, &err);
    if (!st) {
        char title[600];
        snprintf(title, sizeof title, "model %s on %s (%lld ID test samples)", a->model_path, a->data,
                 (long long)job->id.n);
        st = emit(&report, have_sphere ? &sphere : NULL, a->json, a->output, title, &err);
    }
    const eb_dataset *test = &job->split.test;
    if (!st && a->report_path)
        st = cli_report_eval(a->report_path, &report, &job->kept, job->model, job->file, a->model_path,
                             a->data, test->x, test->dim == 2 ? test->n : 0, &err);
    return !st ? CLI_OK : data_error ? cli_fail_data("eval", &err) : cli_fail("eval", &err);
}

static void job_free(eval_job *job) {
    cli_report_scores_free(&job->kept);
    for (int i = 0; i < job->n_extra; i++) eb_dataset_free(&job->extra[i]);
    for (int k = 0; k < job->n_kinds; k++) eb_detector_free(job->dets[k]);
    eb_tabular_split_free(&job->split);
    eb_tabular_split_free(&job->train_split);
    eb_tabular_split_free(&job->aux_split);
    cli_tabular_free(&job->tab);
    cli_eval_images_free(&job->img);
    eb_safetensors_free(job->file);
    eb_model_free(job->model);
}

/* The flags that do not apply to score files (--id). Returns 0 or CLI_USAGE (printed). */
static int check_score_file_flags(const cli_flag *flags, int n) {
    static const char *const allowed[] = {"id", "ood", "json", "output", "report"};
    for (int i = 0; i < n; i++) {
        bool ok = !flags[i].seen;
        for (size_t j = 0; j < sizeof allowed / sizeof allowed[0] && !ok; j++)
            ok = !strcmp(flags[i].name, allowed[j]);
        if (!ok) {
            fprintf(stderr, "ebood eval: --%s does not apply to score files (--id)\n", flags[i].name);
            return CLI_USAGE;
        }
    }
    return 0;
}

static int eval_run(int argc, char **argv, const eb_dist *dist) {
    static eval_args a;
    static eval_job job;
    memset(&a, 0, sizeof a);
    memset(&job, 0, sizeof job);
    a.split_seed = -1;
    a.n_synthetic = 2000;
    cli_flag flags[64 + CLI_DETECTOR_MAX_FLAGS];
    const int n = eval_flags(&a, flags);
    int n_pos;
    const char *pos[1];
    int rc = cli_parse("eval", usage, argc, argv, 2, flags, n, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    for (int i = 0; i < a.ood_specs.count; i++)
        if (!strchr(a.ood_specs.items[i], '=') || strchr(a.ood_specs.items[i], '=') == a.ood_specs.items[i]) {
            fprintf(stderr, "ebood eval: --ood: expected NAME=FILE, got '%s'\n", a.ood_specs.items[i]);
            return CLI_USAGE;
        }
    if (eb_dist_rank(dist) > 0) a.output = a.report_path = NULL; /* rank 0 writes the files */
    if (a.id_scores) {
        rc = check_score_file_flags(flags, n);
        return rc ? rc : eval_score_files(a.id_scores, &a.ood_specs, a.json, a.output, a.report_path);
    }
    if (!a.model_path) {
        fprintf(stderr,
                "ebood eval: --model (or --id with score files) is required (see ebood eval --help)\n");
        return CLI_USAGE;
    }
    if (a.scores && a.detectors) {
        fprintf(stderr, "ebood eval: give --detectors or --scores, not both\n");
        return CLI_USAGE;
    }
    rc = make_detectors(&a, flags, n, &job);
    eb_error err = {0};
    eb_status st = EB_OK;
    if (!rc && ((st = load_model(&a, &job, &err)) || (st = load_sets(&a, &job, &err)) ||
                (st = load_train_aux(&a, &job, &err))))
        rc = cli_fail("eval", &err);
    if (!rc) rc = run_eval(&a, &job, dist);
    job_free(&job);
    return rc;
}

int cmd_eval(int argc, char **argv) { return cli_dist_run("eval", argc, argv, eval_run); }
