"""Detectors: fit on ID data, score (higher = more in-distribution), calibrate a threshold, predict,
save and load — the library's eb_detector (include/ebood/ood.h), the same files as `ebood fit`."""
import ctypes
import math
import os

import numpy as np

from . import _lib
from ._lib import lib

# Top-level hyperparameters (eb_detector_params) and those of the nested HEAT settings.
_PARAMS = ("temperature", "eps", "k", "beta", "shrinkage", "tpr", "heat", "percentile")
_HEAT_TOP = ("prior", "width", "depth", "tied", "relu", "stats_batch", "seed", "ridge", "normalize",
             "std_block")
_HEAT_BLOCKS = ("gmm", "el", "none", "gmm_std")
_HEAT_EBM = tuple(name for name, _ in _lib.HeatEbm._fields_)


def _set(struct, name, value, label):
    try:
        setattr(struct, name, value)
    except TypeError as e:
        raise TypeError(f"{label}: {e} (got {value!r})") from None


def _parse_enum(parse, value):
    out = ctypes.c_int()
    _lib.call(parse, str(value).encode(), ctypes.byref(out))
    return out.value


def _set_heat(heat, settings):
    """Writes a dict {"prior": "gmm", "width": 256, "gmm": {"epochs": 2, …}, …} into eb_heat_params."""
    if not isinstance(settings, dict):
        raise TypeError(f"heat: expected a dict of HEAT settings, got {type(settings).__name__}")
    for key, value in settings.items():
        if key == "prior":
            heat.prior = _parse_enum(lib.eb_heat_prior_parse, value)
        elif key in _HEAT_TOP:
            _set(heat, key, value, f"heat.{key}")
        elif key in _HEAT_BLOCKS:
            if not isinstance(value, dict):
                raise TypeError(f"heat.{key}: expected a dict of EBM settings, got {type(value).__name__}")
            block = getattr(heat, key)
            for name, v in value.items():
                if name not in _HEAT_EBM:
                    raise TypeError(f"heat.{key}: unknown setting '{name}' (known: {', '.join(_HEAT_EBM)})")
                if name == "decay":
                    v = _parse_enum(lib.eb_decay_kind_parse, v)
                _set(block, name, v, f"heat.{key}.{name}")
        else:
            raise TypeError(f"heat: unknown setting '{key}' (known: {', '.join(_HEAT_TOP + _HEAT_BLOCKS)})")


def _field(struct, name):
    """A struct field as Python shows it: a float field by its shortest float32 decimal (1e-06, not
    9.99999997e-07)."""
    value = getattr(struct, name)
    return float(str(np.float32(value))) if dict(struct._fields_)[name] is ctypes.c_float else value


def _heat_dict(heat):
    out = {"prior": _lib.string(lib.eb_heat_prior_name(heat.prior))}
    out.update({key: _field(heat, key) for key in _HEAT_TOP if key != "prior"})
    for block in _HEAT_BLOCKS:
        b = getattr(heat, block)
        out[block] = {name: _field(b, name) for name in _HEAT_EBM}
        out[block]["decay"] = _lib.string(lib.eb_decay_kind_name(b.decay))
    return out


class Detector:
    """An OOD detector of the library: `Detector("knn", k=50).fit(F_train)`, then `.score(F)`.

    method: one of detector_methods() ("msp", "maxlogit", "energy", "odin", "mahalanobis", "ssd",
        "knn", "hopfield", "hopfield_aux", "gmm", "heat", "heat_combined").
    params: the method's hyperparameters (docs/methods.md): temperature, eps, k, beta, shrinkage,
        tpr (the threshold's kept ID fraction, 0.95), heat (a dict of HEAT settings). A parameter the
        method does not read is an error, as on the command line.

    X, the first argument of fit/score/predict, is what the method reads: penultimate features
    [n, d] for most methods, logits [n, classes] for msp/maxlogit/energy, model inputs for odin (and
    for mahalanobis/ssd scoring with eps > 0). Scores: higher = more in-distribution.
    """

    def __init__(self, method, **params):
        kind = _lib.kind_index(method)
        used = lib.eb_detector_params_used(kind)
        p = lib.eb_detector_default_params(kind)
        for key, value in params.items():
            if key not in _PARAMS:
                raise TypeError(f"{method}: unknown parameter '{key}' (parameters: {', '.join(_PARAMS)})")
            if not used & _lib.PARAM_BITS[key]:
                reads = [k for k in _PARAMS if used & _lib.PARAM_BITS[k]]
                raise ValueError(f"{method}: parameter '{key}' does not apply (it reads {', '.join(reads)})")
            if key == "heat":
                _set_heat(p.heat, value)
            else:
                _set(p, key, value, f"{method}: parameter '{key}'")
        handle = ctypes.c_void_p()
        _lib.call(lib.eb_detector_new, kind, ctypes.byref(p), ctypes.byref(handle))
        self._init(handle)

    def _init(self, handle):
        self._handle = handle
        self._model = None  # the Model and input std fit() got, kept for the methods that score through it
        self._input_std = None

    @classmethod
    def load(cls, path):
        """A detector from a file written by save() or `ebood fit`."""
        handle = ctypes.c_void_p()
        _lib.call(lib.eb_detector_load, os.fsencode(path), ctypes.byref(handle))
        d = cls.__new__(cls)
        d._init(handle)
        return d

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            lib.eb_detector_free(handle)
            self._handle = None

    # ---- what it is -------------------------------------------------------------------------------
    @property
    def method(self):
        return _lib.string(lib.eb_detector_kind_name(lib.eb_detector_kind_of(self._handle)))

    def get_params(self):
        """The hyperparameters the method reads (a dict; heat as a nested dict)."""
        used = lib.eb_detector_params_used(lib.eb_detector_kind_of(self._handle))
        p = lib.eb_detector_get_params(self._handle).contents
        out = {}
        for key in _PARAMS:
            if used & _lib.PARAM_BITS[key]:
                out[key] = _heat_dict(p.heat) if key == "heat" else _field(p, key)
        return out

    @property
    def is_fitted(self):
        return bool(lib.eb_detector_is_fitted(self._handle))

    @property
    def threshold_(self):
        """The calibrated threshold (scores ≥ it are ID), or None before calibration."""
        t = lib.eb_detector_threshold(self._handle)
        return None if math.isnan(t) else t

    @property
    def note_(self):
        """A note from fitting ("" if none), e.g. that a singular covariance got a ridge."""
        return _lib.string(lib.eb_detector_note(self._handle))

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "heat")
        return f"Detector({self.method!r}{', ' + params if params else ''})"

    # ---- data -------------------------------------------------------------------------------------
    def _data(self, needs, X, *, y=None, n_classes=None, model=None, aux=None, input_std=None, what="X"):
        """An eb_detector_data holding X in the role `needs` gives it, plus the optional extras;
        returns (struct, the arrays it points into, kept alive by the caller)."""
        d = _lib.DetectorData()
        keep = []
        model = model if model is not None else self._model
        if model is not None:
            d.model = model._handle
        if X is not None:
            if needs & _lib.NEEDS_FEATURES:
                a = _lib.as_float32(what, X, 2)
                d.features, d.dim = _lib.f32_ptr(a), a.shape[1]
            elif needs & _lib.NEEDS_LOGITS:
                a = _lib.as_float32(what, X, 2)
                d.logits, d.n_classes = _lib.f32_ptr(a), a.shape[1]
            else:
                a = _lib.as_rows(what, X, model.in_dim if model is not None else None)
                d.inputs, d.input_dim = _lib.f32_ptr(a), a.shape[1]
            d.n = a.shape[0]
            keep.append(a)
        if y is not None:
            labels = _lib.as_labels("y", y, d.n)
            d.labels = _lib.i32_ptr(labels)
            if not d.n_classes:
                d.n_classes = n_classes if n_classes is not None else (int(labels.max()) + 1 if d.n else 0)
            keep.append(labels)
        if aux is not None:
            a = _lib.as_float32("aux", aux, 2)
            d.aux_features, d.n_aux = _lib.f32_ptr(a), a.shape[0]
            if a.shape[1] != d.dim:
                raise ValueError(f"aux: {a.shape[1]} columns, the features have {d.dim}")
            keep.append(a)
        if input_std is not None:
            s = _lib.as_float32("input_std", np.atleast_1d(input_std), 1)
            d.input_std, d.n_input_std = _lib.f32_ptr(s), s.shape[0]
            keep.append(s)
        return d, keep

    # ---- fit / score / threshold ------------------------------------------------------------------
    def fit(self, X, y=None, *, X_val=None, model=None, aux=None, n_classes=None, input_std=None):
        """Fits on ID training data and returns self.

        X: features (or logits, or inputs; see the class) of ID training samples.
        y: class labels [n] (mahalanobis, ssd, gmm, heat with the gmm prior); accepted and ignored by
           the methods that do not use labels, as scikit-learn and PyOD do.
        X_val: ID validation data (what score() reads): calibrates threshold_ at the tpr parameter.
        model: a Model (odin; mahalanobis/ssd with eps > 0; heat's el prior); kept for scoring.
        aux: auxiliary outlier features [n_aux, d] (hopfield_aux).
        n_classes: the number of classes when labels are given without logits (default max(y) + 1).
        input_std: the normalisation std the inputs were divided by (odin's perturbation).
        """
        needs = lib.eb_detector_fit_needs(self._handle)
        if needs & _lib.NEEDS_LABELS and y is None:
            raise _lib.ArgumentError(f"y: missing ({self.method} needs class labels: fit(X, y))", -2)
        train, keep = self._data(needs, X, y=y, n_classes=n_classes,
                                 model=model, aux=aux, input_std=input_std)
        val_ptr = None
        if X_val is not None:
            val, keep_val = self._data(lib.eb_detector_score_needs(self._handle), X_val, model=model,
                                       input_std=input_std, what="X_val")
            val_ptr = ctypes.byref(val)
        _lib.call(lib.eb_detector_fit, self._handle, ctypes.byref(train), val_ptr)
        self._model = model
        self._input_std = input_std
        return self

    def _score_data(self, X, model, input_std):
        return self._data(lib.eb_detector_score_needs(self._handle), X, model=model,
                          input_std=input_std if input_std is not None else self._input_std)

    def score(self, X, *, model=None, input_std=None):
        """Scores [n] (float32), higher = more in-distribution. model / input_std: for the methods
        that score through the network (default: those given to fit(); a loaded detector needs them)."""
        data, keep = self._score_data(X, model, input_std)
        out = np.empty(data.n, dtype=np.float32)
        _lib.call(lib.eb_detector_score, self._handle, ctypes.byref(data), _lib.f32_ptr(out))
        return out

    def decision_function(self, X, **kwargs):
        """PyOD's convention: −score, higher = more outlying."""
        return -self.score(X, **kwargs)

    def calibrate(self, X_val, tpr=None, **kwargs):
        """Sets threshold_ so that a fraction tpr (default: the detector's, 0.95) of the ID validation
        samples X_val score ≥ it. Returns self."""
        scores = self.score(X_val, **kwargs)
        if tpr is None:
            tpr = lib.eb_detector_get_params(self._handle).contents.tpr
        _lib.call(lib.eb_detector_calibrate, self._handle, _lib.f32_ptr(scores), scores.shape[0],
                  ctypes.c_double(tpr))
        return self

    def predict(self, X, *, model=None, input_std=None):
        """True where a sample is in-distribution (score ≥ threshold_), False where it is OOD.
        Needs a threshold (fit with X_val=, or calibrate())."""
        data, keep = self._score_data(X, model, input_std)
        is_id = np.empty(data.n, dtype=np.uint8)
        _lib.call(lib.eb_detector_predict, self._handle, ctypes.byref(data), None,
                  is_id.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        return is_id.astype(bool)

    # ---- files ------------------------------------------------------------------------------------
    def save(self, path):
        """Writes the fitted detector (atomically) to a file `ebood score --detector` reads."""
        _lib.call(lib.eb_detector_save, self._handle, os.fsencode(path), None, 0)


def detector_methods():
    """The names of every detector method the library knows."""
    return _lib.detector_kinds()
