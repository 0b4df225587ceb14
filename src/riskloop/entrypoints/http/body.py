"""Reading JSON request bodies ourselves (bounded, one error format), and the OpenAPI
request-body documents that say what each endpoint takes."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from riskloop.errors import FieldError, InvalidInput
from riskloop.intake import EVENT_TYPES, json_schema, latest


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit


async def json_body(request: Request, limit: int, error: type[InvalidInput] = InvalidInput) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(limit)
    body = await request.body()
    if len(body) > limit:
        raise TooLarge(limit)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise error([FieldError("body", "not valid JSON")]) from None


def json_object(payload: Any, where: str = "body") -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput([FieldError(where, "must be a JSON object")])
    return payload


def documented(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Resolve ``#/$defs/X`` references in place: inside the OpenAPI document they would
    point at its root, where there are no ``$defs`` (the contracts are not recursive)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.rsplit("/", 1)[1]], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _event_schemas() -> list[dict[str, Any]]:
    out = []
    for t in EVENT_TYPES:
        schema = json_schema(latest(t))
        for key in ("$schema", "$id"):
            schema.pop(key, None)
        defs = schema.pop("$defs", {})
        out.append(_inline(schema, defs))
    return out


def event_schema() -> dict[str, Any]:
    return {"oneOf": _event_schemas()}


_TEXT = {"type": "string", "maxLength": 500}
_AUTHOR = {"type": "string", "minLength": 1, "maxLength": 100}
_ID = {"type": "string", "pattern": "^[a-z][a-z0-9_\\-]{0,63}$"}

RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "expression", "reason", "action", "event_types", "author"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "expression": {"type": "string", "minLength": 1, "maxLength": 4000},
        "reason": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]{1,63}$"},
        "action": {"enum": ["allow", "challenge", "decline", "review", "tag"]},
        "status": {"enum": ["active", "shadow", "disabled"]},
        "priority": {"type": "integer", "minimum": 0, "maximum": 10000},
        "event_types": {"type": "array", "minItems": 1, "items": {"enum": list(EVENT_TYPES)}},
        "description": _TEXT,
        "owner": {"type": "string", "maxLength": 100},
        "author": _AUTHOR,
        "note": _TEXT,
    },
}

LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "kind", "type", "author"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"},
        "kind": {"enum": ["block", "allow", "watch"]},
        "type": {
            "enum": [
                "card_token",
                "email_hash",
                "device",
                "ip",
                "bin",
                "country",
                "merchant",
                "customer",
                "account",
            ]
        },
        "fields": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "description": _TEXT,
        "author": _AUTHOR,
    },
}

ENTRIES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["author", "entries"],
    "additionalProperties": False,
    "properties": {
        "author": _AUTHOR,
        "entries": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["value"],
                "additionalProperties": False,
                "properties": {
                    "value": {"type": "string"},
                    "reason": _TEXT,
                    "expires_at": {"type": "string", "format": "date-time"},
                },
            },
        },
    },
}

REMOVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["author", "values"],
    "additionalProperties": False,
    "properties": {
        "author": _AUTHOR,
        "values": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    },
}

_THRESHOLD = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "event_types", "author"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "event_types": {"type": "array", "minItems": 1, "items": {"enum": list(EVENT_TYPES)}},
        "rules": {"type": ["array", "null"], "items": {"type": "string"}},
        "thresholds": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"review": _THRESHOLD, "challenge": _THRESHOLD, "decline": _THRESHOLD},
        },
        "mode": {"enum": ["most_severe", "first_match"]},
        "allow_overrides_block": {"type": "boolean"},
        "step_up_method": {"enum": ["3ds", "mfa", None]},
        "status": {"enum": ["active", "shadow", "retired"]},
        "description": _TEXT,
        "author": _AUTHOR,
        "note": _TEXT,
    },
}

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "author"],
    "additionalProperties": False,
    "properties": {"status": {"type": "string"}, "author": _AUTHOR, "note": _TEXT},
}

ALIAS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["author", "reason"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": ["integer", "null"], "minimum": 1},
        "author": _AUTHOR,
        "reason": _TEXT,
    },
}

ROLLBACK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["author", "reason"],
    "additionalProperties": False,
    "properties": {"author": _AUTHOR, "reason": _TEXT},
}
