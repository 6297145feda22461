#!/usr/bin/env bash
# Scaling evidence of the MPI build (issue 18, docs/distributed.md "Scaling"): one JSON line per run into
# --out, then a model extrapolating data-parallel training to N nodes. Benchmarks are programs, not tests
# (DESIGN.md §4): time it on a quiet machine; `--tiny` only checks that every step runs (seconds).
#   1. training, strong scaling (fixed global batch) and weak scaling (global batch ∝ ranks), of an MLP on
#      Segment and of small_cnn on Fashion-MNIST (tiny: CIFAR-shaped images of tests/cli/make_tiny_images.py),
#      with 1, 2, 4 ranks: seconds per optimizer step from `ebood train --json` (the loop only, not the
#      loading); each rank gets max(1, cores / ranks) threads — beyond the cores ranks are oversubscribed
#      (4 ranks on this 2-core machine: say so when quoting);
#   2. sharded k-NN scoring (`ebood score` of a knn detector over a random bank), strong scaling: wall
#      seconds of the whole command (MPI start-up and loading included);
#   3. the allreduce of ResNet-18's 11.2 M floats (perf_allreduce, one per training step) per rank count,
#      and one ResNet-18 training step's compute at batch 128 on this machine (perf_cnn);
#   4. the model: per step T(N) = T_c + T_ar(N), T_ar(N) = 2·(N−1)/N·S/B + 2·(N−1)·α (a ring allreduce of
#      S bytes over links of bandwidth B and latency α; our backward is synchronous, so nothing overlaps),
#      weak-scaling efficiency T_c / T(N) and speed-up N·T_c / T(N), at 10 and 100 Gbit/s.
# Usage: perf/scaling.sh [--build build-mpi] [--ranks "1 2 4"] [--out scaling.jsonl] [--tiny]
#                        [--step-seconds T_c]   (the model's compute per step; default: the measured one)
set -euo pipefail
BUILD=build-mpi
RANKS="1 2 4"
OUT=scaling.jsonl
TINY=0
STEP_SECONDS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --ranks) RANKS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --tiny) TINY=1; shift ;;
    --step-seconds) STEP_SECONDS="$2"; shift 2 ;;
    *) echo "perf/scaling.sh: unknown argument '$1' (--build DIR --ranks LIST --out FILE --tiny --step-seconds T)" >&2; exit 2 ;;
  esac
done
HERE="$(cd "$(dirname "$0")" && pwd)"
E="$BUILD/ebood"
for f in "$E" "$BUILD/perf/perf_allreduce" "$BUILD/perf/perf_cnn"; do
  [ -x "$f" ] || { echo "perf/scaling.sh: $f missing: build it with make mpi" >&2; exit 2; }
done
"$E" info | grep -q "MPI: " || { echo "perf/scaling.sh: $E was built without MPI (make mpi)" >&2; exit 2; }
E="$(cd "$(dirname "$E")" && pwd)/ebood"
PERF="$(cd "$BUILD/perf" && pwd)"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
: >"$OUT"
PY=/usr/bin/python3
CORES=$(nproc)
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
threads() { local t=$((CORES / $1)); echo $((t > 0 ? t : 1)); }

if [ $TINY = 1 ]; then
  MLP_STEPS=3; MLP_BATCH=64; CNN_STEPS=2; CNN_BATCH=8; CNN_DATA=(--data cifar10:c10)
  BANK=2000; QUERIES=100; DIM=32; FLOATS=100000; REPS=3; RESNET=(--batch 4 --iters 1 --windows 1 --warmup 0)
  "$PY" "$HERE/../tests/cli/make_tiny_images.py" >/dev/null
else
  MLP_STEPS=200; MLP_BATCH=512; CNN_STEPS=20; CNN_BATCH=128; CNN_DATA=(--data fmnist)
  BANK=200000; QUERIES=10000; DIM=128; FLOATS=11200000; REPS=20; RESNET=(--batch 128 --iters 3 --windows 3 --warmup 1)
fi

# train NAME SCALING N BATCH STEPS ARGS...: one JSON line of seconds per step
train() {
  local name=$1 scaling=$2 n=$3 batch=$4 steps=$5
  shift 5
  local t
  t=$(threads "$n")
  "${MPIRUN[@]}" -np "$n" -x EBOOD_THREADS="$t" "$E" train "$@" --steps "$steps" --batch-size "$batch" \
    --warmup 0 --json -o m.st 2>/dev/null >train.json
  "$PY" - "$name" "$scaling" "$n" "$t" "$batch" >>"$OUT" <<'PYEOF'
import json, sys
r = json.load(open("train.json"))
name, scaling, n, t, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
assert r["ranks"] == n, r
s = r["seconds"] / r["steps"]
print(json.dumps({"bench": "train", "model": name, "scaling": scaling, "ranks": n, "threads_per_rank": t,
                  "global_batch": batch, "steps": r["steps"], "s_per_step": s, "samples_per_s": batch / s}))
PYEOF
}

for n in $RANKS; do
  train mlp strong "$n" "$MLP_BATCH" "$MLP_STEPS" --data segment
  train mlp weak "$n" $((MLP_BATCH * n)) "$MLP_STEPS" --data segment
  train small_cnn strong "$n" "$CNN_BATCH" "$CNN_STEPS" "${CNN_DATA[@]}" --model small_cnn
  train small_cnn weak "$n" $((CNN_BATCH * n)) "$CNN_STEPS" "${CNN_DATA[@]}" --model small_cnn
done

# k-NN scoring: the bank split across the ranks (each scans 1/N of it; exact top-k merge)
"$PY" -c "
import numpy as np
r = np.random.default_rng(0)
np.save('bank.npy', r.normal(0, 1, ($BANK, $DIM)).astype(np.float32))
np.save('q.npy', r.normal(0, 1, ($QUERIES, $DIM)).astype(np.float32))"
"$E" fit --detector knn --k 50 --features bank.npy -o bank.st >/dev/null
for n in $RANKS; do
  t=$(threads "$n")
  t0=$EPOCHREALTIME
  "${MPIRUN[@]}" -np "$n" -x EBOOD_THREADS="$t" "$E" score bank.st --features q.npy -o s.npy >/dev/null
  t1=$EPOCHREALTIME
  "$PY" -c "import json; print(json.dumps({'bench': 'knn_score', 'ranks': $n, 'threads_per_rank': $t, 'bank': $BANK,
    'dim': $DIM, 'queries': $QUERIES, 'wall_s': $t1 - $t0}))" >>"$OUT"
done

# the allreduce per step of ResNet-18's parameters, and its compute per step here
for n in $RANKS; do
  "${MPIRUN[@]}" -np "$n" "$PERF/perf_allreduce" --floats "$FLOATS" --reps "$REPS" >>"$OUT"
done
EBOOD_THREADS=$CORES "$PERF/perf_cnn" --model resnet18 --mode train "${RESNET[@]}" | tail -n 1 >>"$OUT"

# the model
"$PY" - "$OUT" "$STEP_SECONDS" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
def find(**kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]
print("| training | scaling | ranks | global batch | s/step | samples/s |")
print("|---|---|---|---|---|---|")
for r in find(bench="train"):
    print(f"| {r['model']} | {r['scaling']} | {r['ranks']} | {r['global_batch']} | {r['s_per_step']:.4g} | {r['samples_per_s']:.4g} |")
print("\n| k-NN scoring | ranks | bank | queries | wall s |\n|---|---|---|---|---|")
for r in find(bench="knn_score"):
    print(f"| knn k=50 | {r['ranks']} | {r['bank']}x{r['dim']} | {r['queries']} | {r['wall_s']:.3g} |")
print("\n| allreduce | ranks | floats | median s | bus Gbit/s |\n|---|---|---|---|---|")
for r in find(bench="allreduce"):
    print(f"| loopback | {r['ranks']} | {r['floats']} | {r['median_s']:.4g} | {r['bus_gbit_s']:.4g} |")
cnn = find(model="resnet18", mode="train")
if sys.argv[2]:
    t_c, src = float(sys.argv[2]), "given (--step-seconds)"
else:
    t_c, src = cnn[0]["batch"] / cnn[0]["samples_per_s"], f"measured here: resnet18, batch {cnn[0]['batch']}"
S = 4.0 * 11.2e6  # bytes of ResNet-18's gradient
print(f"\nModel: T_c = {t_c:.4g} s per step ({src}); S = {S / 1e6:.1f} MB; ring allreduce, no overlap.")
print("| nodes N | T_ar 10 Gbit/s (α 20 µs) | efficiency | speed-up | T_ar 100 Gbit/s (α 5 µs) | efficiency | speed-up |")
print("|---|---|---|---|---|---|---|")
for n in (1, 2, 4, 8, 16, 32, 64, 128):
    cells = []
    for bw, alpha in ((10e9 / 8, 20e-6), (100e9 / 8, 5e-6)):
        t_ar = 2 * (n - 1) / n * S / bw + 2 * (n - 1) * alpha
        eff = t_c / (t_c + t_ar)
        cells += [f"{t_ar * 1e3:.1f} ms", f"{eff:.2f}", f"{n * eff:.1f}"]
    print(f"| {n} | " + " | ".join(cells) + " |")
PYEOF
echo "perf/scaling.sh: results in $OUT" >&2
