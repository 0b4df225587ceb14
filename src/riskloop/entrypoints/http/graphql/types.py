"""The decision graph: decisions, their events and entities, cases and labels, as GraphQL
types over the records the services return.

Nothing here unseals PII: an event is shown as it is kept at rest (card numbers tokenized,
PII sealed; only *whether* it has sealed PII is said), and entities are named by the keys
the feature engine uses (a card by its token, an e-mail address by its keyed hash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from riskloop.cases.model import PRIORITIES, Case
from riskloop.domain.labels import LabelEntry, effective
from riskloop.entrypoints.http.graphql.context import Info, blocking, loaders_of, reads_of, rl_of
from riskloop.entrypoints.http.graphql.errors import ArgumentError
from riskloop.entrypoints.http.graphql.pagination import (
    DEFAULT_PAGE,
    Connection,
    connection,
    offset_of,
    page_size,
    position,
)
from riskloop.entrypoints.http.graphql.parts import (
    CasePriority,
    CaseStatus,
    ChallengerScore,
    Contribution,
    EntityType,
    Event,
    Outcome,
    RuleResult,
    ScreenedName,
    ShadowOutcome,
    TimelineEntry,
    json_value,
)
from riskloop.entrypoints.http.graphql.permissions import (
    CasesRead,
    DecisionsRead,
    LabelsRead,
    field,
)
from riskloop.features import ENTITY_KEYS
from riskloop.features.compute import get_path
from riskloop.ledger.records import Decision


def entities_in(data: dict[str, Any]) -> list[Entity]:
    """The entities an event is about, found where the feature engine finds them."""
    found = []
    for kind, paths in ENTITY_KEYS.items():
        for path in paths:
            value = get_path(data, path)
            if value is not None and value != "":
                found.append(Entity(type=EntityType(kind), key=str(value)))
                break
    return found


@strawberry.type(name="Decision")
class DecisionNode:
    id: strawberry.ID
    event_id: str
    event_type: str
    outcome: Outcome
    reasons: list[str]
    decided_by: str
    decided_at: datetime
    occurred_at: datetime
    policy: str | None
    score: float | None
    model: str | None
    contributions: list[Contribution]
    rules: list[RuleResult]
    rule_versions: JSON
    shadow: list[ShadowOutcome]
    feature_set: str | None
    fallbacks: list[str]
    latency_us: JSON
    challenger: ChallengerScore | None
    canary: str | None
    step_up: str | None
    screening: list[ScreenedName] | None
    credit: JSON | None = strawberry.field(description="The credit offer or notice, no PII.")
    features: JSON | None = strawberry.field(
        permission_classes=[DecisionsRead], description="The feature values the decision saw."
    )

    @staticmethod
    def of(d: Decision) -> DecisionNode:
        def contributions(cs: Any) -> list[Contribution]:
            return [Contribution(feature=c.feature, value=c.value, reason=c.reason) for c in cs]

        challenger = d.challenger
        return DecisionNode(
            id=strawberry.ID(d.decision_id),
            event_id=d.event_id,
            event_type=d.event_type,
            outcome=Outcome(d.outcome.value),
            reasons=list(d.reasons),
            decided_by=d.decided_by,
            decided_at=d.decided_at,
            occurred_at=d.occurred_at,
            policy=d.policy,
            score=d.score,
            model=d.model,
            contributions=contributions(d.contributions),
            rules=[
                RuleResult(
                    id=r.id,
                    version=r.version,
                    status=r.status,
                    action=r.action,
                    reason=r.reason,
                    hit=r.hit,
                    error=r.error,
                )
                for r in d.rules
            ],
            rule_versions=json_value(d.rule_versions),
            shadow=[
                ShadowOutcome(
                    policy=s.policy, outcome=Outcome(s.outcome.value), reasons=[*s.reasons]
                )
                for s in d.shadow
            ],
            feature_set=d.feature_set,
            fallbacks=list(d.fallbacks),
            latency_us=json_value(d.latency_us),
            challenger=ChallengerScore(
                model=challenger.model,
                score=challenger.score,
                contributions=contributions(challenger.contributions),
            )
            if challenger is not None
            else None,
            canary=d.canary,
            step_up=d.step_up,
            screening=[ScreenedName(**n.as_dict()) for n in d.screening]
            if d.screening is not None
            else None,
            credit=json_value(d.credit.as_dict()) if d.credit is not None else None,
            features=json_value(d.features),
        )

    @field(DecisionsRead)
    async def event(self, info: Info) -> Event | None:
        stored = await loaders_of(info).events.load(self.event_id)
        return Event.of(stored) if stored is not None else None

    @field(
        DecisionsRead,
        description="Whom the event is about (customer, card token, device...): the keys "
        "its features were counted under.",
    )
    async def entities(self, info: Info) -> list[Entity] | None:
        stored = await loaders_of(info).events.load(self.event_id)
        return entities_in(stored.data) if stored is not None else []

    @field(LabelsRead, description="In arrival order.")
    async def labels(self, info: Info) -> list[Label] | None:
        return [Label.of(e) for e in await loaders_of(info).labels.load(self.event_id)]

    @field(LabelsRead, description="The label that stands.")
    async def effective_label(self, info: Info) -> Label | None:
        standing = effective(await loaders_of(info).labels.load(self.event_id))
        return Label.of(standing) if standing is not None else None

    @field(CasesRead, description="The case it joined.")
    async def case(self, info: Info) -> CaseNode | None:
        loaders = loaders_of(info)
        case_id = await loaders.case_ids.load(self.event_id)
        found = await loaders.cases.load(case_id) if case_id is not None else None
        return CaseNode.of(found, rl_of(info).cases.clock()) if found is not None else None


async def decision_page(
    info: Info, first: int, after: str | None, *, entity: Entity | None = None, **filters: Any
) -> Connection[DecisionNode]:
    """Decisions newest first, all of them or one entity's."""
    n = page_size(first)
    start = position(after, "decisions", (str,))
    before = start[0] if start is not None else None
    reads = reads_of(info)
    if entity is None:
        found = await blocking(reads.decisions, before=before, limit=n + 1, **filters)
    else:
        found = await blocking(
            reads.entity_decisions, entity.type.value, entity.key, before=before, limit=n + 1
        )
    return connection(
        found,
        n,
        kind="decisions",
        key=lambda _, d: (d.decision_id,),
        node=DecisionNode.of,
        after=after,
    )


# -- entities -----------------------------------------------------------------------------


@strawberry.type(description="A customer, card, device, account... and its history.")
class Entity:
    type: EntityType
    key: str

    @field(DecisionsRead, description="Newest first.")
    async def decisions(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[DecisionNode] | None:
        return await decision_page(info, first, after, entity=self)

    @field(CasesRead, description="In work order.")
    async def cases(
        self,
        info: Info,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        status: list[CaseStatus] | None = None,
    ) -> Connection[CaseNode] | None:
        return await case_page(
            info, first, after, entity_type=self.type.value, entity_key=self.key, status=status
        )


# -- cases --------------------------------------------------------------------------------


@strawberry.type(description="A decision that opened or joined a case.")
class CaseItem:
    event_id: str
    decision_id: strawberry.ID
    added_at: datetime

    @field()
    async def decision(self, info: Info) -> DecisionNode | None:
        found = await loaders_of(info).decisions.load(self.decision_id)
        return DecisionNode.of(found) if found is not None else None


@strawberry.type(name="Case", description="A review case about one entity, in one queue.")
class CaseNode:
    id: strawberry.ID
    entity: Entity
    queue: str
    priority: CasePriority
    status: CaseStatus
    assignee: str | None
    opened_at: datetime
    updated_at: datetime
    due_at: datetime
    sla_breached: bool
    resolved_at: datetime | None
    resolution: str | None
    action: str | None
    resolved_by: str | None
    approved_by: str | None
    labels_pending: bool
    version: int
    decision_count: int
    amounts: JSON = strawberry.field(description="Totals per currency, in minor units.")
    max_score: float | None
    reason_counts: JSON
    typology: str | None = strawberry.field(
        permission_classes=[CasesRead], description="The suspected typology (SAR drafts)."
    )

    @staticmethod
    def of(c: Case, now: datetime) -> CaseNode:
        body = c.body
        return CaseNode(
            id=strawberry.ID(c.case_id),
            entity=Entity(type=EntityType(c.entity_type), key=c.entity_key),
            queue=c.queue,
            priority=CasePriority(PRIORITIES[c.priority]),
            status=CaseStatus(c.status.value),
            assignee=c.assignee,
            opened_at=c.opened_at,
            updated_at=c.updated_at,
            due_at=c.due_at,
            sla_breached=c.breached(now),
            resolved_at=c.resolved_at,
            resolution=c.resolution.value if c.resolution else None,
            action=body.get("action"),
            resolved_by=body.get("resolved_by"),
            approved_by=body.get("approved_by"),
            labels_pending=c.labels_pending,
            version=c.version,
            decision_count=int(body.get("decisions", 0)),
            amounts=json_value(body.get("amounts", {})),
            max_score=body.get("max_score"),
            reason_counts=json_value(body.get("reasons", {})),
            typology=body.get("typology"),
        )

    @field(CasesRead, description="Oldest first.")
    async def items(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[CaseItem] | None:
        n = page_size(first)
        start = offset_of(after, "case_items")
        found = await blocking(rl_of(info).cases.store.items, str(self.id))
        return connection(
            found[start : start + n + 1],
            n,
            kind="case_items",
            key=lambda i, _: (start + i,),
            node=lambda t: CaseItem(event_id=t[0], decision_id=strawberry.ID(t[1]), added_at=t[2]),
            after=after,
        )

    @field(CasesRead, description="What happened to the case, with notes.")
    async def timeline(self, info: Info) -> list[TimelineEntry] | None:
        entries = await blocking(rl_of(info).cases.timeline, str(self.id))
        return [
            TimelineEntry(
                seq=e["seq"],
                at=datetime.fromisoformat(e["at"]),
                actor=e["actor"],
                action=e["action"],
                detail=json_value(e["detail"]),
                note=e.get("note"),
            )
            for e in entries
        ]


async def case_page(
    info: Info, first: int, after: str | None, *, status: list[CaseStatus] | None, **filters: Any
) -> Connection[CaseNode]:
    """Cases in work order (priority, then due time, then id), paged by that key: a case
    resolved or reprioritised meanwhile shifts no other case between pages."""
    n = page_size(first)
    key = position(after, "cases", (int, str, str))
    start: tuple[int, datetime, str] | None = None
    if key is not None:
        try:
            due = datetime.fromisoformat(key[1])
        except ValueError:
            raise ArgumentError("after", "not a cursor of this list") from None
        if due.tzinfo is None:
            raise ArgumentError("after", "not a cursor of this list")
        start = (key[0], due, key[2])
    cases = rl_of(info).cases
    statuses = [s.value for s in status] if status else None
    found = await blocking(cases.search, status=statuses, limit=n + 1, after=start, **filters)
    now = cases.clock()
    return connection(
        found,
        n,
        kind="cases",
        key=lambda _, c: (c.priority, c.due_at.isoformat(), c.case_id),
        node=lambda c: CaseNode.of(c, now),
        after=after,
    )


# -- labels -------------------------------------------------------------------------------


@strawberry.type(description="An outcome learnt about an event (chargeback, analyst...).")
class Label:
    id: strawberry.ID
    event_id: str | None
    kind: str
    fraud: bool | None
    tier: int
    reported_at: datetime
    ingested_at: datetime
    source: str
    status: str
    pending: bool
    detail: JSON

    @staticmethod
    def of(e: LabelEntry) -> Label:
        return Label(
            id=strawberry.ID(e.label_id.removeprefix("label:")),
            event_id=e.target_event_id,
            kind=e.kind,
            fraud=e.fraud,
            tier=e.tier,
            reported_at=e.reported_at,
            ingested_at=e.ingested_at,
            source=e.source,
            status=e.status,
            pending=e.pending,
            detail=json_value(e.detail),
        )

    @field(DecisionsRead, description="The labelled decision.")
    async def decision(self, info: Info) -> DecisionNode | None:
        if self.event_id is None:
            return None
        found = await loaders_of(info).by_event.load(self.event_id)
        return DecisionNode.of(found) if found is not None else None
