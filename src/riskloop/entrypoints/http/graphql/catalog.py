"""The playbook and the models as GraphQL types: rules (with their versions), block / allow
/ watch lists (with their entries, stored as tokens and keyed hashes) and registered model
versions (with their aliases and figures)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from riskloop.entrypoints.http.graphql.context import Info, blocking, rl_of
from riskloop.entrypoints.http.graphql.pagination import (
    DEFAULT_PAGE,
    Connection,
    page_size,
    sorted_page,
)
from riskloop.entrypoints.http.graphql.permissions import field
from riskloop.rules.lists import ListDef
from riskloop.rules.lists import ListEntry as ListEntryRecord
from riskloop.rules.model import Rule as RuleRecord
from riskloop.training.registry import ModelVersion as ModelVersionRecord


@strawberry.type(description="One version of a CEL rule.")
class Rule:
    id: strawberry.ID
    version: int
    expression: str
    reason: str
    action: str
    description: str
    owner: str
    priority: int
    status: str
    event_types: list[str]
    author: str
    note: str
    saved_at: datetime | None

    @staticmethod
    def of(r: RuleRecord) -> Rule:
        return Rule(
            id=strawberry.ID(r.id),
            version=r.version,
            expression=r.expression,
            reason=r.reason,
            action=r.action.value,
            description=r.description,
            owner=r.owner,
            priority=r.priority,
            status=r.status.value,
            event_types=list(r.event_types),
            author=r.author,
            note=r.note,
            saved_at=r.saved_at,
        )

    @field(description="Every version, oldest first: who changed what and why.")
    async def versions(self, info: Info) -> list[Rule]:
        history = await blocking(rl_of(info).catalog.rule_history, str(self.id))
        return [Rule.of(r) for r in history]


@strawberry.type
class ListEntry:
    value: str = strawberry.field(description="As stored: a card token, a keyed hash...")
    reason: str
    author: str
    added_at: datetime
    expires_at: datetime | None


def _entry(e: ListEntryRecord) -> ListEntry:
    return ListEntry(
        value=e.value,
        reason=e.reason,
        author=e.author,
        added_at=e.added_at,
        expires_at=e.expires_at,
    )


@strawberry.type(name="List", description="A block, allow or watch list rules read.")
class RiskList:
    name: str
    kind: str
    type: str
    fields: list[str]
    description: str
    author: str

    @staticmethod
    def of(d: ListDef) -> RiskList:
        return RiskList(
            name=d.name,
            kind=d.kind.value,
            type=d.type.value,
            fields=list(d.fields),
            description=d.description,
            author=d.author,
        )

    @field(description="By value.")
    async def entries(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[ListEntry]:
        n = page_size(first)
        found = await blocking(rl_of(info).catalog.entries, self.name)
        return sorted_page(
            found,
            n,
            after,
            kind=f"list:{self.name}",
            key=lambda e: (e.value,),
            types=(str,),
            node=_entry,
        )


@strawberry.type(description="A registered model version (its files stay on the server).")
class ModelVersion:
    name: str
    version: int
    ref: str
    kind: str
    event_type: str
    features: list[str]
    sha256: str
    created_at: datetime
    created_by: str
    aliases: list[str]
    metrics: JSON = strawberry.field(description="Test window, baseline and segments.")
    lineage: JSON
    params: JSON
    note: str

    @staticmethod
    def of(v: ModelVersionRecord, aliases: dict[tuple[str, str], int]) -> ModelVersion:
        return ModelVersion(
            name=v.name,
            version=v.version,
            ref=v.ref,
            kind=v.kind,
            event_type=v.event_type,
            features=list(v.features),
            sha256=v.sha256,
            created_at=v.created_at,
            created_by=v.created_by,
            aliases=sorted(a for (n, a), num in aliases.items() if (n, num) == (v.name, v.version)),
            metrics=JSON(dict(v.metrics)),
            lineage=JSON(dict(v.lineage)),
            params=JSON(dict(v.params)),
            note=v.note,
        )
