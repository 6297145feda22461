/* Status codes and the caller-owned error value. */
#include <ebood/base.h>

#include <stdio.h>
#include <string.h>

const char *eb_status_str(eb_status status) {
    switch (status) {
    case EB_OK: return "ok";
    case EB_ERR_NOMEM: return "out of memory";
    case EB_ERR_ARG: return "invalid argument";
    case EB_ERR_SHAPE: return "shape mismatch";
    case EB_ERR_IO: return "I/O error";
    case EB_ERR_FORMAT: return "malformed input";
    case EB_ERR_NUMERIC: return "non-finite value";
    case EB_ERR_UNSUPPORTED: return "unsupported";
    case EB_ERR_STATE: return "invalid state";
    }
    return "unknown status";
}

eb_status eb_error_setv(eb_error *err, eb_status status, const char *fmt, va_list ap) {
    if (err) {
        err->status = status;
        /* via a copy: the arguments may include err->message itself ("%s (hint)", err->message) */
        char buf[sizeof err->message];
        vsnprintf(buf, sizeof buf, fmt, ap);
        memcpy(err->message, buf, sizeof buf);
        /* keep the message on one line */
        for (char *p = err->message; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
    }
    return status;
}

eb_status eb_error_set(eb_error *err, eb_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    eb_error_setv(err, status, fmt, ap);
    va_end(ap);
    return status;
}

void eb_error_clear(eb_error *err) {
    if (err) {
        err->status = EB_OK;
        err->message[0] = '\0';
    }
}

#ifndef EB_BUILD_FLAGS
#define EB_BUILD_FLAGS "unknown"
#endif
const char *eb_build_flags(void) { return EB_BUILD_FLAGS; }
