"""Monitoring in SQL: the reports (``monitor_reports``, append-only) and the decisions of a
time window, read in pages by ``decided_at`` so a window of a million decisions never sits
in memory."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, func, select
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql.schema import decisions, monitor_reports
from riskloop.errors import StorageError
from riskloop.ledger.records import Decision
from riskloop.monitoring.ports import Report


def _to_report(row: Row[Any]) -> Report:
    return Report(
        kind=row.kind,
        scope=row.scope,
        status=row.status,
        created_at=row.created_at,
        body=row.body,
        id=row.id,
    )


class SqlMonitoring:
    """A ``ReportStore`` and a ``DecisionSource``."""

    def __init__(self, engine: Engine, *, page: int = 1000) -> None:
        self.engine = engine
        self.page = page

    def add(self, report: Report) -> Report:
        values: dict[str, Any] = {
            "kind": report.kind,
            "scope": report.scope,
            "created_at": report.created_at,
            "status": report.status,
            "body": report.body,
        }
        try:
            with self.engine.begin() as conn:
                stmt = monitor_reports.insert().values(**values).returning(monitor_reports.c.id)
                new_id = conn.execute(stmt).scalar_one()
        except SQLAlchemyError as exc:
            raise StorageError(f"monitor report write failed: {type(exc).__name__}") from exc
        return replace(report, id=int(new_id))

    def latest(self, *, kind: str | None, scope: str | None, limit: int) -> list[Report]:
        q = select(monitor_reports).order_by(monitor_reports.c.id.desc()).limit(limit)
        if kind is not None:
            q = q.where(monitor_reports.c.kind == kind)
        if scope is not None:
            q = q.where(monitor_reports.c.scope == scope)
        try:
            with self.engine.connect() as conn:
                return [_to_report(r) for r in conn.execute(q)]
        except SQLAlchemyError as exc:
            raise StorageError(f"monitor report read failed: {type(exc).__name__}") from exc

    def count_between(
        self, start: datetime, end: datetime, *, event_type: str | None = None
    ) -> int:
        c = decisions.c
        q = select(func.count()).where((c.decided_at >= start) & (c.decided_at < end))
        if event_type is not None:
            q = q.where(c.event_type == event_type)
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(q).scalar_one())
        except SQLAlchemyError as exc:
            raise StorageError(f"decision count failed: {type(exc).__name__}") from exc

    def decided_between(
        self,
        start: datetime,
        end: datetime,
        *,
        event_type: str | None = None,
        sample: float = 1.0,
    ) -> Iterator[Decision]:
        """Keyset pages on ``(decided_at, decision_id)`` over the ``decided_at`` index: each
        page is one short query, so no read transaction stays open while the caller works.
        A sample keeps the ids whose last two (random) hex digits fall under it: rows not
        kept are never parsed, which is where a window's time goes."""
        at, after = start, ""
        c = decisions.c
        buckets = math.ceil(max(0.0, sample) * 256)
        tail = func.substr(c.decision_id, func.length(c.decision_id) - 1, 2)
        while True:
            q = (
                select(c.decided_at, c.decision_id, c.body)
                .where(
                    (c.decided_at < end)
                    & ((c.decided_at > at) | ((c.decided_at == at) & (c.decision_id > after)))
                )
                .order_by(c.decided_at, c.decision_id)
                .limit(self.page)
            )
            if event_type is not None:
                q = q.where(c.event_type == event_type)
            if buckets < 256:  # hex digits sort as their values: "0a" < "ff"
                q = q.where(tail < f"{buckets:02x}")
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(q).all()
            except SQLAlchemyError as exc:
                raise StorageError(f"decision read failed: {type(exc).__name__}") from exc
            for row in rows:
                yield Decision.from_dict(row.body)
            if len(rows) < self.page:
                return
            at, after = rows[-1].decided_at, rows[-1].decision_id
