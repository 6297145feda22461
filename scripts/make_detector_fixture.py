#!/usr/bin/python3
"""Reference scores for the post-hoc detectors (tests/test_detectors.c, tests/cli/test_cli_detectors.sh,
and the k-NN / Hopfield tests).

Run with Debian's interpreter (numpy, scikit-learn, torch):
    /usr/bin/python3 scripts/make_detector_fixture.py
Writes tests/fixtures/detectors/:
  features part (no model)
    train_features.npy [80, 6] f32, train_labels.npy [80] i64 (3 classes), train_logits.npy [80, 3] f32
    val_features.npy [40, 6], val_logits.npy [40, 3]            ID validation (threshold calibration)
    test_features.npy [30, 6], test_logits.npy [30, 3]           20 ID-like rows, then 10 shifted rows
    aux_features.npy [50, 6]                                     auxiliary outliers (hopfield_aux)
  model part (ODIN, Mahalanobis input pre-processing)
    mlp.safetensors        a 4 -> 8 -> 6 -> 3 LeakyReLU(0.01) MLP in ebood's checkpoint layout
                           (src/nn/model.c: "layers.<i>.weight" [out, in], "layers.<i>.bias", metadata
                           ebood.format_version / ebood.model / ebood.config), written by hand below
    model_train_inputs.npy [60, 4], model_train_labels.npy [60] i32,
    model_train_features.npy [60, 6] (torch's penultimate features of the train inputs)
    model_test_inputs.npy [24, 4]
  expected_<case>.npy (f64) per case, and cases.json describing each case:
    {"name", "detector", "params": {...}, "train": "features"|"model", "input_std": [...] or null,
     "expected": file, "threshold": {"tpr", "value", "expected_is_id": file} (optional)}

Every reference is computed in float64 from the float32 values stored in the .npy files, with
scikit-learn (EmpiricalCovariance, shrunk_covariance, NearestNeighbors), NumPy and PyTorch, never with
ebood. Conventions (include/ebood/ood.h, docs/methods.md): higher = more ID.
  msp          max softmax(f/T);  maxlogit max f;  energy T*logsumexp(f/T)
  mahalanobis  max_c -1/2 (z-mu_c)^T P (z-mu_c), P = inverse of EmpiricalCovariance of the class-centred
               train features (divisor N), optionally shrunk_covariance(., s)
  ssd          the same on L2-normalised features
  knn          -(Euclidean distance to the k-th nearest L2-normalised train feature); "knn_sqdist" cases
               hold -(squared distance), the faiss IndexFlatL2 / OpenOOD form (same ranking)
  hopfield     000_d95ac7511efbaafc.txt Eq. 8 on raw features:
               lse(b, X^T xi) - xi^T xi / 2 - log(N)/b - M^2/2, lse(b, x) = log(sum exp(b x))/b, M = max ||x_i||
  hopfield_aux specs section 2 on L2-normalised vectors: lme_b(xi^T X_id) - lme_b(xi^T O_aux),
               lme_b(s) = log(sum exp(b s))/b - log(N)/b
  odin         max softmax(f(x~)/T), x~ = x - eps * sign(grad_x CE(f(x)/T, argmax f(x))) / std, sign(0) = +1
  mahalanobis with eps > 0: x~ = x - eps * sign(grad_x 1/2 d^T P d) / std, d = f(x) - mu_closest, score of f(x~)
Thresholds: the m-th largest ID-validation score, m the smallest integer with m/n >= tpr.
"""
import json
import os
import struct

import numpy as np
import torch
from sklearn.covariance import EmpiricalCovariance, shrunk_covariance
from sklearn.neighbors import NearestNeighbors

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "detectors")


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def save(name, a):
    np.save(os.path.join(OUT, name), a)


def lse(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    return (m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))).squeeze(axis)


def normalize(z):
    z = np.asarray(z, dtype=np.float64)
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


# ---- logit scores ---------------------------------------------------------------------------------
def msp(logits, T):
    z = logits.astype(np.float64) / T
    return np.exp(np.max(z, 1) - lse(z, 1))


def energy(logits, T):
    return T * lse(logits.astype(np.float64) / T, 1)


# ---- Mahalanobis / SSD --------------------------------------------------------------------------
def maha_fit(feat, labels, n_classes, shrinkage=0.0, ssd=False):
    z = normalize(feat) if ssd else feat.astype(np.float64)
    means = np.stack([z[labels == c].mean(0) for c in range(n_classes)])
    centred = z - means[labels]
    cov = EmpiricalCovariance(assume_centered=False).fit(centred).covariance_
    if shrinkage > 0:
        cov = shrunk_covariance(cov, shrinkage)
    precision = np.linalg.inv(cov)
    return means, precision


def maha_score(feat, means, precision, ssd=False):
    z = normalize(feat) if ssd else feat.astype(np.float64)
    d = z[:, None, :] - means[None, :, :]
    g = -0.5 * np.einsum("ncj,jk,nck->nc", d, precision, d)
    return g.max(1)


# ---- kNN / Hopfield (for the k-NN / Hopfield tests) ---------------------------------------------
def knn_dist(train, test, k):
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(normalize(train))
    dist, _ = nn.kneighbors(normalize(test))
    return dist[:, k - 1]


def hopfield(train, test, beta):
    X = train.astype(np.float64)
    xi = test.astype(np.float64)
    N = X.shape[0]
    M = np.max(np.linalg.norm(X, axis=1))
    return lse(beta * xi @ X.T, 1) / beta - 0.5 * np.sum(xi * xi, 1) - np.log(N) / beta - 0.5 * M * M


def hopfield_aux(train, aux, test, beta):
    X, O, xi = normalize(train), normalize(aux), normalize(test)

    def lme(s):
        return lse(beta * s, 1) / beta - np.log(s.shape[1]) / beta

    return lme(xi @ X.T) - lme(xi @ O.T)


def threshold(val_scores, tpr):
    n = len(val_scores)
    m = 1
    while m / n < tpr:
        m += 1
    return float(np.sort(val_scores)[::-1][m - 1])


# ---- the tiny model --------------------------------------------------------------------------------
class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            [torch.nn.Linear(4, 8), torch.nn.Linear(8, 6), torch.nn.Linear(6, 3)])

    def forward(self, x, features=False):
        h = x
        for layer in self.layers[:-1]:
            h = torch.nn.functional.leaky_relu(layer(h), 0.01)
        out = self.layers[-1](h)
        return (out, h) if features else out


def write_checkpoint(path, model):
    tensors = []
    for i, layer in enumerate(model.layers):
        tensors.append((f"layers.{i}.weight", layer.weight.detach().numpy().astype("<f4")))
        tensors.append((f"layers.{i}.bias", layer.bias.detach().numpy().astype("<f4")))
    config = {"in_dim": 4, "out_dim": 3, "hidden": [8, 6], "activation": "leaky_relu",
              "activation_param": 0.01, "dropout": 0.0}
    header = {"__metadata__": {"ebood.format_version": "1", "ebood.model": "mlp",
                               "ebood.config": json.dumps(config, separators=(",", ":"))}}
    offset, blobs = 0, []
    for name, a in tensors:
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as fp:
        fp.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def std_vector(spec, din):
    """input_std as the C side sees it: n values, element j uses spec[j // (din // n)]."""
    if spec is None:
        return np.ones(din, dtype=np.float32)
    s = f32(spec)
    return np.repeat(s, din // len(s))


def odin(model, x, T, eps, std):
    xt = torch.tensor(x, requires_grad=True)
    out = model(xt)
    labels = out.detach().argmax(1)
    loss = torch.nn.functional.cross_entropy(out / T, labels)
    loss.backward()
    sign = torch.ge(xt.grad, 0).float() * 2 - 1
    x2 = xt.detach() - eps * (sign / torch.tensor(std))
    with torch.no_grad():
        logits = model(x2).numpy()
    return msp(logits, T)


def maha_preprocessed(model, x, means, precision, eps, std, ssd=False):
    xt = torch.tensor(x, requires_grad=True)
    _, f = model(xt, features=True)
    if ssd:
        f = torch.nn.functional.normalize(f, dim=1, eps=1e-12)
    mu = torch.tensor(means, dtype=torch.float32)
    P = torch.tensor(precision, dtype=torch.float32)
    fd = f.detach().numpy().astype(np.float64)
    d_all = fd[:, None, :] - means[None]
    closest = np.argmax(-0.5 * np.einsum("ncj,jk,nck->nc", d_all, precision, d_all), 1)
    d = f - mu[torch.tensor(closest)]
    loss = torch.mean(0.5 * torch.sum((d @ P) * d, 1))
    loss.backward()
    sign = torch.ge(xt.grad, 0).float() * 2 - 1
    x2 = xt.detach() - eps * (sign / torch.tensor(std))
    with torch.no_grad():
        _, f2 = model(x2, features=True)
    return maha_score(f2.numpy(), means, precision, ssd=ssd)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1)
    d, C = 6, 3
    centres = rng.normal(0, 1.5, size=(C, d)) + 1.0
    mix = np.eye(d) + 0.3 * rng.normal(size=(d, d))

    def sample(counts, shift=0.0, scale=1.0):
        labels = np.concatenate([np.full(k, c) for c, k in enumerate(counts)])
        noise = rng.normal(0, 0.6, size=(len(labels), d)) @ mix.T
        return f32(centres[labels] + scale * noise + shift), labels

    W = rng.normal(0, 1.0, size=(C, d))
    b = rng.normal(0, 0.5, size=C)

    def logits_of(z):
        return f32(z.astype(np.float64) @ W.T + b)

    train_f, train_y = sample([30, 25, 25])
    val_f, _ = sample([14, 13, 13])
    test_id, _ = sample([7, 7, 6])
    test_ood, _ = sample([4, 3, 3], shift=2.5, scale=2.0)
    test_f = f32(np.concatenate([test_id, test_ood]))
    aux_f = f32(rng.normal(0, 2.0, size=(50, d)) - 1.0)
    train_l, val_l, test_l = logits_of(train_f), logits_of(val_f), logits_of(test_f)
    for name, a in [("train_features", train_f), ("train_labels", train_y.astype(np.int64)),
                    ("train_logits", train_l), ("val_features", val_f), ("val_logits", val_l),
                    ("test_features", test_f), ("test_logits", test_l), ("aux_features", aux_f)]:
        save(name + ".npy", a)

    cases = []

    def add(name, detector, params, expected, train="features", val=None, tprs=(), input_std=None):
        save(f"expected_{name}.npy", np.asarray(expected, dtype=np.float64))
        case = {"name": name, "detector": detector, "params": params, "train": train,
                "input_std": None if input_std is None else [float(v) for v in input_std],
                "expected": f"expected_{name}.npy"}
        th = []
        for tpr in tprs:
            t = threshold(val, tpr)
            is_id = (np.asarray(expected) >= t).astype(np.uint8)
            # predictions must not hinge on rounding: no test score within 1e-4 of the threshold
            assert np.min(np.abs(np.asarray(expected) - t)) > 1e-4 * max(1.0, abs(t)), name
            save(f"expected_{name}_is_id_{int(round(tpr * 100))}.npy", is_id)
            th.append({"tpr": tpr, "value": t, "expected_is_id": f"expected_{name}_is_id_{int(round(tpr * 100))}.npy"})
        if th:
            case["thresholds"] = th
        cases.append(case)

    add("msp_t1", "msp", {"temperature": 1.0}, msp(test_l, 1.0), val=msp(val_l, 1.0), tprs=(0.95,))
    add("msp_t2", "msp", {"temperature": 2.0}, msp(test_l, 2.0))
    add("maxlogit", "maxlogit", {}, test_l.astype(np.float64).max(1), val=val_l.astype(np.float64).max(1),
        tprs=(0.9,))
    add("energy_t1", "energy", {"temperature": 1.0}, energy(test_l, 1.0), val=energy(val_l, 1.0),
        tprs=(0.95, 0.9, 1.0))
    add("energy_t2_5", "energy", {"temperature": 2.5}, energy(test_l, 2.5))

    for s in (0.0, 0.3):
        for ssd in (False, True):
            means, P = maha_fit(train_f, train_y, C, shrinkage=s, ssd=ssd)
            det = "ssd" if ssd else "mahalanobis"
            val_s = maha_score(val_f, means, P, ssd=ssd)
            add(f"{det}_s{int(s * 10)}", det, {"shrinkage": s}, maha_score(test_f, means, P, ssd=ssd), val=val_s,
                tprs=(0.95,) if s == 0 else ())

    for k in (1, 5, 80):
        dist = knn_dist(train_f, test_f, k)
        add(f"knn_k{k}", "knn", {"k": k}, -dist)
        add(f"knn_sqdist_k{k}", "knn", {"k": k}, -dist * dist)
    for beta in (4.0, 0.5):
        add(f"hopfield_b{beta:g}".replace(".", "_"), "hopfield", {"beta": beta}, hopfield(train_f, test_f, beta))
    add("hopfield_aux_b4", "hopfield_aux", {"beta": 4.0}, hopfield_aux(train_f, aux_f, test_f, 4.0))

    # ---- the model part
    torch.manual_seed(3)
    model = MLP()
    with torch.no_grad():
        for layer in model.layers:
            layer.weight.mul_(2.0)
    write_checkpoint(os.path.join(OUT, "mlp.safetensors"), model)
    blob = rng.normal(0, 1.0, size=(C, 4)) * 1.5
    tr_y = np.concatenate([np.full(20, c) for c in range(C)]).astype(np.int32)
    tr_x = f32(blob[tr_y] + rng.normal(0, 0.5, size=(60, 4)))
    te_y = np.concatenate([np.full(6, c) for c in range(C)])
    te_x = f32(np.concatenate([blob[te_y] + rng.normal(0, 0.5, size=(18, 4)),
                               rng.normal(0, 3.0, size=(6, 4))]))
    with torch.no_grad():
        _, tr_f = model(torch.tensor(tr_x), features=True)
        te_logits, te_f = model(torch.tensor(te_x), features=True)
    tr_f = f32(tr_f.numpy())
    save("mlp_train_inputs.npy", tr_x)
    save("mlp_train_labels.npy", tr_y)
    save("mlp_train_features.npy", tr_f)
    save("mlp_test_inputs.npy", te_x)

    plain = msp(f32(te_logits.numpy()), 1.0)
    for name, T, eps, std in [("odin_t1000", 1000.0, 0.0014, None), ("odin_t1_std", 1.0, 0.05, [0.5, 1.0, 2.0, 0.25]),
                              ("odin_t10_std2", 10.0, 0.02, [0.5, 2.0]), ("odin_eps0", 1.0, 0.0, None)]:
        ref = odin(model, te_x, T, eps, std_vector(std, 4))
        if eps >= 0.02:  # the perturbation must be visible above the test tolerance
            assert np.max(np.abs(ref - msp(f32(te_logits.numpy()), T))) > 1e-3, name
        add(name, "odin", {"temperature": T, "eps": eps}, ref, train="model", input_std=std)
    assert np.allclose(odin(model, te_x, 1.0, 0.0, std_vector(None, 4)), plain)

    for ssd in (False, True):
        det = "ssd" if ssd else "mahalanobis"
        means, P = maha_fit(tr_f, tr_y, C, ssd=ssd)
        add(f"{det}_model_eps0", det, {"shrinkage": 0.0, "eps": 0.0}, maha_score(te_f.numpy(), means, P, ssd=ssd),
            train="model")
        std = [0.5, 1.0, 2.0, 0.25] if not ssd else None
        ref = maha_preprocessed(model, te_x, means, P, 0.01, std_vector(std, 4), ssd=ssd)
        assert np.max(np.abs(ref - maha_score(te_f.numpy(), means, P, ssd=ssd))) > 1e-3
        add(f"{det}_model_eps0_01", det, {"shrinkage": 0.0, "eps": 0.01}, ref, train="model", input_std=std)

    with open(os.path.join(OUT, "cases.json"), "w") as fp:
        json.dump({"n_classes": C, "cases": cases}, fp, indent=1)
        fp.write("\n")


if __name__ == "__main__":
    main()
