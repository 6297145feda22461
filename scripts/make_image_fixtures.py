#!/usr/bin/python3
"""Writes the reference fixtures of tests/test_data_images.c into tests/fixtures/images/ (run with
/usr/bin/python3: Debian's numpy and torch).

The smoothing of the EBM paper's Experiment 5, as PyTorch does it:
    F.interpolate(F.avg_pool2d(x, k), size=(h, w), mode="nearest")
  smooth_a_in.npy          float32 (1, 2, 28, 28)  U(-1, 1), numpy RandomState(0)
  smooth_a_k{2,3,4,16}.npy float32 (1, 2, 28, 28)  the smoothed images for k = 2, 3, 4, 16
  smooth_b_in.npy          float32 (2, 1, 10, 9)   U(-1, 1), RandomState(1) (non-square, 2 images)
  smooth_b_k{3,4}.npy      float32 (2, 1, 10, 9)
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "images")


def smooth(x, k):
    t = torch.from_numpy(x)
    return F.interpolate(F.avg_pool2d(t, k), size=t.shape[2:], mode="nearest").numpy()


def main():
    os.makedirs(OUT, exist_ok=True)
    a = np.random.RandomState(0).uniform(-1, 1, (1, 2, 28, 28)).astype(np.float32)
    b = np.random.RandomState(1).uniform(-1, 1, (2, 1, 10, 9)).astype(np.float32)
    np.save(os.path.join(OUT, "smooth_a_in.npy"), a)
    np.save(os.path.join(OUT, "smooth_b_in.npy"), b)
    for k in (2, 3, 4, 16):
        np.save(os.path.join(OUT, f"smooth_a_k{k}.npy"), smooth(a, k))
    for k in (3, 4):
        np.save(os.path.join(OUT, f"smooth_b_k{k}.npy"), smooth(b, k))


if __name__ == "__main__":
    main()
