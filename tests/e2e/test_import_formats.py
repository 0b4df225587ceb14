"""`riskloop import events` for NDJSON, CSV (with a column mapping) and Parquet, the summary,
the dead letters, re-runs, and bad command-line input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from riskloop.bootstrap import build
from riskloop.config import Settings
from tests.support.factories import PANS, card_payment

RISKLOOP = str(Path(sys.executable).with_name("riskloop"))


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_")}
    clean.update({"RISKLOOP_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", **env})
    return subprocess.run([RISKLOOP, *args], env=clean, capture_output=True, text=True, timeout=120)


def _summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout[result.stdout.index("\n{") + 1 :])  # type: ignore[no-any-return]


def test_ndjson_summary_dead_letters_and_idempotent_rerun(tmp_path: Path) -> None:
    good = [card_payment() for _ in range(5)]
    conflict = {**good[0], "amount": 1}
    lines = [json.dumps(e) for e in good]
    lines += ["{not json", json.dumps(card_payment(currency="EURO")), json.dumps(conflict)]
    src = tmp_path / "e.ndjson"
    src.write_text("\n".join(lines) + "\n")

    first = _summary(_run(tmp_path, "import", "events", str(src), "--no-progress"))
    assert (first["read"], first["accepted"], first["duplicate"], first["rejected"]) == (8, 5, 0, 3)
    assert first["reasons"] == {
        "invalid JSON": 1,
        "currency: String should match pattern '^[A-Za-z]{3}$'": 1,
        "event_id: already used with a different body": 1,
    }
    again = _summary(_run(tmp_path, "import", "events", str(src), "--no-progress"))
    assert (again["accepted"], again["duplicate"], again["rejected"]) == (0, 5, 3)

    rl = build(
        Settings.from_env({"RISKLOOP_DATA_DIR": str(tmp_path / "data")}), rebuild_features=False
    )
    try:
        assert rl.events.count() == 5
        letters = rl.dead_letters.list()
        assert len(letters) == 3  # the re-run did not add copies
        assert {d.source for d in letters} == {
            "file:e.ndjson:6",
            "file:e.ndjson:7",
            "file:e.ndjson:8",
        }
        assert rl.vault.open_dead_letter(letters[0]) == "{not json"
    finally:
        rl.close()


def test_csv_with_renamed_dotted_and_constant_columns(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "txn_id",
                "ts",
                "amount",
                "pan",
                "merchant.id",
                "merchant.mcc",
                "merchant.country",
                "channel",
                "note",
            ]
        )
        w.writerow(
            [
                "t-1",
                "2026-11-01T10:00:00Z",
                "1250",
                PANS[0],
                "m-1",
                "5411",
                "DE",
                "card_present",
                "",
            ]
        )
        w.writerow(
            [
                "t-2",
                "2026-11-01T10:01:00Z",
                "12.50",
                PANS[1],
                "m-1",
                "5411",
                "DE",
                "card_present",
                "",
            ]
        )
    result = _run(
        tmp_path,
        "import",
        "events",
        str(src),
        "--no-progress",
        "--map",
        "txn_id=event_id",
        "--map",
        "ts=occurred_at",
        "--map",
        "pan=card.pan",
        "--map",
        "note=metadata.note",
        "--set",
        "event_type=card_payment",
        "--set",
        "currency=EUR",
    )
    summary = _summary(result)
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
    assert list(summary["reasons"]) == [
        "amount: Input should be a valid integer, unable to parse string as an integer"
    ]
    rl = build(
        Settings.from_env({"RISKLOOP_DATA_DIR": str(tmp_path / "data")}), rebuild_features=False
    )
    try:
        stored = rl.events.get("t-1")
        assert stored is not None
        assert stored.data["amount"] == 1250
        assert stored.data["card"]["last4"] == PANS[0][-4:]
        assert stored.data["metadata"] == {}  # empty cells count as absent
    finally:
        rl.close()


def test_parquet_with_nested_columns(tmp_path: Path) -> None:
    rows = [card_payment() for _ in range(3)]
    for r in rows:
        r.pop("geo")
    table = pa.Table.from_pylist(rows)
    src = tmp_path / "events.parquet"
    pq.write_table(table, src)
    summary = _summary(_run(tmp_path, "import", "events", str(src), "--no-progress"))
    assert (summary["accepted"], summary["rejected"]) == (3, 0)


def test_bad_command_line_input_exits_2_naming_the_problem(tmp_path: Path) -> None:
    src = tmp_path / "e.ndjson"
    src.write_text(json.dumps(card_payment()) + "\n")
    fmt = _run(tmp_path, "import", "events", str(src), "--format", "xml")
    assert fmt.returncode == 2
    assert "--format" in fmt.stderr
    bad_map = _run(tmp_path, "import", "events", str(src), "--map", "txn_id")
    assert bad_map.returncode == 2
    assert "expected NAME=VALUE" in bad_map.stderr
    missing = _run(tmp_path, "import", "events", str(tmp_path / "nope.ndjson"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    unknown_suffix = tmp_path / "e.txt"
    unknown_suffix.write_text("x")
    guess = _run(tmp_path, "import", "events", str(unknown_suffix))
    assert guess.returncode == 2
    assert "cannot tell the format" in guess.stderr
    setting = _run(tmp_path, "import", "events", str(src), RISKLOOP_MAX_BATCH="many")
    assert setting.returncode == 2
    assert "RISKLOOP_MAX_BATCH" in setting.stderr


def test_a_file_that_is_not_what_its_suffix_says_stops_cleanly(tmp_path: Path) -> None:
    fake = tmp_path / "events.parquet"
    fake.write_text("this is not parquet\n")
    result = _run(tmp_path, "import", "events", str(fake))
    assert result.returncode == 1
    assert "import stopped" in result.stderr
    assert "Traceback" not in result.stderr
