/* The EBM method registry (src/ood/objectives/ebm_method.c; ebm.h "EBM methods by name"): names parse and
 * round-trip, each method builds the paper's model (outputs, activation) and training parameters
 * (seed-code-specs.md §4), each objective trains a few steps on a tiny 2-D set, and bad names, shapes and
 * configs are named errors. */
#include <criterion/criterion.h>
#include <ebood/ebm.h>
#include <ebood/nn.h>
#include <ebood/ood.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"cd", "cd-s", "ssm", "ssm-s", "vera", "vera-s", "flow"};
enum { N_NAMES = 7 };

static eb_ebm_method parse_ok(const char *name) {
    eb_ebm_method m;
    eb_error err = {0};
    cr_assert_eq(eb_ebm_method_parse(name, &m, &err), EB_OK, "%s: %s", name, err.message);
    return m;
}

Test(ebm_method, names_parse_and_round_trip) {
    const eb_ebm_kind kinds[N_NAMES] = {EB_EBM_CD,   EB_EBM_CD,   EB_EBM_SSM, EB_EBM_SSM,
                                        EB_EBM_VERA, EB_EBM_VERA, EB_EBM_FLOW};
    for (int i = 0; i < N_NAMES; i++) {
        eb_ebm_method m = parse_ok(names[i]);
        cr_expect_eq(m.kind, kinds[i], "%s", names[i]);
        cr_expect_eq(m.supervised, strstr(names[i], "-s") != NULL, "%s", names[i]);
        cr_expect_str_eq(eb_ebm_method_name(&m), names[i]);
        eb_ebm_method again = parse_ok(eb_ebm_method_name(&m));
        cr_expect_eq(again.kind, m.kind);
        cr_expect_eq(again.supervised, m.supervised);
    }
    /* the settings are the ebm.h defaults of each variant */
    eb_ebm_method cd = parse_ok("cd"), cds = parse_ok("cd-s"), ssm = parse_ok("ssm"),
                  ssms = parse_ok("ssm-s");
    eb_ebm_method vera = parse_ok("vera"), veras = parse_ok("vera-s"), flow = parse_ok("flow");
    cr_expect_eq(cd.cd.ce_weight, 0.0);
    cr_expect_not(cd.cd.class_conditional);
    cr_expect_eq(cd.cd.sgld.steps, 100);
    cr_expect_eq(cds.cd.ce_weight, 1.0);
    cr_expect(cds.cd.class_conditional);
    cr_expect_eq(cds.cd.cond_steps, -1);
    cr_expect_eq(ssm.ssm.ce_weight, 0.0);
    cr_expect_eq(ssms.ssm.ce_weight, 1.0);
    cr_expect_eq(ssm.ssm.h, 0.02);
    cr_expect_eq(vera.vera.ce_weight, 0.0);
    cr_expect_eq(veras.vera.ce_weight, 1.0);
    cr_expect_eq(cd.cd.buffer_size, 10000);
    /* the generator: the paper's LeakyReLU(0.2) and σ₀ = 0.1 for both; the code's 0.01 / ReLU and 0.01 */
    cr_expect_eq(vera.vera.activation, EB_ACT_LEAKY_RELU);
    cr_expect_eq(veras.vera.activation, EB_ACT_LEAKY_RELU);
    cr_expect_float_eq(veras.vera.activation_param, 0.2f, 1e-7f);
    cr_expect_eq(vera.vera.sigma_init, 0.1);
    eb_ebm_method_use_code(&cds);
    eb_ebm_method_use_code(&vera);
    eb_ebm_method_use_code(&veras);
    cr_expect_eq(cds.cd.cond_steps, EB_CD_CODE_COND_STEPS);
    cr_expect_eq(cds.cd.buffer_size, 9000);
    cr_expect(cds.cd.class_conditional && cds.cd.ce_weight == 1.0, "still cd-s");
    cr_expect_float_eq(vera.vera.activation_param, 0.01f, 1e-7f);
    cr_expect_eq(veras.vera.activation, EB_ACT_RELU);
    cr_expect_eq(vera.vera.sigma_init, 0.01);
    eb_ebm_method_use_code(&flow);
    cr_expect_not(flow.code_defaults, "nothing differs for the flow");
    cr_expect_eq(flow.flow.n_layers, 20);
    cr_expect_not(flow.supervised);
}

Test(ebm_method, bad_names_are_named_errors) {
    const char *bad[] = {"", "CD", "cd-ss", "flow-s", "max_likelihood", "ce", " cd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_ebm_method m;
        eb_error err = {0};
        cr_expect_eq(eb_ebm_method_parse(bad[i], &m, &err), EB_ERR_ARG, "'%s'", bad[i]);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        cr_expect(strstr(err.message, quoted) != NULL, "%s", err.message);
        cr_expect(strstr(err.message, "vera-s") != NULL, "lists the names: %s", err.message);
    }
    eb_ebm_method m;
    eb_error err = {0};
    cr_expect_eq(eb_ebm_method_parse(NULL, &m, &err), EB_ERR_ARG);
    eb_ebm_method junk = {.kind = EB_EBM_KIND_COUNT};
    cr_expect_str_eq(eb_ebm_method_name(&junk), "unknown");
}

Test(ebm_method, models_have_the_papers_shape) {
    eb_rng rng;
    eb_rng_seed(&rng, 1);
    for (int i = 0; i < N_NAMES; i++) {
        eb_ebm_method m = parse_ok(names[i]);
        eb_model *model = NULL;
        eb_error err = {0};
        cr_assert_eq(eb_ebm_model_new(&m, 7, 4, &rng, &model, &err), EB_OK, "%s: %s", names[i], err.message);
        cr_expect_eq(eb_model_in_dim(model), 7);
        if (m.kind == EB_EBM_FLOW) {
            cr_expect_eq(model->kind, EB_MODEL_RADIAL_FLOW);
            cr_expect_eq(model->flow.n_layers, 20);
            cr_expect_eq(model->flow.dim, 7);
            cr_expect_eq(eb_model_out_dim(model), 1);
        } else {
            cr_expect_eq(model->kind, EB_MODEL_MLP);
            cr_expect_eq(eb_model_out_dim(model), m.supervised ? 4 : 1, "%s", names[i]);
            cr_expect_eq(model->mlp.n_hidden, 5);
            for (int k = 0; k < 5; k++) cr_expect_eq(model->mlp.hidden[k], 100);
            cr_expect_eq(model->mlp.activation, EB_ACT_RELU, "%s: App. C's ReLU", names[i]);
            eb_model_free(model);
            model = NULL;
            eb_ebm_method_use_code(&m); /* fc.py's LeakyReLU(0.01); fc_vera.yaml's 0.2 */
            cr_assert_eq(eb_ebm_model_new(&m, 7, 4, &rng, &model, &err), EB_OK, "%s", err.message);
            cr_expect_eq(model->mlp.activation, EB_ACT_LEAKY_RELU);
            cr_expect_float_eq(model->mlp.activation_param, m.kind == EB_EBM_VERA ? 0.2f : 0.01f, 1e-7f, "%s",
                               names[i]);
        }
        eb_model_free(model);
    }
    /* the layer count comes from the method */
    eb_ebm_method flow = parse_ok("flow");
    flow.flow.n_layers = 3;
    eb_model *model = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_ebm_model_new(&flow, 2, 0, &rng, &model, &err), EB_OK, "%s", err.message);
    cr_expect_eq(model->flow.n_layers, 3);
    eb_model_free(model);
    /* bad shapes and configs */
    eb_ebm_method cds = parse_ok("cd-s");
    cr_expect_eq(eb_ebm_model_new(&cds, 7, 1, &rng, &model, &err), EB_ERR_SHAPE);
    cr_expect(strstr(err.message, "cd-s") && strstr(err.message, "classes"), "%s", err.message);
    cr_expect_null(model);
    eb_ebm_method cd = parse_ok("cd");
    cr_expect_eq(eb_ebm_model_new(&cd, 0, 1, &rng, &model, &err), EB_ERR_SHAPE);
    cr_expect(strstr(err.message, "in_dim") != NULL, "%s", err.message);
    flow.flow.n_layers = 0;
    cr_expect_eq(eb_ebm_model_new(&flow, 2, 0, &rng, &model, &err), EB_ERR_ARG);
    cr_expect_null(model);
}

/* VERA's generator steps its lr schedule with the EBM's (the code's MultiStepLR on both optimizers) at
 * its own lr; the other methods have no second optimizer. */
Test(ebm_method, vera_generator_shares_the_ebm_schedule) {
    eb_ebm_method v = parse_ok("vera"), cd = parse_ok("cd");
    eb_train_params p = eb_ebm_train_params(&v, 3);
    eb_ebm_method_share_schedule(&v, &p.schedule);
    cr_expect_eq(v.vera.gen_schedule.kind, EB_SCHEDULE_STEP);
    cr_expect_eq(v.vera.gen_schedule.base_lr, 6e-4f);
    cr_expect_eq(v.vera.gen_schedule.warmup_steps, 2500);
    cr_expect_eq(v.vera.gen_schedule.step_size, 9000);
    cr_expect_float_eq(eb_schedule_lr(&v.vera.gen_schedule, 9000), 0.3f * 6e-4f, 1e-12f);
    eb_error err = {0};
    cr_expect_eq(eb_vera_config_check(&v.vera, &err), EB_OK, "%s", err.message);
    eb_ebm_method before = cd;
    eb_ebm_method_share_schedule(&cd, &p.schedule);
    cr_expect_eq(memcmp(&before, &cd, sizeof cd), 0, "cd is untouched");
}

Test(ebm_method, train_params_match_specs_section_4) {
    const int64_t B = 3; /* Segment: 3 batches of 512 per epoch */
    for (int i = 0; i < N_NAMES; i++) {
        eb_ebm_method m = parse_ok(names[i]);
        eb_train_params p = eb_ebm_train_params(&m, B), p0 = eb_ebm_train_params(&m, 0);
        eb_error err = {0};
        cr_expect_eq(eb_optimizer_params_check(&p.optimizer, &err), EB_OK, "%s: %s", names[i], err.message);
        cr_expect_eq(eb_schedule_check(&p.schedule, &err), EB_OK, "%s: %s", names[i], err.message);
        cr_expect_eq(p.steps, 10000);
        cr_expect_eq(p.batch_size, 512);
        cr_expect(p.drop_last);
        cr_expect_eq(p.optimizer.kind, EB_OPTIM_ADAMW);
        cr_expect_eq(p.optimizer.weight_decay, 0.0f);
        cr_expect_eq(p.optimizer.eps, 1e-8f);
        cr_expect_eq(p.schedule.base_lr, p.optimizer.lr);
        switch (m.kind) {
        case EB_EBM_CD:
        case EB_EBM_SSM:
            cr_expect_eq(p.optimizer.lr, 1e-3f);
            cr_expect_eq(p.optimizer.beta1, 0.9f);
            cr_expect_eq(p.optimizer.beta2, 0.999f);
            cr_expect_eq(p.schedule.warmup_steps, 2500);
            cr_expect_eq(p.schedule.kind, EB_SCHEDULE_STEP);
            /* warm-up min(1, (s+1)/2500), then halved every 1000 epochs = 3000 steps */
            cr_expect_float_eq(eb_schedule_lr(&p.schedule, 0), 1e-3f / 2500, 1e-12f);
            cr_expect_float_eq(eb_schedule_lr(&p.schedule, 2999), 1e-3f, 1e-10f);
            cr_expect_float_eq(eb_schedule_lr(&p.schedule, 3000), 5e-4f, 1e-10f);
            cr_expect_float_eq(eb_schedule_lr(&p.schedule, 9000), 1.25e-4f, 1e-10f);
            cr_expect_eq(p0.schedule.kind, EB_SCHEDULE_CONSTANT, "B = 0: no decay");
            cr_expect_eq(p0.schedule.warmup_steps, 2500);
            break;
        case EB_EBM_VERA: {
            /* the paper (App. B): lr 3e-4, warm-up 2500; the code: lr 3e-5 (VERA-S 1e-3), no warm-up */
            eb_ebm_method code = m;
            eb_ebm_method_use_code(&code);
            eb_train_params pc = eb_ebm_train_params(&code, B);
            cr_expect_eq(p.optimizer.lr, 3e-4f, "%s", names[i]);
            cr_expect_eq(p.schedule.warmup_steps, 2500);
            cr_expect_eq(m.vera.gen_optimizer.lr, 6e-4f);
            cr_expect_eq(m.vera.gen_schedule.warmup_steps, 2500);
            cr_expect_eq(pc.optimizer.lr, m.supervised ? 1e-3f : 3e-5f, "%s", names[i]);
            cr_expect_eq(pc.schedule.warmup_steps, 0);
            cr_expect_eq(code.vera.gen_schedule.warmup_steps, 0);
            cr_expect_eq(code.vera.ce_weight, m.vera.ce_weight, "the variant is kept");
            cr_expect_eq(p.optimizer.beta1, 0.0f);
            cr_expect_eq(p.optimizer.beta2, 0.9f);
            /* MultiStepLR ×0.3 at epochs 3000 (and 4000, beyond 10,000 steps for B = 3) */
            cr_expect_float_eq(eb_schedule_lr(&pc.schedule, 0), pc.optimizer.lr, 1e-12f);
            cr_expect_float_eq(eb_schedule_lr(&p.schedule, 2499), p.optimizer.lr, 1e-12f);
            cr_expect_float_eq(eb_schedule_lr(&p.schedule, 3000 * B - 1), p.optimizer.lr, 1e-12f);
            cr_expect_float_eq(eb_schedule_lr(&p.schedule, 3000 * B), 0.3f * p.optimizer.lr, 1e-12f);
            cr_expect_float_eq(eb_schedule_lr(&p.schedule, 4000 * B - 1), 0.3f * p.optimizer.lr, 1e-12f);
            cr_expect_eq(p0.schedule.kind, EB_SCHEDULE_CONSTANT);
            cr_expect_eq(p0.schedule.warmup_steps, 2500);
        } break;
        default:
            cr_expect_eq(p.optimizer.lr, 1e-3f);
            cr_expect_eq(p.optimizer.beta1, 0.9f);
            cr_expect_eq(p.optimizer.beta2, 0.999f);
            cr_expect_eq(p.schedule.kind, EB_SCHEDULE_CONSTANT);
            cr_expect_eq(p.schedule.warmup_steps, 0);
            break;
        }
    }
}

/* 96 points of two 2-D blobs at (±1.5, 0), labelled by blob. */
static void two_blobs(float *x, int32_t *y, int64_t n) {
    eb_rng rng;
    eb_rng_seed(&rng, 7);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % 2);
        x[2 * i] = (float)((y[i] ? 1.5 : -1.5) + 0.3 * eb_rng_normal(&rng));
        x[2 * i + 1] = (float)(0.3 * eb_rng_normal(&rng));
    }
}

Test(ebm_method, every_objective_trains_a_few_steps) {
    enum { N = 96 };
    float x[2 * N];
    int32_t y[N];
    two_blobs(x, y, N);
    for (int i = 0; i < N_NAMES; i++) {
        eb_ebm_method m = parse_ok(names[i]);
        m.cd.sgld.steps = 3; /* fast */
        m.cd.buffer_size = 64;
        m.vera.n_hidden = 2;
        m.vera.n_posterior = 4;
        eb_rng init;
        eb_rng_seed(&init, 3);
        eb_model *model = NULL;
        eb_ebm_objective *o = NULL;
        eb_error err = {0};
        cr_assert_eq(eb_ebm_model_new(&m, 2, 2, &init, &model, &err), EB_OK, "%s: %s", names[i], err.message);
        cr_assert_eq(eb_ebm_objective_new(&m, model, 11, &o, &err), EB_OK, "%s: %s", names[i], err.message);
        cr_expect_str_eq(eb_ebm_method_name(&o->method), names[i]);
        cr_expect_not_null(o->fn);
        float *before = malloc((size_t)model->params.size * sizeof *before);
        memcpy(before, model->params.data, (size_t)model->params.size * sizeof *before);
        eb_train_params p = eb_ebm_train_params(&m, N / 16);
        p.steps = 4;
        p.batch_size = 16;
        p.progress = false;
        p.seed = 5;
        p.schedule.warmup_steps = 0;
        p.optimizer.lr = p.schedule.base_lr = 1e-3f;
        eb_train_result r = {0};
        eb_status st = eb_train(model, x, m.supervised ? y : NULL, N, 2, o->fn, o->ctx, &p, &r, &err);
        cr_expect_eq(st, EB_OK, "%s: %s", names[i], err.message);
        cr_expect_eq(r.steps, 4, "%s", names[i]);
        cr_expect(isfinite(r.final_loss), "%s: loss %g", names[i], r.final_loss);
        double moved = 0;
        for (int64_t k = 0; k < model->params.size; k++) moved += fabs(model->params.data[k] - before[k]);
        cr_expect_gt(moved, 0.0, "%s: the parameters did not change", names[i]);
        if (m.supervised) cr_expect_geq(r.final_accuracy, 0.0, "%s counts accuracy", names[i]);
        free(before);
        eb_ebm_objective_free(o);
        eb_model_free(model);
    }
    eb_ebm_objective_free(NULL);
}

Test(ebm_method, objective_refuses_wrong_models_and_configs) {
    eb_rng rng;
    eb_rng_seed(&rng, 2);
    eb_ebm_method flow = parse_ok("flow"), cd = parse_ok("cd"), cds = parse_ok("cd-s"),
                  veras = parse_ok("vera-s");
    eb_ebm_method ssm = parse_ok("ssm");
    eb_model *mlp1 = NULL, *flowm = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_ebm_model_new(&cd, 2, 0, &rng, &mlp1, &err), EB_OK);
    cr_assert_eq(eb_ebm_model_new(&flow, 2, 0, &rng, &flowm, &err), EB_OK);
    eb_ebm_objective *o = NULL;
    cr_expect_eq(eb_ebm_objective_new(&flow, mlp1, 0, &o, &err), EB_ERR_SHAPE);
    cr_expect(strstr(err.message, "flow") && strstr(err.message, "radial_flow"), "%s", err.message);
    cr_expect_eq(eb_ebm_objective_new(&cd, flowm, 0, &o, &err), EB_ERR_SHAPE);
    cr_expect(strstr(err.message, "cd") && strstr(err.message, "radial_flow"), "%s", err.message);
    cr_expect_eq(eb_ebm_objective_new(&cds, mlp1, 0, &o, &err), EB_ERR_SHAPE);
    cr_expect(strstr(err.message, "cd-s") != NULL, "%s", err.message);
    cr_expect_eq(eb_ebm_objective_new(&veras, mlp1, 0, &o, &err), EB_ERR_SHAPE);
    ssm.ssm.h = 0.0;
    cr_expect_eq(eb_ebm_objective_new(&ssm, mlp1, 0, &o, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "h") != NULL, "%s", err.message);
    cd.cd.buffer_size = 0;
    cr_expect_eq(eb_ebm_objective_new(&cd, mlp1, 0, &o, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "buffer_size") != NULL, "%s", err.message);
    cr_expect_null(o);
    eb_model_free(mlp1);
    eb_model_free(flowm);
}

Test(ebm_method, json_names_the_method_first) {
    for (int i = 0; i < N_NAMES; i++) {
        eb_ebm_method m = parse_ok(names[i]);
        char *s = eb_ebm_method_json(&m);
        cr_assert_not_null(s);
        char want[64];
        snprintf(want, sizeof want, "{\"objective\":\"%s\"", names[i]);
        cr_expect_eq(strncmp(s, want, strlen(want)), 0, "%s", s);
        int keys = 0;
        for (const char *q = s; (q = strstr(q, "\"objective\"")) != NULL; q++) keys++;
        cr_expect_eq(keys, 1, "one objective key: %s", s);
        const char *field = m.kind == EB_EBM_CD     ? "\"sgld_steps\":100"
                            : m.kind == EB_EBM_SSM  ? "\"h\":0.02"
                            : m.kind == EB_EBM_VERA ? "\"pg_weight\":0.1"
                                                    : "\"n_layers\":20";
        cr_expect(strstr(s, field) != NULL, "%s lacks %s", s, field);
        cr_expect(strstr(s, m.supervised ? "\"ce_weight\":1" : "\"n_layers\"") != NULL ||
                      (!m.supervised && strstr(s, "\"ce_weight\":0")),
                  "%s", s);
        free(s);
    }
}

/* One objective call on the first 16 points with a fixed rng: the loss value. */
static double one_call(eb_ebm_objective *o, eb_model *model, const float *x, const int32_t *y) {
    eb_graph *g = eb_graph_new(0, NULL);
    eb_rng rng;
    eb_rng_seed(&rng, 99);
    eb_batch b = {eb_tensor_copy(g, x, 2, EB_SHAPE(16, 2)), y, 16, 0};
    int64_t correct = 0;
    eb_tensor *loss = o->fn(o->ctx, model, g, &b, &rng, &correct);
    cr_assert_eq(eb_graph_status(g), EB_OK, "%s", eb_graph_error(g));
    double v = loss->data[0];
    eb_graph_free(g);
    return v;
}

Test(ebm_method, state_round_trip_continues_exactly) {
    enum { N = 96 };
    float x[2 * N];
    int32_t y[N];
    two_blobs(x, y, N);
    const char *stateful[] = {"vera", "vera-s", "cd"};
    for (int i = 0; i < 3; i++) {
        eb_ebm_method m = parse_ok(stateful[i]);
        m.cd.sgld.steps = 2;
        m.cd.buffer_size = 32;
        m.vera.n_hidden = 2;
        m.vera.n_posterior = 4;
        eb_rng init;
        eb_rng_seed(&init, 3);
        eb_model *a = NULL, *b = NULL;
        eb_ebm_objective *oa = NULL, *ob = NULL, *oc = NULL;
        eb_error err = {0};
        cr_assert_eq(eb_ebm_model_new(&m, 2, 2, &init, &a, &err), EB_OK);
        cr_assert_eq(eb_ebm_model_new(&m, 2, 2, &init, &b, &err), EB_OK);
        cr_assert_eq(eb_ebm_objective_new(&m, a, 11, &oa, &err), EB_OK);
        eb_train_params p = eb_ebm_train_params(&m, 0);
        p.steps = 3;
        p.batch_size = 16;
        p.progress = false;
        p.schedule.warmup_steps = 0;
        p.optimizer.lr = p.schedule.base_lr = 1e-3f;
        eb_train_result r = {0};
        cr_assert_eq(eb_train(a, x, m.supervised ? y : NULL, N, 2, oa->fn, oa->ctx, &p, &r, &err), EB_OK,
                     "%s", err.message);
        memcpy(b->params.data, a->params.data, (size_t)a->params.size * sizeof(float));
        /* a fresh objective with another seed, then the state of the trained one */
        cr_assert_eq(eb_ebm_objective_new(&m, b, 12, &ob, &err), EB_OK);
        cr_assert_eq(eb_ebm_objective_new(&m, b, 12, &oc, &err), EB_OK);
        int64_t n = eb_ebm_objective_state_size(oa);
        cr_assert_gt(n, 0, "%s", stateful[i]);
        float *s = malloc((size_t)n * sizeof *s);
        eb_ebm_objective_state_get(oa, s);
        cr_expect_eq(eb_ebm_objective_state_set(ob, s, n - 1, &err), EB_ERR_FORMAT, "%s", stateful[i]);
        cr_expect(strstr(err.message, stateful[i]) != NULL, "%s", err.message);
        if (m.kind == EB_EBM_VERA) {
            float saved = s[4];
            s[4] = saved + 1.0f; /* another parameter count */
            cr_expect_eq(eb_ebm_objective_state_set(ob, s, n, &err), EB_ERR_FORMAT);
            s[4] = saved;
        }
        cr_assert_eq(eb_ebm_objective_state_set(ob, s, n, &err), EB_OK, "%s: %s", stateful[i], err.message);
        float *again = malloc((size_t)n * sizeof *again);
        eb_ebm_objective_state_get(ob, again);
        cr_expect_eq(memcmp(s, again, (size_t)n * sizeof *s), 0, "%s: get after set", stateful[i]);
        double la = one_call(oa, a, x, m.supervised ? y : NULL);
        double lb = one_call(ob, b, x, m.supervised ? y : NULL);
        double lc = one_call(oc, b, x, m.supervised ? y : NULL);
        cr_expect_eq(la, lb, "%s: restored state continues exactly (%.9g vs %.9g)", stateful[i], la, lb);
        cr_expect_neq(la, lc, "%s: without the state the call differs (control)", stateful[i]);
        free(s);
        free(again);
        eb_ebm_objective_free(oa);
        eb_ebm_objective_free(ob);
        eb_ebm_objective_free(oc);
        eb_model_free(a);
        eb_model_free(b);
    }
    /* stateless methods */
    eb_ebm_method ssm = parse_ok("ssm");
    eb_rng init;
    eb_rng_seed(&init, 1);
    eb_model *model = NULL;
    eb_ebm_objective *o = NULL;
    eb_error err = {0};
    cr_assert_eq(eb_ebm_model_new(&ssm, 2, 0, &init, &model, &err), EB_OK);
    cr_assert_eq(eb_ebm_objective_new(&ssm, model, 0, &o, &err), EB_OK);
    cr_expect_eq(eb_ebm_objective_state_size(o), 0);
    float one = 0.0f;
    cr_expect_eq(eb_ebm_objective_state_set(o, &one, 1, &err), EB_ERR_FORMAT);
    cr_expect_eq(eb_ebm_objective_state_set(o, NULL, 0, &err), EB_OK);
    eb_ebm_objective_free(o);
    eb_model_free(model);
}
