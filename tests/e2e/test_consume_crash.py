"""``kill -9`` of ``riskloop consume`` mid-stream, twice, then a restart that drains the stream:
every event is stored once and decided once, redelivered ones get their stored decision
back, and no event is counted twice in the features.

The card count (``card_count_7d``) makes "counted once" visible: all of a card's payments
happen at the same instant, so whatever the processing order, the values its decisions saw
are 0, 1, …, n-1, each once. An event counted twice would shift the later ones past n-1.
The only legitimate exceptions are events a killed worker had stored but not yet decided:
on their redelivery they are decided from a preview of features that already hold them
(``DecisionService``), so they are left out of that check, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from nats.js.errors import NotFoundError

from riskloop.adapters.nats_bus import NatsBus
from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.service.bus import BusError, Subjects
from tests.support.factories import card_payment
from tests.support.streams import luhn_complete

NATS_URL = os.environ.get("TEST_NATS_URL", "nats://127.0.0.1:4222")
RISKLOOP = str(Path(sys.executable).with_name("riskloop"))
CARDS, PER_CARD, REPEATS = 8, 250, 40  # 2,000 events, and 40 of them sent a second time
DURABLE = "riskloop-decide"


def _command() -> list[str]:
    """``riskloop consume`` once the CLI registers it; the module on its own until then."""
    spec = importlib.util.find_spec("riskloop.entrypoints.cli")
    assert spec is not None and spec.origin is not None
    if "consume_command" in Path(spec.origin).read_text():
        return [RISKLOOP, "consume"]
    return [sys.executable, "-m", "riskloop.entrypoints.cli_consume"]


@pytest.fixture
def stream() -> Iterator[tuple[str, Subjects]]:
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
    yield name, subjects

    async def delete() -> None:
        nc = await nats.connect(NATS_URL)
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(name)
        await nc.close()

    asyncio.run(delete())


def _events() -> tuple[list[dict[str, Any]], list[str]]:
    rng = random.Random(10)
    pans = [luhn_complete("411111", 16, rng) for _ in range(CARDS)]
    events = []
    for i in range(PER_CARD):
        for c, pan in enumerate(pans):
            events.append(
                card_payment(
                    event_id=f"crash-{c}-{i:03d}",
                    occurred_at="2026-11-01T12:00:00Z",  # one instant: order cannot matter
                    card={"pan": pan, "country": "DE"},
                    amount=500 + i,
                )
            )
    return events, pans


def _publish(name: str, subjects: Subjects, bodies: list[dict[str, Any]]) -> None:
    async def main() -> None:
        bus = await NatsBus.connect(NATS_URL, stream=name, subjects=subjects)
        for body in bodies:
            await bus.publish(subjects.event("card_payment"), orjson.dumps(body))
        await bus.close()

    asyncio.run(main())


def _consumer_state(name: str) -> tuple[int, int]:
    """(not yet delivered, delivered and not acked) for the worker group."""

    async def main() -> tuple[int, int]:
        nc = await nats.connect(NATS_URL)
        try:
            info = await nc.jetstream().consumer_info(name, DURABLE)
            return info.num_pending, info.num_ack_pending
        except NotFoundError:
            return -1, 0
        finally:
            await nc.close()

    return asyncio.run(main())


def _env(data_dir: Path, name: str, subjects: Subjects) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env.update(
        RISKLOOP_DATA_DIR=str(data_dir),
        RISKLOOP_BUS="nats",
        RISKLOOP_NATS_URL=NATS_URL,
        RISKLOOP_NATS_STREAM=name,
        RISKLOOP_NATS_PREFIX=subjects.prefix,
        RISKLOOP_LOG_LEVEL="WARNING",
    )
    return env


def _wait_for_progress(name: str, total: int, taken: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        pending, _ = _consumer_state(name)
        if pending >= 0 and total - pending >= taken:
            return
        assert proc.poll() is None, "the worker stopped"
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.02)


def _stored_not_decided(db: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT event_id FROM event_log WHERE event_id NOT IN (SELECT event_id FROM decisions)"
        ).fetchall()
    return {r[0] for r in rows}


def test_kill_9_mid_stream_decides_each_event_once_and_counts_it_once(
    stream: tuple[str, Subjects], tmp_path: Path
) -> None:
    name, subjects = stream
    events, pans = _events()
    repeats = events[:REPEATS]  # sent again at the end: decided long before, so replayed
    _publish(name, subjects, events + repeats)
    total = len(events) + len(repeats)

    data_dir = tmp_path / "data"
    env = _env(data_dir, name, subjects)
    command = [*_command(), "--ack-wait", "2", "--concurrency", "8", "--json"]
    log = (tmp_path / "consume.log").open("wb")
    left_undecided: set[str] = set()
    for kill_after in (500, 1300):  # deliveries taken from the stream before the kill
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_for_progress(name, total, kill_after, proc)
        except AssertionError:
            proc.kill()
            raise AssertionError((tmp_path / "consume.log").read_text()) from None
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: 8 events in flight
        proc.wait()
        left_undecided |= _stored_not_decided(data_dir / "riskloop.db")
        assert _consumer_state(name)[0] > 0, "killed after the end of the stream"

    # A restart drains the stream, including what the killed workers never acknowledged
    # (back after --ack-wait), and exits once idle.
    done = subprocess.run(
        [*command, "--idle-exit", "4"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        timeout=120,
        check=False,
    )
    log.close()
    assert done.returncode == 0, (tmp_path / "consume.log").read_text()
    summary = orjson.loads(done.stdout.decode().strip().splitlines()[-1])
    assert summary["dead_lettered"] == 0
    assert summary["replayed"] >= REPEATS  # the repeats, and any decided-but-unacked ones
    assert _consumer_state(name) == (0, 0)  # everything delivered and acknowledged

    rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": str(data_dir)}))
    try:
        ids = {e["event_id"] for e in events}
        assert rl.events.count() == len(events)  # each stored once
        decisions = rl.ledger.scan(limit=100_000)
        assert sorted(d.event_id for d in decisions) == sorted(ids)  # each decided once

        seen: dict[int, list[int]] = defaultdict(list)
        for d in decisions:
            if d.event_id not in left_undecided:
                seen[int(d.event_id.split("-")[1])].append(d.features["card_count_7d"])
        assert len(left_undecided) <= 16  # at most what was in flight at the two kills
        for card, values in seen.items():
            assert len(values) == len(set(values)), f"card {card}: a count seen twice"
            assert max(values) < PER_CARD, f"card {card}: an event counted twice"
            if len(values) == PER_CARD:
                assert sorted(values) == list(range(PER_CARD))

        # The state rebuilt from the log is what one clean pass gives: each card PER_CARD.
        for c, pan in enumerate(pans):
            probe = rl.ingestor.protect_only(
                card_payment(
                    event_id=f"probe-{c}",
                    occurred_at="2026-11-01T12:00:00Z",
                    card={"pan": pan, "country": "DE"},
                )
            )
            preview = rl.features.preview(
                probe.event_id, probe.event_type, probe.data, probe.occurred_at
            )
            assert preview.values["card_count_7d"] == PER_CARD
    finally:
        rl.close()


def test_sigterm_finishes_and_acks_what_is_in_flight_then_exits_0(
    stream: tuple[str, Subjects], tmp_path: Path
) -> None:
    name, subjects = stream
    events = [card_payment(event_id=f"term-{i}") for i in range(600)]
    _publish(name, subjects, events)
    data_dir = tmp_path / "data"
    with (tmp_path / "consume.log").open("wb") as log:
        proc = subprocess.Popen(
            [*_command(), "--json"],
            env=_env(data_dir, name, subjects),
            stdout=subprocess.PIPE,
            stderr=log,
        )
        try:
            _wait_for_progress(name, len(events), 100, proc)
        finally:
            proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, (tmp_path / "consume.log").read_text()
    summary = orjson.loads(out.decode().strip().splitlines()[-1])
    not_delivered, unacked = _consumer_state(name)
    assert unacked == 0  # what it had taken was finished and acknowledged
    assert summary["decided"] >= 100 and summary["decided"] + not_delivered == len(events)
    with contextlib.closing(sqlite3.connect(data_dir / "riskloop.db")) as conn:
        (recorded,) = conn.execute("SELECT count(*) FROM decisions").fetchone()
    assert recorded == summary["decided"]
