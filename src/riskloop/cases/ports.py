"""Ports of the cases stage: where cases live and where work for people goes. The store
fails closed (a change that cannot be written is an error, never half a change)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from riskloop.cases.model import Case, CaseItem
from riskloop.domain.events import SealedBox
from riskloop.ledger.audit import AuditEntry


class CaseStore(Protocol):
    """Cases, their items and timeline. ``change`` is a compare-and-set on the version;
    ``attach`` is idempotent on the event id."""

    def attach(self, item: CaseItem, now: datetime) -> tuple[Case, bool] | None: ...
    def in_cases(self, event_ids: Sequence[str]) -> set[str]: ...
    def open_manual(self, case: Case, actor: str, detail: dict[str, Any]) -> Case: ...
    def change(
        self,
        before: Case,
        after: Case,
        *,
        actor: str,
        action: str,
        detail: dict[str, Any],
        note: SealedBox | None = None,
        audit: AuditEntry | None = None,
    ) -> Case: ...
    def add_note(self, case_id: str, at: datetime, actor: str, note: SealedBox) -> None: ...
    def audit(self, entry: AuditEntry) -> None: ...
    def labels_written(self, case_id: str, version: int) -> None: ...
    def get(self, case_id: str) -> Case | None: ...
    def items(self, case_id: str) -> list[tuple[str, str, datetime]]: ...
    def timeline(self, case_id: str) -> list[tuple[Any, ...]]: ...
    def search(
        self,
        *,
        status: Sequence[str] | None = None,
        queue: str | None = None,
        assignee: str | None = None,
        unassigned: bool = False,
        entity_type: str | None = None,
        entity_key: str | None = None,
        due_before: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        after: tuple[int, datetime, str] | None = None,
    ) -> list[Case]:
        """Work order. ``after``: only cases after that ``(priority, due_at, case_id)`` in
        it (keyset paging: a case worked meanwhile shifts no other case between pages)."""
        ...

    def claimable(self, analyst: str, queue: str | None, limit: int) -> list[Case]: ...
    def with_labels_pending(self, limit: int = 100) -> list[Case]: ...
    def counts(self) -> dict[str, Any]: ...
    def breached(self, now: datetime, limit: int = 1000) -> list[Case]: ...
    def cursor(self, name: str) -> str: ...
    def move_cursor(self, name: str, position: str, now: datetime) -> None: ...


class TaskSink(Protocol):
    """Where case work that needs a person outside the queue goes (SLA breaches, approved
    actions): the task list."""

    def raise_task(
        self,
        kind: str,
        title: str,
        *,
        key: str,
        detail: Mapping[str, Any] | None = None,
        owner: str | None = None,
        due_at: datetime | None = None,
        runbook_url: str | None = None,
        actor: str,
    ) -> Any: ...
