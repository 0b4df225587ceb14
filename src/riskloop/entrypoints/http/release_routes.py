"""Safe change over HTTP: backtests (``/v1/backtests``), shadow reports (``/v1/shadow``) and
canaries (``/v1/canaries``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http.body import documented, json_body, json_object
from riskloop.entrypoints.http.catalog_routes import _author
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import FieldError, InvalidInput
from riskloop.intake.registry import EVENT_TYPES
from riskloop.service.backtest import parse_spec

Id = Annotated[str, Path(max_length=48)]

_TIME = {"type": "string", "format": "date-time"}
BACKTEST_SCHEMA = {
    "type": "object",
    "required": ["since", "until", "author"],
    "properties": {
        "since": _TIME,
        "until": _TIME,
        "author": {"type": "string", "maxLength": 100},
        "event_type": {"type": "string", "enum": list(EVENT_TYPES)},
        "rules": {"type": "array", "items": {"type": "object"}},
        "policies": {"type": "array", "items": {"type": "object"}},
        "policy": {"type": "string", "description": "a saved policy version, id@version"},
        "model": {"type": "string", "description": "a registered model, name@version"},
        "source": {"type": "string", "enum": ["decisions", "log"]},
        "note": {"type": "string", "maxLength": 2000},
    },
}
CANARY_SCHEMA = {
    "type": "object",
    "required": ["kind", "event_type", "author"],
    "properties": {
        "kind": {"type": "string", "enum": ["model", "policy"]},
        "event_type": {"type": "string", "enum": list(EVENT_TYPES)},
        "candidate": {"type": "string", "description": "name@version or policy id@version"},
        "rules": {"type": "array", "items": {"type": "object"}},
        "policies": {"type": "array", "items": {"type": "object"}},
        "owner": {"type": "string", "maxLength": 100},
        "author": {"type": "string", "maxLength": 100},
        "reason": {"type": "string", "maxLength": 2000},
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"share": {"type": "number"}, "min_minutes": {"type": "number"}},
            },
        },
        "guardrails": {"type": "object"},
    },
}
STOP_SCHEMA = {
    "type": "object",
    "required": ["author", "reason"],
    "properties": {"author": {"type": "string"}, "reason": {"type": "string"}},
}


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput([FieldError(field, "must carry a timezone")])
    return value


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["release"])
    limit = rl.settings.max_body_bytes

    async def body(request: Request) -> dict[str, Any]:
        return json_object(await json_body(request, limit))

    @api.post("/v1/backtests", openapi_extra=documented(BACKTEST_SCHEMA))
    async def start_backtest(request: Request, wait: bool = False) -> Json:
        """Replay a window of recorded decisions (or the event log, ``source: log``) through
        a candidate — rules, policies, a saved policy version and/or a model — and compare
        with production by the labels known now. Runs in the background (202, then
        ``GET /v1/backtests/{id}``) or, with ``?wait=true``, answers with the report."""
        doc = await body(request)
        author = _author(doc)
        spec = parse_spec({k: v for k, v in doc.items() if k != "author"})
        if wait:
            report = await run_in_threadpool(lambda: rl.backtests.run(spec, author=author))
            return Json({"status": "done", "report": report}, status_code=201)
        backtest_id = await run_in_threadpool(lambda: rl.backtests.start(spec, author=author))
        return Json({"backtest_id": backtest_id, "status": "running"}, status_code=202)

    @api.get("/v1/backtests")
    async def list_backtests(
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        return {"backtests": await run_in_threadpool(rl.backtests.recent, limit)}

    @api.get("/v1/backtests/{backtest_id}")
    async def get_backtest(backtest_id: Id) -> dict[str, Any]:
        return await run_in_threadpool(rl.backtests.get, backtest_id)

    @api.get("/v1/backtests/{backtest_id}/plot.png", response_class=Response)
    async def backtest_plot(backtest_id: Id) -> Response:
        """Outcome mix and per-rule precision/recall of a finished backtest (PNG)."""
        found = await run_in_threadpool(rl.backtests.get, backtest_id)
        if found["status"] != "done":
            return Json(
                {"error": "not_ready", "message": f"backtest is {found['status']}"},
                status_code=409,
            )
        from riskloop.release.plots import backtest_png

        changed = found["report"]["change"]["changed_rules"]
        report = {**found["report"], "candidate_changed_rules": changed}
        png = await run_in_threadpool(backtest_png, report)
        return Response(png, media_type="image/png")

    @api.get("/v1/shadow")
    async def shadow_report(
        since: datetime | None = None,
        until: datetime | None = None,
        event_type: Annotated[str | None, Query(max_length=32)] = None,
    ) -> dict[str, Any]:
        """Shadow policies against production on the recorded decisions of the window
        (default: the last 7 days): outcome changes, fraud caught, good customers declined,
        review load; and each shadow rule's hits, precision, recall and the fraud it hit
        that production approved — by the labels known now."""
        now = datetime.now(UTC)
        until = _aware(until, "until") or now
        since = _aware(since, "since") or until - timedelta(days=7)
        if until <= since:
            raise InvalidInput([FieldError("until", "must be after since")])
        if event_type is not None and event_type not in EVENT_TYPES:
            raise InvalidInput([FieldError("event_type", f"one of {', '.join(EVENT_TYPES)}")])
        return await run_in_threadpool(rl.backtests.shadow, since, until, event_type)

    @api.post("/v1/canaries", openapi_extra=documented(CANARY_SCHEMA))
    async def start_canary(request: Request) -> Json:
        """Send a stable share of an event type's entities to a candidate model or policy,
        judged by guardrails (latency p99, errors, decline and review rates, score PSI,
        precision as labels arrive): rolled back on a breach, promoted step by step."""
        doc = await body(request)
        canary = await run_in_threadpool(rl.canaries.start, doc)
        return Json(canary.as_dict(), status_code=201)

    @api.get("/v1/canaries")
    async def list_canaries(
        status: Annotated[str | None, Query(max_length=16)] = None,
    ) -> dict[str, Any]:
        found = await run_in_threadpool(rl.canaries.all, status)
        return {"canaries": [c.as_dict() for c in found]}

    @api.get("/v1/canaries/{canary_id}")
    async def get_canary(canary_id: Id) -> dict[str, Any]:
        return (await run_in_threadpool(rl.canaries.get, canary_id)).as_dict()

    @api.post("/v1/canaries/check")
    async def check_canaries() -> dict[str, Any]:
        """Judge the running canaries now (a server also does every
        ``RISKLOOP_CANARY_CHECK_SECONDS``)."""
        return {"checks": await run_in_threadpool(rl.canaries.check)}

    @api.post("/v1/canaries/{canary_id}/stop", openapi_extra=documented(STOP_SCHEMA))
    async def stop_canary(canary_id: Id, request: Request) -> dict[str, Any]:
        """End a running canary by hand; its traffic returns to production at once."""
        doc = await body(request)
        unknown = sorted(set(doc) - {"author", "reason"})
        if unknown:
            raise InvalidInput([FieldError(k, "unknown field") for k in unknown])
        reason = doc.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
            raise InvalidInput([FieldError("reason", "say why (1-2000 characters)")])
        author = _author(doc)
        stopped = await run_in_threadpool(
            lambda: rl.canaries.stop(canary_id, author=author, reason=reason)
        )
        return stopped.as_dict()

    return api
