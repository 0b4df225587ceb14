"""``kill -9`` in the middle of a file import: every acknowledged batch survives, no batch
is half written, the database stays consistent, and re-running the same command finishes
the job without storing or dead-lettering anything twice."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from riskloop.bootstrap import build
from riskloop.config import Settings

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))
ACK = re.compile(
    r"^committed batch (\d+): read=(\d+) accepted=(\d+) duplicate=(\d+) rejected=(\d+)$"
)
BATCH = 500


def _ledger_entry(i: int) -> dict[str, Any]:
    return {
        "event_id": f"crash-{i:06d}",
        "event_type": "ledger_entry",
        "occurred_at": f"2026-11-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "account_id": f"acc-{i % 97}",
        "entry": "debit" if i % 2 else "credit",
        "amount": 100 + i,
        "currency": "EUR",
    }


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env["RISKLOOP_DATA_DIR"] = str(settings.data_dir)
    return env


def _command(src: Path) -> list[str]:
    return [RISKLOOP, "import", "events", str(src), "--no-progress", "--batch-size", str(BATCH)]


def _kill_after(cmd: list[str], env: dict[str, str], batches: int) -> tuple[int, int]:
    """Start the import, wait for ``batches`` acknowledgements, SIGKILL it.
    Returns (batches acknowledged, events acknowledged as accepted)."""
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # readline blocks; a thread lets the test time out instead
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    acked_batches = acked_accepted = 0
    other: list[str] = []
    try:
        while acked_batches < batches:
            line = lines.get(timeout=30)
            if line is None:
                pytest.fail(f"the import ended before it could be killed: {other}")
            m = ACK.match(line.strip())
            if m is None:
                other.append(line)
                continue
            acked_batches, acked_accepted = int(m.group(1)), int(m.group(3))
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        reader.join(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
    return acked_batches, acked_accepted


def _rerun(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout[result.stdout.index("\n{") + 1 :])
    return summary


def _db(settings: Settings) -> sqlite3.Connection:
    return sqlite3.connect(settings.data_dir / "riskloop.db")


@pytest.mark.slow
def test_kill_9_mid_import_keeps_acknowledged_batches_and_rerun_completes(
    tmp_path: Path, settings: Settings
) -> None:
    n = 60_000
    src = tmp_path / "ledger.ndjson"
    with src.open("w") as fh:
        fh.writelines(json.dumps(_ledger_entry(i)) + "\n" for i in range(n))
    cmd, env = _command(src), _env(settings)

    acked_batches, acked = _kill_after(cmd, env, batches=10)
    assert acked_batches >= 10
    assert acked == acked_batches * BATCH  # every row is valid: all acknowledged accepted

    with _db(settings) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = conn.execute("SELECT count(*) FROM event_log").fetchone()[0]
        first, last = conn.execute("SELECT min(event_id), max(event_id) FROM event_log").fetchone()
    assert stored >= acked  # nothing acknowledged was lost
    assert stored % BATCH == 0  # a batch is stored whole or not at all
    assert stored < n  # the kill really interrupted the import
    # Batches commit in file order: what is stored is exactly a prefix of the file.
    assert (first, last) == ("crash-000000", f"crash-{stored - 1:06d}")

    summary = _rerun(cmd, env)
    assert summary["read"] == n
    assert summary["duplicate"] == stored
    assert summary["accepted"] == n - stored
    assert summary["accepted"] + summary["duplicate"] == n
    assert (summary["rejected"], summary["reasons"]) == (0, {})

    with _db(settings) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        ids = [r[0] for r in conn.execute("SELECT event_id FROM event_log ORDER BY seq")]
    assert len(ids) == n
    assert ids == [f"crash-{i:06d}" for i in range(n)]  # each once, in file order

    rl = build(settings, rebuild_features=False)
    try:
        assert rl.events.count() == n
        assert rl.dead_letters.count() == 0
    finally:
        rl.close()


@pytest.mark.slow
def test_kill_9_with_rejects_in_the_file_dead_letters_each_reject_once(
    tmp_path: Path, settings: Settings
) -> None:
    """Events and dead letters commit in two transactions; a kill between them is healed by
    the re-run: every reject ends up dead-lettered exactly once."""
    n, every = 20_000, 50  # ten rejects in every batch
    rows = []
    for i in range(n):
        row = _ledger_entry(i)
        if i % every == every - 1:
            row["currency"] = "EURO"
        rows.append(json.dumps(row))
    src = tmp_path / "mixed.ndjson"
    src.write_text("\n".join(rows) + "\n")
    cmd, env = _command(src), _env(settings)
    rejects = n // every

    acked_batches, acked = _kill_after(cmd, env, batches=5)
    assert acked == acked_batches * (BATCH - BATCH // every)

    with _db(settings) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = conn.execute("SELECT count(*) FROM event_log").fetchone()[0]
    assert acked <= stored < n - rejects

    summary = _rerun(cmd, env)
    assert summary["accepted"] + summary["duplicate"] == n - rejects
    assert summary["duplicate"] == stored
    assert summary["rejected"] == rejects
    assert summary["reasons"] == {"currency: String should match pattern '^[A-Za-z]{3}$'": rejects}

    rl = build(settings, rebuild_features=False)
    try:
        assert rl.events.count() == n - rejects
        assert rl.dead_letters.count() == rejects
        sources = {d.source for d in rl.dead_letters.list(limit=rejects + 10)}
        assert sources == {f"file:mixed.ndjson:{i + 1}" for i in range(every - 1, n, every)}
    finally:
        rl.close()
