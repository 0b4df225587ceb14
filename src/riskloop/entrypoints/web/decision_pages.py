"""``/decisions``: search decisions by outcome, event type, time range and entity, and
``/decisions/{decision_id}``: one decision with its explanation and its event as stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.web import stats
from riskloop.entrypoints.web.forms import local_input, query_fields
from riskloop.entrypoints.web.guard import field_errors
from riskloop.entrypoints.web.render import page
from riskloop.errors import InvalidInput, NotFound
from riskloop.intake import EVENT_TYPES
from riskloop.ledger.records import Decision

PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/decisions"): "decisions:read",
    ("GET", "/decisions/{decision_id}"): "decisions:read",
}


def add_routes(api: APIRouter, rl: Riskloop) -> None:
    @api.get("/decisions", include_in_schema=False)
    async def search(request: Request) -> Response:
        fields = query_fields(request)
        outcome = fields.choice("outcome", stats.OUTCOMES)
        event_type = fields.choice("event_type", EVENT_TYPES)
        since, until = fields.moment("since"), fields.moment("until")
        entity_type = fields.choice("entity_type", tuple(stats.ENTITY_PATHS))
        entity = fields.text("entity", 256)
        event_id = fields.text("event_id", 128)
        limit = fields.integer("limit", 1, 500, default=50)
        if since and until and until <= since:
            fields.fail("until", "must be after since")
        if entity and not entity_type:
            fields.fail("entity_type", "say what the entity is")
        form = {
            "outcome": outcome or "",
            "event_type": event_type or "",
            "since": local_input(since),
            "until": local_input(until),
            "entity_type": entity_type or "",
            "entity": entity,
            "event_id": event_id,
            "limit": limit,
        }
        context: dict[str, Any] = {
            "form": form,
            "outcomes": stats.OUTCOMES,
            "event_types": EVENT_TYPES,
            "entity_types": tuple(stats.ENTITY_PATHS),
            "rows": [],
            "errors": [],
            "searched": bool(request.query_params),
        }
        try:
            fields.done()
        except InvalidInput as exc:  # the form again, each problem beside its input
            context["errors"] = field_errors(exc)
            return page(request, "decisions.html", context, status=422)

        def find() -> list[Decision]:
            if event_id:
                one = rl.ledger.for_event(event_id)
                return [one] if one is not None else []
            if entity and entity_type:
                return stats.decisions_of(
                    rl.engine,
                    entity_type,
                    entity,
                    now=datetime.now(UTC),
                    outcome=outcome,
                    event_type=event_type,
                    since=since,
                    until=until,
                    limit=limit,
                )
            return rl.ledger.search(
                outcome=outcome, event_type=event_type, since=since, until=until, limit=limit
            )

        context["rows"] = await run_in_threadpool(find)
        return page(request, "decisions.html", context)

    @api.get("/decisions/{decision_id}", include_in_schema=False)
    async def one(request: Request, decision_id: str) -> Response:
        def load() -> dict[str, Any]:
            found = rl.ledger.get(decision_id[:48])
            if found is None:
                raise NotFound("decision", decision_id[:48])
            stored = rl.events.get(found.event_id)
            return {
                "d": found.as_dict(),
                "event": stored,
                "entities": stats.entities_of(stored.data) if stored else [],
                "label": rl.labels.for_event(found.event_id)["effective"],
                "case_id": stats.case_of(rl.engine, found.event_id),
            }

        return page(request, "decision.html", await run_in_threadpool(load))
