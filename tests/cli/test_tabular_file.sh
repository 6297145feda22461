#!/usr/bin/env bash
# A raw labelled table through `ebood train`: standardised with the train rows' statistics (stored in the
# checkpoint, applied by eval/extract/fit/score to the same file and to other files), a constant column
# dropped with a note, --val-split/--test-split reproducible, --ood-class scored as the OOD set; and each
# bad value with one line.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
META="$(cd "$(dirname "$0")" && pwd)"
cd "$WORK"

# 450 rows, 3 classes: 'a', 'b', 'c' separated by f1 (offset 5000, spread 300 per class) and f2 (scale 1e-3);
# 'const' is constant, 'noise' is noise of scale 1000: raw, the scales differ by 10^7.
/usr/bin/python3 - <<'EOF'
import random
r = random.Random(5)
with open("raw.csv", "w") as f:
    f.write("f1,const,f2,noise,kind\n")
    for i in range(450):
        k = i % 3
        f.write(f"{5000 + 300 * k + r.gauss(0, 60):.4f},7,{0.001 * k + r.gauss(0, 0.0002):.7f},"
                f"{r.gauss(0, 1000):.3f},{'abc'[k]}\n")
EOF

train() { "$E" train --data raw.csv --steps 300 --batch-size 64 --warmup 0 --seed 1 --split-seed 4 "$@"; }
train --val-split 0.2 --test-split 0.2 --ood-class c -o std.st >train.txt 2>note.txt
check train-runs test -s std.st
check constant-column-note grep -q "note: raw.csv: dropped the constant column column 2" note.txt
check val-accuracy-reported grep -q "validation accuracy" train.txt
check recipe-stored /usr/bin/python3 -c "
import sys; sys.path.insert(0, '$META'); from meta import meta; import json
m = json.loads(meta('std.st')[0]['ebood.tabular'])
assert m['columns'] == 4 and m['keep'] == [0, 2, 3] and m['ood_class'] == 'c', m
assert m['val_split'] == 0.2 and m['test_split'] == 0.2 and abs(m['mean'][0] - 5150) < 40, m"

# the same settings give the same checkpoint (seeded split); another split seed another one
train --val-split 0.2 --test-split 0.2 --ood-class c -o again.st >/dev/null 2>&1
train --val-split 0.2 --test-split 0.2 --ood-class c --split-seed 5 -o other.st >/dev/null 2>&1
check reproducible cmp -s std.st again.st
check split-seed-matters bash -c '! cmp -s std.st other.st'

# eval: the test split (0.2 of the 300 ID rows) against the held-out class, named after it
"$E" eval --model std.st --detectors energy,mahalanobis --no-synthetic --json >eval.json
check eval-split-and-ood /usr/bin/python3 -c "
import json; r = json.load(open('eval.json'))
assert r['n_id'] == 60, r['n_id']
sets = r['scores']['energy']['sets']
assert list(sets) == ['c'] and sets['c']['n'] == 150, sets
assert r['id_acc'] >= 0.9, r['id_acc']"
# another file (all its rows): the stored recipe puts it into the model's input space too
grep -v ',c$' raw.csv > ab.csv
"$E" eval --model std.st --data ab.csv --ood c=raw.csv --scores energy --no-synthetic --json >ab.json
check eval-other-file /usr/bin/python3 -c "
import json; r = json.load(open('ab.json'))
assert r['n_id'] == 300 and r['id_acc'] >= 0.9, r"

# a train/test pair of files: the test file's rows of the held-out class are its OOD set
head -n 301 raw.csv > pair_train.csv
{ head -n 1 raw.csv; tail -n 150 raw.csv; } > pair_test.csv
"$E" train --data pair_train.csv --steps 300 --batch-size 64 --warmup 0 --ood-class c -o pair.st >/dev/null 2>&1
"$E" eval --model pair.st --data pair_test.csv --detectors energy,mahalanobis --no-synthetic --json >pair.json
check eval-test-file-holds-the-class-out /usr/bin/python3 -c "
import json; r = json.load(open('pair.json'))
assert r['n_id'] == 100 and r['id_acc'] >= 0.9, r
for d in ('energy', 'mahalanobis'):
    assert list(r['scores'][d]['sets']) == ['c'] and r['scores'][d]['sets']['c']['n'] == 50, r['scores'][d]"

# extract: each split of the file
for s in train val test ood; do "$E" extract --model std.st --split $s --logits l_$s.npy; done
check extract-splits /usr/bin/python3 -c "
import numpy as np
n = {s: np.load(f'l_{s}.npy').shape for s in ('train', 'val', 'test', 'ood')}
assert n == {'train': (180, 2), 'val': (60, 2), 'test': (60, 2), 'ood': (150, 2)}, n"

# fit on the train rows (threshold on the val split), score the held-out class
"$E" fit --model std.st --detector mahalanobis -o det.json >/dev/null
"$E" score det.json --model std.st --split ood -o s_ood.npy && "$E" score det.json --model std.st -o s_id.npy
check fit-score /usr/bin/python3 -c "
import numpy as np
a, b = np.load('s_id.npy'), np.load('s_ood.npy')
assert a.shape == (60,) and b.shape == (150,) and np.median(a) > np.median(b), (a.shape, b.shape)"

# --no-standardize: the columns as they are (all four), no recipe statistics
train --no-standardize -o raw.st >/dev/null 2>&1
check no-standardize /usr/bin/python3 -c "
import sys; sys.path.insert(0, '$META'); from meta import meta; import json
m = json.loads(meta('raw.st')[0]['ebood.tabular'])
assert m['keep'] == [0, 1, 2, 3] and 'mean' not in m, m"
"$E" eval --model raw.st --scores energy --no-synthetic --ood x=ab.csv --json >raw.json
check no-split-evaluates-the-file /usr/bin/python3 -c "
import json; assert json.load(open('raw.json'))['n_id'] == 450"

# auxiliary outliers (outlier exposure from the trained model): rows of the table's four raw columns go
# through its recipe, rows of its three kept columns are z-scored; other widths are refused
/usr/bin/python3 -c "
import random; r = random.Random(2)
open('aux4.csv', 'w').write(''.join(f'{r.uniform(3000, 8000):.2f},7,{r.uniform(-0.01, 0.01):.5f},{r.gauss(0, 1000):.1f}\\n' for _ in range(64)))
open('aux3.csv', 'w').write(''.join(f'{r.uniform(3000, 8000):.2f},{r.uniform(-0.01, 0.01):.5f},{r.gauss(0, 1000):.1f}\\n' for _ in range(64)))"
oe() { train --val-split 0.2 --test-split 0.2 --ood-class c --init std.st --objective oe "$@"; }
oe --aux-data aux4.csv -o oe4.st >/dev/null 2>&1
oe --aux-data aux3.csv -o oe3.st >/dev/null 2>&1
check aux-raw-columns test -s oe4.st
check aux-kept-columns test -s oe3.st
cut -d, -f1,2 aux3.csv > aux2.csv
oe --aux-data aux2.csv -o out.st >/dev/null 2>aux2.txt
check aux-other-width bash -c "[ $? -eq 1 ] && grep -q 'aux2.csv: 1 x 1 x 2 = 2 values per sample, the model takes 3' aux2.txt && [ ! -e out.st ]"

# bad values
expect_fail val-split-range 2 "--val-split: 1.5 is out of range" -- "$E" train --data raw.csv -o out.st --val-split 1.5
expect_fail test-split-negative 2 "--test-split: -0.1 is out of range" -- "$E" train --data raw.csv -o out.st --test-split -0.1
expect_fail split-sum 2 "leaves no training rows" -- "$E" train --data raw.csv -o out.st --val-split 0.6 --test-split 0.5
expect_fail unknown-class 2 "raw.csv: no class named 'zebra' to hold out \(classes: a, b, c\)" -- "$E" train --data raw.csv -o out.st --ood-class zebra
expect_fail split-too-small 1 "too few rows" -- "$E" train --data raw.csv -o out.st --val-split 0.001
{ echo "x,y,label"; for i in $(seq 1 20); do echo "3,4,$((i % 2))"; done; } > flat.csv
expect_fail only-constant-columns 1 "flat.csv: every feature column is constant" -- "$E" train --data flat.csv -o out.st
expect_fail builtin-has-protocol 2 "--ood-class applies to a .csv/.arff file" -- "$E" train --data segment -o out.st --ood-class sky
expect_fail no-val-split 2 "--split val: a file has only its rows" -- "$E" extract --model raw.st --split val --logits out.npy
finish
