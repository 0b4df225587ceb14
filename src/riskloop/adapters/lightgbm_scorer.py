"""A LightGBM model behind the scorer port.

Explanations are exact path-dependent TreeSHAP, the values LightGBM's ``pred_contrib``
gives, but from tables built when the model loads (``riskloop.scoring.treeshap``): about
40 µs a row where ``pred_contrib`` costs 1.3-1.9 ms for 200-300 trees, more than the whole
decision budget. The score is the sigmoid of ``bias + sum(contributions)``, so score and
explanation cannot disagree.

Models those tables refuse (paths deeper than 10 splits, categorical splits) fall back to
*path attributions* (Saabas, as in treeinterpreter): along the path an event takes through
each tree, every split's change in expected value is credited to the split's feature. They
also add up to the raw score and cost one table lookup per tree, reading the leaf indices
from LightGBM's single-row fast path (``LGBM_BoosterPredictForMatSingleRowFast``, prepared
once per model; ``Booster.predict`` spends ~100 µs a row in Python around a ~10 µs native
call). ``explanation`` says which method a scorer uses.

Only binary models with plain (constant-leaf) trees are accepted: the score is the sigmoid
of the margin, which is what LightGBM predicts for them alone (random forests average their
trees, and ``sigmoid:k`` scales the margin; both are honoured). A regression, multiclass or
linear-tree model is refused when it loads rather than mis-scored on every event.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np

from riskloop.scoring.port import FeatureValue, Score, top_reasons
from riskloop.scoring.treeshap import TreeShap

log = logging.getLogger(__name__)
_PREDICT_LEAF_INDEX = 2  # LightGBM C API constants (c_api.h)
_DTYPE_FLOAT64 = 1


class _FastLeaves:
    """Leaf indices of one row through the C API's single-row fast path. A fast config
    holds buffers, so calls on one are serialised."""

    def __init__(self, booster: lightgbm.Booster, n_features: int, n_trees: int) -> None:
        # ``n_trees`` also caps the iterations (one tree each in a binary model): left at -1,
        # LightGBM writes a leaf for every tree it holds, beyond a best iteration and so
        # beyond this buffer.
        from lightgbm.basic import _LIB, _safe_call  # type: ignore[attr-defined]

        self._lib, self._safe_call = _LIB, _safe_call
        self._config = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_PREDICT_LEAF_INDEX),
                ctypes.c_int(0),
                ctypes.c_int(n_trees),
                ctypes.c_int(_DTYPE_FLOAT64),
                ctypes.c_int32(n_features),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self._config),
            )
        )
        self._out = np.zeros(n_trees, dtype=np.float64)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._len = ctypes.c_int64()
        self._lock = threading.Lock()

    def __call__(self, row: np.ndarray) -> np.ndarray:
        data = np.ascontiguousarray(row, dtype=np.float64)
        with self._lock:
            self._safe_call(
                self._lib.LGBM_BoosterPredictForMatSingleRowFast(
                    self._config,
                    data.ctypes.data_as(ctypes.c_void_p),
                    ctypes.byref(self._len),
                    self._out_ptr,
                )
            )
            return self._out.astype(np.intp)

    def __del__(self) -> None:
        if getattr(self, "_config", None) is not None and self._config.value:
            self._lib.LGBM_FastConfigFree(self._config)


def _walk(node: dict[str, Any], acc: np.ndarray, out: dict[int, np.ndarray]) -> None:
    if "split_feature" not in node:
        out[int(node.get("leaf_index", 0))] = acc
        return
    value = float(node["internal_value"])
    feature = int(node["split_feature"])
    for child_key in ("left_child", "right_child"):
        child = node[child_key]
        child_value = float(
            child["internal_value"] if "split_feature" in child else child["leaf_value"]
        )
        step = acc.copy()
        step[feature] += child_value - value
        _walk(child, step, out)


def _binary_sigmoid(dump: Mapping[str, Any], text: str) -> float:
    """The ``sigmoid`` scale of a binary model; ``ValueError`` for any model whose
    prediction is not the sigmoid of the summed tree outputs."""
    objective = str(dump.get("objective", "")).split()
    if not objective or objective[0] != "binary" or int(dump.get("num_class", 1)) != 1:
        raise ValueError(f"a binary model is needed, not {' '.join(objective) or 'none'!r}")
    if "\nis_linear=1" in text:
        raise ValueError("linear-tree leaves have no path attributions")
    scales = [float(o.split(":", 1)[1]) for o in objective[1:] if o.startswith("sigmoid:")]
    return scales[0] if scales else 1.0


class LightGBMScorer:
    def __init__(
        self, booster: lightgbm.Booster, *, name: str, reasons: Mapping[str, str] | None = None
    ) -> None:
        self.booster = booster
        text = booster.model_to_string()
        self._version = f"{name}+{hashlib.sha256(text.encode()).hexdigest()[:8]}"
        self._features = list(booster.feature_name())
        self._reasons = dict(reasons or {})
        self._index = {f: i for i, f in enumerate(self._features)}
        dump = booster.dump_model()
        self._sigmoid = _binary_sigmoid(dump, text)
        self._shap: TreeShap | None = None
        self._fast: _FastLeaves | None = None
        try:
            self._shap = TreeShap.from_dump(dump)
            self.explanation = "treeshap"
        except ValueError as exc:
            log.info("%s: path attributions instead of TreeSHAP (%s)", name, exc)
            self.explanation = "path"
            self._path_tables(booster, dump)

    def _path_tables(self, booster: lightgbm.Booster, dump: Mapping[str, Any]) -> None:
        trees = dump["tree_info"]
        n_feat = len(self._features)
        max_leaves = max(int(t["num_leaves"]) for t in trees)
        self._table = np.zeros((len(trees), max_leaves, n_feat), dtype=np.float64)
        self._bias = 0.0
        for t, tree in enumerate(trees):
            root = tree["tree_structure"]
            if "split_feature" not in root:  # a single-leaf tree: a constant
                self._bias += float(root["leaf_value"])
                continue
            self._bias += float(root["internal_value"])
            leaves: dict[int, np.ndarray] = {}
            _walk(root, np.zeros(n_feat), leaves)
            for leaf, vec in leaves.items():
                self._table[t, leaf] = vec
        # A random forest's probability is the sigmoid of its trees' mean (its raw_score is
        # their sum): attributions add up to the mean, the margin that is scored.
        if dump.get("average_output"):
            self._table /= len(trees)
            self._bias /= len(trees)
        self._rows = np.arange(len(trees))
        try:
            self._fast = _FastLeaves(booster, n_feat, len(trees))
        except Exception as exc:  # an older or different build: the slower path still works
            log.warning("LightGBM single-row fast path unavailable: %s", exc)

    @classmethod
    def from_file(
        cls, path: Path, *, name: str, reasons: Mapping[str, str] | None = None
    ) -> LightGBMScorer:
        return cls(lightgbm.Booster(model_file=str(path)), name=name, reasons=reasons)

    @property
    def version(self) -> str:
        return self._version

    @property
    def features(self) -> Sequence[str]:
        return self._features

    def row(self, features: Mapping[str, FeatureValue]) -> np.ndarray:
        x = np.full((1, len(self._features)), np.nan)
        for name, i in self._index.items():
            v = features.get(name)
            if isinstance(v, int | float) and not isinstance(v, bool):
                x[0, i] = v
        return x

    def contributions(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``(bias, per-feature contributions)`` for one row, in margin units: they add up to
        the raw score (for a random forest, its mean over trees)."""
        if self._shap is not None:
            return self._shap.bias, self._shap.explain(x[0])
        if self._fast is not None:
            leaves = self._fast(x[0])
        else:
            n_trees = len(self._rows)
            predicted = self.booster.predict(
                x, pred_leaf=True, num_iteration=n_trees, num_threads=1
            )
            leaves = np.asarray(predicted, dtype=np.intp)[0]
        return self._bias, self._table[self._rows, leaves].sum(axis=0)

    def score(self, features: Mapping[str, FeatureValue], *, top_k: int = 4) -> Score:
        x = self.row(features)
        bias, contrib = self.contributions(x)
        z = self._sigmoid * (bias + float(contrib.sum()))
        e = math.exp(-abs(z))  # never overflows, keeps precision far into either tail
        value = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)
        parts = {f: float(c) for f, c in zip(self._features, contrib, strict=True) if c > 0}
        return Score(value, top_reasons(parts, top_k, self._reasons))
