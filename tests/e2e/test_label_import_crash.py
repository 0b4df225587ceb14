"""``kill -9`` in the middle of a label import, then the same command again: every label is
stored exactly once (none lost, none doubled), the index agrees with the log, and labels
whose event is unknown are kept as pending."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from riskloop.bootstrap import build
from riskloop.config import Settings
from tests.e2e.test_import_crash import BATCH, RISKLOOP, _db, _env, _kill_after, _rerun


@pytest.mark.slow
def test_kill_9_mid_label_import_then_rerun_stores_each_label_once(
    tmp_path: Path, settings: Settings
) -> None:
    n = 20_000
    env = _env(settings)
    events = tmp_path / "payments.ndjson"
    with events.open("w") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {
                        "event_id": f"pay-{i:06d}",
                        "event_type": "card_payment",
                        "occurred_at": f"2026-11-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
                        f"{i % 60:02d}Z",
                        "amount": 1000 + i,
                        "currency": "EUR",
                        "merchant": {"id": f"m-{i % 50}", "mcc": "5411", "country": "DE"},
                        "card": {"token": f"tok-{i % 3000}"},
                        "channel": "card_not_present",
                    }
                )
                + "\n"
            )
    done = subprocess.run(
        [RISKLOOP, "import", "events", str(events), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    labels = tmp_path / "labels.ndjson"
    with labels.open("w") as fh:
        for i in range(n):
            # One label in ten names an event riskloop has not seen: pending, not dropped.
            target = f"pay-{i:06d}" if i % 10 else f"missing-{i:06d}"
            fh.write(
                json.dumps(
                    {
                        "label_id": f"cb-{i:06d}",
                        "kind": "chargeback",
                        "event_id": target,
                        "network": "visa",
                        "reason_code": "10.4",
                        "reported_at": "2026-11-20T00:00:00Z",
                    }
                )
                + "\n"
            )
    cmd = [RISKLOOP, "import", "labels", str(labels), "--no-progress", "--batch-size", str(BATCH)]
    acked_batches, acked = _kill_after(cmd, env, batches=5)
    assert acked == acked_batches * BATCH
    with _db(settings) as conn:
        stored = conn.execute("SELECT count(*) FROM event_log WHERE event_type = 'label'")
        assert acked <= stored.fetchone()[0] < n  # nothing acknowledged lost, not finished

    summary = _rerun(cmd, env)
    assert summary["rejected"] == 0
    assert summary["accepted"] + summary["duplicate"] == n
    assert summary["pending"] == n // 10

    rl = build(settings)
    try:
        with _db(settings) as conn:
            assert conn.execute(
                "SELECT count(*) FROM event_log WHERE event_type = 'label'"
            ).fetchone() == (n,)
            rl.labels.sync()
            assert conn.execute(
                "SELECT count(*), count(DISTINCT label_id) FROM labels"
            ).fetchone() == (
                n,
                n,
            )
            per_event = conn.execute(
                "SELECT max(c) FROM (SELECT count(*) c FROM labels GROUP BY target_event_id)"
            ).fetchone()
            assert per_event == (1,)
        assert rl.labels.pending_report()["pending"] == n // 10
        assert len(rl.features.labels_as_of(datetime(2026, 12, 1, tzinfo=UTC))) == n
    finally:
        rl.close()
