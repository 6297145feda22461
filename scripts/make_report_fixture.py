#!/usr/bin/python3
"""Reference curves for tests/test_report.c (the report's ROC and precision-recall figures).

Run with Debian's interpreter (numpy, scikit-learn):
    /usr/bin/python3 scripts/make_report_fixture.py
Writes tests/fixtures/report/curves.json: per case the ID and OOD scores (short decimals, read as float32 on
both sides) and scikit-learn's roc_curve(drop_intermediate=False) and precision_recall_curve with ID positive,
plus the threshold that keeps 95 % of the ID scores (the highest t with TPR(t) >= 0.95) and the share of OOD
scores at or above it. Never computed with ebood.
"""
import json
import os

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "report", "curves.json")


def case(name, s_id, s_ood):
    s_id = [float(f"{v:.3f}") for v in s_id]
    s_ood = [float(f"{v:.3f}") for v in s_ood]
    a = np.asarray(s_id, dtype=np.float32).astype(np.float64)
    b = np.asarray(s_ood, dtype=np.float32).astype(np.float64)
    y = np.r_[np.ones(len(a)), np.zeros(len(b))]
    s = np.r_[a, b]
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    precision, recall, _ = precision_recall_curve(y, s)
    # sklearn orders PR by decreasing recall with a final (recall 0, precision 1) point; reverse it and
    # drop that point, so vertex k matches roc vertex k + 1 up to full recall
    precision, recall = precision[::-1][1:], recall[::-1][1:]
    k = int(np.argmax(tpr >= 0.95))
    t95 = float(thr[k])
    return {
        "name": name,
        "id": s_id,
        "ood": s_ood,
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "recall": recall.tolist(),
        "precision": precision.tolist(),
        "threshold95": t95,
        "ood_at_or_above": float(np.mean(b >= t95)),
    }


rng = np.random.default_rng(14)
cases = [
    case("separated", rng.normal(2, 1, 300), rng.normal(-1, 1, 200)),
    case("overlapping_ties", np.round(rng.normal(0.5, 1, 257), 1), np.round(rng.normal(0, 1, 131), 1)),
    case("small", [0.3, 0.1, 0.2], [0.2, 0.0]),
    case("one_ood", rng.normal(0, 1, 40), [0.25]),
]
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"cases": cases}, f, indent=1)
print("wrote", OUT)
