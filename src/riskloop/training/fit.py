"""Fitting: LightGBM by default, a logistic regression as the baseline every model must beat.

Both are deterministic for a given seed. Fraud is rare (often well under 1 %): LightGBM
weighs positives by ``sqrt(negatives / positives)`` (a full ``neg/pos`` weight helps recall
little and wrecks calibration), the logistic baseline uses balanced class weights. Trees are
capped at depth 6 so that exact TreeSHAP explanations stay cheap when serving
(``riskloop.scoring.treeshap``). Early stopping watches the latest 15 % of the training
window, in time order, never the test window.

Artifacts are text (LightGBM's model format, or JSON for the logistic model), never pickles:
loading a model must not be able to run code.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import lightgbm
import numpy as np
import orjson

Kind = Literal["lightgbm", "logistic"]

LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": 6,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.9,
    "lambda_l2": 1.0,
    "num_boost_round": 400,
    "early_stopping_rounds": 40,
}


@dataclass
class FittedModel:
    kind: Kind
    features: list[str]
    params: dict[str, Any]
    artifact: bytes  # model.txt for LightGBM, model.json for the logistic baseline
    info: dict[str, Any] = field(default_factory=dict)  # e.g. best iteration

    @property
    def artifact_name(self) -> str:
        return "model.txt" if self.kind == "lightgbm" else "model.json"

    def predict(self, x: np.ndarray) -> np.ndarray:
        return predict_artifact(self.kind, self.artifact, x)


def predict_artifact(kind: str, artifact: bytes, x: np.ndarray) -> np.ndarray:
    """Batch probabilities from a stored artifact (evaluation and batch scoring)."""
    if kind == "lightgbm":
        booster = lightgbm.Booster(model_str=artifact.decode())
        return np.asarray(booster.predict(x, num_threads=2), dtype=np.float64)
    doc = orjson.loads(artifact)
    z = _standardised(doc, x) @ np.asarray(doc["coef"]) + float(doc["intercept"])
    # exp overflows (a warning, and 0.0 as the answer) far out on a scaled feature's tail.
    probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))
    return probabilities


def _standardised(doc: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    filled = np.where(np.isnan(x), np.asarray(doc["medians"]), x)
    scaled: np.ndarray = (filled - np.asarray(doc["means"])) / np.asarray(doc["scales"])
    return scaled


def _positive_weight(y: np.ndarray) -> float:
    pos = int(y.sum())
    return math.sqrt(max(1, len(y) - pos) / max(1, pos))


def fit_lightgbm(
    x: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    *,
    seed: int = 7,
    params: Mapping[str, Any] | None = None,
    threads: int = 2,
) -> FittedModel:
    chosen = {**LIGHTGBM_DEFAULTS, **(params or {})}
    rounds = int(chosen.pop("num_boost_round"))
    patience = int(chosen.pop("early_stopping_rounds"))
    chosen.setdefault("scale_pos_weight", round(_positive_weight(y), 4))
    fixed = {
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": threads,
        "verbose": -1,
    }
    cut = int(len(y) * 0.85)  # rows are in time order: validate on the latest
    if patience > 0 and 0 < int(y[cut:].sum()) < len(y) - cut and y[:cut].any():
        fit_rows, valid = slice(0, cut), slice(cut, None)
    else:
        fit_rows, valid = slice(0, len(y)), None
    train = lightgbm.Dataset(x[fit_rows], label=y[fit_rows], feature_name=list(features))
    callbacks: list[Any] = []
    sets = []
    if valid is not None:
        sets = [lightgbm.Dataset(x[valid], label=y[valid], reference=train)]
        callbacks = [lightgbm.early_stopping(patience, verbose=False)]
    booster = lightgbm.train(
        {**chosen, **fixed, "metric": "average_precision"},
        train,
        num_boost_round=rounds,
        valid_sets=sets,
        callbacks=callbacks,
    )
    best = booster.best_iteration or rounds  # early_stopping_rounds=0: all rounds
    text = booster.model_to_string(num_iteration=best)
    return FittedModel(
        "lightgbm",
        list(features),
        {**chosen, "num_boost_round": rounds, "early_stopping_rounds": patience, "seed": seed},
        text.encode(),
        {"trees": best},
    )


def fit_logistic(
    x: np.ndarray, y: np.ndarray, features: Sequence[str], *, seed: int = 7, c: float = 1.0
) -> FittedModel:
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():  # a feature never seen in training has no median
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(x, axis=0)
    medians = np.where(np.isnan(medians), 0.0, medians)
    filled = np.where(np.isnan(x), medians, x)
    means = filled.mean(axis=0)
    scales = filled.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)
    model.fit((filled - means) / scales, y)
    doc = {
        "kind": "logistic",
        "features": list(features),
        "medians": medians.tolist(),
        "means": means.tolist(),
        "scales": scales.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }
    params = {"C": c, "class_weight": "balanced", "seed": seed}
    return FittedModel("logistic", list(features), params, orjson.dumps(doc))


def fit(
    kind: Kind,
    x: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    *,
    seed: int,
    params: Mapping[str, Any] | None = None,
) -> FittedModel:
    if kind == "logistic":
        return fit_logistic(x, y, features, seed=seed)
    return fit_lightgbm(x, y, features, seed=seed, params=params)
