/* Inference without a tape (eb_graph_defer / eb_graph_run, src/tensor/graph_plan.c): the deferred,
 * liveness-planned execution gives bitwise the eager values, on hand-made and random graphs (where a
 * planner that reused a buffer before its last reader, or placed an output over a live input, would
 * change the result) and on every architecture through eb_model_predict; the planned buffer is far
 * smaller than the eager tape; errors while deferring are reported. Training memory: the backward sweep
 * gives back each intermediate gradient once its kernel ran; with the given-back buffers poisoned the
 * gradients stay bitwise those of a sweep that keeps every buffer. */
#include <criterion/criterion.h>
#include <ebood/nn.h>

#include "tensor/graph_impl.h" /* the gradient-reuse test hooks */

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- tensor level -------------------------------------------------------------------------------- */

/* A diamond with a long-lived tensor: a is read by the first and the last node, so its buffer must
 * survive every reuse in between; b and c are dead after their readers. */
static eb_tensor *diamond(eb_graph *g, eb_tensor *x, eb_tensor **a_out) {
    eb_tensor *a = eb_tanh(g, x);
    eb_tensor *b = eb_exp(g, a);
    eb_tensor *c = eb_mul_scalar(g, eb_add_scalar(g, b, 1.0f), 0.5f);
    eb_tensor *d = eb_sigmoid(g, eb_square(g, c));
    *a_out = a;
    return eb_sum(g, eb_mul(g, eb_add(g, d, c), a), 1, false);
}

Test(graph_plan, diamond_is_bitwise_eager_and_keeps_outputs) {
    float x[4 * 64];
    for (int i = 0; i < 4 * 64; i++) x[i] = sinf(0.37f * (float)i) * 2.0f;
    eb_graph *ge = eb_graph_new(0, NULL), *gd = eb_graph_new(0, NULL);
    eb_tensor *ae = NULL, *ad = NULL;
    eb_tensor *ye = diamond(ge, eb_tensor_input(ge, x, 2, EB_SHAPE(4, 64), false), &ae);
    eb_graph_defer(gd);
    eb_tensor *yd = diamond(gd, eb_tensor_input(gd, x, 2, EB_SHAPE(4, 64), false), &ad);
    cr_assert_null(yd->data, "a deferred node is not computed before eb_graph_run");
    eb_tensor *keep[2] = {yd, ad};
    cr_assert_eq(eb_graph_run(gd, keep, 2), EB_OK, "%s", eb_graph_error(gd));
    cr_assert_eq(eb_graph_status(ge), EB_OK);
    cr_expect_eq(memcmp(ye->data, yd->data, sizeof(float) * 4), 0);
    cr_expect_eq(memcmp(ae->data, ad->data, sizeof(float) * 4 * 64), 0, "an intermediate kept as output");
    /* 10 [4, 64] nodes on the tape; alive at once at most a, the node being computed and its 2 inputs */
    size_t node = 4 * 64 * sizeof(float);
    cr_expect_leq(eb_graph_planned_bytes(gd), 5 * node, "planned %zu bytes", eb_graph_planned_bytes(gd));
    /* later ops run eagerly on the kept outputs */
    eb_tensor *z = eb_mul_scalar(gd, yd, 2.0f);
    cr_expect_eq(z->data[0], 2.0f * ye->data[0]);
    eb_graph_free(ge);
    eb_graph_free(gd);
}

/* Random DAGs of elementwise ops whose sources are drawn among all earlier tensors (long and short
 * lifetimes, sources read twice, tensors of several sizes broadcast against each other): the planned
 * run must equal the eager one bit for bit at every output; any early reuse corrupts some value. */
enum { RANDOM_NODES = 60 };

static eb_tensor *random_dag(eb_graph *g, eb_tensor *x, eb_tensor *row, uint64_t seed, eb_tensor **outs,
                             int *n_outs) {
    eb_rng rng;
    eb_rng_seed(&rng, seed);
    eb_tensor *t[RANDOM_NODES + 2] = {x, row};
    int n = 2;
    for (int i = 0; i < RANDOM_NODES; i++) {
        eb_tensor *a = t[eb_rng_below(&rng, (uint64_t)n)], *b = t[eb_rng_below(&rng, (uint64_t)n)];
        switch (eb_rng_below(&rng, 6)) {
        case 0: t[n] = eb_add(g, a, b); break;
        case 1: t[n] = eb_mul(g, a, a); break;
        case 2: t[n] = eb_tanh(g, a); break;
        case 3: t[n] = eb_sub(g, a, b); break;
        case 4: t[n] = eb_reshape(g, eb_sum(g, a, 1, true), 2, EB_SHAPE(a->shape[0], 1)); break;
        default: t[n] = eb_mul_scalar(g, a, 0.75f); break;
        }
        n++;
    }
    /* every 7th tensor is an output the caller keeps, plus the last */
    *n_outs = 0;
    for (int i = 2; i < n; i += 7) outs[(*n_outs)++] = t[i];
    outs[(*n_outs)++] = t[n - 1];
    return t[n - 1];
}

Test(graph_plan, random_graphs_are_bitwise_eager) {
    float x[8 * 33], row[33];
    for (int i = 0; i < 8 * 33; i++) x[i] = cosf(0.11f * (float)i);
    for (int i = 0; i < 33; i++) row[i] = 0.5f - 0.03f * (float)i;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        eb_graph *ge = eb_graph_new(0, NULL), *gd = eb_graph_new(0, NULL);
        eb_tensor *oe[RANDOM_NODES], *od[RANDOM_NODES];
        int ne = 0, nd = 0;
        random_dag(ge, eb_tensor_input(ge, x, 2, EB_SHAPE(8, 33), false),
                   eb_tensor_input(ge, row, 2, EB_SHAPE(1, 33), false), seed, oe, &ne);
        eb_graph_defer(gd);
        random_dag(gd, eb_tensor_input(gd, x, 2, EB_SHAPE(8, 33), false),
                   eb_tensor_input(gd, row, 2, EB_SHAPE(1, 33), false), seed, od, &nd);
        cr_assert_eq(eb_graph_status(ge), eb_graph_status(gd));
        if (eb_graph_status(ge)) { /* a broadcast that does not fit: both fail alike */
            cr_expect_eq(eb_graph_run(gd, od, nd), eb_graph_status(ge));
        } else {
            cr_assert_eq(eb_graph_run(gd, od, nd), EB_OK, "seed %d: %s", (int)seed, eb_graph_error(gd));
            cr_assert_eq(ne, nd);
            for (int o = 0; o < nd; o++)
                cr_expect_eq(memcmp(oe[o]->data, od[o]->data, sizeof(float) * (size_t)oe[o]->size), 0,
                             "seed %d: output %d differs", (int)seed, o);
            cr_expect_lt(eb_graph_planned_bytes(gd), eb_graph_arena_bytes(ge));
        }
        eb_graph_free(ge);
        eb_graph_free(gd);
    }
}

Test(graph_plan, errors) {
    eb_graph *g = eb_graph_new(0, NULL);
    cr_expect_eq(eb_graph_run(g, NULL, 0), EB_ERR_STATE, "run without defer");
    cr_expect(strstr(eb_graph_error(g), "eb_graph_defer"), "%s", eb_graph_error(g));

    /* a shape error while deferring: run reports it and computes nothing */
    eb_graph_reset(g);
    float x[6] = {1, 2, 3, 4, 5, 6};
    eb_graph_defer(g);
    eb_tensor *a = eb_tensor_input(g, x, 2, EB_SHAPE(2, 3), false);
    eb_tensor *b = eb_tensor_input(g, x, 2, EB_SHAPE(3, 2), false);
    eb_tensor *t = eb_tanh(g, a);
    eb_tensor *y = eb_add(g, t, b);
    cr_expect_eq(eb_graph_run(g, &y, 1), EB_ERR_SHAPE);
    cr_expect_null(t->data);

    /* batch_norm in training mode cannot be deferred */
    eb_graph_reset(g);
    eb_graph_defer(g);
    float rm[3] = {0}, rv[3] = {1, 1, 1};
    eb_batch_norm_params p = eb_batch_norm_default_params();
    eb_tensor *bn = eb_batch_norm(g, eb_tensor_input(g, x, 2, EB_SHAPE(2, 3), false), NULL, NULL, rm, rv, &p);
    cr_expect_eq(eb_graph_run(g, &bn, 1), EB_ERR_STATE);
    cr_expect(strstr(eb_graph_error(g), "training") && strstr(eb_graph_error(g), "deferred"), "%s",
              eb_graph_error(g));
    cr_expect_eq(rm[0], 0.0f, "running statistics untouched");

    /* reset ends a deferred region: ops run eagerly again */
    eb_graph_reset(g);
    eb_graph_defer(g);
    eb_graph_reset(g);
    eb_tensor *e = eb_exp(g, eb_tensor_input(g, x, 2, EB_SHAPE(2, 3), false));
    cr_expect_not_null(e->data);
    cr_expect_eq(e->data[0], expf(1.0f));
    eb_graph_free(g);
}

/* Deferred nodes carry no gradient: parameters are constants, backward reaches nothing. */
Test(graph_plan, no_gradients) {
    float x[4] = {1, -2, 3, -4}, w[4] = {0.5f, 0.25f, -1, 2}, gw[4] = {0};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_graph_defer(g);
    eb_tensor *xi = eb_tensor_input(g, x, 2, EB_SHAPE(2, 2), false);
    eb_tensor *y =
        eb_sum_all(g, eb_matmul(g, xi, eb_tensor_param(g, w, gw, 2, EB_SHAPE(2, 2)), false, false));
    cr_assert_eq(eb_graph_run(g, &y, 1), EB_OK);
    cr_expect_eq(y->data[0],
                 (1 * 0.5f + -2 * -1) + (1 * 0.25f + -2 * 2) + (3 * 0.5f + -4 * -1) + (3 * 0.25f + -4 * 2));
    cr_expect_not(y->requires_grad);
    cr_expect_eq(eb_graph_backward(g, y, NULL), EB_OK);
    for (int i = 0; i < 4; i++) cr_expect_eq(gw[i], 0.0f);
    eb_graph_free(g);
}

/* ---- models: eb_model_predict (tape-free) against eb_model_forward (taped) ------------------------- */

enum { BATCH = 3 };

/* Eager eval-mode forward of batch x: copies logits and features out; returns the tape's arena bytes. */
static size_t taped_forward(eb_model *m, const float *x, float *logits, float *features) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xi = eb_tensor_input(g, (float *)x, 2, EB_SHAPE(BATCH, eb_model_in_dim(m)), false);
    eb_tensor *f = NULL;
    eb_tensor *y = eb_model_forward(m, g, xi, false, NULL, &f);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    memcpy(logits, y->data, sizeof(float) * (size_t)y->size);
    memcpy(features, f->data, sizeof(float) * (size_t)f->size);
    size_t bytes = eb_graph_arena_bytes(g);
    eb_graph_free(g);
    return bytes;
}

/* Tape-free run of the same batch on a graph of our own, to read the planned size. */
static size_t planned_forward(eb_model *m, const float *x) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_graph_defer(g);
    eb_tensor *xi = eb_tensor_input(g, (float *)x, 2, EB_SHAPE(BATCH, eb_model_in_dim(m)), false);
    eb_tensor *f = NULL;
    eb_tensor *y = eb_model_forward(m, g, xi, false, NULL, &f);
    eb_tensor *keep[2] = {y, f};
    cr_assert_eq(eb_graph_run(g, keep, 2), EB_OK, "%s", eb_graph_error(g));
    size_t bytes = eb_graph_planned_bytes(g);
    eb_graph_free(g);
    return bytes;
}

/* Bitwise equality of predict and forward; the planned buffer at most max_ratio of the taped arena. */
static void check_model(const char *name, eb_model *m, double max_ratio) {
    const int64_t din = eb_model_in_dim(m), dout = eb_model_out_dim(m), dfeat = eb_model_feature_dim(m);
    float *x = malloc(sizeof(float) * (size_t)(BATCH * din));
    float *le = malloc(sizeof(float) * (size_t)(BATCH * dout)),
          *lp = malloc(sizeof(float) * (size_t)(BATCH * dout));
    float *fe = malloc(sizeof(float) * (size_t)(BATCH * dfeat)),
          *fp = malloc(sizeof(float) * (size_t)(BATCH * dfeat));
    cr_assert(x && le && lp && fe && fp);
    eb_rng rng;
    eb_rng_seed(&rng, 5);
    eb_rng_fill_normal(&rng, x, BATCH * din, 0.0f, 1.0f);
    size_t taped = taped_forward(m, x, le, fe);
    eb_error err = {0};
    cr_assert_eq(eb_model_predict(m, x, BATCH, BATCH, lp, fp, &err), EB_OK, "%s: %s", name, err.message);
    cr_expect_eq(memcmp(le, lp, sizeof(float) * (size_t)(BATCH * dout)), 0, "%s: logits differ", name);
    cr_expect_eq(memcmp(fe, fp, sizeof(float) * (size_t)(BATCH * dfeat)), 0, "%s: features differ", name);
    size_t planned = planned_forward(m, x);
    cr_expect_leq((double)planned, max_ratio * (double)taped, "%s: planned %zu bytes, taped arena %zu", name,
                  planned, taped);
    free(x);
    free(le);
    free(lp);
    free(fe);
    free(fp);
}

static eb_model *image_model(eb_model_kind kind, int64_t ch, int64_t hw, int depth, int widen) {
    eb_image_config c = eb_image_default_config(kind, ch, hw, hw, 10);
    if (depth) c.depth = depth;
    if (widen) c.widen = widen;
    eb_rng rng;
    eb_rng_seed(&rng, 3);
    eb_error err = {0};
    eb_model *m = NULL;
    cr_assert_eq(eb_image_model_new(kind, &c, &rng, NULL, &m, &err), EB_OK, "%s", err.message);
    /* non-trivial running statistics, so eval-mode BatchNorm is not the identity */
    for (int64_t i = 0; i < m->buffers.size; i++) m->buffers.data[i] = 0.5f + 0.25f * sinf((float)i);
    return m;
}

Test(graph_plan, mlp) {
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_model *m = NULL;
    eb_mlp_config c = eb_mlp_default_config(18, 6);
    c.dropout = 0.3f; /* training only: eval must skip it in both paths */
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, NULL), EB_OK);
    check_model("mlp", m, 0.5);
    eb_model_free(m);
}

Test(graph_plan, small_cnn) {
    eb_model *m = image_model(EB_MODEL_SMALL_CNN, 1, 28, 0, 0);
    check_model("small_cnn", m, 0.6);
    cr_assert_eq(eb_model_set_feature_pool(m, EB_FEATURE_POOL_STD, NULL), EB_OK);
    check_model("small_cnn std", m, 0.6);
    eb_model_free(m);
}

Test(graph_plan, resnet18) {
    eb_model *m = image_model(EB_MODEL_RESNET, 3, 32, 18, 0);
    check_model("resnet-18", m, 0.2);
    eb_model_free(m);
}

Test(graph_plan, wrn_40_2) {
    eb_model *m = image_model(EB_MODEL_WRN, 3, 32, 40, 2);
    check_model("wrn-40-2", m, 0.2);
    eb_model_free(m);
}

Test(graph_plan, wrn_ebm_and_radial_flow) {
    eb_model *m = image_model(EB_MODEL_WRN_EBM, 3, 16, 10, 2);
    check_model("wrn_ebm", m, 0.5);
    eb_model_free(m);
    eb_rng rng;
    eb_rng_seed(&rng, 2);
    eb_radial_flow_config fc = eb_radial_flow_default_config(5);
    cr_assert_eq(eb_radial_flow_new(&fc, &rng, NULL, &m, NULL), EB_OK);
    check_model("radial_flow", m, 1.0);
    eb_model_free(m);
}

/* ---- training memory: gradient buffers given back during the backward sweep ------------------------ */

/* One training step's gradients (parameters and the input) with the reuse off, on, and on with every
 * given-back buffer poisoned with NaN: all three bitwise equal and finite (a kernel reading a released
 * gradient would have read NaN); the arena with reuse is smaller. */
static void check_training_grads(const char *name, eb_model *m, int64_t batch) {
    const int64_t din = eb_model_in_dim(m), np = m->params.size;
    float *x = malloc(sizeof(float) * (size_t)(batch * din));
    float *grads[3], *xgrads[3];
    size_t arena[3];
    int32_t labels[8];
    cr_assert(x && batch <= 8);
    for (int64_t i = 0; i < batch; i++) labels[i] = (int32_t)(i % eb_model_out_dim(m));
    eb_rng rng;
    eb_rng_seed(&rng, 9);
    eb_rng_fill_normal(&rng, x, batch * din, 0.0f, 1.0f);
    float *buffers0 = malloc(sizeof(float) * (size_t)m->buffers.size);
    cr_assert(buffers0);
    memcpy(buffers0, m->buffers.data, sizeof(float) * (size_t)m->buffers.size);
    for (int mode = 0; mode < 3; mode++) {
        eb__grad_reuse_off = mode == 0;
        eb__grad_poison = mode == 2;
        memcpy(m->buffers.data, buffers0, sizeof(float) * (size_t)m->buffers.size); /* BN running stats */
        eb_params_zero_grad(&m->params);
        eb_graph *g = eb_graph_new(0, NULL);
        eb_tensor *xi = eb_tensor_input(g, x, 2, EB_SHAPE(batch, din), true);
        eb_rng drop;
        eb_rng_seed(&drop, 4);
        eb_tensor *loss = eb_cross_entropy(g, eb_model_forward(m, g, xi, true, &drop, NULL), labels);
        cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "%s: %s", name, eb_graph_error(g));
        grads[mode] = malloc(sizeof(float) * (size_t)np);
        xgrads[mode] = malloc(sizeof(float) * (size_t)(batch * din));
        cr_assert(grads[mode] && xgrads[mode]);
        memcpy(grads[mode], m->params.grad, sizeof(float) * (size_t)np);
        memcpy(xgrads[mode], xi->grad, sizeof(float) * (size_t)(batch * din));
        arena[mode] = eb_graph_arena_bytes(g);
        eb_graph_free(g);
    }
    eb__grad_reuse_off = eb__grad_poison = false;
    for (int64_t i = 0; i < np; i++)
        cr_assert(isfinite(grads[2][i]), "%s: parameter gradient %lld", name, (long long)i);
    for (int mode = 1; mode < 3; mode++) {
        cr_expect_eq(memcmp(grads[0], grads[mode], sizeof(float) * (size_t)np), 0,
                     "%s: parameter gradients, mode %d", name, mode);
        cr_expect_eq(memcmp(xgrads[0], xgrads[mode], sizeof(float) * (size_t)(batch * din)), 0,
                     "%s: input gradients, mode %d", name, mode);
    }
    cr_expect_lt(arena[1], arena[0], "%s: arena %zu bytes with reuse, %zu without", name, arena[1], arena[0]);
    for (int mode = 0; mode < 3; mode++) {
        free(grads[mode]);
        free(xgrads[mode]);
    }
    free(buffers0);
    free(x);
}

Test(graph_memory, training_gradients_with_reuse_are_bitwise_and_smaller) {
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    eb_model *m = NULL;
    eb_mlp_config c = eb_mlp_default_config(18, 6);
    c.dropout = 0.2f;
    cr_assert_eq(eb_mlp_new(&c, &rng, NULL, &m, NULL), EB_OK);
    check_training_grads("mlp", m, 8);
    eb_model_free(m);
    static const struct {
        const char *name;
        eb_model_kind kind;
        int64_t ch, hw;
        int depth, widen;
        int64_t batch;
    } cases[] = {{"small_cnn", EB_MODEL_SMALL_CNN, 1, 12, 0, 0, 4},
                 {"resnet-18", EB_MODEL_RESNET, 3, 16, 18, 0, 2},
                 {"wrn-16-2", EB_MODEL_WRN, 3, 16, 16, 2, 2},
                 {"wrn_ebm", EB_MODEL_WRN_EBM, 3, 16, 10, 2, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        m = image_model(cases[i].kind, cases[i].ch, cases[i].hw, cases[i].depth, cases[i].widen);
        check_training_grads(cases[i].name, m, cases[i].batch);
        eb_model_free(m);
    }
}

/* After the sweep an intermediate has no gradient buffer; leaves and the seeded output keep theirs, and
 * a second sweep adds its leaf gradients to the first's. */
Test(graph_memory, second_sweep_accumulates) {
    float x[3] = {0.5f, -1.0f, 2.0f};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xi = eb_tensor_input(g, x, 1, EB_SHAPE(3), true);
    eb_tensor *h = eb_tanh(g, xi);
    eb_tensor *y = eb_sum_all(g, eb_mul(g, h, h));
    cr_assert_eq(eb_graph_backward(g, y, NULL), EB_OK);
    cr_expect_null(h->grad);
    cr_expect_not_null(y->grad);
    float first[3];
    memcpy(first, xi->grad, sizeof first);
    for (int i = 0; i < 3; i++) {
        float t = tanhf(x[i]);
        cr_expect_float_eq(first[i], 2.0f * t * (1.0f - t * t), 1e-6f);
    }
    cr_assert_eq(eb_graph_backward(g, y, NULL), EB_OK);
    for (int i = 0; i < 3; i++) cr_expect_eq(xi->grad[i], 2.0f * first[i]);
    eb_graph_free(g);
}

/* eb_relu_inplace: the same values and gradients as eb_relu, over x's buffer after batch_norm and add;
 * a copy (x untouched) after any other op, on a leaf, and while deferring. */
static void relu_after_bn_add(bool inplace, const float *xv, float *y_out, float *gx_out, float *gg_out,
                              bool *shared) {
    float x[2 * 3 * 4], gamma[3] = {1.5f, -0.5f, 1.0f}, ggamma[3] = {0};
    memcpy(x, xv, sizeof x);
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *xi = eb_tensor_input(g, x, 4, EB_SHAPE(2, 3, 2, 2), true);
    eb_tensor *bn =
        eb_batch_norm(g, xi, eb_tensor_param(g, gamma, ggamma, 1, EB_SHAPE(3)), NULL, NULL, NULL, NULL);
    eb_tensor *r1 = inplace ? eb_relu_inplace(g, bn) : eb_relu(g, bn);
    eb_tensor *s = eb_add(g, r1, xi);
    eb_tensor *r2 = inplace ? eb_relu_inplace(g, s) : eb_relu(g, s);
    eb_tensor *loss = eb_sum_all(g, eb_mul(g, r2, r1));
    cr_assert_eq(eb_graph_backward(g, loss, NULL), EB_OK, "%s", eb_graph_error(g));
    memcpy(y_out, r2->data, sizeof x);
    memcpy(gx_out, xi->grad, sizeof x);
    memcpy(gg_out, ggamma, sizeof ggamma);
    *shared = r1->data == bn->data && r2->data == s->data;
    eb_graph_free(g);
}

Test(graph_memory, relu_inplace_matches_relu) {
    float x[24], y[2][24], gx[2][24], gg[2][3];
    bool shared[2];
    for (int i = 0; i < 24; i++) x[i] = sinf(1.3f * (float)i) + (i % 5 == 0 ? -0.0f : 0.1f);
    relu_after_bn_add(false, x, y[0], gx[0], gg[0], &shared[0]);
    relu_after_bn_add(true, x, y[1], gx[1], gg[1], &shared[1]);
    cr_expect_not(shared[0]);
    cr_expect(shared[1], "in place after batch_norm and add");
    cr_expect_eq(memcmp(y[0], y[1], sizeof y[0]), 0);
    cr_expect_eq(memcmp(gx[0], gx[1], sizeof gx[0]), 0);
    cr_expect_eq(memcmp(gg[0], gg[1], sizeof gg[0]), 0);

    /* not in place: on a leaf, after tanh (its backward reads its output), while deferring */
    float v[4] = {-1, 2, -3, 4};
    eb_graph *g = eb_graph_new(0, NULL);
    eb_tensor *leaf = eb_tensor_input(g, v, 1, EB_SHAPE(4), false);
    eb_tensor *r = eb_relu_inplace(g, leaf);
    cr_expect_neq(r->data, leaf->data);
    cr_expect_eq(v[0], -1.0f, "a leaf is never overwritten");
    eb_tensor *t = eb_tanh(g, leaf);
    cr_expect_neq(eb_relu_inplace(g, t)->data, t->data);
    eb_graph_defer(g);
    eb_tensor *d = eb_relu_inplace(g, eb_add(g, leaf, leaf));
    cr_assert_eq(eb_graph_run(g, &d, 1), EB_OK);
    cr_expect_eq(d->data[1], 4.0f);
    cr_expect_eq(d->data[0], 0.0f);
    eb_graph_free(g);
}
