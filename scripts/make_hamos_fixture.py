#!/usr/bin/python3
"""Reference fixture for tests/test_hamos.c: CIDER's losses, HamOS's OOD-discernment loss, the vMF-KDE ID
probability and the k-NN OOD-ness potential, written the way HamOS's released code computes them
(Fir-lat/HamOS_OOD openood/trainers/hamos_trainer.py; specs §3), in float64 PyTorch.

Run with Debian's python (torch 1.13):  /usr/bin/python3 scripts/make_hamos_fixture.py [out.json]
Writes tests/fixtures/hamos/hamos.json (atomically: temp file + rename).

Case "cider": z[12, 5] unit rows, labels y in {0, 1, 2}, prototypes P0[3, 5]:
  for j in order: P[y_j] = normalize(a P[y_j] + (1 - a) z_j)   (z_j not detached)
  comp = -(tau / tau_b) mean_i log softmax(z_i . P_det / tau)[y_i]
  dis  = mean_c log( 1/(C-1) sum_{c' != c} exp(P_c . P_c' / tau) )
  ood(x, Q) = (tau / tau_b) mean_i mean_c [l_ic + log sum_c' exp(-l_ic')],  l = x Q^T / tau
  ood_id = ood(z, P_det) (the code), ood_out = ood(o, P) on outliers o[4, 5] (the paper, through P);
  total = comp + 0.5 dis + 0.1 ood_out, and d total / d z.
Case "kde": class buffers Y[3, 20, 5] unit rows, queries q[6, 5], kappa 2, k 5:
  paper: l_c = log mean_i exp(kappa q . y_i) over the class, out = logsumexp_c l - max_c l
  code:  p_c = mean over the k largest q . y of exp(kappa (q . y - max q . y)), out = -log max softmax_c(p)
Case "potential": the same buffers, chains (u, v), k 5: U = -log(0.5 (d_k(u) + d_k(v))), d_k the distance to
the k-th nearest buffer row of the class (found without gradient), and dU/dq by autograd.
"""
import json
import os
import sys

import torch

OUT_PATH = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                                        "hamos", "hamos.json"))
SEED = 20261207
torch.set_default_dtype(torch.float64)


def unit(x):
    return x / x.norm(dim=-1, keepdim=True)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def ood_loss(x, q, tau, tau_b):
    l = x @ q.T / tau
    l = l - l.min(dim=1, keepdim=True).values  # the code's shift (no effect on the value)
    return tau / tau_b * (l + torch.logsumexp(-l, dim=1, keepdim=True)).mean()


def cider_case(g):
    n, d, C, a, tau, tau_b = 12, 5, 3, 0.95, 0.1, 0.07
    z = unit(torch.randn(n, d, generator=g)).requires_grad_(True)
    y = torch.tensor([0, 1, 2, 0, 0, 2, 1, 1, 2, 0, 2, 1])
    p0 = unit(torch.randn(C, d, generator=g))
    o = unit(torch.randn(4, d, generator=g))
    rows = [p0[c] for c in range(C)]
    for j in range(n):
        rows[y[j]] = unit(a * rows[y[j]] + (1 - a) * z[j])
    P = torch.stack(rows)
    P_det = unit(P.detach())
    logits = z @ P_det.T / tau
    comp = -(tau / tau_b) * torch.log_softmax(logits, dim=1)[torch.arange(n), y].mean()
    sim = P @ P.T / tau
    mask = 1 - torch.eye(C)
    dis = torch.log((mask * torch.exp(sim)).sum(1) / mask.sum(1)).mean()
    ood_id = ood_loss(z, P_det, tau, tau_b)
    ood_out = ood_loss(o, P, tau, tau_b)
    total = comp + 0.5 * dis + 0.1 * ood_out
    (grad,) = torch.autograd.grad(total, z)
    return {"name": "cider", "n": n, "d": d, "C": C, "momentum": a, "tau": tau, "tau_b": tau_b, "z": flat(z),
            "labels": y.tolist(), "proto0": flat(p0), "outliers": flat(o), "proto": flat(P), "comp": float(comp),
            "dis": float(dis), "ood_id": float(ood_id), "ood_out": float(ood_out), "total": float(total),
            "grad": flat(grad)}


def buffers(g):
    C, cap, d = 3, 20, 5
    centres = unit(torch.randn(C, d, generator=g))
    Y = unit(centres[:, None, :] + 0.4 * torch.randn(C, cap, d, generator=g))
    return C, cap, d, Y


def kde_case(g, Y):
    C, cap, d = Y.shape
    kappa, k = 2.0, 5
    q = unit(torch.randn(6, d, generator=g))
    ip = torch.einsum("nd,ckd->nck", q, Y)
    lp = torch.logsumexp(kappa * ip, dim=2) - torch.log(torch.tensor(float(cap)))
    paper = torch.logsumexp(lp, dim=1) - lp.max(dim=1).values
    top = ip.topk(k, dim=2).values
    pdf = torch.exp(kappa * (top - top.max(dim=2, keepdim=True).values)).mean(dim=2)
    code = -torch.log(torch.softmax(pdf, dim=1).max(dim=1).values)
    return {"name": "kde", "C": C, "cap": cap, "d": d, "kappa": kappa, "k": k, "buffer": flat(Y), "q": flat(q),
            "paper": flat(paper), "code": flat(code)}


def potential_case(g, Y):
    C, cap, d = Y.shape
    k = 5
    u = [0, 1, 2, 0]
    v = [1, 2, 0, 2]
    q = unit(torch.randn(4, d, generator=g)).requires_grad_(True)
    pots = []
    for i in range(4):
        ds = []
        for c in (u[i], v[i]):
            with torch.no_grad():
                dist = (q[i][None, :] - Y[c]).norm(dim=1)
                idx = dist.topk(k, largest=False).indices[k - 1]
            ds.append((q[i] - Y[c][idx]).norm())
        pots.append(-torch.log(0.5 * (ds[0] + ds[1])))
    pot = torch.stack(pots)
    (grad,) = torch.autograd.grad(pot.sum(), q)
    return {"name": "potential", "k": k, "u": u, "v": v, "q": flat(q), "pot": flat(pot), "grad": flat(grad)}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else OUT_PATH
    g = torch.Generator().manual_seed(SEED)
    cases = [cider_case(g)]
    C, cap, d, Y = buffers(g)
    cases.append(kde_case(g, Y))
    cases.append(potential_case(g, Y))
    cases[-1]["buffer"] = flat(Y)
    cases[-1].update({"C": C, "cap": cap, "d": d})
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
