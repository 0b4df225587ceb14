"""Label precedence and labels that arrive before their event, the same in the in-process
state and in shared Redis state (each worker of a scaled-out deployment sees the same)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import redis

from riskloop.adapters.redis_features import RedisState
from riskloop.domain.labels import Label
from riskloop.features import (
    EventInput,
    FeatureEngine,
    FeatureState,
    MemoryState,
    parse_feature_set,
)

MIN, DAY = 60_000, 86_400_000
T0 = 1_790_000_000_000
NOW = datetime(2026, 11, 1, tzinfo=UTC)
RATE = {
    "name": "rate",
    "kind": "label_rate",
    "entity": "merchant",
    "window": "7d",
    "events": ["card_payment"],
}


def _memory() -> Iterator[FeatureState]:
    yield MemoryState()


def _redis() -> Iterator[FeatureState]:
    client = redis.Redis()
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    state = RedisState(client, f"rl:test:{uuid.uuid4().hex[:8]}:")
    yield state
    state.reset()
    client.close()


@pytest.fixture(params=[_memory, _redis], ids=["memory", "redis"])
def engine(request: pytest.FixtureRequest) -> Iterator[FeatureEngine]:
    factory: Callable[[], Iterator[FeatureState]] = request.param
    states = factory()
    fs = parse_feature_set({"name": "t", "version": 1, "lateness": "10m", "features": [RATE]})
    yield FeatureEngine(fs, next(states))
    next(states, None)


def _pay(engine: FeatureEngine, i: int, t: int) -> object:
    event = EventInput(f"e{i}", "card_payment", t, {"merchant": {"id": "m1"}, "amount": 1})
    return engine.process(event).values["rate"]  # type: ignore[index]


def _label(event_id: str, fraud: bool, kind: str) -> Label:
    return Label(event_id, fraud, NOW, "t", kind)


def test_a_higher_tier_wins_and_the_latest_wins_within_a_tier(engine: FeatureEngine) -> None:
    _pay(engine, 1, T0)
    _pay(engine, 2, T0 + MIN)
    engine.apply_label(_label("e1", False, "analyst"))  # reviewed: genuine
    engine.apply_label(_label("e1", True, "customer_report"))  # a lower tier cannot overturn
    assert _pay(engine, 3, T0 + 2 * MIN) == 0.0
    engine.apply_label(_label("e1", True, "chargeback"))  # same tier, later: stands
    assert _pay(engine, 4, T0 + 3 * MIN) == pytest.approx(1 / 3)
    engine.apply_label(_label("e2", True, "refund_fraud"))
    engine.apply_label(_label("e2", False, "confirmed_good"))  # tier 2 over tier 1
    assert _pay(engine, 5, T0 + 4 * MIN) == pytest.approx(1 / 4)
    engine.apply_label(_label("e1", False, "analyst"))  # the analyst looks again
    assert _pay(engine, 6, T0 + 5 * MIN) == 0.0


def test_a_label_that_comes_before_its_event_counts_when_the_event_arrives(
    engine: FeatureEngine,
) -> None:
    _pay(engine, 1, T0)
    engine.apply_label(_label("e2", True, "customer_report"))
    engine.apply_label(_label("e2", False, "refund_fraud"))  # lower tier: the report stays
    assert _pay(engine, 2, T0 + MIN) == 0.0  # its own features do not see its label
    assert _pay(engine, 3, T0 + 2 * MIN) == pytest.approx(1 / 2)


def test_a_waiting_label_past_the_horizon_is_forgotten(engine: FeatureEngine) -> None:
    _pay(engine, 1, T0)
    engine.apply_label(Label("late", True, datetime.fromtimestamp(T0 / 1000, UTC), "t"))
    _pay(engine, 2, T0 + 9 * DAY)  # the stream moves on past 7 days + lateness
    _pay(engine, 3, T0 + 9 * DAY + MIN)
    assert _pay(engine, 99, T0 + 9 * DAY + 2 * MIN) == 0.0
    engine.process(
        EventInput("late", "card_payment", T0 + 9 * DAY + 3 * MIN, {"merchant": {"id": "m1"}})
    )
    assert _pay(engine, 100, T0 + 9 * DAY + 4 * MIN) == 0.0
