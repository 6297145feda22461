/* Learning-rate schedules as pure functions of the global step: constant, step (torch StepLR),
 * cosine (torch CosineAnnealingLR), and the EBM-OOD linear warm-up that overrides them for the
 * first warmup_steps steps. Formulas and the warm-up decision: include/ebood/optim.h. */
#include <ebood/optim.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

/* π, spelled out: M_PI is not part of ISO C. */
#define SCHEDULE_PI 3.14159265358979323846

eb_schedule eb_schedule_default(float base_lr) {
    eb_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = EB_SCHEDULE_CONSTANT;
    s.base_lr = base_lr;
    s.total_steps = 0;
    s.warmup_steps = 0;
    s.step_size = 0;
    s.gamma = 1.0f;
    s.min_lr = 0.0f;
    return s;
}

static double scheduled(const eb_schedule *s, int64_t step) {
    const double base = (double)s->base_lr;
    switch (s->kind) {
    case EB_SCHEDULE_CONSTANT: return base;
    case EB_SCHEDULE_STEP:
        if (s->step_size <= 0) return base;
        return base * pow((double)s->gamma, (double)(step / s->step_size));
    case EB_SCHEDULE_COSINE: {
        if (s->total_steps <= 0) return base;
        const double lo = (double)s->min_lr;
        return lo + (base - lo) * (1.0 + cos(SCHEDULE_PI * (double)step / (double)s->total_steps)) / 2.0;
    }
    }
    return base;
}

float eb_schedule_lr(const eb_schedule *s, int64_t step) {
    if (step < 0) step = 0;
    if (step < s->warmup_steps) {
        /* min(1, ·) is always < 1 here; kept to mirror the reference formula. */
        const double ramp = fmin(1.0, (double)(step + 1) / (double)s->warmup_steps);
        return (float)(ramp * (double)s->base_lr);
    }
    return (float)scheduled(s, step);
}

const char *eb_schedule_kind_name(eb_schedule_kind kind) {
    switch (kind) {
    case EB_SCHEDULE_CONSTANT: return "constant";
    case EB_SCHEDULE_STEP: return "step";
    case EB_SCHEDULE_COSINE: return "cosine";
    }
    return "unknown";
}

eb_status eb_schedule_kind_parse(const char *s, eb_schedule_kind *out, eb_error *err) {
    static const eb_schedule_kind kinds[] = {EB_SCHEDULE_CONSTANT, EB_SCHEDULE_STEP, EB_SCHEDULE_COSINE};
    if (!out) return eb_error_set(err, EB_ERR_ARG, "schedule: kind_parse called with out == NULL");
    for (size_t i = 0; s && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(s, eb_schedule_kind_name(kinds[i])) == 0) {
            *out = kinds[i];
            return EB_OK;
        }
    }
    return eb_error_set(err, EB_ERR_ARG, "schedule: unknown kind '%s' (expected constant, step or cosine)",
                        s ? s : "(null)");
}

eb_status eb_schedule_check(const eb_schedule *s, eb_error *err) {
    if (!s) return eb_error_set(err, EB_ERR_ARG, "schedule: NULL");
    if (s->kind != EB_SCHEDULE_CONSTANT && s->kind != EB_SCHEDULE_STEP && s->kind != EB_SCHEDULE_COSINE)
        return eb_error_set(err, EB_ERR_ARG,
                            "schedule: kind must be constant, step or cosine (got enum value %d)",
                            (int)s->kind);
    const char *k = eb_schedule_kind_name(s->kind);
    if (!isfinite(s->base_lr) || !(s->base_lr >= 0.0f))
        return eb_error_set(err, EB_ERR_ARG, "schedule %s: base_lr must be finite and >= 0 (got %g)", k,
                            (double)s->base_lr);
    if (s->warmup_steps < 0)
        return eb_error_set(err, EB_ERR_ARG, "schedule %s: warmup_steps must be >= 0 (got %lld)", k,
                            (long long)s->warmup_steps);
    if (s->kind == EB_SCHEDULE_STEP) {
        if (s->step_size <= 0)
            return eb_error_set(err, EB_ERR_ARG, "schedule %s: step_size must be > 0 (got %lld)", k,
                                (long long)s->step_size);
        if (!isfinite(s->gamma) || !(s->gamma > 0.0f))
            return eb_error_set(err, EB_ERR_ARG, "schedule %s: gamma must be finite and > 0 (got %g)", k,
                                (double)s->gamma);
    } else if (s->kind == EB_SCHEDULE_COSINE) {
        if (s->total_steps <= 0)
            return eb_error_set(err, EB_ERR_ARG, "schedule %s: total_steps must be > 0 (got %lld)", k,
                                (long long)s->total_steps);
        if (!isfinite(s->min_lr) || !(s->min_lr >= 0.0f))
            return eb_error_set(err, EB_ERR_ARG, "schedule %s: min_lr must be finite and >= 0 (got %g)", k,
                                (double)s->min_lr);
    }
    return EB_OK;
}

int eb_schedule_format(const eb_schedule *s, char *buf, size_t size) {
    if (!s) return snprintf(buf, size, "(null)");
    switch (s->kind) {
    case EB_SCHEDULE_STEP:
        return snprintf(buf, size, "step(base_lr=%g, step_size=%lld, gamma=%g, warmup_steps=%lld)",
                        (double)s->base_lr, (long long)s->step_size, (double)s->gamma,
                        (long long)s->warmup_steps);
    case EB_SCHEDULE_COSINE:
        return snprintf(buf, size, "cosine(base_lr=%g, total_steps=%lld, min_lr=%g, warmup_steps=%lld)",
                        (double)s->base_lr, (long long)s->total_steps, (double)s->min_lr,
                        (long long)s->warmup_steps);
    case EB_SCHEDULE_CONSTANT: break;
    }
    return snprintf(buf, size, "%s(base_lr=%g, warmup_steps=%lld)", eb_schedule_kind_name(s->kind),
                    (double)s->base_lr, (long long)s->warmup_steps);
}
