"""Sealing decision records into the audit chain, signed checkpoints, reading for verify
and export (service/audit.py says why)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update

from riskloop.adapters.sql.catalog import SqlAuditLog, _audit_row
from riskloop.adapters.sql.schema import audit_checkpoints, audit_log, decisions
from riskloop.errors import StorageError
from riskloop.ledger.audit import AuditEntry, record_digest

_COLS = (
    decisions.c.decision_id,
    decisions.c.event_id,
    decisions.c.event_type,
    decisions.c.outcome,
    decisions.c.score,
    decisions.c.decided_at,
    decisions.c.body,
)


def _canonical(row: Any) -> dict[str, Any]:
    return {
        "decision_id": row.decision_id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "outcome": row.outcome,
        "score": row.score,
        "decided_at": row.decided_at.isoformat(),
        "body": row.body,
    }


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":  # the lock SqlAuditLog.append takes, taken first
        conn.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))


class SqlAuditStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._log = SqlAuditLog(engine)

    def seal_decisions(self, limit: int, entry: Callable[[int, str, str, str], AuditEntry]) -> int:
        with self.engine.begin() as conn:
            _lock(conn)
            q = (
                select(*_COLS)
                .where(decisions.c.audit_seq.is_(None))
                .order_by(decisions.c.decision_id)
                .limit(limit)
            )
            rows = list(conn.execute(q))
            if not rows:
                return 0
            ids = [r.decision_id for r in rows]
            digest = record_digest(_canonical(r) for r in rows)
            sealed = SqlAuditLog.append(conn, entry(len(rows), digest, ids[0], ids[-1]))
            marked = 0
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marked += conn.execute(
                    update(decisions)
                    .where(decisions.c.decision_id.in_(chunk), decisions.c.audit_seq.is_(None))
                    .values(audit_seq=sealed.seq)
                ).rowcount
            if marked != len(ids):  # another process sealed some: roll back, next round
                raise StorageError("decisions sealed concurrently; retrying")
            return len(ids)

    def sealed_digest(self, seq: int) -> tuple[int, str]:
        q = select(*_COLS).where(decisions.c.audit_seq == seq).order_by(decisions.c.decision_id)
        with self.engine.connect() as conn:
            rows = list(conn.execute(q))
        return len(rows), record_digest(_canonical(r) for r in rows)

    def unsealed(self) -> int:
        q = select(func.count()).where(decisions.c.audit_seq.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def head(self) -> tuple[int, str] | None:
        q = select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else (int(row.seq), row.hash)

    def last_checkpoint(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(audit_checkpoints.c.seq))).scalar() or 0)

    def add_checkpoint(self, seq: int, entry_hash: str, at: datetime, mac: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(
                select(audit_checkpoints.c.seq).where(audit_checkpoints.c.seq == seq)
            ).first():
                return  # another process signed this head already
            conn.execute(insert(audit_checkpoints).values(seq=seq, hash=entry_hash, at=at, mac=mac))

    def checkpoints(self) -> Iterator[tuple[int, str, str]]:
        q = select(audit_checkpoints).order_by(audit_checkpoints.c.seq)
        with self.engine.connect() as conn:
            rows = list(conn.execute(q))
        for r in rows:
            yield int(r.seq), r.hash, r.mac

    def entries(self) -> Iterator[AuditEntry]:
        return self._log.iterate()

    def between(self, since: datetime, until: datetime) -> list[AuditEntry]:
        q = (
            select(audit_log)
            .where(audit_log.c.at >= since, audit_log.c.at < until)
            .order_by(audit_log.c.seq)
        )
        with self.engine.connect() as conn:
            return [_audit_row(r) for r in conn.execute(q)]

    def append(self, entry: AuditEntry) -> AuditEntry:
        with self.engine.begin() as conn:
            return SqlAuditLog.append(conn, entry)
