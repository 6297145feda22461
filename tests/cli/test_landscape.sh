#!/usr/bin/env bash
# ebood landscape end to end: a tiny model trained on HEAT's toy cross, its log-density as PNG, SVG,
# NPY and CSV (with the training points drawn over the pictures), and bad input: one line, non-zero exit,
# no output file.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"

"$E" train --data toy:cross --steps 50 --warmup 0 --batch-size 256 -o model.st >train.log 2>&1
check train-toy-cross test -s model.st

"$E" landscape --model model.st -o land.png --grid 40 --data toy:cross >png.log 2>&1
check png-written test -s land.png
check png-signature bash -c "head -c 8 land.png | od -An -tx1 | tr -d ' \n' | grep -qx 89504e470d0a1a0a"
check png-ihdr bash -c "head -c 16 land.png | tail -c 4 | grep -q IHDR"
check png-summary grep -q "40 x 40 grid over \[-3, 3\] x \[-3, 3\]" png.log

"$E" landscape --model model.st -o land.svg --grid 30 --data toy:cross --mode energy --title 'cross <energy>' >/dev/null 2>&1
check svg-written test -s land.svg
check svg-closed bash -c "tail -n 1 land.svg | grep -qx '</svg>'"
check svg-has-points bash -c "[ \$(grep -c '<circle' land.svg) -gt 1000 ]"
check svg-title-escaped grep -q 'cross &lt;energy&gt;' land.svg
if command -v xmllint >/dev/null; then check svg-well-formed xmllint --noout land.svg; fi

"$E" landscape --model model.st -o land.npy --grid 25 --range -1,2,-0.5,0.5 >/dev/null 2>&1
check npy-written test -s land.npy
check npy-shape bash -c "head -c 128 land.npy | grep -aq \"'shape': (25, 25)\""

"$E" landscape --model model.st -o land.csv --grid 10 --range 0,9,0,9 >/dev/null 2>&1
check csv-rows bash -c "[ \$(wc -l < land.csv) -eq 101 ]"
check csv-first-point bash -c "sed -n 2p land.csv | grep -q '^0,0,'"
check csv-last-point bash -c "tail -n 1 land.csv | grep -q '^9,9,'"

"$E" landscape --model model.st -o land2.png --grid 20 --json >json.out 2>/dev/null
check json-summary grep -q '"f_max"' json.out

# --- Hopfield Boosting's border energy of two point sets (000 Fig. 6): before and after steps on the points
"$E" landscape --border toy -o border.png --before border0.png --grid 40 --steps 25 --json >border.json 2>/dev/null
check border-pictures bash -c "test -s border.png && test -s border0.png && ! cmp -s border.png border0.png"
check border-loss-falls /usr/bin/python3 -c "import json; r = json.load(open('border.json')); assert r['n_id'] == 60 and r['n_aux'] == 60 and r['loss_after'] < r['loss_before'], r"
printf 'x,y,set\n-1,0,0\n1,0,1\n' >two.csv
"$E" landscape --border two.csv -o border.csv --grid 3 --range -1,1,-1,1 --steps 0 >/dev/null 2>&1
check border-midpoint /usr/bin/python3 -c "import math; rows = [l.split(',') for l in open('border.csv').read().split()[1:]]; v = {(float(x), float(y)): float(f) for x, y, f in rows}; assert abs(v[(0, 0)] + 2 * math.log(2)) < 1e-5 and v[(-1, 0)] < v[(0, 0)], v"
"$E" landscape --border toy -o border.svg --grid 30 --steps 5 >/dev/null 2>&1
check border-svg-two-colours bash -c "grep -q '#e4572e' border.svg && grep -q '#2962ff' border.svg"
expect_fail border-and-model 2 "give one of --model, --detector, --border" -- "$E" landscape --model model.st --border toy -o out.png
expect_fail border-steps-without 2 "--steps is read only with --border" -- "$E" landscape --model model.st --steps 3 -o out.png
expect_fail border-data 2 "--data is read only with --model" -- "$E" landscape --border toy --data toy:cross -o out.png
printf 'x,y,set\n-1,0,0\n1,0,1\n2,2,2\n' >three-sets.csv
expect_fail border-three-sets 1 "need rows x,y,set with 2 features and 2 sets" -- "$E" landscape --border three-sets.csv -o out.png
expect_fail border-missing 1 "nope.csv" -- "$E" landscape --border nope.csv -o out.png
expect_fail border-before-ext 2 "b.jpg: unknown extension" -- "$E" landscape --border toy --before b.jpg -o out.png

# --- bad input
{ echo "a,b,c,label"; for i in $(seq 1 40); do echo "$((i % 7)).5,$((i % 3)),-$((i % 5)).25,$((i % 2))"; done; } > three.csv
"$E" train --data three.csv --steps 5 --batch-size 8 --warmup 0 -o model3.st >/dev/null 2>&1
expect_fail input-dim-not-2 1 "model3.st: the model takes 3 features, a landscape needs 2" -- "$E" landscape --model model3.st -o out.png
expect_fail bad-range-order 2 "--range: expected xmin,xmax,ymin,ymax" -- "$E" landscape --model model.st -o out.png --range 1,0,0,1
expect_fail bad-range-text 2 "--range: expected" -- "$E" landscape --model model.st -o out.png --range a,b,c,d
expect_fail bad-range-count 2 "--range: expected" -- "$E" landscape --model model.st -o out.png --range 0,1,0
expect_fail bad-range-nan 2 "--range: expected" -- "$E" landscape --model model.st -o out.png --range 0,nan,0,1
expect_fail unknown-extension 2 "out.jpg: unknown extension" -- "$E" landscape --model model.st -o out.jpg
expect_fail no-extension 2 "unknown extension" -- "$E" landscape --model model.st -o out
expect_fail grid-too-small 2 "--grid: 1 is out of range" -- "$E" landscape --model model.st -o out.png --grid 1
expect_fail bad-mode 2 "unknown landscape mode 'heat'" -- "$E" landscape --model model.st -o out.png --mode heat
expect_fail vmin-above-vmax 2 "--vmin" -- "$E" landscape --model model.st -o out.png --vmin 2 --vmax 1
expect_fail missing-model 1 "nothere.st" -- "$E" landscape --model nothere.st -o out.png
expect_fail missing-output 2 "--output is required" -- "$E" landscape --model model.st
expect_fail overlay-not-2d 1 "three.csv has 3 features, a landscape needs 2" -- "$E" landscape --model model.st -o out.svg --data three.csv
expect_fail unknown-toy 2 "unknown toy dataset" -- "$E" landscape --model model.st -o out.svg --data toy:moons
expect_fail picture-too-large 2 "too large" -- "$E" landscape --model model.st -o out.png --grid 2048 --scale 64
expect_fail output-dir-missing 1 "no/such/dir/out.png" -- "$E" landscape --model model.st -o "$WORK/no/such/dir/out.png" --grid 4
finish
