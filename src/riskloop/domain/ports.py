"""Ports: what the core needs from the outside world. Adapters implement them.

Each port says how it fails: *closed* means the caller gets an error and nothing is
acknowledged; *open* means the caller goes on with a documented fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from riskloop.domain.events import AppendOutcome, DeadLetter, SealedBox, StoredEvent


class EventLog(Protocol):
    """Append-only log of accepted events. Fails closed.

    ``append`` is one transaction. An ``event_id`` already stored with the same fingerprint
    is a duplicate; with another fingerprint it is a conflict. With ``atomic=True`` a conflict
    raises :class:`~riskloop.errors.ConflictError` and nothing is written; otherwise conflicts
    are reported and the other events are committed.
    """

    def append(
        self, events: Sequence[StoredEvent], *, atomic: bool, durable: bool = True
    ) -> list[AppendOutcome]: ...

    def get(self, event_id: str) -> StoredEvent | None: ...

    def count(self) -> int: ...

    def scan(self, *, after_seq: int = 0, limit: int = 1000) -> list[StoredEvent]: ...

    def scan_type(
        self, event_type: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[StoredEvent]: ...


class DeadLetters(Protocol):
    """Rejected input with its reason. Fails closed. Adding the same fingerprint twice keeps
    one row, so re-running an import does not pile up copies."""

    def add(self, letters: Sequence[DeadLetter]) -> int: ...

    def list(self, *, limit: int = 100, offset: int = 0) -> list[DeadLetter]: ...

    def count(self) -> int: ...


class FeatureBacklog(Protocol):
    """Events stored while the shared feature state failed, waiting to be counted in it
    (``FeatureService.repair``). Kept in the database beside the events, so a restart or
    another process finishes the work. Fails closed."""

    def add(self, event_ids: Sequence[str]) -> None: ...

    def pending(self, limit: int) -> list[str]:
        """The oldest first."""
        ...

    def remove(self, event_ids: Sequence[str]) -> None: ...

    def count(self) -> int: ...

    def clear(self) -> int: ...


class SealedRecords(Protocol):
    """Every stored envelope-encrypted value, for key rotation (re-wrapping data keys)."""

    def count_by_key_version(self) -> dict[int, int]: ...

    def sealed_older_than(
        self, key_version: int, *, limit: int
    ) -> list[tuple[str, int, SealedBox]]: ...

    def replace_wrapped_key(
        self, table: str, row_id: int, old: SealedBox, wrapped_key: bytes, key_version: int
    ) -> bool: ...


class KeyStore(Protocol):
    """Where the keyring lives (a file by default). Fails closed: no keys, no start."""

    def load(self) -> dict[str, Any] | None: ...

    def save(self, data: dict[str, Any]) -> None: ...

    def changed_since_load(self) -> bool: ...
