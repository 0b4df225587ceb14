"""The shadow report: how a challenger scored the same live decisions as the champion.

Read from the decision records (each holds both scores), with the labels known now. It
answers what a team asks before promoting: do the two agree, would the challenger flag
more or fewer events at the champion's review rate, has the score distribution moved (PSI),
and, with the fraud labels that have arrived, which one ranks fraud better (events without a
fraud label count as good: for recent decisions that undercounts fraud, for both models).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

PSI_WARN, PSI_ALERT = 0.1, 0.25


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected``, on the deciles of
    ``expected`` (a floor of 1e-4 per bin keeps empty bins finite)."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)))
    if len(edges) < 3:
        return 0.0
    inner = edges[1:-1]
    e = np.bincount(np.searchsorted(inner, expected, side="right"), minlength=len(edges) - 1)
    a = np.bincount(np.searchsorted(inner, actual, side="right"), minlength=len(edges) - 1)
    return psi_of_counts(e, a)


def psi_of_counts(
    expected: Sequence[int] | np.ndarray, actual: Sequence[int] | np.ndarray
) -> float:
    """PSI of two histograms over the same bins (a floor of 1e-4 per bin keeps empty bins
    finite).

    >>> psi_of_counts([50, 50], [50, 50]), psi_of_counts([90, 10], [10, 90]) > 0.25
    (0.0, True)
    """
    e, a = np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)
    pe = np.maximum(e / max(1.0, e.sum()), 1e-4)
    pa = np.maximum(a / max(1.0, a.sum()), 1e-4)
    return round(float(np.sum((pa - pe) * np.log(pa / pe))), 6)


def _ranking(y: np.ndarray, s: np.ndarray) -> dict[str, float | None]:
    both = 0 < int(y.sum()) < len(y)
    return {
        "roc_auc": round(float(roc_auc_score(y, s)), 6) if both else None,
        "average_precision": round(float(average_precision_score(y, s)), 6) if both else None,
    }


def shadow_report(
    rows: Sequence[tuple[str, float, str, float]],
    labels: Mapping[str, bool],
    *,
    review_rate: float = 0.01,
) -> dict[str, Any]:
    """``rows`` are ``(event_id, champion score, challenger model, challenger score)``."""
    if not rows:
        return {"decisions": 0}
    champion = np.array([r[1] for r in rows])
    challenger = np.array([r[3] for r in rows])
    n_flag = max(1, round(review_rate * len(rows)))
    threshold = float(np.sort(champion)[::-1][n_flag - 1])
    flag_champion = champion >= threshold
    flag_challenger = challenger >= threshold
    drift = psi(champion, challenger)
    report: dict[str, Any] = {
        "decisions": len(rows),
        "challengers": sorted({r[2] for r in rows}),
        "score_mean": {"champion": float(champion.mean()), "challenger": float(challenger.mean())},
        "correlation": round(float(np.corrcoef(champion, challenger)[0, 1]), 6)
        if len(rows) > 1 and champion.std() > 0 and challenger.std() > 0
        else None,
        "psi": drift,
        "psi_status": "alert" if drift >= PSI_ALERT else "warn" if drift >= PSI_WARN else "ok",
        "at_champion_review_rate": {
            "rate": review_rate,
            "threshold": round(threshold, 6),
            "champion_flags": int(flag_champion.sum()),
            "challenger_flags": int(flag_challenger.sum()),
            "both": int((flag_champion & flag_challenger).sum()),
        },
    }
    y = np.array([1 if labels.get(r[0]) else 0 for r in rows], dtype=np.int8)
    fraud = y == 1
    report["labels"] = {"fraud": int(fraud.sum())}
    for name, scores, flags in (
        ("champion", champion, flag_champion),
        ("challenger", challenger, flag_challenger),
    ):
        report["labels"][name] = {
            **_ranking(y, scores),
            "fraud_flagged": int((flags & fraud).sum()),
        }
    return report
