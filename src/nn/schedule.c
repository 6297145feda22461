/* Learning-rate schedules as pure functions of the global step: constant, step (torch StepLR),
 * cosine (torch CosineAnnealingLR), multistep (torch MultiStepLR at fractions of the run), and the EBM-OOD
 * linear warm-up that overrides them for the first warmup_steps steps. Formulas and the warm-up decision:
 * include/ebood/optim.h. */
#include <ebood/optim.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ⌊f_k · total_steps⌋, the first step at the k-th milestone's lr. */
static int64_t milestone_step(const eb_schedule *s, int k) {
    return (int64_t)floor((double)s->milestones[k] * (double)s->total_steps);
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
    case EB_SCHEDULE_MULTISTEP: {
        double lr = base;
        for (int k = 0; k < s->n_milestones && k < EB_SCHEDULE_MAX_MILESTONES; k++)
            if (step >= milestone_step(s, k)) lr *= (double)s->gamma;
        return lr;
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
    case EB_SCHEDULE_MULTISTEP: return "multistep";
    }
    return "unknown";
}

eb_status eb_schedule_kind_parse(const char *s, eb_schedule_kind *out, eb_error *err) {
    static const eb_schedule_kind kinds[] = {EB_SCHEDULE_CONSTANT, EB_SCHEDULE_STEP, EB_SCHEDULE_COSINE,
                                             EB_SCHEDULE_MULTISTEP};
    if (!out) return eb_error_set(err, EB_ERR_ARG, "schedule: kind_parse called with out == NULL");
    for (size_t i = 0; s && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(s, eb_schedule_kind_name(kinds[i])) == 0) {
            *out = kinds[i];
            return EB_OK;
        }
    }
    return eb_error_set(err, EB_ERR_ARG,
                        "schedule: unknown kind '%s' (expected constant, step, cosine or multistep)",
                        s ? s : "(null)");
}

static eb_status check_milestones(const float *m, int n, eb_error *err) {
    if (n < 1 || n > EB_SCHEDULE_MAX_MILESTONES)
        return eb_error_set(err, EB_ERR_ARG, "schedule multistep: n_milestones must be in [1, %d] (got %d)",
                            EB_SCHEDULE_MAX_MILESTONES, n);
    for (int k = 0; k < n; k++)
        if (!isfinite(m[k]) || !(m[k] > 0.0f) || m[k] > 1.0f || (k > 0 && !(m[k] > m[k - 1])))
            return eb_error_set(err, EB_ERR_ARG,
                                "schedule multistep: milestone %d = %g (need strictly increasing fractions "
                                "in (0, 1])",
                                k + 1, (double)m[k]);
    return EB_OK;
}

eb_status eb_schedule_check(const eb_schedule *s, eb_error *err) {
    if (!s) return eb_error_set(err, EB_ERR_ARG, "schedule: NULL");
    if (s->kind != EB_SCHEDULE_CONSTANT && s->kind != EB_SCHEDULE_STEP && s->kind != EB_SCHEDULE_COSINE &&
        s->kind != EB_SCHEDULE_MULTISTEP)
        return eb_error_set(err, EB_ERR_ARG,
                            "schedule: kind must be constant, step, cosine or multistep (got enum value %d)",
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
    } else if (s->kind == EB_SCHEDULE_MULTISTEP) {
        if (s->total_steps <= 0)
            return eb_error_set(err, EB_ERR_ARG, "schedule %s: total_steps must be > 0 (got %lld)", k,
                                (long long)s->total_steps);
        if (!isfinite(s->gamma) || !(s->gamma > 0.0f))
            return eb_error_set(err, EB_ERR_ARG, "schedule %s: gamma must be finite and > 0 (got %g)", k,
                                (double)s->gamma);
        return check_milestones(s->milestones, s->n_milestones, err);
    }
    return EB_OK;
}

eb_status eb_schedule_milestones_parse(const char *text, eb_schedule *s, eb_error *err) {
    float m[EB_SCHEDULE_MAX_MILESTONES];
    int n = 0;
    const char *p = text ? text : "";
    for (;;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || (*end != ',' && *end != '\0'))
            return eb_error_set(err, EB_ERR_ARG, "milestones '%s': expected fractions like 0.5,0.75",
                                text ? text : "(null)");
        if (n == EB_SCHEDULE_MAX_MILESTONES)
            return eb_error_set(err, EB_ERR_ARG, "milestones '%s': at most %d", text,
                                EB_SCHEDULE_MAX_MILESTONES);
        m[n++] = (float)v;
        if (*end == '\0') break;
        p = end + 1;
    }
    eb_status st = check_milestones(m, n, err);
    if (st) return st;
    memcpy(s->milestones, m, sizeof m);
    s->n_milestones = n;
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
    case EB_SCHEDULE_MULTISTEP: {
        char ms[EB_SCHEDULE_MAX_MILESTONES * 16] = "";
        size_t used = 0;
        for (int k = 0; k < s->n_milestones && k < EB_SCHEDULE_MAX_MILESTONES && used < sizeof ms; k++)
            used +=
                (size_t)snprintf(ms + used, sizeof ms - used, "%s%g", k ? "," : "", (double)s->milestones[k]);
        return snprintf(
            buf, size, "multistep(base_lr=%g, total_steps=%lld, milestones=%s, gamma=%g, warmup_steps=%lld)",
            (double)s->base_lr, (long long)s->total_steps, ms, (double)s->gamma, (long long)s->warmup_steps);
    }
    case EB_SCHEDULE_CONSTANT: break;
    }
    return snprintf(buf, size, "%s(base_lr=%g, warmup_steps=%lld)", eb_schedule_kind_name(s->kind),
                    (double)s->base_lr, (long long)s->warmup_steps);
}
