"""kill -9 during a bulk import loses nothing acknowledged; re-running finishes the job and
counts nothing twice."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))
N, BATCH = 60_000, 500
ACK = re.compile(r"committed batch (\d+): read=(\d+) accepted=(\d+)")


def _write_events(path: Path) -> None:
    with path.open("w") as fh:
        for i in range(N):
            fh.write(
                json.dumps(
                    {
                        "event_id": f"bulk-{i:06d}",
                        "event_type": "ledger_entry",
                        "occurred_at": f"2026-11-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                        "account_id": f"acc-{i % 97}",
                        "entry": "debit",
                        "amount": 100 + i,
                        "currency": "EUR",
                    }
                )
                + "\n"
            )


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env["RISKLOOP_DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.mark.slow
def test_kill_9_mid_import_keeps_every_acknowledged_batch(tmp_path: Path) -> None:
    src = tmp_path / "bulk.ndjson"
    _write_events(src)
    cmd = [RISKLOOP, "import", "events", str(src), "--no-progress", "--batch-size", str(BATCH)]
    proc = subprocess.Popen(
        cmd, env=_env(tmp_path), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    acknowledged = 0
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            m = ACK.search(line)
            if m:
                acknowledged = int(m.group(3))
                if int(m.group(1)) >= 10:
                    break
            elif not line and proc.poll() is not None:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
    assert acknowledged >= 10 * BATCH

    db = tmp_path / "data" / "riskloop.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = conn.execute("SELECT count(*) FROM event_log").fetchone()[0]
    assert stored >= acknowledged  # nothing acknowledged was lost
    assert stored % BATCH == 0  # and no batch was half written
    assert stored < N  # it really was interrupted

    rerun = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout[rerun.stdout.index("\n{") + 1 :])
    assert summary["duplicate"] == stored
    assert summary["accepted"] == N - stored
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM event_log"
        ).fetchone()
    assert (total, distinct) == (N, N)
