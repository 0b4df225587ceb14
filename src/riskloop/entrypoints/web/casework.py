"""``/queue`` and ``/cases/{case_id}``: the review queue, the case page and the analyst's
actions on it, through the case service (every action names the signed-in user as actor).

A one-click resolution from the queue claims the case first when it is open (the workflow
resolves only cases under review by the resolver), and refuses with a 409 when the case
changed since the analyst saw it (a new decision joined it, or someone else took it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.cases.model import ACTIONS, ACTIVE, QUEUES, Case, CaseStatus
from riskloop.entrypoints.web import stats
from riskloop.entrypoints.web.forms import form_fields, query_fields
from riskloop.entrypoints.web.guard import actor
from riskloop.entrypoints.web.render import page
from riskloop.errors import ConflictError

PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/queue"): "cases:read",
    ("GET", "/cases/{case_id}"): "cases:read",
    ("POST", "/cases/{case_id}/claim"): "cases:work",
    ("POST", "/cases/{case_id}/release"): "cases:work",
    ("POST", "/cases/{case_id}/resolve"): "cases:work",
    ("POST", "/cases/{case_id}/notes"): "cases:work",
    ("POST", "/cases/{case_id}/approve"): "cases:supervise",
    ("POST", "/cases/{case_id}/reject"): "cases:supervise",
}

STATUSES = tuple(s.value for s in CaseStatus)
RESOLUTIONS = {"fraud": "Confirmed fraud", "not_fraud": "Genuine", "escalated": "Escalated"}


def _reload(case_id: str) -> Response:
    """After an action on the case page: load the page again (status, timeline, buttons)."""
    return Response(status_code=204, headers={"HX-Redirect": f"/cases/{case_id}"})


def _top_reasons(case: dict[str, Any], n: int = 3) -> list[str]:
    reasons = case.get("reasons") or {}
    return [r for r, _ in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def add_routes(api: APIRouter, rl: Riskloop) -> None:
    cases = rl.cases

    @api.get("/queue", include_in_schema=False)
    async def queue(request: Request) -> Response:
        fields = query_fields(request)
        queue_name = fields.text("queue", 64)
        status = fields.choice("status", STATUSES)
        mine = fields.raw("mine") == "1"
        limit = fields.integer("limit", 1, 500, default=100)
        fields.done()
        me = actor(request)

        def load() -> list[dict[str, Any]]:
            found = cases.search(
                status=[status] if status else [s.value for s in ACTIVE],
                queue=queue_name or None,
                assignee=me if mine else None,
                limit=limit,
            )
            now = cases.clock()
            return [{**c.as_dict(now), "top_reasons": _top_reasons(c.body)} for c in found]

        context = {
            "rows": await run_in_threadpool(load),
            "queues": sorted(set(QUEUES.values())),
            "statuses": STATUSES,
            "filters": {"queue": queue_name, "status": status or "", "mine": mine},
            "me": me,
        }
        return page(request, "queue.html", context)

    @api.get("/cases/{case_id}", include_in_schema=False)
    async def case_page(request: Request, case_id: str) -> Response:
        def load() -> dict[str, Any]:
            view = cases.view(case_id[:48])
            linked = stats.history_of(rl.engine, view["items"], now=datetime.now(UTC))
            return {"case": view, "linked": linked}

        context = await run_in_threadpool(load)
        context.update(
            me=actor(request),
            actions=ACTIONS,
            resolutions=RESOLUTIONS,
            top_reasons=_top_reasons(context["case"]),
        )
        return page(request, "case.html", context)

    @api.post("/cases/{case_id}/claim", include_in_schema=False)
    async def claim(request: Request, case_id: str) -> Response:
        await run_in_threadpool(cases.claim, case_id[:48], actor(request))
        return _reload(case_id)

    @api.post("/cases/{case_id}/release", include_in_schema=False)
    async def release(request: Request, case_id: str) -> Response:
        await run_in_threadpool(cases.release, case_id[:48], actor(request))
        return _reload(case_id)

    @api.post("/cases/{case_id}/notes", include_in_schema=False)
    async def note(request: Request, case_id: str) -> Response:
        fields = await form_fields(request)
        text = fields.text("note", 5000, required=True)
        fields.done()
        await run_in_threadpool(cases.note, case_id[:48], actor(request), text)
        return _reload(case_id)

    @api.post("/cases/{case_id}/resolve", include_in_schema=False)
    async def resolve(request: Request, case_id: str) -> Response:
        fields = await form_fields(request)
        resolution = fields.choice("resolution", tuple(RESOLUTIONS))
        if resolution is None and not fields.errors:
            fields.fail("resolution", "required")
        action = fields.choice("action", ACTIONS) or "none"
        note = fields.text("note", 5000) or None
        typology = fields.text("typology", 100) or None
        seen = fields.integer("version", 1, 2**31 - 1, default=0)
        origin = fields.raw("from")
        fields.done()
        me = actor(request)

        def run() -> Case:
            case = cases.get(case_id[:48])
            if seen and case.version != seen:
                raise ConflictError(
                    "case", case.case_id, "changed since you opened it; reload to see why"
                )
            if case.status is not CaseStatus.IN_REVIEW or case.assignee != me:
                cases.claim(case.case_id, me)  # one click: take it, then decide
            return cases.resolve(
                case.case_id,
                actor=me,
                resolution=str(resolution),
                action=action,
                note=note,
                typology=typology,
            )

        done = await run_in_threadpool(run)
        if origin != "queue":
            return _reload(case_id)
        # From the queue: the row goes (the swap replaces it with nothing) and the live
        # region says what happened, out of band.
        verdict = RESOLUTIONS[str(resolution)]
        message = f"Case {done.case_id}: {verdict.lower()}"
        if done.status is CaseStatus.PENDING_APPROVAL:
            message += " (waits for a second person's approval)"
        return page(request, "_resolved.html", {"message": message, "kind": "ok"})

    @api.post("/cases/{case_id}/approve", include_in_schema=False)
    async def approve(request: Request, case_id: str) -> Response:
        fields = await form_fields(request)
        note = fields.text("note", 5000) or None
        fields.done()
        me = actor(request)
        await run_in_threadpool(lambda: cases.approve(case_id[:48], me, note=note))
        return _reload(case_id)

    @api.post("/cases/{case_id}/reject", include_in_schema=False)
    async def reject(request: Request, case_id: str) -> Response:
        fields = await form_fields(request)
        note = fields.text("note", 5000, required=True)
        fields.done()
        me = actor(request)
        await run_in_threadpool(lambda: cases.reject(case_id[:48], me, note=note))
        return _reload(case_id)
