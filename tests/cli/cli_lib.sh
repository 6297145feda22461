# Helpers for the command-line tests (sourced). Usage in a test: source cli_lib.sh "$@".
set -u
EBOOD="$1"
WORK="$2"
rm -rf "$WORK" && mkdir -p "$WORK"
FAILED=0
PASSED=0

# expect_fail NAME EXIT_CODE PATTERN -- command...: the command must exit with EXIT_CODE, print exactly one
# line on stderr matching PATTERN (grep -E), and leave no file in $WORK/out*.
expect_fail() {
  local name="$1" code="$2" pattern="$3"
  shift 4
  local err rc
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  local lines
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [ "$rc" -ne "$code" ]; then
    echo "FAIL $name: exit $rc, expected $code; stderr: $err"; FAILED=$((FAILED + 1)); return
  fi
  if ! printf '%s' "$err" | grep -qE -- "$pattern"; then
    echo "FAIL $name: stderr does not match /$pattern/: $err"; FAILED=$((FAILED + 1)); return
  fi
  if [ "$lines" -ne 1 ]; then
    echo "FAIL $name: expected one line on stderr, got $lines: $err"; FAILED=$((FAILED + 1)); return
  fi
  if compgen -G "$WORK/out*" >/dev/null; then
    echo "FAIL $name: output left behind: $(ls "$WORK"/out*)"; FAILED=$((FAILED + 1)); rm -f "$WORK"/out*; return
  fi
  echo "ok   $name"; PASSED=$((PASSED + 1))
}

# check NAME CONDITION-COMMAND...: the command must succeed.
check() {
  local name="$1"
  shift
  if "$@"; then echo "ok   $name"; PASSED=$((PASSED + 1)); else echo "FAIL $name"; FAILED=$((FAILED + 1)); fi
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
