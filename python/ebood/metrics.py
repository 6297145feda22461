"""OOD metrics (include/ebood/eval.h) on two score arrays, ID and OOD, higher = more in-distribution,
and the post-hoc logit scores. Every FPR@95 and AUPR convention of the papers is one argument away:

  fpr_at_tpr(s_id, s_ood, convention=)  "id"        OOD accepted when 95 % of ID is kept (energy/ODIN papers)
                                        "ood"       ID rejected when 95 % of OOD is caught (OpenOOD v1.5)
                                        "hendrycks" the energy / Hopfield Boosting code's recall ≈ 0.95 point
                                        "heat"      HEAT's code: OOD above the ID 5 % energy quantile
  aupr(s_id, s_ood, positive=, method=) positive "id" (AUPR-In) or "ood" (AUPR-Out); method "ap" (average
                                        precision, sklearn), "trapz" (OpenOOD), "ebm_paper" (OOD positive on
                                        arrays truncated to equal length, 002_…'s code)

Scores are float32 in the library: other dtypes are converted (float64 values that differ only below
float32 precision become ties)."""
import ctypes

import numpy as np

from . import _lib
from ._lib import lib

_FPR = {"id": "fpr95_id", "ood": "fpr95_ood", "hendrycks": "fpr95_hendrycks", "heat": "fpr95_heat"}
_AUPR = {("id", "ap"): "aupr_in", ("ood", "ap"): "aupr_out", ("id", "trapz"): "aupr_in_trapz",
         ("ood", "trapz"): "aupr_out_trapz"}
_LOGIT_SCORES = ("msp", "maxlogit", "energy")


def _pair(s_id, s_ood):
    return _lib.as_float32("s_id", s_id, 1), _lib.as_float32("s_ood", s_ood, 1)


def ood_metrics(s_id, s_ood):
    """Every metric of one ID/OOD pair, fractions in [0, 1]: auroc, aupr_in, aupr_out, aupr_in_trapz,
    aupr_out_trapz, fpr95_id, fpr95_ood, fpr95_hendrycks, fpr95_heat, ebm_paper_aupr."""
    a, b = _pair(s_id, s_ood)
    m = _lib.OodMetrics()
    _lib.call(lib.eb_ood_metrics_compute, _lib.f32_ptr(a), a.shape[0], _lib.f32_ptr(b), b.shape[0],
              ctypes.byref(m))
    out = {name: getattr(m, name) for name, _ in _lib.OodMetrics._fields_}
    v = ctypes.c_double()
    _lib.call(lib.eb_ebm_paper_aupr, _lib.f32_ptr(a), a.shape[0], _lib.f32_ptr(b), b.shape[0], ctypes.byref(v))
    out["ebm_paper_aupr"] = v.value
    return out


def auroc(s_id, s_ood):
    """P(s_id > s_ood) + ½·P(s_id = s_ood) (= sklearn roc_auc_score with ID positive)."""
    return ood_metrics(s_id, s_ood)["auroc"]


def aupr(s_id, s_ood, positive="id", method="ap"):
    """Area under the precision-recall curve; see the module's docstring for the conventions."""
    if method == "ebm_paper":
        if positive != "ood":
            raise ValueError("aupr: method 'ebm_paper' is OOD-positive (pass positive='ood')")
        return ood_metrics(s_id, s_ood)["ebm_paper_aupr"]
    key = _AUPR.get((positive, method))
    if key is None:
        raise ValueError(f"aupr: positive must be 'id' or 'ood' and method 'ap', 'trapz' or 'ebm_paper' "
                         f"(got positive={positive!r}, method={method!r})")
    return ood_metrics(s_id, s_ood)[key]


def fpr_at_tpr(s_id, s_ood, tpr=0.95, convention="id"):
    """FPR at 95 % TPR in one of the conventions of the module's docstring (only tpr = 0.95: the
    library computes the papers' operating point)."""
    if tpr != 0.95:
        raise ValueError(f"fpr_at_tpr: tpr {tpr!r}: only 0.95 is supported (the papers' FPR@95)")
    if convention not in _FPR:
        raise ValueError(f"fpr_at_tpr: convention {convention!r}: expected one of {', '.join(_FPR)}")
    return ood_metrics(s_id, s_ood)[_FPR[convention]]


def accuracy(logits, labels):
    """Fraction of rows whose argmax (first on ties) equals the label."""
    x = _lib.as_float32("logits", logits, 2)
    y = _lib.as_labels("labels", labels, x.shape[0])
    v = ctypes.c_double()
    _lib.call(lib.eb_accuracy, _lib.f32_ptr(x), x.shape[0], x.shape[1], _lib.i32_ptr(y), ctypes.byref(v))
    return v.value


def logit_scores(logits, kind="energy", temperature=1.0):
    """One score per row of logits [n, classes], higher = more ID: "msp" (max softmax(f/T)),
    "maxlogit" (max f), "energy" (T·logsumexp(f/T), 003_… Eq. 4)."""
    if kind not in _LOGIT_SCORES:
        raise ValueError(f"logit_scores: kind {kind!r}: expected one of {', '.join(_LOGIT_SCORES)}")
    x = _lib.as_float32("logits", logits, 2)
    k = ctypes.c_int()
    _lib.call(lib.eb_logit_score_parse, kind.encode(), ctypes.byref(k))
    out = np.empty(x.shape[0], dtype=np.float32)
    _lib.call(lib.eb_logit_scores, k.value, _lib.f32_ptr(x), x.shape[0], x.shape[1], ctypes.c_float(temperature),
              _lib.f32_ptr(out))
    return out
