"""The golden stream (``make_golden.py`` says why each event is there) gives exactly the
expected decisions and reasons, on SQLite and PostgreSQL; and every recorded decision can
be reproduced from its record alone (feature snapshot + versions)."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import yaml

from riskloop.adapters.redis_features import RedisState
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.domain.events import StoredEvent
from riskloop.service.catalog import PlaybookLoader

HERE = Path(__file__).parent
PLAYBOOK = HERE.parent.parent / "examples" / "playbook.yaml"
ENTRIES = {
    "blocked_devices": ["dev-bad"],
    "sanctioned_countries": ["KP"],
    "risky_ips": ["198.51.100.0/24"],
    "trusted_customers": ["cus-vip"],
}


def _lines(name: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (HERE / name).read_bytes().splitlines()]


def _prepare(rl: Riskloop) -> None:
    PlaybookLoader(rl.catalog).apply(yaml.safe_load(PLAYBOOK.read_text("utf-8")), "golden")
    for name, values in ENTRIES.items():
        rl.catalog.add_entries(name, [{"value": v} for v in values], "golden")


def _decide_all(rl: Riskloop) -> list[dict[str, Any]]:
    got = []
    for event in _lines("golden_events.ndjson"):
        decided = rl.decisions.decide(event)
        d = decided.decision
        got.append(
            {
                "event_id": d.event_id,
                "outcome": d.outcome.value,
                "reasons": list(d.reasons),
                "decided_by": d.decided_by,
                "replayed": decided.replayed,
            }
        )
    return got


def test_golden_stream_gives_the_expected_decisions(any_rl: Riskloop) -> None:
    _prepare(any_rl)
    assert _decide_all(any_rl) == _lines("expected.ndjson")


def test_recorded_decisions_reproduce_from_their_records(rl: Riskloop) -> None:
    _prepare(rl)
    for event in _lines("golden_events.ndjson"):
        rl.decisions.decide(event)
    recorded = rl.ledger.scan(limit=1000)
    assert len(recorded) == 25  # one per distinct event id
    playbook = rl.catalog.playbook()
    for d in recorded:
        stored = rl.events.get(d.event_id)
        assert isinstance(stored, StoredEvent)
        again = rl.decisions.pipeline.decide(
            playbook,
            stored,
            d.features,
            feature_set=d.feature_set or "",
            deadline=time.perf_counter() + 10,
            started=time.perf_counter(),
            latency_us={},
        )
        assert (again.outcome, again.reasons, again.score) == (d.outcome, d.reasons, d.score)
        assert again.rule_versions == d.rule_versions
        assert again.policy == d.policy


@pytest.mark.parametrize("field", ["outcome", "reasons"])
def test_the_golden_file_is_not_trivial(field: str) -> None:
    """Guard against an expected file regenerated into something that tests nothing."""
    values = {orjson.dumps(e[field]) for e in _lines("expected.ndjson")}
    assert len(values) >= 4


def test_golden_stream_with_shared_state_on_postgres_and_redis(pg_settings: Settings) -> None:
    """The scale-out wiring (records in PostgreSQL, features in Redis, fed directly rather
    than by following the log) decides the golden stream exactly the same way."""
    client = redis.Redis()
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    finally:
        client.close()
    settings = dataclasses.replace(pg_settings, feature_store="redis")
    rl = build(settings)
    try:
        state = rl.features.engine.state
        assert isinstance(state, RedisState)
        state.reset()  # the key prefix names the feature set, not the test
        _prepare(rl)
        assert _decide_all(rl) == _lines("expected.ndjson")
        state.reset()
    finally:
        rl.close()
