"""The transactional outbox and its relay: every new decision and every new task reaches the
bus, and a published message always matches a stored record.

When publishing is on (``RISKLOOP_BUS=nats``) the decision ledger and the task store write
one outbox row per message owed **in the transaction of the record itself**: both exist or
neither. A new decision goes to ``<prefix>.decisions.<outcome>`` with its record as
``GET /v1/decisions/{id}`` returns it, msg id = ``decision_id``; a new task (not a repeat
occurrence) goes to ``<prefix>.alerts.<kind>``, msg id ``task-<id>``, with no personal data.

The relay publishes the rows in ``seq`` order, one at a time, waits for the bus's
acknowledgement, then deletes them. A crash between the two publishes again under the same
msg id, which JetStream drops within its de-duplication window: at least once on the wire,
exactly once in effect for consumers that also dedupe by msg id beyond the window. One relay
publishes at a time, holding a lease that it renews while it works (the SQL store keeps it in
``job_runs``, as scheduled jobs do); the others stand by and take over when it lapses. If
the bus is down, decisions are still answered and stored, the outbox grows, and the relay
retries with a growing delay and catches up. See docs/streams.md.

"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson

from riskloop.cases.tasks import Task, TaskKind
from riskloop.errors import StorageError
from riskloop.ledger.records import Decision
from riskloop.service.bus import BusError, EventBus, Subjects

log = logging.getLogger(__name__)

LEASE_NAME = "outbox-relay"  # the relay's row in job_runs
_TITLED = frozenset({TaskKind.ALERT, TaskKind.JOB_FAILURE})  # titles naming no customer


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message owed to the bus; ``payload`` is a JSON object."""

    subject: str
    msg_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    subject: str
    msg_id: str
    payload: Any
    created_at: datetime


def decision_message(
    subjects: Subjects, decision: Decision, body: dict[str, Any] | None = None
) -> OutboxMessage:
    """The record as the API returns it (tokens, hashes, no PAN or PII); never the event.
    ``body`` is ``decision.as_dict()`` when the caller has it already."""
    payload = body if body is not None else decision.as_dict()
    return OutboxMessage(subjects.decision(decision.outcome.value), decision.decision_id, payload)


def alert_message(subjects: Subjects, task: Task) -> OutboxMessage:
    """What a consumer needs to route a new task, nothing personal: no detail, owner or
    notes, and a title only for tasks about machines (a screening hit's names a person),
    as the webhook does."""
    payload = {
        "task_id": task.id,
        "kind": task.kind.value,
        "key": task.key,
        "title": task.title if task.kind in _TITLED else None,
        "status": task.status.value,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "runbook_url": task.runbook_url,
        "created_at": task.created_at.isoformat(),
    }
    return OutboxMessage(subjects.alert(task.kind.value), f"task-{task.id}", payload)


class OutboxStore(Protocol):
    """The outbox rows and the relay's lease. Fails closed (``StorageError``): a relay that
    cannot read, delete or hold its lease publishes nothing."""

    def pending(self, limit: int) -> list[OutboxRow]:
        """The oldest rows, in ``seq`` order."""
        ...

    def delete(self, seqs: Sequence[int]) -> None: ...

    def depth(self) -> int:
        """How many rows wait (one aggregate)."""
        ...

    def lease(self, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the relay's lease until ``now + ttl``: ``True`` if ``owner`` holds
        it now (it was free, had lapsed, or was already ``owner``'s)."""
        ...

    def release(self, owner: str) -> None:
        """Give the lease up, if ``owner`` holds it."""
        ...


@dataclass
class RelayStats:
    published: int = 0
    failures: int = 0  # passes that failed (the bus or the store), each retried after a delay


def default_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OutboxRelay:
    """Publishes the outbox until stopped (:meth:`run`), or until it is empty
    (``run(once=True)``, which raises the first failure instead of retrying).

    ``connect`` opens the bus (``BusError`` if unreachable); it is called again after a
    failed publish, which also re-checks the stream. ``lease_s`` bounds how long a crashed
    relay keeps the others waiting; it is renewed every third of it, so it must exceed the
    bus's publish timeout (5 s on NATS) by a margin for no two relays ever to publish at once.
    """

    def __init__(
        self,
        store: OutboxStore,
        connect: Callable[[], Awaitable[EventBus]],
        *,
        owner: str | None = None,
        batch: int = 100,
        lease_s: float = 15.0,
        poll_s: float = 0.2,
        retry_s: float = 0.5,
        max_retry_s: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if batch < 1 or lease_s <= 0 or poll_s <= 0 or retry_s <= 0:
            raise ValueError("batch, lease_s, poll_s and retry_s must be positive")
        self.store = store
        self.connect = connect
        self.owner = owner or default_owner()
        self.batch = batch
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.max_retry_s = max(max_retry_s, retry_s)
        self.clock = clock
        self.stats = RelayStats()
        self._bus: EventBus | None = None
        self._renew_at = 0.0  # monotonic time by which the lease is renewed; 0: not held
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def stop(self) -> None:
        """Finish the message being published, delete what was published, give the lease up
        and return from :meth:`run`. Safe from any thread and from a signal handler."""
        self._stopping = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed: run() has returned
                loop.call_soon_threadsafe(wake.set)

    async def run(self, *, once: bool = False) -> RelayStats:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        delay, outage_since = self.retry_s, 0.0
        try:
            while not self._stopping:
                try:
                    if not await self._hold():
                        if once and await asyncio.to_thread(self.store.depth) == 0:
                            break  # another relay holds it and nothing is left
                        await self._sleep(min(self.lease_s / 3, 5.0))
                        continue
                    sent = await self._pass()
                except Exception as exc:  # the bus, the store, or a bug: all retried
                    if once:
                        raise
                    self.stats.failures += 1
                    outage_since = outage_since or time.monotonic()
                    await self._failed(exc, delay)
                    delay = min(delay * 2, self.max_retry_s)
                    continue
                delay = self.retry_s
                if outage_since and sent:
                    log.info(
                        "outbox relay: publishing again after %.0f s",
                        time.monotonic() - outage_since,
                    )
                    outage_since = 0.0
                if sent == 0:
                    if once:
                        break
                    await self._sleep(self.poll_s)
        finally:
            await self._shutdown()
        return self.stats

    async def _pass(self) -> int:
        """Publish one batch in ``seq`` order, each after the last was acknowledged; delete
        what was published, also when a publish fails part-way (the rest comes next)."""
        rows = await asyncio.to_thread(self.store.pending, self.batch)
        if not rows:
            return 0
        if self._bus is None:  # connected only when there is something to publish
            self._bus = await self.connect()
        bus = self._bus
        done: list[int] = []
        try:
            for row in rows:
                if self._stopping or not await self._hold():
                    break
                await bus.publish(row.subject, orjson.dumps(row.payload), msg_id=row.msg_id)
                done.append(row.seq)
        finally:
            if done:
                await asyncio.to_thread(self.store.delete, done)
                self.stats.published += len(done)
        return len(done)

    async def _hold(self) -> bool:
        """Whether this relay holds the lease, renewing it when a third of it has passed."""
        if self._renew_at and time.monotonic() < self._renew_at:
            return True
        ttl = timedelta(seconds=self.lease_s)
        held = await asyncio.to_thread(self.store.lease, self.owner, self.clock(), ttl)
        was_held, self._renew_at = bool(self._renew_at), 0.0
        if held:
            self._renew_at = time.monotonic() + self.lease_s / 3
            if not was_held:
                log.info("outbox relay %s holds the lease", self.owner)
        elif was_held:
            log.warning("outbox relay %s lost its lease; standing by", self.owner)
        return held

    async def _failed(self, exc: Exception, delay: float) -> None:
        try:
            waiting: int | str = await asyncio.to_thread(self.store.depth)
        except StorageError:
            waiting = "unknown"
        expected = isinstance(exc, BusError | StorageError)
        log.warning(
            "outbox relay: %s; %s messages waiting; retrying in %.1f s",
            exc if expected else f"{type(exc).__name__}: {exc}",
            waiting,
            delay,
            exc_info=not expected,
        )
        if not isinstance(exc, StorageError) and self._bus is not None:
            bus, self._bus = self._bus, None  # reconnect, which re-checks the stream
            await _close(bus)
        await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _shutdown(self) -> None:
        if self._renew_at:
            self._renew_at = 0.0
            try:
                await asyncio.to_thread(self.store.release, self.owner)
            except StorageError as exc:  # it lapses on its own
                log.warning("outbox relay: releasing the lease failed: %s", exc)
        if self._bus is not None:
            bus, self._bus = self._bus, None
            await _close(bus)
        self._loop = None


async def _close(bus: EventBus) -> None:
    try:
        await bus.close()
    except Exception as exc:  # closing a broken connection must not hide why it broke
        log.debug("closing the bus failed: %s", type(exc).__name__)


class RelayThread:
    """A relay on a daemon thread with its own event loop, for a server's lifespan."""

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.relay.run())
        except Exception:  # run() retries what it can; this is a bug, said once
            log.exception("the outbox relay stopped")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.relay.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)
