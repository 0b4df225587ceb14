"""Rules, lists and policies: validated, versioned, every change audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http.body import (
    ENTRIES_SCHEMA,
    LIST_SCHEMA,
    POLICY_SCHEMA,
    REMOVE_SCHEMA,
    RULE_SCHEMA,
    STATUS_SCHEMA,
    documented,
    json_body,
    json_object,
)
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import FieldError, InvalidInput

Id = Annotated[str, Path(max_length=64)]


def _author(doc: dict[str, Any]) -> str:
    author = doc.get("author")
    if not isinstance(author, str) or not author.strip() or len(author) > 100:
        raise InvalidInput([FieldError("author", "say who makes the change (1-100 characters)")])
    return author.strip()


def _note(doc: dict[str, Any]) -> str:
    note = doc.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        raise InvalidInput([FieldError("note", "must be text of at most 500 characters")])
    return note


def _only(doc: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise InvalidInput([FieldError(k, "unknown field") for k in unknown])


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter()
    limit = rl.settings.max_body_bytes
    catalog = rl.catalog

    async def body(request: Request) -> dict[str, Any]:
        return json_object(await json_body(request, limit))

    # -- rules ----------------------------------------------------------------------------

    @api.get("/v1/rules", tags=["rules"])
    async def list_rules() -> dict[str, Any]:
        """The latest version of every rule."""
        rules = await run_in_threadpool(catalog.rules)
        return {"rules": [r.as_dict() for r in rules]}

    @api.post("/v1/rules", tags=["rules"], openapi_extra=documented(RULE_SCHEMA), status_code=201)
    async def save_rule(request: Request) -> Json:
        """Create a rule or save its next version. The CEL expression is type-checked against
        the event contracts, the feature set and the lists: errors give line and column."""
        doc = await body(request)
        rule = await run_in_threadpool(catalog.save_rule, doc)
        return Json(rule.as_dict(), status_code=201)

    @api.post("/v1/rules/validate", tags=["rules"], openapi_extra=documented(RULE_SCHEMA))
    async def validate_rule(request: Request) -> dict[str, Any]:
        """Check a rule without saving it (the editor's live validation)."""
        doc = await body(request)
        doc.pop("author", None)
        rule = await run_in_threadpool(catalog.check_rule, doc)
        return {"valid": True, "rule": rule.as_dict()}

    @api.get("/v1/rules/{rule_id}", tags=["rules"])
    async def get_rule(rule_id: Id) -> dict[str, Any]:
        rule = await run_in_threadpool(catalog.rule, rule_id)
        return rule.as_dict()

    @api.get("/v1/rules/{rule_id}/versions", tags=["rules"])
    async def rule_versions(rule_id: Id) -> dict[str, Any]:
        """Every version: who changed what, when and why."""
        history = await run_in_threadpool(catalog.rule_history, rule_id)
        return {"versions": [r.as_dict() for r in history]}

    @api.post("/v1/rules/{rule_id}/status", tags=["rules"], openapi_extra=documented(STATUS_SCHEMA))
    async def rule_status(rule_id: Id, request: Request) -> dict[str, Any]:
        """Activate, shadow or disable a rule (a new version)."""
        doc = await body(request)
        _only(doc, {"status", "author", "note"})
        status = doc.get("status")
        if status not in ("active", "shadow", "disabled"):
            raise InvalidInput([FieldError("status", "must be active, shadow or disabled")])
        rule = await run_in_threadpool(
            catalog.set_rule_status, rule_id, status, _author(doc), _note(doc)
        )
        return rule.as_dict()

    # -- lists ----------------------------------------------------------------------------

    @api.get("/v1/lists", tags=["lists"])
    async def get_lists() -> dict[str, Any]:
        lists = await run_in_threadpool(catalog.lists)
        return {"lists": [d.as_dict() for d in lists]}

    @api.post("/v1/lists", tags=["lists"], openapi_extra=documented(LIST_SCHEMA), status_code=201)
    async def save_list(request: Request) -> Json:
        """Create a list (or change its description, kind or fields)."""
        doc = await body(request)
        definition = await run_in_threadpool(catalog.save_list, doc)
        return Json(definition.as_dict(), status_code=201)

    @api.get("/v1/lists/{name}", tags=["lists"])
    async def get_list(name: Id) -> dict[str, Any]:
        definition = await run_in_threadpool(catalog.list_def, name)
        return definition.as_dict()

    @api.delete("/v1/lists/{name}", tags=["lists"])
    async def delete_list(
        name: Id, author: Annotated[str, Query(min_length=1, max_length=100)]
    ) -> dict[str, Any]:
        """Delete a list and its entries; refused while an enabled rule uses it."""
        who = _author({"author": author})
        await run_in_threadpool(catalog.delete_list, name, who)
        return {"deleted": name}

    @api.get("/v1/lists/{name}/entries", tags=["lists"])
    async def list_entries(name: Id) -> dict[str, Any]:
        entries = await run_in_threadpool(catalog.entries, name)
        return {"entries": [e.as_dict() for e in entries]}

    @api.post(
        "/v1/lists/{name}/entries",
        tags=["lists"],
        openapi_extra=documented(ENTRIES_SCHEMA),
        status_code=201,
    )
    async def add_entries(name: Id, request: Request) -> Json:
        """Add entries (all or none). Card numbers and e-mail addresses are accepted and
        stored only as their token or keyed hash."""
        doc = await body(request)
        _only(doc, {"author", "entries"})
        author = _author(doc)
        n = await run_in_threadpool(catalog.add_entries, name, doc.get("entries"), author)
        return Json({"list": name, "added": n}, status_code=201)

    @api.post(
        "/v1/lists/{name}/entries/remove", tags=["lists"], openapi_extra=documented(REMOVE_SCHEMA)
    )
    async def remove_entries(name: Id, request: Request) -> dict[str, Any]:
        doc = await body(request)
        _only(doc, {"author", "values"})
        author = _author(doc)
        n = await run_in_threadpool(catalog.remove_entries, name, doc.get("values"), author)
        return {"list": name, "removed": n}

    # -- policies -------------------------------------------------------------------------

    @api.get("/v1/policies", tags=["policies"])
    async def get_policies() -> dict[str, Any]:
        """Every version of every policy, with its status."""
        policies = await run_in_threadpool(catalog.policies)
        return {"policies": [p.as_dict() for p in policies]}

    @api.post(
        "/v1/policies", tags=["policies"], openapi_extra=documented(POLICY_SCHEMA), status_code=201
    )
    async def save_policy(request: Request) -> Json:
        """Save a policy's next version: active (the default; the previous active version
        goes to shadow) or shadow (evaluated beside, never deciding)."""
        doc = await body(request)
        policy = await run_in_threadpool(catalog.save_policy, doc)
        return Json(policy.as_dict(), status_code=201)

    @api.get("/v1/policies/{policy_id}", tags=["policies"])
    async def policy_versions(policy_id: Id) -> dict[str, Any]:
        versions = await run_in_threadpool(catalog.policy_versions, policy_id)
        return {"versions": [p.as_dict() for p in versions]}

    @api.post(
        "/v1/policies/{policy_id}/versions/{version}/status",
        tags=["policies"],
        openapi_extra=documented(STATUS_SCHEMA),
    )
    async def policy_status(
        policy_id: Id, version: Annotated[int, Path(ge=1, le=1_000_000)], request: Request
    ) -> dict[str, Any]:
        """Make a version active (one per policy and event type), shadow or retired."""
        doc = await body(request)
        _only(doc, {"status", "author", "note"})
        status = doc.get("status")
        if not isinstance(status, str):
            raise InvalidInput([FieldError("status", "must be active, shadow or retired")])
        policy = await run_in_threadpool(
            catalog.set_policy_status, policy_id, version, status, _author(doc), _note(doc)
        )
        return policy.as_dict()

    # -- audit ----------------------------------------------------------------------------

    @api.get("/v1/audit", tags=["audit"])
    async def audit(
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """The audit chain: every change to rules, lists and policies, hash-linked."""
        entries = await run_in_threadpool(
            lambda: catalog.store.audit().entries(after=after, limit=limit)
        )
        return {"entries": [e.as_dict() for e in entries]}

    return api
