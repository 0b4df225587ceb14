"""Operational tasks and their notification outbox in SQL (SQLite and PostgreSQL).

Every write is one transaction holding the task, its audit entry and — for a new or
re-opened task — an outbox row, so a notification always matches a stored task and a task is
never stored without its audit entry. Writers are serialised by the lock that guards the
audit chain (``LOCK TABLE audit_log`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), taken
*before* the dedupe lookup: two processes raising the same key at once produce one task
(and a partial unique index on active keys backs that up). The audit entry is appended
last, once the task's id is known; the chain lock is the same one ``SqlAuditLog.append``
takes. With publishing on (``outbox`` subjects), a new task also writes its alert to the
bus's outbox (``adapters/sql/outbox.py``) in that transaction; a repeat occurrence does not.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from riskloop.adapters.sql.catalog import SqlAuditLog
from riskloop.adapters.sql.outbox import write
from riskloop.adapters.sql.schema import task_notifications, tasks
from riskloop.cases.tasks import (
    ACTIVE,
    Task,
    TaskKind,
    TaskNote,
    TaskNotification,
    TaskStatus,
)
from riskloop.errors import ConflictError, NotFound, StorageError
from riskloop.ledger.audit import AuditEntry
from riskloop.service.bus import Subjects
from riskloop.service.outbox import alert_message

_ACTIVE = [s.value for s in ACTIVE]


def _task(row: Any) -> Task:
    return Task(
        id=row.id,
        kind=TaskKind(row.kind),
        title=row.title,
        key=row.key,
        status=TaskStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        detail=row.detail,
        owner=row.owner,
        due_at=row.due_at,
        runbook_url=row.runbook_url,
        occurrences=row.occurrences,
        version=row.version,
        notes=tuple(TaskNote.from_dict(n) for n in row.notes),
    )


def _values(task: Task) -> dict[str, Any]:
    return {
        "kind": task.kind.value,
        "title": task.title,
        "detail": task.detail,
        "owner": task.owner,
        "status": task.status.value,
        "due_at": task.due_at,
        "runbook_url": task.runbook_url,
        "key": task.key,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "created_by": task.created_by[:100],
        "occurrences": task.occurrences,
        "version": task.version,
        "notes": [n.as_dict() for n in task.notes],
    }


def _notification(row: Any) -> TaskNotification:
    return TaskNotification(
        id=row.id,
        task_id=row.task_id,
        event=row.event,
        created_at=row.created_at,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
    )


def _serialise(conn: Connection) -> None:
    """Take the audit chain's writer lock now (SQLite holds its write lock from BEGIN)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))


def _active(conn: Connection, key: str) -> Task | None:
    row = conn.execute(
        select(tasks).where((tasks.c.key == key) & tasks.c.status.in_(_ACTIVE)).limit(1)
    ).first()
    return _task(row) if row is not None else None


def _queue(conn: Connection, task: Task, event: str) -> None:
    conn.execute(
        task_notifications.insert(),
        {
            "task_id": task.id,
            "event": event,
            "created_at": task.updated_at,
            "attempts": 0,
            "next_attempt_at": task.updated_at,
        },
    )


class SqlTaskStore:
    def __init__(self, engine: Engine, *, outbox: Subjects | None = None) -> None:
        self.engine = engine
        self.outbox = outbox  # publishing on: a new task's alert goes to the bus's outbox

    def _read(self, q: Any) -> builtins.list[Any]:
        try:
            with self.engine.connect() as conn:
                return builtins.list(conn.execute(q))
        except SQLAlchemyError as exc:
            raise StorageError(f"task read failed: {type(exc).__name__}") from exc

    # -- tasks -----------------------------------------------------------------------------

    def raise_task(
        self, candidate: Task, audit: Callable[[Task | None, Task], AuditEntry]
    ) -> tuple[Task, bool]:
        try:
            with self.engine.begin() as conn:
                _serialise(conn)
                existing = _active(conn, candidate.key)
                if existing is not None:
                    task = existing.seen_again(candidate.updated_at, candidate.detail)
                    conn.execute(
                        update(tasks)
                        .where(tasks.c.id == existing.id)
                        .values(
                            occurrences=task.occurrences,
                            detail=task.detail,
                            updated_at=task.updated_at,
                            version=task.version,
                        )
                    )
                    SqlAuditLog.append(conn, audit(existing, task))
                    return task, False
                values = _values(candidate)
                task_id = conn.execute(tasks.insert().returning(tasks.c.id), values).scalar_one()
                task = replace(candidate, id=task_id)
                _queue(conn, task, "created")
                if self.outbox is not None:
                    write(conn, [alert_message(self.outbox, task)])
                SqlAuditLog.append(conn, audit(None, task))
                return task, True
        except IntegrityError:
            raise ConflictError("task", candidate.key, "raised by someone else meanwhile") from None
        except SQLAlchemyError as exc:
            raise StorageError(f"task write failed: {type(exc).__name__}") from exc

    def update(
        self,
        task_id: int,
        change: Callable[[Task], Task],
        audit: Callable[[Task | None, Task], AuditEntry],
    ) -> Task:
        try:
            with self.engine.begin() as conn:
                _serialise(conn)
                row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
                if row is None:
                    raise NotFound("task", str(task_id))
                current = _task(row)
                task = change(current)
                if task == current:
                    return current
                if not current.active and task.active:
                    other = _active(conn, task.key)
                    if other is not None:
                        raise ConflictError(
                            "task", str(task_id), f"task {other.id} with the same key is active"
                        )
                values = _values(task)
                changed = conn.execute(
                    update(tasks)
                    .where((tasks.c.id == task_id) & (tasks.c.version == current.version))
                    .values(
                        status=values["status"],
                        owner=values["owner"],
                        due_at=values["due_at"],
                        notes=values["notes"],
                        updated_at=values["updated_at"],
                        version=values["version"],
                    )
                ).rowcount
                if changed != 1:  # cannot happen under the lock; never overwrite blindly
                    raise ConflictError("task", str(task_id), "changed meanwhile; reload")
                if not current.active and task.active:
                    _queue(conn, task, "reopened")
                SqlAuditLog.append(conn, audit(current, task))
                return task
        except IntegrityError:
            raise ConflictError("task", str(task_id), "changed meanwhile; reload") from None
        except SQLAlchemyError as exc:
            raise StorageError(f"task write failed: {type(exc).__name__}") from exc

    def get(self, task_id: int) -> Task | None:
        rows = self._read(select(tasks).where(tasks.c.id == task_id))
        return _task(rows[0]) if rows else None

    def active(self, key: str) -> Task | None:
        rows = self._read(
            select(tasks).where((tasks.c.key == key) & tasks.c.status.in_(_ACTIVE)).limit(1)
        )
        return _task(rows[0]) if rows else None

    def list(
        self,
        *,
        status: TaskStatus | None,
        owner: str | None,
        kind: TaskKind | None,
        overdue_at: datetime | None,
        not_overdue_at: datetime | None,
        limit: int,
        offset: int,
    ) -> builtins.list[Task]:
        q = select(tasks)
        if status is not None:
            q = q.where(tasks.c.status == status.value)
        if owner is not None:
            q = q.where(tasks.c.owner == owner)
        if kind is not None:
            q = q.where(tasks.c.kind == kind.value)
        if overdue_at is not None:
            q = q.where(
                tasks.c.status.in_(_ACTIVE)
                & tasks.c.due_at.is_not(None)
                & (tasks.c.due_at < overdue_at)
            )
        if not_overdue_at is not None:
            q = q.where(
                or_(
                    tasks.c.status.not_in(_ACTIVE),
                    tasks.c.due_at.is_(None),
                    tasks.c.due_at >= not_overdue_at,
                )
            )
        no_due_last = case((tasks.c.due_at.is_(None), 1), else_=0)
        q = q.order_by(no_due_last, tasks.c.due_at, tasks.c.id).limit(limit).offset(offset)
        return [_task(r) for r in self._read(q)]

    def counts(self) -> dict[str, dict[str, int]]:
        """Open and in-progress tasks: kind -> status -> how many (one aggregate)."""
        q = (
            select(tasks.c.kind, tasks.c.status, func.count())
            .where(tasks.c.status.in_(_ACTIVE))
            .group_by(tasks.c.kind, tasks.c.status)
        )
        out: dict[str, dict[str, int]] = {}
        for kind, status, n in self._read(q):
            out.setdefault(kind, {})[status] = int(n)
        return out

    # -- the notification outbox -----------------------------------------------------------

    def outbox_backlog(self) -> int:
        """Notifications not delivered yet, those given up on included (one aggregate)."""
        q = select(func.count()).where(task_notifications.c.delivered_at.is_(None))
        return int(self._read(q)[0][0])

    def claim_due(
        self, now: datetime, lease_until: datetime, max_attempts: int, limit: int
    ) -> builtins.list[TaskNotification]:
        n = task_notifications.c
        pending = and_(n.delivered_at.is_(None), n.attempts < max_attempts)
        claimed: builtins.list[TaskNotification] = []
        try:
            with self.engine.begin() as conn:
                rows = conn.execute(
                    select(task_notifications)
                    .where(pending & (n.next_attempt_at <= now))
                    .order_by(n.id)
                    .limit(limit)
                ).all()
                for row in rows:
                    # Conditional on the time read: a notifier in another process that
                    # claimed the row first moved it, and this one skips it.
                    won = conn.execute(
                        update(task_notifications)
                        .where(
                            pending & (n.id == row.id) & (n.next_attempt_at == row.next_attempt_at)
                        )
                        .values(next_attempt_at=lease_until)
                    ).rowcount
                    if won == 1:
                        claimed.append(_notification(row))
        except SQLAlchemyError as exc:
            raise StorageError(f"outbox read failed: {type(exc).__name__}") from exc
        return claimed

    def mark_delivered(self, notification_id: int, at: datetime) -> None:
        n = task_notifications.c
        self._write(
            update(task_notifications)
            .where(n.id == notification_id)
            .values(delivered_at=at, attempts=n.attempts + 1, last_error=None)
        )

    def mark_failed(self, notification_id: int, error: str, next_attempt_at: datetime) -> None:
        n = task_notifications.c
        self._write(
            update(task_notifications)
            .where(n.id == notification_id)
            .values(
                attempts=n.attempts + 1, last_error=error[:1000], next_attempt_at=next_attempt_at
            )
        )

    def notifications(self, task_id: int | None = None) -> builtins.list[TaskNotification]:
        q = select(task_notifications).order_by(task_notifications.c.id)
        if task_id is not None:
            q = q.where(task_notifications.c.task_id == task_id)
        return [_notification(r) for r in self._read(q)]

    def _write(self, statement: Any) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(statement)
        except SQLAlchemyError as exc:
            raise StorageError(f"outbox write failed: {type(exc).__name__}") from exc
