/* Tensor ops against PyTorch, plus the graph's sticky status, arena reuse and dropout semantics.
 *
 * The reference fixture tests/fixtures/ops/ops.json is written by scripts/make_ops_fixture.py
 * (Debian's torch 1.13, float64 from float32 inputs): for every case, the op's output and the input
 * gradients of L = Σ r ⊙ out for a fixed random r. Here the same op runs in float32 and both are
 * compared at ~1e-5 relative tolerance (see fixture_tol). */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <ebood/tensor.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_json.h"
#include "test_util.h"

/* ---- fixture access --------------------------------------------------------------------------- */

static cJSON *load_fixture(void) { return load_fixture_json("ops/ops.json"); }

/* Builds the case's op on g from the tensors `in`. */
static eb_tensor *build_case(eb_graph *g, const cJSON *c, eb_tensor **in, int n_in) {
    const char *op = cJSON_GetStringValue(item(c, "op"));
    cr_assert_not_null(op);
    if (!strcmp(op, "reshape")) {
        int64_t shape[EB_MAX_DIMS];
        int nd = read_shape(item(c, "shape"), shape);
        return eb_reshape(g, in[0], nd, shape);
    }
    if (!strcmp(op, "matmul")) return eb_matmul(g, in[0], in[1], flag(c, "trans_a"), flag(c, "trans_b"));
    if (!strcmp(op, "linear")) return eb_linear(g, in[0], in[1], n_in > 2 ? in[2] : NULL);
    if (!strcmp(op, "add")) return eb_add(g, in[0], in[1]);
    if (!strcmp(op, "sub")) return eb_sub(g, in[0], in[1]);
    if (!strcmp(op, "mul")) return eb_mul(g, in[0], in[1]);
    if (!strcmp(op, "div")) return eb_div(g, in[0], in[1]);
    if (!strcmp(op, "add_scalar")) return eb_add_scalar(g, in[0], (float)num(c, "scalar"));
    if (!strcmp(op, "mul_scalar")) return eb_mul_scalar(g, in[0], (float)num(c, "scalar"));
    if (!strcmp(op, "exp")) return eb_exp(g, in[0]);
    if (!strcmp(op, "log")) return eb_log(g, in[0]);
    if (!strcmp(op, "sqrt")) return eb_sqrt(g, in[0]);
    if (!strcmp(op, "square")) return eb_square(g, in[0]);
    if (!strcmp(op, "abs")) return eb_abs(g, in[0]);
    if (!strcmp(op, "clamp")) return eb_clamp(g, in[0], (float)num(c, "lo"), (float)num(c, "hi"));
    if (!strcmp(op, "relu")) return eb_relu(g, in[0]);
    if (!strcmp(op, "leaky_relu")) return eb_leaky_relu(g, in[0], (float)num(c, "slope"));
    if (!strcmp(op, "elu")) return eb_elu(g, in[0], (float)num(c, "alpha"));
    if (!strcmp(op, "softplus")) return eb_softplus(g, in[0], (float)num(c, "beta"));
    if (!strcmp(op, "tanh")) return eb_tanh(g, in[0]);
    if (!strcmp(op, "sigmoid")) return eb_sigmoid(g, in[0]);
    if (!strcmp(op, "swish")) return eb_swish(g, in[0]);
    if (!strcmp(op, "sum")) return eb_sum(g, in[0], (int)num(c, "axis"), flag(c, "keepdim"));
    if (!strcmp(op, "mean")) return eb_mean(g, in[0], (int)num(c, "axis"), flag(c, "keepdim"));
    if (!strcmp(op, "max")) return eb_max(g, in[0], (int)num(c, "axis"), flag(c, "keepdim"));
    if (!strcmp(op, "logsumexp")) return eb_logsumexp(g, in[0], (int)num(c, "axis"), flag(c, "keepdim"));
    if (!strcmp(op, "sum_all")) return eb_sum_all(g, in[0]);
    if (!strcmp(op, "mean_all")) return eb_mean_all(g, in[0]);
    if (!strcmp(op, "softmax")) return eb_softmax(g, in[0], (int)num(c, "axis"));
    if (!strcmp(op, "log_softmax")) return eb_log_softmax(g, in[0], (int)num(c, "axis"));
    if (!strcmp(op, "cross_entropy")) {
        const cJSON *lab = item(c, "labels");
        int32_t labels[64];
        int n = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, lab) {
            cr_assert(n < 64);
            labels[n++] = (int32_t)e->valuedouble;
        }
        return eb_cross_entropy(g, in[0], labels);
    }
    if (!strcmp(op, "l2_normalize")) return eb_l2_normalize(g, in[0], (float)num(c, "eps"));
    if (!strcmp(op, "concat")) return eb_concat(g, in[0], in[1], (int)num(c, "axis"));
    if (!strcmp(op, "gather_rows")) {
        const cJSON *idx = item(c, "index");
        int64_t index[64];
        int64_t n = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, idx) {
            cr_assert(n < 64);
            index[n++] = (int64_t)e->valuedouble;
        }
        return eb_gather_rows(g, in[0], index, n);
    }
    cr_assert_fail("fixture: unknown op \"%s\"", op);
    return NULL;
}

/* Tolerance for a float32 result against a float64 reference: 1e-5 relative, plus an absolute
 * floor of 2e-6 · max(1, max|ref|) for entries that come out near zero by cancellation (a float32
 * sum of ~10 terms as large as the array's largest value carries a few 1e-7 of that value). */
static double fixture_tol(double ref, double scale) { return 1e-5 * fabs(ref) + 2e-6 * fmax(1.0, scale); }

typedef struct op_stats {
    int cases;
    double max_out_err, max_grad_err;
} op_stats;

/* Compares got[0..n) with the reference; returns the largest |difference| and the number of
 * entries outside fixture_tol. */
static int compare(const float *got, const float *ref, int64_t n, double *max_err) {
    double scale = 0.0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs((double)ref[i]));
    int bad = 0;
    *max_err = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= fixture_tol(ref[i], scale))) bad++; /* NaN counts as bad */
        if (!(d <= *max_err)) *max_err = d;
    }
    return bad;
}

/* Runs one fixture case; records the op and errors in stats (indexed by eb_op). */
static void run_case(eb_graph *g, const cJSON *c, op_stats *stats) {
    const char *name = cJSON_GetStringValue(item(c, "name"));
    const cJSON *inputs = item(c, "inputs");
    int n_in = cJSON_GetArraySize(inputs);
    cr_assert(n_in >= 1 && n_in <= 3, "%s: bad input count", name);
    float *data[3] = {0};
    bool wants_grad[3] = {0};
    eb_tensor *in[3] = {0};
    eb_graph_reset(g);
    for (int i = 0; i < n_in; i++) {
        const cJSON *inp = cJSON_GetArrayItem(inputs, i);
        int64_t shape[EB_MAX_DIMS];
        int nd = read_shape(item(inp, "shape"), shape);
        read_floats(item(inp, "data"), &data[i]);
        wants_grad[i] = flag(inp, "grad");
        in[i] = eb_tensor_input(g, data[i], nd, shape, wants_grad[i]);
    }
    eb_tensor *out = build_case(g, c, in, n_in);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s: %s", name, eb_graph_error(g));
    cr_assert_not_null(out, "%s: op returned NULL", name);

    int64_t shape[EB_MAX_DIMS];
    int nd = read_shape(item(c, "out_shape"), shape);
    char buf[64];
    cr_assert_eq(out->ndim, nd, "%s: output shape %s, expected ndim %d", name,
                 eb_tensor_shape_str(out, buf, sizeof buf), nd);
    for (int d = 0; d < nd; d++)
        cr_assert_eq(out->shape[d], shape[d], "%s: output shape %s differs from PyTorch's in dim %d", name,
                     eb_tensor_shape_str(out, buf, sizeof buf), d);

    float *ref = NULL, *r = NULL;
    int64_t n = read_floats(item(c, "out"), &ref);
    cr_assert_eq(n, out->size, "%s: output size", name);
    double err = 0.0;
    int bad = compare(out->data, ref, n, &err);
    cr_expect_eq(bad, 0, "%s: %d of %ld outputs differ from PyTorch (max |diff| %.3g)", name, bad, (long)n,
                 err);
    op_stats *s = &stats[out->op];
    s->cases++;
    s->max_out_err = fmax(s->max_out_err, err);

    int64_t nr = read_floats(item(c, "r"), &r);
    cr_assert_eq(nr, out->size);
    cr_assert_eq(eb_graph_backward(g, out, r), EB_OK, "%s: backward: %s", name, eb_graph_error(g));
    const cJSON *grads = item(c, "grads");
    for (int i = 0; i < n_in; i++) {
        if (!wants_grad[i]) {
            cr_expect_null(in[i]->grad, "%s: input %d was created without requires_grad but has a gradient",
                           name, i);
            continue;
        }
        cr_assert_not_null(in[i]->grad, "%s: input %d has no gradient buffer", name, i);
        float *gref = NULL;
        int64_t ng = read_floats(cJSON_GetArrayItem(grads, i), &gref);
        cr_assert_eq(ng, in[i]->size);
        bad = compare(in[i]->grad, gref, ng, &err);
        cr_expect_eq(bad, 0,
                     "%s: %d of %ld gradient entries of input %d differ from PyTorch (max |diff| %.3g)", name,
                     bad, (long)ng, i, err);
        s->max_grad_err = fmax(s->max_grad_err, err);
        free(gref);
    }
    free(ref);
    free(r);
    for (int i = 0; i < n_in; i++) free(data[i]);
}

static void run_fixture(op_stats *stats) {
    cJSON *doc = load_fixture();
    eb_graph *g = eb_graph_new(0, NULL);
    cr_assert_not_null(g);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) run_case(g, c, stats);
    eb_graph_free(g);
    cJSON_Delete(doc);
}

Test(tensor_ops, forward_and_gradients_match_pytorch) {
    op_stats stats[EB_OP_COUNT];
    memset(stats, 0, sizeof stats);
    run_fixture(stats);
    for (int op = 0; op < EB_OP_COUNT; op++)
        if (stats[op].cases)
            cr_log_info("%-14s %2d cases  max |out - torch| %.2e  max |grad - torch| %.2e",
                        eb_op_name((eb_op)op), stats[op].cases, stats[op].max_out_err,
                        stats[op].max_grad_err);
}

/* Compared with PyTorch in tests/test_conv_ops.c (tests/fixtures/conv/conv.json), which checks that
 * each of them has cases there. */
static bool in_conv_fixture(int op) {
    return op == EB_OP_CONV2D || op == EB_OP_BATCH_NORM || op == EB_OP_MAX_POOL2D || op == EB_OP_AVG_POOL2D ||
           op == EB_OP_GLOBAL_AVG_POOL || op == EB_OP_SPATIAL_STD_POOL;
}

/* Every op with a PyTorch equivalent is compared (all but LEAF and DROPOUT, whose mask has none). */
Test(tensor_ops, fixture_covers_every_op_with_a_pytorch_equivalent) {
    op_stats stats[EB_OP_COUNT];
    memset(stats, 0, sizeof stats);
    run_fixture(stats);
    int missing = 0;
    for (int op = 1; op < EB_OP_COUNT; op++) {
        if (op == EB_OP_DROPOUT || in_conv_fixture(op) || stats[op].cases) continue;
        cr_log_error("op %s has no PyTorch fixture case (scripts/make_ops_fixture.py)",
                     eb_op_name((eb_op)op));
        missing++;
    }
    cr_assert_eq(missing, 0, "%d ops lack a PyTorch reference case", missing);
}

/* ---- op table --------------------------------------------------------------------------------- */

Test(tensor_ops, op_names_and_arity_follow_the_table) {
    static const char *names[] = {
#define NAME(N, n, a) #n,
        EB_OP_LIST(NAME)
#undef NAME
    };
    static const int arity[] = {
#define ARITY(N, n, a) a,
        EB_OP_LIST(ARITY)
#undef ARITY
    };
    for (int op = 0; op < EB_OP_COUNT; op++) {
        cr_assert_not_null(eb_op_name((eb_op)op));
        cr_expect_str_eq(eb_op_name((eb_op)op), names[op]);
        cr_expect_eq(eb_op_arity((eb_op)op), arity[op], "arity of %s", names[op]);
    }
}

Test(tensor_ops, shape_str_formats_dims) {
    eb_graph *g = eb_graph_new(0, NULL);
    char buf[64];
    cr_expect_str_eq(eb_tensor_shape_str(eb_tensor_zeros(g, 2, EB_SHAPE(2, 3)), buf, sizeof buf), "[2, 3]");
    cr_expect_str_eq(eb_tensor_shape_str(eb_tensor_scalar(g, 1.0f), buf, sizeof buf), "[]");
    cr_expect_str_eq(eb_tensor_shape_str(eb_tensor_zeros(g, 4, EB_SHAPE(1, 2, 3, 4)), buf, sizeof buf),
                     "[1, 2, 3, 4]");
    char tiny[4];
    eb_tensor_shape_str(eb_tensor_zeros(g, 2, EB_SHAPE(200, 300)), tiny, sizeof tiny);
    cr_expect_eq(strlen(tiny), 3, "shape_str must truncate and NUL-terminate");
    eb_graph_free(g);
}

/* ---- leaves ------------------------------------------------------------------------------------- */

Test(tensor_ops, leaves_hold_their_values) {
    eb_graph *g = eb_graph_new(0, NULL);
    float src[6] = {1, 2, 3, 4, 5, 6};
    eb_tensor *z = eb_tensor_zeros(g, 2, EB_SHAPE(2, 3));
    eb_tensor *c = eb_tensor_copy(g, src, 2, EB_SHAPE(3, 2));
    eb_tensor *s = eb_tensor_scalar(g, 2.5f);
    eb_tensor *in = eb_tensor_input(g, src, 1, EB_SHAPE(6), false);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    for (int i = 0; i < 6; i++) cr_expect_eq(z->data[i], 0.0f);
    src[0] = 100.0f; /* copy is a copy, input wraps */
    cr_expect_eq(c->data[0], 1.0f);
    cr_expect_eq(c->data[5], 6.0f);
    cr_expect_eq(in->data, src);
    cr_expect_eq(s->ndim, 0);
    cr_expect_eq(s->size, 1);
    cr_expect_eq(s->data[0], 2.5f);
    cr_expect_eq(c->size, 6);
    cr_expect(!z->requires_grad && !c->requires_grad && !in->requires_grad);
    cr_expect_null(c->grad);
    eb_graph_free(g);
}

/* ---- ops with no PyTorch fixture ------------------------------------------------------------------ */

Test(tensor_ops, max_gradient_goes_to_first_argmax_on_ties) {
    eb_graph *g = eb_graph_new(0, NULL);
    float x[8] = {1, 3, 3, 2, /* row 2 */ 5, 5, 5, -1};
    eb_tensor *t = eb_tensor_input(g, x, 2, EB_SHAPE(2, 4), true);
    eb_tensor *m = eb_max(g, t, 1, false);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_expect_eq(m->data[0], 3.0f);
    cr_expect_eq(m->data[1], 5.0f);
    cr_assert_eq(eb_graph_backward(g, m, (const float[]){2.0f, -1.0f}), EB_OK);
    const float expect[8] = {0, 2, 0, 0, -1, 0, 0, 0};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(t->grad[i], expect[i], "grad[%d] = %g, expected %g", i, (double)t->grad[i],
                     (double)expect[i]);
    eb_graph_free(g);
}

Test(tensor_ops, dropout_zeroes_a_fraction_p_and_rescales_survivors) {
    enum { N = 20000 };
    static float x[N];
    eb_rng data_rng;
    eb_rng_seed(&data_rng, 7);
    eb_rng_fill_uniform(&data_rng, x, N, 0.5f, 1.5f); /* never 0, so a zero output means dropped */
    eb_graph *g = eb_graph_new(0, NULL);
    const float p = 0.3f;
    eb_rng rng;
    eb_rng_seed(&rng, 1234);
    eb_tensor *t = eb_tensor_input(g, x, 1, EB_SHAPE(N), true);
    eb_tensor *y = eb_dropout(g, t, p, &rng);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_assert_eq(y->size, N);
    static float seed[N];
    for (int i = 0; i < N; i++) seed[i] = 1.0f + (float)(i % 7);
    cr_assert_eq(eb_graph_backward(g, y, seed), EB_OK);
    int dropped = 0;
    for (int i = 0; i < N; i++) {
        if (y->data[i] == 0.0f) {
            dropped++;
            cr_expect_eq(t->grad[i], 0.0f, "dropped element %d got gradient %g", i, (double)t->grad[i]);
        } else {
            double want = (double)x[i] / (1.0 - (double)p);
            cr_expect(fabs((double)y->data[i] - want) <= 1e-6 * want,
                      "survivor %d: %g, expected x/(1-p) = %g", i, (double)y->data[i], want);
            double gwant = (double)seed[i] / (1.0 - (double)p);
            cr_expect(fabs((double)t->grad[i] - gwant) <= 1e-6 * gwant,
                      "survivor %d: gradient %g, expected %g", i, (double)t->grad[i], gwant);
        }
    }
    /* Binomial(20000, 0.3): sd = 65 elements; 6 sd = 0.0195 of N. */
    double frac = (double)dropped / N;
    cr_expect(fabs(frac - (double)p) < 0.02, "dropped fraction %.4f, expected %.2f", frac, (double)p);

    /* Same seed ⇒ same mask; another seed ⇒ another mask. */
    eb_rng r1, r2;
    eb_rng_seed(&r1, 1234);
    eb_rng_seed(&r2, 99);
    eb_tensor *y1 = eb_dropout(g, t, p, &r1);
    eb_tensor *y2 = eb_dropout(g, t, p, &r2);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_expect_eq(memcmp(y1->data, y->data, sizeof(float) * N), 0, "same seed gave a different mask");
    cr_expect_neq(memcmp(y2->data, y->data, sizeof(float) * N), 0, "different seeds gave the same mask");

    /* p = 0 is the identity. */
    eb_tensor *y0 = eb_dropout(g, t, 0.0f, &r1);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_expect_eq(memcmp(y0->data, x, sizeof(float) * N), 0, "dropout with p = 0 changed its input");
    eb_graph_free(g);
}

Test(tensor_ops, dropout_rejects_p_outside_0_1) {
    float x[4] = {1, 2, 3, 4};
    const float bad_p[] = {1.0f, -0.1f, 1.5f, NAN};
    for (size_t k = 0; k < sizeof bad_p / sizeof bad_p[0]; k++) {
        eb_graph *g = eb_graph_new(0, NULL);
        eb_rng rng;
        eb_rng_seed(&rng, 1);
        eb_tensor *t = eb_tensor_input(g, x, 1, EB_SHAPE(4), false);
        eb_tensor *y = eb_dropout(g, t, bad_p[k], &rng);
        cr_expect_neq(eb_graph_status(g), EB_OK, "dropout accepted p = %g", (double)bad_p[k]);
        cr_expect_not_null(y, "an op must return the poison tensor, not NULL");
        cr_expect_not_null(strstr(eb_graph_error(g), "dropout"), "error does not name the op: \"%s\"",
                           eb_graph_error(g));
        eb_graph_free(g);
    }
}

/* ---- sticky status -------------------------------------------------------------------------------- */

Test(tensor_ops, shape_mismatch_is_sticky_and_named) {
    eb_graph *g = eb_graph_new(0, NULL);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[20] = {0};
    eb_tensor *ta = eb_tensor_input(g, a, 2, EB_SHAPE(2, 3), true);
    eb_tensor *tb = eb_tensor_input(g, b, 2, EB_SHAPE(4, 5), true);
    cr_assert_eq(eb_graph_status(g), EB_OK);
    cr_expect_str_eq(eb_graph_error(g), "");

    eb_tensor *bad = eb_matmul(g, ta, tb, false, false);
    cr_assert_eq(eb_graph_status(g), EB_ERR_SHAPE, "status %d", eb_graph_status(g));
    cr_assert_not_null(bad, "a failing op returns the poison tensor, not NULL");
    const char *msg = eb_graph_error(g);
    cr_expect_not_null(strstr(msg, "matmul"), "error does not name the op: \"%s\"", msg);
    cr_expect_not_null(strstr(msg, "[2, 3]"), "error does not name the first shape: \"%s\"", msg);
    cr_expect_not_null(strstr(msg, "[4, 5]"), "error does not name the second shape: \"%s\"", msg);
    char first[1024];
    snprintf(first, sizeof first, "%s", msg);

    /* Later ops take the poison (or good tensors) and return without crashing; the first error stays. */
    eb_tensor *t = eb_relu(g, bad);
    t = eb_add(g, t, ta);
    t = eb_linear(g, t, tb, NULL);
    t = eb_reshape(g, ta, 1, EB_SHAPE(7)); /* a second, different error */
    t = eb_log_softmax(g, t, 1);
    t = eb_cross_entropy(g, t, (const int32_t[]){0, 1});
    t = eb_concat(g, t, bad, 0);
    t = eb_gather_rows(g, t, (const int64_t[]){0}, 1);
    t = eb_sum_all(g, t);
    cr_assert_not_null(t);
    cr_expect_eq(eb_graph_status(g), EB_ERR_SHAPE);
    cr_expect_str_eq(eb_graph_error(g), first, "the first error must stick");
    cr_expect_neq(eb_graph_backward(g, t, NULL), EB_OK, "backward on a failed graph must report the error");
    cr_expect_eq(eb_graph_status(g), EB_ERR_SHAPE);

    /* reset clears the status and the graph works again */
    eb_graph_reset(g);
    cr_expect_eq(eb_graph_status(g), EB_OK);
    cr_expect_str_eq(eb_graph_error(g), "");
    ta = eb_tensor_input(g, a, 2, EB_SHAPE(2, 3), true);
    eb_tensor *s = eb_sum_all(g, eb_square(g, ta));
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    cr_expect_eq(s->data[0], 91.0f);
    cr_assert_eq(eb_graph_backward(g, s, NULL), EB_OK);
    for (int i = 0; i < 6; i++) cr_expect_eq(ta->grad[i], 2.0f * a[i]);
    eb_graph_free(g);
}

Test(tensor_ops, graph_fail_first_error_wins) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_graph_fail(g, EB_ERR_ARG, "mlp: hidden width %d must be positive", -3);
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);
    cr_expect_not_null(strstr(eb_graph_error(g), "hidden width -3"), "\"%s\"", eb_graph_error(g));
    eb_tensor *x = eb_tensor_zeros(g, 2, EB_SHAPE(2, 3));
    eb_tensor *y = eb_matmul(g, x, x, false, false); /* would be a shape error */
    cr_expect_not_null(y);
    eb_graph_fail(g, EB_ERR_NUMERIC, "later");
    cr_expect_eq(eb_graph_status(g), EB_ERR_ARG);
    cr_expect_not_null(strstr(eb_graph_error(g), "hidden width"), "\"%s\"", eb_graph_error(g));
    eb_graph_reset(g);
    cr_expect_eq(eb_graph_status(g), EB_OK);
    eb_graph_free(g);
}

/* Each bad call on a fresh graph: a failure status, and a message naming the op (and for shape errors
 * the offending shapes). */
typedef eb_tensor *(*bad_call_fn)(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3);

static eb_tensor *bad_add(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)v3;
    return eb_add(g, a23, b45);
}
static eb_tensor *bad_mul(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)v3;
    return eb_mul(g, b45, a23);
}
static eb_tensor *bad_linear_w(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)v3;
    return eb_linear(g, a23, b45, NULL); /* w must be [out, 3] */
}
static eb_tensor *bad_linear_b(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    eb_tensor *w = eb_tensor_zeros(g, 2, EB_SHAPE(4, 3));
    return eb_linear(g, a23, w, v3); /* b must be [4] */
}
static eb_tensor *bad_concat(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)v3;
    return eb_concat(g, a23, b45, 0);
}
static eb_tensor *bad_concat_axis(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    (void)v3;
    return eb_concat(g, a23, a23, 2);
}
static eb_tensor *bad_reshape(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    (void)v3;
    return eb_reshape(g, a23, 2, EB_SHAPE(4, 2));
}
static eb_tensor *bad_sum_axis(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    (void)v3;
    return eb_sum(g, a23, 2, false);
}
static eb_tensor *bad_softmax_axis(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    (void)v3;
    return eb_softmax(g, a23, -3);
}
static eb_tensor *bad_ce_shape(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)a23;
    (void)b45;
    return eb_cross_entropy(g, v3, (const int32_t[]){0, 0, 0}); /* logits must be 2-D */
}
static eb_tensor *bad_ce_label(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    (void)v3;
    return eb_cross_entropy(g, a23, (const int32_t[]){0, 3}); /* 3 classes: label 3 is out of range */
}
static eb_tensor *bad_ce_negative_label(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    (void)v3;
    return eb_cross_entropy(g, a23, (const int32_t[]){-1, 0});
}
static eb_tensor *bad_gather(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    (void)v3;
    return eb_gather_rows(g, a23, (const int64_t[]){0, 2}, 2); /* 2 rows */
}
static eb_tensor *bad_matmul_1d(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    return eb_matmul(g, a23, v3, false, false); /* matmul is 2-D only */
}
static eb_tensor *bad_l2_scalar(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)a23;
    (void)b45;
    (void)v3;
    return eb_l2_normalize(g, eb_tensor_scalar(g, 2.0f), 1e-6f); /* needs rows */
}
static eb_tensor *bad_l2_eps(eb_graph *g, eb_tensor *a23, eb_tensor *b45, eb_tensor *v3) {
    (void)b45;
    (void)v3;
    return eb_l2_normalize(g, a23, 0.0f); /* x / max(‖x‖, 0) divides by zero for a zero row */
}

Test(tensor_ops, bad_shapes_and_arguments_fail_with_named_op) {
    const struct {
        bad_call_fn fn;
        const char *op;
        eb_status status; /* 0: any failure status */
        const char *shape1, *shape2;
    } cases[] = {
        {bad_add, "add", EB_ERR_SHAPE, "[2, 3]", "[4, 5]"},
        {bad_mul, "mul", EB_ERR_SHAPE, "[4, 5]", "[2, 3]"},
        {bad_linear_w, "linear", EB_ERR_SHAPE, "[2, 3]", "[4, 5]"},
        {bad_linear_b, "linear", EB_ERR_SHAPE, "[3]", NULL},
        {bad_concat, "concat", EB_ERR_SHAPE, "[2, 3]", "[4, 5]"},
        {bad_concat_axis, "concat", 0, NULL, NULL},
        {bad_reshape, "reshape", EB_ERR_SHAPE, "[2, 3]", "[4, 2]"},
        {bad_sum_axis, "sum", 0, NULL, NULL},
        {bad_softmax_axis, "softmax", 0, NULL, NULL},
        {bad_ce_shape, "cross_entropy", EB_ERR_SHAPE, "[3]", NULL},
        {bad_ce_label, "cross_entropy", 0, NULL, NULL},
        {bad_ce_negative_label, "cross_entropy", 0, NULL, NULL},
        {bad_gather, "gather_rows", 0, NULL, NULL},
        {bad_matmul_1d, "matmul", EB_ERR_SHAPE, "[3]", NULL},
        {bad_l2_scalar, "l2_normalize", EB_ERR_SHAPE, "[]", NULL},
        {bad_l2_eps, "l2_normalize", 0, NULL, NULL},
    };
    float a[6] = {0}, b[20] = {0}, v[3] = {0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        eb_graph *g = eb_graph_new(0, NULL);
        eb_tensor *a23 = eb_tensor_input(g, a, 2, EB_SHAPE(2, 3), true);
        eb_tensor *b45 = eb_tensor_input(g, b, 2, EB_SHAPE(4, 5), true);
        eb_tensor *v3 = eb_tensor_input(g, v, 1, EB_SHAPE(3), true);
        eb_tensor *y = cases[k].fn(g, a23, b45, v3);
        eb_status st = eb_graph_status(g);
        const char *msg = eb_graph_error(g);
        cr_expect_not_null(y, "%s: an op must return the poison tensor, not NULL", cases[k].op);
        if (cases[k].status)
            cr_expect_eq(st, cases[k].status, "%s: status %d (%s), expected %d", cases[k].op, st, msg,
                         cases[k].status);
        else
            cr_expect_neq(st, EB_OK, "%s: bad call accepted", cases[k].op);
        cr_expect_not_null(strstr(msg, cases[k].op), "error does not name %s: \"%s\"", cases[k].op, msg);
        if (cases[k].shape1)
            cr_expect_not_null(strstr(msg, cases[k].shape1), "%s error lacks shape %s: \"%s\"", cases[k].op,
                               cases[k].shape1, msg);
        if (cases[k].shape2)
            cr_expect_not_null(strstr(msg, cases[k].shape2), "%s error lacks shape %s: \"%s\"", cases[k].op,
                               cases[k].shape2, msg);
        eb_graph_free(g);
    }
}

/* ---- arena reuse ---------------------------------------------------------------------------------- */

static eb_tensor *build_step(eb_graph *g, float *x, float *w, float *gw, const int32_t *labels) {
    eb_tensor *tx = eb_tensor_input(g, x, 2, EB_SHAPE(16, 8), true);
    eb_tensor *tw = eb_tensor_param(g, w, gw, 2, EB_SHAPE(4, 8));
    eb_tensor *h = eb_tanh(g, eb_linear(g, tx, tw, NULL));
    eb_tensor *e = eb_logsumexp(g, h, 1, false);
    eb_tensor *ce = eb_cross_entropy(g, h, labels);
    return eb_add(g, ce, eb_mean_all(g, eb_square(g, e)));
}

Test(tensor_ops, arena_is_reused_across_resets) {
    static float x[16 * 8], w[4 * 8], gw[4 * 8];
    int32_t labels[16];
    eb_rng rng;
    eb_rng_seed(&rng, 3);
    eb_rng_fill_normal(&rng, x, 16 * 8, 0.0f, 1.0f);
    eb_rng_fill_normal(&rng, w, 4 * 8, 0.0f, 0.3f);
    for (int i = 0; i < 16; i++) labels[i] = i % 4;
    /* Small blocks so a leak across resets would show within 100 steps. */
    eb_graph *g = eb_graph_new(16 * 1024, NULL);
    cr_assert_not_null(g);
    size_t first = 0, most = 0;
    float loss0 = 0.0f;
    for (int step = 0; step < 100; step++) {
        eb_graph_reset(g);
        eb_tensor *loss = build_step(g, x, w, gw, labels);
        cr_assert_eq(eb_graph_status(g), EB_OK, "step %d: %s", step, eb_graph_error(g));
        cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "step %d: %s", step, eb_graph_error(g));
        size_t bytes = eb_graph_arena_bytes(g);
        if (step == 0) {
            first = bytes;
            loss0 = loss->data[0];
            cr_expect_gt(bytes, 0, "arena reports 0 bytes after a forward+backward");
        } else {
            cr_expect_eq(loss->data[0], loss0, "step %d: same inputs gave another loss", step);
        }
        if (bytes > most) most = bytes;
    }
    cr_expect_eq(most, first, "arena grew from %zu to %zu bytes over 100 build/reset cycles", first, most);
    eb_graph_free(g);
}

/* ---- large tensors: the OpenMP paths agree with the serial ones ------------------------------------ */

/* Kernels switch to OpenMP above a size threshold (131072 elements today); the fixture and the
 * gradient checks use small tensors, so here a [BIG_R, BIG_C] tensor (163840 elements) goes through
 * each parallel kernel and every row (ops over axis 1 and elementwise ops) or column (ops over
 * axis 0) is compared with the same op applied to that slice alone, small enough for the serial
 * path — forward values and input gradients for a random seed. */
enum { BIG_R = 1024, BIG_C = 160 };

typedef eb_tensor *(*big_fn)(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis);

static eb_tensor *big_exp(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y, (void)axis;
    return eb_exp(g, x);
}
static eb_tensor *big_log(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)axis;
    return eb_log(g, eb_add(g, eb_square(g, x), eb_sigmoid(g, y))); /* log of a positive argument */
}
static eb_tensor *big_tanh(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y, (void)axis;
    return eb_tanh(g, x);
}
static eb_tensor *big_swish(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y, (void)axis;
    return eb_swish(g, x);
}
static eb_tensor *big_softplus(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y, (void)axis;
    return eb_softplus(g, x, 1.5f);
}
static eb_tensor *big_elu(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y, (void)axis;
    return eb_elu(g, x, 0.7f);
}
static eb_tensor *big_leaky(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y, (void)axis;
    return eb_leaky_relu(g, x, 0.1f);
}
static eb_tensor *big_mul(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)axis;
    return eb_mul(g, x, y);
}
static eb_tensor *big_div(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)axis;
    return eb_div(g, x, eb_add_scalar(g, eb_abs(g, y), 0.5f));
}
static eb_tensor *big_sub(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)axis;
    return eb_sub(g, x, y);
}
static eb_tensor *big_sum(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y;
    return eb_sum(g, x, axis, false);
}
static eb_tensor *big_mean(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y;
    return eb_mean(g, x, axis, true);
}
static eb_tensor *big_max(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y;
    return eb_max(g, x, axis, false);
}
static eb_tensor *big_lse(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y;
    return eb_logsumexp(g, x, axis, false);
}
static eb_tensor *big_softmax(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y;
    return eb_softmax(g, x, axis);
}
static eb_tensor *big_log_softmax(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y;
    return eb_log_softmax(g, x, axis);
}
static eb_tensor *big_l2(eb_graph *g, eb_tensor *x, eb_tensor *y, int axis) {
    (void)y, (void)axis;
    return eb_l2_normalize(g, x, 1e-6f);
}

Test(tensor_ops, parallel_kernels_match_serial_slices, .timeout = 300) {
    const struct {
        const char *name;
        big_fn fn;
        int axis;     /* slices are rows (axis 1) or columns (axis 0) */
        bool reduces; /* output has one value per slice */
    } ops[] = {
        {"exp", big_exp, 1, false},
        {"log(x^2 + sigmoid(y))", big_log, 1, false},
        {"tanh", big_tanh, 1, false},
        {"swish", big_swish, 1, false},
        {"softplus", big_softplus, 1, false},
        {"elu", big_elu, 1, false},
        {"leaky_relu", big_leaky, 1, false},
        {"mul", big_mul, 1, false},
        {"div", big_div, 1, false},
        {"sub", big_sub, 1, false},
        {"sum axis 1", big_sum, 1, true},
        {"sum axis 0", big_sum, 0, true},
        {"mean axis 1", big_mean, 1, true},
        {"mean axis 0", big_mean, 0, true},
        {"max axis 1", big_max, 1, true},
        {"max axis 0", big_max, 0, true},
        {"logsumexp axis 1", big_lse, 1, true},
        {"logsumexp axis 0", big_lse, 0, true},
        {"softmax axis 1", big_softmax, 1, false},
        {"softmax axis 0", big_softmax, 0, false},
        {"log_softmax axis 1", big_log_softmax, 1, false},
        {"log_softmax axis 0", big_log_softmax, 0, false},
        {"l2_normalize", big_l2, 1, false},
    };
    static float x[BIG_R * BIG_C], y[BIG_R * BIG_C], r[BIG_R * BIG_C];
    static float sx[BIG_R], sy[BIG_R], sr[BIG_R];
    eb_rng rng;
    eb_rng_seed(&rng, 77);
    eb_rng_fill_uniform(&rng, x, BIG_R * BIG_C, -2.0f, 2.0f);
    eb_rng_fill_uniform(&rng, y, BIG_R * BIG_C, -2.0f, 2.0f);
    eb_rng_fill_normal(&rng, r, BIG_R * BIG_C, 0.0f, 1.0f);
    eb_graph *big = eb_graph_new(0, NULL), *small = eb_graph_new(0, NULL);
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        const int axis = ops[k].axis;
        eb_graph_reset(big);
        eb_tensor *tx = eb_tensor_input(big, x, 2, EB_SHAPE(BIG_R, BIG_C), true);
        eb_tensor *ty = eb_tensor_input(big, y, 2, EB_SHAPE(BIG_R, BIG_C), true);
        eb_tensor *out = ops[k].fn(big, tx, ty, axis);
        cr_assert_eq(eb_graph_status(big), EB_OK, "%s: %s", ops[k].name, eb_graph_error(big));
        cr_assert_eq(eb_graph_backward(big, out, r), EB_OK, "%s", ops[k].name);
        /* slice s: row s (axis 1) or column s (axis 0); element t of the slice at x[at(s, t)] */
        const int64_t n_slices = axis == 1 ? BIG_R : BIG_C, len = axis == 1 ? BIG_C : BIG_R;
        double worst = 0.0;
        int bad = 0;
        for (int64_t s = 0; s < n_slices; s++) {
            for (int64_t t = 0; t < len; t++) {
                int64_t at = axis == 1 ? s * BIG_C + t : t * BIG_C + s;
                sx[t] = x[at];
                sy[t] = y[at];
                sr[t] = ops[k].reduces ? r[s] : r[at];
            }
            eb_graph_reset(small);
            const int64_t *shape = axis == 1 ? EB_SHAPE(1, len) : EB_SHAPE(len, 1);
            eb_tensor *ux = eb_tensor_input(small, sx, 2, shape, true);
            eb_tensor *uy = eb_tensor_input(small, sy, 2, shape, true);
            eb_tensor *uo = ops[k].fn(small, ux, uy, axis);
            cr_assert_eq(eb_graph_status(small), EB_OK, "%s: %s", ops[k].name, eb_graph_error(small));
            cr_assert_eq(uo->size, ops[k].reduces ? 1 : len, "%s: slice output size", ops[k].name);
            cr_assert_eq(eb_graph_backward(small, uo, sr), EB_OK);
            for (int64_t t = 0; t < uo->size; t++) {
                int64_t at = ops[k].reduces ? s : (axis == 1 ? s * BIG_C + t : t * BIG_C + s);
                double d = fabs((double)out->data[at] - (double)uo->data[t]);
                worst = fmax(worst, d);
                if (!(d <= 1e-6 * fabs((double)uo->data[t]) + 1e-7)) bad++;
            }
            for (int64_t t = 0; t < len; t++) {
                int64_t at = axis == 1 ? s * BIG_C + t : t * BIG_C + s;
                double dx = fabs((double)tx->grad[at] - (double)ux->grad[t]);
                double dy = fabs((double)ty->grad[at] - (double)uy->grad[t]);
                worst = fmax(worst, fmax(dx, dy));
                if (!(dx <= 1e-6 * fabs((double)ux->grad[t]) + 1e-7)) bad++;
                if (!(dy <= 1e-6 * fabs((double)uy->grad[t]) + 1e-7)) bad++;
            }
        }
        cr_expect_eq(bad, 0,
                     "%s: %d values/gradients of the [%d, %d] tensor differ from the per-slice op (max %.3g)",
                     ops[k].name, bad, BIG_R, BIG_C, worst);
    }
    eb_graph_free(big);
    eb_graph_free(small);
}
