#!/usr/bin/python3
"""Reference fixture for tests/test_conv_ops.c: conv2d, batch_norm, max_pool2d, avg_pool2d,
global_avg_pool and spatial_std_pool against PyTorch.

Run with Debian's python (torch 1.13):  /usr/bin/python3 scripts/make_conv_fixture.py
Writes tests/fixtures/conv/conv.json (atomically: temp file + rename).

Same layout as tests/fixtures/ops/ops.json: each case holds float32 inputs (9 significant digits, so
the C test reads back exactly the same float32 values), a fixed random projection r, and, computed in
float64 by PyTorch from those float32 inputs, the output and the gradient of L = sum(r * out) with
respect to every input with "grad": true. Op parameters are extra keys: stride/pad/kernel as [h, w];
batch_norm adds momentum, eps, training, "affine" (gamma and beta present as inputs 1 and 2), the
running statistics before the call (running_mean/running_var, or null) and after it
(running_mean_after/running_var_after, PyTorch's in-place update).
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "conv",
                        "conv.json")
SEED = 20240612

rng = np.random.default_rng(SEED)
cases = []


def f32(a):
    return np.asarray(a, dtype=np.float32)


def uniform(shape, lo=-2.0, hi=2.0):
    return f32(rng.uniform(lo, hi, size=shape))


def num(v, digits):
    return float("%.*g" % (digits, float(v)))


def flat(a, digits=9):
    """9 significant digits round-trip a float32 exactly (inputs, r); 8 are ample for the float64
    references, which the C test compares at ~1e-5 relative tolerance."""
    return [num(v, digits) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def case(name, op, inputs, fn, grad=None, extra=None, **params):
    """inputs: list of float32 arrays; fn: torch float64 function of the input tensors; extra():
    more keys to record after the backward pass (e.g. updated running statistics)."""
    if grad is None:
        grad = [True] * len(inputs)
    ts = [t64(x, g) for x, g in zip(inputs, grad)]
    out = fn(*ts)
    r = f32(rng.standard_normal(size=tuple(out.shape)))
    loss = (torch.tensor(r.astype(np.float64)) * out).sum()
    if any(grad):
        loss.backward()
    c = {"name": name, "op": op}
    c.update(params)
    c["inputs"] = [{"shape": list(x.shape), "data": flat(x), "grad": g} for x, g in zip(inputs, grad)]
    c["r"] = flat(r)
    c["out_shape"] = list(out.shape)
    c["out"] = flat(out.detach().numpy(), 8)
    c["grads"] = [flat(t.grad.numpy(), 8) if g else None for t, g in zip(ts, grad)]
    if extra:
        c.update(extra())
    cases.append(c)


def conv(name, n, c, h, w, o, kh, kw, stride=(1, 1), pad=(0, 0), bias=True, grad=None):
    inputs = [uniform((n, c, h, w)), uniform((o, c, kh, kw), -1.0, 1.0)]
    if bias:
        inputs.append(uniform((o,), -1.0, 1.0))

    def fn(x, wt, b=None):
        return F.conv2d(x, wt, b, stride=tuple(stride), padding=tuple(pad))

    case(name, "conv2d", inputs, fn, grad=grad, stride=list(stride), pad=list(pad))


def batch_norm(name, shape, training, momentum=0.1, eps=1e-5, affine=True, running=True):
    c = shape[1]
    inputs = [uniform(shape, -2.0, 3.0)]
    if affine:
        inputs += [uniform((c,), 0.5, 1.5), uniform((c,), -0.5, 0.5)]
    rm = uniform((c,), -0.5, 0.5) if running else None
    rv = uniform((c,), 0.5, 2.0) if running else None
    state = {}

    def fn(x, gamma=None, beta=None):
        state["rm"] = t64(rm) if running else None
        state["rv"] = t64(rv) if running else None
        return F.batch_norm(x, state["rm"], state["rv"], gamma, beta, training=training, momentum=momentum,
                            eps=eps)

    def extra():
        return {"running_mean_after": flat(state["rm"].numpy(), 8) if running else None,
                "running_var_after": flat(state["rv"].numpy(), 8) if running else None}

    case(name, "batch_norm", inputs, fn, extra=extra, momentum=momentum, eps=eps, training=training,
         affine=affine, running_mean=flat(rm) if running else None, running_var=flat(rv) if running else None)


def pool(name, op, shape, kernel, stride, pad, x=None):
    fn = {"max_pool2d": F.max_pool2d, "avg_pool2d": F.avg_pool2d}[op]
    x = uniform(shape) if x is None else x
    case(name, op, [x], lambda t: fn(t, tuple(kernel), tuple(stride), tuple(pad)), kernel=list(kernel),
         stride=list(stride), pad=list(pad))


def build():
    # ---- conv2d: C = 1 and 3, stride 2, padding, 1x1, non-square inputs and kernels ----
    conv("conv_c3_3x3_pad1", 2, 3, 4, 5, 3, 3, 3, pad=(1, 1))
    conv("conv_c1_3x3_stride2_pad1", 2, 1, 7, 5, 3, 3, 3, stride=(2, 2), pad=(1, 1))
    conv("conv_1x1", 2, 3, 4, 3, 5, 1, 1)
    conv("conv_1x1_stride2_nobias", 2, 4, 5, 5, 3, 1, 1, stride=(2, 2), bias=False)
    conv("conv_2x3_stride21_pad01_nobias", 1, 2, 6, 7, 3, 2, 3, stride=(2, 1), pad=(0, 1), bias=False)
    conv("conv_kernel_covers_padded_input", 1, 2, 3, 3, 2, 5, 5, pad=(1, 1))
    conv("conv_stride3_pad2", 2, 2, 7, 6, 2, 3, 2, stride=(3, 2), pad=(2, 1))
    conv("conv_x_constant", 2, 3, 4, 5, 2, 3, 3, pad=(1, 1), grad=[False, True, True])
    conv("conv_w_constant", 2, 2, 5, 4, 3, 3, 3, stride=(2, 2), grad=[True, False, False])

    # ---- batch_norm: train (batch stats, running update) and eval, 2-D and 4-D ----
    batch_norm("bn2d_train", (3, 4, 3, 2), True)
    batch_norm("bn2d_train_m03_eps1e-3", (2, 3, 2, 2), True, momentum=0.3, eps=1e-3)
    batch_norm("bn2d_train_no_affine", (2, 2, 3, 3), True, affine=False)
    batch_norm("bn2d_train_no_running", (4, 2, 2, 1), True, running=False)
    batch_norm("bn2d_eval", (3, 4, 3, 2), False)
    batch_norm("bn2d_eval_no_affine", (2, 3, 2, 3), False, affine=False, eps=1e-3)
    batch_norm("bn1d_train", (5, 3), True)
    batch_norm("bn1d_eval", (4, 3), False)

    # ---- pools ----
    pool("maxpool_k2_s2", "max_pool2d", (2, 2, 4, 6), (2, 2), (2, 2), (0, 0))
    pool("maxpool_k3_s2_p1", "max_pool2d", (1, 2, 5, 7), (3, 3), (2, 2), (1, 1))
    pool("maxpool_k3_s1_p1", "max_pool2d", (2, 1, 4, 4), (3, 3), (1, 1), (1, 1))
    pool("maxpool_k32_s21_p10", "max_pool2d", (1, 2, 6, 5), (3, 2), (2, 1), (1, 0))
    # ties (small integers): the gradient goes to the first maximum of each window
    ties = f32(rng.integers(-1, 2, size=(2, 2, 5, 5)))
    pool("maxpool_ties_k3_s1_p1", "max_pool2d", ties.shape, (3, 3), (1, 1), (1, 1), x=ties)
    pool("maxpool_ties_k2_s2", "max_pool2d", ties.shape, (2, 2), (2, 2), (0, 0), x=ties)
    pool("avgpool_k2_s2", "avg_pool2d", (2, 2, 4, 6), (2, 2), (2, 2), (0, 0))
    pool("avgpool_k3_s2_p1", "avg_pool2d", (1, 2, 5, 7), (3, 3), (2, 2), (1, 1))
    pool("avgpool_k3_s1_p1", "avg_pool2d", (2, 1, 4, 4), (3, 3), (1, 1), (1, 1))
    pool("avgpool_k23_s12_p01", "avg_pool2d", (1, 2, 5, 6), (2, 3), (1, 2), (0, 1))
    pool("avgpool_k4_s4", "avg_pool2d", (1, 1, 8, 8), (4, 4), (4, 4), (0, 0))
    case("global_avg_pool", "global_avg_pool", [uniform((2, 3, 4, 5))], lambda t: t.mean(dim=(2, 3)))
    case("global_avg_pool_1x1", "global_avg_pool", [uniform((3, 2, 1, 1))], lambda t: t.mean(dim=(2, 3)))
    # unbiased (Bessel) spatial std, torch.std's default; 1x2 planes: y = |x1 - x2| / sqrt(2)
    case("spatial_std_pool", "spatial_std_pool", [uniform((2, 3, 4, 5))], lambda t: t.std(dim=(2, 3)))
    case("spatial_std_pool_1x2", "spatial_std_pool", [uniform((3, 2, 1, 2))], lambda t: t.std(dim=(2, 3)))
    case("spatial_std_pool_7x7", "spatial_std_pool", [uniform((1, 2, 7, 7), 0.0, 3.0)],
         lambda t: t.std(dim=(2, 3)))


def main():
    torch.manual_seed(SEED)
    build()
    doc = {"generator": "scripts/make_conv_fixture.py", "torch": torch.__version__, "seed": SEED,
           "cases": cases}
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    tmp = OUT_PATH + ".tmp"
    with open(tmp, "w") as fp:
        json.dump(doc, fp, separators=(",", ":"))
        fp.write("\n")
        fp.flush()
        os.fsync(fp.fileno())
    os.replace(tmp, OUT_PATH)
    print("wrote %s: %d cases, %d bytes" % (OUT_PATH, len(cases), os.path.getsize(OUT_PATH)))


if __name__ == "__main__":
    main()
