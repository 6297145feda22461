/* Small helpers shared by the test programs (header-only; tests only). */
#ifndef EBOOD_TEST_UTIL_H
#define EBOOD_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A per-test scratch path under the build tree: EB_TEST_TMPDIR/<name>.<pid> */
static inline const char *eb_test_path(char *buf, size_t size, const char *name) {
    mkdir(EB_TEST_TMPDIR, 0755);
    snprintf(buf, size, "%s/%s.%ld", EB_TEST_TMPDIR, name, (long)getpid());
    return buf;
}

/* Writes `len` bytes to path (creating it); returns 0 on success. */
static inline int eb_test_write_file(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t n = fwrite(data, 1, len, fp);
    return (fclose(fp) == 0 && n == len) ? 0 : -1;
}

static inline int eb_test_file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Path of a committed fixture: EB_FIXTURES_DIR/<name> */
static inline const char *eb_fixture_path(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", EB_FIXTURES_DIR, name);
    return buf;
}

#ifdef EB_CLI
/* Runs `ebood ARGS` (the built CLI) and reads its stdout into buf (NUL-terminated); returns its exit status
 * (pclose's), −1 if it could not be started. */
static inline int eb_test_cli_output(const char *args, char *buf, size_t size) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s", EB_CLI, args);
    FILE *fp = popen(cmd, "r");
    if (!fp) return -1;
    size_t n = fread(buf, 1, size - 1, fp);
    buf[n] = 0;
    return pclose(fp);
}
#endif

#endif
