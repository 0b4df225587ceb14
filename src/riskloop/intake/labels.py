"""What a client sends to ``POST /v1/labels`` (and in a label file), turned into the
``label`` event that the log keeps.

A client names its own ``label_id`` (the idempotency key), the labelled ``event_id`` or
``match`` keys, and ``reported_at`` (when the outcome became known; now if left out). The
log's names differ (a label is an event too: ``label:<label_id>``, ``target_event_id``,
``occurred_at``), so errors are renamed back to the names the client used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from riskloop.errors import FieldError, InvalidEvent

LABEL_FIELDS = frozenset(
    {
        "label_id",
        "kind",
        "event_id",
        "match",
        "fraud",
        "network",
        "reason_code",
        "reversal",
        "amount",
        "currency",
        "author",
        "case_id",
        "note",
        "reported_at",
    }
)
LABEL_PREFIX = "label:"
_TO_LOG = {"label_id": "event_id", "event_id": "target_event_id", "reported_at": "occurred_at"}
_FROM_LOG = {v: k for k, v in _TO_LOG.items()}


def label_event_id(label_id: str) -> str:
    return LABEL_PREFIX + label_id


def client_label_id(event_id: str) -> str:
    return event_id.removeprefix(LABEL_PREFIX)


def to_log_payload(body: object, now: datetime) -> dict[str, Any]:
    """The ``label`` event for a client's label; InvalidEvent names the client's fields."""
    if not isinstance(body, dict):
        raise InvalidEvent([FieldError("label", "expected a JSON object")])
    errors = [FieldError(str(k), "unknown field") for k in body if k not in LABEL_FIELDS]
    if "label_id" not in body:
        errors.append(FieldError("label_id", "required"))
    elif not isinstance(body["label_id"], str) or not 1 <= len(body["label_id"]) <= 112:
        errors.append(FieldError("label_id", "expected a string of 1 to 112 characters"))
    if errors:
        raise InvalidEvent(errors)
    out: dict[str, Any] = {"event_type": "label", "occurred_at": now.isoformat()}
    for key, value in body.items():
        out[_TO_LOG.get(str(key), str(key))] = value
    out["event_id"] = label_event_id(body["label_id"])
    return out


def client_errors(exc: InvalidEvent) -> InvalidEvent:
    """The same errors under the client's field names."""

    def rename(path: str) -> str:
        head, dot, rest = path.partition(".")
        return _FROM_LOG.get(head, head) + dot + rest

    return InvalidEvent([FieldError(rename(e.field), e.reason) for e in exc.errors])
