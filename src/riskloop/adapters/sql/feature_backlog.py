"""The feature backlog in SQL: ids of events stored while the shared feature state failed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql._dialect import chunks, insert_ignoring_conflicts
from riskloop.adapters.sql.schema import feature_backlog
from riskloop.errors import StorageError

_c = feature_backlog.c


class SqlFeatureBacklog:
    """:class:`~riskloop.domain.ports.FeatureBacklog` on ``feature_backlog``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        now = datetime.now(UTC)
        rows = [{"event_id": e, "missed_at": now} for e in event_ids]
        try:
            with self.engine.begin() as conn:
                conn.execute(insert_ignoring_conflicts(conn, feature_backlog, "event_id"), rows)
        except SQLAlchemyError as exc:
            raise StorageError(f"feature backlog write failed: {type(exc).__name__}") from exc

    def pending(self, limit: int) -> list[str]:
        q = select(_c.event_id).order_by(_c.seq).limit(limit)
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(q).scalars())
        except SQLAlchemyError as exc:
            raise StorageError(f"feature backlog read failed: {type(exc).__name__}") from exc

    def remove(self, event_ids: Sequence[str]) -> None:
        try:
            with self.engine.begin() as conn:
                for part in chunks(list(event_ids)):
                    conn.execute(delete(feature_backlog).where(_c.event_id.in_(part)))
        except SQLAlchemyError as exc:
            raise StorageError(f"feature backlog write failed: {type(exc).__name__}") from exc

    def count(self) -> int:
        try:
            with self.engine.connect() as conn:
                q = select(func.count()).select_from(feature_backlog)
                return int(conn.execute(q).scalar_one())
        except SQLAlchemyError as exc:
            raise StorageError(f"feature backlog read failed: {type(exc).__name__}") from exc

    def clear(self) -> int:
        try:
            with self.engine.begin() as conn:
                return int(conn.execute(delete(feature_backlog)).rowcount or 0)
        except SQLAlchemyError as exc:
            raise StorageError(f"feature backlog write failed: {type(exc).__name__}") from exc
