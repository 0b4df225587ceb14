"""``kill -9`` of ``riskloop relay`` while it publishes a large outbox, then a restart: every
decision reaches the stream exactly once by msg id (what the killed relay had published but
not yet deleted is published again, and JetStream drops it as a duplicate within its
window), and nothing is left in the outbox."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from riskloop.bootstrap import build
from riskloop.config import Settings
from tests.support.factories import card_payment
from tests.support.outbox_stream import TestStream, make_stream

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))
ROWS = 1500


@pytest.fixture
def stream() -> Iterator[TestStream]:
    s = make_stream()
    yield s
    s.delete()


def _depth(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def test_relay_killed_mid_way_and_restarted_publishes_each_decision_once(
    stream: TestStream, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "RISKLOOP_DATA_DIR": str(data_dir), **stream.env()}
    rl = build(Settings.from_env({k: v for k, v in env.items() if k.startswith("RISKLOOP_")}))
    try:  # decided with publishing on: one outbox row each, nothing published yet
        ids = [rl.decisions.decide(card_payment()).decision.decision_id for _ in range(ROWS)]
    finally:
        rl.close()
    db = data_dir / "riskloop.db"
    assert _depth(db) == ROWS

    command = [RISKLOOP, "relay", "--batch", "10", "--lease", "2", "--poll", "0.05"]
    log_path = tmp_path / "relay.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        try:
            while _depth(db) > ROWS - 300:  # well started, far from done
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.01)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        left = _depth(db)
        assert 0 < left < ROWS, "killed after the end"

        # The restart waits out the dead relay's lease (2 s), publishes the rest and exits.
        done = subprocess.run(
            [*command, "--once", "--json"], env=env, stdout=subprocess.PIPE, stderr=log, timeout=60
        )
    assert done.returncode == 0, log_path.read_text()
    summary = orjson.loads(done.stdout.decode().strip().splitlines()[-1])
    assert summary["waiting"] == 0 and summary["published"] >= left
    assert _depth(db) == 0

    stored = stream.read(f"{stream.subjects.prefix}.decisions.>")
    assert len({m.msg_id for m in stored}) == ROWS == len(stored)  # each once, none lost
    assert {m.msg_id for m in stored} == set(ids)
    rl = build(Settings.from_env({k: v for k, v in env.items() if k.startswith("RISKLOOP_")}))
    try:  # a published message is the stored record
        for m in stored[:: ROWS // 10]:
            record = rl.ledger.get(m.msg_id)
            assert record is not None and m.body == record.as_dict()
    finally:
        rl.close()
