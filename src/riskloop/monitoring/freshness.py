"""Freshness and contract violations: is data still arriving, and is it arriving broken?

**Freshness**, per event type, as of the end of the current window: the time since the
last event (by ``occurred_at``) and the events in each window. An event type is ``alert``
(stale) when it had traffic in the reference window, nothing for ``stale_after``, and the
reference rate says at least ``min_expected`` events should have come in that silence (so
a type that sees three events a day is not stale after an hour). It is ``warn`` when the
current window holds less than ``volume_warn`` of the events the reference rate predicts.

**Contract violations**, per source (a file, a stream): dead letters / (events stored +
dead letters) in the current window, by arrival time. ``warn`` from ``violation_warn``,
``alert`` from ``violation_alert``; a source with fewer than ``min_records`` records is
``insufficient_data``.

>>> from datetime import UTC, datetime, timedelta
>>> now = datetime(2026, 1, 8, tzinfo=UTC)
>>> rows = event_freshness(
...     now,
...     last_event={"card_payment": now - timedelta(hours=3), "login": now},
...     reference={"card_payment": 7000, "login": 7000},
...     current={"card_payment": 700, "login": 1000},
...     reference_span=timedelta(days=7),
...     current_span=timedelta(days=1),
... )
>>> [(r["event_type"], r["status"]) for r in rows]
[('card_payment', 'alert'), ('login', 'ok')]
>>> [(r["source"], r["violation_rate"], r["status"])
...  for r in contract_violations({"file:a.csv": 90, "api": 500}, {"file:a.csv": 10})]
[('file:a.csv', 0.1, 'alert'), ('api', 0.0, 'ok')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from riskloop.monitoring.status import Status, graded


@dataclass(frozen=True, slots=True)
class FreshnessThresholds:
    stale_after: timedelta = timedelta(hours=1)
    min_expected: float = 5.0  # events the reference rate predicts before silence counts
    volume_warn: float | None = 0.5  # share of the predicted events; None: not judged
    violation_warn: float = 0.01
    violation_alert: float = 0.05
    min_records: int = 20

    def __post_init__(self) -> None:
        if self.stale_after <= timedelta(0) or self.min_expected < 0:
            raise ValueError("need stale_after > 0 and min_expected >= 0")
        if not 0 < self.violation_warn <= self.violation_alert <= 1:
            raise ValueError("need 0 < violation_warn <= violation_alert <= 1")
        if self.min_records < 1:
            raise ValueError("need min_records >= 1")

    def as_dict(self) -> dict[str, Any]:
        return {
            "stale_after_s": self.stale_after.total_seconds(),
            "min_expected": self.min_expected,
            "volume_warn": self.volume_warn,
            "violation_warn": self.violation_warn,
            "violation_alert": self.violation_alert,
            "min_records": self.min_records,
        }


def event_freshness(
    now: datetime,
    *,
    last_event: Mapping[str, datetime],
    reference: Mapping[str, int],
    current: Mapping[str, int],
    reference_span: timedelta,
    current_span: timedelta,
    thresholds: FreshnessThresholds | None = None,
) -> list[dict[str, Any]]:
    """One row per event type seen in any of the three maps, by name."""
    t = thresholds or FreshnessThresholds()
    rows = []
    for event_type in sorted(set(last_event) | set(reference) | set(current)):
        last = last_event.get(event_type)
        age = max(0.0, (now - last).total_seconds()) if last is not None else None
        ref, cur = reference.get(event_type, 0), current.get(event_type, 0)
        rate = ref / max(1.0, reference_span.total_seconds())  # events a second
        expected = rate * current_span.total_seconds()
        reasons: list[str] = []
        status = Status.OK
        silent = age if age is not None else current_span.total_seconds()
        if ref and silent > t.stale_after.total_seconds() and silent * rate >= t.min_expected:
            status = Status.ALERT
            reasons.append(
                f"no event for {silent / 3600:.1f} h; the reference rate predicts "
                f"{silent * rate:.0f}"
            )
        ratio = cur / expected if expected else None
        if (
            status is Status.OK
            and t.volume_warn is not None
            and ratio is not None
            and expected >= t.min_expected
            and ratio < t.volume_warn
        ):
            status = Status.WARN
            reasons.append(f"{cur} events where the reference rate predicts {expected:.0f}")
        rows.append(
            {
                "event_type": event_type,
                "status": status.value,
                "last_event_at": last.isoformat() if last is not None else None,
                "age_s": round(age, 3) if age is not None else None,
                "reference_events": ref,
                "current_events": cur,
                "expected_current_events": round(expected, 3),
                "volume_ratio": round(ratio, 6) if ratio is not None else None,
                "reasons": reasons,
            }
        )
    return rows


def contract_violations(
    arrivals: Mapping[str, int],
    dead_letters: Mapping[str, int],
    thresholds: FreshnessThresholds | None = None,
) -> list[dict[str, Any]]:
    """One row per source, the highest violation rate first."""
    t = thresholds or FreshnessThresholds()
    rows: list[dict[str, Any]] = []
    for source in set(arrivals) | set(dead_letters):
        good, bad = arrivals.get(source, 0), dead_letters.get(source, 0)
        total = good + bad
        rate = round(bad / total, 6) if total else 0.0
        status = graded(rate, t.violation_warn, t.violation_alert)
        reasons = [f"{bad} of {total} records dead-lettered"] if status is not Status.OK else []
        if total < t.min_records:
            status = Status.INSUFFICIENT_DATA
            reasons = [f"fewer than {t.min_records} records"]
        rows.append(
            {
                "source": source,
                "status": status.value,
                "events": good,
                "dead_letters": bad,
                "violation_rate": rate,
                "reasons": reasons,
            }
        )
    rows.sort(key=lambda r: (-r["violation_rate"], r["source"]))
    return rows
