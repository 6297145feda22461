/* ARFF reader (Weka's Attribute-Relation File Format, dense instances).
 *
 *   % comment
 *   @relation name
 *   @attribute name numeric|real|integer|string|{v1, v2, 'v 3'}
 *   @data
 *   1.5, v2, 'some string'
 *
 * Keywords are case-insensitive; names and values may be quoted with '…' or "…" (backslash
 * escapes inside). The file is read whole and parsed line by line. */
#include <ebood/data.h>

#include "data/str_index_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small growable containers ------------------------------------------------------------ */

typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf;

static int sb_push(strbuf *b, char c) {
    if (b->len + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        char *s = realloc(b->s, cap);
        if (!s) return -1;
        b->s = s;
        b->cap = cap;
    }
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
    return 0;
}

/* Returns the buffer (an empty string if nothing was pushed) and resets b; NULL on OOM. */
static char *sb_take(strbuf *b) {
    if (!b->s && (b->s = malloc(1)) != NULL) b->s[0] = '\0';
    char *s = b->s;
    memset(b, 0, sizeof *b);
    return s;
}

/* ---- parser state ------------------------------------------------------------------------- */

typedef struct parser {
    const char *path;
    const char *p, *end; /* the current line [p, end) */
    long line;           /* 1-based line number */
    eb_error *err;
    eb_arff *out;
    int cap_attributes;
    int64_t cap_values, cap_strings;
    eb__str_index names;    /* attribute name → index */
    eb__str_index *nominal; /* per attribute (cap_attributes): nominal value → its index */
} parser;

static void parser_free(parser *ps) {
    eb__str_index_free(&ps->names);
    for (int i = 0; ps->nominal && i < ps->cap_attributes; i++) eb__str_index_free(&ps->nominal[i]);
    free(ps->nominal);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && is_space(*ps->p)) ps->p++;
}

/* True if only whitespace or a comment remains on the line. */
static int at_line_end(parser *ps) {
    skip_ws(ps);
    return ps->p >= ps->end || *ps->p == '%';
}

static eb_status fail(parser *ps, eb_status st, const char *what, const char *detail) {
    return eb_error_set(ps->err, st, "%s: line %ld: %s%s%s%s", ps->path, ps->line, what, detail ? " '" : "",
                        detail ? detail : "", detail ? "'" : "");
}

static eb_status oom(parser *ps) {
    return eb_error_set(ps->err, EB_ERR_NOMEM, "%s: out of memory", ps->path);
}

/* Reads one token: a quoted string ('…' or "…", with backslash escapes), or an unquoted run of
 * characters up to whitespace or one of `stops` (trailing whitespace trimmed when
 * `allow_spaces`, which lets unquoted values contain inner spaces). *quoted tells which. */
static eb_status read_token(parser *ps, const char *stops, int allow_spaces, char **out, int *quoted) {
    *out = NULL;
    *quoted = 0;
    skip_ws(ps);
    strbuf b = {0};
    if (ps->p < ps->end && (*ps->p == '\'' || *ps->p == '"')) {
        char q = *ps->p++;
        *quoted = 1;
        for (;;) {
            if (ps->p >= ps->end) {
                free(b.s);
                return fail(ps, EB_ERR_FORMAT, "unterminated quoted string", NULL);
            }
            char c = *ps->p++;
            if (c == q) break;
            if (c == '\\' && ps->p < ps->end) {
                c = *ps->p++;
                c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
            }
            if (sb_push(&b, c) != 0) {
                free(b.s);
                return oom(ps);
            }
        }
    } else {
        while (ps->p < ps->end && !strchr(stops, *ps->p) && (allow_spaces || !is_space(*ps->p))) {
            if (sb_push(&b, *ps->p++) != 0) {
                free(b.s);
                return oom(ps);
            }
        }
        while (b.len > 0 && is_space(b.s[b.len - 1])) b.s[--b.len] = '\0';
    }
    *out = sb_take(&b);
    return *out ? EB_OK : oom(ps);
}

/* ---- header ------------------------------------------------------------------------------- */

static eb_status add_attribute(parser *ps, char *name) {
    eb_arff *a = ps->out;
    if (eb__str_index_find(&ps->names, name) >= 0) {
        eb_status st = fail(ps, EB_ERR_FORMAT, "duplicate attribute name", name);
        free(name);
        return st;
    }
    if (a->num_attributes == ps->cap_attributes) {
        int cap = ps->cap_attributes ? ps->cap_attributes * 2 : 16;
        eb_arff_attribute *n = realloc(a->attributes, (size_t)cap * sizeof *n);
        if (n) a->attributes = n;
        eb__str_index *ix = n ? realloc(ps->nominal, (size_t)cap * sizeof *ix) : NULL;
        if (!ix) {
            free(name);
            return oom(ps);
        }
        memset(ix + ps->cap_attributes, 0, (size_t)(cap - ps->cap_attributes) * sizeof *ix);
        ps->nominal = ix;
        ps->cap_attributes = cap;
    }
    if (eb__str_index_add(&ps->names, name, a->num_attributes) != 0) {
        free(name);
        return oom(ps);
    }
    eb_arff_attribute *at = &a->attributes[a->num_attributes++];
    memset(at, 0, sizeof *at);
    at->name = name;
    return EB_OK;
}

/* Parses "{v1, v2, 'v 3'}" (ps->p at '{') into the last attribute, indexing its values in *ix. */
static eb_status parse_nominal(parser *ps, eb_arff_attribute *at, eb__str_index *ix) {
    ps->p++; /* '{' */
    int cap = 0;
    for (;;) {
        char *v;
        int quoted;
        eb_status st = read_token(ps, ",}", 1, &v, &quoted);
        if (st != EB_OK) return st;
        if (!quoted && v[0] == '\0') {
            free(v);
            skip_ws(ps);
            if (ps->p >= ps->end) return fail(ps, EB_ERR_FORMAT, "unterminated nominal value list", NULL);
            return fail(ps, EB_ERR_FORMAT, "empty nominal value in the list of attribute", at->name);
        }
        if (eb__str_index_find(ix, v) >= 0) {
            st = fail(ps, EB_ERR_FORMAT, "duplicate nominal value", v);
            free(v);
            return st;
        }
        if (at->num_values == cap) {
            cap = cap ? cap * 2 : 8;
            char **n = realloc(at->values, (size_t)cap * sizeof *n);
            if (!n) {
                free(v);
                return oom(ps);
            }
            at->values = n;
        }
        if (eb__str_index_add(ix, v, at->num_values) != 0) {
            free(v);
            return oom(ps);
        }
        at->values[at->num_values++] = v;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return EB_OK;
        }
        return fail(ps, EB_ERR_FORMAT, "unterminated nominal value list", NULL);
    }
}

static eb_status parse_attribute(parser *ps) {
    char *name;
    int quoted;
    eb_status st = read_token(ps, "{%", 0, &name, &quoted);
    if (st != EB_OK) return st;
    if (name[0] == '\0') {
        free(name);
        return fail(ps, EB_ERR_FORMAT, "@attribute without a name", NULL);
    }
    if ((st = add_attribute(ps, name)) != EB_OK) return st;
    eb_arff_attribute *at = &ps->out->attributes[ps->out->num_attributes - 1];
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '{') {
        at->type = EB_ARFF_NOMINAL;
        if ((st = parse_nominal(ps, at, &ps->nominal[ps->out->num_attributes - 1])) != EB_OK) return st;
    } else {
        const char *w = ps->p;
        while (ps->p < ps->end && !is_space(*ps->p) && *ps->p != '%') ps->p++;
        size_t n = (size_t)(ps->p - w);
        char type[32];
        snprintf(type, sizeof type, "%.*s", (int)(n < 31 ? n : 31), w);
        if (n == 0) return fail(ps, EB_ERR_FORMAT, "missing type of attribute", at->name);
        if (strcasecmp(type, "numeric") == 0 || strcasecmp(type, "real") == 0 ||
            strcasecmp(type, "integer") == 0)
            at->type = EB_ARFF_NUMERIC;
        else if (strcasecmp(type, "string") == 0)
            at->type = EB_ARFF_STRING;
        else if (strcasecmp(type, "date") == 0 || strcasecmp(type, "relational") == 0)
            return fail(ps, EB_ERR_UNSUPPORTED, "unsupported attribute type", type);
        else
            return fail(ps, EB_ERR_FORMAT, "unknown attribute type", type);
    }
    if (!at_line_end(ps))
        return fail(ps, EB_ERR_FORMAT, "unexpected text after the type of attribute", at->name);
    return EB_OK;
}

/* ---- data --------------------------------------------------------------------------------- */

static eb_status push_string(parser *ps, char *s, double *index) {
    eb_arff *a = ps->out;
    if (a->num_strings == ps->cap_strings) {
        int64_t cap = ps->cap_strings ? ps->cap_strings * 2 : 64;
        char **n = realloc(a->strings, (size_t)cap * sizeof *n);
        if (!n) {
            free(s);
            return oom(ps);
        }
        a->strings = n;
        ps->cap_strings = cap;
    }
    *index = (double)a->num_strings;
    a->strings[a->num_strings++] = s;
    return EB_OK;
}

/* An error at a value: "row R, column C ('<attribute>'): <what>", with the value v (if not NULL) quoted. */
static eb_status value_error(parser *ps, eb_status code, int j, const char *what, const char *v) {
    char msg[256];
    snprintf(msg, sizeof msg, "row %lld, column %d ('%.60s'): %s", (long long)ps->out->num_rows + 1, j + 1,
             ps->out->attributes[j].name, what);
    return fail(ps, code, msg, v);
}

/* The value text v (owned, consumed) of attribute j into *x: a finite number, a declared nominal value's
 * index, or a string's index in a->strings. */
static eb_status parse_value(parser *ps, int j, char *v, int quoted, double *x) {
    eb_status st = EB_OK;
    if (!quoted && strcmp(v, "?") == 0)
        st = value_error(ps, EB_ERR_FORMAT, j, "missing value '?' is not supported", NULL);
    else if (!quoted && v[0] == '\0')
        st = value_error(ps, EB_ERR_FORMAT, j, "empty value", NULL);
    else
        switch (ps->out->attributes[j].type) {
        case EB_ARFF_NUMERIC: {
            char *endp;
            double d = strtod(v, &endp);
            if (endp == v || *endp != '\0')
                st = value_error(ps, EB_ERR_FORMAT, j, "not a number:", v);
            else if (!isfinite(d))
                st = value_error(ps, EB_ERR_NUMERIC, j, "non-finite value", v);
            else
                *x = d;
            break;
        }
        case EB_ARFF_NOMINAL: {
            int32_t k = eb__str_index_find(&ps->nominal[j], v);
            if (k < 0)
                st = value_error(ps, EB_ERR_FORMAT, j, "undeclared nominal value", v);
            else
                *x = (double)k;
            break;
        }
        case EB_ARFF_STRING: return push_string(ps, v, x); /* consumes v */
        }
    free(v);
    return st;
}

/* Room for one more row of a->values. */
static eb_status reserve_row(parser *ps) {
    eb_arff *a = ps->out;
    const int na = a->num_attributes;
    if (a->num_rows * na + na <= ps->cap_values) return EB_OK;
    int64_t cap = ps->cap_values ? ps->cap_values * 2 : (int64_t)na * 256;
    double *n = realloc(a->values, (size_t)cap * sizeof *n);
    if (!n) return oom(ps);
    a->values = n;
    ps->cap_values = cap;
    return EB_OK;
}

static eb_status parse_instance(parser *ps) {
    eb_arff *a = ps->out;
    int na = a->num_attributes;
    char msg[256];
    if (*ps->p == '{') return fail(ps, EB_ERR_UNSUPPORTED, "sparse ARFF instances are not supported", NULL);
    eb_status st = reserve_row(ps);
    if (st != EB_OK) return st;
    double *row = a->values + a->num_rows * na;
    for (int j = 0; j < na; j++) {
        if (j > 0) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ',') {
                if (!at_line_end(ps))
                    return fail(ps, EB_ERR_FORMAT, "expected ',' before the value of attribute",
                                a->attributes[j].name);
                snprintf(msg, sizeof msg, "expected %d values, got %d", na, j);
                return fail(ps, EB_ERR_FORMAT, msg, NULL);
            }
            ps->p++;
        }
        char *v;
        int quoted;
        if ((st = read_token(ps, ",{", 0, &v, &quoted)) != EB_OK) return st;
        if ((st = parse_value(ps, j, v, quoted, &row[j])) != EB_OK) return st;
    }
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '{')
        return fail(ps, EB_ERR_UNSUPPORTED, "instance weights are not supported", NULL);
    if (!at_line_end(ps)) {
        snprintf(msg, sizeof msg, "more than %d values", na);
        return fail(ps, EB_ERR_FORMAT, msg, NULL);
    }
    a->num_rows++;
    return EB_OK;
}

/* ---- driver ------------------------------------------------------------------------------- */

/* Reads "@word" at ps->p into kw (lower-case). */
static void read_keyword(parser *ps, char *kw, size_t size) {
    size_t n = 0;
    ps->p++; /* '@' */
    while (ps->p < ps->end && isalpha((unsigned char)*ps->p)) {
        char c = (char)tolower((unsigned char)*ps->p++);
        if (n + 1 < size) kw[n++] = c;
    }
    kw[n] = '\0';
}

static eb_status parse(parser *ps, const char *text, size_t len) {
    enum { WANT_RELATION, HEADER, DATA } state = WANT_RELATION;
    const char *line = text, *text_end = text + len;
    eb_status st = EB_OK;
    for (ps->line = 1; line < text_end; ps->line++) {
        const char *nl = memchr(line, '\n', (size_t)(text_end - line));
        ps->p = line;
        ps->end = nl ? nl : text_end;
        line = nl ? nl + 1 : text_end;
        if (memchr(ps->p, '\0', (size_t)(ps->end - ps->p)))
            return fail(ps, EB_ERR_FORMAT, "NUL byte in the file (not a text ARFF file?)", NULL);
        if (at_line_end(ps)) continue;
        if (state == DATA) {
            if ((st = parse_instance(ps)) != EB_OK) return st;
            continue;
        }
        if (*ps->p != '@') return fail(ps, EB_ERR_FORMAT, "expected @relation, @attribute or @data", NULL);
        char kw[16];
        read_keyword(ps, kw, sizeof kw);
        if (strcmp(kw, "relation") == 0) {
            if (state != WANT_RELATION) return fail(ps, EB_ERR_FORMAT, "repeated @relation", NULL);
            int quoted;
            if ((st = read_token(ps, "%", 0, &ps->out->relation, &quoted)) != EB_OK) return st;
            if (!quoted && ps->out->relation[0] == '\0')
                return fail(ps, EB_ERR_FORMAT, "@relation without a name", NULL);
            if (!at_line_end(ps))
                return fail(ps, EB_ERR_FORMAT, "unexpected text after the @relation name", NULL);
            state = HEADER;
        } else if (strcmp(kw, "attribute") == 0) {
            if (state == WANT_RELATION) return fail(ps, EB_ERR_FORMAT, "@attribute before @relation", NULL);
            if ((st = parse_attribute(ps)) != EB_OK) return st;
        } else if (strcmp(kw, "data") == 0) {
            if (state == WANT_RELATION) return fail(ps, EB_ERR_FORMAT, "@data before @relation", NULL);
            if (ps->out->num_attributes == 0)
                return fail(ps, EB_ERR_FORMAT, "@data before any @attribute", NULL);
            if (!at_line_end(ps)) return fail(ps, EB_ERR_FORMAT, "unexpected text after @data", NULL);
            state = DATA;
        } else {
            return fail(ps, EB_ERR_FORMAT, "unknown declaration", kw);
        }
    }
    if (state != DATA)
        return eb_error_set(ps->err, EB_ERR_FORMAT, "%s: no @data section (truncated or not an ARFF file?)",
                            ps->path);
    return EB_OK;
}

eb_status eb_arff_read(const char *path, eb_arff *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    eb_status st = eb_file_read_all(path, &text, &len, err);
    if (st != EB_OK) return st;
    parser ps = {.path = path, .err = err, .out = out};
    size_t plen = strlen(path);
    out->path = malloc(plen + 1);
    if (!out->path) {
        free(text);
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(out->path, path, plen + 1);
    size_t skip = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; /* UTF-8 BOM */
    st = parse(&ps, text + skip, len - skip);
    parser_free(&ps);
    free(text);
    if (st != EB_OK) eb_arff_free(out);
    return st;
}

void eb_arff_free(eb_arff *a) {
    if (!a) return;
    for (int i = 0; i < a->num_attributes; i++) {
        free(a->attributes[i].name);
        for (int k = 0; k < a->attributes[i].num_values; k++) free(a->attributes[i].values[k]);
        free(a->attributes[i].values);
    }
    free(a->attributes);
    for (int64_t i = 0; i < a->num_strings; i++) free(a->strings[i]);
    free(a->strings);
    free(a->values);
    free(a->relation);
    free(a->path);
    memset(a, 0, sizeof *a);
}

int eb_arff_find_attribute(const eb_arff *a, const char *name) {
    for (int i = 0; i < a->num_attributes; i++)
        if (strcmp(a->attributes[i].name, name) == 0) return i;
    return -1;
}

eb_status eb_arff_to_dataset(const eb_arff *a, const char *class_attribute, eb_dataset *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    const char *path = a->path ? a->path : "arff";
    int cls = -1;
    if (class_attribute) {
        cls = eb_arff_find_attribute(a, class_attribute);
        if (cls < 0)
            return eb_error_set(err, EB_ERR_ARG, "%s: no attribute named '%s'", path, class_attribute);
        if (a->attributes[cls].type != EB_ARFF_NOMINAL)
            return eb_error_set(err, EB_ERR_ARG, "%s: class attribute '%s' is not nominal", path,
                                class_attribute);
    } else {
        for (int i = a->num_attributes - 1; i >= 0 && cls < 0; i--)
            if (a->attributes[i].type == EB_ARFF_NOMINAL) cls = i;
        if (cls < 0)
            return eb_error_set(err, EB_ERR_ARG, "%s: no nominal attribute to use as the class", path);
    }
    for (int i = 0; i < a->num_attributes; i++)
        if (i != cls && a->attributes[i].type == EB_ARFF_STRING)
            return eb_error_set(err, EB_ERR_UNSUPPORTED,
                                "%s: string attribute '%s' cannot be a numeric feature", path,
                                a->attributes[i].name);
    const eb_arff_attribute *ca = &a->attributes[cls];
    int64_t dim = a->num_attributes - 1;
    if (dim < 1) return eb_error_set(err, EB_ERR_ARG, "%s: no feature attribute besides the class", path);
    eb_error alloc_err;
    eb_status st = eb_dataset_alloc(a->num_rows, dim, ca->num_values, true, out, &alloc_err);
    if (st != EB_OK) return eb_error_set(err, st, "%s: %s", path, alloc_err.message);
    for (int64_t r = 0; r < a->num_rows; r++) {
        const double *row = a->values + r * a->num_attributes;
        float *x = out->x + r * dim;
        for (int j = 0, k = 0; j < a->num_attributes; j++) {
            if (j == cls)
                out->y[r] = (int32_t)row[j];
            else
                x[k++] = (float)row[j];
        }
    }
    /* a finite double may still overflow float */
    if ((st = eb_dataset_check_finite(out, path, err)) != EB_OK) {
        eb_dataset_free(out);
        return st;
    }
    if ((st = eb_dataset_set_class_names(out, (const char *const *)ca->values, err)) != EB_OK) {
        eb_dataset_free(out);
        return st;
    }
    return EB_OK;
}
