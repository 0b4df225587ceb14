"""The quickstart, reduced: a fresh embedded store, the example playbook and sanctions lists,
a simulated history imported with the labels known by then, a model trained and promoted,
the server on loopback and live traffic replayed against it. The summary must be sane:
nothing rejected, every decision recorded, and the model catches fraud the rules alone
miss. Re-running starts over; a directory that is not a quickstart's is never touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskloop.entrypoints.cli import app as cli
from riskloop.entrypoints.quickstart import MARKER, Options, Steps, prepare, run
from riskloop.errors import ConfigError


def test_a_reduced_quickstart_runs_the_whole_loop(tmp_path: Path) -> None:
    # A third of the default world with more fraud and a longer live window (~45 s): enough
    # labelled fraud to learn from, and several patterns live.
    opts = Options(
        dir=tmp_path / "qs", customers=500, days=35, live_days=3, fraud_rate=0.25, port=0
    )
    report = run(opts, Steps())
    facts = report.facts
    assert facts["history"]["rejected"] == 0 and facts["history"]["accepted"] > 10_000
    assert facts["labels"]["rejected"] == 0 and facts["labels"]["accepted"] > 0
    assert all(n > 1000 for n in facts["sanctions_entries"].values())
    live = facts["live"]
    assert live["decisions"] == live["recorded"] == facts["simulation"]["live"]
    assert live["fraud_events"] > 0
    # The model catches fraud the rules alone miss, without flagging much more genuine traffic.
    assert live["caught_with_model"] > live["caught_by_rules_alone"], live
    extra = live["genuine_flagged_with_model"] - live["genuine_flagged_by_rules_alone"]
    assert extra <= 0.02 * live["decisions"], live
    assert facts["model"]["roc_auc"] > 0.8
    assert facts["policy"]["version"] == "cards@2"
    assert 0 < live["server_ms"]["p50"] < 50


def test_it_starts_over_in_its_own_directory_and_leaves_others_alone(tmp_path: Path) -> None:
    opts = Options(dir=tmp_path / "qs")
    prepare(opts)
    (opts.dir / "store" / "old.db").parent.mkdir()
    (opts.dir / "store" / "old.db").write_text("x")
    prepare(opts)
    assert (opts.dir / MARKER).exists() and not (opts.dir / "store").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError) as raised:
        prepare(Options(dir=other))
    assert raised.value.variable == "--dir"
    assert (other / "notes.txt").read_text() == "keep me"


def test_bad_options_exit_2_naming_the_option(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["quickstart", "--dir", str(tmp_path / "q"), "--days", "20", "--live-days", "7"]
    )
    assert res.exit_code == 2 and "--live-days" in res.output
    res = CliRunner().invoke(cli, ["quickstart", "--customers", "1"])
    assert res.exit_code == 2 and "--customers" in res.output
