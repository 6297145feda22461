#!/usr/bin/python3
"""Reference scores of the activation-shaping detectors react, ash_s, ash_p, ash_b, scale
(src/ood/detectors/react.c, ash.c, scale.c; tests/test_activation_shaping.c).

Each case: float32 ID training features [n, D], a linear head W [C, D], b [C] and query features [m, D];
the reference, written here from the methods' definitions (docs/methods.md "Activation shaping") in
PyTorch float64 from the float32 inputs:
  react   c = np.percentile(train features, p) (linear interpolation); a = min(z, c)
  ash_*   k = D - round(D*p/100) kept per row (torch.topk); ash_p keeps them, ash_b sets each kept value to
          sum(z)/k, ash_s scales the kept values by exp(sum(z)/sum(kept))
  scale   a = z * exp(sum(z) / sum(top-k of z))
  score   T * logsumexp((a W^T + b)/T)
Features are strictly positive and continuous (no ties, which torch.topk resolves arbitrarily).
Output: tests/fixtures/activation_shaping.json.  Run: /usr/bin/python3 scripts/make_activation_shaping_fixture.py
"""
import json
import os

import numpy as np
import torch


def f32_list(a):
    return [float("%.9g" % v) for v in np.asarray(a, dtype=np.float64).ravel()]


def keep_top(z, p):
    d = z.shape[1]
    k = d - int(np.round(d * p / 100.0))
    v, i = torch.topk(z, k, dim=1)
    return torch.zeros_like(z).scatter_(1, i, v), k


def shaped(kind, z, p, clip):
    if kind == "react":
        return z.clamp(max=clip)
    s1 = z.sum(1, keepdim=True)
    kept, k = keep_top(z, p)
    if kind == "ash_p":
        return kept
    if kind == "ash_b":
        return (kept > 0).to(z.dtype) * (s1 / k)
    s2 = kept.sum(1, keepdim=True)
    if kind == "ash_s":
        return kept * torch.exp(s1 / s2)
    return z * torch.exp(s1 / s2)  # scale


def main():
    rng = np.random.default_rng(2026)
    cases = []
    for name, (n, m, d, c, temperature) in {"small": (40, 20, 16, 5, 1.0), "wide": (30, 15, 40, 7, 2.5)}.items():
        train = (np.abs(rng.standard_normal((n, d))) + 0.01).astype(np.float32)
        test = (np.abs(rng.standard_normal((m, d))) * 1.3 + 0.01).astype(np.float32)
        w = (rng.standard_normal((c, d)) * 0.3).astype(np.float32)
        b = (rng.standard_normal(c) * 0.1).astype(np.float32)
        z = torch.tensor(test, dtype=torch.float64)
        wt, bt = torch.tensor(w, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
        for kind, p in (("react", 90.0), ("ash_s", 65.0), ("ash_p", 65.0), ("ash_b", 65.0), ("scale", 85.0),
                        ("ash_s", 80.0), ("react", 70.0)):
            clip = float(np.percentile(train.astype(np.float64), p))
            logits = shaped(kind, z, p, clip) @ wt.T + bt
            scores = temperature * torch.logsumexp(logits / temperature, dim=1)
            cases.append({"name": f"{name}-{kind}-{p:g}", "detector": kind, "percentile": p,
                          "temperature": temperature, "n": n, "m": m, "dim": d, "classes": c,
                          "train": f32_list(train), "test": f32_list(test), "weight": f32_list(w),
                          "bias": f32_list(b), "clip": clip, "scores": f32_list(scores.numpy())})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                       "activation_shaping.json")
    with open(out, "w") as f:
        json.dump({"cases": cases}, f)
    print(f"wrote {out}: {len(cases)} cases")


if __name__ == "__main__":
    main()
