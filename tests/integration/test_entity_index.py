"""The entity index (built behind the log) finds the same decisions as matching every
event's JSON, before it has caught up (the tail), after, and half-way; several indexers at
once store each row once; events newer than the lag wait; retention takes an event's rows
with its keyed hashes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from riskloop.adapters.sql.entity_index import SqlEntityIndex
from riskloop.adapters.sql.retention import SqlRetentionStore
from riskloop.adapters.sql.schema import entity_index
from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from riskloop.entrypoints.http.metrics import QueueCollector
from riskloop.entrypoints.web import stats
from riskloop.service.entity_index import EntityIndexer, entity_keys
from riskloop.service.retention import RetentionService
from riskloop.service.retention_policy import retention_policy
from tests.support.factories import card_payment, transfer

NOW = datetime.now(UTC) + timedelta(days=1)


def _seed(rl: Riskloop) -> None:
    for i in range(12):
        rl.decisions.decide(
            card_payment(
                event_id=f"p-{i}",
                customer_id=f"cus-{i % 3}",
                device={"id": f"dev-{i % 2}"} if i % 4 else {"fingerprint": "fp-1"},
                ip=f"10.0.0.{i % 5}",
            )
        )
    rl.decisions.decide(transfer(event_id="t-1", customer_id="cus-0", account_id="acc-9"))


def _found(rl: Riskloop, kind: str, key: str) -> list[str]:
    return sorted(d.event_id for d in stats.decisions_of(rl.engine, kind, key, now=NOW, limit=50))


def _rows(rl: Riskloop) -> int:
    with rl.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(entity_index)).scalar_one())


def _behind(rl: Riskloop) -> float:
    families = QueueCollector(rl).collect()
    (family,) = [f for f in families if f.name == "riskloop_entity_index_behind"]
    return float(family.samples[0].value)


def _indexer(rl: Riskloop, batch: int = 5000) -> EntityIndexer:
    return EntityIndexer(rl.events, SqlEntityIndex(rl.engine), lag=timedelta(0), batch=batch)


QUERIES = [
    ("customer", "cus-0"),
    ("customer", "cus-2"),
    ("device", "dev-1"),
    ("device", "fp-1"),
    ("ip", "10.0.0.3"),
    ("account", "acc-9"),
    ("customer", "nobody"),
]


def test_the_index_finds_what_a_scan_finds_before_during_and_after_catching_up(
    any_rl: Riskloop,
) -> None:
    rl = any_rl
    _seed(rl)
    scanned = {q: _found(rl, *q) for q in QUERIES}  # nothing indexed: all of it is the tail
    assert scanned[("customer", "cus-0")] == ["p-0", "p-3", "p-6", "p-9", "t-1"]
    assert scanned[("device", "fp-1")] == ["p-0", "p-4", "p-8"]
    assert scanned[("customer", "nobody")] == []

    assert _behind(rl) == 13  # what /metrics says
    half = _indexer(rl, batch=5)
    assert half.catch_up(rounds=1) == 5  # the first 5 events indexed, the rest still tail
    assert {q: _found(rl, *q) for q in QUERIES} == scanned
    assert _indexer(rl).catch_up() == 8
    assert {q: _found(rl, *q) for q in QUERIES} == scanned
    assert _behind(rl) == 0
    rows = _rows(rl)
    expected = sum(len(entity_keys(e.data)) for e in rl.events.scan(limit=100))
    assert rows == expected

    # Another indexer (another process) going over the same events adds nothing.
    other = SqlEntityIndex(rl.engine)
    events = rl.events.scan(limit=100)
    other.add([(k, v, e.seq or 0) for e in events for k, v in entity_keys(e.data)], 3)
    assert _rows(rl) == rows
    assert other.position() == events[-1].seq  # the position never moves back
    assert _indexer(rl).catch_up() == 0


def test_events_newer_than_the_lag_are_left_to_the_tail(any_rl: Riskloop) -> None:
    rl = any_rl
    _seed(rl)
    assert rl.entities.catch_up() == 0  # the server's indexer waits 10 s behind the log
    assert _rows(rl) == 0
    assert _found(rl, "customer", "cus-1") == ["p-1", "p-10", "p-4", "p-7"]
    later = EntityIndexer(
        rl.events,
        SqlEntityIndex(rl.engine),
        clock=lambda: datetime.now(UTC) + timedelta(seconds=11),
    )
    assert later.catch_up() == 13


def test_retention_removes_an_events_index_rows(any_rl: Riskloop) -> None:
    rl = any_rl
    _seed(rl)
    _indexer(rl).catch_up()
    assert _rows(rl) > 0
    later = NOW + timedelta(days=4000)  # past every default retention
    service = RetentionService(
        SqlRetentionStore(rl.engine), retention_policy(()), clock=lambda: later
    )
    totals = service.run(actor="tests").totals()
    assert totals["deleted"] + totals["anonymised"] == 13
    assert _rows(rl) == 0
    assert _found(rl, "customer", "cus-0") == []


def test_the_servers_follower_keeps_the_index_caught_up(rl: Riskloop) -> None:
    _seed(rl)
    rl.entities.lag = timedelta(0)
    with TestClient(create_app(rl, follow_every_s=0.05)):
        deadline = time.monotonic() + 10
        while rl.entities.store.behind() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert rl.entities.store.behind() == 0 and _rows(rl) > 0
