"""The outbox in SQL (SQLite and PostgreSQL): the rows the decision ledger and the task store
write inside their own transactions (:func:`write`, :func:`write_sqlite`), and the store the
relay drains (:class:`SqlOutbox`).

The relay's lease is the ``outbox-relay`` row of ``job_runs``, taken or renewed by one
compare-and-set ``UPDATE … WHERE lease_until < :now OR lease_owner = :me``: on PostgreSQL a
second relay waits for the first's row lock and then finds the condition false; SQLite's
``BEGIN IMMEDIATE`` serialises the two. It works the same on both databases, needs no
connection held open (a PostgreSQL advisory lock would, and a pooler in transaction mode
breaks those), and shows who holds it in ``job_runs``. Leases compare the relays' clocks:
hosts sharing the database run NTP.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql._dialect import chunks, insert_ignoring_conflicts
from riskloop.adapters.sql.event_log import sqlite_time
from riskloop.adapters.sql.schema import job_runs, outbox
from riskloop.errors import StorageError
from riskloop.service.outbox import LEASE_NAME, OutboxMessage, OutboxRow

_SQLITE_INSERT = "INSERT INTO outbox (subject, msg_id, payload, created_at) VALUES (?, ?, ?, ?)"
_c = outbox.c
_j = job_runs.c


def write(conn: Connection, messages: Sequence[OutboxMessage]) -> None:
    """Add ``messages`` inside the caller's transaction (so they commit with its record)."""
    if messages:
        now = datetime.now(UTC)
        conn.execute(
            outbox.insert(),
            [
                {"subject": m.subject, "msg_id": m.msg_id, "payload": m.payload, "created_at": now}
                for m in messages
            ],
        )


def write_sqlite(conn: sqlite3.Connection, rows: Sequence[tuple[str, str, str]]) -> None:
    """The same on a raw SQLite connection: ``(subject, msg_id, payload as JSON text)``."""
    if rows:
        stamp = sqlite_time(datetime.now(UTC))
        conn.executemany(_SQLITE_INSERT, [(s, m, p, stamp) for s, m, p in rows])


class SqlOutbox:
    """:class:`~riskloop.service.outbox.OutboxStore` on ``outbox`` and ``job_runs``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pending(self, limit: int) -> list[OutboxRow]:
        q = select(outbox).order_by(_c.seq).limit(limit)
        try:
            with self.engine.connect() as conn:
                return [
                    OutboxRow(r.seq, r.subject, r.msg_id, r.payload, r.created_at)
                    for r in conn.execute(q)
                ]
        except SQLAlchemyError as exc:
            raise StorageError(f"outbox read failed: {type(exc).__name__}") from exc

    def delete(self, seqs: Sequence[int]) -> None:
        try:
            with self.engine.begin() as conn:
                for part in chunks(list(seqs)):
                    conn.execute(delete(outbox).where(_c.seq.in_(part)))
        except SQLAlchemyError as exc:
            raise StorageError(f"outbox delete failed: {type(exc).__name__}") from exc

    def depth(self) -> int:
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())
        except SQLAlchemyError as exc:
            raise StorageError(f"outbox read failed: {type(exc).__name__}") from exc

    def lease(self, owner: str, now: datetime, ttl: timedelta) -> bool:
        mine = (_j.name == LEASE_NAME) & (
            _j.lease_until.is_(None) | (_j.lease_until < now) | (_j.lease_owner == owner[:100])
        )
        take = update(job_runs).where(mine).values(lease_owner=owner[:100], lease_until=now + ttl)
        try:
            with self.engine.begin() as conn:
                if conn.execute(take).rowcount == 1:
                    return True
                # The first relay ever: the row is missing (it stays, like a job's).
                row = {"name": LEASE_NAME, "next_due_at": now, "runs": 0}
                conn.execute(insert_ignoring_conflicts(conn, job_runs, "name"), row)
                return bool(conn.execute(take).rowcount == 1)
        except SQLAlchemyError as exc:
            raise StorageError(f"outbox lease failed: {type(exc).__name__}") from exc

    def release(self, owner: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(job_runs)
                    .where((_j.name == LEASE_NAME) & (_j.lease_owner == owner[:100]))
                    .values(lease_owner=None, lease_until=None)
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"outbox lease release failed: {type(exc).__name__}") from exc
