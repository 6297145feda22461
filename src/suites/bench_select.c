/* Checkpoint selection of the suites (002_39b8670b82235277.txt App. B and its released code, specs §4):
 * during training, every `every_epochs` epochs (the code's check_val_every_n_epoch = 10), a validation
 * metric of the model is computed and the parameters (and buffers) with the highest value so far are kept —
 * ties keep the earlier ones, as PyTorch Lightning's ModelCheckpoint(mode="max") does — and once more after
 * the last step (so a short run has a selection too). Training itself runs
 * to its end (no patience: the paper names none), so one run gives both the final and the selected
 * parameters. Two metrics:
 *   - the ID validation accuracy (App. B: the CE baseline's "early stopping based on the accuracy");
 *   - AUROC of f(x) = logsumexp of the outputs on ID validation rows against a held-out OOD validation split
 *     (the released code's ModelCheckpoint monitor "val/ood"; App. B says AUC-PR). */
#include "suites/bench_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Logits of rows (the caller frees *out). */
static eb_status logits_of(eb_model *m, const eb_row_set *rows, float **out, eb_error *err) {
    int64_t c = eb_model_out_dim(m);
    *out = malloc((size_t)(rows->n * c + 1) * sizeof **out);
    if (!*out) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    return eb_model_predict(m, rows->x, rows->n, 256, *out, NULL, err);
}

eb_status eb_bench_log_density(eb_model *m, const eb_row_set *rows, float *f, eb_error *err) {
    float *logits;
    eb_status st = logits_of(m, rows, &logits, err);
    if (!st) st = eb_logit_scores(EB_SCORE_ENERGY, logits, rows->n, eb_model_out_dim(m), 1.0f, f, err);
    free(logits);
    return st;
}

static eb_status val_metric(const eb_bench_select *s, eb_model *m, double *value, eb_error *err) {
    if (s->metric == EB_SELECT_ID_ACCURACY) {
        float *logits;
        eb_status st = logits_of(m, s->val_id, &logits, err);
        if (!st) st = eb_accuracy(logits, s->val_id->n, eb_model_out_dim(m), s->val_id->labels, value, err);
        free(logits);
        return st;
    }
    float *f_id = malloc((size_t)(s->val_id->n + 1) * sizeof *f_id),
          *f_ood = malloc((size_t)(s->val_ood->n + 1) * sizeof *f_ood);
    eb_status st = f_id && f_ood ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    if (!st) st = eb_bench_log_density(m, s->val_id, f_id, err);
    if (!st) st = eb_bench_log_density(m, s->val_ood, f_ood, err);
    if (!st) st = eb_auroc(f_id, s->val_id->n, f_ood, s->val_ood->n, value, err);
    free(f_id);
    free(f_ood);
    return st;
}

eb_status eb_bench_select_begin(eb_bench_select *s, const eb_model *m, eb_error *err) {
    free(s->best);
    s->best = malloc((size_t)(m->params.size + m->buffers.size + 1) * sizeof *s->best);
    if (!s->best) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    s->best_value = -INFINITY;
    s->best_step = -1;
    s->last_step = -1;
    return EB_OK;
}

eb_status eb_bench_select_epoch_end(void *ctx, eb_model *m, const eb_train_epoch_info *info, eb_error *err) {
    eb_bench_select *s = ctx;
    if (info->step == s->last_step || (info->epoch % s->every_epochs != 0 && !info->final)) return EB_OK;
    s->last_step = info->step;
    double v;
    eb_status st = val_metric(s, m, &v, err);
    if (st) return st;
    if (v > s->best_value) { /* NaN never wins */
        s->best_value = v;
        s->best_step = info->step;
        memcpy(s->best, m->params.data, (size_t)m->params.size * sizeof *s->best);
        if (m->buffers.size)
            memcpy(s->best + m->params.size, m->buffers.data, (size_t)m->buffers.size * sizeof *s->best);
    }
    return EB_OK;
}

bool eb_bench_select_restore(const eb_bench_select *s, eb_model *m) {
    if (s->best_step < 0) return false;
    memcpy(m->params.data, s->best, (size_t)m->params.size * sizeof *s->best);
    if (m->buffers.size)
        memcpy(m->buffers.data, s->best + m->params.size, (size_t)m->buffers.size * sizeof *s->best);
    return true;
}

void eb_bench_select_free(eb_bench_select *s) {
    free(s->best);
    s->best = NULL;
}
