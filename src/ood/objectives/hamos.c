/* The cider and hamos training objectives (004_6bc3f0c56840d9ea.txt Alg. 2, Eq. (8), Table 4; specs §3):
 * two views per sample in one forward pass, CE on the classifier head, CIDER's compactness and dispersion on
 * the projection head's unit embeddings, and — hamos — the OOD-discernment loss on outliers synthesised
 * from the class buffers each step (hamos_synthesis.c). */
#include "ood/objectives/cider_impl.h"
#include "ood/objectives/objective_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct eb_hamos_objective {
    eb_hamos_params p;
    int64_t n_classes, dim, in_dim;
    bool image;
    int c, h, w;
    float *proto; /* [C, dim] detached EMA prototypes */
    eb_class_buffer buf;
    float *outliers; /* [n_out, dim] */
    int64_t n_out;
    float *views;     /* [2·cap, in_dim] */
    int32_t *labels2; /* [2·cap] */
    int64_t cap;
    eb_rng init_rng;
    eb_hamos_objective_stats stats;
    double acc_sum, div_sum;
};

eb_hamos_params eb_hamos_default_params(bool synthesis) {
    eb_hamos_params p = {0};
    p.synthesis = synthesis;
    p.head_dim = 128;
    p.temperature = 0.1f;
    p.base_temperature = 0.07f;
    p.proto_momentum = 0.95f;
    p.ce_weight = 1.0f;
    p.comp_weight = 1.0f;
    p.dis_weight = 0.5f;
    p.ood_weight = 0.1f;
    p.buffer_size = 1000;
    p.synthesis_method = EB_SYNTH_HAMOS;
    p.vos_samples = 1000;
    p.npos_samples = 100;
    p.npos_sigma = 0.1f;
    p.synth = eb_hamos_synthesis_default_params();
    p.augment = true;
    p.aug = eb_image_augment_simclr();
    for (int i = 0; i < EB_IMAGE_MAX_CHANNELS; i++) p.std[i] = 1.0f;
    return p;
}

void eb_hamos_use_code(eb_hamos_params *p) {
    p->ood_on_id = true;
    p->synth.rounds = 2;                              /* scripts/ood/hamos CIFAR-10 "select" */
    p->synth.margin = p->synth.sampler.step_size / 2; /* margin = step_size, halved in the test */
    p->synth.kde = EB_VMF_KDE_CODE;
    p->synth.keep_start = true;
}

eb_status eb_hamos_params_check(const eb_hamos_params *p, eb_error *err) {
    if (p->head_dim < 1 || p->head_dim > 65536 || p->head_hidden < 0 || p->head_hidden > 65536)
        return eb_error_set(err, EB_ERR_ARG, "hamos: head widths %lld, %lld outside [1, 65536]",
                            (long long)p->head_hidden, (long long)p->head_dim);
    if (!(isfinite(p->temperature) && p->temperature > 0) ||
        !(isfinite(p->base_temperature) && p->base_temperature > 0))
        return eb_error_set(err, EB_ERR_ARG, "hamos: temperatures %g, %g (need finite values > 0)",
                            (double)p->temperature, (double)p->base_temperature);
    if (!(p->proto_momentum >= 0.0f && p->proto_momentum < 1.0f))
        return eb_error_set(err, EB_ERR_ARG, "hamos: prototype momentum %g outside [0, 1)",
                            (double)p->proto_momentum);
    const float w[4] = {p->ce_weight, p->comp_weight, p->dis_weight, p->ood_weight};
    for (int i = 0; i < 4; i++)
        if (!(isfinite(w[i]) && w[i] >= 0.0f))
            return eb_error_set(err, EB_ERR_ARG, "hamos: loss weight %g (need a finite value ≥ 0)",
                                (double)w[i]);
    if ((unsigned)p->synthesis_method > EB_SYNTH_NPOS)
        return eb_error_set(err, EB_ERR_ARG, "hamos: unknown synthesis %d", (int)p->synthesis_method);
    if (p->synthesis_method == EB_SYNTH_VOS &&
        (p->vos_samples < eb_hamos_synthesis_count(&p->synth, 2) / 2 || p->vos_samples > 10000000))
        return eb_error_set(err, EB_ERR_ARG,
                            "hamos: vos samples %lld: need at least the %lld outliers per class "
                            "and at most 1e7",
                            (long long)p->vos_samples,
                            (long long)(eb_hamos_synthesis_count(&p->synth, 2) / 2));
    if (p->synthesis_method == EB_SYNTH_NPOS && (p->npos_samples < 2 || p->npos_samples > 1000000 ||
                                                 !(isfinite(p->npos_sigma) && p->npos_sigma > 0.0f)))
        return eb_error_set(err, EB_ERR_ARG, "hamos: npos samples %lld (need 2..1e6), sigma %g (need > 0)",
                            (long long)p->npos_samples, (double)p->npos_sigma);
    if (p->synthesis && p->synthesis_method == EB_SYNTH_NPOS && p->synth.k + 1 > p->buffer_size)
        return eb_error_set(err, EB_ERR_ARG, "hamos: npos needs k + 1 = %lld rows per class buffer, not %lld",
                            (long long)(p->synth.k + 1), (long long)p->buffer_size);
    if (p->buffer_size < 1 || p->buffer_size > 1000000)
        return eb_error_set(err, EB_ERR_ARG, "hamos: buffer size %lld outside [1, 1e6]",
                            (long long)p->buffer_size);
    eb_status st = eb_hamos_synthesis_params_check(&p->synth, err);
    if (st) return st;
    if (p->synthesis && p->synth.k > p->buffer_size)
        return eb_error_set(err, EB_ERR_ARG, "hamos: k %lld larger than the buffer size %lld",
                            (long long)p->synth.k, (long long)p->buffer_size);
    for (int i = 0; i < EB_IMAGE_MAX_CHANNELS; i++)
        if (!isfinite(p->mean[i]) || !(isfinite(p->std[i]) && p->std[i] > 0))
            return eb_error_set(err, EB_ERR_ARG, "hamos: input normalisation of channel %d (mean %g, std %g)",
                                i, (double)p->mean[i], (double)p->std[i]);
    return EB_OK;
}

static void random_unit_rows(float *x, int64_t n, int64_t d, eb_rng *rng) {
    for (int64_t i = 0; i < n; i++) {
        double norm = 0.0;
        for (int64_t j = 0; j < d; j++) {
            x[i * d + j] = (float)eb_rng_normal(rng);
            norm += (double)x[i * d + j] * (double)x[i * d + j];
        }
        for (int64_t j = 0; j < d; j++) x[i * d + j] = (float)((double)x[i * d + j] / sqrt(norm));
    }
}

eb_status eb_hamos_objective_new(const eb_hamos_params *p, eb_model *m, uint64_t seed, eb_rng *rng,
                                 eb_hamos_objective **out, eb_error *err) {
    *out = NULL;
    eb_status st = eb_hamos_params_check(p, err);
    if (st) return st;
    int64_t C = eb_model_out_dim(m);
    if (C < 2 || m->kind == EB_MODEL_RADIAL_FLOW)
        return eb_error_set(err, EB_ERR_ARG, "%s: needs a classifier with ≥ 2 classes",
                            p->synthesis ? "hamos" : "cider");
    if (m->head_dim && m->head_dim != p->head_dim)
        return eb_error_set(err, EB_ERR_ARG, "%s: the model's projection head has width %lld, not %lld",
                            p->synthesis ? "hamos" : "cider", (long long)m->head_dim, (long long)p->head_dim);
    int64_t hidden = p->head_hidden > 0 ? p->head_hidden : eb_model_feature_dim(m);
    if (!m->head_dim && (st = eb_model_add_projection_head(m, hidden, p->head_dim, rng, err))) return st;
    eb_hamos_objective *o = calloc(1, sizeof *o);
    if (!o) return eb_error_set(err, EB_ERR_NOMEM, "hamos: out of memory");
    o->p = *p;
    o->n_classes = C;
    o->dim = p->head_dim;
    o->in_dim = eb_model_in_dim(m);
    o->image = eb_model_kind_is_image(m->kind);
    if (o->image) {
        o->c = (int)m->image.channels;
        o->h = (int)m->image.height;
        o->w = (int)m->image.width;
    }
    eb_rng_seed(&o->init_rng, seed);
    o->proto = malloc((size_t)(C * o->dim) * sizeof *o->proto);
    if (!o->proto) st = eb_error_set(err, EB_ERR_NOMEM, "hamos: out of memory");
    if (!st && p->synthesis) {
        st = eb_class_buffer_init(&o->buf, C, p->buffer_size, o->dim, err);
        o->n_out = eb_hamos_synthesis_count(&p->synth, C);
        o->outliers = malloc((size_t)(o->n_out * o->dim) * sizeof *o->outliers);
        if (!st && !o->outliers) st = eb_error_set(err, EB_ERR_NOMEM, "hamos: out of memory");
    }
    if (st) {
        eb_hamos_objective_free(o);
        return st;
    }
    random_unit_rows(o->proto, C, o->dim, &o->init_rng);
    o->stats.mean_acceptance = o->stats.mean_diversity = NAN;
    *out = o;
    return EB_OK;
}

void eb_hamos_objective_free(eb_hamos_objective *o) {
    if (!o) return;
    free(o->proto);
    eb_class_buffer_free(&o->buf);
    free(o->outliers);
    free(o->views);
    free(o->labels2);
    free(o);
}

eb_status eb_hamos_objective_init_prototypes(eb_hamos_objective *o, eb_model *m, const float *x,
                                             const int32_t *labels, int64_t n, eb_error *err) {
    int64_t C = o->n_classes, d = o->dim;
    float *z = malloc((size_t)(n > 0 ? n * d : 1) * sizeof *z);
    double *sum = calloc((size_t)(C * d), sizeof *sum);
    int64_t *count = calloc((size_t)C, sizeof *count);
    eb_status st =
        !z || !sum || !count ? eb_error_set(err, EB_ERR_NOMEM, "prototypes: out of memory") : EB_OK;
    if (!st) st = eb_model_predict_embeddings(m, x, n, 256, z, err);
    for (int64_t i = 0; i < n && !st; i++) {
        if (labels[i] < 0 || labels[i] >= C) {
            st = eb_error_set(err, EB_ERR_ARG, "prototypes: label %d of row %lld outside [0, %lld)",
                              (int)labels[i], (long long)i, (long long)C);
            break;
        }
        count[labels[i]]++;
        for (int64_t j = 0; j < d; j++) sum[labels[i] * d + j] += (double)z[i * d + j];
    }
    for (int64_t c = 0; c < C && !st; c++) {
        double norm = 0.0;
        for (int64_t j = 0; j < d; j++) norm += sum[c * d + j] * sum[c * d + j];
        if (count[c] == 0 || !(norm > 0)) continue; /* keeps its random unit vector */
        for (int64_t j = 0; j < d; j++) o->proto[c * d + j] = (float)(sum[c * d + j] / sqrt(norm));
    }
    free(z);
    free(sum);
    free(count);
    return st;
}

/* The two views of the batch into o->views (grown as needed) and the labels twice; false on OOM. */
static bool make_views(eb_hamos_objective *o, const eb_batch *batch, eb_rng *rng, eb_error *err) {
    int64_t B = batch->size, D = o->in_dim;
    if (B > o->cap) {
        float *v = realloc(o->views, (size_t)(2 * B * D) * sizeof *v);
        if (v) o->views = v;
        int32_t *l = realloc(o->labels2, (size_t)(2 * B) * sizeof *l);
        if (l) o->labels2 = l;
        if (!v || !l) return false;
        o->cap = B;
    }
    for (int k = 0; k < 2; k++) {
        memcpy(o->views + k * B * D, batch->x->data, (size_t)(B * D) * sizeof(float));
        memcpy(o->labels2 + k * B, batch->labels, (size_t)B * sizeof(int32_t));
        if (o->image && o->p.augment &&
            eb_image_augment_apply(&o->p.aug, o->views + k * B * D, B, o->c, o->h, o->w, o->p.mean, o->p.std,
                                   rng, err))
            return false;
    }
    return true;
}

/* The batch has labels, each in [0, C); else g fails. */
static bool batch_labels_ok(eb_graph *g, const eb_batch *batch, int64_t C, const char *name) {
    if (!batch->labels) {
        eb_graph_fail(g, EB_ERR_ARG, "%s objective: the data has no labels", name);
        return false;
    }
    for (int64_t i = 0; i < batch->size; i++)
        if (batch->labels[i] < 0 || batch->labels[i] >= C) {
            eb_graph_fail(g, EB_ERR_ARG, "%s objective: label %d outside [0, %lld)", name,
                          (int)batch->labels[i], (long long)C);
            return false;
        }
    return true;
}

/* o->n_out outliers into o->outliers from the full class buffer, by the configured method (VOS and NPOS:
 * the same number per class); the acceptance, diversity and seconds of the synthesis into *s. */
static eb_status synthesize(eb_hamos_objective *o, eb_rng *rng, eb_hamos_synthesis_stats *s, eb_error *err) {
    const eb_hamos_params *p = &o->p;
    const int64_t per_class = o->n_out / o->n_classes;
    if (p->synthesis_method != EB_SYNTH_VOS && p->synthesis_method != EB_SYNTH_NPOS)
        return eb_hamos_synthesize(&p->synth, &o->buf, o->outliers, s, rng, err);
    const double t0 = eb_time_seconds();
    eb_status st = p->synthesis_method == EB_SYNTH_VOS
                       ? eb_vos_synthesize(&o->buf, p->vos_samples, per_class, o->outliers, rng, err)
                       : eb_npos_synthesize(&o->buf, p->synth.k, p->npos_samples, p->npos_sigma, per_class,
                                            o->outliers, rng, err);
    s->seconds = eb_time_seconds() - t0;
    return st;
}

/* Alg. 2 l. 5 on: the class buffer takes this batch's embeddings z [2B, dim] first; once it is full, every
 * step synthesizes outliers and returns loss + w_ood·L_ood (*ood = L_ood; paper: on the outliers, reaching
 * the network through the prototypes P; code: on the ID z, against P_det). Else loss; g fails on an error. */
static eb_tensor *add_ood_term(eb_hamos_objective *o, eb_graph *g, eb_tensor *z, eb_tensor *P,
                               eb_tensor *P_det, eb_rng *rng, const char *name, eb_tensor *loss,
                               eb_tensor **ood) {
    const eb_hamos_params *p = &o->p;
    eb_error err = {0};
    eb_status st = eb_class_buffer_push(&o->buf, z->data, o->labels2, z->shape[0], &err);
    if (!st && eb_class_buffer_full(&o->buf)) {
        eb_hamos_synthesis_stats s = {NAN, NAN, 0.0};
        st = synthesize(o, rng, &s, &err);
        if (!st) {
            o->stats.synthesis_steps++;
            o->acc_sum += s.acceptance;
            o->div_sum += s.diversity;
            o->stats.synthesis_seconds += s.seconds;
            o->stats.mean_acceptance = o->acc_sum / (double)o->stats.synthesis_steps;
            o->stats.mean_diversity = o->div_sum / (double)o->stats.synthesis_steps;
            eb_tensor *zo = eb_tensor_copy(g, o->outliers, 2, EB_SHAPE(o->n_out, o->dim));
            *ood = p->ood_on_id ? eb__ood_discernment(g, z, P_det, p->temperature, p->base_temperature)
                                : eb__ood_discernment(g, zo, P, p->temperature, p->base_temperature);
            loss = eb_add(g, loss, eb_mul_scalar(g, *ood, p->ood_weight));
        }
    }
    if (st) eb_graph_fail(g, st, "%s objective: %s", name, err.message);
    return loss;
}

eb_tensor *eb_hamos_objective_loss(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                   int64_t *n_correct) {
    eb_hamos_objective *o = ctx;
    const eb_hamos_params *p = &o->p;
    const char *name = p->synthesis ? "hamos" : "cider";
    int64_t B = batch->size, C = o->n_classes;
    if (!batch_labels_ok(g, batch, C, name)) return batch->x;
    eb_error err = {0};
    if (!make_views(o, batch, rng, &err)) {
        eb_graph_fail(g, EB_ERR_NOMEM, "%s objective: out of memory", name);
        return batch->x;
    }
    eb_tensor *x2 = eb_tensor_input(g, o->views, 2, EB_SHAPE(2 * B, o->in_dim), false);
    eb_tensor *feat = NULL;
    eb_tensor *logits = eb_model_forward(m, g, x2, true, rng, &feat);
    eb_tensor *z = eb_model_project(m, g, feat);
    eb_tensor *ce = eb_cross_entropy(g, logits, o->labels2);
    eb_tensor *P = eb__cider_prototypes(g, z, o->labels2, o->proto, C, p->proto_momentum);
    if (eb_graph_status(g)) return ce;
    eb_tensor *P_det = eb_tensor_copy(g, P->data, 2, P->shape);
    eb_tensor *comp = eb__cider_compactness(g, z, o->labels2, P_det, p->temperature, p->base_temperature);
    eb_tensor *dis = eb__cider_dispersion(g, P, p->temperature);
    eb_tensor *loss =
        eb_add(g, eb_add(g, eb_mul_scalar(g, ce, p->ce_weight), eb_mul_scalar(g, comp, p->comp_weight)),
               eb_mul_scalar(g, dis, p->dis_weight));
    eb_tensor *ood = NULL;
    if (p->synthesis) loss = add_ood_term(o, g, z, P, P_det, rng, name, loss, &ood);
    if (eb_graph_status(g)) return loss;
    memcpy(o->proto, P->data, (size_t)(C * o->dim) * sizeof(float));
    o->stats.steps++;
    o->stats.last_ce = ce->data[0];
    o->stats.last_comp = comp->data[0];
    o->stats.last_dis = dis->data[0];
    o->stats.last_ood = ood ? ood->data[0] : NAN;
    if (n_correct) *n_correct = eb__count_correct(logits, batch->labels, B); /* the first view's rows */
    return loss;
}

eb_hamos_objective_stats eb_hamos_objective_get_stats(const eb_hamos_objective *o) { return o->stats; }

const float *eb_hamos_objective_prototypes(const eb_hamos_objective *o) { return o->proto; }

void eb__hamos_objective_set_normalization(eb_hamos_objective *o, int c, const float *mean,
                                           const float *std) {
    for (int i = 0; i < c && i < EB_IMAGE_MAX_CHANNELS; i++) {
        o->p.mean[i] = mean[i];
        o->p.std[i] = std[i];
    }
}

void eb__hamos_objective_set_prototypes(eb_hamos_objective *o, const float *proto) {
    memcpy(o->proto, proto, (size_t)(o->n_classes * o->dim) * sizeof *o->proto);
}

int64_t eb__hamos_objective_classes(const eb_hamos_objective *o) { return o->n_classes; }
int64_t eb__hamos_objective_dim(const eb_hamos_objective *o) { return o->dim; }
eb_class_buffer *eb__hamos_objective_buffer(eb_hamos_objective *o) { return &o->buf; }
