#!/usr/bin/python3
"""Independent PyTorch check of an ebood MLP checkpoint (tests/test_nn.c runs it).

Check mode:
    /usr/bin/python3 scripts/torch_mlp_check.py MODEL INPUT LOGITS
  MODEL   a checkpoint written by eb_model_save (safetensors);
  INPUT   a .npy array x[N, in_dim] (float32);
  LOGITS  a .npy array [N, out_dim]: what eb_model_predict computed for x.
  The checkpoint is parsed with struct + json + numpy only (np.frombuffer per tensor; the
  `safetensors` package is not used), the architecture is rebuilt from __metadata__["ebood.config"]
  as a torch.nn module whose nn.Linear layers sit in a ModuleList named `layers`, the tensors are
  loaded with load_state_dict(strict=True) — so every name and shape must be exactly PyTorch's —
  and the module runs in float64 and in float32. Both results must match LOGITS within
  1e-5 * max(1, max |logit|).

Fixture mode:
    /usr/bin/python3 scripts/torch_mlp_check.py --make-fixture [DIR]
  Writes the opposite direction's fixture into DIR (default tests/fixtures/nn/): torch_mlp.safetensors
  (a torch-initialised MLP, written from its state_dict by the numpy-only writer below, with the
  ebood metadata), torch_input.npy (float32 [N, in]) and torch_logits.npy (float64 [N, out], the
  module's float64 output). tests/test_nn.c loads the checkpoint with eb_model_load and compares.

Exit codes: 0 all match; 1 a mismatch (printed); 2 the check could not run (usage, unreadable or
malformed file, numpy/torch missing).
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_DIR = os.path.join(HERE, "..", "tests", "fixtures", "nn")

# The fixture's architecture (ebood.config as eb_model_config_json writes it).
FIXTURE_CONFIG = {"in_dim": 5, "out_dim": 3, "hidden": [8, 6], "activation": "leaky_relu",
                  "activation_param": 0.2, "dropout": 0.1}
FIXTURE_ROWS = 7
FIXTURE_SEED = 1234


class Mismatch(Exception):
    pass


class Unusable(Exception):
    pass


def read_safetensors(path, np):
    """(tensors {name: float32 array}, metadata {str: str}), validating the layout."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise Unusable(f"{path}: {len(blob)} bytes, no header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise Unusable(f"{path}: header length {n} beyond the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    buf = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    spans = []
    tensors = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise Mismatch(f"{name}: dtype {e['dtype']}, expected F32")
        begin, end = e["data_offsets"]
        shape = [int(d) for d in e["shape"]]
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != 4 * count or end > len(buf):
            raise Unusable(f"{path}: {name}: data_offsets {begin}..{end} do not fit shape {shape}")
        spans.append((begin, end))
        tensors[name] = np.frombuffer(buf, dtype="<f4", count=count, offset=begin).reshape(shape)
    pos = 0
    for begin, end in sorted(spans):
        if begin != pos:
            raise Unusable(f"{path}: gap or overlap at byte {pos} of the buffer")
        pos = end
    if pos != len(buf):
        raise Unusable(f"{path}: {len(buf) - pos} trailing bytes after the tensors")
    return tensors, meta


def write_safetensors(path, tensors, meta):
    """tensors: list of (name, float32 array) in data order; header padded to 8 bytes."""
    import numpy as np
    header = {"__metadata__": meta}
    chunks = []
    offset = 0
    for name, arr in tensors:
        raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def make_activation(nn, name, param):
    """ebood activation name + parameter -> the torch.nn module (PyTorch's definitions)."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope=param)
    if name == "elu":
        return nn.ELU(alpha=param)
    if name == "softplus":
        return nn.Softplus(beta=param)
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "swish":
        return nn.SiLU()
    raise Mismatch(f"unknown activation '{name}' in ebood.config")


def make_mlp(torch, cfg):
    nn = torch.nn

    class MLP(nn.Module):
        """in -> hidden[0] -> ... -> out; activation (then dropout) after each hidden layer."""

        def __init__(self):
            super().__init__()
            dims = [int(cfg["in_dim"])] + [int(h) for h in cfg["hidden"]] + [int(cfg["out_dim"])]
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
            self.act = make_activation(nn, cfg["activation"], float(cfg["activation_param"]))
            self.drop = nn.Dropout(float(cfg["dropout"]))

        def forward(self, x):
            for layer in self.layers[:-1]:
                x = self.drop(self.act(layer(x)))
            return self.layers[-1](x)

    return MLP()


def check(model_path, input_path, logits_path, np, torch):
    tensors, meta = read_safetensors(model_path, np)
    for key in ("ebood.format_version", "ebood.model", "ebood.config"):
        if key not in meta:
            raise Mismatch(f"__metadata__ lacks {key}")
    if meta["ebood.format_version"] != "1" or meta["ebood.model"] != "mlp":
        raise Mismatch(f"format_version {meta['ebood.format_version']!r}, model {meta['ebood.model']!r}")
    cfg = json.loads(meta["ebood.config"])
    x = np.load(input_path)
    c_logits = np.load(logits_path).astype(np.float64)
    if x.ndim != 2 or x.shape[1] != cfg["in_dim"] or c_logits.shape != (x.shape[0], cfg["out_dim"]):
        raise Mismatch(f"shapes: input {x.shape}, logits {c_logits.shape}, config {cfg}")
    state = {name: torch.from_numpy(arr.copy()) for name, arr in tensors.items()}
    scale = max(1.0, float(np.abs(c_logits).max()))
    tol = 1e-5 * scale
    worst = 0.0
    for dtype in (torch.float64, torch.float32):
        model = make_mlp(torch, cfg)
        model.load_state_dict(state, strict=True)  # names and shapes exactly PyTorch's
        model = model.to(dtype).eval()
        with torch.no_grad():
            out = model(torch.from_numpy(x).to(dtype)).double().numpy()
        diff = float(np.abs(out - c_logits).max())
        worst = max(worst, diff)
        print(f"torch {str(dtype).replace('torch.', '')}: max |logit diff| = {diff:.3e} "
              f"(tolerance {tol:.1e}, {cfg['activation']}:{cfg['activation_param']}, "
              f"hidden {cfg['hidden']})")
        if not diff <= tol:
            i, j = np.unravel_index(np.argmax(np.abs(out - c_logits)), out.shape)
            raise Mismatch(f"logit [{i}, {j}]: torch {out[i, j]!r}, ebood {c_logits[i, j]!r}")
    return worst


def make_fixture(out_dir, np, torch):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(FIXTURE_SEED)
    model = make_mlp(torch, FIXTURE_CONFIG)  # torch's own nn.Linear initialisation
    x = torch.randn(FIXTURE_ROWS, FIXTURE_CONFIG["in_dim"], dtype=torch.float32) * 2.0
    model = model.eval()
    state = [(k, v.detach().numpy().astype(np.float32)) for k, v in model.state_dict().items()]
    meta = {"ebood.format_version": "1", "ebood.model": "mlp",
            "ebood.config": json.dumps(FIXTURE_CONFIG, separators=(",", ":")),
            "ebood.provenance": "scripts/torch_mlp_check.py --make-fixture"}
    write_safetensors(os.path.join(out_dir, "torch_mlp.safetensors"), state, meta)
    with torch.no_grad():
        logits = model.double()(x.double()).numpy()
    np.save(os.path.join(out_dir, "torch_input.npy"), x.numpy())
    np.save(os.path.join(out_dir, "torch_logits.npy"), logits)
    print(f"wrote {out_dir}: {len(state)} tensors, input {tuple(x.shape)}, logits {logits.shape}")


def main(argv):
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"torch_mlp_check: {e}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    if len(argv) >= 2 and argv[1] == "--make-fixture" and len(argv) <= 3:
        make_fixture(argv[2] if len(argv) == 3 else FIXTURE_DIR, np, torch)
        return 0
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        check(argv[1], argv[2], argv[3], np, torch)
    except Mismatch as e:
        print(f"torch_mlp_check: MISMATCH: {e}", file=sys.stderr)
        return 1
    except RuntimeError as e:  # load_state_dict: missing/unexpected keys, shape mismatch
        print(f"torch_mlp_check: MISMATCH: {e}", file=sys.stderr)
        return 1
    except (Unusable, OSError, ValueError, KeyError) as e:
        print(f"torch_mlp_check: cannot check: {e}", file=sys.stderr)
        return 2
    print("torch_mlp_check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
