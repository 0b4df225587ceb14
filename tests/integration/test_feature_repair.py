"""Decisions over the API while Redis is down are answered on rules alone (the state fails
open), and the events they stored are counted once Redis is back: the shared state then
equals a clean pass over the log, and repairing twice counts nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.features import FeatureEngine, MemoryState, load_feature_set
from riskloop.pipeline import FEATURES_UNAVAILABLE
from riskloop.service.features import FeatureService
from tests.support.jetstream import probe, same_instant_payments
from tests.support.redis_server import PrivateRedis

CARDS, PER_CARD = 3, 12


@pytest.fixture
def redis_down_and_up(tmp_path: Path) -> Iterator[tuple[PrivateRedis, Riskloop]]:
    server = PrivateRedis(tmp_path / "redis", durable=True)
    server.start()
    rl = build(
        Settings.from_env(
            {
                "RISKLOOP_DATA_DIR": str(tmp_path / "data"),
                "RISKLOOP_FEATURE_STORE": "redis",
                "RISKLOOP_REDIS_URL": server.url,
            }
        )
    )
    yield server, rl
    rl.close()
    server.stop()


def test_events_stored_while_redis_was_down_are_counted_when_it_is_back(
    redis_down_and_up: tuple[PrivateRedis, Riskloop],
) -> None:
    server, rl = redis_down_and_up
    events, pans = same_instant_payments(CARDS, PER_CARD, prefix="rep")
    half = len(events) // 2
    for e in events[:half]:
        assert FEATURES_UNAVAILABLE not in rl.decisions.decide(e).decision.fallbacks
    server.kill()
    for e in events[half:]:  # answered all the same, on rules alone
        assert FEATURES_UNAVAILABLE in rl.decisions.decide(e).decision.fallbacks
    assert len(rl.features.missed) == len(events) - half
    assert rl.features.repair() == 0  # still down: nothing counted, nothing forgotten
    assert len(rl.features.missed) == len(events) - half
    server.start()
    assert rl.features.repair() == len(events) - half
    assert rl.features.missed == {}
    assert rl.features.repair() == 0

    clean = FeatureService(FeatureEngine(load_feature_set(), MemoryState()), rl.events)
    clean.rebuild()
    for c, pan in enumerate(pans):
        one = rl.ingestor.protect_only(probe(pan, c))
        args = (one.event_id, one.event_type, one.data, one.occurred_at)
        shared, fresh = rl.features.preview(*args), clean.preview(*args)
        assert shared.values == fresh.values, f"card {c}"
        assert shared.values is not None and shared.values["card_count_7d"] == PER_CARD
