#!/usr/bin/env bash
# A fine-tune started from a PyTorch model: state_dicts with torch's own initialisation imported by
# scripts/torch_import.py (an MLP for Segment, a WRN-16-1 with its input normalisation for tiny CIFAR-10
# batches) train with `ebood train --init`; the run keeps the checkpoint's architecture and normalisation
# and changes its weights; bad --init uses are refused with one line.
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
SCRIPTS="$(cd "$(dirname "$0")/../../scripts" && pwd)"
"$PY" - "$SCRIPTS" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import torch, torch_import
torch.manual_seed(0)
nn = torch.nn
torch.save(nn.Sequential(nn.Linear(18, 32), nn.ReLU(), nn.Linear(32, 6)).state_dict(), "mlp.pt")
torch.save(nn.Sequential(nn.Linear(5, 6)).state_dict(), "small.pt")
torch.save(torch_import.wrn_module(torch, 16, 1, 3, 10).state_dict(), "wrn.pt")
PYEOF
check import-mlp "$PY" "$SCRIPTS/torch_import.py" mlp.pt --arch mlp --activation relu -o mlp.st
check import-small "$PY" "$SCRIPTS/torch_import.py" small.pt --arch mlp --activation relu -o small.st
check import-wrn "$PY" "$SCRIPTS/torch_import.py" wrn.pt --arch wrn --mean 0.4,0.5,0.6 --std 0.2,0.25,0.3 -o wrn.st

# tabular: Segment (18 features, 6 ID classes) from the imported MLP
# finetuned NAME IMPORTED TUNED STEPS PYTHON: the run's JSON (TUNED minus .st plus .json) reports STEPS steps
# and a finite loss, TUNED has IMPORTED's architecture, and PYTHON's asserts hold (a, b: the two files'
# tensors; mb: TUNED's metadata)
finetuned() {
  check "$1" "$PY" -c "
import json, math, sys
sys.path.insert(0, '$SCRIPTS')
import numpy as np
from torch_mlp_check import read_safetensors
r = json.load(open('${3%.st}.json'))
assert r['steps'] == $4 and math.isfinite(r['final_loss']), r
a, ma = read_safetensors('$2', np)
b, mb = read_safetensors('$3', np)
assert json.loads(ma['ebood.config']) == json.loads(mb['ebood.config']), (ma['ebood.config'], mb['ebood.config'])
$5"
}

# tabular: Segment (18 features, 6 ID classes) from the imported MLP
"$E" train --data segment --init mlp.st --steps 60 --warmup 0 --json -o ft.st >ft.json 2>ft.err
finetuned finetune-segment-runs mlp.st ft.st 60 "
assert all(not np.array_equal(a[k], b[k]) for k in a), 'every tensor must have trained'
assert json.loads(mb['ebood.train_args'])['init'] == 'mlp.st', mb['ebood.train_args']"

expect_fail init-with-model 2 "--model does not apply with --init" -- \
  "$E" train --data segment --init mlp.st --model mlp -o out.st
expect_fail init-with-widths 2 "--widths does not apply with --init" -- \
  "$E" train --data segment --init mlp.st --widths 8 -o out.st
expect_fail init-wrong-data-kind 2 "wrn.st holds a wrn, which does not fit tabular data" -- \
  "$E" train --data segment --init wrn.st -o out.st
expect_fail init-wrong-inputs 1 "small.st: the model takes 5 inputs and gives 6 outputs, this data and objective need 18 and 6" -- \
  "$E" train --data segment --init small.st -o out.st
expect_fail init-missing 1 "absent.st" -- "$E" train --data segment --init absent.st -o out.st

# images: tiny CIFAR-10 batches (32x32x3) from the imported WRN-16-1; its normalisation is kept
export EBOOD_DATA="$WORK/data"
"$PY" "$(dirname "$0")/make_tiny_images.py"
"$E" train --data cifar10:c10 --init wrn.st --steps 3 --batch-size 8 --json -o ftw.st >ftw.json 2>ftw.err
finetuned finetune-cifar-runs wrn.st ftw.st 3 "
norm = json.loads(mb['ebood.normalize'])
assert np.allclose(norm['mean'], [0.4, 0.5, 0.6]) and np.allclose(norm['std'], [0.2, 0.25, 0.3]), norm
assert not np.array_equal(a['fc.weight'], b['fc.weight'])"

finish
