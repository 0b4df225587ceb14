"""Freshness per event type and contract violations per source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskloop.monitoring.freshness import (
    FreshnessThresholds,
    contract_violations,
    event_freshness,
)

NOW = datetime(2026, 3, 8, 12, tzinfo=UTC)
WEEK, DAY = timedelta(days=7), timedelta(days=1)


def _one(last: datetime | None, ref: int, cur: int, **kw: Any) -> dict[str, Any]:
    rows = event_freshness(
        NOW,
        last_event={"t": last} if last is not None else {},
        reference={"t": ref} if ref else {},
        current={"t": cur} if cur else {},
        reference_span=WEEK,
        current_span=DAY,
        **kw,
    )
    assert len(rows) == 1
    return rows[0]


def test_a_busy_type_silent_for_over_an_hour_is_stale() -> None:
    row = _one(NOW - timedelta(hours=2), ref=7 * 2400, cur=2200)
    assert row["status"] == "alert" and row["age_s"] == 7200.0
    assert row["expected_current_events"] == 2400.0 and "no event for 2.0 h" in row["reasons"][0]
    assert _one(NOW - timedelta(minutes=50), ref=7 * 2400, cur=2200)["status"] == "ok"


def test_a_quiet_type_is_not_stale_after_an_hour() -> None:
    # three events a day: an hour without one is normal (the rate predicts 0.1 events)
    assert _one(NOW - timedelta(hours=5), ref=21, cur=2)["status"] == "ok"
    # ... but two silent days are not
    assert _one(NOW - timedelta(days=2), ref=21, cur=0)["status"] == "alert"


def test_a_type_without_reference_traffic_is_never_stale() -> None:
    row = _one(NOW - timedelta(days=30), ref=0, cur=0)
    assert row["status"] == "ok" and row["reference_events"] == 0


def test_a_volume_drop_warns() -> None:
    row = _one(NOW - timedelta(minutes=1), ref=7000, cur=300)
    assert row["status"] == "warn" and row["volume_ratio"] == 0.3
    assert (
        _one(NOW, ref=7000, cur=300, thresholds=FreshnessThresholds(volume_warn=None))["status"]
        == "ok"
    )


def test_an_event_from_the_future_counts_as_fresh() -> None:
    assert _one(NOW + timedelta(hours=3), ref=7000, cur=1000)["age_s"] == 0.0


def test_the_stale_threshold_is_configurable() -> None:
    strict = FreshnessThresholds(stale_after=timedelta(minutes=10))
    assert (
        _one(NOW - timedelta(minutes=20), ref=70_000, cur=10_000, thresholds=strict)["status"]
        == "alert"
    )


def test_violation_rate_by_source() -> None:
    rows = contract_violations(
        {"file:a.csv": 990, "file:b.csv": 940, "api": 10_000, "file:tiny.csv": 3},
        {"file:a.csv": 10, "file:b.csv": 60, "file:tiny.csv": 3, "file:gone.csv": 40},
    )
    got = {r["source"]: (r["status"], r["violation_rate"]) for r in rows}
    assert got == {
        "file:gone.csv": ("alert", 1.0),
        "file:tiny.csv": ("insufficient_data", 0.5),
        "file:b.csv": ("alert", 0.06),
        "file:a.csv": ("warn", 0.01),
        "api": ("ok", 0.0),
    }
    assert [r["source"] for r in rows][:2] == ["file:gone.csv", "file:tiny.csv"]


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="violation_warn"):
        FreshnessThresholds(violation_warn=0.1, violation_alert=0.05)
    assert FreshnessThresholds().as_dict()["stale_after_s"] == 3600.0
