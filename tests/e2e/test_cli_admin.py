"""The administrative CLI: contracts, keys, database, dead letters, settings errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from riskloop.bootstrap import build
from riskloop.config import Settings
from tests.support.factories import EMAIL, card_payment

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    clean.update({"RISKLOOP_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", **env})
    return subprocess.run(
        [RISKLOOP, *args], env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def test_contracts_export_writes_one_json_schema_per_contract(tmp_path: Path) -> None:
    result = _run(tmp_path, "contracts", "export", str(tmp_path / "schemas"))
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert "card_payment.v1.schema.json" in files
    assert len(files) == 10
    schema = json.loads((tmp_path / "schemas" / "kyc_record.v1.schema.json").read_text())
    assert schema["x-owner"] == "compliance"
    assert schema["additionalProperties"] is False


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    result = _run(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "revision 0011" in result.stdout


def test_keys_rotate_then_retire_the_old_version(tmp_path: Path) -> None:
    settings = Settings.from_env({"RISKLOOP_DATA_DIR": str(tmp_path / "data")})
    rl = build(settings)
    event = card_payment()
    rl.ingestor.ingest(event)
    rl.close()

    early = _run(tmp_path, "keys", "retire", "1")
    assert early.returncode == 1
    assert "is active" in early.stderr

    rotated = _run(tmp_path, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "active key version 2; re-wrapped 1" in rotated.stdout

    retired = _run(tmp_path, "keys", "retire", "1")
    assert retired.returncode == 0, retired.stderr
    listed = _run(tmp_path, "keys", "list")
    rows = [line.split("│")[1].strip() for line in listed.stdout.splitlines() if "│" in line]
    assert rows == ["2"]  # the header row uses ┃

    rl = build(settings)
    stored = rl.events.get(event["event_id"])
    assert stored is not None
    assert rl.vault.reveal(stored)["email"] == EMAIL
    audited = [(e.action, e.key) for e in rl.catalog.store.audit().entries()]
    assert audited == [("vault.rotate", "v2"), ("vault.retire", "v1")]  # privileged: audited
    assert rl.audit.verify().ok
    rl.close()


def test_dead_letters_list_shows_reasons_not_payloads(tmp_path: Path) -> None:
    f = tmp_path / "bad.ndjson"
    f.write_text(json.dumps(card_payment(currency="QQQ")) + "\n")
    assert _run(tmp_path, "import", "events", str(f), "--no-progress").returncode == 0
    listed = _run(tmp_path, "dead-letters", "list")
    assert listed.returncode == 0, listed.stderr
    assert "currency: not an ISO 4217 currency code" in listed.stdout
    assert "file:bad.ndjson:1" in listed.stdout
    assert "4111" not in listed.stdout


def test_an_invalid_setting_stops_start_up_naming_it(tmp_path: Path) -> None:
    bad = _run(tmp_path, "db", "upgrade", RISKLOOP_SQLITE_SYNCHRONOUS="sometimes")
    assert bad.returncode == 2
    assert "RISKLOOP_SQLITE_SYNCHRONOUS" in bad.stderr
    typo = _run(tmp_path, "db", "upgrade", RISKLOOP_DATABSE_URL="sqlite:///x.db")
    assert typo.returncode == 2
    assert "RISKLOOP_DATABSE_URL" in typo.stderr


def test_a_bad_model_file_stops_start_up_with_the_setting_named(tmp_path: Path) -> None:
    model = tmp_path / "model.txt"
    model.write_text("this is not a model\n")
    result = _run(tmp_path, "rules", "list", RISKLOOP_MODEL_PATH=str(model))
    assert result.returncode == 1
    assert "RISKLOOP_MODEL_PATH: not a LightGBM model file" in result.stderr
    assert "Traceback" not in result.stderr
