"""What screening needs from storage and from the task list (implemented in
``adapters/sql/screening.py`` and ``cases/tasks.py``). The store fails closed: a change that
cannot be written is an error, never half a change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from riskloop.domain.events import SealedBox
from riskloop.ledger.audit import AuditEntry
from riskloop.screening.records import Hit, HitStatus, KycProfile, SanctionsStatus, Suppression


class ScreeningStore(Protocol):
    def versions(self) -> dict[str, int]: ...
    def history(self, source: str | None = None, limit: int = 50) -> list[dict[str, Any]]: ...
    def current_digests(self, source: str) -> dict[str, str]: ...
    def current(self, sources: Sequence[str] | None = None) -> list[dict[str, Any]]: ...
    def entries_at(
        self, source: str, version: int, entry_ids: Sequence[str]
    ) -> dict[str, tuple[str, dict[str, Any]]]: ...
    def save_version(
        self,
        meta: Mapping[str, Any],
        upserts: Sequence[tuple[str, str, Mapping[str, Any]]],
        closing: Sequence[str],
        audit: AuditEntry,
    ) -> None: ...
    def add_suppression(
        self, s: Suppression, note: SealedBox | None, audit: AuditEntry
    ) -> Suppression: ...
    def suppressions(
        self, customer_ids: Sequence[str] | None = None, *, include_revoked: bool = False
    ) -> list[tuple[Suppression, SealedBox | None]]: ...
    def get_suppression(
        self, suppression_id: int
    ) -> tuple[Suppression, SealedBox | None] | None: ...
    def revoke_suppression(
        self, suppression_id: int, by: str, at: datetime, audit: AuditEntry
    ) -> bool: ...
    def record_hits(self, hits: Sequence[Hit], at: datetime) -> list[Hit]: ...
    def set_hit_task(self, hit_ids: Sequence[int], task_id: str) -> None: ...
    def hits(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Hit]: ...
    def get_hit(self, hit_id: int) -> Hit | None: ...
    def resolve_hit(
        self, hit: Hit, status: HitStatus, by: str, at: datetime, audit: AuditEntry
    ) -> Hit: ...
    def close_hits(self, source: str, entry_ids: Sequence[str], at: datetime) -> int: ...
    def open_hit_customers(self, customer_ids: Sequence[str]) -> dict[str, set[str]]: ...
    def profiles(
        self, *, after_id: int = 0, limit: int = 1000
    ) -> list[tuple[KycProfile, SealedBox | None]]: ...
    def mark_screened(
        self,
        rows: Sequence[tuple[str, SanctionsStatus, SanctionsStatus]],
        screened: Mapping[str, int] | None,
        at: datetime,
    ) -> None: ...
    def profiles_of(
        self, customer_ids: Sequence[str]
    ) -> list[tuple[KycProfile, SealedBox | None]]: ...
    def untasked_hits(self, customer_ids: Sequence[str]) -> list[Hit]: ...


class TaskRaiser(Protocol):
    def raise_task(
        self,
        kind: str,
        title: str,
        *,
        key: str,
        detail: Mapping[str, Any] | None = None,
        owner: str | None = None,
        actor: str,
    ) -> Any: ...

    def update(self, task_id: int, *, actor: str, status: str, note: str | None = None) -> Any: ...
