#!/usr/bin/env bash
# The distributed layer's unit checks (tests/mpi/mpi_units.c: eb_dist_gather_shares, SyncBN against the
# one-process BatchNorm, Hopfield Boosting's split boosting step against one process) under mpirun -np 1,
# 2 and 3 on loopback. Usage: test_mpi_units.sh EBOOD_MPI WORK [EBOOD_PLAIN] MPI_UNITS
source "$(dirname "$0")/../cli/cli_lib.sh" "$@"
UNITS="${4:-}"
cd "$WORK"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,tcp)
if [ ! -x "$UNITS" ]; then
  echo "FAIL no mpi_units program given ($UNITS): make mpi-check builds it"
  exit 1
fi
for n in 1 2 3; do
  "${MPIRUN[@]}" -np $n "$UNITS" >units$n.txt 2>&1
  rc=$?
  sed 's/^/  /' units$n.txt
  check "mpi_units np$n" test "$rc" -eq 0
done
finish
