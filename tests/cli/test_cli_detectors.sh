#!/usr/bin/env bash
# ebood fit / score / eval with detectors: results against the reference fixture
# (tests/fixtures/detectors, scripts/make_detector_fixture.py), model mode, score files, and bad input
# (one clear line naming the flag or file, a non-zero exit, no output left behind).
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
F="$(cd "$(dirname "$0")/../fixtures/detectors" && pwd)"
PY=/usr/bin/python3
cd "$WORK"

# close NAME GOT.npy EXPECTED.npy RTOL ATOL: |got - expected| <= atol + rtol*|expected| everywhere
close() {
  check "$1" "$PY" -c "
import numpy as np, sys
g, w = np.load('$2'), np.load('$3')
assert g.shape == w.shape, (g.shape, w.shape)
ok = np.abs(g - w) <= $5 + $4 * np.abs(w)
assert ok.all(), (np.abs(g - w).max())
"
}
same() { check "$1" cmp -s "$2" "$3"; }

# ---- feature files
"$E" fit --detector mahalanobis --features "$F/train_features.npy" --labels "$F/train_labels.npy" \
  --val-features "$F/val_features.npy" -o maha.st >fit.txt
check fit-mahalanobis test -s maha.st
check fit-prints-threshold grep -q "threshold .* keeps 95.0% of 40 ID validation samples" fit.txt
"$E" score maha.st --features "$F/test_features.npy" -o maha_s.npy --predictions maha_p.npy >/dev/null
close score-mahalanobis maha_s.npy "$F/expected_mahalanobis_s0.npy" 2e-5 2e-4
check predictions-mahalanobis "$PY" -c "
import numpy as np
assert (np.load('maha_p.npy') == np.load('$F/expected_mahalanobis_s0_is_id_95.npy')).all()"
"$E" fit --detector ssd --shrinkage 0.3 --features "$F/train_features.npy" --labels "$F/train_labels.npy" -o ssd.st >/dev/null
"$E" score ssd.st --features "$F/test_features.npy" -o ssd_s.npy >/dev/null
close score-ssd-shrinkage ssd_s.npy "$F/expected_ssd_s3.npy" 2e-5 2e-4
"$E" fit --detector energy --logits "$F/train_logits.npy" --val-logits "$F/val_logits.npy" --tpr 0.9 -o energy.st --json >fit.json
check fit-json "$PY" -c "
import json; r = json.load(open('fit.json'))
assert r['detector'] == 'energy' and r['n_train'] == 80 and r['n_val'] == 40 and r['tpr'] == 0.9, r
spec = json.load(open('$F/cases.json'))
want = [t for c in spec['cases'] if c['name'] == 'energy_t1' for t in c['thresholds'] if t['tpr'] == 0.9][0]
assert abs(r['threshold'] - want['value']) < 1e-5, (r['threshold'], want)"
"$E" score energy.st --logits "$F/test_logits.npy" -o energy_s.npy --predictions energy_p.npy --json >score.json
close score-energy energy_s.npy "$F/expected_energy_t1.npy" 1e-5 1e-6
check predictions-energy-90 "$PY" -c "
import numpy as np, json
assert (np.load('energy_p.npy') == np.load('$F/expected_energy_t1_is_id_90.npy')).all()
r = json.load(open('score.json')); assert r['n'] == 30 and r['n_id'] == int(np.load('energy_p.npy').sum()), r"
"$E" fit --detector msp --temperature 2 --logits "$F/train_logits.npy" -o msp.st >/dev/null
"$E" score msp.st --logits "$F/test_logits.npy" -o msp_s.npy >/dev/null
close score-msp-t2 msp_s.npy "$F/expected_msp_t2.npy" 1e-5 1e-6
# the detector file is plain safetensors with the documented metadata
check detector-file-metadata "$PY" - maha.st <<'PYEOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
m = h.pop("__metadata__")
assert m["ebood.detector"] == "mahalanobis" and m["ebood.format_version"] == "1", m
assert json.loads(m["ebood.params"]) == {"eps": 0, "shrinkage": 0, "tpr": 0.95}, m["ebood.params"]
assert m["ebood.dim"] == "6" and m["ebood.n_classes"] == "3" and float(m["ebood.threshold"]) < 0
assert json.loads(m["ebood.fit_inputs"])["n_val"] == 40
assert h["means"]["shape"] == [3, 6] and h["precision"]["shape"] == [6, 6], h
PYEOF

# ---- score files: eval --id / --ood
"$PY" -c "
import numpy as np
s = np.load('$F/expected_energy_t1.npy').astype(np.float32)
np.save('s_id.npy', s[:20]); np.save('s_far.npy', s[20:]); np.save('s_mix.npy', s[10:25].reshape(-1, 1))"
"$E" eval --id s_id.npy --ood far=s_far.npy --ood mix=s_mix.npy --json -o eval_files.json >eval_files_stdout.json
check eval-score-files "$PY" -c "
import json, numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score
a, b = json.load(open('eval_files.json')), json.load(open('eval_files_stdout.json'))
assert a == b and a['id_acc'] is None and a['n_id'] == 20, a
sets = a['scores']['scores']['sets']
s_id = np.load('s_id.npy')
for name, f in (('far', 's_far.npy'), ('mix', 's_mix.npy')):
    s = np.load(f).ravel()
    y = np.r_[np.ones(len(s_id)), np.zeros(len(s))]; x = np.r_[s_id, s]
    assert abs(sets[name]['auroc'] - roc_auc_score(y, x)) < 1e-12, (name, sets[name]['auroc'])
    assert abs(sets[name]['aupr_in'] - average_precision_score(y, x)) < 1e-12
    assert abs(sets[name]['aupr_out'] - average_precision_score(1 - y, -x)) < 1e-12
    for k in ('fpr95_id', 'fpr95_ood'): assert 0 <= sets[name][k] <= 1
"
table=$("$E" eval --id s_id.npy --ood far=s_far.npy)
check eval-score-files-table grep -qE "^far +10 " <<<"$table"

# ---- model mode: the fixture's tiny MLP, data as CSV files
"$PY" - "$F" <<'PYEOF'
import numpy as np, sys
F = sys.argv[1]
def csv(path, x, y):
    with open(path, "w") as fp:
        fp.write(",".join(f"x{j}" for j in range(x.shape[1])) + ",label\n")
        for row, label in zip(x, y):
            fp.write(",".join(f"{v:.9g}" for v in row) + f",{label}\n")
tr = np.load(f"{F}/mlp_train_inputs.npy"); te = np.load(f"{F}/mlp_test_inputs.npy")
csv("mlp_train.csv", tr, np.load(f"{F}/mlp_train_labels.npy"))
csv("mlp_test.csv", te, np.arange(len(te)) % 3)
csv("mlp_far.csv", te * 4 + 3, np.arange(len(te)) % 3)
csv("mlp_three.csv", tr[:, :3], np.load(f"{F}/mlp_train_labels.npy"))
PYEOF
MLP="$F/mlp.safetensors"
"$E" fit --detector odin --model "$MLP" --data mlp_train.csv --temperature 1 --eps 0.05 --input-std 0.5,1,2,0.25 -o odin.st >/dev/null
"$E" score odin.st --model "$MLP" --data mlp_test.csv --input-std 0.5,1,2,0.25 -o odin_s.npy >/dev/null
close score-odin-model odin_s.npy "$F/expected_odin_t1_std.npy" 0 1e-7
"$E" fit --detector odin --model "$MLP" --data mlp_train.csv -o odin_default.st >/dev/null
"$E" score odin_default.st --model "$MLP" --data mlp_test.csv -o odin_default_s.npy >/dev/null
close score-odin-defaults odin_default_s.npy "$F/expected_odin_t1000.npy" 0 1e-7
"$E" fit --detector mahalanobis --eps 0.01 --model "$MLP" --data mlp_train.csv --input-std 0.5,1,2,0.25 -o mahap.st >/dev/null
"$E" score mahap.st --model "$MLP" --data mlp_test.csv --input-std 0.5,1,2,0.25 -o mahap_s.npy >/dev/null
close score-mahalanobis-preprocessing mahap_s.npy "$F/expected_mahalanobis_model_eps0_01.npy" 1e-4 1e-3
# calibration through the model: --val-data
"$E" fit --detector ssd --model "$MLP" --data mlp_train.csv --val-data mlp_train.csv --tpr 0.5 -o ssdm.st --json >ssdm.json
"$E" score ssdm.st --model "$MLP" --data mlp_train.csv -o out_tmp.npy --predictions ssdm_p.npy >/dev/null && rm -f out_tmp.npy
check model-mode-calibration "$PY" -c "
import numpy as np, json
r = json.load(open('ssdm.json')); p = np.load('ssdm_p.npy')
assert r['n_val'] == 60 and p.shape == (60,) and p.sum() == 30, (r, p.sum())"

# ---- eval: several detectors on one extraction
"$E" eval --model "$MLP" --data mlp_test.csv --train-data mlp_train.csv --ood far=mlp_far.csv --no-synthetic \
  --detectors msp,energy,odin,mahalanobis,ssd --temperature 1 --eps 0.05 --json -o eval_det.json >/dev/null 2>eval_det.err
check eval-detectors "$PY" -c "
import json
r = json.load(open('eval_det.json'))
assert set(r['scores']) == {'msp', 'energy', 'odin', 'mahalanobis', 'ssd'}, r['scores'].keys()
for s in r['scores'].values():
    m = s['sets']['far']
    for k in ('auroc', 'aupr_in', 'aupr_out', 'fpr95_id', 'fpr95_ood'): assert 0 <= m[k] <= 1, (k, m[k])
assert 0 <= r['id_acc'] <= 1
assert r['scores']['mahalanobis']['sets']['far']['auroc'] > 0.9, r['scores']['mahalanobis']
"
# eval's detector scores equal fit + score's (features extracted once, same numbers)
"$E" eval --model "$MLP" --data mlp_test.csv --train-data mlp_train.csv --ood far=mlp_far.csv --no-synthetic \
  --detectors mahalanobis --json >eval_maha.json
"$E" fit --detector mahalanobis --model "$MLP" --data mlp_train.csv -o maham.st >/dev/null
"$E" score maham.st --model "$MLP" --data mlp_test.csv -o maham_id.npy >/dev/null
"$E" score maham.st --model "$MLP" --data mlp_far.csv -o maham_far.npy >/dev/null
"$E" eval --id maham_id.npy --ood far=maham_far.npy --json >eval_maha_files.json
check eval-detectors-equals-fit-score "$PY" -c "
import json
a = json.load(open('eval_maha.json'))['scores']['mahalanobis']['sets']['far']
b = json.load(open('eval_maha_files.json'))['scores']['scores']['sets']['far']
assert all(a[k] == b[k] for k in b), (a, b)"

# ---- bad input
TF="$F/train_features.npy"; TL="$F/train_labels.npy"
expect_fail fit-unknown-detector 2 "--detector: detector 'frob'" -- "$E" fit --detector frob --features "$TF" -o out.st
expect_fail fit-missing-output 2 "--output is required" -- "$E" fit --detector knn --features "$TF"
expect_fail fit-flag-not-applicable 2 "--k does not apply to mahalanobis" -- "$E" fit --detector mahalanobis --features "$TF" --labels "$TL" --k 5 -o out.st
expect_fail fit-missing-labels 2 "--labels is required for mahalanobis" -- "$E" fit --detector mahalanobis --features "$TF" -o out.st
# data a detector does not read is accepted with a one-line note and not read (one loop, same inputs)
"$E" fit --detector knn --k 3 --features "$TF" --labels "$TL" --logits "$F/train_logits.npy" -o knn_y.st 2>unused.err
"$E" fit --detector knn --k 3 --features "$TF" -o knn_plain.st 2>/dev/null
check fit-unused-data-noted grep -qx "ebood fit: note: --labels: the knn detector does not use it (it needs features); ignored" unused.err
check fit-unused-data-two-notes test "$(wc -l <unused.err)" -eq 2
check fit-unused-data-same-detector "$E" score knn_y.st --features "$TF" -o s_y.npy
"$E" score knn_plain.st --features "$TF" -o s_plain.npy
check fit-unused-data-same-scores cmp -s s_y.npy s_plain.npy
printf 'garbage' >junk.npy
check fit-unused-data-not-read "$E" fit --detector msp --logits "$F/train_logits.npy" --features junk.npy -o msp_j.st
"$E" score knn_plain.st --features "$TF" --logits junk.npy -o s_both.npy 2>both.err
check score-unused-data-noted grep -qx "ebood score: note: --logits: the knn detector does not use them (it needs features); ignored" both.err
check score-unused-data-same-scores cmp -s s_both.npy s_plain.npy
expect_fail fit-odin-needs-model 2 "odin needs --model" -- "$E" fit --detector odin --features "$TF" -o out.st
expect_fail fit-model-and-files 2 "do not also give" -- "$E" fit --detector knn --model "$MLP" --features "$TF" -o out.st
expect_fail fit-bad-shrinkage 2 "--shrinkage: 2 is out of range" -- "$E" fit --detector ssd --features "$TF" --labels "$TL" --shrinkage 2 -o out.st
expect_fail fit-val-dim 1 "val_bad.npy: 5 features per row, but .*train_features.npy has 6" -- \
  "$E" fit --detector mahalanobis --features "$TF" --labels "$TL" --val-features "$(
    "$PY" -c "import numpy as np; np.save('val_bad.npy', np.zeros((4, 5), np.float32))"; echo val_bad.npy)" -o out.st
"$PY" -c "
import numpy as np
y = np.load('$TL'); y2 = y.copy(); y2[y2 == 2] = 1; np.save('labels_gap.npy', y2)
np.save('labels_short.npy', y[:-1])
f = np.load('$TF'); f[3, 2] = np.nan; np.save('feat_nan.npy', f)
f = np.load('$TF'); f[5, 1] = np.inf; np.save('feat_inf.npy', f)
np.save('labels_float.npy', y.astype(np.float64) + 0.5)"
expect_fail fit-label-out-of-range 1 ".*train_labels.npy: label \[[0-9]+\] = 2 outside \[0, 2\)" -- "$E" fit --detector mahalanobis --features "$TF" --labels "$TL" --n-classes 2 -o out.st
expect_fail fit-class-without-samples 1 "labels_gap.npy: class 2 has no samples" -- "$E" fit --detector mahalanobis --features "$TF" --labels labels_gap.npy --n-classes 3 -o out.st
expect_fail fit-labels-rows 1 "labels_short.npy: 79 rows, but .*train_features.npy has 80" -- "$E" fit --detector ssd --features "$TF" --labels labels_short.npy -o out.st
expect_fail fit-labels-not-integers 1 "labels_float.npy: labels must be an integer array .*got float64" -- "$E" fit --detector ssd --features "$TF" --labels labels_float.npy -o out.st
expect_fail fit-nan-features 1 "feat_nan.npy" -- "$E" fit --detector knn --features feat_nan.npy -o out.st
expect_fail fit-k-larger-than-bank 1 "k: 81 is larger than the bank \(80 training features\)" -- "$E" fit --detector knn --features "$TF" --k 81 -o out.st
expect_fail fit-missing-file 1 "nothere.npy" -- "$E" fit --detector knn --features nothere.npy -o out.st
expect_fail fit-output-dir-missing 1 "no/such/dir/out.st" -- "$E" fit --detector mahalanobis --features "$TF" --labels "$TL" -o "$WORK/no/such/dir/out.st"
expect_fail fit-model-dims 1 "the model expects 4 features, mlp_three.csv has 3" -- "$E" fit --detector odin --model "$MLP" --data mlp_three.csv -o out.st

expect_fail score-no-detector 2 "the detector file is required" -- "$E" score --features "$TF" -o out.npy
expect_fail score-dim-mismatch 1 "val_bad.npy: 5 features per row, but maha.st was fitted on 6" -- "$E" score maha.st --features val_bad.npy -o out.npy
expect_fail score-inf-features 1 "feat_inf.npy" -- "$E" score maha.st --features feat_inf.npy -o out.npy
expect_fail score-wrong-input 2 "--logits: the mahalanobis detector does not use them" -- "$E" score maha.st --logits "$F/test_logits.npy" -o out.npy
expect_fail score-odin-needs-model 2 "odin.st: the odin detector needs --model" -- "$E" score odin.st --features "$TF" -o out.npy
expect_fail score-no-threshold 1 "ssd.st: no threshold for --predictions" -- "$E" score ssd.st --features "$F/test_features.npy" -o out.npy --predictions out_p.npy
expect_fail score-output-dir-missing 1 "no/dir/out.npy" -- "$E" score maha.st --features "$F/test_features.npy" -o "$WORK/no/dir/out.npy"
expect_fail score-predictions-dir-missing 1 "no/dir/p.npy" -- "$E" score maha.st --features "$F/test_features.npy" -o out.npy --predictions "$WORK/no/dir/p.npy"
"$PY" - maha.st <<'PYEOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
def rewrite(path, **meta):
    h = json.loads(raw[8:8 + n]); h["__metadata__"].update(meta)
    b = json.dumps(h).encode(); b += b" " * ((8 - len(b) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(b)) + b + raw[8 + n:])
rewrite("det_unknown.st", **{"ebood.detector": "frobnicate"})
rewrite("det_newer.st", **{"ebood.format_version": "2"})
open("det_trunc.st", "wb").write(raw[: len(raw) // 2])
PYEOF
expect_fail score-unknown-method 1 "det_unknown.st: unknown detector method 'frobnicate'" -- "$E" score det_unknown.st --features "$TF" -o out.npy
expect_fail score-newer-version 1 "det_newer.st: detector format version 2" -- "$E" score det_newer.st --features "$TF" -o out.npy
expect_fail score-truncated 1 "det_trunc.st" -- "$E" score det_trunc.st --features "$TF" -o out.npy
expect_fail score-checkpoint-not-detector 1 "not an ebood detector file" -- "$E" score "$MLP" --features "$TF" -o out.npy

expect_fail eval-id-with-model 2 "--model does not apply to score files" -- "$E" eval --id s_id.npy --ood far=s_far.npy --model "$MLP"
expect_fail eval-id-without-ood 2 "--id needs at least one --ood" -- "$E" eval --id s_id.npy
expect_fail eval-id-2d 1 ".*train_features.npy: expected one score per row, got 6 columns" -- "$E" eval --id "$TF" --ood far=s_far.npy
expect_fail eval-id-nan 1 "feat_nan.npy" -- "$E" eval --id s_id.npy --ood bad=feat_nan.npy
expect_fail eval-unknown-detector 2 "--detectors: detector 'bogus'" -- "$E" eval --model "$MLP" --detectors msp,bogus
expect_fail eval-flag-not-applicable 2 "--k does not apply to msp, energy" -- "$E" eval --model "$MLP" --detectors msp,energy --k 3
expect_fail eval-scores-and-detectors 2 "not both" -- "$E" eval --model "$MLP" --scores msp --detectors energy
expect_fail eval-aux-required 2 "--aux-data is required for hopfield_aux" -- "$E" eval --model "$MLP" --detectors hopfield_aux
finish
