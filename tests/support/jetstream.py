"""Helpers for the tests that run ``riskloop consume`` against the real NATS JetStream
(127.0.0.1:4222, or ``TEST_NATS_URL``): a throwaway stream and prefix, publishing events,
the worker group's state, the worker's command and environment, and same-instant card
payments whose counts make "decided once, counted once" visible."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from nats.js.errors import NotFoundError

from riskloop.adapters.nats_bus import NatsBus
from riskloop.service.bus import BusError, Subjects
from tests.support.factories import card_payment
from tests.support.streams import luhn_complete

NATS_URL = os.environ.get("TEST_NATS_URL", "nats://127.0.0.1:4222")
RISKLOOP = str(Path(sys.executable).with_name("riskloop"))
DURABLE = "riskloop-decide"
INSTANT = "2026-11-01T12:00:00Z"


def consume_command() -> list[str]:
    """``riskloop consume`` once the CLI registers it; the module on its own until then."""
    spec = importlib.util.find_spec("riskloop.entrypoints.cli")
    assert spec is not None and spec.origin is not None
    if "consume_command" in Path(spec.origin).read_text():
        return [RISKLOOP, "consume"]
    return [sys.executable, "-m", "riskloop.entrypoints.cli_consume"]


@contextlib.contextmanager
def temporary_stream() -> Iterator[tuple[str, Subjects]]:
    """A stream and subject prefix of the test's own, deleted afterwards; a skip locally
    (a failure in CI) when NATS is not there."""
    tag = uuid.uuid4().hex[:10]
    name, subjects = f"RLTEST_{tag.upper()}", Subjects(f"rltest.{tag}")

    async def create() -> None:
        bus = await NatsBus.connect(NATS_URL, stream=name, subjects=subjects, connect_attempts=1)
        await bus.close()

    try:
        asyncio.run(create())
    except BusError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"NATS not reachable: {exc}")
    try:
        yield name, subjects
    finally:

        async def delete() -> None:
            nc = await nats.connect(NATS_URL)
            with contextlib.suppress(NotFoundError):
                await nc.jetstream().delete_stream(name)
            await nc.close()

        asyncio.run(delete())


def worker_env(data_dir: Path, name: str, subjects: Subjects, **extra: str) -> dict[str, str]:
    """The environment of a worker process on this stream (``extra``: more settings)."""
    return {
        **os.environ,
        "RISKLOOP_DATA_DIR": str(data_dir),
        "RISKLOOP_BUS": "nats",
        "RISKLOOP_NATS_URL": NATS_URL,
        "RISKLOOP_NATS_STREAM": name,
        "RISKLOOP_NATS_PREFIX": subjects.prefix,
        **extra,
    }


def same_instant_payments(
    cards: int, per_card: int, *, prefix: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """``per_card`` payments on each of ``cards`` cards, all at one instant (so order cannot
    matter), ids ``<prefix>-<card>-<i>``; and the cards' numbers."""
    rng = random.Random(10)
    pans = [luhn_complete("411111", 16, rng) for _ in range(cards)]
    events = []
    for i in range(per_card):
        for c, pan in enumerate(pans):
            events.append(
                card_payment(
                    event_id=f"{prefix}-{c}-{i:03d}",
                    occurred_at=INSTANT,
                    card={"pan": pan, "country": "DE"},
                    amount=500 + i,
                )
            )
    return events, pans


def probe(pan: str, card: int) -> dict[str, Any]:
    """A payment on ``pan`` just after the instant, never stored: its preview counts what the
    state holds for the card."""
    return card_payment(
        event_id=f"probe-{card}-{uuid.uuid4().hex[:8]}",
        occurred_at="2026-11-01T12:00:01Z",
        card={"pan": pan, "country": "DE"},
    )


def publish(name: str, subjects: Subjects, bodies: Sequence[dict[str, Any]]) -> None:
    async def main() -> None:
        bus = await NatsBus.connect(NATS_URL, stream=name, subjects=subjects)
        try:
            for body in bodies:
                await bus.publish(subjects.event(body["event_type"]), orjson.dumps(body))
        finally:
            await bus.close()

    asyncio.run(main())


def consumer_state(name: str, durable: str = DURABLE) -> tuple[int, int]:
    """(not yet delivered, delivered and not acked) for the worker group; ``(-1, 0)`` before
    the group exists."""

    async def main() -> tuple[int, int]:
        nc = await nats.connect(NATS_URL)
        try:
            info = await nc.jetstream().consumer_info(name, durable)
            return info.num_pending, info.num_ack_pending
        except NotFoundError:
            return -1, 0
        finally:
            await nc.close()

    return asyncio.run(main())


def wait_for_progress(
    name: str,
    total: int,
    taken: int,
    procs: Sequence[subprocess.Popen[Any]],
    timeout: float = 60.0,
) -> None:
    """Until at least ``taken`` of the ``total`` messages were delivered to the group;
    ``AssertionError`` if a worker exits or nothing moves for ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pending, _unacked = consumer_state(name)
        if pending >= 0 and total - pending >= taken:
            return
        exited = [p.returncode for p in procs if p.poll() is not None]
        assert not exited, f"a worker exited ({exited}) before taking {taken} messages"
        assert time.monotonic() < deadline, f"fewer than {taken} messages taken in {timeout} s"
        time.sleep(0.02)
