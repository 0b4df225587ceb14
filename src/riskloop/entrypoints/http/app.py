"""The FastAPI application: ingestion, contracts, health.

Bodies are parsed by riskloop's own contracts (not FastAPI's) so that every error names the
field path the same way in the API, in imports and in dead letters.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from riskloop import __version__
from riskloop.bootstrap import Riskloop, outbox_relay
from riskloop.domain.events import AppendOutcome, AppendStatus
from riskloop.entrypoints.http import (
    access_routes,
    case_routes,
    catalog_routes,
    decision_routes,
    label_routes,
    metrics,
    model_routes,
    monitor_routes,
    release_routes,
    screening_routes,
    task_routes,
)
from riskloop.entrypoints.http.auth import AuthMiddleware, authorizer
from riskloop.entrypoints.http.authz import ROUTE_PERMISSIONS
from riskloop.entrypoints.http.body import TooLarge, json_body
from riskloop.entrypoints.http.errors import error_response, install
from riskloop.entrypoints.http.graphql import PERMISSIONS as GRAPHQL_PERMISSIONS
from riskloop.entrypoints.http.graphql import router as graphql_router
from riskloop.entrypoints.http.responses import Json
from riskloop.entrypoints.http.retention_routes import PERMISSIONS as RETENTION_PERMISSIONS
from riskloop.entrypoints.http.retention_routes import router as retention_router
from riskloop.entrypoints.jobs import embedded_scheduler
from riskloop.entrypoints.web import PERMISSIONS as WEB_PERMISSIONS
from riskloop.entrypoints.web import router as web_router
from riskloop.errors import FieldError, InvalidEvent, NotFound, RiskloopError
from riskloop.intake import CONTRACTS, EVENT_TYPES, json_schema, latest
from riskloop.service.outbox import RelayThread

log = logging.getLogger(__name__)

_EVENTS_DOC = """Ingest one event (a JSON object) or a batch (`{"events": [...]}`).

A batch is stored whole or not at all. The same `event_id` with the same body is a
`duplicate` (nothing stored twice); with a different body it is a 409 conflict. The schemas
are at `GET /v1/contracts`.
"""


def _outcome(o: AppendOutcome) -> dict[str, Any]:
    return {"event_id": o.event_id, "status": o.status.value, "seq": o.seq}


def _follow_log(rl: Riskloop, stop: threading.Event, every_s: float) -> None:
    """Keep in-process features current with events other processes stored (imports), the
    rule catalogue and the serving models with changes other processes made, the label index
    with the log, the review queue with the decisions, and the audit chain sealed."""
    rounds = 0
    while not stop.wait(every_s):
        rounds += 1
        try:
            if rl.features.follow_log:
                rl.features.catch_up()
            elif rl.features.missed or rounds % 5 == 0:  # count what shared state missed
                rl.features.repair()  # (any process's, from the backlog) once it is back
            rl.catalog.refresh()
            if rounds % 30 == 1:  # labels stored as plain events, or cut off by a crash
                rl.labels.sync()
            rl.cases.sync()  # review decisions open cases within a second
            rl.canaries.refresh()  # every process routes the same share to a canary
            if rounds % 5 == 0:  # decisions into the audit chain, and a signed head
                rl.audit.seal()
            if rounds % max(1, round(rl.settings.canary_check_seconds / every_s)) == 0:
                for found in rl.canaries.check():  # guardrails: roll back, advance, promote
                    if found.get("action") in {"rollback", "advance", "promote"}:
                        log.warning("canary %s: %s", found["canary_id"], found["action"])
            if rl.models.slots.refresh():
                log.info("models now serving: %s", rl.models.slots.serving())
            rl.entities.catch_up()  # last: a slow catch-up after an import delays nothing
        except Exception:  # keep following; the next round retries
            log.exception("catching up with other processes failed")


def create_app(
    rl: Riskloop, *, follow_every_s: float = 1.0, schedule_every_s: float = 5.0
) -> FastAPI:
    # Built here, not at start-up, so a bad RISKLOOP_SCHEDULE stops `serve` before it listens.
    scheduler = embedded_scheduler(rl, every_s=schedule_every_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:  # load the serving models and canaries before the first request
            await run_in_threadpool(rl.models.slots.refresh)
            await run_in_threadpool(rl.canaries.refresh)
        except RiskloopError as exc:
            log.error("serving models not loaded yet: %s", exc)
        try:  # the sanctions index (seconds to build) before the first decision screens
            await run_in_threadpool(rl.screening.warm)
        except RiskloopError as exc:
            log.error("sanctions lists not loaded yet: %s", exc)
        stop = threading.Event()
        follower = threading.Thread(
            target=_follow_log,
            args=(rl, stop, follow_every_s),
            name="feature-follower",
            daemon=True,
        )
        follower.start()
        if rl.notifier is not None:  # task notifications to the webhook
            rl.notifier.start()
        if scheduler is not None:  # RISKLOOP_SCHEDULE's jobs
            scheduler.start()
        # RISKLOOP_BUS=nats: the outbox to the bus (one relay across processes, by lease)
        relay = RelayThread(outbox_relay(rl)) if rl.outbox is not None else None
        if relay is not None:
            relay.start()
        try:
            yield
        finally:
            if relay is not None:
                relay.stop()
            if scheduler is not None:
                scheduler.stop()
            if rl.notifier is not None:
                rl.notifier.stop()
            stop.set()
            if follower.is_alive():
                follower.join(timeout=5)

    permissions = dict(ROUTE_PERMISSIONS)  # routers added below put theirs in too
    app = FastAPI(
        title="riskloop",
        version=__version__,
        description="Real-time risk decisioning for fintech.",
        lifespan=lifespan,
        dependencies=[Depends(authorizer(permissions))],
    )
    app.add_middleware(AuthMiddleware, access=rl.access)
    app.state.rl = rl  # routers built elsewhere (and tests) reach the process through the app
    install(app)
    limit = rl.settings.max_body_bytes

    @app.exception_handler(TooLarge)
    async def _too_large(_r: Request, exc: TooLarge) -> Json:
        return error_response(413, "too_large", f"body larger than {exc.limit} bytes")

    @app.post("/v1/events", tags=["events"], description=_EVENTS_DOC)
    async def post_events(request: Request) -> Json:
        payload = await json_body(request, limit, InvalidEvent)
        if isinstance(payload, dict) and "events" in payload and "event_type" not in payload:
            if set(payload) != {"events"} or not isinstance(payload["events"], list):
                raise InvalidEvent([FieldError("events", 'expected {"events": [ ... ]}')])
            outcomes = await run_in_threadpool(rl.ingestor.ingest_batch, payload["events"])
            accepted = sum(o.status is AppendStatus.ACCEPTED for o in outcomes)
            return Json(
                {
                    "accepted": accepted,
                    "duplicate": len(outcomes) - accepted,
                    "results": [_outcome(o) for o in outcomes],
                },
                status_code=201 if accepted else 200,
            )
        outcome = await run_in_threadpool(rl.ingestor.ingest, payload)
        status = 201 if outcome.status is AppendStatus.ACCEPTED else 200
        return Json(_outcome(outcome), status_code=status)

    @app.get("/v1/events/{event_id}", tags=["events"])
    async def get_event(event_id: str) -> dict[str, Any]:
        """The stored event as kept at rest: PAN tokenized, PII sealed (not returned)."""
        stored = await run_in_threadpool(rl.events.get, event_id)
        if stored is None:
            raise NotFound("event", event_id)
        return {
            "event_id": stored.event_id,
            "event_type": stored.event_type,
            "schema_version": stored.schema_version,
            "occurred_at": stored.occurred_at,
            "ingested_at": stored.ingested_at,
            "seq": stored.seq,
            "source": stored.source,
            "data": stored.data,
            "pii_sealed": stored.pii is not None,
        }

    @app.get("/v1/contracts", tags=["contracts"])
    async def list_contracts() -> dict[str, Any]:
        return {
            "contracts": [
                {
                    "event_type": s.event_type,
                    "version": s.version,
                    "owner": s.owner,
                    "retention_days": s.retention_days,
                    "retention_action": s.retention_action,
                    "description": s.description,
                    "schema": f"/v1/contracts/{s.event_type}?version={s.version}",
                }
                for s in CONTRACTS.values()
            ]
        }

    @app.get("/v1/contracts/{event_type}", tags=["contracts"])
    async def get_contract(event_type: str, version: int | None = None) -> dict[str, Any]:
        if event_type not in EVENT_TYPES:
            raise NotFound("contract", event_type)
        spec = latest(event_type) if version is None else CONTRACTS.get((event_type, version))
        if spec is None:
            raise NotFound("contract", f"{event_type}/v{version}")
        return json_schema(spec)

    @app.get("/v1/features", tags=["features"])
    async def list_features() -> dict[str, Any]:
        """The active feature set: every feature with its kind, entity, window and events."""
        fs = rl.features.engine.feature_set
        return {
            "feature_set": fs.version_id,
            "lateness_s": fs.lateness_s,
            "features": [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "entity": f.entity,
                    "agg": f.agg,
                    "field": f.field,
                    "window_s": f.window_s,
                    "events": list(f.outputs_for),
                    "description": f.description,
                }
                for f in fs.features
            ],
        }

    @app.post("/v1/features/preview", tags=["features"])
    async def preview_features(request: Request) -> dict[str, Any]:
        """The features an event would get now, as of its ``occurred_at``, without storing
        it or counting it (a what-if for rule authors and debugging)."""
        payload = await json_body(request, limit, InvalidEvent)
        stored = await run_in_threadpool(rl.ingestor.protect_only, payload)
        result = await run_in_threadpool(
            rl.features.preview, stored.event_id, stored.event_type, stored.data, stored.occurred_at
        )
        return {
            "event_id": stored.event_id,
            "feature_set": rl.features.engine.version,
            "late": result.late,
            "features": result.values,
        }

    app.include_router(decision_routes.router(rl))
    app.include_router(catalog_routes.router(rl))
    app.include_router(model_routes.router(rl))
    app.include_router(task_routes.router(rl))
    app.include_router(label_routes.router(rl))
    app.include_router(case_routes.router(rl))
    app.include_router(release_routes.router(rl))
    app.include_router(monitor_routes.router(rl))
    app.include_router(screening_routes.router(rl))
    app.include_router(metrics.router(rl))
    app.include_router(access_routes.router(rl))
    permissions.update(GRAPHQL_PERMISSIONS)
    app.include_router(graphql_router(rl))
    permissions.update(RETENTION_PERMISSIONS)
    app.include_router(retention_router(rl))
    permissions.update(WEB_PERMISSIONS)
    app.include_router(web_router(rl))

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> Json:
        def ping() -> None:
            with rl.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception:
            return error_response(503, "not_ready", "database unreachable")
        return Json({"status": "ready"})

    return app
