"""The entity index: which stored events name which customer, account, device, IP, e-mail
hash or payee, so "the decisions about this customer" is an index lookup, not a scan of the
event log.

It is built behind the log, never on the write path: measured, indexes inside the event log
made every append 22-28 µs slower (docs/dashboard.md). The server's follower calls
:meth:`EntityIndexer.catch_up` every second; it indexes events stored at least ``lag`` ago,
in log order, and records how far it got. A reader takes the index up to that position and
matches the newer events (a short tail) in their JSON, so it misses nothing recent.

Why the lag: on PostgreSQL a transaction that took a lower ``seq`` can commit after one
that took a higher. Waiting ``lag`` (10 s) before indexing an event leaves time for the
lower one to appear, so the position does not pass over it. Several processes may index at
once: rows are inserted ignoring duplicates and the position only moves forward.

An entity is found where the feature engine finds it (``features.ENTITY_KEYS``, the first
path present), so the decisions about a device are those its features counted. Cards have
their own indexed column; merchants, terminals and BINs are not indexed (each names a
large share of all payments, so their newest decisions are the newest rows anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from riskloop.domain.ports import EventLog
from riskloop.features import ENTITY_KEYS
from riskloop.features.compute import get_path

log = logging.getLogger(__name__)
INDEXED = ("customer", "account", "device", "ip", "email", "payee")
MAX_VALUE = 200  # longer values are not indexed (no contract allows such ids)


def entity_keys(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The indexed entities a stored event names, as ``(entity, value)``.

    >>> entity_keys({"customer_id": "c-1", "device": {"fingerprint": "fp"}, "amount": 5})
    [('customer', 'c-1'), ('device', 'fp')]
    """
    found = []
    for kind in INDEXED:
        for path in ENTITY_KEYS[kind]:
            value = get_path(data, path)
            if value is None or value == "" or isinstance(value, bool | dict | list):
                continue
            text = str(value)
            if len(text) <= MAX_VALUE:
                found.append((kind, text))
            break
    return found


class EntityIndexStore(Protocol):
    def position(self) -> int:
        """The log seq up to which events are indexed (0: none)."""
        ...

    def add(self, rows: Sequence[tuple[str, str, int]], position: int) -> None:
        """Insert ``(entity, value, seq)`` rows (ignoring those already there) and move the
        position forward to ``position``, in one transaction."""
        ...

    def settled(self, after: int, before: datetime) -> int:
        """The highest seq past ``after`` of an event stored before ``before``."""
        ...

    def behind(self) -> int:
        """How far the log's head is past the position."""
        ...


class EntityIndexer:
    def __init__(
        self,
        events: EventLog,
        store: EntityIndexStore,
        *,
        lag: timedelta = timedelta(seconds=10),
        batch: int = 5000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.events = events
        self.store = store
        self.lag = lag
        self.batch = batch
        self.clock = clock

    def catch_up(self, *, rounds: int = 4) -> int:
        """Index up to ``rounds`` batches of events older than the lag; how many events."""
        done = 0
        for _ in range(rounds):
            n = self._one_batch()
            done += n
            if n < self.batch:
                break
        return done

    def _one_batch(self) -> int:
        start = self.store.position()
        # Only events older than the lag: a lower seq may still commit (module docstring).
        # Asked first so a busy log's newest events are not read (and decoded) every round.
        upto = self.store.settled(start, self.clock() - self.lag)
        if upto <= start:
            return 0
        found = self.events.scan(after_seq=start, limit=min(self.batch, upto - start))
        rows: list[tuple[str, str, int]] = []
        position, n = start, 0
        for stored in found:
            if stored.seq is None or stored.seq > upto:
                break
            rows += [(kind, value, stored.seq) for kind, value in entity_keys(stored.data)]
            position, n = stored.seq, n + 1
        if position > start:
            self.store.add(rows, position)
        return n
