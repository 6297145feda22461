/* The objective registry (include/ebood/objective.h) and parameter descriptors (params.h): every row is
 * consistent (unique names and flags, defaults of both presets inside the row's range, a flag shared by
 * several objectives described alike); parsing obeys types, symbols and ranges; a spec is assembled from a
 * preset and values (siblings, "does not apply" and preset errors); the generic JSON and run hooks work; and
 * `ebood train --help` lists every row with its readers, help and paper default. */
#include <criterion/criterion.h>
#include <ebood/ebood.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static eb_objective_spec build_ok(const char *name, const char *preset, const eb_objective_value *v, int n) {
    eb_objective_spec s;
    eb_error err = {0};
    cr_assert_eq(eb_objective_spec_build(name, preset, v, n, &s, &err), EB_OK, "%s: %s", name, err.message);
    return s;
}

static void build_fails(const char *name, const char *preset, const eb_objective_value *v, int n,
                        const char *message) {
    eb_objective_spec s;
    eb_error err = {0};
    cr_assert_eq(eb_objective_spec_build(name, preset, v, n, &s, &err), EB_ERR_ARG, "%s should fail", name);
    cr_expect(strstr(err.message, message) != NULL, "'%s' does not contain '%s'", err.message, message);
}

Test(objective_registry, names_unique_and_found) {
    cr_assert_geq(eb_objective_count(), 8);
    for (int i = 0; i < eb_objective_count(); i++) {
        const eb_objective_method *m = eb_objective_at(i);
        cr_expect_eq(eb_objective_find(eb_objective_name(m)), m, "%s", eb_objective_name(m));
        cr_expect(strlen(eb_objective_help(m)) > 10, "%s has no help", eb_objective_name(m));
    }
    cr_expect_null(eb_objective_find("jem"));
    cr_expect_null(eb_objective_at(eb_objective_count()));
    char names[256];
    eb_objective_names(names, sizeof names);
    cr_expect(strncmp(names, "ce, cd, cd-s, ssm, ssm-s, vera, vera-s, flow", 44) == 0, "%s", names);
}

/* Every row: unique key and flag in its method, metavar and help present, both presets' defaults inside the
 * range (parsing the formatted default gives the default back), and rows of the same flag alike. */
Test(objective_registry, descriptor_rows_consistent) {
    int checked = 0;
    for (int i = 0; i < eb_objective_count(); i++) {
        const eb_objective_method *m = eb_objective_at(i);
        const eb_param_desc *rows;
        int n = eb_objective_params(m, &rows);
        for (int j = 0; j < n; j++) {
            const eb_param_desc *d = &rows[j];
            cr_expect(d->key && d->flag && d->metavar && d->help && d->help[0], "%s row %d",
                      eb_objective_name(m), j);
            for (int k = 0; k < j; k++) {
                cr_expect_str_neq(d->key, rows[k].key, "%s: key %s twice", eb_objective_name(m), d->key);
                cr_expect_str_neq(d->flag, rows[k].flag, "%s: flag %s twice", eb_objective_name(m), d->flag);
            }
            for (int code = 0; code < 2; code++) {
                char text[64];
                eb_objective_param_default(m, d, code, text, sizeof text);
                eb_objective_spec s = build_ok(eb_objective_name(m), NULL, NULL, 0);
                eb_error err = {0};
                cr_expect_eq(eb_param_parse(d, text, s.params, &err), EB_OK, "%s --%s default '%s': %s",
                             eb_objective_name(m), d->flag, text, err.message);
                checked++;
            }
            for (int o = 0; o < eb_objective_count(); o++) { /* the same flag elsewhere: described alike */
                const eb_param_desc *other;
                int no = eb_objective_params(eb_objective_at(o), &other);
                for (int k = 0; k < no; k++)
                    if (strcmp(other[k].flag, d->flag) == 0) {
                        cr_expect_eq(other[k].type, d->type, "--%s", d->flag);
                        cr_expect_str_eq(other[k].help, d->help, "--%s", d->flag);
                        cr_expect_str_eq(other[k].key, d->key, "--%s", d->flag);
                        cr_expect(other[k].min == d->min && other[k].max == d->max, "--%s", d->flag);
                    }
            }
        }
    }
    cr_expect_geq(checked, 2 * 16, "only %d defaults checked", checked);
}

Test(objective_registry, param_parse_types_symbols_ranges) {
    typedef struct {
        int64_t steps;
        double p;
        bool cls;
        int mode;
        eb_decay eta;
    } toy;
    static const eb_param_symbol steps_names[] = {{"paper", -1}, {NULL, 0}};
    static const eb_param_symbol modes[] = {{"a", 0}, {"b", 1}, {NULL, 0}};
    const eb_param_desc rows[] = {
        {"steps", "steps", EB_PARAM_TYPE_I64, offsetof(toy, steps), 0, 100, false, false, steps_names, "K",
         "h"},
        {"p", "p", EB_PARAM_TYPE_F64, offsetof(toy, p), 0, 1, true, false, NULL, "P", "h"},
        {"cls", "cls", EB_PARAM_TYPE_BOOL, offsetof(toy, cls), 0, 1, false, false, NULL, "B", "h"},
        {"mode", "mode", EB_PARAM_TYPE_INT, offsetof(toy, mode), 0, 1, false, true, modes, "M", "h"},
        {"eta", "eta", EB_PARAM_TYPE_DECAY, offsetof(toy, eta), 0, 10, false, false, NULL, "E", "h"},
    };
    toy t = {0};
    eb_error err = {0};
    cr_expect_eq(eb_param_parse(&rows[0], "paper", &t, &err), EB_OK);
    cr_expect_eq(t.steps, -1);
    cr_expect_eq(eb_param_parse(&rows[0], "42", &t, &err), EB_OK);
    cr_expect_eq(t.steps, 42);
    cr_expect_eq(eb_param_parse(&rows[0], "101", &t, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "--steps: 101 is out of range") != NULL, "%s", err.message);
    cr_expect_eq(eb_param_parse(&rows[0], "4.5", &t, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "expected paper or an integer in [0, 100], got '4.5'") != NULL, "%s",
              err.message);
    cr_expect_eq(t.steps, 42, "a failed parse leaves the field");
    cr_expect_eq(eb_param_parse(&rows[1], "0", &t, &err), EB_ERR_ARG, "min is open");
    cr_expect_eq(eb_param_parse(&rows[1], "nan", &t, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "finite number in (0, 1]") != NULL, "%s", err.message);
    cr_expect_eq(eb_param_parse(&rows[1], "0.25", &t, &err), EB_OK);
    cr_expect_eq(t.p, 0.25);
    cr_expect_eq(eb_param_parse(&rows[2], "true", &t, &err), EB_OK);
    cr_expect(t.cls);
    cr_expect_eq(eb_param_parse(&rows[2], "yes", &t, &err), EB_ERR_ARG);
    cr_expect_eq(eb_param_parse(&rows[3], "b", &t, &err), EB_OK);
    cr_expect_eq(t.mode, 1);
    cr_expect_eq(eb_param_parse(&rows[3], "1", &t, &err), EB_ERR_ARG, "symbols only");
    cr_expect(strstr(err.message, "--mode: expected a or b, got '1'") != NULL, "%s", err.message);
    cr_expect_eq(eb_param_parse(&rows[4], "0.5", &t, &err), EB_OK);
    cr_expect(t.eta.start == 0.5 && t.eta.end == 0.5 && t.eta.kind == EB_DECAY_CONSTANT);
    char buf[32];
    eb_param_format(&rows[3], &t, buf, sizeof buf);
    cr_expect_str_eq(buf, "b");
    t.steps = -1;
    eb_param_format(&rows[0], &t, buf, sizeof buf);
    cr_expect_str_eq(buf, "paper");
    eb_param_format(&rows[1], &t, buf, sizeof buf);
    cr_expect_str_eq(buf, "0.25");
}

Test(objective_registry, spec_build_presets_siblings_and_errors) {
    eb_objective_spec s = build_ok("cd", NULL, NULL, 0);
    cr_expect_str_eq(eb_objective_spec_name(&s), "cd");
    cr_expect_eq(eb_objective_out_dim(&s, 7), 1);
    const eb_ebm_method *m = (const eb_ebm_method *)s.params;
    cr_expect_eq(m->cd.buffer_size, 10000);
    s = build_ok("cd", "code", NULL, 0);
    cr_expect_eq(((const eb_ebm_method *)s.params)->cd.buffer_size, 9000, "the code preset");
    cr_expect(s.code_defaults);
    const eb_objective_value v[] = {{"ce-weight", "0.5"}, {"buffer-size", "64"}};
    s = build_ok("ssm", NULL, v, 1);
    cr_expect_str_eq(eb_objective_spec_name(&s), "ssm-s", "ce-weight > 0 selects the supervised sibling");
    cr_expect_eq(((const eb_ebm_method *)s.params)->ssm.ce_weight, 0.5);
    cr_expect_eq(eb_objective_out_dim(&s, 7), 7);
    s = build_ok("cd", "code", v, 2);
    m = (const eb_ebm_method *)s.params;
    cr_expect_str_eq(eb_objective_spec_name(&s), "cd-s");
    cr_expect(m->cd.buffer_size == 64 && m->cd.class_conditional && m->cd.cond_steps == 20,
              "the sibling's code defaults, then the values");
    build_fails("jem", NULL, NULL, 0, "unknown objective 'jem' (ce, cd,");
    build_fails("vera", NULL, (eb_objective_value[]){{"ssm-h", "0.1"}}, 1,
                "--ssm-h is read only by --objective ssm, ssm-s (this run trains vera)");
    build_fails("ce", NULL, v, 1,
                "--ce-weight is read only by --objective cd, cd-s, ssm, ssm-s, vera, vera-s");
    build_fails("flow", "code", NULL, 0, "--ebm-preset is read only by --objective cd,");
    build_fails("cd", "foo", NULL, 0, "--ebm-preset: expected paper or code, got 'foo'");
    build_fails("ssm", NULL, (eb_objective_value[]){{"ssm-h", "0"}}, 1, "h = 0");
    build_fails("cd", NULL, (eb_objective_value[]){{"sampling", "class"}}, 1, "needs a classifier");
}

Test(objective_registry, json_profile_model_and_run) {
    eb_objective_spec ce = build_ok("ce", NULL, NULL, 0);
    char *json = eb_objective_spec_json(&ce);
    cr_assert_not_null(json);
    cr_expect_str_eq(json, "{\"objective\":\"ce\"}");
    free(json);
    eb_objective_spec vera = build_ok("vera", "code", (eb_objective_value[]){{"pg-weight", "0.5"}}, 1);
    json = eb_objective_spec_json(&vera);
    cr_expect(strstr(json, "\"objective\":\"vera\"") && strstr(json, "\"defaults\":\"code\"") &&
                  strstr(json, "\"pg_weight\":0.5"),
              "%s", json);
    free(json);
    eb_train_profile p;
    eb_objective_train_profile(&ce, false, 3, &p);
    cr_expect(p.train.steps == 10000 && p.train.batch_size == 512 &&
              p.train.optimizer.kind == EB_OPTIM_ADAMW);
    eb_objective_train_profile(&ce, true, 3, &p);
    cr_expect(p.train.epochs == 5 && p.train.optimizer.kind == EB_OPTIM_ADAM && p.input_noise_std == 0.0);
    eb_objective_spec cd = build_ok("cd", NULL, NULL, 0);
    eb_objective_train_profile(&cd, false, 3, &p);
    cr_expect(p.train.schedule.step_size == 3000 && p.train.schedule.gamma == 0.5f,
              "1000 epochs of 3 batches");
    eb_objective_train_profile(&cd, true, 3, &p);
    cr_expect(p.train.epochs == 50 && p.train.batch_size == 64 && p.input_noise_std == 0.1);
    cr_expect_eq(eb_objective_default_model(&cd, true), EB_MODEL_WRN_EBM);
    eb_objective_spec flow = build_ok("flow", NULL, NULL, 0);
    cr_expect(eb_objective_builds_model(&flow) && !eb_objective_builds_model(&cd));
    eb_error err = {0};
    cr_expect_eq(eb_objective_model_check(&flow, EB_MODEL_MLP, false, &err), EB_ERR_ARG);
    cr_expect_eq(eb_objective_model_check(&flow, EB_MODEL_RADIAL_FLOW, true, &err), EB_ERR_ARG);
    cr_expect(strstr(err.message, "tabular data only") != NULL, "%s", err.message);
    char note[256];
    eb_objective_spec ssm = build_ok("ssm", NULL, NULL, 0);
    eb_objective_model_note(&ssm, EB_MODEL_MLP, EB_ACT_RELU, note, sizeof note);
    cr_expect(strstr(note, "kinks") != NULL, "%s", note);
    eb_objective_model_note(&ssm, EB_MODEL_MLP, EB_ACT_SOFTPLUS, note, sizeof note);
    cr_expect_str_eq(note, "");

    /* a run of cd: its replay buffer is the checkpoint state, restored exactly */
    eb_objective_spec small = build_ok("cd", NULL, (eb_objective_value[]){{"buffer-size", "8"}}, 1);
    eb_rng init;
    eb_rng_seed(&init, 1);
    eb_mlp_config mc = eb_mlp_default_config(3, eb_objective_out_dim(&small, 2));
    eb_model *model = NULL;
    cr_assert_eq(eb_mlp_new(&mc, &init, NULL, &model, &err), EB_OK, "%s", err.message);
    eb_objective_run *run = NULL;
    cr_assert_eq(eb_objective_run_new(&small, model, NULL, 7, &run, &err), EB_OK, "%s", err.message);
    cr_expect_not_null(run->fn);
    cr_expect_not(run->needs_labels);
    eb_st_tensor t;
    float *owned = NULL;
    bool has = false;
    cr_assert_eq(eb_objective_run_state(run, &t, &owned, &has, &err), EB_OK);
    cr_assert(has);
    cr_expect(t.ndim == 2 && t.shape[0] == 8 && t.shape[1] == 3 &&
              strcmp(t.name, "objective.replay_buffer") == 0);
    free(owned);
    eb_objective_run_free(run);
    eb_objective_run *ce_run = NULL;
    cr_assert_eq(eb_objective_run_new(&ce, model, NULL, 7, &ce_run, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_objective_run_state(ce_run, &t, &owned, &has, &err), EB_OK);
    cr_expect_not(has, "ce has no state");
    cr_expect(ce_run->needs_labels);
    eb_objective_run_free(ce_run);
    eb_model_free(model);
}

/* `ebood train --help` against the table: for every row, a line "--FLAG METAVAR" holding the objectives that
 * read it, the row's help and the first reader's paper default. */
Test(objective_registry, train_help_matches_descriptors) {
    static char help[1 << 16];
    cr_assert_eq(eb_test_cli_output("train --help", help, sizeof help), 0);
    int rows_seen = 0;
    for (int i = 0; i < eb_objective_count(); i++) {
        const eb_objective_method *m = eb_objective_at(i);
        const eb_param_desc *rows;
        int nr = eb_objective_params(m, &rows);
        for (int j = 0; j < nr; j++) {
            char head[128], readers[256], def[64];
            snprintf(head, sizeof head, "--%s %s ", rows[j].flag, rows[j].metavar);
            const char *line = strstr(help, head);
            cr_assert_not_null(line, "--help has no line '%s'", head);
            const char *end = strchr(line, '\n');
            char text[1024];
            snprintf(text, sizeof text, "%.*s", (int)(end - line), line);
            eb_objective_flag_readers(rows[j].flag, readers, sizeof readers);
            strcat(readers, ": ");
            cr_expect(strstr(text, readers) != NULL, "'%s' lacks its readers '%s'", text, readers);
            cr_expect(strstr(text, rows[j].help) != NULL, "'%s' lacks its help", text);
            eb_objective_param_default(m, &rows[j], false, def, sizeof def);
            char paren[80];
            snprintf(paren, sizeof paren, "(%s", def);
            if (strstr(readers, eb_objective_name(m)) ==
                readers) /* the first reader's default opens the list */
                cr_expect(strstr(text, paren) != NULL, "'%s' lacks the default '%s'", text, paren);
            rows_seen++;
        }
    }
    cr_expect_geq(rows_seen, 20);
}
