"""``riskloop simulate``: writes the files and says what to run next; bad options exit 2
naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from riskloop.entrypoints.cli_simulate import simulate_command

app = typer.Typer()
app.command()(simulate_command)


def test_writes_the_files_and_prints_the_next_commands(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    got = CliRunner().invoke(app, [str(out), "--customers", "40", "--days", "5", "--seed", "9"])
    assert got.exit_code == 0, got.output
    assert sorted(p.name for p in out.iterdir()) == [
        "events.ndjson",
        "labels.ndjson",
        "manifest.json",
        "truth.ndjson",
    ]
    assert f"riskloop import events {out / 'events.ndjson'}" in got.output
    assert f"riskloop import labels {out / 'labels.ndjson'}" in got.output
    assert "card_payment" in got.output and "account_takeover" in got.output
    assert '"seed": 9' in (out / "manifest.json").read_text()


def test_end_option_sets_the_period(tmp_path: Path) -> None:
    got = CliRunner().invoke(
        app, [str(tmp_path), "--customers", "10", "--days", "2", "--end", "2025-12-24"]
    )
    assert got.exit_code == 0, got.output
    assert '"end": "2025-12-24T00:00:00Z"' in (tmp_path / "manifest.json").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", "0"], "--customers: between 1 and"),
        (["--days", "0"], "--days: between 1 and"),
        (["--end", "next tuesday"], "--end: an ISO 8601 date or time"),
        (["--fraud-rate", "0.5"], "--fraud-rate: between 0 and"),
        (["--seed", "-3"], "--seed: between 0 and"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    tmp_path: Path, args: list[str], message: str
) -> None:
    got = CliRunner().invoke(app, [str(tmp_path / "sim"), *args])
    assert got.exit_code == 2
    assert message in got.stderr
    assert not (tmp_path / "sim").exists()


def test_refuses_a_file_as_the_output_directory(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    got = CliRunner().invoke(app, [str(target), "--customers", "5", "--days", "1"])
    assert got.exit_code == 2
    assert "not a directory" in got.stderr
