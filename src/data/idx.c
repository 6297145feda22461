/* IDX files (MNIST, Fashion-MNIST), gzip-compressed or plain.
 *
 * Layout (big-endian): 0x00 0x00 <type> <ndim>, then ndim uint32 sizes, then the data in C order.
 * Type 0x08 = unsigned byte; 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64 are valid IDX types
 * this reader does not support. Images: ndim 3 (N × H × W); labels: ndim 1 (N).
 *
 * A file starting with the gzip magic 1f 8b is inflated with zlib's inflate() directly rather than
 * through gzread(): gzread accepts a stream cut just before its CRC/size trailer without an error
 * when the caller reads exactly the data length, and it ignores trailing garbage. Here the stream
 * must reach its end (trailer and CRC checked by inflate) and nothing may follow it, except
 * further complete gzip members (as `gzip -c a b` writes). */
#define _POSIX_C_SOURCE 200809L
#include <ebood/data.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_TYPE_U8    0x08
#define MAX_IMAGE_SIDE 65536
#define IN_BUF         (1 << 16)
/* The data buffer starts at this size and doubles as data arrives, so a header that claims more
 * data than the file holds costs at most twice the real size before the truncation error. */
#define FIRST_CHUNK ((size_t)64 << 20)
/* deflate's largest expansion: 258 bytes per 2 bits of a compressed block, ~1032:1 (zlib FAQ), plus
 * a little for the smallest files */
#define GZIP_MAX_RATIO 1032
#define GZIP_SLACK     4096

typedef struct idx_file {
    FILE *fp;
    const char *path;
    uint64_t file_size;
    bool gz, zs_live, stream_end;
    z_stream zs;
    unsigned char in[IN_BUF];
} idx_file;

static eb_status idx_open(idx_file **out, const char *path, eb_error *err) {
    *out = NULL;
    idx_file *f = calloc(1, sizeof *f);
    if (!f) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    f->path = path;
    f->fp = fopen(path, "rb");
    if (!f->fp) {
        int e = errno;
        free(f);
        return eb_error_set(err, EB_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat sb;
    f->file_size = fstat(fileno(f->fp), &sb) == 0 && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : UINT64_MAX;
    size_t got = fread(f->in, 1, 2, f->fp);
    f->zs.next_in = f->in;
    f->zs.avail_in = (uInt)got;
    f->gz = got == 2 && f->in[0] == 0x1f && f->in[1] == 0x8b;
    if (f->gz) {
        if (inflateInit2(&f->zs, 16 + MAX_WBITS) != Z_OK) {
            fclose(f->fp);
            free(f);
            return eb_error_set(err, EB_ERR_NOMEM, "%s: cannot initialise zlib", path);
        }
        f->zs_live = true;
    }
    *out = f;
    return EB_OK;
}

static void idx_close(idx_file *f) {
    if (!f) return;
    if (f->zs_live) inflateEnd(&f->zs);
    fclose(f->fp);
    free(f);
}

/* Refills the input buffer when empty; returns false at end of file (or on a read error). */
static bool refill(idx_file *f) {
    if (f->zs.avail_in > 0) return true;
    size_t got = fread(f->in, 1, IN_BUF, f->fp);
    f->zs.next_in = f->in;
    f->zs.avail_in = (uInt)got;
    return got > 0;
}

/* Reads up to len bytes into buf; *got receives the count. On a short read, *why says why
 * (static text or zlib's message) and *corrupt whether the data was malformed rather than short. */
static size_t idx_pull(idx_file *f, unsigned char *buf, size_t len, const char **why, bool *corrupt) {
    size_t done = 0;
    *why = "end of file";
    *corrupt = false;
    if (!f->gz) {
        while (done < len) { /* bytes already buffered (the peeked magic) first */
            if (!refill(f)) break;
            size_t k = f->zs.avail_in < len - done ? f->zs.avail_in : len - done;
            memcpy(buf + done, f->zs.next_in, k);
            f->zs.next_in += k;
            f->zs.avail_in -= (uInt)k;
            done += k;
        }
        if (done < len && ferror(f->fp)) *why = strerror(errno);
        return done;
    }
    while (done < len) {
        if (f->stream_end) { /* after a member: another member may follow, nothing else */
            if (!refill(f)) break;
            if (f->zs.avail_in == 1) { /* make two bytes visible to test the magic */
                f->in[0] = f->zs.next_in[0];
                f->zs.next_in = f->in;
                f->zs.avail_in += (uInt)fread(f->in + 1, 1, IN_BUF - 1, f->fp);
            }
            if (f->zs.avail_in < 2 || f->zs.next_in[0] != 0x1f || f->zs.next_in[1] != 0x8b) {
                *why = "data after the end of the gzip stream";
                *corrupt = true;
                break;
            }
            inflateReset(&f->zs);
            f->stream_end = false;
        }
        if (!refill(f)) {
            *why = "unexpected end of the gzip stream";
            break;
        }
        size_t want = len - done < UINT_MAX ? len - done : UINT_MAX;
        f->zs.next_out = buf + done;
        f->zs.avail_out = (uInt)want;
        int ret = inflate(&f->zs, Z_NO_FLUSH);
        done += want - f->zs.avail_out;
        if (ret == Z_STREAM_END) {
            f->stream_end = true;
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            *why = f->zs.msg ? f->zs.msg : ret == Z_MEM_ERROR ? "out of memory" : "inflate error";
            *corrupt = true;
            break;
        }
    }
    return done;
}

/* Reads exactly len bytes or fails with a message naming the file and `what`. */
static eb_status idx_read(idx_file *f, void *buf, size_t len, const char *what, eb_error *err) {
    const char *why;
    bool corrupt;
    size_t got = idx_pull(f, buf, len, &why, &corrupt);
    if (got == len) return EB_OK;
    if (corrupt)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: corrupt gzip data in the %s: %s", f->path, what, why);
    return eb_error_set(err, EB_ERR_FORMAT, "%s: truncated %s (expected %zu bytes, got %zu: %s)", f->path,
                        what, len, got, why);
}

/* After the data: nothing more, and for gzip the end of the stream (trailer and CRC verified). */
static eb_status idx_expect_end(idx_file *f, eb_error *err) {
    unsigned char extra;
    const char *why;
    bool corrupt;
    size_t got = idx_pull(f, &extra, 1, &why, &corrupt);
    if (got > 0)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: unexpected data after the last element", f->path);
    if (corrupt && f->stream_end) return eb_error_set(err, EB_ERR_FORMAT, "%s: %s", f->path, why);
    if (corrupt)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: corrupt gzip stream after the data: %s", f->path, why);
    if (f->gz && !f->stream_end)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: truncated gzip stream (missing trailer)", f->path);
    return EB_OK;
}

static const char *idx_type_name(int type) {
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

/* Reads the magic and the ndim sizes; checks type u8 and the rank. */
static eb_status idx_header(idx_file *f, int ndim_expected, uint32_t *dims, eb_error *err) {
    unsigned char magic[4];
    eb_status st = idx_read(f, magic, 4, "header", err);
    if (st) return st;
    const char *tname = idx_type_name(magic[2]);
    if (magic[0] != 0 || magic[1] != 0 || !tname)
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: bad magic %02x %02x %02x %02x (not an IDX file; expected 00 00 08 %02x)",
                            f->path, magic[0], magic[1], magic[2], magic[3], (unsigned)ndim_expected);
    if (magic[2] != IDX_TYPE_U8)
        return eb_error_set(err, EB_ERR_UNSUPPORTED,
                            "%s: IDX element type 0x%02x (%s) is not supported (only unsigned byte)", f->path,
                            magic[2], tname);
    if (magic[3] != ndim_expected)
        return eb_error_set(err, EB_ERR_FORMAT, "%s: %d dimensions, expected %d (%s)", f->path, magic[3],
                            ndim_expected, ndim_expected == 3 ? "images N x H x W" : "labels N");
    unsigned char raw[12];
    if ((st = idx_read(f, raw, (size_t)ndim_expected * 4, "header", err))) return st;
    for (int i = 0; i < ndim_expected; i++)
        dims[i] = (uint32_t)raw[4 * i] << 24 | (uint32_t)raw[4 * i + 1] << 16 |
                  (uint32_t)raw[4 * i + 2] << 8 | (uint32_t)raw[4 * i + 3];
    return EB_OK;
}

/* Refuses a header that declares more data than the file can hold, before anything is allocated or
 * inflated: a plain file must have `len` bytes after its `header` bytes, a gzip file can expand at most
 * GZIP_MAX_RATIO-fold. (Pipes and other non-regular files have no size: the growing buffer of
 * idx_read_data bounds them instead.) */
static eb_status idx_check_size(const idx_file *f, uint64_t header, uint64_t len, eb_error *err) {
    if (f->file_size == UINT64_MAX) return EB_OK;
    if (!f->gz && len > f->file_size - header)
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: truncated data (expected %" PRIu64 " bytes, got %" PRIu64
                            " after the header)",
                            f->path, len, f->file_size - header);
    if (f->gz && len / GZIP_MAX_RATIO > f->file_size + GZIP_SLACK)
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: truncated data: the header declares %" PRIu64 " bytes, more than a %" PRIu64
                            "-byte gzip file can hold",
                            f->path, len, f->file_size);
    return EB_OK;
}

/* Reads `len` data bytes into an eb_alloc'd buffer that grows as data arrives. */
static eb_status idx_read_data(idx_file *f, size_t len, uint8_t **out, eb_error *err) {
    *out = NULL;
    size_t cap = len < FIRST_CHUNK ? len : FIRST_CHUNK, done = 0;
    uint8_t *buf = eb_alloc(NULL, cap ? cap : 1);
    if (!buf) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%zu bytes)", f->path, cap);
    for (;;) {
        const char *why;
        bool corrupt;
        size_t got = idx_pull(f, buf + done, cap - done, &why, &corrupt);
        done += got;
        if (done == len) break;
        if (done < cap) { /* short read: the file ended or is malformed */
            eb_free(NULL, buf);
            if (corrupt) return eb_error_set(err, EB_ERR_FORMAT, "%s: corrupt gzip data: %s", f->path, why);
            return eb_error_set(err, EB_ERR_FORMAT, "%s: truncated data (expected %zu bytes, got %zu: %s)",
                                f->path, len, done, why);
        }
        size_t ncap = cap > len / 2 ? len : cap * 2;
        uint8_t *nbuf = eb_alloc(NULL, ncap);
        if (!nbuf) {
            eb_free(NULL, buf);
            return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory (%zu bytes)", f->path, ncap);
        }
        memcpy(nbuf, buf, done);
        eb_free(NULL, buf);
        buf = nbuf;
        cap = ncap;
    }
    *out = buf;
    return EB_OK;
}

/* Opens an images file and reads its header: N = dims[0], H = dims[1], W = dims[2], checked. */
static eb_status idx_open_images(const char *path, idx_file **f, uint32_t dims[3], eb_error *err) {
    eb_status st = idx_open(f, path, err);
    if (!st) st = idx_header(*f, 3, dims, err);
    if (!st && (dims[1] == 0 || dims[2] == 0 || dims[1] > MAX_IMAGE_SIDE || dims[2] > MAX_IMAGE_SIDE))
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: implausible image size %u x %u", path, dims[1], dims[2]);
    if (!st) st = idx_check_size(*f, 16, (uint64_t)dims[0] * dims[1] * dims[2], err);
    if (st) {
        idx_close(*f);
        *f = NULL;
    }
    return st;
}

eb_status eb_idx_read_image_shape(const char *path, int64_t *n, int *h, int *w, eb_error *err) {
    idx_file *f;
    uint32_t dims[3];
    eb_status st = idx_open_images(path, &f, dims, err);
    if (st) return st;
    *n = dims[0];
    *h = (int)dims[1];
    *w = (int)dims[2];
    idx_close(f);
    return EB_OK;
}

eb_status eb_idx_read_images(const char *path, eb_image_set *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    idx_file *f;
    uint32_t dims[3];
    eb_status st = idx_open_images(path, &f, dims, err);
    if (st) return st;
    uint8_t *data = NULL;
    size_t len = (size_t)dims[0] * dims[1] * dims[2]; /* < 2^32 · 2^32: fits in 64 bits */
    if ((st = idx_read_data(f, len, &data, err))) goto done;
    if ((st = idx_expect_end(f, err))) goto done;
    out->u8 = data;
    data = NULL;
    out->n = dims[0];
    out->c = 1;
    out->h = (int)dims[1];
    out->w = (int)dims[2];
done:
    eb_free(NULL, data);
    idx_close(f);
    return st;
}

eb_status eb_idx_read_labels(const char *path, int32_t **labels, int64_t *n, eb_error *err) {
    *labels = NULL;
    *n = 0;
    idx_file *f;
    eb_status st = idx_open(&f, path, err);
    if (st) return st;
    uint32_t dims[1];
    uint8_t *data = NULL;
    int32_t *out = NULL;
    if ((st = idx_header(f, 1, dims, err))) goto done;
    if ((st = idx_check_size(f, 8, dims[0], err))) goto done;
    if ((st = idx_read_data(f, dims[0], &data, err))) goto done;
    if ((st = idx_expect_end(f, err))) goto done;
    out = eb_alloc(NULL, (size_t)dims[0] * sizeof *out);
    if (!out) {
        st = eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (uint32_t i = 0; i < dims[0]; i++) out[i] = data[i];
    *labels = out;
    *n = dims[0];
done:
    eb_free(NULL, data);
    idx_close(f);
    return st;
}

eb_status eb_idx_load(const char *images_path, const char *labels_path, int min_classes, eb_image_set *out,
                      eb_error *err) {
    memset(out, 0, sizeof *out);
    if (min_classes < 0 || min_classes > 256)
        return eb_error_set(err, EB_ERR_ARG, "eb_idx_load: min_classes %d outside [0, 256]", min_classes);
    eb_image_set set;
    eb_status st = eb_idx_read_images(images_path, &set, err);
    if (st) return st;
    int32_t *labels = NULL;
    int64_t n_labels = 0;
    if ((st = eb_idx_read_labels(labels_path, &labels, &n_labels, err))) {
        eb_image_set_free(&set);
        return st;
    }
    if (n_labels != set.n) {
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: %lld images, but %s has %lld labels", images_path,
                          (long long)set.n, labels_path, (long long)n_labels);
        eb_free(NULL, labels);
        eb_image_set_free(&set);
        return st;
    }
    int max_label = -1;
    for (int64_t i = 0; i < n_labels; i++)
        if (labels[i] > max_label) max_label = labels[i];
    set.labels = labels;
    set.num_classes = max_label + 1 > min_classes ? max_label + 1 : min_classes;
    if (set.num_classes == 0) set.num_classes = 1; /* an empty labelled set still has a class count */
    *out = set;
    return EB_OK;
}

/* <dir>/<prefix>-<kind>.gz if it exists, else without .gz (the message names the .gz one). */
static eb_status find_file(const char *dir, const char *prefix, const char *kind, char *buf, size_t size,
                           eb_error *err) {
    int len = snprintf(buf, size, "%s/%s-%s.gz", dir, prefix, kind);
    if (len < 0 || (size_t)len >= size)
        return eb_error_set(err, EB_ERR_ARG, "%s/%s-%s.gz: path too long", dir, prefix, kind);
    FILE *fp = fopen(buf, "rb");
    if (fp) {
        fclose(fp);
        return EB_OK;
    }
    buf[len - 3] = '\0';
    fp = fopen(buf, "rb");
    if (fp) {
        fclose(fp);
        return EB_OK;
    }
    return eb_error_set(err, EB_ERR_IO, "%s/%s-%s.gz: cannot open: %s (nor without .gz)", dir, prefix, kind,
                        strerror(errno));
}

eb_status eb_idx_load_dir(const char *dir, const char *prefix, int min_classes, eb_image_set *out,
                          eb_error *err) {
    memset(out, 0, sizeof *out);
    char images[4096], labels[4096];
    eb_status st = find_file(dir, prefix, "images-idx3-ubyte", images, sizeof images, err);
    if (!st) st = find_file(dir, prefix, "labels-idx1-ubyte", labels, sizeof labels, err);
    if (!st) st = eb_idx_load(images, labels, min_classes, out, err);
    return st;
}

/* Writes the IDX header (type 0x08, ndim dimensions, big-endian sizes) and the bytes, atomically. */
static eb_status idx_write(const char *path, int ndim, const uint32_t *dims, const uint8_t *data, size_t len,
                           eb_error *err) {
    eb_atomic_file af;
    eb_status st = eb_atomic_open(&af, path, err);
    if (st) return st;
    unsigned char header[4 + 4 * 3] = {0, 0, 0x08, (unsigned char)ndim};
    for (int d = 0; d < ndim; d++)
        for (int b = 0; b < 4; b++) header[4 + 4 * d + b] = (unsigned char)(dims[d] >> (24 - 8 * b));
    if (fwrite(header, 1, 4 + 4 * (size_t)ndim, af.fp) != 4 + 4 * (size_t)ndim ||
        (len && fwrite(data, 1, len, af.fp) != len)) {
        eb_atomic_abort(&af);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
    }
    return eb_atomic_commit(&af, err);
}

eb_status eb_idx_write_images(const char *path, const eb_image_set *s, eb_error *err) {
    if (!s->u8 || s->c != 1 || s->n < 0 || s->n > UINT32_MAX)
        return eb_error_set(err, EB_ERR_ARG,
                            "%s: IDX holds single-channel uint8 images (set: %d channels, %s)", path, s->c,
                            s->u8 ? "u8" : "f32");
    uint32_t dims[3] = {(uint32_t)s->n, (uint32_t)s->h, (uint32_t)s->w};
    return idx_write(path, 3, dims, s->u8, (size_t)eb_image_set_image_size(s) * (size_t)s->n, err);
}

eb_status eb_idx_write_labels(const char *path, const int32_t *labels, int64_t n, eb_error *err) {
    if (n < 0 || n > UINT32_MAX) return eb_error_set(err, EB_ERR_ARG, "%s: %lld labels", path, (long long)n);
    uint8_t *bytes = malloc(n ? (size_t)n : 1);
    if (!bytes) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    eb_status st = EB_OK;
    for (int64_t i = 0; i < n && !st; i++) {
        if (labels[i] < 0 || labels[i] > 255)
            st = eb_error_set(err, EB_ERR_ARG, "%s: label %d of row %lld is outside 0-255", path, labels[i],
                              (long long)i + 1);
        bytes[i] = (uint8_t)labels[i];
    }
    uint32_t dims[1] = {(uint32_t)n};
    if (!st) st = idx_write(path, 1, dims, bytes, (size_t)n, err);
    free(bytes);
    return st;
}
