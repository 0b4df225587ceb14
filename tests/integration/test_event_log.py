"""The event log and dead letters on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from riskloop.adapters.sql import current_revision
from riskloop.adapters.sql.migrate import head_revision
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.domain.events import AppendStatus
from riskloop.errors import ConflictError, InvalidEvent
from riskloop.intake import validate_event
from tests.support.factories import EMAIL, card_payment, kyc_record, transfer


def _stored(rl: Riskloop, payload: dict[str, object]):  # type: ignore[no-untyped-def]
    return rl.vault.protect(validate_event(payload), source="test")


def test_migrations_create_the_schema_at_head(any_rl: Riskloop) -> None:
    assert current_revision(any_rl.engine) == head_revision() == "0011"
    tables = set(inspect(any_rl.engine).get_table_names())
    assert {
        "event_log",
        "dead_letters",
        "model_versions",
        "model_aliases",
        "feature_backlog",
        "alembic_version",
    } <= tables


def test_appends_and_reads_back_an_event_with_timezone(any_rl: Riskloop) -> None:
    payload = card_payment(occurred_at="2026-11-01T12:00:00+01:00")
    [outcome] = any_rl.events.append([_stored(any_rl, payload)], atomic=True)
    assert outcome.status is AppendStatus.ACCEPTED and outcome.seq is not None
    got = any_rl.events.get(payload["event_id"])
    assert got is not None
    assert got.occurred_at == datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
    assert got.ingested_at is not None and got.ingested_at.tzinfo is not None
    assert datetime.now(UTC) - got.ingested_at < timedelta(minutes=5)
    assert got.data["card"]["last4"] == "1111"
    assert any_rl.vault.reveal(got)["email"] == EMAIL


def test_same_event_twice_is_a_duplicate_and_stored_once(any_rl: Riskloop) -> None:
    payload = card_payment()
    first = any_rl.events.append([_stored(any_rl, payload)], atomic=True)
    again = any_rl.events.append([_stored(any_rl, payload)], atomic=True)
    assert [o.status for o in first + again] == [AppendStatus.ACCEPTED, AppendStatus.DUPLICATE]
    assert any_rl.events.count() == 1


def test_different_body_under_a_used_id_is_a_conflict(any_rl: Riskloop) -> None:
    payload = card_payment()
    any_rl.events.append([_stored(any_rl, payload)], atomic=True)
    changed = {**payload, "amount": payload["amount"] + 1}
    with pytest.raises(ConflictError) as info:
        any_rl.events.append([_stored(any_rl, changed)], atomic=True)
    assert info.value.key == payload["event_id"]
    assert any_rl.events.get(payload["event_id"]).data["amount"] == payload["amount"]  # type: ignore[union-attr]


def test_atomic_batch_with_a_conflict_writes_nothing(any_rl: Riskloop) -> None:
    used = card_payment()
    any_rl.events.append([_stored(any_rl, used)], atomic=True)
    batch = [_stored(any_rl, card_payment()), _stored(any_rl, {**used, "amount": 1})]
    with pytest.raises(ConflictError):
        any_rl.events.append(batch, atomic=True)
    assert any_rl.events.count() == 1


def test_non_atomic_batch_reports_conflicts_and_keeps_the_rest(any_rl: Riskloop) -> None:
    used = card_payment()
    any_rl.events.append([_stored(any_rl, used)], atomic=True)
    fresh = card_payment()
    outcomes = any_rl.events.append(
        [_stored(any_rl, fresh), _stored(any_rl, {**used, "amount": 1}), _stored(any_rl, used)],
        atomic=False,
    )
    assert [o.status for o in outcomes] == [
        AppendStatus.ACCEPTED,
        AppendStatus.CONFLICT,
        AppendStatus.DUPLICATE,
    ]
    assert any_rl.events.count() == 2


def test_same_id_twice_inside_one_batch_is_stored_once(any_rl: Riskloop) -> None:
    payload = card_payment()
    outcomes = any_rl.events.append(
        [_stored(any_rl, payload), _stored(any_rl, payload)], atomic=True
    )
    assert [o.status for o in outcomes] == [AppendStatus.ACCEPTED, AppendStatus.DUPLICATE]
    assert any_rl.events.count() == 1


def test_scan_returns_events_in_log_order(any_rl: Riskloop) -> None:
    payloads = [card_payment(), transfer(), kyc_record()]
    any_rl.events.append([_stored(any_rl, p) for p in payloads], atomic=True)
    first = any_rl.events.scan(limit=2)
    rest = any_rl.events.scan(after_seq=first[-1].seq or 0)
    assert [e.event_id for e in first + rest] == [p["event_id"] for p in payloads]


def test_dead_letters_are_sealed_and_kept_once(any_rl: Riskloop) -> None:
    now = datetime.now(UTC)
    raw = {"event_type": "card_payment", "card": {"pan": "4111111111111111"}}
    letter = any_rl.vault.dead_letter(raw, reason="event_id: required", source="f:1", now=now)
    assert any_rl.dead_letters.add([letter]) == 1
    assert any_rl.dead_letters.add([letter]) == 0
    [stored] = any_rl.dead_letters.list()
    assert stored.reason == "event_id: required"
    assert b"4111111111111111" not in stored.payload.ciphertext
    assert any_rl.vault.open_dead_letter(stored) == raw


def test_concurrent_writers_store_each_event_once(any_settings: Settings) -> None:
    apps = [build(any_settings), build(any_settings, migrate=False)]
    payloads = [card_payment() for _ in range(400)]
    results: list[list[AppendStatus]] = []
    errors: list[BaseException] = []

    def write(rl: Riskloop) -> None:
        try:
            stored = [rl.vault.protect(validate_event(p), source="t") for p in payloads]
            out: list[AppendStatus] = []
            start = 0
            for size in (20, 60, 20, 100, 200):  # both the small and the bulk path
                chunk = stored[start : start + size]
                out += [o.status for o in rl.events.append(chunk, atomic=False)]
                start += size
            results.append(out)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for a in apps:
        a.close()
    assert not errors
    accepted = sum(s is AppendStatus.ACCEPTED for r in results for s in r)
    duplicates = sum(s is AppendStatus.DUPLICATE for r in results for s in r)
    assert (accepted, duplicates) == (400, 400)
    check = build(any_settings, migrate=False)
    assert check.events.count() == 400
    check.close()


def test_ingestor_rejects_bad_input_without_writing(any_rl: Riskloop) -> None:
    with pytest.raises(InvalidEvent) as info:
        any_rl.ingestor.ingest_batch([card_payment(), card_payment(amount=-5)])
    assert info.value.errors[0].field == "events[1].amount"
    assert any_rl.events.count() == 0


def test_a_large_batch_keeps_order_duplicates_and_conflicts(any_rl: Riskloop) -> None:
    """Large batches take the bulk path (COPY on PostgreSQL, raw executemany on SQLite)."""
    used, same = card_payment(), card_payment()
    any_rl.events.append([_stored(any_rl, used), _stored(any_rl, same)], atomic=True)
    batch = [card_payment() for _ in range(120)]
    batch[10] = {**used, "amount": 1}  # conflict
    batch[20] = same  # duplicate
    outcomes = any_rl.events.append([_stored(any_rl, p) for p in batch], atomic=False)
    statuses = [o.status for o in outcomes]
    assert statuses.count(AppendStatus.ACCEPTED) == 118
    assert statuses[10] is AppendStatus.CONFLICT
    assert statuses[20] is AppendStatus.DUPLICATE
    seqs = [o.seq for o in outcomes if o.status is AppendStatus.ACCEPTED]
    assert seqs == sorted(seqs)  # the log keeps the batch's order
    assert any_rl.events.count() == 120
    stored = any_rl.events.get(batch[5]["event_id"])
    assert stored is not None
    assert stored.data["amount"] == batch[5]["amount"]
    assert any_rl.vault.reveal(stored)["email"] == EMAIL


def test_an_event_from_a_year_before_1000_reads_back(any_rl: Riskloop) -> None:
    """Found by fuzzing: the log stored year 670 as '670-...' and could not scan it back,
    which broke every replay (features, training, labels) of that log."""
    payload = card_payment(occurred_at="0670-04-13T13:32:56Z")
    [outcome] = any_rl.events.append([_stored(any_rl, payload)], atomic=True)
    assert outcome.status is AppendStatus.ACCEPTED
    [back] = any_rl.events.scan(after_seq=0, limit=10)
    assert back.occurred_at == datetime(670, 4, 13, 13, 32, 56, tzinfo=UTC)
    got = any_rl.events.get(payload["event_id"])
    assert got is not None and got.occurred_at.year == 670
