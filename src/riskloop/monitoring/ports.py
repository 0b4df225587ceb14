"""What monitoring reads and where its reports go.

Every port fails closed: a store error is a ``StorageError`` and the check stops (a check
that cannot read its data must not report ``ok``). Reports are append-only.

>>> from datetime import UTC, datetime
>>> store = MemoryReportStore()
>>> at = datetime(2026, 1, 1, tzinfo=UTC)
>>> r = store.add(Report("drift", "card_payment", "alert", at, {"features": []}))
>>> r.id, [x.id for x in store.latest(kind="drift", scope=None, limit=10)]
(1, [1])
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from riskloop.domain.events import StoredEvent
from riskloop.ledger.records import Decision

KINDS = ("drift", "performance", "freshness")


@dataclass(frozen=True, slots=True)
class Report:
    kind: str  # drift, performance, freshness
    scope: str  # the event type, or "" for all
    status: str  # ok, warn, alert
    created_at: datetime
    body: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "scope": self.scope,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "body": self.body,
        }


class ReportStore(Protocol):
    def add(self, report: Report) -> Report:
        """Store the report; returns it with its id."""
        ...

    def latest(self, *, kind: str | None, scope: str | None, limit: int) -> list[Report]:
        """The newest reports first, of one kind and scope when given."""
        ...


class DecisionSource(Protocol):
    def decided_between(
        self,
        start: datetime,
        end: datetime,
        *,
        event_type: str | None = None,
        sample: float = 1.0,
    ) -> Iterator[Decision]:
        """Decisions with ``start <= decided_at < end``, in ``decided_at`` order, read in
        pages as the caller iterates (a window never sits in memory). ``sample`` < 1 keeps
        about that share, uniformly (by the random tail of the decision id)."""
        ...

    def count_between(
        self, start: datetime, end: datetime, *, event_type: str | None = None
    ) -> int: ...


class EventStats(Protocol):
    """Aggregates over the event log, one query each."""

    def last_event_times(self, before: datetime) -> dict[str, datetime]:
        """Per event type, the latest ``occurred_at`` before ``before``."""
        ...

    def counts_by_type(self, start: datetime, end: datetime) -> dict[str, int]:
        """Events per type with ``start <= occurred_at < end``."""
        ...

    def counts_by_source(self, start: datetime, end: datetime) -> dict[str, int]:
        """Events per source stored with ``start <= ingested_at < end``."""
        ...

    def get(self, event_id: str) -> StoredEvent | None: ...


class DeadLetterStats(Protocol):
    def counts_by_source(self, start: datetime, end: datetime) -> dict[str, int]:
        """Dead letters per source (the file or stream, without the line) received in
        ``start <= received_at < end``."""
        ...


class MemoryReportStore:
    """A :class:`ReportStore` in a list (tests, a process without a database)."""

    def __init__(self) -> None:
        self._reports: list[Report] = []
        self._lock = threading.Lock()

    def add(self, report: Report) -> Report:
        with self._lock:
            stored = replace(report, id=len(self._reports) + 1)
            self._reports.append(stored)
            return stored

    def latest(self, *, kind: str | None, scope: str | None, limit: int) -> list[Report]:
        with self._lock:
            found = [
                r
                for r in reversed(self._reports)
                if (kind is None or r.kind == kind) and (scope is None or r.scope == scope)
            ]
        return found[:limit]
