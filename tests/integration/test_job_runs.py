"""Job leases in SQL (SQLite and PostgreSQL): the claim is one compare-and-set, so of
threads racing for a due job exactly one wins; a finished run releases the lease and sets
the next due time; force_due makes a job due; an expired lease can be taken over."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from riskloop.adapters.sql.jobs import SqlJobRuns
from riskloop.bootstrap import Riskloop
from riskloop.service.schedule import FAILED, OK, Job, Scheduler

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
LEASE = timedelta(minutes=10)


def test_a_new_job_is_recorded_due_one_interval_later_and_not_claimed(any_rl: Riskloop) -> None:
    runs = SqlJobRuns(any_rl.engine)
    assert runs.states() == []
    assert not runs.claim("j", T0, LEASE, "a", 15 * MIN)
    [state] = runs.states()
    assert (state.name, state.next_due_at, state.runs) == ("j", T0 + 15 * MIN, 0)
    assert state.lease_owner is None and state.last_status is None
    assert not runs.claim("j", T0 + 14 * MIN, LEASE, "a", 15 * MIN)
    assert runs.claim("j", T0 + 15 * MIN, LEASE, "a", 15 * MIN)
    [state] = runs.states()
    assert (state.lease_owner, state.lease_until) == ("a", T0 + 15 * MIN + LEASE)
    assert state.last_started_at == T0 + 15 * MIN


def _claim(
    store: SqlJobRuns,
    job: str,
    owner: str,
    barrier: threading.Barrier,
    won: list[str],
    errors: list[BaseException],
) -> None:
    barrier.wait()
    try:
        if store.claim(job, T0, LEASE, owner, MIN):
            won.append(owner)
    except BaseException as exc:  # surfaced by the test, not lost in the thread
        errors.append(exc)


def test_racing_threads_exactly_one_claims_a_due_job(any_rl: Riskloop) -> None:
    names = [f"race-{i}" for i in range(8)]
    runs = [SqlJobRuns(any_rl.engine) for _ in range(4)]
    for name in names:
        runs[0].force_due(name, T0)
    for name in names:
        barrier = threading.Barrier(len(runs))
        won: list[str] = []
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=_claim, args=(store, name, f"owner-{i}", barrier, won, errors))
            for i, store in enumerate(runs)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(won) == 1, (name, won)
        holder = {s.name: s for s in runs[0].states()}[name]
        assert holder.lease_owner == won[0]


def test_a_new_job_raced_by_many_threads_gets_one_row_and_no_claim(any_rl: Riskloop) -> None:
    store = SqlJobRuns(any_rl.engine)
    barrier = threading.Barrier(4)
    got: list[bool] = []

    def claim() -> None:
        barrier.wait()
        got.append(store.claim("fresh", T0, LEASE, "x", MIN))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [False] * 4
    assert [s.name for s in store.states()] == ["fresh"]


def test_finish_releases_the_lease_and_sets_the_next_due_time(any_rl: Riskloop) -> None:
    runs = SqlJobRuns(any_rl.engine)
    runs.force_due("j", T0)
    assert runs.claim("j", T0, LEASE, "a", MIN)
    assert not runs.finish("j", "b", T0 + MIN, OK, None, T0 + 2 * MIN)  # not b's lease
    assert runs.finish("j", "a", T0 + MIN, FAILED, "RuntimeError: boom", T0 + 5 * MIN)
    [state] = runs.states()
    assert (state.lease_owner, state.lease_until) == (None, None)
    assert (state.last_status, state.last_error, state.runs) == (FAILED, "RuntimeError: boom", 1)
    assert (state.last_finished_at, state.next_due_at) == (T0 + MIN, T0 + 5 * MIN)
    assert not runs.claim("j", T0 + 4 * MIN, LEASE, "b", MIN)
    assert runs.claim("j", T0 + 5 * MIN, LEASE, "b", MIN)
    assert runs.finish("j", "b", T0 + 6 * MIN, OK, None, T0 + 7 * MIN)
    [state] = runs.states()
    assert (state.last_status, state.last_error, state.runs) == (OK, None, 2)


def test_force_due_and_a_forced_claim(any_rl: Riskloop) -> None:
    runs = SqlJobRuns(any_rl.engine)
    assert not runs.claim("j", T0, LEASE, "a", timedelta(days=7))
    runs.force_due("j", T0 + MIN)
    [state] = runs.states()
    assert state.next_due_at == T0 + MIN
    assert runs.claim("j", T0 + MIN, LEASE, "a", timedelta(days=7))
    # Forced (run now), but never over a live lease; an expired one is taken over.
    assert not runs.claim("j", T0 + 2 * MIN, LEASE, "b", MIN, force=True)
    assert runs.claim("j", T0 + MIN + LEASE + MIN, LEASE, "b", MIN, force=True)
    assert not runs.finish("j", "a", T0 + LEASE, OK, None, T0)  # a lost it
    assert [s.lease_owner for s in runs.states()] == ["b"]
    runs.force_due("new", T0)
    assert [s.name for s in runs.states()] == ["j", "new"]


def test_a_scheduler_on_sql_runs_a_due_job_and_records_it(any_rl: Riskloop) -> None:
    ran: list[int] = []
    clock = [T0]
    job = Job("count", MIN, lambda: ran.append(1) or {"n": len(ran)})
    s = Scheduler([job], SqlJobRuns(any_rl.engine), tasks=any_rl.tasks, clock=lambda: clock[0])
    assert s.tick(T0) == []
    [result] = s.tick(T0 + MIN)
    assert result.ok and result.summary == {"n": 1}
    [state] = s.runs.states()
    assert (state.runs, state.last_status, state.next_due_at) == (1, OK, T0 + 2 * MIN)
