#!/usr/bin/env bash
# `ebood bench ... --resume DIR`: a run stopped midway (--max-units) and resumed gives the same final JSON as
# an uninterrupted run (training times aside: they are measured, so they differ between any two runs); a
# directory grows from 1 to 2 seeds; another spec, a corrupt unit and --max-units without --resume are
# refused with one clear line.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
export EBOOD_THREADS=${EBOOD_THREADS:-1}
# the final JSON without its measured times
same_json() { diff <(grep -v '_seconds"' "$1") <(grep -v '_seconds"' "$2") > /dev/null; }
# fails_with CODE PATTERN command...: exit CODE and PATTERN on stderr (fmnist adds a note line of its own)
fails_with() {
  local code="$1" pattern="$2" rc
  shift 2
  "$@" > /dev/null 2> fails.err
  rc=$?
  [ "$rc" -eq "$code" ] && grep -qE -- "$pattern" fails.err
}

SEG=(bench segment --steps 60 --detectors energy,msp --ebm cd,ssm --ebm-steps 4 --sgld-steps 1 --n-synthetic 50)
"$E" "${SEG[@]}" --seeds 2 --json > full.json 2>/dev/null
"$E" "${SEG[@]}" --seeds 2 --json --resume whole > whole.json 2> whole.err
check segment-resume-dir-same-json same_json full.json whole.json
check segment-resume-json-quiet test ! -s whole.err
check segment-resume-units test "$(ls whole | tr '\n' ' ')" = \
  "seed2123-CD.json seed2123-CE.json seed2123-SSM.json seed2525-CD.json seed2525-CE.json seed2525-SSM.json spec.json "

# stopped after 2 units, then 2 more, then the rest; the progress lines say what was loaded and written
expect_fail segment-max-units 1 "stopped after 2 new units \(--max-units\): rerun with --resume parts" -- \
  "$E" "${SEG[@]}" --seeds 2 --json --resume parts --max-units 2
check segment-stopped-two-units test "$(ls parts | grep -c seed)" -eq 2
"$E" "${SEG[@]}" --seeds 2 --resume parts --max-units 2 > /dev/null 2> parts.err
check segment-four-units test "$(ls parts | grep -c seed)" -eq 4
check segment-progress-loaded grep -q "segment: seed2525-CE: done before, loaded from parts" parts.err
check segment-progress-written grep -q "segment: seed2123-CE: written to parts" parts.err
"$E" "${SEG[@]}" --seeds 2 --json --resume parts > parts.json 2>/dev/null
check segment-resumed-same-json same_json full.json parts.json
# the table is assembled from the directory too (nothing left to compute: the same times as parts.json)
"$E" "${SEG[@]}" --seeds 2 --resume parts > parts.txt 2>/dev/null
check segment-resumed-table grep -q "score: SSM" parts.txt

# a directory grows from one seed to two (a seed's units do not depend on the number of seeds)
"$E" "${SEG[@]}" --seeds 1 --json --resume grow > /dev/null 2>&1
"$E" "${SEG[@]}" --seeds 2 --json --resume grow > grow.json 2>/dev/null
check segment-seeds-grow same_json full.json grow.json

# another spec is refused (the first differing flag named); so is another suite's directory
expect_fail segment-other-spec 2 "parts/spec.json: recorded with other settings \(steps: 60 there, 61 now\)" -- \
  "$E" bench segment --steps 61 --detectors energy,msp --ebm cd,ssm --ebm-steps 4 --sgld-steps 1 \
  --n-synthetic 50 --resume parts --json
cp -r parts unit-spec && sed -i 's/"steps":\s*60/"steps": 59/' unit-spec/seed2525-SSM.json
expect_fail segment-unit-other-spec 2 "unit-spec/seed2525-SSM.json: recorded with other settings \(steps: 59 there, 60 now\)" -- \
  "$E" "${SEG[@]}" --resume unit-spec --json
sed -i 's/"suite":\s*"segment"/"suite": "fmnist"/' unit-spec/spec.json
expect_fail segment-other-suite 2 "unit-spec/spec.json: results of the 'fmnist' suite, not 'segment'" -- \
  "$E" "${SEG[@]}" --resume unit-spec --json

# a corrupt (truncated) unit, a unit without its report
cp -r parts corrupt && head -c 200 parts/seed2123-CD.json > corrupt/seed2123-CD.json
expect_fail segment-corrupt-unit 1 "corrupt/seed2123-CD.json: not a JSON object \(truncated or corrupt\?\): delete it" -- \
  "$E" "${SEG[@]}" --seeds 2 --resume corrupt --json
cp -r parts noreport && "$PY" - noreport/seed2525-CD.json <<'PYEOF'
import json, sys
o = json.load(open(sys.argv[1])); del o["report"]; json.dump(o, open(sys.argv[1], "w"))
PYEOF
expect_fail segment-unit-no-report 1 "noreport/seed2525-CD.json: malformed unit" -- "$E" "${SEG[@]}" --resume noreport --json
expect_fail segment-max-units-alone 2 "--max-units needs --resume DIR" -- "$E" "${SEG[@]}" --max-units 1

# fmnist on tiny 16×16 files (a unit is one seed): stopped after seed 0, resumed
mkdir -p tiny && (cd tiny && "$PY" "$(dirname "$0")/make_tiny_images.py")
FM=(bench fmnist --epochs 1 --batch-size 8 --detectors energy,msp --ebm ssm --ebm-steps 3 --n-synthetic 20 --seeds 2)
export EBOOD_DATA="$WORK/tiny/data"
"$E" "${FM[@]}" --json > fm-full.json 2>/dev/null
check fmnist-max-units fails_with 1 "stopped after 1 new units" "$E" "${FM[@]}" --json --resume fm --max-units 1
check fmnist-one-unit test "$(ls fm | tr '\n' ' ')" = "seed0.json spec.json "
"$E" "${FM[@]}" --json --resume fm > fm-resumed.json 2>/dev/null
check fmnist-resumed-same-json same_json fm-full.json fm-resumed.json
check fmnist-other-spec fails_with 2 "fm/spec.json: recorded with other settings \(epochs: 1 there, 2 now\)" \
  "$E" bench fmnist --epochs 2 --batch-size 8 --detectors energy,msp --ebm ssm --ebm-steps 3 --n-synthetic 20 \
  --resume fm
check fmnist-segment-dir fails_with 2 "parts/spec.json: results of the 'segment' suite, not 'fmnist'" \
  "$E" "${FM[@]}" --resume parts
unset EBOOD_DATA
# outliers and hamos (a unit is one seed, as fmnist) need the real data and minutes on a loaded machine:
# with EBOOD_SLOW_TESTS=1 a tiny two-seed run of each is stopped after seed 0 and resumed.
if [ "${EBOOD_SLOW_TESTS:-0}" = 1 ]; then
  OL=(bench outliers --methods oe --ood none --n-train 300 --n-eval 100 --epochs 1 --ft-epochs 1 --ft-n-train 128
      --n-synthetic 20 --seeds 2)
  HM=(bench hamos --n-train 200 --pretrain-epochs 1 --epochs 1 --n-eval 50 --n-synthetic 20 --rows ce-knn,cider,hmc
      --seeds 2)
  for suite in OL HM; do
    declare -n args=$suite
    "$E" "${args[@]}" --json > "$suite-full.json" 2>/dev/null
    check "$suite-max-units" fails_with 1 "stopped after 1 new units" "$E" "${args[@]}" --json --resume "$suite" \
      --max-units 1
    "$E" "${args[@]}" --json --resume "$suite" > "$suite-resumed.json" 2>/dev/null
    check "$suite-resumed-same-json" diff <(grep -vE 'seconds"|synthesis_ms"' "$suite-full.json") \
      <(grep -vE 'seconds"|synthesis_ms"' "$suite-resumed.json")
  done
fi
# outliers and hamos take the same flags
expect_fail outliers-max-units-alone 2 "--max-units needs --resume DIR" -- "$E" bench outliers --max-units 2
expect_fail hamos-max-units-alone 2 "--max-units needs --resume DIR" -- "$E" bench hamos --max-units 2
expect_fail hamos-max-units-range 2 "--max-units" -- "$E" bench hamos --resume x --max-units 0
finish
