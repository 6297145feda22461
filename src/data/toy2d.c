/* The 2-D toy datasets of HEAT (001_8dfeaa911d9afebd.txt §3.1): the "crossed" distribution of
 * Fig. 1a and the 3 × 3 grid of crosses of Fig. 2a (the multi-modal case where SGLD does not mix).
 * The paper gives them only as pictures, so the geometry below is ours: a cross is an X of two
 * perpendicular arms (the diagonals), each a uniform segment blurred by isotropic Gaussian noise. */
#include <ebood/data.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eb_toy2d_params eb_toy2d_default_params(const char *name) {
    eb_toy2d_params p = {0, 0, 0};
    if (name && strcmp(name, "cross") == 0) p = (eb_toy2d_params){2.0, 0.15, 0.0};
    if (name && strcmp(name, "crosses") == 0) p = (eb_toy2d_params){0.8, 0.08, 4.0};
    return p;
}

static eb_status check(const char *what, int64_t n, const eb_toy2d_params *p, bool grid, const eb_rng *rng,
                       eb_error *err) {
    if (n < 0) return eb_error_set(err, EB_ERR_ARG, "%s: n = %lld < 0", what, (long long)n);
    if (!rng) return eb_error_set(err, EB_ERR_ARG, "%s: rng is NULL", what);
    if (!(p->half_length > 0 && p->half_length < 1e6) || !(p->noise >= 0 && p->noise < 1e6) ||
        (grid && !(p->spacing > 0 && p->spacing < 1e6)))
        return eb_error_set(err, EB_ERR_ARG, "%s: need half_length > 0, noise >= 0%s (got %g, %g, %g)", what,
                            grid ? ", spacing > 0" : "", p->half_length, p->noise, p->spacing);
    return EB_OK;
}

/* One point of a cross centred at (cx, cy): arm 0 along (1, 1)/√2, arm 1 along (1, −1)/√2. Draws
 * the arm, t, then the noise; returns the arm. */
static int32_t cross_point(double cx, double cy, const eb_toy2d_params *p, eb_rng *rng, float *xy) {
    const double s = 0.70710678118654752440;
    int32_t arm = (int32_t)eb_rng_below(rng, 2);
    double t = eb_rng_uniform_range(rng, -p->half_length, p->half_length);
    double ex = p->noise * eb_rng_normal(rng), ey = p->noise * eb_rng_normal(rng);
    xy[0] = (float)(cx + t * s + ex);
    xy[1] = (float)(cy + (arm == 0 ? t * s : -t * s) + ey);
    return arm;
}

static eb_status label_names(eb_dataset *d, const char *prefix, eb_error *err) {
    char buf[9][16];
    const char *names[9];
    for (int k = 0; k < d->num_classes && k < 9; k++) {
        snprintf(buf[k], sizeof buf[k], "%s%d", prefix, k);
        names[k] = buf[k];
    }
    return eb_dataset_set_class_names(d, names, err);
}

eb_status eb_toy2d_cross(int64_t n, const eb_toy2d_params *p, eb_rng *rng, eb_dataset *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    eb_toy2d_params def = eb_toy2d_default_params("cross");
    if (!p) p = &def;
    eb_status st = check("toy cross", n, p, false, rng, err);
    if (!st) st = eb_dataset_alloc(n, 2, 2, true, out, err);
    if (!st) st = label_names(out, "arm", err);
    if (st) {
        eb_dataset_free(out);
        return st;
    }
    for (int64_t i = 0; i < n; i++) out->y[i] = cross_point(0.0, 0.0, p, rng, out->x + 2 * i);
    return EB_OK;
}

eb_status eb_toy2d_crosses(int64_t n, const eb_toy2d_params *p, eb_rng *rng, eb_dataset *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    eb_toy2d_params def = eb_toy2d_default_params("crosses");
    if (!p) p = &def;
    eb_status st = check("toy crosses", n, p, true, rng, err);
    if (!st) st = eb_dataset_alloc(n, 2, 9, true, out, err);
    if (!st) st = label_names(out, "cross", err);
    if (st) {
        eb_dataset_free(out);
        return st;
    }
    for (int64_t i = 0; i < n; i++) {
        int k = (int)eb_rng_below(rng, 9);
        double cx = (k / 3 - 1) * p->spacing, cy = (k % 3 - 1) * p->spacing;
        out->y[i] = k;
        (void)cross_point(cx, cy, p, rng, out->x + 2 * i);
    }
    return EB_OK;
}

eb_status eb_toy2d_box(const char *name, double box[4], eb_error *err) {
    double r;
    if (name && strcmp(name, "cross") == 0)
        r = 3.0;
    else if (name && strcmp(name, "crosses") == 0)
        r = 6.0;
    else
        return eb_error_set(err, EB_ERR_ARG, "toy data: unknown name '%s' (cross, crosses)",
                            name ? name : "");
    box[0] = box[2] = -r;
    box[1] = box[3] = r;
    return EB_OK;
}

eb_status eb_toy2d_split(const char *name, uint64_t seed, eb_tabular_split *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    double box[4];
    eb_status st = eb_toy2d_box(name, box, err);
    if (st) return st;
    bool crosses = strcmp(name, "crosses") == 0;
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    int64_t n_train = crosses ? 4500 : 2000, n_eval = 500;
    eb_dataset *sets[3] = {&out->train, &out->val, &out->test};
    for (int s = 0; s < 3 && !st; s++)
        st = crosses ? eb_toy2d_crosses(s ? n_eval : n_train, NULL, &rng, sets[s], err)
                     : eb_toy2d_cross(s ? n_eval : n_train, NULL, &rng, sets[s], err);
    if (!st) st = eb_dataset_alloc(n_eval, 2, 0, false, &out->ood, err);
    if (!st) {
        for (int64_t i = 0; i < n_eval; i++) {
            out->ood.x[2 * i] = (float)eb_rng_uniform_range(&rng, box[0], box[1]);
            out->ood.x[2 * i + 1] = (float)eb_rng_uniform_range(&rng, box[2], box[3]);
        }
        out->dim = 2;
        out->feature_names = calloc(2, sizeof *out->feature_names);
        if (out->feature_names) out->feature_names[0] = malloc(2), out->feature_names[1] = malloc(2);
        if (!out->feature_names || !out->feature_names[0] || !out->feature_names[1]) {
            st = eb_error_set(err, EB_ERR_NOMEM, "toy:%s: out of memory", name);
        } else {
            memcpy(out->feature_names[0], "x", 2);
            memcpy(out->feature_names[1], "y", 2);
        }
    }
    if (st) eb_tabular_split_free(out);
    return st;
}
