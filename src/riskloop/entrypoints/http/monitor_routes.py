"""Monitoring over HTTP: run a check now (``POST /v1/monitoring/drift|performance|
freshness``; the report is stored and alerts raise tasks) and read the latest reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http.body import json_body, json_object
from riskloop.entrypoints.http.catalog_routes import _only
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import FieldError, InvalidInput
from riskloop.intake import EVENT_TYPES
from riskloop.monitoring.ports import KINDS, Report
from riskloop.service.monitoring import Window, window

_TIME = {"type": "string", "format": "date-time"}
_WINDOW = {
    "type": ["object", "null"],
    "required": ["start", "end"],
    "additionalProperties": False,
    "properties": {"start": _TIME, "end": _TIME},
    "description": "half-open [start, end), by decided_at (events: occurred_at)",
}
_EVENT_TYPE = {"type": ["string", "null"], "enum": [*EVENT_TYPES, None]}


def _schema(*windows: str) -> dict[str, Any]:
    body = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"event_type": _EVENT_TYPE, **dict.fromkeys(windows, _WINDOW)},
    }
    content = {"application/json": {"schema": body}}
    return {"requestBody": {"required": False, "content": content}}


def _time(doc: dict[str, Any], name: str, part: str) -> datetime:
    raw = doc.get(part)
    where = f"{name}.{part}"
    if not isinstance(raw, str):
        raise InvalidInput([FieldError(where, "an ISO 8601 date and time with a timezone")])
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput([FieldError(where, "not an ISO 8601 date and time")]) from None


def _window(doc: dict[str, Any], name: str) -> Window | None:
    raw = doc.get(name)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput([FieldError(name, 'an object {"start": ..., "end": ...}')])
    unknown = sorted(set(raw) - {"start", "end"})
    if unknown:
        raise InvalidInput([FieldError(f"{name}.{k}", "unknown field") for k in unknown])
    return window(_time(raw, name, "start"), _time(raw, name, "end"), name)


def _reports(found: list[Report]) -> dict[str, Any]:
    order = ("ok", "warn", "alert")
    status = max((r.status for r in found), key=order.index, default="ok")
    return {"status": status, "reports": [r.as_dict() for r in found]}


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["monitoring"])
    limit = rl.settings.max_body_bytes
    monitoring = rl.monitoring

    async def body(request: Request, allowed: set[str]) -> dict[str, Any]:
        if not (await request.body()).strip():
            return {}  # no body: every default
        doc = json_object(await json_body(request, limit))
        _only(doc, allowed)
        return doc

    @api.post("/v1/monitoring/drift", openapi_extra=_schema("reference", "current"))
    async def drift(request: Request) -> Json:
        """Feature and score drift (PSI, KS, missing rate) of the current window (default:
        the last 24 h) against the reference (default: the 7 days before it), per event
        type. Reports are stored; alerts raise tasks keyed ``drift:<type>:<feature>``."""
        doc = await body(request, {"event_type", "reference", "current"})
        ref, cur = _window(doc, "reference"), _window(doc, "current")
        found = await run_in_threadpool(
            lambda: monitoring.drift(event_type=doc.get("event_type"), reference=ref, current=cur)
        )
        return Json(_reports(found))

    @api.post("/v1/monitoring/performance", openapi_extra=_schema("current"))
    async def performance(request: Request) -> Json:
        """Delayed-label performance by decision-day cohort (default: the last 60 days)
        with the labels known now. Young cohorts undercount fraud."""
        doc = await body(request, {"event_type", "current"})
        cur = _window(doc, "current")
        found = await run_in_threadpool(
            lambda: monitoring.performance(event_type=doc.get("event_type"), current=cur)
        )
        return Json(_reports(found))

    @api.post("/v1/monitoring/freshness", openapi_extra=_schema("reference", "current"))
    async def freshness(request: Request) -> Json:
        """Time since the last event and events per window, per event type; with no
        event type, the dead-letter rate per source too. Stale types and broken sources
        raise tasks (``freshness:<type>``, ``violations:<source>``)."""
        doc = await body(request, {"event_type", "reference", "current"})
        ref, cur = _window(doc, "reference"), _window(doc, "current")
        found = await run_in_threadpool(
            lambda: monitoring.freshness(
                event_type=doc.get("event_type"), reference=ref, current=cur
            )
        )
        return Json(_reports([found]))

    @api.get("/v1/monitoring/reports")
    async def reports(
        kind: Annotated[str | None, Query(description=", ".join(KINDS))] = None,
        scope: Annotated[str | None, Query(description="an event type; empty for all")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    ) -> Json:
        """The latest stored reports, newest first."""
        found = await run_in_threadpool(
            lambda: monitoring.reports(kind=kind, scope=scope, limit=limit)
        )
        return Json({"reports": [r.as_dict() for r in found]})

    return api
