"""The stream worker against the real NATS JetStream (127.0.0.1:4222) and riskloop on SQLite:
round trip, ack after the decision, redelivery after a nak, dead letters, back-pressure.
Each test has its own stream and subject prefix; without a server the tests are skipped
locally and fail in CI."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import nats
import orjson
import pytest
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

from riskloop.adapters.nats_bus import NatsBus
from riskloop.bootstrap import Riskloop
from riskloop.errors import StorageError
from riskloop.service.bus import BusError, Subjects
from riskloop.service.consume import Consumer
from riskloop.service.stream_handlers import (
    ConsumeSummary,
    Handled,
    dead_letter_table,
    decide_with,
)
from tests.support.factories import PANS, card_payment

NATS_URL = os.environ.get("TEST_NATS_URL", "nats://127.0.0.1:4222")
T = TypeVar("T")


class Stream:
    """A throwaway stream and prefix on the real server; ``run`` gives a connected bus."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.name = f"RLTEST_{tag.upper()}"
        self.subjects = Subjects(f"rltest.{tag}")

    def run(self, body: Callable[[NatsBus], Awaitable[T]]) -> T:
        async def main() -> T:
            bus = await NatsBus.connect(
                NATS_URL, stream=self.name, subjects=self.subjects, connect_attempts=1
            )
            try:
                return await body(bus)
            finally:
                await bus.close()

        return asyncio.run(main())

    def delete(self) -> None:
        async def main() -> None:
            nc = await nats.connect(NATS_URL)
            with contextlib.suppress(NotFoundError):
                await nc.jetstream().delete_stream(self.name)
            await nc.close()

        asyncio.run(main())


_unreachable: list[BusError] = []  # probed once: a down server costs a second per try


@pytest.fixture
def stream() -> Iterator[Stream]:
    s = Stream()
    try:
        if _unreachable:
            raise _unreachable[0]
        s.run(lambda bus: asyncio.sleep(0))
    except BusError as exc:
        _unreachable[:] = [exc]
        if os.environ.get("CI"):
            raise
        pytest.skip(f"NATS not reachable: {exc}")
    yield s
    s.delete()


async def _publish(bus: NatsBus, subjects: Subjects, events: list[dict[str, Any]]) -> None:
    for event in events:
        await bus.publish(subjects.event(event["event_type"]), orjson.dumps(event))


async def _read(bus: NatsBus, subject: str, expected: int) -> list[Msg]:
    """Everything stored on ``subject`` (an ephemeral consumer; stops at ``expected``)."""
    sub = await bus.js.pull_subscribe(subject, stream=bus.stream)
    got: list[Msg] = []
    while True:
        try:
            got.extend(await sub.fetch(100, timeout=0.3 if len(got) >= expected else 2))
        except TimeoutError:
            break
    for m in got:
        await m.ack()
    await sub.unsubscribe()
    return got


async def _pending(bus: NatsBus, durable: str) -> tuple[int, int]:
    info = await bus.js.consumer_info(bus.stream, durable)
    return info.num_pending, info.num_ack_pending


def _consumer(bus: NatsBus, stream: Stream, handler: Any, **options: Any) -> Consumer:
    options.setdefault("idle_exit", 0.5)
    return Consumer(bus, handler, subjects=stream.subjects, durable="decide", **options)


def test_events_are_decided_published_by_outcome_and_acked(stream: Stream, rl: Riskloop) -> None:
    events = [card_payment(amount=100 + i) for i in range(40)]

    async def body(bus: NatsBus) -> tuple[ConsumeSummary, list[Msg], tuple[int, int]]:
        await _publish(bus, stream.subjects, events)
        summary = await _consumer(bus, stream, decide_with(rl.decisions, stream.subjects)).run()
        out = await _read(bus, stream.subjects.decision("*"), len(events))
        return summary, out, await _pending(bus, "decide")

    summary, published, pending = stream.run(body)

    assert (summary.decided, summary.dead_lettered, summary.retried) == (40, 0, 0)
    assert pending == (0, 0)  # nothing left, nothing waiting for an ack
    by_event = {orjson.loads(m.data)["event_id"]: m for m in published}
    assert set(by_event) == {e["event_id"] for e in events}
    for event_id, msg in by_event.items():
        stored = rl.ledger.for_event(event_id)
        assert stored is not None
        assert msg.subject == stream.subjects.decision(stored.outcome.value)
        assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == stored.decision_id
        assert orjson.loads(msg.data) == orjson.loads(orjson.dumps(stored.as_dict()))


def test_a_republished_decision_is_dropped_by_the_stream(stream: Stream) -> None:
    async def body(bus: NatsBus) -> int:
        subject = stream.subjects.decision("approve")
        for _ in range(3):
            await bus.publish(subject, b'{"decision_id": "dec_1"}', msg_id="dec_1")
        return len(await _read(bus, subject, 1))

    assert stream.run(body) == 1


def test_a_message_naked_after_a_failure_is_delivered_again_and_decided_once(
    stream: Stream, rl: Riskloop
) -> None:
    decide = decide_with(rl.decisions, stream.subjects)
    deliveries: list[str] = []
    failures = [StorageError("event log write failed: OperationalError")]

    def flaky(payload: Any) -> Handled:
        deliveries.append(payload["event_id"])
        if failures:
            raise failures.pop()
        return decide(payload)

    event = card_payment()

    async def body(bus: NatsBus) -> tuple[ConsumeSummary, tuple[int, int]]:
        await _publish(bus, stream.subjects, [event])
        summary = await _consumer(bus, stream, flaky, retry_delay=0.1).run()
        return summary, await _pending(bus, "decide")

    summary, pending = stream.run(body)
    assert deliveries == [event["event_id"]] * 2
    assert (summary.retried, summary.redelivered, summary.decided) == (1, 1, 1)
    assert pending == (0, 0)
    assert rl.ledger.for_event(event["event_id"]) is not None


def test_dead_letters_bad_input_at_once_and_failures_after_dead_after_deliveries(
    stream: Stream, rl: Riskloop
) -> None:
    decide = decide_with(rl.decisions, stream.subjects)
    poisoned = card_payment(event_id="poison-1")
    bad = card_payment(amount=-5)

    def handler(payload: Any) -> Handled:
        if payload.get("event_id") == "poison-1":
            raise StorageError("event log write failed: OperationalError")
        return decide(payload)

    async def body(bus: NatsBus) -> tuple[ConsumeSummary, list[Msg], tuple[int, int]]:
        await _publish(bus, stream.subjects, [poisoned, bad, card_payment()])
        await bus.publish(stream.subjects.event("card_payment"), b"\xff not json")
        summary = await _consumer(
            bus,
            stream,
            handler,
            dead_after=3,
            retry_delay=0.05,
            dead_letters=dead_letter_table(rl.ingestor),
        ).run()
        dead = await _read(bus, f"{stream.subjects.prefix}.dead.>", 3)
        return summary, dead, await _pending(bus, "decide")

    summary, dead, pending = stream.run(body)
    assert (summary.decided, summary.dead_lettered) == (1, 3)
    assert summary.reasons == {"invalid_input": 2, "retries_exhausted": 1}
    assert pending == (0, 0)  # termed, not waiting
    source = stream.subjects.event("card_payment")
    # The dead subject gets a reference (the payload's digest), never the payload.
    headers = {orjson.loads(m.data)["sha256"]: m.headers or {} for m in dead}
    assert {m.subject for m in dead} == {stream.subjects.dead(source)}

    def of(raw: bytes) -> dict[str, str]:
        return headers[hashlib.sha256(raw).hexdigest()]

    assert of(orjson.dumps(poisoned))["Riskloop-Reason"] == "retries_exhausted"
    assert of(orjson.dumps(poisoned))["Riskloop-Deliveries"] == "3"
    assert of(orjson.dumps(bad))["Riskloop-Reason"] == "invalid_input"
    assert of(orjson.dumps(bad))["Riskloop-Deliveries"] == "1"
    assert "amount" in of(orjson.dumps(bad))["Riskloop-Detail"]
    assert of(b"\xff not json")["Riskloop-Subject"] == source
    assert not [m for m in dead if any(pan.encode() in m.data for pan in PANS)]
    # riskloop's own dead-letter table keeps them too, sealed, with the reason.
    letters = rl.dead_letters.list()
    assert sorted(letter.reason.split(":")[0] for letter in letters) == [
        "invalid_input",
        "invalid_input",
        "retries_exhausted",
    ]
    assert {letter.source for letter in letters} == {f"stream:{source}"}
    assert rl.ledger.for_event(bad["event_id"]) is None


def test_never_more_than_concurrency_messages_are_unacknowledged(
    stream: Stream, rl: Riskloop
) -> None:
    decide = decide_with(rl.decisions, stream.subjects)
    lock = threading.Lock()
    running = peak = 0

    def slow(payload: Any) -> Handled:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return decide(payload)

    async def body(bus: NatsBus) -> tuple[ConsumeSummary, int]:
        await _publish(bus, stream.subjects, [card_payment() for _ in range(60)])
        consumer = _consumer(bus, stream, slow, concurrency=3, batch=100)
        run = asyncio.create_task(consumer.run())
        server_peak = 0
        while not run.done():  # what the server sees as delivered and not yet acked
            with contextlib.suppress(NotFoundError):  # not subscribed yet
                server_peak = max(server_peak, (await _pending(bus, "decide"))[1])
            await asyncio.sleep(0.01)
        return await run, server_peak

    summary, server_peak = stream.run(body)
    assert summary.decided == 60
    assert peak == 3
    assert 1 <= server_peak <= 3
    assert summary.max_in_flight <= 3


def test_a_worker_stopped_mid_stream_acks_what_it_took_and_another_finishes(
    stream: Stream, rl: Riskloop
) -> None:
    decide = decide_with(rl.decisions, stream.subjects)
    events = [card_payment() for _ in range(30)]

    async def body(bus: NatsBus) -> tuple[ConsumeSummary, ConsumeSummary, tuple[int, int]]:
        await _publish(bus, stream.subjects, events)
        first = _consumer(bus, stream, decide, concurrency=2)

        def stopping(payload: Any) -> Handled:
            if first.summary.processed >= 5:
                first.stop()
            return decide(payload)

        first.handler = stopping
        one = await first.run()
        after_stop = await _pending(bus, "decide")
        assert after_stop[1] == 0  # the stopped worker left nothing unacknowledged
        two = await _consumer(bus, stream, decide).run()
        return one, two, await _pending(bus, "decide")

    one, two, pending = stream.run(body)
    assert one.decided >= 5 and one.decided + two.decided == 30
    assert (one.replayed, two.replayed) == (0, 0)
    assert pending == (0, 0)


def test_an_unreachable_server_is_a_bus_error_naming_it_without_credentials() -> None:
    async def main() -> None:
        await NatsBus.connect(
            "nats://user:secret@127.0.0.1:1", stream="X", subjects=Subjects(), connect_attempts=1
        )

    with pytest.raises(BusError) as info:
        asyncio.run(main())
    assert "127.0.0.1:1" in str(info.value) and "secret" not in str(info.value)
