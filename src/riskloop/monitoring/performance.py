"""Delayed-label performance: how well did the decisions of each day catch the fraud that
has been reported since?

Decisions are grouped by the UTC day they were made (a cohort). Per cohort: decisions,
flagged (sent to review, declined or challenged), fraud labelled so far, the precision of the
flags (flagged fraud / flagged), their recall (flagged fraud / fraud), the average precision
of the model score (scikit-learn), the fraud amount caught and missed per currency when the
amount is known, and the cohort's label maturity (whole days from the cohort to ``as_of``).

Fraud labels arrive weeks or months after the payment (a chargeback may take 120 days), and
a decision without a fraud label counts as good: **young cohorts undercount fraud**, so
their recall and precision are provisional. Floors (``recall_warn`` ...) are judged only on
the cohorts at least ``mature_after_days`` old, pooled, once they hold ``min_fraud`` fraud
labels; without floors the report is informational (``ok``).

>>> from datetime import date
>>> book = Cohorts()
>>> for i in range(100):
...     fraud = i % 10 == 0
...     book.add(date(2026, 1, 1), flagged=fraud or i % 10 == 1, fraud=fraud,
...              score=0.9 if fraud else 0.1, amount=500 if fraud else None, currency="EUR")
>>> r = book.report(date(2026, 3, 1))
>>> c = r["cohorts"][0]
>>> (c["decisions"], c["flagged"], c["fraud"], c["precision"], c["recall"], c["maturity_days"])
(100, 20, 10, 0.5, 1.0, 59)
>>> c["average_precision"], c["fraud_amount"]["caught"]
(1.0, {'EUR': 5000.0})
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from riskloop.monitoring.status import Status, worst

FLAGGED = frozenset({"review", "decline", "challenge"})

YOUNG_COHORTS = (
    "Labels arrive late (chargebacks take weeks to months) and a decision without a fraud "
    "label counts as good: young cohorts undercount fraud, so their recall and precision "
    "are provisional. Judge performance on mature cohorts."
)


@dataclass(frozen=True, slots=True)
class PerformanceThresholds:
    mature_after_days: int = 30
    min_fraud: int = 10  # fraud labels the mature cohorts need before floors are judged
    recall_warn: float | None = None  # floors: below them is warn / alert
    recall_alert: float | None = None
    precision_warn: float | None = None
    precision_alert: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @property
    def floors(self) -> bool:
        return any(
            v is not None
            for v in (
                self.recall_warn,
                self.recall_alert,
                self.precision_warn,
                self.precision_alert,
            )
        )


@dataclass
class _Cohort:
    decisions: int = 0
    flagged: int = 0
    fraud: int = 0
    flagged_fraud: int = 0
    scores: array[float] = field(default_factory=lambda: array("d"))
    score_fraud: array[int] = field(default_factory=lambda: array("b"))
    caught: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    missed: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    fraud_amount_unknown: int = 0

    def merge(self, other: _Cohort) -> None:
        self.decisions += other.decisions
        self.flagged += other.flagged
        self.fraud += other.fraud
        self.flagged_fraud += other.flagged_fraud
        self.scores.extend(other.scores)
        self.score_fraud.extend(other.score_fraud)
        for mine, theirs in ((self.caught, other.caught), (self.missed, other.missed)):
            for currency, amount in theirs.items():
                mine[currency] += amount
        self.fraud_amount_unknown += other.fraud_amount_unknown

    def figures(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions,
            "flagged": self.flagged,
            "flag_rate": _ratio(self.flagged, self.decisions),
            "fraud": self.fraud,
            "fraud_rate": _ratio(self.fraud, self.decisions),
            "flagged_fraud": self.flagged_fraud,
            "precision": _ratio(self.flagged_fraud, self.flagged),
            "recall": _ratio(self.flagged_fraud, self.fraud),
            "average_precision": self._average_precision(),
            "fraud_amount": {
                "caught": dict(sorted(self.caught.items())),
                "missed": dict(sorted(self.missed.items())),
                "unknown": self.fraud_amount_unknown,
            },
        }

    def _average_precision(self) -> float | None:
        import numpy as np

        y = np.frombuffer(self.score_fraud, dtype=np.int8)
        if not 0 < int(y.sum()) < len(y):
            return None  # undefined without both fraud and good among the scored
        from sklearn.metrics import average_precision_score

        return round(float(average_precision_score(y, np.frombuffer(self.scores))), 6)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 6) if b else None


def _below(value: float | None, warn: float | None, alert: float | None) -> Status:
    if value is None:
        return Status.OK
    if alert is not None and value < alert:
        return Status.ALERT
    if warn is not None and value < warn:
        return Status.WARN
    return Status.OK


class Cohorts:
    """Decisions counted by decision day as they stream past (no records kept)."""

    def __init__(self) -> None:
        self._days: dict[date, _Cohort] = {}

    def add(
        self,
        day: date,
        *,
        flagged: bool,
        fraud: bool,
        score: float | None,
        amount: float | None = None,
        currency: str | None = None,
    ) -> None:
        """One decision. ``amount`` (and its ``currency``) matter only for fraud."""
        c = self._days.get(day)
        if c is None:
            c = self._days[day] = _Cohort()
        c.decisions += 1
        c.flagged += flagged
        if score is not None:
            c.scores.append(score)
            c.score_fraud.append(1 if fraud else 0)
        if not fraud:
            return
        c.fraud += 1
        c.flagged_fraud += flagged
        if amount is None:
            c.fraud_amount_unknown += 1
        else:
            (c.caught if flagged else c.missed)[currency or "unknown"] += amount

    def report(
        self, as_of: date, thresholds: PerformanceThresholds | None = None
    ) -> dict[str, Any]:
        t = thresholds or PerformanceThresholds()
        cohorts = []
        mature, total = _Cohort(), _Cohort()
        for day in sorted(self._days):
            c = self._days[day]
            age = (as_of - day).days
            is_mature = age >= t.mature_after_days
            cohorts.append(
                {"day": day.isoformat(), "maturity_days": age, "mature": is_mature, **c.figures()}
            )
            total.merge(c)
            if is_mature:
                mature.merge(c)
        pooled = mature.figures()
        reasons: list[str] = []
        if not t.floors:
            status = Status.OK
        elif mature.fraud < t.min_fraud:
            status = Status.INSUFFICIENT_DATA
            reasons.append(f"fewer than {t.min_fraud} fraud labels in mature cohorts")
        else:
            checks = {
                "recall": _below(pooled["recall"], t.recall_warn, t.recall_alert),
                "precision": _below(pooled["precision"], t.precision_warn, t.precision_alert),
            }
            status = worst(checks.values())
            reasons += [
                f"{name} {pooled[name]} of mature cohorts below its floor"
                for name, s in checks.items()
                if s is not Status.OK
            ]
        return {
            "status": status.value,
            "as_of": as_of.isoformat(),
            "note": YOUNG_COHORTS,
            "reasons": reasons,
            "mature": {"cohorts": sum(c["mature"] for c in cohorts), **pooled},
            "total": total.figures(),
            "cohorts": cohorts,
        }
