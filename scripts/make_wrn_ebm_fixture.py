#!/usr/bin/python3
"""PyTorch reference for the EBM paper's WideResNet, ebood model kind "wrn_ebm" (src/nn/wrn_ebm.c;
tests/test_wrn_ebm.c reads what this writes).

The network is written here from its description, independently of ebood and of the paper's code:
  conv1 3x3 (in -> 16, bias);  three groups of n = (depth - 4) / 6 blocks, widths 16k, 32k, 64k,
  strides 1, 2, 2 (on the first block of a group, on its SECOND convolution); each block
      y = conv2(lrelu(dropout(conv1(lrelu(x)))))  + (x, or a 1x1 conv "shortcut.0" with the stride
                                                     when the width or the size changes)
  with no normalisation, LeakyReLU(0.2), a bias on every convolution; after a group's blocks, with a
  bottleneck factor r > 0, a 1x1 conv c -> int(r*c) and a 1x1 conv back to c (both with bias, nothing
  between), as entries n and n+1 of the group's nn.Sequential ("layer1.1.weight", "layer1.2.weight"
  for depth 10); then lrelu -> global average pool -> nn.Linear "linear".

Fixture (depth 10, widen 1, one 8x8 input channel, bottleneck 0.2, dropout 0.3 (a no-op in eval mode,
so the C model must ignore it too), 3 classes): convolution weights xavier_uniform_ with gain sqrt(2)
(the paper code's conv_init), every bias drawn U(-0.2, 0.2) instead of 0 so that biases are exercised,
the linear layer torch's default; torch.manual_seed(FIXTURE_SEED). The float32 parameters and float32
inputs (uniform in [-1, 1]) are then run in float64:
  tests/fixtures/nn/wrn_ebm.safetensors    the state_dict (F32) + ebood's __metadata__
                                           (ebood.format_version, ebood.model, ebood.config as
                                           eb_model_config_json writes it, ebood.provenance);
                                           written with struct + json + numpy only
  tests/fixtures/nn/wrn_ebm_input.npy      x [N, 1*8*8] float32 (NCHW rows)
  tests/fixtures/nn/wrn_ebm_logits.npy     logits [N, 3] float64
  tests/fixtures/nn/wrn_ebm_input_grad.npy d(sum_i logsumexp_k logits[i, k]) / dx  [N, 64] float64
It also prints the parameter count of WRN-10-2, bottleneck 0.2, 1x28x28, 10 classes (the number that
tests/test_wrn_ebm.c checks).

Usage: /usr/bin/python3 scripts/make_wrn_ebm_fixture.py [OUT_DIR]   (Debian's torch and numpy)
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_mlp_check import write_safetensors  # noqa: E402 (the one numpy-only safetensors writer)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_DIR = os.path.join(HERE, "..", "tests", "fixtures", "nn")

FIXTURE_CONFIG = {"channels": 1, "height": 8, "width": 8, "num_classes": 3, "depth": 10, "widen": 1,
                  "dropout": 0.3, "bottleneck": 0.2}
FIXTURE_ROWS = 4
FIXTURE_SEED = 20240611
LEAK = 0.2


class Block(nn.Module):
    """One residual block: conv1 (stride 1) and conv2 (the block's stride), pre-activation lrelu."""

    def __init__(self, c_in, c_out, stride, dropout):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=1, padding=1, bias=True)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=stride, padding=1, bias=True)
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, padding=0, bias=True))
        else:
            self.shortcut = nn.Sequential()  # no parameters: the identity

    def forward(self, x):
        act = nn.functional.leaky_relu
        y = self.drop(self.conv1(act(x, LEAK)))
        y = self.conv2(act(y, LEAK))
        return y + self.shortcut(x)


class EbmWideResNet(nn.Module):
    def __init__(self, channels, num_classes, depth, widen, dropout, bottleneck):
        super().__init__()
        assert depth >= 10 and (depth - 4) % 6 == 0
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(channels, 16, 3, stride=1, padding=1, bias=True)
        c = 16
        for g, (width, stride) in enumerate(((16 * widen, 1), (32 * widen, 2), (64 * widen, 2))):
            mods = []
            for b in range(n):
                mods.append(Block(c, width, stride if b == 0 else 1, dropout))
                c = width
            if bottleneck > 0:
                narrow = int(c * bottleneck)
                mods.append(nn.Conv2d(c, narrow, 1, bias=True))
                mods.append(nn.Conv2d(narrow, c, 1, bias=True))
            setattr(self, f"layer{g + 1}", nn.Sequential(*mods))
        self.linear = nn.Linear(c, num_classes)

    def forward(self, x):
        h = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        h = nn.functional.leaky_relu(h, LEAK)
        return self.linear(h.mean(dim=(2, 3)))  # global average pool


def build(cfg):
    return EbmWideResNet(cfg["channels"], cfg["num_classes"], cfg["depth"], cfg["widen"], cfg["dropout"],
                         cfg["bottleneck"])


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else FIXTURE_DIR
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(FIXTURE_SEED)
    cfg = FIXTURE_CONFIG
    model = build(cfg)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.xavier_uniform_(mod.weight, gain=2 ** 0.5)
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                nn.init.uniform_(mod.bias, -0.2, 0.2)
    model.eval()
    state = [(k, v.detach().numpy().astype(np.float32)) for k, v in model.state_dict().items()]
    meta = {"ebood.format_version": "1", "ebood.model": "wrn_ebm",
            "ebood.config": json.dumps(cfg, separators=(",", ":")),
            "ebood.provenance": "scripts/make_wrn_ebm_fixture.py"}
    write_safetensors(os.path.join(out_dir, "wrn_ebm.safetensors"), state, meta)

    dim = cfg["channels"] * cfg["height"] * cfg["width"]
    x32 = (torch.rand(FIXTURE_ROWS, dim, dtype=torch.float32) * 2 - 1)
    model64 = model.double()  # the float32 parameters, exactly, in float64
    x = x32.double().requires_grad_()
    logits = model64(x.view(FIXTURE_ROWS, cfg["channels"], cfg["height"], cfg["width"]))
    f = torch.logsumexp(logits, dim=1)
    (grad,) = torch.autograd.grad(f.sum(), x)
    np.save(os.path.join(out_dir, "wrn_ebm_input.npy"), x32.numpy())
    np.save(os.path.join(out_dir, "wrn_ebm_logits.npy"), logits.detach().numpy())
    np.save(os.path.join(out_dir, "wrn_ebm_input_grad.npy"), grad.numpy())
    n_params = sum(a.size for _, a in state)
    print(f"wrote {out_dir}: {len(state)} tensors ({n_params} parameters), input {tuple(x32.shape)}")
    print("logits:\n", logits.detach().numpy())
    print("max |grad|:", float(grad.abs().max()), " f:", f.detach().numpy())

    big = EbmWideResNet(1, 10, 10, 2, 0.0, 0.2)
    print("WRN-10-2, bottleneck 0.2, 1x28x28, 10 classes:")
    for k, v in big.state_dict().items():
        print(f"  {k} {list(v.shape)}")
    print("  parameters:", sum(p.numel() for p in big.parameters()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
