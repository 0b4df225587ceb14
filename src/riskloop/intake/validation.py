"""Turning untrusted input into a validated contract, or an error naming each broken field.

>>> validate_event({"event_type": "login"}).event_id  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
riskloop.errors.InvalidEvent: event_id: required; ...
>>> try:
...     validate_event({"event_type": "card_payment", "card": {"cvv": "123"}})
... except ForbiddenData as e:
...     print(e.field)
card.cvv
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from riskloop.errors import FieldError, ForbiddenData, InvalidEvent
from riskloop.intake.contracts import EventBase
from riskloop.intake.registry import CONTRACTS, EVENT_TYPES, ContractSpec, latest

# Sensitive authentication data: PCI DSS forbids storing it after authorisation, even
# encrypted, so it is refused wherever it appears and stripped before a dead-letter record.
FORBIDDEN_KEYS = frozenset(
    {
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "cid",
        "csc",
        "track",
        "track1",
        "track2",
        "track_data",
        "pin",
        "pin_block",
        "pinblock",
    }
)
_FORBIDDEN_REASON = "sensitive authentication data (CVV, track data, PIN) must never be sent"

_REASONS = {
    "missing": "required",
    "extra_forbidden": "unknown field",
}


_UNION_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "date", "datetime"})


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (
        part in _UNION_TAGS or part.startswith("constrained-") or "[" in part
    )


def path_of(loc: tuple[str | int, ...]) -> str:
    """``('payee', 'name')`` -> ``payee.name``; ``('reasons', 2)`` -> ``reasons[2]``.

    pydantic ends the location of an error inside a union with the branch it tried
    (``int``, ``constrained-str``); that is not a field, so it is left out — only at the end,
    so that a metadata key called ``int`` or ``order-ref`` keeps its name.
    """
    if loc and len(loc) > 1 and _is_union_tag(loc[-1]):
        loc = loc[:-1]
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _forbidden_paths(value: Any, prefix: str = "") -> list[str]:
    """Paths of sensitive-authentication-data keys anywhere in ``value`` (runs on every
    event, so dicts without such a key are skipped with one set operation)."""
    found: list[str] = []
    if isinstance(value, dict):
        if not FORBIDDEN_KEYS.isdisjoint(value) or not all(
            type(k) is str and k.islower() for k in value
        ):
            for key in value:
                if isinstance(key, str) and key.lower() in FORBIDDEN_KEYS:
                    found.append(f"{prefix}.{key}" if prefix else key)
        for key, item in value.items():
            if type(item) is dict or type(item) is list:
                found.extend(_forbidden_paths(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                found.extend(_forbidden_paths(item, f"{prefix}[{i}]"))
    return found


_FORBIDDEN_IN_TEXT = re.compile(
    r"""(?ix)
    (["']?(?:[a-z0-9_]+\.)*(?:"""
    + "|".join(sorted(FORBIDDEN_KEYS, key=len, reverse=True))
    + r""")["']?
     \s*[:=]\s*)
    ("[^"]*"|'[^']*'|[^,;}\s]*)
    """
)


def _forbidden_key(key: object) -> bool:
    # Flat files name nested fields with dots: "card.cvv" is a CVV too.
    return isinstance(key, str) and key.lower().rsplit(".", 1)[-1] in FORBIDDEN_KEYS


def strip_forbidden(value: Any) -> Any:
    """A copy of ``value`` without sensitive authentication data: such keys are dropped, and
    in text that could not be parsed (a broken JSON line) their values are blanked."""
    if isinstance(value, dict):
        return {k: strip_forbidden(v) for k, v in value.items() if not _forbidden_key(k)}
    if isinstance(value, list):
        return [strip_forbidden(v) for v in value]
    if isinstance(value, str):
        return _FORBIDDEN_IN_TEXT.sub(lambda m: m.group(1) + '"[removed]"', value)
    return value


def _reason(error: Any) -> str:
    reason = _REASONS.get(error["type"])
    if reason:
        return reason
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ")


def translate(exc: ValidationError) -> InvalidEvent:
    by_path: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(err["loc"])
        reason = _reason(err)
        # A model-level rule that names its own field ("reason_code: ...") points there.
        if ": " in reason and not loc:
            head, tail = reason.split(": ", 1)
            if head.isidentifier():
                loc, reason = (head,), tail
        reasons = by_path.setdefault(path_of(loc), [])
        if reason not in reasons:
            reasons.append(reason)
    # Several reasons for one path come from the branches of a union: any one would do.
    return InvalidEvent([FieldError(p, " or ".join(r)) for p, r in by_path.items()])


def contract_for(payload: dict[str, Any]) -> ContractSpec:
    event_type = payload.get("event_type")
    if event_type is None:
        raise InvalidEvent([FieldError("event_type", f"required; one of {', '.join(EVENT_TYPES)}")])
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        raise InvalidEvent(
            [FieldError("event_type", f"unknown event type; one of {', '.join(EVENT_TYPES)}")]
        )
    version = payload.get("schema_version")
    if version is None:
        return latest(event_type)
    spec = CONTRACTS.get((event_type, version)) if type(version) is int else None
    if spec is None:
        known = sorted(v for t, v in CONTRACTS if t == event_type)
        raise InvalidEvent(
            [FieldError("schema_version", f"unknown version for {event_type}; known: {known}")]
        )
    return spec


def validate_event(payload: object) -> EventBase:
    """Validate one event; raises :class:`InvalidEvent` (never anything else) when it breaks
    its contract."""
    if not isinstance(payload, dict):
        raise InvalidEvent([FieldError("", "expected a JSON object")])
    forbidden = _forbidden_paths(payload)
    if forbidden:
        raise ForbiddenData([FieldError(p, _FORBIDDEN_REASON) for p in forbidden])
    spec = contract_for(payload)
    try:
        return spec.model.model_validate(payload)
    except ValidationError as exc:
        raise translate(exc) from None
    except (TypeError, ValueError, RecursionError) as exc:
        # pydantic reports almost everything as ValidationError; anything else is still the
        # caller's input, not our bug, and must not escape as a 500.
        raise InvalidEvent([FieldError("", f"unreadable input ({type(exc).__name__})")]) from None
