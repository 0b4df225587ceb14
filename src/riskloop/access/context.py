"""Who the current request authenticated as, for the audit chain.

The HTTP layer sets it; the audit log reads it, so an entry records the authenticated
principal even when a service's API key acts on behalf of a named analyst (``actor``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_acting: ContextVar[str | None] = ContextVar("riskloop_acting_as", default=None)


@contextmanager
def acting(name: str) -> Iterator[None]:
    token = _acting.set(name)
    try:
        yield
    finally:
        _acting.reset(token)


def acting_as() -> str | None:
    return _acting.get()
