#!/usr/bin/python3
"""Reference fixture for tests/test_ebm_ssm.c: the sliced score matching (SSM-VR) loss and its
parameter gradient, exact, by double backprop (create_graph) in float64 PyTorch.

Run with Debian's python (torch 1.13):  /usr/bin/python3 scripts/make_ssm_fixture.py [out.json]
Writes tests/fixtures/ssm/ssm.json (atomically: temp file + rename).

The model: an MLP 3 -> 12 -> 12 -> 4 with softplus (beta 1), PyTorch's nn.Linear initialisation from a
fixed seed, every weight and bias then multiplied by WEIGHT_SCALE = 2.5 and rounded to float32. (At
PyTorch's initialisation f = logsumexp(logits) is almost flat in x: its Hessian is ~1e-2, so every
finite-difference error would be float32 rounding and the test could not tell a right estimator from
one that drops a term. Scaled, f curves like a trained density, |v'Hv| ~ 1.)
f(x) = logsumexp_k g_k(x), g = the logits. For fixed x[B, 3], v[B, 3] in {+-1} (Rademacher):
    L = mean_i [ 1/2 |grad_x f(x_i)|^2 + v_i' grad_x (v_i' grad_x f)(x_i) ]           (SSM-VR)
    L_sup = L + CE(g(x), y)                                                           (gamma = 1)
Each case stores, in float64:
  exact      L, its two terms, dL/dtheta, and the gradients of each term alone (for the wrong-sign test)
  ce         the mean cross-entropy and its gradient
  fd[h]      for h in H_VALUES: the SAME finite-difference estimator as src/ood/objectives/score_matching.c
             evaluated in float64 (so fd - exact is its truncation error alone, O(s^2)), the step s, and
             the rounding scales A = sum_r |c_r| * |f_r| (value; plus |x_r||grad f_r| for the rounded
             inputs) and A_j = sum_r |c_r| * |d f_r / d theta_j| (gradient): a float32 evaluation of
             sum_r c_r f_r, each f_r with a relative error of a few eps, is off by at most ~K * eps * A
             (for the gradient the test uses A_j + mean_j A_j: rounding also reaches a parameter through the
             other layers' values, which matters for entries whose own A_j is tiny).
The script checks that the truncation error shrinks like s^2 (ratio of the two h values) and prints
how far a float32 PyTorch evaluation of the estimator lands, in units of eps * A (the C test's K).
"""
import json
import math
import os
import sys

import numpy as np
import torch

OUT_PATH = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                                        "ssm", "ssm.json"))
SEED = 20261122
DIMS = [3, 12, 12, 4]
WEIGHT_SCALE = 2.5
BATCH = 8
H_VALUES = [0.02, 0.1]  # the default h and a larger one (the test also runs h = 1, too large)
EPS32 = 2.0 ** -24

torch.set_default_dtype(torch.float64)


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def make_params():
    torch.manual_seed(SEED)
    params = []  # [(name, tensor)] in ebood's registration order
    for i in range(len(DIMS) - 1):
        lin = torch.nn.Linear(DIMS[i], DIMS[i + 1]).double()
        params.append((f"layers.{i}.weight", torch.tensor(f32(lin.weight.detach().numpy() * WEIGHT_SCALE))))
        params.append((f"layers.{i}.bias", torch.tensor(f32(lin.bias.detach().numpy() * WEIGHT_SCALE))))
    return params


def logits_of(ps, x):
    h = x
    n = len(ps) // 2
    for i in range(n):
        h = h @ ps[2 * i].T + ps[2 * i + 1]
        if i < n - 1:
            h = torch.nn.functional.softplus(h)
    return h


def f_of(ps, x):
    return torch.logsumexp(logits_of(ps, x), dim=1)


def leaves(params):
    return [t.clone().requires_grad_(True) for _, t in params]


def flat(grads):
    return torch.cat([g.reshape(-1) for g in grads])


def exact_terms(params, x, v):
    """(score, trace, grad_score, grad_trace) by double backprop, as the released code."""
    ps = leaves(params)
    xr = x.clone().requires_grad_(True)
    f = f_of(ps, xr)
    (g,) = torch.autograd.grad(f.sum(), xr, create_graph=True)
    (hv,) = torch.autograd.grad((g * v).sum(), xr, create_graph=True)
    score = (0.5 * (g * g).sum(dim=1)).mean()
    trace = (hv * v).sum(dim=1).mean()
    gs = flat(torch.autograd.grad(score, ps, retain_graph=True))
    gt = flat(torch.autograd.grad(trace, ps))
    return score.item(), trace.item(), gs, gt


def cross_entropy(params, x, y):
    ps = leaves(params)
    ce = torch.nn.functional.cross_entropy(logits_of(ps, x), y)
    return ce.item(), flat(torch.autograd.grad(ce, ps))


def fd_estimator(params, x, v, h, dtype):
    """The C estimator (score_matching.c), in `dtype`: value, gradient, step, and rounding scales."""
    B, D = x.shape
    rms = math.sqrt(float((x.double() ** 2).mean()))
    s = h * max(1.0, rms)
    psd = [t.to(dtype) for _, t in params]
    xd = x.to(dtype).clone().requires_grad_(True)
    f0 = f_of(psd, xd)
    (g,) = torch.autograd.grad(f0.sum(), xd)
    g64 = g.double()
    gn = g64.norm(dim=1)
    vn = v.norm(dim=1)
    u = g64 / gn[:, None]
    w = v / vn[:, None]
    x64 = x.double()
    rows = torch.cat([x64 + s * u, x64 - s * u, x64 + s * w, x64 - s * w, x64]).to(dtype)
    cs = gn / (2 * s * B)
    ct = vn ** 2 / (s * s * B)
    coef = torch.cat([cs, -cs, ct, ct, -2 * ct])
    ps = [t.to(dtype).clone().requires_grad_(True) for _, t in params]
    f = f_of(ps, rows)
    grad = flat(torch.autograd.grad((coef.to(dtype) * f).sum(), ps)).double()
    fd = f.detach().double()
    score = (0.5 * gn ** 2).mean().item()
    trace = (ct * (fd[2 * B:3 * B] - 2 * fd[4 * B:] + fd[3 * B:4 * B])).sum().item()
    if dtype != torch.float64:
        return score + trace, grad, s, None, None
    # rounding scales (float64): per-row |f_r| + |x_r||grad_x f_r| and |d f_r / d theta|
    xr = rows.clone().requires_grad_(True)
    fr = f_of([t for _, t in params], xr)
    (gr,) = torch.autograd.grad(fr.sum(), xr)
    a_value = (coef.abs() * (fr.detach().abs() + rows.norm(dim=1) * gr.norm(dim=1))).sum().item()
    a_grad = torch.zeros_like(grad)
    for r in range(5 * B):
        psr = leaves(params)
        a_grad += abs(coef[r].item()) * flat(torch.autograd.grad(f_of(psr, rows[r:r + 1])[0], psr)).abs()
    return score + trace, grad, s, a_value, a_grad


def num(v, digits=10):
    return float("%.*g" % (digits, float(v)))


def nums(a, digits=10):
    return [num(v, digits) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def make_case(name, params, x, v, y):
    score, trace, gs, gt = exact_terms(params, x, v)
    ce, gce = cross_entropy(params, x, y)
    case = {
        "name": name, "batch": BATCH, "dim": DIMS[0],
        "x": nums(x, 9), "v": nums(v, 3), "labels": [int(t) for t in y],
        "exact": {"loss": num(score + trace), "score": num(score), "trace": num(trace),
                  "grad_score": nums(gs), "grad_trace": nums(gt)},
        "ce": {"value": num(ce), "grad": nums(gce)},
        "fd": [],
    }
    trunc = []
    for h in H_VALUES:
        val, grad, s, a_value, a_grad = fd_estimator(params, x, v, h, torch.float64)
        val32, grad32, _, _, _ = fd_estimator(params, x, v, h, torch.float32)
        exact_grad = gs + gt
        trunc.append(((grad - exact_grad).abs().max().item(), s))
        k_value = abs(val32 - val) / (EPS32 * a_value)
        k_grad = ((grad32 - grad).abs() / (EPS32 * (a_grad + a_grad.mean()))).max().item()
        print(f"{name} h={h} s={s:.4g}: truncation |dL|={abs(val - score - trace):.3g} "
              f"max|dG|={trunc[-1][0]:.3g} (max|G|={exact_grad.abs().max().item():.3g}); "
              f"float32 torch: rounding/(eps*A) value {k_value:.3g}, gradient {k_grad:.3g} (A_j + mean A); "
              f"eps*A value {EPS32 * a_value:.3g}, max eps*A_j {EPS32 * a_grad.max().item():.3g}")
        case["fd"].append({"h": h, "step": num(s), "loss": num(val), "grad": nums(grad),
                           "a_value": num(a_value, 3), "a_grad": nums(a_grad, 3)})
    (e1, s1), (e2, s2) = trunc[0], trunc[-1]
    order = math.log(e2 / e1) / math.log(s2 / s1)
    print(f"{name}: truncation order in s (gradient, max over entries) = {order:.2f} (expected 2)")
    if not 1.7 < order < 2.3:
        sys.exit(f"{name}: the finite-difference truncation error is not O(s^2) (order {order:.2f})")
    return case


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else OUT_PATH
    params = make_params()
    rng = np.random.default_rng(SEED)
    cases = []
    for name, scale in [("small", 0.6), ("wide", 3.0)]:  # rms(x) < 1: s = h;  rms(x) > 1: s = h * rms
        x = torch.tensor(f32(rng.normal(size=(BATCH, DIMS[0])) * scale))
        v = torch.tensor(np.where(rng.normal(size=(BATCH, DIMS[0])) >= 0, 1.0, -1.0))
        y = torch.tensor(rng.integers(0, DIMS[-1], size=BATCH))
        cases.append(make_case(name, params, x, v, y))
    doc = {
        "about": "SSM-VR loss and gradient: exact (float64 double backprop) vs the finite-difference "
                 "estimator; made by scripts/make_ssm_fixture.py",
        "model": {"dims": DIMS, "activation": "softplus", "beta": 1.0, "weight_scale": WEIGHT_SCALE},
        "param_names": [n for n, _ in params],
        "params": {n: nums(t, 9) for n, t in params},
        "cases": cases,
    }
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as fp:
        json.dump(doc, fp, separators=(",", ":"))
        fp.write("\n")
    os.replace(tmp, out)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
