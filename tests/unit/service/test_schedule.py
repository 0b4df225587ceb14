"""The scheduler as operators rely on it: the schedule setting is read strictly, a job runs
when due and only then, a failing job leaves a task and waits its interval, a job never runs
twice at once however many schedulers share the state, and a dead owner's lease expires."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskloop.cases.tasks import MemoryTaskStore, TaskKind, TaskService
from riskloop.config import Settings
from riskloop.errors import ConfigError, ConflictError, NotFound
from riskloop.service.job_runs import MemoryJobRuns
from riskloop.service.schedule import (
    FAILED,
    OK,
    Job,
    Scheduler,
    check_known,
    format_schedule,
    parse_schedule,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _job(name: str, every: timedelta, run: Callable[[], Any], **kw: Any) -> Job:
    return Job(name, every, run, **kw)


def _counter() -> tuple[list[int], Callable[[], dict[str, int]]]:
    calls: list[int] = []

    def run() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    return calls, run


# -- the setting -----------------------------------------------------------------------------


def test_parses_names_and_intervals_in_every_unit() -> None:
    assert parse_schedule(" labels-resolve=15m, cases-sync=30s ,train=7d,drift=2h ") == (
        ("labels-resolve", timedelta(minutes=15)),
        ("cases-sync", timedelta(seconds=30)),
        ("train", timedelta(days=7)),
        ("drift", timedelta(hours=2)),
    )
    assert format_schedule(parse_schedule("a=90s,b=60m,c=24h")) == "a=90s,b=1h,c=1d"


@pytest.mark.parametrize("raw", ["off", "OFF", "none", "", "  ", ","])
def test_off_or_nothing_is_no_schedule(raw: str) -> None:
    assert parse_schedule(raw) == ()


@pytest.mark.parametrize(
    ("raw", "bad_part", "reason"),
    [
        ("labels-resolve", "'labels-resolve'", "NAME=INTERVAL"),
        ("labels-resolve=15m,cases-sync", "'cases-sync'", "NAME=INTERVAL"),
        ("labels-resolve=15", "'labels-resolve=15'", "s, m, h or d"),
        ("labels-resolve=15w", "'labels-resolve=15w'", "s, m, h or d"),
        ("labels-resolve=-5m", "'labels-resolve=-5m'", "s, m, h or d"),
        ("labels-resolve=1.5h", "'labels-resolve=1.5h'", "s, m, h or d"),
        ("labels-resolve=0s", "'labels-resolve=0s'", "from 1s to 366d"),
        ("train=400d", "'train=400d'", "from 1s to 366d"),
        ("Train=1d", "'Train=1d'", "NAME=INTERVAL"),
        ("=1d", "'=1d'", "NAME=INTERVAL"),
        ("a=1m,a=2m", "'a=2m'", "listed twice"),
    ],
)
def test_a_bad_part_is_a_config_error_naming_the_setting_and_the_part(
    raw: str, bad_part: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_schedule(raw)
    assert info.value.variable == "RISKLOOP_SCHEDULE"
    assert bad_part in info.value.reason
    assert reason in info.value.reason


def test_the_setting_defaults_to_cheap_jobs_and_reads_like_any_other() -> None:
    assert Settings.from_env({}).schedule == (
        ("labels-resolve", timedelta(minutes=15)),
        ("drift", timedelta(hours=1)),
        ("performance", timedelta(days=1)),
        ("freshness", timedelta(minutes=15)),
        ("kyc-sync", timedelta(minutes=1)),
        ("rescreen", timedelta(minutes=15)),
        ("kyc-reviews", timedelta(days=1)),
    )
    assert Settings.from_env({"RISKLOOP_SCHEDULE": "off"}).schedule == ()
    got = Settings.from_env({"RISKLOOP_SCHEDULE": "cases-sync=1m,train=7d"}).schedule
    assert got == (("cases-sync", MIN), ("train", timedelta(days=7)))
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"RISKLOOP_SCHEDULE": "cases-sync=soon"})
    assert info.value.variable == "RISKLOOP_SCHEDULE"
    assert "cases-sync=soon" in str(info.value)


def test_retraining_needs_both_of_its_settings() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"RISKLOOP_RETRAIN_MODEL": "fraud"})
    assert info.value.variable == "RISKLOOP_RETRAIN_EVENT_TYPE"
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"RISKLOOP_RETRAIN_EVENT_TYPE": "card_payment"})
    assert info.value.variable == "RISKLOOP_RETRAIN_MODEL"
    with pytest.raises(ConfigError) as info:
        Settings.from_env(
            {"RISKLOOP_RETRAIN_MODEL": "fraud", "RISKLOOP_RETRAIN_EVENT_TYPE": "payments"}
        )
    assert info.value.variable == "RISKLOOP_RETRAIN_EVENT_TYPE"
    s = Settings.from_env(
        {"RISKLOOP_RETRAIN_MODEL": "fraud", "RISKLOOP_RETRAIN_EVENT_TYPE": "card_payment"}
    )
    assert (s.retrain_model, s.retrain_event_type) == ("fraud", "card_payment")


def test_a_job_the_catalogue_lacks_is_a_config_error_listing_the_known_ones() -> None:
    schedule = parse_schedule("labels-resolve=15m,train=7d")
    with pytest.raises(ConfigError) as info:
        check_known(schedule, ["labels-resolve", "cases-sync"], {"train": "set RETRAIN"})
    assert info.value.variable == "RISKLOOP_SCHEDULE"
    assert "unknown job 'train' (set RETRAIN)" in info.value.reason
    assert "cases-sync, labels-resolve" in info.value.reason
    with pytest.raises(ConfigError):
        Scheduler.from_schedule([_job("a", MIN, dict)], parse_schedule("b=1m"), MemoryJobRuns())


# -- when jobs run ---------------------------------------------------------------------------


def test_a_new_job_is_due_one_interval_after_it_is_first_seen_then_every_interval() -> None:
    clock = Clock()
    calls, run = _counter()
    s = Scheduler([_job("j", 10 * MIN, run)], MemoryJobRuns(), owner="a", clock=clock)
    assert s.tick(T0) == []
    assert s.tick(T0 + 9 * MIN) == []
    clock.now = T0 + 10 * MIN
    [result] = s.tick(clock.now)
    assert (result.status, result.summary, calls) == (OK, {"n": 1}, [1])
    assert result.next_due_at == T0 + 20 * MIN
    assert s.tick(T0 + 19 * MIN) == []
    assert [r.name for r in s.tick(T0 + 20 * MIN)] == ["j"]
    [state] = s.runs.states()
    assert (state.runs, state.last_status, state.lease_owner, state.lease_until) == (
        2,
        OK,
        None,
        None,
    )
    assert state.next_due_at == T0 + 30 * MIN


def test_only_scheduled_jobs_tick_and_their_intervals_come_from_the_schedule() -> None:
    clock = Clock()
    a_calls, a = _counter()
    b_calls, b = _counter()
    s = Scheduler.from_schedule(
        [_job("a", timedelta(days=1), a), _job("b", MIN, b)],
        parse_schedule("a=5m"),
        MemoryJobRuns(),
        clock=clock,
    )
    assert s.job("a").every == 5 * MIN and s.is_scheduled("a") and not s.is_scheduled("b")
    s.tick(T0)
    s.tick(T0 + 5 * MIN)
    s.tick(T0 + 60 * MIN)
    assert (len(a_calls), b_calls) == (2, [])
    assert s.run_now("b").ok and b_calls == [1]  # run_now takes any known job


def test_force_due_makes_a_job_run_at_the_next_tick() -> None:
    calls, run = _counter()
    s = Scheduler([_job("j", timedelta(days=7), run)], MemoryJobRuns(), clock=Clock())
    assert s.tick(T0) == []
    s.runs.force_due("j", T0 + MIN)
    assert s.tick(T0) == []
    assert [r.name for r in s.tick(T0 + MIN)] == ["j"] and calls == [1]


def test_run_now_ignores_the_schedule_and_keeps_the_cadence() -> None:
    clock = Clock()
    calls, run = _counter()
    s = Scheduler([_job("j", 10 * MIN, run)], MemoryJobRuns(), clock=clock)
    result = s.run_now("j")
    assert result.ok and calls == [1] and result.next_due_at == T0 + 10 * MIN
    assert s.tick(T0 + 5 * MIN) == []
    with pytest.raises(NotFound):
        s.run_now("nope")


# -- failures --------------------------------------------------------------------------------


def test_a_failing_job_raises_a_job_failure_task_and_waits_its_interval() -> None:
    clock = Clock()
    tasks = TaskService(MemoryTaskStore(), clock)
    attempts: list[datetime] = []

    def broken() -> None:
        attempts.append(clock.now)
        raise RuntimeError("card 4111111111111111 of ana@example.com broke it")

    s = Scheduler([_job("broken", 10 * MIN, broken)], MemoryJobRuns(), tasks=tasks, clock=clock)
    s.runs.force_due("broken", T0)
    [result] = s.tick(T0)
    assert result.status == FAILED and not result.ok
    assert result.error is not None and result.error.startswith("RuntimeError: card 411111")
    assert "4111111111111111" not in result.error and "ana@example.com" not in result.error
    assert result.next_due_at == T0 + 10 * MIN
    [state] = s.runs.states()
    assert (state.last_status, state.last_error, state.lease_until) == (FAILED, result.error, None)

    [task] = tasks.list()
    assert (task.kind, task.key, task.detail["error"]) == (
        TaskKind.JOB_FAILURE,
        "job:broken",
        "RuntimeError",
    )
    assert "4111111111111111" not in task.detail["message"]

    for minute in range(1, 10):  # a broken job does not spin
        assert s.tick(T0 + minute * MIN) == []
    clock.now = T0 + 10 * MIN
    assert [r.status for r in s.tick(clock.now)] == [FAILED]
    assert len(attempts) == 2
    [task] = tasks.list()
    assert task.occurrences == 2  # the same task, counted again


def test_one_failing_job_does_not_stop_the_others_in_a_tick() -> None:
    _, run = _counter()
    runs = MemoryJobRuns()

    def broken() -> None:
        raise ValueError("nope")

    s = Scheduler([_job("a", MIN, broken), _job("b", MIN, run)], runs, clock=Clock())
    runs.force_due("a", T0)
    runs.force_due("b", T0)
    assert [(r.name, r.status) for r in s.tick(T0)] == [("a", FAILED), ("b", OK)]


def test_a_store_that_fails_is_logged_and_the_tick_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Down(MemoryJobRuns):
        def claim(self, name: str, *args: Any, **kwargs: Any) -> bool:
            if name == "a":
                raise OSError("database unreachable")
            return super().claim(name, *args, **kwargs)

    _, run = _counter()
    runs = Down()
    runs.force_due("b", T0)
    s = Scheduler([_job("a", MIN, run), _job("b", MIN, run)], runs, clock=Clock())
    assert [r.name for r in s.tick(T0)] == ["b"]
    assert "could not claim job a" in caplog.text


# -- one run at a time -----------------------------------------------------------------------


def test_two_schedulers_on_one_state_never_run_a_job_twice_at_once() -> None:
    runs = MemoryJobRuns()
    clock = Clock()
    seen: list[Any] = []

    def job() -> dict[str, Any]:
        # While "a" runs the job, "b" ticks and tries to run it now: both are refused.
        seen.append(other.tick(T0))
        with pytest.raises(ConflictError) as info:
            other.run_now("j")
        seen.append(str(info.value))
        return {}

    first = Scheduler([_job("j", MIN, job)], runs, owner="host-a:1", clock=clock)
    other = Scheduler([_job("j", MIN, job)], runs, owner="host-b:2", clock=clock)
    runs.force_due("j", T0)
    assert [r.ok for r in first.tick(T0)] == [True]
    assert seen[0] == []
    assert "already running (leased by host-a:1 until" in seen[1]
    assert other.tick(T0) == []  # done, and not due again until T0 + 1 min
    assert [r.ok for r in other.tick(T0 + MIN)] == [True]  # now "b" may, and calls "a"


def test_racing_threads_run_each_due_job_exactly_once() -> None:
    runs = MemoryJobRuns()
    active: dict[str, int] = {}
    ran: list[str] = []
    overlaps: list[str] = []
    lock = threading.Lock()

    def make(name: str) -> Callable[[], None]:
        def run() -> None:
            with lock:
                active[name] = active.get(name, 0) + 1
                if active[name] > 1:
                    overlaps.append(name)
                ran.append(name)
            time.sleep(0.01)
            with lock:
                active[name] -= 1

        return run

    names = [f"job-{i}" for i in range(10)]
    for n in names:
        runs.force_due(n, T0)
    jobs = [_job(n, MIN, make(n)) for n in names]
    schedulers = [Scheduler(jobs, runs, owner=f"s{i}", clock=Clock()) for i in range(4)]
    barrier = threading.Barrier(len(schedulers))

    def tick(s: Scheduler) -> None:
        barrier.wait()
        s.tick(T0)

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    assert sorted(ran) == sorted(names)


def test_a_crashed_owners_lease_expires_and_another_owner_takes_over() -> None:
    runs = MemoryJobRuns()
    runs.force_due("j", T0)
    # Owner "a" claims the job and dies without finishing (no finish call).
    assert runs.claim("j", T0, timedelta(minutes=10), "a", MIN)
    calls, run = _counter()
    b = Scheduler([_job("j", MIN, run)], runs, owner="b", clock=Clock())
    assert b.tick(T0 + 5 * MIN) == []  # a's lease is live
    with pytest.raises(ConflictError):
        b.run_now("j")
    assert b.tick(T0 + 10 * MIN) == []  # lease_until is inclusive
    [result] = b.tick(T0 + 10 * MIN + timedelta(seconds=1))
    assert result.ok and calls == [1]
    # a comes back: its lease is gone, so its finish writes nothing.
    assert not runs.finish("j", "a", T0 + 11 * MIN, OK, None, T0 + 12 * MIN)
    [state] = runs.states()
    assert state.runs == 1 and state.lease_owner is None


def test_the_default_lease_is_the_interval_but_at_least_ten_minutes() -> None:
    assert _job("j", MIN, dict).lease_for == timedelta(minutes=10)
    assert _job("j", timedelta(days=7), dict).lease_for == timedelta(days=7)
    assert _job("j", MIN, dict, lease=timedelta(hours=2)).lease_for == timedelta(hours=2)


def test_a_job_that_outlives_its_lease_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    runs = MemoryJobRuns()
    clock = Clock()

    def slow() -> None:
        clock.now = T0 + timedelta(minutes=30)
        assert runs.claim("j", clock.now, timedelta(minutes=10), "thief", MIN, force=True)

    s = Scheduler([_job("j", MIN, slow)], runs, owner="me", clock=clock)
    assert s.run_now("j").ok
    assert "outlived its lease" in caplog.text
    [state] = runs.states()
    assert state.lease_owner == "thief"
