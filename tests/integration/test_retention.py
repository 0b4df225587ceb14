"""Retention on SQLite (and once on PostgreSQL): events past their contract's retention are
deleted or anonymised (sealed PII and keyed hashes gone, the tokenized payload kept), legal
holds keep what they cover until released, a dry run changes nothing, a second run finds
nothing, a crash leaves every event whole, and the audit chain still verifies."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, insert, select

from riskloop.adapters.sql.retention import SqlRetentionStore
from riskloop.adapters.sql.schema import (
    audit_log,
    auth_failures,
    case_log,
    dead_letters,
    event_log,
    labels,
    legal_holds,
    screening_suppressions,
    sessions,
)
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.errors import ConflictError, InvalidInput, NotFound
from riskloop.ledger.audit import verify_chain
from riskloop.service.retention import RetentionReport, RetentionService, RetentionStore
from riskloop.service.retention_policy import Override, retention_policy
from tests.support.playbooks import review_large_payments
from tests.unit.factories import (
    EMAIL,
    HOLDER,
    IBAN,
    card_payment,
    kyc_record,
    login,
    transfer,
)

NOW = datetime(2034, 1, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=3000)  # past every default retention (7 years at most)
YOUNG = NOW - timedelta(days=10)


def _service(
    rl: Riskloop,
    *,
    batch_size: int = 3,
    overrides: tuple[Override, ...] = (),
    store: RetentionStore | None = None,
) -> RetentionService:
    return RetentionService(
        store or SqlRetentionStore(rl.engine),
        retention_policy(overrides),
        batch_size=batch_size,
        clock=lambda: NOW,
    )


def _ingest(rl: Riskloop, factory: Callable[..., dict[str, Any]], when: datetime, **kw: Any) -> str:
    payload = factory(occurred_at=when.isoformat(), **kw)
    rl.ingestor.ingest(payload)
    return str(payload["event_id"])


def _row(rl: Riskloop, event_id: str) -> dict[str, Any] | None:
    with rl.engine.connect() as conn:
        row = conn.execute(select(event_log).where(event_log.c.event_id == event_id)).first()
    return dict(row._mapping) if row is not None else None


def _anonymised(row: dict[str, Any] | None) -> bool:
    assert row is not None
    sealed = (row["pii_ciphertext"], row["pii_wrapped_key"], row["pii_key_version"])
    return sealed == (None, None, None) and "_hash" not in orjson.dumps(row["data"]).decode()


def _untouched(row: dict[str, Any] | None) -> bool:
    assert row is not None
    return row["pii_ciphertext"] is not None and row["pii_key_version"] is not None


def _chain_verifies(rl: Riskloop) -> list[Any]:
    entries = list(rl.catalog.store.audit().iterate())
    assert verify_chain(entries) == (len(entries), None)
    return entries


def _count(rl: Riskloop, table: Any) -> int:
    with rl.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _by_name(report: RetentionReport) -> dict[str, Any]:
    return {c.name: c for c in [*report.events, *report.other]}


def _deletes_and_anonymises_by_contract(rl: Riskloop) -> None:
    old_login = _ingest(rl, login, OLD)
    young_login = _ingest(rl, login, YOUNG)
    old_payment = _ingest(rl, card_payment, OLD)
    young_payment = _ingest(rl, card_payment, YOUNG)
    old_transfer = _ingest(rl, transfer, OLD)
    held_payment = _ingest(rl, card_payment, OLD, customer_id="cus-held")
    svc = _service(rl)
    hold = svc.place_hold("customer", "cus-held", "litigation 2033-17", actor="lee")
    before = _row(rl, old_payment)
    assert before is not None and "email_hash" in before["data"]

    report = svc.run(actor="ops")

    counts = _by_name(report)
    assert (counts["login"].action, counts["login"].processed) == ("delete", 1)
    assert (counts["card_payment"].action, counts["card_payment"].processed) == ("anonymise", 1)
    assert (counts["card_payment"].held, counts["transfer"].processed) == (1, 1)
    assert _row(rl, old_login) is None and _row(rl, young_login) is not None
    paid = _row(rl, old_payment)
    assert _anonymised(paid)
    assert paid is not None
    # The tokenized, non-personal payload stays for features and replays.
    assert paid["data"]["card"]["token"] == before["data"]["card"]["token"]
    assert paid["card_token"] == before["card_token"]
    assert (paid["data"]["amount"], paid["data"]["merchant"]) == (4599, before["data"]["merchant"])
    assert paid["fingerprint"] == before["fingerprint"]  # a resend is still a duplicate
    scanned = repr(paid).encode() + orjson.dumps(paid["data"])
    for clear in (EMAIL, HOLDER, IBAN, before["data"]["email_hash"]):
        assert clear.encode() not in scanned
    assert bytes(before["pii_ciphertext"]) not in scanned
    moved = _row(rl, old_transfer)
    assert moved is not None and _anonymised(moved)
    assert "iban_hash" not in moved["data"]["payee"] and moved["data"]["payee"]["bank_country"]
    assert _untouched(_row(rl, young_payment)) and _untouched(_row(rl, held_payment))

    again = svc.run(actor="ops")
    assert again.totals() == {"deleted": 0, "anonymised": 0, "held": 1, "other": 0}

    svc.release_hold(hold.hold_id, actor="lee")
    assert svc.run(actor="ops").totals()["anonymised"] == 1
    assert _anonymised(_row(rl, held_payment))
    entries = _chain_verifies(rl)
    runs = [e for e in entries if e.action == "retention.run"]
    assert [e.detail["totals"]["anonymised"] for e in runs] == [2, 0, 1]
    assert runs[0].detail["events"]["login"] == {"action": "delete", "days": 365, "processed": 1}
    assert [e.action for e in entries if e.kind == "legal_hold"] == [
        "legal_hold.place",
        "legal_hold.release",
    ]
    # Counts and ids only: the chain cannot forget, so it holds no personal data.
    chain = b"".join(orjson.dumps(e.as_dict()) for e in entries)
    for personal in (b"cus-held", b"litigation", EMAIL.encode()):
        assert personal not in chain


def test_past_retention_events_are_deleted_or_anonymised_by_their_contract(rl: Riskloop) -> None:
    _deletes_and_anonymises_by_contract(rl)


@pytest.mark.postgres
def test_postgres_deletes_and_anonymises_like_sqlite(pg_settings: Settings) -> None:
    rl = build(pg_settings)
    try:
        _deletes_and_anonymises_by_contract(rl)
    finally:
        rl.close()


def test_anonymised_pii_leaves_the_sqlite_file(rl: Riskloop, settings: Settings) -> None:
    ids = [_ingest(rl, card_payment, OLD, email=f"p{i}@example.com") for i in range(20)]
    sealed = [bytes((_row(rl, i) or {})["pii_ciphertext"]) for i in ids]
    _service(rl).run()
    db = settings.data_dir / "riskloop.db"
    with sqlite3.connect(db) as raw:  # fold the write-ahead log into the file
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = Path(db).read_bytes()
    assert [c for c in sealed if c in on_disk] == []  # zeroed, not just unlinked


def _decide_review(rl: Riskloop, customer: str, when: datetime) -> str:
    body = card_payment(occurred_at=when.isoformat(), amount=20_000, customer_id=customer)
    assert rl.decisions.decide(body).decision.outcome.value == "review"
    return str(body["event_id"])


def test_held_events_are_untouched_until_every_hold_is_released(rl: Riskloop) -> None:
    review_large_payments(rl)
    in_case = _decide_review(rl, "cus-case", OLD)
    rl.cases.sync()
    [case] = rl.cases.search(entity_key="cus-case")
    by_event = _ingest(rl, login, OLD, customer_id="cus-free")
    by_customer = _ingest(rl, card_payment, OLD, customer_id="cus-held")
    svc = _service(rl)
    holds = [
        svc.place_hold("case", case.case_id, "SAR follow-up", actor="ana"),
        svc.place_hold("event", by_event, "police request", actor="ana"),
        svc.place_hold("customer", "cus-held", "litigation", actor="ana"),
    ]
    assert {h.hold_id for h in svc.holds()} == {h.hold_id for h in holds}

    report = svc.run()
    assert report.totals()["held"] == 3
    assert _untouched(_row(rl, in_case)) and _untouched(_row(rl, by_customer))
    assert _row(rl, by_event) is not None
    assert svc.run(dry_run=True).totals()["held"] == 3

    for h in holds[:2]:
        svc.release_hold(h.hold_id, actor="bob")
    assert svc.run().totals() == {"deleted": 1, "anonymised": 1, "held": 1, "other": 0}
    assert _row(rl, by_event) is None and _anonymised(_row(rl, in_case))
    assert _untouched(_row(rl, by_customer))
    assert [h.hold_id for h in svc.holds()] == [holds[2].hold_id]
    released = svc.holds(status="released")
    assert {(h.released_by, h.active) for h in released} == {("bob", False)}
    assert len(svc.holds(status="all")) == 3
    _chain_verifies(rl)


def test_bad_hold_requests_name_the_field(rl: Riskloop) -> None:
    svc = _service(rl)
    with pytest.raises(InvalidInput) as bad:
        svc.place_hold("account", "acc-1", "  ", actor="ana")
    assert [e.field for e in bad.value.errors] == ["subject", "reason"]
    with pytest.raises(InvalidInput) as bad:
        svc.holds(status="open")
    assert bad.value.field == "status"
    with pytest.raises(NotFound):
        svc.release_hold("hold_missing", actor="ana")
    hold = svc.place_hold("event", "evt-1", "audit", actor="ana")
    svc.release_hold(hold.hold_id, actor="ana")
    with pytest.raises(ConflictError, match="already released"):
        svc.release_hold(hold.hold_id, actor="bob")
    with pytest.raises(InvalidInput) as bad:
        svc.run(as_of=NOW + timedelta(days=1))
    assert bad.value.field == "as_of"
    assert _count(rl, legal_holds) == 1


def _snapshot(rl: Riskloop) -> list[Any]:
    with rl.engine.connect() as conn:
        return [
            sorted(tuple(r) for r in conn.execute(select(t)))
            for t in (event_log, dead_letters, audit_log, labels, legal_holds)
        ]


def test_a_dry_run_counts_per_contract_and_action_and_changes_nothing(rl: Riskloop) -> None:
    for _ in range(4):
        _ingest(rl, login, OLD)
        _ingest(rl, card_payment, OLD)
    _ingest(rl, card_payment, YOUNG)
    letter = rl.vault.dead_letter({"x": 1}, reason="bad", source="file:a.csv:1", now=OLD)
    rl.dead_letters.add([letter])
    before = _snapshot(rl)

    dry = _service(rl).run(dry_run=True)

    assert _snapshot(rl) == before
    counts = _by_name(dry)
    assert (counts["login"].action, counts["login"].processed) == ("delete", 4)
    assert (counts["card_payment"].action, counts["card_payment"].processed) == ("anonymise", 4)
    assert counts["dead_letters"].processed == 1
    # A dry run may look ahead: what will have gone seven years from now.
    ahead = _service(rl).run(dry_run=True, as_of=NOW + timedelta(days=2555))
    assert _by_name(ahead)["card_payment"].processed == 5
    real = _service(rl).run()
    assert real.totals() == dry.totals() == {"deleted": 4, "anonymised": 4, "held": 0, "other": 1}


class _Crashing:
    """The real store, but the second batch that writes fails after its writes and before
    its commit: a crash in the middle of a run."""

    def __init__(self, store: SqlRetentionStore) -> None:
        self.store = store
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    @contextmanager
    def batch(self, *, write: bool) -> Iterator[Any]:
        with self.store.batch(write=write) as b:
            yield _Spy(b, self)


class _Spy:
    def __init__(self, batch: Any, owner: _Crashing) -> None:
        self.batch, self.owner = batch, owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.batch, name)

    def anonymise_events(self, changes: Any) -> None:
        self.batch.anonymise_events(changes)
        self.owner.writes += 1
        if self.owner.writes == 2:
            raise RuntimeError("injected crash")


def test_a_crash_mid_run_leaves_each_event_whole_and_is_accounted_for(rl: Riskloop) -> None:
    ids = [_ingest(rl, card_payment, OLD + timedelta(minutes=i)) for i in range(7)]
    crashing = _Crashing(SqlRetentionStore(rl.engine))
    with pytest.raises(RuntimeError, match="injected crash"):
        _service(rl, store=crashing).run()

    rows = [_row(rl, i) for i in ids]
    done = [r for r in rows if r is not None and r["pii_ciphertext"] is None]
    assert len(done) == 3  # the first batch, committed
    assert all(_anonymised(r) for r in done)
    assert all(_untouched(r) and "email_hash" in r["data"] for r in rows if r not in done)

    report = _service(rl).run(actor="ops")
    assert report.recovered is not None and report.recovered["anonymised"] == 3
    assert report.totals()["anonymised"] == 4
    assert all(_anonymised(_row(rl, i)) for i in ids)
    entries = _chain_verifies(rl)
    assert [e.action for e in entries] == ["retention.interrupted", "retention.run"]
    assert entries[0].detail["anonymised"] == 3


def test_other_personal_data_past_retention_goes(rl: Riskloop) -> None:
    review_large_payments(rl)
    _decide_review(rl, "cus-1", YOUNG)
    _decide_review(rl, "cus-held", YOUNG)
    rl.cases.sync()
    for c in rl.cases.search():
        rl.cases.claim(c.case_id, "ana")
        rl.cases.note(c.case_id, "ana", "called Ada Lovelace")
        rl.cases.resolve(c.case_id, actor="ana", resolution="not_fraud", note="fine")
    old_letter = rl.vault.dead_letter(
        {"n": 1}, reason="bad", source="f:1", now=NOW - timedelta(days=91)
    )
    new_letter = rl.vault.dead_letter({"n": 2}, reason="bad", source="f:2", now=NOW)
    rl.dead_letters.add([old_letter, new_letter])
    note = rl.vault.seal_note("Ada is not the listed person", context="s")
    sealed = {
        "note_ciphertext": note.ciphertext,
        "note_wrapped_key": note.wrapped_key,
        "note_key_version": note.key_version,
    }
    suppression = {"source": "ofac", "entry_id": "e1", "entry_digest": "d", "author": "ana"}
    with rl.engine.begin() as conn:
        conn.execute(
            insert(auth_failures),
            [
                {"username": "ana", "client": "203.0.113.7", "at": NOW - timedelta(days=31)},
                {"username": "ana", "client": "203.0.113.7", "at": NOW - timedelta(days=1)},
            ],
        )
        conn.execute(
            insert(sessions),
            [
                {"session_hash": h, "username": "ana", "csrf_token": "c", "mfa": True,
                 "created_at": NOW - timedelta(hours=9), "expires_at": NOW + delta}
                for h, delta in (("gone", timedelta(hours=-1)), ("live", timedelta(hours=1)))
            ],
        )  # fmt: skip
        ended = NOW - timedelta(days=2556)
        conn.execute(
            insert(screening_suppressions),
            [
                {**suppression, **sealed, "customer_id": "cus-1", "created_at": ended,
                 "revoked_at": ended, "revoked_by": "bob"},
                {**suppression, **sealed, "customer_id": "cus-held", "created_at": ended,
                 "revoked_at": ended, "revoked_by": "bob"},
                {**suppression, **sealed, "customer_id": "cus-2", "created_at": ended,
                 "revoked_at": None, "revoked_by": None},
            ],
        )  # fmt: skip
    svc = _service(rl, batch_size=2)
    svc.place_hold("customer", "cus-held", "litigation", actor="lee")

    report = svc.run()

    counts = {c.name: c.processed for c in report.other}
    assert counts == {
        "sessions": 1,
        "dead_letters": 1,
        "auth_failures": 1,
        "case_notes": 2,  # the note and the resolution's note of the case not held
        "suppression_notes": 1,
    }
    with rl.engine.connect() as conn:
        assert [r.session_hash for r in conn.execute(select(sessions))] == ["live"]
        assert [r.source for r in conn.execute(select(dead_letters))] == ["f:2"]
        kept = conn.execute(
            select(case_log.c.case_id).where(case_log.c.note_ciphertext.is_not(None))
        ).all()
        left = conn.execute(
            select(screening_suppressions.c.customer_id).where(
                screening_suppressions.c.note_ciphertext.is_not(None)
            )
        ).all()
    held_case = rl.cases.search(entity_key="cus-held")[0].case_id
    assert {r[0] for r in kept} == {held_case}
    assert sorted(r[0] for r in left) == ["cus-2", "cus-held"]
    assert _count(rl, auth_failures) == 1
    view = rl.cases.view(rl.cases.search(entity_key="cus-1")[0].case_id)
    timeline = view["timeline"]  # the entries stay, their notes are gone
    assert [e["action"] for e in timeline][-2:] == ["note", "resolve"]
    assert not any("note" in e for e in timeline)
    assert svc.run().totals()["other"] == 0


def test_the_record_behind_a_current_kyc_profile_is_kept(rl: Riskloop) -> None:
    superseded = _ingest(rl, kyc_record, OLD - timedelta(days=30))
    current = _ingest(rl, kyc_record, OLD)
    rl.kyc.sync()
    report = _service(rl).run()
    kyc = _by_name(report)["kyc_record"]
    assert (kyc.action, kyc.processed, kyc.kept) == ("delete", 1, 1)
    assert _row(rl, superseded) is None and _untouched(_row(rl, current))
    assert rl.kyc.get("cus-1", reveal=True)["verification_status"] == "verified"
