"""The decision ledger in SQL: one row per decision, the full record as JSON, written by
group commit so concurrent decisions share a transaction. ``event_id`` is unique: the first
decision of an event is *the* decision, and a retry gets it back. With ``outbox`` subjects
(publishing on), each new decision also gets its outbox row in the same transaction; a
decision that lost to a stored one gets none."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql._dialect import insert_ignoring_conflicts
from riskloop.adapters.sql.event_log import sqlite_time
from riskloop.adapters.sql.group_commit import GroupCommit
from riskloop.adapters.sql.outbox import write, write_sqlite
from riskloop.adapters.sql.raw_sqlite import Checkpointer, DedicatedConnection
from riskloop.adapters.sql.schema import decisions, event_log
from riskloop.errors import StorageError
from riskloop.ledger.records import Decision
from riskloop.service.bus import Subjects
from riskloop.service.outbox import decision_message

_SQLITE_INSERT = (
    "INSERT INTO decisions (decision_id, event_id, event_type, outcome, score, decided_at, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)


class SqlDecisionLedger:
    def __init__(self, engine: Engine, *, outbox: Subjects | None = None) -> None:
        self.engine = engine
        self.outbox = outbox  # None: the in-process bus, nothing is written for it
        self._group: GroupCommit[Decision, Decision] = GroupCommit(self._write)
        sqlite = engine.dialect.name == "sqlite"
        self._raw = DedicatedConnection(engine, autocheckpoint=Checkpointer.SAFETY_PAGES)
        self._checkpointer = Checkpointer(engine) if sqlite else None

    def record(self, decision: Decision) -> Decision:
        return self._group.submit(decision)

    def _write(self, batch: Sequence[Decision]) -> list[Decision]:
        if self.engine.dialect.name == "sqlite":
            return self._sqlite_write(batch)
        bodies = [d.as_dict() for d in batch]
        rows = [
            {
                "decision_id": d.decision_id,
                "event_id": d.event_id,
                "event_type": d.event_type,
                "outcome": d.outcome.value,
                "score": d.score,
                "decided_at": d.decided_at,
                "body": body,
            }
            for d, body in zip(batch, bodies, strict=True)
        ]
        try:
            with self.engine.begin() as conn:
                stmt = insert_ignoring_conflicts(conn, decisions, "event_id").returning(
                    decisions.c.decision_id
                )
                won = {r.decision_id for r in conn.execute(stmt, rows)}
                if self.outbox is not None:
                    owed = [
                        decision_message(self.outbox, d, body)
                        for d, body in zip(batch, bodies, strict=True)
                        if d.decision_id in won
                    ]
                    write(conn, owed)
                if len(won) == len(batch):
                    return list(batch)
                # A retry (or a concurrent twin) of an event already decided: the stored
                # decision stands.
                missing = [d.event_id for d in batch if d.decision_id not in won]
                q = select(decisions.c.body).where(decisions.c.event_id.in_(missing))
                stored = {b["event_id"]: Decision.from_dict(b) for (b,) in conn.execute(q)}
        except SQLAlchemyError as exc:
            raise StorageError(f"decision write failed: {type(exc).__name__}") from exc
        return [d if d.decision_id in won else stored[d.event_id] for d in batch]

    def _sqlite_write(self, batch: Sequence[Decision]) -> list[Decision]:
        """The same rows without SQLAlchemy's statement compilation and type processing
        (they were half the cost of a decision's record); the formats are those the schema's
        types write, so reads through SQLAlchemy see the same values."""
        rows = [
            (
                d.decision_id,
                d.event_id,
                d.event_type,
                d.outcome.value,
                d.score,
                sqlite_time(d.decided_at),
                orjson.dumps(d.as_dict()).decode(),
            )
            for d in batch
        ]
        try:
            with self._raw.transaction() as conn:
                won: set[str] = set()  # decision ids stored (twins in one batch: the first)
                for row in rows:  # RETURNING does not combine with executemany in sqlite3
                    if conn.execute(_SQLITE_INSERT, row).fetchone() is not None:
                        won.add(row[0])
                if self.outbox is not None:  # the record's JSON is the message's body
                    subjects = self.outbox
                    owed = [
                        (subjects.decision(row[3]), row[0], row[6]) for row in rows if row[0] in won
                    ]
                    write_sqlite(conn, owed)
        except sqlite3.Error as exc:
            raise StorageError(f"decision write failed: {type(exc).__name__}") from exc
        out = []
        for d in batch:
            kept = d if d.decision_id in won else self.for_event(d.event_id)
            if kept is None:
                raise StorageError(f"decision for {d.event_id} neither written nor found")
            out.append(kept)
        return out

    def _one(self, where: Any) -> Decision | None:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(select(decisions.c.body).where(where)).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"decision read failed: {type(exc).__name__}") from exc
        return Decision.from_dict(row[0]) if row else None

    def get(self, decision_id: str) -> Decision | None:
        return self._one(decisions.c.decision_id == decision_id)

    def for_event(self, event_id: str) -> Decision | None:
        return self._one(decisions.c.event_id == event_id)

    def search(
        self,
        *,
        outcome: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Decision]:
        q = select(decisions.c.body).order_by(decisions.c.decided_at.desc()).limit(limit)
        if outcome:
            q = q.where(decisions.c.outcome == outcome)
        if event_type:
            q = q.where(decisions.c.event_type == event_type)
        if since:
            q = q.where(decisions.c.decided_at >= since)
        if until:
            q = q.where(decisions.c.decided_at < until)
        with self.engine.connect() as conn:
            return [Decision.from_dict(b) for (b,) in conn.execute(q)]

    def scan(
        self, *, after: str = "", limit: int = 1000, outcome: str | None = None
    ) -> list[Decision]:
        q = (
            select(decisions.c.body)
            .where(decisions.c.decision_id > after)
            .order_by(decisions.c.decision_id)
            .limit(limit)
        )
        if outcome is not None:
            q = q.where(decisions.c.outcome == outcome)
        with self.engine.connect() as conn:
            return [Decision.from_dict(b) for (b,) in conn.execute(q)]

    def scan_ids(
        self, *, after: str = "", limit: int = 1000, outcome: str | None = None
    ) -> list[tuple[str, str]]:
        q = (
            select(decisions.c.decision_id, decisions.c.event_id)
            .where(decisions.c.decision_id > after)
            .order_by(decisions.c.decision_id)
            .limit(limit)
        )
        if outcome is not None:
            q = q.where(decisions.c.outcome == outcome)
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(q)]

    def with_events(
        self, *, after: str, before: str, event_types: Sequence[str], limit: int = 5000
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """``(decision record, its event's stored data)`` as dicts, for decision ids in
        ``(after, before)`` of the given event types, in id order: what a backtest reads, a
        million at a time, so SQLite is read without SQLAlchemy's per-row JSON handling."""
        if self.engine.dialect.name == "sqlite":
            marks = ",".join("?" * len(event_types))
            sql = (
                "SELECT d.decision_id, d.body, e.data FROM decisions d"  # noqa: S608
                " JOIN event_log e ON e.event_id = d.event_id"
                f" WHERE d.decision_id > ? AND d.decision_id < ? AND d.event_type IN ({marks})"
                " ORDER BY d.decision_id LIMIT ?"
            )
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql(sql, (after, before, *event_types, limit)).all()
            return [(orjson.loads(r[1]), orjson.loads(r[2])) for r in rows]
        q = (
            select(decisions.c.body, event_log.c.data)
            .join(event_log, event_log.c.event_id == decisions.c.event_id)
            .where(
                (decisions.c.decision_id > after)
                & (decisions.c.decision_id < before)
                & decisions.c.event_type.in_(list(event_types))
            )
            .order_by(decisions.c.decision_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(q)]

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._raw.close()
