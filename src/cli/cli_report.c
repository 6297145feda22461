/* Report pages written by the commands (cli_report.h). */
#include "cli/cli_report.h"

#include "cli/cli_detector_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eb_report_format cli_report_format(const char *path) {
    size_t n = strlen(path);
    return n > 3 && strcmp(path + n - 3, ".md") == 0 ? EB_REPORT_MD : EB_REPORT_HTML;
}

eb_status cli_report_add_score_files(eb_html_report *r, const char *name, const char *id_path,
                                     const cli_list *ood, eb_error *err) {
    static eb_eval_report e;
    memset(&e, 0, sizeof e);
    e.id_acc = NAN;
    eb_report_scores raw;
    memset(&raw, 0, sizeof raw);
    float *s_ood[EB_EVAL_MAX_SETS] = {0};
    int64_t n_ood[EB_EVAL_MAX_SETS], cols = 0;
    char names[EB_EVAL_MAX_SETS][48];
    const char *name_ptr[EB_EVAL_MAX_SETS];
    float *s_id = NULL;
    eb_status st = ood->count <= EB_EVAL_MAX_SETS
                       ? cli_read_matrix(id_path, true, &s_id, &e.n_id, &cols, err)
                       : eb_error_set(err, EB_ERR_ARG, "--ood: at most %d sets", EB_EVAL_MAX_SETS);
    if (!st && cols != 1)
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: expected one score per row, got %lld columns", id_path,
                          (long long)cols);
    for (int i = 0; i < ood->count && !st; i++) {
        const char *spec = ood->items[i], *eq = strchr(spec, '=');
        snprintf(names[i], sizeof names[i], "%.*s", (int)(eq - spec), spec);
        name_ptr[i] = names[i];
        for (int j = 0; j < i && !st; j++)
            if (strcmp(names[j], names[i]) == 0)
                st = eb_error_set(err, EB_ERR_ARG, "--ood: the name '%s' is used twice", names[i]);
        if (!st) st = cli_read_matrix(eq + 1, true, &s_ood[i], &n_ood[i], &cols, err);
        if (!st && cols != 1)
            st = eb_error_set(err, EB_ERR_SHAPE, "%s: expected one score per row, got %lld columns", eq + 1,
                              (long long)cols);
    }
    if (!st)
        st = eb_eval_add_scores(&e, name, s_id, e.n_id, (const float *const *)s_ood, n_ood, name_ptr,
                                ood->count, err);
    raw.id = s_id;
    for (int i = 0; i < ood->count && i < EB_EVAL_MAX_SETS; i++) raw.ood[i] = s_ood[i];
    if (!st) st = eb_html_report_add_eval(r, &e, &raw, err);
    free(s_id);
    for (int i = 0; i < ood->count && i < EB_EVAL_MAX_SETS; i++) free(s_ood[i]);
    return st;
}

void cli_report_keep(cli_report_scores *k, int score, int set, const float *s, int64_t n) {
    float *c = malloc((size_t)(n > 0 ? n : 1) * sizeof *c);
    if (!c) {
        k->oom = true;
        return;
    }
    memcpy(c, s, (size_t)n * sizeof *c);
    if (set < 0)
        k->raw[score].id = c;
    else
        k->raw[score].ood[set] = c;
}

void cli_report_scores_free(cli_report_scores *k) {
    for (int i = 0; i < EB_EVAL_MAX_SCORES; i++) {
        free((void *)k->raw[i].id);
        for (int s = 0; s < EB_EVAL_MAX_SETS; s++) free((void *)k->raw[i].ood[s]);
    }
    memset(k, 0, sizeof *k);
}

void cli_points_box(const float *xy, int64_t n, double box[4]) {
    box[0] = box[2] = INFINITY;
    box[1] = box[3] = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            box[2 * a] = fmin(box[2 * a], (double)xy[2 * i + a]);
            box[2 * a + 1] = fmax(box[2 * a + 1], (double)xy[2 * i + a]);
        }
    for (int a = 0; a < 2; a++) {
        double pad = 0.1 * (box[2 * a + 1] - box[2 * a]);
        if (!(pad > 0)) pad = 1.0;
        box[2 * a] -= pad;
        box[2 * a + 1] += pad;
    }
}

eb_status cli_report_eval(const char *path, const eb_eval_report *e, const cli_report_scores *k, eb_model *m,
                          const eb_safetensors *file, const char *model_path, const char *data,
                          const float *xy, int64_t n_xy, eb_error *err) {
    eb_html_report *r = NULL;
    char title[512];
    snprintf(title, sizeof title, "ebood eval: %s on %s", model_path, data);
    eb_status st = eb_html_report_new(title, &r, err);
    if (!st) st = eb_html_report_add_provenance(r, "model", model_path, err);
    if (!st) st = eb_html_report_add_provenance(r, "model kind", eb_model_kind_name(m->kind), err);
    if (!st) st = eb_html_report_add_provenance(r, "ID test data", data, err);
    static const char *const meta_keys[] = {"ebood.train_args", "ebood.seed", "ebood.split_seed",
                                            "ebood.steps"};
    for (size_t i = 0; i < sizeof meta_keys / sizeof meta_keys[0] && !st; i++) {
        const char *v = eb_safetensors_meta(file, meta_keys[i]);
        if (v) st = eb_html_report_add_provenance(r, meta_keys[i] + 6, v, err);
    }
    if (!st && k->oom)
        st = eb_html_report_add_note(r, "out of memory keeping the raw scores: tables only, no figures", err);
    if (!st) st = eb_html_report_add_eval(r, e, k->oom ? NULL : k->raw, err);
    const char *log = eb_safetensors_meta(file, "ebood.train_log");
    if (!st && log) st = eb_html_report_add_training_log(r, log, model_path, err);
    if (!st && eb_model_in_dim(m) == 2 && n_xy > 0) {
        double box[4];
        cli_points_box(xy, n_xy, box);
        eb_landscape l;
        eb_landscape_style s = eb_landscape_default_style();
        s.points = xy;
        s.n_points = n_xy;
        s.title = "log-density f(x) with the ID test rows";
        st = eb_landscape_compute(m, box, 160, 160, &l, err);
        if (!st)
            st = eb_html_report_add_landscape(r, &l, &s,
                                              "the model's log-density f(x) = logsumexp g(x) "
                                              "with the ID test rows on top",
                                              err);
        eb_landscape_free(&l);
    }
    if (!st) st = eb_html_report_write(r, path, cli_report_format(path), err);
    eb_html_report_free(r);
    return st;
}

eb_status cli_report_suite(const char *path, const char *suite, const char *json, eb_error *err) {
    eb_html_report *r = NULL;
    char title[256];
    snprintf(title, sizeof title, "ebood bench %s", suite);
    eb_status st = eb_html_report_new(title, &r, err);
    if (!st) st = eb_html_report_add_provenance(r, "suite", suite, err);
    if (!st) st = eb_html_report_add_suite_json(r, json, title, err);
    if (!st) st = eb_html_report_write(r, path, cli_report_format(path), err);
    eb_html_report_free(r);
    return st;
}
