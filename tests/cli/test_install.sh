#!/usr/bin/env bash
# `make install` gives a relocatable tree: headers under include/ebood/, the libraries, the CLI and an
# ebood.pc with which a program using only the public headers compiles, links and runs.
source "$(dirname "$0")/cli_lib.sh" "$@"
build_dir=$(dirname "$EBOOD")
src_dir=$(cd "$(dirname "$0")/../.." && pwd)
prefix="$WORK/prefix"
check install cmake --install "$build_dir" --prefix "$prefix" >/dev/null
check headers test -f "$prefix/include/ebood/ebood.h" -a -f "$prefix/include/ebood/tensor.h"
check cli-installed "$prefix/bin/ebood" --version
pc_dir=$(dirname "$(find "$prefix" -name ebood.pc | head -n 1)")
flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs ebood)
# a sanitizer build's library needs the sanitizer runtimes at link time too
[ -n "${EBOOD_SANITIZED:-}" ] && flags="$flags -fsanitize=address,undefined"
check compile-with-pkg-config cc -std=c11 "$src_dir/examples/train_and_score.c" $flags -Wl,-rpath,"$pc_dir/.." -o "$WORK/example"
check run-installed-example bash -c "cd '$WORK' && ./example >/dev/null"
finish
