#!/usr/bin/env bash
# HEAT fitting and scoring and Hopfield Boosting under mpirun on loopback (docs/distributed.md). `ebood fit
# --detector heat` trains E_θ data-parallel (np 1 bitwise the plain build, np 2, 3 and 9 one process's E_θ
# up to reassociation); heat and heat_combined
# split the QUERIES across the ranks (each scores its share, the scores gathered): `ebood fit` (its
# calibration split by rows), `ebood score` with 2 and 3 ranks (features, and the
# model mode of heat_combined whose rows carry the inputs) and `ebood eval --model --detectors heat` equal
# the plain build's up to float rounding. `ebood train --objective hopfield-boost` on 2 ranks (each scores half of the boosting
# candidates; the weights' equality with one process is tests/mpi/mpi_units.c's) runs, and with
# --hb-lambda 0 (CE only) gives the one-process weights; POEM on 2 ranks mines one process's outliers.
# Usage: test_mpi_hb_heat.sh EBOOD_MPI WORK EBOOD_PLAIN
source "$(dirname "$0")/../cli/cli_lib.sh" "$@"
source "$(dirname "$0")/mpi_lib.sh" "$@"
CMP="$(cd "$(dirname "$0")" && pwd)/compare_checkpoints.py"
cd "$WORK"

"$PY" - <<'PYEOF'
import numpy as np
r = np.random.default_rng(2)
y = r.integers(0, 3, 400)
np.save("train.npy", (r.normal(0, 1, (400, 8)) + y[:, None]).astype(np.float32))
np.save("labels.npy", y.astype(np.int32))
np.save("val.npy", (r.normal(0, 1, (101, 8)) + r.integers(0, 3, 101)[:, None]).astype(np.float32))
np.save("query.npy", r.normal(0, 2, (203, 8)).astype(np.float32))
np.savetxt("aux.csv", r.normal(0, 40, (300, 18)), delimiter=",")
PYEOF

TINY=(--ebm-width 16 --ebm-depth 1 --ebm-epochs 2 --ebm-batch-size 64 --sgld-steps 5 --ebm-lr 1e-3 --ebm-seed 3
  --ebm-no-relu)
# a row's energy depends in the last bits on the rows of its GEMM block (E_θ's matmuls), and the ranks'
# blocks start elsewhere: measured ≤ 3e-8 relative
TOL=1e-6
FIT=(fit --detector heat --prior gmm "${TINY[@]}" --features train.npy --labels labels.npy --val-features val.npy)
# fit: E_θ's training is data-parallel (each rank 1/N of every batch: its rows, their SGLD chains and
# negatives, drawn from the common stream; the gradients allreduced), so N ranks give one process's E_θ up
# to float reassociation. HEAT_TOL: max |Δw| / max(1, max |w|) after the 12 Adam steps here (lr 1e-3)
HEAT_TOL=1e-5
"$PLAIN" "${FIT[@]}" -o heat.st >/dev/null
"${MPIRUN[@]}" -np 1 "$EBOOD" "${FIT[@]}" -o heat-np1.st >/dev/null
check "fit heat np1: the plain build's EBM bitwise" "$PY" "$CMP" heat.st heat-np1.st 0
for n in 2 3; do
  "${MPIRUN[@]}" -np $n "$EBOOD" "${FIT[@]}" -o heat-np$n.st >/dev/null
  check "fit heat np$n: one process's EBM (data-parallel training)" "$PY" "$CMP" heat.st heat-np$n.st $HEAT_TOL
done
# without a prior: larger SGLD steps (0.01) move the negatives, 7 rows of each batch of 64 on every rank of 9
NONE=(fit --detector heat --prior none "${TINY[@]}" --features train.npy)
"$PLAIN" "${NONE[@]}" -o none.st >/dev/null
"${MPIRUN[@]}" -np 9 "$EBOOD" "${NONE[@]}" -o none-np9.st >/dev/null
check "fit heat --prior none np9: one process's EBM" "$PY" "$CMP" none.st none-np9.st $HEAT_TOL
check "fit heat np3: the threshold (calibration split by rows)" "$PY" - heat.st heat-np3.st $TOL <<'PYEOF'
import json, struct, sys
def threshold(path):
    raw = open(path, "rb").read()
    return float(json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]["ebood.threshold"])
a, b = threshold(sys.argv[1]), threshold(sys.argv[2])
print(f"  thresholds {a!r} {b!r}")
assert abs(a - b) <= float(sys.argv[3]) * max(1.0, abs(a)), (a, b)
PYEOF
"$PLAIN" score heat.st --features query.npy -o heat-plain.npy >/dev/null
for n in 2 3; do
  "${MPIRUN[@]}" -np $n "$EBOOD" score heat.st --features query.npy -o heat-np$n.npy >/dev/null
  same_scores "score heat np$n" heat-plain.npy heat-np$n.npy $TOL
done

# heat_combined in model mode (the rows carry the model's inputs): a small MLP on Segment
"$PLAIN" train --data segment --steps 30 --batch-size 64 -o model.st >/dev/null 2>&1
"$PLAIN" fit --detector heat_combined "${TINY[@]}" --no-std-block --model model.st -o hc.st >/dev/null
# its two E_θ (gmm and el priors: el's proposals are N(0, I)) trained data-parallel on 2 ranks. SGLD step
# size 0 (the chains move by their noise only): the GMM fitted to this model's 100-D features is so
# ill-conditioned that its gradient turns the last-bit differences of a row's energy between GEMM row
# blocks into 4e-3 of E_θ after one epoch — measured equal in one process whose SGLD runs in two row
# blocks (docs/distributed.md) — so the step-0 run is what compares the split itself to 1e-5
HC=(fit --detector heat_combined "${TINY[@]}" --sgld-step-size 0 --no-std-block --model model.st)
"$PLAIN" "${HC[@]}" -o hc-fit.st >/dev/null
"${MPIRUN[@]}" -np 2 "$EBOOD" "${HC[@]}" -o hc-fit-np2.st >/dev/null
check "fit heat_combined np2 (gmm, el): one process's EBMs" "$PY" "$CMP" hc-fit.st hc-fit-np2.st $HEAT_TOL
"$PLAIN" score hc.st --model model.st --split ood -o hc-plain.npy >/dev/null
for n in 2 3; do
  "${MPIRUN[@]}" -np $n "$EBOOD" score hc.st --model model.st --split ood -o hc-np$n.npy >/dev/null
  same_scores "score heat_combined --model np$n" hc-plain.npy hc-np$n.npy $TOL
done

# eval --model with heat: fitted on every rank alike, the ID test and OOD scores split by rows
EV=(eval --model model.st --detectors heat,energy "${TINY[@]}" --n-synthetic 300 --json)
"$PLAIN" "${EV[@]}" >eval-plain.json
"${MPIRUN[@]}" -np 2 "$EBOOD" "${EV[@]}" >eval-np2.json
check "eval heat np2: same metrics" "$PY" - eval-plain.json eval-np2.json <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["scores"].keys() == b["scores"].keys() and "heat" in a["scores"], a["scores"].keys()
for det, r in a["scores"].items():
    for name, m in r["sets"].items():
        w = b["scores"][det]["sets"][name]
        for key, v in m.items():  # a score moved by rounding may flip a tie: 1e-4
            assert abs(v - w[key]) <= (0 if det != "heat" else 1e-4), (det, name, key, v, w[key])
PYEOF

# Hopfield Boosting on 2 ranks: the boosting step split (candidates and memories), every rank the same draws
"$PLAIN" train --data segment --steps 40 -o base.st >/dev/null 2>&1
HB=(train --data segment --objective hopfield-boost --init base.st --aux-data aux.csv --steps 0 --epochs 2
  --batch-size 128 --hb-candidates 250 --aux-batch-size 32 --json)
"${MPIRUN[@]}" -np 2 "$EBOOD" "${HB[@]}" -o hb-np2.st >hb-np2.json
check "hb np2 trains" "$PY" -c 'import json,sys; r = json.load(open(sys.argv[1])); assert r["ranks"] == 2 and r["epochs"] == 2, r' hb-np2.json
"$PLAIN" "${HB[@]}" --hb-lambda 0 -o hb0-plain.st >/dev/null
"${MPIRUN[@]}" -np 2 "$EBOOD" "${HB[@]}" --hb-lambda 0 -o hb0-np2.st >/dev/null
check "hb lambda 0 np2 = one process" "$PY" "$CMP" hb0-plain.st hb0-np2.st 2e-5

# POEM on 2 ranks mines from the common seed: the same outliers as one process (a pool of 3000 rows, more
# than an epoch's 1408 draws, and a margin --m-out 20 that keeps the outliers' loss active: with each rank
# mining from its own seed the weights moved by 2e-2). The selections are compared as sets (their stored
# order may differ where scores are within rounding).
"$PY" -c "import numpy as np; np.savetxt('aux3k.csv', np.random.default_rng(1).normal(0, 3, (3000, 18)), delimiter=',')"
PO=(train --data segment --objective poem --init base.st --aux-data aux3k.csv --steps 0 --epochs 2 --batch-size 128
  --m-in -8 --m-out 20 --json)
"$PLAIN" "${PO[@]}" -o poem-plain.st >/dev/null
"${MPIRUN[@]}" -np 2 "$EBOOD" "${PO[@]}" -o poem-np2.st >/dev/null
check "poem np2 = one process" "$PY" - "$CMP" poem-plain.st poem-np2.st <<'PYEOF'
import sys
import numpy as np
exec(open(sys.argv[1]).read().split("a, b, tol =")[0])  # load()
a, b = load(sys.argv[2]), load(sys.argv[3])
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
for k in a:
    if k == "objective.poem_selection":
        for i in range(a[k].shape[0]):
            assert a[k][i, 0] == b[k][i, 0] and set(a[k][i, 1:]) == set(b[k][i, 1:]), (k, i)
    elif a[k].size:
        d = float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) / max(1.0, float(np.max(np.abs(a[k]))))
        assert d <= 2e-5, (k, d)
PYEOF
finish
