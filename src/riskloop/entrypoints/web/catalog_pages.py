"""``/rules``: the rules, lists and policies editor.

The rule editor posts the form to ``/rules/validate`` as the author types (htmx, debounced)
and shows what ``rl.catalog`` says — the same type check, with line and column, that a save
runs. Saving writes the rule's next version (audited, live within a second everywhere); the
backtest button replays the recent decisions with the edited rule and polls until the report
is done.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.web.forms import Fields, form_fields
from riskloop.entrypoints.web.guard import actor, field_errors
from riskloop.entrypoints.web.render import page
from riskloop.errors import InvalidDefinition, InvalidInput, NotFound
from riskloop.intake import EVENT_TYPES
from riskloop.policy.model import PolicyStatus
from riskloop.rules.model import Action, Rule, Status
from riskloop.service.backtest import parse_spec

PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/rules"): "rules:read",
    ("GET", "/new-rule"): "rules:read",
    ("GET", "/rules/{rule_id}"): "rules:read",
    # Checking changes nothing, so whoever may read rules may try an expression.
    ("POST", "/rules/validate"): "rules:read",
    ("POST", "/rules"): "rules:write",
    ("POST", "/backtests"): "rules:write",
    ("GET", "/backtests/{backtest_id}"): "rules:read",
    ("GET", "/lists/{name}"): "rules:read",
    ("POST", "/lists/{name}/entries"): "lists:write",
    ("POST", "/lists/{name}/entries/remove"): "lists:write",
    ("POST", "/policies/{policy_id}/{version}/status"): "rules:write",
}

BLANK: dict[str, Any] = {
    "id": "",
    "expression": "",
    "reason": "",
    "action": "review",
    "description": "",
    "owner": "",
    "priority": 100,
    "status": "shadow",  # a new rule starts by watching, not deciding
    "event_types": [],
    "version": 0,
    "author": "",
    "note": "",
    "saved_at": None,
}


def rule_doc(fields: Fields) -> dict[str, Any]:
    """The editor's form as a rule document for the catalogue (which checks every field)."""
    raw_priority = fields.raw("priority")
    priority: Any = raw_priority
    if raw_priority.lstrip("-").isdigit() and len(raw_priority) < 10:
        priority = int(raw_priority)
    doc: dict[str, Any] = {
        "id": fields.raw("id"),
        "expression": str(fields.values.get("expression") or ""),
        "reason": fields.raw("reason"),
        "action": fields.raw("action"),
        "priority": priority if raw_priority else 100,
        "status": fields.raw("status") or "active",
        "event_types": fields.many("event_types"),
    }
    for name in ("description", "owner", "note"):
        if fields.raw(name):
            doc[name] = fields.raw(name)
    return doc


def _editor(rule: dict[str, Any], *, new: bool) -> dict[str, Any]:
    return {
        "rule": rule,
        "new": new,
        "actions": [a.value for a in Action],
        "statuses": [s.value for s in Status],
        "event_types": EVENT_TYPES,
    }


def add_routes(api: APIRouter, rl: Riskloop) -> None:
    catalog = rl.catalog

    @api.get("/rules", include_in_schema=False)
    async def rules(request: Request) -> Response:
        def load() -> dict[str, Any]:
            return {
                "rules": sorted(catalog.rules(), key=lambda r: (r.priority, r.id)),
                "lists": catalog.lists(),
                "policies": sorted(catalog.policies(), key=lambda p: (p.id, -p.version)),
                "backtests": rl.backtests.recent(10),
                "policy_statuses": [s.value for s in PolicyStatus],
            }

        return page(request, "rules.html", await run_in_threadpool(load))

    @api.get("/new-rule", include_in_schema=False)
    async def new_rule(request: Request) -> Response:
        return page(request, "rule.html", {**_editor(dict(BLANK), new=True), "history": []})

    @api.get("/rules/{rule_id}", include_in_schema=False)
    async def rule_page(request: Request, rule_id: str) -> Response:
        history: list[Rule] = await run_in_threadpool(catalog.rule_history, rule_id[:64])
        context = _editor(history[-1].as_dict(), new=False)
        return page(request, "rule.html", {**context, "history": list(reversed(history))})

    @api.post("/rules/validate", include_in_schema=False)
    async def validate(request: Request) -> Response:
        doc = rule_doc(await form_fields(request))
        try:
            rule = await run_in_threadpool(catalog.check_rule, doc)
        except (InvalidInput, InvalidDefinition) as exc:
            context = {"valid": False, "errors": field_errors(exc)}
            return page(request, "_validation.html", context)
        return page(request, "_validation.html", {"valid": True, "rule": rule, "errors": []})

    @api.post("/rules", include_in_schema=False)
    async def save(request: Request) -> Response:
        doc = rule_doc(await form_fields(request))
        doc["author"] = actor(request)
        try:
            saved = await run_in_threadpool(catalog.save_rule, doc)
        except (InvalidInput, InvalidDefinition) as exc:  # shown where the result goes
            context = {"valid": False, "errors": field_errors(exc)}
            headers = {"HX-Retarget": "#save-result", "HX-Reswap": "innerHTML"}
            return page(request, "_validation.html", context, status=422, headers=headers)
        return page(request, "_saved.html", {"rule": saved})

    @api.post("/backtests", include_in_schema=False)
    async def backtest(request: Request) -> Response:
        fields = await form_fields(request)
        days = fields.integer("days", 1, 90, default=7)
        fields.done()
        doc = rule_doc(fields)
        until = datetime.now(UTC)
        spec = parse_spec(
            {
                "since": (until - timedelta(days=days)).isoformat(),
                "until": until.isoformat(),
                "rules": [doc],
                "note": f"dashboard: rule {doc['id']}",
            }
        )
        who = actor(request)
        backtest_id = await run_in_threadpool(lambda: rl.backtests.start(spec, author=who))
        found = await run_in_threadpool(rl.backtests.get, backtest_id)
        return page(request, "_backtest.html", {"bt": found})

    @api.get("/backtests/{backtest_id}", include_in_schema=False)
    async def backtest_status(request: Request, backtest_id: str) -> Response:
        found = await run_in_threadpool(rl.backtests.get, backtest_id[:48])
        return page(request, "_backtest.html", {"bt": found})

    # -- lists ----------------------------------------------------------------------------

    @api.get("/lists/{name}", include_in_schema=False)
    async def list_page(request: Request, name: str) -> Response:
        def load() -> dict[str, Any]:
            definition = catalog.list_def(name[:64])
            entries = sorted(catalog.entries(definition.name), key=lambda e: e.added_at)
            return {"list": definition, "entries": entries[-1000:], "total": len(entries)}

        return page(request, "list.html", await run_in_threadpool(load))

    @api.post("/lists/{name}/entries", include_in_schema=False)
    async def add_entry(request: Request, name: str) -> Response:
        fields = await form_fields(request)
        entry: dict[str, Any] = {
            "value": fields.text("value", 512, required=True),
            "reason": fields.text("reason", 500),
        }
        expires = fields.moment("expires_at")
        fields.done()
        if expires is not None:
            entry["expires_at"] = expires.isoformat()
        who = actor(request)
        await run_in_threadpool(lambda: catalog.add_entries(name[:64], [entry], who))
        return Response(status_code=204, headers={"HX-Redirect": f"/lists/{name[:64]}"})

    @api.post("/lists/{name}/entries/remove", include_in_schema=False)
    async def remove_entry(request: Request, name: str) -> Response:
        fields = await form_fields(request)
        value = fields.text("value", 512, required=True)
        fields.done()
        who = actor(request)
        removed = await run_in_threadpool(lambda: catalog.remove_entries(name[:64], [value], who))
        if not removed:
            raise NotFound("list entry", value)
        return Response(status_code=204, headers={"HX-Redirect": f"/lists/{name[:64]}"})

    # -- policies -------------------------------------------------------------------------

    @api.post("/policies/{policy_id}/{version}/status", include_in_schema=False)
    async def policy_status(request: Request, policy_id: str, version: str) -> Response:
        posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        fields = Fields({**posted, "version": version})
        number = fields.integer("version", 1, 1_000_000, default=0)
        status = fields.choice("status", [s.value for s in PolicyStatus])
        note = fields.text("note", 500)
        if status is None and not fields.errors:
            fields.fail("status", "required")
        fields.done()
        who = actor(request)
        await run_in_threadpool(
            lambda: catalog.set_policy_status(policy_id[:64], number, str(status), who, note)
        )
        return Response(status_code=204, headers={"HX-Redirect": "/rules#policies"})
