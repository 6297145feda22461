#!/usr/bin/env bash
# ebood bench hamos: bad input (one line naming the flag or file, exit 2 / 1, no output file), also
# without data (EBOOD_DATA pointing at an empty directory: the IO error names the file). The suite itself runs
# for minutes; the lead runs it (README).
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
mkdir -p empty

expect_fail unknown_flag 2 "unknown flag.*--frobnicate" -- "$E" bench hamos --frobnicate
expect_fail bad_protocol 2 "--protocol: expected quick or paper" -- "$E" bench hamos --protocol full
expect_fail bad_preset 2 "--hamos-preset: expected paper or code" -- "$E" bench hamos --hamos-preset torch
expect_fail bad_row 2 "--rows: unknown row 'vos'" -- "$E" bench hamos --rows cider,vos
expect_fail bad_seeds 2 "--seeds" -- "$E" bench hamos --seeds 0
expect_fail small_buffer 2 "k 200 larger than the buffer size 100" -- "$E" bench hamos --buffer-size 100 -o "$WORK/out.json"
expect_fail missing_data 1 "empty/fashion-mnist.*cannot|empty/fashion-mnist" -- env EBOOD_DATA="$WORK/empty" "$E" bench hamos --json -o "$WORK/out.json"
expect_fail missing_init 1 "nope.safetensors" -- "$E" bench hamos --init "$WORK/nope.safetensors" --json -o "$WORK/out.json"
finish
