"""What the stream worker does with one message, and what a run of it did: the handlers
(decide, or only store), where a rejected payload is kept, and the run's summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from riskloop.domain.events import AppendStatus
from riskloop.intake.validation import strip_forbidden
from riskloop.service.bus import Subjects
from riskloop.service.decisions import DecisionService
from riskloop.service.ingest import Ingestor


class Mode(StrEnum):
    DECIDE = "decide"
    INGEST = "ingest"


class Result(StrEnum):
    DECIDED = "decided"
    REPLAYED = "replayed"  # decided before (a redelivery, or the same event sent twice)
    STORED = "stored"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Outgoing:
    subject: str
    data: bytes
    msg_id: str | None = None


@dataclass(frozen=True, slots=True)
class Handled:
    result: Result
    publish: tuple[Outgoing, ...] = ()


# Runs on a worker thread with the parsed JSON; raises InvalidInput or ConflictError for
# input that can never succeed, anything else for a failure worth retrying.
Handler = Callable[[Any], Handled]
# (payload, reason, source): keeps a rejected payload in riskloop's dead-letter table.
DeadLetterSink = Callable[[Any, str, str], None]


def decide_with(decisions: DecisionService, subjects: Subjects) -> Handler:
    def handle(payload: Any) -> Handled:
        # Fail closed on features: a message can wait for Redis to come back, and one acked
        # on a rules-only decision would never be counted in the shared state.
        done = decisions.decide(payload, require_features=True)
        d = done.decision
        out = Outgoing(subjects.decision(d.outcome.value), orjson.dumps(d.as_dict()), d.decision_id)
        return Handled(Result.REPLAYED if done.replayed else Result.DECIDED, (out,))

    return handle


def store_with(ingestor: Ingestor) -> Handler:
    def handle(payload: Any) -> Handled:
        outcome = ingestor.ingest(payload, source="stream")
        accepted = outcome.status is AppendStatus.ACCEPTED
        return Handled(Result.STORED if accepted else Result.DUPLICATE)

    return handle


def dead_letter_table(
    ingestor: Ingestor, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> DeadLetterSink:
    def add(payload: Any, reason: str, source: str) -> None:
        letter = ingestor.vault.dead_letter(
            strip_forbidden(payload), reason=reason, source=source, now=clock()
        )
        ingestor.dead_letters.add([letter])

    return add


@dataclass
class ConsumeSummary:
    processed: int = 0  # deliveries handled: acked, dead-lettered or naked
    decided: int = 0
    replayed: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retried: int = 0  # naked to be delivered again
    redelivered: int = 0  # deliveries that were not a message's first
    unsettled: int = 0  # the bus refused even the nak: back after ack_wait
    outages: int = 0  # times fetching was paused because a shared service failed
    paused_seconds: float = 0.0
    max_in_flight: int = 0
    seconds: float = 0.0
    busy_seconds: float = 0.0  # from the first message fetched to the last settled
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.processed / self.busy_seconds if self.busy_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "decided": self.decided,
            "replayed": self.replayed,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "dead_lettered": self.dead_lettered,
            "retried": self.retried,
            "redelivered": self.redelivered,
            "unsettled": self.unsettled,
            "outages": self.outages,
            "paused_seconds": round(self.paused_seconds, 1),
            "max_in_flight": self.max_in_flight,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "reasons": dict(self.reasons.most_common()),
        }
