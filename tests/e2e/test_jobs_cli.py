"""Scheduled jobs as operators meet them: ``riskloop jobs list`` and ``jobs run`` (what cron or
a Kubernetes CronJob calls), a clear error for an unknown job or a bad schedule, a failed run
that exits 1 and leaves a task, a run refused while another holds the lease, the embedded
scheduler of ``riskloop serve`` running a due job on its own, and the scheduled retrain
registering a challenger — never a champion."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from riskloop.adapters.sql.jobs import SqlJobRuns
from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.http import create_app
from riskloop.entrypoints.jobs import scheduler
from riskloop.errors import ConfigError
from tests.support.fraud_world import generate_world
from tests.support.http import AdminClient
from tests.unit.factories import MASTERCARD_PAN, card_payment

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _listed(run: Any) -> dict[str, dict[str, Any]]:
    got = run("jobs", "list", "--json")
    assert got.exit_code == 0, got.output
    return {row["name"]: row for row in json.loads(got.stdout)}


def _pending_label_then_its_payment(rl: Riskloop) -> None:
    """A customer report matched by card, amount and day, sent before the payment arrives:
    pending until ``labels-resolve`` matches it."""
    match = {
        "card": {"pan": MASTERCARD_PAN},
        "amount": 4_200,
        "currency": "EUR",
        "on": "2026-11-02",
    }
    got = rl.labels.submit(
        {
            "label_id": "late-1",
            "kind": "customer_report",
            "match": match,
            "reported_at": T0.isoformat(),
        }
    )
    assert got.pending
    rl.ingestor.ingest(
        card_payment(
            event_id="pay-late",
            occurred_at=T0.isoformat(),
            amount=4_200,
            card={"pan": MASTERCARD_PAN},
        )
    )


def test_jobs_list_shows_every_job_its_schedule_and_command(run: Any) -> None:
    table = run("jobs", "list")
    assert table.exit_code == 0, table.output
    for name in ("labels-resolve", "labels-sync", "cases-sync"):
        assert name in table.stdout and f"riskloop jobs run {name}" in table.stdout
    assert "15m" in table.stdout and "off" in table.stdout
    assert "train (set RISKLOOP_RETRAIN_MODEL and RISKLOOP_RETRAIN_EVENT_TYPE)" in table.stderr
    assert "lists-refresh (set RISKLOOP_SCREENING_LISTS" in table.stderr

    rows = _listed(run)
    assert list(rows) == [
        "labels-resolve",
        "labels-sync",
        "cases-sync",
        "canary-check",
        "drift",
        "performance",
        "freshness",
        "kyc-sync",
        "rescreen",
        "kyc-reviews",
        "retention",
    ]
    resolve = rows["labels-resolve"]
    assert (resolve["every"], resolve["runs"], resolve["last_status"]) == ("15m", 0, None)
    assert rows["cases-sync"]["every"] is None and rows["cases-sync"]["next_due_at"] is None


def test_jobs_run_runs_a_job_now_and_records_it(run: Any, env: dict[str, str]) -> None:
    rl = build(Settings.from_env(env))
    try:
        _pending_label_then_its_payment(rl)
    finally:
        rl.close()
    before = datetime.now(UTC)
    done = run("jobs", "run", "labels-resolve")
    assert done.exit_code == 0, done.output
    assert "job labels-resolve ok" in done.stdout
    assert json.loads(done.stdout.split("\n", 1)[1]) == {"tried": 1, "matched": 1}

    resolve = _listed(run)["labels-resolve"]
    assert (resolve["runs"], resolve["last_status"], resolve["running"]) == (1, "ok", False)
    assert resolve["lease_owner"] is None
    due = datetime.fromisoformat(resolve["next_due_at"])
    assert before + timedelta(minutes=15) <= due <= datetime.now(UTC) + timedelta(minutes=15)

    again = run("jobs", "run", "labels-resolve", "--json")  # due or not, it runs
    assert again.exit_code == 0, again.output
    body = json.loads(again.stdout)
    assert (body["status"], body["summary"]) == ("ok", {"tried": 0, "matched": 0})
    assert _listed(run)["labels-resolve"]["runs"] == 2


def test_an_unknown_job_is_an_error_listing_the_known_ones(run: Any) -> None:
    got = run("jobs", "run", "labels-resolv")
    assert got.exit_code == 2
    assert "unknown job 'labels-resolv'" in got.stderr
    assert "known jobs: canary-check, cases-sync, drift, freshness, kyc-reviews" in got.stderr
    train = run("jobs", "run", "train")
    assert train.exit_code == 2 and "set RISKLOOP_RETRAIN_MODEL" in train.stderr


def test_a_schedule_naming_an_unknown_job_stops_the_commands_and_the_server(
    run: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.setenv("RISKLOOP_SCHEDULE", "labels-resolve=15m,drfit=1h")
    got = run("jobs", "list")
    assert got.exit_code == 2
    assert "invalid setting RISKLOOP_SCHEDULE: unknown job 'drfit'" in got.stderr
    monkeypatch.setenv("RISKLOOP_SCHEDULE", "labels-resolve=15 minutes")
    bad_unit = run("jobs", "run", "labels-resolve")
    assert bad_unit.exit_code == 2
    assert "RISKLOOP_SCHEDULE: 'labels-resolve=15 minutes'" in bad_unit.stderr

    rl = build(Settings.from_env({**env, "RISKLOOP_SCHEDULE": "drfit=1h"}))
    try:
        with pytest.raises(ConfigError) as info:
            create_app(rl)
        assert info.value.variable == "RISKLOOP_SCHEDULE"
    finally:
        rl.close()


def test_a_failed_run_exits_1_with_the_error_and_leaves_a_task(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKLOOP_RETRAIN_MODEL", "fraud")
    monkeypatch.setenv("RISKLOOP_RETRAIN_EVENT_TYPE", "card_payment")
    got = run("jobs", "run", "train")  # nothing to train on yet
    assert got.exit_code == 1
    assert "job train failed:" in got.stderr and "InvalidInput" in got.stderr
    train = _listed(run)["train"]
    assert (train["last_status"], train["runs"], train["every"]) == ("failed", 1, None)
    assert "no events old enough" in train["last_error"]
    tasks = run("tasks", "list", "--kind", "job_failure")
    assert "Job 'train' failed" in tasks.stdout


def test_a_run_is_refused_while_another_process_holds_the_lease(
    run: Any, env: dict[str, str]
) -> None:
    rl = build(Settings.from_env(env))
    try:
        runs = SqlJobRuns(rl.engine)
        now = datetime.now(UTC)
        assert runs.claim(
            "cases-sync", now, timedelta(minutes=10), "worker-7", timedelta(0), force=True
        )
    finally:
        rl.close()
    got = run("jobs", "run", "cases-sync")
    assert got.exit_code == 1
    assert "already running (leased by worker-7 until" in got.stderr
    listed = _listed(run)["cases-sync"]
    assert listed["running"] is True and listed["runs"] == 0


# -- the embedded scheduler ------------------------------------------------------------------


def _wait_for(check: Any, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_the_server_runs_a_due_job_on_its_own_and_stops_with_it(rl: Riskloop) -> None:
    _pending_label_then_its_payment(rl)
    runs = SqlJobRuns(rl.engine)
    runs.force_due("labels-resolve", datetime.now(UTC))
    with AdminClient(create_app(rl, schedule_every_s=0.05)) as client:
        assert client.get("/healthz").status_code == 200
        state = _wait_for(lambda: next((s for s in runs.states() if s.runs == 1), None), seconds=10)
        assert state.name == "labels-resolve" and state.last_status == "ok"
        assert state.lease_owner is None
        assert state.next_due_at > datetime.now(UTC) + timedelta(minutes=14)
        assert rl.labels.pending_report()["pending"] == 0
        assert any(t.name == "scheduler" for t in threading.enumerate())
    assert not any(t.name == "scheduler" and t.is_alive() for t in threading.enumerate())
    # Not due again for 15 minutes; the other scheduled jobs wait their first interval.
    assert {s.name: s.runs for s in runs.states()} == {
        "labels-resolve": 1,
        "drift": 0,
        "performance": 0,
        "freshness": 0,
        "kyc-sync": 0,
        "rescreen": 0,
        "kyc-reviews": 0,
    }


def test_no_scheduler_thread_when_the_schedule_is_off(settings: Settings) -> None:
    rl = build(
        Settings.from_env({"RISKLOOP_DATA_DIR": str(settings.data_dir), "RISKLOOP_SCHEDULE": "off"})
    )
    try:
        with AdminClient(create_app(rl, schedule_every_s=0.05)) as client:
            assert client.get("/healthz").status_code == 200
            assert not any(t.name == "scheduler" for t in threading.enumerate())
    finally:
        rl.close()


# -- retraining ------------------------------------------------------------------------------


def test_the_scheduled_retrain_registers_a_challenger_and_leaves_the_champion(
    tmp_path: Path,
) -> None:
    world = generate_world(customers=150, days=40, seed=3)
    rl = build(
        Settings.from_env(
            {
                "RISKLOOP_DATA_DIR": str(tmp_path / "data"),
                "RISKLOOP_RETRAIN_MODEL": "fraud",
                "RISKLOOP_RETRAIN_EVENT_TYPE": "card_payment",
                "RISKLOOP_SCHEDULE": "train=7d",
            }
        ),
        rebuild_features=False,
    )
    try:
        for i in range(0, len(world.events), 1000):
            rl.ingestor.ingest_batch(world.events[i : i + 1000])
        sched = scheduler(rl)
        assert sched.is_scheduled("train") and sched.job("train").every == timedelta(days=7)
        first = sched.run_now("train")
        assert first.ok, first.error
        assert first.summary is not None and first.summary["model"] == "fraud@1"
        assert first.summary["alias"] == "challenger"
        aliases = rl.models.registry.aliases()
        assert aliases.get(("fraud", "challenger")) == 1
        assert ("fraud", "champion") not in aliases
        history = rl.models.registry.store.alias_history("fraud")
        assert [(c.alias, c.version, c.reason) for c in history] == [
            ("challenger", 1, "scheduled retrain")
        ]
    finally:
        rl.close()


def test_an_app_started_twice_runs_one_scheduler(rl: Riskloop) -> None:
    """Two lifespans of one app (two test clients) once left the first scheduler thread
    running forever, and later tests saw it."""
    app = create_app(rl, schedule_every_s=0.05)
    with AdminClient(app), AdminClient(app):
        alive = [t for t in threading.enumerate() if t.name == "scheduler" and t.is_alive()]
        assert len(alive) == 1
    assert not any(t.name == "scheduler" and t.is_alive() for t in threading.enumerate())
