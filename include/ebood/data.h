/* ebood/data.h — datasets and the readers/writers of tabular and array formats.
 *
 *   eb_dataset        a labelled (or unlabelled) n × dim float matrix that owns its memory
 *   NPY               numpy's .npy format, read and write (src/data/npy.c)
 *   ARFF              Weka's attribute-relation files: numeric, nominal, string attributes (src/data/arff.c)
 *   CSV               comma-separated numbers with an optional header and a label column (src/data/csv.c)
 *   Segment           the UCI Image Segmentation OOD protocol (src/data/segment.c;
 *                     shared/specs/protocols.md "segment", shared/specs/seed-code-specs.md §4)
 *   tabular OOD sets  the EBM paper's non-natural OOD sets: uniform, Gaussian, constant
 *                     (src/data/synthetic_tabular.c)
 *
 * Every fallible function returns an eb_status and fills the optional `err` (last parameter)
 * with one line that names the file (or argument) and the problem; rows, lines and columns in
 * messages are 1-based. On failure every output struct is left zeroed (nothing to free) and no
 * output file is left behind. All functions are thread-safe as long as different threads use
 * different output objects (and different eb_rng values). */
#ifndef EBOOD_DATA_H
#define EBOOD_DATA_H

#include <ebood/base.h>

#include <limits.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- datasets ---------------------------------------------------------------------------- */

/* A labelled tabular/flattened dataset; owns its memory.
 * x and y are allocated with eb_alloc(NULL, ·) (64-byte aligned; free()-compatible), each
 * class name with malloc. Code that fills an eb_dataset by hand must use the same allocators
 * (malloc is fine) so that eb_dataset_free can release it. */
typedef struct eb_dataset {
    float *x;   /* n × dim, row-major */
    int32_t *y; /* n labels in [0, num_classes), or NULL if unlabelled */
    int64_t n, dim;
    int num_classes;    /* 0 if unlabelled */
    char **class_names; /* num_classes NUL-terminated strings, or NULL */
} eb_dataset;

/* Frees all members and zeroes the struct. NULL-safe; safe on a zeroed struct. */
EB_API void eb_dataset_free(eb_dataset *d);

/* Allocates an n × dim dataset (x uninitialised; y too when `labelled`, else NULL) with
 * num_classes classes and no class names. n ≥ 0, dim ≥ 1, num_classes ≥ 0 (and > 0 when
 * labelled). Errors: EB_ERR_ARG (bad sizes), EB_ERR_NOMEM. */
EB_API eb_status eb_dataset_alloc(int64_t n, int64_t dim, int num_classes, bool labelled, eb_dataset *out,
                                  eb_error *err);

/* Replaces d's class names with copies of names[0..d->num_classes) (names may be NULL: removes
 * them). Errors: EB_ERR_NOMEM (d unchanged). */
EB_API eb_status eb_dataset_set_class_names(eb_dataset *d, const char *const *names, eb_error *err);

/* out = the rows `rows[0..n)` of src, in that order (repeats allowed), with y, num_classes and
 * class names copied. Errors: EB_ERR_ARG (a row index outside [0, src->n), n < 0), EB_ERR_NOMEM. */
EB_API eb_status eb_dataset_subset(const eb_dataset *src, const int64_t *rows, int64_t n, eb_dataset *out,
                                   eb_error *err);

/* EB_OK if every x value is finite, else EB_ERR_NUMERIC naming `what` (e.g. a file), the 1-based
 * row and column. */
EB_API eb_status eb_dataset_check_finite(const eb_dataset *d, const char *what, eb_error *err);

/* ---- NPY --------------------------------------------------------------------------------- */

/* Element types read and written. On disk: '<f4' '<f8' '<i4' '<i8' '|u1' (big-endian '>'
 * variants are read and converted to native order; '|i1', bool, complex, structured and object
 * dtypes are EB_ERR_UNSUPPORTED). */
typedef enum eb_dtype { EB_DTYPE_F32, EB_DTYPE_F64, EB_DTYPE_I32, EB_DTYPE_I64, EB_DTYPE_U8 } eb_dtype;

EB_API size_t eb_dtype_size(eb_dtype dtype);      /* bytes per element; 0 for an invalid value */
EB_API const char *eb_dtype_name(eb_dtype dtype); /* "float32", ..., "invalid"; never NULL */

#define EB_NPY_MAX_DIMS 8

/* A C-ordered array. `data` holds shape[0]·…·shape[ndim-1] elements in native byte order,
 * allocated with eb_alloc(NULL, ·) (free()-compatible; never NULL after a successful read, even
 * for zero elements). ndim = 0 is a scalar (one element). */
typedef struct eb_npy_array {
    eb_dtype dtype;
    int ndim;
    int64_t shape[EB_NPY_MAX_DIMS];
    void *data;
} eb_npy_array;

/* Number of elements of a (product of the shape; 1 for ndim 0). */
EB_API int64_t eb_npy_array_numel(const eb_npy_array *a);

/* Reads a .npy file (format versions 1.0, 2.0 and 3.0). Values are not checked (NaN allowed).
 * Errors (each message names the file): EB_ERR_IO (missing/unreadable), EB_ERR_FORMAT (bad
 * magic, truncated or malformed header, data size disagreeing with the shape), EB_ERR_UNSUPPORTED
 * (dtype, fortran_order=True, ndim > 8, unknown format version), EB_ERR_NOMEM. */
EB_API eb_status eb_npy_read(const char *path, eb_npy_array *out, eb_error *err);

/* Writes data (prod(shape) elements of `dtype`, native order, C order) as a .npy file, format
 * version 1.0 (a header of ≤ 8 dimensions always fits), padded so that the data starts at a
 * multiple of 64 bytes, as numpy writes it. Atomic: temp file + rename, nothing left on failure.
 * 0 ≤ ndim ≤ 8, shape[i] ≥ 0 (shape may be NULL when ndim = 0).
 * Errors: EB_ERR_ARG, EB_ERR_IO (naming path). */
EB_API eb_status eb_npy_write(const char *path, eb_dtype dtype, int ndim, const int64_t *shape,
                              const void *data, eb_error *err);

/* Reads any supported dtype and converts it to float32. *data (eb_alloc(NULL, ·), caller frees with
 * eb_free(NULL, ·) or free) holds prod(shape) values; shape_out (may be NULL) receives the shape,
 * zero-filled past ndim; *ndim_out (may be NULL) the rank. ndim_expected = 0 accepts any rank,
 * otherwise a different rank is EB_ERR_SHAPE. NaN/Inf — or a float64 outside float32 range —
 * is EB_ERR_NUMERIC naming the file and the element's multi-index. Other errors: as eb_npy_read. */
EB_API eb_status eb_npy_read_f32(const char *path, float **data, int ndim_expected, int64_t shape_out[8],
                                 int *ndim_out, eb_error *err);

/* Frees a->data and zeroes the struct. NULL-safe. */
EB_API void eb_npy_array_free(eb_npy_array *a);

/* ---- ARFF -------------------------------------------------------------------------------- */

/* Attribute types. NUMERIC also covers the synonyms REAL and INTEGER. DATE and RELATIONAL
 * attributes are EB_ERR_UNSUPPORTED; any other type word is EB_ERR_FORMAT. */
typedef enum eb_arff_type { EB_ARFF_NUMERIC, EB_ARFF_NOMINAL, EB_ARFF_STRING } eb_arff_type;

typedef struct eb_arff_attribute {
    char *name;
    eb_arff_type type;
    int num_values; /* NOMINAL: number of declared values; 0 otherwise */
    char **values;  /* NOMINAL: the declared values in order; NULL otherwise */
} eb_arff_attribute;

/* A parsed ARFF file (dense @data only). All memory is owned; free with eb_arff_free. */
typedef struct eb_arff {
    char *path;     /* the file it was read from (for messages) */
    char *relation; /* the @relation name */
    int num_attributes;
    eb_arff_attribute *attributes;
    int64_t num_rows;
    /* num_rows × num_attributes, row-major: NUMERIC → the value (always finite);
     * NOMINAL → the index of the value in attributes[j].values; STRING → an index into strings. */
    double *values;
    int64_t num_strings;
    char **strings; /* the values of STRING attributes, in order of appearance */
} eb_arff;

/* Reads an ARFF file. Syntax: '%' starts a comment (outside quotes); @RELATION, @ATTRIBUTE and
 * @DATA in any case; names and values may be quoted with '…' or "…" (backslash escapes inside
 * quotes); nominal types {a, b, 'c d'}; one comma-separated instance per line.
 * Errors (message names the file and the line): EB_ERR_IO (missing/unreadable), EB_ERR_FORMAT
 * (malformed header, unknown attribute type, no @data, wrong number of values, a value that is
 * not a number / not a declared nominal value, unterminated quote, missing value '?'),
 * EB_ERR_NUMERIC (NaN/Inf, naming line, row and column), EB_ERR_UNSUPPORTED (date/relational
 * attributes, sparse instances "{…}", instance weights), EB_ERR_NOMEM. */
EB_API eb_status eb_arff_read(const char *path, eb_arff *out, eb_error *err);

/* Frees all members and zeroes the struct. NULL-safe. */
EB_API void eb_arff_free(eb_arff *a);

/* Index of the attribute called `name` (exact, case-sensitive match), or -1. */
EB_API int eb_arff_find_attribute(const eb_arff *a, const char *name);

/* The dataset of a: class = the NOMINAL attribute named class_attribute, or the last NOMINAL
 * attribute when class_attribute is NULL; y = its value indices, class_names = its declared
 * values (num_classes = their count). Features = every other attribute in file order: NUMERIC
 * as is, NOMINAL as the value index (0, 1, …). Errors (naming a->path): EB_ERR_ARG (no such
 * attribute / it is not nominal / no nominal attribute / no feature attribute),
 * EB_ERR_UNSUPPORTED (a STRING attribute other than the class), EB_ERR_NOMEM. */
EB_API eb_status eb_arff_to_dataset(const eb_arff *a, const char *class_attribute, eb_dataset *out,
                                    eb_error *err);

/* ---- CSV --------------------------------------------------------------------------------- */

#define EB_CSV_NO_LABEL INT_MIN /* label_column value for an unlabelled file */

/* Reads a CSV file of numbers into a dataset.
 * - Fields are comma-separated; surrounding spaces/tabs are trimmed; a field may be quoted with
 *   "…" ("" inside is a literal quote, and commas/newlines inside quotes are kept). CRLF line
 *   ends and a UTF-8 BOM are accepted; empty lines are skipped.
 * - Header: the first record is a header (and skipped) if one of its feature fields is not a
 *   number, or if its label field is not a number while the second record's label field is.
 * - label_column: a 0-based column index, -1 = the last column, EB_CSV_NO_LABEL = no label
 *   (y NULL, num_classes 0). Labels: if every label field is a number, each must be an integer
 *   in [0, 2^31 − 2] and num_classes = max + 1 (class_names NULL); otherwise the label fields are
 *   class names, mapped to ids in order of first appearance (class_names kept).
 * - Every record must have the same number of fields (≥ 2 when labelled, ≥ 1 otherwise).
 * Errors (message names the file, and the line/row/column where it applies): EB_ERR_IO,
 * EB_ERR_FORMAT (ragged rows, a feature that is not a number, an empty field, unterminated
 * quote, non-integer numeric label, no data rows), EB_ERR_NUMERIC (NaN/Inf), EB_ERR_ARG
 * (label_column out of range), EB_ERR_NOMEM. */
EB_API eb_status eb_csv_read_dataset(const char *path, int label_column, eb_dataset *out, eb_error *err);

/* ---- Segment (UCI Image Segmentation, OOD protocol of the EBM paper) ---------------------- */

typedef struct eb_segment_params {
    uint64_t seed;         /* seeds the eb_rng that permutes the ID rows (default 1) */
    const char *ood_class; /* the held-out class (default "sky") */
} eb_segment_params;

EB_API eb_segment_params eb_segment_default_params(void);

/* A tabular ID/OOD split. All members owned; free with eb_tabular_split_free. */
typedef struct eb_tabular_split {
    eb_dataset train, val, test; /* ID splits, z-scored with train statistics, labels remapped to
                                    0..C-1 in declaration order without the OOD class (names kept) */
    eb_dataset ood;              /* the held-out class, same transform, unlabelled (y NULL) */
    float *mean, *std;           /* dim z-score statistics (population std; 0 → 1); malloc'd */
    int64_t dim;
    char **feature_names; /* dim names of the kept columns; malloc'd */
} eb_tabular_split;

/* Loads <dir>/segment-challenge.arff (1500 rows) + <dir>/segment-test.arff (810 rows), in that
 * order (2310 rows, 19 numeric attributes + nominal "class"), and builds the protocol split:
 *  1. drop the columns constant over all 2310 rows (region-pixel-count → 18 features);
 *  2. ID = the rows whose class is not p->ood_class (1980), in file order; OOD = the others (330);
 *  3. permute the ID rows with eb_rng_permutation(eb_rng_seed(p->seed)); train = the first
 *     ⌊0.8·n⌋, val = the next ⌊0.1·n⌋, test = the rest (1584 / 198 / 198);
 *  4. mean/std per column on train only (population std; std 0 → 1), x ← (x − mean)/std for
 *     train, val, test and ood.
 * p may be NULL (defaults). Errors: EB_ERR_IO (a file missing, naming it), EB_ERR_FORMAT (the two
 * files disagree on their attributes, no nominal "class" attribute, a split would be empty),
 * EB_ERR_ARG (ood_class is not a class), anything eb_arff_read returns. */
EB_API eb_status eb_segment_load(const char *dir, const eb_segment_params *p, eb_tabular_split *out,
                                 eb_error *err);

/* Frees all members and zeroes the struct. NULL-safe. */
EB_API void eb_tabular_split_free(eb_tabular_split *s);

/* ---- non-natural tabular OOD sets (EBM paper's code, seed-code-specs §4) ------------------ */
/* Each makes an unlabelled n × dim dataset in the already-normalised feature space, drawing
 * from rng in row-major order. n ≥ 0, dim ≥ 1, lo < hi finite; else EB_ERR_ARG. */

/* x_ij ~ U(lo, hi) independently (the paper: U(−5, 5)). */
EB_API eb_status eb_tabular_ood_uniform(int64_t n, int64_t dim, float lo, float hi, eb_rng *rng,
                                        eb_dataset *out, eb_error *err);
/* x_ij ~ N(0, 1) independently. */
EB_API eb_status eb_tabular_ood_gaussian(int64_t n, int64_t dim, eb_rng *rng, eb_dataset *out, eb_error *err);
/* x_i· = c_i (one value repeated over all features), c_i ~ U(lo, hi) (the paper: U(−5, 5)). */
EB_API eb_status eb_tabular_ood_constant(int64_t n, int64_t dim, float lo, float hi, eb_rng *rng,
                                         eb_dataset *out, eb_error *err);

/* The three non-natural sets of the EBM paper's tabular setup, in this order, n × dim each, drawn from
 * one eb_rng seeded with `seed`: "uniform" U(−5, 5), "gaussian" N(0, 1), "constant" (U(−5, 5)).
 * On failure every out[i] is left zeroed. */
#define EB_TABULAR_OOD_COUNT 3
EB_API extern const char *const eb_tabular_ood_names[EB_TABULAR_OOD_COUNT];
EB_API eb_status eb_tabular_ood_nonnatural(int64_t n, int64_t dim, uint64_t seed,
                                           eb_dataset out[EB_TABULAR_OOD_COUNT], eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_DATA_H */
