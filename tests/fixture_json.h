/* Reading the JSON reference fixtures of the tests (the op tests test_tensor_ops.c, test_conv_ops.c: a
 * document {"cases": [...]} whose cases hold numbers, flags, shapes and flat float arrays; test_metrics.c,
 * test_logit_scores.c). Header-only; every
 * helper fails the running Criterion test on a malformed fixture. */
#ifndef EBOOD_FIXTURE_JSON_H
#define EBOOD_FIXTURE_JSON_H

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ebood/tensor.h>
#include <stdlib.h>

#include "test_util.h"

/* The JSON document tests/fixtures/<name>. */
static inline cJSON *load_json(const char *name) {
    char path[4096];
    eb_fixture_path(path, sizeof path, name);
    char *text = NULL;
    size_t len = 0;
    eb_error err = {0};
    eb_status st = eb_file_read_all(path, &text, &len, &err);
    cr_assert_eq(st, EB_OK, "%s", err.message);
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    cr_assert_not_null(doc, "%s: not valid JSON", path);
    return doc;
}

/* The same for an op fixture: a document with a non-empty "cases" array. */
static inline cJSON *load_fixture_json(const char *name) {
    cJSON *doc = load_json(name);
    cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    cr_assert(cJSON_IsArray(cases) && cJSON_GetArraySize(cases) > 0, "%s: no \"cases\" array", name);
    return doc;
}

static inline const cJSON *item(const cJSON *c, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
    cr_assert_not_null(v, "fixture case %s: missing key \"%s\"",
                       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name")), key);
    return v;
}

static inline double num(const cJSON *c, const char *key) {
    const cJSON *v = item(c, key);
    cr_assert(cJSON_IsNumber(v), "fixture key \"%s\" is not a number", key);
    return v->valuedouble;
}

static inline bool flag(const cJSON *c, const char *key) {
    const cJSON *v = item(c, key);
    cr_assert(cJSON_IsBool(v), "fixture key \"%s\" is not a bool", key);
    return cJSON_IsTrue(v);
}

/* A JSON number array as malloc'd floats. Returns the count. */
static inline int64_t read_floats(const cJSON *arr, float **out) {
    cr_assert(cJSON_IsArray(arr), "fixture: expected a number array");
    int64_t n = cJSON_GetArraySize(arr);
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    cr_assert_not_null(v);
    int64_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) { v[i++] = (float)e->valuedouble; }
    *out = v;
    return n;
}

static inline int read_shape(const cJSON *arr, int64_t *shape) {
    cr_assert(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) <= EB_MAX_DIMS, "fixture: bad shape");
    int nd = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) { shape[nd++] = (int64_t)e->valuedouble; }
    return nd;
}

#endif
