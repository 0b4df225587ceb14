"""``riskloop rules|lists|policies|audit`` from the shell: validation names the problem,
loading is idempotent, bulk list loads store tokens only, and the audit chain verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support.factories import PANS

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))
PLAYBOOK = Path(__file__).parents[2] / "examples" / "playbook.yaml"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    env.update({"RISKLOOP_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"})
    return subprocess.run(
        [RISKLOOP, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def test_validate_names_each_problem_and_saves_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n"
        "  - {id: ok, expression: 'event.amount > 10', reason: OK_RULE, action: review,"
        " event_types: [card_payment]}\n"
        "  - {id: typo, expression: 'features.card_cnt_1h > 1', reason: TYPO, action: review,"
        " event_types: [card_payment]}\n"
        "  - {id: Bad, expression: 'true', reason: x, action: block, event_types: [card_payment]}\n"
    )
    result = _run(tmp_path, "rules", "validate", str(bad))
    assert result.returncode == 1
    assert "rules[1].expression: for card_payment: line 1, column 9: undeclared reference to" in (
        result.stderr
    )
    for field in ("rules[2].id", "rules[2].reason", "rules[2].action"):
        assert field in result.stderr
    assert _run(tmp_path, "rules", "validate", str(PLAYBOOK)).returncode == 0
    listed = _run(tmp_path, "rules", "list")
    assert "velocity" not in listed.stdout  # validate saved nothing


def test_load_is_idempotent_and_audited(tmp_path: Path) -> None:
    first = _run(tmp_path, "rules", "load", str(PLAYBOOK), "--author", "ana")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"lists": 5, "rules": 25, "policies": 6, "unchanged": 0}
    again = _run(tmp_path, "rules", "load", str(PLAYBOOK), "--author", "ana")
    assert json.loads(again.stdout)["unchanged"] == 36
    policies = _run(tmp_path, "policies", "list")
    assert "cards@1" in policies.stdout and "active" in policies.stdout
    verify = _run(tmp_path, "audit", "verify")
    assert verify.returncode == 0 and "36 entries" in verify.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'riskloop.db'}")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    engine.dispose()
    broken = _run(tmp_path, "audit", "verify")
    assert broken.returncode == 1 and "broken at entry 6" in broken.stderr


def test_lists_load_creates_the_list_and_stores_tokens(tmp_path: Path) -> None:
    values = tmp_path / "cards.txt"
    values.write_text(f"{PANS[0]}  # from the fraud ring\n\n{PANS[1]}\n")
    missing = _run(tmp_path, "lists", "load", str(values), "--list", "stolen")
    assert missing.returncode == 1 and "--kind and --type" in missing.stderr
    ok = _run(
        tmp_path,
        "lists",
        "load",
        str(values),
        "--list",
        "stolen",
        "--kind",
        "block",
        "--type",
        "card_token",
        "--reason",
        "reported stolen",
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"list": "stolen", "added": 2}
    bad = tmp_path / "bad.csv"
    bad.write_text("value,reason\n4111111111111112,typo\n")
    refused = _run(tmp_path, "lists", "load", str(bad), "--list", "stolen")
    assert refused.returncode == 1 and "entries[0].value: card number fails the Luhn check" in (
        refused.stderr
    )
    for stored in (tmp_path / "data").glob("riskloop.db*"):  # the database and its WAL
        raw = stored.read_bytes()
        assert PANS[0].encode() not in raw and PANS[1].encode() not in raw
    assert "stolen" in _run(tmp_path, "lists", "list").stdout
