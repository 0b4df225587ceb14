"""The scheduler's persisted state: each job's row in ``job_runs`` (when it is next due,
who holds its lease, how its last run went), the port that stores it, and an in-memory
store for tests and a single process. The SQL store is ``adapters/sql/jobs.py``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class JobState:
    """A job's row in ``job_runs``."""

    name: str
    next_due_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    runs: int = 0

    def leased(self, now: datetime) -> bool:
        return self.lease_until is not None and self.lease_until >= now

    def as_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        return {
            "name": self.name,
            "next_due_at": iso(self.next_due_at),
            "lease_owner": self.lease_owner,
            "lease_until": iso(self.lease_until),
            "last_started_at": iso(self.last_started_at),
            "last_finished_at": iso(self.last_finished_at),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "runs": self.runs,
        }


class JobRuns(Protocol):
    """The persisted schedule and leases. Fails closed: when the store is unreachable,
    ``claim`` raises and nothing runs (a job run twice at once is worse than one run late)."""

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
        """Atomically: if the job is due (``next_due_at <= now``; any time with ``force``)
        and no live lease holds it, lease it to ``owner`` until ``now + lease``. A job never
        seen before is first recorded as due at ``now + every``."""
        ...

    def finish(
        self,
        name: str,
        owner: str,
        now: datetime,
        status: str,
        error: str | None,
        next_due_at: datetime,
    ) -> bool:
        """Record a run and release the lease; ``False`` (nothing written) when ``owner``
        no longer holds it."""
        ...

    def states(self) -> list[JobState]: ...

    def force_due(self, name: str, now: datetime) -> None:
        """Make the job due at ``now`` (the next tick runs it)."""
        ...


class MemoryJobRuns:
    """:class:`JobRuns` in a dict, behind a lock: for tests and a single process."""

    def __init__(self) -> None:
        self._rows: dict[str, JobState] = {}
        self._lock = threading.Lock()

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
        with self._lock:
            row = self._rows.setdefault(name, JobState(name, next_due_at=now + every))
            if row.leased(now) or (not force and row.next_due_at > now):
                return False
            self._rows[name] = replace(
                row, lease_owner=owner, lease_until=now + lease, last_started_at=now
            )
            return True

    def finish(
        self,
        name: str,
        owner: str,
        now: datetime,
        status: str,
        error: str | None,
        next_due_at: datetime,
    ) -> bool:
        with self._lock:
            row = self._rows.get(name)
            if row is None or row.lease_owner != owner:
                return False
            self._rows[name] = replace(
                row,
                lease_owner=None,
                lease_until=None,
                last_finished_at=now,
                last_status=status,
                last_error=error,
                next_due_at=next_due_at,
                runs=row.runs + 1,
            )
            return True

    def states(self) -> list[JobState]:
        with self._lock:
            return [self._rows[n] for n in sorted(self._rows)]

    def force_due(self, name: str, now: datetime) -> None:
        with self._lock:
            row = self._rows.get(name)
            self._rows[name] = (
                replace(row, next_due_at=now) if row is not None else JobState(name, now)
            )
