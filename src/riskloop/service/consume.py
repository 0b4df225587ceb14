"""The stream worker: events from a durable subscription are decided (or only stored), each
decision is published, and a message is acknowledged only after that is durable.

One asyncio loop fetches and settles; a bounded thread pool runs the synchronous
``DecisionService.decide`` (or ``Ingestor.ingest``). A fetch never asks for more than the
free places in that pool: this is the back-pressure, and never more than ``concurrency``
messages are in flight. Per message:

- done → publish its decision to ``<prefix>.decisions.<outcome>`` (``msg_id`` =
  ``decision_id``), then ack. A crash anywhere before the ack means a redelivery, which
  ``decide`` answers with the stored decision (``replayed``; features count once) and which
  publishes it again under the same id: exactly once in effect.
- bad input (``InvalidInput``, JSON that is not JSON, ``ConflictError``) → dead-lettered at
  once: a sealed copy (less any card security data) to riskloop's dead-letter table, a
  reference (event id, reason, the payload's digest; never the payload) to
  ``<prefix>.dead.<subject>`` with the reason in headers, then term.
- any other failure (a database or Redis down, the bus refusing the decision) → nak with a
  growing delay; on the ``dead_after``-th failed delivery it is dead-lettered instead. A
  feature state that cannot count the event is such a failure here, not a decision on
  fallback features as over HTTP (``require_features``).

A message is termed only after its dead letter was published: if that fails too it is
naked, and comes back. While a shared service is down the worker stops fetching
(``service.breaker``): an outage is waited out, not dead-lettered.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from typing import Any

import orjson

from riskloop.errors import ConflictError, FieldError, InvalidInput, StorageError
from riskloop.intake.validation import strip_forbidden
from riskloop.service.breaker import OutageBreaker
from riskloop.service.bus import BusError, EventBus, Message, Subjects
from riskloop.service.stream_handlers import (
    ConsumeSummary,
    DeadLetterSink,
    Handled,
    Handler,
    Result,
)
from riskloop.vault import mask_text

log = logging.getLogger(__name__)
MAX_RETRY_DELAY_S = 60.0
MAX_PAUSE_S = 30.0
# Failures of a shared service rather than of the message: they open the breaker.
OUTAGE = (StorageError, BusError, OSError)


class DeadReason(StrEnum):
    """Why a message was dead-lettered: the ``Riskloop-Reason`` header, stable strings."""

    INVALID_INPUT = "invalid_input"
    CONFLICT = "conflict"
    RETRIES_EXHAUSTED = "retries_exhausted"


def _header(text: str, limit: int = 512) -> str:
    """A header value: one line, ASCII, masked, bounded."""
    flat = " ".join(mask_text(text).split())
    return flat.encode("ascii", "replace").decode()[:limit]


def _reference(payload: Any, msg: Message, reason: DeadReason) -> bytes:
    """What the dead subject carries: which event, why, and the payload's digest, never the
    payload (JetStream keeps what it is given; a PAN or a name there would be in clear at
    rest). The payload is in riskloop's dead-letter table, sealed, and still in the events
    stream under its sequence until the stream's limits remove it."""
    ref: dict[str, Any] = {
        "reason": str(reason),
        "subject": msg.subject,
        "deliveries": msg.num_delivered,
        "sha256": hashlib.sha256(msg.data).hexdigest(),
    }
    if isinstance(payload, dict):
        for key in ("event_id", "event_type", "label_id"):
            if isinstance(payload.get(key), str):
                ref[key] = mask_text(payload[key])[:128]
    return orjson.dumps(ref)


def _parse(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InvalidInput([FieldError("body", "not valid JSON")]) from None


class Consumer:
    """Runs one worker of the durable group ``durable`` until stopped, idle or done.

    ``max_messages`` stops after that many deliveries; ``idle_exit`` once nothing has been
    fetched or settled for that many seconds (never while paused for an outage).
    ``retry_delay`` is the first nak's delay, doubled at each further delivery (at most a
    minute), and the first pause of the fetches when a shared service fails.
    """

    def __init__(
        self,
        bus: EventBus,
        handler: Handler,
        *,
        subjects: Subjects,
        durable: str,
        concurrency: int = 8,
        batch: int = 32,
        dead_after: int = 5,
        ack_wait: float = 30.0,
        retry_delay: float = 1.0,
        max_messages: int | None = None,
        idle_exit: float | None = None,
        dead_letters: DeadLetterSink | None = None,
        fetch_timeout: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1 or batch < 1 or dead_after < 1:
            raise ValueError("concurrency, batch and dead_after must be at least 1")
        self.bus = bus
        self.handler = handler
        self.subjects = subjects
        self.durable = durable
        self.concurrency = concurrency
        self.batch = batch
        self.dead_after = dead_after
        self.ack_wait = ack_wait
        self.retry_delay = retry_delay
        self.max_messages = max_messages
        self.idle_exit = idle_exit
        self.dead_letters = dead_letters
        self.fetch_timeout = fetch_timeout
        self.clock = clock
        self.summary = ConsumeSummary()
        self.breaker = OutageBreaker(first_pause=retry_delay, max_pause=MAX_PAUSE_S, clock=clock)
        self._stopping = False
        self._in_flight = 0
        self._last_activity = 0.0
        self._first_at: float | None = None
        self._pool: ThreadPoolExecutor | None = None

    def stop(self) -> None:
        """Stop fetching; what is in flight is finished and settled (signal-safe)."""
        self._stopping = True

    async def run(self) -> ConsumeSummary:
        started = self.clock()
        self._last_activity = started
        sub = await self.bus.subscribe(self.subjects.events, self.durable, ack_wait=self.ack_wait)
        tasks: set[asyncio.Task[None]] = set()
        fetched = 0
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="riskloop-consume")
        try:
            while not self._stopping:
                if self.max_messages is not None and fetched >= self.max_messages:
                    break
                free = self.concurrency - len(tasks)
                if free <= 0:
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    continue
                free, pause = self.breaker.allowance(free, len(tasks))
                if free <= 0:  # a shared service is down: take nothing until the pause ends
                    await asyncio.sleep(min(max(pause, 0.01), self.fetch_timeout))
                    self._last_activity = self.clock()
                    continue
                timeout = self.fetch_timeout
                if self.idle_exit is not None:
                    idle = self.clock() - self._last_activity
                    if not tasks and idle >= self.idle_exit:
                        break
                    timeout = max(0.01, min(timeout, self.idle_exit - idle))
                want = min(self.batch, free)
                if self.max_messages is not None:
                    want = min(want, self.max_messages - fetched)
                try:
                    msgs = await sub.fetch(want, timeout)
                except BusError as exc:
                    log.warning("fetch failed, trying again in a second: %s", exc)
                    await asyncio.sleep(1.0)
                    continue
                if not msgs:
                    continue
                fetched += len(msgs)
                self._last_activity = self.clock()
                if self._first_at is None:
                    self._first_at = self._last_activity
                for msg in msgs:
                    task = asyncio.create_task(self._handle(msg))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                self.summary.max_in_flight = max(self.summary.max_in_flight, len(tasks))
        finally:
            if tasks:  # a stop (or a failure) finishes and settles what was taken
                await asyncio.gather(*tasks, return_exceptions=True)
            self._pool.shutdown(wait=True)
        self.summary.seconds = self.clock() - started
        self.summary.outages = self.breaker.opened
        self.summary.paused_seconds = self.breaker.paused_seconds
        if self._first_at is not None:
            self.summary.busy_seconds = self._last_activity - self._first_at
        return self.summary

    # -- one message -------------------------------------------------------------------------

    def _call(self, data: bytes) -> Handled:
        return self.handler(_parse(data))

    async def _handle(self, msg: Message) -> None:
        loop = asyncio.get_running_loop()
        if msg.num_delivered > 1:
            self.summary.redelivered += 1
        try:
            try:
                handled = await loop.run_in_executor(self._pool, self._call, msg.data)
            except InvalidInput as exc:
                await self._dead(msg, DeadReason.INVALID_INPUT, str(exc))
                return
            except ConflictError as exc:
                await self._dead(msg, DeadReason.CONFLICT, str(exc))
                return
            except Exception as exc:  # everything else may pass: the database, Redis, …
                await self._retry(msg, exc)
                return
            try:
                for out in handled.publish:
                    await self.bus.publish(out.subject, out.data, msg_id=out.msg_id)
                await msg.ack()
            except BusError as exc:
                await self._retry(msg, exc)
                return
            self.breaker.succeeded()
            self._count(handled.result)
        except BusError as exc:  # not even a nak or term got through: ack_wait brings it back
            self.summary.unsettled += 1
            log.warning("could not settle a message on %s: %s", msg.subject, exc)
        finally:
            self.summary.processed += 1
            self._last_activity = self.clock()

    def _count(self, result: Result) -> None:
        s = self.summary
        if result is Result.DECIDED:
            s.decided += 1
        elif result is Result.REPLAYED:
            s.replayed += 1
        elif result is Result.STORED:
            s.stored += 1
        else:
            s.duplicates += 1

    async def _retry(self, msg: Message, exc: Exception) -> None:
        detail = f"{type(exc).__name__}: {exc}"
        n = msg.num_delivered
        if isinstance(exc, OUTAGE):
            if self.breaker.failed(hashlib.blake2b(msg.data, digest_size=8).hexdigest()):
                log.warning(
                    "a shared service failed; no fetching for %.1fs: %s",
                    self.breaker.pause,
                    mask_text(detail),
                )
            if not self.breaker.closed:  # an outage is waited out, never dead-lettered
                await msg.nak(self.breaker.pause)
                self.summary.retried += 1
                return
        if n >= self.dead_after:
            await self._dead(msg, DeadReason.RETRIES_EXHAUSTED, detail)
            return
        delay = min(self.retry_delay * 2 ** (n - 1), MAX_RETRY_DELAY_S)
        log.warning(
            "event on %s failed (delivery %d of %d), again in %.1fs: %s",
            msg.subject,
            n,
            self.dead_after,
            delay,
            mask_text(detail),
        )
        await msg.nak(delay)
        self.summary.retried += 1

    async def _dead(self, msg: Message, reason: DeadReason, detail: str) -> None:
        payload: Any
        try:
            payload = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            payload = msg.data.decode("utf-8", "replace")
        stripped = strip_forbidden(payload)  # card security data goes no further than it came
        if self.dead_letters is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self._pool,
                    self.dead_letters,
                    stripped,
                    mask_text(f"{reason}: {detail}"),
                    f"stream:{msg.subject}",
                )
            except Exception as exc:  # the bus copy below is the one that must exist
                log.warning("dead-letter table write failed: %s", type(exc).__name__)
        headers = {
            "Riskloop-Reason": str(reason),
            "Riskloop-Detail": _header(detail),
            "Riskloop-Subject": msg.subject,
            "Riskloop-Deliveries": str(msg.num_delivered),
        }
        digest = hashlib.sha256(msg.subject.encode() + b"\0" + msg.data).hexdigest()[:32]
        try:
            await self.bus.publish(
                self.subjects.dead(msg.subject),
                _reference(payload, msg, reason),
                headers=headers,
                msg_id=f"dead-{digest}",
            )
        except BusError as exc:
            log.warning("dead-letter publish failed, will retry: %s", exc)
            await msg.nak(min(self.retry_delay, MAX_RETRY_DELAY_S))
            self.summary.retried += 1
            return
        await msg.term()
        self.summary.dead_lettered += 1
        self.summary.reasons[str(reason)] += 1
        log.warning(
            "dead-lettered an event on %s after %d deliveries: %s: %s",
            msg.subject,
            msg.num_delivered,
            reason,
            mask_text(detail),
        )
