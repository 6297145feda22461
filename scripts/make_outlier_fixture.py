#!/usr/bin/python3
"""Reference fixture for tests/test_outliers.c: the losses of Outlier Exposure, energy-bounded fine-tuning
and Hopfield Boosting with their gradients w.r.t. the classifier's parameters, the streaming border energy
and the boosting weights, written the way the released codes compute them (hendrycks/outlier-exposure,
wetliu/energy_ood, ml-jku/hopfield-boosting; shared/specs/seed-code-specs.md §1-2), in float64 PyTorch.

Run with Debian's python (torch 1.13):  /usr/bin/python3 scripts/make_outlier_fixture.py [out.json]
Writes tests/fixtures/outliers/outliers.json (atomically: temp file + rename).

Network: an MLP 5 -> 8 -> 3 with tanh (ebood's layout: layers.0.weight [8, 5], layers.0.bias, layers.1.weight
[3, 8], layers.1.bias, flattened in that order); features = the tanh activations [N, 8]. Batch: x_id[4, 5]
with labels, x_aux[6, 5], concatenated into ONE forward pass (ID rows first).

Cases ("kind"):
  0 oe              L = CE(f(x_id), y) + lam * mean_out(lse f - mean_k f)
  1 energy_ft       L = CE + lam * (mean relu(E_in - m_in)^2 + mean relu(m_out - E_out)^2), E = -lse f
  2 hopfield_boost  L = CE + lam * mean_xi L_OOD(xi), z = normalize(head(features)), head = Linear(8, 6) ReLU
                    Linear(6, 4) (frozen; its weights are given), L_OOD of Eq. 5 with beta; also head "none"
  3 border          L_OOD of queries q[7, 4] against memories I[5, 4], O[9, 4] (normalised rows) and the
                    boosting weights softmax(beta * L_OOD) (Eq. 7)
"""
import json
import math
import os
import sys

import torch

OUT_PATH = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                                        "outliers", "outliers.json"))
SEED = 20261207


def flat(ts):
    return [float(v) for t in ts for v in t.detach().reshape(-1).tolist()]


def network():
    torch.manual_seed(SEED)
    l0, l1 = torch.nn.Linear(5, 8).double(), torch.nn.Linear(8, 3).double()
    with torch.no_grad():  # larger weights: confident logits, energies of a few units
        l0.weight.mul_(3.0)
        l1.weight.mul_(4.0)
    x = torch.cat([torch.randn(4, 5, dtype=torch.float64), 2.0 * torch.randn(6, 5, dtype=torch.float64)])
    y = torch.tensor([0, 2, 1, 2])
    return l0, l1, x, y


def forward(l0, l1, x):
    h = torch.tanh(l0(x))
    return l1(h), h


def lse_beta(s, beta):  # beta * lse(beta, s) of Eq. 3 = natural log-sum-exp of beta * s over the last axis
    return torch.logsumexp(beta * s, dim=1)


def border(z, zi, zo, beta):  # beta * L_OOD(xi) of Eq. 5 for each row of z
    a, b = z @ zi.T, z @ zo.T
    return lse_beta(a, beta) + lse_beta(b, beta) - 2.0 * lse_beta(torch.cat([a, b], dim=1), beta)


def case(kind, name, **kw):
    l0, l1, x, y = network()
    params = [l0.weight, l0.bias, l1.weight, l1.bias]
    logits, feats = forward(l0, l1, x)
    ce = torch.nn.functional.cross_entropy(logits[:4], y)
    out = {"name": name, "kind": kind, "params": flat(params), "x": flat([x]), "labels": y.tolist()}
    if kind == 0:
        lam = 0.5
        o = logits[4:]
        loss = ce + lam * (torch.logsumexp(o, 1) - o.mean(1)).mean()
        out.update(lam=lam)
    elif kind == 1:
        lam = 0.1
        e = -torch.logsumexp(logits, 1)
        m_in, m_out = kw["m_in"], kw["m_out"]
        loss = ce + lam * ((torch.relu(e[:4] - m_in) ** 2).mean() + (torch.relu(m_out - e[4:]) ** 2).mean())
        out.update(lam=lam, m_in=m_in, m_out=m_out, energies=flat([e]))
    else:
        lam, beta = 0.5, 4.0
        if kw["head"] == "frozen":
            torch.manual_seed(SEED + 1)
            h0, h1 = torch.nn.Linear(8, 6).double(), torch.nn.Linear(6, 4).double()
            z = h1(torch.relu(h0(feats)))
            out.update(head=flat([h0.weight, h0.bias, h1.weight, h1.bias]))
        else:
            z = feats
        z = torch.nn.functional.normalize(z, dim=1)
        per = border(z, z[:4], z[4:], beta) / beta
        loss = ce + lam * per.mean()
        out.update(lam=lam, beta=beta, head_kind=kw["head"], l_ood=flat([per]))
    grads = torch.autograd.grad(loss, params)
    out.update(loss=float(loss), grad=flat(grads))
    return out


def border_case():
    torch.manual_seed(SEED + 2)
    beta = 4.0
    nrm = torch.nn.functional.normalize
    q, mi, mo = (nrm(torch.randn(n, 4, dtype=torch.float64), dim=1) for n in (7, 5, 9))
    bl = border(q, mi, mo, beta)
    return {"name": "border", "kind": 3, "beta": beta, "q": flat([q]), "mem_id": flat([mi]), "mem_aux": flat([mo]),
            "l_ood": flat([bl / beta]), "weights": flat([torch.softmax(bl, 0)])}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else OUT_PATH
    l0, l1, x, _ = network()
    with torch.no_grad():
        e = -torch.logsumexp(forward(l0, l1, x)[0], 1)
    # margins inside the energies' range so that both hinges are active for some rows and not others
    m_in, m_out = float(e[:4].median()), float(e[4:].median())
    if m_in >= m_out:
        m_in, m_out = m_out, m_in
    cases = [case(0, "oe"), case(1, "energy_ft", m_in=m_in, m_out=m_out),
             case(2, "hopfield_boost_frozen", head="frozen"), case(2, "hopfield_boost_none", head="none"),
             border_case()]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"seed": SEED, "torch": torch.__version__, "cases": cases}, f, indent=1)
    os.replace(tmp, path)
    print("wrote", path)


if __name__ == "__main__":
    main()
