/* ebood/safetensors.h — reading and writing safetensors files (checkpoints, detectors, fixtures).
 *
 * Format (https://github.com/huggingface/safetensors, "Format" section):
 *   bytes [0, 8)        N, the header length, unsigned 64-bit little-endian
 *   bytes [8, 8+N)      a UTF-8 JSON object: tensor name -> {"dtype": "F32", "shape": [2, 3],
 *                       "data_offsets": [begin, end]}, plus an optional "__metadata__" object
 *                       mapping string -> string. Trailing whitespace (padding) is allowed.
 *   bytes [8+N, EOF)    the byte buffer. data_offsets are relative to its start; each tensor is
 *                       little-endian, row-major (C order) and contiguous; the tensors cover the
 *                       buffer exactly — no gaps, no overlaps, no trailing bytes.
 *
 * The reader validates all of the above and reports the first violation as one line naming the
 * file. Integers in the header (dims, offsets) must be exact non-negative integers <= 2^53 (the
 * range a JSON parser represents exactly; 9 PB is far beyond any real file). The writer pads the
 * header with spaces to a multiple of 8 bytes, so the buffer starts 8-aligned in the file.
 *
 * Host byte order must be little-endian (x86-64, AArch64); the build refuses big-endian targets. */
#ifndef EBOOD_SAFETENSORS_H
#define EBOOD_SAFETENSORS_H

#include <ebood/base.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EB_ST_MAX_DIMS 8

/* Element types, named as in the format ("F32", "BF16", ...). Values are stable. */
typedef enum eb_st_dtype {
    EB_ST_BOOL = 0,
    EB_ST_U8,
    EB_ST_I8,
    EB_ST_F8_E5M2,
    EB_ST_F8_E4M3,
    EB_ST_I16,
    EB_ST_U16,
    EB_ST_F16,
    EB_ST_BF16,
    EB_ST_I32,
    EB_ST_U32,
    EB_ST_F32,
    EB_ST_F64,
    EB_ST_I64,
    EB_ST_U64,
    EB_ST_DTYPE_COUNT
} eb_st_dtype;

/* The format's name of a dtype ("F32"); "?" for an out-of-range value. Thread-safe. */
EB_API const char *eb_st_dtype_name(eb_st_dtype dtype);
/* Bytes per element (1, 2, 4 or 8); 0 for an out-of-range value. Thread-safe. */
EB_API size_t eb_st_dtype_size(eb_st_dtype dtype);
/* Parses a dtype name (case-sensitive, as in the format). EB_ERR_UNSUPPORTED for an unknown name
 * (message names the name). */
EB_API eb_status eb_st_dtype_from_name(const char *name, eb_st_dtype *out, eb_error *err);

/* One tensor. As writer input, caller-owned: `data` holds `nbytes` bytes = prod(shape[0..ndim)) *
 * eb_st_dtype_size(dtype), little-endian, row-major (may be NULL when nbytes == 0). ndim == 0 is a
 * scalar (one element); a 0 dim gives an empty tensor. As reader output, owned by the
 * eb_safetensors and valid until eb_safetensors_free; then `data` is 64-byte aligned. */
typedef struct eb_st_tensor {
    const char *name;
    eb_st_dtype dtype;
    int ndim;                      /* 0 .. EB_ST_MAX_DIMS */
    int64_t shape[EB_ST_MAX_DIMS]; /* entries >= ndim are ignored (reader sets them to 0) */
    const void *data;
    size_t nbytes;
} eb_st_tensor;

/* One "__metadata__" entry: any UTF-8 text (JSON text inside a value is fine: it is escaped). */
typedef struct eb_st_meta {
    const char *key;
    const char *value;
} eb_st_meta;

/* Writes `tensors` (data in the given order) and `meta` to `path`, atomically: the file appears
 * complete or not at all (an existing file at `path` is left untouched on any failure).
 * meta may be NULL when n_meta == 0; "__metadata__" is omitted when n_meta == 0.
 * Errors (message names `path`): EB_ERR_ARG for a NULL/empty/duplicate tensor name, the reserved
 * name "__metadata__", a bad dtype, ndim outside [0, 8], a negative dim, nbytes differing from
 * shape x dtype size (or overflowing), NULL data with nbytes > 0, a NULL or duplicate metadata
 * key, a NULL metadata value; EB_ERR_IO if the file cannot be created, written or renamed;
 * EB_ERR_NOMEM. Thread-safe for distinct paths. */
EB_API eb_status eb_safetensors_write(const char *path, const eb_st_tensor *tensors, int n_tensors,
                                      const eb_st_meta *meta, int n_meta, eb_error *err);

/* A loaded file: owns the tensor data, names, metadata and a copy of the path. Immutable after
 * loading, so concurrent readers are safe. */
typedef struct eb_safetensors eb_safetensors;

/* Loads and validates a whole file. On success *out is a new object (free with
 * eb_safetensors_free); on failure *out is NULL. Each tensor's data gets its own 64-byte aligned
 * copy, whatever its offset in the file.
 * Errors (one line naming `path`): EB_ERR_IO (cannot open/read, not a regular file);
 * EB_ERR_FORMAT for: file shorter than 8 bytes; header length beyond the file or > 100 MB; header
 * not UTF-8, not valid JSON, or not an object; a tensor entry that is not an object, lacks
 * dtype/shape/data_offsets or has wrong types; a negative or non-integer dim; data_offsets not
 * two integers with begin <= end, not equal to shape x dtype size in length, or beyond the buffer;
 * overlapping tensors; buffer bytes covered by no tensor; duplicate tensor names or metadata keys;
 * "__metadata__" not an object of strings; EB_ERR_UNSUPPORTED for an unknown dtype or more than
 * 8 dims; EB_ERR_NOMEM. Unknown keys inside a tensor entry are ignored.
 * Thread-safe for concurrent calls, except that cJSON records the position of a JSON syntax error
 * in a process-wide variable (harmless: this function never reads it back). */
EB_API eb_status eb_safetensors_read(const char *path, eb_safetensors **out, eb_error *err);

/* Number of tensors. */
EB_API int eb_safetensors_count(const eb_safetensors *st);
/* Tensor i, 0 <= i < count, in the order of their data in the buffer (for files written by
 * eb_safetensors_write: the order given to it); NULL if i is out of range. */
EB_API const eb_st_tensor *eb_safetensors_at(const eb_safetensors *st, int i);
/* The tensor named `name`, or NULL if absent. O(log n). */
EB_API const eb_st_tensor *eb_safetensors_find(const eb_safetensors *st, const char *name);

/* The metadata value for `key`, or NULL if absent (or if the file has no "__metadata__"). */
EB_API const char *eb_safetensors_meta(const eb_safetensors *st, const char *key);
/* Number of metadata entries, and entry i (header order; NULL if out of range). */
EB_API int eb_safetensors_meta_count(const eb_safetensors *st);
EB_API const eb_st_meta *eb_safetensors_meta_at(const eb_safetensors *st, int i);

/* The path the file was loaded from (for messages). */
EB_API const char *eb_safetensors_path(const eb_safetensors *st);

/* Checks that the F32 tensor `name` exists with exactly shape[0..ndim), without copying: what a
 * loader calls for every tensor it expects before allocating anything for them. Errors as
 * eb_safetensors_get_f32. */
EB_API eb_status eb_safetensors_check_f32(const eb_safetensors *st, const char *name, int ndim,
                                          const int64_t *shape, eb_error *err);

/* Copies the F32 tensor `name` into dst (prod(shape) floats, caller-owned) after checking that its
 * shape is exactly shape[0..ndim). Errors (message names the file and the tensor): EB_ERR_FORMAT
 * if the tensor is absent or not F32; EB_ERR_SHAPE on a shape mismatch (both shapes are printed);
 * EB_ERR_ARG for ndim outside [0, 8] or a NULL argument. dst is untouched on failure. */
EB_API eb_status eb_safetensors_get_f32(const eb_safetensors *st, const char *name, int ndim,
                                        const int64_t *shape, float *dst, eb_error *err);

/* Frees everything the object owns; NULL is a no-op. */
EB_API void eb_safetensors_free(eb_safetensors *st);

#ifdef __cplusplus
}
#endif
#endif /* EBOOD_SAFETENSORS_H */
