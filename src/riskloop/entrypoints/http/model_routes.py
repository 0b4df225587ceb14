"""The model registry over HTTP: versions with their metrics, lineage and cards; aliases
(champion, challenger) set, removed and rolled back with who and why; what is serving."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http.body import (
    ALIAS_SCHEMA,
    ROLLBACK_SCHEMA,
    documented,
    json_body,
    json_object,
)
from riskloop.entrypoints.http.catalog_routes import _author, _only
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import FieldError, InvalidInput
from riskloop.service.models import recorded

Name = Annotated[str, Path(max_length=64)]
Version = Annotated[int, Path(ge=1, le=1_000_000)]
Alias = Annotated[str, Path(max_length=32)]


def _reason(doc: dict[str, Any]) -> str:
    reason = doc.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise InvalidInput([FieldError("reason", "say why (1-500 characters)")])
    return reason.strip()


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["models"])
    limit = rl.settings.max_body_bytes
    models = rl.models

    async def body(request: Request) -> dict[str, Any]:
        return json_object(await json_body(request, limit))

    @api.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        """Every registered version with its aliases and test-window figures, and which
        model serves each event type in this process."""
        rows = await run_in_threadpool(models.overview)
        return {"models": rows, "serving": models.slots.serving()}

    @api.get("/v1/models/{name}/versions/{version}")
    async def get_version(name: Name, version: Version) -> dict[str, Any]:
        """One version: metrics (test window, baseline, segments), lineage and parameters."""
        found = await run_in_threadpool(models.registry.version, name, version)
        return found.as_dict()

    @api.get("/v1/models/{name}/versions/{version}/card", response_model=None)
    async def get_card(
        name: Name, version: Version, format: str = "html"
    ) -> HTMLResponse | PlainTextResponse:
        """The model card, as a self-contained HTML page or as markdown (``format=md``)."""
        if format not in ("html", "md"):
            raise InvalidInput([FieldError("format", "html or md")])
        data = await run_in_threadpool(models.card, name, version, format)
        if format == "html":
            # Inline styles and data: images only; nothing in a card may load or run.
            policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
            return HTMLResponse(data.decode(), headers={"Content-Security-Policy": policy})
        return PlainTextResponse(data.decode(), media_type="text/markdown")

    @api.get("/v1/models/{name}/shadow")
    async def shadow(
        name: Name,
        since: datetime | None = None,
        review_rate: Annotated[float, Query(gt=0, le=0.5)] = 0.01,
    ) -> dict[str, Any]:
        """Champion against challenger on the decisions both scored (since ``since``):
        agreement, flags at the champion's review rate, PSI, and ranking by the fraud
        labels known now."""
        if since is not None and since.tzinfo is None:
            raise InvalidInput([FieldError("since", "must carry a timezone")])

        def report() -> dict[str, Any]:
            labels = rl.features.labels_as_of(datetime.now(UTC))
            decisions = recorded(rl.ledger, since)
            return models.shadow_report(name, decisions, labels, review_rate=review_rate)

        return await run_in_threadpool(report)

    @api.get("/v1/models/{name}/aliases")
    async def alias_history(name: Name) -> dict[str, Any]:
        """Every change of the model's aliases, oldest first (append-only)."""
        changes = await run_in_threadpool(models.registry.history, name)
        return {"changes": [c.as_dict() for c in changes]}

    @api.put("/v1/models/{name}/aliases/{alias}", openapi_extra=documented(ALIAS_SCHEMA))
    async def set_alias(name: Name, alias: Alias, request: Request) -> Json:
        """Point ``champion`` or ``challenger`` at a version (``version: null`` removes the
        alias). Serving switches without a restart; the change is audited."""
        doc = await body(request)
        _only(doc, {"version", "author", "reason"})
        version = doc.get("version")
        if version is not None and (
            not isinstance(version, int) or isinstance(version, bool) or version < 1
        ):
            raise InvalidInput([FieldError("version", "a version number, or null to remove")])
        author, reason = _author(doc), _reason(doc)
        if version is None:
            change = await run_in_threadpool(
                lambda: models.retire(name, alias, author=author, reason=reason)
            )
        else:
            change = await run_in_threadpool(
                lambda: models.promote(name, version, alias=alias, author=author, reason=reason)
            )
        return Json(change.as_dict())

    @api.post(
        "/v1/models/{name}/aliases/{alias}/rollback", openapi_extra=documented(ROLLBACK_SCHEMA)
    )
    async def rollback(name: Name, alias: Alias, request: Request) -> Json:
        """Point the alias back at the version it held before its latest change."""
        doc = await body(request)
        _only(doc, {"author", "reason"})
        author, reason = _author(doc), _reason(doc)
        change = await run_in_threadpool(
            lambda: models.rollback(name, alias=alias, author=author, reason=reason)
        )
        return Json(change.as_dict())

    return api
