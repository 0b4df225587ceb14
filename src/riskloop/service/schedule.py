"""Scheduled jobs: what runs when, and the lease that lets one process at a time run a job.

A :class:`Job` is a name, an interval and a callable returning a small summary. A
:class:`Scheduler` runs the jobs that are due (``tick``) or one job at once (``run_now``, for
``riskloop jobs run``, cron, Airflow or a Kubernetes CronJob). The state lives behind the
:class:`JobRuns` port — the ``job_runs`` table, so every process and host sharing the
database sees the same schedule:

* **claim** is one compare-and-set: the job is due and nobody holds a live lease, so take
  the lease. Of two schedulers racing for a job, exactly one runs it.
* **the lease** lasts ``max(every, 10 min)`` unless the job says otherwise, and is released
  when the run finishes. A process that dies mid-run holds the job until its lease runs out;
  then the job is due again for whoever ticks next.
* **a failed job** raises (or counts once more) the ``job_failure`` task keyed
  ``job:<name>`` (:func:`~riskloop.service.jobs.job_guard`), records its masked error and
  waits a full interval, like a successful one: a broken job never spins.

A job seen for the first time is due one interval from then, so enabling an expensive job
(retraining) does not run it at once; ``run_now`` does.

>>> from datetime import UTC, datetime
>>> from riskloop.service.job_runs import MemoryJobRuns
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> calls = []
>>> job = Job("hello", timedelta(minutes=5), lambda: calls.append(1) or {"said": "hi"})
>>> s = Scheduler([job], MemoryJobRuns(), owner="a", clock=lambda: t0)
>>> s.tick(t0), s.tick(t0 + timedelta(minutes=5))[0].summary
([], {'said': 'hi'})
>>> s.runs.states()[0].next_due_at == t0 + timedelta(minutes=10)
True
>>> parse_schedule("labels-resolve=15m, train=7d")
(('labels-resolve', datetime.timedelta(seconds=900)), ('train', datetime.timedelta(days=7)))
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from riskloop.cases.tasks import TaskService
from riskloop.errors import ConfigError, ConflictError, NotFound
from riskloop.service.job_runs import JobRuns
from riskloop.service.jobs import job_guard
from riskloop.vault import mask_text

log = logging.getLogger(__name__)

SETTING = "RISKLOOP_SCHEDULE"
MIN_LEASE = timedelta(minutes=10)
MAX_EVERY = timedelta(days=366)
OK, FAILED = "ok", "failed"

Schedule = tuple[tuple[str, timedelta], ...]
Summary = Mapping[str, Any] | None

_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
_INTERVAL = re.compile(r"(\d{1,9})([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Job:
    """One scheduled job. ``run`` returns a small JSON-able summary (or ``None``);
    ``command`` is the equivalent command line, for the docs and ``riskloop jobs list``."""

    name: str
    every: timedelta
    run: Callable[[], Summary]
    description: str = ""
    command: str = ""
    lease: timedelta | None = None  # how long a run may hold the job; max(every, 10 min)

    @property
    def lease_for(self) -> timedelta:
        return self.lease if self.lease is not None else max(self.every, MIN_LEASE)

    @property
    def cli(self) -> str:
        return self.command or f"riskloop jobs run {self.name}"


@dataclass(frozen=True, slots=True)
class JobResult:
    name: str
    status: str  # ok, failed
    started_at: datetime
    finished_at: datetime
    next_due_at: datetime
    summary: Mapping[str, Any] | None = None
    error: str | None = None  # "<ErrorType>: <masked message>"

    @property
    def ok(self) -> bool:
        return self.status == OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "seconds": round((self.finished_at - self.started_at).total_seconds(), 3),
            "next_due_at": self.next_due_at.isoformat(),
            "summary": dict(self.summary) if self.summary is not None else None,
            "error": self.error,
        }


def format_every(every: timedelta) -> str:
    """The largest whole unit: ``15m``, ``7d``, ``90s``.

    >>> format_every(timedelta(hours=2)), format_every(timedelta(seconds=90))
    ('2h', '90s')
    """
    seconds = int(every.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_schedule(raw: str) -> Schedule:
    """``NAME=INTERVAL`` pairs, comma-separated, intervals in ``s``, ``m``, ``h`` or ``d``;
    ``off``, ``none`` or nothing for no schedule. A bad part is a :class:`ConfigError`
    naming ``RISKLOOP_SCHEDULE`` and the part. Job names are checked against the
    catalogue when the scheduler is built (:func:`check_known`)."""
    text = raw.strip()
    if text.lower() in ("", "off", "none"):
        return ()
    pairs: dict[str, timedelta] = {}
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        name, sep, interval = (s.strip() for s in piece.partition("="))
        if not sep or not _NAME.fullmatch(name):
            raise ConfigError(
                SETTING,
                f"{piece!r}: expected NAME=INTERVAL, e.g. labels-resolve=15m "
                "(names: lowercase letters, digits and '-')",
            )
        match = _INTERVAL.fullmatch(interval.lower())
        if match is None:
            raise ConfigError(
                SETTING, f"{piece!r}: the interval must be a number with s, m, h or d, e.g. 15m"
            )
        every = timedelta(seconds=int(match[1]) * _UNITS[match[2]])
        if not timedelta(0) < every <= MAX_EVERY:
            raise ConfigError(SETTING, f"{piece!r}: the interval must be from 1s to 366d")
        if name in pairs:
            raise ConfigError(SETTING, f"{piece!r}: job {name!r} is listed twice")
        pairs[name] = every
    return tuple(pairs.items())


def format_schedule(schedule: Schedule) -> str:
    """The setting's text for a schedule (``off`` for none).

    >>> format_schedule(parse_schedule("cases-sync=60s,train=168h"))
    'cases-sync=1m,train=7d'
    """
    return ",".join(f"{n}={format_every(e)}" for n, e in schedule) or "off"


def check_known(
    schedule: Schedule, known: Iterable[str], hints: Mapping[str, str] | None = None
) -> None:
    """Refuse a schedule naming a job the catalogue lacks (``hints``: why a job that exists
    elsewhere is unavailable here, e.g. a setting it needs)."""
    names = sorted(known)
    for name, _ in schedule:
        if name not in names:
            hint = (hints or {}).get(name)
            raise ConfigError(
                SETTING,
                f"unknown job {name!r}"
                + (f" ({hint})" if hint else "")
                + f"; known jobs: {', '.join(names) or 'none'}",
            )


def default_owner() -> str:
    return f"scheduler-{uuid.uuid4().hex[:12]}"


@dataclass
class Scheduler:
    """Runs the jobs. ``jobs`` is every job it knows (``run_now`` takes any of them);
    ``scheduled`` names those ``tick`` runs (all of them when ``None``)."""

    jobs: Sequence[Job]
    runs: JobRuns
    tasks: TaskService | None = None
    owner: str = field(default_factory=default_owner)
    scheduled: frozenset[str] | None = None
    clock: Callable[[], datetime] = _utcnow

    def __post_init__(self) -> None:
        self._by_name = {j.name: j for j in self.jobs}
        if len(self._by_name) != len(self.jobs):
            raise ValueError("two jobs share a name")

    @classmethod
    def from_schedule(
        cls,
        jobs: Sequence[Job],
        schedule: Schedule,
        runs: JobRuns,
        *,
        hints: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Scheduler:
        """Every job in ``jobs``; those in ``schedule`` run on its intervals."""
        check_known(schedule, (j.name for j in jobs), hints)
        every = dict(schedule)
        timed = [replace(j, every=every[j.name]) if j.name in every else j for j in jobs]
        return cls(timed, runs, scheduled=frozenset(every), **kwargs)

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def job(self, name: str) -> Job:
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFound("job", name) from None

    def is_scheduled(self, name: str) -> bool:
        return self.scheduled is None or name in self.scheduled

    @property
    def active(self) -> bool:
        """Whether ``tick`` has anything to run."""
        return any(self.is_scheduled(j.name) for j in self.jobs)

    def tick(self, now: datetime | None = None) -> list[JobResult]:
        """Run, one after another, every scheduled job that is due and not leased
        elsewhere. A job's failure (or the store's) is recorded and logged, never raised."""
        now = now if now is not None else self.clock()
        done = []
        for job in self.jobs:
            if not self.is_scheduled(job.name):
                continue
            try:
                claimed = self.runs.claim(job.name, now, job.lease_for, self.owner, job.every)
            except Exception:
                log.exception("could not claim job %s; trying next tick", job.name)
                continue
            if claimed:
                done.append(self._run(job, now))
        return done

    def run_now(self, name: str) -> JobResult:
        """Run one job now, due or not, under its lease: a run already going on anywhere is
        a :class:`ConflictError` naming who holds it."""
        job = self.job(name)
        now = self.clock()
        if not self.runs.claim(job.name, now, job.lease_for, self.owner, job.every, force=True):
            holder = next((s for s in self.runs.states() if s.name == name), None)
            who = (
                f"leased by {holder.lease_owner} until {holder.lease_until.isoformat()}"
                if holder is not None and holder.lease_until is not None
                else "leased by another process"
            )
            raise ConflictError("job", name, f"already running ({who})")
        return self._run(job, now)

    def _run(self, job: Job, started: datetime) -> JobResult:
        t0 = time.perf_counter()
        summary: Summary = None
        error: str | None = None
        try:
            with job_guard(self.tasks, job.name, actor="scheduler"):
                summary = job.run()
        except Exception as exc:
            error = f"{type(exc).__name__}: {mask_text(str(exc))}"[:1000]
        except BaseException:
            # Interrupted (Ctrl-C, shutdown): give the job back rather than hold its lease.
            self._finish(job, started, FAILED, "interrupted", started + job.every)
            raise
        status = OK if error is None else FAILED
        # A failed job waits a full interval too (its task is on someone's list).
        next_due = started + job.every
        finished = self._finish(job, started, status, error, next_due)
        seconds = time.perf_counter() - t0
        if error is None:
            log.info("job %s ok in %.2fs: %s", job.name, seconds, summary)
        else:
            log.error(
                "job %s failed in %.2fs: %s; next run at %s",
                job.name,
                seconds,
                error,
                next_due.isoformat(),
            )
        return JobResult(job.name, status, started, finished, next_due, summary, error)

    def _finish(
        self, job: Job, started: datetime, status: str, error: str | None, next_due: datetime
    ) -> datetime:
        finished = max(started, self.clock())
        try:
            if not self.runs.finish(job.name, self.owner, finished, status, error, next_due):
                log.warning(
                    "job %s outlived its lease (%s); another process may have run it too",
                    job.name,
                    format_every(job.lease_for),
                )
        except Exception:
            log.exception("could not record the run of job %s; its lease will expire", job.name)
        return finished
