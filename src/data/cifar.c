/* CIFAR-10 / CIFAR-100 binary batches: fixed-size records of label byte(s) + 3072 pixel bytes
 * (the R, G and B planes of a 32 × 32 image, each row-major), already in NCHW order. */
#define _POSIX_C_SOURCE 200809L
#include <ebood/data.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_SIDE       32
#define CIFAR_PIXELS     (3 * CIFAR_SIDE * CIFAR_SIDE)
#define RECORDS_PER_READ 1024

static int label_bytes(eb_cifar_kind kind) { return kind == EB_CIFAR10 ? 1 : 2; }
static int num_classes(eb_cifar_kind kind) {
    return kind == EB_CIFAR10 ? 10 : kind == EB_CIFAR100_FINE ? 100 : 20;
}

/* Size of a file in records; checks that it is a non-empty whole number of records. */
static eb_status count_records(const char *path, eb_cifar_kind kind, int64_t *n, eb_error *err) {
    struct stat sb;
    FILE *fp = fopen(path, "rb");
    if (!fp) return eb_error_set(err, EB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int r = fstat(fileno(fp), &sb);
    fclose(fp);
    if (r != 0) return eb_error_set(err, EB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return eb_error_set(err, EB_ERR_IO, "%s: not a regular file", path);
    int64_t rec = label_bytes(kind) + CIFAR_PIXELS;
    int64_t size = (int64_t)sb.st_size;
    if (size == 0) return eb_error_set(err, EB_ERR_FORMAT, "%s: empty file (no CIFAR records)", path);
    if (size % rec != 0)
        return eb_error_set(err, EB_ERR_FORMAT,
                            "%s: truncated or not a %s batch: %lld bytes is not a multiple of the %lld-byte "
                            "record (%lld whole records + %lld bytes)",
                            path, kind == EB_CIFAR10 ? "CIFAR-10" : "CIFAR-100", (long long)size,
                            (long long)rec, (long long)(size / rec), (long long)(size % rec));
    *n = size / rec;
    return EB_OK;
}

/* Reads the n records of one file into images [first, first + n) of out. */
static eb_status read_records(const char *path, eb_cifar_kind kind, int64_t first, int64_t n,
                              eb_image_set *out, eb_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return eb_error_set(err, EB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t rec = (size_t)label_bytes(kind) + CIFAR_PIXELS;
    unsigned char *buf = malloc(rec * RECORDS_PER_READ);
    if (!buf) {
        fclose(fp);
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    eb_status st = EB_OK;
    int classes = num_classes(kind);
    for (int64_t done = 0; done < n && !st;) {
        size_t want = (size_t)(n - done < RECORDS_PER_READ ? n - done : RECORDS_PER_READ);
        size_t got = fread(buf, rec, want, fp);
        if (got != want) { /* the file shrank since it was measured */
            st = eb_error_set(err, ferror(fp) ? EB_ERR_IO : EB_ERR_FORMAT, "%s: truncated at record %lld",
                              path, (long long)(done + (int64_t)got + 1));
            break;
        }
        for (size_t k = 0; k < got; k++) {
            const unsigned char *r = buf + k * rec;
            int label = kind == EB_CIFAR100_FINE ? r[1] : r[0];
            if (label >= classes) {
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: record %lld: label %d outside [0, %d)", path,
                                  (long long)(done + (int64_t)k + 1), label, classes);
                break;
            }
            int64_t i = first + done + (int64_t)k;
            out->labels[i] = label;
            memcpy(out->u8 + i * CIFAR_PIXELS, r + label_bytes(kind), CIFAR_PIXELS);
        }
        done += (int64_t)got;
    }
    free(buf);
    fclose(fp);
    return st;
}

eb_status eb_cifar_read(const char *const *paths, int n_paths, eb_cifar_kind kind, eb_image_set *out,
                        eb_error *err) {
    memset(out, 0, sizeof *out);
    if (kind != EB_CIFAR10 && kind != EB_CIFAR100_FINE && kind != EB_CIFAR100_COARSE)
        return eb_error_set(err, EB_ERR_ARG, "eb_cifar_read: unknown kind %d", (int)kind);
    if (n_paths < 1 || !paths) return eb_error_set(err, EB_ERR_ARG, "eb_cifar_read: no files given");
    int64_t *counts = malloc((size_t)n_paths * sizeof *counts);
    if (!counts) return eb_error_set(err, EB_ERR_NOMEM, "eb_cifar_read: out of memory");
    int64_t total = 0;
    eb_status st = EB_OK;
    for (int f = 0; f < n_paths && !st; f++) {
        st = count_records(paths[f], kind, &counts[f], err);
        total += st ? 0 : counts[f];
    }
    if (!st)
        st = eb_image_set_alloc(total, 3, CIFAR_SIDE, CIFAR_SIDE, EB_DTYPE_U8, num_classes(kind), out, err);
    int64_t first = 0;
    for (int f = 0; f < n_paths && !st; f++) {
        st = read_records(paths[f], kind, first, counts[f], out, err);
        first += counts[f];
    }
    free(counts);
    if (st) eb_image_set_free(out);
    return st;
}

eb_status eb_cifar_load_dir(const char *dir, eb_cifar_kind kind, bool train, eb_image_set *out,
                            eb_error *err) {
    memset(out, 0, sizeof *out);
    char bufs[5][4096];
    const char *paths[5];
    int n = 0;
    if (kind == EB_CIFAR10 && train) {
        for (n = 0; n < 5; n++) {
            snprintf(bufs[n], sizeof bufs[n], "%s/data_batch_%d.bin", dir, n + 1);
            paths[n] = bufs[n];
        }
    } else {
        const char *name = kind == EB_CIFAR10 ? "test_batch.bin" : train ? "train.bin" : "test.bin";
        snprintf(bufs[0], sizeof bufs[0], "%s/%s", dir, name);
        paths[0] = bufs[0];
        n = 1;
    }
    return eb_cifar_read(paths, n, kind, out, err);
}
