"""Retention and legal holds in SQL (SQLite and PostgreSQL through one Core path).

A batch is one transaction. On PostgreSQL a writing batch first takes ``legal_holds`` in
SHARE mode, which waits for a hold being placed and makes the next one wait for the batch:
once placing a hold has returned, no batch can still purge what it covers. (SQLite's
``BEGIN IMMEDIATE`` serialises writers anyway.) The progress of a run is kept in the
``cursors`` row ``retention:run`` by each batch, and cleared with the run's audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    func,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql._dialect import chunks, insert_ignoring_conflicts
from riskloop.adapters.sql.catalog import SqlAuditLog
from riskloop.adapters.sql.entity_index import forget as forget_entities
from riskloop.adapters.sql.schema import (
    auth_failures,
    case_items,
    case_log,
    cases,
    cursors,
    dead_letters,
    event_log,
    kyc_profiles,
    labels,
    legal_holds,
    screening_suppressions,
    sessions,
)
from riskloop.errors import StorageError
from riskloop.ledger.audit import AuditEntry
from riskloop.service.retention import Candidate, Holds, Key, LegalHold, Progress

PROGRESS = "retention:run"


def _hold(r: Any) -> LegalHold:
    return LegalHold(
        hold_id=r.hold_id,
        subject=r.subject,
        value=r.value,
        reason=r.reason,
        placed_by=r.placed_by,
        placed_at=r.placed_at,
        released_by=r.released_by,
        released_at=r.released_at,
    )


def _in(column: Any, values: Iterable[Any]) -> Any:
    return column.in_(sorted(values))


class _Batch:
    def __init__(self, conn: Connection, write: bool) -> None:
        self.conn = conn
        self.write = write

    def holds(self) -> Holds:
        if self.write and self.conn.dialect.name == "postgresql":
            self.conn.execute(text("LOCK TABLE legal_holds IN SHARE MODE"))
        rows = self.conn.execute(
            select(legal_holds.c.subject, legal_holds.c.value).where(
                legal_holds.c.released_at.is_(None)
            )
        ).all()
        by: dict[str, set[str]] = {"customer": set(), "event": set(), "case": set()}
        for subject, value in rows:
            by.setdefault(subject, set()).add(value)
        events = set(by["event"])
        for part in chunks(sorted(by["case"])):
            q = select(case_items.c.event_id).where(_in(case_items.c.case_id, part))
            events.update(r[0] for r in self.conn.execute(q))
        return Holds(frozenset(by["customer"]), frozenset(events), frozenset(by["case"]))

    def events(
        self, event_type: str, before: datetime, *, sealed_only: bool, after: Key | None, limit: int
    ) -> list[Candidate]:
        t = event_log.c
        q = select(t.seq, t.event_id, t.occurred_at, t.data).where(
            t.event_type == event_type, t.occurred_at < before
        )
        if sealed_only:
            q = q.where(t.pii_ciphertext.is_not(None))
        if after is not None:
            # Keyset on (occurred_at, seq), which the (event_type, occurred_at) index serves.
            q = q.where(t.occurred_at >= after[0], or_(t.occurred_at > after[0], t.seq > after[1]))
        q = q.order_by(t.occurred_at, t.seq).limit(limit)
        if self.write:  # PostgreSQL: a second run (after a lease ran out) takes other rows
            q = q.with_for_update(skip_locked=True)
        return [Candidate(r.seq, r.event_id, r.occurred_at, r.data) for r in self.conn.execute(q)]

    def current_kyc_events(self, event_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for part in chunks(list(event_ids)):
            q = select(kyc_profiles.c.event_id).where(_in(kyc_profiles.c.event_id, part))
            found.update(r[0] for r in self.conn.execute(q))
        return found

    def delete_events(self, events: Sequence[Candidate]) -> None:
        for part in chunks(list(events)):
            self.conn.execute(delete(event_log).where(_in(event_log.c.seq, [e.seq for e in part])))
            # A label event's row in the label index goes with it.
            ids = [e.event_id for e in part]
            self.conn.execute(delete(labels).where(_in(labels.c.label_id, ids)))
        forget_entities(self.conn, [e.seq for e in events])

    def anonymise_events(self, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        if not changes:
            return
        stmt = (
            update(event_log)
            .where(event_log.c.seq == bindparam("_seq"))
            .values(
                data=bindparam("_data", type_=event_log.c.data.type),
                pii_ciphertext=None,
                pii_wrapped_key=None,
                pii_key_version=None,
            )
        )
        self.conn.execute(stmt, [{"_seq": seq, "_data": data} for seq, data in changes])
        # Its keyed hashes are gone from the event: from the entity index too. An event the
        # index had not reached yet is indexed from its anonymised payload (no hashes).
        forget_entities(self.conn, [seq for seq, _ in changes])

    def purge_other(
        self, name: str, before: datetime, holds: Holds, *, limit: int, dry_run: bool
    ) -> int:
        table, key, where, shred = _target(name, before, holds)
        if dry_run:
            q = select(func.count()).select_from(table).where(where)
            return int(self.conn.execute(q).scalar_one())
        ids = [r[0] for r in self.conn.execute(select(key).where(where).order_by(key).limit(limit))]
        if not ids:
            return 0
        if shred is None:
            self.conn.execute(delete(table).where(_in(key, ids)))
        else:
            self.conn.execute(update(table).where(_in(key, ids)).values(dict.fromkeys(shred)))
        return len(ids)

    def save_progress(self, progress: Progress) -> None:
        position = " ".join(
            str(v)
            for v in (
                progress.run_id,
                int(progress.started_at.timestamp()),
                progress.deleted,
                progress.anonymised,
                progress.other,
            )
        )
        now = datetime.now(UTC)
        row = {"name": PROGRESS, "position": position, "updated_at": now}
        self.conn.execute(insert_ignoring_conflicts(self.conn, cursors, "name"), row)
        self.conn.execute(
            update(cursors)
            .where(cursors.c.name == PROGRESS)
            .values(position=position, updated_at=now)
        )


_NOTE = ("note_ciphertext", "note_wrapped_key", "note_key_version")
# What to purge: the table, its key, the rows past retention, and the sealed columns to
# shred (None: delete the rows).
_Target = tuple[Table, Any, Any, tuple[str, ...] | None]


def _case_notes(before: datetime, holds: Holds) -> _Target:
    in_held_case = select(case_items.c.case_id).where(_in(case_items.c.event_id, holds.events))
    of_held_customer = and_(
        cases.c.entity_type == "customer", _in(cases.c.entity_key, holds.customers)
    )
    resolved = select(cases.c.case_id).where(
        cases.c.resolved_at < before,
        not_(_in(cases.c.case_id, holds.cases)),
        not_(of_held_customer),
        cases.c.case_id.not_in(in_held_case),
    )
    where = and_(case_log.c.note_ciphertext.is_not(None), case_log.c.case_id.in_(resolved))
    return case_log, case_log.c.seq, where, _NOTE


def _target(name: str, before: datetime, holds: Holds) -> _Target:
    if name == "dead_letters":
        return dead_letters, dead_letters.c.id, dead_letters.c.received_at < before, None
    if name == "auth_failures":
        return auth_failures, auth_failures.c.id, auth_failures.c.at < before, None
    if name == "sessions":
        return sessions, sessions.c.session_hash, sessions.c.expires_at < before, None
    if name == "case_notes":
        return _case_notes(before, holds)
    if name == "suppression_notes":
        s = screening_suppressions.c
        where = and_(
            s.note_ciphertext.is_not(None),
            or_(s.revoked_at < before, s.expires_at < before),
            not_(_in(s.customer_id, holds.customers)),
        )
        return screening_suppressions, s.id, where, _NOTE
    raise KeyError(name)


def _progress(position: str) -> Progress | None:
    parts = position.split()
    if len(parts) != 5:
        return None
    run_id, started, deleted, anonymised, other = parts
    return Progress(
        run_id, datetime.fromtimestamp(int(started), UTC), int(deleted), int(anonymised), int(other)
    )


class SqlRetentionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _fail(self, exc: Exception, what: str) -> StorageError:
        return StorageError(f"retention {what} failed: {type(exc).__name__}")

    @contextmanager
    def batch(self, *, write: bool) -> Iterator[_Batch]:
        try:
            with self.engine.begin() as conn:
                # SQLite: zero what a purge frees in the pages instead of leaving it there.
                shred = write and conn.dialect.name == "sqlite"
                if shred:
                    conn.exec_driver_sql("PRAGMA secure_delete=ON")
                yield _Batch(conn, write)
                if shred:  # the pooled connection goes back as it came
                    conn.exec_driver_sql("PRAGMA secure_delete=OFF")
        except SQLAlchemyError as exc:
            raise self._fail(exc, "batch") from exc

    def interrupted(self) -> Progress | None:
        q = select(cursors.c.position).where(cursors.c.name == PROGRESS)
        try:
            with self.engine.connect() as conn:
                position = conn.execute(q).scalar()
        except SQLAlchemyError as exc:
            raise self._fail(exc, "read") from exc
        return _progress(position) if position else None

    def finish(self, entry: AuditEntry) -> None:
        try:
            with self.engine.begin() as conn:
                SqlAuditLog.append(conn, entry)
                conn.execute(delete(cursors).where(cursors.c.name == PROGRESS))
        except SQLAlchemyError as exc:
            raise self._fail(exc, "audit") from exc

    # -- legal holds ---------------------------------------------------------------------------

    def holds(self, *, status: str = "active") -> list[LegalHold]:
        q = select(legal_holds).order_by(legal_holds.c.placed_at, legal_holds.c.hold_id)
        if status == "active":
            q = q.where(legal_holds.c.released_at.is_(None))
        elif status == "released":
            q = q.where(legal_holds.c.released_at.is_not(None))
        try:
            with self.engine.connect() as conn:
                return [_hold(r) for r in conn.execute(q)]
        except SQLAlchemyError as exc:
            raise self._fail(exc, "read") from exc

    def hold(self, hold_id: str) -> LegalHold | None:
        q = select(legal_holds).where(legal_holds.c.hold_id == hold_id)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(q).first()
        except SQLAlchemyError as exc:
            raise self._fail(exc, "read") from exc
        return _hold(row) if row is not None else None

    def place_hold(self, hold: LegalHold, audit: AuditEntry) -> None:
        row = {
            "hold_id": hold.hold_id,
            "subject": hold.subject,
            "value": hold.value,
            "reason": hold.reason,
            "placed_by": hold.placed_by[:100],
            "placed_at": hold.placed_at,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(legal_holds.insert(), row)
                SqlAuditLog.append(conn, audit)
        except SQLAlchemyError as exc:
            raise self._fail(exc, "hold") from exc

    def release_hold(self, hold_id: str, by: str, at: datetime, audit: AuditEntry) -> bool:
        stmt = (
            update(legal_holds)
            .where(legal_holds.c.hold_id == hold_id, legal_holds.c.released_at.is_(None))
            .values(released_by=by[:100], released_at=at)
        )
        try:
            with self.engine.begin() as conn:
                if conn.execute(stmt).rowcount != 1:
                    return False
                SqlAuditLog.append(conn, audit)
        except SQLAlchemyError as exc:
            raise self._fail(exc, "hold") from exc
        return True
