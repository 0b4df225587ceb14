"""Drift: has what the decisions saw moved between a reference window and the current one?

Per feature of the decision records' snapshots, and for the model score:

- numeric values: the population stability index on the reference deciles
  (:func:`riskloop.training.compare.psi`) and the two-sample Kolmogorov-Smirnov test;
- text (and true/false) values: the PSI over categories, the reference's most frequent ones
  plus an ``other`` bucket that also takes categories the reference never had;
- the change of the missing rate (``None``, absent, NaN or infinite).

A feature is ``alert`` when any rule says so, and every rule needs both a size and a
significance (``p < p_value``), so small windows do not alert on noise (two samples of 100
from one distribution give a PSI near 0.18 on ten bins, above 0.25 one time in five) and
huge ones do not alert on trivial shifts:

- PSI at or above ``psi_alert`` (``psi_warn``: warn), the windows differing significantly
  by the KS test (numbers) or a chi-square test on the same buckets (categories);
- a KS statistic of at least ``ks_min_statistic``;
- a missing rate that moved by ``missing_alert`` (``missing_warn``) or more, by a
  chi-square test of present against missing.

Fewer than ``min_count`` decisions in either window is ``insufficient_data``, never an
alert; with enough decisions but fewer than ``min_count`` values, only the missing rate is
judged.

Values are collected as the records stream past (:class:`Sample`): numbers into compact
arrays, text into counters, so a window of a million decisions holds no records.

>>> import random
>>> rnd = random.Random(7)
>>> before, after = Sample(), Sample()
>>> for _ in range(2000):
...     before.add({"amount": rnd.gauss(50, 10), "country": rnd.choice("AB")}, rnd.random())
...     after.add({"amount": rnd.gauss(90, 10), "country": rnd.choice("AB")}, rnd.random())
>>> result = compare(before, after)
>>> result.status.value, [(f.feature, f.status.value) for f in result.features]
('alert', [('amount', 'alert'), ('country', 'ok')])
>>> result.score.status.value
'ok'
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from riskloop.monitoring.status import Status, graded, worst

if TYPE_CHECKING:  # numpy, scipy and scikit-learn load when a check runs, not at start-up
    import numpy as np

OTHER = "other"  # the bucket of rare and unseen categories


@dataclass(frozen=True, slots=True)
class DriftThresholds:
    psi_warn: float = 0.1
    psi_alert: float = 0.25
    p_value: float = 0.001  # every rule also needs a test this significant
    ks_min_statistic: float = 0.1
    missing_warn: float = 0.1  # absolute change of the missing rate
    missing_alert: float = 0.25
    min_count: int = 100
    bins: int = 10
    max_categories: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.psi_warn <= self.psi_alert:
            raise ValueError("need 0 < psi_warn <= psi_alert")
        if not 0 < self.p_value <= 1 or not 0 <= self.ks_min_statistic <= 1:
            raise ValueError("need 0 < p_value <= 1 and 0 <= ks_min_statistic <= 1")
        if not 0 < self.missing_warn <= self.missing_alert:
            raise ValueError("need 0 < missing_warn <= missing_alert")
        if self.min_count < 2 or self.bins < 2 or self.max_categories < 1:
            raise ValueError("need min_count >= 2, bins >= 2, max_categories >= 1")

    def as_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class Column:
    """The values one feature took in one window: numbers in an array, text counted."""

    __slots__ = ("categories", "numbers")

    def __init__(self) -> None:
        self.numbers: array[float] = array("d")
        self.categories: Counter[str] = Counter()

    def add(self, value: Any) -> None:
        """Count one value; anything but a finite number, a bool or text is missing."""
        if isinstance(value, bool):
            self.categories["true" if value else "false"] += 1
        elif isinstance(value, int | float):
            try:
                number = float(value)
            except OverflowError:  # an integer beyond any float
                return
            if math.isfinite(number):
                self.numbers.append(number)
        elif isinstance(value, str):
            self.categories[value] += 1

    @property
    def present(self) -> int:
        return len(self.numbers) + self.categories.total()

    def counts(self) -> Counter[str]:
        """Every value as a category (numbers among text are read as text)."""
        out = Counter(self.categories)
        out.update(_number_text(x) for x in self.numbers)
        return out


def _number_text(x: float) -> str:
    return str(int(x)) if x.is_integer() else repr(x)


@dataclass
class Sample:
    """One window of decisions: a column per feature, and the model score's."""

    rows: int = 0
    columns: dict[str, Column] = field(default_factory=dict)
    score: Column = field(default_factory=Column)

    def add(self, features: Mapping[str, Any], score: float | None) -> None:
        self.rows += 1
        for name, value in features.items():
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = Column()
            column.add(value)
        self.score.add(score)


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    feature: str
    kind: str  # numeric or categorical
    status: Status
    reference_count: int  # decisions in the window
    current_count: int
    missing_reference: float | None
    missing_current: float | None
    psi: float | None = None
    chi2_p_value: float | None = None  # categories: do the windows differ at all?
    ks_statistic: float | None = None
    ks_p_value: float | None = None
    mean_reference: float | None = None
    mean_current: float | None = None
    new_categories: tuple[str, ...] = ()  # the most frequent ones the reference never had
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "status": self.status.value,
            "reference_count": self.reference_count,
            "current_count": self.current_count,
            "missing_reference": self.missing_reference,
            "missing_current": self.missing_current,
            "psi": self.psi,
            "chi2_p_value": self.chi2_p_value,
            "ks_statistic": self.ks_statistic,
            "ks_p_value": self.ks_p_value,
            "mean_reference": self.mean_reference,
            "mean_current": self.mean_current,
            "new_categories": list(self.new_categories),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class DriftResult:
    features: tuple[FeatureDrift, ...]  # by feature name
    score: FeatureDrift
    status: Status
    reference_count: int
    current_count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reference_count": self.reference_count,
            "current_count": self.current_count,
            "score": self.score.as_dict(),
            "features": [f.as_dict() for f in self.features],
        }


def category_psi(
    reference: Mapping[str, int], current: Mapping[str, int], max_categories: int = 20
) -> float:
    """PSI over the reference's ``max_categories`` most frequent categories and ``other``
    (the rest, and categories the reference never had); 1e-4 floors empty buckets.

    >>> category_psi({"DE": 50, "FR": 50}, {"DE": 48, "FR": 52})
    0.001601
    >>> category_psi({"DE": 50, "FR": 50}, {"DE": 30, "FR": 30, "BR": 40}) > 0.25
    True
    """
    import numpy as np

    kept = _kept(reference, max_categories)
    ref = _bucketed(reference, kept)
    cur = _bucketed(current, kept)
    pe = np.maximum(ref / max(1.0, ref.sum()), 1e-4)
    pa = np.maximum(cur / max(1.0, cur.sum()), 1e-4)
    return round(float(np.sum((pa - pe) * np.log(pa / pe))), 6)


def _kept(reference: Mapping[str, int], max_categories: int) -> list[str]:
    """The categories with a bucket of their own: the most frequent (ties by name)."""
    ranked = sorted(reference.items(), key=lambda kv: (-kv[1], kv[0]))
    return [c for c, _ in ranked[:max_categories]]


def _bucketed(counts: Mapping[str, int], kept: list[str]) -> np.ndarray:
    import numpy as np

    index = {c: i for i, c in enumerate(kept)}
    out = np.zeros(len(kept) + 1)
    for c, n in counts.items():
        out[index.get(c, len(kept))] += n
    return out


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """The two-sample Kolmogorov-Smirnov statistic and p-value.

    >>> import numpy as np
    >>> ks_test(np.arange(200.0), np.arange(200.0))
    (0.0, 1.0)
    """
    from scipy.stats import ks_2samp

    # Asymptotic: the windows judged hold at least ``min_count`` values, and the exact
    # method fails (with a warning) on the ties of count features.
    got = ks_2samp(reference, current, method="asymp")
    return round(float(got.statistic), 6), float(got.pvalue)


def _missing(rows: int, present: int) -> float | None:
    return round(1 - present / rows, 6) if rows else None


def compare_column(
    name: str,
    reference: Column,
    reference_rows: int,
    current: Column,
    current_rows: int,
    thresholds: DriftThresholds | None = None,
) -> FeatureDrift:
    """One feature's drift (see the module docstring for the rules).

    >>> a, b = Column(), Column()
    >>> for i in range(500):
    ...     a.add(i % 50)
    ...     b.add(i % 50 + 40)
    >>> d = compare_column("count", a, 500, b, 500)
    >>> d.status.value, d.psi > 0.25, d.ks_statistic
    ('alert', True, 0.8)
    >>> compare_column("count", a, 50, b, 50).status.value
    'insufficient_data'
    """
    t = thresholds or DriftThresholds()
    categorical = bool(reference.categories or current.categories)
    base = FeatureDrift(
        feature=name,
        kind="categorical" if categorical else "numeric",
        status=Status.INSUFFICIENT_DATA,
        reference_count=reference_rows,
        current_count=current_rows,
        missing_reference=_missing(reference_rows, reference.present),
        missing_current=_missing(current_rows, current.present),
    )
    if min(reference_rows, current_rows) < t.min_count:
        return replace(base, reasons=(f"fewer than {t.min_count} decisions in a window",))
    reasons: list[str] = []
    change = abs((base.missing_current or 0.0) - (base.missing_reference or 0.0))
    missing_status = Status.OK
    if change > 0:
        table = [
            [reference.present, reference_rows - reference.present],
            [current.present, current_rows - current.present],
        ]
        if homogeneity(table) < t.p_value:
            missing_status = graded(change, t.missing_warn, t.missing_alert)
    if missing_status is not Status.OK:
        reasons.append(f"missing rate moved by {change:.3f}")
    if min(reference.present, current.present) < t.min_count:
        reasons.append(f"fewer than {t.min_count} values in a window: distribution not judged")
        if missing_status is Status.OK:
            return replace(base, reasons=tuple(reasons))
        return replace(base, status=missing_status, reasons=tuple(reasons))
    statuses = [missing_status]
    if categorical:
        ref_counts, cur_counts = reference.counts(), current.counts()
        value = category_psi(ref_counts, cur_counts, t.max_categories)
        kept = _kept(ref_counts, t.max_categories)
        p = homogeneity([_bucketed(ref_counts, kept), _bucketed(cur_counts, kept)])
        unseen = [c for c, _ in cur_counts.most_common() if c not in ref_counts]
        base = replace(base, chi2_p_value=p, new_categories=tuple(unseen[:5]))
    else:
        import numpy as np

        from riskloop.training.compare import psi

        ref, cur = np.frombuffer(reference.numbers), np.frombuffer(current.numbers)
        value = psi(ref, cur, bins=t.bins)
        stat, p = ks_test(ref, cur)
        base = replace(
            base,
            ks_statistic=stat,
            ks_p_value=p,
            mean_reference=round(float(ref.mean()), 6),
            mean_current=round(float(cur.mean()), 6),
        )
        if p < t.p_value and stat >= t.ks_min_statistic:
            reasons.append(f"KS statistic {stat:.3f} (p={p:.2g})")
            statuses.append(Status.ALERT)
    psi_status = graded(value, t.psi_warn, t.psi_alert) if p < t.p_value else Status.OK
    if psi_status is not Status.OK:
        reasons.append(f"PSI {value:.3f}")
    statuses.append(psi_status)
    return replace(base, status=worst(statuses), psi=value, reasons=tuple(reasons))


def homogeneity(table: Any) -> float:
    """The p-value of a chi-square test that the rows (windows) share one distribution over
    the columns (buckets); columns empty in both rows are dropped.

    >>> homogeneity([[50, 50], [52, 48]]) > 0.5, homogeneity([[90, 10], [10, 90]]) < 1e-9
    (True, True)
    """
    import numpy as np
    from scipy.stats import chi2_contingency

    counts = np.asarray(table, dtype=float)
    counts = counts[:, counts.sum(axis=0) > 0]
    if counts.shape[1] < 2 or (counts.sum(axis=1) == 0).any():
        return 1.0
    return float(chi2_contingency(counts, correction=False).pvalue)


def compare(
    reference: Sample, current: Sample, thresholds: DriftThresholds | None = None
) -> DriftResult:
    """Every feature seen in either window, and the score, current against reference."""
    t = thresholds or DriftThresholds()
    names = sorted(set(reference.columns) | set(current.columns))
    empty = Column()
    features = tuple(
        compare_column(
            name,
            reference.columns.get(name, empty),
            reference.rows,
            current.columns.get(name, empty),
            current.rows,
            t,
        )
        for name in names
    )
    score = compare_column("score", reference.score, reference.rows, current.score, current.rows, t)
    return DriftResult(
        features=features,
        score=score,
        status=worst(f.status for f in (*features, score)),
        reference_count=reference.rows,
        current_count=current.rows,
    )
