/* Reports a person reads (include/ebood/report.h): a list of blocks (headings, paragraphs, notes, tables,
 * figures) built section by section, written as one self-contained HTML page or as Markdown + SVG files.
 * The figures come from the plotting layer (ebood/plot.h); the numbers from eb_eval_report or a suite's
 * JSON, each table cell tagged with the JSON path of the value it shows. */
#define _POSIX_C_SOURCE 200809L
#include <ebood/report.h>

#include "eval/plot_impl.h"
#include "eval/report_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- blocks -------------------------------------------------------------------------------------- */
typedef struct cell {
    char *text;     /* shown */
    char *json;     /* data-json: the JSON path (an array) of the value shown, or NULL */
    char *json_std; /* data-json-std: the path of the ± part, or NULL */
    int mark;       /* +1 better than the paper, −1 worse, 0 neither */
} cell;

typedef enum block_kind {
    B_H2,
    B_H3,
    B_PARAGRAPH,
    B_NOTE,
    B_TABLE,
    B_FIGURE,
    B_DETAILS,
    B_END_DETAILS
} block_kind;

typedef struct block {
    block_kind kind;
    char *text; /* heading, paragraph, note, figure caption, details summary */
    char *id;   /* heading anchor, figure id */
    char *svg;  /* figure */
    int n_cols, n_cells, cap_cells;
    cell *cells; /* row-major; row 0 is the header */
} block;

struct eb_html_report {
    char *title;
    int n_prov;
    char *prov[64][2];
    block *blocks;
    int n_blocks, cap_blocks;
    int n_ids; /* for unique ids */
    bool oom;
};

static char *dupf(const char *fmt, ...) EB_PRINTF(1, 2);
static char *dupf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void free_block(block *b) {
    free(b->text);
    free(b->id);
    free(b->svg);
    for (int i = 0; i < b->n_cells; i++) {
        free(b->cells[i].text);
        free(b->cells[i].json);
        free(b->cells[i].json_std);
    }
    free(b->cells);
}

/* Drops the blocks added after the first n (a failed add_* call leaves the report as it was). */
static void truncate_blocks(eb_html_report *r, int n) {
    while (r->n_blocks > n) free_block(&r->blocks[--r->n_blocks]);
}

/* A new block at the end, taking ownership of text (may be NULL); NULL when out of memory (then r->oom). */
static block *push(eb_html_report *r, block_kind kind, char *text) {
    if (r->n_blocks == r->cap_blocks) {
        int cap = r->cap_blocks ? 2 * r->cap_blocks : 32;
        block *b = realloc(r->blocks, (size_t)cap * sizeof *b);
        if (!b) {
            free(text);
            r->oom = true;
            return NULL;
        }
        r->blocks = b;
        r->cap_blocks = cap;
    }
    block *b = &r->blocks[r->n_blocks++];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->text = text;
    if (kind != B_END_DETAILS && kind != B_TABLE && !text) r->oom = true;
    return b;
}

/* An id unique in the page: "<prefix><n>-<name with anything but [A-Za-z0-9_-] as '_'>", at most 40 chars. */
static char *new_id(eb_html_report *r, const char *prefix, const char *name) {
    char id[41];
    int n = snprintf(id, sizeof id, "%s%d-", prefix, ++r->n_ids);
    for (const char *s = name; *s && n < 40; s++, n++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_';
        id[n] = ok ? c : '_';
    }
    id[n < 40 ? n : 40] = '\0';
    char *d = dupf("%s", id);
    if (!d) r->oom = true;
    return d;
}

static void heading(eb_html_report *r, block_kind level, char *text) {
    block *b = push(r, level, text);
    if (b) b->id = new_id(r, "s", b->text ? b->text : "");
}

/* A table of n_cols columns; its header comes from the first n_cols cells added. Returns its index. */
static int table(eb_html_report *r, int n_cols) {
    block *b = push(r, B_TABLE, NULL);
    if (!b) return -1;
    b->n_cols = n_cols;
    return r->n_blocks - 1;
}

/* Appends a cell to table t (text owned; json paths copied). */
static void add_cell(eb_html_report *r, int t, char *text, const char *json, const char *json_std, int mark) {
    if (t < 0 || !text) {
        free(text);
        r->oom = true;
        return;
    }
    block *b = &r->blocks[t];
    if (b->n_cells == b->cap_cells) {
        int cap = b->cap_cells ? 2 * b->cap_cells : 64;
        cell *c = realloc(b->cells, (size_t)cap * sizeof *c);
        if (!c) {
            free(text);
            r->oom = true;
            return;
        }
        b->cells = c;
        b->cap_cells = cap;
    }
    cell *c = &b->cells[b->n_cells++];
    c->text = text;
    c->json = json ? dupf("%s", json) : NULL;
    c->json_std = json_std ? dupf("%s", json_std) : NULL;
    c->mark = mark;
    if ((json && !c->json) || (json_std && !c->json_std)) r->oom = true;
}

static void header_cells(eb_html_report *r, int t, const char *const *titles, int n) {
    for (int i = 0; i < n; i++) add_cell(r, t, dupf("%s", titles[i]), NULL, NULL, 0);
}

/* Takes the plot's SVG as a figure (and frees the plot). */
static void figure(eb_html_report *r, eb_plot *p, const char *id, char *caption) {
    block *b = push(r, B_FIGURE, caption);
    if (b) {
        b->svg = eb_plot_svg(p);
        b->id = dupf("%s", id);
        if (!b->svg || !b->id) r->oom = true;
    }
    eb_plot_free(p);
}

/* ---- JSON paths and numbers -------------------------------------------------------------------------- */
/* A JSON path as an array text: ["scores","energy","sets","sky","auroc"]; items are strings, "#3" an index.
 */
static char *json_path(int n, ...) {
    cJSON *a = cJSON_CreateArray();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *s = va_arg(ap, const char *);
        cJSON_AddItemToArray(a, s[0] == '#' ? cJSON_CreateNumber(atof(s + 1)) : cJSON_CreateString(s));
    }
    va_end(ap);
    char *text = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return text;
}

/* A fraction shown in percent with two decimals; NaN/missing as an em dash. */
static char *pct(double v) { return isfinite(v) ? dupf("%.2f", 100.0 * v) : dupf("—"); }
static char *pct_pm(double mean, double std) {
    if (!isfinite(mean)) return dupf("—");
    return isfinite(std) ? dupf("%.2f ± %.2f", 100.0 * mean, 100.0 * std) : dupf("%.2f", 100.0 * mean);
}

static double json_num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : (double)NAN;
}

/* ---- public: building ---------------------------------------------------------------------------- */
eb_status eb_html_report_new(const char *title, eb_html_report **out, eb_error *err) {
    *out = NULL;
    eb_html_report *r = calloc(1, sizeof *r);
    if (r) r->title = dupf("%s", title ? title : "ebood report");
    if (!r || !r->title) {
        free(r);
        return eb_error_set(err, EB_ERR_NOMEM, "report: out of memory");
    }
    *out = r;
    return EB_OK;
}

void eb_html_report_free(eb_html_report *r) {
    if (!r) return;
    truncate_blocks(r, 0);
    free(r->blocks);
    for (int i = 0; i < r->n_prov; i++) free(r->prov[i][0]), free(r->prov[i][1]);
    free(r->title);
    free(r);
}

static eb_status finish_add(eb_html_report *r, int n_before, eb_status st, eb_error *err) {
    if (!st && r->oom) st = eb_error_set(err, EB_ERR_NOMEM, "report: out of memory");
    if (st) {
        truncate_blocks(r, n_before);
        r->oom = false;
    }
    return st;
}

eb_status eb_html_report_add_provenance(eb_html_report *r, const char *key, const char *value,
                                        eb_error *err) {
    if (r->n_prov >= 64) return eb_error_set(err, EB_ERR_ARG, "report: at most 64 provenance rows");
    char *k = dupf("%s", key), *v = dupf("%s", value ? value : "");
    if (!k || !v) {
        free(k), free(v);
        return eb_error_set(err, EB_ERR_NOMEM, "report: out of memory");
    }
    r->prov[r->n_prov][0] = k;
    r->prov[r->n_prov++][1] = v;
    return EB_OK;
}

eb_status eb_html_report_add_note(eb_html_report *r, const char *text, eb_error *err) {
    int n0 = r->n_blocks;
    push(r, B_NOTE, dupf("%s", text));
    return finish_add(r, n0, EB_OK, err);
}

/* ---- evaluations -------------------------------------------------------------------------------------- */
/* What each column means, with the papers that use it (shared/papers/). */
static const char *const metric_help[EB__N_METRICS][2] = {
    {"FPR@95", "OOD accepted when 95 % of ID is kept (ID positive): 003, 000, 002, 001"},
    {"AUROC", "area under the ROC curve, ties ½: all five papers"},
    {"AUPR-In", "average precision, ID positive: 003, 000"},
    {"AUPR-Out", "average precision, OOD positive"},
    {"FPR@95(OOD+)", "ID rejected when 95 % of OOD is caught (OpenOOD v1.5): 004"},
    {"AUPR-In(trapz)", "trapezoidal AUPR, ID positive (OpenOOD v1.5): 004"},
    {"AUPR-Out(trapz)", "trapezoidal AUPR, OOD positive (OpenOOD v1.5): 004"},
    {"FPR95(hendrycks)", "the energy paper's code: recall closest to 95 % (may be below): 003, 000"},
    {"FPR95(HEAT)", "HEAT's code: OOD above the ID 5 % quantile, strict: 001"},
    {"EBM-paper AUPR", "the EBM paper's code: AUPR-Out on arrays truncated to equal length: 002"},
};

static void conventions_table(eb_html_report *r) {
    push(r, B_DETAILS, dupf("What the columns mean (every convention the papers use)"));
    int t = table(r, 3);
    header_cells(r, t, (const char *const[]){"column", "JSON key", "definition and papers"}, 3);
    for (int m = 0; m < EB__N_METRICS; m++) {
        add_cell(r, t, dupf("%s", metric_help[m][0]), NULL, NULL, 0);
        add_cell(r, t, dupf("%s", eb__metric_columns[m].key), NULL, NULL, 0);
        add_cell(r, t, dupf("%s", metric_help[m][1]), NULL, NULL, 0);
    }
    push(r, B_END_DETAILS, NULL);
}

static void score_range(const float *a, int64_t na, const float *b, int64_t nb, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; i < na; i++) *lo = fmin(*lo, (double)a[i]), *hi = fmax(*hi, (double)a[i]);
    for (int64_t i = 0; i < nb; i++) *lo = fmin(*lo, (double)b[i]), *hi = fmax(*hi, (double)b[i]);
    if (!(*hi - *lo > 1e-12 * fmax(1.0, fabs(*lo)))) *lo -= 0.5, *hi += 0.5;
}

/* Fraction of s[n] in each of n_bins equal bins over [lo, hi]. */
static void bin(const float *s, int64_t n, double lo, double hi, int n_bins, double *h) {
    for (int k = 0; k < n_bins; k++) h[k] = 0;
    for (int64_t i = 0; i < n; i++) {
        int k = (int)floor(((double)s[i] - lo) / (hi - lo) * n_bins);
        h[k < 0 ? 0 : k >= n_bins ? n_bins - 1 : k] += 1.0 / (double)n;
    }
}

static eb_plot *new_plot(eb_html_report *r, const char *id, double x0, double x1, double y0, double y1,
                         char *title, const char *xlabel, const char *ylabel, eb_plot_legend legend) {
    eb_plot_spec s = eb_plot_default_spec();
    s.width = 440, s.height = 300;
    s.xlim[0] = x0, s.xlim[1] = x1, s.ylim[0] = y0, s.ylim[1] = y1;
    s.title = title, s.xlabel = xlabel, s.ylabel = ylabel, s.id = id, s.legend = legend;
    eb_plot *p = NULL;
    if (!title || eb_plot_new(&s, &p, NULL)) r->oom = true;
    free(title);
    return p;
}

static void histogram_figure(eb_html_report *r, const char *score, const eb_eval_set_result *set,
                             const float *s_id, int64_t n_id, const float *s_ood) {
    enum { MAX_BINS = 40 };
    int64_t n_all = n_id + set->n_ood;
    int n_bins = (int)fmin(MAX_BINS, fmax(5, ceil(sqrt((double)n_all))));
    double lo, hi, edges[MAX_BINS + 1], h_id[MAX_BINS], h_ood[MAX_BINS], ymax = 0;
    score_range(s_id, n_id, s_ood, set->n_ood, &lo, &hi);
    for (int k = 0; k <= n_bins; k++) edges[k] = lo + (hi - lo) * k / n_bins;
    bin(s_id, n_id, lo, hi, n_bins, h_id);
    bin(s_ood, set->n_ood, lo, hi, n_bins, h_ood);
    for (int k = 0; k < n_bins; k++) ymax = fmax(ymax, fmax(h_id[k], h_ood[k]));
    double t = eb__threshold_95(s_id, n_id);
    char *id = new_id(r, "f", set->name);
    eb_plot *p =
        id ? new_plot(r, id, lo, hi, 0, ymax * 1.15, dupf("%s: ID vs %s", score, set->name),
                      "score (higher = more in-distribution)", "fraction of the set", EB_PLOT_LEGEND_TOP_LEFT)
           : NULL;
    if (p) {
        char t_label[96], ood_label[80], id_label[48];
        snprintf(t_label, sizeof t_label, "95 %% ID kept: FPR@95 = %.2f %%", 100.0 * set->metrics.fpr95_id);
        snprintf(ood_label, sizeof ood_label, "OOD: %s (%lld)", set->name, (long long)set->n_ood);
        snprintf(id_label, sizeof id_label, "ID test (%lld)", (long long)n_id);
        eb_plot_histogram(p, edges, h_id, n_bins, eb_plot_colour(0), id_label);
        eb_plot_histogram(p, edges, h_ood, n_bins, eb_plot_colour(1), ood_label);
        eb_plot_vline(p, t, "#000000", NULL, t_label);
        figure(
            r, p, id,
            dupf("%s against %s: histograms of the scores; the dashed line is the threshold that keeps 95 %% "
                 "of the ID test scores (t = %.4g); FPR@95 is the share of %s at or above it.",
                 score, set->name, t, set->name));
    }
    free(id);
}

/* The vertices of a curve thinned for drawing: a vertex is kept when it moved ≥ 1/500 in x or y. */
static int64_t thin(double *x, double *y, int64_t n) {
    int64_t m = 0;
    for (int64_t k = 0; k < n; k++)
        if (k == 0 || k == n - 1 || fabs(x[k] - x[m - 1]) >= 0.002 || fabs(y[k] - y[m - 1]) >= 0.002)
            x[m] = x[k], y[m] = y[k], m++;
    return m;
}

static eb_status curve_figures(eb_html_report *r, const eb_eval_score_result *sr, int64_t n_id,
                               const eb_report_scores *raw, eb_error *err) {
    char *roc_id = new_id(r, "f", "roc"), *pr_id = new_id(r, "f", "pr");
    eb_plot *roc = roc_id ? new_plot(r, roc_id, 0, 1, 0, 1, dupf("%s: ROC", sr->score), "FPR (OOD accepted)",
                                     "TPR (ID kept)", EB_PLOT_LEGEND_BOTTOM_RIGHT)
                          : NULL;
    eb_plot *pr = pr_id ? new_plot(r, pr_id, 0, 1, 0, 1, dupf("%s: precision-recall, ID positive", sr->score),
                                   "recall (ID kept)", "precision", EB_PLOT_LEGEND_BOTTOM_LEFT)
                        : NULL;
    eb_status st = EB_OK;
    if (roc) eb_plot_line(roc, (const double[]){0, 1}, (const double[]){0, 1}, 2, "#999999", true, "chance");
    for (int s = 0; s < sr->n_sets && !st && roc && pr; s++) {
        double *fpr, *tpr, *prec;
        int64_t n;
        st = eb__roc_curve(raw->id, n_id, raw->ood[s], sr->sets[s].n_ood, &fpr, &tpr, &prec, &n, err);
        if (st) break;
        char label[96];
        snprintf(label, sizeof label, "%s (AUROC %.2f)", sr->sets[s].name, 100.0 * sr->sets[s].metrics.auroc);
        double *recall = malloc((size_t)n * sizeof *recall);
        if (recall) memcpy(recall, tpr, (size_t)n * sizeof *recall);
        int64_t m = thin(fpr, tpr, n);
        eb_plot_line(roc, fpr, tpr, m, eb_plot_colour(s), false, label);
        snprintf(label, sizeof label, "%s (AUPR-In %.2f)", sr->sets[s].name,
                 100.0 * sr->sets[s].metrics.aupr_in);
        if (recall) { /* from vertex 1 on: vertex 0 (recall 0, precision 1) is a convention, not a point */
            m = thin(recall + 1, prec + 1, n - 1);
            eb_plot_line(pr, recall + 1, prec + 1, m, eb_plot_colour(s), false, label);
        } else {
            r->oom = true;
        }
        free(recall), free(fpr), free(tpr), free(prec);
    }
    if (!st && roc && pr) {
        figure(r, roc, roc_id,
               dupf("%s: ROC curve per OOD set (ID positive); AUROC in the legend.", sr->score));
        figure(
            r, pr, pr_id,
            dupf("%s: precision against recall with ID positive; AUPR-In (average precision) in the legend.",
                 sr->score));
        roc = pr = NULL;
    }
    eb_plot_free(roc);
    eb_plot_free(pr);
    free(roc_id), free(pr_id);
    return st;
}

static void metric_row(eb_html_report *r, int t, const char *score, const char *set,
                       const eb_eval_score_result *sr, const eb_eval_set_result *res) {
    for (int m = 0; m < EB__N_METRICS; m++) {
        double v = 0;
        char *jp;
        if (res) {
            v = eb__metric(res, m);
            jp = json_path(5, "scores", score, "sets", set, eb__metric_columns[m].key);
        } else {
            for (int i = 0; i < sr->n_sets; i++) v += eb__metric(&sr->sets[i], m);
            v /= sr->n_sets;
            jp = json_path(4, "scores", score, "mean", eb__metric_columns[m].key);
        }
        add_cell(r, t, pct(v), jp, NULL, 0);
        free(jp);
    }
}

/* True when the n ID and m OOD scores are all one value (n, m ≥ 1). */
static bool all_tied(const float *id, int64_t n, const float *ood, int64_t m) {
    for (int64_t i = 1; i < n; i++)
        if (id[i] != id[0]) return false;
    for (int64_t i = 0; i < m; i++)
        if (ood[i] != id[0]) return false;
    return n > 0 && m > 0;
}

eb_status eb_html_report_add_eval(eb_html_report *r, const eb_eval_report *e, const eb_report_scores *raw,
                                  eb_error *err) {
    int n0 = r->n_blocks;
    eb_status st = EB_OK;
    for (int k = 0; k < e->n_scores && raw && !st; k++) { /* check the raw scores before drawing anything */
        const eb_eval_score_result *sr = &e->scores[k];
        if (e->n_id < 1 || !raw[k].id)
            st = eb_error_set(err, EB_ERR_ARG, "report: %s: no ID scores", sr->score);
        for (int64_t i = 0; i < e->n_id && !st; i++)
            if (!isfinite(raw[k].id[i]))
                st = eb_error_set(err, EB_ERR_NUMERIC, "report: %s: ID score %lld is %g", sr->score,
                                  (long long)i, (double)raw[k].id[i]);
        for (int s = 0; s < sr->n_sets && !st; s++) {
            if (sr->sets[s].n_ood < 1 || !raw[k].ood[s])
                st = eb_error_set(err, EB_ERR_ARG, "report: %s: OOD set %s is empty", sr->score,
                                  sr->sets[s].name);
            for (int64_t i = 0; i < sr->sets[s].n_ood && !st; i++)
                if (!isfinite(raw[k].ood[s][i]))
                    st = eb_error_set(err, EB_ERR_NUMERIC, "report: %s: %s score %lld is %g", sr->score,
                                      sr->sets[s].name, (long long)i, (double)raw[k].ood[s][i]);
        }
    }
    if (st) return st;
    heading(r, B_H2, dupf("Evaluation"));
    int t = table(r, 2);
    header_cells(r, t, (const char *const[]){"ID test samples", "ID accuracy (%)"}, 2);
    char *jp = json_path(1, "n_id");
    add_cell(r, t, dupf("%lld", (long long)e->n_id), jp, NULL, 0);
    free(jp);
    jp = json_path(1, "id_acc");
    add_cell(r, t, pct(e->id_acc), jp, NULL, 0);
    free(jp);
    if (e->n_id < 10)
        push(r, B_NOTE,
             dupf("The ID test set has only %lld sample%s: every metric moves in steps of at least %.0f %%; "
                  "read "
                  "them as a smoke test, not a result.",
                  (long long)e->n_id, e->n_id == 1 ? "" : "s", 100.0 / (double)e->n_id));
    conventions_table(r);
    for (int k = 0; k < e->n_scores && !st; k++) {
        const eb_eval_score_result *sr = &e->scores[k];
        heading(r, B_H3, dupf("Score: %s", sr->score));
        t = table(r, 2 + EB__N_METRICS);
        add_cell(r, t, dupf("OOD set"), NULL, NULL, 0);
        add_cell(r, t, dupf("n"), NULL, NULL, 0);
        for (int m = 0; m < EB__N_METRICS; m++) add_cell(r, t, dupf("%s", metric_help[m][0]), NULL, NULL, 0);
        for (int s = 0; s < sr->n_sets; s++) {
            add_cell(r, t, dupf("%s", sr->sets[s].name), NULL, NULL, 0);
            jp = json_path(5, "scores", sr->score, "sets", sr->sets[s].name, "n");
            add_cell(r, t, dupf("%lld", (long long)sr->sets[s].n_ood), jp, NULL, 0);
            free(jp);
            metric_row(r, t, sr->score, sr->sets[s].name, sr, &sr->sets[s]);
        }
        add_cell(r, t, dupf("mean"), NULL, NULL, 0);
        add_cell(r, t, dupf(" "), NULL, NULL, 0);
        metric_row(r, t, sr->score, NULL, sr, NULL);
        for (int s = 0; s < sr->n_sets; s++)
            if (sr->sets[s].n_ood < 10)
                push(r, B_NOTE,
                     dupf("%s: the OOD set %s has only %lld sample%s: its metrics move in steps of at least "
                          "%.0f %% "
                          "and are not meaningful on their own.",
                          sr->score, sr->sets[s].name, (long long)sr->sets[s].n_ood,
                          sr->sets[s].n_ood == 1 ? "" : "s", 100.0 / (double)sr->sets[s].n_ood));
        if (!raw) continue;
        for (int s = 0; s < sr->n_sets; s++)
            if (all_tied(raw[k].id, e->n_id, raw[k].ood[s], sr->sets[s].n_ood))
                push(r, B_NOTE,
                     dupf("%s: every ID and %s score is the same value (%g): nothing separates the sets, and "
                          "each convention counts the ties its own way (so the FPR columns disagree).",
                          sr->score, sr->sets[s].name, (double)raw[k].id[0]));
        for (int s = 0; s < sr->n_sets; s++)
            histogram_figure(r, sr->score, &sr->sets[s], raw[k].id, e->n_id, raw[k].ood[s]);
        st = curve_figures(r, sr, e->n_id, &raw[k], err);
    }
    return finish_add(r, n0, st, err);
}

/* ---- suites ------------------------------------------------------------------------------------------- */
/* |ours − paper| beyond max(2 points, 2·sqrt(std_ours² + std_paper²)): +1 above, −1 below, else 0. */
static int difference_mark(double ours, double ours_std, double paper, double paper_std) {
    if (!isfinite(ours) || !isfinite(paper)) return 0;
    double so = isfinite(ours_std) ? ours_std : 0, sp = isfinite(paper_std) ? paper_std : 0;
    double d = ours - paper, tol = fmax(0.02, 2.0 * sqrt(so * so + sp * sp));
    return d > tol ? 1 : d < -tol ? -1 : 0;
}

static eb_status suite_score(eb_html_report *r, const cJSON *runs, const cJSON *score) {
    const char *name = score->string;
    heading(r, B_H3, dupf("Score: %s", name));
    static const char *const cols[] = {
        "OOD set", "n",           "FPR@95", "AUROC", "AUPR-In", "AUPR-Out", "EBM-paper AUPR (ours)",
        "paper",   "ours − paper"};
    static const int shown[] = {0, 1, 2, 3}; /* indices into eb__metric_columns */
    int t = table(r, 9);
    header_cells(r, t, cols, 9);
    const cJSON *set;
    cJSON_ArrayForEach(set, score) {
        const char *sname = set->string;
        bool is_mean = strcmp(sname, "mean") == 0;
        add_cell(r, t, dupf("%s", sname), NULL, NULL, 0);
        const cJSON *r0 = cJSON_GetArrayItem(runs, 0), *n = NULL;
        if (!is_mean) {
            const cJSON *sc =
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r0, "scores"), name);
            n = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sc, "sets"), sname), "n");
        }
        char *jp = n ? json_path(6, "runs", "#0", "scores", name, "sets", sname) : NULL;
        char *jn = jp ? json_path(7, "runs", "#0", "scores", name, "sets", sname, "n") : NULL;
        add_cell(r, t, cJSON_IsNumber(n) ? dupf("%.0f", n->valuedouble) : dupf(" "), jn, NULL, 0);
        free(jp), free(jn);
        for (int c = 0; c < 5; c++) {
            int m = c < 4 ? shown[c] : EB__N_METRICS - 1;
            const cJSON *mo = cJSON_GetObjectItemCaseSensitive(set, eb__metric_columns[m].key);
            char *jm = json_path(6, "summary", "scores", name, sname, eb__metric_columns[m].key, "mean");
            char *js = json_path(6, "summary", "scores", name, sname, eb__metric_columns[m].key, "std");
            add_cell(r, t, pct_pm(json_num(mo, "mean"), json_num(mo, "std")), jm, js, 0);
            free(jm), free(js);
        }
        const cJSON *paper = cJSON_GetObjectItemCaseSensitive(set, "paper_ebm_aupr");
        const cJSON *ours = cJSON_GetObjectItemCaseSensitive(set, eb__metric_columns[EB__N_METRICS - 1].key);
        if (paper) {
            char *jm = json_path(6, "summary", "scores", name, sname, "paper_ebm_aupr", "mean");
            char *js = json_path(6, "summary", "scores", name, sname, "paper_ebm_aupr", "std");
            double pm = json_num(paper, "mean"), ps = json_num(paper, "std"), om = json_num(ours, "mean"),
                   os = json_num(ours, "std");
            add_cell(r, t, pct_pm(pm, ps), jm, js, 0);
            free(jm), free(js);
            add_cell(r, t, isfinite(om - pm) ? dupf("%+.2f", 100.0 * (om - pm)) : dupf("—"), NULL, NULL,
                     difference_mark(om, os, pm, ps));
        } else {
            add_cell(r, t, dupf("—"), NULL, NULL, 0);
            add_cell(r, t, dupf("—"), NULL, NULL, 0);
        }
    }
    push(r, B_DETAILS, dupf("%s: every convention (mean ± std over the runs)", name));
    int t2 = table(r, 1 + EB__N_METRICS);
    add_cell(r, t2, dupf("OOD set"), NULL, NULL, 0);
    for (int m = 0; m < EB__N_METRICS; m++) add_cell(r, t2, dupf("%s", metric_help[m][0]), NULL, NULL, 0);
    cJSON_ArrayForEach(set, score) {
        add_cell(r, t2, dupf("%s", set->string), NULL, NULL, 0);
        for (int m = 0; m < EB__N_METRICS; m++) {
            const cJSON *mo = cJSON_GetObjectItemCaseSensitive(set, eb__metric_columns[m].key);
            char *jm =
                json_path(6, "summary", "scores", name, set->string, eb__metric_columns[m].key, "mean");
            char *js = json_path(6, "summary", "scores", name, set->string, eb__metric_columns[m].key, "std");
            add_cell(r, t2, pct_pm(json_num(mo, "mean"), json_num(mo, "std")), jm, js, 0);
            free(jm), free(js);
        }
    }
    push(r, B_END_DETAILS, NULL);
    return EB_OK;
}

/* One figure over all scores: AUROC mean ± std per OOD set (a dot per set, a bar for ± std), scores top down.
 */
static void suite_overview(eb_html_report *r, const cJSON *scores) {
    enum { MAX_ROWS = 64 };
    const char *names[MAX_ROWS];
    int n = 0;
    const cJSON *sc;
    cJSON_ArrayForEach(sc, scores) if (n < MAX_ROWS) names[n++] = sc->string;
    const char *rev[MAX_ROWS]; /* y = 0 at the bottom: the first score on top */
    for (int i = 0; i < n; i++) rev[i] = names[n - 1 - i];
    char *id = new_id(r, "f", "overview");
    eb_plot_spec spec = eb_plot_default_spec();
    spec.width = 640, spec.height = 160 + 24.0 * n; /* ≥ 120 px for eb_plot_new, room for the legend */
    spec.xlim[0] = 0, spec.xlim[1] = 100, spec.ylim[0] = -0.6, spec.ylim[1] = n - 0.4;
    spec.title = "AUROC per score and OOD set (mean ± std over the runs)";
    spec.xlabel = "AUROC (%)";
    spec.id = id;
    spec.legend = EB_PLOT_LEGEND_BOTTOM_LEFT;
    spec.ycats = rev, spec.n_ycats = n;
    eb_plot *p = NULL;
    if (!id || eb_plot_new(&spec, &p, NULL)) {
        r->oom = true;
        free(id);
        return;
    }
    const cJSON *first = scores->child;
    int n_sets = 0;
    const cJSON *set;
    cJSON_ArrayForEach(set, first) {
        if (strcmp(set->string, "mean") == 0) continue;
        float xy[2 * MAX_ROWS];
        int m = 0;
        double dy = 0.3 * ((double)n_sets / 3.0 - 0.5); /* sets side by side within a row */
        for (int i = 0; i < n; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(scores, names[i]),
                                                 set->string),
                "auroc");
            double mean = 100.0 * json_num(v, "mean"), std = 100.0 * json_num(v, "std"), y = n - 1 - i + dy;
            if (!isfinite(mean)) continue;
            xy[2 * m] = (float)mean, xy[2 * m + 1] = (float)y, m++;
            if (isfinite(std) && std > 0)
                eb_plot_line(p, (const double[]){mean - std, mean + std}, (const double[]){y, y}, 2,
                             eb_plot_colour(n_sets), false, NULL);
        }
        eb_plot_points(p, xy, m, 3.5, eb_plot_colour(n_sets), set->string);
        n_sets++;
    }
    figure(r, p, id,
           dupf("AUROC of every score against every OOD set, mean over the runs with ± std as a bar; 50 is "
                "chance, higher is better."));
    free(id);
}

eb_status eb_html_report_add_suite_json(eb_html_report *r, const char *json, const char *source,
                                        eb_error *err) {
    cJSON *o = cJSON_Parse(json);
    if (!o) return eb_error_set(err, EB_ERR_FORMAT, "%s: not valid JSON", source);
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive(o, "summary");
    const cJSON *scores = cJSON_GetObjectItemCaseSensitive(summary, "scores");
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(o, "runs");
    if (!cJSON_IsObject(scores) || !scores->child || !cJSON_IsArray(runs) || cJSON_GetArraySize(runs) < 1) {
        cJSON_Delete(o);
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: not a suite report (expected \"runs\" and \"summary\": {\"scores\"} as "
                            "`ebood bench NAME --json` writes)",
                            source);
    }
    const cJSON *sc;
    cJSON_ArrayForEach(sc, scores) {
        if (!cJSON_IsObject(sc) || !sc->child) {
            eb_status st =
                eb_error_set(err, EB_ERR_FORMAT, "%s: summary.scores.%s has no OOD sets", source, sc->string);
            cJSON_Delete(o);
            return st;
        }
    }
    int n0 = r->n_blocks, n_runs = cJSON_GetArraySize(runs);
    heading(r, B_H2, dupf("Suite: %s", source));
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(summary, "id_acc");
    int t = table(r, 2);
    header_cells(r, t, (const char *const[]){"runs (seeds)", "ID accuracy (%, mean ± std)"}, 2);
    add_cell(r, t, dupf("%d", n_runs), NULL, NULL, 0);
    char *jm = json_path(3, "summary", "id_acc", "mean"), *js = json_path(3, "summary", "id_acc", "std");
    add_cell(r, t, pct_pm(json_num(acc, "mean"), json_num(acc, "std")), jm, js, 0);
    free(jm), free(js);
    if (n_runs < 2)
        push(r, B_NOTE,
             dupf("One run only: the ± columns are 0 and say nothing about the spread over seeds."));
    push(r, B_PARAGRAPH,
         dupf("Percent, mean ± std over the %d runs. FPR@95: OOD accepted at 95 %% ID kept. The paper column "
              "is "
              "the EBM paper's AUPR-Out convention (002_39b8670b82235277.txt); the difference is highlighted "
              "when |ours − paper| exceeds max(2 points, 2·sqrt(std_ours² + std_paper²)): "
              "blue above the paper, orange below.",
              n_runs));
    const cJSON *ebm = cJSON_GetObjectItemCaseSensitive(o, "ebm");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(ebm, "rows");
    if (cJSON_IsObject(rows) && rows->child) {
        const cJSON *protocol = cJSON_GetObjectItemCaseSensitive(ebm, "protocol");
        push(r, B_PARAGRAPH,
             dupf("EBM rows: protocol %s; %s.", cJSON_IsString(protocol) ? protocol->valuestring : "?",
                  cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ebm, "model_selection"))
                      ? cJSON_GetObjectItemCaseSensitive(ebm, "model_selection")->valuestring
                      : "model selection not recorded"));
        t = table(r, 4);
        header_cells(r, t, (const char *const[]){"row", "steps", "paper steps", "paper protocol"}, 4);
        const cJSON *row;
        cJSON_ArrayForEach(row, rows) {
            add_cell(r, t, dupf("%s", row->string), NULL, NULL, 0);
            char *a = json_path(4, "ebm", "rows", row->string, "steps"),
                 *b = json_path(4, "ebm", "rows", row->string, "paper_steps");
            add_cell(r, t, dupf("%.0f", json_num(row, "steps")), a, NULL, 0);
            add_cell(r, t, dupf("%.0f", json_num(row, "paper_steps")), b, NULL, 0);
            free(a), free(b);
            bool paper = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "paper_protocol"));
            add_cell(r, t, dupf("%s", paper ? "yes" : "no: reduced budget"), NULL, NULL, paper ? 0 : -1);
        }
    }
    suite_overview(r, scores);
    cJSON_ArrayForEach(sc, scores) suite_score(r, runs, sc);
    cJSON_Delete(o);
    return finish_add(r, n0, EB_OK, err);
}

/* ---- training logs --------------------------------------------------------------------------------------
 */
eb_status eb_html_report_add_training_log(eb_html_report *r, const char *json, const char *source,
                                          eb_error *err) {
    cJSON *o = cJSON_Parse(json);
    int n = cJSON_IsArray(o) ? cJSON_GetArraySize(o) : 0;
    if (n < 1) {
        cJSON_Delete(o);
        return eb_error_set(err, EB_ERR_FORMAT, "%s: the training log is not a non-empty JSON array", source);
    }
    static const char *const keys[3] = {"loss", "accuracy", "lr"};
    static const char *const titles[3] = {"training loss", "training accuracy", "learning rate"};
    double *v = malloc(sizeof(double) * 4 * (size_t)n), *epoch = v;
    if (!v) {
        cJSON_Delete(o);
        return eb_error_set(err, EB_ERR_NOMEM, "report: out of memory");
    }
    eb_status st = EB_OK;
    for (int i = 0; i < n && !st; i++) {
        const cJSON *e = cJSON_GetArrayItem(o, i);
        epoch[i] = json_num(e, "epoch");
        for (int k = 0; k < 3; k++) v[(size_t)(k + 1) * (size_t)n + (size_t)i] = json_num(e, keys[k]);
        if (!isfinite(epoch[i]) || !isfinite(v[(size_t)n + (size_t)i]))
            st = eb_error_set(err, EB_ERR_FORMAT,
                              "%s: training log entry %d needs numbers \"epoch\" and \"loss\"", source, i);
    }
    int n0 = r->n_blocks;
    if (!st) heading(r, B_H2, dupf("Training"));
    for (int k = 0; k < 3 && !st; k++) {
        const double *y = v + (size_t)(k + 1) * (size_t)n;
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < n; i++)
            if (isfinite(y[i])) lo = fmin(lo, y[i]), hi = fmax(hi, y[i]);
        if (!isfinite(lo)) continue; /* not recorded */
        double pad = hi > lo ? 0.05 * (hi - lo) : fmax(0.5 * fabs(lo), 0.5);
        double x0 = epoch[0], x1 = epoch[n - 1];
        if (!(x1 > x0)) x0 -= 0.5, x1 += 0.5;
        char *id = new_id(r, "f", keys[k]);
        eb_plot *p = id ? new_plot(r, id, x0, x1, lo - pad, hi + pad, dupf("%s per epoch", titles[k]),
                                   "epoch", keys[k], EB_PLOT_LEGEND_NONE)
                        : NULL;
        if (p) {
            eb_plot_line(p, epoch, y, n, eb_plot_colour(k), false, NULL);
            figure(r, p, id, dupf("%s at the end of each epoch (%s).", titles[k], source));
        }
        free(id);
    }
    free(v);
    cJSON_Delete(o);
    return finish_add(r, n0, st, err);
}

/* ---- landscapes ---------------------------------------------------------------------------------------- */
eb_status eb_html_report_add_landscape(eb_html_report *r, const eb_landscape *l, const eb_landscape_style *s,
                                       const char *caption, eb_error *err) {
    int n0 = r->n_blocks;
    char *id = new_id(r, "f", "landscape");
    eb_plot *p = NULL;
    eb_status st =
        id ? eb__landscape_plot(l, s, id, &p, err) : eb_error_set(err, EB_ERR_NOMEM, "report: out of memory");
    if (!st) {
        heading(r, B_H2, dupf("Landscape"));
        figure(r, p, id, dupf("%s", caption ? caption : "the model's landscape with the data on top"));
    }
    free(id);
    return finish_add(r, n0, st, err);
}

/* ---- writing ------------------------------------------------------------------------------------------ */
static const char css[] =
    "body{font-family:sans-serif;color:#222;max-width:1180px;margin:1.5em auto;padding:0 1em;line-height:1.4}"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}"
    "p.meta{color:#666;margin-top:0}"
    "table{border-collapse:collapse;font-size:13px;margin:.6em 0}"
    "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f2f2f2}"
    "td:first-child,th:first-child{text-align:left}"
    "table.provenance td{text-align:left;max-width:900px;overflow-wrap:anywhere}"
    "td.better{background:#cfe3f5}td.worse{background:#fbd9b8;font-weight:bold}"
    "div.note{border-left:5px solid #E69F00;background:#fff5e0;padding:.5em 1em;margin:.6em 0}"
    "figure{display:inline-block;margin:6px 10px 6px 0;vertical-align:top}"
    "figcaption{font-size:12px;color:#555;max-width:440px}"
    "nav.toc{font-size:14px}details{margin:.4em 0}summary{cursor:pointer;color:#0072B2}";

static void now_utc(char *out, size_t size) {
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(out, size, "%Y-%m-%d %H:%M UTC", &tm);
    else
        snprintf(out, size, "unknown date");
}

static void html_cell(eb__buf *b, const cell *c, bool header) {
    eb__buf_str(b, header ? "<th" : "<td");
    if (c->mark) eb__buf_str(b, c->mark > 0 ? " class=\"better\"" : " class=\"worse\"");
    if (c->json) {
        eb__buf_str(b, " data-json=\"");
        eb__buf_escaped(b, c->json);
        eb__buf_str(b, "\"");
    }
    if (c->json_std) {
        eb__buf_str(b, " data-json-std=\"");
        eb__buf_escaped(b, c->json_std);
        eb__buf_str(b, "\"");
    }
    eb__buf_str(b, ">");
    eb__buf_escaped(b, c->text);
    eb__buf_str(b, header ? "</th>" : "</td>");
}

static void html_table(eb__buf *b, const block *t) {
    eb__buf_str(b, "<table class=\"metrics\">\n");
    for (int i = 0; i < t->n_cells; i += t->n_cols) {
        eb__buf_str(b, "<tr>");
        for (int j = i; j < i + t->n_cols && j < t->n_cells; j++) html_cell(b, &t->cells[j], i == 0);
        eb__buf_str(b, "</tr>\n");
    }
    eb__buf_str(b, "</table>\n");
}

static char *render_html(const eb_html_report *r) {
    eb__buf b = {0};
    char date[64];
    now_utc(date, sizeof date);
    eb__buf_str(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    eb__buf_escaped(&b, r->title);
    eb__buf_printf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
    eb__buf_escaped(&b, r->title);
    eb__buf_printf(&b, "</h1>\n<p class=\"meta\">ebood %s · %s</p>\n", EB_VERSION_STRING, date);
    eb__buf_str(&b, "<nav class=\"toc\">Contents: <a href=\"#provenance\">Provenance</a>");
    for (int i = 0; i < r->n_blocks; i++)
        if (r->blocks[i].kind == B_H2) {
            eb__buf_str(&b, " · <a href=\"#");
            eb__buf_escaped(&b, r->blocks[i].id);
            eb__buf_str(&b, "\">");
            eb__buf_escaped(&b, r->blocks[i].text);
            eb__buf_str(&b, "</a>");
        }
    eb__buf_str(&b, "</nav>\n<h2 id=\"provenance\">Provenance</h2>\n<table class=\"provenance\">\n");
    for (int i = 0; i < r->n_prov; i++) {
        eb__buf_str(&b, "<tr><th>");
        eb__buf_escaped(&b, r->prov[i][0]);
        eb__buf_str(&b, "</th><td>");
        eb__buf_escaped(&b, r->prov[i][1]);
        eb__buf_str(&b, "</td></tr>\n");
    }
    eb__buf_printf(&b, "<tr><th>ebood</th><td>%s</td></tr>\n<tr><th>date</th><td>%s</td></tr>\n</table>\n",
                   EB_VERSION_STRING, date);
    for (int i = 0; i < r->n_blocks; i++) {
        const block *k = &r->blocks[i];
        switch (k->kind) {
        case B_H2:
        case B_H3:
            eb__buf_printf(&b, "<%s id=\"", k->kind == B_H2 ? "h2" : "h3");
            eb__buf_escaped(&b, k->id);
            eb__buf_str(&b, "\">");
            eb__buf_escaped(&b, k->text);
            eb__buf_str(&b, k->kind == B_H2 ? "</h2>\n" : "</h3>\n");
            break;
        case B_PARAGRAPH:
        case B_NOTE:
            eb__buf_str(&b, k->kind == B_NOTE ? "<div class=\"note\"><b>Note:</b> " : "<p>");
            eb__buf_escaped(&b, k->text);
            eb__buf_str(&b, k->kind == B_NOTE ? "</div>\n" : "</p>\n");
            break;
        case B_TABLE: html_table(&b, k); break;
        case B_FIGURE:
            eb__buf_str(&b, "<figure id=\"");
            eb__buf_escaped(&b, k->id);
            eb__buf_str(&b, "-figure\">\n");
            eb__buf_str(&b, k->svg);
            eb__buf_str(&b, "<figcaption>");
            eb__buf_escaped(&b, k->text);
            eb__buf_str(&b, "</figcaption></figure>\n");
            break;
        case B_DETAILS:
            eb__buf_str(&b, "<details><summary>");
            eb__buf_escaped(&b, k->text);
            eb__buf_str(&b, "</summary>\n");
            break;
        case B_END_DETAILS: eb__buf_str(&b, "</details>\n"); break;
        }
    }
    eb__buf_str(&b, "</body>\n</html>\n");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* Markdown: a table cell's text with '|' escaped. */
static void md_text(eb__buf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '|') eb__buf_str(b, "\\");
        if (*s == '\n') {
            eb__buf_str(b, " ");
            continue;
        }
        eb__buf_put(b, s, 1);
    }
}

/* The figure file of block k beside the Markdown file: "<stem>-<id>.svg". */
static char *figure_path(const char *md_path, const block *k) {
    size_t n = strlen(md_path);
    const char *dot = strrchr(md_path, '.'), *slash = strrchr(md_path, '/');
    if (dot && (!slash || dot > slash)) n = (size_t)(dot - md_path);
    return dupf("%.*s-%s.svg", (int)n, md_path, k->id);
}

static char *render_md(const eb_html_report *r, const char *md_path) {
    eb__buf b = {0};
    char date[64];
    now_utc(date, sizeof date);
    eb__buf_printf(&b, "# %s\n\nebood %s · %s\n\n## Provenance\n\n| | |\n|---|---|\n", r->title,
                   EB_VERSION_STRING, date);
    for (int i = 0; i < r->n_prov; i++) {
        eb__buf_str(&b, "| ");
        md_text(&b, r->prov[i][0]);
        eb__buf_str(&b, " | ");
        md_text(&b, r->prov[i][1]);
        eb__buf_str(&b, " |\n");
    }
    for (int i = 0; i < r->n_blocks; i++) {
        const block *k = &r->blocks[i];
        switch (k->kind) {
        case B_H2:
        case B_H3: eb__buf_printf(&b, "\n%s %s\n\n", k->kind == B_H2 ? "##" : "###", k->text); break;
        case B_PARAGRAPH: eb__buf_printf(&b, "%s\n\n", k->text); break;
        case B_NOTE: eb__buf_printf(&b, "> **Note:** %s\n\n", k->text); break;
        case B_TABLE:
            for (int c = 0; c < k->n_cells; c += k->n_cols) {
                eb__buf_str(&b, "|");
                for (int j = c; j < c + k->n_cols && j < k->n_cells; j++) {
                    eb__buf_str(&b, " ");
                    if (k->cells[j].mark) eb__buf_str(&b, k->cells[j].mark > 0 ? "**▲ " : "**▼ ");
                    md_text(&b, k->cells[j].text);
                    if (k->cells[j].mark) eb__buf_str(&b, "**");
                    eb__buf_str(&b, " |");
                }
                eb__buf_str(&b, "\n");
                if (c == 0) {
                    eb__buf_str(&b, "|");
                    for (int j = 0; j < k->n_cols; j++) eb__buf_str(&b, j == 0 ? ":---|" : "---:|");
                    eb__buf_str(&b, "\n");
                }
            }
            eb__buf_str(&b, "\n");
            break;
        case B_FIGURE: {
            char *fp = figure_path(md_path, k);
            const char *base = fp ? strrchr(fp, '/') : NULL;
            eb__buf_printf(&b, "![%s](%s)\n\n*%s*\n\n", k->id, fp ? (base ? base + 1 : fp) : "", k->text);
            if (!fp) b.oom = true;
            free(fp);
            break;
        }
        case B_DETAILS: eb__buf_printf(&b, "<details><summary>%s</summary>\n\n", k->text); break;
        case B_END_DETAILS: eb__buf_str(&b, "</details>\n\n"); break;
        }
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static eb_status write_text(const char *path, const char *text, eb_error *err) {
    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (st) return st;
    if (fputs(text, af.fp) < 0 || ferror(af.fp)) {
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    }
    return eb_atomic_commit(&af, err);
}

eb_status eb_html_report_write(const eb_html_report *r, const char *path, eb_report_format format,
                               eb_error *err) {
    if (format != EB_REPORT_HTML && format != EB_REPORT_MD)
        return eb_error_set(err, EB_ERR_ARG, "report: unknown format %d", (int)format);
    char *text = format == EB_REPORT_HTML ? render_html(r) : render_md(r, path);
    if (!text) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory rendering the report", path);
    eb_status st = EB_OK;
    int written = 0; /* Markdown: the figure files first; on failure they are removed again */
    for (int i = 0; i < r->n_blocks && format == EB_REPORT_MD && !st; i++) {
        if (r->blocks[i].kind != B_FIGURE) continue;
        char *fp = figure_path(path, &r->blocks[i]);
        char *svg = fp ? dupf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n%s", r->blocks[i].svg) : NULL;
        st = svg ? write_text(fp, svg, err) : eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
        if (!st) written = i + 1;
        free(fp), free(svg);
    }
    if (!st) st = write_text(path, text, err);
    for (int i = 0; i < written && st; i++)
        if (r->blocks[i].kind == B_FIGURE) {
            char *fp = figure_path(path, &r->blocks[i]);
            if (fp) unlink(fp);
            free(fp);
        }
    free(text);
    return st;
}
