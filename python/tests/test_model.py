"""ebood.Model: logits and features of a checkpoint against PyTorch's output and a NumPy forward pass."""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import ebood

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(REPO, "tests", "fixtures", "nn")
CLI = os.environ.get("EBOOD_CLI", os.path.join(REPO, "build", "ebood"))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import torch_mlp_check  # noqa: E402  (its numpy-only safetensors reader)


def leaky(x, a):
    return np.where(x > 0, x, a * x)


class ModelTest(unittest.TestCase):
    def setUp(self):
        self.path = os.path.join(FIX, "torch_mlp.safetensors")  # written from a torch state_dict
        self.x = np.load(os.path.join(FIX, "torch_input.npy"))
        self.torch_logits = np.load(os.path.join(FIX, "torch_logits.npy"))
        self.model = ebood.Model.load(self.path)

    def test_shapes_and_config(self):
        m = self.model
        self.assertEqual((m.in_dim, m.out_dim, m.feature_dim), (5, 3, 6))
        self.assertEqual(m.config["hidden"], [8, 6])
        self.assertEqual(m.config["activation"], "leaky_relu")

    def test_logits_and_features(self):
        logits, feats = self.model.predict(self.x)
        np.testing.assert_allclose(logits, self.torch_logits, atol=1e-5)
        tensors, _ = torch_mlp_check.read_safetensors(self.path, np)
        h = self.x.astype(np.float64)
        for i in range(2):
            h = leaky(h @ tensors[f"layers.{i}.weight"].T.astype(np.float64) + tensors[f"layers.{i}.bias"], 0.2)
        np.testing.assert_allclose(feats, h, atol=1e-5)
        np.testing.assert_array_equal(self.model.logits(self.x, batch_size=2), logits)
        np.testing.assert_array_equal(self.model.features(self.x), feats)

    def test_detector_on_model_outputs(self):
        logits, feats = self.model.predict(self.x)
        s = ebood.Detector("energy").fit(logits).score(logits)
        np.testing.assert_array_equal(s, ebood.logit_scores(logits, "energy"))
        self.assertEqual(ebood.Detector("knn", k=2).fit(feats).score(feats).shape, (7,))

    def test_odin_through_the_model(self):
        det = ebood.Detector("odin", eps=0.01).fit(self.x, model=self.model, X_val=self.x)
        s = det.score(self.x)
        self.assertEqual(s.shape, (7,))
        self.assertTrue(np.all((s > 0) & (s <= 1)))
        self.assertIsNotNone(det.threshold_)
        with tempfile.TemporaryDirectory() as tmp:
            det.save(os.path.join(tmp, "odin.st"))
            loaded = ebood.Detector.load(os.path.join(tmp, "odin.st"))
        with self.assertRaisesRegex(ebood.ArgumentError, "model: missing"):
            loaded.score(self.x)
        np.testing.assert_array_equal(loaded.score(self.x, model=self.model), s)

    def test_bad_input(self):
        with self.assertRaisesRegex(ValueError, "X: 4 columns, the model takes 5"):
            self.model.predict(self.x[:, :4])
        with self.assertRaisesRegex(ValueError, r"X: shape \(7, 2, 2\) has 4 values per sample, the model takes 5"):
            self.model.predict(np.zeros((7, 2, 2)))
        with self.assertRaisesRegex(ValueError, "batch_size"):
            self.model.predict(self.x, batch_size=0)
        with self.assertRaisesRegex(ebood.ArgumentError, "std"):
            self.model.set_feature_pool("std")  # an MLP has no spatial map
        with tempfile.TemporaryDirectory() as tmp:
            trunc = os.path.join(tmp, "trunc.st")
            with open(self.path, "rb") as f, open(trunc, "wb") as g:
                g.write(f.read()[:-10])
            with self.assertRaisesRegex(ebood.FormatError, "trunc.st"):
                ebood.Model.load(trunc)
            with self.assertRaisesRegex(ebood.FileError, "absent.st"):
                ebood.Model.load(os.path.join(tmp, "absent.st"))


@unittest.skipUnless(os.access(CLI, os.X_OK), f"no ebood CLI at {CLI} (set EBOOD_CLI)")
class TableRecipeTest(unittest.TestCase):
    """A model trained on a raw CSV: Model.prepare(raw rows) = what ebood extract feeds the model."""

    def test_prepare_matches_the_cli(self):
        rng = np.random.default_rng(3)
        y = np.arange(120) % 3
        raw = np.stack([4000 + 250 * y + rng.normal(0, 40, 120), np.full(120, 2.5),
                        1e-3 * y + rng.normal(0, 2e-4, 120)], axis=1)
        with tempfile.TemporaryDirectory() as tmp:
            data, other, ckpt, logits = (os.path.join(tmp, n) for n in ("t.csv", "o.csv", "m.st", "l.npy"))
            for path, rows in ((data, raw), (other, raw[::2])):
                with open(path, "w") as f:
                    f.write("a,b,c,label\n")
                    for r, k in zip(rows, y if path == data else y[::2]):
                        f.write(f"{r[0]:.4f},{r[1]},{r[2]:.7f},{'xyz'[k]}\n")
            subprocess.run([CLI, "train", "--data", data, "--steps", "40", "--batch-size", "32", "--warmup", "0",
                            "--val-split", "0.2", "--ood-class", "z", "-o", ckpt], check=True, capture_output=True)
            subprocess.run([CLI, "extract", "--model", ckpt, "--data", other, "--logits", logits], check=True,
                           capture_output=True)
            model = ebood.Model.load(ckpt)
            recipe = model.tabular
            self.assertEqual((recipe["columns"], recipe["keep"], recipe["ood_class"]), (3, [0, 2], "z"))
            x = model.prepare(np.loadtxt(other, delimiter=",", skiprows=1, usecols=(0, 1, 2)))
            self.assertEqual(x.shape, (60, 2))
            kept = y[::2] != 2  # extract's ID rows of o.csv: its rows of the held-out class 'z' are its OOD split
            np.testing.assert_allclose(model.logits(x)[kept], np.load(logits), rtol=1e-5, atol=1e-5)
            with self.assertRaisesRegex(ValueError, "X: 2 columns, the model takes 3"):
                model.prepare(x)
        with self.assertRaisesRegex(ValueError, "no table recipe"):
            ebood.Model.load(os.path.join(FIX, "torch_mlp.safetensors")).prepare(np.zeros((1, 5)))


if __name__ == "__main__":
    unittest.main()
