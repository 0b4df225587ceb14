"""Review cases in SQL.

Every change is a compare-and-set on the case's ``version`` inside one transaction, together
with its timeline entry (and, for verdicts, its audit entry): of two analysts claiming or
resolving the same case at once, exactly one wins and the other gets a 409. At most one
unresolved case exists per entity and queue (a partial unique index), so two processes
opening a case for the same card at once end up with one case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from riskloop.adapters.sql._dialect import insert_ignoring_conflicts
from riskloop.adapters.sql.catalog import SqlAuditLog
from riskloop.adapters.sql.schema import case_items, case_log, cases, cursors
from riskloop.cases.model import ACTIVE, Case, CaseItem, CaseStatus, Resolution, joined, opened
from riskloop.domain.events import SealedBox
from riskloop.errors import ConflictError, StorageError
from riskloop.ledger.audit import AuditEntry


def _case(row: Any) -> Case:
    return Case(
        case_id=row.case_id,
        entity_type=row.entity_type,
        entity_key=row.entity_key,
        queue=row.queue,
        priority=row.priority,
        status=CaseStatus(row.status),
        assignee=row.assignee,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        due_at=row.due_at,
        resolved_at=row.resolved_at,
        resolution=Resolution(row.resolution) if row.resolution else None,
        labels_pending=bool(row.labels_pending),
        version=row.version,
        body=row.body,
    )


def _values(c: Case) -> dict[str, Any]:
    return {
        "case_id": c.case_id,
        "entity_type": c.entity_type,
        "entity_key": c.entity_key,
        "queue": c.queue,
        "priority": c.priority,
        "status": c.status.value,
        "assignee": c.assignee,
        "opened_at": c.opened_at,
        "updated_at": c.updated_at,
        "due_at": c.due_at,
        "resolved_at": c.resolved_at,
        "resolution": c.resolution.value if c.resolution else None,
        "labels_pending": c.labels_pending,
        "version": c.version,
        "body": c.body,
    }


def _log_row(
    case_id: str, at: datetime, actor: str, action: str, detail: dict[str, Any], note: Any
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "at": at,
        "actor": actor[:100],
        "action": action,
        "detail": detail,
        "note_ciphertext": note.ciphertext if note else None,
        "note_wrapped_key": note.wrapped_key if note else None,
        "note_key_version": note.key_version if note else None,
    }


class SqlCaseStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _fail(self, exc: SQLAlchemyError, what: str) -> StorageError:
        return StorageError(f"case {what} failed: {type(exc).__name__}")

    # -- opening and joining ----------------------------------------------------------------

    def attach(self, item: CaseItem, now: datetime) -> tuple[Case, bool] | None:
        """Open or join the entity's case with ``item``; None if the decision is already in
        a case (idempotent). Returns the case and whether it was opened."""
        for _ in range(3):  # a concurrent opener of the same entity's case: join theirs
            try:
                with self.engine.begin() as conn:
                    return self._attach(conn, item, now)
            except IntegrityError:
                continue
            except SQLAlchemyError as exc:
                raise self._fail(exc, "attach") from exc
        raise StorageError(f"case attach for {item.event_id} kept conflicting")

    def _attach(self, conn: Connection, item: CaseItem, now: datetime) -> tuple[Case, bool] | None:
        if conn.execute(
            select(case_items.c.case_id).where(case_items.c.event_id == item.event_id)
        ).first():
            return None
        row = conn.execute(
            select(cases).where(
                (cases.c.entity_type == item.entity_type)
                & (cases.c.entity_key == item.entity_key)
                & (cases.c.queue == item.queue)
                & (cases.c.status != CaseStatus.RESOLVED.value)
            )
        ).first()
        fresh = row is None
        case = opened(item, now) if row is None else _case(row)
        updated = joined(case, item, now)
        if fresh:
            conn.execute(cases.insert(), _values(updated))
        else:
            done = conn.execute(
                update(cases)
                .where((cases.c.case_id == case.case_id) & (cases.c.version == case.version))
                .values({**_values(updated), "version": case.version + 1})
            )
            if done.rowcount != 1:
                raise IntegrityError("case changed meanwhile", None, Exception("retry"))
            updated = replace(updated, version=case.version + 1)
        conn.execute(
            case_items.insert(),
            {
                "event_id": item.event_id,
                "case_id": updated.case_id,
                "decision_id": item.decision_id,
                "added_at": now,
            },
        )
        detail = {"event_id": item.event_id, "decision_id": item.decision_id}
        conn.execute(
            case_log.insert(),
            _log_row(updated.case_id, now, "riskloop", "open" if fresh else "join", detail, None),
        )
        return updated, fresh

    def open_manual(self, case: Case, actor: str, detail: dict[str, Any]) -> Case:
        """A case opened by hand (an alert, a tip-off), or the entity's open case."""
        try:
            with self.engine.begin() as conn:
                row = conn.execute(
                    select(cases).where(
                        (cases.c.entity_type == case.entity_type)
                        & (cases.c.entity_key == case.entity_key)
                        & (cases.c.queue == case.queue)
                        & (cases.c.status != CaseStatus.RESOLVED.value)
                    )
                ).first()
                if row is not None:
                    return _case(row)
                conn.execute(cases.insert(), _values(case))
                conn.execute(
                    case_log.insert(),
                    _log_row(case.case_id, case.opened_at, actor, "open", detail, None),
                )
                return case
        except IntegrityError:
            raise ConflictError("case", case.entity_key, "opened meanwhile; retry") from None
        except SQLAlchemyError as exc:
            raise self._fail(exc, "open") from exc

    # -- changes ----------------------------------------------------------------------------

    def change(
        self,
        before: Case,
        after: Case,
        *,
        actor: str,
        action: str,
        detail: dict[str, Any],
        note: SealedBox | None = None,
        audit: AuditEntry | None = None,
    ) -> Case:
        """Write ``after`` if the case is still at ``before.version``; else 409."""
        stored = replace(after, version=before.version + 1)
        try:
            with self.engine.begin() as conn:
                if audit is not None:
                    SqlAuditLog.append(conn, audit)
                done = conn.execute(
                    update(cases)
                    .where(
                        (cases.c.case_id == before.case_id) & (cases.c.version == before.version)
                    )
                    .values(_values(stored))
                )
                if done.rowcount != 1:
                    raise ConflictError("case", before.case_id, "changed meanwhile; reload it")
                conn.execute(
                    case_log.insert(),
                    _log_row(before.case_id, after.updated_at, actor, action, detail, note),
                )
        except IntegrityError:
            raise ConflictError("case", before.case_id, "changed meanwhile; reload it") from None
        except SQLAlchemyError as exc:
            raise self._fail(exc, "change") from exc
        return stored

    def add_note(self, case_id: str, at: datetime, actor: str, note: SealedBox) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(case_log.insert(), _log_row(case_id, at, actor, "note", {}, note))
        except SQLAlchemyError as exc:
            raise self._fail(exc, "note") from exc

    def audit(self, entry: AuditEntry) -> None:
        """An audit entry on its own (a privileged read, such as a SAR export)."""
        try:
            with self.engine.begin() as conn:
                SqlAuditLog.append(conn, entry)
        except SQLAlchemyError as exc:
            raise self._fail(exc, "audit") from exc

    def labels_written(self, case_id: str, version: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(cases)
                .where((cases.c.case_id == case_id) & (cases.c.version == version))
                .values(labels_pending=False)
            )

    # -- reads ------------------------------------------------------------------------------

    def _rows(self, q: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(q))
        except SQLAlchemyError as exc:
            raise self._fail(exc, "read") from exc

    def get(self, case_id: str) -> Case | None:
        rows = self._rows(select(cases).where(cases.c.case_id == case_id))
        return _case(rows[0]) if rows else None

    def items(self, case_id: str) -> list[tuple[str, str, datetime]]:
        q = (
            select(case_items.c.event_id, case_items.c.decision_id, case_items.c.added_at)
            .where(case_items.c.case_id == case_id)
            .order_by(case_items.c.added_at, case_items.c.event_id)
        )
        return [(r[0], r[1], r[2]) for r in self._rows(q)]

    def in_cases(self, event_ids: Sequence[str]) -> set[str]:
        """Which of ``event_ids`` are already in a case."""
        ids = list(event_ids)
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            q = select(case_items.c.event_id).where(case_items.c.event_id.in_(ids[i : i + 500]))
            found.update(r[0] for r in self._rows(q))
        return found

    def timeline(self, case_id: str) -> list[tuple[Any, ...]]:
        """(seq, at, actor, action, detail, sealed note or None), oldest first."""
        q = select(case_log).where(case_log.c.case_id == case_id).order_by(case_log.c.seq)
        out = []
        for r in self._rows(q):
            note = (
                SealedBox(r.note_ciphertext, r.note_wrapped_key, r.note_key_version)
                if r.note_ciphertext is not None
                else None
            )
            out.append((r.seq, r.at, r.actor, r.action, r.detail, note))
        return out

    def search(
        self,
        *,
        status: Sequence[str] | None = None,
        queue: str | None = None,
        assignee: str | None = None,
        unassigned: bool = False,
        entity_type: str | None = None,
        entity_key: str | None = None,
        due_before: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        after: tuple[int, datetime, str] | None = None,
    ) -> list[Case]:
        """Work order: highest priority first, then the earliest due."""
        q = select(cases).order_by(cases.c.priority, cases.c.due_at, cases.c.case_id)
        if after is not None:
            p, d, i = cases.c.priority, cases.c.due_at, cases.c.case_id
            q = q.where(
                or_(
                    p > after[0],
                    and_(p == after[0], or_(d > after[1], and_(d == after[1], i > after[2]))),
                )
            )
        if status:
            q = q.where(cases.c.status.in_(list(status)))
        if queue:
            q = q.where(cases.c.queue == queue)
        if assignee:
            q = q.where(cases.c.assignee == assignee)
        if unassigned:
            q = q.where(cases.c.assignee.is_(None))
        if entity_type:
            q = q.where(cases.c.entity_type == entity_type)
        if entity_key:
            q = q.where(cases.c.entity_key == entity_key)
        if due_before:
            q = q.where(cases.c.due_at < due_before)
        return [_case(r) for r in self._rows(q.limit(limit).offset(offset))]

    def claimable(self, analyst: str, queue: str | None, limit: int) -> list[Case]:
        """Open or escalated cases nobody else holds, in work order."""
        q = (
            select(cases)
            .where(
                cases.c.status.in_([CaseStatus.OPEN.value, CaseStatus.ESCALATED.value])
                & or_(cases.c.assignee.is_(None), cases.c.assignee == analyst)
            )
            .order_by(cases.c.priority, cases.c.due_at, cases.c.case_id)
            .limit(limit)
        )
        if queue:
            q = q.where(cases.c.queue == queue)
        return [_case(r) for r in self._rows(q)]

    def with_labels_pending(self, limit: int = 100) -> list[Case]:
        q = select(cases).where(cases.c.labels_pending.is_(True)).limit(limit)
        return [_case(r) for r in self._rows(q)]

    def counts(self) -> dict[str, Any]:
        q = (
            select(cases.c.queue, cases.c.status, func.count())
            .where(cases.c.status.in_([s.value for s in ACTIVE]))
            .group_by(cases.c.queue, cases.c.status)
        )
        out: dict[str, dict[str, int]] = {}
        for queue, status, n in self._rows(q):
            out.setdefault(queue, {})[status] = int(n)
        return out

    def breached(self, now: datetime, limit: int = 1000) -> list[Case]:
        q = (
            select(cases)
            .where(and_(cases.c.status != CaseStatus.RESOLVED.value, cases.c.due_at < now))
            .order_by(cases.c.due_at)
            .limit(limit)
        )
        return [_case(r) for r in self._rows(q)]

    # -- cursors ----------------------------------------------------------------------------

    def cursor(self, name: str) -> str:
        rows = self._rows(select(cursors.c.position).where(cursors.c.name == name))
        return str(rows[0][0]) if rows else ""

    def move_cursor(self, name: str, position: str, now: datetime) -> None:
        try:
            with self.engine.begin() as conn:
                stmt = insert_ignoring_conflicts(conn, cursors, "name")
                conn.execute(stmt, {"name": name, "position": position, "updated_at": now})
                conn.execute(
                    update(cursors)
                    .where(cursors.c.name == name)
                    .values(position=position, updated_at=now)
                )
        except SQLAlchemyError as exc:
            raise self._fail(exc, "cursor") from exc
