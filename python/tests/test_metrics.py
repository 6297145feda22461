"""ebood's metrics and logit scores against independent implementations (scikit-learn, NumPy)."""
import unittest

import numpy as np
from sklearn import metrics as skm

import ebood


def sk_fpr_at_95(y_pos, s):
    fpr, tpr, _ = skm.roc_curve(y_pos, s, drop_intermediate=False)
    return fpr[np.argmax(tpr >= 0.95)]


class MetricsTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(7)
        # rounded to create ties, the case where conventions differ
        self.s_id = np.round(rng.normal(1.0, 1.0, 300), 1).astype(np.float32)
        self.s_ood = np.round(rng.normal(0.0, 1.0, 200), 1).astype(np.float32)
        self.s = np.concatenate([self.s_id, self.s_ood]).astype(np.float64)
        self.y_id = np.r_[np.ones(300), np.zeros(200)]

    def test_against_sklearn(self):
        m = ebood.ood_metrics(self.s_id, self.s_ood)
        s, y = self.s, self.y_id
        expected = {
            "auroc": skm.roc_auc_score(y, s),
            "aupr_in": skm.average_precision_score(y, s),
            "aupr_out": skm.average_precision_score(1 - y, -s),
            "fpr95_id": sk_fpr_at_95(y, s),
            "fpr95_ood": sk_fpr_at_95(1 - y, -s),
        }
        p, r, _ = skm.precision_recall_curve(y, s)
        expected["aupr_in_trapz"] = skm.auc(r, p)
        p, r, _ = skm.precision_recall_curve(1 - y, -s)
        expected["aupr_out_trapz"] = skm.auc(r, p)
        for key, want in expected.items():
            self.assertAlmostEqual(m[key], want, places=10, msg=key)
        self.assertAlmostEqual(ebood.auroc(self.s_id, self.s_ood), expected["auroc"], places=10)
        self.assertAlmostEqual(ebood.aupr(self.s_id, self.s_ood, "ood"), expected["aupr_out"], places=10)
        self.assertAlmostEqual(ebood.aupr(self.s_id, self.s_ood, "id", "trapz"), expected["aupr_in_trapz"], places=10)
        self.assertAlmostEqual(ebood.fpr_at_tpr(self.s_id, self.s_ood, convention="ood"), expected["fpr95_ood"],
                               places=10)

    def test_paper_conventions(self):
        # HEAT's code: OOD energies strictly below the 95th percentile of ID energies (E = -s)
        q = np.percentile(-self.s_id.astype(np.float64), 95)
        heat = np.mean(-self.s_ood.astype(np.float64) < q)
        self.assertAlmostEqual(ebood.fpr_at_tpr(self.s_id, self.s_ood, convention="heat"), heat, places=12)
        # the EBM paper's AUPR: OOD positive on arrays truncated to the shorter length
        n = 200
        y = np.r_[np.zeros(n), np.ones(n)]
        s = -np.r_[self.s_id[:n], self.s_ood[:n]].astype(np.float64)
        self.assertAlmostEqual(ebood.aupr(self.s_id, self.s_ood, "ood", "ebm_paper"),
                               skm.average_precision_score(y, s), places=10)
        hendrycks = ebood.fpr_at_tpr(self.s_id, self.s_ood, convention="hendrycks")
        self.assertTrue(0.0 <= hendrycks <= 1.0)

    def test_accuracy_and_logit_scores(self):
        rng = np.random.default_rng(3)
        f = rng.normal(0, 3, (50, 4)).astype(np.float32)
        y = rng.integers(0, 4, 50)
        self.assertAlmostEqual(ebood.accuracy(f, y), np.mean(f.argmax(1) == y), places=12)
        f64 = f.astype(np.float64)
        for t in (1.0, 2.5):
            lse = t * np.log(np.exp(f64 / t).sum(1))
            np.testing.assert_allclose(ebood.logit_scores(f, "energy", t), lse, rtol=1e-6)
            sm = np.exp(f64 / t) / np.exp(f64 / t).sum(1, keepdims=True)
            np.testing.assert_allclose(ebood.logit_scores(f, "msp", t), sm.max(1), rtol=1e-6)
        np.testing.assert_array_equal(ebood.logit_scores(f, "maxlogit"), f.max(1))

    def test_bad_input(self):
        with self.assertRaisesRegex(ebood.NumericError, r"s_ood\[3\]: score is NaN"):
            ebood.auroc(self.s_id, np.array([0.1, 0.2, 0.3, np.nan], dtype=np.float32))
        with self.assertRaisesRegex(ebood.ArgumentError, "s_id"):
            ebood.auroc(np.array([], dtype=np.float32), self.s_ood)
        with self.assertRaisesRegex(ValueError, r"s_id: expected shape \[n\], got shape \(2, 3\)"):
            ebood.auroc(np.zeros((2, 3)), self.s_ood)
        with self.assertRaisesRegex(TypeError, "s_ood: expected a real-valued numeric array"):
            ebood.auroc(self.s_id, np.array(["a", "b"]))
        with self.assertRaisesRegex(ValueError, "convention 'foo'"):
            ebood.fpr_at_tpr(self.s_id, self.s_ood, convention="foo")
        with self.assertRaisesRegex(ValueError, "only 0.95"):
            ebood.fpr_at_tpr(self.s_id, self.s_ood, tpr=0.9)
        with self.assertRaisesRegex(ValueError, "kind 'odin'"):
            ebood.logit_scores(np.zeros((2, 2)), "odin")
        with self.assertRaisesRegex(ebood.ArgumentError, "temperature"):
            ebood.logit_scores(np.zeros((2, 2)), "energy", temperature=0.0)
        with self.assertRaisesRegex(ebood.NumericError, r"logits\[1, 0\]: logit is \+Inf"):
            ebood.logit_scores(np.array([[0.0, 1.0], [np.inf, 0.0]]), "energy")

    def test_non_contiguous_and_other_dtypes(self):
        wide = np.zeros((300, 2), dtype=np.float64)
        wide[:, 0] = self.s_id
        self.assertEqual(ebood.auroc(wide[:, 0], self.s_ood), ebood.auroc(self.s_id, self.s_ood))
        self.assertEqual(ebood.auroc(self.s_id.astype(np.int64), [0, 1]),
                         ebood.auroc(self.s_id.astype(np.int64).astype(np.float32), np.array([0, 1], np.float32)))


if __name__ == "__main__":
    unittest.main()
