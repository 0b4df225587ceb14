"""The stream worker on the in-process bus: acks after the decision, publishes it once,
dead-letters bad input at once and failures after ``dead_after`` deliveries, never has more
than ``concurrency`` messages in flight, and stops cleanly."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import typer
from typer.testing import CliRunner

from riskloop.adapters.memory_bus import MemoryBus, subject_matches
from riskloop.config import Settings
from riskloop.domain.events import AppendOutcome, AppendStatus
from riskloop.entrypoints.cli_consume import consume_command
from riskloop.errors import ConfigError, ConflictError, FieldError, InvalidEvent, StorageError
from riskloop.ledger.records import Decision
from riskloop.policy import Outcome
from riskloop.service.bus import BusError, Message, Subjects
from riskloop.service.consume import Consumer
from riskloop.service.decisions import Decided
from riskloop.service.stream_handlers import (
    ConsumeSummary,
    Handled,
    Result,
    decide_with,
    store_with,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
SUBJECTS = Subjects("rl")
DURABLE = "workers"


class FakeDecisions:
    """Idempotent by event_id like DecisionService: a retry gets the stored decision."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[Decision, dict[str, Any]]] = {}
        self.lock = threading.Lock()
        self.trace: list[tuple[str, str]] | None = None
        self.required: list[bool] = []  # require_features, per call

    def decide(self, payload: Any, *, require_features: bool = False) -> Decided:
        self.required.append(require_features)
        if not isinstance(payload, dict) or "amount" not in payload:
            raise InvalidEvent([FieldError("amount", "required")])
        event_id = payload["event_id"]
        with self.lock:
            previous = self.records.get(event_id)
            if previous is not None:
                if previous[1] != payload:
                    raise ConflictError("event", event_id, "already used with a different body")
                return Decided(previous[0], True, {})
            decision = Decision(
                decision_id=f"dec_{event_id}",
                event_id=event_id,
                event_type="card_payment",
                outcome=Outcome.DECLINE if payload["amount"] > 1000 else Outcome.APPROVE,
                reasons=(),
                decided_by="default",
                decided_at=NOW,
                occurred_at=NOW,
                policy=None,
            )
            self.records[event_id] = (decision, payload)
            if self.trace is not None:
                self.trace.append(("recorded", event_id))
        return Decided(decision, False, {})


class TracedMessage:
    """A delivery that writes its settlement into a shared trace."""

    def __init__(self, inner: Message, trace: list[tuple[str, str]]) -> None:
        self.inner, self.trace = inner, trace
        self.key = orjson.loads(inner.data).get("event_id", "?") if inner.data[:1] == b"{" else "?"

    @property
    def subject(self) -> str:
        return self.inner.subject

    @property
    def data(self) -> bytes:
        return self.inner.data

    @property
    def headers(self) -> Mapping[str, str]:
        return self.inner.headers

    @property
    def num_delivered(self) -> int:
        return self.inner.num_delivered

    async def ack(self) -> None:
        self.trace.append(("ack", self.key))
        await self.inner.ack()

    async def nak(self, delay: float = 0.0) -> None:
        self.trace.append(("nak", self.key))
        await self.inner.nak(delay)

    async def term(self) -> None:
        self.trace.append(("term", self.key))
        await self.inner.term()


class TracedBus:
    """The memory bus, with every publish and settlement traced, and faults on demand."""

    def __init__(self, inner: MemoryBus) -> None:
        self.inner = inner
        self.trace: list[tuple[str, str]] = []
        self.lose_acks = 0  # the next N acks never reach the bus (a crash before the ack)
        self.refuse_publish = 0  # the next N publishes of decisions fail

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
    ) -> None:
        if subject_matches(SUBJECTS.decision("*"), subject):
            if self.refuse_publish:
                self.refuse_publish -= 1
                raise BusError("no responders")
            self.trace.append(("publish", orjson.loads(data)["event_id"]))
        await self.inner.publish(subject, data, headers=headers, msg_id=msg_id)

    async def subscribe(self, subject: str, durable: str, *, ack_wait: float) -> TracedSub:
        return TracedSub(self, await self.inner.subscribe(subject, durable, ack_wait=ack_wait))

    async def close(self) -> None:
        await self.inner.close()


class TracedSub:
    def __init__(self, bus: TracedBus, inner: Any) -> None:
        self.bus, self.inner = bus, inner

    async def fetch(self, batch: int, timeout: float) -> Sequence[Message]:
        got = await self.inner.fetch(batch, timeout)
        out: list[Message] = []
        for m in got:
            traced = TracedMessage(m, self.bus.trace)
            if self.bus.lose_acks:
                self.bus.lose_acks -= 1

                async def lost() -> None:
                    return None

                traced.ack = lost  # type: ignore[method-assign]
            out.append(traced)
        return out


def _event(event_id: str, **overrides: Any) -> bytes:
    return orjson.dumps({"event_id": event_id, "amount": 500, **overrides})


async def _publish(bus: Any, *bodies: bytes) -> None:
    for body in bodies:
        await bus.publish(SUBJECTS.event("card_payment"), body)


def _consume(bus: Any, handler: Any, publish: Sequence[bytes] = (), **options: Any) -> Any:
    options.setdefault("idle_exit", 0.3)
    options.setdefault("ack_wait", 30.0)
    consumer = Consumer(bus, handler, subjects=SUBJECTS, durable=DURABLE, **options)

    async def main() -> ConsumeSummary:
        await _publish(bus, *publish)
        return await consumer.run()

    return asyncio.run(main())


def test_decides_each_event_and_acks_it_only_after_its_decision_is_recorded_and_published() -> None:
    memory = MemoryBus()
    bus = TracedBus(memory)
    decisions = FakeDecisions()
    decisions.trace = bus.trace
    events = [_event(f"e{i}", amount=400 * i) for i in range(20)]
    summary = _consume(bus, decide_with(decisions, SUBJECTS), events)  # type: ignore[arg-type]

    assert summary.decided == summary.processed == 20
    assert memory.unsettled(DURABLE) == 0
    assert decisions.required == [True] * 20  # never a rules-only decision for lack of state
    for i in range(20):
        steps = [step for step, key in bus.trace if key == f"e{i}"]
        assert steps == ["recorded", "publish", "ack"]
    published = memory.stored("rl.decisions.>")
    assert {m.subject for m in published} == {"rl.decisions.approve", "rl.decisions.decline"}
    assert sorted(orjson.loads(m.data)["event_id"] for m in published) == sorted(
        f"e{i}" for i in range(20)
    )


def test_a_delivery_whose_ack_was_lost_is_replayed_and_its_decision_published_once() -> None:
    memory = MemoryBus()
    bus = TracedBus(memory)
    bus.lose_acks = 1  # the worker "dies" after recording and publishing, before acking
    decisions = FakeDecisions()
    summary = _consume(
        bus,
        decide_with(decisions, SUBJECTS),  # type: ignore[arg-type]
        [_event("e1")],
        ack_wait=0.1,
        idle_exit=0.5,
    )

    assert (summary.decided, summary.replayed, summary.redelivered) == (1, 1, 1)
    assert len(decisions.records) == 1
    # Published twice under the decision's id: the bus keeps one.
    assert [s for s, k in bus.trace if s == "publish"] == ["publish", "publish"]
    decisions_out = memory.stored("rl.decisions.>")
    assert len(decisions_out) == 1
    assert orjson.loads(decisions_out[0].data)["decision_id"] == "dec_e1"


def test_bad_input_is_dead_lettered_at_once_with_its_reason_and_termed() -> None:
    bus = MemoryBus()
    table: list[tuple[Any, str, str]] = []
    summary = _consume(
        bus,
        decide_with(FakeDecisions(), SUBJECTS),  # type: ignore[arg-type]
        [b"{not json", orjson.dumps({"event_id": "e1"}), _event("e2")],
        dead_letters=lambda payload, reason, source: table.append((payload, reason, source)),
    )

    assert (summary.dead_lettered, summary.decided, summary.retried) == (2, 1, 0)
    assert summary.reasons == {"invalid_input": 2}
    dead = bus.stored("rl.dead.>")
    assert [m.subject for m in dead] == ["rl.dead.rl.events.card_payment"] * 2
    refs = [orjson.loads(m.data) for m in dead]  # a reference, never the payload itself
    assert [r.get("event_id") for r in refs] == [None, "e1"]
    assert refs[0]["sha256"] == hashlib.sha256(b"{not json").hexdigest()
    assert refs[1]["reason"] == "invalid_input" and refs[1]["deliveries"] == 1
    first, second = (dict(m.headers) for m in dead)
    assert first["Riskloop-Reason"] == "invalid_input"
    assert first["Riskloop-Detail"] == "body: not valid JSON"
    assert first["Riskloop-Subject"] == "rl.events.card_payment"
    assert first["Riskloop-Deliveries"] == "1"
    assert second["Riskloop-Detail"] == "amount: required"
    assert [(r, s) for _, r, s in table] == [
        ("invalid_input: body: not valid JSON", "stream:rl.events.card_payment"),
        ("invalid_input: amount: required", "stream:rl.events.card_payment"),
    ]
    assert bus.unsettled(DURABLE) == 0


def test_the_same_event_id_with_another_body_is_dead_lettered_as_a_conflict() -> None:
    bus = MemoryBus()
    summary = _consume(
        bus,
        decide_with(FakeDecisions(), SUBJECTS),  # type: ignore[arg-type]
        [_event("e1"), _event("e1", amount=999)],
        concurrency=1,
    )
    assert (summary.decided, summary.dead_lettered) == (1, 1)
    assert summary.reasons == {"conflict": 1}
    (dead,) = bus.stored("rl.dead.>")
    assert dead.headers["Riskloop-Reason"] == "conflict"


def test_the_dead_letter_subject_carries_no_card_data_or_pii() -> None:
    """The payload goes only to the sealed dead-letter table (less card security data);
    the bus gets a reference: JetStream would otherwise keep a PAN in clear at rest."""
    bus = MemoryBus()
    table: list[Any] = []
    body = orjson.dumps(
        {
            "event_id": "e1",
            "email": "ada@example.com",
            "card": {"pan": "4111111111111111", "cvv": "123"},
        }
    )
    _consume(
        bus,
        decide_with(FakeDecisions(), SUBJECTS),  # type: ignore[arg-type]
        [body],
        dead_letters=lambda payload, reason, source: table.append(payload),
    )
    (dead,) = bus.stored("rl.dead.>")
    for secret in (b"4111111111111111", b"123", b"ada@example.com", b"cvv"):
        assert secret not in dead.data
    assert orjson.loads(dead.data)["event_id"] == "e1"
    assert table == [
        {"event_id": "e1", "email": "ada@example.com", "card": {"pan": "4111111111111111"}}
    ]


def test_a_failure_is_retried_and_dead_lettered_on_the_dead_after_th_delivery() -> None:
    bus = MemoryBus()
    calls: list[int] = []

    def down(payload: Any) -> Handled:
        calls.append(1)
        raise StorageError("event log write failed: OperationalError")

    summary = _consume(bus, down, [_event("e1")], dead_after=3, retry_delay=0.01)

    assert len(calls) == 3
    assert (summary.retried, summary.redelivered, summary.dead_lettered) == (2, 2, 1)
    assert summary.reasons == {"retries_exhausted": 1}
    (dead,) = bus.stored("rl.dead.>")
    assert dead.headers["Riskloop-Reason"] == "retries_exhausted"
    assert dead.headers["Riskloop-Deliveries"] == "3"
    assert dead.headers["Riskloop-Detail"] == (
        "StorageError: event log write failed: OperationalError"
    )
    assert orjson.loads(dead.data)["event_id"] == "e1"  # a reference, not the payload
    assert bus.unsettled(DURABLE) == 0


def test_a_transient_failure_is_retried_after_a_delay_and_then_decided() -> None:
    bus = MemoryBus()
    decisions = FakeDecisions()
    failures = [StorageError("database is locked")]
    seen: list[float] = []

    def flaky(payload: Any) -> Handled:
        seen.append(time.monotonic())
        if failures:
            raise failures.pop()
        return decide_with(decisions, SUBJECTS)(payload)  # type: ignore[arg-type]

    summary = _consume(bus, flaky, [_event("e1")], retry_delay=0.2, idle_exit=0.6)
    assert (summary.retried, summary.decided, summary.dead_lettered) == (1, 1, 0)
    assert seen[1] - seen[0] >= 0.19  # the nak's delay
    assert len(bus.stored("rl.decisions.>")) == 1


def test_a_decision_the_bus_refused_is_not_acked_and_is_published_on_the_redelivery() -> None:
    memory = MemoryBus()
    bus = TracedBus(memory)
    bus.refuse_publish = 1
    decisions = FakeDecisions()
    summary = _consume(
        bus,
        decide_with(decisions, SUBJECTS),  # type: ignore[arg-type]
        [_event("e1")],
        retry_delay=0.01,
    )
    assert (summary.retried, summary.decided, summary.replayed) == (1, 0, 1)
    assert len(memory.stored("rl.decisions.>")) == 1
    assert [s for s, _ in bus.trace if s in ("ack", "nak")] == ["nak", "ack"]


def test_never_more_than_concurrency_messages_are_in_flight() -> None:
    bus = MemoryBus()
    lock = threading.Lock()
    running = peak = peak_unsettled = 0

    def slow(payload: Any) -> Handled:
        nonlocal running, peak, peak_unsettled
        with lock:
            running += 1
            peak = max(peak, running)
            peak_unsettled = max(peak_unsettled, bus.unsettled(DURABLE))
        time.sleep(0.01)
        with lock:
            running -= 1
        return Handled(Result.DECIDED)

    summary = _consume(bus, slow, [_event(f"e{i}") for i in range(60)], concurrency=4, batch=50)
    assert summary.decided == 60
    assert peak == 4  # the pool was used fully …
    assert peak_unsettled <= 4  # … and the bus never handed out more than that
    assert summary.max_in_flight <= 4


def test_stop_finishes_and_acks_what_is_in_flight_then_returns() -> None:
    bus = MemoryBus()
    started = threading.Event()
    release = threading.Event()

    def blocking(payload: Any) -> Handled:
        started.set()
        release.wait(5)
        return Handled(Result.DECIDED)

    consumer = Consumer(bus, blocking, subjects=SUBJECTS, durable=DURABLE, concurrency=3)

    async def main() -> ConsumeSummary:
        await _publish(bus, *(_event(f"e{i}") for i in range(10)))
        run = asyncio.create_task(consumer.run())
        await asyncio.to_thread(started.wait, 5)
        consumer.stop()
        release.set()
        return await asyncio.wait_for(run, 10)

    summary = asyncio.run(main())
    assert summary.decided == summary.processed == 3  # the ones taken; no more fetched
    assert bus.unsettled(DURABLE) == 0


def test_max_messages_bounds_a_run_and_the_next_run_continues() -> None:
    bus = MemoryBus()
    events = [_event(f"e{i}") for i in range(10)]
    first = _consume(bus, lambda p: Handled(Result.DECIDED), events, max_messages=4, batch=3)
    second = _consume(bus, lambda p: Handled(Result.DECIDED), max_messages=100)
    assert (first.processed, second.processed) == (4, 6)


def test_ingest_mode_stores_without_deciding_and_counts_duplicates() -> None:
    class FakeIngestor:
        def __init__(self) -> None:
            self.seen: set[str] = set()

        def ingest(self, payload: Any, *, source: str) -> AppendOutcome:
            assert source == "stream"
            new = payload["event_id"] not in self.seen
            self.seen.add(payload["event_id"])
            status = AppendStatus.ACCEPTED if new else AppendStatus.DUPLICATE
            return AppendOutcome(payload["event_id"], status, 1 if new else None)

    bus = MemoryBus()
    summary = _consume(
        bus,
        store_with(FakeIngestor()),  # type: ignore[arg-type]
        [_event("e1"), _event("e2"), _event("e1")],
    )
    assert (summary.stored, summary.duplicates) == (2, 1)
    assert bus.stored("rl.decisions.>") == []


def test_the_memory_bus_redelivers_after_ack_wait_and_after_a_nak_delay() -> None:
    async def main() -> None:
        bus = MemoryBus()
        sub = await bus.subscribe("rl.events.>", "w", ack_wait=0.1)
        await bus.publish("rl.events.x", b"1")
        await bus.publish("rl.other.x", b"ignored")
        assert len(await sub.fetch(10, timeout=0.1)) == 1
        assert await sub.fetch(10, timeout=0.02) == []
        (again,) = await sub.fetch(10, timeout=1)  # not settled: back after ack_wait
        assert (again.data, again.num_delivered) == (b"1", 2)
        await again.nak(0.15)
        t = time.monotonic()
        (third,) = await sub.fetch(10, timeout=1)
        assert time.monotonic() - t >= 0.14
        assert third.num_delivered == 3
        await third.term()
        assert await sub.fetch(10, timeout=0.2) == []
        assert bus.unsettled("w") == 0
        await bus.close()
        with pytest.raises(BusError):
            await bus.publish("rl.events.x", b"late")

    asyncio.run(main())


def test_nats_settings_default_to_the_local_server_and_reject_bad_values() -> None:
    s = Settings.from_env({})
    assert (s.bus, s.nats_url.get(), s.nats_stream, s.nats_prefix) == (
        "memory",
        "nats://127.0.0.1:4222",
        "RISKLOOP",
        "riskloop",
    )
    assert (s.consume_dead_after, s.consume_concurrency) == (5, 8)
    s = Settings.from_env(
        {
            "RISKLOOP_BUS": "nats",
            "RISKLOOP_NATS_URL": "nats://u:p@10.0.0.1:4222,nats://10.0.0.2:4222",
            "RISKLOOP_NATS_PREFIX": "acme.risk",
            "RISKLOOP_CONSUME_CONCURRENCY": "32",
        }
    )
    assert "u:p" not in repr(s)
    assert (s.bus, s.nats_prefix, s.consume_concurrency) == ("nats", "acme.risk", 32)
    for variable, value in [
        ("RISKLOOP_BUS", "kafka"),
        ("RISKLOOP_NATS_URL", "http://127.0.0.1:4222"),
        ("RISKLOOP_NATS_STREAM", "a.b"),
        ("RISKLOOP_NATS_PREFIX", "rl.>"),
        ("RISKLOOP_NATS_PREFIX", "rl..x"),
        ("RISKLOOP_CONSUME_DEAD_AFTER", "0"),
        ("RISKLOOP_CONSUME_CONCURRENCY", "1000"),
    ]:
        with pytest.raises(ConfigError) as info:
            Settings.from_env({variable: value})
        assert info.value.variable == variable


def test_the_command_refuses_to_start_without_nats_and_says_which_setting() -> None:
    app = typer.Typer()
    app.command()(consume_command)
    result = CliRunner().invoke(app, [], env={"RISKLOOP_BUS": "memory"})
    assert result.exit_code == 2
    assert "RISKLOOP_BUS=nats" in result.output


class Outage:
    """A handler whose shared service is down until ``up`` is called."""

    def __init__(self, decisions: FakeDecisions) -> None:
        self.decisions = decisions
        self.down = True
        self.failed: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, payload: Any) -> Handled:
        with self.lock:
            if self.down:
                self.failed.append(payload["event_id"])
                raise StorageError("feature state unavailable; it stays stored")
        return decide_with(self.decisions, SUBJECTS)(payload)  # type: ignore[arg-type]


def test_an_outage_longer_than_the_retry_schedule_pauses_the_fetches_and_dead_letters_none() -> (
    None
):
    """Before the breaker, every message ran through its five deliveries in about
    0.05 + 0.1 + 0.2 + 0.4 s here and was dead-lettered; the outage lasts 1.5 s."""
    bus = MemoryBus()
    decisions = FakeDecisions()
    outage = Outage(decisions)
    events = [_event(f"e{i}") for i in range(40)]
    consumer = Consumer(
        bus,
        outage,
        subjects=SUBJECTS,
        durable=DURABLE,
        concurrency=4,
        retry_delay=0.05,
        dead_after=5,
        idle_exit=0.5,
        fetch_timeout=0.05,
    )

    async def main() -> ConsumeSummary:
        await _publish(bus, *events)
        run = asyncio.create_task(consumer.run())
        await asyncio.sleep(1.5)
        with outage.lock:
            outage.down = False
        return await asyncio.wait_for(run, 30)

    summary = asyncio.run(main())
    assert summary.dead_lettered == 0 and bus.stored("rl.dead.>") == []
    assert summary.decided == 40 and len(decisions.records) == 40
    assert bus.unsettled(DURABLE) == 0
    assert summary.outages >= 2 and summary.paused_seconds > 0
    # Paused, the worker took only probes: a few failed deliveries, not five of each of the 40.
    assert len(outage.failed) < 20, outage.failed


def test_a_poison_message_alone_is_still_dead_lettered_on_its_dead_after_th_delivery() -> None:
    bus = MemoryBus()
    decisions = FakeDecisions()

    def poison(payload: Any) -> Handled:
        if payload["event_id"] == "bad":
            raise StorageError("value too long for column")
        return decide_with(decisions, SUBJECTS)(payload)  # type: ignore[arg-type]

    summary = _consume(
        bus,
        poison,
        [_event("bad"), *(_event(f"e{i}") for i in range(10))],
        dead_after=3,
        retry_delay=0.01,
    )
    assert (summary.dead_lettered, summary.decided, summary.outages) == (1, 10, 0)
    (dead,) = bus.stored("rl.dead.>")
    assert dead.headers["Riskloop-Reason"] == "retries_exhausted"
