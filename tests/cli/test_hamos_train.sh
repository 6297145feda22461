#!/usr/bin/env bash
# `ebood train --objective cider|hamos` on Segment (tabular: the projection head sits on the MLP's
# penultimate layer), fine-tuning from --init, the code preset, the JSON summary's acceptance rate and
# synthesis time, `ebood eval`'s Eq. (14) metrics for a model with a projection head, and one-line errors.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
SMALL=(--steps 40 --warmup 0 --batch-size 64 --class-buffer 30 --synth-k 5)

"$E" train --data segment --steps 60 -o base.st --json >/dev/null 2>&1
check baseline test -s base.st
out=$("$E" train --data segment --objective cider --init base.st --steps 40 --warmup 0 --batch-size 64 --json -o cider.st 2>/dev/null)
check cider-json $PY -c "import json,sys; o = json.loads(sys.argv[1]); assert o['objective'] == 'cider' and o['steps'] == 40 and 'mean_acceptance' not in o, o" "$out"
for s in hmc rw mala; do
  out=$("$E" train --data segment --objective hamos --init base.st --sampler $s "${SMALL[@]}" --json -o hamos-$s.st 2>/dev/null)
  # batches of 64 → 128 embeddings per step: every class buffer of 30 fills within the first steps
  check "hamos-$s-json" $PY -c "
import json, sys
o = json.loads(sys.argv[1])
assert o['objective'] == 'hamos' and o['synthesis_steps'] > 0, o
assert 0 < o['mean_acceptance'] <= 1 and o['synthesis_ms_per_step'] > 0, o" "$out"
done
out=$("$E" train --data segment --objective hamos --synthesis vos --vos-samples 200 "${SMALL[@]}" --json -o vos.st 2>/dev/null)
check hamos-vos $PY -c "import json,sys; o = json.loads(sys.argv[1]); assert o['synthesis_steps'] > 0 and o['mean_acceptance'] is None, o" "$out"
out=$("$E" train --data segment --objective hamos --synthesis npos --npos-samples 20 "${SMALL[@]}" --json -o npos.st 2>/dev/null)
check hamos-npos $PY -c "import json,sys; o = json.loads(sys.argv[1]); assert o['synthesis_steps'] > 0 and o['mean_acceptance'] is None, o" "$out"
expect_fail npos_sigma 2 "--npos-sigma" -- "$E" train --data segment --objective hamos --synthesis npos --npos-sigma 0 -o "$WORK/out.st"
"$E" landscape --hamos -o pic.png --n 60 --rounds 3 --size 200 --json >pic.json 2>/dev/null
check picture-png $PY -c "import json; o = json.load(open('pic.json')); assert open('pic.png','rb').read(8) == b'\\x89PNG\\r\\n\\x1a\\n' and 0 <= o['acceptance'] <= 1, o"
expect_fail picture_ext 2 "unknown extension" -- "$E" landscape --hamos -o "$WORK/out.jpg"
expect_fail picture_sampler 2 "--sampler" -- "$E" landscape --hamos --sampler gibbs -o "$WORK/out.png"
out=$("$E" train --data segment --objective hamos --ebm-preset code "${SMALL[@]}" --json -o code.st 2>/dev/null)
check hamos-code-preset $PY - code.st <<'PYEOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]
c = json.loads(meta["ebood.objective_config"])
assert c["objective"] == "hamos" and c["defaults"] == "code", c
assert c["rounds"] == 2 and c["kde"] == "code" and c["ood_on_id"] == "true" and c["keep_start"] == "true", c
PYEOF
"$E" eval --model hamos-hmc.st --detectors knn --json >eval.json 2>/dev/null
check eval-sphere $PY -c "
import json
r = json.load(open('eval.json'))
s = r['sphere']
assert all(-1 <= s[k] <= 1 for k in ('cos_separation', 'cos_dispersion', 'cos_compactness')), s
assert 0 <= r['id_acc'] <= 1, r"
"$E" eval --model base.st --detectors knn --json >eval-base.json 2>/dev/null
check eval-no-head $PY -c "import json; assert 'sphere' not in json.load(open('eval-base.json'))"
# an exact resume carries the prototypes
"$E" train --data segment --objective cider --steps 30 --warmup 0 --batch-size 64 --checkpoint-every 1 --stop-after 1 -o res.st >/dev/null 2>&1
check resume "$E" train --data segment --objective cider --steps 30 --warmup 0 --batch-size 64 --checkpoint-every 1 --resume -o res.st

expect_fail sampler_on_cider 2 "--sampler is read only by --objective hamos" -- "$E" train --data segment --objective cider --sampler rw -o "$WORK/out.st"
expect_fail bad_sampler 2 "--sampler: expected hmc, rw or mala" -- "$E" train --data segment --objective hamos --sampler gibbs -o "$WORK/out.st"
expect_fail bad_kde 2 "--kde" -- "$E" train --data segment --objective hamos --kde torch -o "$WORK/out.st"
expect_fail k_over_buffer 2 "k 50 larger than the buffer size 10" -- "$E" train --data segment --objective hamos --synth-k 50 --class-buffer 10 -o "$WORK/out.st"
expect_fail bad_momentum 2 "--proto-momentum" -- "$E" train --data segment --objective cider --proto-momentum 1 -o "$WORK/out.st"
expect_fail flow_model 2 "needs a classifier" -- "$E" train --data segment --objective hamos --model radial_flow -o "$WORK/out.st"
finish
