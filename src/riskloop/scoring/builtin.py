"""The built-in scorer: a small, readable points model (logistic over capped, scaled
features). It is what the decision path uses until a trained model is promoted, and the
shape every model follows: a probability-like score plus the features that raised it.

Each term is ``weight * value / scale`` held within ``±cap`` (on both sides: an amount far
below the card's mean must not push the score to zero, nor overflow); the score is
``sigmoid(bias + sum)``. A missing (null) feature adds nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from riskloop.scoring.port import FeatureValue, Score, top_reasons


@dataclass(frozen=True, slots=True)
class Term:
    feature: str
    weight: float
    scale: float = 1.0
    cap: float = 1.0
    reason: str | None = None


class PointsScorer:
    def __init__(self, name: str, terms: Sequence[Term], bias: float) -> None:
        self.name = name
        self.terms = tuple(terms)
        self.bias = bias
        doc = orjson.dumps(
            {"bias": bias, "terms": [[t.feature, t.weight, t.scale, t.cap] for t in terms]}
        )
        self._version = f"{name}+{hashlib.sha256(doc).hexdigest()[:8]}"
        self._reasons = {t.feature: t.reason for t in terms if t.reason}

    @property
    def version(self) -> str:
        return self._version

    @property
    def features(self) -> Sequence[str]:
        return [t.feature for t in self.terms]

    def score(self, features: Mapping[str, FeatureValue], *, top_k: int = 4) -> Score:
        margin = self.bias
        parts: dict[str, float] = {}
        for t in self.terms:
            x = features.get(t.feature)
            if not isinstance(x, int | float) or isinstance(x, bool) or math.isnan(x):
                continue
            part = t.weight * max(-t.cap, min(float(x) / t.scale, t.cap))
            parts[t.feature] = part
            margin += part
        value = 1.0 / (1.0 + math.exp(-margin))
        return Score(value, top_reasons(parts, top_k, self._reasons))


def default_scorer() -> PointsScorer:
    """Points over the default feature set's strongest fraud signals (velocity, distance,
    novelty, known-bad neighbours). A starting point, not a trained model."""
    return PointsScorer(
        "points@1",
        [
            Term("card_count_10m", 1.2, scale=5, reason="CARD_VELOCITY"),
            Term("card_small_declined_count_10m", 2.5, scale=3, reason="CARD_TESTING"),
            Term("card_declined_count_1h", 1.0, scale=3, reason="CARD_DECLINES"),
            Term("card_amount_zscore_30d", 0.8, scale=4, reason="UNUSUAL_AMOUNT"),
            Term("card_speed_kmh", 2.0, scale=900, reason="IMPOSSIBLE_TRAVEL"),
            Term("card_distinct_countries_7d", 0.6, scale=3, reason="MANY_COUNTRIES"),
            Term("device_distinct_cards_24h", 1.2, scale=4, reason="DEVICE_MANY_CARDS"),
            Term("ip_distinct_cards_24h", 1.0, scale=5, reason="IP_MANY_CARDS"),
            Term("merchant_fraud_rate_7d", 2.0, scale=0.2, reason="RISKY_MERCHANT"),
            Term("terminal_fraud_rate_28d", 1.5, scale=0.2, reason="RISKY_TERMINAL"),
            Term("account_transfer_ratio_30d", 1.0, scale=5, reason="UNUSUAL_TRANSFER"),
            Term("payee_first_transfer", 0.8, reason="NEW_PAYEE"),
            Term("customer_new_device_logins_24h", 1.2, scale=1, reason="NEW_DEVICE"),
            Term("login_failed_count_1h", 1.0, scale=5, reason="FAILED_LOGINS"),
            Term("login_speed_kmh", 1.5, scale=900, reason="IMPOSSIBLE_TRAVEL"),
        ],
        bias=-5.0,
    )
