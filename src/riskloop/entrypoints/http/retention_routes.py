"""Retention over HTTP: legal holds (place, release, list) and a run of the retention job,
dry or not. The actor is the authenticated principal; nothing in the body can claim to be
someone else."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http.body import documented, json_body, json_object
from riskloop.entrypoints.http.catalog_routes import _only
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import FieldError, InvalidInput
from riskloop.service.retention import MAX_REASON, STATUSES, SUBJECTS

ADMIN = "retention:admin"
PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/v1/retention/holds"): ADMIN,
    ("POST", "/v1/retention/holds"): ADMIN,
    ("POST", "/v1/retention/holds/{hold_id}/release"): ADMIN,
    ("POST", "/v1/retention/run"): ADMIN,
}

HoldId = Annotated[str, Path(min_length=1, max_length=32)]
HOLD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["subject", "value", "reason"],
    "additionalProperties": False,
    "properties": {
        "subject": {"enum": list(SUBJECTS)},
        "value": {"type": "string", "minLength": 1, "maxLength": 128},
        "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON},
    },
}
RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "dry_run": {"type": "boolean", "description": "count what would go; change nothing"},
        "as_of": {"type": "string", "format": "date-time", "description": "default: now"},
    },
}

_OPTIONAL_BODY = {
    "requestBody": {"required": False, "content": {"application/json": {"schema": RUN_SCHEMA}}}
}


def _actor(request: Request) -> str:
    return str(request.state.principal.name)


def _as_of(raw: Any) -> datetime | None:
    if raw is None:
        return None
    try:
        if isinstance(raw, str):
            return datetime.fromisoformat(raw)
    except ValueError:
        pass
    raise InvalidInput([FieldError("as_of", "an ISO 8601 date and time with a timezone")])


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["retention"])
    limit = rl.settings.max_body_bytes
    retention = rl.retention

    @api.get("/v1/retention/holds")
    async def list_holds(
        status: Annotated[str, Query(description=", ".join(STATUSES))] = "active",
    ) -> Json:
        """Legal holds, oldest first: the active ones by default."""
        found = await run_in_threadpool(lambda: retention.holds(status=status))
        return Json({"holds": [h.as_dict() for h in found]})

    @api.post("/v1/retention/holds", openapi_extra=documented(HOLD_SCHEMA))
    async def place_hold(request: Request) -> Json:
        """Keep a customer's events (by the ``customer_id`` they carry), one event, or a
        case's events from retention until the hold is released."""
        doc = json_object(await json_body(request, limit))
        _only(doc, {"subject", "value", "reason"})
        actor = _actor(request)
        hold = await run_in_threadpool(
            lambda: retention.place_hold(
                doc.get("subject", ""), doc.get("value", ""), doc.get("reason", ""), actor=actor
            )
        )
        return Json(hold.as_dict(), status_code=201)

    @api.post("/v1/retention/holds/{hold_id}/release")
    async def release_hold(request: Request, hold_id: HoldId) -> Json:
        """Release an active hold: what it kept is purged by the next run if past retention
        (404 for an unknown hold, 409 for one already released)."""
        actor = _actor(request)
        hold = await run_in_threadpool(lambda: retention.release_hold(hold_id, actor=actor))
        return Json(hold.as_dict())

    @api.post("/v1/retention/run", openapi_extra=_OPTIONAL_BODY)
    async def run(request: Request) -> Json:
        """Run the retention job now: delete or anonymise what is past retention, except
        what legal holds keep. ``dry_run`` counts per contract and action, changing
        nothing. The report is the one ``riskloop retention run --json`` prints."""
        doc: dict[str, Any] = {}
        if (await request.body()).strip():
            doc = json_object(await json_body(request, limit))
        _only(doc, {"dry_run", "as_of"})
        dry_run = doc.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise InvalidInput([FieldError("dry_run", "true or false")])
        as_of, actor = _as_of(doc.get("as_of")), _actor(request)
        report = await run_in_threadpool(
            lambda: retention.run(as_of=as_of, dry_run=dry_run, actor=actor)
        )
        return Json(report.as_dict())

    return api
