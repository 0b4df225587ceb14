"""Review cases: what opens one, which queue and priority it gets, its SLA, and the
workflow an analyst takes it through.

Every REVIEW decision opens a case for its entity (the customer, else the account, else the
card) in the queue of its product, or joins the one already open for that entity there, so
an analyst sees a card-testing burst as one case, not forty. A case's priority is the
highest of its decisions'; its due time follows from the priority (the SLA) and only ever
moves earlier.

Workflow::

    open ──claim──► in_review ──resolve(fraud | not_fraud)──► resolved
      ▲                 │  └──resolve(four-eyes action)──► pending_approval ─approve─► resolved
      │                 │                                        └─reject─► in_review
      └── escalated ◄───┘ resolve(escalated): back to the queue at high priority, unassigned

A resolution writes an ``analyst`` label for every decision in the case (fraud or not);
escalation writes none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from riskloop.errors import ConflictError, FieldError, InvalidInput


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_REVIEW = "in_review"
    PENDING_APPROVAL = "pending_approval"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    FRAUD = "fraud"
    NOT_FRAUD = "not_fraud"
    ESCALATED = "escalated"


# What the resolution asks the business to do; riskloop records it and raises a task.
ACTIONS: Final = ("none", "block_card", "freeze_account", "close_account", "refund_customer")
FOUR_EYES_DEFAULT: Final = frozenset({"close_account", "freeze_account"})
PRIORITIES: Final = {1: "high", 2: "normal", 3: "low"}
SLA: Final = {1: timedelta(hours=4), 2: timedelta(hours=24), 3: timedelta(hours=72)}
QUEUES: Final = {
    "card_payment": "payments",
    "transfer": "transfers",
    "login": "accounts",
    "account_change": "accounts",
    "kyc_record": "onboarding",
}
HIGH_AMOUNT, LOW_AMOUNT = 100_000, 5_000  # minor units
ACTIVE: Final = frozenset(
    {CaseStatus.OPEN, CaseStatus.IN_REVIEW, CaseStatus.PENDING_APPROVAL, CaseStatus.ESCALATED}
)


_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def letters(hex_digits: str) -> str:
    """Hex spelt with the letters a-p (same order): ids built from it carry no run of digits
    that could pass for a card number, which the vault would otherwise mask where they
    are stored (a label's ``case_id``) and intake refuse as an event id.

    >>> letters("09af")
    'ajkp'
    """
    return hex_digits.translate(_LETTERS)


def new_case_id(now: datetime) -> str:
    """Time-ordered (milliseconds first) and unguessable, in letters only."""
    return "case_" + letters(f"{int(now.timestamp() * 1000):012x}{os.urandom(6).hex()}")


def entity_of(event_id: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """Whom a case is about: the customer, else the account, else the card (token)."""
    if data.get("customer_id"):
        return "customer", str(data["customer_id"])
    if data.get("account_id"):
        return "account", str(data["account_id"])
    token = (data.get("card") or {}).get("token")
    if token:
        return "card", str(token)
    return "event", event_id


def queue_of(event_type: str) -> str:
    return QUEUES.get(event_type, event_type)


def priority_of(score: float | None, amount: int | None) -> int:
    """1 (high): a score of 0.9 or more, or 1,000.00 or more; 3 (low): a score under 0.3
    and under 50.00; else 2."""
    s, a = score or 0.0, amount or 0
    if s >= 0.9 or a >= HIGH_AMOUNT:
        return 1
    if s < 0.3 and a < LOW_AMOUNT:
        return 3
    return 2


@dataclass(frozen=True, slots=True)
class CaseItem:
    """A decision that opened or joined a case, with what the queue shows of it."""

    event_id: str
    decision_id: str
    event_type: str
    at: datetime
    amount: int | None
    currency: str | None
    score: float | None
    reasons: tuple[str, ...]
    entity_type: str
    entity_key: str
    queue: str
    priority: int


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    entity_type: str
    entity_key: str
    queue: str
    priority: int
    status: CaseStatus
    assignee: str | None
    opened_at: datetime
    updated_at: datetime
    due_at: datetime
    resolved_at: datetime | None = None
    resolution: Resolution | None = None
    labels_pending: bool = False
    version: int = 1
    body: dict[str, Any] = field(default_factory=dict)

    def breached(self, now: datetime) -> bool:
        return self.status is not CaseStatus.RESOLVED and now > self.due_at

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "entity": {"type": self.entity_type, "key": self.entity_key},
            "queue": self.queue,
            "priority": PRIORITIES[self.priority],
            "status": self.status.value,
            "assignee": self.assignee,
            "opened_at": self.opened_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "sla_breached": self.breached(now),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolution": self.resolution.value if self.resolution else None,
            "labels_pending": self.labels_pending,
            "version": self.version,
            **self.body,
        }


def opened(item: CaseItem, now: datetime) -> Case:
    return Case(
        case_id=new_case_id(now),
        entity_type=item.entity_type,
        entity_key=item.entity_key,
        queue=item.queue,
        priority=item.priority,
        status=CaseStatus.OPEN,
        assignee=None,
        opened_at=now,
        updated_at=now,
        due_at=now + SLA[item.priority],
        body={"decisions": 0, "amounts": {}, "max_score": None, "reasons": {}},
    )


def joined(case: Case, item: CaseItem, now: datetime) -> Case:
    """``case`` with ``item`` counted: totals, reasons, priority and due time."""
    body = dict(case.body)
    body["decisions"] = int(body.get("decisions", 0)) + 1
    amounts = dict(body.get("amounts", {}))
    if item.amount is not None and item.currency:
        amounts[item.currency] = amounts.get(item.currency, 0) + item.amount
    body["amounts"] = amounts
    if item.score is not None:
        prev = body.get("max_score")
        body["max_score"] = item.score if prev is None else max(prev, item.score)
    reasons = dict(body.get("reasons", {}))
    for r in item.reasons:
        reasons[r] = reasons.get(r, 0) + 1
    body["reasons"] = reasons
    priority = min(case.priority, item.priority)
    due = min(case.due_at, case.opened_at + SLA[priority])
    return replace(case, priority=priority, due_at=due, updated_at=now, body=body)


def _text(name: str, value: str | None, limit: int, *, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidInput([FieldError(name, "required")])
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput([FieldError(name, f"at most {limit} characters")])
    return value


def check_actor(name: str, value: str | None) -> str:
    out = _text(name, value, 100)
    assert out is not None
    return out


def check_note(value: str | None, *, required: bool = False) -> str | None:
    return _text("note", value, 5000, required=required)


def _refuse(case: Case, why: str) -> ConflictError:
    return ConflictError("case", case.case_id, why)


def claim(case: Case, analyst: str, now: datetime) -> Case:
    if case.status is CaseStatus.IN_REVIEW:
        if case.assignee == analyst:
            return case  # a retried claim: already yours
        raise _refuse(case, f"is in review by {case.assignee}")
    if case.status not in (CaseStatus.OPEN, CaseStatus.ESCALATED):
        raise _refuse(case, f"is {case.status.value}; only open or escalated cases are claimed")
    if case.assignee not in (None, analyst):
        raise _refuse(case, f"is assigned to {case.assignee}")
    return replace(case, status=CaseStatus.IN_REVIEW, assignee=analyst, updated_at=now)


def assign(case: Case, analyst: str | None, now: datetime) -> Case:
    if case.status is CaseStatus.RESOLVED:
        raise _refuse(case, "is resolved")
    if case.status is CaseStatus.PENDING_APPROVAL:
        raise _refuse(case, "waits for approval")
    # Reassigning a case under review hands the review over.
    return replace(case, assignee=analyst, updated_at=now)


def release(case: Case, analyst: str, now: datetime) -> Case:
    if case.status is not CaseStatus.IN_REVIEW or case.assignee != analyst:
        raise _refuse(case, "is not under review by you")
    return replace(case, status=CaseStatus.OPEN, assignee=None, updated_at=now)


def resolve(
    case: Case,
    actor: str,
    resolution: str,
    action: str,
    four_eyes: frozenset[str],
    now: datetime,
    *,
    typology: str | None = None,
) -> Case:
    """The analyst's verdict. A four-eyes action waits for a second person's approval."""
    try:
        verdict = Resolution(resolution)
    except ValueError:
        raise InvalidInput(
            [FieldError("resolution", "expected fraud, not_fraud or escalated")]
        ) from None
    if action not in ACTIONS:
        raise InvalidInput([FieldError("action", f"expected one of {', '.join(ACTIONS)}")])
    typology = _text("typology", typology, 100, required=False)
    if case.status is not CaseStatus.IN_REVIEW:
        raise _refuse(case, f"is {case.status.value}; claim it before resolving")
    if case.assignee != actor:
        raise _refuse(case, f"is under review by {case.assignee}")
    body = dict(case.body)
    if typology:
        body["typology"] = typology
    if verdict is Resolution.ESCALATED:
        if action != "none":
            raise InvalidInput([FieldError("action", "an escalation carries no action")])
        escalations = int(body.get("escalations", 0)) + 1
        body["escalations"] = escalations
        return replace(
            case,
            status=CaseStatus.ESCALATED,
            assignee=None,
            priority=1,
            due_at=min(case.due_at, now + SLA[1]),
            updated_at=now,
            body=body,
        )
    body["action"] = action
    if action in four_eyes:
        body["proposed"] = {"resolution": verdict.value, "action": action, "by": actor}
        return replace(case, status=CaseStatus.PENDING_APPROVAL, updated_at=now, body=body)
    body["resolved_by"] = actor
    return _resolved(case, verdict, now, body)


def _resolved(case: Case, verdict: Resolution, now: datetime, body: dict[str, Any]) -> Case:
    return replace(
        case,
        status=CaseStatus.RESOLVED,
        resolution=verdict,
        resolved_at=now,
        labels_pending=True,
        updated_at=now,
        body=body,
    )


def approve(case: Case, approver: str, now: datetime) -> Case:
    """The second pair of eyes: someone other than the proposer."""
    if case.status is not CaseStatus.PENDING_APPROVAL:
        raise _refuse(case, f"is {case.status.value}; nothing waits for approval")
    proposed = case.body["proposed"]
    if proposed["by"] == approver:
        raise _refuse(case, "four-eyes: the approver must not be who proposed it")
    body = {k: v for k, v in case.body.items() if k != "proposed"}
    body.update(resolved_by=proposed["by"], approved_by=approver)
    return _resolved(case, Resolution(proposed["resolution"]), now, body)


def reject(case: Case, approver: str, now: datetime) -> Case:
    if case.status is not CaseStatus.PENDING_APPROVAL:
        raise _refuse(case, f"is {case.status.value}; nothing waits for approval")
    if case.body["proposed"]["by"] == approver:
        raise _refuse(case, "four-eyes: the proposer cannot reject their own proposal")
    body = {k: v for k, v in case.body.items() if k not in ("proposed", "action")}
    return replace(case, status=CaseStatus.IN_REVIEW, updated_at=now, body=body)
