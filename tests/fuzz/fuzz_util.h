/* Shared by the libFuzzer targets (tests/fuzz/fuzz_<format>.c): every ebood reader takes a path, so
 * each input is written to one per-process file first, rewritten for every input (the readers' fstat
 * sees the input's true size). It lives in memory, on /dev/shm, when there is one (a disk under load
 * made /tmp 15x slower), else in $TMPDIR or /tmp. */
#ifndef EBOOD_FUZZ_UTIL_H
#define EBOOD_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* libFuzzer's entry point, defined by each target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[512];
static inline void fuzz_remove_file(void) { remove(fuzz_path); }

/* The path of a file holding data[0..size), with `suffix` (some readers look at the extension);
 * removed when the process exits. */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix) {
    char *path = fuzz_path;
    if (!path[0]) atexit(fuzz_remove_file);
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(path, sizeof fuzz_path, "%s/ebood-fuzz-%ld%s", dir && *dir ? dir : "/tmp", (long)getpid(),
             suffix);
    FILE *fp = fopen(path, "wb");
    if (!fp) abort(); /* the harness itself is broken: stop the campaign */
    if (size && fwrite(data, 1, size, fp) != size) abort();
    if (fclose(fp) != 0) abort();
    return path;
}

#endif
