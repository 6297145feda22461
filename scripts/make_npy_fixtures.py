#!/usr/bin/env python3
"""Writes the small .npy fixtures read by tests/test_data_npy.c (run with /usr/bin/python3).

Every array's values are a known formula of the flat C-order index i, which the C test asserts:
  f32_1d_v1.npy     float32 (7,)        0.5*i - 1.25            header version 1.0
  f64_2d_v1.npy     float64 (3, 4)      (i - 5) / 8             1.0
  i32_3d_v1.npy     int32   (2, 3, 4)   3*i - 10                1.0
  i64_2d_v2.npy     int64   (4, 5)      2**33 * (i - 128)       2.0
  u8_1d_v2.npy      uint8   (10,)       (37*i) % 256            2.0
  f32_2d_v2.npy     float32 (2, 3)      0.5*i - 1.25            2.0
  f32_2d_v3.npy     float32 (2, 3)      0.5*i - 1.25            3.0
  f32_be.npy        >f4     (5,)        1.5*i - 2   (big-endian, converted on read)
  f64_scalar.npy    float64 ()          3.25
  f32_empty.npy     float32 (0, 3)
Rejected by the reader:
  f32_fortran.npy   fortran_order=True  (2, 3)
  bool_1d.npy       bool (unsupported dtype)
  i16_1d.npy        int16 (unsupported dtype)
  f64_nan.npy       float64 (2, 3), NaN at (1, 2)  — eb_npy_read accepts, eb_npy_read_f32 rejects
  f32_inf.npy       float32 (4,), +Inf at (2,)     — idem
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "npy")


def write(name, arr, version=(1, 0)):
    with open(os.path.join(OUT, name), "wb") as f:
        np.lib.format.write_array(f, arr, version=version, allow_pickle=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    i7 = np.arange(7)
    write("f32_1d_v1.npy", (0.5 * i7 - 1.25).astype(np.float32))
    write("f64_2d_v1.npy", ((np.arange(12) - 5) / 8).reshape(3, 4).astype(np.float64))
    write("i32_3d_v1.npy", (3 * np.arange(24) - 10).reshape(2, 3, 4).astype(np.int32))
    write("i64_2d_v2.npy", (2**33 * (np.arange(20, dtype=np.int64) - 128)).reshape(4, 5), (2, 0))
    write("u8_1d_v2.npy", ((37 * np.arange(10)) % 256).astype(np.uint8), (2, 0))
    f6 = (0.5 * np.arange(6) - 1.25).astype(np.float32).reshape(2, 3)
    write("f32_2d_v2.npy", f6, (2, 0))
    write("f32_2d_v3.npy", f6, (3, 0))
    write("f32_be.npy", (1.5 * np.arange(5) - 2).astype(">f4"))
    write("f64_scalar.npy", np.array(3.25, dtype=np.float64))
    write("f32_empty.npy", np.zeros((0, 3), dtype=np.float32))
    write("f32_fortran.npy", np.asfortranarray(f6))
    write("bool_1d.npy", np.array([True, False, True]))
    write("i16_1d.npy", np.arange(4, dtype=np.int16))
    nan = np.zeros((2, 3), dtype=np.float64)
    nan[1, 2] = np.nan
    write("f64_nan.npy", nan)
    inf = np.zeros(4, dtype=np.float32)
    inf[2] = np.inf
    write("f32_inf.npy", inf)


if __name__ == "__main__":
    main()
