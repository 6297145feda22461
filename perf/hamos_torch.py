#!/usr/bin/python3
"""The PyTorch twin of perf/perf_hamos.c: HamOS's synthesis per mini-batch and one hamos training step, as the
released code (Fir-lat/HamOS_OOD, openood/trainers/hamos_trainer.py; shared/specs/seed-code-specs.md §3) does
them, with faiss's GPU k-NN replaced by torch.cdist + kthvalue / topk on the CPU. Same arguments, same JSON;
compare with `perf_hamos --preset code` (the code's R = 2, k-nearest KDE, start points kept, margin 0.05).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE \\
        /usr/bin/python3 perf/hamos_torch.py --case synth [--classes 10 --cap 1000 --dim 128 --k 200]
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
from cnn_torch import SmallCNN, make_data, splitmix64_stream  # noqa: E402


def uniform(seed, count):
    z = splitmix64_stream(seed, count)
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 / 16777216.0) - np.float32(1.0)


def buffers(seed, C, cap, d):
    """perf_hamos.c's fill(): [C, cap, d] unit rows normalise(2 centre_c + u)."""
    u = uniform(seed, C * d + C * cap * d).astype(np.float64)
    centre = u[:C * d].reshape(C, d)
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    rows = 2.0 * centre[:, None, :] + u[C * d:].reshape(C, cap, d)
    rows /= np.linalg.norm(rows, axis=2, keepdims=True)
    return torch.from_numpy(rows.astype(np.float32))


def synthesize(buf, k=200, kappa=2.0, L=3, eps=0.1, rounds=2, margin=0.05, n_adj=4):
    """The code's synthesis (specs §3 steps 2-6) on buf [C, cap, d]; returns the outliers and the acceptance."""
    C, cap, d = buf.shape
    mu = buf.mean(1)
    sim = mu @ mu.T
    sim.fill_diagonal_(-1.0)
    na = min(n_adj, C - 1)
    nb = sim.topk(na, 1).indices
    u = torch.arange(C).repeat_interleave(na)
    v = nb.reshape(-1)
    z0 = F.normalize((mu[u] + mu[v]) / 2, dim=1)
    flat = buf.reshape(C * cap, d)

    def potential(z):  # U = -log(1/2 (d_k(z, Z_u) + d_k(z, Z_v))), gradient through ||z - y_k|| only
        ds = []
        for cls in (u, v):
            with torch.no_grad():
                idx = torch.cdist(z.unsqueeze(1), buf[cls]).squeeze(1).kthvalue(k, 1).indices
            yk = buf[cls, idx]
            ds.append((z - yk).norm(dim=1))
        return -torch.log(0.5 * (ds[0] + ds[1]))

    def grad_u(z):
        z = z.detach().requires_grad_(True)
        U = potential(z)
        (g,) = torch.autograd.grad(U.sum(), z)
        return U.detach(), g

    def neg_log_max_prob(z):  # the code's vMF KDE over the k nearest, softmax over pdf values
        with torch.no_grad():
            s = (z @ flat.T).reshape(-1, C, cap).topk(k, 2).values
            pdf = torch.exp(kappa * (s - s.max(2, keepdim=True).values)).mean(2)
            return -torch.log(F.softmax(pdf, 1).max(1).values)

    def tangent(x, z):
        return x - (x * z).sum(1, keepdim=True) * z

    out, accepted = [z0], 0
    z = z0
    thr = neg_log_max_prob(z0) - margin
    for _ in range(rounds):
        q = tangent(torch.randn_like(z), z)
        U0, g = grad_u(z)
        H0 = U0 + 0.5 * (q * q).sum(1)
        zz = z
        for _ in range(L):
            q = q - 0.5 * eps * tangent(g, zz)
            r = q.norm(dim=1, keepdim=True).clamp_min(1e-30)
            c, s = torch.cos(r * eps), torch.sin(r * eps)
            zz, q = zz * c + q / r * s, -zz * r * s + q * c
            zz = F.normalize(zz, dim=1)
            U1, g = grad_u(zz)
            q = q - 0.5 * eps * tangent(g, zz)
        H1 = U1 + 0.5 * (q * q).sum(1)
        ok = (torch.rand(len(z)) < torch.exp(H0 - H1)) & (neg_log_max_prob(zz) > thr) & torch.isfinite(zz).all(1)
        z = torch.where(ok[:, None], zz, z)
        accepted += int(ok.sum())
        out.append(z)
    return torch.cat(out), accepted / (rounds * len(z0))


def perf_synth(a):
    torch.manual_seed(a.seed)
    buf = buffers(a.seed, a.classes, a.cap, a.dim)
    times, acc = [], []
    for r in range(a.warmup + a.reps):
        t0 = time.perf_counter()
        out, rate = synthesize(buf, k=a.k)
        if r >= a.warmup:
            times.append(time.perf_counter() - t0)
            acc.append(rate)
    print(json.dumps({"impl": "torch", "case": "synth", "preset": "code", "classes": a.classes, "cap": a.cap,
                      "dim": a.dim, "k": a.k, "outliers": len(out), "threads": torch.get_num_threads(),
                      "ms": 1000 * statistics.median(times), "acceptance": statistics.mean(acc),
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


class Net(torch.nn.Module):
    """small_cnn + the head 6272 -> 512 -> 128 on its penultimate features (the classifier head kept)."""

    def __init__(self):
        super().__init__()
        self.cnn = SmallCNN()
        self.head = torch.nn.Sequential(torch.nn.Linear(6272, 512), torch.nn.ReLU(), torch.nn.Linear(512, 128))

    def forward(self, x):
        c = self.cnn
        h = F.relu(c.bn1(c.conv1(x)))
        h = F.max_pool2d(F.relu(c.bn2(c.conv2(h))), 2)
        f = torch.flatten(F.max_pool2d(F.relu(c.bn3(c.conv3(h))), 2), 1)
        return c.fc(f), F.normalize(self.head(f), dim=1)


def perf_step(a, tau=0.1, base_tau=0.07, alpha=0.95):
    torch.manual_seed(a.seed)
    net = Net()
    C = 10
    buf = buffers(a.seed, C, a.cap, 128)
    proto = F.normalize(torch.randn(C, 128), dim=1)
    x, y = make_data(a.seed + 1, a.batch, (1, 28, 28), C)
    x, y = torch.as_tensor(x), torch.as_tensor(y).long()
    x2, y2 = torch.cat([x, x]), torch.cat([y, y])  # two views, no augmentation (as perf_hamos.c)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
    times, synth, loss = [], 0.0, None
    for r in range(a.warmup + a.reps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits, z = net(x2)
        ce = F.cross_entropy(logits, y2)
        P = [proto[c].clone() for c in range(C)]
        for j in range(len(y2)):  # the code's sample-by-sample EMA, through z_j
            c = int(y2[j])
            P[c] = F.normalize(alpha * P[c] + (1 - alpha) * z[j], dim=0)
        P = torch.stack(P)
        Pd = P.detach()
        comp = (tau / base_tau) * F.cross_entropy(z @ Pd.T / tau, y2)
        sim = P @ P.T / tau
        mask = torch.eye(C, dtype=torch.bool)
        dis = (torch.logsumexp(sim.masked_fill(mask, -1e30), 1) - np.log(C - 1)).mean()
        with torch.no_grad():  # the class buffers take the batch, then the code synthesises
            for j in range(len(y2)):
                c = int(y2[j])
                buf[c] = torch.cat([buf[c][1:], z[j:j + 1].detach()])
        t1 = time.perf_counter()
        synthesize(buf, k=a.k)
        t2 = time.perf_counter()
        lo = z @ Pd.T / tau  # the code's L_ood on the ID features
        ood = (tau / base_tau) * (lo.mean(1) + torch.logsumexp(-lo, 1)).mean()
        loss = ce + comp + 0.5 * dis + 0.1 * ood
        loss.backward()
        opt.step()
        proto = Pd
        if r >= a.warmup:
            times.append(time.perf_counter() - t0)
            synth += t2 - t1
    med = statistics.median(times)
    print(json.dumps({"impl": "torch", "case": "step", "preset": "code", "batch": a.batch, "cap": a.cap, "k": a.k,
                      "threads": torch.get_num_threads(), "steps_per_s": 1.0 / med, "seconds": med,
                      "synthesis_share": synth / sum(times), "last_loss": float(loss)}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--case", choices=["synth", "step"], default="synth")
    p.add_argument("--preset", choices=["code"], default="code")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--cap", type=int, default=1000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--k", type=int, default=200)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    perf_synth(a) if a.case == "synth" else perf_step(a)


if __name__ == "__main__":
    main()
