#!/usr/bin/python3
"""PyTorch state_dict <-> ebood checkpoint, with Debian's python3-torch only (no download, no torchvision).

Import (a state_dict saved with torch.save, a checkpoint dict holding one, or a pickled nn.Module):
    /usr/bin/python3 scripts/torch_import.py STATE.pt --arch resnet|wrn|mlp -o MODEL.safetensors
        [--input-size H,W] [--mean M1,M2,M3 --std S1,S2,S3] [--dropout P] [--activation NAME[:PARAM]]
  --arch resnet  torchvision ResNet-18/34 ("downsample" shortcuts) or OpenOOD's ResNet18_32x32
                 ("shortcut"); the depth comes from the blocks, the stem from conv1's kernel: 3x3 = the
                 CIFAR stem (stride 1, no max-pool), 7x7 = torchvision's ImageNet stem. --input-size:
                 default 32,32 (CIFAR stem) or 224,224 (ImageNet stem).
  --arch wrn     the WideResNet of the OE / energy fine-tuning code (wrn.py: block1.layer.0.bn1, …,
                 convShortcut, bn1, fc); depth and widen from the blocks; --dropout (its droprate,
                 used only when fine-tuning; default 0). --input-size default 32,32.
  --arch mlp     nn.Linear layers in state_dict order (any module names, e.g. an nn.Sequential's
                 0, 2, 4); the activation is not in a state_dict: --activation is required
                 (relu, leaky_relu:0.01, elu, softplus, tanh, sigmoid, swish).
  --mean/--std   the input normalisation of an image model, stored as the checkpoint's ebood.normalize
                 (ebood eval/fit on image data apply it).
  A "module." prefix (DataParallel) is removed; BatchNorm's num_batches_tracked is dropped. Strict:
  every tensor must map to one of the architecture's, with its shape; a missing, unknown or mis-shaped
  key, or a NaN/Inf value, is an error naming the key. Output written atomically.

Export (the other way; a plain state_dict of the torch.nn twin below, strict names and shapes):
    /usr/bin/python3 scripts/torch_import.py --export MODEL.safetensors -o STATE.pt [--names torchvision]
  In Python: `module, meta = torch_import.ebood_to_torch("MODEL.safetensors")` gives the nn.Module in
  eval mode; module(x) returns logits, module.features(x) the penultimate features.

Exit codes: 0 done; 1 the file cannot be imported/exported (one line on stderr); 2 usage.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_mlp_check import Mismatch, Unusable, make_activation, read_safetensors, write_safetensors  # noqa: E402


class ImportFailure(Exception):
    pass


# ---- the torch.nn twins of ebood's architectures (their state_dict names are ebood's) -------------------

def resnet_module(torch, depth, channels, num_classes, stem="cifar", shortcut="shortcut"):
    """torchvision's ResNet-18/34 (stem "imagenet") or its CIFAR variant (stem "cifar": 3x3 stride-1
    conv, no max-pool: OpenOOD's ResNet18_32x32). shortcut: the projection's name, "shortcut" (OpenOOD,
    ebood) or "downsample" (torchvision)."""
    nn = torch.nn
    blocks = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}[depth]

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.proj = None
            if stride != 1 or cin != cout:
                setattr(self, shortcut, nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                      nn.BatchNorm2d(cout)))
                self.proj = shortcut

        def forward(self, x):
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(y + (getattr(self, self.proj)(x) if self.proj else x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            imagenet = stem == "imagenet"
            self.conv1 = nn.Conv2d(channels, 64, 7 if imagenet else 3, 2 if imagenet else 1, 3 if imagenet else 1,
                                   bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.maxpool = nn.MaxPool2d(3, 2, 1) if imagenet else nn.Identity()
            cin = 64
            for i, (n, cout) in enumerate(zip(blocks, (64, 128, 256, 512))):
                layers = []
                for b in range(n):
                    layers.append(BasicBlock(cin, cout, 2 if b == 0 and i > 0 else 1))
                    cin = cout
                setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
            self.fc = nn.Linear(512, num_classes)

        def features(self, x):
            h = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
            h = self.layer4(self.layer3(self.layer2(self.layer1(h))))
            return h.mean(dim=(2, 3))

        def forward(self, x):
            return self.fc(self.features(x))

    return ResNet()


def wrn_module(torch, depth, widen, channels, num_classes, dropout=0.0):
    """The OE / energy fine-tuning code's WideResNet (wrn.py), pre-activation blocks."""
    nn = torch.nn
    n = (depth - 4) // 6
    widths = (16, 16 * widen, 32 * widen, 64 * widen)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(cin)
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.equal = cin == cout
            self.convShortcut = None if self.equal else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

        def forward(self, x):
            a = torch.relu(self.bn1(x))
            y = torch.relu(self.bn2(self.conv1(a)))
            y = self.conv2(nn.functional.dropout(y, p=dropout, training=self.training))
            return y + (x if self.equal else self.convShortcut(a))

    class Group(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.layer = nn.Sequential(*[Block(cin if i == 0 else cout, cout, stride if i == 0 else 1)
                                         for i in range(n)])

        def forward(self, x):
            return self.layer(x)

    class WideResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
            self.block1 = Group(widths[0], widths[1], 1)
            self.block2 = Group(widths[1], widths[2], 2)
            self.block3 = Group(widths[2], widths[3], 2)
            self.bn1 = nn.BatchNorm2d(widths[3])
            self.fc = nn.Linear(widths[3], num_classes)

        def features(self, x):
            h = self.block3(self.block2(self.block1(self.conv1(x))))
            return torch.relu(self.bn1(h)).mean(dim=(2, 3))

        def forward(self, x):
            return self.fc(self.features(x))

    return WideResNet()


def mlp_module(torch, cfg):
    """ebood's MLP (layers.i, activation then dropout after each hidden layer)."""
    nn = torch.nn
    dims = [int(cfg["in_dim"])] + [int(h) for h in cfg["hidden"]] + [int(cfg["out_dim"])]

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
            self.act = make_activation(nn, cfg["activation"], float(cfg["activation_param"]))
            self.drop = nn.Dropout(float(cfg["dropout"]))

        def features(self, x):
            for layer in self.layers[:-1]:
                x = self.act(layer(x))
            return x

        def forward(self, x):
            return self.layers[-1](self.drop(self.features(x)))

    return MLP()


def build_module(torch, kind, cfg, names="ebood"):
    """The twin of an ebood.config; names "torchvision" gives a ResNet torchvision's "downsample" names."""
    if kind == "mlp":
        return mlp_module(torch, cfg)
    if kind == "resnet":
        return resnet_module(torch, int(cfg["depth"]), int(cfg["channels"]), int(cfg["num_classes"]),
                             cfg.get("stem", "cifar"), "downsample" if names == "torchvision" else "shortcut")
    if kind == "wrn":
        return wrn_module(torch, int(cfg["depth"]), int(cfg["widen"]), int(cfg["channels"]),
                          int(cfg["num_classes"]), float(cfg["dropout"]))
    raise ImportFailure(f"model kind '{kind}' has no torch twin here (resnet, wrn, mlp)")


# ---- import ------------------------------------------------------------------------------------------

def load_state_dict(torch, path):
    """The {name: tensor} a file holds: a state_dict, a dict with one under state_dict/model/net, or a
    pickled nn.Module. A "module." prefix on every key is removed."""
    try:
        obj = torch.load(path, map_location="cpu")
    except FileNotFoundError:
        raise ImportFailure(f"{path}: no such file") from None
    except Exception as e:  # torch.load raises many kinds on a bad file
        raise ImportFailure(f"{path}: not a file torch.load reads ({type(e).__name__}: {e})") from None
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict) and not any(torch.is_tensor(v) for v in obj.values()):
        for key in ("state_dict", "model", "net"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) and torch.is_tensor(v)
                                                       for k, v in obj.items()):
        raise ImportFailure(f"{path}: not a state_dict (expected a dict of tensors, or one under "
                            f"'state_dict', 'model' or 'net')")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return {k: v for k, v in obj.items() if not k.endswith(".num_batches_tracked")}


def shape_of(sd, key, path):
    if key not in sd:
        raise ImportFailure(f"{path}: missing key '{key}'")
    return tuple(sd[key].shape)


def count_blocks(sd, pattern):
    """How many consecutive indices i have a key matching pattern.format(i)."""
    i = 0
    while any(k.startswith(pattern.format(i)) for k in sd):
        i += 1
    return i


def resnet_config(sd, path, input_size):
    conv1 = shape_of(sd, "conv1.weight", path)
    if len(conv1) != 4 or conv1[2:] not in ((3, 3), (7, 7)):
        raise ImportFailure(f"{path}: conv1.weight has shape {list(conv1)}: expected a 3x3 (CIFAR stem) "
                            f"or 7x7 (ImageNet stem) convolution")
    stem = "cifar" if conv1[2] == 3 else "imagenet"
    per_stage = tuple(count_blocks(sd, f"layer{s}.{{}}.") for s in (1, 2, 3, 4))
    depth = {(2, 2, 2, 2): 18, (3, 4, 6, 3): 34}.get(per_stage)
    if depth is None:
        raise ImportFailure(f"{path}: blocks per stage {list(per_stage)}: ResNet-18 has [2, 2, 2, 2], "
                            f"ResNet-34 [3, 4, 6, 3] (Bottleneck ResNets are not supported)")
    h, w = input_size or ((224, 224) if stem == "imagenet" else (32, 32))
    cfg = {"channels": conv1[1], "height": h, "width": w, "num_classes": shape_of(sd, "fc.weight", path)[0],
           "depth": depth, "widen": 0, "dropout": 0}
    if stem == "imagenet":
        cfg["stem"] = "imagenet"
    renamed = {re.sub(r"\.downsample\.", ".shortcut.", k): v for k, v in sd.items()}
    return cfg, renamed


def wrn_config(sd, path, input_size, dropout):
    conv1 = shape_of(sd, "conv1.weight", path)
    n = count_blocks(sd, "block1.layer.{}.")
    width1 = shape_of(sd, "block1.layer.0.conv1.weight", path)[0]
    if len(conv1) != 4 or n < 1 or width1 % 16:
        raise ImportFailure(f"{path}: not the OE code's WideResNet (conv1 {list(conv1)}, {n} blocks in block1, "
                            f"block1 width {width1})")
    h, w = input_size or (32, 32)
    cfg = {"channels": conv1[1], "height": h, "width": w, "num_classes": shape_of(sd, "fc.weight", path)[0],
           "depth": 6 * n + 4, "widen": width1 // 16, "dropout": dropout}
    return cfg, dict(sd)


def mlp_config(sd, path, activation, dropout):
    keys = list(sd)
    if len(keys) % 2:
        raise ImportFailure(f"{path}: {len(keys)} tensors: an MLP has a weight and a bias per layer")
    renamed, dims = {}, []
    for i in range(0, len(keys), 2):
        w, b = keys[i], keys[i + 1]
        prefix = w[:-len("weight")] if w.endswith(".weight") else None
        if prefix is None or b != prefix + "bias":
            raise ImportFailure(f"{path}: unexpected key '{w if prefix is None else b}': an MLP's tensors are "
                                f"<layer>.weight, <layer>.bias pairs in order")
        if sd[w].dim() != 2 or tuple(sd[b].shape) != (sd[w].shape[0],):
            raise ImportFailure(f"{path}: {w} {list(sd[w].shape)} / {b} {list(sd[b].shape)}: not a linear layer")
        if dims and sd[w].shape[1] != dims[-1]:
            raise ImportFailure(f"{path}: {w} takes {sd[w].shape[1]} inputs, the previous layer gives {dims[-1]}")
        dims = dims or [int(sd[w].shape[1])]
        dims.append(int(sd[w].shape[0]))
        renamed[f"layers.{i // 2}.weight"], renamed[f"layers.{i // 2}.bias"] = sd[w], sd[b]
    name, _, param = activation.partition(":")
    defaults = {"leaky_relu": 0.01, "elu": 1.0, "softplus": 1.0}
    if name not in ("relu", "leaky_relu", "elu", "softplus", "tanh", "sigmoid", "swish"):
        raise ImportFailure(f"--activation {activation}: expected relu, leaky_relu[:A], elu[:A], softplus[:B], "
                            f"tanh, sigmoid or swish")
    cfg = {"in_dim": dims[0], "out_dim": dims[-1], "hidden": dims[1:-1], "activation": name,
           "activation_param": float(param) if param else defaults.get(name, 0.0), "dropout": dropout}
    return cfg, renamed


def import_state_dict(torch, np, sd, path, arch, input_size=None, activation=None, dropout=0.0):
    """(kind, ebood.config, [(name, float32 array)]) of a state_dict, checked against the twin."""
    if arch == "resnet":
        cfg, renamed = resnet_config(sd, path, input_size)
    elif arch == "wrn":
        cfg, renamed = wrn_config(sd, path, input_size, dropout)
    else:
        if not activation:
            raise ImportFailure("--arch mlp needs --activation (a state_dict does not record it)")
        cfg, renamed = mlp_config(sd, path, activation, dropout)
    twin = build_module(torch, arch, cfg).state_dict()
    want = {k: tuple(v.shape) for k, v in twin.items() if not k.endswith(".num_batches_tracked")}
    unknown = [k for k in renamed if k not in want]
    missing = [k for k in want if k not in renamed]
    if unknown or missing:
        what = []
        if unknown:
            what.append(f"unknown keys {', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''}")
        if missing:
            what.append(f"missing keys {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
        raise ImportFailure(f"{path}: not a {describe(arch, cfg)}: {'; '.join(what)}")
    tensors = []
    for k, shape in want.items():
        t = renamed[k]
        if tuple(t.shape) != shape:
            raise ImportFailure(f"{path}: {k} has shape {list(t.shape)}, a {describe(arch, cfg)} needs {list(shape)}")
        if not t.is_floating_point():
            raise ImportFailure(f"{path}: {k} has dtype {t.dtype}, expected a floating-point tensor")
        a = t.detach().to(torch.float32).contiguous().numpy()
        if not np.all(np.isfinite(a)):
            raise ImportFailure(f"{path}: {k} holds NaN or Inf values")
        tensors.append((k, a))
    return arch, cfg, tensors


def describe(arch, cfg):
    if arch == "resnet":
        return f"ResNet-{cfg['depth']} ({cfg.get('stem', 'cifar')} stem)"
    if arch == "wrn":
        return f"WRN-{cfg['depth']}-{cfg['widen']}"
    return f"MLP {[cfg['in_dim']] + cfg['hidden'] + [cfg['out_dim']]}"


def write_atomic(path, write):
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def parse_floats(flag, text, n=None):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ImportFailure(f"{flag} {text}: expected comma-separated numbers") from None
    if n is not None and len(values) != n:
        raise ImportFailure(f"{flag} {text}: expected {n} values")
    return values


# ---- export --------------------------------------------------------------------------------------------

def ebood_to_torch(path, names="ebood"):
    """(nn.Module in eval mode with the checkpoint's weights, its __metadata__)."""
    import numpy as np
    import torch
    if not os.path.exists(path):
        raise ImportFailure(f"{path}: no such file")
    tensors, meta = read_safetensors(path, np)
    if "ebood.model" not in meta or "ebood.config" not in meta:
        raise ImportFailure(f"{path}: not an ebood checkpoint (no ebood.model / ebood.config metadata)")
    kind, cfg = meta["ebood.model"], json.loads(meta["ebood.config"])
    module = build_module(torch, kind, cfg, names)
    state = module.state_dict()
    model_tensors = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    if kind == "resnet" and names == "torchvision":
        model_tensors = {k.replace(".shortcut.", ".downsample."): v for k, v in model_tensors.items()}
    for k in state:
        if k.endswith(".num_batches_tracked"):
            model_tensors[k] = np.zeros((), dtype=np.int64)  # ebood does not count BatchNorm batches
    try:
        module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model_tensors.items()}, strict=True)
    except RuntimeError as e:
        raise ImportFailure(f"{path}: does not fit a torch {kind}: {' '.join(str(e).split())}") from None
    return module.eval(), meta


def main(argv):
    p = argparse.ArgumentParser(prog="torch_import.py", description=__doc__.split("\n")[0])
    p.add_argument("source", nargs="?", help="the state_dict file (import)")
    p.add_argument("--arch", choices=("resnet", "wrn", "mlp"))
    p.add_argument("--export", metavar="CKPT", help="write CKPT's weights as a torch state_dict instead")
    p.add_argument("--names", choices=("ebood", "torchvision"), default="ebood",
                   help="export: ResNet shortcut names (ebood/OpenOOD 'shortcut' or torchvision 'downsample')")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--input-size", metavar="H,W")
    p.add_argument("--mean")
    p.add_argument("--std")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--activation")
    a = p.parse_args(argv[1:])
    if bool(a.export) == bool(a.source) or (a.source and not a.arch):
        p.error("give either STATE.pt --arch ARCH (import) or --export CKPT")
    import numpy as np
    import torch
    try:
        if a.export:
            module, meta = ebood_to_torch(a.export, a.names)
            write_atomic(a.output, lambda tmp: torch.save(module.state_dict(), tmp))
            print(f"{a.output}: torch state_dict of a {meta['ebood.model']} {meta['ebood.config']}")
            return 0
        if not 0.0 <= a.dropout < 1.0:
            raise ImportFailure(f"--dropout {a.dropout}: expected a value in [0, 1)")
        size = None
        if a.input_size:
            size = [int(v) for v in parse_floats("--input-size", a.input_size, 2)]
        sd = load_state_dict(torch, a.source)
        kind, cfg, tensors = import_state_dict(torch, np, sd, a.source, a.arch, size, a.activation, a.dropout)
        meta = {"ebood.format_version": "1", "ebood.model": kind,
                "ebood.config": json.dumps(cfg, separators=(",", ":")),
                "ebood.provenance": f"scripts/torch_import.py {os.path.basename(a.source)} --arch {a.arch}"}
        if bool(a.mean) != bool(a.std):
            raise ImportFailure("--mean and --std go together")
        if a.mean:
            if kind == "mlp":
                raise ImportFailure("--mean/--std: only image models record an input normalisation")
            mean = parse_floats("--mean", a.mean, cfg["channels"])
            std = parse_floats("--std", a.std, cfg["channels"])
            if not all(s > 0 for s in std):
                raise ImportFailure(f"--std {a.std}: every value must be > 0")
            meta["ebood.normalize"] = json.dumps({"mean": mean, "std": std})
        write_atomic(a.output, lambda tmp: write_safetensors(tmp, tensors, meta))
        n = sum(t.size for _, t in tensors)
        print(f"{a.output}: {describe(kind, cfg)}, {len(tensors)} tensors, {n:,} values")
        return 0
    except (ImportFailure, Mismatch, Unusable) as e:
        print(f"torch_import: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
