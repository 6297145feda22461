#!/usr/bin/env bash
# Fetches the real data sets into $EBOOD_DATA (default ~/.cache/ebood), idempotently:
#   segment/segment-challenge.arff, segment/segment-test.arff  (Debian package weka, no Java needed)
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

fetch_segment
