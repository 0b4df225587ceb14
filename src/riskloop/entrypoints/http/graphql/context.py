"""One request's context: the process's services, the principal the auth middleware set,
and loaders that batch the lookups a page of nodes makes (its decisions' events, labels,
cases), so a page of 200 decisions with their labels is one label query, not 200.

Services block, so every read runs in the thread pool, off the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader

from riskloop.access import Principal
from riskloop.bootstrap import Riskloop
from riskloop.cases.model import Case
from riskloop.domain.events import StoredEvent
from riskloop.domain.labels import LabelEntry
from riskloop.entrypoints.http.graphql.reads import GraphReads
from riskloop.errors import AuthFailed
from riskloop.ledger.records import Decision

Info = strawberry.Info[dict[str, Any], None]
V = TypeVar("V")


@dataclass(frozen=True)
class Loaders:
    decisions: DataLoader[str, Decision | None]  # by decision id
    by_event: DataLoader[str, Decision | None]  # by event id
    events: DataLoader[str, StoredEvent | None]  # by event id
    labels: DataLoader[str, list[LabelEntry]]  # by labelled event id
    case_ids: DataLoader[str, str | None]  # by event id: the case its decision joined
    cases: DataLoader[str, Case | None]  # by case id


def _each(get: Callable[[str], V]) -> Callable[[list[str]], Awaitable[list[V]]]:
    """A batch function that looks keys up one by one in one trip to the thread pool."""

    async def load(keys: list[str]) -> list[V]:
        return await run_in_threadpool(lambda: [get(k) for k in keys])

    return load


def _loaders(rl: Riskloop, reads: GraphReads) -> Loaders:
    async def labels(event_ids: list[str]) -> list[list[LabelEntry]]:
        found = await run_in_threadpool(rl.labels.index.for_events, event_ids)
        by_event: dict[str, list[LabelEntry]] = {}
        for entry in found:  # in arrival order
            by_event.setdefault(entry.target_event_id or "", []).append(entry)
        return [by_event.get(e, []) for e in event_ids]

    async def case_ids(event_ids: list[str]) -> list[str | None]:
        found = await run_in_threadpool(reads.cases_of, event_ids)
        return [found.get(e) for e in event_ids]

    return Loaders(
        decisions=DataLoader(load_fn=_each(rl.ledger.get)),
        by_event=DataLoader(load_fn=_each(rl.ledger.for_event)),
        events=DataLoader(load_fn=_each(rl.events.get)),
        labels=DataLoader(load_fn=labels),
        case_ids=DataLoader(load_fn=case_ids),
        cases=DataLoader(load_fn=_each(rl.cases.store.get)),
    )


def context_getter(
    rl: Riskloop, reads: GraphReads
) -> Callable[[Request], Awaitable[dict[str, Any]]]:
    async def get_context(request: Request) -> dict[str, Any]:
        # The middleware and the route table already insist on a principal; without one
        # nothing, not even the schema (introspection), is shown.
        if not isinstance(getattr(request.state, "principal", None), Principal):
            raise AuthFailed("authentication required")
        return {"rl": rl, "reads": reads, "loaders": _loaders(rl, reads)}

    return get_context


def principal_of(info: Info) -> Principal | None:
    found = getattr(info.context["request"].state, "principal", None)
    return found if isinstance(found, Principal) else None


def rl_of(info: Info) -> Riskloop:
    rl: Riskloop = info.context["rl"]
    return rl


def reads_of(info: Info) -> GraphReads:
    reads: GraphReads = info.context["reads"]
    return reads


def loaders_of(info: Info) -> Loaders:
    loaders: Loaders = info.context["loaders"]
    return loaders


async def blocking(fn: Callable[..., V], *args: Any, **kwargs: Any) -> V:
    """A service call, in the thread pool."""
    return await run_in_threadpool(fn, *args, **kwargs)
