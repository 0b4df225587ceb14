"""The transactional outbox against the real NATS JetStream (127.0.0.1:4222), on SQLite and
PostgreSQL: a decision or a new task is published once, with its stored body, only if its
record was committed; with NATS down decisions are still answered and the outbox catches up
in order; two relays at once publish each row once. Each test has its own stream and
subject prefix."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from riskloop.adapters.nats_bus import NatsBus
from riskloop.adapters.sql.outbox import SqlOutbox
from riskloop.bootstrap import Riskloop, build, outbox_relay
from riskloop.config import Secret, Settings
from riskloop.entrypoints.http import create_app
from riskloop.service.bus import EventBus, Subscription
from riskloop.service.outbox import OutboxRelay, alert_message
from tests.support.factories import EMAIL, PANS, card_payment
from tests.support.http import AdminClient
from tests.support.outbox_stream import NATS_URL, TestStream, make_stream


@pytest.fixture
def stream() -> Iterator[TestStream]:
    s = make_stream()
    yield s
    s.delete()


def _publishing(settings: Settings, stream: TestStream, url: str = NATS_URL) -> Settings:
    return replace(
        settings,
        bus="nats",
        nats_url=Secret(url),
        nats_stream=stream.name,
        nats_prefix=stream.subjects.prefix,
    )


@pytest.fixture
def prl(any_settings: Settings, stream: TestStream) -> Iterator[Riskloop]:
    """riskloop with publishing on, on SQLite and on PostgreSQL."""
    app = build(_publishing(any_settings, stream))
    yield app
    app.close()


def _decisions(stream: TestStream) -> str:
    return f"{stream.subjects.prefix}.decisions.>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_decision_over_http_is_published_once_with_its_stored_body(
    prl: Riskloop, stream: TestStream
) -> None:
    event = card_payment()
    with AdminClient(create_app(prl)) as client:  # the lifespan runs the relay
        answer = client.post("/v1/decisions", json=event)
        assert answer.status_code == 201
        decision_id = answer.json()["decision_id"]
        stored = client.get(f"/v1/decisions/{decision_id}").json()
        [message] = stream.wait_for(_decisions(stream), 1)
        assert message.msg_id == decision_id
        assert message.subject == stream.subjects.decision(stored["outcome"])
        assert message.body == stored
        raw = orjson.dumps(message.body).decode()
        assert PANS[0] not in raw and EMAIL not in raw  # the record, never the event

        # The same event again is a replay: nothing new is written or published.
        again = client.post("/v1/decisions", json=event)
        assert again.status_code == 200 and again.json()["replayed"] is True
        assert prl.outbox is not None and prl.outbox.depth() == 0
        assert "riskloop_outbox_depth 0.0" in client.get("/metrics").text

    # What the consume worker does for its own decisions: the same id again, dropped.
    async def republish() -> None:
        bus = await NatsBus.connect(
            NATS_URL, stream=stream.name, subjects=stream.subjects, connect_attempts=1
        )
        try:
            await bus.publish(message.subject, orjson.dumps(stored), msg_id=decision_id)
        finally:
            await bus.close()

    asyncio.run(republish())
    assert [m.msg_id for m in stream.read(_decisions(stream))] == [decision_id]


def test_a_twin_decision_of_a_stored_event_writes_no_message(prl: Riskloop) -> None:
    first = prl.decisions.decide(card_payment()).decision
    twin = replace(first, decision_id=first.decision_id[:-4] + "beef")  # a concurrent twin
    assert prl.ledger.record(twin).decision_id == first.decision_id  # the stored one stands
    assert prl.outbox is not None
    assert [r.msg_id for r in prl.outbox.pending(10)] == [first.decision_id]


def _fail_outbox_inserts(rl: Riskloop) -> None:
    with rl.engine.begin() as conn:
        if rl.engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION fail_outbox() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox "
                    "FOR EACH ROW EXECUTE FUNCTION fail_outbox()"
                )
            )


def test_a_decision_whose_transaction_fails_is_neither_stored_nor_published(
    prl: Riskloop, stream: TestStream
) -> None:
    client = AdminClient(create_app(prl))  # no lifespan: the relay runs below, once
    event = card_payment()
    _fail_outbox_inserts(prl)
    assert client.post("/v1/decisions", json=event).status_code == 503
    assert prl.ledger.for_event(event["event_id"]) is None  # the record rolled back too
    assert prl.outbox is not None and prl.outbox.depth() == 0
    with prl.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER fail_outbox" + (" ON outbox" if _pg(prl) else "")))

    stats = asyncio.run(outbox_relay(prl).run(once=True))
    assert stats.published == 0
    assert stream.read(_decisions(stream)) == []

    # Sent again, the event is decided now, and that decision is published.
    retried = client.post("/v1/decisions", json=event)
    assert retried.status_code == 201
    assert asyncio.run(outbox_relay(prl).run(once=True)).published == 1
    assert [m.msg_id for m in stream.read(_decisions(stream))] == [retried.json()["decision_id"]]


def _pg(rl: Riskloop) -> bool:
    return rl.engine.dialect.name == "postgresql"


def test_a_new_task_publishes_an_alert_and_a_repeat_does_not(
    prl: Riskloop, stream: TestStream
) -> None:
    raise_it = {
        "key": "drift:card_payment:amount",
        "detail": {"psi": 0.4, "customer": EMAIL},
        "actor": "monitor",
    }
    task = prl.tasks.raise_task("alert", "Drift on amount", **raise_it)
    again = prl.tasks.raise_task("alert", "Drift on amount", **raise_it)
    assert again.id == task.id and again.occurrences == 2
    assert asyncio.run(outbox_relay(prl).run(once=True)).published == 1
    [message] = stream.read(f"{stream.subjects.prefix}.alerts.>")
    assert message.subject == f"{stream.subjects.prefix}.alerts.alert"
    assert message.msg_id == f"task-{task.id}"
    assert message.body == alert_message(stream.subjects, task).payload
    assert message.body["title"] == "Drift on amount" and "detail" not in message.body


def test_with_nats_down_decisions_are_answered_and_a_relay_catches_up_in_order(
    any_settings: Settings, stream: TestStream
) -> None:
    down = f"nats://127.0.0.1:{_free_port()}"
    rl = build(_publishing(any_settings, stream, url=down))
    try:
        with AdminClient(create_app(rl)) as client:  # its relay keeps failing to connect
            ids = []
            for _ in range(30):
                answer = client.post("/v1/decisions", json=card_payment())
                assert answer.status_code == 201
                ids.append(answer.json()["decision_id"])
            assert "riskloop_outbox_depth 30.0" in client.get("/metrics").text
        assert rl.outbox is not None and rl.outbox.depth() == 30

        stats = asyncio.run(outbox_relay(rl, url=NATS_URL, batch=7).run(once=True))
        assert stats.published == 30 and rl.outbox.depth() == 0
        assert [m.msg_id for m in stream.read(_decisions(stream))] == ids  # in order
    finally:
        rl.close()


class _CountingBus:
    """A bus that notes each publish (JetStream's dedupe would hide a second one)."""

    def __init__(self, inner: EventBus, name: str, log: list[tuple[str, str]]) -> None:
        self.inner, self.name, self.log = inner, name, log

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
    ) -> None:
        self.log.append((self.name, msg_id or ""))
        await self.inner.publish(subject, data, headers=headers, msg_id=msg_id)

    async def subscribe(self, subject: str, durable: str, *, ack_wait: float) -> Subscription:
        return await self.inner.subscribe(subject, durable, ack_wait=ack_wait)

    async def close(self) -> None:
        await self.inner.close()


def test_two_relays_at_once_publish_each_row_once(prl: Riskloop, stream: TestStream) -> None:
    ids = [prl.decisions.decide(card_payment()).decision.decision_id for _ in range(60)]
    log: list[tuple[str, str]] = []

    def relay(name: str) -> OutboxRelay:
        async def connect() -> EventBus:
            bus = await NatsBus.connect(
                NATS_URL, stream=stream.name, subjects=stream.subjects, connect_attempts=1
            )
            return _CountingBus(bus, name, log)

        return OutboxRelay(SqlOutbox(prl.engine), connect, owner=name, batch=5, lease_s=3)

    async def both() -> list[Any]:
        return await asyncio.gather(relay("a").run(once=True), relay("b").run(once=True))

    asyncio.run(both())
    assert sorted(msg_id for _, msg_id in log) == sorted(ids)  # each published once
    assert len({name for name, _ in log}) == 1  # by the relay holding the lease
    assert [m.msg_id for m in stream.read(_decisions(stream))] == ids


def test_the_relay_lease_is_exclusive_until_it_lapses(any_rl: Riskloop) -> None:
    store, now, ttl = SqlOutbox(any_rl.engine), datetime.now(UTC), timedelta(seconds=10)
    assert store.lease("a", now, ttl)
    assert not store.lease("b", now + timedelta(seconds=5), ttl)
    assert store.lease("a", now + timedelta(seconds=5), ttl)  # renewed to +15 s
    assert not store.lease("b", now + timedelta(seconds=14), ttl)
    assert store.lease("b", now + timedelta(seconds=16), ttl)  # lapsed: taken over
    store.release("a")  # no longer its: changes nothing
    assert not store.lease("a", now + timedelta(seconds=17), ttl)
    store.release("b")
    assert store.lease("a", now + timedelta(seconds=17), ttl)
