/* Progress lines on stderr, redrawn in place at most ~5 times a second, only on a terminal. */
#define _POSIX_C_SOURCE 200809L
#include <ebood/base.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void eb_progress_begin(eb_progress *p, const char *label, int64_t total_steps, bool enabled) {
    p->enabled = enabled && isatty(STDERR_FILENO);
    p->start = eb_time_seconds();
    p->last_draw = 0.0;
    p->total_steps = total_steps;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
}

static void format_duration(char *buf, size_t size, double seconds) {
    long s = seconds > 0 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

void eb_progress_update(eb_progress *p, int64_t step, int64_t epoch, int64_t total_epochs, double loss,
                        double accuracy, int64_t samples_done) {
    if (!p->enabled) return;
    double now = eb_time_seconds();
    if (step < p->total_steps && now - p->last_draw < 0.2) return;
    p->last_draw = now;
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)samples_done / elapsed : 0.0;
    double eta = step > 0 ? elapsed * (double)(p->total_steps - step) / (double)step : 0.0;
    char eta_s[32], acc_s[32] = "";
    format_duration(eta_s, sizeof eta_s, eta);
    if (accuracy >= 0) snprintf(acc_s, sizeof acc_s, "  acc %5.1f%%", 100.0 * accuracy);
    fprintf(stderr, "\r%s  epoch %lld/%lld  step %lld/%lld  loss %.4f%s  %.0f samples/s  ETA %s   ", p->label,
            (long long)epoch, (long long)total_epochs, (long long)step, (long long)p->total_steps, loss,
            acc_s, rate, eta_s);
    fflush(stderr);
}

void eb_progress_end(eb_progress *p) {
    if (p->enabled) fputc('\n', stderr);
}
