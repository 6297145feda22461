/* The hooks the EBM objectives (cd, cd-s, ssm, ssm-s, vera, vera-s, flow) share, in ebm_method.c: their
 * params struct is ebm.h's eb_ebm_method, their run context an eb_ebm_objective. Each method's file
 * declares its registry rows with EB__EBM_OBJECTIVE and its parameter rows (offsets into eb_ebm_method). */
#ifndef EBOOD_EBM_METHOD_IMPL_H
#define EBOOD_EBM_METHOD_IMPL_H

#include "ood/objectives/objective_impl.h"

#include <ebood/ebm.h>

#include <stddef.h>

void eb__ebm_use_code(void *p);
const char *eb__ebm_resolve(const void *p);
eb_status eb__ebm_check(const void *p, eb_error *err);
char *eb__ebm_json(const void *p, bool code_defaults);
int64_t eb__ebm_out_dim(const void *p, int64_t n_classes);
eb_model_kind eb__ebm_default_model(const void *p, bool images);
void eb__ebm_default_activation(const void *p, eb_activation *act, float *param);
eb_status eb__ebm_model_check(const void *p, eb_model_kind kind, bool images, eb_error *err);
eb_status eb__ebm_model_new(const void *p, int64_t in_dim, int64_t n_classes, eb_rng *init, eb_model **out,
                            eb_error *err);
void eb__ebm_model_note(const void *p, eb_model_kind kind, eb_activation act, char *buf, size_t size);
void eb__ebm_train_profile(const void *p, bool images, int64_t batches_per_epoch, eb_train_profile *out);
bool eb__ebm_needs_labels(const void *p);
eb_tensor *eb__ebm_loss(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                        int64_t *n_correct);
eb_status eb__ebm_run_new(void *p, const eb_model *model, const eb_schedule *schedule, uint64_t seed,
                          void **ctx, eb_error *err);
void eb__ebm_run_free(void *ctx);
int eb__ebm_state_shape(const void *ctx, int64_t shape[2]);
void eb__ebm_state_get(const void *ctx, float *out);
eb_status eb__ebm_state_gather(const void *ctx, float *out, eb_error *err);
eb_status eb__ebm_distribute(void *ctx, const eb_dist *dist, uint64_t seed, eb_error *err);
eb_status eb__ebm_state_set(void *ctx, const float *in, int ndim, const int64_t *shape, eb_error *err);

/* The registry row of EBM method `name_` (its defaults: eb_ebm_method_parse(name_)); rows_ its parameter
 * rows; code_ the use_code hook (NULL: no code preset); state_ the checkpoint tensor's name or NULL;
 * model_new_ NULL (the generic model) or eb__ebm_model_new (the method builds its own). */
#define EB__EBM_OBJECTIVE(name_, help_, defaults_, rows_, code_, state_, model_new_)                         \
    {                                                                                                        \
        .name = name_, .help = help_, .params_size = sizeof(eb_ebm_method), .params = rows_,                 \
        .n_params = (int)(sizeof rows_ / sizeof rows_[0]), .defaults = defaults_, .use_code = code_,         \
        .resolve = eb__ebm_resolve, .check = eb__ebm_check, .json = eb__ebm_json,                            \
        .out_dim = eb__ebm_out_dim, .default_model = eb__ebm_default_model,                                  \
        .default_activation = eb__ebm_default_activation, .model_check = eb__ebm_model_check,                \
        .model_new = model_new_, .model_note = eb__ebm_model_note, .train_profile = eb__ebm_train_profile,   \
        .needs_labels = eb__ebm_needs_labels, .fn = eb__ebm_loss, .run_new = eb__ebm_run_new,                \
        .run_free = eb__ebm_run_free, .state_name = state_, .state_shape = eb__ebm_state_shape,              \
        .state_get = eb__ebm_state_get, .state_gather = eb__ebm_state_gather,                                \
        .state_set = eb__ebm_state_set, .distribute = eb__ebm_distribute,                                    \
    }

/* --ce-weight: one row per method with its own offset, the same flag, range and help. */
#define EB__EBM_CE_WEIGHT_ROW(field_)                                                                        \
    {                                                                                                        \
        "ce_weight", "ce-weight", EB_PARAM_TYPE_F64, offsetof(eb_ebm_method, field_), 0, 1e6, false, false,  \
            NULL, "G",                                                                                       \
            "weight of the cross-entropy term; 0 = unsupervised scalar EBM, > 0 = supervised (JEM-style, "   \
            "the -s "                                                                                        \
            "variant, whatever the name's suffix)"                                                           \
    }

#endif
