#!/usr/bin/env bash
# ebood train --objective cd|cd-s|ssm|ssm-s|vera|vera-s|flow (ebm.h's method registry): each trains a few steps
# on Segment and on toy:cross and evaluates; the checkpoint records the method and its paper defaults
# (eb_ebm_train_params); bad inputs are one-line errors. Tiny step counts: the whole script runs in seconds.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
FAST=(--steps 3 --batch-size 32)

# reads a checkpoint's metadata and header: meta(path) -> (metadata, header)
cp "$(dirname "$0")/meta.py" meta.py # meta(path) -> (metadata, header)

# the paper's values (default) and the released code's (--ebm-preset code) on Segment; the paper's on toy data
for run in "segment paper" "segment code" "toy:cross paper"; do
  read -r data preset <<<"$run"
  tag=${data#toy:}-$preset
  for obj in cd cd-s ssm ssm-s vera vera-s flow; do
    extra=()
    case $obj in cd | cd-s) extra=(--sgld-steps 2 --buffer-size 64) ;; esac
    [ "$obj" != flow ] && extra+=(--ebm-preset "$preset")
    out=$("$E" train --data "$data" --objective "$obj" "${FAST[@]}" "${extra[@]}" --json -o "$obj-$tag.st" 2>err.txt)
    check "train-$obj-$tag" "$PY" - "$obj" "$obj-$tag.st" "$out" "$preset" <<'PYEOF'
import json, sys
sys.path.insert(0, ".")
from meta import meta
obj, path, out, preset = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
assert out["objective"] == obj and out["steps"] == 3, out
m, header = meta(path)
assert m["ebood.objective"] == obj, m["ebood.objective"]
c = json.loads(m["ebood.objective_config"])
assert c["objective"] == obj, c
assert json.loads(m["ebood.train_args"])["objective"] == c
cfg = json.loads(m["ebood.config"])
sup = obj.endswith("-s")
if obj == "flow":
    assert m["ebood.model"] == "radial_flow" and cfg["n_layers"] == 20 and c["n_layers"] == 20, (m, c)
    assert "constant" in m["ebood.schedule"] and "lr=0.001" in m["ebood.optimizer"], m
else:
    assert m["ebood.model"] == "mlp" and cfg["out_dim"] > 1 if sup else cfg["out_dim"] == 1, cfg
    assert c["defaults"] == preset, c
    if preset == "paper":  # App. C: ReLU
        assert cfg["activation"] == "relu", cfg
    else:  # the released configs: LeakyReLU(0.01), VERA's EBM 0.2
        slope = 0.2 if obj.startswith("vera") else 0.01
        assert cfg["activation"] == "leaky_relu" and abs(cfg["activation_param"] - slope) < 1e-6, cfg
    assert (out["train_acc"] is not None) == sup, out
if obj.startswith("vera"):  # VERA's own optimizer: AdamW betas (0, 0.9), x0.3 after 3000 epochs
    lr = "0.0003" if preset == "paper" else "0.001" if sup else "3e-05"
    warmup = 2500 if preset == "paper" else 0
    assert f"lr={lr}, betas=(0, 0.9)" in m["ebood.optimizer"], m["ebood.optimizer"]
    assert "gamma=0.3" in m["ebood.schedule"], m["ebood.schedule"]
    assert f"warmup_steps={warmup}" in m["ebood.schedule"], m["ebood.schedule"]
if obj.startswith("cd"):
    assert c["buffer_size"] == 64, c  # the flag overrides either preset
if obj[:2] in ("cd", "ss"):  # common training: warm-up 2500, x0.5 every 1000 epochs
    assert "gamma=0.5" in m["ebood.schedule"] and "warmup_steps=2500" in m["ebood.schedule"], m["ebood.schedule"]
if obj.startswith("cd"):
    assert header["objective.replay_buffer"]["shape"][0] <= 64, header["objective.replay_buffer"]
PYEOF
    if [ "${obj%-s}" = ssm ]; then
      check "ssm-kink-warning-$obj-$tag" grep -q "warning: --objective $obj with $([ "$preset" = paper ] && echo relu || echo leaky_relu)" err.txt
    else
      check "no-warning-$obj-$tag" bash -c '! grep -q . err.txt'
    fi
    "$E" eval --model "$obj-$tag.st" --detectors energy --json >"eval-$obj-$tag.json" 2>/dev/null
    check "eval-$obj-$tag" "$PY" - "eval-$obj-$tag.json" "$obj" "$tag" <<'PYEOF'
import json, math, sys
r, obj, tag = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
sets = r["scores"]["energy"]["sets"]
held_out = "sky" if tag.startswith("segment") else "cross_ood"
assert held_out in sets and "sky" not in sets or tag.startswith("segment"), sets.keys()
assert (r["id_acc"] is not None) == obj.endswith("-s"), r["id_acc"]
for m in sets.values():
    assert 0.0 <= m["auroc"] <= 1.0, m
PYEOF
  done
done

# --ssm-h, the VERA flags and --flow-layers reach the config
"$E" train --data toy:cross --objective ssm --ssm-h 0.05 --activation softplus "${FAST[@]}" -o ssmh.st 2>err.txt >/dev/null
check ssm-h-recorded "$PY" -c 'import sys; sys.path.insert(0, "."); from meta import meta; import json
c = json.loads(meta("ssmh.st")[0]["ebood.objective_config"]); assert c["h"] == 0.05, c'
check ssm-smooth-no-warning bash -c '! grep -q warning err.txt'
"$E" train --data toy:cross --objective vera --vera-penalty batch_mean --entropy-weight 0.01 --pg-weight 0.5 \
  "${FAST[@]}" -o veraf.st >/dev/null 2>&1
check vera-flags-recorded "$PY" -c 'import sys; sys.path.insert(0, "."); from meta import meta; import json
c = json.loads(meta("veraf.st")[0]["ebood.objective_config"])
assert c["penalty"] == "batch_mean" and c["entropy_weight"] == 0.01 and c["pg_weight"] == 0.5, c'
"$E" train --data toy:cross --objective flow --flow-layers 3 --model radial_flow "${FAST[@]}" --lr 0.01 \
  -o flow3.st >/dev/null 2>&1
check flow-layers-and-lr "$PY" -c 'import sys; sys.path.insert(0, "."); from meta import meta; import json
m, h = meta("flow3.st"); assert json.loads(m["ebood.config"])["n_layers"] == 3 and "transforms.2.x0" in h
assert "transforms.3.x0" not in h and "lr=0.01" in m["ebood.optimizer"], m'
# --ce-weight picks the variant: ssm with gamma > 0 is ssm-s
"$E" train --data toy:cross --objective ssm --ce-weight 0.5 "${FAST[@]}" --json -o ssmce.st 2>/dev/null >ssmce.json
check ce-weight-selects-supervised "$PY" -c 'import json, sys; sys.path.insert(0, "."); from meta import meta
r = json.load(open("ssmce.json")); c = json.loads(meta("ssmce.st")[0]["ebood.objective_config"])
assert r["objective"] == "ssm-s" and c["ce_weight"] == 0.5 and r["train_acc"] is not None, (r, c)'
# VERA's generator, sigma, sigma_post, their optimizers and the samples awaiting their generator step are
# checkpointed ("objective.vera_state"): stopped after 1 epoch and resumed = 2 epochs in one go, byte for byte
# (vera-s runs the same code)
for obj in vera; do
  RES=(--data toy:cross --objective "$obj" --steps 0 --epochs 2 --batch-size 1000 --seed 2)
  "$E" train "${RES[@]}" -o "whole-$obj.st" >/dev/null 2>&1
  "$E" train "${RES[@]}" --stop-after 1 -o "part-$obj.st" >/dev/null 2>&1
  check "vera-state-in-checkpoint-$obj" "$PY" -c 'import sys; sys.path.insert(0, "."); from meta import meta
m, h = meta(sys.argv[1]); t = h["objective.vera_state"]; assert t["dtype"] == "F32" and len(t["shape"]) == 1, t
assert m["ebood.epoch"] == "1", m["ebood.epoch"]' "part-$obj.st"
  "$E" train "${RES[@]}" --resume -o "part-$obj.st" >/dev/null 2>&1
  check "resume-$obj-equals-uninterrupted" cmp -s "whole-$obj.st" "part-$obj.st"
done
expect_fail resume-vera-other-settings 2 "cannot resume: it was trained with other settings" -- "$E" train \
  --data toy:cross --objective vera --steps 0 --epochs 2 --batch-size 1000 --seed 2 --pg-weight 0.2 --resume \
  -o part-vera.st
check help-lists-toy bash -c '"$1" train --help | grep -- "--data" | grep -q "toy:cross, toy:crosses"' _ "$E"

# bad inputs
expect_fail unknown-objective-lists-names 2 "unknown objective 'jem' \(ce, cd, cd-s, ssm, ssm-s, vera, vera-s, flow, oe, energy-ft, hopfield-boost, poem, cider, hamos\)" \
  -- "$E" train --data segment --objective jem -o "$WORK/out.st"
expect_fail ssm-h-zero 2 "objective ssm: ssm: h = 0, must be in \(0, 1\]" -- "$E" train --data segment \
  --objective ssm --ssm-h 0 -o "$WORK/out.st"
expect_fail vera-penalty-foo 2 "vera-penalty: expected per_sample or batch_mean, got 'foo'" -- "$E" train --data segment \
  --objective vera --vera-penalty foo -o "$WORK/out.st"
expect_fail flow-layers-zero 2 "flow-layers.*out of range" -- "$E" train --data segment --objective flow \
  --flow-layers 0 -o "$WORK/out.st"
expect_fail ssm-flag-with-vera 2 "ssm-h is read only by --objective ssm, ssm-s \(this run trains vera\)" -- "$E" train \
  --data segment --objective vera --ssm-h 0.1 -o "$WORK/out.st"
expect_fail vera-flag-with-cd 2 "pg-weight is read only by --objective vera, vera-s" -- "$E" train --data segment \
  --objective cd --pg-weight 1 -o "$WORK/out.st"
expect_fail cd-flag-with-flow 2 "sgld-steps is read only by --objective cd, cd-s" -- "$E" train --data segment \
  --objective flow --sgld-steps 3 -o "$WORK/out.st"
expect_fail ce-weight-with-flow 2 "ce-weight is read only by" -- "$E" train --data segment --objective flow \
  --ce-weight 1 -o "$WORK/out.st"
expect_fail flow-layers-with-cd 2 "flow-layers is read only by --objective flow" -- "$E" train --data segment \
  --objective cd --flow-layers 3 -o "$WORK/out.st"
expect_fail radial-flow-with-cd 2 "radial_flow is a normalised density: train it with --objective flow" -- "$E" train \
  --data segment --objective cd --model radial_flow -o "$WORK/out.st"
expect_fail mlp-with-flow 2 "objective flow trains a radial_flow" -- "$E" train --data segment --objective flow \
  --model mlp -o "$WORK/out.st"
expect_fail widths-with-flow 2 "widths is read only by mlp models" -- "$E" train --data segment --objective flow \
  --widths 10,10 -o "$WORK/out.st"
expect_fail preset-foo 2 "ebm-preset: expected paper or code, got 'foo'" -- "$E" train --data segment \
  --objective cd --ebm-preset foo -o "$WORK/out.st"
expect_fail preset-with-flow 2 "ebm-preset is read only by --objective cd, cd-s, ssm, ssm-s, vera, vera-s" -- \
  "$E" train --data segment --objective flow --ebm-preset code -o "$WORK/out.st"
expect_fail bench-preset-foo 2 "bench segment: --ebm-preset: expected paper or code, got 'x'" -- "$E" bench \
  segment --ebm-preset x
expect_fail sampling-class-ssm 2 "sampling is read only by --objective cd, cd-s" -- "$E" train --data segment \
  --objective ssm --sampling class -o "$WORK/out.st"
expect_fail eval-flow-labelled-detector 2 "gmm needs class labels, but flow3.st has one output" -- \
  "$E" eval --model flow3.st --detectors energy,gmm
finish
