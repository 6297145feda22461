#!/usr/bin/env bash
# The EBM rows of `ebood bench`: segment with a tiny budget (rows, paper values, budget report, the
# reduced-budget warning, determinism), and bad --ebm / --ebm-steps / --protocol values for both suites.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
export EBOOD_THREADS=${EBOOD_THREADS:-1}

"$E" bench segment --seeds 1 --steps 200 --detectors energy --ebm cd,ssm,flow --ebm-steps 20 --sgld-steps 2 \
  --json > seg.json 2>/dev/null
check segment-ebm-json "$PY" - seg.json <<'PYEOF'
import json, math, sys
r = json.load(open(sys.argv[1]))
scores = r["summary"]["scores"]
assert set(scores) == {"energy", "CD", "SSM", "NF"}, scores.keys()
for name in ("CD", "SSM", "NF"):
    sets = scores[name]
    assert {"sky", "uniform", "gaussian", "constant"} <= set(sets), sets.keys()
    for s in ("sky", "uniform", "gaussian", "constant"):
        for k in ("auroc", "aupr_in", "aupr_out", "fpr95_id", "ebm_paper_aupr"):
            v = sets[s][k]["mean"]
            assert 0.0 <= v <= 1.0, (name, s, k, v)
# the paper's values (002_... Tables 5-6, fractions): sky = "Segment OOD", uniform = "Noise"
paper = {("CD", "sky"): 0.9818, ("CD", "constant"): 0.9613, ("CD", "uniform"): 0.9543,
         ("SSM", "sky"): 0.7943, ("SSM", "uniform"): 0.8035, ("NF", "sky"): 0.9912, ("NF", "constant"): 0.9997}
for (name, s), want in paper.items():
    got = scores[name][s]["paper_ebm_aupr"]["mean"]
    assert abs(got - want) < 1e-9, (name, s, got, want)
assert "paper_ebm_aupr" not in scores["CD"]["gaussian"]
assert abs(scores["energy"]["sky"]["paper_ebm_aupr"]["mean"] - 0.3335) < 1e-9
# the budget actually used, per row, and that it is not the paper's
e = r["ebm"]
assert e["protocol"] == "quick" and "final" in e["model_selection"], e
rows = e["rows"]
assert rows["CD"]["steps"] == 20 and rows["CD"]["sgld_steps"] == 2 and rows["CD"]["paper_steps"] == 10000, rows
assert rows["CD"]["paper_sgld_steps"] == 100 and rows["CD"]["paper_protocol"] is False
assert rows["SSM"]["steps"] == 20 and "sgld_steps" not in rows["SSM"] and rows["NF"]["steps"] == 20
assert all(rows[k]["train_seconds"] > 0 for k in rows)
PYEOF

# same seed ⇒ same numbers
"$E" bench segment --seeds 1 --steps 200 --detectors energy --ebm ssm --ebm-steps 10 --json > a.json 2>/dev/null
"$E" bench segment --seeds 1 --steps 200 --detectors energy --ebm ssm --ebm-steps 10 --json > b.json 2>/dev/null
check segment-ebm-deterministic "$PY" - a.json b.json <<'PYEOF'
import json, sys
a, b = (json.load(open(p))["summary"]["scores"]["SSM"] for p in sys.argv[1:3])
assert a == b
PYEOF

table=$("$E" bench segment --seeds 1 --steps 100 --detectors energy --ebm cd-s --ebm-steps 5 --sgld-steps 1 2>/dev/null)
check segment-table-has-cd-s grep -q "score: CD-S" <<<"$table"
check segment-table-says-reduced grep -qE "CD-S +5 steps \(paper 10000\), SGLD 1 \(paper 100\).*REDUCED" <<<"$table"
check segment-table-model-selection grep -q "no model selection" <<<"$table"
# the paper protocol with the paper's budget is not flagged (SGLD 100 only for 1 step: cheap)
"$E" bench segment --seeds 1 --steps 100 --detectors energy --ebm cd --protocol paper --ebm-steps 1 --json \
  > paper.json 2>/dev/null
check segment-paper-protocol "$PY" - paper.json <<'PYEOF'
import json, sys
e = json.load(open(sys.argv[1]))["ebm"]
assert e["protocol"] == "paper" and e["rows"]["CD"]["sgld_steps"] == 100 and e["rows"]["CD"]["steps"] == 1, e
PYEOF
"$E" bench segment --seeds 1 --steps 100 --detectors energy --ebm none --json > none.json 2>/dev/null
check segment-ebm-none "$PY" - none.json <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert "ebm" not in r and set(r["summary"]["scores"]) == {"energy"}, r.keys()
PYEOF

# fmnist with EBM rows on the images (tiny 16×16 files: 40 training images after the 5000 held out)
mkdir -p tiny && (cd tiny && "$PY" "$(dirname "$0")/make_tiny_images.py")
EBOOD_DATA="$WORK/tiny/data" "$E" bench fmnist --epochs 1 --batch-size 8 --detectors energy --image-ebm cd,ssm-s \
  --image-ebm-steps 2 --sgld-steps 1 --bottleneck 0.2 --n-synthetic 20 --json > fm.json 2>/dev/null
check fmnist-image-ebm-rows "$PY" - fm.json <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
scores = r["summary"]["scores"]
assert set(scores) == {"energy", "CD", "SSM-S"}, scores.keys()
for name in ("CD", "SSM-S"):
    for s in ("mnist", "oodomain", "noise", "constant"):
        v = scores[name][s]["auroc"]["mean"]
        assert 0.0 <= v <= 1.0, (name, s, v)
# 002_... Tables 5-6, FMNIST image rows (fractions)
paper = {("CD", "mnist"): 0.3169, ("CD", "constant"): 0.7059, ("SSM-S", "mnist"): 0.9922,
         ("SSM-S", "oodomain"): 0.7003}
for (name, s), want in paper.items():
    got = scores[name][s]["paper_ebm_aupr"]["mean"]
    assert abs(got - want) < 1e-9, (name, s, got, want)
# the budget of each image row against the paper's 50 epochs of batch 64 (42,950 steps)
rows = r["ebm"]["rows"]
assert rows["CD"]["steps"] == 2 and rows["CD"]["paper_steps"] == 42950 and rows["CD"]["sgld_steps"] == 1, rows
assert rows["SSM-S"]["paper_protocol"] is False and rows["SSM-S"]["train_seconds"] > 0, rows
PYEOF
table=$(EBOOD_DATA="$WORK/tiny/data" "$E" bench fmnist --epochs 1 --batch-size 8 --detectors energy --image-ebm cd \
  --image-ebm-steps 2 --sgld-steps 1 --n-synthetic 20 2>/dev/null)
check fmnist-image-table-header grep -q "Image EBM rows (WRN-10-2, batch 64; paper: 50 epochs)" <<<"$table"
check fmnist-image-table-says-reduced grep -qE "CD +2 steps \(paper 42950\), SGLD 1 \(paper 100\).*REDUCED" <<<"$table"

expect_fail fmnist-image-flow 2 "image-ebm: flow is tabular only" -- "$E" bench fmnist --image-ebm flow
expect_fail fmnist-bottleneck-range 2 "bottleneck.*out of range" -- "$E" bench fmnist --image-ebm cd --bottleneck 2
# --ebm-activation reaches the EBM rows' MLP (same seed, steps and data: only the activation differs)
for act in relu softplus; do
  "$E" bench segment --seeds 1 --steps 100 --detectors energy --ebm ssm --ebm-steps 5 --ebm-activation "$act" \
    --json > "act-$act.json" 2>/dev/null
done
check segment-ebm-activation "$PY" - act-relu.json act-softplus.json <<'PYEOF'
import json, sys
a, b = (json.load(open(p))["summary"]["scores"]["SSM"] for p in sys.argv[1:3])
assert a != b, "the same scores with relu and softplus: the flag did not reach the model"
PYEOF
# --ood-val: each EBM row also at its OOD-validation checkpoint (same run), sky's test set 90 % for every
# row; the CE baseline of App. B (best ID validation accuracy) by default, the code's with --ce-preset code
"$E" bench segment --seeds 2 --steps 90 --detectors energy --ebm cd --ebm-steps 60 --sgld-steps 1 --ood-val \
  --json > oodval.json 2>/dev/null
for ce in paper code; do
  "$E" bench segment --seeds 1 --steps 90 --detectors energy --ebm none --ce-preset $ce --json > ce-$ce.json 2>/dev/null
done
check segment-ood-val "$PY" - oodval.json ce-code.json ce-paper.json <<'PYEOF'
import json, sys
r, code, paper = (json.load(open(p)) for p in sys.argv[1:4])
scores = r["summary"]["scores"]
assert set(scores) == {"energy", "CD", "CD@oodval"}, scores.keys()
for run in r["runs"]:
    for name in ("energy", "CD", "CD@oodval"):
        assert run["scores"][name]["sets"]["sky"]["n"] == 297, run["scores"][name]["sets"]["sky"]
assert abs(scores["CD@oodval"]["sky"]["paper_ebm_aupr"]["mean"] - 0.9818) < 1e-9
steps = r["ebm"]["rows"]["CD"]["oodval_selected_steps"]
assert len(steps) == 2 and all(0 < s <= 60 and s % 30 == 0 or s == 60 for s in steps), steps
assert "oodval" in r["ebm"]["model_selection"].replace("@", ""), r["ebm"]["model_selection"]
ce = r["ce"]
assert ce["preset"] == "paper" and "validation accuracy" in ce["model_selection"], ce
assert len(ce["selected_steps"]) == 2 and all(0 < s <= 90 for s in ce["selected_steps"]), ce
assert code["ce"]["preset"] == "code" and "selected_steps" not in code["ce"], code["ce"]
assert code["runs"][0]["scores"]["energy"]["sets"]["sky"]["n"] == 330
# the two CE recipes train different classifiers (optimizer, weight decay, checkpoint) on the same sets
a, b = code["runs"][0]["scores"]["energy"]["sets"], paper["runs"][0]["scores"]["energy"]["sets"]
assert {k: v["n"] for k, v in a.items()} == {k: v["n"] for k, v in b.items()}
assert a != b
PYEOF
expect_fail ce-preset-unknown 2 "--ce-preset: expected paper or code, got 'x'" -- "$E" bench segment --ce-preset x
expect_fail ebm-activation-unknown 2 "ebm-activation: unknown activation 'foo'" -- "$E" bench segment \
  --ebm-activation foo
expect_fail ebm-unknown 2 "--ebm: .*'foo'" -- "$E" bench segment --ebm foo
expect_fail ebm-twice 2 "--ebm: 'cd' given twice" -- "$E" bench segment --ebm cd,cd
expect_fail ebm-empty 2 "--ebm" -- "$E" bench segment --ebm ,
expect_fail ebm-steps-negative 2 "ebm-steps" -- "$E" bench segment --ebm-steps -1
expect_fail sgld-steps-negative 2 "sgld-steps" -- "$E" bench segment --sgld-steps -3
expect_fail protocol-unknown 2 "--protocol: expected quick or paper, got 'x'" -- "$E" bench segment --protocol x
expect_fail fmnist-ebm-unknown 2 "--ebm: .*'foo'" -- "$E" bench fmnist --ebm foo
expect_fail fmnist-protocol-unknown 2 "--protocol" -- "$E" bench fmnist --protocol x
expect_fail fmnist-heat-width 2 "heat-width" -- "$E" bench fmnist --heat-width 0
finish
