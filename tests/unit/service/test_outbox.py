"""The outbox relay's logic against an in-memory store and bus: order, acknowledgement before
deletion, retries with back-off, the lease; and what the messages carry."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from riskloop.cases.tasks import MemoryTaskStore, TaskService
from riskloop.service.bus import BusError, Subjects
from riskloop.service.outbox import OutboxRelay, OutboxRow, alert_message

NOW = datetime(2026, 11, 1, tzinfo=UTC)


class MemoryOutbox:
    def __init__(self, n: int) -> None:
        self.rows = {
            i: OutboxRow(
                i, f"rl.decisions.{'approve' if i % 2 else 'review'}", f"m{i}", {"i": i}, NOW
            )
            for i in range(1, n + 1)
        }
        self.holder: str | None = None
        self.until = NOW

    def pending(self, limit: int) -> list[OutboxRow]:
        return [self.rows[k] for k in sorted(self.rows)[:limit]]

    def delete(self, seqs: Sequence[int]) -> None:
        for s in seqs:
            self.rows.pop(s, None)

    def depth(self) -> int:
        return len(self.rows)

    def lease(self, owner: str, now: datetime, ttl: timedelta) -> bool:
        if self.holder not in (None, owner) and self.until >= now:
            return False
        self.holder, self.until = owner, now + ttl
        return True

    def release(self, owner: str) -> None:
        if self.holder == owner:
            self.holder = None


class FakeBus:
    def __init__(self, fail_calls: set[int] | None = None) -> None:
        self.calls = 0
        self.fail_calls = fail_calls or set()
        self.published: list[str] = []

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
    ) -> None:
        self.calls += 1
        if self.calls in self.fail_calls:
            raise BusError("publish failed: TimeoutError")
        assert msg_id is not None and orjson.loads(data)["i"] == int(msg_id[1:])
        self.published.append(msg_id)

    async def subscribe(self, subject: str, durable: str, *, ack_wait: float) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        pass


def _relay(store: MemoryOutbox, bus: FakeBus, connect_failures: int = 0, **kw: Any) -> OutboxRelay:
    left = [connect_failures]

    async def connect() -> FakeBus:
        if left[0] > 0:
            left[0] -= 1
            raise BusError("cannot reach NATS at nats://127.0.0.1:1: ConnectionRefusedError")
        return bus

    kw.setdefault("batch", 3)
    return OutboxRelay(store, connect, retry_s=0.01, poll_s=0.01, clock=lambda: NOW, **kw)


async def _until_empty(relay: OutboxRelay, store: MemoryOutbox) -> None:
    task = asyncio.create_task(relay.run())
    for _ in range(500):
        if store.depth() == 0:
            break
        await asyncio.sleep(0.01)
    relay.stop()
    await asyncio.wait_for(task, 5)


def test_publishes_in_seq_order_then_deletes_and_gives_the_lease_up() -> None:
    store, bus = MemoryOutbox(8), FakeBus()
    stats = asyncio.run(_relay(store, bus).run(once=True))
    assert bus.published == [f"m{i}" for i in range(1, 9)]
    assert stats.published == 8 and store.depth() == 0
    assert store.holder is None


def test_a_failed_publish_keeps_its_row_and_the_rest_and_is_retried_in_order() -> None:
    store, bus = MemoryOutbox(6), FakeBus(fail_calls={3})
    relay = _relay(store, bus)
    asyncio.run(_until_empty(relay, store))
    # m1, m2 acknowledged and deleted; m3 failed, so m3 comes again first (order kept).
    assert bus.published == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert relay.stats.failures == 1 and relay.stats.published == 6


def test_an_unreachable_bus_is_retried_with_back_off_and_the_outbox_catches_up() -> None:
    store, bus = MemoryOutbox(5), FakeBus()
    relay = _relay(store, bus, connect_failures=3)
    asyncio.run(_until_empty(relay, store))
    assert relay.stats.failures == 3
    assert bus.published == [f"m{i}" for i in range(1, 6)]


def test_once_raises_the_first_failure_and_keeps_the_rows() -> None:
    store, bus = MemoryOutbox(4), FakeBus()
    with pytest.raises(BusError):
        asyncio.run(_relay(store, bus, connect_failures=1).run(once=True))
    assert store.depth() == 4 and store.holder is None


def test_without_the_lease_nothing_is_published_until_it_lapses() -> None:
    store, bus = MemoryOutbox(4), FakeBus()
    store.lease("someone-else", NOW, timedelta(seconds=60))

    async def main() -> None:
        relay = _relay(store, bus, lease_s=0.03)
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(0.1)
        assert bus.published == []  # standing by
        store.release("someone-else")
        for _ in range(300):
            if store.depth() == 0:
                break
            await asyncio.sleep(0.01)
        relay.stop()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert bus.published == ["m1", "m2", "m3", "m4"]


def test_once_with_another_relay_holding_the_lease_returns_when_nothing_is_left() -> None:
    store, bus = MemoryOutbox(0), FakeBus()
    store.lease("someone-else", NOW, timedelta(seconds=60))
    stats = asyncio.run(_relay(store, bus).run(once=True))
    assert stats.published == 0


def test_an_alert_carries_nothing_personal() -> None:
    tasks = TaskService(MemoryTaskStore(), clock=lambda: NOW)
    hit = tasks.raise_task(
        "screening_hit",
        "Potential sanctions match for customer cus-1: Ivan Petrov (ofac, 0.97)",
        key="screening:cus-1",
        detail={"name": "Ivan Petrov"},
        actor="screening",
    )
    message = alert_message(Subjects("rl"), hit)
    assert message.subject == "rl.alerts.screening_hit"
    assert message.msg_id == f"task-{hit.id}"
    assert message.payload["title"] is None
    assert "Petrov" not in orjson.dumps(message.payload).decode()
    failed = tasks.raise_task("job_failure", "Job 'train' failed", key="job:train", actor="cron")
    assert alert_message(Subjects("rl"), failed).payload["title"] == "Job 'train' failed"
