#!/usr/bin/env bash
# Training with auxiliary outliers from the command line: `ebood bench outliers` refuses bad input with one
# line before any training. (The suite itself runs for minutes: README.md has its numbers.)
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"

expect_fail bench-unknown-method 2 "--methods: unknown method 'foo'" -- "$E" bench outliers --methods foo
expect_fail bench-aux-missing 1 "nonexistent.npy" -- "$E" bench outliers --aux-data nonexistent.npy
expect_fail bench-aux-is-id 2 "cannot be the auxiliary outliers" -- "$E" bench outliers --aux-data fmnist
expect_fail bench-ood-unknown 2 "--ood: 'nope' is not an image data name" -- "$E" bench outliers --ood nope
printf 'garbage' >bad.npy
expect_fail bench-aux-malformed 1 "bad.npy" -- "$E" bench outliers --aux-data bad.npy
/usr/bin/python3 -c "import numpy as np; np.save('small.npy', np.zeros((4, 10, 10), np.uint8))"
expect_fail bench-aux-wrong-size 1 "10 x 10 = 100 values per sample, the model takes 784" -- \
  "$E" bench outliers --aux-data small.npy
expect_fail bench-seeds-range 2 "--seeds" -- "$E" bench outliers --seeds 17

finish
