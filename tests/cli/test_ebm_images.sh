#!/usr/bin/env bash
# ebood train --objective cd|cd-s|ssm|vera on image data: the EBM paper's WRN-10-2 (wrn_ebm, optionally
# with Table 7's bottleneck) trains a few steps on tiny 16×16 Fashion-MNIST files; the checkpoint records
# the model, the paper's image settings (50 epochs, batch 64, input noise 0.1 unless given) and evaluates
# with the energy score; bad combinations are one-line errors.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
export EBOOD_DATA="$WORK/data"
"$PY" "$(dirname "$0")/make_tiny_images.py"

cp "$(dirname "$0")/meta.py" meta.py # meta(path) -> (metadata, header)

for obj in cd cd-s ssm vera; do
  extra=(--steps 2 --batch-size 8)
  case $obj in cd | cd-s) extra+=(--sgld-steps 2 --buffer-size 40) ;; esac
  [ "$obj" = cd ] && extra+=(--bottleneck 0.2)
  "$E" train --data fmnist --objective "$obj" "${extra[@]}" --json -o "$obj.st" >"$obj.json" 2>"$obj.err"
  check "train-$obj" "$PY" - "$obj" <<'PYEOF'
import json, sys
sys.path.insert(0, ".")
from meta import meta
obj = sys.argv[1]
out = json.load(open(obj + ".json"))
assert out["objective"] == obj and out["steps"] == 2, out
m, header = meta(obj + ".st")
assert m["ebood.model"] == "wrn_ebm", m["ebood.model"]
cfg = json.loads(m["ebood.config"])
assert cfg["depth"] == 10 and cfg["widen"] == 2 and cfg["height"] == 16, cfg
assert cfg["num_classes"] == (10 if obj.endswith("-s") else 1), cfg
args = json.loads(m["ebood.train_args"])
assert abs(args["noise_std"] - 0.1) < 1e-9, args  # the paper's input noise, on by default for EBMs
assert args["batch_size"] == 8 and args["steps"] == 2, args
if obj == "cd":  # Table 7's bottleneck: 1x1 convs 32 -> int(0.2*32) = 6 -> 32 after the first group
    assert abs(cfg["bottleneck"] - 0.2) < 1e-6, cfg
    assert header["layer1.1.weight"]["shape"] == [6, 32, 1, 1], header["layer1.1.weight"]
    assert header["layer1.2.weight"]["shape"] == [32, 6, 1, 1], header["layer1.2.weight"]
    assert header["layer3.2.weight"]["shape"] == [128, 25, 1, 1], header["layer3.2.weight"]
    assert header["objective.replay_buffer"]["shape"] == [40, 256], header["objective.replay_buffer"]
else:
    assert cfg["bottleneck"] == 0 and "layer1.1.weight" not in header, cfg
PYEOF
  "$E" eval --model "$obj.st" --detectors energy --n-synthetic 20 --json >"eval-$obj.json" 2>/dev/null
  check "eval-$obj" "$PY" - "eval-$obj.json" "$obj" <<'PYEOF'
import json, sys
r, obj = json.load(open(sys.argv[1])), sys.argv[2]
sets = r["scores"]["energy"]["sets"]
assert "mnist" in sets and "noise" in sets, sets.keys()
# a one-output density has no class prediction: no accuracy (was argmax over one logit = class 0)
assert (r["id_acc"] is not None) == obj.endswith("-s"), r["id_acc"]
for m in sets.values():
    assert 0.0 <= m["auroc"] <= 1.0, m
PYEOF
done

# the image defaults when not given: batch 64 (JEM's), 50 epochs (App. B), input noise 0.1 (the tiny
# training split has 40 images: the partial batch is kept)
"$E" train --data fmnist --objective ssm --steps 1 --keep-last-batch -o def.st >/dev/null 2>&1
check image-defaults "$PY" -c 'import sys, json; sys.path.insert(0, "."); from meta import meta
a = json.loads(meta("def.st")[0]["ebood.train_args"])
assert a["batch_size"] == 64 and a["epochs"] == 50 and abs(a["noise_std"] - 0.1) < 1e-9, a'
expect_fail flow-on-images 2 "objective flow: tabular data only" -- "$E" train --data fmnist --objective flow \
  -o "$WORK/x.st"
expect_fail bottleneck-small-cnn 2 "bottleneck is read only by --model wrn_ebm \(this run trains small_cnn\)" -- \
  "$E" train --data fmnist --model small_cnn --bottleneck 0.2 -o "$WORK/x.st"
expect_fail bottleneck-tabular 2 "bottleneck is read only by --model wrn_ebm \(this run trains mlp\)" -- \
  "$E" train --data segment --objective cd --bottleneck 0.2 -o "$WORK/x.st"
expect_fail bottleneck-range 2 "bottleneck.*out of range" -- "$E" train --data fmnist --objective cd \
  --bottleneck 1.5 -o "$WORK/x.st"
check no-partial-output bash -c '! ls "$1"/x.st* 2>/dev/null | grep -q .' _ "$WORK"
finish
