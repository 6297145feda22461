/* Whole-file reads and atomic writes (temporary file + rename). */
#define _POSIX_C_SOURCE 200809L
#include <ebood/base.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

/* The directory part of path ("." if none) into dir; the file name part is returned. */
static const char *split_path(const char *path, char *dir, size_t size) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, size, ".");
        return path;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    snprintf(dir, size, "%.*s", (int)n, path);
    return slash + 1;
}

/* Removes "<name>.tmp.<pid>" files in dir left by writers that were killed (their pid no longer runs):
 * a SIGKILL between open and commit can leave one behind, and nothing else ever would remove it. A pid
 * that still runs may be another writer at work, so its file is left alone. */
static void remove_stale_temporaries(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (!d) return;
    size_t len = strlen(name);
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *s = e->d_name;
        if (strncmp(s, name, len) != 0 || strncmp(s + len, ".tmp.", 5) != 0) continue;
        char *end;
        long pid = strtol(s + len + 5, &end, 10);
        if (*end || end == s + len + 5 || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char stale[8192];
        if (snprintf(stale, sizeof stale, "%s/%s", dir, s) < (int)sizeof stale) remove(stale);
    }
    closedir(d);
}

eb_status eb_atomic_open(eb_atomic_file *af, const char *path, eb_error *err) {
    af->fp = NULL;
    if (strlen(path) >= sizeof af->path) return eb_error_set(err, EB_ERR_ARG, "%s: path too long", path);
    strcpy(af->path, path);
    char dir[4096];
    remove_stale_temporaries(dir, split_path(path, dir, sizeof dir));
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
    /* the rename itself is durable only once the directory is synced (a failure here is not reported:
     * the new file is in place, and some file systems cannot sync a directory) */
    char dir[4096];
    split_path(af->path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
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
