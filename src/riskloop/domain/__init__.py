"""The vocabulary of the loop (events, sensitivity markers) and its ports."""

from riskloop.domain.events import (
    AppendOutcome,
    AppendStatus,
    DeadLetter,
    SealedBox,
    StoredEvent,
)
from riskloop.domain.ports import DeadLetters, EventLog, KeyStore, SealedRecords
from riskloop.domain.sensitivity import PAN, PII, PII_MATCH, Sensitive

__all__ = [
    "PAN",
    "PII",
    "PII_MATCH",
    "AppendOutcome",
    "AppendStatus",
    "DeadLetter",
    "DeadLetters",
    "EventLog",
    "KeyStore",
    "SealedBox",
    "SealedRecords",
    "Sensitive",
    "StoredEvent",
]
