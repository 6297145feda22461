#!/usr/bin/python3
"""The PyTorch twin of perf/perf_outliers.c: one training step of each outlier objective on small_cnn
(ID + AUX rows in one forward pass, SGD lr 0.01 momentum 0.9 Nesterov), and Hopfield Boosting's candidate
scoring (L_OOD of Eq. 5 against two memories) in blocks of --block queries, as a PyTorch user would write
it (the full nq x nb matrix would not fit: 100,000 x 50,000 floats = 20 GB), and POEM's mining after the
features as its released code does it (deeplearning-wisc/poem: Z^T Z in float64, torch.inverse, a
MultivariateNormal draw, |h w| and topk(largest=False)). Same arguments, same JSON.

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE \\
        /usr/bin/python3 perf/outliers_torch.py --case hb-score [--nq 100000 --nb 50000 --dim 128]
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cnn_torch import SmallCNN, splitmix64_stream  # noqa: E402


def uniform(seed, count):
    z = splitmix64_stream(seed, count)
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 / 16777216.0) - np.float32(1.0)


def unit_rows(seed, offset, n, dim):
    """Rows offset.. of the stream perf_outliers.c draws, L2-normalised."""
    x = uniform(seed, offset + n * dim)[offset:].reshape(n, dim).astype(np.float64)
    return torch.from_numpy((x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32))


def border(z, zi, zo, beta):  # beta * L_OOD(xi), Eq. 5
    a, b = beta * (z @ zi.T), beta * (z @ zo.T)
    return torch.logsumexp(a, 1) + torch.logsumexp(b, 1) - 2.0 * torch.logsumexp(torch.cat([a, b], 1), 1)


def bench_score(a):
    q = unit_rows(a.seed, 0, a.nq, a.dim)
    mi = unit_rows(a.seed, a.nq * a.dim, a.nb, a.dim)
    mo = unit_rows(a.seed, (a.nq + a.nb) * a.dim, a.nb, a.dim)
    out = torch.empty(a.nq)
    times = []
    with torch.inference_mode():
        for r in range(a.warmup + a.reps):
            t0 = time.perf_counter()
            for i in range(0, a.nq, a.block):
                out[i:i + a.block] = border(q[i:i + a.block], mi, mo, 4.0) / 4.0
            if r >= a.warmup:
                times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"impl": "torch", "case": "hb-score", "nq": a.nq, "nb": a.nb, "dim": a.dim, "block": a.block,
                      "threads": torch.get_num_threads(), "queries_per_s": a.nq / med, "seconds": med,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "checksum": float(out.double().mean())}))


def bench_poem(a):
    d, n_id = a.dim, a.nb // 2
    u = uniform(a.seed, (a.nb + a.nq) * d)
    h = u[:a.nb * d].reshape(a.nb, d).copy()
    h[:n_id] += np.float32(0.25)
    h = torch.from_numpy(h)
    c = torch.from_numpy(u[a.nb * d:].reshape(a.nq, d).copy())
    y = torch.cat([torch.full((n_id,), -3.0), torch.full((a.nb - n_id,), 3.0)]).double()
    sigma, sigma_n = 20.0, 0.5
    times, sel = [], None
    torch.manual_seed(a.seed)
    with torch.inference_mode():
        for r in range(a.warmup + a.reps):
            t0 = time.perf_counter()
            z = h.double()
            prec = z.T @ z / sigma_n + torch.eye(d, dtype=torch.float64) / sigma
            inv = torch.inverse(prec)
            mu = inv @ (z.T @ y) / sigma_n
            w = torch.distributions.MultivariateNormal(mu, sigma * inv).sample().float()
            sel = torch.topk((c @ w).abs(), a.k, largest=False).indices
            if r >= a.warmup:
                times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"impl": "torch", "case": "poem", "nq": a.nq, "nb": a.nb, "dim": d, "k": a.k,
                      "threads": torch.get_num_threads(), "steps_per_s": 1.0 / med, "seconds": med,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "mean_row": float(sel.double().mean())}))


def bench_step(a):
    torch.manual_seed(a.seed)
    model = SmallCNN()
    rows, dim = a.batch + a.aux, 28 * 28
    x = torch.from_numpy(uniform(a.seed, a.pool * rows * dim).reshape(a.pool, rows, 1, 28, 28).copy())
    if a.channels_last:  # oneDNN's native layout in torch (as cnn_torch.py --channels-last): model and batches
        model = model.to(memory_format=torch.channels_last)
        x = [xb.contiguous(memory_format=torch.channels_last) for xb in x]
    y = torch.randint(0, 10, (a.pool, a.batch))
    head = torch.nn.Sequential(torch.nn.Linear(6272, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128))
    for p in head.parameters():
        p.requires_grad_(False)
    feats = {}
    model.fc.register_forward_hook(lambda mod, inp, out: feats.__setitem__("f", inp[0]))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    times, loss = [], None
    for r in range(a.warmup + a.reps):
        b = r % a.pool
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(x[b])
        ce = F.cross_entropy(logits[:a.batch], y[b])
        out = logits[a.batch:]
        if a.case == "oe":
            loss = ce + 0.5 * (torch.logsumexp(out, 1) - out.mean(1)).mean()
        elif a.case == "energy-ft":
            e = -torch.logsumexp(logits, 1)
            loss = ce + 0.1 * ((F.relu(e[:a.batch] + 23.0) ** 2).mean() + (F.relu(-5.0 - e[a.batch:]) ** 2).mean())
        else:
            z = F.normalize(head(feats["f"]), dim=1)
            loss = ce + 1.0 * (border(z, z[:a.batch], z[a.batch:], 4.0) / 4.0).mean()
        loss.backward()
        opt.step()
        if r >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"impl": "torch-cl" if a.channels_last else "torch", "case": a.case, "batch": a.batch, "aux": a.aux,
                      "threads": torch.get_num_threads(), "steps_per_s": 1.0 / med, "seconds": med,
                      "last_loss": float(loss)}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--case", default="oe", choices=["oe", "energy-ft", "hopfield-boost", "hb-score", "poem"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--aux", type=int, default=-1)
    p.add_argument("--pool", type=int, default=2)
    p.add_argument("--nq", type=int, default=100000)
    p.add_argument("--nb", type=int, default=50000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--k", type=int, default=-1, help="poem: rows selected (default nq / 8)")
    p.add_argument("--block", type=int, default=4096, help="hb-score: queries per block")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--channels-last", action="store_true", help="steps: model and batches in torch.channels_last")
    a = p.parse_args()
    if a.aux < 0:
        a.aux = 128 if a.case == "hopfield-boost" else 256
    if a.k < 0:
        a.k = max(a.nq // 8, 1)
    threads = os.environ.get("EBOOD_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    {"hb-score": bench_score, "poem": bench_poem}.get(a.case, bench_step)(a)


if __name__ == "__main__":
    main()
