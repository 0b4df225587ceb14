"""Probability-of-default calibration as a piecewise-linear table.

Fitted with scikit-learn on held-out predictions, stored as knots ``(x, y)`` and applied
with ``np.interp`` (clamped at the ends), so serving needs neither sklearn nor a pickle,
and the map is non-decreasing by construction: a monotone model stays monotone.

- ``platt``: a logistic regression on the logit of the raw probability (two parameters),
  tabulated at quantiles of the raw scores. Right for small calibration sets: the German
  data leaves ~700 held-out predictions, where isotonic regression overfits.
- ``isotonic``: scikit-learn's isotonic regression, whose fitted function already is a
  piecewise-linear table (its thresholds). Flat steps tie applicants that the model told
  apart, and with few rows the steps follow noise; better with many thousands of rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Method = Literal["platt", "isotonic"]
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Calibration:
    """
    >>> cal = Calibration("platt", (0.1, 0.5, 0.9), (0.05, 0.3, 0.8))
    >>> cal([0.0, 0.3, 1.0]).round(3).tolist()
    [0.05, 0.175, 0.8]
    """

    method: str
    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, raw: npt.ArrayLike) -> FloatArray:
        return np.asarray(np.interp(np.asarray(raw, dtype=np.float64), self.x, self.y))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Calibration:
        x = tuple(float(v) for v in doc["x"])
        y = tuple(float(v) for v in doc["y"])
        if len(x) != len(y) or len(x) < 2 or np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0):
            raise ValueError("a calibration table needs >= 2 non-decreasing knots")
        return cls(str(doc["method"]), x, y)


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)))


def fit_calibration(
    raw: npt.ArrayLike, y: npt.ArrayLike, *, method: Method = "platt", knots: int = 64
) -> Calibration:
    """Map held-out raw probabilities ``raw`` to the observed default rate of ``y``."""
    p = np.asarray(raw, dtype=np.float64)
    target = np.asarray(y, dtype=np.int64)
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, target)
        return Calibration(
            "isotonic",
            tuple(float(v) for v in iso.X_thresholds_),
            tuple(float(v) for v in iso.y_thresholds_),
        )
    from sklearn.linear_model import LogisticRegression

    # Large C: two parameters need no shrinkage, and shrinkage would pull PDs to the mean.
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(p)[:, None], target)
    slope, intercept = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if slope <= 0:
        raise ValueError("the raw scores do not rank defaults: nothing to calibrate")
    qs = np.quantile(p, np.linspace(0, 1, knots))
    grid = np.unique(np.concatenate(([_EPS], qs, [1 - _EPS])))
    values = 1 / (1 + np.exp(-(slope * _logit(grid) + intercept)))
    return Calibration(
        "platt",
        tuple(float(v) for v in grid),
        tuple(float(v) for v in np.maximum.accumulate(values)),
    )
