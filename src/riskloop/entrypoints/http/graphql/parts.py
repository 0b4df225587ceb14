"""The parts of records shown as they are: enums, a decision's contributions, rule
results, shadow outcomes, challenger score and screened names, the stored event, a case's
timeline entries. None of them leads anywhere else in the graph."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from riskloop.domain.events import StoredEvent
from riskloop.entrypoints.http.graphql.permissions import CasesRead


@strawberry.enum
class Outcome(Enum):
    APPROVE = "approve"
    REVIEW = "review"
    CHALLENGE = "challenge"
    DECLINE = "decline"


@strawberry.enum(description="What a key names: the feature engine's entities, or an event.")
class EntityType(Enum):
    CARD = "card"
    CUSTOMER = "customer"
    ACCOUNT = "account"
    DEVICE = "device"
    IP = "ip"
    EMAIL = "email"
    MERCHANT = "merchant"
    TERMINAL = "terminal"
    BIN = "bin"
    PAYEE = "payee"
    EVENT = "event"


@strawberry.enum
class CaseStatus(Enum):
    OPEN = "open"
    IN_REVIEW = "in_review"
    PENDING_APPROVAL = "pending_approval"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


@strawberry.enum
class CasePriority(Enum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


def json_value(value: Any) -> JSON:
    return JSON(value)


@strawberry.type
class Contribution:
    feature: str
    value: float
    reason: str


@strawberry.type(description="A rule's result on a decision: hits, errors and shadow rules.")
class RuleResult:
    id: str
    version: int
    status: str
    action: str
    reason: str
    hit: bool
    error: str | None


@strawberry.type(description="What a shadow policy version would have decided.")
class ShadowOutcome:
    policy: str
    outcome: Outcome
    reasons: list[str]


@strawberry.type(description="The challenger model's score beside the champion's.")
class ChallengerScore:
    model: str
    score: float
    contributions: list[Contribution]


@strawberry.type(description="A sanctions/PEP list entry a name in the event resembled.")
class ScreenedName:
    field: str
    source: str
    entry_id: str
    name: str  # the list's name for the entry (public data), never the event's
    score: float
    alert: bool
    suppressed: bool
    pep: bool


@strawberry.type(description="A stored event as kept at rest: PAN tokenized, PII sealed.")
class Event:
    id: strawberry.ID
    type: str
    schema_version: int
    occurred_at: datetime
    ingested_at: datetime | None
    seq: int | None
    source: str
    data: JSON
    pii_sealed: bool

    @staticmethod
    def of(e: StoredEvent) -> Event:
        return Event(
            id=strawberry.ID(e.event_id),
            type=e.event_type,
            schema_version=e.schema_version,
            occurred_at=e.occurred_at,
            ingested_at=e.ingested_at,
            seq=e.seq,
            source=e.source,
            data=json_value(e.data),
            pii_sealed=e.pii is not None,
        )


@strawberry.type
class TimelineEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    detail: JSON
    note: str | None = strawberry.field(permission_classes=[CasesRead])
