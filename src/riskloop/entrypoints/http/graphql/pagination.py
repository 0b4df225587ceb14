"""Relay-style connections: ``first`` / ``after`` in, ``edges { cursor node }`` and
``pageInfo { hasNextPage endCursor }`` out.

A cursor is opaque to the caller: URL-safe base64 of a JSON list, the list's name and the
position of the item in it (a decision id, a rule id, an offset...). A page is fetched one
item longer than asked, so ``hasNextPage`` costs no count.

>>> c = cursor("rules", "card_testing")
>>> position(c, "rules", (str,))
['card_testing']
>>> position(c, "lists", (str,))
Traceback (most recent call last):
...
riskloop.entrypoints.http.graphql.errors.ArgumentError: after: not a cursor of this list
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from riskloop.entrypoints.http.graphql.errors import ArgumentError

DEFAULT_PAGE = 50
MAX_PAGE = 200
_MAX_CURSOR = 1024  # characters; ours are far shorter
_MAX_OFFSET = 10_000_000  # as the REST lists allow

T = TypeVar("T")
S = TypeVar("S")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool  # true when the page starts after a cursor
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise ArgumentError("first", f"must be from 1 to {MAX_PAGE}")
    return first


def cursor(kind: str, *key: str | int) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position(after: str | None, kind: str, types: tuple[type, ...]) -> list[Any] | None:
    """The key an ``after`` cursor holds (None without one); an ``ArgumentError`` naming
    ``after`` for anything that is not a cursor of list ``kind`` with keys of ``types``."""
    if after is None:
        return None
    bad = ArgumentError("after", "not a cursor of this list")
    if len(after) > _MAX_CURSOR:
        raise bad
    try:
        raw = json.loads(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)))
    except (ValueError, binascii.Error):  # bad base64, bad UTF-8 and bad JSON are ValueErrors
        raise bad from None
    if not isinstance(raw, list) or len(raw) != len(types) + 1 or raw[0] != kind:
        raise bad
    key = raw[1:]
    # bool is an int to Python, never to a cursor
    if any(type(k) is not t for k, t in zip(key, types, strict=True)):
        raise bad
    if any(isinstance(k, str) and not plain(k) for k in key):
        raise bad
    return key


def plain(text: str) -> bool:
    """No control characters (PostgreSQL refuses NUL in a string; no key has any).

    >>> plain("cus-1"), plain("cus" + chr(0))
    (True, False)
    """
    return not any(ord(c) < 32 or ord(c) == 127 for c in text)


def offset_of(after: str | None, kind: str) -> int:
    """Where a page of an offset-paged list starts."""
    found = position(after, kind, (int,))
    if found is None:
        return 0
    if not 0 <= found[0] < _MAX_OFFSET:
        raise ArgumentError("after", "not a cursor of this list")
    return int(found[0]) + 1


def connection(
    items: Sequence[S],
    first: int,
    *,
    kind: str,
    key: Callable[[int, S], Sequence[str | int]],
    node: Callable[[S], T],
    after: str | None,
) -> Connection[T]:
    """A page from ``items`` fetched ``first + 1`` long; ``key(i, item)`` is the position
    its cursor holds (``i`` counts from the start of the page)."""
    edges = [
        Edge(cursor=cursor(kind, *key(i, item)), node=node(item))
        for i, item in enumerate(items[:first])
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(items) > first,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def sorted_page(
    items: Sequence[S],
    first: int,
    after: str | None,
    *,
    kind: str,
    key: Callable[[S], tuple[str | int, ...]],
    types: tuple[type, ...],
    node: Callable[[S], T],
) -> Connection[T]:
    """A page of a list held in memory (rules, lists, models), keyed by a unique sort key,
    so a page boundary holds when items are added or removed between pages."""
    start = position(after, kind, types)
    ordered = sorted(items, key=key)
    if start is not None:
        mark = tuple(start)
        ordered = [i for i in ordered if key(i) > mark]
    return connection(
        ordered[: first + 1], first, kind=kind, key=lambda _, i: key(i), node=node, after=after
    )
