"""``POST /v1/labels`` (outcomes in) and reading labels back: per event, pending."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http.body import json_body
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import FieldError, InvalidEvent, InvalidInput

_LABELS_DOC = """Report outcomes: one label (a JSON object) or a batch (`{"labels": [...]}`,
stored whole or not at all).

A label names its own `label_id` (the idempotency key: a retry is a `duplicate`, the same id
with a different body a 409), a `kind` (`chargeback`, `dispute`, `refund_fraud`, `analyst`,
`customer_report`, `confirmed_good`) and the labelled `event_id` — or, when the sender does
not have it (an acquirer's chargeback file), `match` keys: `card` (`pan` or `token`),
`amount`, `currency` and the day `on`, optionally `merchant_id`. Chargebacks and disputes
carry `network` and `reason_code`: fraud codes (Visa 10.x, Mastercard 4837...) label fraud,
`reversal: true` withdraws. `analyst` labels say `fraud`. `reported_at` is when the outcome
became known (now if left out): features and training sets count the label from then.

A label whose event is not known (yet), or whose keys fit no single payment, is kept and
reported as `pending`, never dropped (`GET /v1/labels/pending`). When several labels reach
one event, the one that stands is chosen by precedence: analyst and network labels outrank
customer statements, which outrank merchant refunds; within a tier the latest wins.
"""

Kind = Literal[
    "chargeback",
    "dispute",
    "refund_fraud",
    "analyst",
    "customer_report",
    "confirmed_good",
    "step_up",  # from challenge_result events, not sent here
]


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["labels"])
    limit = rl.settings.max_body_bytes

    @api.post("/v1/labels", description=_LABELS_DOC, status_code=201)
    async def post_labels(request: Request) -> Json:
        payload = await json_body(request, limit, InvalidEvent)
        if isinstance(payload, dict) and "labels" in payload and "label_id" not in payload:
            if set(payload) != {"labels"} or not isinstance(payload["labels"], list):
                raise InvalidEvent([FieldError("labels", 'expected {"labels": [ ... ]}')])
            if len(payload["labels"]) > rl.settings.max_batch:
                reason = f"at most {rl.settings.max_batch} labels per batch"
                raise InvalidEvent([FieldError("labels", reason)])
            got = await run_in_threadpool(rl.labels.submit_batch, payload["labels"])
            accepted = sum(r.status == "accepted" for r in got)
            return Json(
                {
                    "accepted": accepted,
                    "duplicate": len(got) - accepted,
                    "pending": sum(r.pending for r in got),
                    "results": [r.as_dict() for r in got],
                },
                status_code=201 if accepted else 200,
            )
        one = await run_in_threadpool(rl.labels.submit, payload)
        return Json(one.as_dict(), status_code=201 if one.status == "accepted" else 200)

    @api.get("/v1/labels")
    async def list_labels(
        event_id: str | None = None,
        kind: Kind | None = None,
        pending: bool | None = None,
        since: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> dict[str, Any]:
        """Labels in arrival order, filtered by labelled event, kind, pending or time."""
        if since is not None and since.tzinfo is None:
            raise InvalidInput([FieldError("since", "must carry a timezone")])
        found = await run_in_threadpool(
            lambda: rl.labels.labels(
                target_event_id=event_id,
                kind=kind,
                pending=pending,
                since=since,
                limit=limit,
                offset=offset,
            )
        )
        return {"labels": [e.as_dict() for e in found]}

    @api.get("/v1/labels/pending")
    async def pending_labels(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Json:
        """Labels waiting for their event (or for a single payment to fit their keys):
        how many, why, oldest first. Resolve them with `POST /v1/labels/resolve`."""
        return Json(await run_in_threadpool(lambda: rl.labels.pending_report(limit=limit)))

    @api.post("/v1/labels/resolve")
    async def resolve_labels() -> Json:
        """Try the match keys of pending labels again (also `riskloop labels resolve`)."""
        return Json(await run_in_threadpool(rl.labels.resolve_pending))

    @api.get("/v1/events/{event_id}/labels", tags=["events"])
    async def event_labels(event_id: str) -> Json:
        """An event's labels in arrival order and the one that stands by precedence."""
        return Json(await run_in_threadpool(rl.labels.for_event, event_id))

    return api
