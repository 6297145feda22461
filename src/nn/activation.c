/* Activation choice for model configs and the CLI. */
#include <ebood/nn.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    eb_activation act;
    float default_param;
} activations[] = {
    {"relu", EB_ACT_RELU, 0.0f},   {"leaky_relu", EB_ACT_LEAKY_RELU, 0.01f},
    {"elu", EB_ACT_ELU, 1.0f},     {"softplus", EB_ACT_SOFTPLUS, 1.0f},
    {"tanh", EB_ACT_TANH, 0.0f},   {"sigmoid", EB_ACT_SIGMOID, 0.0f},
    {"swish", EB_ACT_SWISH, 0.0f},
};
#define N_ACTIVATIONS (int)(sizeof activations / sizeof activations[0])

const char *eb_activation_name(eb_activation a) {
    for (int i = 0; i < N_ACTIVATIONS; i++)
        if (activations[i].act == a) return activations[i].name;
    return "?";
}

eb_status eb_activation_param_check(eb_activation a, float param, bool param_given, eb_error *err) {
    const char *name = eb_activation_name(a);
    if (!strcmp(name, "?")) return eb_error_set(err, EB_ERR_ARG, "unknown activation kind %d", (int)a);
    bool has_param = a == EB_ACT_LEAKY_RELU || a == EB_ACT_ELU || a == EB_ACT_SOFTPLUS;
    if (!has_param && param_given)
        return eb_error_set(err, EB_ERR_ARG, "activation %s takes no parameter", name);
    if (has_param && !isfinite(param))
        return eb_error_set(err, EB_ERR_ARG, "activation %s: parameter %g is not a finite float", name,
                            (double)param);
    if (a == EB_ACT_SOFTPLUS && !(param > 0.0f))
        return eb_error_set(err, EB_ERR_ARG, "activation softplus: beta must be > 0, got %g", (double)param);
    return EB_OK;
}

eb_status eb_activation_parse(const char *s, eb_activation *out, float *param, eb_error *err) {
    const char *colon = strchr(s, ':');
    size_t len = colon ? (size_t)(colon - s) : strlen(s);
    for (int i = 0; i < N_ACTIVATIONS; i++) {
        if (strlen(activations[i].name) != len || strncmp(s, activations[i].name, len) != 0) continue;
        float value = activations[i].default_param;
        if (colon) {
            char *end;
            errno = 0;
            double v = strtod(colon + 1, &end);
            if (errno || *end || end == colon + 1)
                return eb_error_set(err, EB_ERR_ARG, "activation '%s': bad parameter after ':'", s);
            value = (float)v;
        }
        eb_error why = {0};
        if (eb_activation_param_check(activations[i].act, value, colon != NULL, &why))
            return eb_error_set(err, why.status, "activation '%s': %s", s, why.message);
        *out = activations[i].act;
        *param = value;
        return EB_OK;
    }
    return eb_error_set(
        err, EB_ERR_ARG,
        "unknown activation '%s' (relu, leaky_relu[:slope], elu[:alpha], softplus[:beta], tanh, "
        "sigmoid, swish)",
        s);
}

eb_tensor *eb_activation_apply(eb_graph *g, eb_tensor *x, eb_activation a, float param) {
    switch (a) {
    case EB_ACT_RELU: return eb_relu(g, x);
    case EB_ACT_LEAKY_RELU: return eb_leaky_relu(g, x, param);
    case EB_ACT_ELU: return eb_elu(g, x, param);
    case EB_ACT_SOFTPLUS: return eb_softplus(g, x, param);
    case EB_ACT_TANH: return eb_tanh(g, x);
    case EB_ACT_SIGMOID: return eb_sigmoid(g, x);
    case EB_ACT_SWISH: return eb_swish(g, x);
    }
    eb_graph_fail(g, EB_ERR_ARG, "activation: unknown kind %d", (int)a);
    return eb_relu(g, x);
}
