#!/usr/bin/env bash
# Image classifiers from the CLI on a tiny CIFAR-10-format set the test writes: train, extract,
# resume-equals-uninterrupted, and bad image input (truncated batch file, wrong architecture on resume).
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3

# 5 training batches of 12 images and a test batch of 10, 3×32×32, 10 classes; the class sets the mean
# brightness of one colour plane so that the data is learnable
"$PY" - <<'PYEOF'
import numpy as np, os
rng = np.random.default_rng(0)
os.makedirs("cifar", exist_ok=True)
def batch(path, n):
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 60, (n, 3, 32, 32))
    for i, c in enumerate(y):
        x[i, c % 3] += 20 * (c // 3 + 1)
    rec = np.concatenate([y[:, None], x.reshape(n, -1)], axis=1).astype(np.uint8)
    rec.tofile(path)
for k in range(1, 6):
    batch(f"cifar/data_batch_{k}.bin", 12)
batch("cifar/test_batch.bin", 10)
PYEOF
args=(--data cifar10:cifar --model small_cnn --batch-size 8 --epochs 3 --seed 5 --hflip --crop-padding 2)
"$E" train "${args[@]}" -o full.st --json > full.json 2>/dev/null
check train-images test -s full.st
check train-json-has-val-acc grep -q '"val_acc"' full.json
# interrupted after one epoch, then resumed: the same bytes as the uninterrupted run
"$E" train "${args[@]}" -o part.st --stop-after 1 --json > /dev/null 2>&1
"$E" train "${args[@]}" -o part.st --resume --json > resumed.json 2>/dev/null
check resume-reported grep -qE '"resumed":[[:space:]]*true' resumed.json
check resume-equals-uninterrupted cmp -s full.st part.st
"$E" extract --model full.st --split test --logits l.npy --features f.npy --labels y.npy 2>/dev/null
check extract-npy "$PY" -c "
import numpy as np
l, f, y = np.load('l.npy'), np.load('f.npy'), np.load('y.npy')
assert l.shape == (10, 10) and f.shape == (10, 128 * 8 * 8) and y.shape == (10,) and y.dtype == np.int32, (l.shape, f.shape, y.shape)
assert np.isfinite(l).all()
"
# HEAT's classifier recipe: multistep schedule (x0.1 at 50 % / 75 %) and random resized crops
"$E" train --data cifar10:cifar --model small_cnn --batch-size 8 --epochs 4 --seed 5 --optimizer sgd --nesterov \
  --lr 0.1 --weight-decay 5e-4 --schedule multistep --gamma 0.1 --resized-crop --hflip -o ms.st --json > ms.json 2>/dev/null
check multistep-lr-log "$PY" -c "
import json, struct
raw = open('ms.st', 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]
meta = json.loads(raw[8:8 + n])['__metadata__']
log = json.loads(meta['ebood.train_log']); args = json.loads(meta['ebood.train_args'])
assert args['schedule'] == 'multistep' and args['milestones'] == '0.5,0.75' and args['resized_crop'] == 1, args
# 60 images / 8 = 7 steps per epoch, 28 steps: lr 0.1 before step 14, 0.01 before 21, then 0.001
lrs = [round(e['lr'], 6) for e in log]
assert lrs == [0.1, 0.01, 0.001, 0.001], lrs
assert 'multistep' in meta['ebood.schedule'], meta['ebood.schedule']
"
expect_fail milestones-without-multistep 2 "multistep" -- "$E" train --data cifar10:cifar --epochs 1 --milestones 0.5 -o out.st
expect_fail milestones-bad 2 "milestones" -- "$E" train --data cifar10:cifar --epochs 1 --schedule multistep --milestones 0.8,0.2 -o out.st
# bad input
head -c 5000 cifar/test_batch.bin > cifar_trunc.bin
mkdir -p trunc && cp cifar/data_batch_*.bin trunc/ && cp cifar_trunc.bin trunc/test_batch.bin
expect_fail cifar-truncated 1 "test_batch.bin" -- "$E" train --data cifar10:trunc --epochs 1 -o out.st
expect_fail cifar-missing-dir 1 "nowhere" -- "$E" train --data cifar10:nowhere --epochs 1 -o out.st
cp full.st other.st
expect_fail resume-other-architecture 2 "cannot resume" -- "$E" train --data cifar10:cifar --model wrn --depth 10 \
  --batch-size 8 --epochs 3 --seed 5 --hflip --crop-padding 2 -o other.st --resume
check resume-refusal-keeps-checkpoint cmp -s full.st other.st
expect_fail resume-other-settings 2 "other settings" -- bash -c "cp full.st '$WORK/out_s.st' && '$E' train ${args[*]} --lr 0.5 -o '$WORK/out_s.st' --resume; rc=\$?; rm -f '$WORK/out_s.st'; exit \$rc"
expect_fail mlp-on-images 2 "does not fit image data" -- "$E" train --data cifar10:cifar --model mlp -o out.st
finish
