/* Energy-bounded fine-tuning (003_77034dadf9bef685.txt §3.2, Eq. 7–9; specs §1):
 *   L = CE(f(x_id), y) + λ · [ mean_in relu(E(x_in) − m_in)² + mean_out relu(m_out − E(x_out))² ],
 *   E(x) = −lse_k f_k(x) (T = 1),   λ = 0.1.
 * Each squared hinge is averaged over its own rows and the two summed. Sign convention: E is negative for
 * confident inputs; the in-term pushes ID energies below m_in, the out-term outlier energies above m_out
 * (m_in < m_out; the code's CIFAR-10 values −23 / −5 — the paper's text swaps the two ranges). One
 * forward pass over [x_id; x_out]. eb_mean_energy gives the means --margins auto starts from. */
#include "ood/objectives/outliers_impl.h"

#include <math.h>
#include <stdlib.h>

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

eb_status eb_mean_energy(eb_model *m, const eb_image_set *set, const int64_t *rows, int64_t n,
                         const eb_image_transforms *t, double *mean, eb_error *err) {
    if (n < 1) return eb_error_set(err, EB_ERR_ARG, "mean energy: no rows");
    if (eb_image_set_image_size(set) != eb_model_in_dim(m))
        return eb_error_set(err, EB_ERR_SHAPE,
                            "mean energy: the data has %lld values per row, the model expects %lld",
                            (long long)eb_image_set_image_size(set), (long long)eb_model_in_dim(m));
    const int64_t c = eb_model_out_dim(m);
    float *logits = malloc((size_t)(n * c) * sizeof *logits);
    if (!logits) return eb_error_set(err, EB_ERR_NOMEM, "mean energy: out of memory");
    eb_status st = eb__predict_set_rows(m, set, rows, n, t, logits, NULL, err);
    double sum = 0.0;
    for (int64_t i = 0; !st && i < n; i++) {
        const float *row = logits + i * c;
        double mx = row[0], s = 0.0;
        for (int64_t k = 1; k < c; k++) mx = fmax(mx, (double)row[k]);
        for (int64_t k = 0; k < c; k++) s += exp((double)row[k] - mx);
        const double e = -(mx + log(s));
        if (!isfinite(e))
            st = eb_error_set(err, EB_ERR_NUMERIC, "mean energy: row %lld has a non-finite energy",
                              (long long)rows[i]);
        sum += e;
    }
    free(logits);
    if (!st) *mean = sum / (double)n;
    return st;
}
