#!/usr/bin/env bash
# Image folders (folder:DIR) through train / eval / fit / score, on PNG and JPEG files written by an
# independent encoder (scikit-image via /usr/bin/python3): an ImageFolder train/test layout of two
# learnable gray classes, a flat RGB JPEG folder as an OOD set (converted to the model's 1x12x12),
# and bad folders (corrupt, truncated, empty, mixed channels) failing with one line naming the file.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
export EBOOD_DATA="$WORK/data"

"$PY" - <<'PYEOF'
import numpy as np, os, skimage.io as io
rng = np.random.default_rng(0)
def save(path, a):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    io.imsave(path, a, check_contrast=False)
for split, n in (("train", 24), ("test", 8)):
    for cls, level in (("dark", 40), ("light", 200)):
        for i in range(n):
            save(f"f/{split}/{cls}/{i:03d}.png", np.clip(rng.normal(level, 20, (12, 12)), 0, 255).astype(np.uint8))
for i in range(6):
    save(f"ood/{i}.jpg", rng.integers(0, 256, (16, 20, 3)).astype(np.uint8))
save("gray1/a.png", np.zeros((12, 12), np.uint8))
save("mixed/a.png", np.zeros((12, 12), np.uint8))
save("mixed/b.png", np.zeros((12, 12, 3), np.uint8))
data = open("ood/0.jpg", "rb").read()
os.makedirs("trunc", exist_ok=True)
open("trunc/0.jpg", "wb").write(data[: len(data) // 2])
os.makedirs("corrupt", exist_ok=True)
png = open("gray1/a.png", "rb").read()
open("corrupt/a.png", "wb").write(png[:40] + bytes(range(256)) * 2)
os.makedirs("empty", exist_ok=True)
PYEOF

"$E" train --data folder:f --model small_cnn --epochs 3 --batch-size 8 --seed 1 -o m.st --json > train.json 2>/dev/null
check train-folder test -s m.st
check train-folder-learns "$PY" -c "
import json; r = json.load(open('train.json')); assert r['val_acc'] >= 0.8 or r.get('test_acc', 0) >= 0.8, r"
"$E" eval --model m.st --data folder:f --ood rgb=folder:ood --no-synthetic --detectors energy --json > eval.json
check eval-folder-ood "$PY" -c "
import json; r = json.load(open('eval.json')); s = r['scores']['energy']['sets']
assert s['rgb']['n'] == 6 and r['n_id'] == 16, (r['n_id'], s)"
"$E" fit --detector energy --model m.st --data folder:f -o det.json 2>/dev/null
check fit-folder test -s det.json
"$E" score det.json --model m.st --data folder:f -o s.npy 2>/dev/null
check score-folder "$PY" -c "import numpy as np; s = np.load('s.npy'); assert s.shape == (16,), s.shape"
# fit/score/extract convert a folder to the model's input (here 16x20 RGB JPEGs -> 1x12x12), as eval does
"$E" score det.json --model m.st --data folder:ood -o s_rgb.npy 2>/dev/null
check score-folder-converted "$PY" -c "import numpy as np; s = np.load('s_rgb.npy'); assert s.shape == (6,), s.shape"
"$E" extract --model m.st --data folder:ood --features f_rgb.npy --logits g_rgb.npy 2>/dev/null
check extract-folder-converted "$PY" -c "
import numpy as np; g = np.load('g_rgb.npy'); assert g.shape == (6, 2), g.shape"
check score-matches-extract-energy "$PY" -c "
import json, numpy as np
g = np.load('g_rgb.npy').astype(np.float64); m = g.max(1, keepdims=True)
energy = (m[:, 0] + np.log(np.exp(g - m).sum(1)))  # -E(x) = logsumexp, higher = more ID
s = np.load('s_rgb.npy').astype(np.float64)
assert np.allclose(s, energy, rtol=1e-4, atol=1e-4), (s, energy)"
"$E" fit --detector hopfield_aux --model m.st --data folder:f --aux-data folder:ood -o hop.st 2>/dev/null
check fit-folder-aux-data-converted test -s hop.st
"$E" train --data folder:f --init m.st --objective oe --aux-data folder:ood --aux-batch-size 4 --epochs 1 --batch-size 8 -o oe.st 2>/dev/null
check train-aux-folder-converted test -s oe.st

expect_fail truncated-jpeg 1 "trunc/0.jpg: corrupt or truncated JPEG" -- "$E" eval --model m.st --data folder:f --ood t=folder:trunc --detectors energy -o out.json
expect_fail corrupt-png 1 "corrupt/a.png: not a readable PNG" -- "$E" eval --model m.st --data folder:f --ood c=folder:corrupt --detectors energy -o out.json
expect_fail empty-folder 1 "empty: no images" -- "$E" train --data folder:empty --epochs 1 -o out.st
expect_fail missing-folder 1 "nowhere: cannot open folder" -- "$E" train --data folder:nowhere --epochs 1 -o out.st
expect_fail mixed-channels 1 "mixed/b.png: a color image, but the first image" -- "$E" train --data folder:mixed --epochs 1 -o out.st
finish
