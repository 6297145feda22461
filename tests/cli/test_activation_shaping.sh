#!/usr/bin/env bash
# The activation-shaping detectors from the command line: fitted from --model (the head is copied, ReAct's
# clip computed), then scored from a features file alone with the same scores as the library computes
# in eval; --percentile reaches the detector file; bad flags are one-line errors.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3

"$E" train --data segment --steps 30 --batch-size 64 -o m.st >/dev/null 2>&1
"$E" extract --model m.st --split test --features f.npy >/dev/null 2>&1
for det in react ash_s ash_p ash_b scale; do
  "$E" fit --detector "$det" --model m.st --json -o "$det.st" >"$det.json" 2>/dev/null
  "$E" score "$det.st" --features f.npy --json -o "$det.npy" >/dev/null 2>&1
  check "fit-score-$det" "$PY" - "$det" <<'PYEOF'
import json, sys
import numpy as np
det = sys.argv[1]
fit = json.load(open(det + ".json"))
s = np.load(det + ".npy")
assert fit["detector"] == det and fit["dim"] == 100 and fit["n_classes"] == 6, fit
assert s.shape == (198,) and np.isfinite(s).all(), s.shape
# the calibrated threshold keeps 95% of the ID validation split: on the ID test split most pass
assert (s >= fit["threshold"]).mean() > 0.7, (s >= fit["threshold"]).mean()
PYEOF
done
"$E" fit --detector ash_s --model m.st --percentile 80 -o ash80.st >/dev/null 2>&1
check percentile-recorded "$PY" -c 'import json, struct
b = open("ash80.st", "rb").read(); n = struct.unpack("<Q", b[:8])[0]
m = json.loads(b[8:8 + n])["__metadata__"]; p = json.loads(m["ebood.params"])
assert p == {"temperature": 1, "tpr": 0.95, "percentile": 80}, p'
check react-has-clip "$PY" -c 'import json, struct
b = open("react.st", "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
assert h["head.clip"]["shape"] == [1] and h["head.weight"]["shape"] == [6, 100], h'

expect_fail percentile-range 2 "percentile: 100 is out of range" -- "$E" fit --detector react --model m.st \
  --percentile 100 -o "$WORK/out.st"
expect_fail percentile-knn 2 "percentile does not apply to knn" -- "$E" fit --detector knn --features f.npy \
  --percentile 50 -o "$WORK/out.st"
expect_fail shaping-needs-model 2 "ash_b needs --model CKPT \(its fit reads the classifier's last layer\)" -- \
  "$E" fit --detector ash_b --features f.npy -o "$WORK/out.st"
finish
