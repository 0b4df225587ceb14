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

import contextlib
import os
import signal
import sqlite3
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.service.bus import Subjects
from tests.support.factories import card_payment
from tests.support.jetstream import (
    consume_command,
    consumer_state,
    probe,
    publish,
    same_instant_payments,
    temporary_stream,
    wait_for_progress,
    worker_env,
)

CARDS, PER_CARD, REPEATS = 8, 250, 40  # 2,000 events, and 40 of them sent a second time


@pytest.fixture
def stream() -> Iterator[tuple[str, Subjects]]:
    with temporary_stream() as made:
        yield made


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
    events, pans = same_instant_payments(CARDS, PER_CARD, prefix="crash")
    repeats = events[:REPEATS]  # sent again at the end: decided long before, so replayed
    publish(name, subjects, events + repeats)
    total = len(events) + len(repeats)

    data_dir = tmp_path / "data"
    env = worker_env(data_dir, name, subjects)
    command = [*consume_command(), "--ack-wait", "2", "--concurrency", "8", "--json"]
    log = (tmp_path / "consume.log").open("wb")
    left_undecided: set[str] = set()
    for kill_after in (500, 1300):  # deliveries taken from the stream before the kill
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for_progress(name, total, kill_after, [proc])
        except AssertionError:
            proc.kill()
            raise AssertionError((tmp_path / "consume.log").read_text()) from None
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: 8 events in flight
        proc.wait()
        left_undecided |= _stored_not_decided(data_dir / "riskloop.db")
        assert consumer_state(name)[0] > 0, "killed after the end of the stream"

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
    assert consumer_state(name) == (0, 0)  # everything delivered and acknowledged

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
            one = rl.ingestor.protect_only(probe(pan, c))
            preview = rl.features.preview(one.event_id, one.event_type, one.data, one.occurred_at)
            assert preview.values["card_count_7d"] == PER_CARD
    finally:
        rl.close()


def test_sigterm_finishes_and_acks_what_is_in_flight_then_exits_0(
    stream: tuple[str, Subjects], tmp_path: Path
) -> None:
    name, subjects = stream
    events = [card_payment(event_id=f"term-{i}") for i in range(600)]
    publish(name, subjects, events)
    data_dir = tmp_path / "data"
    with (tmp_path / "consume.log").open("wb") as log:
        proc = subprocess.Popen(
            [*consume_command(), "--json"],
            env=worker_env(data_dir, name, subjects),
            stdout=subprocess.PIPE,
            stderr=log,
        )
        try:
            wait_for_progress(name, len(events), 100, [proc])
        finally:
            proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, (tmp_path / "consume.log").read_text()
    summary = orjson.loads(out.decode().strip().splitlines()[-1])
    not_delivered, unacked = consumer_state(name)
    assert unacked == 0  # what it had taken was finished and acknowledged
    assert summary["decided"] >= 100 and summary["decided"] + not_delivered == len(events)
    with contextlib.closing(sqlite3.connect(data_dir / "riskloop.db")) as conn:
        (recorded,) = conn.execute("SELECT count(*) FROM decisions").fetchone()
    assert recorded == summary["decided"]
