# Thin wrapper for humans; the build itself is CMake (build/ and build-asan/).
#   make          build (RelWithDebInfo, -O2)        make check   deps + data + tests (+ ASan/UBSan)
#   make run      deps + data + `ebood bench segment` (+ its HTML report)   make perf (= make bench)   side-by-side speed benchmarks
#   make asan     sanitizer build + tests             make format-check / make format
#   make install  PREFIX=/usr/local                 make fuzz-smoke  every fuzz target ~20 s from its corpus
#   make valgrind the CLI's main paths under memcheck (also part of make test)
#   make python   the Python package into PYTHON's environment (e.g. a venv's python)
#   make mpi      the Open MPI build (build-mpi/, -DEBOOD_MPI=ON)   make mpi-check   its loopback mpirun tests
BUILD ?= build
ASAN_BUILD ?= build-asan
MPI_BUILD ?= build-mpi
MPI_ASAN_BUILD ?= build-mpi-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
WERROR ?= ON
CMAKE_FLAGS ?=
PYTHON ?= /usr/bin/python3
PIP_FLAGS ?=
SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all deps data build check test asan valgrind fuzz-smoke mpi mpi-check mpi-asan run perf bench format format-check install python clean

all: build

deps:
	@bash scripts/install-deps.sh

data: deps build
	@EBOOD_BIN=$(BUILD)/ebood bash scripts/fetch-data.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DEBOOD_WERROR=$(WERROR) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2

asan:
	cmake -S . -B $(ASAN_BUILD) -DEBOOD_WERROR=$(WERROR) -DEBOOD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  EBOOD_SANITIZED=1 ctest --output-on-failure -j 2

# The optional multi-process build (data-parallel training, sharded scoring; docs/distributed.md)
MPI_CONFIGURE = cmake -S . -B $(MPI_BUILD) -DEBOOD_WERROR=$(WERROR) -DEBOOD_MPI=ON \
  -DEBOOD_PLAIN_CLI=$(abspath $(BUILD))/ebood $(CMAKE_FLAGS)
mpi: deps
	$(MPI_CONFIGURE)
	cmake --build $(MPI_BUILD) -j $(JOBS)

# Its tests only (the ebood binary and tests/mpi/mpi_units.c are all they need): mpirun -np 1/2/3 on loopback against the plain
# build's binary (tests/mpi, < 1 min on an idle machine)
mpi-check: deps build
	$(MPI_CONFIGURE)
	cmake --build $(MPI_BUILD) -j $(JOBS) --target ebood mpi_units
	cd $(MPI_BUILD) && ctest --output-on-failure -L mpi

# The MPI tests on ASan/UBSan builds (the MPI build against the sanitized plain build; docs/testing.md).
# Not in `make check` (a second Debug build: minutes). Leak detection is off: with it on, every report is
# an allocation inside Open MPI's own MPI_Init_thread/MPI_Finalize (checked with full unwinding).
mpi-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DEBOOD_WERROR=$(WERROR) -DEBOOD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target ebood
	cmake -S . -B $(MPI_ASAN_BUILD) -DEBOOD_WERROR=$(WERROR) -DEBOOD_MPI=ON -DEBOOD_SANITIZE=ON \
	  -DCMAKE_BUILD_TYPE=Debug -DEBOOD_PLAIN_CLI=$(abspath $(ASAN_BUILD))/ebood $(CMAKE_FLAGS)
	cmake --build $(MPI_ASAN_BUILD) -j $(JOBS) --target ebood mpi_units
	cd $(MPI_ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 EBOOD_SANITIZED=1 ctest --output-on-failure -L mpi

# train/fit/extract/score/eval/report under valgrind's memcheck (tests/cli/test_valgrind.sh, docs/testing.md)
valgrind: build
	cd $(BUILD) && ctest --output-on-failure -R cli_test_valgrind

# libFuzzer + ASan/UBSan build of every reader (tests/fuzz, clang-14), each target run for
# FUZZ_SECONDS from its committed corpus; any crash or sanitizer report fails (docs/testing.md).
fuzz-smoke:
	CC=clang-14 cmake -S . -B $(FUZZ_BUILD) -DEBOOD_FUZZ=ON -DEBOOD_BUILD_TESTS=OFF -DEBOOD_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j 2

# The README's test command: everything CI checks, from a fresh machine.
check: data
	$(MAKE) format-check
	$(MAKE) test
	$(MAKE) mpi-check
	$(MAKE) asan
	$(MAKE) fuzz-smoke

# The README's main job: the Segment OOD benchmark with the EBM paper's classifier defaults.
# It ends by writing the suite's page, $(BUILD)/segment-report.html (open it in a browser).
run: data build
	$(BUILD)/ebood bench segment --report $(BUILD)/segment-report.html

perf: data build
	bash perf/run_all.sh

# the old name of `make perf` (`ebood bench` is the paper suites; perf/ is the speed comparisons)
bench: perf

format:
	clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES) && echo "format-check: ok"

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# python/ebood with a copy of $(BUILD)/libebood.so (python/setup.py); Debian's python3 refuses system-wide
# pip installs, so give a virtual environment's: make python PYTHON=~/venv/bin/python
python: build
	EBOOD_LIBRARY=$(abspath $(BUILD))/libebood.so $(PYTHON) -m pip install --no-build-isolation --no-deps \
	  $(PIP_FLAGS) ./python

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(MPI_BUILD) $(MPI_ASAN_BUILD)
