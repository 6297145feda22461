/* CSV reader: header detection, numeric and string labels, quoting, label column choices, and bad
 * input (each error names the file; data errors also the line, row and column). */
#include <criterion/criterion.h>
#include <ebood/data.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const char *write_tmp(char *path, size_t size, const char *name, const char *text) {
    eb_test_path(path, size, name);
    cr_assert_eq(eb_test_write_file(path, text, strlen(text)), 0);
    return path;
}

static void read_ok(const char *text, int label_column, eb_dataset *d) {
    char path[1024];
    eb_error err = {0};
    write_tmp(path, sizeof path, "good.csv", text);
    cr_assert_eq(eb_csv_read_dataset(path, label_column, d, &err), EB_OK, "%s\nfor:\n%s", err.message, text);
    remove(path);
}

static void assert_x(const eb_dataset *d, const float *x, int64_t n, int64_t dim) {
    cr_assert_eq(d->n, n);
    cr_assert_eq(d->dim, dim);
    for (int64_t i = 0; i < n * dim; i++)
        cr_assert_eq(d->x[i], x[i], "x[%lld] = %g, expected %g", (long long)i, (double)d->x[i], (double)x[i]);
}

Test(csv, header_and_numeric_labels) {
    eb_dataset d;
    read_ok("a,b,label\n1,2.5,0\n-3,4e2,2\n", -1, &d);
    assert_x(&d, (float[]){1, 2.5f, -3, 400}, 2, 2);
    cr_assert_eq(d.num_classes, 3);
    cr_assert_eq(d.y[0], 0);
    cr_assert_eq(d.y[1], 2);
    cr_assert_null(d.class_names);
    eb_dataset_free(&d);
}

Test(csv, string_labels_quoting_crlf_bom_blank_lines) {
    const char *text = "\xEF\xBB\xBF"
                       "1, 2, cat\r\n"
                       "\r\n"
                       "\"3\",4,\"dog, big\"\r\n"
                       "  5 ,6,cat\r\n"
                       "7,8,\"say \"\"hi\"\"\"\r\n"
                       "9,10,\"two\nlines\"\n"
                       "\n";
    eb_dataset d;
    read_ok(text, -1, &d);
    assert_x(&d, (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, 2);
    cr_assert_eq(d.num_classes, 4);
    const int32_t y[5] = {0, 1, 0, 2, 3};
    for (int i = 0; i < 5; i++) cr_assert_eq(d.y[i], y[i], "y[%d] = %d", i, d.y[i]);
    cr_assert_str_eq(d.class_names[0], "cat");
    cr_assert_str_eq(d.class_names[1], "dog, big");
    cr_assert_str_eq(d.class_names[2], "say \"hi\"");
    cr_assert_str_eq(d.class_names[3], "two\nlines");
    eb_dataset_free(&d);
}

Test(csv, label_column_choices) {
    eb_dataset d;
    read_ok("label,x,y\nb,1,2\na,3,4\nb,5,6\n", 0, &d);
    assert_x(&d, (float[]){1, 2, 3, 4, 5, 6}, 3, 2);
    cr_assert_eq(d.num_classes, 2);
    cr_assert_eq(d.y[0], 0);
    cr_assert_eq(d.y[1], 1);
    cr_assert_eq(d.y[2], 0);
    cr_assert_str_eq(d.class_names[0], "b");
    eb_dataset_free(&d);

    read_ok("1,7,2\n3,8,4\n", 1, &d); /* middle column, no header */
    assert_x(&d, (float[]){1, 2, 3, 4}, 2, 2);
    cr_assert_eq(d.num_classes, 9);
    cr_assert_eq(d.y[0], 7);
    cr_assert_eq(d.y[1], 8);
    eb_dataset_free(&d);

    read_ok("x,y\n1,2\n3,4\n", EB_CSV_NO_LABEL, &d);
    assert_x(&d, (float[]){1, 2, 3, 4}, 2, 2);
    cr_assert_null(d.y);
    cr_assert_eq(d.num_classes, 0);
    eb_dataset_free(&d);

    read_ok("1,2\n3,4\n", INT_MIN, &d); /* unlabelled, no header */
    assert_x(&d, (float[]){1, 2, 3, 4}, 2, 2);
    eb_dataset_free(&d);
}

Test(csv, header_detected_from_label_column_alone) {
    eb_dataset d;
    read_ok("1,2,label\n3,4,0\n5,6,1\n", -1, &d); /* numeric-looking feature names */
    assert_x(&d, (float[]){3, 4, 5, 6}, 2, 2);
    cr_assert_eq(d.num_classes, 2);
    eb_dataset_free(&d);

    read_ok("1,2,cat\n3,4,dog\n", -1, &d); /* string labels and no header */
    assert_x(&d, (float[]){1, 2, 3, 4}, 2, 2);
    cr_assert_str_eq(d.class_names[0], "cat");
    eb_dataset_free(&d);
}

/* ---- bad input ------------------------------------------------------------------------------- */

static void expect_error(const char *text, int label_column, eb_status want, const char *needle1,
                         const char *needle2) {
    char path[1024];
    write_tmp(path, sizeof path, "bad.csv", text);
    eb_dataset d;
    memset(&d, 0xAB, sizeof d);
    eb_error err = {0};
    eb_status st = eb_csv_read_dataset(path, label_column, &d, &err);
    cr_assert_eq(st, want, "got %d (%s), want %d, for:\n%s", st, err.message, want, text);
    cr_assert(strstr(err.message, path), "message does not name the file: %s", err.message);
    if (needle1) cr_assert(strstr(err.message, needle1), "message lacks '%s': %s", needle1, err.message);
    if (needle2) cr_assert(strstr(err.message, needle2), "message lacks '%s': %s", needle2, err.message);
    cr_assert_null(d.x);
    cr_assert_null(d.y);
    cr_assert_null(d.class_names);
    remove(path);
}

Test(csv_bad, missing_file) {
    char path[1024];
    eb_test_path(path, sizeof path, "no_such.csv");
    eb_dataset d;
    eb_error err = {0};
    cr_assert_eq(eb_csv_read_dataset(path, -1, &d, &err), EB_ERR_IO);
    cr_assert(strstr(err.message, path), "%s", err.message);
    cr_assert_null(d.x);
}

Test(csv_bad, ragged_rows) {
    expect_error("a,b,c\n1,2,0\n3,4\n", -1, EB_ERR_FORMAT, "line 3", "expected 3 fields, got 2");
    expect_error("1,2,0\n3,4,1,5\n", -1, EB_ERR_FORMAT, "line 2", "got 4");
}

Test(csv_bad, truncated_and_malformed) {
    expect_error("a,b,c\n1,2,0\n3,4,\"1", -1, EB_ERR_FORMAT, "line 3", "unterminated quoted field");
    expect_error("1,2,0\n3,\"4\"x,1\n", -1, EB_ERR_FORMAT, "line 2", "after a closing quote");
    expect_error("1,2,0\n3,4x,1\n", -1, EB_ERR_FORMAT, "line 2 (row 2), column 2", "not a number: '4x'");
    expect_error("1,2,0\n3,,1\n", -1, EB_ERR_FORMAT, "line 2 (row 2), column 2", "empty field");
    expect_error("x,y\n1,2\n3,4x\n", EB_CSV_NO_LABEL, EB_ERR_FORMAT, "line 3 (row 2), column 2", NULL);
}

Test(csv_bad, nan_and_inf) {
    expect_error("a,b,c\n1,2,0\n3,nan,1\n", -1, EB_ERR_NUMERIC, "line 3 (row 2), column 2", "nan");
    expect_error("1,2,0\n-inf,4,1\n", -1, EB_ERR_NUMERIC, "line 2 (row 2), column 1", NULL);
    expect_error("1,2,0\n1e39,4,1\n", -1, EB_ERR_NUMERIC, "line 2 (row 2), column 1", NULL); /* > FLT_MAX */
}

Test(csv_bad, bad_numeric_labels) {
    expect_error("1,2,0\n3,4,1.5\n", -1, EB_ERR_FORMAT, "line 2 (row 2), column 3", "not an integer");
    expect_error("1,2,0\n3,4,-1\n", -1, EB_ERR_FORMAT, "line 2 (row 2), column 3", NULL);
    expect_error("1,2,cat\n3,4,\"\"\n", -1, EB_ERR_FORMAT, "line 2 (row 2), column 3", "empty label");
}

Test(csv_bad, label_column_out_of_range) {
    expect_error("1,2,0\n", 3, EB_ERR_ARG, "label column 3", NULL);
    expect_error("1,2,0\n", -2, EB_ERR_ARG, "label column -2", NULL);
}

Test(csv_bad, no_data) {
    expect_error("", -1, EB_ERR_FORMAT, "no data rows", NULL);
    expect_error("\n\n  \n", -1, EB_ERR_FORMAT, "no data rows", NULL);
    expect_error("a,b,label\n", -1, EB_ERR_FORMAT, "no data rows", NULL);
    expect_error("0\n1\n", -1, EB_ERR_FORMAT, "no feature columns", NULL);
}

Test(csv_bad, binary_garbage) {
    char path[1024];
    eb_test_path(path, sizeof path, "garbage.csv");
    const char bytes[] = "1,2\n\0\x01\x02";
    cr_assert_eq(eb_test_write_file(path, bytes, sizeof bytes - 1), 0);
    eb_dataset d;
    eb_error err = {0};
    cr_assert_eq(eb_csv_read_dataset(path, -1, &d, &err), EB_ERR_FORMAT);
    cr_assert(strstr(err.message, path), "%s", err.message);
    remove(path);
}
