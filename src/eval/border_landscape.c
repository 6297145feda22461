/* The border energy of two 2-D point sets and gradient descent on it (000_d95ac7511efbaafc.txt Eq. 5–6,
 * App. B.4 / Fig. 6; include/ebood/eval.h). Euclidean similarities (the paper's Eq. 12):
 *   s(ξ, x) = −½‖ξ − x‖²,  lse_β(X; ξ) = β⁻¹ log Σ_x exp(β s(ξ, x)),
 *   L_OOD(ξ) = lse_β(I; ξ) + lse_β(O; ξ) − 2 lse_β(I ∥ O; ξ),  J = (1/N) Σ_{ξ ∈ I ∪ O} L_OOD(ξ).
 * Gradients of one lse term with p = softmax_x(β s(ξ, x)): ∂/∂ξ = Σ_x p_x (x − ξ), ∂/∂x = p_x (ξ − x); each
 * point collects them as a query and as a memory of each term it belongs to. All in double. */
#include "eval/report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* lse_β over memories m[lo, hi) for query q; p[i − lo] = softmax weights when p != NULL. */
static double lse_term(const double *q, const float *pts, int64_t lo, int64_t hi, double beta, double *p) {
    double mx = -INFINITY;
    for (int64_t i = lo; i < hi; i++) {
        const double dx = q[0] - (double)pts[2 * i], dy = q[1] - (double)pts[2 * i + 1];
        const double v = -0.5 * beta * (dx * dx + dy * dy);
        if (p) p[i - lo] = v;
        mx = v > mx ? v : mx;
    }
    double s = 0.0;
    for (int64_t i = lo; i < hi; i++) {
        const double dx = q[0] - (double)pts[2 * i], dy = q[1] - (double)pts[2 * i + 1];
        const double e = exp(-0.5 * beta * (dx * dx + dy * dy) - mx);
        if (p) p[i - lo] = e;
        s += e;
    }
    for (int64_t i = lo; p && i < hi; i++) p[i - lo] /= s;
    return (mx + log(s)) / beta;
}

/* Adds c·∂lse/∂(query, memories) of one term to grad. */
static void lse_grad(const double *q, int64_t qi, const float *pts, int64_t lo, int64_t hi, const double *p,
                     double c, double *grad) {
    for (int64_t i = lo; i < hi; i++) {
        const double dx = (double)pts[2 * i] - q[0], dy = (double)pts[2 * i + 1] - q[1], w = c * p[i - lo];
        grad[2 * qi] += w * dx, grad[2 * qi + 1] += w * dy; /* as the query */
        grad[2 * i] -= w * dx, grad[2 * i + 1] -= w * dy;   /* as a memory */
    }
}

static eb_status check(int64_t n_id, int64_t n_aux, double beta, eb_error *err) {
    if (n_id < 1 || n_aux < 1)
        return eb_error_set(err, EB_ERR_ARG, "border energy: need ID and AUX points (got %lld and %lld)",
                            (long long)n_id, (long long)n_aux);
    if (!(isfinite(beta) && beta > 0))
        return eb_error_set(err, EB_ERR_ARG, "border energy: beta must be a finite number > 0 (got %g)",
                            beta);
    return EB_OK;
}

static double border(const double *q, const float *pts, int64_t n_id, int64_t n, double beta) {
    return lse_term(q, pts, 0, n_id, beta, NULL) + lse_term(q, pts, n_id, n, beta, NULL) -
           2.0 * lse_term(q, pts, 0, n, beta, NULL);
}

eb_status eb_border_loss(const float *pts, int64_t n_id, int64_t n_aux, double beta, double *loss,
                         double *grad, eb_error *err) {
    eb_status st = check(n_id, n_aux, beta, err);
    if (st) return st;
    const int64_t n = n_id + n_aux;
    double *p = grad ? malloc((size_t)n * sizeof *p) : NULL;
    if (grad && !p) return eb_error_set(err, EB_ERR_NOMEM, "border energy: out of memory");
    if (grad) memset(grad, 0, (size_t)(2 * n) * sizeof *grad);
    double j = 0.0;
    for (int64_t k = 0; k < n; k++) {
        const double q[2] = {(double)pts[2 * k], (double)pts[2 * k + 1]};
        if (!grad) {
            j += border(q, pts, n_id, n, beta);
            continue;
        }
        j += lse_term(q, pts, 0, n_id, beta, p);
        lse_grad(q, k, pts, 0, n_id, p, 1.0 / (double)n, grad);
        j += lse_term(q, pts, n_id, n, beta, p);
        lse_grad(q, k, pts, n_id, n, p, 1.0 / (double)n, grad);
        j -= 2.0 * lse_term(q, pts, 0, n, beta, p);
        lse_grad(q, k, pts, 0, n, p, -2.0 / (double)n, grad);
    }
    free(p);
    *loss = j / (double)n;
    return EB_OK;
}

eb_status eb_border_descend(float *pts, int64_t n_id, int64_t n_aux, double beta, double lr, int64_t steps,
                            double *loss, eb_error *err) {
    if (!(isfinite(lr) && lr > 0) || steps < 0)
        return eb_error_set(err, EB_ERR_ARG, "border energy: need lr > 0 and steps >= 0 (got %g, %lld)", lr,
                            (long long)steps);
    eb_status st = check(n_id, n_aux, beta, err);
    const int64_t n = n_id + n_aux;
    double *grad = st ? NULL : malloc((size_t)(2 * n) * sizeof *grad), j = NAN;
    if (!st && !grad) st = eb_error_set(err, EB_ERR_NOMEM, "border energy: out of memory");
    for (int64_t t = 0; t < steps && !st; t++) {
        st = eb_border_loss(pts, n_id, n_aux, beta, &j, grad, err);
        for (int64_t i = 0; !st && i < 2 * n; i++) pts[i] = (float)((double)pts[i] - lr * grad[i]);
    }
    free(grad);
    if (!st && loss) *loss = j;
    return st;
}

eb_status eb_border_landscape(const float *pts, int64_t n_id, int64_t n_aux, double beta, const double box[4],
                              int64_t width, int64_t height, eb_landscape *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    eb_status st = check(n_id, n_aux, beta, err);
    if (!st) st = eb__landscape_alloc(box, width, height, out, err);
    if (st) return st;
    for (int64_t i = 0; i < height; i++)
        for (int64_t j = 0; j < width; j++) {
            const double q[2] = {box[0] + (double)j * (box[1] - box[0]) / (double)(width - 1),
                                 box[2] + (double)i * (box[3] - box[2]) / (double)(height - 1)};
            out->values[i * width + j] = (float)(beta * border(q, pts, n_id, n_id + n_aux, beta));
        }
    return EB_OK;
}
