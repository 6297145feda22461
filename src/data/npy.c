/* NPY reader and writer (numpy's format, NEP 1 / numpy.lib.format).
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0, uint32 LE for 2.0/3.0),
 * then an ASCII Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes, then
 * the raw elements in C order. */
#include <ebood/data.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

size_t eb_dtype_size(eb_dtype dtype) {
    switch (dtype) {
    case EB_DTYPE_F32: return 4;
    case EB_DTYPE_F64: return 8;
    case EB_DTYPE_I32: return 4;
    case EB_DTYPE_I64: return 8;
    case EB_DTYPE_U8: return 1;
    }
    return 0;
}

const char *eb_dtype_name(eb_dtype dtype) {
    switch (dtype) {
    case EB_DTYPE_F32: return "float32";
    case EB_DTYPE_F64: return "float64";
    case EB_DTYPE_I32: return "int32";
    case EB_DTYPE_I64: return "int64";
    case EB_DTYPE_U8: return "uint8";
    }
    return "invalid";
}

/* The type code after the byte-order character: "f4", "f8", "i4", "i8", "u1". */
static const char *dtype_code(eb_dtype dtype) {
    switch (dtype) {
    case EB_DTYPE_F32: return "f4";
    case EB_DTYPE_F64: return "f8";
    case EB_DTYPE_I32: return "i4";
    case EB_DTYPE_I64: return "i8";
    case EB_DTYPE_U8: return "u1";
    }
    return NULL;
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static void byteswap(void *data, int64_t count, size_t size) {
    unsigned char *p = data;
    for (int64_t i = 0; i < count; i++, p += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* A 0 dim first: the other dims of an empty array may multiply beyond 64 bits (the reader checks the
 * byte count only when no dim is 0; found by fuzz_npy: shape (12222222222, 730, 710, 7, 2, 710, 0, 2)). */
int64_t eb_npy_array_numel(const eb_npy_array *a) {
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] == 0) return 0;
    int64_t n = 1;
    for (int i = 0; i < a->ndim; i++) n *= a->shape[i];
    return n;
}

void eb_npy_array_free(eb_npy_array *a) {
    if (!a) return;
    eb_free(NULL, a->data);
    memset(a, 0, sizeof *a);
}

/* "(3, 4)" for messages. */
static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, ndim == 1 ? ",)" : ")");
}

/* ---- header dict parser -------------------------------------------------------------------- */

typedef struct header_parser {
    const char *p, *end;
    const char *path;
    eb_error *err;
} header_parser;

static void hp_skip_ws(header_parser *hp) {
    while (hp->p < hp->end && (*hp->p == ' ' || *hp->p == '\t' || *hp->p == '\n' || *hp->p == '\r')) hp->p++;
}

static eb_status hp_fail(header_parser *hp, const char *what) {
    return eb_error_set(hp->err, EB_ERR_FORMAT, "%s: malformed NPY header: %s", hp->path, what);
}

/* A Python string literal '…' or "…" (no escapes needed for the keys and dtypes we accept). */
static eb_status hp_string(header_parser *hp, char *out, size_t size) {
    hp_skip_ws(hp);
    if (hp->p >= hp->end || (*hp->p != '\'' && *hp->p != '"')) return hp_fail(hp, "expected a quoted string");
    char q = *hp->p++;
    size_t n = 0;
    while (hp->p < hp->end && *hp->p != q) {
        if (n + 1 >= size) return hp_fail(hp, "string too long");
        out[n++] = *hp->p++;
    }
    if (hp->p >= hp->end) return hp_fail(hp, "unterminated string");
    hp->p++;
    out[n] = '\0';
    return EB_OK;
}

static int hp_accept(header_parser *hp, char c) {
    hp_skip_ws(hp);
    if (hp->p < hp->end && *hp->p == c) {
        hp->p++;
        return 1;
    }
    return 0;
}

static eb_status hp_bool(header_parser *hp, bool *out) {
    hp_skip_ws(hp);
    size_t left = (size_t)(hp->end - hp->p);
    if (left >= 4 && memcmp(hp->p, "True", 4) == 0) {
        hp->p += 4;
        *out = true;
        return EB_OK;
    }
    if (left >= 5 && memcmp(hp->p, "False", 5) == 0) {
        hp->p += 5;
        *out = false;
        return EB_OK;
    }
    return hp_fail(hp, "fortran_order is neither True nor False");
}

static eb_status hp_shape(header_parser *hp, int *ndim, int64_t shape[EB_NPY_MAX_DIMS]) {
    if (!hp_accept(hp, '(')) return hp_fail(hp, "shape is not a tuple");
    *ndim = 0;
    for (;;) {
        if (hp_accept(hp, ')')) return EB_OK;
        hp_skip_ws(hp);
        if (hp->p >= hp->end || *hp->p < '0' || *hp->p > '9')
            return hp_fail(hp, "shape entry is not an integer");
        int64_t v = 0;
        while (hp->p < hp->end && *hp->p >= '0' && *hp->p <= '9') {
            if (v > (INT64_MAX - 9) / 10) return hp_fail(hp, "shape entry too large");
            v = v * 10 + (*hp->p++ - '0');
        }
        if (hp->p < hp->end && *hp->p == 'L') hp->p++; /* Python 2 long suffix */
        if (*ndim >= EB_NPY_MAX_DIMS)
            return eb_error_set(hp->err, EB_ERR_UNSUPPORTED,
                                "%s: NPY arrays with more than %d dimensions are not supported", hp->path,
                                EB_NPY_MAX_DIMS);
        shape[(*ndim)++] = v;
        if (hp_accept(hp, ',')) continue;
        if (hp_accept(hp, ')')) return EB_OK;
        return hp_fail(hp, "shape tuple is not closed");
    }
}

/* Maps a descr string to a dtype and whether the file's byte order is big-endian. */
static eb_status parse_descr(const char *descr, const char *path, eb_dtype *dtype, int *big_endian,
                             eb_error *err) {
    static const eb_dtype all[] = {EB_DTYPE_F32, EB_DTYPE_F64, EB_DTYPE_I32, EB_DTYPE_I64, EB_DTYPE_U8};
    char order = descr[0];
    if (order == '<' || order == '>' || order == '|' || order == '=') {
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            if (strcmp(descr + 1, dtype_code(all[i])) != 0) continue;
            if (order == '|' && eb_dtype_size(all[i]) != 1) break; /* '|' only for single bytes */
            *dtype = all[i];
            *big_endian = order == '>' || (order == '=' && !host_is_little_endian());
            return EB_OK;
        }
    }
    return eb_error_set(err, EB_ERR_UNSUPPORTED,
                        "%s: unsupported NPY dtype '%s' (supported: float32, float64, int32, int64, uint8)",
                        path, descr);
}

static eb_status parse_header(const char *text, size_t len, const char *path, eb_npy_array *out,
                              int *big_endian, eb_error *err) {
    header_parser hp = {text, text + len, path, err};
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    bool fortran = false;
    char key[32], descr[64] = {0};
    eb_status st;
    if (!hp_accept(&hp, '{')) return hp_fail(&hp, "expected '{'");
    for (;;) {
        if (hp_accept(&hp, '}')) break;
        if ((st = hp_string(&hp, key, sizeof key)) != EB_OK) return st;
        if (!hp_accept(&hp, ':')) return hp_fail(&hp, "expected ':' after a key");
        if (strcmp(key, "descr") == 0 && !have_descr) {
            hp_skip_ws(&hp);
            if (hp.p < hp.end && *hp.p == '[')
                return eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: structured NPY dtypes are not supported",
                                    path);
            if ((st = hp_string(&hp, descr, sizeof descr)) != EB_OK) return st;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            if ((st = hp_bool(&hp, &fortran)) != EB_OK) return st;
            have_fortran = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if ((st = hp_shape(&hp, &out->ndim, out->shape)) != EB_OK) return st;
            have_shape = 1;
        } else {
            return eb_error_set(err, EB_ERR_FORMAT,
                                "%s: malformed NPY header: unexpected or repeated key '%s'", path, key);
        }
        if (hp_accept(&hp, ',')) continue;
        if (hp_accept(&hp, '}')) break;
        return hp_fail(&hp, "expected ',' or '}'");
    }
    hp_skip_ws(&hp);
    if (hp.p != hp.end) return hp_fail(&hp, "trailing characters after the dict");
    if (!have_descr || !have_fortran || !have_shape)
        return hp_fail(&hp, "missing 'descr', 'fortran_order' or 'shape'");
    if ((st = parse_descr(descr, path, &out->dtype, big_endian, err)) != EB_OK) return st;
    if (fortran)
        return eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: fortran_order=True NPY arrays are not supported",
                            path);
    return EB_OK;
}

/* ---- read ------------------------------------------------------------------------------------ */

eb_status eb_npy_read(const char *path, eb_npy_array *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0;
    eb_status st = eb_file_read_all(path, &buf, &len, err);
    if (st != EB_OK) return st;
    const unsigned char *u = (const unsigned char *)buf;
    size_t prefix = len < sizeof npy_magic ? len : sizeof npy_magic;
    if (memcmp(buf, npy_magic, prefix) != 0) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: not an NPY file (bad magic)", path);
        goto fail;
    }
    if (len < 10) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: truncated NPY header (file has %zu bytes)", path, len);
        goto fail;
    }
    int major = u[6], minor = u[7];
    size_t header_start, header_len;
    if (major == 1) {
        header_start = 10;
        header_len = (size_t)u[8] | (size_t)u[9] << 8;
    } else if (major == 2 || major == 3) {
        header_start = 12;
        if (len < header_start) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: truncated NPY header (file has %zu bytes)", path, len);
            goto fail;
        }
        header_len = (size_t)u[8] | (size_t)u[9] << 8 | (size_t)u[10] << 16 | (size_t)u[11] << 24;
    } else {
        st = eb_error_set(err, EB_ERR_UNSUPPORTED, "%s: unsupported NPY format version %d.%d", path, major,
                          minor);
        goto fail;
    }
    if (header_len > len - header_start) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: truncated NPY header (expected %zu bytes, got %zu)", path,
                          header_start + header_len, len);
        goto fail;
    }
    int big_endian = 0;
    st = parse_header(buf + header_start, header_len, path, out, &big_endian, err);
    if (st != EB_OK) goto fail;

    size_t item = eb_dtype_size(out->dtype);
    uint64_t bytes = item;
    bool overflow = false; /* a product beyond 64 bits, unless a 0 dim makes it 0 */
    for (int i = 0; i < out->ndim; i++)
        if (out->shape[i] == 0) bytes = 0;
    for (int i = 0; i < out->ndim && bytes; i++) {
        uint64_t dim = (uint64_t)out->shape[i];
        overflow |= dim != 0 && bytes > UINT64_MAX / dim;
        bytes = overflow ? 0 : bytes * dim;
    }
    size_t data_len = len - header_start - header_len;
    if (overflow || bytes != (uint64_t)data_len) {
        char shape[160];
        format_shape(shape, sizeof shape, out->ndim, out->shape);
        if (overflow)
            st = eb_error_set(err, EB_ERR_FORMAT,
                              "%s: NPY data size disagrees with shape %s of %s: its size overflows 64 bits, "
                              "the file has %zu data bytes",
                              path, shape, eb_dtype_name(out->dtype), data_len);
        else
            st = eb_error_set(err, EB_ERR_FORMAT,
                              "%s: NPY data size disagrees with shape %s of %s: expected %llu bytes, got %zu",
                              path, shape, eb_dtype_name(out->dtype), (unsigned long long)bytes, data_len);
        goto fail;
    }
    out->data = eb_alloc(NULL, data_len ? data_len : 1);
    if (!out->data) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, data_len);
        goto fail;
    }
    memcpy(out->data, buf + header_start + header_len, data_len);
    if (item > 1 && big_endian == host_is_little_endian())
        byteswap(out->data, (int64_t)(data_len / item), item);
    free(buf);
    return EB_OK;
fail:
    free(buf);
    memset(out, 0, sizeof *out);
    return st;
}

/* "(i, j, k)" multi-index of flat element `flat` of a C-ordered array. */
static void format_index(char *buf, size_t size, int ndim, const int64_t *shape, int64_t flat) {
    int64_t idx[EB_NPY_MAX_DIMS];
    for (int i = ndim - 1; i >= 0; i--) {
        idx[i] = shape[i] ? flat % shape[i] : 0;
        flat = shape[i] ? flat / shape[i] : 0;
    }
    format_shape(buf, size, ndim, idx);
}

eb_status eb_npy_read_f32(const char *path, float **data, int ndim_expected, int64_t shape_out[8],
                          int *ndim_out, eb_error *err) {
    *data = NULL;
    if (ndim_out) *ndim_out = 0;
    if (shape_out) memset(shape_out, 0, sizeof(int64_t) * EB_NPY_MAX_DIMS);
    eb_npy_array a;
    eb_status st = eb_npy_read(path, &a, err);
    if (st != EB_OK) return st;
    if (ndim_expected > 0 && a.ndim != ndim_expected) {
        char shape[160];
        format_shape(shape, sizeof shape, a.ndim, a.shape);
        st = eb_error_set(err, EB_ERR_SHAPE, "%s: expected a %d-D array, got shape %s", path, ndim_expected,
                          shape);
        eb_npy_array_free(&a);
        return st;
    }
    int64_t n = eb_npy_array_numel(&a);
    float *f = NULL;
    if (a.dtype == EB_DTYPE_F32) {
        f = a.data; /* convert in place: take ownership */
        a.data = NULL;
    } else {
        f = eb_alloc(NULL, n ? (size_t)n * sizeof(float) : 1);
        if (!f) {
            eb_npy_array_free(&a);
            return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
        }
    }
    for (int64_t i = 0; i < n; i++) {
        switch (a.dtype) {
        case EB_DTYPE_F32: break;
        case EB_DTYPE_F64: {
            double v = ((const double *)a.data)[i];
            if (isfinite(v) && fabs(v) > (double)FLT_MAX) {
                char idx[160];
                format_index(idx, sizeof idx, a.ndim, a.shape, i);
                st = eb_error_set(err, EB_ERR_NUMERIC,
                                  "%s: value %g at index %s is outside the float32 range", path, v, idx);
                goto fail;
            }
            f[i] = (float)v;
            break;
        }
        case EB_DTYPE_I32: f[i] = (float)((const int32_t *)a.data)[i]; break;
        case EB_DTYPE_I64: f[i] = (float)((const int64_t *)a.data)[i]; break;
        case EB_DTYPE_U8: f[i] = (float)((const uint8_t *)a.data)[i]; break;
        }
        if (!isfinite(f[i])) {
            char idx[160];
            format_index(idx, sizeof idx, a.ndim, a.shape, i);
            st = eb_error_set(err, EB_ERR_NUMERIC, "%s: non-finite value (%g) at index %s", path,
                              (double)f[i], idx);
            goto fail;
        }
    }
    if (ndim_out) *ndim_out = a.ndim;
    if (shape_out) memcpy(shape_out, a.shape, sizeof(int64_t) * EB_NPY_MAX_DIMS);
    eb_npy_array_free(&a);
    *data = f;
    return EB_OK;
fail:
    eb_free(NULL, f);
    eb_npy_array_free(&a);
    return st;
}

/* ---- write ----------------------------------------------------------------------------------- */

eb_status eb_npy_write(const char *path, eb_dtype dtype, int ndim, const int64_t *shape, const void *data,
                       eb_error *err) {
    size_t item = eb_dtype_size(dtype);
    if (item == 0) return eb_error_set(err, EB_ERR_ARG, "%s: invalid dtype %d", path, (int)dtype);
    if (ndim < 0 || ndim > EB_NPY_MAX_DIMS || (ndim > 0 && !shape))
        return eb_error_set(err, EB_ERR_ARG, "%s: invalid rank %d (0..%d)", path, ndim, EB_NPY_MAX_DIMS);
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return eb_error_set(err, EB_ERR_ARG, "%s: negative dimension %lld", path, (long long)shape[i]);
        if (shape[i] != 0 && count > (UINT64_MAX / item) / (uint64_t)shape[i])
            return eb_error_set(err, EB_ERR_ARG, "%s: array too large", path);
        count *= (uint64_t)shape[i];
    }
    if (count > 0 && !data) return eb_error_set(err, EB_ERR_ARG, "%s: data is NULL", path);
    uint64_t bytes = count * item;
    if (bytes > SIZE_MAX) return eb_error_set(err, EB_ERR_ARG, "%s: array too large", path);

    /* the dict, then spaces and '\n' up to a multiple of 64 bytes (including the preamble) */
    char dict[512];
    int dlen = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                        item == 1 ? '|' : (host_is_little_endian() ? '<' : '>'), dtype_code(dtype));
    for (int i = 0; i < ndim; i++)
        dlen +=
            snprintf(dict + dlen, sizeof dict - (size_t)dlen, "%s%lld", i ? ", " : "", (long long)shape[i]);
    dlen += snprintf(dict + dlen, sizeof dict - (size_t)dlen, "%s), }", ndim == 1 ? "," : "");
    size_t preamble = 10; /* version 1.0: uint16 header length */
    size_t total = (preamble + (size_t)dlen + 1 + 63) / 64 * 64;
    size_t header_len = total - preamble;
    char header[640];
    memcpy(header, dict, (size_t)dlen);
    memset(header + dlen, ' ', header_len - (size_t)dlen - 1);
    header[header_len - 1] = '\n';
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(header_len & 0xff),
                             (unsigned char)(header_len >> 8)};

    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (st != EB_OK) return st;
    int ok =
        fwrite(pre, 1, sizeof pre, af.fp) == sizeof pre && fwrite(header, 1, header_len, af.fp) == header_len;
    if (ok && bytes) ok = fwrite(data, 1, (size_t)bytes, af.fp) == (size_t)bytes;
    if (!ok) {
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    }
    return eb_atomic_commit(&af, err);
}
