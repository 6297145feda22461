#!/usr/bin/env bash
# ebood extract --pool std (HEAT's "GMM-std" features): on a tiny CIFAR-10-format set the test writes,
# a small_cnn's std features are [n, 128], the unbiased spatial std per channel of the map whose
# flattening is its default features; the logits do not change; --pool mean is the default. Bad input:
# an unknown --pool value, --pool on a tabular model (one line naming the flag, exit 2, no output).
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3

# 5 training batches of 12 images and a test batch of 10, 3×32×32, 10 classes
"$PY" - <<'PYEOF'
import numpy as np, os
rng = np.random.default_rng(1)
os.makedirs("cifar", exist_ok=True)
def batch(path, n):
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 60, (n, 3, 32, 32))
    for i, c in enumerate(y):
        x[i, c % 3] += 20 * (c // 3 + 1)
    np.concatenate([y[:, None], x.reshape(n, -1)], axis=1).astype(np.uint8).tofile(path)
for k in range(1, 6):
    batch(f"cifar/data_batch_{k}.bin", 12)
batch("cifar/test_batch.bin", 10)
PYEOF
"$E" train --data cifar10:cifar --model small_cnn --batch-size 8 --epochs 1 --seed 2 -o cnn.st >/dev/null 2>&1
check train-small-cnn test -s cnn.st

"$E" extract --model cnn.st --logits l_mean.npy --features f_mean.npy 2>/dev/null
"$E" extract --model cnn.st --pool mean --logits l_mean2.npy --features f_mean2.npy 2>/dev/null
"$E" extract --model cnn.st --pool std --logits l_std.npy --features f_std.npy --labels y.npy 2>/dev/null
check pool-mean-is-the-default cmp -s f_mean.npy f_mean2.npy
check pool-std-keeps-the-logits cmp -s l_mean.npy l_std.npy
check pool-std-features "$PY" -c "
import numpy as np
fm, fs, y = np.load('f_mean.npy'), np.load('f_std.npy'), np.load('y.npy')
assert fm.shape == (10, 128 * 8 * 8) and fs.shape == (10, 128) and fs.dtype == np.float32, (fm.shape, fs.shape)
assert y.shape == (10,)
# small_cnn's default features are the flattened final map [128, 8, 8]: its unbiased std per channel
ref = fm.astype(np.float64).reshape(10, 128, 64).std(axis=2, ddof=1)
assert np.allclose(fs, ref, rtol=1e-5, atol=1e-6), np.abs(fs - ref).max()
assert (fs >= 0).all() and np.abs(fs - fm.reshape(10, 128, 64).mean(axis=2)).max() > 1e-3
"

# bad input
expect_fail pool-unknown-value 2 "^ebood extract: --pool: expected mean or std, got 'max'$" -- \
  "$E" extract --model cnn.st --pool max --features "$WORK/out_f.npy"
{ echo "a,b,c,label"; for i in $(seq 1 40); do echo "$((i % 7)).5,$((i % 3)),-$((i % 5)).25,$((i % 2))"; done; } > tab.csv
"$E" train --data tab.csv --steps 2 --batch-size 8 -o mlp.st >/dev/null 2>&1
check train-mlp test -s mlp.st
expect_fail pool-std-on-a-tabular-model 2 "^ebood extract: --pool: .*mlp.st is a 'mlp' model, which has no spatial feature map" -- \
  "$E" extract --model mlp.st --data tab.csv --pool std --features "$WORK/out_f.npy"
expect_fail pool-mean-on-a-tabular-model 2 "^ebood extract: --pool: .*'mlp' model" -- \
  "$E" extract --model mlp.st --data tab.csv --pool mean --features "$WORK/out_f.npy"
finish
