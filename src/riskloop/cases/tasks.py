"""Operational tasks: the things a person must look at that are not review cases — a firing
alert, a failed job, a screening hit, a breached SLA.

Whoever notices something calls :meth:`TaskService.raise_task` with a dedupe ``key`` (say
``job:train``): while a task with that key is open or in progress, raising it again counts one
more occurrence on that task instead of opening another, so a flapping alert or a job failing
every hour is one task, not a hundred. Each task has an owner, a due time (a default per kind)
and a runbook link. Every change is written with an audit entry in the same transaction, and
creating or re-opening a task also queues a notification (an outbox row) that a webhook
notifier delivers.

Status moves ``open → in_progress → done | dismissed``, ``open → done | dismissed``, and
``done | dismissed → open`` (re-open); nothing else.

>>> from datetime import UTC, datetime
>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> tasks = TaskService(MemoryTaskStore(), clock=lambda: now)
>>> t = tasks.raise_task("job_failure", "Job 'train' failed", key="job:train", actor="cron")
>>> (t.id, t.status.value, t.due_at.isoformat(), t.runbook_url)
(1, 'open', '2026-01-02T00:00:00+00:00', 'docs/runbooks.md#job-failure')
>>> tasks.raise_task("job_failure", "Job 'train' failed", key="job:train", actor="cron").occurrences
2
>>> tasks.update(1, actor="ana", status="in_progress").owner
'ana'
"""

from __future__ import annotations

import builtins
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from riskloop.errors import ConflictError, FieldError, InvalidInput, NotFound
from riskloop.ledger.audit import AuditEntry
from riskloop.vault import mask_text


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DISMISSED = "dismissed"


class TaskKind(StrEnum):
    ALERT = "alert"
    JOB_FAILURE = "job_failure"
    SCREENING_HIT = "screening_hit"
    SLA_BREACH = "sla_breach"
    REVIEW = "review"
    MANUAL = "manual"


ACTIVE = frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS})

TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.DISMISSED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.DONE, TaskStatus.DISMISSED}),
    TaskStatus.DONE: frozenset({TaskStatus.OPEN}),
    TaskStatus.DISMISSED: frozenset({TaskStatus.OPEN}),
}

# How long a task of each kind may stay unfinished when the raiser gives no due time.
DEFAULT_DUE: dict[TaskKind, timedelta | None] = {
    TaskKind.ALERT: timedelta(hours=4),
    TaskKind.JOB_FAILURE: timedelta(hours=24),
    TaskKind.SCREENING_HIT: timedelta(hours=24),
    TaskKind.SLA_BREACH: timedelta(hours=4),
    TaskKind.REVIEW: timedelta(days=3),
    TaskKind.MANUAL: None,
}

# The section of ``docs/runbooks.md`` each kind links to when the raiser gives no runbook.
RUNBOOK_ANCHORS: dict[TaskKind, str] = {
    TaskKind.ALERT: "alert",
    TaskKind.JOB_FAILURE: "job-failure",
    TaskKind.SCREENING_HIT: "screening-hit",
    TaskKind.SLA_BREACH: "sla-breach",
    TaskKind.REVIEW: "review",
    TaskKind.MANUAL: "manual",
}

MAX_NOTES = 200  # the oldest notes give way; the audit log keeps every one
MAX_DETAIL_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class TaskNote:
    at: datetime
    actor: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actor": self.actor, "text": self.text}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TaskNote:
        return cls(datetime.fromisoformat(d["at"]), d["actor"], d["text"])


@dataclass(frozen=True, slots=True)
class Task:
    kind: TaskKind
    title: str
    key: str
    status: TaskStatus
    created_at: datetime
    updated_at: datetime
    created_by: str
    detail: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    due_at: datetime | None = None
    runbook_url: str | None = None
    occurrences: int = 1
    version: int = 1
    notes: tuple[TaskNote, ...] = ()
    id: int | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def overdue(self, now: datetime) -> bool:
        """Unfinished past its due time."""
        return self.active and self.due_at is not None and self.due_at < now

    def seen_again(self, now: datetime, detail: dict[str, Any]) -> Task:
        """The same problem raised once more: one more occurrence, the latest detail."""
        return replace(
            self,
            occurrences=self.occurrences + 1,
            detail=detail,
            updated_at=now,
            version=self.version + 1,
        )

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind.value,
            "title": self.title,
            "key": self.key,
            "status": self.status.value,
            "owner": self.owner,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "runbook_url": self.runbook_url,
            "detail": self.detail,
            "occurrences": self.occurrences,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "created_by": self.created_by,
            "notes": [n.as_dict() for n in self.notes],
        }
        if now is not None:
            out["overdue"] = self.overdue(now)
        return out


@dataclass(frozen=True, slots=True)
class TaskNotification:
    """One row of the outbox: tell the outside world a task was opened or re-opened."""

    id: int
    task_id: int
    event: str  # "created" or "reopened"
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None


class TaskStore(Protocol):
    """Where tasks live. Fails closed: a store error is a ``StorageError`` and nothing is
    changed. Each write commits the task, its audit entry and (for a new or re-opened task) a
    notification together."""

    def raise_task(
        self, candidate: Task, audit: Callable[[Task | None, Task], AuditEntry]
    ) -> tuple[Task, bool]:
        """Store ``candidate``, unless an active task has its key: then that task
        ``seen_again``. Returns the stored task and whether it is new."""
        ...

    def update(
        self,
        task_id: int,
        change: Callable[[Task], Task],
        audit: Callable[[Task | None, Task], AuditEntry],
    ) -> Task:
        """Apply ``change`` to the current task inside the transaction (``NotFound`` if
        there is none); a change that returns the task unchanged writes nothing."""
        ...

    def get(self, task_id: int) -> Task | None: ...

    def active(self, key: str) -> Task | None: ...

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
    ) -> builtins.list[Task]: ...


class NotificationOutbox(Protocol):
    """The outbox a notifier drains (at least once; a failed delivery never touches the
    task)."""

    def claim_due(
        self, now: datetime, lease_until: datetime, max_attempts: int, limit: int
    ) -> builtins.list[TaskNotification]:
        """Pending notifications due at ``now``, each leased until ``lease_until`` so that
        another process's notifier skips them meanwhile."""
        ...

    def get(self, task_id: int) -> Task | None: ...

    def mark_delivered(self, notification_id: int, at: datetime) -> None: ...

    def mark_failed(self, notification_id: int, error: str, next_attempt_at: datetime) -> None: ...


class Unchanged(Enum):
    """Marks an update argument that was not given (``None`` means "clear it")."""

    TOKEN = 0


UNCHANGED = Unchanged.TOKEN

# -- validation ------------------------------------------------------------------------------


def _text(name: str, value: object, lo: int, hi: int) -> str:
    if not isinstance(value, str) or not lo <= len(value.strip()) <= hi:
        raise InvalidInput([FieldError(name, f"must be text of {lo} to {hi} characters")])
    text = value.strip()
    if any(ord(c) < 32 and c not in "\t\n" for c in text):
        raise InvalidInput([FieldError(name, "must not contain control characters")])
    return text


def parse_kind(value: object, name: str = "kind") -> TaskKind:
    if isinstance(value, str) and value in TaskKind.__members__.values():
        return TaskKind(value)
    raise InvalidInput([FieldError(name, f"one of {', '.join(TaskKind)}")])


def parse_status(value: object, name: str = "status") -> TaskStatus:
    if isinstance(value, str) and value in TaskStatus.__members__.values():
        return TaskStatus(value)
    raise InvalidInput([FieldError(name, f"one of {', '.join(TaskStatus)}")])


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput([FieldError(name, "must be a date and time")])
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput([FieldError(name, "must carry a timezone")])
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput([FieldError(name, "out of range")]) from None


def _runbook(value: object) -> str:
    url = _text("runbook_url", value, 1, 2000)
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput([FieldError("runbook_url", "must be an http:// or https:// URL")])
    if any(c.isspace() for c in url):
        raise InvalidInput([FieldError("runbook_url", "must not contain spaces")])
    return url


_MAX_DEPTH = 16


def _masked(value: Any, depth: int = 0) -> Any:
    """A JSON value with card numbers and e-mail addresses masked in every string."""
    if depth > _MAX_DEPTH:
        raise InvalidInput([FieldError("detail", f"nested at most {_MAX_DEPTH} levels deep")])
    if isinstance(value, str):
        if "\x00" in value:  # PostgreSQL cannot store it in JSON
            raise InvalidInput([FieldError("detail", "must not contain NUL characters")])
        return mask_text(value)
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise InvalidInput([FieldError("detail", "must be an object with text keys")])
        return {_masked(k, depth): _masked(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        raise InvalidInput([FieldError("detail", "integers must fit in 64 bits")])
    if value is None or isinstance(value, bool | int | float):
        return value
    raise InvalidInput([FieldError("detail", "must hold JSON values only")])


def _detail(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput([FieldError("detail", "must be an object with text keys")])
    masked: dict[str, Any] = _masked(value)
    try:
        raw = json.dumps(masked, allow_nan=False)
    except ValueError:
        raise InvalidInput([FieldError("detail", "must hold finite numbers only")]) from None
    if len(raw.encode()) > MAX_DETAIL_BYTES:
        raise InvalidInput([FieldError("detail", f"at most {MAX_DETAIL_BYTES} bytes as JSON")])
    return masked


def _owner(value: object) -> str | None:
    return None if value is None else _text("owner", value, 1, 100)


def unique_key(kind: TaskKind) -> str:
    """A key no other task has, for a task that should never be merged with another."""
    return f"{kind.value}:{uuid.uuid4().hex}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TaskService:
    """Raise, list and work tasks. ``runbooks`` is where the default runbook links point
    (the repository's ``docs/runbooks.md``, or wherever an operator publishes it)."""

    def __init__(
        self,
        store: TaskStore,
        clock: Callable[[], datetime] = _utcnow,
        *,
        runbooks: str = "docs/runbooks.md",
    ) -> None:
        self.store = store
        self.clock = clock
        self.runbooks = runbooks

    def default_runbook(self, kind: TaskKind) -> str:
        return f"{self.runbooks}#{RUNBOOK_ANCHORS[kind]}"

    def _audit(self, actor: str, action: str, target: Task, **detail: Any) -> AuditEntry:
        return AuditEntry(actor, action, "task", str(target.id), detail, self.clock())

    def raise_task(
        self,
        kind: str,
        title: str,
        *,
        key: str,
        detail: Mapping[str, Any] | None = None,
        owner: str | None = None,
        due_at: datetime | None = None,
        runbook_url: str | None = None,
        actor: str,
    ) -> Task:
        """Open a task, or count one more occurrence of the active task with this ``key``
        (its owner, due time and runbook stay; its detail becomes the latest)."""
        candidate = self.candidate(
            kind,
            title,
            key=key,
            detail=detail,
            owner=owner,
            due_at=due_at,
            runbook_url=runbook_url,
            actor=actor,
        )

        def audit(before: Task | None, after: Task) -> AuditEntry:
            if before is None:
                return self._audit(candidate.created_by, "task.create", after, task=after.as_dict())
            return self._audit(
                candidate.created_by,
                "task.repeat",
                after,
                key=after.key,
                occurrences=after.occurrences,
                detail=after.detail,
            )

        task, _created = self.store.raise_task(candidate, audit)
        return task

    def candidate(
        self,
        kind: str,
        title: str,
        *,
        key: str,
        detail: Mapping[str, Any] | None = None,
        owner: str | None = None,
        due_at: datetime | None = None,
        runbook_url: str | None = None,
        actor: str,
    ) -> Task:
        """The new task :meth:`raise_task` would store, checked (``InvalidInput`` naming the
        field), without storing it: lets a caller check a batch before raising any of it."""
        now = self.clock()
        task_kind = parse_kind(kind)
        default_due = DEFAULT_DUE[task_kind]
        return Task(
            kind=task_kind,
            title=mask_text(_text("title", title, 1, 200)),
            key=_text("key", key, 1, 200),
            status=TaskStatus.OPEN,
            created_at=now,
            updated_at=now,
            created_by=_text("actor", actor, 1, 100),
            detail=_detail(detail),
            owner=_owner(owner),
            due_at=(
                _aware("due_at", due_at)
                if due_at is not None
                else (now + default_due if default_due is not None else None)
            ),
            runbook_url=(
                _runbook(runbook_url)
                if runbook_url is not None
                else self.default_runbook(task_kind)
            ),
        )

    def get(self, task_id: int) -> Task:
        task = self.store.get(task_id)
        if task is None:
            raise NotFound("task", str(task_id))
        return task

    def find_active(self, key: str) -> Task | None:
        """The open or in-progress task with this key, if any."""
        return self.store.active(_text("key", key, 1, 200))

    def list(
        self,
        *,
        status: str | None = None,
        owner: str | None = None,
        kind: str | None = None,
        overdue: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[Task]:
        """Tasks matching every filter given, the soonest due first (no due time last)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidInput([FieldError("limit", "an integer from 1 to 1000")])
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidInput([FieldError("offset", "an integer of 0 or more")])
        now = self.clock()
        return self.store.list(
            status=parse_status(status) if status is not None else None,
            owner=_owner(owner),
            kind=parse_kind(kind) if kind is not None else None,
            overdue_at=now if overdue is True else None,
            not_overdue_at=now if overdue is False else None,
            limit=limit,
            offset=offset,
        )

    def update(
        self,
        task_id: int,
        *,
        actor: str,
        expected_version: int | None = None,
        owner: str | Unchanged | None = UNCHANGED,
        status: str | Unchanged = UNCHANGED,
        due_at: datetime | Unchanged | None = UNCHANGED,
        note: str | None = None,
    ) -> Task:
        """Change owner, status or due time, and/or add a note. ``expected_version`` (the
        version the caller last read) makes a concurrent change a ``ConflictError``.
        Starting work on a task nobody owns makes the actor its owner. An update that changes
        nothing writes nothing."""
        who = _text("actor", actor, 1, 100)
        if expected_version is not None and (
            isinstance(expected_version, bool)
            or not isinstance(expected_version, int)
            or expected_version < 1
        ):
            raise InvalidInput([FieldError("expected_version", "a version number (1 or more)")])
        new_owner = owner if isinstance(owner, Unchanged) else _owner(owner)
        new_status = status if isinstance(status, Unchanged) else parse_status(status)
        new_due = (
            due_at if isinstance(due_at, Unchanged) or due_at is None else _aware("due_at", due_at)
        )
        text = None if note is None else mask_text(_text("note", note, 1, 2000))

        def change(current: Task) -> Task:
            if expected_version is not None and current.version != expected_version:
                raise ConflictError(
                    "task",
                    str(task_id),
                    f"changed meanwhile (version {current.version}, not {expected_version}); "
                    "reload",
                )
            task = current
            if not isinstance(new_status, Unchanged) and new_status != current.status:
                if new_status not in TRANSITIONS[current.status]:
                    raise InvalidInput(
                        [
                            FieldError(
                                "status",
                                f"cannot go from {current.status.value} to {new_status.value}",
                            )
                        ]
                    )
                task = replace(task, status=new_status)
                if new_status is TaskStatus.IN_PROGRESS and task.owner is None:
                    task = replace(task, owner=who)
            if not isinstance(new_owner, Unchanged):
                task = replace(task, owner=new_owner)
            if not isinstance(new_due, Unchanged):
                task = replace(task, due_at=new_due)
            now = self.clock()
            if text is not None:
                notes = (*task.notes, TaskNote(now, who, text))[-MAX_NOTES:]
                task = replace(task, notes=notes)
            if task == current:
                return current
            return replace(task, updated_at=now, version=current.version + 1)

        def audit(before: Task | None, after: Task) -> AuditEntry:
            assert before is not None
            changes = {
                name: [_plain(getattr(before, name)), _plain(getattr(after, name))]
                for name in ("status", "owner", "due_at")
                if getattr(before, name) != getattr(after, name)
            }
            action = "task.reopen" if not before.active and after.active else "task.update"
            return self._audit(
                who, action, after, key=after.key, version=after.version, changes=changes, note=text
            )

        return self.store.update(task_id, change, audit)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


# -- the in-memory store (tests, doctests, a process without a database) ----------------------


class MemoryTaskStore:
    """A :class:`TaskStore` and :class:`NotificationOutbox` in a dict, under a lock."""

    def __init__(self) -> None:
        self._tasks: dict[int, Task] = {}
        self._outbox: dict[int, TaskNotification] = {}
        self.audit: builtins.list[AuditEntry] = []
        self._lock = threading.Lock()

    def _notify(self, task: Task, event: str) -> None:
        assert task.id is not None
        n = len(self._outbox) + 1
        self._outbox[n] = TaskNotification(n, task.id, event, task.updated_at, 0, task.updated_at)

    def raise_task(
        self, candidate: Task, audit: Callable[[Task | None, Task], AuditEntry]
    ) -> tuple[Task, bool]:
        with self._lock:
            existing = self._active(candidate.key)
            if existing is not None:
                task = existing.seen_again(candidate.updated_at, candidate.detail)
                self._tasks[existing.id or 0] = task
                self.audit.append(audit(existing, task))
                return task, False
            task = replace(candidate, id=len(self._tasks) + 1)
            self._tasks[task.id or 0] = task
            self._notify(task, "created")
            self.audit.append(audit(None, task))
            return task, True

    def update(
        self,
        task_id: int,
        change: Callable[[Task], Task],
        audit: Callable[[Task | None, Task], AuditEntry],
    ) -> Task:
        with self._lock:
            current = self._tasks.get(task_id)
            if current is None:
                raise NotFound("task", str(task_id))
            task = change(current)
            if task == current:
                return current
            if not current.active and task.active:
                other = self._active(task.key)
                if other is not None:
                    raise ConflictError(
                        "task", str(task_id), f"task {other.id} with the same key is active"
                    )
                self._notify(task, "reopened")
            self._tasks[task_id] = task
            self.audit.append(audit(current, task))
            return task

    def _active(self, key: str) -> Task | None:
        return next((t for t in self._tasks.values() if t.key == key and t.active), None)

    def get(self, task_id: int) -> Task | None:
        return self._tasks.get(task_id)

    def active(self, key: str) -> Task | None:
        with self._lock:
            return self._active(key)

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
        with self._lock:
            found = [
                t
                for t in self._tasks.values()
                if (status is None or t.status is status)
                and (owner is None or t.owner == owner)
                and (kind is None or t.kind is kind)
                and (overdue_at is None or t.overdue(overdue_at))
                and (not_overdue_at is None or not t.overdue(not_overdue_at))
            ]
        found.sort(key=_list_order)
        return found[offset : offset + limit]

    def claim_due(
        self, now: datetime, lease_until: datetime, max_attempts: int, limit: int
    ) -> builtins.list[TaskNotification]:
        with self._lock:
            due = [
                n
                for n in self._outbox.values()
                if n.delivered_at is None and n.attempts < max_attempts and n.next_attempt_at <= now
            ][:limit]
            for n in due:
                self._outbox[n.id] = replace(n, next_attempt_at=lease_until)
            return due

    def mark_delivered(self, notification_id: int, at: datetime) -> None:
        with self._lock:
            n = self._outbox[notification_id]
            self._outbox[notification_id] = replace(n, attempts=n.attempts + 1, delivered_at=at)

    def mark_failed(self, notification_id: int, error: str, next_attempt_at: datetime) -> None:
        with self._lock:
            n = self._outbox[notification_id]
            self._outbox[notification_id] = replace(
                n, attempts=n.attempts + 1, last_error=error, next_attempt_at=next_attempt_at
            )

    def notifications(self) -> builtins.list[TaskNotification]:
        with self._lock:
            return builtins.list(self._outbox.values())


def _list_order(t: Task) -> tuple[bool, datetime, int]:
    far = datetime.max.replace(tzinfo=UTC)
    return (t.due_at is None, t.due_at or far, t.id or 0)
