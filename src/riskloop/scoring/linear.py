"""The logistic baseline behind the scorer port. Its explanation is exact and simple: each
feature's contribution is ``coef * (x - mean) / scale`` in log-odds, against the average
training event (a missing value takes the training median, as when it was fitted)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from riskloop.scoring.port import FeatureValue, Score, top_reasons


class LogisticScorer:
    def __init__(self, doc: Mapping[str, Any], *, name: str) -> None:
        self._name = name
        self._features = tuple(doc["features"])
        self._terms = [
            (f, float(med), float(mean), float(coef) / float(scale))
            for f, med, mean, coef, scale in zip(
                self._features,
                doc["medians"],
                doc["means"],
                doc["coef"],
                doc["scales"],
                strict=True,
            )
        ]
        self._intercept = float(doc["intercept"])

    @property
    def version(self) -> str:
        return self._name

    @property
    def features(self) -> Sequence[str]:
        return self._features

    def score(self, features: Mapping[str, FeatureValue], *, top_k: int = 4) -> Score:
        parts: dict[str, float] = {}
        z = self._intercept
        for name, median, mean, weight in self._terms:
            raw = features.get(name)
            x = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else median
            if x != x:  # NaN
                x = median
            c = weight * (x - mean)
            z += c
            parts[name] = c
        e = math.exp(-abs(z))
        value = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)
        return Score(value, top_reasons(parts, top_k))
