"""Labels: what became of an event (fraud or not), and when riskloop learnt it.

A chargeback's network reason code says whether the cardholder claimed fraud. The codes below
are the schemes' fraud categories (Visa 10.x "Fraud", Mastercard 4837/4840/4849/4863/4870/
4871, Amex F-codes, Discover UA-codes); everything else (not received, not as described,
processing errors) is a dispute, not fraud.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from riskloop.domain.events import StoredEvent

FRAUD_REASON_CODES: dict[str, frozenset[str]] = {
    "visa": frozenset({"10.1", "10.2", "10.3", "10.4", "10.5"}),
    "mastercard": frozenset({"4837", "4840", "4849", "4863", "4870", "4871"}),
    "amex": frozenset({"F10", "F14", "F24", "F29", "FR2", "FR4", "FR6"}),
    "discover": frozenset({"UA01", "UA02", "UA05", "UA06"}),
}


@dataclass(frozen=True, slots=True)
class Label:
    """``event_id`` turned out to be fraud (or, with ``fraud=False``, not)."""

    event_id: str
    fraud: bool
    arrived_at: datetime
    source: str


def is_fraud_reason(network: str, reason_code: str) -> bool:
    """Whether a network reason code is in the scheme's fraud category.

    >>> is_fraud_reason("visa", "10.4"), is_fraud_reason("visa", "13.1")
    (True, False)
    """
    return reason_code.upper() in FRAUD_REASON_CODES.get(network, frozenset())


def label_from_dispute(data: dict[str, Any], arrived_at: datetime) -> Label | None:
    """A fraud label from a stored ``dispute`` event that names the disputed event; a
    reversal withdraws it. Inquiries and disputes without an original event give none."""
    original = data.get("original_event_id")
    if not original or data.get("stage") == "inquiry":
        return None
    if data.get("stage") == "reversal":
        return Label(original, False, arrived_at, f"dispute:{data['event_id']}")
    if not is_fraud_reason(str(data.get("network", "")), str(data.get("reason_code", ""))):
        return None
    return Label(original, True, arrived_at, f"dispute:{data['event_id']}")


def label_of(stored: StoredEvent) -> Label | None:
    """The label a stored event carries, if it is one (today: a dispute), dated when it
    arrived in the stream."""
    if stored.event_type != "dispute":
        return None
    return label_from_dispute(stored.data, stored.occurred_at)
