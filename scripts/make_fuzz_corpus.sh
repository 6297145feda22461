#!/usr/bin/env bash
# Writes the small seed corpora of the fuzz targets (tests/fuzz/corpus/<format>/): valid files of each
# format, made with NumPy/Pillow (Debian's python3 packages) and, for checkpoints and detector files,
# with the ebood CLI itself. Usage: bash scripts/make_fuzz_corpus.sh [path/to/ebood]
# The committed corpora came from this script; rerun it after a format change.
set -euo pipefail
cd "$(dirname "$0")/.."
EBOOD="${1:-build/ebood}"
C=tests/fuzz/corpus
rm -rf "$C" && mkdir -p "$C"/{npy,csv,arff,idx,cifar,safetensors,checkpoint,detector,image,glyph}
/usr/bin/python3 - "$C" <<'PYEOF'
import gzip, io, json, struct, sys
import numpy as np
from PIL import Image
C = sys.argv[1]
rng = np.random.default_rng(17)
def put(path, data):
    with open(f"{C}/{path}", "wb") as f: f.write(data)
# NPY: the dtypes and ranks the readers accept
for name, a in {"f32_2d": rng.normal(size=(3, 4)).astype(np.float32),
                "f64_1d": rng.normal(size=5), "i32_labels": np.arange(6, dtype=np.int32) % 3,
                "i64_labels": np.arange(4, dtype=np.int64), "u8_3d": np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
                "big_endian": rng.normal(size=(2, 2)).astype(">f4"), "empty": np.zeros((0, 3), np.float32)}.items():
    b = io.BytesIO(); np.save(b, a); put(f"npy/{name}.npy", b.getvalue())
# CSV: header, numeric and string labels, quoting, CRLF
put("csv/numeric.csv", b"a,b,label\n1.5,2,0\n-3,4e-2,1\n0,0,2\n")
put("csv/strings.csv", b"x,y,class\n1,2,cat\n3,4,dog\n5,6,\"c,a\"\"t\"\n")
put("csv/noheader_crlf.csv", b"\xef\xbb\xbf1,2,3\r\n4,5,6\r\n\r\n7,8,9\r\n")
# ARFF: numeric, nominal, string, quoting, comments
put("arff/segment_like.arff", b"% comment\n@relation seg\n@attribute 'region-centroid-col' numeric\n"
    b"@attribute x real\n@attribute class {brickface, sky, 'the grass'}\n@data\n1,2.5,sky\n3,-1e3,'the grass'\n")
put("arff/strings.arff", b"@RELATION r\n@ATTRIBUTE s string\n@ATTRIBUTE n integer\n@ATTRIBUTE c {a,b}\n"
    b"@DATA\n'hello world',1,a\n\"x\\'y\",2,b % trailing\n")
# IDX: images and labels, plain and gzip (and two gzip members)
imgs = struct.pack(">BBBBIII", 0, 0, 8, 3, 2, 4, 3) + bytes(range(24))
labs = struct.pack(">BBBBI", 0, 0, 8, 1, 5) + bytes([0, 1, 2, 9, 3])
put("idx/images.idx", imgs); put("idx/labels.idx", labs)
put("idx/images.idx.gz", gzip.compress(imgs, mtime=0)); put("idx/labels.idx.gz", gzip.compress(labs, mtime=0))
put("idx/two_members.gz", gzip.compress(imgs[:20], mtime=0) + gzip.compress(imgs[20:], mtime=0))
# CIFAR: 10 (label byte + 3072) and 100 (coarse + fine + 3072) records
px = rng.integers(0, 256, size=3072, dtype=np.uint8).tobytes()
put("cifar/cifar10_2.bin", bytes([3]) + px + bytes([9]) + px)
put("cifar/cifar100_1.bin", bytes([4, 57]) + px)
# safetensors: dtypes, scalar, empty tensor, metadata
def safetensors(tensors, meta=None):
    header, blobs, off = {}, [], 0
    if meta: header["__metadata__"] = meta
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data); off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)
put("safetensors/mixed.safetensors", safetensors({
    "w": ("F32", [2, 3], np.arange(6, dtype="<f4").tobytes()), "s": ("F64", [], np.float64(2.5).tobytes()),
    "e": ("I32", [0, 4], b""), "h": ("BF16", [2], b"\x80\x3f\x00\x40")}, {"format": "pt", "note": "{\"json\": 1}"}))
put("safetensors/empty.safetensors", safetensors({}))
# images: PNG gray/RGB/RGBA/palette/16-bit, JPEG gray/RGB, a GIMP pattern
def img_bytes(im, fmt, **kw):
    b = io.BytesIO(); im.save(b, fmt, **kw); return b.getvalue()
arr = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
put("image/rgb.png", img_bytes(Image.fromarray(arr), "PNG"))
put("image/gray.png", img_bytes(Image.fromarray(arr[:, :, 0]), "PNG"))
put("image/rgba.png", img_bytes(Image.fromarray(np.dstack([arr, arr[:, :, :1]])), "PNG"))
put("image/palette.png", img_bytes(Image.fromarray(arr).convert("P"), "PNG"))
put("image/gray16.png", img_bytes(Image.fromarray(arr[:, :, 0].astype(np.uint16) * 257), "PNG"))
put("image/rgb.jpg", img_bytes(Image.fromarray(arr), "JPEG", quality=80))
put("image/gray_progressive.jpg", img_bytes(Image.fromarray(arr[:, :, 1]), "JPEG", progressive=True))
name = b"tiny\0"
put("image/tiny.pat", struct.pack(">IIIII", 24 + len(name), 1, 3, 2, 3) + b"GPAT" + name + bytes(range(18)))
PYEOF
# glyphs: a few lines of GNU Unifont and of a Hershey font
grep -E '^00(41|42|67|E9):' /usr/share/unifont/unifont.hex > "$C/glyph/unifont_ab.hex"
grep -E '^4E00:' /usr/share/unifont/unifont.hex > "$C/glyph/unifont_wide.hex"
head -c 600 /usr/share/hershey-fonts/rowmans.jhf | head -n 6 > "$C/glyph/rowmans_head.jhf"
# checkpoints and detector files, written by ebood itself
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
{ echo "a,b,c,label"; for i in $(seq 1 30); do echo "$((i % 7)).5,$((i % 3)),-$((i % 5)).25,$((i % 2))"; done; } > "$T/d.csv"
"$EBOOD" train --data "$T/d.csv" --widths 4 --steps 2 --batch-size 8 --warmup 0 -o "$C/checkpoint/mlp.st" >/dev/null 2>&1
"$EBOOD" extract --model "$C/checkpoint/mlp.st" --data "$T/d.csv" --logits "$T/l.npy" --features "$T/f.npy" \
  --labels "$T/y.npy" >/dev/null 2>&1
for det in msp energy; do
  "$EBOOD" fit --detector "$det" --logits "$T/l.npy" -o "$C/detector/$det.st" >/dev/null
done
for det in mahalanobis ssd gmm; do
  "$EBOOD" fit --detector "$det" --features "$T/f.npy" --labels "$T/y.npy" -o "$C/detector/$det.st" >/dev/null
done
"$EBOOD" fit --detector knn --k 3 --features "$T/f.npy" -o "$C/detector/knn.st" >/dev/null
du -sh "$C"
