#!/usr/bin/python3
"""The PyTorch twin of perf/perf_ebm.c: EBM training steps/s (CD on Segment, HEAT on 512-d features)
with the same models, optimizers, batches, buffers, SGLD steps and synthetic data; one JSON line.

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13) in the "tuned" configuration of
shared/specs/performance-anchors.md:

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE \
        /usr/bin/python3 perf/ebm_torch.py --case cd-segment

Written the way the released codes train (selflein/EBM-OOD-Detection mcmc.py for CD, MarcLafon/heatood
hybridenergy.py + losses.py for HEAT; shared/specs/seed-code-specs.md §4, §5): SGLD is a Python loop of
forward + torch.autograd.grad(f.sum(), [x]) + an in-place update, the model in eval mode and its
parameters requires_grad(False) while sampling. It is the strongest ordinary PyTorch loop (no
torch.compile / TorchScript), so the ratio does not flatter ebood; where the released code does
avoidable work it is left out (and said so below):
  - CD: the data logits are computed once for the f(x⁺) and the cross-entropy terms (the code's JEM
    runs a separate classify() forward); zero_grad(set_to_none=True).
  - HEAT: the update z ← z − η_t∇E − ξ_t is two in-place ops (the code multiplies by torch.diag(lr) and
    torch.diag(1) matrices, B²·d multiply-adds each); the loss's forward passes compute E_θ only (the
    code's verbose logging also evaluates the prior on them).
Kept as the code does it: the GMM prior E_GMM = −log Σ_c π_c N(z; μ_c, LLᵀ) through
torch.distributions (MixtureSameFamily of a MultivariateNormal with scale_tril: one triangular solve
with B·C right-hand sides), proposals by MixtureSameFamily.sample (it draws every component).
--gmm-energy whitened evaluates E_GMM as ebood does instead (one B×d×d product with W = L⁻¹), to
separate the implementation from that algorithmic difference.

One step = what perf_ebm.c times:
  cd-*   shuffled epochs of the 1584-row pool (drop_last), batch gathering, SGLD from the replay buffer,
         writing the chains back, two forward passes (x⁺, x⁻), loss, backward, loss.item() (eb_train's
         NaN check), AdamW step; supervised: + CE and the accuracy count.
  heat   proposals, K SGLD steps on E_θ/T + E_GMM/T_prior, negatives [z_K; z₀], input noise, loss,
         backward, loss.item(), Adam step. A window = building E_θ and Adam (as eb_detector_fit does)
         + one shuffled epoch of --iters steps; the L2 normalisation and the GMM fit are outside
         the timing (perf_ebm.c subtracts a "gmm" fit from the "heat" fit).
"""
import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal


def splitmix64_stream(seed, count):
    """count draws of splitmix64 from state `seed` (perf_ebm.c's generator), as uint64."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + golden * np.arange(1, count + 1, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform_pm1(z):
    """U[−1, 1) from the top 24 bits of each draw, exactly as perf_ebm.c (exact in float32)."""
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 / 16777216.0) - np.float32(1.0)


def make_data(seed, n, dim, classes):
    """perf_ebm.c make_data: x = U[−1, 1) [n, dim], then y = draw mod classes."""
    z = splitmix64_stream(seed, n * dim + n)
    x = uniform_pm1(z[: n * dim])
    y = (z[n * dim :] % np.uint64(classes)).astype(np.int64)
    return torch.from_numpy(x.reshape(n, dim).copy()), torch.from_numpy(y)


def make_features(seed, n, dim, classes):
    """perf_ebm.c make_features: y_i = i mod C, x_ij = (u_ij + 1)/2 + 2·[j ≡ y_i (mod C)]."""
    u = uniform_pm1(splitmix64_stream(seed, n * dim)).reshape(n, dim)
    y = np.arange(n) % classes
    x = np.float32(0.5) * (u + np.float32(1.0))
    x += np.where((np.arange(dim)[None, :] % classes) == y[:, None], np.float32(2.0), np.float32(0.0))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))


def blas_info():
    """The BLAS/OpenMP libraries mapped into this process, and OpenBLAS's own report."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if "/" in line else ""
            base = os.path.basename(path)
            if any(k in base for k in ("blas", "gomp", "dnnl", "mkl", "lapack")):
                libs.add(path)
    info = {"libs": sorted(libs)}
    for path in sorted(libs):
        if "openblas" in os.path.basename(path) or os.path.basename(path).startswith("libblas"):
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                par = lib.openblas_get_parallel()
                info["core"] = lib.openblas_get_corename().decode()
                info["threading"] = {0: "serial", 1: "pthreads", 2: "openmp"}.get(par, str(par))
                info["openblas"] = os.path.realpath(path)
                break
            except (OSError, AttributeError):
                continue
    return info


def requires_grad(module, flag):
    for p in module.parameters():
        p.requires_grad_(flag)


# ---- contrastive divergence (EBM paper, specs §4) -------------------------------------------------------


class CD:
    """Persistent CD on the Segment MLP: eb_objective_cd + eb_train, in PyTorch."""

    def __init__(self, a, supervised):
        self.a, self.sup = a, supervised
        self.dim, self.classes = 18, 6
        self.n = max(a.samples, a.batch)
        self.x, self.y = make_data(a.seed, self.n, self.dim, self.classes)
        layers, prev = [], self.dim
        for h in [100] * 5:  # 18 → 100×5 → 6, LeakyReLU(0.01)
            layers += [torch.nn.Linear(prev, h), torch.nn.LeakyReLU(0.01)]
            prev = h
        layers.append(torch.nn.Linear(prev, self.classes))
        self.model = torch.nn.Sequential(*layers)
        self.arch = "18-100-100-100-100-100-6 leaky_relu"
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3, weight_decay=0.0)
        # replay buffer U(−1, 1); class-conditional: trimmed to a multiple of C, C contiguous blocks
        size = a.buffer - (a.buffer % self.classes if supervised else 0)
        self.buffer = torch.empty(size, self.dim).uniform_(-1, 1)
        self.block = size // self.classes
        self.gen = torch.Generator().manual_seed(a.seed)
        self.perm, self.pos = None, self.n
        self.steps, self.loss_first, self.loss_last, self.correct = 0, None, None, 0
        self.f_pos = self.f_neg = None

    def sample_q(self, B):
        """B chains from the buffer (5 % restarts), a.sgld_steps SGLD steps, written back."""
        a = self.a
        if self.sup:  # y⁻ ~ U{0..C−1}, chains of block y⁻
            y = torch.randint(0, self.classes, (B,))
            inds = y * self.block + torch.randint(0, self.block, (B,))
        else:
            y = None
            inds = torch.randint(0, len(self.buffer), (B,))
        x0 = self.buffer[inds]
        restart = torch.rand(B) < 0.05
        x0 = torch.where(restart[:, None], torch.empty_like(x0).uniform_(-1, 1), x0)
        self.model.eval()
        requires_grad(self.model, False)
        x = x0.requires_grad_(True)
        for _ in range(a.sgld_steps):
            logits = self.model(x)
            f = logits.gather(1, y[:, None]).squeeze(1) if y is not None else torch.logsumexp(logits, 1)
            g = torch.autograd.grad(f.sum(), [x])[0]
            x.data.add_(g, alpha=1.0).add_(torch.randn_like(x), alpha=0.01)  # η = 1, σ = 0.01
        requires_grad(self.model, True)
        self.model.train()
        x = x.detach()
        self.buffer[inds] = x
        return x

    def step(self):
        B = self.a.batch
        if self.pos + B > self.n:  # new epoch, drop_last
            self.perm = torch.randperm(self.n, generator=self.gen)
            self.pos = 0
        idx = self.perm[self.pos : self.pos + B]
        self.pos += B
        xp, yp = self.x[idx], self.y[idx]
        xq = self.sample_q(B)
        logits_p = self.model(xp)
        fp, fq = torch.logsumexp(logits_p, 1), torch.logsumexp(self.model(xq), 1)
        loss = -(fp.mean() - fq.mean()) + (fp**2).mean() + (fq**2).mean()  # l2 weight 1
        if self.sup:
            loss = loss + F.cross_entropy(logits_p, yp)  # γ = 1
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        lv = loss.item()
        if not math.isfinite(lv):
            raise SystemExit(f"ebm_torch: CD diverged at step {self.steps}")
        self.opt.step()
        if self.sup:
            self.correct += int((logits_p.argmax(1) == yp).sum().item())
        if self.loss_first is None:
            self.loss_first = lv
        self.loss_last = lv
        self.f_pos, self.f_neg = fp.mean().item(), fq.mean().item()
        self.steps += 1

    def window(self, seconds, iters):
        t0, c0 = time.perf_counter(), time.process_time()
        t, done = t0, 0
        while (done < iters) if iters else (t - t0 < seconds):
            self.step()
            done += 1
            t = time.perf_counter()
        return done / (t - t0), done / max(time.process_time() - c0, 1e-9)

    def run(self):
        a = self.a
        self.window(0, 2)
        if a.warmup > 0:
            self.window(a.warmup, 0)
        return [self.window(a.seconds, a.iters) for _ in range(a.windows)]

    def extra(self):
        return {"buffer": len(self.buffer), "loss_first": self.loss_first, "loss_last": self.loss_last,
                "f_pos": self.f_pos, "f_neg": self.f_neg}


# ---- HEAT (specs §5) -------------------------------------------------------------------------------------------


class Heat:
    """HEAT-GMM's residual EBM training (eb_detector_fit of a "heat" detector), in PyTorch."""

    def __init__(self, a):
        self.a = a
        self.dim, self.classes = 512, 10
        self.n = a.batch * a.iters
        x, y = make_features(a.seed, self.n, self.dim, self.classes)
        self.z = F.normalize(x, dim=1)
        # the GMM prior as the released SSDScorer fits it: class means, one tied covariance of the
        # class-centred z (divisor N, in float64), + 1e-12·I, Cholesky, float32
        means = torch.stack([self.z[y == c].mean(0) for c in range(self.classes)])
        zc = (self.z - means[y]).double().numpy()
        cov = np.cov(zc.T, bias=True) + 1e-12 * np.eye(self.dim)
        L = torch.linalg.cholesky(torch.from_numpy(cov)).float()
        counts = torch.bincount(y, minlength=self.classes).float()
        self.gmm = MixtureSameFamily(Categorical(probs=counts / counts.sum(), validate_args=False),
                                     MultivariateNormal(loc=means, scale_tril=L, validate_args=False),
                                     validate_args=False)
        # --gmm-energy whitened: ebood's evaluation of the same E_GMM (src/ood/detectors/gmm.c), for an
        # implementation-only comparison: W = L⁻¹, u = zWᵀ, ν_c = Wμ_c,
        #   E_GMM(z) = ½‖u‖² − logsumexp_c(u·ν_c − ½‖ν_c‖² + log π_c) + ½d·log 2π + log|L|
        W = torch.linalg.solve_triangular(L, torch.eye(self.dim), upper=False)
        self.W, self.nu = W, means @ W.T
        self.off = (counts / counts.sum()).log() - 0.5 * self.nu.pow(2).sum(1)
        self.log_norm = 0.5 * self.dim * math.log(2 * math.pi) + L.diagonal().log().sum().item()
        self.T, self.T_prior, self.l2, self.eps_data = 1.0, 1e3, 10.0, 1e-4
        self.eta = (1e-4, 1e-5)  # η₀ → 0.1·η₀
        self.sigma = (5e-3, 5e-4)  # σ₀ → 0.1·σ₀
        self.gen = torch.Generator().manual_seed(a.seed)
        self.arch = (f"{self.dim}-" + "-".join([str(a.width)] * (a.depth + 1))
                     + f"-1 leaky_relu(0.2){' tied' if a.tied else ''}, gmm prior ({self.classes} classes)")
        self.steps, self.loss_first, self.loss_last = 0, None, None

    def build(self):
        a = self.a
        hidden = [torch.nn.Linear(a.width, a.width), torch.nn.LeakyReLU(0.2)]
        # the released code multiplies a list, i.e. ONE shared hidden layer (--tied); ebood's default is untied
        body = hidden * a.depth if a.tied else [m for _ in range(a.depth) for m in
                                                (torch.nn.Linear(a.width, a.width), torch.nn.LeakyReLU(0.2))]
        self.mlp = torch.nn.Sequential(torch.nn.Linear(self.dim, a.width), torch.nn.LeakyReLU(0.2), *body,
                                       torch.nn.Linear(a.width, 1))
        self.opt = torch.optim.Adam(self.mlp.parameters(), lr=1e-5, betas=(0.0, 0.999))

    @staticmethod
    def polynomial(t, T, start, end, power=2.0):
        return (start - end) * ((1 - t / T) ** power) + end

    def energy_gmm(self, z):
        if self.a.gmm_energy == "code":
            return -self.gmm.log_prob(z)
        u = z @ self.W.T
        return 0.5 * u.pow(2).sum(1) - torch.logsumexp(u @ self.nu.T + self.off, 1) + self.log_norm

    def energy(self, z):
        return self.mlp(z).view(-1) / self.T + self.energy_gmm(z) / self.T_prior

    def step(self, zp, K):
        B = zp.shape[0]
        with torch.no_grad():  # proposals z₀ = μ_c + Lε, c ~ π; ReLU, sphere
            z0 = F.normalize(F.relu(self.gmm.sample((B,))), dim=1)
        self.mlp.eval()
        requires_grad(self.mlp, False)
        z = z0.clone()
        noise = torch.empty_like(z)
        for t in range(K):
            z = z.detach().requires_grad_(True)
            noise.normal_(0, self.polynomial(t, K, *self.sigma))
            g = torch.autograd.grad(self.energy(z).sum(), [z])[0]
            with torch.no_grad():
                z.sub_(g, alpha=self.polynomial(t, K, *self.eta)).sub_(noise)
                z = F.normalize(F.relu(z), dim=1)
        requires_grad(self.mlp, True)
        self.mlp.train()
        neg = torch.cat([z.detach(), z0])
        ep = self.mlp(zp + torch.randn_like(zp) * self.eps_data).view(-1) / self.T
        en = self.mlp(neg + torch.randn_like(neg) * self.eps_data).view(-1) / self.T
        loss = ep.mean() - en.mean() + self.l2 * (ep.pow(2).mean() + en.pow(2).mean())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        lv = loss.item()
        if not math.isfinite(lv):
            raise SystemExit(f"ebm_torch: HEAT diverged at step {self.steps}")
        self.opt.step()
        if self.loss_first is None:
            self.loss_first = lv
        self.loss_last = lv
        self.steps += 1

    def fit(self, K):
        """What eb_detector_fit does after the GMM: build E_θ and Adam, one shuffled epoch."""
        B = self.a.batch
        self.build()
        perm = torch.randperm(self.n, generator=self.gen)
        for i in range(self.n // B):
            self.step(self.z[perm[i * B : (i + 1) * B]], K)

    def run(self):
        a = self.a
        self.fit(min(a.sgld_steps, 1))  # warm-up: one SGLD step per training step, as perf_ebm.c
        out = []
        for _ in range(a.windows):
            t0, c0 = time.perf_counter(), time.process_time()
            self.fit(a.sgld_steps)
            out.append((a.iters / (time.perf_counter() - t0), a.iters / max(time.process_time() - c0, 1e-9)))
        return out

    def extra(self):
        return {"iters_per_fit": self.a.iters, "loss_first": self.loss_first, "loss_last": self.loss_last}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", choices=["cd-segment", "cd-s-segment", "heat"], default="cd-segment")
    ap.add_argument("--batch", type=int, default=0, help="512 (cd), 256 (heat)")
    ap.add_argument("--sgld-steps", type=int, default=-1, help="100 (cd), 40 (heat)")
    ap.add_argument("--samples", type=int, default=1584, help="cd: the pool of synthetic rows")
    ap.add_argument("--buffer", type=int, default=9000)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--tied", action="store_true")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--iters", type=int, default=0, help="steps per window (cd: 0 = time-based; heat: 4)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gmm-energy", choices=["code", "whitened"], default="code",
                    help="heat: E_GMM as the released code (torch.distributions) or whitened as ebood")
    a = ap.parse_args()
    heat = a.case == "heat"
    a.batch = a.batch or (256 if heat else 512)
    if a.sgld_steps < 0:
        a.sgld_steps = 40 if heat else 100
    if heat and not a.iters:
        a.iters = 4

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    bench = Heat(a) if heat else CD(a, a.case == "cd-s-segment")
    wins = bench.run()
    rates = [w[0] for w in wins]
    out = {
        "impl": "torch",
        "case": a.case,
        "arch": bench.arch,
        "batch": a.batch,
        "sgld_steps": a.sgld_steps,
        "optimizer": "adam" if heat else "adamw",
        "threads": torch.get_num_threads(),
        "steps_per_s": statistics.median(rates),
        "steps_per_cpu_s": statistics.median(w[1] for w in wins),
        "min": min(rates),
        "max": max(rates),
        "windows": [round(r, 4) for r in rates],
        "steps": bench.steps,
    }
    out.update(bench.extra())
    if heat:
        out["gmm_energy"] = a.gmm_energy
    b = blas_info()
    out["blas"] = f"OpenBLAS {b.get('core', '?')} ({b.get('threading', '?')})"
    out["blas_lib"] = b.get("openblas", "?")
    out["torch"] = torch.__version__
    out["env"] = {k: os.environ.get(k, "") for k in ("LD_LIBRARY_PATH", "OMP_WAIT_POLICY", "OPENBLAS_CORETYPE")}
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
