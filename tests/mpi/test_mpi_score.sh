#!/usr/bin/env bash
# Sharded scoring under mpirun on loopback (docs/distributed.md): knn, hopfield and hopfield_aux banks split
# across 2 and 3 ranks (each holds its share) give the plain build's scores — k-NN bitwise (the top-k
# merge selects among the same dot products), Hopfield up to float reassociation (the log-sum-exp merge)
# — with `ebood fit` (sharded calibration: same threshold, same file, written by rank 0), `ebood score`
# (also with more ranks than bank rows) and `ebood eval --model`. Usage: test_mpi_score.sh EBOOD_MPI WORK [EBOOD_PLAIN]
source "$(dirname "$0")/../cli/cli_lib.sh" "$@"
PLAIN="${3:-}"
PY=/usr/bin/python3
cd "$WORK"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,tcp)
if [ ! -x "$PLAIN" ]; then
  echo "FAIL no plain build given ($PLAIN): make mpi-check builds it"
  exit 1
fi

"$PY" - <<'PYEOF'
import numpy as np
r = np.random.default_rng(1)
for name, shape, loc, scale in [("train", (1000, 16), 0, 1), ("val", (200, 16), 0, 1), ("query", (300, 16), 0, 1.3),
                                ("aux", (77, 16), 1, 1), ("two", (2, 16), 0, 1)]:
    np.save(name + ".npy", r.normal(loc, scale, shape).astype(np.float32))
PYEOF

# same_scores NAME A.npy B.npy TOL: max |a − b| / max(1, max |a|) ≤ TOL (0: bitwise)
same_scores() {
  check "$1" "$PY" - "$2" "$3" "$4" <<'PYEOF'
import sys
import numpy as np
a, b, tol = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
d = float(np.max(np.abs(a.astype(np.float64) - b))) / max(1.0, float(np.max(np.abs(a))))
print(f"  {sys.argv[2]}: max |delta| / max(1, |s|) = {d:.3g} (tolerance {tol:g})")
sys.exit(0 if (a.tobytes() == b.tobytes() if tol == 0 else d <= tol) else 1)
PYEOF
}

i=0
for det in "knn --k 50" "knn --k 7" "hopfield" "hopfield_aux --aux-features aux.npy"; do
  i=$((i + 1))
  tol=0
  [[ $det == hopfield* ]] && tol=1e-6
  FIT=(fit --detector $det --features train.npy --val-features val.npy --json)
  "$PLAIN" "${FIT[@]}" -o det$i.st >fit$i.json
  "$PLAIN" score det$i.st --features query.npy -o s$i-plain.npy >/dev/null
  "${MPIRUN[@]}" -np 3 "$EBOOD" "${FIT[@]}" -o det$i-np3.st >fit$i-np3.json
  check "fit ${det%% *} np3: same file" cmp det$i.st det$i-np3.st
  check "fit ${det%% *} np3: ranks" "$PY" -c 'import json,sys; assert json.load(open(sys.argv[1]))["ranks"] == 3' fit$i-np3.json
  for n in 2 3; do
    "${MPIRUN[@]}" -np $n "$EBOOD" score det$i.st --features query.npy -o s$i-np$n.npy >/dev/null
    same_scores "score ${det%% *} np$n" s$i-plain.npy s$i-np$n.npy $tol
  done
done
check "fit np3: only rank 0 wrote" bash -c '[ "$(ls det*.st | wc -l)" -eq 8 ] && ! ls *.tmp* 2>/dev/null'

# more ranks than bank rows: the empty shares take part with nothing (−Inf lists, an empty sum)
for det in "knn --k 2" hopfield; do
  "$PLAIN" fit --detector $det --features two.npy -o tiny.st >/dev/null
  "$PLAIN" score tiny.st --features query.npy -o tiny-plain.npy >/dev/null
  "${MPIRUN[@]}" -np 3 "$EBOOD" score tiny.st --features query.npy -o tiny-np3.npy >/dev/null
  same_scores "score ${det%% *} on 2 rows, np3" tiny-plain.npy tiny-np3.npy 0
done

# ebood eval --model: fits on the model's features, scores ID test and every OOD set (EBOOD_THREADS=1 in
# both runs: the model's features then come from the same GEMM blocking)
"$PLAIN" train --data segment --steps 30 --batch-size 64 -o model.st >/dev/null 2>&1
EV=(eval --model model.st --detectors knn,hopfield,energy --n-synthetic 300 --json)
"$PLAIN" "${EV[@]}" >eval-plain.json
"${MPIRUN[@]}" -np 3 "$EBOOD" "${EV[@]}" -o eval-np3.json >eval-np3-stdout.json
check "eval np3: rank 0 printed once, wrote -o" cmp eval-np3.json eval-np3-stdout.json
check "eval np3: same metrics" "$PY" - eval-plain.json eval-np3.json <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["n_id"] == b["n_id"] and a["scores"].keys() == b["scores"].keys(), (a.keys(), b.keys())
for det, r in a["scores"].items():
    for name, m in r["sets"].items():
        for key, v in m.items():
            w = b["scores"][det]["sets"][name][key]
            tol = 0 if det != "hopfield" else 1e-4  # a Hopfield score may move by reassociation: a tie may flip
            assert (v == w) if tol == 0 else abs(v - w) <= tol, (det, name, key, v, w)
PYEOF
finish
