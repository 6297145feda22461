/* Internals shared by the plotting files (src/eval/plot_svg.c, plot_png.c). */
#ifndef EBOOD_PLOT_IMPL_H
#define EBOOD_PLOT_IMPL_H

#include <ebood/plot.h>

/* A growable byte string, always NUL-terminated after its len bytes; an allocation failure is sticky
 * (oom) and later appends do nothing. */
typedef struct eb__buf {
    char *s;
    size_t len, cap;
    bool oom;
} eb__buf;
void eb__buf_put(eb__buf *b, const void *bytes, size_t n);
void eb__buf_str(eb__buf *b, const char *text);
void eb__buf_printf(eb__buf *b, const char *fmt, ...) EB_PRINTF(2, 3);
/* text escaped for XML/HTML character data and double-quoted attribute values (& < > ") */
void eb__buf_escaped(eb__buf *b, const char *text);

#endif
