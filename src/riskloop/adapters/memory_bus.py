"""The in-process event bus: the embedded default, and the bus the worker's tests run on.

It keeps JetStream's contract inside one process: messages are stored in order, durable
subscriptions share their messages among fetchers, a delivery is acked, naked (delivered
again after a delay) or termed, an unsettled one comes back after ``ack_wait``, and a
repeated ``msg_id`` within the de-duplication window is dropped. Nothing survives the
process (a producer in the same process is gone with it); at ``max_messages`` the oldest
are discarded, as a stream's limits would. Safe to use from several threads and loops.

>>> import asyncio
>>> async def demo() -> list[bytes]:
...     bus = MemoryBus()
...     sub = await bus.subscribe("rl.events.>", "workers", ack_wait=30)
...     await bus.publish("rl.events.card_payment", b"{}", msg_id="e1")
...     await bus.publish("rl.events.card_payment", b"{}", msg_id="e1")  # a duplicate
...     got = await sub.fetch(10, timeout=0.1)
...     await got[0].ack()
...     return [m.data for m in got]
>>> asyncio.run(demo())
[b'{}']
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from riskloop.service.bus import BusError

_EMPTY: Mapping[str, str] = MappingProxyType({})


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcards: ``*`` is one token, a final ``>`` is one or more.

    >>> subject_matches("rl.events.>", "rl.events.card_payment")
    True
    >>> subject_matches("rl.*.x", "rl.events.y")
    False
    """
    want, got = pattern.split("."), subject.split(".")
    for i, part in enumerate(want):
        if part == ">":
            return len(got) > i
        if i >= len(got) or part not in ("*", got[i]):
            return False
    return len(want) == len(got)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq: int
    subject: str
    data: bytes
    headers: Mapping[str, str]


@dataclass(slots=True)
class _Pending:
    deliveries: int
    due: float  # when it may be delivered again (ack_wait, or a nak's delay)


@dataclass(slots=True)
class _Consumer:
    filter: str
    ack_wait: float
    cursor: int  # the next sequence never delivered
    pending: dict[int, _Pending] = field(default_factory=dict)


class MemoryMessage:
    __slots__ = ("_bus", "_consumer", "_msg", "num_delivered")

    def __init__(
        self, bus: MemoryBus, consumer: _Consumer, msg: StoredMessage, delivered: int
    ) -> None:
        self._bus, self._consumer, self._msg = bus, consumer, msg
        self.num_delivered = delivered

    @property
    def subject(self) -> str:
        return self._msg.subject

    @property
    def data(self) -> bytes:
        return self._msg.data

    @property
    def headers(self) -> Mapping[str, str]:
        return self._msg.headers

    async def ack(self) -> None:
        self._bus._settle(self._consumer, self._msg.seq, None)

    async def term(self) -> None:
        self._bus._settle(self._consumer, self._msg.seq, None)

    async def nak(self, delay: float = 0.0) -> None:
        self._bus._settle(self._consumer, self._msg.seq, max(0.0, delay))


class MemorySubscription:
    def __init__(self, bus: MemoryBus, consumer: _Consumer) -> None:
        self._bus, self._consumer = bus, consumer

    async def fetch(self, batch: int, timeout: float) -> Sequence[MemoryMessage]:
        return await self._bus._fetch(self._consumer, batch, timeout)


class MemoryBus:
    def __init__(
        self,
        *,
        max_messages: int = 100_000,
        dedupe_window: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_messages = max_messages
        self.dedupe_window = dedupe_window
        self._clock = clock
        self._lock = threading.Lock()
        self._log: dict[int, StoredMessage] = {}
        self._next_seq = 1
        self._first_seq = 1
        self._msg_ids: dict[str, float] = {}
        self._consumers: dict[str, _Consumer] = {}
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self._closed = False

    # -- the port ---------------------------------------------------------------------------

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
    ) -> None:
        with self._lock:
            if self._closed:
                raise BusError("the bus is closed")
            now = self._clock()
            if msg_id is not None:
                self._msg_ids = {
                    k: t for k, t in self._msg_ids.items() if now - t < self.dedupe_window
                }
                if msg_id in self._msg_ids:
                    return
                self._msg_ids[msg_id] = now
            seq = self._next_seq
            self._next_seq += 1
            frozen = MappingProxyType(dict(headers)) if headers else _EMPTY
            self._log[seq] = StoredMessage(seq, subject, bytes(data), frozen)
            while len(self._log) > self.max_messages:
                self._log.pop(self._first_seq, None)
                self._first_seq += 1
            self._wake()

    async def subscribe(
        self, subject: str, durable: str, *, ack_wait: float = 30.0
    ) -> MemorySubscription:
        with self._lock:
            consumer = self._consumers.get(durable)
            if consumer is None:
                consumer = _Consumer(subject, ack_wait, cursor=self._first_seq)
                self._consumers[durable] = consumer
            consumer.ack_wait = ack_wait
        return MemorySubscription(self, consumer)

    async def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake()

    # -- inspection (tests, the embedded mode's status) ---------------------------------------

    def stored(self, pattern: str = ">") -> list[StoredMessage]:
        """Every message held whose subject matches ``pattern``, oldest first."""
        with self._lock:
            return [m for m in self._log.values() if subject_matches(pattern, m.subject)]

    def unsettled(self, durable: str) -> int:
        """Deliveries of ``durable`` not yet acked or termed (JetStream's ack pending)."""
        with self._lock:
            consumer = self._consumers.get(durable)
            return len(consumer.pending) if consumer else 0

    # -- internals ------------------------------------------------------------------------

    def _wake(self) -> None:  # under the lock
        for loop, future in self._waiters:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # that loop is closed
                continue

    def _settle(self, consumer: _Consumer, seq: int, redeliver_in: float | None) -> None:
        with self._lock:
            pending = consumer.pending.get(seq)
            if pending is None:
                return  # settled already (a late second settle is ignored, as JetStream does)
            if redeliver_in is None:
                del consumer.pending[seq]
                return
            pending.due = self._clock() + redeliver_in
            self._wake()

    def _take(self, consumer: _Consumer, batch: int) -> list[MemoryMessage]:  # under the lock
        now = self._clock()
        out: list[MemoryMessage] = []
        for seq in sorted(consumer.pending):
            if len(out) >= batch:
                return out
            pending = consumer.pending[seq]
            msg = self._log.get(seq)
            if msg is None:  # discarded by the limits meanwhile
                del consumer.pending[seq]
            elif pending.due <= now:
                pending.deliveries += 1
                pending.due = now + consumer.ack_wait
                out.append(MemoryMessage(self, consumer, msg, pending.deliveries))
        consumer.cursor = max(consumer.cursor, self._first_seq)
        while len(out) < batch and consumer.cursor < self._next_seq:
            msg = self._log[consumer.cursor]
            consumer.cursor += 1
            if subject_matches(consumer.filter, msg.subject):
                consumer.pending[msg.seq] = _Pending(1, now + consumer.ack_wait)
                out.append(MemoryMessage(self, consumer, msg, 1))
        return out

    async def _fetch(self, consumer: _Consumer, batch: int, timeout: float) -> list[MemoryMessage]:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        loop = asyncio.get_running_loop()
        deadline = self._clock() + timeout
        while True:
            with self._lock:
                if self._closed:
                    raise BusError("the bus is closed")
                got = self._take(consumer, batch)
                now = self._clock()
                if got or now >= deadline:
                    return got
                wait = deadline - now
                if consumer.pending:
                    wait = min(wait, min(p.due for p in consumer.pending.values()) - now)
                waiter = (loop, loop.create_future())
                self._waiters.add(waiter)
            try:
                await asyncio.wait({waiter[1]}, timeout=max(wait, 0.0))
            finally:
                with self._lock:
                    self._waiters.discard(waiter)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
