"""The scorer port. Any model that maps a feature vector to a probability-like score and
says which features pushed it up can sit behind it: the built-in points model today, a
LightGBM booster (``riskloop.adapters.lightgbm_scorer``) or anything else tomorrow.

Fails open: the decision pipeline catches a scorer's exception (or a missed time budget),
decides on rules alone and records ``MODEL_UNAVAILABLE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from riskloop.credit.inputs import CREDIT_TYPES

FeatureValue = int | float | str | None


@dataclass(frozen=True, slots=True)
class Contribution:
    """How much one feature moved the score (in the model's margin units, log-odds for both
    built-in models), and the stable reason code an analyst reads for it."""

    feature: str
    value: float
    reason: str


@dataclass(frozen=True, slots=True)
class Score:
    value: float  # in [0, 1], higher is riskier
    contributions: tuple[Contribution, ...] = ()  # largest positive first, at most top_k


class Scorer(Protocol):
    @property
    def version(self) -> str:
        """What the decision record names, e.g. ``points@1`` or ``fraud-gbm@7``."""
        ...

    @property
    def features(self) -> Sequence[str]:
        """The feature names the model reads, in its input order."""
        ...

    def score(self, features: Mapping[str, FeatureValue], *, top_k: int = 4) -> Score:
        """Score one vector. Missing or null features are the model's missing value."""
        ...


class ScorerSource(Protocol):
    """Which models score an event type: ``(champion, challenger)``, either may be absent.
    Read once per decision, so a promotion swaps models between decisions, never in one."""

    def for_event(self, event_type: str) -> tuple[Scorer | None, Scorer | None]: ...


class FixedScorer:
    """One scorer for every event type but credit applications (the built-in model, or
    ``RISKLOOP_MODEL_PATH``: fraud models, which never give a probability of default)."""

    def __init__(self, scorer: Scorer | None) -> None:
        self.scorer = scorer

    def for_event(self, event_type: str) -> tuple[Scorer | None, Scorer | None]:
        return (None if event_type in CREDIT_TYPES else self.scorer), None


def reason_code(feature: str) -> str:
    """The reason code of a feature that raised the score: stable as long as the name is.

    >>> reason_code("card_count_1h")
    'HIGH_CARD_COUNT_1H'
    """
    return "HIGH_" + feature.upper()


def top_reasons(
    contributions: Mapping[str, float],
    top_k: int,
    reasons: Mapping[str, str] | None = None,
) -> tuple[Contribution, ...]:
    """The ``top_k`` features that raised the score most (positive contributions only: a
    feature that lowered the risk is not a reason to decline)."""
    ranked = sorted(
        ((f, c) for f, c in contributions.items() if c > 0), key=lambda fc: (-fc[1], fc[0])
    )
    names = reasons or {}
    return tuple(Contribution(f, c, names.get(f) or reason_code(f)) for f, c in ranked[:top_k])
