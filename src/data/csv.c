/* CSV reader: comma-separated numbers with an optional header and a numeric or string label
 * column (RFC 4180 quoting). The file is read whole, split into records of fields (pass 1),
 * then converted to a dataset (pass 2). */
#include <ebood/data.h>

#include "data/str_index_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct record {
    size_t first; /* index of its first field in the field table */
    int nfields;
    long line; /* 1-based line where the record starts */
} record;

typedef struct csv_table {
    char *pool;     /* unescaped, NUL-terminated field texts */
    size_t *fields; /* offsets into pool */
    size_t nfields, cap_fields;
    record *records;
    size_t nrecords, cap_records;
} csv_table;

static void table_free(csv_table *t) {
    free(t->pool);
    free(t->fields);
    free(t->records);
    memset(t, 0, sizeof *t);
}

static int push_field(csv_table *t, size_t offset) {
    if (t->nfields == t->cap_fields) {
        size_t cap = t->cap_fields ? t->cap_fields * 2 : 1024;
        size_t *n = realloc(t->fields, cap * sizeof *n);
        if (!n) return -1;
        t->fields = n;
        t->cap_fields = cap;
    }
    t->fields[t->nfields++] = offset;
    return 0;
}

static int push_record(csv_table *t, record r) {
    if (t->nrecords == t->cap_records) {
        size_t cap = t->cap_records ? t->cap_records * 2 : 256;
        record *n = realloc(t->records, cap * sizeof *n);
        if (!n) return -1;
        t->records = n;
        t->cap_records = cap;
    }
    t->records[t->nrecords++] = r;
    return 0;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Pass 1: split text[0..len) into records and fields. */
static eb_status split_records(const char *path, const char *text, size_t len, csv_table *t, eb_error *err) {
    t->pool = malloc(len + 2);
    if (!t->pool) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    size_t out = 0, i = 0;
    long line = 1;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) i = 3; /* UTF-8 BOM */
    while (i < len) {
        /* skip blank lines */
        size_t j = i;
        while (j < len && is_blank(text[j])) j++;
        if (j >= len) break;
        if (text[j] == '\n') {
            i = j + 1;
            line++;
            continue;
        }
        record r = {t->nfields, 0, line};
        for (;;) { /* one field per iteration */
            while (i < len && (text[i] == ' ' || text[i] == '\t')) i++;
            size_t start = out;
            if (push_field(t, start) != 0) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
            r.nfields++;
            if (i < len && text[i] == '"') {
                long quote_line = line;
                i++;
                for (;;) {
                    if (i >= len)
                        return eb_error_set(err, EB_ERR_FORMAT, "%s: line %ld: unterminated quoted field",
                                            path, quote_line);
                    if (text[i] == '"') {
                        if (i + 1 < len && text[i + 1] == '"') {
                            t->pool[out++] = '"';
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (text[i] == '\n') line++;
                    t->pool[out++] = text[i++];
                }
                while (i < len && is_blank(text[i])) i++;
                if (i < len && text[i] != ',' && text[i] != '\n')
                    return eb_error_set(err, EB_ERR_FORMAT,
                                        "%s: line %ld: unexpected character after a closing quote", path,
                                        line);
            } else {
                while (i < len && text[i] != ',' && text[i] != '\n') t->pool[out++] = text[i++];
                while (out > start && is_blank(t->pool[out - 1])) out--;
            }
            t->pool[out++] = '\0';
            if (i < len && text[i] == ',') {
                i++;
                continue;
            }
            if (i < len) { /* '\n' */
                i++;
                line++;
            }
            break;
        }
        if (push_record(t, r) != 0) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    return EB_OK;
}

static const char *field(const csv_table *t, const record *r, int col) {
    return t->pool + t->fields[r->first + (size_t)col];
}

/* strtod over the whole (already trimmed) field; 0 if it is not a number. */
static int parse_number(const char *s, double *v) {
    if (!s[0]) return 0;
    char *end;
    *v = strtod(s, &end);
    return *end == '\0';
}

/* ---- pass 2 ------------------------------------------------------------------------------- */

/* The columns: every record has ncols fields; *lc = the label column (-1: none), *dim = the number of
 * feature columns (>= 1). */
static eb_status check_columns(const char *path, const csv_table *t, int label_column, int *lc, int64_t *dim,
                               eb_error *err) {
    int ncols = t->records[0].nfields;
    for (size_t r = 1; r < t->nrecords; r++)
        if (t->records[r].nfields != ncols)
            return eb_error_set(err, EB_ERR_FORMAT, "%s: line %ld: expected %d fields, got %d (ragged rows)",
                                path, t->records[r].line, ncols, t->records[r].nfields);
    if (label_column == EB_CSV_NO_LABEL)
        *lc = -1;
    else if (label_column == -1)
        *lc = ncols - 1;
    else if (label_column >= 0 && label_column < ncols)
        *lc = label_column;
    else
        return eb_error_set(err, EB_ERR_ARG, "%s: label column %d out of range (the file has %d columns)",
                            path, label_column, ncols);
    *dim = *lc >= 0 ? ncols - 1 : ncols;
    if (*dim < 1)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: no feature columns (the file has %d column%s)", path,
                            ncols, ncols == 1 ? "" : "s");
    return EB_OK;
}

/* 1 if the first record is a header: a non-numeric feature field, or a non-numeric label above a numeric
 * one; else 0. */
static size_t header_rows(const csv_table *t, int lc) {
    const record *r0 = &t->records[0];
    double v;
    for (int c = 0; c < r0->nfields; c++)
        if (c != lc && !parse_number(field(t, r0, c), &v)) return 1;
    return lc >= 0 && t->nrecords >= 2 && !parse_number(field(t, r0, lc), &v) &&
                   parse_number(field(t, &t->records[1], lc), &v)
               ? 1
               : 0;
}

/* Label mode: numeric if every label field of the n data rows is a finite number. */
static int labels_numeric(const csv_table *t, const record *rows, int64_t n, int lc) {
    double v;
    for (int64_t i = 0; i < n; i++)
        if (!parse_number(field(t, &rows[i], lc), &v) || !isfinite(v)) return 0;
    return 1;
}

/* An error at a field: "<path>: line L (row i+1), column col+1: <what>". */
static eb_status field_error(eb_error *err, eb_status code, const char *path, const record *r, int64_t i,
                             int col, const char *fmt, ...) EB_PRINTF(7, 8);
static eb_status field_error(eb_error *err, eb_status code, const char *path, const record *r, int64_t i,
                             int col, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return eb_error_set(err, code, "%s: line %ld (row %lld), column %d: %s", path, r->line, (long long)i + 1,
                        col + 1, what);
}

/* out->x[n, dim] from every column but lc: each field a finite float. */
static eb_status read_features(const char *path, const csv_table *t, const record *rows, int lc,
                               eb_dataset *out, eb_error *err) {
    const int ncols = rows[0].nfields;
    for (int64_t i = 0; i < out->n; i++) {
        const record *r = &rows[i];
        float *x = out->x + i * out->dim;
        for (int c = 0, k = 0; c < ncols; c++) {
            if (c == lc) continue;
            const char *s = field(t, r, c);
            double v;
            if (!s[0]) return field_error(err, EB_ERR_FORMAT, path, r, i, c, "empty field");
            if (!parse_number(s, &v))
                return field_error(err, EB_ERR_FORMAT, path, r, i, c, "not a number: '%.40s'", s);
            x[k] = (float)v;
            if (!isfinite(x[k]))
                return field_error(err, EB_ERR_NUMERIC, path, r, i, c,
                                   "non-finite or out-of-range value '%.40s'", s);
            k++;
        }
    }
    return EB_OK;
}

/* Numeric labels: integer class indices in [0, EB_MAX_CLASSES); num_classes = the largest + 1. */
static eb_status read_numeric_labels(const char *path, const csv_table *t, const record *rows, int lc,
                                     eb_dataset *out, eb_error *err) {
    int32_t max_label = 0;
    for (int64_t i = 0; i < out->n; i++) {
        const record *r = &rows[i];
        double v = 0;
        parse_number(field(t, r, lc), &v);
        if (v < 0 || v >= EB_MAX_CLASSES || v != floor(v))
            return field_error(err, EB_ERR_FORMAT, path, r, i, lc,
                               "label '%.40s' is not an integer class index in [0, %d)", field(t, r, lc),
                               EB_MAX_CLASSES);
        out->y[i] = (int32_t)v;
        if (out->y[i] > max_label) max_label = out->y[i];
    }
    out->num_classes = max_label + 1;
    return EB_OK;
}

/* String labels: ids in order of first appearance, the strings as class names. */
static eb_status read_string_labels(const char *path, const csv_table *t, const record *rows, int lc,
                                    eb_dataset *out, eb_error *err) {
    eb__str_index ix = {0};
    const char **names = malloc((size_t)out->n * sizeof *names);
    int count = 0;
    eb_status st = names ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    for (int64_t i = 0; i < out->n && st == EB_OK; i++) {
        const record *r = &rows[i];
        const char *s = field(t, r, lc);
        int32_t id = s[0] ? eb__str_index_find(&ix, s) : -1;
        if (!s[0])
            st = field_error(err, EB_ERR_FORMAT, path, r, i, lc, "empty label");
        else if (id < 0 && count == EB_MAX_CLASSES)
            st = field_error(err, EB_ERR_FORMAT, path, r, i, lc, "more than %d classes", EB_MAX_CLASSES);
        else if (id < 0 && eb__str_index_add(&ix, s, count) != 0)
            st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
        else if (id < 0)
            names[id = count++] = s;
        if (st == EB_OK) out->y[i] = id;
    }
    if (st == EB_OK) {
        out->num_classes = count;
        st = eb_dataset_set_class_names(out, names, err);
    }
    free(names);
    eb__str_index_free(&ix);
    return st;
}

/* The dataset of the table: the header (if any) skipped, features and labels read; on error *out freed. */
static eb_status build_dataset(const char *path, const csv_table *t, int label_column, eb_dataset *out,
                               eb_error *err) {
    int lc = -1;
    int64_t dim = 0;
    eb_status st = check_columns(path, t, label_column, &lc, &dim, err);
    if (st != EB_OK) return st;
    const size_t header = header_rows(t, lc);
    const record *rows = &t->records[header];
    const int64_t n = (int64_t)(t->nrecords - header);
    if (n < 1) return eb_error_set(err, EB_ERR_FORMAT, "%s: no data rows", path);
    const int numeric_labels = lc >= 0 && labels_numeric(t, rows, n, lc);

    eb_error alloc_err;
    st = eb_dataset_alloc(n, dim, lc >= 0 ? 1 : 0, lc >= 0, out, &alloc_err);
    if (st != EB_OK) return eb_error_set(err, st, "%s: %s", path, alloc_err.message);
    st = read_features(path, t, rows, lc, out, err);
    if (st == EB_OK && lc >= 0)
        st = numeric_labels ? read_numeric_labels(path, t, rows, lc, out, err)
                            : read_string_labels(path, t, rows, lc, out, err);
    if (st != EB_OK) eb_dataset_free(out);
    return st;
}

eb_status eb_csv_read_dataset(const char *path, int label_column, eb_dataset *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    eb_status st = eb_file_read_all(path, &text, &len, err);
    if (st != EB_OK) return st;
    if (memchr(text, '\0', len)) {
        free(text);
        return eb_error_set(err, EB_ERR_FORMAT, "%s: NUL byte in the file (not a text CSV file?)", path);
    }
    csv_table t = {0};
    st = split_records(path, text, len, &t, err);
    free(text);
    if (st == EB_OK && t.nrecords == 0)
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: no data rows (empty file)", path);
    if (st == EB_OK) st = build_dataset(path, &t, label_column, out, err);
    table_free(&t);
    return st;
}
