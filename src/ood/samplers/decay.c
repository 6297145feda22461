/* Decay schedules for SGLD's step size and noise (001_8dfeaa911d9afebd.txt's released code, specs §5):
 *   constant   v_t = v₀
 *   linear     v_t = (v₀ − v₁)(1 − t/K) + v₁
 *   quadratic  v_t = (v₀ − v₁)(1 − t/K)² + v₁        t = 0 … K−1 */
#include <ebood/ebm.h>
#include <string.h>

double eb_decay_value(const eb_decay *d, int64_t t, int64_t steps) {
    if (d->kind == EB_DECAY_CONSTANT || steps <= 0) return d->start;
    double u = 1.0 - (double)t / (double)steps;
    if (d->kind == EB_DECAY_QUADRATIC) u *= u;
    return (d->start - d->end) * u + d->end;
}

static const char *const decay_names[] = {"constant", "linear", "quadratic"};

const char *eb_decay_kind_name(eb_decay_kind k) {
    return (unsigned)k < sizeof decay_names / sizeof *decay_names ? decay_names[k] : "unknown";
}

eb_status eb_decay_kind_parse(const char *s, eb_decay_kind *out, eb_error *err) {
    for (int i = 0; i < (int)(sizeof decay_names / sizeof *decay_names); i++)
        if (s && strcmp(s, decay_names[i]) == 0) {
            *out = (eb_decay_kind)i;
            return EB_OK;
        }
    return eb_error_set(err, EB_ERR_ARG, "unknown decay '%s' (expected constant, linear or quadratic)",
                        s ? s : "(null)");
}
