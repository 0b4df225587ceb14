"""Retention: the job that deletes or anonymises what is past its retention, and the legal
holds that stop it.

A run walks each contract's events older than ``as_of - retention_days`` (and the other
personal data of :data:`~riskloop.service.retention_policy.OTHER`) in bounded batches. Each
batch is one transaction of the :class:`RetentionStore`: it reads the active holds, picks
its events, skips the held ones and deletes or anonymises the rest, so a crash leaves every
event either fully processed or untouched, and a second run finds nothing left to do.

An event is held while an active hold names its ``event_id``, the ``customer_id`` it
carries, or a case it belongs to. The event behind a customer's current KYC profile is kept
too: AML rules keep due-diligence data while the relationship lasts.

Every run (not a dry run) and every hold placed or released appends an entry to the audit
chain with counts and ids only: the chain cannot forget, so it never holds personal data.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from riskloop.errors import ConflictError, FieldError, InvalidInput, NotFound
from riskloop.intake import latest
from riskloop.ledger.audit import AuditEntry
from riskloop.service.retention_policy import RetentionPolicy, Rule
from riskloop.vault.shred import match_hash_paths, without_paths

SUBJECTS: tuple[str, ...] = ("customer", "event", "case")
STATUSES: tuple[str, ...] = ("active", "released", "all")
MAX_REASON = 2000
Key = tuple[datetime, int]  # (occurred_at, seq): where a walk over old events got to


@dataclass(frozen=True, slots=True)
class LegalHold:
    hold_id: str
    subject: str  # customer, event, case
    value: str
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "hold_id": self.hold_id,
            "subject": self.subject,
            "value": self.value,
            "reason": self.reason,
            "placed_by": self.placed_by,
            "placed_at": self.placed_at.isoformat(),
            "released_by": self.released_by,
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class Holds:
    """The active holds as one batch saw them; ``events`` includes the held cases' events."""

    customers: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()
    cases: frozenset[str] = frozenset()

    def cover(self, event_id: str, data: Mapping[str, Any]) -> bool:
        return event_id in self.events or data.get("customer_id") in self.customers


@dataclass(frozen=True, slots=True)
class Candidate:
    seq: int
    event_id: str
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Progress:
    """What a run has committed so far, kept with each batch so that a crashed run is
    still accounted for in the audit chain by the next one."""

    run_id: str
    started_at: datetime
    deleted: int = 0
    anonymised: int = 0
    other: int = 0


class RetentionBatch(Protocol):
    """One transaction: what is done through it commits together, or not at all."""

    def holds(self) -> Holds: ...

    def events(
        self, event_type: str, before: datetime, *, sealed_only: bool, after: Key | None, limit: int
    ) -> list[Candidate]:
        """Events of ``event_type`` that occurred before ``before`` (only those still
        holding sealed PII if ``sealed_only``), after ``after`` in (occurred_at, seq)
        order."""
        ...

    def current_kyc_events(self, event_ids: Sequence[str]) -> set[str]:
        """Which of ``event_ids`` a customer's current KYC profile was projected from."""
        ...

    def delete_events(self, events: Sequence[Candidate]) -> None: ...

    def anonymise_events(self, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Drop the sealed PII of each ``(seq, data)`` and store ``data`` as its payload."""
        ...

    def purge_other(
        self, name: str, before: datetime, holds: Holds, *, limit: int, dry_run: bool
    ) -> int:
        """Delete or shred up to ``limit`` records of ``name`` older than ``before`` (a dry
        run counts them all instead); returns how many."""
        ...

    def save_progress(self, progress: Progress) -> None: ...


class RetentionStore(Protocol):
    """Fails closed: a storage error stops the run (the job is retried on schedule)."""

    def batch(self, *, write: bool) -> AbstractContextManager[RetentionBatch]: ...

    def interrupted(self) -> Progress | None:
        """The progress a run left behind without finishing (a crash), if any."""
        ...

    def finish(self, entry: AuditEntry) -> None:
        """Append the run's audit entry and forget its progress, in one transaction."""
        ...

    def holds(self, *, status: str = "active") -> list[LegalHold]: ...

    def hold(self, hold_id: str) -> LegalHold | None: ...

    def place_hold(self, hold: LegalHold, audit: AuditEntry) -> None: ...

    def release_hold(self, hold_id: str, by: str, at: datetime, audit: AuditEntry) -> bool:
        """Release an active hold; False if it was not active (someone else released it)."""
        ...


@dataclass
class Count:
    name: str
    action: str
    days: int | None
    before: datetime
    processed: int = 0
    held: int = 0
    kept: int = 0  # the current KYC profile's record

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "retention_days": self.days,
            "before": self.before.isoformat(),
            "processed": self.processed,
            "held": self.held,
            "kept": self.kept,
        }


@dataclass
class RetentionReport:
    run_id: str
    as_of: datetime
    dry_run: bool
    events: list[Count] = field(default_factory=list)
    other: list[Count] = field(default_factory=list)
    recovered: dict[str, Any] | None = None  # an interrupted run, now in the audit chain

    def totals(self) -> dict[str, int]:
        out = {"deleted": 0, "anonymised": 0, "held": 0, "other": 0}
        for c in self.events:
            out["deleted" if c.action == "delete" else "anonymised"] += c.processed
            out["held"] += c.held
        out["other"] = sum(c.processed for c in self.other)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "totals": self.totals(),
            "events": [c.as_dict() for c in self.events],
            "other": [c.as_dict() for c in self.other],
            "recovered": self.recovered,
        }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_hold(subject: Any, value: Any, reason: Any, actor: Any) -> None:
    """Every problem of a hold request at once, each naming its field."""
    errors = []
    if subject not in SUBJECTS:
        errors.append(FieldError("subject", f"one of {', '.join(SUBJECTS)}"))
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        errors.append(FieldError("value", "the customer id, event id or case id (1-128)"))
    if not isinstance(reason, str) or not reason.strip():
        errors.append(FieldError("reason", "required: why the data must be kept"))
    elif len(reason) > MAX_REASON:
        errors.append(FieldError("reason", f"at most {MAX_REASON} characters"))
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 100:
        errors.append(FieldError("actor", "who places the hold (1-100 characters)"))
    if errors:
        raise InvalidInput(errors)


class RetentionService:
    def __init__(
        self,
        store: RetentionStore,
        policy: RetentionPolicy,
        *,
        batch_size: int = 500,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.policy = policy
        self.batch_size = batch_size
        self.clock = clock

    # -- legal holds ---------------------------------------------------------------------------

    def place_hold(self, subject: str, value: str, reason: str, *, actor: str) -> LegalHold:
        check_hold(subject, value, reason, actor)
        hold = LegalHold(
            hold_id="hold_" + secrets.token_hex(8),
            subject=subject,
            value=value.strip(),
            reason=reason.strip(),
            placed_by=actor.strip(),
            placed_at=self.clock(),
        )
        # The subject kind only: the value may be a customer id, the reason names people.
        detail = {"subject": subject}
        audit = AuditEntry(
            hold.placed_by, "legal_hold.place", "legal_hold", hold.hold_id, detail, hold.placed_at
        )
        self.store.place_hold(hold, audit)
        return hold

    def release_hold(self, hold_id: str, *, actor: str) -> LegalHold:
        if not isinstance(actor, str) or not actor.strip() or len(actor) > 100:
            raise InvalidInput([FieldError("actor", "who releases the hold (1-100 characters)")])
        hold = self.store.hold(hold_id)
        if hold is None:
            raise NotFound("legal hold", hold_id)
        if not hold.active:
            raise ConflictError("legal hold", hold_id, f"already released by {hold.released_by}")
        at = self.clock()
        detail = {"subject": hold.subject}
        audit = AuditEntry(actor.strip(), "legal_hold.release", "legal_hold", hold_id, detail, at)
        if not self.store.release_hold(hold_id, actor.strip(), at, audit):
            raise ConflictError("legal hold", hold_id, "released by someone else meanwhile")
        return replace(hold, released_by=actor.strip(), released_at=at)

    def holds(self, *, status: str = "active") -> list[LegalHold]:
        if status not in STATUSES:
            raise InvalidInput([FieldError("status", f"one of {', '.join(STATUSES)}")])
        return self.store.holds(status=status)

    # -- the job -------------------------------------------------------------------------------

    def run(
        self, *, as_of: datetime | None = None, dry_run: bool = False, actor: str = "retention"
    ) -> RetentionReport:
        """Delete or anonymise what is past retention as of ``as_of`` (default now). A dry
        run counts what would go, and changes nothing; only it may look into the future."""
        now = self.clock()
        as_of = as_of or now
        if as_of.tzinfo is None:
            raise InvalidInput([FieldError("as_of", "needs a timezone (e.g. Z or +01:00)")])
        if as_of < _EPOCH:  # nothing is that old, and cut-offs must stay after year 1
            raise InvalidInput([FieldError("as_of", "must be from 1970 on")])
        if as_of > now and not dry_run:
            raise InvalidInput(
                [FieldError("as_of", "must not be in the future (a dry run may look ahead)")]
            )
        report = RetentionReport("ret_" + secrets.token_hex(8), as_of, dry_run)
        progress = Progress(report.run_id, now)
        if not dry_run:
            report.recovered = self._recover(actor)
        for rule in self.policy.events.values():
            count, progress = self._events(rule, as_of, dry_run, progress)
            report.events.append(count)
        for rule in self.policy.other.values():
            count, progress = self._other(rule, as_of, dry_run, progress)
            report.other.append(count)
        if not dry_run:
            self.store.finish(self._entry(report, actor))
        return report

    def _events(
        self, rule: Rule, as_of: datetime, dry_run: bool, progress: Progress
    ) -> tuple[Count, Progress]:
        count = Count(rule.name, rule.action, rule.days, as_of - timedelta(days=rule.days))
        paths = match_hash_paths(latest(rule.name).model)
        after: Key | None = None
        while True:
            with self.store.batch(write=not dry_run) as b:
                holds = b.holds()
                found = b.events(
                    rule.name,
                    count.before,
                    sealed_only=rule.action == "anonymise",
                    after=after,
                    limit=self.batch_size,
                )
                if not found:
                    break
                after = (found[-1].occurred_at, found[-1].seq)
                free = [c for c in found if not holds.cover(c.event_id, c.data)]
                count.held += len(found) - len(free)
                if rule.name == "kyc_record" and free:
                    current = b.current_kyc_events([c.event_id for c in free])
                    count.kept += len(current)
                    free = [c for c in free if c.event_id not in current]
                count.processed += len(free)
                if free and not dry_run:
                    if rule.action == "delete":
                        b.delete_events(free)
                        progress = replace(progress, deleted=progress.deleted + len(free))
                    else:
                        changes = [(c.seq, without_paths(c.data, paths)) for c in free]
                        b.anonymise_events(changes)
                        progress = replace(progress, anonymised=progress.anonymised + len(free))
                    b.save_progress(progress)
            if len(found) < self.batch_size:
                break
        return count, progress

    def _other(
        self, rule: Rule, as_of: datetime, dry_run: bool, progress: Progress
    ) -> tuple[Count, Progress]:
        count = Count(rule.name, rule.action, rule.days, as_of - timedelta(days=rule.days))
        while True:
            with self.store.batch(write=not dry_run) as b:
                n = b.purge_other(
                    rule.name, count.before, b.holds(), limit=self.batch_size, dry_run=dry_run
                )
                if n and not dry_run:
                    progress = replace(progress, other=progress.other + n)
                    b.save_progress(progress)
            count.processed += n
            if dry_run or n < self.batch_size:
                return count, progress

    def _recover(self, actor: str) -> dict[str, Any] | None:
        """Account in the audit chain for a run that crashed after committing batches."""
        left = self.store.interrupted()
        if left is None:
            return None
        detail = {
            "started_at": left.started_at.isoformat(),
            "deleted": left.deleted,
            "anonymised": left.anonymised,
            "other": left.other,
        }
        entry = AuditEntry(
            actor, "retention.interrupted", "retention", left.run_id, detail, self.clock()
        )
        self.store.finish(entry)
        return {"run_id": left.run_id, **detail}

    def _entry(self, report: RetentionReport, actor: str) -> AuditEntry:
        events = {
            c.name: {"action": c.action, "days": c.days, "processed": c.processed}
            | ({"held": c.held} if c.held else {})
            | ({"kept": c.kept} if c.kept else {})
            for c in report.events
        }
        detail = {
            "as_of": report.as_of.isoformat(),
            "totals": report.totals(),
            "events": events,
            "other": {c.name: c.processed for c in report.other},
        }
        return AuditEntry(actor, "retention.run", "retention", report.run_id, detail, self.clock())
