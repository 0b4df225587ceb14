"""Operational tasks over HTTP: raise one, list and filter, work it (owner, status, due
time, notes), and Prometheus Alertmanager's webhook, which turns firing alerts into tasks.

Alertmanager: each firing alert raises an ``alert`` task keyed ``alert:<fingerprint>``, so the
repeats Alertmanager sends (every ``repeat_interval``) count occurrences on one task. A
resolved alert adds a note to its active task and leaves the status alone: an alert that
stopped firing still needs a person to check why it fired and close the task.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.cases.tasks import (
    UNCHANGED,
    Task,
    TaskKind,
    TaskStatus,
    Unchanged,
    parse_kind,
    unique_key,
)
from riskloop.entrypoints.http.body import documented, json_body, json_object
from riskloop.entrypoints.http.catalog_routes import _only
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import FieldError, InvalidInput

TaskId = Annotated[int, Path(ge=1, le=2**62)]

_ACTOR = {"type": "string", "minLength": 1, "maxLength": 100}
_WHEN = {"type": ["string", "null"], "format": "date-time"}

TASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "title", "actor"],
    "additionalProperties": False,
    "properties": {
        "kind": {"enum": [k.value for k in TaskKind]},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "key": {"type": "string", "minLength": 1, "maxLength": 200},
        "detail": {"type": "object"},
        "owner": {"type": ["string", "null"], "minLength": 1, "maxLength": 100},
        "due_at": _WHEN,
        "runbook_url": {"type": ["string", "null"], "format": "uri", "maxLength": 2000},
        "actor": _ACTOR,
    },
}

UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["actor"],
    "additionalProperties": False,
    "properties": {
        "owner": {"type": ["string", "null"], "minLength": 1, "maxLength": 100},
        "status": {"enum": [s.value for s in TaskStatus]},
        "due_at": _WHEN,
        "note": {"type": "string", "minLength": 1, "maxLength": 2000},
        "expected_version": {"type": "integer", "minimum": 1},
        "actor": _ACTOR,
    },
}

ALERTMANAGER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["alerts"],
    "properties": {
        "version": {"type": "string"},
        "status": {"enum": ["firing", "resolved"]},
        "alerts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["status", "labels", "fingerprint"],
                "properties": {
                    "status": {"enum": ["firing", "resolved"]},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                    "startsAt": {"type": "string"},
                    "endsAt": {"type": "string"},
                    "generatorURL": {"type": "string"},
                    "fingerprint": {"type": "string", "minLength": 1, "maxLength": 64},
                },
            },
        },
    },
}

_MAX_ALERTS = 1000
# Where in an alert each task field came from, for error paths.
_ALERT_FIELDS = {
    "title": "labels.alertname",
    "runbook_url": "annotations.runbook_url",
    "key": "fingerprint",
}


def _str(doc: dict[str, Any], name: str, where: str = "") -> str | None:
    value = doc.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput([FieldError(where + name, "must be a string")])
    return value


def _when(doc: dict[str, Any], name: str) -> datetime | None:
    raw = doc.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidInput([FieldError(name, "an ISO 8601 date and time, e.g. 2026-05-01T12:00Z")])
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            [FieldError(name, "an ISO 8601 date and time, e.g. 2026-05-01T12:00Z")]
        ) from None
    if when.tzinfo is None:
        raise InvalidInput([FieldError(name, "must carry a timezone")])
    return when


def _actor(doc: dict[str, Any]) -> str:
    actor = doc.get("actor")
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 100:
        raise InvalidInput([FieldError("actor", "say who makes the change (1-100 characters)")])
    return actor


def _label_text(alert: dict[str, Any], where: str, name: str) -> dict[str, str]:
    value = alert.get(name, {})
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidInput([FieldError(f"{where}.{name}", "must be an object of strings")])
    return value


def _alerts(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The alerts of an Alertmanager notification, checked before any becomes a task."""
    alerts = doc.get("alerts")
    if not isinstance(alerts, list):
        raise InvalidInput([FieldError("alerts", "must be a list")])
    if len(alerts) > _MAX_ALERTS:
        raise InvalidInput([FieldError("alerts", f"at most {_MAX_ALERTS} alerts")])
    checked = []
    for i, alert in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(alert, dict):
            raise InvalidInput([FieldError(where, "must be an object")])
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise InvalidInput([FieldError(f"{where}.status", "firing or resolved")])
        fingerprint = alert.get("fingerprint")
        if not isinstance(fingerprint, str) or not 1 <= len(fingerprint.strip()) <= 64:
            raise InvalidInput([FieldError(f"{where}.fingerprint", "1 to 64 characters")])
        labels = _label_text(alert, where, "labels")
        annotations = _label_text(alert, where, "annotations")
        for name in ("startsAt", "endsAt", "generatorURL"):
            _str(alert, name, f"{where}.")
        checked.append(
            {
                "status": status,
                "fingerprint": fingerprint.strip(),
                "labels": labels,
                "annotations": annotations,
                "startsAt": alert.get("startsAt"),
                "endsAt": alert.get("endsAt"),
                "where": where,
            }
        )
    return checked


def _alert_title(alert: dict[str, Any]) -> str:
    name = alert["labels"].get("alertname") or "alert"
    summary = alert["annotations"].get("summary")
    title = f"{name}: {summary}" if summary else name
    title = " ".join(title.split())  # no newlines or runs of spaces in a title
    title = "".join(c for c in title if c.isprintable())
    return title[:200].strip() or "alert"


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["tasks"])
    limit = rl.settings.max_body_bytes
    tasks = rl.tasks

    async def body(request: Request) -> dict[str, Any]:
        return json_object(await json_body(request, limit))

    def shown(task: Task) -> dict[str, Any]:
        return task.as_dict(tasks.clock())

    @api.post("/v1/tasks", openapi_extra=documented(TASK_SCHEMA), status_code=201)
    async def raise_task(request: Request) -> Json:
        """Raise a task. With a ``key`` and an open or in-progress task of that key, the
        existing task counts one more occurrence (200) instead of a new one opening (201)."""
        doc = await body(request)
        _only(doc, set(TASK_SCHEMA["properties"]))
        actor = _actor(doc)
        kind = doc.get("kind")
        if not isinstance(kind, str):
            raise InvalidInput([FieldError("kind", f"one of {', '.join(TaskKind)}")])
        detail = doc.get("detail")
        if detail is not None and not isinstance(detail, dict):
            raise InvalidInput([FieldError("detail", "must be an object")])
        owner = _str(doc, "owner")
        runbook = _str(doc, "runbook_url")
        due_at = _when(doc, "due_at")
        title = doc.get("title")
        if not isinstance(title, str):
            raise InvalidInput([FieldError("title", "must be text of 1 to 200 characters")])
        key = _str(doc, "key")
        if key is None:  # nothing to dedupe on: a task of its own
            key = unique_key(parse_kind(kind))

        def run() -> Task:
            return tasks.raise_task(
                kind,
                title,
                key=key,
                detail=detail,
                owner=owner,
                due_at=due_at,
                runbook_url=runbook,
                actor=actor,
            )

        task = await run_in_threadpool(run)
        return Json(shown(task), status_code=201 if task.occurrences == 1 else 200)

    @api.get("/v1/tasks")
    async def list_tasks(
        status: Annotated[str | None, Query(max_length=32)] = None,
        owner: Annotated[str | None, Query(max_length=100)] = None,
        kind: Annotated[str | None, Query(max_length=32)] = None,
        overdue: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> dict[str, Any]:
        """Tasks matching every filter given, the soonest due first."""
        found = await run_in_threadpool(
            lambda: tasks.list(
                status=status,
                owner=owner,
                kind=kind,
                overdue=overdue,
                limit=limit,
                offset=offset,
            )
        )
        return {"tasks": [shown(t) for t in found], "limit": limit, "offset": offset}

    @api.get("/v1/tasks/{task_id}")
    async def get_task(task_id: TaskId) -> dict[str, Any]:
        """One task with its notes."""
        return shown(await run_in_threadpool(tasks.get, task_id))

    @api.patch("/v1/tasks/{task_id}", openapi_extra=documented(UPDATE_SCHEMA))
    async def update_task(task_id: TaskId, request: Request) -> dict[str, Any]:
        """Change owner (``null`` unassigns), status, due time (``null`` clears), and/or add a
        note. Give ``expected_version`` (from the task you read) to get a 409 instead of
        overwriting someone else's change."""
        doc = await body(request)
        _only(doc, set(UPDATE_SCHEMA["properties"]))
        actor = _actor(doc)
        owner: str | Unchanged | None = _str(doc, "owner") if "owner" in doc else UNCHANGED
        status: str | Unchanged = UNCHANGED
        if "status" in doc:
            raw_status = doc["status"]
            if not isinstance(raw_status, str):
                raise InvalidInput([FieldError("status", f"one of {', '.join(TaskStatus)}")])
            status = raw_status
        due_at: datetime | Unchanged | None = _when(doc, "due_at") if "due_at" in doc else UNCHANGED
        note = _str(doc, "note")
        version = doc.get("expected_version")
        if version is not None and (
            not isinstance(version, int) or isinstance(version, bool) or not 1 <= version < 2**31
        ):
            raise InvalidInput([FieldError("expected_version", "a version number (1 or more)")])

        def run() -> Task:
            return tasks.update(
                task_id,
                actor=actor,
                expected_version=version,
                owner=owner,
                status=status,
                due_at=due_at,
                note=note,
            )

        return shown(await run_in_threadpool(run))

    @api.post("/v1/tasks/alertmanager", openapi_extra=documented(ALERTMANAGER_SCHEMA))
    async def alertmanager(request: Request) -> dict[str, Any]:
        """Prometheus Alertmanager's webhook (``webhook_configs: [{url: .../v1/tasks/
        alertmanager}]``). Firing alerts raise ``alert`` tasks keyed by fingerprint, with the
        alert's ``runbook_url`` annotation as the runbook when given; a resolved alert adds a
        note to its open task and leaves closing it to a person."""
        doc = await body(request)
        alerts = _alerts(doc)

        # Check every firing alert before raising any, so a bad one raises none of them.
        firing: list[dict[str, Any]] = []
        for alert in alerts:
            if alert["status"] != "firing":
                continue
            raw_runbook = alert["annotations"].get("runbook_url") or None
            spec: dict[str, Any] = {
                "kind": TaskKind.ALERT,
                "title": _alert_title(alert),
                "key": f"alert:{alert['fingerprint']}",
                "detail": {
                    "labels": alert["labels"],
                    "annotations": {
                        k: v for k, v in alert["annotations"].items() if k != "runbook_url"
                    },
                    "starts_at": alert["startsAt"],
                    "fingerprint": alert["fingerprint"],
                },
                "runbook_url": raw_runbook,
                "actor": "alertmanager",
            }
            try:
                tasks.candidate(**spec)
            except InvalidInput as exc:
                raise InvalidInput(
                    [
                        FieldError(
                            f"{alert['where']}.{_ALERT_FIELDS.get(e.field, e.field)}", e.reason
                        )
                        for e in exc.errors
                    ]
                ) from None
            firing.append(spec)

        def run() -> dict[str, Any]:
            raised = [tasks.raise_task(**spec).id for spec in firing]
            noted: list[int] = []
            for alert in alerts:
                if alert["status"] != "resolved":
                    continue
                active = tasks.find_active(f"alert:{alert['fingerprint']}")
                if active is None or active.id is None:
                    continue  # never raised here, or already closed by a person
                ended = alert["endsAt"] or datetime.now(UTC).isoformat()
                tasks.update(
                    active.id,
                    actor="alertmanager",
                    note=f"resolved in Alertmanager (ended {ended[:64]})",
                )
                noted.append(active.id)
            return {"raised": raised, "resolved_noted": noted}

        return await run_in_threadpool(run)

    return api
