#!/usr/bin/env bash
# A report as a person sees it: chromium (headless) renders pages built from score files and from a real
# `ebood bench segment --json` run; tests/cli/check_report_dom.py checks the screenshot (size, not blank,
# the palette's colours) and the DOM (every figure present, every table cell equal to the JSON value it
# came from, no external resource). Needs Debian's chromium (scripts/install-deps.sh).
source "$(dirname "$0")/cli_lib.sh" "$@"
E="$EBOOD"
cd "$WORK"
PY=/usr/bin/python3
HERE="$(cd "$(dirname "$0")" && pwd)"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "FAIL chromium not found: run scripts/install-deps.sh (Debian package chromium)"
  exit 1
fi
# chromium --headless on a file:// page; its own profile so parallel runs do not share one
browser() {
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/profile" \
    --no-first-run --disable-extensions "$@" 2>>"$WORK/chromium.log"
}

"$PY" - <<'PYEOF'
import numpy as np
rng = np.random.default_rng(14)
np.save("s_id.npy", rng.normal(2.0, 1.0, 1500).astype(np.float32))
np.save("s_far.npy", rng.normal(-1.0, 1.0, 1200).astype(np.float32))
np.save("s_near.npy", rng.normal(1.2, 1.0, 900).astype(np.float32))
PYEOF
"$E" eval --id s_id.npy --ood far=s_far.npy --ood near=s_near.npy --json -o eval.json >/dev/null
"$E" bench segment --seeds 2 --steps 200 --detectors msp,energy,mahalanobis --ebm none --json -o suite.json \
  >/dev/null 2>&1
check suite-json test -s suite.json
"$E" report -o page.html --id s_id.npy --ood far=s_far.npy --ood near=s_near.npy --suite suite.json \
  --title "browser test" >/dev/null
check page-written test -s page.html

W=1280 H=2200
browser --window-size=$W,$H --screenshot="$WORK/page.png" "file://$WORK/page.html"
browser --dump-dom "file://$WORK/page.html" >page.dom.html
check screenshot-written test -s page.png
check dom-dumped grep -q "</html>" page.dom.html
# score files: 2 histograms + ROC + PR
check page-checks "$PY" "$HERE/check_report_dom.py" page.dom.html page.png $W $H 4 eval.json suite.json

# the README's screenshot is made the same way (docs/report-screenshot.png); a narrow window still renders
browser --window-size=900,1400 --screenshot="$WORK/narrow.png" "file://$WORK/page.html"
check narrow-page "$PY" -c "
from PIL import Image
im = Image.open('narrow.png'); assert im.size == (900, 1400), im.size"
finish
