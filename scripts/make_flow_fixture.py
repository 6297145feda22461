#!/usr/bin/python3
"""Reference values for the radial normalizing flow (src/nn/radial_flow.c, tests/test_radial_flow.c).

An independent float64 PyTorch implementation of the EBM paper's flow baseline
(002_39b8670b82235277.txt App. C; its code applies pyro's Radial formula to the data, x -> z, and
scores log N(z; 0, I) + sum log|det|). pyro is not a Debian package, so the layer is written out
here from pyro's documented parametrisation:
    alpha = softplus(alpha'), beta = -alpha + softplus(beta'), r = ||z - x0||, h = 1/(alpha + r),
    z' = z + beta*h*(z - x0), log|det| = (d-1)*log1p(beta*h) + log1p(beta*h + beta*h'*r), h' = -h^2.
Parameters and inputs are rounded to float32 first, so the C test feeds exactly the same numbers.

Writes tests/fixtures/flow/radial_flow.json:
  {"cases": [{"name", "dim", "n_layers", "n", "params" (the C flat layout: per layer x0[d], alpha_prime,
   beta_prime), "x" [n*d], "log_p" [n], "z" [n*d] (final z), "grad" (d(-mean log p)/d params, flat),
   "x_grad" (d(sum log p)/dx, [n*d])}]}
Usage: /usr/bin/python3 scripts/make_flow_fixture.py
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def radial_log_p(x, layers):
    z = x
    logdet = torch.zeros(x.shape[0])
    d = x.shape[1]
    for x0, ap, bp in layers:
        alpha = torch.nn.functional.softplus(ap)
        beta = -alpha + torch.nn.functional.softplus(bp)
        diff = z - x0
        r = diff.norm(dim=-1, keepdim=True)
        h = 1.0 / (alpha + r)
        beta_h = beta * h
        logdet = logdet + ((d - 1) * torch.log1p(beta_h) + torch.log1p(beta_h - beta * h * h * r)).sum(-1)
        z = z + beta_h * diff
    base = -0.5 * (z * z).sum(-1) - 0.5 * d * math.log(2 * math.pi)
    return base + logdet, z


def make_case(name, dim, n_layers, n, seed, spread):
    g = torch.Generator().manual_seed(seed)
    layers = []
    for _ in range(n_layers):
        x0 = f32(torch.randn(dim, generator=g) * spread)
        ap = f32(torch.rand(1, generator=g) * 2 - 1)
        bp = f32(torch.rand(1, generator=g) * 4 - 1)  # softplus(beta') from 0.3 to 3: beta of both signs
        layers.append((x0.requires_grad_(), ap.requires_grad_(), bp.requires_grad_()))
    x = f32(torch.randn(n, dim, generator=g) * 1.5).requires_grad_()
    log_p, z = radial_log_p(x, layers)
    loss = -log_p.mean()
    params = [p for layer in layers for p in layer]
    grads = torch.autograd.grad(loss, params, retain_graph=True)
    (x_grad,) = torch.autograd.grad(log_p.sum(), x)
    flat = lambda ts: [float(v) for t in ts for v in t.detach().reshape(-1)]
    return {
        "name": name,
        "dim": dim,
        "n_layers": n_layers,
        "n": n,
        "params": flat(params),
        "x": flat([x]),
        "log_p": flat([log_p]),
        "z": flat([z]),
        "grad": flat(grads),
        "x_grad": flat([x_grad]),
    }


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = os.path.join(root, "tests", "fixtures", "flow")
    os.makedirs(out_dir, exist_ok=True)
    cases = [
        make_case("d2_3layers", 2, 3, 7, 1, 1.0),
        make_case("d1_2layers", 1, 2, 5, 2, 1.0),
        make_case("d5_20layers", 5, 20, 6, 3, 0.7),
    ]
    path = os.path.join(out_dir, "radial_flow.json")
    with open(path, "w") as fp:
        json.dump({"cases": cases}, fp, indent=None, separators=(",", ":"))
        fp.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
