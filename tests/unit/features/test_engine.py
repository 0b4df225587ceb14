"""What each kind of feature means, on small hand-made histories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from riskloop.domain.labels import Label
from riskloop.features import EventInput, FeatureEngine, MemoryState, parse_feature_set

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_790_000_000_000


def _engine(*features: dict[str, Any], lateness: str = "10m") -> FeatureEngine:
    fs = parse_feature_set(
        {"name": "t", "version": 1, "lateness": lateness, "features": list(features)}
    )
    return FeatureEngine(fs, MemoryState())


def _pay(i: int, t: int, **data: Any) -> EventInput:
    base: dict[str, Any] = {"card": {"token": "tok_a"}, "amount": 1000, "merchant": {"id": "m1"}}
    base.update(data)
    return EventInput(f"e{i}", "card_payment", t, base)


COUNT_1H = {
    "name": "n1h",
    "entity": "card",
    "agg": "count",
    "window": "1h",
    "events": ["card_payment"],
}


def test_window_is_open_below_closed_above_and_excludes_the_event_itself() -> None:
    e = _engine(COUNT_1H)
    assert e.process(_pay(1, T0)).values == {"n1h": 0}  # itself not counted
    assert e.process(_pay(2, T0 + HOUR - 1)).values == {"n1h": 1}  # e1 inside (t - 1h, t]
    assert e.process(_pay(3, T0 + HOUR)).values == {"n1h": 1}  # e1 at t - 1h is out, e2 in
    assert e.process(_pay(4, T0 + HOUR)).values == {"n1h": 2}  # same instant, arrived before


def test_a_late_event_does_not_count_for_events_scored_before_it_arrived() -> None:
    e = _engine(COUNT_1H)
    first = e.process(_pay(1, T0 + 10 * MIN))
    late = e.process(_pay(2, T0))  # happened earlier, arrived later
    after = e.process(_pay(3, T0 + 20 * MIN))
    assert first.values == {"n1h": 0}
    assert late.values == {"n1h": 0}  # e1 happened after it: not in (t-1h, t]
    assert after.values == {"n1h": 2}
    assert not late.late


def test_an_event_later_than_the_lateness_is_flagged() -> None:
    e = _engine(COUNT_1H, lateness="5m")
    e.process(_pay(1, T0 + HOUR))
    assert e.process(_pay(2, T0)).late


def test_an_event_far_older_than_the_history_kept_counts_nothing_not_less() -> None:
    """Past the lateness plus the window, the state no longer holds the window (it may have
    been pruned): the count is 0, as Redis answers, never negative."""
    e = _engine(COUNT_1H, lateness="5m")
    for i in range(3):  # still held: nothing has pruned them yet
        e.process(_pay(i, T0 + HOUR + i * MIN))
    e.process(_pay(5, T0 + 10 * HOUR, card={"token": "tok_other"}))  # time moves on elsewhere
    ancient = e.process(_pay(9, T0))
    assert ancient.late and ancient.values == {"n1h": 0}


def test_duplicates_count_once() -> None:
    e = _engine(COUNT_1H)
    e.process(_pay(1, T0))
    again = e.process(_pay(1, T0))
    assert again.duplicate
    assert again.values is None
    assert e.process(_pay(2, T0 + MIN)).values == {"n1h": 1}


def test_filters_and_value_aggregates() -> None:
    e = _engine(
        {
            "name": "declined_small",
            "entity": "card",
            "agg": "count",
            "window": "1h",
            "events": ["card_payment"],
            "where": {"auth_result": "declined", "amount": {"lt": 500}},
        },
        {
            "name": "total",
            "entity": "card",
            "agg": "sum",
            "field": "amount",
            "window": "1h",
            "events": ["card_payment"],
        },
        {
            "name": "avg",
            "entity": "card",
            "agg": "mean",
            "field": "amount",
            "window": "1h",
            "events": ["card_payment"],
        },
        {
            "name": "sd",
            "entity": "card",
            "agg": "std",
            "field": "amount",
            "window": "1h",
            "events": ["card_payment"],
        },
        {
            "name": "top",
            "entity": "card",
            "agg": "max",
            "field": "amount",
            "window": "1h",
            "events": ["card_payment"],
        },
        {
            "name": "merchants",
            "entity": "card",
            "agg": "count_distinct",
            "field": "merchant.id",
            "window": "1h",
            "events": ["card_payment"],
        },
        {
            "name": "since",
            "entity": "card",
            "agg": "time_since_last",
            "window": "1h",
            "events": ["card_payment"],
        },
        {
            "name": "last_m",
            "entity": "card",
            "agg": "last",
            "field": "merchant.id",
            "window": "1h",
            "events": ["card_payment"],
        },
        {"name": "ratio", "kind": "derived", "op": "ratio", "inputs": ["event.amount", "avg"]},
        {"name": "z", "kind": "derived", "op": "zscore", "inputs": ["event.amount", "avg", "sd"]},
    )
    e.process(_pay(1, T0, amount=100, auth_result="declined"))
    e.process(_pay(2, T0 + MIN, amount=300, auth_result="declined", merchant={"id": "m2"}))
    e.process(_pay(3, T0 + 2 * MIN, amount=900, auth_result="declined"))
    v = e.process(_pay(4, T0 + 3 * MIN, amount=1300)).values
    assert v == {
        "declined_small": 2,
        "total": 1300,
        "avg": pytest.approx(433.333333),
        "sd": pytest.approx(339.934634),
        "top": 900,
        "merchants": 2,
        "since": 60.0,
        "last_m": "m1",
        "ratio": pytest.approx(3.0),
        "z": pytest.approx((1300 - 433.333333) / 339.934634),
    }


def test_empty_history_gives_zero_counts_and_no_averages() -> None:
    e = _engine(
        COUNT_1H,
        {
            "name": "avg",
            "entity": "card",
            "agg": "mean",
            "field": "amount",
            "window": "1h",
            "events": ["card_payment"],
        },
        {"name": "ratio", "kind": "derived", "op": "ratio", "inputs": ["event.amount", "avg"]},
    )
    assert e.process(_pay(1, T0)).values == {"n1h": 0, "avg": None, "ratio": None}


def test_geo_velocity_flags_impossible_travel() -> None:
    e = _engine(
        {"name": "kmh", "kind": "geo_velocity", "entity": "card", "events": ["card_payment"]},
        {
            "name": "km",
            "kind": "geo_velocity",
            "unit": "km",
            "entity": "card",
            "events": ["card_payment"],
        },
    )
    e.process(_pay(1, T0, geo={"lat": 52.52, "lon": 13.40}))  # Berlin
    v = e.process(_pay(2, T0 + HOUR, geo={"lat": 40.71, "lon": -74.01})).values  # New York
    assert v is not None
    assert v["km"] == pytest.approx(6385, rel=0.01)
    assert v["kmh"] == pytest.approx(6385, rel=0.01)
    assert e.process(_pay(3, T0 + 2 * HOUR)).values == {"kmh": None, "km": None}  # no geo here


def test_first_seen_is_per_entity_and_value_within_the_lookback() -> None:
    e = _engine(
        {
            "name": "new_device",
            "kind": "first_seen",
            "entity": "customer",
            "field": "device.id",
            "window": "1d",
            "events": ["login"],
        }
    )

    def login(i: int, t: int, device: str) -> EventInput:
        return EventInput(f"l{i}", "login", t, {"customer_id": "c1", "device": {"id": device}})

    assert e.process(login(1, T0, "d1")).values == {"new_device": 1}
    assert e.process(login(2, T0 + HOUR, "d1")).values == {"new_device": 0}
    assert e.process(login(3, T0 + HOUR, "d2")).values == {"new_device": 1}
    assert e.process(login(4, T0 + 26 * HOUR, "d2")).values == {"new_device": 1}


def test_label_rate_counts_only_labels_that_arrived_before_the_event() -> None:
    e = _engine(
        {
            "name": "fraud_rate",
            "kind": "label_rate",
            "entity": "merchant",
            "window": "7d",
            "events": ["card_payment"],
        }
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    e.process(_pay(1, T0))
    e.process(_pay(2, T0 + MIN))
    assert e.process(_pay(3, T0 + 2 * MIN)).values == {"fraud_rate": 0.0}
    e.apply_label(Label("e1", True, now, "t"))
    e.apply_label(Label("e1", True, now, "t"))  # the same label again changes nothing
    assert e.process(_pay(4, T0 + 3 * MIN)).values == {"fraud_rate": pytest.approx(1 / 3)}
    e.apply_label(Label("e1", False, now, "t"))  # reversal
    assert e.process(_pay(5, T0 + 4 * MIN)).values == {"fraud_rate": 0.0}


def test_state_is_evicted_past_the_horizon() -> None:
    state = MemoryState()
    state._SWEEP_EVERY = 50  # type: ignore[misc]
    fs = parse_feature_set({"name": "t", "version": 1, "features": [COUNT_1H]})
    e = FeatureEngine(fs, state)
    for i in range(200):  # 200 different cards, one payment each, a minute apart
        e.process(_pay(i, T0 + i * MIN, card={"token": f"tok_{i}"}))
    # Only cards seen in the last hour plus the lateness (10 minutes) can still matter.
    assert state.entities <= 75
