#!/usr/bin/env bash
# docs/cli.md against the binary: every flag that `ebood CMD --help` lists (every command, and every suite
# of `ebood bench`) is documented in docs/cli.md, and every command is. A flag added without its docs fails.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
DOC="$(dirname "$0")/../../docs/cli.md"

commands=$("$E" --help | sed -n '/^commands:/,$p' | awk 'NR > 1 && NF {print $1}')
check commands-listed test -n "$commands"
for c in $commands; do
  check "doc-has-command-$c" grep -q "ebood $c" "$DOC"
  helps=("$c")
  [ "$c" = bench ] && helps=(segment fmnist outliers)
  for h in "${helps[@]}"; do
    args=("$c" --help)
    [ "$c" = bench ] && args=(bench "$h" --help)
    flags=$("$E" "${args[@]}" 2>/dev/null | grep -oE "^  (-[a-z], )?--[a-z0-9-]+" | grep -oE -- "--[a-z0-9-]+" | grep -v -- "--help")
    missing=""
    for f in $flags; do grep -qE -- "$f([^A-Za-z0-9_-]|$)" "$DOC" || missing="$missing $f"; done
    [ -n "$missing" ] && echo "  undocumented in docs/cli.md:$missing"
    check "doc-has-flags-of-${args[*]:0:2}" test -z "$missing"
  done
done
finish
