"""A trained network from an ebood checkpoint (`ebood train`, scripts/torch_import.py): logits and
penultimate features of NumPy inputs (include/ebood/nn.h, eb_model_predict)."""
import ctypes
import json
import os
import struct

import numpy as np

from . import _lib
from ._lib import lib

_POOLS = {"mean": 0, "std": 1}


class Model:
    """Model.load(path); then logits(X), features(X) or predict(X) -> (logits, features).

    X: rows [n, in_dim] as the model was trained on (normalised the same way; a table's raw rows
    through prepare(X) first), or images [n, C, H, W], flattened per sample. Not thread-safe (one
    forward pass at a time)."""

    def __init__(self, handle, metadata=None):
        self._handle = handle
        self.metadata = metadata or {}

    @classmethod
    def load(cls, path):
        handle = ctypes.c_void_p()
        _lib.call(lib.eb_model_load, os.fsencode(path), None, ctypes.byref(handle))
        model = cls(handle)
        with open(path, "rb") as f:  # the header the library has just read and checked
            header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        model.metadata = header.get("__metadata__", {})
        return model

    @property
    def tabular(self):
        """The recipe of a model trained on a .csv/.arff (the checkpoint's ebood.tabular: "columns",
        "keep", "mean", "std", "val_split", "test_split", "ood_class"), or None."""
        text = self.metadata.get("ebood.tabular")
        return json.loads(text) if text else None

    def prepare(self, X):
        """Raw table rows [n, columns] (the file's feature columns, in its order) -> the model's inputs:
        the kept columns, z-scored with the training rows' statistics, as ebood eval/extract do."""
        recipe = self.tabular
        if recipe is None:
            raise ValueError("prepare: the checkpoint has no table recipe (trained on built-in data, "
                             "images, or with an older ebood); give its inputs directly")
        x = _lib.as_rows("X", X, recipe["columns"])[:, recipe["keep"]].astype(np.float64)
        if "mean" in recipe:
            x = (x - np.asarray(recipe["mean"], dtype=np.float32)) / np.asarray(recipe["std"], dtype=np.float32)
        return np.ascontiguousarray(x, dtype=np.float32)

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            lib.eb_model_free(handle)
            self._handle = None

    @property
    def in_dim(self):
        return lib.eb_model_in_dim(self._handle)

    @property
    def out_dim(self):
        return lib.eb_model_out_dim(self._handle)

    @property
    def feature_dim(self):
        return lib.eb_model_feature_dim(self._handle)

    @property
    def config(self):
        """The architecture (the checkpoint's ebood.config) as a dict."""
        raw = lib.eb_model_config_json(self._handle)
        if not raw:
            raise MemoryError("eb_model_config_json: out of memory")
        try:
            return json.loads(ctypes.string_at(raw).decode("utf-8"))
        finally:
            _lib.libc_free(raw)

    def set_feature_pool(self, pool):
        """What an image model's features are: "mean" (the final linear layer's input, default) or
        "std" (the final map's unbiased spatial std per channel, HEAT's GMM-std)."""
        if pool not in _POOLS:
            raise ValueError(f"feature pool {pool!r}: expected 'mean' or 'std'")
        _lib.call(lib.eb_model_set_feature_pool, self._handle, _POOLS[pool])

    def predict(self, X, batch_size=256, features=True):
        """(logits [n, out_dim], features [n, feature_dim] or None), float32, no gradients."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        x = _lib.as_rows("X", X, self.in_dim)
        logits = np.empty((x.shape[0], self.out_dim), dtype=np.float32)
        feats = np.empty((x.shape[0], self.feature_dim), dtype=np.float32) if features else None
        if x.shape[0]:
            _lib.call(lib.eb_model_predict, self._handle, _lib.f32_ptr(x), x.shape[0], batch_size,
                      _lib.f32_ptr(logits), _lib.f32_ptr(feats))
        return logits, feats

    def logits(self, X, batch_size=256):
        return self.predict(X, batch_size, features=False)[0]

    def features(self, X, batch_size=256):
        return self.predict(X, batch_size)[1]
