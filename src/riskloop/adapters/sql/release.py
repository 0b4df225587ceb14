"""Backtests and canaries in SQL. A canary's row changes by compare-and-set on its version,
in the transaction of its audit entry, so two processes judging the same canary cannot both
act on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from riskloop.adapters.sql.catalog import SqlAuditLog
from riskloop.adapters.sql.schema import backtests, canaries
from riskloop.errors import ConflictError, StorageError
from riskloop.ledger.audit import AuditEntry
from riskloop.release.canary import Canary


class SqlBacktests:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _write(self, stmt: Any, what: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt)
        except SQLAlchemyError as exc:
            raise StorageError(f"backtest {what} failed: {type(exc).__name__}") from exc

    def create(
        self, backtest_id: str, spec: Mapping[str, Any], created_by: str, at: datetime
    ) -> None:
        row = {
            "backtest_id": backtest_id,
            "created_at": at,
            "created_by": created_by,
            "status": "running",
            "spec": dict(spec),
        }
        self._write(backtests.insert().values(row), "create")

    def finish(self, backtest_id: str, report: Mapping[str, Any], at: datetime) -> None:
        values = {"status": "done", "report": dict(report), "finished_at": at}
        self._write(
            update(backtests).where(backtests.c.backtest_id == backtest_id).values(values),
            "finish",
        )

    def fail(self, backtest_id: str, error: str, at: datetime) -> None:
        values = {"status": "failed", "error": error[:2000], "finished_at": at}
        self._write(
            update(backtests).where(backtests.c.backtest_id == backtest_id).values(values),
            "fail",
        )

    @staticmethod
    def _row(r: Any, *, report: bool) -> dict[str, Any]:
        out = {
            "backtest_id": r.backtest_id,
            "status": r.status,
            "created_at": r.created_at.isoformat(),
            "created_by": r.created_by,
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "spec": r.spec,
            "error": r.error,
        }
        if report:
            out["report"] = r.report
        return out

    def get(self, backtest_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(backtests).where(backtests.c.backtest_id == backtest_id)
            ).first()
        return self._row(r, report=True) if r else None

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        q = select(backtests).order_by(backtests.c.created_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [self._row(r, report=False) for r in conn.execute(q)]


class SqlCanaries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def _values(c: Canary) -> dict[str, Any]:
        return {
            "canary_id": c.canary_id,
            "kind": c.kind.value,
            "target": c.target,
            "event_type": c.event_type,
            "status": c.status.value,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "version": c.version,
            "body": c.as_dict(),
        }

    def create(self, canary: Canary, audit: AuditEntry) -> Canary:
        try:
            with self.engine.begin() as conn:
                SqlAuditLog.append(conn, audit)
                conn.execute(canaries.insert().values(self._values(canary)))
        except IntegrityError:
            raise ConflictError(
                "canary", canary.event_type, "a canary is already running on this event type"
            ) from None
        except SQLAlchemyError as exc:
            raise StorageError(f"canary create failed: {type(exc).__name__}") from exc
        return canary

    def update(self, before: Canary, after: Canary, audit: AuditEntry | None) -> Canary:
        stored = replace(after, version=before.version + 1)
        try:
            with self.engine.begin() as conn:
                if audit is not None:
                    SqlAuditLog.append(conn, audit)
                done = conn.execute(
                    update(canaries)
                    .where(
                        (canaries.c.canary_id == before.canary_id)
                        & (canaries.c.version == before.version)
                    )
                    .values(self._values(stored))
                )
                if done.rowcount != 1:
                    raise ConflictError("canary", before.canary_id, "changed meanwhile; reload it")
        except IntegrityError:
            raise ConflictError("canary", before.canary_id, "changed meanwhile") from None
        except SQLAlchemyError as exc:
            raise StorageError(f"canary update failed: {type(exc).__name__}") from exc
        return stored

    def get(self, canary_id: str) -> Canary | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(canaries.c.body).where(canaries.c.canary_id == canary_id)
            ).first()
        return Canary.from_dict(row[0]) if row else None

    def all(self, *, status: str | None = None) -> list[Canary]:
        q = select(canaries.c.body).order_by(canaries.c.created_at)
        if status is not None:
            q = q.where(canaries.c.status == status)
        with self.engine.connect() as conn:
            return [Canary.from_dict(r[0]) for r in conn.execute(q)]
