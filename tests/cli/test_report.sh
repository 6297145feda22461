#!/usr/bin/env bash
# ebood report from score files, a suite's JSON and a training log: the page, Markdown with SVG files, and
# bad input (empty score files, NaN scores, a one-sample set: a clear error or a visible note, never a
# broken page); one line, non-zero exit, no output file on every error.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3

"$PY" - <<'PYEOF'
import json
import numpy as np
rng = np.random.default_rng(3)
np.save("s_id.npy", rng.normal(2.0, 1.0, 500).astype(np.float32))
np.save("s_far.npy", rng.normal(-1.0, 1.0, 400).astype(np.float32))
np.save("one.npy", np.array([0.25], dtype=np.float32))
np.save("c_id.npy", np.full(30, 1.5, dtype=np.float32))
np.save("c_ood.npy", np.full(20, 1.5, dtype=np.float32))
np.save("empty.npy", np.zeros(0, dtype=np.float32))
np.save("nan.npy", np.array([0.5, np.nan, 1.0], dtype=np.float32))
np.save("two_cols.npy", np.zeros((4, 2), dtype=np.float32))
json.dump([{"epoch": 1, "loss": 1.5, "accuracy": 0.6, "lr": 0.1}, {"epoch": 2, "loss": 0.9, "accuracy": 0.8, "lr": 0.05}],
          open("log.json", "w"))
PYEOF

"$E" report -o r.html --id s_id.npy --ood far=s_far.npy --ood one=one.npy --score energy >r.log
check html-written test -s r.html
check html-complete bash -c "tail -n 1 r.html | grep -qx '</html>'"
check html-four-figures bash -c "[ \$(grep -c '<figure id=' r.html) -eq 4 ]"
check one-sample-note grep -q 'class="note"><b>Note:</b> energy: the OOD set one has only 1 sample' r.html
check no-tie-note-when-separable bash -c "! grep -q 'is the same value' r.html"
# a one-sample ID set and all-equal scores: complete pages with a visible note each, not an error
"$E" report -o one.html --id one.npy --ood far=s_far.npy >/dev/null
check one-sample-id-note grep -q 'class="note"><b>Note:</b> The ID test set has only 1 sample' one.html
check one-sample-id-complete bash -c "tail -n 1 one.html | grep -qx '</html>' && ! grep -qwiE 'nan|-?inf' one.html"
"$E" report -o tied.html --id c_id.npy --ood same=c_ood.npy >/dev/null
check tied-scores-note grep -q 'class="note"><b>Note:</b> scores: every ID and same score is the same value (1.5)' tied.html
check tied-scores-complete bash -c "tail -n 1 tied.html | grep -qx '</html>' && [ \$(grep -c '<figure id=' tied.html) -eq 3 ]"
check no-script bash -c "! grep -q '<script' r.html"

"$E" report -o md/r.md --format md --id s_id.npy --ood far=s_far.npy 2>/dev/null
expect_fail md-dir-missing 1 "md/out" -- "$E" report -o md/out.md --format md --id s_id.npy --ood far=s_far.npy
mkdir -p md
"$E" report -o md/r.md --format md --id s_id.npy --ood far=s_far.npy --train-log log.json >/dev/null
check md-written test -s md/r.md
check md-figure-files bash -c "[ \$(ls md/r-*.svg | wc -l) -eq 6 ]"
check md-links-exist bash -c "cd md && grep -o '](r-[^)]*)' r.md | tr -d '()]' | xargs ls >/dev/null"
check md-table grep -q '^| far | 400 |' md/r.md

# a checkpoint keeps its per-epoch log (ebood.train_log), continued across --resume
"$E" train --data segment --steps 96 --batch-size 64 --warmup 0 -o seg.st --stop-after 2 >/dev/null 2>&1
"$E" train --data segment --steps 96 --batch-size 64 --warmup 0 -o seg.st --resume >/dev/null 2>&1
check train-log-kept "$PY" - seg.st <<'PYEOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
log = json.loads(json.loads(raw[8:8 + n])["__metadata__"]["ebood.train_log"])
assert [e["epoch"] for e in log] == [1, 2, 3, 4], log
assert all(e["loss"] > 0 and 0 <= e["accuracy"] <= 1 and e["lr"] > 0 for e in log), log
PYEOF
"$E" report -o ckpt_log.html --train-log seg.st >/dev/null
check train-log-from-checkpoint bash -c "[ \$(grep -c '<figure id=' ckpt_log.html) -eq 3 ]"
"$E" report -o t.html --train-log log.json >/dev/null
check train-log-figures bash -c "[ \$(grep -c '<figure id=' t.html) -eq 3 ]"

# --report on eval (score files and a model) and bench; ebood report --model is eval --report
"$E" eval --id s_id.npy --ood far=s_far.npy --report ev_files.html >/dev/null
check eval-files-report bash -c "[ \$(grep -c '<figure id=' ev_files.html) -eq 3 ]"
"$E" train --data toy:cross --steps 60 --warmup 0 --batch-size 128 -o toy.st >/dev/null 2>&1
"$E" eval --model toy.st --detectors energy --report ev_model.html >/dev/null
check eval-model-report grep -q '<h2 id="[^"]*">Landscape</h2>' ev_model.html
check eval-model-provenance grep -q '<th>model</th><td>toy.st</td>' ev_model.html
# 4 OOD sets: 4 histograms + ROC + PR, the training log's loss, accuracy and lr, the 2-input model's landscape
check eval-model-figures bash -c "[ \$(grep -c '<figure id=' ev_model.html) -eq 10 ]"
check eval-model-training grep -q '<h2 id="[^"]*">Training</h2>' ev_model.html
"$E" report --model toy.st --detectors energy -o rep_model.md >/dev/null
check report-model-md bash -c "grep -q '^## Landscape' rep_model.md && ls rep_model-*landscape.svg >/dev/null"
expect_fail report-model-format 2 "--format does not apply with --model" -- "$E" report --model toy.st -o out.html --format md
"$E" bench segment --seeds 1 --steps 100 --detectors energy --ebm none --report bench.html >bench.log 2>&1
check bench-report grep -q '<h2 id="[^"]*">Suite: ebood bench segment</h2>' bench.html
check bench-report-paper-cell grep -q 'paper_ebm_aupr' bench.html
check bench-report-announced grep -q 'report: bench.html' bench.log

# --- bad input: one line, non-zero exit, no output file
expect_fail empty-scores 1 "empty.npy: empty array" -- "$E" report -o out.html --id s_id.npy --ood e=empty.npy
expect_fail empty-id 1 "empty.npy: empty array" -- "$E" report -o out.html --id empty.npy --ood far=s_far.npy
expect_fail nan-scores 1 "nan.npy.*(NaN|nan)" -- "$E" report -o out.html --id s_id.npy --ood n=nan.npy
expect_fail two-columns 1 "two_cols.npy: expected one score per row" -- "$E" report -o out.html --id s_id.npy --ood t=two_cols.npy
expect_fail missing-file 1 "nothere.npy" -- "$E" report -o out.html --id s_id.npy --ood x=nothere.npy
expect_fail duplicate-name 1 "the name 'far' is used twice" -- "$E" report -o out.html --id s_id.npy --ood far=s_far.npy --ood far=one.npy
expect_fail ood-without-name 2 "--ood: expected NAME=FILE" -- "$E" report -o out.html --id s_id.npy --ood s_far.npy
expect_fail ood-without-id 2 "--ood needs --id" -- "$E" report -o out.html --ood far=s_far.npy
expect_fail id-without-ood 2 "--id needs at least one --ood" -- "$E" report -o out.html --id s_id.npy
expect_fail nothing 2 "nothing to report" -- "$E" report -o out.html
expect_fail no-output 2 "--output is required" -- "$E" report --id s_id.npy --ood far=s_far.npy
expect_fail bad-format 2 "--format: expected html or md, got 'pdf'" -- "$E" report -o out.pdf --format pdf --id s_id.npy --ood far=s_far.npy
expect_fail unknown-flag 2 "--colour" -- "$E" report -o out.html --colour red
echo '{"runs": []}' > notsuite.json
expect_fail not-a-suite 1 "notsuite.json: not a suite report" -- "$E" report -o out.html --suite notsuite.json
echo '{"runs": [' > broken.json
expect_fail suite-broken-json 1 "broken.json: not valid JSON" -- "$E" report -o out.html --suite broken.json
echo '[]' > emptylog.json
"$PY" - toy.st old.st <<'PYEOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
del header["__metadata__"]["ebood.train_log"]  # a checkpoint written before the log existed
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + raw[8 + n:])
PYEOF
expect_fail no-train-log 1 "old.st: the checkpoint keeps no training log" -- "$E" report -o out.html --train-log old.st
expect_fail empty-train-log 1 "emptylog.json: the training log is not a non-empty JSON array" -- "$E" report -o out.html --train-log emptylog.json
expect_fail output-dir-missing 1 "no/such/dir/out.html" -- "$E" report -o "$WORK/no/such/dir/out.html" --id s_id.npy --ood far=s_far.npy
finish
