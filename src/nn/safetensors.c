/* safetensors reader and writer (format: include/ebood/safetensors.h, and the "Format" section of
 * https://github.com/huggingface/safetensors). The header is parsed and printed with cJSON. */
#define _POSIX_C_SOURCE 200809L
#include <ebood/safetensors.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ebood's safetensors I/O copies tensor bytes as-is and needs a little-endian host"
#endif

#define ST_MAX_HEADER  ((uint64_t)100 * 1000 * 1000) /* same limit as the reference reader */
#define ST_MAX_JSONINT ((uint64_t)1 << 53)           /* largest integer a double holds exactly */
#define ST_ALIGN       ((uint64_t)64)
#define ST_META_KEY    "__metadata__"

/* ---- dtypes ---------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    size_t size;
} dtype_info[EB_ST_DTYPE_COUNT] = {
    [EB_ST_BOOL] = {"BOOL", 1},       [EB_ST_U8] = {"U8", 1},           [EB_ST_I8] = {"I8", 1},
    [EB_ST_F8_E5M2] = {"F8_E5M2", 1}, [EB_ST_F8_E4M3] = {"F8_E4M3", 1}, [EB_ST_I16] = {"I16", 2},
    [EB_ST_U16] = {"U16", 2},         [EB_ST_F16] = {"F16", 2},         [EB_ST_BF16] = {"BF16", 2},
    [EB_ST_I32] = {"I32", 4},         [EB_ST_U32] = {"U32", 4},         [EB_ST_F32] = {"F32", 4},
    [EB_ST_F64] = {"F64", 8},         [EB_ST_I64] = {"I64", 8},         [EB_ST_U64] = {"U64", 8},
};

static int dtype_valid(eb_st_dtype d) { return (int)d >= 0 && (int)d < EB_ST_DTYPE_COUNT; }

const char *eb_st_dtype_name(eb_st_dtype dtype) { return dtype_valid(dtype) ? dtype_info[dtype].name : "?"; }

size_t eb_st_dtype_size(eb_st_dtype dtype) { return dtype_valid(dtype) ? dtype_info[dtype].size : 0; }

eb_status eb_st_dtype_from_name(const char *name, eb_st_dtype *out, eb_error *err) {
    for (int i = 0; name && i < EB_ST_DTYPE_COUNT; i++) {
        if (strcmp(name, dtype_info[i].name) == 0) {
            *out = (eb_st_dtype)i;
            return EB_OK;
        }
    }
    return eb_error_set(err, EB_ERR_UNSUPPORTED, "unknown safetensors dtype '%s'", name ? name : "(null)");
}

/* ---- small helpers ----------------------------------------------------------------------------- */

/* a * b without wrapping; returns 0 on overflow. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* prod(shape) * dtype size, with every step checked; returns 0 on overflow (or beyond SIZE_MAX). */
static int tensor_nbytes(eb_st_dtype dtype, int ndim, const int64_t *shape, uint64_t *out) {
    uint64_t n = eb_st_dtype_size(dtype);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || !mul_u64(n, (uint64_t)shape[i], &n)) return 0;
    if (n > SIZE_MAX) return 0;
    *out = n;
    return 1;
}

/* "[3, 4]" ("[]" for a scalar); truncated to fit. */
static const char *fmt_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Strict UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). Returns the offset
 * of the first bad byte, or len if all are valid. */
static size_t utf8_check(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t k;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return i;
        }
        if (len - i <= k) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t j = 2; j <= k; j++)
            if (s[i + j] < 0x80 || s[i + j] > 0xBF) return i;
        i += k + 1;
    }
    return len;
}

static int utf8_ok(const char *s) {
    size_t n = strlen(s);
    return utf8_check((const unsigned char *)s, n) == n;
}

/* A name with the position it had in some array; sorted by name for duplicate checks and lookup. */
typedef struct name_ix {
    const char *name;
    int idx;
} name_ix;

static int cmp_name_ix(const void *a, const void *b) {
    const name_ix *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_key_name_ix(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const name_ix *)elem)->name);
}

/* Sorts ix[0..n) by name; returns the first name that occurs twice, or NULL. */
static const char *sort_find_duplicate(name_ix *ix, int n) {
    if (n > 1) qsort(ix, (size_t)n, sizeof *ix, cmp_name_ix);
    for (int i = 1; i < n; i++)
        if (strcmp(ix[i - 1].name, ix[i].name) == 0) return ix[i].name;
    return NULL;
}

/* ---- writer ---------------------------------------------------------------------------------- */

/* Adds item under key (or to an array when obj is an array and key NULL); clears *ok on failure. */
static void json_add(cJSON *obj, const char *key, cJSON *item, int *ok) {
    cJSON_bool added = 0;
    if (item) added = key ? cJSON_AddItemToObject(obj, key, item) : cJSON_AddItemToArray(obj, item);
    if (!added) {
        cJSON_Delete(item);
        *ok = 0;
    }
}

/* An exact integer: printed by us, not through a double. */
static cJSON *json_u64(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateRaw(buf);
}

static eb_status check_write_args(const char *path, const eb_st_tensor *tensors, int n_tensors,
                                  const eb_st_meta *meta, int n_meta, eb_error *err) {
    char sbuf[160];
    if (n_tensors < 0 || (n_tensors > 0 && !tensors))
        return eb_error_set(err, EB_ERR_ARG, "%s: invalid tensor list (n_tensors = %d)", path, n_tensors);
    if (n_meta < 0 || (n_meta > 0 && !meta))
        return eb_error_set(err, EB_ERR_ARG, "%s: invalid metadata list (n_meta = %d)", path, n_meta);
    for (int i = 0; i < n_tensors; i++) {
        const eb_st_tensor *t = &tensors[i];
        if (!t->name || !t->name[0])
            return eb_error_set(err, EB_ERR_ARG, "%s: tensor %d has no name", path, i);
        if (!utf8_ok(t->name))
            return eb_error_set(err, EB_ERR_ARG, "%s: tensor %d: name is not valid UTF-8", path, i);
        if (strcmp(t->name, ST_META_KEY) == 0)
            return eb_error_set(err, EB_ERR_ARG, "%s: tensor name '%s' is reserved", path, ST_META_KEY);
        if (!dtype_valid(t->dtype))
            return eb_error_set(err, EB_ERR_ARG, "%s: tensor '%s': invalid dtype %d", path, t->name,
                                (int)t->dtype);
        if (t->ndim < 0 || t->ndim > EB_ST_MAX_DIMS)
            return eb_error_set(err, EB_ERR_ARG, "%s: tensor '%s': ndim %d outside [0, %d]", path, t->name,
                                t->ndim, EB_ST_MAX_DIMS);
        for (int d = 0; d < t->ndim; d++)
            if (t->shape[d] < 0)
                return eb_error_set(err, EB_ERR_ARG, "%s: tensor '%s': negative dimension in shape %s", path,
                                    t->name, fmt_shape(sbuf, sizeof sbuf, t->ndim, t->shape));
        uint64_t need;
        if (!tensor_nbytes(t->dtype, t->ndim, t->shape, &need))
            return eb_error_set(err, EB_ERR_ARG, "%s: tensor '%s': shape %s of %s is too large", path,
                                t->name, fmt_shape(sbuf, sizeof sbuf, t->ndim, t->shape),
                                eb_st_dtype_name(t->dtype));
        if (need != t->nbytes)
            return eb_error_set(err, EB_ERR_ARG,
                                "%s: tensor '%s': nbytes is %zu but shape %s of %s needs %" PRIu64, path,
                                t->name, t->nbytes, fmt_shape(sbuf, sizeof sbuf, t->ndim, t->shape),
                                eb_st_dtype_name(t->dtype), need);
        if (need > 0 && !t->data)
            return eb_error_set(err, EB_ERR_ARG, "%s: tensor '%s': data is NULL", path, t->name);
    }
    for (int i = 0; i < n_meta; i++) {
        if (!meta[i].key || !meta[i].value)
            return eb_error_set(err, EB_ERR_ARG, "%s: metadata entry %d has a NULL %s", path, i,
                                meta[i].key ? "value" : "key");
        if (!utf8_ok(meta[i].key) || !utf8_ok(meta[i].value))
            return eb_error_set(err, EB_ERR_ARG, "%s: metadata entry %d is not valid UTF-8", path, i);
    }

    /* duplicates: tensor names, then metadata keys */
    int most = n_tensors > n_meta ? n_tensors : n_meta;
    name_ix *ix = malloc(sizeof *ix * (size_t)(most ? most : 1));
    if (!ix) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < n_tensors; i++) ix[i] = (name_ix){tensors[i].name, i};
    const char *dup = sort_find_duplicate(ix, n_tensors);
    eb_status st = EB_OK;
    if (dup) st = eb_error_set(err, EB_ERR_ARG, "%s: duplicate tensor name '%s'", path, dup);
    if (st == EB_OK) {
        for (int i = 0; i < n_meta; i++) ix[i] = (name_ix){meta[i].key, i};
        dup = sort_find_duplicate(ix, n_meta);
        if (dup) st = eb_error_set(err, EB_ERR_ARG, "%s: duplicate metadata key '%s'", path, dup);
    }
    free(ix);
    return st;
}

/* The header JSON (unpadded), malloc'd; NULL on OOM. Data offsets follow the given order. */
static char *build_header(const eb_st_tensor *tensors, int n_tensors, const eb_st_meta *meta, int n_meta) {
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && n_meta > 0) {
        cJSON *m = cJSON_CreateObject();
        for (int i = 0; m && i < n_meta; i++)
            json_add(m, meta[i].key, cJSON_CreateString(meta[i].value), &ok);
        json_add(root, ST_META_KEY, m, &ok);
    }
    uint64_t offset = 0; /* cannot overflow: every nbytes was checked to fit in size_t */
    for (int i = 0; ok && i < n_tensors; i++) {
        const eb_st_tensor *t = &tensors[i];
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
        if (e) {
            json_add(e, "dtype", cJSON_CreateString(eb_st_dtype_name(t->dtype)), &ok);
            for (int d = 0; shape && d < t->ndim; d++)
                json_add(shape, NULL, json_u64((uint64_t)t->shape[d]), &ok);
            json_add(e, "shape", shape, &ok);
            if (offs) {
                json_add(offs, NULL, json_u64(offset), &ok);
                json_add(offs, NULL, json_u64(offset + t->nbytes), &ok);
            }
            json_add(e, "data_offsets", offs, &ok);
        } else {
            cJSON_Delete(shape);
            cJSON_Delete(offs);
        }
        json_add(root, t->name, e, &ok);
        offset += t->nbytes;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

eb_status eb_safetensors_write(const char *path, const eb_st_tensor *tensors, int n_tensors,
                               const eb_st_meta *meta, int n_meta, eb_error *err) {
    if (!path) return eb_error_set(err, EB_ERR_ARG, "eb_safetensors_write: path is NULL");
    eb_status st = check_write_args(path, tensors, n_tensors, meta, n_meta, err);
    if (st != EB_OK) return st;

    char *header = build_header(tensors, n_tensors, meta, n_meta);
    if (!header) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory building the header", path);
    size_t len = strlen(header);
    size_t padded = (len + 7) / 8 * 8; /* spaces up to a multiple of 8: the buffer starts 8-aligned */
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++) prefix[i] = (unsigned char)((uint64_t)padded >> (8 * i));

    eb_atomic_file af;
    st = eb_atomic_open(&af, path, err);
    if (st != EB_OK) {
        free(header);
        return st;
    }
    static const char spaces[] = "       "; /* padded - len <= 7 */
    int ok = fwrite(prefix, 1, 8, af.fp) == 8 && fwrite(header, 1, len, af.fp) == len &&
             fwrite(spaces, 1, padded - len, af.fp) == padded - len;
    for (int i = 0; ok && i < n_tensors; i++)
        if (tensors[i].nbytes > 0)
            ok = fwrite(tensors[i].data, 1, tensors[i].nbytes, af.fp) == tensors[i].nbytes;
    free(header);
    if (!ok) {
        int saved = errno;
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed: %s", path, strerror(saved));
    }
    return eb_atomic_commit(&af, err);
}

/* ---- reader ---------------------------------------------------------------------------------- */

struct eb_safetensors {
    char *path;
    int n;
    eb_st_tensor *tensors; /* buffer order; names owned */
    name_ix *by_name;      /* sorted by name, idx into tensors */
    int n_meta;
    eb_st_meta *meta; /* header order; keys and values owned */
    name_ix *meta_by_key;
    void *data; /* one 64-aligned block; each tensor at a 64-aligned offset */
};

void eb_safetensors_free(eb_safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n; i++) free((char *)st->tensors[i].name);
    for (int i = 0; i < st->n_meta; i++) {
        free((char *)st->meta[i].key);
        free((char *)st->meta[i].value);
    }
    free(st->tensors);
    free(st->by_name);
    free(st->meta);
    free(st->meta_by_key);
    eb_free(NULL, st->data);
    free(st->path);
    free(st);
}

/* Where each tensor's bytes lie in the file's data buffer, with its position in the header. */
typedef struct span {
    uint64_t begin, end;
    int idx;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* A JSON number that must be an exact integer in [0, 2^53]. */
static eb_status json_uint(const char *path, const char *tname, const char *what, const cJSON *item,
                           uint64_t *out, eb_error *err) {
    if (!cJSON_IsNumber(item))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': %s is not a number", path, tname, what);
    double v = item->valuedouble;
    if (v != v) return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': %s is NaN", path, tname, what);
    if (v < 0)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': %s is negative (%.17g)", path, tname, what,
                            v);
    if (v > (double)ST_MAX_JSONINT)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': %s is too large (%.17g > 2^53)", path,
                            tname, what, v);
    if ((double)(uint64_t)v != v)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': %s is not an integer (%.17g)", path, tname,
                            what, v);
    *out = (uint64_t)v;
    return EB_OK;
}

/* Validates one tensor entry and fills t (name not set) and its span in the data buffer. */
static eb_status parse_tensor(const char *path, const cJSON *item, uint64_t buf_size, eb_st_tensor *t,
                              span *sp, eb_error *err) {
    const char *name = item->string;
    char what[48], sbuf[160];
    if (!cJSON_IsObject(item))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': entry is not a JSON object", path, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!dtype || !shape || !offs)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': missing \"%s\"", path, name,
                            !dtype   ? "dtype"
                            : !shape ? "shape"
                                     : "data_offsets");
    if (!cJSON_IsString(dtype))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': \"dtype\" is not a string", path, name);
    if (eb_st_dtype_from_name(dtype->valuestring, &t->dtype, NULL) != EB_OK)
        return eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: tensor '%s': unknown dtype '%s'", path, name,
                            dtype->valuestring);
    if (!cJSON_IsArray(shape))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': \"shape\" is not an array", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > EB_ST_MAX_DIMS)
        return eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: tensor '%s': %d dimensions (at most %d supported)",
                            path, name, ndim, EB_ST_MAX_DIMS);
    t->ndim = ndim;
    memset(t->shape, 0, sizeof t->shape);
    int d = 0;
    for (const cJSON *e = shape->child; e; e = e->next, d++) {
        uint64_t v;
        snprintf(what, sizeof what, "dimension %d of \"shape\"", d);
        eb_status s = json_uint(path, name, what, e, &v, err);
        if (s != EB_OK) return s;
        t->shape[d] = (int64_t)v;
    }
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: tensor '%s': \"data_offsets\" is not an array of 2 integers", path, name);
    eb_status s = json_uint(path, name, "data_offsets[0]", offs->child, &sp->begin, err);
    if (s == EB_OK) s = json_uint(path, name, "data_offsets[1]", offs->child->next, &sp->end, err);
    if (s != EB_OK) return s;
    if (sp->begin > sp->end)
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin",
                            path, name, sp->begin, sp->end);
    uint64_t need;
    if (!tensor_nbytes(t->dtype, t->ndim, t->shape, &need))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s': shape %s of %s overflows", path, name,
                            fmt_shape(sbuf, sizeof sbuf, t->ndim, t->shape), eb_st_dtype_name(t->dtype));
    if (sp->end - sp->begin != need)
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                            " bytes but shape %s of %s needs %" PRIu64,
                            path, name, sp->begin, sp->end, sp->end - sp->begin,
                            fmt_shape(sbuf, sizeof sbuf, t->ndim, t->shape), eb_st_dtype_name(t->dtype),
                            need);
    if (sp->end > buf_size)
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] go beyond the %" PRIu64
                            "-byte data buffer",
                            path, name, sp->begin, sp->end, buf_size);
    t->nbytes = (size_t)need;
    return EB_OK;
}

static eb_status parse_metadata(const char *path, const cJSON *item, eb_safetensors *st, eb_error *err) {
    if (!cJSON_IsObject(item))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: \"%s\" is not a JSON object", path, ST_META_KEY);
    int n = cJSON_GetArraySize(item);
    st->meta = calloc((size_t)(n ? n : 1), sizeof *st->meta);
    st->meta_by_key = calloc((size_t)(n ? n : 1), sizeof *st->meta_by_key);
    if (!st->meta || !st->meta_by_key) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    for (const cJSON *e = item->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return eb_error_set(err, EB_ERR_FORMAT, "%s: metadata value for key '%s' is not a string", path,
                                e->string);
        eb_st_meta *m = &st->meta[st->n_meta];
        m->key = dup_str(e->string);
        m->value = m->key ? dup_str(e->valuestring) : NULL;
        if (m->key) st->n_meta++; /* owned from here on, freed by eb_safetensors_free */
        if (!m->value) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < st->n_meta; i++) st->meta_by_key[i] = (name_ix){st->meta[i].key, i};
    const char *dup = sort_find_duplicate(st->meta_by_key, st->n_meta);
    if (dup) return eb_error_set(err, EB_ERR_FORMAT, "%s: duplicate metadata key '%s'", path, dup);
    return EB_OK;
}

/* Validates the parsed header and fills st (tensors in buffer order, names, metadata). */
static eb_status parse_header(const char *path, const cJSON *root, uint64_t buf_size, eb_safetensors *st,
                              eb_error *err) {
    if (!cJSON_IsObject(root))
        return eb_error_set(err, EB_ERR_FORMAT, "%s: header is not a JSON object", path);
    int n_items = cJSON_GetArraySize(root);
    size_t cap = (size_t)(n_items ? n_items : 1);
    eb_st_tensor *tens = calloc(cap, sizeof *tens);
    span *spans = calloc(cap, sizeof *spans);
    st->tensors = calloc(cap, sizeof *st->tensors);
    st->by_name = calloc(cap, sizeof *st->by_name);
    eb_status s = EB_OK;
    if (!tens || !spans || !st->tensors || !st->by_name)
        s = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);

    /* 1. each entry on its own, in header order */
    int n = 0, seen_meta = 0;
    for (const cJSON *e = root->child; s == EB_OK && e; e = e->next) {
        if (strcmp(e->string, ST_META_KEY) == 0) {
            if (seen_meta++)
                s = eb_error_set(err, EB_ERR_FORMAT, "%s: duplicate \"%s\"", path, ST_META_KEY);
            else
                s = parse_metadata(path, e, st, err);
            continue;
        }
        s = parse_tensor(path, e, buf_size, &tens[n], &spans[n], err);
        spans[n].idx = n;
        tens[n].name = e->string; /* borrowed from the JSON until copied below */
        if (s == EB_OK) n++;
    }
    /* 2. names unique */
    if (s == EB_OK) {
        for (int i = 0; i < n; i++) st->by_name[i] = (name_ix){tens[i].name, i};
        const char *dup = sort_find_duplicate(st->by_name, n);
        if (dup) s = eb_error_set(err, EB_ERR_FORMAT, "%s: duplicate tensor name '%s'", path, dup);
    }
    /* 3. the spans tile [0, buf_size) exactly: sorted by offset, each begins where the last ended */
    if (s == EB_OK) {
        if (n > 1) qsort(spans, (size_t)n, sizeof *spans, cmp_span);
        uint64_t at = 0;
        const char *prev = NULL;
        for (int i = 0; s == EB_OK && i < n; i++) {
            const span *p = &spans[i];
            const char *name = tens[p->idx].name;
            if (p->begin < at)
                s = eb_error_set(err, EB_ERR_FORMAT,
                                 "%s: tensors '%s' and '%s' overlap (bytes [%" PRIu64 ", %" PRIu64
                                 ") of the data buffer)",
                                 path, prev, name, p->begin, at < p->end ? at : p->end);
            else if (p->begin > at)
                s = eb_error_set(err, EB_ERR_FORMAT,
                                 "%s: bytes [%" PRIu64 ", %" PRIu64
                                 ") of the data buffer belong to no tensor",
                                 path, at, p->begin);
            if (p->end > at) {
                at = p->end;
                prev = name;
            } else if (!prev) {
                prev = name;
            }
        }
        if (s == EB_OK && at != buf_size)
            s = eb_error_set(err, EB_ERR_FORMAT,
                             "%s: bytes [%" PRIu64 ", %" PRIu64 ") of the data buffer belong to no tensor",
                             path, at, buf_size);
    }
    /* 4. the tensors in buffer order, with owned names */
    if (s == EB_OK) {
        for (int i = 0; i < n; i++) {
            st->tensors[i] = tens[spans[i].idx];
            st->tensors[i].name = dup_str(tens[spans[i].idx].name);
            if (!st->tensors[i].name) {
                s = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            st->n = i + 1;
        }
    }
    if (s == EB_OK) {
        for (int i = 0; i < n; i++) st->by_name[i] = (name_ix){st->tensors[i].name, i};
        sort_find_duplicate(st->by_name, n);
    }
    free(tens);
    free(spans);
    return s;
}

/* Reads the data buffer, which starts at the file's current position, into one block: tensors in
 * buffer order are contiguous in the file, so this is one sequential pass. */
static eb_status read_data(const char *path, FILE *fp, eb_safetensors *st, eb_error *err) {
    uint64_t total = 0;
    for (int i = 0; i < st->n; i++) total += (st->tensors[i].nbytes + ST_ALIGN - 1) / ST_ALIGN * ST_ALIGN;
    if (total > SIZE_MAX) return eb_error_set(err, EB_ERR_NOMEM, "%s: data too large for this machine", path);
    st->data = eb_alloc(NULL, (size_t)total);
    if (!st->data)
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory for %" PRIu64 " bytes", path, total);
    unsigned char *base = st->data;
    size_t at = 0;
    for (int i = 0; i < st->n; i++) {
        eb_st_tensor *t = &st->tensors[i];
        t->data = base + at;
        if (t->nbytes > 0 && fread(base + at, 1, t->nbytes, fp) != t->nbytes)
            return eb_error_set(err, EB_ERR_IO, "%s: read error in the data of tensor '%s'%s", path, t->name,
                                feof(fp) ? " (file shorter than when opened)" : "");
        at += (t->nbytes + (size_t)ST_ALIGN - 1) / (size_t)ST_ALIGN * (size_t)ST_ALIGN;
    }
    return EB_OK;
}

eb_status eb_safetensors_read(const char *path, eb_safetensors **out, eb_error *err) {
    if (!out) return eb_error_set(err, EB_ERR_ARG, "eb_safetensors_read: out is NULL");
    *out = NULL;
    if (!path) return eb_error_set(err, EB_ERR_ARG, "eb_safetensors_read: path is NULL");

    FILE *fp = fopen(path, "rb");
    if (!fp) return eb_error_set(err, EB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    eb_safetensors *st = calloc(1, sizeof *st);
    char *header = NULL;
    cJSON *root = NULL;
    eb_status s = EB_OK;
    struct stat sb;
    if (!st || !(st->path = dup_str(path))) {
        s = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        s = eb_error_set(err, EB_ERR_IO, "%s: not a regular file", path);
        goto done;
    }
    uint64_t file_size = (uint64_t)sb.st_size;
    unsigned char prefix[8];
    if (file_size < 8 || fread(prefix, 1, 8, fp) != 8) {
        s = eb_error_set(err, EB_ERR_FORMAT,
                         "%s: file is %" PRIu64 " bytes, too short for the 8-byte header length", path,
                         file_size);
        goto done;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | prefix[i];
    if (hlen > ST_MAX_HEADER) {
        s = eb_error_set(err, EB_ERR_FORMAT,
                         "%s: header length %" PRIu64 " is absurd (limit %" PRIu64 " bytes)", path, hlen,
                         ST_MAX_HEADER);
        goto done;
    }
    if (hlen > file_size - 8) {
        s = eb_error_set(err, EB_ERR_FORMAT,
                         "%s: header length %" PRIu64 " exceeds the %" PRIu64 " bytes after it", path, hlen,
                         file_size - 8);
        goto done;
    }
    header = malloc((size_t)hlen + 1);
    if (!header) {
        s = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (fread(header, 1, (size_t)hlen, fp) != hlen) {
        s = eb_error_set(err, EB_ERR_IO, "%s: read error in the header", path);
        goto done;
    }
    header[hlen] = '\0';
    size_t bad = utf8_check((const unsigned char *)header, (size_t)hlen);
    if (bad != hlen) {
        s = eb_error_set(err, EB_ERR_FORMAT, "%s: header is not valid UTF-8 (byte %zu)", path, bad);
        goto done;
    }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(header, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - header) : 0;
        s = eb_error_set(err, EB_ERR_FORMAT, "%s: header is not valid JSON (near byte %zu)", path, at);
        goto done;
    }
    while (end && end < header + hlen && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
    if (end && end != header + hlen) {
        s = eb_error_set(err, EB_ERR_FORMAT, "%s: header has text after the JSON value (byte %zu)", path,
                         (size_t)(end - header));
        goto done;
    }
    s = parse_header(path, root, file_size - 8 - hlen, st, err);
    if (s == EB_OK) s = read_data(path, fp, st, err);
done:
    cJSON_Delete(root);
    free(header);
    fclose(fp);
    if (s != EB_OK) {
        eb_safetensors_free(st);
        return s;
    }
    *out = st;
    return EB_OK;
}

/* ---- accessors ------------------------------------------------------------------------------- */

int eb_safetensors_count(const eb_safetensors *st) { return st ? st->n : 0; }

const eb_st_tensor *eb_safetensors_at(const eb_safetensors *st, int i) {
    return st && i >= 0 && i < st->n ? &st->tensors[i] : NULL;
}

const eb_st_tensor *eb_safetensors_find(const eb_safetensors *st, const char *name) {
    if (!st || !name || st->n == 0) return NULL;
    const name_ix *hit = bsearch(name, st->by_name, (size_t)st->n, sizeof *st->by_name, cmp_key_name_ix);
    return hit ? &st->tensors[hit->idx] : NULL;
}

const char *eb_safetensors_meta(const eb_safetensors *st, const char *key) {
    if (!st || !key || st->n_meta == 0) return NULL;
    const name_ix *hit =
        bsearch(key, st->meta_by_key, (size_t)st->n_meta, sizeof *st->meta_by_key, cmp_key_name_ix);
    return hit ? st->meta[hit->idx].value : NULL;
}

int eb_safetensors_meta_count(const eb_safetensors *st) { return st ? st->n_meta : 0; }

const eb_st_meta *eb_safetensors_meta_at(const eb_safetensors *st, int i) {
    return st && i >= 0 && i < st->n_meta ? &st->meta[i] : NULL;
}

const char *eb_safetensors_path(const eb_safetensors *st) { return st ? st->path : NULL; }

eb_status eb_safetensors_check_f32(const eb_safetensors *st, const char *name, int ndim, const int64_t *shape,
                                   eb_error *err) {
    if (!st || !name || (ndim > 0 && !shape))
        return eb_error_set(err, EB_ERR_ARG, "%s: eb_safetensors_check_f32: NULL argument",
                            st ? st->path : "(no file)");
    if (ndim < 0 || ndim > EB_ST_MAX_DIMS)
        return eb_error_set(err, EB_ERR_ARG, "%s: tensor '%s': expected ndim %d outside [0, %d]", st->path,
                            name, ndim, EB_ST_MAX_DIMS);
    const eb_st_tensor *t = eb_safetensors_find(st, name);
    if (!t) return eb_error_set(err, EB_ERR_FORMAT, "%s: no tensor named '%s'", st->path, name);
    if (t->dtype != EB_ST_F32)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected F32", st->path, name,
                            eb_st_dtype_name(t->dtype));
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char have[160], want[160];
        return eb_error_set(err, EB_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s", st->path, name,
                            fmt_shape(have, sizeof have, t->ndim, t->shape),
                            fmt_shape(want, sizeof want, ndim, shape));
    }
    return EB_OK;
}

eb_status eb_safetensors_get_f32(const eb_safetensors *st, const char *name, int ndim, const int64_t *shape,
                                 float *dst, eb_error *err) {
    if (!dst)
        return eb_error_set(err, EB_ERR_ARG, "%s: eb_safetensors_get_f32: NULL argument",
                            st ? st->path : "(no file)");
    eb_status s = eb_safetensors_check_f32(st, name, ndim, shape, err);
    if (s != EB_OK) return s;
    const eb_st_tensor *t = eb_safetensors_find(st, name);
    if (t->nbytes > 0) memcpy(dst, t->data, t->nbytes);
    return EB_OK;
}
