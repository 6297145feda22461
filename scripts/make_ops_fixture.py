#!/usr/bin/python3
"""Reference fixture for tests/test_tensor_ops.c: forward values and input gradients of every tensor
op that has a PyTorch equivalent.

Run with Debian's python (torch 1.13):  /usr/bin/python3 scripts/make_ops_fixture.py
Writes tests/fixtures/ops/ops.json (atomically: temp file + rename).

Each case holds float32 inputs (stored with 9 significant digits, so the C test reads back exactly
the same float32 values), a fixed random projection r, and — computed in float64 by PyTorch from
those float32 inputs — the output out = op(inputs) and the gradient of L = sum(r * out) with respect
to every input that has "grad": true. Op parameters (axis, keepdim, scalar, slope, ...) are extra keys
of the case object; "op" names the C entry point without the eb_ prefix.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "ops", "ops.json")
SEED = 20240611

rng = np.random.default_rng(SEED)
cases = []


def f32(a):
    return np.asarray(a, dtype=np.float32)


def uniform(shape, lo=-2.0, hi=2.0):
    return f32(rng.uniform(lo, hi, size=shape))


def away_from(x, points, dist, lo=-2.0, hi=2.0):
    """Resample the elements of x that lie within dist of a kink point (gradient ill-defined there)."""
    x = x.copy()
    flat = x.reshape(-1)
    for i in range(flat.size):
        while any(abs(float(flat[i]) - p) < dist for p in points):
            flat[i] = np.float32(rng.uniform(lo, hi))
    return x


def num(v, digits):
    return float("%.*g" % (digits, float(v)))


def flat(a, digits=9):
    """9 significant digits round-trip a float32 exactly (inputs, r); 8 are ample for the float64
    references, which the C test compares at ~1e-5 relative tolerance."""
    return [num(v, digits) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def case(name, op, inputs, fn, grad=None, **params):
    """inputs: list of float32 arrays; fn: torch float64 function of the input tensors."""
    if grad is None:
        grad = [True] * len(inputs)
    ts = [torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=g) for x, g in zip(inputs, grad)]
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
    cases.append(c)


def build():
    # ---- shape ----
    case("reshape_3d_to_2d", "reshape", [uniform((2, 3, 2))], lambda x: x.reshape(3, 4), shape=[3, 4])
    case("reshape_to_4d", "reshape", [uniform((6,))], lambda x: x.reshape(1, 2, 3, 1), shape=[1, 2, 3, 1])

    # ---- matmul: op(a)[M,K] . op(b)[K,N], all four transpose combinations ----
    M, K, N = 2, 3, 4
    for ta in (False, True):
        for tb in (False, True):
            a = uniform((K, M) if ta else (M, K))
            b = uniform((N, K) if tb else (K, N))
            case("matmul_%s%s" % ("t" if ta else "n", "t" if tb else "n"), "matmul", [a, b],
                 lambda a_, b_, ta=ta, tb=tb: (a_.t() if ta else a_) @ (b_.t() if tb else b_),
                 trans_a=ta, trans_b=tb)
    a, b = uniform((3, 2)), uniform((2, 3))
    case("matmul_b_const", "matmul", [a, b], lambda a_, b_: a_ @ b_, grad=[True, False],
         trans_a=False, trans_b=False)

    # ---- linear: x[N,in] . w^T + b ----
    x, w, bias = uniform((3, 4)), uniform((2, 4)), uniform((2,))
    case("linear_bias", "linear", [x, w, bias], lambda x_, w_, b_: F.linear(x_, w_, b_))
    case("linear_nobias", "linear", [x, w], lambda x_, w_: F.linear(x_, w_))

    # ---- broadcasting binaries ----
    shapes = [((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((2, 3), ()), ((2, 3), (2, 3)),
              ((1, 3), (2, 1))]
    binops = {"add": lambda a_, b_: a_ + b_, "sub": lambda a_, b_: a_ - b_, "mul": lambda a_, b_: a_ * b_,
              "div": lambda a_, b_: a_ / b_}
    for op, fn in binops.items():
        for sa, sb in shapes:
            a = uniform(sa)
            b = uniform(sb, 0.5, 2.0) * f32(rng.choice([-1.0, 1.0], size=sb)) if op == "div" else uniform(sb)
            name = "%s_%s_%s" % (op, "x".join(map(str, sa)) or "s", "x".join(map(str, sb)) or "s")
            case(name, op, [f32(a), f32(b)], fn)
    a, b = uniform((2, 3)), uniform((3,), 0.5, 2.0)
    case("div_a_const", "div", [a, b], lambda a_, b_: a_ / b_, grad=[False, True])

    # ---- scalar ops ----
    case("add_scalar", "add_scalar", [uniform((2, 3))], lambda x: x + 0.75, scalar=0.75)
    case("mul_scalar", "mul_scalar", [uniform((2, 3))], lambda x: x * -1.5, scalar=-1.5)

    # ---- elementwise unary ----
    case("exp", "exp", [uniform((2, 3))], torch.exp)
    case("log", "log", [uniform((2, 3), 0.2, 3.0)], torch.log)
    case("sqrt", "sqrt", [uniform((2, 3), 0.2, 3.0)], torch.sqrt)
    case("square", "square", [uniform((2, 3))], torch.square)
    case("abs", "abs", [away_from(uniform((2, 3)), [0.0], 0.05)], torch.abs)
    case("clamp", "clamp", [away_from(uniform((3, 4)), [-0.5, 0.7], 0.05)],
         lambda x: torch.clamp(x, -0.5, 0.7), lo=-0.5, hi=0.7)

    # ---- activations ----
    case("relu", "relu", [away_from(uniform((3, 4)), [0.0], 0.05)], F.relu)
    case("leaky_relu", "leaky_relu", [away_from(uniform((3, 4)), [0.0], 0.05)],
         lambda x: F.leaky_relu(x, 0.1), slope=0.1)
    case("elu_1", "elu", [away_from(uniform((3, 4)), [0.0], 0.05)], lambda x: F.elu(x, 1.0), alpha=1.0)
    case("elu_07", "elu", [away_from(uniform((3, 4)), [0.0], 0.05)], lambda x: F.elu(x, 0.7), alpha=0.7)
    case("softplus_1", "softplus", [uniform((3, 4), -4.0, 4.0)], lambda x: F.softplus(x, beta=1.0), beta=1.0)
    case("softplus_2", "softplus", [uniform((3, 4), -4.0, 4.0)], lambda x: F.softplus(x, beta=2.0), beta=2.0)
    case("tanh", "tanh", [uniform((3, 4), -3.0, 3.0)], torch.tanh)
    case("sigmoid", "sigmoid", [uniform((3, 4), -4.0, 4.0)], torch.sigmoid)
    case("swish", "swish", [uniform((3, 4), -4.0, 4.0)], F.silu)

    # ---- reductions over one axis: sum over every axis with and without keepdim, the others over a
    # spread of (axis, keepdim) pairs including a negative axis ----
    x3 = uniform((2, 3, 2))
    for axis in (0, 1, 2, -1):
        for keepdim in (False, True):
            sfx = ("ax%d%s" % (axis, "_keep" if keepdim else "")).replace("-", "m")
            case("sum_" + sfx, "sum", [x3], lambda x, a=axis, k=keepdim: x.sum(dim=a, keepdim=k),
                 axis=axis, keepdim=keepdim)
    for axis, keepdim in ((0, False), (1, True), (2, False), (-1, True), (-2, False)):
        sfx = ("ax%d%s" % (axis, "_keep" if keepdim else "")).replace("-", "m")
        case("mean_" + sfx, "mean", [x3], lambda x, a=axis, k=keepdim: x.mean(dim=a, keepdim=k),
             axis=axis, keepdim=keepdim)
        case("max_" + sfx, "max", [x3], lambda x, a=axis, k=keepdim: torch.amax(x, dim=a, keepdim=k),
             axis=axis, keepdim=keepdim)
        case("logsumexp_" + sfx, "logsumexp", [x3],
             lambda x, a=axis, k=keepdim: torch.logsumexp(x, dim=a, keepdim=k), axis=axis, keepdim=keepdim)
    x1 = uniform((5,))
    case("sum_1d", "sum", [x1], lambda x: x.sum(dim=0), axis=0, keepdim=False)
    case("logsumexp_large", "logsumexp", [f32(uniform((2, 3)) * 30.0 + 60.0)],
         lambda x: torch.logsumexp(x, dim=1), axis=1, keepdim=False)
    case("sum_all", "sum_all", [x3], lambda x: x.sum())
    case("mean_all", "mean_all", [x3], lambda x: x.mean())

    # ---- softmax family ----
    for axis in (0, 1, -1):
        sfx = ("ax%d" % axis).replace("-", "m")
        case("softmax_" + sfx, "softmax", [x3], lambda x, a=axis: torch.softmax(x, dim=a), axis=axis)
        case("log_softmax_" + sfx, "log_softmax", [x3], lambda x, a=axis: torch.log_softmax(x, dim=a),
             axis=axis)
    case("log_softmax_large", "log_softmax", [f32(uniform((2, 3)) * 30.0 + 60.0)],
         lambda x: torch.log_softmax(x, dim=1), axis=1)
    logits = uniform((5, 4), -3.0, 3.0)
    labels = [0, 3, 3, 1, 2]
    case("cross_entropy", "cross_entropy", [logits],
         lambda x: F.cross_entropy(x, torch.tensor(labels, dtype=torch.long)), labels=labels)

    # ---- l2_normalize: x / max(||x||, eps), rows ----
    case("l2_normalize", "l2_normalize", [uniform((3, 4))], lambda x: F.normalize(x, p=2.0, dim=1, eps=1e-6),
         eps=1e-6)
    small = f32(np.array([[0.01, -0.02, 0.015], [1.0, 2.0, -0.5]]))  # row 0: norm < eps branch
    case("l2_normalize_eps", "l2_normalize", [small], lambda x: F.normalize(x, p=2.0, dim=1, eps=0.1), eps=0.1)

    # ---- concat ----
    case("concat_ax0", "concat", [uniform((2, 3)), uniform((1, 3))], lambda a_, b_: torch.cat([a_, b_], 0), axis=0)
    case("concat_ax1", "concat", [uniform((2, 3)), uniform((2, 2))], lambda a_, b_: torch.cat([a_, b_], 1), axis=1)
    case("concat_3d_ax1", "concat", [uniform((2, 1, 2)), uniform((2, 2, 2))],
         lambda a_, b_: torch.cat([a_, b_], 1), axis=1)
    case("concat_ax_m1", "concat", [uniform((2, 2, 1)), uniform((2, 2, 3))],
         lambda a_, b_: torch.cat([a_, b_], -1), axis=-1)

    # ---- gather_rows (index_select along axis 0, repeated indices scatter-add) ----
    index = [2, 0, 2, 3, 2]
    case("gather_rows", "gather_rows", [uniform((4, 3))],
         lambda x: torch.index_select(x, 0, torch.tensor(index, dtype=torch.long)), index=index)
    index1 = [1, 1, 0]
    case("gather_rows_1d", "gather_rows", [uniform((3,))],
         lambda x: torch.index_select(x, 0, torch.tensor(index1, dtype=torch.long)), index=index1)


def main():
    torch.set_default_dtype(torch.float64)
    build()
    doc = {
        "generator": "scripts/make_ops_fixture.py",
        "torch": torch.__version__,
        "seed": SEED,
        "note": "float32 inputs; out and grads (of sum(r*out)) computed by PyTorch in float64",
        "cases": cases,
    }
    text = json.dumps(doc, separators=(",", ":"))
    path = os.path.normpath(OUT_PATH)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as fp:
        fp.write(text)
        fp.write("\n")
    os.replace(tmp, path)
    print("%s: %d cases, %d bytes" % (path, len(cases), len(text) + 1), file=sys.stderr)


if __name__ == "__main__":
    main()
