/* Elementwise math: x + c, c·x, exp, log, sqrt, square, abs, clamp. */
#include "tensor/unary_impl.h"

#include <math.h>

eb_tensor *eb__unary(eb_graph *g, eb_op op, eb_tensor *x, float p0, float p1) {
    if (!eb__inputs_ok(g, eb_op_name(op), x, NULL)) return eb__poison(g);
    eb_tensor *out = eb__node(g, op, x->ndim, x->shape, x, NULL, NULL);
    if (!out) return eb__poison(g);
    out->fparam[0] = p0;
    out->fparam[1] = p1;
    eb__forward(out);
    return out;
}

eb_tensor *eb_add_scalar(eb_graph *g, eb_tensor *x, float c) {
    return eb__unary(g, EB_OP_ADD_SCALAR, x, c, 0);
}
eb_tensor *eb_mul_scalar(eb_graph *g, eb_tensor *x, float c) {
    return eb__unary(g, EB_OP_MUL_SCALAR, x, c, 0);
}
eb_tensor *eb_exp(eb_graph *g, eb_tensor *x) { return eb__unary(g, EB_OP_EXP, x, 0, 0); }
eb_tensor *eb_log(eb_graph *g, eb_tensor *x) { return eb__unary(g, EB_OP_LOG, x, 0, 0); }
eb_tensor *eb_sqrt(eb_graph *g, eb_tensor *x) { return eb__unary(g, EB_OP_SQRT, x, 0, 0); }
eb_tensor *eb_square(eb_graph *g, eb_tensor *x) { return eb__unary(g, EB_OP_SQUARE, x, 0, 0); }
eb_tensor *eb_abs(eb_graph *g, eb_tensor *x) { return eb__unary(g, EB_OP_ABS, x, 0, 0); }

eb_tensor *eb_clamp(eb_graph *g, eb_tensor *x, float lo, float hi) {
    if (g->status == EB_OK && !(lo <= hi)) {
        eb_graph_fail(g, EB_ERR_ARG, "clamp: lower bound %g above upper bound %g", (double)lo, (double)hi);
        return eb__poison(g);
    }
    return eb__unary(g, EB_OP_CLAMP, x, lo, hi);
}

/*                 name        y = f(x)                        dy/dx                              */
EB_DEFINE_UNARY(add_scalar, x + P0, 1.0f)
EB_DEFINE_UNARY(mul_scalar, x *P0, P0)
EB_DEFINE_UNARY(exp, expf(x), y)
EB_DEFINE_UNARY(log, logf(x), 1.0f / x)
EB_DEFINE_UNARY(sqrt, sqrtf(x), 0.5f / y)
EB_DEFINE_UNARY(square, x *x, 2.0f * x)
EB_DEFINE_UNARY(abs, fabsf(x), (float)((x > 0.0f) - (x < 0.0f)))
/* PyTorch's clamp passes the gradient where lo ≤ x ≤ hi (bounds inclusive). */
EB_DEFINE_UNARY(clamp, fminf(fmaxf(x, P0), P1), (x >= P0 && x <= P1) ? 1.0f : 0.0f)
