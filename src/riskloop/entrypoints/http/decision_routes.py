"""``POST /v1/decisions`` (an event in, a decision out) and reading decisions back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http.body import documented, event_schema, json_body
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import FieldError, InvalidEvent, InvalidInput, NotFound

_DECIDE_DOC = """Decide on an event (a card payment, transfer, login, account change...):
**approve, review, decline or challenge** (step-up), with ordered reason codes, the score
and what drove it, every rule hit, the feature values used and the versions of policy,
rules, feature set and model.

The event is stored (as `POST /v1/events` would) and the decision is durable before this
answers: `201` for a new decision; `200` with `"replayed": true` when this `event_id` was
decided before (that decision is returned, nothing is counted twice); `409` when the
`event_id` was used with a different body. `deadline_ms` bounds the time spent before the
model: past it, rules decide alone and the reasons say `MODEL_UNAVAILABLE`.
"""

Outcome = Literal["approve", "review", "challenge", "decline"]


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["decisions"])
    limit = rl.settings.max_body_bytes

    @api.post(
        "/v1/decisions",
        description=_DECIDE_DOC,
        openapi_extra=documented(event_schema()),
        status_code=201,
    )
    async def decide(
        request: Request,
        deadline_ms: Annotated[int | None, Query(ge=1, le=60_000)] = None,
    ) -> Json:
        payload = await json_body(request, limit, InvalidEvent)
        decided = await run_in_threadpool(rl.decisions.decide, payload, deadline_ms=deadline_ms)
        body = decided.decision.as_dict()
        body["replayed"] = decided.replayed
        if decided.latency_us:
            body["latency_us"] = decided.latency_us
        return Json(body, status_code=200 if decided.replayed else 201)

    @api.get("/v1/decisions/{decision_id}")
    async def get_decision(decision_id: str) -> Json:
        """A decision as recorded: outcome, reasons, score, contributions, rule hits,
        feature snapshot, versions and per-stage latency."""
        found = await run_in_threadpool(rl.ledger.get, decision_id)
        if found is None:
            raise NotFound("decision", decision_id)
        return Json(found.as_dict())

    @api.get("/v1/decisions/{decision_id}/notice", response_model=None)
    async def get_notice(
        decision_id: str, format: Literal["json", "text"] = "json"
    ) -> Json | PlainTextResponse:
        """The adverse-action notice of a declined credit application (or of an offer of
        less than was asked): its principal reasons, at most four, and the rendered text.
        404 when the decision has none. The text carries no name or address: the lender's
        mailing adds them."""
        notice = await run_in_threadpool(rl.credit.notice, decision_id)
        if format == "text":
            return PlainTextResponse(notice.text)
        return Json({"decision_id": decision_id, **notice.as_dict()})

    @api.get("/v1/decisions")
    async def search_decisions(
        outcome: Outcome | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Newest first. ``event_id`` finds the decision of one event, if it also matches
        the other filters."""
        for name, moment in (("since", since), ("until", until)):
            if moment is not None and moment.tzinfo is None:
                raise InvalidInput([FieldError(name, "must carry a timezone")])
        if event_id is not None:
            one = await run_in_threadpool(rl.ledger.for_event, event_id)
            matches = one is not None and (
                (outcome is None or one.outcome == outcome)
                and (event_type is None or one.event_type == event_type)
                and (since is None or one.decided_at >= since)
                and (until is None or one.decided_at < until)
            )
            return {"decisions": [one.as_dict()] if one is not None and matches else []}
        found = await run_in_threadpool(
            lambda: rl.ledger.search(
                outcome=outcome, event_type=event_type, since=since, until=until, limit=limit
            )
        )
        return {"decisions": [d.as_dict() for d in found]}

    return api
