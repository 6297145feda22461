"""The largest difference between two safetensors checkpoints (the model's parameters and buffers, the
optimizer state, an objective's state), per tensor relative to its scale: max |a - b| / max(1, max |a|).
`compare_checkpoints.py A B TOL` prints it and exits 1 if it is above TOL or the files hold different
tensors (names, shapes). TOL 0 = every tensor bitwise equal."""
import json, struct, sys
import numpy as np


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    body = raw[8 + n:]
    out = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", (path, name, t["dtype"])
        lo, hi = t["data_offsets"]
        out[name] = np.frombuffer(body[lo:hi], dtype=np.float32).reshape(t["shape"])
    return out


a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
if sorted(a) != sorted(b) or any(a[k].shape != b[k].shape for k in a):
    print(f"{sys.argv[1]} and {sys.argv[2]} hold different tensors")
    sys.exit(1)
def delta(x, y):
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x.astype(np.float64) - y))) / max(1.0, float(np.max(np.abs(x))))


worst = max(delta(a[k], b[k]) for k in a)
bitwise = all(a[k].tobytes() == b[k].tobytes() for k in a)
print(f"max |delta| / max(1, |w|) = {worst:.3g} over {len(a)} tensors{' (bitwise equal)' if bitwise else ''}; tolerance {tol:g}")
sys.exit(0 if (bitwise if tol == 0 else worst <= tol) else 1)
