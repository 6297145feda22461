/* ARFF reader: syntax (comments, case, quoting, nominal lists), conversion to a dataset, the real
 * Segment files, and bad input (each error names the file and the line). */
#include <criterion/criterion.h>
#include <ebood/data.h>

#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const char *write_tmp(char *path, size_t size, const char *name, const char *text) {
    eb_test_path(path, size, name);
    cr_assert_eq(eb_test_write_file(path, text, strlen(text)), 0);
    return path;
}

static const char *good_arff = "% a comment line\n"
                               "   %% an indented comment\n"
                               "@RELATION 'my relation'\n"
                               "\n"
                               "@Attribute width NUMERIC\n"
                               "@attribute 'petal length' real % trailing comment\n"
                               "@ATTRIBUTE count integer\n"
                               "@attribute colour {red, 'dark green', \"sky blue\"}\n"
                               "@attribute note string\n"
                               "@attribute class {a,b,'c d'}\n"
                               "@Data\r\n"
                               "1.5, -2e-1, 3, red, hello, a\r\n"
                               "% a comment between rows\n"
                               "\n"
                               "  0 ,7.25,-4,'dark green','two words', 'c d'   % trailing comment\n"
                               "1e3,0.5,0,\"sky blue\",'it\\'s',b\n";

Test(arff, parses_header_and_data) {
    char path[1024];
    eb_arff a;
    eb_error err = {0};
    cr_assert_eq(eb_arff_read(write_tmp(path, sizeof path, "good.arff", good_arff), &a, &err), EB_OK, "%s",
                 err.message);
    cr_assert_str_eq(a.relation, "my relation");
    cr_assert_str_eq(a.path, path);
    cr_assert_eq(a.num_attributes, 6);
    const char *names[] = {"width", "petal length", "count", "colour", "note", "class"};
    const eb_arff_type types[] = {EB_ARFF_NUMERIC, EB_ARFF_NUMERIC, EB_ARFF_NUMERIC,
                                  EB_ARFF_NOMINAL, EB_ARFF_STRING,  EB_ARFF_NOMINAL};
    for (int j = 0; j < 6; j++) {
        cr_assert_str_eq(a.attributes[j].name, names[j]);
        cr_assert_eq(a.attributes[j].type, types[j], "attribute %d", j);
    }
    cr_assert_eq(a.attributes[3].num_values, 3);
    cr_assert_str_eq(a.attributes[3].values[0], "red");
    cr_assert_str_eq(a.attributes[3].values[1], "dark green");
    cr_assert_str_eq(a.attributes[3].values[2], "sky blue");
    cr_assert_eq(a.attributes[5].num_values, 3);
    cr_assert_str_eq(a.attributes[5].values[2], "c d");
    cr_assert_eq(a.attributes[0].num_values, 0);
    cr_assert_null(a.attributes[0].values);

    cr_assert_eq(a.num_rows, 3);
    const double expect[3][6] = {{1.5, -0.2, 3, 0, 0, 0}, {0, 7.25, -4, 1, 1, 2}, {1000, 0.5, 0, 2, 2, 1}};
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 6; j++)
            cr_assert_eq(a.values[r * 6 + j], expect[r][j], "row %d col %d: %g", r, j, a.values[r * 6 + j]);
    cr_assert_eq(a.num_strings, 3);
    cr_assert_str_eq(a.strings[0], "hello");
    cr_assert_str_eq(a.strings[1], "two words");
    cr_assert_str_eq(a.strings[2], "it's");
    eb_arff_free(&a);
    cr_assert_null(a.values);
    eb_arff_free(&a); /* twice is fine */
    eb_arff_free(NULL);
    remove(path);
}

Test(arff, to_dataset_default_and_named_class) {
    const char *text = "@relation r\n"
                       "@attribute x numeric\n"
                       "@attribute kind {u, v}\n"
                       "@attribute y numeric\n"
                       "@attribute label {cat, dog, 'big bird'}\n"
                       "@data\n"
                       "1, v, 2, dog\n"
                       "3, u, 4, 'big bird'\n";
    char path[1024];
    eb_arff a;
    eb_error err = {0};
    cr_assert_eq(eb_arff_read(write_tmp(path, sizeof path, "ds.arff", text), &a, &err), EB_OK, "%s",
                 err.message);

    eb_dataset d;
    cr_assert_eq(eb_arff_to_dataset(&a, NULL, &d, &err), EB_OK, "%s", err.message);
    cr_assert_eq(d.n, 2);
    cr_assert_eq(d.dim, 3);
    cr_assert_eq(d.num_classes, 3);
    cr_assert_str_eq(d.class_names[0], "cat");
    cr_assert_str_eq(d.class_names[2], "big bird");
    const float x[6] = {1, 1, 2, 3, 0, 4}; /* the nominal feature as its value index */
    for (int i = 0; i < 6; i++) cr_assert_eq(d.x[i], x[i], "x[%d] = %g", i, (double)d.x[i]);
    cr_assert_eq(d.y[0], 1);
    cr_assert_eq(d.y[1], 2);
    eb_dataset_free(&d);
    cr_assert_null(d.x);

    cr_assert_eq(eb_arff_to_dataset(&a, "kind", &d, &err), EB_OK, "%s", err.message);
    cr_assert_eq(d.num_classes, 2);
    cr_assert_eq(d.y[0], 1);
    cr_assert_eq(d.y[1], 0);
    const float x2[6] = {1, 2, 1, 3, 4, 2}; /* label becomes a feature (index) */
    for (int i = 0; i < 6; i++) cr_assert_eq(d.x[i], x2[i], "x[%d] = %g", i, (double)d.x[i]);
    eb_dataset_free(&d);

    cr_assert_eq(eb_arff_to_dataset(&a, "nope", &d, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, path) && strstr(err.message, "nope"), "%s", err.message);
    cr_assert_eq(eb_arff_to_dataset(&a, "x", &d, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, path) && strstr(err.message, "not nominal"), "%s", err.message);
    cr_assert_null(d.x);
    eb_arff_free(&a);
    remove(path);
}

Test(arff, to_dataset_rejects_string_features_and_no_nominal) {
    char path[1024];
    eb_arff a;
    eb_dataset d;
    eb_error err = {0};
    write_tmp(path, sizeof path, "str.arff",
              "@relation r\n@attribute s string\n@attribute c {p,q}\n@data\nhi,p\n");
    cr_assert_eq(eb_arff_read(path, &a, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_arff_to_dataset(&a, NULL, &d, &err), EB_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, path) && strstr(err.message, "'s'"), "%s", err.message);
    eb_arff_free(&a);

    write_tmp(path, sizeof path, "str.arff",
              "@relation r\n@attribute a numeric\n@attribute b numeric\n@data\n1,2\n");
    cr_assert_eq(eb_arff_read(path, &a, &err), EB_OK, "%s", err.message);
    cr_assert_eq(eb_arff_to_dataset(&a, NULL, &d, &err), EB_ERR_ARG);
    cr_assert(strstr(err.message, path) && strstr(err.message, "nominal"), "%s", err.message);
    eb_arff_free(&a);
    remove(path);
}

/* ---- the real Segment files (fetched by scripts/fetch-data.sh; missing data is a failure) ---- */

static const char *segment_file(char *buf, size_t size, const char *name) {
    const char *root = getenv("EBOOD_DATA");
    if (root && root[0])
        snprintf(buf, size, "%s/segment/%s", root, name);
    else
        snprintf(buf, size, "%s/.cache/ebood/segment/%s", getenv("HOME") ? getenv("HOME") : ".", name);
    return buf;
}

static void check_segment_file(const char *name, int64_t rows, const double *first, const double *last,
                               const int64_t counts[7]) {
    static const char *classes[7] = {"brickface", "sky", "foliage", "cement", "window", "path", "grass"};
    char path[1024];
    eb_arff a;
    eb_error err = {0};
    eb_status st = eb_arff_read(segment_file(path, sizeof path, name), &a, &err);
    cr_assert_eq(st, EB_OK, "%s (run scripts/fetch-data.sh)", err.message);
    cr_assert_str_eq(a.relation, "segment");
    cr_assert_eq(a.num_attributes, 20);
    cr_assert_str_eq(a.attributes[0].name, "region-centroid-col");
    cr_assert_str_eq(a.attributes[18].name, "hue-mean");
    for (int j = 0; j < 19; j++) cr_assert_eq(a.attributes[j].type, EB_ARFF_NUMERIC);
    cr_assert_eq(a.attributes[19].type, EB_ARFF_NOMINAL);
    cr_assert_str_eq(a.attributes[19].name, "class");
    cr_assert_eq(a.attributes[19].num_values, 7);
    for (int k = 0; k < 7; k++) cr_assert_str_eq(a.attributes[19].values[k], classes[k]);
    cr_assert_eq(a.num_rows, rows);
    for (int j = 0; j < 20; j++) {
        cr_assert_eq(a.values[j], first[j], "%s first row, column %d: %.9g", name, j, a.values[j]);
        cr_assert_eq(a.values[(rows - 1) * 20 + j], last[j], "%s last row, column %d", name, j);
    }
    int64_t got[7] = {0};
    for (int64_t r = 0; r < rows; r++) got[(int)a.values[r * 20 + 19]]++;
    for (int k = 0; k < 7; k++)
        cr_assert_eq(got[k], counts[k], "%s: class %s count %lld", name, classes[k], (long long)got[k]);

    eb_dataset d;
    cr_assert_eq(eb_arff_to_dataset(&a, NULL, &d, &err), EB_OK, "%s", err.message);
    cr_assert_eq(d.n, rows);
    cr_assert_eq(d.dim, 19);
    cr_assert_eq(d.num_classes, 7);
    cr_assert_eq(d.x[0], (float)first[0]);
    cr_assert_eq(d.y[0], (int32_t)first[19]);
    eb_dataset_free(&d);
    eb_arff_free(&a);
}

Test(arff, reads_segment_challenge) {
    /* the file's first and last data rows (class: path = 5, window = 4) */
    const double first[20] = {38,      189,      9,       0,        0,        1,       0.222222,
                              6.22222, 33.3185,  29.0741, 26.3333,  35.2222,  25.6667, -8.22222,
                              18.4444, -10.2222, 35.2222, 0.271208, -2.04915, 5};
    const double last[20] = {145,     155,      9,       0,        0.111111, 4.94444, 35.6185,
                             9.94444, 121.396,  11.2963, 7.77778,  17.5556,  8.55556, -10.5556,
                             18.7778, -8.22222, 17.5556, 0.747294, -2.14053, 4};
    const int64_t counts[7] = {205, 220, 208, 220, 204, 236, 207};
    check_segment_file("segment-challenge.arff", 1500, first, last, counts);
}

Test(arff, reads_segment_test) {
    const double first[20] = {144,     35,       9,       0,        0,        2.33333, 2.03306,
                              2.05556, 1.73098,  37.5926, 32.3333,  47.4444,  33,      -15.7778,
                              29.5556, -13.7778, 47.4444, 0.319714, -2.13876, 3};
    const double last[20] = {53,       134,      9,       0,        0,        2.16667, 0.3,
                             0.277778, 0.018519, 6.96296, 4.66667,  11.2222,  5,       -6.88889,
                             12.7778,  -5.88889, 11.2222, 0.587234, -2.13846, 4};
    const int64_t counts[7] = {125, 110, 122, 110, 126, 94, 123};
    check_segment_file("segment-test.arff", 810, first, last, counts);
}

/* ---- bad input ------------------------------------------------------------------------------- */

/* Writes text, reads it expecting `want`, a message naming the file and containing each needle. */
static void expect_error(const char *text, eb_status want, const char *needle1, const char *needle2) {
    char path[1024];
    write_tmp(path, sizeof path, "bad.arff", text);
    eb_arff a;
    memset(&a, 0xAB, sizeof a);
    eb_error err = {0};
    eb_status st = eb_arff_read(path, &a, &err);
    cr_assert_eq(st, want, "got %d (%s), want %d, for:\n%s", st, err.message, want, text);
    cr_assert(strstr(err.message, path), "message does not name the file: %s", err.message);
    if (needle1) cr_assert(strstr(err.message, needle1), "message lacks '%s': %s", needle1, err.message);
    if (needle2) cr_assert(strstr(err.message, needle2), "message lacks '%s': %s", needle2, err.message);
    cr_assert_null(a.values);
    cr_assert_null(a.attributes);
    cr_assert_eq(a.num_rows, 0);
    remove(path);
}

#define HEADER "@relation r\n@attribute x numeric\n@attribute y numeric\n@attribute c {a,b,'c d'}\n@data\n"

Test(arff_bad, missing_file) {
    char path[1024];
    eb_test_path(path, sizeof path, "no_such_file.arff");
    eb_arff a;
    eb_error err = {0};
    cr_assert_eq(eb_arff_read(path, &a, &err), EB_ERR_IO);
    cr_assert(strstr(err.message, path), "%s", err.message);
    cr_assert_null(a.values);
}

Test(arff_bad, truncated_row) {
    expect_error(HEADER "1,2,a\n3,4,b\n5,6", EB_ERR_FORMAT, "line 8", "expected 3 values, got 2");
}

Test(arff_bad, truncated_in_header) {
    expect_error("@relation r\n@attribute x numeric\n@attri", EB_ERR_FORMAT, "line 3", NULL);
    expect_error("@relation r\n@attribute x numeric\n", EB_ERR_FORMAT, "no @data", NULL);
    expect_error("", EB_ERR_FORMAT, "no @data", NULL);
    expect_error("@relation r\n@attribute c {a, b", EB_ERR_FORMAT, "line 2", "unterminated nominal");
}

Test(arff_bad, unknown_attribute_type) {
    expect_error("@relation r\n@attribute x numeric\n@attribute y complex\n@data\n1,2\n", EB_ERR_FORMAT,
                 "line 3", "unknown attribute type 'complex'");
}

Test(arff_bad, unsupported_attribute_types) {
    expect_error("@relation r\n@attribute t date 'yyyy-MM-dd'\n@data\n'2020-01-01'\n", EB_ERR_UNSUPPORTED,
                 "line 2", "date");
    expect_error("@relation r\n@attribute t relational\n@data\n", EB_ERR_UNSUPPORTED, "line 2", "relational");
}

Test(arff_bad, missing_value) {
    expect_error(HEADER "1,2,a\n3,?,b\n", EB_ERR_FORMAT, "line 7: row 2, column 2 ('y')",
                 "missing value '?'");
    expect_error(HEADER "1,2,?\n", EB_ERR_FORMAT, "line 6", "missing value");
}

Test(arff_bad, nan_and_inf) {
    expect_error(HEADER "1,2,a\n3,nan,b\n", EB_ERR_NUMERIC, "line 7: row 2, column 2 ('y')", "nan");
    expect_error(HEADER "inf,2,a\n", EB_ERR_NUMERIC, "line 6: row 1, column 1 ('x')", "inf");
    expect_error(HEADER "1e999,2,a\n", EB_ERR_NUMERIC, "row 1, column 1", NULL);
}

Test(arff_bad, not_a_number_and_undeclared_nominal) {
    expect_error(HEADER "1,2x,a\n", EB_ERR_FORMAT, "line 6", "not a number: '2x'");
    expect_error(HEADER "1,2,e\n", EB_ERR_FORMAT, "line 6", "undeclared nominal value 'e'");
    expect_error(HEADER "1,2,c d\n", EB_ERR_FORMAT, "line 6", NULL); /* 'c d' must be quoted */
    expect_error(HEADER "1,,a\n", EB_ERR_FORMAT, "line 6", "empty value");
}

Test(arff_bad, wrong_number_of_values) {
    expect_error(HEADER "1,2,a,4\n", EB_ERR_FORMAT, "line 6", "more than 3 values");
    expect_error(HEADER "1,2\n", EB_ERR_FORMAT, "line 6", "expected 3 values, got 2");
}

Test(arff_bad, unterminated_quote) {
    expect_error(HEADER "1,2,'c d\n", EB_ERR_FORMAT, "line 6", "unterminated");
    expect_error("@relation 'r\n", EB_ERR_FORMAT, "line 1", "unterminated");
}

Test(arff_bad, sparse_and_weighted_instances) {
    expect_error(HEADER "{0 1, 2 a}\n", EB_ERR_UNSUPPORTED, "line 6", "sparse");
    expect_error(HEADER "1,2,a,{3}\n", EB_ERR_FORMAT, "line 6", NULL);
    expect_error(HEADER "1,2,a {3}\n", EB_ERR_UNSUPPORTED, "line 6", "weights");
}

Test(arff_bad, header_structure) {
    expect_error("@attribute x numeric\n@relation r\n@data\n", EB_ERR_FORMAT, "line 1", "before @relation");
    expect_error("@relation r\n@attribute x numeric\n@attribute x numeric\n@data\n", EB_ERR_FORMAT, "line 3",
                 "duplicate attribute name 'x'");
    expect_error("@relation r\n@data\n", EB_ERR_FORMAT, "line 2", "before any @attribute");
    expect_error("@relation r\nhello\n", EB_ERR_FORMAT, "line 2", "expected @relation");
    expect_error("@relation r\n@frobnicate x\n", EB_ERR_FORMAT, "line 2", "unknown declaration");
    expect_error("@relation r\n@attribute c {a, a}\n@data\n", EB_ERR_FORMAT, "line 2",
                 "duplicate nominal value");
    expect_error("@relation r\n@attribute c {a, }\n@data\n", EB_ERR_FORMAT, "line 2", "empty nominal value");
    expect_error("@relation r\n@attribute\n@data\n", EB_ERR_FORMAT, "line 2", "without a name");
    expect_error("% c\n@relation\n@attribute x numeric\n@data\n", EB_ERR_FORMAT, "line 2",
                 "@relation without a name");
}

Test(arff_bad, binary_garbage) {
    char path[1024];
    eb_test_path(path, sizeof path, "garbage.arff");
    const char bytes[] = "@relation r\n\0\x01\x02\xff";
    cr_assert_eq(eb_test_write_file(path, bytes, sizeof bytes - 1), 0);
    eb_arff a;
    eb_error err = {0};
    cr_assert_eq(eb_arff_read(path, &a, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, path) && strstr(err.message, "line 2"), "%s", err.message);
    remove(path);
}
