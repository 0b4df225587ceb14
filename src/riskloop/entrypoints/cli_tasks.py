"""``riskloop tasks ...``: operational tasks (alerts, failed jobs, screening hits) from the
command line — list, raise, show, update, close. Bad input exits 2 with the field named;
a refusal (no such task, a conflicting change) exits 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from riskloop.cases.tasks import UNCHANGED, Task, Unchanged, parse_kind, unique_key
from riskloop.entrypoints.cli_catalog import _default_author, _print_errors, refusals
from riskloop.entrypoints.cli_common import app_or_exit, out
from riskloop.errors import FieldError, InvalidDefinition, InvalidInput
from riskloop.features.definitions import parse_duration

tasks_app = typer.Typer(
    no_args_is_help=True, help="Operational tasks: alerts, failed jobs, screening hits."
)

TaskId = Annotated[int, typer.Argument(min=1, max=2**62, help="the task's id")]
Actor = Annotated[str, typer.Option(help="who makes the change (default: your user name)")]
Due = Annotated[
    str | None,
    typer.Option(help="when it is due: a time (2026-05-01T12:00Z; UTC if no zone) or 4h, 2d"),
]


@contextmanager
def _refusals() -> Iterator[None]:
    """Bad input: every problem, exit 2; any other refusal: its reason, exit 1."""
    with refusals("refused"):
        try:
            yield
        except InvalidInput as exc:
            _print_errors(exc.errors)
            raise typer.Exit(2) from None


def _due(raw: str, now: datetime) -> datetime:
    """``4h``/``2d`` from now, or an ISO 8601 time (UTC when it names no zone)."""
    try:
        return now + timedelta(seconds=parse_duration(raw, "--due"))
    except (InvalidDefinition, ValueError, OverflowError):
        pass  # not a duration: a time, then
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            [FieldError("--due", "a time like 2026-05-01T12:00Z, or a duration like 4h or 2d")]
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _show(task: Task, now: datetime) -> None:
    out.print(
        f"[bold]#{task.id}[/bold] {task.kind} [bold]{task.status}[/bold]"
        f"{' [red]overdue[/red]' if task.overdue(now) else ''}: {task.title}",
        highlight=False,
    )
    out.print(f"  key: {task.key}   occurrences: {task.occurrences}   version: {task.version}")
    out.print(
        f"  owner: {task.owner or '-'}   due: {task.due_at.isoformat() if task.due_at else '-'}"
    )
    out.print(f"  runbook: {task.runbook_url or '-'}")
    out.print(f"  raised by {task.created_by} at {task.created_at.isoformat()}")
    if task.detail:
        out.print(f"  detail: {json.dumps(task.detail, sort_keys=True)}", highlight=False)
    for note in task.notes:
        out.print(f"  - {note.at.isoformat()} {note.actor}: {note.text}", highlight=False)


@tasks_app.command("list")
def tasks_list(
    status: Annotated[str | None, typer.Option(help="open, in_progress, done, dismissed")] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str | None, typer.Option(help="alert, job_failure, screening_hit, ...")] = None,
    overdue: Annotated[
        bool | None, typer.Option("--overdue/--not-overdue", help="only (or no) overdue tasks")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines")] = False,
) -> None:
    """Tasks matching every filter given, the soonest due first."""
    rl = app_or_exit()
    try:
        with _refusals():
            found = rl.tasks.list(
                status=status, owner=owner, kind=kind, overdue=overdue, limit=limit
            )
        now = rl.tasks.clock()
    finally:
        rl.close()
    if as_json:
        for task in found:
            out.print_json(json.dumps(task.as_dict(now)))
        return
    table = Table("id", "kind", "status", "owner", "due", "seen", "title")
    for t in found:
        due = t.due_at.strftime("%Y-%m-%d %H:%M") if t.due_at else "-"
        table.add_row(
            str(t.id),
            t.kind,
            t.status,
            t.owner or "-",
            f"[red]{due}[/red]" if t.overdue(now) else due,
            str(t.occurrences),
            t.title,
        )
    out.print(table)


@tasks_app.command("add")
def tasks_add(
    kind: Annotated[str, typer.Argument(help="alert, job_failure, screening_hit, ..., manual")],
    title: Annotated[str, typer.Argument()],
    key: Annotated[
        str | None, typer.Option(help="dedupe key: raising it again while open adds a count")
    ] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    due: Due = None,
    runbook: Annotated[str | None, typer.Option(help="an http(s) link")] = None,
    actor: Actor = "",
) -> None:
    """Raise a task (or count one more occurrence of the open one with this key)."""
    rl = app_or_exit()
    try:
        with _refusals():
            now = rl.tasks.clock()
            task = rl.tasks.raise_task(
                kind,
                title,
                key=key if key is not None else unique_key(parse_kind(kind)),
                owner=owner,
                due_at=_due(due, now) if due is not None else None,
                runbook_url=runbook,
                actor=actor or _default_author(),
            )
    finally:
        rl.close()
    seen = "" if task.occurrences == 1 else f" (seen {task.occurrences} times)"
    out.print(f"task #{task.id} {task.status}{seen}: {task.title}", highlight=False)


@tasks_app.command("show")
def tasks_show(task_id: TaskId) -> None:
    """One task with its notes."""
    rl = app_or_exit()
    try:
        with _refusals():
            task = rl.tasks.get(task_id)
        now = rl.tasks.clock()
    finally:
        rl.close()
    _show(task, now)


@tasks_app.command("update")
def tasks_update(
    task_id: TaskId,
    owner: Annotated[str | None, typer.Option(help="new owner; '-' to unassign")] = None,
    status: Annotated[str | None, typer.Option(help="in_progress, done, dismissed, open")] = None,
    due: Annotated[
        str | None, typer.Option(help="a time, a duration (4h), or '-' to clear")
    ] = None,
    note: Annotated[str | None, typer.Option(help="add a note")] = None,
    expected_version: Annotated[
        int | None, typer.Option(min=1, help="refuse if someone changed it since this version")
    ] = None,
    actor: Actor = "",
) -> None:
    """Change owner, status or due time, and/or add a note."""
    rl = app_or_exit()
    try:
        with _refusals():
            now = rl.tasks.clock()
            new_owner: str | Unchanged | None = UNCHANGED
            if owner is not None:
                new_owner = None if owner == "-" else owner
            new_due: datetime | Unchanged | None = UNCHANGED
            if due is not None:
                new_due = None if due == "-" else _due(due, now)
            task = rl.tasks.update(
                task_id,
                actor=actor or _default_author(),
                expected_version=expected_version,
                owner=new_owner,
                status=status if status is not None else UNCHANGED,
                due_at=new_due,
                note=note,
            )
    finally:
        rl.close()
    _show(task, now)


@tasks_app.command("done")
def tasks_done(
    task_id: TaskId,
    note: Annotated[str | None, typer.Option(help="what was done")] = None,
    actor: Actor = "",
) -> None:
    """Close a task as done."""
    rl = app_or_exit()
    try:
        with _refusals():
            task = rl.tasks.update(
                task_id, actor=actor or _default_author(), status="done", note=note
            )
    finally:
        rl.close()
    out.print(f"task #{task.id} done: {task.title}", highlight=False)
