#!/usr/bin/env bash
# Data-parallel `ebood train` under mpirun on loopback (docs/distributed.md): -np 1 is bitwise the plain
# build; -np 2 and -np 3 give the one-process weights up to float reassociation after 50 steps (ce on
# Segment; oe with auxiliary outliers split in the ID batch's proportions); --json says the ranks;
# --resume of a stopped 2-rank run equals the uninterrupted one; BatchNorm models (small_cnn) train on
# 2 ranks; a build without MPI refuses to run on 2 ranks. Usage: test_mpi_train.sh EBOOD_MPI WORK [EBOOD_PLAIN]
source "$(dirname "$0")/../cli/cli_lib.sh" "$@"
PLAIN="${3:-}"
PY=/usr/bin/python3
CMP="$(dirname "$0")/compare_checkpoints.py"
cd "$WORK"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,tcp)
TOL=2e-5 # docs/distributed.md: max |Δw| / max(1, max |w|) per tensor after 50 Adam steps (measured ≤ 4e-6)
CE=(train --data segment --steps 50 --batch-size 12 --warmup 0 --seed 3 --json)

# one process: the plain build, this build without mpirun, this build under mpirun -np 1
if [ -x "$PLAIN" ]; then
  "$PLAIN" "${CE[@]}" -o plain.st >/dev/null 2>&1
  check plain-build-trains test -s plain.st
else
  echo "FAIL no plain build given ($PLAIN): make mpi-check builds it"; FAILED=$((FAILED + 1))
fi
"$EBOOD" "${CE[@]}" -o single.st >/dev/null
"${MPIRUN[@]}" -np 1 "$EBOOD" "${CE[@]}" -o np1.st >np1.json
check np1-bitwise-plain "$PY" "$CMP" plain.st np1.st 0
check single-bitwise-plain "$PY" "$CMP" plain.st single.st 0
check np1-json-ranks "$PY" -c 'import json,sys; assert json.load(open(sys.argv[1]))["ranks"] == 1' np1.json

for n in 2 3; do
  "${MPIRUN[@]}" -np $n "$EBOOD" "${CE[@]}" -o np$n.st >np$n.json
  check "np$n-json-ranks" "$PY" -c 'import json,sys; r = json.load(open(sys.argv[1])); assert r["ranks"] == int(sys.argv[2]), r' np$n.json $n
  check "np$n-equals-one-process" "$PY" "$CMP" single.st np$n.st $TOL
  check "np$n-loss-is-global" "$PY" - np1.json np$n.json <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert abs(a["final_loss"] - b["final_loss"]) < 1e-4 and abs(a["train_acc"] - b["train_acc"]) < 1e-9, (a, b)
PYEOF
done

# auxiliary outliers (oe): 12 ID + 24 aux rows a step split alike over 2 and 3 ranks
"$PY" -c "import numpy as np; np.savetxt('aux.csv', np.random.default_rng(0).normal(0, 40, (300, 18)), delimiter=',')"
OE=(train --data segment --objective oe --init single.st --aux-data aux.csv --aux-batch-size 24 --steps 50
  --batch-size 12 --json)
"$EBOOD" "${OE[@]}" -o oe1.st >/dev/null
for n in 2 3; do
  "${MPIRUN[@]}" -np $n "$EBOOD" "${OE[@]}" -o oe$n.st >/dev/null
  check "oe-np$n-equals-one-process" "$PY" "$CMP" oe1.st oe$n.st $TOL
done

# --resume: 2 epochs of 2 ranks in one go, or 1 epoch, stop, and resume
EP=(train --data segment --steps 0 --epochs 2 --batch-size 256 --warmup 0 --json)
"${MPIRUN[@]}" -np 2 "$EBOOD" "${EP[@]}" -o whole.st >/dev/null
"${MPIRUN[@]}" -np 2 "$EBOOD" "${EP[@]}" -o parts.st --resume --stop-after 1 >/dev/null
"${MPIRUN[@]}" -np 2 "$EBOOD" "${EP[@]}" -o parts.st --resume >resumed.json
check resume-np2-resumed "$PY" -c 'import json,sys; r = json.load(open(sys.argv[1])); assert r["resumed"] and r["ranks"] == 2, r' resumed.json
check resume-np2-equals-whole "$PY" "$CMP" whole.st parts.st 0
check no-temporary-files bash -c '! ls *.tmp* 2>/dev/null'

# BatchNorm statistics per rank (small_cnn on tiny CIFAR-10 images, keeping the last batch of 4 rows)
"$PY" "$(dirname "$0")/../cli/make_tiny_images.py"
"${MPIRUN[@]}" -np 3 "$EBOOD" train --data cifar10:c10 --model small_cnn --epochs 1 --steps 0 --batch-size 14 \
  --keep-last-batch --json -o cnn.st >cnn.json
check cnn-np3 "$PY" -c 'import json,sys; r = json.load(open(sys.argv[1])); assert r["ranks"] == 3 and r["steps"] == 4, r' cnn.json

# a build without MPI cannot take part in a 2-rank job: every rank says so and fails
if [ -x "$PLAIN" ]; then
  err=$("${MPIRUN[@]}" -np 2 "$PLAIN" "${CE[@]}" -o out-plain.st 2>&1 >/dev/null)
  rc=$?
  check plain-refuses-2-ranks test "$rc" -ne 0
  check plain-refuses-message grep -q "built without MPI" <<<"$err"
  check plain-refuses-no-output test ! -e out-plain.st
fi
finish
