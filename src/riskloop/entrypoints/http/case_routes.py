"""``/v1/cases``: the review queue, the case page, the analyst's actions and SAR drafts.

Until authentication lands, the acting person is named in each request (``analyst``,
``actor``, ``approver``, ``author``); it is recorded in the case timeline and, for
verdicts, in the audit chain.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from riskloop.bootstrap import Riskloop
from riskloop.cases.model import Case
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import NotFound

Person = Annotated[str, Field(min_length=1, max_length=100)]
Note = Annotated[str, Field(min_length=1, max_length=5000)]
Status = Literal["open", "in_review", "pending_approval", "escalated", "resolved"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AnalystIn(_Body):
    analyst: Person


class AssignIn(_Body):
    analyst: Person | None
    actor: Person


class NoteIn(_Body):
    author: Person
    text: Note


class ResolveIn(_Body):
    actor: Person
    resolution: Literal["fraud", "not_fraud", "escalated"]
    action: Literal["none", "block_card", "freeze_account", "close_account", "refund_customer"] = (
        "none"
    )
    note: Note | None = None
    typology: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    expected_version: Annotated[int, Field(ge=1)] | None = None


class ApproveIn(_Body):
    approver: Person
    note: Note | None = None


class OpenIn(_Body):
    entity_type: Literal["customer", "account", "card", "device", "merchant"]
    entity_key: Annotated[str, Field(min_length=1, max_length=256)]
    queue: Annotated[str, Field(min_length=1, max_length=64)]
    priority: Literal["high", "normal", "low"] = "normal"
    reason: Note | None = None
    actor: Person


class NextIn(_Body):
    analyst: Person
    queue: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class RoundRobinIn(_Body):
    analysts: Annotated[list[Person], Field(min_length=1, max_length=100)]
    actor: Person
    queue: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class BulkIn(_Body):
    op: Literal["assign", "claim", "release", "resolve"]
    case_ids: Annotated[
        list[Annotated[str, Field(max_length=48)]], Field(min_length=1, max_length=500)
    ]
    actor: Person
    analyst: Person | None = None
    resolution: Literal["fraud", "not_fraud", "escalated"] | None = None
    action: Literal["none", "block_card", "freeze_account", "close_account", "refund_customer"] = (
        "none"
    )
    note: Note | None = None
    typology: Annotated[str, Field(min_length=1, max_length=100)] | None = None


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["cases"])
    cases = rl.cases

    def show(case: Case) -> Json:
        return Json(case.as_dict(cases.clock()))

    @api.get("/v1/cases")
    async def list_cases(
        status: Annotated[list[Status] | None, Query()] = None,
        queue: Annotated[str | None, Query(max_length=64)] = None,
        assignee: Annotated[str | None, Query(max_length=100)] = None,
        unassigned: bool = False,
        entity_type: Annotated[str | None, Query(max_length=32)] = None,
        entity_key: Annotated[str | None, Query(max_length=256)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> Json:
        """The queue in work order: highest priority first, then the earliest due.
        `status` repeats (`?status=open&status=escalated`)."""
        found = await run_in_threadpool(
            lambda: cases.search(
                status=status,
                queue=queue,
                assignee=assignee,
                unassigned=unassigned,
                entity_type=entity_type,
                entity_key=entity_key,
                limit=limit,
                offset=offset,
            )
        )
        now = cases.clock()
        return Json({"cases": [c.as_dict(now) for c in found]})

    @api.post("/v1/cases", status_code=201)
    async def open_case(body: OpenIn) -> Json:
        """Open a case by hand or from an alert (the entity's open case in that queue is
        returned instead if there is one)."""
        case = await run_in_threadpool(lambda: cases.open_case(**body.model_dump()))
        return Json(case.as_dict(cases.clock()), status_code=201)

    @api.get("/v1/cases/overview")
    async def overview() -> Json:
        """Active cases per queue and status, and how many are past their SLA."""
        return Json(await run_in_threadpool(cases.overview))

    @api.post("/v1/cases/sync")
    async def sync() -> Json:
        """Open cases for new REVIEW decisions now (the server also does it every second)."""
        return Json((await run_in_threadpool(cases.sync)).as_dict())

    @api.post("/v1/cases/next")
    async def next_case(body: NextIn) -> Json:
        """Claim the most urgent case the analyst may take; 404 when none waits."""
        case = await run_in_threadpool(lambda: cases.next_case(body.analyst, queue=body.queue))
        if case is None:
            raise NotFound("case", f"waiting in {body.queue or 'any queue'}")
        return show(case)

    @api.post("/v1/cases/assign")
    async def round_robin(body: RoundRobinIn) -> Json:
        """Deal unassigned open cases to the analysts in turn."""
        dealt = await run_in_threadpool(
            lambda: cases.assign_round_robin(
                body.analysts, actor=body.actor, queue=body.queue, limit=body.limit
            )
        )
        return Json({"assigned": dealt})

    @api.post("/v1/cases/bulk")
    async def bulk(body: BulkIn) -> Json:
        """One action over many cases; each result says whether it applied."""
        args = body.model_dump(exclude={"op", "case_ids", "actor"}, exclude_none=True)
        results = await run_in_threadpool(
            lambda: cases.bulk(body.op, body.case_ids, actor=body.actor, **args)
        )
        return Json({"results": results, "applied": sum(r["ok"] for r in results)})

    @api.get("/v1/cases/{case_id}")
    async def get_case(case_id: str) -> Json:
        """The case page: each decision with its explanation (reasons, features, rule hits,
        model contributions) and labels, the entity's other cases, the timeline and notes."""
        return Json(await run_in_threadpool(cases.view, case_id))

    @api.post("/v1/cases/{case_id}/claim")
    async def claim(case_id: str, body: AnalystIn) -> Json:
        """Take the case for review; 409 if someone else holds it."""
        return show(await run_in_threadpool(cases.claim, case_id, body.analyst))

    @api.post("/v1/cases/{case_id}/release")
    async def release(case_id: str, body: AnalystIn) -> Json:
        return show(await run_in_threadpool(cases.release, case_id, body.analyst))

    @api.post("/v1/cases/{case_id}/assign")
    async def assign(case_id: str, body: AssignIn) -> Json:
        return show(
            await run_in_threadpool(lambda: cases.assign(case_id, body.analyst, actor=body.actor))
        )

    @api.post("/v1/cases/{case_id}/notes", status_code=201)
    async def note(case_id: str, body: NoteIn) -> Json:
        """Add a note (stored encrypted; card numbers in it are masked)."""
        await run_in_threadpool(cases.note, case_id, body.author, body.text)
        return Json({"case_id": case_id, "noted": True}, status_code=201)

    @api.post("/v1/cases/{case_id}/resolve")
    async def resolve(case_id: str, body: ResolveIn) -> Json:
        """The verdict: `fraud` or `not_fraud` writes an analyst label for every decision
        of the case; `escalated` sends it back to the queue at high priority. An action
        that needs four eyes waits for `approve`."""
        return show(
            await run_in_threadpool(
                lambda: cases.resolve(case_id, **body.model_dump(exclude_none=True))
            )
        )

    @api.post("/v1/cases/{case_id}/approve")
    async def approve(case_id: str, body: ApproveIn) -> Json:
        """Four eyes: a second person approves the proposed resolution."""
        return show(
            await run_in_threadpool(lambda: cases.approve(case_id, body.approver, note=body.note))
        )

    @api.post("/v1/cases/{case_id}/reject")
    async def reject(case_id: str, body: ApproveIn) -> Json:
        """Four eyes: send the proposal back to the analyst (a note says why)."""
        return show(
            await run_in_threadpool(lambda: cases.reject(case_id, body.approver, note=body.note))
        )

    @api.get("/v1/cases/{case_id}/sar", response_model=None)
    async def sar(
        case_id: str,
        actor: Annotated[str, Query(min_length=1, max_length=100)],
        format: Literal["json", "md"] = "json",
    ) -> Json | PlainTextResponse:
        """A suspicious-activity-report **draft** from the case's facts, awaiting a person's
        review and signature; `format=md` for markdown."""
        if format == "md":
            text = await run_in_threadpool(lambda: cases.sar_markdown(case_id, actor=actor))
            return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
        draft: dict[str, Any] = await run_in_threadpool(
            lambda: cases.sar_draft(case_id, actor=actor)
        )
        return Json(draft)

    return api
