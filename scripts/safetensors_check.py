#!/usr/bin/python3
"""Independent reader for the safetensors file that tests/test_safetensors.c writes.

Parses the file with struct + json + numpy (np.frombuffer per tensor), checks the layout rules of
the format (8-aligned header, contiguous data covering the whole buffer), then asserts every
tensor's dtype, shape and values against the formulas of the flat index i that the C test uses,
and the metadata strings. Each array is also loaded into torch (torch.from_numpy /
torch.frombuffer for BF16) and compared again.

Usage: /usr/bin/python3 scripts/safetensors_check.py FILE
Exit codes: 0 all match; 1 a mismatch (printed); 2 the check itself could not run (bad usage,
unreadable/malformed file, missing numpy/torch).
"""
import json
import struct
import sys


class Mismatch(Exception):
    pass


def expected(np):
    """name -> (dtype, shape, values as a numpy array); must match tests/test_safetensors.c."""
    def i(n):
        return np.arange(n, dtype=np.int64)
    return {
        "f32": ("F32", [2, 3, 4], (i(24) * 0.5 - 3.0).astype(np.float32)),
        "f64": ("F64", [5], i(5) / 3.0),
        "i32": ("I32", [3, 2], (i(6) * 7 - 20).astype(np.int32)),
        "i64": ("I64", [4], i(4) * (1 << 40) - 5),
        "u8": ("U8", [10], ((i(10) * 37) % 256).astype(np.uint8)),
        "i16": ("I16", [3], (i(3) * 1000 - 1000).astype(np.int16)),
        "bf16": ("BF16", [2], (1.0 - 3.0 * i(2)).astype(np.float32)),
        "scalar": ("F32", [], np.array([3.25], dtype=np.float32)),
        "empty": ("F32", [0, 4], np.zeros(0, dtype=np.float32)),
    }


EXPECTED_META = {
    "config": '{"widths":[100,100]}',
    "note": 'quote " backslash \\ newline \n tab \t unicode \u00e9 \u2713 \U0001F600',
}

NP_DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "U8": "u1", "I16": "<i2",
             "BF16": "<u2"}


def check(path, np, torch):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise Mismatch(f"file is {len(blob)} bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n % 8 != 0:
        raise Mismatch(f"header length {n} is not a multiple of 8")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    buf = blob[8 + n:]
    meta = header.pop("__metadata__", None)
    if meta != EXPECTED_META:
        raise Mismatch(f"metadata {meta!r} != {EXPECTED_META!r}")
    exp = expected(np)
    if list(header) != list(exp):
        raise Mismatch(f"tensor names/order {list(header)} != {list(exp)}")
    at = 0
    for name, (dtype, shape, values) in exp.items():
        info = header[name]
        if info["dtype"] != dtype or info["shape"] != shape:
            raise Mismatch(f"{name}: dtype/shape {info['dtype']} {info['shape']} != {dtype} {shape}")
        begin, end = info["data_offsets"]
        if begin != at:
            raise Mismatch(f"{name}: data begins at {begin}, expected {at} (gap or overlap)")
        at = end
        arr = np.frombuffer(buf[begin:end], dtype=NP_DTYPES[dtype])
        if dtype == "BF16":  # bfloat16 = the top 16 bits of a float32
            got = (arr.astype(np.uint32) << 16).view(np.float32)
            tens = torch.frombuffer(bytearray(buf[begin:end]), dtype=torch.bfloat16).float()
        else:
            got = arr
            tens = torch.from_numpy(arr.copy()).reshape(shape)
        if got.shape != values.shape or not np.array_equal(got, values):
            diff = "n/a"
            if got.shape == values.shape:
                diff = np.max(np.abs(got.astype(np.float64) - values.astype(np.float64)))
            raise Mismatch(f"{name}: values {got.tolist()} != {values.tolist()} (max |diff| {diff})")
        if dtype != "BF16" and list(tens.shape) != shape:
            raise Mismatch(f"{name}: torch shape {list(tens.shape)} != {shape}")
        if not torch.equal(tens.reshape(-1).double(), torch.from_numpy(values.astype(np.float64))):
            raise Mismatch(f"{name}: torch values {tens.reshape(-1).tolist()} != {values.tolist()}")
        print(f"ok {name} {dtype} {shape} max |diff| 0")
    if at != len(buf):
        raise Mismatch(f"data buffer has {len(buf) - at} trailing bytes not covered by any tensor")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"safetensors_check: {e}", file=sys.stderr)
        return 2
    try:
        check(sys.argv[1], np, torch)
    except Mismatch as e:
        print(f"MISMATCH {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # unreadable or malformed: the check could not run
        print(f"safetensors_check: {sys.argv[1]}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(f"all tensors and metadata match in {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
