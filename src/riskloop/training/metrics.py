"""Evaluation the way fraud teams read it.

ROC AUC says little when fraud is 0.5 % of traffic; what a team needs is: if we review the
riskiest 1 % of payments, how much fraud do we catch (count and money), how many good
customers do we bother, and how many compromised cards would analysts find each day.

- ``at_rates``: precision, recall, fraud amount caught and good amount flagged when the top
  ``rate`` share of events by score is reviewed or declined;
- ``card_precision_at_k``: per day, cards ranked by their riskiest event; the share of the
  top ``k`` cards that had fraud that day, not counting cards already caught on an earlier
  day (an analyst would have blocked them) — averaged over days;
- ``recall_at_fpr``: fraud caught when at most that share of good events is flagged;
- calibration (reliability by score decile, Brier score) and per-segment figures.

The same functions take 0/1 flags instead of scores, so a rules-only baseline is measured
on the same footing as a model (``evaluate_flags``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from riskloop.training.dataset import TrainingSet, amount_band
from riskloop.training.split import DAY_MS

REVIEW_RATES = (0.005, 0.01, 0.02, 0.05)
FPR_LEVELS = (0.001, 0.01)


def _round(v: float) -> float:
    return round(float(v), 6)


def _at_count(order: np.ndarray, n_flag: int, ts: TrainingSet) -> dict[str, Any]:
    flagged = np.zeros(len(ts), dtype=bool)
    flagged[order[:n_flag]] = True
    fraud = ts.y == 1
    caught = flagged & fraud
    return {
        "flagged": int(n_flag),
        "precision": _round(caught.sum() / max(1, n_flag)),
        "recall": _round(caught.sum() / max(1, fraud.sum())),
        "fraud_amount_caught": _round(ts.amount[caught].sum()),
        "fraud_amount_total": _round(ts.amount[fraud].sum()),
        "good_amount_flagged": _round(ts.amount[flagged & ~fraud].sum()),
        "good_flagged": int((flagged & ~fraud).sum()),
    }


def at_rates(
    scores: np.ndarray, ts: TrainingSet, rates: Sequence[float] = REVIEW_RATES
) -> list[dict[str, Any]]:
    order = np.argsort(-scores, kind="stable")
    out = []
    for rate in rates:
        n = max(1, round(rate * len(ts)))
        row = {"rate": rate, "threshold": _round(scores[order[n - 1]]), **_at_count(order, n, ts)}
        out.append(row)
    return out


def card_precision_at_k(scores: np.ndarray, ts: TrainingSet, k: int = 100) -> float | None:
    days: dict[int, dict[str, tuple[float, bool]]] = defaultdict(dict)
    for i, card in enumerate(ts.card):
        if not card:
            continue
        day = int(ts.occurred_ms[i] // DAY_MS)
        best, fraud = days[day].get(card, (-1.0, False))
        days[day][card] = (max(best, float(scores[i])), fraud or bool(ts.y[i]))
    caught: set[str] = set()
    daily = []
    for day in sorted(days):
        cards = [(s, f, c) for c, (s, f) in days[day].items() if c not in caught]
        if not cards:
            continue
        top = sorted(cards, key=lambda t: (-t[0], t[2]))[:k]
        daily.append(sum(f for _, f, _ in top) / len(top))
        caught.update(c for _, f, c in top if f)
    return _round(float(np.mean(daily))) if daily else None


def recall_at_fpr(scores: np.ndarray, y: np.ndarray, fpr: float) -> float:
    false_pos, true_pos, _ = roc_curve(y, scores)
    ok = false_pos <= fpr
    return _round(true_pos[ok].max()) if ok.any() else 0.0


def calibration(scores: np.ndarray, y: np.ndarray, bins: int = 10) -> dict[str, Any]:
    order = np.argsort(scores, kind="stable")
    table = []
    for part in np.array_split(order, bins):
        if len(part):
            table.append(
                {
                    "n": len(part),
                    "mean_score": _round(scores[part].mean()),
                    "fraud_rate": _round(y[part].mean()),
                }
            )
    ece = sum(t["n"] * abs(t["mean_score"] - t["fraud_rate"]) for t in table) / max(1, len(y))
    return {
        "brier": _round(np.mean((scores - y) ** 2)),
        "expected_calibration_error": _round(ece),
        "deciles": table,
    }


def _ranking(scores: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    both = 0 < int(y.sum()) < len(y)
    return {
        "roc_auc": _round(roc_auc_score(y, scores)) if both else None,
        "average_precision": _round(average_precision_score(y, scores)) if both else None,
    }


def segments(scores: np.ndarray, ts: TrainingSet, threshold: float) -> dict[str, Any]:
    keys = {
        "channel": ts.channel,
        "country": ts.country,
        "amount_band": [amount_band(a) for a in ts.amount],
    }
    out: dict[str, Any] = {}
    for name, values in keys.items():
        groups: dict[str, list[int]] = defaultdict(list)
        for i, v in enumerate(values):
            groups[v].append(i)
        rows = {}
        for value, idx in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:12]:
            s, y = scores[idx], ts.y[idx]
            flagged = s >= threshold
            rows[value] = {
                "n": len(idx),
                "fraud": int(y.sum()),
                **_ranking(s, y),
                "recall": _round((flagged & (y == 1)).sum() / max(1, y.sum())),
                "flag_rate": _round(flagged.mean()),
            }
        out[name] = rows
    return out


def evaluate(scores: np.ndarray, ts: TrainingSet, *, k: int = 100) -> dict[str, Any]:
    """Every figure of the model card, on one window (usually the test window)."""
    rates = at_rates(scores, ts)
    one_pct = next((r for r in rates if r["rate"] == 0.01), rates[0])
    return {
        "events": len(ts),
        "fraud": ts.positives,
        "fraud_rate": _round(ts.positives / max(1, len(ts))),
        **_ranking(scores, ts.y),
        "at_review_rates": rates,
        "recall_at_fpr": {str(f): recall_at_fpr(scores, ts.y, f) for f in FPR_LEVELS},
        f"card_precision_at_{k}": card_precision_at_k(scores, ts, k),
        "calibration": calibration(scores, ts.y),
        "segments": segments(scores, ts, one_pct["threshold"]),
    }


def evaluate_flags(flags: np.ndarray, ts: TrainingSet) -> dict[str, Any]:
    """A rules-only baseline: events a set of rules flags, measured like a model's top N."""
    order = np.argsort(-flags.astype(np.float64), kind="stable")
    n = int(flags.sum())
    return {"events": len(ts), "fraud": ts.positives, **_at_count(order, n, ts)}
