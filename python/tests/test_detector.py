"""ebood.Detector against NumPy references, the CLI's files, and bad input."""
import os
import subprocess
import tempfile
import unittest

import numpy as np

import ebood

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CLI = os.environ.get("EBOOD_CLI", os.path.join(REPO, "build", "ebood"))


def l2n(x):
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn_reference(bank, q, k):
    d = np.linalg.norm(l2n(q)[:, None, :] - l2n(bank)[None, :, :], axis=2)
    return -np.sort(d, axis=1)[:, k - 1]


def mahalanobis_reference(f, y, q):
    f, q = np.asarray(f, np.float64), np.asarray(q, np.float64)
    classes = np.unique(y)
    mu = np.stack([f[y == c].mean(0) for c in classes])
    centred = f - mu[np.searchsorted(classes, y)]
    prec = np.linalg.inv(centred.T @ centred / len(f))
    diff = q[:, None, :] - mu[None]
    return np.max(-0.5 * np.einsum("ncd,de,nce->nc", diff, prec, diff), axis=1)


class Data:
    rng = np.random.default_rng(11)
    n, dim = 400, 6
    y = rng.integers(0, 3, n)
    centres = rng.normal(0, 3, (3, dim))
    train = (centres[y] + rng.normal(0, 1, (n, dim))).astype(np.float32)
    val = (centres[rng.integers(0, 3, 200)] + rng.normal(0, 1, (200, dim))).astype(np.float32)
    ood = rng.normal(0, 6, (150, dim)).astype(np.float32)
    logits = rng.normal(0, 2, (n, 5)).astype(np.float32)


class DetectorTest(unittest.TestCase):
    def test_knn_matches_numpy(self):
        det = ebood.Detector("knn", k=7).fit(Data.train)
        np.testing.assert_allclose(det.score(Data.ood), knn_reference(Data.train, Data.ood, 7), atol=2e-5)
        self.assertEqual(det.get_params(), {"k": 7, "tpr": 0.95})
        self.assertIsNone(det.threshold_)

    def test_mahalanobis_matches_numpy(self):
        det = ebood.Detector("mahalanobis").fit(Data.train, Data.y)
        ref = mahalanobis_reference(Data.train, Data.y, Data.ood)
        np.testing.assert_allclose(det.score(Data.ood), ref, rtol=1e-4, atol=1e-3)

    def test_energy_detector_equals_logit_score(self):
        det = ebood.Detector("energy", temperature=2.0).fit(Data.logits)
        np.testing.assert_array_equal(det.score(Data.logits), ebood.logit_scores(Data.logits, "energy", 2.0))

    def test_threshold_and_predict(self):
        det = ebood.Detector("knn", k=5, tpr=0.9).fit(Data.train, X_val=Data.val)
        s_val = det.score(Data.val)
        t = det.threshold_
        kept = np.mean(s_val >= t)
        self.assertGreaterEqual(kept, 0.9)
        self.assertLess(np.mean(s_val > t), 0.9)  # the highest threshold keeping 90 %
        np.testing.assert_array_equal(det.predict(Data.ood), det.score(Data.ood) >= t)
        np.testing.assert_array_equal(det.decision_function(Data.ood), -det.score(Data.ood))
        det.calibrate(Data.val, tpr=0.5)
        self.assertAlmostEqual(np.mean(s_val >= det.threshold_), 0.5, delta=0.01)
        self.assertGreater(ebood.auroc(s_val, det.score(Data.ood)), 0.9)

    def test_labels_accepted_where_unused(self):
        a = ebood.Detector("knn", k=3).fit(Data.train, Data.y).score(Data.ood)
        b = ebood.Detector("knn", k=3).fit(Data.train).score(Data.ood)
        np.testing.assert_array_equal(a, b)

    def test_save_load_roundtrip(self):
        det = ebood.Detector("ssd", shrinkage=0.1).fit(Data.train, Data.y, X_val=Data.val)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ssd.st")
            det.save(path)
            back = ebood.Detector.load(path)
        self.assertEqual(back.method, "ssd")
        self.assertEqual(back.get_params(), det.get_params())
        self.assertEqual(back.threshold_, det.threshold_)
        np.testing.assert_array_equal(back.score(Data.ood), det.score(Data.ood))

    @unittest.skipUnless(os.access(CLI, os.X_OK), f"no ebood CLI at {CLI} (set EBOOD_CLI)")
    def test_same_files_as_the_cli(self):
        with tempfile.TemporaryDirectory() as tmp:
            f, v, o = (os.path.join(tmp, n + ".npy") for n in ("f", "v", "o"))
            np.save(f, Data.train)
            np.save(v, Data.val)
            np.save(o, Data.ood)
            # Python writes, the CLI scores
            ours = os.path.join(tmp, "py.st")
            det = ebood.Detector("knn", k=4).fit(Data.train, X_val=Data.val)
            det.save(ours)
            out, pred = os.path.join(tmp, "s.npy"), os.path.join(tmp, "p.npy")
            subprocess.run([CLI, "score", ours, "--features", o, "-o", out, "--predictions", pred], check=True,
                           capture_output=True)
            np.testing.assert_array_equal(np.load(out), det.score(Data.ood))
            np.testing.assert_array_equal(np.load(pred).astype(bool), det.predict(Data.ood))
            # the CLI writes, Python scores
            theirs = os.path.join(tmp, "cli.st")
            subprocess.run([CLI, "fit", "--detector", "knn", "--k", "4", "--features", f, "--val-features", v,
                            "-o", theirs], check=True, capture_output=True)
            loaded = ebood.Detector.load(theirs)
            self.assertEqual(loaded.threshold_, det.threshold_)
            np.testing.assert_array_equal(loaded.score(Data.ood), det.score(Data.ood))

    def test_heat_settings(self):
        det = ebood.Detector("heat", heat={"prior": "none", "width": 8, "depth": 1, "seed": 3,
                                           "none": {"epochs": 1, "steps": 2, "decay": "quadratic"}})
        heat = det.get_params()["heat"]
        self.assertEqual((heat["prior"], heat["width"], heat["depth"], heat["seed"]), ("none", 8, 1, 3))
        self.assertEqual((heat["none"]["epochs"], heat["none"]["steps"], heat["none"]["decay"]), (1, 2, "quadratic"))
        s = det.fit(Data.train).score(Data.ood)
        self.assertEqual(s.shape, (150,))
        self.assertTrue(np.all(np.isfinite(s)))


class BadInputTest(unittest.TestCase):
    def test_parameters(self):
        with self.assertRaisesRegex(ebood.ArgumentError, "unknown method"):
            ebood.Detector("nope")
        with self.assertRaisesRegex(TypeError, "unknown parameter 'kk'"):
            ebood.Detector("knn", kk=3)
        with self.assertRaisesRegex(ValueError, "parameter 'temperature' does not apply"):
            ebood.Detector("knn", temperature=2.0)
        with self.assertRaisesRegex(TypeError, "knn: parameter 'k': .*integer.*got 2.5"):
            ebood.Detector("knn", k=2.5)
        with self.assertRaisesRegex(TypeError, "heat.width: .*got 'wide'"):
            ebood.Detector("heat", heat={"width": "wide"})
        with self.assertRaisesRegex(ebood.ArgumentError, r"k: must be an integer in \[1, "):
            ebood.Detector("knn", k=0)
        with self.assertRaisesRegex(ebood.ArgumentError, "tpr"):
            ebood.Detector("knn", tpr=1.5)
        with self.assertRaisesRegex(ebood.ArgumentError, "prior"):
            ebood.Detector("heat", heat={"prior": "bogus"})
        with self.assertRaisesRegex(TypeError, "heat.gmm: unknown setting 'nope'"):
            ebood.Detector("heat", heat={"gmm": {"nope": 1}})

    def test_arrays(self):
        det = ebood.Detector("knn", k=3)
        with self.assertRaisesRegex(ebood.StateError, "not fitted"):
            det.score(Data.ood)
        with self.assertRaisesRegex(ValueError, r"X: expected shape \[n, d\], got shape \(400,\)"):
            det.fit(Data.train[:, 0])
        with self.assertRaisesRegex(TypeError, "X: expected a real-valued numeric array, got dtype complex"):
            det.fit(Data.train.astype(np.complex64))
        bad = Data.train.copy()
        bad[5, 2] = np.nan
        with self.assertRaisesRegex(ebood.NumericError, r"features\[5, 2\]: value is NaN"):
            det.fit(bad)
        with self.assertRaisesRegex(ebood.ArgumentError, "k"):
            det.fit(Data.train[:2])
        det.fit(Data.train)
        with self.assertRaisesRegex(ebood.ShapeError, "dim 5, the knn detector was fitted on dim 6"):
            det.score(Data.ood[:, :5])
        with self.assertRaisesRegex(ebood.StateError, "no threshold"):
            det.predict(Data.ood)
        # Fortran-ordered and float64 input is copied into what C expects, not misread
        np.testing.assert_array_equal(det.score(np.asfortranarray(Data.ood.astype(np.float64))), det.score(Data.ood))

    def test_labels(self):
        maha = ebood.Detector("mahalanobis")
        with self.assertRaisesRegex(ebood.ArgumentError, r"y: missing \(mahalanobis needs class labels"):
            maha.fit(Data.train)
        with self.assertRaisesRegex(ValueError, r"y: expected shape \[400\]"):
            maha.fit(Data.train, Data.y[:10])
        with self.assertRaisesRegex(TypeError, "labels must be integers"):
            maha.fit(Data.train, Data.y + 0.5)
        with self.assertRaisesRegex(ebood.ArgumentError, r"labels\[0\]: label -1"):
            maha.fit(Data.train, np.r_[-1, Data.y[1:]])

    def test_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(ebood.FileError) as cm:
                ebood.Detector.load(os.path.join(tmp, "missing.st"))
            self.assertIsInstance(cm.exception, OSError)
            self.assertIn("missing.st", str(cm.exception))
            junk = os.path.join(tmp, "junk.st")
            with open(junk, "wb") as fh:
                fh.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
            with self.assertRaisesRegex(ebood.FormatError, "junk.st"):
                ebood.Detector.load(junk)
            with self.assertRaisesRegex(ebood.StateError, "not fitted"):
                ebood.Detector("knn").save(os.path.join(tmp, "unfitted.st"))
            self.assertFalse(os.path.exists(os.path.join(tmp, "unfitted.st")))
            det = ebood.Detector("knn", k=2).fit(Data.train)
            with self.assertRaises(ebood.FileError):
                det.save(os.path.join(tmp, "no", "such", "dir", "d.st"))
            self.assertEqual(sorted(os.listdir(tmp)), ["junk.st"])


if __name__ == "__main__":
    unittest.main()
