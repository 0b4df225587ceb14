"""The scorecard: a logistic regression on weight-of-evidence features, scaled to points.

Fitting: every column is WoE-binned (``riskloop.training.woe``: numeric and ordinal columns
monotone where the spec declares it); columns with an information value under ``min_iv``
are left out; the regression (scikit-learn, no class weights, so its output is a PD) is
refitted without the column of the most negative coefficient until every coefficient is
positive, because with WoE = ln(bad share / good share) a negative one would turn a risky
bin into points gained (collinear columns do that).

Scaling (PDO): ``score = offset + factor * ln(good:bad odds)``, ``factor = pdo / ln 2``,
``offset = base_score - factor * ln(base_odds)``; by default 600 points at odds 50:1 and 20
points to double the odds. Since ``ln(odds) = -(b0 + sum b_j * woe_j)``, the score is
``base_points + sum of each feature's bin points`` with ``base_points = offset - factor * b0``
and ``points = -factor * b_j * woe``: higher is better, and the points add up exactly.

Adverse-action reasons: for each feature, the points the applicant's bin earns below the
feature's average over the training applicants; the (at most four) features short by most
are the reasons, ties broken by name, each read as "<feature>: <bin>". The artifact is
JSON, never a pickle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from riskloop.scoring.port import top_reasons
from riskloop.scoring.reasons import MAX_REASONS
from riskloop.training.credit_spec import CreditSpec, Reason, value_text
from riskloop.training.woe import FeatureBins, bin_categorical, bin_numeric, bin_ordinal

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Scaling:
    base_score: float = 600.0
    base_odds: float = 50.0  # good:bad odds at base_score
    pdo: float = 20.0  # points to double the odds

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def score(self, pd: float) -> float:
        """
        >>> round(Scaling().score(1 / 51), 6), round(Scaling().score(1 / 101), 2)
        (600.0, 620.0)
        """
        return self.offset + self.factor * math.log((1 - pd) / pd)


class Scorecard:
    def __init__(
        self,
        bins: Sequence[FeatureBins],
        coef: Mapping[str, float],
        intercept: float,
        *,
        scaling: Scaling = Scaling(),
        labels: Mapping[str, str] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.bins = {fb.feature: fb for fb in bins}
        self.coef = {f: float(coef[f]) for f in self.bins}
        self.intercept = float(intercept)
        self.scaling = scaling
        self.labels = {
            f: (labels or {}).get(f) or f.replace("_", " ").capitalize() for f in self.bins
        }
        self.info = dict(info or {})
        # Each feature's bin points, and the points of a value no bin holds (WoE 0).
        self._points = {
            f: np.array([*(self._woe_points(f, b.woe) for b in fb.bins), self._woe_points(f, 0.0)])
            for f, fb in self.bins.items()
        }

        # Each feature's average points over the training applicants: what a reason is
        # measured against (Regulation B's "average of all applicants" method).
        self.average = {
            f: float(
                sum((b.good + b.bad) * p for b, p in zip(fb.bins, self._points[f], strict=False))
                / max(1, sum(b.good + b.bad for b in fb.bins))
            )
            for f, fb in self.bins.items()
        }

    def _woe_points(self, feature: str, woe: float) -> float:
        return -self.scaling.factor * self.coef[feature] * woe

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.bins)

    @property
    def base_points(self) -> float:
        return self.scaling.offset - self.scaling.factor * self.intercept

    def points_table(self) -> list[dict[str, Any]]:
        """One row per feature and bin: the points, WoE and counts behind them."""
        return [
            {
                "feature": f,
                "bin": b.label,
                "points": float(self._points[f][i]),
                "woe": b.woe,
                "n": b.good + b.bad,
                "bad_rate": b.bad / max(1, b.good + b.bad),
            }
            for f, fb in self.bins.items()
            for i, b in enumerate(fb.bins)
        ]

    def points(self, columns: Mapping[str, npt.ArrayLike]) -> dict[str, FloatArray]:
        """Each feature's points for each row of ``columns``."""
        return {f: self._points[f][fb.index(columns[f])] for f, fb in self.bins.items()}

    def scores(self, columns: Mapping[str, npt.ArrayLike]) -> FloatArray:
        parts = self.points(columns)
        total = sum(parts.values(), start=np.zeros(len(next(iter(parts.values())))))
        return np.asarray(self.base_points + total, dtype=np.float64)

    def predict_pd(self, columns: Mapping[str, npt.ArrayLike]) -> FloatArray:
        log_odds_good = (self.scores(columns) - self.scaling.offset) / self.scaling.factor
        return np.asarray(1 / (1 + np.exp(log_odds_good)), dtype=np.float64)

    def score(self, applicant: Mapping[str, float | str]) -> float:
        return float(self.scores({f: [applicant[f]] for f in self.bins})[0])

    def reasons(
        self, applicant: Mapping[str, float | str], top: int = MAX_REASONS
    ) -> tuple[Reason, ...]:
        """The features whose bins earn the applicant the fewest points against the average
        training applicant (not against the best bin: that names features where the
        applicant is merely typical, e.g. "no guarantor" when few have one)."""
        lost: dict[str, float] = {}
        for f, fb in self.bins.items():
            i = int(fb.index([applicant[f]])[0])
            lost[f] = float(self.average[f] - self._points[f][i])
        return tuple(
            Reason(c.feature, self._reason_text(c.feature, applicant[c.feature]), c.value)
            for c in top_reasons(lost, min(top, MAX_REASONS))
        )

    def _reason_text(self, feature: str, value: float | str) -> str:
        """A numeric feature reads as its bin ("36 or more"); a categorical one as the
        applicant's own category, not the whole pooled bin."""
        fb = self.bins[feature]
        i = int(fb.index([value])[0])
        if fb.kind == "categorical" or i < 0:
            return f"{self.labels[feature]}: {value_text(value)}"
        return f"{self.labels[feature]}: {fb.bins[i].label}"

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "kind": "scorecard",
                "scaling": {
                    "base_score": self.scaling.base_score,
                    "base_odds": self.scaling.base_odds,
                    "pdo": self.scaling.pdo,
                },
                "intercept": self.intercept,
                "coef": self.coef,
                "labels": self.labels,
                "bins": [fb.to_dict() for fb in self.bins.values()],
                "info": self.info,
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def from_json(cls, data: bytes) -> Scorecard:
        doc = orjson.loads(data)
        if doc.get("kind") != "scorecard":
            raise ValueError("not a scorecard artifact")
        return cls(
            [FeatureBins.from_dict(b) for b in doc["bins"]],
            doc["coef"],
            doc["intercept"],
            scaling=Scaling(**doc["scaling"]),
            labels=doc["labels"],
            info=doc["info"],
        )


def bin_columns(
    spec: CreditSpec,
    columns: Mapping[str, npt.ArrayLike],
    y: npt.ArrayLike,
    *,
    min_share: float = 0.05,
    max_bins: int = 10,
) -> list[FeatureBins]:
    """WoE bins of every spec column: numeric and ordinal ones monotone where declared."""
    out = []
    for c in spec.columns:
        x = columns[c.name]
        if c.kind == "numeric":
            fb = bin_numeric(
                c.name, x, y, monotone=c.monotone, max_bins=max_bins, min_share=min_share
            )
        elif c.kind == "ordinal":
            fb = bin_ordinal(c.name, x, y, c.order, monotone=c.monotone, min_share=min_share)
        else:
            fb = bin_categorical(c.name, x, y, min_share=min_share)
        out.append(fb)
    return out


def fit_scorecard(
    spec: CreditSpec,
    columns: Mapping[str, npt.ArrayLike],
    y: npt.ArrayLike,
    *,
    scaling: Scaling = Scaling(),
    min_iv: float = 0.02,
    c: float = 1.0,
    min_share: float = 0.05,
    max_bins: int = 10,
    seed: int = 7,
) -> Scorecard:
    from sklearn.linear_model import LogisticRegression

    target = np.asarray(y, dtype=np.int64)
    all_bins = bin_columns(spec, columns, target, min_share=min_share, max_bins=max_bins)
    kept = [fb for fb in all_bins if fb.iv >= min_iv]
    dropped: dict[str, str] = {
        fb.feature: f"IV {fb.iv:.3f} < {min_iv}" for fb in all_bins if fb.iv < min_iv
    }
    while kept:
        x = np.column_stack([fb.woe(columns[fb.feature]) for fb in kept])
        lr = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x, target)
        coef = lr.coef_[0]
        worst = int(np.argmin(coef))
        if coef[worst] > 0:
            break
        dropped[kept[worst].feature] = f"coefficient {coef[worst]:.3f} <= 0 beside the others"
        kept.pop(worst)
    else:
        raise ValueError("no column carries information: nothing to score")
    return Scorecard(
        kept,
        {fb.feature: float(v) for fb, v in zip(kept, coef, strict=True)},
        float(lr.intercept_[0]),
        scaling=scaling,
        labels=spec.labels,
        info={
            "dropped": dropped,
            "iv": {fb.feature: round(fb.iv, 6) for fb in all_bins},
            "C": c,
            "min_iv": min_iv,
        },
    )
