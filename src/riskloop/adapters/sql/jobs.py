"""Scheduled jobs' state and leases in SQL (``job_runs``; SQLite and PostgreSQL).

A claim is one compare-and-set ``UPDATE … WHERE name = :n AND next_due_at <= :now AND
(lease_until IS NULL OR lease_until < :now)``, after an insert-if-missing: on PostgreSQL a
second writer waits for the first's row lock and then finds the condition false; SQLite's
``BEGIN IMMEDIATE`` serialises the two. Either way exactly one claimer gets a row count of
one. Leases compare the callers' clocks, so hosts sharing the database should run NTP; a
skew much shorter than the lease (at least 10 minutes) does no harm.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from riskloop.adapters.sql._dialect import insert_ignoring_conflicts
from riskloop.adapters.sql.schema import job_runs
from riskloop.errors import StorageError
from riskloop.service.job_runs import JobState

_c = job_runs.c


def _state(row: Any) -> JobState:
    return JobState(
        name=row.name,
        next_due_at=row.next_due_at,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        last_started_at=row.last_started_at,
        last_finished_at=row.last_finished_at,
        last_status=row.last_status,
        last_error=row.last_error,
        runs=row.runs,
    )


def _ensure(conn: Connection, name: str, next_due_at: datetime) -> None:
    stmt = insert_ignoring_conflicts(conn, job_runs, "name")
    conn.execute(stmt, {"name": name, "next_due_at": next_due_at, "runs": 0})


class SqlJobRuns:
    """:class:`~riskloop.service.schedule.JobRuns` on ``job_runs``. Fails closed: a store
    error is a :class:`StorageError` and the job does not run."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(
        self,
        name: str,
        now: datetime,
        lease: timedelta,
        owner: str,
        every: timedelta,
        *,
        force: bool = False,
    ) -> bool:
        free: ColumnElement[bool] = _c.lease_until.is_(None) | (_c.lease_until < now)
        condition = (_c.name == name) & free
        if not force:
            condition = condition & (_c.next_due_at <= now)
        try:
            with self.engine.begin() as conn:
                _ensure(conn, name, now + every)
                taken = conn.execute(
                    update(job_runs)
                    .where(condition)
                    .values(lease_owner=owner[:100], lease_until=now + lease, last_started_at=now)
                )
                return taken.rowcount == 1
        except SQLAlchemyError as exc:
            raise StorageError(f"job claim failed: {type(exc).__name__}") from exc

    def finish(
        self,
        name: str,
        owner: str,
        now: datetime,
        status: str,
        error: str | None,
        next_due_at: datetime,
    ) -> bool:
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    update(job_runs)
                    .where((_c.name == name) & (_c.lease_owner == owner[:100]))
                    .values(
                        lease_owner=None,
                        lease_until=None,
                        last_finished_at=now,
                        last_status=status[:16],
                        last_error=error,
                        next_due_at=next_due_at,
                        runs=_c.runs + 1,
                    )
                )
                return done.rowcount == 1
        except SQLAlchemyError as exc:
            raise StorageError(f"job finish failed: {type(exc).__name__}") from exc

    def states(self) -> list[JobState]:
        try:
            with self.engine.connect() as conn:
                return [_state(r) for r in conn.execute(select(job_runs).order_by(_c.name))]
        except SQLAlchemyError as exc:
            raise StorageError(f"job state read failed: {type(exc).__name__}") from exc

    def force_due(self, name: str, now: datetime) -> None:
        try:
            with self.engine.begin() as conn:
                _ensure(conn, name, now)
                conn.execute(update(job_runs).where(_c.name == name).values(next_due_at=now))
        except SQLAlchemyError as exc:
            raise StorageError(f"job update failed: {type(exc).__name__}") from exc
