"""The read-only GraphQL API at ``/graphql``: the root fields, the schema and the FastAPI
router.

Every root field checks its area's permission; lists are Relay connections of at most
``MAX_PAGE`` nodes; a query too deep, too wide or asking for too many nodes is refused
before it runs (``limits.py``). There are no mutations: changes go through the REST API,
which audits them.
"""

from __future__ import annotations

from typing import Any

import strawberry
from fastapi.routing import APIWebSocketRoute
from graphql import GraphQLError
from strawberry.fastapi import GraphQLRouter
from strawberry.scalars import JSON
from strawberry.types import ExecutionContext

from riskloop.bootstrap import Riskloop
from riskloop.domain.cards import card_numbers, luhn_valid
from riskloop.domain.labels import TIERS
from riskloop.entrypoints.http.authz import AUTHENTICATED
from riskloop.entrypoints.http.graphql.catalog import ModelVersion, RiskList, Rule
from riskloop.entrypoints.http.graphql.context import (
    Info,
    blocking,
    context_getter,
    principal_of,
    rl_of,
)
from riskloop.entrypoints.http.graphql.errors import ArgumentError, log_unexpected
from riskloop.entrypoints.http.graphql.limits import limits
from riskloop.entrypoints.http.graphql.pagination import (
    DEFAULT_PAGE,
    Connection,
    connection,
    offset_of,
    page_size,
    plain,
    sorted_page,
)
from riskloop.entrypoints.http.graphql.parts import CaseStatus, EntityType, Outcome
from riskloop.entrypoints.http.graphql.permissions import (
    Authenticated,
    CasesRead,
    DecisionsRead,
    LabelsRead,
    ModelsRead,
    RulesRead,
    field,
)
from riskloop.entrypoints.http.graphql.reads import GraphReads
from riskloop.entrypoints.http.graphql.types import (
    CaseNode,
    DecisionNode,
    Entity,
    Label,
    case_page,
    decision_page,
)
from riskloop.errors import NotFound
from riskloop.intake import EVENT_TYPES
from riskloop.vault.hashing import pan_token

# The route table's entries (entrypoints/http/authz.py): any principal reaches the endpoint;
# each field then checks its own permission.
PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/graphql"): AUTHENTICATED,
    ("POST", "/graphql"): AUTHENTICATED,
}


def _text(argument: str, value: str | None, longest: int) -> str | None:
    if value is not None and not (1 <= len(value) <= longest and plain(value)):
        reason = f"must be 1 to {longest} characters, without control characters"
        raise ArgumentError(argument, reason)
    return value


def _entity_key(rl: Riskloop, kind: EntityType, key: str) -> str:
    """The key as stored: a card number becomes its token, an e-mail address its keyed
    hash, so neither is ever echoed back."""
    _text("key", key, 256)
    digits = key.replace(" ", "").replace("-", "")
    if kind is EntityType.CARD and 12 <= len(digits) <= 19 and luhn_valid(digits):
        return pan_token(rl.keyring.token_key, digits)
    if card_numbers(key):
        raise ArgumentError("key", "looks like a card number; ask for type CARD")
    if kind is EntityType.EMAIL and "@" in key:
        return rl.vault.match_hash("email", key)
    return key


@strawberry.type(description="Who is asking.")
class Viewer:
    name: str
    kind: str
    role: str | None
    permissions: list[str]


@strawberry.type
class Query:
    @field(Authenticated)
    def me(self, info: Info) -> Viewer | None:
        p = principal_of(info)
        if p is None:
            return None
        return Viewer(name=p.name, kind=p.kind, role=p.role, permissions=sorted(p.permissions))

    # -- decisions and entities -----------------------------------------------------------

    @field(DecisionsRead, description="By id or by event id.")
    async def decision(
        self, info: Info, id: strawberry.ID | None = None, event_id: str | None = None
    ) -> DecisionNode | None:
        if (id is None) == (event_id is None):
            raise ArgumentError("id", "give exactly one of id or eventId")
        ledger = rl_of(info).ledger
        if id is not None:
            found = await blocking(ledger.get, str(_text("id", id, 128)))
        else:
            found = await blocking(ledger.for_event, str(_text("eventId", event_id, 128)))
        return DecisionNode.of(found) if found is not None else None

    @field(DecisionsRead, description="Newest first.")
    async def decisions(
        self,
        info: Info,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        outcome: Outcome | None = None,
        event_type: str | None = None,
    ) -> Connection[DecisionNode] | None:
        if event_type is not None and event_type not in EVENT_TYPES:
            raise ArgumentError("eventType", f"one of {', '.join(sorted(EVENT_TYPES))}")
        return await decision_page(
            info,
            first,
            after,
            outcome=outcome.value if outcome is not None else None,
            event_type=event_type,
        )

    @field(
        Authenticated,
        description="A customer, card, device... by its key: a card by its token or number "
        "(tokenized here), an e-mail address by its hash or the address (hashed here).",
    )
    def entity(self, info: Info, type: EntityType, key: str) -> Entity | None:
        return Entity(type=type, key=_entity_key(rl_of(info), type, key))

    # -- cases and labels -----------------------------------------------------------------

    @field(CasesRead)
    async def case(self, info: Info, id: strawberry.ID) -> CaseNode | None:
        cases = rl_of(info).cases
        found = await blocking(cases.store.get, str(_text("id", id, 48)))
        return CaseNode.of(found, cases.clock()) if found is not None else None

    @field(CasesRead, description="In work order.")
    async def cases(
        self,
        info: Info,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        status: list[CaseStatus] | None = None,
        queue: str | None = None,
        assignee: str | None = None,
        unassigned: bool = False,
    ) -> Connection[CaseNode] | None:
        return await case_page(
            info,
            first,
            after,
            status=status,
            queue=_text("queue", queue, 64),
            assignee=_text("assignee", assignee, 100),
            unassigned=unassigned,
        )

    @field(LabelsRead, description="In arrival order.")
    async def labels(
        self,
        info: Info,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        event_id: str | None = None,
        kind: str | None = None,
        pending: bool | None = None,
    ) -> Connection[Label] | None:
        n = page_size(first)
        start = offset_of(after, "labels")
        if kind is not None and kind not in TIERS:
            raise ArgumentError("kind", f"one of {', '.join(sorted(TIERS))}")
        found = await blocking(
            rl_of(info).labels.labels,
            target_event_id=_text("eventId", event_id, 128),
            kind=kind,
            pending=pending,
            limit=n + 1,
            offset=start,
        )
        return connection(
            found, n, kind="labels", key=lambda i, _: (start + i,), node=Label.of, after=after
        )

    # -- the playbook and the models ------------------------------------------------------

    @field(RulesRead, description="Its latest version.")
    async def rule(self, info: Info, id: strawberry.ID) -> Rule | None:
        try:
            return Rule.of(await blocking(rl_of(info).catalog.rule, str(_text("id", id, 64))))
        except NotFound:
            return None

    @field(RulesRead, description="Latest versions, by id.")
    async def rules(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[Rule] | None:
        n = page_size(first)
        found = await blocking(rl_of(info).catalog.rules)
        return sorted_page(
            found, n, after, kind="rules", key=lambda r: (r.id,), types=(str,), node=Rule.of
        )

    @field(RulesRead, name="list")
    async def list_(self, info: Info, name: str) -> RiskList | None:
        try:
            return RiskList.of(
                await blocking(rl_of(info).catalog.list_def, str(_text("name", name, 64)))
            )
        except NotFound:
            return None

    @field(RulesRead, description="By name.")
    async def lists(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[RiskList] | None:
        n = page_size(first)
        found = await blocking(rl_of(info).catalog.lists)
        return sorted_page(
            found, n, after, kind="lists", key=lambda d: (d.name,), types=(str,), node=RiskList.of
        )

    @field(ModelsRead)
    async def model(self, info: Info, name: str, version: int) -> ModelVersion | None:
        registry = rl_of(info).models.registry
        try:
            found = await blocking(registry.version, str(_text("name", name, 64)), version)
        except NotFound:
            return None
        return ModelVersion.of(found, await blocking(registry.aliases))

    @field(ModelsRead, description="By name, then version.")
    async def models(
        self,
        info: Info,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        name: str | None = None,
    ) -> Connection[ModelVersion] | None:
        n = page_size(first)
        registry = rl_of(info).models.registry
        found = await blocking(registry.versions, _text("name", name, 64))
        aliases = await blocking(registry.aliases)
        return sorted_page(
            found,
            n,
            after,
            kind="models",
            key=lambda v: (v.name, v.version),
            types=(str, int),
            node=lambda v: ModelVersion.of(v, aliases),
        )

    @field(
        ModelsRead,
        description="Which model scores each event type in this process (champion, challenger).",
    )
    def serving_models(self, info: Info) -> JSON | None:
        return JSON(rl_of(info).models.slots.serving())


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Only failures are logged (with their traceback); a denied field or a bad argument
        # is the caller's business, answered in the response.
        log_unexpected(errors)


schema = _Schema(query=Query, extensions=limits())


def router(rl: Riskloop) -> GraphQLRouter[dict[str, Any], None]:
    """``/graphql``: queries by POST (JSON) or GET (``?query=``); no IDE page (GraphiQL
    loads its scripts from a CDN), and no websocket: there are no subscriptions."""
    gql: GraphQLRouter[dict[str, Any], None] = GraphQLRouter(
        schema,
        path="/graphql",
        graphql_ide=None,
        context_getter=context_getter(rl, GraphReads(rl.engine)),
        subscription_protocols=(),
        tags=["graphql"],
    )
    gql.routes[:] = [r for r in gql.routes if not isinstance(r, APIWebSocketRoute)]
    return gql
