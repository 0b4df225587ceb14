"""Ingestion: validate against the contract, protect in the vault, append to the event log.

The API path is atomic (a batch is stored whole or not at all, and bad input comes back to
the caller). The file and stream path commits batch by batch and sends what it rejects to
the dead-letter table with the reason, so one bad row never blocks the rest; a batch is
acknowledged (``on_batch``) only after its transaction has committed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel

from riskloop.domain.events import AppendOutcome, AppendStatus, DeadLetter, StoredEvent
from riskloop.domain.ports import DeadLetters, EventLog
from riskloop.errors import FieldError, InvalidEvent, RiskloopError
from riskloop.features import FeatureResult
from riskloop.intake.mapping import ColumnMapping
from riskloop.intake.validation import strip_forbidden, validate_event
from riskloop.service.features import FeatureService
from riskloop.vault import Vault, mask_text

log = logging.getLogger(__name__)
CONFLICT_REASON = "event_id: already used with a different body"


class RawRecord(Protocol):
    @property
    def line(self) -> int: ...
    @property
    def value(self) -> Any: ...
    @property
    def error(self) -> str | None: ...


@dataclass
class ImportSummary:
    read: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "reasons": dict(self.reasons.most_common()),
        }


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Sent after each committed batch: everything counted here is durable."""

    batch: int
    summary: ImportSummary


def _masked(errors: Sequence[FieldError]) -> list[FieldError]:
    # Field names come from the input too (an unknown key could be a card number).
    return [FieldError(mask_text(e.field), mask_text(e.reason)) for e in errors]


class Ingestor:
    def __init__(
        self,
        *,
        vault: Vault,
        events: EventLog,
        dead_letters: DeadLetters,
        max_batch: int = 1000,
        features: FeatureService | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.vault = vault
        self.events = events
        self.dead_letters = dead_letters
        self.max_batch = max_batch
        self.features = features
        self.clock = clock

    def _append(self, stored: Sequence[StoredEvent], *, atomic: bool) -> list[AppendOutcome]:
        """Append, then bring the online features up to date, in log order."""
        features = self.features
        if features is None:
            return self.events.append(stored, atomic=atomic)
        with features.lock:
            outcomes = self.events.append(stored, atomic=atomic)
            if features.follow_log:
                try:
                    features.catch_up()
                except RiskloopError as exc:
                    # Stored is stored: the next catch-up (a server does one a second) applies
                    # it; failing the request now would only make the client retry.
                    features.failures += 1
                    log.error("feature catch-up after append failed: %s", exc)
            else:
                for event, outcome in zip(stored, outcomes, strict=True):
                    if outcome.status is AppendStatus.ACCEPTED:
                        features.observe(event)
            return outcomes

    def append_for_decision(
        self, stored: StoredEvent
    ) -> tuple[AppendOutcome, FeatureResult | None, bool]:
        """Store one protected event and count it in the features; returns the append
        outcome, the event's features (None if it was not new) and whether the feature
        state worked (it fails open: the event stays stored either way)."""
        features = self.features
        if features is None:  # a process wired without feature state decides without it
            return self.events.append([stored], atomic=True, durable=False)[0], None, False
        with features.lock:
            outcome = self.events.append([stored], atomic=True, durable=False)[0]
            if outcome.status is not AppendStatus.ACCEPTED:
                return outcome, None, True
            failures = features.failures
            found: list[FeatureResult | None] = []
            if features.follow_log and outcome.seq == features.applied_seq + 1:
                # Nothing else was stored since the state was last brought up to date: apply
                # this event directly instead of reading it back from the log.
                found.append(features.observe(replace(stored, seq=outcome.seq)))
                features.applied_seq = outcome.seq
            elif features.follow_log:

                def keep(event: StoredEvent, result: FeatureResult | None) -> None:
                    if event.event_id == stored.event_id:
                        found.append(result)

                try:
                    features.catch_up(keep)
                except RiskloopError as exc:
                    features.failures += 1
                    log.error("feature catch-up before a decision failed: %s", exc)
            else:
                found.append(features.observe(stored))
            result = found[0] if found else None
            return outcome, result, features.failures == failures and bool(found)

    # -- API: atomic ----------------------------------------------------------------------

    def validate(self, payload: object) -> BaseModel:
        """The event checked against its contract, still in clear: only for the moment before
        :meth:`protect` (screening reads the names the vault is about to seal)."""
        try:
            return validate_event(payload)
        except InvalidEvent as exc:
            raise type(exc)(_masked(exc.errors)) from None

    def protect(self, event: BaseModel, *, source: str) -> StoredEvent:
        return self.vault.protect(event, source=source)

    def _protect(self, payload: object, source: str) -> StoredEvent:
        return self.vault.protect(self.validate(payload), source=source)

    def protect_only(self, payload: object, *, source: str = "api") -> StoredEvent:
        """Validate and protect without storing (for what-if reads such as feature previews)."""
        return self._protect(payload, source)

    def ingest(self, payload: object, *, source: str = "api") -> AppendOutcome:
        """Store one event; raises InvalidEvent or ConflictError and then stores nothing."""
        return self._append([self._protect(payload, source)], atomic=True)[0]

    def ingest_batch(
        self, payloads: Sequence[object], *, source: str = "api"
    ) -> list[AppendOutcome]:
        """Store a batch whole or not at all; errors name ``events[i].field``."""
        if not payloads:
            raise InvalidEvent([FieldError("events", "empty batch")])
        if len(payloads) > self.max_batch:
            raise InvalidEvent([FieldError("events", f"at most {self.max_batch} events per batch")])
        stored, errors = [], []
        for i, payload in enumerate(payloads):
            try:
                stored.append(self._protect(payload, source))
            except InvalidEvent as exc:
                errors.extend(exc.prefixed(f"events[{i}]").errors)
        if errors:
            raise InvalidEvent(errors)
        return self._append(stored, atomic=True)

    # -- files and streams: batch by batch, rejects dead-lettered -------------------------

    def import_records(
        self,
        records: Iterable[RawRecord],
        *,
        source: str,
        mapping: ColumnMapping | None = None,
        batch_size: int = 1000,
        on_batch: Callable[[BatchProgress], None] | None = None,
    ) -> ImportSummary:
        mapping = mapping or ColumnMapping()
        summary = ImportSummary()
        batch: list[RawRecord] = []
        number = 0
        for record in records:
            batch.append(record)
            if len(batch) >= batch_size:
                number += 1
                self._import_batch(batch, source, mapping, summary)
                batch = []
                if on_batch:
                    on_batch(BatchProgress(number, summary))
        if batch:
            number += 1
            self._import_batch(batch, source, mapping, summary)
            if on_batch:
                on_batch(BatchProgress(number, summary))
        return summary

    def _reject(self, raw: Any, reason: str, where: str) -> DeadLetter:
        return self.vault.dead_letter(
            strip_forbidden(raw), reason=reason, source=where, now=self.clock()
        )

    def _import_batch(
        self, batch: list[RawRecord], source: str, mapping: ColumnMapping, summary: ImportSummary
    ) -> None:
        stored: list[StoredEvent] = []
        raws: list[tuple[Any, str]] = []
        letters: list[DeadLetter] = []
        reasons: list[str] = []
        for record in batch:
            where = f"{source}:{record.line}"
            raw = record.value
            if record.error is not None:
                reason = f"line {record.line}: {record.error}"
                letters.append(self._reject(raw, reason, where))
                reasons.append(record.error)
                continue
            payload = mapping.apply(raw) if isinstance(raw, dict) else raw
            try:
                stored.append(self._protect(payload, source))
                raws.append((payload, where))
            except InvalidEvent as exc:
                letters.append(self._reject(payload, str(exc), where))
                reasons.append(f"{exc.errors[0].field}: {exc.errors[0].reason}")
        outcomes = self._append(stored, atomic=False)
        for outcome, (payload, where) in zip(outcomes, raws, strict=True):
            if outcome.status is AppendStatus.CONFLICT:
                letters.append(self._reject(payload, CONFLICT_REASON, where))
                reasons.append(CONFLICT_REASON)
        # After the events: a crash in between is healed by re-running (both are idempotent).
        self.dead_letters.add(letters)
        summary.read += len(batch)
        summary.accepted += sum(o.status is AppendStatus.ACCEPTED for o in outcomes)
        summary.duplicate += sum(o.status is AppendStatus.DUPLICATE for o in outcomes)
        summary.rejected += len(reasons)
        summary.reasons.update(reasons)
        if reasons:
            log.info("rejected %d of %d records from %s", len(reasons), len(batch), source)
