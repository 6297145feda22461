#!/usr/bin/env bash
# `make python` in a virtual environment: the installed package carries its copy of libebood.so, imports
# from outside the repository with no PYTHONPATH or EBOOD_LIBRARY, and passes the package's tests.
source "$(dirname "$0")/cli_lib.sh" "$@"
if [ -n "${EBOOD_SANITIZED:-}" ]; then
  echo "skip: a sanitizer build's library cannot be loaded into python3"; exit 0
fi
src_dir=$(cd "$(dirname "$0")/../.." && pwd)
venv="$WORK/venv"
export PYTHONDONTWRITEBYTECODE=1
check venv /usr/bin/python3 -m venv --system-site-packages "$venv"
check make-python make -s -C "$src_dir" python PYTHON="$venv/bin/python" BUILD="$(dirname "$EBOOD")" \
  PIP_FLAGS="--quiet --no-cache-dir"
check installed-copy test -f "$venv"/lib/python3*/site-packages/ebood/libebood.so
cd "$WORK" || exit 1
check imports-installed env -u PYTHONPATH -u EBOOD_LIBRARY "$venv/bin/python" -c \
  "import ebood, sys; sys.exit(not ebood.__file__.startswith('$venv'))"
check unittest env -u PYTHONPATH -u EBOOD_LIBRARY EBOOD_CLI="$EBOOD" "$venv/bin/python" -m unittest discover \
  -s "$src_dir/python/tests" -p "test_[dm]*.py"  # the package's own tests (torch_import runs from the tree)
finish
