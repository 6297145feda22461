/* Energy-bounded fine-tuning (003_77034dadf9bef685.txt §3.2, Eq. 7–9; specs §1):
 *   L = CE(f(x_id), y) + λ · [ mean_in relu(E(x_in) − m_in)² + mean_out relu(m_out − E(x_out))² ],
 *   E(x) = −lse_k f_k(x) (T = 1),   λ = 0.1.
 * Each squared hinge is averaged over its own rows and the two summed. Sign convention: E is negative for
 * confident inputs; the in-term pushes ID energies below m_in, the out-term outlier energies above m_out
 * (m_in < m_out; the code's CIFAR-10 values −23 / −5 — the paper's text swaps the two ranges). One
 * forward pass over [x_id; x_out]. eb_mean_energy gives the means --margins auto starts from. */
#include "ood/objectives/outliers_impl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

eb_energy_ft_config eb_energy_ft_default_config(void) { return (eb_energy_ft_config){0.1f, -23.0f, -5.0f}; }

eb_status eb_energy_ft_config_check(const eb_energy_ft_config *c, eb_error *err) {
    if (!(isfinite(c->lambda) && c->lambda >= 0.0f))
        return eb_error_set(err, EB_ERR_ARG, "energy-ft: lambda must be a finite number >= 0 (got %g)",
                            (double)c->lambda);
    if (!isfinite(c->m_in) || !isfinite(c->m_out) || !(c->m_in < c->m_out))
        return eb_error_set(err, EB_ERR_ARG,
                            "energy-ft: margins must be finite with m_in < m_out (got m_in %g, m_out %g; "
                            "energies are -logsumexp, e.g. the code's -23 and -5)",
                            (double)c->m_in, (double)c->m_out);
    return EB_OK;
}

eb_tensor *eb_objective_energy_ft(void *ctx, eb_model *m, eb_graph *g, const eb_batch *batch, eb_rng *rng,
                                  int64_t *n_correct) {
    const eb_energy_ft_config *c = ctx;
    eb_tensor *logits = eb_model_forward(m, g, batch->x, true, rng, NULL), *ce = NULL, *out = NULL;
    if (!(c->m_in < c->m_out)) { /* e.g. "auto" margins never resolved (eb_objective_run_aux_setup) */
        eb_graph_fail(g, EB_ERR_ARG, "energy-ft objective: margins m_in %g, m_out %g (need m_in < m_out)",
                      (double)c->m_in, (double)c->m_out);
        return logits;
    }
    if (!eb__outlier_split(g, "energy-ft", logits, batch, &ce, &out, n_correct)) return logits;
    eb_tensor *lse_in = eb_logsumexp(g, eb__rows(g, logits, 0, batch->size), 1, false); /* −E_in */
    eb_tensor *lse_out = eb_logsumexp(g, out, 1, false);                                /* −E_out */
    /* E_in − m_in = −lse_in − m_in;  m_out − E_out = lse_out + m_out */
    eb_tensor *over_in = eb_relu(g, eb_add_scalar(g, eb_mul_scalar(g, lse_in, -1.0f), -c->m_in));
    eb_tensor *under_out = eb_relu(g, eb_add_scalar(g, lse_out, c->m_out));
    eb_tensor *reg =
        eb_add(g, eb_mean_all(g, eb_square(g, over_in)), eb_mean_all(g, eb_square(g, under_out)));
    return eb_add(g, ce, eb_mul_scalar(g, reg, c->lambda));
}

eb_status eb_energy_rows(eb_model *m, const eb_image_set *set, const int64_t *rows, int64_t n,
                         const eb_image_transforms *t, float *energy, eb_error *err) {
    if (n < 1) return eb_error_set(err, EB_ERR_ARG, "energy: no rows");
    if (eb_image_set_image_size(set) != eb_model_in_dim(m))
        return eb_error_set(err, EB_ERR_SHAPE,
                            "energy: the data has %lld values per row, the model expects %lld",
                            (long long)eb_image_set_image_size(set), (long long)eb_model_in_dim(m));
    const int64_t c = eb_model_out_dim(m);
    float *logits = malloc((size_t)(n * c) * sizeof *logits);
    if (!logits) return eb_error_set(err, EB_ERR_NOMEM, "energy: out of memory");
    eb_status st = eb__predict_set_rows(m, set, rows, n, t, logits, NULL, err);
    for (int64_t i = 0; !st && i < n; i++) {
        const float *row = logits + i * c;
        double mx = row[0], s = 0.0;
        for (int64_t k = 1; k < c; k++) mx = fmax(mx, (double)row[k]);
        for (int64_t k = 0; k < c; k++) s += exp((double)row[k] - mx);
        energy[i] = (float)-(mx + log(s));
        if (!isfinite(energy[i]))
            st = eb_error_set(err, EB_ERR_NUMERIC, "energy: row %lld has a non-finite energy",
                              (long long)(rows ? rows[i] : i));
    }
    free(logits);
    return st;
}

eb_status eb_mean_energy(eb_model *m, const eb_image_set *set, const int64_t *rows, int64_t n,
                         const eb_image_transforms *t, double *mean, eb_error *err) {
    float *e = n > 0 ? malloc((size_t)n * sizeof *e) : NULL;
    if (n > 0 && !e) return eb_error_set(err, EB_ERR_NOMEM, "mean energy: out of memory");
    eb_status st = eb_energy_rows(m, set, rows, n, t, e, err);
    double sum = 0.0;
    for (int64_t i = 0; !st && i < n; i++) sum += (double)e[i];
    free(e);
    if (st) return eb_error_set(err, st, "mean energy: %s", err->message);
    *mean = sum / (double)n;
    return EB_OK;
}

/* ---- the margin grid (003 §4) ------------------------------------------------------------------------- */
bool eb_margin_grid_needs_means(const char *spec) { return spec && strcmp(spec, "auto") == 0; }

/* Parses "A,B,.." into v (at most EB_MARGIN_GRID_MAX finite numbers); false when malformed. */
static bool parse_list(const char *s, const char *end, float *v, int *n) {
    *n = 0;
    while (s < end) {
        char *stop;
        errno = 0;
        const double x = strtod(s, &stop);
        if (stop == s || stop > end || errno || !isfinite(x) || *n >= EB_MARGIN_GRID_MAX) return false;
        v[(*n)++] = (float)x;
        s = stop;
        if (s < end && *s++ != ',') return false;
        if (s == end && s[-1] == ',') return false;
    }
    return *n > 0;
}

eb_status eb_margin_grid_parse(const char *spec, double mean_id, double mean_aux, eb_margin_grid *out,
                               eb_error *err) {
    memset(out, 0, sizeof *out);
    if (!spec) return eb_error_set(err, EB_ERR_ARG, "margin grid: no grid given");
    if (strcmp(spec, "paper") == 0) {
        static const float in[] = {-27, -23, -19, -15}, o[] = {-7, -5, -3};
        memcpy(out->m_in, in, sizeof in);
        memcpy(out->m_out, o, sizeof o);
        out->n_in = 4, out->n_out = 3;
        return EB_OK;
    }
    if (strcmp(spec, "auto") == 0) {
        if (!(isfinite(mean_id) && isfinite(mean_aux) && mean_aux > mean_id))
            return eb_error_set(
                err, EB_ERR_ARG,
                "margin grid auto: the model's mean AUX energy %.4g is not above its mean ID "
                "energy %.4g (start from a trained classifier with --init, or give the lists)",
                mean_aux, mean_id);
        const double q = (mean_aux - mean_id) / 4.0;
        for (int k = 0; k < 3; k++) {
            out->m_in[k] = (float)(mean_id + (k - 1) * q);
            out->m_out[k] = (float)(mean_aux + (k - 1) * q);
        }
        out->n_in = out->n_out = 3;
        return EB_OK;
    }
    const char *colon = strchr(spec, ':');
    if (!colon || !parse_list(spec, colon, out->m_in, &out->n_in) ||
        !parse_list(colon + 1, colon + strlen(colon), out->m_out, &out->n_out))
        return eb_error_set(err, EB_ERR_ARG,
                            "margin grid '%s': expected paper, auto or M_IN,..:M_OUT,.. (at most %d finite "
                            "numbers each)",
                            spec, EB_MARGIN_GRID_MAX);
    for (int i = 0; i < out->n_in; i++)
        for (int j = 0; j < out->n_out; j++)
            if (out->m_in[i] < out->m_out[j]) return EB_OK;
    return eb_error_set(err, EB_ERR_ARG, "margin grid '%s': no pair has m_in < m_out", spec);
}

/* ---- registry row: energy-ft (objective_impl.h) ------------------------------------------------------
 * Margins: "auto" (the default) = the mean energies of the model being fine-tuned (--init) on the first
 * MARGIN_ROWS ID training rows and AUX pool rows, set before training (the authors' advice); "grid" = the
 * paper's selection, run by `ebood train` (src/eval/train_margins.c, eb_margin_grid_parse) which sets
 * numbers before the run; the code preset gives run.sh's CIFAR-10 −23 / −5. */
#define MARGIN_AUTO EB__MARGIN_AUTO
#define MARGIN_GRID EB__MARGIN_GRID
#define MARGIN_ROWS 10000

typedef struct energy_params {
    eb_energy_ft_config c; /* first: the loss reads the params as its eb_energy_ft_config */
    int64_t aux_batch;
} energy_params;

static void energy_defaults(void *p) {
    energy_params *e = p;
    e->c = eb_energy_ft_default_config();
    e->c.m_in = e->c.m_out = (float)EB__MARGIN_AUTO;
    e->aux_batch = 256;
}

static void energy_use_code(void *p) {
    energy_params *e = p;
    e->c = eb_energy_ft_default_config();
}

eb_status eb__energy_margins_check(const eb_energy_ft_config *c, eb_error *err) {
    const float in = c->m_in, out = c->m_out;
    const bool in_sym = in == (float)MARGIN_AUTO || in == (float)MARGIN_GRID,
               out_sym = out == (float)MARGIN_AUTO || out == (float)MARGIN_GRID;
    if (in_sym != out_sym || (in_sym && in != out))
        return eb_error_set(err, EB_ERR_ARG,
                            "energy-ft: give both --m-in and --m-out as numbers, both auto (the default) or "
                            "both grid");
    if (in_sym) {
        eb_energy_ft_config only_lambda = *c;
        only_lambda.m_in = -1.0f, only_lambda.m_out = 0.0f;
        return eb_energy_ft_config_check(&only_lambda, err);
    }
    return eb_energy_ft_config_check(c, err);
}

static eb_status energy_check(const void *p, eb_error *err) {
    return eb__energy_margins_check(&((const energy_params *)p)->c, err);
}

const eb_param_symbol eb__margin_symbols[] = {{"auto", MARGIN_AUTO}, {"grid", MARGIN_GRID}, {NULL, 0}};

static const eb_param_desc energy_rows[] = {
    EB__ENERGY_ROWS(energy_params, c),
    EB__AUX_BATCH_ROW(energy_params, aux_batch),
};

eb_status eb__energy_margins_setup(const char *who, eb_energy_ft_config *c, eb_model *model,
                                   const eb_image_set *id, const eb_image_set *aux,
                                   const eb_image_transforms *norm, eb_error *err) {
    if (c->m_in == (float)MARGIN_GRID)
        return eb_error_set(err, EB_ERR_ARG,
                            "%s: --m-in/--m-out grid are chosen by ebood train's margin search "
                            "(--margin-grid) before the run",
                            who);
    if (c->m_in != (float)MARGIN_AUTO) return EB_OK;
    const int64_t n_id = id->n < MARGIN_ROWS ? id->n : MARGIN_ROWS,
                  n_aux = aux->n < MARGIN_ROWS ? aux->n : MARGIN_ROWS;
    int64_t *rows = malloc((size_t)(n_id > n_aux ? n_id : n_aux) * sizeof *rows);
    if (!rows) return eb_error_set(err, EB_ERR_NOMEM, "%s: out of memory", who);
    for (int64_t i = 0; i < (n_id > n_aux ? n_id : n_aux); i++) rows[i] = i;
    double e_id = 0.0, e_aux = 0.0;
    eb_status st = eb_mean_energy(model, id, rows, n_id, norm, &e_id, err);
    if (!st) st = eb_mean_energy(model, aux, rows, n_aux, norm, &e_aux, err);
    free(rows);
    if (!st && !(e_aux > e_id))
        st =
            eb_error_set(err, EB_ERR_ARG,
                         "%s: --m-in/--m-out auto: the model's mean AUX energy %.4g is not above its mean ID "
                         "energy %.4g (start from a trained classifier with --init, or give the margins)",
                         who, e_aux, e_id);
    if (!st) {
        c->m_in = (float)e_id;
        c->m_out = (float)e_aux;
    }
    return st;
}

static eb_status energy_aux_setup(void *ctx, eb_model *model, const eb_image_set *id, const eb_image_set *aux,
                                  const eb_image_transforms *norm, int64_t batches_per_epoch,
                                  eb_aux_params *ap, eb_error *err) {
    (void)batches_per_epoch;
    energy_params *e = ctx;
    ap->batch_size = e->aux_batch;
    ap->order = EB_AUX_OFFSET;
    return eb__energy_margins_setup("energy-ft", &e->c, model, id, aux, norm, err);
}

static void energy_summary(const void *ctx, void *cjson_object) {
    const energy_params *e = ctx;
    cJSON_AddNumberToObject(cjson_object, "m_in", (double)e->c.m_in);
    cJSON_AddNumberToObject(cjson_object, "m_out", (double)e->c.m_out);
}

const eb__objective_method eb__objective_energy_ft = {
    .name = "energy-ft",
    .help = "energy-bounded fine-tuning: CE + 0.1 x squared hinges on E(ID) and E(outliers) (003 Sec. 3.2)",
    .params_size = sizeof(energy_params),
    .params = energy_rows,
    .n_params = (int)(sizeof energy_rows / sizeof energy_rows[0]),
    .defaults = energy_defaults,
    .use_code = energy_use_code,
    .check = energy_check,
    .fn = eb_objective_energy_ft,
    .summary = energy_summary,
    .aux_setup = energy_aux_setup,
};
