#!/usr/bin/python3
"""Reference log-densities of HEAT's Gaussian-mixture prior (the gmm detector; tests/test_heat.c).

For each case: float32 features (non-negative, like ReLU features) with labels, and queries. The
reference follows 001_8dfeaa911d9afebd.txt Eq. (9), (10) and the released SSDScorer (specs §5):
z = x/max(||x||, 1e-12); pi_c = N_c/N; mu_c = class means; Sigma = (1/N) sum (z - mu_y)(z - mu_y)^T
+ ridge*I; log q(z) = log sum_c pi_c N(z; mu_c, Sigma), evaluated by scikit-learn's
GaussianMixture(covariance_type="tied").score_samples with the parameters set (not fitted by EM),
and checked against a direct NumPy/log-sum-exp evaluation. Everything in float64 from the float32
inputs. Output: tests/fixtures/heat/gmm.json.
Run: /usr/bin/python3 scripts/make_heat_fixture.py
"""
import json
import os

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky


def normalize(x):
    n = np.sqrt((x * x).sum(1, keepdims=True))
    return x / np.maximum(n, 1e-12)


def f32_list(a):
    """float32 values as the shortest decimals that round-trip them (9 significant digits)."""
    return [float("%.9g" % v) for v in a.ravel()]


def make_case(name, rng, n, dim, nc, n_query, ridge, normalized=True):
    centers = rng.normal(size=(nc, dim)) * 2.0
    y = np.arange(n) % nc
    rng.shuffle(y)
    x = np.abs(centers[y] + rng.normal(size=(n, dim))).astype(np.float32)
    q = np.abs(rng.normal(size=(n_query, dim)) * 2.0).astype(np.float32)
    q[: n_query // 2] = np.abs(centers[np.arange(n_query // 2) % nc] + 0.5 * rng.normal(size=(n_query // 2, dim)))
    q = q.astype(np.float32)
    # normalized=False: the detector's normalize=false (raw features, e.g. HEAT's 2-D toys)
    z = normalize(x.astype(np.float64)) if normalized else x.astype(np.float64)
    zq = normalize(q.astype(np.float64)) if normalized else q.astype(np.float64)
    counts = np.bincount(y, minlength=nc)
    means = np.stack([z[y == c].mean(0) for c in range(nc)])
    cen = z - means[y]
    cov = cen.T @ cen / n + ridge * np.eye(dim)
    weights = counts / n

    gm = GaussianMixture(n_components=nc, covariance_type="tied")
    gm.weights_ = weights
    gm.means_ = means
    gm.covariances_ = cov
    gm.precisions_cholesky_ = _compute_precision_cholesky(cov, "tied")
    ref = gm.score_samples(zq)

    # independent check: Cholesky, triangular solve, log-sum-exp
    L = np.linalg.cholesky(cov)
    u = np.linalg.solve(L, zq.T).T
    nu = np.linalg.solve(L, means.T).T
    t = np.log(weights)[None, :] - 0.5 * ((u[:, None, :] - nu[None, :, :]) ** 2).sum(-1)
    m = t.max(1, keepdims=True)
    direct = (m[:, 0] + np.log(np.exp(t - m).sum(1))) - 0.5 * dim * np.log(2 * np.pi) - np.log(np.diag(L)).sum()
    assert np.allclose(ref, direct, rtol=1e-10, atol=1e-8), np.abs(ref - direct).max()
    return {
        "name": name,
        "n": n,
        "dim": dim,
        "n_classes": nc,
        "ridge": ridge,
        "normalize": normalized,
        "features": f32_list(x),
        "labels": y.tolist(),
        "n_query": n_query,
        "queries": f32_list(q),
        "log_density": ref.tolist(),
        "weights": weights.tolist(),
    }


def main():
    rng = np.random.default_rng(20230)
    cases = [
        make_case("d6_c3", rng, 240, 6, 3, 20, 1e-12),
        make_case("d16_c4", rng, 200, 16, 4, 24, 1e-12),
        make_case("d8_c2_ridge", rng, 100, 8, 2, 10, 1e-3),
        make_case("raw_d2_c3", rng, 150, 2, 3, 12, 1e-12, normalized=False),
    ]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "heat", "gmm.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"generator": "scripts/make_heat_fixture.py", "cases": cases}, f)
    print("wrote", out)


if __name__ == "__main__":
    main()
