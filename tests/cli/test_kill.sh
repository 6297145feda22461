#!/usr/bin/env bash
# Crash safety (issue 17, item 4): `ebood train` and `ebood fit` are killed with SIGKILL at random
# moments while an older valid output exists. After every kill the output must load (the old file or a
# complete new one); a killed writer's "<out>.tmp.<pid>" may remain until the next write of that path,
# which removes it; `train --resume` after the kills ends with exactly the model of an uninterrupted run.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
KILLS="${EBOOD_KILLS:-15}"
RANDOM=17 # reproducible kill times

{ echo "a,b,c,d,label"; for i in $(seq 1 600); do
  echo "$((i % 7)).5,$((i % 3)),-$((i % 5)).25,$((i % 11)),$((i % 3))"; done; } > d.csv
TRAIN=(train --data d.csv --widths 32,32 --steps 0 --epochs 40 --checkpoint-every 1 --batch-size 8 --seed 3)

# the uninterrupted reference
"$E" "${TRAIN[@]}" -o ref.st >/dev/null 2>&1
"$E" extract --model ref.st --data d.csv --logits ref.npy >/dev/null 2>&1
check reference-trained test -s ref.npy

loads() { "$E" extract --model "$1" --data d.csv --logits probe.npy >/dev/null 2>&1; }
# kill_at CMD...: runs the command in the background and SIGKILLs it after a random 0–1.2 s
kill_at() {
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$((RANDOM % 2)).$((RANDOM % 10))$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

# --- train: an older checkpoint (1 epoch) exists; each run resumes it and is killed
"$E" "${TRAIN[@]}" --stop-after 1 -o out.st >/dev/null 2>&1
bad=0 torn=0
for k in $(seq 1 "$KILLS"); do
  kill_at "$E" "${TRAIN[@]}" --resume -o out.st
  loads out.st || { echo "kill $k: out.st does not load"; bad=$((bad + 1)); }
  compgen -G "out.st.tmp.*" >/dev/null && torn=$((torn + 1))
done
echo "     ($torn of $KILLS kills of train came inside a checkpoint write)"
check train-old-file-always-loads test "$bad" -eq 0
"$E" "${TRAIN[@]}" --resume -o out.st >/dev/null 2>&1
check train-no-temporary-left-after-next-run test -z "$(ls out.st.tmp.* 2>/dev/null)"
"$E" extract --model out.st --data d.csv --logits resumed.npy >/dev/null 2>&1
check resume-after-kills-continues-exactly cmp -s ref.npy resumed.npy

# --- fit: an older detector exists; each fit of a new one over it is killed
"$E" extract --model ref.st --data d.csv --features f.npy --labels y.npy >/dev/null 2>&1
"$E" fit --detector knn --k 5 --features f.npy -o det.st >/dev/null 2>&1
bad=0
for k in $(seq 1 "$KILLS"); do
  kill_at "$E" fit --detector mahalanobis --features f.npy --labels y.npy -o det.st
  "$E" score det.st --features f.npy -o scores.npy >/dev/null 2>&1 || {
    echo "kill $k: det.st does not load"; bad=$((bad + 1)); }
done
check fit-old-file-always-loads test "$bad" -eq 0
"$E" fit --detector mahalanobis --features f.npy --labels y.npy -o det.st >/dev/null 2>&1
check fit-no-temporary-left-after-next-run test -z "$(ls det.st.tmp.* 2>/dev/null)"
finish
