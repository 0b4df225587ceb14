"""Rules as users write them: a CEL condition plus what it means when it holds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from riskloop.errors import FieldError, InvalidInput


class Action(StrEnum):
    """What a hit asks for. ``allow`` overrides decline and review where the policy says so;
    ``tag`` only adds its reason (watch-list style)."""

    ALLOW = "allow"
    CHALLENGE = "challenge"
    DECLINE = "decline"
    REVIEW = "review"
    TAG = "tag"


class Status(StrEnum):
    ACTIVE = "active"  # decides
    SHADOW = "shadow"  # evaluated and recorded, never changes the outcome
    DISABLED = "disabled"  # not evaluated


_ID = re.compile(r"^[a-z][a-z0-9_\-]{0,63}$")
_REASON = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    expression: str
    reason: str  # the reason code a hit adds, e.g. CARD_TESTING
    action: Action
    description: str = ""
    owner: str = ""
    priority: int = 100  # lower runs first and comes first among reasons
    status: Status = Status.ACTIVE
    event_types: tuple[str, ...] = ()  # empty: every event type the policy covers
    version: int = 1
    author: str = ""  # who saved this version
    note: str = ""  # why
    saved_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "expression": self.expression,
            "reason": self.reason,
            "action": self.action.value,
            "description": self.description,
            "owner": self.owner,
            "priority": self.priority,
            "status": self.status.value,
            "event_types": list(self.event_types),
            "version": self.version,
            "author": self.author,
            "note": self.note,
            "saved_at": self.saved_at.isoformat() if self.saved_at else None,
        }

    def next_version(self, **changes: Any) -> Rule:
        return replace(self, version=self.version + 1, **changes)


RULE_FIELDS = frozenset(
    {
        "id",
        "expression",
        "reason",
        "action",
        "description",
        "owner",
        "priority",
        "status",
        "event_types",
        "author",
        "note",
    }
)


def _enum(raw: Any, kind: type[StrEnum], where: str, errors: list[FieldError]) -> Any:
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        errors.append(FieldError(where, f"must be one of {allowed}"))
        return None


def _text(raw: Any, where: str, errors: list[FieldError], *, limit: int = 500) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str) or len(raw) > limit:
        errors.append(FieldError(where, f"must be text of at most {limit} characters"))
        return ""
    return raw


def rule_from_dict(doc: Any, *, known_types: tuple[str, ...]) -> Rule:
    """Parse a rule document; every problem is reported with its field (the expression is
    type-checked separately, against the features, lists and contracts in force)."""
    if not isinstance(doc, dict):
        raise InvalidInput([FieldError("rule", "must be an object")])
    errors = [FieldError(k, "unknown field") for k in sorted(set(doc) - RULE_FIELDS)]
    rule_id = doc.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        errors.append(FieldError("id", "must be 1-64 of a-z, 0-9, _ and -, starting with a letter"))
    expression = doc.get("expression")
    if not isinstance(expression, str) or not expression.strip() or len(expression) > 4000:
        errors.append(FieldError("expression", "must be a CEL expression of 1-4000 characters"))
    reason = doc.get("reason")
    if not isinstance(reason, str) or not _REASON.match(reason):
        errors.append(FieldError("reason", "must be an UPPER_SNAKE_CASE reason code"))
    action = _enum(doc.get("action"), Action, "action", errors)
    status = _enum(doc.get("status", "active"), Status, "status", errors)
    priority = doc.get("priority", 100)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 10_000:
        errors.append(FieldError("priority", "must be an integer from 0 to 10000"))
    types = doc.get("event_types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        errors.append(FieldError("event_types", "must be a list of event types"))
        types = []
    for i, t in enumerate(types):
        if t not in known_types:
            errors.append(FieldError(f"event_types[{i}]", f"unknown event type {t!r}"))
    description = _text(doc.get("description"), "description", errors)
    owner = _text(doc.get("owner"), "owner", errors, limit=100)
    author = _text(doc.get("author"), "author", errors, limit=100)
    note = _text(doc.get("note"), "note", errors)
    if errors:
        raise InvalidInput(errors)
    return Rule(
        id=rule_id,  # type: ignore[arg-type]
        expression=expression.strip(),  # type: ignore[union-attr]
        reason=reason,  # type: ignore[arg-type]
        action=action,
        description=description,
        owner=owner,
        priority=priority,
        status=status,
        event_types=tuple(types),
        author=author,
        note=note,
    )
