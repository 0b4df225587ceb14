"""``/screening``: potential sanctions/PEP matches and their resolution, and ``/tasks``:
operational tasks (SLA breaches, failed jobs, alerts, screening hits) and their status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.cases.tasks import TaskKind, TaskStatus
from riskloop.entrypoints.web.forms import Fields, form_fields, query_fields
from riskloop.entrypoints.web.guard import actor
from riskloop.entrypoints.web.render import page
from riskloop.screening.records import HitStatus

PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/screening"): "screening:read",
    ("POST", "/screening/hits/{hit_id}/resolve"): "screening:resolve",
    ("GET", "/tasks"): "tasks:read",
    ("POST", "/tasks/{task_id}/status"): "tasks:work",
}

VERDICTS = {"confirmed": "Confirmed match", "false_positive": "Not a match"}


def _row_id(raw: str, name: str) -> int:
    fields = Fields({name: raw})
    number = fields.integer(name, 1, 2**62, default=0)
    fields.done()
    return number


def add_routes(api: APIRouter, rl: Riskloop) -> None:
    screening, tasks = rl.screening, rl.tasks

    @api.get("/screening", include_in_schema=False)
    async def hits(request: Request) -> Response:
        fields = query_fields(request)
        status = fields.choice("status", [s.value for s in HitStatus]) or "open"
        customer = fields.text("customer_id", 128)
        fields.done()

        def load() -> dict[str, Any]:
            found = screening.hits(status=status, customer_id=customer or None, limit=200)
            return {"hits": found, "lists": screening.versions()}

        context = await run_in_threadpool(load)
        context.update(
            statuses=[s.value for s in HitStatus],
            filters={"status": status, "customer_id": customer},
            verdicts=VERDICTS,
        )
        return page(request, "screening.html", context)

    @api.post("/screening/hits/{hit_id}/resolve", include_in_schema=False)
    async def resolve_hit(request: Request, hit_id: str) -> Response:
        number = _row_id(hit_id, "hit_id")
        fields = await form_fields(request)
        verdict = fields.choice("verdict", tuple(VERDICTS))
        if verdict is None and not fields.errors:
            fields.fail("verdict", "required")
        note = fields.text("note", 2000, required=verdict == "false_positive")
        fields.done()
        who = actor(request)
        done = await run_in_threadpool(
            lambda: screening.resolve(number, str(verdict), actor=who, note=note)
        )
        return page(request, "_hit_row.html", {"h": done, "verdicts": VERDICTS})

    @api.get("/tasks", include_in_schema=False)
    async def task_list(request: Request) -> Response:
        fields = query_fields(request)
        status = fields.choice("status", [s.value for s in TaskStatus])
        kind = fields.choice("kind", [k.value for k in TaskKind])
        overdue = fields.raw("overdue") == "1"
        fields.done()

        def load() -> list[Any]:
            if status is not None:
                return tasks.list(status=status, kind=kind, overdue=overdue or None, limit=200)
            active = [TaskStatus.OPEN.value, TaskStatus.IN_PROGRESS.value]
            found = [
                t
                for s in active
                for t in tasks.list(status=s, kind=kind, overdue=overdue or None, limit=200)
            ]
            far = "9999"  # no due time sorts last
            return sorted(found, key=lambda t: t.due_at.isoformat() if t.due_at else far)

        context = {
            "tasks": await run_in_threadpool(load),
            "now": tasks.clock(),
            "statuses": [s.value for s in TaskStatus],
            "kinds": [k.value for k in TaskKind],
            "filters": {"status": status or "", "kind": kind or "", "overdue": overdue},
        }
        return page(request, "tasks.html", context)

    @api.post("/tasks/{task_id}/status", include_in_schema=False)
    async def task_status(request: Request, task_id: str) -> Response:
        number = _row_id(task_id, "task_id")
        fields = await form_fields(request)
        status = fields.choice("status", [s.value for s in TaskStatus])
        if status is None and not fields.errors:
            fields.fail("status", "required")
        version = fields.integer("version", 1, 2**31 - 1, default=0) or None
        fields.done()
        who = actor(request)
        task = await run_in_threadpool(
            lambda: tasks.update(number, actor=who, status=str(status), expected_version=version)
        )
        return page(request, "_task_row.html", {"t": task, "now": tasks.clock()})
