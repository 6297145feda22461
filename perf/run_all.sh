#!/usr/bin/env bash
# Side-by-side benchmarks (`make bench`): builds perf_mlp and perf_ebm and runs the ebood-vs-PyTorch
# MLP comparison (perf/compare_mlp.py), then the EBM-training one (perf/compare_ebm.py; results and
# how to read them: perf/RESULTS.md).
#   bash perf/run_all.sh [compare_mlp.py options, e.g. --rounds 9 --json /tmp/mlp.json]
#   EBM_ARGS="--rounds 5 --json /tmp/ebm.json" bash perf/run_all.sh   (compare_ebm.py options)
# BUILD selects the CMake build directory (default: build, as the Makefile).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD:-build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" >&2
fi
cmake --build "$build" -j "$(nproc)" --target perf_mlp perf_ebm >&2
cmake --build "$build" -j "$(nproc)" --target ebood >/dev/null 2>&1 || echo "run_all: the ebood CLI did not build; skipping ebood info" >&2
echo "== MLP training/inference throughput, ebood vs PyTorch (tuned), $(date -u '+%Y-%m-%d %H:%M UTC')" >&2
"$build/ebood" info >&2 || true
/usr/bin/python3 "$root/perf/compare_mlp.py" --bench "$build/perf/perf_mlp" "$@"
echo "== EBM training throughput (CD on Segment, HEAT), ebood vs PyTorch (tuned), $(date -u '+%Y-%m-%d %H:%M UTC')" >&2
# shellcheck disable=SC2086 # EBM_ARGS is a list of options
exec /usr/bin/python3 "$root/perf/compare_ebm.py" --bench "$build/perf/perf_ebm" ${EBM_ARGS:-}
