"""scripts/torch_import.py: PyTorch state_dicts with random weights (and random BatchNorm statistics)
imported into ebood give PyTorch's logits and penultimate features; bad state_dicts are refused with one
line; the export goes back to the same tensors."""
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import ebood

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCRIPT = os.path.join(REPO, "scripts", "torch_import.py")
sys.path.insert(0, os.path.join(REPO, "scripts"))
try:
    import torch
    import torch_import
except ImportError as e:  # python3-torch is in scripts/install-deps.sh; without it the test cannot run
    raise unittest.SkipTest(f"no torch: {e}")

torch.set_num_threads(1)


def randomise(module, seed):
    """Random weights and BatchNorm statistics, so eval-mode BatchNorm is not an identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) * 1.5 + 0.5)
            elif name.endswith("running_mean") or (name.endswith("bias") and t.dim() == 1):
                t.copy_(torch.randn(t.shape, generator=g) * 0.2)
            elif name.endswith("num_batches_tracked"):
                t.fill_(7)
            elif t.dim() == 1:  # BatchNorm weight
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
    return module.eval()


def run(*args):
    """The script's main() in this process (torch is imported once): (exit code, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = torch_import.main(["torch_import.py", *args])
        except SystemExit as e:
            code = e.code
    return code, err.getvalue()


def outputs(module, x):
    with torch.no_grad():
        t = torch.from_numpy(x)
        return module(t).numpy(), module.features(t).numpy()


class ImportEquivalenceTest(unittest.TestCase):
    """Every supported architecture: torch's logits/features = ebood's on the imported checkpoint."""

    def check(self, label, module, state, x, args):
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, "sd.pt"), os.path.join(tmp, "m.safetensors")
            torch.save(state, src)
            code, err = run(src, "-o", out, *args)
            self.assertEqual(code, 0, f"{label}: {err}")
            model = ebood.Model.load(out)
        logits, feats = model.predict(x, batch_size=len(x))
        ref_logits, ref_feats = outputs(module, x)
        for name, got, ref in (("logits", logits, ref_logits), ("features", feats, ref_feats)):
            self.assertEqual(got.shape, ref.shape, f"{label} {name}")
            scale = max(1.0, float(np.abs(ref).max()))
            diff = float(np.abs(got - ref).max())
            print(f"{label}: max |{name} diff| {diff:.2e} (scale {scale:.1f})", file=sys.stderr)
            self.assertLessEqual(diff, 1e-4 * scale, f"{label} {name}")
        return model

    def image_input(self, shape, seed=0):
        return np.random.default_rng(seed).normal(size=shape).astype(np.float32)

    def test_torchvision_resnet_cifar_stem(self):
        for depth in (18, 34):
            m = randomise(torch_import.resnet_module(torch, depth, 3, 10, "cifar", "downsample"), depth)
            model = self.check(f"torchvision resnet{depth} cifar stem", m, m.state_dict(),
                               self.image_input((3, 3, 32, 32)), ["--arch", "resnet"])
            self.assertEqual(model.config["depth"], depth)

    def test_torchvision_resnet_imagenet_stem(self):
        for depth in (18, 34):
            m = randomise(torch_import.resnet_module(torch, depth, 3, 7, "imagenet", "downsample"), depth + 1)
            model = self.check(f"torchvision resnet{depth} imagenet stem", m, m.state_dict(),
                               self.image_input((2, 3, 64, 64)), ["--arch", "resnet", "--input-size", "64,64"])
            self.assertEqual(model.config["stem"], "imagenet")

    def test_openood_resnet18_32x32(self):
        m = randomise(torch_import.resnet_module(torch, 18, 3, 10, "cifar", "shortcut"), 5)
        # as OpenOOD saves it: a checkpoint dict, DataParallel's "module." prefix
        state = {"state_dict": {"module." + k: v for k, v in m.state_dict().items()}, "epoch": 100}
        self.check("openood resnet18_32x32", m, state, self.image_input((3, 3, 32, 32)), ["--arch", "resnet"])

    def test_oe_code_wrn(self):
        for depth, widen in ((40, 2), (16, 1)):  # WRN-16-1: block1's first block has no shortcut conv
            m = randomise(torch_import.wrn_module(torch, depth, widen, 3, 10, dropout=0.3), depth)
            model = self.check(f"OE code WRN-{depth}-{widen}", m, m.state_dict(), self.image_input((3, 3, 32, 32)),
                               ["--arch", "wrn", "--dropout", "0.3"])
            self.assertEqual((model.config["depth"], model.config["widen"]), (depth, widen))

    def test_mlp_sequential(self):
        torch.manual_seed(0)
        nn = torch.nn
        seq = nn.Sequential(nn.Linear(18, 32), nn.LeakyReLU(0.2), nn.Linear(32, 16), nn.LeakyReLU(0.2),
                            nn.Linear(16, 6)).eval()

        class Twin(nn.Module):  # the reference's features: the input of the last layer
            def forward(self, x):
                return seq(x)

            def features(self, x):
                return seq[:4](x)

        x = np.random.default_rng(1).normal(size=(9, 18)).astype(np.float32)
        model = self.check("mlp (nn.Sequential)", Twin(), seq.state_dict(), x,
                           ["--arch", "mlp", "--activation", "leaky_relu:0.2"])
        self.assertEqual(model.config["hidden"], [32, 16])


class ImportBadInputTest(unittest.TestCase):
    def expect_fail(self, state, args, pattern, raw=None):
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, "sd.pt"), os.path.join(tmp, "out.safetensors")
            if raw is not None:
                with open(src, "wb") as f:
                    f.write(raw)
            elif state is not None:
                torch.save(state, src)
            code, err = run(src, "-o", out, *args)
            self.assertEqual(code, 1, err)
            lines = err.strip().splitlines()
            self.assertEqual(len(lines), 1, err)
            self.assertRegex(lines[0], pattern)
            self.assertEqual(os.listdir(tmp), ["sd.pt"] if (raw is not None or state is not None) else [])

    def test_strict_checks(self):
        sd = torch_import.resnet_module(torch, 18, 3, 10).state_dict()
        extra = dict(sd, **{"fc.extra": torch.zeros(3)})
        self.expect_fail(extra, ["--arch", "resnet"], r"sd\.pt: not a ResNet-18 \(cifar stem\): unknown keys fc\.extra")
        missing = {k: v for k, v in sd.items() if k != "layer3.1.bn2.running_var"}
        self.expect_fail(missing, ["--arch", "resnet"], r"missing keys layer3\.1\.bn2\.running_var")
        wrong = dict(sd, **{"layer2.0.conv2.weight": torch.zeros(128, 128, 1, 1)})
        self.expect_fail(wrong, ["--arch", "resnet"],
                         r"layer2\.0\.conv2\.weight has shape \[128, 128, 1, 1\], a ResNet-18 \(cifar stem\) needs \[128, 128, 3, 3\]")
        nan = dict(sd, **{"fc.bias": torch.full((10,), float("nan"))})
        self.expect_fail(nan, ["--arch", "resnet"], r"fc\.bias holds NaN or Inf")
        self.expect_fail(sd, ["--arch", "wrn"], r"missing key 'block1\.layer\.0\.conv1\.weight'")
        self.expect_fail(torch.zeros(3), ["--arch", "resnet"], r"not a state_dict")
        self.expect_fail(None, ["--arch", "resnet"], r"sd\.pt: no such file")
        self.expect_fail(None, ["--arch", "resnet"], r"not a file torch\.load reads", raw=b"garbage")
        mlp = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(2, 2)).state_dict()
        self.expect_fail(mlp, ["--arch", "mlp", "--activation", "relu"], r"2\.weight takes 2 inputs, the previous layer gives 3")
        self.expect_fail(mlp, ["--arch", "mlp"], r"--arch mlp needs --activation")
        wrn = torch_import.wrn_module(torch, 16, 1, 3, 10).state_dict()
        self.expect_fail(wrn, ["--arch", "wrn", "--mean", "0.5,0.5", "--std", "0.2,0.2,0.2"], r"--mean 0\.5,0\.5: expected 3 values")


    def test_checkpoint_with_a_bad_stem(self):
        m = torch_import.resnet_module(torch, 18, 3, 10, "imagenet")
        with tempfile.TemporaryDirectory() as tmp:
            src, ck = os.path.join(tmp, "sd.pt"), os.path.join(tmp, "m.st")
            torch.save(m.state_dict(), src)
            self.assertEqual(run(src, "--arch", "resnet", "-o", ck)[0], 0)
            tensors, meta = torch_import.read_safetensors(ck, np)
            good = meta["ebood.config"]
            self.assertIn('"stem":"imagenet"', good)
            for bad in ('"stem":"bogus"', '"stem":1'):
                meta["ebood.config"] = good.replace('"stem":"imagenet"', bad)
                torch_import.write_safetensors(ck, list(tensors.items()), meta)
                with self.assertRaisesRegex(ebood.FormatError, r"m\.st: ebood\.config out of range"):
                    ebood.Model.load(ck)


class ExportTest(unittest.TestCase):
    def test_round_trip_and_normalisation(self):
        m = randomise(torch_import.resnet_module(torch, 18, 3, 10, "cifar", "downsample"), 9)
        with tempfile.TemporaryDirectory() as tmp:
            src, ck, back = (os.path.join(tmp, n) for n in ("sd.pt", "m.safetensors", "back.pt"))
            torch.save(m.state_dict(), src)
            code, err = run(src, "--arch", "resnet", "--mean", "0.49,0.48,0.45", "--std", "0.25,0.24,0.26", "-o", ck)
            self.assertEqual(code, 0, err)
            code, err = run("--export", ck, "--names", "torchvision", "-o", back)
            self.assertEqual(code, 0, err)
            exported = torch.load(back)
            module, meta = torch_import.ebood_to_torch(ck)
        self.assertEqual(meta["ebood.normalize"], '{"mean": [0.49, 0.48, 0.45], "std": [0.25, 0.24, 0.26]}')
        original = {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
        self.assertEqual(set(original), {k for k in exported if not k.endswith("num_batches_tracked")})
        for k, v in original.items():
            self.assertTrue(torch.equal(exported[k], v), k)
        x = np.random.default_rng(2).normal(size=(2, 3, 32, 32)).astype(np.float32)
        np.testing.assert_allclose(outputs(module, x)[0], outputs(m, x)[0], rtol=0, atol=1e-5)

    def test_command_line(self):
        """As a program: exit codes and one line on stderr (usage errors are argparse's, exit 2)."""
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([sys.executable, SCRIPT, "--export", os.path.join(tmp, "absent.st"), "-o",
                                os.path.join(tmp, "x.pt")], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertRegex(r.stderr.strip(), r"^torch_import: .*absent\.st: no such file$")
            self.assertEqual(os.listdir(tmp), [])
            code, err = run(os.path.join(tmp, "sd.pt"), "-o", os.path.join(tmp, "x.st"))
            self.assertEqual(code, 2)
            self.assertIn("give either STATE.pt --arch ARCH (import) or --export CKPT", err)


if __name__ == "__main__":
    unittest.main()
