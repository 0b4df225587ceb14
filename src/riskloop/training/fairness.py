"""Fairness checks for the credit model card: approval and error rates per protected segment.

For monitoring only. The segments (sex, marital status, age band, foreign worker) are never
model inputs (``credit_spec`` refuses them); they are joined to the decisions afterwards.

At a cut-off that approves a chosen share of applicants (the lowest PDs), per segment:

- approval rate, and its ratio to the best-approved segment of the same attribute (the
  adverse impact ratio; under 0.8 is the usual "four-fifths" warning);
- false-positive rate: good applicants declined, over good applicants;
- false-negative rate: bad applicants approved, over bad applicants;
- bad rate: observed defaults, over the segment;

each with its gap to the overall rate (segment minus overall).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

RATES = ("approval_rate", "false_positive_rate", "false_negative_rate", "bad_rate")


@dataclass(frozen=True, slots=True)
class SegmentRates:
    attribute: str  # "all" for the overall row
    segment: str
    n: int
    approval_rate: float
    false_positive_rate: float | None  # None: the segment has no good applicants
    false_negative_rate: float | None  # None: no bad applicants
    bad_rate: float
    gaps: Mapping[str, float | None]  # rate name -> segment minus overall
    impact_ratio: float | None = None  # approval rate / the attribute's highest


def approval_cutoff(pd: npt.ArrayLike, approval_rate: float) -> float:
    """The highest PD approved when the ``approval_rate`` share with the lowest PDs is.

    >>> approval_cutoff([0.1, 0.4, 0.2, 0.3, 0.5], 0.6)
    0.3
    """
    p = np.sort(np.asarray(pd, dtype=np.float64))
    if not 0 < approval_rate <= 1 or not len(p):
        raise ValueError("approval_rate must be in (0, 1] and scores non-empty")
    return float(p[max(1, round(approval_rate * len(p))) - 1])


def _rates(approved: npt.NDArray[np.bool_], bad: npt.NDArray[np.bool_]) -> dict[str, float | None]:
    goods, bads = int((~bad).sum()), int(bad.sum())
    return {
        "approval_rate": float(approved.mean()),
        "false_positive_rate": float((~approved & ~bad).sum() / goods) if goods else None,
        "false_negative_rate": float((approved & bad).sum() / bads) if bads else None,
        "bad_rate": float(bad.mean()),
    }


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _row(
    attribute: str,
    segment: str,
    rates: Mapping[str, float | None],
    overall: Mapping[str, float | None],
    n: int,
    impact: float | None,
) -> SegmentRates:
    return SegmentRates(
        attribute,
        segment,
        n,
        float(rates["approval_rate"] or 0.0),
        rates["false_positive_rate"],
        rates["false_negative_rate"],
        float(rates["bad_rate"] or 0.0),
        {k: _gap(rates[k], overall[k]) for k in RATES},
        impact,
    )


def segment_rates(
    pd: npt.ArrayLike,
    y: npt.ArrayLike,
    segments: Mapping[str, npt.ArrayLike],
    *,
    cutoff: float,
) -> list[SegmentRates]:
    """The overall row, then one row per attribute and segment (segments sorted by name).
    Applicants with ``pd <= cutoff`` are approved; ``y`` is 1 for bad."""
    p = np.asarray(pd, dtype=np.float64)
    bad = np.asarray(y).astype(np.bool_)
    approved = p <= cutoff
    overall = _rates(approved, bad)
    out = [_row("all", "all", overall, overall, len(p), None)]
    for attribute, values in segments.items():
        labels = np.asarray(values, dtype=np.str_)
        groups = sorted(set(labels.tolist()))
        per = {g: _rates(approved[labels == g], bad[labels == g]) for g in groups}
        best = max(float(r["approval_rate"] or 0.0) for r in per.values())
        for g in groups:
            share = float(per[g]["approval_rate"] or 0.0)
            impact = share / best if best > 0 else None
            out.append(_row(attribute, g, per[g], overall, int((labels == g).sum()), impact))
    return out


def fairness_markdown(rows: list[SegmentRates]) -> str:
    """The model card's fairness table."""

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f} %"

    def gap(v: float | None) -> str:
        return "" if v is None else f" ({100 * v:+.1f})"

    lines = [
        "| attribute | segment | n | approval (gap) | impact ratio | false positive (gap) "
        "| false negative (gap) | bad rate (gap) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = "" if r.impact_ratio is None else f"{r.impact_ratio:.2f}"
        lines.append(
            f"| {r.attribute} | {r.segment} | {r.n} "
            f"| {pct(r.approval_rate)}{gap(r.gaps['approval_rate'])} | {ratio} "
            f"| {pct(r.false_positive_rate)}{gap(r.gaps['false_positive_rate'])} "
            f"| {pct(r.false_negative_rate)}{gap(r.gaps['false_negative_rate'])} "
            f"| {pct(r.bad_rate)}{gap(r.gaps['bad_rate'])} |"
        )
    return "\n".join(lines)
