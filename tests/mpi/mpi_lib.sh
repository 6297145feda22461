# Helpers of the MPI tests (sourced after cli_lib.sh): the loopback mpirun, the plain build's binary and
# the score comparison. Usage in a test: source "$(dirname "$0")/mpi_lib.sh" "$@".
PLAIN="${3:-}"
PY=/usr/bin/python3
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,tcp)
if [ ! -x "$PLAIN" ]; then
  echo "FAIL no plain build given ($PLAIN): make mpi-check builds it"
  exit 1
fi

# same_scores NAME A.npy B.npy TOL: max |a − b| / max(1, max |a|) ≤ TOL (0: bitwise)
same_scores() {
  check "$1" "$PY" - "$2" "$3" "$4" <<'PYEOF'
import sys
import numpy as np
a, b, tol = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
d = float(np.max(np.abs(a.astype(np.float64) - b))) / max(1.0, float(np.max(np.abs(a))))
print(f"  {sys.argv[2]}: max |delta| / max(1, |s|) = {d:.3g} (tolerance {tol:g})")
sys.exit(0 if (a.tobytes() == b.tobytes() if tol == 0 else d <= tol) else 1)
PYEOF
}
