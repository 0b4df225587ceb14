"""Records of the event log and the dead-letter table, as the core sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class SealedBox:
    """Data encrypted under its own data key; the data key is wrapped by key version
    ``key_version`` of the key-encryption key (envelope encryption)."""

    ciphertext: bytes
    wrapped_key: bytes
    key_version: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A validated event after the vault: ``data`` holds no PAN and no clear PII."""

    event_id: str
    event_type: str
    schema_version: int
    occurred_at: datetime
    data: dict[str, Any]
    pii: SealedBox | None
    fingerprint: str  # keyed hash of the validated body: same id + same body = duplicate
    source: str
    ingested_at: datetime | None = None
    seq: int | None = None


class AppendStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class AppendOutcome:
    event_id: str
    status: AppendStatus
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Input rejected from a file or stream, kept (encrypted) with the reason."""

    source: str
    reason: str
    payload: SealedBox
    fingerprint: str
    received_at: datetime
    id: int | None = None
