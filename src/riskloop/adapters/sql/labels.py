"""The label index in SQL: label, dispute and challenge-result events copied out of the log
into a table that answers "which labels does this event have" and "which are still pending".

``sync`` copies what the table lacks (an anti-join on the label id), so it is idempotent
and needs no cursor: events committed out of sequence order by concurrent writers are picked
up on the next run, and a crash between an append and its sync is healed by the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, exists, func, not_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql._dialect import insert_ignoring_conflicts
from riskloop.adapters.sql.event_log import _to_event
from riskloop.adapters.sql.schema import event_log, labels
from riskloop.domain.labels import LABEL_EVENT_TYPES, LabelEntry, entry_of
from riskloop.errors import StorageError

_PENDING = and_(
    labels.c.status == "open",
    or_(
        labels.c.target_event_id.is_(None),
        not_(exists().where(event_log.c.event_id == labels.c.target_event_id)),
    ),
)


def _entry(row: Any) -> LabelEntry:
    return LabelEntry(
        label_id=row.label_id,
        seq=row.seq,
        target_event_id=row.target_event_id,
        kind=row.kind,
        fraud=row.fraud,
        reported_at=row.reported_at,
        ingested_at=row.ingested_at,
        source=row.source,
        status=row.status,
        detail=row.detail,
        pending=bool(row.pending),
    )


class SqlLabelIndex:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sync(
        self,
        *,
        event_ids: Sequence[str] | None = None,
        batch: int = 1000,
    ) -> int:
        """Copy label events the index lacks (only among ``event_ids`` if given: what was
        just appended, a cheap lookup); returns how many were added."""
        missing = (
            select(event_log)
            .where(
                event_log.c.event_type.in_(LABEL_EVENT_TYPES)
                & not_(exists().where(labels.c.label_id == event_log.c.event_id))
            )
            .order_by(event_log.c.seq)
        )
        added = 0
        if event_ids is not None:
            ids = list(event_ids)
            for i in range(0, len(ids), batch):
                added += self._copy(missing.where(event_log.c.event_id.in_(ids[i : i + batch])))[0]
            return added
        while True:
            n, read = self._copy(missing.limit(batch))
            added += n
            if read < batch:
                return added

    def _copy(self, q: Any) -> tuple[int, int]:
        """One transaction: the entries of the events ``q`` finds; (added, events read)."""
        try:
            with self.engine.begin() as conn:
                rows = [_to_event(r) for r in conn.execute(q)]
                entries = [e for e in map(entry_of, rows) if e is not None]
                if entries:
                    stmt = insert_ignoring_conflicts(conn, labels, "label_id")
                    conn.execute(stmt, [_row(e) for e in entries])
                    # A label matched later supersedes the one that waited for a match.
                    for e in entries:
                        if "matched_from" in e.detail:
                            conn.execute(
                                update(labels)
                                .where(labels.c.label_id == e.detail["matched_from"])
                                .values(status="superseded")
                            )
        except SQLAlchemyError as exc:
            raise StorageError(f"label index sync failed: {type(exc).__name__}") from exc
        return len(entries), len(rows)

    def entries(
        self,
        *,
        target_event_id: str | None = None,
        kind: str | None = None,
        pending: bool | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[LabelEntry]:
        q = select(labels, _PENDING.label("pending")).order_by(labels.c.seq)
        if target_event_id is not None:
            q = q.where(labels.c.target_event_id == target_event_id)
        if kind is not None:
            q = q.where(labels.c.kind == kind)
        if pending is not None:
            q = q.where(_PENDING if pending else not_(_PENDING))
        if since is not None:
            q = q.where(labels.c.reported_at >= since)
        try:
            with self.engine.connect() as conn:
                return [_entry(r) for r in conn.execute(q.limit(limit).offset(offset))]
        except SQLAlchemyError as exc:
            raise StorageError(f"label read failed: {type(exc).__name__}") from exc

    def for_events(self, event_ids: list[str]) -> list[LabelEntry]:
        q = (
            select(labels, _PENDING.label("pending"))
            .where(labels.c.target_event_id.in_(event_ids))
            .order_by(labels.c.seq)
        )
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(q)]

    def standing(self) -> dict[str, bool]:
        """Every labelled event's standing verdict as known now (``domain.labels.effective``
        over the whole index in one pass): what backtests and monitoring count fraud by."""
        q = (
            select(labels.c.target_event_id, labels.c.fraud, labels.c.tier)
            .where(
                labels.c.target_event_id.is_not(None)
                & labels.c.fraud.is_not(None)
                & (labels.c.status != "informational")
            )
            .order_by(labels.c.seq)
        )
        best: dict[str, tuple[int, bool]] = {}
        with self.engine.connect() as conn:
            for event_id, fraud, tier in conn.execute(q):
                held = best.get(event_id)
                if held is None or tier >= held[0]:
                    best[event_id] = (tier, bool(fraud))
        return {event_id: fraud for event_id, (_, fraud) in best.items()}

    def counts(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            by_kind = {
                k: int(n)
                for k, n in conn.execute(
                    select(labels.c.kind, func.count()).group_by(labels.c.kind)
                )
            }
            pending = int(conn.execute(select(func.count()).where(_PENDING)).scalar_one())
        return {"by_kind": by_kind, "total": sum(by_kind.values()), "pending": pending}


def _row(e: LabelEntry) -> dict[str, Any]:
    return {
        "label_id": e.label_id,
        "seq": e.seq,
        "target_event_id": e.target_event_id,
        "kind": e.kind,
        "fraud": e.fraud,
        "tier": e.tier,
        "reported_at": e.reported_at,
        "ingested_at": e.ingested_at,
        "source": e.source,
        "status": e.status,
        "detail": e.detail,
    }
