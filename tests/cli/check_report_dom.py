#!/usr/bin/python3
"""Checks a report as the browser saw it (tests/cli/test_report_browser.sh).

usage: check_report_dom.py DOM.html SHOT.png WIDTH HEIGHT MIN_FIGURES JSON...

DOM.html is chromium's --dump-dom of the page, SHOT.png its --screenshot. Checks:
  - the screenshot is a WIDTH x HEIGHT PNG that is not blank (many non-white pixels, many colours, the
    palette's blue and vermillion present);
  - at least MIN_FIGURES <figure> elements, each holding an <svg> with drawn content and a caption;
  - every table cell tagged data-json="[path]" shows the value at that path of the JSON file whose top-level
    keys hold the path's first key (percent with two decimals for fractions, integers for counts, "—" for
    null), and its data-json-std part the std the same way ("mean ± std");
  - no external resource: no script/link/img/iframe/object/embed/audio/video element, every src/href is a
    data: URI or a #fragment, no url() other than url(#…) or url(data:…).
Prints one line per failure and exits 1 if any.
"""
import json
import re
import sys
from html.parser import HTMLParser

from PIL import Image

dom_path, shot_path, width, height, min_figures = sys.argv[1:6]
documents = [json.load(open(p)) for p in sys.argv[6:]]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL", msg)


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells = []  # [attrs, text]
        self.cell = None
        self.figures = []  # [n svg, n drawn elements, caption text]
        self.figure = None
        self.in_caption = False
        self.forbidden = []
        self.refs = []
        self.styles = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "link", "img", "iframe", "object", "embed", "audio", "video", "source"):
            self.forbidden.append(tag)
        for k in ("src", "href", "xlink:href"):
            if k in a:
                self.refs.append(a[k])
        if "style" in a:
            self.styles.append(a["style"])
        for v in a.values():
            if v and "url(" in v:
                self.styles.append(v)
        if tag == "style":
            self.in_style = True
        if tag in ("td", "th"):
            self.cell = [a, ""]
        if tag == "figure":
            self.figure = [0, 0, ""]
        if self.figure is not None:
            if tag == "svg":
                self.figure[0] += 1
            if tag in ("path", "circle", "image", "rect", "line"):
                self.figure[1] += 1
            if tag == "figcaption":
                self.in_caption = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.cells.append(self.cell)
            self.cell = None
        if tag == "figure" and self.figure is not None:
            self.figures.append(self.figure)
            self.figure = None
        if tag == "figcaption":
            self.in_caption = False
        if tag == "style":
            self.in_style = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1] += data
        if self.in_caption and self.figure is not None:
            self.figure[2] += data
        if self.in_style:
            self.styles.append(data)


page = Page()
page.feed(open(dom_path, encoding="utf-8").read())

# ---- the screenshot
img = Image.open(shot_path).convert("RGB")
if img.size != (int(width), int(height)):
    fail(f"screenshot is {img.size[0]}x{img.size[1]}, expected {width}x{height}")
small = img.resize((img.size[0] // 2, img.size[1] // 2), Image.NEAREST)
pixels = list(small.getdata())
non_white = sum(1 for p in pixels if min(p) < 240) / len(pixels)
colours = len(set(pixels))
if non_white < 0.03:
    fail(f"screenshot nearly blank: {100 * non_white:.1f} % non-white pixels")
if colours < 50:
    fail(f"screenshot has only {colours} colours")


def near(p, q, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(p, q))


for name, rgb in (("blue #0072B2", (0, 114, 178)), ("vermillion #D55E00", (213, 94, 0))):
    if not any(near(p, rgb) for p in pixels):
        fail(f"no {name} pixels in the screenshot (figures not drawn?)")
print(f"screenshot {img.size[0]}x{img.size[1]}: {100 * non_white:.1f} % non-white, {colours} colours")

# ---- figures
if len(page.figures) < int(min_figures):
    fail(f"{len(page.figures)} figures, expected at least {min_figures}")
for i, (n_svg, n_drawn, caption) in enumerate(page.figures):
    if n_svg != 1 or n_drawn < 5 or not caption.strip():
        fail(f"figure {i}: {n_svg} svg, {n_drawn} drawn elements, caption '{caption.strip()[:40]}'")
print(f"{len(page.figures)} figures")


# ---- table cells against the JSON
def resolve(path):
    for doc in documents:
        if isinstance(doc, dict) and path[0] in doc:
            v = doc
            for k in path:
                if isinstance(k, int) or isinstance(k, float):
                    v = v[int(k)]
                else:
                    v = v[k]
            return v
    raise KeyError(path)


COUNT_KEYS = {"n", "n_id", "steps", "paper_steps"}


def shown(path, v):
    if v is None:
        return "—"
    if path[-1] in COUNT_KEYS:
        return f"{v:.0f}"
    if path[-1] in ("mean", "std") and path[-2] in COUNT_KEYS:
        return f"{v:.0f}"
    return f"{100 * v:.2f}"


checked = 0
for attrs, text in page.cells:
    if "data-json" not in attrs:
        continue
    path = json.loads(attrs["data-json"])
    text = text.strip()
    try:
        want = shown(path, resolve(path))
        if "data-json-std" in attrs:
            sp = json.loads(attrs["data-json-std"])
            std = resolve(sp)
            if want != "—" and std is not None:
                want = f"{want} ± {shown(sp, std)}"
    except (KeyError, IndexError, TypeError) as e:
        fail(f"cell {path}: not in the JSON ({e})")
        continue
    if text != want:
        fail(f"cell {path}: shows '{text}', the JSON says '{want}'")
    checked += 1
if checked < 10:
    fail(f"only {checked} cells carry data-json")
print(f"{checked} table cells equal their JSON values")

# ---- no external resource
if page.forbidden:
    fail(f"elements that load resources: {sorted(set(page.forbidden))}")
for ref in page.refs:
    if not (ref.startswith("data:") or ref.startswith("#")):
        fail(f"external reference {ref[:80]}")
for s in page.styles:
    for u in re.findall(r"url\(([^)]*)\)", s):
        if not (u.startswith("#") or u.startswith("data:")):
            fail(f"external url({u[:60]})")
print(f"{len(page.refs)} references, all data: or #fragments")

sys.exit(1 if failures else 0)
