#!/usr/bin/python3
"""The PyTorch twin of perf/perf_mlp.c: the same models, optimizers, batches and synthetic data;
prints one JSON line with samples/s (median of several timed windows after a warm-up).

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13) in the "tuned" configuration
of shared/specs/performance-anchors.md:

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE \
        /usr/bin/python3 perf/mlp_torch.py --model mlp256 --mode train

The JSON names the BLAS library torch actually loaded (from /proc/self/maps) and its core and
threading (openblas_get_corename / openblas_get_parallel through ctypes).

Tuning choices (the strongest ordinary PyTorch training loop, so the ratio does not flatter ebood):
torch.set_num_threads(--threads), zero_grad(set_to_none=True), the optimizer's foreach path when it
is faster (--foreach), torch.inference_mode() + eval() for inference (--no-grad uses no_grad
instead). Modes: train (the bare step), loop (shuffled epochs with index gathering, loss.item()
and an accuracy count per step, as eb_train does), infer.
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

MODELS = {
    # name: (in, hidden, out, activation, default optimizer, samples in the pool)
    "segment": (18, [100] * 5, 6, "leaky_relu", "adamw", 1584),
    "mlp256": (19, [256] * 3, 7, "relu", "sgd", 4096),
}


def splitmix64_stream(seed, count):
    """count draws of splitmix64 from state `seed` (perf_mlp.c's generator), as uint64."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + golden * np.arange(1, count + 1, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def make_data(seed, n, dim, classes):
    z = splitmix64_stream(seed, n * dim + n)
    x = (z[: n * dim] >> np.uint64(40)).astype(np.float32) * np.float32(2.0 / 16777216.0) - np.float32(1.0)
    y = (z[n * dim :] % np.uint64(classes)).astype(np.int64)
    return torch.from_numpy(x.reshape(n, dim).copy()), torch.from_numpy(y)


def build_model(name):
    d_in, hidden, d_out, act, _, _ = MODELS[name]
    layers, prev = [], d_in
    for h in hidden:
        layers.append(torch.nn.Linear(prev, h))
        layers.append(torch.nn.LeakyReLU(0.01) if act == "leaky_relu" else torch.nn.ReLU())
        prev = h
    layers.append(torch.nn.Linear(prev, d_out))
    return torch.nn.Sequential(*layers), f"{d_in}-" + "-".join(map(str, hidden)) + f"-{d_out} {act}"


def build_optimizer(kind, params, foreach):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=foreach), 0.01
    if kind == "adam":
        return torch.optim.Adam(params, lr=1e-3, foreach=foreach), 1e-3
    # the EBM paper's setting: AdamW, weight decay 0 (specs §4)
    return torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0, foreach=foreach), 1e-3


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="segment")
    ap.add_argument("--mode", choices=["train", "loop", "infer"], default="train")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--optim", choices=["adamw", "adam", "sgd"], default=None)
    ap.add_argument("--samples", type=int, default=0)
    ap.add_argument("--windows", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--iters", type=int, default=0, help="steps per window (0: time-based)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--foreach", choices=["auto", "on", "off"], default="auto",
                    help="optimizer foreach path (auto: 1.13's default, i.e. off)")
    ap.add_argument("--no-grad", action="store_true", help="inference under no_grad instead of inference_mode")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    spec = MODELS[a.model]
    batch = a.batch or (256 if a.mode == "infer" else 512 if a.model == "segment" else 128)
    optim_kind = a.optim or spec[4]
    n = max(a.samples or spec[5], batch)
    x, y = make_data(a.seed, n, spec[0], spec[2])
    model, arch = build_model(a.model)
    foreach = {"auto": None, "on": True, "off": False}[a.foreach]
    opt, _ = build_optimizer(optim_kind, model.parameters(), foreach) if a.mode != "infer" else (None, 0)
    n_batches = n // batch
    xb = [x[k * batch : (k + 1) * batch].contiguous() for k in range(n_batches)]
    yb = [y[k * batch : (k + 1) * batch].contiguous() for k in range(n_batches)]
    gen = torch.Generator().manual_seed(a.seed)
    st = {"steps": 0, "next": 0, "loss_first": None, "loss_last": None, "pos": n, "perm": None}

    def train_step():
        k = st["next"]
        st["next"] = (k + 1) % n_batches
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb[k]), yb[k])
        loss.backward()
        opt.step()
        st["last"] = loss

    def loop_step():
        if st["pos"] + batch > n:  # new epoch, drop_last
            st["perm"] = torch.randperm(n, generator=gen)
            st["pos"] = 0
        idx = st["perm"][st["pos"] : st["pos"] + batch]
        st["pos"] += batch
        xi, yi = x[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        out = model(xi)
        loss = F.cross_entropy(out, yi)
        loss.backward()
        lv = loss.item()
        if not math.isfinite(lv):
            raise SystemExit(f"mlp_torch: diverged at step {st['steps']}")
        opt.step()
        st["correct"] = st.get("correct", 0) + int((out.argmax(1) == yi).sum().item())
        st["last"] = loss

    def infer_step():
        k = st["next"]
        st["next"] = (k + 1) % n_batches
        st["sink"] = model(xb[k])

    step = {"train": train_step, "loop": loop_step, "infer": infer_step}[a.mode]

    def window(seconds, iters):
        t0 = t = time.perf_counter()
        done = 0
        while (done < iters) if iters else (t - t0 < seconds):
            step()
            done += 1
            if st["steps"] == 0 and a.mode != "infer":
                st["loss_first"] = st["last"].item()
            st["steps"] += 1
            t = time.perf_counter()
        if a.mode != "infer":
            st["loss_last"] = st["last"].item()
        return done * batch / (t - t0)

    if a.mode == "infer":
        model.eval()
        ctx = torch.no_grad() if a.no_grad else torch.inference_mode()
    else:
        model.train()
        ctx = torch.enable_grad()
    with ctx:
        window(a.warmup, 0)
        if st["steps"] < 3:
            window(0, 3)
        rates = [window(a.seconds, a.iters) for _ in range(a.windows)]

    out = {
        "impl": "torch",
        "model": a.model,
        "arch": arch,
        "mode": a.mode,
        "batch": batch,
        "optimizer": "none" if a.mode == "infer" else optim_kind,
        "threads": torch.get_num_threads(),
        "samples_per_s": round(statistics.median(rates), 1),
        "min": round(min(rates), 1),
        "max": round(max(rates), 1),
        "windows": [round(r, 1) for r in rates],
        "steps": st["steps"],
    }
    if a.mode != "infer":
        out["loss_first"] = st["loss_first"]
        out["loss_last"] = st["loss_last"]
        out["foreach"] = a.foreach
    else:
        out["grad_mode"] = "no_grad" if a.no_grad else "inference_mode"
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
