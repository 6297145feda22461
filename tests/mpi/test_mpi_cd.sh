#!/usr/bin/env bash
# Contrastive divergence's replay buffer sharded over the ranks (docs/distributed.md "Sharded replay
# buffers"): cd-s under mpirun -np 1 is bitwise the plain build; on 3 ranks the checkpoint holds the one
# whole buffer of --buffer-size chains (gathered in rank order); a checkpoint is the same format whatever
# the rank count: one process resumes a 2-rank checkpoint and 2 ranks resume a one-process checkpoint,
# and the chains not drawn after the resume keep their checkpointed values (so every chain came back to
# its place); --n-negatives below the rank count is refused in one line. Usage: test_mpi_cd.sh EBOOD_MPI
# WORK EBOOD_PLAIN
source "$(dirname "$0")/../cli/cli_lib.sh" "$@"
source "$(dirname "$0")/mpi_lib.sh" "$@"
CMP="$(cd "$(dirname "$0")" && pwd)/compare_checkpoints.py"
cd "$WORK"

# 600 chains (100 for each of Segment's 6 training classes), 16 chains a step: an epoch of 12 steps draws
# at most 192 of them
BASE=(train --data segment --objective cd-s --steps 0 --epochs 2 --batch-size 128 --sgld-steps 4 --cond-sgld-steps 4
  --buffer-size 600 --seed 4 --json)
CD=("${BASE[@]}" --n-negatives 16)
"$PLAIN" "${CD[@]}" -o plain.st >/dev/null 2>&1
"${MPIRUN[@]}" -np 1 "$EBOOD" "${CD[@]}" -o np1.st >/dev/null
check "cd-s np1 = the plain build bitwise (buffer included)" "$PY" "$CMP" plain.st np1.st 0
"${MPIRUN[@]}" -np 3 "$EBOOD" "${CD[@]}" -o np3.st >np3.json
check "cd-s np3: the checkpoint holds the whole buffer" "$PY" - np3.json np3.st <<'PYEOF'
import json, struct, sys
r = json.load(open(sys.argv[1]))
raw = open(sys.argv[2], "rb").read()
h = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
assert r["ranks"] == 3 and r["epochs"] == 2, r
assert h["objective.replay_buffer"]["shape"] == [600, 18], h["objective.replay_buffer"]
PYEOF

# unchanged NAME BEFORE.st AFTER.st RUN.json: the resumed run drew at most 16 chains a step in its epoch, so
# at least 600 − 16·steps rows of the buffer are the checkpoint's, bitwise (a buffer restored out of place
# would keep almost none)
unchanged() {
  check "$1" "$PY" - "$2" "$3" "$4" "$CMP" <<'PYEOF'
import json, sys
import numpy as np
exec(open(sys.argv[4]).read().split("a, b, tol =")[0])  # load()
r = json.load(open(sys.argv[3]))
a, b = load(sys.argv[1])["objective.replay_buffer"], load(sys.argv[2])["objective.replay_buffer"]
steps = r["steps"] // 2
same = int(np.sum(np.all(a == b, axis=1)))
print(f"  resumed={r['resumed']} ranks={r['ranks']}: {same} of {a.shape[0]} chains unchanged after {steps} steps")
assert r["resumed"] and r["epochs"] == 2 and a.shape == b.shape == (600, 18), r
assert 600 - 16 * steps <= same < 600, same
PYEOF
}
# 2 ranks stop after epoch 1, one process finishes; and one process stops, 2 ranks finish
"${MPIRUN[@]}" -np 2 "$EBOOD" "${CD[@]}" --resume --stop-after 1 -o two.st >/dev/null
cp two.st two-then-one.st
"$PLAIN" "${CD[@]}" --resume -o two-then-one.st >two-then-one.json 2>/dev/null
unchanged "cd-s: one process resumes a 2-rank checkpoint" two.st two-then-one.st two-then-one.json
"$PLAIN" "${CD[@]}" --resume --stop-after 1 -o one.st >/dev/null 2>&1
cp one.st one-then-two.st
"${MPIRUN[@]}" -np 2 "$EBOOD" "${CD[@]}" --resume -o one-then-two.st >one-then-two.json
unchanged "cd-s: 2 ranks resume a one-process checkpoint" one.st one-then-two.st one-then-two.json

# 2 negatives a step cannot be split over 3 ranks
err=$("${MPIRUN[@]}" -np 3 "$EBOOD" "${BASE[@]}" --n-negatives 2 -o refused.st 2>&1 >/dev/null)
check "cd-s np3: --n-negatives 2 refused" grep -q "n-negatives 2 cannot be split over 3 ranks" <<<"$err"
check "cd-s np3: no output after the refusal" test ! -e refused.st
finish
