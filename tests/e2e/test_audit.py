"""The audit chain catches tampering: an entry changed, deleted, or the whole chain rewritten
after a change; a sealed decision record changed or deleted. Export covers a time range and
is itself audited."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from riskloop.adapters.sql.schema import audit_log, decisions
from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http import create_app
from riskloop.ledger.audit import AuditEntry, chain_hash
from tests.support.factories import card_payment
from tests.support.http import AdminClient

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))


@pytest.fixture
def decided(rl: Riskloop) -> Iterator[TestClient]:
    """An app with a few decisions and audited changes, sealed."""
    with AdminClient(create_app(rl, follow_every_s=3600)) as c:
        for i in range(12):
            r = c.post("/v1/decisions", json=card_payment(amount=1000 + i))
            assert r.status_code == 201, r.text
        rl.access.add_user("auditor1", "auditor", "correct horse battery", actor="tests")
        assert rl.audit.seal() == 12
        yield c


def test_an_intact_chain_verifies_with_every_decision_sealed(
    rl: Riskloop, decided: TestClient
) -> None:
    report = rl.audit.verify()
    assert report.ok, report.as_dict()
    assert report.sealed_decisions == 12 and report.unsealed_decisions == 0
    assert report.checkpoints == 1
    body = decided.get("/v1/audit/verify").json()
    assert body["ok"] is True and body["head"]["seq"] == report.head[0]  # type: ignore[index]
    # later decisions are sealed by the next round, into a new batch
    decided.post("/v1/decisions", json=card_payment())
    assert rl.audit.verify().unsealed_decisions == 1
    assert rl.audit.seal() == 1
    assert rl.audit.verify().ok


def _broken(rl: Riskloop) -> dict[str, object]:
    report = rl.audit.verify()
    assert not report.ok
    return report.as_dict()


def test_changing_an_entry_is_detected(rl: Riskloop, decided: TestClient) -> None:
    with rl.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="someone-else"))
    found = _broken(rl)
    assert found["broken_at"] == 2 and "changed" in str(found["problem"])


def test_deleting_an_entry_is_detected(rl: Riskloop, decided: TestClient) -> None:
    with rl.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    found = _broken(rl)
    assert found["broken_at"] == 3 and "entry 2 is missing" in str(found["problem"])


def test_rewriting_the_chain_after_a_change_is_caught_by_the_signed_checkpoint(
    rl: Riskloop, decided: TestClient
) -> None:
    """Someone with the database but not the keyring changes entry 1 and recomputes every
    later hash, so every link holds; the signed head no longer matches."""
    entries = list(rl.audit.store.entries())
    prev = "0" * 64
    with rl.engine.begin() as conn:
        for e in entries:
            if e.seq == 1:
                e = AuditEntry(
                    "forger", e.action, e.kind, e.key, e.detail, e.at, e.seq, e.prev_hash, e.hash
                )
            new_hash = chain_hash(e, prev)
            conn.execute(
                update(audit_log)
                .where(audit_log.c.seq == e.seq)
                .values(actor=e.actor, prev_hash=prev, hash=new_hash)
            )
            prev = new_hash
    found = _broken(rl)
    assert found["broken_at"] is None  # the links alone look fine
    assert found["bad_checkpoints"] == [entries[-1].seq]


def test_changing_a_sealed_decision_is_detected(rl: Riskloop, decided: TestClient) -> None:
    with rl.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(select(decisions.c.decision_id).order_by("decision_id"))]
        seal_seq = conn.execute(select(decisions.c.audit_seq).limit(1)).scalar_one()
    with rl.engine.begin() as conn:
        conn.execute(
            update(decisions).where(decisions.c.decision_id == ids[3]).values(outcome="tampered")
        )
    assert _broken(rl)["bad_batches"] == [seal_seq]


def test_deleting_a_decision_is_detected(rl: Riskloop, decided: TestClient) -> None:
    with rl.engine.begin() as conn:
        victim = conn.execute(select(decisions.c.decision_id).limit(1)).scalar_one()
        conn.execute(text("DELETE FROM decisions WHERE decision_id = :d"), {"d": victim})
    assert len(_broken(rl)["bad_batches"]) == 1  # type: ignore[arg-type]


def test_verify_and_export_from_the_cli(rl: Riskloop, decided: TestClient, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env.update({"RISKLOOP_DATA_DIR": str(rl.settings.data_dir), "COLUMNS": "200"})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RISKLOOP, *args], env=env, capture_output=True, text=True, timeout=60
        )

    ok = run("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "12 decisions in 1 seals" in ok.stdout
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    out = tmp_path / "audit.ndjson"
    exported = run("audit", "export", "--since", since, "--until", until, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    actions = [e["action"] for e in lines]
    assert "apikey.create" in actions and "user.add" in actions and "decision.seal" in actions
    assert all(len(e["hash"]) == 64 for e in lines)
    assert "audit.export" in [e.action for e in rl.audit.store.entries()]  # the export audited
    bad = run("audit", "export", "--since", "yesterday", "--until", until, "--out", str(out))
    assert bad.returncode == 2 and "--since" in bad.stderr
    with rl.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = '{}' WHERE seq = 1"))
    broken = run("audit", "verify")
    assert broken.returncode == 1 and "broken at entry 1" in broken.stderr


def test_export_over_http_is_a_time_range_and_audited(rl: Riskloop, decided: TestClient) -> None:
    now = datetime.now(UTC)
    r = decided.get(
        "/v1/audit/export",
        params={"since": (now - timedelta(hours=1)).isoformat(), "until": now.isoformat()},
    )
    assert r.status_code == 200
    rows = [orjson.loads(line) for line in r.content.splitlines()]
    assert rows and all(row["at"] < now.isoformat() for row in rows)
    r = decided.get("/v1/audit/export", params={"since": now.isoformat(), "until": now.isoformat()})
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "until"
    r = decided.get(
        "/v1/audit/export", params={"since": "2026-01-01T00:00:00", "until": now.isoformat()}
    )
    assert r.status_code == 422  # no time zone
