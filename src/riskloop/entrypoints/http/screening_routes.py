"""Screening and KYC over HTTP: search a name against the sanctions/PEP lists, work the hits
that continuous screening raised (confirm, or not-a-match with a note and an expiry), manage
suppressions, read list versions and KYC profiles.

Loading a list reads files on the server or fetches a URL, so it is an operator's action
(``riskloop lists load``, the ``lists-refresh`` job), not an HTTP endpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http.body import documented, json_body, json_object
from riskloop.entrypoints.http.catalog_routes import _only
from riskloop.errors import FieldError, InvalidInput
from riskloop.screening.model import EntityKind
from riskloop.service.screening import QUERY_FIELDS, parse_query

RowId = Annotated[int, Path(ge=1, le=2**62)]
CustomerId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]

_ACTOR = {"type": "string", "minLength": 1, "maxLength": 100}
_WHEN = {"type": ["string", "null"], "format": "date-time"}
SEARCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "kind": {"enum": [k.value for k in EntityKind]},
        "date_of_birth": {"type": "string", "pattern": "^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"},
        "country": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
        "identifiers": {"type": "array", "maxItems": 10, "items": {"type": "string"}},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
        "min_score": {"type": "number", "minimum": 0, "maximum": 1},
    },
}
RESOLVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["verdict", "actor"],
    "additionalProperties": False,
    "properties": {
        "verdict": {"enum": ["confirmed", "false_positive"]},
        "note": {"type": "string", "maxLength": 2000},
        "expires_at": _WHEN,
        "actor": _ACTOR,
    },
}
SUPPRESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customer_id", "source", "entry_id", "note", "actor"],
    "additionalProperties": False,
    "properties": {
        "customer_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "source": {"type": "string", "minLength": 1, "maxLength": 64},
        "entry_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "note": {"type": "string", "minLength": 1, "maxLength": 2000},
        "expires_at": _WHEN,
        "actor": _ACTOR,
    },
}
ACTOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["actor"],
    "additionalProperties": False,
    "properties": {"actor": _ACTOR, "full": {"type": "boolean"}},
}


def _text(doc: dict[str, Any], name: str, most: int, *, required: bool = True) -> str:
    value = doc.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > most:
        raise InvalidInput([FieldError(name, f"text of 1 to {most} characters")])
    return value.strip()


def _when(doc: dict[str, Any], name: str) -> datetime | None:
    raw = doc.get(name)
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise InvalidInput([FieldError(name, "an ISO 8601 date and time with a timezone")])
    return when


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["screening"])
    limit = rl.settings.max_body_bytes
    screening, kyc = rl.screening, rl.kyc

    async def body(request: Request) -> dict[str, Any]:
        return json_object(await json_body(request, limit))

    @api.post("/v1/screening/search", openapi_extra=documented(SEARCH_SCHEMA))
    async def search(request: Request) -> dict[str, Any]:
        """Screen one name (with date of birth, country and identifiers as supporting or
        conflicting evidence) against every loaded list; each match has a score in [0, 1],
        whether it reaches the alert threshold, and what matched."""
        doc = await body(request)
        _only(doc, set(SEARCH_SCHEMA["properties"]))
        query = parse_query({k: v for k, v in doc.items() if k in QUERY_FIELDS})
        n = doc.get("limit", 10)
        if not isinstance(n, int) or isinstance(n, bool):
            raise InvalidInput([FieldError("limit", "must be from 1 to 100")])
        floor = doc.get("min_score")
        if floor is not None and (isinstance(floor, bool) or not isinstance(floor, int | float)):
            raise InvalidInput([FieldError("min_score", "must be a number from 0 to 1")])
        matches = await run_in_threadpool(lambda: screening.search(query, limit=n, min_score=floor))
        return {
            "matches": matches,
            "thresholds": {
                "alert": screening.thresholds.alert,
                "ignore": screening.thresholds.ignore,
            },
            "lists": screening.versions(),
        }

    @api.get("/v1/screening/lists")
    async def lists(source: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
        """Loaded list versions, newest first, each with its diff from the one before."""
        found = await run_in_threadpool(lambda: screening.store.history(source))
        return {"lists": found, "current": screening.versions()}

    @api.get("/v1/screening/hits")
    async def hits(
        status: Annotated[str | None, Query(max_length=16)] = None,
        customer_id: Annotated[str | None, Query(max_length=128)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> dict[str, Any]:
        """Potential matches found by screening customers, newest first."""
        found = await run_in_threadpool(
            lambda: screening.hits(
                status=status, customer_id=customer_id, limit=limit, offset=offset
            )
        )
        return {"hits": [h.as_dict() for h in found], "limit": limit, "offset": offset}

    @api.post("/v1/screening/hits/{hit_id}/resolve", openapi_extra=documented(RESOLVE_SCHEMA))
    async def resolve(hit_id: RowId, request: Request) -> dict[str, Any]:
        """``confirmed``, or ``false_positive``: the entry is then suppressed for this customer
        (with the note, until ``expires_at`` if given) until the list entry changes."""
        doc = await body(request)
        _only(doc, set(RESOLVE_SCHEMA["properties"]))
        actor = _text(doc, "actor", 100)
        verdict = doc.get("verdict")
        if verdict not in ("confirmed", "false_positive"):
            raise InvalidInput([FieldError("verdict", "confirmed or false_positive")])
        note = _text(doc, "note", 2000, required=verdict == "false_positive")
        expires = _when(doc, "expires_at")
        done = await run_in_threadpool(
            lambda: screening.resolve(hit_id, verdict, actor=actor, note=note, expires_at=expires)
        )
        return done.as_dict()

    @api.get("/v1/screening/suppressions")
    async def suppressions(
        customer_id: Annotated[str | None, Query(max_length=128)] = None,
    ) -> dict[str, Any]:
        """Active not-a-match decisions (notes stay sealed; the CLI reveals them)."""
        found = await run_in_threadpool(lambda: screening.suppressions(customer_id))
        return {"suppressions": found}

    @api.post(
        "/v1/screening/suppressions", openapi_extra=documented(SUPPRESS_SCHEMA), status_code=201
    )
    async def suppress(request: Request) -> dict[str, Any]:
        """Mark a list entry as not this customer, with a note (and an optional expiry)."""
        doc = await body(request)
        _only(doc, set(SUPPRESS_SCHEMA["properties"]))
        customer = _text(doc, "customer_id", 128)
        source = _text(doc, "source", 64)
        entry = _text(doc, "entry_id", 64)
        note = _text(doc, "note", 2000)
        actor = _text(doc, "actor", 100)
        expires = _when(doc, "expires_at")
        s = await run_in_threadpool(
            lambda: screening.suppress(
                customer, source, entry, note=note, author=actor, expires_at=expires
            )
        )
        return s.as_dict()

    @api.post(
        "/v1/screening/suppressions/{suppression_id}/revoke",
        openapi_extra=documented(ACTOR_SCHEMA),
    )
    async def revoke(suppression_id: RowId, request: Request) -> dict[str, Any]:
        doc = await body(request)
        _only(doc, {"actor"})
        actor = _text(doc, "actor", 100)
        await run_in_threadpool(lambda: screening.revoke(suppression_id, actor=actor))
        return {"revoked": suppression_id}

    @api.post("/v1/screening/rescreen", openapi_extra=documented(ACTOR_SCHEMA))
    async def rescreen(request: Request) -> dict[str, Any]:
        """Screen now every customer behind the current list versions (``full``: every
        customer against whole lists); new hits raise tasks."""
        doc = await body(request)
        _only(doc, set(ACTOR_SCHEMA["properties"]))
        _text(doc, "actor", 100)
        full = doc.get("full", False)
        if not isinstance(full, bool):
            raise InvalidInput([FieldError("full", "true or false")])
        report = await run_in_threadpool(lambda: screening.rescreen(full=full))
        return report.as_dict()

    @api.get("/v1/kyc")
    async def profiles(
        sanctions_status: Annotated[str | None, Query(max_length=24)] = None,
        due_within_days: Annotated[int | None, Query(ge=0, le=36500)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> dict[str, Any]:
        """KYC/KYB profiles by screening status or review due date (no PII)."""

        def run() -> list[dict[str, Any]]:
            kyc.sync(max_events=2000)  # a read catches up a little; the job the rest
            found = kyc.search(
                sanctions_status=sanctions_status,
                due_within_days=due_within_days,
                limit=limit,
                offset=offset,
            )
            return [p.as_dict() for p in found]

        return {"profiles": await run_in_threadpool(run), "limit": limit, "offset": offset}

    @api.get("/v1/kyc/{customer_id}")
    async def profile(customer_id: CustomerId) -> dict[str, Any]:
        """One customer's KYC profile and screening hits (the subject's PII stays sealed)."""

        def run() -> dict[str, Any]:
            kyc.sync(max_events=2000)  # a read catches up a little; the job the rest
            return kyc.get(customer_id)

        return await run_in_threadpool(run)

    return api
