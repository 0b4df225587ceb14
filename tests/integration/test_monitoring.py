"""Monitoring against real stores (SQLite and PostgreSQL): reports stored and read back
newest first, decision windows paged by ``decided_at``, the event-log and dead-letter
aggregates, and alerts that become one task per key however often a check runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskloop.adapters.files import FileRecord
from riskloop.adapters.sql.monitoring import SqlMonitoring
from riskloop.bootstrap import Riskloop
from riskloop.errors import InvalidInput
from riskloop.ledger.records import Decision
from riskloop.monitoring.drift import DriftThresholds
from riskloop.monitoring.freshness import FreshnessThresholds
from riskloop.monitoring.performance import PerformanceThresholds
from riskloop.monitoring.ports import Report
from riskloop.service.monitoring import Window
from tests.support.factories import card_payment, transfer
from tests.support.playbooks import review_large_payments

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def pan(n: int) -> str:
    """A Luhn-valid test card number per ``n``: every payment its own card."""
    body = f"4{n:014d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def payment(n: int, at: datetime, amount: int, **extra: Any) -> dict[str, Any]:
    return card_payment(
        occurred_at=at.isoformat(),
        amount=amount,
        card={"pan": pan(n), "holder_name": "Ada Lovelace", "country": "DE"},
        customer_id=f"cus-{n}",
        email=f"u{n}@example.com",
        ip=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
        merchant={"id": f"m-{n}", "mcc": "5411", "country": "DE", "terminal_id": f"t-{n}"},
        **extra,
    )


def decide_at(rl: Riskloop, at: datetime, event: dict[str, Any]) -> Decision:
    rl.decisions.pipeline.clock = lambda: at
    return rl.decisions.decide(event).decision


def _alert_tasks(rl: Riskloop) -> dict[str, Any]:
    return {t.key: t for t in rl.tasks.list(kind="alert", limit=1000)}


def test_reports_are_stored_and_read_newest_first(any_rl: Riskloop) -> None:
    store = SqlMonitoring(any_rl.engine)
    body = {"features": [{"feature": "amount", "psi": 0.4, "reasons": ["PSI 0.400"]}]}
    first = store.add(Report("drift", "card_payment", "alert", T0, body))
    second = store.add(Report("freshness", "", "ok", T0 + timedelta(hours=1), {"sources": []}))
    third = store.add(Report("drift", "transfer", "warn", T0 + timedelta(hours=2), {}))
    assert first.id is not None and first.id < (second.id or 0) < (third.id or 0)
    assert [r.id for r in store.latest(kind=None, scope=None, limit=10)] == [
        third.id,
        second.id,
        first.id,
    ]
    [again] = any_rl.monitoring.reports(kind="drift", scope="card_payment")
    assert again == first and again.created_at == T0 and again.body == body
    assert [r.scope for r in any_rl.monitoring.reports(scope="")] == [""]
    assert len(any_rl.monitoring.reports(limit=2)) == 2
    for bad, field in (({"kind": "latency"}, "kind"), ({"limit": 0}, "limit")):
        with pytest.raises(InvalidInput) as caught:
            any_rl.monitoring.reports(**bad)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_a_window_of_decisions_is_read_in_pages_by_decided_at(any_rl: Riskloop) -> None:
    times = [T0, T0, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    made = [decide_at(any_rl, at, payment(i, at, 1000)) for i, at in enumerate(times)]
    at = T0 + timedelta(hours=1)
    other = decide_at(any_rl, at, transfer(occurred_at=at.isoformat()))
    source = SqlMonitoring(any_rl.engine, page=2)  # ties on decided_at cross page ends
    window = list(source.decided_between(T0, T0 + timedelta(hours=2)))
    assert sorted(d.decision_id for d in window) == sorted(
        [d.decision_id for d in made[:5]] + [other.decision_id]
    )
    assert [d.decided_at for d in window] == sorted(d.decided_at for d in window)
    cards = list(source.decided_between(T0, T0 + timedelta(hours=3), event_type="card_payment"))
    assert sorted(d.event_id for d in cards) == sorted(d.event_id for d in made)
    assert list(source.decided_between(T0 - timedelta(days=1), T0)) == []
    assert source.count_between(T0, T0 + timedelta(hours=2)) == 6
    assert source.count_between(T0, T0 + timedelta(hours=3), event_type="card_payment") == 6


def test_a_big_window_is_sampled_by_the_random_tail_of_the_decision_id(
    any_rl: Riskloop,
) -> None:
    made = [decide_at(any_rl, T0, payment(i, T0, 1000)) for i in range(400)]
    source = SqlMonitoring(any_rl.engine, page=100)
    end = T0 + timedelta(hours=1)
    kept = list(source.decided_between(T0, end, sample=0.25))
    expected = {d.decision_id for d in made if int(d.decision_id[-2:], 16) < 64}
    assert {d.decision_id for d in kept} == expected
    assert 50 < len(expected) < 150  # about a quarter
    assert len(list(source.decided_between(T0, end, sample=1.0))) == 400
    assert list(source.decided_between(T0, end, sample=0.0)) == []

    any_rl.monitoring.max_drift_decisions = 100  # the service reads about that many
    (report,) = any_rl.monitoring.drift(
        event_type="card_payment",
        reference=Window(T0 - timedelta(days=1), T0),
        current=Window(T0, end),
    )
    assert 40 < report.body["current_count"] < 160


def pairs(rl: Riskloop, start: datetime, cards: range, scale: int, rs: random.Random) -> None:
    """Two payments per card, 5 minutes apart (features count the card's earlier payments,
    not the one being decided), a card every 40 minutes."""
    for n, card in enumerate(cards):
        at = start + timedelta(minutes=40 * n)
        for k in range(2):
            when = at + timedelta(minutes=5 * k)
            decide_at(rl, when, payment(card, when, scale * rs.randint(1000, 3000)))


def test_drift_alerts_become_one_task_per_key_across_runs(any_rl: Riskloop) -> None:
    rs = random.Random(11)
    any_rl.monitoring.drift_thresholds = DriftThresholds(min_count=30)
    pairs(any_rl, T0, range(30), 1, rs)
    pairs(any_rl, T0 + timedelta(days=1), range(30, 60), 5, rs)
    ref = Window(T0, T0 + timedelta(days=1))
    cur = Window(T0 + timedelta(days=1), T0 + timedelta(days=2))

    [report] = any_rl.monitoring.drift(reference=ref, current=cur)
    assert (report.kind, report.scope, report.status) == ("drift", "card_payment", "alert")
    status = {f["feature"]: f["status"] for f in report.body["features"]}
    assert status["card_amount_sum_1h"] == "alert" and status["card_count_1h"] == "ok"
    tasks = _alert_tasks(any_rl)
    key = "drift:card_payment:card_amount_sum_1h"
    assert key in tasks and tasks[key].occurrences == 1
    assert tasks[key].detail["report_id"] == report.id
    assert tasks[key].detail["runbook"] == "docs/runbooks.md#drift"
    assert all(k.startswith("drift:card_payment:") for k in tasks)

    [again] = any_rl.monitoring.drift(event_type="card_payment", reference=ref, current=cur)
    later = _alert_tasks(any_rl)
    assert set(later) == set(tasks)  # no second task for any key
    assert later[key].occurrences == 2 and later[key].detail["report_id"] == again.id
    assert [r.id for r in any_rl.monitoring.reports(kind="drift")] == [again.id, report.id]


def test_windows_are_checked(any_rl: Riskloop) -> None:
    ref = Window(T0, T0 + timedelta(days=2))
    cur = Window(T0 + timedelta(days=1), T0 + timedelta(days=3))
    with pytest.raises(InvalidInput) as caught:
        any_rl.monitoring.drift(reference=ref, current=cur)
    assert caught.value.field == "reference.end"
    with pytest.raises(InvalidInput) as caught:
        any_rl.monitoring.freshness(event_type="parcel")
    assert caught.value.field == "event_type"


def test_a_silent_event_type_is_stale_and_raises_a_task(any_rl: Riskloop) -> None:
    # 100 payments in the reference day, then payments stop 3 h before the current day ends
    events = [
        card_payment(occurred_at=(T0 + timedelta(minutes=14 * i)).isoformat()) for i in range(100)
    ]
    events += [
        card_payment(occurred_at=(T0 + timedelta(days=1, minutes=15 * i)).isoformat())
        for i in range(85)
    ]
    any_rl.ingestor.ingest_batch(events)
    day2 = T0 + timedelta(days=1)
    last = T0 + timedelta(days=1, minutes=15 * 84)
    assert any_rl.events.last_event_times(T0 + timedelta(days=3)) == {"card_payment": last}
    assert any_rl.events.counts_by_type(T0, day2) == {"card_payment": 100}
    ref, cur = Window(T0, day2), Window(day2, day2 + timedelta(days=1))

    report = any_rl.monitoring.freshness(event_type="card_payment", reference=ref, current=cur)
    [row] = report.body["event_types"]
    assert (report.scope, report.status, row["status"]) == ("card_payment", "alert", "alert")
    assert row["current_events"] == 85 and row["age_s"] == 3 * 3600
    task = _alert_tasks(any_rl)["freshness:card_payment"]
    assert task.detail["runbook"] == "docs/runbooks.md#freshness"

    any_rl.monitoring.freshness_thresholds = FreshnessThresholds(stale_after=timedelta(hours=4))
    calm = any_rl.monitoring.freshness(event_type="card_payment", reference=ref, current=cur)
    assert calm.status == "ok"
    assert _alert_tasks(any_rl)["freshness:card_payment"].occurrences == 1


def test_contract_violations_are_counted_per_source(any_rl: Riskloop) -> None:
    now = datetime.now(UTC)
    good = [FileRecord(i + 2, card_payment()) for i in range(25)]
    bad = [FileRecord(40 + i, None, error="not JSON") for i in range(5)]
    bad.append(FileRecord(50, {"event_type": "card_payment"}))
    any_rl.ingestor.import_records([*good, *bad], source="file:feed.ndjson")
    any_rl.ingestor.ingest(card_payment())
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert any_rl.dead_letters.counts_by_source(now - timedelta(seconds=1), later) == {
        "file:feed.ndjson": 6
    }
    assert any_rl.events.counts_by_source(now - timedelta(seconds=1), later) == {
        "file:feed.ndjson": 25,
        "api": 1,
    }

    report = any_rl.monitoring.freshness()
    sources = {r["source"]: r for r in report.body["sources"]}
    assert sources["file:feed.ndjson"]["violation_rate"] == round(6 / 31, 6)
    assert sources["file:feed.ndjson"]["status"] == "alert"
    assert sources["api"]["status"] == "insufficient_data"
    assert report.scope == "" and report.status == "alert"
    assert "violations:file:feed.ndjson" in _alert_tasks(any_rl)


def test_performance_by_cohort_with_the_labels_known_now(any_rl: Riskloop) -> None:
    review_large_payments(any_rl)  # 100.00 or more: review (flagged)
    now = datetime.now(UTC)
    old = (now - timedelta(days=40)).replace(hour=1, minute=0, second=0, microsecond=0)
    young = (now - timedelta(days=2)).replace(hour=1, minute=0, second=0, microsecond=0)
    amounts = [50_000, 20_000, 900, 800, 700, 15_000, 600, 500]
    fraud = {0, 2, 3}
    made = []
    for i, amount in enumerate(amounts):
        at = old + timedelta(minutes=i)
        made.append(decide_at(any_rl, at, payment(i, at, amount, currency="EUR")))
    at = young
    made.append(decide_at(any_rl, at, payment(99, at, 900)))
    for i in fraud:
        any_rl.labels.submit(
            {"label_id": f"l-{i}", "kind": "analyst", "event_id": made[i].event_id, "fraud": True}
        )
    any_rl.monitoring.performance_thresholds = PerformanceThresholds(
        recall_alert=0.5, min_fraud=2, mature_after_days=30
    )

    [report] = any_rl.monitoring.performance(event_type="card_payment")
    old_day, young_day = report.body["cohorts"]
    assert (old_day["maturity_days"], old_day["mature"], young_day["mature"]) == (40, True, False)
    assert (old_day["decisions"], old_day["flagged"], old_day["fraud"]) == (8, 3, 3)
    assert old_day["precision"] == round(1 / 3, 6) and old_day["recall"] == round(1 / 3, 6)
    assert old_day["fraud_amount"] == {
        "caught": {"EUR": 50_000.0},
        "missed": {"EUR": 1_700.0},
        "unknown": 0,
    }
    assert "young cohorts undercount fraud" in report.body["note"]
    assert report.status == "alert"
    assert "performance:card_payment" in _alert_tasks(any_rl)


def test_events_by_source_count_only_the_arrival_window(any_rl: Riskloop) -> None:
    assert any_rl.events.counts_by_source(datetime.now(UTC), datetime.now(UTC)) == {}
    any_rl.ingestor.ingest(card_payment())  # before the window
    start = datetime.now(UTC)
    for _ in range(3):
        any_rl.ingestor.ingest(card_payment())
    end = datetime.now(UTC)
    any_rl.ingestor.ingest(card_payment())  # after it
    assert any_rl.events.counts_by_source(start, end) == {"api": 3}
    assert any_rl.events.counts_by_source(end, end + timedelta(hours=1)) == {"api": 1}
    assert any_rl.events.counts_by_source(start - timedelta(hours=1), start) == {"api": 1}
