"""No card number and no plaintext PII at rest or in logs: ingest events that carry them
(and rejects that carry them), then scan every file, table and log line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from riskloop.bootstrap import build
from riskloop.config import Settings
from tests.support.factories import EMAIL, HOLDER, IBAN, PANS, card_payment, kyc_record, transfer

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))
KYC_SECRETS = ["1815-12-10", "X1234567Q", "+44 20 7946 0958", "12 St James's Square"]


def _needles() -> list[bytes]:
    out = []
    for pan in PANS:
        out.append(pan.encode())
        out.append(" ".join(pan[i : i + 4] for i in range(0, len(pan), 4)).encode())
    for secret in [EMAIL, HOLDER, IBAN, "Charles Babbage", "rent november", *KYC_SECRETS]:
        out.append(secret.encode())
    return out


def _events() -> list[dict[str, object]]:
    good = [card_payment(card={"pan": pan, "holder_name": HOLDER}) for pan in PANS]
    good += [transfer(), kyc_record()]
    bad = [
        card_payment(card={"pan": PANS[1]}, amount="12.50"),  # rejected: dead-lettered with its PAN
        card_payment(card={"pan": PANS[2], "cvv": "737"}),  # forbidden data
        {**card_payment(), PANS[3]: "a card number used as a key"},
    ]
    return good + bad


def _import(tmp_path: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "in" / "events.ndjson"
    src.parent.mkdir(exist_ok=True)
    src.write_text("".join(json.dumps(e) + "\n" for e in _events()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env.update(RISKLOOP_DATA_DIR=str(tmp_path / "data"), RISKLOOP_LOG_LEVEL="DEBUG", **env_extra)
    result = subprocess.run(
        [RISKLOOP, "import", "events", str(src), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    src.unlink()  # the input file itself is the user's, not riskloop's
    assert result.returncode == 0, result.stderr
    assert '"accepted": 6' in result.stdout
    assert '"rejected": 3' in result.stdout
    return result


def _assert_absent(haystack: bytes, where: str) -> None:
    found = [n.decode() for n in _needles() if n in haystack]
    assert found == [], f"found in {where}: {found}"


def test_sqlite_files_and_logs_hold_no_pan_or_pii(tmp_path: Path) -> None:
    result = _import(tmp_path, {})
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert any(p.name == "riskloop.db" for p in files)
    for path in files:
        _assert_absent(path.read_bytes(), str(path))
    _assert_absent((result.stdout + result.stderr).encode(), "CLI output and logs")

    # The test can fail: what must be there is there, and the PII is only sealed.
    db = (tmp_path / "data" / "riskloop.db").read_bytes()
    assert PANS[0][:8].encode() in db and PANS[0][-4:].encode() in db
    rl = build(
        Settings.from_env({"RISKLOOP_DATA_DIR": str(tmp_path / "data")}), rebuild_features=False
    )
    try:
        stored = rl.events.scan(limit=1)[0]
        assert stored.data["card"]["token"].startswith("tok_")
        assert rl.vault.reveal(stored)["email"] == EMAIL
        letters = rl.dead_letters.list()
        assert len(letters) == 3
        revealed = json.dumps([rl.vault.open_dead_letter(d) for d in letters])
        assert PANS[1] in revealed  # sealed, not dropped: the reject can be investigated
        assert "737" not in revealed  # but the CVV is never kept, not even sealed
    finally:
        rl.close()


@pytest.mark.usefixtures("pg_database")
def test_postgres_tables_hold_no_pan_or_pii(tmp_path: Path, pg_settings: Settings) -> None:
    result = _import(tmp_path, {"RISKLOOP_DATABASE_URL": pg_settings.database_url.get()})
    _assert_absent((result.stdout + result.stderr).encode(), "CLI output and logs")
    engine = create_engine(pg_settings.database_url.get())
    with engine.connect() as conn:
        for table in ("event_log", "dead_letters"):
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            assert rows
            dump = b"".join(
                (bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode())
                for row in rows
                for v in row
            )
            _assert_absent(dump, table)
            if table == "event_log":
                assert PANS[0][-4:].encode() in dump
    engine.dispose()
