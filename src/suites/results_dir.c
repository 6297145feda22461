/* A suite's results directory (`ebood bench NAME --resume DIR`): every finished unit of a suite — one row
 * of one seed (segment: the classifier with its detectors, or one EBM row), or one whole seed (the image
 * suites, whose rows share one trained classifier) — is written atomically as DIR/<unit>.json together with
 * the spec that produced it; a rerun with the same directory loads the finished units instead of computing
 * them, and refuses when the directory's spec differs from the current one. The suites always assemble
 * their runs from units (loaded or computed), and a unit's numbers survive the round trip exactly (cJSON
 * prints a double with up to 17 significant digits, enough to read back the same double), so a resumed
 * run's report is byte for byte that of an uninterrupted one.
 *
 * Layout: DIR/spec.json = {"suite": NAME, "revision": N, "spec": <the caller's spec object>};
 * DIR/<unit>.json = {"suite", "revision", "spec", "unit", "values": {key: number}, "report": {"id_acc",
 * "n_id", "scores": [{"score", "sets": [{"name", "n", <the 10 metrics>}]}]}}; NaN is written as null. */
#define _POSIX_C_SOURCE 200809L
#include "suites/bench_impl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct eb_results {
    char dir[4096];
    const char *suite;
    int revision;
    cJSON *spec; /* the caller's spec object */
    int64_t max_units, written;
    bool progress;
    bool *stopped;
};

/* the metrics of a set in the unit files, with their place in eb_eval_set_result */
static const struct {
    const char *key;
    size_t offset;
} unit_metrics[] = {
    {"auroc", offsetof(eb_eval_set_result, metrics.auroc)},
    {"aupr_in", offsetof(eb_eval_set_result, metrics.aupr_in)},
    {"aupr_out", offsetof(eb_eval_set_result, metrics.aupr_out)},
    {"aupr_in_trapz", offsetof(eb_eval_set_result, metrics.aupr_in_trapz)},
    {"aupr_out_trapz", offsetof(eb_eval_set_result, metrics.aupr_out_trapz)},
    {"fpr95_id", offsetof(eb_eval_set_result, metrics.fpr95_id)},
    {"fpr95_ood", offsetof(eb_eval_set_result, metrics.fpr95_ood)},
    {"fpr95_hendrycks", offsetof(eb_eval_set_result, metrics.fpr95_hendrycks)},
    {"fpr95_heat", offsetof(eb_eval_set_result, metrics.fpr95_heat)},
    {"ebm_paper_aupr", offsetof(eb_eval_set_result, ebm_paper_aupr)},
};
enum { N_UNIT_METRICS = (int)(sizeof unit_metrics / sizeof unit_metrics[0]) };

/* v with 17 significant digits, which read back (strtod) give the same double; cJSON's own printing stops
 * at 15 when those are equal within an epsilon, which loses the last bits. NaN and ±Inf as null. */
static void add_number(cJSON *o, const char *key, double v) {
    char text[32];
    snprintf(text, sizeof text, "%.17g", v);
    if (!isfinite(v))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddRawToObject(o, key, text);
}

/* A number (null: NaN); false if the key is missing or of another type. */
static bool get_number(const cJSON *o, const char *key, double *v) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNull(it)) *v = NAN;
    if (cJSON_IsNumber(it)) *v = it->valuedouble;
    return cJSON_IsNull(it) || cJSON_IsNumber(it);
}

static bool get_string(const cJSON *o, const char *key, char *out, size_t size) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(it) || strlen(it->valuestring) >= size) return false;
    snprintf(out, size, "%s", it->valuestring);
    return true;
}

static cJSON *report_to_json(const eb_eval_report *r) {
    cJSON *o = cJSON_CreateObject();
    add_number(o, "id_acc", r->id_acc);
    cJSON_AddNumberToObject(o, "n_id", (double)r->n_id);
    cJSON *scores = cJSON_AddArrayToObject(o, "scores");
    for (int k = 0; k < r->n_scores; k++) {
        const eb_eval_score_result *s = &r->scores[k];
        cJSON *so = cJSON_CreateObject();
        cJSON_AddItemToArray(scores, so);
        cJSON_AddStringToObject(so, "score", s->score);
        cJSON *sets = cJSON_AddArrayToObject(so, "sets");
        for (int i = 0; i < s->n_sets; i++) {
            const eb_eval_set_result *set = &s->sets[i];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddItemToArray(sets, e);
            cJSON_AddStringToObject(e, "name", set->name);
            cJSON_AddNumberToObject(e, "n", (double)set->n_ood);
            for (int m = 0; m < N_UNIT_METRICS; m++)
                add_number(e, unit_metrics[m].key,
                           *(const double *)((const char *)set + unit_metrics[m].offset));
        }
    }
    return o;
}

/* false if anything is missing, malformed or out of range */
static bool report_from_json(const cJSON *o, eb_eval_report *r) {
    memset(r, 0, sizeof *r);
    double n_id;
    const cJSON *scores = cJSON_GetObjectItemCaseSensitive(o, "scores");
    if (!get_number(o, "id_acc", &r->id_acc) || !get_number(o, "n_id", &n_id) || !(n_id >= 0) ||
        !cJSON_IsArray(scores) || cJSON_GetArraySize(scores) > EB_EVAL_MAX_SCORES)
        return false;
    r->n_id = (int64_t)n_id;
    const cJSON *so;
    cJSON_ArrayForEach(so, scores) {
        eb_eval_score_result *s = &r->scores[r->n_scores++];
        const cJSON *sets = cJSON_GetObjectItemCaseSensitive(so, "sets"), *e;
        if (!get_string(so, "score", s->score, sizeof s->score) || !cJSON_IsArray(sets) ||
            cJSON_GetArraySize(sets) > EB_EVAL_MAX_SETS)
            return false;
        cJSON_ArrayForEach(e, sets) {
            eb_eval_set_result *set = &s->sets[s->n_sets++];
            double n;
            if (!get_string(e, "name", set->name, sizeof set->name) || !get_number(e, "n", &n) || !(n >= 0))
                return false;
            set->n_ood = (int64_t)n;
            for (int m = 0; m < N_UNIT_METRICS; m++)
                if (!get_number(e, unit_metrics[m].key, (double *)((char *)set + unit_metrics[m].offset)))
                    return false;
        }
    }
    return true;
}

void eb_unit_reset(eb_unit *u) {
    memset(u, 0, sizeof *u);
    u->report.id_acc = NAN;
}

void eb_unit_set(eb_unit *u, const char *key, double v) {
    int i = 0;
    while (i < u->n_values && strcmp(u->keys[i], key) != 0) i++;
    if (i == EB_UNIT_MAX_VALUES) return; /* a programming error: the suites use a handful of keys */
    snprintf(u->keys[i], sizeof u->keys[i], "%s", key);
    u->values[i] = v;
    if (i == u->n_values) u->n_values++;
}

double eb_unit_get(const eb_unit *u, const char *key) {
    for (int i = 0; i < u->n_values; i++)
        if (strcmp(u->keys[i], key) == 0) return u->values[i];
    return NAN;
}

void eb_unit_set_array(eb_unit *u, const char *key, const double *v, int n) {
    char k[64];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%.40s.%d", key, i);
        eb_unit_set(u, k, v[i]);
    }
}

void eb_unit_get_array(const eb_unit *u, const char *key, double *v, int n) {
    char k[64];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%.40s.%d", key, i);
        v[i] = eb_unit_get(u, k);
    }
}

eb_status eb_report_append(eb_eval_report *dst, const eb_eval_report *src, eb_error *err) {
    if (dst->n_scores + src->n_scores > EB_EVAL_MAX_SCORES)
        return eb_error_set(err, EB_ERR_ARG, "report: %d + %d score entries: at most %d", dst->n_scores,
                            src->n_scores, EB_EVAL_MAX_SCORES);
    memcpy(&dst->scores[dst->n_scores], src->scores, (size_t)src->n_scores * sizeof src->scores[0]);
    dst->n_scores += src->n_scores;
    return EB_OK;
}

/* The first key where a and b (objects) differ, or "" when only their order or nesting differs. */
static void first_difference(const cJSON *a, const cJSON *b, char *key, size_t size, char *was, char *now,
                             size_t vsize) {
    *key = *was = *now = '\0';
    const cJSON *it;
    for (int pass = 0; pass < 2 && !*key; pass++) {
        const cJSON *from = pass ? b : a;
        cJSON_ArrayForEach(it, from) {
            const cJSON *other = cJSON_GetObjectItemCaseSensitive(pass ? a : b, it->string);
            if (other && cJSON_Compare(it, other, true)) continue;
            snprintf(key, size, "%s", it->string ? it->string : "?");
            const cJSON *va = pass ? other : it, *vb = pass ? it : other;
            char *ta = va ? cJSON_PrintUnformatted(va) : NULL, *tb = vb ? cJSON_PrintUnformatted(vb) : NULL;
            snprintf(was, vsize, "%s", ta ? ta : "(none)");
            snprintf(now, vsize, "%s", tb ? tb : "(none)");
            free(ta);
            free(tb);
            break;
        }
    }
}

/* EB_ERR_ARG naming `path` and the first differing entry when `recorded` (the file's "spec", "suite",
 * "revision") is not the current run's. */
static eb_status check_spec(const eb_results *r, const cJSON *recorded, const char *path, eb_error *err) {
    char suite[64];
    double revision;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(recorded, "spec");
    if (!get_string(recorded, "suite", suite, sizeof suite) || !get_number(recorded, "revision", &revision) ||
        !cJSON_IsObject(spec))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: no suite, revision or spec: not a results file of ebood",
                            path);
    if (strcmp(suite, r->suite) != 0)
        return eb_error_set(err, EB_ERR_ARG, "%s: results of the '%s' suite, not '%s': use another directory",
                            path, suite, r->suite);
    if (revision != r->revision)
        return eb_error_set(err, EB_ERR_ARG,
                            "%s: written by revision %g of the %s suite's protocol, this ebood runs revision "
                            "%d: its numbers would not be comparable; use another directory",
                            path, revision, r->suite, r->revision);
    if (cJSON_Compare(spec, r->spec, true)) return EB_OK;
    char key[128], was[256], now[256];
    first_difference(spec, r->spec, key, sizeof key, was, now, sizeof was);
    return eb_error_set(
        err, EB_ERR_ARG,
        "%s: recorded with other settings (%s: %s there, %s now): rerun with the same flags or "
        "use another directory",
        path, key, was, now);
}

static cJSON *header(const eb_results *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "suite", r->suite);
    cJSON_AddNumberToObject(o, "revision", r->revision);
    cJSON_AddItemToObject(o, "spec", cJSON_Duplicate(r->spec, true));
    return o;
}

static eb_status write_json(const char *path, cJSON *o, eb_error *err) {
    char *text = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (!st && fprintf(af.fp, "%s\n", text) < 0) {
        eb_atomic_abort(&af);
        st = eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    } else if (!st)
        st = eb_atomic_commit(&af, err);
    free(text);
    return st;
}

/* Parses path; *o NULL (and EB_OK) when the file does not exist. */
static eb_status read_json(const char *path, cJSON **o, eb_error *err) {
    *o = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) return EB_OK;
    char *text;
    size_t len;
    eb_status st = eb_file_read_all(path, &text, &len, err);
    if (st) return st;
    *o = cJSON_ParseWithLength(text, len);
    free(text);
    if (!*o || !cJSON_IsObject(*o)) {
        cJSON_Delete(*o);
        *o = NULL;
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: not a JSON object (truncated or corrupt?): delete it to recompute that unit",
                            path);
    }
    return EB_OK;
}

eb_status eb_results_open(const eb_bench_resume *p, const char *suite, int revision, eb_results **out,
                          eb_error *err) {
    *out = NULL;
    if (!p || !p->dir) return EB_OK;
    if (p->stopped) *p->stopped = false;
    if (strlen(p->dir) + 64 > sizeof((eb_results *)0)->dir)
        return eb_error_set(err, EB_ERR_ARG, "--resume: directory name too long");
    cJSON *spec = cJSON_Parse(p->spec ? p->spec : "{}");
    if (!cJSON_IsObject(spec)) {
        cJSON_Delete(spec);
        return eb_error_set(err, EB_ERR_ARG, "%s: the run's spec is not a JSON object", suite);
    }
    if (mkdir(p->dir, 0777) != 0 && errno != EEXIST) {
        cJSON_Delete(spec);
        return eb_error_set(err, EB_ERR_IO, "%s: cannot create the results directory: %s", p->dir,
                            strerror(errno));
    }
    eb_results *r = calloc(1, sizeof *r);
    if (!r) {
        cJSON_Delete(spec);
        return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    }
    snprintf(r->dir, sizeof r->dir, "%s", p->dir);
    r->suite = suite;
    r->revision = revision;
    r->spec = spec;
    r->max_units = p->max_units;
    r->progress = p->progress;
    r->stopped = p->stopped;
    char path[4200];
    snprintf(path, sizeof path, "%s/spec.json", r->dir);
    cJSON *recorded;
    eb_status st = read_json(path, &recorded, err);
    if (!st && recorded) st = check_spec(r, recorded, path, err);
    if (!st && !recorded) st = write_json(path, header(r), err);
    cJSON_Delete(recorded);
    if (st) {
        eb_results_close(r);
        return st;
    }
    *out = r;
    return EB_OK;
}

void eb_results_close(eb_results *r) {
    if (!r) return;
    cJSON_Delete(r->spec);
    free(r);
}

bool eb_results_stopped(const eb_results *r) { return r && r->max_units > 0 && r->written >= r->max_units; }

static eb_status results_get(eb_results *r, const char *unit, eb_unit *u, bool *found, eb_error *err) {
    *found = false;
    if (!r) return EB_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.json", r->dir, unit);
    cJSON *o;
    eb_status st = read_json(path, &o, err);
    if (st || !o) return st;
    st = check_spec(r, o, path, err);
    char name[sizeof u->unit];
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(o, "values"), *v;
    eb_unit_reset(u);
    if (!st &&
        (!get_string(o, "unit", name, sizeof name) || strcmp(name, unit) != 0 || !cJSON_IsObject(values) ||
         !report_from_json(cJSON_GetObjectItemCaseSensitive(o, "report"), &u->report)))
        st = eb_error_set(
            err, EB_ERR_FORMAT,
            "%s: malformed unit (missing or bad unit, values or report): delete it to recompute it", path);
    cJSON_ArrayForEach(v, values) {
        if (st) break;
        if (!cJSON_IsNumber(v) && !cJSON_IsNull(v))
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: values.%s is not a number", path, v->string);
        else
            eb_unit_set(u, v->string, cJSON_IsNull(v) ? (double)NAN : v->valuedouble);
    }
    cJSON_Delete(o);
    if (st) return st;
    snprintf(u->unit, sizeof u->unit, "%s", unit);
    *found = true;
    if (r->progress) fprintf(stderr, "%s: %s: done before, loaded from %s\n", r->suite, unit, r->dir);
    return EB_OK;
}

static eb_status results_put(eb_results *r, const char *unit, const eb_unit *u, eb_error *err) {
    if (!r) return EB_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.json", r->dir, unit);
    cJSON *o = header(r);
    cJSON_AddStringToObject(o, "unit", unit);
    cJSON *values = cJSON_AddObjectToObject(o, "values");
    for (int i = 0; i < u->n_values; i++) add_number(values, u->keys[i], u->values[i]);
    cJSON_AddItemToObject(o, "report", report_to_json(&u->report));
    eb_status st = write_json(path, o, err);
    if (st) return st;
    r->written++;
    if (r->progress) fprintf(stderr, "%s: %s: written to %s\n", r->suite, unit, r->dir);
    if (eb_results_stopped(r) && r->stopped) *r->stopped = true;
    return EB_OK;
}

eb_status eb_results_unit(eb_results *r, const char *unit, eb_unit *u, eb_unit_fn compute, void *ctx,
                          eb_error *err) {
    bool found;
    eb_status st = results_get(r, unit, u, &found, err);
    if (st || found) return st;
    eb_unit_reset(u);
    snprintf(u->unit, sizeof u->unit, "%s", unit);
    st = compute(ctx, u, err);
    return st ? st : results_put(r, unit, u, err);
}

typedef struct seed_call {
    eb_seed_fn compute;
    void *ctx;
    int s;
} seed_call;

static eb_status seed_compute(void *ctx, eb_unit *u, eb_error *err) {
    const seed_call *c = ctx;
    return c->compute(c->ctx, c->s, u, err);
}

eb_status eb_results_run_seeds(const eb_bench_resume *resume, const char *suite, int revision, int n_seeds,
                               eb_seed_fn compute, eb_seed_unpack_fn unpack, void *ctx, eb_error *err) {
    eb_results *res;
    eb_status st = eb_results_open(resume, suite, revision, &res, err);
    eb_unit *u = st ? NULL : malloc(sizeof *u);
    if (!st && !u) st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    for (int s = 0; s < n_seeds && !st && !eb_results_stopped(res); s++) {
        char unit[32];
        snprintf(unit, sizeof unit, "seed%d", s);
        seed_call c = {compute, ctx, s};
        st = eb_results_unit(res, unit, u, seed_compute, &c, err);
        if (!st) unpack(ctx, s, u);
    }
    free(u);
    eb_results_close(res);
    return st;
}

char *eb_results_spec_with(const char *spec, const char *key, bool value) {
    cJSON *o = cJSON_Parse(spec ? spec : "{}");
    char *text = NULL;
    if (cJSON_IsObject(o) && !cJSON_GetObjectItemCaseSensitive(o, key) &&
        cJSON_AddBoolToObject(o, key, value))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
