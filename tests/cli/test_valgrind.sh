#!/usr/bin/env bash
# valgrind (issue 17, item 6): the CLI's main paths — train 10 steps, fit (from the model and from
# feature files), score, eval (model and score files) and a report — run under memcheck with
# --error-exitcode=1: no invalid read or write, no use of uninitialised memory, no definite leak.
# Small tabular data (a CSV this test writes), one thread, so it takes well under a minute. Skipped
# (exit 0 with a note) without valgrind and in the sanitizer build (ASan and valgrind do not mix).
source "$(dirname "$0")/cli_lib.sh" "$@"
if ! command -v valgrind >/dev/null; then echo "skip: valgrind not installed (make deps)"; exit 0; fi
if [ -n "${EBOOD_SANITIZED:-}" ]; then echo "skip: sanitizer build"; exit 0; fi
cd "$WORK"
# OMP_WAIT_POLICY set: ebood does not re-execute itself (src/cli/main.c), which would leave memcheck
export EBOOD_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE

{ echo "a,b,c,d,label"; for i in $(seq 1 120); do
  echo "$((i % 7)).5,$((i % 3)),-$((i % 5)).25,$((i % 11)),$((i % 3))"; done; } > d.csv
{ echo "a,b,c,d,label"; for i in $(seq 1 30); do echo "$((i * 3)),-$((i % 4)),$((i % 2)).5,9,0"; done; } > ood.csv

# vg NAME -- ebood ARGS...: the command must exit 0 under memcheck (exit 99 = a memcheck error).
vg() {
  local name="$1"
  shift 2
  if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       --show-leak-kinds=definite --track-origins=yes "$EBOOD" "$@" >"vg-$name.out" 2>"vg-$name.log"; then
    echo "ok   $name"; PASSED=$((PASSED + 1))
  else
    echo "FAIL $name (exit $?):"; tail -n 40 "vg-$name.log"; FAILED=$((FAILED + 1))
  fi
}

vg train -- train --data d.csv --widths 16,16 --steps 10 --batch-size 16 --seed 1 -o m.st
vg fit-model -- fit --detector mahalanobis --model m.st --data d.csv -o maha.st
vg extract -- extract --model m.st --data d.csv --features f.npy --logits g.npy --labels y.npy
vg fit-features -- fit --detector knn --k 5 --features f.npy --val-features f.npy -o knn.st
vg score-model -- score maha.st --model m.st --data ood.csv -o s_ood.npy
vg score-features -- score knn.st --features f.npy -o s_id.npy --predictions p.npy
vg eval-model -- eval --model m.st --data d.csv --ood far=ood.csv --detectors energy,mahalanobis,knn --k 5 \
  --n-synthetic 50 --json -o e.json
vg eval-scores -- eval --id s_id.npy --ood far=s_ood.npy --json
vg report -- report --id s_id.npy --ood far=s_ood.npy -o r.html
finish
