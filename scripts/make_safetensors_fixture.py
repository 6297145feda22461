#!/usr/bin/python3
"""Writes tests/fixtures/safetensors/reference.safetensors, an independent safetensors writer.

Uses only numpy + json + struct (not the `safetensors` package), following the format spec
(https://github.com/huggingface/safetensors, "Format"): u64 little-endian header length N, N bytes of
UTF-8 JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
space padding to a multiple of 8, then the byte buffer (little-endian, row-major, no gaps).

Deliberate choices that the C reader must cope with:
  * header keys in alphabetical order, data in a different order;
  * a 5-byte U8 tensor first, so every later tensor starts at an offset that is not 8-aligned;
  * json.dumps' default ensure_ascii=True: non-ASCII metadata arrives as \\uXXXX escapes,
    including a surrogate pair (U+1F600);
  * a 0-d scalar, an empty tensor with a 0 dim, F16 and BOOL.

Values are formulas of the flat index i; tests/test_safetensors.c asserts the same formulas.
Run: /usr/bin/python3 scripts/make_safetensors_fixture.py [output]
"""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "tests", "fixtures", "safetensors", "reference.safetensors")

DTYPES = {np.dtype("uint8"): "U8", np.dtype("float32"): "F32", np.dtype("int32"): "I32",
          np.dtype("int64"): "I64", np.dtype("float64"): "F64", np.dtype("float16"): "F16",
          np.dtype("bool"): "BOOL"}


def idx(shape):
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)


def tensors():
    """(name, array) in data order."""
    return [
        ("bytes", ((idx([5]) * 51 + 7) % 256).astype(np.uint8)),
        ("weight", ((idx([3, 4]) - 5) * 0.25).astype(np.float32).reshape(3, 4)),
        ("scalar", np.array(42.5, dtype=np.float32)),
        ("empty", np.zeros((2, 0), dtype=np.int32)),
        ("counts", (idx([3]) - 1) * (1 << 40) + 3),
        ("double", (idx([2, 2, 2]) / 7.0).reshape(2, 2, 2)),
        ("half", (idx([4]) * 0.5 - 1.0).astype(np.float16)),
        ("ints", (-(idx([4]) * idx([4])) - 1).astype(np.int32)),
        ("flags", idx([3]) % 2 == 0),
    ]


METADATA = {
    "format": "pt",
    "config": json.dumps({"widths": [100, 100]}, separators=(",", ":")),
    "quotes": 'say "hi" \\ back',
    "unicode": "na\u00efve \u2713 \U0001F600",
    "empty": "",
}


def build():
    header = {}
    chunks = []
    offset = 0
    for name, arr in tensors():
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    ordered = {"__metadata__": METADATA}
    for name in sorted(header):
        ordered[name] = header[name]
    text = json.dumps(ordered).encode("utf-8")  # ensure_ascii=True: \uXXXX escapes
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    data = build()
    with open(out, "wb") as f:
        f.write(data)
    print(f"wrote {out} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
