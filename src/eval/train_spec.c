/* The training profile in one place (include/ebood/train.h): eb_train_spec_resolve turns the settings as
 * given into the run's plan — each unset setting from eb_objective_train_profile (generic tabular/image
 * defaults, then the objective's), the model and MLP activation from the objective, the checkpoint
 * interval from the data kind — and checks that the given settings fit together. */
#include "eval/train_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

eb_train_spec eb_train_spec_default(void) {
    eb_train_spec s;
    memset(&s, 0, sizeof s);
    eb_train_settings *t = &s.settings;
    t->split_seed = t->steps = t->epochs = t->batch = t->warmup = t->step_size = -1;
    t->lr = t->wd = t->beta1 = t->beta2 = t->eps = t->gamma = t->noise_std = NAN;
    t->momentum = 0.9;
    s.model.dropout = s.model.bottleneck = NAN;
    s.checkpoint_every = -1;
    return s;
}

/* EB_ERR_ARG with err's message (a parser's error is a usage error here). */
static eb_status usage_error(eb_error *err, const char *prefix) {
    char msg[sizeof err->message];
    snprintf(msg, sizeof msg, "%s", err->message);
    return eb_error_set(err, EB_ERR_ARG, "%s%s", prefix, msg);
}

/* The profile's value of every unset loop setting; batches_per_epoch sizes the epoch-level step size. */
static void apply_profile(const eb_train_spec *s, bool images, eb_train_settings *t) {
    eb_train_profile pr;
    eb_objective_train_profile(&s->objective, images, 1, &pr);
    const eb_train_params *p = &pr.train;
    if (t->steps < 0) t->steps = p->steps;
    if (t->epochs < 0) t->epochs = p->epochs;
    if (t->batch < 0) t->batch = p->batch_size;
    if (!t->optimizer) t->optimizer = eb_optimizer_kind_name(p->optimizer.kind);
    if (isnan(t->lr)) t->lr = (double)p->optimizer.lr;
    if (isnan(t->wd)) t->wd = (double)p->optimizer.weight_decay;
    if (isnan(t->beta1)) t->beta1 = (double)p->optimizer.beta1;
    if (isnan(t->beta2)) t->beta2 = (double)p->optimizer.beta2;
    if (isnan(t->eps)) t->eps = (double)p->optimizer.eps;
    if (!t->schedule) t->schedule = eb_schedule_kind_name(p->schedule.kind);
    if (t->warmup < 0) t->warmup = p->schedule.warmup_steps;
    if (isnan(t->gamma)) t->gamma = (double)p->schedule.gamma;
    if (isnan(t->noise_std)) t->noise_std = (double)pr.input_noise_std;
    if (!t->milestones) t->milestones = "0.5,0.75";
    if (t->split_seed < 0) t->split_seed = t->seed;
}

/* The step schedule's step size when not given: the profile's for the data's batches per epoch (an
 * epoch-level decay, e.g. 1000 epochs of this data). */
static int64_t profile_step_size(const eb_train_spec *s, bool images, int64_t batches_per_epoch) {
    eb_train_profile pr;
    eb_objective_train_profile(&s->objective, images, batches_per_epoch, &pr);
    return pr.train.schedule.step_size;
}

/* "oe, energy-ft, hopfield-boost": the objectives that train on auxiliary outliers (the registry's). */
static void aux_readers(char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < eb_objective_count() && used < size; i++) {
        static eb_objective_spec o;
        eb_error e = {0};
        const char *name = eb_objective_name(eb_objective_at(i));
        if (!eb_objective_spec_build(name, NULL, NULL, 0, &o, &e) && eb_objective_uses_aux(&o))
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", name);
    }
}

/* The flags that do not fit with the objective (aux data, the margin grid). */
static eb_status check_objective_flags(const eb_train_spec *s, eb_train_plan *out, eb_error *err) {
    const eb_objective_spec *o = &s->objective;
    out->margin_search = eb__margins_grid(o);
    out->margin_grid = s->margin_grid ? s->margin_grid : out->margin_search ? "auto" : NULL;
    char readers[256];
    if (s->margin_grid && !out->margin_search) /* the search is energy-ft's (003 §4) */
        return eb_error_set(err, EB_ERR_ARG,
                            "--margin-grid is read only with --objective energy-ft --m-in grid --m-out grid");
    if (eb_objective_uses_aux(o) == (s->data.aux_name != NULL)) return EB_OK;
    if (!s->data.aux_name)
        return eb_error_set(err, EB_ERR_ARG, "--objective %s needs --aux-data SPEC (the auxiliary outliers)",
                            eb_objective_spec_name(o));
    aux_readers(readers, sizeof readers);
    return eb_error_set(err, EB_ERR_ARG, "--aux-data is read only by --objective %s", readers);
}

/* The model kind and its flags: they must fit the data, the objective and --init. */
static eb_status resolve_model(const eb_train_spec *s, bool images, eb_train_plan *out, eb_error *err) {
    const eb_train_model_args *m = &s->model;
    const eb_objective_spec *o = &s->objective;
    eb_model_kind kind = eb_objective_default_model(o, images);
    if (m->kind && eb_model_kind_parse(m->kind, &kind, err)) return usage_error(err, "--model: ");
    const struct {
        const char *flag;
        bool given;
    } arch[] = {{"model", m->kind != NULL},     {"depth", m->depth != 0},
                {"widen", m->widen != 0},       {"bottleneck", !isnan(m->bottleneck)},
                {"widths", m->n_widths > 0},    {"activation", m->activation != NULL},
                {"dropout", !isnan(m->dropout)}};
    for (size_t i = 0; s->init_path && i < sizeof arch / sizeof arch[0]; i++)
        if (arch[i].given)
            return eb_error_set(err, EB_ERR_ARG,
                                "--%s does not apply with --init (the architecture is the checkpoint's)",
                                arch[i].flag);
    const bool tabular_kind = kind == EB_MODEL_MLP || kind == EB_MODEL_RADIAL_FLOW;
    if (tabular_kind == images)
        return eb_error_set(err, EB_ERR_ARG, "--model %s does not fit %s data", eb_model_kind_name(kind),
                            images ? "image" : "tabular");
    if (!isnan(m->bottleneck) && kind != EB_MODEL_WRN_EBM)
        return eb_error_set(err, EB_ERR_ARG,
                            "--bottleneck is read only by --model wrn_ebm (this run trains %s)",
                            eb_model_kind_name(kind));
    eb_status st = eb_objective_model_check(o, kind, images, err);
    if (st) return st;
    for (size_t i = 4; eb_objective_builds_model(o) && i < 7;
         i++) /* not read by a model the objective builds */
        if (arch[i].given)
            return eb_error_set(err, EB_ERR_ARG, "--%s is read only by mlp models (this run trains a %s)",
                                arch[i].flag, eb_model_kind_name(kind));
    eb_mlp_config *mc = &out->mlp;
    *mc = eb_mlp_default_config(1, 1);
    mc->n_hidden = m->n_widths ? m->n_widths : 5;
    for (int i = 0; i < mc->n_hidden; i++) mc->hidden[i] = m->n_widths ? m->widths[i] : 100;
    mc->dropout = isnan(m->dropout) ? 0.0f : (float)m->dropout;
    if (eb_activation_parse(m->activation ? m->activation : "leaky_relu:0.01", &mc->activation,
                            &mc->activation_param, err))
        return usage_error(err, "--activation: ");
    if (!m->activation) eb_objective_default_activation(o, &mc->activation, &mc->activation_param);
    out->kind = kind;
    return EB_OK;
}

/* The optimizer and the schedule of the resolved settings (the schedule's length once the batches per
 * epoch are known). */
static eb_status resolve_optimizer(const eb_train_settings *a, bool milestones_given, int64_t per_epoch,
                                   eb_train_params *tp, eb_error *err) {
    if (eb_optimizer_kind_parse(a->optimizer, &tp->optimizer.kind, err) ||
        eb_schedule_kind_parse(a->schedule, &tp->schedule.kind, err))
        return usage_error(err, "");
    const eb_optimizer_kind ok = tp->optimizer.kind;
    tp->optimizer = ok == EB_OPTIM_SGD    ? eb_sgd_default_params()
                    : ok == EB_OPTIM_ADAM ? eb_adam_default_params()
                                          : eb_adamw_default_params();
    tp->optimizer.lr = (float)a->lr;
    tp->optimizer.weight_decay = (float)a->wd;
    if (ok == EB_OPTIM_SGD) {
        tp->optimizer.momentum = (float)a->momentum;
        tp->optimizer.nesterov = a->nesterov;
    } else {
        tp->optimizer.beta1 = (float)a->beta1;
        tp->optimizer.beta2 = (float)a->beta2;
        tp->optimizer.eps = (float)a->eps;
    }
    const eb_schedule_kind sk = tp->schedule.kind;
    tp->schedule = eb_schedule_default((float)a->lr);
    tp->schedule.kind = sk;
    tp->schedule.warmup_steps = a->warmup;
    tp->schedule.step_size = a->step_size;
    tp->schedule.gamma = (float)a->gamma;
    tp->schedule.min_lr = (float)a->min_lr;
    if (milestones_given && sk != EB_SCHEDULE_MULTISTEP)
        return eb_error_set(err, EB_ERR_ARG, "--milestones applies to --schedule multistep only");
    if (sk == EB_SCHEDULE_MULTISTEP && eb_schedule_milestones_parse(a->milestones, &tp->schedule, err))
        return usage_error(err, "--milestones: ");
    if (per_epoch > 0 && (sk == EB_SCHEDULE_COSINE || sk == EB_SCHEDULE_MULTISTEP))
        tp->schedule.total_steps = a->steps ? a->steps : a->epochs * per_epoch;
    return eb_optimizer_params_check(&tp->optimizer, err);
}

/* An init model must fit the data and the objective. */
static eb_status check_init(const eb_train_spec *s, bool images, eb_error *err) {
    const eb_model_kind kind = s->init->kind;
    if ((kind == EB_MODEL_MLP || kind == EB_MODEL_RADIAL_FLOW) == images)
        return eb_error_set(err, EB_ERR_ARG, "--init %s holds a %s, which does not fit %s data", s->init_path,
                            eb_model_kind_name(kind), images ? "image" : "tabular");
    return eb_objective_model_check(&s->objective, kind, images, err);
}

eb_status eb_train_spec_resolve(const eb_train_spec *s, bool images, int64_t n_train, eb_train_plan *out,
                                eb_error *err) {
    memset(out, 0, sizeof *out);
    eb_status st = check_objective_flags(s, out, err);
    if (st) return st;
    eb_train_settings *a = &out->settings;
    *a = s->settings;
    apply_profile(s, images, a);
    out->checkpoint_every = s->checkpoint_every >= 0 ? s->checkpoint_every : images ? 1 : 0;
    if (a->steps == 0 && a->epochs == 0) return eb_error_set(err, EB_ERR_ARG, "--steps 0 needs --epochs N");
    if ((st = resolve_model(s, images, out, err))) return st;
    if (n_train > 0) { /* the batches per epoch of the loaded data */
        const int64_t b = a->batch < n_train ? a->batch : n_train;
        out->batches_per_epoch = !a->keep_last ? n_train / b : (n_train + b - 1) / b;
    }
    if (a->step_size < 0)
        a->step_size = profile_step_size(s, images, n_train > 0 ? out->batches_per_epoch : 1);
    eb_train_params *tp = &out->train;
    *tp = eb_train_default_params();
    if ((st = resolve_optimizer(a, s->settings.milestones != NULL, out->batches_per_epoch, tp, err)))
        return st;
    tp->steps = a->steps;
    tp->epochs = a->epochs;
    tp->batch_size = a->batch;
    tp->drop_last = !a->keep_last;
    tp->clip_grad_norm = a->clip;
    tp->seed = (uint64_t)a->seed;
    tp->progress = !s->quiet;
    tp->dist = s->dist;
    if (s->init && (st = check_init(s, images, err))) return st;
    if (s->init) out->kind = s->init->kind;
    return EB_OK;
}
