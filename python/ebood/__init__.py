"""ebood from Python: the C library's OOD detectors, metrics and models over NumPy arrays.

    import ebood
    det = ebood.Detector("knn", k=50).fit(F_train, X_val=F_val)   # threshold at 95 % of ID kept
    s = det.score(F_test)            # higher = more in-distribution
    is_id = det.predict(F_test)      # True = ID
    ebood.auroc(s_id, s_ood); ebood.fpr_at_tpr(s_id, s_ood, convention="ood")

Errors from the library are raised as ebood.EboodError subclasses (ValueError, OSError, … too)
carrying its one-line message."""
from ._lib import (ArgumentError, EboodError, FileError, FormatError, NumericError, OutOfMemory, ShapeError,
                   StateError, UnsupportedError, lib as _clib)
from .detector import Detector, detector_methods
from .metrics import accuracy, aupr, auroc, fpr_at_tpr, logit_scores, ood_metrics
from .model import Model

__version__ = "0.1.0"


def set_threads(n):
    """The library's thread count for OpenMP kernels and BLAS (n <= 0: all cores; EBOOD_THREADS at import)."""
    _clib.eb_threads_set(int(n))


def get_threads():
    return _clib.eb_threads_get()


__all__ = ["Detector", "Model", "detector_methods", "ood_metrics", "auroc", "aupr", "fpr_at_tpr", "accuracy",
           "logit_scores", "set_threads", "get_threads", "EboodError", "ArgumentError", "ShapeError",
           "NumericError", "FileError", "FormatError", "UnsupportedError", "StateError", "OutOfMemory"]
