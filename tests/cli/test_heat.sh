#!/usr/bin/env bash
# ebood fit / score with HEAT's detectors (001_8dfeaa911d9afebd.txt): gmm against a NumPy reference,
# heat with each prior (gmm and none from feature files, el and heat_combined through a model),
# the parameters in the detector file, and bad input (one line naming the flag or file, no output).
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
F="$(cd "$(dirname "$0")/../fixtures/detectors" && pwd)"
PY=/usr/bin/python3
cd "$WORK"

# ---- feature files: 3 non-negative Gaussian classes in 8-d, ID test rows and far-away OOD rows
"$PY" - <<'PYEOF'
import numpy as np
rng = np.random.default_rng(4)
def id_rows(n):
    y = np.arange(n) % 3
    c = np.where((np.arange(8)[None, :] % 3) == y[:, None], 3.0, 0.5)
    return np.abs(c + 0.3 * rng.normal(size=(n, 8))).astype(np.float32), y.astype(np.int64)
x, y = id_rows(300)
xt, _ = id_rows(90)
far = np.abs(np.where(np.arange(8) >= 6, 3.0, 0.2) + 0.3 * rng.normal(size=(90, 8))).astype(np.float32)
np.save("train.npy", x); np.save("labels.npy", y); np.save("test.npy", xt); np.save("far.npy", far)
np.save("dim7.npy", xt[:, :7].copy())
bad = xt.copy(); bad[3, 2] = np.nan; np.save("nan.npy", bad)
# the gmm reference: log sum_c pi_c N(z; mu_c, Sigma) on normalised z, Sigma with divisor N + 1e-12 I
z = x / np.linalg.norm(x, axis=1, keepdims=True)
zt = xt / np.linalg.norm(xt, axis=1, keepdims=True)
mu = np.stack([z[y == c].mean(0) for c in range(3)])
cen = z - mu[y]
cov = cen.T @ cen / len(z) + 1e-12 * np.eye(8)
L = np.linalg.cholesky(cov)
u = np.linalg.solve(L, zt.T).T; nu = np.linalg.solve(L, mu.T).T
t = np.log(np.bincount(y) / len(y))[None] - 0.5 * ((u[:, None] - nu[None]) ** 2).sum(-1)
m = t.max(1)
ref = m + np.log(np.exp(t - m[:, None]).sum(1)) - 4 * np.log(2 * np.pi) - np.log(np.diag(L)).sum()
np.save("gmm_ref.npy", ref)
PYEOF

auroc_above() {  # auroc_above NAME ID.npy OOD.npy MIN
  check "$1" "$PY" -c "
import numpy as np
i, o = np.load('$2').astype(np.float64), np.load('$3').astype(np.float64)
a = ((i[:, None] > o[None, :]).sum() + 0.5 * (i[:, None] == o[None, :]).sum()) / (len(i) * len(o))
assert a >= $4, a"
}
param() {  # param NAME DET.st PYTHON-CONDITION-ON-p (p = ebood.params)
  check "$1" "$PY" - "$2" "$3" <<'PYEOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
meta = json.loads(raw[8:8 + n])["__metadata__"]
p = json.loads(meta["ebood.params"])
assert eval(sys.argv[2]), p
PYEOF
}

"$E" fit --detector gmm --features train.npy --labels labels.npy -o gmm.st >/dev/null
"$E" score gmm.st --features test.npy -o gmm_s.npy >/dev/null
check gmm-matches-numpy "$PY" -c "
import numpy as np
g, w = np.load('gmm_s.npy'), np.load('gmm_ref.npy')
assert np.allclose(g, w, rtol=1e-5, atol=1e-4), np.abs(g - w).max()"
param gmm-params gmm.st "set(p) == {'heat', 'tpr'} and set(p['heat']) == {'ridge', 'normalize'} and p['heat']['normalize'] is True and abs(p['heat']['ridge'] - 1e-12) < 1e-18"

TINY=(--ebm-width 16 --ebm-depth 1 --ebm-epochs 2 --ebm-batch-size 64 --sgld-steps 5 --ebm-lr 1e-3 --ebm-seed 3)
"$E" fit --detector heat --prior gmm "${TINY[@]}" --features train.npy --labels labels.npy \
  --val-features test.npy -o heat_gmm.st >fit.txt
check fit-heat-gmm grep -q "fitted heat on 300 ID samples (dim 8); threshold" fit.txt
"$E" score heat_gmm.st --features test.npy -o hg_id.npy >/dev/null
"$E" score heat_gmm.st --features far.npy -o hg_far.npy >/dev/null
auroc_above heat-gmm-separates-far hg_id.npy hg_far.npy 0.5
param heat-gmm-params heat_gmm.st "p['heat']['prior'] == 'gmm' and p['heat']['width'] == 16 and p['heat']['gmm']['steps'] == 5 and p['heat']['gmm']['decay'] == 'linear' and 'el' not in p['heat']"
# an independent NumPy evaluation of the saved detector: the flat E_theta buffer (PyTorch layer order,
# each parameter padded to 16 floats), the GMM prior from its tensors, score = -(E_theta + E_G/1000)
check heat-gmm-file-numpy "$PY" - <<'PYEOF'
import json, struct
import numpy as np
raw = open("heat_gmm.st", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n]); meta = h.pop("__metadata__"); base = 8 + n
T = {k: np.frombuffer(raw[base + v["data_offsets"][0]:base + v["data_offsets"][1]], dtype=np.float32).reshape(v["shape"])
     for k, v in h.items()}
p = json.loads(meta["ebood.params"])["heat"]
w, depth, d = p["width"], p["depth"], 8
flat, off, layers = T["ebm"].astype(np.float64), 0, []
def take(shape):
    global off
    size = int(np.prod(shape)); a = flat[off:off + size].reshape(shape); off += (size + 15) // 16 * 16; return a
for (o, i) in [(w, d)] + [(w, w)] * depth + [(1, w)]:
    layers.append((take((o, i)), take((o,))))
assert off == flat.size, (off, flat.size)
x = np.load("test.npy").astype(np.float64)
z = x / np.linalg.norm(x, axis=1, keepdims=True)
hdn = z
for k, (W, b) in enumerate(layers):
    hdn = hdn @ W.T + b
    if k + 1 < len(layers): hdn = np.where(hdn > 0, hdn, 0.2 * hdn)
e_theta = hdn[:, 0]
L = T["gmm.cholesky"].astype(np.float64); mu = T["gmm.means"].astype(np.float64); pi = T["gmm.weights"].astype(np.float64)
u = np.linalg.solve(L, z.T).T; nu = np.linalg.solve(L, mu.T).T
t = np.log(pi)[None] - 0.5 * ((u[:, None] - nu[None]) ** 2).sum(-1); m = t.max(1)
logq = m + np.log(np.exp(t - m[:, None]).sum(1)) - 0.5 * d * np.log(2 * np.pi) - np.log(np.diag(L)).sum()
ref = -(e_theta / p["gmm"]["temperature"] - logq / p["gmm"]["prior_temperature"])
got = np.load("hg_id.npy").astype(np.float64)
assert np.allclose(got, ref, rtol=1e-5, atol=1e-5), np.abs(got - ref).max()
PYEOF
# the same seed gives the same detector (bitwise the same scores)
"$E" fit --detector heat --prior gmm "${TINY[@]}" --features train.npy --labels labels.npy -o heat_gmm2.st >/dev/null
"$E" score heat_gmm2.st --features test.npy -o hg_id2.npy >/dev/null
check heat-gmm-reproducible cmp -s hg_id.npy hg_id2.npy

"$E" fit --detector heat --prior none --ebm-width 16 --ebm-depth 2 --ebm-tied --ebm-epochs 2 --ebm-batch-size 64 \
  --sgld-steps 5 --ebm-lr 1e-3 --features train.npy -o heat_none.st >/dev/null
"$E" score heat_none.st --features test.npy -o hn_id.npy >/dev/null
check heat-none-scores test -s hn_id.npy
param heat-none-params heat_none.st "p['heat']['prior'] == 'none' and p['heat']['tied'] is True and p['heat']['none']['decay'] == 'linear'"

# ---- model mode: the detectors fixture's tiny MLP, data as CSV files (el reads its last layer)
"$PY" - "$F" <<'PYEOF'
import numpy as np, sys
F = sys.argv[1]
def csv(path, x, y):
    with open(path, "w") as fp:
        fp.write(",".join(f"x{j}" for j in range(x.shape[1])) + ",label\n")
        for row, label in zip(x, y):
            fp.write(",".join(f"{v:.9g}" for v in row) + f",{label}\n")
tr = np.load(f"{F}/mlp_train_inputs.npy"); te = np.load(f"{F}/mlp_test_inputs.npy")
csv("mlp_train.csv", tr, np.load(f"{F}/mlp_train_labels.npy"))
csv("mlp_test.csv", te, np.arange(len(te)) % 3)
PYEOF
MLP="$F/mlp.safetensors"
"$E" fit --detector heat --prior el "${TINY[@]}" --ebm-no-relu --model "$MLP" --data mlp_train.csv -o heat_el.st >/dev/null
"$E" score heat_el.st --model "$MLP" --data mlp_test.csv -o he_s.npy >/dev/null
check heat-el-model-mode "$PY" -c "
import numpy as np; s = np.load('he_s.npy'); assert s.ndim == 1 and np.isfinite(s).all(), s"
param heat-el-params heat_el.st "p['heat']['prior'] == 'el' and p['heat']['relu'] is False and p['heat']['el']['batch_size'] == 64"
"$E" fit --detector heat_combined "${TINY[@]}" --ebm-no-relu --no-std-block --model "$MLP" --data mlp_train.csv -o heat_c.st >/dev/null
expect_fail combined-std-block-needs-image-model 1 "image model" -- \
  "$E" fit --detector heat_combined "${TINY[@]}" --ebm-no-relu --model "$MLP" --data mlp_train.csv -o heat_c2.st
"$E" score heat_c.st --model "$MLP" --data mlp_train.csv -o hc_s.npy >/dev/null
check heat-combined-standardised "$PY" -c "
import numpy as np; s = np.load('hc_s.npy').astype(np.float64); assert abs(s.mean()) < 1e-3, s.mean()"
param heat-combined-params heat_c.st "set(p['heat']) >= {'gmm', 'el', 'stats_batch'} and p['heat']['std_block'] is False and 'gmm_std' not in p['heat'] and 'prior' not in p['heat'] and 'none' not in p['heat']"

# ---- bad input
# presets: the paper's App. A.5.1 (default) or the released code's table; other flags still apply on top
"$E" fit --detector heat --prior gmm --heat-preset code "${TINY[@]}" --features train.npy --labels labels.npy \
  -o heat_code.st >/dev/null
param heat-preset-code heat_code.st "p['heat']['gmm']['decay'] == 'quadratic' and abs(p['heat']['gmm']['noise'] - 5e-3) < 1e-9 and p['heat']['gmm']['steps'] == 5"
expect_fail unknown-preset 2 "^ebood fit: --heat-preset: unknown preset 'cvpr' \(paper or code\)$" -- \
  "$E" fit --detector heat --heat-preset cvpr --features train.npy --labels labels.npy -o bad.st
expect_fail unknown-prior 2 "^ebood fit: --prior: prior 'mog': unknown \(expected gmm, el or none\)$" -- \
  "$E" fit --detector heat --prior mog --features train.npy --labels labels.npy -o out.st
expect_fail el-needs-model 2 "heat needs --model CKPT \(its fit reads the classifier's last layer\)" -- \
  "$E" fit --detector heat --prior el --features train.npy -o out.st
expect_fail gmm-prior-needs-labels 2 "--labels is required for heat" -- \
  "$E" fit --detector heat --features train.npy -o out.st
expect_fail heat-flag-on-knn 2 "--sgld-steps does not apply to knn" -- \
  "$E" fit --detector knn --sgld-steps 3 --features train.npy -o out.st
expect_fail prior-on-gmm 2 "--prior does not apply to gmm" -- \
  "$E" fit --detector gmm --prior el --features train.npy --labels labels.npy -o out.st
expect_fail bad-decay 2 "--sgld-decay: unknown decay 'cubic'" -- \
  "$E" fit --detector heat --sgld-decay cubic --features train.npy --labels labels.npy -o out.st
expect_fail width-out-of-range 2 "--ebm-width: 0 is out of range" -- \
  "$E" fit --detector heat --ebm-width 0 --features train.npy --labels labels.npy -o out.st
expect_fail score-dim-mismatch 1 "dim7.npy: 7 features per row, but heat_gmm.st was fitted on 8" -- \
  "$E" score heat_gmm.st --features dim7.npy -o out.npy
expect_fail score-nan 1 "nan.npy" -- "$E" score heat_gmm.st --features nan.npy -o out.npy

# ---- end to end on features written by `ebood extract`: a Segment MLP's penultimate features (LeakyReLU,
# so they can be negative: --ebm-no-relu), heat fitted on the train split, sky held out
"$E" train --data segment --steps 60 --warmup 10 --seed 1 -o seg.st >/dev/null 2>&1
"$E" extract --model seg.st --split train --features seg_tr.npy --labels seg_tr_y.npy 2>/dev/null
"$E" extract --model seg.st --split test --features seg_te.npy 2>/dev/null
"$E" extract --model seg.st --split ood --features seg_sky.npy 2>/dev/null
"$E" fit --detector heat --prior gmm --ebm-no-relu --ebm-width 32 --ebm-depth 1 --ebm-epochs 2 \
  --ebm-batch-size 256 --features seg_tr.npy --labels seg_tr_y.npy -o seg_heat.st >/dev/null
"$E" score seg_heat.st --features seg_te.npy -o seg_s_id.npy >/dev/null
"$E" score seg_heat.st --features seg_sky.npy -o seg_s_sky.npy >/dev/null
"$E" eval --id seg_s_id.npy --ood sky=seg_s_sky.npy --json >seg_eval.json
check heat-on-extracted-features "$PY" -c "
import json; d = json.load(open('seg_eval.json'))
a = d['scores']['scores']['sets']['sky']['auroc']
assert a > 0.6, a"
# ---- HEAT's 2-D toys (Figs. 1-2): fitted on the toy rows themselves (--data without --model), raw features
# (--no-normalize), drawn by ebood landscape --detector; the grid values are the detector's scores there
"$E" fit --detector gmm --data toy:cross --no-normalize -o toy_gmm.st >/dev/null
"$E" fit --detector heat --data toy:crosses --no-normalize --ebm-no-relu --prior-temperature 1 "${TINY[@]}" -o toy_heat.st >/dev/null
param toy-heat-params toy_heat.st "p['heat']['normalize'] is False and p['heat']['relu'] is False"
for d in toy_gmm toy_heat; do
  "$E" landscape --detector $d.st --grid 9 --range -2,2,-1,3 -o $d.npy >/dev/null
  "$PY" -c "
import numpy as np
xs, ys = np.linspace(-2, 2, 9), np.linspace(-1, 3, 9)
gx, gy = np.meshgrid(xs, ys)
np.save('grid_$d.npy', np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32))"
  "$E" score $d.st --features grid_$d.npy -o grid_${d}_s.npy >/dev/null
  check landscape-is-the-score-$d "$PY" -c "
import numpy as np
l, s = np.load('$d.npy'), np.load('grid_${d}_s.npy')
assert l.shape == (9, 9) and np.isfinite(l).all(), l.shape
assert np.array_equal(l.ravel(), s), np.abs(l.ravel() - s).max()"
done
# raw features: the density is not constant along rays from 0 (with the default normalisation it would be)
"$E" fit --detector gmm --data toy:cross -o toy_gmm_n.st >/dev/null
"$PY" -c "
import numpy as np; np.save('ray.npy', np.array([[0.5, 0.5], [2.0, 2.0]], np.float32))"
"$E" score toy_gmm.st --features ray.npy -o ray_raw.npy >/dev/null
"$E" score toy_gmm_n.st --features ray.npy -o ray_n.npy >/dev/null
check toy-raw-vs-normalised "$PY" -c "
import numpy as np
r, n = np.load('ray_raw.npy'), np.load('ray_n.npy')
assert n[0] == n[1] and r[0] > r[1], (r, n)"
"$E" landscape --detector toy_heat.st -o toy_heat.svg --data toy:crosses --mode energy >/dev/null
check landscape-detector-svg grep -q "heat" toy_heat.svg
expect_fail landscape-detector-dim 1 "test_dim.st: landscape: the gmm detector was fitted on 8 features" -- \
  bash -c "cp gmm.st test_dim.st && '$E' landscape --detector test_dim.st -o '$WORK/x.npy'"
check landscape-dim-no-output test ! -e x.npy
expect_fail landscape-model-and-detector 2 "give one of --model, --detector, --border" -- "$E" landscape --model x.st --detector gmm.st -o y.npy
expect_fail rows-mode-needs-model 2 "without --model fits on the rows" -- \
  "$E" fit --detector heat --prior el --data toy:cross -o z.st

finish
