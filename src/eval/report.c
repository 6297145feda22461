/* Reports: tables (percent) for people, JSON (fractions) for machines, single runs and seed sweeps. */
#include "eval/report_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* Every metric of a set, in report order; the first four are the table's columns. */
const eb__metric_column eb__metric_columns[EB__N_METRICS] = {
    {"fpr95_id", "FPR@95", offsetof(eb_eval_set_result, metrics.fpr95_id)},
    {"auroc", "AUROC", offsetof(eb_eval_set_result, metrics.auroc)},
    {"aupr_in", "AUPR-In", offsetof(eb_eval_set_result, metrics.aupr_in)},
    {"aupr_out", "AUPR-Out", offsetof(eb_eval_set_result, metrics.aupr_out)},
    {"fpr95_ood", "FPR@95(OOD+)", offsetof(eb_eval_set_result, metrics.fpr95_ood)},
    {"aupr_in_trapz", "AUPR-In(trapz)", offsetof(eb_eval_set_result, metrics.aupr_in_trapz)},
    {"aupr_out_trapz", "AUPR-Out(trapz)", offsetof(eb_eval_set_result, metrics.aupr_out_trapz)},
    {"fpr95_hendrycks", "FPR95(hendrycks)", offsetof(eb_eval_set_result, metrics.fpr95_hendrycks)},
    {"fpr95_heat", "FPR95(HEAT)", offsetof(eb_eval_set_result, metrics.fpr95_heat)},
    {"ebm_paper_aupr", "EBM-paper AUPR", offsetof(eb_eval_set_result, ebm_paper_aupr)},
};
enum { N_METRICS = EB__N_METRICS, N_TABLE_COLUMNS = 4 };
#define EBM_PAPER_COLUMN (N_METRICS - 1)

double eb__metric(const eb_eval_set_result *r, int m) {
    return *(const double *)((const char *)r + eb__metric_columns[m].offset);
}

/* Mean of metric m over the OOD sets of one score (DESIGN.md §7: the mean of per-set metrics). */
static double mean_over_sets(const eb_eval_score_result *s, int m) {
    double sum = 0.0;
    for (int i = 0; i < s->n_sets; i++) sum += eb__metric(&s->sets[i], m);
    return s->n_sets ? sum / s->n_sets : (double)NAN;
}

static void print_header(FILE *fp, const char *title, const char *extra) {
    fprintf(fp, "\n%s\n%-12s %6s", title, "OOD set", "n");
    for (int m = 0; m < N_TABLE_COLUMNS; m++) fprintf(fp, " %16s", eb__metric_columns[m].title);
    if (extra) fprintf(fp, " %22s", extra);
    fputc('\n', fp);
}

void eb_report_print_table(FILE *fp, const eb_eval_report *r) {
    for (int k = 0; k < r->n_scores; k++) {
        const eb_eval_score_result *s = &r->scores[k];
        char title[256];
        snprintf(title, sizeof title,
                 "score: %s   (%lld ID test samples; percent; FPR@95 = OOD accepted at 95%% ID kept)",
                 s->score, (long long)r->n_id);
        print_header(fp, title, NULL);
        for (int i = 0; i < s->n_sets; i++) {
            fprintf(fp, "%-12s %6lld", s->sets[i].name, (long long)s->sets[i].n_ood);
            for (int m = 0; m < N_TABLE_COLUMNS; m++)
                fprintf(fp, " %16.2f", 100.0 * eb__metric(&s->sets[i], m));
            fputc('\n', fp);
        }
        fprintf(fp, "%-12s %6s", "mean", "");
        for (int m = 0; m < N_TABLE_COLUMNS; m++) fprintf(fp, " %16.2f", 100.0 * mean_over_sets(s, m));
        fputc('\n', fp);
    }
    if (!isnan(r->id_acc)) fprintf(fp, "\nID accuracy: %.2f%%\n", 100.0 * r->id_acc);
}

/* Adds {key: value} for every metric of one set (or of the mean over sets when set == NULL). */
static void add_metrics(cJSON *o, const eb_eval_score_result *s, const eb_eval_set_result *set) {
    for (int m = 0; m < N_METRICS; m++)
        cJSON_AddNumberToObject(o, eb__metric_columns[m].key,
                                set ? eb__metric(set, m) : mean_over_sets(s, m));
}

static cJSON *report_object(const eb_eval_report *r) {
    cJSON *o = cJSON_CreateObject();
    if (isnan(r->id_acc))
        cJSON_AddNullToObject(o, "id_acc");
    else
        cJSON_AddNumberToObject(o, "id_acc", r->id_acc);
    cJSON_AddNumberToObject(o, "n_id", (double)r->n_id);
    cJSON *scores = cJSON_AddObjectToObject(o, "scores");
    for (int k = 0; k < r->n_scores; k++) {
        const eb_eval_score_result *s = &r->scores[k];
        cJSON *so = cJSON_AddObjectToObject(scores, s->score);
        cJSON *sets = cJSON_AddObjectToObject(so, "sets");
        for (int i = 0; i < s->n_sets; i++) {
            cJSON *e = cJSON_AddObjectToObject(sets, s->sets[i].name);
            cJSON_AddNumberToObject(e, "n", (double)s->sets[i].n_ood);
            add_metrics(e, s, &s->sets[i]);
        }
        add_metrics(cJSON_AddObjectToObject(so, "mean"), s, NULL);
    }
    return o;
}

char *eb_report_json(const eb_eval_report *r) {
    cJSON *o = report_object(r);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

static const eb_paper_value *paper_lookup(const eb_paper_value *paper, int n, const char *score,
                                          const char *set) {
    for (int i = 0; i < n; i++)
        if (strcmp(paper[i].score, score) == 0 && strcmp(paper[i].set, set) == 0) return &paper[i];
    return NULL;
}

/* Mean ± std over runs of metric m of set i of score k (i < 0: the mean over sets). */
static void runs_stat(const eb_eval_report *runs, int n_runs, int k, int i, int m, double *mean,
                      double *std) {
    double v[64];
    int n = n_runs < 64 ? n_runs : 64;
    for (int r = 0; r < n; r++) {
        const eb_eval_score_result *s = &runs[r].scores[k];
        v[r] = i >= 0 ? eb__metric(&s->sets[i], m) : mean_over_sets(s, m);
    }
    eb_mean_std(v, n, mean, std);
}

void eb_report_print_runs(FILE *fp, const eb_eval_report *runs, int n_runs, const char *paper_metric,
                          const eb_paper_value *paper, int n_paper) {
    if (n_runs < 1) return;
    const eb_eval_report *r0 = &runs[0];
    for (int k = 0; k < r0->n_scores; k++) {
        const eb_eval_score_result *s = &r0->scores[k];
        char title[256], extra[128];
        snprintf(title, sizeof title,
                 "score: %s   (mean ± std over %d seeds; percent; FPR@95 = OOD accepted at 95%% ID kept)",
                 s->score, n_runs);
        snprintf(extra, sizeof extra, "%s: ours | paper", paper_metric ? paper_metric : "paper");
        fprintf(fp, "\n%s\n%-12s %6s", title, "OOD set", "n");
        for (int m = 0; m < N_TABLE_COLUMNS; m++) fprintf(fp, " %15s", eb__metric_columns[m].title);
        if (paper_metric) fprintf(fp, "   %s", extra);
        fputc('\n', fp);
        for (int i = 0; i <= s->n_sets; i++) {
            bool is_mean = i == s->n_sets;
            if (is_mean)
                fprintf(fp, "%-12s %6s", "mean", "");
            else
                fprintf(fp, "%-12s %6lld", s->sets[i].name, (long long)s->sets[i].n_ood);
            for (int m = 0; m < N_TABLE_COLUMNS; m++) {
                double mean, std;
                runs_stat(runs, n_runs, k, is_mean ? -1 : i, m, &mean, &std);
                fprintf(fp, " %7.2f ± %5.2f", 100.0 * mean, 100.0 * std);
            }
            if (paper_metric) {
                double mean, std;
                runs_stat(runs, n_runs, k, is_mean ? -1 : i, EBM_PAPER_COLUMN, &mean, &std);
                const eb_paper_value *pv =
                    is_mean ? NULL : paper_lookup(paper, n_paper, s->score, s->sets[i].name);
                fprintf(fp, "   %6.2f ± %5.2f | ", 100.0 * mean, 100.0 * std);
                if (pv && isnan(pv->std)) /* a single run in the paper */
                    fprintf(fp, "%.2f", pv->mean);
                else if (pv)
                    fprintf(fp, "%.2f ± %.2f", pv->mean, pv->std);
                else
                    fprintf(fp, "—");
            }
            fputc('\n', fp);
        }
    }
    double acc[64];
    int n = n_runs < 64 ? n_runs : 64;
    for (int r = 0; r < n; r++) acc[r] = runs[r].id_acc;
    double mean, std;
    eb_mean_std(acc, n, &mean, &std);
    if (!isnan(mean)) fprintf(fp, "\nID accuracy: %.2f ± %.2f %%\n", 100.0 * mean, 100.0 * std);
}

char *eb_report_runs_json(const eb_eval_report *runs, int n_runs, const eb_paper_value *paper, int n_paper) {
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "runs");
    for (int r = 0; r < n_runs; r++) cJSON_AddItemToArray(arr, report_object(&runs[r]));
    cJSON *summary = cJSON_AddObjectToObject(o, "summary");
    double acc[64], mean, std;
    int n = n_runs < 64 ? n_runs : 64;
    for (int r = 0; r < n; r++) acc[r] = runs[r].id_acc;
    eb_mean_std(acc, n, &mean, &std);
    cJSON *a = cJSON_AddObjectToObject(summary, "id_acc");
    cJSON_AddNumberToObject(a, "mean", mean);
    cJSON_AddNumberToObject(a, "std", std);
    cJSON *scores = cJSON_AddObjectToObject(summary, "scores");
    const eb_eval_report *r0 = &runs[0];
    for (int k = 0; n_runs > 0 && k < r0->n_scores; k++) {
        const eb_eval_score_result *s = &r0->scores[k];
        cJSON *so = cJSON_AddObjectToObject(scores, s->score);
        for (int i = 0; i <= s->n_sets; i++) {
            bool is_mean = i == s->n_sets;
            cJSON *e = cJSON_AddObjectToObject(so, is_mean ? "mean" : s->sets[i].name);
            for (int m = 0; m < N_METRICS; m++) {
                runs_stat(runs, n_runs, k, is_mean ? -1 : i, m, &mean, &std);
                cJSON *mo = cJSON_AddObjectToObject(e, eb__metric_columns[m].key);
                cJSON_AddNumberToObject(mo, "mean", mean);
                cJSON_AddNumberToObject(mo, "std", std);
            }
            const eb_paper_value *pv =
                is_mean ? NULL : paper_lookup(paper, n_paper, s->score, s->sets[i].name);
            if (pv) {
                cJSON *po = cJSON_AddObjectToObject(e, "paper_ebm_aupr");
                cJSON_AddNumberToObject(po, "mean", pv->mean / 100.0);
                cJSON_AddNumberToObject(po, "std", pv->std / 100.0);
            }
        }
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}
