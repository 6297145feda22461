#!/usr/bin/env bash
# The real path from data to an OOD table: train on Segment, evaluate, bench (short), JSON keys.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3

check help-train "$E" train --help >/dev/null
check info "$E" info >/dev/null
out=$("$E" train --data segment --steps 300 --warmup 50 --seed 3 -o seg.st 2>&1)
check train-segment test -s seg.st
check train-val-accuracy-reported grep -q "validation accuracy" <<<"$out"
# the checkpoint is plain safetensors: numpy reads it and finds the PyTorch-style names and metadata
check checkpoint-readable-by-numpy "$PY" - seg.st <<'PYEOF'
import json, struct, sys, numpy as np
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__")
assert meta["ebood.model"] == "mlp" and json.loads(meta["ebood.config"])["hidden"] == [100] * 5, meta
w = header["layers.0.weight"]
assert w["dtype"] == "F32" and w["shape"] == [100, 18], w
b, e = w["data_offsets"]
arr = np.frombuffer(raw[8 + n + b: 8 + n + e], dtype="<f4").reshape(w["shape"])
assert np.isfinite(arr).all() and arr.std() > 0
PYEOF
"$E" eval --model seg.st --json > eval.json
check eval-json-keys "$PY" - eval.json <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert 0.5 < r["id_acc"] <= 1.0, r["id_acc"]
for score in ("msp", "maxlogit", "energy"):
    sets = r["scores"][score]["sets"]
    assert set(sets) == {"sky", "uniform", "gaussian", "constant"}, sets.keys()
    for m in sets.values():
        for k in ("auroc", "aupr_in", "aupr_out", "fpr95_id", "fpr95_ood"):
            assert 0.0 <= m[k] <= 1.0, (k, m[k])
PYEOF
table=$("$E" eval --model seg.st)
check eval-table-has-energy grep -q "score: energy" <<<"$table"
check eval-table-has-sky grep -qE "^sky " <<<"$table"
# same seed ⇒ same checkpoint bytes
"$E" train --data segment --steps 300 --warmup 50 --seed 3 -o seg2.st >/dev/null 2>&1
check train-deterministic cmp -s seg.st seg2.st
"$E" bench segment --seeds 2 --steps 200 --ebm none --json -o bench.json > bench_stdout.json 2>/dev/null
check bench-json-written "$PY" - bench.json bench_stdout.json <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a == b
s = a["summary"]["scores"]["energy"]["sky"]
assert set(s["auroc"]) == {"mean", "std"} and len(a["runs"]) == 2
assert "paper_ebm_aupr" in s
PYEOF
finish
