#!/usr/bin/env bash
# A fuzzing campaign: each target of the fuzz build (make fuzz-smoke builds it) runs for SECONDS from
# a scratch copy of its committed corpus, one after another at nice 19; prints one Markdown table row
# per target (executions, edges covered, features, corpus size, crashes). Crash inputs are kept in
# OUT/<format>/ (libFuzzer's crash-*/leak-*/oom-*/timeout-* files).
# Usage: bash scripts/fuzz_campaign.sh SECONDS [OUT] [format...]
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
SECONDS_EACH="${1:?usage: fuzz_campaign.sh SECONDS [OUT] [format...]}"
OUT="${2:-build-fuzz/campaign}"
shift $(($# >= 2 ? 2 : 1))
FUZZ="$ROOT/build-fuzz/tests/fuzz"
formats=("$@")
[ ${#formats[@]} -gt 0 ] || for t in "$FUZZ"/fuzz_*; do formats+=("${t##*/fuzz_}"); done
echo "| target | seconds | executions | edges (cov) | features (ft) | corpus | crashes |"
echo "|---|---|---|---|---|---|---|"
for f in "${formats[@]}"; do
  work="$OUT/$f"
  rm -rf "$work" && mkdir -p "$work/corpus"
  dict=()
  [ -f "tests/fuzz/$f.dict" ] && dict=(-dict="$ROOT/tests/fuzz/$f.dict")
  (cd "$work" && EBOOD_THREADS=1 ASAN_OPTIONS=detect_leaks=1 nice -n 19 "$FUZZ/fuzz_$f" \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 "${dict[@]}" corpus "$ROOT/tests/fuzz/corpus/$f" >log 2>&1)
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | grep -o '[0-9]*$')
  last=$(grep -E '^#[0-9]+[[:space:]]' "$work/log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*$')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*$')
  corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*$')
  crashes=$(find "$work" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' -o -maxdepth 1 -name 'oom-*' -o -maxdepth 1 -name 'timeout-*' | wc -l)
  echo "| fuzz_$f | $SECONDS_EACH | ${execs:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes |"
done
