/* Whole-file reads and atomic writes (temporary file + rename). */
#define _POSIX_C_SOURCE 200809L
#include <ebood/base.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

eb_status eb_file_read_all(const char *path, char **data, size_t *len, eb_error *err) {
    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return eb_error_set(err, EB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(fp);
        return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (n < cap) break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            fclose(fp);
            return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", path);
        }
        buf = nb;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(buf);
        return eb_error_set(err, EB_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return EB_OK;
}

eb_status eb_atomic_open(eb_atomic_file *af, const char *path, eb_error *err) {
    af->fp = NULL;
    if (strlen(path) >= sizeof af->path) return eb_error_set(err, EB_ERR_ARG, "%s: path too long", path);
    strcpy(af->path, path);
    snprintf(af->tmp_path, sizeof af->tmp_path, "%s.tmp.%ld", path, (long)getpid());
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp) return eb_error_set(err, EB_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return EB_OK;
}

eb_status eb_atomic_commit(eb_atomic_file *af, eb_error *err) {
    if (!af->fp) return eb_error_set(err, EB_ERR_STATE, "%s: file not open", af->path);
    int bad = fflush(af->fp) != 0 || ferror(af->fp);
    if (!bad) bad = fsync(fileno(af->fp)) != 0;
    int saved = errno;
    bad |= fclose(af->fp) != 0;
    af->fp = NULL;
    if (bad) {
        remove(af->tmp_path);
        return eb_error_set(err, EB_ERR_IO, "%s: write failed: %s", af->path, strerror(saved));
    }
    if (rename(af->tmp_path, af->path) != 0) {
        saved = errno;
        remove(af->tmp_path);
        return eb_error_set(err, EB_ERR_IO, "%s: cannot rename into place: %s", af->path, strerror(saved));
    }
    return EB_OK;
}

void eb_atomic_abort(eb_atomic_file *af) {
    if (af->fp) {
        fclose(af->fp);
        af->fp = NULL;
        remove(af->tmp_path);
    }
}

double eb_time_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
