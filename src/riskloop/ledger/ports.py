"""Ports of the ledger and the rule catalogue. Decision records and audit entries fail
closed: a decision is answered only after its record is durable."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from riskloop.ledger.audit import AuditEntry
from riskloop.ledger.records import Decision
from riskloop.policy.model import Policy, PolicyStatus
from riskloop.rules.lists import ListDef, ListEntry
from riskloop.rules.model import Rule


class DecisionLedger(Protocol):
    def record(self, decision: Decision) -> Decision:
        """Store durably and return the stored record: if a decision for the same event id
        is already there, that one (the first decision of an event is the decision)."""
        ...

    def get(self, decision_id: str) -> Decision | None: ...

    def for_event(self, event_id: str) -> Decision | None: ...

    def search(
        self,
        *,
        outcome: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Decision]: ...

    def scan(
        self, *, after: str = "", limit: int = 1000, outcome: str | None = None
    ) -> list[Decision]:
        """Decisions in decision-id (time) order after ``after`` (of one outcome if given)."""
        ...

    def scan_ids(
        self, *, after: str = "", limit: int = 1000, outcome: str | None = None
    ) -> list[tuple[str, str]]:
        """``(decision_id, event_id)`` as ``scan`` orders them, without the records."""
        ...

    def close(self) -> None: ...


class AuditLog(Protocol):
    def entries(self, *, after: int = 0, limit: int = 1000) -> list[AuditEntry]: ...

    def last_seq(self) -> int: ...

    def iterate(self) -> Iterator[AuditEntry]: ...


class CatalogStore(Protocol):
    """Rules, lists and policies, versioned; every change is written with its audit entry
    in the same transaction."""

    def rules(self) -> list[Rule]:
        """The latest version of every rule."""
        ...

    def rule_history(self, rule_id: str) -> list[Rule]: ...

    def save_rule(self, rule: Rule, audit: AuditEntry) -> Rule:
        """Store ``rule`` as its next version (conflict if the version is already taken)."""
        ...

    def policies(self) -> list[Policy]:
        """Every version of every policy."""
        ...

    def save_policy(self, policy: Policy, audit: AuditEntry) -> Policy: ...

    def set_policy_status(
        self, changes: Sequence[tuple[str, int, PolicyStatus]], audit: AuditEntry
    ) -> None: ...

    def lists(self) -> list[ListDef]: ...

    def save_list(self, definition: ListDef, audit: AuditEntry) -> None: ...

    def delete_list(self, name: str, audit: AuditEntry) -> None: ...

    def entries(self, name: str | None = None) -> list[ListEntry]: ...

    def add_entries(self, entries: Sequence[ListEntry], audit: AuditEntry) -> int:
        """Insert or replace (same list and value); returns how many were written."""
        ...

    def remove_entries(self, name: str, values: Sequence[str], audit: AuditEntry) -> int: ...

    def audit(self) -> AuditLog: ...
