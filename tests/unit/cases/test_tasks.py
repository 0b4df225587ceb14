"""Tasks as a domain: what a valid task is, how status may move, that raising the same key
twice counts occurrences on one task, and the per-kind defaults (due time, runbook)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from riskloop.cases.tasks import (
    DEFAULT_DUE,
    RUNBOOK_ANCHORS,
    MemoryTaskStore,
    Task,
    TaskKind,
    TaskService,
    TaskStatus,
)
from riskloop.errors import ConflictError, InvalidInput, NotFound
from riskloop.service.jobs import job_guard

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryTaskStore:
    return MemoryTaskStore()


@pytest.fixture
def tasks(store: MemoryTaskStore, clock: Clock) -> TaskService:
    return TaskService(store, clock)


def _raise(tasks: TaskService, key: str = "job:train", **kw: Any) -> Task:
    args: dict[str, Any] = {"kind": "job_failure", "title": "Job 'train' failed", "actor": "cron"}
    args.update(kw)
    kind, title = args.pop("kind"), args.pop("title")
    return tasks.raise_task(kind, title, key=key, **args)


# -- raising and dedupe ---------------------------------------------------------------------


def test_raising_a_new_key_opens_a_task_with_the_kinds_defaults(tasks: TaskService) -> None:
    task = _raise(tasks)
    assert task.id == 1 and task.status is TaskStatus.OPEN and task.occurrences == 1
    assert task.due_at == T0 + timedelta(hours=24)
    assert task.runbook_url == "docs/runbooks.md#job-failure"
    assert task.created_by == "cron" and task.version == 1 and task.owner is None


@pytest.mark.parametrize("kind", list(TaskKind))
def test_every_kind_has_a_default_due_time_and_runbook(tasks: TaskService, kind: TaskKind) -> None:
    task = tasks.raise_task(kind.value, "something", key=f"k:{kind}", actor="a")
    due = DEFAULT_DUE[kind]
    assert task.due_at == (T0 + due if due is not None else None)
    assert task.runbook_url == f"docs/runbooks.md#{RUNBOOK_ANCHORS[kind]}"


def test_alerts_and_sla_breaches_are_due_sooner_than_failed_jobs() -> None:
    assert DEFAULT_DUE[TaskKind.ALERT] == DEFAULT_DUE[TaskKind.SLA_BREACH] == timedelta(hours=4)
    assert DEFAULT_DUE[TaskKind.SCREENING_HIT] == timedelta(hours=24)


def test_the_runbook_base_can_point_at_a_published_copy(store: MemoryTaskStore) -> None:
    tasks = TaskService(store, runbooks="https://wiki.example.com/runbooks")
    task = tasks.raise_task("alert", "x", key="a", actor="a")
    assert task.runbook_url == "https://wiki.example.com/runbooks#alert"


def test_given_due_time_and_runbook_win_over_the_defaults(tasks: TaskService) -> None:
    due = datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    task = _raise(tasks, due_at=due, runbook_url="https://runbooks.example.com/train")
    assert task.due_at == due and task.due_at.tzinfo is UTC
    assert task.runbook_url == "https://runbooks.example.com/train"


def test_raising_an_open_key_again_counts_an_occurrence_instead_of_a_new_task(
    tasks: TaskService, store: MemoryTaskStore, clock: Clock
) -> None:
    first = _raise(tasks, detail={"run": 1}, owner="ana")
    clock.now += timedelta(hours=1)
    again = _raise(tasks, detail={"run": 2}, owner="bob")
    assert again.id == first.id and again.occurrences == 2 and again.version == 2
    assert again.detail == {"run": 2}  # the latest facts
    assert again.owner == "ana" and again.due_at == first.due_at  # the rest stays
    assert again.updated_at == clock.now
    assert len(tasks.list()) == 1
    assert len(store.notifications()) == 1  # a repeat does not notify again
    assert [e.action for e in store.audit] == ["task.create", "task.repeat"]


def test_a_key_in_progress_also_dedupes(tasks: TaskService) -> None:
    task = _raise(tasks)
    tasks.update(task.id or 0, actor="ana", status="in_progress")
    assert _raise(tasks).occurrences == 2


def test_a_key_whose_task_is_closed_opens_a_new_task(
    tasks: TaskService, store: MemoryTaskStore
) -> None:
    first = _raise(tasks)
    tasks.update(first.id or 0, actor="ana", status="done")
    second = _raise(tasks)
    assert second.id != first.id and second.occurrences == 1
    assert [n.event for n in store.notifications()] == ["created", "created"]


def test_card_numbers_and_emails_never_reach_a_task(tasks: TaskService) -> None:
    task = _raise(
        tasks,
        title="refund for 4111 1111 1111 1111 failed",
        detail={
            "message": "card 4111111111111111 of jo@example.com",
            "n": [{"pan": "5555555555554444"}],
        },
    )
    assert "4111 1111 1111 1111" not in task.title and "1111" in task.title
    text = str(task.detail)
    assert "4111111111111111" not in text and "5555555555554444" not in text
    assert "jo@example.com" not in text


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "fire"}, "kind"),
        ({"kind": 3}, "kind"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "bell\x07"}, "title"),
        ({"key": ""}, "key"),
        ({"key": "k" * 201}, "key"),
        ({"owner": ""}, "owner"),
        ({"owner": "o" * 101}, "owner"),
        ({"actor": ""}, "actor"),
        ({"actor": "a" * 101}, "actor"),
        ({"runbook_url": "ftp://example.com/x"}, "runbook_url"),
        ({"runbook_url": "javascript:alert(1)"}, "runbook_url"),
        ({"runbook_url": "https://"}, "runbook_url"),
        ({"runbook_url": "https://exa mple.com"}, "runbook_url"),
        ({"runbook_url": "docs/runbooks.md"}, "runbook_url"),
        ({"due_at": datetime(2026, 3, 2)}, "due_at"),
        ({"due_at": "2026-03-02T00:00:00Z"}, "due_at"),
        ({"due_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))}, "due_at"),
        ({"detail": ["not", "an", "object"]}, "detail"),
        ({"detail": {1: "int key"}}, "detail"),
        ({"detail": {"x": float("nan")}}, "detail"),
        ({"detail": {"x": object()}}, "detail"),
        ({"detail": {"x": "nul\x00"}}, "detail"),
        ({"detail": {"x": 2**70}}, "detail"),
        ({"detail": {"x": "y" * 20_000}}, "detail"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    tasks: TaskService, store: MemoryTaskStore, change: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"kind": "alert", "title": "t", "key": "k", "actor": "a"}
    args.update(change)
    kind, title = args.pop("kind"), args.pop("title")
    with pytest.raises(InvalidInput) as caught:
        tasks.raise_task(kind, title, **args)
    assert caught.value.field == field
    assert (
        store.list(
            status=None,
            owner=None,
            kind=None,
            overdue_at=None,
            not_overdue_at=None,
            limit=10,
            offset=0,
        )
        == []
    )


def test_deeply_nested_detail_is_refused(tasks: TaskService) -> None:
    detail: dict[str, Any] = {}
    node = detail
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(InvalidInput, match="detail"):
        _raise(tasks, detail=detail)


def test_candidate_checks_without_storing(tasks: TaskService) -> None:
    task = tasks.candidate("alert", "x", key="k", actor="a")
    assert task.id is None and tasks.list() == []
    with pytest.raises(InvalidInput):
        tasks.candidate("alert", "", key="k", actor="a")


# -- status, owner, due time, notes ---------------------------------------------------------

ALLOWED = [
    ("open", "in_progress"),
    ("open", "done"),
    ("open", "dismissed"),
    ("in_progress", "done"),
    ("in_progress", "dismissed"),
    ("done", "open"),
    ("dismissed", "open"),
]
REFUSED = [
    ("in_progress", "open"),
    ("done", "in_progress"),
    ("done", "dismissed"),
    ("dismissed", "done"),
    ("dismissed", "in_progress"),
]
PATH = {
    "open": [],
    "in_progress": ["in_progress"],
    "done": ["done"],
    "dismissed": ["dismissed"],
}


@pytest.mark.parametrize(("start", "end"), ALLOWED)
def test_allowed_transitions(tasks: TaskService, start: str, end: str) -> None:
    task = _raise(tasks)
    for step in PATH[start]:
        task = tasks.update(task.id or 0, actor="ana", status=step)
    moved = tasks.update(task.id or 0, actor="ana", status=end)
    assert moved.status == end and moved.version == task.version + 1


@pytest.mark.parametrize(("start", "end"), REFUSED)
def test_refused_transitions_name_the_status_field(
    tasks: TaskService, start: str, end: str
) -> None:
    task = _raise(tasks)
    for step in PATH[start]:
        task = tasks.update(task.id or 0, actor="ana", status=step)
    with pytest.raises(InvalidInput) as caught:
        tasks.update(task.id or 0, actor="ana", status=end)
    assert caught.value.field == "status" and f"from {start} to {end}" in caught.value.reason
    assert tasks.get(task.id or 0) == task


def test_starting_work_on_an_unowned_task_makes_the_actor_its_owner(tasks: TaskService) -> None:
    task = tasks.update(_raise(tasks).id or 0, actor="ana", status="in_progress")
    assert task.owner == "ana"
    other = tasks.update(
        _raise(tasks, key="other").id or 0, actor="ana", status="in_progress", owner="bob"
    )
    assert other.owner == "bob"


def test_owner_and_due_time_can_be_set_and_cleared(tasks: TaskService) -> None:
    task = _raise(tasks)
    due = T0 + timedelta(days=5)
    task = tasks.update(task.id or 0, actor="ana", owner="bob", due_at=due)
    assert (task.owner, task.due_at) == ("bob", due)
    task = tasks.update(task.id or 0, actor="ana", owner=None, due_at=None)
    assert (task.owner, task.due_at) == (None, None)


def test_notes_are_kept_in_order_with_who_and_when(tasks: TaskService, clock: Clock) -> None:
    task = _raise(tasks)
    tasks.update(task.id or 0, actor="ana", note="looking")
    clock.now += timedelta(minutes=5)
    task = tasks.update(task.id or 0, actor="bob", note="card 4111111111111111 was the cause")
    assert [(n.actor, n.at) for n in task.notes] == [("ana", T0), ("bob", clock.now)]
    assert "4111111111111111" not in task.notes[1].text


def test_an_update_that_changes_nothing_writes_nothing(
    tasks: TaskService, store: MemoryTaskStore
) -> None:
    task = _raise(tasks, owner="ana")
    same = tasks.update(task.id or 0, actor="ana", owner="ana", status="open")
    assert same == task and len(store.audit) == 1


def test_a_stale_expected_version_is_a_conflict(tasks: TaskService) -> None:
    task = _raise(tasks)
    tasks.update(task.id or 0, actor="ana", owner="ana", expected_version=1)
    with pytest.raises(ConflictError):
        tasks.update(task.id or 0, actor="bob", owner="bob", expected_version=1)
    assert tasks.get(task.id or 0).owner == "ana"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"owner": ""}, "owner"),
        ({"note": ""}, "note"),
        ({"note": "n" * 2001}, "note"),
        ({"due_at": datetime(2026, 1, 1)}, "due_at"),
        ({"expected_version": 0}, "expected_version"),
        ({"expected_version": True}, "expected_version"),
        ({"actor": " "}, "actor"),
    ],
)
def test_bad_updates_are_refused_naming_the_field(
    tasks: TaskService, change: dict[str, Any], field: str
) -> None:
    task = _raise(tasks)
    args: dict[str, Any] = {"actor": "ana"}
    args.update(change)
    with pytest.raises(InvalidInput) as caught:
        tasks.update(task.id or 0, **args)
    assert caught.value.field == field


def test_an_unknown_task_is_not_found(tasks: TaskService) -> None:
    with pytest.raises(NotFound):
        tasks.get(99)
    with pytest.raises(NotFound):
        tasks.update(99, actor="ana", note="x")


def test_reopening_notifies_and_is_audited_as_a_reopen(
    tasks: TaskService, store: MemoryTaskStore
) -> None:
    task = _raise(tasks)
    tasks.update(task.id or 0, actor="ana", status="dismissed")
    tasks.update(task.id or 0, actor="ana", status="open")
    assert [n.event for n in store.notifications()] == ["created", "reopened"]
    assert [e.action for e in store.audit] == ["task.create", "task.update", "task.reopen"]
    assert store.audit[-1].detail["changes"] == {"status": ["dismissed", "open"]}


def test_a_task_cannot_reopen_while_another_with_its_key_is_active(tasks: TaskService) -> None:
    first = _raise(tasks)
    tasks.update(first.id or 0, actor="ana", status="done")
    _raise(tasks)  # the problem came back: a new task
    with pytest.raises(ConflictError):
        tasks.update(first.id or 0, actor="ana", status="open")


# -- overdue and listing --------------------------------------------------------------------


def test_overdue_means_unfinished_past_its_due_time(tasks: TaskService, clock: Clock) -> None:
    task = _raise(tasks)
    assert task.due_at is not None
    assert not task.overdue(task.due_at)
    assert task.overdue(task.due_at + timedelta(seconds=1))
    done = tasks.update(task.id or 0, actor="ana", status="done")
    assert not done.overdue(T0 + timedelta(days=30))
    assert not tasks.raise_task("manual", "no due", key="m", actor="a").overdue(
        T0 + timedelta(days=999)
    )


def test_list_filters_and_orders_by_due_time(tasks: TaskService, clock: Clock) -> None:
    job = _raise(tasks)  # due in 24 h
    alert = tasks.raise_task("alert", "High latency", key="alert:1", actor="am", owner="ana")
    manual = tasks.raise_task("manual", "Rotate keys", key="m", actor="ana")  # no due time
    assert [t.id for t in tasks.list()] == [alert.id, job.id, manual.id]
    assert [t.id for t in tasks.list(kind="alert")] == [alert.id]
    assert [t.id for t in tasks.list(owner="ana")] == [alert.id]
    clock.now += timedelta(hours=5)
    assert [t.id for t in tasks.list(overdue=True)] == [alert.id]
    assert [t.id for t in tasks.list(overdue=False)] == [job.id, manual.id]
    tasks.update(alert.id or 0, actor="ana", status="done")
    assert tasks.list(overdue=True) == []
    assert [t.id for t in tasks.list(status="done")] == [alert.id]
    assert [t.id for t in tasks.list(limit=1, offset=1)] == [job.id]


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"kind": "fire"}, "kind"),
        ({"owner": ""}, "owner"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_bad_filters_are_refused(tasks: TaskService, filters: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        tasks.list(**filters)
    assert caught.value.field == field


def test_as_dict_is_plain_json(tasks: TaskService) -> None:
    doc = _raise(tasks).as_dict(T0)
    assert doc["status"] == "open" and doc["kind"] == "job_failure" and doc["overdue"] is False
    assert doc["due_at"] == "2026-03-02T09:00:00+00:00" and doc["notes"] == []


# -- failed jobs ----------------------------------------------------------------------------


def test_job_guard_leaves_a_task_and_re_raises(tasks: TaskService) -> None:
    with pytest.raises(ValueError, match="bad"), job_guard(tasks, "backfill"):
        raise ValueError("bad card 4111111111111111")
    [task] = tasks.list()
    assert task.kind is TaskKind.JOB_FAILURE and task.key == "job:backfill"
    assert task.title == "Job 'backfill' failed: ValueError"
    assert task.detail == {
        "job": "backfill",
        "error": "ValueError",
        "message": "bad card 411111******1111",
    }


def test_job_guard_does_nothing_when_the_job_succeeds(tasks: TaskService) -> None:
    with job_guard(tasks, "backfill"):
        pass
    with job_guard(None, "backfill"):
        pass
    assert tasks.list() == []


def test_job_guard_re_raises_the_jobs_error_when_the_task_cannot_be_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Down(MemoryTaskStore):
        def raise_task(self, *args: Any) -> Any:
            raise OSError("store down")

    with pytest.raises(KeyError), job_guard(TaskService(Down()), "train"):
        raise KeyError("the job's own error")
    assert "could not raise a task for the failed job train" in caplog.text
