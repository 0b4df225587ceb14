"""Labels: what became of an event (fraud or not), and when riskloop learnt it.

A chargeback's network reason code says whether the cardholder claimed fraud. The codes below
are the schemes' fraud categories (Visa 10.x "Fraud", Mastercard 4837/4840/4849/4863/4870/
4871, Amex F-codes, Discover UA-codes); everything else (not received, not as described,
processing errors) is a dispute, not fraud: it is kept, but carries no fraud verdict.

Several labels can reach the same event. The effective one is chosen by **precedence**:

=====  ==========================================  ==========================================
tier   kinds                                       why
=====  ==========================================  ==========================================
3      ``analyst``, ``chargeback``, ``dispute``    adjudicated: a person investigated, or the
                                                   card network moved the money
2      ``customer_report``, ``confirmed_good``     the customer's own statement
1      ``refund_fraud``                            indirect: a merchant refunded citing fraud
1      ``step_up``                                 indirect: who answered a challenge (MFA,
                                                   3-D Secure) failed or passed it
=====  ==========================================  ==========================================

A higher tier always wins; within a tier the label that arrived last wins (a reversal
withdraws a chargeback, an analyst can overturn an earlier review). The same rule runs in
the live feature state, in training sets and in batch scoring, so they cannot disagree.

A ``step_up`` label comes from a ``challenge_result`` event: ``failed`` labels the challenged
event fraud, ``passed`` not fraud; ``abandoned`` and ``expired`` label nothing (a customer
who gives up is not evidence either way). It is weak evidence — a phished code passes, a
fumbled one fails — so every statement by a person outranks it. It shares tier 1 with
``refund_fraud`` rather than sitting below it: tier 0 is how the feature states encode "no
label", and the two rarely meet (a challenge result arrives within minutes of its decision,
a refund days later, so a later refund for fraud rightly overturns a passed 3-D Secure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from riskloop.domain.events import StoredEvent

FRAUD_REASON_CODES: dict[str, frozenset[str]] = {
    "visa": frozenset({"10.1", "10.2", "10.3", "10.4", "10.5"}),
    "mastercard": frozenset({"4837", "4840", "4849", "4863", "4870", "4871"}),
    "amex": frozenset({"F10", "F14", "F24", "F29", "FR2", "FR4", "FR6"}),
    "discover": frozenset({"UA01", "UA02", "UA05", "UA06"}),
}

TIERS: Final[dict[str, int]] = {
    "analyst": 3,
    "chargeback": 3,
    "dispute": 3,
    "customer_report": 2,
    "confirmed_good": 2,
    "refund_fraud": 1,
    "step_up": 1,
}
# Kinds whose verdict is fixed by the kind itself (the others say it or take it from a code).
IMPLIED_FRAUD: Final[dict[str, bool]] = {
    "customer_report": True,
    "confirmed_good": False,
    "refund_fraud": True,
}
# A challenge result's verdict on the challenged event; the other results give none.
STEP_UP_VERDICT: Final[dict[str, bool]] = {"failed": True, "passed": False}
# Event types that carry labels (the label index copies them out of the log).
LABEL_EVENT_TYPES: Final = ("label", "dispute", "challenge_result")
# Of those, the ones that are nothing but a label: once applied as one, the feature engine
# does not count them. A challenge result is an event in its own right (features count it).
_LABEL_ONLY: Final = frozenset({"label", "dispute"})


@dataclass(frozen=True, slots=True)
class Label:
    """``event_id`` turned out to be fraud (or, with ``fraud=False``, not)."""

    event_id: str
    fraud: bool
    arrived_at: datetime
    source: str
    kind: str = "chargeback"

    @property
    def tier(self) -> int:
        return TIERS[self.kind]


def prevails(new: Label, current: Label | None) -> bool:
    """Whether ``new`` (arriving after ``current``) becomes the effective label.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> analyst = Label("e", False, t, "case:1", "analyst")
    >>> prevails(Label("e", True, t, "app", "customer_report"), analyst)
    False
    >>> prevails(Label("e", True, t, "cb:9", "chargeback"), analyst)
    True
    """
    return current is None or new.tier >= current.tier


def settle(book: dict[str, Label], label: Label) -> bool:
    """Record ``label`` in ``book`` (event id -> effective label) if it prevails."""
    if prevails(label, book.get(label.event_id)):
        book[label.event_id] = label
        return True
    return False


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
    source = f"dispute:{data['event_id']}"
    if data.get("stage") == "reversal":
        return Label(original, False, arrived_at, source, "chargeback")
    if not is_fraud_reason(str(data.get("network", "")), str(data.get("reason_code", ""))):
        return None
    return Label(original, True, arrived_at, source, "chargeback")


def label_from_record(data: dict[str, Any], arrived_at: datetime) -> Label | None:
    """The verdict of a stored ``label`` event, if it has a target and a verdict (a
    non-fraud dispute and a label still waiting for its event to be matched have none)."""
    target, fraud = data.get("target_event_id"), data.get("fraud")
    if not target or fraud is None:
        return None
    return Label(target, bool(fraud), arrived_at, f"label:{data['event_id']}", data["kind"])


def label_from_challenge(data: dict[str, Any], arrived_at: datetime) -> Label | None:
    """The ``step_up`` label of a stored ``challenge_result`` event on the challenged event:
    a failed challenge is fraud, a passed one is not; abandoned or expired give none.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> data = {"event_id": "cr-1", "challenged_event_id": "login-1", "result": "failed"}
    >>> label_from_challenge(data, t).fraud, label_from_challenge(data, t).kind
    (True, 'step_up')
    >>> label_from_challenge({**data, "result": "abandoned"}, t) is None
    True
    """
    verdict = STEP_UP_VERDICT.get(str(data.get("result")))
    target = data.get("challenged_event_id")
    if verdict is None or not target:
        return None
    return Label(target, verdict, arrived_at, f"challenge:{data['event_id']}", "step_up")


def label_of(stored: StoredEvent) -> Label | None:
    """The label a stored event carries, if any (a ``label`` record, a ``dispute`` or a
    ``challenge_result``), dated when it arrived in the stream."""
    if stored.event_type == "label":
        return label_from_record(stored.data, stored.occurred_at)
    if stored.event_type == "dispute":
        return label_from_dispute(stored.data, stored.occurred_at)
    if stored.event_type == "challenge_result":
        return label_from_challenge(stored.data, stored.occurred_at)
    return None


def label_only(stored: StoredEvent) -> bool:
    """Whether a stored event that carried a label is nothing more (a ``label`` record, a
    ``dispute``); otherwise the feature engine counts it too, after applying its label."""
    return stored.event_type in _LABEL_ONLY


@dataclass(frozen=True, slots=True)
class LabelEntry:
    """One label as the label index keeps it (a projection of the log's label events and
    disputes). ``pending``: its event is not known (yet), or its match keys found none."""

    label_id: str  # the log's event id
    seq: int
    target_event_id: str | None
    kind: str
    fraud: bool | None
    reported_at: datetime
    ingested_at: datetime
    source: str
    status: str  # open, superseded (matched later under another id), informational
    detail: dict[str, Any]
    pending: bool = False

    @property
    def tier(self) -> int:
        return TIERS.get(self.kind, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label_id": self.label_id.removeprefix("label:"),
            "event_id": self.target_event_id,
            "kind": self.kind,
            "fraud": self.fraud,
            "tier": self.tier,
            "reported_at": self.reported_at.isoformat(),
            "ingested_at": self.ingested_at.isoformat(),
            "source": self.source,
            "status": self.status,
            "pending": self.pending,
            **self.detail,
        }


def entry_of(stored: StoredEvent) -> LabelEntry | None:
    """The index entry of a stored ``label``, ``dispute`` or ``challenge_result`` event
    (None for other types)."""
    data = stored.data
    ingested = stored.ingested_at or stored.occurred_at
    if stored.event_type == "challenge_result":
        label = label_from_challenge(data, stored.occurred_at)
        return LabelEntry(
            label_id=stored.event_id,
            seq=stored.seq or 0,
            target_event_id=data.get("challenged_event_id"),
            kind="step_up",
            fraud=label.fraud if label else None,
            reported_at=stored.occurred_at,
            ingested_at=ingested,
            source=stored.source,
            # Abandoned or expired: kept, but no verdict (like a dispute's inquiry).
            status="open" if label else "informational",
            detail={
                k: data[k] for k in ("method", "mfa_method", "result", "decision_id") if k in data
            },
        )
    if stored.event_type == "dispute":
        label = label_from_dispute(data, stored.occurred_at)
        informational = not data.get("original_event_id") or data.get("stage") == "inquiry"
        return LabelEntry(
            label_id=stored.event_id,
            seq=stored.seq or 0,
            target_event_id=data.get("original_event_id"),
            kind="chargeback",
            fraud=label.fraud if label else None,
            reported_at=stored.occurred_at,
            ingested_at=ingested,
            source=stored.source,
            status="informational" if informational else "open",
            detail={
                k: data[k]
                for k in ("stage", "network", "reason_code", "amount", "currency")
                if k in data
            },
        )
    if stored.event_type != "label":
        return None
    keep = ("network", "reason_code", "reversal", "amount", "currency", "author", "case_id")
    detail = {k: data[k] for k in keep if k in data}
    for k in ("unmatched", "matched_from"):
        if k in data:
            detail[k] = data[k]
    if "match" in data:
        m = data["match"]
        card = m.get("card", {})
        detail["match"] = {
            "card_token": card.get("token"),
            "last4": card.get("last4"),
            "amount": m.get("amount"),
            "currency": m.get("currency"),
            "on": m.get("on"),
            "merchant_id": m.get("merchant_id"),
        }
    return LabelEntry(
        label_id=stored.event_id,
        seq=stored.seq or 0,
        target_event_id=data.get("target_event_id"),
        kind=data["kind"],
        fraud=data.get("fraud"),
        reported_at=stored.occurred_at,
        ingested_at=ingested,
        source=stored.source,
        status="open",
        detail=detail,
    )


def effective(entries: list[LabelEntry]) -> LabelEntry | None:
    """The label that stands among an event's entries (in arrival order), by precedence;
    entries without a verdict (non-fraud disputes) never stand."""
    best: LabelEntry | None = None
    for e in sorted(entries, key=lambda e: e.seq):  # stream order, as the engine sees it
        standing = e.fraud is not None and e.status != "informational"
        if standing and (best is None or e.tier >= best.tier):
            best = e
    return best
