#!/usr/bin/python3
"""Reference values for tests/test_metrics.c and tests/test_logit_scores.c.

Run with Debian's interpreter (numpy, scikit-learn, torch):
    /usr/bin/python3 scripts/make_metrics_fixture.py
Writes tests/fixtures/metrics/{metrics_cases.json, logit_scores.json}.

Scores and logits are written as short decimals. Both sides read them as the nearest double and
then round to float32 (C: strtod then (float); here: np.float32 of the Python float), so the C code
and the references below see bit-identical float32 inputs. All references are computed in float64
on those float32 values, with scikit-learn / NumPy / PyTorch, never with ebood.

Score convention: higher = more in-distribution (ID).
"""
import json
import os

import numpy as np
import torch
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "fixtures", "metrics")
LEVEL = 0.95


def as_f32(values):
    """Python floats -> the float32 values the C side will see, held in float64."""
    return np.asarray(values, dtype=np.float64).astype(np.float32).astype(np.float64)


def fpr_at_tpr(y, score, drop_intermediate):
    """FPR at the first ROC point with TPR >= 0.95 (OpenOOD's fpr_list[argmax(tpr_list >= 0.95)])."""
    fpr, tpr, _ = roc_curve(y, score, drop_intermediate=drop_intermediate)
    return float(fpr[np.argmax(tpr >= LEVEL)])


def fpr95_hendrycks(s_id, s_ood):
    """Paper 003's fpr_and_fdr_at_recall, restated: ID positive; over the thresholds from the
    highest score down to the first with full recall, take the one whose recall is closest to 0.95
    (ties -> the larger recall), report FP / n_ood there."""
    scores = np.concatenate([s_id, s_ood])
    is_id = np.r_[np.ones(s_id.size, bool), np.zeros(s_ood.size, bool)]
    order = np.argsort(-scores, kind="stable")
    scores, is_id = scores[order], is_id[order]
    group_end = np.r_[np.flatnonzero(np.diff(scores) != 0), scores.size - 1]
    tp = np.cumsum(is_id)[group_end].astype(np.float64)
    fp = (group_end + 1) - tp
    recall = tp / tp[-1]
    k_full = int(np.searchsorted(tp, tp[-1]))
    candidates = np.arange(k_full, -1, -1)  # by decreasing recall; argmin keeps the first minimum
    best = candidates[np.argmin(np.abs(recall[candidates] - LEVEL))]
    return float(fp[best] / s_ood.size)


def fpr95_heat(s_id, s_ood):
    """Paper 001 (HEAT) get_fpr on energies E = -s: share of OOD with E < numpy 95th percentile of
    E_id. The interpolation is also written out, to pin down exactly what the C code must do."""
    e_id, e_ood = -s_id, -s_ood
    q = np.percentile(e_id, 95)
    e = np.sort(e_id)
    n = e.size
    h = (n - 1) * LEVEL
    if h >= n - 1:
        q_explicit = e[-1]
    else:
        lo = int(np.floor(h))
        g = h - lo
        d = e[lo + 1] - e[lo]
        q_explicit = e[lo + 1] - d * (1.0 - g) if g >= 0.5 else e[lo] + d * g
    assert q_explicit == q, (q_explicit, q)
    return float(np.sum(e_ood < q) / e_ood.size)


def ebm_paper_aupr(s_id, s_ood):
    """Paper 002's AUPR column: truncate both to the first min(n_id, n_ood), OOD positive, score -s."""
    m = min(s_id.size, s_ood.size)
    ood, id_ = s_ood[:m], s_id[:m]
    preds = np.concatenate([ood, id_])
    labels = np.concatenate([np.ones(m), np.zeros(m)])
    return float(average_precision_score(labels, -preds))


def metrics_case(name, s_id_list, s_ood_list, note=""):
    s_id, s_ood = as_f32(s_id_list), as_f32(s_ood_list)
    s = np.concatenate([s_id, s_ood])
    y_id = np.r_[np.ones(s_id.size), np.zeros(s_ood.size)]
    y_ood = 1.0 - y_id
    p_in, r_in, _ = precision_recall_curve(y_id, s)
    p_out, r_out, _ = precision_recall_curve(y_ood, -s)
    case = {
        "name": name,
        "note": note,
        "s_id": [float(v) for v in s_id_list],
        "s_ood": [float(v) for v in s_ood_list],
        "auroc": float(roc_auc_score(y_id, s)),
        "aupr_in": float(average_precision_score(y_id, s)),
        "aupr_out": float(average_precision_score(y_ood, -s)),
        "aupr_in_trapz": float(auc(r_in, p_in)),
        "aupr_out_trapz": float(auc(r_out, p_out)),
        "fpr95_id": fpr_at_tpr(y_id, s, drop_intermediate=False),
        "fpr95_ood": fpr_at_tpr(y_ood, -s, drop_intermediate=False),
        "fpr95_hendrycks": fpr95_hendrycks(s_id, s_ood),
        "fpr95_heat": fpr95_heat(s_id, s_ood),
        "ebm_paper_aupr": ebm_paper_aupr(s_id, s_ood),
        # informational: sklearn's default roc_curve(drop_intermediate=True), which ebood does not use
        "fpr95_id_sklearn_default": fpr_at_tpr(y_id, s, drop_intermediate=True),
        "fpr95_ood_sklearn_default": fpr_at_tpr(y_ood, -s, drop_intermediate=True),
    }
    # symmetry sanity of the oracle itself
    assert abs(case["auroc"] - roc_auc_score(y_ood, -s)) < 1e-12
    return case


def rounded(x, decimals):
    return [float(v) for v in np.round(x, decimals)]


def metrics_cases(rng):
    cases = []
    cases.append(metrics_case("ties_rounded", rounded(rng.normal(1.0, 1.0, 400), 1),
                              rounded(rng.normal(0.0, 1.0, 300), 1),
                              "scores rounded to 0.1: many tied thresholds mixing ID and OOD"))
    cases.append(metrics_case("all_equal", [0.5] * 50, [0.5] * 40, "one threshold: AUROC 0.5, AP = base rate"))
    cases.append(metrics_case("unbalanced_7_300", rounded(rng.normal(1.5, 1.0, 7), 3),
                              rounded(rng.normal(0.0, 1.0, 300), 3)))
    cases.append(metrics_case("random_2000_1500", rounded(rng.normal(0.8, 1.0, 2000), 5),
                              rounded(rng.normal(0.0, 1.2, 1500), 5)))
    cases.append(metrics_case("separated", rounded(rng.uniform(1.0, 2.0, 60), 4),
                              rounded(rng.uniform(-2.0, -1.0, 80), 4), "perfect separation"))
    cases.append(metrics_case("reversed", rounded(rng.uniform(-2.0, -1.0, 30), 4),
                              rounded(rng.uniform(1.0, 2.0, 25), 4), "OOD all above ID: AUROC 0"))
    cases.append(metrics_case("single_pair", [0.25], [0.25]))
    cases.append(metrics_case("signed_zeros", [0.0, -0.0, 1.0, -1.0, 0.0], [-0.0, 0.0, -1.0, 2.0],
                              "+0.0 and -0.0 are one threshold"))
    # Each of 20 thresholds holds one ID and one OOD sample: the ROC steps are all equal, so
    # sklearn's default drop_intermediate=True removes every inner vertex, including the one
    # where TPR first reaches 0.95 (FPR 0.95); its default answer is then 1.0.
    steps = [float(v) for v in range(20, 0, -1)]
    cases.append(metrics_case("equal_steps", steps, steps,
                              "drop_intermediate=True would give fpr95 1.0 instead of 0.95"))
    # n_id = 50: recall moves in steps of 0.02 and never equals 0.95 (hendrycks picks a neighbour)
    cases.append(metrics_case("hendrycks_between", rounded(rng.normal(1.0, 1.0, 50), 2),
                              rounded(rng.normal(0.0, 1.0, 50), 2)))
    # recall jumps 0.94 -> 0.97 inside a tie group: hendrycks settles for 0.94 (the later of the
    # two 0.94 thresholds), fpr95_id must go to 0.97
    id_scores = [10.0 + 0.01 * i for i in range(94)] + [5.0] * 3 + [1.0] * 3
    ood_scores = [7.0] * 10 + [5.0] * 5 + [0.0] * 5
    cases.append(metrics_case("hendrycks_below", id_scores, ood_scores,
                              "fpr95_hendrycks 0.5 (recall 0.94) vs fpr95_id 0.75 (recall 0.97)"))
    return cases


def short(values):
    """10 significant digits: plenty for the 1e-5 relative tolerance, and keeps the file small."""
    return [float(f"{v:.10g}") for v in values]


def logit_case(name, logits, temperature):
    f32 = np.asarray(logits, dtype=np.float64).astype(np.float32)
    f = torch.from_numpy(f32.astype(np.float64))
    T = float(np.float32(temperature))
    return {
        "name": name,
        "temperature": float(temperature),
        "n": int(f32.shape[0]),
        "c": int(f32.shape[1]),
        "logits": [float(v) for v in np.asarray(logits, dtype=np.float64).ravel()],
        "msp": short(torch.softmax(f / T, dim=1).max(dim=1).values.tolist()),
        "maxlogit": short(f.max(dim=1).values.tolist()),
        "energy": short((T * torch.logsumexp(f / T, dim=1)).tolist()),
    }


def logit_cases(rng):
    extreme = [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0],
               [1000.0, 1000.0, 1000.0], [-1000.0, 0.5, -3.25], [7.5, 7.5, -2.0]]
    cases = [logit_case("extreme_T1", extreme, 1.0), logit_case("extreme_T1000", extreme, 1000.0),
             logit_case("extreme_T0.5", extreme, 0.5)]
    random = np.round(rng.normal(0.0, 5.0, (200, 10)), 3).tolist()
    cases.append(logit_case("random_T1", random, 1.0))
    cases.append(logit_case("random_T2.5", random, 2.5))
    cases.append(logit_case("one_class_T1", [[3.0], [-1000.0], [0.0]], 1.0))
    # accuracy: labels for the random logits (some right, some wrong), and argmax ties (first wins)
    labels = rng.integers(0, 10, 200)
    argmax = np.argmax(np.asarray(random, dtype=np.float32), axis=1)
    labels[:100] = argmax[:100]
    ties = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, -1.0, 0.0], [5.0, 4.0, 5.0]]
    tie_labels = [1, 0, 2, 0]
    accuracy = {
        "random": {"n": 200, "c": 10, "logits_case": "random_T1", "labels": labels.tolist(),
                   "accuracy": float(np.mean(argmax == labels))},
        "ties": {"n": 4, "c": 3, "logits": [v for row in ties for v in row], "labels": tie_labels,
                 "accuracy": float(np.mean(np.argmax(np.asarray(ties, dtype=np.float32), axis=1) == tie_labels))},
    }
    return cases, accuracy


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as fp:
        json.dump(obj, fp, separators=(",", ":"))
        fp.write("\n")
    os.replace(tmp, path)


def main():
    rng = np.random.default_rng(20240607)
    os.makedirs(OUT_DIR, exist_ok=True)
    cases = metrics_cases(rng)
    for c in cases:
        for conv in ("id", "ood"):
            if c[f"fpr95_{conv}"] != c[f"fpr95_{conv}_sklearn_default"]:
                print(f"{c['name']}: fpr95_{conv} {c[f'fpr95_{conv}']} vs sklearn default "
                      f"{c[f'fpr95_{conv}_sklearn_default']}")
    write_json(os.path.join(OUT_DIR, "metrics_cases.json"),
               {"generator": "scripts/make_metrics_fixture.py", "sklearn_roc_curve": "drop_intermediate=False",
                "cases": cases})
    lcases, accuracy = logit_cases(rng)
    write_json(os.path.join(OUT_DIR, "logit_scores.json"),
               {"generator": "scripts/make_metrics_fixture.py", "cases": lcases, "accuracy": accuracy})
    for name in ("metrics_cases.json", "logit_scores.json"):
        print(name, os.path.getsize(os.path.join(OUT_DIR, name)), "bytes")


if __name__ == "__main__":
    main()
