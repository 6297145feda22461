"""The shared library (libebood.so) through ctypes: finding it, the C structs the package passes,
the function signatures, errors as exceptions, and the array checks every call goes through.

Where the library is looked for, in order:
  1. $EBOOD_LIBRARY (a path to libebood.so);
  2. beside this file (a copy installed by `pip install ./python` / `make python`);
  3. the repository's build/ directory (PYTHONPATH=python from a checkout after `make`);
  4. the system's library path (`make install`): libebood.so.0.
"""
import ctypes
import ctypes.util
import os

import numpy as np

# ---- errors ---------------------------------------------------------------------------------------


class EboodError(Exception):
    """An error reported by the library; str() is its one-line message, .status its eb_status."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class ArgumentError(EboodError, ValueError):
    """EB_ERR_ARG: an invalid argument or out-of-range value."""


class ShapeError(EboodError, ValueError):
    """EB_ERR_SHAPE: array shapes that do not fit together."""


class NumericError(EboodError, ValueError):
    """EB_ERR_NUMERIC: NaN/Inf where a finite number is required, or divergence."""


class FileError(EboodError, OSError):
    """EB_ERR_IO: a file missing or unreadable, or a failed write."""


class FormatError(EboodError, ValueError):
    """EB_ERR_FORMAT: a file present but malformed or truncated."""


class UnsupportedError(EboodError):
    """EB_ERR_UNSUPPORTED: valid but not supported (a newer format version, an unknown method)."""


class StateError(EboodError, RuntimeError):
    """EB_ERR_STATE: a call in the wrong state (scoring an unfitted detector, no threshold)."""


class OutOfMemory(EboodError, MemoryError):
    """EB_ERR_NOMEM."""


_STATUS_ERRORS = {-1: OutOfMemory, -2: ArgumentError, -3: ShapeError, -4: FileError, -5: FormatError,
                  -6: NumericError, -7: UnsupportedError, -8: StateError}

# ---- structs (include/ebood/*.h; the layout is checked against the library's defaults at load) ----

EB_ERROR_MESSAGE_BYTES = 512


class ErrorStruct(ctypes.Structure):  # eb_error
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * EB_ERROR_MESSAGE_BYTES)]


class HeatEbm(ctypes.Structure):  # eb_heat_ebm
    _fields_ = [("temperature", ctypes.c_float), ("prior_temperature", ctypes.c_float),
                ("steps", ctypes.c_int64), ("step_size", ctypes.c_float), ("noise", ctypes.c_float),
                ("decay_end", ctypes.c_float), ("decay", ctypes.c_int), ("l2", ctypes.c_float),
                ("lr", ctypes.c_float), ("epochs", ctypes.c_int64), ("batch_size", ctypes.c_int64),
                ("input_noise", ctypes.c_float)]


class HeatParams(ctypes.Structure):  # eb_heat_params
    _fields_ = [("prior", ctypes.c_int), ("width", ctypes.c_int64), ("depth", ctypes.c_int64),
                ("tied", ctypes.c_bool), ("relu", ctypes.c_bool), ("stats_batch", ctypes.c_bool),
                ("seed", ctypes.c_uint64), ("ridge", ctypes.c_float), ("normalize", ctypes.c_bool),
                ("std_block", ctypes.c_bool),
                ("gmm", HeatEbm), ("el", HeatEbm), ("none", HeatEbm), ("gmm_std", HeatEbm)]


class DetectorParams(ctypes.Structure):  # eb_detector_params
    """Checked at import against the library's parameter table (each scalar's offset); _spare keeps the
    buffer larger than the C struct, which eb_detector_default_params returns by value."""
    _fields_ = [("temperature", ctypes.c_float), ("eps", ctypes.c_float), ("k", ctypes.c_int64),
                ("beta", ctypes.c_float), ("shrinkage", ctypes.c_float), ("tpr", ctypes.c_double),
                ("heat", HeatParams), ("percentile", ctypes.c_float), ("_spare", ctypes.c_char * 256)]


class ParamDesc(ctypes.Structure):  # eb_param_desc (params.h)
    _fields_ = [("key", ctypes.c_char_p), ("flag", ctypes.c_char_p), ("type", ctypes.c_int),
                ("offset", ctypes.c_size_t), ("min", ctypes.c_double), ("max", ctypes.c_double),
                ("min_open", ctypes.c_bool), ("symbols_only", ctypes.c_bool), ("symbols", ctypes.c_void_p),
                ("metavar", ctypes.c_char_p), ("help", ctypes.c_char_p)]


class DetectorParamRow(ctypes.Structure):  # eb_detector_param_row (ood.h)
    _fields_ = [("desc", ParamDesc), ("bit", ctypes.c_uint)]


_F32P = ctypes.POINTER(ctypes.c_float)
_I32P = ctypes.POINTER(ctypes.c_int32)


class DetectorData(ctypes.Structure):  # eb_detector_data
    _fields_ = [("n", ctypes.c_int64), ("features", _F32P), ("dim", ctypes.c_int64),
                ("logits", _F32P), ("n_classes", ctypes.c_int64), ("labels", _I32P),
                ("inputs", _F32P), ("input_dim", ctypes.c_int64),
                ("input_std", _F32P), ("n_input_std", ctypes.c_int64),
                ("model", ctypes.c_void_p), ("aux_features", _F32P), ("n_aux", ctypes.c_int64)]


class OodMetrics(ctypes.Structure):  # eb_ood_metrics
    _fields_ = [(name, ctypes.c_double) for name in
                ("auroc", "aupr_in", "aupr_out", "aupr_in_trapz", "aupr_out_trapz", "fpr95_id",
                 "fpr95_ood", "fpr95_hendrycks", "fpr95_heat")]


# eb_detector_params_used bits and eb_detector_*_needs bits (include/ebood/ood.h)
PARAM_BITS = {"temperature": 1, "eps": 2, "k": 4, "beta": 8, "shrinkage": 16, "tpr": 32, "heat": 64,
              "percentile": 128}
NEEDS_FEATURES, NEEDS_LOGITS, NEEDS_LABELS, NEEDS_MODEL, NEEDS_AUX, NEEDS_INPUTS = 1, 2, 4, 8, 16, 32

# ---- loading ----------------------------------------------------------------------------------------


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("EBOOD_LIBRARY")
    if env:
        return [env]  # an explicit choice is not second-guessed
    paths = [os.path.join(here, "libebood.so"),
             os.path.join(here, "..", "..", "build", "libebood.so")]
    found = ctypes.util.find_library("ebood")
    return paths + [found or "libebood.so.0"]


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{path} (absent)")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("ebood: cannot load libebood.so; tried " + "; ".join(tried) +
                      ". Build it with `make` (then PYTHONPATH=python finds build/libebood.so), "
                      "set EBOOD_LIBRARY=/path/to/libebood.so, or install with `make python`.")


lib = _load()
_c = ctypes
_P = ctypes.c_void_p
_ERR = ctypes.POINTER(ErrorStruct)
_SIGNATURES = {
    # name: (restype, argtypes)
    "eb_status_str": (_c.c_char_p, [_c.c_int]),
    "eb_threads_set": (None, [_c.c_int]),
    "eb_threads_get": (_c.c_int, []),
    "eb_threads_from_env": (_c.c_int, [_ERR]),
    "eb_detector_kind_parse": (_c.c_int, [_c.c_char_p, _c.POINTER(_c.c_int), _ERR]),
    "eb_detector_kind_name": (_c.c_char_p, [_c.c_int]),
    "eb_detector_default_params": (DetectorParams, [_c.c_int]),
    "eb_heat_prior_parse": (_c.c_int, [_c.c_char_p, _c.POINTER(_c.c_int), _ERR]),
    "eb_heat_prior_name": (_c.c_char_p, [_c.c_int]),
    "eb_decay_kind_parse": (_c.c_int, [_c.c_char_p, _c.POINTER(_c.c_int), _ERR]),
    "eb_decay_kind_name": (_c.c_char_p, [_c.c_int]),
    "eb_detector_params_used": (_c.c_uint, [_c.c_int]),
    "eb_detector_param_table": (_c.c_int, [_c.POINTER(_c.POINTER(DetectorParamRow))]),
    "eb_detector_new": (_c.c_int, [_c.c_int, _c.POINTER(DetectorParams), _c.POINTER(_P), _ERR]),
    "eb_detector_free": (None, [_P]),
    "eb_detector_kind_of": (_c.c_int, [_P]),
    "eb_detector_get_params": (_c.POINTER(DetectorParams), [_P]),
    "eb_detector_is_fitted": (_c.c_bool, [_P]),
    "eb_detector_dim": (_c.c_int64, [_P]),
    "eb_detector_n_classes": (_c.c_int64, [_P]),
    "eb_detector_input_dim": (_c.c_int64, [_P]),
    "eb_detector_note": (_c.c_char_p, [_P]),
    "eb_detector_fit_needs": (_c.c_uint, [_P]),
    "eb_detector_score_needs": (_c.c_uint, [_P]),
    "eb_detector_fit": (_c.c_int, [_P, _c.POINTER(DetectorData), _c.POINTER(DetectorData), _ERR]),
    "eb_detector_score": (_c.c_int, [_P, _c.POINTER(DetectorData), _F32P, _ERR]),
    "eb_detector_calibrate": (_c.c_int, [_P, _F32P, _c.c_int64, _c.c_double, _ERR]),
    "eb_detector_threshold": (_c.c_double, [_P]),
    "eb_detector_predict": (_c.c_int, [_P, _c.POINTER(DetectorData), _F32P, _c.POINTER(_c.c_uint8), _ERR]),
    "eb_detector_save": (_c.c_int, [_P, _c.c_char_p, _P, _c.c_int, _ERR]),
    "eb_detector_load": (_c.c_int, [_c.c_char_p, _c.POINTER(_P), _ERR]),
    "eb_logit_scores": (_c.c_int, [_c.c_int, _F32P, _c.c_int64, _c.c_int64, _c.c_float, _F32P, _ERR]),
    "eb_logit_score_parse": (_c.c_int, [_c.c_char_p, _c.POINTER(_c.c_int), _ERR]),
    "eb_ood_metrics_compute": (_c.c_int, [_F32P, _c.c_int64, _F32P, _c.c_int64, _c.POINTER(OodMetrics), _ERR]),
    "eb_ebm_paper_aupr": (_c.c_int, [_F32P, _c.c_int64, _F32P, _c.c_int64, _c.POINTER(_c.c_double), _ERR]),
    "eb_accuracy": (_c.c_int, [_F32P, _c.c_int64, _c.c_int64, _I32P, _c.POINTER(_c.c_double), _ERR]),
    "eb_model_load": (_c.c_int, [_c.c_char_p, _P, _c.POINTER(_P), _ERR]),
    "eb_model_free": (None, [_P]),
    "eb_model_in_dim": (_c.c_int64, [_P]),
    "eb_model_out_dim": (_c.c_int64, [_P]),
    "eb_model_feature_dim": (_c.c_int64, [_P]),
    "eb_model_kind_name": (_c.c_char_p, [_c.c_int]),
    "eb_model_config_json": (_P, [_P]),  # malloc'd char *, freed with libc free
    "eb_model_set_feature_pool": (_c.c_int, [_P, _c.c_int, _ERR]),
    "eb_model_predict": (_c.c_int, [_P, _F32P, _c.c_int64, _c.c_int64, _F32P, _F32P, _ERR]),
}
for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args

libc_free = ctypes.CDLL(None).free
libc_free.argtypes = [_P]
libc_free.restype = None

# ---- calls ------------------------------------------------------------------------------------------


def call(fn, *args):
    """Calls a library function whose last argument is an eb_error *; raises on a non-zero status."""
    err = ErrorStruct()
    status = fn(*args, ctypes.byref(err))
    if status != 0:
        message = err.message.decode("utf-8", "replace") or lib.eb_status_str(status).decode()
        raise _STATUS_ERRORS.get(status, EboodError)(message, status)


def string(value):
    return value.decode("utf-8") if value is not None else None


def kind_index(name):
    """eb_detector_kind of a method name (ArgumentError naming the accepted ones)."""
    if not isinstance(name, str):
        raise TypeError(f"detector method: expected a name (str), got {type(name).__name__}")
    out = ctypes.c_int()
    call(lib.eb_detector_kind_parse, name.encode(), ctypes.byref(out))
    return out.value


def detector_kinds():
    """Every detector method name the library knows, in its order."""
    names = []
    while (name := string(lib.eb_detector_kind_name(len(names)))) != "unknown":
        names.append(name)
    return names


def _check_layout():
    """The ctypes mirrors above must match the library's structs: every scalar of its parameter table at
    the same offset and with the same EB_PARAM_* bit, and known defaults."""
    rows = ctypes.POINTER(DetectorParamRow)()
    for i in range(lib.eb_detector_param_table(ctypes.byref(rows))):
        key = rows[i].desc.key.decode()
        mirror = getattr(DetectorParams, key, None)
        if mirror is None or mirror.offset != rows[i].desc.offset or PARAM_BITS.get(key) != rows[i].bit:
            raise ImportError(f"ebood: the library's detector parameter '{key}' (offset {rows[i].desc.offset}, "
                              f"bit {rows[i].bit}) is not where the package expects it: the package and the "
                              f"library are out of step")
    knn = lib.eb_detector_default_params(kind_index("knn"))
    odin = lib.eb_detector_default_params(kind_index("odin"))
    heat = lib.eb_detector_default_params(kind_index("heat")).heat
    react = lib.eb_detector_default_params(kind_index("react"))
    got = (react.percentile, knn.k, round(knn.tpr, 6), odin.temperature, round(odin.eps, 6), heat.width, heat.depth,
           heat.gmm.steps, heat.el.steps, heat.none.steps, heat.gmm.batch_size, heat.el.batch_size,
           heat.none.epochs)
    want = (90.0, 50, 0.95, 1000.0, 0.0014, 1024, 4, 20, 50, 200, 1024, 256, 20)
    if got != want:
        raise ImportError(f"ebood: the Python package's view of eb_detector_params {got} does not match "
                          f"libebood.so's defaults {want}: the package and the library are out of step")


_check_layout()
_err = ErrorStruct()
if lib.eb_threads_from_env(ctypes.byref(_err)) != 0:
    raise ImportError("ebood: " + _err.message.decode("utf-8", "replace"))

# ---- arrays -----------------------------------------------------------------------------------------


def as_float32(name, x, ndim=None):
    """x as a C-contiguous float32 ndarray (a copy only when needed), after checking that it is a
    real-valued numeric array of the wanted rank. Integer and other float dtypes are converted."""
    a = np.asarray(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"{name}: expected a real-valued numeric array, got dtype {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        want = {1: "[n]", 2: "[n, d]"}.get(ndim, f"{ndim} dimensions")
        raise ValueError(f"{name}: expected shape {want}, got shape {tuple(a.shape)}")
    return np.ascontiguousarray(a, dtype=np.float32)


def as_rows(name, x, row_dim=None):
    """x as float32 rows [n, d]: 2-D, or images [n, C, H, W] / [n, …] flattened per sample when
    row_dim (the model's input dim) says so."""
    a = np.asarray(x)
    if a.ndim > 2 and row_dim is not None:
        per_row = int(np.prod(a.shape[1:]))
        if per_row != row_dim:
            raise ValueError(f"{name}: shape {tuple(a.shape)} has {per_row} values per sample, "
                             f"the model takes {row_dim}")
        a = a.reshape(a.shape[0], per_row)
    a = as_float32(name, a, 2)
    if row_dim is not None and a.shape[1] != row_dim:
        raise ValueError(f"{name}: {a.shape[1]} columns, the model takes {row_dim}")
    return a


def as_labels(name, y, n):
    """Labels as a C-contiguous int32 [n] array: an integer dtype (or integral floats) in int32 range."""
    a = np.asarray(y)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"{name}: expected shape [{n}] (one label per row), got shape {tuple(a.shape)}")
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise TypeError(f"{name}: labels must be integers, got non-integral {a.dtype} values")
    elif not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name}: labels must be integers, got dtype {a.dtype}")
    if a.size and (a.min() < np.iinfo(np.int32).min or a.max() > np.iinfo(np.int32).max):
        raise ValueError(f"{name}: a label outside the int32 range")
    return np.ascontiguousarray(a, dtype=np.int32)


def f32_ptr(a):
    return a.ctypes.data_as(_F32P) if a is not None else None


def i32_ptr(a):
    return a.ctypes.data_as(_I32P) if a is not None else None
