#!/usr/bin/python3
"""The PyTorch twin of perf/perf_cnn.c: the same three CNNs, optimizer, batches and synthetic data;
prints one JSON line with samples/s (median of K windows of N steps after a warm-up).

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13, whose convolutions are oneDNN's)
in the "tuned" configuration of shared/specs/performance-anchors.md:

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE \
        /usr/bin/python3 perf/cnn_torch.py --model resnet18 --mode train [--channels-last]

Models — written here exactly as src/nn/small_cnn.c, resnet.c and wrn.c define them (10 classes):
  small_cnn  1×28×28: conv3×3 1→32 (no bias) bn relu, conv 32→64 bn relu, maxpool2,
             conv 64→128 bn relu, maxpool2, flatten, fc 6272→10
  resnet18   3×32×32: OpenOOD's resnet18_32x32 (3×3 stem, no max-pool, BasicBlocks [2,2,2,2],
             1×1-conv+bn shortcuts, global average pool, fc 512→10)
  wrn40_2    3×32×32: the energy paper's wrn.py, depth 40, widen 2, dropout 0
A training step: zero_grad(set_to_none=True), forward, cross-entropy, backward, SGD(lr 0.01,
momentum 0.9) step. Inference: eval() + inference_mode(). --channels-last converts the model and the
batches (once, before timing) to torch.channels_last, oneDNN's native layout for PyTorch (no reorders
around each convolution).

--check DIR (no timing) loads DIR/<model>.safetensors written by `perf_cnn --check DIR`, repeats its
train-mode forward on batch 0 and eval-mode forward on batch 1, and compares the logits with
DIR/<model>.logits.f32: max |ebood − torch| / max |torch| ≤ 1e-3 (exit 1 otherwise).
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
import torch.nn as nn
import torch.nn.functional as F


def splitmix64_stream(seed, count):
    """count draws of splitmix64 from state `seed` (perf_cnn.c's generator), as uint64."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + golden * np.arange(1, count + 1, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def make_data(seed, n, shape, classes):
    dim = int(np.prod(shape))
    z = splitmix64_stream(seed, n * dim + n)
    x = (z[: n * dim] >> np.uint64(40)).astype(np.float32) * np.float32(2.0 / 16777216.0) - np.float32(1.0)
    y = (z[n * dim :] % np.uint64(classes)).astype(np.int64)
    return torch.from_numpy(x.reshape((n,) + shape).copy()), torch.from_numpy(y)


class SmallCNN(nn.Module):
    """src/nn/small_cnn.c"""

    def __init__(self, channels=1, hw=28, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 128, 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(128)
        self.fc = nn.Linear(128 * (hw // 4) * (hw // 4), classes)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.max_pool2d(F.relu(self.bn2(self.conv2(h))), 2)
        h = F.max_pool2d(F.relu(self.bn3(self.conv3(h))), 2)
        return self.fc(torch.flatten(h, 1))


class BasicBlock(nn.Module):
    """OpenOOD's resnet18_32x32 BasicBlock (src/nn/resnet.c)."""

    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18_32x32(nn.Module):
    def __init__(self, channels=3, classes=10, blocks=(2, 2, 2, 2)):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(64, blocks[0], 1)
        self.layer2 = self._make_layer(128, blocks[1], 2)
        self.layer3 = self._make_layer(256, blocks[2], 2)
        self.layer4 = self._make_layer(512, blocks[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def _make_layer(self, planes, n, stride):
        layers = []
        for s in [stride] + [1] * (n - 1):
            layers.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer4(self.layer3(self.layer2(self.layer1(h))))
        return self.fc(torch.flatten(self.avgpool(h), 1))


class WRNBlock(nn.Module):
    """wrn.py's BasicBlock (pre-activation; src/nn/wrn.c)."""

    def __init__(self, in_planes, out_planes, stride, drop_rate=0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.droprate = drop_rate
        self.equal_in_out = in_planes == out_planes
        self.convShortcut = None if self.equal_in_out else nn.Conv2d(in_planes, out_planes, 1, stride, 0, bias=False)

    def forward(self, x):
        if not self.equal_in_out:
            x = F.relu(self.bn1(x))
            out = x
        else:
            out = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(out)))
        if self.droprate > 0:
            out = F.dropout(out, p=self.droprate, training=self.training)
        out = self.conv2(out)
        return (x if self.equal_in_out else self.convShortcut(x)) + out


class NetworkBlock(nn.Module):
    def __init__(self, n, in_planes, out_planes, stride, drop_rate):
        super().__init__()
        self.layer = nn.Sequential(
            *[WRNBlock(in_planes if i == 0 else out_planes, out_planes, stride if i == 0 else 1, drop_rate) for i in range(n)]
        )

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    """wrn.py's WideResNet (state_dict names as there: block1.layer.0.conv1.weight, ...)."""

    def __init__(self, depth=40, widen=2, channels=3, classes=10, drop_rate=0.0):
        super().__init__()
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(channels, widths[0], 3, 1, 1, bias=False)
        self.block1 = NetworkBlock(n, widths[0], widths[1], 1, drop_rate)
        self.block2 = NetworkBlock(n, widths[1], widths[2], 2, drop_rate)
        self.block3 = NetworkBlock(n, widths[2], widths[3], 2, drop_rate)
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.fc = nn.Linear(widths[3], classes)

    def forward(self, x):
        h = self.block3(self.block2(self.block1(self.conv1(x))))
        h = F.relu(self.bn1(h))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


MODELS = {
    # name: (constructor, input shape, default iters per window (train, infer), warm-up steps)
    "small_cnn": (lambda: SmallCNN(1, 28, 10), (1, 28, 28), (8, 16), 3),
    "resnet18": (lambda: ResNet18_32x32(3, 10), (3, 32, 32), (2, 4), 1),
    "wrn40_2": (lambda: WideResNet(40, 2, 3, 10), (3, 32, 32), (2, 4), 1),
}


def load_safetensors(path):
    """{name: float32 tensor} of a safetensors file (F32 only, as ebood writes checkpoints)."""
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"cnn_torch: {path}: {name}: dtype {t['dtype']}, expected F32")
        b, e = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob, np.float32, (e - b) // 4, 8 + n + b).copy()).reshape(t["shape"])
    return out


def check(a, model, xb):
    ckpt = os.path.join(a.check, f"{a.model}.safetensors")
    state = load_safetensors(ckpt)
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    extra = [k for k in state if k not in own]
    if missing or extra:
        raise SystemExit(f"cnn_torch: {ckpt}: names differ: missing {missing[:5]}, unexpected {extra[:5]}")
    model.load_state_dict(state, strict=False)
    ref = np.fromfile(os.path.join(a.check, f"{a.model}.logits.f32"), np.float32).reshape(2, a.batch, -1)
    outs = []
    with torch.no_grad():
        model.train()
        outs.append(model(xb[0]).numpy())
        model.eval()
        outs.append(model(xb[1]).numpy())
    worst = 0.0
    for name, got, want in zip(("train-mode logits", "eval-mode logits"), ref, outs):
        rel = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
        worst = max(worst, rel)
        print(f"{a.model} {name}: max |ebood - torch| / max |torch| = {rel:.2e}")
    return 0 if worst <= 1e-3 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="small_cnn")
    ap.add_argument("--mode", choices=["train", "infer"], default="train")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--iters", type=int, default=0, help="steps per window (0: the model's default)")
    ap.add_argument("--warmup", type=int, default=-1, help="warm-up steps (-1: the model's default)")
    ap.add_argument("--pool", type=int, default=2, help="distinct synthetic batches, cycled")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--check", metavar="DIR", help="compare with perf_cnn --check DIR (no timing)")
    a = ap.parse_args()
    if a.check:
        a.pool = max(a.pool, 2)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    ctor, shape, iters, warmup = MODELS[a.model]
    iters = a.iters or iters[0 if a.mode == "train" else 1]
    warmup = warmup if a.warmup < 0 else a.warmup
    x, y = make_data(a.seed, a.pool * a.batch, shape, 10)
    model = ctor()
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    xb = [x[k * a.batch : (k + 1) * a.batch].contiguous(memory_format=fmt) for k in range(a.pool)]
    yb = [y[k * a.batch : (k + 1) * a.batch].contiguous() for k in range(a.pool)]
    if a.check:
        return check(a, model, xb)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if a.mode == "train" else None
    st = {"next": 0, "steps": 0, "loss_first": None, "loss_last": None}

    def step():
        k = st["next"]
        st["next"] = (k + 1) % a.pool
        if a.mode == "infer":
            st["sink"] = model(xb[k])
            return
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb[k]), yb[k])
        loss.backward()
        opt.step()
        if st["loss_first"] is None:
            st["loss_first"] = loss.item()
        st["last"] = loss

    def window(n):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
            st["steps"] += 1
        return n * a.batch / (time.perf_counter() - t0)

    if a.mode == "infer":
        model.eval()
        ctx = torch.inference_mode()
    else:
        model.train()
        ctx = torch.enable_grad()
    with ctx:
        if warmup:
            window(warmup)
        rates = [window(iters) for _ in range(a.windows)]
    if a.mode == "train":
        st["loss_last"] = st["last"].item()

    out = {
        "impl": "torch",
        "model": a.model,
        "mode": a.mode,
        "batch": a.batch,
        "threads": torch.get_num_threads(),
        "memory_format": "channels_last" if a.channels_last else "contiguous",
        "samples_per_s": round(statistics.median(rates), 2),
        "min": round(min(rates), 2),
        "max": round(max(rates), 2),
        "windows": [round(r, 2) for r in rates],
        "steps": st["steps"],
        "params": sum(p.numel() for p in model.parameters()),
    }
    if a.mode == "train":
        out["loss_first"] = st["loss_first"]
        out["loss_last"] = st["loss_last"]
    out["torch"] = torch.__version__
    out["mkldnn"] = torch.backends.mkldnn.is_available()
    out["env"] = {k: os.environ.get(k, "") for k in ("LD_LIBRARY_PATH", "OMP_WAIT_POLICY", "OPENBLAS_CORETYPE")}
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
