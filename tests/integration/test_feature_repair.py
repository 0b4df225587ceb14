"""Decisions over the API while Redis is down are answered on rules alone (the state fails
open), and the events they stored are counted once Redis is back: the shared state then
equals a clean pass over the log, and repairing twice counts nothing twice. The events
missed are kept in the database (the feature backlog), so a process restarted during the
outage, or another one, counts them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.http.metrics import QueueCollector
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
    assert rl.features.missed_count() == len(events) - half
    assert _backlog_gauge(rl) == len(events) - half  # what /metrics shows
    assert rl.features.missed == {}  # in the database, not in this process's memory
    assert rl.features.repair() == 0  # still down: nothing counted, nothing forgotten
    assert rl.features.missed_count() == len(events) - half
    server.start()
    assert rl.features.repair() == len(events) - half
    assert rl.features.missed_count() == 0
    assert rl.features.repair() == 0
    _assert_equals_a_clean_pass(rl, pans)


def test_events_missed_before_a_restart_are_counted_by_the_next_process(
    tmp_path: Path,
) -> None:
    server = PrivateRedis(tmp_path / "redis", durable=True)
    server.start()
    settings = Settings.from_env(
        {
            "RISKLOOP_DATA_DIR": str(tmp_path / "data"),
            "RISKLOOP_FEATURE_STORE": "redis",
            "RISKLOOP_REDIS_URL": server.url,
        }
    )
    events, pans = same_instant_payments(CARDS, PER_CARD, prefix="rst")
    first = build(settings)
    try:
        for e in events[:4]:
            first.decisions.decide(e)
        server.kill()
        for e in events[4:]:
            assert FEATURES_UNAVAILABLE in first.decisions.decide(e).decision.fallbacks
    finally:
        first.close()  # the process goes, Redis still down
    server.start()
    second = build(settings)
    try:
        assert second.features.missed_count() == len(events) - 4
        assert second.features.repair() == len(events) - 4
        assert second.features.missed_count() == 0
        _assert_equals_a_clean_pass(second, pans)
        # a repair that runs twice (two processes at once) counts nothing twice
        second.features.backlog.add([e["event_id"] for e in events[4:]])  # type: ignore[union-attr]
        assert second.features.repair() == len(events) - 4
        _assert_equals_a_clean_pass(second, pans)
    finally:
        second.close()
        server.stop()


def _backlog_gauge(rl: Riskloop) -> float:
    (family,) = [f for f in QueueCollector(rl).collect() if f.name == "riskloop_feature_backlog"]
    return float(family.samples[0].value)


def _assert_equals_a_clean_pass(rl: Riskloop, pans: list[str]) -> None:
    clean = FeatureService(FeatureEngine(load_feature_set(), MemoryState()), rl.events)
    clean.rebuild()
    for c, pan in enumerate(pans):
        one = rl.ingestor.protect_only(probe(pan, c))
        args = (one.event_id, one.event_type, one.data, one.occurred_at)
        shared, fresh = rl.features.preview(*args), clean.preview(*args)
        assert shared.values == fresh.values, f"card {c}"
        assert shared.values is not None and shared.values["card_count_7d"] == PER_CARD


def test_a_rebuild_counts_the_whole_log_and_empties_the_backlog(
    redis_down_and_up: tuple[PrivateRedis, Riskloop],
) -> None:
    server, rl = redis_down_and_up
    events, pans = same_instant_payments(CARDS, PER_CARD, prefix="reb")
    server.kill()
    for e in events:
        rl.decisions.decide(e)
    assert rl.features.missed_count() == len(events)
    server.start()
    rl.features.engine.state.reset()  # type: ignore[attr-defined]
    rl.features.rebuild()  # what `riskloop features rebuild` runs
    assert rl.features.missed_count() == 0
    _assert_equals_a_clean_pass(rl, pans)
