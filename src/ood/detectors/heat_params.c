/* The hyperparameters of HEAT's detectors (include/ebood/ood.h, eb_heat_params): defaults, checks,
 * canonical form, and the "heat" object of a detector file's ebood.params.
 *
 * Which fields each kind reads:
 *   gmm            ridge, normalize
 *   heat           prior, width, depth, tied, relu, seed, ridge (prior gmm), normalize (prior gmm, none),
 *                  the block of its prior
 *   heat_combined  width, depth, tied, relu, seed, ridge, normalize, stats_batch, std_block, the gmm and el
 *                  blocks and (std_block) the gmm_std block
 * JSON: {"prior": "gmm", "width": 1024, …, "gmm": {"steps": 40, …}} with the blocks as nested objects
 * and the decay kind as its name. */
#include "ood/detector_impl.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <ebood/ebm.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define MAX_SEED 9007199254740992.0 /* 2^53: seeds round-trip through JSON numbers */
#define FINITE   ((double)FLT_MAX)  /* "no upper bound": any finite float */

static const char *const prior_names[] = {"gmm", "el", "none"};
/* the blocks of eb_heat_params: one per prior, then heat_combined's std block */
enum { N_BLOCKS = 4, BLOCK_GMM_STD = 3 };
static const char *const block_names[N_BLOCKS] = {"gmm", "el", "none", "gmm_std"};

const char *eb_heat_prior_name(eb_heat_prior prior) {
    return (unsigned)prior < 3 ? prior_names[prior] : "unknown";
}

eb_status eb_heat_prior_parse(const char *name, eb_heat_prior *out, eb_error *err) {
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, prior_names[i]) == 0) {
            *out = (eb_heat_prior)i;
            return EB_OK;
        }
    return eb_error_set(err, EB_ERR_ARG, "prior '%s': unknown (expected gmm, el or none)",
                        name ? name : "(null)");
}

/* specs §5 table (CIFAR-10 rows of the released scripts) for gmm and el; 001_… appendix A.5.1 "EBM
 * training" for none (the paper's only description of the prior-free EBM). */
eb_heat_params eb_heat_code_params(void) {
    eb_heat_params p;
    memset(&p, 0, sizeof p);
    p.prior = EB_HEAT_PRIOR_GMM;
    p.width = 1024;
    p.depth = 4;
    p.tied = false;
    p.relu = true;
    p.stats_batch = false;
    p.seed = 0;
    p.ridge = 1e-12f;
    p.normalize = true;
    p.std_block = true;
    p.gmm = (eb_heat_ebm){.temperature = 1.0f,
                          .prior_temperature = 1e3f,
                          .steps = 40,
                          .step_size = 1e-4f,
                          .noise = 5e-3f,
                          .decay_end = 0.1f,
                          .decay = EB_DECAY_QUADRATIC,
                          .l2 = 10.0f,
                          .lr = 1e-5f,
                          .epochs = 20,
                          .batch_size = 1024,
                          .input_noise = 1e-4f};
    p.el = (eb_heat_ebm){.temperature = 1.0f,
                         .prior_temperature = 1.0f,
                         .steps = 50,
                         .step_size = 0.1f,
                         .noise = 0.1f,
                         .decay_end = 0.1f,
                         .decay = EB_DECAY_QUADRATIC,
                         .l2 = 0.1f,
                         .lr = 1e-5f,
                         .epochs = 20,
                         .batch_size = 256,
                         .input_noise = 1e-4f};
    p.none = (eb_heat_ebm){.temperature = 1e-2f,
                           .prior_temperature = 1.0f,
                           .steps = 200,
                           .step_size = 1e-2f,
                           .noise = 1e-2f,
                           .decay_end = 0.1f,
                           .decay = EB_DECAY_LINEAR,
                           .l2 = 0.1f,
                           .lr = 5e-5f,
                           .epochs = 20,
                           .batch_size = 1024,
                           .input_noise = 1e-3f};
    /* the code's CIFAR-10 GMM-std run: the gmm row with K = 1 (scripts; specs §5) */
    p.gmm_std = p.gmm;
    p.gmm_std.steps = 1;
    return p;
}

/* The paper's HEAT-GMM training (001_8dfeaa911d9afebd.txt App. A.5.1 "HEAT training"): 20 SGLD steps,
 * η 1e-6 → 1e-7 and σ 1e-3 → 1e-4 decayed LINEARLY, input noise 1e-3, λ 10, T_G 1e3, Adam lr 5e-6,
 * 20 epochs. The paper gives no batch size: the code's 1024. The el prior and the gmm_std block are not in
 * the paper (code's). */
eb_heat_params eb_heat_default_params(void) {
    eb_heat_params p = eb_heat_code_params();
    p.gmm.steps = 20;
    p.gmm.step_size = 1e-6f;
    p.gmm.noise = 1e-3f;
    p.gmm.decay = EB_DECAY_LINEAR;
    p.gmm.lr = 5e-6f;
    p.gmm.input_noise = 1e-3f;
    return p;
}

/* ---- field tables ---------------------------------------------------------------------------- */

typedef enum { F_FLOAT, F_INT, F_BOOL, F_DECAY, F_SEED, F_PRIOR } field_type;
typedef struct field {
    const char *key;
    field_type type;
    size_t offset;
    double lo, hi; /* allowed range (floats also finite) */
    bool lo_open;  /* value must be > lo */
} field;

static const field block_fields[] = {
    {"temperature", F_FLOAT, offsetof(eb_heat_ebm, temperature), 0, FINITE, true},
    {"prior_temperature", F_FLOAT, offsetof(eb_heat_ebm, prior_temperature), 0, FINITE, true},
    {"steps", F_INT, offsetof(eb_heat_ebm, steps), 0, 1e7, false},
    {"step_size", F_FLOAT, offsetof(eb_heat_ebm, step_size), 0, FINITE, false},
    {"noise", F_FLOAT, offsetof(eb_heat_ebm, noise), 0, FINITE, false},
    {"decay_end", F_FLOAT, offsetof(eb_heat_ebm, decay_end), 0, 1, false},
    {"decay", F_DECAY, offsetof(eb_heat_ebm, decay), 0, 2, false},
    {"l2", F_FLOAT, offsetof(eb_heat_ebm, l2), 0, FINITE, false},
    {"lr", F_FLOAT, offsetof(eb_heat_ebm, lr), 0, FINITE, true},
    {"epochs", F_INT, offsetof(eb_heat_ebm, epochs), 1, 1e7, false},
    {"batch_size", F_INT, offsetof(eb_heat_ebm, batch_size), 1, 1e9, false},
    {"input_noise", F_FLOAT, offsetof(eb_heat_ebm, input_noise), 0, FINITE, false},
};
#define N_BLOCK ((int)(sizeof block_fields / sizeof block_fields[0]))

enum { U_PRIOR = 1, U_ARCH = 2, U_RIDGE = 4, U_STATS = 8, U_NORM = 16, U_STD = 32 };
static const struct {
    field f;
    unsigned group;
} top_fields[] = {
    {{"prior", F_PRIOR, offsetof(eb_heat_params, prior), 0, 2, false}, U_PRIOR},
    {{"width", F_INT, offsetof(eb_heat_params, width), 1, 65536, false}, U_ARCH},
    {{"depth", F_INT, offsetof(eb_heat_params, depth), 0, 14, false}, U_ARCH},
    {{"tied", F_BOOL, offsetof(eb_heat_params, tied), 0, 1, false}, U_ARCH},
    {{"relu", F_BOOL, offsetof(eb_heat_params, relu), 0, 1, false}, U_ARCH},
    {{"seed", F_SEED, offsetof(eb_heat_params, seed), 0, MAX_SEED, false}, U_ARCH},
    {{"ridge", F_FLOAT, offsetof(eb_heat_params, ridge), 0, FINITE, false}, U_RIDGE},
    {{"stats_batch", F_BOOL, offsetof(eb_heat_params, stats_batch), 0, 1, false}, U_STATS},
    {{"normalize", F_BOOL, offsetof(eb_heat_params, normalize), 0, 1, false}, U_NORM},
    {{"std_block", F_BOOL, offsetof(eb_heat_params, std_block), 0, 1, false}, U_STD},
};
#define N_TOP ((int)(sizeof top_fields / sizeof top_fields[0]))

/* What `kind` reads: field groups and blocks (bit i = block of prior i). */
static unsigned groups_used(eb_detector_kind kind, const eb_heat_params *p) {
    if (kind == EB_DETECTOR_GMM) return U_RIDGE | U_NORM;
    if (kind == EB_DETECTOR_HEAT)
        return U_PRIOR | U_ARCH | (p->prior == EB_HEAT_PRIOR_GMM ? U_RIDGE : 0u) |
               (p->prior != EB_HEAT_PRIOR_EL ? U_NORM : 0u);
    if (kind == EB_DETECTOR_HEAT_COMBINED) return U_ARCH | U_RIDGE | U_STATS | U_NORM | U_STD;
    return 0;
}
static unsigned blocks_used(eb_detector_kind kind, const eb_heat_params *p) {
    if (kind == EB_DETECTOR_HEAT && (unsigned)p->prior < 3) return 1u << p->prior;
    if (kind == EB_DETECTOR_HEAT_COMBINED)
        return (1u << EB_HEAT_PRIOR_GMM) | (1u << EB_HEAT_PRIOR_EL) |
               (p->std_block ? 1u << BLOCK_GMM_STD : 0u);
    return 0;
}
static eb_heat_ebm *block_at(eb_heat_params *p, int b) {
    return b == EB_HEAT_PRIOR_GMM  ? &p->gmm
           : b == EB_HEAT_PRIOR_EL ? &p->el
           : b == BLOCK_GMM_STD    ? &p->gmm_std
                                   : &p->none;
}
static const eb_heat_ebm *block_at_c(const eb_heat_params *p, int prior) {
    return block_at((eb_heat_params *)p, prior);
}

static double field_get(const void *base, const field *f) {
    const char *b = (const char *)base + f->offset;
    switch (f->type) {
    case F_FLOAT: return (double)*(const float *)b;
    case F_INT: return (double)*(const int64_t *)b;
    case F_BOOL: return *(const bool *)b ? 1.0 : 0.0;
    case F_SEED: return (double)*(const uint64_t *)b;
    default: return (double)*(const int *)b; /* decay, prior: enums stored as int */
    }
}

static void field_set(void *base, const field *f, double v) {
    char *b = (char *)base + f->offset;
    switch (f->type) {
    case F_FLOAT: *(float *)b = (float)v; break;
    case F_INT: *(int64_t *)b = (int64_t)v; break;
    case F_BOOL: *(bool *)b = v != 0.0; break;
    case F_SEED: *(uint64_t *)b = (uint64_t)v; break;
    default: *(int *)b = (int)v; break;
    }
}

static eb_status field_check(const void *base, const field *f, const char *where, eb_error *err) {
    const double v = field_get(base, f);
    bool ok = isfinite(v) && (f->lo_open ? v > f->lo : v >= f->lo) && v <= f->hi;
    if (f->type == F_FLOAT && f->hi >= FINITE) ok = ok && isfinite(v);
    if (ok) return EB_OK;
    if (f->type == F_INT || f->type == F_SEED || f->type == F_DECAY || f->type == F_PRIOR)
        return eb_error_set(err, EB_ERR_ARG, "%s%s: must be an integer in [%.0f, %.0f] (got %.17g)", where,
                            f->key, f->lo, f->hi, v);
    if (f->hi >= FINITE)
        return eb_error_set(err, EB_ERR_ARG, "%s%s: must be a finite number %s %g (got %g)", where, f->key,
                            f->lo_open ? ">" : ">=", f->lo, v);
    return eb_error_set(err, EB_ERR_ARG, "%s%s: must be in [%g, %g] (got %g)", where, f->key, f->lo, f->hi,
                        v);
}

static eb_status check_heat(eb_detector_kind kind, const eb_heat_params *p, eb_error *err) {
    const unsigned groups = groups_used(kind, p);
    eb_status st;
    for (int i = 0; i < N_TOP; i++)
        if ((groups & top_fields[i].group) && (st = field_check(p, &top_fields[i].f, "heat.", err)))
            return st;
    const unsigned blocks = blocks_used(kind, p);
    for (int b = 0; b < N_BLOCKS; b++) {
        if (!(blocks & (1u << b))) continue;
        char where[32];
        snprintf(where, sizeof where, "heat.%s.", block_names[b]);
        for (int i = 0; i < N_BLOCK; i++) {
            if (b == EB_HEAT_PRIOR_NONE && strcmp(block_fields[i].key, "prior_temperature") == 0) continue;
            if ((st = field_check(block_at_c(p, b), &block_fields[i], where, err))) return st;
        }
    }
    return EB_OK;
}

static void canonical_heat(eb_detector_kind kind, eb_heat_params *p) {
    const eb_heat_params def = eb_heat_default_params();
    const unsigned groups = groups_used(kind, p), blocks = blocks_used(kind, p);
    for (int i = 0; i < N_TOP; i++)
        if (!(groups & top_fields[i].group))
            field_set(p, &top_fields[i].f, field_get(&def, &top_fields[i].f));
    for (int b = 0; b < N_BLOCKS; b++) {
        if (!(blocks & (1u << b)))
            *block_at(p, b) = *block_at_c(&def, b);
        else if (b == EB_HEAT_PRIOR_NONE)
            p->none.prior_temperature = def.none.prior_temperature;
    }
}

static bool add_field(cJSON *o, const void *base, const field *f) {
    const double v = field_get(base, f);
    if (f->type == F_BOOL) return cJSON_AddBoolToObject(o, f->key, v != 0.0) != NULL;
    if (f->type == F_DECAY)
        return cJSON_AddStringToObject(o, f->key, eb_decay_kind_name((eb_decay_kind)v)) != NULL;
    if (f->type == F_PRIOR)
        return cJSON_AddStringToObject(o, f->key, eb_heat_prior_name((eb_heat_prior)v)) != NULL;
    return cJSON_AddNumberToObject(o, f->key, v) != NULL;
}

static bool heat_to_json(eb_detector_kind kind, const eb_heat_params *p, void *cjson_object) {
    cJSON *h = cJSON_AddObjectToObject(cjson_object, "heat");
    if (!h) return false;
    const unsigned groups = groups_used(kind, p), blocks = blocks_used(kind, p);
    for (int i = 0; i < N_TOP; i++)
        if ((groups & top_fields[i].group) && !add_field(h, p, &top_fields[i].f)) return false;
    for (int b = 0; b < N_BLOCKS; b++) {
        if (!(blocks & (1u << b))) continue;
        cJSON *o = cJSON_AddObjectToObject(h, block_names[b]);
        if (!o) return false;
        for (int i = 0; i < N_BLOCK; i++) {
            if (b == EB_HEAT_PRIOR_NONE && strcmp(block_fields[i].key, "prior_temperature") == 0) continue;
            if (!add_field(o, block_at_c(p, b), &block_fields[i])) return false;
        }
    }
    return true;
}

/* One JSON value into a field (type-checked; the range is checked later by eb__heat_params_check). */
static eb_status read_field(const cJSON *item, void *base, const field *f, const char *where, eb_error *err) {
    double v;
    if (f->type == F_BOOL) {
        if (!cJSON_IsBool(item))
            return eb_error_set(err, EB_ERR_FORMAT, "%s%s: expected true or false", where, f->key);
        v = cJSON_IsTrue(item) ? 1.0 : 0.0;
    } else if (f->type == F_DECAY || f->type == F_PRIOR) {
        if (!cJSON_IsString(item))
            return eb_error_set(err, EB_ERR_FORMAT, "%s%s: expected a name", where, f->key);
        int k = 0;
        if (f->type == F_DECAY) {
            eb_decay_kind dk;
            if (eb_decay_kind_parse(item->valuestring, &dk, err)) return EB_ERR_FORMAT;
            k = (int)dk;
        } else {
            eb_heat_prior pr;
            if (eb_heat_prior_parse(item->valuestring, &pr, err)) return EB_ERR_FORMAT;
            k = (int)pr;
        }
        v = k;
    } else {
        v = item->valuedouble;
        bool integral = f->type == F_INT || f->type == F_SEED;
        if (!cJSON_IsNumber(item) || !isfinite(v) || (integral && (v != floor(v) || v < f->lo || v > f->hi)))
            return eb_error_set(err, EB_ERR_FORMAT, "%s%s: bad value", where, f->key);
    }
    field_set(base, f, v);
    return EB_OK;
}

static eb_status heat_from_json(eb_detector_kind kind, const void *cjson_object, eb_heat_params *p,
                                eb_error *err) {
    const cJSON *h = cjson_object;
    if (!cJSON_IsObject(h)) return eb_error_set(err, EB_ERR_FORMAT, "not a JSON object");
    *p = eb_heat_default_params();
    /* the prior and std_block first: they decide which other keys belong. A heat_combined file without
     * std_block predates it and combined two blocks. */
    const cJSON *prior = cJSON_GetObjectItemCaseSensitive(h, "prior");
    const cJSON *std_block = cJSON_GetObjectItemCaseSensitive(h, "std_block");
    eb_status st;
    if (prior && (st = read_field(prior, p, &top_fields[0].f, "", err))) return st;
    if (kind == EB_DETECTOR_HEAT_COMBINED && !std_block) p->std_block = false;
    if (std_block && (st = read_field(std_block, p, &top_fields[N_TOP - 1].f, "", err))) return st;
    const unsigned groups = groups_used(kind, p), blocks = blocks_used(kind, p);
    const cJSON *item;
    cJSON_ArrayForEach(item, h) {
        int i = 0;
        while (i < N_TOP && strcmp(top_fields[i].f.key, item->string) != 0) i++;
        if (i < N_TOP && (groups & top_fields[i].group)) {
            if ((st = read_field(item, p, &top_fields[i].f, "", err))) return st;
            continue;
        }
        int b = 0;
        while (b < N_BLOCKS && strcmp(block_names[b], item->string) != 0) b++;
        if (b == N_BLOCKS || !(blocks & (1u << b)) || !cJSON_IsObject(item))
            return eb_error_set(err, EB_ERR_FORMAT, "unknown key '%s' for %s", item->string,
                                eb_detector_kind_name(kind));
        char where[32];
        snprintf(where, sizeof where, "%s.", block_names[b]);
        const cJSON *bi;
        cJSON_ArrayForEach(bi, item) {
            int k = 0;
            while (k < N_BLOCK && strcmp(block_fields[k].key, bi->string) != 0) k++;
            if (k == N_BLOCK || (b == EB_HEAT_PRIOR_NONE && strcmp(bi->string, "prior_temperature") == 0))
                return eb_error_set(err, EB_ERR_FORMAT, "%s: unknown key '%s'", block_names[b], bi->string);
            if ((st = read_field(bi, block_at(p, b), &block_fields[k], where, err))) return st;
        }
    }
    return check_heat(kind, p, err) ? EB_ERR_FORMAT : EB_OK;
}

/* ---- the detector vtable's parameter hooks (EB__HEAT_PARAM_HOOKS) ------------------------------------- */
eb_status eb__heat_params_check(eb_detector_kind kind, const eb_detector_params *p, eb_error *err) {
    return check_heat(kind, &p->heat, err);
}

void eb__heat_params_canonical(eb_detector_kind kind, const eb_detector_params *given,
                               eb_detector_params *out) {
    out->heat = given->heat;
    canonical_heat(kind, &out->heat);
}

bool eb__heat_params_to_json(eb_detector_kind kind, const eb_detector_params *p, void *cjson_object) {
    return heat_to_json(kind, &p->heat, cjson_object);
}

eb_status eb__heat_params_from_json(eb_detector_kind kind, const void *cjson_object, eb_detector_params *p,
                                    eb_error *err) {
    return heat_from_json(kind, cjson_object, &p->heat, err);
}

void eb__heat_params_defaults(eb_detector_params *p) { p->heat = eb_heat_default_params(); }

/* ---- flags (ood.h's eb_detector_flag; the command line's --prior, --ebm-*, --sgld-*, …) ------------------
 * --prior (heat), --ridge and --no-normalize (gmm, heat, heat_combined); the others set the residual EBM of
 * heat's prior, or the EBMs of heat_combined's blocks (defaults: each prior's, see eb_heat_params). */
enum { K_GMM = 1, K_HEAT = 2, K_COMBINED = 4, K_EBM = K_HEAT | K_COMBINED };
#define BOOL_FLAG(name, help)                                                                                \
    { name, EB_DETECTOR_FLAG_BOOL, 0, 0, NULL, help }
#define INT_FLAG(name, lo, hi, metavar, help)                                                                \
    { name, EB_DETECTOR_FLAG_INT, lo, hi, metavar, help }
#define FLOAT_FLAG(name, lo, hi, metavar, help)                                                              \
    { name, EB_DETECTOR_FLAG_FLOAT, lo, hi, metavar, help }
#define NAME_FLAG(name, metavar, help)                                                                       \
    { name, EB_DETECTOR_FLAG_NAME, 0, 0, metavar, help }
const eb_detector_flag eb__heat_flags[] = {
    NAME_FLAG("prior", "NAME", "heat: gmm, el or none (gmm)"),
    NAME_FLAG("heat-preset", "NAME",
              "heat: the EBM defaults of the paper (App. A.5.1) or the released code (paper)"),
    FLOAT_FLAG("ridge", 0, 1e6, "R", "gmm, heat, heat_combined: ridge added to the GMM covariance (1e-12)"),
    INT_FLAG("ebm-width", 1, 65536, "W", "heat: hidden width of E_theta (1024)"),
    INT_FLAG("ebm-depth", 0, 14, "D", "heat: hidden WxW layers of E_theta (4)"),
    BOOL_FLAG("ebm-tied", "heat: the hidden layers share one weight (the released code)"),
    BOOL_FLAG("ebm-no-relu", "heat: no ReLU projection of SGLD samples (for features that can be negative)"),
    INT_FLAG("ebm-seed", 0, 9007199254740991.0, "N", "heat: random seed (0)"),
    INT_FLAG("ebm-epochs", 1, 1e7, "N", "heat: training epochs (20)"),
    INT_FLAG("ebm-batch-size", 1, 1e9, "B", "heat: batch size (gmm 1024, el 256, none 1024)"),
    FLOAT_FLAG("ebm-lr", 1e-12, 1e3, "LR", "heat: Adam learning rate (gmm 5e-6, el 1e-5, none 5e-5)"),
    FLOAT_FLAG("ebm-l2", 0, 1e12, "L", "heat: L2 weight on E_theta (gmm 10, el 0.1, none 0.1)"),
    FLOAT_FLAG("ebm-temperature", 1e-30, 1e30, "T", "heat: temperature of E_theta (1; none 0.01)"),
    FLOAT_FLAG("prior-temperature", 1e-30, 1e30, "T",
               "heat: temperature of the prior energy (gmm 1000, el 1)"),
    FLOAT_FLAG("ebm-input-noise", 0, 1e6, "S",
               "heat: std of the noise added to real and sampled features (gmm 1e-3, el 1e-4, none 1e-3)"),
    INT_FLAG("sgld-steps", 0, 1e7, "K", "heat: SGLD steps (gmm 20, el 50, none 200)"),
    FLOAT_FLAG("sgld-step-size", 0, 1e30, "ETA",
               "heat: initial SGLD step size (gmm 1e-6, el 0.1, none 0.01)"),
    FLOAT_FLAG("sgld-noise", 0, 1e30, "SIGMA", "heat: initial SGLD noise (gmm 1e-3, el 0.1, none 0.01)"),
    NAME_FLAG("sgld-decay", "KIND",
              "heat: constant, linear or quadratic decay of step size and noise (linear; el quadratic)"),
    FLOAT_FLAG("sgld-decay-end", 0, 1, "F", "heat: step size and noise decay to F times their start (0.1)"),
    BOOL_FLAG(
        "stats-batch",
        "heat_combined: standardise with one random batch of 256 (the code) instead of all training data"),
    BOOL_FLAG("no-normalize", "gmm, heat, heat_combined: GMM / prior-free blocks on the raw features, not "
                              "L2-normalised (2-D toys)"),
    BOOL_FLAG(
        "no-std-block",
        "heat_combined: leave out the GMM-std block (combine gmm and el only; needed for non-image models)"),
};
#undef BOOL_FLAG
#undef INT_FLAG
#undef FLOAT_FLAG
#undef NAME_FLAG
_Static_assert(sizeof eb__heat_flags / sizeof eb__heat_flags[0] == EB__HEAT_N_FLAGS, "EB__HEAT_N_FLAGS");
/* The kinds that read each row of eb__heat_flags. */
static const unsigned flag_kinds[EB__HEAT_N_FLAGS] = {
    K_HEAT, K_EBM, K_GMM | K_EBM, K_EBM, K_EBM,      K_EBM,         K_EBM,     K_EBM,
    K_EBM,  K_EBM, K_EBM,         K_EBM, K_EBM,      K_EBM,         K_EBM,     K_EBM,
    K_EBM,  K_EBM, K_EBM,         K_EBM, K_COMBINED, K_GMM | K_EBM, K_COMBINED};

static unsigned kind_bit(eb_detector_kind k) {
    return k == EB_DETECTOR_GMM             ? K_GMM
           : k == EB_DETECTOR_HEAT          ? K_HEAT
           : k == EB_DETECTOR_HEAT_COMBINED ? K_COMBINED
                                            : 0;
}

bool eb__heat_reads_flag(eb_detector_kind kind, int row) {
    return row >= 0 && row < EB__HEAT_N_FLAGS && (flag_kinds[row] & kind_bit(kind)) != 0;
}

/* The value given for flag, or NULL. */
static const eb_detector_flag_value *given_value(const eb_detector_flag_value *given, int n,
                                                 const char *flag) {
    for (int i = 0; i < n; i++)
        if (strcmp(given[i].flag, flag) == 0) return &given[i];
    return NULL;
}

/* --prior, --heat-preset, and the flags every kind's top level reads. */
static eb_status apply_top(eb_detector_kind kind, const eb_detector_flag_value *given, int n,
                           eb_heat_params *p, eb_error *err) {
    const eb_detector_flag_value *v;
    if (kind == EB_DETECTOR_HEAT && (v = given_value(given, n, "prior")) &&
        eb_heat_prior_parse(v->name, &p->prior, err)) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        return eb_error_set(err, EB_ERR_ARG, "--prior: %s", msg);
    }
    if (kind != EB_DETECTOR_GMM && (v = given_value(given, n, "heat-preset"))) {
        if (strcmp(v->name, "paper") && strcmp(v->name, "code"))
            return eb_error_set(err, EB_ERR_ARG, "--heat-preset: unknown preset '%s' (paper or code)",
                                v->name);
        const eb_heat_params base =
            !strcmp(v->name, "code") ? eb_heat_code_params() : eb_heat_default_params();
        p->gmm = base.gmm;
        p->el = base.el;
        p->none = base.none;
        p->gmm_std = base.gmm_std;
    }
    if ((v = given_value(given, n, "ridge"))) p->ridge = (float)v->f;
    if ((v = given_value(given, n, "no-normalize"))) p->normalize = !v->b;
    if (kind == EB_DETECTOR_GMM) return EB_OK;
    if ((v = given_value(given, n, "ebm-width"))) p->width = v->i;
    if ((v = given_value(given, n, "ebm-depth"))) p->depth = v->i;
    if ((v = given_value(given, n, "ebm-tied"))) p->tied = v->b;
    if ((v = given_value(given, n, "ebm-no-relu"))) p->relu = !v->b;
    if ((v = given_value(given, n, "ebm-seed"))) p->seed = (uint64_t)v->i;
    if ((v = given_value(given, n, "stats-batch"))) p->stats_batch = v->b;
    if ((v = given_value(given, n, "no-std-block"))) p->std_block = !v->b;
    return EB_OK;
}

/* The block flags into one residual EBM. */
static void apply_block(const eb_detector_flag_value *given, int n, eb_decay_kind decay, eb_heat_ebm *e) {
    const eb_detector_flag_value *v;
    if ((v = given_value(given, n, "ebm-epochs"))) e->epochs = v->i;
    if ((v = given_value(given, n, "ebm-batch-size"))) e->batch_size = v->i;
    if ((v = given_value(given, n, "ebm-lr"))) e->lr = (float)v->f;
    if ((v = given_value(given, n, "ebm-l2"))) e->l2 = (float)v->f;
    if ((v = given_value(given, n, "ebm-temperature"))) e->temperature = (float)v->f;
    if ((v = given_value(given, n, "prior-temperature"))) e->prior_temperature = (float)v->f;
    if ((v = given_value(given, n, "ebm-input-noise"))) e->input_noise = (float)v->f;
    if ((v = given_value(given, n, "sgld-steps"))) e->steps = v->i;
    if ((v = given_value(given, n, "sgld-step-size"))) e->step_size = (float)v->f;
    if ((v = given_value(given, n, "sgld-noise"))) e->noise = (float)v->f;
    if (given_value(given, n, "sgld-decay")) e->decay = (int)decay;
    if ((v = given_value(given, n, "sgld-decay-end"))) e->decay_end = (float)v->f;
}

eb_status eb__heat_apply_flags(eb_detector_kind kind, const eb_detector_flag_value *given, int n_given,
                               eb_detector_params *dp, eb_error *err) {
    eb_heat_params *p = &dp->heat;
    eb_status st = apply_top(kind, given, n_given, p, err);
    if (st || kind == EB_DETECTOR_GMM) return st;
    const eb_detector_flag_value *v = given_value(given, n_given, "sgld-decay");
    eb_decay_kind decay = EB_DECAY_QUADRATIC;
    if (v && eb_decay_kind_parse(v->name, &decay, err)) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        return eb_error_set(err, EB_ERR_ARG, "--sgld-decay: %s", msg);
    }
    /* the block(s) of the EBM(s) this kind trains */
    eb_heat_ebm *blocks[3] = {NULL, NULL, NULL};
    if (kind == EB_DETECTOR_HEAT_COMBINED) {
        blocks[0] = &p->gmm;
        blocks[1] = &p->el;
        blocks[2] = p->std_block ? &p->gmm_std : NULL;
    } else {
        blocks[0] = p->prior == EB_HEAT_PRIOR_GMM  ? &p->gmm
                    : p->prior == EB_HEAT_PRIOR_EL ? &p->el
                                                   : &p->none;
    }
    for (int b = 0; b < 3 && blocks[b]; b++) apply_block(given, n_given, decay, blocks[b]);
    return EB_OK;
}
