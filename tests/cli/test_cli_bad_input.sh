#!/usr/bin/env bash
# Bad input to the CLI: one clear line naming the flag or file, a non-zero exit, no crash, no output left.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"

# a small valid labelled CSV: 3 features, 2 classes
{ echo "a,b,c,label"; for i in $(seq 1 40); do echo "$((i % 7)).5,$((i % 3)),-$((i % 5)).25,$((i % 2))"; done; } > good.csv

# --- flags and values
expect_fail unknown-command 2 "unknown command 'frobnicate'" -- "$E" frobnicate
expect_fail unknown-flag 2 "unknown flag '--bogus'" -- "$E" train --data good.csv -o out.st --bogus 1
expect_fail unknown-short-flag 2 "unknown flag '-x'" -- "$E" train --data good.csv -x out.st
expect_fail missing-data 2 "--data is required" -- "$E" train -o out.st
expect_fail missing-value 2 "--lr needs a value" -- "$E" train --data good.csv -o out.st --lr
expect_fail not-a-number 2 "--steps: expected an integer, got 'abc'" -- "$E" train --data good.csv -o out.st --steps abc
expect_fail out-of-range-batch 2 "--batch-size: 0 is out of range" -- "$E" train --data good.csv -o out.st --batch-size 0
expect_fail negative-lr 2 "--lr: -1 is out of range" -- "$E" train --data good.csv -o out.st --lr -1
expect_fail nan-lr 2 "--lr: expected a finite number, got 'nan'" -- "$E" train --data good.csv -o out.st --lr nan
expect_fail flag-twice 2 "--seed given twice" -- "$E" train --data good.csv -o out.st --seed 1 --seed 2
expect_fail bad-widths 2 "--widths: expected" -- "$E" train --data good.csv -o out.st --widths 10,,10
expect_fail bad-activation 2 "unknown activation 'relu6'" -- "$E" train --data good.csv -o out.st --activation relu6
expect_fail bad-optimizer 2 "rmsprop" -- "$E" train --data good.csv -o out.st --optimizer rmsprop
expect_fail bad-threads 2 "EBOOD_THREADS" -- env EBOOD_THREADS=many "$E" info
expect_fail bench-unknown-suite 2 "unknown suite 'cifar99'" -- "$E" bench cifar99
expect_fail bench-seeds-range 2 "--seeds: 0 is out of range" -- "$E" bench segment --seeds 0
expect_fail eval-bad-scores 2 "--scores" -- "$E" eval --model x.st --scores msp,odin
expect_fail eval-bad-ood-spec 2 "expected NAME=FILE" -- "$E" eval --model x.st --ood justafile.csv

# --- files
expect_fail missing-file 1 "nonexistent.csv: cannot open" -- "$E" train --data "$WORK/nonexistent.csv" -o out.st
expect_fail unknown-data 2 "neither a built-in dataset" -- "$E" train --data mystery -o out.st
printf 'a,b,label\n1,2,0\n3,4\n' > ragged.csv
expect_fail ragged-csv 1 "ragged.csv" -- "$E" train --data ragged.csv -o out.st
printf 'a,b,label\n1,2,0\nnan,4,1\n' > nan.csv
expect_fail nan-csv 1 "nan.csv" -- "$E" train --data nan.csv -o out.st
printf '@relation r\n@attribute x numeric\n@attribute y weird\n@data\n1,2\n' > badtype.arff
expect_fail arff-unknown-type 1 "badtype.arff" -- "$E" train --data badtype.arff -o out.st
printf '@relation r\n@attribute x numeric\n@attribute class {a,b}\n@data\n1,a\n2,c\n' > badvalue.arff
expect_fail arff-bad-nominal 1 "badvalue.arff" -- "$E" train --data badvalue.arff -o out.st
printf '@relation r\n@attribute x numeric\n@attribute class {a,b}\n' > nodata.arff
expect_fail arff-truncated 1 "nodata.arff" -- "$E" train --data nodata.arff -o out.st
expect_fail output-dir-missing 1 "no/such/dir/out.st" -- "$E" train --data good.csv --steps 2 --batch-size 8 -o "$WORK/no/such/dir/out.st"

# --- checkpoints
"$E" train --data good.csv --steps 5 --batch-size 8 --warmup 0 -o model.st >/dev/null 2>&1
check train-small-csv test -s model.st
head -c 100 model.st > trunc.st
expect_fail truncated-checkpoint 1 "trunc.st" -- "$E" eval --model trunc.st --data good.csv
printf 'garbage' > garbage.st
expect_fail garbage-checkpoint 1 "garbage.st" -- "$E" eval --model garbage.st --data good.csv
expect_fail missing-checkpoint 1 "nothere.st: cannot open" -- "$E" eval --model nothere.st --data good.csv
{ echo "a,b,label"; for i in $(seq 1 10); do echo "$i,$i,$((i % 2))"; done; } > twofeat.csv
expect_fail checkpoint-shape-mismatch 1 "expects 3 features, twofeat.csv has 2" -- "$E" eval --model model.st --data twofeat.csv
expect_fail ood-shape-mismatch 1 "expects 3 features, twofeat.csv has 2" -- "$E" eval --model model.st --data good.csv --ood odd=twofeat.csv
expect_fail eval-report-dir-missing 1 "no/dir/out.json" -- "$E" eval --model model.st --data good.csv -o "$WORK/no/dir/out.json"
finish
