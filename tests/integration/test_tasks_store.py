"""Tasks in SQL, on SQLite and on PostgreSQL: concurrent raisers of one key make one task,
a stale version is a conflict, each task comes with its outbox row and audit entry in the
same transaction, and the outbox is claimed by one notifier at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from riskloop.adapters.sql import SqlAuditLog, make_engine
from riskloop.adapters.sql.schema import tasks as tasks_table
from riskloop.adapters.sql.tasks import SqlTaskStore
from riskloop.bootstrap import Riskloop
from riskloop.cases.tasks import MemoryTaskStore, Task, TaskService, TaskStatus
from riskloop.errors import ConflictError, NotFound
from riskloop.ledger.audit import verify_chain


def _audit(rl: Riskloop) -> list[Any]:
    return [e for e in SqlAuditLog(rl.engine).iterate() if e.kind == "task"]


def _at_once(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` on ``n`` threads released together; results or raised errors."""
    gate = threading.Barrier(n)

    def run(i: int) -> Any:
        gate.wait()
        try:
            return work(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_a_task_is_stored_with_its_outbox_row_and_audit_entry(any_rl: Riskloop) -> None:
    task = any_rl.tasks.raise_task(
        "screening_hit",
        "Customer matched a sanctions list",
        key="screen:cus-1",
        detail={"list": "ofac", "score": 0.93},
        actor="screening",
    )
    store = SqlTaskStore(any_rl.engine)
    assert any_rl.tasks.get(task.id or 0) == task
    [note] = store.notifications(task.id)
    assert (note.event, note.attempts, note.delivered_at) == ("created", 0, None)
    assert note.next_attempt_at == task.updated_at
    [entry] = _audit(any_rl)
    assert (entry.action, entry.key, entry.actor) == ("task.create", str(task.id), "screening")
    assert entry.detail["task"]["key"] == "screen:cus-1"
    assert verify_chain(SqlAuditLog(any_rl.engine).iterate())[1] is None


def test_concurrent_raisers_of_one_key_make_exactly_one_task(any_rl: Riskloop) -> None:
    """Two "processes" (separate engines and pools), eight threads, one key."""
    other = make_engine(any_rl.settings.database_url.get())
    services = [any_rl.tasks, TaskService(SqlTaskStore(other))]
    try:
        results = _at_once(
            8,
            lambda i: services[i % 2].raise_task(
                "alert", "Disk full", key="alert:abc", actor=f"w{i}"
            ),
        )
    finally:
        other.dispose()
    assert all(isinstance(r, Task) for r in results), results
    assert {r.id for r in results} == {results[0].id}
    assert sorted(r.occurrences for r in results) == list(range(1, 9))
    [task] = any_rl.tasks.list()
    assert task.occurrences == 8 and task.version == 8
    assert len(SqlTaskStore(any_rl.engine).notifications()) == 1
    actions = [e.action for e in _audit(any_rl)]
    assert actions == ["task.create"] + ["task.repeat"] * 7
    assert verify_chain(SqlAuditLog(any_rl.engine).iterate())[1] is None


def test_the_database_allows_one_active_task_per_key(any_rl: Riskloop) -> None:
    task = any_rl.tasks.raise_task("alert", "x", key="alert:dup", actor="a")
    row = {
        "kind": "alert",
        "title": "x",
        "detail": {},
        "status": "in_progress",
        "key": "alert:dup",
        "created_at": task.created_at,
        "updated_at": task.created_at,
        "created_by": "a",
        "occurrences": 1,
        "version": 1,
        "notes": [],
    }
    with pytest.raises(IntegrityError), any_rl.engine.begin() as conn:
        conn.execute(insert(tasks_table), row)
    with any_rl.engine.begin() as conn:  # a closed one with the same key is fine
        conn.execute(insert(tasks_table), {**row, "status": "done"})


def test_a_stale_expected_version_is_a_conflict(any_rl: Riskloop) -> None:
    task = any_rl.tasks.raise_task("job_failure", "Job failed", key="job:x", actor="cron")
    any_rl.tasks.update(task.id or 0, actor="ana", owner="ana", expected_version=1)
    with pytest.raises(ConflictError) as caught:
        any_rl.tasks.update(task.id or 0, actor="bob", status="done", expected_version=1)
    assert caught.value.kind == "task"
    stored = any_rl.tasks.get(task.id or 0)
    assert (stored.owner, stored.status, stored.version) == ("ana", TaskStatus.OPEN, 2)


def test_of_concurrent_updates_from_one_version_exactly_one_wins(any_rl: Riskloop) -> None:
    task = any_rl.tasks.raise_task("alert", "x", key="alert:race", actor="a")
    results = _at_once(
        6,
        lambda i: any_rl.tasks.update(
            task.id or 0, actor=f"u{i}", owner=f"u{i}", expected_version=1
        ),
    )
    won = [r for r in results if isinstance(r, Task)]
    assert len(won) == 1
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, Task))
    assert any_rl.tasks.get(task.id or 0).owner == won[0].owner


def test_updates_notes_and_reopen_round_trip(any_rl: Riskloop) -> None:
    due = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)
    task = any_rl.tasks.raise_task("manual", "Rotate keys", key="m:1", actor="ana")
    assert task.due_at is None
    task = any_rl.tasks.update(task.id or 0, actor="ana", status="in_progress", due_at=due)
    task = any_rl.tasks.update(task.id or 0, actor="ana", note="done in staging")
    task = any_rl.tasks.update(task.id or 0, actor="ana", status="done")
    task = any_rl.tasks.update(task.id or 0, actor="bob", status="open", note="prod too")
    stored = any_rl.tasks.get(task.id or 0)
    assert stored == task
    assert (stored.owner, stored.due_at, stored.version) == ("ana", due, 5)
    assert [n.text for n in stored.notes] == ["done in staging", "prod too"]
    events = [n.event for n in SqlTaskStore(any_rl.engine).notifications(task.id)]
    assert events == ["created", "reopened"]
    actions = [e.action for e in _audit(any_rl)]
    assert actions == ["task.create", "task.update", "task.update", "task.update", "task.reopen"]


def test_a_refused_change_writes_nothing(any_rl: Riskloop) -> None:
    first = any_rl.tasks.raise_task("alert", "x", key="alert:k", actor="a")
    any_rl.tasks.update(first.id or 0, actor="a", status="done")
    any_rl.tasks.raise_task("alert", "x", key="alert:k", actor="a")
    before = len(_audit(any_rl))
    with pytest.raises(ConflictError):
        any_rl.tasks.update(first.id or 0, actor="a", status="open")
    with pytest.raises(NotFound):
        any_rl.tasks.update(10_000, actor="a", note="x")
    assert len(_audit(any_rl)) == before
    assert any_rl.tasks.get(first.id or 0).status is TaskStatus.DONE


def test_sql_lists_like_the_in_memory_store(any_rl: Riskloop) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    sql = TaskService(SqlTaskStore(any_rl.engine), clock=lambda: now[0])
    memory = TaskService(MemoryTaskStore(), clock=lambda: now[0])
    for svc in (sql, memory):
        svc.raise_task("job_failure", "a", key="a", actor="x")
        svc.raise_task("alert", "b", key="b", actor="x", owner="ana")
        svc.raise_task("manual", "c", key="c", actor="x")
        svc.raise_task("alert", "d", key="d", actor="x", due_at=now[0] - timedelta(hours=1))
        svc.update(4, actor="x", status="dismissed")
    now[0] += timedelta(hours=5)
    queries: list[dict[str, Any]] = [
        {},
        {"overdue": True},
        {"overdue": False},
        {"kind": "alert"},
        {"owner": "ana"},
        {"status": "dismissed"},
        {"limit": 2, "offset": 1},
    ]
    for q in queries:
        assert [t.id for t in sql.list(**q)] == [t.id for t in memory.list(**q)], q
    assert [t.id for t in sql.list(overdue=True)] == [2]


def test_the_outbox_is_claimed_by_one_notifier_at_a_time(any_rl: Riskloop) -> None:
    task = any_rl.tasks.raise_task("alert", "x", key="alert:o", actor="a")
    store = SqlTaskStore(any_rl.engine)
    now = task.updated_at + timedelta(seconds=1)
    lease = now + timedelta(minutes=2)
    claims = _at_once(4, lambda _i: store.claim_due(now, lease, 8, 10))
    assert sorted(len(c) for c in claims) == [0, 0, 0, 1]
    [note] = next(c for c in claims if c)
    assert store.claim_due(now, lease, 8, 10) == []  # leased
    store.mark_failed(note.id, "HTTP 500", now + timedelta(seconds=2))
    [failed] = store.notifications(task.id)
    assert (failed.attempts, failed.last_error, failed.delivered_at) == (1, "HTTP 500", None)
    assert store.claim_due(now + timedelta(seconds=2), lease, 8, 10) != []
    store.mark_delivered(note.id, now + timedelta(seconds=3))
    [done] = store.notifications(task.id)
    assert done.attempts == 2 and done.delivered_at is not None and done.last_error is None
    assert store.claim_due(now + timedelta(days=1), lease, 8, 10) == []


def test_an_exhausted_notification_is_no_longer_claimed(any_rl: Riskloop) -> None:
    task = any_rl.tasks.raise_task("alert", "x", key="alert:e", actor="a")
    store = SqlTaskStore(any_rl.engine)
    [note] = store.notifications(task.id)
    for _ in range(3):
        store.mark_failed(note.id, "HTTP 500", task.updated_at)
    later = task.updated_at + timedelta(days=1)
    assert store.claim_due(later, later, 3, 10) == []
    assert len(store.claim_due(later, later, 4, 10)) == 1
