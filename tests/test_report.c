/* Reports (src/eval/report_html.c, roc_curve.c): the ROC / PR vertices and the 95 % threshold against
 * scikit-learn (tests/fixtures/report/curves.json, scripts/make_report_fixture.py) and against our own
 * metrics; the page's tables (every cell tagged with the JSON path of its value), figures, notes, bad input
 * (NaN, empty sets, malformed suite JSON, training logs), Markdown output and atomic writes. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/report_impl.h"
#include <cjson/cJSON.h>

#include "test_util.h"
#include "xml_check.h"

static float *floats(const cJSON *a, int64_t *n) {
    *n = cJSON_GetArraySize(a);
    float *v = malloc((size_t)*n * sizeof *v);
    for (int64_t i = 0; i < *n; i++) v[i] = (float)cJSON_GetArrayItem(a, (int)i)->valuedouble;
    return v;
}

static double at(const cJSON *c, const char *key, int64_t i) {
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, key), (int)i)->valuedouble;
}

Test(report, curves_match_sklearn) {
    char path[4096];
    char *text = NULL;
    size_t len;
    cr_assert_eq(
        eb_file_read_all(eb_fixture_path(path, sizeof path, "report/curves.json"), &text, &len, NULL), EB_OK);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(doc);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        int64_t n_id, n_ood;
        float *s_id = floats(cJSON_GetObjectItemCaseSensitive(c, "id"), &n_id);
        float *s_ood = floats(cJSON_GetObjectItemCaseSensitive(c, "ood"), &n_ood);
        double *fpr, *tpr, *prec;
        int64_t n;
        eb_error err = {0};
        cr_assert_eq(eb__roc_curve(s_id, n_id, s_ood, n_ood, &fpr, &tpr, &prec, &n, &err), EB_OK, "%s",
                     err.message);
        int64_t n_ref = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "fpr"));
        cr_assert_eq(n, n_ref, "%s: %lld vertices, sklearn %lld", name, (long long)n, (long long)n_ref);
        double max_diff = 0;
        for (int64_t k = 0; k < n; k++) {
            max_diff = fmax(max_diff, fabs(fpr[k] - at(c, "fpr", k)));
            max_diff = fmax(max_diff, fabs(tpr[k] - at(c, "tpr", k)));
        }
        /* sklearn's PR curve stops at full recall: vertex k of it is our vertex k + 1 */
        int64_t n_pr = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "recall"));
        cr_assert(n_pr >= 1 && n_pr <= n - 1, "%s: %lld PR points", name, (long long)n_pr);
        for (int64_t k = 0; k < n_pr; k++) {
            max_diff = fmax(max_diff, fabs(tpr[k + 1] - at(c, "recall", k)));
            max_diff = fmax(max_diff, fabs(prec[k + 1] - at(c, "precision", k)));
        }
        printf("report curves %s: %lld vertices, max |diff| vs sklearn %.3g\n", name, (long long)n, max_diff);
        cr_assert(max_diff < 1e-12, "%s: max diff %g", name, max_diff);

        /* the curves agree with the metrics: trapezoid area = AUROC, step sum = AUPR-In */
        eb_ood_metrics m;
        cr_assert_eq(eb_ood_metrics_compute(s_id, n_id, s_ood, n_ood, &m, &err), EB_OK);
        double area = 0, ap = 0;
        for (int64_t k = 1; k < n; k++) {
            area += (fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2;
            ap += (tpr[k] - tpr[k - 1]) * prec[k];
        }
        cr_assert(fabs(area - m.auroc) < 1e-12, "%s: area %.15g, auroc %.15g", name, area, m.auroc);
        cr_assert(fabs(ap - m.aupr_in) < 1e-12, "%s: AP %.15g, aupr_in %.15g", name, ap, m.aupr_in);

        /* the threshold of the histograms: sklearn's, and the OOD share above it is fpr95_id */
        double t = eb__threshold_95(s_id, n_id);
        double t_ref = cJSON_GetObjectItemCaseSensitive(c, "threshold95")->valuedouble;
        cr_assert_eq(t, t_ref, "%s: threshold %.9g, sklearn %.9g", name, t, t_ref);
        int64_t above = 0;
        for (int64_t j = 0; j < n_ood; j++) above += (double)s_ood[j] >= t;
        cr_assert(fabs((double)above / (double)n_ood - m.fpr95_id) < 1e-15, "%s: FPR at t vs fpr95_id", name);
        free(fpr), free(tpr), free(prec), free(s_id), free(s_ood);
    }
    cJSON_Delete(doc);
}

Test(report, curve_bad_input) {
    float good[2] = {1, 2}, bad[2] = {1, NAN};
    double *a, *b, *c;
    int64_t n;
    eb_error err = {0};
    cr_assert_eq(eb__roc_curve(good, 0, good, 2, &a, &b, &c, &n, &err), EB_ERR_ARG);
    cr_assert_eq(eb__roc_curve(good, 2, bad, 2, &a, &b, &c, &n, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "OOD scores[1]"), "%s", err.message);
    cr_assert_null(a);
}

/* ---- pages ------------------------------------------------------------------------------------------- */
static char *read_text(const char *path) {
    char *text = NULL;
    size_t len;
    cr_assert_eq(eb_file_read_all(path, &text, &len, NULL), EB_OK, "read %s", path);
    return text;
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *q = text; (q = strstr(q, needle)); q++) n++;
    return n;
}

/* Every inline <svg>…</svg> of a page is well-formed; returns how many there are. */
static int check_svgs(const char *html) {
    int n = 0;
    for (const char *p = html; (p = strstr(p, "<svg ")); n++) {
        const char *end = strstr(p, "</svg>");
        cr_assert_not_null(end);
        size_t len = (size_t)(end - p) + 6;
        char *svg = malloc(len + 1);
        memcpy(svg, p, len);
        svg[len] = '\0';
        check_xml(svg);
        free(svg);
        p = end;
    }
    return n;
}

/* Two Gaussians: ID around 2, "far" around −1 (300 samples), "tiny" with 3 samples. */
typedef struct scores_fixture {
    float id[400], far[300], tiny[3];
    eb_eval_report e;
    eb_report_scores raw;
} scores_fixture;

static void make_scores(scores_fixture *f) {
    eb_rng rng;
    eb_rng_seed(&rng, 14);
    for (int i = 0; i < 400; i++) f->id[i] = (float)(2.0 + eb_rng_normal(&rng));
    for (int i = 0; i < 300; i++) f->far[i] = (float)(-1.0 + eb_rng_normal(&rng));
    f->tiny[0] = 0.5f, f->tiny[1] = 1.5f, f->tiny[2] = 2.5f;
    memset(&f->e, 0, sizeof f->e);
    f->e.id_acc = 0.875;
    f->e.n_id = 400;
    const float *ood[2] = {f->far, f->tiny};
    const int64_t n_ood[2] = {300, 3};
    const char *names[2] = {"far", "tiny"};
    eb_error err = {0};
    cr_assert_eq(eb_eval_add_scores(&f->e, "energy", f->id, 400, ood, n_ood, names, 2, &err), EB_OK, "%s",
                 err.message);
    memset(&f->raw, 0, sizeof f->raw);
    f->raw.id = f->id;
    f->raw.ood[0] = f->far;
    f->raw.ood[1] = f->tiny;
}

Test(report, eval_page) {
    static scores_fixture f;
    make_scores(&f);
    eb_html_report *r = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_html_report_new("test <report>", &r, &err), EB_OK);
    cr_assert_eq(eb_html_report_add_provenance(r, "model", "m & n.st", &err), EB_OK);
    cr_assert_eq(eb_html_report_add_eval(r, &f.e, &f.raw, &err), EB_OK, "%s", err.message);
    char path[4096];
    eb_test_path(path, sizeof path, "report.html");
    cr_assert_eq(eb_html_report_write(r, path, EB_REPORT_HTML, &err), EB_OK, "%s", err.message);
    char *html = read_text(path);
    cr_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    cr_assert(strstr(html, "<title>test &lt;report&gt;</title>"), "escaped title");
    cr_assert(strstr(html, "<td>m &amp; n.st</td>"), "provenance escaped");
    cr_assert(strstr(html, "<th>ebood</th><td>" EB_VERSION_STRING "</td>"), "version in provenance");
    /* 2 histograms + ROC + PR, each a well-formed SVG in a figure */
    cr_assert_eq(check_svgs(html), 4);
    cr_assert_eq(count(html, "<figure id="), 4);
    /* every metric cell of both sets and the mean row, tagged with its eb_report_json path */
    char cell[256];
    snprintf(cell, sizeof cell,
             "data-json=\"[&quot;scores&quot;,&quot;energy&quot;,&quot;sets&quot;,&quot;far&quot;,"
             "&quot;auroc&quot;]\">%.2f</td>",
             100.0 * f.e.scores[0].sets[0].metrics.auroc);
    cr_assert(strstr(html, cell), "AUROC cell of far: %s", cell);
    cr_assert_eq(
        count(html, "data-json=\"[&quot;scores&quot;,&quot;energy&quot;,&quot;sets&quot;,&quot;far&quot;"),
        EB__N_METRICS + 1, "n + every metric of far");
    cr_assert_eq(count(html, "&quot;mean&quot;"), EB__N_METRICS, "the mean row");
    cr_assert(strstr(html, "data-json=\"[&quot;id_acc&quot;]\">87.50</td>"), "ID accuracy");
    /* the 3-sample set gets a visible note; the 400-sample ID set does not */
    cr_assert(strstr(html, "<div class=\"note\"><b>Note:</b> energy: the OOD set tiny has only 3 samples"));
    cr_assert_eq(count(html, "class=\"note\""), 1);
    cr_assert(strstr(html, "FPR@95 = "), "threshold annotated");
    cr_assert(!strstr(html, "<script") && !strstr(html, "<link") && !strstr(html, "src=\"http"),
              "no script or external resource");
    free(html);

    /* Markdown: the page and one SVG per figure beside it */
    char md[4096];
    eb_test_path(md, sizeof md, "report");
    strcat(md, ".md");
    cr_assert_eq(eb_html_report_write(r, md, EB_REPORT_MD, &err), EB_OK, "%s", err.message);
    char *text = read_text(md);
    cr_assert(strstr(text, "| far | 300 |"), "set row");
    int figs = 0;
    for (const char *q = text; (q = strstr(q, "](")); q++) {
        char svg[4096];
        const char *end = strchr(q, ')'), *slash = strrchr(md, '/');
        snprintf(svg, sizeof svg, "%.*s/%.*s", (int)(slash - md), md, (int)(end - q - 2), q + 2);
        char *s = read_text(svg);
        cr_assert(strncmp(s, "<?xml", 5) == 0);
        check_xml(s);
        free(s);
        remove(svg);
        figs++;
    }
    cr_assert_eq(figs, 4);
    free(text);
    remove(md);
    remove(path);
    /* a failed write leaves nothing behind */
    cr_assert_eq(eb_html_report_write(r, "/nonexistent-dir/r.md", EB_REPORT_MD, &err), EB_ERR_IO);
    cr_assert_eq(eb_html_report_write(r, "/nonexistent-dir/r.html", EB_REPORT_HTML, &err), EB_ERR_IO);
    eb_html_report_free(r);
}

Test(report, bad_scores_leave_the_report_unchanged) {
    static scores_fixture f;
    make_scores(&f);
    eb_html_report *r = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_html_report_new(NULL, &r, &err), EB_OK);
    f.far[7] = NAN;
    cr_assert_eq(eb_html_report_add_eval(r, &f.e, &f.raw, &err), EB_ERR_NUMERIC);
    cr_assert(strstr(err.message, "far score 7 is nan"), "%s", err.message);
    f.far[7] = 0;
    f.raw.ood[1] = NULL;
    cr_assert_eq(eb_html_report_add_eval(r, &f.e, &f.raw, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, "tiny is empty"), "%s", err.message);
    char path[4096];
    eb_test_path(path, sizeof path, "report-empty.html");
    cr_assert_eq(eb_html_report_write(r, path, EB_REPORT_HTML, &err), EB_OK);
    char *html = read_text(path);
    cr_assert(!strstr(html, "Evaluation"), "nothing was added");
    free(html);
    remove(path);
    eb_html_report_free(r);
}

/* A suite JSON from eb_report_runs_json: two runs, paper values for two cells. */
static char *suite_json(void) {
    static eb_eval_report runs[2];
    static scores_fixture f;
    make_scores(&f);
    runs[0] = f.e;
    runs[1] = f.e;
    runs[1].scores[0].sets[0].ebm_paper_aupr -= 0.01;
    static const eb_paper_value paper[1] = {{"energy", "far", 50.0, 1.0}};
    return eb_report_runs_json(runs, 2, paper, 1);
}

Test(report, suite_page) {
    char *json = suite_json();
    cJSON *doc = cJSON_Parse(json);
    double ours = cJSON_GetObjectItemCaseSensitive(
                      cJSON_GetObjectItemCaseSensitive(
                          cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(
                                      cJSON_GetObjectItemCaseSensitive(doc, "summary"), "scores"),
                                  "energy"),
                              "far"),
                          "ebm_paper_aupr"),
                      "mean")
                      ->valuedouble;
    cJSON_Delete(doc);
    eb_html_report *r = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_html_report_new("suite", &r, &err), EB_OK);
    cr_assert_eq(eb_html_report_add_suite_json(r, json, "s.json", &err), EB_OK, "%s", err.message);
    char path[4096];
    eb_test_path(path, sizeof path, "suite.html");
    cr_assert_eq(eb_html_report_write(r, path, EB_REPORT_HTML, &err), EB_OK);
    char *html = read_text(path);
    /* ours ≈ 97 % against the paper's 50 ± 1: far beyond the noise, highlighted as better */
    char cell[128];
    snprintf(cell, sizeof cell, "<td class=\"better\">%+.2f</td>", 100.0 * ours - 50.0);
    cr_assert(strstr(html, cell), "difference cell %s", cell);
    cr_assert(strstr(html,
                     "data-json=\"[&quot;summary&quot;,&quot;scores&quot;,&quot;energy&quot;,&quot;far&quot;,"
                     "&quot;paper_ebm_aupr&quot;,&quot;mean&quot;]\""),
              "paper cell tagged");
    cr_assert(strstr(html, "data-json-std="), "± cells tagged with their std path");
    cr_assert(strstr(html, "<td>2</td>"), "two runs");
    cr_assert_eq(check_svgs(html), 1, "the AUROC overview");
    cr_assert(strstr(html, ">energy</text>"), "the overview's rows are the scores");
    free(html);
    remove(path);
    /* not a suite */
    cr_assert_eq(eb_html_report_add_suite_json(r, "{\"runs\": []}", "x.json", &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "x.json: not a suite report"), "%s", err.message);
    cr_assert_eq(eb_html_report_add_suite_json(r, "{not json", "y.json", &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "y.json: not valid JSON"), "%s", err.message);
    cr_assert_eq(eb_html_report_add_suite_json(r, "{\"runs\": [{}], \"summary\": {\"scores\": {\"e\": {}}}}",
                                               "z.json", &err),
                 EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "z.json: summary.scores.e has no OOD sets"), "%s", err.message);
    free(json);
    eb_html_report_free(r);
}

Test(report, training_log) {
    eb_html_report *r = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_html_report_new("train", &r, &err), EB_OK);
    const char *log = "[{\"epoch\":1,\"loss\":2.0,\"accuracy\":0.5,\"lr\":0.1},"
                      "{\"epoch\":2,\"loss\":1.0,\"accuracy\":0.7,\"lr\":0.05},"
                      "{\"epoch\":3,\"loss\":0.5,\"accuracy\":0.8,\"lr\":0.01}]";
    cr_assert_eq(eb_html_report_add_training_log(r, log, "log.json", &err), EB_OK, "%s", err.message);
    /* no accuracy recorded: only loss and lr are drawn */
    cr_assert_eq(
        eb_html_report_add_training_log(r, "[{\"epoch\":1,\"loss\":3},{\"epoch\":2,\"loss\":2}]", "b", &err),
        EB_OK);
    cr_assert_eq(eb_html_report_add_training_log(r, "[]", "c.json", &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "c.json"), "%s", err.message);
    cr_assert_eq(eb_html_report_add_training_log(r, "[{\"epoch\":1}]", "d.json", &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, "needs numbers"), "%s", err.message);
    char path[4096];
    eb_test_path(path, sizeof path, "train.html");
    cr_assert_eq(eb_html_report_write(r, path, EB_REPORT_HTML, &err), EB_OK);
    char *html = read_text(path);
    cr_assert_eq(check_svgs(html), 4, "loss, accuracy, lr + the second log's loss");
    cr_assert(strstr(html, "training loss per epoch") && strstr(html, "learning rate per epoch"));
    free(html);
    remove(path);
    eb_html_report_free(r);
}
