#!/usr/bin/env bash
# ebood train --objective cd: an EBM by contrastive divergence on Segment (a few steps, few SGLD steps),
# its checkpoint metadata, ebood eval of it (energy = logsumexp), divergence and bad flags.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
FAST=(--steps 12 --warmup 5 --batch-size 64 --sgld-steps 5)

# unsupervised: a scalar energy (one output), SGLD on it
out=$("$E" train --data segment --objective cd "${FAST[@]}" --seed 4 -o cd.st 2>&1)
check train-cd test -s cd.st
check train-cd-reports-objective grep -q "(cd)" <<<"$out"
check train-cd-no-accuracy bash -c '! grep -q accuracy <<<"$1"' _ "$out"
check cd-checkpoint-metadata "$PY" - cd.st <<'PYEOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__")
assert meta["ebood.objective"] == "cd", meta
c = json.loads(meta["ebood.objective_config"])
assert c["objective"] == "cd" and c["sgld_steps"] == 5 and c["ce_weight"] == 0, c
assert c["sgld_step_size"] == 1 and c["sgld_noise"] == 0.01 and c["buffer_size"] == 10000, c
assert c["restart_prob"] == 0.05 and c["l2"] == 1 and c["class_conditional"] is False, c
assert json.loads(meta["ebood.config"])["out_dim"] == 1, meta["ebood.config"]
assert header["layers.5.weight"]["shape"] == [1, 100], header["layers.5.weight"]
buf = header["objective.replay_buffer"]
assert buf["dtype"] == "F32" and buf["shape"] == [10000, 18], buf
PYEOF
"$E" eval --model cd.st --json >cd_eval.json
check eval-cd-energy "$PY" - cd_eval.json <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["id_acc"] is None, r["id_acc"]
sets = r["scores"]["energy"]["sets"]
assert set(sets) == {"sky", "uniform", "gaussian", "constant"}, sets.keys()
for m in sets.values():
    assert 0.0 <= m["auroc"] <= 1.0, m
PYEOF
# same seed => same bytes (the replay buffer, restarts and Langevin noise come from the run's seed)
"$E" train --data segment --objective cd "${FAST[@]}" --seed 4 -o cd2.st >/dev/null 2>&1
check train-cd-deterministic cmp -s cd.st cd2.st

# supervised (JEM-style): a classifier, class-conditional sampling, the released code's 20 steps; --ce-weight > 0
# selects the registry's supervised variant, so the run is recorded as cd-s
"$E" train --data segment --objective cd --ce-weight 1 --cond-sgld-steps code "${FAST[@]}" --json -o cds.st >cds.json 2>/dev/null
check train-cd-supervised "$PY" - cds.json cds.st <<'PYEOF'
import json, struct, sys
r = json.load(open(sys.argv[1]))
assert r["objective"] == "cd-s" and 0.0 <= r["train_acc"] <= 1.0 and r["val_acc"] is not None, r
raw = open(sys.argv[2], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
meta = json.loads(raw[8:8 + n])["__metadata__"]
c = json.loads(meta["ebood.objective_config"])
assert c["ce_weight"] == 1 and c["class_conditional"] is True and c["cond_sgld_steps"] == 20, c
assert json.loads(meta["ebood.config"])["out_dim"] == 6
PYEOF
"$E" eval --model cds.st --json >cds_eval.json
check eval-cd-supervised "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert 0 <= r["id_acc"] <= 1' cds_eval.json
# the default objective is still cross-entropy, recorded as such
"$E" train --data segment --steps 3 --warmup 1 -o ce.st >/dev/null 2>&1
check ce-default-recorded "$PY" - ce.st <<'PYEOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
meta = json.loads(raw[8:8 + n])["__metadata__"]
assert meta["ebood.objective"] == "ce" and json.loads(meta["ebood.objective_config"]) == {"objective": "ce"}
PYEOF

# stopped after 2 epochs and resumed = 4 epochs in one go, byte for byte: the replay buffer is in the
# checkpoint ("objective.replay_buffer") and the sampler's randomness comes from the epoch's stream
RES=(--data segment --objective cd --steps 0 --epochs 4 --batch-size 256 --warmup 3 --sgld-steps 5 --seed 2)
"$E" train "${RES[@]}" -o whole.st >/dev/null 2>&1
"$E" train "${RES[@]}" --stop-after 2 -o part.st >/dev/null 2>&1
"$E" train "${RES[@]}" --resume -o part.st >/dev/null 2>&1
check resume-cd-equals-uninterrupted cmp -s whole.st part.st

# divergence: a huge SGLD step is an error naming the SGLD step, and no checkpoint is written
expect_fail diverges 1 "SGLD step [0-9]+ of 5" -- "$E" train --data segment --objective cd "${FAST[@]}" \
  --sgld-step-size 1e30 -o "$WORK/out_div.st"

# bad flags
expect_fail unknown-objective 2 "unknown objective 'ssm2'" -- "$E" train --data segment --objective ssm2 -o "$WORK/out.st"
expect_fail negative-sgld-steps 2 "sgld-steps.*out of range" -- "$E" train --data segment --objective cd \
  --sgld-steps -1 -o "$WORK/out.st"
expect_fail nan-step-size 2 "sgld-step-size.*finite" -- "$E" train --data segment --objective cd \
  --sgld-step-size nan -o "$WORK/out.st"
expect_fail negative-ce-weight 2 "ce-weight.*out of range" -- "$E" train --data segment --objective cd \
  --ce-weight -1 -o "$WORK/out.st"
expect_fail restart-prob-range 2 "restart-prob.*out of range" -- "$E" train --data segment --objective cd \
  --restart-prob 1.5 -o "$WORK/out.st"
expect_fail zero-buffer 2 "buffer-size.*out of range" -- "$E" train --data segment --objective cd \
  --buffer-size 0 -o "$WORK/out.st"
expect_fail ce-weight-with-ce 2 "ce-weight is read only by --objective cd" -- "$E" train --data segment \
  --ce-weight 1 -o "$WORK/out.st"
expect_fail sgld-flag-with-ce 2 "sgld-steps is read only by --objective cd" -- "$E" train --data segment \
  --objective ce --sgld-steps 5 -o "$WORK/out.st"
expect_fail class-sampling-unsupervised 2 "sampling class needs a classifier" -- "$E" train --data segment \
  --objective cd --sampling class -o "$WORK/out.st"
expect_fail bad-sampling 2 "sampling: expected marginal or class" -- "$E" train --data segment --objective cd \
  --sampling joint -o "$WORK/out.st"
expect_fail cond-steps-unsupervised 2 "cond-sgld-steps is read only with class-conditional" -- "$E" train \
  --data segment --objective cd --cond-sgld-steps code -o "$WORK/out.st"
expect_fail bad-cond-steps 2 "cond-sgld-steps: expected paper, code" -- "$E" train --data segment --objective cd \
  --ce-weight 1 --cond-sgld-steps many -o "$WORK/out.st"
expect_fail resume-other-cd-settings 2 "cannot resume: it was trained with other settings" -- "$E" train \
  "${RES[@]}" --l2 0.5 --resume -o part.st
finish
