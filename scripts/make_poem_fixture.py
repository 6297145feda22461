#!/usr/bin/python3
"""Reference fixture for tests/test_outliers.c's POEM tests: the Bayesian linear regression posterior and the
Thompson-sampling outlier selection of POEM (Ming, Fan, Li, ICML 2022), written the way its released code
computes them (deeplearning-wisc/poem: neural_linear_opt.py's update_bays_reg_BDQN and sample_BDQN,
train_poem.py's select_ood_opt; read, not copied), in float64 PyTorch.

Run with Debian's python (torch 1.13):  /usr/bin/python3 scripts/make_poem_fixture.py [out.json]
Writes tests/fixtures/outliers/poem.json (atomically: temp file + rename).

  posterior   features of 12 ID rows (counted `id_count` = 2 times: the code repeats the ID rows once per
              buffered epoch) with target -conf + shift, and of 10 selected outliers with target conf + shift;
              A = Z^T Z / sigma_n + I / sigma, mu = A^-1 Z^T y / sigma_n (torch.inverse, as the code), the
              code's covariance Sigma = sigma A^-1.
  draw        w = mu + sqrt(sigma) L^-T eps for a fixed eps (L = torch.linalg.cholesky(A)): a draw of N(mu, Sigma).
  selection   the k candidates of 30 with the smallest |w^T h| (torch.topk(largest=False)), in that order.
All features are float32 values (what ebood's models produce), used in float64.
"""
import json
import os
import sys

import torch

OUT_PATH = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                                        "outliers", "poem.json"))
SEED = 20261208
D, N_ID, N_OUT, N_CAND, K = 4, 12, 10, 30, 7
SIGMA, SIGMA_N, CONF, SHIFT, ID_COUNT = 20.0, 0.5, 3.0, 0.3, 2


def f32(t):
    return t.float().double()


def flat(t):
    return [float(v) for v in t.reshape(-1).tolist()]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else OUT_PATH
    torch.manual_seed(SEED)
    h_id = f32(torch.randn(N_ID, D, dtype=torch.float64) + 1.0)
    h_out = f32(torch.randn(N_OUT, D, dtype=torch.float64) - 0.5)
    h_cand = f32(1.5 * torch.randn(N_CAND, D, dtype=torch.float64))
    eps = torch.randn(D, dtype=torch.float64)

    z = torch.cat([h_id.repeat(ID_COUNT, 1), h_out])  # the code's train_x: ID rows repeated, then outliers
    y = torch.cat([torch.full((ID_COUNT * N_ID,), -CONF + SHIFT, dtype=torch.float64),
                   torch.full((N_OUT,), CONF + SHIFT, dtype=torch.float64)])
    a = z.T @ z / SIGMA_N + torch.eye(D, dtype=torch.float64) / SIGMA
    b = z.T @ y / SIGMA_N
    inv = torch.inverse(a)
    mu = inv @ b
    cov = SIGMA * inv

    chol = torch.linalg.cholesky(a)
    w = mu + SIGMA ** 0.5 * torch.linalg.solve_triangular(chol.T, eps.reshape(D, 1), upper=True).reshape(D)

    score = (h_cand @ w).abs()
    order = torch.argsort(score, stable=True)
    sel = torch.topk(score, K, largest=False).indices
    assert sel.tolist() == order[:K].tolist()
    gap = float(score[order[K]] - score[order[K - 1]])
    assert gap > 1e-6 and float((score[order[1:]] - score[order[:-1]]).min()) > 1e-9, "near tie: change SEED"

    case = {"name": "poem", "d": D, "sigma": SIGMA, "sigma_n": SIGMA_N, "conf": CONF,
           "shift": SHIFT, "id_count": ID_COUNT, "h_id": flat(h_id), "h_out": flat(h_out), "h_cand": flat(h_cand),
           "eps": flat(eps), "A": flat(a), "mu": flat(mu), "cov": flat(cov), "w": flat(w), "k": K,
           "selected": sel.tolist()}
    doc = {"seed": SEED, "torch": torch.__version__, "cases": [case]}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)
    print("wrote", path)


if __name__ == "__main__":
    main()
